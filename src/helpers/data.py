"""The training data: simulated 20 ms flights turned into the inverse problem's inputs and outputs.

Each trajectory starts from a sampled state with sampled constant controls (chapter 2) and is integrated with
:func:`helpers.flight.simulate`. The network sees where the insect starts and where it is 20 ms later and must
name the controls (and final velocities) that got it there:

* inputs (10), in the original's order: ``[phi0, theta0, x_f, y_f, phi_f, theta_f, xdot0, ydot0, phidot0, thetadot0]``
* outputs (7): ``[F_x, F_y, tau, xdot_f, ydot_f, phidot_f, thetadot_f]`` with F_x = F cos(alpha), F_y = F sin(alpha)

The rows are split 64/16/20 % (train/validation/test, disjoint, seeded) and every column is min-max scaled to
[-0.5, 0.5] with the *training* split's statistics. The dataset is stored once per parameter set as the artifact
``artifacts/data-<key>/dataset.npz`` (atomic write, reused when present; the key hashes the parameters, the flight
parameters and the helper source, so nothing stale is reused).
"""
from __future__ import annotations

import dataclasses
from functools import cached_property
from pathlib import Path

import numpy as np

from . import flight, pipeline
from .checks import Spec

INPUT_NAMES = ("phi0", "theta0", "x_f", "y_f", "phi_f", "theta_f", "xdot0", "ydot0", "phidot0", "thetadot0")
OUTPUT_NAMES = ("F_x", "F_y", "tau", "xdot_f", "ydot_f", "phidot_f", "thetadot_f")
SPLITS = ("train", "val", "test")
FRACTIONS = (0.64, 0.16, 0.20)
CHUNK = 50_000          # trajectories simulated (and sampled) per chunk: bounds the working memory
_FILE = "dataset.npz"
_SPLIT_STREAM = 2**32   # spawn key of the split's random stream (chunks use keys 0, 1, 2, ...)


