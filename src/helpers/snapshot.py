"""Saved states of a train–prune run, and the reference ensemble shipped with the book: one format, one reader.

A *snapshot* is a folder holding, for N networks and S saved states (0 %, 15 %, …, 98 % weight sparsity):

``summary.npz``
    ``sparsity`` (S,) nominal weight sparsity; ``schedule`` (S,) the pruning targets (the last never trained);
    ``val_loss``, ``test_loss`` (N, S) float64 MSE (scaled units) on the first ``n_eval`` rows of the validation
    and test splits; ``train_slice_loss`` (N, S) the original's B4 selection loss (state s on training rows
    s·1024 …); ``batches`` (N, S) int64 batches trained per round; ``seconds`` (G, S) wall time of each round of
    each group; ``group`` (N,) int64 the group (networks trained together, one stopping rule) of each network;
    ``seeds`` (N,) uint32; ``round_start`` (G, S + 1) int64: round r of group g spans batches
    ``round_start[g, r] : round_start[g, r + 1]`` of ``curve_val`` / ``curve_train`` (N, T) float32, the
    per-batch validation and training losses (NaN after a network stopped, and past its group's end);
    ``mask{i}`` (N, S, bytes) uint8, bit-packed exchange-layout masks of layer i ((n_i + 1) × n_{i+1}, bias row
    last); ``layers`` (L + 1,) the widths; ``threshold`` () the selection threshold; optionally ``x_min``,
    ``x_max`` (10,), ``y_min``, ``y_max`` (7,) float64, the data scaler.
``weights.npz``
    the weights of some (network, state) pairs: ``pairs`` (K, 2) int64; for layer i, ``w{i}`` float32 the kept
    weights of every pair in turn (row-major order of the mask), ``w{i}_offset`` (K + 1,) where each pair's
    values start; ``b{i}``, ``b{i}_offset`` the same for the kept biases.
``provenance.json``
    what produced it: parameters, seeds, commit, machine, wall time.
``MANIFEST.json``
    written last: format name and version, and every other file's size and SHA-256. A folder without it is not
    a snapshot (an unfinished write); a file that does not match it is reported by name before anything is read.

A finished pruning run (:func:`helpers.run.run_pruning`) writes a snapshot with the weights of every pair;
the shipped reference ensemble (``data/reference/``) is a snapshot with the weights the book needs (every
state of network 0; the dense, optimally sparse and 93 % state of every network). Both are read by
:func:`load`, which returns a :class:`Snapshot`.

The data sets are trained and written by the command line of :mod:`helpers.run` (``python -m helpers.run train``
and ``export``, see the README); this module is the format and its reader, and imports nothing that trains.
"""
from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from helpers import pipeline
from helpers.selection import optimal_states

FORMAT, VERSION = "helpers-snapshot", 1
SUMMARY, WEIGHTS, PROVENANCE, MANIFEST = "summary.npz", "weights.npz", "provenance.json", pipeline.MANIFEST
SUMMARY_KEYS = ("sparsity", "schedule", "val_loss", "test_loss", "train_slice_loss", "batches", "seconds", "group",
                "seeds", "round_start", "curve_val", "curve_train", "layers", "threshold")
SCALER_KEYS = ("x_min", "x_max", "y_min", "y_max")
#: Summary arrays with one row per network (besides the masks ``mask{i}``).
PER_NETWORK_KEYS = ("val_loss", "test_loss", "train_slice_loss", "batches", "group", "seeds", "curve_val",
                    "curve_train")
#: Summary arrays of an experiment whose networks are runs on another data set's networks (``data/rewire``,
#: :mod:`helpers.rewire`): one row per run, read as the table :attr:`Snapshot.runs`.
RUN_KEYS = ("run_network", "run_start", "run_wiring", "run_draw")
#: Further per-run arrays such an experiment stores.
PER_RUN_KEYS = RUN_KEYS + ("run_sparsity", "start_loss", "eval_loss")
#: Named data sets shipped with the book, relative to the repository root.
SHIPPED = {"reference": "data/reference", "as-original": "data/as-original", "second-task": "data/second-task",
           "rewire": "data/rewire", "rederived": "data/rederived", "growth": "data/growth"}
#: The shipped data sets that are train–prune runs (ensembles the chapters analyse, each with a census); the others
#: are experiments on their networks.
ENSEMBLES = ("reference", "as-original", "second-task")
#: What the ``train`` command records about the sessions that trained a run (beside the run's snapshot).
TRAINING = "training.json"
#: Sparsities of the states every network of a shipped data set keeps the weights of: the original's usual optimum
#: and the state past it, where the loss leaves its plateau.
KEEP_SPARSITIES = (0.93, 0.94)


class SnapshotError(pipeline.ArtifactError):
    """A snapshot folder is incomplete, corrupt, or does not hold what its manifest says."""


# ------------------------------------------------------------------------------------------- selection

# --------------------------------------------------------------------------------------------- writing

def pack_masks(masks: np.ndarray) -> np.ndarray:
    """Bit-pack masks for ``summary.npz``: each mask in row-major order.

    Parameters
    ----------
    masks : array_like, bool (N, S, rows, cols)
        One mask per network and saved state, e.g. exchange-layout masks (n_i + 1, n_{i+1}) of layer i.

    Returns
    -------
    ndarray, uint8 (N, S, bytes)
        bytes = ceil(rows · cols / 8); the last byte is zero-padded (``numpy.packbits``).
    """
    n, s = masks.shape[:2]
    return np.packbits(np.asarray(masks, dtype=bool).reshape(n, s, -1), axis=-1)


