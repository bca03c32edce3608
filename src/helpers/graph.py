"""A pruned network as a layered directed graph: the exchange layout, ghost/dead node removal, conversions.

Exchange layout (SPEC §5): a network with layer sizes ``n = (n_0, …, n_L)`` is a list of ``L`` binary masks,
``m[i]`` of shape ``(n_i + 1, n_{i+1})``. Rows ``0 … n_i − 1`` are the neurons of layer ``i``, the **last row is
layer i's bias**, treated as an extra source node; columns are the neurons of layer ``i + 1``. ``m[i][j, k] = 1``
is a directed edge (an unpruned weight, or an unpruned bias when ``j = n_i``) from node ``j`` of layer ``i`` to
node ``k`` of layer ``i + 1``. Layer 0 holds the inputs, layer ``L`` the outputs. Weights in the same layout
(last row = bias vector) are what :func:`mlp_forward` evaluates.

Every function accepts any layer sizes; the paper architecture is :data:`PAPER_SIZES`.
"""
from __future__ import annotations

from collections.abc import Sequence

import networkx as nx
import numpy as np

#: Layer sizes of the original architecture, inputs to outputs.
PAPER_SIZES = (10, 400, 400, 400, 16, 7)


def validate(masks: Sequence) -> list[np.ndarray]:
    """Check the exchange layout and return the masks as new ``bool`` arrays.

    Raises ``ValueError`` naming the offending layer index when a mask is not 2-D, has no bias row or no column,
    holds values other than 0/1, or when consecutive shapes do not fit (``m[i].shape[1] != m[i+1].shape[0] − 1``).
    """
    if isinstance(masks, np.ndarray) or not isinstance(masks, Sequence) or len(masks) == 0:
        raise ValueError("masks must be a non-empty list of 2-D binary arrays (one per layer, last row = bias)")
    out = []
    for i, m in enumerate(masks):
        try:
            a = np.asarray(m)
        except Exception as exc:  # ragged input etc.
            raise ValueError(f"mask of layer {i} is not an array: {exc}") from None
        if a.ndim != 2:
            raise ValueError(f"mask of layer {i} must be 2-D (n_i + 1, n_(i+1)); got shape {a.shape}")
        if a.shape[0] < 2 or a.shape[1] < 1:
            raise ValueError(f"mask of layer {i} has shape {a.shape}: it needs at least one neuron row, the bias "
                             "row and one column")
        if a.dtype != bool:
            if not (np.issubdtype(a.dtype, np.number)) or np.issubdtype(a.dtype, np.complexfloating):
                raise ValueError(f"mask of layer {i} must be binary; got dtype {a.dtype}")
            if not np.all((a == 0) | (a == 1)):
                raise ValueError(f"mask of layer {i} must be binary (0/1); it holds other values")
        out.append(a.astype(bool, copy=True))
    for i in range(len(out) - 1):
        if out[i].shape[1] != out[i + 1].shape[0] - 1:
            raise ValueError(f"masks of layers {i} and {i + 1} do not fit: layer {i} has {out[i].shape[1]} targets "
                             f"but layer {i + 1} has {out[i + 1].shape[0] - 1} sources (+1 bias row)")
    return out


def sizes(masks: Sequence) -> tuple[int, ...]:
    """Layer sizes ``(n_0, …, n_L)`` of a network in the exchange layout (bias rows not counted)."""
    m = validate(masks)
    return tuple(a.shape[0] - 1 for a in m) + (m[-1].shape[1],)


def clean(masks: Sequence) -> list[np.ndarray]:
    """Remove ghost and dead nodes (SPEC §5); returns new ``bool`` masks of the same shapes.

    Ghost: a node of layers ``1 … L−1`` without incoming edge (its bias entry counts as one); a forward sweep
    zeroes its outgoing row, which may create ghosts in the next layer (cascade). Dead: a hidden node without
    outgoing edge; a backward sweep zeroes its incoming column, bias entry included (cascades backwards). Ghosts
    first, then dead nodes; the result is a fixed point of both rules. With ``tanh`` (``tanh 0 = 0``) a ghost
    outputs exactly 0 and a dead node feeds nothing, so the network's function is unchanged.
    """
    m = validate(masks)
    L = len(m)
    for i in range(1, L):  # forward: ghosts of layer i have an empty column in m[i-1]
        ghost = ~m[i - 1].any(axis=0)
        m[i][:-1][ghost] = False
    for i in range(L - 1, 0, -1):  # backward: dead nodes of layer i have an empty (non-bias) row in m[i]
        dead = ~m[i][:-1].any(axis=1)
        m[i - 1][:, dead] = False
    return m


