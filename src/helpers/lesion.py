"""Lesions: cut a fraction of a trained network's edges, chosen by their motifs, their weights or at random, and see
what the network still does.

Each weighted edge of a pruned network (bias edges are never cut) gets its *participation*
(:func:`participation`): the number of bi-fans and bi-parallels it belongs to, the two motifs whose excess survives
the degree-preserving null. Five strategies choose which edges to cut (:data:`STRATEGIES`, :func:`choose`):

``motif``
    the edges of highest participation first (ties in a seeded random order);
``weight-matched``
    uniformly random edges with the same number in each (layer, |weight| decile) cell as ``motif`` chose;
``degree-matched``
    the same with cells of (layer, endpoint-degree decile), where an edge's endpoint degree is its source's
    out-degree plus its target's in-degree;
``smallest``, ``largest``
    the edges of smallest or largest |weight| first.

Nothing is retrained: the lesioned network is the stored one with the chosen weights set to 0.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from helpers import graph
from helpers.checks import Spec

STRATEGIES = ("motif", "weight-matched", "degree-matched", "smallest", "largest")
#: The random strategies, each matched to ``motif``'s choice in the column named.
MATCHED = {"weight-matched": "weight_decile", "degree-matched": "degree_decile"}
#: How the book names each strategy.
LABELS = {"motif": "most bi-fans and bi-parallels first", "weight-matched": "random, matched in layer and |weight|",
          "degree-matched": "random, matched in layer and degree", "smallest": "smallest |weight| first",
          "largest": "largest |weight| first"}


def participation(masks: Sequence[np.ndarray]) -> list[np.ndarray]:
    """Per edge, the number of bi-fans and bi-parallels it belongs to.

    A bi-fan is two sources of one layer wired to the same two targets of the next (4 edges); a bi-parallel is a
    source wired through two middle neurons to one target two layers on (4 edges). Bias rows count as sources, as in
    the census. With C = M Mᵀ (common targets of two sources) and R = M_i M_{i+1} (paths from a source to a node two
    layers on), an edge (a, c) of layer i lies in Σ_{b ≠ a} M[b, c] (C[a, b] − 1) bi-fans, in
    Σ_t M_{i+1}[c, t] (R_i[a, t] − 1) bi-parallels as their first edge and in Σ_s M_{i−1}[s, a] (R_{i−1}[s, c] − 1)
    as their second.

    Parameters
    ----------
    masks : list of ndarray, bool (n_i + 1, n_{i+1})
        The network in the exchange layout (bias row last).

    Returns
    -------
    list of ndarray, int64 (n_i + 1, n_{i+1})
        Per layer, each kept edge's participation (0 where the mask prunes).
    """
    ms = [np.asarray(m, dtype=np.int64) for m in graph.validate(masks)]
    out = []
    for i, m in enumerate(ms):
        common = m @ m.T - 1                                  # C − 1
        np.fill_diagonal(common, 0)                           # b ≠ a
        count = (common @ m) * m                              # bi-fans
        if i + 1 < len(ms):                                   # first edge of a bi-parallel a → c → t
            nxt = ms[i + 1][:-1]                              # c is a neuron of layer i + 1 (not the bias row)
            paths = m @ nxt
            count += ((paths - 1) @ nxt.T) * m
        if i > 0:                                             # second edge of a bi-parallel s → a → c
            prev = ms[i - 1]
            paths = prev @ m[:-1]                             # sources of layer i − 1 to targets of layer i + 1
            count[:-1] += (prev.T @ (paths - 1)) * m[:-1]
        out.append(count)
    return out


def edge_table(masks: Sequence[np.ndarray], weights: Sequence[np.ndarray]) -> pd.DataFrame:
    """Every weighted edge of a network with what the strategies choose by.

    Parameters
    ----------
    masks : list of ndarray, bool (n_i + 1, n_{i+1})
        The network (exchange layout); cleaned here (:func:`helpers.graph.clean`), so that only edges that carry
        signal are candidates.
    weights : list of ndarray, float (n_i + 1, n_{i+1})
        Its weights, same layout.

    Returns
    -------
    pandas.DataFrame
        One row per kept weighted edge (bias rows excluded): ``layer``, ``source``, ``target`` (int),
        ``weight`` (|w|), ``participation``, ``degree`` (source out-degree + target in-degree, weighted and bias
        edges), ``weight_decile`` and ``degree_decile`` (0–9 within the layer, by rank).
    """
    clean = graph.clean(masks)
    part = participation(clean)
    frames = []
    for i, (m, w, p) in enumerate(zip(clean, weights, part)):
        rows, cols = np.nonzero(m[:-1])
        degree = m.sum(axis=1)[rows] + m.sum(axis=0)[cols]
        frame = pd.DataFrame(dict(layer=i, source=rows, target=cols, weight=np.abs(np.asarray(w)[rows, cols]),
                                  participation=p[rows, cols], degree=degree))
        for column, by in (("weight_decile", "weight"), ("degree_decile", "degree")):
            rank = frame[by].rank(method="first").to_numpy() - 1
            frame[column] = (10 * rank // max(len(frame), 1)).astype(np.int64)
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)


def check_fraction(fraction: float) -> float:
    """A lesion fraction, refused (naming the parameter ``fraction``) unless it lies in (0, 1).

    Parameters
    ----------
    fraction : float
        The share of a network's weighted edges to cut.

    Returns
    -------
    float
        ``fraction`` as a float.

    Raises
    ------
    ValueError
        Naming ``fraction`` if it is not a number in (0, 1).
    """
    value = Spec(float, 0.0, 1.0).check("fraction", fraction)
    if not 0.0 < value < 1.0:
        raise ValueError(f"parameter 'fraction' = {fraction!r} must lie strictly between 0 and 1")
    return value


def choose(table: pd.DataFrame, strategy: str, fraction: float, seed: int = 0) -> np.ndarray:
    """The rows of ``table`` (:func:`edge_table`) a strategy cuts.

    Parameters
    ----------
    table : pandas.DataFrame
        The network's edges.
    strategy : str
        One of :data:`STRATEGIES`.
    fraction : float
        Share of the edges to cut, in (0, 1); round(fraction · edges) of them.
    seed : int
        Seed of the tie order (``motif``) and of the random draws (matched strategies).

    Returns
    -------
    ndarray, int64
        Row positions of the edges cut, distinct.

    Raises
    ------
    ValueError
        Naming the parameter ``strategy`` or ``fraction`` if invalid.
    """
    Spec(str, choices=STRATEGIES).check("strategy", strategy)
    n = int(round(check_fraction(fraction) * len(table)))
    rng = np.random.default_rng(seed)
    if strategy in ("smallest", "largest"):
        order = np.argsort(table["weight"].to_numpy(), kind="stable")
        return (order if strategy == "smallest" else order[::-1])[:n].astype(np.int64)
    tie = np.random.default_rng(0).permutation(len(table))            # motif's tie order: fixed
    order = tie[np.argsort(-table["participation"].to_numpy()[tie], kind="stable")]
    chosen = order[:n]
    if strategy == "motif":
        return chosen.astype(np.int64)
    cells = table[["layer", MATCHED[strategy]]].to_numpy()
    out = []
    wanted = pd.Series(1, index=pd.MultiIndex.from_arrays(cells[chosen].T)).groupby(level=[0, 1]).size()
    for (layer, decile), k in wanted.items():
        pool = np.flatnonzero((cells[:, 0] == layer) & (cells[:, 1] == decile))
        out.append(rng.choice(pool, size=int(k), replace=False))
    return np.concatenate(out).astype(np.int64) if out else np.zeros(0, dtype=np.int64)


def lesioned(weights: Sequence[np.ndarray], table: pd.DataFrame, rows: np.ndarray) -> list[np.ndarray]:
    """The weights with the edges of ``rows`` (positions in ``table``) set to 0; copies, float32.

    Parameters
    ----------
    weights : sequence of ndarray, float (n_i + 1, n_{i+1})
        A network in the exchange layout (bias row last).
    table : pandas.DataFrame
        Its edge table (:func:`edge_table`): ``layer``, ``source``, ``target`` per weighted edge.
    rows : ndarray of int
        Positions in ``table`` of the edges to cut (:func:`choose`).

    Returns
    -------
    list of ndarray, float32 (n_i + 1, n_{i+1})
        The lesioned network; ``weights`` is not changed.
    """
    out = [np.array(w, dtype=np.float32, copy=True) for w in weights]
    cut = table.iloc[np.asarray(rows, dtype=np.int64)]
    for layer, group in cut.groupby("layer"):
        out[int(layer)][group["source"].to_numpy(), group["target"].to_numpy()] = 0.0
    return out
