"""The original's released per-network counts (``data/original/released_counts.csv``) and what they reproduce.

The file holds the real motif counts, null means and sds and Z-scores of the original's released tables
(``oliviatessa/MothMotifs``, deleted from the repository in 2023 and read from its history): ``optimum``
(``zscoreDF.csv``, each of 400 networks at its optimally sparse state) and ``all_states`` (the
``zscoreDF_fullprune_*`` files, every state up to the optimum). Its columns carry the true motif names (the
released labels are corrected for B5 with :data:`helpers.errata.RELEASED_LABEL`) and the all-state tables'
repeated re-analyses of the same networks are removed (B6); ``provenance.json`` beside it records both.

What is tested: the released Z is (real − null mean) / null sd row by row; the published Z-scores by sparsity
(:data:`helpers.reference.Z_BY_SPARSITY`) are the means over the original's 350 all-state rows *with* the B6
copies (recorded in the provenance; the de-duplicated table gives other numbers); the published Z at the
optimum (:data:`helpers.reference.Z_AT_OPTIMUM`) is the optimum table restricted to the 214 networks whose
optimum is the 93 % state. The last test rebuilds the file from the original's repository when
``MOTHMOTIFS_GIT`` names a clone of it (a git directory); it is skipped otherwise.

The functions above the tests are that rebuild; ``provenance.json`` was written with them.
"""
from __future__ import annotations

import io
import json
import os
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from helpers import pipeline, pruning, reference as R
from helpers.errata import RELEASED_LABEL

#: The original's repository, and the last commit that holds its released tables (the parent of b0f3530,
#: "removing output files").
SOURCE_REPO = "https://github.com/oliviatessa/MothMotifs"
SOURCE_COMMIT = "8c341ad5d63b8a9d5c3fc23628dc06ec94c4c602"
SOURCE_FOLDER = "DataOutput/zscoreTables/2022_11_05__01_04_10"
#: The all-state files, networks 0–9 first (the only one that analysed the networks it names), then by range.
_RANGES = [(10, 19), (20, 29), (30, 49), (50, 69), (70, 89), (90, 109), (110, 129), (130, 149), (150, 169),
           (170, 189), (190, 209), (230, 249), (250, 269), (270, 289), (290, 309), (310, 329), (330, 349),
           (350, 369), (370, 399)]
SOURCE_FILES = {"optimum": ["zscoreDF.csv"],
                "all_states": ["zscoreDF_fullprune_tennets.csv"]
                + [f"zscoreDF_fullprune_nets{a}_{b}.csv" for a, b in _RANGES]}
#: All-state files that the original's per-sparsity means left out (uploaded last).
NOT_IN_ORIGINAL_MEANS = ("zscoreDF_fullprune_nets370_399.csv",)
#: The nominal sparsity of each of the original's saved states ("Sparsity Index" 0–17).
SPARSITY = pruning.saved_sparsities(pipeline.PAPER_SCHEDULE)
SIGNIFICANT = 6
PROVENANCE = pipeline.repo_root() / R.RELEASED_COUNTS.parent / "provenance.json"


def released_columns(motif: str) -> dict[str, str]:
    """The released table's columns that hold ``motif`` (its B5 label, :data:`RELEASED_LABEL`)."""
    label = RELEASED_LABEL[motif]
    if label.startswith(("2nd-order ", "3rd-order ")):
        stem, suffix = f"{'S' if label[0] == '2' else 'T'}-O {label.split(' ', 1)[1]} motifs", " (random)"
    else:
        stem, suffix = f"T-O {label.title()} motifs", ""
    return dict(real=f"{stem} (real)", null_mean=f"Avg - {stem}{suffix}", null_sd=f"SD - {stem}{suffix}",
                z=f"Z - {stem}")


def read_source(git_dir: str | Path, name: str) -> tuple[pd.DataFrame, list[str], str]:
    """One released table without its ``Masks`` column, its full header and its git blob id."""
    spec = f"{SOURCE_COMMIT}:{SOURCE_FOLDER}/{name}"
    raw = subprocess.run(["git", "--git-dir", str(git_dir), "show", spec], capture_output=True, check=True).stdout
    blob = subprocess.run(["git", "--git-dir", str(git_dir), "rev-parse", spec], capture_output=True, text=True,
                          check=True).stdout.strip()
    header = list(pd.read_csv(io.BytesIO(raw), nrows=0).columns)
    return pd.read_csv(io.BytesIO(raw), usecols=lambda c: c != "Masks"), header, blob


