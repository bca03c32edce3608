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


def prune_network(weights: Sequence[np.ndarray], biases: Sequence[np.ndarray], wmasks: Sequence[np.ndarray],
                  bmasks: Sequence[np.ndarray], sparsity: float, bias_pruning: str = "original"
                  ) -> tuple[list[np.ndarray], list[np.ndarray]]:
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

    Each network is pruned by :func:`prune_network` and the new masks installed by
    :func:`helpers.ensemble.set_masks`, which zeroes the pruned weights, biases and their Adam moments.

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
        nw, nb = prune_network(w, b, mw, mb, sparsity, bias_pruning)
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
