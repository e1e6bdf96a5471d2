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
An allocator reserve (``reserve_bytes`` + ``reserve_fraction`` of HBM: runtime context,
communication buffers and workspaces, plus allocator fragmentation) is its own row.

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

import functools
import math
from typing import Any

import polars as pl

from . import catalog
from .catalog import Col
from .errors import ValidationError, check_positive, unknown
from .units import GiB

__all__ = [
    "TRAINING_DEFAULTS",
    "OPTIMIZER_STATE_BYTES",
    "activation_bytes_per_layer",
    "korthikanti_activation_bytes",
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
]

OPTIMIZER_STATE_BYTES = {"adamw": 12.0, "adam": 12.0, "muon": 8.0, "sgd": 8.0}
"""Optimizer bytes per parameter [bytes]: AdamW/Adam = fp32 master + m + v (4+4+4);
Muon = fp32 master + momentum (4+4); SGD = fp32 master + momentum (4+4)."""

TRAINING_DEFAULTS: dict[str, Any] = {
    "weight_bytes": None,       # None: the stack's weight_bytes (16-bit working weights)
    "grad_bytes": None,         # None: the stack's grad_buffer_bytes (Megatron fp32 main_grad: 4)
    "optimizer_state_bytes": None,  # None: OPTIMIZER_STATE_BYTES[optimizer]
    "activation_bytes": 2.0,    # 16-bit activations
    "flash_attention": None,    # None: the stack's flash_attention (fused core, only the fp32 LSE stored)
    "dropout": None,            # None: the stack's dropout (1-byte masks as in GPT-3/Megatron)
    "reserve_fraction": None,   # None: the stack's memory_reserve_fraction [fraction of HBM]
    "reserve_bytes": None,      # None: the stack's memory_reserve_bytes [bytes]
    "include_embeddings": True,  # embedding / LM-head weights and head activations
}
"""Defaults of :func:`training_memory`'s overrides (documented in its docstring). ``None``
means "the value of the scenario's software stack" (``data/stacks.csv``, the same numbers
the step model of :func:`infra_lab.estimate` uses): one convention for gradient bytes,
weight bytes and the allocator reserve across the package."""

_STACK_KEYS = {"weight_bytes": "weight_bytes", "grad_bytes": "grad_buffer_bytes",
               "flash_attention": "flash_attention", "dropout": "dropout",
               "reserve_fraction": "memory_reserve_fraction", "reserve_bytes": "memory_reserve_bytes"}


def _spec(spec):
    from . import models

    return models.get(spec) if isinstance(spec, str) else spec


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
    sbh = float(s) * b * h
    core = 5.0 * a * s / h
    if recompute == "full":
        return 2.0 * sbh / (t if sequence_parallel else 1)
    if recompute == "selective":
        core = 0.0
    elif recompute != "none":
        raise unknown("recompute", recompute, ["none", "selective", "full"])
    if sequence_parallel:
        return sbh * (34.0 + core) / t
    return sbh * (10.0 + 24.0 / t + core / t)


