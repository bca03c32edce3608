"""Weights at every saved state, re-derived: the pruning rounds replayed under the stored masks.

The shipped reference ensemble stores the masks and losses of every network at every saved state, but weights
only where the book needed them when it was trained (every state of network 0; the dense, optimally sparse and
93 % states of the others, :func:`helpers.snapshot.shipped_pairs`). What a network *does* at the other states
(its closed-loop flights, its units' statistics) needs weights. They are re-derived here by replaying the
pruning run's rounds:

- every network starts from its stored dense weights (state 0), with fresh Adam moments;
- round s (s = 1, …, S − 1) installs the stored mask of state s (:func:`helpers.ensemble.set_masks`: the pruned
  weights and their moments are set to 0) and trains exactly as many batches as the run's round s did
  (``batches[k, s]``), on the same training rows in the same order, without early stopping and without the
  validation mini-batches that rode along in the run (the round lengths are known, so no stopping rule reads them;
  leaving them out saves about a quarter of each step's products, :func:`helpers.ensemble.train_round`): the
  replay's training curve is recorded per batch, its validation curve is NaN;
- a round starts from the *stored* weights of state s − 1 where those are stored, and from the re-derived ones
  otherwise; the Adam moments always carry over from the replay (the run's moments were not stored).

The re-derived weights are **not bit-identical** to what the run had: the dense round's Adam moments are not
stored, and a round that starts from stored weights meets moments of the replay, not of the run. How close they
come is measured where both exist (network 0 at every state, each round replayed from its stored start; the other
networks at their stored sparse states, after a chain of replayed rounds): validation loss and relative weight
difference, in the data set's summary (``stored_val_loss``) and the chapters that use it.

The replay at the reference scale is a command (``python -m helpers.rederive train`` / ``export``, README): rounds
are checkpointed (resumable at round granularity) and the result is exported as a snapshot (:mod:`helpers.snapshot`)
with the reference's masks and seeds, the replay's losses and curves, and the re-derived weights of every state
that the reference does not store (``data/rederived/``). :func:`complete` joins the two: the reference ensemble with
weights at every state, stored where stored, re-derived elsewhere.
"""
from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from helpers import ensemble as ens_mod
from helpers import commands, pipeline, snapshot
from helpers import run as run_mod
from helpers.checks import Spec
from helpers.snapshot import Snapshot

#: Files of a replay's working folder: each finished round, and the checkpoint to resume from.
STATE_FILE = "round-{:02d}.npz"
CHECKPOINT = "replay.pt"


def check_budgets(snap: Snapshot, networks: Sequence[int]) -> np.ndarray:
    """The batches each replayed round trains: the run's round lengths, one per state, shared by ``networks``.

    Parameters
    ----------
    snap : Snapshot
        The ensemble (its ``batches`` (N, S)).
    networks : sequence of int
        The networks replayed together (non-empty, each < N).

    Returns
    -------
    ndarray, int64 (S,)
        Batches of round s (entry 0, the dense round, is not replayed).

    Raises
    ------
    ValueError
        Naming ``networks`` if it is empty, out of range, or mixes networks whose rounds had different lengths (they
        are replayed as one ensemble, so they must share their rounds' lengths, as a group with one stopping rule
        does).
    """
    networks = [int(k) for k in networks]
    if not networks or min(networks) < 0 or max(networks) >= snap.n_networks:
        raise ValueError(f"parameter 'networks' must name networks 0…{snap.n_networks - 1}, got {networks}")
    batches = np.asarray(snap.batches)[networks]
    if np.any(batches != batches[:1]):
        raise ValueError("parameter 'networks' mixes networks whose rounds had different lengths; replay each "
                         "group separately")
    return batches[0].astype(np.int64)


