"""The train–prune run of an ensemble: orchestration, checkpoints and resume, and its artifact.

Loop (original protocol): train a round → save the state (weights, biases, masks) → prune every weight matrix
to the next cumulative sparsity target (:mod:`helpers.pruning`) → train again … The dense round runs to its cap
(``max_batches_dense``) without early stopping, as the original's dense round ran one full pass over its
training data (50,000 batches); every pruning round ends by the early-stopping rule of :mod:`helpers.ensemble`
or at its cap (``max_batches``). Every saved state is evaluated on the validation and test splits and on the
original's selection slice of the training split (:func:`train_slice`, defect B4, chapter 8).

Public API:

- ``run_or_load(params, progress=False)`` → :class:`helpers.snapshot.Snapshot`: the run for resolved chapter
  ``params`` (trained if needed, resuming from its last checkpoint, under ``pipeline.build_lock``);
- ``load_states(params)`` → the same snapshot of a finished run (``FileNotFoundError`` if there is none);
- ``run_pruning(directory, data, seeds, schedule, ...)``: the loop itself, in a given folder;
- ``train(preset, work, overrides)`` / ``train_groups(...)``: a run (or groups of runs on Dask) in a working
  folder, with the provenance a shipped data set records; the command line ``python -m helpers.run train
  --preset reference --work DIR [--param NAME=VALUE ...]`` trains or resumes one, and ``python -m helpers.run
  export --work DIR [--work DIR ...] --out data/NAME`` writes the shipped data set from finished runs (README).

Artifact ``pipeline.artifact_dir("run", key_params)/``: a finished run is a snapshot (:mod:`helpers.snapshot`:
summary, weights of every network and state, provenance, manifest), the same format as the shipped reference
ensemble. While it runs the folder holds ``state_SS.npz`` per saved state (all networks' weights ``W{i}``
(E, n_i, n_{i+1}) and biases ``b{i}`` (E, n_{i+1}), float32, masked entries exactly 0; removed once the
snapshot is written), ``checkpoint.pt`` (resume point, rewritten atomically after every
round) and ``dense.pt`` (the networks after the dense round, which a run with other pruning settings can start
from: ``run_or_load(..., dense_from=...)``).
"""
from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from helpers import ensemble as ens_mod
from helpers import pipeline, snapshot
from helpers.checks import Spec
from helpers.ensemble import LAYERS
from helpers.pruning import check_bias_pruning, check_schedule, prune_ensemble, saved_sparsities
from helpers.selection import check_threshold
from helpers.snapshot import Snapshot
from helpers.sources import git_commit

#: Parameters that determine the pruning run (the threshold only selects among its saved states).
KEY_PARAMS = ("seed", *pipeline.TRAINING_PARAMS, "task")

#: The training options in which the original's code differs from this book's defaults
#: (:mod:`helpers.ensemble`), with the values the original had; a run keyed without them (the shipped
#: reference ensemble's provenance predates them) had the defaults.
TRAINING_OPTIONS = {"loss_networks": (1, 400), "validation": ("wrap", "exhaust"), "pruned_state": ("zero", "keep")}

#: Size of the training-set slices on which the original selected the optimal state (B4): saved state i was
#: evaluated on training rows i·1024 … (i+1)·1024 − 1 (``step2_pruneEval.py`` indexes its slice by the state).
TRAIN_SLICE = 1024


def train_slice(s: int, n_train: int) -> np.ndarray:
    """The rows of the training split on which the original evaluated saved state ``s`` (B4, chapter 8).

    They are rows s·1024 … (s+1)·1024 − 1, wrapping round a training split of ``n_train`` rows shorter than that
    (the original's 6.4 M rows never wrapped; small presets would otherwise have no rows for the late states).

    Parameters
    ----------
    s : int
        Index of the saved state (0 = dense).
    n_train : int
        Number of rows of the training split, ≥ 1.

    Returns
    -------
    ndarray, int64 (TRAIN_SLICE,)
        Row indices into the training split, (s · 1024 + j) mod n_train for j = 0 … 1023.
    """
    return (s * TRAIN_SLICE + np.arange(TRAIN_SLICE)) % int(n_train)


# ---------------------------------------------------------------------------------------- the loop

