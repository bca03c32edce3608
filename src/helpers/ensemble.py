"""An ensemble of E masked MLPs (10-400-400-400-16-7, tanh) trained as one batched computation.

Every weight tensor carries a leading network axis: layer ``i`` has weights ``(E, n_i, n_{i+1})`` and biases
``(E, 1, n_{i+1})``, each multiplied by a binary mask of the same shape in the forward pass, so one
``torch.baddbmm`` per layer evaluates all E networks. Training follows the original protocol (chapter 3;
``step1_train.py`` of ``oliviatessa/MothPruning``): W ~ N(0, 0.2²) from each member's own seed, zero biases,
Adam (lr 5e-4, β = 0.9/0.999, ε = 1e-8), batches of 128 taken in order without shuffling, per-network MSE.
The loss minimised is the *sum* of the E per-network losses, so each network receives exactly its own gradient.

Adam is torch's fused kernel (the update of ``torch.optim.Adam(fused=True)``), called here on per-network views
for two reasons: a network that met the early stopping rule must stop updating — its moments and step count
freeze — while the others go on, and pruned weights must stay exactly zero (their moments are zeroed at the
prune and their gradient is zero). One fused pass over parameters, gradients and moments replaces the ~8
elementwise passes of the textbook formula, which on a CPU dominate once E networks' tensors outgrow the caches.

Round protocol (the original's ``step1_train.py``): a round takes training batches 0, 1, 2, … in order
(wrapping round the training split if the round is longer than one pass), at most ``max_batches`` of them. With
every training batch k the networks also see validation mini-batch k (batches of the same size, taken in order)
in the same forward pass, before the update of step k, and its loss is recorded. Every 100 batches, once more
than 1000 have been recorded (first check after batch 1100), :func:`stop_rule` is applied:

- ``stopping="group"`` (the original's): to the mean of the networks' validation losses, so one decision ends
  the round for every network trained together;
- ``stopping="network"``: to each network's own losses; a stopped network is still evaluated in the batched
  forward pass (outputs discarded, no update), so a round costs E × (its longest member's batches);
- ``stopping=None``: the round runs to its cap.

A round without early stopping may also train without the validation mini-batches (``validation=None``): its
validation losses are then NaN, and each step's forward pass carries the training batch only, about a quarter
fewer products (a replay of known round lengths, :mod:`helpers.rederive`, needs no validation curve).

Three details of the original's training are options (chapter 4 measures what each does to the outcome); their
defaults are this book's choices, the alternative is what ``step1_train.py`` did:

- ``loss_networks`` (default 1): the loss minimised is Σ_e loss_e / ``loss_networks``. The original minimised
  ``jnp.mean`` over its networks *and* rows, i.e. Σ_e loss_e / E with E = 400 networks trained together, so each
  network's gradient was scaled by 1/400, which changes Adam's step through ε (ε weighs 400 times more against
  the gradient). Set it to 400 to train as the original's 400 networks were.
- ``validation`` (default ``"wrap"``): validation mini-batch k is batch k mod (validation batches). The original
  took batch k of the validation split without wrapping; past its end (batch 12,500 of a 1.6 M-flight split)
  the loss was the mean of an empty slice, NaN, so the rule could no longer fire and the round ran to its cap
  (``"exhaust"``: the validation loss is NaN from that batch on, and so is the rule's ratio).
- ``pruned_state`` (an :class:`Ensemble` attribute, default ``"zero"``): a prune sets the pruned weights, biases
  and their Adam moments to exactly 0 and nothing pruned returns. The original multiplied the weights by the
  mask in the forward pass but left the raw values and Adam's moments running (a pruned entry's gradient is 0,
  but its decaying first moment keeps moving it), and its rule compared the *raw* magnitudes with the cutoff of
  the masked ones, so a pruned weight that drifted above the cutoff came back (``"keep"``;
  :func:`helpers.pruning.prune_network`).
  With ``"keep"`` the moments of pruned entries decay geometrically (m by 0.9, v by 0.999 a step) through the
  range of subnormal floats, where a CPU's arithmetic is 15–30 times slower (measured for the fused Adam kernel),
  so a round of such an ensemble runs with subnormal results flushed to zero (``torch.set_flush_denormal``):
  that changes only values below 1.2·10⁻³⁸, the moments of weights whose gradient is 0, whose update
  m̂ / (√v̂ + ε) is then 0 instead of a subnormal number.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import torch

from helpers.checks import Spec

#: Layer widths of the original architecture.
LAYERS = (10, 400, 400, 400, 16, 7)
INIT_STD = 0.2
LR, BETA1, BETA2, EPS = 5e-4, 0.9, 0.999, 1e-8
BATCH = 128
STOP_START, STOP_EVERY, STOP_WINDOW, STOP_RATIO = 1000, 100, 500, 1.01
#: How a round's early stopping decides: one decision for the whole group (the original's) or per network.
STOPPING_MODES = ("group", "network")
#: Where an ensemble is trained.
DEVICES = ("cpu", "cuda")
#: Validation mini-batches past the end of the validation split: wrap round it (ours) or give NaN (the original's).
VALIDATION_MODES = ("wrap", "exhaust")
#: What a prune does to the pruned entries: zero them and their Adam moments (ours), or keep them running under the
#: mask (the original's, which lets a pruned weight return).
PRUNED_STATES = ("zero", "keep")


# ------------------------------------------------------------------------------------------ stopping rule

def stop_rule(history: np.ndarray | Sequence[float]) -> np.ndarray | bool:
    """The round-wise early-stopping rule of the original, for a loss history of length n.

    The rule fires iff n > 1000, n is a multiple of 100 and mean(history[n-1000:n-500]) / mean(history[n-500:])
    < 1.01, i.e. the last 500 batches improved the loss by less than 1 % over the 500 before them
    (``if len(valLosses) > 1000`` in the original's ``step1_train.py``, checked after every 100th batch: the first
    check is after batch 1100).

    Parameters
    ----------
    history : array_like of float, (n,) or (E, n)
        Per-batch validation losses (scaled MSE), of one network or the group's mean, or one row per network.

    Returns
    -------
    bool or ndarray, bool (E,)
        Whether to stop: a bool for a 1-d history, one per row for a 2-d one.
    """
    h = np.asarray(history, dtype=np.float64)
    n = h.shape[-1]
    if n <= STOP_START or n % STOP_EVERY:
        return np.zeros(h.shape[:-1], dtype=bool) if h.ndim > 1 else False
    early = h[..., n - 2 * STOP_WINDOW:n - STOP_WINDOW].mean(axis=-1)
    late = h[..., n - STOP_WINDOW:].mean(axis=-1)
    out = early / late < STOP_RATIO
    return out if h.ndim > 1 else bool(out)


# ------------------------------------------------------------------------------------------------ model

@dataclass
class Ensemble:
    """Parameters, masks and Adam state of E networks (all tensors float32 on ``device``).

    Parameters
    ----------
    weights : list of torch.Tensor, float32 (E, n_i, n_{i+1})
        Weight matrices, one tensor per layer.
    biases : list of torch.Tensor, float32 (E, 1, n_{i+1})
        Bias vectors, one tensor per layer.
    wmasks, bmasks : list of torch.Tensor, float32
        Weight and bias masks, the same shapes as ``weights`` and ``biases``, with values 0/1 (1 = kept).
    m, v : list of torch.Tensor, float32
        Adam's first and second moments, one per parameter tensor (weights first, then biases).
    steps : torch.Tensor, int64 (E,)
        Adam step count of each network (networks stopped early take fewer steps).
    pruned_state : {"zero", "keep"}
        What a prune does to the pruned entries (module docstring): ``"zero"`` holds them at exactly 0 with zero
        moments; ``"keep"`` leaves their raw values and moments running, masked in the forward pass.
    """

    weights: list[torch.Tensor]
    biases: list[torch.Tensor]
    wmasks: list[torch.Tensor]
    bmasks: list[torch.Tensor]
    m: list[torch.Tensor] = field(default_factory=list)
    v: list[torch.Tensor] = field(default_factory=list)
    steps: torch.Tensor | None = None
    pruned_state: str = "zero"

    @property
    def n_networks(self) -> int:
        """Number of networks E (int)."""
        return self.weights[0].shape[0]

    @property
    def device(self) -> torch.device:
        """The ``torch.device`` the tensors live on."""
        return self.weights[0].device

    def params(self) -> list[torch.Tensor]:
        """The parameter tensors, weights first, then biases (the order of ``m``, ``v`` and the gradients).

        Returns
        -------
        list of torch.Tensor, float32
            ``weights + biases``: the tensors themselves, not copies.
        """
        return self.weights + self.biases

    def masks(self) -> list[torch.Tensor]:
        """The mask tensors, in :meth:`params` order.

        Returns
        -------
        list of torch.Tensor, float32
            ``wmasks + bmasks``: the tensors themselves, not copies.
        """
        return self.wmasks + self.bmasks

    def state_dict(self) -> dict[str, list[torch.Tensor] | torch.Tensor]:
        """Everything needed to continue training bit for bit (CPU copies).

        Returns
        -------
        dict
            ``weights``, ``biases``, ``wmasks``, ``bmasks``, ``m``, ``v`` (lists of float32 CPU tensors) and
            ``steps`` (int64 CPU tensor (E,)), detached clones, and ``pruned_state`` (str); :meth:`from_state_dict`
            restores it.
        """
        cpu = lambda ts: [t.detach().cpu().clone() for t in ts]  # noqa: E731
        return dict(weights=cpu(self.weights), biases=cpu(self.biases), wmasks=cpu(self.wmasks),
                    bmasks=cpu(self.bmasks), m=cpu(self.m), v=cpu(self.v), steps=self.steps.cpu().clone(),
                    pruned_state=self.pruned_state)

    @classmethod
    def from_state_dict(cls, state: dict, device: str | torch.device = "cpu") -> "Ensemble":
        """An ensemble restored from :meth:`state_dict`'s output.

        Parameters
        ----------
        state : dict
            As :meth:`state_dict` returns: ``weights``, ``biases``, ``wmasks``, ``bmasks``, ``m``, ``v``,
            ``steps`` and (optional, default ``"zero"``) ``pruned_state``.
        device : str or torch.device
            Where to put the tensors (``"cpu"`` or ``"cuda"``); not checked here.

        Returns
        -------
        Ensemble
            With clones of the tensors on ``device``.
        """
        to = lambda ts: [t.to(device).clone() for t in ts]  # noqa: E731
        return cls(weights=to(state["weights"]), biases=to(state["biases"]), wmasks=to(state["wmasks"]),
                   bmasks=to(state["bmasks"]), m=to(state["m"]), v=to(state["v"]),
                   steps=state["steps"].to(device).clone(), pruned_state=state.get("pruned_state", "zero"))


def check_device(device: str) -> torch.device:
    """The device an ensemble is trained on, checked.

    Parameters
    ----------
    device : {"cpu", "cuda"}
        One of :data:`DEVICES`; ``"cuda"`` only if torch sees a CUDA device.

    Returns
    -------
    torch.device

    Raises
    ------
    ValueError
        Naming the parameter ``device`` if it is not one of :data:`DEVICES`, or is ``"cuda"`` on a machine
        without a CUDA device.
    """
    Spec(str, choices=DEVICES).check("device", device)
    if device == "cuda" and not torch.cuda.is_available():
        raise ValueError("parameter 'device' = 'cuda' is invalid: no CUDA device is available here")
    return torch.device(device)


def check_pruned_state(pruned_state: str) -> str:
    """What a prune does to the pruned entries, checked.

    Parameters
    ----------
    pruned_state : {"zero", "keep"}
        One of :data:`PRUNED_STATES` (module docstring).

    Returns
    -------
    str
        ``pruned_state`` unchanged.

    Raises
    ------
    ValueError
        Naming the parameter ``pruned_state`` for anything else.
    """
    return Spec(str, choices=PRUNED_STATES).check("pruned_state", pruned_state)


def check_validation(validation: str) -> str:
    """How validation mini-batches past the end of the validation split are taken, checked.

    Parameters
    ----------
    validation : {"wrap", "exhaust"}
        One of :data:`VALIDATION_MODES` (module docstring).

    Returns
    -------
    str
        ``validation`` unchanged.

    Raises
    ------
    ValueError
        Naming the parameter ``validation`` for anything else.
    """
    return Spec(str, choices=VALIDATION_MODES).check("validation", validation)


def init_ensemble(seeds: Sequence[int], device: str = "cpu", layers: Sequence[int] = LAYERS,
                  pruned_state: str = "zero") -> Ensemble:
    """E fresh networks: member e draws its weights ~ N(0, 0.2²) from ``torch.Generator`` seeded ``seeds[e]``.

    The weights are drawn on the CPU, so the init is the same on every device; biases are 0, masks all ones,
    Adam state zero.

    Parameters
    ----------
    seeds : sequence of int
        One distinct seed per network (e.g. :func:`member_seeds`); E = len(seeds) ≥ 1.
    device : {"cpu", "cuda"}
        Where the tensors live (:func:`check_device`).
    layers : sequence of int
        Layer widths n_0, …, n_L (default :data:`LAYERS`, 10-400-400-400-16-7).
    pruned_state : {"zero", "keep"}
        What later prunes do to the pruned entries (:class:`Ensemble`).

    Returns
    -------
    Ensemble
        Float32 tensors on ``device``: weights (E, n_i, n_{i+1}), biases (E, 1, n_{i+1}), steps int64 (E,) 0.

    Raises
    ------
    ValueError
        If ``seeds`` is empty or not distinct, or ``device`` or ``pruned_state`` is invalid (or the device
        unavailable).
    """
    check_pruned_state(pruned_state)
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
    ens = Ensemble(weights, biases, [torch.ones_like(w) for w in weights], [torch.ones_like(b) for b in biases],
                   pruned_state=pruned_state)
    ens.m = [torch.zeros_like(p) for p in ens.params()]
    ens.v = [torch.zeros_like(p) for p in ens.params()]
    ens.steps = torch.zeros(len(seeds), dtype=torch.int64, device=dev)
    return ens


def from_exchange(weights: Sequence[Sequence[np.ndarray]], masks: Sequence[Sequence[np.ndarray]] | None = None
                  ) -> Ensemble:
    """E networks given in the exchange layout, as an ensemble (CPU) with zero Adam state.

    Parameters
    ----------
    weights : sequence of list of ndarray, float (n_i + 1, n_{i+1})
        Per network, its layers with the biases as a last row.
    masks : sequence of list of ndarray, bool, optional
        Per network, its masks in the same layout; ``None``: a weight is kept where it is nonzero.

    Returns
    -------
    Ensemble
        Float32 weights (E, n_i, n_{i+1}), biases (E, 1, n_{i+1}) and masks; moments zero, steps 0.
    """
    if masks is None:
        masks = [[np.asarray(w) != 0 for w in net] for net in weights]
    n = len(weights[0])
    ws = [torch.from_numpy(np.stack([w[i][:-1] for w in weights]).astype(np.float32)) for i in range(n)]
    bs = [torch.from_numpy(np.stack([w[i][-1] for w in weights]).astype(np.float32))[:, None, :] for i in range(n)]
    wm = [torch.from_numpy(np.stack([m[i][:-1] for m in masks]).astype(np.float32)) for i in range(n)]
    bm = [torch.from_numpy(np.stack([m[i][-1] for m in masks]).astype(np.float32))[:, None, :] for i in range(n)]
    ens = Ensemble(ws, bs, wm, bm)
    ens.m = [torch.zeros_like(p) for p in ens.params()]
    ens.v = [torch.zeros_like(p) for p in ens.params()]
    ens.steps = torch.zeros(len(weights), dtype=torch.int64)
    return ens


def to_exchange(ens: Ensemble, e: int) -> list[np.ndarray]:
    """Network ``e`` of an ensemble in the exchange layout.

    Parameters
    ----------
    ens : Ensemble
        E networks (on any device).
    e : int
        Which of them.

    Returns
    -------
    list of ndarray, float32 (n_i + 1, n_{i+1})
        Its weights with the biases as a last row.
    """
    return [np.vstack([w[e].cpu().numpy(), b[e].cpu().numpy()]).astype(np.float32)
            for w, b in zip(ens.weights, ens.biases)]


def member_seeds(seed: int, n_networks: int, first: int = 0) -> list[int]:
    """Distinct per-network seeds derived from one master seed.

    They are networks ``first … first + n_networks − 1`` of the sequence ``SeedSequence(seed, spawn_key=(k,))``,
    k = 0, 1, 2, … (``numpy.random.SeedSequence.spawn``). A later group of networks (``first`` > 0) thus gets
    seeds distinct from, and independent of, earlier ones.

    Parameters
    ----------
    seed : int
        The master seed (≥ 0).
    n_networks : int
        How many seeds, ≥ 1.
    first : int
        Index of the first network, ≥ 0.

    Returns
    -------
    list of int
        ``n_networks`` seeds, each in [0, 2**32 − 1] (the first uint32 word of each child's state).

    Raises
    ------
    ValueError
        Naming the parameter (``n_networks`` or ``first_network``) if it is not an integer in range.
    """
    n_networks = Spec(int, 1, None).check("n_networks", n_networks)
    first = Spec(int, 0, None).check("first_network", first)
    children = [np.random.SeedSequence(seed, spawn_key=(k,)) for k in range(first, first + n_networks)]
    return [int(c.generate_state(1, dtype=np.uint32)[0]) for c in children]


def _layer(h: torch.Tensor, w: torch.Tensor, b: torch.Tensor, hidden: bool) -> torch.Tensor:
    """One layer of all E networks: ``h @ w + b`` (h (E, B, n_i), w (E, n_i, n_{i+1}), b (E, 1, n_{i+1})), then tanh
    if ``hidden``. tanh is evaluated as 2σ(2z) − 1 — the same function to float32 rounding (max abs difference
    1.8e-7 on [−10, 10]) — because this torch build's vectorised sigmoid is ~3× faster on the CPU than its tanh;
    the factor 2 inside rides on the matrix product (β = α = 2, exact in binary)."""
    if not hidden:
        return torch.baddbmm(b, h, w)
    z2 = torch.baddbmm(b, h, w, beta=2.0, alpha=2.0)
    if torch.is_grad_enabled():                          # out of place, so that autograd can differentiate it
        return 2.0 * torch.sigmoid(z2) - 1.0
    return torch.sigmoid_(z2).mul_(2.0).sub_(1.0)


def forward(weights: Sequence[torch.Tensor], biases: Sequence[torch.Tensor], wmasks: Sequence[torch.Tensor],
            bmasks: Sequence[torch.Tensor], x: torch.Tensor) -> torch.Tensor:
    """Masked batched forward pass: tanh hidden layers, linear output layer, weights and biases times their masks.

    Parameters
    ----------
    weights : sequence of torch.Tensor, float32 (E, n_i, n_{i+1})
        Weight matrices, one per layer.
    biases : sequence of torch.Tensor, float32 (E, 1, n_{i+1})
        Bias vectors, one per layer.
    wmasks : sequence of torch.Tensor, float32 (E, n_i, n_{i+1})
        Weight masks (0/1).
    bmasks : sequence of torch.Tensor, float32 (E, 1, n_{i+1})
        Bias masks (0/1).
    x : torch.Tensor, float32 (B, n_0) or (E, B, n_0)
        Scaled inputs, shared by all networks or one batch per network.

    Returns
    -------
    torch.Tensor, float32 (E, B, 7)
        Scaled outputs of every network (differentiable when grad is enabled).
    """
    return _forward_masked([w * wm for w, wm in zip(weights, wmasks)], [b * bm for b, bm in zip(biases, bmasks)], x)


def _forward_masked(weights: Sequence[torch.Tensor], biases: Sequence[torch.Tensor], x: torch.Tensor) -> torch.Tensor:
    """Forward pass with the masks already applied to ``weights`` and ``biases`` (see :func:`forward`)."""
    e = weights[0].shape[0]
    h = x.expand(e, *x.shape) if x.dim() == 2 else x
    last = len(weights) - 1
    for i, (w, b) in enumerate(zip(weights, biases)):
        h = _layer(h, w, b, i < last)
    return h


#: Evaluate the networks one by one on their live nodes when that needs at most this fraction of the products.
COMPACT_BELOW = 0.6


def _compact(ens: Ensemble) -> list[tuple[np.ndarray, list[torch.Tensor], list[torch.Tensor]]] | None:
    """Each network reduced to its live nodes (:func:`helpers.graph.live_nodes`: ghost and dead nodes removed,
    which leaves its function unchanged): per network (live inputs, weights (1, live_i, live_{i+1}), biases
    (1, 1, live_{i+1})), all outputs kept. ``None`` where that saves too little (see :data:`COMPACT_BELOW`)."""
    from helpers import graph

    e = ens.n_networks
    wm = [m.cpu().numpy() > 0 for m in ens.wmasks]
    bm = [m.cpu().numpy() > 0 for m in ens.bmasks]
    dense = sum(w.shape[1] * w.shape[2] for w in ens.weights)
    plans, cost = [], 0
    for net in range(e):
        live = graph.live_nodes([np.concatenate([w[net], b[net]]) for w, b in zip(wm, bm)])
        idx = [np.flatnonzero(v[:-1]) for v in live[:-1]] + [np.arange(ens.weights[-1].shape[2])]
        cost += sum(len(a) * len(b) for a, b in zip(idx[:-1], idx[1:]))
        plans.append(idx)
    if cost > COMPACT_BELOW * e * dense:
        return None
    out = []
    for net, idx in enumerate(plans):
        ws = [(w[net] * m[net])[np.ix_(a, b)][None] for w, m, a, b in zip(ens.weights, ens.wmasks, idx[:-1], idx[1:])]
        bs = [(b[net] * m[net])[:, c][None] for b, m, c in zip(ens.biases, ens.bmasks, idx[1:])]
        out.append((idx[0], ws, bs))
    return out


def _chunks(ens: Ensemble, x: np.ndarray | torch.Tensor, chunk: int | None):
    """Inputs in row chunks on the ensemble's device, with the masked parameters computed once: yields
    (start, outputs (E, rows, 7)). Default chunk: 1024 rows on a CPU (the activations stay in cache; measured
    1.4× faster than 8192 rows for E = 4), 16384 on a GPU. On a CPU, sparse networks are evaluated one by one
    on their live nodes (:func:`_compact`) when that saves enough multiplications."""
    x = torch.as_tensor(np.asarray(x, dtype=np.float32))
    cpu = ens.device.type == "cpu"
    if chunk is None:
        chunk = 1024 if cpu else 16384
    with torch.no_grad():
        compact = _compact(ens) if cpu else None
        ws = [w * m for w, m in zip(ens.weights, ens.wmasks)]
        bs = [b * m for b, m in zip(ens.biases, ens.bmasks)]
        for start in range(0, len(x), chunk):
            xb = x[start:start + chunk].to(ens.device)
            if compact is None:
                yield start, _forward_masked(ws, bs, xb)
            else:
                yield start, torch.cat([_forward_masked(cw, cb, xb[:, live_in]) for live_in, cw, cb in compact])


def predict(ens: Ensemble, x: np.ndarray | torch.Tensor, chunk: int | None = None) -> np.ndarray:
    """Outputs of every network for inputs ``x``, in chunks, no grad.

    On a CPU, sparse networks are evaluated one by one on their live nodes when that saves enough
    multiplications (:data:`COMPACT_BELOW`).

    Parameters
    ----------
    ens : Ensemble
        The E networks.
    x : ndarray or torch.Tensor, float (N, 10)
        Scaled inputs.
    chunk : int, optional
        Rows per chunk; default 1024 on a CPU, 16384 on a GPU.

    Returns
    -------
    ndarray, float32 (E, N, 7)
        Scaled outputs.
    """
    return torch.cat([out.cpu() for _, out in _chunks(ens, x, chunk)], dim=1).numpy()


def mse(ens: Ensemble, x: np.ndarray, y: np.ndarray, chunk: int | None = None) -> np.ndarray:
    """Per-network mean squared error on the whole set (over all N rows and 7 outputs).

    Parameters
    ----------
    ens : Ensemble
        The E networks.
    x : ndarray, float (N, 10)
        Scaled inputs.
    y : ndarray, float (N, 7)
        Scaled target outputs.
    chunk : int, optional
        Rows per chunk (as for :func:`predict`).

    Returns
    -------
    ndarray, float64 (E,)
        The MSE in scaled units (the loss the selection's threshold refers to), accumulated in float64.
    """
    y = torch.as_tensor(np.asarray(y, dtype=np.float32))
    total = torch.zeros(ens.n_networks, dtype=torch.float64)
    for start, out in _chunks(ens, x, chunk):
        yb = y[start:start + out.shape[1]].to(ens.device)
        total += ((out - yb) ** 2).sum(dim=(1, 2)).double().cpu()
    return (total / (len(y) * y.shape[1])).numpy()


def r2_scores(ens: Ensemble, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Coefficient of determination per network and output, R² = 1 − Σ(ŷ − y)² / Σ(y − ȳ)².

    R² is invariant to the per-column affine scaling, so it is the same in scaled and physical units.

    Parameters
    ----------
    ens : Ensemble
        The E networks.
    x : ndarray, float (N, 10)
        Scaled inputs.
    y : ndarray, float (N, 7)
        Target outputs, scaled (or raw: the result is the same).

    Returns
    -------
    ndarray, float64 (E, 7)
        R² of each network's prediction of each output.
    """
    y = np.asarray(y, dtype=np.float64)
    pred = predict(ens, x).astype(np.float64)
    return 1.0 - ((pred - y) ** 2).sum(axis=1) / ((y - y.mean(axis=0)) ** 2).sum(axis=0)


def closed_loop_errors(outputs: np.ndarray, dataset, split: str = "test") -> np.ndarray:
    """Fly the simulator with predicted controls and return the miss: final (x, y, θ, φ) − target.

    Each network's outputs are unscaled, turned into controls (F, α, τ) by
    ``helpers.data.controls_from_outputs`` and integrated for 20 ms from the sample's initial state with
    ``helpers.flight.simulate``.

    Parameters
    ----------
    outputs : ndarray, float (E, n, 7)
        Scaled network outputs for the first n samples of ``split`` of ``dataset``.
    dataset : helpers.data.Dataset
        The data set the samples come from (its scaler, initial states and targets).
    split : {"train", "val", "test"}
        The split the samples come from.

    Returns
    -------
    ndarray, float64 (E, n, 4)
        Final (x, y, θ, φ) minus the target (x_f, y_f, θ_f, φ_f), in cm, cm, rad, rad.

    Raises
    ------
    ValueError
        If ``outputs`` is not of shape (E, n, 7), ``split`` has fewer than n samples or is not a split, or
        the outputs are non-finite.
    RuntimeError
        If an integration fails (:func:`helpers.flight.simulate`).
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
    """Install new masks in place; with ``ens.pruned_state == "zero"`` also zero the pruned weights, biases and
    their Adam moments.

    With ``"zero"`` masks may only shrink (a 0 stays 0), so nothing pruned can come back. With ``"keep"`` (the
    original's) the raw values and moments of pruned entries are left as they are, and a new mask may revive an
    entry (the original's rule does so when a pruned weight's raw magnitude drifted above the cutoff).

    Parameters
    ----------
    ens : Ensemble
        The ensemble; its masks, parameters and moments are modified in place.
    wmasks : sequence of array_like, (E, n_i, n_{i+1})
        New weight masks, bool or 0/1, one per layer (reshaped to the old masks' shapes).
    bmasks : sequence of array_like, (E, 1, n_{i+1})
        New bias masks, bool or 0/1.

    Raises
    ------
    ValueError
        If, with ``pruned_state == "zero"``, a new mask would revive a pruned parameter (a 1 where the old mask has
        a 0).
    """
    keep = ens.pruned_state == "keep"
    for i, (old, new) in enumerate(zip(ens.masks(), list(wmasks) + list(bmasks))):
        new = torch.as_tensor(new, dtype=old.dtype, device=old.device).reshape(old.shape)
        if not keep and bool(((new != 0) & (old == 0)).any()):
            raise ValueError(f"mask {i} would revive pruned parameters; masks may only lose entries")
        old.copy_(new)
    if keep:
        return
    with torch.no_grad():
        for p, mk, m, v in zip(ens.params(), ens.masks(), ens.m, ens.v):
            p.mul_(mk)
            m.mul_(mk)
            v.mul_(mk)


# -------------------------------------------------------------------------------------------- training

@dataclass
class RoundResult:
    """What one training round did (:func:`train_round`); n is the number of batches run in total.

    Parameters
    ----------
    batches : ndarray, int64 (E,)
        Batches each network trained.
    train_loss : ndarray, float32 (E, n)
        Per-batch training loss (scaled MSE); NaN after a network stopped.
    val_loss : ndarray, float32 (E, n)
        Per-batch validation mini-batch loss; NaN after a network stopped.
    """

    batches: np.ndarray
    train_loss: np.ndarray
    val_loss: np.ndarray


def _loss_and_grads(ens: Ensemble, x: torch.Tensor, y: torch.Tensor, n_train: int, loss_networks: int = 1
                    ) -> tuple[torch.Tensor, torch.Tensor, list[torch.Tensor]]:
    """Forward pass of rows ``x`` (B, n_0) through every network, and back-propagation of the per-network MSE of
    the first ``n_train`` rows against ``y`` (n_train, 7) only.

    Returns ``(loss, out_rest, grads)``: loss (E,) on the training rows; the outputs (E, B − n_train, 7) of the
    remaining rows (the step's validation mini-batch rides along in the same products: the weights are the
    same, so its loss is what a separate forward pass would give); gradients of Σ_e loss_e / ``loss_networks``
    in :meth:`Ensemble.params` order. The backward pass is written out (dL/dW_i = h_iᵀ δ_i ⊙ mask_i,
    δ_{i−1} = (δ_i (W_i ⊙ mask_i)ᵀ) ⊙ (1 − h_i²) for tanh), which is the gradient of the masked forward pass of
    :func:`forward`. With ``pruned_state == "zero"`` pruned weights and biases are held at exactly 0, so
    W ⊙ mask = W and the products skip the mask; with ``"keep"`` their raw values are not 0 and the mask is
    applied.
    """
    e = ens.n_networks
    if ens.pruned_state == "keep":
        ws = [w * m for w, m in zip(ens.weights, ens.wmasks)]
        bs = [b * m for b, m in zip(ens.biases, ens.bmasks)]
    else:
        ws, bs = ens.weights, ens.biases
    h = x.expand(e, *x.shape)
    hs = []                                                    # input of each layer, (E, B, n_i)
    last = len(ws) - 1
    for i, (w, b) in enumerate(zip(ws, bs)):
        hs.append(h)
        h = _layer(h, w, b, i < last)
    diff = h[:, :n_train] - y                                  # (E, n_train, 7)
    loss = diff.square().mean(dim=(1, 2))
    delta = diff * (2.0 / (diff[0].numel() * loss_networks))
    gw: list[torch.Tensor] = [None] * len(ens.weights)         # type: ignore[list-item]
    gb: list[torch.Tensor] = [None] * len(ens.weights)         # type: ignore[list-item]
    for i in range(last, -1, -1):
        inp = hs[i][:, :n_train]
        gw[i] = torch.bmm(inp.transpose(1, 2), delta).mul_(ens.wmasks[i])
        gb[i] = delta.sum(dim=1, keepdim=True).mul_(ens.bmasks[i])
        if i > 0:
            delta = torch.bmm(delta, ws[i].transpose(1, 2))
            delta.addcmul_(delta * inp, inp, value=-1.0)                # δ ⊙ (1 − h²)
    return loss, h[:, n_train:], gw + gb


def _adam_step(ens: Ensemble, grads: Sequence[torch.Tensor], active: torch.Tensor, nets: Sequence[int]) -> None:
    """One Adam update (``torch.optim.Adam``'s formula) of the active networks, in torch's fused Adam kernel.

    ``active``: (E,) bool on the ensemble's device; ``nets``: the same as a list of indices (kept on the host so
    that no step waits for the device). Every (parameter tensor, network) pair is passed as its own view with
    that network's step count, so each network gets its own bias correction and stopped networks are left out.
    Pruned entries stay exactly 0 without further masking: their gradient is 0 (the mask multiplies the weight
    in the forward pass) and their moments were zeroed at the prune, so their update m / (√v + ε) is 0.
    """
    ens.steps += active.to(ens.steps.dtype)
    if not nets:
        return
    step = ens.steps.to(torch.float32).unbind(0)
    params, grad_views, exp_avgs, exp_avg_sqs, steps = [], [], [], [], []
    for p, g, m, v in zip(ens.params(), grads, ens.m, ens.v):
        pv, gv, mv, vv = p.unbind(0), g.unbind(0), m.unbind(0), v.unbind(0)
        for e in nets:
            params.append(pv[e]); grad_views.append(gv[e]); exp_avgs.append(mv[e]); exp_avg_sqs.append(vv[e])
            steps.append(step[e])
    with torch.no_grad():
        torch._fused_adam_(params, grad_views, exp_avgs, exp_avg_sqs, [], steps, lr=LR, beta1=BETA1, beta2=BETA2,
                           weight_decay=0.0, eps=EPS, amsgrad=False, maximize=False)


def check_stopping(stopping: str | None) -> str | None:
    """The early-stopping mode of a round, checked.

    Parameters
    ----------
    stopping : {"group", "network"} or None
        One decision for the whole group (the original's), one per network, or ``None`` (no early stopping).

    Returns
    -------
    str or None
        ``stopping`` unchanged.

    Raises
    ------
    ValueError
        Naming the parameter ``stopping`` for anything else.
    """
    return None if stopping is None else Spec(str, choices=STOPPING_MODES).check("stopping", stopping)


def train_round(ens: Ensemble, x_train: np.ndarray, y_train: np.ndarray, x_val: np.ndarray, y_val: np.ndarray,
                max_batches: int, batch_size: int = BATCH, stopping: str | None = "group",
                progress: Callable[[int], None] | None = None, loss_networks: int = 1,
                validation: str | None = "wrap") -> RoundResult:
    """Train every network for one round (see module docstring) in place and return its record.

    Parameters
    ----------
    ens : Ensemble
        The E networks; parameters, Adam moments and step counts are updated in place.
    x_train : ndarray, float32 (N, 10)
        Scaled training inputs, taken in order in batches of ``batch_size``.
    y_train : ndarray, float32 (N, 7)
        Scaled training outputs.
    x_val : ndarray, float32 (N_val, 10)
        Scaled validation inputs (mini-batch k rides along with training batch k).
    y_val : ndarray, float32 (N_val, 7)
        Scaled validation outputs.
    max_batches : int
        Cap on the round's length (≥ 1).
    batch_size : int
        Rows per batch (default :data:`BATCH`, 128).
    stopping : {"group", "network"} or None
        Early stopping (module docstring).
    progress : callable, optional
        Callback receiving the batch count every 100 batches.
    loss_networks : int
        The summed per-network losses are divided by this (≥ 1; the original's 400, module docstring).
    validation : {"wrap", "exhaust"} or None
        Validation mini-batches past the end of the split: wrap round it, or NaN (module docstring); ``None``: no
        validation mini-batch rides along (the validation losses are NaN; only with ``stopping=None``).

    Returns
    -------
    RoundResult
        Batches per network and the per-batch training and validation losses.

    Raises
    ------
    ValueError
        If ``max_batches`` or ``loss_networks`` < 1, ``stopping`` or ``validation`` is invalid (``validation=None``
        with early stopping), or the training or validation data hold less than one full batch.
    """
    Spec(int, 1, None).check("max_batches", max_batches)
    Spec(int, 1, None).check("loss_networks", loss_networks)
    check_stopping(stopping)
    if validation is None:
        if stopping is not None:
            raise ValueError(f"parameter 'validation' is None, but stopping={stopping!r} needs the validation "
                             "losses; pass stopping=None")
    else:
        check_validation(validation)
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
    flush = ens.pruned_state == "keep" and torch.set_flush_denormal(True)    # module docstring; False if unsupported
    try:
        return _round(ens, xt, yt, xv, yv, max_batches, batch_size, stopping, progress, loss_networks, validation)
    finally:
        if flush:
            torch.set_flush_denormal(False)


def _round(ens: Ensemble, xt: torch.Tensor, yt: torch.Tensor, xv: torch.Tensor, yv: torch.Tensor, max_batches: int,
           batch_size: int, stopping: str | None, progress: Callable[[int], None] | None, loss_networks: int,
           validation: str | None) -> RoundResult:
    """The loop of :func:`train_round` on checked tensors already on the ensemble's device."""
    dev = ens.device
    n_train = len(xt) // batch_size
    n_val = len(xv) // batch_size
    e = ens.n_networks
    active = torch.ones(e, dtype=torch.bool, device=dev)
    nets = list(range(e))                                 # the active networks, on the host
    # per-batch losses stay on the device; a CPU mirror is refreshed every STOP_EVERY batches (one sync per
    # 100 batches instead of one per batch, which matters on a GPU)
    nan = torch.tensor(float("nan"), device=dev)
    train_dev = torch.full((e, max_batches), float("nan"), dtype=torch.float32, device=dev)
    val_dev = torch.full((e, max_batches), float("nan"), dtype=torch.float32, device=dev)
    val_hist = np.full((e, max_batches), np.nan, dtype=np.float32)
    n_done = synced = 0

    with torch.no_grad():
        for k in range(max_batches):
            j, jv = k % n_train, k % n_val
            yb = yt[j * batch_size:(j + 1) * batch_size]
            if validation is None or (validation == "exhaust" and k >= n_val):   # none, or the original's empty slice
                loss, _, grads = _loss_and_grads(ens, xt[j * batch_size:(j + 1) * batch_size], yb, batch_size,
                                                 loss_networks)
                val_loss = torch.full_like(loss, float("nan"))
            else:
                # validation batch k rides along in the products of training batch k, before the update
                xb = torch.cat([xt[j * batch_size:(j + 1) * batch_size],
                                xv[jv * batch_size:(jv + 1) * batch_size]])
                loss, out_val, grads = _loss_and_grads(ens, xb, yb, batch_size, loss_networks)
                val_loss = ((out_val - yv[jv * batch_size:(jv + 1) * batch_size]) ** 2).mean(dim=(1, 2))
            val_dev[:, k] = torch.where(active, val_loss, nan)
            train_dev[:, k] = torch.where(active, loss, nan)
            _adam_step(ens, grads, active, nets)
            n_done = k + 1
            if n_done % STOP_EVERY == 0:
                val_hist[:, synced:n_done] = val_dev[:, synced:n_done].cpu().numpy()
                synced = n_done
                if progress is not None:
                    progress(n_done)
                if stopping is not None and n_done > STOP_START:
                    act_np = active.cpu().numpy()
                    if stopping == "group":
                        stop = np.full(e, bool(stop_rule(val_hist[:, :n_done].mean(axis=0))))
                    else:
                        stop = np.zeros(e, dtype=bool)
                        stop[act_np] = stop_rule(val_hist[act_np, :n_done])
                    active &= torch.as_tensor(~stop, device=dev)
                    nets = [net for net in nets if not stop[net]]
                    if not bool(active.any()):
                        break
    val_hist = val_dev[:, :n_done].cpu().numpy()
    train_hist = train_dev[:, :n_done].cpu().numpy()
    batches = (~np.isnan(train_hist)).sum(axis=1).astype(np.int64)
    return RoundResult(batches=batches, train_loss=train_hist, val_loss=val_hist)
