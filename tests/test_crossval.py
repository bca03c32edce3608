"""Cross-validation across networks (helpers.crossval): a planted leak is caught, held-out ridge predictions recover a
linear target and do not see the held-out group, and the nearest neighbour names a network from its other states."""
import numpy as np
import pytest

from helpers import crossval as CV


def data(seed=0, n_groups=6, per_group=5, d=4):
    rng = np.random.default_rng(seed)
    groups = np.repeat(np.arange(n_groups), per_group)
    x = rng.normal(size=(len(groups), d))
    y = x @ np.array([1.0, -2.0, 0.5, 0.0][:d]) + 0.01 * rng.normal(size=len(groups))
    return x, y, groups


def test_a_planted_leak_is_caught():
    x, y, groups = data()
    splits = CV.leave_one_group_out(groups)
    CV.check_splits(splits, groups)
    train, test = splits[2]
    leaky = list(splits)
    leaky[2] = (np.concatenate([train, test[:1]]), test)          # one state of the held-out network in training
    with pytest.raises(ValueError, match="fold 2 trains on group 2"):
        CV.check_splits(leaky, groups)
    with pytest.raises(ValueError, match="fold 2"):
        CV.ridge_predict(x, y, groups, splits=leaky)
    with pytest.raises(ValueError, match="exactly once"):
        CV.ridge_predict(x, y, groups, splits=splits[:-1])
    for folds in (splits[:-1], splits + splits[:1]):             # a sample never tested, or tested twice
        with pytest.raises(ValueError, match="exactly once"):
            CV.nearest_neighbour(x, groups, groups, splits=folds)


def test_held_out_ridge_recovers_a_linear_target_and_never_sees_the_held_out_group():
    x, y, groups = data()
    assert CV.r_squared(y, CV.ridge_predict(x, y, groups)) > 0.99
    assert CV.r_squared(y, CV.ridge_predict(x, y, groups, n_components=3)) > 0.5
    # a target that is each group's own arbitrary value cannot be predicted from features that do not carry it
    rng = np.random.default_rng(1)
    per_group = rng.normal(size=groups.max() + 1)[groups]
    assert CV.r_squared(per_group, CV.ridge_predict(x, per_group, groups)) < 0.2
    # a feature that names the group lets the model fit the training groups, but not the held-out one
    onehot = np.eye(groups.max() + 1)[groups]
    assert CV.r_squared(per_group, CV.ridge_predict(onehot, per_group, groups)) < 0.2


def test_the_nearest_neighbour_names_a_network_from_its_other_states():
    rng = np.random.default_rng(2)
    networks = np.repeat(np.arange(4), 6)
    states = np.tile(np.arange(6), 4)
    signature = rng.normal(size=(4, 5))
    x = signature[networks] + 0.1 * rng.normal(size=(24, 5))
    predicted = CV.nearest_neighbour(x, networks, groups=states)
    assert (predicted == networks).all()
    noise = rng.normal(size=(24, 5))
    assert (CV.nearest_neighbour(noise, networks, groups=states) == networks).mean() < 0.6


def test_features_built_per_fold_see_only_the_training_part():
    x, y, groups = data()
    seen = []

    def features(train):
        seen.append(set(groups[train]))
        return x
    predicted = CV.ridge_predict(features, y, groups)
    assert CV.r_squared(y, predicted) > 0.99
    assert [g for g in range(groups.max() + 1) if g not in seen[g]] == list(range(groups.max() + 1))
    labels = CV.nearest_neighbour(lambda train: x, groups, groups=np.arange(len(groups)))
    assert labels.shape == groups.shape


def test_principal_components_from_the_gram_matrix_are_those_of_the_training_rows():
    rng = np.random.default_rng(4)
    x = rng.normal(size=(12, 40)) @ np.diag(np.linspace(3, 0.1, 40))
    train = np.arange(9)
    scores = CV.principal_components(x @ x.T, 3)(train)
    centre = x[train].mean(axis=0)
    _, _, vt = np.linalg.svd(x[train] - centre, full_matrices=False)
    expected = (x - centre) @ vt[:3].T
    np.testing.assert_allclose(np.abs(scores), np.abs(expected), rtol=1e-8, atol=1e-8)
    with pytest.raises(ValueError, match="gram"):
        CV.principal_components(x[:, :12], 3)
    with pytest.raises(ValueError, match="n_components"):
        CV.principal_components(x @ x.T, 0)


def test_the_residual_target_is_centred_by_the_training_networks_only():
    rng = np.random.default_rng(5)
    networks = np.repeat(np.arange(5), 4)
    states = np.tile(np.arange(4), 5)
    y = 3.0 * states + rng.normal(size=20)
    x = rng.normal(size=(20, 3))
    residual, predicted = CV.ridge_residual(x, y, states, networks)
    held = networks == 2
    means = np.array([y[(networks != 2) & (states == s)].mean() for s in range(4)])
    np.testing.assert_allclose(residual[held], y[held] - means)
    # changing the held-out network's own values changes neither its prediction nor any training mean it meets
    moved = y.copy()
    moved[held] += 100.0
    residual2, predicted2 = CV.ridge_residual(x, moved, states, networks)
    np.testing.assert_allclose(predicted2[held], predicted[held])
    np.testing.assert_allclose(residual2[held], residual[held] + 100.0)
    with pytest.raises(ValueError, match="strata"):
        CV.ridge_residual(x, y, states[:-1], networks)


def test_within_strata_fold_errors_and_the_detectable_effect():
    x = np.array([[1.0, 5.0], [3.0, 5.0], [10.0, 0.0], [30.0, 2.0]])
    z = CV.within_strata(x, [0, 0, 1, 1])
    np.testing.assert_allclose(z, [[-1, 0], [1, 0], [-1, -1], [1, 1]])
    errors = CV.fold_errors(np.array([1.0, 2.0, 3.0]), np.array([1.0, 0.0, 0.0]), [1, 0, 1])
    np.testing.assert_allclose(errors, [4.0, 9.0])
    d8, d18 = CV.detectable_effect(8), CV.detectable_effect(18)
    assert 1.0 < d8 < 1.3 and d18 < d8                      # d_z ≈ 1.15 for 8 pairs at 80 % power (Cohen 1988)
    two_targets = np.column_stack([np.arange(4.0), -np.arange(4.0)])
    assert CV.r_squared(two_targets, two_targets) == 1.0


def test_the_nearest_neighbour_can_standardise_within_strata():
    rng = np.random.default_rng(6)
    networks = np.repeat(np.arange(4), 6)
    states = np.tile(np.arange(6), 4)
    x = rng.normal(size=(4, 3))[networks] + 100.0 * states[:, None]        # the state shift dwarfs the networks
    assert (CV.nearest_neighbour(x, networks, groups=states, strata=states) == networks).all()
    np.testing.assert_array_equal(CV.nearest_neighbour(lambda train: x, networks, groups=states, strata=states),
                                  CV.nearest_neighbour(CV.within_strata(x, states), networks, groups=states))
