"""A pruned network as a layered directed graph: the exchange layout, ghost/dead node removal, conversions.

Exchange layout (the format of the original's released masks, chapter 5): a network with layer sizes
``n = (n_0, …, n_L)`` is a list of ``L`` binary masks, ``m[i]`` of shape ``(n_i + 1, n_{i+1})``. Rows
``0 … n_i − 1`` are the neurons of layer ``i``, the **last row is layer i's bias**, treated as an extra source
node; columns are the neurons of layer ``i + 1``. ``m[i][j, k] = 1`` is a directed edge (an unpruned weight, or
an unpruned bias when ``j = n_i``) from node ``j`` of layer ``i`` to node ``k`` of layer ``i + 1``. Layer 0 holds
the inputs, layer ``L`` the outputs. Weights in the same layout (last row = bias vector) are what
:func:`mlp_forward` evaluates.

Every function accepts any layer sizes; the paper architecture is :data:`PAPER_SIZES`.
"""
from __future__ import annotations

from collections.abc import Sequence

import networkx as nx
import numpy as np

from helpers.checks import Spec

#: Layer sizes of the original architecture, inputs to outputs.
PAPER_SIZES = (10, 400, 400, 400, 16, 7)


def validate(masks: Sequence) -> list[np.ndarray]:
    """Check the exchange layout and return the masks as new ``bool`` arrays.

    Parameters
    ----------
    masks : sequence of array_like, bool or 0/1 (n_i + 1, n_{i+1})
        One mask per layer of weights, bias row last (a list or tuple, not one ndarray); numeric masks must hold
        only 0 and 1.

    Returns
    -------
    list of ndarray, bool (n_i + 1, n_{i+1})
        Copies of the masks (the input is never changed).

    Raises
    ------
    ValueError
        If ``masks`` is not a non-empty sequence, and naming the offending layer index when a mask is not an
        array or not 2-D, has no bias row or no column (fewer than 2 rows or 1 column), holds values other than
        0/1 (or is complex or not numeric), or when consecutive shapes do not fit
        (``m[i].shape[1] != m[i+1].shape[0] − 1``).
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
    """Layer sizes ``(n_0, …, n_L)`` of a network in the exchange layout (bias rows not counted).

    Parameters
    ----------
    masks : sequence of array_like, bool or 0/1 (n_i + 1, n_{i+1})
        The network in the exchange layout, bias row last.

    Returns
    -------
    tuple of int
        ``L + 1`` layer sizes, inputs to outputs (e.g. :data:`PAPER_SIZES`).

    Raises
    ------
    ValueError
        From :func:`validate` when ``masks`` is not in the exchange layout.
    """
    m = validate(masks)
    return tuple(a.shape[0] - 1 for a in m) + (m[-1].shape[1],)


def clean(masks: Sequence) -> list[np.ndarray]:
    """Remove ghost and dead nodes (chapter 5); returns new ``bool`` masks of the same shapes.

    Ghost: a node of layers ``1 … L−1`` without incoming edge (its bias entry counts as one); a forward sweep
    zeroes its outgoing row, which may create ghosts in the next layer (cascade). Dead: a hidden node without
    outgoing edge; a backward sweep zeroes its incoming column, bias entry included (cascades backwards). Ghosts
    first, then dead nodes; the result is a fixed point of both rules. With ``tanh`` (``tanh 0 = 0``) a ghost
    outputs exactly 0 and a dead node feeds nothing, so the network's function is unchanged.

    Parameters
    ----------
    masks : sequence of array_like, bool or 0/1 (n_i + 1, n_{i+1})
        The network in the exchange layout, bias row last; not changed.

    Returns
    -------
    list of ndarray, bool (n_i + 1, n_{i+1})
        The cleaned masks: the edges of ghost and dead nodes removed, shapes (and so node indices) unchanged.

    Raises
    ------
    ValueError
        From :func:`validate` when ``masks`` is not in the exchange layout.
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

    Parameters
    ----------
    masks : sequence of array_like, bool or 0/1 (n_i + 1, n_{i+1})
        The network in the exchange layout, bias row last; cleaned (:func:`clean`) before the nodes are read.

    Returns
    -------
    list of ndarray, bool
        Entry ``ℓ < L`` has length ``n_ℓ + 1`` (a node is live if it has an outgoing edge; last = the bias
        node); entry ``L`` (outputs) has length ``n_L`` (live if it has an incoming edge).

    Raises
    ------
    ValueError
        From :func:`validate` when ``masks`` is not in the exchange layout.
    """
    m = clean(masks)
    live = [m[0].any(axis=1)]
    for i in range(1, len(m)):
        live.append(m[i].any(axis=1))
    live.append(m[-1].any(axis=0))
    return live


def live_counts(masks: Sequence) -> tuple[int, ...]:
    """Number of live nodes per layer after :func:`clean`, bias nodes included (``L + 1`` ints).

    Parameters
    ----------
    masks : sequence of array_like, bool or 0/1 (n_i + 1, n_{i+1})
        The network in the exchange layout, bias row last.

    Returns
    -------
    tuple of int
        ``L + 1`` counts, inputs to outputs: the sums of :func:`live_nodes`'s arrays (the bias node counts in
        layers ``0 … L−1``, the output layer has none).

    Raises
    ------
    ValueError
        From :func:`validate` when ``masks`` is not in the exchange layout.
    """
    return tuple(int(a.sum()) for a in live_nodes(masks))


def to_networkx(masks: Sequence) -> nx.DiGraph:
    """The network as a ``networkx.DiGraph`` with every node (isolated ones too).

    Parameters
    ----------
    masks : sequence of array_like, bool or 0/1 (n_i + 1, n_{i+1})
        The network in the exchange layout, bias row last; used as it is (not cleaned).

    Returns
    -------
    networkx.DiGraph
        Nodes are ``(layer, index)`` tuples of ints with attributes ``layer`` (int) and ``bias`` (bool); the bias
        of layer ``ℓ`` is ``(ℓ, n_ℓ)`` and has attribute ``bias=True``. One edge ``(i, j) → (i + 1, k)`` per
        ``m[i][j, k] = 1``.

    Raises
    ------
    ValueError
        From :func:`validate` when ``masks`` is not in the exchange layout.
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

    Layer by layer ``h ← h · (w ⊙ m)[:-1] + (w ⊙ m)[-1]``: a weight or bias whose mask entry is 0 counts as 0.

    Parameters
    ----------
    weights : sequence of array_like, float (n_i + 1, n_{i+1})
        ``weights[i]``: the weights of layer ``i`` in the exchange layout (last row = bias vector), the masks'
        shapes.
    masks : sequence of array_like, bool or 0/1 (n_i + 1, n_{i+1})
        The network's masks in the exchange layout, bias row last.
    x : array_like, float (batch, n_0)
        The inputs, one row per sample.

    Returns
    -------
    ndarray, float64 (batch, n_L)
        The outputs.

    Raises
    ------
    ValueError
        If the masks are not in the exchange layout (:func:`validate`), ``weights`` does not have the masks'
        shapes layer by layer, or ``x`` is not of shape ``(batch, n_0)``.
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

    A stand-in for a trained network (same architecture and pruning rule, no training). Each weight matrix keeps
    its ``round((1 − sparsity)·n_i·n_{i+1})`` largest-magnitude weights (at least one). Biases are drawn
    ``N(0, bias_sd²)``; ``bias_rule="original"`` keeps a bias only if its magnitude reaches the layer's weight
    cutoff (defect B3, chapter 8), ``"keep"`` keeps every bias.

    Parameters
    ----------
    sizes : sequence of int
        Layer sizes ``(n_0, …, n_L)``, inputs to outputs: at least two, each ≥ 1 (default :data:`PAPER_SIZES`).
    sparsity : float
        Fraction of each layer's weights pruned, in [0, 1).
    seed : int
        Seed of :func:`numpy.random.default_rng`; the same seed gives the same network.
    weight_sd, bias_sd : float
        Standard deviations of the normal weights and biases.
    bias_rule : {"original", "keep"}
        How biases are pruned (see above).
    return_weights : bool
        Also return the weights.

    Returns
    -------
    masks : list of ndarray, bool (n_i + 1, n_{i+1})
        The pruned network in the exchange layout (bias row last), when ``return_weights`` is False.
    (weights, masks) : tuple of two lists of ndarray
        With ``return_weights=True``: the weights, float64 in the same layout and shapes with masked entries zero,
        and the masks.

    Raises
    ------
    ValueError
        If ``sizes`` lists fewer than two layers or a size < 1, ``sparsity`` is not in [0, 1) or ``bias_rule`` is
        not one of ``"original"``, ``"keep"`` (:class:`helpers.checks.Spec`).
    """
    n = tuple(int(v) for v in sizes)
    if len(n) < 2 or min(n) < 1:
        raise ValueError(f"sizes must list at least two positive layer sizes; got {sizes!r}")
    Spec(float, 0.0, 1.0 - 1e-12).check("sparsity", sparsity)
    Spec(str, choices=("original", "keep")).check("bias_rule", bias_rule)
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
