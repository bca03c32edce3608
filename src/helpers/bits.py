"""Bit-packed boolean matrices: the word-level primitives under the motif counts and the null models.

Format. A boolean matrix of ``rows × cols`` is stored as ``rows`` rows of ``w = ceil(cols / 64)`` ``uint64``
words (:func:`words`), row-major; bit ``k`` of word ``j`` of a row (least significant bit first) is column
``64 j + k``, and the bits past column ``cols − 1`` of a row's last word are zero. The kernels take either a
2-D ``uint64`` array of shape ``(rows, w)`` or a block inside a flat ``uint64`` array that starts at word
``start`` (row ``r`` occupies words ``start + r w`` to ``start + r w + w − 1``); the flat form is how a whole
network is stored, one such block per layer (see :func:`helpers.motifs.layout`).

Units. Every count (popcount, degree, index) is an ``int64``; bit operations are on ``uint64`` only, with the
constants :data:`ONE` and :data:`ZERO` and shift amounts cast to ``uint64`` (numba would otherwise promote a
mix of ``uint64`` and ``int64`` to ``float64``).

All kernels are compiled with numba (``cache=True``); those marked ``inline="always"`` are inlined into the
kernels that call them, also across modules (numba compiles a callee into its caller, which is why
``helpers/__init__.py`` keys the compiled-kernel cache over every module). Nothing here checks its
arguments: out-of-range rows, columns or words are undefined behaviour, as in any compiled inner loop.
"""
from __future__ import annotations

import numba as nb
import numpy as np

#: 1 and 0 as ``uint64``, for bit operations that must stay unsigned in numba.
ONE = np.uint64(1)
ZERO = np.uint64(0)

_M1 = np.uint64(0x5555555555555555)
_M2 = np.uint64(0x3333333333333333)
_M4 = np.uint64(0x0F0F0F0F0F0F0F0F)
_H01 = np.uint64(0x0101010101010101)
_S1, _S2, _S4, _S56 = np.uint64(1), np.uint64(2), np.uint64(4), np.uint64(56)


def words(n: int) -> int:
    """Words of a packed row of ``n`` columns.

    Parameters
    ----------
    n : int
        Number of columns (bits), ``n >= 0``.

    Returns
    -------
    int
        ``ceil(n / 64)``.
    """
    return (n + 63) // 64


@nb.njit(inline="always", cache=True)
def popcount(x):
    """Number of set bits of one word (SWAR, Warren, *Hacker's Delight*, §5-1).

    Parameters
    ----------
    x : uint64
        The word.

    Returns
    -------
    int64
        Its number of set bits, 0 to 64.
    """
    x = x - ((x >> _S1) & _M1)
    x = (x & _M2) + ((x >> _S2) & _M2)
    x = (x + (x >> _S4)) & _M4
    return np.int64((x * _H01) >> _S56)


@nb.njit(cache=True)
def row_popcounts(bits):
    """Set bits per row of a packed matrix: the out-degrees of its rows.

    Parameters
    ----------
    bits : uint64 (rows, w)
        A packed matrix.

    Returns
    -------
    int64 (rows,)
        Set bits of each row.
    """
    out = np.zeros(bits.shape[0], dtype=np.int64)
    for r in range(bits.shape[0]):
        d = 0
        for k in range(bits.shape[1]):
            d += popcount(bits[r, k])
        out[r] = d
    return out


@nb.njit(inline="always", cache=True)
def transpose64(a):
    """Transpose a 64 × 64 bit matrix in place: bit c of a[r] ↔ bit r of a[c].

    Six rounds swap the off-diagonal blocks of 32, 16, …, 1 bits (Warren, *Hacker's Delight*, §7-3).

    Parameters
    ----------
    a : uint64 (64,)
        Row r of the matrix is word a[r]; overwritten by the transpose.

    Returns
    -------
    None
    """
    j = 32
    m = np.uint64(0x00000000FFFFFFFF)
    while j != 0:
        sj = np.uint64(j)
        k = 0
        while k < 64:
            t = ((a[k] >> sj) ^ a[k + j]) & m
            a[k + j] ^= t
            a[k] ^= t << sj
            k = (k + j + 1) & ~j
        j >>= 1
        m ^= m << np.uint64(j)


