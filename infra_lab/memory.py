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

import math
from dataclasses import dataclass
from typing import Any

import polars as pl

from . import _validate as V
from . import catalog
from .errors import ValidationError, check_positive, unknown
from .scenario import CP_ROTATE_METHODS, RECOMPUTE, check_recompute_num_layers
from .units import GiB

__all__ = [
    "TRAINING_DEFAULTS",
    "PIPELINE_RANKS",
    "SELECTIVE_MODES",
    "OPTIMIZER_STATE_BYTES",
    "activation_bytes_per_layer",
    "mtp_activation_bytes",
    "mtp_modules_recomputed",
    "offloaded_bytes_per_layer",
    "MIN_OFFLOADED_ELEMENTS",
    "korthikanti_activation_bytes",
    "saved_gemm_input_bytes",
    "moe_etp_gather_bytes",
    "fp8_weight_copy_bytes",
    "loss_logits_bytes",
    "FP8_PRECISIONS",
    "inflight_microbatches",
    "training_memory",
    "training_memory_total",
    "fits",
    "korthikanti_check",
    "kv_cache_bytes",
    "kv_bytes_per_token",
    "kv_cached_tokens",
    "weight_bytes",
    "expert_matrix_params",
    "format_bytes",
    "number_formats",
    "inference_memory",
    "max_inference_batch",
    "memory_sweep",
    "CHECKPOINT_SAVES",
    "CheckpointSize",
    "checkpoint_bytes",
]

OPTIMIZER_STATE_BYTES = {"adamw": 12.0, "adam": 12.0, "adamw-bf16": 8.0, "muon": 8.0, "sgd": 8.0}
"""Optimizer bytes per parameter [bytes]: AdamW/Adam = fp32 master + m + v (4+4+4);
``adamw-bf16`` = AdamW with 16-bit moments and an fp32 master (4+2+2: Megatron-Core's
precision-aware optimizer with ``--exp-avg-dtype bf16 --exp-avg-sq-dtype bf16``,
https://github.com/NVIDIA/Megatron-LM/blob/main/megatron/core/optimizer/optimizer_config.py ;
DeepSeek-V3 report §3.3.3 "BF16 ... for the first and second moments in the AdamW
optimizer", https://arxiv.org/abs/2412.19437); Muon = fp32 master + momentum (4+4); SGD =
fp32 master + momentum (4+4)."""

TRAINING_DEFAULTS: dict[str, Any] = {
    "weight_bytes": None,       # None: the stack's weight_bytes (16-bit working weights)
    "grad_bytes": None,         # None: the stack's grad_buffer_bytes (Megatron fp32 main_grad: 4)
    "optimizer_state_bytes": None,  # None: OPTIMIZER_STATE_BYTES[optimizer]
    "activation_bytes": 2.0,    # 16-bit activations
    "flash_attention": None,    # None: the stack's flash_attention (fused core, only the fp32 LSE stored)
    "dropout": None,            # None: the stack's dropout (1-byte masks as in GPT-3/Megatron)
    "reserve_fraction": None,   # None: the stack's memory_reserve_fraction [fraction of the tensor bytes]
    "reserve_bytes": None,      # None: the stack's memory_reserve_bytes [bytes]
    "include_embeddings": True,  # embedding / LM-head weights and head activations
    "selective_mode": None,     # None: the stack's selective_recompute (0 "attention", 1 "op")
}
"""Defaults of :func:`training_memory`'s overrides (documented in its docstring). ``None``
means "the value of the scenario's software stack" (``data/stacks.csv``, the same numbers
the step model of :func:`infra_lab.estimate` uses): one convention for gradient bytes,
weight bytes and the allocator reserve across the package."""

PIPELINE_RANKS = ("most_loaded", "first", "last")
"""Which pipeline rank :func:`training_memory` reports (its ``pipeline_rank`` override): the most
loaded one (the default: what decides whether a plan fits), rank 0 (the embedding and the most
in-flight micro-batches) or rank pp − 1 (the output layer and loss, the fewest in-flight
micro-batches). A published figure logged by one rank only (Megatron's ``print_rank_last``)
is compared with that rank."""

_STACK_KEYS = {"weight_bytes": "weight_bytes", "grad_bytes": "grad_buffer_bytes",
               "flash_attention": "flash_attention", "dropout": "dropout",
               "reserve_fraction": "memory_reserve_fraction", "reserve_bytes": "memory_reserve_bytes",
               "selective_mode": "selective_recompute"}


def _spec(spec):
    """A ModelSpec from a preset name or a ModelSpec; anything else is refused by name."""
    from . import models

    if isinstance(spec, str):
        return models.get(spec)
    if not isinstance(spec, models.ModelSpec):
        raise ValidationError(f"spec = {spec!r:.80}: expected a model preset name or a ModelSpec")
    return spec


# --------------------------------------------------------------------------------------
# Activations
# --------------------------------------------------------------------------------------
def korthikanti_activation_bytes(s: int, b: int, h: int, a: int, t: int = 1,
                                 sequence_parallel: bool = False, recompute: str = "none") -> float:
    """Korthikanti et al. 2022 activation memory of one GPT layer [bytes] (16-bit, dropout).

    Parameters
    ----------
    s : sequence length [tokens]; b : micro-batch [sequences]; h : hidden [elements];
    a : attention heads [-]; t : tensor-parallel size [-]
    sequence_parallel : shard norms/dropouts over t; recompute : "none" | "selective" | "full"

    Examples
    --------
    >>> korthikanti_activation_bytes(2048, 1, 12288, 96) / (2048 * 12288)   # 34 + 5as/h
    114.0
    """
    s, b, h, a, t = (V.integer(n, v) for n, v in (("s", s), ("b", b), ("h", h), ("a", a), ("t", t)))
    sequence_parallel = V.boolean("sequence_parallel", sequence_parallel)
    sbh = float(s) * b * h
    core = 5.0 * a * s / h
    if recompute == "full":
        return 2.0 * sbh / (t if sequence_parallel else 1)
    if recompute == "selective":
        core = 0.0
    elif recompute != "none":
        raise unknown("recompute", recompute, RECOMPUTE)
    if sequence_parallel:
        return sbh * (34.0 + core) / t
    return sbh * (10.0 + 24.0 / t + core / t)


def activation_bytes_per_layer(spec, seq_len: int, micro_batch: int = 1, tp: int = 1, *,
                               sequence_parallel: bool = False, recompute: str = "none",
                               flash_attention: bool = True, dropout: bool = False,
                               cp: int = 1, kind: str | None = None,
                               activation_bytes: float = 2.0, selective_mode: str = "attention",
                               recompute_modules: tuple | None = None,
                               gemm_input_bytes: float | None = None, etp: int = 1,
                               offload_modules: tuple | None = None) -> dict[str, float]:
    """Activation bytes stored for backward IN GPU MEMORY by one layer of each kind, one
    micro-batch (what ``offload_modules`` sends to host memory is not counted; it is
    :func:`offloaded_bytes_per_layer`).

    Parameters
    ----------
    spec : ModelSpec or preset name
    seq_len : s [tokens]; micro_batch : b [sequences]; tp : t [-]; cp : context parallel [-]
        (each rank keeps s/cp tokens)
    sequence_parallel : norms, dropouts and residual inputs sharded over t
    recompute : "none" | "selective" (see ``selective_mode``) | "full" (layer input only)
    selective_mode : what "selective" recomputes: "attention" (Megatron's selective
        recomputation: the attention core) or "op" (PyTorch per-op selective activation
        checkpointing as torchtitan applies it: the outputs of every other matmul and of the
        attention kernel are saved, every other op is recomputed — the layer stores its input,
        the attention output and half of its GEMM outputs; the routed experts' grouped GEMMs
        and the router gate are not in the save list and are recomputed, see
        ``_op_sac_save_list`` in
        https://github.com/pytorch/torchtitan/blob/main/torchtitan/models/llama4/infra/parallelize.py)
    recompute_modules : Megatron-Core's selective submodules (:data:`infra_lab.scenario.RECOMPUTE_MODULES`),
        with recompute = "selective"; they replace ``selective_mode``: each named module keeps
        only its input — core_attn: no attention core; layernorm: no norm outputs (the QKV
        and MLP inputs); moe_act: no expert activation output; mla_up_proj: no up-projected
        q, k, v; mlp: no dense MLP hidden; moe: only the MoE layer's input; shared_experts: no
        shared-expert hidden
    flash_attention : fused attention stores no s² tensors (only a fp32 log-sum-exp per head)
    dropout : store 1-byte dropout masks (GPT-3 / Megatron style)
    kind : one layer kind (default: every kind of the model)
    activation_bytes : bytes per stored element [bytes]
    etp : expert tensor-parallel size [-]: the experts' FC1 input is all-gathered over the etp
        ranks (:func:`moe_etp_gather_bytes`)
    gemm_input_bytes : bytes per stored element of the tensors saved as the input of a
        linear layer's weight-gradient GEMM (None: ``activation_bytes``); see
        :func:`saved_gemm_input_bytes` — Transformer Engine in FP8 saves these quantized
    offload_modules : Megatron-Core's fine-grained activation offloading
        (:data:`infra_lab.scenario.OFFLOAD_MODULES`): the tensors each named module saves for
        backward are copied to host memory (see :func:`offloaded_bytes_per_layer`)

    Returns
    -------
    dict kind -> bytes [bytes per layer per micro-batch, per GPU]

    Notes
    -----
    Element counts per token (e = activation_bytes, r = replicated unless SP, /t sharded):
    norm inputs 2·h (r), QKV input h (r), Q,K,V (a + 2·kv)·d (/t), attention output a·d (/t),
    core 2.5·a·s incl. dropout (or a·s without; 0 with flash or selective) (/t), MLP input h
    (r), MLP hidden 2·f (GeLU) or 3·f (gated) (/t), dropout masks h/2 each (r). With e = 2
    and the GPT layer this is Korthikanti's 34·s·b·h + 5·a·s²·b. MoE: router logits (fp32),
    the top_k dispatched copies of the tokens (in and out), expert hidden of top_k·f_e per
    token (/t; balanced over EP ranks). Router logits and dispatched copies are per local
    token, so they shard like the replicated terms (r): under sequence parallelism each TP
    rank routes its own s/tp tokens and the all-to-all dispatcher permutes and sends only
    those (Megatron-Core ``MoELayer`` / ``MoEAlltoAllTokenDispatcher``,
    https://github.com/NVIDIA/Megatron-LM/blob/main/megatron/core/transformer/moe/token_dispatcher.py ;
    Megatron-Core requires sequence parallelism for MoE with tp > 1). With an expert
    tensor-parallel size etp > 1 the dispatcher all-gathers the received tokens over the etp
    ranks, so the FC1 input is etp times larger (:func:`moe_etp_gather_bytes`). Megatron-Core's
    grouped experts apply the routing probabilities inside the activation (weighted SwiGLU,
    ``TEGroupedMLP`` in megatron/core/transformer/moe/experts.py), so the combine side's
    unpermutation is a scatter-add that saves no tokens: per routed copy the layer keeps
    the FC1 input (h), FC1 output (2·f_e gated), activation output (f_e) and its fp32
    probability.

    GEMM inputs at ``gemm_input_bytes``: the QKV input (the attention norm's output), the
    MLA up-projection inputs (the normalized q and kv latents), the attention output
    (out-projection input), the dense MLP input (norm output), every FC2 input (activation
    output) and the dispatched tokens entering the experts' FC1. The router input, norm
    inputs (residual stream, and the MLA latents before their norm), the attention kernel's
    Q, K, V and the activation inputs (FC1 outputs) stay at ``activation_bytes``.

    Two tensors where 16-bit training has one: (1) the MLA latents' norm is fused into the
    up-projection (Transformer Engine ``LayerNormLinear``), which saves its input
    (``inputmat``, for the norm backward) besides the normalized output ``ln_out`` (for
    wgrad), so each latent is kept at e + lin (e only when ``mla_up_proj`` is recomputed:
    the checkpoint keeps its 16-bit inputs); (2) with quantized GEMM inputs
    (``gemm_input_bytes`` given: Transformer Engine FP8) and flash/fused attention, the
    attention kernel saves its 16-bit output O for its own backward (``FusedAttnFunc``,
    FP8 dot-product attention off, the default) while the out-projection ``Linear`` saves
    the quantized copy, so the attention output is kept at e + lin unless the attention
    core is recomputed; in 16 bit O and the out-projection input are one tensor (lin = e,
    counted once). Sources:
    https://github.com/NVIDIA/TransformerEngine/blob/main/transformer_engine/pytorch/module/layernorm_linear.py ,
    https://github.com/NVIDIA/TransformerEngine/blob/main/transformer_engine/pytorch/attention/dot_product_attention/backends.py
    """
    stored, off = _layer_bytes(spec, seq_len, micro_batch, tp, sequence_parallel, recompute, flash_attention,
                               dropout, cp, kind, activation_bytes, selective_mode, recompute_modules,
                               gemm_input_bytes, etp, offload_modules)
    return {k: stored[k] - off[k] for k in stored}


