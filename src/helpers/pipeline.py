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
import math
import os
import tempfile
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

PRESET_NAMES = ("ci", "default", "reference", "paper")


@dataclass(frozen=True)
class Spec:
    """What one parameter may be: a type, a closed numeric range and/or a set of choices."""

    kind: type
    low: float | None = None
    high: float | None = None
    choices: tuple | None = None
    doc: str = ""

    def describe(self) -> str:
        if self.choices is not None:
            return "one of " + ", ".join(repr(c) for c in self.choices)
        noun = {int: "an integer", float: "a number", str: "a string", tuple: "a sequence"}[self.kind]
        if self.low is None and self.high is None:
            return noun
        bound = (lambda v: f"{int(v):,}") if self.kind is int else (lambda v: repr(float(v)))
        lo = "-inf" if self.low is None else bound(self.low)
        hi = "inf" if self.high is None else bound(self.high)
        return f"{noun} in [{lo}, {hi}]"

    def check(self, name: str, value: Any) -> Any:
        given = value
        if self.kind is int:
            ok = isinstance(value, (int, np.integer)) and not isinstance(value, bool)
            value = int(value) if ok else value
        elif self.kind is float:
            ok = isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)
            ok = ok and math.isfinite(value)
            value = float(value) if ok else value
        elif self.kind is tuple:
            ok = isinstance(value, (list, tuple))
            value = tuple(value) if ok else value
        else:
            ok = isinstance(value, self.kind)
        if ok and self.choices is not None:
            ok = value in self.choices
        if ok and self.kind in (int, float):
            ok = (self.low is None or value >= self.low) and (self.high is None or value <= self.high)
        if not ok:
            raise ValueError(f"parameter {name!r} = {given!r} is invalid: it must be {self.describe()}"
                             + (f" ({self.doc})" if self.doc else ""))
        return value


def check_schedule(value: Any, name: str = "schedule") -> tuple[float, ...]:
    """The pruning schedule as floats; ``ValueError`` naming the parameter unless it is a non-empty, strictly
    increasing sequence of cumulative sparsities in (0, 1)."""
    try:
        values = tuple(float(v) for v in value)
    except (TypeError, ValueError):
        raise ValueError(f"parameter {name!r} = {value!r} is invalid: it must be a sequence of numbers") from None
    if not values or any(not (0.0 < v < 1.0) for v in values) or any(b <= a for a, b in zip(values, values[1:])):
        raise ValueError(f"parameter {name!r} = {value!r} is invalid: it must be a non-empty, strictly increasing "
                         "sequence of cumulative sparsities in (0, 1)")
    return values


#: The fewest flights a run may simulate: the ``ci`` preset's size, the smallest run every chapter is tested at
#: (its test split, 20 %, holds more than the 2,000 rows chapter 3 flies).
MIN_TRAJECTORIES = 20_000
#: The fewest null networks per real network (chapter 6 follows Z from 10 null networks up).
MIN_NULL = 10

#: Every parameter any chapter accepts, with its allowed values.
SPECS: dict[str, Spec] = {
    "preset": Spec(str, choices=PRESET_NAMES, doc="named bundle of sizes"),
    "seed": Spec(int, 0, 2**32 - 1, doc="master seed of the chapter"),
    "n_trajectories": Spec(int, MIN_TRAJECTORIES, 100_000_000, doc="simulated 20 ms flights; at least "
                           f"{MIN_TRAJECTORIES:,}, the smallest run the chapters are tested at"),
    "data_seed": Spec(int, 0, 2**32 - 1, doc="seed of the sampled flight conditions and the split"),
    "n_networks": Spec(int, 1, 1_000, doc="ensemble size"),
    "threshold": Spec(float, 1e-9, 1.0, doc="validation loss below which a pruned state counts as good"),
    "schedule": Spec(tuple, doc="cumulative sparsity targets of the pruning rounds"),
    "bias_pruning": Spec(str, choices=("original", "corrected"), doc="B3: how bias masks are pruned"),
    "device": Spec(str, choices=("cpu", "cuda"), doc="where the ensemble is trained"),
    "max_batches": Spec(int, 100, 10_000_000, doc="cap on the batches of one training round"),
    "max_batches_dense": Spec(int, 100, 10_000_000, doc="cap on the batches of the first (dense) training round"),
    "stopping": Spec(str, choices=("group", "network"), doc="early stopping of a pruning round: one decision "
                     "on the networks' mean validation loss (the original's) or one per network"),
    "n_eval": Spec(int, 1_000, 100_000_000, doc="saved states are evaluated on the first n_eval rows of the "
                   "validation and test splits"),
    "first_network": Spec(int, 0, 1_000_000, doc="index of the run's first network in its seed sequence"),
    "ensemble_source": Spec(str, choices=("reference", "live"), doc="which ensemble the analysis chapters read: "
                            "the shipped reference ensemble or a run trained by this book"),
    "n_analysed": Spec(int, 1, 100_000, doc="how many of the reference ensemble's networks are analysed (its "
                       "first n; all if it has fewer)"),
    "n_null": Spec(int, MIN_NULL, 100_000, doc=f"random networks per real network; at least {MIN_NULL}, the "
                   "smallest null sample whose Z chapter 6 follows"),
    "null_model": Spec(str, choices=("paper", "degree"), doc="which null model a single-network analysis shows "
                       "(the census scores both)"),
    "null_outputs": Spec(str, choices=("live", "all"), doc="which output neurons a null may wire: those live in "
                         "the real network (ours) or all of them (the original's rule)"),
    "convention": Spec(str, choices=("paper", "subgraph"), doc="how chains and 3rd-order converging count"),
    "threads": Spec(int, 1, 256, doc="CPU threads torch uses in a chapter (1 at ci: the committed outputs are "
                    "reproducible bit for bit)"),
    "network": Spec(int, 0, 999_999, doc="which network of the analysed ensemble chapters 5 and 6 show; it "
                    "must exist in that ensemble"),
}

