"""Calibration and validation of the compute model against published kernel measurements.

Two data files:

* ``data/device_measurements.csv``: the max-achievable GEMM rates (AMD MAF, Stas Bekman's
  MAMF, ...) each ceiling is fitted to (``ceiling = MAF / (peak · max tile efficiency)``);
* ``data/compute_measurements.csv``: the check set — GEMM shape sweeps, grouped GEMMs,
  fused-attention sweeps and quantization kernels, each row ``train`` (used by
  :func:`calibrate` to fit the fixed per-kernel cost, the synchronised-call overhead, the
  attention efficiencies and B200's streaming bandwidth) or ``test`` (never used to fit).

:func:`calibrate` recomputes every ``fitted`` and calibration-``derived`` value of
``data/compute_params.csv`` from these files; a test asserts that the stored values equal
it. :func:`validation_table` gives the prediction and error of every check-set row.
"""

from __future__ import annotations

import dataclasses
import math
from functools import cache

import numpy as np
import polars as pl

from .. import catalog
from ..catalog import Col
from ..errors import ValidationError
from . import _params as P
from .attention import _F as _ATTN_F
from .attention import _core as _attn_core
from .gemm import (
    GemmModel,
    fit_gemm_ceiling,
    fused_grouped_model,
    fused_grouped_schedule,
    gemm_model,
    run_grouped,
)

__all__ = ["compute_measurements", "calibrate", "validation_table", "validation_summary",
           "device_kernels", "device_check_table", "device_check_summary", "device_gemm_layout_check",
           "gemm_validation", "ceiling_fits", "attention_cap_comparison", "power_limit_derate",
           "ATTN_CAPPED_AT_MEASURED", "four_bit_gemm_measurements", "four_bit_gemm_table",
           "four_bit_gemm_summary", "mx4_ceiling_factor_fit", "four_bit_load_fit"]

_MEAS_SCHEMA = {
    "case": Col("str", required=True), "kind": Col("str", required=True,
                                                   choices=("gemm", "grouped_gemm", "attention", "cast")),
    "accelerator": Col("str", required=True), "precision": Col("str", required=True),
    "m": Col("int"), "n": Col("int"), "k": Col("int"), "groups": Col("int"),
    "grouped_dim": Col("str"), "batch_heads": Col("float"), "head_dim": Col("int"),
    "seq_len": Col("int"), "causal": Col("bool"), "pass": Col("str"), "software": Col("str"),
    "timing": Col("str", required=True, choices=("kernel", "sync_call")),
    "value": Col("float", required=True, positive=True), "unit": Col("str", required=True),
    "role": Col("str", required=True, choices=("train", "test")),
}


@cache
def compute_measurements() -> pl.DataFrame:
    """The compute check set (data/compute_measurements.csv), with its train/test split."""
    return catalog.read_table(catalog.DATA_DIR / "compute_measurements.csv", _MEAS_SCHEMA)


# --------------------------------------------------------------------------------------
# Predictions for one check-set row, with parameters that may be overridden while fitting
# --------------------------------------------------------------------------------------
def _gemm_pred(r: dict, fixed: float | None = None, hbm_eff: float | None = None,
               sync: float | None = None, tile_c: float | None = None,
               ceiling_scale: float = 1.0) -> float:
    """Predicted rate [FLOP/s] (gemm, grouped_gemm; a ``fwd_bwd`` grouped row: its three GEMMs'
    FLOP over the forward + backward time, loss included) or time [s] (cast) of a check-set row."""
    from .._kernels import gemm as kg

    acc = catalog.accelerator(r["accelerator"])
    g = gemm_model(acc.name, r["precision"])
    # one fused grouped kernel: PyTorch's (torch._grouped_mm / _scaled_grouped_mm) priced as PyTorch
    # runs it; another library's (DeepGEMM) with the dense model's best tile and decomposition
    torch_fused = r["kind"] == "grouped_gemm" and str(r.get("software") or "").startswith("torch._")
    if torch_fused:
        g = fused_grouped_model(g)
    if fixed is not None:       # a fused grouped call pays it once per kernel it launches
        fixed *= _fused_kernels(acc, r) if torch_fused else 1
    g = _override(g, acc, fixed=fixed, hbm_eff=hbm_eff, tile_c=tile_c, ceiling_scale=ceiling_scale)
    eff, t = kg.empty_outputs(1)
    m, n = int(r["m"]), int(r["n"])
    if r["kind"] == "cast":
        sb = P.value(acc, "cast_scale_bytes", r["precision"])
        byts = m * n * (P.value(acc, "activation_bytes") + P.ELEMENT_BYTES[r["precision"]] + sb)
        return byts / g.mem_bw_Bps + g.fixed_s
    k = int(r["k"])
    if r["kind"] == "gemm":
        kg.gemm_kernel(np.array([m]), np.array([n]), np.array([k]), np.array([1]), *g.args(), eff, t)
        flop = 2.0 * m * n * k
    elif r["pass"] == "fwd_bwd":
        # forward + backward of a grouped GEMM: the forward and the input gradient grouped along
        # the rows, the weight gradient along the contraction; then the benchmark's MSE loss
        # (read the output and the labels forward, both again and write the gradient backward)
        loss_b = 5.0 * _all_rows(r) * n * P.value(acc, "activation_bytes")   # five 16-bit tensors of rows x n
        time = _grouped_fwd_bwd_time(int(r["groups"]), m, n, k, g, torch_fused) + loss_b / g.mem_bw_Bps
        return 6.0 * _all_rows(r) * n * k / time
    else:
        G = int(r["groups"])
        eff, t = run_grouped(g, np.array([0, G]), np.full(G, m), np.full(G, n), np.full(G, k), 0,
                             pytorch=torch_fused)
        flop = 2.0 * m * n * k * G
    time = float(t[0])
    if r["timing"] == "sync_call":
        time += P.value(acc, "sync_call_overhead_s") if sync is None else sync
    return flop / time


def _fused_kernels(acc, r: dict) -> int:
    """Kernels PyTorch's fused grouped call of row ``r`` launches (its ``grouped_mm_schedule``;
    1 where none is stated)."""
    sched = fused_grouped_schedule(acc.name, r["precision"])
    return sched["kernels"] if sched else 1


def _override(g: GemmModel, acc, *, fixed: float | None = None, hbm_eff: float | None = None,
              tile_c: float | None = None, ceiling_scale: float = 1.0) -> GemmModel:
    """``g`` with the inputs a fit varies replaced by name: ``fixed`` the fixed time per kernel
    call [s] (``fixed_s``), ``hbm_eff`` the achievable fraction of ``acc``'s HBM bandwidth
    (``mem_bw_Bps``), ``tile_c`` the per-tile cost [K-loop iterations] and ``ceiling_scale`` a
    factor on ``ceiling`` [-]; None (1 for the scale) keeps the model's value."""
    new: dict = {"ceiling": g.ceiling * ceiling_scale}
    if fixed is not None:
        new["fixed_s"] = fixed
    if hbm_eff is not None:
        new["mem_bw_Bps"] = acc.hbm_bw_Bps * hbm_eff
    if tile_c is not None:
        new["tile_c"] = tile_c
    return dataclasses.replace(g, **new)


def _all_rows(r: dict) -> int:
    """All rows (tokens) of a grouped check-set row: rows per group x groups."""
    return int(r["m"]) * int(r["groups"])