def write(folder: Path, summary: Mapping[str, np.ndarray], weights: Mapping[tuple[int, int], Sequence[np.ndarray]],
          provenance: Mapping[str, Any], also: Sequence[str] = ()) -> Path:
    """Write a snapshot into ``folder`` (created if needed; an existing snapshot there is replaced).

    Every file is written atomically and the manifest last (the folder is not a snapshot while it is written).

    Parameters
    ----------
    folder : pathlib.Path
        Where to write ``summary.npz``, ``weights.npz``, ``provenance.json`` and ``MANIFEST.json``.
    summary : mapping of str to ndarray
        The arrays of ``summary.npz`` (module docstring; :data:`SUMMARY_KEYS` required, ``mask{i}`` packed by
        :func:`pack_masks`).
    weights : mapping of (int, int) to sequence of ndarray
        {(network, state): [W_0, …, W_{L−1}]} with W_i (n_i + 1, n_{i+1}) float32 in the exchange layout (bias
        row last); only the entries the masks keep are stored, so a pruned entry must be exactly 0.
    provenance : mapping
        What produced it (parameters, seeds, commit, machine, wall time), written as JSON (numpy values
        converted, anything else as its ``str``).
    also : sequence of str
        Other files of the folder (e.g. a pruning run's checkpoints) that the manifest seals too, so that they
        are verified with the snapshot; names that do not exist are skipped.

    Returns
    -------
    pathlib.Path
        ``folder``.

    Raises
    ------
    ValueError
        If ``summary`` lacks a key of :data:`SUMMARY_KEYS`, or a weight array has another shape than its mask
        or is nonzero where the mask prunes.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / MANIFEST).unlink(missing_ok=True)              # the folder is not a snapshot while it is written
    missing = [k for k in SUMMARY_KEYS if k not in summary]
    if missing:
        raise ValueError(f"snapshot summary lacks {missing}")
    layers = [int(v) for v in summary["layers"]]
    arrays: dict[str, np.ndarray] = {}
    pairs = sorted((int(k), int(s)) for k, s in weights)
    arrays["pairs"] = np.array(pairs, dtype=np.int64).reshape(-1, 2)
    for i, (n_in, n_out) in enumerate(zip(layers[:-1], layers[1:])):
        w_vals, b_vals = [], []
        for k, s in pairs:
            mask = np.unpackbits(summary[f"mask{i}"][k, s], count=(n_in + 1) * n_out).reshape(n_in + 1, n_out)
            mask = mask.astype(bool)
            full = np.asarray(weights[(k, s)][i], dtype=np.float32)
            if full.shape != mask.shape:
                raise ValueError(f"weights of network {k}, state {s}, layer {i}: shape {full.shape}, expected "
                                 f"{mask.shape}")
            if np.any(full[~mask] != 0):
                raise ValueError(f"weights of network {k}, state {s}, layer {i} are nonzero where the mask prunes")
            w_vals.append(full[:-1][mask[:-1]])
            b_vals.append(full[-1][mask[-1]])
        for name, vals in ((f"w{i}", w_vals), (f"b{i}", b_vals)):
            arrays[name] = np.concatenate(vals) if vals else np.zeros(0, np.float32)
            arrays[f"{name}_offset"] = np.concatenate([[0], np.cumsum([len(v) for v in vals])]).astype(np.int64)
    pipeline.save_npz(folder / SUMMARY, **dict(summary))
    pipeline.save_npz(folder / WEIGHTS, **arrays)
    pipeline.atomic_write_bytes(folder / PROVENANCE, json.dumps(provenance, indent=1, default=_json).encode())
    extra = tuple(name for name in also if (folder / name).is_file())
    pipeline.seal(folder, (SUMMARY, WEIGHTS, PROVENANCE) + extra, format=FORMAT, version=VERSION)
    return folder


def _json(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    return str(value)


def is_snapshot(folder: Path) -> bool:
    """Whether ``folder`` holds a finished snapshot.

    Parameters
    ----------
    folder : pathlib.Path
        The folder to look at.

    Returns
    -------
    bool
        True if its manifest exists; the contents are checked by :func:`load`.
    """
    return pipeline.sealed(folder)


# --------------------------------------------------------------------------------------------- reading

def _known() -> str:
    """The shipped data sets, for messages: ``'reference' (data/reference), …``."""
    return ", ".join(f"{name!r} ({path})" for name, path in SHIPPED.items())


def resolve_path(where: str | Path) -> Path:
    """A shipped data set's name (:data:`SHIPPED`) or a folder → the folder.

    Parameters
    ----------
    where : str or pathlib.Path
        A name of :data:`SHIPPED` (``"reference"``, ``"as-original"``), or a folder.

    Returns
    -------
    pathlib.Path
        The shipped data set's folder under the repository root, or ``where`` as a path.

    Raises
    ------
    TypeError
        If ``where`` is neither a string nor a path (naming the argument and the known data sets).
    ValueError
        If ``where`` is a string that names no shipped data set and no existing folder (naming the known data
        sets, and the one meant when only the letter case differs).
    """
    if isinstance(where, str) and where in SHIPPED:
        return pipeline.repo_root() / SHIPPED[where]
    if not isinstance(where, (str, os.PathLike)):
        raise TypeError(f"argument 'where' must be a data set's name or a snapshot folder, got {where!r} of type "
                        f"{type(where).__name__}; the shipped data sets are {_known()}")
    path = Path(where)
    if isinstance(where, str) and not path.exists():
        close = [name for name in SHIPPED if name.lower() == where.lower()]
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise ValueError(f"no data set {where!r}{hint}: the shipped data sets are {_known()}, under the "
                         f"repository root {pipeline.repo_root()}; anything else must be a snapshot folder")
    return path


def shipped_name(folder: Path) -> str | None:
    """The name of the shipped data set that lives in ``folder``, or None.

    Parameters
    ----------
    folder : pathlib.Path
        A snapshot folder.

    Returns
    -------
    str or None
        A key of :data:`SHIPPED` whose folder is ``folder``, else None.
    """
    for name, rel in SHIPPED.items():
        if Path(folder).resolve() == (pipeline.repo_root() / rel).resolve():
            return name
    return None


def verify(folder: Path) -> dict[str, Any]:
    """Check a snapshot folder against its manifest and return the manifest.

    Every file must be present, of its size and SHA-256 (:func:`helpers.pipeline.verify`), and the manifest must
    name this format and version.

    Parameters
    ----------
    folder : pathlib.Path
        The snapshot folder.

    Returns
    -------
    dict
        The manifest: ``format``, ``version`` and ``files`` ({name: {"bytes", "sha256"}}).

    Raises
    ------
    SnapshotError
        Naming the file and the problem: the manifest missing or corrupt, a file missing, truncated or not
        matching its SHA-256, or another format or version.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise SnapshotError(f"{folder} is not a folder; a snapshot is a folder holding {SUMMARY}, {WEIGHTS}, "
                            f"{PROVENANCE} and {MANIFEST} (the shipped data sets are {_known()})")
    if not any((folder / name).exists() for name in (SUMMARY, WEIGHTS, PROVENANCE, MANIFEST)):
        raise SnapshotError(f"{folder} is not a snapshot: it holds none of {SUMMARY}, {WEIGHTS}, {PROVENANCE}, "
                            f"{MANIFEST} (the shipped data sets are {_known()})")
    name = shipped_name(folder)
    remedy = (f"this is the shipped data set {name!r}: restore it from the repository (git checkout -- "
              f"{SHIPPED[name]})" if name else "rebuild the snapshot")
    manifest = pipeline.verify(folder, (SUMMARY, WEIGHTS, PROVENANCE), error=SnapshotError, remedy=remedy)
    if manifest.get("format") != FORMAT or manifest.get("version") != VERSION:
        raise SnapshotError(f"{folder / MANIFEST}: format {manifest.get('format')!r} version "
                            f"{manifest.get('version')!r}, expected {FORMAT!r} version {VERSION}")
    return manifest