def long_rows(wide: pd.DataFrame, table: str) -> pd.DataFrame:
    """One row per released row and motif, in the columns of :data:`helpers.reference.RELEASED_COLUMNS`."""
    parts = []
    for motif in R.RELEASED_MOTIFS:
        c = released_columns(motif)
        parts.append(pd.DataFrame(dict(table=table, network=wide["network"].to_numpy(),
                                       state=wide["state"].to_numpy(), sparsity=SPARSITY[wide["state"]],
                                       motif=motif, real=wide[c["real"]].to_numpy(),
                                       null_mean=wide[c["null_mean"]].to_numpy(),
                                       null_sd=wide[c["null_sd"]].to_numpy(), z=wide[c["z"]].to_numpy())))
    out = pd.concat(parts, ignore_index=True)
    real = out["real"].to_numpy()
    assert np.array_equal(real, np.round(real)), "a released count is not an integer"
    out["real"] = out["real"].astype(np.int64)
    order = {m: i for i, m in enumerate(R.RELEASED_MOTIFS)}
    return out.sort_values(["network", "state", "motif"], key=lambda s: s.map(order) if s.name == "motif" else s,
                           kind="stable", ignore_index=True)


def original_means(rows: pd.DataFrame) -> dict:
    """Mean and sd (ddof 1, ±inf and NaN left out) of each released Z by sparsity, as the original summarised."""
    out = {}
    for sparsity in R.Z_BY_SPARSITY:
        at = rows[rows["state"] == int(np.argmin(abs(SPARSITY - sparsity)))]
        cells = {"rows": int(len(at)), "distinct_networks": sorted(int(k) for k in at["network"].unique())}
        for motif in R.RELEASED_MOTIFS:
            z = at[released_columns(motif)["z"]].replace([np.inf, -np.inf], np.nan).dropna()
            cells[motif] = dict(mean=float(z.mean()) if len(z) else None,
                                sd=float(z.std()) if len(z) > 1 else None, finite=int(len(z)))
        out[f"{sparsity:.2f}"] = cells
    return out


def rebuild(git_dir: str | Path) -> tuple[pd.DataFrame, dict]:
    """The shipped table and what its provenance records, from a clone of the original's repository."""
    info: dict = {"files": {}}
    tables = []
    opt, header, blob = read_source(git_dir, SOURCE_FILES["optimum"][0])
    assert opt["Unnamed: 0"].tolist() == list(range(len(opt))), "the optimum table's index is not 0..n-1"
    opt = opt.assign(network=opt["Unnamed: 0"], state=opt["Sparsity Index"].astype(int))
    info["files"]["optimum"] = [dict(path=f"{SOURCE_FOLDER}/{SOURCE_FILES['optimum'][0]}", blob=blob,
                                     rows=len(opt), columns=header)]
    tables.append(long_rows(opt, "optimum"))

    wide, files = [], []
    for name in SOURCE_FILES["all_states"]:
        df, header, blob = read_source(git_dir, name)
        df = df.assign(network=df["Network Number"].astype(int), state=df["Sparsity Index"].astype(int), file=name)
        stops = df.groupby("network")["state"].max()
        files.append(dict(path=f"{SOURCE_FOLDER}/{name}", blob=blob, rows=len(df), networks=len(stops),
                          network_numbers=[int(stops.index.min()), int(stops.index.max())], columns=header))
        wide.append(df)
    every = pd.concat(wide, ignore_index=True)
    real = [c for c in every.columns if c.endswith("(real)")]
    # B6: the same network number at the same state carries the same real counts in every file
    assert (every.groupby(["network", "state"])[real].nunique() == 1).all().all(), "B6 copies differ"
    kept = every.drop_duplicates(["network", "state"], keep="first")
    # distinct networks by their real counts over all states (state 0 is the dense network, the same for all)
    trajectories = kept[kept["state"] > 0].groupby("network")[real].apply(lambda d: d.to_numpy().tobytes())
    info["files"]["all_states"] = files
    info["all_states"] = dict(rows_before=len(every), rows_after=len(kept),
                              network_numbers_analysed=int(every["network"].nunique()),
                              distinct_networks=int(trajectories.nunique()),
                              rows_kept_from={n: int((kept["file"] == n).sum()) for n in SOURCE_FILES["all_states"]
                                              if (kept["file"] == n).any()})
    tables.append(long_rows(kept, "all_states"))
    info["original_means"] = original_means(every[~every["file"].isin(NOT_IN_ORIGINAL_MEANS)])
    return pd.concat(tables, ignore_index=True)[list(R.RELEASED_COLUMNS)], info


