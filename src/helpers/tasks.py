"""What the networks are trained to compute: the flight task, or a second task on the same inputs.

The book's networks solve the inverse control problem of :mod:`helpers.flight`: from a flight's initial and final
state (10 inputs) to the controls and final velocities that produced it (7 outputs). To ask whether a motif profile
belongs to that task or to iterative magnitude pruning of this architecture, the same networks are trained, with
the same protocol, on a second task with the same inputs and output size:

``"teacher"``
    The targets are the outputs of a fixed random teacher network, ``y = W2 tanh(g W1 x' + b1)`` on the scaled
    inputs (x' = 2x, in [−1, 1]), 10 → :data:`TEACHER_HIDDEN` → 7, with W1, b1, W2 standard normal (W1 divided by
    √10, W2 by √:data:`TEACHER_HIDDEN`) drawn from the data set's seed, and gain g = :data:`TEACHER_GAIN`, so that
    most hidden units work in tanh's curved range (pre-activation s.d. about 3.5), and a teacher small enough that
    pruning meets it where it meets the flight task (:data:`TEACHER_HIDDEN`). Each teacher output is then mapped
    affinely so that its training-split mean and standard deviation, in scaled units, are those of the flight
    output it replaces: the loss and the threshold that picks the optimum then mean the same share of the target's
    variance in both tasks, and the inputs are the very same rows. Only the map from inputs to outputs differs, and
    it has no physics in it: a smooth, dense, nonlinear function of all ten inputs. A related task (another flight
    duration) would share most of the flight task's structure and tell less.

The teacher's outputs replace the flight outputs of a :class:`helpers.data.Dataset` (:func:`retarget`); the scaler
that a shipped ensemble records then maps the teacher's raw outputs to its targets, so that a data set is
regenerated from its seed for either task.
"""
from __future__ import annotations

import dataclasses
from typing import Mapping

import numpy as np

from helpers.checks import Spec
from helpers.data import Dataset, scale

#: The tasks a run can train on (the parameter ``task``).
TASKS = ("flight", "teacher")
#: Hidden units of the teacher network. With :data:`TEACHER_GAIN`, chosen so that pruning meets the task about where
#: it meets the flight task. A probe (one network of the book's architecture with torch's default initialisation,
#: 5,000 batches, then pruned one-shot to 75, 90 and 95 % with 1,500 batches of retraining after each) reached
#: validation MSEs of 2.1 × 10⁻⁵ (dense), 6.8 × 10⁻⁵, 6.7 × 10⁻⁴ and 1.1 × 10⁻² (the flight task: 1.5 × 10⁻³,
#: 1.1 × 10⁻³, 1.4 × 10⁻³ and 2.2 × 10⁻²); wider or steeper teachers failed earlier (64 units at gain 12: 1.7 × 10⁻³
#: at 90 %; 256 units at gain 12, trained with the full protocol, passed the threshold at 55 %). Under the full
#: reference protocol this teacher's networks (``data/second-task``) have their optima at 75–91 % (the flight task's
#: at 91–93 %) and share the flight task's cliff at 94 %.
TEACHER_HIDDEN = 32
#: Gain of the teacher's first layer: the pre-activations' standard deviation is about 3.5 on the scaled inputs, so
#: that most hidden units are nonlinear (see :data:`TEACHER_HIDDEN`).
TEACHER_GAIN = 6.0
#: Rows per block when the teacher is evaluated (bounds the working memory at 10^7 flights to ~0.3 GB).
_BLOCK = 1_000_000
#: Added to the data seed so that the teacher's weights are drawn from a stream of their own.
_TEACHER_STREAM = 0x7EAC4E


def teacher_weights(data_seed: int) -> dict[str, np.ndarray]:
    """The teacher network drawn from ``data_seed``.

    Parameters
    ----------
    data_seed : int
        The data set's seed, in [0, 2**32 − 1].

    Returns
    -------
    dict of str to ndarray
        ``w1`` float64 (:data:`TEACHER_HIDDEN`, 10), ``b1`` (:data:`TEACHER_HIDDEN`,), ``w2`` (7, :data:`TEACHER_HIDDEN`).
    """
    rng = np.random.default_rng([int(data_seed), _TEACHER_STREAM])
    return dict(w1=rng.standard_normal((TEACHER_HIDDEN, 10)) / np.sqrt(10),
                b1=rng.standard_normal(TEACHER_HIDDEN),
                w2=rng.standard_normal((7, TEACHER_HIDDEN)) / np.sqrt(TEACHER_HIDDEN))