def _tensors(value: Any) -> Any:
    """numpy arrays inside nested dicts / lists → torch tensors (so that a checkpoint holds tensors only)."""
    if isinstance(value, np.ndarray):
        return torch.from_numpy(np.ascontiguousarray(value))
    if isinstance(value, dict):
        return {k: _tensors(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_tensors(v) for v in value]
    return value


def save_checkpoint(path: Path, content: Mapping[str, Any]) -> None:
    """Write a resume point atomically, with every numpy array stored as a tensor.

    Parameters
    ----------
    path : pathlib.Path
        The checkpoint file (``checkpoint.pt`` or ``dense.pt`` of a run's folder); replaced atomically.
    content : mapping
        Nested dicts and lists of tensors, numpy arrays and plain numbers, e.g. ``ensemble`` (an
        :meth:`helpers.ensemble.Ensemble.state_dict`), ``record`` and ``rounds_done``.
    """
    pipeline.atomic_write(path, lambda tmp: torch.save(_tensors(dict(content)), tmp))


def load_checkpoint(path: Path) -> dict[str, Any]:
    """Read a resume point without unpickling code (``torch.load(weights_only=True)``).

    Parameters
    ----------
    path : pathlib.Path
        A checkpoint written by :func:`save_checkpoint`.

    Returns
    -------
    dict
        The checkpoint's content on the CPU: the ``ensemble`` state as tensors, the run's ``record`` (if any)
        with numpy arrays again (tensors, and tensors inside lists, converted), other entries as stored.

    Raises
    ------
    helpers.pipeline.ArtifactError
        Naming the file (and the folder to delete) if it is missing, corrupt or unreadable.
    """
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # zip, unpickling and OS errors all mean the same to the caller
        raise pipeline.ArtifactError(f"checkpoint {path} is unreadable ({type(exc).__name__}: {exc}); delete the "
                                     f"folder {Path(path).parent} to train the run again") from exc
    record = ckpt.get("record", {})
    for k, v in list(record.items()):
        if isinstance(v, torch.Tensor):
            record[k] = v.numpy()
        elif isinstance(v, list):
            record[k] = [t.numpy() if isinstance(t, torch.Tensor) else t for t in v]
    return ckpt


def _state_path(directory: Path, s: int) -> Path:
    return Path(directory) / f"state_{s:02d}.npz"


def _save_state(directory: Path, s: int, ens: ens_mod.Ensemble) -> None:
    arrays = {}
    for i in range(len(ens.weights)):
        arrays[f"W{i}"] = (ens.weights[i] * ens.wmasks[i]).cpu().numpy().astype(np.float32)
        arrays[f"b{i}"] = (ens.biases[i] * ens.bmasks[i])[:, 0].cpu().numpy().astype(np.float32)
        arrays[f"wmask{i}"] = np.packbits(ens.wmasks[i].cpu().numpy() > 0, axis=-1)
        arrays[f"bmask{i}"] = np.packbits(ens.bmasks[i][:, 0].cpu().numpy() > 0, axis=-1)
    pipeline.save_npz(_state_path(directory, s), **arrays)


def run_pruning(directory: Path, data: Mapping[str, np.ndarray], seeds: Sequence[int], schedule: Sequence[float],
                bias_pruning: str = "original", max_batches: int = 50_000, max_batches_dense: int | None = None,
                threshold: float = 1e-3, device: str = "cpu", layers: Sequence[int] = LAYERS,
                on_round: Callable[[int], None] | None = None, progress: bool = False,
                rounds: int | None = None, dense_from: Path | None = None, stopping: str = "group",
                n_eval: int | None = None, log: Callable[[str], None] | None = None,
                provenance: Mapping[str, Any] | None = None, loss_networks: int = 1, validation: str = "wrap",
                pruned_state: str = "zero") -> Snapshot:
    """Run (or resume) the iterative pruning loop in ``directory`` and return the summary of :func:`load_states`.

    A checkpoint is written atomically after every round; a call on a directory holding one resumes after
    the last completed round and gives bit-for-bit the result of an uninterrupted run (on the CPU). A directory
    that already holds a finished snapshot is loaded as it is. Once every round is done the snapshot is written
    (:func:`helpers.snapshot.write`, sealing ``checkpoint.pt``, ``dense.pt`` and ``run.json`` too) and the
    per-state files are removed.

    Parameters
    ----------
    directory : pathlib.Path
        The run's folder (created if needed).
    data : mapping of str to ndarray
        ``x_train, y_train, x_val, y_val, x_test, y_test`` (scaled float32, inputs (n, 10), outputs (n, 7));
        optionally ``scaler`` (``x_min``, ``x_max``, ``y_min``, ``y_max``), stored in the summary.
    seeds : sequence of int
        One distinct seed per network (:func:`helpers.ensemble.member_seeds`).
    schedule : sequence of float
        Cumulative sparsity targets, strictly increasing in (0, 1); the saved states are 0 and every target but
        the last (:func:`helpers.pruning.saved_sparsities`).
    bias_pruning : {"original", "corrected"}
        How bias masks are pruned (:mod:`helpers.pruning`).
    max_batches : int
        Per-round cap, ≥ 1.
    max_batches_dense : int, optional
        Cap of the dense round, ≥ 1 (default ``max_batches``).
    threshold : float
        Selection loss threshold (scaled MSE), a finite number > 0.
    device : {"cpu", "cuda"}
        Where the ensemble is trained.
    layers : sequence of int
        Layer widths (default :data:`helpers.ensemble.LAYERS`).
    on_round : callable, optional
        ``on_round(r)`` is called after round r is checkpointed (tests use it to simulate an interruption).
    progress : bool
        Show a progress bar per round.
    rounds : int, optional
        Stop (checkpointed, resumable) once that many rounds are done and return the partial summary of those
        rounds (e.g. ``rounds=1``: the dense network only); ``None`` runs to the end.
    dense_from : pathlib.Path, optional
        The directory of another run whose first networks have the same seeds and whose dense round saw the same
        data and cap; its dense networks (``dense.pt``, written after round 0 of every run) are taken instead of
        training round 0 again. Every run saves ``dense.pt`` for this purpose.
    stopping : {"group", "network"}
        Early stopping of the pruning rounds: ``"group"`` (one decision on the networks' mean validation loss,
        the original's) or ``"network"`` (see :func:`helpers.ensemble.train_round`); the dense round runs to its
        cap.
    n_eval : int, optional
        Every saved state is evaluated on the first ``n_eval`` rows of the validation and the test split
        (``None``: all of them) and on the original's training slice (:func:`train_slice`).
    log : callable, optional
        ``log(line)`` receives one line per finished round (batches, losses, seconds) and one every 5000
        batches.
    provenance : mapping, optional
        The run's parameters, recorded as ``params`` in the snapshot's provenance.
    loss_networks : int
        The networks' summed loss is divided by this, ≥ 1 (the original's 400; :mod:`helpers.ensemble`).
    validation : {"wrap", "exhaust"}
        Validation mini-batches past the end of the split wrap, or are NaN as in the original
        (:mod:`helpers.ensemble`).
    pruned_state : {"zero", "keep"}
        Pruned entries zeroed and never back (ours), or left running under the mask and revivable (the
        original's; :mod:`helpers.pruning`).

    Returns
    -------
    helpers.snapshot.Snapshot
        The finished run as loaded from its folder, or, with ``rounds`` short of the end, an in-memory snapshot
        of the rounds done so far (nothing written).

    Raises
    ------
    ValueError
        Naming the parameter if ``schedule``, ``bias_pruning``, ``threshold``, ``stopping`` (``None`` is refused
        here), ``device``, ``max_batches`` or ``max_batches_dense`` is invalid, or if the dense networks of
        ``dense_from`` were trained from other seeds.
    FileNotFoundError
        If ``dense_from`` has no ``dense.pt`` (its run has not finished its dense round).
    helpers.pipeline.ArtifactError
        If a checkpoint or state file is unreadable.
    helpers.snapshot.SnapshotError
        If the finished snapshot does not verify (:func:`load_states`).
    """
    schedule = check_schedule(schedule)
    check_bias_pruning(bias_pruning)
    check_threshold(threshold)
    if ens_mod.check_stopping(stopping) is None:
        raise ValueError("parameter 'stopping' must be 'group' or 'network' for a pruning run")
    dev = ens_mod.check_device(device)
    Spec(int, 1, None).check("loss_networks", loss_networks)
    ens_mod.check_validation(validation)
    ens_mod.check_pruned_state(pruned_state)
    if max_batches_dense is None:
        max_batches_dense = max_batches
    for name, value in (("max_batches", max_batches), ("max_batches_dense", max_batches_dense)):
        Spec(int, 1, None).check(name, value)
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    if snapshot.is_snapshot(directory):
        return load_states(directory, threshold)
    sparsity = saved_sparsities(schedule)
    n_states = len(sparsity)
    ckpt_path = directory / "checkpoint.pt"
    if ckpt_path.exists():
        ckpt = load_checkpoint(ckpt_path)
        ens = ens_mod.Ensemble.from_state_dict(ckpt["ensemble"], dev)
        if ens.pruned_state != pruned_state:
            raise ValueError(f"{ckpt_path} was trained with pruned_state={ens.pruned_state!r}, not "
                             f"{pruned_state!r}; use another folder")
        rec = ckpt["record"]
        start = ckpt["rounds_done"]
    else:
        ens = ens_mod.init_ensemble(seeds, str(dev), layers, pruned_state)
        rec = _new_record(ens.n_networks, n_states)
        start = 0

    def end_round(r: int, t0: float) -> None:
        """Save state r, prune to the next target (the last prune, e.g. 99 %, is never trained), checkpoint."""
        _save_state(directory, r, ens)
        if r == 0:
            record = {k: rec[k][:, :1] for k in ("val_loss", "test_loss", "train_slice_loss", "batches")}
            record.update(curves_val=rec["curves_val"][:1], curves_train=rec["curves_train"][:1])
            dense = dict(ensemble=ens.state_dict(), seeds=[int(s) for s in seeds], record=record)
            save_checkpoint(directory / "dense.pt", dense)
        prune_ensemble(ens, schedule[r], bias_pruning)
        rec["seconds"][r] = time.perf_counter() - t0
        ckpt = dict(ensemble=ens.state_dict(), record=rec, rounds_done=r + 1)
        save_checkpoint(ckpt_path, ckpt)
        if on_round is not None:
            on_round(r)

    if start == 0 and dense_from is not None:                # round 0 taken from the other run
        ens, rec = _dense_round_of(Path(dense_from), seeds, n_states, dev)
        ens.pruned_state = pruned_state                        # no prune has happened yet: nothing differs
        end_round(0, time.perf_counter())
        start = 1
    stop = n_states if rounds is None else min(int(rounds), n_states)
    for r in range(start, stop):
        t0 = time.perf_counter()
        cap = max_batches_dense if r == 0 else max_batches
        bar = None
        if progress:
            from tqdm.auto import tqdm
            bar = tqdm(total=cap, desc=f"round {r} ({100 * sparsity[r]:.0f} %)", leave=False)
        def tick(n: int, r: int = r) -> None:
            if bar is not None:
                bar.update(100)
            if log is not None and n % 5000 == 0:
                log(f"round {r}: {n} batches")
        res = ens_mod.train_round(ens, data["x_train"], data["y_train"], data["x_val"], data["y_val"],
                                  max_batches=cap, stopping=stopping if r > 0 else None, progress=tick,
                                  loss_networks=loss_networks, validation=validation)
        if bar is not None:
            bar.close()
        rows = slice(0, n_eval)
        rec["val_loss"][:, r] = ens_mod.mse(ens, data["x_val"][rows], data["y_val"][rows])
        rec["test_loss"][:, r] = ens_mod.mse(ens, data["x_test"][rows], data["y_test"][rows])
        sl = train_slice(r, len(data["x_train"]))
        rec["train_slice_loss"][:, r] = ens_mod.mse(ens, data["x_train"][sl], data["y_train"][sl])
        rec["batches"][:, r] = res.batches
        rec["curves_val"].append(res.val_loss)
        rec["curves_train"].append(res.train_loss)
        end_round(r, t0)
        if log is not None:
            v = rec["val_loss"][:, r]
            log(f"round {r} ({100 * sparsity[r]:.0f} %): {int(res.batches.max())} batches, validation MSE median "
                f"{np.median(v):.3g} (min {v.min():.3g}, max {v.max():.3g}), {rec['seconds'][r]:.0f} s")
    done = n_states if stop >= n_states and start <= stop else max(stop, start)
    summary = snapshot.summary_from_states(sparsity[:done], schedule, rec, _masks(directory, done, len(layers) - 1),
                                           layers, threshold, seeds, data.get("scaler"))
    weights = lambda k, s, masks: _state_weights(directory, s)[k]       # noqa: E731
    provenance = dict(params=dict(provenance or {}), seeds=[int(v) for v in seeds], n_eval=n_eval,
                      stopping=stopping, bias_pruning=bias_pruning, max_batches=int(max_batches),
                      max_batches_dense=int(max_batches_dense), schedule=list(schedule),
                      loss_networks=int(loss_networks), validation=validation, pruned_state=pruned_state)
    if done < n_states:                                        # a partial run: its rounds so far, not written
        return Snapshot(summary, weights, provenance, directory)
    every = {}
    for s in range(n_states):                                  # each state file read once
        for k, w in enumerate(_state_weights(directory, s)):
            every[(k, s)] = w
    snapshot.write(directory, summary, every, provenance, also=("checkpoint.pt", "dense.pt", "run.json"))
    for s in range(n_states):                                  # the snapshot holds them now
        _state_path(directory, s).unlink(missing_ok=True)
    return load_states(directory, threshold)


def _state_weights(directory: Path, s: int) -> list[list[np.ndarray]]:
    """Exchange-layout weights (bias row last) of every network from the state file of round s: per network a
    list of (n_i + 1, n_{i+1}) float32."""
    st = pipeline.load_npz(_state_path(directory, s))
    n = sum(1 for name in st if name.startswith("W"))
    return [[np.concatenate([st[f"W{i}"][k], st[f"b{i}"][k][None]]) for i in range(n)]
            for k in range(st["W0"].shape[0])]


def _masks(directory: Path, n_done: int, n_layers: int) -> list[np.ndarray]:
    """Exchange-layout masks of every network at the first ``n_done`` states: per layer (E, S, n_i + 1, n_{i+1})
    bool, from the state files."""
    out = [[] for _ in range(n_layers)]
    for s in range(n_done):
        st = pipeline.load_npz(_state_path(directory, s))
        for i in range(n_layers):
            e, _, n_out = st[f"W{i}"].shape
            wm = np.unpackbits(st[f"wmask{i}"], axis=-1, count=n_out).astype(bool)
            bm = np.unpackbits(st[f"bmask{i}"], axis=-1, count=n_out).astype(bool)
            out[i].append(np.concatenate([wm, bm[:, None, :]], axis=1))
    return [np.stack(m, axis=1) for m in out]


def _dense_round_of(source: Path, seeds: Sequence[int], n_states: int, dev: torch.device
                    ) -> tuple[ens_mod.Ensemble, dict]:
    """The first len(seeds) dense networks of the run in ``source`` and their round-0 record (see ``dense_from``
    of :func:`run_pruning`)."""
    path = source / "dense.pt"
    if not path.exists():
        raise FileNotFoundError(f"{path} does not exist: the run in {source} has not finished its dense round")
    dense = load_checkpoint(path)
    e = len(seeds)
    if list(dense["seeds"][:e]) != [int(s) for s in seeds]:
        raise ValueError(f"the dense networks in {source} were trained from seeds {dense['seeds'][:e]}, "
                         f"not {list(seeds)}")
    state = {k: [t[:e] for t in v] if isinstance(v, list) else v[:e] for k, v in dense["ensemble"].items()}
    ens = ens_mod.Ensemble.from_state_dict(state, dev)
    rec = _new_record(e, n_states)
    for k in ("val_loss", "test_loss", "train_slice_loss", "batches"):
        rec[k][:, 0] = dense["record"][k][:e, 0]
    for k in ("curves_val", "curves_train"):
        rec[k].append(dense["record"][k][0][:e])
    return ens, rec


def _new_record(e: int, n_states: int) -> dict:
    """An empty record of a run: per network and state losses and batches, per-round seconds and curves."""
    return dict(val_loss=np.full((e, n_states), np.nan), test_loss=np.full((e, n_states), np.nan),
                train_slice_loss=np.full((e, n_states), np.nan), batches=np.zeros((e, n_states), dtype=np.int64),
                seconds=np.zeros(n_states), curves_val=[], curves_train=[])


# ----------------------------------------------------------------------------------------- loading

def load_states(where: Path | Mapping[str, Any], threshold: float | None = None) -> Snapshot:
    """The :class:`helpers.snapshot.Snapshot` of a finished run.

    Parameters
    ----------
    where : pathlib.Path or mapping
        The run's directory, or resolved chapter params (the directory is then :func:`artifact_path`).
    threshold : float, optional
        Select the optimally sparse states at this loss threshold; ``None``: the params' ``threshold`` when
        ``where`` is params, else the one stored with the run.

    Returns
    -------
    helpers.snapshot.Snapshot

    Raises
    ------
    FileNotFoundError
        If the run has not finished (its folder holds no sealed snapshot).
    helpers.snapshot.SnapshotError
        If the snapshot is incomplete or corrupt (the message says to delete the folder to train it again).
    ValueError
        If ``threshold`` is not a finite number > 0.
    """
    if isinstance(where, Mapping):
        directory = artifact_path(where)
        threshold = where.get("threshold", threshold) if threshold is None else threshold
    else:
        directory = Path(where)
    if not snapshot.is_snapshot(directory):
        raise FileNotFoundError(f"no finished pruning run in {directory}; call run_or_load(params) to train it")
    try:
        return snapshot.load(directory, threshold)
    except snapshot.SnapshotError as err:
        raise snapshot.SnapshotError(f"{err} — this is a pruning run: delete {directory} to train it again") \
            from None


# ---------------------------------------------------------------------------------------- pipeline

def key_params(params: Mapping[str, Any]) -> dict[str, Any]:
    """The subset of resolved params that determines the run (:data:`KEY_PARAMS`).

    Parameters
    ----------
    params : mapping
        Resolved chapter parameters, with ``preset``; a parameter that a chapter does not take (e.g.
        ``stopping``) has its preset's value.

    Returns
    -------
    dict
        {name: value} for every name of :data:`KEY_PARAMS`, ``schedule`` as a list (JSON-able).
    """
    out = {k: pipeline.value(params, k) for k in KEY_PARAMS}
    out["schedule"] = list(out["schedule"])
    return out


def artifact_path(params: Mapping[str, Any], dense_from: Path | None = None) -> Path:
    """Where the run of ``params`` lives.

    Parameters
    ----------
    params : mapping
        Resolved chapter parameters (:func:`key_params`).
    dense_from : pathlib.Path, optional
        The folder of the run this one took its dense round from (see :func:`run_or_load`); such a run is keyed
        by that folder's name too.

    Returns
    -------
    pathlib.Path
        ``<artifact_root>/run-<key>/``, created on demand (:func:`helpers.pipeline.artifact_dir`).
    """
    key = key_params(params)
    if dense_from is not None:
        key["dense_from"] = Path(dense_from).name
    return pipeline.artifact_dir("run", key)


#: The parameters that determine the dense round (round 0) of a run, besides the networks' seeds.
DENSE_ROUND_PARAMS = ("seed", "n_trajectories", "data_seed", "device", "max_batches_dense", "loss_networks", "task")


def validate(params: Mapping[str, Any]) -> None:
    """Check the run's parameters again (beyond :func:`pipeline.resolve`), naming the bad one.

    Parameters
    ----------
    params : mapping
        Needs ``n_networks``, ``schedule``, ``threshold``, ``bias_pruning`` and ``device``.

    Raises
    ------
    ValueError
        Naming the first of them that is invalid (``device="cuda"`` is invalid without a CUDA device).
    """
    pipeline.SPECS["n_networks"].check("n_networks", params["n_networks"])
    for name in (*TRAINING_OPTIONS, "task"):
        pipeline.SPECS[name].check(name, pipeline.value(params, name))
    check_schedule(params["schedule"])
    check_threshold(params["threshold"])
    check_bias_pruning(params["bias_pruning"])
    ens_mod.check_device(params["device"])


def run_or_load(params: Mapping[str, Any], progress: bool = False, rounds: int | None = None,
                dense_from: Mapping[str, Any] | None = None) -> Snapshot:
    """The pruning run for resolved ``params``: load it if finished, else train it and return :func:`load_states`.

    Training resumes from the last checkpoint and runs under the folder's :class:`helpers.pipeline.build_lock`
    (a run another process finished meanwhile is loaded).

    Parameters
    ----------
    params : mapping
        Resolved chapter parameters: seed, n_networks, n_trajectories, data_seed, schedule, bias_pruning, device,
        max_batches, max_batches_dense, threshold (and those of :data:`KEY_PARAMS` a chapter does not take come
        from the preset).
    progress : bool
        Show progress bars while simulating and training.
    rounds : int, optional
        Only make sure that many rounds are done and return their partial summary (``rounds=1``: the trained
        dense ensemble); a later call resumes.
    dense_from : mapping, optional
        The params of another run (e.g. the same networks with the other bias-pruning mode) whose dense round
        this run shares: its first ``n_networks`` dense networks are taken (that run's dense round is trained
        first if needed) and only the pruning rounds are trained. The two runs must agree on
        :data:`DENSE_ROUND_PARAMS` and this run may not have more networks.

    Returns
    -------
    helpers.snapshot.Snapshot
        The finished run (optima selected at ``params["threshold"]``), or the partial summary with ``rounds``.

    Raises
    ------
    ValueError
        Naming a bad parameter (:func:`validate`), or if ``dense_from`` differs in a parameter of
        :data:`DENSE_ROUND_PARAMS` or has fewer networks.
    helpers.snapshot.SnapshotError
        If a finished run's snapshot (or that of ``dense_from``) does not verify.
    helpers.pipeline.ArtifactError
        If the data set or a checkpoint of the run is unreadable.
    """
    validate(params)
    source = None
    if dense_from is not None:
        validate(dense_from)
        ours, theirs = key_params(params), key_params(dense_from)
        differ = [k for k in DENSE_ROUND_PARAMS if ours[k] != theirs[k]]
        if differ:
            raise ValueError(f"dense_from: parameter(s) {differ} differ from this run's, so its dense round is not "
                             "this run's")
        if params["n_networks"] > dense_from["n_networks"]:
            raise ValueError(f"dense_from: it has {dense_from['n_networks']} networks, this run needs "
                             f"{params['n_networks']}")
        source = artifact_path(dense_from)
        if snapshot.is_snapshot(source):
            snapshot.verify(source)                  # its dense.pt is sealed with the finished run
        elif not (source / "dense.pt").exists():
            run_or_load(dense_from, progress=progress, rounds=1)
    directory = artifact_path(params, source)
    if snapshot.is_snapshot(directory):
        return load_states(directory, params["threshold"])
    with pipeline.build_lock(directory):
        pipeline.remove_temporaries(directory)        # left by a write that a kill interrupted
        return _build(params, directory, progress, rounds, source)


def _build(params: Mapping[str, Any], directory: Path, progress: bool, rounds: int | None,
           dense_from: Path | None = None) -> Snapshot:
    if snapshot.is_snapshot(directory):                      # built by another process while we waited
        return load_states(directory, params["threshold"])
    return train_in(params, directory, progress=progress, rounds=rounds, dense_from=dense_from)


def train_in(params: Mapping[str, Any], directory: Path, progress: bool = False, rounds: int | None = None,
             dense_from: Path | None = None, log: Callable[[str], None] | None = None) -> Snapshot:
    """Train (or resume) the run of resolved ``params`` in ``directory``.

    Loads or builds its data set (:func:`helpers.data.load_or_build`), derives the networks' seeds
    (:func:`helpers.ensemble.member_seeds`), records ``run.json`` and calls :func:`run_pruning`. The caller holds
    the folder's lock.

    Parameters
    ----------
    params : mapping
        Resolved chapter parameters (as for :func:`run_or_load`).
    directory : pathlib.Path
        The run's folder.
    progress : bool
        As for :func:`run_pruning` (also shows the simulation's progress bar).
    rounds : int, optional
        As for :func:`run_pruning`.
    dense_from : pathlib.Path, optional
        As for :func:`run_pruning`: the folder of the run whose dense round is taken.
    log : callable, optional
        As for :func:`run_pruning`; also receives one line when the data set is ready.

    Returns
    -------
    helpers.snapshot.Snapshot
        What :func:`run_pruning` returns.

    Raises
    ------
    ValueError, FileNotFoundError, helpers.pipeline.ArtifactError, helpers.snapshot.SnapshotError
        As :func:`helpers.data.load_or_build` and :func:`run_pruning` raise.
    """
    from helpers import data as data_mod
    from helpers import tasks

    threads = torch.get_num_threads()
    ds = data_mod.load_or_build(params["n_trajectories"], params["data_seed"], progress=progress)
    # numba's parallel simulation shares torch's OpenMP runtime and leaves its thread count at numba's (all cores):
    # training would then run on more threads than it was given
    torch.set_num_threads(threads)
    ds = tasks.retarget(ds, pipeline.value(params, "task"))
    arrays = {k: getattr(ds, k) for k in ("x_train", "y_train", "x_val", "y_val", "x_test", "y_test")}
    arrays["scaler"] = dict(x_min=ds.in_min, x_max=ds.in_max, y_min=ds.out_min, y_max=ds.out_max)
    kp = key_params(params)
    seeds = ens_mod.member_seeds(kp["seed"], kp["n_networks"], first=kp["first_network"])
    info = dict(kp, seeds=seeds, dense_from=None if dense_from is None else str(dense_from))
    pipeline.atomic_write_bytes(Path(directory) / "run.json", json.dumps(info, indent=1).encode())
    if log is not None:
        log(f"data ready: {params['n_trajectories']:,} flights; training {kp['n_networks']} networks")
    return run_pruning(directory, arrays, seeds, params["schedule"], params["bias_pruning"], params["max_batches"],
                       kp["max_batches_dense"], params["threshold"], params["device"], progress=progress,
                       rounds=rounds, dense_from=dense_from, stopping=kp["stopping"], n_eval=kp["n_eval"],
                       provenance=kp, log=log, loss_networks=kp["loss_networks"], validation=kp["validation"],
                       pruned_state=kp["pruned_state"])


# ------------------------------------------------------------- the command line: train and export a data set

def machine() -> dict[str, Any]:
    """What a run ran on: processor, cores, torch and its threads, Python, platform.

    Returns
    -------
    dict
        ``cpu`` (the model name of ``/proc/cpuinfo`` where readable, else ``platform.processor()``), ``cores``,
        ``torch`` (version), ``torch_threads``, ``python`` (version) and ``platform``.
    """
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


def run_params(preset: str, overrides: Mapping[str, Any]) -> dict[str, Any]:
    """The validated parameters of a run of ``preset``: what determines it and its selection.

    Parameters
    ----------
    preset : {"ci", "default", "reference", "paper"}
        The preset whose values the run takes.
    overrides : mapping
        Values of :data:`helpers.KEY_PARAMS` or ``threshold`` to take instead (others are ignored; ``None``
        means the preset's value).

    Returns
    -------
    dict
        The resolved parameters (:func:`helpers.pipeline.resolve`), checked by :func:`helpers.validate`.

    Raises
    ------
    ValueError
        Naming a bad parameter.
    """
    params = pipeline.resolve(preset, **{n: overrides.get(n) for n in (*KEY_PARAMS, "threshold")})
    validate(params)
    return params


def log(line: str) -> None:
    """Print ``line`` with the time of day, at once (a training command's log).

    Parameters
    ----------
    line : str
        What to log.
    """
    print(time.strftime("%H:%M:%S"), line, flush=True)


@contextlib.contextmanager
def training_session(work: Path, name: str, settings: Mapping[str, Any], first: Mapping[str, Any]):
    """Record one session of a training command in ``work/training.json`` (:data:`helpers.snapshot.TRAINING`).

    The first session writes ``{name: settings}``, ``first``, the commit and the machine; a later one must have the
    same settings. Each session appends its start, commit and torch threads, and on a normal exit its end and wall
    time. The record is yielded so that the caller may add entries (written at the exit).

    Parameters
    ----------
    work : pathlib.Path
        The working folder (created if needed).
    name : str
        The key of the settings in the record (``"params"``, ``"settings"``).
    settings : mapping
        What determines the run (JSON-able).
    first : mapping
        Further entries of a new record.

    Raises
    ------
    ValueError
        If ``work`` holds a record of other settings.
    """
    import torch

    work = Path(work)
    work.mkdir(parents=True, exist_ok=True)
    path = work / snapshot.TRAINING
    if path.exists():
        prov = json.loads(path.read_text())
        if prov[name] != json.loads(json.dumps(settings)):
            raise ValueError(f"{work} holds a run of other {name} ({prov[name]}); use another folder")
    else:
        prov = {name: dict(settings), **first, "commit": git_commit(), "machine": machine(), "sessions": []}
    prov["sessions"].append(dict(started=time.strftime("%Y-%m-%dT%H:%M:%S%z"), commit=git_commit(),
                                 threads=torch.get_num_threads()))
    pipeline.atomic_write_bytes(path, json.dumps(prov, indent=1).encode())
    t0 = time.perf_counter()
    yield prov
    prov["sessions"][-1].update(ended=time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                                wall_seconds=round(time.perf_counter() - t0, 1))
    pipeline.atomic_write_bytes(path, json.dumps(prov, indent=1).encode())


def train(preset: str, work: Path, overrides: Mapping[str, Any], threads: int | None = None) -> Path:
    """Train (or resume) the run of ``preset`` (+ ``overrides``) in the folder ``work``.

    Logs one line per round (and every 5000 batches) to standard output; ``work/training.json`` records the
    parameters, seeds, commit, machine and, for every session that worked on it, its commit, torch threads and wall
    time (``export`` puts it into the shipped data set's provenance).

    Parameters
    ----------
    preset : {"ci", "default", "reference", "paper"}
        The preset whose parameters the run takes.
    work : pathlib.Path
        The working folder (created if needed); it holds the run and ``training.json``.
    overrides : mapping
        Parameters of :data:`helpers.KEY_PARAMS` or ``threshold`` to take instead of the preset's (others
        are ignored; ``None`` means the preset's value).
    threads : int, optional
        Torch's CPU threads; ``None`` or 0: torch's default capped at the cores other work leaves free
        (:func:`helpers.pipeline.torch_threads`). The number used is recorded in the provenance (``machine``).

    Returns
    -------
    pathlib.Path
        ``work``.

    Raises
    ------
    ValueError
        Naming a bad parameter, or if ``work`` holds a run of other parameters.
    """
    import torch

    params = run_params(preset, overrides)
    torch.set_num_threads(int(threads) if threads else pipeline.torch_threads(torch.get_num_threads()))
    work = Path(work)
    work.mkdir(parents=True, exist_ok=True)
    kp = dict(key_params(params), threshold=params["threshold"])
    with training_session(work, "params", kp, dict(preset=preset, code=pipeline.code_version("run"))) as prov, \
            pipeline.build_lock(work):
        snap = train_in(params, work, log=log)
        prov["seeds"] = [int(v) for v in snap.seeds]
    log("done")
    return work


def _train_group(preset: str, work: str, overrides: Mapping[str, Any], threads: int) -> str:
    """One group of :func:`train_groups`, as a task on a worker: :func:`train` with its output silenced."""
    import contextlib
    import io

    with contextlib.redirect_stdout(io.StringIO()):
        train(preset, Path(work), overrides, threads)
    return str(work)


def train_groups(preset: str, work: Path, overrides: Mapping[str, Any], n_groups: int, *,
                 scheduler: str | None = None, threads: int = 1, progress: bool = False,
                 n_workers: int | None = None) -> list[Path]:
    """Train (or resume) ``n_groups`` groups of networks at once, one task per group on a Dask cluster.

    Group g holds networks ``first_network + g · n_networks`` … of the seed sequence (``n_networks`` each, the
    preset's or the override's) and is trained by :func:`train` in its own working folder ``work/group-GG``,
    with one early-stopping decision per round for its networks, exactly as a group trained alone: the groups
    are independent, so where and in which order they run does not change a number. The folders are working
    state (checkpoints after every round, so an interrupted or failed group resumes where it stopped); the data
    set is written once, by :func:`helpers.snapshot.export`, from the finished folders. The workers must see ``work`` and the
    artifact folder (a shared file system on a cluster of machines).

    Parameters
    ----------
    preset : {"ci", "default", "reference", "paper"}
        The preset whose parameters every group takes.
    work : pathlib.Path
        The parent of the groups' working folders (created if needed).
    overrides : mapping
        As for :func:`train`; ``first_network`` is the first group's first network.
    n_groups : int
        How many groups (≥ 1).
    scheduler : str or None
        Where the groups run (:func:`helpers.cluster.client`): ``None`` / ``"local"`` a cluster started by this
        process (or the one in ``$HELPERS_SCHEDULER``), else a scheduler address.
    threads : int
        Torch CPU threads of each group (one per Dask worker thread).
    progress : bool
        Show Dask's progress bar and the dashboard's address.
    n_workers : int or None
        Workers of a local cluster of its own (``None``: the process's shared one, one worker per core).

    Returns
    -------
    list of pathlib.Path
        The groups' folders, in group order (pass them to ``export --work``).

    Raises
    ------
    ValueError
        Naming a bad parameter, before anything is submitted.
    Exception
        The error of a group that failed after its retries (its folder keeps its last checkpoint).
    """
    from helpers import cluster

    n_groups = Spec(int, 1, 10_000).check("n_groups", n_groups)
    base = run_params(preset, overrides)
    folders = [Path(work) / f"group-{g:02d}" for g in range(n_groups)]
    cells = [(preset, str(folder), dict(overrides, first_network=base["first_network"] + g * base["n_networks"]),
              threads) for g, folder in enumerate(folders)]
    with cluster.client(scheduler, verbose=progress, n_workers=n_workers) as dask:
        cluster.map_cells(_train_group, cells, client=dask, progress=progress, label="train-group")
    return folders


def adam_epsilon_effect(dense_checkpoint: Path, sizes: Sequence[int]) -> dict[str, float]:
    """How much averaging instead of summing the networks' losses would change Adam's step.

    It is measured on the Adam state after the dense round (``dense.pt`` of a run). Dividing every gradient by
    the ensemble size E scales m̂ by 1/E and √v̂ by 1/E, so the step m̂/(√v̂ + ε) becomes m̂/(√v̂ + Eε): a relative
    change of (E − 1)ε/(√v̂ + Eε).

    Parameters
    ----------
    dense_checkpoint : pathlib.Path
        A run's ``dense.pt`` (:func:`helpers.load_checkpoint`).
    sizes : sequence of int
        Ensemble sizes E to evaluate.

    Returns
    -------
    dict of str to float
        {str(E): median over all weights of every network of the relative change} for each E in ``sizes``.

    Raises
    ------
    helpers.pipeline.ArtifactError
        If the checkpoint is missing or unreadable.
    """
    import torch

    from helpers import ensemble as ens_mod
    dense = load_checkpoint(dense_checkpoint)["ensemble"]
    steps = dense["steps"].double()
    n_w = len(dense["weights"])
    roots = []
    for v in dense["v"][:n_w]:
        correction = 1.0 - ens_mod.BETA2 ** steps.reshape(-1, *([1] * (v.dim() - 1)))
        roots.append((v.double() / correction).sqrt().reshape(-1))
    root = torch.cat(roots).numpy()
    eps = ens_mod.EPS
    return {str(int(e)): float(np.median((e - 1) * eps / (root + e * eps))) for e in sizes}


def group_records(folder: Path, snap: Snapshot) -> list[dict[str, Any]]:
    """The provenance records of the training groups behind ``folder``, for an exported data set's ``groups``.

    Parameters
    ----------
    folder : pathlib.Path
        A finished run's working folder (with ``training.json``), or an exported data set (whose provenance
        lists its groups already: a shipped group can be merged with a new one without its working folder).
    snap : Snapshot
        ``folder`` loaded.

    Returns
    -------
    list of dict
        One record per group: the run's ``training.json`` with the run's own provenance as ``run``, or the
        data set's recorded groups as they are.

    Raises
    ------
    ValueError
        If ``folder`` is neither.
    """
    training = folder / snapshot.TRAINING
    if training.exists():
        return [dict(json.loads(training.read_text()), run=snap.provenance)]
    groups = snap.provenance.get("groups")
    if isinstance(groups, list) and groups and all(isinstance(g, dict) and "run" in g for g in groups):
        return [dict(g) for g in groups]
    raise ValueError(f"{folder} is neither a finished run (no {snapshot.TRAINING}) nor an exported data set "
                     "(its provenance lists no training groups)")


def main(argv: list[str] | None = None) -> int:
    """The command line ``python -m helpers.run {train, export}`` (module docstring).

    ``train --preset P --work DIR [--param NAME=VALUE ...] [--threads N]`` trains or resumes a run (:func:`train`);
    with ``--groups G [--scheduler ADDRESS]`` G groups at once on a Dask cluster (:func:`train_groups`);
    ``export --work DIR [--work DIR ...] --out OUT`` merges finished runs or exported data sets (one per group or
    groups, :func:`group_records`, :func:`helpers.snapshot.merge`), measures :func:`adam_epsilon_effect` on the first
    run's ``dense.pt`` and writes the shipped data set (:func:`helpers.snapshot.export`).

    Parameters
    ----------
    argv : list of str, optional
        The arguments; ``None``: ``sys.argv[1:]``.

    Returns
    -------
    int
        The exit status, 0.
    """
    parser = argparse.ArgumentParser(prog="python -m helpers.run", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    tr = sub.add_parser("train", help="train or resume a run in a working folder")
    tr.add_argument("--preset", default="reference", choices=pipeline.PRESET_NAMES)
    tr.add_argument("--work", type=Path, required=True)
    tr.add_argument("--param", action="append", default=[], metavar="NAME=VALUE")
    tr.add_argument("--threads", type=int, default=None)
    tr.add_argument("--groups", type=int, default=None, metavar="G",
                    help="train G groups of n_networks at once on a Dask cluster, in WORK/group-00 … (train_groups)")
    tr.add_argument("--scheduler", default=None, help="with --groups: a Dask scheduler address (default: a cluster "
                    "started by this process, or $HELPERS_SCHEDULER)")
    ex = sub.add_parser("export", help="write the shipped data set from finished runs (one per group)")
    ex.add_argument("--work", type=Path, action="append", required=True,
                    help="a finished run's folder, or an exported data set whose groups are kept as they are")
    ex.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    if args.command == "train":
        from helpers.runner import parse_params

        overrides = parse_params(args.param, args.preset)
        if args.groups is None:
            train(args.preset, args.work, overrides, args.threads)
        else:
            folders = train_groups(args.preset, args.work, overrides, args.groups, scheduler=args.scheduler,
                                   threads=args.threads or 1, progress=True)
            print("finished:", " ".join(f"--work {f}" for f in folders))
    else:
        snaps = [snapshot.load(w) for w in args.work]
        groups = [g for w, s in zip(args.work, snaps) for g in group_records(Path(w), s)]
        n_total = sum(s.n_networks for s in snaps)
        dense = next((Path(w) / "dense.pt" for w in args.work if (Path(w) / "dense.pt").exists()), None)
        if dense is None:
            raise SystemExit("export: no --work folder is a finished run with its dense.pt (the Adam-epsilon "
                             "diagnostic is measured on one)")
        diagnostics = {"adam_epsilon": adam_epsilon_effect(dense, (n_total, 400))}
        params = dict(snaps[0].provenance["params"], n_networks=n_total)
        provenance = dict(params=params, groups=groups, diagnostics=diagnostics,
                          exported=time.strftime("%Y-%m-%dT%H:%M:%S%z"), export_commit=git_commit())
        summary, weights = snapshot.merge(snaps, provenance)
        whole = Snapshot(summary, lambda k, s, m: weights.get((k, s)), provenance)
        snapshot.export(whole, args.out, provenance)
        print(f"wrote {args.out}: {whole.n_networks} networks, {len(snapshot.shipped_pairs(whole))} weight states, "
              f"{sum(f.stat().st_size for f in Path(args.out).iterdir()) / 2**20:.1f} MiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
