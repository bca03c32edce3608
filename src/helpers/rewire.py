"""Rewire and retrain: does a pruned network need its own wiring, only its nodes' degrees, or only its layers' sizes?

Every network k of an ensemble is taken at its optimally sparse state, mask M*_k (cleaned, :func:`helpers.graph.
clean`: edges that cannot reach an output or that no input or bias can feed are dropped, which changes no output).
It is then trained, with the mask held fixed, under each *wiring* (:data:`WIRINGS`):

``own``
    M*_k itself.
``degree``
    M*_k rewired by the degree-preserving null (:func:`helpers.nulls.sample_null`, model ``"degree"``): every
    node keeps its in- and out-degree, bias rows included, the edges go elsewhere.
``layer``
    A mask of the original's null (model ``"paper"``): each layer keeps its live nodes and its weighted and bias
    edge counts, the edges are placed at random.
``reinit``
    M*_k with freshly drawn initial weights (``init`` start only): separates the wiring from the initial values.

from one of two *starts* (:data:`STARTS`):

``dense``
    the network's trained dense weights (state 0) restricted to the mask: retraining, the setting of the pruning
    rounds themselves;
``init``
    the network's initial weights, regenerated from its seed (:func:`helpers.ensemble.init_ensemble`), restricted
    to the mask: the lottery-ticket setting.

A *condition* is (start, wiring, draw); draw d of a random wiring (or of ``reinit``'s weights) has its own seed,
:func:`condition_seed`. Every condition trains all networks together as one ensemble (:func:`train_condition`),
on the same training batches in the same order (from the first row of the training split, as every round of the
pruning run), for the same budget of its start, without early stopping; every ``eval_every`` batches the loss on
the first ``n_curve`` validation rows is recorded. The final state is evaluated as the pruning run evaluates its
states (first ``n_eval`` rows of the validation and test splits).

The experiment at the reference scale is a command (``python -m helpers.rewire train`` / ``export``, README):
conditions are trained one after another in a working folder, each saved atomically when done (resumable at
condition granularity), and exported as a snapshot (:mod:`helpers.snapshot`) whose networks are the runs, one saved
state each, with the table :attr:`helpers.snapshot.Snapshot.runs`. A chapter at a small preset calls
:func:`train_condition` directly.
"""
from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from helpers import ensemble as ens_mod
from helpers import commands, graph, nulls, pipeline, snapshot
from helpers import run as run_mod
from helpers.checks import Spec
from helpers.snapshot import Snapshot

WIRINGS = ("own", "degree", "layer", "reinit")
STARTS = ("dense", "init")
#: Which null model of :mod:`helpers.nulls` draws each random wiring.
NULL_OF = {"degree": "degree", "layer": "paper"}
#: How the book names each wiring and start.
LABELS = {"own": "own wiring", "degree": "degree-preserving rewiring", "layer": "layer-preserving rewiring",
          "reinit": "own wiring, new initial weights", "dense": "from the trained dense weights",
          "init": "from the initial weights"}
#: Columns of the run table (:func:`run_table`).
RUN_COLUMNS = ("network", "start", "wiring", "draw")


@dataclass(frozen=True)
class Condition:
    """One cell of the design: a start (:data:`STARTS`), a wiring (:data:`WIRINGS`) and a draw (≥ 0)."""

    start: str
    wiring: str
    draw: int = 0

    def __post_init__(self):
        check_condition(self.start, self.wiring, self.draw)


def check_condition(start: str, wiring: str, draw: int = 0) -> None:
    """Refuse an unknown start or wiring, ``reinit`` from the dense weights, or a negative draw, naming it.

    Parameters
    ----------
    start : str
        One of :data:`STARTS`.
    wiring : str
        One of :data:`WIRINGS`; ``reinit`` only with start ``init``.
    draw : int
        The draw of a random wiring, ≥ 0.

    Raises
    ------
    ValueError
        Naming the parameter ``start``, ``wiring`` or ``draw``.
    """
    Spec(str, choices=STARTS).check("start", start)
    Spec(str, choices=WIRINGS).check("wiring", wiring)
    Spec(int, 0, None).check("draw", draw)
    if wiring == "reinit" and start != "init":
        raise ValueError("parameter 'wiring' = 'reinit' (new initial weights) needs start 'init', got "
                         f"start {start!r}")


