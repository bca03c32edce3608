"""The experiments on the reference ensemble are this code's output. The rewire-and-retrain experiment
(``data/rewire``): every mask is redrawn from its seed and keeps what its wiring promises, the stored losses are
reproduced from the stored weights, and re-training a run reproduces its curve. The replay that re-derives the weights
of the states the reference ensemble does not store (``data/rederived``): the reference's networks, masks and round
lengths, every round started where it should, its stored losses reproduced from its weights, and a first round
replayed again reproducing its curve."""
import numpy as np
import pytest
import torch

from helpers import graph, rederive, rewire, snapshot as S

from conftest import scaled_rows

torch.set_num_threads(1)


# ------------------------------------------------------------------ the rewire-and-retrain experiment (data/rewire)

@pytest.fixture(scope="module")
def rewired():
    return S.load("rewire")


def test_the_rewire_runs_cover_the_design(rewired):
    runs = rewired.runs
    assert list(runs.columns) == ["network", "start", "wiring", "draw"]
    reference = S.load(rewired.provenance["training"]["settings"]["source"])
    design = rewire.design(rewired.provenance["training"]["settings"]["draws"])
    expected = {(k, c.start, c.wiring, c.draw) for c in design for k in range(reference.n_networks)}
    assert set(map(tuple, runs.itertuples(index=False))) == expected and len(runs) == len(expected)


def test_every_rewired_mask_keeps_what_its_wiring_promises_and_is_redrawn_from_its_seed(rewired):
    reference = S.load(rewired.provenance["training"]["settings"]["source"])
    for i, run in rewired.runs.iterrows():
        k = int(run.network)
        optimum = reference.masks(k, int(reference.optimum[k]))
        own = graph.clean(optimum)
        masks = rewired.masks(i, 0)
        condition = rewire.Condition(run.start, run.wiring, int(run.draw))
        seed = rewire.condition_seed(int(reference.seeds[k]), condition)
        redrawn = rewire.wiring_mask(optimum, run.wiring, seed)
        assert all((a == b).all() for a, b in zip(masks, redrawn)), i
        if run.wiring == "degree":
            assert all((a.sum(0) == b.sum(0)).all() and (a.sum(1) == b.sum(1)).all() for a, b in zip(masks, own))
            assert any((a != b).any() for a, b in zip(masks, own)), i
        elif run.wiring == "layer":
            assert graph.live_counts(masks) == graph.live_counts(own), i
            assert [(int(a[:-1].sum()), int(a[-1].sum())) for a in masks] == \
                [(int(b[:-1].sum()), int(b[-1].sum())) for b in own], i
        else:
            assert all((a == b).all() for a, b in zip(masks, own)), i


def test_the_rewire_runs_stored_losses_are_reproduced_from_their_weights(rewired, flights):
    torch.set_num_threads(2)
    reference = S.load(rewired.provenance["training"]["settings"]["source"])
    rows = scaled_rows(reference, flights)
    settings = rewired.provenance["training"]["settings"]
    x, y = rows["val"]
    last = np.isfinite(rewired["eval_loss"]).sum(axis=1) - 1
    for i in range(rewired.n_networks):             # every run: its last recorded loss, on the curve's rows
        out = rewired.forward(i, 0, x[:settings["n_curve"]]).astype(np.float64)
        assert ((out - y[:settings["n_curve"]]) ** 2).mean() == pytest.approx(rewired["eval_loss"][i, last[i]],
                                                                               rel=1e-5), i
    first = rewired.runs.groupby(["start", "wiring", "draw"]).head(1).index   # one run per condition: the full split
    for i in first:
        for split, stored in (("val", rewired.val_loss), ("test", rewired.test_loss)):
            x, y = rows[split]
            out = rewired.forward(int(i), 0, x[:settings["n_eval"]]).astype(np.float64)
            assert ((out - y[:settings["n_eval"]]) ** 2).mean() == pytest.approx(stored[i, 0], rel=1e-5), (i, split)
    torch.set_num_threads(1)


