"""Saved states of a train–prune run, and the reference ensemble shipped with the book.

``python -m helpers.snapshot train --preset reference --work DIR`` trains (or resumes) the reference ensemble in
the working folder ``DIR`` with the full original protocol (:data:`helpers.pipeline.PRESETS` ``"reference"``),
logging one line per round to standard output and recording its provenance (commit, parameters, machine, wall
time) in ``DIR/provenance.json``.
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
from typing import Any

from helpers import pipeline


def git_commit(root: Path | None = None) -> dict[str, Any]:
    """The commit of the working tree (``sha``) and whether tracked files differ from it (``dirty``)."""
    root = root or pipeline.repo_root()
    try:
        sha = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True,
                             check=True).stdout.strip()
        dirty = bool(subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=root,
                                    capture_output=True, text=True, check=True).stdout.strip())
    except (OSError, subprocess.CalledProcessError):
        return {"sha": None, "dirty": None}
    return {"sha": sha, "dirty": dirty}


def machine() -> dict[str, Any]:
    """What the run ran on: processor, cores, torch and its threads, Python, platform."""
    import torch

    cpu = platform.processor()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"cpu": cpu, "cores": os.cpu_count(), "torch": torch.__version__, "torch_threads": torch.get_num_threads(),
            "python": platform.python_version(), "platform": platform.platform()}


def train(preset: str, work: Path, overrides: dict[str, Any], threads: int | None = None) -> Path:
    """Train (or resume) the run of ``preset`` (+ ``overrides``) in ``work``; returns ``work``."""
    import torch

    from helpers import data as data_mod
    from helpers import ensemble as ens_mod
    from helpers import pruning

    names = [n for n in pipeline.SPECS if n not in ("preset", "n_null", "null_model", "convention")]
    params = pipeline.resolve(preset, **{n: overrides.get(n) for n in names})
    pruning.validate(params)
    if threads:
        torch.set_num_threads(int(threads))
    work = Path(work)
    work.mkdir(parents=True, exist_ok=True)
    prov_path = work / "provenance.json"
    kp = pruning.key_params(params)
    if prov_path.exists():
        prov = json.loads(prov_path.read_text())
        if prov["params"] != json.loads(json.dumps(dict(kp, threshold=params["threshold"]))):
            raise ValueError(f"{work} holds a run of other parameters ({prov['params']}); use another folder")
    else:
        prov = dict(params=dict(kp, threshold=params["threshold"]), preset=preset, commit=git_commit(),
                    code=pipeline.code_version("pruning"), machine=machine(), sessions=[])
    prov["sessions"].append(dict(started=time.strftime("%Y-%m-%dT%H:%M:%S%z"), commit=git_commit()))
    pipeline.atomic_write_bytes(prov_path, json.dumps(prov, indent=1).encode())

    def log(line: str) -> None:
        print(time.strftime("%H:%M:%S"), line, flush=True)

    t0 = time.perf_counter()
    log(f"data: {params['n_trajectories']:,} flights (data_seed {params['data_seed']})")
    ds = data_mod.load_or_build(params["n_trajectories"], params["data_seed"], progress=False)
    arrays = {k: getattr(ds, k) for k in ("x_train", "y_train", "x_val", "y_val", "x_test", "y_test")}
    log(f"data ready in {time.perf_counter() - t0:.0f} s; training {params['n_networks']} networks")
    seeds = ens_mod.member_seeds(kp["seed"], kp["n_networks"], first=kp["first_network"])
    with pipeline.build_lock(work):
        pruning.run_pruning(work, arrays, seeds, params["schedule"], params["bias_pruning"], params["max_batches"],
                            kp["max_batches_dense"], params["threshold"], params["device"], stopping=kp["stopping"],
                            n_eval=kp["n_eval"], log=log)
    prov = json.loads(prov_path.read_text())
    prov["sessions"][-1].update(ended=time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                                wall_seconds=round(time.perf_counter() - t0, 1))
    prov["seeds"] = seeds
    pipeline.atomic_write_bytes(prov_path, json.dumps(prov, indent=1).encode())
    log("done")
    return work


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m helpers.snapshot", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    tr = sub.add_parser("train", help="train or resume a run in a working folder")
    tr.add_argument("--preset", default="reference", choices=pipeline.PRESET_NAMES)
    tr.add_argument("--work", type=Path, required=True)
    tr.add_argument("--param", action="append", default=[], metavar="NAME=VALUE")
    tr.add_argument("--threads", type=int, default=None)
    args = parser.parse_args(argv)
    if args.command == "train":
        from helpers.runner import parse_params

        train(args.preset, args.work, parse_params(args.param, args.preset), args.threads)
    return 0


if __name__ == "__main__":
    sys.exit(main())
