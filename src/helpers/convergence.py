"""Measures of the paper's claim: do differently initialised sparse networks share one motif profile?

Two yardsticks, both in Z units so that networks of different sizes compare:

* **Null noise.** A random network drawn from the same null model, scored against the *other* null samples
  (leave-one-out), has Z-scores of pure sampling noise. Their spread is what "no common structure" looks like.
* **Profile distance.** The significance profile SP = Z/‖Z‖ (Milo et al. 2004) removes the
  overall scale; the mean pairwise Euclidean distance between the networks' profiles is small when they
  share one profile, and about √2 for unrelated random directions. :func:`profile_permutation_test` asks
  whether the real networks' profiles lie closer together than the pseudo-real (null) networks' do.

Centre and spread are the median and the interquartile range over *every* network with a defined Z, which one
network with an extreme Z cannot move, so nothing is left out. A Z beyond ±:data:`EXTREME_Z` comes from a null
whose sd is tiny (a count that nearly every null network shares), so that Z measures the null's narrowness more than
the real network; such cells are counted (``n_extreme``) and stay in the centre and spread.

:func:`between_within_test` asks the question the pseudo-real comparison cannot: are the profiles of networks
trained on one task closer to each other than to those of networks trained on another task?
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
        |Z| beyond which a defined Z is counted in ``n_extreme`` (default :data:`EXTREME_Z`); it stays in the
        centre and spread.

    Returns
    -------
    pandas.DataFrame
        One row per group (groups with no defined Z are absent), columns: the ``by`` columns; ``n`` (int,
        networks with a defined Z); ``n_extreme`` (int, of those, how many have |Z| > ``extreme``); and over all
        n: ``z_median``, ``z_q25``, ``z_q75`` (quartiles, linear interpolation), ``z_iqr`` = z_q75 − z_q25,
        ``z_mean`` and ``z_sd`` (sample standard deviation, ddof = 1; NaN for n = 1) (float64).
    """
    defined = z_long.dropna(subset=["z"])
    rows = []
    for key, group in defined.groupby(list(by)):
        z = group["z"].to_numpy(dtype=np.float64)
        q25, median, q75 = np.quantile(z, [0.25, 0.5, 0.75])
        rows.append(dict(zip(by, key if isinstance(key, tuple) else (key,)), n=len(z),
                         n_extreme=int((np.abs(z) > extreme).sum()), z_median=median, z_q25=q25, z_q75=q75,
                         z_iqr=q75 - q25, z_mean=z.mean(), z_sd=z.std(ddof=1) if len(z) > 1 else np.nan))
    columns = [*by, "n", "n_extreme", "z_median", "z_q25", "z_q75", "z_iqr", "z_mean", "z_sd"]
    return pd.DataFrame(rows, columns=columns)


def median_iqr(values, spec: str = ".1f", with_n: bool = True) -> str:
    """``"median [q25, q75], n = k"`` of the defined values, as text for a table cell.

    Parameters
    ----------
    values : array_like of float
        The values (e.g. one motif's Z-scores over networks); NaN and None are left out as undefined, every
        defined value is used.
    spec : str
        Format spec of the median and quartiles (``".1f"``, ``".2f"``, ...).
    with_n : bool
        Append ``", n = k"``, the number of defined values.

    Returns
    -------
    str
        ``"median [q25, q75]"`` formatted with ``spec`` (only ``"median"`` when a single value is defined), then
        ``", n = k"``; ``"—"`` when no value is defined.
    """
    z = pd.Series(values, dtype=np.float64).dropna().to_numpy()
    if not len(z):
        return "—"
    q25, median, q75 = np.quantile(z, [0.25, 0.5, 0.75])
    text = f"{median:{spec}} [{q25:{spec}}, {q75:{spec}}]" if len(z) > 1 else f"{median:{spec}}"
    return f"{text}, n = {len(z)}" if with_n else text


