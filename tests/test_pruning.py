"""Layer-wise magnitude pruning, bias modes, optimal-state selection, the iterative loop and its resume."""
import numpy as np
import pytest
import torch

from helpers import ensemble as E
from helpers import pipeline, pruning as P, run as R, selection as Sel

torch.set_num_threads(1)


def real_shaped(seed=0):
    rng = np.random.default_rng(seed)
    ws = [rng.normal(0, 0.2, (a, b)) for a, b in zip(E.LAYERS[:-1], E.LAYERS[1:])]
    bs = [rng.normal(0, 0.05, b) for b in E.LAYERS[1:]]
    return ws, bs


def test_exact_layerwise_fractions_and_monotone_masks():
    ws, _ = real_shaped()
    masks = [np.ones(w.shape, dtype=bool) for w in ws]
    rng = np.random.default_rng(1)
    for s in pipeline.PAPER_SCHEDULE:
        new = P.prune_layerwise(ws, masks, s)
        for w, old, m in zip(ws, masks, new):
            assert (~m).sum() == int(s * w.size) + 1                   # the original's count in every layer
            assert not (m & ~old).any()                                 # a pruned weight never returns
            fresh = ~m & old
            if fresh.any() and m.any():                                 # newly pruned are the smallest kept ones
                assert np.abs(w[fresh]).max() <= np.abs(w[m]).min()
        masks = new
        # retraining perturbs the survivors; the pruned ones are exactly zero (as in the masked network)
        ws = [np.where(m, w + rng.normal(0, 0.01, w.shape), 0.0) for w, m in zip(ws, masks)]


def test_pruning_ignores_pruned_weights_that_grew_and_rejects_decreasing_targets():
    w = np.array([[5.0, 0.1], [0.2, 0.3]])
    m = np.array([[False, True], [True, True]])        # the big weight is already pruned
    new = P.prune_layerwise([w], [m], 0.25)[0]                        # int(0.25 · 4) + 1 = 2 pruned
    assert new.tolist() == [[False, False], [True, True]]
    with pytest.raises(ValueError, match="increase"):
        P.prune_layerwise([w], [new], 0.0)


def original_threshold_rule(w, m, c):
    """``step1_train.py``: cutoff = sort(|w·m|)[int(c·n)], keep |w| > cutoff (an independent re-implementation)."""
    cutoff = np.sort(np.abs(w * m).reshape(-1))[int(c * w.size)]
    return np.abs(w) > cutoff


def test_layerwise_rule_equals_the_original_threshold_rule():
    ws, _ = real_shaped(3)
    masks = [np.ones(w.shape, dtype=bool) for w in ws]
    for s in pipeline.PAPER_SCHEDULE[:12]:                             # through the 93 % prune
        new = P.prune_layerwise(ws, masks, s)
        for w, old, m in zip(ws, masks, new):
            assert np.array_equal(m, original_threshold_rule(w * old, old, s) & old)
        masks = new
    # at 93 % the original kept 279 / 11,199 / 11,199 / 447 / 7 weights per layer
    assert [int(m.sum()) for m in masks] == [279, 11_199, 11_199, 447, 7]


def test_bias_pruning_modes():
    ws, bs = real_shaped(2)
    bs[0][:5] = 0.0                                     # biases that never moved from their zero init
    wm = [np.ones(w.shape, dtype=bool) for w in ws]
    bm = [np.ones(b.shape, dtype=bool) for b in bs]
    nw, nb = P.prune_network(ws, bs, wm, bm, 0.35, "original")
    for w, b, m, mb in zip(ws, bs, nw, nb):
        cutoff = np.abs(w[~m]).max()
        assert np.array_equal(mb, np.abs(b) > cutoff)   # B3: the weight cutoff applied to the biases
    assert not nb[0][:5].any()
    nw2, nb2 = P.prune_network(ws, bs, wm, bm, 0.35, "corrected")
    assert all(np.array_equal(a, b) for a, b in zip(nw, nw2)) and all(b.all() for b in nb2)
    with pytest.raises(ValueError, match="bias_pruning"):
        P.prune_network(ws, bs, wm, bm, 0.35, "sometimes")


