"""The command line of an experiment that trains in a working folder and then exports a data set, and the training
rows such an experiment reads.

The experiments on the shipped reference ensemble (:mod:`helpers.rewire`, :mod:`helpers.rederive`) share one shape:
``python -m helpers.<name> train --work DIR [--threads N]`` trains (or resumes) in a working folder, and
``python -m helpers.<name> export --work DIR --out data/<name>`` writes the finished experiment as a snapshot.
"""
from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path

import numpy as np

from helpers.snapshot import Snapshot

#: The splits an experiment trains and evaluates on.
SPLITS = ("x_train", "y_train", "x_val", "y_val", "x_test", "y_test")


def training_rows(snap: Snapshot, threads: int) -> dict[str, np.ndarray]:
    """The scaled rows the ensemble ``snap`` was trained on, regenerated (or read from the artifact cache).

    Parameters
    ----------
    snap : Snapshot
        A shipped ensemble (its provenance names the flights and the task).
    threads : int
        Torch's CPU threads, set again after the flights are simulated (numba's simulation may change them).

    Returns
    -------
    dict of str to ndarray
        :data:`SPLITS`, float32 (n, 10) and (n, 7), the task's targets.
    """
    import torch

    from helpers import data as data_mod
    from helpers import tasks

    params = snap.provenance["params"]
    ds = data_mod.load_or_build(params["n_trajectories"], params["data_seed"])
    torch.set_num_threads(int(threads))
    ds = tasks.retarget(ds, params.get("task", "flight"))
    return {k: getattr(ds, k) for k in SPLITS}


def main(prog: str, description: str, train: Callable[..., Path], export: Callable[[Path, Path], Path],
         argv: list[str] | None = None) -> int:
    """Parse ``train --work DIR [--threads N]`` or ``export --work DIR --out DIR`` and run it.

    Parameters
    ----------
    prog : str
        The command's name (``python -m helpers.rewire``).
    description : str
        One line for ``--help``.
    train : callable
        ``train(work, threads=N)``.
    export : callable
        ``export(work, out)``.
    argv : list of str or None
        The arguments (``None``: ``sys.argv[1:]``).

    Returns
    -------
    int
        The exit status, 0.
    """
    parser = argparse.ArgumentParser(prog=prog, description=description)
    sub = parser.add_subparsers(dest="command", required=True)
    t = sub.add_parser("train", help="train, or resume, in the working folder")
    t.add_argument("--work", type=Path, required=True)
    t.add_argument("--threads", type=int, default=1)
    e = sub.add_parser("export", help="write the finished experiment as a snapshot")
    e.add_argument("--work", type=Path, required=True)
    e.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    if args.command == "train":
        train(args.work, threads=args.threads)
    else:
        export(args.work, args.out)
    return 0
