"""Convergence measures: leave-one-out null Z-scores, significance profiles, profile distances."""
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings, strategies as st
from hypothesis.extra.numpy import arrays

from helpers import convergence


@settings(max_examples=40, deadline=None)
@given(arrays(np.int64, st.tuples(st.integers(3, 12), st.integers(1, 5)), elements=st.integers(0, 10**6)))
def test_leave_one_out_z_matches_brute_force(counts):
    z = convergence.leave_one_out_z(counts)
    for k in range(counts.shape[0]):
        rest = np.delete(counts, k, axis=0).astype(float)
        sd = rest.std(axis=0, ddof=1)
        for j in range(counts.shape[1]):
            if sd[j] == 0:
                assert np.isnan(z[k, j])
            else:
                assert z[k, j] == pytest.approx((counts[k, j] - rest[:, j].mean()) / sd[j], rel=1e-6, abs=1e-6)


def test_leave_one_out_z_of_pure_noise_has_unit_spread():
    rng = np.random.default_rng(0)
    z = convergence.leave_one_out_z(rng.normal(100, 5, size=(2000, 3)))
    assert np.allclose(z.std(axis=0), 1.0, atol=0.05)


def test_leave_one_out_z_rejects_too_few_samples():
    with pytest.raises(ValueError, match="null_counts"):
        convergence.leave_one_out_z(np.ones((2, 3)))


def test_significance_profile_and_distances():
    sp = convergence.significance_profile(np.array([[3.0, 4.0, np.nan], [0.0, 0.0, 0.0]]))
    assert np.allclose(sp[0, :2], [0.6, 0.8]) and np.isnan(sp[0, 2]) and np.isnan(sp[1]).all()
    assert convergence.mean_pairwise_distance(np.array([[1.0, 2.0], [2.0, 4.0]])) == pytest.approx(0.0)
    assert convergence.mean_pairwise_distance(np.array([[1.0, 0.0], [0.0, 1.0]])) == pytest.approx(np.sqrt(2))
    # a column missing in one network is ignored for all
    assert convergence.mean_pairwise_distance(np.array([[1.0, 0.0, 5.0], [1.0, 0.0, np.nan]])) == pytest.approx(0)
    assert np.isnan(convergence.mean_pairwise_distance(np.ones((1, 3))))


def test_tables_by_level():
    z = pd.DataFrame(dict(network=[0, 1, 0, 1], sparsity=[0.5, 0.5, 0.9, 0.9], motif=["a", "a", "a", "a"],
                          z=[1.0, 3.0, 2.0, np.nan]))
    spread = convergence.spread_by_level(z)
    assert spread.loc[spread.sparsity == 0.5, "z_sd"].item() == pytest.approx(np.sqrt(2))
    assert spread.loc[spread.sparsity == 0.9, "n"].item() == 1
    both = pd.concat([z.assign(motif="a"), z.assign(motif="b", z=[2.0, 6.0, 1.0, 1.0])])
    dist = convergence.profile_distance_by_level(both, ("a", "b"))
    assert dist.loc[dist.sparsity == 0.5, "distance"].item() == pytest.approx(0.0)
