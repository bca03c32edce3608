"""The motif census of a pruned ensemble: Z-scores of every network at every saved state, cached as an artifact.

For each network e and saved state s of the pruning run, the cleaned network is scored against ``n_null``
null networks of **both** null models (:data:`helpers.nulls.MODELS`: the original's ``paper`` null and the
degree-preserving ``degree`` null), each in both counting conventions (one null sample per model, counted once,
read in both conventions; seeds from :func:`helpers.stats.derive_seed`, Z-scores as :func:`helpers.stats.zscores`
computes them; which outputs a null may wire is the parameter ``null_outputs``). Beside every real network one
of its own null samples is scored against the remaining ones (leave-one-out): a *pseudo-real* random network
that shows what the ensemble's statistics look like when there is no structure at all.

Every (network, state) cell is one task on a Dask cluster (:mod:`helpers.cluster`; the parameter ``scheduler``:
a cluster started by this process by default, or an existing one by address). A task receives the cell's
bit-packed masks only (:func:`cell_inputs`) and returns its rows (:func:`cell`); the tables are assembled in cell
order (:func:`assemble`), so they are the same, bit for bit, whatever the number of workers and whichever worker
ran which cell. The artifact is written by this process alone, after every task succeeded: a failed or
interrupted run leaves no table behind.

Artifact ``pipeline.artifact_dir("census", ...)``: ``z.csv`` (columns network, state, sparsity, null,
convention, motif, real, null_mean, null_sd, z, sp) and ``noise.csv`` (network, state, sparsity, null,
convention, motif, z, sp). Where the census was computed (``scheduler``) is not part of its key.

The censuses of the shipped ensembles at the ``default`` preset (1000 null networks of each model at every state
of every network: most of a ``make book``) and at the ``ci`` preset (most of the chapters' share of ``make test``)
ship with the repository in :data:`SHIPPED`, sealed, as :func:`ship` (``python -m helpers.census``,
``make censuses``) computed them. A census whose artifact is missing
is copied from there when the shipped one has its key: the same data set (its manifest's digest), the same
parameters and the same code (:func:`helpers.pipeline.run_key`); any change of these computes it afresh. The tests
recompute sampled cells of every shipped census and require each to be current.
"""
from __future__ import annotations

import contextlib
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from helpers import cluster, convergence, graph, motifs, nulls, pipeline, stats

#: Motifs with a Z-score (edges are fixed by the null model, so their Z is always undefined).
Z_MOTIFS = tuple(m for m in motifs.MOTIFS if m != "edges")
#: The files of a census artifact.
FILES = ("z.csv", "noise.csv")
#: The folder of the shipped censuses (each ``census-<key>/`` as its artifact folder, sealed), under the repository.
SHIPPED = "data/censuses"
#: The presets whose censuses of the shipped ensembles ship (:func:`ship`): the book's and the tests'.
SHIPPED_PRESETS = ("default", "ci")


def key_params(params: Mapping[str, Any]) -> dict[str, Any]:
    """What determines the census (its artifact key); where it is computed (``scheduler``) does not.

    Parameters
    ----------
    params : mapping
        Resolved chapter parameters (as for :func:`census`).

    Returns
    -------
    dict
        JSON-able: the ensemble analysed (:func:`helpers.analysed.key`), the master seed, the number of null
        networks and which outputs they may wire.
    """
    from helpers import analysed

    return dict(analysed.key(params), seed=params["seed"], n_null=params["n_null"],
                null_outputs=params["null_outputs"])


