"""Iterative layer-wise magnitude pruning of the ensemble (SPEC §4) and the saved states it produces.

Loop (original protocol): train a round → save the state (weights, biases, masks) → prune every weight matrix
to the next cumulative sparsity target of the schedule → train again … The saved states are the dense one plus
one per target except the last (0 %, 15 %, …, 98 % for the paper's schedule: 18 states); the last prune (99 %)
is applied but never trained. A pruned weight never returns. The dense round runs to its cap
(``max_batches_dense``) without early stopping, as the original's dense round ran one full pass over its
training data (50,000 batches); every pruning round ends by the early-stopping rule of :mod:`helpers.ensemble`
or at its cap (``max_batches``).

Bias pruning (SPEC B3):
- ``original`` — the bias mask of layer i keeps a bias only if its magnitude exceeds the *weight* cutoff of
  layer i (the largest weight magnitude pruned in that layer), as the original code did. Biases start at 0 and
  stay small, so most of them are pruned in the first rounds.
- ``corrected`` — biases are never pruned (bias masks stay all ones): the schedule's sparsity refers to weights
  only, as in standard magnitude pruning (Han et al. 2015).

Selection (SPEC B4): the optimally sparse state of a network is the most pruned saved state whose loss on the
*full* validation set is ≤ the threshold; a network with no such state is *dropped* (index −1). The original's
criterion — the loss of state s on the 1024-sample training slice s (:func:`train_slice`) — is recorded
too (``train_slice_loss``, ``optimal_original``) so that both selections can be compared.

Public API (used by the later chapters; names and signatures are stable):

- ``run_or_load(params, progress=False)`` → :class:`helpers.snapshot.Snapshot`: the run for resolved chapter
  ``params`` (trained if needed, resuming from its last checkpoint, under ``pipeline.build_lock``);
- ``load_states(params)`` → the same snapshot of a finished run (``FileNotFoundError`` if there is none);
- ``exchange_masks(states, network, state)`` → list of 5 bool arrays (n_i + 1, n_{i+1}), last row = bias mask
  (SPEC §5 exchange layout);
- ``network_weights(states, network, state)`` → (weights (n_i, n_{i+1}), biases (n_{i+1},)) float32;
- ``ensemble_at(states, state)`` → an :class:`~helpers.ensemble.Ensemble` of all networks at a state (or at
  per-network states such as ``states["optimal"]``).
- ``focus_states(states)`` → ({network: state}, description): the state at which the later chapters analyse
  each network "at the optimum".

Artifact ``pipeline.artifact_dir("pruning", key_params)/``: a finished run is a snapshot (:mod:`helpers.snapshot`:
summary, weights of every network and state, provenance, manifest), the same format as the shipped reference
ensemble. While it runs the folder holds ``state_SS.npz`` per saved state (all networks' weights ``W{i}``
(E, n_i, n_{i+1}) and biases ``b{i}`` (E, n_{i+1}), float32, masked entries exactly 0; removed once the
snapshot is written), ``checkpoint.pt`` (resume point, rewritten atomically after every
round) and ``dense.pt`` (the networks after the dense round, which a run with other pruning settings can start
from: ``run_or_load(..., dense_from=...)``).
"""
from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from helpers import ensemble as ens_mod
from helpers import pipeline, snapshot
from helpers.ensemble import LAYERS
from helpers.snapshot import Snapshot, optimal_states

BIAS_MODES = ("original", "corrected")
#: Parameters that determine the pruning run (the threshold only selects among its saved states).
KEY_PARAMS = ("seed", "n_networks", "n_trajectories", "data_seed", "schedule", "bias_pruning", "device",
              "max_batches", "max_batches_dense", "stopping", "n_eval", "first_network")
#: Size of the training-set slices on which the original selected the optimal state (B4): saved state i was
#: evaluated on training rows i·1024 … (i+1)·1024 − 1 (``step2_pruneEval.py`` indexes its slice by the state).
TRAIN_SLICE = 1024


def train_slice(s: int, n_train: int) -> np.ndarray:
    """The rows (TRAIN_SLICE,) int64 of the training split on which the original evaluated saved state ``s``
    (B4): rows s·1024 … (s+1)·1024 − 1, wrapping round a training split of ``n_train`` rows shorter than that
    (the original's 6.4 M rows never wrapped; small presets would otherwise have no rows for the late states)."""
    return (s * TRAIN_SLICE + np.arange(TRAIN_SLICE)) % int(n_train)


# -------------------------------------------------------------------------------------------- validation