def teacher_outputs(x_scaled: np.ndarray, data_seed: int) -> np.ndarray:
    """The teacher's raw outputs for scaled inputs.

    Parameters
    ----------
    x_scaled : array_like of float, (n, 10)
        Inputs scaled to [−0.5, 0.5] by the data set's training ranges (:func:`helpers.data.scale`).
    data_seed : int
        The data set's seed (:func:`teacher_weights`).

    Returns
    -------
    ndarray, float64 (n, 7)
        ``W2 tanh(g W1 (2 x) + b1)``, before the affine map to the flight outputs' statistics.
    """
    w = teacher_weights(data_seed)
    x = np.asarray(x_scaled)
    out = np.empty((x.shape[0], 7))
    for a in range(0, x.shape[0], _BLOCK):
        h = np.tanh(TEACHER_GAIN * (2.0 * x[a:a + _BLOCK].astype(np.float64)) @ w["w1"].T + w["b1"])
        out[a:a + _BLOCK] = h @ w["w2"].T
    return out


def check_task(task: str) -> str:
    """Check a task's name.

    Parameters
    ----------
    task : str
        The name to check.

    Returns
    -------
    str
        ``task``, if it is one of :data:`TASKS`.

    Raises
    ------
    ValueError
        Naming the parameter ``task`` and the allowed values otherwise.
    """
    Spec(str, choices=TASKS).check("task", task)
    return task


def raw_outputs(task: str, inputs: np.ndarray, outputs: np.ndarray, data_seed: int,
                x_min: np.ndarray, x_max: np.ndarray) -> np.ndarray:
    """The raw outputs of ``task`` for rows of a flight data set.

    Parameters
    ----------
    task : {"flight", "teacher"}
        The task (:data:`TASKS`).
    inputs, outputs : ndarray, float64 (n, 10), (n, 7)
        Raw inputs and flight outputs of the rows (CGS units).
    data_seed : int
        The data set's seed (:func:`teacher_weights`).
    x_min, x_max : ndarray, float64 (10,)
        The data set's training ranges of the inputs, which scale them as the networks see them.

    Returns
    -------
    ndarray, float64 (n, 7)
        ``outputs`` for the flight task; the teacher's raw outputs (:func:`teacher_outputs`) for ``"teacher"``.

    Raises
    ------
    ValueError
        Naming ``task`` if it is not one of :data:`TASKS`.
    """
    check_task(task)
    if task == "flight":
        return np.asarray(outputs, dtype=np.float64)
    return teacher_outputs(scale(inputs, x_min, x_max), data_seed)


def retarget(ds: Dataset, task: str, scaler: Mapping[str, np.ndarray] | None = None) -> Dataset:
    """The data set ``ds`` with the outputs of ``task``.

    Parameters
    ----------
    ds : helpers.data.Dataset
        A flight data set (whole, or a :func:`helpers.data.subset` of one).
    task : {"flight", "teacher"}
        The task (:data:`TASKS`); ``"flight"`` returns ``ds`` itself.
    scaler : mapping, optional
        ``y_min``, ``y_max`` (7,) of the task as a run recorded them (a shipped ensemble's scaler): needed for a
        subset, whose own rows do not determine the affine map. ``None``: computed from ``ds``'s training split so
        that each scaled teacher output has the training mean and standard deviation of the scaled flight output.

    Returns
    -------
    helpers.data.Dataset
        The same rows, labels and input ranges; ``outputs`` the teacher's raw outputs and ``out_min``, ``out_max``
        the ranges that scale them to the targets (:meth:`helpers.data.Dataset.scale_outputs`); ``params`` records
        ``task``.

    Raises
    ------
    ValueError
        Naming ``task`` if it is not one of :data:`TASKS`, or if ``scaler`` is ``None`` and ``ds`` has no
        training rows.
    """
    check_task(task)
    if task == "flight":
        return ds
    raw = raw_outputs(task, ds.inputs, ds.outputs, ds.params["data_seed"], ds.in_min, ds.in_max)
    if scaler is None:
        train = ds.labels == 0
        if not train.any():
            raise ValueError("task: the teacher's scaling needs the data set's training split (or a recorded scaler)")
        flight = scale(ds.outputs[train], ds.out_min, ds.out_max).astype(np.float64)
        gain = flight.std(0) / raw[train].std(0)           # scaled = gain * raw + offset
        offset = flight.mean(0) - gain * raw[train].mean(0)
        lo = -(offset + 0.5) / gain                          # helpers.data.scale: (raw - lo)/(hi - lo) - 0.5
        hi = lo + 1.0 / gain
    else:
        lo, hi = (np.asarray(scaler[k], dtype=np.float64) for k in ("y_min", "y_max"))
    return dataclasses.replace(ds, outputs=raw, out_min=lo, out_max=hi, params=dict(ds.params, task=task))
