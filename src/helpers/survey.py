"""One network state surveyed for the chapter "What pruning keeps": its inputs, its units' non-Gaussianity and their
modes, in one record.

:func:`survey` measures a network at one saved state on a set of evaluation flights with
:mod:`helpers.selectivity`, :mod:`helpers.gaussianity` and :mod:`helpers.linearity`, and returns flat records that a
chapter stacks into tables (one row per state, per hidden layer, per input). :func:`pruning_and_retraining` splits one
round's change of the units' non-Gaussianity into the pruning step and the retraining step.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from helpers import activity, gaussianity, linearity, selectivity


def survey(weights: Sequence[np.ndarray], next_masks: Sequence[np.ndarray] | None, x: np.ndarray, y: np.ndarray,
           threshold: float, n_null: int, seed: int, noise_levels: Sequence[float], noise_rows: int,
           noise_draws: int = 3) -> dict:
    """Survey one network state.

    Parameters
    ----------
    weights : sequence of ndarray, (n_i + 1, n_{i+1})
        The network in the exchange layout, pruned entries 0.
    next_masks : sequence of ndarray, bool, or None
        The masks of the next saved state (for the cavity test); ``None`` at the last state.
    x, y : ndarray, (n, n_0), (n, n_L)
        Scaled evaluation inputs and targets.
    threshold : float
        The selection's loss threshold (scaled MSE), for the noise tolerance.
    n_null : int
        Null layers per null model of the effective fan-in (≥ 1).
    seed : int
        Seed of the null layers and of the weight noise.
    noise_levels : sequence of float
        Increasing multiplicative noise levels scanned (:func:`helpers.linearity.noise_tolerance`).
    noise_rows : int
        Rows of ``x`` used for the noise tolerance and the Jacobian.
    noise_draws : int
        Noise draws per level.

    Returns
    -------
    dict
        ``state``: one record (``loss``, ``fan_in`` the mean effective fan-in of the first-layer units that receive an
        input, ``fan_in_binomial`` and ``fan_in_out_degree`` (n_null,) the same for the null layers,
        ``noise_tolerance``, ``jacobian`` the median Jacobian norm); ``inputs``: ``kept`` (n_0,) first-layer edges per
        input; ``layers``: one record per hidden layer (``layer``, ``kurtosis`` and ``predicted`` the median |excess
        kurtosis| measured and predicted from independent inputs over the units whose pre-activation varies,
        ``removed`` and ``matched`` and ``n_removed`` from the cavity test (NaN at the last state), one count per
        mode of :data:`helpers.linearity.MODES`, and ``affine_loss`` the loss with the layer's linear units replaced
        by their affine fits).
    """
    zs = activity.preactivations(weights, x)
    hs = activity.layer_inputs(weights, x)
    loss = linearity.loss(zs[-1], y)
    std = np.asarray(x, dtype=np.float64).std(axis=0)
    first = np.asarray(weights[0])[:-1]
    fan = selectivity.effective_fan_in(first, std)
    nulls = {model: selectivity.null_fan_in(first, std, model, n_null, seed) for model in selectivity.NULLS}
    rows = slice(0, noise_rows)
    state = dict(loss=loss, fan_in=float(np.nanmean(fan)),
                 fan_in_binomial=np.nanmean(nulls["binomial"], axis=1),
                 fan_in_out_degree=np.nanmean(nulls["out-degree"], axis=1),
                 noise_tolerance=linearity.noise_tolerance(weights, x[rows], y[rows], threshold, noise_levels,
                                                           noise_draws, seed),
                 jacobian=float(np.median(linearity.jacobian_norm(weights, x[rows]))))
    layers = []
    for i in range(len(weights) - 1):
        w = np.asarray(weights[i], dtype=np.float64)[:-1]
        kappa = gaussianity.excess_kurtosis(zs[i])
        predicted = gaussianity.predicted_kurtosis(w, hs[i])
        record = dict(layer=i, kurtosis=_median_abs(kappa), predicted=_median_abs(predicted[np.isfinite(kappa)]))
        if next_masks is not None:
            test = gaussianity.cavity_test(w, hs[i], zs[i], np.asarray(next_masks[i], dtype=bool)[:-1])
            record.update(removed=test["removed"], matched=test["matched"], n_removed=test["n"])
        else:
            record.update(removed=np.nan, matched=np.nan, n_removed=0)
        outgoing = (np.asarray(weights[i + 1])[:-1] != 0).sum(axis=1)
        modes = linearity.unit_modes(zs[i], outgoing)
        record.update({mode: int(np.sum(modes == mode)) for mode in linearity.MODES})
        record["affine_loss"] = linearity.loss(linearity.with_affine_units(weights, x, i, modes == "linear"), y)
        layers.append(record)
    return dict(state=state, inputs=dict(kept=selectivity.kept_per_input(np.asarray(weights[0]) != 0)),
                layers=layers)


def pruning_and_retraining(before: Sequence[np.ndarray], after: Sequence[np.ndarray],
                           next_masks: Sequence[np.ndarray], x: np.ndarray) -> list[dict]:
    """One round's change of each hidden layer's median |excess kurtosis|, split into the prune and the retraining.

    Parameters
    ----------
    before : sequence of ndarray
        The network at state s (exchange layout).
    after : sequence of ndarray
        The network at state s + 1.
    next_masks : sequence of ndarray, bool
        The masks of state s + 1.
    x : ndarray, (n, n_0)
        Scaled evaluation inputs.

    Returns
    -------
    list of dict
        Per hidden layer: ``layer``, ``before``, ``pruned`` (state s's weights under state s + 1's masks, not yet
        retrained) and ``after``, each the median |excess kurtosis| of its units' pre-activations (NaN if none
        varies).
    """
    pruned = [np.where(np.asarray(m, dtype=bool), w, 0) for w, m in zip(before, next_masks)]
    medians = []
    for net in (before, pruned, after):
        medians.append([_median_abs(gaussianity.excess_kurtosis(z)) for z in activity.preactivations(net, x)[:-1]])
    return [dict(layer=i, before=medians[0][i], pruned=medians[1][i], after=medians[2][i])
            for i in range(len(before) - 1)]


def _median_abs(values: np.ndarray) -> float:
    """The median of |values| over the finite ones (NaN if none is)."""
    values = np.abs(values[np.isfinite(values)])
    return float(np.median(values)) if values.size else np.nan
