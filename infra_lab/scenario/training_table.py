"""The [training] table: :class:`TrainingConfig` and the checks of its fields (recompute and
offload module lists, ``check_recompute_num_layers``, the MoE capacity factor), with the allowed
values of its enumerated fields (:data:`PRECISIONS`, :data:`RECOMPUTE`,
:data:`RECOMPUTE_MODULES`, :data:`OFFLOAD_MODULES`, :data:`OPTIMIZERS`, :data:`ENCODER_MODES`,
:data:`FP8_SCALINGS`, :data:`MOE_ROUTINGS`)."""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass
from typing import Any

from ..errors import ValidationError, unknown
from ._checks import _bool, _check_keys, _data_mix, _enum, _int, _py, _py_list, _stack_name

PRECISIONS = ("bf16", "fp16", "fp8")


RECOMPUTE = ("none", "selective", "full")


RECOMPUTE_MODULES = ("core_attn", "moe_act", "layernorm", "mla_up_proj", "mlp", "moe", "shared_experts")
"""Megatron-Core's ``--recompute-modules`` (selective recomputation of named submodules,
``TransformerConfig.recompute_modules``, default ["core_attn"]): the attention core, the MoE
experts' activation function, the input and pre-MLP layernorms, MLA's up-projections, the dense
MLP, the whole MoE layer (dispatch and combine included), the shared experts."""


OFFLOAD_MODULES = ("attn_norm", "qkv_linear", "core_attn", "attn_proj", "mlp_norm", "expert_fc1", "moe_act")
"""Megatron-Core's fine-grained activation offloading (``--fine-grained-activation-offloading
--offload-modules ...``, ``TransformerConfig.offload_modules``): the submodules whose saved
inputs are copied to host memory during forward and reloaded before their backward — the
attention's input norm, the QKV projection, the attention core, the attention output
projection, the pre-MLP norm, the routed experts' FC1 and the experts' activation function
(https://github.com/NVIDIA/Megatron-LM/blob/main/docs/user-guide/features/fine_grained_activation_offloading.md).
Megatron's ``fused_group_mlp`` (TE op fuser) and ``gdp_qkv`` (gated delta product) are not
modelled."""


OPTIMIZERS = ("adamw", "adam", "adamw-bf16", "muon", "sgd")


ENCODER_MODES = ("trained", "frozen")


FP8_SCALINGS = ("tensor", "row", "block")
"""training.fp8_scaling values: the operand scaling of the FP8 recipe (the compute model's
``layer_ops(scaling=...)``, :data:`infra_lab.compute.SCALINGS`)."""


