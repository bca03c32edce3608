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


def _ridge_fit(z: np.ndarray, y: np.ndarray, alpha: float) -> tuple[np.ndarray, np.ndarray | float]:
    """Ridge coefficients and intercept on standardised features (intercept not penalised); ``y`` (n,) or (n, t)."""
    ym = y.mean(axis=0)
    if z.shape[1] <= z.shape[0]:
        coef = np.linalg.solve(z.T @ z + alpha * np.eye(z.shape[1]), z.T @ (y - ym))
    else:                                                 # dual form: fewer samples than features
        coef = z.T @ np.linalg.solve(z @ z.T + alpha * np.eye(z.shape[0]), y - ym)
    return coef, ym - z.mean(axis=0) @ coef


def _checked_splits(groups: np.ndarray, splits: Sequence | None, n: int) -> list:
    """The folds (default leave-one-group-out), checked for leaks and for testing every sample exactly once."""
    splits = leave_one_group_out(groups) if splits is None else list(splits)
    check_splits(splits, groups)
    tested = np.bincount(np.concatenate([np.asarray(t) for _, t in splits]), minlength=n)
    if np.any(tested != 1):
        raise ValueError("every sample must be tested exactly once by the folds")
    return splits


def _stratum_means(y: np.ndarray, strata: np.ndarray, train: np.ndarray) -> np.ndarray:
    """Each sample's stratum mean of ``y`` over the training part ``train`` (every stratum must occur there)."""
    out = np.empty_like(y)
    for value in np.unique(strata):
        here = strata[train] == value
        if not here.any():
            raise ValueError(f"stratum {value.item()!r} has no sample in a fold's training part")
        out[strata == value] = y[train][here].mean(axis=0)
    return out


def _held_out(x, y: np.ndarray, groups: Sequence, splits: Sequence | None, alphas: Sequence[float],
              n_components: int | None, strata: Sequence | None) -> tuple[np.ndarray, np.ndarray]:
    """Held-out ridge predictions and the targets they predict (centred per stratum by each fold's training part)."""
    features = _features(x)
    y = np.asarray(y, dtype=np.float64)
    if y.ndim not in (1, 2):
        raise ValueError(f"argument 'y' must have shape (n,) or (n, targets), got {y.shape}")
    groups = np.asarray(groups)
    splits = _checked_splits(groups, splits, len(y))
    if n_components is not None:
        Spec(int, 1, None).check("n_components", n_components)
    if strata is not None:
        strata = np.asarray(strata)
        if strata.shape != y.shape[:1]:
            raise ValueError(f"argument 'strata' must hold one value per sample ({len(y)}), got {strata.shape}")
    truth, out = np.empty_like(y), np.empty_like(y)
    for train, test in splits:
        x = features(train)
        target = y if strata is None else y - _stratum_means(y, strata, train)
        alpha = _best_alpha(x[train], target[train], groups[train], alphas, n_components)
        scale = _Standardiser(x[train], n_components)
        coef, intercept = _ridge_fit(scale(x[train]), target[train], alpha)
        out[test] = scale(x[test]) @ coef + intercept
        truth[test] = target[test]
    return truth, out


def ridge_predict(x: np.ndarray, y: np.ndarray, groups: Sequence, splits: Sequence | None = None,
                  alphas: Sequence[float] = ALPHAS, n_components: int | None = None) -> np.ndarray:
    """Held-out ridge predictions of ``y`` from ``x``.

    Parameters
    ----------
    x : ndarray, float (n, d), or callable
        Features, one row per sample; or ``x(train)`` → the (n, d) features of every sample as a fold's training
        indices ``train`` define them (features chosen with the training part only, e.g. probe inputs).
    y : ndarray, float (n,) or (n, t)
        Target, or t targets fitted with one penalty.
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
    ndarray, float64, shaped like ``y``
        Each sample's prediction by the model of the fold that held it out.

    Raises
    ------
    ValueError
        From :func:`check_splits`, if a sample is tested more or less than once, or naming ``n_components`` or ``y``.
    """
    return _held_out(x, y, groups, splits, alphas, n_components, None)[1]