def _install(ens: ens_mod.Ensemble, e: int, weights: Sequence[np.ndarray]) -> None:
    """Put network ``e``'s exchange-layout ``weights`` into the ensemble (masks and moments untouched)."""
    with torch.no_grad():
        for w, b, full in zip(ens.weights, ens.biases, weights):
            w[e].copy_(torch.from_numpy(np.ascontiguousarray(full[:-1], dtype=np.float32)))
            b[e, 0].copy_(torch.from_numpy(np.ascontiguousarray(full[-1], dtype=np.float32)))


def replay(snap: Snapshot, networks: Sequence[int], data: Mapping[str, np.ndarray], n_eval: int | None = None,
           work: Path | None = None, log: Callable[[str], None] | None = None,
           rounds: int | None = None, cap: int | None = None) -> dict[str, Any]:
    """Replay the pruning rounds of ``networks`` under the stored masks (module docstring).

    Parameters
    ----------
    snap : Snapshot
        The ensemble; every replayed network needs its dense weights stored.
    networks : sequence of int
        The networks replayed together (:func:`check_budgets`).
    data : mapping of str to ndarray
        Scaled ``x_train``, ``y_train``, ``x_val``, ``y_val``, ``x_test``, ``y_test`` (float32, (n, 10) / (n, 7)):
        the rows the ensemble was trained on, in order.
    n_eval : int, optional
        Rows of the validation and test losses of each state (``None``: all).
    work : pathlib.Path, optional
        A folder where each finished round is saved atomically (``round-SS.npz``) with a checkpoint of the replay;
        a call on a folder holding some resumes after the last one. ``None``: in memory.
    log : callable, optional
        Receives a line per finished round.
    rounds : int, optional
        Replay only the first ``rounds`` pruning rounds (states 1…rounds); ``None``: all S − 1.
    cap : int, optional
        Train at most this many batches per round (≥ 1; a test's or a small preset's shortened replay); ``None``:
        each round as long as the run's.

    Returns
    -------
    dict
        ``networks`` (E,) int64; ``weights`` {(k, s): exchange-layout list} for every replayed network and state
        s ≥ 1; ``val_loss``, ``test_loss`` (E, S) float64 (NaN at state 0 and past ``rounds``); ``curve_train``
        (E, T) float32 per batch, the rounds one after another, and ``curve_val`` (E, T) NaN (round s spans the run's
        ``round_start`` offsets minus the dense round's length); ``seconds`` (S,) per round; ``started_from``
        (E, S) bool, whether round s started from stored weights of state s − 1.

    Raises
    ------
    ValueError
        Naming ``networks``, ``rounds`` or ``cap`` if invalid, or if a network's dense weights are not stored, before
        any training.
    """
    budgets = check_budgets(snap, networks)
    if cap is not None:
        budgets = np.minimum(budgets, Spec(int, 1, None).check("cap", cap))
    networks = [int(k) for k in networks]
    n_states = snap.n_states
    last = n_states - 1 if rounds is None else int(rounds)
    if not 1 <= last <= n_states - 1:
        raise ValueError(f"parameter 'rounds' must be in 1…{n_states - 1}, got {rounds}")
    stored = set(snap.stored_pairs())
    missing = [k for k in networks if (k, 0) not in stored]
    if missing:
        raise ValueError(f"parameter 'networks': networks {missing} have no stored dense weights to start from")
    e_n = len(networks)
    out = _empty_result(networks, n_states)
    curves_val: list[np.ndarray] = []
    curves_train: list[np.ndarray] = []
    ens = ens_mod.from_exchange([snap.weights(k, 0) for k in networks], [snap.masks(k, 0) for k in networks])
    start = 1
    if work is not None:
        work = Path(work)
        work.mkdir(parents=True, exist_ok=True)
        ckpt_path = work / CHECKPOINT
        if ckpt_path.exists():
            ckpt = run_mod.load_checkpoint(ckpt_path)
            if [int(k) for k in ckpt["networks"]] != networks:
                raise ValueError(f"{work} holds a replay of networks {ckpt['networks']}, not {networks}")
            ens = ens_mod.Ensemble.from_state_dict(ckpt["ensemble"])
            start = int(ckpt["rounds_done"]) + 1
            for s in range(1, start):
                _absorb(out, pipeline.load_npz(work / STATE_FILE.format(s)), s, curves_val, curves_train)
    rows = slice(0, n_eval)
    for s in range(start, last + 1):
        t0 = time.perf_counter()
        for e, k in enumerate(networks):
            if (k, s - 1) in stored:
                _install(ens, e, snap.weights(k, s - 1))
                out["started_from"][e, s] = True
        wm = [np.stack([snap.masks(k, s)[i] for k in networks]) for i in range(len(snap.layers) - 1)]
        ens_mod.set_masks(ens, [torch.from_numpy(m[:, :-1]) for m in wm],
                          [torch.from_numpy(m[:, -1:]) for m in wm])
        res = ens_mod.train_round(ens, data["x_train"], data["y_train"], data["x_val"], data["y_val"],
                                  max_batches=int(budgets[s]), stopping=None, validation=None)
        part = dict(val_loss=np.asarray(ens_mod.mse(ens, data["x_val"][rows], data["y_val"][rows]), np.float64),
                    test_loss=np.asarray(ens_mod.mse(ens, data["x_test"][rows], data["y_test"][rows]), np.float64),
                    curve_val=res.val_loss.astype(np.float32), curve_train=res.train_loss.astype(np.float32),
                    started_from=out["started_from"][:, s], seconds=np.array(time.perf_counter() - t0))
        for i in range(len(snap.layers) - 1):
            part[f"W{i}"] = np.stack([ens_mod.to_exchange(ens, e)[i] for e in range(e_n)])
        _absorb(out, part, s, curves_val, curves_train)
        if work is not None:
            pipeline.save_npz(work / STATE_FILE.format(s), **part)
            run_mod.save_checkpoint(work / CHECKPOINT, dict(ensemble=ens.state_dict(), rounds_done=s,
                                                            networks=networks))
        if log is not None:
            log(f"round {s} ({100 * snap.sparsities[s]:.0f} %): {int(budgets[s])} batches, validation MSE median "
                f"{np.median(part['val_loss']):.3g} (stored {np.median(snap.val_loss[networks, s]):.3g}), "
                f"{float(part['seconds']):.0f} s")
    out["curve_val"] = np.concatenate(curves_val, axis=1)
    out["curve_train"] = np.concatenate(curves_train, axis=1)
    return out


