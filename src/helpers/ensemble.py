"""An ensemble of E masked MLPs (10-400-400-400-16-7, tanh) trained as one batched computation.

Every weight tensor carries a leading network axis: layer ``i`` has weights ``(E, n_i, n_{i+1})`` and biases
``(E, 1, n_{i+1})``, each multiplied by a binary mask of the same shape in the forward pass, so one
``torch.baddbmm`` per layer evaluates all E networks. Training follows the original protocol (SPEC §3):
W ~ N(0, 0.2²) from each member's own seed, zero biases, Adam (lr 5e-4, β = 0.9/0.999, ε = 1e-8), batches of 128
taken in order without shuffling, per-network MSE. The loss minimised is the *sum* of the E per-network losses,
so each network receives exactly its own gradient.

Adam is written out here (same update as ``torch.optim.Adam``) for two reasons: a network that met the early
stopping rule must stop updating — its moments and step count freeze — while the others go on, and pruned
weights must stay exactly zero (their moments are zeroed at the prune and their update is masked).

Round protocol: a round takes training batches 0, 1, 2, … in order (wrapping round the training split if the
round is longer than one pass), at most ``max_batches`` of them. After each batch the loss on one validation
mini-batch is recorded (validation batches of the same size, also taken in order and wrapping); from batch 1000
on, every 100 batches, :func:`stop_rule` decides for each network whether it stops. The round ends when every
network has stopped or the cap is reached. A stopped network is still evaluated in the batched forward pass (its
outputs are discarded and it receives no update), so a round costs E × (its longest member's batches).
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import torch

#: Layer widths of the original architecture.
LAYERS = (10, 400, 400, 400, 16, 7)
INIT_STD = 0.2
LR, BETA1, BETA2, EPS = 5e-4, 0.9, 0.999, 1e-8
BATCH = 128
STOP_START, STOP_EVERY, STOP_WINDOW, STOP_RATIO = 1000, 100, 500, 1.01


# ------------------------------------------------------------------------------------------ stopping rule

def stop_rule(history: np.ndarray | Sequence[float]) -> np.ndarray | bool:
    """The round-wise early-stopping rule of the original, for a loss history of length n.

    ``history``: (n,) or (E, n) per-batch validation losses. True (per network) iff n ≥ 1000, n is a multiple
    of 100 and mean(history[n-1000:n-500]) / mean(history[n-500:]) < 1.01, i.e. the last 500 batches improved
    the loss by less than 1 % over the 500 before them.
    """
    h = np.asarray(history, dtype=np.float64)
    n = h.shape[-1]
    if n < STOP_START or n % STOP_EVERY:
        return np.zeros(h.shape[:-1], dtype=bool) if h.ndim > 1 else False
    early = h[..., n - 2 * STOP_WINDOW:n - STOP_WINDOW].mean(axis=-1)
    late = h[..., n - STOP_WINDOW:].mean(axis=-1)
    out = early / late < STOP_RATIO
    return out if h.ndim > 1 else bool(out)


# ------------------------------------------------------------------------------------------------ model

@dataclass
class Ensemble:
    """Parameters, masks and Adam state of E networks (all tensors float32 on ``device``).

    ``weights[i]``: (E, n_i, n_{i+1}); ``biases[i]``: (E, 1, n_{i+1}); ``wmasks``/``bmasks`` same shapes with
    values 0/1; ``m``/``v``: Adam moments, one per parameter tensor (weights first, then biases); ``steps``:
    (E,) int64 Adam step count of each network (networks stopped early take fewer steps).
    """

    weights: list[torch.Tensor]
    biases: list[torch.Tensor]
    wmasks: list[torch.Tensor]
    bmasks: list[torch.Tensor]
    m: list[torch.Tensor] = field(default_factory=list)
    v: list[torch.Tensor] = field(default_factory=list)
    steps: torch.Tensor | None = None

    @property
    def n_networks(self) -> int:
        return self.weights[0].shape[0]

    @property
    def device(self) -> torch.device:
        return self.weights[0].device

    def params(self) -> list[torch.Tensor]:
        return self.weights + self.biases

    def masks(self) -> list[torch.Tensor]:
        return self.wmasks + self.bmasks

    def state_dict(self) -> dict[str, list[torch.Tensor] | torch.Tensor]:
        """Everything needed to continue training bit for bit (CPU copies)."""
        cpu = lambda ts: [t.detach().cpu().clone() for t in ts]  # noqa: E731
        return dict(weights=cpu(self.weights), biases=cpu(self.biases), wmasks=cpu(self.wmasks),
                    bmasks=cpu(self.bmasks), m=cpu(self.m), v=cpu(self.v), steps=self.steps.cpu().clone())

    @classmethod
    def from_state_dict(cls, state: dict, device: str | torch.device = "cpu") -> "Ensemble":
        to = lambda ts: [t.to(device).clone() for t in ts]  # noqa: E731
        return cls(weights=to(state["weights"]), biases=to(state["biases"]), wmasks=to(state["wmasks"]),
                   bmasks=to(state["bmasks"]), m=to(state["m"]), v=to(state["v"]),
                   steps=state["steps"].to(device).clone())


def check_device(device: str) -> torch.device:
    """``"cpu"`` or ``"cuda"`` (the latter only if available); anything else raises ``ValueError``."""
    if device not in ("cpu", "cuda"):
        raise ValueError(f"parameter 'device' = {device!r} is invalid: it must be 'cpu' or 'cuda'")
    if device == "cuda" and not torch.cuda.is_available():
        raise ValueError("parameter 'device' = 'cuda' is invalid: no CUDA device is available here")
    return torch.device(device)


def init_ensemble(seeds: Sequence[int], device: str = "cpu", layers: Sequence[int] = LAYERS) -> Ensemble:
    """E fresh networks: member e draws its weights ~ N(0, 0.2²) from ``torch.Generator`` seeded ``seeds[e]``
    (on the CPU, so the init is the same on every device); biases 0, masks all ones, Adam state zero."""
    seeds = [int(s) for s in seeds]
    if len(seeds) < 1:
        raise ValueError("parameter 'n_networks' must be ≥ 1 (got an empty seed list)")
    if len(set(seeds)) != len(seeds):
        raise ValueError(f"ensemble seeds must be distinct, got {seeds}")
    dev = check_device(str(device))
    weights = []
    for n_in, n_out in zip(layers[:-1], layers[1:]):
        weights.append(torch.empty(len(seeds), n_in, n_out))
    for e, seed in enumerate(seeds):
        gen = torch.Generator().manual_seed(seed)
        for w in weights:
            w[e] = torch.randn(w.shape[1:], generator=gen) * INIT_STD
    weights = [w.to(dev) for w in weights]
    biases = [torch.zeros(len(seeds), 1, n, device=dev) for n in layers[1:]]
    ens = Ensemble(weights, biases, [torch.ones_like(w) for w in weights], [torch.ones_like(b) for b in biases])
    ens.m = [torch.zeros_like(p) for p in ens.params()]
    ens.v = [torch.zeros_like(p) for p in ens.params()]
    ens.steps = torch.zeros(len(seeds), dtype=torch.int64, device=dev)
    return ens


def member_seeds(seed: int, n_networks: int) -> list[int]:
    """Distinct per-network seeds derived from one master seed (``numpy.random.SeedSequence`` spawning)."""
    if n_networks < 1:
        raise ValueError(f"parameter 'n_networks' = {n_networks!r} is invalid: it must be ≥ 1")
    children = np.random.SeedSequence(seed).spawn(n_networks)
    return [int(c.generate_state(1, dtype=np.uint32)[0]) for c in children]


def forward(weights: Sequence[torch.Tensor], biases: Sequence[torch.Tensor], wmasks: Sequence[torch.Tensor],
            bmasks: Sequence[torch.Tensor], x: torch.Tensor) -> torch.Tensor:
    """Masked batched forward pass. ``x``: (B, n_0) shared by all networks or (E, B, n_0); returns (E, B, 7)."""
    e = weights[0].shape[0]
    h = x.expand(e, *x.shape) if x.dim() == 2 else x
    last = len(weights) - 1
    for i, (w, b, wm, bm) in enumerate(zip(weights, biases, wmasks, bmasks)):
        h = torch.baddbmm(b * bm, h, w * wm)
        if i < last:
            h = torch.tanh(h)
    return h


def predict(ens: Ensemble, x: np.ndarray | torch.Tensor, chunk: int = 8192) -> np.ndarray:
    """Outputs of every network for inputs ``x`` (N, 10) → (E, N, 7) float32 numpy, in chunks, no grad."""
    x = torch.as_tensor(np.asarray(x, dtype=np.float32))
    out = []
    with torch.no_grad():
        for start in range(0, len(x), chunk):
            xb = x[start:start + chunk].to(ens.device)
            out.append(forward(ens.weights, ens.biases, ens.wmasks, ens.bmasks, xb).cpu())
    return torch.cat(out, dim=1).numpy()


def mse(ens: Ensemble, x: np.ndarray, y: np.ndarray, chunk: int = 8192) -> np.ndarray:
    """Per-network mean squared error on the whole set (x (N, 10), y (N, 7)) → (E,) float64."""
    y = torch.as_tensor(np.asarray(y, dtype=np.float32))
    x = torch.as_tensor(np.asarray(x, dtype=np.float32))
    total = torch.zeros(ens.n_networks, dtype=torch.float64)
    with torch.no_grad():
        for start in range(0, len(x), chunk):
            xb, yb = x[start:start + chunk].to(ens.device), y[start:start + chunk].to(ens.device)
            out = forward(ens.weights, ens.biases, ens.wmasks, ens.bmasks, xb)
            total += ((out - yb) ** 2).sum(dim=(1, 2)).double().cpu()
    return (total / (len(x) * y.shape[1])).numpy()


def r2_scores(ens: Ensemble, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Coefficient of determination per network and output, R² = 1 − Σ(ŷ − y)² / Σ(y − ȳ)² → (E, 7) float64
    (invariant to the per-column affine scaling, so the same in scaled and physical units)."""
    y = np.asarray(y, dtype=np.float64)
    pred = predict(ens, x).astype(np.float64)
    return 1.0 - ((pred - y) ** 2).sum(axis=1) / ((y - y.mean(axis=0)) ** 2).sum(axis=0)