def ridge_residual(x: np.ndarray, y: np.ndarray, strata: Sequence, groups: Sequence, splits: Sequence | None = None,
                   alphas: Sequence[float] = ALPHAS, n_components: int | None = None
                   ) -> tuple[np.ndarray, np.ndarray]:
    """Held-out ridge predictions of the part of ``y`` that its stratum does not explain.

    In each fold the target is ``y`` minus its mean over the training part's samples of the same stratum (e.g. the
    same saved state, hence the same sparsity), for the training and the held-out samples alike; the held-out
    network's own values never enter a mean it is scored against.

    Parameters
    ----------
    x, y, groups, splits, alphas, n_components
        As for :func:`ridge_predict`.
    strata : sequence, (n,)
        Each sample's stratum; every stratum must occur in every fold's training part.

    Returns
    -------
    residual : ndarray, float64, shaped like ``y``
        Each sample's target minus its stratum's mean in the fold that held it out.
    predicted : ndarray, float64, shaped like ``y``
        The fold's prediction of it.

    Raises
    ------
    ValueError
        As :func:`ridge_predict`, or naming ``strata`` if it does not match ``y`` or a stratum is missing from a
        training part.
    """
    return _held_out(x, y, groups, splits, alphas, n_components, strata)


def _best_alpha(x: np.ndarray, y: np.ndarray, groups: np.ndarray, alphas: Sequence[float],
                n_components: int | None) -> float:
    """The penalty with the smallest inner leave-one-group-out squared error (the first alpha if one group)."""
    inner = leave_one_group_out(groups)
    if len(inner) < 2:
        return float(alphas[0])
    errors = np.zeros(len(alphas))
    for train, test in inner:
        scale = _Standardiser(x[train], n_components)
        z_train, z_test = scale(x[train]), scale(x[test])
        for a, alpha in enumerate(alphas):
            coef, intercept = _ridge_fit(z_train, y[train], alpha)
            errors[a] += float(((z_test @ coef + intercept - y[test]) ** 2).sum())
    return float(alphas[int(np.argmin(errors))])


def principal_components(gram: np.ndarray, n_components: int) -> Callable[[np.ndarray], np.ndarray]:
    """Features for :func:`ridge_predict`: every sample's scores on a fold's training part's principal components.

    For descriptions with far more entries than samples (a flattened mask or weight vector), the principal
    components of the centred rows X (not standardised: the entries share one scale) follow from the Gram matrix
    G = X Xᵀ alone: with the training part T centred, K = C G_TT C (C = I − 1/|T|) = U Λ Uᵀ, and a sample's
    scores are its centred inner products with the training rows times U Λ^{−1/2}.

    Parameters
    ----------
    gram : ndarray, float (n, n)
        Inner products of the samples' description vectors.
    n_components : int
        Components kept (at most the training part's size − 1).

    Returns
    -------
    callable
        ``features(train)`` → ndarray, float64 (n, c): every sample's scores on the components of the rows
        ``train``, c = min(n_components, |train| − 1, rank).

    Raises
    ------
    ValueError
        If ``gram`` is not a square symmetric matrix, or naming ``n_components``.
    """
    gram = np.asarray(gram, dtype=np.float64)
    if gram.ndim != 2 or gram.shape[0] != gram.shape[1] or not np.allclose(gram, gram.T, rtol=1e-10, atol=0):
        raise ValueError(f"argument 'gram' must be a symmetric (n, n) matrix, got shape {gram.shape}")
    n_components = Spec(int, 1, None).check("n_components", n_components)

    def features(train: np.ndarray) -> np.ndarray:
        train = np.asarray(train)
        g = gram[:, train]                                      # (n, m): inner products with the training rows
        row_mean = g.mean(axis=1, keepdims=True)                # x_i · μ_T
        col_mean = gram[np.ix_(train, train)].mean(axis=0)      # x_j · μ_T for the training rows
        centred = g - row_mean - col_mean[None, :] + col_mean.mean()
        values, vectors = np.linalg.eigh(centred[train])
        order = np.argsort(values)[::-1]
        keep = [i for i in order[:min(n_components, len(train) - 1)] if values[i] > 1e-10 * values[order[0]]]
        return centred @ vectors[:, keep] / np.sqrt(values[keep])
    return features


def within_strata(x: np.ndarray, strata: Sequence) -> np.ndarray:
    """Features standardised within each stratum (mean 0, sd 1 over its samples; constant features 0).

    Used for network identity: standardising within each saved state removes what every network at that sparsity
    shares, so that a nearest neighbour is found by what distinguishes networks, not states.

    Parameters
    ----------
    x : ndarray, float (n, d)
    strata : sequence, (n,)

    Returns
    -------
    ndarray, float64 (n, d)
    """
    x = np.asarray(x, dtype=np.float64)
    strata = np.asarray(strata)
    out = np.zeros_like(x)
    for value in np.unique(strata):
        rows = strata == value
        sd = x[rows].std(axis=0)
        out[rows] = (x[rows] - x[rows].mean(axis=0)) / np.where(sd > 0, sd, 1.0)
    return out


