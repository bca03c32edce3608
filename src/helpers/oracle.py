"""Independent references for the motif kernels: brute-force counts and random layered networks.

:func:`brute_force_counts` counts every motif of :data:`helpers.motifs.MOTIFS` the slow, obviously correct way —
networkx subgraph monomorphisms divided by each pattern's automorphisms, directed paths enumerated one by one,
3rd-order converging in the original's B1 form straight from its definition — so that the compiled kernels of
:mod:`helpers.motifs` can be checked against something that shares none of their code (the tests and chapter 5
do). :func:`random_network` draws the small layered networks they are checked on.
"""
from __future__ import annotations

from collections.abc import Sequence
from math import comb

import numpy as np

from helpers import graph

#: Pattern edges of each motif that is a fixed small graph, and the size of its automorphism group.
PATTERNS = {
    "edges": ([(0, 1)], 1),
    "diverging2": ([(0, 1), (0, 2)], 2),
    "converging2": ([(0, 2), (1, 2)], 2),
    "diverging3": ([(0, 1), (0, 2), (0, 3)], 6),
    "converging3": ([(0, 3), (1, 3), (2, 3)], 6),
    "bifan": ([(0, 2), (0, 3), (1, 2), (1, 3)], 4),
    "biparallel": ([(0, 1), (0, 2), (1, 3), (2, 3)], 2),
}


def random_network(rng: np.random.Generator, sizes: Sequence[int], density: float,
                   bias_density: float | None = None) -> list[np.ndarray]:
    """A random network in the exchange layout, each edge present independently.

    Parameters
    ----------
    rng : numpy.random.Generator
        The source of randomness (advanced by the draws).
    sizes : sequence of int
        Layer sizes ``(n_0, …, n_L)``, inputs to outputs.
    density : float
        Probability in [0, 1] that a weight is present.
    bias_density : float or None
        Probability in [0, 1] that a bias is present; ``None`` for ``density``.

    Returns
    -------
    list of ndarray, bool (n_i + 1, n_{i+1})
        ``L`` masks in the exchange layout (:mod:`helpers.graph`), bias row last; empty when ``sizes`` has fewer
        than two entries.
    """
    out = []
    for a, b in zip(sizes[:-1], sizes[1:]):
        m = rng.random((a + 1, b)) < density
        if bias_density is not None:
            m[-1] = rng.random(b) < bias_density
        out.append(m)
    return out


def _monomorphisms(g, edges, automorphisms: int) -> int:
    import networkx as nx
    from networkx.algorithms.isomorphism import DiGraphMatcher

    total = sum(1 for _ in DiGraphMatcher(g, nx.DiGraph(edges)).subgraph_monomorphisms_iter())
    if total % automorphisms:
        raise AssertionError(f"{total} monomorphisms of a pattern with {automorphisms} automorphisms")
    return total // automorphisms


def _paths(g, length: int) -> tuple[int, int]:
    """Number of directed paths with ``length`` edges, and of (start, end) pairs they join."""
    paths, pairs = 0, set()

    def walk(node, start, depth):
        nonlocal paths
        if depth == length:
            paths += 1
            pairs.add((start, node))
            return
        for successor in g.successors(node):
            walk(successor, start, depth + 1)

    for v in g.nodes:
        walk(v, v, 0)
    return paths, len(pairs)


def brute_force_counts(masks: Sequence[np.ndarray]) -> dict[str, dict[str, int]]:
    """Motif counts of a network (exchange layout) in both conventions, by enumeration.

    Exponential in nothing but slow (networkx): for networks of a few dozen nodes. The network is counted as it
    is (not cleaned), bias nodes as sources.

    Parameters
    ----------
    masks : sequence of ndarray, bool or 0/1 (n_i + 1, n_{i+1})
        The network in the exchange layout (:mod:`helpers.graph`), bias row last.

    Returns
    -------
    dict of str to dict of str to int
        ``{"paper": {motif: count}, "subgraph": {motif: count}}`` with the motifs of
        :data:`helpers.motifs.MOTIFS`, in that order (the conventions of :mod:`helpers.motifs`).

    Raises
    ------
    ValueError
        From :func:`helpers.graph.to_networkx` when ``masks`` is not in the exchange layout.
    AssertionError
        If a pattern's monomorphism count is not a multiple of its automorphisms (a broken :data:`PATTERNS`).
    """
    from helpers import motifs

    g = graph.to_networkx(masks)
    subgraph = {name: _monomorphisms(g, edges, n_aut) for name, (edges, n_aut) in PATTERNS.items()}
    paper = dict(subgraph, converging3=sum(comb(d, 2) for _, d in g.in_degree() if d >= 3))   # B1
    for length, key in ((2, "chain2"), (3, "chain3")):
        subgraph[key], paper[key] = _paths(g, length)
    return {convention: {m: counts[m] for m in motifs.MOTIFS}
            for convention, counts in (("paper", paper), ("subgraph", subgraph))}