#: Validation of the schedule is shared with :func:`helpers.pipeline.resolve`.
check_schedule = pipeline.check_schedule


check_threshold = snapshot.check_threshold


def check_bias_pruning(mode: str) -> str:
    if mode not in BIAS_MODES:
        raise ValueError(f"parameter 'bias_pruning' = {mode!r} is invalid: it must be one of {BIAS_MODES}")
    return mode


def saved_sparsities(schedule: Sequence[float]) -> np.ndarray:
    """Nominal weight sparsity of each saved state: 0 and every target but the last → (S,) float64."""
    return np.array((0.0,) + tuple(check_schedule(schedule))[:-1])


# ---------------------------------------------------------------------------------------------- masks

def n_pruned(size: int, sparsity: float) -> int:
    """How many of ``size`` weights a layer at ``sparsity`` has pruned: int(sparsity · size) + 1 (0 when dense).

    The original (``step1_train.py``) took the cutoff at index N = int(c · n) of the sorted magnitudes and kept
    the weights strictly above it, so the N + 1 smallest are pruned: at 93 % it keeps 279 / 11,199 / 11,199 /
    447 / 7 of the 4,000 / 160,000 / 160,000 / 6,400 / 112 weights. (Ties at the cutoff, which the original
    would prune together, do not occur among trained float32 weights; here ties go by flat index.)
    """
    if float(sparsity) == 0.0:                  # the dense state
        return 0
    return min(int(float(sparsity) * size) + 1, size)


def prune_layerwise(weights: Sequence[np.ndarray], masks: Sequence[np.ndarray], sparsity: float
                    ) -> list[np.ndarray]:
    """New masks with exactly :func:`n_pruned` (int(sparsity · size) + 1) weights of *each* layer pruned, by magnitude.

    ``weights[i]``: (n_i, n_{i+1}) float; ``masks[i]``: same shape, bool (True = kept). Already pruned weights are
    pruned first (they never return); the rest go in order of increasing |w| (ties: lower flat index first).
    Raises ``ValueError`` if a layer already has more pruned weights than the target allows.
    """
    if not (0.0 <= float(sparsity) < 1.0):
        raise ValueError(f"sparsity = {sparsity!r} is invalid: it must be in [0, 1)")
    out = []
    for i, (w, m) in enumerate(zip(weights, masks)):
        w = np.asarray(w, dtype=np.float64)
        m = np.asarray(m, dtype=bool)
        if w.shape != m.shape:
            raise ValueError(f"layer {i}: weight shape {w.shape} != mask shape {m.shape}")
        k = n_pruned(w.size, sparsity)
        already = int((~m).sum())
        if already > k:
            raise ValueError(f"layer {i} already has {already} pruned weights, more than the {k} of sparsity "
                             f"{sparsity}: sparsity targets must increase")
        score = np.where(m, np.abs(w), -1.0).ravel()          # pruned weights rank below everything
        order = np.argsort(score, kind="stable")
        new = np.ones(w.size, dtype=bool)
        new[order[:k]] = False
        out.append(new.reshape(w.shape))
    return out