def _empty_result(networks: Sequence[int], n_states: int) -> dict[str, Any]:
    """The result of :func:`replay` before any round: no weights, NaN losses, no time, no round started."""
    e_n = len(networks)
    return dict(networks=np.asarray(networks, dtype=np.int64), weights={}, val_loss=np.full((e_n, n_states), np.nan),
                test_loss=np.full((e_n, n_states), np.nan), seconds=np.zeros(n_states),
                started_from=np.zeros((e_n, n_states), dtype=bool))


def _absorb(out: dict[str, Any], part: Mapping[str, np.ndarray], s: int, curves_val: list, curves_train: list
            ) -> None:
    """Add one finished round's arrays (what ``round-SS.npz`` holds) to the result of :func:`replay`."""
    for name in ("val_loss", "test_loss"):
        out[name][:, s] = part[name]
    out["started_from"][:, s] = part["started_from"]
    out["seconds"][s] = float(part["seconds"])
    curves_val.append(np.asarray(part["curve_val"]))
    curves_train.append(np.asarray(part["curve_train"]))
    n_layers = sum(1 for key in part if key.startswith("W"))
    for e, k in enumerate(out["networks"]):
        out["weights"][(int(k), s)] = [np.asarray(part[f"W{i}"][e]) for i in range(n_layers)]


# ----------------------------------------------------------------------- the replay at the reference scale

