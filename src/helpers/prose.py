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
    """``value`` formatted with the format ``spec`` (``".1f"``, ``".0%"``, ``",d"``, ``".1e"`` ...); NaN and None
    read "n/a". Exponents (``"e"`` and ``"g"`` specs) are written as ``3.2 × 10⁻⁴``."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    text = format(value, spec)
    if spec[-1:] in ("e", "g") and "e" in text:
        mantissa, exponent = text.split("e")
        power = str(int(exponent)).translate(str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹"))
        text = f"{mantissa} × 10{power}"
    return text


def words(items: Sequence[Any], spec: str = "", conjunction: str = "and") -> str:
    """``["a", "b", "c"]`` → ``"a, b and c"``, each item formatted with ``spec``; ``"none"`` when empty."""
    parts = [str(fmt(item, spec)) for item in items]
    if not parts:
        return "none"
    if len(parts) == 1:
        return parts[0]
    return f"{', '.join(parts[:-1])} {conjunction} {parts[-1]}"


def say(name: str, value: Any, spec: str = "") -> None:
    """Glue ``value`` (formatted with ``spec``, see :func:`fmt`; a ``str`` as it is) under ``name`` for
    ``{glue:text}`name``` in the chapter's markdown, without displaying it (returns nothing, so a ``say`` on a
    cell's last line shows no output)."""
    from myst_nb import glue

    glue(name, str(value) if isinstance(value, str) else fmt(value, spec), display=False)


def figure(name: str, fig) -> None:
    """Show the matplotlib figure ``fig`` once, as the cell's output, and glue it under ``name`` so that another
    page can show it with ``{glue:figure}`` (e.g. the landing page's headline figure)."""
    import matplotlib.pyplot as plt
    from myst_nb import glue

    glue(name, fig, display=True)
    plt.close(fig)