def load(where: str | Path = "reference", threshold: float | None = None) -> "Snapshot":
    """The snapshot in a folder, or a shipped data set by name (``"reference"``), verified against its manifest.

    The summary is read and checked (:func:`check_values`) at once; the weights are read on first use.

    Parameters
    ----------
    where : str or pathlib.Path
        A name of :data:`SHIPPED` or a snapshot folder.
    threshold : float, optional
        Select the optimally sparse states with this loss threshold (scaled MSE, > 0) instead of the stored one.

    Returns
    -------
    Snapshot

    Raises
    ------
    SnapshotError
        Naming the file if anything is missing, truncated or corrupt, or if the summary's values or shapes are
        not what a finished run records.
    helpers.pipeline.ArtifactError
        If ``summary.npz`` cannot be read as an ``.npz`` or lacks a key of :data:`SUMMARY_KEYS`.
    ValueError
        If ``threshold`` is not a finite number > 0.
    """
    folder = resolve_path(where)
    verify(folder)
    summary = pipeline.load_npz(folder / SUMMARY, required=SUMMARY_KEYS)
    check_values(summary, folder / SUMMARY)
    try:
        provenance = json.loads((folder / PROVENANCE).read_text())
    except ValueError as exc:
        raise SnapshotError(f"{folder / PROVENANCE} is corrupt ({exc})") from None
    check_provenance(provenance, summary, folder / PROVENANCE)
    snap = Snapshot(summary, _FileWeights(folder / WEIGHTS, summary), provenance, folder)
    return snap if threshold is None else snap.with_threshold(threshold)


def check_values(summary: Mapping[str, np.ndarray], path: Path) -> None:
    """Check that a summary's values are what a finished run records.

    Parameters
    ----------
    summary : mapping of str to ndarray
        The arrays of ``summary.npz``; needs ``sparsity`` (S,), ``val_loss``, ``test_loss``,
        ``train_slice_loss`` and ``batches`` (N, S).
    path : pathlib.Path
        The file they come from, for the error message.

    Raises
    ------
    SnapshotError
        Naming the file and the array when sparsities are not in [0, 1) and increasing, losses not finite and
        ≥ 0, batch counts negative, or the loss arrays disagree on the number of networks and states.
    """
    sparsity = np.asarray(summary["sparsity"], dtype=np.float64)
    if sparsity.ndim != 1 or not np.all((sparsity >= 0) & (sparsity < 1)) or np.any(np.diff(sparsity) <= 0):
        raise SnapshotError(f"{path}: 'sparsity' must increase within [0, 1); it holds {sparsity.tolist()}")
    shape = np.shape(summary["val_loss"])
    if len(shape) != 2 or shape[1] != len(sparsity):
        raise SnapshotError(f"{path}: 'val_loss' has shape {shape}, expected (networks, {len(sparsity)})")
    for name in ("val_loss", "test_loss", "train_slice_loss"):
        values = np.asarray(summary[name], dtype=np.float64)
        if values.shape != shape:
            raise SnapshotError(f"{path}: {name!r} has shape {values.shape}, expected {shape}")
        bad = ~(np.isfinite(values) & (values >= 0))
        if bad.any():
            k, st = map(int, np.argwhere(bad)[0])
            raise SnapshotError(f"{path}: {name!r} holds {int(bad.sum())} non-finite or negative value(s), e.g. "
                                f"network {k}, state {st}: {values[k, st]!r}")
    if np.any(np.asarray(summary["batches"]) < 0):
        raise SnapshotError(f"{path}: 'batches' holds negative counts")


