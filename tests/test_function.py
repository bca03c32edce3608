"""Paired comparisons over networks (helpers.function): the sign-flip test, exact and drawn, and the ratios."""
import itertools

import numpy as np
import pytest

from helpers import function


def test_the_exact_test_counts_sign_patterns_by_hand():
    # values 1, 2, 3: the 8 patterns' |means| are 2, 4/3, 2/3, 0, 0, 2/3, 4/3, 2; observed 2 → 2 of 8
    out = function.sign_flip_test([1.0, 2.0, 3.0])
    assert out == dict(n=3, p_value=0.25, p_floor=0.25, exact=True)
    assert function.sign_flip_test([1.0, np.nan, 2.0, 3.0])["n"] == 3           # NaN dropped
    assert np.isnan(function.sign_flip_test([np.nan])["p_value"])


def test_drawn_patterns_agree_with_the_exact_test_and_scale_to_32_networks():
    rng = np.random.default_rng(3)
    x = rng.normal(0.3, 1.0, 12)
    exact = function.sign_flip_test(x)
    brute = np.mean([abs(np.dot(s, x)) >= abs(x.sum()) - 1e-9 for s in itertools.product((1, -1), repeat=12)])
    assert exact["exact"] and exact["p_value"] == pytest.approx(brute)
    drawn = function.sign_flip_test(x, exact_max=8, draws=40_000, seed=1)
    assert not drawn["exact"] and drawn["p_floor"] == 1 / 40_001
    se = np.sqrt(brute * (1 - brute) / 40_000)
    assert abs(drawn["p_value"] - brute) < 5 * se + 1e-4
    assert drawn == function.sign_flip_test(x, exact_max=8, draws=40_000, seed=1)     # seeded
    many = function.sign_flip_test(np.full(32, 0.5))                     # every difference positive
    assert many["n"] == 32 and many["p_value"] == many["p_floor"] == 1 / (1 + function.SIGN_DRAWS)
    with pytest.raises(ValueError, match="draws"):
        function.sign_flip_test(x, draws=0)


def test_paired_ratios_and_their_test():
    a, b = np.array([2.0, 4.0, 3.0, 1.0]), np.array([1.0, 2.0, 1.0, 2.0])
    out = function.paired(a, b)
    assert out["median"] == pytest.approx(np.median(a / b)) and out["above"] == 3 and out["n"] == 4
    assert out["p_value"] == function.sign_flip_test(np.log(a / b))["p_value"]
    with pytest.raises(ValueError, match="one value per network"):
        function.paired(a, b[:3])
