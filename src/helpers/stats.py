"""Motif Z-scores and significance profiles of real networks against null ensembles (SPEC §6).

Z = (N_real − mean N_null) / sd N_null with the sample sd (ddof = 1) over the null networks (Milo et al. 2002);
Z is NaN (missing), never ±inf, when sd = 0. The significance profile SP = Z / ‖Z‖ (Milo et al. 2004) uses the
defined Zs of every motif except ``edges`` (the null keeps the edge count, so its Z is always undefined); SP is
NaN where Z is, and everywhere when no Z is defined or all are 0.
"""
from __future__ import annotations

import zlib
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from . import graph, motifs, nulls

COLUMNS = ("real", "null_mean", "null_sd", "z", "sp")


def table(real: np.ndarray, null: np.ndarray) -> pd.DataFrame:
    """Z-score table (as :func:`zscores` returns it) from real int (9,) and null int (n, 9) counts of one
    convention, motifs in :data:`helpers.motifs.MOTIFS` order."""
    real_f = real.astype(np.float64)
    null_f = null.astype(np.float64)
    mean = null_f.mean(axis=0)
    sd = null_f.std(axis=0, ddof=1) if len(null_f) > 1 else np.full(len(real_f), np.nan)
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(sd > 0, (real_f - mean) / np.where(sd > 0, sd, 1.0), np.nan)
    profile = z.copy()
    profile[0] = np.nan                                   # edges never enters the profile
    norm = np.sqrt(np.nansum(profile ** 2))
    sp = profile / norm if norm > 0 else np.full_like(profile, np.nan)
    return pd.DataFrame({"real": real.astype(np.int64), "null_mean": mean, "null_sd": sd, "z": z, "sp": sp},
                        index=pd.Index(motifs.MOTIFS, name="motif"))


def _check_common(n_null, null, seed):
    if isinstance(n_null, bool) or not isinstance(n_null, (int, np.integer)) or n_null < 2:
        raise ValueError(f"n_null = {n_null!r} must be an integer >= 2 (the sample sd needs two nulls)")
    if null not in nulls.MODELS:
        raise ValueError(f"null = {null!r} must be one of {nulls.MODELS}")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or not 0 <= seed < 2**32:
        raise ValueError(f"seed = {seed!r} must be an integer in [0, 2**32)")


def zscores(masks: Sequence[np.ndarray], n_null: int = 1000, null: str = "paper", convention: str = "paper",
            seed: int = 0, return_null_counts: bool = False, **null_options):
    """Motif Z-scores of one network against ``n_null`` null networks.

    masks: exchange layout (SPEC §5); cleaned first (ghost and dead nodes removed), and the real counts are
    those of the cleaned network. null: ``"paper"`` or ``"degree"`` (see :mod:`helpers.nulls`; extra keyword
    ``null_options`` such as ``trades_per_row`` go to the degree model). convention: ``"paper"`` or
    ``"subgraph"``. Returns a DataFrame indexed by motif (:data:`helpers.motifs.MOTIFS` order) with columns
    real (int64), null_mean, null_sd (ddof = 1), z, sp (float64); with ``return_null_counts`` also the null
    counts, int64 (n_null, 9). Deterministic for a given seed.
    """
    _check_common(n_null, null, seed)
    if convention not in motifs.CONVENTIONS:
        raise ValueError(f"convention = {convention!r} must be one of {motifs.CONVENTIONS}")
    cleaned = graph.clean(masks)
    real = motifs.project(motifs.count_raw(cleaned), convention)
    null_counts = motifs.project(nulls.null_counts(cleaned, n_null, null, seed, **null_options), convention)
    result = table(real, null_counts)
    return (result, null_counts) if return_null_counts else result


def derive_seed(seed: int, network, sparsity: float) -> int:
    """A 32-bit seed for one (network, sparsity) pair, independent of which other pairs are analysed."""
    key = zlib.crc32(repr(network).encode())
    level = int(round(float(sparsity) * 1_000_000))
    return int(np.random.SeedSequence([int(seed), key, level]).generate_state(1)[0])


def sweep(networks: Mapping[tuple, Sequence[np.ndarray]], n_null: int = 1000, null: str = "paper", seed: int = 0,
          conventions: Sequence[str] = motifs.CONVENTIONS, progress: bool = False, **null_options) -> pd.DataFrame:
    """Z-scores of many networks, e.g. every ensemble member at every pruning level.

    networks: ``{(network_id, sparsity): masks}``. Each pair gets its own seed from :func:`derive_seed`, so a
    pair's result does not depend on the other pairs. The null networks are drawn and counted once per pair;
    every convention is read from that one pass. Returns a long DataFrame with columns network, sparsity,
    convention, motif, real, null_mean, null_sd, z, sp (one row per pair × convention × motif).
    """
    _check_common(n_null, null, seed)
    conventions = tuple(conventions)
    if not conventions or any(c not in motifs.CONVENTIONS for c in conventions):
        raise ValueError(f"conventions = {conventions!r} must be a non-empty subset of {motifs.CONVENTIONS}")
    items = list(networks.items())
    for key, masks in items:                                # validate everything before any work
        if not (isinstance(key, tuple) and len(key) == 2):
            raise ValueError(f"network key {key!r} must be a (network_id, sparsity) tuple")
        try:
            graph.validate(masks)
        except ValueError as err:
            raise ValueError(f"network {key!r}: {err}") from None
    if progress:
        from tqdm.auto import tqdm
        items = tqdm(items, desc="Z-scores")
    frames = []
    for (network, sparsity), masks in items:
        cleaned = graph.clean(masks)
        real = motifs.count_raw(cleaned)
        raw = nulls.null_counts(cleaned, n_null, null, derive_seed(seed, network, sparsity), **null_options)
        for conv in conventions:
            t = table(motifs.project(real, conv), motifs.project(raw, conv)).reset_index()
            t.insert(0, "convention", conv)
            t.insert(0, "sparsity", float(sparsity))
            t.insert(0, "network", network)
            frames.append(t)
    cols = ["network", "sparsity", "convention", "motif", *COLUMNS]
    if not frames:
        return pd.DataFrame(columns=cols)
    return pd.concat(frames, ignore_index=True)[cols]
