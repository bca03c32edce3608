"""The brute-force reference itself, on networks small enough to count by hand."""
import numpy as np

from helpers.oracle import brute_force_counts, random_network


def test_hand_counted_network():
    # inputs a, b (+ bias), hidden c, d (+ bias), output e; a->c, a->d, b->c, b->d, c->e, d->e
    m0 = np.array([[1, 1], [1, 1], [0, 0]], bool)
    m1 = np.array([[1], [1], [0]], bool)
    counts = brute_force_counts([m0, m1])
    sub, paper = counts["subgraph"], counts["paper"]
    assert sub["edges"] == 6 and sub["bifan"] == 1 and sub["biparallel"] == 2
    assert sub["diverging2"] == 2 and sub["converging2"] == 3          # a, b diverge; c, d and e converge
    assert sub["chain2"] == 4 and paper["chain2"] == 2                  # 4 paths join 2 (input, output) pairs
    assert sub["chain3"] == 0 and sub["diverging3"] == 0 and sub["converging3"] == 0


def test_random_network_layout_and_bias_density():
    rng = np.random.default_rng(0)
    m = random_network(rng, (3, 4, 2), 0.5, bias_density=0.0)
    assert [a.shape for a in m] == [(4, 4), (5, 2)] and all(a.dtype == bool for a in m)
    assert not any(a[-1].any() for a in m)
