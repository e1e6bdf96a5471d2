"""Compute model: rooflines, GEMM efficiency, per-layer op lists and op times.

Every op is timed as a roofline with a launch overhead::

    t = max(FLOP / (peak · efficiency), bytes / (hbm_bw · hbm_efficiency)) + launch_s

For GEMMs the efficiency comes from a tile/wave model of the device (see
:func:`gemm_efficiency`); memory-bound ops (norms, activations, residual adds, optimizer
updates) carry only their bytes. The constants of the model are data, in
``data/compute_params.csv``: macro-tiles per vendor, the K-loop depth, the small-work rule,
and one *ceiling* per device fitted to a published max-achievable GEMM figure (MI300X BF16
708 TFLOP/s at 4096×4864×32896; H100 BF16 794.5 TFLOP/s at 2048×2048×13312). Devices
with no published figure use their vendor's fitted ceiling (stated in the table).

Public calls
------------
``gemm_efficiency(m, n, k, accelerator, precision)`` [-], ``gemm_time(...)`` [s],
``gemm_times(ms, ns, ks, ...)`` (vectorised numba kernel) [s], ``op_time(flops, bytes, ...)``
[s], ``layer_ops(spec, seq_len, micro_batch, tp, ...)`` (polars op list),
``layer_times(...)`` (per-layer forward / backward / recompute seconds for the training
model), ``roofline(...)``, ``gemm_validation()`` (predicted vs published GEMM figures).

Examples
--------
>>> import infra_lab as il
>>> round(il.compute.gemm_efficiency(4096, 4864, 32896, "MI300X", "bf16"), 3)
0.542
>>> t = il.compute.gemm_time(4096, 4864, 32896, "MI300X", "bf16")
>>> round(2 * 4096 * 4864 * 32896 / t / 1e12)   # 708 TFLOP/s plus a 5 us launch
706
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cache
from typing import Any

import numpy as np
import polars as pl

from . import catalog
from .catalog import Col
from .errors import ValidationError, check_positive, unknown

__all__ = [
    "GemmModel",
    "gemm_model",
    "gemm_efficiency",
    "gemm_efficiencies",
    "gemm_time",
    "gemm_times",
    "fit_gemm_ceiling",
    "gemm_validation",
    "hbm_efficiency",
    "launch_overhead_s",
    "op_time",
    "roofline",
    "ridge_points",
    "layer_ops",
    "layer_times",
    "optimizer_step_time",
    "compute_params",
    "efficiency_grid",
    "roofline_points",
    "ELEMENT_BYTES",
]

ELEMENT_BYTES = {"fp64": 8.0, "fp32": 4.0, "tf32": 4.0, "bf16": 2.0, "fp16": 2.0, "fp8": 1.0, "fp4": 0.5}
"""Bytes per GEMM input element by precision [bytes]."""

_PARAMS_SCHEMA = {
    "accelerator": Col("str", required=True),
    "parameter": Col("str", required=True),
    "precision": Col("str"),
    "value": Col("float"),
    "text": Col("str"),
    "unit": Col("str"),
    "basis": Col("str", required=True, choices=("fitted", "rule", "measured", "derived", "assumption")),
}


# --------------------------------------------------------------------------------------
# Parameters (data/compute_params.csv)
# --------------------------------------------------------------------------------------
@cache
def compute_params() -> pl.DataFrame:
    """The compute model's constants (data/compute_params.csv) with basis, source and note.

    ``accelerator`` is a catalog name, ``default-<vendor>`` or ``*`` (any device); lookups
    try the device, then its vendor default, then ``*``. ``basis`` says whether a value is
    fitted to a measurement, a published rule, measured, derived, or an assumption.
    """
    return catalog.read_table(catalog.DATA_DIR / "compute_params.csv", _PARAMS_SCHEMA)


def _rows(acc: catalog.Accelerator, parameter: str, precision: str | None) -> dict[str, Any]:
    t = compute_params().filter(pl.col("parameter") == parameter)
    if t.height == 0:
        raise unknown("compute parameter", parameter, compute_params()["parameter"].unique().to_list())
    for who in (acc.name, f"default-{acc.vendor}", "*"):
        sub = t.filter(pl.col("accelerator") == who)
        if precision is not None:
            exact = sub.filter(pl.col("precision").str.to_lowercase() == precision)
            if exact.height:
                return exact.row(0, named=True)
        anyp = sub.filter(pl.col("precision").is_null() | (pl.col("precision") == "*"))
        if anyp.height:
            return anyp.row(0, named=True)
        if sub.height:
            return sub.row(0, named=True)
    raise ValidationError(f"compute_params.csv: no {parameter!r} row for {acc.name} ({acc.vendor}) or '*'")


def _value(acc: catalog.Accelerator, parameter: str, precision: str | None = None) -> float:
    """A numeric parameter; a row with an empty value and an accelerator name in ``text``
    defers to that accelerator (e.g. default-AMD ceiling → MI300X's fitted ceiling)."""
    r = _rows(acc, parameter, precision)
    if r["value"] is not None:
        return float(r["value"])
    if r["text"]:
        return _value(catalog.accelerator(r["text"]), parameter, precision)
    raise ValidationError(f"compute_params.csv: {parameter!r} for {r['accelerator']} has no value")


def _text(acc: catalog.Accelerator, parameter: str) -> str:
    return str(_rows(acc, parameter, None)["text"] or "")


def hbm_efficiency(accelerator: str) -> float:
    """Achievable fraction of peak HBM bandwidth [-] (measured where published, else the
    vendor default from data/compute_params.csv)."""
    return _value(catalog.accelerator(accelerator), "hbm_efficiency")


def launch_overhead_s(accelerator: str) -> float:
    """Kernel launch overhead added to every op [s] (an assumption, see the CSV note)."""
    return _value(catalog.accelerator(accelerator), "launch_overhead_s")


def _precision(precision: str) -> str:
    p = str(precision).lower()
    if p not in ELEMENT_BYTES:
        raise unknown("precision", precision, ELEMENT_BYTES)
    return p


# --------------------------------------------------------------------------------------
# The GEMM model
# --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class GemmModel:
    """Resolved GEMM-model inputs for one device and precision (all SI).

    Attributes
    ----------
    peak_flops : dense peak [FLOP/s]; compute_units : CUs / SMs [-]
    tile_m, tile_n : candidate macro-tiles [elements]; tile_eff : their intrinsic efficiency
        1 / (1 + r0·(tm + tn)/(tm·tn)) [-] (operand reuse grows with tile size)
    splits : split-K factors tried [-]; split_eff : cost of a split-K reduction [-]
    k_tile : K-loop depth [elements]; ceiling : achievable fraction at a perfect shape [-]
    w0 : small-work constant [FLOP]: efficiency × W/(W + w0)
    mem_bw_Bps : achievable HBM bandwidth [bytes/s]; in_bytes, out_bytes [bytes/element]
    launch_s : launch overhead per kernel [s]
    """

    accelerator: str
    precision: str
    peak_flops: float
    compute_units: int
    tile_m: np.ndarray
    tile_n: np.ndarray
    tile_eff: np.ndarray
    splits: np.ndarray
    split_eff: float
    k_tile: int
    ceiling: float
    w0: float
    mem_bw_Bps: float
    in_bytes: float
    out_bytes: float
    launch_s: float

    def args(self) -> tuple:
        """Kernel arguments after (ms, ns, ks, bs) and before the outputs."""
        return (self.tile_m, self.tile_n, self.tile_eff, self.splits, self.split_eff,
                self.k_tile, self.compute_units, self.ceiling, self.w0, self.peak_flops,
                self.mem_bw_Bps, self.in_bytes, self.out_bytes, self.launch_s)


def _small_work_w0(acc: catalog.Accelerator, precision: str) -> float:
    """w0 [FLOP]: the MI300X BF16 rule (efficiency reaches ``fraction`` of its large-work
    value at ``flop`` of work) turned into a fixed time at peak and scaled to this device."""
    ref = catalog.accelerator("MI300X")
    f_rule = _value(ref, "small_work_rule_flop", "bf16")
    frac = _value(ref, "small_work_rule_fraction", "bf16")
    w0_ref = f_rule * (1.0 - frac) / frac
    t0 = w0_ref / ref.peak("bf16")
    return t0 * acc.peak(precision)


@cache
def _gemm_model(name: str, precision: str, ceiling: float | None) -> GemmModel:
    acc = catalog.accelerator(name)
    p = _precision(precision)
    peak = acc.peak(p)
    tiles = [t.strip() for t in _text(acc, "macro_tiles").split(";") if t.strip()]
    tm = np.array([int(t.split("x")[0]) for t in tiles], dtype=np.int64)
    tn = np.array([int(t.split("x")[1]) for t in tiles], dtype=np.int64)
    r0 = _value(acc, "tile_reuse_elems")
    teff = 1.0 / (1.0 + r0 * (tm + tn) / (tm * tn))
    splits = np.array([int(s) for s in _text(acc, "split_k").split(";") if s.strip()], dtype=np.int64)
    eb = ELEMENT_BYTES[p]
    k_tile = max(1, int(round(_value(acc, "k_tile_bytes") / eb)))
    ceil_ = _value(acc, "gemm_ceiling") if ceiling is None else float(ceiling)
    return GemmModel(
        accelerator=acc.name, precision=p, peak_flops=peak, compute_units=int(acc.compute_units),
        tile_m=tm, tile_n=tn, tile_eff=teff, splits=splits,
        split_eff=_value(acc, "split_k_efficiency"), k_tile=k_tile, ceiling=ceil_,
        w0=_small_work_w0(acc, p), mem_bw_Bps=acc.hbm_bw_Bps * _value(acc, "hbm_efficiency"),
        in_bytes=eb, out_bytes=max(eb, 2.0), launch_s=_value(acc, "launch_overhead_s"),
    )


def gemm_model(accelerator: str, precision: str = "bf16", *, ceiling: float | None = None) -> GemmModel:
    """Resolved GEMM-model inputs for ``accelerator`` at ``precision``.

    Parameters
    ----------
    accelerator : catalog name or alias
    precision : "bf16" | "fp16" | "fp8" | "tf32" | ...
    ceiling : override the device ceiling [-] (None: data/compute_params.csv)
    """
    return _gemm_model(catalog.canonical_accelerator(accelerator), _precision(precision), ceiling)


def _as_int_array(name: str, x: Any, size: int | None = None) -> np.ndarray:
    a = np.atleast_1d(np.asarray(x))
    if size is not None and a.size == 1 and size > 1:
        a = np.full(size, a.item())
    if a.size == 0:
        return a.astype(np.int64)
    if not np.all(np.isfinite(a.astype(float))) or np.any(a <= 0):
        bad = a[~(np.isfinite(a.astype(float)) & (a > 0))][0]
        raise ValidationError(f"{name} = {bad.item()!r}: GEMM dimensions must be positive integers")
    ai = np.rint(a).astype(np.int64)
    if np.any(np.abs(ai - a.astype(float)) > 1e-9):
        raise ValidationError(f"{name}: GEMM dimensions must be integers (got non-integer values)")
    return ai


def _evaluate(ms, ns, ks, accelerator, precision, batch, reference, ceiling=None):
    from ._kernels import gemm as kg

    ms = _as_int_array("m", ms)
    ns = _as_int_array("n", ns, ms.size)
    ks = _as_int_array("k", ks, ms.size)
    if ms.size != ns.size or ms.size != ks.size:
        raise ValidationError(f"m, n, k: lengths {ms.size}, {ns.size}, {ks.size} differ")
    bs = _as_int_array("batch", 1 if batch is None else batch, ms.size)
    if bs.size != ms.size:
        raise ValidationError(f"batch: length {bs.size}, expected {ms.size}")
    g = gemm_model(accelerator, precision, ceiling=ceiling)
    eff, t = kg.empty_outputs(ms.size)
    fn = kg.gemm_reference if reference else kg.gemm_kernel
    fn(ms, ns, ks, bs, *g.args(), eff, t)
    return eff, t


def gemm_efficiencies(ms, ns, ks, accelerator: str, precision: str = "bf16", batch=None, *,
                      reference: bool = False) -> np.ndarray:
    """Vectorised :func:`gemm_efficiency` over arrays of shapes [-] (numba kernel; the
    plain-Python reference with ``reference=True``)."""
    return _evaluate(ms, ns, ks, accelerator, precision, batch, reference)[0]


def gemm_times(ms, ns, ks, accelerator: str, precision: str = "bf16", batch=None, *,
               reference: bool = False) -> np.ndarray:
    """Vectorised :func:`gemm_time` over arrays of shapes [s].

    Parameters
    ----------
    ms, ns, ks : array-like of int, same length (scalars broadcast) [elements]
    accelerator : catalog name; precision : "bf16" | "fp16" | "fp8" | ...
    batch : array-like of int or None, independent GEMMs of that shape per call [-]
    reference : use the plain-Python reference instead of the numba kernel

    Returns
    -------
    numpy.ndarray of float64 [s]

    Examples
    --------
    >>> import numpy as np, infra_lab as il
    >>> t = il.compute.gemm_times(np.array([4096, 4097]), 4864, 32896, "MI300X")
    >>> bool(t[1] > 1.1 * t[0])     # one row more spills into a second wave of tiles
    True
    """
    return _evaluate(ms, ns, ks, accelerator, precision, batch, reference)[1]


def gemm_efficiency(m: int, n: int, k: int, accelerator: str, precision: str = "bf16",
                    batch: int = 1) -> float:
    """Achieved fraction of the dense peak for one GEMM C[m×n] = A[m×k]·B[k×n] [-].

    Parameters
    ----------
    m, n, k : GEMM dimensions [elements]
    accelerator : catalog name or alias, e.g. "MI300X", "H100"
    precision : "bf16" | "fp16" | "fp8" | ...
    batch : independent GEMMs of this shape in one call (batched / grouped) [-]

    Returns
    -------
    float : efficiency in (0, 1) [-]; achieved FLOP/s = efficiency × peak(precision)

    Notes
    -----
    efficiency = ceiling · max over macro-tiles (tm, tn) and split-K s of
    [util_MN · wave · util_K · tile_eff · split_eff] = q, times W/(W + q·w0), with
    util_MN = m·n/(⌈m/tm⌉tm·⌈n/tn⌉tn), wave = tiles/(⌈tiles/CUs⌉·CUs), util_K =
    k/(⌈k/(s·tk)⌉·tk·s), W = 2·m·n·k·batch. The sizing rules (dimensions multiples of
    64/128/256, head dim a multiple of 64, tile counts filling the 304 CUs) follow from
    the quantization terms; none is coded as a rule. Not modelled: clock throttling with
    power, cache/channel conflicts of power-of-two strides (AMD's K = 32K + 128 advice),
    stream-K scheduling.

    References
    ----------
    https://rocm.blogs.amd.com/software-tools-optimization/measuring-max-achievable-flops-part2/README.html
    https://github.com/stas00/ml-engineering/blob/master/compute/accelerator/README.md

    Examples
    --------
    >>> import infra_lab as il
    >>> a = il.compute.gemm_efficiency(8192, 8192, 8192, "MI300X")
    >>> b = il.compute.gemm_efficiency(8192, 8192, 8000, "MI300X")
    >>> bool(a > b)
    True
    """
    return float(gemm_efficiencies([m], [n], [k], accelerator, precision, [batch])[0])


def gemm_time(m: int, n: int, k: int, accelerator: str, precision: str = "bf16",
              batch: int = 1) -> float:
    """Time of one GEMM [s]: max(2mnk·batch / (peak·efficiency), bytes / achievable HBM
    bandwidth) + launch overhead. See :func:`gemm_efficiency` for the parameters.

    Examples
    --------
    >>> import infra_lab as il
    >>> t = il.compute.gemm_time(2048, 2048, 13312, "H100")
    >>> round(2 * 2048 * 2048 * 13312 / (t - il.compute.launch_overhead_s("H100")) / 1e12, 1)
    794.5
    """
    return float(gemm_times([m], [n], [k], accelerator, precision, [batch])[0])


def fit_gemm_ceiling(accelerator: str, precision: str, m: int, n: int, k: int,
                     measured_flops: float) -> float:
    """The ceiling [-] that makes the model reproduce a measured GEMM rate exactly.

    Parameters
    ----------
    measured_flops : published achieved rate at shape (m, n, k) [FLOP/s]

    Notes
    -----
    The launch overhead is excluded (the published rates are per-kernel medians).
    """
    check_positive("measured_flops", measured_flops)
    e1 = float(_evaluate([m], [n], [k], accelerator, precision, [1], False, ceiling=1.0)[0][0])
    return measured_flops / (catalog.accelerator(accelerator).peak(precision) * e1)


def _gemm_rate(m, n, k, accelerator, precision) -> float:
    """Predicted GEMM rate without the launch overhead [FLOP/s] (as benchmarks report)."""
    e = gemm_efficiency(m, n, k, accelerator, precision)
    return e * catalog.accelerator(accelerator).peak(precision)


def gemm_validation() -> pl.DataFrame:
    """Predicted vs published max-achievable GEMM rates (data/device_measurements.csv).

    Returns
    -------
    polars.DataFrame
        accelerator, precision, m, n, k, published_tflops, predicted_tflops, error_pct,
        fitted (the row a ceiling was fitted to), clock_MHz, predicted_at_clock_tflops
        (prediction scaled by the row's median clock over the clock of the fitted row of the
        same device family, where both are published), error_at_clock_pct, software, source_url.
    """
    meas = catalog.device_measurements().filter(pl.col("quantity") == "gemm_tflops")
    fit_rows = compute_params().filter(pl.col("parameter") == "gemm_ceiling", pl.col("basis") == "fitted")
    fitted = {(r["accelerator"], int(r["value_m"]), int(r["value_n"]), int(r["value_k"]))
              for r in _fit_shapes(fit_rows)}
    ref_clock: dict[str, float] = {}
    for r in meas.iter_rows(named=True):
        if (r["accelerator"], r["gemm_m"], r["gemm_n"], r["gemm_k"]) in fitted and r["clock_MHz"] \
                and r["precision"].lower() == "bf16":
            ref_clock[catalog.accelerator(r["accelerator"]).vendor] = r["clock_MHz"]
    out = []
    for r in meas.iter_rows(named=True):
        acc = catalog.accelerator(r["accelerator"])
        prec = r["precision"].lower()
        pred = _gemm_rate(r["gemm_m"], r["gemm_n"], r["gemm_k"], acc.name, prec) / 1e12
        is_fit = (acc.name, r["gemm_m"], r["gemm_n"], r["gemm_k"]) in fitted and prec == "bf16"
        rc = ref_clock.get(acc.vendor)
        at_clock = pred * r["clock_MHz"] / rc if (rc and r["clock_MHz"]) else None
        out.append({
            "accelerator": acc.name, "precision": prec, "m": r["gemm_m"], "n": r["gemm_n"],
            "k": r["gemm_k"], "published_tflops": r["value"], "predicted_tflops": pred,
            "error_pct": 100.0 * (pred / r["value"] - 1.0), "fitted": is_fit,
            "clock_MHz": r["clock_MHz"], "predicted_at_clock_tflops": at_clock,
            "error_at_clock_pct": None if at_clock is None else 100.0 * (at_clock / r["value"] - 1.0),
            "software": r["software"], "source_url": r["source_url"],
        })
    return pl.DataFrame(out, infer_schema_length=None)


def _fit_shapes(fit_rows: pl.DataFrame) -> list[dict]:
    """Parse the fitted shape 'MxNxK' from the text column of fitted ceiling rows."""
    res = []
    for r in fit_rows.iter_rows(named=True):
        m, n, k = (int(x) for x in str(r["text"]).lower().split("x"))
        res.append({"accelerator": r["accelerator"], "value_m": m, "value_n": n, "value_k": k,
                    "value": r["value"], "precision": r["precision"]})
    return res


# --------------------------------------------------------------------------------------
# Rooflines and generic op times
# --------------------------------------------------------------------------------------
def op_time(flops: float, bytes_: float, accelerator: str, precision: str = "bf16", *,
            efficiency: float = 1.0, memory_efficiency: float | None = None,
            launch: bool = True) -> float:
    """Roofline time of one op [s].

    Parameters
    ----------
    flops : work [FLOP]; bytes_ : HBM traffic, reads + writes [bytes]
    accelerator : catalog name; precision : sets the peak
    efficiency : achieved fraction of peak on the compute side [-] (1 for element-wise ops)
    memory_efficiency : fraction of peak HBM bandwidth [-] (None: the device's value)
    launch : add the launch overhead

    Notes
    -----
    t = max(flops / (peak·efficiency), bytes / (hbm_bw·memory_efficiency)) + launch_s

    Examples
    --------
    >>> import infra_lab as il
    >>> t = il.compute.op_time(0, 4.33e9, "MI300X", launch=False)   # 4.33 GB at 4.33 TB/s
    >>> round(t * 1e3, 3)
    1.0
    """
    if flops < 0 or bytes_ < 0 or not (math.isfinite(flops) and math.isfinite(bytes_)):
        raise ValidationError(f"op_time: flops = {flops!r}, bytes = {bytes_!r}: must be finite and >= 0")
    check_positive("efficiency", efficiency)
    acc = catalog.accelerator(accelerator)
    me = hbm_efficiency(acc.name) if memory_efficiency is None else check_positive("memory_efficiency", memory_efficiency)
    t = max(flops / (acc.peak(precision) * efficiency), bytes_ / (acc.hbm_bw_Bps * me))
    return t + (launch_overhead_s(acc.name) if launch else 0.0)


def ridge_points(accelerators: list[str], precision: str = "bf16") -> pl.DataFrame:
    """Ridge points (peak / HBM bandwidth) of each device [FLOP/byte].

    Returns accelerator, vendor, peak_tflops [TFLOP/s], hbm_bw_TBps [TB/s], ridge_flop_per_byte,
    achievable_ridge_flop_per_byte (GEMM ceiling × peak / achievable bandwidth).
    """
    rows = []
    for a in accelerators:
        acc = catalog.accelerator(a)
        g = gemm_model(acc.name, precision)
        rows.append({
            "accelerator": acc.name, "vendor": acc.vendor, "precision": precision,
            "peak_tflops": acc.peak(precision) / 1e12, "hbm_bw_TBps": acc.hbm_bw_Bps / 1e12,
            "ridge_flop_per_byte": acc.ridge_point(precision),
            "achievable_ridge_flop_per_byte": g.ceiling * acc.peak(precision) / g.mem_bw_Bps,
        })
    return pl.DataFrame(rows)


def roofline(accelerators: list[str], precision: str = "bf16", intensities=None) -> pl.DataFrame:
    """Attainable FLOP/s against arithmetic intensity for each device.

    Parameters
    ----------
    accelerators : catalog names; precision : e.g. "bf16"
    intensities : FLOP/byte grid (default: 64 log-spaced points, 0.1 to 10,000)

    Returns
    -------
    polars.DataFrame : accelerator, vendor, intensity_flop_per_byte, attainable_tflops
        (min(peak, I × peak HBM bandwidth)) [TFLOP/s]
    """
    grid = np.logspace(-1, 4, 64) if intensities is None else np.asarray(intensities, dtype=float)
    frames = []
    for a in accelerators:
        acc = catalog.accelerator(a)
        att = np.minimum(acc.peak(precision), grid * acc.hbm_bw_Bps) / 1e12
        frames.append(pl.DataFrame({
            "accelerator": [acc.name] * grid.size, "vendor": [acc.vendor] * grid.size,
            "intensity_flop_per_byte": grid, "attainable_tflops": att,
        }))
    return pl.concat(frames)


# --------------------------------------------------------------------------------------
# Per-layer op lists
# --------------------------------------------------------------------------------------
_ACT_BYTES = 2.0  # activations and residual stream are 16-bit, also in FP8 training


def _elementwise_ops(spec, kind: str, tokens: float, tp: int, sp: bool, seq_len: int,
                     micro_batch: int, flash: bool) -> list[tuple[str, float]]:
    """(name, bytes) of the forward memory-bound ops of one layer of ``kind`` [bytes]."""
    e = _ACT_BYTES
    h = spec.hidden
    ts = tokens / tp if sp else tokens  # norms/residuals act on a 1/tp slice with SP
    ops: list[tuple[str, float]] = []
    gate = 3.0 if spec.gated else 2.0

    def attention_side() -> None:
        ops.append(("norm_attn", 2 * ts * h * e))
        if spec.pos_emb == "rope":
            if spec.attention == "mla":
                w = spec.heads * spec.qk_rope_head_dim / tp + spec.qk_rope_head_dim
            else:
                w = (spec.heads + spec.kv_heads) * spec.head_dim / tp
            ops.append(("rope", 2 * tokens * w * e))
        if spec.attention == "cca":
            c = (spec.heads + spec.kv_heads) * spec.head_dim / tp
            ops.append(("cca_conv", 2 * 2 * tokens * c * e))
        if not flash:
            s = float(seq_len)
            ops.append(("softmax", 2 * micro_batch * spec.heads / tp * s * s * e))
        ops.append(("residual_attn", 3 * ts * h * e))

    def mlp_side(width: float, rows: float, name: str) -> None:
        ops.append((f"{name}_act", (gate * rows * width / tp) * e))

    if kind in ("dense", "moe", "hybrid"):
        attention_side()
        ops.append(("norm_mlp", 2 * ts * h * e))
        if kind == "dense" or kind == "hybrid":
            mlp_side(spec.ffn_hidden, tokens, "mlp")
        else:
            ef = spec.expert_ffn_hidden or spec.ffn_hidden
            ops.append(("router_softmax_topk", 2 * tokens * (spec.experts + 1) * 4.0))
            ops.append(("moe_permute", 2 * 2 * tokens * spec.top_k * h * e))
            mlp_side(ef, tokens * spec.top_k, "experts")
            if spec.shared_experts:
                mlp_side(spec.shared_experts * spec.shared_expert_ffn_hidden, tokens, "shared_experts")
        ops.append(("residual_mlp", 3 * ts * h * e))
    if kind in ("mamba2", "hybrid"):
        di, n, g, nh = spec.d_inner, spec.ssm_state, spec.ssm_groups, spec.ssm_heads
        ops.append(("norm_ssm", 2 * ts * h * e))
        ops.append(("ssm_conv_scan", tokens * (2 * di + 2 * g * n + nh + di) / tp * e * 2))
        ops.append(("residual_ssm", 3 * ts * h * e))
    if kind == "head":
        ops.append(("final_norm", 2 * ts * h * e))
        ops.append(("cross_entropy", 2 * tokens * spec.vocab / tp * 4.0))
    return ops


def layer_ops(spec, seq_len: int, micro_batch: int = 1, tp: int = 1, accelerator: str = "MI300X",
              precision: str = "bf16", *, causal: bool = True, flash: bool = True,
              sequence_parallel: bool = False, passes: tuple[str, ...] = ("fwd",)) -> pl.DataFrame:
    """The op list of one layer of each kind, timed on ``accelerator``.

    Parameters
    ----------
    spec : ModelSpec or preset name
    seq_len : tokens per sequence s [tokens]; micro_batch : sequences b [-]
    tp : tensor-parallel size [-] (GEMM n or k divided by tp, heads split)
    accelerator, precision : device and GEMM precision (activations stay 16-bit)
    causal : causal attention (half the attention-core work)
    flash : fused attention core (no s² tensors in HBM); else a separate softmax op
    sequence_parallel : norms and residuals on a 1/tp slice of the tokens
    passes : any of "fwd", "bwd". Backward of a GEMM = two GEMMs (input gradient m×k×n,
        weight gradient n×k×m... as (k, n, m) shape), attention core 2.5× forward,
        element-wise ops 2× forward bytes.

    Returns
    -------
    polars.DataFrame
        layer_kind, pass, op, op_type ("gemm" | "attention" | "memory"), m, n, k, count,
        flops [FLOP], bytes [bytes], intensity [FLOP/byte], efficiency [-], time_s [s],
        bound ("compute" | "memory").

    Examples
    --------
    >>> import infra_lab as il
    >>> ops = il.compute.layer_ops("llama3-8b", 4096, 1, 1, "MI300X")
    >>> sorted(set(ops["op_type"]))
    ['attention', 'gemm', 'memory']
    """
    from . import models

    if isinstance(spec, str):
        spec = models.get(spec)
    for name, v in (("seq_len", seq_len), ("micro_batch", micro_batch), ("tp", tp)):
        check_positive(name, v, integer=True)
    for p in passes:
        if p not in ("fwd", "bwd"):
            raise unknown("pass", p, ["fwd", "bwd"])
    acc = catalog.accelerator(accelerator)
    prec = _precision(precision)
    g = gemm_model(acc.name, prec)
    att_eff = _value(acc, "attention_efficiency")
    table = spec.layer_gemms(seq_len, micro_batch, tp, causal)
    tokens = float(seq_len * micro_batch)
    rows: list[dict] = []
    for kind, gemms in table.items():
        for name, m, n, k, count in gemms:
            is_attn = name.startswith("attn_")
            for ps in passes:
                if ps == "fwd":
                    shapes = [(m, n, k, count)]
                elif is_attn:
                    shapes = [(m, n, k, 2.5 * count)]  # FA2 backward: 5 GEMMs vs 2 forward
                else:
                    shapes = [(m, k, n, count), (k, n, m, count)]  # dX = dY·Wᵀ, dW = Xᵀ·dY
                for j, (mm, nn, kk, cc) in enumerate(shapes):
                    rows.append({
                        "layer_kind": kind, "pass": ps,
                        "op": name if ps == "fwd" else f"{name}_{'dgrad' if j == 0 and not is_attn else ('wgrad' if not is_attn else 'bwd')}",
                        "op_type": "attention" if is_attn else "gemm",
                        "m": float(mm), "n": float(nn), "k": float(kk), "count": float(cc),
                    })
        for name, b in _elementwise_ops(spec, kind, tokens, tp, sequence_parallel, seq_len,
                                        micro_batch, flash):
            for ps in passes:
                rows.append({"layer_kind": kind, "pass": ps, "op": name if ps == "fwd" else f"{name}_bwd",
                             "op_type": "memory", "m": 0.0, "n": 0.0, "k": 0.0,
                             "count": 1.0 if ps == "fwd" else 2.0, "bytes_": b})
    df = pl.DataFrame(rows, infer_schema_length=None)
    if "bytes_" not in df.columns:
        df = df.with_columns(pl.lit(None, dtype=pl.Float64).alias("bytes_"))
    is_mm = (df["op_type"] != "memory").to_numpy()
    m = np.maximum(np.rint(df["m"].to_numpy()), 1).astype(np.int64)
    n = np.maximum(np.rint(df["n"].to_numpy()), 1).astype(np.int64)
    k = np.maximum(np.rint(df["k"].to_numpy()), 1).astype(np.int64)
    cnt = df["count"].to_numpy()
    bcount = np.maximum(np.ceil(cnt - 1e-9), 1).astype(np.int64)
    eff = np.ones(df.height)
    if is_mm.any():
        from ._kernels import gemm as kg

        e_, t_ = kg.empty_outputs(int(is_mm.sum()))
        kg.gemm_kernel(m[is_mm], n[is_mm], k[is_mm], bcount[is_mm], *g.args(), e_, t_)
        eff[is_mm] = e_
    eff = np.where((df["op_type"] == "attention").to_numpy(), eff * att_eff, eff)
    flops = np.where(is_mm, 2.0 * m * n * k * cnt, 0.0)
    eb = ELEMENT_BYTES[prec]
    gemm_bytes = cnt * ((m * k + k * n) * eb + m * n * max(eb, 2.0))
    attn = (df["op_type"] == "attention").to_numpy()
    # fused attention reads Q, K, V and writes O once: ~ (2·s·d + 2·s·d) per head-batch
    attn_bytes = cnt * (4.0 * m * np.minimum(n, k) * _ACT_BYTES)
    mem_b = np.nan_to_num(df["bytes_"].to_numpy().astype(float)) * np.where(is_mm, 0, cnt)
    byts = np.where(attn, attn_bytes, np.where(is_mm, gemm_bytes, mem_b))
    t_c = flops / (acc.peak(prec) * eff)
    t_m = byts / g.mem_bw_Bps
    t = np.maximum(t_c, t_m) + g.launch_s
    return df.drop("bytes_").with_columns(
        pl.Series("flops", flops), pl.Series("bytes", byts),
        pl.Series("intensity", np.where(byts > 0, flops / np.maximum(byts, 1e-30), 0.0)),
        pl.Series("efficiency", np.where(is_mm, eff, 0.0)), pl.Series("time_s", t),
        pl.Series("bound", np.where(t_c >= t_m, "compute", "memory")),
    )


def layer_times(spec, seq_len: int, micro_batch: int = 1, tp: int = 1, accelerator: str = "MI300X",
                precision: str = "bf16", *, recompute: str = "none", causal: bool = True,
                flash: bool = True, sequence_parallel: bool = False) -> pl.DataFrame:
    """Per-layer forward, backward and recompute time by layer kind (for the training model).

    Parameters
    ----------
    As :func:`layer_ops`; recompute : "none" | "selective" (attention core re-run) |
    "full" (whole forward re-run).

    Returns
    -------
    polars.DataFrame
        layer_kind, layers (how many layers of that kind; 1 for "head"), fwd_s, bwd_s,
        recompute_s [s per layer per micro-batch], flops_fwd [FLOP per layer].

    Examples
    --------
    >>> import infra_lab as il
    >>> lt = il.compute.layer_times("llama3-8b", 4096, 1, 1, "MI300X")
    >>> r = lt.filter(lt["layer_kind"] == "dense").row(0, named=True)
    >>> 1.7 < r["bwd_s"] / r["fwd_s"] < 2.3
    True
    """
    from . import models

    if isinstance(spec, str):
        spec = models.get(spec)
    if recompute not in ("none", "selective", "full"):
        raise unknown("recompute", recompute, ["none", "selective", "full"])
    ops = layer_ops(spec, seq_len, micro_batch, tp, accelerator, precision, causal=causal,
                    flash=flash, sequence_parallel=sequence_parallel, passes=("fwd", "bwd"))
    kinds = spec.layer_kinds()
    out = []
    for kind in ops["layer_kind"].unique(maintain_order=True).to_list():
        sub = ops.filter(pl.col("layer_kind") == kind)
        fwd = sub.filter(pl.col("pass") == "fwd")
        f = float(fwd["time_s"].sum())
        b = float(sub.filter(pl.col("pass") == "bwd")["time_s"].sum())
        if recompute == "full" and kind != "head":
            r = f
        elif recompute == "selective" and kind != "head":
            r = float(fwd.filter(pl.col("op_type") == "attention")["time_s"].sum())
        else:
            r = 0.0
        out.append({"layer_kind": kind, "layers": kinds.count(kind) if kind != "head" else 1,
                    "fwd_s": f, "bwd_s": b, "recompute_s": r, "flops_fwd": float(fwd["flops"].sum())})
    return pl.DataFrame(out)


def optimizer_step_time(params: float, accelerator: str, optimizer: str = "adamw",
                        state_bytes_per_param: float | None = None) -> float:
    """Time of the element-wise optimizer update on ``params`` local parameters [s].

    Memory-bound: AdamW reads bf16 weight + fp32 grad + fp32 master, m, v (18 B) and writes
    them back except the gradient (14 B) = 32 B/param; Muon/SGD-momentum 24 B/param (one
    fp32 state); the Newton–Schulz iterations of Muon are not counted.
    """
    check_positive("params", params, allow_zero=True)
    per = {"adamw": 32.0, "adam": 32.0, "muon": 24.0, "sgd": 24.0}
    if optimizer not in per:
        raise unknown("optimizer", optimizer, per)
    b = per[optimizer] if state_bytes_per_param is None else 2 * state_bytes_per_param + 6.0
    return op_time(0.0, params * b, accelerator)


def efficiency_grid(ms, ns, k: int, accelerator: str, precision: str = "bf16") -> pl.DataFrame:
    """GEMM efficiency over an (M, N) grid at fixed K (one numba call).

    Returns m, n, k, efficiency [-], achieved_tflops [TFLOP/s] (launch overhead excluded).
    """
    mm, nn = np.meshgrid(np.asarray(ms, dtype=np.int64), np.asarray(ns, dtype=np.int64), indexing="ij")
    mm, nn = mm.ravel(), nn.ravel()
    eff = gemm_efficiencies(mm, nn, np.full(mm.size, int(k)), accelerator, precision)
    peak = catalog.accelerator(accelerator).peak(precision)
    return pl.DataFrame({"m": mm, "n": nn, "k": np.full(mm.size, int(k)), "efficiency": eff,
                         "achieved_tflops": eff * peak / 1e12})


def roofline_points(spec, seq_len: int, micro_batch: int, accelerators: list[str],
                    precision: str = "bf16", tp: int = 1) -> pl.DataFrame:
    """Where one layer's forward ops fall on each device's roofline.

    Returns accelerator, vendor, layer_kind, op, op_type, intensity_flop_per_byte
    [FLOP/byte], achieved_tflops [TFLOP/s], time_s [s], bound. GEMMs and attention use
    their FLOP / bytes; element-wise ops (norms, activations, residuals, RoPE), whose
    matrix FLOPs are not counted, are placed at a nominal 0.25 FLOP/byte (about one FLOP
    per 16-bit element read and written) with achieved rate 0.25 × bytes / time.
    """
    frames = []
    for a in accelerators:
        acc = catalog.accelerator(a)
        ops = layer_ops(spec, seq_len, micro_batch, tp, acc.name, precision)
        ops = ops.filter(pl.col("layer_kind") != "head")
        inten = np.where(ops["flops"].to_numpy() > 0, ops["intensity"].to_numpy(), 0.25)
        achieved = np.where(ops["flops"].to_numpy() > 0, ops["flops"].to_numpy() / ops["time_s"].to_numpy(),
                            0.25 * ops["bytes"].to_numpy() / ops["time_s"].to_numpy()) / 1e12
        frames.append(ops.select("layer_kind", "op", "op_type", "time_s", "bound").with_columns(
            pl.lit(acc.name).alias("accelerator"), pl.lit(acc.vendor).alias("vendor"),
            pl.Series("intensity_flop_per_byte", inten), pl.Series("achieved_tflops", achieved)))
    return pl.concat(frames)
