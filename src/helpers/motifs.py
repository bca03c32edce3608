"""Exact motif counts of layered networks (chapter 5 of the book), in two conventions.

Motifs (k-th order = k edges on k+1 nodes): ``edges`` a→b; ``diverging2`` a→b, a→c; ``converging2`` a→c,
b→c; ``chain2`` a→b→c; ``diverging3`` a→{b,c,d}; ``converging3`` {a,b,c}→d; ``chain3`` a→b→c→d; ``bifan``
a→c, a→d, b→c, b→d; ``biparallel`` a→b1→c, a→b2→c. With outdeg/indeg over the binary masks (bias rows are
source nodes), ``A_i`` = m[i] without its bias row and C = binomial coefficient:

- edges = Σ nnz(m[i]); diverging2/3 = Σ_rows C(outdeg, 2/3); converging2 = Σ_cols C(indeg, 2);
- bifan = Σ_i Σ_{rows j<k of m[i]} C(G_jk, 2), G = m[i] m[i]ᵀ (shared targets). Evaluated through
  Σ_{j<k} C(G_jk, 2) = ¼ (‖m[i]ᵀm[i]‖_F² − Σ outdeg² − Σ indeg² + nnz) when the column Gram is smaller;
- P_i = m[i]·A_{i+1} (paths a→b→c; the bias of layer i may be the source, never the bias of layer i+1),
  biparallel = Σ_i Σ C(P_i[a, c], 2); Q_i = P_i·A_{i+2} (3-edge paths).

Conventions (chapter 5, "Two conventions: where they part"): ``paper`` (the original code, class ``Subgraphs``
in ``mothMotifs/counting_algorithms.py`` of ``oliviatessa/MothMotifs``): chain2 = Σ nnz(P_i), chain3 =
Σ nnz(Q_i) (reachable pairs, defect B2), converging3 = Σ over nodes with indeg ≥ 3 of C(indeg, 2) (defect B1).
``subgraph`` (standard): chain2 = Σ entries of P_i, chain3 = Σ entries of Q_i (paths), converging3 =
Σ C(indeg, 3). All counts are exact int64.

The kernels work on bit-packed rows (uint64 words, popcount; the primitives are in :mod:`helpers.bits`)
compiled with numba. A packed network is one flat ``uint64`` array: layer i occupies ``(n_i + 1) * w_i`` words
(row-major, ``w_i = ceil(n_{i+1} / 64)``, bit k of a row = column k) starting at ``offsets[i]``
(:func:`layout`, :func:`pack`, :func:`unpack`). :func:`count_packed` and :func:`count_into` are the compiled
entry points that other kernels (the null models of :mod:`helpers.nulls`) call on packed networks.
"""
from __future__ import annotations

from collections.abc import Sequence

import numba as nb
import numpy as np

from . import graph
from .checks import Spec
from .bits import ONE, ZERO, csr, popcount, row_popcounts, transpose, words

MOTIFS = ("edges", "diverging2", "converging2", "chain2", "diverging3", "converging3", "chain3", "bifan",
          "biparallel")
CONVENTIONS = ("paper", "subgraph")
#: How the book's text, tables and figures name each motif of :data:`MOTIFS`, and each convention.
LABELS = {"edges": "edges", "diverging2": "diverging (2nd)", "converging2": "converging (2nd)",
          "chain2": "chain (2nd)", "diverging3": "diverging (3rd)", "converging3": "converging (3rd)",
          "chain3": "chain (3rd)", "bifan": "bi-fan", "biparallel": "bi-parallel"}
#: Column heads for the two conventions (:data:`CONVENTIONS`).
CONVENTION_HEADS = {"paper": "original's count (chains as pairs)", "subgraph": "true count (chains as paths)"}

# Raw kernel output: 12 columns, both conventions at once.
RAW = ("edges", "diverging2", "converging2", "chain2_paper", "diverging3", "converging3_paper", "chain3_paper",
       "bifan", "biparallel", "chain2_subgraph", "converging3_subgraph", "chain3_subgraph")
N_RAW = len(RAW)
_KERNELS = {"auto": 0, "bits": 1, "lists": 2, "gram": 3}
#: Raw columns giving the 9 motifs of each convention, in :data:`MOTIFS` order.
PROJECTION = {"paper": np.array([0, 1, 2, 3, 4, 5, 6, 7, 8]),
              "subgraph": np.array([0, 1, 2, 9, 4, 10, 11, 7, 8])}


