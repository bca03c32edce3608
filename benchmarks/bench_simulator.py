"""Simulator throughput and accuracy: the original's method against helpers.flight.simulate, same process.

Baseline (the original study's method): one ``scipy.integrate.odeint`` call per trajectory, default tolerances,
with a numba-jitted right-hand side (the same equations). Ours: the batched, compiled RODAS4 integrator. Both are
compared on a common subset against a tight Radau reference (``solve_ivp(method="Radau", rtol=atol=1e-10)``);
errors are relative to each final-state variable's spread over the sampling range.

Usage: ``python benchmarks/bench_simulator.py [--n-odeint 300] [--n-ours 200000] [--n-reference 100]``.
Writes ``benchmarks/results/simulator.json``.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import time
import warnings
from pathlib import Path

import numba
import numpy as np
from scipy.integrate import odeint, solve_ivp

from helpers import flight, pipeline

P = flight.PARAMS.packed()


@numba.njit(cache=True)
def jit_rhs(y, t, p, F, sa, ca, tau):
    """The flight equations as one jitted function f(y, t) -> dy/dt (8,), the way the original called odeint."""
    a = np.empty(4)
    dummy = np.empty((4, 4))
    flight.accelerations(p, y[4], y[6], y[1], y[3], y[5], y[7], F, sa, ca, tau, a, False, dummy, dummy)
    return np.array([y[1], a[0], y[3], a[1], y[5], a[2], y[7], a[3]])


def odeint_loop(state0: np.ndarray, controls: np.ndarray) -> np.ndarray:
    out = np.empty_like(state0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")       # the original ignored odeint's "excess work" warnings too
        for i, (s, (F, alpha, tau)) in enumerate(zip(state0, controls)):
            sol = odeint(jit_rhs, s, [0.0, flight.HORIZON], args=(P, F, math.sin(alpha), math.cos(alpha), tau))
            out[i] = sol[-1]
    return out


def radau_reference(state0: np.ndarray, controls: np.ndarray) -> np.ndarray:
    out = np.empty_like(state0)
    for i, (s, (F, alpha, tau)) in enumerate(zip(state0, controls)):
        args = (P, F, math.sin(alpha), math.cos(alpha), tau)
        sol = solve_ivp(lambda t, y: jit_rhs(y, t, *args), (0.0, flight.HORIZON), s, method="Radau", rtol=1e-10,
                        atol=1e-10)
        out[i] = sol.y[:, -1]
    return out


def main() -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n-odeint", type=int, default=300)
    ap.add_argument("--n-ours", type=int, default=200_000)
    ap.add_argument("--n-reference", type=int, default=100)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "simulator.json")
    args = ap.parse_args()

    state0, controls = flight.sample_conditions(args.n_ours, np.random.default_rng(args.seed))
    # warm-up: compile both
    flight.simulate(state0[:10], controls[:10])
    odeint_loop(state0[:2], controls[:2])

    # Wall clock and process CPU time (all threads): on a shared machine the wall clock is inflated by other
    # load, the CPU time per trajectory much less so.
    t0, c0 = time.perf_counter(), time.process_time()
    ours, steps = flight.simulate(state0, controls, return_steps=True)
    t_ours, c_ours = time.perf_counter() - t0, time.process_time() - c0
    t0, c0 = time.perf_counter(), time.process_time()
    base = odeint_loop(state0[:args.n_odeint], controls[:args.n_odeint])
    t_base, c_base = time.perf_counter() - t0, time.process_time() - c0
    rate_ours, rate_base = args.n_ours / t_ours, args.n_odeint / t_base
    cpu_ours, cpu_base = c_ours / args.n_ours, c_base / args.n_odeint      # CPU seconds per trajectory
    cores = min(2, os.cpu_count() or 1)

    spread = np.ptp(ours, axis=0)
    n_ref = min(args.n_reference, args.n_odeint)
    ref = radau_reference(state0[:n_ref], controls[:n_ref])
    err_ours = np.abs(ours[:n_ref] - ref) / spread
    err_base = np.abs(base[:n_ref] - ref) / spread

    result = {
        "cpu_cores": os.cpu_count(), "numba_threads": numba.get_num_threads(),
        "n_odeint": args.n_odeint, "n_ours": args.n_ours, "n_reference": n_ref,
        "odeint_traj_per_s": rate_base, "ours_traj_per_s": rate_ours, "speedup": rate_ours / rate_base,
        "odeint_max_rel_error": float(err_base.max()), "ours_max_rel_error": float(err_ours.max()),
        "odeint_median_rel_error": float(np.median(err_base.max(axis=1))),
        "ours_median_rel_error": float(np.median(err_ours.max(axis=1))),
        "ours_max_rel_error_per_variable": dict(zip(flight.STATE_NAMES, err_ours.max(axis=0).tolist())),
        "odeint_max_rel_error_per_variable": dict(zip(flight.STATE_NAMES, err_base.max(axis=0).tolist())),
        "ours_mean_steps": float(steps.mean()), "ours_max_steps": int(steps.max()),
        "tolerance": flight.DEFAULT_TOL,
        "projected_seconds_for_1e7": 1e7 / rate_ours,
        "odeint_projected_seconds_for_1e7": 1e7 / rate_base,
        "odeint_cpu_us_per_traj": cpu_base * 1e6, "ours_cpu_us_per_traj": cpu_ours * 1e6,
        "cpu_time_ratio": cpu_base / cpu_ours,
        "projected_seconds_for_1e7_from_cpu_time_on_2_cores": 1e7 * cpu_ours / cores,
        "load_average_1min": os.getloadavg()[0],
    }
    print(f"odeint loop (jitted rhs): {rate_base:10.0f} trajectories/s  ({args.n_odeint} trajectories)")
    print(f"flight.simulate (RODAS4): {rate_ours:10.0f} trajectories/s  ({args.n_ours} trajectories, "
          f"{numba.get_num_threads()} threads, {steps.mean():.1f} steps on average)")
    print(f"ratio: {rate_ours / rate_base:.1f}x")
    print(f"max error / variable range vs Radau on {n_ref} trajectories: odeint {err_base.max():.2e}, "
          f"ours {err_ours.max():.2e}")
    print(f"projected time for 10^7 trajectories: ours {1e7 / rate_ours / 60:.1f} min, "
          f"odeint loop {1e7 / rate_base / 3600:.1f} h (wall clock at load average {os.getloadavg()[0]:.1f})")
    print(f"CPU time per trajectory: odeint {cpu_base * 1e6:.0f} us, ours {cpu_ours * 1e6:.1f} us "
          f"(ratio {cpu_base / cpu_ours:.1f}x); 10^7 on {cores} otherwise idle cores: "
          f"{1e7 * cpu_ours / cores / 60:.1f} min")
    pipeline.atomic_write_bytes(args.out, json.dumps(result, indent=1).encode())
    print(f"wrote {args.out}")
    return result


if __name__ == "__main__":
    main()
