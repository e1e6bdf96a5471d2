"""Activation memory: what one layer, one multi-token-prediction module and the loss keep for
backward, per micro-batch and GPU [bytes].

Owns Korthikanti et al. 2022's GPT-layer formula (:func:`korthikanti_activation_bytes`), its
generalisation to GQA/MLA/CCA attention, gated MLPs, MoE and Mamba2 layers under every recompute
mode (:func:`activation_bytes_per_layer`) and what fine-grained activation offloading moves to
host memory (:func:`offloaded_bytes_per_layer`, :data:`MIN_OFFLOADED_ELEMENTS`), the MTP modules
(:func:`mtp_activation_bytes`, :func:`mtp_modules_recomputed`), the logits at the loss
(:func:`loss_logits_bytes`), the byte widths FP8 training changes (:func:`saved_gemm_input_bytes`,
:func:`fp8_weight_copy_bytes`, :data:`FP8_PRECISIONS`), the expert-TP gather
(:func:`moe_etp_gather_bytes`), the selective-recompute modes (:data:`SELECTIVE_MODES`) and the
widths context parallelism exchanges (:func:`cp_exchange_widths`).
:mod:`infra_lab.memory.training` sums them per pipeline stage.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from .. import _validate as V
from .. import catalog
from ..errors import ValidationError, check_positive, unknown
from ..scenario import RECOMPUTE, check_recompute_num_layers
from ._common import _spec, _stack_param

if TYPE_CHECKING:
    from ..models import ModelSpec
    from ..scenario import Scenario


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


def activation_bytes_per_layer(spec: ModelSpec | Scenario | str | dict[str, Any], seq_len: int,
                               micro_batch: int = 1, tp: int = 1, *,
                               sequence_parallel: bool = False, recompute: str = "none",
                               flash_attention: bool = True, dropout: bool = False,
                               cp: int = 1, kind: str | None = None,
                               activation_bytes: float = 2.0, selective_mode: str = "attention",
                               recompute_modules: tuple | None = None,
                               gemm_input_bytes: float | None = None, etp: int = 1,
                               offload_modules: tuple | None = None,
                               sac_saves_attention: bool = True,
                               min_offloaded_elements: float | None = None) -> dict[str, float]:
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
    min_offloaded_elements : smallest saved tensor an offload module copies to host
        [elements]; None: :data:`MIN_OFFLOADED_ELEMENTS` (Megatron-Core's default
        ``min_offloaded_tensor_size``, data/stacks.csv)
    sac_saves_attention : with ``selective_mode = "op"``, whether the attention kernel's op is
        in the per-op SAC save list (True: its 16-bit output and fp32 log-sum-exp are stored).
        False (``training.sac_recompute_attention``: torchtitan before PR #2095 on a device
        whose SDPA resolves to cuDNN) stores neither: the op is recomputed in backward, from
        the saved query / value projections and the recomputed key, and every SDPA backend
        returns the same two tensors for its backward (``_scaled_dot_product_cudnn_attention``
        -> output, logsumexp, ... as ``_scaled_dot_product_flash_attention``,
        https://github.com/pytorch/pytorch/blob/8904ba638726f8c9a5aff5977c4aa76c9d2edfa6/aten/src/ATen/native/native_functions.yaml#L14958 ).
        torchtitan's B200 log of that change (PR #1196, Llama 3 8B, 8,192 tokens per GPU, 32
        layers) reserved 46.39 GiB with flash and 44.59 GiB with cuDNN: −1.80 GiB against the
        2.03 GiB of output and log-sum-exp counted here. Other modes ignore it.

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

    Examples
    --------
    >>> import infra_lab as il
    >>> spec = il.models.get("llama3-8b")
    >>> b = il.memory.activation_bytes_per_layer(spec, 4096, micro_batch=1, tp=1)
    >>> sorted(b), round(b["dense"] / 2**30, 2)          # GiB per layer per micro-batch
    (['dense'], 0.53)
    """
    stored, off = _layer_bytes(spec, seq_len, micro_batch, tp, sequence_parallel, recompute, flash_attention,
                               dropout, cp, kind, activation_bytes, selective_mode, recompute_modules,
                               gemm_input_bytes, etp, offload_modules, sac_saves_attention,
                               min_offloaded_elements)
    return {k: stored[k] - off[k] for k in stored}


