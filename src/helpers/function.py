"""What a network does, and paired comparisons of conditions over networks.

Function is measured two ways: the validation loss (scaled MSE) of a network's outputs, and the controller's
closed-loop *position miss*: the network's controls flown in the simulator from each test flight's initial state
for 20 ms (:func:`helpers.ensemble.closed_loop_errors`), and the distance (cm) between where the moth ends and where
it was asked to be, median over flights.

Conditions are compared network by network (:func:`paired`): the ratio of a measure under condition A to the same
network's measure under B, summarised by its median and interquartile range over networks, and tested with the exact
sign-flip permutation test on the log ratios (:func:`sign_flip_test`): under the null hypothesis that A and B do not
differ, each network's log ratio is as likely positive as negative, so all 2ⁿ sign patterns are equally likely.
"""
from __future__ import annotations

import itertools
from collections.abc import Sequence

import numpy as np

from helpers import ensemble as ens_mod


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


def sign_flip_test(values: Sequence[float]) -> dict:
    """Exact two-sided sign-flip permutation test that the mean of paired differences is 0.

    Parameters
    ----------
    values : sequence of float
        One paired difference per network (e.g. log ratios); NaN values are dropped.

    Returns
    -------
    dict
        ``n`` (networks used), ``p_value`` (fraction of the 2ⁿ sign patterns whose |mean| ≥ the observed |mean|)
        and ``p_floor`` (the smallest p the n networks allow, 2 / 2ⁿ); NaN p for n = 0.
    """
    x = np.asarray([v for v in values if np.isfinite(v)], dtype=np.float64)
    n = len(x)
    if n == 0:
        return dict(n=0, p_value=np.nan, p_floor=np.nan)
    signs = np.array(list(itertools.product((1.0, -1.0), repeat=n)))
    means = np.abs(signs @ x) / n
    p = float((means >= abs(x.mean()) - 1e-12).mean())
    return dict(n=n, p_value=p, p_floor=2.0 / 2 ** n if n > 0 else np.nan)


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
