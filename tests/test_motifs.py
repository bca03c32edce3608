"""Motif counts against independent oracles: networkx subgraph monomorphisms, path enumeration, direct
degree formulas, and the exact counts of the dense original architecture derived in chapter 5 of the book."""
from math import comb

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from helpers import bits, graph, motifs
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


def test_count_packed_and_count_into_are_the_counts_of_count_raw():
    rng = np.random.default_rng(11)
    nets = [random_network(rng, (5, 70, 66, 3), d) for d in (0.2, 0.7)]
    n, off, total = motifs.layout(graph.sizes(nets[0]))
    data = np.stack([motifs.pack(net) for net in nets])
    assert data.shape == (2, total)
    out = np.zeros((2, motifs.N_RAW), dtype=np.int64)
    motifs.count_into(data, n, off, out, 0)
    one = np.full(motifs.N_RAW, 5, dtype=np.int64)                # count_packed adds to what is there
    motifs.count_packed(data[1], n, off, one, 2)
    assert np.array_equal(out, np.stack([motifs.count_raw(net) for net in nets]))
    assert np.array_equal(one - 5, out[1])


def test_bit_primitives_against_numpy():
    rng = np.random.default_rng(3)
    dense = rng.random((70, 130)) < 0.3
    packed = motifs.pack([dense], validated=True)               # one layer: rows 70, columns 130
    w = bits.words(130)
    assert w == 3 and bits.words(0) == 0 and bits.words(64) == 1 and packed.shape == (70 * w,)
    matrix = packed.reshape(70, w)
    assert np.array_equal(bits.row_popcounts(matrix), dense.sum(axis=1))
    for x in (0, 1, 0xFFFFFFFFFFFFFFFF, 0x8000000000000001, 0x0123456789ABCDEF):
        assert bits.popcount(np.uint64(x)) == bin(x).count("1")
    t = bits.transpose(packed, 0, 70, 130)
    assert t.shape == (130, bits.words(70))
    assert np.array_equal(motifs.unpack(t.ravel(), (129, 70))[0], dense.T)
    ptr, idx = bits.csr(matrix, 70)
    _, cols = np.nonzero(dense)
    assert np.array_equal(np.diff(ptr), dense.sum(axis=1)) and np.array_equal(idx, cols)
    block = np.zeros(2 * w + 1, dtype=np.uint64)               # a 2 × 130 block after one word
    bits.setbit(block, 1, w, 1, 129)
    bits.setbit(block, 1, w, 0, 0)
    assert bits.getbit(block, 1, w, 1, 129) == bits.ONE and bits.getbit(block, 1, w, 1, 128) == bits.ZERO
    assert block[1] == 1 and block[1 + w + 2] == np.uint64(1) << np.uint64(1)
    bits.clearbit(block, 1, w, 1, 129)
    assert block[0] == 0 and block[1:].tolist() == [1] + [0] * (2 * w - 1)
