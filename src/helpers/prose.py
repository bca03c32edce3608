"""Numbers and words for a chapter's prose, computed by its cells and inserted with myst-nb's ``glue``.

A chapter states a result in its text as ``{glue:text}`name``` and a cell computes it with
:func:`say`. The rendered book then shows exactly what the cell computed, at whatever preset the chapter ran,
so text and outputs cannot disagree. :func:`say` stores an already formatted ``str`` (myst-nb reads a glued
``text/plain`` back as a Python literal, which removes a string's quotes), so the text shows no more digits than
the statement needs, and "20,000" stays "20,000" instead of becoming the tuple ``(20, 0)``.
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any


def fmt(value: Any, spec: str = "") -> str:
    """``value`` formatted with the format ``spec`` for the prose; NaN and None read "n/a".

    Parameters
    ----------
    value : any
        A number (or anything ``format`` accepts with ``spec``); None or a float NaN.
    spec : str
        A format spec (``".1f"``, ``".0%"``, ``",d"``, ``".1e"`` ...); ``""`` for ``str(value)``.

    Returns
    -------
    str
        The formatted value; exponents (``"e"`` and ``"g"`` specs) are written as ``3.2 × 10⁻⁴``. ``"n/a"`` for
        None and NaN.

    Raises
    ------
    ValueError, TypeError
        From ``format`` when ``spec`` does not apply to ``value``.
    """
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    text = format(value, spec)
    if spec[-1:] in ("e", "g") and "e" in text:
        mantissa, exponent = text.split("e")
        power = str(int(exponent)).translate(str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹"))
        text = f"{mantissa} × 10{power}"
    return text


def words(items: Sequence[Any], spec: str = "", conjunction: str = "and") -> str:
    """``["a", "b", "c"]`` → ``"a, b and c"``, each item formatted with ``spec``; ``"none"`` when empty.

    Parameters
    ----------
    items : sequence of any
        The items, in order.
    spec : str
        Format spec of each item (see :func:`fmt`).
    conjunction : str
        The word before the last item (``"and"``, ``"or"`` ...).

    Returns
    -------
    str
        The items joined by ``", "``, the last by ``" conjunction "``; the one item alone; ``"none"`` when empty.
    """
    parts = [str(fmt(item, spec)) for item in items]
    if not parts:
        return "none"
    if len(parts) == 1:
        return parts[0]
    return f"{', '.join(parts[:-1])} {conjunction} {parts[-1]}"


def count_of(k: int, n: int, noun: str = "") -> str:
    """``k`` out of ``n`` for the text: ``"5 of the 8"``, ``"all 8"``, ``"none of the 8"``, ``"both"``, ``"neither"``.

    Parameters
    ----------
    k, n : int
        How many of how many, ``0 <= k <= n``.
    noun : str
        What is counted, appended to the phrase (``"networks"``: ``"all 8 networks"``); empty for none.

    Returns
    -------
    str
        The phrase.

    Raises
    ------
    ValueError
        If ``k`` is not in [0, n].
    """
    k, n = int(k), int(n)
    if not 0 <= k <= n:
        raise ValueError(f"k = {k} must be in [0, n = {n}]")
    tail = f" {noun}" if noun else ""
    if n == 2 and k == 2:
        return f"both{tail}"
    if n == 2 and k == 0:
        return f"neither{tail.rstrip('s')}"
    if k == n:
        return f"all {n}{tail}"
    if k == 0:
        return f"none of the {n}{tail}"
    return f"{k} of the {n}{tail}"


def words_or_same(values: Sequence[Any], labels: Sequence[str], spec: str = "") -> str:
    """Values with their labels for the text, said once when they are all the same.

    ``[3e-7, 3e-7], ["Radau", "simulate"]`` → ``"3 × 10⁻⁷ for both Radau and simulate"`` (or ``"for all of …"``);
    ``[1, 2], ["a", "b"]`` → ``"1 (a) and 2 (b)"``.

    Parameters
    ----------
    values : sequence of any
        The values, formatted with ``spec`` (:func:`fmt`).
    labels : sequence of str
        What each value belongs to, as long as ``values``.
    spec : str
        Format spec of the values.

    Returns
    -------
    str
        The phrase.
    """
    if len(values) != len(labels) or not values:
        raise ValueError("values and labels must be non-empty and of equal length")
    shown = [str(fmt(v, spec)) for v in values]
    if len(set(shown)) == 1 and len(shown) > 1:
        return f"{shown[0]} for {'both' if len(shown) == 2 else 'all of'} {words(list(labels))}"
    return words([f"{v} ({label})" for v, label in zip(shown, labels)])


def percent(fraction: float, digits: int = 0) -> str:
    """A fraction as a percentage for the text: ``0.93`` → ``"93 %"``.

    Parameters
    ----------
    fraction : float
        The fraction (1 is 100 %).
    digits : int
        Digits after the decimal point.

    Returns
    -------
    str
    """
    return f"{100 * float(fraction):.{int(digits)}f} %"


def span(values: Sequence[Any], spec: str = "", unit: str = "") -> str:
    """The range of ``values`` for the text: ``"lo–hi unit"``, or ``"lo unit"`` when both ends print alike.

    Parameters
    ----------
    values : sequence of number
        At least one value.
    spec : str
        Format spec of each end (see :func:`fmt`).
    unit : str
        Appended after a space (``"batches"``, ``"%"``); nothing when empty.

    Returns
    -------
    str

    Raises
    ------
    ValueError
        If ``values`` is empty.
    """
    values = list(values)
    if not values:
        raise ValueError("span() of no values")
    lo, hi = fmt(min(values), spec), fmt(max(values), spec)
    return (lo if lo == hi else f"{lo}–{hi}") + (f" {unit}" if unit else "")


def say(name: str, value: Any, spec: str = "") -> None:
    """Glue ``value`` under ``name`` for ``{glue:text}`name``` in the chapter's markdown, without displaying it.

    Returns nothing, so a ``say`` on a cell's last line shows no output.

    Parameters
    ----------
    name : str
        The glue key the markdown refers to.
    value : any
        A ``str`` is glued as it is; anything else formatted with ``spec`` (:func:`fmt`).
    spec : str
        Format spec of a non-``str`` value (see :func:`fmt`).
    """
    from myst_nb import glue

    glue(name, str(value) if isinstance(value, str) else fmt(value, spec), display=False)


def figure(name: str, fig) -> None:
    """Show the matplotlib figure ``fig`` once, as the cell's output, and glue it under ``name``.

    Another page can then show it with ``{glue:figure}`` (e.g. the landing page's headline figure). The figure is
    closed afterwards, so that the notebook does not show it a second time.

    Parameters
    ----------
    name : str
        The glue key.
    fig : matplotlib.figure.Figure
        The figure, e.g. from :func:`helpers.figures.subplots`.
    """
    import matplotlib.pyplot as plt
    from myst_nb import glue

    glue(name, fig, display=True)
    plt.close(fig)
