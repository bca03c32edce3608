"""The motif census and the ensemble's training on Dask: identical to the serial loop on any cluster, robust to a
dying worker, clear about a bad scheduler, and leaving no partial artifact behind when a task fails."""
import io
import os

import numpy as np
import pandas as pd
import pytest

from helpers import analysed, census, cluster, convergence, graph, motifs, nulls, pipeline, stats
from helpers import run as R


def serial_census(states, params):
    """The census tables computed by a plain serial loop in this process: the reference for every cluster."""
    n_networks, n_states = states["val_loss"].shape
    z_frames, noise_frames = [], []
    columns = [motifs.MOTIFS.index(m) for m in census.Z_MOTIFS]
    for e in range(n_networks):
        for s in range(n_states):
            sparsity = float(states["sparsity"][s])
            cleaned = graph.clean(states.masks(e, s))
            real = motifs.count_raw(cleaned)
            for model in nulls.MODELS:
                null_raw = nulls.null_counts(cleaned, params["n_null"], model,
                                             stats.derive_seed(params["seed"], e, sparsity),
                                             outputs=params["null_outputs"])
                cell = dict(network=e, state=s, sparsity=sparsity, null=model)
                for convention in motifs.CONVENTIONS:
                    null = motifs.project(null_raw, convention)
                    table = stats.table(motifs.project(real, convention), null).loc[list(census.Z_MOTIFS)]
                    z_frames.append(table.reset_index().assign(**cell, convention=convention))
                    pseudo_z = convergence.leave_one_out_z(null[:, columns])[0]
                    noise_frames.append(pd.DataFrame(dict(motif=census.Z_MOTIFS, z=pseudo_z,
                                                          sp=convergence.significance_profile(pseudo_z),
                                                          **cell, convention=convention)))
    order = ["network", "state", "sparsity", "null", "convention", "motif"]
    z = pd.concat(z_frames, ignore_index=True)
    noise = pd.concat(noise_frames, ignore_index=True)
    return z[order + [c for c in z.columns if c not in order]], noise[order + ["z", "sp"]]


def reference_params(n_analysed=2, **given):
    return pipeline.resolve("ci", seed=None, n_null=10, null_outputs=None, ensemble_source=None,
                            n_analysed=n_analysed, threshold=None, **given)


def via_csv(frame):
    """A table as the census artifact stores and reads it."""
    buffer = io.StringIO()
    frame.to_csv(buffer, index=False)
    buffer.seek(0)
    return pd.read_csv(buffer)


@pytest.fixture(scope="module")
def reference():
    params = reference_params()
    states = analysed.ensemble(params)
    return params, states, serial_census(states, params)


@pytest.fixture(scope="module")
def two_workers():
    """A LocalCluster of its own: 2 worker processes, 1 thread each."""
    with cluster.client(n_workers=2) as dask:
        yield dask


@pytest.fixture
def store(tmp_path, monkeypatch):
    monkeypatch.setenv("HELPERS_ARTIFACTS", str(tmp_path))
    monkeypatch.delenv(cluster.ENV, raising=False)
    return tmp_path


def test_two_workers_give_the_serial_tables_bit_for_bit(reference, two_workers, store, capsys):
    params, states, (z, noise) = reference
    info = two_workers.scheduler_info()
    assert len(info["workers"]) == 2 and all(w["nthreads"] == 1 for w in info["workers"].values())
    got_z, got_noise = census.compute(states, params, client=two_workers)
    pd.testing.assert_frame_equal(got_z, z, check_exact=True)
    pd.testing.assert_frame_equal(got_noise, noise, check_exact=True)
    # the whole stage, by address: the artifact holds the serial numbers
    address = two_workers.scheduler.address
    out = census.census(dict(params, scheduler=address))
    assert capsys.readouterr().err.count("Dask dashboard:") == 1
    pd.testing.assert_frame_equal(out["z"], via_csv(z), check_exact=True)
    pd.testing.assert_frame_equal(out["noise"], via_csv(noise), check_exact=True)
    # the scheduler is not part of the key: the default path finds the same artifact
    assert census.key_params(dict(params, scheduler=address)) == census.key_params(params)
    assert len(list(store.glob("census-*"))) == 1