def mtp_activation_bytes(spec, seq_len: int, micro_batch: int = 1, tp: int = 1, *,
                         sequence_parallel: bool = False, recompute: str = "none", cp: int = 1,
                         activation_bytes: float = 2.0, **kw) -> float:
    """Activation bytes one multi-token-prediction module stores for backward, one micro-batch
    [bytes]; 0 for a model without MTP. Its transformer layer (``spec.mtp_layer_kind()``) as
    :func:`activation_bytes_per_layer` stores it (``kw``: that function's other arguments),
    plus the module's own inputs: without full recompute the two RMSNorm inputs (the hidden
    state and the embedding of the shifted tokens) and the concatenated 2h input of the
    projection, 4·tokens·h elements; under full recompute (Megatron-Core checkpoints the
    whole module, when it recomputes it: :func:`mtp_modules_recomputed`) its two inputs, one more tokens·h beyond the layer input. Elements sharded
    over tp with sequence parallelism, at ``activation_bytes`` each. The head's final-norm
    input and logits are the stage's (:func:`infra_lab._kernels.memory.stage_activations`).
    APPROXIMATION: the projection input is counted at the activation width (not FP8's saved
    GEMM inputs) and never offloaded."""
    spec = _spec(spec)
    if not spec.mtp_layers:
        return 0.0
    kind = spec.mtp_layer_kind()
    layer = activation_bytes_per_layer(spec, seq_len, micro_batch, tp, sequence_parallel=sequence_parallel,
                                       recompute=recompute, kind=kind, cp=cp, activation_bytes=activation_bytes,
                                       **kw)[kind]
    tok_h = seq_len / cp * micro_batch * spec.hidden / (tp if sequence_parallel else 1)
    return float(layer + (1.0 if recompute == "full" else 4.0) * tok_h * activation_bytes)


def mtp_modules_recomputed(n_mtp: int, recompute_num_layers: int | None = None) -> int:
    """Multi-token-prediction modules that full recompute re-runs in backward, of ``n_mtp`` on
    the stage with the output layer: all of them with every layer recomputed
    (``recompute_num_layers`` None), none under Megatron's block method
    (``training.recompute_num_layers`` = N, whatever N). Megatron-Core (core_v0.16.0)
    checkpoints each MTP module whole (its projection and transformer layer) when
    ``recompute_granularity == "full"``, through ``_checkpointed_forward``
    https://github.com/NVIDIA/Megatron-LM/blob/3bec9aa97dda898d16ff5a89bac0ed2b6682b172/megatron/core/transformer/multi_token_prediction.py#L910-L925
    which under ``recompute_method == "uniform"`` requires ``recompute_num_layers == 1`` and
    checkpoints the module, and under ``"block"`` warns "recompute_method == 'block' is not
    supported for MTP yet. Skipping recompute." and runs it plainly (its activations stay
    stored)
    https://github.com/NVIDIA/Megatron-LM/blob/3bec9aa97dda898d16ff5a89bac0ed2b6682b172/megatron/core/transformer/multi_token_prediction.py#L842-L857
    (full granularity needs a method and a number of layers there,
    https://github.com/NVIDIA/Megatron-LM/blob/3bec9aa97dda898d16ff5a89bac0ed2b6682b172/megatron/core/transformer/transformer_config.py#L1161-L1178;
    the package's every-layer full recompute is the uniform method with 1 layer a unit)."""
    n = int(n_mtp)
    if n < 0:
        raise ValidationError(f"n_mtp = {n_mtp!r}: must be >= 0 (the model's multi-token-prediction modules)")
    check_recompute_num_layers(recompute_num_layers, "recompute_num_layers")
    return n if recompute_num_layers is None else 0


def offloaded_bytes_per_layer(spec, seq_len: int, micro_batch: int = 1, tp: int = 1, *,
                              sequence_parallel: bool = False, recompute: str = "none",
                              flash_attention: bool = True, dropout: bool = False,
                              cp: int = 1, kind: str | None = None,
                              activation_bytes: float = 2.0, selective_mode: str = "attention",
                              recompute_modules: tuple | None = None,
                              gemm_input_bytes: float | None = None, etp: int = 1,
                              offload_modules: tuple | None = None) -> dict[str, float]:
    """Activation bytes one layer of each kind copies to host memory per micro-batch under
    Megatron-Core's fine-grained activation offloading [bytes per layer per micro-batch, per
    GPU] (same arguments as :func:`activation_bytes_per_layer`, whose stored bytes exclude these).

    Each module in ``offload_modules`` (:data:`infra_lab.scenario.OFFLOAD_MODULES`) offloads
    the tensors autograd saves inside it (``saved_tensors_hooks`` around the module's
    forward), of at least ``min_offloaded_tensor_size`` = 2^20 elements (Megatron's default;
    smaller ones stay): attn_norm — the layer input (the norm's input, residual stream);
    qkv_linear — the QKV projection's input (the norm's output; nothing when ``layernorm`` is
    recomputed); core_attn — Q, K, V (and, with FP8 GEMM inputs and fused attention, the
    attention kernel's own 16-bit output), the fp32 log-sum-exp when large enough;
    attn_proj — the out-projection's input; mlp_norm — the pre-MLP norm's input; expert_fc1 —
    the dispatched tokens entering the experts' FC1 (with the copies gathered over etp ranks);
    moe_act — the experts' FC1 output (the activation's input; with the ``moe_act`` recompute
    module it is the checkpoint's saved input). MLA latents, the router, the dense MLP and
    Mamba layers have no offload module. Under full recomputation a layer stores only its
    input, inside no module: nothing is offloaded; nor under per-op selective checkpointing
    (torchtitan; offloading is Megatron-Core's).

    Source: https://github.com/NVIDIA/Megatron-LM/blob/main/docs/user-guide/features/fine_grained_activation_offloading.md
    (module list, "each module offloads its input activation"; min_offloaded_tensor_size).
    """
    _, off = _layer_bytes(spec, seq_len, micro_batch, tp, sequence_parallel, recompute, flash_attention,
                          dropout, cp, kind, activation_bytes, selective_mode, recompute_modules,
                          gemm_input_bytes, etp, offload_modules)
    return off


MIN_OFFLOADED_ELEMENTS = 1024 * 1024
"""Megatron-Core's default ``min_offloaded_tensor_size`` [elements]: smaller saved tensors stay
on the GPU (TransformerConfig, megatron/core/transformer/transformer_config.py)."""


def _offload_set(offload_modules) -> frozenset:
    if offload_modules is None:
        return frozenset()
    from .scenario import OFFLOAD_MODULES

    if isinstance(offload_modules, str) or not isinstance(offload_modules, (list, tuple, frozenset, set)):
        raise ValidationError(f"offload_modules = {offload_modules!r:.60}: expected a list of "
                              f"{', '.join(OFFLOAD_MODULES)}")
    for x in offload_modules:
        if not isinstance(x, str) or x not in OFFLOAD_MODULES:
            raise unknown("offload module", x, OFFLOAD_MODULES, where="offload_modules")
    return frozenset(offload_modules)


def _layer_bytes(spec, seq_len, micro_batch, tp, sequence_parallel, recompute, flash_attention, dropout, cp,
                 kind, activation_bytes, selective_mode, recompute_modules, gemm_input_bytes, etp, offload_modules):
    """(stored bytes, of which offloaded) per layer kind: the body of
    :func:`activation_bytes_per_layer` and :func:`offloaded_bytes_per_layer`."""
    spec = _spec(spec)
    for name, v in (("seq_len", seq_len), ("micro_batch", micro_batch), ("tp", tp), ("cp", cp), ("etp", etp)):
        check_positive(name, v, integer=True)
    if recompute not in RECOMPUTE:
        raise unknown("recompute", recompute, RECOMPUTE)
    if not isinstance(selective_mode, str) or selective_mode not in SELECTIVE_MODES:
        raise unknown("selective_mode", selective_mode, SELECTIVE_MODES)
    for name, v in (("sequence_parallel", sequence_parallel), ("flash_attention", flash_attention),
                    ("dropout", dropout)):
        if not isinstance(v, bool):
            raise ValidationError(f"{name} = {v!r}: expected True or False")
    if isinstance(activation_bytes, bool) or not isinstance(activation_bytes, (int, float)) \
            or not math.isfinite(activation_bytes) or not 0 < activation_bytes <= 16:
        raise ValidationError(f"activation_bytes = {activation_bytes!r:.40}: expected a number of bytes per "
                              "element in (0, 16]")
    if kind is not None and (not isinstance(kind, str) or kind not in ("dense", "moe", "mamba2", "hybrid")):
        raise unknown("layer kind", kind, ["dense", "moe", "mamba2", "hybrid"], where="kind")
    if recompute_modules is not None:
        from .scenario import RECOMPUTE_MODULES

        if isinstance(recompute_modules, str) or not isinstance(recompute_modules, (list, tuple)):
            raise ValidationError(f"recompute_modules = {recompute_modules!r:.60}: expected a list of "
                                  f"{', '.join(RECOMPUTE_MODULES)}")
        for x in recompute_modules:
            if not isinstance(x, str) or x not in RECOMPUTE_MODULES:
                raise unknown("recompute module", x, RECOMPUTE_MODULES, where="recompute_modules")
    mods = None
    if recompute == "selective" and recompute_modules is not None:
        mods = frozenset(recompute_modules)
    offl = _offload_set(offload_modules)
    e = float(activation_bytes)
    if gemm_input_bytes is None:
        lin = e
    elif isinstance(gemm_input_bytes, bool) or not isinstance(gemm_input_bytes, (int, float)) \
            or not math.isfinite(gemm_input_bytes) or not 0 < gemm_input_bytes <= 16:
        raise ValidationError(f"gemm_input_bytes = {gemm_input_bytes!r:.40}: expected None or a number of "
                              "bytes per element in (0, 16]")
    else:
        lin = float(gemm_input_bytes)
    s_loc = seq_len / cp
    T = s_loc * micro_batch  # local tokens
    h, a, t = spec.hidden, spec.heads, float(tp)
    rep = t if sequence_parallel else 1.0
    drop = 0.5 if dropout else 0.0  # 1-byte mask = half a 2-byte element
    moved = [0.0]   # bytes the current layer kind offloads (offload_modules)

    def offload(module: str, elements: float, nbytes: float) -> None:
        """A tensor of ``elements`` saved inside ``module``, ``nbytes`` bytes, all tokens:
        offloaded when the module is named and the tensor is not below Megatron's minimum."""
        if module in offl and elements >= MIN_OFFLOADED_ELEMENTS:
            moved[0] += nbytes

    def attention(width_in: float) -> float:
        latent = 0.0                                        # MLA latents: up-projection GEMM inputs
        if spec.attention == "mla":
            qk = spec.qk_nope_head_dim + spec.qk_rope_head_dim
            q = a * qk
            kv = a * (qk + spec.v_head_dim) + spec.qk_rope_head_dim
            latent = float(spec.q_lora_rank + spec.kv_lora_rank)
            out = a * spec.v_head_dim
        else:
            d = spec.head_dim
            q, kv, out = a * d, 2 * spec.kv_heads * d, a * d
            if spec.attention == "cca":
                kv += (a + spec.kv_heads) * d  # convolution inputs of the q/k channels
        qkv_in = 0.0 if (mods is not None and "layernorm" in mods) else width_in   # the norm's output
        # norm input, QKV input (a GEMM input), out-dropout [bytes per token, replicated]
        rep_b = (e * width_in + lin * qkv_in) / rep + e * drop * h / rep
        # MLA latents: the up-projection's fused norm (TE LayerNormLinear) keeps its 16-bit
        # input for the norm backward and its output (the GEMM input, at lin) for wgrad
        latent_b = (e + lin) * latent
        if mods is not None and "mla_up_proj" in mods and spec.attention == "mla":
            qk = spec.qk_nope_head_dim + spec.qk_rope_head_dim
            q -= a * qk                                     # up-projected q, k, v recomputed
            kv -= a * (qk + spec.v_head_dim)
            latent_b = e * latent                           # only the checkpoint's 16-bit inputs
        core_recomputed = recompute == "selective" and (mods is None or "core_attn" in mods)
        # attention output: the out-projection's GEMM input (lin); with quantized GEMM inputs
        # the fused attention kernel also keeps its own 16-bit output O for its backward
        out_b = lin * out
        if flash_attention and gemm_input_bytes is not None and not core_recomputed:
            out_b += e * out
        shard_b = (e * (q + kv) + latent_b + out_b) / t
        if flash_attention:
            core_b = 4.0 * a / t  # fp32 log-sum-exp per head [bytes/token]
        else:  # softmax output (e), dropout mask (1 B) and dropout output (e) per score
            core_b = a * seq_len * (e + ((1.0 + e) if dropout else 0.0)) / t
        if core_recomputed:
            core_b = 0.0
        if offl:
            offload("attn_norm", T * width_in / rep, T * e * width_in / rep)
            offload("qkv_linear", T * qkv_in / rep, T * lin * qkv_in / rep)
            offload("core_attn", T * q / t, T * e * q / t)            # Q (the checkpoint's input if recomputed)
            offload("core_attn", T * kv / t, T * e * kv / t)          # K, V
            if out_b > lin * out:                                     # the kernel's own 16-bit O
                offload("core_attn", T * out / t, T * e * out / t)
            if core_b > 0.0:                                          # log-sum-exp / softmax probabilities
                offload("core_attn", T * (a if flash_attention else a * seq_len) / t, T * core_b)
            offload("attn_proj", T * out / t, T * lin * out / t)
        return T * (rep_b + shard_b + core_b)

    gate = 3.0 if spec.gated else 2.0

    def mlp(width: float, rows: float) -> float:
        # FC1 output (the activation's input: 2·f gated, f otherwise) + activation output (FC2 input)
        return rows * ((gate - 1.0) * width * e + width * lin) / t

    def mlp_common(in_bytes: float = lin) -> float:  # norm input + MLP input + output dropout
        mlp_in = 0.0 if (mods is not None and "layernorm" in mods) else h     # the pre-MLP norm's output
        offload("mlp_norm", T * h / rep, T * e * h / rep)
        return T * ((e * h + in_bytes * mlp_in) / rep + e * drop * h / rep)

    def dense_mlp(width: float) -> float:
        if mods is not None and "mlp" in mods:     # the dense MLP keeps only its input
            return 0.0
        return mlp(width, T)

    def moe() -> float:
        ef = spec.expert_ffn_hidden or spec.ffn_hidden
        k = spec.top_k
        x = mlp_common(e)                           # the router reads the 16-bit norm output
        if mods is not None and "moe" in mods:     # the whole MoE layer keeps only its input
            return x
        # the router and the token dispatcher see this rank's tokens only: with sequence
        # parallelism each TP rank routes and dispatches its s/tp slice (Megatron-Core
        # MoELayer / MoEAlltoAllTokenDispatcher), so both terms shard like the norm inputs
        x += T * 4.0 * (spec.experts + k) / rep     # router logits and routed probabilities, fp32
        x += T * lin * k * h / rep                  # dispatched copies: the experts' FC1 input
        gathered = moe_etp_gather_bytes(spec, T / t, etp, lin)
        x += gathered                               # + the copies gathered over etp ranks
        x += mlp(ef, T * k)
        offload("expert_fc1", T * k * h / rep, T * lin * k * h / rep + gathered)
        offload("moe_act", T * k * (gate - 1.0) * ef / t, T * k * (gate - 1.0) * ef * e / t)   # FC1 output
        if mods is not None and "moe_act" in mods:  # the activation's output (FC2 input) recomputed
            x -= lin * T * k * ef / t
        if spec.shared_experts and not (mods is not None and "shared_experts" in mods):
            x += mlp(spec.shared_experts * spec.shared_expert_ffn_hidden, T)
        return x

    def attn_widths() -> tuple[float, float]:
        """(projection outputs q+k+v, attention output) per token [elements, before /t]."""
        if spec.attention == "mla":
            qk = spec.qk_nope_head_dim + spec.qk_rope_head_dim
            return (a * qk + spec.kv_lora_rank + spec.qk_rope_head_dim + a * (qk + spec.v_head_dim)
                    + spec.q_lora_rank), a * spec.v_head_dim
        return (a + 2 * spec.kv_heads) * spec.head_dim, a * spec.head_dim

    def op_sac(kd: str) -> float:
        """Per-op SAC: layer input + attention output + half of the GEMM outputs stored."""
        qkv, out = attn_widths()
        g = qkv / t + h                                      # projections and attention output proj
        if kd in ("dense", "hybrid"):
            g += (gate - 1.0) * spec.ffn_hidden / t + h
        if kd == "moe":
            # routed experts run as grouped GEMMs (aten._grouped_mm) and the router gate is
            # force-recomputed: neither is in torchtitan's op-SAC save list, so per-op SAC
            # stores nothing of the routed experts; the shared experts are plain mm
            if spec.shared_experts:
                g += (gate - 1.0) * spec.shared_experts * spec.shared_expert_ffn_hidden / t + h
        return T * (e * (h / rep + out / t + 0.5 * g) + 4.0 * a / t)

    def mamba2() -> float:
        di, n, g, nh = spec.d_inner, spec.ssm_state, spec.ssm_groups, spec.ssm_heads
        return T * e * (2.0 * h / rep + (2 * di + 2 * g * n + nh) / t + (di + 2 * g * n) / t + 3.0 * di / t)

    out: dict[str, float] = {}
    off: dict[str, float] = {}
    kinds = [kind] if kind else list(dict.fromkeys(spec.layer_kinds()))
    for kd in kinds:
        moved[0] = 0.0
        if kd == "dense":
            full = attention(h) + mlp_common() + dense_mlp(spec.ffn_hidden)
        elif kd == "moe":
            full = attention(h) + moe()
        elif kd == "mamba2":
            full = mamba2()
        elif kd == "hybrid":
            full = attention(2 * h) + mlp_common() + dense_mlp(spec.ffn_hidden) + mamba2()
        else:
            raise unknown("layer kind", kd, ["dense", "moe", "mamba2", "hybrid"])
        if recompute == "full":
            full = T * e * h / rep
            moved[0] = 0.0      # the layer input only, saved outside every offloaded module
        elif recompute == "selective" and mods is None and selective_mode == "op" and kd in ("dense", "moe", "hybrid"):
            full = op_sac(kd)
            moved[0] = 0.0      # per-op SAC (torchtitan): Megatron's offload modules do not apply
        out[kd] = full
        off[kd] = min(moved[0], full)
    return out, off