def mtp_activation_bytes(spec: ModelSpec | Scenario | str | dict[str, Any], seq_len: int,
                         micro_batch: int = 1, tp: int = 1, *,
                         sequence_parallel: bool = False, recompute: str = "none", cp: int = 1,
                         activation_bytes: float = 2.0, **kw: Any) -> float:
    """Activation bytes one multi-token-prediction module stores for backward, one micro-batch
    [bytes]; 0 for a model without MTP. Its transformer layer (``spec.mtp_layer_kind()``) as
    :func:`activation_bytes_per_layer` stores it (``kw``: that function's other arguments),
    plus the module's own inputs: without full recompute the two RMSNorm inputs (the hidden
    state and the embedding of the shifted tokens) and the concatenated 2h input of the
    projection, 4·tokens·h elements; under full recompute (Megatron-Core checkpoints the
    whole module, when it recomputes it: :func:`mtp_modules_recomputed`) its two inputs, one more tokens·h beyond the layer input. Elements sharded
    over tp with sequence parallelism, at ``activation_bytes`` each. The head's final-norm
    input, the output layer's input and logits are the stage's
    (:func:`infra_lab._kernels.memory.stage_activations`).
    APPROXIMATION: the projection input is counted at the activation width (not FP8's saved
    GEMM inputs) and never offloaded.

    Examples
    --------
    >>> import infra_lab as il
    >>> il.memory.mtp_activation_bytes(il.models.get("llama3-8b"), 4096)   # no MTP module
    0.0
    >>> round(il.memory.mtp_activation_bytes(il.models.get("deepseek-v3"), 4096, tp=8, sequence_parallel=True) / 2**30, 2)
    0.24
    """
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
    the package's every-layer full recompute is the uniform method with 1 layer a unit).

    Parameters
    ----------
    n_mtp : multi-token-prediction modules on the output stage [-] (the model's mtp_modules)

    Examples
    --------
    >>> import infra_lab as il
    >>> il.memory.mtp_modules_recomputed(1), il.memory.mtp_modules_recomputed(1, recompute_num_layers=1)
    (1, 0)
    """
    n = V.integer("n_mtp", n_mtp, lo=0)      # the model's multi-token-prediction modules
    check_recompute_num_layers(recompute_num_layers, "recompute_num_layers")
    return n if recompute_num_layers is None else 0


def offloaded_bytes_per_layer(spec: ModelSpec | Scenario | str | dict[str, Any], seq_len: int,
                              micro_batch: int = 1, tp: int = 1, *,
                              sequence_parallel: bool = False, recompute: str = "none",
                              flash_attention: bool = True, dropout: bool = False,
                              cp: int = 1, kind: str | None = None,
                              activation_bytes: float = 2.0, selective_mode: str = "attention",
                              recompute_modules: tuple | None = None,
                              gemm_input_bytes: float | None = None, etp: int = 1,
                              offload_modules: tuple | None = None,
                              sac_saves_attention: bool = True,
                              min_offloaded_elements: float | None = None) -> dict[str, float]:
    """Activation bytes one layer of each kind copies to host memory per micro-batch under
    Megatron-Core's fine-grained activation offloading [bytes per layer per micro-batch, per
    GPU] (same arguments as :func:`activation_bytes_per_layer`, whose stored bytes exclude these).

    Each module in ``offload_modules`` (:data:`infra_lab.scenario.OFFLOAD_MODULES`) offloads
    the tensors autograd saves inside it (``saved_tensors_hooks`` around the module's
    forward), of at least ``min_offloaded_elements`` (Megatron's ``min_offloaded_tensor_size``;
    default None: :data:`MIN_OFFLOADED_ELEMENTS`, 2^20, read from data/stacks.csv; smaller ones
    stay): attn_norm — the layer input (the norm's input, residual stream);
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

    Examples
    --------
    >>> import infra_lab as il
    >>> spec = il.models.get("llama3-8b")
    >>> il.memory.offloaded_bytes_per_layer(spec, 4096)      # nothing offloaded by default
    {'dense': 0.0}
    """
    _, off = _layer_bytes(spec, seq_len, micro_batch, tp, sequence_parallel, recompute, flash_attention,
                          dropout, cp, kind, activation_bytes, selective_mode, recompute_modules,
                          gemm_input_bytes, etp, offload_modules, sac_saves_attention,
                          min_offloaded_elements)
    return off


OFFLOAD_STACK = "megatron-core-cuda"
"""The training stack whose ``min_offloaded_tensor_size`` (data/stacks.csv) is the default of
:func:`activation_bytes_per_layer` and :func:`offloaded_bytes_per_layer` (the ROCm stack carries
the same value: vendor-symmetric)."""


def _stack_min_offloaded() -> int:
    from .. import stacks

    return int(stacks.params(OFFLOAD_STACK)["min_offloaded_tensor_size"])


MIN_OFFLOADED_ELEMENTS = _stack_min_offloaded()
"""Megatron-Core's default ``min_offloaded_tensor_size`` [elements], the
``min_offloaded_tensor_size`` row of :data:`OFFLOAD_STACK` in data/stacks.csv (2^20; source:
megatron/core/pipeline_parallel/fine_grained_activation_offload.py at a pinned Megatron-LM
commit, the URL of that row): smaller saved tensors stay on the GPU."""


def _min_offloaded(v) -> float:
    """``min_offloaded_elements``: None (:data:`MIN_OFFLOADED_ELEMENTS`) or a number of elements >= 0."""
    if v is None:
        return MIN_OFFLOADED_ELEMENTS
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or v < 0:
        raise ValidationError(f"min_offloaded_elements = {v!r:.40}: expected None or a number of tensor "
                              "elements >= 0")
    return float(v)


def _offload_set(offload_modules) -> frozenset:
    if offload_modules is None:
        return frozenset()
    from ..scenario import OFFLOAD_MODULES

    if isinstance(offload_modules, str) or not isinstance(offload_modules, (list, tuple, frozenset, set)):
        raise ValidationError(f"offload_modules = {offload_modules!r:.60}: expected a list of "
                              f"{', '.join(OFFLOAD_MODULES)}")
    for x in offload_modules:
        if not isinstance(x, str) or x not in OFFLOAD_MODULES:
            raise unknown("offload module", x, OFFLOAD_MODULES, where="offload_modules")
    return frozenset(offload_modules)


def _layer_bytes(spec, seq_len, micro_batch, tp, sequence_parallel, recompute, flash_attention, dropout, cp,
                 kind, activation_bytes, selective_mode, recompute_modules, gemm_input_bytes, etp, offload_modules,
                 sac_saves_attention=True, min_offloaded_elements=None):
    """(stored bytes, of which offloaded) per layer kind: the body of
    :func:`activation_bytes_per_layer` and :func:`offloaded_bytes_per_layer`."""
    spec = _spec(spec)
    for name, v in (("seq_len", seq_len), ("micro_batch", micro_batch), ("tp", tp), ("cp", cp), ("etp", etp)):
        check_positive(name, v, integer=True)
    # the bounds of training.seq_len / micro_batch (compute.layer_ops) and of a parallel size
    # (max_world_gpus): micro_batch = 1e300 returned inf bytes
    for name, v, hi in (("seq_len", seq_len, 2**24), ("micro_batch", micro_batch, 2**16)):
        V.integer(name, v, hi=hi)
    from ..fabric import constant

    for name, v in (("tp", tp), ("cp", cp), ("etp", etp)):
        V.integer(name, v, hi=int(constant("max_world_gpus")))
    if recompute not in RECOMPUTE:
        raise unknown("recompute", recompute, RECOMPUTE)
    if not isinstance(selective_mode, str) or selective_mode not in SELECTIVE_MODES:
        raise unknown("selective_mode", selective_mode, SELECTIVE_MODES)
    for name, v in (("sequence_parallel", sequence_parallel), ("flash_attention", flash_attention),
                    ("dropout", dropout), ("sac_saves_attention", sac_saves_attention)):
        if not isinstance(v, bool):
            raise ValidationError(f"{name} = {v!r}: expected True or False")
    if isinstance(activation_bytes, bool) or not isinstance(activation_bytes, (int, float)) \
            or not math.isfinite(activation_bytes) or not 0 < activation_bytes <= 16:
        raise ValidationError(f"activation_bytes = {activation_bytes!r:.40}: expected a number of bytes per "
                              "element in (0, 16]")
    if kind is not None and (not isinstance(kind, str) or kind not in ("dense", "moe", "mamba2", "hybrid")):
        raise unknown("layer kind", kind, ["dense", "moe", "mamba2", "hybrid"], where="kind")
    if recompute_modules is not None:
        from ..scenario import RECOMPUTE_MODULES

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
    min_off = _min_offloaded(min_offloaded_elements)
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
        if module in offl and elements >= min_off:
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
        """Per-op SAC: layer input + attention output + half of the GEMM outputs stored (the
        attention output and its fp32 log-sum-exp only when the attention op is in the save
        list, ``sac_saves_attention``)."""
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
        attn = (e * out + 4.0 * a) / t if sac_saves_attention else 0.0
        return T * (e * (h / rep + 0.5 * g) + attn)

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
    backward, so 1/N of them are live; a slice holds at least one token, so more slices than
    ``tokens`` leave one token's logits live.
    Sources: https://github.com/NVIDIA/Megatron-LM/blob/main/megatron/core/tensor_parallel/cross_entropy.py ,
    https://github.com/NVIDIA/TransformerEngine/blob/main/transformer_engine/pytorch/cross_entropy.py ,
    https://github.com/pytorch/torchtitan/pull/1033 (torchtitan/components/loss.py)

    Parameters
    ----------
    vocab : the vocabulary size [tokens] (the model's vocab)

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
    # bounds as elsewhere (tokens as compute.moe_load_imbalance, a vocabulary as a weight
    # matrix side, byte widths as memory.training_memory): no product of them overflows
    tokens = V.positive("tokens", tokens, allow_zero=True)
    if tokens > 2**40:
        raise ValidationError(f"tokens = {tokens!r}: allowed 0 .. 2^40 = {2**40:,} tokens per GPU")
    vocab, tp = V.integer("vocab", vocab, hi=2**24), V.integer("tp", tp)
    loss_chunks = V.integer("loss_chunks", loss_chunks)
    activation_bytes = V.positive("activation_bytes", activation_bytes, hi=16.0)
    fp32_copies = V.positive("fp32_copies", fp32_copies, allow_zero=True, hi=16.0)
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
    if loss_chunks > tokens >= 1.0:   # no slice below one token (training.loss_chunks <= seq_len·micro_batch)
        loss_chunks = tokens
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
    caches = (_stack_param(stack_params, "fp8_caches_weights")   # a dict without it: no cached copy
              if not isinstance(stack_params, Mapping) or "fp8_caches_weights" in stack_params else 0.0)
    if precision not in FP8_PRECISIONS or not caches:
        return 0.0
    copy = 2.0 * catalog.format_bytes(precision)
    return max(copy - _stack_param(stack_params, "weight_bytes"), 0.0) if fp8_param_gather else copy


FP8_PRECISIONS = ("fp8", "mxfp8")
"""Training precisions whose GEMMs take 8-bit operands (:func:`saved_gemm_input_bytes`)."""


def moe_etp_gather_bytes(spec: ModelSpec | Scenario | str | dict[str, Any], tokens_per_rank: float,
                         etp: int, gemm_input_bytes: float = 2.0) -> float:
    """Extra FC1-input bytes one MoE layer stores per micro-batch when the experts are tensor-
    parallel over etp ranks [bytes]: Megatron-Core's dispatcher all-gathers the tokens each
    rank received over the etp ranks before the experts' column-parallel FC1, which saves that
    gathered input — (etp − 1) more routed copies of the rank's tokens (s/tp each under the
    sequence parallelism Megatron-Core requires for MoE with tp > 1).
    Source: ``MoEAlltoAllTokenDispatcher`` (all-gather over the expert-TP group),
    https://github.com/NVIDIA/Megatron-LM/blob/main/megatron/core/transformer/moe/token_dispatcher.py

    Parameters
    ----------
    tokens_per_rank : tokens of one micro-batch on the rank [tokens] (s/tp under sequence
        parallelism)
    etp : the expert tensor-parallel size [-]

    Examples
    --------
    >>> moe_etp_gather_bytes("mixtral-8x7b", 4096, 1)
    0.0
    >>> moe_etp_gather_bytes("mixtral-8x7b", 4096, 2) == 4096 * 2 * 4096 * 2.0   # top-2, h = 4096
    True
    """
    spec = _spec(spec)
    # checked: etp = 0 or -3 returned 0 bytes as if the experts were not tensor-parallel
    etp = V.integer("etp", etp)
    tokens_per_rank = V.positive("tokens_per_rank", tokens_per_rank, allow_zero=True)
    gemm_input_bytes = V.positive("gemm_input_bytes", gemm_input_bytes, hi=16.0)
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

    Examples
    --------
    >>> import infra_lab as il
    >>> il.memory.saved_gemm_input_bytes("bf16", {})
    >>> il.memory.saved_gemm_input_bytes("fp8", {"fp8_saves_quantized_inputs": 1.0})
    1.0
    """
    if precision not in FP8_PRECISIONS or not stack_params.get("fp8_saves_quantized_inputs", 0.0):
        return None
    return catalog.format_bytes(precision)


SELECTIVE_MODES = ("attention", "op")
"""What ``recompute = "selective"`` recomputes (the stack's ``selective_recompute`` code 0 / 1):
Megatron's attention-core recomputation, or PyTorch's per-op selective activation
checkpointing (torchtitan's default ``op`` mode)."""


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
