"""Measures of the paper's claim: do differently initialised sparse networks share one motif profile?

Two yardsticks, both in Z units so that networks of different sizes compare:

* **Null noise.** A random network drawn from the same null model, scored against the *other* null samples
  (leave-one-out), has Z-scores of pure sampling noise. Their spread is what "no common structure" looks like.
* **Profile distance.** The significance profile SP = Z/‖Z‖ (Milo et al. 2004) removes the
  overall scale; the mean pairwise Euclidean distance between the networks' profiles is small when they
  share one profile, and about √2 for unrelated random directions. :func:`profile_permutation_test` asks
  whether the real networks' profiles lie closer together than the pseudo-real (null) networks' do.

Centre and spread are the median and the interquartile range, which one network with an extreme Z cannot move.
A Z beyond ±:data:`EXTREME_Z` comes from a null whose sd is tiny (a count that nearly every null network shares),
so that Z measures the null's narrowness more than the real network; such cells are counted separately and left
out of the centre and spread.
"""
from __future__ import annotations

import itertools
import math

import numpy as np
import pandas as pd

#: |Z| beyond which a cell is reported separately, not folded into medians and spreads.
EXTREME_Z = 100.0


def leave_one_out_z(null_counts: np.ndarray) -> np.ndarray:
    """Z-score of every null sample against the remaining ones.

    Each null network in turn plays the pseudo-real network, scored against the other n − 1 (leave-one-out);
    its Z-scores are pure sampling noise (the "null noise" yardstick of the module doc).

    Parameters
    ----------
    null_counts : array_like, int or float (n, m)
        Motif counts of n ≥ 3 null networks (rows) for m motifs (columns), e.g. one convention's columns of
        :func:`helpers.nulls.null_counts` after :func:`helpers.motifs.project`.

    Returns
    -------
    ndarray, float64 (n, m)
        For row k, (c_k − mean of the other rows) / sd of the other rows (ddof = 1); NaN where that sd is 0 (up
        to round-off: an sd ≤ 1e-9 · max(|mean|, 1) counts as 0).

    Raises
    ------
    ValueError
        If ``null_counts`` is not 2-D or has fewer than 3 rows.
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

    Parameters
    ----------
    z : array_like, float (..., m)
        Z-scores of m motifs (last axis), NaN where undefined; any leading axes (e.g. networks) are kept.

    Returns
    -------
    ndarray, float64 (..., m)
        The significance profile, of unit Euclidean norm over its finite entries along the last axis. A profile
        whose finite entries are all 0 (or none is finite) is all NaN.
    """
    z = np.asarray(z, dtype=np.float64)
    norm = np.sqrt(np.nansum(z ** 2, axis=-1, keepdims=True))
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(norm > 0, z / norm, np.nan)


def spread_by_level(z_long: pd.DataFrame, by: tuple[str, ...] = ("sparsity", "motif"),
                    extreme: float = EXTREME_Z) -> pd.DataFrame:
    """Centre and spread of Z across networks per group (by default per (sparsity, motif)).

    Parameters
    ----------
    z_long : pandas.DataFrame
        One row per network and group, with columns ``network``, ``z`` (float, NaN where undefined) and those of
        ``by`` (e.g. the census's Z table of chapter 6, restricted to one null model and convention).
    by : tuple of str
        The columns that define a group.
    extreme : float
        |Z| beyond which a defined Z is counted in ``n_extreme`` and left out of the centre and spread
        (default :data:`EXTREME_Z`).

    Returns
    -------
    pandas.DataFrame
        One row per group (groups with no defined Z are absent), columns: the ``by`` columns; ``n`` (int,
        networks with a defined Z); ``n_extreme`` (int, of those, how many have |Z| > ``extreme``); and over the
        other n − n_extreme: ``z_median``, ``z_q25``, ``z_q75`` (quartiles, linear interpolation) and ``z_iqr`` =
        z_q75 − z_q25 (float64, NaN where none is left).
    """
    defined = z_long.dropna(subset=["z"])
    rows = []
    for key, group in defined.groupby(list(by)):
        z = group["z"].to_numpy(dtype=np.float64)
        ordinary = z[np.abs(z) <= extreme]
        q25, median, q75 = (np.quantile(ordinary, [0.25, 0.5, 0.75]) if len(ordinary)
                            else (np.nan, np.nan, np.nan))
        rows.append(dict(zip(by, key if isinstance(key, tuple) else (key,)), n=len(z),
                         n_extreme=int(len(z) - len(ordinary)), z_median=median, z_q25=q25, z_q75=q75,
                         z_iqr=q75 - q25))
    columns = [*by, "n", "n_extreme", "z_median", "z_q25", "z_q75", "z_iqr"]
    return pd.DataFrame(rows, columns=columns)