@dataclass(frozen=True)
class TrainingConfig:
    """The [training] table.

    seq_len [tokens], global_batch [sequences per optimizer step], micro_batch [sequences per
    micro-batch per data-parallel rank], precision, recompute, optimizer, stack (software
    stack name from :mod:`infra_lab.stacks`; None = the accelerator vendor's default, see
    :attr:`Scenario.stack`).

    Multimodal models (issue 20, :mod:`infra_lab.multimodal`): data_mix (token shares of
    text/image/audio, picture size, clip length, packing: a
    :class:`infra_lab.multimodal.DataMix`; None = all text, packed; a text model takes text = 1
    only, its packing setting ``Estimate.useful_token_fraction``) and encoder ("trained" |
    "frozen"; None = trained).

    MoE routing (how the run routes tokens, an input of the expert load imbalance):
    moe_routing "learned" (the router's own choices: the stack's ``moe_popularity_cv`` spread
    of expert popularity plus sampling noise) | "balanced" (benchmark runs with Megatron's
    ``--moe-router-force-load-balancing``: uniform routing, sampling noise only);
    moe_capacity_factor (token dropping at this capacity factor caps the busiest expert rank's
    load; None = dropless).

    recompute_modules (Megatron-Core's ``--recompute-modules``, :data:`RECOMPUTE_MODULES`; only
    with recompute = "selective"): the submodules recomputed in backward instead of storing their
    outputs. None = the stack's selective set (the attention core for Megatron stacks, per-op
    selective checkpointing for torchtitan).

    The loss (memory of the output layer's logits, :func:`infra_lab.memory.loss_logits_bytes`):
    loss_fusion (True: a fused cross-entropy kernel that reads the 16-bit logits and writes
    their gradient in place — Megatron-Core ``--cross-entropy-loss-fusion``, Transformer
    Engine's parallel cross entropy; False: the logits are up-cast to an fp32 copy) and
    loss_chunks (the output layer and loss run over this many slices of the tokens, so only
    one slice of logits is live: chunked / fused-linear cross entropy; 1 = all at once) and
    loss_compiled (True: the loss runs under torch.compile, one Inductor graph that keeps the
    16-bit logits and writes their 16-bit gradient out of place, no fp32 copies — torchtitan
    with compile on since its PR #1033; refused on other stacks, whose counterpart is loss_fusion).

    moe_host_sync: the run's MoE layers are host-bound — eager launches without the fused
    router/permutation kernels, CUDA graphs or a sync-free MoE path, and a device-to-host copy of
    the token counts every layer (all-to-all splits, grouped-GEMM sizes) that drains the GPU
    queue; the MoE layers' GPU time (forward, backward, recomputation) then grows by the stack's
    ``moe_host_sync_slowdown`` fraction, and a fixed host wait ``moe_host_sync_s`` per MoE layer
    and micro-batch is added (0 in the shipped stacks). The ablation baselines of published
    optimisation studies run so (Primus "no MoE features", Megatron-Core's GB200 DeepSeek-V3
    baseline without CUDA graphs). False (default): the GPU is never starved. APPROXIMATE: one
    slowdown for every host and model, in proportion to the layers' work; at small micro-batches
    the host's launch time is a floor above the GPU time instead (max(host, GPU time);
    docs/validation.md, host-bound MoE layers), which no train run sets and which is not modelled.

    fp8_param_gather (FP8 training on Transformer Engine stacks: Megatron-Core
    ``--fp8-param-gather``, the primary weights are FP8 only; False = "dual precision weights",
    a cached FP8 copy beside each 16-bit weight, :func:`infra_lab.memory.fp8_weight_copy_bytes`;
    true is refused on stacks without Transformer Engine's cached FP8 weights, torchtitan's
    counterpart being fsdp_float8_all_gather, and with a precision other than fp8).

    offload_modules (Megatron-Core's fine-grained activation offloading, ``--offload-modules``
    with ``--fine-grained-activation-offloading``; :data:`OFFLOAD_MODULES`): the submodules whose
    saved inputs go to host memory in forward and come back before their backward. They leave
    the GPU's activation peak (:func:`infra_lab.memory.offloaded_bytes_per_layer`) and cost
    host-link time (:func:`infra_lab.catalog.host_link_bytes_per_s`): the reloads hide under
    the stage's backward and what does not fit stalls it
    (:func:`infra_lab._kernels.training.offload_exposed`). None (default) = no offloading. Megatron's rules apply: ``attn_proj`` only
    with ``core_attn``; ``expert_fc1`` / ``moe_act`` not with the ``moe`` recompute module.

    eager: the model runs in PyTorch eager mode (torchtitan with ``compile = false``): its
    element-wise ops (norms, RoPE, activations, residual adds, the loss) run unfused, one kernel
    per op, so memory-bound op time is the stack's ``memory_time_scale`` times its
    ``eager_memory_factor`` (1 for stacks whose element-wise kernels are fused without a
    compiler, Megatron-Core's). False (default): compiled or fused, as the stacks are fitted.

    sac_recompute_attention: under per-op selective activation checkpointing (stacks with
    ``selective_recompute`` = 1, torchtitan's ``selective_ac_option = "op"``) the attention
    kernel's output is not in the policy's save list, so the attention forward runs again in
    backward. torchtitan's ``_op_sac_save_list`` held only the flash and memory-efficient SDPA
    ops until PR #2095 (2025-12-01) added cuDNN's, while torchtitan put cuDNN attention first on
    compute capability 10.0 since PR #1196 (2025-05): Blackwell runs of that window recompute
    it; the layer then keeps neither the kernel's 16-bit output nor its fp32 log-sum-exp for
    backward (:func:`infra_lab.memory.activation_bytes_per_layer`, ``sac_saves_attention``).
    False (default): the attention output is saved (the save list has the kernel).

    pp_free_stage_buffers: the run frees its pipeline stages' input and output tensors when no
    longer used (Llama 3 §3.3.2: "we proactively deallocate tensors that will not be used for
    future computation, including the input and output tensors of each pipeline stage"), so a
    stack whose pipelining keeps a buffer per micro-batch (``pp_stage_buffers_persistent`` = 1,
    PyTorch pipelining) holds none beyond the layers' saved activations. False (default): the
    stack's behaviour (Megatron frees them anyway: ``deallocate_output_tensor``, receive buffers
    allocated per transfer).

    gradient_accumulation_fusion: Megatron's ``--gradient-accumulation-fusion`` (its default):
    each weight-gradient GEMM accumulates into the fp32 main-grad buffer in its epilogue (the
    stack's ``wgrad_main_grad_bytes``). False (Megatron's ``--no-gradient-accumulation-fusion``,
    as Primus' DeepSeek, Llama and Mixtral example configs set it): the GEMM writes a 16-bit
    gradient and Megatron-Core DDP's backward hook adds it to ``main_grad``
    (``param.main_grad.add_(param.grad.data)``, ``_make_backward_post_hook`` in
    megatron/core/distributed/distributed_data_parallel.py), one more memory-bound pass per
    weight and micro-batch (read the fp32 buffer and the 16-bit gradient, write the buffer),
    priced by :func:`infra_lab.compute.layer_ops` (``gradient_accumulation_fusion``). With
    parallelism.fsdp and ``fsdp_impl = "megatron"`` (Megatron-FSDP) the post-backward hook copies
    each 16-bit gradient into its fp32 main-grad buffer instead (``main_grad.copy_(grad)``: read
    the gradient, write the buffer; one copy per parameter tensor, so per local expert of
    Transformer Engine's GroupedLinear; ``main_grad_hook="copy"``). No effect on a stack without
    an fp32 main-grad buffer (``wgrad_main_grad_bytes`` = 0) nor with PyTorch FSDP
    (``fsdp_impl = "torch"``, which reduce-scatters the autograd gradients itself). The
    embedding's gradient is not priced either way.

    fsdp_float8_all_gather (torchao's float8 all-gather under PyTorch FSDP2: torchtitan's
    ``float8.enable_fsdp_float8_all_gather``, which its tensorwise recipe only takes; torchtitan
    stacks, precision "fp8" with fp8_scaling "tensor"): each ``Float8Linear`` weight is cast to
    float8 before the all-gather (``WeightWithDynamicFloat8CastTensor.fsdp_pre_all_gather``) and
    the gathered weight is a ``Float8TrainingTensor`` of 1-byte data and a scalar scale
    (``fsdp_post_all_gather``), which the forward and the backward GEMMs use as it is: the gathered
    layers then hold 1 byte per parameter, not 2 (:func:`infra_lab.memory.fsdp_gather_bytes`).
    The per-layer all-gather sends those bytes too (the step model prices the gathers of the
    weight matrices at them; the norm vectors, and the gradients' reduce-scatter in the stack's
    reduce dtype, keep their widths). No effect unless the weights are fully sharded
    (parallelism.fsdp or zero = 3). False (default): the weights are gathered in the 16-bit
    parameter dtype.

    fp8_scaling (FP8 only, :data:`FP8_SCALINGS`): "tensor" (default: per-tensor scales, one cast
    per operand serves both of its GEMMs), "row" (torchao's float8 rowwise recipe: every operand
    quantized again along its other axis, backward GEMMs rescaled element-wise afterwards) or
    "block" (torchao's MXFP8 recipes: per-axis 1×32-block casts in separate kernels; only on parts
    with block-scaled matrix instructions, which come with FP4: those with a dense fp4 peak, Blackwell
    and CDNA 4 and later); priced by :func:`infra_lab.compute.layer_ops` (``scaling``).

    recompute_num_layers (only with recompute = "full"; Megatron's ``--recompute-granularity full
    --recompute-method block --recompute-num-layers N``): the first N layers of each pipeline
    chunk (each virtual stage under the interleaved schedule) are recomputed whole in backward
    and keep only their input; the chunk's other layers keep their full activations and are
    not recomputed. A chunk of fewer than N layers recomputes all of them, as Megatron-Core's
    ``TransformerBlock._checkpointed_forward`` does (its loop runs over the chunk's layers and
    checkpoints those below N; no error):
    https://github.com/NVIDIA/Megatron-LM/blob/3bec9aa97dda898d16ff5a89bac0ed2b6682b172/megatron/core/transformer/transformer_block.py#L544-L565
    (core_v0.16.0). An integer 1..the model's layers; None (default) = every layer. Megatron
    stacks only (torchtitan's full activation checkpointing has no such count). Not with
    offload_modules (not modelled together) nor with parallelism.ep_overlap (Megatron-Core
    refuses --recompute-num-layers with --overlap-moe-expert-parallel-comm).
    :func:`infra_lab.search` prices its "full" plans with it (its ``recompute_num_layers``
    column). The number means the block method only:
    Megatron's ``--recompute-method uniform --recompute-num-layers N`` recomputes every layer and
    keeps one input per group of N layers, so uniform with 1 is this field left out (every layer)
    and uniform with N > 1 is not modelled (same time as every layer, less stored, a larger
    working set). A model's multi-token-prediction modules are not recomputed when the field is
    set (Megatron-Core skips MTP recompute under the block method, with a warning) and are
    recomputed whole when it is absent: :func:`infra_lab.memory.mtp_modules_recomputed`.
    """

    seq_len: int = 4096
    global_batch: int = 1024
    micro_batch: int = 1
    precision: str = "bf16"
    recompute: str = "none"
    optimizer: str = "adamw"
    stack: str | None = None
    data_mix: Any = None
    encoder: str | None = None
    moe_routing: str = "learned"
    moe_capacity_factor: float | None = None
    recompute_modules: tuple | None = None
    loss_fusion: bool = False
    loss_chunks: int = 1
    loss_compiled: bool = False
    moe_host_sync: bool = False
    fp8_param_gather: bool = False
    offload_modules: tuple | None = None
    eager: bool = False
    sac_recompute_attention: bool = False
    pp_free_stage_buffers: bool = False
    gradient_accumulation_fusion: bool = True
    fp8_scaling: str = "tensor"
    recompute_num_layers: int | None = None
    fsdp_float8_all_gather: bool = False

    KEYS = ("seq_len", "global_batch", "micro_batch", "precision", "recompute", "optimizer", "stack",
            "data_mix", "encoder", "moe_routing", "moe_capacity_factor", "recompute_modules",
            "loss_fusion", "loss_chunks", "moe_host_sync", "fp8_param_gather", "offload_modules", "eager",
            "loss_compiled", "sac_recompute_attention", "fp8_scaling", "pp_free_stage_buffers",
            "recompute_num_layers", "gradient_accumulation_fusion", "fsdp_float8_all_gather")

    def __post_init__(self) -> None:
        # built directly (``TrainingConfig(recompute="partial")``) or from a dict: the same checks
        put = object.__setattr__
        for k in ("seq_len", "global_batch", "micro_batch"):
            put(self, k, _int(f"training.{k}", getattr(self, k)))
        # the compute model's bounds (compute.layer_ops: s ≤ 2^24 tokens, b ≤ 2^16 sequences)
        for k, hi in (("seq_len", 2**24), ("global_batch", 2**24), ("micro_batch", 2**16)):
            if getattr(self, k) > hi:
                raise ValidationError(f"training.{k} = {getattr(self, k)!r}: allowed 1..{hi:,}")
        put(self, "precision", _enum("training.precision", self.precision, PRECISIONS))
        put(self, "recompute", _enum("training.recompute", self.recompute, RECOMPUTE))
        put(self, "optimizer", _enum("training.optimizer", self.optimizer, OPTIMIZERS))
        put(self, "stack", _stack_name(self.stack))
        put(self, "data_mix", _data_mix(self.data_mix))
        put(self, "encoder", None if self.encoder is None else _enum("training.encoder", self.encoder,
                                                                      ENCODER_MODES))
        put(self, "moe_routing", _enum("training.moe_routing", self.moe_routing, MOE_ROUTINGS))
        put(self, "moe_capacity_factor", _capacity_factor(self.moe_capacity_factor))
        put(self, "recompute_modules", _recompute_modules(self.recompute_modules, self.recompute))
        put(self, "offload_modules", _offload_modules(self.offload_modules, self.recompute_modules))
        for k in ("fp8_param_gather", "loss_fusion", "loss_compiled"):
            put(self, k, _bool(f"training.{k}", getattr(self, k)))
        put(self, "loss_chunks", _int("training.loss_chunks", self.loss_chunks))
        if self.loss_chunks > 2**16:
            raise ValidationError(f"training.loss_chunks = {self.loss_chunks!r}: allowed 1..65,536")
        tokens = self.seq_len * self.micro_batch
        if self.loss_chunks > tokens:   # a slice of the loss holds at least one token
            raise ValidationError(
                f"training.loss_chunks = {self.loss_chunks!r}: more slices than the {tokens:,} tokens of a "
                f"micro-batch (seq_len·micro_batch = {self.seq_len:,}·{self.micro_batch}); allowed "
                f"1..{min(tokens, 2**16):,}")
        for k in ("moe_host_sync", "eager", "sac_recompute_attention", "pp_free_stage_buffers",
                  "gradient_accumulation_fusion", "fsdp_float8_all_gather"):
            put(self, k, _bool(f"training.{k}", getattr(self, k)))
        put(self, "fp8_scaling", _enum("training.fp8_scaling", self.fp8_scaling, FP8_SCALINGS))
        if self.fsdp_float8_all_gather and (self.precision != "fp8" or self.fp8_scaling != "tensor"):
            # torchtitan's Float8Converter refuses it with a float8 recipe name (rowwise) and its MX
            # converter has no such option: the tensorwise recipe only
            raise ValidationError(
                f"training.fsdp_float8_all_gather = true with training.precision = {self.precision!r}, "
                f"fp8_scaling = {self.fp8_scaling!r}: torchao's float8 FSDP all-gather belongs to the tensorwise "
                "float8 recipe; allowed only with precision = 'fp8' and fp8_scaling = 'tensor'")
        put(self, "recompute_num_layers", check_recompute_num_layers(_py(self.recompute_num_layers)))
        if self.recompute_num_layers is not None and self.recompute != "full":
            raise ValidationError(f"training.recompute_num_layers = {self.recompute_num_layers!r} with "
                                  f"training.recompute = {self.recompute!r}: the layers recomputed whole are "
                                  "Megatron's full recomputation (--recompute-granularity full --recompute-method "
                                  "block); allowed only with recompute = 'full' (leave it out otherwise)")
        if self.recompute_num_layers is not None and self.offload_modules is not None:
            raise ValidationError(f"training.recompute_num_layers = {self.recompute_num_layers!r} with "
                                  f"training.offload_modules = {list(self.offload_modules)!r}: activation offloading "
                                  "together with partial full recompute is not modelled; allowed: one of the two")

    @classmethod
    def from_dict(cls, d: dict) -> TrainingConfig:
        if isinstance(d, TrainingConfig):
            return d
        _check_keys("training", d, cls.KEYS)
        return cls(**d)

    def to_dict(self) -> dict:
        d = {k: getattr(self, k) for k in self.KEYS}
        if self.data_mix is not None:
            d["data_mix"] = self.data_mix.to_dict()
        if self.recompute_modules is not None:
            d["recompute_modules"] = list(self.recompute_modules)
        if self.offload_modules is not None:
            d["offload_modules"] = list(self.offload_modules)
        return d