def closed_loop_errors(outputs: np.ndarray, dataset, split: str = "test") -> np.ndarray:
    """Fly the simulator with predicted controls and return the miss: final (x, y, θ, φ) − target.

    ``outputs``: (E, n, 7) scaled network outputs for the first n samples of ``split`` of ``dataset`` (a
    ``helpers.data.Dataset``). Each is unscaled, turned into controls (F, α, τ) by
    ``helpers.data.controls_from_outputs`` and integrated for 20 ms from the sample's initial state with
    ``helpers.flight.simulate``. Returns (E, n, 4) float64 in cm, cm, rad, rad.
    """
    from helpers import data as data_mod
    from helpers import flight

    to_controls = getattr(data_mod, "controls_from_outputs", None) or data_mod.outputs_to_controls
    outputs = np.asarray(outputs)
    if outputs.ndim != 3 or outputs.shape[2] != 7:
        raise ValueError(f"outputs must have shape (E, n, 7), got {outputs.shape}")
    n = outputs.shape[1]
    start, goal = dataset.initial_states(split)[:n], dataset.targets(split)[:n]
    if len(start) < n:
        raise ValueError(f"outputs has {n} samples but split {split!r} only {len(start)}")
    errs = []
    for out in outputs:
        controls = to_controls(dataset.unscale_outputs(out))
        final = flight.simulate(np.asarray(start, dtype=np.float64), np.asarray(controls, dtype=np.float64))
        errs.append(final[:, [0, 2, 4, 6]] - goal)
    return np.stack(errs)


