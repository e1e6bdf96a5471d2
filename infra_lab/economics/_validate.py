"""Argument checks shared by the economics modules (private).

Every public function of :mod:`infra_lab.economics` validates its arguments with these
helpers, so a bad input raises :class:`~infra_lab.errors.ValidationError` (or
:class:`~infra_lab.errors.UnknownNameError`) naming the argument, the value and what is
allowed, never a foreign exception from deep inside a formula.
"""

from __future__ import annotations

from typing import Any

from .. import catalog
from .._validate import REAL as _REAL  # noqa: F401  (kept name)
from .._validate import (  # noqa: F401  (the shared checks)
    boolean,
    choice,
    float_array,
    fraction,
    integer,
    mapping,
    number,
    positive,
)
from ..errors import ValidationError


def rate(field: str, value: Any) -> float:
    """A rate per year as a fraction in [0, 1)."""
    return number(field, value, lo=0.0, hi=1.0, hi_open=True,
                  allowed="a rate per year as a fraction in [0, 1)")


def table(field: str, value: Any, what: str = "parameter -> number") -> dict:
    """An optional dict argument (None = empty): ``fixed=``, ``overrides=``, ``nics=`` ..."""
    return {} if value is None else mapping(field, value, what)


def accelerator(value: Any, field: str = "accelerator") -> str:
    """The canonical catalog name of an accelerator (aliases accepted, case-insensitive)."""
    if not isinstance(value, str):
        raise ValidationError(f"{field} = {value!r}: expected an accelerator name (str), "
                              f"e.g. 'MI300X'")
    return catalog.canonical_accelerator(value)
