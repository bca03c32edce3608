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

A finished pruning run (:func:`helpers.pruning.run_pruning`) writes a snapshot with the weights of every pair;
the shipped reference ensemble (``data/reference/``) is a snapshot with the weights the book needs (every
state of network 0; the dense, optimally sparse and 93 % state of every network). Both are read by
:func:`load`, which returns a :class:`Snapshot`.

``python -m helpers.snapshot train --preset reference --work DIR`` trains (or resumes) the reference ensemble
in the working folder ``DIR``; ``python -m helpers.snapshot export --work DIR --out data/reference`` writes the
shipped data set from it (see the README).
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from helpers import pipeline
from helpers.sources import git_commit

FORMAT, VERSION = "helpers-snapshot", 1
SUMMARY, WEIGHTS, PROVENANCE, MANIFEST = "summary.npz", "weights.npz", "provenance.json", pipeline.MANIFEST
SUMMARY_KEYS = ("sparsity", "schedule", "val_loss", "test_loss", "train_slice_loss", "batches", "seconds", "group",
                "seeds", "round_start", "curve_val", "curve_train", "layers", "threshold")
SCALER_KEYS = ("x_min", "x_max", "y_min", "y_max")
#: Summary arrays with one row per network (besides the masks ``mask{i}``).
PER_NETWORK_KEYS = ("val_loss", "test_loss", "train_slice_loss", "batches", "group", "seeds", "curve_val",
                    "curve_train")
#: Named data sets shipped with the book, relative to the repository root.
SHIPPED = {"reference": "data/reference"}
#: What the ``train`` command records about the sessions that trained a run (beside the run's snapshot).
TRAINING = "training.json"
#: Sparsity of the state every network of a shipped data set keeps the weights of (the original's usual optimum).
KEEP_SPARSITY = 0.93


class SnapshotError(pipeline.ArtifactError):
    """A snapshot folder is incomplete, corrupt, or does not hold what its manifest says."""


# ------------------------------------------------------------------------------------------- selection

def check_threshold(threshold: float) -> float:
    """The selection's loss threshold as a float; ``ValueError`` unless it is a finite number > 0."""
    if not isinstance(threshold, (int, float, np.number)) or not np.isfinite(threshold) or threshold <= 0:
        raise ValueError(f"parameter 'threshold' = {threshold!r} is invalid: it must be a finite number > 0")
    return float(threshold)


def optimal_states(val_loss: np.ndarray, threshold: float) -> np.ndarray:
    """Index of the most pruned saved state with loss ≤ threshold, per network; −1 if none (dropped).

    ``val_loss``: (N, S), states ordered by increasing sparsity. Returns (N,) int64.
    """
    check_threshold(threshold)
    ok = np.asarray(val_loss) <= threshold
    last = ok.shape[1] - 1 - np.argmax(ok[:, ::-1], axis=1)
    return np.where(ok.any(axis=1), last, -1).astype(np.int64)


# --------------------------------------------------------------------------------------------- writing

def pack_masks(masks: np.ndarray) -> np.ndarray:
    """(N, S, rows, cols) bool → (N, S, bytes) uint8, each mask bit-packed in row-major order."""
    n, s = masks.shape[:2]
    return np.packbits(np.asarray(masks, dtype=bool).reshape(n, s, -1), axis=-1)


def write(folder: Path, summary: Mapping[str, np.ndarray], weights: Mapping[tuple[int, int], Sequence[np.ndarray]],
          provenance: Mapping[str, Any], also: Sequence[str] = ()) -> Path:
    """Write a snapshot into ``folder`` (created if needed; an existing snapshot there is replaced).

    ``also``: other files of the folder (e.g. a pruning run's checkpoints) that the manifest seals too, so that
    they are verified with the snapshot; names that do not exist are skipped.

    ``summary``: the arrays of ``summary.npz`` (module docstring; :data:`SUMMARY_KEYS` required, ``mask{i}``
    packed by :func:`pack_masks`). ``weights``: {(network, state): [W_0, …, W_{L−1}]} with W_i (n_i + 1, n_{i+1})
    float32 in the exchange layout (bias row last); only the entries the masks keep are stored, so a pruned
    entry must be exactly 0. Every file is written atomically and the manifest last.
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
    """True if ``folder`` holds a finished snapshot (its manifest exists; contents are checked by :func:`load`)."""
    return pipeline.sealed(folder)


# --------------------------------------------------------------------------------------------- reading

def resolve_path(where: str | Path) -> Path:
    """A shipped data set's name (:data:`SHIPPED`) or a folder → the folder."""
    if isinstance(where, str) and where in SHIPPED:
        return pipeline.repo_root() / SHIPPED[where]
    return Path(where)