def activation_bytes_per_layer(spec, seq_len: int, micro_batch: int = 1, tp: int = 1, *,
                               sequence_parallel: bool = False, recompute: str = "none",
                               flash_attention: bool = True, dropout: bool = False,
                               cp: int = 1, kind: str | None = None,
                               activation_bytes: float = 2.0) -> dict[str, float]:
    """Activation bytes stored for backward by one layer of each kind, one micro-batch.

    Parameters
    ----------
    spec : ModelSpec or preset name
    seq_len : s [tokens]; micro_batch : b [sequences]; tp : t [-]; cp : context parallel [-]
        (each rank keeps s/cp tokens)
    sequence_parallel : norms, dropouts and residual inputs sharded over t
    recompute : "none" | "selective" (attention core recomputed) | "full" (layer input only)
    flash_attention : fused attention stores no s² tensors (only a fp32 log-sum-exp per head)
    dropout : store 1-byte dropout masks (GPT-3 / Megatron style)
    kind : one layer kind (default: every kind of the model)
    activation_bytes : bytes per stored element [bytes]

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
    token (/t; balanced over EP ranks).
    """
    spec = _spec(spec)
    for name, v in (("seq_len", seq_len), ("micro_batch", micro_batch), ("tp", tp), ("cp", cp)):
        check_positive(name, v, integer=True)
    if recompute not in ("none", "selective", "full"):
        raise unknown("recompute", recompute, ["none", "selective", "full"])
    e = float(activation_bytes)
    s_loc = seq_len / cp
    T = s_loc * micro_batch  # local tokens
    h, a, t = spec.hidden, spec.heads, float(tp)
    rep = t if sequence_parallel else 1.0
    drop = 0.5 if dropout else 0.0  # 1-byte mask = half a 2-byte element

    def attention(width_in: float) -> float:
        if spec.attention == "mla":
            qk = spec.qk_nope_head_dim + spec.qk_rope_head_dim
            q = a * qk + spec.q_lora_rank
            kv = a * (qk + spec.v_head_dim) + spec.kv_lora_rank + spec.qk_rope_head_dim
            out = a * spec.v_head_dim
        else:
            d = spec.head_dim
            q, kv, out = a * d, 2 * spec.kv_heads * d, a * d
            if spec.attention == "cca":
                kv += (a + spec.kv_heads) * d  # convolution inputs of the q/k channels
        rep_el = (width_in + width_in) / rep + drop * h / rep  # norm input, QKV input, out-dropout
        shard_el = (q + kv + out) / t
        if flash_attention:
            core_b = 4.0 * a / t  # fp32 log-sum-exp per head [bytes/token]
        else:  # softmax output (e), dropout mask (1 B) and dropout output (e) per score
            core_b = a * seq_len * (e + ((1.0 + e) if dropout else 0.0)) / t
        if recompute == "selective":
            core_b = 0.0
        return T * (e * (rep_el + shard_el) + core_b)

    gate = 3.0 if spec.gated else 2.0

    def mlp(width: float, rows: float) -> float:
        return e * (rows * gate * width / t)

    def mlp_common() -> float:  # norm input + MLP input + output dropout
        return T * e * ((h + h) / rep + drop * h / rep)

    def moe() -> float:
        ef = spec.expert_ffn_hidden or spec.ffn_hidden
        k = spec.top_k
        x = mlp_common()
        x += T * 4.0 * (spec.experts + 1)           # router logits / probabilities, fp32
        x += T * e * (2.0 * k * h)                  # dispatched copies in, expert outputs
        x += mlp(ef, T * k)
        if spec.shared_experts:
            x += mlp(spec.shared_experts * spec.shared_expert_ffn_hidden, T)
        return x

    def mamba2() -> float:
        di, n, g, nh = spec.d_inner, spec.ssm_state, spec.ssm_groups, spec.ssm_heads
        return T * e * (2.0 * h / rep + (2 * di + 2 * g * n + nh) / t + (di + 2 * g * n) / t + 3.0 * di / t)

    out: dict[str, float] = {}
    kinds = [kind] if kind else list(dict.fromkeys(spec.layer_kinds()))
    for kd in kinds:
        if kd == "dense":
            full = attention(h) + mlp_common() + mlp(spec.ffn_hidden, T)
        elif kd == "moe":
            full = attention(h) + moe()
        elif kd == "mamba2":
            full = mamba2()
        elif kd == "hybrid":
            full = attention(2 * h) + mlp_common() + mlp(spec.ffn_hidden, T) + mamba2()
        else:
            raise unknown("layer kind", kd, ["dense", "moe", "mamba2", "hybrid"])
        if recompute == "full":
            full = T * e * h / rep
        out[kd] = full
    return out


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
        f = min(f, float(microbatches))
    return f


# --------------------------------------------------------------------------------------
# Training memory
# --------------------------------------------------------------------------------------
def _param_groups(spec) -> dict[str, float]:
    """Parameters split into embedding, lm_head, experts (routed) and other layer params."""
    bd = {r["component"]: float(r["params_total"]) for r in spec.param_breakdown().iter_rows(named=True)}
    emb = bd.get("embeddings", 0.0) + bd.get("position_embeddings", 0.0)
    head = bd.get("lm_head", 0.0)
    experts = bd.get("experts", 0.0)
    layers = sum(bd.values()) - emb - head - experts
    return {"embedding": emb, "lm_head": head, "experts": experts, "layers": layers}


