"""Presets, parameter validation and the artifact cache shared by every chapter.

A chapter's ``parameters`` cell names a preset and sets its knobs to ``None`` (take the preset's value) or to
an explicit value (papermill ``-p``). :func:`resolve` merges the two and validates every value *before* any
work is done. Results travel between chapters as artifacts under ``artifacts/<stage>-<key>/`` where the key
hashes the parameters that produced them and the helper package's own source, so a changed parameter or a
changed helper never silently reuses a stale file. Every write is atomic (temporary file, then rename), and a
finished stage is sealed with a manifest of its files' sizes and SHA-256 sums, written last and checked on every
load (:func:`seal`, :func:`verify`, :func:`build_once`), so a truncated, corrupt or missing file is found before
it is used.
"""
from __future__ import annotations

import hashlib
import json
import os
import tempfile
import time
import warnings
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from helpers.checks import MAX_SEED, Spec, check_schedule  # noqa: F401  (check_schedule: part of this API)

PRESET_NAMES = ("ci", "default", "reference", "paper")


#: The fewest flights a run may simulate: the ``ci`` preset's size, the smallest run every chapter is tested at
#: (its test split, 20 %, holds more than the 2,000 rows chapter 3 flies).
MIN_TRAJECTORIES = 20_000
#: The fewest null networks per real network (chapter 6 follows Z from 10 null networks up).
MIN_NULL = 10

#: Every parameter any chapter accepts, with its allowed values.
SPECS: dict[str, Spec] = {
    "preset": Spec(str, choices=PRESET_NAMES, doc="named bundle of sizes"),
    "seed": Spec(int, 0, MAX_SEED, doc="master seed of the chapter"),
    "n_trajectories": Spec(int, MIN_TRAJECTORIES, 100_000_000, doc="simulated 20 ms flights; at least "
                           f"{MIN_TRAJECTORIES:,}, the smallest run the chapters are tested at"),
    "data_seed": Spec(int, 0, MAX_SEED, doc="seed of the sampled flight conditions and the split"),
    "n_networks": Spec(int, 1, 1_000, doc="ensemble size"),
    "threshold": Spec(float, 1e-9, 1.0, doc="validation loss below which a pruned state counts as good"),
    "schedule": Spec(tuple, rule=check_schedule, doc="cumulative sparsity targets of the pruning rounds"),
    "bias_pruning": Spec(str, owner="pruning.BIAS_MODES", doc="B3: how bias masks are pruned"),
    "device": Spec(str, owner="ensemble.DEVICES", doc="where the ensemble is trained"),
    "max_batches": Spec(int, 100, 10_000_000, doc="cap on the batches of one training round"),
    "max_batches_dense": Spec(int, 100, 10_000_000, doc="cap on the batches of the first (dense) training round"),
    "stopping": Spec(str, owner="ensemble.STOPPING_MODES", doc="early stopping of a pruning round: one decision "
                     "on the networks' mean validation loss (the original's) or one per network"),
    "n_eval": Spec(int, 1_000, 100_000_000, doc="saved states are evaluated on the first n_eval rows of the "
                   "validation and test splits"),
    "first_network": Spec(int, 0, 1_000_000, doc="index of the run's first network in its seed sequence"),
    "ensemble_source": Spec(str, owner="analysed.SOURCES", doc="which ensemble the analysis chapters read: "
                            "the shipped reference ensemble or a run trained by this book"),
    "n_analysed": Spec(int, 1, 100_000, doc="how many of the reference ensemble's networks are analysed (its "
                       "first n; all if it has fewer)"),
    "n_null": Spec(int, MIN_NULL, 100_000, doc=f"random networks per real network; at least {MIN_NULL}, the "
                   "smallest null sample whose Z chapter 6 follows"),
    "null_model": Spec(str, owner="nulls.MODELS", doc="which null model a single-network analysis shows "
                       "(the census scores both)"),
    "null_outputs": Spec(str, owner="nulls.OUTPUT_RULES", doc="which output neurons a null may wire: those live in "
                         "the real network (ours) or all of them (the original's rule)"),
    "convention": Spec(str, owner="motifs.CONVENTIONS", doc="how chains and 3rd-order converging count"),
    "threads": Spec(int, 1, 256, doc="CPU threads torch uses in a chapter (1 at ci: the committed outputs are "
                    "reproducible bit for bit)"),
    "loss_networks": Spec(int, 1, 1_000_000, doc="the networks' summed training loss is divided by this (1: each "
                          "network gets its own gradient; the original's 400: its mean over 400 networks)"),
    "validation": Spec(str, owner="ensemble.VALIDATION_MODES", doc="validation batches past the end of the split: "
                       "'wrap' round it, or 'exhaust' (NaN, so early stopping no longer fires: the original's)"),
    "pruned_state": Spec(str, owner="ensemble.PRUNED_STATES", doc="pruned weights: 'zero' (with their optimiser "
                         "state, never back) or 'keep' (left running under the mask, revivable: the original's)"),
    "task": Spec(str, owner="tasks.TASKS", doc="what a run's networks are trained to compute: the flight task, or "
                 "the second task of the controls (a fixed random teacher network on the same inputs)"),
    "network": Spec(int, 0, 999_999, doc="which network of the analysed ensemble chapters 5 and 6 show; it "
                    "must exist in that ensemble"),
    "scheduler": Spec(str, doc="where the motif census runs: 'local' (a Dask cluster the chapter starts itself, "
                      "or the one in $HELPERS_SCHEDULER) or a Dask scheduler address such as tcp://host:8786"),
}

