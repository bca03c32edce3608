"""Non-Gaussianity (helpers.gaussianity): the kurtosis of known distributions, the independent-input prediction
against simulated independent inputs, the cavity kurtoses against brute force, and the cavity test's bookkeeping."""
import numpy as np
import pytest

from helpers import gaussianity as G


def test_excess_kurtosis_of_known_distributions():
    rng = np.random.default_rng(0)
    n = 400_000
    z = np.column_stack([rng.normal(size=n), rng.uniform(-1, 1, n), rng.laplace(size=n), np.full(n, 2.0)])
    k = G.excess_kurtosis(z)
    assert k[:2] == pytest.approx([0.0, -1.2], abs=0.03)
    assert k[2] == pytest.approx(3.0, abs=0.25)             # heavy tails: a slow estimate
    assert np.isnan(k[3])


def test_the_prediction_is_exact_for_independent_inputs():
    """Independent uniform, Laplace, exponential and Gaussian inputs of different scales: the measured kurtosis of
    each unit matches Σ κ_i p_i² to sampling error; a Gaussian-only unit is predicted (and measured) Gaussian."""
    rng = np.random.default_rng(1)
    n = 1_000_000
    h = np.column_stack([rng.uniform(-2, 2, n), 0.5 * rng.laplace(size=n), rng.exponential(1.5, n),
                         3 * rng.normal(size=n)])
    w = np.array([[0.8, 0.0, 0.3], [1.2, 0.0, -0.4], [-0.5, 0.0, 0.0], [0.1, 1.0, 0.2]])
    z = h @ w + 0.7
    predicted = G.predicted_kurtosis(w, h)
    assert G.excess_kurtosis(z) == pytest.approx(predicted, abs=0.05)
    assert predicted[1] == pytest.approx(0.0, abs=0.01)
    # the inputs' dependence breaks it: a unit fed twice by the same heavy-tailed input
    shared = np.column_stack([h[:, 1], h[:, 1]])
    assert abs(G.excess_kurtosis(shared @ np.array([[1.0], [1.0]]))[0] -
               G.predicted_kurtosis(np.array([[1.0], [1.0]]), shared)[0]) > 1


def test_cavity_kurtoses_equal_brute_force():
    rng = np.random.default_rng(2)
    h = rng.laplace(size=(3000, 5)) + rng.normal(size=(3000, 1))          # dependent inputs
    w = rng.normal(size=(5, 4)) * (rng.random((5, 4)) < 0.7)
    z = h @ w - 0.3
    fast = G.cavity_kurtosis(w, h, z)
    for i in range(5):
        for j in range(4):
            if w[i, j] == 0:
                assert np.isnan(fast[i, j])
            else:
                brute = G.excess_kurtosis((z[:, j] - w[i, j] * h[:, i])[:, None])[0]
                assert fast[i, j] == pytest.approx(brute, rel=1e-9, abs=1e-9)


def test_the_cavity_test_compares_the_removed_weights_with_the_smallest_kept_ones():
    rng = np.random.default_rng(3)
    h = rng.laplace(size=(4000, 6))
    w = rng.normal(size=(6, 5))
    z = h @ w
    small = np.abs(w) <= np.quantile(np.abs(w), 0.2)
    out = G.cavity_test(w, h, z, ~small)
    assert out["n"] == int(small.sum())
    delta = np.abs(G.cavity_kurtosis(w, h, z)) - np.abs(G.excess_kurtosis(z))
    assert out["removed"] == pytest.approx(np.mean(delta[small] > 0))
    smallest_kept = np.argsort(np.abs(w[~small]))[:out["n"]]
    assert out["matched"] == pytest.approx(np.mean(delta[~small][smallest_kept] > 0))
    none = G.cavity_test(w, h, z, np.ones_like(w, dtype=bool))
    assert none["n"] == 0 and np.isnan(none["removed"]) and np.isnan(none["matched"])
