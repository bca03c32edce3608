"""Flight model: parameters, equations (independent re-implementation, Jacobian, energy) and the integrator against a
tight Radau oracle over the whole sampling range."""
import dataclasses
import itertools
import math

import numpy as np
import pytest
from scipy.integrate import solve_ivp

from helpers import flight as fl

P = fl.PARAMS
REF_STATE0 = np.array([[0, 1127.569064, 0, 765.895323, 1.075898, 11.962440, 3.427385, 18.462602]])
REF_CONTROLS = np.array([[41181.992912, 1.987846, -63216.237665]])
REF_FINAL = np.array([18.32333, 716.6280, 14.96542, 553.7839, 2.653196, 147.0685, 5.115223, 153.1879])


def spec_rhs(t, y, F, alpha, tau):
    """The equations of motion of chapter 1 (Bustamante et al. 2022) typed out directly (drag formula with
    1/Re, generic 4x4 solve): the oracle's right-hand side."""
    x, xd, yy, yd, th, thd, ph, phd = y
    speed = math.hypot(xd, yd)
    dx = dy = 0.0
    if speed > 0:
        for b, S in ((P.b_head, P.S_head), (P.b_butt, P.S_butt)):
            re = P.rho_air * speed * 2 * b / P.mu_air
            cd = 24 / abs(re) + 6 / (1 + math.sqrt(abs(re))) + 0.4
            dx += 0.5 * cd * P.rho_air * S * abs(xd) * xd
            dy += 0.5 * cd * P.rho_air * S * abs(yd) * yd
    m1, m2, L1, L2 = P.m1, P.m2, P.L1, P.L2
    h1, h2, h3 = m1 + m2, -L1 * m1 * math.sin(th), -L2 * m2 * math.sin(ph)
    h4, h5 = L1 * m1 * math.cos(th), L2 * m2 * math.cos(ph)
    joint = P.K * (ph - th - math.pi - P.beta_r) + P.c * (phd - thd)
    h6 = -F * math.cos(alpha + th) + dx - L1 * m1 * math.cos(th) * thd ** 2 - L2 * m2 * math.cos(ph) * phd ** 2
    h7 = P.g * h1 + dy - L1 * m1 * math.sin(th) * thd ** 2 - F * math.sin(alpha + th) \
        - L2 * m2 * math.sin(ph) * phd ** 2
    h8 = -tau + P.g * L1 * m1 * math.cos(th) - joint - F * P.L3 * math.sin(alpha)
    h9 = tau + P.g * L2 * m2 * math.cos(ph) + joint
    h10, h11 = P.I1 + L1 ** 2 * m1, P.I2 + L2 ** 2 * m2
    M = np.array([[h1, 0, h2, h3], [0, h1, h4, h5], [h2, h4, h10, 0], [h3, h5, 0, h11]])
    a = np.linalg.solve(M, -np.array([h6, h7, h8, h9]))
    return np.array([xd, a[0], yd, a[1], thd, a[2], phd, a[3]])


def radau(state0, controls, duration=fl.HORIZON):
    out = []
    for s, u in zip(state0, controls):
        sol = solve_ivp(spec_rhs, (0.0, duration), s, method="Radau", rtol=1e-10, atol=1e-10, args=tuple(u))
        assert sol.success
        out.append(sol.y[:, -1])
    return np.array(out)


@pytest.fixture(scope="module")
def final_ranges():
    """Spread (max - min) of every final-state variable over the sampling range: the yardstick for errors."""
    s0, u = fl.sample_conditions(20_000, np.random.default_rng(123))
    return np.ptp(fl.simulate(s0, u), axis=0)


def test_derived_parameters_match_spec():
    assert P.m1 == pytest.approx(0.84823, rel=1e-5)
    assert P.m2 == pytest.approx(1.79071, rel=1e-5)
    assert P.I1 == pytest.approx(0.17982, rel=1e-4)
    assert P.I2 == pytest.approx(1.49435, rel=1e-5)
    assert P.S_head == pytest.approx(math.pi * 0.25)
    assert P.S_butt == pytest.approx(math.pi * 0.5625)
    with pytest.raises(dataclasses.FrozenInstanceError):
        P.K = 1.0
    heavier = dataclasses.replace(P, rho_head=1.8)
    assert heavier.m1 == pytest.approx(2 * P.m1) and heavier.I1 == pytest.approx(2 * P.I1)