def loss_logits_bytes(tokens: float, vocab: int, tp: int = 1, activation_bytes: float = 2.0, *,
                      loss_fusion: bool = False, loss_chunks: int = 1, fp32_copies: float = 1.0,
                      loss_compiled: bool = False, bwd_fp32_tensors: tuple = (0.0, 0.0)) -> float:
    """Live bytes of the output layer's logits at the loss on one GPU [bytes].

    The vocabulary-parallel output layer gives each of tp ranks tokens·vocab/tp logits at
    ``activation_bytes``. An unfused loss peaks at the larger of its forward (the 16-bit
    logits + ``fp32_copies`` fp32 tensors of the same shape, the stack's ``loss_fp32_copies``)
    and its backward (``bwd_fp32_tensors`` = the stack's (``loss_bwd_fp32_tensors``,
    ``loss_parallel_bwd_fp32_tensors``), the second when tp > 1): Megatron-Core's
    ``vocab_parallel_cross_entropy`` up-casts once and computes the softmax and its gradient
    in place (forward 1, backward 1: 6 B per logit); PyTorch's ``F.cross_entropy`` on an fp32
    copy, as torchtitan calls it, saves the fp32 log-softmax (forward 2: 10 B) and, after
    torchtitan drops the 16-bit logits, its backward holds that, the nll gradient and the
    log-softmax gradient (3: 12 B), and under tensor parallelism PyTorch's ``loss_parallel``
    backward also materialises exp(x) and a sum (4: 16 B;
    https://github.com/pytorch/pytorch/blob/main/torch/distributed/tensor/parallel/loss.py). A fused cross-entropy
    kernel (``loss_fusion``: Megatron-Core ``--cross-entropy-loss-fusion`` / Transformer
    Engine ``parallel_cross_entropy``) computes in fp32 registers and writes the gradient into
    the 16-bit logits: activation_bytes per logit. A loss under ``torch.compile``
    (``loss_compiled``: torchtitan compiles its ``F.cross_entropy(pred.float(), labels)`` with
    the model since its PR #1033, 2 Apr 2025) is one Inductor graph: the fp32 up-cast and
    log-softmax are fused and never stored, the graph saves its 16-bit input and a per-token
    log-sum-exp (the min-cut partitioner recomputes the softmax in backward) and writes the
    16-bit gradient out of place: 2·activation_bytes per logit at the loss backward (the
    caller drops its own reference to the logits, ``del pred``); a fused in-place kernel
    (``loss_fusion``) still wins. A chunked loss (``loss_chunks`` = N) runs
    the output layer and loss over N slices of the tokens, recomputing a slice's logits in
    backward, so 1/N of them are live.
    Sources: https://github.com/NVIDIA/Megatron-LM/blob/main/megatron/core/tensor_parallel/cross_entropy.py ,
    https://github.com/NVIDIA/TransformerEngine/blob/main/transformer_engine/pytorch/cross_entropy.py ,
    https://github.com/pytorch/torchtitan/pull/1033 (torchtitan/components/loss.py)

    Examples
    --------
    >>> round(loss_logits_bytes(8192, 128256) / 2**30, 2)     # 8,192 tokens, Llama 3 vocabulary
    5.87
    >>> round(loss_logits_bytes(8192, 128256, loss_fusion=True, loss_chunks=8) / 2**30, 2)
    0.24
    """
    if isinstance(bwd_fp32_tensors, str) or not isinstance(bwd_fp32_tensors, (tuple, list)) \
            or len(bwd_fp32_tensors) != 2 or any(isinstance(x, bool) or not isinstance(x, (int, float))
                                                 or not math.isfinite(x) or not 0 <= x <= 16 for x in bwd_fp32_tensors):
        raise ValidationError(f"bwd_fp32_tensors = {bwd_fp32_tensors!r:.60}: expected (without, with tensor "
                              "parallelism) fp32 tensors per logit, two numbers in 0..16")
    for name, v in (("loss_fusion", loss_fusion), ("loss_compiled", loss_compiled)):
        if not isinstance(v, bool):
            raise ValidationError(f"{name} = {v!r:.40}: expected True or False")
    tokens = V.positive("tokens", tokens, allow_zero=True)
    vocab, tp, loss_chunks = V.integer("vocab", vocab), V.integer("tp", tp), V.integer("loss_chunks", loss_chunks)
    activation_bytes = V.positive("activation_bytes", activation_bytes)
    fp32_copies = V.positive("fp32_copies", fp32_copies, allow_zero=True)
    if loss_fusion:
        per = activation_bytes
    elif loss_compiled:
        per = 2.0 * activation_bytes
    else:
        # the larger of the forward's peak (16-bit logits + fp32 copies) and the backward's
        # (fp32 tensors only; the stack's loss_bwd_fp32_tensors, or with tp > 1
        # loss_parallel_bwd_fp32_tensors)
        bwd = float(bwd_fp32_tensors[1] if tp > 1 else bwd_fp32_tensors[0])
        per = max(activation_bytes + 4.0 * fp32_copies, 4.0 * bwd)
    return float(tokens) * vocab / tp * per / loss_chunks


def fp8_weight_copy_bytes(precision: str, stack_params: dict, fp8_param_gather: bool = False) -> float:
    """Bytes per linear-layer parameter that FP8 training keeps beyond the 16-bit working
    weight (``stack_params["weight_bytes"]``) [bytes/param].

    A stack whose ``fp8_caches_weights`` is 1 (Transformer Engine) caches the quantized weight
    for the forward GEMM (rowwise) and its columnwise copy for dgrad across micro-batches:
    2 × :func:`infra_lab.catalog.format_bytes` of the format ("dual precision weights", the
    default). With ``fp8_param_gather`` the primary weights are FP8 only, so the copy replaces
    the 16-bit weight: 2 × format bytes − weight_bytes (the MXFP8 scales). torchao (flag 0)
    casts per call and keeps no copy. Embedding and output-layer weights stay 16-bit (not
    counted). Source: Megatron-Core's DeepSeek-V3 GB200 guide, section 1 item 6,
    https://github.com/NVIDIA/Megatron-LM/blob/main/docs/discussions/deepseek-v3-gb200-optimization/deepseek-v3-gb200-optimization.md

    Examples
    --------
    >>> import infra_lab as il
    >>> fp8_weight_copy_bytes("fp8", il.stacks.params("megatron-core-cuda"))
    2.0
    >>> fp8_weight_copy_bytes("bf16", il.stacks.params("megatron-core-cuda"))
    0.0
    """
    if precision not in FP8_PRECISIONS or not stack_params.get("fp8_caches_weights", 0.0):
        return 0.0
    copy = 2.0 * catalog.format_bytes(precision)
    return max(copy - stack_params["weight_bytes"], 0.0) if fp8_param_gather else copy


FP8_PRECISIONS = ("fp8", "mxfp8")
"""Training precisions whose GEMMs take 8-bit operands (:func:`saved_gemm_input_bytes`)."""


def moe_etp_gather_bytes(spec, tokens_per_rank: float, etp: int, gemm_input_bytes: float = 2.0) -> float:
    """Extra FC1-input bytes one MoE layer stores per micro-batch when the experts are tensor-
    parallel over etp ranks [bytes]: Megatron-Core's dispatcher all-gathers the tokens each
    rank received over the etp ranks before the experts' column-parallel FC1, which saves that
    gathered input — (etp − 1) more routed copies of the rank's tokens (s/tp each under the
    sequence parallelism Megatron-Core requires for MoE with tp > 1).
    Source: ``MoEAlltoAllTokenDispatcher`` (all-gather over the expert-TP group),
    https://github.com/NVIDIA/Megatron-LM/blob/main/megatron/core/transformer/moe/token_dispatcher.py

    Examples
    --------
    >>> moe_etp_gather_bytes("mixtral-8x7b", 4096, 1)
    0.0
    >>> moe_etp_gather_bytes("mixtral-8x7b", 4096, 2) == 4096 * 2 * 4096 * 2.0   # top-2, h = 4096
    True
    """
    spec = _spec(spec)
    if not spec.experts or etp <= 1:
        return 0.0
    return (etp - 1.0) * float(tokens_per_rank) * spec.top_k * spec.hidden * gemm_input_bytes


def saved_gemm_input_bytes(precision: str, stack_params: dict) -> float | None:
    """Bytes per element of the linear-layer inputs saved for backward [bytes], or None
    when they are stored at the activation width (16-bit).

    With FP8 GEMMs a stack whose ``fp8_saves_quantized_inputs`` is 1 (Transformer Engine:
    Megatron-Core, Primus) keeps only the quantized copy of each GEMM input for the
    weight-gradient GEMM, at :func:`infra_lab.catalog.format_bytes` of the format (FP8: 1
    byte; MXFP8: 1 byte + one 8-bit scale per 32 elements); torchao's Float8Linear
    (torchtitan, flag 0) saves the 16-bit input and re-quantizes it in backward. Sources:
    https://github.com/NVIDIA/TransformerEngine/blob/main/transformer_engine/pytorch/module/linear.py ,
    https://github.com/pytorch/ao/blob/main/torchao/float8/float8_linear.py
    """
    if precision not in FP8_PRECISIONS or not stack_params.get("fp8_saves_quantized_inputs", 0.0):
        return None
    return catalog.format_bytes(precision)