#: The parameters that shape only a train–prune run (with ``seed``, which also seeds the null models, they are the
#: run's key, :data:`helpers.run.KEY_PARAMS`): a chapter that analyses a shipped ensemble does not use them.
TRAINING_PARAMS = ("n_networks", "n_trajectories", "data_seed", "schedule", "bias_pruning", "device", "max_batches",
                   "max_batches_dense", "stopping", "n_eval", "first_network", "loss_networks", "validation",
                   "pruned_state")

#: The original's pruning schedule (``step1_train.py`` of ``oliviatessa/MothPruning``): cumulative sparsity
#: targets; the last prune is never trained.
PAPER_SCHEDULE = (0.15, 0.25, 0.35, 0.45, 0.55, 0.65, 0.75, 0.85, 0.90, 0.91, 0.92, 0.93, 0.94, 0.95, 0.96,
                  0.97, 0.98, 0.99)

#: Preset values. ``ci`` keeps every chapter to about a minute; ``default`` is a laptop-sized real run;
#: ``paper`` is the original study's scale.
_COMMON = dict(seed=0, data_seed=0, threshold=1e-3, schedule=PAPER_SCHEDULE, bias_pruning="original",
               stopping="group", first_network=0, null_model="paper", null_outputs="live", convention="subgraph",
               network=0, threads=2, scheduler="local", loss_networks=1, validation="wrap", pruned_state="zero",
               task="flight")
PRESETS: dict[str, dict[str, Any]] = {
    "ci": dict(_COMMON, threads=1, n_trajectories=20_000, n_networks=2, device="cpu", max_batches=100,
               max_batches_dense=600, n_eval=200_000, n_null=100, ensemble_source="reference", n_analysed=3),
    "default": dict(_COMMON, n_trajectories=1_000_000, n_networks=3, device="cpu", max_batches=1_000,
                    max_batches_dense=16_000, n_eval=200_000, n_null=1000, ensemble_source="reference",
                    n_analysed=100_000),
    # the full original protocol on 10^7 flights, for the shipped reference ensemble (a 2-core CPU run)
    "reference": dict(_COMMON, n_trajectories=10_000_000, n_networks=8, device="cpu", max_batches=50_000,
                      max_batches_dense=50_000, n_eval=200_000, n_null=1000, ensemble_source="live",
                      n_analysed=100_000),
    "paper": dict(_COMMON, n_trajectories=10_000_000, n_networks=400, device="cuda", max_batches=50_000,
                  max_batches_dense=50_000, n_eval=200_000, n_null=1000, ensemble_source="live",
                  n_analysed=100_000),
}


