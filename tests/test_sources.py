"""Artifact keys follow the code a stage imports, not its comments or docstrings."""
import shutil

import pytest

from helpers import pipeline, sources


def test_closure_follows_imports_at_top_level_and_inside_functions():
    assert sources.closure("flight") == ("checks", "flight")
    assert set(sources.closure("data")) == {"checks", "data", "flight", "pipeline", "sources"}
    run = set(sources.closure("run"))
    assert {"ensemble", "pruning", "snapshot", "data"} <= run    # data is imported inside a function
    assert "nulls" not in run and "census" not in run
    assert {"nulls", "motifs", "stats", "run", "analysed"} <= set(sources.closure("census"))
    with pytest.raises(ValueError, match="no helper module 'nope'"):
        sources.closure("nope")


@pytest.fixture
def package(tmp_path, monkeypatch):
    copy = tmp_path / "helpers"
    shutil.copytree(sources.PACKAGE, copy, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(sources, "PACKAGE", copy)
    return copy


def edit(path, old, new):
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))


def test_comments_and_docstrings_do_not_change_a_key_but_code_does(package):
    before = {stage: pipeline.code_version(stage) for stage in ("data", "run", "census")}
    edit(package / "flight.py", '"""', '"""A rewritten module docstring.\n\n', )
    edit(package / "data.py", "\nimport numpy as np\n", "\n# a new comment\nimport numpy as np  # and another\n")
    assert {stage: pipeline.code_version(stage) for stage in before} == before
    edit(package / "nulls.py", "DEGREE_BATCH = 64", "DEGREE_BATCH = 32")        # census code only
    after = {stage: pipeline.code_version(stage) for stage in before}
    assert after["data"] == before["data"] and after["run"] == before["run"]
    assert after["census"] != before["census"]
    (package / "flight.py").write_text((package / "flight.py").read_text() + "\n\ndef _unused():\n    return 1\n")
    assert all(pipeline.code_version(stage) != after[stage] for stage in before)   # every stage imports flight