def verify(folder: Path) -> dict[str, Any]:
    """Check a snapshot folder against its manifest (:func:`helpers.pipeline.verify`: every file present, of its
    size and SHA-256; and this format and version) and return the manifest; :class:`SnapshotError` naming the file
    and the problem otherwise."""
    folder = Path(folder)
    manifest = pipeline.verify(folder, (SUMMARY, WEIGHTS, PROVENANCE), error=SnapshotError,
                               remedy="rebuild the snapshot")
    if manifest.get("format") != FORMAT or manifest.get("version") != VERSION:
        raise SnapshotError(f"{folder / MANIFEST}: format {manifest.get('format')!r} version "
                            f"{manifest.get('version')!r}, expected {FORMAT!r} version {VERSION}")
    return manifest


def load(where: str | Path = "reference", threshold: float | None = None) -> "Snapshot":
    """The snapshot in a folder, or a shipped data set by name (``"reference"``), verified against its manifest.

    ``threshold``: select the optimally sparse states with this loss threshold instead of the stored one.
    Raises :class:`SnapshotError` naming the file if anything is missing, truncated or corrupt.
    """
    folder = resolve_path(where)
    verify(folder)
    summary = pipeline.load_npz(folder / SUMMARY, required=SUMMARY_KEYS)
    check_values(summary, folder / SUMMARY)
    try:
        provenance = json.loads((folder / PROVENANCE).read_text())
    except ValueError as exc:
        raise SnapshotError(f"{folder / PROVENANCE} is corrupt ({exc})") from None
    snap = Snapshot(summary, _FileWeights(folder / WEIGHTS, summary), provenance, folder)
    return snap if threshold is None else snap.with_threshold(threshold)


def check_values(summary: Mapping[str, np.ndarray], path: Path) -> None:
    """:class:`SnapshotError` naming the file and the array when the summary's values are not what a finished run
    records: sparsities not in [0, 1) and increasing, losses not finite and ≥ 0, batch counts negative, or
    arrays whose rows disagree on the number of networks and states."""
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
            out.append(full)
        return out