def test_a_worker_dying_mid_task_is_survived(reference, two_workers, store, tmp_path, monkeypatch):
    params, states, (z, noise) = reference
    marker = tmp_path / "died"
    cell = census.cell
    pids_before = set(two_workers.run(os.getpid).values())

    def dies_once(packed, network, state, sparsity, **common):       # sent by value: it runs on the worker
        if (network, state) == (1, 3) and not marker.exists():
            marker.touch()
            os._exit(1)                                                # the worker process dies mid-task
        return cell(packed, network, state, sparsity, **common)

    monkeypatch.setattr(census, "cell", dies_once)
    got_z, got_noise = census.compute(states, params, client=two_workers)
    assert marker.exists(), "the task did not kill its worker"
    pd.testing.assert_frame_equal(got_z, z, check_exact=True)
    pd.testing.assert_frame_equal(got_noise, noise, check_exact=True)
    two_workers.wait_for_workers(2, timeout=60)
    assert set(two_workers.run(os.getpid).values()) != pids_before, "the nanny did not replace the worker"


def test_a_bad_scheduler_fails_clearly_before_any_work(store, monkeypatch):
    def no_ensemble(params, progress=False):
        raise AssertionError("the ensemble was read before the scheduler was checked")

    monkeypatch.setattr(analysed, "ensemble", no_ensemble)
    for bad in ("tcp//nowhere:8786", "http://localhost:8786", "tcp://localhost", "tcp://localhost:99999", ""):
        with pytest.raises(ValueError, match="parameter 'scheduler'.*invalid"):
            census.census(reference_params(scheduler=bad))
    with pytest.raises(ConnectionError, match=r"tcp://127\.0\.0\.1:1\b"):
        census.census(reference_params(scheduler="tcp://127.0.0.1:1"))
    monkeypatch.setenv(cluster.ENV, "tcp://127.0.0.1:1")                 # overrides "local"
    with pytest.raises(ConnectionError, match=r"tcp://127\.0\.0\.1:1\b"):
        census.census(reference_params())
    monkeypatch.setenv(cluster.ENV, "nowhere:8786")
    with pytest.raises(ValueError, match=f"environment variable {cluster.ENV} = 'nowhere:8786'"):
        census.census(reference_params())
    with pytest.raises(ConnectionError, match=r"tcp://127\.0\.0\.1:1\b"):
        with cluster.client("tcp://127.0.0.1:1"):
            pass
    with pytest.raises(ValueError, match="parameter 'scheduler' = 3 is invalid"):
        pipeline.resolve("ci", scheduler=3)
    assert cluster.resolve("tls://[::1]:8786/") == "tls://[::1]:8786"


def test_a_failed_run_leaves_no_artifact_and_the_next_one_recomputes(store, monkeypatch, capfd):
    params = reference_params(n_analysed=1)
    states = analysed.ensemble(params)
    cell = census.cell

    def fails(packed, network, state, sparsity, **common):
        if state == 5:
            raise RuntimeError("planted failure of one census cell")
        return cell(packed, network, state, sparsity, **common)

    monkeypatch.setattr(census, "cell", fails)
    with pytest.raises(RuntimeError, match="planted failure"):
        census.census(params)
    folder, = store.glob("census-*")
    left = {p.name for p in folder.iterdir()}
    assert not left & {"z.csv", "noise.csv", pipeline.MANIFEST}, left
    assert not [p for p in folder.iterdir() if p.name.endswith(".tmp")]
    monkeypatch.setattr(census, "cell", cell)
    capfd.readouterr()
    out = census.census(params)                                       # the default path: a local cluster
    assert capfd.readouterr() == ("", ""), "the census printed something without progress=True"
    z, noise = serial_census(states, params)
    pd.testing.assert_frame_equal(out["z"], via_csv(z), check_exact=True)
    pd.testing.assert_frame_equal(out["noise"], via_csv(noise), check_exact=True)
    assert pipeline.sealed(folder)
    # a finished census is read without any cluster, even with an unreachable scheduler
    again = census.census(dict(params, scheduler="tcp://127.0.0.1:1"))
    pd.testing.assert_frame_equal(again["z"], out["z"])


