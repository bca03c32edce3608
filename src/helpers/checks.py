"""Parameter validation: one mechanism for every function argument and every chapter parameter.

A :class:`Spec` says what one value may be — a type, a closed numeric range, a set of choices, or a rule — and
:meth:`Spec.check` returns the value converted (``int``, ``float``, ``tuple``) or raises a ``ValueError`` that
names the parameter, the value given and what it must be, before any work is done::

    parameter 'n_null' = 0 is invalid: it must be an integer in [2, inf] (the sample sd needs two nulls)

The chapters' parameters (:data:`helpers.pipeline.SPECS`) and the helpers' own arguments use the same specs. A
list of choices is defined once, by the module that owns it (``nulls.MODELS``, ``pruning.BIAS_MODES``, …); a
spec refers to it by name (``owner="nulls.MODELS"``) and reads it when it checks a value, so that this module
and :mod:`helpers.pipeline` need not import the modules whose choices they check.
"""
from __future__ import annotations

import importlib
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

#: The largest seed: seeds are 32-bit unsigned integers (numpy.random.SeedSequence entropy, SplitMix64 streams).
MAX_SEED = 2**32 - 1


@dataclass(frozen=True)
class Spec:
    """What one parameter may be.

    Parameters
    ----------
    kind : type
        ``int``, ``float``, ``str`` or ``tuple`` (any list or tuple; returned as a tuple).
    low, high : float, optional
        Closed bounds of an ``int`` or ``float``; ``None`` for unbounded.
    choices : tuple, optional
        The allowed values.
    owner : str, optional
        ``"module.NAME"``: the allowed values are the tuple ``helpers.module.NAME`` (read when checking).
    rule : callable, optional
        ``rule(value, name)`` returns the checked value or raises ``ValueError`` (e.g. :func:`check_schedule`).
    doc : str
        What the parameter is, quoted in the error message.
    """

    kind: type
    low: float | None = None
    high: float | None = None
    choices: tuple | None = None
    owner: str | None = None
    rule: Callable[[Any, str], Any] | None = None
    doc: str = ""

    @property
    def allowed(self) -> tuple | None:
        """The allowed values: ``choices``, or the owner module's tuple; ``None`` if any value of the kind goes."""
        if self.owner is None:
            return self.choices
        module, name = self.owner.rsplit(".", 1)
        return tuple(getattr(importlib.import_module(f"helpers.{module}"), name))

    def describe(self) -> str:
        """What a value must be, in words (the end of the error message).

        Returns
        -------
        str
            ``"one of 'a', 'b'"`` when the values are listed (:attr:`allowed`), else the kind's noun (``"an
            integer"``, ``"a number"``, ``"a string"``, ``"a sequence"``) with the closed range when a bound is
            set, e.g. ``"an integer in [2, inf]"`` (integer bounds with thousands separators).
        """
        if self.allowed is not None:
            return "one of " + ", ".join(repr(c) for c in self.allowed)
        noun = {int: "an integer", float: "a number", str: "a string", tuple: "a sequence"}[self.kind]
        if self.low is None and self.high is None:
            return noun
        bound = (lambda v: f"{int(v):,}") if self.kind is int else (lambda v: repr(float(v)))
        lo = "-inf" if self.low is None else bound(self.low)
        hi = "inf" if self.high is None else bound(self.high)
        return f"{noun} in [{lo}, {hi}]"

    def check(self, name: str, value: Any) -> Any:
        """``value`` converted to the spec's kind.

        Parameters
        ----------
        name : str
            The parameter's name, for the error message.
        value : any
            The value given.

        Returns
        -------
        int, float, str or tuple
            The value as ``kind`` (a bool is never taken for a number).

        Raises
        ------
        ValueError
            ``parameter 'name' = value is invalid: it must be …`` when the value is of another kind, outside the
            range, not among the choices, or rejected by the rule.
        """
        given = value
        if self.kind is int:
            ok = isinstance(value, (int, np.integer)) and not isinstance(value, bool)
            value = int(value) if ok else value
        elif self.kind is float:
            ok = isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)
            ok = ok and math.isfinite(value)
            value = float(value) if ok else value
        elif self.kind is tuple:
            ok = isinstance(value, (list, tuple, np.ndarray))
            value = tuple(value) if ok else value
        else:
            ok = isinstance(value, self.kind)
        allowed = self.allowed
        if ok and allowed is not None:
            ok = value in allowed
        if ok and self.kind in (int, float):
            ok = (self.low is None or value >= self.low) and (self.high is None or value <= self.high)
        if not ok:
            raise ValueError(f"parameter {name!r} = {given!r} is invalid: it must be {self.describe()}"
                             + (f" ({self.doc})" if self.doc else ""))
        return self.rule(value, name) if self.rule is not None else value


def check_schedule(value: Any, name: str = "schedule") -> tuple[float, ...]:
    """A pruning schedule: cumulative sparsity targets.

    Parameters
    ----------
    value : sequence of float
        The targets, e.g. the original's ``(0.15, 0.25, …, 0.99)``.
    name : str
        The parameter's name, for the error message.

    Returns
    -------
    tuple of float

    Raises
    ------
    ValueError
        Naming the parameter unless it is a non-empty, strictly increasing sequence of numbers in (0, 1).
    """
    try:
        values = tuple(float(v) for v in value)
    except (TypeError, ValueError):
        raise ValueError(f"parameter {name!r} = {value!r} is invalid: it must be a sequence of numbers") from None
    if not values or any(not (0.0 < v < 1.0) for v in values) or any(b <= a for a, b in zip(values, values[1:])):
        raise ValueError(f"parameter {name!r} = {value!r} is invalid: it must be a non-empty, strictly increasing "
                         "sequence of cumulative sparsities in (0, 1)")
    return values
