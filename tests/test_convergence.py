"""Convergence measures: leave-one-out null Z-scores, significance profiles, profile distances."""
import itertools
import math

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


def brute_force_mean_distance(profiles):
    """Mean pairwise distance of rows, each re-normalised to unit length (the oracle for the fast version)."""
    p = profiles / np.linalg.norm(profiles, axis=1, keepdims=True)
    return np.mean([np.linalg.norm(p[i] - p[j]) for i, j in itertools.combinations(range(len(p)), 2)])


def test_significance_profile():
    sp = convergence.significance_profile(np.array([[3.0, 4.0, np.nan], [0.0, 0.0, 0.0]]))
    assert np.allclose(sp[0, :2], [0.6, 0.8]) and np.isnan(sp[0, 2]) and np.isnan(sp[1]).all()


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 10**6), k=st.integers(2, 6), k2=st.integers(1, 6), m=st.integers(2, 5))
def test_permutation_test_matches_brute_force_enumeration(seed, k, k2, m):
    rng = np.random.default_rng(seed)
    real, pseudo = rng.normal(size=(k, m)), rng.normal(size=(k2, m))
    out = convergence.profile_permutation_test(real, pseudo)
    pooled = np.vstack([real, pseudo])
    observed = brute_force_mean_distance(real)
    subsets = list(itertools.combinations(range(k + k2), k))
    below = sum(brute_force_mean_distance(pooled[list(c)]) <= observed + 1e-9 for c in subsets)
    assert out["exact"] and out["n_subsets"] == len(subsets)
    assert out["distance_real"] == pytest.approx(observed)
    assert out["p_value"] == pytest.approx(below / len(subsets))
    if k2 > 1:
        assert out["distance_null"] == pytest.approx(brute_force_mean_distance(pseudo))


def test_permutation_test_detects_a_shared_profile_and_not_noise():
    rng = np.random.default_rng(1)
    shared = np.array([5.0, 3.0, -4.0, 6.0, 2.0])
    real = shared + rng.normal(scale=0.5, size=(8, 5))
    pseudo = rng.normal(size=(8, 5))
    agree = convergence.profile_permutation_test(real, pseudo)
    assert agree["p_value"] == pytest.approx(1 / math.comb(16, 8))   # the real group is the tightest subset
    assert agree["distance_real"] < 0.3 < agree["distance_null"]
    # two groups of pure noise: p is uniform under the null hypothesis
    ps = [convergence.profile_permutation_test(rng.normal(size=(6, 5)), rng.normal(size=(6, 5)))["p_value"]
          for _ in range(200)]
    assert 0.35 < np.mean(ps) < 0.65 and 0.02 < np.mean(np.array(ps) <= 0.1) < 0.2


def test_permutation_test_sampled_when_enumeration_is_too_large():
    rng = np.random.default_rng(2)
    real, pseudo = rng.normal(size=(20, 4)) + 3.0, rng.normal(size=(20, 4))
    out = convergence.profile_permutation_test(real, pseudo, n_permutations=500, seed=4)
    assert not out["exact"] and out["n_subsets"] == 500 and out["p_value"] == pytest.approx(1 / 501)
    assert out == convergence.profile_permutation_test(real, pseudo, n_permutations=500, seed=4)


def test_permutation_test_uses_only_columns_defined_everywhere():
    real = np.array([[1.0, 0.0, np.nan], [1.0, 0.1, 3.0]])
    pseudo = np.array([[0.0, 1.0, 2.0]])
    out = convergence.profile_permutation_test(real, pseudo)
    assert out["motifs_used"] == 2
    assert out["distance_real"] == pytest.approx(brute_force_mean_distance(real[:, :2]))
    assert np.isnan(convergence.profile_permutation_test(real[:1], pseudo)["p_value"])
    with pytest.raises(ValueError, match="same number of columns"):
        convergence.profile_permutation_test(real, pseudo[:, :2])


def test_spread_keeps_every_network_and_counts_the_extreme_ones():
    z = pd.DataFrame(dict(network=[0, 1, 2, 3, 0, 1], sparsity=[0.5] * 4 + [0.9] * 2, motif="a",
                          z=[1.0, 3.0, 2.0, -1300.0, 2.0, np.nan]))
    spread = convergence.spread_by_level(z).set_index("sparsity")
    assert spread.loc[0.5, "n"] == 4 and spread.loc[0.5, "n_extreme"] == 1
    # quartiles of (−1300, 1, 2, 3): the extreme value is in, the median barely moves
    assert spread.loc[0.5, "z_median"] == 1.5 and spread.loc[0.5, "z_q25"] == pytest.approx(-324.25)
    assert spread.loc[0.5, "z_mean"] == pytest.approx(-323.5)
    assert spread.loc[0.9, "n"] == 1 and spread.loc[0.9, "z_median"] == 2.0 and np.isnan(spread.loc[0.9, "z_sd"])
    assert convergence.median_iqr([1.0, 3.0, 2.0, -1300.0]) == "1.5 [-324.2, 2.2], n = 4"
    assert convergence.median_iqr([np.nan]) == "—" and convergence.median_iqr([4.0]) == "4.0, n = 1"
    assert convergence.median_iqr([4.0, 5.0], with_n=False) == "4.5 [4.2, 4.8]"
    assert convergence.mean_sd([1.0, 3.0]) == "2.0 ± 1.4" and convergence.mean_sd([]) == "—"


