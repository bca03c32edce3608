"""Cross-validated prediction across networks: ridge regression and the nearest neighbour, with folds that never let a
held-out network's states into training.

A network's saved states are not independent samples: states of one network share its initial weights, its data
order and most of its mask. Every fold here therefore holds out whole *groups* (a network, or for network identity a
state) and trains on the others; :func:`check_splits` refuses any split whose training part holds a group of its test
part. Everything a model learns from data — the features' means and spreads, principal components, the ridge penalty
(by an inner leave-one-group-out search) — is learned on the training part of each fold only.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from helpers.checks import Spec

#: Ridge penalties searched (on standardised features), from almost none to strong shrinkage.
ALPHAS = tuple(10.0 ** k for k in range(-3, 5))


def leave_one_group_out(groups: Sequence) -> list[tuple[np.ndarray, np.ndarray]]:
    """One fold per group: train on every other group, test on this one.

    Parameters
    ----------
    groups : sequence, (n,)
        Each sample's group (e.g. its network).

    Returns
    -------
    list of (ndarray, ndarray)
        (training indices, test indices) per group, in sorted group order.
    """
    groups = np.asarray(groups)
    return [(np.flatnonzero(groups != g), np.flatnonzero(groups == g)) for g in np.unique(groups)]


def check_splits(splits: Sequence[tuple[np.ndarray, np.ndarray]], groups: Sequence) -> None:
    """Refuse splits that let a test group into training.

    Parameters
    ----------
    splits : sequence of (ndarray, ndarray)
        (training indices, test indices) per fold.
    groups : sequence, (n,)
        Each sample's group.

    Raises
    ------
    ValueError
        Naming the fold and the group whose samples are both trained and tested on, or an empty part.
    """
    groups = np.asarray(groups)
    for f, (train, test) in enumerate(splits):
        if len(train) == 0 or len(test) == 0:
            raise ValueError(f"fold {f} has an empty training or test part")
        shared = np.intersect1d(groups[np.asarray(train)], groups[np.asarray(test)])
        if shared.size:
            raise ValueError(f"fold {f} trains on group {shared[0].item()!r}, which it also tests on: a leak across "
                             "networks")


def _features(x) -> Callable[[np.ndarray], np.ndarray]:
    """``x`` as a function of a fold's training indices: itself if it is an array, else the callable."""
    if callable(x):
        return lambda train: np.asarray(x(np.asarray(train)), dtype=np.float64)
    fixed = np.asarray(x, dtype=np.float64)
    return lambda train: fixed


class _Standardiser:
    """Feature means and spreads of a training part (constant features are kept at 0), optionally followed by the
    training part's first principal components."""

    def __init__(self, x: np.ndarray, n_components: int | None):
        self.mean = x.mean(axis=0)
        sd = x.std(axis=0)
        self.sd = np.where(sd > 0, sd, 1.0)
        self.basis = None
        if n_components is not None:
            _, _, vt = np.linalg.svd((x - self.mean) / self.sd, full_matrices=False)
            self.basis = vt[:n_components].T

    def __call__(self, x: np.ndarray) -> np.ndarray:
        z = (x - self.mean) / self.sd
        return z if self.basis is None else z @ self.basis


def _ridge_fit(z: np.ndarray, y: np.ndarray, alpha: float) -> tuple[np.ndarray, float]:
    """Ridge coefficients and intercept on standardised features (intercept not penalised)."""
    ym = y.mean()
    if z.shape[1] <= z.shape[0]:
        coef = np.linalg.solve(z.T @ z + alpha * np.eye(z.shape[1]), z.T @ (y - ym))
    else:                                                 # dual form: fewer samples than features
        coef = z.T @ np.linalg.solve(z @ z.T + alpha * np.eye(z.shape[0]), y - ym)
    return coef, ym - z.mean(axis=0) @ coef


