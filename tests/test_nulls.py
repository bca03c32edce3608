"""Null models: what they keep (live nodes, edge counts, degrees), validity, determinism, uniformity."""
from collections import Counter
from math import comb

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from helpers import graph, motifs, nulls, rng
from helpers.oracle import random_network


def layer_facts(masks):
    """Per layer: live source rows, live target columns, weighted and bias edge counts."""
    return [(tuple(np.flatnonzero(m[:-1].any(axis=1))), int(m[:-1].sum()), int(m[-1].sum())) for m in masks]


def check_paper_null(real, null, outputs="live"):
    c = graph.clean(real)
    assert [a.shape for a in null] == [a.shape for a in c]
    assert layer_facts(null) == layer_facts(c)                 # live sources, weighted and bias edges per layer
    live = [np.flatnonzero(m[:-1].any(axis=1)) for m in c]
    for i, m in enumerate(null):
        if i + 1 < len(c):
            targets = live[i + 1]
        else:                                                   # outputs: the real network's live ones, or all
            targets = np.flatnonzero(c[i].any(axis=0)) if outputs == "live" else np.arange(m.shape[1])
        off_cols = np.setdiff1d(np.arange(m.shape[1]), targets)
        assert not m[:, off_cols].any()                         # no edge into a node that is not live
        has_in = m.any(axis=0)[targets]
        if i + 1 < len(c) or outputs == "live":
            assert has_in.all()                                 # every live node keeps an input
        else:
            assert has_in.sum() >= c[i].any(axis=0).sum()       # outputs: at least as covered as the real one
    assert all(np.array_equal(a, b) for a, b in zip(graph.clean(null), null))   # nulls are clean


@settings(max_examples=50, deadline=None)
@given(seed=st.integers(0, 2**31), sizes=st.lists(st.integers(1, 7), min_size=2, max_size=5),
       density=st.floats(0.05, 0.95), bias_density=st.floats(0.0, 1.0), outputs=st.sampled_from(nulls.OUTPUT_RULES))
def test_paper_null_keeps_what_it_should(seed, sizes, density, bias_density, outputs):
    real = random_network(np.random.default_rng(seed), sizes, density, bias_density)
    for null in nulls.sample_null(real, 5, "paper", seed=seed % 1000, outputs=outputs):
        check_paper_null(real, null, outputs)


def network_with_a_cut_off_output():
    """4-5-3 network, everything present except any input (weight or bias) of output 2."""
    m0, m1 = np.ones((5, 5), bool), np.ones((6, 3), bool)
    m1[:, 2] = False
    m1[:3, :2] = False                                          # sparse enough that the null has choices
    return [m0, m1]


def test_live_rule_never_wires_a_cut_off_output_and_the_original_rule_does():
    real = network_with_a_cut_off_output()
    live = nulls.sample_null(real, 200, "paper", seed=1, outputs="live")
    everything = nulls.sample_null(real, 200, "paper", seed=1, outputs="all")
    assert not any(null[1][:, 2].any() for null in live)
    assert sum(null[1][:, 2].any() for null in everything) > 50      # the original's rule rewires it
    for null in everything:
        check_paper_null(real, null, "all")
    # the degree-preserving null keeps output 2's in-degree 0 under either rule
    for rule in nulls.OUTPUT_RULES:
        assert not any(null[1][:, 2].any() for null in nulls.sample_null(real, 20, "degree", seed=1, outputs=rule))


@pytest.mark.parametrize("model", nulls.MODELS)
def test_both_output_rules_agree_while_every_output_is_live(model):
    real = random_network(np.random.default_rng(5), (6, 8, 4), 0.5, 1.0)
    assert graph.clean(real)[-1].any(axis=0).all()
    a = nulls.null_counts(real, 30, model, seed=2, outputs="live")
    b = nulls.null_counts(real, 30, model, seed=2, outputs="all")
    assert np.array_equal(a, b)


def test_paper_null_bias_only_targets():
    # one source feeding one of three targets; the other two are fed by the bias only (E < T branch)
    m0 = np.array([[1, 0, 0], [1, 1, 1]], bool)
    m1 = np.array([[1], [1], [1], [0]], bool)
    for null in nulls.sample_null([m0, m1], 50, "paper", seed=3):
        check_paper_null([m0, m1], null)
        assert null[0][0].sum() == 1 and null[0][1].all()


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**31), sizes=st.lists(st.integers(1, 7), min_size=2, max_size=5),
       density=st.floats(0.05, 0.95))
def test_degree_null_keeps_every_degree(seed, sizes, density):
    real = graph.clean(random_network(np.random.default_rng(seed), sizes, density))
    for null in nulls.sample_null(real, 4, "degree", seed=seed % 1000, trades_per_row=3):
        for a, b in zip(real, null):
            assert np.array_equal(a.sum(axis=1), b.sum(axis=1))
            assert np.array_equal(a.sum(axis=0), b.sum(axis=0))
            assert np.array_equal(a[-1], b[-1])                # bias row is kept
        assert layer_facts(null) == layer_facts(real)


