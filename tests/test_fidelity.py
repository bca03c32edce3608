"""The paired comparison's measurements on hand-made networks and on the shipped reference ensemble."""
import numpy as np
import pytest

from helpers import fidelity as F
from helpers import graph
from helpers import pruning as P
from helpers import snapshot as S


@pytest.fixture(scope="module")
def ref():
    return S.load("reference")


def test_degree_cv_of_a_hand_made_network():
    # 3 inputs + bias -> 2 hidden -> 1 output (+ bias rows); input 2 is a ghost-free source with no edge (not live)
    m0 = np.array([[1, 1],
                   [1, 0],
                   [0, 0],
                   [0, 0]], dtype=bool)            # bias row last, pruned
    m1 = np.array([[1], [1], [0]], dtype=bool)
    cv_out, cv_in = F.degree_cv([m0, m1])
    # layer 0: live sources have out-degrees 2 and 1 (input 2 and the bias have none): sd/mean = 0.5/1.5
    # its targets have in-degrees 2 and 1; layer 1: out-degrees 1, 1 (CV 0) and one target of in-degree 2
    np.testing.assert_allclose(cv_out, [0.5 / 1.5, 0.0])
    np.testing.assert_allclose(cv_in, [0.5 / 1.5, 0.0])


def test_degree_cv_cleans_first():
    """A dead hidden node's incoming edges do not count: the network is cleaned before degrees are taken."""
    m0 = np.array([[1, 1], [1, 1], [0, 0]], dtype=bool)
    m1 = np.array([[1], [0], [0]], dtype=bool)            # hidden node 1 is dead
    cv_out, cv_in = F.degree_cv([m0, m1])
    np.testing.assert_allclose(cv_out, [0.0, 0.0])       # both inputs now have out-degree 1
    assert graph.clean([m0, m1])[0][:, 1].sum() == 0


def test_pairs_match_seeds_and_refuse_strangers(ref):
    assert F.pairs(ref, ref.select([3, 1])) == [(1, 1), (3, 0)]
    other = ref.select([0])
    other._a["seeds"] = np.array([12345], dtype=np.uint32)   # a stranger's seed
    with pytest.raises(ValueError, match="share no network seed"):
        F.pairs(ref.select([0, 1]), other)


def test_structure_and_revivals_of_the_reference(ref):
    table = F.structure(ref, [0])
    assert len(table) == ref.n_states and table.optimum.sum() == 1
    assert table.live_edges.iloc[0] == 331_735 and table.cv_out.iloc[0] == 0 == table.cv_in.iloc[0]
    assert (np.diff(table.live_edges) < 0).all()
    back = F.revivals(ref)
    assert len(back) == ref.n_networks * (ref.n_states - 1)
    assert back.revived_weights.sum() == 0 == back.revived_biases.sum()   # the book's rule: nothing returns


def test_revivals_count_what_came_back(ref):
    snap = ref.select([0])
    for i in range(5):   # plant: weight (0, 0) of layer i pruned at state 3 and back at state 4
        packed = snap._a[f"mask{i}"]
        m3 = np.unpackbits(packed[0, 3]).astype(bool)
        m4 = np.unpackbits(packed[0, 4]).astype(bool)
        j = int(np.flatnonzero(m4)[0])
        m3[j] = False
        packed[0, 3] = np.packbits(m3)
        assert m4[j]
    back = F.revivals(snap)
    assert back.set_index("state").revived_weights[4] == 5


def test_one_shot_masks_follow_the_pruning_rule(ref):
    masks = F.one_shot_masks(ref, 0, [0.15, 0.85])
    w, b = ref.network_weights(0, 0)
    for target, m in masks.items():
        expect = P.prune_layerwise(w, [np.ones(x.shape, bool) for x in w], target)
        for got, want in zip(m, expect):
            assert np.array_equal(got[:-1], want)
    # pruning once to 15 % keeps the same number of weights as the iterative run's first prune
    assert sum(x[:-1].sum() for x in masks[0.15]) == sum(x[:-1].sum() for x in ref.masks(0, 1))
    with pytest.raises(ValueError, match="sparsity"):
        F.one_shot_masks(ref, 0, [1.0])