def median_iqr(values, extreme: float = EXTREME_Z, spec: str = ".1f") -> str:
    """``"median [q25, q75]"`` of the defined values with |value| ≤ ``extreme``, as text for a table cell.

    Parameters
    ----------
    values : array_like of float
        The values (e.g. one motif's Z-scores over networks); NaN and None are left out as undefined.
    extreme : float
        |value| beyond which a defined value is left out of the median and quartiles (default :data:`EXTREME_Z`).
    spec : str
        Format spec of the median and quartiles (``".1f"``, ``".2f"``, ...).

    Returns
    -------
    str
        ``"median [q25, q75]"`` formatted with ``spec`` (only ``"median"`` when a single value is left), with
        ``" (+k beyond ±extreme)"`` appended when k values were left out; ``"—"`` when no value is defined (and
        ``"— (+k beyond ±extreme)"`` when every defined value was left out).
    """
    z = pd.Series(values, dtype=np.float64).dropna().to_numpy()
    ordinary = z[np.abs(z) <= extreme]
    text = "—"
    if len(ordinary):
        q25, median, q75 = np.quantile(ordinary, [0.25, 0.5, 0.75])
        text = f"{median:{spec}} [{q25:{spec}}, {q75:{spec}}]" if len(ordinary) > 1 else f"{median:{spec}}"
    if len(ordinary) < len(z):
        text += f" (+{len(z) - len(ordinary)} beyond ±{extreme:g})"
    return text


def _within_distances(distance: np.ndarray, members: np.ndarray) -> np.ndarray:
    """Mean pairwise distance within each subset: distance (n, n) symmetric with zero diagonal, members (P, n)
    0/1 rows with k ones each. Returns (P,) = xᵀ D x / (k (k − 1)) per row x."""
    x = members.astype(np.float64)
    k = x[0].sum()
    return ((x @ distance) * x).sum(axis=1) / (k * (k - 1))