def resolve(preset: str, **given: Any) -> dict[str, Any]:
    """Merge explicit parameters with a preset and validate all of them.

    ``None`` means "take the preset's value". Every value is checked by its :data:`SPECS` entry
    (:meth:`helpers.checks.Spec.check`) before anything is computed or written.

    Parameters
    ----------
    preset : str
        The preset the ``None`` values are taken from: one of :data:`PRESET_NAMES` (``"ci"``, ``"default"``,
        ``"reference"``, ``"paper"``); its values are in :data:`PRESETS`.
    **given : Any
        The chapter's parameters by name; every name must be a key of :data:`SPECS` (other than ``"preset"``).
        A value of ``None`` takes the preset's value, any other value is used as given; either way it must be
        of the kind and in the range or among the choices its spec allows.

    Returns
    -------
    dict of str to Any
        ``{"preset": preset}`` plus one entry per name in ``given`` (only those: a parameter not given is not
        filled in, see :func:`value`), each converted to its spec's kind: ``int``, ``float``, ``str`` or
        ``tuple`` (``schedule`` as a tuple of floats, :func:`helpers.checks.check_schedule`).

    Raises
    ------
    ValueError
        Naming the first bad parameter: ``preset`` not one of :data:`PRESET_NAMES`, an unknown name (the message
        lists the known ones), a value of the wrong type, out of range or not among the choices, or
        ``device="cuda"`` on a machine where torch finds no CUDA device (:func:`check_cuda`).
    """
    SPECS["preset"].check("preset", preset)
    out: dict[str, Any] = {"preset": preset}
    for name, value in given.items():
        if name not in SPECS:
            raise ValueError(f"unknown parameter {name!r}; known: {', '.join(sorted(SPECS))}")
        if value is None:
            value = PRESETS[preset][name]
        value = SPECS[name].check(name, value)
        if name == "device" and value == "cuda":
            check_cuda()
        out[name] = value
    return out


def check_cuda() -> None:
    """``ValueError`` naming the parameter unless torch sees a CUDA device (checked before any work).

    :func:`resolve` calls it for ``device="cuda"``; it imports torch.

    Raises
    ------
    ValueError
        ``parameter 'device' = 'cuda' is invalid: …`` when ``torch.cuda.is_available()`` is false.
    """
    import torch

    if not torch.cuda.is_available():
        raise ValueError("parameter 'device' = 'cuda' is invalid: torch finds no CUDA device on this machine "
                         "(use device=cpu, or run on a machine with a GPU)")


#: Names a notebook's namespace holds besides its parameters (IPython's own).
_NOTEBOOK_NAMES = frozenset({"In", "Out", "exit", "quit", "get_ipython", "open"})


def chapter(namespace: Mapping[str, Any]) -> dict[str, Any]:
    """The setup of a chapter, from its namespace (``globals()``) after its imports.

    Unknown names are refused (:func:`reject_unknown`), every parameter its ``parameters`` cell declares is
    resolved against ``preset`` and validated (:func:`resolve`), and torch's threads are set to the preset's
    ``threads`` (or the chapter's own ``threads``, :func:`value`), capped at the cores that other work leaves free
    (:func:`torch_threads`), when torch is in use (already imported).

    Parameters
    ----------
    namespace : Mapping of str to Any
        The chapter's ``globals()`` after its imports and before anything else is defined. It must hold
        ``preset``; every other key of :data:`SPECS` it holds is taken as a parameter (``None``: the preset's
        value).

    Returns
    -------
    dict of str to Any
        The resolved parameters, as :func:`resolve` returns them: ``preset`` and each parameter the namespace
        declares, converted and validated.

    Raises
    ------
    ValueError
        From :func:`reject_unknown` for a name that is no parameter, or from :func:`resolve` for a bad value.
    KeyError
        When ``namespace`` has no ``preset``.

    Notes
    -----
    A chapter that analyses a shipped ensemble prints one line naming the training parameters it was given but
    does not use (:func:`unused_training`); they still shape chapter 3's live run.
    """
    import sys

    reject_unknown(namespace)
    params = resolve(namespace["preset"], **{k: namespace[k] for k in SPECS if k in namespace and k != "preset"})
    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(torch_threads(value(params, "threads")))
    unused = unused_training(params)
    if unused:
        print(f"Note: this chapter analyses the shipped {params['ensemble_source']} ensemble, so the training "
              f"parameter{'s' if len(unused) > 1 else ''} given ({', '.join(unused)}) shape only a live run "
              "(ensemble_source = 'live') and are not used here.")
    return params


def busy_cores(interval: float = 0.3) -> float | None:
    """How many of this machine's cores other work keeps busy now, from two readings of ``/proc/stat``.

    Parameters
    ----------
    interval : float
        Seconds between the readings (> 0).

    Returns
    -------
    float or None
        (busy time / total time over the interval) × the number of cores; None where ``/proc/stat`` cannot be
        read (not Linux).
    """
    def reading() -> tuple[int, int]:
        fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
        idle = fields[3] + (fields[4] if len(fields) > 4 else 0)            # idle + iowait
        return sum(fields[:8]), idle

    try:
        total0, idle0 = reading()
        time.sleep(interval)
        total1, idle1 = reading()
    except (OSError, ValueError, IndexError):
        return None
    if total1 <= total0:
        return 0.0
    return (1.0 - (idle1 - idle0) / (total1 - total0)) * (os.cpu_count() or 1)


