"""Linear and saturating units, how much nonlinearity a network uses, and how robust it is.

Lin, Zhang, Feng & Zhao (2025) describe a unit by its transformation mode: order-preserving (the "linear" mode) or
not; the distribution of the modes across layers, and the attraction basins in sample and weight space, are their
core metrics of a model. tanh is strictly increasing, so every tanh unit preserves order; the closest test here is
whether a unit works in tanh's *linear regime* or *saturates*:

- the fraction of a unit's pre-activations beyond |z| > 2 (tanh(2) = 0.96: saturated) (:func:`saturated_fraction`);
- the R² of tanh(z) against its best affine fit a z + b over the flights (:func:`affine_r2`): 1 for a unit that
  never leaves the linear part of tanh;
- each hidden unit's mode (:func:`unit_modes`): ``dead`` (no outgoing edge, or an activation that does not vary),
  ``saturating`` (at least :data:`SATURATING` of its pre-activations beyond |z| > 2), ``linear`` (R² ≥
  :data:`LINEAR_R2`), ``nonlinear`` (the rest: the units that bend their input);
- how much of the nonlinearity the network uses: its output when a layer's linear units are replaced by their
  affine fits (:func:`with_affine_units`), which changes nothing if they were exactly affine;
- basins: the largest multiplicative weight noise W ⊙ (1 + σ ε), ε ~ N(0, 1), under which the median loss over draws
  stays at or below a threshold (:func:`noise_tolerance`), and the input–output Jacobian's Frobenius norm
  (:func:`jacobian_norm`), the sensitivity to a change of the inputs.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from helpers import activity
from helpers.checks import Spec

#: A unit whose pre-activations are beyond |z| > 2 at least this often saturates.
SATURATING = 0.5
#: A unit whose activation an affine function of its pre-activation explains to this R² works linearly.
LINEAR_R2 = 0.99
#: Standard deviation below which an activation counts as constant.
CONSTANT = 1e-6
#: The modes of :func:`unit_modes`.
MODES = ("dead", "saturating", "linear", "nonlinear")


def saturated_fraction(z: np.ndarray) -> np.ndarray:
    """Fraction of each unit's pre-activations beyond |z| > 2.

    Parameters
    ----------
    z : ndarray, float (n, m)

    Returns
    -------
    ndarray, float64 (m,)
    """
    return (np.abs(np.asarray(z)) > 2).mean(axis=0)


def affine_fit(z: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Least-squares fit tanh(z) ≈ a z + b of every unit, and its R².

    Parameters
    ----------
    z : ndarray, float (n, m)
        Pre-activations.

    Returns
    -------
    a, b : ndarray, float64 (m,)
        Slope and intercept (a = 0, b = the mean activation for a constant z).
    r2 : ndarray, float64 (m,)
        1 − residual variance / variance of tanh(z); NaN where tanh(z) does not vary.
    """
    z = np.asarray(z, dtype=np.float64)
    t = np.tanh(z)
    zc, tc = z - z.mean(axis=0), t - t.mean(axis=0)
    var_z, var_t = (zc ** 2).mean(axis=0), (tc ** 2).mean(axis=0)
    cov = (zc * tc).mean(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        a = np.where(var_z > 0, cov / var_z, 0.0)
        r2 = np.where(var_t > CONSTANT ** 2, cov ** 2 / (var_z * var_t), np.nan)
    b = t.mean(axis=0) - a * z.mean(axis=0)
    return a, b, r2


def affine_r2(z: np.ndarray) -> np.ndarray:
    """R² of tanh(z) against its best affine fit, per unit (:func:`affine_fit`).

    Parameters
    ----------
    z : ndarray, float (n, m)

    Returns
    -------
    ndarray, float64 (m,)
    """
    return affine_fit(z)[2]


def unit_modes(z: np.ndarray, outgoing: np.ndarray) -> np.ndarray:
    """Each hidden unit's mode (module docstring).

    Parameters
    ----------
    z : ndarray, float (n, m)
        The layer's pre-activations.
    outgoing : ndarray, int or bool (m,)
        Each unit's number of kept outgoing edges (0: the unit feeds nothing).

    Returns
    -------
    ndarray, str (m,)
        One of :data:`MODES` per unit.
    """
    z = np.asarray(z, dtype=np.float64)
    still = np.tanh(z).std(axis=0) <= CONSTANT
    sat = saturated_fraction(z) >= SATURATING
    r2 = affine_r2(z)
    modes = np.full(z.shape[1], "nonlinear", dtype=object)
    modes[np.nan_to_num(r2) >= LINEAR_R2] = "linear"
    modes[sat] = "saturating"
    modes[still | (np.asarray(outgoing) == 0)] = "dead"
    return modes.astype(str)


def with_affine_units(weights: Sequence[np.ndarray], x: np.ndarray, layer: int, units: np.ndarray,
                      fit_x: np.ndarray | None = None) -> np.ndarray:
    """The network's outputs with the chosen units of one hidden layer replaced by their affine fits.

    Parameters
    ----------
    weights : sequence of ndarray, (n_i + 1, n_{i+1})
        The network in the exchange layout.
    x : ndarray, (n, n_0)
        Scaled inputs to evaluate.
    layer : int
        The hidden layer, 0 … L − 2 (its pre-activations are ``activity.preactivations(...)[layer]``).
    units : ndarray, bool (n_layer,) or int
        Which of its units are replaced.
    fit_x : ndarray, (n', n_0), optional
        The inputs the fits are made on (default ``x``).

    Returns
    -------
    ndarray, float64 (n, n_L)
        The outputs; the network's own where ``units`` selects nothing.

    Raises
    ------
    ValueError
        Naming ``layer`` if it is not a hidden layer.
    """
    mats, biases = activity.split(weights)
    layer = Spec(int, 0, len(mats) - 2).check("layer", layer)
    a, b, _ = affine_fit(activity.preactivations(weights, x if fit_x is None else fit_x)[layer])
    chosen = np.zeros(mats[layer].shape[1], dtype=bool)
    chosen[units] = True
    h = np.asarray(x, dtype=np.float64)
    for i, (w, bias) in enumerate(zip(mats, biases)):
        z = h @ w + bias
        if i == len(mats) - 1:
            return z
        h = np.tanh(z)
        if i == layer:
            h[:, chosen] = a[chosen] * z[:, chosen] + b[chosen]
    return h


def loss(outputs: np.ndarray, y: np.ndarray) -> float:
    """Mean squared error over rows and outputs (scaled units).

    Parameters
    ----------
    outputs, y : ndarray, float (n, n_L)

    Returns
    -------
    float
    """
    return float(np.mean((np.asarray(outputs, dtype=np.float64) - np.asarray(y, dtype=np.float64)) ** 2))


def noise_tolerance(weights: Sequence[np.ndarray], x: np.ndarray, y: np.ndarray, threshold: float,
                    levels: Sequence[float], draws: int = 3, seed: int = 0) -> float:
    """The largest multiplicative noise level σ of ``levels`` under which the median loss over draws of
    W ⊙ (1 + σ ε) stays ≤ ``threshold``, scanning from the smallest level up (module docstring).

    Parameters
    ----------
    weights : sequence of ndarray, (n_i + 1, n_{i+1})
        The network (pruned entries stay 0 under multiplicative noise).
    x, y : ndarray, (n, n_0), (n, n_L)
        Scaled inputs and targets.
    threshold : float
        Loss threshold (scaled MSE), > 0.
    levels : sequence of float
        Increasing noise levels σ > 0.
    draws : int
        Noise draws per level, ≥ 1.
    seed : int
        Seed of the draws (level k, draw d use the same ε for every network).

    Returns
    -------
    float
        The last level before the median loss first exceeds the threshold; 0.0 if the first already does.
    """
    draws = Spec(int, 1, None).check("draws", draws)
    best = 0.0
    for k, sigma in enumerate(levels):
        values = []
        for d in range(draws):
            rng = np.random.default_rng([seed, k, d])
            noisy = [w * (1 + sigma * rng.standard_normal(w.shape)) for w in weights]
            values.append(loss(activity.preactivations(noisy, x)[-1], y))
        if np.median(values) > threshold:
            return best
        best = float(sigma)
    return best


def jacobian_norm(weights: Sequence[np.ndarray], x: np.ndarray) -> np.ndarray:
    """Frobenius norm of ∂output/∂input at every row of ``x``.

    Parameters
    ----------
    weights : sequence of ndarray, (n_i + 1, n_{i+1})
        The network in the exchange layout.
    x : ndarray, (n, n_0)
        Scaled inputs.

    Returns
    -------
    ndarray, float64 (n,)
    """
    jac = activity.input_jacobian(weights, x)
    return np.sqrt((jac ** 2).sum(axis=(1, 2)))
