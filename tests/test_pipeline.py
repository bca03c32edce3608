"""Presets, parameter validation and atomic, keyed artifacts."""
import numpy as np
import pytest

from helpers import pipeline


def test_resolve_takes_preset_values_and_overrides():
    p = pipeline.resolve("ci", n_trajectories=None, seed=7)
    assert p == {"preset": "ci", "n_trajectories": pipeline.PRESETS["ci"]["n_trajectories"], "seed": 7}


@pytest.mark.parametrize("name,value", [("n_trajectories", 10), ("n_networks", 0), ("threshold", 0.0),
                                        ("device", "tpu"), ("seed", -1), ("seed", 1.5), ("n_null", True),
                                        ("convention", "other")])
def test_resolve_rejects_bad_values_naming_the_parameter(name, value):
    with pytest.raises(ValueError, match=repr(name)):
        pipeline.resolve("ci", **{name: value})


@pytest.mark.parametrize("schedule", [(), (0.5, 0.4), (0.0, 0.5), (0.5, 1.0), (0.3, 0.3)])
def test_resolve_rejects_bad_schedules(schedule):
    with pytest.raises(ValueError, match="schedule"):
        pipeline.resolve("ci", schedule=schedule)


def test_unknown_preset_and_parameter():
    with pytest.raises(ValueError, match="preset"):
        pipeline.resolve("huge")
    with pytest.raises(ValueError, match="n_trajectorys"):
        pipeline.resolve("ci", n_trajectorys=5)


def test_run_key_depends_on_every_parameter():
    a = pipeline.run_key("data", {"n": 1, "seed": 0})
    assert a == pipeline.run_key("data", {"seed": 0, "n": 1})
    assert a != pipeline.run_key("data", {"n": 2, "seed": 0})
    assert a != pipeline.run_key("other", {"n": 1, "seed": 0})


def test_atomic_write_leaves_nothing_on_failure(tmp_path):
    target = tmp_path / "x.npz"

    def boom(tmp):
        tmp.write_bytes(b"partial")
        raise RuntimeError("interrupted")

    with pytest.raises(RuntimeError):
        pipeline.atomic_write(target, boom)
    assert list(tmp_path.iterdir()) == []


def test_npz_round_trip_and_corruption(tmp_path):
    path = pipeline.save_npz(tmp_path / "a.npz", x=np.arange(5))
    assert np.array_equal(pipeline.load_npz(path, required=("x",))["x"], np.arange(5))
    with pytest.raises(pipeline.ArtifactError, match="lacks"):
        pipeline.load_npz(path, required=("y",))
    path.write_bytes(b"not a zip")
    with pytest.raises(pipeline.ArtifactError, match="unreadable"):
        pipeline.load_npz(path)


def test_artifact_dir_respects_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("HELPERS_ARTIFACTS", str(tmp_path))
    d = pipeline.artifact_dir("data", {"n": 1})
    assert d.parent == tmp_path and (d / "params.json").exists()


def test_keys_follow_the_code_each_stage_depends_on(monkeypatch):
    assert pipeline.code_version("data") != pipeline.code_version("census")
    key = pipeline.run_key("data", {"n": 1})
    monkeypatch.setattr(pipeline, "code_version", lambda stage=None: "changed")
    assert pipeline.run_key("data", {"n": 1}) != key


def test_chapter_setup_resolves_the_declared_parameters_and_sets_threads():
    import torch

    before = torch.get_num_threads()
    try:
        namespace = {"preset": "ci", "seed": None, "n_null": 50, "np": np, "In": []}
        params = pipeline.chapter(namespace)
        assert params == {"preset": "ci", "seed": 0, "n_null": 50}
        assert torch.get_num_threads() == pipeline.PRESETS["ci"]["threads"] == 1
        with pytest.raises(ValueError, match="unknown parameter 'n_nul'"):
            pipeline.chapter(dict(namespace, n_nul=3))
        with pytest.raises(ValueError, match="'n_null' = 3 is invalid"):
            pipeline.chapter(dict(namespace, n_null=3))
    finally:
        torch.set_num_threads(before)


def test_parameter_choices_are_those_of_the_modules_that_own_them():
    """pipeline stays import-light (its artifact keys would otherwise follow the null models' code), so it
    repeats these lists; this test keeps them from drifting apart."""
    from helpers import census, ensemble, motifs, nulls, pruning

    assert pipeline.SPECS["null_model"].choices == nulls.MODELS
    assert pipeline.SPECS["null_outputs"].choices == nulls.OUTPUT_RULES
    assert pipeline.SPECS["convention"].choices == motifs.CONVENTIONS == census.CONVENTIONS
    for bad, check in (("other", pruning.check_bias_pruning), ("tpu", ensemble.check_device)):
        with pytest.raises(ValueError):
            check(bad)
    for good in pipeline.SPECS["bias_pruning"].choices:
        pruning.check_bias_pruning(good)
