"""The compute model's constants (data/compute_params.csv) and precision handling."""

from __future__ import annotations

import math
from functools import cache
from typing import Any

import polars as pl

from .. import catalog
from ..catalog import Col
from ..errors import ValidationError, unknown

PRECISIONS = ("fp32", "tf32", "bf16", "fp16", "fp8", "mxfp8", "fp4", "mxfp4", "nvfp4")
"""GEMM input precisions the compute model knows [-]: fp8 is per-tensor/row-wise scaled
FP8 (e4m3/e5m2; FNUZ variants on MI300X/MI325X), mxfp8/mxfp4 the OCP microscaling formats
(1×32 blocks, E8M0 scales), nvfp4 NVIDIA's FP4 with 1×16 blocks and FP8 scales."""

ELEMENT_BYTES = {p: catalog.format_bytes(p, scales=False) for p in ("fp64", *PRECISIONS)}
"""Bytes per GEMM input element by precision, scale factors excluded [bytes] (the GEMM
model adds the scales as ``cast_scale_bytes``): element_bits / 8 from the one number-format
table, :func:`infra_lab.catalog.format_bytes` (data/serving/number_formats.csv)."""

PEAK_COLUMN = {"fp32": "tf32", "tf32": "tf32", "bf16": "bf16", "fp16": "fp16", "fp8": "fp8",
               "mxfp8": "fp8", "fp4": "fp4", "mxfp4": "fp4", "nvfp4": "fp4"}
"""Which dense-peak column of data/accelerators.csv a precision runs at: fp32 GEMMs are taken to
run as TF32 on the matrix units (NVIDIA's tensor cores, CDNA 3's matrix cores) except on a part without
TF32 instructions, where they run at its FP32 matrix peak (:func:`peak_column`)."""


def peak_column(acc: catalog.Accelerator, prec: str) -> str:
    """The dense-peak column of data/accelerators.csv that a GEMM at ``prec`` runs at on ``acc``:
    :data:`PEAK_COLUMN`, except an fp32 GEMM on a part whose row lists tf32 in
    ``unsupported_precisions`` (CDNA 4: MI350X, MI355X), which runs on the FP32 matrix units
    ("fp32": the ROCm Compute Profiler's data-type table marks FP32 GEMM supported and TF32
    GEMM unsupported on CDNA 4, cited in those rows' notes). Approximation: where a part has
    TF32, an fp32 GEMM is priced as TF32 (PyTorch's ``allow_tf32`` path), not at FP32 precision."""
    if prec == "fp32" and "tf32" in acc.unsupported_precisions:
        return "fp32"
    return PEAK_COLUMN[prec]

LOW_PRECISIONS = ("fp8", "mxfp8", "fp4", "mxfp4", "nvfp4")
"""Precisions whose GEMM inputs must be quantized from 16-bit activations (cast ops)."""

BASES = ("fitted", "rule", "measured", "derived", "assumption")

_SCHEMA = {
    "accelerator": Col("str", required=True),
    "parameter": Col("str", required=True),
    "variant": Col("str"),
    "value": Col("float"),
    "low": Col("float"),
    "high": Col("float"),
    "text": Col("str"),
    "unit": Col("str"),
    "basis": Col("str", required=True, choices=BASES),
}


@cache
def compute_params() -> pl.DataFrame:
    """The compute model's constants (data/compute_params.csv) with basis, source and note.

    ``accelerator`` is a catalog name, ``default-<vendor>`` or ``*`` (any device); lookups
    try the device, then its vendor default, then ``*``. ``variant`` is a precision (GEMM
    rows), an attention kernel (attention rows) or empty. ``low``/``high`` give the stated
    range as factors on the central value. A row with no value and ``text`` of the form
    ``DEVICE:VARIANT`` defers to that row (empty DEVICE: the same device), which is how
    derived values name what they are derived from.
    """
    return catalog.read_table(catalog.DATA_DIR / "compute_params.csv", _SCHEMA)


def precision(p: Any) -> str:
    """Normalise and check a precision name."""
    if not isinstance(p, str):
        raise ValidationError(f"precision = {p!r}: expected one of {', '.join(PRECISIONS)}")
    q = p.strip().lower()
    if q not in PRECISIONS:
        raise unknown("precision", p, PRECISIONS)
    return q


def accelerator(name: Any) -> catalog.Accelerator:
    """A catalog accelerator; strings only (the catalog suggests the nearest names)."""
    if not isinstance(name, str):
        raise ValidationError(f"accelerator = {name!r}: expected a catalog name such as 'MI300X'")
    return catalog.accelerator(name)


def peak(acc: catalog.Accelerator, prec: str) -> float:
    """Dense peak [FLOP/s] of ``acc`` at GEMM precision ``prec``. MXFP8 only where the part has
    block-scaled matrix instructions (:attr:`infra_lab.catalog.Accelerator.mx_block_scaling`):
    on Hopper or CDNA 3 a ValidationError (their FP8 GEMMs are ``fp8``). NVFP4 only where the
    part takes NVIDIA's format (:attr:`infra_lab.catalog.Accelerator.nvfp4_block_scaling`:
    Blackwell): on AMD parts a ValidationError (CDNA 4's block FP4 is ``mxfp4``)."""
    if prec == "mxfp8" and not acc.mx_block_scaling:
        raise ValidationError(f"precision = 'mxfp8': {acc.name} has no block-scaled (MX) matrix instructions "
                              "(they come with the FP4 ones: NVIDIA Blackwell, AMD CDNA 4); use 'fp8'")
    if prec == "nvfp4" and not acc.nvfp4_block_scaling:
        raise ValidationError(
            f"precision = 'nvfp4': {acc.name} ({acc.vendor}) has no NVFP4 matrix instructions (NVIDIA's "
            f"format, E4M3 scales per 16 elements, NVIDIA Blackwell only); {acc.name} supports "
            f"{', '.join(supported(acc))}")
    col = peak_column(acc, prec)
    try:
        return acc.peak(col)
    except ValidationError as e:
        if col == prec:
            raise
        # the column's own error named the column ("precision = 'tf32': ..."): say which GEMM asked
        why = str(e).partition(": ")[2]
        raise ValidationError(f"precision = {prec!r} (an {prec} GEMM runs at the part's {col} peak): {why}") from None