#: The SPEC's pruning schedule (cumulative sparsity targets; the last prune is never trained).
PAPER_SCHEDULE = (0.15, 0.25, 0.35, 0.45, 0.55, 0.65, 0.75, 0.85, 0.90, 0.91, 0.92, 0.93, 0.94, 0.95, 0.96,
                  0.97, 0.98, 0.99)

#: Preset values. ``ci`` keeps every chapter to about a minute; ``default`` is a laptop-sized real run;
#: ``paper`` is the original study's scale.
_COMMON = dict(seed=0, data_seed=0, threshold=1e-3, schedule=PAPER_SCHEDULE, bias_pruning="original",
               stopping="group", first_network=0, null_model="paper", null_outputs="live", convention="paper",
               network=0, threads=2)
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

    ``None`` means "take the preset's value". Raises ``ValueError`` naming the first bad parameter (unknown
    name, wrong type, out of range) before anything is computed or written.
    """
    SPECS["preset"].check("preset", preset)
    out: dict[str, Any] = {"preset": preset}
    for name, value in given.items():
        if name not in SPECS:
            raise ValueError(f"unknown parameter {name!r}; known: {', '.join(sorted(SPECS))}")
        if value is None:
            value = PRESETS[preset][name]
        value = SPECS[name].check(name, value)
        if name == "schedule":
            value = check_schedule(value, name)
        if name == "device" and value == "cuda":
            check_cuda()
        out[name] = value
    return out


def check_cuda() -> None:
    """``ValueError`` naming the parameter unless torch sees a CUDA device (checked before any work)."""
    import torch

    if not torch.cuda.is_available():
        raise ValueError("parameter 'device' = 'cuda' is invalid: torch finds no CUDA device on this machine "
                         "(use device=cpu, or run on a machine with a GPU)")


#: Names a notebook's namespace holds besides its parameters (IPython's own).
_NOTEBOOK_NAMES = frozenset({"In", "Out", "exit", "quit", "get_ipython", "open"})


def chapter(namespace: Mapping[str, Any]) -> dict[str, Any]:
    """The setup of a chapter, from its namespace (``globals()``) after its imports: unknown names refused
    (:func:`reject_unknown`), every parameter its ``parameters`` cell declares resolved against ``preset`` and
    validated (:func:`resolve`), torch's threads set to the preset's ``threads`` when torch is in use. Returns the
    resolved parameters."""
    import sys

    reject_unknown(namespace)
    params = resolve(namespace["preset"], **{k: namespace[k] for k in SPECS if k in namespace and k != "preset"})
    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(value(params, "threads"))
    return params


def reject_unknown(namespace: Mapping[str, Any]) -> None:
    """Stop a chapter that was given a parameter it does not know (papermill only warns and injects it).

    Call it in the chapter's setup cell after the imports and before anything else is defined: every name then in
    ``namespace`` that is not private, a module, a function or a class must be a parameter (:data:`SPECS`).
    Raises ``ValueError`` naming the unknown names and listing the known ones."""
    import types

    unknown = sorted(k for k, v in namespace.items()
                     if not k.startswith("_") and k not in SPECS and k not in _NOTEBOOK_NAMES
                     and not isinstance(v, (types.ModuleType, type)) and not callable(v))
    if unknown:
        raise ValueError(f"unknown parameter{'s' if len(unknown) > 1 else ''} {', '.join(map(repr, unknown))}; "
                         f"known: {', '.join(sorted(SPECS))}")


def value(params: Mapping[str, Any], name: str) -> Any:
    """``params[name]``, or the value of ``params["preset"]`` where a chapter does not take that parameter."""
    return params[name] if name in params else PRESETS[params.get("preset", "default")][name]


# --------------------------------------------------------------------------------------------- artifacts

def repo_root() -> Path:
    """The repository root (where ``pyproject.toml`` sits) for an editable install, else the working dir."""
    here = Path(__file__).resolve()
    for parent in here.parents:
        if (parent / "pyproject.toml").exists() and (parent / "src" / "helpers").is_dir():
            return parent
    return Path.cwd()


def artifact_root() -> Path:
    """Where artifacts live: ``$HELPERS_ARTIFACTS`` if set, else ``<repo>/artifacts``."""
    return Path(os.environ.get("HELPERS_ARTIFACTS", repo_root() / "artifacts"))


def code_version(stage: str | None = None) -> str:
    """A short hash of the code a stage's artifacts depend on: the stage's module (``"data"``, ``"pruning"``,
    ``"census"``) and every helper module it imports (:func:`helpers.sources.closure`); all helper modules for
    ``None`` or a stage without a module of its name. Comments and docstrings do not count
    (:func:`helpers.sources.digest`), so only a change of the code re-keys the stage's artifacts."""
    from helpers import sources

    if stage and (sources.PACKAGE / f"{stage}.py").exists():
        paths = [sources.PACKAGE / f"{name}.py" for name in sources.closure(stage)]
    else:
        paths = sorted(sources.PACKAGE.glob("*.py"))
    return sources.digest(paths)[:12]


