"""End-to-end training step: step time, tokens/s, MFU, memory and the parallelism search.

``il.estimate(scenario)`` composes one optimizer step of one parallel plan from four named
parts of the step kernel (:mod:`infra_lab._kernels.training`):

* **compute**: forward, backward and recomputation of one micro-batch on each distinct
  pipeline stage, from the compute model's per-layer op tables
  (:func:`infra_lab.compute.layer_ops`, classified by its ``component`` column) scaled by
  the stack's ``framework_time_scale`` / ``memory_time_scale``; pipeline stages may be
  uneven (pp·vp need not divide the layers, :func:`infra_lab.memory.stage_layers`) and the
  slowest stage sets the pace; a model's multi-token-prediction modules run on the stage with
  the output layer (each a layer of the last kind, the projection, another head and loss);
* **communication**: every tensor-, context-, expert- (dispatch/combine all-to-all and
  expert-TP), pipeline- and data-parallel collective priced by
  :func:`infra_lab._kernels.fabric.best_collective` — the kernel behind ``il.collective``,
  with the group's ranks per scale-up domain from Megatron's rank order (tp, cp, dp, pp;
  experts laid over tp·cp·dp as ep × etp, Megatron-Core's MoE parallel folding); data-parallel
  gradients and parameters move in Megatron's buckets of max(40M, 1M·dp) parameters with
  per-bucket readiness along backward, the bucket holding the embedding exposed at the end;
* **memory**: :func:`infra_lab._kernels.memory.training_bytes`, the formula
  ``il.memory.training_memory`` wraps;
* **schedule**: micro-batches, the (pp − 1)/vp pipeline bubble, overlap windows, ZeRO-0/1/2/3
  and FSDP (no resharding under pipeline parallelism), the optimizer update.

Every efficiency or overlap factor is a named parameter of a *software stack*
(``data/stacks.csv`` through :mod:`infra_lab.stacks`: ``megatron-lm-2022-cuda`` for the 2021-22
A100 runs, ``megatron-core-cuda`` and ``megatron-core-rocm`` with vendor-symmetric factors, and
labelled ``*-asym`` sensitivity stacks), one value per stack, never per case. The stack is the
scenario's ``[training] stack`` or the accelerator vendor's default.

**MFU** (``Estimate.mfu``) is model FLOPs per second over the dense BF16 peak, FLOPs counted
as 3 × forward with the LM head and causal attention (:data:`MFU_CONVENTION`);
``Estimate.mfu_table()`` gives the other conventions side by side, tokens/s/GPU first.

:func:`search` enumerates every consistent plan as head rows (layout, micro-batch, sequence
parallel) × tail rows (ZeRO, FSDP, recompute) and evaluates them with the numba kernel in
parallel; collective times are computed once per (layout, micro-batch) before the loop.
:mod:`infra_lab._kernels.training_reference` re-derives a plan independently from the public
functions; tests check the two agree.

Examples
--------
>>> import infra_lab as il
>>> est = il.estimate(il.load_scenario("zaya1-ibm-mi300x"))
>>> est.fits, 0.0 < est.mfu < 1.0
(True, True)
>>> sorted(est.breakdown["component"])[:3]
['compute_bwd', 'compute_fwd', 'compute_recompute']
"""

from __future__ import annotations

import contextlib
import functools
import itertools
import math
import threading
import warnings
from dataclasses import dataclass, field
from typing import Any

import numba
import numpy as np
import polars as pl

from . import catalog, stacks
from ._kernels import training as kt
from .errors import EmptyResultWarning, ValidationError, unknown
from .scenario import CP_ROTATE_METHODS, RECOMPUTE, ParallelismConfig, Scenario, as_scenario

__all__ = [
    "Estimate", "estimate", "estimate_band", "BAND_METHODS", "search", "stack_params", "STACK_PARAMS", "MFU_CONVENTION",
    "COMPONENTS", "OBJECTIVES", "SEARCH_CONSTRAINTS", "plan_space_size",
]

COMPONENTS = kt.OUT_NAMES[: kt.N_COMPONENTS]
"""Breakdown components (seconds per step), in order."""

OBJECTIVES = {  # name -> True if larger is better
    "tokens_per_s": True, "mfu": True, "tflops_per_gpu": True, "step_time_s": False,
    "memory_per_gpu_bytes": False,
}

STACK_PARAMS = (
    "framework_time_scale", "memory_time_scale", "flash_attention", "causal_skip", "dropout",
    "tp_comm_overlap", "tp_async_comm_overlap", "cp_comm_overlap", "ep_comm_overlap", "dualpipe_ep_comm_overlap",
    "moe_popularity_cv",
    "attention_kernel", "pp_p2p_overlap", "dp_comm_overlap", "zero3_comm_overlap", "zero3_bandwidth_efficiency",
    "grad_reduce_bytes",
    "grad_buffer_bytes", "weight_bytes", "memory_reserve_bytes", "memory_reserve_fraction",
    "fp8_gemm_overhead", "dp_bucket_min_params", "dp_bucket_params_per_rank",
    "zero3_gathers_per_layer", "zero3_small_gathers_per_layer", "wgrad_main_grad_bytes",
    "selective_recompute", "zero3_defer_reduce_scatter", "fp8_saves_quantized_inputs", "loss_fp32_copies",
    "loss_bwd_fp32_tensors", "loss_parallel_bwd_fp32_tensors", "grad_buffer_persistent", "moe_host_sync_s", "moe_host_sync_slowdown", "fp8_caches_weights", "muon_ns_iterations", "muon_ns_shared_over_dp",
    "eager_memory_factor", "pp_stage_buffers_persistent", "grouped_gemm_streams",
)
"""Factors every training stack must define (data/stacks.csv)."""

_RC = {name: i for i, name in enumerate(RECOMPUTE)}   # kernel codes 0, 1, 2
_RC_NAMES = {v: k for k, v in _RC.items()}

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
                         "fp8_caches_weights")
                   and v not in (0, 1))
               or (k.endswith("_bytes") and k not in ("memory_reserve_bytes", "wgrad_main_grad_bytes") and v <= 0)
               or (k == "wgrad_main_grad_bytes" and v > 8)
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
                       else "0 or 1" if k in ("fp8_saves_quantized_inputs", "fp8_caches_weights")
                       else "an integer >= 1" if k == "zero3_gathers_per_layer"
                       else "an integer >= 0" if k == "zero3_small_gathers_per_layer"
                       else "an integer 0..64" if k == "muon_ns_iterations"
                       else "an integer 0..1024" if k == "grouped_gemm_streams"
                       else "1..10" if k == "eager_memory_factor"
                       else ">= 0" if k == "memory_reserve_bytes" else "0..8" if k == "wgrad_main_grad_bytes"
                       else "> 0")
            raise ValidationError(f"stack parameter {k} = {v!r} (stack {stack}): allowed {allowed}")
    return p


# --------------------------------------------------------------------------------------
# Context: constants + compute tables for one (model, hardware, training, stack)
# --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Context:
    """Everything the step kernel needs for one (model, hardware, training, stack):

    spec (ModelSpec); c (the kernel's constant vector, named by ``kt.C_NAMES``: seq_len S
    [tokens], hidden H, vocab V, top-k, the K/V width the CP exchange carries HKV [elements], global batch GBATCH
    [sequences], HBM [bytes], job GPUs per scale-up domain D, layers, the stack's scales and
    overlaps [-], byte widths [bytes/param or element], optimizer time coefficients [s, s/param],
    allocator reserve [bytes], bucket sizes [params], ...); tab / htab (per-layer and LM-head
    op tables ``kt.TAB_NAMES`` / ``kt.HTAB_NAMES``: seconds and activation bytes per layer and
    micro-batch, indexed [kind, field, tp_i, mbs_i, cp_i, sp]); P (collective-kernel
    parameters, ``collectives.collective_time_params``); tps / mbss / cps (the tp, micro-batch
    and cp values the tables are indexed by); flops (FLOPs per step by MFU convention [FLOP]);
    peak_bf16 [FLOP/s per GPU]; world [GPUs]; tokens_per_step [tokens]; stack (name) and sp (its
    factors); domain [GPUs]; checkpoint_bytes [bytes]; stage_extra (multimodal first-stage and
    per-layer params); xkey (what the routed-expert table depends on besides (ep, etp))."""

    spec: Any
    c: np.ndarray
    tab: np.ndarray
    htab: np.ndarray
    P: np.ndarray
    tps: tuple[int, ...]
    mbss: tuple[int, ...]
    cps: tuple[int, ...]
    flops: dict[str, float]          # FLOPs per step under each convention
    peak_bf16: float
    world: int
    tokens_per_step: float
    stack: str
    sp: dict[str, float]
    domain: int
    checkpoint_bytes: float
    stage_extra: tuple = (0.0, 0.0)   # multimodal: (first-stage params, per-layer params), issue 20
    xkey: tuple = ()                  # what the routed-expert table depends on besides (ep, etp)
    peak_train: float = 0.0           # dense peak at the training precision [FLOP/s per GPU]


def _freeze(d: dict) -> tuple:
    return tuple(sorted((k, tuple(v) if isinstance(v, list) else v) for k, v in d.items()))


_ELEMENTWISE_TYPES = ("memory", "cast")


def _op_classes(ops: pl.DataFrame) -> dict[str, np.ndarray]:
    """Boolean masks of the op table by what the step model needs: routed-expert GEMMs, token
    permutation, attention core, other GEMMs, other memory-bound ops, the softmax of unfused
    attention (by the compute model's ``component`` column)."""
    ot = ops["op_type"].to_numpy()
    op = ops["op"].to_numpy().astype(str)
    comp = ops["component"].to_numpy().astype(str)
    expert = comp == "expert_gemm"
    attn = comp == "attention"
    permute = comp == "permute"
    gemm = (ot == "gemm") & ~attn
    mem = ~(gemm | attn | permute)
    softmax = np.char.startswith(op, "softmax")
    return {"expert": expert & gemm, "gemm": gemm & ~expert, "attn": attn, "mem": mem, "softmax": softmax,
            "permute": permute}


def _layer_ops(spec, acc_name, precision, seq_rank, mbs, tp, sp, spf, ep=1, etp=1, scaling="tensor"):
    """:func:`infra_lab.compute.layer_ops` with the stack's choices (causal skip, flash
    attention and its kernel, gradient-buffer bytes) and the recipe's operand scaling
    (training.fp8_scaling), forward and backward."""
    from . import compute

    return compute.layer_ops(spec, seq_rank, mbs, tp, acc_name, precision,
                             causal=bool(sp["causal_skip"]), flash=bool(sp["flash_attention"]),
                             sequence_parallel=bool(spf), passes=("fwd", "bwd"), ep=ep, expert_tp=etp,
                             main_grad_bytes=sp["wgrad_main_grad_bytes"], attention_kernel=_attention_kernel(sp, acc_name),
                             scaling=scaling, grouped_gemm_streams=int(sp["grouped_gemm_streams"]))


