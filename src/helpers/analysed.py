"""The ensemble the analysis chapters read (``ensemble_source``): a shipped ensemble, a control or a live run.

Chapters 4–8 analyse either the first ``n_analysed`` networks of a shipped ensemble — the reference ensemble in
``data/reference/``, the paired as-original group in ``data/as-original/``, the second task's networks in
``data/second-task/`` (:func:`helpers.snapshot.load`) —, a control ensemble derived from the reference ensemble's
networks (:mod:`helpers.controls`: ``untrained``, ``random-pruning``; scored by the Controls chapter), or the
train–prune run of their own parameters (:func:`helpers.run.run_or_load`); :func:`ensemble` returns it,
:func:`dataset` the flights it was trained and evaluated on, and :func:`key` what determines it (for the artifact
keys of later stages).
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from helpers import controls, pipeline, run, snapshot
from helpers.snapshot import Snapshot

#: The trained ensemble each control ensemble (:data:`helpers.controls.CONTROLS`) is derived from.
CONTROL_OF = {kind: "reference" for kind in controls.CONTROLS}
#: Which ensemble the analysis chapters read: a shipped ensemble, a control, or a run of the chapters' own
#: parameters.
SOURCES = (*snapshot.ENSEMBLES, *controls.CONTROLS, "live")
#: The ensembles whose census at the ``default`` preset ships with the book (:func:`helpers.census.ship`).
SCORED = (*snapshot.ENSEMBLES, *controls.CONTROLS)


def shipped_source(source: str) -> str:
    """The shipped data set that holds ``source``'s networks: the data set itself, or a control's trained ensemble.

    Parameters
    ----------
    source : str
        A shipped ensemble's name or a control's (:data:`SOURCES` but ``"live"``).

    Returns
    -------
    str
        A name of :data:`helpers.snapshot.SHIPPED`.
    """
    return CONTROL_OF.get(source, source)


def ensemble(params: Mapping[str, Any], progress: bool = False) -> Snapshot:
    """The ensemble the analysis chapters read.

    Parameters
    ----------
    params : mapping
        Resolved chapter parameters: ``ensemble_source`` (a shipped data set's name or ``"live"``), ``n_analysed``,
        ``threshold`` and, for a live run, those of :func:`helpers.run.run_or_load`.
    progress : bool
        Show progress bars while a live run trains.

    Returns
    -------
    Snapshot
        The first ``n_analysed`` networks of the reference ensemble, or the live run; optima selected at
        ``params["threshold"]``.
    """
    source = pipeline.value(params, "ensemble_source")
    if source == "live":
        return run.run_or_load(params, progress=progress)
    snap = snapshot.load(shipped_source(source), params["threshold"])
    snap = snap.select(range(min(int(pipeline.value(params, "n_analysed")), snap.n_networks)))
    return controls.control(snap, source) if source in CONTROL_OF else snap


def dataset(params: Mapping[str, Any], split: str, n_rows: int):
    """The flights of the ensemble :func:`ensemble` returns.

    Parameters
    ----------
    params : mapping
        Resolved chapter parameters (as for :func:`ensemble`).
    split : {"train", "val", "test"}
        The split that must hold at least ``n_rows`` rows.
    n_rows : int
        How many of its first rows are needed.

    Returns
    -------
    helpers.data.Dataset
        For a shipped ensemble regenerated (only the rows needed) and scaled with its shipped scaler (a control:
        its trained ensemble's); for a live run its whole data set.
    """
    from helpers import data as data_mod
    from helpers import tasks

    if pipeline.value(params, "ensemble_source") != "live":
        source = pipeline.value(params, "ensemble_source")
        snap = snapshot.load(shipped_source(source))
        source = snap.provenance["params"]
        rows = data_mod.subset(source["n_trajectories"], source["data_seed"], split, n_rows, snap.scaler)
        return tasks.retarget(rows, source.get("task", "flight"), snap.scaler)
    return tasks.retarget(data_mod.load_or_build(params["n_trajectories"], params["data_seed"]),
                          pipeline.value(params, "task"))


def key(params: Mapping[str, Any]) -> dict[str, Any]:
    """What determines :func:`ensemble`'s result, for the artifact keys of later stages.

    Parameters
    ----------
    params : mapping
        Resolved chapter parameters (as for :func:`ensemble`): ``ensemble_source`` and, for the reference
        ensemble, ``n_analysed``; for a live run those of :func:`helpers.run.key_params`.

    Returns
    -------
    dict
        JSON-able: for the reference ensemble ``ensemble_source``, the SHA-256 of the reference data set's
        manifest (``None`` if it has none) and the number of networks taken from it (``n_analysed``); for a live
        run the run's :func:`helpers.run.key_params`.
    """
    source = pipeline.value(params, "ensemble_source")
    if source != "live":
        manifest = snapshot.resolve_path(shipped_source(source)) / snapshot.MANIFEST
        digest = pipeline.sha256(manifest) if manifest.is_file() else None
        return {"ensemble_source": source, "manifest": digest,
                "n_analysed": int(pipeline.value(params, "n_analysed"))}
    return run.key_params(params)
