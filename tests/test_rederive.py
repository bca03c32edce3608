"""The replay that re-derives weights at every saved state (helpers.rederive): each round installs the stored mask and
starts from the stored weights of the state before where those exist, a resumed replay is an uninterrupted one,
:func:`complete` prefers stored weights and refuses a replay of other networks, and bad input is refused before any
work."""
import numpy as np
import pytest
import torch

from helpers import ensemble as E, rederive, snapshot as S

torch.set_num_threads(1)
#: Batches per replayed round in these tests: one Adam step moves a weight by at most about the learning rate.
ONE_STEP = 1


@pytest.fixture(scope="module")
def ref():
    return S.load("reference").select(range(2))


@pytest.fixture(scope="module")
def rows():
    """Stand-in training rows (scaled units): the replay's mechanics do not depend on what the rows are."""
    rng = np.random.default_rng(0)
    x = (rng.random((4096, 10)) - 0.5).astype(np.float32)
    y = (rng.random((4096, 7)) - 0.5).astype(np.float32)
    return dict(x_train=x, y_train=y, x_val=x, y_val=y, x_test=x, y_test=y)


@pytest.fixture(scope="module")
def one_step(ref, rows):
    return rederive.replay(ref, [0, 1], rows, n_eval=512, rounds=3, cap=ONE_STEP)


def test_each_round_installs_the_stored_mask_and_starts_where_it_should(ref, one_step):
    stored = set(ref.stored_pairs())
    for k in (0, 1):
        for s in (1, 2, 3):
            masks = ref.masks(k, s)
            new = one_step["weights"][(k, s)]
            assert all((w[~m] == 0).all() for w, m in zip(new, masks)), (k, s)
            start = ref.weights(k, s - 1) if (k, s - 1) in stored else one_step["weights"][(k, s - 1)]
            assert one_step["started_from"][k, s] == ((k, s - 1) in stored)
            for w, m, w0 in zip(new, masks, start):           # one Adam step: at most about lr from the start
                assert np.abs(w - np.where(m, w0, 0))[m].max() <= 1.01 * E.LR, (k, s)
    assert one_step["started_from"][0, 1:4].all() and one_step["started_from"][1, 1]
    assert not one_step["started_from"][1, 2:4].any()          # network 1 stores no state 1 or 2
    assert np.isfinite(one_step["val_loss"][:, 1:4]).all() and np.isnan(one_step["val_loss"][:, 4:]).all()
    assert one_step["curve_train"].shape == (2, 3 * ONE_STEP) and np.isfinite(one_step["curve_train"]).all()
    assert np.isnan(one_step["curve_val"]).all()                 # no validation batch rides along


def test_a_resumed_replay_is_an_uninterrupted_one(ref, rows, tmp_path):
    whole = rederive.replay(ref, [0, 1], rows, n_eval=512, rounds=3, cap=5)
    rederive.replay(ref, [0, 1], rows, n_eval=512, work=tmp_path, rounds=2, cap=5)
    resumed = rederive.replay(ref, [0, 1], rows, n_eval=512, work=tmp_path, rounds=3, cap=5)
    for pair, weights in whole["weights"].items():
        assert all((a == b).all() for a, b in zip(weights, resumed["weights"][pair])), pair
    np.testing.assert_array_equal(whole["curve_train"], resumed["curve_train"])
    np.testing.assert_array_equal(whole["val_loss"], resumed["val_loss"])
    with pytest.raises(ValueError, match="networks"):
        rederive.replay(ref, [1], rows, work=tmp_path, rounds=3, cap=5)


def test_complete_takes_stored_weights_where_stored_and_the_replay_elsewhere(ref, one_step):
    replayed = one_step["weights"]

    def weights(k, s, masks):
        return replayed.get((k, s)) or (ref.weights(k, s) if s == 0 else None)

    fake = ref.with_weights(weights, {})
    stored = set(ref.stored_pairs())
    with pytest.raises(ValueError, match="lacks"):                # states 4… have no weights in this replay
        rederive.complete(ref, fake)
    done = rederive.complete(ref, _full(ref, replayed))
    for k, s in [(0, 2), (1, 0), (1, 1), (1, 3), (1, int(ref.optimum[1]))]:
        expected = ref.weights(k, s) if (k, s) in stored else replayed.get((k, s), _filler(ref, k, s))
        assert all((a == b).all() for a, b in zip(done.weights(k, s), expected)), (k, s)
    assert [1, 1] in done.provenance["rederived"] and [0, 1] not in done.provenance["rederived"]
    np.testing.assert_array_equal(done.val_loss, ref.val_loss)   # the run's losses and optima, not the replay's
    swapped = ref.select([1, 0])
    with pytest.raises(ValueError, match="rederived"):
        rederive.complete(swapped, _full(ref, replayed))


def _filler(ref, k, s):
    """Weights for a state the short replay did not reach: the stored mask with every kept entry 1."""
    return [m.astype(np.float32) for m in ref.masks(k, s)]


def _full(ref, replayed):
    """A stand-in data set: the short replay's weights, filled up with :func:`_filler` at every later state."""
    return ref.with_weights(lambda k, s, m: replayed.get((k, s)) or _filler(ref, k, s), {})


@pytest.mark.parametrize("kwargs, name", [(dict(networks=[]), "networks"), (dict(networks=[0, 9]), "networks"),
                                          (dict(rounds=0), "rounds"), (dict(rounds=18), "rounds"),
                                          (dict(cap=0), "cap")])
def test_bad_input_is_refused_naming_the_parameter(ref, rows, kwargs, name):
    args = dict(dict(networks=[0, 1]), **kwargs)
    with pytest.raises(ValueError, match=name):
        rederive.replay(ref, args.pop("networks"), rows, **args)


def test_networks_whose_rounds_differ_or_without_dense_weights_are_refused(ref, rows):
    uneven = np.array(ref.batches)
    uneven[1, 3] += 100
    odd = S.Snapshot(dict(_arrays(ref), batches=uneven), lambda k, s, m: ref.weights(k, s), ref.provenance)
    with pytest.raises(ValueError, match="different lengths"):
        rederive.replay(odd, [0, 1], rows)
    bare = ref.with_weights(lambda k, s, m: None, {})
    with pytest.raises(ValueError, match="dense weights"):
        rederive.replay(bare, [0, 1], rows)


def _arrays(ref):
    """The summary arrays of a one-group snapshot, as its constructor takes them."""
    names = [k for k in ref.keys() if k not in ("optimal", "optimal_original", "round_start", "seconds")]
    out = {k: ref[k] for k in names}
    out.update(round_start=ref["round_start"][None], seconds=ref["seconds"][None])
    return out


def test_exporting_an_unfinished_replay_names_the_missing_rounds(ref, rows, tmp_path):
    import json

    rederive.replay(ref, [0, 1], rows, n_eval=512, work=tmp_path, rounds=2, cap=2)
    (tmp_path / S.TRAINING).write_text(json.dumps(dict(settings=dict(source="reference", n_eval=512))))
    with pytest.raises(FileNotFoundError, match=r"rounds \[3, 4"):
        rederive.main(["export", "--work", str(tmp_path), "--out", str(tmp_path / "out")])
    assert not (tmp_path / "out").exists()
