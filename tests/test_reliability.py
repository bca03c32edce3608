"""Nothing silently wrong: bad parameters refused up front, damaged artifacts found before use, interrupted
writes cleaned up, a complete read-only cache readable.

Each case asserts either a clear error that names what is wrong, or the identical result.
"""
from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import warnings

import numpy as np
import pandas as pd
import pytest

from helpers import analysed, census, data, graph, notebooks, pipeline, runner
from helpers import run as R
from helpers.pipeline import repo_root

ROOT = repo_root()
N = 20_000

# ------------------------------------------------------------------------------------- bad parameters

BAD_PARAMS = [
    # (NAME=VALUE as given to the runner, what the message must say)
    ("n_network=1", "unknown parameter 'n_network'"),
    ("seeds=3", "unknown parameter 'seeds'"),
    ("nnull=5", "unknown parameter 'nnull'"),
    ("seed=1.5", "'seed' = 1.5 is invalid: it must be an integer in [0, 4,294,967,295]"),
    ("seed=-1", "'seed' = -1 is invalid: it must be an integer in [0, 4,294,967,295]"),
    ("seed=abc", "'seed' = 'abc' is invalid"),
    ("seed=True", "'seed' = True is invalid"),
    ("data_seed=4294967296", "'data_seed' = 4294967296 is invalid"),
    ("n_networks=0", "'n_networks' = 0 is invalid: it must be an integer in [1, 1,000]"),
    ("n_networks=2.0", "'n_networks' = 2.0 is invalid"),
    ("n_trajectories=5000", "'n_trajectories' = 5000 is invalid: it must be an integer in [20,000, 100,000,000]"),
    ("n_trajectories=1000000000", "'n_trajectories' = 1000000000 is invalid"),
    ("threshold=0", "'threshold' = 0 is invalid: it must be a number in [1e-09, 1.0]"),
    ("threshold=2.0", "'threshold' = 2.0 is invalid"),
    ("threshold=nan", "'threshold' = 'nan' is invalid"),
    ("schedule=[]", "'schedule' = () is invalid"),
    ("schedule=[0.5,0.4]", "strictly increasing"),
    ("schedule=[0.0,0.5]", "sparsities in (0, 1)"),
    ("schedule=[0.5,1.0]", "sparsities in (0, 1)"),
    ("schedule=abc", "'schedule' = 'abc' is invalid"),
    ("bias_pruning=never", "'bias_pruning' = 'never' is invalid: it must be one of 'original', 'corrected'"),
    ("device=tpu", "'device' = 'tpu' is invalid: it must be one of 'cpu', 'cuda'"),
    ("max_batches=50", "'max_batches' = 50 is invalid: it must be an integer in [100, 10,000,000]"),
    ("max_batches_dense=99", "'max_batches_dense' = 99 is invalid"),
    ("stopping=never", "'stopping' = 'never' is invalid"),
    ("n_eval=10", "'n_eval' = 10 is invalid: it must be an integer in [1,000, 100,000,000]"),
    ("first_network=-1", "'first_network' = -1 is invalid"),
    ("ensemble_source=nowhere", "'ensemble_source' = 'nowhere' is invalid"),
    ("n_analysed=0", "'n_analysed' = 0 is invalid"),
    ("n_null=3", "'n_null' = 3 is invalid: it must be an integer in [10, 100,000]"),
    ("n_null=9", "'n_null' = 9 is invalid"),
    ("null_model=erdos", "'null_model' = 'erdos' is invalid: it must be one of 'paper', 'degree'"),
    ("null_outputs=some", "'null_outputs' = 'some' is invalid: it must be one of 'live', 'all'"),
    ("convention=other", "'convention' = 'other' is invalid"),
    ("network=-1", "'network' = -1 is invalid: it must be an integer in [0, 999,999]"),
    ("network=1.5", "'network' = 1.5 is invalid"),
    ("preset=paper", "set the preset with --preset"),
    ("max_batches", "is not of the form NAME=VALUE"),
]


@pytest.mark.parametrize("item, message", BAD_PARAMS, ids=[item for item, _ in BAD_PARAMS])
def test_the_runner_refuses_a_bad_parameter_before_any_chapter_runs(item, message, tmp_path, capsys):
    with pytest.raises(SystemExit) as stop:
        runner.main(["--preset", "ci", "--param", item, "--out", str(tmp_path / "stage")])
    assert stop.value.code == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "stage").exists(), "nothing may be staged or executed"


