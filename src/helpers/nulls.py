"""Random null networks for motif Z-scores: the original's model and a degree-preserving one.

Both models start from the *cleaned* real network (:func:`helpers.graph.clean`) and work per layer on its live
nodes only: the live sources of layer i are its neurons with an outgoing edge (S_i of them), its targets are
the live neurons of layer i+1 (T_i = S_{i+1}). The targets of the output layer depend on ``outputs``:
``"live"`` (ours, the default) keeps the outputs with an incoming edge in the cleaned real network, ``"all"``
(the original's rule: ``RandomNets.randomPruning`` in ``mothMotifs/random_networks.py`` of
``oliviatessa/MothMotifs`` always takes all 7 outputs; chapter 6, "Outputs the real network has cut off") all
n_L outputs, so that an output the real network has cut off may be wired again in the null. The two agree
while every output is live, as for all of the original's networks. E_i = weighted edges, B_i = bias edges of
layer i. Nodes that are not live never receive an edge.

``paper`` (chapter 6 of the book; the original's null, ``mothMotifs/random_networks.py`` of
``oliviatessa/MothMotifs``; not degree-preserving). Per layer, independently:

1. Cover (if E_i ≥ max(S_i, T_i)): the larger side is randomly permuted; its first min(S_i, T_i) nodes are
   matched one-to-one with a random permutation of the smaller side, every further node of the larger side
   gets one uniformly random partner. That is max(S_i, T_i) distinct edges and every live node has ≥ 1
   outgoing and ≥ 1 incoming weighted edge.
2. The other E_i − max(S_i, T_i) weighted edges are a uniformly random subset of the still-empty
   source × target positions (drawn 64 positions at a time, then corrected to the exact size: see
   :func:`fill_uniform`).
3. Bias: B_i distinct targets chosen uniformly among the T_i live targets.

If E_i < T_i (the real network feeds some neurons by their bias only), step 1 instead gives every source one
distinct random target and the remaining E_i − S_i weighted edges go to further distinct random targets from
uniformly random sources; the bias edges then first cover the T_i − E_i targets left without a weighted input
(the cleaned real network guarantees B_i ≥ T_i − E_i, except for outputs it leaves unconnected) and the rest
fall uniformly on the others.

``degree``: Curveball (Strona et al. 2014; Carstens et al. 2016) on each layer's weighted block (live sources
× live targets, bias row excluded and kept as it is): a trade picks two distinct source rows uniformly, pools
the targets only one of them hits and redistributes the pool at random keeping both row sizes. Every node's
in- and out-degree (weighted edges, and bias edges since the bias row is fixed) is preserved exactly. The
chain starts at the real network, runs ``burn_in_per_row × S_i`` trades per layer, then emits one sample
every ``trades_per_row × S_i`` trades per layer (samples of one chain are correlated; see
:func:`curveball_mixing_trace`).

Randomness and threads: SplitMix64 streams (:mod:`helpers.rng`), so equal arguments give equal samples and
:func:`null_counts` counts exactly the networks :func:`sample_null` returns, whatever the number of numba
threads (``numba.set_num_threads``). ``paper``: null k has its own stream, seeded with a hash of (``seed``, k)
(:func:`helpers.rng.sample_state`); the nulls are drawn and counted in a parallel loop, each iteration with its
own buffers. ``degree``: one chain (one stream seeded with ``seed``) runs on one thread; its samples are
collected in batches of :data:`DEGREE_BATCH` and each batch is counted in parallel.

Kernels: the nulls are drawn on the packed layout of :func:`helpers.motifs.layout` with the bit primitives of
:mod:`helpers.bits` and counted by :func:`helpers.motifs.count_packed` / :func:`helpers.motifs.count_into`
without leaving compiled code. :func:`paper_null_kernel` and :func:`degree_null_kernel` are the compiled cores
of both models (public for the benchmark, which times sampling alone); :func:`sample_null` and
:func:`null_counts` are the checked entry points.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numba as nb
import numpy as np

from . import graph, motifs
from .checks import MAX_SEED, Spec
from .bits import ONE, ZERO, clearbit, getbit, popcount, setbit
from .motifs import count_into, count_packed
from .rng import below, new_state, next_u64, sample_state, shuffle

MODELS = ("paper", "degree")
#: How the book's text, tables and figures name each null model of :data:`MODELS`.
LABELS = {"paper": "original's null", "degree": "degree-preserving null"}
#: Which output neurons a null may wire: those live in the real network, or all (the original's rule).
OUTPUT_RULES = ("live", "all")
#: Curveball samples held at once by :func:`null_counts` before they are counted in parallel.
DEGREE_BATCH = 64


@dataclass(frozen=True)
class NullSpec:
    """What a null keeps of a real network (made by :func:`prepare`; frozen).

    Attributes
    ----------
    live : tuple of ndarray, int64
        ``live[i]`` (i = 0 … L): int64 indices of layer i's live neurons, ascending (the output layer: as
        ``outputs`` says, see :func:`prepare`).
    sizes : tuple of int
        (S_0, ..., S_{L-1}, T_{L-1}) compact neuron counts, ``len(live[i])``.
    edges, bias_edges : ndarray, int64 (L,)
        Weighted and bias edge counts E_i, B_i of each layer.
    packed : ndarray, uint64 (total_words,)
        The cleaned real network restricted to live nodes (bias rows kept, last), packed in the layout of
        ``sizes`` (see :func:`helpers.motifs.layout`).
    full_sizes : tuple of int
        The original (n_0, ..., n_L).
    """

    live: tuple
    sizes: tuple
    edges: np.ndarray
    bias_edges: np.ndarray
    packed: np.ndarray
    full_sizes: tuple


def prepare(masks: Sequence[np.ndarray], outputs: str = "live") -> NullSpec:
    """Clean a network and extract what both null models keep (:class:`NullSpec`).

    Parameters
    ----------
    masks : list of ndarray, bool or 0/1 (n_i + 1, n_{i+1})
        The real network in the exchange layout (chapter 5), bias row last; cleaned here
        (:func:`helpers.graph.clean`), not modified.
    outputs : {"live", "all"}, default "live"
        One of :data:`OUTPUT_RULES` (see the module doc): the live targets of the output layer are the outputs
        with an incoming edge in the cleaned network (``"live"``) or all n_L outputs (``"all"``).

    Returns
    -------
    NullSpec
        The live nodes, compact sizes, edge counts and packed compact network.

    Raises
    ------
    ValueError
        When ``outputs`` is not one of :data:`OUTPUT_RULES`, or the masks are not in the exchange layout
        (:func:`helpers.graph.validate`).
    """
    if outputs not in OUTPUT_RULES:
        raise ValueError(f"outputs = {outputs!r} must be one of {OUTPUT_RULES}")
    m = graph.clean(masks)
    n = graph.sizes(m)
    L = len(m)
    targets = np.flatnonzero(m[-1].any(axis=0)) if outputs == "live" else np.arange(n[L])
    live = [np.flatnonzero(m[i][:-1].any(axis=1)) for i in range(L)] + [targets]
    compact = []
    for i in range(L):
        rows = np.append(live[i], n[i])                       # live neurons + bias row
        compact.append(m[i][np.ix_(rows, live[i + 1])])
    edges = np.array([int(c[:-1].sum()) for c in compact], dtype=np.int64)
    bias_edges = np.array([int(c[-1].sum()) for c in compact], dtype=np.int64)
    sizes = tuple(len(x) for x in live)
    packed = motifs.pack(compact, validated=True)
    return NullSpec(tuple(live), sizes, edges, bias_edges, packed, n)


def expand(spec: NullSpec, packed: np.ndarray) -> list[np.ndarray]:
    """A packed compact network (live nodes only) back in the full exchange layout (``bool`` masks).

    Parameters
    ----------
    spec : NullSpec
        The real network's :class:`NullSpec` (:func:`prepare`), which says where the live nodes are.
    packed : ndarray, uint64 (total_words,)
        A network in the compact layout of ``spec.sizes`` (:attr:`NullSpec.packed`, or a row of the samples of
        :func:`paper_null_kernel` / :func:`degree_null_kernel`).

    Returns
    -------
    list of ndarray, bool (n_i + 1, n_{i+1})
        The masks with ``spec.full_sizes``, bias row last; rows and columns of nodes that are not live are zero.

    Raises
    ------
    ValueError
        When ``packed`` does not have the shape of the layout of ``spec.sizes`` (:func:`helpers.motifs.unpack`).
    """
    compact = motifs.unpack(packed, spec.sizes)
    n = spec.full_sizes
    out = []
    for i, c in enumerate(compact):
        full = np.zeros((n[i] + 1, n[i + 1]), dtype=bool)
        rows = np.append(spec.live[i], n[i])
        full[np.ix_(rows, spec.live[i + 1])] = c
        out.append(full)
    return out


# ------------------------------------------------------------------------------------------ numba kernels

@nb.njit(cache=True)
def fill_uniform(state, data, start, w, S, T, K, cover):
    """Set K of the still-empty positions of the S × T block at data[start:] (rows of w words), a uniformly
    random K-subset, exactly (step 2 of the ``paper`` null).

    Every empty position is first drawn independently with probability p8 / 256 ≈ K / (empty positions) — a
    Bernoulli(p8 / 256) bit costs one random word per binary digit of p8 for 64 positions at once (from the
    lowest digit up: x ← x ∨ r for a 1, x ← x ∧ r for a 0) — and then single uniformly random positions are
    added (empty ones) or removed (drawn ones) until exactly K are set. Given its size j, an i.i.d. draw is a
    uniform j-subset, and adding (removing) a uniform further (drawn) position to (from) a uniform j-subset gives
    a uniform (j ± 1)-subset, so the result is uniform whatever p8 is; p8 only sets how much fixing is needed
    (about √K positions).

    Parameters
    ----------
    state : uint64 (1,)
        Random stream (:mod:`helpers.rng`); advanced in place.
    data : uint64 (total,)
        Flat array holding the packed block (:mod:`helpers.bits` format); the K new positions are set in place.
    start : int
        Word offset of the block in ``data``.
    w : int
        Words per row, ``ceil(T / 64)``.
    S, T : int
        Rows and columns of the block (the bits past column T − 1 must be zero).
    K : int
        Positions to set; ``K <= 0`` sets none, a K above the number of empty positions fills them all.
    cover : uint64 (≥ S·w,)
        Scratch: receives the positions set before the call.

    Returns
    -------
    None
        ``data`` holds the block with exactly min(K, empty positions) more positions set (K ≥ 0).
    """
    if K <= 0:
        return
    full = np.uint64(0xFFFFFFFFFFFFFFFF)
    last = full if T % 64 == 0 else (ONE << np.uint64(T % 64)) - ONE
    free = 0
    for s in range(S):
        for k in range(w):
            word = data[start + s * w + k]
            cover[s * w + k] = word
            free += popcount((full if k < w - 1 else last) & ~word)
    K = min(K, free)
    if K == 0:
        return
    p8 = (256 * K + free // 2) // free
    drawn = 0
    for s in range(S):
        for k in range(w):
            x = ZERO
            if p8 >= 256:
                x = full
            else:
                for digit in range(8):
                    if (p8 >> digit) & 1:
                        x |= next_u64(state)
                    elif x != ZERO:
                        x &= next_u64(state)
            x &= (full if k < w - 1 else last) & ~cover[s * w + k]
            data[start + s * w + k] |= x
            drawn += popcount(x)
    while drawn < K:
        s = below(state, S)
        t = below(state, T)
        if getbit(data, start, w, s, t) == ZERO:
            setbit(data, start, w, s, t)
            drawn += 1
    while drawn > K:
        s = below(state, S)
        t = below(state, T)
        if getbit(data, start, w, s, t) != ZERO and getbit(cover, 0, w, s, t) == ZERO:
            clearbit(data, start, w, s, t)
            drawn -= 1


@nb.njit(cache=True)
def _paper_layer(state, data, start, S, T, E, B, perm_s, perm_t, cover):
    """Draw one layer of the paper null into the packed block at data[start:] ((S+1) rows × ceil(T/64))."""
    w = (T + 63) // 64
    for k in range((S + 1) * w):
        data[start + k] = ZERO
    if T == 0:
        return
    for k in range(S):
        perm_s[k] = k
    for k in range(T):
        perm_t[k] = k
    shuffle(state, perm_t, T)
    covered_all = E >= S and E >= T
    if covered_all:
        if E > 0:
            shuffle(state, perm_s, S)
            if S >= T:
                for k in range(T):
                    setbit(data, start, w, perm_s[k], perm_t[k])
                for k in range(T, S):
                    setbit(data, start, w, perm_s[k], below(state, T))
            else:
                for k in range(S):
                    setbit(data, start, w, perm_s[k], perm_t[k])
                for k in range(S, T):
                    setbit(data, start, w, below(state, S), perm_t[k])
            L0 = max(S, T)
            fill_uniform(state, data, start, w, S, T, E - L0, cover)
        # bias: B distinct uniformly random live targets (perm_t is a fresh random permutation)
        shuffle(state, perm_t, T)
        for k in range(min(B, T)):
            setbit(data, start, w, S, perm_t[k])
    else:
        # E < T: every source one distinct target, then further distinct targets from random sources
        for k in range(min(S, E)):
            setbit(data, start, w, k, perm_t[k])
        for k in range(S, E):
            setbit(data, start, w, below(state, S), perm_t[k])
        # bias covers the targets perm_t[E:T] first, then uniformly among perm_t[:E]
        nb_ = min(B, T)
        for k in range(E, min(T, E + nb_)):
            setbit(data, start, w, S, perm_t[k])
        rest = nb_ - (T - E)
        if rest > 0:
            shuffle(state, perm_t, E)
            for k in range(rest):
                setbit(data, start, w, S, perm_t[k])


@nb.njit(cache=True, parallel=True)
def paper_null_kernel(n, off, total, E, B, n_samples, seed, keep, count):
    """Draw (and count) ``n_samples`` paper nulls in a parallel loop; null s uses only its own stream
    (:func:`helpers.rng.sample_state`) and buffers, so the output does not depend on the thread count or
    scheduling. The compiled core of :func:`sample_null` / :func:`null_counts` for ``model="paper"``; nothing
    is checked.

    Parameters
    ----------
    n : int64 (L + 1,)
        Compact neuron counts (S_0, ..., S_{L-1}, T_{L-1}) (``motifs.layout(spec.sizes)[0]``).
    off : int64 (L,)
        Word offsets of the layers (``motifs.layout(spec.sizes)[1]``).
    total : int
        Words of one packed network (``motifs.layout(spec.sizes)[2]``).
    E, B : int64 (L,)
        Weighted and bias edges per layer (:attr:`NullSpec.edges`, :attr:`NullSpec.bias_edges`).
    n_samples : int
        Number of nulls.
    seed : int
        Seed, ``0 <= seed < 2**32``.
    keep, count : bool
        Whether to return the packed nulls and their raw motif counts.

    Returns
    -------
    samples : uint64 (n_samples, total), or (0, total) without ``keep``
        The packed nulls (compact layout; :func:`expand` gives the full masks).
    raw : int64 (n_samples, 12), or (0, 12) without ``count``
        Their :data:`helpers.motifs.RAW` counts.
    """
    L = n.shape[0] - 1
    mx = 1
    for i in range(L + 1):
        mx = max(mx, n[i] + 1)
    samples = np.zeros((n_samples if keep else 0, total), dtype=np.uint64)
    raw = np.zeros((n_samples if count else 0, 12), dtype=np.int64)
    for s in nb.prange(n_samples):
        state = sample_state(seed, s)
        perm_s = np.zeros(mx, dtype=np.int64)
        perm_t = np.zeros(mx, dtype=np.int64)
        cover = np.zeros(mx * ((mx + 63) // 64), dtype=np.uint64)
        buf = np.zeros(total, dtype=np.uint64)
        for i in range(L):
            _paper_layer(state, buf, off[i], n[i], n[i + 1], E[i], B[i], perm_s, perm_t, cover)
        if keep:
            samples[s] = buf
        if count:
            count_packed(buf, n, off, raw[s], 0)
    return samples, raw


@nb.njit(cache=True)
def _curveball_trade(state, data, start, S, w, pool):
    r1 = below(state, S)
    r2 = below(state, S - 1)
    if r2 >= r1:
        r2 += 1
    b1 = start + r1 * w
    b2 = start + r2 * w
    na = 0
    npool = 0
    for k in range(w):
        x = data[b1 + k]
        y = data[b2 + k]
        a = x & ~y
        b = y & ~x
        na += popcount(a)
        u = a | b
        while u != ZERO:
            low = u & (~u + ONE)
            pool[npool] = k * 64 + popcount(low - ONE)
            npool += 1
            u ^= low
        shared = x & y
        data[b1 + k] = shared
        data[b2 + k] = shared
    for j in range(na):                      # choose which pooled targets go to r1
        t = j + below(state, npool - j)
        pool[j], pool[t] = pool[t], pool[j]
    for j in range(npool):
        c = pool[j]
        if j < na:
            data[b1 + (c >> 6)] |= ONE << np.uint64(c & 63)
        else:
            data[b2 + (c >> 6)] |= ONE << np.uint64(c & 63)


@nb.njit(cache=True)
def _curveball_run(state, data, n, off, trades_per_row):
    L = n.shape[0] - 1
    mx = 1
    for i in range(L + 1):
        mx = max(mx, n[i] + 1)
    pool = np.zeros(mx + 64, dtype=np.int64)
    for i in range(L):
        S = n[i]
        if S < 2:
            continue
        w = (n[i + 1] + 63) // 64
        k = int(round(trades_per_row * S))
        for _ in range(k):
            _curveball_trade(state, data, off[i], S, w, pool)


@nb.njit(cache=True)
def degree_null_kernel(start_data, n, off, n_samples, seed, burn_in_per_row, trades_per_row, keep, count, batch):
    """One Curveball chain (sequential, one stream); its samples are gathered ``batch`` at a time and each
    batch is counted in parallel (:func:`helpers.motifs.count_into`). The compiled core of
    :func:`sample_null` / :func:`null_counts` for ``model="degree"``; nothing is checked.

    Parameters
    ----------
    start_data : uint64 (total,)
        The packed compact real network the chain starts from (:attr:`NullSpec.packed`); not modified.
    n : int64 (L + 1,)
        Compact neuron counts (``motifs.layout(spec.sizes)[0]``).
    off : int64 (L,)
        Word offsets of the layers (``motifs.layout(spec.sizes)[1]``).
    n_samples : int
        Number of samples.
    seed : int
        Seed of the chain's stream, ``0 <= seed < 2**32``.
    burn_in_per_row, trades_per_row : float
        Trades per live source row of each layer before the first sample and between samples.
    keep, count : bool
        Whether to return the packed samples and their raw motif counts.
    batch : int
        Samples held at once before they are counted (:data:`DEGREE_BATCH`).

    Returns
    -------
    samples : uint64 (n_samples, total), or (0, total) without ``keep``
        The packed samples, in chain order.
    raw : int64 (n_samples, 12), or (0, 12) without ``count``
        Their :data:`helpers.motifs.RAW` counts.
    """
    state = new_state(seed)
    buf = start_data.copy()
    total = buf.shape[0]
    samples = np.zeros((n_samples if keep else 0, total), dtype=np.uint64)
    raw = np.zeros((n_samples if count else 0, 12), dtype=np.int64)
    held = np.zeros((min(batch, n_samples) if count else 0, total), dtype=np.uint64)
    _curveball_run(state, buf, n, off, burn_in_per_row)
    s0 = 0
    while s0 < n_samples:
        m = min(batch, n_samples - s0)
        for j in range(m):
            _curveball_run(state, buf, n, off, trades_per_row)
            if keep:
                samples[s0 + j] = buf
            if count:
                held[j] = buf
        if count:
            count_into(held[:m], n, off, raw[s0:s0 + m], 0)
        s0 += m
    return samples, raw


@nb.njit(cache=True)
def _weighted_difference(a, b, n, off):
    """Weighted edges present in ``b`` but not in ``a`` (bias rows excluded)."""
    L = n.shape[0] - 1
    d = 0
    for i in range(L):
        w = (n[i + 1] + 63) // 64
        for k in range(off[i], off[i] + n[i] * w):
            d += popcount(b[k] & ~a[k])
    return d


# ------------------------------------------------------------------------------------------------ API

#: The arguments of the sampling functions.
ARGUMENTS = {"n": Spec(int, 1, None, doc="number of null networks"), "model": Spec(str, choices=MODELS),
             "seed": Spec(int, 0, MAX_SEED), "trades_per_row": Spec(float, 1e-9, None),
             "burn_in_per_row": Spec(float, 0.0, None), "outputs": Spec(str, choices=OUTPUT_RULES)}


def _check(n: int, model: str, seed: int, trades_per_row: float, burn_in_per_row: float,
           outputs: str = "live") -> None:
    given = dict(n=n, model=model, seed=seed, trades_per_row=trades_per_row, burn_in_per_row=burn_in_per_row,
                 outputs=outputs)
    for name, value in given.items():
        ARGUMENTS[name].check(name, value)


def complete(spec: NullSpec) -> bool:
    """Whether every layer among the live nodes is fully connected (all weighted and bias edges present, e.g. the
    dense network): then both null models have exactly one network, the real one.

    Parameters
    ----------
    spec : NullSpec
        The real network's :class:`NullSpec` (:func:`prepare`).

    Returns
    -------
    bool
        True when E_i = S_i · S_{i+1} and B_i = S_{i+1} for every layer i (compact sizes ``spec.sizes``).
    """
    s = np.array(spec.sizes)
    return bool((spec.edges == s[:-1] * s[1:]).all() and (spec.bias_edges == s[1:]).all())


def _run(spec: NullSpec, n: int, model: str, seed: int, trades_per_row: float, burn_in_per_row: float,
         keep: bool, count: bool):
    sizes, off, total = motifs.layout(spec.sizes)
    if complete(spec):               # the only null network is the real one: nothing to draw
        samples = np.repeat(spec.packed[None], n if keep else 0, axis=0)
        raw = np.zeros((n if count else 0, motifs.N_RAW), dtype=np.int64)
        if count:
            count_packed(spec.packed, sizes, off, raw[0], 0)
            raw[1:] = raw[0]
        return samples, raw
    if model == "paper":
        return paper_null_kernel(sizes, off, total, spec.edges, spec.bias_edges, int(n), int(seed), keep, count)
    return degree_null_kernel(spec.packed, sizes, off, int(n), int(seed), float(burn_in_per_row),
                              float(trades_per_row), keep, count, DEGREE_BATCH)


def sample_null(masks: Sequence[np.ndarray], n: int, model: str = "paper", seed: int = 0,
                trades_per_row: float = 5.0, burn_in_per_row: float = 20.0, outputs: str = "live"
                ) -> list[list[np.ndarray]]:
    """``n`` null networks of a real network, each a list of ``bool`` masks in the full exchange layout.

    The real network is cleaned first. Deterministic for a given seed, whatever the number of numba threads.
    When the live network is complete (:func:`complete`), every null is the cleaned real network.

    Parameters
    ----------
    masks : list of ndarray, bool or 0/1 (n_i + 1, n_{i+1})
        The real network in the exchange layout (chapter 5), bias row last.
    n : int
        Number of null networks, ``n >= 1``.
    model : {"paper", "degree"}, default "paper"
        ``"paper"`` (the original's null) or ``"degree"`` (Curveball), see the module doc (:data:`MODELS`).
    seed : int, default 0
        Seed of the random streams, ``0 <= seed <= 2**32 - 1``.
    trades_per_row : float, default 5.0
        ``degree``: Curveball trades per live source row of each layer between two samples, > 0.
    burn_in_per_row : float, default 20.0
        ``degree``: trades per live source row of each layer before the first sample, ≥ 0. ``trades_per_row``
        and ``burn_in_per_row`` set the chain; ``paper`` ignores them (they are checked all the same).
    outputs : {"live", "all"}, default "live"
        Which output neurons the null may wire (:data:`OUTPUT_RULES`; ``degree`` keeps every degree, so it never
        wires a cut-off output and both rules give the same samples).

    Returns
    -------
    list of list of ndarray, bool (n_i + 1, n_{i+1})
        ``n`` null networks with the real network's sizes (``degree``: in chain order).

    Raises
    ------
    ValueError
        When an argument is outside the range above (:data:`ARGUMENTS`, :class:`helpers.checks.Spec`), or the
        masks are not in the exchange layout (:func:`helpers.graph.validate`).
    """
    _check(n, model, seed, trades_per_row, burn_in_per_row, outputs)
    spec = prepare(masks, outputs)
    samples, _ = _run(spec, n, model, seed, trades_per_row, burn_in_per_row, keep=True, count=False)
    return [expand(spec, s) for s in samples]


def null_counts(masks: Sequence[np.ndarray], n: int, model: str = "paper", seed: int = 0,
                trades_per_row: float = 5.0, burn_in_per_row: float = 20.0, outputs: str = "live") -> np.ndarray:
    """Raw motif counts (int64 (n, 12), columns :data:`helpers.motifs.RAW`, both conventions) of the same ``n``
    null networks :func:`sample_null` returns for these arguments, without building them in memory.

    Select one convention with :func:`helpers.motifs.project`. The nulls are counted as drawn (compact, live
    nodes only, which changes no count: nodes that are not live have no edge).

    Parameters
    ----------
    masks : list of ndarray, bool or 0/1 (n_i + 1, n_{i+1})
        The real network in the exchange layout (chapter 5), bias row last; cleaned first.
    n : int
        Number of null networks, ``n >= 1``.
    model : {"paper", "degree"}, default "paper"
        The null model (:data:`MODELS`), as in :func:`sample_null`.
    seed : int, default 0
        Seed, ``0 <= seed <= 2**32 - 1``.
    trades_per_row : float, default 5.0
        ``degree``: trades per live source row between samples, > 0 (checked, but ignored by ``paper``).
    burn_in_per_row : float, default 20.0
        ``degree``: trades per live source row before the first sample, ≥ 0 (checked, but ignored by ``paper``).
    outputs : {"live", "all"}, default "live"
        Which output neurons the null may wire (:data:`OUTPUT_RULES`).

    Returns
    -------
    ndarray, int64 (n, 12)
        Row k: the :data:`helpers.motifs.RAW` counts of null k of :func:`sample_null`.

    Raises
    ------
    ValueError
        When an argument is outside the range above (:data:`ARGUMENTS`, :class:`helpers.checks.Spec`), or the
        masks are not in the exchange layout (:func:`helpers.graph.validate`).
    """
    _check(n, model, seed, trades_per_row, burn_in_per_row, outputs)
    spec = prepare(masks, outputs)
    _, raw = _run(spec, n, model, seed, trades_per_row, burn_in_per_row, keep=False, count=True)
    return raw


def curveball_mixing_trace(masks: Sequence[np.ndarray], trades_per_row: float = 30.0, n_points: int = 61,
                           seed: int = 0) -> dict[str, np.ndarray]:
    """How fast the Curveball chain forgets the real network.

    Runs one chain from the cleaned real network and records, at ``n_points`` evenly spaced points up to
    ``trades_per_row × S_i`` trades in every layer, the fraction of weighted edges not present in the start.
    A random network with the same degrees typically shares only a small fraction of edges with the start,
    so the curve rises and levels off once the chain has mixed (chapter 6, "Mixing of the Curveball chain").

    Parameters
    ----------
    masks : list of ndarray, bool or 0/1 (n_i + 1, n_{i+1})
        The real network in the exchange layout (chapter 5), bias row last; cleaned first (``outputs="live"``).
    trades_per_row : float, default 30.0
        Trades per live source row of each layer at the last point, > 0.
    n_points : int, default 61
        Number of points, the first at 0 trades, ``n_points >= 2``.
    seed : int, default 0
        Seed of the chain's stream, ``0 <= seed <= 2**32 - 1``.

    Returns
    -------
    dict
        ``{"trades_per_row": float (n_points,), "fraction_changed": float (n_points,)}`` (float64): the points
        ``linspace(0, trades_per_row, n_points)`` and the fraction of weighted edges not present in the start
        (0 at the first point; all 0 for a network without weighted edges).

    Raises
    ------
    ValueError
        When ``trades_per_row`` is not > 0 or ``n_points`` < 2, ``seed`` is outside its range
        (:class:`helpers.checks.Spec`), or the masks are not in the exchange layout (:func:`helpers.graph.validate`).
    """
    if not trades_per_row > 0 or int(n_points) < 2:
        raise ValueError(f"trades_per_row = {trades_per_row!r} must be > 0 and n_points = {n_points!r} >= 2")
    _check(1, "degree", seed, 1.0, 0.0)
    spec = prepare(masks)
    sizes, off, _ = motifs.layout(spec.sizes)
    x = np.linspace(0.0, float(trades_per_row), int(n_points))
    frac = np.zeros_like(x)
    total_edges = int(spec.edges.sum())
    if total_edges == 0:
        return {"trades_per_row": x, "fraction_changed": frac}
    start = spec.packed.copy()
    cur = start.copy()
    step = x[1] - x[0]
    state = new_state(int(seed))
    for k in range(1, len(x)):
        _curveball_run(state, cur, sizes, off, step)
        frac[k] = _weighted_difference(start, cur, sizes, off) / total_edges
    return {"trades_per_row": x, "fraction_changed": frac}



def count_autocorrelation(masks: Sequence[np.ndarray], motif: str = "bifan", n_samples: int = 2000,
                          step_per_row: float = 0.25, max_lag: int = 200, seed: int = 0,
                          convention: str = "subgraph") -> dict[str, np.ndarray | float]:
    """How fast a motif count along the Curveball chain forgets its past: its autocorrelation and integrated
    autocorrelation time.

    The fraction of edges changed (:func:`curveball_mixing_trace`) says when the chain has left the real network;
    whether successive samples are independent *for the statistic the census computes* is what the autocorrelation
    of a motif count along the chain says. The chain of :func:`null_counts` (``model="degree"``, after its
    burn-in) is sampled every ``step_per_row`` trades per row, far more often than the census samples it; the
    autocorrelation ρ(k) of the count series is estimated at lags k = 0 … ``max_lag``, and the integrated
    autocorrelation time τ = 1 + 2 Σ_{k=1}^{M} ρ(k) with Sokal's window (the smallest M ≥ 5 τ(M)), in trades per
    row. Samples drawn τ or more trades per row apart are close to independent; the census draws one every
    5 trades per row (:func:`null_counts`' default).

    Parameters
    ----------
    masks : list of ndarray, bool or 0/1 (n_i + 1, n_{i+1})
        The real network in the exchange layout (chapter 5), bias row last; cleaned first.
    motif : str, default "bifan"
        A motif of :data:`helpers.motifs.MOTIFS`; one whose count the degrees fix gives NaN.
    n_samples : int, default 2000
        Length of the count series, > ``2 * max_lag``.
    step_per_row : float, default 0.25
        Trades per live source row between points of the series, > 0.
    max_lag : int, default 200
        Largest lag estimated, ≥ 1.
    seed : int, default 0
        Seed of the chain, ``0 <= seed <= 2**32 - 1``.
    convention : {"paper", "subgraph"}, default "subgraph"
        How the motif is counted (:data:`helpers.motifs.CONVENTIONS`).

    Returns
    -------
    dict
        ``lag_trades_per_row`` float64 (max_lag + 1,), ``acf`` float64 (max_lag + 1,) (``acf[0] = 1``; all NaN if
        the count never varies), ``tau_trades_per_row`` (float; NaN if the count never varies) and ``window``
        (int, M in points).

    Raises
    ------
    ValueError
        Naming the argument outside its range.
    """
    if motif not in motifs.MOTIFS:
        raise ValueError(f"motif = {motif!r} must be one of {motifs.MOTIFS}")
    if not step_per_row > 0 or int(max_lag) < 1 or int(n_samples) <= 2 * int(max_lag):
        raise ValueError(f"step_per_row = {step_per_row!r} must be > 0, max_lag = {max_lag!r} >= 1 and "
                         f"n_samples = {n_samples!r} > 2 max_lag")
    raw = null_counts(masks, int(n_samples), model="degree", seed=seed, trades_per_row=float(step_per_row))
    series = motifs.project(raw, convention)[:, motifs.MOTIFS.index(motif)].astype(np.float64)
    lags = np.arange(int(max_lag) + 1)
    x = series - series.mean()
    var = float(x @ x)
    if var == 0.0:
        return dict(lag_trades_per_row=lags * float(step_per_row), acf=np.full(lags.shape, np.nan),
                    tau_trades_per_row=float("nan"), window=0)
    acf = np.array([float(x[:len(x) - k] @ x[k:]) / var for k in lags])
    tau, window = 1.0, int(max_lag)
    for m in range(1, int(max_lag) + 1):
        tau = 1.0 + 2.0 * float(acf[1:m + 1].sum())
        if m >= 5 * tau:
            window = m
            break
    return dict(lag_trades_per_row=lags * float(step_per_row), acf=acf, tau_trades_per_row=tau * float(step_per_row),
                window=window)
