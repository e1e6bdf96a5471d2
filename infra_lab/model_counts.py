"""Parameter and FLOP counts of a :class:`~infra_lab.models.ModelSpec`, part by part.

Functions of a spec: :class:`~infra_lab.models.ModelSpec`'s count properties and methods
(``params_total``, ``param_breakdown()``, ``flops_per_token()``, ...) call them, and so may
anyone who holds a spec; plus the published FLOP formulas (:func:`six_nd`,
:func:`narayanan_flops`) and the FLOP conventions of MFU (:func:`training_flops_per_token`),
which :mod:`infra_lab.models` re-exports.

Counting conventions
--------------------
* Parameters are counted exactly from the architecture fields, including norms,
  biases, learned position embeddings, routers and adapters, so the counts of
  published checkpoints are reproduced (GPT-2 small, Llama-3-8B, Mixtral-8x7B
  exactly; the others within a stated tolerance, see ``presets()``).
* ``params_active`` counts what one token touches: every non-expert parameter
  (embeddings included) plus ``top_k`` routed experts and the shared experts.
* FLOPs count matrix multiplications only (2·m·n·k per GEMM); norms, activations,
  softmax, residual adds and RoPE are left out. Attention scores (QKᵀ) and context
  (AV) cost 2·s·d each per query and head for full (non-causal) attention; with
  ``causal=True`` both are halved (each query sees s/2 keys on average). Narayanan
  et al. 2021 count full attention, so compare with ``causal=False``.
* Training = forward + backward = 3 × forward. ``recompute="full"`` adds one more
  forward of the layers (not of the LM head), as in Narayanan Eq. 3;
  ``"selective"`` adds only the attention-core (QKᵀ, AV) forward.
"""

from __future__ import annotations

import functools
import math
from typing import TYPE_CHECKING, Any

import polars as pl

from ._model_fields import _FFN_ACTS
from .scenario import RECOMPUTE as _RECOMPUTE  # the one definition of the enum

if TYPE_CHECKING:
    from .models import ModelSpec

__all__ = [
    "breakdown", "params_total", "params_active", "params_embedding", "params_published_basis",
    "param_breakdown", "params_mtp", "forward_parts", "flops_breakdown", "forward_flops_per_token",
    "flops_per_token", "flops_per_token_conventions", "flops_per_step", "six_nd", "narayanan_flops",
    "FLOP_CONVENTIONS", "training_flops_per_token",
]

# compute.COMPONENTS of the GEMM list -> parts of flops_breakdown()
_BREAKDOWN = {
    "attn_gemm": "attention_proj", "attention": "attention_core", "mlp_gemm": "mlp",
    "expert_gemm": "experts", "shared_expert_gemm": "shared_experts", "router": "router",
    "ssm_gemm": "ssm_proj", "lora_gemm": "lora_adapters", "hybrid_linear": "hybrid_linear",
    "mtp_proj": "mtp", "head": "lm_head",
}


# ---------------------------------------------------------------------- parameters
def _norm_params(spec: ModelSpec, width: int) -> int:
    """Parameters of one norm over ``width`` elements [count] (LayerNorm: weight and bias)."""
    return 2 * width if spec.norm == "layernorm" else width