def layout(sizes: Sequence[int]) -> tuple[np.ndarray, np.ndarray, int]:
    """Packed layout of a network with neuron counts ``sizes`` = (n_0, ..., n_L).

    Layer i (the mask m[i], bias row last) takes ``(n_i + 1) * w_i`` words, ``w_i = ceil(n_{i+1} / 64)``, the
    layers one after another from word 0.

    Parameters
    ----------
    sizes : sequence of int
        Neuron counts (n_0, ..., n_L) of the layers, bias nodes not counted (:func:`helpers.graph.sizes`), at
        least two of them, each ≥ 0 (the compact sizes of :mod:`helpers.nulls` may hold a 0). Not checked.

    Returns
    -------
    n : ndarray, int64 (L + 1,)
        ``sizes`` as an array.
    offsets : ndarray, int64 (L,)
        Word offset of each layer in the packed array.
    total_words : int
        Length of the packed array (``total`` in the kernels' shapes).
    """
    n = np.asarray(sizes, dtype=np.int64)
    offsets = np.zeros(len(n) - 1, dtype=np.int64)
    total = 0
    for i in range(len(n) - 1):
        offsets[i] = total
        total += (int(n[i]) + 1) * words(int(n[i + 1]))
    return n, offsets, total


def pack(masks: Sequence[np.ndarray], validated: bool = False) -> np.ndarray:
    """Bit-pack a network (exchange layout) into the flat ``uint64`` layout of :func:`layout`.

    Parameters
    ----------
    masks : list of ndarray, bool or 0/1 (n_i + 1, n_{i+1})
        The network in the exchange layout of :mod:`helpers.graph` (chapter 5): one mask per layer, bias row last.
    validated : bool, default False
        True when ``masks`` are already the ``bool`` arrays of :func:`helpers.graph.validate` (they are then
        packed as given, unchecked); False checks them first.

    Returns
    -------
    ndarray, uint64 (total_words,)
        The packed network: row r of m[i] at words ``offsets[i] + r * w_i`` onwards, bit k of a row = column k.

    Raises
    ------
    ValueError
        Without ``validated``, when the masks are not in the exchange layout (:func:`helpers.graph.validate`).
    """
    m = list(masks) if validated else graph.validate(masks)
    parts = []
    for mi in m:
        w = words(mi.shape[1])
        padded = np.zeros((mi.shape[0], 64 * w), dtype=bool)
        padded[:, :mi.shape[1]] = mi
        parts.append(np.packbits(padded, axis=1, bitorder="little").view("<u8").astype(np.uint64).ravel())
    return np.concatenate(parts)


def unpack(data: np.ndarray, sizes: Sequence[int]) -> list[np.ndarray]:
    """Inverse of :func:`pack`: the ``bool`` masks of a packed network with neuron counts ``sizes``.

    Parameters
    ----------
    data : ndarray, uint64 (total_words,)
        A packed network (:func:`pack`), ``total_words`` as :func:`layout` gives for ``sizes``.
    sizes : sequence of int
        Neuron counts (n_0, ..., n_L) of the network, bias nodes not counted.

    Returns
    -------
    list of ndarray, bool (n_i + 1, n_{i+1})
        The masks in the exchange layout, bias row last (new arrays).

    Raises
    ------
    ValueError
        When ``data`` does not have the shape ``(total_words,)`` of the layout of ``sizes``.
    """
    n, off, total = layout(sizes)
    if data.shape != (total,):
        raise ValueError(f"packed network has shape {data.shape}, layout of sizes {tuple(sizes)} needs ({total},)")
    out = []
    for i in range(len(n) - 1):
        rows, cols, w = int(n[i]) + 1, int(n[i + 1]), words(int(n[i + 1]))
        block = np.ascontiguousarray(data[off[i]:off[i] + rows * w]).astype("<u8").view(np.uint8)
        bits = np.unpackbits(block.reshape(rows, 8 * w), axis=1, bitorder="little")
        out.append(bits[:, :cols].astype(bool))
    return out


@nb.njit(inline="always", cache=True)
def _four_rows(rows, q, m):
    """rows[q], …, rows[q + 3], the ones past the end m replaced by rows[m − 1] (callers skip those)."""
    return rows[q], rows[min(q + 1, m - 1)], rows[min(q + 2, m - 1)], rows[min(q + 3, m - 1)]


@nb.njit(inline="always", cache=True)
def _shared4(bits, r0, r1, r2, r3, other, c):
    """|row r_j of ``bits`` ∧ row c of ``other``| for j = 0…3: four rows share each loaded word of row c."""
    g0 = g1 = g2 = g3 = 0
    for k in range(bits.shape[1]):
        t = other[c, k]
        g0 += popcount(bits[r0, k] & t)
        g1 += popcount(bits[r1, k] & t)
        g2 += popcount(bits[r2, k] & t)
        g3 += popcount(bits[r3, k] & t)
    return g0, g1, g2, g3


