"""The book runner's parameter overrides: parsed, validated and routed before any chapter runs."""
import pytest

from helpers import notebooks, runner
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
    readers = []
    for notebook in notebooks.chapters(ROOT):
        taken = runner.chapter_params(notebook, params)
        if "max_batches" in taken:                      # a chapter that reads the run takes every training parameter
            assert sorted(taken) == sorted(training), notebook.name
            readers.append(notebook.stem[:2])
    assert readers == ["03", "04", "05", "06", "07", "08"]


def test_check_used():
    runner.check_used(ROOT, {"n_null": 10})
    with pytest.raises(ValueError, match="n_null"):
        runner.check_used(ROOT, {"n_null": 10}, only=["03", "04"])


@pytest.mark.parametrize("remote, url", [
    ("https://github.com/owner/book.git", "https://github.com/owner/book"),
    ("git@github.com:owner/book.git", "https://github.com/owner/book"),
    ("/home/someone/book", None),
])
def test_repository_url_from_the_environment(monkeypatch, remote, url):
    from helpers.sources import repository_url

    monkeypatch.setenv("BOOK_REPOSITORY", remote)
    assert repository_url(ROOT) == url


def test_provenance_names_the_commit_and_links_the_repository(monkeypatch):
    from helpers.sources import git_commit

    sha = git_commit(ROOT)["sha"]
    monkeypatch.setenv("BOOK_REPOSITORY", "https://github.com/owner/book")
    config = runner.provenance_config(ROOT)
    assert f'href="https://github.com/owner/book/tree/{sha}">{sha[:7]}</a>' in config["html"]["extra_footer"]
    assert config["repository"]["url"] == "https://github.com/owner/book"
    assert config["html"]["use_repository_button"]
    monkeypatch.setenv("BOOK_REPOSITORY", "")
    config = runner.provenance_config(ROOT)
    assert f"<code>{sha[:7]}</code>" in config["html"]["extra_footer"] and "repository" not in config


def test_merge_puts_nested_entries_in():
    assert runner.merge({"html": {"a": 1}, "b": 2}, {"html": {"c": 3}}) == {"html": {"a": 1, "c": 3}, "b": 2}


@pytest.mark.parametrize("medium, code_tag", [("html", "hide-input"), ("pdf", "remove-input")])
def test_prepare_for_reading_tags_each_medium(tmp_path, medium, code_tag):
    import nbformat

    runner.stage_sources(ROOT, tmp_path)
    runner.prepare_for_reading(tmp_path, "pdf" if medium == "html" else "html")   # the other medium first
    runner.prepare_for_reading(tmp_path, medium)
    nb = nbformat.read(notebooks.chapters(tmp_path)[0], as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    machinery = [c for c in code if set(runner.HIDDEN_CELLS) & set(c.metadata.tags)]
    assert machinery and all("remove-cell" in c.metadata.tags for c in machinery)  # parameters, injected cell
    for cell in code[len(machinery):]:
        assert code_tag in cell.metadata.tags and len(set(runner.CODE_TAGS.values()) & set(cell.metadata.tags)) == 1
    with pytest.raises(ValueError, match="medium='epub'"):
        runner.prepare_for_reading(tmp_path, "epub")
