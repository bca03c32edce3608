"""A replayed round (no validation mini-batch riding along) against a round of the run (one riding along).

The re-derivation of the reference ensemble's weights (:mod:`helpers.rederive`) replays rounds whose lengths are
known, so it needs no stopping rule and no validation curve; the run's rounds carry a validation mini-batch in every
step's forward pass. Both sides train the same E networks of the paper architecture with the same masks on the same
batches; the ratio of their times is what leaving the validation batch out saves, and the trained weights are
compared (they agree up to float ordering in the smaller products).

    python benchmarks/bench_replay.py [--networks 8] [--batches 200] [--threads 2] [--repeats 3]
"""
from __future__ import annotations

import json
import os
import platform
import time

import torch

from bench_training import arguments, best_of, data, masks_for
from helpers import ensemble as E
from helpers import pipeline


def round_time(seeds, x, y, xv, yv, n_batches, sparsity, validation) -> tuple[float, E.Ensemble]:
    ens = E.init_ensemble(seeds)
    masks_for(ens, sparsity)
    E.train_round(ens, x, y, xv, yv, max_batches=2, stopping=None, validation=validation)      # warm-up
    t0 = time.perf_counter()
    E.train_round(ens, x, y, xv, yv, max_batches=n_batches, stopping=None, validation=validation)
    return time.perf_counter() - t0, ens


def main() -> None:
    args = arguments(8, 200)
    x, y = data(args.batches)
    xv, yv = data(args.batches, seed=1)
    seeds = E.member_seeds(0, args.networks)
    load_before = os.getloadavg()[0]
    (t_replay, t_run), (replayed, run) = best_of(
        args.repeats, lambda: round_time(seeds, x, y, xv, yv, args.batches, args.sparsity, None),
        lambda: round_time(seeds, x, y, xv, yv, args.batches, args.sparsity, "wrap"))
    diff = max(float((a - b).abs().max()) for a, b in zip(replayed.weights, run.weights))
    result = dict(benchmark="replay", networks=args.networks, batches=args.batches, threads=args.threads,
                  repeats=args.repeats, sparsity=args.sparsity, batch=E.BATCH,
                  replay_ms_per_batch=round(1e3 * t_replay / args.batches, 2),
                  run_ms_per_batch=round(1e3 * t_run / args.batches, 2), ratio=round(t_replay / t_run, 3),
                  max_weight_difference=float(f"{diff:.2g}"), machine=platform.processor() or platform.machine(),
                  cpu_count=os.cpu_count(), load_average_at_start=round(load_before, 2), torch=torch.__version__)
    print(f"{args.networks} networks, {args.threads} threads: replayed round {result['replay_ms_per_batch']} ms a "
          f"batch, the run's round {result['run_ms_per_batch']} ms, ratio {result['ratio']:.2f} (weights agree to "
          f"{diff:.1e})", flush=True)
    out = pipeline.repo_root() / "benchmarks" / "results" / "replay.json"
    pipeline.atomic_write_bytes(out, (json.dumps(result, indent=1) + "\n").encode())
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