def _module_list(v, field: str, allowed: tuple[str, ...], noun: str) -> tuple[str, ...]:
    """A non-empty list of distinct names from ``allowed`` for ``training.<field>`` (a numpy
    array of names is its list)."""
    v = _py_list(v)
    if isinstance(v, str) or not isinstance(v, (list, tuple)) or not v:
        raise ValidationError(f"training.{field} = {v!r:.80}: expected a non-empty list of module names "
                              f"from {', '.join(allowed)}")
    for x in v:
        if not isinstance(x, str) or x not in allowed:
            raise unknown(noun, x, allowed, where=f"training.{field}")
    if len(set(v)) != len(v):
        raise ValidationError(f"training.{field} = {list(v)!r}: a module is named twice")
    return tuple(v)


def check_recompute_num_layers(value, where: str = "training.recompute_num_layers", layers: int | None = None):
    """``training.recompute_num_layers`` checked: None (every layer) or an int >= 1 (at most the
    model's ``layers`` when given); returns it as an int (or None)."""
    if value is None:
        return None
    if isinstance(value, numbers.Real) and not isinstance(value, numbers.Integral) and not isinstance(value, bool) \
            and math.isfinite(value) and value == int(value) and abs(value) <= 2**53:
        value = int(value)      # an integral float (4.0), as every other integer field reads it
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ValidationError(f"{where} = {value!r:.60}: expected an integer >= 1 (the first layers of each "
                              "pipeline chunk recomputed whole, Megatron's --recompute-num-layers with the block "
                              "method) or absent (every layer)")
    value = int(value)
    if value < 1:
        raise ValidationError(f"{where} = {value!r}: allowed an integer >= 1 (the first layers of each pipeline "
                              "chunk recomputed whole), or absent for every layer")
    if layers is not None and value > layers:
        raise ValidationError(f"{where} = {value!r}: more than the model's {layers} layers; allowed 1..{layers} "
                              f"(a value at or above a chunk's layers recomputes all of them; {layers} recomputes every "
                              "model layer, absent also the multi-token-prediction modules)")
    return value


