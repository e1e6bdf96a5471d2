"""Software stacks: one table of framework/library factors read by training, serving and
economics.

A *stack* is a framework + library + version on one platform (``megatron-core-rocm`` =
Megatron-LM/Primus on ROCm with hipBLASLt, AITER and RCCL). Every efficiency, overlap or
byte-size factor a model applies on top of the hardware physics is a named parameter of a
stack, stored once in ``data/stacks.csv`` with its unit, basis (measured / fitted / derived /
assumption / simulated) and source; ``data/stack_info.csv`` says what each stack is (vendor,
platform, framework, library, version, purpose, role, source).

**Vendor symmetry.** A cross-vendor comparison uses the same factors on both sides unless a
published measurement separates them. The default training stacks ``megatron-core-cuda`` and
``megatron-core-rocm`` therefore carry identical framework factors; any asymmetric choice is a
stack with ``role = "sensitivity"`` (``*-asym``) and its own source, used only when asked for.

Stacks are chosen explicitly: ``[training] stack = "..."`` in a Scenario, or
``il.estimate(sc, stack=...)``; when absent, :func:`default_stack` picks the ``default`` stack of
the accelerator's vendor for the purpose (training or serving).

Examples
--------
>>> from infra_lab import stacks
>>> stacks.default_stack("MI300X")
'megatron-core-rocm'
>>> a = stacks.params("megatron-core-rocm"); b = stacks.params("megatron-core-cuda")
>>> a["framework_time_scale"] == b["framework_time_scale"]
True
>>> stacks.info("megatron-core-rocm")["vendor"]
'AMD'
"""

from __future__ import annotations

import functools
import math

import polars as pl

from . import catalog
from .catalog import Col
from .errors import ValidationError, unknown

__all__ = ["table", "info_table", "info", "names", "params", "default_stack", "check_stack", "ranges",
           "BASES", "PURPOSES", "ROLES", "STACKS_FILE", "INFO_FILE", "UNIT_BOUNDS", "check_unit"]

STACKS_FILE = "stacks.csv"
INFO_FILE = "stack_info.csv"
BASES = ("measured", "fitted", "derived", "assumption", "simulated")
PURPOSES = ("training", "serving")
ROLES = ("default", "validation", "sensitivity", "alternative")

_SCHEMA = {
    "stack": Col("str", required=True), "parameter": Col("str", required=True),
    "value": Col("float", required=True), "low": Col("float"), "high": Col("float"),
    "unit": Col("str", required=True),
    "basis": Col("str", required=True, choices=BASES), "note": Col("str", required=True),
}
_INFO_SCHEMA = {
    "stack": Col("str", required=True), "vendor": Col("str", required=True, choices=("NVIDIA", "AMD", "any")),
    "platform": Col("str", required=True), "framework": Col("str", required=True),
    "library": Col("str", required=True), "version": Col("str", required=True),
    "purpose": Col("str", required=True, choices=PURPOSES), "role": Col("str", required=True, choices=ROLES),
    "note": Col("str", required=True),
}


@functools.cache
def table() -> pl.DataFrame:
    """Every stack factor: stack, parameter, value, unit, basis, source_url, note, and the
    stated range low..high where the factor has one (``data/stacks.csv``)."""
    df = catalog.read_table(catalog.DATA_DIR / STACKS_FILE, _SCHEMA)
    df = df.select("stack", "parameter", "value", "unit", "basis", "source_url", "note", "low", "high")
    bad = df.filter(pl.col("low").is_not_null() & ((pl.col("low") > pl.col("value")) | (pl.col("high") < pl.col("value"))))
    if bad.height:
        raise ValidationError(f"data/{STACKS_FILE}: value outside its stated range in {bad.select('stack', 'parameter').rows()}")
    dup = df.select("stack", "parameter").is_duplicated()
    if dup.any():
        raise ValidationError(f"data/{STACKS_FILE}: duplicate (stack, parameter) rows "
                              f"{df.filter(dup).select('stack', 'parameter').rows()}")
    for st, name, v, unit in df.select("stack", "parameter", "value", "unit").iter_rows():
        check_unit(name, float(v), unit, st)
    info_names = set(info_table()["stack"])
    orphans = sorted(set(df["stack"]) - info_names)
    if orphans:
        raise ValidationError(f"data/{STACKS_FILE}: stacks {orphans} have no row in data/{INFO_FILE}")
    return df


