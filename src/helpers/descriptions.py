"""Descriptions of a network state, as feature vectors: what its mask and weights look like, and what it answers.

Herrmann, Faccio & Schmidhuber (2024) compare *mechanistic* descriptions of a trained network, which read its weights,
with *functionalist* ones, which only query it. The descriptions here (the motif profile comes from the census):

- :func:`motif_profile`: the motif Z-scores and significance profile of each network state under one null model,
  read from a census table (:func:`helpers.census.census`);
- :func:`mask_statistics`: per layer, the live units on each side, the mean, spread and 10/50/90 % quantiles of the
  out-degrees of its sources and the in-degrees of its targets, and its kept biases;
- :func:`weight_statistics`: per weight matrix and bias vector, the mean, variance and the 0/25/50/75/100 %
  quantiles of its entries (pruned entries count as 0): Herrmann et al.'s layer-wise statistics;
- :func:`flattened`: every entry of the masks or weights in one vector (to be reduced by principal components
  inside each cross-validation fold), a description that ignores that hidden units can be permuted;
- :func:`probe_outputs`: the network's outputs at fixed probe inputs (non-interactive probing);
- :func:`disagreement_probes`: of a pool of candidate inputs, those on which a set of networks disagree most,
  the population-adaptive analogue of interactive probing (choose them with the training networks only).

What a network does with its inputs, a target for the descriptions, is :func:`input_usage`: each input's share of
the mean absolute derivative of the outputs.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from helpers import activity
from helpers.checks import Spec

#: Quantiles of the degree distributions (:func:`mask_statistics`) and of the weights (:func:`weight_statistics`).
DEGREE_QUANTILES = (0.1, 0.5, 0.9)
WEIGHT_QUANTILES = (0.0, 0.25, 0.5, 0.75, 1.0)


def motif_profile(table: pd.DataFrame, null: str, pairs: Sequence[tuple[int, int]],
                  convention: str = "subgraph") -> np.ndarray:
    """The motif Z-scores and significance profile of each (network, state) under one null model, as features.

    Parameters
    ----------
    table : pandas.DataFrame
        A census table (``z`` or ``noise`` of :func:`helpers.census.census`): columns network, state, null,
        convention, motif, z, sp.
    null : str
        The null model (:data:`helpers.nulls.MODELS`).
    pairs : sequence of (int, int)
        The (network, state) pairs, in the order of the rows returned.
    convention : str
        The counting convention (default ``"subgraph"``: chains as paths).

    Returns
    -------
    ndarray, float64 (len(pairs), 2 · motifs)
        Per pair the Z-scores of the motifs, then their significance profile, motifs in sorted order; a Z-score the
        null leaves undefined (NaN) counts as 0.

    Raises
    ------
    KeyError
        If a pair is not in the table.
    """
    rows = table[(table["null"] == null) & (table["convention"] == convention)]
    wide = rows.pivot_table(index=["network", "state"], columns="motif", values=["z", "sp"], dropna=False)
    wide = wide.reindex(columns=pd.MultiIndex.from_product([["z", "sp"], sorted(rows["motif"].unique())]))
    return np.nan_to_num(wide.loc[list(pairs)].to_numpy(dtype=np.float64))


def mask_statistics(masks: Sequence[np.ndarray]) -> np.ndarray:
    """Per layer: live sources and targets, out- and in-degree mean, sd and quantiles, kept biases.

    Parameters
    ----------
    masks : sequence of ndarray, bool (n_i + 1, n_{i+1})
        The network's masks in the exchange layout (bias row last).

    Returns
    -------
    ndarray, float64 (13 · L,)
        For each layer: sources with an outgoing edge, targets with an incoming weighted edge, then the mean, sd and
        :data:`DEGREE_QUANTILES` of the sources' out-degrees and of the targets' in-degrees, then the kept biases.
    """
    out = []
    for m in masks:
        w = np.asarray(m, dtype=bool)[:-1]
        out_deg, in_deg = w.sum(axis=1), w.sum(axis=0)
        out.append([np.count_nonzero(out_deg), np.count_nonzero(in_deg)])
        for deg in (out_deg, in_deg):
            out.append([deg.mean(), deg.std(), *np.quantile(deg, DEGREE_QUANTILES)])
        out.append([np.count_nonzero(np.asarray(m, dtype=bool)[-1])])
    return np.concatenate([np.asarray(v, dtype=np.float64) for v in out])


def weight_statistics(weights: Sequence[np.ndarray]) -> np.ndarray:
    """Per weight matrix and per bias vector: mean, variance and :data:`WEIGHT_QUANTILES` of the entries.

    Parameters
    ----------
    weights : sequence of ndarray, (n_i + 1, n_{i+1})
        The network in the exchange layout (pruned entries 0).

    Returns
    -------
    ndarray, float64 (14 · L,)
    """
    out = []
    for w in weights:
        w = np.asarray(w, dtype=np.float64)
        for tensor in (w[:-1].ravel(), w[-1]):
            out.append([tensor.mean(), tensor.var(), *np.quantile(tensor, WEIGHT_QUANTILES)])
    return np.concatenate([np.asarray(v) for v in out])


def flattened(arrays: Sequence[np.ndarray]) -> np.ndarray:
    """Every entry of a network's masks or weights, in one vector.

    Parameters
    ----------
    arrays : sequence of ndarray
        Its masks (bool) or weights, layer by layer.

    Returns
    -------
    ndarray, float64 (Σ sizes,)
    """
    return np.concatenate([np.asarray(a, dtype=np.float64).ravel() for a in arrays])


def probe_outputs(weights: Sequence[np.ndarray], probes: np.ndarray) -> np.ndarray:
    """The network's outputs at the probe inputs, in one vector.

    Parameters
    ----------
    weights : sequence of ndarray, (n_i + 1, n_{i+1})
        The network in the exchange layout.
    probes : ndarray, (p, n_0)
        Scaled probe inputs.

    Returns
    -------
    ndarray, float64 (p · n_L,)
    """
    return activity.preactivations(weights, probes)[-1].ravel()


def disagreement_probes(outputs: np.ndarray, n_probes: int) -> np.ndarray:
    """The candidate inputs on which networks disagree most: the largest summed variance of the outputs across networks.

    Parameters
    ----------
    outputs : ndarray, float (E, c, n_L)
        E networks' outputs at c candidate inputs (E ≥ 2).
    n_probes : int
        How many to choose, 1 … c.

    Returns
    -------
    ndarray, int64 (n_probes,)
        Candidate indices, most disagreement first.

    Raises
    ------
    ValueError
        Naming ``n_probes`` or ``outputs`` if out of range.
    """
    outputs = np.asarray(outputs, dtype=np.float64)
    if outputs.ndim != 3 or outputs.shape[0] < 2:
        raise ValueError(f"argument 'outputs' must have shape (E ≥ 2, candidates, outputs), got {outputs.shape}")
    n_probes = Spec(int, 1, outputs.shape[1]).check("n_probes", n_probes)
    spread = outputs.var(axis=0).sum(axis=1)
    return np.argsort(-spread, kind="stable")[:n_probes].astype(np.int64)


def input_usage(weights: Sequence[np.ndarray], x: np.ndarray) -> np.ndarray:
    """Which inputs the network uses: the mean |∂y_o/∂x_i| over flights and outputs, normalised to sum to 1.

    From the Jacobian of the outputs (:func:`helpers.activity.input_jacobian`), in the scaled units the network
    sees.

    Parameters
    ----------
    weights : sequence of ndarray, (n_i + 1, n_{i+1})
        The network in the exchange layout.
    x : ndarray, (n, n_0)
        Scaled inputs.

    Returns
    -------
    ndarray, float64 (n_0,)
        Each input's share; all zero for a network whose outputs do not depend on its inputs.
    """
    jac = activity.input_jacobian(weights, x)
    usage = np.abs(jac).mean(axis=(0, 2))
    total = usage.sum()
    return usage / total if total > 0 else usage
