"""Argument checks shared by every module (private; one owner for "is this a valid number").

Each helper returns the value in its canonical type or raises
:class:`~infra_lab.errors.ValidationError` (:class:`~infra_lab.errors.UnknownNameError` for
names) whose message names the argument, repeats the value and says what is allowed. They
refuse what Python would silently coerce: a bool is not a number, a string is never a
number or a bool, ``2.7`` is not an integer, NaN and ±inf are never in range.

>>> number("utilization", 0.5, lo=0.0, hi=1.0)
0.5
>>> number("utilization", "0.5", lo=0.0, hi=1.0)
Traceback (most recent call last):
...
infra_lab.errors.ValidationError: utilization = '0.5': expected a number
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

from .errors import SHORT_REPR_CHARS, ValidationError, short_repr, unknown, unknown_keyword

REAL = (int, float, np.integer, np.floating)
"""Types accepted as real numbers (bools excluded explicitly: ``isinstance(True, int)``)."""


def shown(value: Any) -> str:
    """``repr(value)`` as an error repeats it, or, past :data:`~infra_lab.errors.SHORT_REPR_CHARS`
    characters, :func:`~infra_lab.errors.short_repr`'s cut form with the type named: a Scenario
    passed where a number belongs was quoted as its whole printout (December 2026)."""
    text = repr(value)
    return text if len(text) <= SHORT_REPR_CHARS else short_repr(value)


def is_real(value: Any) -> bool:
    """True for an int/float (numpy ones too), False for bools, strings, None, containers."""
    return not isinstance(value, (bool, np.bool_)) and isinstance(value, REAL)


def scalar(value: Any) -> Any:
    """A 0-d numpy array (``np.array(2.0)``, what numpy reductions may return) as the numpy
    scalar it holds, so that it is checked as a number; anything else as is."""
    if isinstance(value, np.ndarray) and value.ndim == 0:
        return value[()]
    return value


def number(field: str, value: Any, *, lo: float | None = None, hi: float | None = None,
           lo_open: bool = False, hi_open: bool = False, allowed: str = "") -> float:
    """``value`` as a finite float inside [lo, hi] (open ends when asked), else raise.

    Booleans, strings and None are rejected: a number must be a number.
    """
    value = scalar(value)
    if not is_real(value):
        raise ValidationError(f"{field} = {shown(value)}: expected a number"
                              + (f" ({allowed})" if allowed else ""))
    v = float(value)
    ok = math.isfinite(v)
    if ok and lo is not None:
        ok = v > lo if lo_open else v >= lo
    if ok and hi is not None:
        ok = v < hi if hi_open else v <= hi
    if not ok:
        if allowed:
            raise ValidationError(f"{field} = {value!r}: must be {allowed}")
        if lo is not None and hi is not None:
            allowed = f"a finite number in {'(' if lo_open else '['}{lo:g}, {hi:g}{')' if hi_open else ']'}"
        elif lo is not None:
            allowed = f"a finite number {'>' if lo_open else '>='} {lo:g}"
        elif hi is not None:
            allowed = f"a finite number {'<' if hi_open else '<='} {hi:g}"
        else:
            allowed = "a finite number"
        raise ValidationError(f"{field} = {value!r}: must be {allowed}")
    return v


def positive(field: str, value: Any, *, allow_zero: bool = False, hi: float | None = None) -> float:
    """A finite number > 0 (>= 0 with ``allow_zero``), optionally <= ``hi``."""
    return number(field, value, lo=0.0, lo_open=not allow_zero, hi=hi)


def fraction(field: str, value: Any, *, allow_zero: bool = False, allow_one: bool = True) -> float:
    """A share in (0, 1] by default; [0, 1] with ``allow_zero``; open at 1 without ``allow_one``."""
    return number(field, value, lo=0.0, lo_open=not allow_zero, hi=1.0, hi_open=not allow_one)


def integer(field: str, value: Any, *, lo: int = 1, hi: int | None = None) -> int:
    """An integer (not a bool, not a float with a fraction, not a string) in [lo, hi]."""
    value = scalar(value)
    allowed = f"an integer in [{lo}, {hi}]" if hi is not None else f"an integer >= {lo}"
    if not is_real(value):
        raise ValidationError(f"{field} = {shown(value)}: expected {allowed}")
    if isinstance(value, (float, np.floating)) and (not math.isfinite(value) or value != int(value)
                                                    or abs(value) > 2**53):   # no exact integer above 2**53
        raise ValidationError(f"{field} = {value!r}: expected {allowed}")
    v = int(value)
    if v < lo or (hi is not None and v > hi):
        raise ValidationError(f"{field} = {value!r}: must be {allowed}")
    return v


def byte_count(field: str, value: Any, *, allow_zero: bool = True, whole: bool = False,
               value_text: str | None = None, example: str = "") -> float:
    """A message size [B] as a float: a finite number of bytes >= 0 (> 0 without
    ``allow_zero``). The one owner of this rule for every entry point that takes a message size
    (``il.collective``, ``il.collectives.lower_bound`` / ``algorithm_table`` / ``sweep``,
    ``il.fabric.step_flows``, ``il.serving.engine_allreduce_kernel``, the CLI's SIZE).

    A Python size may be any real number: sizes are usually computed (parameters × 2 / tp, an
    expected token count × hidden × bytes, ``il.training.collectives``' mean ``bytes_per_call``)
    and need not be whole; the model is continuous in the size. ``whole=True`` is the CLI's rule
    for a size typed as text (``0.5`` or ``1.0001KiB`` there is almost surely a slip, and
    nccl-tests' sizes are byte counts). ``value_text`` replaces the repeated value (the CLI shows
    the text typed and the bytes it reads as); ``example`` is added after the whole-number example.

    >>> byte_count("size_bytes", 1e9), byte_count("size_bytes", np.int64(4096)), byte_count("s", 0.5)
    (1000000000.0, 4096.0, 0.5)
    >>> byte_count("size_bytes", 0.5, whole=True)
    Traceback (most recent call last):
    ...
    infra_lab.errors.ValidationError: size_bytes = 0.5: expected a whole number of bytes >= 0 (nccl-tests' sizes are byte counts), e.g. 1
    """
    value = scalar(value)
    bound = ">= 0" if allow_zero else "> 0"
    if not is_real(value):
        # a size with its unit ("8 GB") is the CLI's SIZE; in Python the unit is a multiplier
        hint = (" (a size with a unit is read by the CLI only; here give the bytes as a number, e.g. "
                "8e9 or 8 * il.units.GB, 1 * il.units.GiB)") if isinstance(value, str) else ""
        raise ValidationError(f"{field} = {shown(value)}: expected a number of bytes {bound}{hint}")
    v = float(value) + 0.0   # + 0.0: -0.0 bytes is 0 bytes (a result never reports -0.0)
    text = value_text if value_text is not None else repr(value)
    if not math.isfinite(v) or v < 0 or (v == 0 and not allow_zero):
        raise ValidationError(f"{field} = {text}: expected a finite number of bytes {bound}")
    if whole and v != math.floor(v):
        raise ValidationError(f"{field} = {text}: expected a whole number of bytes {bound} (nccl-tests' sizes "
                              f"are byte counts), e.g. {math.ceil(v):,.0f}{example}")
    return v


def boolean(field: str, value: Any) -> bool:
    """A real bool (not a string such as "no", not a number such as 2)."""
    value = scalar(value)
    if not isinstance(value, (bool, np.bool_)):
        raise ValidationError(f"{field} = {shown(value)}: expected True or False")
    return bool(value)


def choice(field: str, value: Any, allowed: Iterable[str], not_a_string: type = ValidationError) -> str:
    """``value`` if it is one of ``allowed`` (exact string), else an UnknownNameError; a value
    that is not a string raises ``not_a_string`` (ValidationError unless a caller names another),
    naming its type and a short form (:func:`infra_lab.errors.short_repr`)."""
    allowed = tuple(allowed)
    if not isinstance(value, str):
        raise not_a_string(f"{field} = {short_repr(value)}: expected one of {', '.join(allowed)}")
    if value not in allowed:
        raise unknown(field, value, allowed)
    return value


def name(field: str, value: Any, kind: str = "name", example: str = "") -> str:
    """A non-empty string (a catalog name, a preset, a term): lists, dicts and numbers are
    refused here instead of failing as unhashable keys deeper down."""
    if not isinstance(value, str) or not value.strip():
        eg = f", e.g. {example!r}" if example else ""
        raise ValidationError(f"{field} = {shown(value)}: expected {kind} (a non-empty string){eg}")
    return value


def mapping(field: str, value: Any, what: str = "name -> number") -> dict:
    """A dict (any Mapping) given where a table of keyword values is expected."""
    if not isinstance(value, Mapping):
        raise ValidationError(f"{field} = {shown(value)}: expected a dict of {what}")
    return dict(value)


def sequence(field: str, value: Any, what: str = "names") -> list:
    """``value`` (a list, tuple or other iterable, not a string or a dict) as a list; a single
    name or a number is refused rather than iterated character by character or failing deep
    inside. The items are the caller's to check."""
    if isinstance(value, (str, bytes, Mapping)) or not isinstance(value, Iterable):
        raise ValidationError(f"{field} = {value!r:.80}: expected a list of {what}")
    return list(value)


def float_array(field: str, values: Any, unit: str = "") -> np.ndarray:
    """``values`` (a number, a sequence or an array of real numbers) as a float array; strings,
    dicts, None and booleans are refused rather than parsed or coerced. Finiteness and shape
    are the caller's to check."""
    what = f"a sequence of numbers{f' [{unit}]' if unit else ''}"
    if values is None or isinstance(values, (str, bytes, dict, set)):
        raise ValidationError(f"{field} = {values!r}: expected {what}")
    try:
        raw = np.asarray(values)
        a = raw.astype(float)
    except (TypeError, ValueError):
        raise ValidationError(f"{field} = {values!r:.80}: expected {what}") from None
    if raw.dtype == bool or raw.dtype.kind not in "iuf":
        raise ValidationError(f"{field} = {values!r:.80}: expected {what}")
    return a


def keyword_names(fn: Any, *, leave_out: Iterable[str] = ()) -> tuple[str, ...]:
    """The keyword-only parameters of ``fn``, in order, less ``leave_out`` (the names a public
    call that passes ``**kwargs`` on to ``fn`` accepts: see :func:`keywords`)."""
    import inspect

    skip = set(leave_out)
    return tuple(p.name for p in inspect.signature(fn).parameters.values()
                 if p.kind is inspect.Parameter.KEYWORD_ONLY and p.name not in skip)


def keywords(where: str, given: Mapping[str, Any], allowed: Iterable[str], *,
             hints: Mapping[str, str] | None = None) -> dict:
    """``given`` (the ``**kwargs`` of a public call that passes them on) as a dict when every
    name is in ``allowed``; else an UnknownNameError naming the misspelt keyword, the call, the
    nearest valid ones and all of them, instead of a TypeError from an inner function, in the
    words :func:`infra_lab.errors.named_keywords` uses for a call without ``**kwargs``
    ("unknown keyword argument 'n' of simulate(). Did you mean …? Valid: …"). ``hints`` (keyword
    -> sentence) says what to do for a keyword the call takes another way (a reliability rate's
    ``gpus``: the size is the hardware's)."""
    allowed = tuple(allowed)
    for k in given:
        if k not in allowed:
            raise unknown_keyword(k, allowed, f"{where}()", note=(hints or {}).get(k))
    return dict(given)


def path(field: str, value: Any) -> os.PathLike | str:
    """A filesystem path (str or os.PathLike; not bytes, not None)."""
    if isinstance(value, bytes) or not isinstance(value, (str, os.PathLike)):
        raise ValidationError(f"{field} = {shown(value)}: expected a path (str or pathlib.Path)")
    return value


__all__ = ["REAL", "is_real", "scalar", "number", "positive", "fraction", "integer", "boolean", "choice", "name",
           "mapping", "sequence", "float_array", "keyword_names", "keywords", "path"]