@nb.njit(cache=True)
def _pair_sums(bits, deg, min_deg, G, store):
    """Σ_{x<y} C(G_xy, 2), G_xy = |row x ∧ row y|, over the packed rows of ``bits`` with degree ≥ ``min_deg``;
    with ``store`` (a compile-time constant) each G_xy also goes to G[y, x] (int32 (rows, rows), zero elsewhere).

    Four rows x are taken at a time against each later row y, so every word of row y loaded from memory
    serves four popcounts."""
    nb.literally(store)
    n = bits.shape[0]
    rows = np.empty(n, dtype=np.int64)
    m = 0
    for x in range(n):
        if deg[x] >= min_deg:
            rows[m] = x
            m += 1
    acc = 0
    for q in range(0, m, 4):
        x0, x1, x2, x3 = _four_rows(rows, q, m)
        for qy in range(q + 1, m):
            y = rows[qy]
            g0, g1, g2, g3 = _shared4(bits, x0, x1, x2, x3, bits, y)
            acc += _take_pair(g0, x0, y, G, store)               # pairs (x_j, y) with x_j before y only
            if qy > q + 1:
                acc += _take_pair(g1, x1, y, G, store)
            if qy > q + 2:
                acc += _take_pair(g2, x2, y, G, store)
            if qy > q + 3:
                acc += _take_pair(g3, x3, y, G, store)
    return acc


@nb.njit(inline="always", cache=True)
def _take_pair(g, x, y, G, store):
    """C(g, 2) of the pair x < y, storing g in G[y, x] if ``store``."""
    if store:
        G[y, x] = g
    return g * (g - 1) // 2


@nb.njit(cache=True)
def _pairs_bits(bits, deg):
    """Σ_{x<y} C(|row_x ∧ row_y|, 2) over the packed rows of ``bits`` (rows with degree < 2 add nothing)."""
    return _pair_sums(bits, deg, 2, np.zeros((0, 0), dtype=np.int32), False)


@nb.njit(cache=True)
def _pairs_lists(ptr_a, idx_a, ptr_b, idx_b, n):
    """Same sum from adjacency lists: a = x → its neighbours, b = neighbour → its x's (ascending)."""
    cnt = np.zeros(n, dtype=np.int64)
    acc = 0
    for x in range(n):
        if ptr_a[x + 1] - ptr_a[x] < 2:
            continue
        for q in range(ptr_a[x], ptr_a[x + 1]):
            y = idx_a[q]
            for q2 in range(ptr_b[y + 1] - 1, ptr_b[y] - 1, -1):
                z = idx_b[q2]
                if z <= x:
                    break
                cnt[z] += 1
        for z in range(x + 1, n):
            g = cnt[z]
            acc += g * (g - 1) // 2
            cnt[z] = 0
    return acc


@nb.njit(cache=True)
def _layer(data, n, off, i):
    """m[i] of a packed network: (bits (rows, w), outdeg (rows,), colsT (cols, wt) its columns packed, indeg
    (cols,)), rows = n_i + 1 (bias row last), cols = n_{i+1}."""
    rows = n[i] + 1
    cols = n[i + 1]
    w = (cols + 63) // 64
    bits = data[off[i]:off[i] + rows * w].reshape(rows, w)
    colsT = transpose(data, off[i], rows, cols)
    return bits, row_popcounts(bits), colsT, row_popcounts(colsT)


@nb.njit(cache=True)
def _bifan_plan(outdeg, indeg, w, wt, mode):
    """(estimated ns, kernel) of the cheapest bi-fan kernel of a layer: 0 / 1 popcount over row / column pairs,
    2 / 3 adjacency lists over rows / columns. Measured: ~0.6 ns per word pair (popcount, four rows per pass;
    rows² w / 2 of them), ~12 ns per adjacency-list step (about Σ deg² / 2 of them)."""
    rows2 = cols2n = sq_out = sq_in = 0
    for d in outdeg:
        sq_out += d * d
        rows2 += d >= 2
    for d in indeg:
        sq_in += d * d
        cols2n += d >= 2
    costs = np.array([0.3 * rows2 * rows2 * w, 0.3 * cols2n * cols2n * wt, 6.0 * sq_in, 6.0 * sq_out])
    if mode == 1:
        costs[2:] = np.inf
    elif mode == 2:
        costs[:2] = np.inf
    how = int(np.argmin(costs))
    return costs[how], how


@nb.njit(cache=True)
def _paths_plan(outdeg, indeg, outdeg2, cols2, w, mode):
    """(estimated ns, bit-parallel?) of the product P = m[i] · A_{i+1} in :func:`_count_paths`. Measured:
    ~0.85 ns per word pair (popcount, four rows per pass), ~20 ns per path increment plus a scan of P's row."""
    n_act = 0
    for d in outdeg:
        n_act += d > 0
    paths = 0
    for b in range(outdeg2.shape[0]):
        paths += indeg[b] * outdeg2[b]
    cost_bit = 0.85 * n_act * cols2 * w
    cost_list = 4.0 * (5 * paths + n_act * cols2)
    use_bits = (cost_bit <= cost_list) if mode == 0 else (mode == 1)
    return (cost_bit if use_bits else cost_list), use_bits