def test_map_cells_keeps_the_submission_order_and_retries_a_failed_task(two_workers, tmp_path):
    flaky = tmp_path / "flaky"

    def square(x, offset=0):
        if x == 3 and not flaky.exists():
            flaky.touch()
            raise OSError("transient")
        return x * x + offset

    cells = [(x,) for x in range(20)][::-1]
    got = cluster.map_cells(square, cells, client=two_workers, common={"offset": 1}, retries=1)
    assert got == [x * x + 1 for (x,) in cells] and flaky.exists()
    assert cluster.map_cells(square, [], client=two_workers) == []
    with pytest.raises(ValueError, match="n_workers"):
        with cluster.client(n_workers=0):
            pass


def test_cells_travel_as_small_packed_masks(reference):
    params, states, _ = reference
    inputs = census.cell_inputs(states)
    assert [(e, s) for _, e, s, _ in inputs] == [(e, s) for e in range(2) for s in range(states["val_loss"].shape[1])]
    packed, e, s, sparsity = inputs[3]
    masks = states.masks(e, s)
    assert sum(bits.nbytes for _, bits in packed) <= sum(m.size for m in masks) // 8 + len(masks)
    assert isinstance(e, int) and isinstance(sparsity, float)
    assert cluster.usable_cores() >= 1 and np.isclose(sparsity, states["sparsity"][s])


def test_workers_with_other_helper_code_are_refused(reference, two_workers, monkeypatch):
    params, states, _ = reference
    monkeypatch.setattr(pipeline, "code_version", lambda stage=None: "0" * 12)   # this process only
    with pytest.raises(RuntimeError, match="other census code"):
        census.compute(states, params, client=two_workers)


def test_progress_shows_the_dashboard_once_and_dask_s_bar(store, capsys):
    params = reference_params(n_analysed=1)
    states = analysed.ensemble(params)
    census.compute(states, params, progress=True)
    out, err = capsys.readouterr()
    assert err.count("Dask dashboard: http") == 1 and "Completed" in err and not out   # stderr: not on the page


def test_groups_trained_on_two_workers_equal_groups_trained_one_after_the_other(tmp_path, monkeypatch):
    """Two groups of one network each, trained at once on a 2-worker cluster and then alone in this process."""
    from helpers import snapshot

    monkeypatch.setenv("HELPERS_ARTIFACTS", str(tmp_path / "artifacts"))    # the workers inherit it
    small = dict(n_networks=1, max_batches_dense=100, max_batches=100, schedule=[0.5, 0.9], n_eval=1_000)
    folders = R.train_groups("ci", tmp_path / "dask", small, 2, n_workers=2)
    assert [f.name for f in folders] == ["group-00", "group-01"]
    for g, folder in enumerate(folders):
        alone = R.train("ci", tmp_path / f"alone-{g}", dict(small, first_network=g), threads=1)
        a, b = snapshot.load(folder), snapshot.load(alone)
        assert a.seeds.tolist() == b.seeds.tolist()
        for key in ("val_loss", "test_loss", "train_slice_loss", "batches"):
            assert np.array_equal(a[key], b[key]), key
        for s in range(a.n_states):
            assert all(np.array_equal(x, y) for x, y in zip(a.weights(0, s), b.weights(0, s)))
    assert snapshot.load(folders[0]).seeds[0] != snapshot.load(folders[1]).seeds[0]
    with pytest.raises(ValueError, match="'n_groups' = 0 is invalid"):
        R.train_groups("ci", tmp_path / "none", small, 0)