def design(draws: int = 2) -> list[Condition]:
    """Every condition of the experiment, in the order they are trained (one draw of each first).

    Parameters
    ----------
    draws : int
        Draws of each random wiring (``degree``, ``layer``), ≥ 1; ``own`` and ``reinit`` have one.

    Returns
    -------
    list of Condition
        ``dense``: own, degree, layer; ``init``: own, reinit, degree, layer; then the further draws.
    """
    draws = Spec(int, 1, None).check("draws", draws)
    first = [Condition("dense", "own"), Condition("dense", "degree"), Condition("dense", "layer"),
             Condition("init", "own"), Condition("init", "reinit"), Condition("init", "degree"),
             Condition("init", "layer")]
    more = [Condition(start, wiring, d) for d in range(1, draws) for start in STARTS for wiring in ("degree", "layer")]
    return first + more


def condition_seed(network_seed: int, condition: Condition) -> int:
    """The seed of a condition's random draw for one network: the rewiring's, or ``reinit``'s initial weights'.

    Parameters
    ----------
    network_seed : int
        The network's own seed (its initial weights'), in [0, 2**32 − 1].
    condition : Condition
        The condition.

    Returns
    -------
    int
        ``SeedSequence([network_seed, wiring index, draw])``'s first uint32 word: distinct streams per network,
        wiring and draw, none equal to the network's own stream. The start does not enter: draw d of a wiring is
        the same mask from either start, so that the start is all that differs between them.
    """
    seq = np.random.SeedSequence([int(network_seed), WIRINGS.index(condition.wiring), int(condition.draw)])
    return int(seq.generate_state(1, dtype=np.uint32)[0])


def optimum_of(snap: Snapshot, k: int) -> int:
    """Network ``k``'s optimally sparse state, refused when it has none.

    Parameters
    ----------
    snap : Snapshot
        The ensemble.
    k : int
        Network index.

    Returns
    -------
    int
        The index of network ``k``'s optimally sparse saved state.

    Raises
    ------
    ValueError
        If network ``k`` has no state below the snapshot's loss threshold (no optimum).
    """
    s = int(snap.optimum[k])
    if s < 0:
        raise ValueError(f"network {k} has no optimally sparse state (no pruned state below the loss threshold "
                         f"{snap.threshold:g}); it cannot be rewired")
    return s


def wiring_mask(masks: Sequence[np.ndarray], wiring: str, seed: int) -> list[np.ndarray]:
    """The mask a network is trained under for a wiring.

    Parameters
    ----------
    masks : list of ndarray, bool (n_i + 1, n_{i+1})
        The network's optimally sparse mask M* (exchange layout, bias row last).
    wiring : {"own", "degree", "layer", "reinit"}
        One of :data:`WIRINGS`.
    seed : int
        Seed of the null draw (``degree``, ``layer``).

    Returns
    -------
    list of ndarray, bool (n_i + 1, n_{i+1})
        ``own`` and ``reinit``: the cleaned M*; ``degree`` / ``layer``: one sample of the null model of
        :data:`NULL_OF`, drawn from the cleaned M*.
    """
    Spec(str, choices=WIRINGS).check("wiring", wiring)
    if wiring in NULL_OF:
        return nulls.sample_null(masks, 1, NULL_OF[wiring], seed=seed)[0]
    return graph.clean(masks)


def initial_weights(seed: int, layers: Sequence[int] = ens_mod.LAYERS) -> list[np.ndarray]:
    """A network's initial weights (:func:`helpers.ensemble.init_ensemble`), in the exchange layout.

    Parameters
    ----------
    seed : int
        The network's recorded seed.
    layers : sequence of int
        Layer widths.

    Returns
    -------
    list of ndarray, float32 (n_i + 1, n_{i+1})
        N(0, 0.2²) weights drawn from ``seed``, bias row (last) 0.
    """
    ens = ens_mod.init_ensemble([int(seed)], layers=layers)
    return [np.vstack([w[0].numpy(), b[0].numpy()]) for w, b in zip(ens.weights, ens.biases)]