@nb.njit(cache=True)
def count_packed(data, n, off, out, mode):
    """Add the 12 raw counts (see :data:`RAW`) of one packed network to ``out``.

    mode 0 picks, per layer and per quantity, the cheapest kernel from the degrees; 1 forces bit-parallel
    (popcount) products, 2 adjacency lists, 3 the Gram route of :func:`_gram_store` wherever it applies (used by
    the tests). The Gram route counts, for a layer i, the bi-fans of layers i and i+1 and the bi-parallels
    i → i+1 → i+2 from two Gram matrices instead of the product P = m[i] · A_{i+1}; it pays off when both layers
    are large and dense (m[1] and m[2] of the paper network below ~85 % sparsity). Every mode gives the same
    counts.

    Parameters
    ----------
    data : uint64 (total,)
        The network, packed as in :func:`layout` / :func:`pack`.
    n : int64 (L + 1,)
        Neuron counts (n_0, ..., n_L), L ≥ 1 (``layout(sizes)[0]``).
    off : int64 (L,)
        Word offset of each layer in ``data`` (``layout(sizes)[1]``).
    out : int64 (12,)
        Accumulator: the counts are added to it in place (pass zeros for the counts alone).
    mode : int
        Kernel choice, 0 to 3 as above (:func:`count_raw` maps its ``kernel`` names to these).

    Returns
    -------
    None
        The counts are in ``out``. Nothing is checked: arrays that do not match the layout are undefined
        behaviour (:func:`count_raw` is the checked entry point).
    """
    L = n.shape[0] - 1
    sub = 0 if mode == 3 else mode                       # the kernels where the Gram route does not apply
    gram_prev = False
    H = np.zeros((1, 1), dtype=np.int32)
    nxt = _layer(data, n, off, 0)
    for i in range(L):
        bits, outdeg, colsT, indeg = nxt
        if i + 1 < L:
            nxt = _layer(data, n, off, i + 1)
        w = bits.shape[1]
        wt = colsT.shape[1]
        for d in outdeg:
            out[0] += d
            out[1] += d * (d - 1) // 2
            out[4] += d * (d - 1) * (d - 2) // 6
        for d in indeg:
            out[2] += d * (d - 1) // 2
            if d >= 3:
                out[5] += d * (d - 1) // 2
            out[10] += d * (d - 1) * (d - 2) // 6
        cost_bifan, how = _bifan_plan(outdeg, indeg, w, wt, sub)
        gram = False
        if i + 1 < L and not gram_prev and mode in (0, 3):
            gram = mode == 3
            if mode == 0:
                bits1, outdeg1, colsT1, indeg1 = nxt
                cost_bifan1, _ = _bifan_plan(outdeg1, indeg1, bits1.shape[1], colsT1.shape[1], 0)
                cost_paths, _ = _paths_plan(outdeg, indeg, outdeg1[:n[i + 1]], n[i + 2], w, 0)
                # two Gram passes (~0.9 ns per word pair: both store their Gram matrix) and the row unions of
                # _count_chains
                cost_gram = 0.45 * (n[i + 1] * n[i + 1] * wt + bits1.shape[0] * bits1.shape[0] * bits1.shape[1]) \
                    + 20.0 * (bits.shape[0] + n[i + 1]) * bits1.shape[1]
                gram = cost_gram < cost_bifan + cost_bifan1 + cost_paths
        # bi-fans = all-ones 2 × 2 submatrices, Σ over row pairs (or column pairs) of C(shared, 2)
        if gram_prev:                                    # this layer's row Gram closes the bi-parallels of i − 1
            bifan, bip = _gram_dot(bits, outdeg, H)
            out[7] += bifan
            out[8] += bip
        elif gram:
            H = np.zeros((n[i + 1], n[i + 1]), dtype=np.int32)
            out[7] += _gram_store(colsT, indeg, H)
        elif how == 0:
            out[7] += _pairs_bits(bits, outdeg)
        elif how == 1:
            out[7] += _pairs_bits(colsT, indeg)
        else:
            rptr, ridx = csr(bits, bits.shape[0])
            cptr, cidx = csr(colsT, colsT.shape[0])
            if how == 2:
                out[7] += _pairs_lists(rptr, ridx, cptr, cidx, bits.shape[0])
            else:
                out[7] += _pairs_lists(cptr, cidx, rptr, ridx, colsT.shape[0])
        gram_prev = gram
        if i + 1 >= L:
            continue
        if gram:
            _count_chains(data, n, off, i, bits, outdeg, indeg, out)
        else:
            _count_paths(data, n, off, i, bits, outdeg, indeg, out, sub)


