"""Which inputs pruning keeps: the first layer's edges per input, and each first-layer unit's effective fan-in.

Our inputs are 10 unordered state variables, not pixels, so the "local receptive fields" that iterative magnitude
pruning finds in fully connected image networks (Redman et al. 2024) become *input-selective* units here: units that
listen to few of the inputs.

- **Edges kept per input**: the number of first-layer weights of input i that the mask keeps, against the binomial
  null in which each of the layer's n_0 · n_1 entries is kept with the layer's density d: Binomial(n_1, d) per input
  (:func:`kept_per_input`, :func:`binomial_test`).
- **Effective fan-in** of unit j: with u_ij = σ_i w_ij the weight scaled by its input's standard deviation over the
  flights (what the input contributes to the unit's variance), p_ij = u_ij² / Σ_i u_ij², the inverse participation
  ratio IPR_j = Σ_i p_ij² and the effective fan-in 1 / IPR_j, between 1 (one input) and the unit's in-degree (all
  its inputs alike) (:func:`effective_fan_in`).
- Two nulls of the same layer, each drawn with its weights (:func:`null_fan_in`): ``"binomial"`` places the layer's
  kept entries uniformly at random and shuffles the kept values over them; ``"out-degree"`` keeps every input's
  number of kept edges and its kept values, and moves them to random units. The first asks whether units are more
  selective than a random sparse layer; the second whether they are more selective than the inputs' edge counts
  alone make them.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy import stats as scipy_stats

from helpers.checks import Spec

#: The nulls of :func:`null_fan_in`.
NULLS = ("binomial", "out-degree")


def kept_per_input(mask: np.ndarray) -> np.ndarray:
    """First-layer edges kept per input.

    Parameters
    ----------
    mask : ndarray, bool (n_0 + 1, n_1)
        The first layer's mask in the exchange layout (bias row last, not counted).

    Returns
    -------
    ndarray, int64 (n_0,)
    """
    return np.asarray(mask, dtype=bool)[:-1].sum(axis=1).astype(np.int64)


def binomial_test(kept: np.ndarray, n_units: int) -> tuple[np.ndarray, np.ndarray]:
    """Each input's kept-edge count against Binomial(n_units, d), d the layer's density.

    Parameters
    ----------
    kept : ndarray, int (n_0,)
        Edges kept per input (:func:`kept_per_input`).
    n_units : int
        Units the inputs could reach (n_1).

    Returns
    -------
    expected : ndarray, float64 (n_0,)
        n_units · d for every input.
    p_value : ndarray, float64 (n_0,)
        Two-sided exact binomial test of each count.
    """
    kept = np.asarray(kept, dtype=np.int64)
    density = kept.sum() / (kept.size * n_units)
    p = np.array([scipy_stats.binomtest(int(k), n_units, density).pvalue for k in kept])
    return np.full(kept.size, n_units * density), p


def effective_fan_in(weights: np.ndarray, input_std: np.ndarray) -> np.ndarray:
    """Every first-layer unit's effective fan-in 1 / Σ_i p_ij² (module docstring).

    Parameters
    ----------
    weights : ndarray, float (n_0, n_1) or (n_0 + 1, n_1)
        The first layer's weights (a bias row, if given, is dropped when the shape says so); pruned entries 0.
    input_std : ndarray, float (n_0,)
        Each input's standard deviation over the flights (scaled units).

    Returns
    -------
    ndarray, float64 (n_1,)
        Between 1 and the unit's in-degree; NaN for a unit that receives no input.
    """
    std = np.asarray(input_std, dtype=np.float64)
    w = np.asarray(weights, dtype=np.float64)
    if w.shape[0] == std.size + 1:
        w = w[:-1]
    u2 = (w * std[:, None]) ** 2
    total = u2.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        p = u2 / total
        return np.where(total > 0, 1.0 / (p ** 2).sum(axis=0), np.nan)


def null_fan_in(weights: np.ndarray, input_std: np.ndarray, model: str, n_samples: int, seed: int
                ) -> np.ndarray:
    """Effective fan-ins of null layers drawn from ``weights`` (module docstring).

    Parameters
    ----------
    weights : ndarray, float (n_0, n_1) or (n_0 + 1, n_1)
        The first layer's weights (bias row dropped as in :func:`effective_fan_in`); pruned entries 0.
    input_std : ndarray, float (n_0,)
        Each input's standard deviation.
    model : {"binomial", "out-degree"}
        Which null.
    n_samples : int
        Null layers drawn, ≥ 1.
    seed : int
        Seed of the draws.

    Returns
    -------
    ndarray, float64 (n_samples, n_1)
        Each null layer's effective fan-ins (NaN for units left without input).

    Raises
    ------
    ValueError
        Naming ``model`` or ``n_samples`` if invalid.
    """
    model = Spec(str, choices=NULLS).check("model", model)
    n_samples = Spec(int, 1, None).check("n_samples", n_samples)
    std = np.asarray(input_std, dtype=np.float64)
    w = np.asarray(weights, dtype=np.float64)
    if w.shape[0] == std.size + 1:
        w = w[:-1]
    rng = np.random.default_rng(seed)
    return np.stack([effective_fan_in(null_layer(w, model, rng), std) for _ in range(n_samples)])


def null_layer(weights: np.ndarray, model: str, rng: np.random.Generator) -> np.ndarray:
    """One null layer drawn from ``weights`` (module docstring).

    Parameters
    ----------
    weights : ndarray, float (n_0, n_1)
        The first layer's weights without the bias row; pruned entries 0.
    model : {"binomial", "out-degree"}
        ``"binomial"``: the kept values, shuffled, at as many uniformly random entries; ``"out-degree"``: each input's
        kept values at as many random units of its row.
    rng : numpy.random.Generator
        Source of the draw.

    Returns
    -------
    ndarray, float64 (n_0, n_1)
    """
    w = np.asarray(weights, dtype=np.float64)
    null = np.zeros_like(w)
    if Spec(str, choices=NULLS).check("model", model) == "binomial":
        values = w[w != 0]
        cells = rng.choice(w.size, size=values.size, replace=False)
        null.flat[cells] = rng.permutation(values)
    else:
        for i in range(w.shape[0]):
            values = w[i][w[i] != 0]
            null[i, rng.choice(w.shape[1], size=values.size, replace=False)] = values
    return null


def empirical_p(observed: float, null: Sequence[float]) -> float:
    """One-sided empirical p-value that ``observed`` is smaller than the null's values: (1 + #{null ≤ observed}) /
    (1 + samples).

    Parameters
    ----------
    observed : float
    null : sequence of float
        At least one value.

    Returns
    -------
    float
        In (0, 1]; its floor is 1 / (1 + samples).
    """
    null = np.asarray(null, dtype=np.float64)
    return float((1 + np.sum(null <= observed)) / (1 + null.size))
