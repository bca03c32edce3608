"""The survey of one network state (helpers.survey): its records add up, and the split of a round's change of
non-Gaussianity into the prune and the retraining."""
import numpy as np
import pytest

from helpers import activity, linearity, survey

LAYERS = (10, 12, 9, 7)


def network(seed, density=0.6):
    rng = np.random.default_rng(seed)
    return [rng.normal(scale=0.9, size=(a + 1, b)) * (rng.random((a + 1, b)) < density)
            for a, b in zip(LAYERS[:-1], LAYERS[1:])]


@pytest.fixture(scope="module")
def rows():
    rng = np.random.default_rng(0)
    x = rng.uniform(-0.5, 0.5, (600, 10))
    return x, activity.preactivations(network(9, 1.0), x)[-1]


def test_a_survey_adds_up(rows):
    x, y = rows
    weights = network(1)
    nxt = [(w != 0) & (np.abs(w) > 0.3) for w in weights]
    out = survey.survey(weights, nxt, x, y, threshold=1.0, n_null=4, seed=0, noise_levels=[0.01, 0.1],
                        noise_rows=200)
    assert out["state"]["loss"] == pytest.approx(linearity.loss(activity.preactivations(weights, x)[-1], y))
    assert out["state"]["fan_in_binomial"].shape == (4,) and out["state"]["fan_in_out_degree"].shape == (4,)
    assert out["inputs"]["kept"].tolist() == (weights[0][:-1] != 0).sum(axis=1).tolist()
    assert [r["layer"] for r in out["layers"]] == [0, 1]
    for r, width in zip(out["layers"], LAYERS[1:-1]):
        assert sum(r[m] for m in linearity.MODES) == width
        assert r["n_removed"] > 0 and 0 <= r["removed"] <= 1 and 0 <= r["matched"] <= 1
        if r["linear"] == 0:
            assert r["affine_loss"] == pytest.approx(out["state"]["loss"])
    last = survey.survey(weights, None, x, y, 1.0, 2, 0, [0.01], 100)
    assert all(np.isnan(r["removed"]) and r["n_removed"] == 0 for r in last["layers"])
    again = survey.survey(weights, nxt, x, y, 1.0, 4, 0, [0.01, 0.1], 200)
    np.testing.assert_array_equal(again["state"]["fan_in_binomial"], out["state"]["fan_in_binomial"])


def test_the_split_of_a_round_separates_the_prune_from_the_retraining(rows):
    x, _ = rows
    before = network(2)
    masks = [(w != 0) & (np.abs(w) > 0.4) for w in before]
    pruned = [np.where(m, w, 0) for w, m in zip(before, masks)]
    split = survey.pruning_and_retraining(before, pruned, masks, x)   # nothing retrained: after == pruned
    assert [r["layer"] for r in split] == [0, 1]
    for r in split:
        assert r["after"] == r["pruned"] and r["before"] != r["pruned"]
