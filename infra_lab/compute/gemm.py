"""The GEMM model: tile/wave quantization, stream-K, per-precision ceilings, fixed cost.

A GEMM's time is ``max(FLOP / (peak · ceiling · q), bytes / (HBM bw · hbm_eff)) + fixed``
with q the best tile/wave utilisation over the library's macro-tiles and decompositions
(data-parallel, split-K, stream-K where the library ships it; see
:mod:`infra_lab._kernels.gemm`). The *ceiling* of a device and precision is fitted so
that the model's **maximum over all shapes** equals the published max-achievable figure
(AMD's MAF, Stas Bekman's MAMF): ``ceiling = MAF / (peak · max tile efficiency)``. No
prediction can therefore exceed the measured maximum it was fitted to.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any

import numpy as np
import polars as pl

from .. import catalog
from ..errors import ValidationError
from . import _params as P

if TYPE_CHECKING:
    from collections.abc import Sequence

    import numpy.typing as npt

__all__ = [
    "GemmModel", "gemm_model", "gemm_efficiency", "gemm_efficiencies", "gemm_time",
    "gemm_times", "grouped_gemm_time", "grouped_gemm_times", "fused_grouped_model", "fused_grouped_schedule", "fused_grouped_tile",
    "run_grouped", "fit_gemm_ceiling",
    "max_efficiency", "op_time", "roofline", "ridge_points", "efficiency_grid",
]


@dataclass(frozen=True)
class GemmModel:
    """Resolved GEMM-model inputs for one device and precision (all SI).

    Attributes
    ----------
    peak_flops : dense peak at this precision [FLOP/s]; compute_units : CUs / SMs [-]
    tile_m, tile_n : candidate macro-tiles [elements]; tile_eff : their intrinsic efficiency
        1 / (1 + r0·(tm + tn)/(tm·tn)) [-] (operand reuse grows with tile size)
    splits : split-K factors tried [-]; split_eff : cost of a split-K reduction [-]
    k_tile : K-loop depth [elements]; tile_c : fixed cost per output tile [K-loop iterations]
    stream_k : 1 if the library schedules stream-K [-]
    sk_eff : stream-K fix-up cost factor [-]
    ceiling : achievable fraction at a perfect shape and the largest tile, so that
        ceiling · max(tile_eff) = published max-achievable / peak [-]
    mem_bw_Bps : achievable HBM bandwidth [bytes/s]; in_bytes, out_bytes [bytes/element]
    fixed_s : GPU-side fixed time per kernel [s]
    unit_load_Bps : operand bytes one workgroup (one compute unit) loads per second at most
        [bytes/s]; 0: no such limit (:mod:`infra_lab._kernels.gemm`, APPROXIMATE)
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
    tile_c: float
    stream_k: int
    sk_eff: float
    ceiling: float
    mem_bw_Bps: float
    in_bytes: float
    out_bytes: float
    fixed_s: float
    unit_load_Bps: float = 0.0

    def args(self, out_bytes: float | None = None) -> tuple:
        """Kernel arguments after the shape arrays and before the outputs of
        :func:`infra_lab._kernels.gemm.gemm_kernel` and :func:`~infra_lab._kernels.gemm.grouped_gemm_kernel`
        (and their references), in the order :data:`GEMM_KERNEL_ARGS` names them; ``out_bytes``
        overrides :attr:`out_bytes` [bytes/element]. To change an input, make a model with
        another value of the field (``dataclasses.replace``), never edit this tuple by position."""
        return tuple((self.out_bytes if out_bytes is None else float(out_bytes)) if f == "out_bytes"
                     else getattr(self, f) for _, f in GEMM_KERNEL_ARGS)

    def fused_args(self, out_bytes: float | None = None) -> tuple:
        """The model's arguments of :func:`infra_lab._kernels.gemm.fused_grouped_kernel` (after its
        per-problem tile arrays and before the outputs), in the order
        :data:`FUSED_GROUPED_KERNEL_ARGS` names them; ``out_bytes`` as :meth:`args`."""
        a = dict(zip((f for _, f in GEMM_KERNEL_ARGS), self.args(out_bytes), strict=True))
        return tuple(int(a[f]) if f in ("k_tile", "compute_units") else float(a[f])
                     for _, f in FUSED_GROUPED_KERNEL_ARGS)

    @property
    def max_efficiency(self) -> float:
        """Largest achieved fraction of peak over all shapes [-] (= fitted MAF / peak)."""
        return float(self.ceiling * self.tile_eff.max())


