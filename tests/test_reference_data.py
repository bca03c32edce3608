"""The shipped reference ensemble is this code's output: its masks follow the pruning rule, its losses are
reproduced from its weights on regenerated data, and re-training network 0 from its seed reproduces its first
dense batches."""
import numpy as np
import pytest
import torch

from helpers import data, ensemble as E, pipeline, pruning as P, run as R, selection as Sel, snapshot as S

torch.set_num_threads(1)
#: How many dense batches of network 0 are re-trained.
RETRAIN = 500


@pytest.fixture(scope="module")
def ref():
    return S.load("reference")


@pytest.fixture(scope="module")
def params(ref):
    return ref.provenance["params"]


@pytest.fixture(scope="module")
def rows(ref, params):
    """Scaled rows regenerated with the shipped scaler: the first n_eval validation and test rows, and the
    training rows of the first dense batches and of every state's B4 slice."""
    n, seed, n_eval = params["n_trajectories"], params["data_seed"], params["n_eval"]
    sc = ref.scaler
    n_train = max(RETRAIN * E.BATCH, ref.n_states * R.TRAIN_SLICE)
    out = {}
    for split, count in (("train", n_train), ("val", max(n_eval, RETRAIN * E.BATCH)), ("test", n_eval)):
        x, y = data.first_rows(n, seed, split, count)
        out[split] = data.scale(x, sc["x_min"], sc["x_max"]), data.scale(y, sc["y_min"], sc["y_max"])
    return out


def test_it_is_the_reference_protocol(ref, params):
    want = pipeline.PRESETS["reference"]
    for name in ("n_trajectories", "max_batches", "max_batches_dense", "stopping", "bias_pruning", "n_eval"):
        assert params[name] == want[name], name
    assert tuple(params["schedule"]) == pipeline.PAPER_SCHEDULE
    assert ref.n_networks >= 8 and len(set(ref.seeds.tolist())) == ref.n_networks
    assert ref.sparsities.tolist() == P.saved_sparsities(pipeline.PAPER_SCHEDULE).tolist()
    for key in ("commit", "machine", "sessions"):
        assert all(key in g for g in ref.provenance["groups"]), key
    assert ref.seeds.tolist() == [s for g in ref.provenance["groups"] for s in g["run"]["seeds"]]


def test_masks_are_nested_and_pruned_by_the_rule(ref):
    for k in range(ref.n_networks):
        prev = None
        for s, sparsity in enumerate(ref.sparsities):
            masks = ref.masks(k, s)
            for i, m in enumerate(masks):
                assert (~m[:-1]).sum() == P.n_pruned(m[:-1].size, sparsity), (k, s, i)
                if prev is not None:
                    assert not (m & ~prev[i]).any(), (k, s, i)
            prev = masks


def test_each_mask_of_network_0_is_the_magnitude_pruning_of_the_state_before(ref, params):
    for s in range(ref.n_states - 1):
        w = ref.weights(0, s)
        m = ref.masks(0, s)
        new_w, new_b = P.prune_network([x[:-1] for x in w], [x[-1] for x in w], [x[:-1] for x in m],
                                       [x[-1] for x in m], ref.sparsities[s + 1], params["bias_pruning"])
        for i, nxt in enumerate(ref.masks(0, s + 1)):
            assert np.array_equal(nxt[:-1], new_w[i]) and np.array_equal(nxt[-1], new_b[i]), (s, i)


def test_stored_weights_match_their_masks(ref):
    for k, s in ref.stored_pairs():
        for w, m in zip(ref.weights(k, s), ref.masks(k, s)):
            assert np.array_equal(w != 0, m), (k, s)


def test_stored_losses_are_reproduced_from_the_weights(ref, params, rows):
    torch.set_num_threads(2)                       # the largest evaluation of the suite: both cores
    n_eval = params["n_eval"]
    for k, s in ref.stored_pairs():
        for split, stored in (("val", ref.val_loss), ("test", ref.test_loss)):
            x, y = rows[split]
            out = ref.forward(k, s, x[:n_eval]).astype(np.float64)
            assert ((out - y[:n_eval]) ** 2).mean() == pytest.approx(stored[k, s], rel=1e-5), (k, s, split)
        sl = R.train_slice(s, 10 ** 9)
        x, y = rows["train"]
        out = ref.forward(k, s, x[sl]).astype(np.float64)
        assert ((out - y[sl]) ** 2).mean() == pytest.approx(ref.train_slice_loss[k, s], rel=1e-5), (k, s)
    torch.set_num_threads(1)


def test_optima_follow_from_the_stored_losses(ref):
    assert ref.optimum.tolist() == Sel.optimal_states(ref.val_loss, 1e-3).tolist()
    assert ref.optimum_b4.tolist() == Sel.optimal_states(ref.train_slice_loss, 1e-3).tolist()


def test_round_lengths_follow_the_groups_stopping_rule(ref, params):
    for g in np.unique(ref.group):
        members = np.flatnonzero(ref.group == g)
        assert (ref.batches[members, 0] == params["max_batches_dense"]).all()
        for r in range(1, ref.n_states):
            n = int(ref.batches[members[0], r])
            assert (ref.batches[members, r] == n).all()
            mean = np.mean([ref.curves(int(k), r)[0][:n] for k in members], axis=0)
            assert n == params["max_batches"] or E.stop_rule(mean), (g, r)
            assert not any(E.stop_rule(mean[:j]) for j in range(E.STOP_EVERY, n, E.STOP_EVERY)), (g, r)


def test_retraining_network_0_reproduces_its_first_dense_batches(ref, rows):
    ens = E.init_ensemble([int(ref.seeds[0])])
    (xt, yt), (xv, yv) = rows["train"], rows["val"]
    res = E.train_round(ens, xt, yt, xv, yv, max_batches=RETRAIN, stopping=None)
    val, train = ref.curves(0, 0)
    # bit for bit on the machine that trained it (measured); the tolerance allows other float orderings
    np.testing.assert_allclose(res.val_loss[0], val[:RETRAIN], rtol=1e-4)
    np.testing.assert_allclose(res.train_loss[0], train[:RETRAIN], rtol=1e-4)
    assert res.val_loss[0, 0] == pytest.approx(val[0], rel=1e-5)      # the untrained network: float rounding only


def test_the_scaler_maps_the_training_rows_into_the_unit_box(rows):
    x, y = rows["train"]
    assert x.min() >= -0.5 and x.max() <= 0.5 and y.min() >= -0.5 and y.max() <= 0.5
