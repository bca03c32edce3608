"""Why our Z-scores exceed the original's: the as-original group against the reference ensemble, paired by seed.

The as-original group (``data/as-original/``) repeats networks of the reference ensemble — the same seeds, the
same flights, the same schedule — with the three details in which the reference's training differs from the
original's code set as the original had them (:mod:`helpers.ensemble`: the loss averaged over 400 networks,
validation batches that run out, pruned weights left running under the mask). Whatever differs between a network
and its twin comes from those three details.

A Z-score splits into two factors (:func:`helpers.reference.decomposition`):
Z = (ratio − 1) · √(null mean) / (relative spread), with ratio = real / null mean and relative spread = null sd /
√(null mean). The relative spread is a property of the null model at a given size; the ratio is the network's
own. This module measures, per network and state: the structure that shapes the null (:func:`structure`: live
nodes and edges per layer, the coefficient of variation of the live nodes' in- and out-degrees), the weights that
came back under the original's pruning rule (:func:`revivals`), and networks pruned once from their dense weights
(:func:`one_shot_masks`), which isolate what the dense round alone leaves in the weights.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from helpers import graph, pruning
from helpers.snapshot import Snapshot


def pairs(a: Snapshot, b: Snapshot) -> list[tuple[int, int]]:
    """The networks two ensembles share, matched by seed.

    Parameters
    ----------
    a, b : helpers.snapshot.Snapshot
        Two ensembles (e.g. the reference ensemble and the as-original group).

    Returns
    -------
    list of (int, int)
        ``(index in a, index in b)`` for every seed both hold, in the order of ``a``.

    Raises
    ------
    ValueError
        If they share no seed (nothing can be paired).
    """
    where = {int(s): j for j, s in enumerate(b.seeds)}
    out = [(i, where[int(s)]) for i, s in enumerate(a.seeds) if int(s) in where]
    if not out:
        raise ValueError("the two ensembles share no network seed, so no network can be paired")
    return out


def degree_cv(masks: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Coefficient of variation (sd / mean, population sd) of the live nodes' out- and in-degrees, per layer.

    The network is cleaned first (:func:`helpers.graph.clean`: ghost and dead nodes removed). Layer i's
    out-degrees are the row sums of mask i over its live source nodes (bias row included when live); its
    in-degrees are the column sums over its live targets.

    Parameters
    ----------
    masks : sequence of ndarray, bool (n_i + 1, n_{i+1})
        One network in the exchange layout (bias row last).

    Returns
    -------
    cv_out : ndarray, float64 (L,)
        Per layer, the CV of the live sources' out-degrees (NaN for a layer without live sources).
    cv_in : ndarray, float64 (L,)
        Per layer, the CV of the live targets' in-degrees (NaN for a layer without live targets).

    Raises
    ------
    ValueError
        If ``masks`` is not in the exchange layout (:func:`helpers.graph.validate`).
    """
    return _degree_cv(graph.clean(masks))


