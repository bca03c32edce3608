"""Motif Z-scores and significance profiles of real networks against null ensembles (chapter 6).

Z = (N_real − mean N_null) / sd N_null with the sample sd (ddof = 1) over the null networks (Milo et al. 2002);
Z is NaN (missing), never ±inf, when sd = 0. The significance profile SP = Z / ‖Z‖ (Milo et al. 2004) uses the
defined Zs of every motif except ``edges`` (the null keeps the edge count, so its Z is always undefined); SP is
NaN where Z is, and everywhere when no Z is defined or all are 0.
"""
from __future__ import annotations

import zlib
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from . import graph, motifs, nulls
from .checks import MAX_SEED, Spec

COLUMNS = ("real", "null_mean", "null_sd", "z", "sp")


def table(real: np.ndarray, null: np.ndarray) -> pd.DataFrame:
    """Z-score table (as :func:`zscores` returns it) from the real and null counts of one convention.

    Z and SP as the module doc defines them: sample sd (ddof = 1), Z NaN where sd = 0, ``edges`` left out of
    the profile.

    Parameters
    ----------
    real : ndarray, int (9,)
        The real network's motif counts, motifs in :data:`helpers.motifs.MOTIFS` order (one convention of
        :func:`helpers.motifs.project`).
    null : ndarray, int (n, 9)
        The n null networks' counts, same convention and order; with n < 2 every sd, Z and SP is NaN.

    Returns
    -------
    pandas.DataFrame
        Indexed by ``motif`` (the 9 motifs of :data:`helpers.motifs.MOTIFS`, in order), columns ``real``
        (int64), ``null_mean``, ``null_sd`` (ddof = 1), ``z`` and ``sp`` (float64; ``sp`` is NaN for ``edges``).
    """
    real_f = real.astype(np.float64)
    null_f = null.astype(np.float64)
    mean = null_f.mean(axis=0)
    sd = null_f.std(axis=0, ddof=1) if len(null_f) > 1 else np.full(len(real_f), np.nan)
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(sd > 0, (real_f - mean) / np.where(sd > 0, sd, 1.0), np.nan)
    profile = z.copy()
    profile[0] = np.nan                                   # edges never enters the profile
    norm = np.sqrt(np.nansum(profile ** 2))
    sp = profile / norm if norm > 0 else np.full_like(profile, np.nan)
    return pd.DataFrame({"real": real.astype(np.int64), "null_mean": mean, "null_sd": sd, "z": z, "sp": sp},
                        index=pd.Index(motifs.MOTIFS, name="motif"))


#: The arguments every Z-score function takes.
N_NULL = Spec(int, 2, None, doc="the sample sd needs two null networks")
NULL = Spec(str, choices=nulls.MODELS)
SEED = Spec(int, 0, MAX_SEED)
CONVENTION = Spec(str, choices=motifs.CONVENTIONS)


def _check_common(n_null, null, seed):
    N_NULL.check("n_null", n_null)
    NULL.check("null", null)
    SEED.check("seed", seed)


def zscores(masks: Sequence[np.ndarray], n_null: int = 1000, null: str = "paper", convention: str = "paper",
            seed: int = 0, return_null_counts: bool = False, **null_options):
    """Motif Z-scores of one network against ``n_null`` null networks.

    The network is cleaned first (ghost and dead nodes removed), and the real counts are those of the cleaned
    network; the nulls are drawn from the cleaned network too. Deterministic for a given seed.

    Parameters
    ----------
    masks : sequence of ndarray, bool or 0/1 (n_i + 1, n_{i+1})
        The network in the exchange layout (:mod:`helpers.graph`, bias row last).
    n_null : int
        Number of null networks, ≥ 2 (the sample sd needs two).
    null : {"paper", "degree"}
        The null model (:data:`helpers.nulls.MODELS`, see :mod:`helpers.nulls`).
    convention : {"paper", "subgraph"}
        The counting convention (:data:`helpers.motifs.CONVENTIONS`).
    seed : int
        Seed of the null sample, in [0, 2**32 − 1].
    return_null_counts : bool
        Also return the null networks' counts.
    **null_options
        Further keywords of :func:`helpers.nulls.null_counts`: ``trades_per_row`` and ``burn_in_per_row`` (the
        degree model's chain; ignored by ``paper``) and ``outputs`` (``"live"`` or ``"all"``).

    Returns
    -------
    table : pandas.DataFrame
        Indexed by ``motif`` (:data:`helpers.motifs.MOTIFS` order), columns ``real`` (int64), ``null_mean``,
        ``null_sd`` (ddof = 1), ``z``, ``sp`` (float64), as :func:`table` computes them.
    null_counts : ndarray, int64 (n_null, 9)
        Only with ``return_null_counts``: the null networks' counts in ``convention``, columns in
        :data:`helpers.motifs.MOTIFS` order; ``(table, null_counts)`` is returned then.

    Raises
    ------
    ValueError
        Naming the parameter for a bad ``n_null``, ``null``, ``seed`` or ``convention``
        (:class:`helpers.checks.Spec`); from :func:`helpers.graph.clean` for masks not in the exchange layout,
        and from :func:`helpers.nulls.null_counts` for a bad ``null_options`` value.
    """
    _check_common(n_null, null, seed)
    CONVENTION.check("convention", convention)
    cleaned = graph.clean(masks)
    real = motifs.project(motifs.count_raw(cleaned), convention)
    null_counts = motifs.project(nulls.null_counts(cleaned, n_null, null, seed, **null_options), convention)
    result = table(real, null_counts)
    return (result, null_counts) if return_null_counts else result