def mean_sd(values, spec: str = ".1f") -> str:
    """``"mean ± sd"`` of the defined values (sample sd, ddof = 1), as the original's tables give them.

    Parameters
    ----------
    values : array_like of float
        Z-scores (or any values); NaN counts as undefined and is left out.
    spec : str
        Format spec of both numbers.

    Returns
    -------
    str
        ``"mean ± sd"`` formatted with ``spec``, only ``"mean"`` for one value, ``"—"`` for none.
    """
    z = pd.Series(values, dtype=np.float64).dropna().to_numpy()
    if not len(z):
        return "—"
    return f"{z.mean():{spec}} ± {z.std(ddof=1):{spec}}" if len(z) > 1 else f"{z.mean():{spec}}"


def _pooled_distances(a, b, names: tuple[str, str]) -> tuple[np.ndarray | None, int, tuple[int, int]]:
    """Pairwise Euclidean distances between the significance profiles of the pooled rows of ``a`` and ``b``.

    Only the columns finite in every row are used, each row re-normalised on them. Returns ``(distance, used,
    (k_a, k_b))``: the (k_a + k_b)² distances (None when no column is usable or a row has no direction, all its
    usable values 0), the number of usable columns and the two groups' sizes. Raises ``ValueError`` naming both
    arguments unless they are 2-D with the same number of columns.
    """
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[1]:
        raise ValueError(f"{names[0]} and {names[1]} must be 2-D with the same number of columns; got {a.shape} "
                         f"and {b.shape}")
    pooled = np.vstack([a, b])
    usable = np.all(np.isfinite(pooled), axis=0)
    if not usable.any() or not len(pooled):
        return None, int(usable.sum()), (len(a), len(b))
    profiles = significance_profile(pooled[:, usable])
    if not np.isfinite(profiles).all():             # a row with all usable values zero has no direction
        return None, int(usable.sum()), (len(a), len(b))
    return np.linalg.norm(profiles[:, None, :] - profiles[None, :, :], axis=-1), int(usable.sum()), (len(a), len(b))


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
    distance, used, (k, k2) = _pooled_distances(real, pseudo, ("real", "pseudo"))
    total = k + k2
    empty = dict(distance_real=np.nan, distance_null=np.nan, p_value=np.nan, n_subsets=0, exact=False,
                 motifs_used=used)
    if k < 2 or k2 < 1 or distance is None:
        return empty
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
    distance_null = null_part.sum() / (k2 * (k2 - 1)) if k2 > 1 else np.nan
    return dict(distance_real=float(observed), distance_null=float(distance_null), p_value=float(p),
                n_subsets=int(n_subsets), exact=bool(exact), motifs_used=used)


def between_within_test(first: np.ndarray, second: np.ndarray) -> dict:
    """Are profiles of networks trained on one task closer to each other than to those of another task's networks?

    Only the columns finite in every row of both groups are used, each row re-normalised to unit length on them
    (:func:`significance_profile`). The statistic is Δ = mean between-group distance − mean within-group distance
    (the within-group pairs of both groups pooled). Under the null hypothesis that the task does not matter, the
    labels are exchangeable: every split of the pooled rows into groups of the two sizes is equally likely, and
    the exact one-sided p-value is the fraction of all C(k1 + k2, k1) splits whose Δ is ≥ the observed one (the
    smallest possible p is 1 / C(k1 + k2, k1), or 2 / C when the groups have equal sizes, since a split and its
    mirror give one Δ).

    Parameters
    ----------
    first, second : array_like, float (k1, m), (k2, m)
        Z-scores (or profiles) of each group's networks (k1, k2 ≥ 2) for the same m motif columns; NaN where
        undefined.

    Returns
    -------
    dict
        ``within_first``, ``within_second``, ``between`` (float, mean pairwise distances), ``delta`` (float),
        ``p_value`` (float), ``p_floor`` (float, the smallest p the sizes allow), ``n_splits`` (int),
        ``motifs_used`` (int); distances and p NaN when a group has fewer than 2 rows, no column is usable, or a
        row has no direction.

    Raises
    ------
    ValueError
        If the inputs are not 2-D with the same number of columns.
    """
    distance, used, (k1, k2) = _pooled_distances(first, second, ("first", "second"))
    total = k1 + k2
    empty = dict(within_first=np.nan, within_second=np.nan, between=np.nan, delta=np.nan, p_value=np.nan,
                 p_floor=np.nan, n_splits=0, motifs_used=used)
    if k1 < 2 or k2 < 2 or distance is None:
        return empty
    n_splits = math.comb(total, k1)
    members = np.zeros((n_splits, total), dtype=bool)
    for row, subset in enumerate(itertools.combinations(range(total), k1)):
        members[row, list(subset)] = True
    x = members.astype(np.float64)
    y = 1.0 - x
    within_pairs = k1 * (k1 - 1) + k2 * (k2 - 1)          # ordered pairs
    within = (((x @ distance) * x).sum(axis=1) + ((y @ distance) * y).sum(axis=1)) / within_pairs
    between = ((x @ distance) * y).sum(axis=1) / (k1 * k2)
    delta = between - within
    observed = delta[0]                                   # the first subset is rows 0 … k1 − 1: the real split
    p = float((delta >= observed - 1e-12).sum() / n_splits)
    floor = (2.0 if k1 == k2 else 1.0) / n_splits
    return dict(within_first=float(distance[:k1, :k1].sum() / (k1 * (k1 - 1))),
                within_second=float(distance[k1:, k1:].sum() / (k2 * (k2 - 1))), between=float(between[0]),
                delta=float(observed), p_value=p, p_floor=floor, n_splits=int(n_splits),
                motifs_used=used)


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