def rows_from_simulation(state0: np.ndarray, controls: np.ndarray, final: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Assemble the network's inputs and outputs in the original's order from simulated flights.

    Parameters
    ----------
    state0 : ndarray, float (n, 8)
        Initial states in flight state order ``[x, xdot, y, ydot, theta, thetadot, phi, phidot]`` (cm, cm/s,
        rad, rad/s; :mod:`helpers.flight`).
    controls : ndarray, float (n, 3)
        Controls ``[F, alpha, tau]`` (dyn, rad, dyn cm).
    final : ndarray, float (n, 8)
        Final states after the 20 ms horizon, in state order.

    Returns
    -------
    inputs : ndarray, float64 (n, 10)
        Columns :data:`INPUT_NAMES`: ``[phi0, theta0, x_f, y_f, phi_f, theta_f, xdot0, ydot0, phidot0,
        thetadot0]``.
    outputs : ndarray, float64 (n, 7)
        Columns :data:`OUTPUT_NAMES`: ``[F_x, F_y, tau, xdot_f, ydot_f, phidot_f, thetadot_f]`` with
        F_x = F cos(alpha), F_y = F sin(alpha).
    """
    s0, u, sf = state0, controls, final
    inputs = np.stack([s0[:, 6], s0[:, 4], sf[:, 0], sf[:, 2], sf[:, 6], sf[:, 4], s0[:, 1], s0[:, 3], s0[:, 7],
                       s0[:, 5]], axis=1)
    outputs = np.stack([u[:, 0] * np.cos(u[:, 1]), u[:, 0] * np.sin(u[:, 1]), u[:, 2], sf[:, 1], sf[:, 3],
                        sf[:, 7], sf[:, 5]], axis=1)
    return inputs, outputs


def outputs_to_controls(y_unscaled: np.ndarray) -> np.ndarray:
    """Unscaled outputs (or their first 3 columns) -> controls as [F, alpha, tau].

    Also available under its older name ``controls_from_outputs``.

    Parameters
    ----------
    y_unscaled : array_like of float, (n, 7) or (n, 3)
        Raw (unscaled, CGS) outputs in :data:`OUTPUT_NAMES` order, or just ``[F_x, F_y, tau]``.

    Returns
    -------
    ndarray, float64 (n, 3)
        ``[F, alpha, tau]`` with F = hypot(F_x, F_y) (dyn), alpha = atan2(F_y, F_x) mod 2 pi (rad, in
        [0, 2 pi)) and tau (dyn cm).

    Raises
    ------
    ValueError
        If the outputs are not of shape (n, 7) or (n, 3), or their first 3 columns hold NaN or inf.
    """
    out = np.asarray(y_unscaled, dtype=np.float64)
    if out.ndim != 2 or out.shape[1] not in (3, 7):
        raise ValueError(f"outputs must have shape (n, 7) or (n, 3), got {out.shape}")
    if not np.all(np.isfinite(out[:, :3])):
        raise ValueError("outputs hold non-finite values (NaN or inf)")
    return np.stack([np.hypot(out[:, 0], out[:, 1]), np.mod(np.arctan2(out[:, 1], out[:, 0]), 2 * np.pi),
                     out[:, 2]], axis=1)


controls_from_outputs = outputs_to_controls   # the same function under its older name


def split_labels(n: int, data_seed: int) -> np.ndarray:
    """Seeded random assignment of n rows to train (0) / val (1) / test (2).

    The permutation is drawn from its own stream, ``SeedSequence(data_seed, spawn_key=(2**32,))``, distinct from
    the simulation chunks' streams.

    Parameters
    ----------
    n : int
        Number of rows.
    data_seed : int
        Master seed of the data set.

    Returns
    -------
    ndarray, int8 (n,)
        The split of each row: exactly round(0.64 n) rows 0, round(0.16 n) rows 1 and the rest 2.
    """
    rng = np.random.default_rng(np.random.SeedSequence(data_seed, spawn_key=(_SPLIT_STREAM,)))
    n_train, n_val = round(FRACTIONS[0] * n), round(FRACTIONS[1] * n)
    labels = np.full(n, 2, dtype=np.int8)
    perm = rng.permutation(n)
    labels[perm[:n_train]] = 0
    labels[perm[n_train:n_train + n_val]] = 1
    return labels


def scale(x: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Min–max scaling of columns to [−0.5, 0.5] by the ranges ``lo``, ``hi``: (x − lo)/(hi − lo) − 0.5.

    Parameters
    ----------
    x : array_like of float, (n, columns)
        Raw values (CGS units).
    lo, hi : ndarray, float64 (columns,)
        Column ranges (the training split's min and max); values in [lo, hi] map to [−0.5, 0.5].

    Returns
    -------
    ndarray, float32 (n, columns)
        The scaled values, computed in float64 and returned as float32.
    """
    return ((np.asarray(x, dtype=np.float64) - lo) / (hi - lo) - 0.5).astype(np.float32)



@dataclasses.dataclass(frozen=True, eq=False)
class Dataset:
    """Raw and scaled data of one parameter set.

    Parameters
    ----------
    inputs : ndarray, float64 (N, 10)
        Raw inputs (CGS units, the original's order, :data:`INPUT_NAMES`).
    outputs : ndarray, float64 (N, 7)
        Raw outputs (CGS units, the original's order, :data:`OUTPUT_NAMES`).
    labels : ndarray, int8 (N,)
        Split of each row (0 train, 1 val, 2 test).
    in_min, in_max : ndarray, float64 (10,)
        Training-split column ranges of the inputs.
    out_min, out_max : ndarray, float64 (7,)
        Training-split column ranges of the outputs.
    params : dict
        The build parameters (:func:`artifact_params`).
    path : pathlib.Path, optional
        The artifact file it was loaded from; ``None`` if built in memory.

    Attributes
    ----------
    x_train, y_train : ndarray, float32 (n_train, 10), (n_train, 7)
        Scaled training inputs and outputs (computed on first use); training rows lie in [-0.5, 0.5] exactly.
    x_val, y_val, x_test, y_test : ndarray, float32
        Scaled validation and test inputs (·, 10) and outputs (·, 7), computed on first use.
    """

    inputs: np.ndarray
    outputs: np.ndarray
    labels: np.ndarray
    in_min: np.ndarray
    in_max: np.ndarray
    out_min: np.ndarray
    out_max: np.ndarray
    params: dict
    path: Path | None = None

    input_names = INPUT_NAMES
    output_names = OUTPUT_NAMES

    def __len__(self) -> int:
        return self.inputs.shape[0]

    def rows(self, split: str) -> np.ndarray:
        """Row indices of ``split``.

        Parameters
        ----------
        split : {"train", "val", "test"}
            The split.

        Returns
        -------
        ndarray, int64 (n,)
            Indices into ``inputs``/``outputs`` of the split's rows, increasing.

        Raises
        ------
        ValueError
            Naming the parameter ``split`` unless it is one of :data:`SPLITS`.
        """
        Spec(str, choices=SPLITS).check("split", split)
        return np.flatnonzero(self.labels == SPLITS.index(split))

    # scaling -------------------------------------------------------------------------------------------
    def scale_inputs(self, x: np.ndarray) -> np.ndarray:
        """Raw inputs -> scaled to [-0.5, 0.5] by the training ranges (:func:`scale`).

        Parameters
        ----------
        x : array_like of float, (n, 10)
            Raw inputs (CGS units, :data:`INPUT_NAMES` order).

        Returns
        -------
        ndarray, float32 (n, 10)
            The scaled inputs.
        """
        return scale(x, self.in_min, self.in_max)

    def scale_outputs(self, y: np.ndarray) -> np.ndarray:
        """Raw outputs -> scaled to [-0.5, 0.5] by the training ranges (:func:`scale`).

        Parameters
        ----------
        y : array_like of float, (n, 7)
            Raw outputs (CGS units, :data:`OUTPUT_NAMES` order).

        Returns
        -------
        ndarray, float32 (n, 7)
            The scaled outputs.
        """
        return scale(y, self.out_min, self.out_max)

    def unscale_outputs(self, y: np.ndarray) -> np.ndarray:
        """Scaled outputs -> raw (the inverse of :meth:`scale_outputs`).

        Parameters
        ----------
        y : array_like of float, (n, 7)
            Scaled outputs, e.g. network predictions.

        Returns
        -------
        ndarray, float64 (n, 7)
            Raw outputs (CGS units): (y + 0.5) (out_max − out_min) + out_min.
        """
        return (np.asarray(y, dtype=np.float64) + 0.5) * (self.out_max - self.out_min) + self.out_min

    def _scaled(self, split: str) -> tuple[np.ndarray, np.ndarray]:
        idx = self.rows(split)
        return self.scale_inputs(self.inputs[idx]), self.scale_outputs(self.outputs[idx])

    @cached_property
    def _train(self):
        return self._scaled("train")

    @cached_property
    def _val(self):
        return self._scaled("val")

    @cached_property
    def _test(self):
        return self._scaled("test")

    x_train = property(lambda self: self._train[0])
    y_train = property(lambda self: self._train[1])
    x_val = property(lambda self: self._val[0])
    y_val = property(lambda self: self._val[1])
    x_test = property(lambda self: self._test[0])
    y_test = property(lambda self: self._test[1])

    # what the closed-loop check needs ---------------------------------------------------------------------
    def initial_states(self, split: str) -> np.ndarray:
        """Initial states of ``split`` in flight state order, rebuilt from the inputs.

        Parameters
        ----------
        split : {"train", "val", "test"}
            The split.

        Returns
        -------
        ndarray, float64 (n, 8)
            ``[x, xdot, y, ydot, theta, thetadot, phi, phidot]`` (cm, cm/s, rad, rad/s) with x0 = y0 = 0.

        Raises
        ------
        ValueError
            Naming the parameter ``split`` unless it is one of :data:`SPLITS`.
        """
        x = self.inputs[self.rows(split)]
        s0 = np.zeros((x.shape[0], 8))
        s0[:, 1], s0[:, 3], s0[:, 4], s0[:, 5], s0[:, 6], s0[:, 7] = x[:, 6], x[:, 7], x[:, 1], x[:, 9], x[:, 0], x[:, 8]
        return s0

    def targets(self, split: str) -> np.ndarray:
        """Final positions of ``split``: where each flight ended after the 20 ms horizon.

        Parameters
        ----------
        split : {"train", "val", "test"}
            The split.

        Returns
        -------
        ndarray, float64 (n, 4)
            ``[x_f, y_f, theta_f, phi_f]`` (cm, cm, rad, rad).

        Raises
        ------
        ValueError
            Naming the parameter ``split`` unless it is one of :data:`SPLITS`.
        """
        x = self.inputs[self.rows(split)]
        return np.stack([x[:, 2], x[:, 3], x[:, 5], x[:, 4]], axis=1)

    def controls(self, split: str) -> np.ndarray:
        """True controls of ``split``, recovered from the raw outputs (:func:`outputs_to_controls`).

        Parameters
        ----------
        split : {"train", "val", "test"}
            The split.

        Returns
        -------
        ndarray, float64 (n, 3)
            ``[F, alpha, tau]`` (dyn, rad in [0, 2 pi), dyn cm).

        Raises
        ------
        ValueError
            Naming the parameter ``split`` unless it is one of :data:`SPLITS`.
        """
        return outputs_to_controls(self.outputs[self.rows(split)])


def _validate(n_trajectories, data_seed) -> tuple[int, int]:
    n = pipeline.SPECS["n_trajectories"].check("n_trajectories", n_trajectories)
    seed = pipeline.SPECS["data_seed"].check("data_seed", data_seed)
    return n, seed


def artifact_params(n_trajectories: int, data_seed: int) -> dict:
    """Everything the dataset depends on (the helper source enters the key through :mod:`pipeline`).

    Parameters
    ----------
    n_trajectories : int
        Number of simulated flights.
    data_seed : int
        Master seed of the data set.

    Returns
    -------
    dict
        ``n_trajectories``, ``data_seed``, the horizon (s) and tolerance of the simulation, the flight
        parameters (:data:`helpers.flight.PARAMS` as a dict) and the simulation chunk size :data:`CHUNK`.
    """
    return {"n_trajectories": n_trajectories, "data_seed": data_seed, "horizon": flight.HORIZON,
            "tol": flight.DEFAULT_TOL, "flight": dataclasses.asdict(flight.PARAMS), "chunk": CHUNK}


def simulate_rows(n_trajectories: int, data_seed: int, progress: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Sample and simulate ``n_trajectories`` flights in chunks of :data:`CHUNK`.

    Chunk k draws from ``SeedSequence(data_seed, spawn_key=(k,))``.

    Parameters
    ----------
    n_trajectories : int
        Number of flights, in [20,000, 100,000,000] (the ``n_trajectories`` chapter parameter).
    data_seed : int
        Master seed, in [0, 2**32 − 1] (the ``data_seed`` chapter parameter).
    progress : bool
        Show a progress bar.

    Returns
    -------
    inputs : ndarray, float64 (n, 10)
        Raw inputs (:func:`rows_from_simulation`).
    outputs : ndarray, float64 (n, 7)
        Raw outputs.

    Raises
    ------
    ValueError
        Naming the parameter if ``n_trajectories`` or ``data_seed`` is invalid.
    RuntimeError
        If an integration fails (:func:`helpers.flight.simulate`).
    """
    from tqdm import tqdm

    n, seed = _validate(n_trajectories, data_seed)
    inputs, outputs = np.empty((n, 10)), np.empty((n, 7))
    with tqdm(total=n, desc="simulating flights", unit="traj", disable=not progress, smoothing=0.1) as bar:
        for k, start in enumerate(range(0, n, CHUNK)):
            stop = min(n, start + CHUNK)
            inputs[start:stop], outputs[start:stop] = _simulate_chunk(n, seed, k)
            bar.update(stop - start)
    return inputs, outputs


def _simulate_chunk(n: int, seed: int, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Rows k·CHUNK … of the n-flight data set: raw inputs (m, 10) and outputs (m, 7), m ≤ CHUNK."""
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(k,)))
    s0, u = flight.sample_conditions(min(n, (k + 1) * CHUNK) - k * CHUNK, rng)
    return rows_from_simulation(s0, u, flight.simulate(s0, u))