@pytest.mark.parametrize("condition", [("dense", "own", 0), ("init", "degree", 0)])
def test_retraining_a_rewire_run_reproduces_its_stored_curve(rewired, flights, condition):
    reference = S.load(rewired.provenance["training"]["settings"]["source"])
    rows = scaled_rows(reference, flights)
    runs = rewired.runs
    i = int(runs[(runs.network == 0) & (runs.start == condition[0]) & (runs.wiring == condition[1])
                 & (runs.draw == condition[2])].index[0])
    n = 300
    data = dict(x_train=rows["train"][0], y_train=rows["train"][1], x_val=rows["val"][0], y_val=rows["val"][1],
                x_test=rows["test"][0][:1024], y_test=rows["test"][1][:1024])
    out = rewire.train_condition(reference, [0], rewire.Condition(*condition), data, n, eval_every=100, n_curve=1024,
                                 n_eval=1024)
    val, train = rewired.curves(i)
    # the run trained all networks of a condition together: the same products per network, up to float ordering
    np.testing.assert_allclose(out["curve_val"][0], val[:n], rtol=2e-3)
    np.testing.assert_allclose(out["curve_train"][0], train[:n], rtol=2e-3)


# ---------------------------------------------- the re-derived weights of every saved state (data/rederived)

@pytest.fixture(scope="module")
def rederived():
    return S.load("rederived")


def test_the_replay_is_of_the_reference_networks_and_completes_their_weights(rederived):
    reference = S.load(rederived.provenance["source"])
    assert rederived.seeds.tolist() == reference.seeds.tolist()
    assert (rederived.batches == reference.batches).all()
    for i in range(len(reference.layers) - 1):
        assert (rederived[f"mask{i}"] == reference[f"mask{i}"]).all(), i
    full = rederive.complete(reference, rederived)
    assert len(full.stored_pairs()) == reference.n_networks * reference.n_states
    stored = set(reference.stored_pairs())
    assert {tuple(p) for p in full.provenance["rederived"]} == \
        {(k, s) for k in range(reference.n_networks) for s in range(reference.n_states)} - stored
    # every round of a network whose state before is stored started from it, and only those
    expected = np.array([[(k, s - 1) in stored for s in range(reference.n_states)]
                         for k in range(reference.n_networks)])
    expected[:, 0] = False
    assert (rederived["started_from"] == expected).all()


def test_the_replays_stored_losses_are_reproduced_from_its_weights(rederived, flights):
    torch.set_num_threads(2)
    reference = S.load(rederived.provenance["source"])
    rows = scaled_rows(reference, flights)
    n_eval = rederived.provenance["training"]["settings"]["n_eval"]
    pairs = rederived.stored_pairs()
    for k, s in [pairs[0], pairs[len(pairs) // 2], pairs[-1]]:   # a dense-ish, a middle and the sparsest state
        for split, stored in (("val", rederived.val_loss), ("test", rederived.test_loss)):
            x, y = rows[split]
            out = rederived.forward(k, s, x[:n_eval]).astype(np.float64)
            assert ((out - y[:n_eval]) ** 2).mean() == pytest.approx(stored[k, s], rel=1e-5), (k, s, split)
    torch.set_num_threads(1)


def test_replaying_a_first_round_again_reproduces_its_stored_curve(rederived, flights):
    reference = S.load(rederived.provenance["source"])
    rows = scaled_rows(reference, flights)
    n = 300
    data = dict(x_train=rows["train"][0], y_train=rows["train"][1], x_val=rows["val"][0], y_val=rows["val"][1],
                x_test=rows["test"][0][:1024], y_test=rows["test"][1][:1024])
    out = rederive.replay(reference, [1], data, n_eval=1024, rounds=1, cap=n)
    _, train = rederived.curves(1, 1)
    # the replay trained all networks together: the same products per network, up to float ordering
    np.testing.assert_allclose(out["curve_train"][0], train[:n], rtol=2e-3)