SELECTIVE_MODES = ("attention", "op")
"""What ``recompute = "selective"`` recomputes (the stack's ``selective_recompute`` code 0 / 1):
Megatron's attention-core recomputation, or PyTorch's per-op selective activation
checkpointing (torchtitan's default ``op`` mode)."""


def inflight_microbatches(pp: int, vp: int = 1, microbatches: int | None = None) -> float:
    """Micro-batches whose activations the first pipeline stage holds at its peak [-].

    1F1B: pp; interleaved (vp > 1): pp + (pp − 1)/vp (Korthikanti's 1 + (p−1)/(p·m) on L
    layers); capped by the micro-batches of a step.

    Examples
    --------
    >>> inflight_microbatches(8, 3)
    10.333333333333334
    """
    check_positive("pp", pp, integer=True)
    check_positive("vp", vp, integer=True)
    f = float(pp) if vp == 1 else pp + (pp - 1) / vp
    if microbatches is not None:
        f = min(f, float(V.integer("microbatches", microbatches)))
    return f


# --------------------------------------------------------------------------------------
# Training memory
# --------------------------------------------------------------------------------------
MAX_STAGE_CANDIDATES = 8
"""At most this many distinct pipeline-stage shapes are evaluated per plan."""


def pipeline_chunks(spec, pp: int, vp: int = 1) -> list[dict]:
    """The model's layers cut into pp·vp pipeline chunks (virtual stages), in model order:
    one dict per chunk with ``chunk`` (its index), ``rank`` (the pipeline rank that holds
    it: chunk mod pp, the interleaved schedule) and ``kinds`` (its layers' kinds, in model
    order). The cut is :func:`stage_layers`'s (see there).

    Examples
    --------
    >>> import infra_lab as il
    >>> [len(c["kinds"]) for c in pipeline_chunks(il.models.get("llama3-70b"), 4, 2)]
    [10, 10, 10, 10, 10, 10, 10, 10]
    """
    check_positive("pp", pp, integer=True)
    check_positive("vp", vp, integer=True)
    kinds = spec.layer_kinds()
    L = len(kinds)
    n_chunks = pp * vp
    if n_chunks > L + 2:
        raise ValidationError(f"parallelism.pp·vp = {pp}·{vp} = {n_chunks}: more pipeline chunks than the "
                              f"model's {L} layers plus the embedding and loss chunks; allowed pp·vp <= {L + 2}")
    if n_chunks > L:
        # Megatron-Core's --account-for-embedding/loss-in-pipeline-split: the first chunk
        # holds only the embedding (and the last only the output layer and loss)
        sizes = [1] * n_chunks
        sizes[0] = 0
        if n_chunks == L + 2:
            sizes[-1] = 0
    else:
        base, extra = divmod(L, n_chunks)
        centre = (n_chunks - 1) / 2.0
        bigger = set(sorted(range(n_chunks), key=lambda i: (abs(i - centre), i))[:extra])
        sizes = [base + (1 if i in bigger else 0) for i in range(n_chunks)]
    out, start = [], 0
    for ch, sz in enumerate(sizes):
        out.append({"chunk": ch, "rank": ch % pp, "kinds": list(kinds[start: start + sz])})
        start += sz
    return out


def stage_layers(spec, pp: int, vp: int = 1, *, recompute_num_layers: int | None = None) -> list[dict[str, int]]:
    """Layers of each pipeline rank when pp·vp need not divide the layer count.

    The L layers are cut into pp·vp contiguous chunks as evenly as possible; the L mod
    (pp·vp) chunks that get one extra layer are the ones nearest the middle of the model,
    because the first and last stages also carry the embedding and the output layer (as
    Llama 3 did: one layer fewer on the first and the last stage); pp·vp may exceed the
    layers by one or two chunks that hold only the embedding / the output layer and loss
    (Megatron-Core's account-for-embedding/loss-in-pipeline-split). Rank r holds chunks
    r, r + pp, … (interleaved schedule). The embedding is on rank 0, the output layer and
    loss on rank pp − 1.

    ``recompute_num_layers`` (full recompute, Megatron's block method): the first
    min(N, layers of the chunk) layers of each of the rank's chunks are recomputed whole in
    backward. Megatron-Core builds one ``TransformerBlock`` per chunk and its
    ``_checkpointed_forward`` checkpoints layer ``layer_idx`` while ``layer_idx <
    recompute_num_layers`` over ``range(len(self.layers))``, so a value above a chunk's
    layers recomputes all of them (no error):
    https://github.com/NVIDIA/Megatron-LM/blob/3bec9aa97dda898d16ff5a89bac0ed2b6682b172/megatron/core/transformer/transformer_block.py#L544-L565
    (core_v0.16.0). None: every layer.

    Returns
    -------
    list of dict per rank: rank, n_dense (dense-like layers: dense, Mamba2, hybrid),
    n_moe, has_embedding, has_head, n_dense_recomputed, n_moe_recomputed (the layers
    of each kind that full recompute re-runs: all of them unless ``recompute_num_layers``)

    Examples
    --------
    >>> import infra_lab as il
    >>> st = stage_layers(il.models.get("llama3.1-405b"), 8, 8)      # 126 layers on 64 chunks
    >>> sorted({s["n_dense"] for s in st}), sum(s["n_dense"] for s in st)
    ([15, 16], 126)
    """
    n_rc = check_recompute_num_layers(recompute_num_layers, "recompute_num_layers")
    out = [{"rank": r, "n_dense": 0, "n_moe": 0, "has_embedding": int(r == 0), "has_head": int(r == pp - 1),
            "n_dense_recomputed": 0, "n_moe_recomputed": 0} for r in range(pp)]
    for ch in pipeline_chunks(spec, pp, vp):
        st = out[ch["rank"]]
        for i, kd in enumerate(ch["kinds"]):
            k = "n_moe" if kd == "moe" else "n_dense"
            st[k] += 1
            if n_rc is None or i < n_rc:
                st[k + "_recomputed"] += 1
    return out


def stage_candidates(spec, pp: int, vp: int = 1, *, first_stage_params: float = 0.0,
                     per_layer_params: float = 0.0,
                     recompute_num_layers: int | None = None) -> list[dict[str, float]]:
    """Distinct pipeline-stage shapes (the slowest and the most loaded stage are among
    them), each with its parameters: :func:`stage_layers` rows deduplicated by (n_dense,
    n_moe, has_embedding, has_head, n_dense_recomputed, n_moe_recomputed), keeping the lowest
    rank (most in-flight micro-batches), plus p_nonexpert, p_expert and p_embedding [params]
    of the stage before sharding. ``recompute_num_layers``: as :func:`stage_layers` (None:
    every layer is recomputed under full recompute).

    Non-expert parameters per layer: the model's attention, norm and other per-layer
    parameters spread evenly over its layers, plus the dense MLP on dense-like layers and
    the router and shared experts on MoE layers; routed experts on MoE layers. The input
    embedding sits on rank 0; the output layer (a copy of the tied embedding when pp > 1)
    and the multi-token-prediction modules (``spec.params_mtp``, routed experts counted as
    expert parameters) on rank pp − 1.

    Multimodal models (issue 20, :mod:`infra_lab.multimodal`): ``first_stage_params``
    (trainable encoders, projectors, extra embedding rows) join rank 0's non-expert and
    embedding parameters (their gradients complete with the embedding's, at the end of
    backward); ``per_layer_params`` (cross-attention layers) join every layer [params].
    """
    extra0 = float(check_positive("first_stage_params", first_stage_params, allow_zero=True))
    extra_l = float(check_positive("per_layer_params", per_layer_params, allow_zero=True))
    grp = _param_groups_detailed(spec)
    kinds = spec.layer_kinds()
    L = len(kinds)
    n_moe_all = sum(1 for k in kinds if k == "moe")
    n_d_all = L - n_moe_all
    per_layer = grp["per_layer"] / L
    per_dense = grp["mlp"] / n_d_all if n_d_all else 0.0
    per_moe = grp["moe_other"] / n_moe_all if n_moe_all else 0.0
    per_exp = grp["experts"] / n_moe_all if n_moe_all else 0.0
    # multi-token-prediction modules (DeepSeek-V3: not in params_total), on the last stage with
    # the output layer (DeepSeek-V3 report §2.2; Megatron-Core places MTP in the last stage);
    # their routed experts shard like a MoE layer's
    mtp_total = float(spec.params_mtp)
    mtp_exp = spec.mtp_layers * per_exp if (mtp_total and spec.mtp_layer_kind() == "moe") else 0.0
    seen: dict[tuple, dict] = {}
    for st in stage_layers(spec, pp, vp, recompute_num_layers=recompute_num_layers):
        key = (st["n_dense"], st["n_moe"], st["has_embedding"], st["has_head"], st["n_dense_recomputed"],
               st["n_moe_recomputed"])
        if key in seen:
            continue
        emb = grp["embedding"] if st["has_embedding"] else 0.0
        head = 0.0
        if st["has_head"]:
            head = grp["lm_head"] if grp["lm_head"] > 0 else (grp["embedding"] if pp > 1 else 0.0)
        p_ne = (st["n_dense"] * (per_layer + per_dense) + st["n_moe"] * (per_layer + per_moe) + emb + head)
        p_ex = st["n_moe"] * per_exp
        if st["has_head"] and mtp_total:   # MTP modules sit with the output layer (last stage)
            p_ne += mtp_total - mtp_exp
            p_ex += mtp_exp
        if extra0 or extra_l:   # multimodal (issue 20); exactly the text-model values otherwise
            if st["has_embedding"]:
                emb += extra0
                p_ne += extra0
            p_ne += (st["n_dense"] + st["n_moe"]) * extra_l
        seen[key] = {**st, "p_nonexpert": p_ne, "p_expert": p_ex, "p_embedding": emb,
                     "p_head": head}
    cands = list(seen.values())
    if len(cands) > MAX_STAGE_CANDIDATES:
        keep = {0, pp - 1}
        order = sorted(cands, key=lambda c: -(c["p_nonexpert"] + c["p_expert"] + c["n_dense"] + c["n_moe"]))
        chosen = [c for c in cands if c["rank"] in keep]
        for c in order:
            if len(chosen) >= MAX_STAGE_CANDIDATES:
                break
            if c not in chosen:
                chosen.append(c)
        cands = sorted(chosen, key=lambda c: c["rank"])
    return cands


def _param_groups_detailed(spec) -> dict[str, float]:
    """Parameters split for pipeline stages: embedding, lm_head, routed experts, the dense
    MLP (dense-like layers), router + shared experts (MoE layers) and the rest per layer."""
    bd = {r["component"]: float(r["params_total"]) for r in spec.param_breakdown().iter_rows(named=True)}
    emb = bd.get("embeddings", 0.0) + bd.get("position_embeddings", 0.0)
    head = bd.get("lm_head", 0.0)
    experts = bd.get("experts", 0.0)
    mlp = bd.get("mlp", 0.0)
    moe_other = bd.get("router", 0.0) + bd.get("shared_experts", 0.0)
    rest = sum(bd.values()) - emb - head - experts - mlp - moe_other
    if not any(k == "moe" for k in spec.layer_kinds()):
        rest += moe_other
        moe_other = 0.0
    return {"embedding": emb, "lm_head": head, "experts": experts, "mlp": mlp, "moe_other": moe_other,
            "per_layer": rest}


def _param_groups(spec) -> dict[str, float]:
    """Parameters split into embedding, lm_head, experts (routed) and other layer params."""
    bd = {r["component"]: float(r["params_total"]) for r in spec.param_breakdown().iter_rows(named=True)}
    emb = bd.get("embeddings", 0.0) + bd.get("position_embeddings", 0.0)
    head = bd.get("lm_head", 0.0)
    experts = bd.get("experts", 0.0)
    layers = sum(bd.values()) - emb - head - experts
    return {"embedding": emb, "lm_head": head, "experts": experts, "layers": layers}


def cp_exchange_widths(spec, repeat_kv: bool = False) -> tuple[float, float]:
    """(query width, K/V width) per token of one attention layer, before tensor parallelism
    [elements]: what context parallelism's ring moves and accumulates. K/V: the KV heads'
    (MLA: the compressed latent and the rope key, kv_lora_rank + qk_rope_head_dim), or the
    query heads' when the model repeats K/V to them before the attention call
    (``parallelism.cp_repeat_kv``). Query: heads x head dim (MLA: heads x (qk_nope_head_dim +
    qk_rope_head_dim); APPROXIMATION for MLA: the output's width is taken as the query's)."""
    spec = _spec(spec)
    if spec.attention == "mla":
        hq = spec.heads * (spec.qk_nope_head_dim + spec.qk_rope_head_dim)
        hkv = spec.kv_lora_rank + spec.qk_rope_head_dim
    else:
        hq = spec.heads * spec.head_dim
        hkv = hq if repeat_kv else spec.kv_heads * spec.head_dim
    return float(hq), float(hkv)