def first_rows(n_trajectories: int, data_seed: int, split: str, n_rows: int) -> tuple[np.ndarray, np.ndarray]:
    """The first ``n_rows`` rows of ``split`` of the data set, regenerated without simulating the rest.

    They are the same rows as :func:`load_or_build` gives, in the same order. Only the simulation chunks up to
    the last needed row are simulated (the split itself is drawn for all rows, which is cheap).

    Parameters
    ----------
    n_trajectories : int
        Number of flights of the whole data set, in [20,000, 100,000,000].
    data_seed : int
        Its master seed, in [0, 2**32 − 1].
    split : {"train", "val", "test"}
        The split to take rows from.
    n_rows : int
        How many of its first rows, in [1, rows of the split].

    Returns
    -------
    inputs : ndarray, float64 (n_rows, 10)
        Raw inputs.
    outputs : ndarray, float64 (n_rows, 7)
        Raw outputs.

    Raises
    ------
    ValueError
        Naming the parameter if ``n_trajectories``, ``data_seed`` or ``split`` is invalid, or if ``n_rows`` is
        not in [1, rows of the split].
    """
    return first_rows_of_splits(n_trajectories, data_seed, {split: n_rows})[split]


def first_rows_of_splits(n_trajectories: int, data_seed: int,
                         n_rows: dict[str, int]) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """:func:`first_rows` of several splits at once, simulating the chunks they need once.

    Parameters
    ----------
    n_trajectories, data_seed : int
        As for :func:`first_rows`.
    n_rows : dict of str to int
        {split: how many of its first rows}, each as for :func:`first_rows`.

    Returns
    -------
    dict of str to (ndarray, ndarray)
        {split: (raw inputs (n_rows, 10), raw outputs (n_rows, 7))}, float64.

    Raises
    ------
    ValueError
        As :func:`first_rows` raises, for any of the splits, before anything is simulated.
    """
    n, seed = _validate(n_trajectories, data_seed)
    labels = split_labels(n, seed)
    wanted = {}
    for split, count in n_rows.items():
        Spec(str, choices=SPLITS).check("split", split)
        rows = np.flatnonzero(labels == SPLITS.index(split))
        if not (1 <= count <= len(rows)):
            raise ValueError(f"n_rows = {count} is invalid: split {split!r} has {len(rows)} rows")
        wanted[split] = rows[:count]
    n_chunks = max(int(rows[-1]) for rows in wanted.values()) // CHUNK + 1
    chunks = [_simulate_chunk(n, seed, k) for k in range(n_chunks)]
    inputs, outputs = np.concatenate([c[0] for c in chunks]), np.concatenate([c[1] for c in chunks])
    return {split: (inputs[rows], outputs[rows]) for split, rows in wanted.items()}