def test_the_runner_accepts_every_parameter_some_chapter_takes():
    declared = {name for notebook in notebooks.chapters(ROOT)
                for name in runner.chapter_params(notebook, dict.fromkeys(pipeline.SPECS, 0))}
    preset_only = {"stopping", "n_eval", "first_network", "threads", "loss_networks", "validation", "pruned_state",
                   "task"}
    assert declared - {"preset"} == set(pipeline.SPECS) - {"preset"} - preset_only
    assert runner.parse_params(["network=2", "n_null=10"], "ci") == {"network": 2, "n_null": 10}


@pytest.mark.skipif(__import__("torch").cuda.is_available(), reason="this machine has a CUDA device")
def test_cuda_without_a_device_is_refused_up_front():
    with pytest.raises(ValueError, match="'device' = 'cuda' is invalid: torch finds no CUDA device"):
        runner.parse_params(["device=cuda"], "ci")


def test_every_preset_is_valid():
    for preset, values in pipeline.PRESETS.items():
        names = [n for n in values if n != "device" or values[n] == "cpu"]
        pipeline.resolve(preset, **dict.fromkeys(names))


def papermill(notebook: str, tmp_path, *params: str) -> subprocess.CompletedProcess:
    args = [sys.executable, "-m", "papermill", str(ROOT / "book" / notebook), str(tmp_path / "out.ipynb"),
            "--cwd", str(ROOT / "book"), "-k", "python3", "-p", "preset", "ci"]
    for item in params:
        name, value = item.split("=")
        args += ["-p", name, value]
    return subprocess.run(args, capture_output=True, text=True, timeout=600,
                          env=dict(os.environ, HELPERS_ARTIFACTS=str(tmp_path / "artifacts")))


@pytest.mark.parametrize("notebook, item, message", [
    ("02_training_data.ipynb", "n_trajectory=30000", "unknown parameter 'n_trajectory'; known:"),
    ("06_significance.ipynb", "n_null=3", "'n_null' = 3 is invalid: it must be an integer in [10, 100,000]"),
    ("06_significance.ipynb", "network=99", "'network' = 99 is invalid"),
])
def test_a_chapter_run_through_papermill_stops_on_a_bad_parameter(notebook, item, message, tmp_path):
    done = papermill(notebook, tmp_path, item)
    assert done.returncode != 0
    assert message in done.stdout + done.stderr
    assert not (tmp_path / "artifacts").exists() or not any((tmp_path / "artifacts").rglob("*.npz"))


def test_reject_unknown_ignores_imports_and_private_names():
    import numpy
    pipeline.reject_unknown({"np": numpy, "_x": 1, "In": [], "preset": "ci", "seed": None, "f": print})
    with pytest.raises(ValueError, match="unknown parameters 'a', 'b'; known: bias_pruning"):
        pipeline.reject_unknown({"a": 1, "b": None, "preset": "ci"})


# ------------------------------------------------------------------------------------- damaged artifacts

@pytest.fixture()
def store(tmp_path, monkeypatch):
    monkeypatch.setenv("HELPERS_ARTIFACTS", str(tmp_path))
    return tmp_path


