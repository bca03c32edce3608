"""Helper package of the motif-distribution reproduction book: simulation, data, training, pruning, motifs."""
import os
import shutil
from pathlib import Path

import numba

__version__ = "0.1.0"


def _key_numba_cache() -> None:
    """Keep numba's compiled-kernel cache in a folder keyed by the hash of this package's source.

    numba invalidates a cached function only when its own file changes, but kernels here call kernels of other
    modules, whose machine code is compiled into the caller: ``motifs`` counts with the primitives of ``bits``
    (popcount, transpose, CSR), and ``nulls`` draws with ``rng`` (SplitMix64 streams) and ``bits`` (set / get /
    clear bit) and counts with ``motifs.count_packed`` / ``motifs.count_into``. A changed callee would leave the
    caller's cache running the old code; a key over all modules rules that out, whichever module calls which
    (comments and docstrings do not count: :func:`helpers.sources.digest`). Folders of other versions are
    removed. ``NUMBA_CACHE_DIR``, if set, is the parent folder."""
    from helpers import sources

    here = Path(__file__).parent
    parent = Path(os.environ.get("NUMBA_CACHE_DIR") or here / "__pycache__")
    key = f"numba-{sources.digest(sorted(here.glob('*.py')))[:12]}"
    for old in parent.glob("numba-*"):
        if old.name != key:
            shutil.rmtree(old, ignore_errors=True)
    numba.config.CACHE_DIR = str(parent / key)


_key_numba_cache()
