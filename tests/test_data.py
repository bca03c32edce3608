"""Dataset invariants: layout, splits, scaling, determinism, artifact reuse / invalidation / corruption."""
import numpy as np
import pytest

from helpers import data, flight, pipeline

N = 20_000


@pytest.fixture()
def store(tmp_path, monkeypatch):
    monkeypatch.setenv("HELPERS_ARTIFACTS", str(tmp_path))
    return tmp_path


@pytest.fixture()
def ds(store):
    return data.load_or_build(N, 11)


def test_shapes_dtypes_and_names(ds):
    assert ds.inputs.shape == (N, 10) and ds.outputs.shape == (N, 7) and ds.inputs.dtype == np.float64
    assert len(ds.input_names) == 10 and len(ds.output_names) == 7
    sizes = [len(ds.rows(s)) for s in data.SPLITS]
    assert sizes == [round(0.64 * N), round(0.16 * N), N - round(0.64 * N) - round(0.16 * N)]
    for x, y, n in ((ds.x_train, ds.y_train, sizes[0]), (ds.x_val, ds.y_val, sizes[1]),
                    (ds.x_test, ds.y_test, sizes[2])):
        assert x.shape == (n, 10) and y.shape == (n, 7) and x.dtype == y.dtype == np.float32


def test_splits_are_disjoint_and_complete(ds):
    rows = [set(ds.rows(s).tolist()) for s in data.SPLITS]
    assert not (rows[0] & rows[1] or rows[0] & rows[2] or rows[1] & rows[2])
    assert set.union(*rows) == set(range(N))
    with pytest.raises(ValueError, match="split"):
        ds.rows("training")


def test_scaling_uses_training_statistics(ds):
    assert ds.x_train.min() >= -0.5 and ds.x_train.max() <= 0.5
    assert ds.y_train.min() >= -0.5 and ds.y_train.max() <= 0.5
    np.testing.assert_allclose(ds.x_train.min(0), -0.5, atol=1e-7)
    np.testing.assert_allclose(ds.y_train.max(0), 0.5, atol=1e-7)
    # val/test are scaled with the same (training) ranges: close to, not exactly, [-0.5, 0.5]
    assert np.abs(ds.x_test).max() < 0.6
    raw = ds.outputs[ds.rows("val")]
    assert np.max(np.abs(ds.unscale_outputs(ds.y_val) - raw) / (ds.out_max - ds.out_min)) < 1e-7   # float32


def test_rows_are_the_simulated_physics(ds):
    """Re-simulating the test split's initial states with the true controls lands on the stored targets."""
    s0, u = ds.initial_states("test"), ds.controls("test")
    final = flight.simulate(s0, u)
    np.testing.assert_allclose(final[:, [0, 2, 4, 6]], ds.targets("test"), rtol=0, atol=1e-9)
    assert np.all(s0[:, [0, 2]] == 0)
    assert u[:, 0].min() >= 0 and u[:, 0].max() <= flight.RANGES["F"][1]
    assert u[:, 1].min() >= 0 and u[:, 1].max() < 2 * np.pi
    outputs = ds.outputs[ds.rows("test")]
    np.testing.assert_allclose(data.outputs_to_controls(outputs), u)
    np.testing.assert_allclose(outputs[:, 3:], final[:, [1, 3, 7, 5]])


def test_same_seed_same_data_other_seed_other_data(store):
    a = data.build(20_000, 5)
    b = data.build(20_000, 5)
    c = data.build(20_000, 6)
    assert np.array_equal(a.inputs, b.inputs) and np.array_equal(a.labels, b.labels)
    assert not np.array_equal(a.inputs, c.inputs) and not np.array_equal(a.labels, c.labels)


def test_artifact_is_reused_without_simulating(store, ds, monkeypatch):
    def boom(*args, **kwargs):
        raise AssertionError("simulate called although the artifact exists")

    monkeypatch.setattr(flight, "simulate", boom)
    again = data.load_or_build(N, 11)
    assert again.path == ds.path and ds.path.exists()
    assert np.array_equal(again.inputs, ds.inputs) and np.array_equal(again.x_val, ds.x_val)


