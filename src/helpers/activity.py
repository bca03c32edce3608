"""What each unit of a network does on a set of inputs: its pre-activations and activations, layer by layer.

A network in the exchange layout (:mod:`helpers.snapshot`: per layer a (n_i + 1, n_{i+1}) array, biases as the last
row) maps inputs x (n, 10) through hidden layers h_ℓ = tanh(z_ℓ), z_ℓ = h_{ℓ−1} W_ℓ + b_ℓ (h_0 = x) to a linear
output layer. The statistics of later modules (:mod:`helpers.gaussianity`, :mod:`helpers.linearity`) are computed in
float64 from these arrays; they are the same functions the batched float32 ensemble evaluates
(:func:`helpers.ensemble.predict`), to float32 rounding.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def split(weights: Sequence[np.ndarray]) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """A network's exchange-layout layers as weight matrices and bias vectors (float64).

    Parameters
    ----------
    weights : sequence of ndarray, (n_i + 1, n_{i+1})
        Its layers, bias row last.

    Returns
    -------
    matrices : list of ndarray, float64 (n_i, n_{i+1})
    biases : list of ndarray, float64 (n_{i+1},)
    """
    return ([np.asarray(w[:-1], dtype=np.float64) for w in weights],
            [np.asarray(w[-1], dtype=np.float64) for w in weights])


def preactivations(weights: Sequence[np.ndarray], x: np.ndarray) -> list[np.ndarray]:
    """Every layer's pre-activations z_ℓ on the inputs ``x``.

    Parameters
    ----------
    weights : sequence of ndarray, (n_i + 1, n_{i+1})
        The network's layers in the exchange layout.
    x : ndarray, (n, n_0)
        Scaled inputs, one row per flight.

    Returns
    -------
    list of ndarray, float64 (n, n_{ℓ})
        z_1, …, z_L; the last is the network's (linear) output.

    Raises
    ------
    ValueError
        If ``x`` is not a 2-d array with as many columns as the first layer has inputs.
    """
    mats, biases = split(weights)
    h = np.asarray(x, dtype=np.float64)
    if h.ndim != 2 or h.shape[1] != mats[0].shape[0]:
        raise ValueError(f"argument 'x' must have shape (n, {mats[0].shape[0]}), got {h.shape}")
    out = []
    for i, (w, b) in enumerate(zip(mats, biases)):
        z = h @ w + b
        out.append(z)
        h = np.tanh(z) if i < len(mats) - 1 else z
    return out


def layer_inputs(weights: Sequence[np.ndarray], x: np.ndarray) -> list[np.ndarray]:
    """What each layer receives: the inputs for the first, the previous hidden layer's activations after that.

    Parameters
    ----------
    weights : sequence of ndarray, (n_i + 1, n_{i+1})
        The network's layers in the exchange layout.
    x : ndarray, (n, n_0)
        Scaled inputs.

    Returns
    -------
    list of ndarray, float64 (n, n_{ℓ−1})
        h_0 = x, h_1 = tanh(z_1), …, h_{L−1}.
    """
    zs = preactivations(weights, x)
    return [np.asarray(x, dtype=np.float64)] + [np.tanh(z) for z in zs[:-1]]


def input_jacobian(weights: Sequence[np.ndarray], x: np.ndarray) -> np.ndarray:
    """The Jacobian ∂output/∂input of the network at every row of ``x``.

    Carried forward layer by layer: J_1 = W_1, J_ℓ = J_{ℓ−1} · diag(1 − tanh²(z_{ℓ−1})) · W_ℓ, one matrix product
    per layer (the output layer is linear).

    Parameters
    ----------
    weights : sequence of ndarray, (n_i + 1, n_{i+1})
        The network in the exchange layout.
    x : ndarray, (n, n_0)
        Scaled inputs.

    Returns
    -------
    ndarray, float64 (n, n_0, n_L)
        J[r, i, o] = ∂y_o/∂x_i at row r.
    """
    mats, _ = split(weights)
    zs = preactivations(weights, x)
    n, n_in = len(x), mats[0].shape[0]
    jac = np.broadcast_to(mats[0], (n, n_in, mats[0].shape[1]))          # (n, n_0, n_1): ∂z_1/∂x
    for w, z in zip(mats[1:], zs[:-1]):                                  # one matrix product per layer
        jac = ((jac * (1 - np.tanh(z) ** 2)[:, None, :]).reshape(n * n_in, -1) @ w).reshape(n, n_in, -1)
    return np.asarray(jac, dtype=np.float64)