def run_key(stage: str, params: Mapping[str, Any]) -> str:
    """Deterministic key of a stage's parameters (JSON, sorted) plus the version of the code it depends on."""
    blob = json.dumps({"stage": stage, "params": dict(params), "code": code_version(stage)}, sort_keys=True,
                      default=lambda v: v.tolist() if isinstance(v, np.ndarray) else str(v))
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def artifact_dir(stage: str, params: Mapping[str, Any]) -> Path:
    """``<artifact_root>/<stage>-<key>/``, created on demand; holds ``params.json`` for humans."""
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

    A crash or an exception leaves no partial file at ``path`` (the temporary file is removed).
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
    return atomic_write(path, lambda tmp: tmp.write_bytes(data))


def save_npz(path: Path, **arrays: np.ndarray) -> Path:
    """Atomically write a compressed ``.npz``."""
    def write(tmp: Path) -> None:
        with open(tmp, "wb") as fh:
            np.savez_compressed(fh, **arrays)
    return atomic_write(path, write)


class ArtifactError(RuntimeError):
    """An artifact exists but cannot be read or does not hold what it should."""


def load_npz(path: Path, required: tuple[str, ...] = ()) -> dict[str, np.ndarray]:
    """Load a whole ``.npz`` into memory; raise :class:`ArtifactError` naming the file if it is corrupt or
    lacks one of ``required``."""
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
    """Hex SHA-256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def seal(folder: Path, names: tuple[str, ...], **extra: Any) -> Path:
    """Write ``folder/MANIFEST.json`` listing the size and SHA-256 of each file in ``names`` (plus ``extra``
    entries, e.g. a format version). Call it after every file is written: a stage without a manifest is
    unfinished."""
    folder = Path(folder)
    files = {name: {"bytes": (folder / name).stat().st_size, "sha256": sha256(folder / name)} for name in names}
    return atomic_write_bytes(folder / MANIFEST, json.dumps(dict(extra, files=files), indent=1).encode())


def sealed(folder: Path) -> bool:
    """Whether ``folder`` has a manifest (its files are checked by :func:`verify`)."""
    return (Path(folder) / MANIFEST).is_file()


def verify(folder: Path, names: tuple[str, ...] = (), error: type[Exception] | None = None,
           remedy: str = "delete the folder to rebuild it") -> dict[str, Any]:
    """Check ``folder`` against its manifest: every listed file (and each of ``names``, which must be listed)
    present, of its recorded size and SHA-256. Returns the manifest; raises ``error`` (default
    :class:`ArtifactError`) naming the file, the problem and ``remedy`` (if not empty) otherwise."""
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
    """Delete the temporary files (``.*.tmp``) an interrupted :func:`atomic_write` left in ``folder``; call it only
    while holding the folder's :class:`build_lock`, when no write of ours can be in progress there."""
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
