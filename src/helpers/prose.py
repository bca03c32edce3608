"""Numbers and words for a chapter's prose, computed by its cells and inserted with myst-nb's ``glue``.

A chapter states a result in its text as ``{glue:text}`name``` and a cell computes it with
:func:`say`. The rendered book then shows exactly what the cell computed, at whatever preset the chapter ran,
so text and outputs cannot disagree. :func:`say` stores an already formatted string, so the text never shows
Python's quotes or more digits than the statement needs.
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any


class Text(str):
    """A string whose ``repr`` is itself: its ``text/plain`` display (what ``{glue:text}`` pastes) has no
    quotes."""

    def __repr__(self) -> str:
        return str(self)


def fmt(value: Any, spec: str = "") -> Text:
    """``value`` formatted with the format ``spec`` (``".1f"``, ``".0%"``, ``",d"``, ``".1e"`` ...); NaN and None
    read "n/a". ``spec`` ``"e"``-style numbers are written as ``3.2 × 10⁻⁴``."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return Text("n/a")
    text = format(value, spec)
    if spec.endswith("e") and "e" in text:
        mantissa, exponent = text.split("e")
        power = str(int(exponent)).translate(str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹"))
        text = f"{mantissa} × 10{power}"
    return Text(text)


def words(items: Sequence[Any], spec: str = "", conjunction: str = "and") -> Text:
    """``["a", "b", "c"]`` → ``"a, b and c"``, each item formatted with ``spec``; ``"none"`` when empty."""
    parts = [str(fmt(item, spec)) for item in items]
    if not parts:
        return Text("none")
    if len(parts) == 1:
        return Text(parts[0])
    return Text(f"{', '.join(parts[:-1])} {conjunction} {parts[-1]}")


def say(name: str, value: Any, spec: str = "") -> Text:
    """Glue ``value`` (formatted with ``spec``, see :func:`fmt`; a ``str`` as it is) under ``name`` for
    ``{glue:text}`name``` in the chapter's markdown, without displaying it. Returns the text glued."""
    from myst_nb import glue

    text = Text(value) if isinstance(value, str) else fmt(value, spec)
    glue(name, text, display=False)
    return text
