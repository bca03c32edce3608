"""Training beside other work: torch's threads against a concurrent CPU load, and the book's remedy.

The measurement: ``--steps`` Adam steps (default 600) of 3 batched networks of the paper architecture
(:func:`helpers.ensemble.train_round`, no early stopping), timed in a fresh process for each setting:

- ``quiet``: nothing else runs; ``busy``: a second process spins on one core for the whole measurement;
- torch threads 1 or 2 (the preset's ``threads``), or ``auto``: the number :func:`helpers.pipeline.torch_threads`
  chooses (the preset's, capped at the cores that other work leaves free, which is what the chapters and the
  training command now use);
- OpenMP's wait policy ``active`` (its threads spin at every barrier, the default of this torch build) or
  ``passive`` (they sleep).

On a 2-core machine with one core taken, two threads split every product in halves, one of which shares its core
with the other process; the thread on the free core then waits at every barrier for the one on the busy core, so
the step takes as long as the slower half, and a spinning waiter takes CPU from the other process as well.

    python benchmarks/bench_threads.py [--steps 600] [--repeats 2]

Writes ``benchmarks/results/threads.json``: seconds per setting (the median of the repeats) and the slowdown of
each busy setting against the quiet single-thread run measured in the same invocation.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

from helpers import pipeline

CHILD = """
import sys, time, numpy as np, torch
from helpers import ensemble as E, pipeline
threads, steps = sys.argv[1], int(sys.argv[2])
torch.set_num_threads(pipeline.torch_threads(2) if threads == "auto" else int(threads))
rng = np.random.default_rng(0)
x = rng.uniform(-0.5, 0.5, (128 * steps, 10)).astype(np.float32)
y = (0.4 * np.tanh(x @ rng.normal(size=(10, 7)))).astype(np.float32)
ens = E.init_ensemble([1, 2, 3])
E.train_round(ens, x[:128 * 20], y[:128 * 20], x, y, max_batches=20, stopping=None)   # warm-up
t0 = time.perf_counter()
E.train_round(ens, x, y, x, y, max_batches=steps, stopping=None)
print(time.perf_counter() - t0, torch.get_num_threads())
"""

SPIN = "import time\nt = time.time()\nwhile time.time() - t < 600: pass\n"


def measure(threads: str, busy: bool, policy: str, steps: int) -> tuple[float, int]:
    """Seconds for ``steps`` steps in a fresh process (and the threads it used), optionally beside a spinner."""
    env = dict(os.environ, OMP_WAIT_POLICY=policy.upper())
    spinner = subprocess.Popen([sys.executable, "-c", SPIN]) if busy else None
    try:
        if busy:
            time.sleep(1.0)                     # the spinner is running before the measurement starts
        out = subprocess.run([sys.executable, "-c", CHILD, threads, str(steps)], env=env, check=True,
                             capture_output=True, text=True).stdout.split()
    finally:
        if spinner is not None:
            spinner.kill()
            spinner.wait()
    return float(out[0]), int(out[1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=600)
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    settings = [("1", False, "active"), ("2", False, "active"), ("1", True, "active"), ("2", True, "active"),
                ("2", True, "passive"), ("auto", True, "active")]
    results = []
    for threads, busy, policy in settings:
        runs = [measure(threads, busy, policy, args.steps) for _ in range(args.repeats)]
        seconds = sorted(r[0] for r in runs)[len(runs) // 2]
        results.append(dict(threads=threads, load="busy" if busy else "quiet", wait_policy=policy,
                            threads_used=runs[0][1], seconds=round(seconds, 2)))
        print(results[-1], flush=True)
    base = next(r["seconds"] for r in results if r["load"] == "quiet" and r["threads"] == "1")
    for r in results:
        r["slowdown_vs_quiet_1_thread"] = round(r["seconds"] / base, 2)
    out = dict(steps=args.steps, networks=3, repeats=args.repeats, cores=os.cpu_count(),
               machine=platform.processor() or platform.machine(), results=results,
               measured=time.strftime("%Y-%m-%d"))
    path = pipeline.repo_root() / "benchmarks" / "results" / "threads.json"
    pipeline.atomic_write_bytes(Path(path), json.dumps(out, indent=1).encode())
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
