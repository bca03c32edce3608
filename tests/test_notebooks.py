"""The committed chapters are normalised: no execution timestamps or durations, a fixed id for the injected cell."""
import copy

import nbformat
import pytest

from helpers import notebooks, runner
from helpers.pipeline import repo_root

CHAPTERS = notebooks.chapters(repo_root())


@pytest.mark.parametrize("path", CHAPTERS, ids=[p.stem for p in CHAPTERS])
def test_committed_chapter_is_normalised(path):
    assert notebooks.is_normalised(path), f"{path.name} is not normalised: run `make notebooks`"


def test_normalising_removes_only_execution_metadata():
    nb = nbformat.read(CHAPTERS[0], as_version=4)
    run = copy.deepcopy(nb)
    run.metadata["papermill"] = {"duration": 5.4, "start_time": "2026-01-01T00:00:00"}
    for cell in run.cells:
        cell.metadata["execution"] = {"iopub.status.busy": "2026-01-01T00:00:00Z"}
        cell.metadata["papermill"] = {"duration": 0.1}
        if "injected-parameters" in cell.metadata.get("tags", []):
            cell["id"] = "a1b2c3d4"
    clean = notebooks.normalised(run)
    assert clean == notebooks.normalised(nb)
    assert [c.source for c in clean.cells] == [c.source for c in nb.cells]
    assert [c.get("outputs") for c in clean.cells] == [c.get("outputs") for c in nb.cells]
    assert notebooks.normalised(clean) == clean