def _grouped_fwd_bwd_time(G: int, m: int, n: int, k: int, g: GemmModel, pytorch: bool = True) -> float:
    """Forward + backward time [s] of G equal (m, n, k) groups as three fused grouped kernels
    (model ``g``; ``pytorch``: PyTorch's kernel, :func:`run_grouped`)."""
    probs = [(np.full(G, m), np.full(G, n), np.full(G, k)),      # forward
             (np.full(G, m), np.full(G, k), np.full(G, n)),      # input gradient
             (np.full(G, k), np.full(G, n), np.full(G, m))]      # weight gradient (K-grouped)
    offs = np.arange(0, 3 * G + 1, G, dtype=np.int64)
    _, t = run_grouped(g, offs, *(np.concatenate([p[i] for p in probs]).astype(np.int64) for i in range(3)),
                       0, pytorch=pytorch)
    return float(t.sum())


def _attn_pred(r: dict, e: float | None = None, c: float | None = None) -> float:
    acc = catalog.accelerator(r["accelerator"])
    kern, ps = r["software"], r["pass"]
    if e is None or c is None:
        e0 = P.value(acc, f"attn_eff_{ps}", kern)
        c0 = P.value(acc, f"attn_overhead_{ps}", kern)
        e = e0 if e is None else e
        c = c0 if c is None else c
    B = int(P.value(acc, "attn_block"))
    nk = int(P.value(acc, f"attn_kernels_{ps}"))
    d = int(r["head_dim"])
    out = _attn_core(acc, int(r["seq_len"]), int(r["seq_len"]), d, d, float(r["batch_heads"]), ps,
                     bool(r["causal"]), 0, e, c, B, nk)
    return out["flops"] / out["time_s"]


def _predict(r: dict) -> float:
    """Model prediction in the row's unit (TFLOP/s or us)."""
    if r["kind"] == "attention":
        return _attn_pred(r) / 1e12
    if r["kind"] == "cast":
        return _gemm_pred(r) * 1e6
    return _gemm_pred(r) / 1e12


# --------------------------------------------------------------------------------------
# Fitting helpers (no scipy: golden-section search on log errors)
# --------------------------------------------------------------------------------------
def _golden(f, lo: float, hi: float, tol: float = 1e-12, it: int = 200) -> float:
    g = (math.sqrt(5) - 1) / 2
    a, b = lo, hi
    c, d = b - g * (b - a), a + g * (b - a)
    fc, fd = f(c), f(d)
    for _ in range(it):
        if abs(b - a) < tol * max(1.0, abs(a) + abs(b)):
            break
        if fc < fd:
            b, d, fd = d, c, fc
            c = b - g * (b - a)
            fc = f(c)
        else:
            a, c, fc = c, d, fd
            d = a + g * (b - a)
            fd = f(d)
    return (a + b) / 2


def _sse(pred, rows) -> float:
    return float(sum((math.log(pred(r)) - math.log(m)) ** 2 for r, m in rows))


def _fit_set() -> pl.DataFrame:
    """The rows a fit may read: data/compute_measurements.csv and the project's own kernel
    measurements (:func:`device_kernels`, whose train rows are the SDPA FlashAttention-2 ones)."""
    cols = compute_measurements().columns
    return pl.concat([compute_measurements(), device_kernels().select(cols)], how="vertical_relaxed")


def _rows(accs=None, kind=None, role="train", **eq) -> list[dict]:
    t = _fit_set().filter(pl.col("role") == role)
    if kind is not None:
        t = t.filter(pl.col("kind").is_in([kind] if isinstance(kind, str) else list(kind)))
    if accs is not None:
        t = t.filter(pl.col("accelerator").is_in(accs))
    for k, v in eq.items():
        t = t.filter(pl.col(k) == v)
    return t.to_dicts()


def ceiling_fits() -> pl.DataFrame:
    """The ceilings fitted to max-achievable rates: accelerator, precision, software filter,
    measured_tflops, ceiling, max_efficiency (= measured / peak)."""
    rows = []
    t = P.compute_params().filter((pl.col("parameter") == "gemm_ceiling") & (pl.col("basis") == "fitted"))
    for r in t.iter_rows(named=True):
        sw = str(r["text"]).removeprefix("fit:")
        meas = catalog.measurement(r["accelerator"], "gemm_tflops", r["variant"], pick="max", software=sw)
        c = fit_gemm_ceiling(r["accelerator"], r["variant"], meas)
        acc = catalog.accelerator(r["accelerator"])
        rows.append({"accelerator": r["accelerator"], "precision": r["variant"], "software": sw,
                     "measured_tflops": meas / 1e12, "ceiling": c,
                     "max_efficiency": meas / P.peak(acc, P.precision(r["variant"]))})
    return pl.DataFrame(rows)