def starting_point(snap: Snapshot, k: int, condition: Condition) -> tuple[list[np.ndarray], list[np.ndarray], int]:
    """Mask and starting weights of network ``k`` under ``condition``.

    Parameters
    ----------
    snap : Snapshot
        The ensemble; network ``k`` needs an optimum and, for the ``dense`` start, stored dense weights.
    k : int
        Network index.
    condition : Condition
        The condition.

    Returns
    -------
    masks : list of ndarray, bool (n_i + 1, n_{i+1})
        The wiring (:func:`wiring_mask`).
    weights : list of ndarray, float32 (n_i + 1, n_{i+1})
        The start's weights, 0 where the mask prunes.
    seed : int
        The seed of the starting weights: the network's own, or ``reinit``'s (:func:`condition_seed`).

    Raises
    ------
    ValueError
        If network ``k`` has no optimum or its dense weights are not stored.
    """
    s = optimum_of(snap, k)
    network_seed = int(snap.seeds[k])
    draw_seed = condition_seed(network_seed, condition)
    masks = wiring_mask(snap.masks(k, s), condition.wiring, draw_seed)
    if condition.start == "dense":
        start = snap.weights(k, 0)
        if start is None:
            raise ValueError(f"network {k}'s dense weights are not stored; the 'dense' start needs them")
        seed = network_seed
    else:
        seed = draw_seed if condition.wiring == "reinit" else network_seed
        start = initial_weights(seed, snap.layers)
    return masks, [np.where(m, w, 0).astype(np.float32) for w, m in zip(start, masks)], seed


