"""Inference memory: the KV cache and fixed per-sequence state of a model
(:func:`kv_bytes_per_token`, :func:`kv_cached_tokens` with sliding windows,
:func:`kv_cache_bytes`), the per-GPU memory of serving it (:func:`inference_memory`) and the
largest batch that fits (:func:`max_inference_batch`).
"""

from __future__ import annotations

import functools
import math
from typing import TYPE_CHECKING, Any

import polars as pl

from .. import _validate as V
from .. import catalog
from ..errors import ValidationError, check_positive
from ..units import GiB
from ._common import _spec
from .weights import weight_bytes

if TYPE_CHECKING:
    from ..models import ModelSpec
    from ..scenario import Scenario

RESERVE_STACK = "vllm-cuda"
"""The serving stack whose ``memory_utilization`` (data/stacks.csv) sets the default
``reserve_fraction`` of :func:`inference_memory` and :func:`max_inference_batch`."""


def _default_reserve_fraction() -> float:
    from decimal import Decimal

    from .. import stacks

    u = stacks.params(RESERVE_STACK)["memory_utilization"]
    return float(Decimal(1) - Decimal(repr(u)))    # decimal 1 - 0.9 = 0.1, not 0.09999999999999998


DEFAULT_RESERVE_FRACTION = _default_reserve_fraction()
"""Default allocator reserve of inference memory [fraction of the memory the driver exposes]:
``1 - memory_utilization`` of the :data:`RESERVE_STACK` row of data/stacks.csv, vLLM's default
``gpu_memory_utilization`` = 0.9 (https://docs.vllm.ai/en/latest/configuration/engine_args.html),
so 0.10."""


def _bytes_of(precision: str, field: str = "precision") -> float:
    """Bytes per element of a KV / state precision: :func:`infra_lab.catalog.format_bytes`
    (the one owner of bytes per element, data/serving/number_formats.csv); an unknown one is
    refused naming ``field``."""
    return catalog.format_bytes(precision, field=field)


def _kv_precision(precision: str, kv_precision: str | None) -> str:
    """The KV cache's precision: ``kv_precision``, or ``precision`` when it is None (an empty
    or misspelt name is refused naming ``kv_precision``, not read as "the weights'")."""
    _bytes_of(precision, "precision")
    if kv_precision is None:
        return precision
    _bytes_of(kv_precision, "kv_precision")
    return kv_precision


def _kv_elements_per_layer(spec) -> float:
    """KV-cache elements one token adds to one attention layer [elements]."""
    if spec.attention == "mla":
        return float(spec.kv_lora_rank + spec.qk_rope_head_dim)
    return float(2 * spec.kv_heads * spec.head_dim)


def kv_bytes_per_token(spec: ModelSpec | Scenario | str | dict[str, Any],
                       precision: str = "bf16") -> float:
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


def kv_cached_tokens(spec: ModelSpec | Scenario | str | dict[str, Any], tokens: float) -> float:
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
    """Fixed per-sequence state [bytes]: Mamba2 SSM + conv state (fp32 SSM state, its bytes
    ``catalog.format_bytes("fp32")``), CCA conv."""
    spec = _spec(spec)
    b = _bytes_of(precision)
    kinds = spec.layer_kinds()
    s = 0.0
    n_ssm = sum(1 for k in kinds if k in ("mamba2", "hybrid"))
    if n_ssm:
        conv_dim = spec.d_inner + 2 * spec.ssm_groups * spec.ssm_state
        s += n_ssm * (spec.ssm_heads * spec.ssm_head_dim * spec.ssm_state * catalog.format_bytes("fp32")
                      + conv_dim * (spec.ssm_conv - 1) * b)
    if spec.attention == "cca":
        n_attn = sum(1 for k in kinds if k in ("dense", "moe"))
        c = (spec.heads + spec.kv_heads) * spec.head_dim
        s += n_attn * c * (spec.cca_time0 + spec.cca_time1) * b
    return s