def supported(acc: catalog.Accelerator) -> tuple[str, ...]:
    """The GEMM precisions of :data:`PRECISIONS` that ``acc`` runs (those :func:`peak` prices)."""
    out = []
    for p in PRECISIONS:
        if p == "nvfp4" and not acc.nvfp4_block_scaling:
            continue    # peak() refuses it, and its message lists supported(): no recursion
        try:
            peak(acc, p)
        except ValidationError:
            continue
        out.append(p)
    return tuple(out)


@cache
def _index() -> dict[tuple[str, str, str], dict[str, Any]]:
    out: dict[tuple[str, str, str], dict[str, Any]] = {}
    for r in compute_params().iter_rows(named=True):
        key = (r["accelerator"], r["parameter"], (r["variant"] or "").lower())
        out.setdefault(key, r)
    return out


def row(acc: catalog.Accelerator, parameter: str, variant: str | None = None) -> dict[str, Any]:
    """The row for ``parameter`` (and ``variant``) that applies to ``acc``: the device's own,
    else its vendor default, else ``*``; within each, an exact variant before a blank one."""
    idx = _index()
    v = (variant or "").lower()
    for who in (acc.name, f"default-{acc.vendor}", "*"):
        for vv in ((v, "") if v else ("",)):
            r = idx.get((who, parameter, vv))
            if r is not None:
                return r
    if not any(k[1] == parameter for k in idx):
        raise unknown("compute parameter", parameter, sorted({k[1] for k in idx}))
    what = f"{parameter!r}" + (f" ({variant})" if variant else "")
    raise ValidationError(f"compute_params.csv: no {what} row for {acc.name} ({acc.vendor}) or '*'")


def value(acc: catalog.Accelerator, parameter: str, variant: str | None = None, *,
          which: str = "value") -> float:
    """A numeric parameter [unit of its row]. ``which`` = "value" | "low" | "high": the central
    value or an end of its stated range. A row with a value gives its range in ``low`` and
    ``high`` (same unit; empty: no range). A deferral row (no value, ``text`` of the form
    ``DEVICE:VARIANT``, empty DEVICE = the same device) resolves to the named row's central
    value, and its own ``low``/``high`` are factors on that value (the uncertainty of the
    derivation)."""
    if which not in ("value", "low", "high"):
        raise ValidationError(f"which = {which!r}: allowed 'value', 'low', 'high'")
    r = row(acc, parameter, variant)
    if r["value"] is not None:
        if which != "value" and r[which] is not None:
            return float(r[which])
        return float(r["value"])
    text = (r["text"] or "").strip()
    if ":" in text:
        dev, _, var = text.partition(":")
        target = accelerator(dev) if dev else acc
        if target.name == acc.name and var.lower() == (variant or "").lower() and r["accelerator"] == acc.name:
            raise ValidationError(f"compute_params.csv: {parameter} for {acc.name} defers to itself")
        f = 1.0 if which == "value" or r[which] is None else float(r[which])
        return value(target, parameter, var or variant) * f
    raise ValidationError(f"compute_params.csv: {parameter!r} for {r['accelerator']} has no value")


def text(acc: catalog.Accelerator, parameter: str, variant: str | None = None) -> str:
    """A text parameter (tile lists, kernel names)."""
    return str(row(acc, parameter, variant)["text"] or "")


def hbm_efficiency(accelerator_name: str) -> float:
    """Achievable fraction of peak HBM bandwidth for streaming kernels [-] (measured where
    published, else the vendor default; data/compute_params.csv)."""
    return value(accelerator(accelerator_name), "hbm_efficiency")


def kernel_fixed_s(accelerator_name: str) -> float:
    """GPU-side fixed time of every kernel [s]: ramp-up, tail and the gap to the next queued
    kernel (fitted; data/compute_params.csv). CPU launch latency is not in it: in a training
    step kernels are queued ahead of the GPU."""
    return value(accelerator(accelerator_name), "kernel_fixed_s")


def launch_overhead_s(accelerator_name: str) -> float:
    """Fixed time added to every op [s]; the same as :func:`kernel_fixed_s` (kept name)."""
    return kernel_fixed_s(accelerator_name)


def check_number(name: str, x: Any, *, lo: float | None = None, hi: float | None = None,
                 lo_open: bool = False, integer: bool = False) -> float:
    """A finite real number (not a bool or string) within [lo, hi] (lo exclusive with
    ``lo_open``); integers only with ``integer``. The check is :func:`infra_lab._validate.number`
    (one owner); this keeps compute's argument order."""
    from .. import _validate

    if integer and not (_validate.is_real(x) and math.isfinite(float(x)) and float(x) == int(x)):
        raise ValidationError(f"{name} = {x!r}: expected an integer")
    v = _validate.number(name, x, lo=lo, hi=hi, lo_open=lo_open)
    return int(v) if integer else v