def train_condition(snap: Snapshot, networks: Sequence[int], condition: Condition, data: Mapping[str, np.ndarray],
                    budget: int, eval_every: int = 500, n_curve: int = 20_000, n_eval: int | None = None,
                    log: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Train ``networks`` of ``snap`` under ``condition`` for ``budget`` batches, masks fixed.

    Parameters
    ----------
    snap : Snapshot
        The ensemble (each network needs an optimum; ``dense`` needs its dense weights).
    networks : sequence of int
        Which networks (non-empty).
    condition : Condition
        Start, wiring and draw.
    data : mapping of str to ndarray
        Scaled ``x_train``, ``y_train``, ``x_val``, ``y_val``, ``x_test``, ``y_test`` (float32, (n, 10) / (n, 7)),
        the rows the ensemble was trained on, in order.
    budget : int
        Batches of 128 trained, ≥ 1, the same for every network (no early stopping).
    eval_every : int
        Every this many batches (a multiple of 100), the loss on the first ``n_curve`` validation rows is recorded.
    n_curve : int
        Validation rows of those recorded losses.
    n_eval : int, optional
        Rows of the final validation and test losses (``None``: all).
    log : callable, optional
        Receives a line at every recorded loss.

    Returns
    -------
    dict
        ``masks`` and ``weights`` (per network, list of exchange-layout arrays: the trained final weights, pruned
        entries 0), ``seeds`` (E,) the starting weights' seeds, ``start_loss``, ``val_loss``, ``test_loss`` (E,)
        float64 (the start's and the final validation loss, the final test loss), ``curve_val``, ``curve_train``
        (E, budget) float32 per batch, ``eval_batches`` (P,) and ``eval_loss`` (E, P) the recorded losses
        (batch 0 = the start), ``seconds`` (float).

    Raises
    ------
    ValueError
        Naming ``budget``, ``eval_every``, ``n_curve`` or ``networks`` if invalid, or a network without an optimum,
        before any training.
    """
    budget = Spec(int, 1, None).check("budget", budget)
    eval_every = Spec(int, 100, None).check("eval_every", eval_every)
    if eval_every % ens_mod.STOP_EVERY:
        raise ValueError(f"parameter 'eval_every' must be a multiple of {ens_mod.STOP_EVERY}, got {eval_every}")
    n_curve = Spec(int, 1, None).check("n_curve", n_curve)
    networks = [int(k) for k in networks]
    if not networks:
        raise ValueError("parameter 'networks' must name at least one network")
    for k in networks:
        optimum_of(snap, k)
    t0 = time.perf_counter()
    starts = [starting_point(snap, k, condition) for k in networks]
    ens = ens_mod.from_exchange([w for _, w, _ in starts], [m for m, _, _ in starts])
    xc, yc = data["x_val"][:n_curve], data["y_val"][:n_curve]
    points = [ens_mod.mse(ens, xc, yc)]
    batches = [0]

    def record(n: int) -> None:
        if n % eval_every == 0:
            points.append(ens_mod.mse(ens, xc, yc))
            batches.append(n)
            if log is not None:
                log(f"{condition.start}/{condition.wiring}/{condition.draw}: {n} batches, median validation MSE "
                    f"{np.median(points[-1]):.3g}")

    res = ens_mod.train_round(ens, data["x_train"], data["y_train"], data["x_val"], data["y_val"],
                              max_batches=budget, stopping=None, progress=record)
    rows = slice(0, n_eval)
    return dict(masks=[m for m, _, _ in starts], weights=[ens_mod.to_exchange(ens, e) for e in range(len(networks))],
                seeds=np.array([s for _, _, s in starts], dtype=np.uint32),
                start_loss=np.asarray(points[0], dtype=np.float64),
                val_loss=np.asarray(ens_mod.mse(ens, data["x_val"][rows], data["y_val"][rows]), dtype=np.float64),
                test_loss=np.asarray(ens_mod.mse(ens, data["x_test"][rows], data["y_test"][rows]), dtype=np.float64),
                curve_val=res.val_loss.astype(np.float32), curve_train=res.train_loss.astype(np.float32),
                eval_batches=np.asarray(batches, dtype=np.int64),
                eval_loss=np.stack(points, axis=1).astype(np.float64), seconds=time.perf_counter() - t0)


def first_stop(curve: np.ndarray) -> int | None:
    """The batch at which the original's early-stopping rule (:func:`helpers.ensemble.stop_rule`: less than 1 %
    improvement over the last 500 batches, checked every 100 from batch 1100) would have ended a run, or None.

    Parameters
    ----------
    curve : ndarray, float (T,)
        A run's per-batch validation losses (NaN past its budget).

    Returns
    -------
    int or None
        The first n at which the rule fires on ``curve[:n]``; None if it never fires within the finite part.
    """
    curve = np.asarray(curve, dtype=np.float64)
    curve = curve[np.isfinite(curve)]
    for n in range(ens_mod.STOP_START + ens_mod.STOP_EVERY, len(curve) + 1, ens_mod.STOP_EVERY):
        if ens_mod.stop_rule(curve[:n]):
            return n
    return None


# ----------------------------------------------------------------------- the experiment at the reference scale

#: Budgets (batches) of each start at the reference scale, and the other settings of the command (README).
BUDGETS = {"dense": 6_000, "init": 12_000}
DRAWS = 2
EVAL_EVERY = 500


def _condition_file(work: Path, j: int) -> Path:
    return Path(work) / f"condition-{j:02d}.npz"


def _part(c: Condition, out: Mapping[str, Any], networks: Sequence[int], budget: int) -> dict[str, np.ndarray]:
    """The arrays of one finished condition (what ``condition-NN.npz`` holds): its results stacked per layer."""
    arrays = {k: np.asarray(v) for k, v in out.items() if k not in ("masks", "weights", "seconds")}
    for i in range(len(out["weights"][0])):
        arrays[f"W{i}"] = np.stack([w[i] for w in out["weights"]])
        arrays[f"M{i}"] = np.stack([m[i] for m in out["masks"]])
    return dict(arrays, networks=np.asarray(networks, dtype=np.int64), start=np.array(c.start),
                wiring=np.array(c.wiring), draw=np.array(c.draw), budget=np.array(budget),
                seconds=np.array(out["seconds"]))


def _save_condition(path: Path, c: Condition, out: Mapping[str, Any], networks: Sequence[int], budget: int) -> None:
    pipeline.save_npz(path, **_part(c, out, networks, budget))


def run_live(snap: Snapshot, networks: Sequence[int], draws: int, budgets: Mapping[str, int],
             data: Mapping[str, np.ndarray], eval_every: int, n_curve: int, n_eval: int | None = None) -> Snapshot:
    """The whole design on ``networks`` of ``snap``, trained here and returned in memory (a chapter's small preset).

    Parameters
    ----------
    snap : Snapshot
        The ensemble whose networks are rewired.
    networks : sequence of int
        The networks trained (each needs an optimum).
    draws : int
        Draws of each random wiring (:func:`design`).
    budgets : mapping of str to int
        Batches per start (``dense``, ``init``), each ≥ 1.
    data : mapping of str to ndarray
        Scaled rows as for :func:`train_condition`.
    eval_every, n_curve, n_eval : int
        As for :func:`train_condition`.

    Returns
    -------
    Snapshot
        In memory, what :func:`export` would write for the same runs (no provenance of a training session).

    Raises
    ------
    ValueError
        Naming a bad budget, or from :func:`train_condition`.
    """
    parts = []
    for c in design(draws):
        budget = Spec(int, 1, None).check(f"budget of {c.start!r}", budgets[c.start])
        out = train_condition(snap, networks, c, data, budget, eval_every, n_curve, n_eval)
        parts.append(_part(c, out, networks, budget))
    summary, weights, provenance = _assemble(parts, snap, dict(settings=dict(draws=draws, budgets=dict(budgets),
                                                                            eval_every=eval_every, n_curve=n_curve,
                                                                            n_eval=n_eval)))
    return Snapshot(summary, lambda k, s, masks: weights.get((k, s)), provenance, None)


def train(work: Path, source: str = "reference", draws: int = DRAWS, budgets: Mapping[str, int] = BUDGETS,
          threads: int = 1, eval_every: int = EVAL_EVERY) -> Path:
    """Train every condition of :func:`design` on every network of the shipped ensemble ``source``, in ``work``.

    Each finished condition is saved atomically as ``condition-NN.npz`` and skipped when the command runs again
    (resumable at condition granularity); ``training.json`` records the settings, commit, machine and every
    session's threads and wall time. Logs one line per recorded loss.

    Parameters
    ----------
    work : pathlib.Path
        The working folder (created if needed).
    source : str
        A shipped ensemble (:data:`helpers.snapshot.ENSEMBLES`) whose networks are rewired.
    draws : int
        Draws of each random wiring, ≥ 1.
    budgets : mapping
        Batches per start (``dense``, ``init``), each ≥ 1.
    threads : int
        Torch's CPU threads.
    eval_every : int
        Batches between recorded losses.

    Returns
    -------
    pathlib.Path
        ``work``.

    Raises
    ------
    ValueError
        Naming a bad parameter, or if ``work`` holds a run of other settings.
    """
    conditions = design(draws)
    budgets = {s: Spec(int, 1, None).check(f"budget of {s!r}", budgets[s]) for s in STARTS}
    snap = snapshot.load(source)
    networks = list(range(snap.n_networks))
    for k in networks:
        optimum_of(snap, k)
    torch.set_num_threads(int(threads))
    settings = dict(source=source, manifest=pipeline.sha256(snapshot.resolve_path(source) / snapshot.MANIFEST),
                    draws=draws, budgets=budgets, eval_every=eval_every, n_curve=20_000,
                    n_eval=int(snap.provenance["params"]["n_eval"]))
    log = run_mod.log
    with run_mod.training_session(work, "settings", settings, dict(code=pipeline.code_version("rewire"))):
        data = commands.training_rows(snap, threads)
        log(f"data ready; {len(conditions)} conditions × {len(networks)} networks")
        for j, c in enumerate(conditions):
            path = _condition_file(work, j)
            if path.exists():
                continue
            out = train_condition(snap, networks, c, data, budgets[c.start], eval_every, settings["n_curve"],
                                  settings["n_eval"], log=log)
            _save_condition(path, c, out, networks, budgets[c.start])
            log(f"condition {j} ({c.start}/{c.wiring}/{c.draw}) done in {out['seconds']:.0f} s: median validation "
                f"MSE {np.median(out['val_loss']):.3g}")
    log("done")
    return work


def export(work: Path, out: Path) -> Path:
    """Write the finished experiment in ``work`` as a snapshot in ``out`` (one network per run, one state).

    Summary arrays beyond the format's (:mod:`helpers.snapshot`): ``run_network``, ``run_draw`` (N,) int64,
    ``run_start``, ``run_wiring`` (N,) str (:attr:`helpers.snapshot.Snapshot.runs`), ``run_sparsity`` (N,) the
    nominal sparsity of the reference state rewired, ``start_loss`` (N, 1) the validation loss at the start,
    ``eval_batches`` (P,) and ``eval_loss`` (N, P) the recorded validation losses (NaN past a run's budget).
    ``sparsity`` holds the median of ``run_sparsity``; ``group`` is the condition; ``round_start`` (G, 2) and
    ``seconds`` (G, 1) per condition; the curves are per batch, NaN past a condition's budget.

    Parameters
    ----------
    work : pathlib.Path
        The working folder of :func:`train`.
    out : pathlib.Path
        Where the snapshot is written (atomically, sealed).

    Returns
    -------
    pathlib.Path
        ``out``.

    Raises
    ------
    FileNotFoundError
        If a condition of the run's design is not finished.
    """
    work = Path(work)
    prov = json.loads((work / snapshot.TRAINING).read_text())
    conditions = design(prov["settings"]["draws"])
    parts = []
    for j in range(len(conditions)):
        path = _condition_file(work, j)
        if not path.exists():
            raise FileNotFoundError(f"{path} is missing: condition {j} of {len(conditions)} has not finished; run "
                                    "the train command again")
        parts.append(pipeline.load_npz(path))
    summary, weights, provenance = _assemble(parts, snapshot.load(prov["settings"]["source"]), prov)
    return snapshot.write(out, summary, weights, provenance)


def _assemble(parts: Sequence[Mapping[str, np.ndarray]], ref: Snapshot, training: Mapping[str, Any]
              ) -> tuple[dict[str, np.ndarray], dict[tuple[int, int], list[np.ndarray]], dict[str, Any]]:
    """Summary arrays, weights and provenance of the snapshot of finished conditions (:func:`export`)."""
    layers = ref.layers
    longest = max(int(p["budget"]) for p in parts)
    n_points = max(len(p["eval_batches"]) for p in parts)
    rows: dict[str, list] = {k: [] for k in ("run_network", "run_start", "run_wiring", "run_draw", "run_sparsity",
                                               "val_loss", "test_loss", "start_loss", "batches", "seeds", "group",
                                               "curve_val", "curve_train", "eval_loss")}
    masks: list[list[np.ndarray]] = [[] for _ in layers[:-1]]
    weights = {}
    for g, p in enumerate(parts):
        for e, k in enumerate(p["networks"]):
            n = len(rows["run_network"])
            rows["run_network"].append(int(k))
            rows["run_start"].append(str(p["start"]))
            rows["run_wiring"].append(str(p["wiring"]))
            rows["run_draw"].append(int(p["draw"]))
            rows["run_sparsity"].append(float(ref.sparsities[int(ref.optimum[int(k)])]))
            for name in ("val_loss", "test_loss", "start_loss"):
                rows[name].append([float(p[name][e])])
            rows["batches"].append([int(p["budget"])])
            rows["seeds"].append(int(p["seeds"][e]))
            rows["group"].append(g)
            for name in ("curve_val", "curve_train"):
                c = np.full(longest, np.nan, dtype=np.float32)
                c[:p[name].shape[1]] = p[name][e]
                rows[name].append(c)
            ev = np.full(n_points, np.nan)
            ev[:p["eval_loss"].shape[1]] = p["eval_loss"][e]
            rows["eval_loss"].append(ev)
            for i in range(len(layers) - 1):
                masks[i].append(p[f"M{i}"][e][None])
            weights[(n, 0)] = [p[f"W{i}"][e] for i in range(len(layers) - 1)]
    eval_batches = max((p["eval_batches"] for p in parts), key=len)
    run_sparsity = np.asarray(rows["run_sparsity"])
    nominal = float(np.median(run_sparsity))
    summary = dict(sparsity=np.array([nominal]), schedule=np.array([nominal]),
                   val_loss=np.asarray(rows["val_loss"]), test_loss=np.asarray(rows["test_loss"]),
                   train_slice_loss=np.asarray(rows["val_loss"]), start_loss=np.asarray(rows["start_loss"]),
                   batches=np.asarray(rows["batches"], dtype=np.int64),
                   seconds=np.array([[float(p["seconds"])] for p in parts]),
                   group=np.asarray(rows["group"], dtype=np.int64), seeds=np.asarray(rows["seeds"], dtype=np.uint32),
                   round_start=np.array([[0, int(p["budget"])] for p in parts], dtype=np.int64),
                   curve_val=np.stack(rows["curve_val"]), curve_train=np.stack(rows["curve_train"]),
                   layers=np.asarray(layers, dtype=np.int64), threshold=np.array(ref.threshold),
                   run_network=np.asarray(rows["run_network"], dtype=np.int64),
                   run_start=np.asarray(rows["run_start"]), run_wiring=np.asarray(rows["run_wiring"]),
                   run_draw=np.asarray(rows["run_draw"], dtype=np.int64), run_sparsity=run_sparsity,
                   eval_batches=np.asarray(eval_batches, dtype=np.int64), eval_loss=np.stack(rows["eval_loss"]))
    for i, m in enumerate(masks):
        summary[f"mask{i}"] = snapshot.pack_masks(np.concatenate(m)[:, None])
    if ref.scaler is not None:
        summary.update(ref.scaler)
    provenance = dict(params=dict(threshold=ref.threshold, schedule=[nominal]), experiment="rewire",
                      seeds=[int(v) for v in rows["seeds"]], training=dict(training),
                      exported=time.strftime("%Y-%m-%dT%H:%M:%S%z"))
    return summary, weights, provenance


def main(argv: list[str] | None = None) -> int:
    """Command line: ``train --work DIR [--threads N]`` and ``export --work DIR --out data/rewire``
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
    return commands.main("python -m helpers.rewire", __doc__.splitlines()[0], train, export, argv)


if __name__ == "__main__":
    sys.exit(main())