MAX_TOKENS = 2**40
"""The most tokens per sequence and sequences in one KV-cache or inference-memory call, each
(2^40, as compute.moe_load_imbalance's tokens): their product times a token's bytes stays a
finite float (1e300 sequences gave an infinite cache)."""


def _tokens_and_batch(field: str, tokens, batch, *, allow_zero: bool = False, integer: bool = False) -> None:
    for name, v, z, i in ((field, tokens, allow_zero, integer), ("batch", batch, False, True)):
        x = check_positive(name, v, allow_zero=z, integer=i)
        if x > MAX_TOKENS:
            raise ValidationError(f"{name} = {v!r}: allowed at most 2^40 = {MAX_TOKENS:,}")


def kv_cache_bytes(spec: ModelSpec | Scenario | str | dict[str, Any], tokens: int, batch: int = 1,
                   precision: str = "bf16") -> float:
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
    _tokens_and_batch("tokens", tokens, batch, allow_zero=True)
    spec = _spec(spec)
    return batch * (kv_cached_tokens(spec, tokens) * kv_bytes_per_token(spec, precision)
                    + _state_bytes_per_sequence(spec, precision))


VLLM_KV_HEADS_URL = "https://github.com/vllm-project/vllm/blob/main/vllm/config/model.py"
"""vLLM's ``ModelConfig.get_num_kv_heads`` (KV heads per GPU: 1 under MLA, else
max(1, kv_heads // tensor_parallel_size), "we will replicate the KV heads in the case where the
number of KV heads is smaller than the tensor parallel size") and
``verify_with_parallel_config`` (the attention heads must divide by the tensor-parallel size):
the source of :func:`kv_share_per_gpu`."""

TP_RULE_URLS = (
    "https://github.com/vllm-project/vllm/blob/e06c9ba2a6ea923a84add30f5dafaea126429b81/vllm/model_executor/models/llama.py",
    "https://github.com/vllm-project/vllm/blob/0036d38de46c5d48fdedeb658dedc0fc0f95677d/vllm/model_executor/layers/linear.py",
    "https://github.com/sgl-project/sglang/blob/bf7a0e237e8d5b2ce5402f5d2fafce31e012dbdf/python/sglang/srt/models/llama.py",
)
"""The tensor-parallel rule of grouped-query attention in the engines' source:
``LlamaAttention.__init__`` of vLLM (first URL) and of SGLang (third) asserts
``total_num_heads % tp_size == 0`` and then, with at least as many KV heads as GPUs,
``total_num_kv_heads % tp_size == 0`` ("we partition the KV heads"), else
``tp_size % total_num_kv_heads == 0`` ("we replicate the KV heads");
vLLM's ``QKVParallelLinear.__init__`` (second) divides the same way
(``divide(total_num_kv_heads, tp_size)`` or ``divide(tp_size, total_num_kv_heads)``, each
asserting an exact division). DeepSeek's MLA has one latent, not KV heads: only the attention
heads are split. The source of :func:`tp_accepted`."""


def tp_accepted(spec: ModelSpec | Scenario | str | dict[str, Any], tp: int) -> bool:
    """Whether vLLM and SGLang run the model's attention over ``tp`` tensor-parallel GPUs:
    ``tp`` divides the attention heads and, for grouped-query / multi-head attention (the KV
    heads of GQA, MHA and CCA), either divides the KV heads (each GPU holds kv_heads/tp) or is
    a multiple of them (each KV head replicated on tp/kv_heads GPUs) (:data:`TP_RULE_URLS`).
    MLA keeps one latent on every GPU: only the heads rule applies. The one owner of the rule:
    :func:`inference_memory`, :func:`max_inference_batch`, :func:`kv_share_per_gpu`,
    ``il.serve`` (the Scenario's ``serving.tp``) and ``il.serve_search`` (the splits it tries)
    read it.

    Examples
    --------
    >>> import infra_lab as il
    >>> m = il.models.get("mixtral-8x22b")                   # 48 heads, 8 KV heads
    >>> [t for t in (1, 2, 3, 4, 6, 8, 12, 16) if tp_accepted(m, t)]
    [1, 2, 4, 8, 16]
    """
    spec = _spec(spec)
    tp = V.integer("tp", tp)
    if tp < 1 or spec.heads % tp:
        return False
    kv = spec.kv_heads
    if spec.attention == "mla" or kv <= 0:
        return True
    return kv % tp == 0 or tp % kv == 0