class Snapshot:
    """A snapshot in memory (see the module docstring for what each array means).

    Attributes: ``params`` (dict) the run's parameters; ``provenance`` (dict); ``path``; ``sparsities`` (S,)
    float; ``n_networks``, ``n_states``; ``val_loss``, ``test_loss``, ``train_slice_loss`` (N, S) float;
    ``batches`` (N, S) int; ``threshold``; ``optimum`` (N,) int index of the optimally sparse state (−1 if none)
    by validation loss, ``optimum_b4`` (N,) the same by the original's B4 training-slice loss; ``scaler`` dict of
    float64 arrays ``x_min``, ``x_max`` (10,), ``y_min``, ``y_max`` (7,) (scaled = (v − min)/(max − min) − 0.5),
    or None; ``seeds`` (N,); ``group`` (N,).

    Methods: :meth:`masks`, :meth:`weights`, :meth:`forward`, :meth:`curves`, :meth:`with_threshold`,
    :meth:`select`. Indexing by the names of ``summary.npz`` (``snap["val_loss"]``) is also supported, plus
    ``"optimal"`` and ``"optimal_original"`` for :attr:`optimum` and :attr:`optimum_b4`.
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
        return list(self._a) + list(self._ALIASES)

    # one network -------------------------------------------------------------------------------------------
    def _check(self, k: int, s: int) -> tuple[int, int]:
        if not (0 <= int(k) < self.n_networks) or not (0 <= int(s) < self.n_states):
            raise ValueError(f"network {k} / state {s} out of range ({self.n_networks} networks, "
                             f"{self.n_states} states)")
        return int(k), int(s)

    def masks(self, k: int, s: int) -> list[np.ndarray]:
        """The exchange-layout masks of network ``k`` at state ``s``: list of (n_i + 1, n_{i+1}) bool, bias row
        last."""
        k, s = self._check(k, s)
        out = []
        for i, (a, b) in enumerate(zip(self.layers[:-1], self.layers[1:])):
            bits = np.unpackbits(self._a[f"mask{i}"][k, s], count=(a + 1) * b)
            out.append(bits.reshape(a + 1, b).astype(bool))
        return out

    def weights(self, k: int, s: int) -> list[np.ndarray] | None:
        """Weights of network ``k`` at state ``s``: list of (n_i + 1, n_{i+1}) float32 in the exchange layout
        (bias row last, pruned entries 0), or None where this snapshot does not store them."""
        k, s = self._check(k, s)
        return self._weights(k, s, self.masks(k, s))

    def stored_pairs(self) -> list[tuple[int, int]]:
        """The (network, state) pairs whose weights are stored."""
        return [(k, s) for k in range(self.n_networks) for s in range(self.n_states)
                if self._weights(k, s, self.masks(k, s)) is not None]

    def forward(self, k: int, s: int, x: np.ndarray) -> np.ndarray:
        """Outputs (n, 7) float32 of network ``k`` at state ``s`` for scaled inputs ``x`` (n, 10): the same
        batched evaluation as training (:func:`helpers.ensemble.predict`)."""
        from helpers import ensemble

        return ensemble.predict(self.ensemble([k], [s]), np.asarray(x, dtype=np.float32))[0]

    def ensemble(self, networks: Sequence[int], states: Sequence[int] | int):
        """An :class:`helpers.ensemble.Ensemble` (CPU) of ``networks``, each at its entry of ``states``."""
        import torch

        from helpers import ensemble

        states = np.broadcast_to(np.asarray(states), (len(networks),))
        full = []
        for k, s in zip(networks, states):
            w = self.weights(int(k), int(s))
            if w is None:
                raise ValueError(f"network {k} at state {s} has no stored weights in {self.path or 'this snapshot'}"
                                 "; stored are the pairs of stored_pairs()")
            full.append(w)
        ws = [torch.from_numpy(np.stack([f[i][:-1] for f in full])) for i in range(len(full[0]))]
        bs = [torch.from_numpy(np.stack([f[i][-1] for f in full]))[:, None, :] for i in range(len(full[0]))]
        return ensemble.Ensemble(ws, bs, [(w != 0).float() for w in ws], [(b != 0).float() for b in bs])

    def curves(self, k: int, r: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Per-batch (validation, training) losses of network ``k``: round ``r`` only, or every round (then
        concatenated; NaN after the network stopped in a round)."""
        k = self._check(k, 0)[0]
        start = self._a["round_start"][int(self._a["group"][k])]
        lo, hi = (start[0], start[-1]) if r is None else (start[r], start[r + 1])
        return (np.asarray(self._a["curve_val"][k, lo:hi], dtype=np.float32),
                np.asarray(self._a["curve_train"][k, lo:hi], dtype=np.float32))

    # derived snapshots --------------------------------------------------------------------------------------
    def with_threshold(self, threshold: float) -> "Snapshot":
        """The same snapshot with optima selected at another loss threshold."""
        optimal_states(self.val_loss, threshold)                 # validates
        return Snapshot(dict(self._a, threshold=np.array(float(threshold))), self._weights, self.provenance,
                        self.path)

    def select(self, networks: Iterable[int]) -> "Snapshot":
        """The snapshot of a subset of its networks (renumbered 0, 1, …, in the given order)."""
        idx = [self._check(k, 0)[0] for k in networks]
        if not idx:
            raise ValueError("select() needs at least one network")
        per_net = PER_NETWORK_KEYS + tuple(f"mask{i}" for i in range(len(self.layers) - 1))
        arrays = {k: (v[idx] if k in per_net else v) for k, v in self._a.items()}
        parent = self._weights
        return Snapshot(arrays, lambda k, s, masks: parent(idx[k], s, masks), self.provenance, self.path)