def census(params: Mapping[str, Any], progress: bool = False) -> dict[str, pd.DataFrame]:
    """Z-scores of every network × saved state (both null models, both conventions) and of one pseudo-real null
    per cell, computed on Dask (:func:`compute`) unless the sealed artifact exists.

    Parameters
    ----------
    params : mapping
        Resolved chapter parameters: those of :func:`helpers.analysed.ensemble` plus ``seed``, ``n_null``,
        ``null_outputs`` and, optionally, ``scheduler`` (where the cells run: ``"local"``, the preset's value
        when absent, or a scheduler address; see :func:`helpers.cluster.resolve`). The scheduler is not part of
        the artifact's key.
    progress : bool
        Show the ensemble's and the cells' progress and the Dask dashboard's address; without it nothing is
        printed.

    Returns
    -------
    dict
        ``{"z": DataFrame, "noise": DataFrame, "states": states}``, the tables as in the module doc (read back
        from the artifact, checked by :func:`check_tables`) and the ensemble.

    Raises
    ------
    ValueError
        If ``n_null`` < 4, the scheduler address is malformed or ``$HELPERS_NO_WORKER_TIMEOUT``
        (:data:`helpers.cluster.TIMEOUT_ENV`) is not a positive number, before anything is read or computed.
    ConnectionError
        If the census must be computed and its scheduler cannot be reached, before the ensemble is read.
    TimeoutError
        If no worker was connected to the scheduler for that many seconds (:func:`helpers.cluster.map_cells`),
        naming the scheduler's address; nothing is written then.
    helpers.pipeline.ArtifactError
        If a stored table is unreadable or invalid (a damaged artifact found by its manifest is rebuilt instead).
    """
    from helpers import analysed

    if params["n_null"] < 4:
        raise ValueError(f"parameter 'n_null' = {params['n_null']} is invalid: the census needs at least 4")
    scheduler = cluster.resolve(pipeline.value(params, "scheduler"))
    cluster.resolve_timeout()                                   # a malformed $HELPERS_NO_WORKER_TIMEOUT: now
    folder = pipeline.artifact_dir("census", key_params(params))
    if scheduler is not None and not pipeline.sealed(folder):
        cluster.check_reachable(scheduler)
    states = analysed.ensemble(params, progress=progress)

    def build(folder):
        if copy_shipped(folder):
            return
        z_rows, noise_rows = compute(states, params, progress=progress, scheduler=scheduler)
        for name, frame in (("noise.csv", noise_rows), ("z.csv", z_rows)):
            pipeline.atomic_write(folder / name, lambda tmp, frame=frame: frame.to_csv(tmp, index=False))

    pipeline.build_once(folder, FILES, build)
    tables = {}
    for name in FILES:
        try:
            tables[name] = pd.read_csv(folder / name)
        except Exception as exc:
            raise pipeline.ArtifactError(f"census table {folder / name} is unreadable ({exc}); delete {folder} to "
                                         "rebuild it") from exc
    shape = states["val_loss"].shape
    check_tables(tables["z.csv"], tables["noise.csv"], shape, folder)
    return {"z": tables["z.csv"], "noise": tables["noise.csv"], "states": states}


def shipped_folder(folder: Path) -> Path:
    """Where the shipped copy of a census artifact would be.

    Parameters
    ----------
    folder : pathlib.Path
        The census's artifact folder (``census-<key>``).

    Returns
    -------
    pathlib.Path
        The folder of the same name under :data:`SHIPPED` in the repository (it need not exist).
    """
    return pipeline.repo_root() / SHIPPED / Path(folder).name


def copy_shipped(folder: Path) -> bool:
    """Fill the census artifact ``folder`` from its shipped copy, if there is one.

    Parameters
    ----------
    folder : pathlib.Path
        The census's artifact folder (its name holds the key).

    Returns
    -------
    bool
        Whether a shipped copy exists (and its tables were copied, each atomically).

    Raises
    ------
    helpers.pipeline.ArtifactError
        If the shipped copy does not match its manifest, naming the file and how to restore it.
    """
    shipped = shipped_folder(folder)
    if not pipeline.sealed(shipped):
        return False
    where = shipped.relative_to(pipeline.repo_root())
    pipeline.verify(shipped, FILES, remedy=f"restore it from the repository (git checkout -- {where})")
    for name in FILES:
        pipeline.atomic_write_bytes(Path(folder) / name, (shipped / name).read_bytes())
    return True


