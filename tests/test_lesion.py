"""Lesions (helpers.lesion): each edge's bi-fan and bi-parallel participation against brute force and the census's
counts, and what each strategy cuts."""
import itertools

import numpy as np
import pytest

from helpers import graph, lesion, motifs


def random_masks(seed, sizes=(4, 5, 5, 3), density=0.5):
    rng = np.random.default_rng(seed)
    return [rng.random((a + 1, b)) < density for a, b in zip(sizes[:-1], sizes[1:])]


def brute_force(masks):
    """Per edge, the bi-fans and bi-parallels containing it, by enumerating every node quadruple."""
    out = [np.zeros(m.shape, dtype=np.int64) for m in masks]
    for i, m in enumerate(masks):
        rows, cols = m.shape
        for a, b in itertools.combinations(range(rows), 2):
            for c, d in itertools.combinations(range(cols), 2):
                if m[a, c] and m[a, d] and m[b, c] and m[b, d]:
                    for s, t in ((a, c), (a, d), (b, c), (b, d)):
                        out[i][s, t] += 1
        if i + 1 < len(masks):
            nxt = masks[i + 1]
            for a in range(rows):
                for c, d in itertools.combinations(range(cols), 2):        # middle neurons (never a bias row)
                    for t in range(nxt.shape[1]):
                        if m[a, c] and m[a, d] and nxt[c, t] and nxt[d, t]:
                            out[i][a, c] += 1
                            out[i][a, d] += 1
                            out[i + 1][c, t] += 1
                            out[i + 1][d, t] += 1
    return out


@pytest.mark.parametrize("seed", range(6))
def test_participation_is_the_brute_force_count(seed):
    masks = random_masks(seed)
    fast = lesion.participation(masks)
    for a, b in zip(fast, brute_force(masks)):
        np.testing.assert_array_equal(a, b)


def test_participation_adds_up_to_four_times_the_census_counts():
    masks = graph.clean(graph.synthetic_pruned(sparsity=0.9, seed=3))
    part = lesion.participation(masks)
    counts = dict(zip(motifs.RAW, motifs.count_raw(masks)))
    assert sum(int(p.sum()) for p in part) == 4 * (counts["bifan"] + counts["biparallel"])


def test_strategies_cut_what_they_promise():
    masks = graph.clean(graph.synthetic_pruned(sparsity=0.9, seed=4))
    rng = np.random.default_rng(0)
    weights = [np.where(m, rng.normal(size=m.shape), 0.0) for m in masks]
    table = lesion.edge_table(masks, weights)
    assert len(table) == sum(int(m[:-1].sum()) for m in masks)
    n = int(round(0.1 * len(table)))
    motif = lesion.choose(table, "motif", 0.1)
    assert len(motif) == len(set(motif)) == n
    assert table.participation.iloc[motif].min() >= table.participation.drop(table.index[motif]).max()
    for strategy, column in lesion.MATCHED.items():
        random = lesion.choose(table, strategy, 0.1, seed=5)
        assert len(set(random)) == n
        cells = lambda rows: table.iloc[rows].groupby(["layer", column]).size()            # noqa: E731
        assert cells(random).equals(cells(motif))
        assert not np.array_equal(np.sort(random), np.sort(lesion.choose(table, strategy, 0.1, seed=6)))
    small, large = lesion.choose(table, "smallest", 0.1), lesion.choose(table, "largest", 0.1)
    assert table.weight.iloc[small].max() <= table.weight.drop(table.index[small]).min()
    assert table.weight.iloc[large].min() >= table.weight.drop(table.index[large]).max()
    cut = lesion.lesioned(weights, table, large)
    assert sum(int((w != 0).sum()) for w in cut) == sum(int((w != 0).sum()) for w in weights) - n
    assert all((c[-1] == w[-1].astype(np.float32)).all() for c, w in zip(cut, weights))   # biases are never cut


@pytest.mark.parametrize("kwargs, name", [(dict(strategy="biggest", fraction=0.1), "strategy"),
                                          (dict(strategy="motif", fraction=0.0), "fraction"),
                                          (dict(strategy="motif", fraction=1.5), "fraction")])
def test_a_bad_strategy_or_fraction_is_refused(kwargs, name):
    table = lesion.edge_table(*(lambda m: (m, [x.astype(float) for x in m]))(random_masks(0)))
    with pytest.raises(ValueError, match=name):
        lesion.choose(table, **kwargs)