def test_optimal_state_and_dropped_networks():
    loss = np.array([[5e-4, 4e-4, 8e-4, 2e-3, 9e-4, 5e-3],    # non-monotone: most pruned good state is 4
                     [2e-3, 3e-3, 4e-3, 5e-3, 6e-3, 7e-3],    # never good: dropped
                     [1e-4, 1e-4, 1e-4, 1e-4, 1e-4, 1e-3]])   # threshold inclusive
    assert Sel.optimal_states(loss, 1e-3).tolist() == [4, -1, 5]
    assert Sel.optimal_states(loss, 1e-2).tolist() == [5, 5, 5]
    for bad in (0.0, -1e-3, float("nan")):
        with pytest.raises(ValueError, match="threshold"):
            Sel.optimal_states(loss, bad)


def test_focus_states_own_optimum_or_the_93_percent_fallback():
    sparsity = P.saved_sparsities(pipeline.PAPER_SCHEDULE)                  # 0 %, 15 %, …, 98 %
    val_loss = np.full((3, len(sparsity)), 2e-3)
    val_loss[0, :9] = 5e-4                                                    # good up to 85 % (state 8)
    val_loss[2, :14] = 5e-4                                                   # good up to 95 % (state 13)
    states = {"sparsity": sparsity, "val_loss": val_loss, "optimal": Sel.optimal_states(val_loss, 1e-3)}
    focus, rule = Sel.focus_states(states)
    assert focus == {0: 8, 2: 13}                                             # network 1 is dropped
    assert rule == "each kept network's own optimally sparse state"
    states["optimal"] = Sel.optimal_states(np.full_like(val_loss, 2e-3), 1e-3)  # no network meets the threshold
    focus, rule = Sel.focus_states(states)
    assert focus == {0: 12, 1: 12, 2: 12} and sparsity[12] == 0.93
    assert rule == "the 93% state (the original's most common optimum)"
    short = {"sparsity": sparsity[:6], "optimal": np.full(3, -1)}            # a schedule that stops at 55 %
    focus, rule = Sel.focus_states(short)
    assert focus == {0: 5, 1: 5, 2: 5}
    assert rule == "the 55% state (the saved state nearest the original's most common optimum, 93%)"


def small_data(seed=0, n=128 * 6):
    rng = np.random.default_rng(seed)
    out = {}
    for split, k in (("train", n), ("val", 256), ("test", 256)):
        x = rng.uniform(-0.5, 0.5, (k, 10)).astype(np.float32)
        out[f"x_{split}"] = x
        out[f"y_{split}"] = (0.4 * np.tanh(x @ np.random.default_rng(9).normal(size=(10, 7)))).astype(np.float32)
    return out


SCHED = (0.5, 0.8, 0.9)


def test_iterative_loop_states_masks_and_artifact(tmp_path):
    data = small_data()
    st = R.run_pruning(tmp_path / "run", data, [1, 2], SCHED, max_batches=4, max_batches_dense=6)
    assert st["sparsity"].tolist() == [0.0, 0.5, 0.8] and st["val_loss"].shape == (2, 3)
    assert st["batches"].tolist() == [[6, 4, 4], [6, 4, 4]]
    assert st["round_start"].tolist() == [0, 6, 10, 14] and st["curve_val"].shape == (2, 14)
    ens_state = st.ensemble_at(2)
    np.testing.assert_allclose(E.mse(ens_state, data["x_val"], data["y_val"]), st["val_loss"][:, 2], rtol=1e-6)
    for net in range(2):
        prev = None
        ws, bs = st.state_weights(2)
        for s, target in enumerate(st["sparsity"]):
            masks = st.masks(net, s)
            assert [m.shape for m in masks] == [(a + 1, b) for a, b in zip(E.LAYERS[:-1], E.LAYERS[1:])]
            for i, m in enumerate(masks):
                assert (~m[:-1]).sum() == P.n_pruned(m[:-1].size, target)
                if prev is not None:
                    assert not (m & ~prev[i]).any()
            prev = masks
        for i, m in enumerate(prev):                     # weights of the state agree with its masks
            assert np.array_equal(ws[i][net] != 0, m[:-1]) and np.all(bs[i][net][~m[-1]] == 0)
    with pytest.raises(ValueError, match="out of range"):
        st.masks(2, 0)
    # B4-original selection data: state s on training rows s·1024 … (s+1)·1024 − 1 (wrapping a short split)
    rows = (2 * 1024 + np.arange(1024)) % len(data["x_train"])
    np.testing.assert_allclose(E.mse(ens_state, data["x_train"][rows], data["y_train"][rows]),
                               st["train_slice_loss"][:, 2], rtol=1e-6)
    assert st["optimal_original"].tolist() == Sel.optimal_states(st["train_slice_loss"], 1e-3).tolist()
    # one network's weights reproduce its outputs with a plain numpy forward pass
    ws, bs = st.network_weights(1, 2)
    h = data["x_val"]
    for i, (w, b) in enumerate(zip(ws, bs)):
        h = h @ w + b
        h = np.tanh(h) if i < len(ws) - 1 else h
    np.testing.assert_allclose(h, E.predict(ens_state, data["x_val"])[1], atol=1e-5)
    assert np.array_equal(ws[0] != 0, st.masks(1, 2)[0][:-1])


