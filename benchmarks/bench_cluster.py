"""Benchmark: throughput of the motif census on Dask, 1 worker against 2, and the paper-scale census projected.

(1) The same census cells — every network of the shipped reference ensemble (8 networks, architecture
    10-400-400-400-16-7) at its five states around its optimum (the optimally sparse state ± 2, 85–95 %
    sparsity), 40 cells, each scored against ``n_null`` = 1000 nulls of both null models, both conventions —
    computed four ways in one run: the serial in-process loop (numba on 1 thread, and on all threads as the census
    ran before it used Dask), and :func:`helpers.cluster.map_cells` on a LocalCluster of 1 and of 2
    single-threaded worker processes. Cells per second are wall clock over the whole map (submission, transfer of
    the packed masks, gathering), best of ``ROUNDS`` interleaved rounds; the clusters are started and their workers
    warmed (helpers imported, compiled kernels loaded) before timing, and their start-up is reported apart. Every
    way must give the same tables, bit for bit.
(2) The per-cell cost of every one of the 18 saved states (network 0 of the reference ensemble, n_null = 1000,
    one core), measured, not scaled from a smaller n_null.
(3) The paper-scale census — 400 networks × 18 saved states × 2 null models × 1000 nulls — projected onto 64 cores
    assuming linear scaling at the 2-worker efficiency measured in (1) (efficiency = throughput(2) / (2 ×
    throughput(1))): (a) every cell at the optimum-range cost of (1); (b) every network with the state profile of
    (2).

Run: ``.venv/bin/python benchmarks/bench_cluster.py`` → prints a summary and writes
``benchmarks/results/cluster.json``. Keep the machine otherwise idle while it runs (it uses every core).
"""
from __future__ import annotations

import contextlib
import json
import os
import platform
import time

import numba
import pandas as pd

from helpers import census, cluster, pipeline

N_NULL = 1000
AROUND = 2                                                 # states on each side of a network's optimum
ROUNDS = 2                                                 # interleaved rounds of (1), the best of each way
PAPER = dict(networks=400, states=18, null_models=2, n_null=1000, cores=64)
SEED, NULL_OUTPUTS = 0, "live"


def reference_states():
    """The shipped reference ensemble, all of its networks.

    Returns
    -------
    helpers.snapshot.Snapshot
        8 networks × 18 saved states, optima at the preset's threshold.
    """
    from helpers import analysed

    params = pipeline.resolve("reference", n_analysed=None, ensemble_source="reference", threshold=None)
    return analysed.ensemble(params)


def optimum_cells(states) -> list[tuple]:
    """The census inputs of every network at its optimally sparse state ± ``AROUND`` (clipped to the saved states).

    Parameters
    ----------
    states : helpers.snapshot.Snapshot
        The ensemble.

    Returns
    -------
    list of tuple
        :func:`helpers.census.cell_inputs` entries, networks outer, states inner.
    """
    inputs = census.cell_inputs(states)
    n_states = states["val_loss"].shape[1]
    chosen = []
    for e, best in enumerate(states["optimal"]):
        for s in range(max(0, int(best) - AROUND), min(n_states, int(best) + AROUND + 1)):
            chosen.append(inputs[e * n_states + s])
    return chosen


def serial(cells, common, threads: int) -> tuple[float, list]:
    """The cells computed by the serial in-process loop.

    Parameters
    ----------
    cells : list of tuple
        :func:`helpers.census.cell` arguments.
    common : dict
        Its keyword arguments.
    threads : int
        numba threads.

    Returns
    -------
    seconds : float
        Wall clock.
    results : list
        :func:`helpers.census.cell`'s results, in order.
    """
    before = numba.get_num_threads()
    numba.set_num_threads(threads)
    try:
        t0 = time.perf_counter()
        results = [census.cell(*cell, **common) for cell in cells]
        return time.perf_counter() - t0, results
    finally:
        numba.set_num_threads(before)


def on_cluster(dask, cells, common) -> tuple[float, list]:
    """The cells computed by :func:`helpers.cluster.map_cells` on an open client.

    Parameters
    ----------
    dask : distributed.Client
    cells : list of tuple
    common : dict

    Returns
    -------
    seconds : float
        Wall clock of the whole map (submission, transfer, gathering).
    results : list
        In the order of ``cells``.
    """
    t0 = time.perf_counter()
    results = cluster.map_cells(census.cell, cells, client=dask, common=common, label="bench")
    return time.perf_counter() - t0, results