# --------------------------------------------------------------------------------------------- masking

def set_masks(ens: Ensemble, wmasks: Sequence[torch.Tensor], bmasks: Sequence[torch.Tensor]) -> None:
    """Install new masks (same shapes; a 0 stays 0: masks may only shrink) and zero the pruned weights,
    biases and their Adam moments, so nothing pruned can come back."""
    for i, (old, new) in enumerate(zip(ens.masks(), list(wmasks) + list(bmasks))):
        new = torch.as_tensor(new, dtype=old.dtype, device=old.device).reshape(old.shape)
        if bool(((new != 0) & (old == 0)).any()):
            raise ValueError(f"mask {i} would revive pruned parameters; masks may only lose entries")
        old.copy_(new)
    with torch.no_grad():
        for p, mk, m, v in zip(ens.params(), ens.masks(), ens.m, ens.v):
            p.mul_(mk)
            m.mul_(mk)
            v.mul_(mk)


# -------------------------------------------------------------------------------------------- training

@dataclass
class RoundResult:
    """What one training round did: ``batches`` (E,) batches each network trained; ``train_loss`` and
    ``val_loss`` (E, n) per-batch losses (NaN after a network stopped); ``n`` batches run in total."""

    batches: np.ndarray
    train_loss: np.ndarray
    val_loss: np.ndarray


def _adam_step(ens: Ensemble, grads: Sequence[torch.Tensor], active: torch.Tensor) -> None:
    """One Adam update (torch.optim.Adam's formula) of the active networks; masked entries stay 0."""
    ens.steps += active.to(ens.steps.dtype)
    t = ens.steps.to(torch.float64)
    bc1 = (1 - BETA1 ** t).clamp_min(1e-30)
    bc2 = (1 - BETA2 ** t).clamp_min(1e-30)
    step_size = (LR / bc1).to(torch.float32)
    bc2_sqrt = bc2.sqrt().to(torch.float32)
    act = active.to(torch.float32)
    all_active = bool(active.all())
    with torch.no_grad():
        for p, g, mk, m, v in zip(ens.params(), grads, ens.masks(), ens.m, ens.v):
            shape = (-1,) + (1,) * (p.dim() - 1)
            if all_active:
                m.mul_(BETA1).add_(g, alpha=1 - BETA1)
                v.mul_(BETA2).addcmul_(g, g, value=1 - BETA2)
                denom = (v.sqrt() / bc2_sqrt.view(shape)).add_(EPS)
                p.addcdiv_(m * step_size.view(shape), denom, value=-1.0)
            else:
                a = act.view(shape)
                m.copy_(torch.where(a > 0, m * BETA1 + g * (1 - BETA1), m))
                v.copy_(torch.where(a > 0, v * BETA2 + g * g * (1 - BETA2), v))
                denom = (v.sqrt() / bc2_sqrt.view(shape)).add_(EPS)
                p.sub_(a * (m * step_size.view(shape)) / denom)
            p.mul_(mk)


