"""The planar two-body hawkmoth flight model: parameters, equations of motion, sampling and a fast integrator.

State order everywhere (chapter 1): ``[x, xdot, y, ydot, theta, thetadot, phi, phidot]`` in cm, cm/s, rad, rad/s
(x, y = pin joint; theta = thorax angle; phi = abdomen angle, both from horizontal). Controls, constant over a
trajectory: ``[F, alpha, tau]`` = force magnitude (dyn), its direction relative to the thorax axis (rad) and the
internal joint torque (dyn cm). Units are CGS.

The joint's spring and damper are stiff against the small inertias (the fast relaxation of the relative angular
velocity has a rate of ~1e4 1/s, the 20 ms horizon is ~1e3 of its time constants). :func:`simulate` therefore
integrates every trajectory with the L-stable, stiffly accurate Rosenbrock method RODAS4 (Hairer & Wanner) with
embedded error control, compiled with numba and parallel over trajectories. The linear solve of each step is
reduced by the q/v block structure of the Jacobian to one 4x4 system, and the 4x4 mass matrix is solved in closed
form through its 2x2 Schur complement.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numba
import numpy as np

from helpers.checks import Spec

STATE_NAMES = ("x", "xdot", "y", "ydot", "theta", "thetadot", "phi", "phidot")
CONTROL_NAMES = ("F", "alpha", "tau")


@dataclass(frozen=True)
class FlightParams:
    """Physical parameters of the original study (chapter 1, CGS units).

    The fields are the ellipsoid semi-axes (cm), densities (g/cm^3), air viscosity (g/(cm s)), lever arms L1, L2,
    L3 (cm), joint stiffness K (g cm^2/(s^2 rad)) and damping c (g cm^2/(s rad)), gravity g (cm/s^2) and the
    spring's rest-angle offset beta_r (rad); each field's comment gives its meaning. Masses, inertias and drag
    areas are derived from the ellipsoid geometry (the properties ``m1``, ``m2``, ``I1``, ``I2``, ``S_head``,
    ``S_butt``), never typed in.
    """

    b_head: float = 0.5          # cm, semi-minor axis of head+thorax
    a_head: float = 0.9          # cm, semi-major axis of head+thorax
    b_butt: float = 0.75         # cm, semi-minor axis of abdomen
    a_butt: float = 1.9          # cm, semi-major axis of abdomen
    rho_head: float = 0.9        # g/cm^3
    rho_butt: float = 0.4        # g/cm^3
    rho_air: float = 0.00118     # g/cm^3
    mu_air: float = 0.000186     # g/(cm s)
    L1: float = 0.9              # cm, pin -> thorax centre of mass
    L2: float = 1.9              # cm, pin -> abdomen centre of mass
    L3: float = 0.75             # cm, pin -> point where F acts
    K: float = 23000.0           # g cm^2/(s^2 rad), torsional stiffness
    c: float = 14075.8           # g cm^2/(s rad), torsional damping
    g: float = 980.0             # cm/s^2
    beta_r: float = 0.0          # rad, spring rest-angle offset

    @property
    def m1(self) -> float:
        """Head+thorax mass (g): density times prolate-ellipsoid volume (4/3) pi b^2 a."""
        return self.rho_head * (4.0 / 3.0) * math.pi * self.b_head ** 2 * self.a_head

    @property
    def m2(self) -> float:
        """Abdomen mass (g)."""
        return self.rho_butt * (4.0 / 3.0) * math.pi * self.b_butt ** 2 * self.a_butt

    @property
    def I1(self) -> float:
        """Head+thorax moment of inertia about its centre of mass (g cm^2): (1/5) m (a^2 + b^2)."""
        return 0.2 * self.m1 * self.b_head ** 2 * (1.0 + (self.a_head / self.b_head) ** 2)

    @property
    def I2(self) -> float:
        """Abdomen moment of inertia about its centre of mass (g cm^2)."""
        return 0.2 * self.m2 * self.b_butt ** 2 * (1.0 + (self.a_butt / self.b_butt) ** 2)

    @property
    def S_head(self) -> float:
        """Head+thorax drag area (cm^2): pi b^2."""
        return math.pi * self.b_head ** 2

    @property
    def S_butt(self) -> float:
        """Abdomen drag area (cm^2)."""
        return math.pi * self.b_butt ** 2

    def packed(self) -> np.ndarray:
        """The parameters as one vector for the compiled kernels.

        Returns
        -------
        ndarray, float64 (17,)
            ``[m1, m2, I1, I2, L1, L2, L3, K, c, g, beta_r, rho_air, mu_air, S_head, S_butt, b_head, b_butt]``
            in CGS units (order fixed by ``_P_*`` indices below; the kernels read it by position).
        """
        return np.array([self.m1, self.m2, self.I1, self.I2, self.L1, self.L2, self.L3, self.K, self.c, self.g,
                         self.beta_r, self.rho_air, self.mu_air, self.S_head, self.S_butt, self.b_head,
                         self.b_butt], dtype=np.float64)


PARAMS = FlightParams()

#: Sampling ranges of the original's training data (chapter 2; uniform, independent; x0 = y0 = 0). Half-open
#: for the angles.
RANGES = {
    "F": (0.0, 44300.0), "alpha": (0.0, 2 * math.pi), "tau": (-100000.0, 100000.0),
    "xdot": (-1500.0, 1500.0), "ydot": (-1500.0, 1500.0),
    "theta": (0.0, 2 * math.pi), "phi": (0.0, 2 * math.pi),
    "thetadot": (-25.0, 25.0), "phidot": (-25.0, 25.0),
}
HORIZON = 0.02  # s, one wing stroke


def sample_conditions(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Draw ``n`` flight conditions uniformly from the ranges of :data:`RANGES` (chapter 2).

    Parameters
    ----------
    n : int
        Number of flights, ≥ 0.
    rng : numpy.random.Generator
        The random stream to draw from (state columns first, then the controls).

    Returns
    -------
    state0 : ndarray, float64 (n, 8)
        Initial states in state order ``[x, xdot, y, ydot, theta, thetadot, phi, phidot]`` (cm, cm/s, rad,
        rad/s), with x0 = y0 = 0.
    controls : ndarray, float64 (n, 3)
        Constant controls ``[F, alpha, tau]`` (dyn, rad, dyn cm).

    Raises
    ------
    ValueError
        If ``n`` is not an integer ≥ 0 or ``rng`` is not a ``numpy.random.Generator``.
    """
    Spec(int, 0, None, doc="number of flights").check("n", n)
    if not isinstance(rng, np.random.Generator):
        raise ValueError(f"rng must be a numpy.random.Generator, got {type(rng).__name__}")
    n = int(n)
    state0 = np.zeros((n, 8))
    for col, name in ((1, "xdot"), (3, "ydot"), (4, "theta"), (5, "thetadot"), (6, "phi"), (7, "phidot")):
        lo, hi = RANGES[name]
        state0[:, col] = rng.uniform(lo, hi, n)
    controls = np.empty((n, 3))
    for col, name in enumerate(CONTROL_NAMES):
        lo, hi = RANGES[name]
        controls[:, col] = rng.uniform(lo, hi, n)
    return state0, controls