def summary_from_states(sparsity: np.ndarray, schedule: Sequence[float], record: Mapping[str, Any],
                        masks: Sequence[np.ndarray], layers: Sequence[int], threshold: float,
                        seeds: Sequence[int], scaler: Mapping[str, np.ndarray] | None = None) -> dict[str, np.ndarray]:
    """The ``summary.npz`` arrays of one group of networks trained together.

    ``record``: the run's record (``val_loss``, ``test_loss``, ``train_slice_loss``, ``batches`` (N, S),
    ``seconds`` (S,), ``curves_val`` / ``curves_train``: one (N, n_r) array per round); ``masks[i]``: (N, S,
    n_i + 1, n_{i+1}) bool exchange masks.
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
    """The (network, state) pairs a shipped data set keeps the weights of: every state of ``full_networks``;
    the dense state, the optimally sparse state and the state nearest :data:`KEEP_SPARSITY` of every network."""
    s93 = int(np.argmin(np.abs(snap.sparsities - KEEP_SPARSITY)))
    pairs = {(k, s) for k in full_networks for s in range(snap.n_states)}
    for k in range(snap.n_networks):
        pairs |= {(k, 0), (k, s93)}
        if snap.optimum[k] >= 0:
            pairs.add((k, int(snap.optimum[k])))
    return sorted(pairs)


def export(snap: Snapshot, out: Path, provenance: Mapping[str, Any],
           pairs: Sequence[tuple[int, int]] | None = None) -> Path:
    """Write ``snap`` to ``out`` keeping the weights of ``pairs`` only (default :func:`shipped_pairs`)."""
    pairs = shipped_pairs(snap) if pairs is None else pairs
    return write(out, snap._a, {p: snap.weights(*p) for p in pairs}, provenance)


def merge(snaps: Sequence[Snapshot], provenance: Mapping[str, Any]) -> tuple[dict[str, np.ndarray], dict]:
    """Summary arrays and weights of several groups' snapshots as one (groups renumbered in order; curves padded
    with NaN to the longest group's timeline). Every snapshot must have the same states and layers."""
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

def machine() -> dict[str, Any]:
    """What a run ran on: processor, cores, torch and its threads, Python, platform."""
    import torch

    cpu = platform.processor()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"cpu": cpu, "cores": os.cpu_count(), "torch": torch.__version__, "torch_threads": torch.get_num_threads(),
            "python": platform.python_version(), "platform": platform.platform()}


def train(preset: str, work: Path, overrides: Mapping[str, Any], threads: int | None = None) -> Path:
    """Train (or resume) the run of ``preset`` (+ ``overrides``) in the folder ``work``, logging one line per
    round (and every 5000 batches) to standard output; ``work/training.json`` records the parameters, seeds,
    commit, machine and the wall time of every session that worked on it (``export`` puts it into the shipped
    data set's provenance). Returns ``work``."""
    import torch

    from helpers import pruning

    names = [n for n in pipeline.SPECS if n not in ("preset", "n_null", "null_model", "null_outputs", "convention")]
    params = pipeline.resolve(preset, **{n: overrides.get(n) for n in names})
    pruning.validate(params)
    if threads:
        torch.set_num_threads(int(threads))
    work = Path(work)
    work.mkdir(parents=True, exist_ok=True)
    prov_path = work / TRAINING
    kp = dict(pruning.key_params(params), threshold=params["threshold"])
    if prov_path.exists():
        prov = json.loads(prov_path.read_text())
        if prov["params"] != json.loads(json.dumps(kp)):
            raise ValueError(f"{work} holds a run of other parameters ({prov['params']}); use another folder")
    else:
        prov = dict(params=kp, preset=preset, commit=git_commit(), code=pipeline.code_version("pruning"),
                    machine=machine(), sessions=[])
    prov["sessions"].append(dict(started=time.strftime("%Y-%m-%dT%H:%M:%S%z"), commit=git_commit()))
    pipeline.atomic_write_bytes(prov_path, json.dumps(prov, indent=1).encode())

    def log(line: str) -> None:
        print(time.strftime("%H:%M:%S"), line, flush=True)

    t0 = time.perf_counter()
    with pipeline.build_lock(work):
        snap = pruning.train_in(params, work, log=log)
    prov = json.loads(prov_path.read_text())
    prov["sessions"][-1].update(ended=time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                                wall_seconds=round(time.perf_counter() - t0, 1))
    prov["seeds"] = [int(v) for v in snap.seeds]
    pipeline.atomic_write_bytes(prov_path, json.dumps(prov, indent=1).encode())
    log("done")
    return work