def tp_sizes(spec: ModelSpec | Scenario | str | dict[str, Any]) -> list[int]:
    """Every tensor-parallel size :func:`tp_accepted` takes for the model [GPUs], ascending.

    Examples
    --------
    >>> import infra_lab as il
    >>> il.memory.tp_sizes("qwen2.5-7b")                  # 28 heads, 4 KV heads: not 7 or 14
    [1, 2, 4, 28]
    """
    spec = _spec(spec)
    return [t for t in range(1, spec.heads + 1) if tp_accepted(spec, t)]


def _heads_text(spec) -> tuple[str, int, str]:
    """(the model's name, its KV heads, ``' (N KV heads)'`` where grouped-query attention has
    fewer KV heads than heads, else ``''``): the words :func:`check_tp` and
    :func:`check_training_tp` name a refused tp with."""
    kv = spec.kv_heads
    gqa = spec.attention != "mla" and kv > 0
    return spec.name or "the model", kv, (f" ({kv} KV heads)" if gqa and kv != spec.heads else "")


def check_tp(spec, tp: int, field: str = "tp") -> int:
    """``tp`` when :func:`tp_accepted`, else a :class:`~infra_lab.errors.ValidationError`
    naming ``field``, the value, the model's attention and KV heads, which half of the rule it
    breaks and the sizes allowed (:func:`tp_sizes`)."""
    spec = _spec(spec)   # a preset name, a Scenario or a [model] table, as tp_accepted takes it
    if tp_accepted(spec, tp):
        return tp
    name, kv, kvs = _heads_text(spec)
    if spec.heads % tp:
        why = (f"tensor parallelism splits the {spec.heads} attention heads of {name}{kvs} over the GPUs, so "
               "tp must divide them (vLLM and SGLang refuse otherwise)")
    else:
        why = (f"tensor parallelism splits the {spec.heads} attention heads of {name}{kvs} over the GPUs: {tp} "
               f"divides the attention heads but neither divides the {kv} KV heads nor is a multiple of them "
               f"(each GPU holds whole KV heads, replicated when tp exceeds them; vLLM and SGLang refuse "
               f"otherwise)")
    raise ValidationError(f"{field} = {tp}: {why}; allowed {', '.join(map(str, tp_sizes(spec)))}")


TRAINING_TP_RULE_URLS = {
    "megatron": "https://github.com/NVIDIA/Megatron-LM/blob/d98e8a64ddf34856e74b24714e3bedb2f5a39553/"
                "megatron/core/transformer/transformer_config.py#L1446-L1468",
    "torchtitan": "https://github.com/pytorch/torchtitan/blob/b5bcd76c66d0acb1a08b176d9639425bc55e0b2a/"
                  "torchtitan/models/common/decoder.py#L185-L199",
}
"""The tensor-parallel rule of the training frameworks in their source, by framework family.
Megatron-Core's ``TransformerConfig.__post_init__`` raises unless ``num_attention_heads`` is a
multiple of ``tensor_model_parallel_size`` and ``num_query_groups`` (the KV heads; set to the
attention heads when not given, as for MHA and MLA) is a multiple *or a divisor* of it: the
"or a divisor" half (QKV activation sub-sharding, KV heads replicated) arrived in Megatron-LM
commit f7dfb9979519b5397d98512aef223bae214e40df (2025-12-06, PR #2565); before it
``num_query_groups % tensor_model_parallel_size == 0`` alone. Primus trains on Megatron-LM as
a submodule (pinned at d3528a21301db2d12e92912b3ec025dc8a2ed4d6, 2026-03, which has the
relaxed rule) and adds no check of its own. torchtitan's decoder ``Config.update_from_config``
raises unless ``tensor_parallel_degree`` divides ``n_heads`` and ``n_kv_heads`` (the heads when
the attention has no KV heads, as DeepSeek-V3's MLA): no replication of KV heads. The source
of :func:`training_tp_accepted`."""

