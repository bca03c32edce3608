"""Measures of the paper's claim: do differently initialised sparse networks share one motif profile?

Two yardsticks, both in Z units so that networks of different sizes compare:

* **Null noise.** A random network drawn from the same null model, scored against the *other* null samples
  (leave-one-out), has Z-scores of pure sampling noise. Their spread is what "no common structure" looks like.
* **Profile distance.** The significance profile SP = Z/‖Z‖ (Milo et al. 2004) removes the
  overall scale; the mean pairwise Euclidean distance between the networks' profiles is small when they
  share one profile, and about √2 for unrelated random directions.
"""
from __future__ import annotations

import itertools

import numpy as np
import pandas as pd


def leave_one_out_z(null_counts: np.ndarray) -> np.ndarray:
    """Z-score of every null sample against the remaining ones.

    null_counts: (n, m) motif counts of n ≥ 3 null networks. Returns (n, m) float64: for row k,
    (c_k − mean of the other rows) / sd of the other rows (ddof = 1); NaN where that sd is 0.
    """
    counts = np.asarray(null_counts, dtype=np.float64)
    if counts.ndim != 2 or counts.shape[0] < 3:
        raise ValueError(f"null_counts must have shape (n >= 3, m); got {counts.shape}")
    n = counts.shape[0]
    total, total_sq = counts.sum(axis=0), (counts ** 2).sum(axis=0)
    rest_mean = (total - counts) / (n - 1)
    rest_var = ((total_sq - counts ** 2) - (n - 1) * rest_mean ** 2) / (n - 2)
    rest_sd = np.sqrt(np.clip(rest_var, 0.0, None))
    # relative round-off guard: a variance that is zero up to cancellation error is zero
    tiny = rest_sd <= 1e-9 * np.maximum(np.abs(rest_mean), 1.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        z = (counts - rest_mean) / rest_sd
    z[tiny] = np.nan
    return z


def significance_profile(z: np.ndarray) -> np.ndarray:
    """SP = Z / ‖Z‖ along the last axis, over the finite entries (NaN entries stay NaN).

    z: (..., m) float. A profile whose finite entries are all 0 (or none is finite) is all NaN.
    """
    z = np.asarray(z, dtype=np.float64)
    norm = np.sqrt(np.nansum(z ** 2, axis=-1, keepdims=True))
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(norm > 0, z / norm, np.nan)


def mean_pairwise_distance(profiles: np.ndarray) -> float:
    """Mean Euclidean distance between all pairs of rows of ``profiles`` (k, m).

    Only the columns finite in every row are used, and the rows are re-normalised to unit length on them, so
    that a motif missing in one network does not bias the distance. NaN if k < 2 or no column is usable.
    """
    profiles = np.asarray(profiles, dtype=np.float64)
    if profiles.ndim != 2 or profiles.shape[0] < 2:
        return float("nan")
    usable = np.all(np.isfinite(profiles), axis=0)
    if not usable.any():
        return float("nan")
    p = significance_profile(profiles[:, usable])
    dists = [np.linalg.norm(p[i] - p[j]) for i, j in itertools.combinations(range(len(p)), 2)]
    dists = [d for d in dists if np.isfinite(d)]
    return float(np.mean(dists)) if dists else float("nan")


def spread_by_level(z_long: pd.DataFrame) -> pd.DataFrame:
    """Across-network mean and sd of Z per (sparsity, motif).

    z_long: columns ``network, sparsity, motif, z``. Returns columns sparsity, motif, n (networks with a
    defined Z), z_mean, z_sd (ddof = 1).
    """
    grouped = z_long.dropna(subset=["z"]).groupby(["sparsity", "motif"])["z"]
    return grouped.agg(n="count", z_mean="mean", z_sd="std").reset_index()


def profile_distance_by_level(z_long: pd.DataFrame, motifs: tuple[str, ...]) -> pd.DataFrame:
    """Mean pairwise distance between networks' significance profiles at every sparsity level.

    z_long: columns ``network, sparsity, motif, z`` (one convention). Returns columns sparsity, n_networks,
    distance.
    """
    rows = []
    for sparsity, level in z_long[z_long["motif"].isin(motifs)].groupby("sparsity"):
        wide = level.pivot(index="network", columns="motif", values="z").reindex(columns=list(motifs))
        rows.append(dict(sparsity=sparsity, n_networks=len(wide),
                         distance=mean_pairwise_distance(significance_profile(wide.to_numpy()))))
    return pd.DataFrame(rows)