def training_memory(scenario, **overrides: Any) -> pl.DataFrame:
    """Per-GPU training memory of a Scenario, by component (most loaded GPU).

    Parameters
    ----------
    scenario : Scenario, scenario name, or plain dict
    **overrides : any of
        weight_bytes [bytes/param], grad_bytes [bytes/param; Megatron's fp32 main_grad: 4],
        flash_attention [bool], dropout [bool], reserve_fraction [fraction of HBM],
        reserve_bytes [bytes] (all four default to the scenario's software stack,
        ``data/stacks.csv``, as the step model uses them), optimizer_state_bytes
        [bytes/param, default by optimizer: AdamW 12, Muon 8, SGD 8], activation_bytes
        [bytes/element, 2], include_embeddings [bool, True], micro_batch, seq_len,
        recompute, zero (the scenario's values by default).

    Returns
    -------
    polars.DataFrame
        component ("weights", "gradients", "optimizer_states", "zero3_gather_buffer",
        "activations", "recompute_working_set", "embedding_and_head_activations",
        "allocator_reserve"), bytes [bytes], GiB [GiB], note.

    Notes
    -----
    Sharding: dense layer parameters over tp·pp, routed experts over tp·ep·pp; ZeRO-1
    shards the optimizer states, ZeRO-2 also gradients, ZeRO-3/FSDP also weights, over the
    dp·cp data-parallel ranks (experts over dp·cp/ep). The first stage holds the input
    embedding (and the LM head and logits when pp = 1). ZeRO-3 keeps two gathered layers.

    Examples
    --------
    >>> import infra_lab as il
    >>> sc = il.load_scenario("zaya1-ibm-mi300x")
    >>> total = il.memory.training_memory_total(sc)
    >>> 30e9 < total < 192e9
    True
    """
    from .scenario import Scenario, load_scenario

    if isinstance(scenario, str):
        scenario = load_scenario(scenario)
    elif isinstance(scenario, dict):
        scenario = Scenario.from_dict(scenario)
    o = dict(TRAINING_DEFAULTS)
    allowed = set(TRAINING_DEFAULTS) | {"micro_batch", "seq_len", "recompute", "zero", "accelerator"}
    for k, v in overrides.items():
        if k not in allowed:
            raise unknown("training_memory override", k, sorted(allowed))
        o[k] = v
    spec = scenario.model_spec
    tr, par = scenario.training, scenario.parallelism
    acc = catalog.accelerator(o.get("accelerator") or scenario.hardware.accelerator)
    if any(o[k] is None for k in _STACK_KEYS):
        from . import stacks

        stack_name = scenario.stack if not o.get("accelerator") else stacks.default_stack(acc.name)
        sp = stacks.params(stack_name)
        for k, sk in _STACK_KEYS.items():
            if o[k] is None:
                o[k] = sp[sk]
    seq = int(o.get("seq_len") or tr.seq_len)
    mbs = int(o.get("micro_batch") or tr.micro_batch)
    recompute = o.get("recompute") or tr.recompute
    zero = int(o["zero"]) if o.get("zero") is not None else par.zero
    if not 0 <= zero <= 3:
        raise ValidationError(f"zero = {zero!r}: allowed 0, 1, 2 or 3")
    opt_b = o["optimizer_state_bytes"]
    if opt_b is None:
        opt_b = OPTIMIZER_STATE_BYTES[tr.optimizer]
    for k in ("weight_bytes", "grad_bytes", "reserve_fraction", "reserve_bytes", "activation_bytes"):
        v = o[k]
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or v < 0:
            raise ValidationError(f"{k} = {v!r}: expected a finite number >= 0")
    wb, gb = float(o["weight_bytes"]), float(o["grad_bytes"])
    reserve = float(o["reserve_fraction"])
    if not 0.0 <= reserve < 1.0:
        raise ValidationError(f"reserve_fraction = {reserve!r}: allowed 0 <= x < 1")
    reserve_b = float(o["reserve_bytes"]) + reserve * acc.hbm_bytes

    tp, pp, vp, cp, ep = par.tp, par.pp, par.vp, par.cp, par.ep
    dp = par.dp
    shard_d = dp * cp
    shard_e = max(1, dp * cp // ep)
    grp = _param_groups(spec)
    n_layers = spec.layers
    frac_stage = 1.0 / pp
    p_dense = grp["layers"] * frac_stage / tp
    p_exp = grp["experts"] * frac_stage / (tp * ep)
    p_emb = 0.0
    if o["include_embeddings"]:
        p_emb = grp["embedding"] / tp + (grp["lm_head"] / tp if pp == 1 else 0.0)
    p_d = p_dense + p_emb
    z3 = zero >= 3 or par.fsdp
    z2 = zero >= 2 or par.fsdp
    z1 = zero >= 1 or par.fsdp
    weights = wb * (p_d / (shard_d if z3 else 1) + p_exp / (shard_e if z3 else 1))
    grads = gb * (p_d / (shard_d if z2 else 1) + p_exp / (shard_e if z2 else 1))
    optim = opt_b * (p_d / (shard_d if z1 else 1) + p_exp / (shard_e if z1 else 1))
    gather = 0.0
    if z3:
        per_layer = (grp["layers"] + grp["experts"] / ep) / n_layers / tp
        gather = 2.0 * per_layer * wb

    # activations on the first stage
    n_micro = tr.global_batch // (mbs * dp) if tr.global_batch >= mbs * dp else 1
    inflight = inflight_microbatches(pp, vp, n_micro)
    kinds = spec.layer_kinds()
    stage_kinds = kinds[: max(1, n_layers // pp)]
    per = activation_bytes_per_layer(
        spec, seq, mbs, tp, sequence_parallel=par.sequence_parallel, recompute=recompute,
        flash_attention=bool(o["flash_attention"]), dropout=bool(o["dropout"]), cp=cp,
        activation_bytes=float(o["activation_bytes"]))
    act_layer_sum = sum(per[k] for k in stage_kinds)
    acts = act_layer_sum * inflight
    work = 0.0
    if recompute == "full":
        work = max(activation_bytes_per_layer(
            spec, seq, mbs, tp, sequence_parallel=par.sequence_parallel, recompute="none",
            flash_attention=bool(o["flash_attention"]), dropout=bool(o["dropout"]), cp=cp,
            activation_bytes=float(o["activation_bytes"])).values())
    T = seq / cp * mbs
    head_act = 0.0
    if o["include_embeddings"]:
        e = float(o["activation_bytes"])
        rep = tp if par.sequence_parallel else 1
        if o["dropout"]:
            head_act += inflight * T * spec.hidden / rep  # embedding dropout masks
        if pp == 1:
            # final norm input, logits (16-bit) and their fp32 copy for the cross-entropy
            head_act += T * e * spec.hidden / rep + T * spec.vocab / tp * (e + 4.0)
    used = weights + grads + optim + gather + acts + work + head_act
    rows = [
        ("weights", weights, f"{wb:g} B/param; {p_d + p_exp:.4g} params on this GPU"
         + (f", sharded over {shard_d} ranks (ZeRO-3/FSDP)" if z3 else "")),
        ("gradients", grads, f"{gb:g} B/param" + (" sharded (ZeRO-2+)" if z2 else "")),
        ("optimizer_states", optim, f"{opt_b:g} B/param ({tr.optimizer})" + (f", sharded over {shard_d}" if z1 else "")),
        ("zero3_gather_buffer", gather, "two gathered layers (ZeRO-3/FSDP prefetch)"),
        ("activations", acts, f"{len(stage_kinds)} layers x {inflight:g} in-flight micro-batches, recompute={recompute}"),
        ("recompute_working_set", work, "one layer re-materialised in backward (full recompute)"),
        ("embedding_and_head_activations", head_act, "logits (16-bit + fp32) when pp = 1; embedding dropout"),
        ("allocator_reserve", reserve_b, f"{float(o['reserve_bytes']) / 1e9:g} GB + {reserve:.0%} of "
         f"{acc.hbm_bytes / 1e9:g} GB HBM"),
    ]
    del used
    return pl.DataFrame(
        {"component": [r[0] for r in rows], "bytes": [float(r[1]) for r in rows],
         "GiB": [float(r[1]) / GiB for r in rows], "note": [r[2] for r in rows]})


def training_memory_total(scenario, **overrides: Any) -> float:
    """Sum of :func:`training_memory` [bytes], the allocator reserve included."""
    return float(training_memory(scenario, **overrides)["bytes"].sum())


def fits(scenario, **overrides: Any) -> bool:
    """True when :func:`training_memory_total` ≤ the accelerator's HBM capacity."""
    from .scenario import Scenario, load_scenario

    if isinstance(scenario, str):
        scenario = load_scenario(scenario)
    elif isinstance(scenario, dict):
        scenario = Scenario.from_dict(scenario)
    acc = catalog.accelerator(overrides.get("accelerator") or scenario.hardware.accelerator)
    return training_memory_total(scenario, **overrides) <= acc.hbm_bytes


# --------------------------------------------------------------------------------------
# Korthikanti Table 5 / Figure 7 check
# --------------------------------------------------------------------------------------
_K_RUNS = {  # model preset, tp, pp, vp, micro-batch (calibration.md §2)
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
    """Reproduce Korthikanti et al. 2022's per-GPU memory (calibration.md §2) [GiB].

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
_KV_BYTES = {"fp32": 4.0, "bf16": 2.0, "fp16": 2.0, "fp8": 1.0, "int8": 1.0, "fp4": 0.5, "int4": 0.5}


def _bytes_of(precision: str) -> float:
    p = str(precision).lower()
    if p not in _KV_BYTES:
        raise unknown("precision", precision, _KV_BYTES)
    return _KV_BYTES[p]


_FORMATS_SCHEMA = {
    "format": Col("str", required=True),
    "element_bits": Col("float", required=True, positive=True),
    "block_size": Col("int", positive=True),
    "scale_bits": Col("float", positive=True),
    "bytes_per_element": Col("float", required=True, positive=True),
    "basis": Col("str", required=True, choices=("derived", "measured", "assumption")),
}


@functools.cache
def number_formats() -> pl.DataFrame:
    """Storage formats of weights and KV cache (data/serving/number_formats.csv).

    Columns: format, element_bits [bits], block_size [elements sharing one scale],
    scale_bits [bits], bytes_per_element [bytes] (element + scale share), basis,
    source_url, note. The loader checks bytes_per_element = (element_bits + scale_bits /
    block_size) / 8 on every row.
    """
    t = catalog.read_table(catalog.DATA_DIR / "serving" / "number_formats.csv", _FORMATS_SCHEMA)
    for r in t.iter_rows(named=True):
        bits = r["element_bits"] + ((r["scale_bits"] or 0.0) / r["block_size"] if r["block_size"] else 0.0)
        if abs(bits / 8.0 - r["bytes_per_element"]) > 1e-12:
            from .errors import DataError

            raise DataError(f"number_formats.csv, format {r['format']!r}: bytes_per_element = "
                            f"{r['bytes_per_element']} but (element_bits + scale_bits/block_size)/8 = {bits / 8}")
    return t


def format_bytes(fmt: str) -> float:
    """Bytes per stored element of a number format, block scales included [bytes].

    Examples
    --------
    >>> format_bytes("mxfp4"), format_bytes("nvfp4"), format_bytes("fp8")
    (0.53125, 0.5625, 1.0)
    """
    t = number_formats()
    names = t["format"].to_list()
    f = str(fmt).lower() if isinstance(fmt, str) else fmt
    if f not in names:
        raise unknown("number format", fmt, names, where="data/serving/number_formats.csv")
    return float(t["bytes_per_element"][names.index(f)])


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
    w = weight_bytes(spec, precision) / gpus
    kv = kv_cache_bytes(spec, context, batch, kv_precision or precision) / gpus
    res = reserve_fraction * acc.hbm_bytes
    free = acc.hbm_bytes - w - kv - res
    comps = ["weights", "kv_cache", "allocator_reserve", "free"]
    vals = [w, kv, res, free]
    return pl.DataFrame({"component": comps, "bytes": vals, "GiB": [v / GiB for v in vals]})


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
                (pl.col("bytes") / 1e9).alias("GB"), pl.lit(acc.hbm_bytes / 1e9).alias("capacity_GB"),
                pl.lit(tot / 1e9).alias("total_GB"), pl.lit(tot <= acc.hbm_bytes).alias("fits")))
    return pl.concat(frames).select("model", "accelerator", "component", "bytes", "GB",
                                    "capacity_GB", "total_GB", "fits")