def prune_network(weights: Sequence[np.ndarray], biases: Sequence[np.ndarray], wmasks: Sequence[np.ndarray],
                  bmasks: Sequence[np.ndarray], sparsity: float, bias_pruning: str = "original"
                  ) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Prune one network: weight masks by :func:`prune_layerwise`, bias masks by ``bias_pruning`` (module doc).

    ``biases[i]``, ``bmasks[i]``: (n_{i+1},). Returns (weight masks, bias masks), bool.
    """
    check_bias_pruning(bias_pruning)
    new_w = prune_layerwise(weights, wmasks, sparsity)
    new_b = []
    for w, b, mw, mb in zip(weights, biases, new_w, bmasks):
        mb = np.asarray(mb, dtype=bool)
        if bias_pruning == "corrected":
            new_b.append(mb.copy())
            continue
        pruned = np.abs(np.asarray(w, dtype=np.float64))[~mw]
        cutoff = pruned.max() if pruned.size else -np.inf
        new_b.append(mb & (np.abs(np.asarray(b, dtype=np.float64)) > cutoff))
    return new_w, new_b


def prune_ensemble(ens: ens_mod.Ensemble, sparsity: float, bias_pruning: str = "original") -> None:
    """Prune every network of ``ens`` in place to ``sparsity`` (masks, weights and Adam moments)."""
    wm_new = [np.empty(w.shape, dtype=bool) for w in ens.weights]
    bm_new = [np.empty(b.shape, dtype=bool) for b in ens.biases]
    for e in range(ens.n_networks):
        w = [t[e].cpu().numpy() for t in ens.weights]
        b = [t[e, 0].cpu().numpy() for t in ens.biases]
        mw = [t[e].cpu().numpy() > 0 for t in ens.wmasks]
        mb = [t[e, 0].cpu().numpy() > 0 for t in ens.bmasks]
        nw, nb = prune_network(w, b, mw, mb, sparsity, bias_pruning)
        for i in range(len(w)):
            wm_new[i][e] = nw[i]
            bm_new[i][e, 0] = nb[i]
    ens_mod.set_masks(ens, [torch.from_numpy(m) for m in wm_new], [torch.from_numpy(m) for m in bm_new])


def exchange_layout(wmask: np.ndarray, bmask: np.ndarray) -> np.ndarray:
    """SPEC §5 layout of one layer: (n_i + 1, n_{i+1}) bool, last row = bias mask."""
    return np.concatenate([np.asarray(wmask, dtype=bool), np.asarray(bmask, dtype=bool).reshape(1, -1)], axis=0)


# ------------------------------------------------------------------------------------------- the loop

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
    """Write a resume point atomically: ``content`` (nested dicts and lists of tensors, numpy arrays and plain
    numbers) with every numpy array stored as a tensor."""
    pipeline.atomic_write(path, lambda tmp: torch.save(_tensors(dict(content)), tmp))


def load_checkpoint(path: Path) -> dict[str, Any]:
    """Read a resume point without unpickling code (``torch.load(weights_only=True)``): the ``ensemble`` state
    as tensors, the run's ``record`` with numpy arrays again. A corrupt file raises
    :class:`helpers.pipeline.ArtifactError` naming it."""
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
                provenance: Mapping[str, Any] | None = None) -> Snapshot:
    """Run (or resume) the iterative pruning loop in ``directory`` and return the summary of :func:`load_states`.

    ``data``: ``x_train, y_train, x_val, y_val, x_test, y_test`` (scaled float32). ``seeds``: one per network.
    ``max_batches``: per-round cap; ``max_batches_dense``: cap of the dense round (default ``max_batches``).
    ``stopping``: early stopping of the pruning rounds, ``"group"`` (one decision on the networks' mean
    validation loss, the original's) or ``"network"`` (see :func:`helpers.ensemble.train_round`); the dense round
    runs to its cap. ``n_eval``: every saved state is evaluated on the first ``n_eval`` rows of the validation and
    the test split (``None``: all of them) and on the original's training slice (:func:`train_slice`).
    A checkpoint is written atomically after every round; a call on a directory holding one resumes after
    the last completed round and gives bit-for-bit the result of an uninterrupted run (on the CPU).
    ``on_round(r)`` is called after round r is checkpointed (tests use it to simulate an interruption);
    ``log(line)``, if given, receives one line per finished round (batches, losses, seconds) and one every
    5000 batches.
    ``rounds``: stop (checkpointed, resumable) once that many rounds are done and return the partial summary
    of those rounds (e.g. ``rounds=1``: the dense network only); ``None`` runs to the end.
    ``dense_from``: the directory of another run whose first networks have the same seeds and whose dense round
    saw the same data and cap; its dense networks (``dense.pt``, written after round 0 of every run) are taken
    instead of training round 0 again. Every run saves ``dense.pt`` for this purpose.
    """
    schedule = check_schedule(schedule)
    check_bias_pruning(bias_pruning)
    check_threshold(threshold)
    if ens_mod.check_stopping(stopping) is None:
        raise ValueError("parameter 'stopping' must be 'group' or 'network' for a pruning run")
    dev = ens_mod.check_device(device)
    if max_batches_dense is None:
        max_batches_dense = max_batches
    for name, value in (("max_batches", max_batches), ("max_batches_dense", max_batches_dense)):
        if not isinstance(value, (int, np.integer)) or value < 1:
            raise ValueError(f"parameter {name!r} = {value!r} is invalid: it must be an int ≥ 1")
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
        rec = ckpt["record"]
        start = ckpt["rounds_done"]
    else:
        ens = ens_mod.init_ensemble(seeds, str(dev), layers)
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
                                  max_batches=cap, stopping=stopping if r > 0 else None, progress=tick)
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
                      max_batches_dense=int(max_batches_dense), schedule=list(schedule))
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


# ---------------------------------------------------------------------------------------------- loading

def load_states(where: Path | Mapping[str, Any], threshold: float | None = None) -> Snapshot:
    """The :class:`helpers.snapshot.Snapshot` of a finished run: a directory, or resolved params (then
    ``threshold`` defaults to theirs). ``FileNotFoundError`` if the run has not finished."""
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


def exchange_masks(states: Snapshot, network: int, state: int) -> list[np.ndarray]:
    """The exchange-layout masks of one network at one saved state (:meth:`Snapshot.masks`)."""
    return states.masks(network, state)


def network_weights(states: Snapshot, network: int, state: int) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Weights (n_i, n_{i+1}) and biases (n_{i+1},) of one network at one saved state, float32, pruned entries
    exactly 0 — ``y = tanh(x @ W + b)`` layer by layer (linear last layer) reproduces the network."""
    full = states.weights(network, state)
    if full is None:
        raise ValueError(f"network {network} at state {state} has no stored weights")
    return [f[:-1].copy() for f in full], [f[-1].copy() for f in full]


def state_weights(states: Snapshot, state: int) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Weights ``W{i}`` (E, n_i, n_{i+1}) and biases ``b{i}`` (E, n_{i+1}) of every network at a saved state."""
    per = [network_weights(states, k, state) for k in range(states.n_networks)]
    n = len(per[0][0])
    return [np.stack([p[0][i] for p in per]) for i in range(n)], [np.stack([p[1][i] for p in per]) for i in range(n)]


def ensemble_at(states: Snapshot, state: int | np.ndarray) -> ens_mod.Ensemble:
    """An :class:`~helpers.ensemble.Ensemble` (CPU) holding every network at saved state ``state``; ``state`` may
    be an (E,) array giving each network its own state (e.g. ``states["optimal"]``; −1 is not allowed)."""
    idx = np.broadcast_to(np.asarray(state), (states.n_networks,))
    if (idx < 0).any():
        raise ValueError("state −1 (dropped network) has no weights; select the kept networks first")
    return states.ensemble(range(states.n_networks), idx)


#: Sparsity of the fallback focus state: the optimum the original's networks reached most often.
FALLBACK_SPARSITY = 0.93


def focus_states(states: Mapping[str, np.ndarray]) -> tuple[dict[int, int], str]:
    """The saved state to analyse "at the optimum", per network, and a phrase naming the rule that chose it.

    ``states``: needs ``sparsity`` (S,) and ``optimal`` (E,) (−1 = dropped). If any network has an optimally
    sparse state, every kept network maps to its own (dropped networks are left out); otherwise every network
    maps to the saved state nearest :data:`FALLBACK_SPARSITY`. Returns ({network: state index}, description),
    e.g. ``({0: 12, 1: 12}, "the 93% state (the original's most common optimum)")``.
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
    """The saved state at which a single-network chapter shows ``network``: its own optimally sparse state, or,
    if it has none, the state :func:`focus_states` falls back to. Returns (state index, why, as a phrase).
    ``ValueError`` naming the parameter if the ensemble has no such network."""
    n = len(states["optimal"])
    if isinstance(network, bool) or not isinstance(network, (int, np.integer)) or not 0 <= network < n:
        raise ValueError(f"parameter 'network' = {network!r} is invalid: it must be an integer in [0, {n - 1}] "
                         f"(the ensemble analysed has {n} networks)")
    focus, rule = focus_states({"sparsity": states["sparsity"], "optimal": states["optimal"][[network]]})
    if states["optimal"][network] >= 0:
        return focus[0], f"its optimally sparse state (the most pruned with validation loss <= {threshold:g})"
    return focus[0], f"none of its saved states has validation loss <= {threshold:g}, so it is shown at {rule}"


# -------------------------------------------------------------------------------------------- pipeline

def key_params(params: Mapping[str, Any]) -> dict[str, Any]:
    """The subset of resolved params that determines the run; a parameter that a chapter does not take
    (e.g. ``stopping``) has its preset's value."""
    out = {k: pipeline.value(params, k) for k in KEY_PARAMS}
    out["schedule"] = list(out["schedule"])
    return out


def artifact_path(params: Mapping[str, Any], dense_from: Path | None = None) -> Path:
    """Where the run of ``params`` lives; a run that took its dense round from the run in ``dense_from`` (see
    :func:`run_or_load`) is keyed by that run too."""
    key = key_params(params)
    if dense_from is not None:
        key["dense_from"] = Path(dense_from).name
    return pipeline.artifact_dir("pruning", key)


#: The parameters that determine the dense round (round 0) of a run, besides the networks' seeds.
DENSE_ROUND_PARAMS = ("seed", "n_trajectories", "data_seed", "device", "max_batches_dense")


def validate(params: Mapping[str, Any]) -> None:
    """Check the run's parameters again (beyond :func:`pipeline.resolve`), naming the bad one."""
    if params["n_networks"] < 1:
        raise ValueError(f"parameter 'n_networks' = {params['n_networks']!r} is invalid: it must be ≥ 1")
    check_schedule(params["schedule"])
    check_threshold(params["threshold"])
    check_bias_pruning(params["bias_pruning"])
    ens_mod.check_device(params["device"])


def run_or_load(params: Mapping[str, Any], progress: bool = False, rounds: int | None = None,
                dense_from: Mapping[str, Any] | None = None) -> Snapshot:
    """The pruning run for resolved ``params`` (seed, n_networks, n_trajectories, data_seed, schedule,
    bias_pruning, device, max_batches, max_batches_dense, threshold): load it if finished, else train — resuming
    from the last checkpoint — and return :func:`load_states`. ``rounds``: only make sure that many rounds are
    done and return their partial summary (``rounds=1``: the trained dense ensemble); a later call resumes.

    ``dense_from``: the params of another run (e.g. the same networks with the other bias-pruning mode) whose
    dense round this run shares: its first ``n_networks`` dense networks are taken (that run's dense round is
    trained first if needed) and only the pruning rounds are trained. The two runs must agree on
    :data:`DENSE_ROUND_PARAMS` and this run may not have more networks."""
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


def analysed(params: Mapping[str, Any], progress: bool = False) -> Snapshot:
    """The ensemble the analysis chapters read (``ensemble_source``): the first ``n_analysed`` networks of the
    shipped reference ensemble (:func:`helpers.snapshot.load`), or the run of ``params`` (:func:`run_or_load`).
    Optima are selected at ``params["threshold"]``."""
    if pipeline.value(params, "ensemble_source") == "reference":
        snap = snapshot.load("reference", params["threshold"])
        return snap.select(range(min(int(pipeline.value(params, "n_analysed")), snap.n_networks)))
    return run_or_load(params, progress=progress)


def analysed_data(params: Mapping[str, Any], split: str, n_rows: int):
    """The data of the ensemble :func:`analysed` returns, as a :class:`helpers.data.Dataset` holding at least the
    first ``n_rows`` rows of ``split``: for the reference ensemble regenerated (only those rows) and scaled with
    its shipped scaler; for a live run its whole data set."""
    from helpers import data as data_mod

    if pipeline.value(params, "ensemble_source") == "reference":
        snap = snapshot.load("reference")
        run = snap.provenance["params"]
        return data_mod.subset(run["n_trajectories"], run["data_seed"], split, n_rows, snap.scaler)
    return data_mod.load_or_build(params["n_trajectories"], params["data_seed"])


def analysed_key(params: Mapping[str, Any]) -> dict[str, Any]:
    """What determines :func:`analysed`'s ensemble: the reference data set's manifest checksum and the networks
    taken from it, or the live run's :func:`key_params`."""
    if pipeline.value(params, "ensemble_source") == "reference":
        manifest = snapshot.resolve_path("reference") / snapshot.MANIFEST
        digest = pipeline.sha256(manifest) if manifest.is_file() else None
        return {"ensemble_source": "reference", "manifest": digest, "n_analysed": int(pipeline.value(params, "n_analysed"))}
    return key_params(params)


def _build(params: Mapping[str, Any], directory: Path, progress: bool, rounds: int | None,
           dense_from: Path | None = None) -> Snapshot:
    if snapshot.is_snapshot(directory):                      # built by another process while we waited
        return load_states(directory, params["threshold"])
    return train_in(params, directory, progress=progress, rounds=rounds, dense_from=dense_from)


def train_in(params: Mapping[str, Any], directory: Path, progress: bool = False, rounds: int | None = None,
             dense_from: Path | None = None, log: Callable[[str], None] | None = None) -> Snapshot:
    """Train (or resume) the run of resolved ``params`` in ``directory``: load or build its data set, derive the
    networks' seeds, record ``run.json`` and call :func:`run_pruning` (``progress``, ``rounds``, ``dense_from``,
    ``log`` as there). The caller holds the folder's lock."""
    from helpers import data as data_mod

    ds = data_mod.load_or_build(params["n_trajectories"], params["data_seed"], progress=progress)
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
                       provenance=kp, log=log)