def train_round(ens: Ensemble, x_train: np.ndarray, y_train: np.ndarray, x_val: np.ndarray, y_val: np.ndarray,
                max_batches: int, batch_size: int = BATCH, early_stopping: bool = True,
                progress: Callable[[int], None] | None = None) -> RoundResult:
    """Train every network for one round (see module docstring) in place and return its record.

    ``x_*``: (N, 10) float32, ``y_*``: (N, 7) float32, scaled. ``max_batches``: cap on the round's length.
    ``progress``: optional callback receiving the batch count every 100 batches.
    """
    if max_batches < 1:
        raise ValueError(f"parameter 'max_batches' = {max_batches!r} is invalid: it must be ≥ 1")
    dev = ens.device
    xt = torch.as_tensor(np.asarray(x_train, dtype=np.float32))
    yt = torch.as_tensor(np.asarray(y_train, dtype=np.float32))
    xv = torch.as_tensor(np.asarray(x_val, dtype=np.float32))
    yv = torch.as_tensor(np.asarray(y_val, dtype=np.float32))
    n_train = len(xt) // batch_size
    n_val = len(xv) // batch_size
    if n_train < 1 or n_val < 1:
        raise ValueError(f"need at least one full batch of {batch_size} in the training and validation data")
    if dev.type != "cpu":
        xt, yt, xv, yv = xt.to(dev), yt.to(dev), xv.to(dev), yv.to(dev)
    e = ens.n_networks
    active = torch.ones(e, dtype=torch.bool, device=dev)
    # per-batch losses stay on the device; a CPU mirror is refreshed every STOP_EVERY batches (one sync per
    # 100 batches instead of one per batch, which matters on a GPU)
    nan = torch.tensor(float("nan"), device=dev)
    train_dev = torch.full((e, max_batches), float("nan"), dtype=torch.float32, device=dev)
    val_dev = torch.full((e, max_batches), float("nan"), dtype=torch.float32, device=dev)
    val_hist = np.full((e, max_batches), np.nan, dtype=np.float32)
    leaves = [p.requires_grad_(True) for p in ens.params()]
    n_done = synced = 0
    try:
        for k in range(max_batches):
            j = k % n_train
            xb, yb = xt[j * batch_size:(j + 1) * batch_size], yt[j * batch_size:(j + 1) * batch_size]
            out = forward(ens.weights, ens.biases, ens.wmasks, ens.bmasks, xb)
            loss = ((out - yb) ** 2).mean(dim=(1, 2))                      # (E,) per-network MSE
            grads = torch.autograd.grad(loss.sum(), leaves)
            _adam_step(ens, grads, active)
            jv = k % n_val
            with torch.no_grad():
                outv = forward(ens.weights, ens.biases, ens.wmasks, ens.bmasks,
                               xv[jv * batch_size:(jv + 1) * batch_size])
                vloss = ((outv - yv[jv * batch_size:(jv + 1) * batch_size]) ** 2).mean(dim=(1, 2))
                train_dev[:, k] = torch.where(active, loss.detach(), nan)
                val_dev[:, k] = torch.where(active, vloss, nan)
            n_done = k + 1
            if n_done % STOP_EVERY == 0:
                val_hist[:, synced:n_done] = val_dev[:, synced:n_done].cpu().numpy()
                synced = n_done
                if progress is not None:
                    progress(n_done)
                if early_stopping and n_done >= STOP_START:
                    act_np = active.cpu().numpy()
                    stop = np.zeros(e, dtype=bool)
                    stop[act_np] = stop_rule(val_hist[act_np, :n_done])
                    active &= torch.as_tensor(~stop, device=dev)
                    if not bool(active.any()):
                        break
    finally:
        for p in leaves:
            p.requires_grad_(False)
    val_hist = val_dev[:, :n_done].cpu().numpy()
    train_hist = train_dev[:, :n_done].cpu().numpy()
    batches = (~np.isnan(val_hist)).sum(axis=1).astype(np.int64)
    return RoundResult(batches=batches, train_loss=train_hist, val_loss=val_hist)