def torch_threads(wanted: int) -> int:
    """How many threads torch may use here: ``wanted``, capped at the cores that other work leaves free.

    Torch's OpenMP threads split every product evenly; beside another busy process one of them shares a core, and
    the others wait for it at every barrier (spinning, so they also slow the other process): on a 2-core machine
    two threads beside one busy process ran several times slower than one thread (``benchmarks/bench_threads.py``).
    The free cores are the usable cores minus those busy now (:func:`busy_cores`, rounded), at least one.

    Parameters
    ----------
    wanted : int
        The preset's or the chapter's ``threads`` (≥ 1).

    Returns
    -------
    int
        min(wanted, free cores), ≥ 1; ``wanted`` where the machine's load cannot be read.
    """
    busy = busy_cores()
    try:
        cores = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cores = os.cpu_count() or 1
    if busy is None:
        return max(1, int(wanted))
    return max(1, min(int(wanted), cores - int(round(busy))))


def unused_training(params: Mapping[str, Any]) -> list[str]:
    """The training parameters given to a chapter that analyses a shipped ensemble, which it therefore ignores.

    Parameters
    ----------
    params : Mapping of str to Any
        Resolved chapter parameters (:func:`resolve`) with ``preset``.

    Returns
    -------
    list of str
        ``"name = value"`` for each parameter of :data:`TRAINING_PARAMS` whose value differs from its preset's,
        when ``ensemble_source`` is present and not ``"live"``; else empty.
    """
    source = params.get("ensemble_source")
    if source is None or source == "live":
        return []
    preset = PRESETS[params["preset"]]
    return [f"{k} = {params[k]!r}" for k in TRAINING_PARAMS if k in params and params[k] != preset[k]]


def reject_unknown(namespace: Mapping[str, Any]) -> None:
    """Stop a chapter that was given a parameter it does not know (papermill only warns and injects it).

    Call it in the chapter's setup cell after the imports and before anything else is defined: every name then in
    ``namespace`` that is not private, a module, a function or a class must be a parameter (:data:`SPECS`).

    Parameters
    ----------
    namespace : Mapping of str to Any
        The chapter's ``globals()``. Names starting with ``_``, IPython's own (``In``, ``Out``, ``exit``,
        ``quit``, ``get_ipython``, ``open``), modules, classes and other callables are ignored; every other
        name must be a key of :data:`SPECS`.

    Raises
    ------
    ValueError
        Naming the unknown names (sorted) and listing the known ones.
    """
    import types

    unknown = sorted(k for k, v in namespace.items()
                     if not k.startswith("_") and k not in SPECS and k not in _NOTEBOOK_NAMES
                     and not isinstance(v, (types.ModuleType, type)) and not callable(v))
    if unknown:
        raise ValueError(f"unknown parameter{'s' if len(unknown) > 1 else ''} {', '.join(map(repr, unknown))}; "
                         f"known: {', '.join(sorted(SPECS))}")


def value(params: Mapping[str, Any], name: str) -> Any:
    """``params[name]``, or the value of ``params["preset"]`` where a chapter does not take that parameter.

    Parameters
    ----------
    params : Mapping of str to Any
        Resolved parameters (:func:`resolve`, :func:`chapter`); without a ``"preset"`` entry the ``"default"``
        preset supplies missing values.
    name : str
        The parameter: a key of ``params`` or of the preset's values (:data:`PRESETS`), e.g. ``"threads"``.

    Returns
    -------
    Any
        ``params[name]`` if present, else ``PRESETS[params["preset"]][name]``.

    Raises
    ------
    KeyError
        When ``name`` is neither in ``params`` nor a preset value (``"preset"`` itself is not one).
    """
    return params[name] if name in params else PRESETS[params.get("preset", "default")][name]


# --------------------------------------------------------------------------------------------- artifacts

def repo_root() -> Path:
    """The repository root (where ``pyproject.toml`` sits) for an editable install, else the working dir.

    Returns
    -------
    pathlib.Path
        The nearest folder above this module that holds both ``pyproject.toml`` and ``src/helpers/``; the
        current working directory (:meth:`pathlib.Path.cwd`) when there is none (a non-editable install).
    """
    here = Path(__file__).resolve()
    for parent in here.parents:
        if (parent / "pyproject.toml").exists() and (parent / "src" / "helpers").is_dir():
            return parent
    return Path.cwd()