def train(work: Path, source: str = "reference", threads: int = 1) -> Path:
    """Replay every pruning round of every network of the shipped ensemble ``source`` in ``work`` (resumable).

    ``training.json`` records the settings, commit, machine and every session's threads and wall time; one line is
    logged per round.

    Parameters
    ----------
    work : pathlib.Path
        The working folder (created if needed).
    source : str
        A shipped ensemble (:data:`helpers.snapshot.ENSEMBLES`) of one group.
    threads : int
        Torch's CPU threads.

    Returns
    -------
    pathlib.Path
        ``work``.

    Raises
    ------
    ValueError
        If ``source`` is not a shipped ensemble, its networks do not share their rounds' lengths, or ``work`` holds
        a replay of other settings.
    """
    if source not in snapshot.ENSEMBLES:
        raise ValueError(f"parameter 'source' must be one of {snapshot.ENSEMBLES}, got {source!r}")
    snap = snapshot.load(source)
    networks = list(range(snap.n_networks))
    check_budgets(snap, networks)
    torch.set_num_threads(int(threads))
    params = snap.provenance["params"]
    settings = dict(source=source, manifest=pipeline.sha256(snapshot.resolve_path(source) / snapshot.MANIFEST),
                    n_eval=int(params["n_eval"]))
    log = run_mod.log
    with run_mod.training_session(work, "settings", settings, dict(code=pipeline.code_version("rederive"))):
        data = commands.training_rows(snap, threads)
        log(f"data ready; replaying {snap.n_states - 1} rounds of {len(networks)} networks")
        replay(snap, networks, data, settings["n_eval"], work=work, log=log)
    log("done")
    return work


def export(work: Path, out: Path) -> Path:
    """Write the finished replay in ``work`` as a snapshot in ``out`` (atomically, sealed).

    The snapshot has the source ensemble's networks, states, masks, seeds, groups and scaler; its losses are the
    replay's at states 1…S − 1 (the source's at state 0, which is not replayed), its curves the replay's rounds
    (``round_start`` with an empty dense round), and it stores the weights of every state s ≥ 1 of every network
    whose weights the source does not store at some state (the others' replay is summarised by its losses only).
    Summary arrays beyond the format's: ``started_from`` (N, S) bool, whether round s started from stored weights.

    Parameters
    ----------
    work : pathlib.Path
        The working folder of :func:`train`.
    out : pathlib.Path
        Where the snapshot is written.

    Returns
    -------
    pathlib.Path
        ``out``.

    Raises
    ------
    FileNotFoundError
        If a round of the replay is not finished.
    """
    work = Path(work)
    prov = json.loads((work / snapshot.TRAINING).read_text())
    source = snapshot.load(prov["settings"]["source"])
    n_states = source.n_states
    missing = [s for s in range(1, n_states) if not (work / STATE_FILE.format(s)).exists()]
    if missing:
        raise FileNotFoundError(f"{work}: rounds {missing} of the replay have not finished; run the train command "
                                "again")
    networks = list(range(source.n_networks))
    out_arrays = _empty_result(networks, n_states)
    curves_val: list[np.ndarray] = []
    curves_train: list[np.ndarray] = []
    for s in range(1, n_states):
        _absorb(out_arrays, pipeline.load_npz(work / STATE_FILE.format(s)), s, curves_val, curves_train)
    summary, weights = _summary(source, out_arrays, curves_val, curves_train)
    provenance = dict(params=dict(source.params), experiment="rederive", seeds=[int(v) for v in source.seeds],
                      source=prov["settings"]["source"], training=prov,
                      exported=time.strftime("%Y-%m-%dT%H:%M:%S%z"))
    return snapshot.write(out, summary, weights, provenance)