def _attention_params(spec: ModelSpec) -> dict[str, int]:
    """Parameters of one attention sublayer (projections and their norms)."""
    h, a, kv, d, b = spec.hidden, spec.heads, spec.kv_heads, spec.head_dim, spec.bias
    if spec.attention == "mla":
        qk = spec.qk_nope_head_dim + spec.qk_rope_head_dim
        if spec.q_lora_rank:
            q = h * spec.q_lora_rank + spec.q_lora_rank * a * qk
            n = _norm_params(spec, spec.q_lora_rank)
        else:
            q, n = h * a * qk, 0
        kv_a = h * (spec.kv_lora_rank + spec.qk_rope_head_dim)
        kv_b = spec.kv_lora_rank * a * (spec.qk_nope_head_dim + spec.v_head_dim)
        o = a * spec.v_head_dim * h
        n += _norm_params(spec, spec.kv_lora_rank)
        return {"attention": q + kv_a + kv_b + o, "norms": n}
    din = spec._attn_in()
    qkv = din * (a * d + 2 * kv * d) + (a * d + 2 * kv * d if (b or spec.qkv_bias) else 0)
    o = a * d * h + (h if b else 0)
    extra = 0
    if spec.attention == "cca":
        # q_proj, k_proj and two half-width value projections (current, delayed): same
        # shapes as GQA q/k/v. Then two causal convolutions over the C = (a+kv)·d
        # q/k channels: depthwise (kernel t0) and grouped with a+kv groups (kernel t1),
        # both with bias; plus one learned key temperature per KV head.
        c = (a + kv) * d
        extra = (c * spec.cca_time0 + c) + (c * (c // (a + kv)) * spec.cca_time1 + c) + kv
    n = 2 * d if spec.qk_norm else 0
    if spec.attention_sinks:
        extra += a  # one learned sink logit per query head
    return {"attention": qkv + o + extra, "norms": n}


def _mlp_params(spec: ModelSpec, width: int) -> int:
    """Parameters of one MLP (or expert) of intermediate width ``width`` [count]."""
    h, m = spec.hidden, _FFN_ACTS[spec.ffn_act]
    w = m * h * width
    if spec.bias:
        w += (m - 1) * width + h
    return w


def _router_params(spec: ModelSpec, layer_index: int) -> int:
    """Parameters of the router of MoE layer ``layer_index`` [count]."""
    h, e = spec.hidden, spec.experts
    if spec.router == "mlp":
        r = spec.router_hidden
        p = h * r + r  # down-projection with bias
        p += r if layer_index > 0 else 0  # EDA state scale (not in the first MoE layer)
        p += r  # RMSNorm
        p += 2 * (r * r + r)  # fc1, fc2 with bias
        p += r * (e + 1)  # logits over experts + the mixture-of-depths skip class
        return p
    return h * e + (e if spec.bias else 0)


def _mamba2_params(spec: ModelSpec) -> int:
    """Parameters of one Mamba2 mixer [count]."""
    h, di, n, g = spec.hidden, spec.d_inner, spec.ssm_state, spec.ssm_groups
    nh = spec.ssm_heads
    conv_dim = di + 2 * g * n
    in_proj = h * (di + conv_dim + nh) + ((di + conv_dim + nh) if spec.bias else 0)
    conv = conv_dim * spec.ssm_conv + conv_dim
    out_proj = di * h + (h if spec.bias else 0)
    return in_proj + conv + 3 * nh + di + out_proj  # dt_bias, A_log, D; gated norm (di)


def breakdown(spec: ModelSpec) -> dict[str, tuple[int, int]]:
    """Parameters by component as ``{component: (total, active)}`` [count]: the numbers
    behind every ``params_*`` count and :func:`param_breakdown` (``ModelSpec._breakdown``
    keeps it per spec)."""
    h = spec.hidden
    tot: dict[str, int] = {}
    act: dict[str, int] = {}

    def add(comp: str, total: int, active: int | None = None) -> None:
        tot[comp] = tot.get(comp, 0) + int(total)
        act[comp] = act.get(comp, 0) + int(total if active is None else active)

    add("embeddings", spec.vocab * h)
    add("position_embeddings", spec.max_seq_len * h if spec.pos_emb == "learned" else 0)
    add("lm_head", 0 if spec.tied_embeddings else spec.vocab * h)
    for comp in ("attention", "mlp", "experts", "shared_experts", "router", "norms"):
        add(comp, 0)
    if spec.arch == "hybrid_ssm":
        mamba = _mamba2_params(spec)
        add("ssm", mamba * spec.layers)
        add("norms", _norm_params(spec, h) * spec.layers)
        # shared blocks: RMSNorm(2h) → attention on the 2h concat → RMSNorm(h) → MLP
        ap = _attention_params(spec)
        blocks = spec.shared_attn_blocks
        add("attention", ap["attention"] * blocks)
        add("norms", (ap["norms"] + _norm_params(spec, 2 * h) + _norm_params(spec, h)) * blocks)
        add("mlp", _mlp_params(spec, spec.ffn_hidden) * blocks)
        n_ins = len(spec.shared_attn_insertions)
        add("hybrid_linear", n_ins * h * h)
        if spec.lora_rank:
            r = spec.lora_rank
            lora = h * r + r * (_FFN_ACTS[spec.ffn_act] - 1) * spec.ffn_hidden
            if spec.lora_attention:
                din = spec._attn_in()
                a, kv, d = spec.heads, spec.kv_heads, spec.head_dim
                lora += (din * r + r * a * d) + 2 * (din * r + r * kv * d)
            add("lora_adapters", n_ins * lora)
    else:
        ap = _attention_params(spec)
        for i, kind in enumerate(spec.layer_kinds()):
            add("attention", ap["attention"])
            add("norms", ap["norms"] + 2 * _norm_params(spec, h))
            if spec.residual_scale:
                add("residual_scales", 8 * h)  # scale+bias on branch and residual, twice
            if kind == "dense":
                add("mlp", _mlp_params(spec, spec.ffn_hidden))
            else:
                ew = spec.expert_ffn_hidden or spec.ffn_hidden
                one = _mlp_params(spec, ew)
                add("experts", spec.experts * one, spec.top_k * one)
                if spec.shared_experts:
                    add("shared_experts", spec.shared_experts * _mlp_params(spec, spec.shared_expert_ffn_hidden))
                add("router", _router_params(spec, i))
        if spec.residual_scale:
            add("residual_scales", 2 * h)  # input scale+bias
    add("norms", _norm_params(spec, h))  # final norm
    return {k: (tot[k], act[k]) for k in tot}


def params_total(spec: ModelSpec) -> int:
    """Total parameters [count] (tied embeddings counted once)."""
    return sum(t for t, _ in spec._breakdown.values())


def params_active(spec: ModelSpec) -> int:
    """Parameters used per token [count]: all but the routed experts not chosen."""
    return sum(a for _, a in spec._breakdown.values())


def params_embedding(spec: ModelSpec) -> int:
    """Embedding, position-embedding and (untied) LM-head parameters [count]."""
    b = spec._breakdown
    return b["embeddings"][0] + b["position_embeddings"][0] + b["lm_head"][0]


def params_published_basis(spec: ModelSpec) -> tuple[int, int]:
    """(total, active) on this preset's ``published_basis`` [count]."""
    if spec.published_basis == "active_without_input_embedding":
        b = spec._breakdown
        return params_total(spec), params_active(spec) - b["embeddings"][0] - b["position_embeddings"][0]
    sub = params_embedding(spec) if spec.published_basis == "non_embedding" else 0
    return params_total(spec) - sub, params_active(spec) - sub


def param_breakdown(spec: ModelSpec) -> pl.DataFrame:
    """Parameters by component.

    Returns
    -------
    polars.DataFrame
        Columns ``component``, ``params_total``, ``params_active`` [count]; components:
        embeddings, position_embeddings, lm_head (0 if tied), attention, mlp,
        experts, shared_experts, router, norms, and where present ssm,
        hybrid_linear, lora_adapters, residual_scales.

    Examples
    --------
    >>> from infra_lab.models import get
    >>> df = get("mixtral-8x7b").param_breakdown()
    >>> int(df["params_total"].sum())
    46702792704
    """
    b = spec._breakdown
    return pl.DataFrame(
        {
            "component": list(b),
            "params_total": [t for t, _ in b.values()],
            "params_active": [a for _, a in b.values()],
        },
        schema={"component": pl.String, "params_total": pl.Int64, "params_active": pl.Int64},
    )


def params_mtp(spec: ModelSpec) -> int:
    """Parameters of the multi-token-prediction modules [count] (not in params_total):
    per module two RMSNorms (h each), the 2h → h projection and one block of the last
    layer's kind (its output head is shared with the model's)."""
    if not spec.mtp_layers:
        return 0
    h = spec.hidden
    ap = _attention_params(spec)
    block = ap["attention"] + ap["norms"] + 2 * _norm_params(spec, h)
    if spec.mtp_layer_kind() == "moe":
        ew = spec.expert_ffn_hidden or spec.ffn_hidden
        block += spec.experts * _mlp_params(spec, ew) + _router_params(spec, 1)
        if spec.shared_experts:
            block += spec.shared_experts * _mlp_params(spec, spec.shared_expert_ffn_hidden)
    else:
        block += _mlp_params(spec, spec.ffn_hidden)
    return spec.mtp_layers * (2 * _norm_params(spec, h) + 2 * h * h + block + _norm_params(spec, h))


# ---------------------------------------------------------------------- FLOPs
@functools.lru_cache(maxsize=256)  # a ModelSpec is frozen and hashable
def forward_parts(spec: ModelSpec, seq_len: int, causal: bool) -> dict[str, float]:
    """Forward FLOPs per token by breakdown part, summed over layers [FLOP/token]."""
    from .compute import gemm_records

    s = float(seq_len)
    parts: dict[str, float] = {}

    def add(k: str, v: float) -> None:
        parts[k] = parts.get(k, 0.0) + v

    r = gemm_records(spec, seq_len, 1, 1, causal=causal)
    counts: dict[str, int] = {"head": 1, "mtp": spec.mtp_layers}
    for k in spec.layer_kinds():
        counts[k] = counts.get(k, 0) + 1
    for kind, comp, m, n, kk, c in zip(r.kind, r.component, r.m, r.n, r.k, r.count, strict=True):
        part = "mtp" if kind == "mtp" else _BREAKDOWN[comp]
        add(part, counts[kind] * 2.0 * m * n * kk * c / s)
    # non-GEMM work that is still O(d) multiply-adds per token
    nssm = counts.get("mamba2", 0) + counts.get("hybrid", 0)
    if nssm:
        di, n_, ng = spec.d_inner, spec.ssm_state, spec.ssm_groups
        add("ssm_conv", nssm * 2.0 * (di + 2 * ng * n_) * spec.ssm_conv)
        # recurrent form of the Mamba2/SSD scan per token: state update
        # h <- exp(dtA)·h + dt·B xᵀ (≈ 4·d_inner·N) and output y = C·h (2·d_inner·N)
        add("ssm_scan", nssm * 6.0 * di * n_)
    if spec.attention == "cca":
        nattn = counts.get("dense", 0) + counts.get("moe", 0)
        c = (spec.heads + spec.kv_heads) * spec.head_dim
        conv = 2.0 * c * spec.cca_time0 + 2.0 * c * (c // (spec.heads + spec.kv_heads)) * spec.cca_time1
        add("cca_conv", nattn * conv)
    if not math.isfinite(sum(parts.values())):  # pragma: no cover
        raise ArithmeticError("non-finite FLOP count")
    return parts


def flops_breakdown(spec: ModelSpec, seq_len: int, causal: bool = True) -> pl.DataFrame:
    """Forward FLOPs per token by component.

    Parameters
    ----------
    spec : ModelSpec
    seq_len : int
        Sequence length s [tokens].
    causal : bool
        Halve attention scores/context (causal mask).

    Returns
    -------
    polars.DataFrame
        ``component``, ``forward_flops_per_token`` [FLOP/token]: attention_proj,
        attention_core, mlp, experts, shared_experts, router, lora_adapters,
        hybrid_linear, ssm_proj, ssm_conv, ssm_scan, cca_conv, lm_head, mtp (the
        multi-token-prediction modules, all their GEMMs) (those present).
    """
    _posint("seq_len", seq_len)
    p = forward_parts(spec, int(seq_len), bool(causal))
    return pl.DataFrame({"component": list(p), "forward_flops_per_token": list(p.values())},
                        schema={"component": pl.String, "forward_flops_per_token": pl.Float64})


def forward_flops_per_token(spec: ModelSpec, seq_len: int, causal: bool = True) -> float:
    """Forward FLOPs per token, all layers + LM head [FLOP/token].

    Examples
    --------
    >>> from infra_lab.models import get
    >>> f = get("megatron-175b").forward_flops_per_token(2048, causal=False)
    >>> round(f / 1e9, 1)
    358.8
    """
    _posint("seq_len", seq_len)
    return float(sum(forward_parts(spec, int(seq_len), bool(causal)).values()))


def flops_per_token(spec: ModelSpec, seq_len: int, training: bool = True, causal: bool = True,
                    recompute: str = "none") -> float:
    """FLOPs per token of a training (or inference) step [FLOP/token].

    Parameters
    ----------
    spec : ModelSpec
    seq_len : int
        Sequence length s [tokens].
    training : bool
        Forward + backward (backward = 2 × forward) when True; forward only otherwise.
    causal : bool
        Halve attention scores/context.
    recompute : {"none", "selective", "full"}
        Activation recomputation: ``"full"`` adds one forward of every layer (not the
        LM head); ``"selective"`` adds the attention-core forward only.

    Notes
    -----
    F = 3·F_fwd + F_recompute. With ``causal=False`` and ``recompute="full"`` a dense
    GPT gives Narayanan's 96·s·l·h²·(1 + s/(6h) + V/(16lh)) per sequence.
    """
    from .errors import ValidationError

    if recompute not in _RECOMPUTE:
        raise ValidationError(f"recompute = {recompute!r}: allowed values are {', '.join(_RECOMPUTE)}")
    for k, v in (("training", training), ("causal", causal)):
        if not isinstance(v, bool):
            raise ValidationError(f"{k} = {v!r}: expected True or False")
    _posint("seq_len", seq_len)
    parts = forward_parts(spec, int(seq_len), bool(causal))
    fwd = float(sum(parts.values()))
    if not training:
        return fwd
    extra = 0.0
    if recompute == "full":
        extra = fwd - parts.get("lm_head", 0.0)
    elif recompute == "selective":
        extra = parts.get("attention_core", 0.0)
    return 3.0 * fwd + extra


def flops_per_token_conventions(spec: ModelSpec, seq_len: int, recompute: str = "none") -> pl.DataFrame:
    """Training FLOPs per token under every convention of :data:`FLOP_CONVENTIONS`.

    Returns
    -------
    polars.DataFrame : convention, flops_per_token [FLOP/token], ratio_to_6N [-],
        description
    """
    vals = [training_flops_per_token(spec, seq_len, c, recompute=recompute) for c in FLOP_CONVENTIONS]
    return pl.DataFrame({"convention": list(FLOP_CONVENTIONS), "flops_per_token": vals,
                         "ratio_to_6N": [v / vals[0] if vals[0] else float("nan") for v in vals],
                         "description": list(FLOP_CONVENTIONS.values())})


def flops_per_step(spec: ModelSpec, seq_len: int, global_batch: int, training: bool = True,
                   causal: bool = True, recompute: str = "none") -> float:
    """FLOPs of one optimizer step = flops_per_token · seq_len · global_batch [FLOP].

    Parameters
    ----------
    spec : ModelSpec
    seq_len : int
        Sequence length [tokens].
    global_batch : int
        Sequences per step [count].
    """
    _posint("global_batch", global_batch)
    return flops_per_token(spec, seq_len, training, causal, recompute) * seq_len * global_batch


# ---------------------------------------------------------------------- published formulas, conventions
def six_nd(params: float, tokens: float) -> float:
    """Training FLOPs ≈ 6·N·D [FLOP] (N parameters, D tokens; Kaplan et al. 2020).

    Parameters
    ----------
    params : N [parameters] (for an MoE, the *active* parameters: see
        :func:`training_flops_per_token` for which N); tokens : D [tokens]

    Examples
    --------
    >>> six_nd(1e9, 1e12)
    6e+21
    """
    n, d = _nonneg("params", params), _nonneg("tokens", tokens)
    return _finite_flops("six_nd", 6.0 * n * d, params=params, tokens=tokens)


FLOP_CONVENTIONS = {
    "6N": "6 x active non-embedding parameters (Kaplan et al. 2020)",
    "6N+head": "6N + the LM-head GEMM (6·V·h)",
    "6N+head+causal_attn": "6N + LM head + attention scores/context under a causal mask (half of s x s)",
    "6N+head+attn": "6N + LM head + full s x s attention (PaLM's 6N + 12·L·H·Q·T; Korthikanti et al.)",
    "executed": "every GEMM the step runs (router, MTP modules, recomputation), causal attention as half",
}
"""FLOP-per-token conventions of :func:`training_flops_per_token` (name -> description)."""


def training_flops_per_token(spec: ModelSpec | str, seq_len: int, convention: str = "6N+head+causal_attn",
                             *, recompute: str = "none") -> float:
    """Training FLOPs per token under a named convention [FLOP/token].

    Parameters
    ----------
    spec : ModelSpec or preset name; seq_len : s [tokens]
    convention : one of :data:`FLOP_CONVENTIONS`
    recompute : "none" | "selective" | "full" (only the "executed" convention counts it)

    Returns
    -------
    float [FLOP/token]

    Notes
    -----
    N = active non-embedding parameters (``params_active - params_embedding``; routed experts
    counted top_k times, shared experts and routers included, MTP modules excluded). The LM
    head adds 2·V·h forward FLOPs per token whether or not it is tied to the embedding. The
    attention core (QKᵀ and AV) adds 2·s·heads·(d_qk + d_v) forward FLOPs per token and
    attention layer without a mask, half of that with a causal mask. Training = 3 × forward.
    MFU under one convention is that convention's FLOPs over peak × time; the conventions
    differ most for small-hidden models with large vocabularies (ZAYA1: LM head ≈ a third of
    the executed FLOPs).

    Examples
    --------
    >>> from infra_lab import models
    >>> z = models.get("llama3-8b")
    >>> a = models.training_flops_per_token(z, 4096, "6N")
    >>> b = models.training_flops_per_token(z, 4096, "6N+head+attn")
    >>> round(a / 1e9, 2), b > a
    (41.88, True)
    """
    from .errors import ValidationError
    from .models import ModelSpec, get

    if isinstance(spec, str):
        spec = get(spec)
    if not isinstance(spec, ModelSpec):
        raise ValidationError(f"spec = {spec!r}: expected a ModelSpec or a preset name")
    if not isinstance(convention, str) or convention not in FLOP_CONVENTIONS:
        from .errors import unknown

        raise unknown("FLOP convention", convention, list(FLOP_CONVENTIONS))
    s = _posint("seq_len", seq_len)
    if recompute not in _RECOMPUTE:
        raise ValidationError(f"recompute = {recompute!r}: allowed values are {', '.join(_RECOMPUTE)}")
    if convention == "executed":
        return flops_per_token(spec, s, training=True, causal=True, recompute=recompute)
    n = params_active(spec) - params_embedding(spec)
    f = 6.0 * n
    if convention == "6N":
        return f
    f += 6.0 * spec.vocab * spec.hidden
    if convention == "6N+head":
        return f
    attn = forward_parts(spec, s, convention == "6N+head+causal_attn").get("attention_core", 0.0)
    return f + 3.0 * attn


def narayanan_flops(batch: float, seq_len: float, layers: float, hidden: float, vocab: float) -> float:
    """FLOPs per iteration with full activation recomputation [FLOP].

    F = 96·B·s·l·h²·(1 + s/(6h) + V/(16·l·h)) (Narayanan et al. 2021, Eq. 3): forward,
    recomputed forward and backward of dense GPT layers with full (non-causal)
    attention, plus 3 passes of the logit layer.

    Parameters
    ----------
    batch : float
        Global batch B [sequences].
    seq_len : float
        s [tokens].
    layers, hidden, vocab : float
        l [count], h [elements], V [tokens].

    References
    ----------
    https://arxiv.org/abs/2104.04473
    """
    b, s, v = (_nonneg(k, x) for k, x in (("batch", batch), ("seq_len", seq_len), ("vocab", vocab)))
    ell, h = float(_posint("layers", layers)), float(_posint("hidden", hidden))
    f = 96.0 * b * s * ell * h * h * (1.0 + s / (6.0 * h) + v / (16.0 * ell * h))
    return _finite_flops("narayanan_flops", f, batch=batch, seq_len=seq_len, layers=layers, hidden=hidden,
                         vocab=vocab)


def _finite_flops(where: str, flops: float, **inputs: Any) -> float:
    """``flops`` if finite, else a ValidationError naming the inputs (a float overflow)."""
    if not math.isfinite(flops):
        from .errors import ValidationError

        given = ", ".join(f"{k} = {v!r}" for k, v in inputs.items())
        raise ValidationError(f"{where}({given}): the FLOP count overflows a float (> 1.8e308); "
                              "allowed inputs whose product stays below it")
    return flops


def _nonneg(name: str, value: Any) -> float:
    from .errors import check_positive

    return float(check_positive(name, value, allow_zero=True))


def _posint(name: str, value: Any) -> int:
    from .errors import check_positive

    return int(check_positive(name, value, integer=True))