def shipped_params(source: str, preset: str = SHIPPED_PRESETS[0]) -> dict[str, Any]:
    """The parameters whose census of a shipped ensemble ships.

    Parameters
    ----------
    source : str
        An ensemble of :data:`helpers.analysed.SCORED` (a shipped data set or a control).
    preset : str
        One of :data:`SHIPPED_PRESETS` (default ``"default"``).

    Returns
    -------
    dict
        Every parameter of ``preset``, resolved, with ``ensemble_source = source``.
    """
    given = {name: None for name in pipeline.SPECS if name != "preset"}
    return pipeline.resolve(preset, **dict(given, ensemble_source=source))


def ship(progress: bool = True) -> list[Path]:
    """Compute (or reuse) the census of every shipped and control ensemble (:data:`helpers.analysed.SCORED`) at
    each of :data:`SHIPPED_PRESETS` and write them to :data:`SHIPPED` with their provenance, removing the stale ones there
    (``python -m helpers.census``, ``make censuses``); a census shipped already under its current key is kept as
    it is.

    Parameters
    ----------
    progress : bool
        Show each census's progress.

    Returns
    -------
    list of pathlib.Path
        The shipped folders, one per preset and ensemble of :data:`helpers.analysed.SCORED`, each sealed with the
        artifact's ``params.json``.
    """
    import json
    import platform
    import shutil
    import time

    from helpers import analysed
    from helpers.sources import git_commit

    out = pipeline.repo_root() / SHIPPED
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for preset, source in ((p, s) for p in SHIPPED_PRESETS for s in analysed.SCORED):
        params = shipped_params(source, preset)
        folder = pipeline.artifact_dir("census", key_params(params))
        target = out / folder.name
        written.append(target)
        if pipeline.sealed(target):                      # shipped already for this data set, parameters and code
            continue
        cached = pipeline.sealed(folder)                 # computed earlier (by a chapter): its time is not known
        t0 = time.perf_counter()
        census(params, progress=progress)
        provenance = dict(params=key_params(params), preset=preset, code=pipeline.code_version("census"),
                          commit=git_commit(), computed=time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                          wall_seconds=None if cached else round(time.perf_counter() - t0, 1),
                          cpu_count=os.cpu_count(), machine=platform.machine(), command="python -m helpers.census")
        tmp = out / f".{folder.name}.tmp"
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir()
        for name in (*FILES, "params.json"):
            shutil.copy2(folder / name, tmp / name)
        pipeline.atomic_write_bytes(tmp / "provenance.json", json.dumps(provenance, indent=1).encode())
        pipeline.seal(tmp, (*FILES, "params.json", "provenance.json"))
        shutil.rmtree(target, ignore_errors=True)       # an unsealed leftover
        tmp.rename(target)
    for stale in out.glob("census-*"):
        if stale not in written:
            shutil.rmtree(stale)
    return written


