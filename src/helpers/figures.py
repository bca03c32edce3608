"""Figures, tables and printed lines made for the book's page: drawn at the width of the text column, with fonts
that stay legible there.

The rendered book shows a figure at the width of its text column, about 700 px. A figure drawn wider is shrunk, and
its fonts with it: a 15-inch figure with 10 pt labels shows them at less than 5 pt. :func:`subplots` draws every
figure :data:`WIDTH_IN` wide with :data:`STYLE`'s fonts (9 pt ticks and legends, 10 pt labels), so that what
the reader sees is what was drawn, at the size it was drawn. Captions are given in the cell's metadata
(``mystnb.figure.caption``), so the page numbers them. :func:`exhibit` shows a table as HTML, :func:`write`
prints a line of diagnostics wrapped to the column.
"""
from __future__ import annotations

import re
import textwrap
from typing import Any

#: Characters per printed line that fit the text column.
LINE_CHARS = 86

#: Width of the book's text column, in inches (at 100 px per inch, the column's width in pixels).
WIDTH_IN = 7.0

#: Font sizes (pt) and resolution of every figure.
STYLE: dict[str, Any] = {
    "font.size": 9, "axes.titlesize": 10, "axes.labelsize": 10, "xtick.labelsize": 9, "ytick.labelsize": 9,
    "legend.fontsize": 9, "legend.title_fontsize": 9, "figure.titlesize": 11, "figure.dpi": 100,
    "savefig.dpi": 150,
}


def subplots(nrows: int = 1, ncols: int = 1, height: float | None = None, **kwargs: Any):
    """``matplotlib.pyplot.subplots`` at the text column's width (:data:`WIDTH_IN`), with :data:`STYLE`.

    The figure has a constrained layout unless ``layout`` is given; :data:`STYLE` is applied to
    ``plt.rcParams`` (for every later figure too).

    Parameters
    ----------
    nrows, ncols : int
        Rows and columns of the grid of axes, each ≥ 1.
    height : float or None
        Height of the figure in inches; ``None`` (or 0) for 2.6 inches per row.
    **kwargs
        Other keywords go to ``plt.subplots`` (``sharex``, ``squeeze``, ``gridspec_kw``, ``layout`` ...).

    Returns
    -------
    fig : matplotlib.figure.Figure
        The figure, :data:`WIDTH_IN` inches wide.
    axes : matplotlib.axes.Axes or ndarray of Axes
        As ``plt.subplots`` returns them (one Axes, or an array of shape (nrows, ncols) squeezed).

    Raises
    ------
    ValueError
        If ``nrows`` or ``ncols`` is < 1.
    """
    import matplotlib.pyplot as plt

    if nrows < 1 or ncols < 1:
        raise ValueError(f"nrows = {nrows!r} and ncols = {ncols!r} must be >= 1")
    plt.rcParams.update(STYLE)
    kwargs.setdefault("layout", "constrained")
    return plt.subplots(nrows, ncols, figsize=(WIDTH_IN, height or 2.6 * nrows), **kwargs)


def write(*parts: Any) -> None:
    """Print ``parts`` (joined by spaces) as a line of diagnostics, wrapped to the text column.

    Parameters
    ----------
    *parts : any
        What to print, each converted with ``str`` and joined by single spaces (as ``print`` does). The line is
        wrapped to :data:`LINE_CHARS` characters, with continuation lines indented by two spaces.
    """
    print(textwrap.fill(" ".join(str(part) for part in parts), width=LINE_CHARS, subsequent_indent="  "))


_INTERVAL = re.compile(r" \[(\S+), (\S+)\]")


def exhibit(frame) -> None:
    """Display the pandas DataFrame ``frame`` as an HTML table, laid out for the text column.

    The index's name is moved into the header row (one row fewer), and each interval ``"m [q25, q75]"`` is kept
    on one line (non-breaking spaces). ``frame`` itself is not changed.

    Parameters
    ----------
    frame : pandas.DataFrame
        The table; string cells holding an interval ``" [a, b]"`` (as :func:`helpers.convergence.median_iqr`
        writes it) get non-breaking spaces. The index's name moves into the header only for a single-level index.
    """
    from IPython.display import display

    frame = frame.map(lambda v: _INTERVAL.sub("\u00a0[\\1,\u00a0\\2]", v) if isinstance(v, str) else v)
    if frame.index.name is not None and frame.index.nlevels == 1:
        frame = frame.copy()
        frame.columns = frame.columns.set_names([None] * (frame.columns.nlevels - 1) + [frame.index.name])
        frame.index.name = None
    display(frame)
