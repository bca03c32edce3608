"""The motif census of a pruned ensemble, on small synthetic networks standing in for the pruning run."""
import numpy as np
import pandas as pd
import pytest

from helpers import analysed, census, graph, motifs, stats

SIZES = (4, 12, 12, 3)
SPARSITY = np.array([0.0, 0.5, 0.8])


class States(dict):
    """Stands in for a snapshot: the summary arrays plus ``masks(e, s)``."""

    def masks(self, e, s):
        return self.exchange_masks(self, e, s)


@pytest.fixture
def fake_run(tmp_path, monkeypatch):
    monkeypatch.setenv("HELPERS_ARTIFACTS", str(tmp_path))
    states = States(sparsity=SPARSITY, val_loss=np.zeros((2, 3)), optimal=np.array([2, 1]))
    calls = []

    def ensemble(params, progress=False):
        calls.append(params)
        return states

    def exchange_masks(st, network, state):
        if SPARSITY[state] == 0:
            return [np.ones((a + 1, b), bool) for a, b in zip(SIZES[:-1], SIZES[1:])]
        return graph.synthetic_pruned(SIZES, sparsity=SPARSITY[state], seed=10 * network + state)

    states.exchange_masks = exchange_masks
    monkeypatch.setattr(analysed, "ensemble", ensemble)
    monkeypatch.setattr(analysed, "key", lambda params: {"fake": 1})
    return states


PARAMS = dict(seed=3, n_null=30, null_outputs="live")


def test_census_matches_zscores_cell_by_cell_and_is_cached(fake_run):
    out = census.census(PARAMS)
    z, noise = out["z"], out["noise"]
    assert len(z) == 2 * 3 * 2 * 2 * len(census.Z_MOTIFS) and len(noise) == len(z)
    for model in ("paper", "degree"):
        for convention in motifs.CONVENTIONS:
            ref = stats.zscores(fake_run.masks(1, 2), n_null=30, null=model, convention=convention,
                                seed=stats.derive_seed(3, 1, SPARSITY[2]))
            cell = z[(z.network == 1) & (z.state == 2) & (z.null == model) & (z.convention == convention)]
            cell = cell.set_index("motif")
            assert np.array_equal(cell.real.to_numpy(), ref.loc[list(census.Z_MOTIFS), "real"].to_numpy())
            assert np.allclose(cell.z, ref.loc[list(census.Z_MOTIFS), "z"], equal_nan=True)
    degree = z[(z.null == "degree") & (z.sparsity > 0)].set_index("motif")
    assert degree.loc[["diverging2", "converging2", "diverging3"], "z"].isna().all(), \
        "degrees fix these counts under the degree-preserving null: their Z must be missing"
    dense = z[z.sparsity == 0]
    assert dense.z.isna().all(), "a dense network has a single possible null: Z must be missing"
    again = census.census(PARAMS)
    pd.testing.assert_frame_equal(again["z"], z)


def test_output_rule_changes_only_the_paper_null_of_cells_with_a_cut_off_output(fake_run, monkeypatch):
    cut_off = graph.synthetic_pruned(SIZES, sparsity=0.6, seed=2)
    cut_off[-1][:, 2] = False                                              # output 2 has lost every input
    assert graph.clean(cut_off)[-1].any(axis=0).tolist() == [True, True, False]
    synthetic = fake_run.exchange_masks
    monkeypatch.setattr(fake_run, "exchange_masks",
                        lambda st, e, s: cut_off if (e, s) == (1, 2) else synthetic(st, e, s))
    live = census.census(PARAMS)["z"].set_index(["network", "state", "null", "convention", "motif"]).z
    everything = census.census(dict(PARAMS, null_outputs="all"))["z"]
    everything = everything.set_index(["network", "state", "null", "convention", "motif"]).z
    differs = ~np.isclose(live, everything, equal_nan=True)
    changed = {key[:3] for key in live.index[differs]}
    assert changed == {(1, 2, "paper")}


def test_census_rejects_too_few_nulls(fake_run):
    with pytest.raises(ValueError, match="n_null"):
        census.census(dict(PARAMS, n_null=3))
