"""Z-scores and significance profiles: definitions, undefined cases, determinism, a planted motif."""
import numpy as np
import pandas as pd
import pytest

from helpers import graph, motifs, nulls, stats


def test_zscore_table_matches_its_definition():
    real = graph.synthetic_pruned((6, 40, 40, 5), sparsity=0.8, seed=0)
    t, null = stats.zscores(real, n_null=50, seed=3, convention="subgraph", return_null_counts=True)
    assert list(t.index) == list(motifs.MOTIFS) and list(t.columns) == list(stats.COLUMNS)
    assert null.shape == (50, 9) and null.dtype == np.int64
    assert np.array_equal(null, motifs.project(nulls.null_counts(real, 50, "paper", 3), "subgraph"))
    expected_real = motifs.count_motifs(graph.clean(real), "subgraph")
    assert t["real"].to_dict() == expected_real
    sd = null.std(axis=0, ddof=1)
    np.testing.assert_allclose(t["null_sd"], sd)
    ok = sd > 0
    z = (np.array(list(expected_real.values()))[ok] - null.mean(axis=0)[ok]) / sd[ok]
    np.testing.assert_allclose(t["z"].to_numpy()[ok], z)
    assert np.isnan(t.loc["edges", "z"]) and np.isnan(t.loc["edges", "sp"])     # edge count is fixed
    zz = t["z"].drop("edges").dropna()
    np.testing.assert_allclose(t["sp"].drop("edges").dropna(), zz / np.sqrt((zz ** 2).sum()))


def test_undefined_z_is_nan_never_inf():
    dense = [np.ones((a + 1, b), bool) for a, b in [(4, 5), (5, 5), (5, 3)]]
    t = stats.zscores(dense, n_null=5, seed=0)
    assert (t["null_sd"] == 0).all()
    assert t["z"].isna().all() and t["sp"].isna().all()
    assert not np.isinf(t[["z", "sp"]].to_numpy()).any()


def test_determinism():
    real = graph.synthetic_pruned((6, 30, 30, 4), sparsity=0.75, seed=1)
    for null in nulls.MODELS:
        a = stats.zscores(real, n_null=30, null=null, seed=5)
        b = stats.zscores(real, n_null=30, null=null, seed=5)
        c = stats.zscores(real, n_null=30, null=null, seed=6)
        pd.testing.assert_frame_equal(a, b)
        assert not a["null_mean"].equals(c["null_mean"])


def test_planted_bifans_give_positive_z():
    # a random sparse network plus a planted dense block (8 sources x 8 targets all connected)
    rng = np.random.default_rng(0)
    sizes = (8, 60, 60, 6)
    real = [rng.random((a + 1, b)) < 0.08 for a, b in zip(sizes[:-1], sizes[1:])]
    real[1][:8, :8] = True
    real[0][:, :] |= rng.random(real[0].shape) < 0.2
    real[2][:-1] |= rng.random(real[2][:-1].shape) < 0.2
    t = stats.zscores(real, n_null=200, seed=0)
    assert t.loc["bifan", "z"] > 3
    t_deg = stats.zscores(real, n_null=200, null="degree", seed=0)
    assert t_deg.loc["bifan", "z"] > 3


def test_sweep_long_table_and_seeds():
    nets = {(k, s): graph.synthetic_pruned((5, 20, 20, 3), sparsity=s, seed=k) for k in (0, 1) for s in (0.5, 0.8)}
    df = stats.sweep(nets, n_null=20, seed=9)
    assert list(df.columns) == ["network", "sparsity", "convention", "motif", *stats.COLUMNS]
    assert len(df) == 4 * 2 * 9
    # each pair equals a single zscores call with its derived seed, in both conventions
    for (k, s), masks in nets.items():
        for conv in motifs.CONVENTIONS:
            one = stats.zscores(masks, n_null=20, convention=conv, seed=stats.derive_seed(9, k, s))
            part = df[(df.network == k) & (df.sparsity == s) & (df.convention == conv)].set_index("motif")
            pd.testing.assert_frame_equal(part[list(stats.COLUMNS)], one, check_names=False)
    # a pair's result does not depend on the other pairs
    alone = stats.sweep({(1, 0.8): nets[(1, 0.8)]}, n_null=20, seed=9, conventions=("paper",))
    both = df[(df.network == 1) & (df.sparsity == 0.8) & (df.convention == "paper")]
    np.testing.assert_array_equal(alone["z"].to_numpy(), both["z"].to_numpy())


def test_bad_arguments():
    real = graph.synthetic_pruned((4, 6, 2), sparsity=0.5, seed=0)
    with pytest.raises(ValueError, match="n_null"):
        stats.zscores(real, n_null=1)
    with pytest.raises(ValueError, match="convention"):
        stats.zscores(real, n_null=5, convention="induced")
    with pytest.raises(ValueError, match="null"):
        stats.zscores(real, n_null=5, null="erdos")
    with pytest.raises(ValueError, match=r"network \(1, 0.5\).*layer 1"):
        stats.sweep({(0, 0.5): real, (1, 0.5): [real[0], real[1][:-1]]}, n_null=5)


def test_network_without_edges_gives_missing_z_not_errors():
    empty = [np.zeros((4, 3), bool), np.zeros((4, 2), bool)]
    for null in nulls.MODELS:
        t = stats.zscores(empty, n_null=3, null=null)
        assert (t["real"] == 0).all() and t["z"].isna().all() and t["sp"].isna().all()


def test_a_network_gets_one_seed_whichever_integer_type_indexes_it():
    assert stats.derive_seed(4, np.int64(3), 0.93) == stats.derive_seed(4, 3, 0.93)
    assert stats.derive_seed(4, np.uint8(3), 0.93) == stats.derive_seed(4, 3, 0.93)
    assert stats.derive_seed(4, 3, 0.93) != stats.derive_seed(4, 4, 0.93) != stats.derive_seed(4, 3, 0.92)
    assert stats.derive_seed(4, "net-3", 0.93) != stats.derive_seed(4, 3, 0.93)