def write_csv(counts: pd.DataFrame, path: Path) -> None:
    """Write the table as shipped: integer counts, null means, sds and Z to 6 significant digits."""
    out = counts.copy()
    for column in ("null_mean", "null_sd", "z"):
        out[column] = [f"{v:.{SIGNIFICANT}g}" for v in out[column]]
    out["sparsity"] = [f"{v:.2f}" for v in out["sparsity"]]
    out.to_csv(path, index=False)


def _half_unit(x: np.ndarray) -> np.ndarray:
    """Half a unit in the last of :data:`SIGNIFICANT` significant digits of ``x``."""
    with np.errstate(divide="ignore"):
        exponent = np.floor(np.log10(np.abs(x)))
    return np.where(np.isfinite(exponent), 0.5 * 10.0 ** (exponent - SIGNIFICANT + 1), 0.0)


@pytest.fixture(scope="module")
def counts():
    return R.released_counts()


@pytest.fixture(scope="module")
def provenance():
    return json.loads(PROVENANCE.read_text())


def z_means(rows: pd.DataFrame) -> dict:
    """Mean and sd of finite Z by motif."""
    out = {}
    for motif, z in rows.groupby("motif")["z"]:
        z = z.replace([np.inf, -np.inf], np.nan).dropna()
        out[motif] = (z.mean(), z.std())
    return out


def test_the_file_is_small_and_well_formed(counts):
    assert (pipeline.repo_root() / R.RELEASED_COUNTS).stat().st_size < 1_000_000
    assert set(counts["table"]) == set(R.RELEASED_TABLES)
    assert set(counts["motif"]) == set(R.RELEASED_MOTIFS)
    assert counts["state"].between(0, len(SPARSITY) - 1).all()
    assert np.allclose(counts["sparsity"], SPARSITY[counts["state"]])
    assert (counts["real"] >= 0).all()


def test_the_released_z_is_real_minus_null_mean_over_null_sd(counts):
    """(a) Z = (real − null mean) / null sd on every row with a positive null sd, to the file's rounding."""
    rows = counts[counts["null_sd"] > 0]
    assert len(rows) > 0.8 * len(counts)
    real, mean, sd, z = (rows[c].to_numpy(np.float64) for c in ("real", "null_mean", "null_sd", "z"))
    recomputed = (real - mean) / sd
    tolerance = _half_unit(mean) / sd + np.abs(recomputed) * _half_unit(sd) / sd + _half_unit(z)
    error = np.abs(z - recomputed)
    assert (error <= 1.01 * tolerance + 1e-9).all(), rows[error > 1.01 * tolerance + 1e-9].head()


def test_decomposition_recovers_z(counts):
    """Z = (ratio − 1) · √null_mean / rel_spread (on the file's values; (a) relates them to the released Z)."""
    rows = R.decomposition(counts[counts["null_sd"] > 0])
    z = (rows["ratio"] - 1) * np.sqrt(rows["null_mean"]) / rows["rel_spread"]
    assert np.allclose(z, (rows["real"] - rows["null_mean"]) / rows["null_sd"], rtol=1e-9, atol=1e-9)
    assert {"ratio", "rel_spread"} <= set(rows.columns) and "ratio" not in counts.columns
    with pytest.raises(ValueError, match="null_sd"):
        R.decomposition(counts.drop(columns="null_sd"))


def test_no_duplicate_rows_remain(counts):
    """(d) One row per table, network, state and motif, and no two networks of the all-state table with the
    same real counts at a pruned state (the B6 copies are gone)."""
    assert not counts.duplicated(["table", "network", "state", "motif"]).any()
    wide = counts[(counts["table"] == "all_states") & (counts["state"] > 0)].pivot_table(
        index=["network", "state"], columns="motif", values="real")
    assert not wide.reset_index("network").duplicated().any()


def test_the_tables_hold_what_the_provenance_says(counts, provenance):
    opt = counts[counts["table"] == "optimum"]
    states = counts[counts["table"] == "all_states"]
    assert opt["network"].nunique() == 400 == len(opt) / len(R.RELEASED_MOTIFS)
    b6 = provenance["b6"]
    assert states["network"].nunique() == b6["distinct_networks"]
    assert len(states) / len(R.RELEASED_MOTIFS) == b6["rows_after"] < b6["rows_before"]
    assert provenance["tables"]["all_states"]["files"] == [f"{SOURCE_FOLDER}/{n}" for n in SOURCE_FILES["all_states"]]
    assert provenance["commit"] == SOURCE_COMMIT
    assert provenance["b5"]["mapping"] == {m: RELEASED_LABEL[m] for m in R.RELEASED_MOTIFS}