# ------------------------------------------------------------------------------------------- compiled core

@numba.njit(cache=True, inline="always")
def _msolve(h1, h2, h3, h4, h5, s11, s12, s22, det, r1, r2, r3, r4):
    """Solve M a = r for M = [[h1 I, B], [B^T, D]] through the 2x2 Schur complement S = D - B^T B / h1."""
    t3 = r3 - (h2 * r1 + h4 * r2) / h1
    t4 = r4 - (h3 * r1 + h5 * r2) / h1
    a3 = (s22 * t3 - s12 * t4) / det
    a4 = (s11 * t4 - s12 * t3) / det
    return (r1 - h2 * a3 - h3 * a4) / h1, (r2 - h4 * a3 - h5 * a4) / h1, a3, a4


@numba.njit(cache=True)
def accelerations(p, th, ph, xd, yd, thd, phd, F, sa, ca, tau, out, with_jac, Aq, Av):
    """Accelerations [xddot, yddot, thetaddot, phiddot] of the model (chapter 1): solves M a = -[h6, h7, h8, h9].

    Compiled with numba (``njit``); it writes its results into ``out`` (and ``Aq``, ``Av``) and returns nothing.

    Parameters
    ----------
    p : ndarray, float64 (17,)
        The packed flight parameters (:meth:`FlightParams.packed`), CGS.
    th, ph : float
        Thorax angle theta and abdomen angle phi (rad, from horizontal).
    xd, yd : float
        Pin-joint velocity xdot, ydot (cm/s).
    thd, phd : float
        Angular velocities thetadot, phidot (rad/s).
    F : float
        Force magnitude (dyn).
    sa, ca : float
        sin and cos of the force direction alpha (rad, relative to the thorax axis).
    tau : float
        Internal joint torque (dyn cm).
    out : ndarray, float64 (4,)
        Receives ``[xddot, yddot, thetaddot, phiddot]`` (cm/s², cm/s², rad/s², rad/s²).
    with_jac : bool
        Whether to also write the Jacobians into ``Aq`` and ``Av``.
    Aq : ndarray, float64 (4, 4)
        With ``with_jac``, columns 2, 3 receive the exact Jacobian d a / d(theta, phi); columns 0, 1 (x, y) are
        not written (the accelerations do not depend on position).
    Av : ndarray, float64 (4, 4)
        With ``with_jac``, receives d a / d(xdot, ydot, thetadot, phidot).
    """
    m1, m2, I1, I2, L1, L2, L3 = p[0], p[1], p[2], p[3], p[4], p[5], p[6]
    K, c, g, beta, rho, mu, Sh, Sb, bh, bb = p[7], p[8], p[9], p[10], p[11], p[12], p[13], p[14], p[15], p[16]
    sth, cth = math.sin(th), math.cos(th)
    sph, cph = math.sin(ph), math.cos(ph)
    sat, cat = sa * cth + ca * sth, ca * cth - sa * sth      # sin, cos of (alpha + theta)
    speed = math.sqrt(xd * xd + yd * yd)
    # Drag per body and axis: 0.5 rho S Cd |v_axis| v_axis with one Reynolds number per body from the pin's
    # speed, Cd = 24/Re + 6/(1 + sqrt(Re)) + 0.4. Summed over both bodies, D_axis = k(speed) |v_axis| v_axis with
    # k(s) = 0.5 rho (stokes / s + form(s)); the Stokes part keeps the drag bounded and it vanishes at s = 0.
    kd = 0.0
    dk = 0.0
    if speed > 0.0:
        ch, cb = rho * 2.0 * bh / mu, rho * 2.0 * bb / mu
        sqh, sqb = math.sqrt(ch * speed), math.sqrt(cb * speed)
        stokes = 24.0 / ch * Sh + 24.0 / cb * Sb
        form = (6.0 / (1.0 + sqh) + 0.4) * Sh + (6.0 / (1.0 + sqb) + 0.4) * Sb
        kd = 0.5 * rho * (stokes / speed + form)
        if with_jac:
            dform = -6.0 * Sh / (1.0 + sqh) ** 2 * ch / (2.0 * sqh) - 6.0 * Sb / (1.0 + sqb) ** 2 * cb / (2.0 * sqb)
            dk = 0.5 * rho * (-stokes / (speed * speed) + dform)
    dx = kd * abs(xd) * xd
    dy = kd * abs(yd) * yd
    h1 = m1 + m2
    h2 = -L1 * m1 * sth
    h3 = -L2 * m2 * sph
    h4 = L1 * m1 * cth
    h5 = L2 * m2 * cph
    spring = K * (ph - th - math.pi - beta) + c * (phd - thd)
    h10 = I1 + L1 * L1 * m1
    h11 = I2 + L2 * L2 * m2
    # right-hand side r = -[h6, h7, h8, h9]
    r1 = F * cat - dx + L1 * m1 * cth * thd * thd + L2 * m2 * cph * phd * phd
    r2 = -g * h1 - dy + L1 * m1 * sth * thd * thd + F * sat + L2 * m2 * sph * phd * phd
    r3 = tau - g * L1 * m1 * cth + spring + F * L3 * sa
    r4 = -tau - g * L2 * m2 * cph - spring
    s11 = h10 - (h2 * h2 + h4 * h4) / h1
    s12 = -(h2 * h3 + h4 * h5) / h1
    s22 = h11 - (h3 * h3 + h5 * h5) / h1
    det = s11 * s22 - s12 * s12
    a1, a2, a3, a4 = _msolve(h1, h2, h3, h4, h5, s11, s12, s22, det, r1, r2, r3, r4)
    out[0] = a1
    out[1] = a2
    out[2] = a3
    out[3] = a4
    if with_jac:
        # d a / d z = M^-1 (d r / d z - (d M / d z) a)
        j1, j2, j3, j4 = _msolve(h1, h2, h3, h4, h5, s11, s12, s22, det,
                                 -F * sat - L1 * m1 * sth * thd * thd + h4 * a3,
                                 F * cat + L1 * m1 * cth * thd * thd - h2 * a3,
                                 g * L1 * m1 * sth - K + h4 * a1 - h2 * a2,
                                 K)
        Aq[0, 2], Aq[1, 2], Aq[2, 2], Aq[3, 2] = j1, j2, j3, j4
        j1, j2, j3, j4 = _msolve(h1, h2, h3, h4, h5, s11, s12, s22, det,
                                 -L2 * m2 * sph * phd * phd + h5 * a4,
                                 L2 * m2 * cph * phd * phd - h3 * a4,
                                 K,
                                 g * L2 * m2 * sph - K + h5 * a1 - h3 * a2)
        Aq[0, 3], Aq[1, 3], Aq[2, 3], Aq[3, 3] = j1, j2, j3, j4
        # drag derivatives: dD_x/dxdot = k' xdot/s |xdot| xdot + 2 k |xdot|, dD_x/dydot = k' ydot/s |xdot| xdot
        gx = dk / speed if speed > 0.0 else 0.0
        dxx = gx * xd * abs(xd) * xd + 2.0 * kd * abs(xd)
        dxy = gx * yd * abs(xd) * xd
        dyx = gx * xd * abs(yd) * yd
        dyy = gx * yd * abs(yd) * yd + 2.0 * kd * abs(yd)
        j1, j2, j3, j4 = _msolve(h1, h2, h3, h4, h5, s11, s12, s22, det, -dxx, -dyx, 0.0, 0.0)
        Av[0, 0], Av[1, 0], Av[2, 0], Av[3, 0] = j1, j2, j3, j4
        j1, j2, j3, j4 = _msolve(h1, h2, h3, h4, h5, s11, s12, s22, det, -dxy, -dyy, 0.0, 0.0)
        Av[0, 1], Av[1, 1], Av[2, 1], Av[3, 1] = j1, j2, j3, j4
        j1, j2, j3, j4 = _msolve(h1, h2, h3, h4, h5, s11, s12, s22, det,
                                 2.0 * L1 * m1 * cth * thd, 2.0 * L1 * m1 * sth * thd, -c, c)
        Av[0, 2], Av[1, 2], Av[2, 2], Av[3, 2] = j1, j2, j3, j4
        j1, j2, j3, j4 = _msolve(h1, h2, h3, h4, h5, s11, s12, s22, det,
                                 2.0 * L2 * m2 * cph * phd, 2.0 * L2 * m2 * sph * phd, c, -c)
        Av[0, 3], Av[1, 3], Av[2, 3], Av[3, 3] = j1, j2, j3, j4