def subset(n_trajectories: int, data_seed: int, split: str, n_rows: int, scaler: dict[str, np.ndarray]) -> Dataset:
    """A :class:`Dataset` holding only the first ``n_rows`` rows of ``split`` (:func:`first_rows`).

    Parameters
    ----------
    n_trajectories : int
        Number of flights of the whole data set, in [20,000, 100,000,000].
    data_seed : int
        Its master seed, in [0, 2**32 − 1].
    split : {"train", "val", "test"}
        The split to take rows from.
    n_rows : int
        How many of its first rows, in [1, rows of the split].
    scaler : dict of str to ndarray
        ``x_min``, ``x_max`` (10,) and ``y_min``, ``y_max`` (7,): the training ranges of the whole data set,
        e.g. those a shipped ensemble was trained with; used to scale the rows.

    Returns
    -------
    Dataset
        The rows, all labelled ``split``; its other splits are empty. ``params`` records
        ``subset=(split, n_rows)``.

    Raises
    ------
    ValueError
        As :func:`first_rows` raises for a bad parameter.
    """
    inputs, outputs = first_rows(n_trajectories, data_seed, split, n_rows)
    labels = np.full(len(inputs), SPLITS.index(split), dtype=np.int8)
    return Dataset(inputs, outputs, labels, *(np.asarray(scaler[k], dtype=np.float64)
                                             for k in ("x_min", "x_max", "y_min", "y_max")),
                   dict(artifact_params(n_trajectories, data_seed), subset=(split, n_rows)))


