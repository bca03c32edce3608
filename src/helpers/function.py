"""What a network does, and paired comparisons of conditions over networks.

Function is measured two ways: the validation loss (scaled MSE) of a network's outputs, and the controller's
closed-loop *position miss*: the network's controls flown in the simulator from each test flight's initial state
for 20 ms (:func:`helpers.ensemble.closed_loop_errors`), and the distance (cm) between where the moth ends and where
it was asked to be, median over flights.

Conditions are compared network by network (:func:`paired`): the ratio of a measure under condition A to the same
network's measure under B, summarised by its median and interquartile range over networks, and tested with the exact
sign-flip permutation test on the log ratios (:func:`sign_flip_test`): under the null hypothesis that A and B do not
differ, each network's log ratio is as likely positive as negative, so all 2ⁿ sign patterns are equally likely
(enumerated up to 20 networks or folds, sampled above).
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from helpers import ensemble as ens_mod
from helpers.checks import Spec


def losses(weights: Sequence[Sequence[np.ndarray]], x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Validation loss of each network.

    Parameters
    ----------
    weights : sequence of list of ndarray
        E networks in the exchange layout.
    x, y : ndarray, float32 (n, 10), (n, 7)
        Scaled inputs and targets.

    Returns
    -------
    ndarray, float64 (E,)
        Mean squared error over rows and outputs.
    """
    return np.asarray(ens_mod.mse(ens_mod.from_exchange(weights), x, y), dtype=np.float64)


def position_miss(weights: Sequence[Sequence[np.ndarray]], dataset, n_flights: int) -> np.ndarray:
    """Median closed-loop position miss of each network over the first ``n_flights`` test flights.

    Parameters
    ----------
    weights : sequence of list of ndarray
        E networks in the exchange layout.
    dataset : helpers.data.Dataset
        Holds at least ``n_flights`` test flights (its scaler maps the networks' outputs to controls).
    n_flights : int
        Flights flown per network, ≥ 1.

    Returns
    -------
    ndarray, float64 (E,)
        Median over flights of √(Δx² + Δy²) (cm) between the simulated final position and the target.
    """
    outputs = ens_mod.predict(ens_mod.from_exchange(weights), dataset.x_test[:n_flights])
    errors = ens_mod.closed_loop_errors(outputs, dataset, "test")
    return np.median(np.hypot(errors[..., 0], errors[..., 1]), axis=1)


#: Up to this many networks (or folds) the sign-flip test enumerates all 2ⁿ sign patterns (2²⁰ × 20 float64: 168 MB);
#: above, it draws :data:`SIGN_DRAWS`.
EXACT_MAX = 20
SIGN_DRAWS = 100_000


def sign_flip_test(values: Sequence[float], exact_max: int = EXACT_MAX, draws: int = SIGN_DRAWS, seed: int = 0
                   ) -> dict:
    """Two-sided sign-flip permutation test that the mean of paired differences is 0.

    Exact for up to ``exact_max`` networks (all 2ⁿ sign patterns); for more, a Monte Carlo test on ``draws`` random
    sign patterns, p = (1 + #{patterns with |mean| ≥ the observed |mean|}) / (1 + draws), which never falls below
    the exact p's chance level (2ⁿ patterns would not fit in memory for n ≈ 30).

    Parameters
    ----------
    values : sequence of float
        One paired difference per network (e.g. log ratios); NaN values are dropped.
    exact_max : int
        The largest n tested exactly (≥ 1).
    draws : int
        Random sign patterns above ``exact_max`` (≥ 1).
    seed : int
        Seed of the random sign patterns.

    Returns
    -------
    dict
        ``n`` (networks used), ``p_value``, ``p_floor`` (the smallest p the test allows: 2 / 2ⁿ exact,
        1 / (1 + draws) drawn) and ``exact`` (bool); NaN p for n = 0.

    Raises
    ------
    ValueError
        Naming ``exact_max`` or ``draws`` if < 1.
    """
    Spec(int, 1, None).check("exact_max", exact_max)
    Spec(int, 1, None).check("draws", draws)
    x = np.asarray([v for v in values if np.isfinite(v)], dtype=np.float64)
    n = len(x)
    if n == 0:
        return dict(n=0, p_value=np.nan, p_floor=np.nan, exact=True)
    observed = abs(x.mean()) - 1e-12
    if n <= exact_max:
        signs = 1.0 - 2.0 * ((np.arange(2 ** n)[:, None] >> np.arange(n)) & 1)    # every pattern, once
        p = float((np.abs(signs @ x) / n >= observed).mean())
        return dict(n=n, p_value=p, p_floor=2.0 / 2 ** n, exact=True)
    rng = np.random.default_rng(seed)
    hits = 0
    for start in range(0, draws, 10_000):                   # blocks of 10,000 patterns: bounded memory
        signs = rng.choice((1.0, -1.0), size=(min(10_000, draws - start), n))
        hits += int((np.abs(signs @ x) / n >= observed).sum())
    return dict(n=n, p_value=(1 + hits) / (1 + draws), p_floor=1 / (1 + draws), exact=False)


def paired(a: Sequence[float], b: Sequence[float]) -> dict:
    """Condition A against condition B, network by network: ratios a/b and the sign-flip test of their logs.

    Parameters
    ----------
    a, b : sequence of float
        One positive measure per network under each condition, in the same network order.

    Returns
    -------
    dict
        ``median``, ``q25``, ``q75`` of the ratios a/b, ``above`` (networks with a > b), and the entries of
        :func:`sign_flip_test` on log(a/b).

    Raises
    ------
    ValueError
        If ``a`` and ``b`` differ in length.
    """
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"a and b must hold one value per network each, got {a.shape} and {b.shape}")
    ratio = a / b
    q25, median, q75 = np.quantile(ratio, [0.25, 0.5, 0.75]) if len(ratio) else (np.nan,) * 3
    return dict(median=float(median), q25=float(q25), q75=float(q75), above=int((ratio > 1).sum()),
                **sign_flip_test(np.log(ratio)))