@numba.njit(cache=True)
def _jacobian_kernel(p, states, controls, aq, av):
    a = np.empty(4)
    for i in range(states.shape[0]):
        s = states[i]
        al = controls[i, 1]
        accelerations(p, s[4], s[6], s[1], s[3], s[5], s[7], controls[i, 0], math.sin(al), math.cos(al), controls[i, 2],
               a, True, aq[i], av[i])


@numba.njit(parallel=True, cache=True)
def _derivatives_kernel(p, states, controls, out):
    for i in numba.prange(states.shape[0]):
        a = np.empty(4)
        dummy = np.empty((4, 4))
        s = states[i]
        al = controls[i, 1]
        accelerations(p, s[4], s[6], s[1], s[3], s[5], s[7], controls[i, 0], math.sin(al), math.cos(al), controls[i, 2],
               a, False, dummy, dummy)
        out[i, 0] = s[1]
        out[i, 1] = a[0]
        out[i, 2] = s[3]
        out[i, 3] = a[1]
        out[i, 4] = s[5]
        out[i, 5] = a[2]
        out[i, 6] = s[7]
        out[i, 7] = a[3]


# RODAS4 coefficients (Hairer & Wanner 1996, as in rodas.f / KPP), autonomous form.
_GAMMA = 0.25
_A = np.array([
    [0.0, 0.0, 0.0, 0.0, 0.0],
    [0.1544000000000000e+01, 0.0, 0.0, 0.0, 0.0],
    [0.9466785280815826e+00, 0.2557011698983284e+00, 0.0, 0.0, 0.0],
    [0.3314825187068521e+01, 0.2896124015972201e+01, 0.9986419139977817e+00, 0.0, 0.0],
    [0.1221224509226641e+01, 0.6019134481288629e+01, 0.1253708332932087e+02, -0.6878860361058950e+00, 0.0],
    [0.1221224509226641e+01, 0.6019134481288629e+01, 0.1253708332932087e+02, -0.6878860361058950e+00, 1.0],
])
_C = np.array([
    [0.0, 0.0, 0.0, 0.0, 0.0],
    [-0.5668800000000000e+01, 0.0, 0.0, 0.0, 0.0],
    [-0.2430093356833875e+01, -0.2063599157091915e+00, 0.0, 0.0, 0.0],
    [-0.1073529058151375e+00, -0.9594562251023355e+01, -0.2047028614809616e+02, 0.0, 0.0],
    [0.7496443313967647e+01, -0.1024680431464352e+02, -0.3399990352819905e+02, 0.1170890893206160e+02, 0.0],
    [0.8083246795921522e+01, -0.7981132988064893e+01, -0.3152159432874371e+02, 0.1631930543123136e+02,
     -0.6058818238834054e+01],
])
#: Absolute error scale per internal variable (q = x, y, theta, phi; v = xdot, ydot, thetadot, phidot): about
#: the spread of each final-state variable over the sampling range, so one tolerance means "fraction of range".
_SCALE_Q = np.array([40.0, 40.0, 10.0, 10.0])
_SCALE_V = np.array([3000.0, 3000.0, 400.0, 400.0])
DEFAULT_TOL = 1e-6