@dataclass(frozen=True)
class _MemoryInputs:
    """What :func:`training_memory` computes from: the scenario and its overrides, each
    override checked and each ``None`` replaced by the scenario's (or its stack's) value."""

    scenario: Any
    acc: Any                 # catalog.Accelerator the memory is computed for
    sp: dict                 # the software stack's parameters (data/stacks.csv)
    which: str               # one of PIPELINE_RANKS
    seq: int                 # sequence length [tokens]
    mbs: int                 # micro-batch [sequences]
    recompute: str           # one of RECOMPUTE
    zero: int                # ZeRO stage 0..3
    wb: float                # weight bytes [bytes/param]
    gb: float                # gradient bytes [bytes/param]
    opt_b: float             # optimizer-state bytes [bytes/param]
    e: float                 # activation bytes [bytes/element]
    reserve: float           # allocator reserve [fraction of the tensor bytes]
    reserve_b: float         # memory outside the allocator [bytes]
    flash: bool
    dropout: bool
    sel: str                 # one of SELECTIVE_MODES
    include_embeddings: bool

    @property
    def recompute_num_layers(self) -> int | None:
        """Layers of each pipeline chunk full recompute re-runs (training.recompute_num_layers;
        None: every layer, and always None unless recompute = "full")."""
        return self.scenario.training.recompute_num_layers if self.recompute == "full" else None

    @property
    def microbatches(self) -> float:
        """Micro-batches of one step on one data-parallel rank [-]."""
        tr, par = self.scenario.training, self.scenario.parallelism
        return tr.global_batch / (self.mbs * par.dp)

    @property
    def rematerialise(self) -> bool:
        """A recomputed layer is re-materialised in backward: full recompute, and per-op SAC."""
        tr = self.scenario.training
        return self.recompute == "full" or (self.recompute == "selective" and self.sel == "op"
                                            and tr.recompute_modules is None)


def _memory_inputs(scenario, overrides: dict) -> _MemoryInputs:
    """:func:`training_memory`'s overrides applied to the scenario and checked (the errors name
    the field, the value and what is allowed); ``None`` overrides take the stack's values."""
    from . import stacks
    from .scenario import as_scenario, load_scenario

    if isinstance(scenario, str) and not scenario.lower().endswith(".toml") and "\n" not in scenario:
        scenario = load_scenario(scenario)
    scenario = as_scenario(scenario)
    if scenario.training is None:
        raise ValidationError(f"training_memory: scenario {scenario.name!r} is a serving scenario ([serving] "
                              "table, no [training]); use il.serve (its memory) or inference_memory")
    o = dict(TRAINING_DEFAULTS)
    allowed = set(TRAINING_DEFAULTS) | {"micro_batch", "seq_len", "recompute", "zero", "accelerator",
                                        "pipeline_rank"}
    for k, v in overrides.items():
        if k not in allowed:
            raise unknown("training_memory override", k, sorted(allowed))
        o[k] = v
    which = o.get("pipeline_rank")
    which = "most_loaded" if which is None else which
    if not isinstance(which, str) or which not in PIPELINE_RANKS:
        raise ValidationError(f"pipeline_rank = {which!r}: allowed {', '.join(repr(x) for x in PIPELINE_RANKS)}")
    tr, par = scenario.training, scenario.parallelism
    acc = catalog.accelerator(o.get("accelerator") or scenario.hardware.accelerator)
    stack_name = scenario.stack if not o.get("accelerator") else stacks.default_stack(acc.name)
    sp = stacks.params(stack_name)
    for k, sk in _STACK_KEYS.items():
        if o[k] is None:
            o[k] = sp[sk]
    seq, mbs = _checked_tokens(o, tr)
    recompute = o.get("recompute") or tr.recompute
    if recompute not in RECOMPUTE:
        raise unknown("recompute", recompute, RECOMPUTE)
    zero = o.get("zero")
    zero = par.zero if zero is None else zero
    if isinstance(zero, bool) or not isinstance(zero, int) or not 0 <= zero <= 3:
        raise ValidationError(f"zero = {zero!r}: allowed 0, 1, 2 or 3")
    opt_b = o["optimizer_state_bytes"]
    if opt_b is None:
        opt_b = OPTIMIZER_STATE_BYTES[tr.optimizer]
    _check_byte_sizes(o, opt_b, acc)
    sel = o["selective_mode"]
    if not isinstance(sel, str):   # the stack's selective_recompute: an index into SELECTIVE_MODES
        codes = {float(i): m for i, m in enumerate(SELECTIVE_MODES)}
        if isinstance(sel, bool) or not isinstance(sel, (int, float)) or float(sel) not in codes:
            raise ValidationError(
                f"selective_mode = {sel!r}: allowed {', '.join(map(repr, SELECTIVE_MODES))} "
                f"(or the stack's selective_recompute code: "
                f"{', '.join(f'{int(i)} = {m!r}' for i, m in codes.items())})")
        sel = codes[float(sel)]
    if sel not in SELECTIVE_MODES:
        raise unknown("selective_mode", sel, SELECTIVE_MODES)
    return _MemoryInputs(scenario, acc, sp, which, seq, mbs, recompute, zero, float(o["weight_bytes"]),
                         float(o["grad_bytes"]), float(opt_b), float(o["activation_bytes"]),
                         float(o["reserve_fraction"]), float(o["reserve_bytes"]), bool(o["flash_attention"]),
                         bool(o["dropout"]), sel, o["include_embeddings"])


def _checked_tokens(o: dict, tr) -> tuple[int, int]:
    """(seq_len, micro_batch): the overrides in ``o`` or the scenario's training values ``tr``,
    within the compute model's bounds (:func:`infra_lab.compute.layer_ops`: beyond them no
    kernel exists)."""
    seq = check_positive("seq_len", o["seq_len"], integer=True) if o.get("seq_len") is not None else tr.seq_len
    mbs = (check_positive("micro_batch", o["micro_batch"], integer=True) if o.get("micro_batch") is not None
           else tr.micro_batch)
    if seq > 2**24:
        raise ValidationError(f"seq_len = {o['seq_len']!r}: allowed 1..2^24 tokens")
    if mbs > 2**16:
        raise ValidationError(f"micro_batch = {o['micro_batch']!r}: allowed 1..2^16 sequences")
    if seq * mbs > 2**31:
        raise ValidationError(f"seq_len x micro_batch = {seq * mbs:,} tokens per rank: at most 2^31")
    return seq, mbs


def _check_byte_sizes(o: dict, opt_b, acc) -> None:
    """Refuse byte widths and reserves out of range: per-parameter / per-element widths
    (``o``'s weight, gradient and activation bytes, the optimizer-state bytes ``opt_b``) in
    0..16 (fp64 + its Adam moments are 8 each), ``reserve_bytes`` at most the accelerator's
    HBM, ``reserve_fraction`` in [0, 1)."""
    for k in ("weight_bytes", "grad_bytes", "reserve_fraction", "reserve_bytes", "activation_bytes",
              "optimizer_state_bytes"):
        v = opt_b if k == "optimizer_state_bytes" else o[k]
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or v < 0:
            raise ValidationError(f"{k} = {v!r}: expected a finite number >= 0")
        if k not in ("reserve_fraction", "reserve_bytes") and v > 16:
            raise ValidationError(f"{k} = {v!r}: allowed 0..16 bytes per parameter or element")
    if o["reserve_bytes"] > acc.hbm_bytes:
        raise ValidationError(f"reserve_bytes = {o['reserve_bytes']!r}: more than the {acc.name}'s "
                              f"{acc.hbm_bytes:.4g} bytes of HBM")
    reserve = float(o["reserve_fraction"])
    if not 0.0 <= reserve < 1.0:
        raise ValidationError(f"reserve_fraction = {reserve!r}: allowed 0 <= x < 1")