def calibrate() -> pl.DataFrame:
    """Re-fit every fitted value of data/compute_params.csv from the measurement files.

    Returns
    -------
    polars.DataFrame : accelerator, parameter, variant, value — the values the CSV must hold.

    Notes
    -----
    1. GEMM ceilings: closed form from the max-achievable rows (:func:`ceiling_fits`).
    2. ``kernel_fixed_s``: NVIDIA from DeepGEMM's memory-bound M = 64 FP8 GEMMs on H800
       (kernel timings); AMD from the two smallest MI355X FP8 hipBLASLt GEMMs (train rows).
    2b. ``tile_overhead_iters``: jointly with NVIDIA's fixed cost (DeepGEMM short-K train row).
    3. ``sync_call_overhead_s`` (AMD, torch.matmul timed call by call): the two smallest
       MI325X BF16 GEMMs.
    4. B200 ``hbm_efficiency``: the MXFP8 activation quantization kernel (train row).
    4b. ``mx_ceiling_factor``: the MXFP8 grouped forward GEMM on B200 (train row); MXFP4's
        from the fastest train row of aiter's tuned MXFP4 GEMMs on MI355X
        (:func:`mx4_ceiling_factor_fit`); aiter's MXFP4 ``unit_load_Bps`` and
        ``kernel_fixed_s`` from all train rows of that table (:func:`four_bit_load_fit`);
        B200 ``grouped_mm_factor``: torchao's BF16 ``torch._grouped_mm`` forward + backward
        times (train rows, :func:`grouped_mm_factor_fit`); H200 ``grouped_mm_factor`` (bf16,
        fp8): the train rows of the project's own ``torch._grouped_mm`` /
        ``torch._scaled_grouped_mm`` timings (:func:`device_kernels`).
    5. Attention ``attn_eff_*`` / ``attn_overhead_*``: least squares on log rate over the
       train rows (H100 FA2/FA3/cuDNN; MI355X AITER; B200 cuDNN/FA2; MI300X AOTriton; H200
       ``sdpa-fa2``, PyTorch's in-tree FlashAttention-2, from the train rows of :func:`device_kernels`),
       backward constrained to e_bwd ≤ e_fwd and c_bwd ≥ c_fwd. A (device, kernel, pass)
       listed in :data:`ATTN_CAPPED_AT_MEASURED` has its efficiency also bounded by
       :func:`_attn_cap` (its fastest train-row rate over the BF16 peak); none is listed at
       present (see the constant). MI300X, MI325X, B200 and A100 values are derived from
       these (see the CSV notes) and recomputed here too.
    """
    out: list[dict] = []

    def put(acc, par, var, v):
        out.append({"accelerator": acc, "parameter": par, "variant": var or "", "value": float(v)})

    for r in ceiling_fits().iter_rows(named=True):
        put(r["accelerator"], "gemm_ceiling", r["precision"], r["ceiling"])
    # fixed per-kernel cost and per-tile cost: NVIDIA jointly (DeepGEMM train rows: the
    # memory-bound M = 64 GEMMs fix the kernel cost, the short-K 4096 x 32768 x 512 the tile cost)
    nv = [(r, r["value"] * 1e12) for r in _rows(["H800-SXM"], "gemm")]
    amd = [(r, r["value"] * 1e12) for r in _rows(["MI355X"], "gemm", timing="kernel")]

    def nv_fixed(ct):
        return _golden(lambda f: _sse(lambda r: _gemm_pred(r, fixed=f, tile_c=ct), nv), 0.0, 60e-6)

    ct = _golden(lambda ct: _sse(lambda r: _gemm_pred(r, fixed=nv_fixed(ct), tile_c=ct), nv), 0.0, 8.0, tol=1e-9)
    f_nv = nv_fixed(ct)
    f_amd = _golden(lambda f: _sse(lambda r: _gemm_pred(r, fixed=f, tile_c=ct), amd), 0.0, 60e-6)
    put("*", "tile_overhead_iters", "", ct)  # Hopper (DeepGEMM); Blackwell rows are 0 (derived)
    put("default-NVIDIA", "kernel_fixed_s", "", f_nv)
    put("default-AMD", "kernel_fixed_s", "", f_amd)
    # synchronised single-call overhead (torch on ROCm), with the AMD fixed cost just fitted
    sc = [(r, r["value"] * 1e12) for r in _rows(["MI325X"], "gemm", timing="sync_call")]
    o_amd = _golden(lambda o: _sse(lambda r: _gemm_pred(r, fixed=f_amd, sync=o, tile_c=ct), sc), 0.0, 200e-6)
    put("default-AMD", "sync_call_overhead_s", "", o_amd)
    # B200 streaming bandwidth from a quantization kernel
    cast = [(r, r["value"] * 1e-6) for r in _rows(["B200"], "cast")]
    hb = _golden(lambda x: _sse(lambda r: _gemm_pred(r, fixed=f_nv, hbm_eff=x), cast), 0.05, 1.0)
    put("B200", "hbm_efficiency", "", hb)
    # MXFP8 ceiling factor on FP8 (B200 grouped forward, train)
    mx = [(r, r["value"] * 1e12) for r in _rows(["B200"], "grouped_gemm", precision="mxfp8")]
    cur = P.value(catalog.accelerator("B200"), "mx_ceiling_factor", "mxfp8")
    fac = _golden(lambda x: _sse(lambda r: _gemm_pred(r, fixed=f_nv, hbm_eff=hb,
                                                      ceiling_scale=x / cur), mx), 0.2, 1.0)
    put("*", "mx_ceiling_factor", "mxfp8", fac)
    # 4-bit block-scaled ceiling factor on FP8 (MI355X MXFP4, aiter's tuned kernels, train rows)
    put("*", "mx_ceiling_factor", "mxfp4", mx4_ceiling_factor_fit()["value"])
    # aiter's 4-bit kernels (MI355X, train rows): per-workgroup load rate and fixed cost, jointly
    lf = four_bit_load_fit()
    put("default-AMD", "unit_load_Bps", "mxfp4", lf["unit_load_Bps"])
    put("default-AMD", "kernel_fixed_s", "mxfp4", lf["kernel_fixed_s"])
    # PyTorch's fused BF16 grouped GEMM against the dense ceiling (B200, torchao fwd+bwd, train)
    put("B200", "grouped_mm_factor", "bf16", grouped_mm_factor_fit(fixed=f_nv, hbm_eff=hb)["value"])
    # PyTorch's fused grouped kernels on Hopper (the project's H200 timings, train rows)
    for var in ("bf16", "fp8"):
        put("H200-SXM", "grouped_mm_factor", var, grouped_mm_factor_fit("H200-SXM", var, fixed=f_nv)["value"])
    # attention
    fits: dict[tuple[str, str, str], tuple[float, float]] = {}
    att = _fit_set().filter((pl.col("kind") == "attention") & (pl.col("role") == "train"))
    for acc, kern, ps in ATTN_CAPPED_AT_MEASURED:     # a listed pass must have train rows
        _attn_cap(acc, kern, ps)
    for (acc, kern), _ in att.group_by(["accelerator", "software"], maintain_order=True):
        fixed = f_nv if _vendor(acc) == "NVIDIA" else f_amd
        ef, cf, eb, cb = _fit_attention_passes(acc, kern, fixed)
        fits[(acc, kern, "fwd")], fits[(acc, kern, "bwd")] = (ef, cf), (eb, cb)
    for (acc, kern, ps), (e, c) in fits.items():
        put(acc, f"attn_eff_{ps}", kern, e)
        put(acc, f"attn_overhead_{ps}", kern, c)
    for row in _derived_attention(fits, f_nv, f_amd):
        put(*row)
    return pl.DataFrame(out)


def _vendor(acc: str) -> str:
    return catalog.accelerator(acc).vendor


ATTN_CAPPED_AT_MEASURED: tuple[tuple[str, str, str], ...] = ()
"""(accelerator, kernel, pass) whose fitted attention efficiency is bounded above by
:func:`_attn_cap`: the fastest rate measured on the pass's TRAIN rows of
data/compute_measurements.csv (role ``train`` only; test rows never set it) over the BF16 peak.
It keeps the tile model, whose fixed per-workgroup cost lets efficiency grow with length, from
predicting a kernel above any rate measured for it; a capped kernel therefore UNDER-predicts at
its fastest measured point (the model only reaches the cap in the long-sequence limit).

Empty: decided per pass on the kernel-level held-out rows (:func:`attention_cap_comparison`,
lower median |error| on the pass's test rows wins). MI300X AOTriton forward uncapped (test
2k/8k +1.7 / -0.6 % vs capped +1.0 / -3.9 %), backward uncapped (test 4k/8k median |error|
16.7 % vs capped 40.9 %); docs/compute.md gives every row. The first version capped both
passes, chosen with its effect on the torchao MI300X runs (test runs among them) visible."""


def _attn_train_max(acc: str, kern: str, ps: str) -> float:
    """Fastest train-row rate of one attention pass over the BF16 peak [-]."""
    rates = [r["value"] * 1e12 for r in _rows([acc], "attention", software=kern)
             if r["pass"] == ps]
    if not rates:
        raise ValidationError(
            f"(accelerator, kernel, pass) = ({acc!r}, {kern!r}, {ps!r}): no train row of kind "
            "'attention' in data/compute_measurements.csv to set its efficiency cap; allowed: "
            "a triple with at least one train row of that pass")
    return max(rates) / catalog.accelerator(acc).peak("bf16")


def _attn_cap(acc: str, kern: str, ps: str,
              capped: tuple[tuple[str, str, str], ...] | None = None) -> float:
    """Upper bound of a fitted attention efficiency [-]: for a triple listed in ``capped``
    (default :data:`ATTN_CAPPED_AT_MEASURED`), the fastest TRAIN-row rate of that pass over the
    BF16 peak (a capped kernel under-predicts at that fastest measured point); else 1. Raises
    ValidationError if a listed triple has no train row of its pass."""
    capped = ATTN_CAPPED_AT_MEASURED if capped is None else capped
    if (acc, kern, ps) not in capped:
        return 1.0
    return _attn_train_max(acc, kern, ps)


