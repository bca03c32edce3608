"""Figures, tables and printed lines made for the book's page: drawn at the width of the text column, with fonts
that stay legible there.

The rendered book shows a figure at the width of its text column, about 700 px. A figure drawn wider is shrunk, and
its fonts with it: a 15-inch figure with 10 pt labels shows them at less than 5 pt. :func:`subplots` draws every
figure :data:`WIDTH_IN` wide with :data:`STYLE`'s fonts (9 pt ticks and legends, 10 pt labels), so that what
the reader sees is what was drawn, at the size it was drawn. Captions are given in the cell's metadata
(``mystnb.figure.caption``), so the page numbers them. :func:`exhibit` shows a table as HTML with a numbered
caption (:class:`Numbering`), its numbers right-aligned; :func:`sparsity_axis` spreads the sparsities the book is
about (85–98 %) over a readable part of an axis; :data:`PALETTE` and :data:`MARKERS` tell series apart; :func:`write`
prints a line of diagnostics wrapped to the column.
"""
from __future__ import annotations

import hashlib
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
#: A cell that reads as a number: optional sign, digits (with thousands commas or a decimal point), optionally
#: followed by a unit, a percent sign, "× 10^n", a multiplier "×" or an interval "[a, b]"; or the dash of a value
#: missing by design.
_NUMERIC = re.compile(r"^\s*(?:—|[−+-]?(?:\d[\d,]*\.?\d*|\.\d+)(?:e[−+-]?\d+)?\s*(?:%|×.*|\[.*\]|[a-zµ°/ ·²³⁻⁰-⁹]*)?)\s*$",
                      re.IGNORECASE)

#: The dash shown for a value that is missing by design.
MISSING = "—"

#: Series colours that stay distinguishable from each other, for colour-blind readers and on a dark page: the
#: Okabe–Ito palette (Okabe & Ito 2008) with its black replaced by a mid grey, and two more in its spirit.
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#888888", "#882255")
#: Markers that go with :data:`PALETTE`, so that series differ in shape too.
MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*", "h")


class Numbering:
    """Numbers the tables of one chapter: ``Table <chapter>.<n>``, in the order the chapter shows them.

    Parameters
    ----------
    chapter : int
        The chapter's number, ≥ 1.

    Examples
    --------
    >>> tables = Numbering(7)
    >>> tables.next()
    'Table 7.1'
    """

    def __init__(self, chapter: int):
        if int(chapter) < 1:
            raise ValueError(f"chapter = {chapter!r} must be >= 1")
        self.chapter, self.count = int(chapter), 0

    def next(self) -> str:
        """Count one more table and name it.

        Returns
        -------
        str
            The next table's label, e.g. ``"Table 7.3"``.
        """
        self.count += 1
        return f"Table {self.chapter}.{self.count}"


def _is_numeric(column) -> bool:
    values = [v for v in column if v is not None and not (isinstance(v, float) and v != v)]
    return bool(values) and all(isinstance(v, (int, float)) and not isinstance(v, bool)
                                or isinstance(v, str) and _NUMERIC.match(v) for v in values)


def exhibit(frame, caption: str | None = None, numbering: Numbering | None = None,
            formats: dict[str, str] | str | None = None) -> None:
    """Display the pandas DataFrame ``frame`` as an HTML table, laid out for the text column.

    The index's name is moved into the header row (one row fewer), each interval ``"m [q25, q75]"`` is kept on one
    line (non-breaking spaces), numbers (and cells that read as numbers) are right-aligned, a missing value
    (``NaN``, ``None``) shows as :data:`MISSING`, and ``caption`` is shown above the table, numbered by
    ``numbering`` (the table and its caption in a ``<figure class="book-table">``, styled by the book's
    stylesheet). ``frame`` itself is not changed.

    Parameters
    ----------
    frame : pandas.DataFrame
        The table; string cells holding an interval ``" [a, b]"`` (as :func:`helpers.convergence.median_iqr`
        writes it) get non-breaking spaces. The index's name moves into the header only for a single-level index.
    caption : str, optional
        What the table shows, one or two sentences.
    numbering : Numbering, optional
        The chapter's table numbers; with a caption, the caption starts with the next one (``"Table 7.3. …"``).
    formats : str or dict of str to str, optional
        A format spec (``"{:.2f}"``) for every numeric cell, or one per column name; numeric cells of other
        columns are shown as pandas shows them.

    Nothing is returned, so that an ``exhibit`` on a cell's last line shows the table only; the number of the
    last table shown is ``numbering.count``.
    """
    from IPython.display import HTML, display

    frame = frame.map(lambda v: _INTERVAL.sub("\u00a0[\\1,\u00a0\\2]", v) if isinstance(v, str) else v)
    if frame.index.name is not None and frame.index.nlevels == 1:
        frame = frame.copy()
        frame.columns = frame.columns.set_names([None] * (frame.columns.nlevels - 1) + [frame.index.name])
        frame.index.name = None
    label = numbering.next() if (numbering is not None and caption) else None
    styler = frame.style.format(formats, na_rep=MISSING)
    # element ids of their own on every page (styles are scoped by them), the same on every run
    styler.set_uuid(label.replace("Table ", "table-").replace(".", "-") if label else
                    "t" + hashlib.sha1(frame.to_csv().encode()).hexdigest()[:10])
    numeric = [i for i, c in enumerate(frame.columns) if _is_numeric(frame.iloc[:, i])]
    if numeric:
        styler = styler.set_properties(subset=frame.columns[numeric], **{"text-align": "right", "white-space": "nowrap"})
        styler = styler.set_table_styles([{"selector": f"th.col_heading.col{i}", "props": "text-align: right;"}
                                          for i in numeric])
    html = styler.to_html(table_attributes='class="dataframe"')
    if caption:            # a figure of its own, so that the caption may be as wide as the text, not the table
        head = f"<b>{label}.</b> {caption}" if label else caption
        html = f'<figure class="book-table">\n<figcaption>{head}</figcaption>\n{html}</figure>\n'
    display(HTML(html))


