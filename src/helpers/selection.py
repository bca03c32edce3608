"""Which saved state of a network the analysis looks at: its optimally sparse state, and the focus state.

Selection (defect B4 of the original, chapter 8): the optimally sparse state of a network is the most pruned
saved state whose loss on the *full* validation set is ≤ the threshold; a network with no such state is
*dropped* (index −1). The original's criterion — the loss of state s on the 1024-sample training slice s
(:func:`helpers.run.train_slice`) — is recorded too (``train_slice_loss``) so that both selections can be
compared. The later chapters analyse each network "at the optimum": :func:`focus_states`.
"""
from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from helpers.checks import Spec

#: The selection's loss threshold: a finite number > 0 (scaled MSE).
THRESHOLD = Spec(float, low=np.finfo(float).tiny, doc="validation loss below which a pruned state counts as good")


def check_threshold(threshold: float) -> float:
    """The selection's loss threshold as a float.

    Parameters
    ----------
    threshold : float
        Validation loss (scaled MSE, dimensionless) at or below which a pruned state counts as good; a finite
        number > 0 (:data:`THRESHOLD`).

    Returns
    -------
    float
        ``threshold`` converted to a Python float.

    Raises
    ------
    ValueError
        Naming the parameter ``threshold`` unless it is a finite number > 0 (a bool is not taken for a number).
    """
    return THRESHOLD.check("threshold", threshold)


def optimal_states(val_loss: np.ndarray, threshold: float) -> np.ndarray:
    """Index of the most pruned saved state with loss ≤ threshold, per network; −1 if none (dropped).

    Parameters
    ----------
    val_loss : array_like of float, (N, S)
        Loss (scaled MSE) of each of N networks' S saved states on the full validation set, states ordered by
        increasing sparsity.
    threshold : float
        The selection's loss threshold: a finite number > 0 (:func:`check_threshold`).

    Returns
    -------
    ndarray, int64 (N,)
        Per network, the index in [0, S) of its most pruned state with ``val_loss <= threshold``, or −1 if no
        state qualifies (the network is dropped).

    Raises
    ------
    ValueError
        If ``threshold`` is not a finite number > 0.
    """
    check_threshold(threshold)
    ok = np.asarray(val_loss) <= threshold
    last = ok.shape[1] - 1 - np.argmax(ok[:, ::-1], axis=1)
    return np.where(ok.any(axis=1), last, -1).astype(np.int64)


#: Sparsity of the fallback focus state: the optimum the original's networks reached most often.
FALLBACK_SPARSITY = 0.93


def focus_states(states: Mapping[str, np.ndarray]) -> tuple[dict[int, int], str]:
    """The saved state to analyse "at the optimum", per network, and a phrase naming the rule that chose it.

    If any network has an optimally sparse state, every kept network maps to its own (dropped networks are left
    out); otherwise every network maps to the saved state nearest :data:`FALLBACK_SPARSITY`.

    Parameters
    ----------
    states : mapping of str to ndarray
        Needs ``sparsity``, float (S,), the nominal weight sparsity of each saved state, and ``optimal``, int
        (E,), each network's optimally sparse state index (−1 = dropped), as :func:`optimal_states` returns.

    Returns
    -------
    focus : dict of int to int
        {network index: saved-state index}.
    description : str
        The rule that chose the states, as a phrase, e.g. ``"the 93% state (the original's most common
        optimum)"`` (so the whole result reads e.g. ``({0: 12, 1: 12}, "the 93% state (…)")``).
    """
    optimal = np.asarray(states["optimal"])
    kept = np.flatnonzero(optimal >= 0)
    if len(kept):
        return {int(e): int(optimal[e]) for e in kept}, "each kept network's own optimally sparse state"
    sparsity = np.asarray(states["sparsity"])
    nearest = int(np.argmin(np.abs(sparsity - FALLBACK_SPARSITY)))
    why = ("the original's most common optimum" if np.isclose(sparsity[nearest], FALLBACK_SPARSITY)
           else f"the saved state nearest the original's most common optimum, {FALLBACK_SPARSITY:.0%}")
    return {e: nearest for e in range(len(optimal))}, f"the {sparsity[nearest]:.0%} state ({why})"


def network_focus(states: Mapping[str, np.ndarray], network: int, threshold: float) -> tuple[int, str]:
    """The saved state at which a single-network chapter shows ``network``.

    That is its own optimally sparse state, or, if it has none, the state :func:`focus_states` falls back to.

    Parameters
    ----------
    states : mapping of str to ndarray
        Needs ``sparsity``, float (S,), and ``optimal``, int (E,) (−1 = dropped), as for :func:`focus_states`.
    network : int
        Index of the network in the ensemble analysed, in [0, E − 1].
    threshold : float
        The selection's loss threshold (scaled MSE) the optima were chosen at; only quoted in the phrase.

    Returns
    -------
    state : int
        Index of the saved state to show.
    why : str
        Why that state, as a phrase.

    Raises
    ------
    ValueError
        Naming the parameter ``network`` if the ensemble has no such network (not an integer in [0, E − 1]).
    """
    n = len(states["optimal"])
    network = Spec(int, 0, n - 1, doc=f"the ensemble analysed has {n} networks").check("network", network)
    focus, rule = focus_states({"sparsity": states["sparsity"], "optimal": states["optimal"][[network]]})
    if states["optimal"][network] >= 0:
        return focus[0], f"its optimally sparse state (the most pruned with validation loss <= {threshold:g})"
    return focus[0], f"none of its saved states has validation loss <= {threshold:g}, so it is shown at {rule}"
