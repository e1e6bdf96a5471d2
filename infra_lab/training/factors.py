"""The software stack's training factors: :data:`STACK_PARAMS` (the names every training stack
of ``data/stacks.csv`` must define), :func:`stack_params` (a stack's factors with overrides,
checked for completeness and range) and :data:`ATTENTION_KERNEL_CODES` (the codes of the
``attention_kernel`` factor)."""

from __future__ import annotations

import math

from .. import stacks
from ..errors import ValidationError

STACK_PARAMS = (
    "framework_time_scale", "memory_time_scale", "flash_attention", "causal_skip", "dropout",
    "tp_comm_overlap", "tp_async_comm_overlap", "cp_comm_overlap", "ep_comm_overlap", "dualpipe_ep_comm_overlap",
    "moe_popularity_cv",
    "attention_kernel", "pp_p2p_overlap", "pp_p2p_interleaved_calls", "dp_comm_overlap", "zero3_comm_overlap", "zero3_bandwidth_efficiency",
    "grad_reduce_bytes",
    "grad_buffer_bytes", "weight_bytes", "memory_reserve_bytes", "memory_reserve_fraction",
    "fp8_gemm_overhead", "dp_bucket_min_params", "dp_bucket_params_per_rank",
    "zero3_gathers_per_layer", "zero3_small_gathers_per_layer", "wgrad_main_grad_bytes",
    "selective_recompute", "zero3_defer_reduce_scatter", "fp8_saves_quantized_inputs", "loss_fp32_copies",
    "loss_bwd_fp32_tensors", "loss_parallel_bwd_fp32_tensors", "grad_buffer_persistent", "moe_host_sync_s", "moe_host_sync_slowdown", "fp8_caches_weights", "muon_ns_iterations", "muon_ns_shared_over_dp",
    "eager_memory_factor", "pp_stage_buffers_persistent", "grouped_gemm_streams", "sp_backward_regather",
    "fsdp_fp32_sharded_params", "fsdp_reduce_dtype_bytes", "megatron_fsdp_rs_queue_params",
)
"""Factors every training stack must define (data/stacks.csv)."""


_FRACTIONS = ("memory_reserve_fraction", "zero3_bandwidth_efficiency", "muon_ns_shared_over_dp")


def stack_params(stack: str, overrides: dict[str, float] | None = None) -> dict[str, float]:
    """The training factors of ``stack`` (:func:`infra_lab.stacks.params`) with optional
    ``overrides``, checked for completeness and range (overlaps and fractions in 0..1,
    scales > 0, load imbalance >= 1, byte sizes > 0)."""
    p = stacks.params(stack, overrides)
    if stacks.info(stack)["purpose"] != "training":
        raise ValidationError(f"stack = {stack!r}: a {stacks.info(stack)['purpose']} stack; "
                              f"training stacks: {', '.join(stacks.names('training'))}")
    missing = [k for k in STACK_PARAMS if k not in p]
    if missing:
        raise ValidationError(f"data/stacks.csv: stack {stack!r} lacks {', '.join(missing)}")
    for k, v in p.items():
        frac = k.endswith("_overlap") or k in _FRACTIONS
        bad = (not math.isfinite(v) or v < 0 or (frac and v > 1) or (k.endswith("_scale") and v <= 0)
               or (k == "zero3_bandwidth_efficiency" and v <= 0) or (k == "moe_popularity_cv" and v > 10)
               or (k == "attention_kernel" and v not in (0, *ATTENTION_KERNEL_CODES))
               or (k in ("selective_recompute", "zero3_defer_reduce_scatter", "fp8_saves_quantized_inputs",
                         "fp8_caches_weights", "sp_backward_regather", "fsdp_fp32_sharded_params")
                   and v not in (0, 1))
               or (k.endswith("_bytes") and k not in ("memory_reserve_bytes", "wgrad_main_grad_bytes") and v <= 0)
               or (k == "wgrad_main_grad_bytes" and v > 8)
               or (k == "fsdp_reduce_dtype_bytes" and v not in (2, 4))
               or (k == "pp_p2p_interleaved_calls" and v not in (0, 1, 2, 3))
               or (k == "megatron_fsdp_rs_queue_params" and (v < 1 or v != int(v)))
               or (k == "memory_reserve_fraction" and v >= 1)
               or (k == "zero3_gathers_per_layer" and (v < 1 or v != int(v)))
               or (k == "zero3_small_gathers_per_layer" and v != int(v))
               or (k == "muon_ns_iterations" and (v != int(v) or v > 64))
               or (k == "grouped_gemm_streams" and (v != int(v) or v > 1024))
               or (k == "eager_memory_factor" and not 1 <= v <= 10))
        if bad:
            allowed = ("0..1" if frac else "0..10" if k == "moe_popularity_cv"
                       else f"0 or one of {ATTENTION_KERNEL_CODES}" if k == "attention_kernel"
                       else "0 (attention core) or 1 (per-op SAC)" if k == "selective_recompute"
                       else "0 (each backward waits) or 1 (deferred to the next micro-batch)"
                       if k == "zero3_defer_reduce_scatter"
                       else "0 or 1" if k in ("fp8_saves_quantized_inputs", "fp8_caches_weights",
                                              "sp_backward_regather")
                       else ("0 (two transfers per chunk slot), 1 (Megatron-Core's calls, p2p overlap),"
                             " 2 (Megatron-Core's calls, no p2p overlap) or 3 (torch.distributed.pipelining's"
                             " runtime)") if k == "pp_p2p_interleaved_calls"
                       else "an integer >= 1" if k == "zero3_gathers_per_layer"
                       else "an integer >= 0" if k == "zero3_small_gathers_per_layer"
                       else "an integer 0..64" if k == "muon_ns_iterations"
                       else "an integer 0..1024" if k == "grouped_gemm_streams"
                       else "1..10" if k == "eager_memory_factor"
                       else "2 (bf16/fp16) or 4 (fp32)" if k == "fsdp_reduce_dtype_bytes"
                       else "an integer >= 1 [params]" if k == "megatron_fsdp_rs_queue_params"
                       else ">= 0" if k == "memory_reserve_bytes" else "0..8" if k == "wgrad_main_grad_bytes"
                       else "> 0")
            raise ValidationError(f"stack parameter {k} = {v!r} (stack {stack}): allowed {allowed}")
    return p


ATTENTION_KERNEL_CODES = {1: "fa2", 2: "fa3", 3: "cudnn", 4: "fa4", 5: "ck-fa2", 6: "aiter", 7: "sdpa"}
"""Codes of the stacks' ``attention_kernel`` factor (0: the device's default kernel, 7: PyTorch SDPA resolved per device;
:func:`infra_lab.compute.default_attention_kernel`)."""
