"""The book runner's parameter overrides: parsed, validated and routed before any chapter runs."""
import pytest

from helpers import runner
from helpers.pipeline import repo_root

ROOT = repo_root()


def test_parse_params_literals_and_strings():
    got = runner.parse_params(["max_batches=3000", "threshold=0.002", "device=cpu", "schedule=[0.5, 0.9, 0.95]"],
                              "default")
    assert got == {"max_batches": 3000, "threshold": 0.002, "device": "cpu", "schedule": [0.5, 0.9, 0.95]}


@pytest.mark.parametrize("item, message", [
    ("max_batches", "NAME=VALUE"),
    ("=3", "NAME=VALUE"),
    ("bogus=1", "unknown parameter 'bogus'"),
    ("max_batches=abc", "'max_batches'"),
    ("n_networks=0", "'n_networks'"),
    ("preset=paper", "--preset"),
])
def test_parse_params_rejects_bad_input(item, message):
    with pytest.raises(ValueError, match=message):
        runner.parse_params([item], "ci")


def test_overrides_reach_every_chapter_that_reads_the_run():
    """A training parameter must reach every chapter from training to errata, or later chapters would look for
    (and train) a different run than the one the training chapters made."""
    training = ("seed", "n_networks", "n_trajectories", "data_seed", "threshold", "schedule", "bias_pruning",
                "device", "max_batches", "max_batches_dense")
    params = dict.fromkeys(training, 1)
    for notebook in runner.chapters(ROOT):
        if notebook.stem >= "03":
            assert sorted(runner.chapter_params(notebook, params)) == sorted(training), notebook.name


def test_check_used():
    runner.check_used(ROOT, {"n_null": 10})
    with pytest.raises(ValueError, match="n_null"):
        runner.check_used(ROOT, {"n_null": 10}, only=["03", "04"])
