"""Re-enactments of the original study's defects that are not simply an option of another helper.

B1/B2 are the ``paper`` convention of :mod:`helpers.motifs`, B3 the ``original`` bias pruning and B4 the
training-slice loss of :mod:`helpers.run`. This module adds what those cannot express: the mislabelled
columns of the released tables (B5), re-analysing the same networks many times (B6), and the factorial
overflow of the early bi-parallel formula (B7), on one network's count and on its Z-score against its nulls.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from helpers import graph, nulls

#: B5: the label each true motif column carried in the original's released per-sparsity tables.
RELEASED_LABEL = {
    "diverging2": "2nd-order diverging", "converging2": "2nd-order converging", "chain2": "2nd-order chain",
    "diverging3": "3rd-order chain", "converging3": "3rd-order diverging", "chain3": "3rd-order converging",
    "bifan": "bi-fan", "biparallel": "bi-parallel",
}

#: B5: the label each true motif column should have carried, in the released tables' own naming.
CORRECT_LABEL = {
    "diverging2": "2nd-order diverging", "converging2": "2nd-order converging", "chain2": "2nd-order chain",
    "diverging3": "3rd-order diverging", "converging3": "3rd-order converging", "chain3": "3rd-order chain",
    "bifan": "bi-fan", "biparallel": "bi-parallel",
}

#: B7: the smallest path count whose factorial overflows float64 (170! ≈ 7.3e306 is the largest finite one).
FACTORIAL_OVERFLOW = 171


def released_layout(z_wide: pd.DataFrame) -> pd.DataFrame:
    """Rename correctly labelled motif columns to the labels the original's released tables gave them (B5).

    Parameters
    ----------
    z_wide : pandas.DataFrame
        A table with one column per motif, named as in :data:`helpers.motifs.MOTIFS` (e.g. Z-scores, networks as
        rows); columns not in :data:`RELEASED_LABEL` are kept as they are.

    Returns
    -------
    pandas.DataFrame
        A copy of ``z_wide`` whose motif columns carry the released labels of :data:`RELEASED_LABEL`
        (e.g. ``diverging3`` → ``"3rd-order chain"``); the values are unchanged.
    """
    return z_wide.rename(columns=RELEASED_LABEL)


def biparallel_with_overflow(masks: Sequence[np.ndarray]) -> dict[str, int]:
    """Bi-parallel count as the early original computed it (B7) next to the exact count.

    The early formula evaluated C(P, 2) = P! / (2! (P−2)!) in float64; for P ≥ 171 (:data:`FACTORIAL_OVERFLOW`)
    the factorials overflow to inf, inf/inf is NaN, and a NaN-ignoring sum dropped those node pairs. P is the
    number of a → b → c paths between a node a and a node c two layers further on (the bias of layer i may be a,
    never b).

    Parameters
    ----------
    masks : sequence of ndarray, bool or 0/1 (n_i + 1, n_{i+1})
        The network in the exchange layout (:mod:`helpers.graph`, bias row last), as it is: neither validated
        nor cleaned.

    Returns
    -------
    dict of str to int
        ``exact`` (the exact bi-parallel count Σ C(P, 2)), ``with_b7`` (the sum without the overflowing pairs),
        ``dropped_pairs`` (pairs with P ≥ 171), ``pairs`` (all node pairs (a, c) two layers apart, bias sources
        included) and ``max_paths`` (the largest P of any pair); all 0 for a network of one layer of weights.
    """
    exact = with_b7 = dropped = n_pairs = max_paths = 0
    for upper, lower in zip(masks[:-1], masks[1:]):
        # P[a, c]: a → b → c paths. A float64 product is exact here (entries ≤ the layer width, far below 2**53)
        # and uses BLAS, which an int64 product does not.
        paths = (np.asarray(upper, np.float64) @ np.asarray(lower[:-1], np.float64)).astype(np.int64)
        pairs = paths * (paths - 1) // 2
        overflow = paths >= FACTORIAL_OVERFLOW
        exact += int(pairs.sum())
        with_b7 += int(pairs[~overflow].sum())
        dropped += int(overflow.sum())
        n_pairs += paths.size
        max_paths = max(max_paths, int(paths.max(initial=0)))
    return dict(exact=exact, with_b7=with_b7, dropped_pairs=dropped, pairs=n_pairs, max_paths=max_paths)


def _z(real: float, null: np.ndarray) -> float:
    sd = null.std(ddof=1)
    return float((real - null.mean()) / sd) if sd > 0 else float("nan")


def biparallel_z_with_overflow(masks: Sequence[np.ndarray], n_null: int, seed: int = 0, model: str = "paper",
                               outputs: str = "live") -> dict[str, float]:
    """B7 on a Z-score: the bi-parallel Z of one network against its nulls, exact and with every count (the real
    network's and each null's) computed as the early formula did (:func:`biparallel_with_overflow`).

    The real network is cleaned first; the nulls are those of :func:`helpers.nulls.sample_null` for these
    arguments (the census's, for the census's seed). Z as :func:`helpers.stats.table` computes it (sample sd,
    NaN where sd = 0).

    Parameters
    ----------
    masks : sequence of ndarray, bool or 0/1 (n_i + 1, n_{i+1})
        The real network in the exchange layout (:mod:`helpers.graph`, bias row last).
    n_null : int
        Number of null networks, ≥ 1 (the sample sd, and so a defined Z, needs at least 2).
    seed : int
        Seed of the null sample, in [0, 2**32) (the census uses :func:`helpers.stats.derive_seed`).
    model : {"paper", "degree"}
        The null model (:data:`helpers.nulls.MODELS`).
    outputs : {"live", "all"}
        Which output neurons a null may wire (:data:`helpers.nulls.OUTPUT_RULES`).

    Returns
    -------
    dict
        ``z_exact`` and ``z_b7`` (float, the Z of the exact counts and of the counts with B7; NaN where the
        nulls' sd is 0), ``dropped_real`` and ``dropped_null`` (int, pairs dropped in the real network and in all
        nulls together) and ``max_paths`` (int, the largest path count of any pair in the real network or its
        nulls).

    Raises
    ------
    ValueError
        From :func:`helpers.graph.clean` for masks not in the exchange layout, and from
        :func:`helpers.nulls.sample_null` for a bad ``n_null``, ``model``, ``seed`` or ``outputs``.
    """
    cleaned = graph.clean(masks)
    real = biparallel_with_overflow(cleaned)
    null = [biparallel_with_overflow(m) for m in nulls.sample_null(cleaned, n_null, model, seed, outputs=outputs)]
    exact = np.array([n["exact"] for n in null], dtype=np.float64)
    b7 = np.array([n["with_b7"] for n in null], dtype=np.float64)
    return dict(z_exact=_z(real["exact"], exact), z_b7=_z(real["with_b7"], b7),
                dropped_real=real["dropped_pairs"], dropped_null=int(sum(n["dropped_pairs"] for n in null)),
                max_paths=max([real["max_paths"]] + [n["max_paths"] for n in null]))


def repeated_rows_spread(values: np.ndarray, n_rows: int, n_distinct: int, seed: int = 0) -> dict[str, float]:
    """B6: what a table of ``n_rows`` rows that re-analyses only ``n_distinct`` networks reports.

    The rows cycle over a random subset of ``n_distinct`` networks, as the original's index slip did.

    Parameters
    ----------
    values : array_like, float (E,)
        One statistic per genuinely distinct network (e.g. a motif's Z-score), E ≥ n_distinct.
    n_rows : int
        Rows of the repeated table, ≥ ``n_distinct``.
    n_distinct : int
        Distinct networks the table re-analyses, in [2, E].
    seed : int
        Seed of the random subset (:func:`numpy.random.default_rng`).

    Returns
    -------
    dict of str to float
        The honest mean/sd over all E networks (``honest_mean``, ``honest_sd``, ddof = 1) and their standard
        error of the mean (``honest_sem`` = sd / √E); the mean/sd the repeated table shows (``table_mean``,
        ``table_sd``) and the standard error it claims (``claimed_sem`` = table_sd / √n_rows); and the true
        standard error of the table's mean (``true_sem_of_table``, the sd of the distinct subset / √n_distinct).

    Raises
    ------
    ValueError
        If ``n_distinct`` is not in [2, E] or ``n_rows`` < ``n_distinct``.
    """
    values = np.asarray(values, dtype=np.float64)
    if not 2 <= n_distinct <= len(values):
        raise ValueError(f"n_distinct = {n_distinct} must be in [2, {len(values)}] (networks available)")
    if n_rows < n_distinct:
        raise ValueError(f"n_rows = {n_rows} must be at least n_distinct = {n_distinct}")
    subset = np.random.default_rng(seed).choice(len(values), size=n_distinct, replace=False)
    rows = values[subset[np.arange(n_rows) % n_distinct]]
    return dict(honest_mean=values.mean(), honest_sd=values.std(ddof=1),
                honest_sem=values.std(ddof=1) / np.sqrt(len(values)),
                table_mean=rows.mean(), table_sd=rows.std(ddof=1),
                claimed_sem=rows.std(ddof=1) / np.sqrt(n_rows),
                true_sem_of_table=values[subset].std(ddof=1) / np.sqrt(n_distinct))