def test_sample_conditions_ranges_and_seed():
    s0, u = fl.sample_conditions(5000, np.random.default_rng(0))
    assert s0.shape == (5000, 8) and u.shape == (5000, 3) and s0.dtype == u.dtype == np.float64
    assert np.all(s0[:, [0, 2]] == 0)
    for col, name in ((1, "xdot"), (3, "ydot"), (4, "theta"), (5, "thetadot"), (6, "phi"), (7, "phidot")):
        lo, hi = fl.RANGES[name]
        assert s0[:, col].min() >= lo and s0[:, col].max() < hi
        assert s0[:, col].min() < lo + 0.01 * (hi - lo) and s0[:, col].max() > hi - 0.01 * (hi - lo)
    for col, name in enumerate(fl.CONTROL_NAMES):
        lo, hi = fl.RANGES[name]
        assert u[:, col].min() >= lo and u[:, col].max() < hi
    again = fl.sample_conditions(5000, np.random.default_rng(0))
    assert np.array_equal(again[0], s0) and np.array_equal(again[1], u)
    with pytest.raises(ValueError, match="parameter 'n' = -1 is invalid"):
        fl.sample_conditions(-1, np.random.default_rng(0))
    with pytest.raises(ValueError, match="rng"):
        fl.sample_conditions(3, 0)


def test_derivatives_equal_spec_closed_form():
    rng = np.random.default_rng(1)
    s0, u = fl.sample_conditions(200, rng)
    s0[:, [0, 2]] = rng.normal(0, 10, (200, 2))
    s0[:, [5, 7]] *= 10          # also far outside the sampled angular velocities
    s0[0, [1, 3]] = 0.0          # zero speed: drag must vanish without a division by zero
    ours = fl.derivatives(s0, u)
    ref = np.array([spec_rhs(0, s, *c) for s, c in zip(s0, u)])
    np.testing.assert_allclose(ours, ref, rtol=1e-11, atol=1e-9)


def test_analytic_jacobian_matches_finite_differences():
    rng = np.random.default_rng(2)
    s0, u = fl.sample_conditions(20, rng)
    jac = fl.jacobian(s0, u)
    fd = np.empty_like(jac)
    for j in range(8):
        d = np.zeros(8)
        d[j] = 1e-6 * max(1.0, np.abs(s0[:, j]).max())
        fd[:, :, j] = (fl.derivatives(s0 + d, u) - fl.derivatives(s0 - d, u)) / (2 * d[j])
    np.testing.assert_allclose(jac, fd, rtol=1e-6, atol=1e-3)


def test_energy_rate_equals_power_of_forces():
    """dE/dt along the vector field = power of F and tau minus damper and drag dissipation (pointwise)."""
    s0, u = fl.sample_conditions(100, np.random.default_rng(3))
    f = fl.derivatives(s0, u)
    eps = 1e-7
    rate = (fl.mechanical_energy(s0 + eps * f) - fl.mechanical_energy(s0 - eps * f)) / (2 * eps)
    pw = fl.powers(s0, u)
    balance = pw["force"] + pw["torque"] - pw["damper"] - pw["drag"]
    scale = np.max(np.abs(np.stack(list(pw.values()))), axis=0)
    assert np.max(np.abs(rate - balance) / scale) < 1e-7
    assert np.all(pw["damper"] >= 0) and np.all(pw["drag"] >= 0)


def test_simulated_energy_balance():
    s0, u = fl.sample_conditions(6, np.random.default_rng(4))
    eb = fl.energy_balance(s0, u, panels=40)
    scale = np.max(np.abs(np.stack([eb[k] for k in ("dE", "work_force", "work_torque", "loss_damper",
                                                    "loss_drag")])), axis=0)
    assert np.all(np.abs(eb["residual"]) / scale < 1e-5)