def _state_sharding(mi: _MemoryInputs) -> tuple[float, float, int, int]:
    """How weights, gradients and optimizer states are sharded: (non-expert data-parallel
    group dp·cp, expert data-parallel group tp·cp·dp/(ep·etp), ZeRO stage, FSDP flag) as the
    memory kernel prices them. FSDP / ZeRO-3 with pipeline parallelism does not reshard during
    the step (parameters stay gathered across micro-batches): only the optimizer states remain
    sharded, priced as ZeRO-1."""
    par = mi.scenario.parallelism
    g_ne = float(par.dp * par.cp)
    g_e = float(par.tp * par.cp * par.dp // (par.ep * par.etp))
    z_mem, f_mem = mi.zero, int(par.fsdp)
    if (mi.zero >= 3 or par.fsdp) and par.pp > 1:
        z_mem, f_mem = 1, 0
    return g_ne, g_e, z_mem, f_mem


def _layer_activations(mi: _MemoryInputs) -> tuple[float, float, float, float, float, float]:
    """Activation bytes of one layer and micro-batch, averaged over the dense-like layer kinds
    and for an MoE layer [bytes]: (kept dense, kept MoE) under the plan's recompute — FP8
    saved GEMM inputs, the MoE FC1 input gathered over etp and the stack's selective mode
    included (:func:`activation_bytes_per_layer`); (working dense, working MoE) without
    recompute (the layer re-materialised in backward); (offloaded dense, offloaded MoE)
    copied to host memory (:func:`offloaded_bytes_per_layer`; zero without
    ``training.offload_modules``)."""
    spec, tr, par = mi.scenario.model_spec, mi.scenario.training, mi.scenario.parallelism
    kinds = spec.layer_kinds()
    counts = {k: kinds.count(k) for k in set(kinds)}
    n_dl = sum(v for k, v in counts.items() if k != "moe")
    gemm_in = saved_gemm_input_bytes(tr.precision, mi.sp)

    def per_layer(rc: str, fn=activation_bytes_per_layer) -> tuple[float, float]:
        per = fn(spec, mi.seq, mi.mbs, par.tp, sequence_parallel=par.sequence_parallel,
                 recompute=rc, flash_attention=mi.flash, dropout=mi.dropout, cp=par.cp,
                 activation_bytes=mi.e, selective_mode=mi.sel,
                 recompute_modules=tr.recompute_modules if rc == mi.recompute else None,
                 gemm_input_bytes=gemm_in, etp=par.etp,
                 offload_modules=tr.offload_modules if rc == mi.recompute else None)
        dense = sum(b * counts.get(k, 0) / max(n_dl, 1) for k, b in per.items() if k != "moe")
        return dense, per.get("moe", 0.0)

    a_d, a_m = per_layer(mi.recompute)
    w_d, w_m = per_layer("none")
    o_d, o_m = per_layer(mi.recompute, offloaded_bytes_per_layer) if tr.offload_modules else (0.0, 0.0)
    return a_d, a_m, w_d, w_m, o_d, o_m


def _mtp_activations(mi: _MemoryInputs) -> tuple[float, float]:
    """One multi-token-prediction module's activation bytes per micro-batch
    (:func:`mtp_activation_bytes`): (kept under the plan's recompute, working set without
    recompute); (0, 0) for a model without MTP."""
    spec, tr, par = mi.scenario.model_spec, mi.scenario.training, mi.scenario.parallelism
    if not spec.mtp_layers:
        return 0.0, 0.0
    gemm_in = saved_gemm_input_bytes(tr.precision, mi.sp)

    def one(rc: str) -> float:
        return mtp_activation_bytes(spec, mi.seq, mi.mbs, par.tp, sequence_parallel=par.sequence_parallel,
                                    recompute=rc, flash_attention=mi.flash, dropout=mi.dropout, cp=par.cp,
                                    activation_bytes=mi.e, selective_mode=mi.sel,
                                    recompute_modules=tr.recompute_modules if rc == mi.recompute else None,
                                    gemm_input_bytes=gemm_in, etp=par.etp)

    return one(mi.recompute), one("none")


def _with_cross_attention(mi: _MemoryInputs, hook, layer_act: tuple) -> tuple:
    """:func:`_layer_activations` of a multimodal model: its cross-attention layers' activations
    (``hook.cross_act``, :class:`infra_lab.multimodal.TrainingHook`) spread over all layers, kept
    unless full recompute, and in the working set of a re-materialised layer."""
    a_d, a_m, w_d, w_m, o_d, o_m = layer_act
    par = mi.scenario.parallelism
    x = hook.cross_act(par.tp, mi.mbs, par.cp) / len(mi.scenario.model_spec.layer_kinds())
    if mi.recompute != "full":
        a_d, a_m = a_d + x, a_m + x
    w_d, w_m = w_d + x, w_m + x
    return a_d, a_m, w_d, w_m, o_d, o_m


def _encoder_bytes(mi: _MemoryInputs, hook, nf: float) -> tuple[float, float]:
    """What a multimodal model's encoders add on the first pipeline stage [bytes], from
    ``hook.prologue``: (frozen encoders' 16-bit weights, which have no gradients or optimizer
    states; trained encoders' saved activations of ``nf`` in-flight micro-batches under the
    plan's recompute + a frozen encoder's one-layer forward working set). Trained encoders'
    parameters are the first stage's own (:func:`stage_candidates`' ``first_stage_params``)."""
    par = mi.scenario.parallelism
    pro = hook.prologue(mi.acc.name, par.tp, mi.mbs, par.cp, 0.0)
    key = {"none": "act_none", "selective": "act_sel", "full": "act_full"}[mi.recompute]
    return pro["frozen_weights"], nf * pro[key] + pro["frozen_work"]


def _head_and_cp_bytes(mi: _MemoryInputs) -> tuple[float, float, float]:
    """The loss and context-parallel inputs of a stage: (hidden-state elements of one
    micro-batch on this rank, tokens × hidden, over tp under sequence parallelism [elements];
    logits at the loss [bytes] (:func:`loss_logits_bytes`: fusion, chunking, compilation and
    the stack's fp32 copies); one layer's context-parallel attention buffers [bytes]
    (:func:`infra_lab._kernels.memory.cp_attention_bytes`))."""
    from ._kernels.memory import cp_attention_bytes

    spec, tr, par, sp = mi.scenario.model_spec, mi.scenario.training, mi.scenario.parallelism, mi.sp
    tok = mi.seq / par.cp * mi.mbs
    tok_h = tok * spec.hidden / (par.tp if par.sequence_parallel else 1)
    hq, hkv = cp_exchange_widths(spec, par.cp_repeat_kv)
    cp_attn = cp_attention_bytes(float(par.cp), float(CP_ROTATE_METHODS.index(par.cp_rotate)), tok, hq, hkv,
                                 float(par.tp), mi.e)
    logits = loss_logits_bytes(tok, spec.vocab, par.tp, mi.e, loss_fusion=tr.loss_fusion,
                               loss_chunks=tr.loss_chunks, loss_compiled=tr.loss_compiled,
                               bwd_fp32_tensors=(sp["loss_bwd_fp32_tensors"], sp["loss_parallel_bwd_fp32_tensors"]),
                               fp32_copies=sp["loss_fp32_copies"])
    return tok_h, logits, cp_attn


def _stage_io_kept(mi: _MemoryInputs) -> bool:
    """Pipeline stage buffers kept per micro-batch (PyTorch pipelining, the stack's
    ``pp_stage_buffers_persistent``) unless the run frees them (``training.pp_free_stage_buffers``)."""
    return (mi.scenario.parallelism.pp > 1 and bool(mi.sp["pp_stage_buffers_persistent"])
            and not mi.scenario.training.pp_free_stage_buffers)


def _stage_bytes(mi: _MemoryInputs, cand: dict, hook, sharding, layer_act, head_cp) -> tuple[tuple, float]:
    """The peak of one pipeline stage candidate: (bytes by
    :data:`infra_lab._kernels.memory.MEM_NAMES` component, in-flight micro-batches). The
    memory kernel (:func:`infra_lab._kernels.memory.stage_memory`) prices the stage's
    parameters and layers; added to it: a multimodal model's encoders on the first stage
    (:func:`_encoder_bytes`), the gradients that coexist with the peak when the stack allocates
    them at the first backward, PyTorch pipelining's per-micro-batch stage buffers
    (:func:`_stage_io_kept`), and the allocator reserve of all the tensor bytes.

    ``hook``: the multimodal :class:`infra_lab.multimodal.TrainingHook` or None; ``sharding``,
    ``layer_act``, ``head_cp``: what :func:`_state_sharding`, :func:`_layer_activations` (with
    :func:`_with_cross_attention`) and :func:`_head_and_cp_bytes` return."""
    from ._kernels.memory import (
        MEM_NAMES,
        allocator_reserve,
        grads_at_peak,
        inflight,
        stage_io_bytes,
        stage_memory,
    )

    tr, par = mi.scenario.training, mi.scenario.parallelism
    g_ne, g_e, z_mem, f_mem = sharding
    a_d, a_m, w_d, w_m, o_d, o_m = layer_act
    tok_h, logits, cp_attn = head_cp
    pp, vp, m = par.pp, par.vp, mi.microbatches
    emb = cand["p_embedding"]
    head_p = cand["p_head"]
    p_ne = cand["p_nonexpert"] - emb - head_p
    emb_all = emb + head_p
    has_emb, has_head = cand["has_embedding"], cand["has_head"]
    if not mi.include_embeddings:
        emb_all, has_emb, has_head = 0.0, 0, 0
    rank = cand["rank"]
    wq = fp8_weight_copy_bytes(tr.precision, mi.sp, tr.fp8_param_gather)
    # float arguments where the kernel computes in floats (an int 0 would compile another
    # specialization of the memory kernels than the training step's)
    nf = inflight(pp, vp, float(rank), m)
    # the multi-token-prediction modules sit with the output layer (the last stage)
    n_mtp = mi.scenario.model_spec.mtp_layers if cand["has_head"] else 0
    # of them, those full recompute re-runs (none under the block method, recompute_num_layers)
    rx = mtp_modules_recomputed(n_mtp, mi.recompute_num_layers) if mi.rematerialise else n_mtp
    mtp = (float(n_mtp), float(rx), *_mtp_activations(mi)) if n_mtp else (0.0, 0.0, 0.0, 0.0)
    vals = list(stage_memory(p_ne, cand["p_expert"], emb_all, float(par.tp), float(par.ep), float(par.etp), g_ne,
                             g_e, z_mem, f_mem, mi.wb, mi.gb, mi.opt_b, float(cand["n_dense"]),
                             float(cand["n_moe"]), float(cand["n_dense_recomputed"]),
                             float(cand["n_moe_recomputed"]), float(a_d), float(a_m), float(w_d), float(w_m),
                             1 if mi.rematerialise else 0, nf, tok_h, mi.e, 1.0 if mi.dropout else 0.0,
                             float(has_emb), float(has_head), logits, 0.0, wq, float(o_d), float(o_m), cp_attn,
                             *mtp))
    i_act = MEM_NAMES.index("activations")
    if hook is not None and cand["has_embedding"]:   # multimodal: the encoders on the first stage
        enc_w, enc_act = _encoder_bytes(mi, hook, nf)
        vals[MEM_NAMES.index("weights")] += enc_w
        vals[i_act] += enc_act
    if not mi.sp["grad_buffer_persistent"] and pp > 1 and vp > 1:   # gradients allocated at first backward
        ig = MEM_NAMES.index("gradients")
        vals[ig] = grads_at_peak(vals[i_act], vals[ig], float(pp), float(vp), float(rank), m)
    if _stage_io_kept(mi):     # PyTorch pipelining's per-micro-batch stage buffers (stage_io_bytes)
        vals[i_act] += stage_io_bytes(float(pp), float(vp), float(rank), m, nf, tok_h * mi.e)
    # the reserve of the tensors above (the kernel's formula)
    vals[MEM_NAMES.index("allocator_reserve")] = allocator_reserve(float(sum(vals)), mi.reserve_b, mi.reserve)
    return tuple(vals), nf


def _component_notes(mi: _MemoryInputs, cand: dict, nf: float, g_ne: float, cp_attn: float) -> dict[str, str]:
    """The ``note`` of each component of :func:`training_memory`'s frame for the reported stage."""
    tr, par = mi.scenario.training, mi.scenario.parallelism
    zero, fsdp = mi.zero, par.fsdp
    z1, z2, z3 = zero >= 1 or fsdp, zero >= 2 or fsdp, zero >= 3 or fsdp
    return {
        "weights": f"{mi.wb:g} B/param; stage {cand['rank']} of {par.pp}"
                   + (f", sharded over {g_ne:g} ranks (ZeRO-3/FSDP)" if z3 else ""),
        "gradients": f"{mi.gb:g} B/param" + (" sharded (ZeRO-2+)" if z2 else ""),
        "optimizer_states": f"{mi.opt_b:g} B/param ({tr.optimizer})" + (f", sharded over {g_ne:g}" if z1 else ""),
        "zero3_gather_buffer": "two gathered layers (ZeRO-3/FSDP prefetch)",
        "activations": f"{cand['n_dense'] + cand['n_moe']} layers x {nf:g} in-flight micro-batches, "
                       f"recompute={mi.recompute}"
                       + (f" of {cand['n_dense_recomputed'] + cand['n_moe_recomputed']} layers (the first "
                          f"{mi.recompute_num_layers} of each chunk; the others keep their activations)"
                          if mi.recompute_num_layers is not None else "")
                       + ("; + the pipeline stage's per-micro-batch input/gradient buffers and kept outputs"
                          if _stage_io_kept(mi) else "")
                       + (f"; offloaded to host: {', '.join(tr.offload_modules)} (one layer's kept on the GPU)"
                          if tr.offload_modules else ""),
        "recompute_working_set": "one layer re-materialised in backward (full recompute, per-op SAC)",
        "embedding_and_head_activations": "logits (16-bit + fp32) on the last stage; embedding dropout",
        "cp_attention_buffers": ((f"one layer's all-gathered K/V of {par.cp} CP ranks + "
                                  + ("full-length dK/dV before their reduce-scatter"
                                     if par.cp_rotate == "allgather-exposed" else "fp32 merge/gradient buffers")
                                  + f" ({cp_attn / GiB:.2f} GiB), beyond the logits they never meet")
                                 if cp_attn > 0 else "none (cp = 1 or the P2P ring: not counted)"),
        "allocator_reserve": f"{mi.reserve_b / 1e9:g} GB outside the allocator + {mi.reserve:.0%} of the tensor bytes",
    }


def training_memory(scenario, **overrides: Any) -> pl.DataFrame:
    """Per-GPU training memory of a Scenario, by component (most loaded GPU).

    Parameters
    ----------
    scenario : Scenario, scenario name, or plain dict
    **overrides : any of
        weight_bytes [bytes/param], grad_bytes [bytes/param; Megatron's fp32 main_grad: 4],
        flash_attention [bool], dropout [bool], reserve_fraction [fraction of the tensor bytes],
        reserve_bytes [bytes] (all four default to the scenario's software stack,
        ``data/stacks.csv``, as the step model uses them), optimizer_state_bytes
        [bytes/param, default by optimizer: AdamW 12, Muon 8, SGD 8], activation_bytes
        [bytes/element, 2], include_embeddings [bool, True], micro_batch, seq_len,
        recompute, zero (the scenario's values by default), pipeline_rank (one of
        :data:`PIPELINE_RANKS`: "most_loaded" by default; "first" or "last" report that
        pipeline rank's memory instead, as a framework that logs one rank's memory prints it).

    Returns
    -------
    polars.DataFrame
        component ("weights", "gradients", "optimizer_states", "zero3_gather_buffer",
        "activations", "recompute_working_set", "embedding_and_head_activations",
        "cp_attention_buffers", "allocator_reserve"), bytes [bytes], GiB [GiB], note.

    Notes
    -----
    The formula is one numba kernel (:func:`infra_lab._kernels.memory.stage_memory`), the
    same the step model of :func:`infra_lab.estimate` evaluates per plan. Pipeline stages
    come from :func:`stage_candidates` (pp·vp need not divide the layers); every distinct
    stage is evaluated and the most loaded one is returned (or the rank ``pipeline_rank``
    names). Sharding: non-expert
    parameters over tp, routed experts over ep·etp; ZeRO-1 shards the optimizer states,
    ZeRO-2 also gradients, ZeRO-3/FSDP also weights, over the dp·cp data-parallel ranks
    (experts over the tp·cp·dp/(ep·etp) expert-data-parallel ranks). Rank r of the pipeline
    holds pp − r micro-batches in flight under 1F1B and pp + (pp − 1 − 2r)/vp under the
    interleaved schedule (Megatron-Core's warm-up count, :func:`infra_lab._kernels.memory.inflight`). Full
    recompute with ``training.recompute_num_layers`` = N (Megatron's block method): the first N
    layers of each pipeline chunk keep only their input, the others their full activations,
    plus one recomputed layer's working set (:func:`infra_lab._kernels.memory.stage_activations`). ZeRO-3 keeps
    two gathered layers. Stacks with ``pp_stage_buffers_persistent`` = 1 (PyTorch pipelining)
    also hold a receive buffer per micro-batch for every stage input and output gradient and
    each forward's output until its backward (:func:`infra_lab._kernels.memory.stage_io_bytes`,
    in ``activations``), unless ``training.pp_free_stage_buffers`` (the run frees them, as
    Llama 3 §3.3.2 publishes). Context parallelism with ``parallelism.cp_rotate`` = "allgather"
    (PyTorch's context_parallel) adds one layer's transient attention buffers — the all-gathered
    K/V of every CP rank and the fp32 merge/gradient accumulators
    (:func:`infra_lab._kernels.memory.cp_attention_bytes`) — where they exceed the logits they
    never meet (``cp_attention_buffers``); with "allgather-exposed" (Llama 3's CP) the
    gathered K/V and the full-length dK/dV before their reduce-scatter; the P2P ring's
    buffers are not counted.

    Examples
    --------
    >>> import infra_lab as il
    >>> sc = il.load_scenario("zaya1-ibm-mi300x")
    >>> total = il.memory.training_memory_total(sc)
    >>> 30e9 < total < 192e9
    True
    """
    from ._kernels.memory import MEM_NAMES

    mi = _memory_inputs(scenario, overrides)
    par = mi.scenario.parallelism
    sharding = _state_sharding(mi)
    layer_act = _layer_activations(mi)
    hook = None
    if mi.scenario.multimodal is not None:   # issue 20: encoders on the first stage, cross-attention
        from .multimodal import training_hook

        hook = training_hook(mi.scenario)
        layer_act = _with_cross_attention(mi, hook, layer_act)
    head_cp = _head_and_cp_bytes(mi)
    # the rank asked for (stage_candidates always keeps rank 0 and rank pp - 1: they alone hold
    # the embedding and the output layer); None: every candidate, the most loaded one wins
    want = {"most_loaded": None, "first": 0, "last": par.pp - 1}[mi.which]
    best, best_total, best_cand = None, -1.0, None
    for cand in stage_candidates(mi.scenario.model_spec, par.pp, par.vp,
                                 recompute_num_layers=mi.recompute_num_layers,
                                 **(hook.stage_extras() if hook is not None else {})):
        if want is not None and cand["rank"] != want:
            continue
        vals, nf = _stage_bytes(mi, cand, hook, sharding, layer_act, head_cp)
        total = float(sum(vals))
        if total > best_total:
            best, best_total, best_cand = vals, total, (cand, nf)
    cand, nf = best_cand
    notes = _component_notes(mi, cand, nf, sharding[0], head_cp[2])
    return pl.DataFrame(
        {"component": list(MEM_NAMES), "bytes": [float(v) for v in best],
         "GiB": [float(v) / GiB for v in best], "note": [notes[k] for k in MEM_NAMES]})


def training_memory_total(scenario, **overrides: Any) -> float:
    """Sum of :func:`training_memory` [bytes], the allocator reserve included."""
    return float(training_memory(scenario, **overrides)["bytes"].sum())


def fits(scenario, **overrides: Any) -> bool:
    """True when :func:`training_memory_total` ≤ the memory the accelerator's driver exposes
    (:attr:`infra_lab.catalog.Accelerator.memory_capacity_bytes`: nvidia-smi / rocminfo
    total where the catalog has it, e.g. 81,559 MiB on an H100 80GB, else the labelled
    HBM capacity)."""
    from .scenario import as_scenario, load_scenario

    if isinstance(scenario, str) and not scenario.lower().endswith(".toml") and "\n" not in scenario:
        scenario = load_scenario(scenario)
    scenario = as_scenario(scenario)      # a dict or a path is validated; anything else refused by name
    total = training_memory_total(scenario, **overrides)   # validates the overrides
    acc = catalog.accelerator(overrides.get("accelerator") or scenario.hardware.accelerator)
    return total <= acc.memory_capacity_bytes


# --------------------------------------------------------------------------------------
# Korthikanti Table 5 / Figure 7 check
# --------------------------------------------------------------------------------------
_K_RUNS = {  # model preset, tp, pp, vp, micro-batch (Korthikanti et al. 2022 Table 5, https://arxiv.org/abs/2205.05198)
    "22B": ("megatron-22b", 8, 1, 1, 4),
    "175B": ("megatron-175b", 8, 8, 3, 1),
    "530B": ("megatron-530b", 8, 35, 3, 1),
    "1T": ("megatron-1t", 8, 64, 1, 1),
}
_K_PUBLISHED_GIB = {  # params+optimizer, activations no recompute, activations selective+SP
    "22B": (45.56, 59.25, 9.56), "175B": (45.56, 66.84, 12.35),
    "530B": (31.64, 114.02, 23.08), "1T": (32.96, 131.25, 26.56),
}


def korthikanti_check() -> pl.DataFrame:
    """Reproduce Korthikanti et al. 2022's per-GPU memory [GiB] (Table 5,
    https://arxiv.org/abs/2205.05198; GiB as Calculon prints them).

    The runs of Table 5 (A100, s = 2,048, V = 51,200, DP = 1) through
    :func:`training_memory` with the paper's conventions: 16-bit weights, fp32 gradients
    (Megatron main_grad), Adam fp32 master + moments (18 B/param), dropout, no flash
    attention. Published values are as encoded by calculon-ai/calculon from the paper's
    Figures 1 and 7; they count transformer layers only, so ``predicted_gib`` excludes the
    embedding and LM-head (``with_embeddings_gib`` adds them back).

    Returns
    -------
    polars.DataFrame : model, quantity, published_gib, predicted_gib, error_pct,
        with_embeddings_gib, with_embeddings_error_pct
    """
    from .scenario import Scenario

    rows = []
    for label, (preset, tp, pp, vp, mbs) in _K_RUNS.items():
        d = {"model": {"preset": preset},
             "hardware": {"accelerator": "A100-SXM-80GB", "nodes": tp * pp // 8, "gpus_per_node": 8,
                          "nic": "ConnectX-6-HDR"},
             "training": {"seq_len": 2048, "global_batch": mbs * tp * pp, "micro_batch": mbs},
             "parallelism": {"tp": tp, "pp": pp, "vp": vp, "zero": 0}}
        if tp * pp < 8:
            d["hardware"]["gpus_per_node"] = tp * pp
            d["hardware"]["nodes"] = 1
        sc = Scenario.from_dict(d)
        common = dict(weight_bytes=2.0, grad_bytes=4.0, dropout=True, flash_attention=False,
                      reserve_fraction=0.0, reserve_bytes=0.0)
        pub = _K_PUBLISHED_GIB[label]
        for qi, (quantity, rec, sp) in enumerate((("params+optimizer", "none", False),
                                                  ("activations, no recompute", "none", False),
                                                  ("activations, selective + SP", "selective", True))):
            sc_q = sc.replace(parallelism={"sequence_parallel": sp}, training={"recompute": rec})
            bare = training_memory(sc_q, include_embeddings=False, **common)
            full = training_memory(sc_q, include_embeddings=True, **common)

            def pick(df: pl.DataFrame, q: int = qi) -> float:
                comps = (["weights", "gradients", "optimizer_states"] if q == 0
                         else ["activations", "embedding_and_head_activations"])
                return float(df.filter(pl.col("component").is_in(comps))["bytes"].sum()) / GiB

            p, pe = pick(bare), pick(full)
            rows.append({"model": label, "quantity": quantity, "published_gib": pub[qi],
                         "predicted_gib": p, "error_pct": 100 * (p / pub[qi] - 1),
                         "with_embeddings_gib": pe, "with_embeddings_error_pct": 100 * (pe / pub[qi] - 1)})
    return pl.DataFrame(rows)


# --------------------------------------------------------------------------------------
# Inference
# --------------------------------------------------------------------------------------
def _bytes_of(precision: str) -> float:
    """Bytes per element of a KV / state precision: :func:`infra_lab.catalog.format_bytes`
    (the one owner of bytes per element, data/serving/number_formats.csv)."""
    return catalog.format_bytes(precision)


def number_formats() -> pl.DataFrame:
    """Storage formats of weights and KV cache: :func:`infra_lab.catalog.number_formats`
    (data/serving/number_formats.csv, the one copy), kept here for compatibility."""
    return catalog.number_formats()


def format_bytes(fmt: str) -> float:
    """Bytes per stored element of a number format, block scales included [bytes]:
    :func:`infra_lab.catalog.format_bytes` (the one owner).

    Examples
    --------
    >>> format_bytes("mxfp4"), format_bytes("nvfp4"), format_bytes("fp8")
    (0.53125, 0.5625, 1.0)
    """
    return catalog.format_bytes(fmt)


def weight_bytes(spec, precision: str = "bf16", expert_precision: str | None = None) -> float:
    """Bytes of a model's weights stored at ``precision`` [bytes].

    Parameters
    ----------
    spec : ModelSpec or preset name
    precision : number format of every weight (a row of :func:`number_formats`: "bf16",
        "fp8", "mxfp4", "nvfp4", ...)
    expert_precision : format of the routed-expert weights (default: the model's own
        ``expert_weight_format`` when it is smaller than ``precision`` — gpt-oss keeps its
        MXFP4 experts whatever the rest runs at — else ``precision``). Expert biases stay
        at ``precision``.

    Notes
    -----
    bytes = (P_total − P_expert_matrices) · b(precision) + P_expert_matrices · b(expert_precision),
    with b from data/serving/number_formats.csv (MXFP4: 4 bits + an 8-bit scale per 32).

    Examples
    --------
    >>> round(weight_bytes("gpt-oss-120b") / 2**30, 1)    # model card: 60.8 GiB checkpoint
    60.8
    >>> round(weight_bytes("gpt-oss-20b") / 2**30, 1)     # model card: 12.8 GiB
    12.8
    """
    spec = _spec(spec)
    b = format_bytes(precision)
    e_fmt = expert_precision
    if e_fmt is None:
        e_fmt = precision
        if spec.expert_weight_format and format_bytes(spec.expert_weight_format) < b:
            e_fmt = spec.expert_weight_format
    be = format_bytes(e_fmt)
    p_exp = float(expert_matrix_params(spec))
    return (spec.params_total - p_exp) * b + p_exp * be


def expert_matrix_params(spec) -> int:
    """Parameters in the routed experts' weight matrices, biases excluded [count]."""
    spec = _spec(spec)
    if not spec.experts:
        return 0
    from .models import _FFN_ACTS

    n_moe = sum(1 for k in spec.layer_kinds() if k == "moe")
    width = spec.expert_ffn_hidden or spec.ffn_hidden
    return n_moe * spec.experts * _FFN_ACTS[spec.ffn_act] * spec.hidden * width


def _kv_elements_per_layer(spec) -> float:
    """KV-cache elements one token adds to one attention layer [elements]."""
    if spec.attention == "mla":
        return float(spec.kv_lora_rank + spec.qk_rope_head_dim)
    return float(2 * spec.kv_heads * spec.head_dim)


def kv_bytes_per_token(spec, precision: str = "bf16") -> float:
    """KV-cache bytes per token over all attention layers [bytes/token].

    GQA/MHA: 2·kv_heads·head_dim per attention layer; MLA: kv_lora_rank + qk_rope_head_dim
    (the compressed latent, DeepSeek-V2/V3); CCA: compressed K and V of kv_heads·head_dim
    each (ZAYA1); hybrid SSM models: only the layers with a shared attention block.
    Sliding-window layers keep at most their window of tokens: this is the cost of a token
    while it is inside every window; :func:`kv_cache_bytes` applies the windows.

    Examples
    --------
    >>> import infra_lab as il
    >>> il.memory.kv_bytes_per_token("llama3-70b")     # 80 · 2 · 8 · 128 · 2 bytes
    327680.0
    """
    spec = _spec(spec)
    b = _bytes_of(precision)
    n_attn = len(spec.attention_windows())
    return float(n_attn * _kv_elements_per_layer(spec) * b)


def kv_cached_tokens(spec, tokens: float) -> float:
    """Token-layers held in the KV cache for one sequence of ``tokens``, divided by the
    number of attention layers: the average cached length per layer [tokens].

    Full-attention layers hold every token; sliding-window layers at most their window.

    Examples
    --------
    >>> kv_cached_tokens("gpt-oss-120b", 1024)      # half the layers full, half 128
    576.0
    """
    spec = _spec(spec)
    check_positive("tokens", tokens, allow_zero=True)
    w = spec.attention_windows()
    if not w:
        return 0.0
    t = float(tokens)
    return sum(t if x == 0 else min(t, float(x)) for x in w) / len(w)


def _state_bytes_per_sequence(spec, precision: str) -> float:
    """Fixed per-sequence state [bytes]: Mamba2 SSM + conv state (fp32 SSM state), CCA conv."""
    spec = _spec(spec)
    b = _bytes_of(precision)
    kinds = spec.layer_kinds()
    s = 0.0
    n_ssm = sum(1 for k in kinds if k in ("mamba2", "hybrid"))
    if n_ssm:
        conv_dim = spec.d_inner + 2 * spec.ssm_groups * spec.ssm_state
        s += n_ssm * (spec.ssm_heads * spec.ssm_head_dim * spec.ssm_state * 4.0
                      + conv_dim * (spec.ssm_conv - 1) * b)
    if spec.attention == "cca":
        n_attn = sum(1 for k in kinds if k in ("dense", "moe"))
        c = (spec.heads + spec.kv_heads) * spec.head_dim
        s += n_attn * c * (spec.cca_time0 + spec.cca_time1) * b
    return s


def kv_cache_bytes(spec, tokens: int, batch: int = 1, precision: str = "bf16") -> float:
    """KV cache (and fixed recurrent state) of ``batch`` sequences of ``tokens`` [bytes].

    Parameters
    ----------
    spec : ModelSpec or preset name
    tokens : context length per sequence [tokens]
    batch : sequences [-]
    precision : cache element type ("bf16", "fp8", ...)

    Notes
    -----
    bytes = batch · (kv_bytes_per_token · kv_cached_tokens(tokens) + fixed state), so
    sliding-window layers (gpt-oss) hold at most their window.

    Examples
    --------
    >>> import infra_lab as il
    >>> il.memory.kv_cache_bytes("llama3-8b", 8192) / 2**30      # 32·2·8·128·2 B × 8192
    1.0
    """
    check_positive("tokens", tokens, allow_zero=True)
    check_positive("batch", batch, integer=True)
    spec = _spec(spec)
    return batch * (kv_cached_tokens(spec, tokens) * kv_bytes_per_token(spec, precision)
                    + _state_bytes_per_sequence(spec, precision))


def inference_memory(spec, accelerator: str, context: int, batch: int = 1, gpus: int = 1,
                     precision: str = "bf16", kv_precision: str | None = None,
                     reserve_fraction: float = 0.10) -> pl.DataFrame:
    """Per-GPU inference memory (weights and KV cache split evenly over ``gpus`` by TP).

    Weights are :func:`weight_bytes` (so gpt-oss keeps its MXFP4 experts). Returns
    component ("weights", "kv_cache", "allocator_reserve", "free"), bytes, GiB. ``free``
    is negative when it does not fit.
    """
    spec = _spec(spec)
    acc = catalog.accelerator(accelerator)
    check_positive("gpus", gpus, integer=True)
    check_positive("context", context, integer=True)
    check_positive("batch", batch, integer=True)
    _reserve_fraction(reserve_fraction)
    from .models import check_context

    check_context(spec, "context", context, int(context))   # learned positions: refused; RoPE: a warning
    w = weight_bytes(spec, precision) / gpus
    kv = kv_cache_bytes(spec, context, batch, kv_precision or precision) / gpus
    res = reserve_fraction * acc.hbm_bytes
    free = acc.hbm_bytes - w - kv - res
    comps = ["weights", "kv_cache", "allocator_reserve", "free"]
    vals = [w, kv, res, free]
    return pl.DataFrame({"component": comps, "bytes": vals, "GiB": [v / GiB for v in vals]})


def _reserve_fraction(v) -> float:
    """An allocator reserve as a fraction of HBM: a real number 0 <= x < 1."""
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or not 0.0 <= v < 1.0:
        raise ValidationError(f"reserve_fraction = {v!r}: allowed a number 0 <= x < 1 (fraction of HBM)")
    return float(v)


def max_inference_batch(spec, accelerator: str, context: int, gpus: int = 1,
                        precision: str = "bf16", kv_precision: str | None = None,
                        reserve_fraction: float = 0.10) -> int:
    """Largest batch of ``context``-token sequences whose weights + KV cache fit [sequences].

    0 when the weights alone do not fit. Weights and cache are split over ``gpus`` (TP).

    Examples
    --------
    >>> import infra_lab as il
    >>> il.memory.max_inference_batch("llama3-70b", "MI300X", 8192) > 0      # 141 GB on 192 GB
    True
    >>> il.memory.max_inference_batch("llama3-70b", "H100", 8192)             # not on one 80 GB
    0
    """
    spec = _spec(spec)
    check_positive("context", context, integer=True)
    from .fabric import constant

    V.integer("gpus", gpus, hi=int(constant("max_world_gpus")))   # a physical bound: 1e300 GPUs overflow
    _reserve_fraction(reserve_fraction)
    acc = catalog.accelerator(accelerator)
    budget = gpus * acc.hbm_bytes * (1.0 - reserve_fraction) - weight_bytes(spec, precision)
    if budget <= 0:
        return 0
    per_seq = kv_cache_bytes(spec, context, 1, kv_precision or precision)
    return int(math.floor(budget / per_seq)) if per_seq > 0 else 0


def memory_sweep(presets: list[str], accelerators: list[str], *, seq_len: int = 4096,
                 micro_batch: int = 1, precision: str = "bf16", zero: int = 1,
                 recompute: str = "none", nodes: int = 128, gpus_per_node: int = 8,
                 **overrides: Any) -> pl.DataFrame:
    """Per-GPU training memory of several models on several devices, plain data parallel.

    Every combination is a Scenario with tp = pp = cp = ep = 1 on ``nodes`` × ``gpus_per_node``
    GPUs (dp = all of them), ``global_batch = micro_batch · dp`` and the given ZeRO stage.

    Returns
    -------
    polars.DataFrame
        model, accelerator, component, bytes [bytes], GB [1e9 bytes], capacity_GB, total_GB,
        fits (total ≤ capacity)
    """
    from .scenario import Scenario

    frames = []
    presets = V.sequence("presets", presets, "model preset names")
    for k, v in (("micro_batch", micro_batch), ("nodes", nodes), ("gpus_per_node", gpus_per_node)):
        V.integer(k, v)     # each Scenario re-checks them; here so that nodes × gpus_per_node is a number
    accelerators = V.sequence("accelerators", accelerators, "accelerator names")
    for p in presets:
        for a in accelerators:
            acc = catalog.accelerator(a)
            sc = Scenario.from_dict({
                "model": {"preset": p},
                "hardware": {"accelerator": acc.name, "nodes": nodes, "gpus_per_node": gpus_per_node},
                "training": {"seq_len": seq_len, "micro_batch": micro_batch,
                             "global_batch": micro_batch * nodes * gpus_per_node,
                             "precision": precision, "recompute": recompute},
                "parallelism": {"zero": zero},
            })
            df = training_memory(sc, **overrides)
            tot = float(df["bytes"].sum())
            frames.append(df.select("component", "bytes").with_columns(
                pl.lit(p).alias("model"), pl.lit(acc.name).alias("accelerator"),
                (pl.col("bytes") / 1e9).alias("GB"), pl.lit(acc.memory_capacity_bytes / 1e9).alias("capacity_GB"),
                pl.lit(tot / 1e9).alias("total_GB"), pl.lit(tot <= acc.memory_capacity_bytes).alias("fits")))
    return pl.concat(frames).select("model", "accelerator", "component", "bytes", "GB",
                                    "capacity_GB", "total_GB", "fits")


# --------------------------------------------------------------------------------------
# Checkpoint size (issue 16; the one owner of checkpoint bytes)
# --------------------------------------------------------------------------------------
CHECKPOINT_SAVES = ("fully-parallel", "replica")
"""How replicated tensors are written: ``fully-parallel`` splits every replicated tensor over
its data-parallel replicas (Megatron-Core ``--ckpt-fully-parallel-save``, PyTorch DCP's
deduplicated plan); ``replica`` lets the first data-parallel replica write them."""

# Parameter groups that Muon does not manage (embeddings, output layer and 1-D parameters are
# left to AdamW, as in Muon's reference recipe); every other group is a weight matrix.
_MUON_ADAMW_GROUPS = frozenset({"embeddings", "position_embeddings", "lm_head", "norms",
                                "residual_scales", "biases"})


@dataclass(frozen=True)
class CheckpointSize:
    """What one full training checkpoint holds and how it is spread over the ranks.

    Attributes
    ----------
    total_bytes : weights + optimizer state, saved once [bytes]
    weights_bytes : working weights [bytes]
    optimizer_bytes : fp32 master copy + optimizer moments [bytes]
    model_parallel : ranks holding one copy of the weights, tp·pp [-]
    replicas : data-parallel replicas of the weights, dp·cp [-]
    zero : ZeRO stage (optimizer state sharded over the replicas when ≥ 1) [-]
    fsdp : weights sharded over the replicas too [-]
    optimizer, save : the choices that produced it
    """

    total_bytes: float
    weights_bytes: float
    optimizer_bytes: float
    model_parallel: int
    replicas: int
    zero: int
    fsdp: bool
    optimizer: str
    save: str

    @property
    def ranks(self) -> int:
        """Ranks of the job, model_parallel × replicas [-]."""
        return self.model_parallel * self.replicas

    def max_node_bytes(self, gpus_per_node: int) -> float:
        """Bytes written by the busiest node [bytes], ranks packed onto nodes in order
        (the model-parallel group innermost, as Megatron places it).

        ``fully-parallel``: every rank writes total/ranks. ``replica``: the first replica's
        ranks write the replicated tensors (weights unless FSDP; optimizer state unless
        ZeRO ≥ 1), every rank writes its own shards; the first node is the busiest.
        """
        gpn = int(check_positive("gpus_per_node", gpus_per_node, integer=True))
        gpn = min(gpn, self.ranks)
        if self.save == "fully-parallel":
            return self.total_bytes / self.ranks * gpn
        mp = self.model_parallel
        first = min(gpn, mp)  # ranks of the first replica on the first node
        per_w = self.weights_bytes / (self.ranks if self.fsdp else mp)
        per_o = self.optimizer_bytes / (self.ranks if (self.zero >= 1 or self.fsdp) else mp)
        w = (gpn if self.fsdp else first) * per_w
        o = (gpn if (self.zero >= 1 or self.fsdp) else first) * per_o
        return w + o

    def reload_node_bytes(self, gpus_per_node: int) -> float:
        """Bytes the busiest node reads from storage on restart [bytes].

        ``fully-parallel`` (Megatron-Core's fully parallel load): every rank reads
        total/ranks and the replicas exchange the rest over the back-end network (that
        exchange is not counted here). ``replica``: every replica reads the full weights of
        its model-parallel shard (unless FSDP) plus its optimizer shard.
        """
        gpn = min(int(check_positive("gpus_per_node", gpus_per_node, integer=True)), self.ranks)
        if self.save == "fully-parallel":
            return self.total_bytes / self.ranks * gpn
        w = self.weights_bytes / (self.ranks if self.fsdp else self.model_parallel)
        sharded = self.zero >= 1 or self.fsdp
        o = self.optimizer_bytes / (self.ranks if sharded else self.model_parallel)
        return gpn * (w + o)

    @property
    def reload_total_bytes(self) -> float:
        """Bytes all nodes read from storage on restart together [bytes]: the checkpoint
        once (``fully-parallel``), or the weights once per replica (``replica``)."""
        if self.save == "fully-parallel":
            return self.total_bytes
        w = self.weights_bytes * (1 if self.fsdp else self.replicas)
        o = self.optimizer_bytes * (1 if (self.zero >= 1 or self.fsdp) else self.replicas)
        return w + o


def _int_at_least_one(field: str, value) -> int:
    return int(check_positive(field, value, integer=True))


def checkpoint_bytes(spec, optimizer: str | None = None, *, weight_bytes: float = 2.0,
                     save: str = "fully-parallel", tp: int | None = None, pp: int | None = None,
                     cp: int | None = None, dp: int | None = None, zero: int | None = None,
                     fsdp: bool | None = None) -> CheckpointSize:
    """Size of one full training checkpoint and its spread over ranks.

    Parameters
    ----------
    spec : Scenario (model, optimizer and parallelism from it), ModelSpec or preset name
    optimizer : "adamw" | "adam" | "muon" | "sgd"; default the Scenario's, else "adamw".
        AdamW saves an fp32 master copy and two moments (12 B/param, ZeRO's accounting);
        Muon one momentum and the master copy (8 B/param) on weight matrices and AdamW's 12 B
        on embeddings, output layer and 1-D parameters (norms, scales)
    weight_bytes : bytes per saved working weight [B/param] (bf16: 2)
    save : "fully-parallel" or "replica", see :data:`CHECKPOINT_SAVES`
    tp, pp, cp, dp, zero, fsdp : parallelism [-]; default the Scenario's, else 1, 1, 1, 1, 1, False

    Returns
    -------
    CheckpointSize : total, weights and optimizer bytes [bytes] and the sharding that
    decides the bytes each node writes (:meth:`CheckpointSize.max_node_bytes`) and reads.

    Notes
    -----
    total = P · weight_bytes + Σ_groups P_g · optimizer_bytes(g). Gradients and activations
    are not saved. Parameter groups come from ``ModelSpec.param_breakdown()``.

    References
    ----------
    ZeRO (Rajbhandari et al.), 2 + 2 + 12 bytes per parameter: https://arxiv.org/abs/1910.02054 ;
    Muon keeps one momentum buffer per matrix: https://kellerjordan.github.io/posts/muon/

    Examples
    --------
    >>> c = checkpoint_bytes("zaya1-base", "adamw")
    >>> round(c.total_bytes / c.weights_bytes * 2, 1)   # bytes per parameter
    14.0
    >>> m = checkpoint_bytes("zaya1-base", "muon")
    >>> m.total_bytes < c.total_bytes
    True
    """
    from .scenario import Scenario

    sc = spec if isinstance(spec, Scenario) else None
    if sc is not None:
        model = sc.model_spec
        par, tr = sc.parallelism, sc.training
        optimizer = tr.optimizer if optimizer is None else optimizer
        tp = par.tp if tp is None else tp
        pp = par.pp if pp is None else pp
        cp = par.cp if cp is None else cp
        dp = par.dp if dp is None else dp
        zero = par.zero if zero is None else zero
        fsdp = par.fsdp if fsdp is None else fsdp
    elif isinstance(spec, str) or hasattr(spec, "param_breakdown"):
        model = _spec(spec)
    else:
        raise ValidationError(
            f"spec = {spec!r}: expected a Scenario, a ModelSpec or a model preset name")
    optimizer = "adamw" if optimizer is None else optimizer
    if not isinstance(optimizer, str) or optimizer not in OPTIMIZER_STATE_BYTES:
        raise unknown("optimizer", optimizer, OPTIMIZER_STATE_BYTES)
    if save not in CHECKPOINT_SAVES:
        raise unknown("checkpoint save", save, CHECKPOINT_SAVES)
    wb = check_positive("weight_bytes", weight_bytes)
    tp, pp, cp, dp = (_int_at_least_one(n, v if v is not None else 1)
                      for n, v in (("tp", tp), ("pp", pp), ("cp", cp), ("dp", dp)))
    zero = 1 if zero is None else zero
    if isinstance(zero, bool) or not isinstance(zero, int) or not 0 <= zero <= 3:
        raise ValidationError(f"zero = {zero!r}: allowed 0, 1, 2 or 3")
    fsdp = False if fsdp is None else fsdp
    if not isinstance(fsdp, bool):
        raise ValidationError(f"fsdp = {fsdp!r}: expected True or False")

    groups = {r["component"]: float(r["params_total"])
              for r in model.param_breakdown().iter_rows(named=True)}
    if model.params_mtp:      # multi-token-prediction modules are trained and saved too (weight matrices)
        groups["mtp"] = float(model.params_mtp)
    params = sum(groups.values())
    adam = OPTIMIZER_STATE_BYTES["adamw"]
    if optimizer == "muon":
        opt = sum(p * (adam if g in _MUON_ADAMW_GROUPS else OPTIMIZER_STATE_BYTES["muon"])
                  for g, p in groups.items())
    else:
        opt = params * OPTIMIZER_STATE_BYTES[optimizer]
    weights = params * wb
    return CheckpointSize(weights + opt, weights, opt, tp * pp, dp * cp, zero, fsdp,
                          optimizer, save)
