"""Counter-based random streams for the compiled null models: SplitMix64 with an unbiased bounded draw.

A stream is a ``uint64`` array of shape ``(1,)`` holding a counter. Each draw (:func:`next_u64`) adds the
golden-ratio increment to the counter and returns the SplitMix64 finaliser (:func:`mix`, Steele, Lea & Flood
2014) of the new value: a uniform ``uint64``. :func:`below` turns draws into a uniform integer in
``[0, bound)`` without bias (Lemire's multiply-and-reject), and :func:`shuffle` into a uniform permutation.

Streams depend only on their seed, never on threads or timing: :func:`new_state` starts a stream from a seed,
and :func:`sample_state` gives sample ``index`` of a call with ``seed`` its own stream, so that samples drawn in
a parallel loop (one stream each) are the same on any number of threads.

All functions are numba kernels (``cache=True``); the per-draw ones are ``inline="always"`` and are compiled
into the kernels that call them (see ``helpers/__init__.py`` for why the compiled-kernel cache is keyed over
every module). Seeds are integers in ``[0, 2**64)``; callers check their ranges.
"""
from __future__ import annotations

import numba as nb
import numpy as np

_ONE = np.uint64(1)
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)
_LOW32 = np.uint64(0xFFFFFFFF)
_S27, _S30, _S31, _S32 = np.uint64(27), np.uint64(30), np.uint64(31), np.uint64(32)


@nb.njit(inline="always", cache=True)
def mix(z):
    """The SplitMix64 finaliser, a bijection of ``uint64`` that scrambles every bit.

    Parameters
    ----------
    z : uint64
        Input word.

    Returns
    -------
    uint64
        Its mix.
    """
    z = (z ^ (z >> _S30)) * _MIX1
    z = (z ^ (z >> _S27)) * _MIX2
    return z ^ (z >> _S31)


@nb.njit(inline="always", cache=True)
def next_u64(state):
    """Advance a stream by one step and return a uniform random word.

    Parameters
    ----------
    state : uint64 (1,)
        The stream; its counter is advanced in place.

    Returns
    -------
    uint64
        The next word of the stream.
    """
    state[0] += _GOLDEN
    return mix(state[0])


@nb.njit(inline="always", cache=True)
def below(state, bound):
    """A uniform integer in ``[0, bound)``, exactly (Lemire's rejection of the biased low part).

    Parameters
    ----------
    state : uint64 (1,)
        The stream; advanced in place by one or (rarely) more draws.
    bound : int
        Exclusive upper bound, ``1 <= bound < 2**32`` (not checked).

    Returns
    -------
    int64
        The draw.
    """
    b = np.uint64(bound)
    while True:
        m = (next_u64(state) >> _S32) * b
        low = m & _LOW32
        if low >= b:
            return np.int64(m >> _S32)
        t = ((_LOW32 + _ONE) - b) % b
        if low >= t:
            return np.int64(m >> _S32)


@nb.njit(cache=True)
def new_state(seed):
    """A fresh stream started from ``seed`` (one warm-up draw taken).

    Parameters
    ----------
    seed : int
        Seed, ``0 <= seed < 2**64``.

    Returns
    -------
    uint64 (1,)
        The stream.
    """
    state = np.zeros(1, dtype=np.uint64)
    state[0] = np.uint64(seed) * _MIX2 + _GOLDEN
    next_u64(state)
    return state


@nb.njit(cache=True)
def sample_state(seed, index):
    """The stream of sample ``index`` of a call with ``seed``: state = mix(mix(seed) + (index + 1) · MIX1).

    mix is a bijection of ``uint64`` and MIX1 is odd, so the indices of one seed get distinct start states.

    Parameters
    ----------
    seed : int
        Seed of the call, ``0 <= seed < 2**64``.
    index : int
        Index of the sample, ``0 <= index < 2**64 − 1``.

    Returns
    -------
    uint64 (1,)
        The stream.
    """
    state = np.zeros(1, dtype=np.uint64)
    h = mix(np.uint64(seed) * _MIX2 + _GOLDEN)
    state[0] = mix(h + (np.uint64(index) + _ONE) * _MIX1)
    return state


@nb.njit(inline="always", cache=True)
def shuffle(state, a, k):
    """Permute ``a[:k]`` uniformly at random in place (Fisher–Yates).

    Parameters
    ----------
    state : uint64 (1,)
        The stream; advanced in place.
    a : int64 (≥ k,)
        The array; its first ``k`` entries are permuted, the rest untouched.
    k : int
        Number of entries to permute, ``0 <= k < 2**32``.

    Returns
    -------
    None
    """
    for j in range(k - 1, 0, -1):
        t = below(state, j + 1)
        a[j], a[t] = a[t], a[j]
