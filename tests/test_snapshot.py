"""The snapshot format: a run's saved states and the shipped data set are one format, read by one reader,
verified against a manifest on load."""
import json

import numpy as np
import pytest
import torch

from helpers import ensemble as E
from helpers import run as R
from helpers import selection as Sel
from helpers import snapshot as S

torch.set_num_threads(1)
SCHED = (0.5, 0.8, 0.9)


def small_data(seed=0):
    rng = np.random.default_rng(seed)
    out = {}
    for split, n in (("train", 128 * 40), ("val", 128 * 8), ("test", 128 * 8)):
        x = rng.uniform(-0.5, 0.5, (n, 10)).astype(np.float32)
        out[f"x_{split}"] = x
        out[f"y_{split}"] = (0.4 * np.tanh(x @ np.random.default_rng(9).normal(size=(10, 7)))).astype(np.float32)
    out["scaler"] = dict(x_min=-np.arange(10.0), x_max=np.arange(10.0) + 1, y_min=-np.ones(7), y_max=np.ones(7))
    return out


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("run")
    data = small_data()
    snap = R.run_pruning(folder, data, [11, 12, 13], SCHED, max_batches=4, max_batches_dense=6, n_eval=512,
                         provenance={"note": "test"})
    return folder, data, snap


def test_a_finished_run_is_a_verified_snapshot(run):
    folder, data, snap = run
    assert S.is_snapshot(folder) and not list(folder.glob("state_*.npz"))   # the state files were folded in
    manifest = S.verify(folder)
    assert set(manifest["files"]) == {S.SUMMARY, S.WEIGHTS, S.PROVENANCE, "checkpoint.pt", "dense.pt"}
    again = S.load(folder)
    assert again.n_networks == 3 and again.n_states == 3 and again.sparsities.tolist() == [0.0, 0.5, 0.8]
    assert again.provenance["params"] == {"note": "test"} and again.provenance["seeds"] == [11, 12, 13]
    assert again.scaler["x_max"].tolist() == list(np.arange(10.0) + 1)
    assert again.stored_pairs() == [(k, s) for k in range(3) for s in range(3)]
    # the API: masks, weights (bias row last), forward, losses on the first n_eval rows
    for k in range(3):
        for s in range(3):
            masks, weights = again.masks(k, s), again.weights(k, s)
            assert [m.shape for m in masks] == [(a + 1, b) for a, b in zip(E.LAYERS[:-1], E.LAYERS[1:])]
            assert all(np.array_equal(w != 0, m) for w, m in zip(weights, masks))
    out = again.forward(1, 2, data["x_val"][:512])
    mse = float(((out.astype(np.float64) - data["y_val"][:512]) ** 2).mean())
    assert mse == pytest.approx(again.val_loss[1, 2], rel=1e-6)
    x = data["x_val"][:64].astype(np.float64)                           # plain numpy forward pass
    h = x
    for i, w in enumerate(again.weights(1, 2)):
        h = h @ w[:-1] + w[-1]
        h = np.tanh(h) if i < 4 else h
    np.testing.assert_allclose(out[:64], h, atol=2e-5)
    assert again.optimum.tolist() == Sel.optimal_states(again.val_loss, 1e-3).tolist()
    assert again.with_threshold(1.0).optimum.tolist() == [2, 2, 2]


def test_one_group_curves_and_legacy_keys(run):
    _, _, snap = run
    assert snap["round_start"].tolist() == [0, 6, 10, 14] and snap["curve_val"].shape == (3, 14)
    v, t = snap.curves(0, 1)
    assert v.shape == t.shape == (4,) and np.array_equal(v, snap["curve_val"][0, 6:10])
    assert np.array_equal(snap["optimal"], snap.optimum) and "optimal_original" in snap


def test_select_and_export_keep_what_is_asked(run, tmp_path):
    folder, data, snap = run
    sub = snap.select([2, 0])
    assert sub.n_networks == 2 and np.array_equal(sub.val_loss, snap.val_loss[[2, 0]])
    assert np.array_equal(sub.masks(0, 1)[3], snap.masks(2, 1)[3])
    assert all(np.array_equal(a, b) for a, b in zip(sub.weights(1, 2), snap.weights(0, 2)))
    pairs = [(0, 0), (0, 1), (0, 2), (1, 0), (2, 2)]
    S.export(snap, tmp_path / "ship", {"what": "test"}, pairs=pairs)
    shipped = S.load(tmp_path / "ship")
    assert shipped.stored_pairs() == pairs and shipped.weights(1, 1) is None
    assert all(np.array_equal(a, b) for a, b in zip(shipped.weights(2, 2), snap.weights(2, 2)))
    assert all(np.array_equal(shipped.masks(1, 2)[i], snap.masks(1, 2)[i]) for i in range(5))
    with pytest.raises(ValueError, match="no stored weights"):
        shipped.forward(1, 1, data["x_val"][:4])
    # shipped_pairs: every state of network 0; dense, optimum and the 93 %-nearest state of every network
    want = {(0, 0), (0, 1), (0, 2)} | {(k, 0) for k in range(3)} | {(k, 2) for k in range(3)}
    assert set(S.shipped_pairs(snap)) >= want


