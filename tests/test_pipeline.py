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


def test_parameter_choices_are_defined_once_by_the_modules_that_own_them():
    """A chapter parameter's choices are the owner module's tuple itself (read by name), so they cannot drift."""
    import importlib

    owned = {name: spec.owner for name, spec in pipeline.SPECS.items() if spec.owner}
    assert {"null_model", "null_outputs", "convention", "bias_pruning", "device", "stopping",
            "ensemble_source"} <= set(owned)
    for name, owner in owned.items():
        module, attribute = owner.rsplit(".", 1)
        assert pipeline.SPECS[name].allowed is getattr(importlib.import_module(f"helpers.{module}"), attribute)
        with pytest.raises(ValueError, match=f"parameter {name!r} = 'nope' is invalid: it must be one of"):
            pipeline.resolve("ci", **{name: "nope"})


def test_every_spec_names_the_parameter_and_the_rule_it_broke():
    from helpers.checks import Spec

    with pytest.raises(ValueError, match=r"parameter 'n' = 0 is invalid: it must be an integer in \[1, 5\] \(size\)"):
        Spec(int, 1, 5, doc="size").check("n", 0)
    with pytest.raises(ValueError, match="parameter 'n' = True is invalid"):
        Spec(int, 1, 5).check("n", True)                       # a bool is not a number
    with pytest.raises(ValueError, match="parameter 'x' = nan is invalid"):
        Spec(float).check("x", float("nan"))
    with pytest.raises(ValueError, match="strictly increasing"):
        pipeline.resolve("ci", schedule=[0.5, 0.4])            # a spec's rule
    assert Spec(tuple, rule=pipeline.check_schedule).check("s", [0.5, 0.9]) == (0.5, 0.9)