@numba.njit(cache=True)
def _rodas4_one(p, y0, F, alpha, tau, T, tol, A, C, sq, sv, out):
    """Integrate one trajectory over [0, T] with adaptive RODAS4; writes the final state into ``out`` (8,).
    Returns the number of accepted steps (negative if the step budget ran out)."""
    q = np.empty(4)
    v = np.empty(4)
    for k in range(4):
        q[k] = y0[2 * k]
        v[k] = y0[2 * k + 1]
    kq = np.empty((6, 4))
    kv = np.empty((6, 4))
    qs = np.empty(4)
    vs = np.empty(4)
    a0 = np.empty(4)
    a1 = np.empty(4)
    Aq = np.zeros((4, 4))   # d accel / d q (columns x, y stay zero: accelerations do not depend on position)
    Av = np.empty((4, 4))   # d accel / d v
    W = np.empty((4, 4))
    piv = np.empty(4, dtype=np.int64)
    rhs = np.empty(4)
    sa, ca = math.sin(alpha), math.cos(alpha)
    t = 0.0
    h = 2e-6 * T / 0.02
    naccept = 0
    nsteps = 0
    while t < T:
        nsteps += 1
        if nsteps > 100000:
            for k in range(8):
                out[k] = np.nan
            return -naccept
        if t + h > T:
            h = T - t
        last = t + h >= T
        accelerations(p, q[2], q[3], v[0], v[1], v[2], v[3], F, sa, ca, tau, a0, True, Aq, Av)
        # W = s^2 I - s Av - Aq, s = 1/(gamma h): the v-block of (s I - J) after eliminating the q-block.
        s = 1.0 / (_GAMMA * h)
        for r in range(4):
            for cc in range(4):
                W[r, cc] = -s * Av[r, cc] - Aq[r, cc]
            W[r, r] += s * s
        # LU with partial pivoting, in place.
        for cc in range(4):
            pr = cc
            big = abs(W[cc, cc])
            for r in range(cc + 1, 4):
                if abs(W[r, cc]) > big:
                    big = abs(W[r, cc])
                    pr = r
            piv[cc] = pr
            if pr != cc:
                for k in range(4):
                    tmp = W[cc, k]
                    W[cc, k] = W[pr, k]
                    W[pr, k] = tmp
            for r in range(cc + 1, 4):
                W[r, cc] /= W[cc, cc]
                for k in range(cc + 1, 4):
                    W[r, k] -= W[r, cc] * W[cc, k]
        # Six stages.
        for i in range(6):
            for k in range(4):
                qs[k] = q[k]
                vs[k] = v[k]
            for j in range(i):
                aij = A[i, j]
                if aij != 0.0:
                    for k in range(4):
                        qs[k] += aij * kq[j, k]
                        vs[k] += aij * kv[j, k]
            if i == 0:
                for k in range(4):
                    a1[k] = a0[k]
            else:
                accelerations(p, qs[2], qs[3], vs[0], vs[1], vs[2], vs[3], F, sa, ca, tau, a1, False, Aq, Av)
            # stage right-hand side: f(Y_i) + sum_j C_ij / h K_j
            for k in range(4):
                rq = vs[k]
                rv = a1[k]
                for j in range(i):
                    cij = C[i, j] / h
                    rq += cij * kq[j, k]
                    rv += cij * kv[j, k]
                kq[i, k] = rq
                kv[i, k] = rv
            # solve (s I - J) [uq; uv] = [rq; rv]:  W uv = s rv + Aq rq,  uq = (rq + uv) / s
            for r in range(4):
                acc = s * kv[i, r]
                for k in range(2, 4):
                    acc += Aq[r, k] * kq[i, k]
                rhs[r] = acc
            for cc in range(4):
                pr = piv[cc]
                if pr != cc:
                    tmp = rhs[cc]
                    rhs[cc] = rhs[pr]
                    rhs[pr] = tmp
            for r in range(1, 4):
                for k in range(r):
                    rhs[r] -= W[r, k] * rhs[k]
            for r in range(3, -1, -1):
                for k in range(r + 1, 4):
                    rhs[r] -= W[r, k] * rhs[k]
                rhs[r] /= W[r, r]
            for k in range(4):
                kv[i, k] = rhs[k]
                kq[i, k] = (kq[i, k] + rhs[k]) / s
        # New solution = stage-6 argument + K6; error estimate = K6 (stiffly accurate pair).
        err = 0.0
        for k in range(4):
            eq = kq[5, k] / sq[k]
            ev = kv[5, k] / sv[k]
            err = max(err, abs(eq), abs(ev))
        err /= tol
        if err != err or err > 1e300:
            h *= 0.2
            continue
        if err <= 1.0:
            for k in range(4):
                q[k] = qs[k] + kq[5, k]
                v[k] = vs[k] + kv[5, k]
            t = T if last else t + h
            naccept += 1
        fac = 0.9 * (max(err, 1e-10)) ** (-0.25)
        fac = min(6.0, max(0.2, fac))
        if err > 1.0:
            fac = min(fac, 1.0)
        h *= fac
    for k in range(4):
        out[2 * k] = q[k]
        out[2 * k + 1] = v[k]
    return naccept