def profile_permutation_test(real: np.ndarray, pseudo: np.ndarray, n_permutations: int = 20_000,
                             seed: int = 0) -> dict:
    """Are the real networks' significance profiles closer to each other than random networks' are?

    Only the columns finite in every row of both ``real`` and ``pseudo`` are used, each row re-normalised to unit
    length on them. The statistic is the mean pairwise Euclidean distance among the k real profiles. Under the
    null hypothesis that real and pseudo-real profiles are exchangeable, every k-subset of the pooled k + k2 rows
    is an equally likely "real" group; the p-value is the fraction of subsets whose mean distance is ≤ the
    observed one (one-sided: small = real networks agree). All C(k + k2, k) subsets are enumerated when there are
    at most ``n_permutations`` of them (exact test; the smallest possible p is 1 / C(k + k2, k)); otherwise
    ``n_permutations`` random subsets are drawn with ``seed`` and p = (1 + #≤) / (1 + n_permutations).

    Parameters
    ----------
    real : array_like, float (k, m)
        Z-scores (or profiles) of k ≥ 2 real networks (rows) for m motifs; NaN where undefined.
    pseudo : array_like, float (k2, m)
        Those of k2 ≥ 1 pseudo-real (null) networks, e.g. from :func:`leave_one_out_z`, same motif columns.
    n_permutations : int
        Largest number of subsets enumerated exactly, and the number of random subsets drawn otherwise.
    seed : int
        Seed of the random subsets (:func:`numpy.random.default_rng`); unused by the exact test.

    Returns
    -------
    dict
        ``distance_real`` (float, the observed statistic), ``distance_null`` (float, mean pairwise distance among
        the pseudo-real profiles; NaN when k2 = 1), ``p_value`` (float), ``n_subsets`` (int, subsets compared),
        ``exact`` (bool, whether all subsets were enumerated), ``motifs_used`` (int, number of usable columns).
        The distances and p-value are NaN, ``n_subsets`` 0 and ``exact`` False when there are fewer than 2 real
        rows, no pseudo-real row or no usable column, or a row whose usable Zs are all 0 (it has no direction).

    Raises
    ------
    ValueError
        If ``real`` or ``pseudo`` is not 2-D, or their numbers of columns differ.
    """
    real, pseudo = np.asarray(real, dtype=np.float64), np.asarray(pseudo, dtype=np.float64)
    if real.ndim != 2 or pseudo.ndim != 2 or real.shape[1] != pseudo.shape[1]:
        raise ValueError(f"real and pseudo must be 2-D with the same number of columns; got {real.shape} and "
                         f"{pseudo.shape}")
    pooled = np.vstack([real, pseudo])
    usable = np.all(np.isfinite(pooled), axis=0)
    k, total = len(real), len(pooled)
    empty = dict(distance_real=np.nan, distance_null=np.nan, p_value=np.nan, n_subsets=0, exact=False,
                 motifs_used=int(usable.sum()))
    if k < 2 or len(pseudo) < 1 or not usable.any():
        return empty
    profiles = significance_profile(pooled[:, usable])
    if not np.isfinite(profiles).all():             # a row with all usable Zs zero has no direction
        return empty
    distance = np.linalg.norm(profiles[:, None, :] - profiles[None, :, :], axis=-1)
    observed = _within_distances(distance, np.arange(total)[None, :] < k)[0]
    n_all = math.comb(total, k)
    if n_all <= n_permutations:
        members = np.zeros((n_all, total), dtype=bool)
        for row, subset in enumerate(itertools.combinations(range(total), k)):
            members[row, list(subset)] = True
        below = int((_within_distances(distance, members) <= observed + 1e-12).sum())
        p, n_subsets, exact = below / n_all, n_all, True
    else:
        rng = np.random.default_rng(seed)
        order = np.argsort(rng.random((n_permutations, total)), axis=1)
        members = order < k
        below = int((_within_distances(distance, members) <= observed + 1e-12).sum())
        p, n_subsets, exact = (1 + below) / (1 + n_permutations), n_permutations, False
    null_part = distance[k:, k:]
    k2 = len(pseudo)
    distance_null = null_part.sum() / (k2 * (k2 - 1)) if k2 > 1 else np.nan
    return dict(distance_real=float(observed), distance_null=float(distance_null), p_value=float(p),
                n_subsets=int(n_subsets), exact=bool(exact), motifs_used=int(usable.sum()))


def profile_test_by_level(z_long: pd.DataFrame, noise_long: pd.DataFrame, motifs: tuple[str, ...],
                          seed: int = 0, n_permutations: int = 20_000) -> pd.DataFrame:
    """:func:`profile_permutation_test` at every sparsity level: real networks' Zs against the pseudo-real ones'.

    Parameters
    ----------
    z_long : pandas.DataFrame
        The real networks' Zs, columns ``network``, ``sparsity``, ``motif``, ``z``, one null model and convention
        (one row per network, sparsity and motif).
    noise_long : pandas.DataFrame
        The pseudo-real networks' Zs, same columns, null model and convention; matched to a level of ``z_long``
        by sparsity (:func:`numpy.isclose`).
    motifs : tuple of str
        The motifs compared (the profile's columns, in this order); rows of other motifs are ignored.
    seed : int
        Passed to :func:`profile_permutation_test`.
    n_permutations : int
        Passed to :func:`profile_permutation_test`.

    Returns
    -------
    pandas.DataFrame
        One row per sparsity level of ``z_long`` (ascending), columns ``sparsity`` (float), ``n_networks`` (int,
        real networks at the level), ``motifs_used``, ``distance_real``, ``distance_null``, ``p_value``,
        ``exact`` (as :func:`profile_permutation_test` returns them); no rows when ``z_long`` has none.
    """
    rows = []
    for sparsity, level in z_long[z_long["motif"].isin(motifs)].groupby("sparsity"):
        noise = noise_long[np.isclose(noise_long["sparsity"], sparsity) & noise_long["motif"].isin(motifs)]
        wide = [frame.pivot(index="network", columns="motif", values="z").reindex(columns=list(motifs))
                for frame in (level, noise)]
        test = profile_permutation_test(wide[0].to_numpy(), wide[1].to_numpy(), n_permutations, seed)
        rows.append(dict(sparsity=sparsity, n_networks=len(wide[0]), **test))
    columns = ["sparsity", "n_networks", "motifs_used", "distance_real", "distance_null", "p_value", "exact"]
    return pd.DataFrame(rows)[columns] if rows else pd.DataFrame(columns=columns)