def build(n_trajectories: int, data_seed: int, progress: bool = False) -> Dataset:
    """Simulate, split and compute the training ranges (no caching; see :func:`load_or_build`).

    Parameters
    ----------
    n_trajectories : int
        Number of flights, in [20,000, 100,000,000].
    data_seed : int
        Master seed, in [0, 2**32 − 1].
    progress : bool
        Show a progress bar while simulating.

    Returns
    -------
    Dataset
        The whole data set, in memory (``path`` is ``None``).

    Raises
    ------
    ValueError
        Naming the parameter if ``n_trajectories`` or ``data_seed`` is invalid.
    """
    n, seed = _validate(n_trajectories, data_seed)
    inputs, outputs = simulate_rows(n, seed, progress)
    labels = split_labels(n, seed)
    train = labels == 0
    return Dataset(inputs, outputs, labels, inputs[train].min(0), inputs[train].max(0), outputs[train].min(0),
                   outputs[train].max(0), artifact_params(n, seed))


def load_or_build(n_trajectories: int, data_seed: int, progress: bool = False) -> Dataset:
    """The dataset of these parameters: loaded from its artifact when present, else built and stored atomically.

    The stored file is checked against its stage manifest (:func:`helpers.pipeline.build_once`: a damaged file is
    rebuilt, with a warning) and its values are checked on every load (:func:`check_values`).

    Parameters
    ----------
    n_trajectories : int
        Number of flights, in [20,000, 100,000,000].
    data_seed : int
        Master seed, in [0, 2**32 − 1].
    progress : bool
        Show a progress bar if the data set has to be simulated.

    Returns
    -------
    Dataset
        The data set, with ``path`` its artifact file ``artifacts/data-<key>/dataset.npz``.

    Raises
    ------
    ValueError
        Naming a bad parameter, before any work.
    helpers.pipeline.ArtifactError
        If the stored file is unreadable, lacks an array, holds arrays of the wrong shape or values no
        simulation produces (:func:`check_values`), or if a freshly simulated data set fails those checks.
    """
    n, seed = _validate(n_trajectories, data_seed)
    params = artifact_params(n, seed)
    folder = pipeline.artifact_dir("data", params)
    path = folder / _FILE

    def write_dataset(folder: Path) -> None:
        ds = build(n, seed, progress)
        check_values({k: getattr(ds, k) for k in ARRAYS}, "the simulated data set")

        def write(tmp: Path) -> None:
            with open(tmp, "wb") as fh:   # uncompressed: simulated floats barely compress, and 10^7 rows load fast
                np.savez(fh, **{k: getattr(ds, k) for k in ARRAYS})

        pipeline.atomic_write(folder / _FILE, write)

    pipeline.build_once(folder, (_FILE,), write_dataset)
    return _load(path, n, params)