def test_reference_trajectory_of_spec():
    final = fl.simulate(REF_STATE0, REF_CONTROLS)[0]
    # SPEC prints 7 significant digits
    np.testing.assert_allclose(final, REF_FINAL, rtol=1e-6)


def test_against_radau_on_random_conditions(final_ranges):
    s0, u = fl.sample_conditions(24, np.random.default_rng(5))
    err = np.abs(fl.simulate(s0, u) - radau(s0, u)) / final_ranges
    assert err.max() <= 1e-6, err.max(axis=0)


def test_against_radau_at_corners_of_the_range(final_ranges):
    """Random corners of the 9-d sampling box (each variable at its bound), plus a start at rest."""
    rng = np.random.default_rng(6)
    names = ["xdot", "ydot", "theta", "thetadot", "phi", "phidot", "F", "alpha", "tau"]
    corners = np.array(list(itertools.product((0, 1), repeat=len(names))))[rng.choice(2 ** len(names), 11,
                                                                                     replace=False)]
    s0, u = np.zeros((12, 8)), np.zeros((12, 3))
    for row, corner in enumerate(corners):
        vals = {n: fl.RANGES[n][k] for n, k in zip(names, corner)}
        s0[row] = [0, vals["xdot"], 0, vals["ydot"], vals["theta"], vals["thetadot"], vals["phi"], vals["phidot"]]
        u[row] = [vals["F"], vals["alpha"], vals["tau"]]
    s0[11], u[11] = [0, 0, 0, 0, 0.5, 0, 0.5 + math.pi, 0], [0, 0, 0]   # at rest, joint relaxed: free fall
    ours = fl.simulate(s0, u)
    assert np.all(np.isfinite(ours))
    err = np.abs(ours - radau(s0, u)) / final_ranges
    assert err.max() <= 1e-6, err.max(axis=0)
    # free fall from rest with the joint at its rest angle: y(T) = -g T^2 / 2 up to air drag
    assert ours[11, 2] == pytest.approx(-0.5 * P.g * fl.HORIZON ** 2, rel=1e-3)


def test_whole_range_is_finite_and_chunk_independent():
    s0, u = fl.sample_conditions(3000, np.random.default_rng(7))
    out, steps = fl.simulate(s0, u, return_steps=True)
    assert out.dtype == np.float64 and out.shape == (3000, 8) and np.all(np.isfinite(out))
    assert steps.min() > 0
    np.testing.assert_array_equal(fl.simulate(s0[1000:2000], u[1000:2000]), out[1000:2000])
    np.testing.assert_array_equal(fl.simulate(s0, u, duration=0.0), s0)


@pytest.mark.parametrize("state, controls, match", [
    (np.zeros((3, 7)), np.zeros((3, 3)), "state must have shape"),
    (np.zeros(8), np.zeros((1, 3)), "state must have shape"),
    (np.zeros((3, 8)), np.zeros((3, 2)), "controls must have shape"),
    (np.zeros((3, 8)), np.zeros((4, 3)), "disagree on N"),
    (np.full((2, 8), np.nan), np.zeros((2, 3)), "state holds non-finite"),
    (np.zeros((2, 8)), np.array([[np.inf, 0, 0], [0, 0, 0]]), "controls holds non-finite"),
    (np.array([["a"] * 8]), np.zeros((1, 3)), "real numbers"),
])
def test_simulate_rejects_bad_input(state, controls, match):
    with pytest.raises(ValueError, match=match):
        fl.simulate(state, controls)


@pytest.mark.parametrize("kwargs, match", [({"duration": -0.01}, "duration"), ({"duration": float("nan")}, "duration"),
                                           ({"duration": True}, "duration"), ({"tol": 0.5}, "tol")])
def test_simulate_rejects_bad_settings(kwargs, match):
    with pytest.raises(ValueError, match=match):
        fl.simulate(np.zeros((1, 8)), np.zeros((1, 3)), **kwargs)