def _fit_attention_passes(acc: str, kern: str, fixed: float,
                          capped: tuple[tuple[str, str, str], ...] | None = None):
    """(e_fwd, c_fwd, e_bwd, c_bwd): forward, then backward with e_bwd ≤ e_fwd, c_bwd ≥ c_fwd
    and the caps of ``capped`` (default :data:`ATTN_CAPPED_AT_MEASURED`)."""
    ef, cf = _fit_attention(acc, kern, "fwd", fixed, e_max=_attn_cap(acc, kern, "fwd", capped))
    eb, cb = _fit_attention(acc, kern, "bwd", fixed, e_max=min(ef, _attn_cap(acc, kern, "bwd", capped)),
                            c_min=cf)
    return ef, cf, eb, cb


def attention_cap_comparison(acc: str = "MI300X", kern: str = "aotriton") -> pl.DataFrame:
    """Per-row errors of one attention kernel fitted with and without the measured-rate cap of
    each pass (:data:`ATTN_CAPPED_AT_MEASURED`), the forward's choice applied before the
    backward is fitted. Fits use train rows only; test rows are only evaluated.

    Returns
    -------
    polars.DataFrame : case, pass, role, measured [TFLOP/s], error_uncapped_pct,
        error_capped_pct (predicted/measured − 1) [%]
    """
    fixed = P.value(catalog.accelerator(acc), "kernel_fixed_s")
    rows = compute_measurements().filter(
        (pl.col("kind") == "attention") & (pl.col("accelerator") == acc)
        & (pl.col("software") == kern)).to_dicts()
    if not rows:
        raise ValidationError(f"(accelerator, kernel) = ({acc!r}, {kern!r}): no attention rows in "
                              "data/compute_measurements.csv")
    base = tuple(t for t in ATTN_CAPPED_AT_MEASURED if t[:2] != (acc, kern))
    keep_fwd = ((acc, kern, "fwd"),) if (acc, kern, "fwd") in ATTN_CAPPED_AT_MEASURED else ()
    variants = {"fwd": {False: base, True: base + ((acc, kern, "fwd"),)},
                "bwd": {False: base + keep_fwd, True: base + keep_fwd + ((acc, kern, "bwd"),)}}
    out = {r["case"]: {"case": r["case"], "pass": r["pass"], "role": r["role"],
                       "measured": r["value"]} for r in rows}
    a = catalog.accelerator(acc)
    for ps in ("fwd", "bwd"):
        for capped, caps in variants[ps].items():
            ef, cf, eb, cb = _fit_attention_passes(acc, kern, fixed, caps)
            e, c = (ef, cf) if ps == "fwd" else (eb, cb)
            for r in rows:
                if r["pass"] != ps:
                    continue
                got = _attn_core_fixed(a, r, int(r["head_dim"]), ps, e, c,
                                       int(P.value(a, "attn_block")),
                                       int(P.value(a, f"attn_kernels_{ps}")), fixed)
                col = "error_capped_pct" if capped else "error_uncapped_pct"
                out[r["case"]][col] = 100.0 * (got / (r["value"] * 1e12) - 1.0)
    return pl.DataFrame(list(out.values()))


def _fit_attention(acc: str, kern: str, ps: str, fixed: float, *, e_max: float = 1.0,
                   c_min: float = 0.0) -> tuple[float, float]:
    rows = [(r, r["value"] * 1e12) for r in _rows([acc], "attention", software=kern)]
    rows = [(r, m) for r, m in rows if r["pass"] == ps]
    a = catalog.accelerator(acc)

    def rate(r, e, c):
        B = int(P.value(a, "attn_block"))
        nk = int(P.value(a, f"attn_kernels_{ps}"))
        d = int(r["head_dim"])
        o = _attn_core_fixed(a, r, d, ps, e, c, B, nk, fixed)
        return o

    def best_e(c):
        return _golden(lambda e: _sse(lambda r: rate(r, e, c), rows), 0.01, e_max)

    c = _golden(lambda c: _sse(lambda r: rate(r, best_e(c), c), rows), c_min, max(c_min, 0.0) + 40.0, tol=1e-9)
    return best_e(c), c


def _attn_core_fixed(a, r, d, ps, e, c, B, nk, fixed) -> float:
    """Attention rate [FLOP/s] with an explicit fixed cost (the one being fitted)."""
    cus = a.compute_units
    s = int(r["seq_len"])
    bh = float(r["batch_heads"])
    nq = math.ceil(s / B)
    F = _ATTN_F[ps]                  # the pass's FLOP factor (attention module, one owner)
    if r["causal"]:
        it_sum, keys = nq * (nq + 1) / 2.0, s * (s + 1) / 2.0
        makespan = max(bh * (it_sum + nq * c) / cus, nq + c)
    else:
        keys = float(s) * s
        makespan = math.ceil(bh * nq / cus - 1e-9) * (nq + c)
    f_unit = 2.0 * B * B * 2 * d
    t = makespan * cus * f_unit * F / (a.peak("bf16") * e)
    byts = P.value(a, "activation_bytes") * bh * 4 * s * d * (3.0 if ps == "bwd" else 1.0)
    t = max(t, byts / (a.hbm_bw_Bps * P.value(a, "hbm_efficiency"))) + nk * fixed
    return 2.0 * 2 * d * bh * keys * F / t