def _attention_kernel(sp: dict[str, float], acc_name: str) -> str | None:
    """The stack's attention kernel (its ``attention_kernel`` code, :data:`ATTENTION_KERNEL_CODES`)
    where the device has that kernel in the compute model (:func:`infra_lab.compute.attention_kernels`),
    else the device's default (None). Code 7 (``"sdpa"``: the stack calls PyTorch's
    ``scaled_dot_product_attention`` under torchtitan's backend priority) resolves per device to
    the ``sdpa_kernel`` row of data/compute_params.csv (FlashAttention-2 below compute capability
    10.0, cuDNN on Blackwell; sources there): one stack, a different kernel per GPU architecture."""
    from . import compute
    from .compute import _params as CP

    code = int(sp.get("attention_kernel", 0.0))
    name = ATTENTION_KERNEL_CODES.get(code)
    if name == "sdpa":
        acc = CP.accelerator(acc_name)
        try:
            name = CP.text(acc, "sdpa_kernel").strip().lower() or None
        except ValidationError:         # no sdpa_kernel row for this device: its default kernel
            name = None
    if name is None or name not in compute.attention_kernels(acc_name):
        return None
    return name


ATTENTION_KERNEL_CODES = {1: "fa2", 2: "fa3", 3: "cudnn", 4: "fa4", 5: "ck-fa2", 6: "aiter", 7: "sdpa"}
"""Codes of the stacks' ``attention_kernel`` factor (0: the device's default kernel, 7: PyTorch SDPA resolved per device;
:func:`infra_lab.compute.default_attention_kernel`)."""