def derive_seed(seed: int, network, sparsity: float) -> int:
    """A 32-bit seed for one (network, sparsity) pair, independent of which other pairs are analysed.

    The seed is drawn from a :class:`numpy.random.SeedSequence` of the master seed, the CRC-32 of
    ``repr(network)`` and the sparsity in millionths.

    Parameters
    ----------
    seed : int
        The master seed, ≥ 0.
    network : any
        The network's identifier, keyed by its ``repr``; a numpy integer counts as the Python ``int`` of the same
        value (under NumPy 2 ``repr(numpy.int64(3))`` is ``"np.int64(3)"``, and a network must get one seed
        whichever integer type indexes it).
    sparsity : float
        The pruning level, rounded to 1e-6 (levels closer than that share a seed).

    Returns
    -------
    int
        A seed in [0, 2**32).

    Raises
    ------
    ValueError
        From :class:`numpy.random.SeedSequence` for a negative ``seed``.
    """
    if isinstance(network, np.integer):
        network = int(network)
    key = zlib.crc32(repr(network).encode())
    level = int(round(float(sparsity) * 1_000_000))
    return int(np.random.SeedSequence([int(seed), key, level]).generate_state(1)[0])


def sweep(networks: Mapping[tuple, Sequence[np.ndarray]], n_null: int = 1000, null: str = "paper", seed: int = 0,
          conventions: Sequence[str] = motifs.CONVENTIONS, progress: bool = False, **null_options) -> pd.DataFrame:
    """Z-scores of many networks, e.g. every ensemble member at every pruning level.

    Each pair gets its own seed from :func:`derive_seed`, so a pair's result does not depend on the other pairs.
    The null networks are drawn and counted once per pair; every convention is read from that one pass. The
    arguments (all but ``null_options``) and every network are validated before any work is done.

    Parameters
    ----------
    networks : mapping of (network_id, float) to sequence of ndarray
        ``{(network_id, sparsity): masks}``, masks bool or 0/1 ``(n_i + 1, n_{i+1})`` in the exchange layout
        (:mod:`helpers.graph`, bias row last); each network is cleaned before it is counted.
    n_null : int
        Null networks per pair, ≥ 2 (the sample sd needs two).
    null : {"paper", "degree"}
        The null model (:data:`helpers.nulls.MODELS`).
    seed : int
        The master seed, in [0, 2**32 − 1] (:func:`derive_seed`).
    conventions : sequence of str
        At least one of ``"paper"``, ``"subgraph"`` (:data:`helpers.motifs.CONVENTIONS`, the default: both).
    progress : bool
        Show a ``tqdm`` progress bar over the pairs.
    **null_options
        Further keywords of :func:`helpers.nulls.null_counts` (``trades_per_row``, ``burn_in_per_row``,
        ``outputs``), as for :func:`zscores`.

    Returns
    -------
    pandas.DataFrame
        A long table, one row per pair × convention × motif (pairs in the mapping's order, motifs in
        :data:`helpers.motifs.MOTIFS` order), columns ``network``, ``sparsity`` (float), ``convention``,
        ``motif``, ``real`` (int64), ``null_mean``, ``null_sd``, ``z``, ``sp`` (float64; as :func:`table`); no
        rows for an empty mapping.

    Raises
    ------
    ValueError
        Naming the parameter for a bad ``n_null``, ``null``, ``seed`` or convention, or an empty ``conventions``;
        for a key that is not a ``(network_id, sparsity)`` tuple; naming the key for masks not in the exchange
        layout (:func:`helpers.graph.validate`); and from :func:`helpers.nulls.null_counts` for a bad
        ``null_options`` value.
    """
    _check_common(n_null, null, seed)
    conventions = tuple(conventions)
    if not conventions:
        raise ValueError("parameter 'conventions' = () is invalid: it must name at least one convention")
    for convention in conventions:
        CONVENTION.check("conventions", convention)
    items = list(networks.items())
    for key, masks in items:                                # validate everything before any work
        if not (isinstance(key, tuple) and len(key) == 2):
            raise ValueError(f"network key {key!r} must be a (network_id, sparsity) tuple")
        try:
            graph.validate(masks)
        except ValueError as err:
            raise ValueError(f"network {key!r}: {err}") from None
    if progress:
        from tqdm.auto import tqdm
        items = tqdm(items, desc="Z-scores")
    frames = []
    for (network, sparsity), masks in items:
        cleaned = graph.clean(masks)
        real = motifs.count_raw(cleaned)
        raw = nulls.null_counts(cleaned, n_null, null, derive_seed(seed, network, sparsity), **null_options)
        for conv in conventions:
            t = table(motifs.project(real, conv), motifs.project(raw, conv)).reset_index()
            t.insert(0, "convention", conv)
            t.insert(0, "sparsity", float(sparsity))
            t.insert(0, "network", network)
            frames.append(t)
    cols = ["network", "sparsity", "convention", "motif", *COLUMNS]
    if not frames:
        return pd.DataFrame(columns=cols)
    return pd.concat(frames, ignore_index=True)[cols]