@functools.cache
def info_table() -> pl.DataFrame:
    """What each stack is: stack, vendor, platform, framework, library, version, purpose,
    role (default / validation / sensitivity / alternative), source_url, note
    (``data/stack_info.csv``)."""
    df = catalog.read_table(catalog.DATA_DIR / INFO_FILE, _INFO_SCHEMA)
    if df["stack"].is_duplicated().any():
        raise ValidationError(f"data/{INFO_FILE}: duplicate stack names")
    return df.select("stack", "vendor", "platform", "framework", "library", "version", "purpose",
                     "role", "source_url", "note")


def names(purpose: str | None = None) -> list[str]:
    """Stack names, optionally only those of one purpose ("training" | "serving")."""
    if purpose is not None and purpose not in PURPOSES:
        raise unknown("stack purpose", purpose, PURPOSES)
    return list(_names_cached(purpose))


@functools.cache
def _names_cached(purpose: str | None) -> tuple[str, ...]:
    t = info_table()
    if purpose is not None:
        t = t.filter(pl.col("purpose") == purpose)
    return tuple(t["stack"].to_list())


def canonical(stack, purpose: str | None = None, where: str = "") -> str:
    """The catalog name of ``stack`` (any letter case, surrounding blanks ignored, like
    accelerator and model names); raises UnknownNameError with the nearest names."""
    valid = names(purpose)
    if isinstance(stack, str):
        if stack in valid:
            return stack
        hit = {v.lower(): v for v in valid}.get(stack.strip().lower())
        if hit is not None:
            return hit
    kind = f"{purpose} stack" if purpose else "software stack"
    raise unknown(kind, stack, valid, where=where)


def info(stack: str) -> dict[str, str]:
    """Metadata of one stack: vendor, platform, framework, library, version, purpose, role,
    source_url, note."""
    stack = canonical(stack)
    return dict(_info_cached(stack))


@functools.cache
def _info_cached(stack: str) -> tuple[tuple[str, str], ...]:
    return tuple(info_table().filter(pl.col("stack") == stack).row(0, named=True).items())


@functools.cache
def _params_cached(stack: str) -> tuple[tuple[str, float], ...]:
    t = table().filter(pl.col("stack") == stack)
    return tuple(zip(t["parameter"].to_list(), (float(v) for v in t["value"]), strict=True))


def params(stack: str, overrides: dict[str, float] | None = None) -> dict[str, float]:
    """The named factors of ``stack`` as a dict, with optional ``overrides``.

    Parameters
    ----------
    stack : stack name (see :func:`names`)
    overrides : {parameter: value}; names must exist in the stack, values must be real
        finite numbers (not strings or booleans)

    Raises
    ------
    UnknownNameError : unknown stack or parameter (nearest names suggested)
    ValidationError : a value that is not a finite number
    """
    stack = canonical(stack)
    p = dict(_params_cached(stack))
    if overrides is None:
        return p
    if not isinstance(overrides, dict):
        raise ValidationError(f"params = {overrides!r}: expected a dict of stack parameter -> number")
    units = _units_cached(stack)
    for k, v in overrides.items():
        if not isinstance(k, str) or k not in p:
            raise unknown(f"parameter of stack {stack}", k, p)
        from ._validate import is_real

        if not is_real(v) or not math.isfinite(float(v)):   # numpy scalars too (np.float32 is no float)
            raise ValidationError(f"stack parameter {k} = {v!r} (stack {stack}): expected a finite number "
                                  f"(unit {units[k]!r})")
        check_unit(k, float(v), units[k], stack)
        p[k] = float(v)
    return p


UNIT_BOUNDS = {
    # unit: (low, high, integer, what is allowed) — physical bounds of a factor by its unit
    "fraction": (0.0, 1.0, False, "a fraction 0..1"),
    "flag": (0.0, 1.0, True, "0 or 1"),
    "code": (0.0, 64.0, True, "an integer code >= 0"),
    "copies": (0.0, 8.0, True, "an integer 0..8 copies"),
    "-": (0.0, 100.0, False, "a dimensionless factor 0..100"),
    "bytes/param": (0.0, 16.0, False, "0..16 bytes per parameter (fp64 weights and Adam moments are 8)"),
    "bytes": (0.0, 1e12, False, "0..1e12 bytes (no accelerator holds 1 TB)"),
    "params": (0.0, 1e13, False, "0..1e13 parameters"),
    "elements": (0.0, 2.0**40, True, "an integer 0..2^40 tensor elements"),
    "calls/layer": (0.0, 64.0, True, "an integer 0..64 calls per layer"),
    "iterations": (0.0, 64.0, True, "an integer 0..64 iterations"),
    "streams": (0.0, 1024.0, True, "an integer 0..1024 streams (0: one fused kernel)"),
    "s": (0.0, 3600.0, False, "0..3600 s"),
    "tokens": (1.0, 2.0**24, True, "an integer 1..2^24 tokens"),
    "requests": (1.0, 2.0**20, True, "an integer 1..2^20 requests"),
}
"""Bounds of a stack factor by the ``unit`` column of ``data/stacks.csv`` (checked on every
override and on the table itself): a factor outside them is not a slower or faster software
stack but a different physics (a step 10^9 × longer, a negative byte count)."""


