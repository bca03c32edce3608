"""The motif census of a pruned ensemble: Z-scores of every network at every saved state, cached as an artifact.

For each network e and saved state s of the pruning run, the cleaned network is scored against ``n_null``
null networks of **both** null models (:data:`helpers.nulls.MODELS`: the original's ``paper`` null and the
degree-preserving ``degree`` null), each in both counting conventions (one null sample per model, counted once,
read in both conventions; seeds from :func:`helpers.stats.derive_seed`, Z-scores as :func:`helpers.stats.zscores`
computes them; which outputs a null may wire is the parameter ``null_outputs``). Beside every real network one
of its own null samples is scored against the remaining ones (leave-one-out): a *pseudo-real* random network
that shows what the ensemble's statistics look like when there is no structure at all.

Artifact ``pipeline.artifact_dir("census", ...)``: ``z.csv`` (columns network, state, sparsity, null,
convention, motif, real, null_mean, null_sd, z, sp) and ``noise.csv`` (network, state, sparsity, null,
convention, motif, z, sp).
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from helpers import convergence, graph, motifs, nulls, pipeline, pruning, stats

CONVENTIONS = motifs.CONVENTIONS
#: Motifs with a Z-score (edges are fixed by the null model, so their Z is always undefined).
Z_MOTIFS = tuple(m for m in motifs.MOTIFS if m != "edges")
#: The files of a census artifact.
FILES = ("z.csv", "noise.csv")


def key_params(params: Mapping[str, Any]) -> dict[str, Any]:
    """What determines the census: the ensemble analysed (:func:`helpers.pruning.analysed_key`), the master seed,
    the number of null networks and which outputs they may wire."""
    return dict(pruning.analysed_key(params), seed=params["seed"], n_null=params["n_null"],
                null_outputs=params["null_outputs"])


def census(params: Mapping[str, Any], progress: bool = False) -> dict[str, pd.DataFrame]:
    """Z-scores of every network × saved state (both null models, both conventions) and of one pseudo-real null
    per cell.

    params: resolved chapter parameters (those of :func:`helpers.pruning.analysed` plus ``n_null``,
    ``null_outputs``). Returns ``{"z": ..., "noise": ..., "states": states}`` (DataFrames as in the module doc).
    The artifact is sealed with a manifest (:func:`helpers.pipeline.build_once`; a damaged one is rebuilt) and
    its tables are checked on every load (:func:`check_tables`).
    """
    if params["n_null"] < 4:
        raise ValueError(f"parameter 'n_null' = {params['n_null']} is invalid: the census needs at least 4")
    states = pruning.analysed(params, progress=progress)
    folder = pipeline.artifact_dir("census", key_params(params))

    def build(folder):
        z_rows, noise_rows = _compute(states, params, progress)
        for name, frame in (("noise.csv", noise_rows), ("z.csv", z_rows)):
            pipeline.atomic_write(folder / name, lambda tmp, frame=frame: frame.to_csv(tmp, index=False))

    pipeline.build_once(folder, FILES, build)
    tables = {}
    for name in FILES:
        try:
            tables[name] = pd.read_csv(folder / name)
        except Exception as exc:
            raise pipeline.ArtifactError(f"census table {folder / name} is unreadable ({exc}); delete {folder} to "
                                         "rebuild it") from exc
    shape = states["val_loss"].shape
    check_tables(tables["z.csv"], tables["noise.csv"], shape, folder)
    return {"z": tables["z.csv"], "noise": tables["noise.csv"], "states": states}


def check_tables(z: pd.DataFrame, noise: pd.DataFrame, shape: tuple[int, int], folder) -> None:
    """Raise :class:`helpers.pipeline.ArtifactError` naming the file and the column when the census tables are
    not complete and valid for ``shape`` = (networks, states): every (network, state, null, convention, motif)
    exactly once, labels from their sets, counts finite and ≥ 0, null sd ≥ 0, Z and SP finite or missing (never
    ±inf)."""
    n_networks, n_states = shape
    expected = n_networks * n_states * len(nulls.MODELS) * len(CONVENTIONS) * len(Z_MOTIFS)
    keys = ["network", "state", "null", "convention", "motif"]
    for name, frame, numeric in (("z.csv", z, ("sparsity", "real", "null_mean", "null_sd", "z", "sp")),
                                 ("noise.csv", noise, ("sparsity", "z", "sp"))):
        where = f"census table {folder}/{name}"
        missing = [c for c in keys + list(numeric) if c not in frame.columns]
        if missing:
            raise pipeline.ArtifactError(f"{where} lacks the column(s) {missing}; delete {folder} to rebuild it")
        for column, allowed in (("network", range(n_networks)), ("state", range(n_states)),
                                ("null", nulls.MODELS), ("convention", CONVENTIONS), ("motif", Z_MOTIFS)):
            bad = ~frame[column].isin(list(allowed))
            if bad.any():
                found = frame[column][bad].iloc[0]
                found = found.item() if isinstance(found, np.generic) else found
                raise pipeline.ArtifactError(f"{where}: column {column!r} holds {found!r}, not one of the expected "
                                             f"values; delete {folder} to rebuild it")
        if len(frame) != expected or frame.duplicated(keys).any():
            raise pipeline.ArtifactError(f"{where} has {len(frame)} rows, expected {expected} distinct ones "
                                         f"(truncated or edited); delete {folder} to rebuild it")
        for column in numeric:
            values = pd.to_numeric(frame[column], errors="coerce").to_numpy(dtype=np.float64)
            finite_only = column in ("sparsity", "real", "null_mean")
            bad = ~np.isfinite(values) if finite_only else np.isinf(values)
            if column in ("real", "null_mean", "null_sd"):
                bad |= values < 0
            if column == "sparsity":
                bad |= (values < 0) | (values >= 1)
            if bad.any():
                raise pipeline.ArtifactError(f"{where}: column {column!r} holds {int(bad.sum())} invalid value(s) "
                                             f"(e.g. {values[bad][0]!r}); delete {folder} to rebuild it")


def _compute(states: Mapping[str, np.ndarray], params: Mapping[str, Any], progress: bool
             ) -> tuple[pd.DataFrame, pd.DataFrame]:
    from tqdm import tqdm

    n_networks, n_states = states["val_loss"].shape
    cells = [(e, s) for e in range(n_networks) for s in range(n_states)]
    z_frames, noise_frames = [], []
    columns = [motifs.MOTIFS.index(m) for m in Z_MOTIFS]
    for e, s in tqdm(cells, desc="census", disable=not progress):
        sparsity = float(states["sparsity"][s])
        cleaned = graph.clean(pruning.exchange_masks(states, e, s))
        real = motifs.count_raw(cleaned)
        for model in nulls.MODELS:
            null_raw = nulls.null_counts(cleaned, params["n_null"], model,
                                         stats.derive_seed(params["seed"], e, sparsity),
                                         outputs=params["null_outputs"])
            cell = dict(network=e, state=s, sparsity=sparsity, null=model)
            for convention in CONVENTIONS:               # one null sample, both conventions
                null = motifs.project(null_raw, convention)
                table = stats.table(motifs.project(real, convention), null).loc[list(Z_MOTIFS)].reset_index()
                z_frames.append(table.assign(**cell, convention=convention))
                pseudo_z = convergence.leave_one_out_z(null[:, columns])[0]
                noise_frames.append(pd.DataFrame(dict(motif=Z_MOTIFS, z=pseudo_z,
                                                      sp=convergence.significance_profile(pseudo_z),
                                                      **cell, convention=convention)))
    order = ["network", "state", "sparsity", "null", "convention", "motif"]
    z = pd.concat(z_frames, ignore_index=True)
    noise = pd.concat(noise_frames, ignore_index=True)
    return (z[order + [c for c in z.columns if c not in order]], noise[order + ["z", "sp"]])