class Interrupt(Exception):
    pass


def test_interrupt_and_resume_is_bitwise_identical(tmp_path):
    data = small_data(1)
    kw = dict(max_batches=3, max_batches_dense=5, bias_pruning="original")
    whole = R.run_pruning(tmp_path / "whole", data, [5, 6], SCHED, **kw)

    def boom(r):
        if r == 1:
            raise Interrupt
    with pytest.raises(Interrupt):
        R.run_pruning(tmp_path / "cut", data, [5, 6], SCHED, on_round=boom, **kw)
    assert not (tmp_path / "cut" / "states.npz").exists() and (tmp_path / "cut" / "checkpoint.pt").exists()
    resumed = R.run_pruning(tmp_path / "cut", data, [5, 6], SCHED, **kw)
    for key in ("val_loss", "test_loss", "batches", "curve_val", "curve_train", "mask0", "mask3", "optimal"):
        assert np.array_equal(whole[key], resumed[key], equal_nan=True), key
    assert np.isfinite(whole["test_loss"]).all()                     # every saved state is evaluated
    for s in range(3):
        a, b = whole.state_weights(s), resumed.state_weights(s)
        assert all(np.array_equal(x, y) for x, y in zip(a[0] + a[1], b[0] + b[1]))
    part = R.run_pruning(tmp_path / "part", data, [5, 6], SCHED, rounds=1, **kw)      # dense round only
    assert part["val_loss"].shape == (2, 1) and np.array_equal(part["val_loss"], whole["val_loss"][:, :1])
    assert not (tmp_path / "part" / "states.npz").exists()
    rest = R.run_pruning(tmp_path / "part", data, [5, 6], SCHED, **kw)
    assert np.array_equal(rest["val_loss"], whole["val_loss"]) and np.array_equal(rest["mask2"], whole["mask2"])
    final_a = R.load_checkpoint(tmp_path / "whole" / "checkpoint.pt")["ensemble"]
    final_b = R.load_checkpoint(tmp_path / "cut" / "checkpoint.pt")["ensemble"]
    assert all(torch.equal(x, y) for x, y in zip(final_a["m"] + final_a["v"], final_b["m"] + final_b["v"]))


def test_a_run_can_start_from_another_runs_dense_networks(tmp_path):
    """dense_from: the other bias mode for the first network starts from exactly the dense network of the main
    run (same weights, Adam state and round-0 record) and only trains the pruning rounds; a seed mismatch or a
    missing dense round is refused."""
    data = small_data(2)
    kw = dict(max_batches=3, max_batches_dense=5)
    main = R.run_pruning(tmp_path / "main", data, [5, 6], SCHED, bias_pruning="original", **kw)
    other = R.run_pruning(tmp_path / "other", data, [5], SCHED, bias_pruning="corrected",
                          dense_from=tmp_path / "main", **kw)
    for key in ("val_loss", "test_loss", "train_slice_loss", "batches"):
        assert np.array_equal(other[key][:, 0], main[key][:1, 0]), key
    assert np.array_equal(other["curve_val"][:, :5], main["curve_val"][:1, :5])
    a, b = main.state_weights(0), other.state_weights(0)
    assert all(np.array_equal(x[:1], y) for x, y in zip(a[0] + a[1], b[0] + b[1]))
    dense = R.load_checkpoint(tmp_path / "main" / "dense.pt")
    assert dense["seeds"] == [5, 6]
    assert other["batches"][0, 1:].tolist() == [3, 3]                      # the pruning rounds were trained
    # corrected bias pruning keeps every bias, the original mode does not
    assert other.masks(0, 2)[1][-1].all() and not main.masks(0, 2)[1][-1].all()
    with pytest.raises(ValueError, match="seeds"):
        R.run_pruning(tmp_path / "bad", data, [6], SCHED, dense_from=tmp_path / "main", **kw)
    with pytest.raises(FileNotFoundError, match="dense"):
        R.run_pruning(tmp_path / "bad2", data, [5], SCHED, dense_from=tmp_path / "nowhere", **kw)