def adam_epsilon_effect(dense_checkpoint: Path, sizes: Sequence[int]) -> dict[str, float]:
    """How much averaging instead of summing the networks' losses would change Adam's step, measured on the Adam
    state after the dense round (``dense.pt`` of a run).

    Dividing every gradient by the ensemble size E scales m̂ by 1/E and √v̂ by 1/E, so the step m̂/(√v̂ + ε)
    becomes m̂/(√v̂ + Eε): a relative change of (E − 1)ε/(√v̂ + Eε). Returns {str(E): median over all weights
    of every network} for each E in ``sizes``.
    """
    import torch

    from helpers import ensemble as ens_mod
    from helpers import pruning

    dense = pruning.load_checkpoint(dense_checkpoint)["ensemble"]
    steps = dense["steps"].double()
    n_w = len(dense["weights"])
    roots = []
    for v in dense["v"][:n_w]:
        correction = 1.0 - ens_mod.BETA2 ** steps.reshape(-1, *([1] * (v.dim() - 1)))
        roots.append((v.double() / correction).sqrt().reshape(-1))
    root = torch.cat(roots).numpy()
    eps = ens_mod.EPS
    return {str(int(e)): float(np.median((e - 1) * eps / (root + e * eps))) for e in sizes}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m helpers.snapshot", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    tr = sub.add_parser("train", help="train or resume a run in a working folder")
    tr.add_argument("--preset", default="reference", choices=pipeline.PRESET_NAMES)
    tr.add_argument("--work", type=Path, required=True)
    tr.add_argument("--param", action="append", default=[], metavar="NAME=VALUE")
    tr.add_argument("--threads", type=int, default=None)
    ex = sub.add_parser("export", help="write the shipped data set from finished runs (one per group)")
    ex.add_argument("--work", type=Path, action="append", required=True, help="a finished run's folder")
    ex.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    if args.command == "train":
        from helpers.runner import parse_params

        train(args.preset, args.work, parse_params(args.param, args.preset), args.threads)
    else:
        snaps = [load(w) for w in args.work]
        groups = [dict(json.loads((Path(w) / TRAINING).read_text()), run=s.provenance)
                  for w, s in zip(args.work, snaps)]
        n_total = sum(s.n_networks for s in snaps)
        diagnostics = {"adam_epsilon": adam_epsilon_effect(Path(args.work[0]) / "dense.pt", (n_total, 400))}
        provenance = dict(params=snaps[0].provenance["params"], groups=groups, diagnostics=diagnostics,
                          exported=time.strftime("%Y-%m-%dT%H:%M:%S%z"), export_commit=git_commit())
        summary, weights = merge(snaps, provenance)
        whole = Snapshot(summary, lambda k, s, m: weights.get((k, s)), provenance)
        export(whole, args.out, provenance)
        print(f"wrote {args.out}: {whole.n_networks} networks, {len(shipped_pairs(whole))} weight states, "
              f"{sum(f.stat().st_size for f in Path(args.out).iterdir()) / 2**20:.1f} MiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