@numba.njit(parallel=True, cache=True)
def _simulate_kernel(p, states, controls, T, tol, A, C, sq, sv, out, steps):
    for i in numba.prange(states.shape[0]):
        steps[i] = _rodas4_one(p, states[i], controls[i, 0], controls[i, 1], controls[i, 2], T, tol, A, C, sq, sv,
                               out[i])


# ------------------------------------------------------------------------------------------------ public API

def _check_batch(state: np.ndarray, controls: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    state = np.asarray(state)
    controls = np.asarray(controls)
    if state.ndim != 2 or state.shape[1] != 8:
        raise ValueError(f"state must have shape (N, 8) in order {STATE_NAMES}, got {state.shape}")
    if controls.ndim != 2 or controls.shape[1] != 3:
        raise ValueError(f"controls must have shape (N, 3) as [F, alpha, tau], got {controls.shape}")
    if state.shape[0] != controls.shape[0]:
        raise ValueError(f"state and controls disagree on N: {state.shape[0]} vs {controls.shape[0]}")
    for name, arr in (("state", state), ("controls", controls)):
        if not np.issubdtype(arr.dtype, np.number) or np.issubdtype(arr.dtype, np.complexfloating):
            raise ValueError(f"{name} must be real numbers, got dtype {arr.dtype}")
        if not np.all(np.isfinite(arr)):
            raise ValueError(f"{name} holds non-finite values (NaN or inf)")
    return np.ascontiguousarray(state, dtype=np.float64), np.ascontiguousarray(controls, dtype=np.float64)


def derivatives(state: np.ndarray, controls: np.ndarray, params: FlightParams = PARAMS) -> np.ndarray:
    """Time derivative of the state from the closed-form equations of the model (chapter 1).

    Parameters
    ----------
    state : array_like of float, (N, 8)
        States in state order ``[x, xdot, y, ydot, theta, thetadot, phi, phidot]`` (cm, cm/s, rad, rad/s).
    controls : array_like of float, (N, 3)
        Controls ``[F, alpha, tau]`` (dyn, rad, dyn cm).
    params : FlightParams
        The physical parameters (default: the original study's, :data:`PARAMS`).

    Returns
    -------
    ndarray, float64 (N, 8)
        d(state)/dt in state order (cm/s, cm/s², rad/s, rad/s²).

    Raises
    ------
    ValueError
        On bad shapes, a disagreeing N, non-real dtypes or non-finite values.
    """
    state, controls = _check_batch(state, controls)
    out = np.empty_like(state)
    _derivatives_kernel(params.packed(), state, controls, out)
    return out


def jacobian(state: np.ndarray, controls: np.ndarray, params: FlightParams = PARAMS) -> np.ndarray:
    """Analytic Jacobian d(derivatives)/d(state), in state order (what the integrator uses).

    Parameters
    ----------
    state : array_like of float, (N, 8)
        States in state order (cm, cm/s, rad, rad/s).
    controls : array_like of float, (N, 3)
        Controls ``[F, alpha, tau]`` (dyn, rad, dyn cm).
    params : FlightParams
        The physical parameters (default :data:`PARAMS`).

    Returns
    -------
    ndarray, float64 (N, 8, 8)
        ``jac[n, i, j]`` = d(derivatives[n, i]) / d(state[n, j]).

    Raises
    ------
    ValueError
        On bad shapes, a disagreeing N, non-real dtypes or non-finite values.
    """
    state, controls = _check_batch(state, controls)
    n = state.shape[0]
    aq, av = np.zeros((n, 4, 4)), np.zeros((n, 4, 4))
    _jacobian_kernel(params.packed(), state, controls, aq, av)
    jac = np.zeros((n, 8, 8))
    for k in range(4):
        jac[:, 2 * k, 2 * k + 1] = 1.0                 # d(q_k)/dt = v_k
        jac[:, 2 * k + 1, 0::2] = aq[:, k, :]
        jac[:, 2 * k + 1, 1::2] = av[:, k, :]
    return jac


def simulate(state0: np.ndarray, controls: np.ndarray, duration: float = HORIZON, params: FlightParams = PARAMS,
             tol: float = DEFAULT_TOL, return_steps: bool = False):
    """Integrate N flights for ``duration`` seconds with constant controls; returns final states float64 (N, 8).

    Each trajectory is integrated with adaptive RODAS4 (module doc), in parallel over trajectories.

    Parameters
    ----------
    state0 : array_like of float, (N, 8)
        Initial states in state order ``[x, xdot, y, ydot, theta, thetadot, phi, phidot]`` (cm, cm/s, rad,
        rad/s).
    controls : array_like of float, (N, 3)
        Constant controls ``[F (dyn), alpha (rad), tau (dyn cm)]``.
    duration : float
        Integration time (s), ≥ 0; default :data:`HORIZON` (20 ms, one wing stroke). 0 returns ``state0``.
    params : FlightParams
        The physical parameters (default :data:`PARAMS`).
    tol : float
        Local error tolerance as a fraction of each variable's typical range, in [1e-14, 1e-2] (the default
        :data:`DEFAULT_TOL` gives a global error of about 1e-7 of the range; see the tests).
    return_steps : bool
        Also return the accepted steps per trajectory.

    Returns
    -------
    final : ndarray, float64 (N, 8)
        The states after ``duration``, in state order.
    steps : ndarray, int64 (N,)
        Only with ``return_steps``: the accepted steps per trajectory (0 when nothing was integrated).

    Raises
    ------
    ValueError
        On bad shapes, a disagreeing N, non-real dtypes, non-finite inputs or a bad duration/tolerance.
    RuntimeError
        If an integration fails (its step budget of 100,000 steps is exhausted or a state becomes non-finite).
    """
    state0, controls = _check_batch(state0, controls)
    Spec(float, 0.0, None, doc="seconds").check("duration", duration)
    Spec(float, 1e-14, 1e-2, doc="relative and absolute error tolerance").check("tol", tol)
    out = np.empty_like(state0)
    steps = np.zeros(state0.shape[0], dtype=np.int64)
    if duration == 0 or state0.shape[0] == 0:
        out[:] = state0
    else:
        _simulate_kernel(params.packed(), state0, controls, float(duration), float(tol), _A, _C, _SCALE_Q,
                         _SCALE_V, out, steps)
        if np.any(steps < 0) or not np.all(np.isfinite(out)):
            raise RuntimeError("integration failed (step budget exhausted or non-finite state)")
    return (out, steps) if return_steps else out


def trajectory(state0: np.ndarray, controls: np.ndarray, times: np.ndarray, params: FlightParams = PARAMS,
               tol: float = DEFAULT_TOL) -> np.ndarray:
    """States at the increasing sample ``times`` starting from t = 0.

    The flights are integrated with :func:`simulate` from one sample time to the next.

    Parameters
    ----------
    state0 : array_like of float, (N, 8)
        States at t = 0 in state order (cm, cm/s, rad, rad/s).
    controls : array_like of float, (N, 3)
        Constant controls ``[F, alpha, tau]`` (dyn, rad, dyn cm).
    times : array_like of float, (T,)
        Sample times (s): non-empty, non-decreasing, finite, ≥ 0.
    params : FlightParams
        The physical parameters (default :data:`PARAMS`).
    tol : float
        Local error tolerance of :func:`simulate`, in [1e-14, 1e-2].

    Returns
    -------
    ndarray, float64 (N, T, 8)
        The state of each flight at each sample time.

    Raises
    ------
    ValueError
        If ``times`` is not a non-empty, non-decreasing 1-d array of finite times ≥ 0, or as :func:`simulate`
        raises for bad states, controls or tolerance.
    RuntimeError
        If an integration fails (:func:`simulate`).
    """
    times = np.asarray(times, dtype=np.float64)
    if times.ndim != 1 or times.size == 0 or times[0] < 0 or np.any(np.diff(times) < 0) \
            or not np.all(np.isfinite(times)):
        raise ValueError("times must be a non-empty, non-decreasing 1-d array of finite times >= 0")
    state, controls = _check_batch(state0, controls)
    out = np.empty((state.shape[0], times.size, 8))
    t = 0.0
    for k, tk in enumerate(times):
        state = simulate(state, controls, float(tk - t), params, tol)
        out[:, k] = state
        t = tk
    return out


# ------------------------------------------------------------------------------------------ energy accounting

def mechanical_energy(state: np.ndarray, params: FlightParams = PARAMS) -> np.ndarray:
    """Kinetic + gravitational + spring energy (erg) of each state.

    Computed from the physical definitions (centre-of-mass velocities of the two ellipsoids), independent of the
    equations of motion.

    Parameters
    ----------
    state : array_like of float, (N, 8)
        States in state order (cm, cm/s, rad, rad/s).
    params : FlightParams
        The physical parameters (default :data:`PARAMS`).

    Returns
    -------
    ndarray, float64 (N,)
        The mechanical energy (erg).
    """
    s = np.asarray(state, dtype=np.float64)
    p = params
    x_d, y_d, th, th_d, ph, ph_d = s[:, 1], s[:, 3], s[:, 4], s[:, 5], s[:, 6], s[:, 7]
    v1x, v1y = x_d - p.L1 * np.sin(th) * th_d, y_d + p.L1 * np.cos(th) * th_d
    v2x, v2y = x_d - p.L2 * np.sin(ph) * ph_d, y_d + p.L2 * np.cos(ph) * ph_d
    kinetic = 0.5 * p.m1 * (v1x ** 2 + v1y ** 2) + 0.5 * p.I1 * th_d ** 2 \
        + 0.5 * p.m2 * (v2x ** 2 + v2y ** 2) + 0.5 * p.I2 * ph_d ** 2
    gravity = p.g * (p.m1 * (s[:, 2] + p.L1 * np.sin(th)) + p.m2 * (s[:, 2] + p.L2 * np.sin(ph)))
    spring = 0.5 * p.K * (ph - th - np.pi - p.beta_r) ** 2
    return kinetic + gravity + spring


def powers(state: np.ndarray, controls: np.ndarray, params: FlightParams = PARAMS) -> dict[str, np.ndarray]:
    """Instantaneous powers (erg/s) of the force, the torque, the damper and the drag.

    Parameters
    ----------
    state : array_like of float, (N, 8)
        States in state order (cm, cm/s, rad, rad/s).
    controls : array_like of float, (N, 3)
        Controls ``[F, alpha, tau]`` (dyn, rad, dyn cm).
    params : FlightParams
        The physical parameters (default :data:`PARAMS`).

    Returns
    -------
    dict of str to ndarray, each float64 (N,)
        ``force`` (F on its point of application), ``torque`` (tau on the two bodies), ``damper`` (dissipated,
        >= 0) and ``drag`` (dissipated, >= 0), in erg/s.
    """
    s = np.asarray(state, dtype=np.float64)
    u = np.asarray(controls, dtype=np.float64)
    p = params
    x_d, y_d, th, th_d, ph_d = s[:, 1], s[:, 3], s[:, 4], s[:, 5], s[:, 7]
    F, alpha, tau = u[:, 0], u[:, 1], u[:, 2]
    vpx, vpy = x_d - p.L3 * np.sin(th) * th_d, y_d + p.L3 * np.cos(th) * th_d
    force = F * (np.cos(alpha + th) * vpx + np.sin(alpha + th) * vpy)
    torque = tau * (th_d - ph_d)   # +tau on the thorax, -tau on the abdomen (the closed form's sign)
    damper = p.c * (ph_d - th_d) ** 2
    speed = np.hypot(x_d, y_d)
    drag = np.zeros_like(speed)
    for b, S in ((p.b_head, p.S_head), (p.b_butt, p.S_butt)):
        re = p.rho_air * speed * 2 * b / p.mu_air
        cd = np.where(speed > 0, 24 / np.where(re > 0, re, 1.0) + 6 / (1 + np.sqrt(re)) + 0.4, 0.0)
        drag += 0.5 * p.rho_air * S * cd * (np.abs(x_d) * x_d ** 2 + np.abs(y_d) * y_d ** 2)
    return {"force": force, "torque": torque, "damper": damper, "drag": drag}


def energy_balance(state0: np.ndarray, controls: np.ndarray, duration: float = HORIZON, panels: int = 60,
                   params: FlightParams = PARAMS) -> dict[str, np.ndarray]:
    """Integrate the powers along simulated trajectories and compare with the change of mechanical energy.

    Quadrature: composite 6-point Gauss-Legendre on ``panels`` geometrically graded panels (fine where the
    stiff joint transient decays).

    Parameters
    ----------
    state0 : array_like of float, (N, 8)
        Initial states in state order (cm, cm/s, rad, rad/s).
    controls : array_like of float, (N, 3)
        Constant controls ``[F, alpha, tau]`` (dyn, rad, dyn cm).
    duration : float
        Length T of the trajectories (s), default :data:`HORIZON` (20 ms).
    panels : int
        Number of quadrature panels, graded geometrically from 1e-5 T to T.
    params : FlightParams
        The physical parameters (default :data:`PARAMS`).

    Returns
    -------
    dict of str to ndarray, each float64 (N,)
        ``dE`` (E(T) - E(0)), ``work_force``, ``work_torque``, ``loss_damper``, ``loss_drag`` (erg) and
        ``residual`` = dE - (W_F + W_tau - D_c - D_drag).

    Raises
    ------
    ValueError
        On bad shapes, non-finite inputs or a negative duration (:func:`trajectory`, :func:`simulate`).
    RuntimeError
        If an integration fails (:func:`simulate`).
    """
    state0, controls = _check_batch(state0, controls)
    edges = np.concatenate([[0.0], duration * np.geomspace(1e-5, 1.0, panels)])
    nodes, weights = np.polynomial.legendre.leggauss(6)
    mids, halves = 0.5 * (edges[1:] + edges[:-1]), 0.5 * (edges[1:] - edges[:-1])
    times = (mids[:, None] + halves[:, None] * nodes[None, :]).ravel()
    wts = (halves[:, None] * weights[None, :]).ravel()
    traj = trajectory(state0, controls, np.concatenate([times, [duration]]), params)
    n = state0.shape[0]
    work = {k: np.zeros(n) for k in ("force", "torque", "damper", "drag")}
    for k in range(times.size):
        for name, val in powers(traj[:, k], controls, params).items():
            work[name] += wts[k] * val
    dE = mechanical_energy(traj[:, -1], params) - mechanical_energy(state0, params)
    out = {"dE": dE, "work_force": work["force"], "work_torque": work["torque"], "loss_damper": work["damper"],
           "loss_drag": work["drag"]}
    out["residual"] = dE - (work["force"] + work["torque"] - work["damper"] - work["drag"])
    return out
