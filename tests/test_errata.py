"""Re-enacted defects of the original: B5 labels, B6 repeated rows, B7 factorial overflow."""
import math

import numpy as np
import pandas as pd
import pytest

from helpers import errata, graph, stats


def test_overflow_threshold_is_where_float64_factorials_overflow():
    assert math.isfinite(float(math.factorial(errata.FACTORIAL_OVERFLOW - 1)))
    with pytest.raises(OverflowError):
        float(math.factorial(errata.FACTORIAL_OVERFLOW))


def _two_layer(width, n_sources=1):
    """n_sources (+ bias) → width hidden (+ bias) → 1 output, all connected."""
    return [np.ones((n_sources + 1, width), bool), np.ones((width + 1, 1), bool)]


def test_biparallel_overflow_drops_wide_pairs_only():
    narrow = errata.biparallel_with_overflow(_two_layer(170))
    assert narrow == dict(exact=2 * math.comb(170, 2), with_b7=2 * math.comb(170, 2), dropped_pairs=0, pairs=2,
                          max_paths=170)
    wide = errata.biparallel_with_overflow(_two_layer(171, n_sources=2))
    assert wide == dict(exact=3 * math.comb(171, 2), with_b7=0, dropped_pairs=3, pairs=3, max_paths=171)


def test_biparallel_exact_matches_brute_force():
    rng = np.random.default_rng(1)
    masks = [rng.random((4, 5)) < 0.6, rng.random((6, 3)) < 0.6, rng.random((4, 2)) < 0.6]
    brute = 0
    for i in range(len(masks) - 1):
        up, low = masks[i], masks[i + 1][:-1]
        for a in range(up.shape[0]):
            for c in range(low.shape[1]):
                mids = [b for b in range(up.shape[1]) if up[a, b] and low[b, c]]
                brute += math.comb(len(mids), 2)
    assert errata.biparallel_with_overflow(masks)["exact"] == brute


def test_released_layout_is_the_b5_permutation():
    table = pd.DataFrame({"diverging3": [1.0], "converging3": [2.0], "chain3": [3.0]})
    released = errata.released_layout(table)
    assert released["3rd-order chain"].item() == 1.0
    assert released["3rd-order diverging"].item() == 2.0
    assert released["3rd-order converging"].item() == 3.0


def test_repeated_rows_understate_the_standard_error():
    values = np.random.default_rng(0).normal(10, 3, size=400)
    out = errata.repeated_rows_spread(values, n_rows=350, n_distinct=20, seed=1)
    assert out["claimed_sem"] < out["true_sem_of_table"]
    assert out["claimed_sem"] == pytest.approx(out["table_sd"] / np.sqrt(350))
    with pytest.raises(ValueError, match="n_distinct"):
        errata.repeated_rows_spread(values[:5], n_rows=10, n_distinct=20)


def test_biparallel_z_exact_is_the_census_z_and_b7_leaves_a_sparse_network_alone():
    masks = graph.synthetic_pruned(sizes=(6, 40, 40, 5), sparsity=0.8, seed=3)
    out = errata.biparallel_z_with_overflow(masks, n_null=30, seed=7)
    expected = stats.zscores(masks, n_null=30, null="paper", convention="paper", seed=7).loc["biparallel", "z"]
    assert out["z_exact"] == pytest.approx(expected, rel=1e-12)
    assert out["max_paths"] < errata.FACTORIAL_OVERFLOW
    assert out["dropped_real"] == out["dropped_null"] == 0 and out["z_b7"] == out["z_exact"]


def test_biparallel_z_with_overflow_drops_wide_pairs_in_real_and_null_networks():
    masks = graph.synthetic_pruned(sizes=(4, 350, 4), sparsity=0.3, seed=0)   # about 171 paths per pair
    out = errata.biparallel_z_with_overflow(masks, n_null=20, seed=1)
    assert out["max_paths"] >= errata.FACTORIAL_OVERFLOW
    assert out["dropped_real"] > 0 and out["dropped_null"] > 0
    assert np.isfinite(out["z_exact"]) and out["z_b7"] != pytest.approx(out["z_exact"])
