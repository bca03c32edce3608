"""Input selectivity (helpers.selectivity): the effective fan-in on hand-made weights, kept edges per input and the
binomial test, and the two nulls keep what they promise."""
import numpy as np
import pytest

from helpers import selectivity as Sel


def test_effective_fan_in_on_hand_made_weights():
    std = np.array([1.0, 2.0, 1.0, 0.5])
    w = np.zeros((5, 5))                         # 4 inputs + a bias row, 5 units
    w[2, 0] = 0.3                                # one input: 1
    w[0, 1], w[1, 1], w[2, 1], w[3, 1] = 1.0, 0.5, 1.0, 2.0   # σ·w equal for all four: 4
    w[0, 2], w[2, 2] = np.sqrt(3), 1.0           # variance shares 3:1 → 1 / (0.75² + 0.25²)
    w[:, 3] = 0                                  # no input
    w[4, :] = 7.0                                # biases do not count
    w[0, 4], w[1, 4] = 1.0, 1e-9                 # one input in effect
    fan = Sel.effective_fan_in(w, std)
    assert fan[[0, 1, 2, 4]] == pytest.approx([1.0, 4.0, 1 / (0.75 ** 2 + 0.25 ** 2), 1.0])
    assert np.isnan(fan[3])


def test_kept_edges_per_input_and_the_binomial_test():
    mask = np.zeros((4, 100), dtype=bool)
    mask[0, :50] = mask[1, :4] = mask[2, :0] = True
    mask[3, :] = True                              # the bias row is not counted
    kept = Sel.kept_per_input(mask)
    assert kept.tolist() == [50, 4, 0]
    expected, p = Sel.binomial_test(kept, 100)
    assert expected == pytest.approx([18.0] * 3)
    assert (p < 1e-3).all()
    _, p_even = Sel.binomial_test(np.array([20, 21, 19]), 100)       # 20 expected
    assert (p_even > 0.5).all()


@pytest.mark.parametrize("model", Sel.NULLS)
def test_the_nulls_keep_what_they_promise(model):
    rng = np.random.default_rng(0)
    w = rng.normal(size=(10, 40)) * (rng.random((10, 40)) < np.linspace(0.05, 0.6, 10)[:, None])
    null = Sel.null_layer(w, model, np.random.default_rng(1))
    assert np.sort(null[null != 0]) == pytest.approx(np.sort(w[w != 0]))
    if model == "out-degree":
        for i in range(10):
            assert np.sort(null[i][null[i] != 0]) == pytest.approx(np.sort(w[i][w[i] != 0]))
    assert (null != w).any()
    fans = Sel.null_fan_in(w, np.ones(10), model, 3, seed=2)
    assert fans.shape == (3, 40)
    np.testing.assert_array_equal(fans, Sel.null_fan_in(w, np.ones(10), model, 3, seed=2))


def test_bad_input_is_refused_naming_the_parameter():
    with pytest.raises(ValueError, match="model"):
        Sel.null_fan_in(np.ones((3, 3)), np.ones(3), "uniform", 2, 0)
    with pytest.raises(ValueError, match="n_samples"):
        Sel.null_fan_in(np.ones((3, 3)), np.ones(3), "binomial", 0, 0)


def test_empirical_p_counts_the_null_at_or_below():
    assert Sel.empirical_p(1.0, [0.5, 1.0, 2.0, 3.0]) == pytest.approx(3 / 5)
    assert Sel.empirical_p(0.0, [1.0] * 99) == pytest.approx(0.01)
