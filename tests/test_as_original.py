"""The as-original training options against a line-by-line port of the original's training loop.

``step1_train.py`` of ``oliviatessa/MothPruning`` (JAX/Flax) is ported below with torch autograd and
``torch.optim.Adam`` (Flax's ``optim.Adam`` has the same update, m̂ / (√v̂ + ε), and one step counter for all
parameters): one loss ``mean`` over networks, rows and outputs; validation slices ``Xval[i*128:(i+1)*128]``
that come back empty (a NaN loss) past the split's end; the stopping rule on the list of those losses; the
masks multiplied into the weights in the forward pass while the raw weights and Adam's moments run on; and the
pruning rule ``cutoff = sort(|w*m|)[int(c*n)]``, ``m = |w| > cutoff``, ``bm = |b| > cutoff``. With
``loss_networks = E``, ``validation = "exhaust"`` and ``pruned_state = "keep"`` the ensemble must do the same.
"""
import numpy as np
import pytest
import torch

from helpers import ensemble as E
from helpers import pruning as P

torch.set_num_threads(1)
SMALL = (10, 24, 24, 7)
SEEDS = [3, 4, 5]


def smooth(n, seed):
    """A target the small networks learn to a plateau within a round."""
    x = np.random.default_rng(seed).uniform(-0.5, 0.5, (n, 10)).astype(np.float32)
    return x, (0.4 * np.sin(2 * x @ np.random.default_rng(0).normal(size=(10, 7)))).astype(np.float32)


# ----------------------------------------------------------------------------- the original, ported literally

def original_forward(weights, biases, masks, bmasks, x):
    h = torch.einsum("ijk,lj->ilk", weights[0] * masks[0], x) + (biases[0] * bmasks[0])[:, None]
    h = torch.tanh(h)
    for w, b, m, bm in zip(weights[1:-1], biases[1:-1], masks[1:-1], bmasks[1:-1]):
        h = torch.tanh(torch.einsum("ijk,ikl->ijl", h, w * m) + (b * bm)[:, None])
    return torch.einsum("ijk,ikl->ijl", h, weights[-1] * masks[-1]) + (biases[-1] * bmasks[-1])[:, None]