@nb.njit(cache=True)
def _gram_store(colsT, indeg, H):
    """Σ_{x<y} C(G_xy, 2) over the packed rows of ``colsT`` (the columns of m[i]), storing G_xy = |col x ∧ col y|
    (sources shared by neurons x < y of layer i+1) in H[y, x] (int32 (n_{i+1}, n_{i+1}), zero elsewhere)."""
    return _pair_sums(colsT, indeg, 1, H, True)


@nb.njit(cache=True)
def _gram_dot(bits, outdeg, H):
    """(Σ_{x<y} C(G_xy, 2), Σ_{x<y<n} H[y, x] · G_xy) over the packed rows of ``bits`` = m[i+1] with
    G_xy = |row x ∧ row y| (targets shared by neurons x, y of layer i+1) and n = H.shape[0] (the bias row, last,
    is no intermediate). The first sum is the bi-fans of m[i+1]; the second the bi-parallels i → i+1 → i+2:
    a pair x < y with H[y, x] common sources and G_xy common targets closes H[y, x] · G_xy of them."""
    G = np.zeros((bits.shape[0], bits.shape[0]), dtype=np.int32)
    bifan = _pair_sums(bits, outdeg, 1, G, True)
    dot = 0
    for y in range(H.shape[0]):
        for x in range(y):
            dot += H[y, x] * G[y, x]
    return bifan, dot


@nb.njit(cache=True)
def _or_rows(bits, a, rowsets, full, acc):
    """acc = ∨ of rowsets[b] over the set bits b of row a of ``bits``; stops once acc equals ``full`` (the ∨ of
    all rowsets), which no further row can change."""
    acc[:] = ZERO
    for k in range(bits.shape[1]):
        x = bits[a, k]
        while x != ZERO:
            low = x & (~x + ONE)
            b = k * 64 + popcount(low - ONE)
            x ^= low
            same = True
            for t in range(acc.shape[0]):
                acc[t] |= rowsets[b, t]
                same &= acc[t] == full[t]
            if same:
                return


@nb.njit(cache=True)
def _union_all(rowsets):
    """∨ of all rows of a packed matrix: (words,) uint64."""
    full = np.zeros(rowsets.shape[1], dtype=np.uint64)
    for r in range(rowsets.shape[0]):
        full |= rowsets[r]
    return full


@nb.njit(cache=True)
def _union_sizes(bits, outdeg, rowsets):
    """Σ over the rows a of ``bits`` with outdeg_a > 0 of |∨_{b ∈ row a} rowsets[b]|: the pairs (a, c) joined
    through a node b of the next layer."""
    full = _union_all(rowsets)
    acc = np.zeros(rowsets.shape[1], dtype=np.uint64)
    total = 0
    for a in range(bits.shape[0]):
        if outdeg[a] > 0:
            _or_rows(bits, a, rowsets, full, acc)
            for k in range(acc.shape[0]):
                total += popcount(acc[k])
    return total


@nb.njit(cache=True)
def _count_chains(data, n, off, i, bits, outdeg, indeg, out):
    """The path motifs starting in layer i except bi-parallels (counted by the Gram route), without P:
    2-edge paths Σ_b indeg_b · outdeg2_b; reachable pairs Σ_a |∨_{b ∈ row a} row b of A_{i+1}|; pairs joined by
    a 3-edge path Σ_a |∨_{b ∈ row a} R_b| with R_b = ∨_{c ∈ row b of A_{i+1}} row c of A_{i+2}; 3-edge paths
    Σ_b indeg_b · Σ_{c ∈ row b of A_{i+1}} outdeg3_c, the inner sum read bit-plane by bit-plane of outdeg3."""
    L = n.shape[0] - 1
    mid = n[i + 1]
    cols2 = n[i + 2]
    w2 = (cols2 + 63) // 64
    bits2 = data[off[i + 1]:off[i + 1] + mid * w2].reshape(mid, w2)     # A_{i+1}: bias row left out
    outdeg2 = row_popcounts(bits2)
    for b in range(mid):
        out[9] += indeg[b] * outdeg2[b]
    out[3] += _union_sizes(bits, outdeg, bits2)
    if i + 2 >= L:
        return
    w3 = (n[i + 3] + 63) // 64
    bits3 = data[off[i + 2]:off[i + 2] + cols2 * w3].reshape(cols2, w3)  # A_{i+2}
    outdeg3 = row_popcounts(bits3)
    reach2 = np.zeros((mid, w3), dtype=np.uint64)
    full3 = _union_all(bits3)
    for b in range(mid):
        _or_rows(bits2, b, bits3, full3, reach2[b])
    out[6] += _union_sizes(bits, outdeg, reach2)
    top = 0
    for d in outdeg3:
        while (np.int64(1) << top) <= d:
            top += 1
    planes = np.zeros((top, w2), dtype=np.uint64)        # bit p of outdeg3_c, packed over c
    for c in range(cols2):
        for p in range(top):
            if (outdeg3[c] >> p) & 1:
                planes[p, c >> 6] |= ONE << np.uint64(c & 63)
    for b in range(mid):
        s = 0
        for p in range(top):
            for k in range(w2):
                s += popcount(bits2[b, k] & planes[p, k]) << p
        out[11] += indeg[b] * s