def check_provenance(provenance: Mapping[str, Any], summary: Mapping[str, np.ndarray], path: Path) -> None:
    """Check that a snapshot's provenance agrees with its summary (what a manifest cannot vouch for).

    The recorded parameters must give the summary's selection threshold and schedule; the networks' seeds and
    number must be those the provenance records (per group, where the data set merges groups).

    Parameters
    ----------
    provenance : mapping
        The snapshot's ``provenance.json``: ``params`` (``threshold``, ``schedule``, ``n_networks``), ``seeds``
        or ``groups`` (each with ``params`` and ``seeds``); absent entries are not checked.
    summary : mapping of str to ndarray
        Its ``summary.npz`` arrays (``threshold``, ``schedule``, ``seeds``).
    path : pathlib.Path
        The provenance file, for the message.

    Raises
    ------
    SnapshotError
        Naming the file and the entry that contradicts the summary.
    """
    if not isinstance(provenance, Mapping):
        raise SnapshotError(f"{path}: expected a JSON object, found {type(provenance).__name__}")
    params = provenance.get("params", {})
    if not isinstance(params, Mapping):
        raise SnapshotError(f"{path}: 'params' must be an object, found {params!r}")
    stored = float(summary["threshold"])
    if "threshold" in params and not np.isclose(float(params["threshold"]), stored, rtol=1e-12, atol=0):
        raise SnapshotError(f"{path}: params threshold {params['threshold']!r} contradicts the summary's selection "
                            f"threshold {stored!r}")
    recorded_schedule = np.asarray(params.get("schedule", summary["schedule"]), dtype=float)
    stored_schedule = np.asarray(summary["schedule"], dtype=float)
    if recorded_schedule.shape != stored_schedule.shape or not np.allclose(recorded_schedule, stored_schedule):
        raise SnapshotError(f"{path}: params schedule {params['schedule']} contradicts the summary's "
                            f"{np.asarray(summary['schedule']).tolist()}")
    seeds = [int(v) for v in np.asarray(summary["seeds"])]
    groups = provenance.get("groups")
    if not (isinstance(groups, list) and all(isinstance(g, Mapping) for g in groups)):
        groups = None                                           # not a record of groups: nothing to check
    recorded = ([int(v) for g in groups for v in g.get("seeds", [])] if groups
                else [int(v) for v in provenance.get("seeds", seeds)])
    if recorded and recorded != seeds:
        raise SnapshotError(f"{path}: the recorded seeds {recorded} are not the summary's {seeds}")
    counts = [g.get("params", {}).get("n_networks") for g in groups] if groups else [params.get("n_networks")]
    if None not in counts and sum(int(c) for c in counts) != len(seeds):
        raise SnapshotError(f"{path}: the recorded n_networks {counts} do not add up to the summary's "
                            f"{len(seeds)} networks")


class _FileWeights:
    """Weights of the stored pairs of ``weights.npz``, read on first use."""

    def __init__(self, path: Path, summary: Mapping[str, np.ndarray]):
        self.path, self.summary, self._arrays = path, summary, None

    def _load(self) -> dict[str, np.ndarray]:
        if self._arrays is None:
            self._arrays = pipeline.load_npz(self.path, required=("pairs",))
            self._index = {(int(k), int(s)): j for j, (k, s) in enumerate(self._arrays["pairs"])}
        return self._arrays

    def pairs(self) -> set[tuple[int, int]]:
        self._load()
        return set(self._index)

    def __call__(self, k: int, s: int, masks: list[np.ndarray]) -> list[np.ndarray] | None:
        arrays = self._load()
        j = self._index.get((k, s))
        if j is None:
            return None
        out = []
        for i, mask in enumerate(masks):
            full = np.zeros(mask.shape, dtype=np.float32)
            w, wo, b, bo = arrays[f"w{i}"], arrays[f"w{i}_offset"], arrays[f"b{i}"], arrays[f"b{i}_offset"]
            kept_w, kept_b = int(mask[:-1].sum()), int(mask[-1].sum())
            if wo[j + 1] - wo[j] != kept_w or bo[j + 1] - bo[j] != kept_b:
                raise SnapshotError(f"{self.path}: layer {i} of network {k}, state {s} holds "
                                    f"{wo[j + 1] - wo[j]} weights / {bo[j + 1] - bo[j]} biases, its mask keeps "
                                    f"{kept_w} / {kept_b}")
            full[:-1][mask[:-1]] = w[wo[j]:wo[j + 1]]
            full[-1][mask[-1]] = b[bo[j]:bo[j + 1]]
            if not np.isfinite(full).all():
                raise SnapshotError(f"{self.path}: layer {i} of network {k}, state {s} holds "
                                    f"{int((~np.isfinite(full)).sum())} non-finite weight(s) (NaN or inf); a "
                                    "trained network's weights are finite")
            out.append(full)
        return out