def check_unit(name: str, value: float, unit: str, stack: str = "") -> float:
    """Check one stack factor against :data:`UNIT_BOUNDS` of its unit; returns the value."""
    b = UNIT_BOUNDS.get(unit) if isinstance(unit, str) else None
    if b is None:
        raise ValidationError(f"data/{STACKS_FILE}: parameter {name} has unit {unit!r}; known units: "
                              f"{', '.join(UNIT_BOUNDS)}")
    lo, hi, integer, what = b
    from ._validate import is_real

    if not is_real(value):
        where = f" (stack {stack})" if stack else ""
        raise ValidationError(f"stack parameter {name} = {value!r:.60}{where}: expected a number (unit {unit!r}, "
                              f"allowed {what})")
    if not lo <= value <= hi or (integer and value != int(value)):
        where = f" (stack {stack})" if stack else ""
        raise ValidationError(f"stack parameter {name} = {value!r}{where}: unit {unit!r}, allowed {what}")
    return value


@functools.cache
def _units_cached(stack: str) -> dict[str, str]:
    t = table().filter(pl.col("stack") == stack)
    return dict(zip(t["parameter"].to_list(), t["unit"].to_list(), strict=True))


def default_stack(accelerator: str, purpose: str = "training") -> str:
    """The ``default`` stack of the accelerator's vendor for ``purpose``.

    Examples
    --------
    >>> default_stack("H100")
    'megatron-core-cuda'
    """
    if purpose not in PURPOSES:
        raise unknown("stack purpose", purpose, PURPOSES)
    return _default_stack(catalog.accelerator(accelerator).vendor, purpose)


@functools.cache
def _default_stack(vendor: str, purpose: str) -> str:
    """:func:`default_stack` of a vendor (memoised: every estimate and search asks for it)."""
    t = info_table().filter((pl.col("purpose") == purpose) & (pl.col("role") == "default")
                            & pl.col("vendor").is_in([vendor, "any"]))
    if t.height == 0:
        raise ValidationError(f"no default {purpose} stack for {vendor} accelerators in data/{INFO_FILE}")
    return t["stack"][0]


def check_stack(stack: str, accelerator: str, purpose: str = "training",
                where: str = "stack") -> str:
    """Validate that ``stack`` exists for ``purpose`` and runs on ``accelerator``'s vendor.

    Raises UnknownNameError (nearest names) or ValidationError naming ``where``.
    """
    stack = canonical(stack, purpose, where=where)
    valid = names(purpose)
    acc = catalog.accelerator(accelerator)
    vendor = info(stack)["vendor"]
    if vendor not in (acc.vendor, "any"):
        ok = [s for s in valid if info(s)["vendor"] in (acc.vendor, "any")]
        if purpose == "serving":
            # the stacks of the same engine (a vLLM stack's alternatives are vLLM's, not SGLang's or ATOM's)
            engine = serving_engine(stack)
            same = [s for s in ok if serving_engine(s) == engine]
            if not same:
                raise ValidationError(f"{where} = {stack!r}: an {vendor} stack cannot run on {acc.name} "
                                      f"({acc.vendor}), and {engine} has no stack there; serving stacks there: "
                                      f"{', '.join(ok)}")
            ok = same
        raise ValidationError(f"{where} = {stack!r}: an {vendor} stack cannot run on {acc.name} ({acc.vendor}); "
                              f"allowed: {', '.join(ok)}")
    return stack


def serving_engine(stack: str) -> str:
    """The engine of a serving stack: its name up to the platform (``"vllm-rocm-early"`` -> ``"vllm"``,
    ``"trt-llm-cuda"`` -> ``"trt-llm"``; data/stack_info.csv's platform column)."""
    stack = canonical(stack, "serving")
    return stack.split(f"-{info(stack)['platform']}", 1)[0]


def ranges(stack: str) -> dict[str, tuple[float, float]]:
    """Stated ranges (low, high) of the factors of ``stack`` that have one: the inputs of
    the uncertainty band of :func:`infra_lab.training.estimate_band`."""
    stack = canonical(stack)
    t = table().filter((pl.col("stack") == stack) & pl.col("low").is_not_null())
    return {p: (float(lo), float(hi)) for p, lo, hi in t.select("parameter", "low", "high").iter_rows()}
