"""Random null networks for motif Z-scores: the original's model and a degree-preserving one.

Both models start from the *cleaned* real network (:func:`helpers.graph.clean`) and work per layer on its live
nodes only: the live sources of layer i are its neurons with an outgoing edge (S_i of them), its targets are
the live neurons of layer i+1 (T_i = S_{i+1}). The targets of the output layer depend on ``outputs``:
``"live"`` (ours, the default) keeps the outputs with an incoming edge in the cleaned real network, ``"all"``
(the original's rule, SPEC §6) all n_L outputs, so that an output the real network has cut off may be wired
again in the null. The two agree while every output is live, as for all of the original's networks. E_i =
weighted edges, B_i = bias edges of layer i. Nodes that are not live never receive an edge.

``paper`` (SPEC §6, the original's null; not degree-preserving). Per layer, independently:

1. Cover (if E_i ≥ max(S_i, T_i)): the larger side is randomly permuted; its first min(S_i, T_i) nodes are
   matched one-to-one with a random permutation of the smaller side, every further node of the larger side
   gets one uniformly random partner. That is max(S_i, T_i) distinct edges and every live node has ≥ 1
   outgoing and ≥ 1 incoming weighted edge.
2. The other E_i − max(S_i, T_i) weighted edges are a uniformly random subset of the still-empty
   source × target positions (drawn 64 positions at a time, then corrected to the exact size: see
   :func:`_fill_uniform`).
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

Randomness and threads: SplitMix64 streams, so equal arguments give equal samples and :func:`null_counts`
counts exactly the networks :func:`sample_null` returns, whatever the number of numba threads
(``numba.set_num_threads``). ``paper``: null k has its own stream, seeded with a hash of (``seed``, k); the
nulls are drawn and counted in a parallel loop, each iteration with its own buffers. ``degree``: one chain
(one stream seeded with ``seed``) runs on one thread; its samples are collected in batches of
:data:`DEGREE_BATCH` and each batch is counted in parallel.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numba as nb
import numpy as np

from . import graph, motifs
from .motifs import _ONE, _ZERO, _count_into, _count_packed, _popcount

MODELS = ("paper", "degree")
#: Which output neurons a null may wire: those live in the real network, or all (the original's rule).
OUTPUT_RULES = ("live", "all")
#: Curveball samples held at once by :func:`null_counts` before they are counted in parallel.
DEGREE_BATCH = 64


@dataclass(frozen=True)
class NullSpec:
    """What a null keeps of a real network. ``live[i]``: int64 indices of layer i's live neurons (the output
    layer: as ``outputs`` says, see :func:`prepare`); ``sizes`` = (S_0, ..., S_{L-1}, T_{L-1}) compact neuron
    counts; ``edges`` / ``bias_edges``: int64
    (L,) weighted and bias edge counts; ``packed``: the cleaned real network restricted to live nodes, packed
    (see :func:`helpers.motifs.layout`); ``full_sizes``: the original (n_0, ..., n_L)."""

    live: tuple
    sizes: tuple
    edges: np.ndarray
    bias_edges: np.ndarray
    packed: np.ndarray
    full_sizes: tuple


def prepare(masks: Sequence[np.ndarray], outputs: str = "live") -> NullSpec:
    """Clean a network and extract what both null models keep (:class:`NullSpec`); ``outputs`` is one of
    :data:`OUTPUT_RULES` (see the module doc)."""
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
    """A packed compact network (live nodes only) back in the full exchange layout (``bool`` masks)."""
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

# Random numbers: SplitMix64 (Steele, Lea & Flood 2014) with Lemire's unbiased bounded draw; the state is
# a uint64 array of length 1 seeded from ``seed``, so results depend only on the arguments.
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)
_LOW32 = np.uint64(0xFFFFFFFF)
_S27, _S30, _S31, _S32 = np.uint64(27), np.uint64(30), np.uint64(31), np.uint64(32)


@nb.njit(inline="always", cache=True)
def _mix(z):
    z = (z ^ (z >> _S30)) * _MIX1
    z = (z ^ (z >> _S27)) * _MIX2
    return z ^ (z >> _S31)


@nb.njit(inline="always", cache=True)
def _next(state):
    state[0] += _GOLDEN
    return _mix(state[0])


@nb.njit(inline="always", cache=True)
def _below(state, bound):
    """Uniform integer in [0, bound), 1 <= bound < 2**32, exactly (rejection of the biased low part)."""
    b = np.uint64(bound)
    while True:
        m = (_next(state) >> _S32) * b
        low = m & _LOW32
        if low >= b:
            return np.int64(m >> _S32)
        t = ((_LOW32 + _ONE) - b) % b
        if low >= t:
            return np.int64(m >> _S32)


@nb.njit(cache=True)
def _new_state(seed):
    state = np.zeros(1, dtype=np.uint64)
    state[0] = np.uint64(seed) * _MIX2 + _GOLDEN
    _next(state)
    return state


@nb.njit(cache=True)
def _sample_state(seed, index):
    """The stream of null ``index`` of a call with ``seed``: state = mix(mix(seed) + (index + 1) · MIX1).
    mix is a bijection of uint64 and MIX1 is odd, so the indices of one seed get distinct start states."""
    state = np.zeros(1, dtype=np.uint64)
    h = _mix(np.uint64(seed) * _MIX2 + _GOLDEN)
    state[0] = _mix(h + (np.uint64(index) + _ONE) * _MIX1)
    return state


@nb.njit(inline="always", cache=True)
def _setbit(data, start, w, r, c):
    data[start + r * w + (c >> 6)] |= _ONE << np.uint64(c & 63)


@nb.njit(inline="always", cache=True)
def _getbit(data, start, w, r, c):
    return (data[start + r * w + (c >> 6)] >> np.uint64(c & 63)) & _ONE


@nb.njit(inline="always", cache=True)
def _clearbit(data, start, w, r, c):
    data[start + r * w + (c >> 6)] &= ~(_ONE << np.uint64(c & 63))


@nb.njit(inline="always", cache=True)
def _shuffle(state, a, k):
    """Random permutation of a[:k] in place (Fisher–Yates)."""
    for j in range(k - 1, 0, -1):
        t = _below(state, j + 1)
        a[j], a[t] = a[t], a[j]


@nb.njit(cache=True)
def _fill_uniform(state, data, start, w, S, T, K, cover):
    """Set K of the still-empty positions of the S × T block at data[start:] (rows of w words), a uniformly
    random K-subset, exactly.

    Every empty position is first drawn independently with probability p8 / 256 ≈ K / (empty positions) — a
    Bernoulli(p8 / 256) bit costs one random word per binary digit of p8 for 64 positions at once (from the
    lowest digit up: x ← x ∨ r for a 1, x ← x ∧ r for a 0) — and then single uniformly random positions are
    added (empty ones) or removed (drawn ones) until exactly K are set. Given its size j, an i.i.d. draw is a
    uniform j-subset, and adding (removing) a uniform further (drawn) position to (from) a uniform j-subset gives
    a uniform (j ± 1)-subset, so the result is uniform whatever p8 is; p8 only sets how much fixing is needed
    (about √K positions). ``cover``: scratch (S·w words) that keeps the positions set before the call.
    """
    if K <= 0:
        return
    full = np.uint64(0xFFFFFFFFFFFFFFFF)
    last = full if T % 64 == 0 else (_ONE << np.uint64(T % 64)) - _ONE
    free = 0
    for s in range(S):
        for k in range(w):
            word = data[start + s * w + k]
            cover[s * w + k] = word
            free += _popcount((full if k < w - 1 else last) & ~word)
    K = min(K, free)
    if K == 0:
        return
    p8 = (256 * K + free // 2) // free
    drawn = 0
    for s in range(S):
        for k in range(w):
            x = _ZERO
            if p8 >= 256:
                x = full
            else:
                for digit in range(8):
                    if (p8 >> digit) & 1:
                        x |= _next(state)
                    elif x != _ZERO:
                        x &= _next(state)
            x &= (full if k < w - 1 else last) & ~cover[s * w + k]
            data[start + s * w + k] |= x
            drawn += _popcount(x)
    while drawn < K:
        s = _below(state, S)
        t = _below(state, T)
        if _getbit(data, start, w, s, t) == _ZERO:
            _setbit(data, start, w, s, t)
            drawn += 1
    while drawn > K:
        s = _below(state, S)
        t = _below(state, T)
        if _getbit(data, start, w, s, t) != _ZERO and _getbit(cover, 0, w, s, t) == _ZERO:
            _clearbit(data, start, w, s, t)
            drawn -= 1


@nb.njit(cache=True)
def _paper_layer(state, data, start, S, T, E, B, perm_s, perm_t, cover):
    """Draw one layer of the paper null into the packed block at data[start:] ((S+1) rows × ceil(T/64))."""
    w = (T + 63) // 64
    for k in range((S + 1) * w):
        data[start + k] = _ZERO
    if T == 0:
        return
    for k in range(S):
        perm_s[k] = k
    for k in range(T):
        perm_t[k] = k
    _shuffle(state, perm_t, T)
    covered_all = E >= S and E >= T
    if covered_all:
        if E > 0:
            _shuffle(state, perm_s, S)
            if S >= T:
                for k in range(T):
                    _setbit(data, start, w, perm_s[k], perm_t[k])
                for k in range(T, S):
                    _setbit(data, start, w, perm_s[k], _below(state, T))
            else:
                for k in range(S):
                    _setbit(data, start, w, perm_s[k], perm_t[k])
                for k in range(S, T):
                    _setbit(data, start, w, _below(state, S), perm_t[k])
            L0 = max(S, T)
            _fill_uniform(state, data, start, w, S, T, E - L0, cover)
        # bias: B distinct uniformly random live targets (perm_t is a fresh random permutation)
        _shuffle(state, perm_t, T)
        for k in range(min(B, T)):
            _setbit(data, start, w, S, perm_t[k])
    else:
        # E < T: every source one distinct target, then further distinct targets from random sources
        for k in range(min(S, E)):
            _setbit(data, start, w, k, perm_t[k])
        for k in range(S, E):
            _setbit(data, start, w, _below(state, S), perm_t[k])
        # bias covers the targets perm_t[E:T] first, then uniformly among perm_t[:E]
        nb_ = min(B, T)
        for k in range(E, min(T, E + nb_)):
            _setbit(data, start, w, S, perm_t[k])
        rest = nb_ - (T - E)
        if rest > 0:
            _shuffle(state, perm_t, E)
            for k in range(rest):
                _setbit(data, start, w, S, perm_t[k])


@nb.njit(cache=True, parallel=True)
def _paper_null(n, off, total, E, B, n_samples, seed, keep, count):
    """Draw (and count) ``n_samples`` paper nulls in a parallel loop; null s uses only its own stream
    (:func:`_sample_state`) and buffers, so the output does not depend on the thread count or scheduling."""
    L = n.shape[0] - 1
    mx = 1
    for i in range(L + 1):
        mx = max(mx, n[i] + 1)
    samples = np.zeros((n_samples if keep else 0, total), dtype=np.uint64)
    raw = np.zeros((n_samples if count else 0, 12), dtype=np.int64)
    for s in nb.prange(n_samples):
        state = _sample_state(seed, s)
        perm_s = np.zeros(mx, dtype=np.int64)
        perm_t = np.zeros(mx, dtype=np.int64)
        cover = np.zeros(mx * ((mx + 63) // 64), dtype=np.uint64)
        buf = np.zeros(total, dtype=np.uint64)
        for i in range(L):
            _paper_layer(state, buf, off[i], n[i], n[i + 1], E[i], B[i], perm_s, perm_t, cover)
        if keep:
            samples[s] = buf
        if count:
            _count_packed(buf, n, off, raw[s], 0)
    return samples, raw


@nb.njit(cache=True)
def _curveball_trade(state, data, start, S, w, pool):
    r1 = _below(state, S)
    r2 = _below(state, S - 1)
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
        na += _popcount(a)
        u = a | b
        while u != _ZERO:
            low = u & (~u + _ONE)
            pool[npool] = k * 64 + _popcount(low - _ONE)
            npool += 1
            u ^= low
        shared = x & y
        data[b1 + k] = shared
        data[b2 + k] = shared
    for j in range(na):                      # choose which pooled targets go to r1
        t = j + _below(state, npool - j)
        pool[j], pool[t] = pool[t], pool[j]
    for j in range(npool):
        c = pool[j]
        if j < na:
            data[b1 + (c >> 6)] |= _ONE << np.uint64(c & 63)
        else:
            data[b2 + (c >> 6)] |= _ONE << np.uint64(c & 63)


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
def _degree_null(start_data, n, off, n_samples, seed, burn_in_per_row, trades_per_row, keep, count, batch):
    """One Curveball chain (sequential, one stream); its samples are gathered ``batch`` at a time and each
    batch is counted in parallel (:func:`helpers.motifs._count_into`)."""
    state = _new_state(seed)
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
            _count_into(held[:m], n, off, raw[s0:s0 + m], 0)
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
            d += _popcount(b[k] & ~a[k])
    return d


# ------------------------------------------------------------------------------------------------ API

def _check(n: int, model: str, seed: int, trades_per_row: float, burn_in_per_row: float,
           outputs: str = "live") -> None:
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"n = {n!r} must be a positive integer (number of null networks)")
    if model not in MODELS:
        raise ValueError(f"model {model!r} must be one of {MODELS}")
    if outputs not in OUTPUT_RULES:
        raise ValueError(f"outputs = {outputs!r} must be one of {OUTPUT_RULES}")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or not 0 <= seed < 2**32:
        raise ValueError(f"seed = {seed!r} must be an integer in [0, 2**32)")
    if not (trades_per_row > 0 and burn_in_per_row >= 0):
        raise ValueError(f"trades_per_row = {trades_per_row!r} must be > 0 and burn_in_per_row = "
                         f"{burn_in_per_row!r} >= 0")


def complete(spec: NullSpec) -> bool:
    """Whether every layer among the live nodes is fully connected (all weighted and bias edges present, e.g. the
    dense network): then both null models have exactly one network, the real one."""
    s = np.array(spec.sizes)
    return bool((spec.edges == s[:-1] * s[1:]).all() and (spec.bias_edges == s[1:]).all())


def _run(spec: NullSpec, n: int, model: str, seed: int, trades_per_row: float, burn_in_per_row: float,
         keep: bool, count: bool):
    sizes, off, total = motifs.layout(spec.sizes)
    if complete(spec):               # the only null network is the real one: nothing to draw
        samples = np.repeat(spec.packed[None], n if keep else 0, axis=0)
        raw = np.zeros((n if count else 0, motifs.N_RAW), dtype=np.int64)
        if count:
            motifs._count_packed(spec.packed, sizes, off, raw[0], 0)
            raw[1:] = raw[0]
        return samples, raw
    if model == "paper":
        return _paper_null(sizes, off, total, spec.edges, spec.bias_edges, int(n), int(seed), keep, count)
    return _degree_null(spec.packed, sizes, off, int(n), int(seed), float(burn_in_per_row),
                        float(trades_per_row), keep, count, DEGREE_BATCH)


def sample_null(masks: Sequence[np.ndarray], n: int, model: str = "paper", seed: int = 0,
                trades_per_row: float = 5.0, burn_in_per_row: float = 20.0, outputs: str = "live"
                ) -> list[list[np.ndarray]]:
    """``n`` null networks of a real network, each a list of ``bool`` masks in the full exchange layout.

    model: ``"paper"`` (the original's null) or ``"degree"`` (Curveball; ``trades_per_row`` and
    ``burn_in_per_row`` set its chain, ignored by ``paper``); outputs: which output neurons the null may wire
    (:data:`OUTPUT_RULES`; ``degree`` keeps every degree, so it never wires a cut-off output and both rules give
    the same samples). The real network is cleaned first. Deterministic for a given seed.
    """
    _check(n, model, seed, trades_per_row, burn_in_per_row, outputs)
    spec = prepare(masks, outputs)
    samples, _ = _run(spec, n, model, seed, trades_per_row, burn_in_per_row, keep=True, count=False)
    return [expand(spec, s) for s in samples]


def null_counts(masks: Sequence[np.ndarray], n: int, model: str = "paper", seed: int = 0,
                trades_per_row: float = 5.0, burn_in_per_row: float = 20.0, outputs: str = "live") -> np.ndarray:
    """Raw motif counts (int64 (n, 12), columns :data:`helpers.motifs.RAW`, both conventions) of the same ``n``
    null networks :func:`sample_null` returns for these arguments, without building them in memory.
    Select one convention with :func:`helpers.motifs.project`."""
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
    so the curve rises and levels off once the chain has mixed. Returns ``{"trades_per_row": float (n_points,),
    "fraction_changed": float (n_points,)}``.
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
    state = _new_state(int(seed))
    for k in range(1, len(x)):
        _curveball_run(state, cur, sizes, off, step)
        frac[k] = _weighted_difference(start, cur, sizes, off) / total_edges
    return {"trades_per_row": x, "fraction_changed": frac}