TRAINING_TP_FAMILIES = ("megatron", "torchtitan")
"""The framework families whose tensor-parallel rule :func:`training_tp_accepted` knows, matched
in a training stack's ``framework`` (data/stack_info.csv)."""


def training_tp_family(stack: str) -> str:
    """The framework family (:data:`TRAINING_TP_FAMILIES`) of training stack ``stack``, read
    from its ``framework`` in data/stack_info.csv; a stack of another framework is refused
    naming the families known."""
    if not isinstance(stack, str):
        from .. import stacks

        stacks.canonical(stack, "training", "stack")    # its error names the field and the stacks
    return _training_tp_family(stack)


@functools.lru_cache(maxsize=64)
def _training_tp_family(stack: str) -> str:
    from .. import stacks

    name = stacks.canonical(stack, "training", "stack")
    fw = stacks.info(name)["framework"]
    for fam in TRAINING_TP_FAMILIES:
        if fam in fw.lower():
            return fam
    raise ValidationError(f"stack = {name!r} ({fw}): no tensor-parallel rule is known for this framework; "
                          f"allowed frameworks: {', '.join(TRAINING_TP_FAMILIES)}")


def training_tp_accepted(spec: ModelSpec | Scenario | str | dict[str, Any], tp: int,
                         stack: str) -> bool:
    """Whether the training framework of ``stack`` runs the model's attention over ``tp``
    tensor-parallel GPUs (:data:`TRAINING_TP_RULE_URLS`). Megatron-Core (the megatron-* stacks,
    Primus included) takes the serving engines' rule, :func:`tp_accepted`: ``tp`` divides the
    attention heads and divides the KV heads or is a multiple of them. torchtitan refuses the
    multiple: ``tp`` divides the attention heads and the KV heads. Both split MHA's heads (KV heads
    = heads) and DeepSeek's MLA (no KV heads; Megatron-Core's query groups = heads) by the heads
    rule alone. The one owner of the training rule: the Scenario's ``parallelism.tp`` check and
    ``il.search``'s tensor-parallel sizes read it.

    Examples
    --------
    >>> import infra_lab as il
    >>> m = il.models.get("llama3-70b")                        # 64 heads, 8 KV heads
    >>> training_tp_accepted(m, 16, "megatron-core-cuda"), training_tp_accepted(m, 16, "torchtitan-cuda")
    (True, False)
    """
    fam = training_tp_family(stack)
    if fam == "megatron":
        return tp_accepted(spec, tp)
    spec = _spec(spec)
    tp = V.integer("tp", tp)
    if tp < 1 or spec.heads % tp:
        return False
    kv = spec.kv_heads
    return spec.attention == "mla" or kv <= 0 or kv % tp == 0


def training_tp_sizes(spec: ModelSpec | Scenario | str | dict[str, Any], stack: str) -> list[int]:
    """Every tensor-parallel size :func:`training_tp_accepted` takes for the model on ``stack``'s
    framework [GPUs], ascending.

    Examples
    --------
    >>> import infra_lab as il
    >>> il.memory.training_tp_sizes("qwen3-235b-a22b", "torchtitan-cuda")   # 64 heads, 4 KV heads
    [1, 2, 4]
    """
    spec = _spec(spec)
    return [t for t in range(1, spec.heads + 1) if training_tp_accepted(spec, t, stack)]


