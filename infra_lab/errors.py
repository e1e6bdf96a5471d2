"""Error types. Every error says what was given, what is allowed, and where it came from."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class InfraLabError(Exception):
    """Base class of infra_lab's own errors."""


class ValidationError(InfraLabError, ValueError):
    """An input value is invalid; the message names the field, the value and what is allowed."""


class UnknownNameError(InfraLabError, KeyError):
    """A name (catalog entry, preset, key, enum value) is not known; lists the nearest valid names."""

    def __str__(self) -> str:  # KeyError would otherwise quote the message
        return str(self.args[0]) if self.args else ""


class DataError(InfraLabError, ValueError):
    """A data file in data/ is malformed; the message names the file, row and column."""


def nearest(name: str, valid: Iterable[str], n: int = 3) -> list[str]:
    """The closest valid names to ``name`` (case-insensitive), best first."""
    valid = list(valid)
    lower = {v.lower(): v for v in valid}
    hits = difflib.get_close_matches(str(name).lower(), list(lower), n=n, cutoff=0.4)
    if not hits:  # fall back to substring matches
        hits = [k for k in lower if str(name).lower() in k or k in str(name).lower()][:n]
    return [lower[h] for h in hits]


def unknown(kind: str, name: object, valid: Iterable[str], where: str = "") -> UnknownNameError:
    """Build an UnknownNameError naming the value, the nearest valid names and all valid names."""
    valid = sorted(valid)
    near = nearest(str(name), valid)
    hint = f" Did you mean {', '.join(repr(x) for x in near)}?" if near else ""
    loc = f" in {where}" if where else ""
    return UnknownNameError(
        f"unknown {kind} {name!r}{loc}.{hint} Valid: {', '.join(valid)}"
    )


def check_positive(field: str, value: object, *, integer: bool = False, allow_zero: bool = False) -> float:
    """Return ``value`` as a number if it is finite and > 0 (>= 0 with allow_zero), else raise."""
    import math

    kind = "integer" if integer else "number"
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        try:
            import numpy as np

            ok = isinstance(value, (np.integer, np.floating))
        except ImportError:  # pragma: no cover
            ok = False
        if not ok:
            raise ValidationError(f"{field} = {value!r}: expected a positive {kind}")
    v = float(value)
    if integer and (not math.isfinite(v) or v != int(v)):
        raise ValidationError(f"{field} = {value!r}: expected a positive integer")
    if not math.isfinite(v) or v < 0 or (v == 0 and not allow_zero):
        allowed = ">= 0" if allow_zero else "> 0"
        raise ValidationError(f"{field} = {value!r}: must be a finite {kind} {allowed}")
    return int(value) if integer else v
