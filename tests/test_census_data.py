"""The shipped censuses (``data/censuses``) are this code's census of the shipped ensembles at the ``default`` and
``ci`` presets: one per data set and preset, keyed by the current data set, parameters and code; sampled cells recomputed here agree
with them; a build without the artifact copies them instead of computing; a damaged copy is named."""
import json

import numpy as np
import pandas as pd
import pytest

from helpers import analysed, census, pipeline, selection, snapshot

SHIPPED = pipeline.repo_root() / census.SHIPPED
REMEDY = "make censuses (the helpers or a data set changed since they were computed)"


def expected_folder(source: str, preset: str = "default") -> str:
    return f"census-{pipeline.run_key('census', census.key_params(census.shipped_params(source, preset)))}"


SHIPPED_CENSUSES = [(preset, source) for preset in census.SHIPPED_PRESETS for source in analysed.SCORED]


def test_one_current_census_per_shipped_data_set():
    found = sorted(p.name for p in SHIPPED.glob("census-*"))
    wanted = sorted(expected_folder(source, preset) for preset, source in SHIPPED_CENSUSES)
    assert found == wanted, f"data/censuses holds {found}, the current code and data sets key {wanted}: run {REMEDY}"
    for preset, source in SHIPPED_CENSUSES:
        folder = SHIPPED / expected_folder(source, preset)
        pipeline.verify(folder, census.FILES)
        recorded = json.loads((folder / "params.json").read_text())["params"]
        expected = census.shipped_params(source, preset)
        assert (recorded["ensemble_source"], recorded["n_null"]) == (source, expected["n_null"])


def cells_to_check(states) -> list[tuple[int, int]]:
    """Network 0 at a mid sparsity (55 %), and network 0 and the last network at the state the chapters analyse
    "at the optimum" (:func:`helpers.selection.focus_states`)."""
    focus, _ = selection.focus_states(states)
    mid = int(np.argmin(np.abs(states["sparsity"] - 0.55)))
    return sorted({(0, mid)} | {(k, focus[k]) for k in (0, states.n_networks - 1) if k in focus})


@pytest.mark.parametrize("preset, source", SHIPPED_CENSUSES)
def test_sampled_cells_recompute_exactly(preset, source):
    params = census.shipped_params(source, preset)
    folder = SHIPPED / expected_folder(source, preset)
    if not folder.is_dir():
        pytest.fail(f"no shipped census for {source!r}: run {REMEDY}")
    z = pd.read_csv(folder / "z.csv")
    noise = pd.read_csv(folder / "noise.csv")
    states = analysed.ensemble(params)
    inputs = {(e, s): args for args in census.cell_inputs(states) for e, s in [args[1:3]]}
    for e, s in cells_to_check(states):
        got_z, got_noise = census.assemble([census.cell(*inputs[e, s], n_null=params["n_null"], seed=params["seed"],
                                                        null_outputs=params["null_outputs"])])
        for got, table in ((got_z, z), (got_noise, noise)):
            want = table[(table.network == e) & (table.state == s)].reset_index(drop=True)
            assert len(want) == len(got) > 0, (source, e, s)
            assert want.null.tolist() == got.null.tolist() and want.motif.tolist() == got.motif.tolist()
            for column in got.columns.drop(["null", "convention", "motif"]):
                np.testing.assert_allclose(want[column].to_numpy(float), got[column].to_numpy(float),
                                           rtol=1e-12, atol=0, equal_nan=True, err_msg=f"{source} {e} {s} {column}")


def test_a_missing_artifact_is_copied_not_computed(tmp_path, monkeypatch):
    monkeypatch.setenv("HELPERS_ARTIFACTS", str(tmp_path))

    def refuse(*args, **kwargs):
        raise AssertionError("the census was computed although a shipped copy exists")

    monkeypatch.setattr(census, "compute", refuse)
    params = census.shipped_params("as-original")
    result = census.census(params)
    folder = SHIPPED / expected_folder("as-original")
    assert result["z"].equals(pd.read_csv(folder / "z.csv"))
    assert pipeline.sealed(pipeline.artifact_dir("census", census.key_params(params)))
    other = dict(params, seed=params["seed"] + 1)                    # another key: no shipped copy
    with pytest.raises(AssertionError, match="computed although"):
        census.census(other)


def test_a_damaged_shipped_census_is_named(tmp_path, monkeypatch):
    import shutil

    source = SHIPPED / expected_folder("reference")
    copy = tmp_path / "data" / "censuses" / source.name
    shutil.copytree(source, copy)
    text = (copy / "z.csv").read_bytes()
    (copy / "z.csv").write_bytes(text[:-10] + b"9" * 10)
    monkeypatch.setattr(census, "shipped_folder", lambda folder: copy)
    monkeypatch.setattr(pipeline, "repo_root", lambda: tmp_path)
    target = tmp_path / "artifact" / source.name
    target.mkdir(parents=True)
    with pytest.raises(pipeline.ArtifactError, match="restore it from the repository"):
        census.copy_shipped(target)
    assert not (target / "z.csv").exists()