GEMM_KERNEL_ARGS: tuple[tuple[str, str], ...] = (
    ("tile_m", "tile_m"), ("tile_n", "tile_n"), ("tile_eff", "tile_eff"), ("splits", "splits"),
    ("split_eff", "split_eff"), ("k_tile", "k_tile"), ("tile_c", "tile_c"), ("cus", "compute_units"),
    ("stream_k", "stream_k"), ("sk_eff", "sk_eff"), ("ceiling", "ceiling"), ("peak", "peak_flops"),
    ("mem_bw_Bps", "mem_bw_Bps"), ("in_bytes", "in_bytes"), ("out_bytes", "out_bytes"),
    ("fixed_s", "fixed_s"), ("unit_bw", "unit_load_Bps"),
)
"""The model inputs of the GEMM kernels (:mod:`infra_lab._kernels.gemm`: ``gemm_kernel``,
``grouped_gemm_kernel`` and their references) in the order the kernels take them after the shape
arrays: (kernel parameter, :class:`GemmModel` field). The one place that maps names to positions
(:meth:`GemmModel.args`); a test checks it against the kernels' signatures."""

FUSED_GROUPED_KERNEL_ARGS: tuple[tuple[str, str], ...] = (
    ("k_tile", "k_tile"), ("tile_c", "tile_c"), ("cus", "compute_units"), ("ceiling", "ceiling"),
    ("peak", "peak_flops"), ("mem_bw_Bps", "mem_bw_Bps"), ("in_bytes", "in_bytes"),
    ("out_bytes", "out_bytes"), ("fixed_s", "fixed_s"),
)
"""The model inputs of ``fused_grouped_kernel`` and its reference (:meth:`GemmModel.fused_args`),
as :data:`GEMM_KERNEL_ARGS`: the subset that kernel takes after its per-problem tile arrays."""


def _tile_efficiency(acc: catalog.Accelerator, tm, tn):
    """Intrinsic efficiency of tm × tn macro-tiles on ``acc`` [-]: 1 / (1 + r0·(tm + tn)/(tm·tn))
    with the device's ``tile_reuse_elems`` r0 (numbers or arrays)."""
    r0 = P.value(acc, "tile_reuse_elems")
    return 1.0 / (1.0 + r0 * (tm + tn) / (tm * tn))