def test_changed_parameter_gives_a_new_artifact(store, ds):
    other = data.load_or_build(N, 12)
    bigger = data.load_or_build(N + 1000, 11)
    assert len({ds.path, other.path, bigger.path}) == 3
    assert len(list(store.glob("data-*/dataset.npz"))) == 3


def test_changed_flight_parameters_change_the_key(store, monkeypatch):
    import dataclasses
    key = pipeline.run_key("data", data.artifact_params(N, 11))
    monkeypatch.setattr(flight, "PARAMS", dataclasses.replace(flight.PARAMS, K=1.0))
    assert pipeline.run_key("data", data.artifact_params(N, 11)) != key


def test_a_damaged_artifact_is_rebuilt_with_a_warning(store, ds):
    ds.path.write_bytes(b"not a zip file")
    with pytest.warns(RuntimeWarning, match="dataset.npz has .* bytes, its manifest says"):
        again = data.load_or_build(N, 11)
    np.testing.assert_array_equal(again.inputs, ds.inputs)


@pytest.mark.parametrize("kwargs, name", [({"n_trajectories": 10, "data_seed": 0}, "n_trajectories"),
                                          ({"n_trajectories": 20_000, "data_seed": -1}, "data_seed"),
                                          ({"n_trajectories": 20_000.5, "data_seed": 0}, "n_trajectories")])
def test_bad_parameters_fail_before_any_write(store, kwargs, name):
    with pytest.raises(ValueError, match=name):
        data.load_or_build(**kwargs)
    assert not any(store.iterdir())


def test_outputs_to_controls():
    out = np.array([[1.0, 0.0, 5.0], [0.0, -2.0, -1.0], [-3.0, 4.0, 0.0]])
    np.testing.assert_allclose(data.outputs_to_controls(out),
                               [[1, 0, 5], [2, 1.5 * np.pi, -1], [5, np.pi - np.arctan(4 / 3), 0]])
    assert data.controls_from_outputs is data.outputs_to_controls
    with pytest.raises(ValueError, match="outputs"):
        data.outputs_to_controls(np.zeros((2, 5)))
    with pytest.raises(ValueError, match="non-finite"):
        data.outputs_to_controls(np.array([[np.nan, 0.0, 0.0]]))


def test_failed_build_leaves_no_artifact(store, monkeypatch):
    def boom(*args, **kwargs):
        raise RuntimeError("simulation interrupted")

    monkeypatch.setattr(flight, "simulate", boom)
    with pytest.raises(RuntimeError, match="interrupted"):
        data.load_or_build(N, 11)
    assert not list(store.glob("data-*/dataset.npz")) and not list(store.glob("data-*/.dataset*"))


def test_artifact_of_the_wrong_shape_raises(store, ds):
    np.savez(ds.path, **{k: np.zeros((5, 3)) for k in ("inputs", "outputs", "labels", "in_min", "in_max",
                                                       "out_min", "out_max")})
    pipeline.seal(ds.path.parent, (ds.path.name,))            # sealed as if it had been built so
    with pytest.raises(pipeline.ArtifactError, match="wrong shape"):
        data.load_or_build(N, 11)


def test_first_rows_of_the_splits_are_the_data_sets_rows(ds):
    """The rows regenerated without simulating the whole data set (as the data-set tests use them) are the built
    data set's first rows of each split, raw (before scaling)."""
    got = data.first_rows_of_splits(N, 11, {"train": 300, "val": 200, "test": 100})
    for split, count in (("train", 300), ("val", 200), ("test", 100)):
        x, y = got[split]
        assert x.shape == (count, 10) and y.shape == (count, 7)
        np.testing.assert_allclose(data.scale(x, ds.in_min, ds.in_max), getattr(ds, f"x_{split}")[:count], atol=1e-6)
        np.testing.assert_allclose(data.scale(y, ds.out_min, ds.out_max), getattr(ds, f"y_{split}")[:count], atol=1e-6)
        assert np.array_equal(data.first_rows(N, 11, split, count)[0], x)
    with pytest.raises(ValueError, match="split 'val' has"):
        data.first_rows_of_splits(N, 11, {"train": 10, "val": 10 ** 9})