#: Environment variable naming the artifact folder (:func:`artifact_root`).
ARTIFACTS_ENV = "HELPERS_ARTIFACTS"


def artifact_root() -> Path:
    """Where artifacts live: ``$HELPERS_ARTIFACTS`` if set and not blank, else ``<repo>/artifacts``.

    An empty or all-whitespace ``HELPERS_ARTIFACTS=`` counts as unset: it means the default folder, never the
    current working folder (which a relative empty path would be).

    Returns
    -------
    pathlib.Path
        The folder, as given (surrounding whitespace stripped; not resolved, and not created here;
        :func:`artifact_dir` creates what it needs); ``<repo>`` is :func:`repo_root`.
    """
    given = os.environ.get(ARTIFACTS_ENV, "").strip()
    return Path(given) if given else repo_root() / "artifacts"


def code_version(stage: str | None = None) -> str:
    """A short hash of the code a stage's artifacts depend on.

    That code is the stage's module (``"data"``, ``"run"``, ``"census"``) and every helper module it imports
    (:func:`helpers.sources.closure`); all helper modules for ``None`` or a stage without a module of its name.
    Comments and docstrings do not count (:func:`helpers.sources.digest`), so only a change of the code re-keys
    the stage's artifacts.

    Parameters
    ----------
    stage : str or None, optional
        The stage, named like its helper module (``src/helpers/<stage>.py``); ``None`` (the default) or a name
        without such a module hashes every module of the package.

    Returns
    -------
    str
        The first 12 hexadecimal digits of the digest.

    Raises
    ------
    SyntaxError
        From :func:`helpers.sources.digest` when a hashed module is not valid Python.
    """
    from helpers import sources

    if stage and (sources.PACKAGE / f"{stage}.py").exists():
        paths = [sources.PACKAGE / f"{name}.py" for name in sources.closure(stage)]
    else:
        paths = sorted(sources.PACKAGE.glob("*.py"))
    return sources.digest(paths)[:12]