def check_training_tp(spec, tp: int, stack: str, field: str = "parallelism.tp") -> int:
    """``tp`` when :func:`training_tp_accepted`, else a :class:`~infra_lab.errors.ValidationError`
    naming ``field``, the value, the model's attention and KV heads, the framework and which half
    of its rule ``tp`` breaks, and the sizes allowed (:func:`training_tp_sizes`)."""
    if training_tp_accepted(spec, tp, stack):
        return tp
    spec = _spec(spec)
    fam = training_tp_family(stack)
    fw = "Megatron-Core" if fam == "megatron" else "torchtitan"
    name, kv, kvs = _heads_text(spec)
    if spec.heads % tp:
        why = (f"tensor parallelism splits the {spec.heads} attention heads of {name}{kvs} over the GPUs, so "
               f"tp must divide them ({fw}, stack {stack!r}, refuses otherwise)")
    elif fam == "megatron":
        why = (f"{tp} divides the {spec.heads} attention heads of {name} but neither divides its {kv} KV heads "
               f"(query groups) nor is a multiple of them ({fw}, stack {stack!r}, refuses otherwise)")
    else:
        why = (f"{tp} divides the {spec.heads} attention heads of {name} but not its {kv} KV heads ({fw}, stack "
               f"{stack!r}, shards whole KV heads and does not replicate them; Megatron-Core stacks take a "
               f"multiple of the KV heads)")
    raise ValidationError(f"{field} = {tp}: {why}; allowed {', '.join(map(str, training_tp_sizes(spec, stack)))}")


TORCHTITAN_ETP_URL = ("https://github.com/pytorch/torchtitan/blob/a2b5ee66ccb7dec7f4d746832b62780c94152d13/"
                      "torchtitan/distributed/parallel_dims.py#L77-L78")
"""torchtitan's ``ParallelDims._validate`` before expert tensor parallelism was deprecated
(commit c4b409af2bc7e9ad162531a708050ef53c79a9fb, 2026-04-30, PR #3167, is the next one):
``if ep > 1: assert etp == tp or etp == 1`` ("Currently we only support ETP=TP or ETP=1").
Megatron-Core takes any expert tensor-parallel size whose expert layout fits the ranks
(``initialize_model_parallel``: the world size a multiple of etp·ep·pp, i.e. ep·etp dividing
tp·cp·dp, the Scenario's ``ParallelismConfig`` check). The source of
:func:`training_etp_accepted`."""


def training_etp_accepted(etp: int, tp: int, ep: int, stack: str) -> bool:
    """Whether the training framework of ``stack`` lays routed experts out over ``etp``
    expert tensor-parallel GPUs next to ``tp`` tensor- and ``ep`` expert-parallel ones
    (:data:`TORCHTITAN_ETP_URL`): torchtitan only etp = 1 or etp = tp when ep > 1;
    Megatron-Core any etp (its layout rule, ep·etp dividing tp·cp·dp, is the
    Scenario's ``parallelism.ep·etp`` check and il.search's enumeration). The one owner of the
    rule: the Scenario's ``parallelism.etp`` check and ``il.search``'s etp values read it.

    Parameters
    ----------
    etp : the expert tensor-parallel size [-]
    ep : the expert-parallel size [-]

    Examples
    --------
    >>> training_etp_accepted(2, 4, 8, "torchtitan-cuda"), training_etp_accepted(2, 4, 8, "megatron-core-cuda")
    (False, True)
    """
    etp, tp, ep = (V.integer(k, v) for k, v in (("etp", etp), ("tp", tp), ("ep", ep)))
    if training_tp_family(stack) == "megatron" or ep <= 1:
        return True
    return etp in (1, tp)


