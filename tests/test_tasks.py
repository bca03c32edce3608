"""The second task: a fixed random teacher network on the flight inputs, scaled to the flight outputs' statistics."""
import numpy as np
import pytest

from helpers import data, pipeline, run as R, tasks

N, SEED = 20_000, 0


@pytest.fixture(scope="module")
def flight():
    return data.build(N, SEED)


def test_the_flight_task_is_the_data_set_itself(flight):
    assert tasks.retarget(flight, "flight") is flight


def test_teacher_targets_have_the_flight_targets_training_mean_and_spread(flight):
    teacher = tasks.retarget(flight, "teacher")
    assert teacher.params["task"] == "teacher"
    np.testing.assert_array_equal(teacher.x_train, flight.x_train)          # the very same inputs
    np.testing.assert_allclose(teacher.y_train.mean(0), flight.y_train.mean(0), atol=1e-5)
    np.testing.assert_allclose(teacher.y_train.std(0), flight.y_train.std(0), rtol=1e-4)
    # a different map: no teacher output is an affine function of its flight output
    for k in range(7):
        r = np.corrcoef(teacher.y_train[:, k], flight.y_train[:, k])[0, 1]
        assert abs(r) < 0.9, (k, r)


def test_teacher_is_nonlinear_in_its_inputs(flight):
    """No teacher output is explained by a linear fit of the inputs as five of the flight outputs are (R² ≥ 0.98):
    a linear fit leaves at least 5 % of every teacher output's variance."""
    teacher = tasks.retarget(flight, "teacher")
    x = np.c_[teacher.x_train, np.ones(len(teacher.x_train))]
    coef, *_ = np.linalg.lstsq(x, teacher.y_train, rcond=None)
    r2 = 1 - ((teacher.y_train - x @ coef) ** 2).sum(0) / ((teacher.y_train - teacher.y_train.mean(0)) ** 2).sum(0)
    assert r2.max() < 0.95 and r2.mean() < 0.9, r2


def test_a_subset_with_the_recorded_scaler_gives_the_whole_data_sets_targets(flight):
    teacher = tasks.retarget(flight, "teacher")
    scaler = dict(x_min=teacher.in_min, x_max=teacher.in_max, y_min=teacher.out_min, y_max=teacher.out_max)
    rows = tasks.retarget(data.subset(N, SEED, "val", 500, scaler), "teacher", scaler)
    np.testing.assert_array_equal(rows.y_val, teacher.y_val[:500])
    np.testing.assert_array_equal(rows.x_val, teacher.x_val[:500])


def test_the_teacher_depends_on_the_data_seed_only():
    a, b, c = tasks.teacher_weights(0), tasks.teacher_weights(0), tasks.teacher_weights(1)
    assert all(np.array_equal(a[k], b[k]) for k in a)
    assert not np.array_equal(a["w1"], c["w1"])


def test_a_bad_task_is_named_before_any_work(flight):
    with pytest.raises(ValueError, match="task"):
        tasks.retarget(flight, "teachr")
    with pytest.raises(ValueError, match="task"):
        pipeline.resolve("ci", task="teachr")
    with pytest.raises(ValueError, match="task"):
        R.run_params("ci", {"task": "nope"})


def test_a_subset_needs_the_recorded_scaler(flight):
    rows = data.subset(N, SEED, "val", 100, dict(x_min=flight.in_min, x_max=flight.in_max, y_min=flight.out_min,
                                                   y_max=flight.out_max))
    with pytest.raises(ValueError, match="training split"):
        tasks.retarget(rows, "teacher")


def test_the_task_keys_the_run():
    base = pipeline.resolve("ci")
    assert R.artifact_path(base) != R.artifact_path(dict(base, task="teacher"))
    assert R.key_params(base)["task"] == "flight"