def test_the_optimum_states_are_the_published_distribution(counts):
    """The optimum table's states are the published counts of optimal sparsities."""
    opt = counts[(counts["table"] == "optimum") & (counts["motif"] == "diverging2")]
    n = opt["sparsity"].round(2).value_counts()
    got = {"0.65-0.90": int(n[n.index <= 0.90].sum()), **{f"{s:.2f}": int(n.get(s, 0)) for s in (0.91, 0.92,
                                                                                                 0.93, 0.94)}}
    assert got == R.OPTIMAL_SPARSITY_COUNTS


def test_z_by_sparsity_is_the_mean_over_the_rows_with_b6_copies(provenance):
    """(b) The published Z by sparsity are the means (sd) over the original's 350 all-state rows, duplicates
    included (recorded in the provenance from the released files; the rebuild test checks the record)."""
    means = provenance["b6"]["original_means"]
    for sparsity, published in R.Z_BY_SPARSITY.items():
        cell = means[f"{sparsity:.2f}"]
        assert len(cell["distinct_networks"]) <= 20 < cell["rows"]
        for motif in R.REPORTED_MOTIFS:
            if published[motif] is None:  # no value where (nearly) every null sd was 0
                assert cell[motif]["finite"] <= 1, (sparsity, motif)
            else:
                got = (round(cell[motif]["mean"], 1), round(cell[motif]["sd"], 1))
                assert got == published[motif], (sparsity, motif, got)


def test_the_deduplicated_table_does_not_give_the_published_means(counts):
    """(b) Without the B6 copies, the released rows of the same 20 networks give other means (in 28 of the 53
    published cells): the published ones weigh each network by how often the slip re-analysed it, each copy
    with its own null sample."""
    rows = counts[(counts["table"] == "all_states") & (counts["network"] < 20)]
    differ = 0
    for sparsity, published in R.Z_BY_SPARSITY.items():
        got = z_means(rows[np.isclose(rows["sparsity"], sparsity)])
        differ += sum(round(got[m][0], 1) != published[m][0] for m in R.REPORTED_MOTIFS if published[m])
    assert differ >= 20


def test_z_at_optimum_is_the_optimum_table_at_the_93_percent_state(counts):
    """(c) The published Z at the optimum are the optimum table's 214 networks whose optimum is 93 %."""
    opt = counts[counts["table"] == "optimum"]
    at93 = opt[np.isclose(opt["sparsity"], 0.93)]
    assert at93["network"].nunique() == R.OPTIMAL_SPARSITY_COUNTS["0.93"]
    got = z_means(at93)
    for motif, published in R.Z_AT_OPTIMUM.items():
        assert (round(got[motif][0], 1), round(got[motif][1], 1)) == published, motif
    everywhere = z_means(opt)
    assert round(everywhere["diverging2"][0], 1) != R.Z_AT_OPTIMUM["diverging2"][0]


def test_missing_or_malformed_file_is_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="nowhere.csv"):
        R.released_counts(tmp_path / "nowhere.csv")
    bad = tmp_path / "bad.csv"
    pd.DataFrame(dict(table=["optimum"], network=[0])).to_csv(bad, index=False)
    with pytest.raises(ValueError, match="bad.csv"):
        R.released_counts(bad)


@pytest.mark.skipif(not os.environ.get("MOTHMOTIFS_GIT"), reason="MOTHMOTIFS_GIT (a clone of the original) unset")
def test_rebuild_from_the_original_repository(counts, provenance):
    """The shipped table and the provenance's record are what the original's released files give."""
    rebuilt, info = rebuild(os.environ["MOTHMOTIFS_GIT"])
    assert len(rebuilt) == len(counts)
    assert (rebuilt[["table", "network", "state", "motif"]].to_numpy()
            == counts[["table", "network", "state", "motif"]].to_numpy()).all()
    assert (rebuilt["real"].to_numpy() == counts["real"].to_numpy()).all()
    for column in ("null_mean", "null_sd", "z"):
        assert np.allclose(rebuilt[column], counts[column], rtol=1e-5, atol=0, equal_nan=True), column
    assert provenance["b6"]["original_means"] == info["original_means"]
    assert {k: provenance["b6"][k] for k in info["all_states"]} == info["all_states"]
