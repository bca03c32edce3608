"""Tests of helpers.graph: validation, ghost/dead node removal, live nodes, networkx view, synthetic networks."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from helpers import graph
from helpers.oracle import random_network


def forward(masks, weights, x):
    """tanh MLP with linear output; weights[i] has the exchange layout (last row = bias)."""
    h = x
    for i, (m, w) in enumerate(zip(masks, weights)):
        wm = w * m
        h = h @ wm[:-1] + wm[-1]
        if i < len(masks) - 1:
            h = np.tanh(h)
    return h


def test_validate_accepts_and_converts():
    m = graph.validate([np.ones((3, 2), dtype=np.int64), np.array([[1.0], [0.0], [1.0]])])
    assert [a.dtype for a in m] == [bool, bool]
    assert graph.sizes(m) == (2, 2, 1)


@pytest.mark.parametrize("masks, fragment", [
    ([np.ones((3, 2)), np.ones((4, 1))], "layer 1"),            # rows must be 2 + 1
    ([np.ones((3, 2)), np.ones(3)], "layer 1"),                 # not 2-D
    ([np.ones((3, 2)), np.full((3, 1), 2)], "layer 1"),         # not binary
    ([np.full((3, 2), 0.5), np.ones((3, 1))], "layer 0"),
    ([np.ones((1, 2))], "layer 0"),                             # no room for a bias row
    ([np.array([["a", "b"], ["c", "d"]])], "layer 0"),
])
def test_validate_names_the_layer(masks, fragment):
    with pytest.raises(ValueError, match=fragment):
        graph.validate(masks)


def test_validate_rejects_non_lists():
    with pytest.raises(ValueError):
        graph.validate(np.ones((3, 3)))
    with pytest.raises(ValueError):
        graph.validate([])


def test_clean_ghost_cascade():
    # sizes (2, 2, 2, 1). Hidden node (1,0) has no input and layer-0 bias is off -> ghost;
    # its only child (2,0) then has no input -> ghost too (cascade); (2,0)'s edge to the output is removed.
    m0 = np.array([[0, 1], [0, 1], [0, 0]], bool)
    m1 = np.array([[1, 0], [0, 1], [0, 0]], bool)
    m2 = np.array([[1], [1], [0]], bool)
    c = graph.clean([m0, m1, m2])
    assert not c[1][0].any()           # ghost (1,0) lost its outgoing row
    assert not c[2][0].any()           # cascaded ghost (2,0)
    assert c[2][1, 0] and c[1][1, 1] and c[0][:2, 1].all()
    assert graph.live_counts([m0, m1, m2]) == (2, 1, 1, 1)


def test_clean_bias_feeds_a_node_so_it_is_not_a_ghost():
    m0 = np.array([[0, 1], [0, 1], [1, 0]], bool)      # (1,0) fed by the bias only
    m1 = np.array([[1], [1], [0]], bool)
    c = graph.clean([m0, m1])
    assert np.array_equal(c[0], m0) and np.array_equal(c[1], m1)


def test_clean_dead_cascade_includes_bias_entries():
    # sizes (2, 2, 2, 1): (2,1) has no outgoing edge -> dead: its column in m1 (bias entry included) goes;
    # then (1,1) (whose only child was (2,1)) is dead: its column in m0 goes (cascade).
    m0 = np.array([[1, 1], [0, 1], [1, 1]], bool)
    m1 = np.array([[1, 0], [0, 1], [1, 1]], bool)
    m2 = np.array([[1], [0], [0]], bool)
    c = graph.clean([m0, m1, m2])
    assert not c[1][:, 1].any()
    assert not c[0][:, 1].any()
    assert c[0][0, 0] and c[0][2, 0] and c[1][0, 0] and c[1][2, 0] and c[2][0, 0]
    assert graph.live_counts([m0, m1, m2]) == (2, 2, 1, 1)
    lv = graph.live_nodes([m0, m1, m2])
    assert [a.tolist() for a in lv] == [[True, False, True], [True, False, True], [True, False, False], [True]]


def test_clean_is_idempotent_and_shape_preserving():
    rng = np.random.default_rng(1)
    m = random_network(rng, (5, 6, 6, 3), 0.25)
    c = graph.clean(m)
    assert [a.shape for a in c] == [a.shape for a in m]
    c2 = graph.clean(c)
    assert all(np.array_equal(a, b) for a, b in zip(c, c2))
    assert all(not (a & ~b).any() for a, b in zip(c, m))      # only removes edges


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**31), sizes=st.lists(st.integers(1, 7), min_size=2, max_size=5),
       density=st.floats(0.05, 0.7))
def test_clean_leaves_function_unchanged_and_result_is_clean(seed, sizes, density):
    rng = np.random.default_rng(seed)
    m = random_network(rng, sizes, density)
    c = graph.clean(m)
    weights = [rng.normal(size=a.shape) for a in m]
    x = rng.normal(size=(16, sizes[0]))
    np.testing.assert_allclose(forward(c, weights, x), forward(m, weights, x), rtol=0, atol=1e-12)
    # clean network: every hidden node with an edge has >= 1 input (bias included) and >= 1 output
    for i in range(1, len(c)):
        has_in = c[i - 1].any(axis=0)
        has_out = c[i][:-1].any(axis=1)
        assert np.array_equal(has_in, has_out)


def test_live_counts_of_the_dense_network():
    dense = [np.ones((a + 1, b), bool) for a, b in zip(graph.PAPER_SIZES[:-1], graph.PAPER_SIZES[1:])]
    assert graph.live_counts(dense) == (11, 401, 401, 401, 17, 7)


def test_to_networkx():
    rng = np.random.default_rng(3)
    m = random_network(rng, (3, 4, 2), 0.5)
    g = graph.to_networkx(m)
    assert g.number_of_nodes() == 4 + 5 + 2
    assert g.number_of_edges() == sum(int(a.sum()) for a in m)
    assert g.nodes[(0, 3)]["bias"] and not g.nodes[(1, 0)]["bias"]
    for i, a in enumerate(m):
        for j, k in zip(*np.nonzero(a)):
            assert g.has_edge((i, j), (i + 1, k))


def test_synthetic_pruned_sparsity_and_determinism():
    m = graph.synthetic_pruned(sparsity=0.93, seed=5)
    assert [a.shape for a in m] == [(11, 400), (401, 400), (401, 400), (401, 16), (17, 7)]
    for a, (p, q) in zip(m, zip(graph.PAPER_SIZES[:-1], graph.PAPER_SIZES[1:])):
        assert a[:-1].sum() == round(0.07 * p * q)
        assert a[-1].sum() < q                          # B3: most biases fall under the weight cutoff
    m2 = graph.synthetic_pruned(sparsity=0.93, seed=5)
    assert all(np.array_equal(a, b) for a, b in zip(m, m2))
    m3 = graph.synthetic_pruned(sparsity=0.93, seed=6)
    assert not all(np.array_equal(a, b) for a, b in zip(m, m3))
    with pytest.raises(ValueError, match="sparsity"):
        graph.synthetic_pruned(sparsity=1.0)