def live_nodes(masks: Sequence) -> list[np.ndarray]:
    """Which nodes carry an edge after :func:`clean`: a list of ``L + 1`` bool arrays.

    Entry ``ℓ < L`` has length ``n_ℓ + 1`` (last = the bias node, live if it has an outgoing edge); entry ``L``
    (outputs) has length ``n_L`` (live if it has an incoming edge).
    """
    m = clean(masks)
    live = [m[0].any(axis=1)]
    for i in range(1, len(m)):
        live.append(m[i].any(axis=1))
    live.append(m[-1].any(axis=0))
    return live


def live_counts(masks: Sequence) -> tuple[int, ...]:
    """Number of live nodes per layer after :func:`clean`, bias nodes included (``L + 1`` ints)."""
    return tuple(int(a.sum()) for a in live_nodes(masks))


def to_networkx(masks: Sequence) -> nx.DiGraph:
    """The network as a ``networkx.DiGraph`` with every node (isolated ones too).

    Nodes are ``(layer, index)``; the bias of layer ``ℓ`` is ``(ℓ, n_ℓ)`` and has attribute ``bias=True``.
    """
    m = validate(masks)
    g = nx.DiGraph()
    for i, a in enumerate(m):
        for j in range(a.shape[0]):
            g.add_node((i, j), layer=i, bias=(j == a.shape[0] - 1))
    for k in range(m[-1].shape[1]):
        g.add_node((len(m), k), layer=len(m), bias=False)
    for i, a in enumerate(m):
        src, dst = np.nonzero(a)
        g.add_edges_from(((i, int(s)), (i + 1, int(d))) for s, d in zip(src, dst))
    return g


def mlp_forward(weights: Sequence[np.ndarray], masks: Sequence, x: np.ndarray) -> np.ndarray:
    """Evaluate the masked MLP: ``tanh`` on hidden layers, linear output.

    ``weights[i]``: float array ``(n_i + 1, n_{i+1})`` in the exchange layout (last row = bias vector);
    ``x``: ``(batch, n_0)``. Returns ``(batch, n_L)`` float64.
    """
    m = validate(masks)
    if len(weights) != len(m) or any(np.shape(w) != a.shape for w, a in zip(weights, m)):
        raise ValueError("weights must have the masks' shapes, layer by layer")
    h = np.asarray(x, dtype=np.float64)
    if h.ndim != 2 or h.shape[1] != m[0].shape[0] - 1:
        raise ValueError(f"x must have shape (batch, {m[0].shape[0] - 1}); got {h.shape}")
    for i, (w, a) in enumerate(zip(weights, m)):
        wm = np.asarray(w, dtype=np.float64) * a
        h = h @ wm[:-1] + wm[-1]
        if i < len(m) - 1:
            h = np.tanh(h)
    return h


def synthetic_pruned(sizes: Sequence[int] = PAPER_SIZES, sparsity: float = 0.93, seed: int = 0,
                     weight_sd: float = 0.2, bias_sd: float = 0.2, bias_rule: str = "original",
                     return_weights: bool = False):
    """An untrained network pruned like the original: weights ``N(0, weight_sd²)``, layer-wise magnitude pruning.

    Each weight matrix keeps its ``round((1 − sparsity)·n_i·n_{i+1})`` largest-magnitude weights (at least one).
    Biases are drawn ``N(0, bias_sd²)``; ``bias_rule="original"`` keeps a bias only if its magnitude reaches the
    layer's weight cutoff (defect B3), ``"keep"`` keeps every bias. Returns the masks (exchange layout, bool), or
    ``(weights, masks)`` with ``return_weights=True`` (weights float64 in the same layout, masked entries zero). A stand-in for a trained network (same architecture and
    pruning rule, no training).
    """
    n = tuple(int(v) for v in sizes)
    if len(n) < 2 or min(n) < 1:
        raise ValueError(f"sizes must list at least two positive layer sizes; got {sizes!r}")
    if not 0.0 <= sparsity < 1.0:
        raise ValueError(f"sparsity must be in [0, 1); got {sparsity!r}")
    if bias_rule not in ("original", "keep"):
        raise ValueError(f"bias_rule must be 'original' or 'keep'; got {bias_rule!r}")
    rng = np.random.default_rng(seed)
    weights, masks = [], []
    for a, b in zip(n[:-1], n[1:]):
        w = rng.normal(0.0, weight_sd, size=(a, b))
        bias = rng.normal(0.0, bias_sd, size=b)
        keep = max(1, int(round((1.0 - sparsity) * a * b)))
        cutoff = np.sort(np.abs(w), axis=None)[::-1][keep - 1]
        wm = np.abs(w) >= cutoff
        bm = np.abs(bias) >= cutoff if bias_rule == "original" else np.ones(b, bool)
        mask = np.vstack([wm, bm[None, :]])
        masks.append(mask)
        weights.append(np.vstack([w, bias[None, :]]) * mask)
    return (weights, masks) if return_weights else masks