def _summary(source: Snapshot, replayed: Mapping[str, Any], curves_val: Sequence[np.ndarray],
             curves_train: Sequence[np.ndarray]) -> tuple[dict[str, np.ndarray], dict]:
    """Summary arrays and weights of the snapshot of a finished replay (:func:`export`)."""
    stored = set(source.stored_pairs())
    partial = [k for k in range(source.n_networks) if any((k, s) not in stored for s in range(source.n_states))]
    lengths = [0, 0] + [c.shape[1] for c in curves_val]
    val_loss = np.array(replayed["val_loss"])
    test_loss = np.array(replayed["test_loss"])
    val_loss[:, 0], test_loss[:, 0] = source.val_loss[:, 0], source.test_loss[:, 0]
    summary = {key: np.asarray(source[key]) for key in ("sparsity", "schedule", "batches", "group", "seeds",
                                                        "layers", "threshold")}
    summary.update({f"mask{i}": np.asarray(source[f"mask{i}"]) for i in range(len(source.layers) - 1)})
    summary.update(source.scaler or {})
    summary.update(val_loss=val_loss, test_loss=test_loss, train_slice_loss=val_loss,
                   seconds=np.asarray(replayed["seconds"])[None], round_start=np.cumsum(lengths)[None],
                   curve_val=np.concatenate(curves_val, axis=1), curve_train=np.concatenate(curves_train, axis=1),
                   started_from=np.asarray(replayed["started_from"]))
    weights = {(k, s): w for (k, s), w in replayed["weights"].items() if k in partial}
    return summary, weights


def complete(ref: Snapshot, rederived: Snapshot | None = None) -> Snapshot:
    """The ensemble ``ref`` with weights at every state: its stored weights where stored, re-derived elsewhere.

    Parameters
    ----------
    ref : Snapshot
        The shipped reference ensemble (or a selection of its first networks, :meth:`Snapshot.select`).
    rederived : Snapshot, optional
        Its replay (default: the shipped ``data/rederived/``).

    Returns
    -------
    Snapshot
        ``ref``'s summary and provenance (losses, optima: the run's), whose :meth:`~Snapshot.weights` give every
        (network, state); ``provenance["rederived"]`` lists the (network, state) pairs whose weights are re-derived.

    Raises
    ------
    ValueError
        If ``rederived`` is not a replay of ``ref``'s networks (other seeds or masks), or it lacks weights that
        ``ref`` does not store.
    """
    if rederived is None:
        rederived = snapshot.load("rederived")
    n = ref.n_networks
    if rederived.n_networks < n or np.any(np.asarray(rederived.seeds[:n]) != np.asarray(ref.seeds)) or any(
            np.any(np.asarray(rederived[f"mask{i}"][:n]) != np.asarray(ref[f"mask{i}"]))
            for i in range(len(ref.layers) - 1)):
        raise ValueError("parameter 'rederived' is not a replay of these networks: its seeds or masks differ")
    stored = set(ref.stored_pairs())
    rederived_pairs = [(k, s) for k in range(n) for s in range(ref.n_states) if (k, s) not in stored]
    available = set(rederived.stored_pairs())
    lacking = [p for p in rederived_pairs if p not in available]
    if lacking:
        raise ValueError(f"parameter 'rederived' lacks the weights of (network, state) {lacking[:5]}")

    def weights(k: int, s: int, masks: list[np.ndarray]) -> list[np.ndarray]:
        return ref.weights(k, s) if (k, s) in stored else rederived.weights(k, s)

    return ref.with_weights(weights, dict(ref.provenance, rederived=[list(p) for p in rederived_pairs]))


def main(argv: list[str] | None = None) -> int:
    """Command line: ``train --work DIR [--threads N]`` and ``export --work DIR --out data/rederived``
    (:func:`helpers.commands.main`).

    Parameters
    ----------
    argv : list of str or None
        The arguments (``None``: ``sys.argv[1:]``).

    Returns
    -------
    int
        The exit status, 0.
    """
    return commands.main("python -m helpers.rederive", __doc__.splitlines()[0], train, export, argv)


if __name__ == "__main__":
    sys.exit(main())
