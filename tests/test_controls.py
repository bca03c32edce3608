"""Control ensembles (helpers.controls): the untrained networks are their initial weights pruned by magnitude, the
randomly pruned ones keep their trained network's per-layer counts at uniformly random places."""
import numpy as np
import pytest
from scipy import stats

from helpers import controls, ensemble, pruning, snapshot

LAYERS = (10, 40, 40, 40, 16, 7)            # the architecture's shape, narrower, so that each test is quick
SCHEDULE = (0.15, 0.25, 0.35, 0.45, 0.55, 0.65, 0.75, 0.85, 0.90, 0.93)


@pytest.fixture(scope="module")
def reference():
    """The shipped reference ensemble's first two networks."""
    return snapshot.load("reference").select([0, 1])


def test_untrained_masks_keep_the_largest_initial_weights_of_every_layer():
    states = controls.untrained_masks(7, SCHEDULE, len(SCHEDULE) + 1, layers=LAYERS)
    init = ensemble.init_ensemble([7], layers=LAYERS)
    weights = [w[0].numpy() for w in init.weights]
    assert len(states) == len(SCHEDULE) + 1
    assert all(m.all() for m in states[0])                          # the dense state keeps everything
    for s, target in enumerate(SCHEDULE, start=1):
        for i, (m, w) in enumerate(zip(states[s], weights)):
            kept, cut = np.abs(w)[m[:-1]], np.abs(w)[~m[:-1]]
            assert kept.min() >= cut.max(), (s, i)                  # magnitude: every kept weight beats every cut one
            assert abs(cut.size / w.size - target) < 1.5 / w.size + 1e-9, (s, i)
            assert not (m & ~states[s - 1][i]).any()                 # nested: nothing comes back
            assert not m[-1].any()                                  # initial biases are 0: the first prune cuts them


def test_untrained_masks_follow_the_pruning_rule_step_by_step():
    states = controls.untrained_masks(3, SCHEDULE[:3], 4, layers=LAYERS)
    init = ensemble.init_ensemble([3], layers=LAYERS)
    w = [t[0].numpy() for t in init.weights]
    b = [t[0, 0].numpy() for t in init.biases]
    wm, bm = [np.ones(x.shape, bool) for x in w], [np.ones(x.shape, bool) for x in b]
    for s, target in enumerate(SCHEDULE[:3], start=1):
        wm, bm = pruning.prune_network(w, b, wm, bm, target, "original")
        expected = [pruning.exchange_layout(a, c) for a, c in zip(wm, bm)]
        assert all(np.array_equal(x, y) for x, y in zip(states[s], expected))


def test_random_masks_keep_each_layers_counts_and_are_seeded():
    rng = np.random.default_rng(0)
    trained = [rng.random((a + 1, b)) < p for (a, b), p in zip(zip(LAYERS[:-1], LAYERS[1:]), (0.1, 0.3, 0.5, 0.2, 0.9))]
    one, again, other = (controls.random_masks(trained, seed) for seed in (5, 5, 6))
    for t, m, n, o in zip(trained, one, again, other):
        assert m.shape == t.shape and m.dtype == bool
        assert m[:-1].sum() == t[:-1].sum() and m[-1].sum() == t[-1].sum()
        assert np.array_equal(m, n)
    assert any(not np.array_equal(m, o) for m, o in zip(one, other))


def test_random_masks_place_edges_uniformly():
    trained = [np.zeros((5, 6), bool)]
    trained[0][:2, :3] = True                                       # 6 of 24 weights, in one corner; no bias
    hits = sum(controls.random_masks(trained, seed)[0][:-1].astype(int) for seed in range(2000))
    assert hits.sum() == 6 * 2000
    assert stats.chisquare(hits.ravel()).pvalue > 1e-3               # every position equally likely
    assert hits[:2, :3].sum() < 0.4 * hits.sum()                    # not the trained corner


def test_control_keeps_the_trained_networks_states_and_counts(reference):
    random = controls.control(reference, "random-pruning")
    assert random.n_networks == reference.n_networks and random.n_states == reference.n_states
    assert np.array_equal(random.val_loss, reference.val_loss)
    assert np.array_equal(random.optimum, reference.optimum)
    for k in range(reference.n_networks):
        for s in (0, int(reference.optimum[k]), reference.n_states - 1):
            for m, t in zip(random.masks(k, s), reference.masks(k, s)):
                assert m[:-1].sum() == t[:-1].sum() and m[-1].sum() == t[-1].sum()


def test_untrained_control_prunes_to_the_trained_networks_weight_counts(reference):
    untrained = controls.control(reference.select([0]), "untrained")
    for s in range(reference.n_states):
        for m, t in zip(untrained.masks(0, s), reference.masks(0, s)):
            assert m[:-1].sum() == t[:-1].sum()                      # the same rule keeps the same number per layer


def test_control_refuses_an_unknown_kind(reference):
    with pytest.raises(ValueError, match="kind"):
        controls.control(reference, "shuffled")