def _tp_gpus(spec, gpus) -> int:
    """``gpus`` as a tensor-parallel size: an integer >= 1 (at most max_world_gpus) that
    :func:`tp_accepted` takes; refused by :func:`check_tp`."""
    from ..fabric import constant

    gpus = V.integer("gpus", gpus, hi=int(constant("max_world_gpus")))   # 1e300 GPUs would overflow
    return check_tp(spec, gpus, "gpus")


def kv_share_per_gpu(spec: ModelSpec | Scenario | str | dict[str, Any], tp: int) -> float:
    """The share of a token's KV cache [-] one of ``tp`` tensor-parallel GPUs holds: each GPU
    holds max(1, kv_heads // tp) of the kv_heads (vLLM replicates KV heads when there are fewer
    than GPUs) and MLA's latent whole (one "KV head", on every GPU): :data:`VLLM_KV_HEADS_URL`.
    A model without KV heads (no attention cache) splits evenly, 1/tp. The one owner of the
    split: :func:`inference_memory` and :func:`infra_lab.serve` (its kernel's per-tp input and
    the plain reference) read it.

    ``tp`` must be a size :func:`tp_accepted` takes (refused by :func:`check_tp` otherwise:
    max(1, kv_heads // tp) would hold, e.g., 1 of 8 KV heads at tp 6 where no engine runs).

    Examples
    --------
    >>> import infra_lab as il
    >>> m = il.models.get("llama3-70b")                      # 8 KV heads
    >>> [kv_share_per_gpu(m, t) for t in (1, 2, 8, 16)]
    [1.0, 0.5, 0.125, 0.125]
    """
    # the name, Scenario or [model] table the signature takes failed here with AttributeError
    # ('str' object has no attribute 'attention')
    spec = _spec(spec)
    check_tp(spec, tp)
    if spec.attention == "mla":
        return 1.0
    kv = spec.kv_heads
    return max(1, kv // tp) / kv if kv > 0 else 1.0 / tp


def _kv_per_gpu(spec, context: int, batch: int, kv_prec: str, gpus: int) -> float:
    """KV cache and per-sequence state on one of ``gpus`` tensor-parallel GPUs [bytes].

    The attention cache holds max(1, kv_heads // gpus) of the kv_heads on each GPU (vLLM
    replicates KV heads when there are fewer than GPUs) and the whole latent under MLA (one
    "KV head", on every GPU): :data:`VLLM_KV_HEADS_URL`. APPROXIMATE: the fixed recurrent state
    (Mamba2 SSM/conv, CCA conv) is taken as split evenly over the GPUs."""
    attn = batch * kv_cached_tokens(spec, context) * kv_bytes_per_token(spec, kv_prec)
    return attn * kv_share_per_gpu(spec, gpus) + batch * _state_bytes_per_sequence(spec, kv_prec) / gpus


def inference_memory(spec: ModelSpec | Scenario | str | dict[str, Any], accelerator: str,
                     context: int, batch: int = 1, gpus: int = 1,
                     precision: str = "bf16", kv_precision: str | None = None,
                     reserve_fraction: float = DEFAULT_RESERVE_FRACTION) -> pl.DataFrame:
    """Per-GPU inference memory of tensor parallelism over ``gpus``: the weights split evenly
    (APPROXIMATE: no replicated layer), the KV cache split by KV head, each GPU holding at least
    one (vLLM replicates KV heads when there are fewer than GPUs, and holds MLA's latent whole on
    every GPU). ``gpus`` must be a tensor-parallel size vLLM and SGLang run (:func:`tp_accepted`:
    it divides the attention heads and divides, or is a multiple of, the KV heads).

    Weights are :func:`weight_bytes` (so gpt-oss keeps its MXFP4 experts). Returns
    component ("weights", "kv_cache", "allocator_reserve", "free"), bytes, GiB; they sum to
    the memory the driver exposes (catalog ``memory_capacity_bytes``, as :func:`fits` and
    ``il.serve``), the reserve being ``reserve_fraction`` of it (default
    :data:`DEFAULT_RESERVE_FRACTION`: 1 - vLLM's default ``gpu_memory_utilization`` 0.9, the
    ``memory_utilization`` of the vllm-cuda row of data/stacks.csv). ``free`` is negative when it
    does not fit.

    Examples
    --------
    >>> import infra_lab as il
    >>> df = il.memory.inference_memory(il.models.get("llama3-70b"), "MI300X", context=8192, batch=16, gpus=8)
    >>> df.columns, df["component"].to_list()
    (['component', 'bytes', 'GiB'], ['weights', 'kv_cache', 'allocator_reserve', 'free'])
    """
    spec = _spec(spec)
    acc = catalog.accelerator(accelerator)
    gpus = _tp_gpus(spec, gpus)
    _tokens_and_batch("context", context, batch, integer=True)
    reserve_fraction = _reserve_fraction(reserve_fraction)
    from ..models import check_context

    check_context(spec, "context", context, int(context))   # learned positions: refused; RoPE: a warning
    kv_prec = _kv_precision(precision, kv_precision)
    w = weight_bytes(spec, precision) / gpus
    kv = _kv_per_gpu(spec, int(context), batch, kv_prec, gpus)
    cap = acc.memory_capacity_bytes     # what the driver exposes, as fits and il.serve use
    res = reserve_fraction * cap
    free = cap - w - kv - res
    comps = ["weights", "kv_cache", "allocator_reserve", "free"]
    vals = [w, kv, res, free]
    return pl.DataFrame({"component": comps, "bytes": vals, "GiB": [v / GiB for v in vals]})


def _reserve_fraction(v) -> float:
    """An allocator reserve as a fraction of the device memory: a real number 0 <= x < 1."""
    return V.number("reserve_fraction", v, lo=0.0, hi=1.0, hi_open=True,
                    allowed="a number 0 <= x < 1 (fraction of the device memory)")


def max_inference_batch(spec: ModelSpec | Scenario | str | dict[str, Any], accelerator: str,
                        context: int, gpus: int = 1,
                        precision: str = "bf16", kv_precision: str | None = None,
                        reserve_fraction: float = DEFAULT_RESERVE_FRACTION) -> int:
    """Largest batch of ``context``-token sequences whose weights + KV cache fit [sequences].

    They fit in ``1 - reserve_fraction`` of the memory the driver exposes (catalog
    ``memory_capacity_bytes``); the default :data:`DEFAULT_RESERVE_FRACTION` is 1 - vLLM's
    default ``gpu_memory_utilization`` 0.9 (``memory_utilization`` of the vllm-cuda row of
    data/stacks.csv). 0 when the weights alone do not fit. Weights and cache are
    split over ``gpus`` (TP) as :func:`inference_memory` splits them (each GPU holds at least
    one KV head, MLA's latent whole); ``gpus`` must be a size :func:`tp_accepted` takes.

    Examples
    --------
    >>> import infra_lab as il
    >>> il.memory.max_inference_batch("llama3-70b", "MI300X", 8192) > 0      # 141 GB on 206 GB (192 GiB)
    True
    >>> il.memory.max_inference_batch("llama3-70b", "H100", 8192)             # not on one 80 GB
    0
    """
    spec = _spec(spec)
    _tokens_and_batch("context", context, 1, integer=True)
    gpus = _tp_gpus(spec, gpus)
    reserve_fraction = _reserve_fraction(reserve_fraction)
    kv_prec = _kv_precision(precision, kv_precision)
    acc = catalog.accelerator(accelerator)
    # per GPU, as inference_memory: a replicated KV head (or MLA's latent) fills every GPU's share
    budget = acc.memory_capacity_bytes * (1.0 - reserve_fraction) - weight_bytes(spec, precision) / gpus
    if budget <= 0:
        return 0
    per_seq = _kv_per_gpu(spec, int(context), 1, kv_prec, gpus)
    return int(math.floor(budget / per_seq)) if per_seq > 0 else 0
