"""How non-Gaussian each unit's input is, what its weights alone predict, and which weights pruning removes.

Redman, Wang, Ingrosso & Goldt (2024) propose that iterative magnitude pruning of fully connected networks
iteratively *maximises the non-Gaussian statistics* of the units' pre-activations, and test it with a cavity method:
the effect of removing one weight on the statistics of the unit it feeds. This module measures that on one network.

- **Excess kurtosis** of a unit's pre-activation z over a set of flights, κ(z) = E[(z − μ)⁴] / σ⁴ − 3: 0 for a
  Gaussian, positive for heavy tails, negative for light ones (:func:`excess_kurtosis`).
- **What the weights predict.** If the unit's inputs h_i were independent, the fourth cumulants would add:
  κ(z) = Σ_i κ(h_i) p_i² with p_i = σ_i² w_i² / Σ_k σ_k² w_k² each input's share of the unit's variance
  (:func:`predicted_kurtosis`; exact for independent inputs, whatever their distributions). A measured κ far from it
  means the inputs' dependence, not their own shapes or the weights' spread, makes the unit non-Gaussian.
- **The cavity.** Removing weight w_ij leaves z_j − w_ij h_i; with centred variables its second and fourth moments
  are polynomials in c = w_ij of the cross-moments E[z̃^a h̃^b], so the kurtosis without each weight, for every
  weight of a layer at once, costs four matrix products (:func:`cavity_kurtosis`). Δ_ij = |κ_j^(−i)| − |κ_j| > 0 means
  that removing the weight makes the unit *more* non-Gaussian.
- **The cavity test** (:func:`cavity_test`): of the weights that the next prune removes, what fraction have Δ > 0,
  against the same number of kept weights nearest to them in magnitude (the smallest kept ones: magnitude pruning
  removes the smallest, so no kept weight is smaller). If pruning sought non-Gaussianity, the first fraction would be
  the larger.
"""
from __future__ import annotations

import numpy as np

#: Variance below which a pre-activation counts as constant (its kurtosis is undefined: NaN).
CONSTANT = 1e-12


def excess_kurtosis(z: np.ndarray) -> np.ndarray:
    """Excess kurtosis of every column.

    Parameters
    ----------
    z : ndarray, float (n, m)
        n samples of m variables.

    Returns
    -------
    ndarray, float64 (m,)
        E[(z − μ)⁴] / σ⁴ − 3 (population moments); NaN for a column of variance ≤ :data:`CONSTANT`.
    """
    z = np.asarray(z, dtype=np.float64)
    c2 = z - z.mean(axis=0)
    c2 *= c2
    m2 = c2.mean(axis=0)
    m4 = (c2 * c2).mean(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(m2 > CONSTANT, m4 / m2 ** 2 - 3.0, np.nan)


def predicted_kurtosis(weights: np.ndarray, h: np.ndarray) -> np.ndarray:
    """The excess kurtosis of each unit if its inputs were independent: Σ_i κ(h_i) p_i² (module docstring).

    Parameters
    ----------
    weights : ndarray, float (n_in, n_out)
        The layer's weight matrix (no bias row); pruned entries 0.
    h : ndarray, float (n, n_in)
        The layer's inputs over the flights.

    Returns
    -------
    ndarray, float64 (n_out,)
        NaN for a unit whose inputs carry no variance. Constant inputs contribute nothing.
    """
    w = np.asarray(weights, dtype=np.float64)
    h = np.asarray(h, dtype=np.float64)
    var = h.var(axis=0)
    kappa = np.nan_to_num(excess_kurtosis(h))                  # a constant input has p_i = 0 anyway
    share = var[:, None] * w ** 2
    total = share.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        p = share / total
        return np.where(total > CONSTANT, (kappa[:, None] * p ** 2).sum(axis=0), np.nan)


def cavity_kurtosis(weights: np.ndarray, h: np.ndarray, z: np.ndarray) -> np.ndarray:
    """The excess kurtosis of unit j's pre-activation without weight w_ij, for every (i, j) (module docstring).

    Parameters
    ----------
    weights : ndarray, float (n_in, n_out)
        The layer's weights (no bias row); pruned entries 0.
    h : ndarray, float (n, n_in)
        The layer's inputs.
    z : ndarray, float (n, n_out)
        Its pre-activations, z = h · weights + bias.

    Returns
    -------
    ndarray, float64 (n_in, n_out)
        κ(z_j − w_ij h_i); NaN where w_ij = 0 or the remainder is constant.
    """
    w = np.asarray(weights, dtype=np.float64)
    x = np.asarray(h, dtype=np.float64)
    x = x - x.mean(axis=0)
    y = np.asarray(z, dtype=np.float64)
    y = y - y.mean(axis=0)
    n = len(x)
    x2, y2 = x * x, y * y
    e_y2, e_y4 = y2.mean(axis=0), (y2 * y2).mean(axis=0)
    e_x2, e_x4 = x2.mean(axis=0), (x2 * x2).mean(axis=0)
    a11 = x.T @ y / n
    a13 = x.T @ (y2 * y) / n
    a22 = x2.T @ y2 / n
    a31 = (x2 * x).T @ y / n
    w2 = w * w
    m2 = e_y2 - 2 * w * a11 + w2 * e_x2[:, None]
    m4 = e_y4 - 4 * w * a13 + 6 * w2 * a22 - 4 * w2 * w * a31 + w2 * w2 * e_x4[:, None]
    with np.errstate(invalid="ignore", divide="ignore"):
        out = m4 / m2 ** 2 - 3.0
    out[(w == 0) | (m2 <= CONSTANT)] = np.nan
    return out


def cavity_test(weights: np.ndarray, h: np.ndarray, z: np.ndarray, kept_next: np.ndarray) -> dict:
    """Do the weights the next prune removes raise their unit's |kurtosis| when removed, more often than the kept
    weights nearest to them in magnitude? (module docstring)

    Parameters
    ----------
    weights : ndarray, float (n_in, n_out)
        The layer's weights at this state (no bias row); pruned entries 0.
    h : ndarray, float (n, n_in)
        The layer's inputs at this state.
    z : ndarray, float (n, n_out)
        Its pre-activations at this state.
    kept_next : ndarray, bool (n_in, n_out)
        The layer's weight mask at the next state (a subset of the entries nonzero now).

    Returns
    -------
    dict
        ``n`` the weights removed; ``removed`` and ``matched`` the fractions of them, and of the n smallest kept
        weights, whose removal raises |κ| (Δ > 0); NaN fractions if nothing is removed.
    """
    w = np.asarray(weights, dtype=np.float64)
    kept_next = np.asarray(kept_next, dtype=bool)
    now = w != 0
    removed = now & ~kept_next
    staying = now & kept_next
    base = np.abs(excess_kurtosis(z))
    delta = np.abs(cavity_kurtosis(w, h, z)) - base[None, :]
    n = int(removed.sum())
    if n == 0:
        return dict(n=0, removed=np.nan, matched=np.nan)
    order = np.argsort(np.abs(w[staying]), kind="stable")[:n]
    matched = delta[staying][order]
    raised = delta[removed]
    return dict(n=n, removed=float(np.mean(raised[np.isfinite(raised)] > 0)),
                matched=float(np.mean(matched[np.isfinite(matched)] > 0)))