def run_key(stage: str, params: Mapping[str, Any]) -> str:
    """Deterministic key of a stage's parameters (JSON, sorted) plus the version of the code it depends on.

    Parameters
    ----------
    stage : str
        The stage (``"data"``, ``"run"``, ``"census"``, ...); part of the key, and the module whose code
        version (:func:`code_version`) is hashed in.
    params : Mapping of str to Any
        The parameters that produce the stage's artifacts. Their order does not matter (keys are sorted);
        NumPy arrays are hashed as nested lists, other values JSON cannot hold by their ``str()``.

    Returns
    -------
    str
        16 hexadecimal digits: the start of the SHA-256 of the JSON of ``stage``, ``params`` and the code version.
    """
    blob = json.dumps({"stage": stage, "params": dict(params), "code": code_version(stage)}, sort_keys=True,
                      default=lambda v: v.tolist() if isinstance(v, np.ndarray) else str(v))
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def artifact_dir(stage: str, params: Mapping[str, Any]) -> Path:
    """``<artifact_root>/<stage>-<key>/``, created on demand; holds ``params.json`` for humans.

    Parameters
    ----------
    stage : str
        The stage (``"data"``, ``"run"``, ``"census"``, ...): the folder name's prefix.
    params : Mapping of str to Any
        The stage's parameters, keyed by :func:`run_key`.

    Returns
    -------
    pathlib.Path
        The folder under :func:`artifact_root` (created with its parents if missing). ``params.json`` (the stage,
        the parameters and the code version, indented and sorted) is written atomically only if it is missing,
        so an existing folder is not written to.

    Raises
    ------
    OSError
        When the folder or its ``params.json`` has to be created and cannot be (e.g. a read-only artifact root).
    """
    path = artifact_root() / f"{stage}-{run_key(stage, params)}"
    path.mkdir(parents=True, exist_ok=True)
    meta = path / "params.json"
    if not meta.exists():
        atomic_write_bytes(meta, json.dumps({"stage": stage, "params": dict(params), "code": code_version(stage)},
                                            indent=1, sort_keys=True, default=str).encode())
    return path


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write(path: Path, write: Callable[[Path], None]) -> Path:
    """Call ``write(tmp)`` on a temporary file next to ``path`` and rename it into place.

    A crash or an exception leaves no partial file at ``path`` (the temporary file is removed). The temporary
    file, ``.<name>.<random>.tmp`` in the same folder, is renamed with :func:`os.replace` (atomic, replacing an
    existing file); a process killed before that may leave it behind, for :func:`remove_temporaries`. The file
    gets the permissions the user's umask gives a new file (not ``mkstemp``'s 0600).

    Parameters
    ----------
    path : pathlib.Path or str
        The file to write; its folder is created (with parents) if missing.
    write : callable
        ``write(tmp)`` writes the whole content to ``tmp`` (a :class:`pathlib.Path`, an existing empty file);
        its return value is ignored.

    Returns
    -------
    pathlib.Path
        ``path``, complete.

    Raises
    ------
    OSError
        When the folder or the temporary file cannot be created, or the rename fails.
    BaseException
        Whatever ``write`` raises (an interrupt included), re-raised after the temporary file is removed;
        ``path`` is then untouched.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        write(Path(tmp))
        os.chmod(tmp, 0o666 & ~_umask())            # mkstemp creates 0600; artifacts follow the user's umask
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def atomic_write_bytes(path: Path, data: bytes) -> Path:
    """Atomically write ``data`` to ``path`` (:func:`atomic_write`).

    Parameters
    ----------
    path : pathlib.Path or str
        The file to write; its folder is created if missing, an existing file is replaced.
    data : bytes
        The file's whole content.

    Returns
    -------
    pathlib.Path
        ``path``, complete.

    Raises
    ------
    OSError
        When the file cannot be written or renamed into place (no partial file is left at ``path``).
    """
    return atomic_write(path, lambda tmp: tmp.write_bytes(data))


def save_npz(path: Path, **arrays: np.ndarray) -> Path:
    """Atomically write a compressed ``.npz``.

    The arrays are written with :func:`numpy.savez_compressed` to a temporary file renamed into place
    (:func:`atomic_write`).

    Parameters
    ----------
    path : pathlib.Path or str
        The file, used as given (no ``.npz`` suffix is added); its folder is created if missing.
    **arrays : numpy.ndarray
        The arrays, each stored under its keyword's name, of any shape. Use numeric, boolean or string
        dtypes: an object array is written pickled, and :func:`load_npz` refuses to read it back.

    Returns
    -------
    pathlib.Path
        ``path``, complete.

    Raises
    ------
    OSError
        When the file cannot be written or renamed into place (no partial file is left at ``path``).
    """
    def write(tmp: Path) -> None:
        with open(tmp, "wb") as fh:
            np.savez_compressed(fh, **arrays)
    return atomic_write(path, write)


class ArtifactError(RuntimeError):
    """An artifact exists but cannot be read or does not hold what it should.

    A :class:`RuntimeError`; its message names the file, the problem and, usually, the remedy (delete it to
    rebuild). Raised by :func:`load_npz` and (by default) :func:`verify`; :func:`build_once` rebuilds a stage
    that raises it.
    """


def load_npz(path: Path, required: tuple[str, ...] = ()) -> dict[str, np.ndarray]:
    """Load a whole ``.npz`` into memory; raise :class:`ArtifactError` naming the file if it is corrupt or
    lacks one of ``required``.

    Parameters
    ----------
    path : pathlib.Path or str
        The ``.npz`` file (e.g. written by :func:`save_npz`).
    required : tuple of str, optional
        Names of arrays the file must hold; default none. Other arrays in the file are loaded too.

    Returns
    -------
    dict of str to numpy.ndarray
        Every array of the file by name, with the shape and dtype it was saved with, read into memory (the
        file is closed).

    Raises
    ------
    ArtifactError
        When the file cannot be read (missing, truncated, not an ``.npz``, or holding an object array, which
        is never unpickled), or lacks a name of ``required``; the message says to delete it to rebuild.
    """
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {name: data[name] for name in data.files}
    except Exception as exc:  # zipfile / pickle / OS errors all mean the same to the caller
        raise ArtifactError(f"artifact {path} is unreadable ({type(exc).__name__}: {exc}); delete it to rebuild") \
            from exc
    missing = [name for name in required if name not in arrays]
    if missing:
        raise ArtifactError(f"artifact {path} lacks {missing}; delete it to rebuild")
    return arrays


#: The file that seals a finished artifact stage (and a shipped snapshot): sizes and SHA-256 of its files.
MANIFEST = "MANIFEST.json"


def sha256(path: Path) -> str:
    """Hex SHA-256 of a file's bytes.

    Parameters
    ----------
    path : pathlib.Path or str
        The file, read in 1 MiB blocks.

    Returns
    -------
    str
        64 lowercase hexadecimal digits.

    Raises
    ------
    OSError
        When the file cannot be opened or read (e.g. :class:`FileNotFoundError`).
    """
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def seal(folder: Path, names: tuple[str, ...], **extra: Any) -> Path:
    """Write ``folder/MANIFEST.json`` listing the size and SHA-256 of each file in ``names``.

    The manifest also holds the ``extra`` entries, e.g. a format version. Call it after every file is written: a
    stage without a manifest is unfinished.

    Parameters
    ----------
    folder : pathlib.Path or str
        The stage's folder.
    names : tuple of str
        The files to list, as paths relative to ``folder``; each must exist.
    **extra : Any
        Further top-level entries of the manifest, JSON-serialisable; an entry named ``files`` is replaced by
        the file list.

    Returns
    -------
    pathlib.Path
        The manifest, ``folder/MANIFEST.json``: a JSON object of the ``extra`` entries and ``"files"``, which
        maps each name to ``{"bytes": size, "sha256": hex digest}``; written atomically (:func:`atomic_write`).

    Raises
    ------
    OSError
        When a file of ``names`` is missing or unreadable, or the manifest cannot be written.
    TypeError
        When an ``extra`` value is not JSON-serialisable.
    """
    folder = Path(folder)
    files = {name: {"bytes": (folder / name).stat().st_size, "sha256": sha256(folder / name)} for name in names}
    return atomic_write_bytes(folder / MANIFEST, json.dumps(dict(extra, files=files), indent=1).encode())


def sealed(folder: Path) -> bool:
    """Whether ``folder`` has a manifest (its files are checked by :func:`verify`).

    Parameters
    ----------
    folder : pathlib.Path or str
        The stage's folder; it need not exist.

    Returns
    -------
    bool
        True when ``folder/MANIFEST.json`` is a file; neither it nor the files it lists are read.
    """
    return (Path(folder) / MANIFEST).is_file()


def verify(folder: Path, names: tuple[str, ...] = (), error: type[Exception] | None = None,
           remedy: str = "delete the folder to rebuild it") -> dict[str, Any]:
    """Check ``folder`` against its manifest: every listed file present, of its recorded size and SHA-256.

    Each of ``names`` must be listed too. Returns the manifest; raises ``error`` (default :class:`ArtifactError`)
    naming the file, the problem and ``remedy`` (if not empty) otherwise. Files in ``folder`` that the manifest
    does not list are not looked at.

    Parameters
    ----------
    folder : pathlib.Path or str
        The sealed folder (:func:`seal`).
    names : tuple of str, optional
        Files the manifest must list (relative to ``folder``); default none, only the listed files are checked.
    error : type of Exception, optional
        The exception class raised, called with the message; ``None`` (the default) for :class:`ArtifactError`.
    remedy : str, optional
        What to do about it, appended to the message after ``"; "``; ``""`` for none. Default
        ``"delete the folder to rebuild it"``.

    Returns
    -------
    dict of str to Any
        The parsed manifest: ``"files"`` (name to ``{"bytes": int, "sha256": str}``) and the extra entries
        :func:`seal` was given.

    Raises
    ------
    ArtifactError
        Or ``error`` when given: the manifest is missing (an unfinished, interrupted build), not JSON or
        malformed (corrupt), does not list one of ``names``, or a listed file is missing, has another size
        (truncated or replaced) or another SHA-256 (corrupt).
    OSError
        When the manifest or a listed file exists but cannot be read.
    """
    error = error or ArtifactError
    remedy = f"; {remedy}" if remedy else ""
    folder = Path(folder)
    path = folder / MANIFEST
    if not path.is_file():
        raise error(f"{folder} is unfinished: {MANIFEST} is missing (an interrupted build){remedy}")
    try:
        manifest = json.loads(path.read_text())
        files = manifest["files"]
        listed = {str(name): (int(entry["bytes"]), str(entry["sha256"])) for name, entry in files.items()}
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise error(f"{path} is corrupt ({type(exc).__name__}: {exc}){remedy}") from None
    for name in names:
        if name not in listed:
            raise error(f"{path} does not list {name}{remedy}")
    for name, (size, digest) in listed.items():
        file = folder / name
        if not file.is_file():
            raise error(f"{file} is missing{remedy}")
        actual = file.stat().st_size
        if actual != size:
            raise error(f"{file} has {actual} bytes, its manifest says {size} (truncated or replaced){remedy}")
        if sha256(file) != digest:
            raise error(f"{file} does not match its SHA-256 in {path} (corrupt){remedy}")
    return manifest


def remove_temporaries(folder: Path) -> list[Path]:
    """Delete the temporary files (``.*.tmp``) an interrupted :func:`atomic_write` left in ``folder``.

    Call it only while holding the folder's :class:`build_lock`, when no write of ours can be in progress there.

    Parameters
    ----------
    folder : pathlib.Path or str
        The folder; only its own files are matched (not those of subfolders). A missing folder has none.

    Returns
    -------
    list of pathlib.Path
        The files deleted, sorted; empty if there were none.

    Raises
    ------
    OSError
        When a temporary file cannot be deleted (e.g. a read-only folder).
    """
    stale = sorted(Path(folder).glob(".*.tmp"))
    for path in stale:
        path.unlink(missing_ok=True)
    return stale


def build_once(folder: Path, names: tuple[str, ...], build: Callable[[Path], None]) -> Path:
    """Make sure ``folder`` holds a finished, verified stage with the files ``names``, built by ``build(folder)``.

    A sealed stage that verifies is used as it is, without taking the lock, so a complete read-only cache
    works. Otherwise, under the folder's lock: leftover temporary files are removed; a stage another process
    finished meanwhile is used; a damaged one (a file missing, truncated or corrupt) is reported with a warning,
    deleted and rebuilt; then ``build`` writes the files and :func:`seal` seals them.

    Parameters
    ----------
    folder : pathlib.Path or str
        The stage's folder (e.g. from :func:`artifact_dir`); created when the lock is taken if missing.
    names : tuple of str
        The files the stage consists of, relative to ``folder``: checked by :func:`verify`, deleted from a
        damaged stage (with its manifest; other files stay) and sealed after ``build``.
    build : callable
        ``build(folder)`` writes every file of ``names`` into ``folder``, best atomically (:func:`atomic_write`,
        :func:`save_npz`); it runs under the lock, and its return value is ignored.

    Returns
    -------
    pathlib.Path
        ``folder``, holding the sealed and verified stage.

    Raises
    ------
    OSError
        When the lock cannot be taken (e.g. a read-only cache whose stage is damaged or unfinished), or when
        ``build`` left out a file of ``names`` (from :func:`seal`).
    Exception
        Whatever ``build`` raises; the stage then stays unsealed and is rebuilt by the next call.

    Warns
    -----
    RuntimeWarning
        ``<what verify found>; rebuilding it``, when a sealed stage found under the lock is damaged.
    """
    folder = Path(folder)
    if sealed(folder):
        try:
            verify(folder, names)
            return folder
        except ArtifactError:
            pass                                    # rebuilt below, under the lock
    with build_lock(folder):
        remove_temporaries(folder)
        if sealed(folder):
            try:
                verify(folder, names, remedy="")
                return folder
            except ArtifactError as err:
                warnings.warn(f"{err}; rebuilding it", RuntimeWarning, stacklevel=2)
                (folder / MANIFEST).unlink()
                for name in names:
                    (folder / name).unlink(missing_ok=True)
        build(folder)
        seal(folder, names)
    return folder


class build_lock:
    """Exclusive lock on an artifact folder while it is being built (``with build_lock(folder): ...``).

    Two chapters running at once (e.g. parallel tests) that need the same artifact then build it once: the
    second waits, then finds the finished artifact. Uses ``fcntl.flock`` on ``<folder>/.lock``.

    Entering creates the folder (with parents) and the lock file if missing, then waits, without a time limit,
    until no other holder has the lock; leaving releases it (the ``.lock`` file stays). The lock is advisory
    (it only excludes others that take it too), POSIX only, and not re-entrant: taking it again for the same
    folder while holding it waits forever, in one process as in two.

    Parameters
    ----------
    folder : pathlib.Path or str
        The artifact folder to lock.

    Attributes
    ----------
    path : pathlib.Path
        The lock file, ``<folder>/.lock``.

    Raises
    ------
    OSError
        On entering, when the folder or the lock file cannot be created or opened (e.g. a read-only folder).
    """

    def __init__(self, folder: Path):
        self.path = Path(folder) / ".lock"

    def __enter__(self) -> "build_lock":
        import fcntl

        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._fh = open(self.path, "w")
        fcntl.flock(self._fh, fcntl.LOCK_EX)
        return self

    def __exit__(self, *exc) -> None:
        import fcntl

        fcntl.flock(self._fh, fcntl.LOCK_UN)
        self._fh.close()