def warm(dask, cell) -> float:
    """Make every worker import the helpers and load the compiled kernels (a 4-null cell on each).

    Parameters
    ----------
    dask : distributed.Client
    cell : tuple
        One :func:`helpers.census.cell` argument tuple.

    Returns
    -------
    float
        Wall seconds.
    """
    t0 = time.perf_counter()
    dask.run(census.cell, *cell, n_null=4, seed=SEED, null_outputs=NULL_OUTPUTS)
    return time.perf_counter() - t0


def same(a: list, b: list) -> bool:
    """Whether two lists of cell results give the same tables, bit for bit.

    Parameters
    ----------
    a, b : list
        :func:`helpers.census.cell` results.

    Returns
    -------
    bool
    """
    za, na = census.assemble(a)
    zb, nb = census.assemble(b)
    try:
        pd.testing.assert_frame_equal(za, zb, check_exact=True)
        pd.testing.assert_frame_equal(na, nb, check_exact=True)
    except AssertionError:
        return False
    return True


def main() -> dict:
    """Run (1)–(3) of the module doc.

    Returns
    -------
    dict
        The report written to ``benchmarks/results/cluster.json``.
    """
    import dask as dask_mod
    import distributed

    load_before = os.getloadavg()[0]
    states = reference_states()
    cells = optimum_cells(states)
    common = dict(n_null=N_NULL, seed=SEED, null_outputs=NULL_OUTPUTS)
    census.cell(*cells[0], n_null=4, seed=SEED, null_outputs=NULL_OUTPUTS)   # compile / load the kernels here
    report: dict = {
        "benchmark": "cluster", "cpu_count": os.cpu_count(), "usable_cores": cluster.usable_cores(),
        "machine": platform.machine(), "python": platform.python_version(), "dask": dask_mod.__version__,
        "distributed": distributed.__version__, "numba": numba.__version__,
        "load_average_at_start": round(load_before, 2), "timer": "time.perf_counter (wall s)",
        "cells": {"ensemble": "reference (shipped)", "networks": int(states["val_loss"].shape[0]),
                  "states": f"optimum ± {AROUND}", "count": len(cells), "n_null": N_NULL,
                  "null_models": 2, "sparsities": sorted({round(c[3], 2) for c in cells})},
        "rounds": ROUNDS,
    }
    times: dict[str, list[float]] = {"serial_1_thread": [], "serial_all_threads": [], "workers_1": [], "workers_2": []}
    startup = {}
    identical = True
    with contextlib.ExitStack() as stack:
        clients = {}
        for name, n_workers in (("workers_1", 1), ("workers_2", 2)):
            t0 = time.perf_counter()
            clients[name] = stack.enter_context(cluster.client(n_workers=n_workers))
            started = time.perf_counter() - t0
            startup[name] = {"start_s": started, "warm_s": warm(clients[name], cells[0])}
        one, two = clients["workers_1"], clients["workers_2"]
        reference = None
        for r in range(ROUNDS):
            for name, run in (("serial_1_thread", lambda: serial(cells, common, 1)),
                              ("workers_1", lambda: on_cluster(one, cells, common)),
                              ("workers_2", lambda: on_cluster(two, cells, common)),
                              ("serial_all_threads", lambda: serial(cells, common, numba.config.NUMBA_NUM_THREADS))):
                if name == "serial_all_threads" and r > 0:
                    continue
                seconds, results = run()
                times[name].append(seconds)
                reference = reference if reference is not None else results
                identical &= same(reference, results)
    best = {name: min(ts) for name, ts in times.items()}
    n = len(cells)
    report["ways"] = {name: {"seconds": best[name], "all_seconds": times[name], "cells_per_s": n / best[name]}
                      for name in times}
    report["startup_and_warm_s"] = startup
    ratio = best["workers_1"] / best["workers_2"]
    efficiency = ratio / 2
    per_cell = best["serial_1_thread"] / n
    report["scaling"] = {
        "ratio_2_over_1": ratio, "efficiency_2_workers": efficiency,
        "per_cell_s_serial_1_core": per_cell,
        "per_cell_core_s_on_2_workers": 2 * best["workers_2"] / n,
        "dask_overhead_1_worker": best["workers_1"] / best["serial_1_thread"] - 1,
        "identical_results": bool(identical)}
    # (2) every saved state of network 0, n_null = 1000, one core
    n_states = states["val_loss"].shape[1]
    profile_cells = census.cell_inputs(states)[:n_states]
    numba.set_num_threads(1)
    try:
        profile = []
        for cell in profile_cells:
            t0 = time.perf_counter()
            census.cell(*cell, **common)
            profile.append({"state": cell[2], "sparsity": cell[3], "seconds": time.perf_counter() - t0})
    finally:
        numba.set_num_threads(numba.config.NUMBA_NUM_THREADS)
    report["state_profile"] = profile
    # (3) the paper-scale census on 64 cores
    cells_paper = PAPER["networks"] * PAPER["states"]
    core_s_a = cells_paper * per_cell
    core_s_b = PAPER["networks"] * sum(p["seconds"] for p in profile)
    cores_effective = PAPER["cores"] * efficiency
    report["projection"] = dict(
        PAPER, cells=cells_paper,
        assumption="linear scaling to 64 cores at the measured 2-worker efficiency; one single-threaded worker per "
                   "core; costs measured at n_null = 1000 (not scaled); the 400 networks cost like the reference "
                   "ensemble's",
        optimum_range={"per_cell_s": per_cell, "core_hours": core_s_a / 3600,
                       "wall_minutes_64_cores": core_s_a / cores_effective / 60},
        state_profile={"per_network_s": core_s_b / PAPER["networks"], "core_hours": core_s_b / 3600,
                       "wall_minutes_64_cores": core_s_b / cores_effective / 60})
    return report


