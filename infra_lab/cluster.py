"""A cluster in numbers: aggregate compute, memory, network and power, computed from the
catalog for a Scenario's [hardware] table, and side-by-side accelerator metrics.

>>> import infra_lab as il
>>> s = il.cluster.cluster_summary(il.load_scenario("zaya1-ibm-mi300x").hardware)
>>> s.filter(s["quantity"] == "GPUs")["value"][0]
1024.0
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from . import catalog
from .catalog import PEAK_PRECISIONS
from .errors import ValidationError, unknown
from .scenario import as_hardware
from .units import GB, KW, PB, PFLOP, TB, TFLOP

if TYPE_CHECKING:
    import polars as pl

__all__ = ["cluster_summary", "accelerator_metrics", "METRICS", "PRECISION_METRICS", "claim_check",
           "MAX_CLAIM_OVER_PEAK"]

METRICS = {
    # name: (unit, description)
    "peak_tflops": ("TFLOP/s", "dense peak at the chosen precision"),
    "hbm_GB": ("GB", "HBM capacity (1 GB = 1e9 bytes)"),
    "hbm_bw_TBps": ("TB/s", "peak HBM bandwidth"),
    "tflops_per_kW": ("TFLOP/s per kW", "dense peak per kW of board power (TDP)"),
    "ridge_flop_per_byte": ("FLOP/byte", "ridge point: peak FLOP/s ÷ HBM bandwidth"),
    "bytes_per_kflop": ("bytes per kFLOP", "HBM bytes per 1,000 FLOP at peak (inverse ridge)"),
    "scaleup_GBps": ("GB/s per direction", "scale-up bandwidth per GPU, all links, raw"),
}

PRECISION_METRICS = ("peak_tflops", "tflops_per_kW", "ridge_flop_per_byte", "bytes_per_kflop")
"""The metrics of :data:`METRICS` that :func:`accelerator_metrics` computes from the peak at its
``precision`` (the others, HBM and scale-up figures, are the same at every precision)."""




def cluster_summary(hardware: Any) -> pl.DataFrame:
    """Aggregate numbers for a cluster, each with unit and source.

    Parameters
    ----------
    hardware : Scenario, HardwareConfig or [hardware] dict

    Returns
    -------
    polars.DataFrame with columns quantity, value, unit, source_url. Peak rows are dense
    peaks by precision [PFLOP/s]; max-achievable rows use the published per-GPU GEMM
    measurement (data/device_measurements.csv) times the GPU count [PFLOP/s]; network
    rows use NIC line rate [GB/s, one direction]; power is the sum of board TDPs [kW]
    (GPUs only: hosts, NICs, switches and cooling are not included).
    """
    import polars as pl

    hw = as_hardware(hardware)
    acc, nic = hw.accelerator_spec, hw.nic_spec
    n = hw.world_size
    rows: list[tuple[str, float, str, str]] = [
        ("nodes", float(hw.nodes), "-", ""),
        ("GPUs", float(n), "-", ""),
    ]
    for p in PEAK_PRECISIONS:
        if p in acc.peak_flops and p != "fp16":
            rows.append((f"dense peak {p}", acc.peak(p) * n / PFLOP, "PFLOP/s", acc.source_url))
    for p in ("bf16", "fp8"):
        maf = catalog.vendor_max_achievable(acc.name, p)   # the vendor's own MAF where the data marks one
        if maf is not None:
            rows.append((f"max-achievable GEMM {p} (published, x GPUs)", maf[0] * n / PFLOP, "PFLOP/s", maf[1]))
    rows += [
        ("HBM capacity", acc.hbm_bytes * n / TB, "TB", acc.source_url),
        ("HBM bandwidth", acc.hbm_bw_Bps * n / PB, "PB/s", acc.source_url),
        ("scale-up bandwidth per GPU (raw, one direction)", acc.scaleup_bw_Bps / GB, "GB/s", acc.source_url),
        ("scale-out bandwidth per node (line rate, one direction)",
         nic.line_rate_Bps * hw.nics_per_node / GB, "GB/s", nic.source_url),
        ("scale-out bandwidth, cluster (line rate, one direction)",
         nic.line_rate_Bps * hw.nics_per_node * hw.nodes / TB, "TB/s", nic.source_url),
    ]
    if acc.tdp_W is not None:
        rows.append(("GPU power at TDP", acc.tdp_W * n / KW, "kW", acc.source_url))
    return pl.DataFrame(rows, schema=["quantity", "value", "unit", "source_url"], orient="row")


MAX_CLAIM_OVER_PEAK = 1000.0
"""Largest claim :func:`claim_check` takes, as a multiple of the cluster's dense peak at the
claim's precision: three orders of magnitude above what the hardware can do, so a sparse or
lower-precision marketing figure (a few times the dense peak) passes and a unit slip
(TFLOP/s typed as PFLOP/s) or an overflow does not."""


def claim_check(claimed_pflops: float, hardware: Any, precision: str = "bf16") -> dict[str, Any]:
    """Compare a claimed cluster throughput with dense peak and published max-achievable.

    Parameters
    ----------
    claimed_pflops : the claim [PFLOP/s], > 0 and at most :data:`MAX_CLAIM_OVER_PEAK` (1,000) ×
        the cluster's dense peak at ``precision``
    hardware : Scenario, HardwareConfig or [hardware] dict
    precision : precision to compare at

    Returns
    -------
    dict with per-GPU claim [TFLOP/s], dense peak and max-achievable per GPU [TFLOP/s],
    the claim as a fraction of each, and ``consistent`` (claim <= dense peak).
    """
    from . import _validate

    claimed_pflops = _validate.positive("claimed_pflops", claimed_pflops)
    hw = as_hardware(hardware)
    acc = hw.accelerator_spec
    peak = acc.peak(precision)
    precision = str(precision).lower()   # the catalog's name ('BF16' was echoed as given)
    cluster_pflops = peak * hw.world_size / PFLOP
    _validate.number("claimed_pflops", claimed_pflops, lo=0.0, lo_open=True, hi=MAX_CLAIM_OVER_PEAK * cluster_pflops,
                     allowed=f"in (0, {MAX_CLAIM_OVER_PEAK * cluster_pflops:.4g}] PFLOP/s: at most "
                             f"{MAX_CLAIM_OVER_PEAK:,.0f} x the dense {precision} peak of {hw.world_size:,} x "
                             f"{acc.name} ({cluster_pflops:.4g} PFLOP/s; MAX_CLAIM_OVER_PEAK)")
    per_gpu = claimed_pflops * PFLOP / hw.world_size
    found = catalog.vendor_max_achievable(acc.name, precision)   # the vendor's own MAF where marked
    maf = None if found is None else found[0]
    return {
        "precision": precision,
        "claim_per_gpu_tflops": per_gpu / TFLOP,
        "dense_peak_per_gpu_tflops": peak / TFLOP,
        "max_achievable_per_gpu_tflops": None if maf is None else maf / TFLOP,
        "claim_over_peak": per_gpu / peak,
        "claim_over_max_achievable": None if maf is None else per_gpu / maf,
        "consistent": per_gpu <= peak,
    }


def accelerator_metrics(names: list[str] | None = None, precision: str = "bf16") -> pl.DataFrame:
    """Side-by-side metrics for accelerators, long format.

    Parameters
    ----------
    names : catalog names or aliases (default: every accelerator)
    precision : precision for the FLOP-based metrics

    Returns
    -------
    polars.DataFrame with columns accelerator, vendor, metric, value, unit. Metrics are
    those in :data:`METRICS`; a device with no sourced peak at ``precision`` (or no TDP)
    is left out of the metrics that need it rather than given a made-up value.
    """
    import polars as pl

    if precision not in PEAK_PRECISIONS:
        raise unknown("precision", precision, PEAK_PRECISIONS)
    names = names if names is not None else catalog.accelerator_names()
    if isinstance(names, str) or not isinstance(names, (list, tuple)):
        raise ValidationError(f"names = {names!r}: expected a list of accelerator names (or None for all)")
    if not names:
        raise ValidationError("names = []: give at least one accelerator")
    rows = []
    for nm in names:
        a = catalog.accelerator(nm)
        peak = a.peak_flops.get(precision)
        vals = {
            "hbm_GB": a.hbm_bytes / GB,
            "hbm_bw_TBps": a.hbm_bw_Bps / TB,
            "scaleup_GBps": a.scaleup_bw_Bps / GB,
        }
        if peak is not None:
            vals["peak_tflops"] = peak / TFLOP
            vals["ridge_flop_per_byte"] = peak / a.hbm_bw_Bps
            vals["bytes_per_kflop"] = 1e3 * a.hbm_bw_Bps / peak
            if a.tdp_W:
                vals["tflops_per_kW"] = peak / TFLOP / (a.tdp_W / KW)
        for m, v in vals.items():
            rows.append((a.name, a.vendor, m, float(v), METRICS[m][0]))
    return pl.DataFrame(rows, schema=["accelerator", "vendor", "metric", "value", "unit"], orient="row")