def nearest_neighbour(x: np.ndarray, labels: Sequence, groups: Sequence, splits: Sequence | None = None,
                      strata: Sequence | None = None) -> np.ndarray:
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
        Other folds (checked by :func:`check_splits`); every sample must be tested exactly once.
    strata : sequence, (n,), optional
        Standardise the features within each stratum first (:func:`within_strata`), e.g. within each saved state.

    Returns
    -------
    ndarray, (n,)
        Each sample's predicted label.

    Raises
    ------
    ValueError
        From :func:`check_splits`, or if a sample is tested more or less than once.
    """
    features = _features(x)
    if strata is not None:
        plain = features
        features = lambda train: within_strata(plain(train), strata)       # noqa: E731
    labels = np.asarray(labels)
    groups = np.asarray(groups)
    splits = _checked_splits(groups, splits, len(labels))
    out = np.empty(len(labels), dtype=labels.dtype)
    for train, test in splits:
        x = features(train)
        scale = _Standardiser(x[train], None)
        a, b = scale(x[train]), scale(x[test])
        d = ((b[:, None, :] - a[None, :, :]) ** 2).sum(axis=2)
        out[test] = labels[train][np.argmin(d, axis=1)]
    return out


def r_squared(y: np.ndarray, predicted: np.ndarray) -> float:
    """1 − Σ(y − ŷ)² / Σ(y − ȳ)² of held-out predictions (may be negative: worse than the mean); for t targets the mean
    over targets.

    Parameters
    ----------
    y, predicted : ndarray, float (n,) or (n, t)

    Returns
    -------
    float
    """
    y, predicted = np.asarray(y, dtype=np.float64), np.asarray(predicted, dtype=np.float64)
    scores = 1 - ((y - predicted) ** 2).sum(axis=0) / ((y - y.mean(axis=0)) ** 2).sum(axis=0)
    return float(np.mean(scores))


def fold_errors(y: np.ndarray, predicted: np.ndarray, groups: Sequence) -> np.ndarray:
    """Each held-out group's sum of squared errors (over its samples and targets), for paired tests between
    descriptions.

    Parameters
    ----------
    y, predicted : ndarray, float (n,) or (n, t)
    groups : sequence, (n,)

    Returns
    -------
    ndarray, float64 (groups,)
        In sorted group order (the order of :func:`leave_one_group_out`).
    """
    y, predicted, groups = np.asarray(y, dtype=np.float64), np.asarray(predicted, dtype=np.float64), np.asarray(groups)
    squared = ((y - predicted) ** 2).reshape(len(y), -1).sum(axis=1)
    return np.array([squared[groups == g].sum() for g in np.unique(groups)])


def detectable_effect(n_folds: int, alpha: float = 0.05, power: float = 0.8) -> float:
    """The smallest paired effect a test over ``n_folds`` paired differences detects with the given power.

    In units of the differences' standard deviation (Cohen's d_z), from the two-sided paired t-test's noncentral-t
    power, which the exact sign-flip test (:func:`helpers.function.sign_flip_test`) approaches.

    Parameters
    ----------
    n_folds : int
        Paired differences, ≥ 2.
    alpha : float
        Two-sided level.
    power : float
        Required power, in (alpha, 1).

    Returns
    -------
    float
        d_z; infinite if even ten standard deviations are not detected.
    """
    from scipy import optimize, stats

    n = Spec(int, 2, None).check("n_folds", n_folds)
    critical = stats.t.ppf(1 - alpha / 2, n - 1)

    def shortfall(d: float) -> float:
        nc = d * np.sqrt(n)
        lower = stats.nct.cdf(-critical, n - 1, nc)       # the wrong-sign tail: negligible (NaN) for large nc
        return stats.nct.sf(critical, n - 1, nc) + np.nan_to_num(lower) - power
    if not shortfall(10.0) > 0:                         # beyond ten standard deviations: nothing is detectable
        return float("inf")
    return float(optimize.brentq(shortfall, 1e-6, 10.0))