@pytest.mark.parametrize("model", nulls.MODELS)
def test_determinism_and_seed_dependence(model):
    real = graph.synthetic_pruned((6, 30, 30, 4), sparsity=0.7, seed=1)
    a = nulls.sample_null(real, 3, model, seed=11)
    b = nulls.sample_null(real, 3, model, seed=11)
    c = nulls.sample_null(real, 3, model, seed=12)
    same = lambda x, y: all(np.array_equal(p, q) for p, q in zip(x, y))
    assert all(same(x, y) for x, y in zip(a, b))
    assert not any(same(x, y) for x, y in zip(a, c))
    assert not same(a[0], a[1])


@pytest.mark.parametrize("model", nulls.MODELS)
def test_null_counts_are_the_counts_of_the_samples(model):
    real = graph.synthetic_pruned((5, 70, 40, 3), sparsity=0.8, seed=2)
    samples = nulls.sample_null(real, 6, model, seed=4)
    raw = nulls.null_counts(real, 6, model, seed=4)
    both = motifs.count_many(samples, "both")
    for conv in motifs.CONVENTIONS:
        assert np.array_equal(motifs.project(raw, conv), both[conv])


def test_paper_null_extra_edges_uniform():
    # 2 sources x 2 targets, 3 edges: four covering configurations, each must have probability 1/4
    m = [np.array([[1, 1], [1, 0], [0, 0]], bool), np.array([[1], [1], [0]], bool)]
    seen = Counter(tuple(s[0][:2].ravel()) for s in nulls.sample_null(m, 4000, "paper", seed=0))
    assert len(seen) == 4
    assert all(abs(v / 4000 - 0.25) < 0.03 for v in seen.values())


@pytest.mark.parametrize("k", [1, 2, 4])
def test_fill_is_a_uniform_subset_of_the_empty_positions(k):
    """fill_uniform draws Bernoulli bits at a rounded rate and corrects the count: every k-subset of the 5 empty
    positions of a 2 x 3 block (one position already set) must be equally likely, and the set one must stay."""
    state, cover = rng.new_state(7), np.zeros(2, np.uint64)
    n, seen = 20_000, Counter()
    for _ in range(n):
        data = np.array([1, 0], np.uint64)                         # position (0, 0) set beforehand
        nulls.fill_uniform(state, data, 0, 1, 2, 3, k, cover)
        bits = [(int(data[r]) >> c) & 1 for r in range(2) for c in range(3)]
        assert bits[0] == 1 and sum(bits) == k + 1 and int(data[0]) < 8 and int(data[1]) < 8
        seen[tuple(bits)] += 1
    expected = 1 / comb(5, k)
    assert len(seen) == comb(5, k)
    assert all(abs(v / n - expected) < 4 * (expected * (1 - expected) / n) ** 0.5 + 1e-3 for v in seen.values())


def test_curveball_uniform_on_a_small_degree_class():
    # row sums (2, 1), column sums (1, 1, 1): three matrices, a mixed chain visits each with probability 1/3
    m = [np.array([[1, 1, 0], [0, 0, 1], [0, 0, 0]], bool), np.ones((4, 1), bool)]
    seen = Counter(tuple(s[0][:2].ravel()) for s in nulls.sample_null(m, 3000, "degree", seed=1))
    assert len(seen) == 3
    assert all(abs(v / 3000 - 1 / 3) < 0.04 for v in seen.values())


def test_mixing_trace_rises_and_levels_off():
    real = graph.synthetic_pruned((6, 60, 60, 4), sparsity=0.8, seed=3)
    tr = nulls.curveball_mixing_trace(real, trades_per_row=20, n_points=21, seed=0)
    f = tr["fraction_changed"]
    assert f[0] == 0 and tr["trades_per_row"][-1] == 20
    assert f[-1] > 0.3 and abs(f[-1] - f[-5]) < 0.1


def test_bad_arguments():
    real = graph.synthetic_pruned((4, 6, 2), sparsity=0.5, seed=0)
    with pytest.raises(ValueError, match="model"):
        nulls.sample_null(real, 2, "erdos")
    with pytest.raises(ValueError, match="parameter 'n' = 0 is invalid"):
        nulls.sample_null(real, 0)
    with pytest.raises(ValueError, match="seed"):
        nulls.sample_null(real, 2, seed=-1)
    with pytest.raises(ValueError, match="parameter 'outputs' = 'some' is invalid"):
        nulls.null_counts(real, 2, outputs="some")
    with pytest.raises(ValueError, match="layer 1"):
        nulls.sample_null([real[0], real[1][:-1]], 2)