@nb.njit(cache=True)
def transpose(data, start, rows, cols):
    """The columns of a packed block as packed rows, transposed 64 × 64 bits at a time.

    Parameters
    ----------
    data : uint64 (total,)
        Flat array holding the block.
    start : int
        Word offset of the block in ``data``.
    rows, cols : int
        Shape of the block; its rows are ``ceil(cols / 64)`` words wide.

    Returns
    -------
    uint64 (cols, ceil(rows / 64))
        Row c holds column c of the block (bit r = row r).
    """
    w = (cols + 63) // 64
    wt = (rows + 63) // 64
    out = np.zeros((cols, wt), dtype=np.uint64)
    block = np.empty(64, dtype=np.uint64)
    for rb in range(wt):
        r0 = rb * 64
        nr = min(64, rows - r0)
        for k in range(w):
            for r in range(nr):
                block[r] = data[start + (r0 + r) * w + k]
            block[nr:] = ZERO
            transpose64(block)
            for c in range(min(64, cols - k * 64)):
                out[k * 64 + c, rb] = block[c]
    return out


@nb.njit(cache=True)
def csr(bits, rows):
    """Adjacency lists (compressed sparse rows) of the first ``rows`` rows of a packed matrix.

    Parameters
    ----------
    bits : uint64 (≥ rows, w)
        A packed matrix.
    rows : int
        Number of rows to convert.

    Returns
    -------
    ptr : int64 (rows + 1,)
        Row r's columns are ``idx[ptr[r]:ptr[r + 1]]``.
    idx : int64 (nnz,)
        Column indices, ascending within each row.
    """
    w = bits.shape[1]
    ptr = np.zeros(rows + 1, dtype=np.int64)
    for r in range(rows):
        s = 0
        for k in range(w):
            s += popcount(bits[r, k])
        ptr[r + 1] = ptr[r] + s
    idx = np.empty(ptr[rows], dtype=np.int64)
    for r in range(rows):
        q = ptr[r]
        for k in range(w):
            x = bits[r, k]
            while x != ZERO:
                low = x & (~x + ONE)
                idx[q] = k * 64 + popcount(low - ONE)
                q += 1
                x ^= low
    return ptr, idx


@nb.njit(inline="always", cache=True)
def setbit(data, start, w, r, c):
    """Set entry (r, c) of the packed block at ``data[start:]`` (rows of ``w`` words).

    Parameters
    ----------
    data, start, w, r, c
        As in :func:`getbit`; ``data`` is modified in place.

    Returns
    -------
    None
    """
    data[start + r * w + (c >> 6)] |= ONE << np.uint64(c & 63)


@nb.njit(inline="always", cache=True)
def getbit(data, start, w, r, c):
    """Entry (r, c) of the packed block at ``data[start:]`` (rows of ``w`` words).

    Parameters
    ----------
    data : uint64 (total,)
        Flat array holding the block.
    start : int
        Word offset of the block.
    w : int
        Words per row.
    r, c : int
        Row and column.

    Returns
    -------
    uint64
        :data:`ONE` if the entry is set, else :data:`ZERO`.
    """
    return (data[start + r * w + (c >> 6)] >> np.uint64(c & 63)) & ONE


@nb.njit(inline="always", cache=True)
def clearbit(data, start, w, r, c):
    """Clear entry (r, c) of the packed block at ``data[start:]``: the inverse of :func:`setbit`.

    Parameters
    ----------
    data : uint64 (total,)
        Flat array holding the block; the bit is cleared in place.
    start, w, r, c : int
        Word offset of the block, words per row, row and column, as in :func:`getbit`.

    Returns
    -------
    None
    """
    data[start + r * w + (c >> 6)] &= ~(ONE << np.uint64(c & 63))