def _derived_attention(fits, f_nv: float, f_amd: float) -> list[tuple]:
    """Attention parameters derived from the fitted ones and published ratios (see CSV)."""
    out = []
    h_f, h_b = fits[("H100-SXM", "fa2", "fwd")], fits[("H100-SXM", "fa2", "bwd")]
    a_f, a_b = fits[("MI355X", "aiter", "fwd")], fits[("MI355X", "aiter", "bwd")]
    # MI300X FA2-class (ROCm, Dec 2024): Zyphra's backward speed-ups over H100 FA2 at 2k/4k/8k
    # applied to the H100 FA2 backward model at the FA3 paper's shapes (16 heads, 16k tokens)
    mi, h100 = catalog.accelerator("MI300X"), catalog.accelerator("H100-SXM")
    speed = catalog.device_measurements().filter(
        (pl.col("accelerator") == "MI300X") & (pl.col("quantity") == "kernel_speedup")
        & pl.col("conditions").str.contains("FlashAttention-2 backward"))
    pts = []
    for r in speed.iter_rows(named=True):
        s = int(str(r["conditions"]).rsplit(" ", 1)[-1].rstrip("k")) * 1024
        row = _attn_bench_row(s)
        B = int(P.value(h100, "attn_block"))
        h_rate = _attn_core_fixed(h100, row, row["head_dim"], "bwd", h_b[0], h_b[1], B,
                                  int(P.value(h100, "attn_kernels_bwd")), f_nv)
        pts.append((row, h_rate * float(r["value"])))

    def rate_mi(r, e, c):
        return _attn_core_fixed(mi, r, r["head_dim"], "bwd", e, c, int(P.value(mi, "attn_block")),
                                int(P.value(mi, "attn_kernels_bwd")), f_amd)

    def best_e(c):
        return _golden(lambda e: _sse(lambda r: rate_mi(r, e, c), pts), 0.01, 1.0)

    cb = _golden(lambda c: _sse(lambda r: rate_mi(r, best_e(c), c), pts), 0.0, 40.0, tol=1e-9)
    eb = best_e(cb)
    # forward: MI355X AITER's forward/backward ratios (assumption: same kernel family)
    ef, cf = eb * a_f[0] / a_b[0], cb * a_f[1] / a_b[1] if a_b[1] > 0 else cb
    out += [("MI300X", "attn_eff_bwd", "ck-fa2", eb), ("MI300X", "attn_overhead_bwd", "ck-fa2", cb),
            ("MI300X", "attn_eff_fwd", "ck-fa2", ef), ("MI300X", "attn_overhead_fwd", "ck-fa2", cf)]
    # MI325X: MI300X silicon at 1,000 W; the MAF ratio carries the clock (843 vs 708)
    ratio = P.value(catalog.accelerator("MI325X"), "gemm_ceiling", "bf16") / P.value(mi, "gemm_ceiling", "bf16")
    out += [("MI325X", "attn_eff_bwd", "ck-fa2", eb * ratio), ("MI325X", "attn_overhead_bwd", "ck-fa2", cb),
            ("MI325X", "attn_eff_fwd", "ck-fa2", ef * ratio), ("MI325X", "attn_overhead_fwd", "ck-fa2", cf)]
    # MI325X AOTriton (PyTorch's ROCm SDPA flash backend): MI300X's fit (same gfx942 kernels), same ratio
    for ps in ("fwd", "bwd"):
        e, c = fits[("MI300X", "aotriton", ps)]
        out += [("MI325X", f"attn_eff_{ps}", "aotriton", e * ratio),
                ("MI325X", f"attn_overhead_{ps}", "aotriton", c)]
    # B200 FA4: "up to 1613 TFLOP/s" taken at 16k tokens in the FA3 setup, FA3's overheads and
    # backward/forward ratios (assumption)
    f3f, f3b = fits[("H100-SXM", "fa3", "fwd")], fits[("H100-SXM", "fa3", "bwd")]
    out += _from_peak_claim("B200", "fa4", "attn_peak_claim_fwd", f3f, f3b, f_nv)
    # A100 FA2: "up to 73 % of peak" forward (FA2 paper), H100 FA2's overheads and ratios
    out += _from_peak_claim("A100-SXM-80GB", "fa2", "attn_peak_claim_fwd", h_f, h_b, f_nv)
    return out


def _attn_bench_row(seq_len: int) -> dict:
    """The FlashAttention-3 paper's benchmark shape at ``seq_len`` [tokens]: batch x seq_len =
    ``attn_bench_tokens`` tokens, ``attn_bench_heads`` heads of ``attn_bench_head_dim``, no mask
    (data/compute_params.csv)."""
    paper = catalog.accelerator("H100-SXM")     # the paper's device (the rows are "*")
    tokens, heads = P.value(paper, "attn_bench_tokens"), P.value(paper, "attn_bench_heads")
    return {"seq_len": int(seq_len), "batch_heads": heads * tokens / seq_len, "causal": False,
            "head_dim": int(P.value(paper, "attn_bench_head_dim"))}


def _from_peak_claim(acc_name, kern, par, ref_f, ref_b, fixed) -> list[tuple]:
    a = catalog.accelerator(acc_name)
    claim = P.value(a, par, kern)  # achieved fraction of peak, forward, at long sequences
    row = _attn_bench_row(int(P.value(a, "attn_bench_tokens")))   # the sweep's longest length: one sequence
    B = int(P.value(a, "attn_block"))
    nk = int(P.value(a, "attn_kernels_fwd"))
    peak = a.peak("bf16")
    ef = _golden(lambda e: (math.log(_attn_core_fixed(a, row, row["head_dim"], "fwd", e, ref_f[1], B, nk, fixed) / peak)
                            - math.log(claim)) ** 2, 0.01, 1.0)
    eb = ef * ref_b[0] / ref_f[0]
    return [(acc_name, "attn_eff_fwd", kern, ef), (acc_name, "attn_overhead_fwd", kern, ref_f[1]),
            (acc_name, "attn_eff_bwd", kern, eb), (acc_name, "attn_overhead_bwd", kern, ref_b[1])]


# --------------------------------------------------------------------------------------
# Validation tables
# --------------------------------------------------------------------------------------
def validation_table() -> pl.DataFrame:
    """Predicted vs measured for every row of the check set.

    Returns
    -------
    polars.DataFrame : case, kind, accelerator, precision, software, role (train/test),
        measured, predicted (in ``unit``: TFLOP/s, or us for cast kernels), unit, error_pct
        (predicted/measured − 1) [%], source_url
    """
    return _prediction_table(compute_measurements())


@cache
def device_kernels() -> pl.DataFrame:
    """The project's own kernel measurements (data/measurements/device_kernels.csv): GEMMs (bf16,
    FP8 with tensor-wise and row-wise scales), grouped GEMMs, fused attention (FlashAttention-2 and
    cuDNN back ends of PyTorch's SDPA, forward and backward) and a fused FP8 cast, timed on one
    GPU by tools/device/measure_kernels.py (raw runs in data/measurements/device/; the CSV is
    rebuilt from them by tools/device/ingest_kernels.py). Same columns as
    :func:`compute_measurements`. The SDPA FlashAttention-2 rows (kernel ``sdpa-fa2``, PyTorch's
    in-tree FlashAttention-2) are split by the house hash (``test`` when zlib.crc32(case) % 3 == 0)
    and :func:`calibrate` fits that kernel's attention parameters to their train rows; every other
    row is ``test``: nothing is fitted to them."""
    return catalog.read_table(catalog.DATA_DIR / "measurements" / "device_kernels.csv", _MEAS_SCHEMA)


def device_check_table() -> pl.DataFrame:
    """Predicted vs measured for :func:`device_kernels` (columns of :func:`validation_table`).
    The test rows are an independent check: the compute model's parameters for that GPU were set
    without them (on H200: H100's fitted ceilings and FA2/FA3/cuDNN attention parameters carried
    over, H100's HBM efficiency); the ``sdpa-fa2`` train rows are the ones that kernel is fitted to.
    """
    return _prediction_table(device_kernels())


def _table_desc(v, need: set) -> str:
    """A one-line description of a bad ``table`` argument for an error message: a DataFrame by
    the columns it lacks (its printout spans many lines), anything else by a short repr."""
    if isinstance(v, pl.DataFrame):
        return f"a DataFrame of {v.height} rows lacking {', '.join(sorted(need - set(v.columns)))}"
    r = repr(v).replace("\n", " ")
    return r if len(r) <= 80 else r[:77] + "..."


def device_check_summary(table: pl.DataFrame | None = None) -> pl.DataFrame:
    """Median, worst and median signed error [%] of :func:`device_check_table` by accelerator, kind,
    precision and library (``software`` up to its first ';'): cases, median_abs_error_pct,
    worst_abs_error_pct, median_error_pct (positive = the model is too fast)."""
    v = device_check_table() if table is None else table
    need = {"accelerator", "kind", "precision", "software", "error_pct"}
    if not isinstance(v, pl.DataFrame) or not need <= set(v.columns):
        raise ValidationError(f"table = {_table_desc(v, need)}: expected a polars DataFrame like "
                              f"device_check_table() (columns {', '.join(sorted(need))})")
    return (v.with_columns(pl.col("software").str.split(";").list.first().alias("library"))
            .group_by("accelerator", "kind", "precision", "library")
            .agg(pl.len().alias("cases"), pl.col("error_pct").abs().median().alias("median_abs_error_pct"),
                 pl.col("error_pct").abs().max().alias("worst_abs_error_pct"),
                 pl.col("error_pct").median().alias("median_error_pct"))
            .sort("accelerator", "kind", "precision", "library"))


