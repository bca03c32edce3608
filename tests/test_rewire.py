"""The rewire-and-retrain design (helpers.rewire): its conditions, the masks each wiring draws (degrees kept, or
each layer's live nodes and edge counts kept), the starting weights, and bad input refused before any work."""
import numpy as np
import pytest
import torch

from helpers import ensemble as E, graph, rewire, snapshot as S

torch.set_num_threads(1)


@pytest.fixture(scope="module")
def ref():
    return S.load("reference").select(range(2))


def degrees(masks):
    """Per layer, the out-degrees of the source rows (bias row last) and the in-degrees of the targets."""
    return [(m.sum(axis=1), m.sum(axis=0)) for m in masks]


def live_and_counts(masks):
    return graph.live_counts(masks), [(int(m[:-1].sum()), int(m[-1].sum())) for m in masks]


def test_the_design_has_every_condition_once_and_one_draw_of_each_first():
    conditions = rewire.design(2)
    assert len(conditions) == len(set(conditions)) == 11
    assert [(c.start, c.wiring) for c in conditions[:7]] == [
        ("dense", "own"), ("dense", "degree"), ("dense", "layer"), ("init", "own"), ("init", "reinit"),
        ("init", "degree"), ("init", "layer")]
    assert {c.draw for c in conditions[7:]} == {1}
    assert len(rewire.design(1)) == 7


@pytest.mark.parametrize("kwargs, name", [(dict(start="sparse", wiring="own"), "start"),
                                          (dict(start="init", wiring="random"), "wiring"),
                                          (dict(start="dense", wiring="reinit"), "wiring"),
                                          (dict(start="init", wiring="own", draw=-1), "draw")])
def test_a_bad_condition_is_refused_naming_the_parameter(kwargs, name):
    with pytest.raises(ValueError, match=name):
        rewire.Condition(**kwargs)


def test_each_wiring_keeps_what_it_promises(ref):
    k = 0
    own = graph.clean(ref.masks(k, int(ref.optimum[k])))
    for draw in range(2):
        seed = rewire.condition_seed(int(ref.seeds[k]), rewire.Condition("dense", "degree", draw))
        deg = rewire.wiring_mask(ref.masks(k, int(ref.optimum[k])), "degree", seed)
        for (out_a, in_a), (out_b, in_b) in zip(degrees(deg), degrees(own)):
            assert (out_a == out_b).all() and (in_a == in_b).all()
        assert any((a != b).any() for a, b in zip(deg, own))
        seed = rewire.condition_seed(int(ref.seeds[k]), rewire.Condition("dense", "layer", draw))
        lay = rewire.wiring_mask(ref.masks(k, int(ref.optimum[k])), "layer", seed)
        assert live_and_counts(lay) == live_and_counts(own)
        assert any((a != b).any() for a, b in zip(lay, own))
    same = rewire.wiring_mask(ref.masks(k, int(ref.optimum[k])), "own", 0)
    assert all((a == b).all() for a, b in zip(same, own))


def test_draws_and_networks_have_distinct_seeds_shared_by_both_starts(ref):
    """Draw d of a wiring is the same mask from either start (the start is then all that differs), and differs
    between draws, wirings and networks."""
    cells = {(c.wiring, c.draw) for c in rewire.design(3)}
    seeds = {rewire.condition_seed(int(s), rewire.Condition("init", w, d)) for s in ref.seeds for w, d in cells}
    assert len(seeds) == len(ref.seeds) * len(cells)
    assert not seeds & {int(s) for s in ref.seeds}
    dense, init = (rewire.condition_seed(int(ref.seeds[0]), rewire.Condition(start, "layer", 1))
                   for start in ("dense", "init"))
    assert dense == init


def test_starting_points_are_the_dense_or_initial_weights_under_the_mask(ref):
    k = 1
    masks, weights, seed = rewire.starting_point(ref, k, rewire.Condition("dense", "own"))
    dense = ref.weights(k, 0)
    for m, w, d in zip(masks, weights, dense):
        assert (w[m] == d[m]).all() and (w[~m] == 0).all()
    assert seed == int(ref.seeds[k])
    masks, weights, seed = rewire.starting_point(ref, k, rewire.Condition("init", "degree"))
    init = E.init_ensemble([int(ref.seeds[k])])
    assert (weights[0][:-1][masks[0][:-1]] == init.weights[0][0].numpy()[masks[0][:-1]]).all()
    assert (weights[0][-1] == 0).all()                         # initial biases are 0
    _, fresh, seed = rewire.starting_point(ref, k, rewire.Condition("init", "reinit"))
    assert seed != int(ref.seeds[k]) and not np.array_equal(fresh[1], np.where(masks[1], 0, 0))


