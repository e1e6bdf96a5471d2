"""Compute model: GEMM efficiency, fused attention, MoE routing and per-layer op tables.

Every op is timed as a roofline plus a fixed per-kernel cost::

    t = max(FLOP / (peak · efficiency), bytes / (HBM bw · hbm_efficiency)) + kernel_fixed_s

* **GEMMs** (:mod:`.gemm`): a tile/wave model of the device (macro-tiles, split-K, stream-K
  where the library ships it) under one *ceiling* per device and precision, fitted so that
  the model's maximum over all shapes equals the published max-achievable rate (AMD MAF,
  Stas Bekman's MAMF). Grouped GEMMs (MoE experts) pad every group to the tile; one fused
  grouped kernel (PyTorch's ``torch._grouped_mm`` / ``torch._scaled_grouped_mm``) runs at the
  device's measured share of the dense ceiling (``grouped_mm_factor``: 0.46 BF16 on Blackwell,
  0.88 BF16 / 0.80 FP8 on Hopper, :func:`grouped_mm_factor_fit`) and, on Hopper and Blackwell,
  with the tile PyTorch's dispatch picks, CUTLASS's persistent wave schedule (no stream-K) and
  two kernels per call (:func:`fused_grouped_schedule`, :func:`run_grouped`).
* **Attention** (:mod:`.attention`): per-kernel, per-pass efficiency fitted to published
  sweeps (FA2/FA3/cuDNN on H100, AITER on MI355X, ...), causal masking by whole diagonal
  blocks, backward never more efficient than forward.
* **MoE** (:mod:`.moe`): seeded multinomial per-expert counts, the expected busiest-rank
  load of top-k routing and the busiest rank's distinct experts.
* **Op tables** (:mod:`.ops`): :func:`gemm_records` is the GEMM list of a model (the only
  one); :func:`layer_ops` the timed op table the training model consumes, each row tagged
  with a :data:`COMPONENTS` entry.
* **Validation** (:mod:`.validation`): :func:`calibrate` re-fits every fitted constant;
  :func:`validation_table` compares the check set (data/compute_measurements.csv, train/test);
  :func:`device_check_table` the project's own measurements on a GPU (never fitted).

The constants are data (``data/compute_params.csv``), each with a basis (fitted, rule,
measured, derived, assumption), a range where stated, and a source.

Examples
--------
>>> import infra_lab as il
>>> t = il.compute.gemm_time(4096, 4864, 32896, "MI300X", "bf16")
>>> 690 < 2 * 4096 * 4864 * 32896 / t / 1e12 <= 708      # AMD's MAF is the model's maximum
True
"""

from __future__ import annotations

from ._params import (
    ELEMENT_BYTES,
    LOW_PRECISIONS,
    PRECISIONS,
    compute_params,
    hbm_efficiency,
    kernel_fixed_s,
    launch_overhead_s,
)
from .attention import (
    PASSES,
    attention_cost,
    attention_efficiency,
    attention_kernels,
    attention_params,
    attention_time,
    default_attention_kernel,
)
from .gemm import (
    GemmModel,
    efficiency_grid,
    fit_gemm_ceiling,
    fused_grouped_model,
    fused_grouped_schedule,
    fused_grouped_tile,
    gemm_efficiencies,
    gemm_efficiency,
    gemm_model,
    gemm_time,
    gemm_times,
    grouped_gemm_time,
    grouped_gemm_times,
    max_efficiency,
    max_tile_efficiency,
    op_time,
    ridge_points,
    roofline,
    run_grouped,
)
from .moe import (
    expected_max_std_normal,
    expert_token_counts,
    moe_busiest_rank_experts,
    moe_busiest_rank_experts_table,
    moe_distinct_ranks,
    moe_load_imbalance,
)
from .ops import (
    COMPONENTS,
    GEMM_COMPONENTS,
    LAYER_KINDS,
    LOW_PRECISION_COMPONENTS,
    MUON_COMPONENTS,
    OP_TYPES,
    SCALINGS,
    GemmRecords,
    gemm_records,
    layer_ops,
    layer_times,
    muon_matrices,
    newton_schulz_flops,
    newton_schulz_times,
    optimizer_step_time,
    roofline_points,
)
from .validation import (
    calibrate,
    ceiling_fits,
    compute_measurements,
    device_check_summary,
    device_check_table,
    device_gemm_layout_check,
    device_kernels,
    four_bit_gemm_measurements,
    four_bit_gemm_summary,
    four_bit_gemm_table,
    four_bit_load_fit,
    gemm_validation,
    grouped_mm_factor_fit,
    mx4_ceiling_factor_fit,
    power_limit_derate,
    validation_summary,
    validation_table,
)

__all__ = [
    "ELEMENT_BYTES", "LOW_PRECISIONS", "PRECISIONS", "COMPONENTS", "GEMM_COMPONENTS",
    "LOW_PRECISION_COMPONENTS", "SCALINGS",
    "LAYER_KINDS", "OP_TYPES", "PASSES",
    "compute_params", "hbm_efficiency", "kernel_fixed_s", "launch_overhead_s",
    "GemmModel", "gemm_model", "gemm_efficiency", "gemm_efficiencies", "gemm_time", "gemm_times",
    "grouped_gemm_time", "grouped_gemm_times", "fused_grouped_model", "fused_grouped_schedule",
    "fused_grouped_tile", "run_grouped", "fit_gemm_ceiling", "max_efficiency",
    "max_tile_efficiency", "op_time", "ridge_points", "roofline", "efficiency_grid",
    "attention_cost", "attention_time", "attention_efficiency", "attention_params",
    "attention_kernels", "default_attention_kernel",
    "moe_load_imbalance", "expert_token_counts", "expected_max_std_normal", "moe_distinct_ranks",
    "moe_busiest_rank_experts", "moe_busiest_rank_experts_table",
    "GemmRecords", "gemm_records", "layer_ops", "layer_times", "optimizer_step_time",
    "newton_schulz_flops", "muon_matrices", "newton_schulz_times", "MUON_COMPONENTS",
    "roofline_points",
    "calibrate", "ceiling_fits", "compute_measurements", "gemm_validation",
    "device_kernels", "device_check_table", "device_check_summary", "device_gemm_layout_check",
    "power_limit_derate", "grouped_mm_factor_fit", "validation_summary", "validation_table",
    "four_bit_gemm_measurements", "four_bit_gemm_table", "four_bit_gemm_summary", "mx4_ceiling_factor_fit",
    "four_bit_load_fit",
]
