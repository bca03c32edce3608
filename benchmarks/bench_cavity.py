"""Benchmark: the cavity kurtoses of one layer (helpers.gaussianity.cavity_kurtosis) against brute force.

The chapter "What pruning keeps" needs, for every weight w_ij of a layer, the excess kurtosis of unit j's
pre-activation without that weight, z_j − w_ij h_i. The helper gets all of them from four matrix products of
cross-moments; the baseline recomputes each one from the flights (vectorised per unit: an (n, n_in) array per unit).
Measured on network 0 of the reference ensemble, hidden layer 2 (400 × 400), dense and at 93 % sparsity, on 1,500
validation flights: the best of three runs of each side, interleaved, and the largest difference between the two.

Run: ``.venv/bin/python benchmarks/bench_cavity.py`` → prints a summary and writes ``benchmarks/results/cavity.json``.
"""
from __future__ import annotations

import json
import platform
import time
from pathlib import Path

import numpy as np

from helpers import activity, analysed, gaussianity, pipeline, snapshot

ROWS, LAYER, ROUNDS = 1500, 1, 3


def brute_force(weights: np.ndarray, h: np.ndarray, z: np.ndarray) -> np.ndarray:
    """κ(z_j − w_ij h_i) for every (i, j), recomputed from the flights unit by unit (NaN where w_ij = 0)."""
    out = np.full(weights.shape, np.nan)
    for j in range(weights.shape[1]):
        rows = np.flatnonzero(weights[:, j])
        if rows.size:
            out[rows, j] = gaussianity.excess_kurtosis(z[:, [j]] - h[:, rows] * weights[rows, j])
    return out


def main() -> None:
    ref = snapshot.load("reference")
    params = dict(preset="default", ensemble_source="reference", n_analysed=1, threshold=ref.threshold)
    x = analysed.dataset(params, "val", ROWS).x_val[:ROWS].astype(np.float64)
    results = []
    for state in (0, int(np.argmin(np.abs(ref.sparsities - 0.93)))):
        weights = ref.weights(0, state)
        h = activity.layer_inputs(weights, x)[LAYER]
        z = activity.preactivations(weights, x)[LAYER]
        w = np.asarray(weights[LAYER], dtype=np.float64)[:-1]
        times = {"helpers": [], "brute force": []}
        for _ in range(ROUNDS):
            for name, fn in (("helpers", gaussianity.cavity_kurtosis), ("brute force", brute_force)):
                t0 = time.process_time()
                value = fn(w, h, z)
                times[name].append(time.process_time() - t0)
                if name == "helpers":
                    fast = value
                else:
                    slow = value
        kept = np.isfinite(slow)
        results.append(dict(sparsity=float(ref.sparsities[state]), weights=int(kept.sum()), flights=ROWS,
                            helpers_s=min(times["helpers"]), brute_force_s=min(times["brute force"]),
                            speedup=min(times["brute force"]) / min(times["helpers"]),
                            max_abs_difference=float(np.max(np.abs(fast[kept] - slow[kept])))))
        print(results[-1], flush=True)
    out = dict(benchmark="cavity kurtoses of one 400 × 400 layer", machine=platform.processor() or platform.machine(),
               timing="CPU seconds of this process, best of 3 interleaved runs", results=results)
    path = pipeline.repo_root() / "benchmarks" / "results" / "cavity.json"
    pipeline.atomic_write_bytes(Path(path), json.dumps(out, indent=1).encode())
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
