"""Re-enactments of the original study's defects that are not simply an option of another helper.

B1/B2 are the ``paper`` convention of :mod:`helpers.motifs`, B3 the ``original`` bias pruning and B4 the
training-slice loss of :mod:`helpers.pruning`. This module adds what those cannot express: the mislabelled
columns of the released tables (B5), re-analysing the same networks many times (B6), and the factorial
overflow of the early bi-parallel formula (B7).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

#: B5: the label each true motif column carried in the original's released per-sparsity tables.
RELEASED_LABEL = {
    "diverging2": "2nd-order diverging", "converging2": "2nd-order converging", "chain2": "2nd-order chain",
    "diverging3": "3rd-order chain", "converging3": "3rd-order diverging", "chain3": "3rd-order converging",
    "bifan": "bi-fan", "biparallel": "bi-parallel",
}

#: B7: the smallest path count whose factorial overflows float64 (170! ≈ 7.3e306 is the largest finite one).
FACTORIAL_OVERFLOW = 171


def released_layout(z_wide: pd.DataFrame) -> pd.DataFrame:
    """Rename correctly labelled motif columns to the labels the original's released tables gave them (B5)."""
    return z_wide.rename(columns=RELEASED_LABEL)


def biparallel_with_overflow(masks: list[np.ndarray]) -> dict[str, int]:
    """Bi-parallel count as the early original computed it (B7) next to the exact count.

    The early formula evaluated C(P, 2) = P! / (2! (P−2)!) in float64; for P ≥ 171 the factorials overflow to
    inf, inf/inf is NaN, and a NaN-ignoring sum dropped those node pairs. masks: exchange layout (SPEC §5).
    Returns ``exact``, ``with_b7`` (the sum without the overflowing pairs) and ``dropped_pairs``.
    """
    exact = with_b7 = dropped = 0
    for upper, lower in zip(masks[:-1], masks[1:]):
        paths = upper.astype(np.int64) @ lower[:-1].astype(np.int64)   # P[a, c]: a → b → c paths
        pairs = paths * (paths - 1) // 2
        overflow = paths >= FACTORIAL_OVERFLOW
        exact += int(pairs.sum())
        with_b7 += int(pairs[~overflow].sum())
        dropped += int(overflow.sum())
    return dict(exact=exact, with_b7=with_b7, dropped_pairs=dropped)


def repeated_rows_spread(values: np.ndarray, n_rows: int, n_distinct: int, seed: int = 0) -> dict[str, float]:
    """B6: what a table of ``n_rows`` rows that re-analyses only ``n_distinct`` networks reports.

    values: (E,) one statistic per genuinely distinct network (E ≥ n_distinct). The rows cycle over a random
    subset of ``n_distinct`` networks, as the original's index slip did. Returns the honest mean/sd over all E
    networks, the mean/sd the repeated table shows, and the standard error of the mean each one claims.
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
