"""Linear and saturating units (helpers.linearity): the modes on hand-made pre-activations, the affine replacement of
a linear unit changes nothing, the Jacobian against finite differences, and the noise scan's ends."""
import numpy as np
import pytest

from helpers import activity, linearity as L


def network(seed=0, layers=(3, 6, 5, 2)):
    rng = np.random.default_rng(seed)
    return [rng.normal(scale=0.8, size=(a + 1, b)) for a, b in zip(layers[:-1], layers[1:])]


def test_modes_on_hand_made_pre_activations():
    rng = np.random.default_rng(0)
    n = 5000
    z = np.column_stack([np.full(n, 0.3), 6 + rng.normal(size=n), 0.05 * rng.normal(size=n),
                         1.2 * rng.normal(size=n), 0.05 * rng.normal(size=n)])
    modes = L.unit_modes(z, outgoing=np.array([3, 3, 3, 3, 0]))
    assert modes.tolist() == ["dead", "saturating", "linear", "nonlinear", "dead"]
    assert L.affine_r2(z)[2] > 0.999 and L.affine_r2(z)[3] < 0.95


def test_replacing_a_linear_unit_by_its_affine_fit_changes_nothing():
    weights = network()
    weights[0][:, 2] *= 1e-5                           # unit 2 of the first hidden layer stays in tanh's linear part
    x = np.random.default_rng(1).uniform(-0.5, 0.5, (400, 3))
    own = activity.preactivations(weights, x)[-1]
    assert (L.with_affine_units(weights, x, 0, np.zeros(6, dtype=bool)) == own).all()
    replaced = L.with_affine_units(weights, x, 0, np.array([2]))
    np.testing.assert_allclose(replaced, own, rtol=0, atol=1e-13)
    bent = L.with_affine_units(weights, x, 0, np.array([0]))
    assert np.abs(bent - own).max() > 1e-4               # a unit that bends is not affine
    with pytest.raises(ValueError, match="layer"):
        L.with_affine_units(weights, x, 2, np.array([0]))


def test_the_jacobian_norm_matches_finite_differences():
    weights = network(2)
    x = np.random.default_rng(3).uniform(-0.5, 0.5, (5, 3))
    eps = 1e-6
    cols = []
    for i in range(3):
        step = np.zeros(3)
        step[i] = eps
        cols.append((activity.preactivations(weights, x + step)[-1] -
                     activity.preactivations(weights, x - step)[-1]) / (2 * eps))
    numeric = np.sqrt(sum((c ** 2).sum(axis=1) for c in cols))
    np.testing.assert_allclose(L.jacobian_norm(weights, x), numeric, rtol=1e-6)


def test_noise_tolerance_scans_the_levels_up_to_the_first_that_fails():
    weights = network(4)
    x = np.random.default_rng(5).uniform(-0.5, 0.5, (300, 3))
    y = activity.preactivations(weights, x)[-1]
    levels = [0.001, 0.01, 0.1, 1.0]
    assert L.noise_tolerance(weights, x, y, 1e9, levels) == 1.0
    assert L.noise_tolerance(weights, x, y, 1e-30, levels) == 0.0
    mid = L.noise_tolerance(weights, x, y, 1e-4, levels)
    assert mid in levels[:-1]
    assert mid == L.noise_tolerance(weights, x, y, 1e-4, levels)          # seeded
