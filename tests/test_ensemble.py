"""Batched ensemble: stopping rule, equivalence with one-by-one training, masks, distinct members, determinism."""
import numpy as np
import pytest
import torch
from torch import nn
from torch.nn.utils import prune as tprune

from helpers import ensemble as E
from helpers import pruning as P

torch.set_num_threads(1)
SMALL = (10, 24, 24, 7)


def synthetic(n, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.uniform(-0.5, 0.5, (n, 10)).astype(np.float32)
    y = (0.4 * np.tanh(x @ rng.normal(size=(10, 7)))).astype(np.float32)
    return x, y


# ------------------------------------------------------------------------------------------ stopping rule

def linear_ratio(a, b, n):
    # mean of a - b*k over k in [n-1000, n-500) and over [n-500, n): means at k = n-750.5 and n-250.5
    return (a - b * (n - 750.5)) / (a - b * (n - 250.5))


@pytest.mark.parametrize("slope", [0.0, 1e-6, 3e-5, 1e-4])
def test_stop_rule_linear_sequences_match_closed_form(slope):
    a = 1.0
    for n in range(1100, 3001, 100):
        h = a - slope * np.arange(n)
        assert E.stop_rule(h) == (linear_ratio(a, slope, n) < 1.01), (slope, n)


def test_stop_rule_only_fires_on_schedule():
    flat = np.ones(5000)
    assert not E.stop_rule(flat[:999])
    assert not E.stop_rule(flat[:1000])            # the original checks once more than 1000 losses are recorded
    assert not E.stop_rule(flat[:1050])            # only every 100 batches
    assert E.stop_rule(flat[:1100])
    # a steadily falling loss (exponential, 1 %/100 batches ≈ 5 % per 500) never stops
    falling = np.exp(-np.arange(5000) / 10_000.0)
    assert not any(E.stop_rule(falling[:n]) for n in range(1000, 5001, 100))
    # a plateau after a fall stops once the 1000-batch window lies on the plateau's flat part
    plateau = np.concatenate([np.linspace(1, 0.1, 2000), np.full(3000, 0.1)])
    fired = [n for n in range(1000, 5001, 100) if E.stop_rule(plateau[:n])]
    assert fired and fired[0] > 2000 and fired[0] <= 3000


def test_stop_rule_batched_equals_rowwise():
    rng = np.random.default_rng(1)
    h = np.abs(rng.normal(1, 0.01, (5, 1200))) * np.linspace(1, 0.97, 1200) ** rng.uniform(0, 3, (5, 1))
    rows = [E.stop_rule(r) for r in h]
    assert list(E.stop_rule(h)) == rows and len(set(rows)) == 2


# ------------------------------------------------------------------------------- equivalence with one-by-one

def reference_net(seed, layers=E.LAYERS):
    """A plain nn.Sequential with the same init protocol (own generator, N(0, 0.2²), zero biases)."""
    gen = torch.Generator().manual_seed(seed)
    mods = []
    for i, (a, b) in enumerate(zip(layers[:-1], layers[1:])):
        lin = nn.Linear(a, b)
        with torch.no_grad():
            lin.weight.copy_((torch.randn(a, b, generator=gen) * 0.2).T)
            lin.bias.zero_()
        mods.append(lin)
        if i < len(layers) - 2:
            mods.append(nn.Tanh())
    return nn.Sequential(*mods)


def train_reference(net, opt, x, y, n):
    for k in range(n):
        xb, yb = torch.from_numpy(x[k * 128:(k + 1) * 128]), torch.from_numpy(y[k * 128:(k + 1) * 128])
        opt.zero_grad()
        nn.functional.mse_loss(net(xb), yb).backward()
        opt.step()


def test_batched_matches_one_by_one_with_torch_prune():
    """Same seeds, same batches: the batched ensemble equals E separately trained nn.Sequential networks with
    torch.optim.Adam, dense and after a torch.nn.utils.prune mask (effective weights compared)."""
    x, y = synthetic(128 * 12)
    seeds = [11, 22, 33]
    ens = E.init_ensemble(seeds)
    E.train_round(ens, x[:128 * 6], y[:128 * 6], x, y, max_batches=6, stopping=None)
    rng = np.random.default_rng(5)
    wm = [torch.from_numpy((rng.random(w.shape) > 0.5).astype(np.float32)) for w in ens.weights]
    bm = [torch.ones_like(b) for b in ens.biases]
    E.set_masks(ens, wm, bm)
    E.train_round(ens, x[128 * 6:], y[128 * 6:], x, y, max_batches=6, stopping=None)
    for e, seed in enumerate(seeds):
        net = reference_net(seed)
        opt = torch.optim.Adam(net.parameters(), lr=5e-4, betas=(0.9, 0.999), eps=1e-8)
        train_reference(net, opt, x[:128 * 6], y[:128 * 6], 6)
        lins = [m for m in net if isinstance(m, nn.Linear)]
        for lin, m in zip(lins, wm):
            tprune.custom_from_mask(lin, "weight", m[e].T.contiguous())
        train_reference(net, opt, x[128 * 6:], y[128 * 6:], 6)
        for i, lin in enumerate(lins):
            effective = (lin.weight_orig * lin.weight_mask).detach()     # lin.weight is refreshed only in forward
            for ours, ref in ((ens.weights[i][e].numpy(), effective.T.numpy()),
                              (ens.biases[i][e, 0].numpy(), lin.bias.detach().numpy())):
                diff = np.abs(ours - ref)
                # float32 rounding differs (tanh as 2σ(2z) − 1, batched products, fused Adam); Adam divides by
                # √v, so an entry whose gradient is at rounding level can take a visibly different step (one
                # step is ≤ lr = 5e-4): nearly all entries agree to rounding, none by more than a fifth of a step
                assert np.quantile(diff, 0.999) <= 2e-7, (i, e, np.quantile(diff, 0.999))
                assert diff.max() <= 1e-4, (i, e, diff.max())


def test_hand_written_backward_equals_autograd_of_the_masked_forward():
    """_loss_and_grads (hand-written backward, validation rows riding along) against torch.autograd of the masked
    forward pass, in float64 so that only the formulas are compared."""
    x, y = synthetic(128 + 64)
    ens = E.init_ensemble([3, 4])
    rng = np.random.default_rng(0)
    wm = [torch.from_numpy((rng.random(w.shape) > 0.4).astype(np.float32)) for w in ens.weights]
    bm = [torch.from_numpy((rng.random(b.shape) > 0.3).astype(np.float32)) for b in ens.biases]
    E.set_masks(ens, wm, bm)
    with torch.no_grad():
        for b, m in zip(ens.biases, bm):
            b.copy_(torch.randn(b.shape, generator=torch.Generator().manual_seed(1)) * 0.1 * m)
    d = {k: [t.double() for t in getattr(ens, k)] for k in ("weights", "biases", "wmasks", "bmasks")}
    ens64 = E.Ensemble(d["weights"], d["biases"], d["wmasks"], d["bmasks"])
    xt, yt = torch.from_numpy(x).double(), torch.from_numpy(y).double()
    loss, out_val, grads = E._loss_and_grads(ens64, xt, yt[:128], 128)
    leaves = [p.clone().requires_grad_(True) for p in ens64.params()]
    out = E.forward(leaves[:5], leaves[5:], d["wmasks"], d["bmasks"], xt)
    ref_loss = ((out[:, :128] - yt[:128]) ** 2).mean(dim=(1, 2))
    ref_grads = torch.autograd.grad(ref_loss.sum(), leaves)
    torch.testing.assert_close(loss, ref_loss.detach(), rtol=1e-12, atol=1e-14)
    torch.testing.assert_close(out_val, out[:, 128:].detach(), rtol=1e-12, atol=1e-14)
    for g, r, m in zip(grads, ref_grads, d["wmasks"] + d["bmasks"]):
        torch.testing.assert_close(g, r, rtol=1e-10, atol=1e-14)
        assert bool((g[m == 0] == 0).all())                       # pruned entries get exactly zero gradient


def test_loss_networks_scales_each_networks_gradient():
    """Σ_e loss_e / L: the gradient is the summed loss's divided by L (checked against autograd), and one Adam
    step differs only through ε (the step m̂ / (√v̂ + ε) is scale-free but for ε)."""
    x, y = synthetic(128 * 2)
    ens = E.init_ensemble([3, 4, 5], layers=SMALL)
    xt, yt = torch.from_numpy(x[:128]), torch.from_numpy(y[:128])
    _, _, g1 = E._loss_and_grads(ens, xt, yt, 128)
    _, _, g400 = E._loss_and_grads(ens, xt, yt, 128, loss_networks=400)
    leaves = [p.clone().requires_grad_(True) for p in ens.params()]
    out = E.forward(leaves[:3], leaves[3:], ens.wmasks, ens.bmasks, xt)
    mean_loss = ((out - yt) ** 2).mean(dim=(1, 2)).sum() / 400
    ref = torch.autograd.grad(mean_loss, leaves)
    for a, b, r in zip(g1, g400, ref):
        torch.testing.assert_close(b, a / 400, rtol=1e-5, atol=1e-12)
        torch.testing.assert_close(b, r, rtol=1e-4, atol=1e-10)
    with pytest.raises(ValueError, match="loss_networks"):
        E.train_round(ens, x, y, x, y, max_batches=1, loss_networks=0)


# ------------------------------------------------------------------------------------------------ masks

def test_masked_weights_stay_exactly_zero_through_retraining():
    x, y = synthetic(128 * 40)
    ens = E.init_ensemble([1, 2], layers=SMALL)
    E.train_round(ens, x, y, x, y, max_batches=20, stopping=None)   # nonzero Adam moments everywhere
    rng = np.random.default_rng(0)
    wm = [torch.from_numpy((rng.random(w.shape) > 0.7).astype(np.float32)) for w in ens.weights]
    bm = [torch.from_numpy((rng.random(b.shape) > 0.5).astype(np.float32)) for b in ens.biases]
    E.set_masks(ens, wm, bm)
    before = [p.clone() for p in ens.params()]
    E.train_round(ens, x, y, x, y, max_batches=40, stopping=None)
    for p, p0, mk, m, v in zip(ens.params(), before, wm + bm, ens.m, ens.v):
        assert torch.all(p[mk == 0] == 0) and torch.all(m[mk == 0] == 0) and torch.all(v[mk == 0] == 0)
        assert not torch.equal(p[mk == 1], p0[mk == 1])          # the kept ones did train
    with pytest.raises(ValueError, match="revive"):
        E.set_masks(ens, [torch.ones_like(w) for w in ens.weights], bm)


# ------------------------------------------------------------------------------- early stopping in a round

def test_round_stops_networks_independently():
    """A stopped network freezes: its final parameters equal a run of that network alone for exactly its
    number of batches, and the rule fired at its stop (and never before)."""
    def smooth(n, seed):          # a target the small nets learn at different speeds
        x = np.random.default_rng(seed).uniform(-0.5, 0.5, (n, 10)).astype(np.float32)
        return x, (0.4 * np.sin(2 * x @ np.random.default_rng(0).normal(size=(10, 7)))).astype(np.float32)
    x, y = smooth(128 * 60, 0)
    xv, yv = smooth(128 * 8, 1)
    seeds = [3, 4, 5, 6]
    ens = E.init_ensemble(seeds, layers=SMALL)
    res = E.train_round(ens, x, y, xv, yv, max_batches=2000, stopping="network")
    assert res.batches.min() >= 1100 and len(set(res.batches.tolist())) > 1     # stopped at different times
    for e, seed in enumerate(seeds):
        n = int(res.batches[e])
        hist = res.val_loss[e, :n]
        assert not np.isnan(hist).any() and np.isnan(res.val_loss[e, n:]).all()
        assert n == 2000 or E.stop_rule(hist)
        assert not any(E.stop_rule(hist[:k]) for k in range(1100, n, 100))
        if e not in (int(np.argmin(res.batches)), int(np.argmax(res.batches))):
            continue
        alone = E.init_ensemble([seed], layers=SMALL)
        E.train_round(alone, x, y, xv, yv, max_batches=n, stopping=None)
        assert int(ens.steps[e]) == n
        for p, q in zip(ens.params(), alone.params()):
            np.testing.assert_allclose(p[e].numpy(), q[0].numpy(), atol=1e-6, rtol=0)


def test_round_stops_the_group_on_its_mean_loss():
    """The original's rule: one decision on the mean of the networks' validation losses ends the round for all
    of them, at the first check where the rule holds for the mean curve (not for any single network's)."""
    def smooth(n, seed):
        x = np.random.default_rng(seed).uniform(-0.5, 0.5, (n, 10)).astype(np.float32)
        return x, (0.4 * np.sin(2 * x @ np.random.default_rng(0).normal(size=(10, 7)))).astype(np.float32)
    x, y = smooth(128 * 60, 0)
    xv, yv = smooth(128 * 8, 1)
    seeds = [3, 4, 5, 6]
    group = E.train_round(E.init_ensemble(seeds, layers=SMALL), x, y, xv, yv, max_batches=3000, stopping="group")
    alone = E.train_round(E.init_ensemble(seeds, layers=SMALL), x, y, xv, yv, max_batches=3000, stopping="network")
    n = int(group.batches[0])
    assert (group.batches == n).all() and not np.isnan(group.val_loss).any()
    mean = group.val_loss.mean(axis=0)
    assert n == 3000 or E.stop_rule(mean)
    assert not any(E.stop_rule(mean[:k]) for k in range(1100, n, 100))
    assert sorted(alone.batches.tolist()) != [n] * 4                # per-network stopping decides otherwise
    # the first n batches of each network's own curve are the same in both rounds (same data, same updates)
    k = int(min(n, alone.batches.min()))
    np.testing.assert_allclose(group.val_loss[:, :k], alone.val_loss[:, :k], rtol=1e-6)


def test_validation_batch_k_is_evaluated_before_update_k():
    """The recorded validation loss of batch k is that of the parameters after k updates (the original records
    it before ``apply_gradient``): batch 0 is the untrained networks' loss."""
    x, y = synthetic(128 * 4)
    ens = E.init_ensemble([7, 8])
    fresh = E.init_ensemble([7, 8])
    res = E.train_round(ens, x, y, x[::-1].copy(), y[::-1].copy(), max_batches=3, stopping=None)
    xv0, yv0 = x[::-1][:128], y[::-1][:128]
    with torch.no_grad():
        out = E.forward(fresh.weights, fresh.biases, fresh.wmasks, fresh.bmasks, torch.as_tensor(xv0.copy()))
    expect = ((out - torch.as_tensor(yv0.copy())) ** 2).mean(dim=(1, 2)).numpy()
    np.testing.assert_allclose(res.val_loss[:, 0], expect, rtol=1e-5)


def test_a_round_without_validation_trains_the_same_networks():
    """Without the validation mini-batches riding along, a round's updates and training losses are the same (up to
    float ordering in the smaller products), its validation losses are NaN, and early stopping is refused."""
    x, y = synthetic(128 * 6)
    runs = {}
    for validation in ("wrap", None):
        ens = E.init_ensemble([7, 8])
        runs[validation] = (E.train_round(ens, x, y, x[::-1].copy(), y[::-1].copy(), max_batches=12, stopping=None,
                                          validation=validation), ens)
    (with_val, a), (without, b) = runs["wrap"], runs[None]
    assert np.isnan(without.val_loss).all() and not np.isnan(with_val.val_loss).any()
    np.testing.assert_allclose(without.train_loss, with_val.train_loss, rtol=1e-5)
    for wa, wb in zip(a.weights, b.weights):
        np.testing.assert_allclose(wb.numpy(), wa.numpy(), rtol=1e-4, atol=1e-6)
    with pytest.raises(ValueError, match="validation"):
        E.train_round(E.init_ensemble([7, 8]), x, y, x, y, max_batches=2, stopping="group", validation=None)


def test_member_seeds_of_a_later_group_continue_the_sequence():
    assert E.member_seeds(0, 3, first=5) == E.member_seeds(0, 8)[5:]
    with pytest.raises(ValueError, match="first_network"):
        E.member_seeds(0, 2, first=-1)


# ------------------------------------------------------------------------------ members, determinism, params

def test_members_are_genuinely_distinct():
    seeds = E.member_seeds(0, 6)
    assert len(set(seeds)) == 6
    ens = E.init_ensemble(seeds)
    flat = torch.cat([w.reshape(6, -1) for w in ens.weights], dim=1)
    corr = np.corrcoef(flat.numpy())
    assert np.abs(corr[~np.eye(6, dtype=bool)]).max() < 0.02       # independent draws, not copies
    assert abs(float(flat.std()) - 0.2) < 1e-3
    with pytest.raises(ValueError, match="distinct"):
        E.init_ensemble([1, 1])
    with pytest.raises(ValueError, match="n_networks"):
        E.member_seeds(0, 0)


def test_deterministic_on_cpu():
    x, y = synthetic(128 * 10)
    runs = []
    for _ in range(2):
        ens = E.init_ensemble([7, 8])
        E.train_round(ens, x, y, x, y, max_batches=5, stopping=None)
        runs.append(ens.state_dict())
    for a, b in zip(runs[0]["weights"] + runs[0]["m"], runs[1]["weights"] + runs[1]["m"]):
        assert torch.equal(a, b)


def test_bad_device_and_caps_fail_naming_the_parameter():
    with pytest.raises(ValueError, match="device"):
        E.init_ensemble([1], device="tpu")
    ens = E.init_ensemble([1], layers=SMALL)
    x, y = synthetic(256)
    with pytest.raises(ValueError, match="max_batches"):
        E.train_round(ens, x, y, x, y, max_batches=0)


def test_predict_and_mse_agree():
    x, y = synthetic(1000)
    ens = E.init_ensemble([1, 2], layers=SMALL)
    out = E.predict(ens, x, chunk=300)
    assert out.shape == (2, 1000, 7)
    np.testing.assert_allclose(E.mse(ens, x, y, chunk=333), ((out - y) ** 2).mean(axis=(1, 2)), rtol=1e-5)


def test_r2_scores_match_definition():
    x, y = synthetic(600)
    ens = E.init_ensemble([1, 2], layers=SMALL)
    pred = E.predict(ens, x).astype(np.float64)
    r2 = E.r2_scores(ens, x, y)
    y = y.astype(np.float64)
    assert r2.shape == (2, 7)
    for e in range(2):
        for j in range(7):
            ss_res = np.sum((pred[e, :, j] - y[:, j]) ** 2)
            ss_tot = np.sum((y[:, j] - y[:, j].mean()) ** 2)
            assert r2[e, j] == pytest.approx(1 - ss_res / ss_tot, rel=1e-9)


def test_closed_loop_with_true_outputs_hits_the_target():
    """Oracle: the true (scaled) outputs of a test flight, flown through the simulator, reproduce its final
    state; shuffled outputs (a controller that ignores the target) miss by a lot."""
    data = pytest.importorskip("helpers.data")
    ds = data.load_or_build(20_000, 0, progress=False)
    n = 200
    true = ds.y_test[:n]
    shuffled = true[np.random.default_rng(0).permutation(n)]
    err = E.closed_loop_errors(np.stack([true, shuffled]), ds, "test")
    assert err.shape == (2, n, 4)
    assert np.abs(err[0, :, :2]).max() < 1e-2 and np.abs(err[0, :, 2:]).max() < 1e-3   # cm, rad (float32 round-off)
    assert np.median(np.hypot(err[1, :, 0], err[1, :, 1])) > 1.0
    with pytest.raises(ValueError, match="shape"):
        E.closed_loop_errors(true, ds)


def test_sparse_networks_are_evaluated_on_their_live_nodes_with_the_same_outputs(monkeypatch):
    """At 97 % sparsity (biases pruned with the weight cutoff: many ghost and dead nodes) predict/mse take the
    one-network-at-a-time path on live nodes only; outputs agree with the full batched forward pass."""
    x, y = synthetic(3000)
    ens = E.init_ensemble([1, 2, 3])
    with torch.no_grad():
        for b in ens.biases:
            b.normal_(0, 0.1, generator=torch.Generator().manual_seed(0))
    P.prune_ensemble(ens, 0.97, "original")
    assert E._compact(ens) is not None
    compact_out, compact_mse = E.predict(ens, x), E.mse(ens, x, y)
    monkeypatch.setattr(E, "COMPACT_BELOW", -1.0)                 # force the full batched path
    assert E._compact(ens) is None
    np.testing.assert_allclose(compact_out, E.predict(ens, x), rtol=0, atol=2e-6)
    np.testing.assert_allclose(compact_mse, E.mse(ens, x, y), rtol=1e-5)


def test_the_exchange_layout_round_trips_and_masks_default_to_the_nonzero_entries():
    rng = np.random.default_rng(3)
    layers = (4, 5, 3)
    nets = [[rng.normal(size=(a + 1, b)).astype(np.float32) * (rng.random((a + 1, b)) < 0.6)
             for a, b in zip(layers[:-1], layers[1:])] for _ in range(2)]
    ens = E.from_exchange(nets)
    for e, net in enumerate(nets):
        assert all((a == b).all() and a.dtype == np.float32 for a, b in zip(E.to_exchange(ens, e), net))
        for i, w in enumerate(net):
            assert (ens.wmasks[i][e].numpy() == (w[:-1] != 0)).all()
            assert (ens.bmasks[i][e, 0].numpy() == (w[-1] != 0)).all()
    masks = [[np.ones_like(w, dtype=bool) for w in net] for net in nets]
    assert all((m == 1).all() for m in E.from_exchange(nets, masks).masks())
    assert all((m == 0).all() for m in ens.m + ens.v) and (ens.steps == 0).all()