@nb.njit(inline="always", cache=True)
def _path_cell(v, c, outdeg3, bits3, reach, out):
    """Add one entry P[a, c] = v > 0 of a source a: a reachable pair, C(v, 2) bi-parallels and v · outdeg3_c
    3-edge paths; row c of A_{i+2} joins a's 3-step reach (``reach``, w3 words)."""
    out[3] += 1
    out[8] += v * (v - 1) // 2
    out[11] += v * outdeg3[c]
    for k in range(bits3.shape[1]):
        reach[k] |= bits3[c, k]


@nb.njit(cache=True)
def _count_paths(data, n, off, i, bits, outdeg, indeg, out, mode):
    """Add the path motifs that start in layer i: sources a (rows of m[i], bias included) → b (neurons of layer
    i+1) → c (neurons of layer i+2) → d (neurons of layer i+3). ``bits``: m[i] packed; ``outdeg``/``indeg``: its
    row / column degrees.

    2-edge paths Σ_{a,c} P[a, c] = Σ_b indeg_b · outdeg2_b come from degrees; everything else from the rows of
    P = m[i] · A_{i+1}: bi-parallels Σ C(P[a, c], 2), reachable pairs nnz(P), 3-edge paths Σ P[a, c] · outdeg3_c
    and pairs joined by a 3-edge path Σ_a popcount(∨_{c: P[a, c] > 0} row c of A_{i+2}). P is computed
    bit-parallel (popcount of row a ∧ column c) or from adjacency lists, whichever is cheaper (``mode`` as in
    :func:`count_packed`).
    """
    L = n.shape[0] - 1
    rows = n[i] + 1
    mid = n[i + 1]
    cols2 = n[i + 2]
    w = (mid + 63) // 64
    w2 = (cols2 + 63) // 64
    start2 = off[i + 1]
    bits2 = data[start2:start2 + mid * w2].reshape(mid, w2)          # A_{i+1}: bias row left out
    outdeg2 = row_popcounts(bits2)
    has3 = i + 2 < L
    w3 = (n[i + 3] + 63) // 64 if has3 else 1
    bits3 = np.zeros((cols2, w3), dtype=np.uint64)                   # A_{i+2} (zeros if there is none)
    if has3:
        start3 = off[i + 2]
        bits3 = data[start3:start3 + cols2 * w3].reshape(cols2, w3)
    outdeg3 = row_popcounts(bits3)
    paths = 0
    for b in range(mid):
        paths += indeg[b] * outdeg2[b]
    out[9] += paths
    act = np.empty(rows, dtype=np.int64)                              # sources with an outgoing edge
    n_act = 0
    for a in range(rows):
        if outdeg[a] > 0:
            act[n_act] = a
            n_act += 1
    act = act[:n_act]
    if _paths_plan(outdeg, indeg, outdeg2, cols2, w, mode)[1]:
        _paths_bits(bits, transpose(data, start2, mid, cols2), act, bits3, outdeg3, has3, out)
        return
    rptr, ridx = csr(bits, rows)
    ptr2, idx2 = csr(bits2, mid)
    p = np.zeros(cols2, dtype=np.int64)
    reach = np.zeros(w3, dtype=np.uint64)
    for a in act:
        for q in range(rptr[a], rptr[a + 1]):
            b = ridx[q]
            for q2 in range(ptr2[b], ptr2[b + 1]):
                p[idx2[q2]] += 1
        reach[:] = ZERO
        for c in range(cols2):
            if p[c] > 0:
                _path_cell(p[c], c, outdeg3, bits3, reach, out)
                p[c] = 0
        if has3:
            for k in range(w3):
                out[6] += popcount(reach[k])