def device_gemm_layout_check(path: str = "measurements/device/h200_2026-12-04_gemm_layout.json") -> dict:
    """The sustained-GEMM run beside :func:`device_kernels` (tools/device/measure_gemm_layout.py):
    large bf16 GEMMs in the three layouts a training step uses (NN, NT, TN), with random normal,
    converted and uniform [0, 1) data, while nvidia-smi read the SM clock, power and temperature
    every 0.2 s. Returns {"gemm": frame (m, n, k, init, layout, tflops), "clocks": frame
    (t_s from the first sample, sm_MHz, power_W, temperature_C)}: why a sustained rate sits below a
    max-achievable sweep on a power-capped part."""
    import json

    if not isinstance(path, str) or not path:
        raise ValidationError(f"path = {path!r}: expected a file name under the data folder, e.g. "
                              f"'measurements/device/h200_2026-12-04_gemm_layout.json'")
    root = catalog.DATA_DIR.resolve()
    f = (catalog.DATA_DIR / path).resolve()
    if not f.is_relative_to(root):
        raise ValidationError(f"path = {path!r}: outside the data folder; expected a file name under it, e.g. "
                              f"'measurements/device/h200_2026-12-04_gemm_layout.json'")
    if not f.is_file():
        raise ValidationError(f"path = {path!r}: no such file under the data folder")
    try:
        doc = json.loads(f.read_text())
        results, clocks = doc["results"], doc["clocks"]
    except (ValueError, KeyError, TypeError, UnicodeDecodeError) as e:
        raise ValidationError(f"path = {path!r}: not a GEMM-layout record (JSON with 'results' and 'clocks' as "
                              f"tools/device/measure_gemm_layout.py writes): {type(e).__name__}: {e}") from None
    gemm = pl.DataFrame([{k: r[k] for k in ("m", "n", "k", "init", "layout", "tflops")} for r in results])
    rows = []
    t0 = clocks[0][0] if clocks else 0.0
    for t, txt in clocks:
        parts = [p.strip().split(" ")[0] for p in txt.split(",")]
        try:
            rows.append({"t_s": t - t0, "sm_MHz": float(parts[0]), "power_W": float(parts[1]),
                         "temperature_C": float(parts[2])})
        except (ValueError, IndexError):
            continue
    return {"gemm": gemm, "clocks": pl.DataFrame(rows, schema={"t_s": pl.Float64, "sm_MHz": pl.Float64,
                                                               "power_W": pl.Float64, "temperature_C": pl.Float64})}


def _prediction_table(t: pl.DataFrame) -> pl.DataFrame:
    pred = [_predict(r) for r in t.iter_rows(named=True)]
    return t.select("case", "kind", "accelerator", "precision", "software", "timing", "role",
                    pl.col("value").alias("measured"), "unit", "source_url").with_columns(
        pl.Series("predicted", pred),
        (100.0 * (pl.Series(pred) / pl.col("measured") - 1.0)).alias("error_pct"),
    ).select("case", "kind", "accelerator", "precision", "software", "timing", "role", "measured",
             "predicted", "unit", "error_pct", "source_url")


def validation_summary(table: pl.DataFrame | None = None) -> pl.DataFrame:
    """Median and worst |error| [%] by kind and split (and overall per split)."""
    v = validation_table() if table is None else table
    need = {"kind", "role", "error_pct"}
    if not isinstance(v, pl.DataFrame) or not need <= set(v.columns):
        raise ValidationError(f"table = {_table_desc(v, need)}: expected a polars DataFrame like "
                              f"validation_table() (columns {', '.join(sorted(need))})")
    by = v.group_by("kind", "role").agg(
        pl.len().alias("cases"), pl.col("error_pct").abs().median().alias("median_abs_error_pct"),
        pl.col("error_pct").abs().max().alias("worst_abs_error_pct"))
    allr = v.group_by("role").agg(
        pl.len().alias("cases"), pl.col("error_pct").abs().median().alias("median_abs_error_pct"),
        pl.col("error_pct").abs().max().alias("worst_abs_error_pct")).with_columns(pl.lit("all").alias("kind"))
    return pl.concat([by, allr.select(by.columns)]).sort("kind", "role")


def gemm_validation() -> pl.DataFrame:
    """Predicted vs published max-achievable GEMM rates (data/device_measurements.csv).

    Returns
    -------
    polars.DataFrame
        accelerator, precision, m, n, k, published_tflops, predicted_tflops (at the published
        shape, fixed cost excluded as the benchmarks report kernel rates), max_tflops (the
        model's maximum over all shapes), error_pct [%], fitted (the row a ceiling was
        fitted to), software, source_url. Rows that are not fitted are independent checks.
    """
    meas = catalog.device_measurements().filter(pl.col("quantity") == "gemm_tflops")
    fits = ceiling_fits()
    fitted = {(r["accelerator"], r["precision"], r["measured_tflops"]) for r in fits.iter_rows(named=True)}
    out = []
    for r in meas.iter_rows(named=True):
        acc = catalog.accelerator(r["accelerator"])
        prec = P.precision(r["precision"])
        g = gemm_model(acc.name, prec)
        from .gemm import gemm_times

        t = float(gemm_times([r["gemm_m"]], [r["gemm_n"]], [r["gemm_k"]], acc.name, prec)[0]) - g.fixed_s
        pred = 2.0 * r["gemm_m"] * r["gemm_n"] * r["gemm_k"] / t / 1e12
        out.append({
            "accelerator": acc.name, "precision": prec, "m": r["gemm_m"], "n": r["gemm_n"], "k": r["gemm_k"],
            "published_tflops": r["value"], "predicted_tflops": pred,
            "max_tflops": g.max_efficiency * g.peak_flops / 1e12,
            "error_pct": 100.0 * (pred / r["value"] - 1.0),
            "fitted": (acc.name, prec, r["value"]) in fitted,
            "software": r["software"], "source_url": r["source_url"],
        })
    if not out:  # pragma: no cover
        raise ValidationError("device_measurements.csv has no gemm_tflops rows")
    return pl.DataFrame(out, infer_schema_length=None)


@cache
def four_bit_gemm_measurements() -> pl.DataFrame:
    """Measured 4-bit GEMM kernel times (data/measurements/gemm_4bit_kernels.csv): AMD aiter's
    tuned MXFP4 (A4W4, 1x32 E8M0 block scales, bf16 output) GEMM table for MI355X (gfx950, 256
    CUs), one row per (M, N, K) shape, the fastest of aiter's CK and assembly kernels, its mean
    kernel time over 101 calls from the torch profiler (``kernel_us`` [us]) and the rate
    2·M·N·K / time (``value`` [TFLOP/s]). Columns of :func:`compute_measurements` plus
    ``kernel`` and ``kernel_us``; ``role`` is the house hash (``test`` when zlib.crc32(case) % 3
    == 0). No NVIDIA FP4 (NVFP4) table of kernel times by shape was found."""
    return catalog.read_table(catalog.DATA_DIR / "measurements" / "gemm_4bit_kernels.csv", _MEAS_SCHEMA)