def test_training_keeps_the_mask_and_lowers_the_loss(ref):
    rng = np.random.default_rng(0)
    x = rng.uniform(-0.5, 0.5, (128 * 200, 10)).astype(np.float32)
    ens = ref.ensemble([0], [0])
    y = E.predict(ens, x)[0]                                   # the dense network's own outputs: a learnable target
    data = dict(x_train=x, y_train=y, x_val=x[:2048], y_val=y[:2048], x_test=x[:2048], y_test=y[:2048])
    out = rewire.train_condition(ref, [0, 1], rewire.Condition("dense", "own"), data, 200, eval_every=100,
                                 n_curve=1024)
    assert out["curve_val"].shape == (2, 200) and out["eval_batches"].tolist() == [0, 100, 200]
    assert out["val_loss"][0] < out["start_loss"][0]
    for masks, weights in zip(out["masks"], out["weights"]):
        assert all((w[~m] == 0).all() for w, m in zip(weights, masks))


@pytest.mark.parametrize("kwargs, name", [(dict(budget=0), "budget"), (dict(eval_every=150), "eval_every"),
                                          (dict(networks=[]), "networks"), (dict(n_curve=0), "n_curve")])
def test_bad_training_arguments_are_refused_before_any_work(ref, kwargs, name):
    args = dict(networks=[0], budget=10, eval_every=100, n_curve=10) | kwargs
    with pytest.raises(ValueError, match=name):
        rewire.train_condition(ref, args.pop("networks"), rewire.Condition("dense", "own"), {}, **args)


def test_a_network_without_an_optimum_is_refused_naming_it(ref):
    strict = ref.with_threshold(1e-12)                         # no state meets it
    with pytest.raises(ValueError, match="network 0 has no optimally sparse state"):
        rewire.train_condition(strict, [0], rewire.Condition("dense", "own"), {}, 10)


def test_an_exported_experiment_is_a_snapshot_whose_networks_are_the_runs(tmp_path):
    import json

    ref = S.load("reference")
    rng = np.random.default_rng(1)
    x = rng.uniform(-0.5, 0.5, (128 * 120, 10)).astype(np.float32)
    y = rng.uniform(-0.5, 0.5, (128 * 120, 7)).astype(np.float32)
    data = dict(x_train=x, y_train=y, x_val=x[:1024], y_val=y[:1024], x_test=x[:1024], y_test=y[:1024])
    networks = [0, 1]
    conditions = rewire.design(1)
    outs = []
    for j, c in enumerate(conditions):
        budget = 100 if c.start == "dense" else 200
        out = rewire.train_condition(ref, networks, c, data, budget, eval_every=100, n_curve=512, n_eval=1024)
        rewire._save_condition(tmp_path / f"condition-{j:02d}.npz", c, out, networks, budget)
        outs.append(out)
    (tmp_path / S.TRAINING).write_text(json.dumps(dict(settings=dict(source="reference", draws=1))))
    snap = S.load(rewire.export(tmp_path, tmp_path / "out"))
    assert snap.n_networks == len(conditions) * 2 and snap.n_states == 1
    runs = snap.runs
    assert runs.wiring.tolist()[:4] == ["own", "own", "degree", "degree"] and runs.network.tolist()[:2] == [0, 1]
    for i, run in runs.iterrows():
        j = [(c.start, c.wiring, c.draw) for c in conditions].index((run.start, run.wiring, run.draw))
        out, e = outs[j], networks.index(run.network)
        assert all((a == b).all() for a, b in zip(snap.masks(i, 0), out["masks"][e]))
        assert all((a == b).all() for a, b in zip(snap.weights(i, 0), out["weights"][e]))
        assert snap.val_loss[i, 0] == out["val_loss"][e]
        budget = 100 if run.start == "dense" else 200
        np.testing.assert_array_equal(snap.curves(i)[0], out["curve_val"][e][:budget])
    assert np.isnan(snap["eval_loss"][runs.start == "dense"][:, -1]).all()       # past a shorter budget
    assert snap.select([3, 2]).runs.index.size == 2 and snap.select([3]).runs.wiring[0] == runs.wiring[3]
    with pytest.raises(AttributeError, match="no run table"):
        ref.runs
    (tmp_path / "condition-03.npz").unlink()
    with pytest.raises(FileNotFoundError, match="condition 3"):
        rewire.export(tmp_path, tmp_path / "again")


def test_first_stop_is_where_the_original_rule_fires():
    falling = np.exp(-np.arange(5000) / 300.0) + 1.0         # improves ever more slowly: the rule fires once < 1 %
    n = rewire.first_stop(falling)
    assert n is not None and E.stop_rule(falling[:n]) and not any(E.stop_rule(falling[:m]) for m in range(100, n, 100))
    assert rewire.first_stop(np.exp(-np.arange(3000) / 100.0)) is None      # a steady 1 % per 100 batches never stops
    assert rewire.first_stop(np.r_[falling[:900], [np.nan] * 10]) is None   # too short to check