def _tiles(acc: catalog.Accelerator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    tiles = [t.strip() for t in P.text(acc, "macro_tiles").split(";") if t.strip()]
    tm = np.array([int(t.split("x")[0]) for t in tiles], dtype=np.int64)
    tn = np.array([int(t.split("x")[1]) for t in tiles], dtype=np.int64)
    return tm, tn, _tile_efficiency(acc, tm, tn)


def max_tile_efficiency(accelerator: str) -> float:
    """Intrinsic efficiency of the device's largest macro-tile [-]."""
    return float(_tiles(P.accelerator(accelerator))[2].max())


MX_FACTOR_PRECISIONS = ("mxfp8", "mxfp4", "nvfp4", "fp4")
"""Block-scaled precisions whose ceiling is the device's FP8 ceiling times the format's
``mx_ceiling_factor`` (data/compute_params.csv): MXFP8 fitted on B200 (torchao), MXFP4 on
MI355X (aiter's tuned MXFP4 GEMMs); NVFP4 and generic fp4 take MXFP4's factor (no NVIDIA FP4
kernel-time table by shape is ingested: an assumption, see the CSV notes and docs/compute.md)."""


@cache
def _gemm_model(name: str, prec: str, ceiling: float | None, stream_k: int | None,
                which: str) -> GemmModel:
    acc = catalog.accelerator(name)
    peak = P.peak(acc, prec)
    tm, tn, teff = _tiles(acc)
    splits = np.array([int(s) for s in P.text(acc, "split_k", prec).split(";") if s.strip()], dtype=np.int64)
    eb = P.ELEMENT_BYTES[prec]
    scale_b = P.value(acc, "cast_scale_bytes", prec) if prec in P.LOW_PRECISIONS else 0.0
    k_tile = max(1, int(round(P.value(acc, "k_tile_bytes") / eb)))
    if ceiling is not None:
        ceil_ = float(ceiling)
    elif prec in MX_FACTOR_PRECISIONS:
        ceil_ = P.value(acc, "gemm_ceiling", "fp8", which=which) * P.value(acc, "mx_ceiling_factor", prec, which=which)
    else:
        ceil_ = P.value(acc, "gemm_ceiling", prec, which=which)
    sk = int(P.value(acc, "stream_k", prec)) if stream_k is None else int(stream_k)
    return GemmModel(
        accelerator=acc.name, precision=prec, peak_flops=peak, compute_units=int(acc.compute_units),
        tile_m=tm, tile_n=tn, tile_eff=teff, splits=splits,
        split_eff=P.value(acc, "split_k_efficiency"), k_tile=k_tile,
        tile_c=P.value(acc, "tile_overhead_iters"), stream_k=sk,
        sk_eff=P.value(acc, "stream_k_efficiency"), ceiling=ceil_,
        mem_bw_Bps=acc.hbm_bw_Bps * P.value(acc, "hbm_efficiency"),
        in_bytes=eb + scale_b, out_bytes=max(eb, P.value(acc, "activation_bytes")),
        fixed_s=P.value(acc, "kernel_fixed_s", prec),
        unit_load_Bps=P.value(acc, "unit_load_Bps", prec),
    )


def gemm_model(accelerator: str, precision: str = "bf16", *, ceiling: float | None = None,
               stream_k: bool | None = None, which: str = "value") -> GemmModel:
    """Resolved GEMM-model inputs for ``accelerator`` at ``precision``.

    Parameters
    ----------
    accelerator : catalog name or alias
    precision : one of :data:`infra_lab.compute.PRECISIONS`
    ceiling : override the device ceiling [-] (None: data/compute_params.csv)
    stream_k : override whether the library schedules stream-K (None: the data row)
    which : "value" | "low" | "high": the ceiling's central value or an end of its range
    """
    acc = P.accelerator(accelerator)
    prec = P.precision(precision)
    if ceiling is not None:
        ceiling = P.check_number("ceiling", ceiling, lo=0.0, hi=1.0, lo_open=True)
    if stream_k is not None and not isinstance(stream_k, bool):
        raise ValidationError(f"stream_k = {stream_k!r}: expected True, False or None")
    if which not in ("value", "low", "high"):
        raise ValidationError(f"which = {which!r}: allowed 'value', 'low', 'high'")
    return _gemm_model(acc.name, prec, ceiling, None if stream_k is None else int(stream_k), which)


def max_efficiency(accelerator: str, precision: str = "bf16") -> float:
    """The model's largest achieved fraction of peak over all shapes [-]; by the fit equal to
    the published max-achievable rate / peak for fitted devices."""
    return gemm_model(accelerator, precision).max_efficiency


# --------------------------------------------------------------------------------------
# Evaluation
# --------------------------------------------------------------------------------------
def _dims(name: str, x: Any, size: int | None = None, *, allow_zero: bool = False) -> np.ndarray:
    if isinstance(x, (str, bytes)) or (isinstance(x, (list, tuple)) and any(isinstance(v, (str, bool)) for v in x)):
        raise ValidationError(f"{name} = {x!r}: GEMM dimensions must be positive integers")
    try:
        a = np.atleast_1d(np.asarray(x))
    except Exception as e:  # ragged lists and the like
        raise ValidationError(f"{name}: cannot read as an array of integers ({e})") from None
    if a.dtype.kind not in "iuf":
        raise ValidationError(f"{name} = {x!r}: GEMM dimensions must be positive integers")
    if a.ndim != 1:
        raise ValidationError(f"{name} = {x!r}: expected one dimension per GEMM (a number or a flat list), "
                              f"got shape {a.shape}")
    if size is not None and a.size not in (1, size):
        raise ValidationError(f"{name}: {a.size} values, expected 1 or {size} (one per GEMM)")
    if size is not None and a.size == 1 and size > 1:
        a = np.full(size, a.item())
    if a.size == 0:
        return a.astype(np.int64)
    af = a.astype(float)
    ok = np.isfinite(af) & ((af >= 0) if allow_zero else (af > 0)) & (af < 2**40)
    if not np.all(ok):
        bad = a[~ok][0]
        lim = ">= 0" if allow_zero else "> 0"
        raise ValidationError(f"{name} = {bad.item()!r}: GEMM dimensions must be finite integers {lim} and < 2**40")
    ai = np.rint(af).astype(np.int64)
    if np.any(np.abs(ai - af) > 1e-9):
        raise ValidationError(f"{name}: GEMM dimensions must be integers (got non-integer values)")
    if not allow_zero and np.any(ai < 1):  # e.g. 1e-300: positive, but it rounds to a 0-sized GEMM
        bad = a[ai < 1][0]
        raise ValidationError(f"{name} = {bad.item()!r}: GEMM dimensions must be integers >= 1 (it rounds to 0)")
    return ai


def _one(name: str, x: Any) -> Any:
    """One GEMM dimension: a number (lists belong to the plural functions)."""
    if isinstance(x, (list, tuple, dict, set)) or (isinstance(x, np.ndarray) and x.ndim):
        raise ValidationError(f"{name} = {x!r}: expected one number (for several GEMMs use gemm_efficiencies/"
                              "gemm_times)")
    return x


def _evaluate(ms, ns, ks, accelerator, precision, batch, reference, ceiling=None, stream_k=None,
              out_bytes=None):
    from .._kernels import gemm as kg

    given_m = ms
    ms = _dims("m", ms)
    if ms.size == 0 and batch is None:   # "batch: length 1, expected 0" before, with no batch given
        raise ValidationError(f"m = {given_m!r}: expected at least one GEMM shape (m, n, k) [elements]")
    ns = _dims("n", ns, ms.size)
    ks = _dims("k", ks, ms.size)
    if ms.size != ns.size or ms.size != ks.size:
        raise ValidationError(f"m, n, k: lengths {ms.size}, {ns.size}, {ks.size} differ")
    bs = _dims("batch", 1 if batch is None else batch, ms.size)
    if bs.size != ms.size:
        raise ValidationError(f"batch: length {bs.size}, expected {ms.size}")
    g = gemm_model(accelerator, precision, ceiling=ceiling, stream_k=stream_k)
    eff, t = kg.empty_outputs(ms.size)
    fn = kg.gemm_reference if reference else kg.gemm_kernel
    fn(ms, ns, ks, bs, *g.args(out_bytes), eff, t)
    return eff, t


def gemm_efficiencies(ms: npt.ArrayLike, ns: npt.ArrayLike, ks: npt.ArrayLike, accelerator: str,
                      precision: str = "bf16", batch: npt.ArrayLike | None = None, *,
                      reference: bool = False, stream_k: bool | None = None) -> np.ndarray:
    """Vectorised :func:`gemm_efficiency` [-] (numba kernel; the plain-Python reference with
    ``reference=True``)."""
    return _evaluate(ms, ns, ks, accelerator, precision, batch, reference, stream_k=stream_k)[0]


def gemm_times(ms: npt.ArrayLike, ns: npt.ArrayLike, ks: npt.ArrayLike, accelerator: str,
               precision: str = "bf16", batch: npt.ArrayLike | None = None, *,
               reference: bool = False, stream_k: bool | None = None,
               out_bytes: float | None = None) -> np.ndarray:
    """Vectorised :func:`gemm_time` over arrays of shapes [s].

    Parameters
    ----------
    ms, ns, ks : array-like of int, same length (scalars broadcast) [elements]
    accelerator : catalog name; precision : see :data:`infra_lab.compute.PRECISIONS`
    batch : array-like of int or None, independent GEMMs of that shape per call [-]
    reference : use the plain-Python reference instead of the numba kernel
    stream_k : override the library's stream-K scheduling (None: data)
    out_bytes : bytes per output element written (None: 16-bit; 8 for an fp32
        read-modify-write accumulation into a main-grad buffer) [bytes]

    Returns
    -------
    numpy.ndarray of float64 [s]

    Examples
    --------
    >>> import numpy as np, infra_lab as il
    >>> t = il.compute.gemm_times(np.array([4096, 4097]), 4864, 32896, "MI300X")
    >>> bool(t[1] > 1.05 * t[0])    # one row more pads a 17th row of 256-row tiles
    True
    """
    if out_bytes is not None:
        out_bytes = P.check_number("out_bytes", out_bytes, lo=0.0)
    return _evaluate(ms, ns, ks, accelerator, precision, batch, reference, stream_k=stream_k,
                     out_bytes=out_bytes)[1]


def gemm_efficiency(m: int, n: int, k: int, accelerator: str, precision: str = "bf16",
                    batch: int = 1) -> float:
    """Achieved fraction of the dense peak for one GEMM C[m×n] = A[m×k]·B[k×n] [-].

    Parameters
    ----------
    m, n, k : GEMM dimensions [elements]
    accelerator : catalog name or alias, e.g. "MI300X", "H100"
    precision : "bf16" | "fp16" | "fp8" | "mxfp8" | "fp4" | ...
    batch : independent GEMMs of this shape in one call (batched) [-]

    Returns
    -------
    float : 2mnk·batch / (time · peak) in (0, max_efficiency] [-], the fixed per-kernel cost
        and the memory bound included

    Notes
    -----
    time = max(2mnk·batch / (peak·ceiling·q), bytes / (HBM bw·hbm_eff)) + fixed, with q the
    best over macro-tiles (tm, tn), split-K s and (where the library ships it) stream-K of
    util_MN · util_K · wave · tile_eff (see :mod:`infra_lab._kernels.gemm`). The sizing rules
    (dimensions multiples of 64/128/256, head dim a multiple of 64, tile counts filling the
    CUs) follow from the quantization terms; none is coded as a rule. Not modelled: clock
    changes with power at small loads, cache/channel conflicts of power-of-two strides
    (AMD's K = 32K + 128 advice), the XCD split of MI300X.

    References
    ----------
    https://rocm.blogs.amd.com/software-tools-optimization/measuring-max-achievable-flops-part2/README.html
    https://github.com/stas00/ml-engineering/blob/master/compute/accelerator/README.md
    https://arxiv.org/abs/2301.03598 (stream-K)

    Examples
    --------
    >>> import infra_lab as il
    >>> a = il.compute.gemm_efficiency(8192, 8192, 8192, "MI300X")
    >>> b = il.compute.gemm_efficiency(8192, 8192, 8000, "MI300X")
    >>> bool(a > b)
    True
    """
    m, n, k, batch = (_one(x, v) for x, v in (("m", m), ("n", n), ("k", k), ("batch", batch)))
    return float(gemm_efficiencies([m], [n], [k], accelerator, precision, [batch])[0])


def gemm_time(m: int, n: int, k: int, accelerator: str, precision: str = "bf16",
              batch: int = 1) -> float:
    """Time of one GEMM kernel [s]: max(compute, memory) + the fixed per-kernel cost. See
    :func:`gemm_efficiency` for the parameters.

    Examples
    --------
    >>> import infra_lab as il
    >>> t = il.compute.gemm_time(8192, 8192, 8192, "H100")
    >>> round(2 * 8192**3 / t / 1e12) <= 794.5    # never above the measured MAMF
    True
    """
    m, n, k, batch = (_one(x, v) for x, v in (("m", m), ("n", n), ("k", k), ("batch", batch)))
    return float(gemm_times([m], [n], [k], accelerator, precision, [batch])[0])


def _grouped_variant(precision: str) -> str | None:
    """The variant of the fused grouped kernel's rows (``grouped_mm_factor``, ``grouped_mm_schedule``)
    that a precision runs as: 16-bit operands -> ``bf16`` (``torch._grouped_mm``), FP8 with
    row-wise or tensor-wise scales -> ``fp8`` (``torch._scaled_grouped_mm``); None for the
    block-scaled formats (their grouped kernels are other libraries')."""
    return "bf16" if precision in ("bf16", "fp16") else "fp8" if precision == "fp8" else None


def fused_grouped_model(g: GemmModel) -> GemmModel:
    """The GEMM model of a fused grouped kernel (``streams = 0``: PyTorch's ``torch._grouped_mm``,
    which torchtitan's MoE experts call, or ``torch._scaled_grouped_mm`` for FP8): the dense
    model with its ceiling times the device's ``grouped_mm_factor`` for the precision's variant
    (data/compute_params.csv; 1 where no shortfall of that kernel against the dense ceiling is
    measured) and its fixed cost times the kernels PyTorch launches per call (``kernels`` of the
    device's ``grouped_mm_schedule``: a one-block kernel that writes the groups' pointers,
    strides and shapes, then the grouped GEMM; 1 where no schedule row). Block-scaled grouped
    GEMMs (MXFP8, FP4) keep their own ceilings (MXFP8's is fitted to the scaled grouped kernel
    itself)."""
    var = _grouped_variant(g.precision)
    if var is None:
        return g
    acc = catalog.accelerator(g.accelerator)
    f = P.value(acc, "grouped_mm_factor", var)
    sched = fused_grouped_schedule(acc.name, g.precision)
    kernels = sched["kernels"] if sched else 1
    if f == 1.0 and kernels == 1:
        return g
    return dataclasses.replace(g, ceiling=g.ceiling * f, fixed_s=g.fixed_s * kernels)


_SCHED_KEYS = ("small", "large", "other", "cluster", "kernels", "small_max", "large_min")


@cache
def fused_grouped_schedule(accelerator: str, precision: str = "bf16") -> dict | None:
    """How PyTorch's fused grouped kernel on ``accelerator`` picks its macro-tile for ``precision``
    (the ``grouped_mm_schedule`` row of data/compute_params.csv, read from PyTorch's
    ``GroupMM.cu`` / ``ScaledGroupMM.cu``), or None where no row states it (the model then takes
    the best of the dense macro-tiles and decompositions, :func:`grouped_gemm_times`).

    Returns
    -------
    dict or None
        small, large, other: (tm, tn) macro-tile [elements] (``large`` None where the rule has
        no large case); cluster: (cm, cn) [CTAs]; kernels: kernels per call [-]; small_max:
        the dispatch's bound for the small tile, large_min: for the large tile (None where the
        rule has no large case) [elements]
    """
    acc = P.accelerator(accelerator)
    var = _grouped_variant(P.precision(precision))
    if var is None:
        return None
    txt = P.text(acc, "grouped_mm_schedule", var).strip()
    if not txt:
        return None
    out: dict = {"large": None, "large_min": None}
    for part in txt.split(";"):
        key, _, val = part.strip().partition("=")
        key = key.strip()
        if key not in _SCHED_KEYS:
            raise ValidationError(f"compute_params.csv: grouped_mm_schedule {txt!r} for {acc.name}: "
                                  f"unknown key {key!r} (allowed {', '.join(_SCHED_KEYS)})")
        if key in ("kernels", "small_max", "large_min"):
            out[key] = int(val)
        else:
            a, _, b = val.strip().partition("x")
            out[key] = (int(a), int(b))
    missing = [k for k in ("small", "other", "cluster", "kernels", "small_max") if k not in out]
    if (out["large"] is None) != (out["large_min"] is None):
        missing.append("large and large_min together")
    if missing:
        raise ValidationError(f"compute_params.csv: grouped_mm_schedule {txt!r} for {acc.name} lacks {missing}")
    return out


def fused_grouped_tile(sched: dict, m: float, n: float, k: float) -> tuple[int, int]:
    """The macro-tile (tm, tn) PyTorch's grouped kernel picks for groups of mean shape (m, n, k)
    [elements] (the dispatch in ``GroupMM.cu`` / ``ScaledGroupMM.cu``, which divides the ragged
    dimension by the group count): ``small`` when m or n is at most ``small_max`` (128 in
    PyTorch's sm90/sm100 dispatch); else ``large`` (where the rule has one) when two of m, n, k
    are at least ``large_min`` (2048 in its FP8 sm90 dispatch); else ``other``. The bounds are
    the schedule's (data/compute_params.csv)."""
    lo = sched["small_max"]
    if m <= lo or n <= lo:
        return sched["small"]
    hi = sched["large_min"]
    if sched["large"] is not None and ((m >= hi and k >= hi) or (m >= hi and n >= hi) or (k >= hi and n >= hi)):
        return sched["large"]
    return sched["other"]


def run_grouped(g: GemmModel, offsets: npt.ArrayLike, gms: np.ndarray, gns: np.ndarray,
                gks: np.ndarray, streams: int = 0, *,
                out_bytes: float | None = None, reference: bool = False,
                pytorch: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """(efficiency [-], time [s]) of grouped problems (``offsets`` into int64 arrays gms, gns, gks,
    as :func:`infra_lab._kernels.gemm.grouped_gemm_kernel`). ``g`` is the model to use (pass
    :func:`fused_grouped_model` of the dense one for ``streams = 0``; the calibration passes one
    with fields replaced, ``dataclasses.replace``). With ``streams = 0`` on a
    device whose ``grouped_mm_schedule`` is stated, each problem runs as PyTorch's CUTLASS grouped
    kernel: the tile its dispatch picks from the problem's mean group shape, cluster-rounded
    tiles, one persistent data-parallel wave schedule (:func:`infra_lab._kernels.gemm.fused_grouped_kernel`);
    otherwise (and for another library's fused kernel, ``pytorch=False``: DeepGEMM) the best tile
    and decomposition (:func:`infra_lab._kernels.gemm.grouped_gemm_kernel`)."""
    from .._kernels import gemm as kg

    offs = np.asarray(offsets, dtype=np.int64)
    eff, t = kg.empty_outputs(offs.size - 1)
    sched = fused_grouped_schedule(g.accelerator, g.precision) if int(streams) == 0 and pytorch else None
    if sched is None:
        fn = kg.grouped_gemm_reference if reference else kg.grouped_gemm_kernel
        fn(offs, gms, gns, gks, int(streams), *g.args(out_bytes), eff, t)
        return eff, t
    npb = offs.size - 1
    ptm, ptn, pcm, pcn = (np.empty(npb, dtype=np.int64) for _ in range(4))
    for p in range(npb):
        lo, hi = int(offs[p]), int(offs[p + 1])
        G = max(1, hi - lo)
        tm, tn = fused_grouped_tile(sched, float(np.sum(gms[lo:hi])) / G, float(np.sum(gns[lo:hi])) / G,
                                    float(np.sum(gks[lo:hi])) / G)
        ptm[p], ptn[p] = tm, tn
        pcm[p], pcn[p] = sched["cluster"]
    pte = _tile_efficiency(catalog.accelerator(g.accelerator), ptm, ptn)
    # the fused kernel takes no per-unit load limit (docs/compute.md)
    fn = kg.fused_grouped_reference if reference else kg.fused_grouped_kernel
    fn(offs, gms, gns, gks, ptm, ptn, pte, pcm, pcn, *g.fused_args(out_bytes), eff, t)
    return eff, t


def grouped_gemm_times(groups: Sequence[Sequence[tuple[int, int, int]]], accelerator: str,
                       precision: str = "bf16", *,
                       reference: bool = False, stream_k: bool | None = None,
                       out_bytes: float | None = None,
                       streams: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Time and achieved efficiency of grouped GEMMs (one kernel per problem, or a loop of
    per-group GEMMs over ``streams`` streams).

    Parameters
    ----------
    groups : list of problems, each a sequence of (m, n, k) per group [elements]; m may be
        0 (an expert with no tokens)
    accelerator, precision, reference, stream_k, out_bytes : as :func:`gemm_times`
    streams : 0 (default): one fused grouped kernel whose groups' tiles share waves, at the
        device's fused grouped-kernel ceiling (:func:`fused_grouped_model`); where the device's
        ``grouped_mm_schedule`` is stated (Hopper, Blackwell), with the tile PyTorch's dispatch
        picks and CUTLASS's persistent data-parallel schedule (:func:`run_grouped`; ``stream_k``
        does not apply to it); S >= 1: the library loops over the non-empty groups as separate GEMMs issued
        round-robin on S streams (Transformer Engine's GroupedLinear on its default cuBLAS /
        hipBLASLt path: 4), approximated as consecutive chunks of S groups, each one grouped
        kernel, times added (:mod:`infra_lab._kernels.gemm`) [-]

    Returns
    -------
    (time_s [s], efficiency [-]) arrays, one entry per problem
    """
    if not isinstance(groups, (list, tuple)) or not groups:
        raise ValidationError("groups: expected a non-empty list of problems, each a list of (m, n, k)")
    offs = [0]
    rows: list[tuple] = []
    for i, prob in enumerate(groups):
        try:
            shapes = [tuple(s) for s in prob]
        except TypeError:
            raise ValidationError(f"groups[{i}] = {prob!r}: expected a list of (m, n, k)") from None
        if not shapes or any(len(s) != 3 for s in shapes):
            raise ValidationError(f"groups[{i}]: expected a non-empty list of (m, n, k) triples")
        rows.extend(shapes)
        offs.append(len(rows))
    arr = np.array(rows, dtype=object)
    gms = _dims("m", list(arr[:, 0]), allow_zero=True)
    gns = _dims("n", list(arr[:, 1]))
    gks = _dims("k", list(arr[:, 2]))
    if out_bytes is not None:
        out_bytes = P.check_number("out_bytes", out_bytes, lo=0.0)
    streams = P.check_number("streams", streams, lo=0, hi=1024, integer=True)
    g = gemm_model(accelerator, precision, stream_k=stream_k)
    if streams == 0:
        g = fused_grouped_model(g)
    eff, t = run_grouped(g, np.array(offs, dtype=np.int64), gms, gns, gks, int(streams),
                         out_bytes=out_bytes, reference=reference)
    return t, eff


def grouped_gemm_time(groups: Sequence[tuple[int, int, int]], accelerator: str,
                      precision: str = "bf16", *, streams: int = 0) -> float:
    """Time of one grouped GEMM [s]: ``groups`` is a list of (m, n, k) per group.

    Every group is padded to the shared macro-tile separately and the sum of all groups'
    tiles is quantized into waves, so many small groups (MoE experts with few tokens each)
    are slow. ``streams`` as :func:`grouped_gemm_times` (0: one fused kernel).

    Examples
    --------
    >>> import infra_lab as il
    >>> one = il.compute.grouped_gemm_time([(8320, 4096, 2048)], "MI300X")
    >>> many = il.compute.grouped_gemm_time([(130, 4096, 2048)] * 64, "MI300X")
    >>> bool(many > 1.2 * one)   # every 130-row group pads to a whole tile
    True
    """
    if isinstance(groups, (list, tuple)) and len(groups) == 0:
        raise ValidationError(f"groups = {groups!r}: expected a non-empty list of (m, n, k), one per group")
    return float(grouped_gemm_times([groups], accelerator, precision, streams=streams)[0][0])


def fit_gemm_ceiling(accelerator: str, precision: str, measured_max_flops: float) -> float:
    """The ceiling [-] that makes the model's maximum over all shapes equal a published
    max-achievable rate: ``measured / (peak · max tile efficiency)``.

    Parameters
    ----------
    measured_max_flops : published max-achievable GEMM rate (MAF / MAMF) [FLOP/s]
    """
    P.check_number("measured_max_flops", measured_max_flops, lo=0.0, lo_open=True)
    acc = P.accelerator(accelerator)
    prec = P.precision(precision)
    c = measured_max_flops / (P.peak(acc, prec) * max_tile_efficiency(acc.name))
    if c > 1.0:
        raise ValidationError(f"measured_max_flops = {measured_max_flops:.4g}: above {acc.name}'s {prec} peak")
    return c


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
    launch : add the fixed per-kernel cost

    Notes
    -----
    t = max(flops / (peak·efficiency), bytes / (hbm_bw·memory_efficiency)) + kernel_fixed_s

    Examples
    --------
    >>> import infra_lab as il
    >>> t = il.compute.op_time(0, 4.33e9, "MI300X", launch=False)   # 4.33 GB at 4.33 TB/s
    >>> round(t * 1e3, 3)
    1.0
    """
    f = P.check_number("flops", flops, lo=0.0)
    b = P.check_number("bytes_", bytes_, lo=0.0)
    e = P.check_number("efficiency", efficiency, lo=0.0, hi=1.0, lo_open=True)
    acc = P.accelerator(accelerator)
    prec = P.precision(precision)
    me = P.hbm_efficiency(acc.name) if memory_efficiency is None else \
        P.check_number("memory_efficiency", memory_efficiency, lo=0.0, hi=1.0, lo_open=True)
    if not isinstance(launch, bool):
        raise ValidationError(f"launch = {launch!r}: expected True or False")
    t = max(f / (P.peak(acc, prec) * e), b / (acc.hbm_bw_Bps * me))
    return t + (P.kernel_fixed_s(acc.name) if launch else 0.0)


def ridge_points(accelerators: list[str], precision: str = "bf16") -> pl.DataFrame:
    """Ridge points (peak / HBM bandwidth) of each device [FLOP/byte].

    Returns accelerator, vendor, precision, peak_tflops [TFLOP/s], hbm_bw_TBps [TB/s],
    ridge_flop_per_byte, max_achievable_tflops (fitted max GEMM rate) [TFLOP/s],
    achievable_ridge_flop_per_byte (max-achievable rate / achievable bandwidth).
    """
    rows = []
    for a in _names(accelerators):
        acc = P.accelerator(a)
        g = gemm_model(acc.name, precision)
        rows.append({
            "accelerator": acc.name, "vendor": acc.vendor, "precision": g.precision,
            "peak_tflops": g.peak_flops / 1e12, "hbm_bw_TBps": acc.hbm_bw_Bps / 1e12,
            "ridge_flop_per_byte": g.peak_flops / acc.hbm_bw_Bps,
            "max_achievable_tflops": g.max_efficiency * g.peak_flops / 1e12,
            "achievable_ridge_flop_per_byte": g.max_efficiency * g.peak_flops / g.mem_bw_Bps,
        })
    return pl.DataFrame(rows)


def _names(accelerators: Any) -> list[str]:
    if isinstance(accelerators, str) or not isinstance(accelerators, (list, tuple)) or not accelerators:
        raise ValidationError(f"accelerators = {accelerators!r}: expected a non-empty list of catalog names")
    return list(accelerators)


def roofline(accelerators: list[str], precision: str = "bf16",
             intensities: npt.ArrayLike | None = None) -> pl.DataFrame:
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
    from .. import _validate

    grid = np.logspace(-1, 4, 64) if intensities is None else np.atleast_1d(
        _validate.float_array("intensities", intensities, "FLOP/byte"))
    if grid.size == 0 or not np.all(np.isfinite(grid)) or np.any(grid <= 0):
        raise ValidationError("intensities: expected positive finite FLOP/byte values")
    prec = P.precision(precision)
    frames = []
    for a in _names(accelerators):
        acc = P.accelerator(a)
        att = np.minimum(P.peak(acc, prec), grid * acc.hbm_bw_Bps) / 1e12
        frames.append(pl.DataFrame({
            "accelerator": [acc.name] * grid.size, "vendor": [acc.vendor] * grid.size,
            "intensity_flop_per_byte": grid, "attainable_tflops": att,
        }))
    return pl.concat(frames)


def efficiency_grid(ms: npt.ArrayLike, ns: npt.ArrayLike, k: int, accelerator: str,
                    precision: str = "bf16", *,
                    stream_k: bool | None = None) -> pl.DataFrame:
    """GEMM efficiency over an (M, N) grid at fixed K (one numba call).

    Returns m, n, k, efficiency [-], achieved_tflops [TFLOP/s] (fixed cost included).
    """
    k = P.check_number("k", k, lo=1, integer=True)
    given = {"ms": ms, "ns": ns}
    ms, ns = _dims("ms", ms), _dims("ns", ns)
    for name, a in (("ms", ms), ("ns", ns)):
        if a.size == 0:   # an empty grid raised "batch: length 1, expected 0"
            raise ValidationError(f"{name} = {given[name]!r}: expected at least one dimension [elements]")
    mm, nn = np.meshgrid(ms, ns, indexing="ij")
    mm, nn = mm.ravel(), nn.ravel()
    eff = gemm_efficiencies(mm, nn, np.full(mm.size, k), accelerator, precision, stream_k=stream_k)
    peak = gemm_model(accelerator, precision).peak_flops
    return pl.DataFrame({"m": mm, "n": nn, "k": np.full(mm.size, k), "efficiency": eff,
                         "achieved_tflops": eff * peak / 1e12})