def _wide(z_long: pd.DataFrame, motifs: tuple[str, ...]) -> pd.DataFrame:
    """One row per network, one column per motif (in ``motifs``' order) of a level's long Z table."""
    return z_long.pivot(index="network", columns="motif", values="z").reindex(columns=list(motifs))


def between_within_by_level(first: pd.DataFrame, second: pd.DataFrame, motifs: tuple[str, ...]) -> pd.DataFrame:
    """:func:`between_within_test` at every sparsity level that both groups have.

    Parameters
    ----------
    first, second : pandas.DataFrame
        Long Z tables of two groups of networks (e.g. two tasks), columns ``network``, ``sparsity``, ``motif``,
        ``z``, one null model and convention each; levels matched by :func:`numpy.isclose`.
    motifs : tuple of str
        The profile's motifs, in order.

    Returns
    -------
    pandas.DataFrame
        One row per common level (ascending): ``sparsity``, ``n_first``, ``n_second`` and the entries of
        :func:`between_within_test`.
    """
    rows = []
    for sparsity, level in first[first["motif"].isin(motifs)].groupby("sparsity"):
        other = second[np.isclose(second["sparsity"], sparsity) & second["motif"].isin(motifs)]
        if other.empty:
            continue
        a, b = _wide(level, motifs), _wide(other, motifs)
        rows.append(dict(sparsity=sparsity, n_first=len(a), n_second=len(b),
                         **between_within_test(a.to_numpy(), b.to_numpy())))
    return pd.DataFrame(rows)


def sign_agreement(z_long: pd.DataFrame, motifs: tuple[str, ...], significant: float = 2.0) -> pd.DataFrame:
    """Per sparsity level: for how many motifs every network agrees on the sign of Z, and beyond ±``significant``.

    Parameters
    ----------
    z_long : pandas.DataFrame
        Long Z table (``network``, ``sparsity``, ``motif``, ``z``), one null model and convention.
    motifs : tuple of str
        The motifs considered.
    significant : float
        The |Z| a network must exceed to count as significant.

    Returns
    -------
    pandas.DataFrame
        One row per level: ``sparsity``, ``n_networks``, ``motifs_defined`` (motifs with a Z in every network),
        ``same_sign`` (of those, with one sign in every network), ``same_sign_significant`` (one sign and
        |Z| > ``significant`` in every network).
    """
    rows = []
    for sparsity, level in z_long[z_long["motif"].isin(motifs)].groupby("sparsity"):
        wide = _wide(level, motifs)
        defined = wide.loc[:, wide.notna().all(axis=0)]
        signs = np.sign(defined.to_numpy())
        same = (signs == signs[:1]).all(axis=0) & (signs[0] != 0) if len(defined) else np.zeros(0, dtype=bool)
        strong = same & (np.abs(defined.to_numpy()) > significant).all(axis=0)
        rows.append(dict(sparsity=sparsity, n_networks=len(wide), motifs_defined=defined.shape[1],
                         same_sign=int(same.sum()), same_sign_significant=int(strong.sum())))
    return pd.DataFrame(rows)