def test_run_or_load_dense_from_checks_the_dense_round_parameters():
    params = pipeline.resolve("ci", **{k: None for k in R.KEY_PARAMS + ("threshold",)})
    with pytest.raises(ValueError, match="max_batches_dense"):
        R.run_or_load(dict(params, max_batches_dense=7), dense_from=params)
    with pytest.raises(ValueError, match="networks"):
        R.run_or_load(dict(params, n_networks=3), dense_from=params)


@pytest.mark.parametrize("name, value", [("n_networks", 0), ("schedule", (0.5, 0.4)), ("schedule", (0.2, 1.0)),
                                         ("threshold", 0.0), ("threshold", -1.0), ("device", "tpu"),
                                         ("bias_pruning", "maybe"), ("max_batches_dense", 10)])
def test_bad_parameters_fail_before_any_work(name, value):
    with pytest.raises(ValueError, match=name):
        pipeline.resolve("ci", **{name: value})
    params = pipeline.resolve("ci", seed=None, n_networks=None, n_trajectories=None, data_seed=None,
                              threshold=None, schedule=None, bias_pruning=None, device=None, max_batches=None,
                              max_batches_dense=None)
    params[name] = value
    if name != "max_batches_dense":
        with pytest.raises(ValueError, match=name):
            R.validate(params)


def test_run_pruning_validates_before_writing(tmp_path):
    for kw, name in ((dict(schedule=(0.5, 0.5)), "schedule"), (dict(threshold=0.0), "threshold"),
                     (dict(device="gpu"), "device"), (dict(bias_pruning="x"), "bias_pruning"),
                     (dict(max_batches=0), "max_batches")):
        args = dict(schedule=SCHED, threshold=1e-3, device="cpu", bias_pruning="original", max_batches=2)
        args.update(kw)
        with pytest.raises(ValueError, match=name):
            R.run_pruning(tmp_path / name, small_data(), [1], **args)
        assert not (tmp_path / name).exists()


@pytest.mark.parametrize("damage", ["truncate", "garbage"])
def test_a_corrupt_checkpoint_is_reported_by_path(tmp_path, damage):
    data = small_data(3)
    kw = dict(max_batches=3, max_batches_dense=4)

    def boom(r):
        raise Interrupt
    with pytest.raises(Interrupt):
        R.run_pruning(tmp_path / "run", data, [5], SCHED, on_round=boom, **kw)
    ckpt = tmp_path / "run" / "checkpoint.pt"
    raw = ckpt.read_bytes()
    ckpt.write_bytes(raw[: len(raw) // 3] if damage == "truncate" else b"not a checkpoint" * 100)
    with pytest.raises(pipeline.ArtifactError, match="checkpoint .*checkpoint.pt is unreadable"):
        R.run_pruning(tmp_path / "run", data, [5], SCHED, **kw)


def test_network_focus_names_a_missing_network_and_explains_the_state():
    sparsity = P.saved_sparsities(pipeline.PAPER_SCHEDULE)
    states = {"sparsity": sparsity, "optimal": np.array([8, -1])}
    assert Sel.network_focus(states, 0, 1e-3) == (8, "its optimally sparse state (the most pruned with validation "
                                                   "loss <= 0.001)")
    state, why = Sel.network_focus(states, 1, 1e-3)
    assert state == 12 and why.startswith("none of its saved states has validation loss <= 0.001, so it is shown "
                                          "at the 93% state")
    with pytest.raises(ValueError, match=r"'network' = 2 is invalid: it must be an integer in \[0, 1\]"):
        Sel.network_focus(states, 2, 1e-3)