class Snapshot:
    """A snapshot in memory (see the module docstring for what each array means).

    Methods: :meth:`masks`, :meth:`weights`, :meth:`forward`, :meth:`curves`, :meth:`with_threshold`,
    :meth:`select`. Indexing by the names of ``summary.npz`` (``snap["val_loss"]``) is also supported, plus
    ``"optimal"`` and ``"optimal_original"`` for :attr:`optimum` and :attr:`optimum_b4`, and ``"directory"``
    for the path; ``"round_start"`` and ``"seconds"`` give the one group's timeline (``KeyError`` if the
    snapshot has several groups: use :meth:`curves`).

    Parameters
    ----------
    summary : mapping of str to ndarray
        The arrays of ``summary.npz`` (module docstring).
    weights : callable
        ``weights(k, s, masks)`` → the exchange-layout weights of network k at state s (list of
        (n_i + 1, n_{i+1}) float32), or None where they are not stored.
    provenance : mapping
        What produced it; its ``params`` become :attr:`params`.
    path : pathlib.Path, optional
        The folder it was read from.

    Attributes
    ----------
    params : dict
        The run's parameters.
    provenance : dict
        What produced it.
    path : pathlib.Path or None
        Its folder.
    layers : tuple of int
        Layer widths (L + 1,).
    sparsities : ndarray, float64 (S,)
        Nominal weight sparsity of each saved state.
    n_networks, n_states : int
        N and S.
    val_loss, test_loss, train_slice_loss : ndarray, float (N, S)
        MSE (scaled units) of each network and state.
    batches : ndarray, int (N, S)
        Batches trained per round.
    threshold : float
        The selection's loss threshold.
    optimum : ndarray, int64 (N,)
        Index of the optimally sparse state (−1 if none) by validation loss.
    optimum_b4 : ndarray, int64 (N,)
        The same by the original's B4 training-slice loss (chapter 8).
    scaler : dict of str to ndarray, or None
        float64 arrays ``x_min``, ``x_max`` (10,), ``y_min``, ``y_max`` (7,) (scaled = (v − min)/(max − min)
        − 0.5), or None.
    seeds : ndarray, uint32 (N,)
        Each network's seed.
    group : ndarray, int64 (N,)
        Each network's group (networks trained together).

    Raises
    ------
    SnapshotError
        On construction, if an array's shape disagrees with the number of networks, states or the layers.
    ValueError
        On construction, if the stored threshold is not a finite number > 0.
    """

    def __init__(self, summary: Mapping[str, np.ndarray],
                 weights: Callable[[int, int, list[np.ndarray]], list[np.ndarray] | None],
                 provenance: Mapping[str, Any], path: Path | None = None):
        self._a = dict(summary)
        self._weights = weights
        self.provenance = dict(provenance)
        self.path = path
        self.params = dict(self.provenance.get("params", {}))
        self.layers = tuple(int(v) for v in self._a["layers"])
        self._check_shapes()
        self.threshold = float(self._a["threshold"])
        self.optimum = optimal_states(self.val_loss, self.threshold)
        self.optimum_b4 = optimal_states(self.train_slice_loss, self.threshold)

    def _check_shapes(self) -> None:
        n, s = np.shape(self._a["val_loss"])
        where = self.path or "snapshot"
        expect = {"sparsity": (s,), "test_loss": (n, s), "train_slice_loss": (n, s), "batches": (n, s),
                  "group": (n,), "seeds": (n,)}
        for i, (a, b) in enumerate(zip(self.layers[:-1], self.layers[1:])):
            expect[f"mask{i}"] = (n, s, ((a + 1) * b + 7) // 8)
        for name, shape in expect.items():
            if name not in self._a or np.shape(self._a[name]) != shape:
                raise SnapshotError(f"{where}: array {name!r} has shape {np.shape(self._a.get(name))}, expected "
                                    f"{shape}")

    # arrays ------------------------------------------------------------------------------------------------
    sparsities = property(lambda self: np.asarray(self._a["sparsity"], dtype=np.float64))
    val_loss = property(lambda self: self._a["val_loss"])
    test_loss = property(lambda self: self._a["test_loss"])
    train_slice_loss = property(lambda self: self._a["train_slice_loss"])
    batches = property(lambda self: self._a["batches"])
    seeds = property(lambda self: self._a["seeds"])
    group = property(lambda self: self._a["group"])
    n_networks = property(lambda self: int(self._a["val_loss"].shape[0]))
    n_states = property(lambda self: int(self._a["val_loss"].shape[1]))

    @property
    def scaler(self) -> dict[str, np.ndarray] | None:
        """The data scaler (``x_min``, ``x_max`` (10,), ``y_min``, ``y_max`` (7,), float64), or None if not stored."""
        if not all(k in self._a for k in SCALER_KEYS):
            return None
        return {k: np.asarray(self._a[k], dtype=np.float64) for k in SCALER_KEYS}

    _ALIASES = {"optimal": "optimum", "optimal_original": "optimum_b4"}

    def __getitem__(self, key: str) -> Any:
        if key in self._ALIASES:
            return getattr(self, self._ALIASES[key])
        if key == "directory":
            return np.array(str(self.path))
        if key in ("round_start", "seconds") and self._a[key].shape[0] == 1:
            return self._a[key][0]                              # one group: one timeline
        if key in ("round_start", "seconds"):
            raise KeyError(f"{key!r} differs between the {self._a[key].shape[0]} groups; use curves()")
        return self._a[key]

    def __contains__(self, key: str) -> bool:
        return key in self._a or key in self._ALIASES or key == "directory"

    def keys(self) -> list[str]:
        """The names ``snap[name]`` accepts.

        Returns
        -------
        list of str
            The summary's array names, then the aliases ``"optimal"`` and ``"optimal_original"``.
        """
        return list(self._a) + list(self._ALIASES)

    @property
    def runs(self):
        """The runs of an experiment on another data set's networks (``data/rewire``), one row per network here.

        Returns
        -------
        pandas.DataFrame
            Columns ``network`` (the network of the data set that was rewired), ``start``, ``wiring`` (str) and
            ``draw`` (int), in the order of this snapshot's networks.

        Raises
        ------
        AttributeError
            If this snapshot is not such an experiment (it has no run table).
        """
        import pandas as pd

        if not all(k in self._a for k in RUN_KEYS):
            raise AttributeError(f"{self.path or 'this snapshot'} is not an experiment on another data set's "
                                 "networks: it has no run table")
        return pd.DataFrame({k[len("run_"):]: np.asarray(self._a[k]).tolist() for k in RUN_KEYS})

    # one network -------------------------------------------------------------------------------------------
    def _check(self, k: int, s: int) -> tuple[int, int]:
        """``k`` and ``s`` as ints, refused (naming the argument) unless each is an integer (Python or NumPy, not
        a bool, float or None) in range."""
        for name, value, n in (("k", k, self.n_networks), ("s", s, self.n_states)):
            what = "network" if name == "k" else "saved state"
            if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
                raise TypeError(f"argument {name!r} (the {what}) must be an integer in [0, {n}), got {value!r} "
                                f"of type {type(value).__name__}")
            if not 0 <= int(value) < n:
                raise ValueError(f"argument {name!r} = {int(value)} (the {what}) is out of range: this snapshot has "
                                 f"{self.n_networks} networks and {self.n_states} saved states")
        return int(k), int(s)

    def masks(self, k: int, s: int) -> list[np.ndarray]:
        """The exchange-layout masks of network ``k`` at state ``s``.

        Parameters
        ----------
        k : int
            Network index, in [0, N).
        s : int
            Saved-state index, in [0, S).

        Returns
        -------
        list of ndarray, bool (n_i + 1, n_{i+1})
            One per layer, bias row last (True = kept).

        Raises
        ------
        TypeError
            If ``k`` or ``s`` is not an integer (a bool, float, NaN or None is refused, not rounded).
        ValueError
            If ``k`` or ``s`` is out of range.
        """
        k, s = self._check(k, s)
        out = []
        for i, (a, b) in enumerate(zip(self.layers[:-1], self.layers[1:])):
            bits = np.unpackbits(self._a[f"mask{i}"][k, s], count=(a + 1) * b)
            out.append(bits.reshape(a + 1, b).astype(bool))
        return out

    def weights(self, k: int, s: int) -> list[np.ndarray] | None:
        """Weights of network ``k`` at state ``s``, in the exchange layout.

        Parameters
        ----------
        k : int
            Network index, in [0, N).
        s : int
            Saved-state index, in [0, S).

        Returns
        -------
        list of ndarray, float32 (n_i + 1, n_{i+1}), or None
            One per layer (bias row last, pruned entries 0), or None where this snapshot does not store them
            (:meth:`stored_pairs`).

        Raises
        ------
        TypeError
            If ``k`` or ``s`` is not an integer.
        ValueError
            If ``k`` or ``s`` is out of range.
        SnapshotError
            If ``weights.npz`` holds another number of values for the pair than its masks keep, or non-finite
            values.
        """
        k, s = self._check(k, s)
        return self._weights(k, s, self.masks(k, s))

    def stored_pairs(self) -> list[tuple[int, int]]:
        """The (network, state) pairs whose weights are stored.

        Returns
        -------
        list of (int, int)
            In order of network, then state.
        """
        return [(k, s) for k in range(self.n_networks) for s in range(self.n_states)
                if self._weights(k, s, self.masks(k, s)) is not None]

    def forward(self, k: int, s: int, x: np.ndarray) -> np.ndarray:
        """Outputs of network ``k`` at state ``s``: the same batched evaluation as training.

        Parameters
        ----------
        k : int
            Network index.
        s : int
            Saved-state index.
        x : ndarray, float (n, 10)
            Scaled inputs.

        Returns
        -------
        ndarray, float32 (n, 7)
            Scaled outputs (:func:`helpers.ensemble.predict`).

        Raises
        ------
        TypeError
            If ``k`` or ``s`` is not an integer.
        ValueError
            If ``k`` or ``s`` is out of range, the pair's weights are not stored, or ``x`` is not a finite array
            of shape (n, 10) with n ≥ 1 (the number of inputs of :attr:`layers`).
        """
        from helpers import ensemble

        k, s = self._check(k, s)
        n_in = self.layers[0]
        try:
            arr = np.asarray(x, dtype=np.float32)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"argument 'x' must be an array of shape (n, {n_in}) of scaled inputs; it cannot be "
                             f"read as numbers ({exc})") from None
        if arr.ndim != 2 or arr.shape[1] != n_in or arr.shape[0] < 1:
            raise ValueError(f"argument 'x' must have shape (n, {n_in}) with n ≥ 1 (one row per flight, one "
                             f"column per input), got shape {arr.shape}")
        if not np.isfinite(arr).all():
            raise ValueError("argument 'x' holds non-finite values (NaN or inf)")
        return ensemble.predict(self.ensemble([k], [s]), arr)[0]

    def ensemble(self, networks: Sequence[int], states: Sequence[int] | int):
        """An :class:`helpers.ensemble.Ensemble` (CPU) of ``networks``, each at its entry of ``states``.

        Parameters
        ----------
        networks : sequence of int
            Network indices, E of them (non-empty).
        states : int or sequence of int
            One saved-state index for all, or one per network (E,).

        Returns
        -------
        helpers.ensemble.Ensemble
            Float32 weights (E, n_i, n_{i+1}) and biases (E, 1, n_{i+1}), masks = (value != 0)
            (:func:`helpers.ensemble.from_exchange`).

        Raises
        ------
        ValueError
            If an index is out of range or a pair's weights are not stored (:meth:`stored_pairs`).
        """
        from helpers import ensemble

        states = np.broadcast_to(np.asarray(states), (len(networks),))
        full = []
        for k, s in zip(networks, states):
            w = self.weights(k, s)
            if w is None:
                raise ValueError(f"network {k} at state {s} has no stored weights in {self.path or 'this snapshot'}"
                                 "; stored are the pairs of stored_pairs()")
            full.append(w)
        return ensemble.from_exchange(full)

    def network_weights(self, k: int, s: int) -> tuple[list[np.ndarray], list[np.ndarray]]:
        """Weights and biases of network ``k`` at state ``s``, pruned entries exactly 0.

        ``y = tanh(x @ W + b)`` layer by layer (linear last layer) reproduces the network.

        Parameters
        ----------
        k : int
            Network index.
        s : int
            Saved-state index.

        Returns
        -------
        weights : list of ndarray, float32 (n_i, n_{i+1})
            One per layer (copies).
        biases : list of ndarray, float32 (n_{i+1},)
            One per layer (copies).

        Raises
        ------
        ValueError
            If ``k`` or ``s`` is out of range, or where this snapshot does not store them.
        """
        full = self.weights(k, s)
        if full is None:
            raise ValueError(f"network {k} at state {s} has no stored weights")
        return [f[:-1].copy() for f in full], [f[-1].copy() for f in full]

    def state_weights(self, s: int) -> tuple[list[np.ndarray], list[np.ndarray]]:
        """Weights and biases of every network at state ``s``, stacked.

        Parameters
        ----------
        s : int
            Saved-state index.

        Returns
        -------
        weights : list of ndarray, float32 (E, n_i, n_{i+1})
            ``W{i}`` per layer.
        biases : list of ndarray, float32 (E, n_{i+1})
            ``b{i}`` per layer.

        Raises
        ------
        ValueError
            If ``s`` is out of range or some network's weights at ``s`` are not stored.
        """
        per = [self.network_weights(k, s) for k in range(self.n_networks)]
        n = len(per[0][0])
        return ([np.stack([p[0][i] for p in per]) for i in range(n)],
                [np.stack([p[1][i] for p in per]) for i in range(n)])

    def ensemble_at(self, state: int | np.ndarray):
        """An :class:`~helpers.ensemble.Ensemble` (CPU) holding every network at saved state ``state``.

        Parameters
        ----------
        state : int or ndarray of int, (E,)
            One saved-state index for all networks, or an array giving each network its own state (e.g.
            ``self["optimal"]``).

        Returns
        -------
        helpers.ensemble.Ensemble
            As :meth:`ensemble` of all networks.

        Raises
        ------
        ValueError
            If a state is −1 (a dropped network: select the kept networks first), out of range, or its weights
            are not stored.
        """
        idx = np.broadcast_to(np.asarray(state), (self.n_networks,))
        if (idx < 0).any():
            raise ValueError("state −1 (dropped network) has no weights; select the kept networks first")
        return self.ensemble(range(self.n_networks), idx)

    def curves(self, k: int, r: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Per-batch (validation, training) losses of network ``k``.

        Parameters
        ----------
        k : int
            Network index.
        r : int, optional
            A round (saved state) index: that round only; ``None``: every round, concatenated.

        Returns
        -------
        val : ndarray, float32 (T,)
            Per-batch validation mini-batch loss (scaled MSE); NaN after the network stopped in a round.
        train : ndarray, float32 (T,)
            Per-batch training loss, the same batches.

        Raises
        ------
        ValueError
            If ``k`` is out of range.
        """
        k = self._check(k, 0)[0]
        start = self._a["round_start"][int(self._a["group"][k])]
        lo, hi = (start[0], start[-1]) if r is None else (start[r], start[r + 1])
        return (np.asarray(self._a["curve_val"][k, lo:hi], dtype=np.float32),
                np.asarray(self._a["curve_train"][k, lo:hi], dtype=np.float32))

    # derived snapshots --------------------------------------------------------------------------------------
    def with_threshold(self, threshold: float) -> "Snapshot":
        """The same snapshot with optima selected at another loss threshold.

        Parameters
        ----------
        threshold : float
            The loss threshold (scaled MSE), a finite number > 0.

        Returns
        -------
        Snapshot
            Sharing this one's arrays and weights; ``optimum`` and ``optimum_b4`` re-selected.

        Raises
        ------
        ValueError
            If ``threshold`` is not a finite number > 0.
        """
        optimal_states(self.val_loss, threshold)                 # validates
        return Snapshot(dict(self._a, threshold=np.array(float(threshold))), self._weights, self.provenance,
                        self.path)

    def with_masks(self, masks: Sequence[np.ndarray], provenance: Mapping[str, Any]) -> "Snapshot":
        """The same networks and states with other masks and no weights (a control ensemble,
        :mod:`helpers.controls`).

        Parameters
        ----------
        masks : sequence of ndarray, bool (N, S, n_i + 1, n_{i+1})
            ``masks[i]``: the new exchange-layout masks of layer i.
        provenance : mapping
            What produced them.

        Returns
        -------
        Snapshot
            This one's arrays (losses, seeds, states, optima) with the new masks; :meth:`weights` returns None.

        Raises
        ------
        SnapshotError
            If a mask array does not have this snapshot's numbers of networks and states and the layer's shape.
        """
        arrays = dict(self._a)
        for i, m in enumerate(masks):
            shape = (self.n_networks, self.n_states, self.layers[i] + 1, self.layers[i + 1])
            if np.shape(m) != shape:
                raise SnapshotError(f"masks of layer {i} have shape {np.shape(m)}, expected {shape}")
            arrays[f"mask{i}"] = pack_masks(np.asarray(m, dtype=bool))
        return Snapshot(arrays, lambda k, s, m: None, provenance, None)

    def with_weights(self, weights: Callable[[int, int, list[np.ndarray]], list[np.ndarray] | None],
                     provenance: Mapping[str, Any]) -> "Snapshot":
        """The same networks, states, masks and losses with another source of weights (e.g. re-derived ones,
        :func:`helpers.rederive.complete`).

        Parameters
        ----------
        weights : callable
            ``weights(k, s, masks)`` → network k's exchange-layout weights at state s, or None.
        provenance : mapping
            What the new snapshot records.

        Returns
        -------
        Snapshot
            This one's arrays, optima and path with ``weights``.
        """
        return Snapshot(dict(self._a), weights, provenance, self.path)

    def select(self, networks: Iterable[int]) -> "Snapshot":
        """The snapshot of a subset of its networks (renumbered 0, 1, …, in the given order).

        Parameters
        ----------
        networks : iterable of int
            Network indices (at least one).

        Returns
        -------
        Snapshot
            With the per-network arrays and masks of those networks; weights read from this one.

        Raises
        ------
        ValueError
            If ``networks`` is empty or an index is out of range.
        """
        idx = [self._check(k, 0)[0] for k in networks]
        if not idx:
            raise ValueError("select() needs at least one network")
        per_net = PER_NETWORK_KEYS + PER_RUN_KEYS + tuple(f"mask{i}" for i in range(len(self.layers) - 1))
        arrays = {k: (v[idx] if k in per_net else v) for k, v in self._a.items()}
        parent = self._weights
        return Snapshot(arrays, lambda k, s, masks: parent(idx[k], s, masks), self.provenance, self.path)


def summary_from_states(sparsity: np.ndarray, schedule: Sequence[float], record: Mapping[str, Any],
                        masks: Sequence[np.ndarray], layers: Sequence[int], threshold: float,
                        seeds: Sequence[int], scaler: Mapping[str, np.ndarray] | None = None) -> dict[str, np.ndarray]:
    """The ``summary.npz`` arrays of one group of networks trained together.

    Parameters
    ----------
    sparsity : ndarray, float (S,)
        Nominal weight sparsity of the saved states recorded (S may be fewer than the run's for a partial run).
    schedule : sequence of float
        The pruning targets.
    record : mapping
        The run's record: ``val_loss``, ``test_loss``, ``train_slice_loss``, ``batches`` (N, ≥ S), ``seconds``
        (≥ S,), ``curves_val`` / ``curves_train``: one (N, n_r) array per round; only the first S are used.
    masks : sequence of ndarray, bool (N, S, n_i + 1, n_{i+1})
        ``masks[i]``: exchange masks of layer i.
    layers : sequence of int
        Layer widths (L + 1,).
    threshold : float
        The selection's loss threshold.
    seeds : sequence of int
        The networks' seeds (N,).
    scaler : mapping of str to ndarray, optional
        ``x_min``, ``x_max`` (10,), ``y_min``, ``y_max`` (7,), stored if given.

    Returns
    -------
    dict of str to ndarray
        The arrays of :data:`SUMMARY_KEYS`, ``mask{i}`` (packed by :func:`pack_masks`) and, with ``scaler``, the
        scaler's; one group (``group`` all 0, ``seconds`` (1, S), ``round_start`` (1, S + 1)).
    """
    s = len(sparsity)
    lengths = [c.shape[1] for c in record["curves_val"][:s]]
    out = dict(sparsity=np.asarray(sparsity, dtype=np.float64), schedule=np.asarray(schedule, dtype=np.float64),
               val_loss=np.asarray(record["val_loss"])[:, :s], test_loss=np.asarray(record["test_loss"])[:, :s],
               train_slice_loss=np.asarray(record["train_slice_loss"])[:, :s],
               batches=np.asarray(record["batches"], dtype=np.int64)[:, :s],
               seconds=np.asarray(record["seconds"], dtype=np.float64)[None, :s],
               group=np.zeros(len(seeds), dtype=np.int64), seeds=np.asarray(seeds, dtype=np.uint32),
               round_start=np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)[None],
               curve_val=np.concatenate(record["curves_val"][:s], axis=1).astype(np.float32),
               curve_train=np.concatenate(record["curves_train"][:s], axis=1).astype(np.float32),
               layers=np.asarray(layers, dtype=np.int64), threshold=np.array(float(threshold)))
    for i, m in enumerate(masks):
        out[f"mask{i}"] = pack_masks(m)
    if scaler is not None:
        out.update({k: np.asarray(scaler[k], dtype=np.float64) for k in SCALER_KEYS})
    return out


# ------------------------------------------------------------------------------------------ shipping it

def shipped_pairs(snap: Snapshot, full_networks: Sequence[int] = (0,)) -> list[tuple[int, int]]:
    """The (network, state) pairs a shipped data set keeps the weights of.

    Parameters
    ----------
    snap : Snapshot
        The snapshot to ship.
    full_networks : sequence of int
        Networks whose every state is kept (default network 0).

    Returns
    -------
    list of (int, int)
        Sorted: every state of ``full_networks``; the dense state, the optimally sparse state and the states
        nearest :data:`KEEP_SPARSITIES` of every network.
    """
    kept = {int(np.argmin(np.abs(snap.sparsities - level))) for level in KEEP_SPARSITIES}
    pairs = {(k, s) for k in full_networks for s in range(snap.n_states)}
    for k in range(snap.n_networks):
        pairs |= {(k, 0)} | {(k, s) for s in kept}
        if snap.optimum[k] >= 0:
            pairs.add((k, int(snap.optimum[k])))
    return sorted(pairs)


def export(snap: Snapshot, out: Path, provenance: Mapping[str, Any],
           pairs: Sequence[tuple[int, int]] | None = None) -> Path:
    """Write ``snap`` to ``out`` keeping the weights of ``pairs`` only.

    Parameters
    ----------
    snap : Snapshot
        The snapshot; every pair of ``pairs`` must have stored weights.
    out : pathlib.Path
        The folder to write (:func:`write`).
    provenance : mapping
        Written as ``provenance.json``.
    pairs : sequence of (int, int), optional
        (network, state) pairs whose weights to keep; default :func:`shipped_pairs`.

    Returns
    -------
    pathlib.Path
        ``out``.

    Raises
    ------
    ValueError
        As :func:`write` raises, or if a pair is out of range.
    """
    pairs = shipped_pairs(snap) if pairs is None else pairs
    return write(out, snap._a, {p: snap.weights(*p) for p in pairs}, provenance)


def merge(snaps: Sequence[Snapshot], provenance: Mapping[str, Any]) -> tuple[dict[str, np.ndarray], dict]:
    """Summary arrays and weights of several groups' snapshots as one.

    Groups are renumbered in order; curves are padded with NaN to the longest group's timeline. Every snapshot
    must have the same states and layers.

    Parameters
    ----------
    snaps : sequence of Snapshot
        The groups' snapshots, in order (at least one).
    provenance : mapping
        The merged data set's provenance (not used in the result; the caller writes it).

    Returns
    -------
    summary : dict of str to ndarray
        The merged ``summary.npz`` arrays (networks in the order of ``snaps``).
    weights : dict of (int, int) to list of ndarray
        {(network, state): exchange-layout weights} of every stored pair, networks renumbered.

    Raises
    ------
    ValueError
        If the snapshots differ in their saved states or layers, or share networks (equal seeds).
    """
    first = snaps[0]
    for other in snaps[1:]:
        if not (np.array_equal(other.sparsities, first.sparsities) and other.layers == first.layers):
            raise ValueError("snapshots to merge must have the same saved states and layers")
    per_net = [k for k in PER_NETWORK_KEYS if k not in ("group", "curve_val", "curve_train")]
    per_net += [f"mask{i}" for i in range(len(first.layers) - 1)]
    out = {k: np.concatenate([s._a[k] for s in snaps]) for k in per_net}
    width = max(s._a["curve_val"].shape[1] for s in snaps)
    for name in ("curve_val", "curve_train"):
        out[name] = np.concatenate([np.pad(s._a[name].astype(np.float32), ((0, 0), (0, width - s._a[name].shape[1])),
                                           constant_values=np.nan) for s in snaps])
    out["group"] = np.concatenate([s._a["group"] + sum(len(t._a["round_start"]) for t in snaps[:j])
                                   for j, s in enumerate(snaps)])
    out["round_start"] = np.concatenate([s._a["round_start"] for s in snaps])
    out["seconds"] = np.concatenate([s._a["seconds"] for s in snaps])
    for k in ("sparsity", "schedule", "layers", "threshold") + SCALER_KEYS:
        if k in first._a:
            out[k] = first._a[k]
    if len(set(int(v) for v in out["seeds"])) != len(out["seeds"]):
        raise ValueError("snapshots to merge share networks (equal seeds)")
    weights, offset = {}, 0
    for s in snaps:
        for k, st in s.stored_pairs():
            weights[(k + offset, st)] = s.weights(k, st)
        offset += s.n_networks
    return out, weights


# ------------------------------------------------------------------------------ the reference ensemble