def ridge_predict(x: np.ndarray, y: np.ndarray, groups: Sequence, splits: Sequence | None = None,
                  alphas: Sequence[float] = ALPHAS, n_components: int | None = None) -> np.ndarray:
    """Held-out ridge predictions of ``y`` from ``x``.

    Parameters
    ----------
    x : ndarray, float (n, d), or callable
        Features, one row per sample; or ``x(train)`` → the (n, d) features of every sample as a fold's training
        indices ``train`` define them (features chosen with the training part only, e.g. probe inputs).
    y : ndarray, float (n,)
        Target.
    groups : sequence, (n,)
        Each sample's group; the default folds are :func:`leave_one_group_out`.
    splits : sequence of (ndarray, ndarray), optional
        Other folds (checked by :func:`check_splits`); every sample must be tested exactly once.
    alphas : sequence of float
        Penalties searched by an inner leave-one-group-out over each training part.
    n_components : int, optional
        Reduce the standardised features to the training part's first principal components.

    Returns
    -------
    ndarray, float64 (n,)
        Each sample's prediction by the model of the fold that held it out.

    Raises
    ------
    ValueError
        From :func:`check_splits`, if a sample is tested more or less than once, or naming ``n_components``.
    """
    features = _features(x)
    y = np.asarray(y, dtype=np.float64)
    groups = np.asarray(groups)
    splits = leave_one_group_out(groups) if splits is None else list(splits)
    check_splits(splits, groups)
    tested = np.bincount(np.concatenate([np.asarray(t) for _, t in splits]), minlength=len(y))
    if np.any(tested != 1):
        raise ValueError("every sample must be tested exactly once by the folds")
    if n_components is not None:
        Spec(int, 1, None).check("n_components", n_components)
    out = np.empty(len(y))
    for train, test in splits:
        x = features(train)
        alpha = _best_alpha(x[train], y[train], groups[train], alphas, n_components)
        scale = _Standardiser(x[train], n_components)
        coef, intercept = _ridge_fit(scale(x[train]), y[train], alpha)
        out[test] = scale(x[test]) @ coef + intercept
    return out


def _best_alpha(x: np.ndarray, y: np.ndarray, groups: np.ndarray, alphas: Sequence[float],
                n_components: int | None) -> float:
    """The penalty with the smallest inner leave-one-group-out squared error (the first alpha if one group)."""
    inner = leave_one_group_out(groups)
    if len(inner) < 2:
        return float(alphas[0])
    errors = []
    for alpha in alphas:
        sse = 0.0
        for train, test in inner:
            scale = _Standardiser(x[train], n_components)
            coef, intercept = _ridge_fit(scale(x[train]), y[train], alpha)
            sse += float(((scale(x[test]) @ coef + intercept - y[test]) ** 2).sum())
        errors.append(sse)
    return float(alphas[int(np.argmin(errors))])


def nearest_neighbour(x: np.ndarray, labels: Sequence, groups: Sequence, splits: Sequence | None = None
                      ) -> np.ndarray:
    """Held-out 1-nearest-neighbour labels (Euclidean distance on features standardised by the training part).

    Parameters
    ----------
    x : ndarray, float (n, d), or callable
        Features, or ``x(train)`` → the features as a fold's training part defines them (:func:`ridge_predict`).
    labels : sequence, (n,)
        What is predicted (e.g. the network).
    groups : sequence, (n,)
        Each sample's group (for network identity: its state, so that a state is never matched to itself).
    splits : sequence of (ndarray, ndarray), optional
        Other folds (checked by :func:`check_splits`).

    Returns
    -------
    ndarray, (n,)
        Each sample's predicted label.
    """
    features = _features(x)
    labels = np.asarray(labels)
    groups = np.asarray(groups)
    splits = leave_one_group_out(groups) if splits is None else list(splits)
    check_splits(splits, groups)
    out = np.empty(len(labels), dtype=labels.dtype)
    for train, test in splits:
        x = features(train)
        scale = _Standardiser(x[train], None)
        a, b = scale(x[train]), scale(x[test])
        d = ((b[:, None, :] - a[None, :, :]) ** 2).sum(axis=2)
        out[test] = labels[train][np.argmin(d, axis=1)]
    return out


def r_squared(y: np.ndarray, predicted: np.ndarray) -> float:
    """1 − Σ(y − ŷ)² / Σ(y − ȳ)² of held-out predictions (may be negative: worse than the mean).

    Parameters
    ----------
    y, predicted : ndarray, float (n,)

    Returns
    -------
    float
    """
    y, predicted = np.asarray(y, dtype=np.float64), np.asarray(predicted, dtype=np.float64)
    return float(1 - ((y - predicted) ** 2).sum() / ((y - y.mean()) ** 2).sum())
