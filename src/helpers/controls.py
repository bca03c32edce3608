"""Control ensembles: what pruning gives networks that never learned the task.

Two controls are derived from a trained ensemble (the reference ensemble), network by network and state by state,
so that they can be scored exactly like it (:mod:`helpers.census`) and put through the same convergence test:

``untrained``
    Each network's *initial* weights, regenerated from its seed (:func:`helpers.ensemble.init_ensemble`), pruned
    by the book's rule (:func:`helpers.pruning.prune_network`: layer-wise magnitude, the run's bias rule) through
    the same cumulative schedule, with no training in between. Initial weights are independent draws, so magnitude
    pruning of them picks a uniformly random subset of each layer's weights; the bias rule prunes every bias at
    the first prune, because initial biases are 0.
``random-pruning``
    At every state, each layer's weight block keeps a uniformly random subset of the size its trained network
    kept, and its bias row a uniformly random subset of the trained network's kept-bias count. States are drawn
    independently (seeded per network and state, :func:`state_seed`). A calibration: scored against the
    original's null, whose layers are random too, its Z-scores must look like null noise.

A control keeps its trained network's seeds, states, losses and optima: losses are not the control's own (it
never learned anything), they say which state of the trained network it stands beside, so that "at the optimum"
means the same state for both.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from helpers import ensemble as ens_mod
from helpers import pruning
from helpers.checks import Spec
from helpers.snapshot import Snapshot

CONTROLS = ("untrained", "random-pruning")
#: How the book names each control.
LABELS = {"untrained": "untrained, magnitude-pruned", "random-pruning": "randomly pruned"}


def state_seed(network_seed: int, state: int, salt: int = 0) -> int:
    """Seed of a random-pruning draw: ``SeedSequence([network_seed, state, salt])``'s first uint32 word.

    Parameters
    ----------
    network_seed : int
        The trained network's seed.
    state : int
        The saved state's index.
    salt : int
        Tells further draws of the same state apart.

    Returns
    -------
    int
        A seed for :func:`numpy.random.default_rng`, in [0, 2³²).
    """
    seq = np.random.SeedSequence([int(network_seed), int(state), int(salt)])
    return int(seq.generate_state(1, dtype=np.uint32)[0])


def untrained_masks(seed: int, schedule: Sequence[float], n_states: int, bias_pruning: str = "original",
                    layers: Sequence[int] = ens_mod.LAYERS) -> list[list[np.ndarray]]:
    """Masks of one untrained network pruned through a schedule.

    Parameters
    ----------
    seed : int
        The network's seed (its initial weights, :func:`helpers.ensemble.init_ensemble`).
    schedule : sequence of float
        Cumulative weight-sparsity targets (the run's).
    n_states : int
        Saved states: the dense one and the first ``n_states − 1`` targets.
    bias_pruning : {"original", "corrected"}
        The run's bias rule (:mod:`helpers.pruning`).
    layers : sequence of int
        Layer widths.

    Returns
    -------
    list of list of ndarray, bool (n_i + 1, n_{i+1})
        Per state, the exchange-layout masks (bias row last).
    """
    ens = ens_mod.init_ensemble([int(seed)], layers=layers)
    w = [t[0].numpy() for t in ens.weights]
    b = [t[0, 0].numpy() for t in ens.biases]
    wm = [np.ones(x.shape, dtype=bool) for x in w]
    bm = [np.ones(x.shape, dtype=bool) for x in b]
    out = []
    for s in range(n_states):
        if s > 0:
            wm, bm = pruning.prune_network(w, b, wm, bm, schedule[s - 1], bias_pruning)
        out.append([pruning.exchange_layout(a, c) for a, c in zip(wm, bm)])
    return out


def random_masks(reference: Sequence[np.ndarray], seed: int) -> list[np.ndarray]:
    """Uniformly random masks with a network's per-layer kept-weight and kept-bias counts.

    Parameters
    ----------
    reference : list of ndarray, bool (n_i + 1, n_{i+1})
        The trained network's exchange-layout masks (bias row last).
    seed : int
        Seed of :func:`numpy.random.default_rng`.

    Returns
    -------
    list of ndarray, bool (n_i + 1, n_{i+1})
        Each layer's weight block keeps ``reference``'s number of weights at uniformly random positions, its bias
        row ``reference``'s number of biases.
    """
    rng = np.random.default_rng(int(seed))
    out = []
    for m in reference:
        m = np.asarray(m, dtype=bool)
        new = np.zeros_like(m)
        for rows, part in ((slice(0, -1), m[:-1]), (slice(-1, None), m[-1:])):
            flat = np.zeros(part.size, dtype=bool)
            flat[rng.choice(part.size, int(part.sum()), replace=False)] = True
            new[rows] = flat.reshape(part.shape)
        out.append(new)
    return out


def control(snap: Snapshot, kind: str) -> Snapshot:
    """The control ensemble ``kind`` of a trained ensemble (module docstring).

    Parameters
    ----------
    snap : Snapshot
        The trained ensemble (its seeds, schedule, bias rule and masks).
    kind : {"untrained", "random-pruning"}
        One of :data:`CONTROLS`.

    Returns
    -------
    Snapshot
        In memory, with ``snap``'s networks, states, seeds, losses and optima, and the control's masks; no weights
        stored; ``provenance`` records the control and ``snap``'s provenance.

    Raises
    ------
    ValueError
        Naming the parameter ``kind`` if it is not one of :data:`CONTROLS`.
    """
    Spec(str, choices=CONTROLS).check("kind", kind)
    n, s_count = snap.n_networks, snap.n_states
    layers = snap.layers
    masks = [np.zeros((n, s_count, a + 1, b), dtype=bool) for a, b in zip(layers[:-1], layers[1:])]
    schedule = [float(v) for v in snap["schedule"]]
    bias_pruning = snap.params.get("bias_pruning", "original")
    for k in range(n):
        if kind == "untrained":
            per_state = untrained_masks(int(snap.seeds[k]), schedule, s_count, bias_pruning, layers)
        else:
            per_state = [random_masks(snap.masks(k, s), state_seed(int(snap.seeds[k]), s)) for s in range(s_count)]
        for s, ms in enumerate(per_state):
            for i, m in enumerate(ms):
                masks[i][k, s] = m
    return snap.with_masks(masks, dict(params=dict(snap.params), control=kind, trained=snap.provenance))