#: The arrays a data set file holds.
ARRAYS = ("inputs", "outputs", "labels", "in_min", "in_max", "out_min", "out_max")


def check_values(arrays: dict[str, np.ndarray], where: str) -> None:
    """Check that a data set's values are what a simulation produces.

    Parameters
    ----------
    arrays : dict of str to ndarray
        The arrays of :data:`ARRAYS`: ``inputs`` (N, 10), ``outputs`` (N, 7), ``labels`` (N,) and the training
        ranges ``in_min``, ``in_max`` (10,), ``out_min``, ``out_max`` (7,).
    where : str
        What the arrays are, for the error message (e.g. ``"artifact <path>"``).

    Raises
    ------
    helpers.pipeline.ArtifactError
        Naming ``where``, the array and the column when an input or output is non-finite, a split label lies
        outside {0, 1, 2}, or a training range is not finite with min < max.
    """
    for key, names in (("inputs", INPUT_NAMES), ("outputs", OUTPUT_NAMES)):
        bad = ~np.isfinite(arrays[key]).all(axis=0)
        if bad.any():
            column = names[int(np.argmax(bad))]
            rows = int((~np.isfinite(arrays[key][:, int(np.argmax(bad))])).sum())
            raise pipeline.ArtifactError(f"{where}: column {column!r} of {key} holds {rows} non-finite value(s)")
    labels = arrays["labels"]
    if labels.size and (labels.min() < 0 or labels.max() > 2):
        raise pipeline.ArtifactError(f"{where}: split labels outside {{0, 1, 2}} (found {int(labels.min())}.."
                                     f"{int(labels.max())})")
    for lo, hi, names in (("in_min", "in_max", INPUT_NAMES), ("out_min", "out_max", OUTPUT_NAMES)):
        bad = ~(np.isfinite(arrays[lo]) & np.isfinite(arrays[hi]) & (arrays[lo] < arrays[hi]))
        if bad.any():
            raise pipeline.ArtifactError(f"{where}: the training range of column {names[int(np.argmax(bad))]!r} "
                                         f"({lo}/{hi}) is not finite with min < max")


def _load(path: Path, n: int, params: dict) -> Dataset:
    arrays = pipeline.load_npz(path, required=ARRAYS)
    ok = (arrays["inputs"].shape == (n, 10) and arrays["outputs"].shape == (n, 7)
          and arrays["labels"].shape == (n,) and arrays["in_min"].shape == (10,) and arrays["out_min"].shape == (7,))
    if not ok:
        raise pipeline.ArtifactError(f"artifact {path} holds arrays of the wrong shape; delete its folder to rebuild")
    check_values(arrays, f"artifact {path}")
    return Dataset(**{k: arrays[k] for k in ARRAYS}, params=params, path=path)