@nb.njit(cache=True)
def _paths_bits(bits, aT, act, bits3, outdeg3, has3, out):
    """The row statistics of P (see :func:`_count_paths`) with P[a, c] = popcount(row a of ``bits`` ∧ row c of
    ``aT``) (aT: the columns of A_{i+1} packed over layer i+1), for the sources ``act``. Four rows a at a time
    share every word of aT loaded from memory. The sums over the entries are branch-free: an entry 0 adds 0 to
    each, and its row of A_{i+2} is masked out of the 3-step reach (a branch per entry costs more than the
    popcounts at most densities)."""
    n_act = act.shape[0]
    cols2 = aT.shape[0]
    w3 = bits3.shape[1]
    reach = np.zeros((4, w3), dtype=np.uint64)
    for q in range(0, n_act, 4):
        a0, a1, a2, a3 = _four_rows(act, q, n_act)
        reach[:] = ZERO
        n0 = n1 = n2 = n3 = 0                      # reachable pairs: entries > 0
        b0 = b1 = b2 = b3 = 0                      # twice the bi-parallels: Σ v (v − 1)
        p0 = p1 = p2 = p3 = 0                      # 3-edge paths: Σ v · outdeg3_c
        for c in range(cols2):
            v0, v1, v2, v3 = _shared4(bits, a0, a1, a2, a3, aT, c)
            o = outdeg3[c]
            n0 += v0 > 0
            n1 += v1 > 0
            n2 += v2 > 0
            n3 += v3 > 0
            b0 += v0 * (v0 - 1)
            b1 += v1 * (v1 - 1)
            b2 += v2 * (v2 - 1)
            b3 += v3 * (v3 - 1)
            p0 += v0 * o
            p1 += v1 * o
            p2 += v2 * o
            p3 += v3 * o
            m0 = ZERO - np.uint64(v0 > 0)
            m1 = ZERO - np.uint64(v1 > 0)
            m2 = ZERO - np.uint64(v2 > 0)
            m3 = ZERO - np.uint64(v3 > 0)
            for k in range(w3):
                x = bits3[c, k]
                reach[0, k] |= x & m0
                reach[1, k] |= x & m1
                reach[2, k] |= x & m2
                reach[3, k] |= x & m3
        sums = ((n0, b0, p0), (n1, b1, p1), (n2, b2, p2), (n3, b3, p3))
        for j in range(min(4, n_act - q)):          # past the end, a1..a3 repeat a row: not counted
            out[3] += sums[j][0]
            out[8] += sums[j][1] // 2
            out[11] += sums[j][2]
            if has3:
                for k in range(w3):
                    out[6] += popcount(reach[j, k])


@nb.njit(cache=True, parallel=True)
def count_into(data, n, off, out, mode):
    """Add the raw counts of many packed networks of one layout to ``out``, in parallel.

    One network per iteration of a parallel loop over all numba threads; each iteration writes only its own
    row of ``out``, so the result does not depend on the thread count.

    Parameters
    ----------
    data : uint64 (N, total)
        The networks, each packed as in :func:`layout` / :func:`pack`.
    n : int64 (L + 1,)
        Neuron counts (``layout(sizes)[0]``).
    off : int64 (L,)
        Word offsets of the layers (``layout(sizes)[1]``).
    out : int64 (N, 12)
        Accumulator: row s gets the :data:`RAW` counts of network s added in place.
    mode : int
        Kernel choice as in :func:`count_packed`.

    Returns
    -------
    None
        The counts are in ``out``; nothing is checked (see :func:`count_packed`).
    """
    for s in nb.prange(data.shape[0]):
        count_packed(data[s], n, off, out[s], mode)


@nb.njit(cache=True)
def _count_batch(data, n, off, mode):
    """Raw counts of a batch of packed networks: data (N, total) uint64 → (N, 12) int64."""
    res = np.zeros((data.shape[0], 12), dtype=np.int64)
    count_into(data, n, off, res, mode)
    return res


def project(raw: np.ndarray, convention: str) -> np.ndarray:
    """Select the 9 motif columns (MOTIFS order) of one convention from raw (..., 12) counts.

    Parameters
    ----------
    raw : array_like, int64 (..., 12)
        Raw counts, last axis in :data:`RAW` order (:func:`count_raw`, :func:`count_packed`,
        :func:`helpers.nulls.null_counts`).
    convention : {"paper", "subgraph"}
        Which convention's columns to take (:data:`CONVENTIONS`; :data:`PROJECTION` lists them).

    Returns
    -------
    ndarray, dtype of ``raw`` (..., 9)
        The counts in :data:`MOTIFS` order (a new array).

    Raises
    ------
    ValueError
        When ``convention`` is not one of :data:`CONVENTIONS` (:class:`helpers.checks.Spec`).
    """
    Spec(str, choices=CONVENTIONS).check("convention", convention)
    return np.asarray(raw)[..., PROJECTION[convention]]


