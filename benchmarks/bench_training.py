"""Training throughput: the batched ensemble against a per-network PyTorch loop with torch.nn.utils.prune.

Both train E networks of the paper architecture (10-400-400-400-16-7, tanh) on the same sequential batches of
128, with the same masks (every layer pruned to ``--sparsity`` by magnitude), Adam lr 5e-4, and one validation
mini-batch evaluated after every step (what a round of the protocol does). The baseline is what one would
otherwise write: ``nn.Sequential`` per network, ``prune.custom_from_mask`` on every ``nn.Linear``,
``torch.optim.Adam``, networks trained one after the other. Throughput = samples × networks per second.

It then projects the ``paper`` preset (400 networks, 10⁷ trajectories: a dense round of 50,000 batches plus
17 rounds of ≈1,900–7,800 batches, the original's rounds as chapter 3 reports them) from the measured CPU
throughput. No GPU was measured.

    python benchmarks/bench_training.py [--networks 1 8 16] [--batches 30] [--threads 2] [--repeats 3]

On a CPU both sides run the same dense 400×400 products (the masks multiply dense weights). The batched
ensemble is faster because of the work around them: Adam as one fused pass over all networks' tensors, a
written-out backward pass (no mask products or autograd bookkeeping per step), the validation mini-batch
evaluated in the next step's products, and tanh as 2σ(2z) − 1 (see ``helpers.ensemble``). On a GPU one kernel
per layer over all networks replaces E small launches.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import time

import numpy as np
import torch
from torch import nn
from torch.nn.utils import prune as tprune

from helpers import ensemble as E
from helpers import pipeline, pruning as P


def data(n_batches: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.uniform(-0.5, 0.5, (128 * n_batches, 10)).astype(np.float32)
    y = (0.4 * np.tanh(x @ rng.normal(size=(10, 7)))).astype(np.float32)
    return x, y


def masks_for(ens: E.Ensemble, sparsity: float) -> None:
    if sparsity > 0:
        P.prune_ensemble(ens, sparsity, "corrected")


def ours(seeds, x, y, xv, yv, n_batches, sparsity) -> tuple[float, E.Ensemble]:
    ens = E.init_ensemble(seeds)
    masks_for(ens, sparsity)
    E.train_round(ens, x, y, xv, yv, max_batches=2, stopping=None)        # warm-up
    t0 = time.perf_counter()
    E.train_round(ens, x, y, xv, yv, max_batches=n_batches, stopping=None)
    return time.perf_counter() - t0, ens


def best_of(repeats: int, *runs):
    """Run the timed callables alternately ``repeats`` times; keep each one's fastest time (the least disturbed by
    other load on the machine) and its last result."""
    best = [float("inf")] * len(runs)
    last = [None] * len(runs)
    for _ in range(repeats):
        for i, run in enumerate(runs):
            t, last[i] = run()
            best[i] = min(best[i], t)
    return best, last


def baseline(seeds, x, y, xv, yv, n_batches, sparsity) -> float:
    ref = E.init_ensemble(seeds)                     # same init and masks as ours
    masks_for(ref, sparsity)
    nets, opts = [], []
    for e in range(len(seeds)):
        layers = []
        for i, (w, mk) in enumerate(zip(ref.weights, ref.wmasks)):
            lin = nn.Linear(w.shape[1], w.shape[2])
            with torch.no_grad():
                lin.weight.copy_(w[e].T)
                lin.bias.zero_()
            tprune.custom_from_mask(lin, "weight", mk[e].T.contiguous())
            layers += [lin, nn.Tanh()] if i < len(ref.weights) - 1 else [lin]
        nets.append(nn.Sequential(*layers))
        opts.append(torch.optim.Adam(nets[-1].parameters(), lr=5e-4, betas=(0.9, 0.999), eps=1e-8))
    xt, yt, xvt, yvt = map(torch.from_numpy, (x, y, xv, yv))
    n_val = len(xv) // 128

    def run(n):
        for net, opt in zip(nets, opts):
            for k in range(n):
                xb, yb = xt[k * 128:(k + 1) * 128], yt[k * 128:(k + 1) * 128]
                opt.zero_grad()
                nn.functional.mse_loss(net(xb), yb).backward()
                opt.step()
                j = k % n_val
                with torch.no_grad():
                    float(nn.functional.mse_loss(net(xvt[j * 128:(j + 1) * 128]), yvt[j * 128:(j + 1) * 128]))
    run(2)
    t0 = time.perf_counter()
    run(n_batches)
    return time.perf_counter() - t0, nets


def arguments(networks, batches: int) -> argparse.Namespace:
    """The command line of a training benchmark (``networks``, ``batches``: the defaults), its threads set."""
    ap = argparse.ArgumentParser()
    if isinstance(networks, list):
        ap.add_argument("--networks", type=int, nargs="+", default=networks)
    else:
        ap.add_argument("--networks", type=int, default=networks)
    ap.add_argument("--batches", type=int, default=batches)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--sparsity", type=float, default=0.5)
    ap.add_argument("--repeats", type=int, default=3, help="alternating repetitions; the fastest of each counts")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    return args


def main() -> None:
    args = arguments([1, 8, 16], 30)
    x, y = data(args.batches)
    xv, yv = data(8, seed=1)
    rows = []
    load_before = os.getloadavg()[0]
    for n in args.networks:
        seeds = E.member_seeds(0, n)
        (t_ours, t_base), (ens, nets) = best_of(
            args.repeats, lambda: ours(seeds, x, y, xv, yv, args.batches, args.sparsity),
            lambda: baseline(seeds, x, y, xv, yv, args.batches, args.sparsity))
        # same run: every network's trained weights agree between the two implementations
        lins = [[m for m in net if isinstance(m, nn.Linear)] for net in nets]
        diff = max(float((ens.weights[i][e] - (lin.weight_orig * lin.weight_mask).detach().T).abs().max())
                   for e, net_lins in enumerate(lins) for i, lin in enumerate(net_lins))
        samples = 128 * args.batches * n
        row = dict(networks=n, batches=args.batches, ours_seconds=round(t_ours, 3),
                   baseline_seconds=round(t_base, 3), ours_throughput=round(samples / t_ours, 1),
                   baseline_throughput=round(samples / t_base, 1), speedup=round(t_base / t_ours, 3),
                   max_weight_difference=float(f"{diff:.2g}"))
        rows.append(row)
        print(f"E={n:4d}: ours {row['ours_throughput']:10.0f} samples·networks/s, torch.nn.utils.prune loop "
              f"{row['baseline_throughput']:10.0f}, ratio {row['speedup']:.2f}x (weights agree to {diff:.1e})", flush=True)
    big = max(rows, key=lambda r: r["networks"])
    # paper preset: 400 networks; dense round 50,000 batches, 17 later rounds of ~1,900–7,800 batches each (chapter 3)
    low, high = 50_000 + 17 * 1_900, 50_000 + 17 * 7_800

    def hours(throughput: float, batches: int) -> float:
        return round(400 * batches * 128 / throughput / 3600, 1)

    proj = dict(networks=400, batches_per_network_low=low, batches_per_network_high=high,
                ours_cpu_hours=[hours(big["ours_throughput"], low), hours(big["ours_throughput"], high)],
                baseline_cpu_hours=[hours(big["baseline_throughput"], low), hours(big["baseline_throughput"], high)],
                gpu="not measured: no GPU was available")
    print(f"paper preset on this CPU ({args.threads} threads): ours {proj['ours_cpu_hours'][0]}–"
          f"{proj['ours_cpu_hours'][1]} h, per-network loop {proj['baseline_cpu_hours'][0]}–"
          f"{proj['baseline_cpu_hours'][1]} h of training; GPU not measured", flush=True)
    result = dict(benchmark="training", threads=args.threads, repeats=args.repeats, sparsity=args.sparsity, batch=128,
                  machine=platform.processor() or platform.machine(), cpu_count=os.cpu_count(),
                  load_average_at_start=round(load_before, 2), torch=torch.__version__,
                  rows=rows, paper_projection=proj)
    out = pipeline.repo_root() / "benchmarks" / "results" / "training.json"
    pipeline.atomic_write_bytes(out, (json.dumps(result, indent=1) + "\n").encode())
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