def mx4_ceiling_factor_fit() -> dict:
    """The MXFP4 ceiling factor on FP8 [-] (``mx_ceiling_factor``, variant mxfp4): the ceiling
    that puts the model's maximum over all shapes at the fastest TRAIN row of
    :func:`four_bit_gemm_measurements` (:func:`infra_lab.compute.fit_gemm_ceiling`, as every
    max-achievable fit), over MI355X's FP8 ceiling.

    Returns
    -------
    dict : value [-], case (the fastest train row), measured_tflops [TFLOP/s], ceiling [-],
        fp8_ceiling [-]
    """
    t = four_bit_gemm_measurements().filter((pl.col("role") == "train") & (pl.col("accelerator") == "MI355X")
                                            & (pl.col("precision") == "mxfp4"))
    best = t.sort("value", descending=True).row(0, named=True)
    c = fit_gemm_ceiling("MI355X", "mxfp4", best["value"] * 1e12)
    c8 = P.value(catalog.accelerator("MI355X"), "gemm_ceiling", "fp8")
    return {"value": c / c8, "case": best["case"], "measured_tflops": best["value"], "ceiling": c,
            "fp8_ceiling": c8}


def four_bit_load_fit() -> dict:
    """MI355X's 4-bit ``unit_load_Bps`` (the operand bytes one workgroup loads per second) and
    ``kernel_fixed_s`` (variant mxfp4: aiter's kernels), fitted jointly on the TRAIN rows of
    :func:`four_bit_gemm_measurements`: least squares on log time over every train shape, with
    aiter's decomposition (data-parallel: no split-K, no stream-K, the mxfp4 rows of
    data/compute_params.csv). APPROXIMATE: see :mod:`infra_lab._kernels.gemm` (per-unit load
    rate).

    Returns
    -------
    dict : unit_load_Bps [bytes/s], kernel_fixed_s [s], fair_share (the rate over the device's
        achievable HBM bandwidth per compute unit) [-], rows (train rows fitted) [-],
        sse (sum of squared log errors at the fit) [-]
    """
    from .._kernels import gemm as kg

    t = four_bit_gemm_measurements().filter((pl.col("role") == "train") & (pl.col("accelerator") == "MI355X")
                                            & (pl.col("precision") == "mxfp4"))
    ms, ns, ks = (t[c].to_numpy().astype(np.int64) for c in ("m", "n", "k"))
    bs = np.ones_like(ms)
    y = np.log(t["kernel_us"].cast(pl.Float64).to_numpy() * 1e-6)
    g = gemm_model("MI355X", "mxfp4")
    eff, tt = kg.empty_outputs(ms.size)

    def sse(log_bw, fixed):
        kg.gemm_kernel(ms, ns, ks, bs, *dataclasses.replace(g, fixed_s=fixed, unit_load_Bps=math.exp(log_bw)).args(),
                       eff, tt)
        return float(np.sum((np.log(tt) - y) ** 2))

    def best_bw(fixed):
        return _golden(lambda lb: sse(lb, fixed), math.log(1e9), math.log(1e12), tol=1e-9)

    fixed = _golden(lambda x: sse(best_bw(x), x), 0.0, 20e-6, tol=1e-9)
    lb = best_bw(fixed)
    return {"unit_load_Bps": math.exp(lb), "kernel_fixed_s": fixed,
            "fair_share": math.exp(lb) * g.compute_units / g.mem_bw_Bps, "rows": int(ms.size),
            "sse": sse(lb, fixed)}


def four_bit_gemm_table() -> pl.DataFrame:
    """Predicted vs measured kernel time of every 4-bit GEMM of :func:`four_bit_gemm_measurements`.

    Returns
    -------
    polars.DataFrame : case, m, n, k, role (train/test), kernel, measured_us, predicted_us
        (:func:`infra_lab.compute.gemm_times`, the numba kernel) [us], measured_tflops,
        predicted_tflops [TFLOP/s], error_pct (predicted rate / measured − 1; positive = the
        model is too fast) [%], weight_TBps (the weight bytes N·K/2 over the measured time,
        scales excluded) [TB/s]
    """
    from .gemm import gemm_times

    t = four_bit_gemm_measurements()
    out = []
    for (acc, prec), g in t.group_by(["accelerator", "precision"], maintain_order=True):
        pred = gemm_times(g["m"].to_numpy(), g["n"].to_numpy(), g["k"].to_numpy(), acc, prec) * 1e6
        out.append(g.select("case", "m", "n", "k", "role", "kernel",
                            pl.col("kernel_us").cast(pl.Float64).alias("measured_us")).with_columns(
            pl.Series("predicted_us", pred)))
    v = pl.concat(out)
    flop = 2.0 * pl.col("m").cast(pl.Float64) * pl.col("n") * pl.col("k")
    return v.with_columns(
        (flop / pl.col("measured_us") / 1e6).alias("measured_tflops"),
        (flop / pl.col("predicted_us") / 1e6).alias("predicted_tflops"),
        (100.0 * (pl.col("measured_us") / pl.col("predicted_us") - 1.0)).alias("error_pct"),
        (pl.col("n").cast(pl.Float64) * pl.col("k") * P.ELEMENT_BYTES["mxfp4"] / pl.col("measured_us") / 1e6
         ).alias("weight_TBps"))


M_BAND_EDGES = (32, 256)
"""Upper ends of the row bands of :func:`four_bit_gemm_summary` [rows M]: decode-sized
(1–32), mid (33–256), large (above); a display grouping, not a model quantity."""


def _m_bands() -> list[tuple[int, int | None, str]]:
    out, lo = [], 1
    for hi in M_BAND_EDGES:
        out.append((lo, hi, f"{lo}-{hi}"))
        lo = hi + 1
    out.append((lo, None, f">={lo}"))
    return out


def four_bit_gemm_summary(table: pl.DataFrame | None = None) -> pl.DataFrame:
    """Error of :func:`four_bit_gemm_table` by split and M band (:data:`M_BAND_EDGES`): role, m_band,
    cases, median_error_pct (positive = the model is too fast), median_abs_error_pct,
    worst_abs_error_pct [%], median_weight_TBps (measured) [TB/s]."""
    v = four_bit_gemm_table() if table is None else table
    need = {"m", "role", "error_pct", "weight_TBps"}
    if not isinstance(v, pl.DataFrame) or not need <= set(v.columns):
        raise ValidationError(f"table = {_table_desc(v, need)}: expected a polars DataFrame like "
                              f"four_bit_gemm_table() (columns {', '.join(sorted(need))})")
    bands = _m_bands()
    band = pl.lit("all")
    for lo, hi, name in reversed(bands):
        inside = pl.col("m") >= lo if hi is None else (pl.col("m") >= lo) & (pl.col("m") <= hi)
        band = pl.when(inside).then(pl.lit(name)).otherwise(band)
    v = v.with_columns(band.alias("m_band"))
    agg = (pl.len().alias("cases"), pl.col("error_pct").median().alias("median_error_pct"),
           pl.col("error_pct").abs().median().alias("median_abs_error_pct"),
           pl.col("error_pct").abs().max().alias("worst_abs_error_pct"),
           pl.col("weight_TBps").median().alias("median_weight_TBps"))
    by = v.group_by("role", "m_band").agg(*agg)
    allr = v.group_by("role").agg(*agg).with_columns(pl.lit("all").alias("m_band")).select(by.columns)
    order = {name: i for i, (_lo, _hi, name) in enumerate(bands)} | {"all": len(bands)}
    return (pl.concat([by, allr]).with_columns(pl.col("m_band").replace_strict(order).alias("_o"))
            .sort("role", "_o").drop("_o"))


