"""Published numbers of the original study, for side-by-side comparison (never used as our results).

Sources: the original study's released result tables (Zahn, Daniel & Kutz 2024), with the column labels corrected
for defect B5 (see the Errata chapter). Z-scores are mean ± sd over the analysed rows; chains and 3rd-order
converging are in the ``paper`` convention. The per-network rows of those tables (real counts, null means and
sds, Z-scores) ship as ``data/original/released_counts.csv`` (:func:`released_counts`), with their provenance
in ``data/original/provenance.json``.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from helpers import pipeline

#: The motifs whose Z-scores the original's released tables report, in their order (they report none for
#: 3rd-order converging); :data:`helpers.census.Z_MOTIFS` are all the motifs scored here.
REPORTED_MOTIFS = ("diverging2", "converging2", "chain2", "diverging3", "chain3", "bifan", "biparallel")

#: Z-score (mean, sd) by sparsity level; ``None`` where the original reports no value (sd = 0 in all nulls).
#: They are the mean and sd over the rows of the original's all-state tables for "networks 0–369" (350 runs,
#: which re-analyse only 20 distinct networks, defect B6), B6 copies included: see ``data/original/provenance.json``.
Z_BY_SPARSITY: dict[float, dict[str, tuple[float, float] | None]] = {
    0.15: dict(diverging2=(1.6, 1.6), converging2=(1.6, 1.2), chain2=(0.1, 0.1), diverging3=(1.6, 1.6),
               chain3=None, bifan=(0.7, 1.2), biparallel=(2.5, 1.3)),
    0.35: dict(diverging2=(6.9, 2.7), converging2=(3.9, 1.3), chain2=(-1.1, 1.8), diverging3=(6.8, 2.7),
               chain3=None, bifan=(4.4, 2.3), biparallel=(7.0, 2.9)),
    0.55: dict(diverging2=(13.3, 4.6), converging2=(6.6, 1.8), chain2=(-3.0, 2.6), diverging3=(13.2, 4.7),
               chain3=None, bifan=(9.3, 4.2), biparallel=(12.1, 4.2)),
    0.75: dict(diverging2=(23.5, 7.9), converging2=(9.9, 2.3), chain2=(-4.4, 1.7), diverging3=(23.6, 8.3),
               chain3=(-5.4, 7.8), bifan=(17.6, 7.7), biparallel=(20.2, 6.8)),
    0.85: dict(diverging2=(22.7, 8.1), converging2=(12.1, 2.5), chain2=(-20.2, 9.5), diverging3=(23.5, 8.1),
               chain3=(-8.7, 12.7), bifan=(21.3, 8.5), biparallel=(21.8, 7.6)),
    0.90: dict(diverging2=(17.2, 3.8), converging2=(13.1, 1.9), chain2=(-16.0, 5.8), diverging3=(17.6, 3.5),
               chain3=(-10.9, 7.3), bifan=(18.9, 5.0), biparallel=(19.3, 3.9)),
    0.92: dict(diverging2=(17.3, 3.7), converging2=(16.1, 2.3), chain2=(-16.4, 4.0), diverging3=(19.5, 4.7),
               chain3=(-15.7, 8.4), bifan=(18.9, 2.6), biparallel=(25.9, 4.2)),
    0.93: dict(diverging2=(17.0, 3.0), converging2=(17.2, 2.4), chain2=(-15.9, 3.2), diverging3=(19.1, 4.2),
               chain3=(-14.1, 7.1), bifan=(20.0, 2.9), biparallel=(30.0, 3.8)),
}

#: Z-score (mean, sd) at the original's optimum: over the 214 of its 400 networks whose optimally sparse state
#: is the 93 % one (its optimum table restricted to that state; over all 400 optima the means differ).
Z_AT_OPTIMUM: dict[str, tuple[float, float]] = dict(
    diverging2=(17.5, 3.5), converging2=(17.5, 3.3), chain2=(-16.8, 2.9), diverging3=(19.8, 5.0),
    chain3=(-12.1, 4.3), bifan=(19.6, 3.8), biparallel=(29.8, 4.2))

#: Approximate real/null count ratios reported for optimally sparse networks.
REAL_OVER_NULL: dict[str, float] = dict(diverging2=1.05, converging2=1.05, chain2=0.96, bifan=1.2, biparallel=1.2)

#: Number of the original's 400 networks whose optimally sparse state had each sparsity (B4 selection).
OPTIMAL_SPARSITY_COUNTS: dict[str, int] = {"0.65-0.90": 25, "0.91": 73, "0.92": 84, "0.93": 214, "0.94": 4}

#: Median validation loss (scaled MSE) of the original's ensemble by saved state.
MEDIAN_LOSS_BY_SPARSITY: dict[float, float] = {0.0: 5e-4, 0.85: 6e-4, 0.93: 9.7e-4, 0.94: 4.8e-3, 0.95: 9e-3,
                                               0.98: 3.3e-2}

#: Median live nodes per layer (bias rows included) and live edges at the original's optimum.
LIVE_NODES_AT_OPTIMUM = (9, 184, 401, 127, 7, 7)
LIVE_EDGES_AT_OPTIMUM = 9368


def z_table() -> pd.DataFrame:
    """The original's Z-scores as a long table (:data:`Z_BY_SPARSITY`).

    Returns
    -------
    pandas.DataFrame
        One row per sparsity level and motif of :data:`REPORTED_MOTIFS` (levels in the order of
        :data:`Z_BY_SPARSITY`, motifs in their order within a level), columns ``sparsity`` (float), ``motif``
        (str), ``z_mean`` and ``z_sd`` (float64, NaN where the original reports no value).
    """
    rows = []
    for sparsity, motifs in Z_BY_SPARSITY.items():
        for motif in REPORTED_MOTIFS:
            value = motifs[motif]
            rows.append(dict(sparsity=sparsity, motif=motif, z_mean=value[0] if value else float("nan"),
                             z_sd=value[1] if value else float("nan")))
    return pd.DataFrame(rows)


#: Where :func:`released_counts` reads the original's per-network counts, relative to the repository root.
RELEASED_COUNTS = Path("data/original/released_counts.csv")

#: The columns of :data:`RELEASED_COUNTS`, in their order.
RELEASED_COLUMNS = ("table", "network", "state", "sparsity", "motif", "real", "null_mean", "null_sd", "z")

#: The tables of :data:`RELEASED_COUNTS`: ``optimum`` (one row per network at its optimally sparse state) and
#: ``all_states`` (every state up to the optimum of the networks the all-state tables analysed, B6 copies removed).
RELEASED_TABLES = ("optimum", "all_states")

#: The motifs of :data:`RELEASED_COUNTS`: :data:`REPORTED_MOTIFS` and 3rd-order converging as the original
#: counted it (defect B1).
RELEASED_MOTIFS = REPORTED_MOTIFS[:4] + ("converging3",) + REPORTED_MOTIFS[4:]


def released_counts(path: str | Path | None = None) -> pd.DataFrame:
    """The original's released per-network motif counts, null-model means and sds, and Z-scores.

    One row per table, network, saved state and motif, read from :data:`RELEASED_COUNTS` (its provenance, the
    B5 label correction and the B6 de-duplication are recorded in ``provenance.json`` beside it). ``z`` is the
    released Z-score, (real − null_mean) / null_sd up to the file's rounding (6 significant digits); NaN or ±inf
    where the original's null sd was 0 or undefined.

    Parameters
    ----------
    path : str or pathlib.Path, optional
        The CSV to read; default :data:`RELEASED_COUNTS` under :func:`helpers.pipeline.repo_root`.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`RELEASED_COLUMNS`: ``table`` (str, one of :data:`RELEASED_TABLES`), ``network`` (int64,
        the original's network number), ``state`` (int64, the original's "Sparsity Index", 0–17), ``sparsity``
        (float64, the nominal sparsity of that state), ``motif`` (str, one of :data:`RELEASED_MOTIFS`),
        ``real`` (int64, the real network's count), ``null_mean``, ``null_sd`` and ``z`` (float64).

    Raises
    ------
    FileNotFoundError
        If the file does not exist.
    ValueError
        If its columns are not :data:`RELEASED_COLUMNS`, or it holds an unknown table or motif.
    """
    path = Path(path) if path is not None else pipeline.repo_root() / RELEASED_COUNTS
    if not path.is_file():
        raise FileNotFoundError(f"{path}: the original's released motif counts are missing (expected the CSV "
                                f"shipped as {RELEASED_COUNTS})")
    df = pd.read_csv(path)
    if tuple(df.columns) != RELEASED_COLUMNS:
        raise ValueError(f"{path}: columns {list(df.columns)}, expected {list(RELEASED_COLUMNS)}")
    for column, allowed in (("table", RELEASED_TABLES), ("motif", RELEASED_MOTIFS)):
        unknown = sorted(set(df[column].astype(str)) - set(allowed))
        if unknown:
            raise ValueError(f"{path}: unknown {column} values {unknown}, expected some of {list(allowed)}")
    return df.astype(dict(table=str, network=np.int64, state=np.int64, sparsity=np.float64, motif=str,
                          real=np.int64, null_mean=np.float64, null_sd=np.float64, z=np.float64))


def decomposition(df: pd.DataFrame) -> pd.DataFrame:
    """Split each Z-score into the real/null ratio and the null's relative spread.

    With ratio = real / null_mean and rel_spread = null_sd / √null_mean (the null's sd in units of a Poisson
    sd), Z = (real − null_mean) / null_sd = (ratio − 1) · √null_mean / rel_spread: a large |Z| comes from a
    ratio far from 1, a large mean count, or a null narrower than Poisson.

    Parameters
    ----------
    df : pandas.DataFrame
        Rows with columns ``real``, ``null_mean`` and ``null_sd`` (e.g. :func:`released_counts`).

    Returns
    -------
    pandas.DataFrame
        A copy of ``df`` with ``ratio`` and ``rel_spread`` (float64) added; NaN where ``null_mean`` ≤ 0 or a
        value is missing, ``rel_spread`` = 0 where ``null_sd`` = 0.

    Raises
    ------
    ValueError
        If ``df`` lacks one of the three columns.
    """
    missing = [c for c in ("real", "null_mean", "null_sd") if c not in df.columns]
    if missing:
        raise ValueError(f"decomposition needs the columns {missing}")
    out = df.copy()
    mean = out["null_mean"].astype(np.float64).where(out["null_mean"] > 0)
    out["ratio"] = out["real"].astype(np.float64) / mean
    out["rel_spread"] = out["null_sd"].astype(np.float64) / np.sqrt(mean)
    return out