def test_between_within_test_separates_two_tasks_and_not_one():
    rng = np.random.default_rng(0)
    task_a = np.array([5.0, 1.0, -2.0, 0.5]) + rng.normal(0, 0.3, (6, 4))
    task_b = np.array([-1.0, 4.0, 2.0, -3.0]) + rng.normal(0, 0.3, (4, 4))
    test = convergence.between_within_test(task_a, task_b)
    assert test["n_splits"] == 210 and test["p_value"] == pytest.approx(1 / 210) == test["p_floor"]
    assert test["between"] > max(test["within_first"], test["within_second"]) and test["delta"] > 0
    # one task split in two at random: Δ is not extreme
    same = np.array([5.0, 1.0, -2.0, 0.5]) + rng.normal(0, 0.3, (10, 4))
    assert convergence.between_within_test(same[:6], same[6:])["p_value"] > 0.05
    # brute force: Δ of every split recomputed one by one
    profiles = convergence.significance_profile(np.vstack([task_a, task_b]))
    d = np.linalg.norm(profiles[:, None] - profiles[None], axis=-1)
    def delta(group):
        rest = [i for i in range(10) if i not in group]
        w = [d[i, j] for g in (group, rest) for i in g for j in g if i != j]
        return np.mean([d[i, j] for i in group for j in rest]) - np.mean(w)
    import itertools
    deltas = [delta(list(g)) for g in itertools.combinations(range(10), 6)]
    assert test["delta"] == pytest.approx(deltas[0])
    assert test["p_value"] == pytest.approx(np.mean(np.array(deltas) >= deltas[0] - 1e-12))
    with pytest.raises(ValueError, match="same number of columns"):
        convergence.between_within_test(task_a, task_b[:, :3])
    assert np.isnan(convergence.between_within_test(task_a[:1], task_b)["p_value"])


def test_profile_test_by_level():
    z = pd.DataFrame(dict(network=[0, 1, 0, 1] * 2, sparsity=[0.5, 0.5, 0.9, 0.9] * 2,
                          motif=["a"] * 4 + ["b"] * 4, z=[1.0, 2.0, 1.0, 1.0, 2.0, 4.0, 1.0, -1.0]))
    noise = z.assign(z=[0.3, -1.0, 2.0, 0.1, 1.0, 0.2, -0.5, 0.7])
    out = convergence.profile_test_by_level(z, noise, ("a", "b")).set_index("sparsity")
    assert out.loc[0.5, "distance_real"] == pytest.approx(0.0)
    assert out.loc[0.9, "distance_real"] == pytest.approx(np.sqrt(2))
    assert out.loc[0.5, "n_networks"] == 2 and out["exact"].all()


def test_by_level_helpers_match_their_single_level_versions():
    rows = []
    rng = np.random.default_rng(1)
    for group, centre in (("a", [3.0, -3.0, 1.0]), ("b", [-1.0, 2.5, 1.5])):
        for network in range(3):
            for sparsity in (0.5, 0.9):
                z = np.array(centre) + rng.normal(0, 0.2, 3)
                rows += [dict(group=group, network=network, sparsity=sparsity, motif=m, z=v)
                         for m, v in zip("xyz", z)]
    frame = pd.DataFrame(rows)
    a, b = frame[frame.group == "a"], frame[frame.group == "b"]
    levels = convergence.between_within_by_level(a, b, ("x", "y", "z"))
    assert list(levels.sparsity) == [0.5, 0.9] and (levels.n_first == 3).all()
    one = convergence.between_within_test(a[a.sparsity == 0.5].pivot(index="network", columns="motif", values="z"),
                                          b[b.sparsity == 0.5].pivot(index="network", columns="motif", values="z"))
    assert levels.iloc[0].delta == pytest.approx(one["delta"]) and levels.iloc[0].p_value == one["p_value"]
    agree = convergence.sign_agreement(a, ("x", "y", "z")).set_index("sparsity")
    assert agree.loc[0.5, "same_sign"] == 3 and agree.loc[0.5, "same_sign_significant"] == 2   # z ≈ 1: not beyond 2
    mixed = pd.concat([a, b.assign(network=b.network + 3)])
    assert convergence.sign_agreement(mixed, ("x", "y", "z")).same_sign.tolist() == [1, 1]       # only z agrees