def check_tables(z: pd.DataFrame, noise: pd.DataFrame, shape: tuple[int, int], folder) -> None:
    """Check that the census tables are complete and valid for an ensemble.

    Parameters
    ----------
    z, noise : pandas.DataFrame
        The tables as read from ``z.csv`` and ``noise.csv``.
    shape : (int, int)
        (networks, states) of the ensemble.
    folder : path
        The artifact folder, for the messages.

    Raises
    ------
    helpers.pipeline.ArtifactError
        Naming the file and the column unless every (network, state, null, convention, motif) is there exactly
        once, labels are from their sets, counts finite and ≥ 0, null sd ≥ 0, Z and SP finite or missing (never
        ±inf), and SP in [−1, 1] and missing exactly where Z is (:func:`check_profile`).
    """
    n_networks, n_states = shape
    expected = n_networks * n_states * len(nulls.MODELS) * len(motifs.CONVENTIONS) * len(Z_MOTIFS)
    keys = ["network", "state", "null", "convention", "motif"]
    for name, frame, numeric in (("z.csv", z, ("sparsity", "real", "null_mean", "null_sd", "z", "sp")),
                                 ("noise.csv", noise, ("sparsity", "z", "sp"))):
        where = f"census table {folder}/{name}"
        missing = [c for c in keys + list(numeric) if c not in frame.columns]
        if missing:
            raise pipeline.ArtifactError(f"{where} lacks the column(s) {missing}; delete {folder} to rebuild it")
        for column, allowed in (("network", range(n_networks)), ("state", range(n_states)),
                                ("null", nulls.MODELS), ("convention", motifs.CONVENTIONS), ("motif", Z_MOTIFS)):
            bad = ~frame[column].isin(list(allowed))
            if bad.any():
                found = frame[column][bad].iloc[0]
                found = found.item() if isinstance(found, np.generic) else found
                raise pipeline.ArtifactError(f"{where}: column {column!r} holds {found!r}, not one of the expected "
                                             f"values; delete {folder} to rebuild it")
        if len(frame) != expected or frame.duplicated(keys).any():
            raise pipeline.ArtifactError(f"{where} has {len(frame)} rows, expected {expected} distinct ones "
                                         f"(truncated or edited); delete {folder} to rebuild it")
        for column in numeric:
            values = pd.to_numeric(frame[column], errors="coerce").to_numpy(dtype=np.float64)
            finite_only = column in ("sparsity", "real", "null_mean")
            bad = ~np.isfinite(values) if finite_only else np.isinf(values)
            if column in ("real", "null_mean", "null_sd"):
                bad |= values < 0
            if column == "sparsity":
                bad |= (values < 0) | (values >= 1)
            if bad.any():
                raise pipeline.ArtifactError(f"{where}: column {column!r} holds {int(bad.sum())} invalid value(s) "
                                             f"(e.g. {values[bad][0]!r}); delete {folder} to rebuild it")
        check_profile(frame, where, folder)


def check_profile(frame: pd.DataFrame, where: str, folder) -> None:
    """Check a census table's significance profiles (column ``sp``) against its Z-scores (column ``z``).

    A significance profile is Z / ‖Z‖ over the motifs of one (network, state, null, convention), so each value
    lies in [−1, 1], and it is missing (NaN) exactly where Z is, or everywhere in a profile whose defined Z are
    all 0 (‖Z‖ = 0, :func:`helpers.stats.table`, :func:`helpers.convergence.significance_profile`).

    Parameters
    ----------
    frame : pandas.DataFrame
        A census table (``z.csv`` or ``noise.csv``) whose labels and numeric columns :func:`check_tables` has
        already checked.
    where : str
        The table, for the message (e.g. ``"census table <folder>/z.csv"``).
    folder : path
        The artifact folder, for the remedy.

    Raises
    ------
    helpers.pipeline.ArtifactError
        Naming the table, the column ``sp``, how many values are invalid and the first such row (its position
        and labels, its ``sp`` and ``z``), when a value lies outside [−1, 1], is missing where Z is defined (in a
        profile with a nonzero Z), or is defined where Z is missing.
    """
    sp = pd.to_numeric(frame["sp"], errors="coerce").to_numpy(dtype=np.float64)
    z = pd.to_numeric(frame["z"], errors="coerce").to_numpy(dtype=np.float64)
    profile = ["network", "state", "null", "convention"]
    nonzero = pd.Series(np.isfinite(z) & (z != 0), index=frame.index).groupby(
        [frame[c] for c in profile], sort=False).transform("any").to_numpy()
    tolerance = 1e-9                                           # |SP| = 1 up to rounding in the CSV
    with np.errstate(invalid="ignore"):
        bad = np.abs(sp) > 1 + tolerance
    bad |= np.isnan(z) & ~np.isnan(sp)                         # a profile entry where Z is undefined
    bad |= ~np.isnan(z) & np.isnan(sp) & nonzero               # a defined Z left out of a profile with a norm
    if bad.any():
        at = int(np.flatnonzero(bad)[0])
        row = {c: frame[c].iloc[at] for c in profile + ["motif"]}
        labels = ", ".join(f"{c}={v.item() if isinstance(v, np.generic) else v!r}" for c, v in row.items())
        raise pipeline.ArtifactError(
            f"{where}: column 'sp' holds {int(bad.sum())} invalid value(s), e.g. row {at} (line {at + 2} of the "
            f"file: {labels}): sp={float(sp[at])!r} with z={float(z[at])!r}; a significance profile lies in [-1, 1] "
            f"and is missing exactly where Z is; delete {folder} to rebuild it")