def _selective_masks(ops: pl.DataFrame, cl: dict[str, np.ndarray], modules,
                     mtp_moe: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """(GEMM/attention mask, memory-bound mask) of the ops Megatron-Core's ``recompute_modules``
    re-run in backward (:data:`infra_lab.scenario.RECOMPUTE_MODULES`), by the compute model's
    ``component`` column and op names; routed-expert GEMMs and token permutation are the
    expert table's (:func:`_expert_tables`)."""
    op = ops["op"].to_numpy().astype(str)
    comp = ops["component"].to_numpy().astype(str)
    kind = ops["layer_kind"].to_numpy().astype(str)
    m = set(modules)
    g = np.zeros(len(op), dtype=bool)
    mem = np.zeros(len(op), dtype=bool)
    if "core_attn" in m:
        g |= cl["attn"]
        g |= cl["softmax"] & ~cl["attn"]
    if "layernorm" in m:
        mem |= comp == "norm"
    if "mla_up_proj" in m:
        g |= np.isin(op, ("q_up", "kv_up"))
        mem |= op == "rope"
    if "mlp" in m:
        g |= comp == "mlp_gemm"
        mem |= op == "mlp_act"
    moe_layer = kind == "moe"
    if mtp_moe:                       # an MTP module's MoE layer recomputes as the others
        moe_layer = moe_layer | (kind == "mtp")
    if "moe" in m:
        g |= moe_layer & np.isin(comp, ("router", "shared_expert_gemm")) & cl["gemm"]
        mem |= moe_layer & (np.isin(comp, ("router",)) | np.isin(op, ("experts_act", "shared_experts_act")))
    if "moe_act" in m:
        mem |= op == "experts_act"
    if "shared_experts" in m:
        g |= comp == "shared_expert_gemm"
        mem |= op == "shared_experts_act"
    return g & ~cl["expert"], mem & ~cl["permute"]


def _tables(spec, acc_name: str, precision: str, seq_len: int, sp: dict[str, float], tps, mbss, cps,
            hook=None, tp_overlap: float = 0.0, modules=None, loss: tuple = (False, 1, False), offload=None,
            sac_attn: bool = False, scaling: str = "tensor"):
    """tab[kind, part, tp_i, mbs_i, cp_i, sp] and htab[part, tp_i, mbs_i, cp_i, sp] from
    :func:`infra_lab.compute.layer_ops` [s] and :func:`infra_lab.memory.activation_bytes_per_layer`
    [bytes]: per layer of each kind, one micro-batch, one rank. Routed-expert GEMMs and token
    permutation are left out (:func:`_expert_tables` prices them at the plan's ep and etp).
    Slot ``kt.K_MTP``: one multi-token-prediction module (the op table's "mtp" layer kind,
    :func:`infra_lab.memory.mtp_activation_bytes`), zero for a model without MTP.
    ``sac_attn`` (training.sac_recompute_attention): per-op SAC re-runs the attention forward too.
    Approximation: its memory is left as with the output saved (the attention output, s·h 16-bit
    values per layer, is then not kept; the kernel's inputs are kept either way)."""
    from . import compute, memory

    kinds = spec.layer_kinds()
    counts = {k: kinds.count(k) for k in set(kinds)}
    n_dense_like = sum(v for k, v in counts.items() if k != "moe")
    mtp_moe = bool(spec.mtp_layers) and spec.mtp_layer_kind() == "moe"
    tab = np.zeros((kt.N_KINDS, len(kt.TAB_NAMES), len(tps), len(mbss), len(cps), 2))
    htab = np.zeros((len(kt.HTAB_NAMES), len(tps), len(mbss), len(cps), 2))
    ab = 2.0
    for (ti, tp), (mi, mbs), (ci, cp), spf in itertools.product(
            enumerate(tps), enumerate(mbss), enumerate(cps), (0, 1)):
        if spf and tp == 1:
            tab[:, :, ti, mi, ci, 1] = tab[:, :, ti, mi, ci, 0]
            htab[:, ti, mi, ci, 1] = htab[:, ti, mi, ci, 0]
            continue
        ops = _layer_ops(spec, acc_name, precision, seq_len // cp, mbs, tp, sp, spf, scaling=scaling)
        kind = ops["layer_kind"].to_numpy().astype(str)
        ps = ops["pass"].to_numpy().astype(str)
        t = ops["time_s"].to_numpy().copy()
        cl = _op_classes(ops)
        if modules is not None:
            mod_g, mod_m = _selective_masks(ops, cl, modules, mtp_moe)
        t[cl["attn"]] *= cp                      # with CP each rank's queries see all s keys
        if precision == "fp8":                   # a flat multiplier on top of the cast ops (sensitivity; 0 by default)
            t[cl["gemm"] | cl["expert"]] *= 1.0 + sp["fp8_gemm_overhead"]
        fwd, bwd = ps == "fwd", ps == "bwd"
        # GEMMs a low-precision recipe runs at the training precision: torchtitan's per-op SAC
        # saves outputs of aten.mm (every other one), SDPA, reduce-scatters and aten.max
        # (_op_sac_save_list, torchtitan/models/llama3/infra/parallelize.py); torchao's float8
        # linears run aten._scaled_mm, which is not in the list, so all of them run again
        lowp = np.isin(ops["component"].to_numpy().astype(str), compute.LOW_PRECISION_COMPONENTS) & cl["gemm"] \
            if precision in compute.LOW_PRECISIONS else np.zeros(len(t), dtype=bool)
        for kname in set(kind.tolist()):
            sel = kind == kname

            def tot(mask, sel=sel, t=t):
                return float(t[sel & mask].sum())

            if modules is not None:           # Megatron-Core's recompute_modules
                sel, sel_mem = tot(fwd & mod_g), tot(fwd & mod_m)
            elif sp["selective_recompute"]:   # per-op SAC: half the 16-bit matmuls, every low-precision
                # one and the router gate (torchtitan forces its mm to recompute: mm_recompute_shapes;
                # memory stores none of it), every element-wise op
                full = lowp | (ops["component"].to_numpy().astype(str) == "router")
                sel = tot(fwd & cl["gemm"] & full) + 0.5 * tot(fwd & cl["gemm"] & ~full)
                if sac_attn:                  # the attention op is not in the save list (cuDNN SDPA
                    sel += tot(fwd & cl["attn"])   # before torchtitan PR #2095): its forward runs again
                sel_mem = tot(fwd & cl["mem"])
            else:                             # Megatron: the attention core (and its softmax)
                sel, sel_mem = tot(fwd & (cl["attn"] | cl["softmax"])), 0.0
            parts = (tot(fwd & (cl["gemm"] | cl["attn"])), tot(fwd & cl["mem"]),
                     tot(bwd & (cl["gemm"] | cl["attn"])), tot(bwd & cl["mem"]), tot(cl["attn"]), sel)
            if kname == "head":
                htab[kt.H_FWD, ti, mi, ci, spf] = parts[0]
                htab[kt.H_FWD_MEM, ti, mi, ci, spf] = parts[1]
                htab[kt.H_BWD, ti, mi, ci, spf] = parts[2]
                htab[kt.H_BWD_MEM, ti, mi, ci, spf] = parts[3]
                continue
            slot, w = ((kt.K_MOE, 1.0) if kname == "moe" else (kt.K_MTP, 1.0) if kname == "mtp"
                       else (kt.K_DENSE, counts.get(kname, 0) / max(n_dense_like, 1)))
            for pi, v in enumerate(parts):
                tab[slot, pi, ti, mi, ci, spf] += w * v
            tab[slot, kt.T_SEL_MEM, ti, mi, ci, spf] += w * sel_mem
            tab[slot, kt.T_ATTN_FWD, ti, mi, ci, spf] += w * tot(fwd & cl["attn"])
        tok = mbs * seq_len / cp
        # logits at the loss: memory.loss_logits_bytes (loss = (loss_fusion, loss_chunks, loss_compiled))
        htab[kt.H_ACT, ti, mi, ci, spf] = memory.loss_logits_bytes(tok, spec.vocab, tp, ab, loss_fusion=loss[0],
                                                                   loss_chunks=loss[1], loss_compiled=loss[2],
                                                                   fp32_copies=sp["loss_fp32_copies"],
                                                                   bwd_fp32_tensors=(sp["loss_bwd_fp32_tensors"],
                                                                                     sp["loss_parallel_bwd_fp32_tensors"]))
        for ri, rc in enumerate(RECOMPUTE):
            act = memory.activation_bytes_per_layer(
                spec, seq_len, mbs, tp, sequence_parallel=bool(spf), recompute=rc,
                flash_attention=bool(sp["flash_attention"]), dropout=bool(sp["dropout"]), cp=cp,
                selective_mode=memory.SELECTIVE_MODES[int(sp["selective_recompute"])],
                recompute_modules=modules if rc == "selective" else None,
                gemm_input_bytes=memory.saved_gemm_input_bytes(precision, sp))
            for kname, b in act.items():
                slot = kt.K_MOE if kname == "moe" else kt.K_DENSE
                w = 1.0 if slot == kt.K_MOE else counts.get(kname, 0) / max(n_dense_like, 1)
                tab[slot, kt.T_ACT_NONE + ri, ti, mi, ci, spf] += w * b
            # one MTP module (its layer at etp = 1; the expert-TP gather is the expert table's)
            tab[kt.K_MTP, kt.T_ACT_NONE + ri, ti, mi, ci, spf] = memory.mtp_activation_bytes(
                spec, seq_len, mbs, tp, sequence_parallel=bool(spf), recompute=rc,
                flash_attention=bool(sp["flash_attention"]), dropout=bool(sp["dropout"]), cp=cp,
                selective_mode=memory.SELECTIVE_MODES[int(sp["selective_recompute"])],
                recompute_modules=modules if rc == "selective" else None,
                gemm_input_bytes=memory.saved_gemm_input_bytes(precision, sp))
            if offload:     # training.offload_modules: the part of them copied to host memory
                moved = memory.offloaded_bytes_per_layer(
                    spec, seq_len, mbs, tp, sequence_parallel=bool(spf), recompute=rc,
                    flash_attention=bool(sp["flash_attention"]), dropout=bool(sp["dropout"]), cp=cp,
                    selective_mode=memory.SELECTIVE_MODES[int(sp["selective_recompute"])],
                    recompute_modules=modules if rc == "selective" else None,
                    gemm_input_bytes=memory.saved_gemm_input_bytes(precision, sp), offload_modules=offload)
                for kname, b in moved.items():
                    slot = kt.K_MOE if kname == "moe" else kt.K_DENSE
                    w = 1.0 if slot == kt.K_MOE else counts.get(kname, 0) / max(n_dense_like, 1)
                    tab[slot, kt.T_OFF_NONE + ri, ti, mi, ci, spf] += w * b
        if hook is not None:
            _apply_multimodal(hook, tab, htab, spec, acc_name, (ti, tp), (mi, mbs), (ci, cp), spf, tp_overlap)
    return tab, htab


def _apply_multimodal(hook, tab, htab, spec, acc_name, t, m, c, spf, tp_overlap) -> None:
    """Issue 20: the multimodal prologue (encoders + projectors on the first stage) into the
    H_PRO_* rows of ``htab`` and the cross-attention layers, spread over the LM's layers, into
    ``tab`` (:class:`infra_lab.multimodal.TrainingHook`)."""
    (ti, tp), (mi, mbs), (ci, cp) = t, m, c
    pro = hook.prologue(acc_name, tp, mbs, cp, tp_overlap)
    for name, v in pro.items():
        htab[kt.HTAB_NAMES.index("pro_" + name), ti, mi, ci, spf] = v
    # packed sequences attend within each sample (document masks): the attention core does a
    # fraction f of the whole-sequence causal work (1 without packing)
    f = hook.stats.attention_fraction
    if f < 1.0:
        for slot in (kt.K_DENSE, kt.K_MOE):
            fwd_att = tab[slot, kt.T_ATTN_FWD, ti, mi, ci, spf]
            bwd_att = tab[slot, kt.T_ATTN, ti, mi, ci, spf] - fwd_att
            tab[slot, kt.T_FWD, ti, mi, ci, spf] -= (1.0 - f) * fwd_att
            tab[slot, kt.T_BWD, ti, mi, ci, spf] -= (1.0 - f) * bwd_att
            tab[slot, kt.T_ATTN, ti, mi, ci, spf] *= f
            tab[slot, kt.T_ATTN_FWD, ti, mi, ci, spf] *= f
            if tab[slot, kt.T_SEL_MEM, ti, mi, ci, spf] == 0.0:   # Megatron's selective set: the core
                tab[slot, kt.T_SEL, ti, mi, ci, spf] -= (1.0 - f) * fwd_att
    n_layers = len(spec.layer_kinds())
    per = hook.per_layer(acc_name, tp, mbs, cp, tp_overlap, n_layers)
    for slot in (kt.K_DENSE, kt.K_MOE):
        tab[slot, kt.T_FWD, ti, mi, ci, spf] += per["fwd"]
        tab[slot, kt.T_BWD, ti, mi, ci, spf] += per["bwd"]
        tab[slot, kt.T_ACT_NONE, ti, mi, ci, spf] += per["act"]
        tab[slot, kt.T_ACT_SEL, ti, mi, ci, spf] += per["act"]


def _flop_conventions(spec, seq_len: int, tokens: float) -> dict[str, float]:
    """FLOPs of one step under every convention of :data:`infra_lab.models.FLOP_CONVENTIONS`
    [FLOP]: :func:`infra_lab.models.training_flops_per_token` × tokens (the one owner of the
    FLOP conventions; "executed" without recomputation)."""
    from . import models

    return {c: models.training_flops_per_token(spec, seq_len, c) * tokens for c in models.FLOP_CONVENTIONS}


@functools.lru_cache(maxsize=64)
def _optimizer_coeffs(acc_name: str, optimizer: str) -> tuple[float, float]:
    """(fixed time [s], time per local parameter [s]) of the optimizer update, from
    :func:`infra_lab.compute.optimizer_step_time` (linear in the parameter count)."""
    from . import compute

    t0 = compute.optimizer_step_time(0.0, acc_name, optimizer)
    return t0, (compute.optimizer_step_time(1e9, acc_name, optimizer) - t0) / 1e9


@functools.lru_cache(maxsize=64)
def _muon_ns_coeffs(spec, acc_name: str, optimizer: str, iterations: int) -> tuple[float, ...]:
    """Muon's Newton–Schulz time of whole, unsharded weight matrices [s]: per dense-like layer
    (the kinds other than "moe", weighted by their counts as the layer tables are), the
    non-expert matrices of one MoE layer, all routed experts of one MoE layer, and the largest
    single non-expert and expert matrix (the least a rank that owns any matrix does). From
    :func:`infra_lab.compute.newton_schulz_times` (the one owner); zeros for optimizers other
    than Muon. Multi-token-prediction modules are not counted."""
    if optimizer != "muon" or iterations == 0:
        return (0.0, 0.0, 0.0, 0.0, 0.0)
    from . import compute

    t = compute.newton_schulz_times(spec, acc_name, iterations)
    kinds = spec.layer_kinds()
    counts = {k: kinds.count(k) for k in set(kinds)}
    n_dense_like = sum(v for k, v in counts.items() if k != "moe")
    dense = moe = expert = mx_ne = mx_e = 0.0
    for kind, ex, ts, tm in t.select("layer_kind", "expert", "time_s", "time_per_matrix_s").iter_rows():
        if kind not in counts:
            continue
        if ex:
            expert += ts if kind == "moe" else 0.0
            mx_e = max(mx_e, tm)
        else:
            mx_ne = max(mx_ne, tm)
            if kind == "moe":
                moe += ts
            else:
                dense += ts * counts[kind] / max(n_dense_like, 1)
    return (dense, moe, expert, mx_ne, mx_e)


_TABLE_FACTORS = ("causal_skip", "flash_attention", "dropout", "fp8_gemm_overhead", "wgrad_main_grad_bytes",
                  "attention_kernel", "selective_recompute", "fp8_saves_quantized_inputs", "loss_fp32_copies",
                  "loss_bwd_fp32_tensors", "loss_parallel_bwd_fp32_tensors", "grouped_gemm_streams")
"""Stack factors that change the per-layer tables (the others act in the kernel)."""


@functools.lru_cache(maxsize=64)
def _tables_cached(spec, acc_name: str, precision: str, seq_len: int, factors: tuple,
                   tps: tuple, mbss: tuple, cps: tuple, hook=None, tp_overlap: float = 0.0, modules=None,
                   loss: tuple = (False, 1, False), offload=None, sac_attn: bool = False,
                   scaling: str = "tensor"):
    sp = dict(zip(_TABLE_FACTORS, factors, strict=True))
    tab, htab = _tables(spec, acc_name, precision, seq_len, sp, tps, mbss, cps, hook, tp_overlap, modules, loss,
                        offload, sac_attn, scaling)
    tab.setflags(write=False)
    htab.setflags(write=False)
    return tab, htab


MFU_CONVENTION = "6N+head+causal_attn"
"""The FLOP convention of ``Estimate.mfu`` (a key of :data:`infra_lab.models.FLOP_CONVENTIONS`):
6 × active non-embedding parameters, the LM head, attention counted causal (half the s²
score/context work); no recomputation, router or MTP modules (as Megatron-LM counts model FLOPs
since March 2025)."""


def _expert_tables(spec, acc_name: str, precision: str, seq_len: int, sp: dict[str, float], tps, mbss,
                   cps, xs, cv: float, cf: float | None, modules=None, offload=None,
                   scaling: str = "tensor") -> np.ndarray:
    """xtab[kind, part, tp_i, mbs_i, cp_i, x_i] (:data:`infra_lab._kernels.training.XTAB_NAMES`):
    the routed experts of one layer at each (ep, etp) of ``xs`` from
    :func:`infra_lab.compute.layer_ops` with that ep and expert_tp (grouped GEMMs of the E/ep
    local experts on the rank's routed rows, seeded per-expert counts; token permutation;
    the expert activation and casts), the GEMMs and permutation scaled to the busiest expert
    rank by :func:`infra_lab.compute.moe_load_imbalance` (tokens the rank routes per
    micro-batch, the router's popularity spread ``cv``, token dropping at capacity factor
    ``cf``). These ops depend on the rank's tokens per micro-batch (s·b/(cp·tp)), ep and etp
    only; the element-wise ops are the difference to the (ep, etp) = (1, 1) table that
    :func:`_tables` holds. Also the MoE layer's extra activation bytes at this etp (the FC1
    input gathered over the expert-TP ranks, :func:`infra_lab.memory.moe_etp_gather_bytes`)."""
    from . import compute, memory

    kinds = spec.layer_kinds()
    counts = {k: kinds.count(k) for k in set(kinds)}
    xtab = np.zeros((kt.N_KINDS, len(kt.XTAB_NAMES), len(tps), len(mbss), len(cps), len(xs)))
    xtab[:, kt.X_IMB] = 1.0
    if not spec.experts:
        return xtab
    memo: dict[tuple, np.ndarray] = {}

    def parts(s_rank, mbs, tp, ep, etp):
        """(2 slots, parts) of one (tokens per rank, ep, etp)."""
        key = (round(s_rank * mbs / tp, 6), ep, etp)
        if key in memo:
            return memo[key]
        out = np.zeros((kt.N_KINDS, len(kt.XTAB_NAMES)))
        tables = [_layer_ops(spec, acc_name, precision, s_rank, mbs, tp, sp, 0, x_ep, x_etp, scaling)
                  for x_ep, x_etp in ((ep, etp), (1, 1))]
        tot = []
        for ops in tables:
            kind = ops["layer_kind"].to_numpy().astype(str)
            ps = ops["pass"].to_numpy().astype(str)
            t = ops["time_s"].to_numpy().copy()
            cl = _op_classes(ops)
            if precision == "fp8":
                t[cl["expert"]] *= 1.0 + sp["fp8_gemm_overhead"]
            tot.append((kind, ps, t, cl))
        tokens = max(1, int(round(s_rank * mbs / tp)))
        imb = compute.moe_load_imbalance(tokens, spec.experts, spec.top_k, ep, popularity_cv=cv,
                                         capacity_factor=cf) if ep > 1 else 1.0
        (kind, ps, t, cl), (kind0, ps0, t0, cl0) = tot
        ops_op = tables[0]["op"].to_numpy().astype(str)
        ops0_op = tables[1]["op"].to_numpy().astype(str)
        # the MoE layers, and one MTP module when its layer is an MoE layer (kt.K_MTP)
        mtp_moe = bool(spec.mtp_layers) and spec.mtp_layer_kind() == "moe"
        for kname in ("moe", "mtp"):
            if not ("moe" in counts if kname == "moe" else mtp_moe):
                continue
            slot, w = (kt.K_MOE, 1.0) if kname == "moe" else (kt.K_MTP, 1.0)
            sel, sel0 = kind == kname, kind0 == kname
            for pi, (pas, cls) in enumerate((("fwd", "expert"), ("bwd", "expert"), ("fwd", "permute"),
                                             ("bwd", "permute"))):
                out[slot, pi] += w * imb * float(t[sel & (ps == pas) & cl[cls]].sum())
            for pi, pas in ((kt.X_FWD_MEM, "fwd"), (kt.X_BWD_MEM, "bwd")):
                out[slot, pi] += w * (float(t[sel & (ps == pas) & cl["mem"]].sum())
                                      - float(t0[sel0 & (ps0 == pas) & cl0["mem"]].sum()))
            if modules is not None:          # Megatron-Core's recompute_modules
                if "moe" in modules:                         # the whole layer: experts and permutation
                    out[slot, kt.X_SEL] = out[slot, kt.X_FWD_EXP]
                    out[slot, kt.X_SEL_MEM] = out[slot, kt.X_FWD_PERM] + out[slot, kt.X_FWD_MEM]
                elif "moe_act" in modules:                   # the expert activation at this ep/etp
                    act = (kind == kname) & (ps == "fwd") & (ops_op == "experts_act")
                    act0 = (kind0 == kname) & (ps0 == "fwd") & (ops0_op == "experts_act")
                    out[slot, kt.X_SEL_MEM] = float(t[act].sum()) - float(t0[act0].sum())
            elif sp["selective_recompute"]:   # per-op SAC: the routed experts' grouped GEMMs
                # (aten._grouped_mm) are not in torchtitan's save list, so memory stores nothing of
                # them (memory.activation_bytes_per_layer, selective_mode "op") and backward runs
                # their whole forward again, in any precision; element-wise ops and permutation too
                out[slot, kt.X_SEL] = out[slot, kt.X_FWD_EXP]
                out[slot, kt.X_SEL_MEM] = out[slot, kt.X_FWD_PERM] + out[slot, kt.X_FWD_MEM]
            # an MoE layer (the model's, or an MTP module's)
            out[slot, kt.X_IMB] = imb
            # activations: the FC1 input all-gathered over etp ranks (memory.moe_etp_gather_bytes);
            # a recomputed MoE layer ("moe" module) stores only its input
            lin = memory.saved_gemm_input_bytes(precision, sp) or memory.TRAINING_DEFAULTS["activation_bytes"]
            extra = memory.moe_etp_gather_bytes(spec, s_rank * mbs / tp, etp, lin)
            out[slot, kt.X_ACT_NONE] = extra
            out[slot, kt.X_ACT_SEL] = 0.0 if (modules is not None and "moe" in modules) else extra
            if offload and "expert_fc1" in offload and slot == kt.K_MOE:   # offloaded with the FC1 input
                # (memory.offloaded_bytes_per_layer; an MTP module offloads nothing)
                out[slot, kt.X_OFF_NONE] = out[slot, kt.X_ACT_NONE]
                out[slot, kt.X_OFF_SEL] = out[slot, kt.X_ACT_SEL]
        memo[key] = out
        return out

    for (ti, tp), (mi, mbs), (ci, cp), (xi, (ep, etp)) in itertools.product(
            enumerate(tps), enumerate(mbss), enumerate(cps), enumerate(xs)):
        xtab[:, :, ti, mi, ci, xi] = parts(seq_len // cp, mbs, tp, ep, etp)
    return xtab


@functools.lru_cache(maxsize=64)
def _xtab_cached(xkey: tuple, tps: tuple, mbss: tuple, cps: tuple, xs: tuple) -> np.ndarray:

    spec, acc_name, precision, seq_len, factors, cv, cf, modules, offload, scaling = xkey
    sp = dict(zip(_TABLE_FACTORS, factors, strict=True))
    x = _expert_tables(spec, acc_name, precision, seq_len, sp, tps, mbss, cps, xs, cv, cf, modules, offload,
                       scaling)
    x.setflags(write=False)
    return x


def _xtab(ctx: _Context, xs: tuple) -> np.ndarray:
    """The routed-expert table of a context for the (ep, etp) pairs ``xs``."""
    return _xtab_cached(ctx.xkey, ctx.tps, ctx.mbss, ctx.cps, tuple(xs))


@functools.lru_cache(maxsize=256)
def _context_cached(spec, hw, seq_len: int, global_batch: int, precision: str,
                    optimizer: str, stack: str, overrides: tuple, tps: tuple, mbss: tuple,
                    cps: tuple, hook=None, moe: tuple = ("alltoall", False, "learned", None, False),
                    modules: tuple | None = None, loss: tuple = (False, 1, False),
                    fp8_param_gather: bool = False, offload: tuple | None = None,
                    tp_async: bool = False, eager: bool = False, sac_attn: bool = False,
                    scaling: str = "tensor", pp_free_io: bool = False, dualpipe: bool = False,
                    cp: tuple = ("p2p", False)) -> _Context:
    from . import collectives, compute, memory

    sp = stack_params(stack, dict(overrides))
    if tp_async:   # parallelism.tp_async: the TP collectives overlap at the stack's async-TP fraction
        sp = {**sp, "tp_comm_overlap": sp["tp_async_comm_overlap"]}
    if dualpipe:   # parallelism.dualpipe: the dispatch/combine overlap is DualPipe's
        sp = {**sp, "ep_comm_overlap": sp["dualpipe_ep_comm_overlap"]}
    if eager:      # training.eager: unfused element-wise ops (no torch.compile)
        sp = {**sp, "memory_time_scale": sp["memory_time_scale"] * sp["eager_memory_factor"]}
    acc = catalog.accelerator(hw.accelerator)
    cpar = collectives.collective_time_params(hw)
    # parallelism.cp_repeat_kv: K/V repeated to the query heads before the attention call
    hq, hkv = memory.cp_exchange_widths(spec, cp[1])
    vals = {
        "S": float(seq_len), "H": float(spec.hidden), "V": float(spec.vocab), "TOPK": float(spec.top_k or 1),
        "HKV": float(hkv), "HQ": float(hq), "GBATCH": float(global_batch), "HBM": acc.memory_capacity_bytes, "D": float(hw.domain_gpus),
        "LAYERS": float(spec.layers),
        "EP_OVL": sp["ep_comm_overlap"] if moe[1] else 0.0, "EXPERTS": float(spec.experts or 1),
        "DISPATCH": float(kt.DISPATCHERS.index(moe[0])),
        "OPT_STATE_BYTES": memory.OPTIMIZER_STATE_BYTES[optimizer],
        "FP8_WCOPY": memory.fp8_weight_copy_bytes(precision, sp, fp8_param_gather),
        "ACT_BYTES": memory.TRAINING_DEFAULTS["activation_bytes"],
        "OPT_T0": _optimizer_coeffs(acc.name, optimizer)[0],
        "OPT_T_PER_PARAM": _optimizer_coeffs(acc.name, optimizer)[1],
        **dict(zip(("NS_DENSE", "NS_MOE", "NS_EXPERT", "NS_MAX_NE", "NS_MAX_E"),
                   _muon_ns_coeffs(spec, acc.name, optimizer, int(sp["muon_ns_iterations"])), strict=True)),
        # Megatron's recompute_modules replace the stack's selective set; "moe" re-runs the
        # layer's dispatch and combine too (2 more all-to-alls per MoE layer)
        "SEL_MODE": sp["selective_recompute"] if modules is None else 0.0,
        "SEL_A2A": 2.0 if (modules is not None and "moe" in modules) else 0.0,
        "MOE_SYNC": sp["moe_host_sync_s"] if (moe[4] and spec.experts) else 0.0,
        "MOE_SLOW": sp["moe_host_sync_slowdown"] if (moe[4] and spec.experts) else 0.0,
        # activation offloading (training.offload_modules): the GPU's host link, one direction
        "HOST_BW": catalog.host_link_bytes_per_s(acc.name) if offload else 0.0,
        # pipeline stage buffers per micro-batch (memory.stage_io_bytes), unless the run frees them
        "PP_IO": 0.0 if pp_free_io else sp["pp_stage_buffers_persistent"],
        # parallelism.cp_rotate: 0 the P2P ring, 1 the all-gather rotation, 2 the exposed all-gather
        "CP_AG": float(CP_ROTATE_METHODS.index(cp[0])),
        # the compute model's memory-bound op pricing (per byte, per kernel) for the ring's merges
        "MEM_S_PER_B": compute.op_time(0.0, 1.0, acc.name, launch=False),
        "KERNEL_S": compute.op_time(0.0, 0.0, acc.name),
        # multi-token-prediction modules, on the stage with the output layer
        "MTP": float(spec.mtp_layers),
        "MTP_MOE": 1.0 if (spec.mtp_layers and spec.mtp_layer_kind() == "moe") else 0.0,
    }
    # the stack factors the kernel reads as they are: one name, data/stacks.csv's
    vals.update({n: sp[n] for n in kt.C_NAMES if n in STACK_PARAMS})
    c = np.array([vals[n] for n in kt.C_NAMES], dtype=np.float64)
    if not np.all(np.isfinite(c)):
        bad = [n for n, v in zip(kt.C_NAMES, c, strict=True) if not math.isfinite(v)]
        raise ValidationError(f"training model constants not finite: {bad}")
    if hook is None:
        tab, htab = _tables_cached(spec, acc.name, precision, seq_len,
                                   tuple(sp[k] for k in _TABLE_FACTORS), tps, mbss, cps, None, 0.0, modules, loss,
                                   offload, sac_attn, scaling)
    else:
        tab, htab = _tables_cached(spec, acc.name, precision, seq_len,
                                   tuple(sp[k] for k in _TABLE_FACTORS), tps, mbss, cps, hook, sp["tp_comm_overlap"],
                                   modules, loss, offload, sac_attn, scaling)
    tokens = float(seq_len * global_batch)
    # one checkpoint formula (memory.checkpoint_bytes: Muon keeps AdamW state on embeddings/head)
    ckpt = memory.checkpoint_bytes(spec, optimizer, weight_bytes=sp["weight_bytes"]).total_bytes
    flops = _flop_conventions(spec, seq_len, tokens)
    extra = (0.0, 0.0)
    if hook is not None:  # issue 20: encoders, projectors and cross-attention
        trainable = hook.first_stage_params() + hook.cross_params()
        frozen = 0.0 if hook.trained else float(hook.spec.params_encoders)
        ckpt += trainable * (sp["weight_bytes"] + memory.OPTIMIZER_STATE_BYTES[optimizer]) + frozen * sp["weight_bytes"]
        f_mm = hook.flops_per_sequence() * global_batch
        # attention inside each packed sample only (document masks): the conventions that count
        # the attention core count that fraction of it
        f_att = hook.stats.attention_fraction
        causal_core = spec._forward_parts(seq_len, True).get("attention_core", 0.0)
        saved = {MFU_CONVENTION: causal_core, "executed": causal_core,
                 "6N+head+attn": spec._forward_parts(seq_len, False).get("attention_core", 0.0)}
        flops = {k: v + f_mm - 3.0 * (1.0 - f_att) * saved.get(k, 0.0) * tokens for k, v in flops.items()}
        ex = hook.stage_extras()
        extra = (ex["first_stage_params"], ex["per_layer_params"])
    cv = sp["moe_popularity_cv"] if moe[2] == "learned" else 0.0
    xkey = (spec, acc.name, precision, seq_len, tuple(sp[k] for k in _TABLE_FACTORS), cv, moe[3], modules, offload,
            scaling)
    return _Context(spec=spec, c=c, tab=tab, htab=htab, P=np.ascontiguousarray(cpar.array, dtype=np.float64),
                    tps=tps, mbss=mbss, cps=cps, flops=flops,
                    peak_bf16=acc.peak("bf16"), world=hw.world_size, tokens_per_step=tokens, stack=stack,
                    sp=sp, domain=int(hw.domain_gpus), checkpoint_bytes=float(ckpt), stage_extra=extra,
                    xkey=xkey, peak_train=max(acc.peak("bf16"), acc.peak(precision) if precision in ("fp8", "fp16")
                                              else 0.0))


_HOOK_OF_SCENARIO = object()
_NO_PLAN = ParallelismConfig()
"""The library choices (moe_dispatcher, ep_overlap, tp_async, ...) of a search scenario that has
no [parallelism] table: the table's defaults, as a scenario built without one gets them."""


def _context(sc: Scenario, tps, mbss, cps, stack: str | None, params: dict | None,
             hook=_HOOK_OF_SCENARIO) -> _Context:
    if params is not None and not isinstance(params, dict):
        raise ValidationError(f"params = {params!r}: expected a dict of stack parameter -> number")
    if stack is None:
        stack = sc.stack
    else:
        stack = stacks.check_stack(stack, sc.hardware.accelerator, "training", where="the stack keyword")
    stack_params(stack, params)  # validate overrides before they become a cache key
    tr = sc.training
    if hook is _HOOK_OF_SCENARIO:   # issue 20: a multimodal model's encoders (None for text)
        hook = None
        if sc.multimodal is not None:
            from .multimodal import training_hook

            hook = training_hook(sc)
    p = sc.parallelism if sc.parallelism is not None else _NO_PLAN   # a search scenario without a plan
    moe = (p.moe_dispatcher, bool(p.ep_overlap), tr.moe_routing, tr.moe_capacity_factor, tr.moe_host_sync)
    return _context_cached(sc.model_spec, sc.hardware, tr.seq_len,
                           tr.global_batch, tr.precision, tr.optimizer, stack,
                           _freeze(params or {}), tuple(tps), tuple(mbss), tuple(cps), hook, moe,
                           tr.recompute_modules, (tr.loss_fusion, tr.loss_chunks, tr.loss_compiled), tr.fp8_param_gather,
                           tr.offload_modules, bool(p.tp_async), bool(tr.eager), bool(tr.sac_recompute_attention),
                           tr.fp8_scaling if tr.precision in ("fp8",) else "tensor",
                           bool(tr.pp_free_stage_buffers), bool(p.dualpipe), (p.cp_rotate, bool(p.cp_repeat_kv)))


@functools.lru_cache(maxsize=4096)
def _stage_rows(spec, pp: int, vp: int, extra: tuple = (0.0, 0.0),
                recompute_num_layers: int | None = None) -> tuple[tuple[tuple[float, ...], tuple[float, float]], ...]:
    """Per stage candidate: (the L_ND ... L_PHEAD fields, (L_RD, L_RM))."""
    from . import memory

    kw = {} if extra == (0.0, 0.0) else {"first_stage_params": extra[0], "per_layer_params": extra[1]}
    return tuple(((float(s["n_dense"]), float(s["n_moe"]), float(s["has_embedding"]), float(s["has_head"]),
                   float(s["rank"]), s["p_nonexpert"], s["p_expert"], s["p_embedding"], s["p_head"]),
                  (float(s["n_dense_recomputed"]), float(s["n_moe_recomputed"])))
                 for s in memory.stage_candidates(spec, pp, vp, recompute_num_layers=recompute_num_layers, **kw))


def _layout_tables(ctx: _Context, layouts: np.ndarray, recompute_num_layers: int | None = None):
    """lay[layout, candidate, L_*], ncand[layout] and comm[layout, mbs_i, sp, Q_*] for an
    int64 array of layouts (tp, pp, vp, cp, dp, ep, etp): stage candidates from
    :func:`infra_lab.memory.stage_candidates` (with the layers full recompute re-runs,
    ``training.recompute_num_layers``), collective times from the collective kernel."""
    from . import memory

    n = layouts.shape[0]
    lay = np.zeros((n, 8, kt.N_LAY))
    ncand = np.zeros(n, dtype=np.int64)
    for i in range(n):
        rows = _stage_rows(ctx.spec, int(layouts[i, kt.LY_PP]), int(layouts[i, kt.LY_VP]), ctx.stage_extra,
                           recompute_num_layers)
        ncand[i] = len(rows)
        for j, (r, rec) in enumerate(rows):
            lay[i, j, : len(r)] = r
            lay[i, j, kt.L_RD] = rec[0]
            lay[i, j, kt.L_RM] = rec[1]
            # MTP modules full recompute re-runs: none under the block method (Megatron-Core)
            lay[i, j, kt.L_RX] = r[3] * memory.mtp_modules_recomputed(ctx.spec.mtp_layers, recompute_num_layers)
    kt.fill_layout_comm(ctx.c, layouts, lay, ncand, ctx.P)
    comm = np.zeros((n, len(ctx.mbss), 2, kt.N_COMM))
    kt.fill_plan_comm(ctx.c, layouts, np.array(ctx.mbss, dtype=np.float64), comm, ctx.P)
    return lay, ncand, comm


# --------------------------------------------------------------------------------------
# estimate
# --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Estimate:
    """One training step of a scenario.

    Attributes
    ----------
    step_time_s : time of one optimizer step [s]
    tokens_per_s : global_batch · seq_len / step_time_s [tokens/s]
    tokens_per_s_per_gpu : tokens_per_s / GPUs [tokens/s]
    mfu : model FLOPs utilisation against the dense BF16 peak [-], FLOPs under
        :data:`MFU_CONVENTION` (causal attention, LM head included); see
        :meth:`mfu_table` for the other conventions side by side
    tflops_per_gpu : model FLOPs per second per GPU, same convention [TFLOP/s]
    memory_per_gpu_bytes : peak memory on the most loaded GPU [bytes]
    fits : memory_per_gpu_bytes ≤ HBM capacity
    breakdown : polars DataFrame (component, seconds) summing to step_time_s
    stack : software stack whose factors were used
    model_flops_per_step : FLOPs of one step under :data:`MFU_CONVENTION` [FLOP]
    gpus : GPUs in the cluster
    nic_busy_fraction : share of the step time during which collectives that cross
        scale-up domains run (their raw time, overlapped or not) [-]. A time share, not link
        utilization: a collective paced by latency or by the scale-up hop counts in full
        although its NICs are not saturated
    dp_comm_raw_s : raw data-parallel collective time of the slowest stage per step,
        before any overlap [s]
    checkpoint_bytes : one full checkpoint: weights + optimizer states of all parameters [bytes]
    flops_by_convention : FLOPs per step under each MFU convention [FLOP]
    peak_flops : dense BF16 peak of one GPU [FLOP/s]
    """

    step_time_s: float
    tokens_per_s: float
    tokens_per_s_per_gpu: float
    mfu: float
    tflops_per_gpu: float
    memory_per_gpu_bytes: float
    fits: bool
    breakdown: pl.DataFrame = field(repr=False)
    stack: str = ""
    model_flops_per_step: float = 0.0
    gpus: int = 0
    nic_busy_fraction: float = 0.0
    dp_comm_raw_s: float = 0.0
    checkpoint_bytes: float = 0.0
    flops_by_convention: dict = field(default_factory=dict, repr=False)
    peak_flops: float = 0.0

    def days_to_train(self, tokens: float) -> float:
        """Days of uninterrupted training for ``tokens`` [days]."""
        return float(_tokens_arg(tokens)) / self.tokens_per_s / 86400.0

    def gpu_hours(self, tokens: float) -> float:
        """GPU-hours of uninterrupted training for ``tokens`` [GPU·h]: step time × steps ×
        GPUs (the quantity economics and reliability consume)."""
        return float(_tokens_arg(tokens)) / self.tokens_per_s * self.gpus / 3600.0

    def mfu_table(self) -> pl.DataFrame:
        """MFU under the common FLOP conventions, side by side: convention, flops_per_step
        [FLOP], tflops_per_gpu [TFLOP/s], mfu [-] (tokens/s/GPU is the convention-free figure)."""
        names = list(self.flops_by_convention)
        f = np.array([self.flops_by_convention[k] for k in names])
        per = f / (self.step_time_s * self.gpus)
        return pl.DataFrame({"convention": names, "flops_per_step": f, "tflops_per_gpu": per / 1e12,
                             "mfu": per / self.peak_flops})

    def to_dict(self) -> dict[str, Any]:
        """Scalar fields as a dict (breakdown components included as ``<name>_s``)."""
        d = {k: getattr(self, k) for k in ("step_time_s", "tokens_per_s", "tokens_per_s_per_gpu",
                                           "mfu", "tflops_per_gpu", "memory_per_gpu_bytes",
                                           "fits", "stack", "gpus", "nic_busy_fraction",
                                           "dp_comm_raw_s", "checkpoint_bytes")}
        d.update({f"{c}_s": s for c, s in self.breakdown.iter_rows()})
        return d


def _tokens_arg(tokens) -> float:
    if isinstance(tokens, bool) or not isinstance(tokens, (int, float, np.integer, np.floating)) \
            or not math.isfinite(float(tokens)) or tokens <= 0:
        raise ValidationError(f"tokens = {tokens!r}: expected a finite number of tokens > 0")
    return float(tokens)


def _plan_of(sc: Scenario) -> tuple[int, ...]:
    p, tr = sc.parallelism, sc.training
    return (p.tp, p.pp, p.vp, p.cp, p.ep, p.etp, p.dp, tr.micro_batch, p.zero, int(p.fsdp),
            _RC[tr.recompute], int(p.sequence_parallel))


def estimate(scenario: Scenario | dict, *, stack: str | None = None,
             params: dict[str, float] | None = None) -> Estimate:
    """Step time, throughput, MFU and memory of one training scenario.

    Parameters
    ----------
    scenario : Scenario, the plain dict of its tables, or the path of a TOML file of them
    stack : software stack name (default: the scenario's ``training.stack``, else the
        accelerator vendor's default, :func:`infra_lab.stacks.default_stack`)
    params : overrides of the stack's named factors, e.g. ``{"dp_comm_overlap": 0.0}``

    Returns
    -------
    Estimate

    Notes
    -----
    step = m·t_mb(slowest stage) + pipeline p2p + (pp−1)/vp bubble + exposed DP comm
    + optimizer, t_mb = forward + backward + recompute + exposed TP/CP/EP comm of one
    micro-batch; see the module docstring and :mod:`infra_lab._kernels.training`.

    Examples
    --------
    >>> import infra_lab as il
    >>> est = il.estimate(il.load_scenario("zaya1-ibm-mi300x"))
    >>> abs(est.breakdown["seconds"].sum() - est.step_time_s) < 1e-9 * est.step_time_s
    True
    """
    return _estimate_with_hook(_training_scenario(scenario, "il.estimate"), _HOOK_OF_SCENARIO, stack=stack,
                               params=params)


def _training_scenario(scenario, what: str, check_plan: bool = True) -> Scenario:
    """The validated Scenario of a training call; a serving scenario is refused by name.
    ``check_plan=False`` for the calls that enumerate the plans themselves (:func:`search`,
    :func:`plan_space_size`): the [parallelism] table may be missing or not fit the cluster,
    batch or model (:meth:`Scenario.from_dict`)."""
    sc = as_scenario(scenario, check_plan=check_plan)
    if sc.training is None:
        tables = "[training] and [parallelism] tables" if check_plan else "a [training] table"
        raise ValidationError(f"{what}: scenario {sc.name!r} is a serving scenario ([serving] table, no "
                              f"[training]); use il.serve for an inference deployment, or give {tables}")
    return sc


def _estimate_with_hook(sc: Scenario, hook, *, stack: str | None = None,
                        params: dict[str, float] | None = None) -> Estimate:
    """:func:`estimate` with the multimodal hook given (issue 20: the multimodal estimate runs
    the same plan with the encoder time scaled to 0 to split the step)."""
    plan = _plan_of(sc)
    tp, pp, vp, cp, ep, etp, dp, mbs, zero, fsdp, rc, spf = plan
    ctx = _context(sc, (tp,), (mbs,), (cp,), stack, params, hook)
    layouts = np.array([[tp, pp, vp, cp, dp, ep, etp]], dtype=np.int64)
    lay, ncand, comm = _layout_tables(ctx, layouts, sc.training.recompute_num_layers)
    heads = np.array([[tp, pp, vp, cp, ep, etp, dp, mbs, spf, 0, 0, 0, 0, 0]], dtype=np.int64)
    tail = np.array([[zero, fsdp, rc]], dtype=np.int64)
    out = np.empty((1, kt.N_OUT))
    xtab = _xtab(ctx, ((ep, etp),))
    for a in (lay, ncand, comm, heads, tail):   # read-only as search passes them: eval_head compiles once
        a.setflags(write=False)
    kt.evaluate_serial(ctx.c, ctx.tab, ctx.htab, xtab, lay, ncand, comm, heads, tail, out)
    return _estimate_from(out[0], ctx)


def _estimate_from(out, ctx: _Context) -> Estimate:
    step = float(out[kt.O_STEP])
    if step == math.inf:
        raise ValidationError(
            "plan not runnable: a collective of this plan has no path on this fabric (e.g. an expert-parallel "
            "all-to-all across rails on a rails-only fabric with hardware.pxn = false); enable PXN, keep ep "
            "within the scale-up domain or use a rail-optimized / fat-tree fabric")
    if not (math.isfinite(step) and step > 0):
        raise ValidationError(f"step time {step!r}: the model produced a non-positive or non-finite time")
    rate = ctx.flops["executed"] / (step * ctx.world)
    if ctx.peak_train > 0 and rate > ctx.peak_train:
        raise ValidationError(
            f"the step would run {rate / 1e12:,.0f} TFLOP/s per GPU, above the {ctx.peak_train / 1e12:,.0f} TFLOP/s "
            f"dense peak: the stack factors (framework_time_scale = {ctx.sp['framework_time_scale']:g}, "
            f"memory_time_scale = {ctx.sp['memory_time_scale']:g}) make it faster than the hardware; "
            "allowed: factors that keep every kernel at or below its measured rate (see stacks.ranges)")
    tps = ctx.tokens_per_step / step
    bd = pl.DataFrame({"component": list(COMPONENTS),
                       "seconds": [float(x) for x in out[: kt.N_COMPONENTS]]},
                      schema={"component": pl.String, "seconds": pl.Float64})
    f = ctx.flops[MFU_CONVENTION]
    return Estimate(
        step_time_s=step, tokens_per_s=tps, tokens_per_s_per_gpu=tps / ctx.world,
        mfu=f / (step * ctx.world * ctx.peak_bf16), tflops_per_gpu=f / (step * ctx.world) / 1e12,
        memory_per_gpu_bytes=float(out[kt.O_MEM]), fits=bool(out[kt.O_FITS] > 0.5),
        breakdown=bd, stack=ctx.stack, model_flops_per_step=f, gpus=ctx.world,
        nic_busy_fraction=min(1.0, float(out[kt.O_NET]) / step), dp_comm_raw_s=float(out[kt.O_DP_RAW]),
        checkpoint_bytes=ctx.checkpoint_bytes, flops_by_convention=dict(ctx.flops), peak_flops=ctx.peak_bf16,
    )


# --------------------------------------------------------------------------------------
# search
# --------------------------------------------------------------------------------------
_PLAN_KEYS = ("tp", "pp", "vp", "cp", "ep", "etp", "dp", "micro_batch", "zero", "fsdp", "recompute",
              "sequence_parallel")
_BOUNDED = ("tp", "pp", "vp", "cp", "ep", "etp", "dp", "micro_batch", "zero")
SEARCH_CONSTRAINTS = tuple(_PLAN_KEYS) + tuple(f"{b}_{k}" for k in _BOUNDED for b in ("max", "min"))
"""Keyword constraints of :func:`search`: a plan key = a value or a list of values
(``recompute`` as "none"/"selective"/"full", ``fsdp``/``sequence_parallel`` as booleans), or
``max_<key>`` / ``min_<key>`` integer bounds."""

DEFAULT_MAX = {"micro_batch": 16, "vp": 8, "cp": 16, "etp": 8}


def _divisors(n: int) -> list[int]:
    return [d for d in range(1, n + 1) if n % d == 0]


def _check_constraints(cons: dict) -> dict:
    """Validate search constraints: names, types and ranges. Returns them normalised
    (lists of ints for plan keys)."""
    out: dict[str, Any] = {}
    for k, v in cons.items():
        if k not in SEARCH_CONSTRAINTS:
            raise unknown("search constraint", k, SEARCH_CONSTRAINTS)
        if k.startswith(("max_", "min_")):
            base = k[4:]
            lo = 0 if base == "zero" else 1
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < lo:
                raise ValidationError(f"search constraint {k} = {v!r}: expected an integer >= {lo}")
            out[k] = int(v)
            continue
        vals = list(v) if isinstance(v, (list, tuple, set)) else [v]
        if not vals:
            raise ValidationError(f"search constraint {k} = {v!r}: expected at least one value")
        norm = []
        for x in vals:
            if k == "recompute":
                if not isinstance(x, str) or x not in _RC:
                    raise unknown("recompute value", x, list(_RC), where=f"search constraint {k}")
                norm.append(_RC[x])
            elif k in ("fsdp", "sequence_parallel"):
                if not isinstance(x, bool):
                    raise ValidationError(f"search constraint {k} = {x!r}: expected true or false")
                norm.append(int(x))
            elif k == "zero":
                if isinstance(x, bool) or not isinstance(x, (int, np.integer)) or not 0 <= x <= 3:
                    raise ValidationError(f"search constraint zero = {x!r}: allowed 0, 1, 2 or 3")
                norm.append(int(x))
            else:
                if isinstance(x, bool) or not isinstance(x, (int, np.integer)) or x < 1:
                    raise ValidationError(f"search constraint {k} = {x!r}: expected a positive integer")
                norm.append(int(x))
        out[k] = norm
    for key in _BOUNDED:
        lo, hi = out.get(f"min_{key}"), out.get(f"max_{key}")
        if lo is not None and hi is not None and lo > hi:
            raise ValidationError(f"search constraints min_{key} = {lo} > max_{key} = {hi}: no value allowed")
    return out


def _allowed(name: str, values, cons: dict, why: str, strict: bool = True) -> list:
    """Filter candidate values of one plan key by the constraints; when an explicitly
    requested value is impossible, say which and what is allowed."""
    vals = list(values)
    if name in cons:
        want = cons[name]
        bad = [w for w in want if w not in vals]
        if strict and bad and len(bad) == len(want):
            shown = [_RC_NAMES[w] for w in bad] if name == "recompute" else bad
            allowed = [_RC_NAMES[w] for w in vals] if name == "recompute" else vals
            raise ValidationError(f"search constraint {name} = {shown[0] if len(shown) == 1 else shown}: "
                                  f"not a valid {name} here; allowed {allowed} ({why})")
        vals = [x for x in vals if x in want]
    lo = cons.get(f"min_{name}")
    hi = cons.get(f"max_{name}", DEFAULT_MAX.get(name))
    if lo is not None:
        vals = [x for x in vals if x >= lo]
    if hi is not None:
        vals = [x for x in vals if x <= hi]
    return vals


def _domains(sc: Scenario) -> dict[str, list[int]]:
    """Values each plan key can take on this model and cluster, before combining them
    (for error messages naming what is allowed)."""
    spec, hw, tr = sc.model_spec, sc.hardware, sc.training
    W, D, L = hw.world_size, hw.domain_gpus, spec.layers
    return {
        "tp": [d for d in _divisors(W) if d <= D and spec.heads % d == 0],
        "pp": [d for d in _divisors(W) if d <= L],
        "vp": list(range(1, min(L, DEFAULT_MAX["vp"]) + 1)),
        "cp": [d for d in _divisors(W) if tr.seq_len % d == 0],
        "dp": [d for d in _divisors(W) if tr.global_batch % d == 0],
        "ep": _divisors(spec.experts) if spec.experts else [1],
        "etp": [d for d in _divisors(W) if d <= D] if spec.experts else [1],
        "micro_batch": _divisors(tr.global_batch),
    }


_WHY = {"tp": "divisors of the GPUs up to the job's scale-up domain that divide the attention heads",
        "pp": "divisors of the GPUs up to the layer count", "vp": "1 up to layers/pp (default max 8)",
        "cp": "divisors of the GPUs that divide seq_len", "dp": "divisors of the GPUs that divide global_batch",
        "ep": "divisors of the expert count", "etp": "divisors of the GPUs within the scale-up domain (MoE only)",
        "micro_batch": "divisors of global_batch"}


def _enumerate(sc: Scenario, cons: dict):
    """Layouts (tp, pp, vp, cp, dp, ep, etp), head rows (tp pp vp cp ep etp dp mbs sp
    layout) and tail rows (zero, fsdp, recompute): every consistent plan is a head × a tail."""
    spec = sc.model_spec
    hw, tr = sc.hardware, sc.training
    W = hw.world_size
    D = hw.domain_gpus            # the job's GPUs in one scale-up domain (partial nodes, NVL72)
    L = spec.layers
    dom = _domains(sc)
    for k, want in cons.items():  # a requested value no plan can have: say which and what is allowed
        if k in dom:
            bad = [w for w in want if w not in dom[k]]
            if bad:
                raise ValidationError(f"search constraint {k} = {bad[0] if len(bad) == 1 else bad}: not possible "
                                      f"for {sc.model_spec.layers}-layer model on {W} GPUs; allowed {dom[k]} "
                                      f"({_WHY[k]})")
    zeros = _allowed("zero", range(4), cons, "ZeRO stages 0-3")
    fsdps = _allowed("fsdp", (0, 1), cons, "false or true")
    # FSDP is enumerated as (zero=3, fsdp=True): full sharding, priced like ZeRO-3
    shard_opts = [(z, 0) for z in zeros if 0 in fsdps] + ([(3, 1)] if 1 in fsdps and 3 in zeros else [])
    rcs = _allowed("recompute", (0, 1, 2), cons, "none, selective, full")
    tail = np.array([(z, f, r) for z, f in shard_opts for r in rcs], dtype=np.int64).reshape(-1, 3)
    tps = _allowed("tp", dom["tp"], cons, _WHY["tp"], strict=False)
    layouts: list[tuple] = []
    keys: list[tuple] = []
    for tp in tps:
        for pp in _allowed("pp", [d for d in _divisors(W // tp) if d <= L], cons, "", strict=False):
            rem = W // (tp * pp)
            vps = [1] if pp == 1 else list(range(1, L // pp + 1))
            vps = _allowed("vp", vps, cons, "", strict=False)
            for cp in _allowed("cp", [d for d in _divisors(rem) if tr.seq_len % d == 0], cons, "", strict=False):
                dp = rem // cp
                if not _allowed("dp", [dp], cons, "", strict=False) or tr.global_batch % dp:
                    continue
                folded = tp * cp * dp
                eps = [d for d in _divisors(spec.experts) if folded % d == 0] if spec.experts else [1]
                for ep in _allowed("ep", eps, cons, "", strict=False):
                    etps = [d for d in _divisors(folded // ep) if d <= D] if spec.experts else [1]
                    for etp in _allowed("etp", etps, cons, "", strict=False):
                        for vp in vps:
                            layouts.append((tp, pp, vp, cp, dp, ep, etp))
                            keys.append((dp, tp))
    if not layouts or tail.size == 0:
        return np.zeros((0, 7), dtype=np.int64), np.zeros((0, kt.N_HEAD), dtype=np.int64), tail
    L_arr = np.array(layouts, dtype=np.int64)
    K_arr = np.array(keys, dtype=np.int64)
    parts = []
    for key in set(keys):
        dp, tp = key
        mbss = _allowed("micro_batch", _divisors(tr.global_batch // dp), cons, "", strict=False)
        sps = _allowed("sequence_parallel", [0] if tp == 1 else [0, 1], cons, "", strict=False)
        if not mbss or not sps:
            continue
        combos = np.array([(mb, spf) for mb in mbss for spf in sps], dtype=np.int64)
        lis = np.nonzero((K_arr[:, 0] == dp) & (K_arr[:, 1] == tp))[0]
        li_rep = np.repeat(lis, combos.shape[0])
        cmb = np.tile(combos, (lis.size, 1))
        parts.append((li_rep, cmb))
    if not parts:
        return L_arr, np.zeros((0, kt.N_HEAD), dtype=np.int64), tail
    li_all = np.concatenate([p[0] for p in parts])
    cmb_all = np.concatenate([p[1] for p in parts])
    order = np.lexsort((cmb_all[:, 1], cmb_all[:, 0], li_all))
    li_all, cmb_all = li_all[order], cmb_all[order]
    Ly = L_arr[li_all]
    heads = np.empty((li_all.size, kt.N_HEAD), dtype=np.int64)
    heads[:, kt.H_TP] = Ly[:, kt.LY_TP]
    heads[:, kt.H_PP] = Ly[:, kt.LY_PP]
    heads[:, kt.H_VP] = Ly[:, kt.LY_VP]
    heads[:, kt.H_CP] = Ly[:, kt.LY_CP]
    heads[:, kt.H_EP] = Ly[:, kt.LY_EP]
    heads[:, kt.H_ETP] = Ly[:, kt.LY_ETP]
    heads[:, kt.H_DP] = Ly[:, kt.LY_DP]
    heads[:, kt.H_MBS] = cmb_all[:, 0]
    heads[:, kt.H_SP] = cmb_all[:, 1]
    heads[:, kt.H_LAY] = li_all
    return L_arr, heads, tail


def plan_space_size(scenario: Scenario | dict, **constraints) -> int:
    """Number of consistent plans :func:`search` would evaluate."""
    sc = _training_scenario(scenario, "plan_space_size", check_plan=False)
    cons = _check_constraints(constraints)
    _, heads, tail = _enumerate(sc, cons)
    return int(heads.shape[0] * tail.shape[0])


@functools.lru_cache(maxsize=32)
def _prepared(sc: Scenario, cons_t: tuple, stack, params_t: tuple):
    """Heads, tail, context and layout tables of one search (memoised: the collective times
    of every (layout, micro-batch) are computed once per scenario and constraints)."""
    cons = {k: list(v) if isinstance(v, tuple) else v for k, v in cons_t}
    layouts, heads, tail = _enumerate(sc, cons)
    if heads.shape[0] == 0 or tail.shape[0] == 0:
        _name_unreachable_bound(sc, cons)
        _name_batch_without_plan(sc, cons)
        raise ValidationError(
            f"search: no consistent plan satisfies the constraints {cons!r} together for "
            f"{sc.hardware.world_size} GPUs (global_batch {sc.training.global_batch}, "
            f"{sc.model_spec.layers} layers); each value is possible alone — relax one of them")
    tps = tuple(sorted(set(heads[:, kt.H_TP].tolist())))
    mbss = tuple(sorted(set(heads[:, kt.H_MBS].tolist())))
    cps = tuple(sorted(set(heads[:, kt.H_CP].tolist())))
    ctx = _context(sc, tps, mbss, cps, stack, dict(params_t) if params_t is not None else None)
    lay, ncand, comm = _layout_tables(ctx, layouts, sc.training.recompute_num_layers)
    heads[:, kt.H_TPI] = np.searchsorted(np.array(tps), heads[:, kt.H_TP])
    heads[:, kt.H_MBSI] = np.searchsorted(np.array(mbss), heads[:, kt.H_MBS])
    heads[:, kt.H_CPI] = np.searchsorted(np.array(cps), heads[:, kt.H_CP])
    pairs = [(int(a), int(b)) for a, b in layouts[:, [kt.LY_EP, kt.LY_ETP]]]
    xs = sorted(set(pairs))
    xidx = {x: i for i, x in enumerate(xs)}
    heads[:, kt.H_XI] = np.array([xidx[x] for x in pairs], dtype=np.int64)[heads[:, kt.H_LAY]]
    xtab = _xtab(ctx, tuple(xs))
    for a in (heads, tail, lay, ncand, comm):
        a.setflags(write=False)
    return np.ascontiguousarray(heads), np.ascontiguousarray(tail), ctx, (lay, ncand, comm, xtab)


def _name_batch_without_plan(sc: Scenario, cons: dict) -> None:
    """When no plan exists even without the constraints, say why: dp = world/(tp·pp·cp) must
    divide training.global_batch, and the model cannot be split enough ways for that (a scenario
    whose [parallelism] table is left out or not checked reaches the search with any batch)."""
    if cons and _enumerate(sc, {})[1].shape[0]:
        return
    spec, hw, tr = sc.model_spec, sc.hardware, sc.training
    W, L, max_cp = hw.world_size, spec.layers, DEFAULT_MAX["cp"]
    dps = [W // (tp * pp * cp) for tp in _domains(sc)["tp"] for pp in _divisors(W // tp) if pp <= L
           for cp in _divisors(W // (tp * pp)) if cp <= max_cp and tr.seq_len % cp == 0]
    dp_min = min(dps)
    raise ValidationError(
        f"training.global_batch = {tr.global_batch}: no parallel plan on {W} GPUs has a data-parallel size "
        f"dp = {W}/(tp·pp·cp) that divides it; this {L}-layer model ({spec.heads} heads, seq_len "
        f"{tr.seq_len}) splits at most {W // dp_min} ways (tp dividing the heads within the "
        f"{hw.domain_gpus}-GPU scale-up domain, pp up to the layers, cp up to {max_cp} dividing seq_len), "
        f"so dp >= {dp_min}; allowed: a global batch that is a multiple of {dp_min}, or fewer GPUs")


def _name_unreachable_bound(sc: Scenario, cons: dict) -> None:
    """When no plan satisfies the constraints, name a min_/max_ bound that no plan reaches
    (the others allowing plans) with the values the plans can take (issue 18 item 6)."""
    for k in [k for k in cons if k.startswith(("min_", "max_"))]:
        rest = {kk: vv for kk, vv in cons.items() if kk != k}
        _, h2, t2 = _enumerate(sc, rest)
        if h2.shape[0] == 0 or t2.shape[0] == 0:
            continue
        base = k[4:]
        col = {"tp": kt.H_TP, "pp": kt.H_PP, "vp": kt.H_VP, "cp": kt.H_CP, "ep": kt.H_EP, "etp": kt.H_ETP,
               "dp": kt.H_DP, "micro_batch": kt.H_MBS}
        vals = sorted(set((t2[:, 0] if base == "zero" else h2[:, col[base]]).tolist()))
        raise ValidationError(f"search constraint {k} = {cons[k]}: no plan reaches it here "
                              f"({sc.model_spec.layers}-layer model on {sc.hardware.world_size} GPUs, with the other "
                              f"constraints); allowed {base} values: {vals}")


def _prepare(sc: Scenario, cons: dict, stack, params):
    if params is not None and not isinstance(params, dict):
        raise ValidationError(f"params = {params!r}: expected a dict of stack parameter -> number")
    if stack is not None:       # validated before they become a cache key (hashable, known, in range)
        stack = stacks.check_stack(stack, sc.hardware.accelerator, "training", where="the stack keyword")
    stack_params(sc.stack if stack is None else stack, params)
    cons_t = tuple(sorted((k, tuple(v) if isinstance(v, list) else v) for k, v in cons.items()))
    params_t = None if params is None else tuple(sorted(params.items()))
    return _prepared(sc, cons_t, stack, params_t)


def search(scenario: Scenario | dict, objective: str = "tokens_per_s", top: int | None = 10,
           feasible_only: bool = True, *, stack: str | None = None,
           params: dict[str, float] | None = None, **constraints) -> pl.DataFrame:
    """Every consistent parallel plan for the scenario's model and cluster, best first.

    Enumerates tp (divisors of the world ≤ the scale-up domain, dividing the heads), pp
    (any divisor of the remaining ranks up to the layer count: stages need not be equal),
    vp (1 … layers/pp), cp (dividing seq_len), dp (derived), ep (dividing the experts and
    tp·cp·dp: Megatron-Core's MoE parallel folding), etp (expert tensor parallel, dividing
    tp·cp·dp/ep, within the scale-up domain), micro-batch (dividing global_batch/dp), ZeRO
    0–3 and FSDP, recompute none/selective/full and sequence parallel (tp > 1); evaluates
    them all with the numba kernel (parallel over plans from :data:`SEARCH_SERIAL_BELOW` plans
    on); drops plans that do not fit (when
    ``feasible_only``) and sorts by ``objective``, plans with equal values (e.g. a ZeRO-3 and
    an FSDP plan priced alike) in enumeration order, so ``top=k`` returns the first k rows of
    ``top=None``.

    Parameters
    ----------
    scenario : Scenario, dict or TOML path (its model, hardware and training tables are used). Its
        [parallelism] table is optional: the search enumerates the plans, so the table may be
        left out or hold a plan that does not fit this cluster, batch or model
        (``Scenario.from_dict(d, check_plan=False)``); of it only the library choices that are
        not searched are kept (moe_dispatcher, ep_overlap, tp_async, dualpipe, cp_rotate,
        cp_repeat_kv; their defaults when it is left out). Likewise training.micro_batch and
        recompute, which the search enumerates; its "full" plans recompute the first
        training.recompute_num_layers layers of each pipeline chunk when the scenario sets it
        (every layer otherwise).
    objective : "tokens_per_s" | "mfu" | "tflops_per_gpu" (larger first) or "step_time_s" |
        "memory_per_gpu_bytes" (smaller first)
    top : rows to return (None: all)
    feasible_only : keep only plans that fit in memory
    stack, params : as in :func:`estimate`
    **constraints : see :data:`SEARCH_CONSTRAINTS`, e.g. ``tp=1``, ``max_tp=8``, ``zero=1``,
        ``recompute=["none", "selective"]``. Defaults: max_micro_batch 16, max_vp 8,
        max_cp 16, max_etp 8.

    Returns
    -------
    polars.DataFrame
        tp, pp, vp, cp, ep, etp, dp, micro_batch, zero, fsdp, recompute, (only when the scenario
        sets training.recompute_num_layers: recompute_num_layers, that N on the "full" plans and
        null on the others), sequence_parallel, step_time_s, tokens_per_s, mfu, tflops_per_gpu,
        memory_per_gpu_bytes, fits,
        runnable (False when a collective of the plan has no path on the fabric, e.g. an
        expert all-to-all across rails with PXN off: step time inf, tokens/s 0; such plans are
        dropped with ``feasible_only``), nic_busy_fraction and the breakdown components [s]. With ``top=None,
        feasible_only=False`` one row per plan evaluated.

    Examples
    --------
    >>> import infra_lab as il
    >>> best = il.search(il.load_scenario("zaya1-ibm-mi300x"), top=3, max_micro_batch=4)
    >>> best.height, bool(best["fits"].all())
    (3, True)
    """
    sc = _training_scenario(scenario, "il.search", check_plan=False)
    if not isinstance(objective, str) or objective not in OBJECTIVES:
        raise unknown("objective", objective, OBJECTIVES)
    cons = _check_constraints(constraints)
    if top is not None and (isinstance(top, bool) or not isinstance(top, int) or top < 1):
        raise ValidationError(f"top = {top!r}: expected a positive integer or None")
    if not isinstance(feasible_only, bool):
        raise ValidationError(f"feasible_only = {feasible_only!r}: expected true or false")
    heads, tail, ctx, (lay, ncand, comm, xtab) = _prepare(sc, cons, stack, params)
    n = heads.shape[0] * tail.shape[0]
    with _work_buffers(n) as (out, work):
        # a small space without threads: the same eval_head per head, and no parallel kernel to compile
        evaluate = kt.evaluate_serial if n < SEARCH_SERIAL_BELOW else kt.evaluate_plans
        evaluate(ctx.c, ctx.tab, ctx.htab, xtab, lay, ncand, comm, heads, tail, out)
        df = _frame(heads, tail, out, ctx, objective, top, feasible_only, work,
                    recompute_num_layers=sc.training.recompute_num_layers)
        if df.height == 0:
            warnings.warn(f"il.search: empty result: {_why_none(out[:n], sc)}", EmptyResultWarning, stacklevel=2)
        return df


def _why_none(out: np.ndarray, sc: Scenario) -> str:
    """Why :func:`search` kept no plan: the smallest memory of any plan against the capacity,
    or (when some fit) that none of those can run on the fabric."""
    n = out.shape[0]
    if n == 0:
        return "no parallel plan satisfies the constraints given"
    acc = sc.hardware.accelerator_spec
    fits = out[:, kt.O_FITS] > 0.5
    if not fits.any():
        return (f"none of the {n:,} plans fits in memory: the smallest needs {out[:, kt.O_MEM].min() / 1e9:.4g} GB "
                f"per GPU, the {acc.name} exposes {acc.memory_capacity_bytes / 1e9:.4g} GB (add GPUs with "
                "hardware.nodes, shorten training.seq_len, or allow more sharding and recompute; "
                "feasible_only=False lists every plan)")
    return (f"the {int(fits.sum()):,} plans that fit all have a collective with no path on the fabric "
            "(e.g. an expert all-to-all across rails with hardware.pxn off); feasible_only=False lists them")


SEARCH_SERIAL_BELOW = 8192
"""Plan spaces of fewer plans are evaluated without threads (:func:`infra_lab._kernels.training.
evaluate_serial`, about a millisecond at this size; measured 0.26 ms serial against 0.14 ms on two
threads for the 2,400-plan ZAYA1 search of notebook 04), so a session that only searches small
spaces never compiles the parallel kernel (a few seconds of a cold notebook). Each plan's outputs
are the same either way: one eval_head per head, writing its own rows."""


_RC_ENUM = pl.Enum(list(RECOMPUTE))

WORK_KEEP_MAX_BYTES = 128 * 2**20
"""Largest working memory (step-kernel outputs and sort buffers, 160 bytes a plan) that
:func:`search` keeps for its next call: 128 MiB, about 840,000 plans. Fresh pages cost about a
quarter of a search of the 87,795-plan GPT-175B space on 1,024 GPUs
(``benchmarks/bench_search.py``); larger spaces allocate theirs per call and keep nothing."""
_work_lock = threading.Lock()
_work_kept: list = [None, None]


@contextlib.contextmanager
def _work_buffers(n: int):
    """(out, work) for one search of n plans: ``plan_rows(n)`` and the int64 (4, n) sort
    buffers of :func:`infra_lab._kernels.training.plan_order`; the ones kept from an earlier
    call when they are large enough, within :data:`WORK_KEEP_MAX_BYTES` and not in use by
    another thread, else new ones. Nothing returned by the search points into them."""
    if n * (kt.N_OUT + 4) * 8 > WORK_KEEP_MAX_BYTES or not _work_lock.acquire(blocking=False):
        yield plan_rows(n), np.empty((4, n), dtype=np.int64)
        return
    try:
        out, work = _work_kept
        if out is None or out.shape[0] < n:
            out = work = None                       # drop the smaller pair before allocating
            _work_kept[:] = [None, None]
            out, work = plan_rows(n), np.empty((4, n), dtype=np.int64)
            _work_kept[:] = [out, work]
        yield out[:n], work[:, :n]
    finally:
        _work_lock.release()


def plan_rows(n: int) -> np.ndarray:
    """An uninitialised float64 array (n, N_OUT) for the step kernel's outputs whose rows start
    on 128-byte boundaries: one plan = 16 float64 = exactly two cache lines (the frame's
    gather reads each selected plan's row in random order)."""
    buf = np.empty(n * kt.N_OUT + 16)
    off = (-buf.ctypes.data % 128) // 8
    return buf[off: off + n * kt.N_OUT].reshape(n, kt.N_OUT)


def _frame(heads, tail, out, ctx, objective, top, feasible_only, work=None, *,
           recompute_num_layers: int | None = None) -> pl.DataFrame:
    """The returned frame, built column-wise from the arrays: the plans kept (fit and runnable
    when ``feasible_only``) ordered by the objective's column with ties in plan order
    (:func:`infra_lab._kernels.training.plan_order`: a radix sort, or a heap pass for a few
    top rows), the columns gathered by numba passes, parallel for large frames (each plan's outputs are a
    contiguous row of ``out``), plan columns as int32, flags as booleans and recompute as an
    Enum; polars wraps the numpy columns without per-row Python. With ``recompute_num_layers``
    (the scenario's training.recompute_num_layers) a ``recompute_num_layers`` column follows
    ``recompute``: that N on the "full" plans, null on the others."""
    col = kt.O_MEM if objective == "memory_per_gpu_bytes" else kt.O_STEP   # tokens/s, MFU, TFLOP/s: by step
    idx = kt.plan_order(out, col, feasible_only, top, work)
    f = ctx.flops[MFU_CONVENTION]
    scale = np.array([ctx.tokens_per_step, f / (ctx.world * ctx.peak_bf16), f / ctx.world / 1e12])
    o = np.empty((kt.GATHERED + len(kt.DERIVED_NAMES), idx.size))
    pv = np.empty((len(kt.PLAN_INTS), idx.size), dtype=np.int32)
    flags = np.empty((len(kt.PLAN_FLAGS), idx.size), dtype=np.bool_)
    rc = np.empty(idx.size, dtype=np.uint32)
    kt.gather_columns(out, idx, heads, tail, o, pv, flags, rc, scale, numba.get_num_threads())
    fl = {name: pl.Series(name, flags[j]) for j, name in enumerate(kt.PLAN_FLAGS)}
    d = {name: o[kt.GATHERED + j] for j, name in enumerate(kt.DERIVED_NAMES)}
    cols = [pl.Series(name, pv[j]) for j, name in enumerate(kt.PLAN_INTS)]
    cols += [fl["fsdp"], pl.Series("recompute", list(_RC), dtype=_RC_ENUM).gather(pl.Series(rc))]
    if recompute_num_layers is not None:   # the "full" plans recompute only the first N layers of each chunk
        cols.append(pl.Series("recompute_num_layers", np.full(rc.size, recompute_num_layers, dtype=np.int32))
                    .set(pl.Series(rc != _RC["full"]), None))
    cols += [fl["sequence_parallel"]]
    # a plan that cannot run (a collective with no path: step inf) has tokens/s 0 and busy NICs
    cols += [pl.Series("step_time_s", o[kt.O_STEP]), pl.Series("tokens_per_s", d["tokens_per_s"]),
             pl.Series("mfu", d["mfu"]), pl.Series("tflops_per_gpu", d["tflops_per_gpu"]),
             pl.Series("memory_per_gpu_bytes", o[kt.O_MEM]), fl["fits"], fl["runnable"],
             pl.Series("nic_busy_fraction", d["nic_busy_fraction"])]
    cols += [pl.Series(name, o[j]) for j, name in enumerate(COMPONENTS)]
    return pl.DataFrame(cols)


BAND_METHODS = ("corners", "monotone")
"""How :func:`estimate_band` finds its fastest and slowest case: every corner of the box, or
the two corners that per-factor directions pick (exact when the step time is monotone in each
factor, as every stack factor with a range is: a time scale never speeds a step up, an overlap
fraction never slows it down)."""


def estimate_band(scenario: Scenario | dict, *, stack: str | None = None,
                  factors: list[str] | None = None, method: str = "corners") -> pl.DataFrame:
    """The estimate over the stated ranges of the stack's factors: the fastest and the slowest
    case over the box low..high of ``factors`` (default: every factor of the stack with a
    stated range, :func:`infra_lab.stacks.ranges`), plus the nominal point.

    The band is a sensitivity, not a confidence interval: it says how far the estimate moves
    when every factor sits anywhere in its stated range, not how likely a measured run is to
    fall inside it (:func:`infra_lab.validation.band_coverage` counts how many published runs
    do).

    Parameters
    ----------
    method : "corners" (default) evaluates every corner of the box (2^k estimates for k
        factors); "monotone" moves one factor at a time from its low to its high end at the
        others' nominal values, takes each factor's faster end for the fastest case and its
        slower end for the slowest, and evaluates those two corners (2k + 3 estimates). The
        two agree when the step time is monotone in each factor (tests check it on published
        runs); use "monotone" for many factors or many scenarios.

    Returns
    -------
    polars.DataFrame
        case ("nominal", "low", "high" = fastest and slowest case), step_time_s [s],
        tokens_per_s [tokens/s], tokens_per_s_per_gpu, mfu, nic_busy_fraction, and the
        factor values of that case
    """
    sc = _training_scenario(scenario, "estimate_band")
    st = stack or sc.stack
    rng = stacks.ranges(st)
    if factors is not None and (isinstance(factors, str) or not isinstance(factors, (list, tuple))):
        raise ValidationError(f"factors = {factors!r:.80}: expected a list of stack factor names "
                              f"({', '.join(rng)}) or None (all of them)")
    if method not in BAND_METHODS:
        raise unknown("estimate_band method", method, BAND_METHODS)
    names = list(rng) if factors is None else list(factors)
    for n in names:
        if not isinstance(n, str) or n not in rng:
            raise unknown(f"factor with a stated range in stack {st}", n, rng)
    nominal = estimate(sc, stack=stack)
    base = stack_params(st)
    if method == "corners":
        rows = []
        for corner in itertools.product(*[rng[n] for n in names]):
            p = dict(zip(names, corner, strict=True))
            rows.append((estimate(sc, stack=stack, params=p), p))
        fast = min(rows, key=lambda x: x[0].step_time_s)
        slow = max(rows, key=lambda x: x[0].step_time_s)
    else:
        fast_p, slow_p = {}, {}
        for n in names:
            lo, hi = rng[n]
            t_lo = estimate(sc, stack=stack, params={n: lo}).step_time_s
            t_hi = estimate(sc, stack=stack, params={n: hi}).step_time_s
            fast_p[n], slow_p[n] = (lo, hi) if t_lo <= t_hi else (hi, lo)
        fast = (estimate(sc, stack=stack, params=fast_p), fast_p)
        slow = (estimate(sc, stack=stack, params=slow_p), slow_p)
    out = []
    for case, (e, p) in (("nominal", (nominal, {n: base[n] for n in names})), ("low", fast), ("high", slow)):
        out.append({"case": case, "step_time_s": e.step_time_s, "tokens_per_s": e.tokens_per_s,
                    "tokens_per_s_per_gpu": e.tokens_per_s_per_gpu, "mfu": e.mfu,
                    "nic_busy_fraction": e.nic_busy_fraction, **{n: float(p[n]) for n in names}})
    return pl.DataFrame(out)