def damage(path, how: str) -> None:
    raw = path.read_bytes()
    if how == "truncated":
        path.write_bytes(raw[: len(raw) // 2])
    elif how == "zeroed":
        path.write_bytes(bytes(len(raw)))
    elif how == "bit-flipped":
        at = min(200, len(raw) // 2)
        path.write_bytes(raw[:at] + bytes([raw[at] ^ 0x10]) + raw[at + 1:])
    elif how == "deleted":
        path.unlink()
    else:
        raise AssertionError(how)


@pytest.mark.parametrize("how", ["truncated", "zeroed", "bit-flipped", "deleted"])
def test_a_damaged_data_set_is_found_and_rebuilt_identically(store, how):
    first = data.load_or_build(N, 3)
    inputs = first.inputs.copy()
    damage(first.path, how)
    with pytest.warns(RuntimeWarning, match="dataset.npz .*rebuilding it"):
        again = data.load_or_build(N, 3)
    np.testing.assert_array_equal(again.inputs, inputs)
    pipeline.verify(again.path.parent)


def test_a_sealed_data_set_with_nan_rows_is_refused_naming_the_column(store):
    ds = data.load_or_build(N, 3)
    arrays = {k: getattr(ds, k).copy() for k in data.ARRAYS}
    arrays["outputs"][5:9, 2] = np.nan
    np.savez(ds.path, **arrays)
    pipeline.seal(ds.path.parent, (ds.path.name,))
    with pytest.raises(pipeline.ArtifactError, match=r"column 'tau' of outputs holds 4 non-finite value"):
        data.load_or_build(N, 3)


class FakeStates(dict):
    """2 synthetic networks × 2 states (no training)."""
    SPARSITY = np.array([0.5, 0.8])

    def masks(self, e, s):
        return graph.synthetic_pruned((4, 10, 10, 3), sparsity=self.SPARSITY[s], seed=e)


def fake_ensemble(monkeypatch) -> FakeStates:
    states = FakeStates(sparsity=FakeStates.SPARSITY, val_loss=np.zeros((2, 2)), optimal=np.array([1, 1]))
    monkeypatch.setattr(analysed, "ensemble", lambda params, progress=False: states)
    monkeypatch.setattr(analysed, "key", lambda params: {"fake": 2})
    return states


@pytest.fixture(scope="module")
def fake_census_built(tmp_path_factory):
    """The census of :class:`FakeStates` (10 nulls), computed once for the module: its tables and sealed folder."""
    with pytest.MonkeyPatch.context() as monkeypatch:
        root = tmp_path_factory.mktemp("census-store")
        monkeypatch.setenv("HELPERS_ARTIFACTS", str(root))
        fake_ensemble(monkeypatch)
        params = dict(seed=1, n_null=10, null_outputs="live")
        out = census.census(params)
        return params, out, next(root.glob("census-*"))


@pytest.fixture
def fake_census(store, monkeypatch, fake_census_built):
    """A copy of the built census in this test's artifact store (damage it freely), its ensemble in place."""
    import shutil

    params, out, built = fake_census_built
    fake_ensemble(monkeypatch)
    folder = store / built.name
    shutil.copytree(built, folder)
    return params, {name: frame.copy() for name, frame in out.items() if name != "states"}, folder


@pytest.mark.parametrize("name", census.FILES)
@pytest.mark.parametrize("how", ["truncated", "zeroed", "bit-flipped", "deleted"])
def test_a_damaged_census_table_is_found_and_rebuilt_identically(fake_census, name, how):
    params, out, folder = fake_census
    damage(folder / name, how)
    with pytest.warns(RuntimeWarning, match=f"{name}.*rebuilding it"):
        again = census.census(params)
    pd.testing.assert_frame_equal(again["z"], out["z"])
    pd.testing.assert_frame_equal(again["noise"], out["noise"])


def test_a_census_cut_at_a_line_boundary_is_found(fake_census):
    params, out, folder = fake_census
    lines = (folder / "z.csv").read_text().splitlines(keepends=True)
    (folder / "z.csv").write_text("".join(lines[: len(lines) // 2]))
    pipeline.seal(folder, census.FILES)                       # even with a matching manifest
    with pytest.raises(pipeline.ArtifactError, match=r"z.csv has \d+ rows, expected 128 distinct ones"):
        census.census(params)


@pytest.mark.parametrize("column, value, message", [
    ("real", np.nan, "column 'real' holds 1 invalid value"),
    ("real", -3, "column 'real' holds 1 invalid value"),
    ("z", np.inf, "column 'z' holds 1 invalid value"),
    ("null", "erdos", "column 'null' holds 'erdos'"),
    ("network", 7, "column 'network' holds 7"),
])
def test_a_census_with_invalid_values_is_refused_naming_the_column(fake_census, column, value, message):
    params, out, folder = fake_census
    z = out["z"].copy()
    z[column] = z[column].astype(object)
    z.loc[3, column] = value
    z.to_csv(folder / "z.csv", index=False)
    pipeline.seal(folder, census.FILES)
    with pytest.raises(pipeline.ArtifactError, match=message):
        census.census(params)


def test_a_missing_or_corrupt_manifest_is_reported_by_name(tmp_path):
    (tmp_path / "a.txt").write_text("x")
    with pytest.raises(pipeline.ArtifactError, match="MANIFEST.json is missing"):
        pipeline.verify(tmp_path)
    (tmp_path / "MANIFEST.json").write_text("{not json")
    with pytest.raises(pipeline.ArtifactError, match="MANIFEST.json is corrupt"):
        pipeline.verify(tmp_path)
    pipeline.seal(tmp_path, ("a.txt",))
    with pytest.raises(pipeline.ArtifactError, match="does not list b.txt"):
        pipeline.verify(tmp_path, ("a.txt", "b.txt"))


# -------------------------------------------------------------------- interrupted writes, read-only cache

def test_temporary_files_of_an_interrupted_write_are_removed_by_the_next_build(fake_census, store):
    params, out, folder = fake_census
    stale = folder / ".z.csv.abc123.tmp"
    stale.write_bytes(b"x" * 1000)                           # what a kill during a write leaves
    (folder / "noise.csv").unlink()                           # the stage must be rebuilt
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        census.census(params)
    assert not stale.exists()
    assert not list(store.rglob(".*.tmp"))


def test_a_complete_cache_is_read_without_taking_the_write_lock(fake_census, store, monkeypatch):
    params, out, folder = fake_census
    ds = data.load_or_build(N, 4)

    def no_lock(self):
        raise PermissionError(f"{self.path}: read-only")

    monkeypatch.setattr(pipeline.build_lock, "__enter__", no_lock)
    pd.testing.assert_frame_equal(census.census(params)["z"], out["z"])
    np.testing.assert_array_equal(data.load_or_build(N, 4).inputs, ds.inputs)


@pytest.mark.skipif(os.geteuid() == 0, reason="root can write to read-only folders")
def test_a_complete_read_only_cache_is_readable(fake_census, store):
    params, out, folder = fake_census
    ds = data.load_or_build(N, 4)
    modes = {}
    for path in [store, *store.rglob("*")]:
        modes[path] = path.stat().st_mode
        path.chmod(path.stat().st_mode & ~(stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))
    try:
        again = census.census(params)
        pd.testing.assert_frame_equal(again["z"], out["z"])
        np.testing.assert_array_equal(data.load_or_build(N, 4).inputs, ds.inputs)
    finally:
        for path, mode in modes.items():
            path.chmod(mode)


def test_artifacts_follow_the_users_umask(store):
    old = os.umask(0o022)
    try:
        ds = data.load_or_build(N, 5)
    finally:
        os.umask(old)
    for path in (ds.path, ds.path.parent / pipeline.MANIFEST):
        assert stat.S_IMODE(path.stat().st_mode) == 0o644, path


def test_the_manifest_records_every_file_of_the_stage(store):
    ds = data.load_or_build(N, 5)
    manifest = json.loads((ds.path.parent / pipeline.MANIFEST).read_text())
    assert set(manifest["files"]) == {"dataset.npz"}
    assert manifest["files"]["dataset.npz"]["bytes"] == ds.path.stat().st_size


# -------------------------------------------------------------------------- kills and concurrent runs

def python(code: str, store, **kw) -> subprocess.Popen:
    """A separate Python process running ``code`` with this test's artifact folder."""
    return subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=dict(os.environ, HELPERS_ARTIFACTS=str(store)), **kw)


def test_two_concurrent_builds_of_one_stage_agree_and_build_it_once(store):
    code = ("import hashlib; from helpers import data; ds = data.load_or_build(20_000, 7); "
            "print(hashlib.sha256(ds.inputs.tobytes()).hexdigest())")
    runs = [python(code, store) for _ in range(2)]
    outputs = [run.communicate(timeout=600) for run in runs]
    assert all(run.returncode == 0 for run in runs), [err for _, err in outputs]
    assert outputs[0][0] == outputs[1][0]
    folders = list(store.glob("data-*"))
    assert len(folders) == 1 and len(list(folders[0].glob("*.npz"))) == 1
    pipeline.verify(folders[0])
    assert not list(store.rglob(".*.tmp"))


def test_a_pruning_run_killed_between_rounds_resumes_to_identical_results(tmp_path):
    tests = ROOT / "tests"
    setup = (f"import sys; sys.path.insert(0, {str(tests)!r}); from test_pruning import small_data, SCHED; "
             "from helpers import run as R; "
             "kw = dict(max_batches=3, max_batches_dense=5, bias_pruning='original')\n")
    whole = subprocess.run([sys.executable, "-c", setup + f"R.run_pruning({str(tmp_path / 'whole')!r}, "
                            "small_data(1), [5, 6], SCHED, **kw)"], capture_output=True, text=True, timeout=600)
    assert whole.returncode == 0, whole.stderr
    kill = ("import os, signal\n"
            "def on_round(r):\n    if r == 1:\n        os.kill(os.getpid(), signal.SIGKILL)\n")
    cut = subprocess.run([sys.executable, "-c", setup + kill + f"R.run_pruning({str(tmp_path / 'cut')!r}, "
                          "small_data(1), [5, 6], SCHED, on_round=on_round, **kw)"],
                         capture_output=True, text=True, timeout=600)
    assert cut.returncode == -9, "the run must have been killed"
    assert not pipeline.sealed(tmp_path / "cut") and (tmp_path / "cut" / "checkpoint.pt").exists()
    resumed = subprocess.run([sys.executable, "-c", setup + f"R.run_pruning({str(tmp_path / 'cut')!r}, "
                              "small_data(1), [5, 6], SCHED, **kw)"], capture_output=True, text=True, timeout=600)
    assert resumed.returncode == 0, resumed.stderr
    a, b = (R.load_states(tmp_path / name) for name in ("whole", "cut"))
    for key in ("val_loss", "test_loss", "batches", "curve_val", "mask0", "mask3", "optimal"):
        assert np.array_equal(a[key], b[key], equal_nan=True), key
    assert not list((tmp_path / "cut").glob(".*.tmp"))


@pytest.mark.parametrize("name", ["checkpoint.pt", "dense.pt", "summary.npz"])
def test_a_finished_pruning_run_seals_its_checkpoints_too(tmp_path, name):
    from test_pruning import SCHED, small_data

    from helpers import snapshot
    R.run_pruning(tmp_path / "run", small_data(2), [3], SCHED, max_batches=3, max_batches_dense=5)
    listed = json.loads((tmp_path / "run" / pipeline.MANIFEST).read_text())["files"]
    assert {"checkpoint.pt", "dense.pt", "run.json"} - set(listed) == {"run.json"}     # run_pruning writes no run.json
    damage(tmp_path / "run" / name, "bit-flipped")
    with pytest.raises(snapshot.SnapshotError, match=f"{name} does not match its SHA-256"):
        R.load_states(tmp_path / "run")


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory):
    from test_pruning import SCHED, small_data
    folder = tmp_path_factory.mktemp("finished") / "run"
    R.run_pruning(folder, small_data(4), [3, 4], SCHED, max_batches=3, max_batches_dense=5)
    return folder


@pytest.mark.parametrize("name", ["summary.npz", "weights.npz", "provenance.json"])
@pytest.mark.parametrize("how", ["truncated", "zeroed", "bit-flipped", "deleted"])
def test_a_damaged_pruning_run_is_reported_by_file_with_a_remedy(finished_run, tmp_path, name, how):
    import shutil

    from helpers import snapshot
    folder = tmp_path / "copy"
    shutil.copytree(finished_run, folder)
    damage(folder / name, how)
    with pytest.raises(snapshot.SnapshotError, match=rf"{name}.*delete .*copy to train it again"):
        R.load_states(folder)


@pytest.mark.parametrize("key, value, message", [
    ("val_loss", np.nan, "'val_loss' holds 1 non-finite or negative value"),
    ("test_loss", -1.0, "'test_loss' holds 1 non-finite or negative value"),
    ("sparsity", 2.0, "'sparsity' must increase within"),
])
def test_a_sealed_pruning_run_with_invalid_values_is_refused_naming_the_array(finished_run, tmp_path, key, value,
                                                                              message):
    import shutil

    from helpers import snapshot
    folder = tmp_path / "copy"
    shutil.copytree(finished_run, folder)
    summary = dict(np.load(folder / "summary.npz"))
    summary[key] = summary[key].astype(np.float64)
    summary[key].flat[-1] = value
    np.savez_compressed(folder / "summary.npz", **summary)
    files = tuple(json.loads((folder / pipeline.MANIFEST).read_text())["files"])
    pipeline.seal(folder, files, format=snapshot.FORMAT, version=snapshot.VERSION)
    with pytest.raises(snapshot.SnapshotError, match=message):
        R.load_states(folder)


# ------------------------------------------------------------------ found by a new user: environment and cluster

@pytest.mark.parametrize("value", ["", "   "])
def test_an_empty_artifacts_variable_means_the_default_folder_not_the_working_one(value, tmp_path, monkeypatch):
    monkeypatch.setenv("HELPERS_ARTIFACTS", value)
    monkeypatch.chdir(tmp_path)                              # e.g. a chapter's folder under book/
    assert pipeline.artifact_root() == ROOT / "artifacts"
    monkeypatch.setenv("HELPERS_ARTIFACTS", str(tmp_path / "elsewhere"))
    assert pipeline.artifact_root() == tmp_path / "elsewhere"


@pytest.mark.parametrize("item, env, message", [
    ("scheduler=garbage", {}, "parameter 'scheduler' = 'garbage' is invalid"),
    ("scheduler=tcp://127.0.0.1:1", {}, "cannot reach the Dask scheduler at 'tcp://127.0.0.1:1'"),
    (None, {"HELPERS_SCHEDULER": "garbage"}, "environment variable HELPERS_SCHEDULER = 'garbage' is invalid"),
    (None, {"HELPERS_NO_WORKER_TIMEOUT": "soon"}, "environment variable HELPERS_NO_WORKER_TIMEOUT = 'soon'"),
])
def test_the_runner_checks_the_scheduler_before_any_chapter_runs(item, env, message, tmp_path, monkeypatch, capsys):
    for name in ("HELPERS_SCHEDULER", "HELPERS_NO_WORKER_TIMEOUT"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)

    def no_chapter(*args, **kwargs):
        raise AssertionError("a chapter was executed before the scheduler was checked")

    monkeypatch.setattr(runner, "execute", no_chapter)
    with pytest.raises(SystemExit) as stop:
        runner.main(["--preset", "ci", "--out", str(tmp_path / "stage")] + (["--param", item] if item else []))
    assert stop.value.code == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "stage").exists(), "nothing may be staged or executed"


@pytest.fixture
def synthetic_states(store, monkeypatch):
    """The ensemble of :func:`fake_census` (2 synthetic networks × 2 states), without computing a census."""
    fake_ensemble(monkeypatch)
    return dict(seed=1, n_null=10, null_outputs="live")


def test_a_census_whose_workers_all_died_gives_up_naming_the_scheduler(synthetic_states, store, monkeypatch):
    import threading
    import time

    from distributed import Client, LocalCluster

    from helpers import cluster
    monkeypatch.delenv(cluster.ENV, raising=False)
    monkeypatch.setenv("HELPERS_NO_WORKER_TIMEOUT", "2")                # the documented variable
    dead = LocalCluster(n_workers=1, threads_per_worker=1, processes=False, host="127.0.0.1", protocol="tcp",
                        dashboard_address=None)
    try:
        address = dead.scheduler_address
        with Client(address, set_as_default=False) as dask:
            dead.scale(0)                                        # its only worker leaves
            deadline = time.monotonic() + 30
            while dask.nthreads() and time.monotonic() < deadline:
                time.sleep(0.05)
            assert not dask.nthreads()
        outcome = {}

        def run():
            try:
                census.census(dict(synthetic_states, scheduler=address))
            except BaseException as exc:                      # noqa: BLE001 - examined below
                outcome["error"] = exc

        started = time.monotonic()
        thread = threading.Thread(target=run, daemon=True)
        thread.start()
        thread.join(timeout=60)
        assert not thread.is_alive(), "the census waited for workers without a time limit"
        assert isinstance(outcome.get("error"), TimeoutError), outcome
        assert address in str(outcome["error"]) and "no Dask worker" in str(outcome["error"])
        assert time.monotonic() - started < 30
    finally:
        dead.close()
    folder, = store.glob("census-*")
    left = {p.name for p in folder.iterdir()}
    assert not left & {"z.csv", "noise.csv", pipeline.MANIFEST}, left


@pytest.mark.parametrize("name, column, value, message", [
    ("z.csv", "sp", 123.456, r"sp=123.456 with z="),               # outside [-1, 1]
    ("noise.csv", "sp", -1.5, r"sp=-1.5 with z="),
    ("z.csv", "sp", np.nan, r"sp=nan with z=-?\d"),                # missing where Z is defined
    ("z.csv", "z", np.nan, r"sp=-?\d.* with z=nan"),               # defined where Z is missing
])
def test_a_census_with_an_impossible_significance_profile_is_refused(fake_census, name, column, value, message):
    params, out, folder = fake_census
    table = pd.read_csv(folder / name)
    row = int(np.flatnonzero(np.isfinite(table["z"]) & np.isfinite(table["sp"]) & (table["z"] != 0))[2])
    table.loc[row, column] = value
    table.to_csv(folder / name, index=False)
    pipeline.seal(folder, census.FILES)
    with pytest.raises(pipeline.ArtifactError, match=rf"{name}: column 'sp' holds 1 invalid value\(s\), e.g. row "
                                                     rf"{row} \(line {row + 2} of the file: network=\d, .*motif="
                                                     rf"'[^']+'\): {message}"):
        census.census(params)


def test_a_chapter_kernel_started_by_the_runner_prints_no_warning(tmp_path, capfd):
    import nbformat

    nb = nbformat.v4.new_notebook(metadata={"kernelspec": {"name": "python3", "display_name": "Python 3",
                                                           "language": "python"}})
    parameters = nbformat.v4.new_code_cell("preset = None")
    parameters.metadata["tags"] = ["parameters"]
    nb.cells = [parameters, nbformat.v4.new_code_cell("print('ran at', preset)")]
    nbformat.write(nb, tmp_path / "chapter.ipynb")
    (tmp_path / "_toc.yml").write_text("format: jb-book\nroot: chapter\n")
    capfd.readouterr()
    runner.execute(tmp_path, "ci")                           # the runner's own execution path
    out, err = capfd.readouterr()
    assert "without encryption" not in out + err and "WARNING" not in out + err, err
    done = nbformat.read(tmp_path / "chapter.ipynb", as_version=4)
    assert done.cells[-1].outputs[0]["text"] == "ran at ci\n"


# ------------------------------------------------------------- the Python API: the shipped data sets' reader

@pytest.fixture(scope="module")
def reference_snapshot():
    from helpers import snapshot

    return snapshot.load("reference")


@pytest.mark.parametrize("where, error, message", [
    ("nope", ValueError, r"no data set 'nope': the shipped data sets are 'reference' \(data/reference\), "
                         r"'as-original' \(data/as-original\)"),
    ("Reference", ValueError, r"no data set 'Reference' \(did you mean 'reference'\?\)"),
    (None, TypeError, r"argument 'where' must be a data set's name or a snapshot folder, got None"),
    (123, TypeError, r"argument 'where' .* got 123 of type int; the shipped data sets are 'reference'"),
])
def test_load_names_the_known_data_sets(where, error, message):
    from helpers import snapshot

    with pytest.raises(error, match=message):
        snapshot.load(where)


def test_load_of_a_folder_that_is_no_data_set_says_so(tmp_path):
    from helpers import snapshot

    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(snapshot.SnapshotError, match=r"is not a snapshot: it holds none of summary.npz"):
        snapshot.load(tmp_path)
    with pytest.raises(snapshot.SnapshotError, match=r"is not a folder"):
        snapshot.load(tmp_path / "notes.txt")


def test_a_damaged_shipped_file_asks_for_a_restore_not_a_rebuild(tmp_path, monkeypatch):
    import shutil

    from helpers import snapshot

    copy = tmp_path / "data" / "reference"
    shutil.copytree(ROOT / "data" / "reference", copy)
    with open(copy / "provenance.json", "a") as handle:
        handle.write(" ")
    monkeypatch.setattr(pipeline, "repo_root", lambda: tmp_path)
    with pytest.raises(snapshot.SnapshotError, match=r"restore it from the repository \(git checkout -- "
                                                     r"data/reference\)"):
        snapshot.load("reference")


@pytest.mark.parametrize("k, s, error, message", [
    (1.7, 0, TypeError, r"argument 'k' \(the network\) must be an integer in \[0, 8\), got 1.7 of type float"),
    (True, 0, TypeError, r"argument 'k' .* got True of type bool"),
    (float("nan"), 0, TypeError, r"argument 'k' .* got nan"),
    (None, 0, TypeError, r"argument 'k' .* got None"),
    (0, 2.0, TypeError, r"argument 's' \(the saved state\) must be an integer in \[0, 18\), got 2.0"),
    (8, 0, ValueError, r"argument 'k' = 8 \(the network\) is out of range: this snapshot has 8 networks"),
    (0, -1, ValueError, r"argument 's' = -1 \(the saved state\) is out of range"),
])
def test_network_and_state_indices_are_integers_in_range(reference_snapshot, k, s, error, message):
    for method in (reference_snapshot.masks, reference_snapshot.weights):
        with pytest.raises(error, match=message):
            method(k, s)
    with pytest.raises(error, match=message):
        reference_snapshot.forward(k, s, np.zeros((2, 10)))


def test_numpy_integers_index_like_ints(reference_snapshot):
    assert all(np.array_equal(a, b) for a, b in zip(reference_snapshot.masks(np.int64(2), np.int32(3)),
                                                    reference_snapshot.masks(2, 3)))


@pytest.mark.parametrize("x", [np.zeros((3, 9)), np.zeros((3, 11)), np.zeros((3, 3)), np.zeros((10, 3)),
                               np.zeros(10), np.zeros((2, 3, 10)), np.zeros((0, 10)), [["a"] * 10]])
def test_forward_refuses_inputs_of_the_wrong_shape_naming_x(reference_snapshot, x):
    with pytest.raises(ValueError, match=r"argument 'x' must"):
        reference_snapshot.forward(0, 0, x)


def test_forward_refuses_non_finite_inputs(reference_snapshot):
    x = np.zeros((2, 10))
    x[1, 4] = np.nan
    with pytest.raises(ValueError, match=r"argument 'x' holds non-finite values"):
        reference_snapshot.forward(0, 0, x)


def resealed_copy(tmp_path, edit):
    """A copy of the reference data set with ``edit(folder)`` applied and its manifest rewritten: damage that the
    manifest vouches for, which only a check of the values can find."""
    import shutil

    folder = tmp_path / "copy"
    shutil.copytree(ROOT / "data" / "reference", folder)
    edit(folder)
    from helpers import snapshot

    pipeline.seal(folder, (snapshot.SUMMARY, snapshot.WEIGHTS, snapshot.PROVENANCE), format=snapshot.FORMAT,
                  version=snapshot.VERSION)
    return folder


def test_nan_weights_are_refused_naming_the_network_and_state(tmp_path):
    from helpers import snapshot

    def poison(folder):
        with np.load(folder / "weights.npz") as stored:
            arrays = dict(stored)
        arrays["w1"] = arrays["w1"].copy()
        arrays["w1"][arrays["w1_offset"][0] + 5] = np.nan
        np.savez(folder / "weights.npz", **arrays)

    snap = snapshot.load(resealed_copy(tmp_path, poison))
    k, s = (int(v) for v in np.load(ROOT / "data" / "reference" / "weights.npz")["pairs"][0])
    with pytest.raises(snapshot.SnapshotError, match=rf"layer 1 of network {k}, state {s} holds 1 non-finite"):
        snap.weights(k, s)


@pytest.mark.parametrize("entry, value, message", [
    ("threshold", 0.5, r"params threshold 0.5 contradicts the summary's selection threshold 0.001"),
    ("schedule", [0.5, 0.9], r"params schedule \[0.5, 0.9\] contradicts"),
    ("seeds", [1, 2, 3, 4, 5, 6, 7, 8], r"the recorded seeds \[1, 2, .*\] are not the summary's"),
])
def test_provenance_that_contradicts_the_summary_is_refused(tmp_path, entry, value, message):
    from helpers import snapshot

    def contradict(folder):
        prov = json.loads((folder / "provenance.json").read_text())
        if entry == "seeds":
            prov["groups"][0]["seeds"] = value
        else:
            prov["params"][entry] = value
        (folder / "provenance.json").write_text(json.dumps(prov))

    with pytest.raises(snapshot.SnapshotError, match=message):
        snapshot.load(resealed_copy(tmp_path, contradict))


def test_training_parameters_given_to_an_analysis_chapter_are_named_as_unused(capsys):
    namespace = dict(preset="ci", ensemble_source="reference", max_batches=3000, schedule=None, n_null=None)
    params = pipeline.chapter(namespace)
    printed = capsys.readouterr().out
    assert "training parameter given (max_batches = 3000)" in printed and "not used here" in printed
    assert params["max_batches"] == 3000
    pipeline.chapter(dict(namespace, ensemble_source="live"))
    pipeline.chapter(dict(namespace, max_batches=None))
    assert capsys.readouterr().out == ""                      # a live run uses them; unset ones are not named


@pytest.mark.parametrize("busy, wanted, expected", [(0.0, 2, 2), (1.0, 2, 1), (1.4, 2, 1), (1.6, 2, 1),
                                                    (3.0, 2, 1), (0.3, 1, 1), (None, 2, 2)])
def test_torch_threads_are_capped_at_the_free_cores(monkeypatch, busy, wanted, expected):
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1})
    monkeypatch.setattr(pipeline, "busy_cores", lambda interval=0.3: busy)
    assert pipeline.torch_threads(wanted) == expected


def test_busy_cores_sees_a_spinning_process():
    spinner = subprocess.Popen([sys.executable, "-c", "import time\nt = time.time()\nwhile time.time() - t < 5: pass"])
    try:
        import time

        time.sleep(0.5)
        busy = pipeline.busy_cores(0.5)
    finally:
        spinner.kill()
        spinner.wait()
    assert busy is not None and busy >= 0.8


def test_training_runs_on_the_threads_it_was_given_after_numba_simulated_its_data(monkeypatch, tmp_path):
    """numba's parallel kernels share torch's OpenMP runtime (where numba's threading layer is OpenMP) and leave its
    thread count at all cores: the training after a data set was simulated must run on the threads it was given."""
    import numba
    import torch

    from helpers import data
    from helpers import run as R

    @numba.njit(parallel=True)
    def simulate(n):                                   # a parallel kernel, as the flight simulation's
        total = 0.0
        for i in numba.prange(n):
            total += np.sin(i)
        return total

    class Built:
        x_train = y_train = x_val = y_val = x_test = y_test = np.zeros((1, 1), np.float32)
        in_min = in_max = out_min = out_max = np.zeros(1)

    def build(n_trajectories, data_seed, progress=False):
        simulate(100_000)
        return Built()

    seen = {}
    monkeypatch.setattr(data, "load_or_build", build)
    monkeypatch.setattr(R, "run_pruning", lambda *args, **kwargs: seen.setdefault("threads", torch.get_num_threads()))
    before = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        R.train_in(R.run_params("ci", {}), tmp_path)
    finally:
        torch.set_num_threads(before)
    assert seen["threads"] == 1