def count_raw(masks: Sequence[np.ndarray], kernel: str = "auto") -> np.ndarray:
    """The 12 raw counts (names in ``RAW``) of one network: int64 (12,).

    The checked entry point to :func:`count_packed`; the network is counted as given (no cleaning).

    Parameters
    ----------
    masks : list of ndarray, bool or 0/1 (n_i + 1, n_{i+1})
        The network in the exchange layout (chapter 5): one mask per layer, bias row last.
    kernel : {"auto", "bits", "lists", "gram"}, default "auto"
        ``"auto"`` (cheapest per layer), ``"bits"`` (popcount over packed rows), ``"lists"`` (adjacency
        lists) or ``"gram"`` (the Gram route of :func:`count_packed` wherever it applies); all give identical
        counts (``mode`` 0 to 3 of :func:`count_packed`).

    Returns
    -------
    ndarray, int64 (12,)
        Both conventions' counts, in :data:`RAW` order (:func:`project` selects one convention).

    Raises
    ------
    ValueError
        When ``kernel`` is none of the four names (:class:`helpers.checks.Spec`), or the masks are not in the
        exchange layout (:func:`helpers.graph.validate`).
    """
    Spec(str, choices=tuple(_KERNELS)).check("kernel", kernel)
    m = graph.validate(masks)
    n, off, _ = layout(graph.sizes(m))
    out = np.zeros(N_RAW, dtype=np.int64)
    count_packed(pack(m, validated=True), n, off, out, _KERNELS[kernel])
    return out


def count_motifs(masks: Sequence[np.ndarray], convention: str = "paper") -> dict:
    """Exact motif counts of one network (exchange layout, chapter 5).

    The network is counted as given (call :func:`helpers.graph.clean` first to drop ghost/dead nodes).

    Parameters
    ----------
    masks : list of ndarray, bool or 0/1 (n_i + 1, n_{i+1})
        The network in the exchange layout of :mod:`helpers.graph`: one mask per layer, bias row last.
    convention : {"paper", "subgraph", "both"}, default "paper"
        ``"paper"`` (the original's counts) or ``"subgraph"`` (standard subgraph counts), see the module doc;
        ``"both"`` gives both from one pass (the conventions share every kernel).

    Returns
    -------
    dict
        ``"paper"`` or ``"subgraph"`` → ``{motif: int}`` in :data:`MOTIFS` order; ``"both"`` →
        ``{"paper": {...}, "subgraph": {...}}``.

    Raises
    ------
    ValueError
        When ``convention`` is none of the three (:class:`helpers.checks.Spec`), or the masks are not in the
        exchange layout (:func:`helpers.graph.validate`).
    """
    Spec(str, choices=CONVENTIONS + ("both",)).check("convention", convention)
    raw = count_raw(masks)
    if convention == "both":
        return {c: dict(zip(MOTIFS, (int(v) for v in project(raw, c)))) for c in CONVENTIONS}
    return dict(zip(MOTIFS, (int(v) for v in project(raw, convention))))


def count_many(networks: Sequence[Sequence[np.ndarray]], convention: str = "paper"):
    """Counts of many networks of the same sizes in one compiled call.

    The networks are counted in parallel (:func:`count_into`, kernels chosen as by ``kernel="auto"``), each as
    given (no cleaning); the counts equal those of :func:`count_motifs` network by network.

    Parameters
    ----------
    networks : sequence of list of ndarray, bool or 0/1 (n_i + 1, n_{i+1})
        N ≥ 1 networks in the exchange layout (chapter 5), all with the same layer sizes.
    convention : {"paper", "subgraph", "both"}, default "paper"
        Which convention's counts (see :func:`count_motifs`).

    Returns
    -------
    ndarray, int64 (N, 9) or dict
        int64 (N, 9) in :data:`MOTIFS` order, row k for network k, or for ``convention="both"`` a dict
        ``{"paper": (N, 9), "subgraph": (N, 9)}``.

    Raises
    ------
    ValueError
        When ``convention`` is none of the three (:class:`helpers.checks.Spec`), ``networks`` is empty, a network
        is not in the exchange layout (:func:`helpers.graph.validate`) or its sizes differ from network 0's.
    """
    Spec(str, choices=CONVENTIONS + ("both",)).check("convention", convention)
    networks = list(networks)
    if not networks:
        raise ValueError("networks is empty")
    checked = [graph.validate(net) for net in networks]
    shape0 = graph.sizes(checked[0])
    for k, net in enumerate(checked):
        if graph.sizes(net) != shape0:
            raise ValueError(f"network {k} has sizes {graph.sizes(net)}, network 0 has {shape0}")
    n, off, _ = layout(shape0)
    data = np.stack([pack(net, validated=True) for net in checked])
    raw = _count_batch(data, n, off, 0)
    if convention == "both":
        return {c: project(raw, c) for c in CONVENTIONS}
    return project(raw, convention)