def original_epoch(opt, weights, biases, masks, bmasks, X, Y, Xval, Yval, batch=128):
    val_losses = []
    for i in range(len(X) // batch):
        x_in, y_in = X[i * batch:(i + 1) * batch], Y[i * batch:(i + 1) * batch]
        xv, yv = Xval[i * batch:(i + 1) * batch], Yval[i * batch:(i + 1) * batch]
        opt.zero_grad()
        loss = ((original_forward(weights, biases, masks, bmasks, x_in) - y_in) ** 2).mean()
        loss.backward()
        with torch.no_grad():
            val = ((original_forward(weights, biases, masks, bmasks, xv) - yv) ** 2).mean()   # NaN when empty
        opt.step()
        val_losses.append(float(val))
        if (i + 1) % 100 == 0 and len(val_losses) > 1000:
            if np.mean(val_losses[-1000:-500]) / np.mean(val_losses[-500:]) < 1.01:
                break
    return len(val_losses)


def original_prune(weights, biases, masks, bmasks, c):
    new_m, new_bm = [], []
    with torch.no_grad():
        for w, m, b, bm in zip(weights, masks, biases, bmasks):
            n = int(c * w[0].numel())
            m, bm = m.clone(), bm.clone()
            for j in range(len(w)):
                cutoff = torch.sort(torch.abs(w[j] * m[j]).reshape(-1)).values[n]
                m[j] = (torch.abs(w[j]) > cutoff).float()
                bm[j] = (torch.abs(b[j]) > cutoff).float()
            new_m.append(m)
            new_bm.append(bm)
    return new_m, new_bm


# ------------------------------------------------------------------------------------------------ the tests

def test_the_three_options_together_train_and_prune_as_the_original_did():
    x, y = smooth(128 * 1400, 0)
    xv, yv = smooth(128 * 1150, 1)            # the validation split runs out at batch 1150 of each round
    ours = E.init_ensemble(SEEDS, layers=SMALL, pruned_state="keep")
    weights = [w.clone().requires_grad_(True) for w in ours.weights]
    biases = [b[:, 0].clone().requires_grad_(True) for b in ours.biases]
    masks = [torch.ones_like(w) for w in weights]
    bmasks = [torch.ones_like(b) for b in biases]
    opt = torch.optim.Adam(weights + biases, lr=5e-4, betas=(0.9, 0.999), eps=1e-8)
    X, Y, Xv, Yv = map(torch.from_numpy, (x, y, xv, yv))
    lengths = []
    for c in (0.5, 0.8, 0.9):
        res = E.train_round(ours, x, y, xv, yv, max_batches=len(x) // 128, stopping="group",
                            loss_networks=len(SEEDS), validation="exhaust")
        n = original_epoch(opt, weights, biases, masks, bmasks, X, Y, Xv, Yv)
        assert (res.batches == n).all(), (res.batches, n)
        assert np.isnan(res.val_loss[:, 1150:]).all() and not np.isnan(res.val_loss[:, :1150]).any()
        lengths.append(n)
        # raw values, pruned entries included, follow the same trajectory (float32 rounding differs: tanh as
        # 2σ(2z) − 1, batched products, fused Adam)
        for ow, w in zip(ours.weights, weights):
            np.testing.assert_allclose(ow.numpy(), w.detach().numpy(), atol=2e-4, rtol=0)
        P.prune_ensemble(ours, c, "original")
        masks, bmasks = original_prune(weights, biases, masks, bmasks, c)
        for om, m in zip(ours.wmasks, masks):
            assert torch.equal(om, m)
        for om, m in zip(ours.bmasks, bmasks):
            assert torch.equal(om[:, 0], m)
    # the rounds stopped by the rule before the split ran out, or ran to the cap after it: both happened
    assert lengths[0] == len(x) // 128 or lengths[0] <= 1150
    assert any(n == len(x) // 128 for n in lengths) or all(n <= 1150 for n in lengths)


def test_exhausted_validation_lets_a_round_run_to_its_cap():
    """The same plateau stops early when the validation batches wrap, and never once they run out before the
    rule fires."""
    x, y = smooth(128 * 2000, 0)
    xv, yv = smooth(128 * 1000, 1)             # runs out before the first check (batch 1100)
    trained = E.init_ensemble(SEEDS, layers=SMALL)
    E.train_round(trained, x, y, xv, yv, max_batches=6000, stopping=None)           # near its plateau
    state = trained.state_dict()
    wrap = E.train_round(E.Ensemble.from_state_dict(state), x, y, xv, yv, max_batches=3000)
    exhaust = E.train_round(E.Ensemble.from_state_dict(state), x, y, xv, yv, max_batches=3000,
                            validation="exhaust")
    assert (wrap.batches < 3000).all() and (exhaust.batches == 3000).all()
    np.testing.assert_array_equal(wrap.val_loss[:, :1000], exhaust.val_loss[:, :1000])
    np.testing.assert_array_equal(wrap.train_loss[:, :wrap.batches[0]], exhaust.train_loss[:, :wrap.batches[0]])


def test_kept_pruned_weights_drift_and_can_return():
    """pruned_state = "keep": pruned raw values move on under Adam's decaying moments without changing the
    outputs, and the original's rule revives a pruned weight whose raw magnitude exceeds the new cutoff."""
    x, y = smooth(128 * 60, 0)
    ens = E.init_ensemble(SEEDS, layers=SMALL, pruned_state="keep")
    E.train_round(ens, x, y, x, y, max_batches=30, stopping=None)
    P.prune_ensemble(ens, 0.5, "original")
    pruned = [w[m == 0].clone() for w, m in zip(ens.weights, ens.wmasks)]
    assert all(bool((p != 0).any()) for p in pruned)                  # not zeroed
    before = E.predict(ens, x[:256])
    with torch.no_grad():                                               # a pruned raw value changes nothing
        ens.weights[1][ens.wmasks[1] == 0] += 1.0
    np.testing.assert_array_equal(E.predict(ens, x[:256]), before)
    with torch.no_grad():
        ens.weights[1][ens.wmasks[1] == 0] -= 1.0
    E.train_round(ens, x, y, x, y, max_batches=20, stopping=None)
    moved = [w[m == 0] for w, m in zip(ens.weights, ens.wmasks)]
    assert any(not torch.equal(a, b) for a, b in zip(moved, pruned))   # Adam's first moment kept moving them
    # revival: one network's raw weights with a pruned one far above every kept magnitude
    w = [np.array([[0.1, 0.2], [0.3, 0.9]])]
    m = [np.array([[True, True], [True, False]])]
    new, cut = P.prune_layerwise_raw(w, m, 0.5)
    assert cut == [0.2] and new[0].tolist() == [[False, False], [True, True]]      # 0.9 returns
    nw, nb = P.prune_network(w, [np.array([0.25, 0.0])], m, [np.array([False, True])], 0.5, "original", "keep")
    assert nb[0].tolist() == [True, False]                              # the original's bias rule: raw |b| > cutoff
    zero_w, _ = P.prune_network(w, [np.zeros(2)], m, [np.ones(2, bool)], 0.5, "original", "zero")
    assert not zero_w[0][1, 1]                                          # ours: pruned stays pruned
    with pytest.raises(ValueError, match="pruned_state"):
        P.prune_network(w, [np.zeros(2)], m, [np.ones(2, bool)], 0.5, "original", "revive")


def test_zero_mode_is_unchanged_by_the_options():
    """The defaults are the book's protocol: a round with default arguments equals one with loss_networks=1,
    validation='wrap' and an ensemble in pruned_state='zero', bit for bit."""
    x, y = smooth(128 * 40, 0)
    a, b = E.init_ensemble(SEEDS, layers=SMALL), E.init_ensemble(SEEDS, layers=SMALL, pruned_state="zero")
    E.train_round(a, x, y, x, y, max_batches=40, stopping=None)
    E.train_round(b, x, y, x, y, max_batches=40, stopping=None, loss_networks=1, validation="wrap")
    for p, q in zip(a.params(), b.params()):
        assert torch.equal(p, q)