def summary(r: dict) -> str:
    """The report in words.

    Parameters
    ----------
    r : dict
        :func:`main`'s report.

    Returns
    -------
    str
    """
    w, sc, pr, c = r["ways"], r["scaling"], r["projection"], r["cells"]
    lines = [f"(1) {c['count']} census cells (reference ensemble, optimum ± {AROUND}, sparsity "
             f"{min(c['sparsities']):.0%}–{max(c['sparsities']):.0%}, {c['n_null']} nulls × 2 models), "
             f"best of {r['rounds']} rounds, load average {r['load_average_at_start']} at start:"]
    for name, label in (("serial_1_thread", "serial loop, 1 numba thread"),
                        ("serial_all_threads", "serial loop, all numba threads"),
                        ("workers_1", "LocalCluster, 1 worker"), ("workers_2", "LocalCluster, 2 workers")):
        lines.append(f"    {label:32s} {w[name]['seconds']:7.2f} s  {w[name]['cells_per_s']:6.2f} cells/s")
    lines.append(f"    2 workers / 1 worker: {sc['ratio_2_over_1']:.2f}× (efficiency {sc['efficiency_2_workers']:.0%});"
                 f" Dask overhead on 1 worker {sc['dask_overhead_1_worker']:+.1%}; identical tables: "
                 f"{sc['identical_results']}")
    st = r["startup_and_warm_s"]
    lines.append(f"    cluster start + worker warm-up (not in the times above): 1 worker {st['workers_1']['start_s']:.1f} + "
                 f"{st['workers_1']['warm_s']:.1f} s, 2 workers {st['workers_2']['start_s']:.1f} + "
                 f"{st['workers_2']['warm_s']:.1f} s")
    lines.append(f"    per cell: {sc['per_cell_s_serial_1_core']:.3f} s on one core (measured at n_null = {c['n_null']})")
    lines.append("(2) per-cell cost by state (network 0): " + ", ".join(
        f"{p['sparsity']:.0%} {p['seconds']:.2f} s" for p in r["state_profile"]))
    lines.append(f"(3) paper scale {pr['networks']}×{pr['states']}×{pr['null_models']}×{pr['n_null']} on "
                 f"{pr['cores']} cores ({pr['assumption']}):")
    lines.append(f"    every cell at the optimum-range cost: {pr['optimum_range']['core_hours']:.2f} core-hours → "
                 f"{pr['optimum_range']['wall_minutes_64_cores']:.1f} min")
    lines.append(f"    with the 18-state profile: {pr['state_profile']['core_hours']:.2f} core-hours → "
                 f"{pr['state_profile']['wall_minutes_64_cores']:.1f} min")
    return "\n".join(lines)


if __name__ == "__main__":
    result = main()
    print(summary(result))
    out = pipeline.repo_root() / "benchmarks" / "results" / "cluster.json"
    pipeline.atomic_write_bytes(out, json.dumps(result, indent=1).encode())
    print(f"wrote {out}")