def test_shipped_pairs_keep_the_dense_optimal_93_and_94_percent_states():
    from types import SimpleNamespace
    snap = SimpleNamespace(sparsities=np.array([0.0, 0.5, 0.91, 0.93, 0.94, 0.96]), n_states=6, n_networks=3,
                           optimum=np.array([2, -1, 5]))
    assert S.shipped_pairs(snap) == sorted({(0, s) for s in range(6)} | {(k, s) for k in range(3) for s in (0, 3, 4)}
                                           | {(2, 5)})
    assert S.shipped_pairs(snap, full_networks=()) == sorted({(k, s) for k in range(3) for s in (0, 3, 4)}
                                                             | {(0, 2), (2, 5)})


def test_merge_of_two_groups(run, tmp_path):
    folder, data, snap = run
    other = R.run_pruning(tmp_path / "g1", data, [21, 22], SCHED, max_batches=3, max_batches_dense=5, n_eval=512)
    summary, weights = S.merge([snap, other], {})
    S.write(tmp_path / "both", summary, weights, {"groups": 2})
    both = S.load(tmp_path / "both")
    assert both.n_networks == 5 and both.group.tolist() == [0, 0, 0, 1, 1]
    assert np.array_equal(both.val_loss[3:], other.val_loss) and np.array_equal(both.seeds[:3], [11, 12, 13])
    v, _ = both.curves(4, 1)
    assert np.array_equal(v, other.curves(1, 1)[0])
    assert all(np.array_equal(a, b) for a, b in zip(both.weights(4, 2), other.weights(1, 2)))
    with pytest.raises(KeyError, match="groups"):
        both["round_start"]
    with pytest.raises(ValueError, match="share networks"):
        S.merge([snap, snap], {})


def test_export_merges_a_shipped_group_with_a_new_run(run, tmp_path):
    """A group already exported (its working folder gone) and a newly finished run make one data set."""
    import shutil

    folder, data, snap = run
    first, second = tmp_path / "g0", tmp_path / "g1"
    shutil.copytree(folder, first)
    R.run_pruning(second, data, [21, 22], SCHED, max_batches=3, max_batches_dense=5, n_eval=512,
                  provenance={"note": "second"})
    for where, seeds in ((first, [11, 12, 13]), (second, [21, 22])):
        (where / S.TRAINING).write_text(json.dumps({"params": {"n_networks": len(seeds)}, "seeds": seeds}))
    R.main(["export", "--work", str(first), "--out", str(tmp_path / "ship0")])
    shutil.rmtree(first)
    R.main(["export", "--work", str(tmp_path / "ship0"), "--work", str(second), "--out", str(tmp_path / "both")])
    both = S.load(tmp_path / "both")
    assert both.seeds.tolist() == [11, 12, 13, 21, 22] and both.group.tolist() == [0, 0, 0, 1, 1]
    groups = both.provenance["groups"]
    assert [g["seeds"] for g in groups] == [[11, 12, 13], [21, 22]]
    assert [g["run"]["params"] for g in groups] == [{"note": "test"}, {"note": "second"}]
    assert both.provenance["params"]["n_networks"] == 5
    assert all(np.array_equal(a, b) for a, b in zip(both.weights(0, 2), snap.weights(0, 2)))
    assert np.array_equal(both.val_loss[:3], snap.val_loss)
    with pytest.raises(ValueError, match="neither a finished run"):
        R.group_records(tmp_path, S.Snapshot(both._a, lambda *a: None, {}))


@pytest.mark.parametrize("damage", ["truncate", "flip", "delete", "manifest"])
def test_damaged_snapshots_are_named(run, tmp_path, damage):
    folder, _, snap = run
    S.export(snap, tmp_path / "d", {}, pairs=[(0, 0)])
    target = tmp_path / "d" / (S.MANIFEST if damage == "manifest" else S.WEIGHTS)
    raw = target.read_bytes()
    if damage == "truncate":
        target.write_bytes(raw[: len(raw) // 2])
        match = "weights.npz has .* bytes"
    elif damage == "flip":
        target.write_bytes(raw[:100] + bytes([raw[100] ^ 1]) + raw[101:])
        match = "weights.npz does not match its SHA-256"
    elif damage == "delete":
        target.unlink()
        match = "weights.npz is missing"
    else:
        target.unlink()
        match = "MANIFEST.json is missing"
    with pytest.raises(S.SnapshotError, match=match):
        S.load(tmp_path / "d")


def test_manifest_of_another_format_is_refused(run, tmp_path):
    folder, _, snap = run
    S.export(snap, tmp_path / "v", {}, pairs=[(0, 0)])
    manifest = json.loads((tmp_path / "v" / S.MANIFEST).read_text())
    (tmp_path / "v" / S.MANIFEST).write_text(json.dumps(dict(manifest, version=99)))
    with pytest.raises(S.SnapshotError, match="version 99"):
        S.load(tmp_path / "v")


def test_write_refuses_weights_outside_their_masks(run, tmp_path):
    _, _, snap = run
    bad = [w.copy() for w in snap.weights(0, 2)]
    bad[1][~snap.masks(0, 2)[1]] = 1.0
    with pytest.raises(ValueError, match="nonzero where the mask prunes"):
        S.write(tmp_path / "bad", snap._a, {(0, 2): bad}, {})
    assert not S.is_snapshot(tmp_path / "bad")


def test_adam_epsilon_effect_grows_with_the_ensemble_size(run):
    folder, _, _ = run
    effect = R.adam_epsilon_effect(folder / "dense.pt", (1, 8, 400))
    assert effect["1"] == 0.0 and 0.0 < effect["8"] < effect["400"] < 1.0