#: Ticks of a sparsity axis (%): the original's schedule, thinned where it is dense.
SPARSITY_TICKS = (0, 50, 75, 85, 90, 93, 95, 97, 98, 99)


def _stretch(s):
    import numpy as np

    return -np.log10(1.0 - np.clip(np.asarray(s, dtype=float), 0.0, 99.9) / 100.0)


def _unstretch(u):
    import numpy as np

    return 100.0 * (1.0 - 10.0 ** (-np.asarray(u, dtype=float)))


def sparsity_axis(ax, axis: str = "x", label: str | None = "weight sparsity (%)", top: float = 99.0) -> None:
    """Put a sparsity axis (values in %) on the scale −log₁₀(1 − s), so that equal steps of the kept fraction take
    equal room: 0 → 90 % takes as much of the axis as 90 → 99 %, and the optima (91–93 %) and the cliff (94 %) are
    no longer squeezed into the last tenth.

    Parameters
    ----------
    ax : matplotlib.axes.Axes
        The axes whose ``axis`` shows weight sparsity in percent (0–99.9).
    axis : {"x", "y"}
        Which axis.
    label : str or None
        The axis label; ``None`` leaves it.
    top : float
        The largest sparsity (%) the axis shows.
    """
    from matplotlib.ticker import FixedLocator, NullLocator

    if axis not in ("x", "y"):
        raise ValueError(f"axis = {axis!r} must be 'x' or 'y'")
    set_scale = ax.set_xscale if axis == "x" else ax.set_yscale
    set_scale("function", functions=(_stretch, _unstretch))
    target = ax.xaxis if axis == "x" else ax.yaxis
    target.set_major_locator(FixedLocator([t for t in SPARSITY_TICKS if t <= top]))
    target.set_minor_locator(NullLocator())
    (ax.set_xlim if axis == "x" else ax.set_ylim)(0, top)
    if label is not None:
        (ax.set_xlabel if axis == "x" else ax.set_ylabel)(label)


#: Ticks of a Z axis on the symmetric-log scale of :func:`z_axis`.
Z_TICKS = (-1000, -100, -10, -2, 0, 2, 10, 100, 1000)


def z_axis(ax, axis: str = "y", label: str | None = "Z", linthresh: float = 2.0) -> None:
    """Put Z-scores on a symmetric-log axis: linear within ±``linthresh`` (where null noise lives), logarithmic
    beyond, so that Z of 1 and of 300 are both readable; ticks at ±2, ±10, ±100, … written as plain numbers.

    Parameters
    ----------
    ax : matplotlib.axes.Axes
        The axes.
    axis : {"x", "y"}
        Which axis shows Z.
    label : str or None
        The axis label; ``None`` leaves it.
    linthresh : float
        Half-width of the linear range.
    """
    from matplotlib.ticker import FixedLocator, FuncFormatter, NullLocator

    if axis not in ("x", "y"):
        raise ValueError(f"axis = {axis!r} must be 'x' or 'y'")
    (ax.set_xscale if axis == "x" else ax.set_yscale)("symlog", linthresh=linthresh)
    target = ax.xaxis if axis == "x" else ax.yaxis
    target.set_major_locator(FixedLocator(Z_TICKS))
    target.set_minor_locator(NullLocator())
    target.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    if label is not None:
        (ax.set_xlabel if axis == "x" else ax.set_ylabel)(label)