def compute(states, params: Mapping[str, Any], *, progress: bool = False, scheduler: str | None = None,
            client=None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The census tables of an ensemble, one Dask task per (network, saved state) cell.

    Parameters
    ----------
    states : Snapshot or mapping
        The ensemble: ``states["sparsity"]`` (S,) float, ``states["val_loss"]`` (N, S) (for the shape) and
        ``states.masks(e, s)``, the exchange-layout masks of network e at state s.
    params : mapping
        ``seed``, ``n_null`` and ``null_outputs`` (resolved chapter parameters).
    progress : bool
        Show Dask's progress bar and the dashboard's address; otherwise nothing is printed.
    scheduler : str or None
        Where the cells run (:func:`helpers.cluster.client`): ``None`` / ``"local"`` a cluster started by this
        process (or the one in ``$HELPERS_SCHEDULER``), else a scheduler address. Ignored if ``client`` is given.
    client : distributed.Client or None
        An open client to use instead.

    Returns
    -------
    z, noise : pandas.DataFrame
        The tables of the module doc, rows in the order network, state, null model (:data:`helpers.nulls.MODELS`),
        convention, motif (:data:`Z_MOTIFS`).

    Raises
    ------
    ValueError, ConnectionError
        From :func:`helpers.cluster.client` for a malformed or unreachable scheduler.
    TimeoutError
        From :func:`helpers.cluster.map_cells` when no worker was connected to the scheduler for
        :func:`helpers.cluster.resolve_timeout` seconds (``$HELPERS_NO_WORKER_TIMEOUT``, default 180), naming its
        address.
    RuntimeError
        If a worker's helper code differs from this process's (:func:`helpers.pipeline.code_version`).
    Exception
        The error of a cell that failed after its retries; nothing is written then.
    """
    inputs = cell_inputs(states)
    common = dict(n_null=int(params["n_null"]), seed=int(params["seed"]), null_outputs=params["null_outputs"])
    with contextlib.ExitStack() as stack:
        if client is None:
            client = stack.enter_context(cluster.client(scheduler, verbose=progress, warm=_warm_kernels))
        _check_worker_code(client)
        results = cluster.map_cells(cell, inputs, client=client, common=common, progress=progress, label="census")
    return assemble(results)


def _code_version() -> str:
    return pipeline.code_version("census")


def _check_worker_code(client) -> None:
    """``RuntimeError`` unless every worker's helper code (as on its disk) is the census code of this process."""
    here = _code_version()
    other = {worker: version for worker, version in client.run(_code_version).items() if version != here}
    if other:
        raise RuntimeError(f"the Dask worker(s) {', '.join(sorted(other))} run other census code "
                           f"({', '.join(sorted(set(other.values())))}) than this process ({here}): start them from "
                           "this checkout and environment")


def _pack(masks: Sequence[np.ndarray]) -> list[tuple[tuple[int, int], np.ndarray]]:
    return [(tuple(np.shape(m)), np.packbits(np.asarray(m, dtype=bool), axis=None)) for m in masks]


def _unpack(packed: Sequence[tuple[tuple[int, int], np.ndarray]]) -> list[np.ndarray]:
    return [np.unpackbits(bits, count=rows * cols).reshape(rows, cols).astype(bool) for (rows, cols), bits in packed]


def cell_inputs(states) -> list[tuple]:
    """The arguments of :func:`cell` for every (network, saved state) cell of an ensemble, in table order.

    Parameters
    ----------
    states : Snapshot or mapping
        As for :func:`compute`.

    Returns
    -------
    list of tuple
        ``(packed, network, state, sparsity)`` per cell, networks outer, states inner: ``packed`` the cell's
        exchange-layout masks, each as ``((rows, cols), uint8 bits)`` (:func:`numpy.packbits`, row-major, an
        eighth of the bool masks' bytes); ``network``, ``state`` int; ``sparsity`` float, the state's nominal
        weight sparsity.
    """
    n_networks, n_states = states["val_loss"].shape
    sparsity = [float(v) for v in states["sparsity"]]
    return [(_pack(states.masks(e, s)), e, s, sparsity[s]) for e in range(n_networks) for s in range(n_states)]


def cell(packed: Sequence[tuple[tuple[int, int], np.ndarray]], network: int, state: int, sparsity: float, *,
         n_null: int, seed: int, null_outputs: str) -> tuple[list[pd.DataFrame], list[pd.DataFrame]]:
    """The census rows of one network at one saved state: the unit of work of a census task.

    Parameters
    ----------
    packed : sequence of ((int, int), ndarray)
        The cell's exchange-layout masks, bit-packed as :func:`cell_inputs` gives them.
    network, state : int
        The cell's network and saved-state indices (the null seeds derive from the network and the sparsity).
    sparsity : float
        The state's nominal weight sparsity, in [0, 1).
    n_null : int
        Null networks per model.
    seed : int
        The master seed (:func:`helpers.stats.derive_seed`).
    null_outputs : {"live", "all"}
        Which outputs a null may wire (:data:`helpers.nulls.OUTPUT_RULES`).

    Returns
    -------
    z, noise : list of pandas.DataFrame
        One frame per null model × convention (that order): the Z table (:func:`helpers.stats.table`, motifs
        :data:`Z_MOTIFS`) and the pseudo-real null's Z and SP, each with the cell's labels.
    """
    z_frames, noise_frames = [], []
    columns = [motifs.MOTIFS.index(m) for m in Z_MOTIFS]
    e, s = network, state
    cleaned = graph.clean(_unpack(packed))
    real = motifs.count_raw(cleaned)
    for model in nulls.MODELS:
        null_raw = nulls.null_counts(cleaned, n_null, model, stats.derive_seed(seed, e, sparsity),
                                     outputs=null_outputs)
        labels = dict(network=e, state=s, sparsity=sparsity, null=model)
        for convention in motifs.CONVENTIONS:        # one null sample, both conventions
            null = motifs.project(null_raw, convention)
            table = stats.table(motifs.project(real, convention), null).loc[list(Z_MOTIFS)].reset_index()
            z_frames.append(table.assign(**labels, convention=convention))
            pseudo_z = convergence.leave_one_out_z(null[:, columns])[0]
            noise_frames.append(pd.DataFrame(dict(motif=Z_MOTIFS, z=pseudo_z,
                                                  sp=convergence.significance_profile(pseudo_z),
                                                  **labels, convention=convention)))
    return z_frames, noise_frames


def assemble(results: Sequence[tuple[list[pd.DataFrame], list[pd.DataFrame]]]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The census tables from the cells' results.

    Parameters
    ----------
    results : sequence of (list of DataFrame, list of DataFrame)
        :func:`cell`'s results, in the order of :func:`cell_inputs`.

    Returns
    -------
    z, noise : pandas.DataFrame
        The rows of every cell in turn, columns as in the module doc.
    """
    z_frames = [frame for z, _ in results for frame in z]
    noise_frames = [frame for _, noise in results for frame in noise]
    order = ["network", "state", "sparsity", "null", "convention", "motif"]
    z = pd.concat(z_frames, ignore_index=True)
    noise = pd.concat(noise_frames, ignore_index=True)
    return (z[order + [c for c in z.columns if c not in order]], noise[order + ["z", "sp"]])


def _warm_kernels() -> None:
    """Compile (or load from the on-disk cache) every kernel a cell runs, in this process, on a tiny network:
    the workers of a local cluster then load the cache instead of each compiling the kernels again."""
    masks = graph.synthetic_pruned((4, 10, 10, 3), sparsity=0.5, seed=0)
    cell(_pack(masks), 0, 0, 0.5, n_null=4, seed=0, null_outputs="live")


if __name__ == "__main__":
    from helpers import census as _census   # the importable module, whose functions the Dask workers can load

    for shipped in _census.ship():
        print(f"wrote {shipped.relative_to(pipeline.repo_root())}")
