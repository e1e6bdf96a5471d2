"""Memory model: per-GPU training memory of a Scenario and inference KV-cache sizing.

Training (the most loaded GPU: the first pipeline stage, which holds the input embedding
and the most in-flight micro-batches)::

    weights     = P_dense/(tp·pp) + P_experts/(tp·ep·pp) + embeddings/tp      × weight_bytes
    gradients   = same parameters                                             × grad_bytes
    optimizer   = same parameters                                             × state_bytes
    ZeRO-1 shards optimizer states, ZeRO-2 also gradients, ZeRO-3 / FSDP also weights,
    over the dp·cp ranks (experts over dp·cp/ep ranks).
    activations = Σ_layers-of-the-stage per-layer bytes × in-flight micro-batches

Per-layer activations follow Korthikanti et al. 2022 (arXiv 2205.05198, §4), generalised to
GQA/MLA/CCA attention, gated MLPs, MoE and Mamba2 mixers; for the GPT layer of the paper
(MHA, GeLU MLP of 4h, dropout) they reduce exactly to

    no recompute, TP only:     s·b·h·(10 + 24/t + 5·a·s/(h·t))
    TP + sequence parallel:    s·b·h·(34 + 5·a·s/h) / t
    selective recompute + SP:  34·s·b·h / t
    full recompute:            2·s·b·h   (/t with SP)

In-flight micro-batches on the first stage: pp for 1F1B, pp + (pp−1)/vp for the interleaved
schedule (Korthikanti's factor 1 + (p−1)/(p·m)), never more than the micro-batches of a step.
An allocator reserve is its own row: ``reserve_bytes`` outside the framework's caching
allocator (runtime context, communication buffers) + ``reserve_fraction`` of the tensor
bytes (the caching allocator's reserved-but-unallocated blocks), see
:func:`infra_lab._kernels.memory.allocator_reserve`. A job fits when the total is at most
the memory the device's driver exposes (:attr:`infra_lab.catalog.Accelerator.memory_capacity_bytes`).

Inference: weights + KV cache (GQA: 2·kv_heads·head_dim, MLA: kv_lora_rank + rope dim, CCA:
compressed K and V of kv_heads·head_dim each, plus per-sequence convolution state; Mamba2
layers: a fixed state per sequence) [elements per token per layer].

Layout
------
:mod:`infra_lab.memory.activations` (what a layer, an MTP module and the loss keep for
backward), :mod:`infra_lab.memory.pipeline` (layers, parameters and in-flight micro-batches per
pipeline rank), :mod:`infra_lab.memory.training` (the training-memory table, ``fits``,
``memory_sweep``, ``korthikanti_check``), :mod:`infra_lab.memory.weights` (number formats and
weight bytes), :mod:`infra_lab.memory.largest` (the largest model of a family that fits a plan,
``largest_model``), :mod:`infra_lab.memory.inference` (KV cache, inference memory) and
:mod:`infra_lab.memory.checkpoint` (checkpoint sizes). Every name is importable from
``infra_lab.memory``.

Examples
--------
>>> import infra_lab as il
>>> sc = il.load_scenario("zaya1-ibm-mi300x")
>>> df = il.memory.training_memory(sc)
>>> df.columns
['component', 'bytes', 'GiB', 'note']
>>> il.memory.fits(sc)
True
"""

from __future__ import annotations

from .activations import (  # noqa: F401
    FP8_PRECISIONS,
    MIN_OFFLOADED_ELEMENTS,
    SELECTIVE_MODES,
    activation_bytes_per_layer,
    cp_exchange_widths,
    fp8_weight_copy_bytes,
    korthikanti_activation_bytes,
    loss_logits_bytes,
    moe_etp_gather_bytes,
    mtp_activation_bytes,
    mtp_modules_recomputed,
    offloaded_bytes_per_layer,
    saved_gemm_input_bytes,
)
from .checkpoint import (  # noqa: F401
    _MUON_ADAMW_GROUPS,  # read by tests/test_muon.py, named in infra_lab.compute.ops
    CHECKPOINT_SAVES,
    CheckpointSize,
    checkpoint_bytes,
)
from .inference import (  # noqa: F401
    DEFAULT_RESERVE_FRACTION,
    inference_memory,
    kv_bytes_per_token,
    kv_cache_bytes,
    kv_cached_tokens,
    kv_share_per_gpu,
    max_inference_batch,
    tp_accepted,
    tp_sizes,
    training_etp_accepted,
    training_tp_accepted,
    training_tp_sizes,
)
from .largest import LARGEST_BY, MAX_LAYERS, largest_model, model_families  # noqa: F401
from .pipeline import (  # noqa: F401
    MAX_STAGE_CANDIDATES,
    V_SCHEDULES,
    chunk_rank,
    inflight_chunks,
    inflight_microbatches,
    pipeline_chunks,
    stage_candidates,
    stage_layers,
)
from .training import (  # noqa: F401
    KORTHIKANTI_QUANTITIES,
    OPTIMIZER_STATE_BYTES,
    OPTIMIZER_STATES,
    PIPELINE_RANKS,
    TRAINING_DEFAULTS,
    fits,
    fsdp_gather_bytes,
    fsdp_grad_queue_params,
    fsdp_reduce_scatter_bytes,
    korthikanti_check,
    korthikanti_runs,
    memory_sweep,
    training_memory,
    training_memory_total,
    zero3_reduce_bytes,
)
from .weights import (  # noqa: F401
    expert_matrix_params,
    format_bytes,
    number_formats,
    weight_bytes,
)

__all__ = [
    "TRAINING_DEFAULTS",
    "PIPELINE_RANKS",
    "SELECTIVE_MODES",
    "OPTIMIZER_STATE_BYTES",
    "OPTIMIZER_STATES",
    "activation_bytes_per_layer",
    "mtp_activation_bytes",
    "mtp_modules_recomputed",
    "offloaded_bytes_per_layer",
    "MIN_OFFLOADED_ELEMENTS",
    "korthikanti_activation_bytes",
    "saved_gemm_input_bytes",
    "moe_etp_gather_bytes",
    "fp8_weight_copy_bytes",
    "fsdp_gather_bytes",
    "fsdp_grad_queue_params",
    "fsdp_reduce_scatter_bytes",
    "zero3_reduce_bytes",
    "loss_logits_bytes",
    "FP8_PRECISIONS",
    "inflight_microbatches",
    "inflight_chunks",
    "training_memory",
    "training_memory_total",
    "fits",
    "korthikanti_check",
    "korthikanti_runs",
    "KORTHIKANTI_QUANTITIES",
    "kv_cache_bytes",
    "kv_share_per_gpu",
    "tp_accepted",
    "tp_sizes",
    "training_etp_accepted",
    "training_tp_accepted",
    "training_tp_sizes",
    "kv_bytes_per_token",
    "kv_cached_tokens",
    "weight_bytes",
    "expert_matrix_params",
    "format_bytes",
    "number_formats",
    "inference_memory",
    "max_inference_batch",
    "memory_sweep",
    "largest_model",
    "model_families",
    "LARGEST_BY",
    "MAX_LAYERS",
    "CHECKPOINT_SAVES",
    "CheckpointSize",
    "checkpoint_bytes",
]

from ..errors import name_keywords_of as _name_keywords_of  # noqa: E402

_name_keywords_of(globals(), __all__, "il.memory")   # a misspelt keyword names the nearest parameter
