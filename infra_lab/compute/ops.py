"""Per-layer op tables: the GEMM list of a model and every op of one layer, timed.

:func:`gemm_records` is the GEMM list of one layer of each kind (the only place it is
written; ``ModelSpec`` counts FLOPs from it). :func:`layer_ops` turns it into the op table
the training model consumes: GEMMs (forward, input-gradient and weight-gradient), grouped
expert GEMMs with seeded per-expert token counts, fused attention, memory-bound element-wise
ops, MoE routing and permutation, and the quantize/cast ops of FP8/FP4 training, each
tagged with a ``component`` from :data:`COMPONENTS`.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import polars as pl

from ..errors import ValidationError, unknown
from ..scenario import MOE_DISPATCHERS, RECOMPUTE
from . import _params as P
from .attention import attention_cost
from .gemm import fused_grouped_model, gemm_model, run_grouped
from .moe import expert_token_counts, moe_distinct_ranks

if TYPE_CHECKING:
    from ..models import ModelSpec

__all__ = ["COMPONENTS", "GEMM_COMPONENTS", "GemmRecords", "gemm_records", "layer_ops",
           "layer_times", "optimizer_step_time", "roofline_points", "OP_TYPES", "LAYER_KINDS",
           "newton_schulz_flops", "muon_matrices", "newton_schulz_times", "MUON_COMPONENTS",
           "SCALINGS"]

COMPONENTS = (
    "attn_gemm",           # q/k/v/o projections, MLA down/up projections
    "attention",           # attention core (fused flash kernel, or QKᵀ/AV GEMMs unfused)
    "mlp_gemm",            # dense MLP up/gate/down (also Zamba2's shared MLP)
    "expert_gemm",         # routed experts: grouped GEMMs
    "shared_expert_gemm",  # always-on experts of an MoE layer
    "router",              # router GEMMs and the softmax/top-k
    "permute",             # MoE token permutation / unpermutation (memory-bound)
    "ssm_gemm",            # Mamba2 in/out projections
    "ssm_scan",            # Mamba2 convolution and scan (memory-bound)
    "lora_gemm",           # LoRA adapters (Zamba2)
    "hybrid_linear",       # Zamba2's per-insertion output linear
    "mtp_proj",            # multi-token-prediction projection (2h -> h)
    "head",                # LM head GEMM
    "loss",                # cross-entropy over the vocabulary
    "norm",                # RMSNorm / LayerNorm
    "memory",              # other element-wise ops: activations, residual adds, RoPE, softmax, convs
    "cast",                # FP8/FP4 quantization: cast, transpose, scales, amax
    "grad_acc",            # unfused weight-gradient accumulation into the fp32 main-grad buffer
)
"""Components of :func:`layer_ops` rows (documented enum; the training model groups by it)."""

GEMM_COMPONENTS = ("attn_gemm", "mlp_gemm", "expert_gemm", "shared_expert_gemm", "router",
                   "ssm_gemm", "lora_gemm", "hybrid_linear", "mtp_proj", "head")
_LOW_PREC = ("attn_gemm", "mlp_gemm", "expert_gemm", "shared_expert_gemm", "ssm_gemm",
             "lora_gemm", "hybrid_linear", "mtp_proj")
"""GEMM components that run at the training precision (FP8/FP4 recipes keep the router, the
LM head and the attention core in 16 bit, as Transformer Engine / Megatron do)."""
LOW_PRECISION_COMPONENTS = _LOW_PREC
"""Public name of :data:`_LOW_PREC`: the GEMM components a low-precision recipe runs at the
training precision (the training model's per-op SAC recomputes all of them)."""

_PRODUCER_FUSED = ("qkv_proj", "q_proj", "q_down", "kv_down", "mlp_up", "shared_mlp_up", "experts_up",
                   "shared_experts_up", "mlp_down", "shared_mlp_down", "experts_down",
                   "shared_experts_down", "ssm_in_proj", "mtp_proj")
"""GEMMs whose FP8/FP4 input cast Transformer Engine fuses into the producing kernel (the
LayerNorm of LayerNormLinear/LayerNormMLP, the activation before the down projection): the
producer writes the quantized copies instead of a separate cast reading the 16-bit tensor."""

SCALINGS = ("tensor", "row", "block")
"""Operand scaling of a low-precision recipe (:func:`layer_ops` ``scaling``): per-tensor, per-row
(torchao rowwise) or MX blocks cast per axis (torchao MX)."""

MAIN_GRAD_HOOKS = ("add", "copy")
"""How an unfused weight gradient reaches the fp32 main-grad buffer (:func:`layer_ops`
``main_grad_hook``): "add" (Megatron-Core DDP's hook, ``main_grad.add_(grad)``) or "copy"
(Megatron-FSDP's post-backward hook under ZeRO-2/3 sharding, ``main_grad.copy_(grad)``)."""

OP_TYPES = ("gemm", "attention", "memory")
LAYER_KINDS = ("dense", "moe", "mamba2", "hybrid", "mtp", "head")
_COMP_CODE = {c: i for i, c in enumerate(COMPONENTS)}


@dataclass(frozen=True)
class GemmRecords:
    """The forward GEMMs of one layer of each kind (parallel tuples, one entry per GEMM).

    kind : layer kind; name : GEMM name; component : one of :data:`COMPONENTS`;
    m, n, k : shape per rank [elements] (expert GEMMs: m = all routed rows of the rank);
    count : GEMMs of this shape (attention core: batch·heads/tp, halved when causal) [-];
    groups : local experts a grouped GEMM spans (1 otherwise) [-]
    """

    kind: tuple[str, ...]
    name: tuple[str, ...]
    component: tuple[str, ...]
    m: tuple[float, ...]
    n: tuple[float, ...]
    k: tuple[float, ...]
    count: tuple[float, ...]
    groups: tuple[int, ...]

    def frame(self) -> pl.DataFrame:
        """As a polars frame with ``flops`` = 2·m·n·k·count [FLOP]."""
        m, n, k, c = (np.array(x, dtype=float) for x in (self.m, self.n, self.k, self.count))
        return pl.DataFrame({"layer_kind": list(self.kind), "name": list(self.name),
                             "component": list(self.component), "m": m, "n": n, "k": k,
                             "count": c, "groups": list(self.groups), "flops": 2 * m * n * k * c})

    def flops_by(self, kind: str) -> float:
        """Forward FLOPs of one layer of ``kind`` [FLOP]."""
        return float(sum(2.0 * m * n * k * c for kk, m, n, k, c in
                         zip(self.kind, self.m, self.n, self.k, self.count, strict=True) if kk == kind))


def _spec(spec):
    from .. import models

    if isinstance(spec, str):
        return models.get(spec)
    if isinstance(spec, dict):
        return models.ModelSpec.from_dict(spec)
    if not isinstance(spec, models.ModelSpec):
        raise ValidationError(f"spec = {spec!r}: expected a ModelSpec, a preset name or a model table")
    return spec


def _shape_args(spec, seq_len, micro_batch, tp, ep, expert_tp):
    """The arguments :func:`gemm_records` and :func:`layer_ops` share, checked: (spec, s, b, tp,
    ep, expert tp) with expert_tp None read as tp."""
    spec = _spec(spec)
    s = P.check_number("seq_len", seq_len, lo=1, hi=2**24, integer=True)
    b = P.check_number("micro_batch", micro_batch, lo=1, hi=2**16, integer=True)
    t = P.check_number("tp", tp, lo=1, hi=2**16, integer=True)
    e = P.check_number("ep", ep, lo=1, hi=2**20, integer=True)
    etp = t if expert_tp is None else P.check_number("expert_tp", expert_tp, lo=1, hi=2**16, integer=True)
    return spec, s, b, t, e, etp


def _check_parallel(spec, tp: int, ep: int, etp: int) -> None:
    if spec.experts:
        if spec.experts % ep:
            raise ValidationError(f"ep = {ep}: must divide the model's {spec.experts} experts")
    elif ep != 1:
        raise ValidationError(f"ep = {ep}: the model has no experts (use ep = 1)")
    del tp, etp


def gemm_records(spec: ModelSpec | str | dict[str, Any], seq_len: int, micro_batch: int = 1,
                 tp: int = 1, *, causal: bool = True,
                 ep: int = 1, expert_tp: int | None = None) -> GemmRecords:
    """The forward GEMMs of one layer of each kind, per rank.

    Parameters
    ----------
    spec : ModelSpec or preset name
    seq_len : s [tokens]; micro_batch : b [sequences]
    tp : tensor-parallel size: column-parallel outputs (n) and row-parallel inputs (k) are
        divided by tp, attention heads split across ranks
    causal : halve the attention-core GEMM count (FLOP convention; the op table times the
        diagonal blocks separately)
    ep : expert-parallel size (E/ep local experts per rank)
    expert_tp : expert tensor-parallel size (None: tp). Expert widths are divided by it and
        each rank processes tokens·top_k·expert_tp/tp routed rows, so the experts' FLOPs per
        rank are the same for every split.

    Returns
    -------
    GemmRecords : kinds from ``spec.layer_kinds()`` plus ``"mtp"`` (multi-token-prediction
    modules, if any) and ``"head"`` (LM head). Each GEMM costs 2·m·n·k·count FLOP per rank.
    Non-GEMM work (Mamba2 scan and convolutions, CCA convolutions) is not listed.

    Examples
    --------
    >>> from infra_lab.compute import gemm_records
    >>> r = gemm_records("llama3-8b", 4096)
    >>> r.name[0], r.component[0], r.m[0], r.n[0], r.k[0]
    ('qkv_proj', 'attn_gemm', 4096.0, 6144.0, 4096.0)
    """
    spec, s, b, t, e, etp = _shape_args(spec, seq_len, micro_batch, tp, ep, expert_tp)
    if s * b > 2**31:
        raise ValidationError(f"seq_len x micro_batch = {s * b:,} tokens per rank: at most 2**31")
    if not isinstance(causal, bool):
        raise ValidationError(f"causal = {causal!r}: expected True or False")
    _check_parallel(spec, t, e, etp)
    if spec.heads % t:
        raise ValidationError(f"tp = {t}: must divide the model's {spec.heads} attention heads")
    return _records(spec, s, b, t, causal, e, etp)


def _window_factor(s: int, w: int, causal: bool) -> float:
    """Attention-core work of a layer with window ``w`` (0: none) relative to full s×s
    attention; exactly 0.5 for an unwindowed causal mask (the FLOP convention)."""
    if not w or w >= s:
        return 0.5 if causal else 1.0
    if causal:
        return (w * (w + 1) / 2.0 + (s - w) * w) / (float(s) * s)
    return w / float(s)


def _windows(spec) -> list[tuple[int, float]]:
    """(window, share of attention layers) over the model's attention layers."""
    ws = spec.attention_windows() if hasattr(spec, "attention_windows") else []
    if not ws:
        return [(0, 1.0)]
    out: dict[int, int] = {}
    for w in ws:
        out[w] = out.get(w, 0) + 1
    return [(w, c / len(ws)) for w, c in sorted(out.items())]


@functools.lru_cache(maxsize=512)
def _records(spec, s: int, b: int, tp: int, causal: bool, ep: int, etp: int) -> GemmRecords:
    out: list[tuple] = []
    h, a, kv, d = spec.hidden, spec.heads, spec.kv_heads, spec.head_dim
    T = float(s * b)
    f = sum(share * _window_factor(s, w, causal) for w, share in _windows(spec))
    nb = b * a / tp

    def add(kind, name, comp, m, n, k, count=1.0, groups=1):
        out.append((kind, name, comp, float(m), float(n), float(k), float(count), int(groups)))

    def attn(kind):
        if spec.attention == "mla":
            qk = spec.qk_nope_head_dim + spec.qk_rope_head_dim
            if spec.q_lora_rank:
                add(kind, "q_down", "attn_gemm", T, spec.q_lora_rank, h)
                add(kind, "q_up", "attn_gemm", T, a * qk / tp, spec.q_lora_rank)
            else:
                add(kind, "q_proj", "attn_gemm", T, a * qk / tp, h)
            add(kind, "kv_down", "attn_gemm", T, spec.kv_lora_rank + spec.qk_rope_head_dim, h)
            add(kind, "kv_up", "attn_gemm", T, a * (spec.qk_nope_head_dim + spec.v_head_dim) / tp, spec.kv_lora_rank)
            add(kind, "attn_scores", "attention", s, s, qk, nb * f)
            add(kind, "attn_context", "attention", s, spec.v_head_dim, s, nb * f)
            add(kind, "out_proj", "attn_gemm", T, h, a * spec.v_head_dim / tp)
            return
        din = spec._attn_in()
        add(kind, "qkv_proj", "attn_gemm", T, (a + 2 * kv) * d / tp, din)
        if spec.lora_attention and spec.lora_rank and spec.arch == "hybrid_ssm":
            r = spec.lora_rank
            add(kind, "qkv_lora_down", "lora_gemm", T, 3 * r, din)
            add(kind, "qkv_lora_up", "lora_gemm", T, (a + 2 * kv) * d / tp, r)
        add(kind, "attn_scores", "attention", s, s, d, nb * f)
        add(kind, "attn_context", "attention", s, d, s, nb * f)
        add(kind, "out_proj", "attn_gemm", T, h, a * d / tp)

    gate = 3 if spec.gated else 2

    def mlp(kind, width, rows, prefix, comp, w_tp, groups=1):
        add(kind, f"{prefix}_up", comp, rows, (gate - 1) * width / w_tp, h, 1.0, groups)
        add(kind, f"{prefix}_down", comp, rows, h, width / w_tp, 1.0, groups)

    def moe(kind):
        attn(kind)
        if spec.router == "mlp":
            r = spec.router_hidden
            add(kind, "router_down", "router", T, r, h)
            add(kind, "router_mlp", "router", T, r, r, 2)
            add(kind, "router_out", "router", T, spec.experts + 1, r)
        else:
            add(kind, "router", "router", T, spec.experts, h)
        rows = T * spec.top_k * etp / tp
        mlp(kind, spec.expert_ffn_hidden or spec.ffn_hidden, rows, "experts", "expert_gemm", etp,
            groups=spec.experts // ep)
        if spec.shared_experts:
            mlp(kind, spec.shared_experts * spec.shared_expert_ffn_hidden, T, "shared_experts",
                "shared_expert_gemm", tp)

    def dense(kind):
        attn(kind)
        mlp(kind, spec.ffn_hidden, T, "mlp", "mlp_gemm", tp)

    kinds = spec.layer_kinds()
    if "dense" in kinds:
        dense("dense")
    if "moe" in kinds:
        moe("moe")
    if set(kinds) & {"mamba2", "hybrid"}:
        di, n, ng = spec.d_inner, spec.ssm_state, spec.ssm_groups

        def mamba(kind):
            add(kind, "ssm_in_proj", "ssm_gemm", T, (2 * di + 2 * ng * n + spec.ssm_heads) / tp, h)
            add(kind, "ssm_out_proj", "ssm_gemm", T, h, di / tp)

        if "mamba2" in kinds:
            mamba("mamba2")
        if "hybrid" in kinds:
            attn("hybrid")
            mlp("hybrid", spec.ffn_hidden, T, "shared_mlp", "mlp_gemm", tp)
            if spec.lora_rank:
                add("hybrid", "mlp_lora_down", "lora_gemm", T, spec.lora_rank, h)
                add("hybrid", "mlp_lora_up", "lora_gemm", T, (gate - 1) * spec.ffn_hidden / tp, spec.lora_rank)
            add("hybrid", "hybrid_linear", "hybrid_linear", T, h, h)
            mamba("hybrid")
    if spec.mtp_layers:
        add("mtp", "mtp_proj", "mtp_proj", T, h, 2 * h)
        (moe if spec.mtp_layer_kind() == "moe" else dense)("mtp")
        add("mtp", "lm_head", "head", T, spec.vocab / tp, h)
    add("head", "lm_head", "head", T, spec.vocab / tp, h)
    cols = list(zip(*out, strict=True))
    return GemmRecords(*(tuple(c) for c in cols))


# --------------------------------------------------------------------------------------
# Element-wise (memory-bound) ops
# --------------------------------------------------------------------------------------
def _elementwise(spec, kind: str, T: float, tp: int, sp: bool, s: int, b: int, flash: bool,
                 ep: int, etp: int, act: float, logit_b: float, permute_passes: float,
                 dispatcher: str = "alltoall") -> list[tuple[str, str, float]]:
    """(name, component, bytes) of the forward memory-bound ops of one layer of ``kind``."""
    h = spec.hidden
    ts = T / tp if sp else T  # norms/residuals act on a 1/tp slice with sequence parallelism
    gate = 3.0 if spec.gated else 2.0
    ops: list[tuple[str, str, float]] = []

    def attention_side() -> None:
        ops.append(("norm_attn", "norm", 2 * ts * h * act))
        if spec.pos_emb == "rope":
            if spec.attention == "mla":
                w = spec.heads * spec.qk_rope_head_dim / tp + spec.qk_rope_head_dim
            else:
                w = (spec.heads + spec.kv_heads) * spec.head_dim / tp
            ops.append(("rope", "memory", 2 * T * w * act))
        if spec.attention == "cca":
            c = (spec.heads + spec.kv_heads) * spec.head_dim / tp
            ops.append(("cca_conv", "memory", 2 * 2 * T * c * act))
        if not flash:
            ops.append(("softmax", "memory", 2 * b * spec.heads / tp * float(s) * s * act))
        ops.append(("residual_attn", "memory", 3 * ts * h * act))

    def mlp_act(width: float, rows: float, name: str) -> None:
        ops.append((f"{name}_act", "memory", gate * rows * width * act))

    def moe_side() -> None:
        ef = spec.expert_ffn_hidden or spec.ffn_hidden
        ops.append(("router_softmax_topk", "router", 2 * T * (spec.experts + 1) * logit_b))
        rows = T * spec.top_k * etp / tp
        passes = permute_passes if ep > 1 else 1.0
        tokens = T * etp / tp
        if dispatcher == "deepep" and ep > 1:
            # DeepEP / the flex dispatcher: the dispatch delivers each token once per
            # destination rank (tokens·R rows on a rank, R = moe_distinct_ranks) and the rank
            # permutes them into expert order once, unpermutes (sums its local copies) once
            # before the combine (_DeepepManager, Megatron-Core token_dispatcher.py)
            passes = 1.0
            tokens *= moe_distinct_ranks(spec.experts, spec.top_k, ep, spec.router_groups,
                                         spec.router_group_topk)
        # gather each token's top_k copies into expert order (read T rows, write k·T rows),
        # then scatter back and sum the k weighted copies (read k·T, write T)
        ops.append(("moe_permute", "permute", passes * (tokens + rows) * h * act))
        ops.append(("moe_unpermute", "permute", passes * (rows + tokens) * h * act))
        mlp_act(ef / etp, rows, "experts")
        if spec.shared_experts:
            mlp_act(spec.shared_experts * spec.shared_expert_ffn_hidden / tp, T, "shared_experts")

    if kind in ("dense", "moe", "hybrid", "mtp"):
        if kind == "mtp":
            ops.append(("mtp_norms", "norm", 2 * 2 * ts * h * act))
        attention_side()
        ops.append(("norm_mlp", "norm", 2 * ts * h * act))
        is_moe = kind == "moe" or (kind == "mtp" and spec.mtp_layer_kind() == "moe")
        if is_moe:
            moe_side()
        else:
            mlp_act(spec.ffn_hidden / tp, T, "mlp")
        ops.append(("residual_mlp", "memory", 3 * ts * h * act))
    if kind in ("mamba2", "hybrid"):
        di, n, g, nh = spec.d_inner, spec.ssm_state, spec.ssm_groups, spec.ssm_heads
        ops.append(("norm_ssm", "norm", 2 * ts * h * act))
        ops.append(("ssm_conv_scan", "ssm_scan", T * (2 * di + 2 * g * n + nh + di) / tp * act * 2))
        ops.append(("residual_ssm", "memory", 3 * ts * h * act))
    if kind in ("head", "mtp"):
        ops.append(("final_norm", "norm", 2 * ts * h * act))
        # the fp32 logits: read and written once (format bytes from the number-format table)
        ops.append(("cross_entropy", "loss", 2 * T * spec.vocab / tp * P.ELEMENT_BYTES["fp32"]))
    return ops


# --------------------------------------------------------------------------------------
# The op table
# --------------------------------------------------------------------------------------
class _Table:
    """Column lists of the op table being built."""

    COLS = ("layer_kind", "pass", "op", "op_type", "component", "m", "n", "k", "count",
            "groups", "flops", "bytes", "time_s", "efficiency")

    def __init__(self) -> None:
        self.c: dict[str, list] = {k: [] for k in self.COLS}

    def add(self, **kw: Any) -> None:
        for k in self.COLS:
            self.c[k].append(kw[k])

    def frame(self, mem_bw: float, fixed: float) -> pl.DataFrame:
        d = self.c
        flops = np.array(d["flops"], dtype=float)
        byts = np.array(d["bytes"], dtype=float)
        t = np.array(d["time_s"], dtype=float)
        kernels = np.where(np.array(d["op_type"]) == "memory", np.array(d["count"], dtype=float), 1.0)
        mem_bound = byts / mem_bw >= (t - kernels * fixed) * (1 - 1e-9)
        return pl.DataFrame({
            "layer_kind": d["layer_kind"], "pass": d["pass"], "op": d["op"], "op_type": d["op_type"],
            "component": d["component"],
            "m": np.array(d["m"], dtype=float), "n": np.array(d["n"], dtype=float),
            "k": np.array(d["k"], dtype=float), "count": np.array(d["count"], dtype=float),
            "groups": np.array(d["groups"], dtype=np.int64), "flops": flops, "bytes": byts,
            "intensity": np.where(byts > 0, flops / np.maximum(byts, 1e-30), 0.0),
            "efficiency": np.array(d["efficiency"], dtype=float), "time_s": t,
            "bound": np.where(mem_bound, "memory", "compute"),
        })


def layer_ops(spec: ModelSpec | str | dict[str, Any], seq_len: int, micro_batch: int = 1,
              tp: int = 1, accelerator: str = "MI300X",
              precision: str = "bf16", *, causal: bool = True, flash: bool = True,
              sequence_parallel: bool = False, passes: tuple[str, ...] = ("fwd",), ep: int = 1,
              expert_tp: int | None = None, seed: int = 0, attention_kernel: str | None = None,
              main_grad_bytes: float | None = None, weight_cast_every: int = 1,
              fuse_casts: bool = True, stream_k: bool | None = None, window: int = 0,
              scaling: str = "tensor", grouped_gemm_streams: int = 0,
              gradient_accumulation_fusion: bool = True, moe_dispatcher: str = "alltoall",
              main_grad_hook: str = "add") -> pl.DataFrame:
    """The op list of one layer of each kind on one rank, timed on ``accelerator``.

    Parameters
    ----------
    spec : ModelSpec or preset name
    seq_len : tokens per sequence on this rank s [tokens] (with context parallelism: s/cp)
    micro_batch : sequences b [-]; tp : tensor-parallel size [-]
    accelerator : catalog name
    precision : training GEMM precision ("bf16", "fp8", "mxfp8", "fp4", ...). Low-precision
        recipes run the layers' linear GEMMs at ``precision`` and keep the router, the LM head
        and attention in 16 bit; their quantization appears as explicit ``cast`` ops.
    causal : causal attention (the fused kernel computes whole diagonal blocks)
    flash : fused attention; False: QKᵀ and AV as batched GEMMs plus a softmax op with s²
        tensors in HBM
    sequence_parallel : norms and residuals on a 1/tp slice of the tokens
    passes : any of "fwd", "bwd". Backward of a GEMM = input gradient (m×n·nᵀ: shape (m, k, n))
        + weight gradient (shape (k, n, m)) accumulated into an fp32 main-grad buffer;
        attention backward = the kernel's backward (2.5× forward FLOPs); element-wise ops 2×
        forward bytes.
    ep : expert-parallel size; expert_tp : expert tensor-parallel size (None: tp)
    seed : seed of the per-expert token counts (multinomial) of the grouped expert GEMMs
    attention_kernel : kernel name (None: the device's default, see
        :func:`infra_lab.compute.attention_kernels`)
    main_grad_bytes : bytes per element of the gradient buffer the weight-gradient GEMMs
        accumulate into (read + write) [bytes] (None: data, 4 = fp32 as Megatron; 0: the
        16-bit gradient is written once)
    weight_cast_every : micro-batches that share one quantized copy of the weights [-]: the
        weight part of each cast op (bytes and kernel) is charged 1/weight_cast_every times. The
        training step passes the step's micro-batch count for a stack that reuses the copies
        (stack factor ``fp8_caches_weights``, Transformer Engine's ``is_first_microbatch``) and
        1 otherwise (torchao casts every call). A grouped GEMM's weight part covers all its
        local experts (E/ep matrices of k×n): every expert weight is quantized, each in its own
        kernel where the experts run as a loop of per-expert GEMMs (``grouped_gemm_streams`` >= 1:
        Transformer Engine's GroupedLinear holds ``weight0`` … ``weightN-1`` and calls
        ``quantize_weight`` once per weight,
        https://github.com/NVIDIA/TransformerEngine/blob/d0067d0da6cb01811b8072a7d304f0e00344ce2b/transformer_engine/pytorch/module/grouped_linear.py#L833-L851),
        in one kernel per axis for the stacked (E, k, n) weight of one fused grouped kernel
        (``grouped_gemm_streams`` = 0: torchao's float8 rowwise grouped GEMM casts the 3-D weight
        with ``triton_fp8_colwise_3d_scale_and_cast`` in forward and
        ``triton_fp8_rowwise_3d_transpose_rhs`` in backward,
        https://github.com/pytorch/ao/blob/36027d82d1ad9949597ea16002ff4940374b1b94/torchao/prototype/moe_training/fp8_grouped_mm.py#L142-L152
        and #L239-L246; its MXFP8 path ``triton_to_mxfp8_dim0`` / ``mxfp8_quantize_cuda_3d``,
        mxfp8_grouped_mm.py#L534-L538 / #L633-L644; Transformer Engine's own fused grouped path,
        ``use_grouped_tensor``, one ``tex.group_quantize`` call, grouped_linear.py#L282-L307).
        APPROXIMATION: the weight layout (per-expert or stacked) is read from
        ``grouped_gemm_streams``, as the libraries pair them
    fuse_casts : input casts of GEMMs that follow a norm or an activation are fused into that
        kernel (Transformer Engine's LayerNormLinear / LayerNormMLP): only the quantized copies
        are written; False: every cast is a separate kernel reading the 16-bit tensor
    stream_k : override the library's stream-K scheduling (None: data)
    window : sliding-window attention size for every layer [tokens] (0: the model's own
        windows, ``spec.attention_windows()``, averaged over its attention layers)
    scaling : how a low-precision recipe scales its operands (:data:`SCALINGS`). "tensor"
        (default): one cast per operand (input X, weight W, output gradient dY) writes the copies
        both of its GEMMs read. "row" (torchao's float8 rowwise recipe): per-row scales along each
        GEMM's reduction axis, so every operand is quantized again along its other axis for its
        backward GEMM (one more read of the 16-bit X, W and dY per linear), and the two backward
        GEMMs (no fast accumulation) run as per-tensor GEMMs whose 16-bit outputs are rescaled
        by an element-wise pass (read + write): torchao's ``addmm_float8_unwrapped``, "the rowwise
        CUTLASS-based kernel is so slow without fast-accum that we'd rather use the tensorwise
        cuBLAS-based kernel and do the scaling manually afterwards"
        (https://github.com/pytorch/ao/blob/890e0ac8/torchao/float8/float8_ops.py). "block"
        (torchao's MX recipes): 1×32 blocks along each GEMM's reduction axis cast by separate
        dim0 / dim1 kernels (torchao/prototype/mx_formats/README.md), the scales applied inside
        the GEMM: the extra per-axis reads of "row" without the rescale. Approximations: the
        per-axis amax is taken in the cast kernel's read (``cast_amax_pass`` as for "tensor"), and
        rowwise GEMMs with fast accumulation (the forward) run at the per-tensor rate.
    grouped_gemm_streams : how the library runs the routed experts' grouped GEMMs
        (:func:`infra_lab.compute.grouped_gemm_times` ``streams``): 0 (default) one fused
        grouped kernel; S >= 1 a loop of per-expert GEMMs over S streams (approximate: chunks
        of S experts priced as one grouped kernel each) [-]
    gradient_accumulation_fusion : True (default, Megatron's ``--gradient-accumulation-fusion``):
        the weight-gradient GEMMs accumulate into the main-grad buffer in their epilogue
        (``main_grad_bytes`` read + written). False: each writes its 16-bit gradient once and a
        memory-bound op per weight-gradient GEMM (component "grad_acc", op ``<name>_wgrad_acc``)
        adds it to the buffer: reads the buffer and the 16-bit gradient, writes the buffer, for
        every weight element on the rank (all local experts of a grouped GEMM): Megatron-Core
        DDP's backward hook ``param.main_grad.add_(param.grad.data)``
        (``_make_backward_post_hook``,
        https://github.com/NVIDIA/Megatron-LM/blob/09fde85ea25fb67e9b32019089fae163a3233bd3/megatron/core/distributed/distributed_data_parallel.py#L551-L584).
        No effect when the buffer has no bytes (``main_grad_bytes`` = 0)
    main_grad_hook : how the unfused accumulation (``gradient_accumulation_fusion`` False) reaches
        the buffer (:data:`MAIN_GRAD_HOOKS`): "add" (default, Megatron-Core DDP, above) or "copy"
        (Megatron-FSDP / Megatron-Core's custom FSDP, whose post-backward hook
        ``_grad_acc`` runs ``param.main_grad.copy_(param.grad)`` under the ZeRO-2/3 sharding
        strategies: reads the 16-bit gradient, writes the buffer, no read of it; one copy per
        parameter tensor, so a grouped GEMM's local experts, which Transformer Engine's
        GroupedLinear holds as one weight each (``weight0`` … ``weightN-1``,
        https://github.com/NVIDIA/TransformerEngine/blob/0069563f606859d4fb5d663e1c92509a30e99f35/transformer_engine/pytorch/module/grouped_linear.py), take one kernel each; https://github.com/NVIDIA/Megatron-LM/blob/1e057005959b75e8bc62f610a335bd03080bc659/megatron/core/distributed/custom_fsdp/fully_sharded_data_parallel.py#L343-L375)
    moe_dispatcher : the MoE token dispatcher with ep > 1 (``parallelism.moe_dispatcher``):
        "alltoall" (default) permutes ``moe_permute_passes_ep`` times each way (Megatron-Core's
        all-to-all dispatcher: into per-rank order before the all-to-all, into per-expert order
        after it); "deepep" permutes once each way the tokens·R rows its dispatch delivers,
        each token once per destination rank (R = :func:`moe_distinct_ranks`, under the model's
        group-limited routing when it has one: ``router_groups`` / ``router_group_topk``)

    Returns
    -------
    polars.DataFrame
        layer_kind, pass, op, op_type ("gemm" | "attention" | "memory"), component (one of
        :data:`COMPONENTS`), m, n, k, count, groups, flops [FLOP], bytes [bytes], intensity
        [FLOP/byte], efficiency (achieved fraction of peak at the op's precision) [-],
        time_s [s], bound ("compute" | "memory").

    Examples
    --------
    >>> import infra_lab as il
    >>> ops = il.compute.layer_ops("llama3-8b", 4096, 1, 1, "MI300X")
    >>> sorted(set(ops["op_type"]))
    ['attention', 'gemm', 'memory']
    >>> ops.filter(ops["component"] == "attention")["op"].to_list()
    ['attention']
    """
    spec, s, b, t, e, etp = _shape_args(spec, seq_len, micro_batch, tp, ep, expert_tp)
    sd = P.check_number("seed", seed, lo=0, integer=True)
    wce = P.check_number("weight_cast_every", weight_cast_every, lo=1, integer=True)
    win = P.check_number("window", window, lo=0, integer=True)
    ggs = int(P.check_number("grouped_gemm_streams", grouped_gemm_streams, lo=0, hi=1024, integer=True))
    for name, v in (("causal", causal), ("flash", flash), ("sequence_parallel", sequence_parallel),
                    ("fuse_casts", fuse_casts), ("gradient_accumulation_fusion", gradient_accumulation_fusion)):
        if not isinstance(v, bool):
            raise ValidationError(f"{name} = {v!r}: expected True or False")
    if isinstance(passes, str) or not isinstance(passes, (tuple, list)) or not passes:
        raise ValidationError(f"passes = {passes!r}: expected a tuple of 'fwd' and/or 'bwd'")
    for p in passes:
        if p not in ("fwd", "bwd"):
            raise unknown("pass", p, ["fwd", "bwd"])
    acc = P.accelerator(accelerator)
    prec = P.precision(precision)
    if main_grad_bytes is not None:
        main_grad_bytes = P.check_number("main_grad_bytes", main_grad_bytes, lo=0.0, hi=8.0)
    if stream_k is not None and not isinstance(stream_k, bool):
        raise ValidationError(f"stream_k = {stream_k!r}: expected True, False or None")
    if attention_kernel is not None and not isinstance(attention_kernel, str):
        raise ValidationError(f"attention_kernel = {attention_kernel!r}: expected a kernel name (see "
                              "compute.attention_kernels) or None for the device's default")
    if scaling not in SCALINGS:
        raise unknown("scaling", scaling, list(SCALINGS))
    if moe_dispatcher not in MOE_DISPATCHERS:
        raise unknown("moe_dispatcher", moe_dispatcher, list(MOE_DISPATCHERS))
    if main_grad_hook not in MAIN_GRAD_HOOKS:
        raise unknown("main_grad_hook", main_grad_hook, list(MAIN_GRAD_HOOKS))
    recs = gemm_records(spec, s, b, t, causal=causal, ep=e, expert_tp=etp)
    key = (spec, s, b, t, acc.name, prec, causal, flash, sequence_parallel, tuple(passes), e, etp,
           sd, attention_kernel, main_grad_bytes, wce, fuse_casts, stream_k, win, scaling, ggs,
           gradient_accumulation_fusion, moe_dispatcher if e > 1 else "alltoall",
           "add" if gradient_accumulation_fusion else main_grad_hook)
    return _layer_ops_cached(key, recs)


@functools.lru_cache(maxsize=256)
def _layer_ops_cached(key: tuple, recs: GemmRecords) -> pl.DataFrame:
    (spec, s, b, t, acc_name, prec, causal, flash, sp, passes, ep, etp, seed, att_kernel,
     mgb, wce, fuse, stream_k, win, scaling, ggs, gacc_fused, dispatcher, hook_kind) = key
    from .. import catalog
    from .._kernels import gemm as kg

    acc = catalog.accelerator(acc_name)
    act = P.value(acc, "activation_bytes")
    mgb = P.value(acc, "main_grad_bytes") if mgb is None else mgb
    # unfused accumulation (gradient_accumulation_fusion False): the GEMM writes a 16-bit gradient,
    # a separate add reads the buffer (mgb) and that gradient (act) and writes the buffer (mgb)
    hook_acc = (not gacc_fused) and mgb > 0
    hi_prec = "bf16" if prec in P.LOW_PRECISIONS or prec in ("fp32", "tf32") else prec
    low = prec in P.LOW_PRECISIONS
    models = {pr: gemm_model(acc.name, pr, stream_k=stream_k) for pr in {prec, hi_prec}}
    T = float(s * b)
    tab = _Table()

    # ---- plain and grouped GEMMs: collect shapes, evaluate with one kernel call per class
    plain: dict[tuple[str, float], list] = {}     # (precision, out_bytes) -> [(row, m, n, k, count)]
    grouped: dict[tuple[str, float], list] = {}   # -> [(row, [(m, n, k), ...])]
    rows: list[dict] = []
    cast_rows: list[tuple] = []

    def wgrad_out() -> float:
        return 2.0 * mgb if (mgb > 0 and not hook_acc) else act

    # (layer kind, op, weight elements, kernels) of the hook's adds (DDP) or copies (Megatron-FSDP)
    grad_acc: list[tuple[str, str, float, float]] = []

    for kind, name, comp, m, n, k, count, groups in zip(
            recs.kind, recs.name, recs.component, recs.m, recs.n, recs.k, recs.count,
            recs.groups, strict=True):
        if comp == "attention":
            continue
        pr = prec if comp in _LOW_PREC else hi_prec
        for ps in passes:
            if ps == "bwd" and hook_acc:
                # every local weight element of this GEMM (all local experts of a grouped one)
                is_grouped = groups > 1 or comp == "expert_gemm"
                # the DDP hook's one add per grouped weight (the legacy GroupedMLP's single weight
                # for all local experts); Megatron-FSDP's copy per parameter tensor: one per
                # local expert of Transformer Engine's GroupedLinear
                grad_acc.append((kind, name + "_wgrad_acc", k * n * (groups if is_grouped else count),
                                 float(groups) if (is_grouped and hook_kind == "copy") else 1.0))
            shapes = [("", m, n, k, act)] if ps == "fwd" else \
                [("_dgrad", m, k, n, act), ("_wgrad", k, n, m, wgrad_out())]
            for suffix, mm, nn, kk, ob in shapes:
                r = {"layer_kind": kind, "pass": ps, "op": name + suffix, "op_type": "gemm",
                     "component": comp, "m": mm, "n": nn, "k": kk, "count": count, "groups": groups,
                     "flops": 2.0 * mm * nn * kk * count, "prec": pr}
                rows.append(r)
                if groups > 1 or comp == "expert_gemm":
                    counts = expert_token_counts(int(round(m)), groups, seed)
                    # at least 1, as the plain GEMMs above: an expert width split by etp
                    # below one column (expert_ffn_hidden < etp) still runs a 1-wide GEMM
                    ni, ki = max(1, int(round(n))), max(1, int(round(k)))
                    if ps == "fwd":
                        g = (counts, np.full(groups, ni), np.full(groups, ki))
                    elif suffix == "_dgrad":
                        g = (counts, np.full(groups, ki), np.full(groups, ni))
                    else:
                        nz = counts[counts > 0]
                        g = (np.full(nz.size, ki), np.full(nz.size, ni), nz)
                    grouped.setdefault((pr, ob), []).append((r, g))
                else:
                    plain.setdefault((pr, ob), []).append((r, mm, nn, kk, count))
            if low and pr == prec and comp in _LOW_PREC:
                cast_rows.append((kind, name, comp, m, n, k, ps, groups if (groups > 1 or comp == "expert_gemm") else 1))

    for (pr, ob), items in plain.items():
        g = models[pr]
        ms = np.array([max(1, round(x[1])) for x in items], dtype=np.int64)
        ns = np.array([max(1, round(x[2])) for x in items], dtype=np.int64)
        ks_ = np.array([max(1, round(x[3])) for x in items], dtype=np.int64)
        bs = np.array([max(1, math.ceil(x[4] - 1e-9)) for x in items], dtype=np.int64)
        eff, tt = kg.empty_outputs(len(items))
        kg.gemm_kernel(ms, ns, ks_, bs, *g.args(ob), eff, tt)
        for (r, mm, nn, kk, cnt), ti in zip(items, tt, strict=True):
            # fractional counts (heads split unevenly) scale the batched time
            r["time_s"] = ti * (cnt / max(1, math.ceil(cnt - 1e-9)))
            r["bytes"] = cnt * ((mm * kk + kk * nn) * g.in_bytes + mm * nn * ob)
    for (pr, ob), items in grouped.items():
        g = fused_grouped_model(models[pr]) if ggs == 0 else models[pr]
        gm = np.concatenate([x[1][0] for x in items]).astype(np.int64)
        gn = np.concatenate([x[1][1] for x in items]).astype(np.int64)
        gk = np.concatenate([x[1][2] for x in items]).astype(np.int64)
        offs = np.zeros(len(items) + 1, dtype=np.int64)
        offs[1:] = np.cumsum([x[1][0].size for x in items])
        eff, tt = run_grouped(g, offs, gm, gn, gk, ggs, out_bytes=ob)
        byts = (gm * gk + gk * gn) * g.in_bytes + gm * gn * ob
        for i, ((r, _), ti) in enumerate(zip(items, tt, strict=True)):
            r["time_s"] = ti
            r["bytes"] = float(byts[offs[i]:offs[i + 1]].sum())
    for r in rows:
        pr = r.pop("prec")
        pk = models[pr].peak_flops
        tab.add(efficiency=r["flops"] / (r["time_s"] * pk) if r["time_s"] > 0 else 0.0, **r)

    # ---- attention core
    kinds_with_attn = sorted({kd for kd, c in zip(recs.kind, recs.component, strict=True) if c == "attention"},
                             key=LAYER_KINDS.index)
    if spec.attention == "mla":
        dqk, dv = spec.qk_nope_head_dim + spec.qk_rope_head_dim, spec.v_head_dim
    else:
        dqk = dv = spec.head_dim
    bh = b * spec.heads / t
    for kind in kinds_with_attn:
        for ps in passes:
            if flash:
                c = {"time_s": 0.0, "flops": 0.0, "bytes": 0.0}
                for w, share in ([(win, 1.0)] if win else _windows(spec)):
                    ci = attention_cost(s, dqk, bh, acc.name, ps, causal, kernel=att_kernel,
                                        head_dim_v=dv, window=w)
                    for key in c:
                        c[key] += share * ci[key]
                c["efficiency"] = c["flops"] / (c["time_s"] * acc.peak("bf16"))
                tab.add(layer_kind=kind, **{"pass": ps}, op="attention" if ps == "fwd" else "attention_bwd",
                        op_type="attention", component="attention", m=float(s), n=float(s), k=float(dqk),
                        count=bh, groups=1, flops=c["flops"], bytes=c["bytes"], time_s=c["time_s"],
                        efficiency=c["efficiency"])
            else:
                g = models[hi_prec]
                shapes = [("attn_scores", s, s, dqk), ("attn_context", s, dv, s)] if ps == "fwd" else \
                    [("attn_scores_dgrad", s, dqk, s), ("attn_scores_wgrad", s, dqk, s),
                     ("attn_context_dgrad", s, s, dv), ("attn_context_wgrad", s, dv, s)]
                nbatch = max(1, math.ceil(bh - 1e-9))
                ms = np.array([x[1] for x in shapes], dtype=np.int64)
                ns = np.array([x[2] for x in shapes], dtype=np.int64)
                ks_ = np.array([x[3] for x in shapes], dtype=np.int64)
                eff, tt = kg.empty_outputs(len(shapes))
                kg.gemm_kernel(ms, ns, ks_, np.full(len(shapes), nbatch, dtype=np.int64), *g.args(), eff, tt)
                for (nm, mm, nn, kk), ti in zip(shapes, tt, strict=True):
                    fl = 2.0 * mm * nn * kk * bh
                    ti = ti * bh / nbatch
                    tab.add(layer_kind=kind, **{"pass": ps}, op=nm, op_type="gemm", component="attention",
                            m=float(mm), n=float(nn), k=float(kk), count=bh, groups=1, flops=fl,
                            bytes=bh * (mm * kk + kk * nn + mm * nn) * act, time_s=ti,
                            efficiency=fl / (ti * g.peak_flops))

    # ---- memory-bound ops
    mem_bw = acc.hbm_bw_Bps * P.value(acc, "hbm_efficiency")
    fixed = P.value(acc, "kernel_fixed_s")
    logit_b = P.value(acc, "router_logit_bytes")
    permute_passes = P.value(acc, "moe_permute_passes_ep")

    def mem_op(kind, ps, name, comp, byts, kernels=1.0):
        tab.add(layer_kind=kind, **{"pass": ps}, op=name, op_type="memory", component=comp, m=0.0, n=0.0,
                k=0.0, count=kernels, groups=1, flops=0.0, bytes=byts,
                time_s=byts / mem_bw + kernels * fixed, efficiency=0.0)

    for kind, name, elems, kernels in grad_acc:
        if hook_kind == "copy":   # Megatron-FSDP: main_grad.copy_(grad), the buffer written only
            mem_op(kind, "bwd", name, "grad_acc", elems * (mgb + act), kernels)
        else:                     # the DDP hook's main_grad.add_ after each weight gradient
            mem_op(kind, "bwd", name, "grad_acc", elems * (2.0 * mgb + act), kernels)
    kinds = [kd for kd in LAYER_KINDS if kd in set(recs.kind)]
    for kind in kinds:
        for name, comp, byts in _elementwise(spec, kind, T, t, sp, s, b, flash, ep, etp, act,
                                             logit_b, permute_passes, dispatcher):
            for ps in passes:
                if ps == "fwd":
                    mem_op(kind, ps, name, comp, byts)
                else:
                    mem_op(kind, ps, f"{name}_bwd", comp, 2.0 * byts)

    # ---- quantization (cast) ops of low-precision GEMMs
    if low:
        eb = P.ELEMENT_BYTES[prec]
        sb = P.value(acc, "cast_scale_bytes", prec)
        amax = P.value(acc, "cast_amax_pass", prec)
        q = act + 2.0 * (eb + sb)  # read 16-bit once, write row- and column-wise quantized copies
        for kind, name, _comp, m, n, k, ps, nw in cast_rows:
            # nw weight matrices (k×n each): a grouped GEMM's local experts, 1 otherwise. A stack that
            # loops per-expert GEMMs (grouped_gemm_streams >= 1: Transformer Engine's GroupedLinear,
            # weight0 … weightN-1) quantizes each in its own kernel; one fused grouped kernel over a
            # stacked (E, k, n) weight quantizes it in one kernel per axis (see the docstring)
            wk = float(nw) if ggs >= 1 else 1.0
            w_bytes = nw * k * n * (q + amax * act) / wce  # weights, one copy per `wce` micro-batches
            if ps == "fwd":
                if fuse and name in _PRODUCER_FUSED:  # the producer writes the quantized copies
                    byts, kernels = m * k * (2.0 * (eb + sb) + amax * act) + w_bytes, wk / wce
                else:                                 # separate cast of the input X (m×k)
                    byts, kernels = m * k * (q + amax * act) + w_bytes, 1.0 + wk / wce
                op = f"{name}_cast"
            else:                                     # output gradient dY (m×n)
                byts, kernels, op = m * n * (q + amax * act), 1.0, f"{name}_cast_bwd"
            mem_op(kind, ps, op, "cast", byts, kernels)
            if scaling != "tensor" and ps == "bwd":   # X, W and dY quantized again along their other axis
                mem_op(kind, ps, f"{name}_cast_axis", "cast", act * (m * k + nw * k * n / wce + m * n),
                       2.0 + wk / wce)
                if scaling == "row":                  # rescale of the 16-bit dgrad (m×k) and wgrad (k×n) outputs
                    mem_op(kind, ps, f"{name}_rescale", "cast", 2.0 * act * (m * k + k * n), 2.0)
    return tab.frame(mem_bw, fixed)


def layer_times(spec: ModelSpec | str | dict[str, Any], seq_len: int, micro_batch: int = 1,
                tp: int = 1, accelerator: str = "MI300X",
                precision: str = "bf16", *, recompute: str = "none", causal: bool = True,
                flash: bool = True, sequence_parallel: bool = False, **kw: Any) -> pl.DataFrame:
    """Per-layer forward, backward and recompute time by layer kind.

    Parameters
    ----------
    As :func:`layer_ops` (its keyword arguments pass through); recompute : "none" |
    "selective" (attention core re-run, with the softmax when unfused) | "full" (whole forward
    re-run, not the LM head).

    Returns
    -------
    polars.DataFrame
        layer_kind, layers (layers of that kind; 1 for "head"), fwd_s, bwd_s, recompute_s
        [s per layer per micro-batch], flops_fwd [FLOP per layer].

    Examples
    --------
    >>> import infra_lab as il
    >>> lt = il.compute.layer_times("llama3-8b", 4096, 1, 1, "MI300X")
    >>> r = lt.filter(lt["layer_kind"] == "dense").row(0, named=True)
    >>> 1.7 < r["bwd_s"] / r["fwd_s"] < 2.6
    True
    """
    spec = _spec(spec)
    if recompute not in RECOMPUTE:
        raise unknown("recompute", recompute, RECOMPUTE)
    ops = layer_ops(spec, seq_len, micro_batch, tp, accelerator, precision, causal=causal,
                    flash=flash, sequence_parallel=sequence_parallel, passes=("fwd", "bwd"), **kw)
    kinds = spec.layer_kinds()
    out = []
    for kind in ops["layer_kind"].unique(maintain_order=True).to_list():
        sub = ops.filter(pl.col("layer_kind") == kind)
        fwd = sub.filter(pl.col("pass") == "fwd")
        f = float(fwd["time_s"].sum())
        bwd = float(sub.filter(pl.col("pass") == "bwd")["time_s"].sum())
        if recompute == "full" and kind != "head":
            r = f
        elif recompute == "selective" and kind != "head":
            r = float(fwd.filter((pl.col("component") == "attention") | (pl.col("op") == "softmax"))["time_s"].sum())
        else:
            r = 0.0
        n = 1 if kind == "head" else (spec.mtp_layers if kind == "mtp" else kinds.count(kind))
        out.append({"layer_kind": kind, "layers": n, "fwd_s": f, "bwd_s": bwd, "recompute_s": r,
                    "flops_fwd": float(fwd["flops"].sum())})
    return pl.DataFrame(out)


def optimizer_step_time(params: float, accelerator: str, optimizer: str = "adamw",
                        state_bytes_per_param: float | None = None) -> float:
    """Time of the element-wise optimizer update on ``params`` local parameters [s].

    Memory-bound. Per parameter the update reads and writes the fp32 optimizer state
    (master weight and moments: S bytes, :data:`infra_lab.memory.OPTIMIZER_STATE_BYTES`, the
    one owner), reads and writes the 16-bit weight (2 + 2 B) and reads the fp32 gradient
    (4 B): 2·S + 8 B/param — AdamW (S = 12) 32 B, Muon or SGD with momentum (S = 8) 24 B.
    ``state_bytes_per_param`` overrides S. Muon's Newton–Schulz orthogonalization is not in
    this element-wise part: :func:`newton_schulz_times` prices it per weight matrix and the
    training model adds it to the optimizer component.
    """
    from ..memory import OPTIMIZER_STATE_BYTES

    n = P.check_number("params", params, lo=0.0)
    if not isinstance(optimizer, str) or optimizer not in OPTIMIZER_STATE_BYTES:
        raise unknown("optimizer", optimizer, OPTIMIZER_STATE_BYTES)
    s = OPTIMIZER_STATE_BYTES[optimizer] if state_bytes_per_param is None else \
        P.check_number("state_bytes_per_param", state_bytes_per_param, lo=0.0)
    b = 2.0 * s + 2.0 * P.ELEMENT_BYTES["bf16"] + P.ELEMENT_BYTES["fp32"]
    from .gemm import op_time

    return op_time(0.0, n * b, accelerator)


MUON_COMPONENTS = ("attn_gemm", "mlp_gemm", "expert_gemm", "shared_expert_gemm", "router", "ssm_gemm",
                   "lora_gemm", "hybrid_linear", "mtp_proj")
"""GEMM components whose weight matrices Muon orthogonalizes: every 2-D weight of a block. The
embeddings, the LM head (component "head") and the 1-D parameters (norms, biases, residual
scales) stay with AdamW, as in Muon's reference recipe (https://kellerjordan.github.io/posts/muon/)
and Moonlight (https://arxiv.org/abs/2502.16982); ``infra_lab.memory._MUON_ADAMW_GROUPS`` is the
same split for the optimizer-state bytes."""


def newton_schulz_flops(rows: int, cols: int, iterations: int = 5) -> float:
    """FLOPs of the Newton–Schulz orthogonalization of one rows×cols matrix [FLOP].

    With a = min(rows, cols) and b = max(rows, cols) (the iteration runs on the a×b
    orientation), each of the ``iterations`` quintic steps X ← αX + (βA + γA²)X with A = X·Xᵀ
    costs X·Xᵀ (2a²b) + A·A (2a³) + the product with X (2a²b) = 4a²b + 2a³ FLOP. Keller
    Jordan's reference and Moonlight run 5 iterations
    (https://kellerjordan.github.io/posts/muon/, https://arxiv.org/abs/2502.16982). The initial
    normalisation and the scalar combinations (fused into the GEMM epilogues, as ``addmm``
    does) are not counted.

    Examples
    --------
    >>> from infra_lab.compute import newton_schulz_flops
    >>> newton_schulz_flops(2, 3, 1)    # 4·4·3 + 2·8
    64.0
    """
    r = P.check_number("rows", rows, lo=1, hi=2**24, integer=True)
    c = P.check_number("cols", cols, lo=1, hi=2**24, integer=True)
    k = P.check_number("iterations", iterations, lo=0, hi=64, integer=True)
    a, b = float(min(r, c)), float(max(r, c))
    return float(k) * (4.0 * a * a * b + 2.0 * a ** 3)


@functools.lru_cache(maxsize=256)
def _muon_matrices(spec) -> tuple[tuple, ...]:
    r = gemm_records(spec, 1, 1, 1)
    out = []
    for kind, name, comp, n, k, c, g in zip(r.kind, r.name, r.component, r.n, r.k, r.count, r.groups,
                                            strict=True):
        if comp not in MUON_COMPONENTS:
            continue
        expert = comp == "expert_gemm"
        # a weight GEMM [T×k]·[k×n] holds one k×n matrix per count; a grouped expert GEMM
        # one per local expert (all E experts with ep = 1)
        out.append((kind, name, comp, expert, int(k), int(n), int(g if expert else c)))
    return tuple(out)


def muon_matrices(spec: ModelSpec | str | dict[str, Any]) -> pl.DataFrame:
    """The weight matrices Muon orthogonalizes, per layer of each kind (unsharded: tp = ep = 1).

    Read from :func:`gemm_records` (the one GEMM list): a weight GEMM [tokens×k]·[k×n] holds a
    k×n matrix; fused projections stay one matrix as the framework stores them (qkv, gate+up of
    a gated MLP/expert); routed experts are separate matrices (``count`` = experts per layer).
    Components: :data:`MUON_COMPONENTS`. Not listed: convolution kernels (CCA, Mamba2) and other
    parameters outside the GEMM list (a small share of the parameters).

    Returns
    -------
    polars.DataFrame
        layer_kind, name, component, expert (bool), rows, cols [elements], count [matrices
        per layer]
    """
    spec = _spec(spec)
    rows = _muon_matrices(spec)
    cols = ("layer_kind", "name", "component", "expert", "rows", "cols", "count")
    if not rows:
        return pl.DataFrame({c: [] for c in cols})
    return pl.DataFrame([dict(zip(cols, r, strict=True)) for r in rows])


def newton_schulz_times(spec: ModelSpec | str | dict[str, Any], accelerator: str,
                        iterations: int = 5, precision: str = "bf16") -> pl.DataFrame:
    """Newton–Schulz time of every Muon matrix of one layer of each kind, unsharded [s].

    Each iteration on an a×b matrix (a ≤ b) runs three GEMMs timed by the compute model's GEMM
    (:func:`infra_lab.compute.gemm_times`, efficiencies and fixed costs included): X·Xᵀ
    (m = n = a, k = b), A·A (a, a, a) and the product with X (a, b, a); FLOPs as
    :func:`newton_schulz_flops`. The ``count`` matrices of one row (the experts of a layer) run
    as batched GEMMs of that shape. Approximation: bf16 iterations (as Keller Jordan's
    reference); the element-wise combinations are taken as fused into the GEMM epilogues.
    The step model (:func:`infra_lab.training.estimate`) divides this whole-matrix work by the
    tensor-parallel size (expert matrices by ep·etp). Dividing by ep is exact (each EP rank
    holds whole experts); dividing by tp or etp is an APPROXIMATION: Newton–Schulz needs whole
    matrices, so either the TP shards are gathered and the whole matrices spread over the TP
    ranks (that gather/scatter is not priced) or each rank iterates on its a×(b/tp) shard,
    a different algorithm whose a³ term does not shrink with tp. A Muon plan with tp > 1 or
    etp > 1 is therefore optimistic.

    Returns
    -------
    polars.DataFrame
        :func:`muon_matrices`' columns + flops [FLOP per layer], time_s [s per layer, all
        ``count`` matrices], time_per_matrix_s [s]

    Examples
    --------
    >>> import infra_lab as il
    >>> t = il.compute.newton_schulz_times("zaya1-base", "MI300X")
    >>> bool((t["time_s"] > 0).all())
    True
    """
    spec = _spec(spec)
    acc = P.accelerator(accelerator)
    prec = P.precision(precision)
    k = P.check_number("iterations", iterations, lo=0, hi=64, integer=True)
    return _ns_times(spec, acc.name, int(k), prec).clone()


@functools.lru_cache(maxsize=64)
def _ns_times(spec, acc_name: str, iterations: int, precision: str) -> pl.DataFrame:
    from .gemm import gemm_times

    mats = muon_matrices(spec)
    if mats.height == 0:
        return mats.with_columns(pl.lit(0.0).alias("flops"), pl.lit(0.0).alias("time_s"),
                                 pl.lit(0.0).alias("time_per_matrix_s"))
    r, c, cnt = (mats[x].to_numpy().astype(np.int64) for x in ("rows", "cols", "count"))
    a, b = np.minimum(r, c), np.maximum(r, c)
    t = (gemm_times(a, a, b, acc_name, precision, cnt) + gemm_times(a, a, a, acc_name, precision, cnt)
         + gemm_times(a, b, a, acc_name, precision, cnt)) * iterations
    fl = np.array([newton_schulz_flops(int(x), int(y), iterations) for x, y in zip(r, c, strict=True)]) * cnt
    return mats.with_columns(pl.Series("flops", fl, dtype=pl.Float64), pl.Series("time_s", t, dtype=pl.Float64),
                             pl.Series("time_per_matrix_s", t / cnt, dtype=pl.Float64))


def roofline_points(spec: ModelSpec | str | dict[str, Any], seq_len: int, micro_batch: int,
                    accelerators: list[str],
                    precision: str = "bf16", tp: int = 1) -> pl.DataFrame:
    """Where one layer's forward ops fall on each device's roofline.

    Returns accelerator, vendor, layer_kind, op, op_type, component, intensity_flop_per_byte
    [FLOP/byte], achieved_tflops [TFLOP/s], time_s [s], bound. Element-wise ops, whose FLOPs
    are not counted, are placed at a nominal 0.25 FLOP/byte (about one FLOP per 16-bit
    element read and written) with achieved rate 0.25 × bytes / time.
    """
    if isinstance(accelerators, str) or not isinstance(accelerators, (list, tuple)) or not accelerators:
        raise ValidationError(f"accelerators = {accelerators!r}: expected a non-empty list of catalog names")
    frames = []
    for a in accelerators:
        acc = P.accelerator(a)
        ops = layer_ops(spec, seq_len, micro_batch, tp, acc.name, precision)
        ops = ops.filter(pl.col("layer_kind") != "head")
        fl, by, tt = (ops[c].to_numpy() for c in ("flops", "bytes", "time_s"))
        inten = np.where(fl > 0, ops["intensity"].to_numpy(), 0.25)
        achieved = np.where(fl > 0, fl / tt, 0.25 * by / tt) / 1e12
        frames.append(ops.select("layer_kind", "op", "op_type", "component", "time_s", "bound").with_columns(
            pl.lit(acc.name).alias("accelerator"), pl.lit(acc.vendor).alias("vendor"),
            pl.Series("intensity_flop_per_byte", inten), pl.Series("achieved_tflops", achieved)))
    return pl.concat(frames)