def _recompute_modules(v, recompute: str):
    """training.recompute_modules: None (the stack's selective set) or a list of
    :data:`RECOMPUTE_MODULES` names, only with recompute = "selective"."""
    if v is None:
        return None
    v = _module_list(v, "recompute_modules", RECOMPUTE_MODULES, "recompute module")
    if recompute != "selective":
        raise ValidationError(f"training.recompute_modules = {list(v)!r} with training.recompute = {recompute!r}: "
                              "modules are Megatron-Core's selective recomputation; allowed only with "
                              "recompute = 'selective'")
    return v


def _offload_modules(v, recompute_modules):
    """training.offload_modules: None (no offloading) or a list of :data:`OFFLOAD_MODULES`
    names, with Megatron-Core's rules (TransformerConfig.__post_init__): ``attn_proj`` needs
    ``core_attn`` (its input is the attention core's output, which the core's backward needs);
    no ``expert_fc1`` / ``moe_act`` while the ``moe`` recompute module re-runs the whole layer."""
    if v is None:
        return None
    v = _module_list(v, "offload_modules", OFFLOAD_MODULES, "offload module")
    if "attn_proj" in v and "core_attn" not in v:
        raise ValidationError(f"training.offload_modules = {list(v)!r}: 'attn_proj' is allowed only together "
                              "with 'core_attn' (its input is the attention core's output, which the core's "
                              "backward needs on the GPU)")
    inside = sorted({"expert_fc1", "moe_act"} & set(v))
    if inside and recompute_modules is not None and "moe" in recompute_modules:
        raise ValidationError(f"training.offload_modules = {list(v)!r} with training.recompute_modules "
                              f"containing 'moe': {inside} sit inside the recomputed MoE layer, which stores "
                              "only its input; allowed: drop 'moe' from recompute_modules or these from "
                              "offload_modules")
    return v


MOE_ROUTINGS = ("learned", "balanced")


def _capacity_factor(v):
    """training.moe_capacity_factor: None (dropless) or a real number 1..16."""
    if v is None:
        return None
    v = _py(v)
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(float(v)) or not 1.0 <= v <= 16.0:
        raise ValidationError(f"training.moe_capacity_factor = {v!r}: expected a number from 1 to 16 "
                              "(token dropping at that capacity factor) or absent (dropless)")
    return float(v)