def power_limit_derate(accelerator: str) -> dict:
    """Sustained-GEMM derate of a power-limited catalog variant (e.g. ``B200-750W``) against
    the full-power part whose kernel efficiencies it takes (the device its ``gemm_ceiling``
    row defers to in data/compute_params.csv), from the variant's own measured GEMM rates.

    Each ``gemm_tflops`` row of the variant in data/device_measurements.csv is divided by the
    full-power part's modelled rate at the same shape and precision (its ceiling fitted to
    that part's max-achievable measurement; fixed cost excluded, as in
    :func:`gemm_validation`). The derate is the median over the BF16 rows (the precision of
    the peak it scales); the range spans every row. Approximate: it is one clock factor for
    all precisions (the peak columns scale together) and takes the variant's measurements
    (one benchmark, one software stack) and the full-power maximum (another benchmark) as
    comparable; a power cap's clock also depends on the data a GEMM multiplies (FP16 and BF16
    rows of the same shape differ) and on how much of a window the tensor cores are busy.

    Returns
    -------
    dict
        base (the full-power part), value, low, high [-], rows (polars.DataFrame: precision,
        m, n, k, measured_tflops, base_tflops, ratio).
    """
    from .gemm import gemm_times

    acc = P.accelerator(accelerator)
    row = P.row(acc, "gemm_ceiling", "bf16")
    ref = str(row["text"] or "")
    base_name = ref.partition(":")[0] if row["value"] is None and row["accelerator"] == acc.name else ""
    if not base_name or base_name == acc.name:
        raise ValidationError(f"{acc.name}: its bf16 gemm_ceiling does not defer to another device "
                              f"(text {ref!r}), so it is not a variant with a derate")
    base = P.accelerator(base_name)
    meas = catalog.device_measurements().filter((pl.col("accelerator") == acc.name)
                                                & (pl.col("quantity") == "gemm_tflops"))
    if meas.height == 0:
        raise ValidationError(f"device_measurements.csv has no gemm_tflops rows for {acc.name}")
    out = []
    for r in meas.iter_rows(named=True):
        prec = P.precision(r["precision"])
        m, n, k = r["gemm_m"], r["gemm_n"], r["gemm_k"]
        t = float(gemm_times([m], [n], [k], base.name, prec)[0]) - gemm_model(base.name, prec).fixed_s
        base_tflops = 2.0 * m * n * k / t / 1e12
        out.append({"precision": prec, "m": m, "n": n, "k": k, "measured_tflops": r["value"],
                    "base_tflops": base_tflops, "ratio": r["value"] / base_tflops})
    rows = pl.DataFrame(out)
    bf16 = rows.filter(pl.col("precision") == "bf16")["ratio"]
    if bf16.len() == 0:
        raise ValidationError(f"device_measurements.csv has no BF16 gemm_tflops row for {acc.name}")
    return {"base": base.name, "value": float(bf16.median()), "low": float(rows["ratio"].min()),
            "high": float(rows["ratio"].max()), "rows": rows}


def grouped_mm_factor_fit(accelerator: str = "B200", precision: str = "bf16", *, fixed: float | None = None,
                          hbm_eff: float | None = None) -> dict:
    """The device's ``grouped_mm_factor`` for ``precision`` (data/compute_params.csv): the fraction
    of its dense GEMM ceiling that PyTorch's fused grouped kernel (``torch._grouped_mm`` for bf16,
    which torchtitan's MoE experts call; ``torch._scaled_grouped_mm`` for fp8) reaches, priced as
    PyTorch runs it (:func:`infra_lab.compute.run_grouped`). Fitted by least squares on log rate
    (= log time) over the train rows of the device's grouped GEMM measurements of that precision:
    data/compute_measurements.csv's forward + backward rows (pass ``fwd_bwd``; B200: torchao's
    benchmark) and the project's own timings in data/measurements/device_kernels.csv (H200:
    forward kernels); the test rows are held out. ``fixed`` (GPU-side fixed cost per kernel [s])
    and ``hbm_eff`` (achieved HBM fraction [-]) override the stored values (None: data), as
    :func:`calibrate` passes the ones it has just fitted.

    Returns
    -------
    dict
        value [-], rows (polars.DataFrame: case, role, measured_us, predicted_us at the fitted
        factor, predicted_dense_us at factor 1, error_pct), train_median_abs_error_pct,
        test_median_abs_error_pct, train_worst_abs_error_pct, test_worst_abs_error_pct
    """
    from .gemm import _grouped_variant

    acc = P.accelerator(accelerator)
    prec = P.precision(precision)
    var = _grouped_variant(prec)
    if var is None:
        raise ValidationError(f"precision = {precision!r}: the fused grouped factor is for bf16/fp16 or fp8 operands")
    if fixed is not None:
        fixed = P.check_number("fixed", fixed, lo=0.0, hi=1.0)
    if hbm_eff is not None:
        hbm_eff = P.check_number("hbm_eff", hbm_eff, lo=0.0, hi=1.0, lo_open=True)
    sel = (pl.col("accelerator") == acc.name) & (pl.col("kind") == "grouped_gemm") & (pl.col("precision") == prec)
    t = pl.concat([compute_measurements().filter(sel & (pl.col("pass") == "fwd_bwd")), device_kernels().filter(sel)],
                  how="diagonal_relaxed")
    if t.height == 0:
        raise ValidationError(f"no {prec} grouped_gemm rows for {acc.name} in compute_measurements.csv "
                              f"(pass fwd_bwd) or measurements/device_kernels.csv")
    cur = P.value(acc, "grouped_mm_factor", var)

    def pred(r, f):
        return _gemm_pred(r, fixed=fixed, hbm_eff=hbm_eff, ceiling_scale=f / cur)

    def flop(r):
        if r["pass"] == "fwd_bwd":
            return 6.0 * _all_rows(r) * int(r["n"]) * int(r["k"])
        return 2.0 * _all_rows(r) * int(r["n"]) * int(r["k"])

    train = [(r, r["value"] * 1e12) for r in t.filter(pl.col("role") == "train").iter_rows(named=True)]
    if not train:
        raise ValidationError(f"no train row of {acc.name}'s {prec} grouped GEMMs")
    f = _golden(lambda x: _sse(lambda r: pred(r, x), train), 0.05, 1.0)
    out = []
    for r in t.iter_rows(named=True):
        meas = flop(r) / (r["value"] * 1e12) * 1e6
        p = flop(r) / pred(r, f) * 1e6
        out.append({"case": r["case"], "role": r["role"], "measured_us": meas, "predicted_us": p,
                    "predicted_dense_us": flop(r) / pred(r, 1.0) * 1e6, "error_pct": 100.0 * (p / meas - 1.0)})
    rows = pl.DataFrame(out)

    def stat(role, how):
        e = rows.filter(pl.col("role") == role)["error_pct"].abs()
        return float(getattr(e, how)()) if e.len() else float("nan")

    return {"value": f, "rows": rows, "train_median_abs_error_pct": stat("train", "median"),
            "test_median_abs_error_pct": stat("test", "median"), "train_worst_abs_error_pct": stat("train", "max"),
            "test_worst_abs_error_pct": stat("test", "max")}