@pytest.mark.parametrize("model", nulls.MODELS)
def test_results_do_not_depend_on_the_thread_count(model):
    import numba
    real = graph.synthetic_pruned((6, 50, 40, 4), sparsity=0.6, seed=5)
    n_null = nulls.DEGREE_BATCH + 7                         # more than one batch of the degree chain
    before = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        raw1 = nulls.null_counts(real, n_null, model, seed=9)
        nets1 = nulls.sample_null(real, 5, model, seed=9)
        numba.set_num_threads(min(2, numba.config.NUMBA_NUM_THREADS))
        raw2 = nulls.null_counts(real, n_null, model, seed=9)
        nets2 = nulls.sample_null(real, 5, model, seed=9)
    finally:
        numba.set_num_threads(before)
    assert np.array_equal(raw1, raw2)
    assert all(np.array_equal(a, b) for x, y in zip(nets1, nets2) for a, b in zip(x, y))
    assert len(np.unique(raw1, axis=0)) > n_null // 2          # the nulls differ from each other
    assert np.array_equal(motifs.project(raw1[:5], "paper"), motifs.count_many(nets1, "paper"))


@pytest.mark.parametrize("model", nulls.MODELS)
def test_a_complete_network_is_its_own_only_null(model):
    """Fully connected among its live nodes (here: the dense network): no sampling, every null equals the real
    network, so the null sd is 0 and Z is undefined."""
    dense = [np.ones((a + 1, b), bool) for a, b in [(3, 5), (5, 4), (4, 2)]]
    assert nulls.complete(nulls.prepare(dense))
    raw = nulls.null_counts(dense, 5, model, seed=1)
    real = motifs.count_raw(graph.clean(dense))
    assert raw.shape == (5, motifs.N_RAW) and (raw == real).all()
    assert all(all(np.array_equal(a, b) for a, b in zip(s, dense)) for s in nulls.sample_null(dense, 3, model))
    sparse = [m.copy() for m in dense]
    sparse[1][0, 0] = False
    assert not nulls.complete(nulls.prepare(sparse))


def test_random_streams():
    """SplitMix64 of the reference implementation (seed 0 → first output 0xE220A8397B1DCDAF), exact bounded draws
    and permutations, distinct per-sample streams, and nothing but the seed deciding a stream."""
    state = np.zeros(1, np.uint64)
    assert int(rng.next_u64(state)) == 0xE220A8397B1DCDAF and int(state[0]) == 0x9E3779B97F4A7C15
    assert int(rng.mix(np.uint64(0))) == 0
    a, b = rng.new_state(5), rng.new_state(5)
    assert np.array_equal(a, b) and not np.array_equal(a, rng.new_state(6))
    starts = {int(rng.sample_state(5, k)[0]) for k in range(1000)}
    assert len(starts) == 1000 and np.array_equal(rng.sample_state(5, 3), rng.sample_state(5, 3))
    draws = np.array([rng.below(a, 6) for _ in range(60_000)])
    assert draws.min() == 0 and draws.max() == 5
    assert np.all(np.abs(np.bincount(draws) / 60_000 - 1 / 6) < 0.01)
    assert all(rng.below(a, 1) == 0 for _ in range(10))
    perm = np.arange(10, dtype=np.int64)
    rng.shuffle(a, perm, 7)
    assert sorted(perm[:7].tolist()) == list(range(7)) and perm[7:].tolist() == [7, 8, 9]


def test_count_autocorrelation_falls_with_the_trades_between_samples():
    real = graph.clean(random_network(np.random.default_rng(3), [12, 14, 14, 6], 0.3, 0.5))
    close = nulls.count_autocorrelation(real, "bifan", n_samples=600, step_per_row=0.05, max_lag=50, seed=1)
    apart = nulls.count_autocorrelation(real, "bifan", n_samples=600, step_per_row=20.0, max_lag=50, seed=1)
    assert close["acf"][0] == pytest.approx(1.0) and np.all(np.abs(close["acf"]) <= 1.0 + 1e-12)
    assert close["acf"][1] > 0.5 and abs(apart["acf"][1]) < 0.2      # nearby samples remember, distant ones do not
    assert close["tau_trades_per_row"] > 0 and close["lag_trades_per_row"][2] == pytest.approx(0.1)
    fixed = nulls.count_autocorrelation(real, "edges", n_samples=100, step_per_row=1.0, max_lag=10)
    assert np.isnan(fixed["tau_trades_per_row"]) and np.isnan(fixed["acf"]).all()     # the degrees fix it
    with pytest.raises(ValueError, match="motif"):
        nulls.count_autocorrelation(real, "triangle")
    with pytest.raises(ValueError, match="n_samples"):
        nulls.count_autocorrelation(real, "bifan", n_samples=10, max_lag=10)
