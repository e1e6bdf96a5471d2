"""Argument checks shared by the economics modules (private).

Every public function of :mod:`infra_lab.economics` validates its arguments with these
helpers, so a bad input raises :class:`~infra_lab.errors.ValidationError` (or
:class:`~infra_lab.errors.UnknownNameError`) naming the argument, the value and what is
allowed, never a foreign exception from deep inside a formula.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import numpy as np

from .. import catalog
from ..errors import ValidationError, unknown

_REAL = (int, float, np.integer, np.floating)


def number(field: str, value: Any, *, lo: float | None = None, hi: float | None = None,
           lo_open: bool = False, hi_open: bool = False, allowed: str = "") -> float:
    """``value`` as a finite float inside [lo, hi] (open ends when asked), else raise.

    Booleans, strings and None are rejected: a number must be a number.
    """
    if isinstance(value, bool) or not isinstance(value, _REAL):
        raise ValidationError(f"{field} = {value!r}: expected a number"
                              + (f" ({allowed})" if allowed else ""))
    v = float(value)
    ok = math.isfinite(v)
    if ok and lo is not None:
        ok = v > lo if lo_open else v >= lo
    if ok and hi is not None:
        ok = v < hi if hi_open else v <= hi
    if not ok:
        if not allowed:
            left = "(" if lo_open else "["
            right = ")" if hi_open else "]"
            allowed = f"a finite number in {left}{'-inf' if lo is None else f'{lo:g}'}, " \
                      f"{'inf' if hi is None else f'{hi:g}'}{right}"
        raise ValidationError(f"{field} = {value!r}: must be {allowed}")
    return v


def positive(field: str, value: Any, *, allow_zero: bool = False, hi: float | None = None) -> float:
    """A finite number > 0 (>= 0 with ``allow_zero``), optionally <= ``hi``."""
    return number(field, value, lo=0.0, lo_open=not allow_zero, hi=hi)


def fraction(field: str, value: Any, *, allow_zero: bool = False, allow_one: bool = True) -> float:
    """A share in (0, 1] by default; [0, 1] with ``allow_zero``; open at 1 without ``allow_one``."""
    return number(field, value, lo=0.0, lo_open=not allow_zero, hi=1.0, hi_open=not allow_one)


def rate(field: str, value: Any) -> float:
    """A rate per year as a fraction in [0, 1)."""
    return number(field, value, lo=0.0, hi=1.0, hi_open=True,
                  allowed="a rate per year as a fraction in [0, 1)")


def integer(field: str, value: Any, *, lo: int = 1, hi: int | None = None) -> int:
    """An integer (not a bool, not a float with a fraction) in [lo, hi]."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer, float, np.floating)):
        raise ValidationError(f"{field} = {value!r}: expected an integer")
    if isinstance(value, (float, np.floating)) and (not math.isfinite(value) or value != int(value)):
        raise ValidationError(f"{field} = {value!r}: expected an integer")
    v = int(value)
    if v < lo or (hi is not None and v > hi):
        raise ValidationError(f"{field} = {value!r}: must be an integer in [{lo}, {hi if hi is not None else 'inf'}]")
    return v


def choice(field: str, value: Any, allowed: Iterable[str]) -> str:
    """``value`` if it is one of ``allowed`` (exact string), else an UnknownNameError."""
    allowed = tuple(allowed)
    if not isinstance(value, str):
        raise ValidationError(f"{field} = {value!r}: expected one of {', '.join(allowed)}")
    if value not in allowed:
        raise unknown(field, value, allowed)
    return value


def boolean(field: str, value: Any) -> bool:
    """A real bool (not a string, not a number)."""
    if not isinstance(value, (bool, np.bool_)):
        raise ValidationError(f"{field} = {value!r}: expected True or False")
    return bool(value)


def accelerator(value: Any, field: str = "accelerator") -> str:
    """The canonical catalog name of an accelerator (aliases accepted, case-insensitive)."""
    if not isinstance(value, str):
        raise ValidationError(f"{field} = {value!r}: expected an accelerator name (str), "
                              f"e.g. 'MI300X'")
    return catalog.canonical_accelerator(value)
