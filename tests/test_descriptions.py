"""Descriptions of a network state (helpers.descriptions) on a hand-made network: mask and weight statistics, the
flattened arrays, probe outputs, and the probes the networks disagree on most."""
import numpy as np
import pytest

from helpers import activity, descriptions as D


def hand_made():
    """Two layers: 3 inputs → 2 units → 1 output, biases last."""
    w0 = np.array([[1.0, 0.0], [2.0, -1.0], [0.0, 0.0], [0.5, 0.0]])      # input 2 feeds nothing; one bias kept
    w1 = np.array([[3.0], [0.0], [-0.25]])
    return [w0, w1]


def test_mask_statistics_count_live_units_degrees_and_biases():
    masks = [w != 0 for w in hand_made()]
    stats = D.mask_statistics(masks)
    assert stats.shape == (2 * 13,)
    first = stats[:13]
    assert first[:2].tolist() == [2, 2]                                  # inputs 0 and 1 send, both units receive
    out_deg, in_deg = np.array([1, 2, 0]), np.array([2, 1])
    assert first[2:7] == pytest.approx([out_deg.mean(), out_deg.std(), *np.quantile(out_deg, D.DEGREE_QUANTILES)])
    assert first[7:12] == pytest.approx([in_deg.mean(), in_deg.std(), *np.quantile(in_deg, D.DEGREE_QUANTILES)])
    assert first[12] == 1 and stats[13 + 12] == 1
    assert stats[13:15].tolist() == [1, 1]                               # unit 1 feeds nothing


def test_weight_statistics_are_per_tensor_with_pruned_entries_as_zero():
    stats = D.weight_statistics(hand_made())
    assert stats.shape == (2 * 2 * 7,)
    w0 = hand_made()[0][:-1].ravel()
    assert stats[:7] == pytest.approx([w0.mean(), w0.var(), *np.quantile(w0, D.WEIGHT_QUANTILES)])
    assert stats[7:14] == pytest.approx([0.25, 0.0625, 0.0, 0.125, 0.25, 0.375, 0.5])  # bias row [0.5, 0]


def test_flattened_probes_and_disagreement():
    weights = hand_made()
    assert D.flattened(weights).shape == (8 + 3,)
    probes = np.array([[0.1, 0.2, 0.3], [-0.4, 0.0, 0.5]])
    out = D.probe_outputs(weights, probes)
    np.testing.assert_allclose(out, activity.preactivations(weights, probes)[-1].ravel())
    outputs = np.zeros((3, 4, 2))
    outputs[:, 2, 0] = [0.0, 1.0, 2.0]                                   # the networks disagree most on candidate 2
    outputs[:, 0, 1] = [0.0, 0.5, 0.0]
    assert D.disagreement_probes(outputs, 2).tolist() == [2, 0]
    with pytest.raises(ValueError, match="n_probes"):
        D.disagreement_probes(outputs, 5)
    with pytest.raises(ValueError, match="outputs"):
        D.disagreement_probes(outputs[:1], 1)


def test_input_usage_is_the_normalised_mean_absolute_derivative():
    weights = hand_made()
    x = np.random.default_rng(3).normal(size=(50, 3))
    usage = D.input_usage(weights, x)
    # by central differences of the network's output
    eps = 1e-6
    grads = []
    for i in range(3):
        step = np.zeros(3)
        step[i] = eps
        grads.append((activity.preactivations(weights, x + step)[-1] - activity.preactivations(weights, x - step)[-1])
                     / (2 * eps))
    expected = np.array([np.abs(g).mean() for g in grads])
    np.testing.assert_allclose(usage, expected / expected.sum(), rtol=1e-6)
    assert usage[2] == 0.0 and usage.sum() == pytest.approx(1.0)
    silent = [np.zeros_like(w) for w in weights]
    assert (D.input_usage(silent, x) == 0).all()


def test_the_motif_profile_reads_z_then_sp_per_state_of_one_null_and_convention():
    import pandas as pd

    rows = []
    for network, state in ((0, 0), (0, 1), (1, 0)):
        for null in ("paper", "degree"):
            for convention in ("paper", "subgraph"):
                for i, motif in enumerate(("bifan", "chain2")):
                    z = np.nan if (network, state, motif) == (1, 0, "chain2") else 10 * network + state + i
                    rows.append(dict(network=network, state=state, null=null, convention=convention, motif=motif,
                                     z=z if (null, convention) == ("degree", "subgraph") else -99.0, sp=0.5 * i))
    table = pd.DataFrame(rows)
    features = D.motif_profile(table, "degree", [(1, 0), (0, 1)])
    np.testing.assert_array_equal(features, [[10.0, 0.0, 0.0, 0.5], [1.0, 2.0, 0.0, 0.5]])   # NaN Z counts as 0
    with pytest.raises(KeyError):
        D.motif_profile(table, "degree", [(2, 0)])
