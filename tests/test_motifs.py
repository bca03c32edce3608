"""Motif counts against independent oracles: networkx subgraph monomorphisms, path enumeration, direct
degree formulas, and the SPEC's exact counts of the dense original architecture."""
import itertools
from math import comb

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from helpers import graph, motifs
from helpers.oracle import brute_force_counts, random_network

def oracle(masks):
    counts = brute_force_counts(masks)
    return counts["paper"], counts["subgraph"]


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**31), sizes=st.lists(st.integers(1, 5), min_size=2, max_size=5),
       density=st.floats(0.1, 0.9))
def test_counts_equal_brute_force(seed, sizes, density):
    m = random_network(np.random.default_rng(seed), sizes, density)
    paper, subgraph = oracle(m)
    both = motifs.count_motifs(m, "both")
    assert both["paper"] == paper
    assert both["subgraph"] == subgraph
    assert motifs.count_motifs(m, "paper") == paper
    assert motifs.count_motifs(m, "subgraph") == subgraph
    assert list(both["paper"]) == list(motifs.MOTIFS)
    for kernel in ("bits", "lists", "gram"):
        raw = motifs.count_raw(m, kernel=kernel)
        assert motifs.project(raw, "paper").tolist() == [paper[k] for k in motifs.MOTIFS]
        assert motifs.project(raw, "subgraph").tolist() == [subgraph[k] for k in motifs.MOTIFS]


@pytest.mark.parametrize("sizes", [(70, 3, 2), (3, 130, 2, 65), (2, 66, 129, 3), (3, 70, 130, 66, 129)])
def test_counts_across_word_boundaries(sizes):
    """Widths above 64 exercise multi-word rows and both Gram orientations of the bifan kernel."""
    rng = np.random.default_rng(sum(sizes))
    m = random_network(rng, sizes, 0.3)
    both = motifs.count_motifs(m, "both")
    for kernel in ("bits", "lists", "gram"):
        raw = motifs.count_raw(m, kernel=kernel)
        assert motifs.project(raw, "paper").tolist() == list(both["paper"].values())
        assert motifs.project(raw, "subgraph").tolist() == list(both["subgraph"].values())
    # dense-matrix oracle with Python integers
    paper = dict.fromkeys(motifs.MOTIFS, 0)
    sub = dict.fromkeys(motifs.MOTIFS, 0)
    A = [x.astype(object) for x in m]
    for i, mi in enumerate(A):
        out, ind = mi.sum(axis=1), mi.sum(axis=0)
        e = int(mi.sum())
        for d in (paper, sub):
            d["edges"] += e
            d["diverging2"] += sum(comb(int(x), 2) for x in out)
            d["converging2"] += sum(comb(int(x), 2) for x in ind)
            d["diverging3"] += sum(comb(int(x), 3) for x in out)
            d["bifan"] += sum(comb(int(g), 2) for j, row in enumerate(mi @ mi.T) for g in row[j + 1:])
        paper["converging3"] += sum(comb(int(x), 2) for x in ind if x >= 3)
        sub["converging3"] += sum(comb(int(x), 3) for x in ind)
        if i + 1 < len(A):
            P = mi @ A[i + 1][:-1]
            for d in (paper, sub):
                d["biparallel"] += sum(comb(int(p), 2) for p in P.ravel())
            paper["chain2"] += int((P > 0).sum())
            sub["chain2"] += int(P.sum())
            if i + 2 < len(A):
                Q = P @ A[i + 2][:-1]
                paper["chain3"] += int((Q > 0).sum())
                sub["chain3"] += int(Q.sum())
    assert both["paper"] == paper and both["subgraph"] == sub


def test_dense_paper_network_matches_spec():
    dense = [np.ones((a + 1, b), bool) for a, b in zip(graph.PAPER_SIZES[:-1], graph.PAPER_SIZES[1:])]
    c = motifs.count_motifs(dense, "paper")
    assert c["edges"] == 331_735
    assert c["diverging2"] == 64_925_877
    assert c["converging2"] == 65_466_152
    assert c["diverging3"] == 8_607_293_555
    assert c["bifan"] == 12_813_935_856
    assert c["biparallel"] == 13_663_373_640
    assert c["chain2"] == 174_023
    assert c["chain3"] == 13_623
    assert all(isinstance(v, int) for v in c.values())


def test_count_many_matches_count_motifs():
    rng = np.random.default_rng(7)
    nets = [random_network(rng, (4, 6, 5, 3), d) for d in (0.1, 0.4, 0.8)]
    for conv in motifs.CONVENTIONS:
        arr = motifs.count_many(nets, conv)
        assert arr.dtype == np.int64 and arr.shape == (3, 9)
        for row, net in zip(arr, nets):
            assert dict(zip(motifs.MOTIFS, row.tolist())) == motifs.count_motifs(net, conv)
    both = motifs.count_many(nets, "both")
    assert np.array_equal(both["subgraph"], motifs.count_many(nets, "subgraph"))


def test_pack_unpack_roundtrip():
    rng = np.random.default_rng(2)
    m = random_network(rng, (3, 70, 5, 130), 0.4)
    back = motifs.unpack(motifs.pack(m), graph.sizes(m))
    assert all(np.array_equal(a, b) for a, b in zip(m, back))


def test_bad_input():
    m = random_network(np.random.default_rng(0), (3, 4, 2), 0.5)
    with pytest.raises(ValueError, match="convention"):
        motifs.count_motifs(m, "induced")
    with pytest.raises(ValueError, match="layer 1"):
        motifs.count_motifs([m[0], m[1][:-1]])
    with pytest.raises(ValueError, match="network 1"):
        motifs.count_many([m, random_network(np.random.default_rng(0), (3, 5, 2), 0.5)])