def _degree_cv(cleaned: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """:func:`degree_cv` of a network already cleaned."""
    def cv(values: np.ndarray) -> float:
        values = values[values > 0].astype(np.float64)
        return float(values.std() / values.mean()) if values.size else float("nan")

    return (np.array([cv(m.sum(axis=1)) for m in cleaned]), np.array([cv(m.sum(axis=0)) for m in cleaned]))


def structure(snap: Snapshot, networks: Sequence[int] | None = None) -> pd.DataFrame:
    """What each network looks like at each saved state: loss, live nodes and edges, degree heterogeneity.

    Parameters
    ----------
    snap : helpers.snapshot.Snapshot
        An ensemble.
    networks : sequence of int, optional
        Which of its networks (default: all).

    Returns
    -------
    pandas.DataFrame
        One row per network and state: ``network`` (index), ``seed``, ``state``, ``sparsity``, ``val_loss``,
        ``optimum`` (bool: the network's optimally sparse state), ``live_edges`` (int), ``live_nodes_0`` …
        ``live_nodes_5`` (live nodes per layer, bias rows included, :func:`helpers.graph.live_counts`), and
        ``cv_out_i`` / ``cv_in_i`` for each layer i (:func:`degree_cv`), plus ``cv_out`` / ``cv_in``, their
        means over the layers.

    Raises
    ------
    ValueError
        If a network index is out of range.
    """
    rows = []
    for k in (range(snap.n_networks) if networks is None else networks):
        for s in range(snap.n_states):
            masks = snap.masks(int(k), s)
            cleaned = graph.clean(masks)
            cv_out, cv_in = _degree_cv(cleaned)
            row = dict(network=int(k), seed=int(snap.seeds[k]), state=s, sparsity=float(snap.sparsities[s]),
                       val_loss=float(snap.val_loss[k, s]), optimum=bool(snap.optimum[k] == s),
                       live_edges=int(sum(m.sum() for m in cleaned)))
            row.update({f"live_nodes_{i}": int(n) for i, n in enumerate(graph.live_counts(masks))})
            row.update({f"cv_out_{i}": v for i, v in enumerate(cv_out)})
            row.update({f"cv_in_{i}": v for i, v in enumerate(cv_in)})
            row.update(cv_out=float(np.nanmean(cv_out)), cv_in=float(np.nanmean(cv_in)))
            rows.append(row)
    return pd.DataFrame(rows)


def revivals(snap: Snapshot) -> pd.DataFrame:
    """Weights pruned at one saved state and kept at the next: what the original's rule brought back.

    Under the book's rule (``pruned_state = "zero"``) a pruned weight never returns and every count is 0; under
    the original's (``"keep"``) a pruned weight whose raw value drifted above the next cutoff returns.

    Parameters
    ----------
    snap : helpers.snapshot.Snapshot
        An ensemble.

    Returns
    -------
    pandas.DataFrame
        One row per network and state s ≥ 1: ``network``, ``state``, ``sparsity``, ``revived_weights`` and
        ``revived_biases`` (entries False at state s − 1 and True at s, over all layers), ``kept_weights`` (at
        state s).
    """
    rows = []
    for k in range(snap.n_networks):
        before = snap.masks(k, 0)
        for s in range(1, snap.n_states):
            now = snap.masks(k, s)
            rows.append(dict(network=k, state=s, sparsity=float(snap.sparsities[s]),
                             revived_weights=int(sum((~b[:-1] & n[:-1]).sum() for b, n in zip(before, now))),
                             revived_biases=int(sum((~b[-1] & n[-1]).sum() for b, n in zip(before, now))),
                             kept_weights=int(sum(n[:-1].sum() for n in now))))
            before = now
    return pd.DataFrame(rows)


def one_shot_masks(snap: Snapshot, network: int, sparsities: Sequence[float],
                   bias_pruning: str = "original") -> dict[float, list[np.ndarray]]:
    """The dense network pruned once, without retraining, to each sparsity: what the dense round leaves.

    The stored dense weights (state 0) are pruned by the book's layer-wise magnitude rule
    (:func:`helpers.pruning.prune_network`, all masks starting full), so two networks trained from the same
    initial weights under two protocols can be compared before any pruning round has run.

    Parameters
    ----------
    snap : helpers.snapshot.Snapshot
        An ensemble with the dense weights of ``network`` stored.
    network : int
        The network.
    sparsities : sequence of float
        Targets in (0, 1).
    bias_pruning : {"original", "corrected"}
        How the biases are pruned (:mod:`helpers.pruning`).

    Returns
    -------
    dict of float to list of ndarray
        ``{sparsity: masks}``, masks bool (n_i + 1, n_{i+1}) in the exchange layout.

    Raises
    ------
    ValueError
        If the dense weights of ``network`` are not stored, or a sparsity or ``bias_pruning`` is invalid.
    """
    weights, biases = snap.network_weights(network, 0)
    full_w = [np.ones(w.shape, dtype=bool) for w in weights]
    full_b = [np.ones(b.shape, dtype=bool) for b in biases]
    out = {}
    for target in sparsities:
        if not 0.0 < float(target) < 1.0:
            raise ValueError(f"sparsity {target!r} is invalid: it must lie in (0, 1)")
        wm, bm = pruning.prune_network(weights, biases, full_w, full_b, float(target), bias_pruning)
        out[float(target)] = [np.vstack([w, b[None]]) for w, b in zip(wm, bm)]
    return out
