"""The pruning rule: layer-wise magnitude pruning to a cumulative sparsity target, and how biases are pruned.

The train–prune run (:mod:`helpers.run`) applies it after every training round: every weight matrix is pruned to
the next cumulative sparsity target of the schedule (the original's: 15 %, 25 %, …, 99 %), by magnitude, and a
pruned weight never returns. The saved states are the dense one plus one per target except the last (0 %, 15 %,
…, 98 % for the paper's schedule: 18 states); the last prune (99 %) is applied but never trained.

Bias pruning (defect B3 of the original, chapter 8):

- ``original`` — the bias mask of layer i keeps a bias only if its magnitude exceeds the *weight* cutoff of
  layer i (the largest weight magnitude pruned in that layer), as the original code did
  (``step1_train.py`` of ``oliviatessa/MothPruning``). Biases start at 0 and stay small, so most of them are
  pruned in the first rounds.
- ``corrected`` — biases are never pruned (bias masks stay all ones): the schedule's sparsity refers to weights
  only, as in standard magnitude pruning (Han et al. 2015).

What happens to a pruned entry afterwards (``pruned_state``, :class:`helpers.ensemble.Ensemble`):

- ``zero`` (ours) — it is set to 0 with its Adam moments, ranks below every kept weight at the next prune
  (:func:`prune_layerwise`) and never returns.
- ``keep`` (the original's, :func:`prune_layerwise_raw`) — its raw value keeps moving under Adam's decaying
  moments; the next prune takes the cutoff c = sort(|W ⊙ M|)[int(s · n)] of the *masked* magnitudes and keeps
  every weight whose *raw* magnitude exceeds it, |W| > c, so a pruned weight that drifted above c returns, and
  the bias rule compares raw |b| with c without looking at the old bias mask.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from helpers import ensemble as ens_mod
from helpers.checks import Spec, check_schedule

#: How bias masks are pruned (module doc).
BIAS_MODES = ("original", "corrected")


def check_bias_pruning(mode: str) -> str:
    """The bias-pruning mode, checked.

    Parameters
    ----------
    mode : {"original", "corrected"}
        How bias masks are pruned (:data:`BIAS_MODES`, module doc).

    Returns
    -------
    str
        ``mode`` unchanged.

    Raises
    ------
    ValueError
        Naming the parameter ``bias_pruning`` unless ``mode`` is one of :data:`BIAS_MODES`.
    """
    return Spec(str, choices=BIAS_MODES).check("bias_pruning", mode)

def saved_sparsities(schedule: Sequence[float]) -> np.ndarray:
    """Nominal weight sparsity of each saved state: 0 and every target but the last.

    Parameters
    ----------
    schedule : sequence of float
        Cumulative sparsity targets, strictly increasing in (0, 1), e.g. the original's ``(0.15, 0.25, …,
        0.99)``.

    Returns
    -------
    ndarray, float64 (S,)
        ``(0, schedule[0], …, schedule[-2])``: S = len(schedule) saved states (18 for the paper's schedule).

    Raises
    ------
    ValueError
        Naming the parameter ``schedule`` unless it is a non-empty, strictly increasing sequence in (0, 1)
        (:func:`helpers.checks.check_schedule`).
    """
    return np.array((0.0,) + tuple(check_schedule(schedule))[:-1])


# ------------------------------------------------------------------------------------------- masks

def n_pruned(size: int, sparsity: float) -> int:
    """How many of ``size`` weights a layer at ``sparsity`` has pruned: int(sparsity · size) + 1 (0 when dense).

    The original (``step1_train.py``) took the cutoff at index N = int(c · n) of the sorted magnitudes and kept
    the weights strictly above it, so the N + 1 smallest are pruned: at 93 % it keeps 279 / 11,199 / 11,199 /
    447 / 7 of the 4,000 / 160,000 / 160,000 / 6,400 / 112 weights. (Ties at the cutoff, which the original
    would prune together, do not occur among trained float32 weights; here ties go by flat index.)

    Parameters
    ----------
    size : int
        Number of weights in the layer (n_i · n_{i+1}).
    sparsity : float
        Cumulative sparsity target in [0, 1); exactly 0 means the dense state.

    Returns
    -------
    int
        Number of weights to prune: 0 for ``sparsity == 0``, else min(int(sparsity · size) + 1, size).
    """
    if float(sparsity) == 0.0:                  # the dense state
        return 0
    return min(int(float(sparsity) * size) + 1, size)


def prune_layerwise(weights: Sequence[np.ndarray], masks: Sequence[np.ndarray], sparsity: float
                    ) -> list[np.ndarray]:
    """New masks with exactly :func:`n_pruned` (int(sparsity · size) + 1) weights of *each* layer pruned, by magnitude.

    Already pruned weights are pruned first (they never return); the rest go in order of increasing |w| (ties:
    lower flat index first).

    Parameters
    ----------
    weights : sequence of array_like, float (n_i, n_{i+1})
        One network's weight matrices, layer by layer (compared as float64).
    masks : sequence of array_like, bool (n_i, n_{i+1})
        The current weight masks, same shapes as ``weights`` (True = kept).
    sparsity : float
        Cumulative sparsity target in [0, 1).

    Returns
    -------
    list of ndarray, bool (n_i, n_{i+1})
        The new weight masks (True = kept), one per layer.

    Raises
    ------
    ValueError
        If ``sparsity`` is not in [0, 1), if a mask's shape differs from its weight's, or if a layer already has
        more pruned weights than the target allows (sparsity targets must increase).
    """
    if not (0.0 <= float(sparsity) < 1.0):
        raise ValueError(f"sparsity = {sparsity!r} is invalid: it must be in [0, 1)")
    out = []
    for i, (w, m) in enumerate(zip(weights, masks)):
        w = np.asarray(w, dtype=np.float64)
        m = np.asarray(m, dtype=bool)
        if w.shape != m.shape:
            raise ValueError(f"layer {i}: weight shape {w.shape} != mask shape {m.shape}")
        k = n_pruned(w.size, sparsity)
        already = int((~m).sum())
        if already > k:
            raise ValueError(f"layer {i} already has {already} pruned weights, more than the {k} of sparsity "
                             f"{sparsity}: sparsity targets must increase")
        score = np.where(m, np.abs(w), -1.0).ravel()          # pruned weights rank below everything
        order = np.argsort(score, kind="stable")
        new = np.ones(w.size, dtype=bool)
        new[order[:k]] = False
        out.append(new.reshape(w.shape))
    return out


def prune_layerwise_raw(weights: Sequence[np.ndarray], masks: Sequence[np.ndarray], sparsity: float
                        ) -> tuple[list[np.ndarray], list[float]]:
    """The original's layer-wise rule on raw weights (``pruned_state = "keep"``, module docstring).

    Per layer of n weights: c = sort(|W ⊙ M|)[int(sparsity · n)] and the new mask is |W| > c, with W the *raw*
    weights (pruned entries keep whatever value Adam left them), exactly as ``step1_train.py`` of
    ``oliviatessa/MothPruning`` wrote it. Without ties and drift this prunes int(sparsity · n) + 1 weights, as
    :func:`prune_layerwise` does; a pruned weight whose raw magnitude exceeds c comes back.

    Parameters
    ----------
    weights : sequence of array_like, float (n_i, n_{i+1})
        One network's raw weight matrices (compared as float64).
    masks : sequence of array_like, bool (n_i, n_{i+1})
        The current weight masks, same shapes (True = kept).
    sparsity : float
        Cumulative sparsity target in [0, 1).

    Returns
    -------
    masks : list of ndarray, bool (n_i, n_{i+1})
        The new weight masks.
    cutoffs : list of float
        Each layer's cutoff c (the bias rule of ``"original"`` compares with it).

    Raises
    ------
    ValueError
        If ``sparsity`` is not in [0, 1) or a mask's shape differs from its weight's.
    """
    if not (0.0 <= float(sparsity) < 1.0):
        raise ValueError(f"sparsity = {sparsity!r} is invalid: it must be in [0, 1)")
    out, cutoffs = [], []
    for i, (w, m) in enumerate(zip(weights, masks)):
        w = np.asarray(w, dtype=np.float64)
        m = np.asarray(m, dtype=bool)
        if w.shape != m.shape:
            raise ValueError(f"layer {i}: weight shape {w.shape} != mask shape {m.shape}")
        if float(sparsity) == 0.0:
            out.append(np.ones(w.shape, dtype=bool))
            cutoffs.append(-np.inf)
            continue
        cutoff = float(np.sort(np.abs(w * m), axis=None)[int(float(sparsity) * w.size)])
        out.append(np.abs(w) > cutoff)
        cutoffs.append(cutoff)
    return out, cutoffs


def prune_network(weights: Sequence[np.ndarray], biases: Sequence[np.ndarray], wmasks: Sequence[np.ndarray],
                  bmasks: Sequence[np.ndarray], sparsity: float, bias_pruning: str = "original",
                  pruned_state: str = "zero") -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Prune one network: weight masks by :func:`prune_layerwise`, bias masks by ``bias_pruning`` (module doc).

    Parameters
    ----------
    weights : sequence of array_like, float (n_i, n_{i+1})
        The network's weight matrices, layer by layer.
    biases : sequence of array_like, float (n_{i+1},)
        Its bias vectors.
    wmasks : sequence of array_like, bool (n_i, n_{i+1})
        Current weight masks (True = kept).
    bmasks : sequence of array_like, bool (n_{i+1},)
        Current bias masks (True = kept).
    sparsity : float
        Cumulative weight-sparsity target in [0, 1).
    bias_pruning : {"original", "corrected"}
        ``"original"``: a bias is kept only if it was kept and its magnitude exceeds the largest pruned weight
        magnitude of its layer; ``"corrected"``: bias masks are returned unchanged (module doc).
    pruned_state : {"zero", "keep"}
        ``"zero"``: :func:`prune_layerwise` (pruned entries are 0 and stay pruned); ``"keep"``: the original's
        rule on raw values, :func:`prune_layerwise_raw`, and a bias is kept iff its raw magnitude exceeds the
        layer's cutoff (module doc).

    Returns
    -------
    wmasks : list of ndarray, bool (n_i, n_{i+1})
        The new weight masks.
    bmasks : list of ndarray, bool (n_{i+1},)
        The new bias masks.

    Raises
    ------
    ValueError
        If ``bias_pruning`` is not one of :data:`BIAS_MODES`, or as :func:`prune_layerwise` raises.
    """
    check_bias_pruning(bias_pruning)
    ens_mod.check_pruned_state(pruned_state)
    if pruned_state == "keep":
        new_w, cutoffs = prune_layerwise_raw(weights, wmasks, sparsity)
        if bias_pruning == "corrected":
            return new_w, [np.asarray(mb, dtype=bool).copy() for mb in bmasks]
        return new_w, [np.abs(np.asarray(b, dtype=np.float64)) > c for b, c in zip(biases, cutoffs)]
    new_w = prune_layerwise(weights, wmasks, sparsity)
    new_b = []
    for w, b, mw, mb in zip(weights, biases, new_w, bmasks):
        mb = np.asarray(mb, dtype=bool)
        if bias_pruning == "corrected":
            new_b.append(mb.copy())
            continue
        pruned = np.abs(np.asarray(w, dtype=np.float64))[~mw]
        cutoff = pruned.max() if pruned.size else -np.inf
        new_b.append(mb & (np.abs(np.asarray(b, dtype=np.float64)) > cutoff))
    return new_w, new_b


def prune_ensemble(ens: ens_mod.Ensemble, sparsity: float, bias_pruning: str = "original") -> None:
    """Prune every network of ``ens`` in place to ``sparsity`` (masks, weights and Adam moments).

    Each network is pruned by :func:`prune_network` (with the ensemble's ``pruned_state``) and the new masks
    installed by :func:`helpers.ensemble.set_masks`, which (``pruned_state = "zero"``) zeroes the pruned weights,
    biases and their Adam moments.

    Parameters
    ----------
    ens : helpers.ensemble.Ensemble
        The ensemble of E networks; modified in place.
    sparsity : float
        Cumulative weight-sparsity target in [0, 1), not below the ensemble's current sparsity.
    bias_pruning : {"original", "corrected"}
        How bias masks are pruned (module doc).

    Raises
    ------
    ValueError
        As :func:`prune_network` raises (bad ``sparsity`` or ``bias_pruning``, a target below the current one).
    """
    wm_new = [np.empty(w.shape, dtype=bool) for w in ens.weights]
    bm_new = [np.empty(b.shape, dtype=bool) for b in ens.biases]
    for e in range(ens.n_networks):
        w = [t[e].cpu().numpy() for t in ens.weights]
        b = [t[e, 0].cpu().numpy() for t in ens.biases]
        mw = [t[e].cpu().numpy() > 0 for t in ens.wmasks]
        mb = [t[e, 0].cpu().numpy() > 0 for t in ens.bmasks]
        nw, nb = prune_network(w, b, mw, mb, sparsity, bias_pruning, ens.pruned_state)
        for i in range(len(w)):
            wm_new[i][e] = nw[i]
            bm_new[i][e, 0] = nb[i]
    ens_mod.set_masks(ens, [torch.from_numpy(m) for m in wm_new], [torch.from_numpy(m) for m in bm_new])


def exchange_layout(wmask: np.ndarray, bmask: np.ndarray) -> np.ndarray:
    """Exchange layout (:mod:`helpers.graph`) of one layer: its weight mask with the bias mask as a last row.

    Parameters
    ----------
    wmask : array_like, bool (n_i, n_{i+1})
        The layer's weight mask (True = kept).
    bmask : array_like, bool (n_{i+1},) or (1, n_{i+1})
        The layer's bias mask.

    Returns
    -------
    ndarray, bool (n_i + 1, n_{i+1})
        Rows 0 … n_i − 1 the weight mask, last row the bias mask.
    """
    return np.concatenate([np.asarray(wmask, dtype=bool), np.asarray(bmask, dtype=bool).reshape(1, -1)], axis=0)
