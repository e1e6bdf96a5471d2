"""Scenario to kernel inputs: :class:`_Context`, everything the step kernel needs for one
(model, hardware, training, stack).

:func:`_context` resolves a Scenario (stack, overrides, multimodal hook, the library choices
of its [parallelism] table) and :func:`_context_cached` packs the kernel's constant vector
(``kt.C_NAMES``: shapes, byte widths, the stack's factors, optimizer and Newton–Schulz time
coefficients, the memory-bound op pricing), the per-layer tables (:mod:`.tables`), the
collective-kernel parameters, the FLOPs per step under each convention
(:func:`_flop_conventions`, :data:`MFU_CONVENTION`) and the checkpoint size.
:func:`_layout_tables` adds what depends on a layout (tp, pp, vp, cp, dp, ep, etp): the
pipeline stage candidates and the collective times per micro-batch; :func:`_xtab` the
routed-expert table of a set of (ep, etp) pairs."""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from .. import catalog, stacks
from .._kernels import training as kt
from ..errors import ValidationError
from ..scenario import CP_ROTATE_METHODS, PP_SCHEDULES, ParallelismConfig, Scenario
from .factors import STACK_PARAMS, stack_params
from .tables import _TABLE_FACTORS, _tables_cached, _xtab_cached


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
    useful_fraction: float = 1.0      # non-padding share of the step's positions [-] (multimodal packing)


def _freeze(d: dict) -> tuple:
    return tuple(sorted((k, tuple(v) if isinstance(v, list) else v) for k, v in d.items()))


def _flop_conventions(spec, seq_len: int, tokens: float) -> dict[str, float]:
    """FLOPs of one step under every convention of :data:`infra_lab.models.FLOP_CONVENTIONS`
    [FLOP]: :func:`infra_lab.models.training_flops_per_token` × tokens (the one owner of the
    FLOP conventions; "executed" without recomputation). A new dict per call; the values are
    kept per (spec, seq_len, tokens), which is all they depend on."""
    return dict(_flop_conventions_cached(spec, seq_len, tokens))


@functools.lru_cache(maxsize=1024)
def _flop_conventions_cached(spec, seq_len: int, tokens: float) -> tuple[tuple[str, float], ...]:
    from .. import models

    return tuple((c, models.training_flops_per_token(spec, seq_len, c) * tokens) for c in models.FLOP_CONVENTIONS)


@functools.lru_cache(maxsize=1024)
def _checkpoint_total(spec, optimizer: str, weight_bytes: float) -> float:
    """:func:`infra_lab.memory.checkpoint_bytes`' total of a language model [bytes], kept per
    (spec, optimizer, weight_bytes), all it depends on: a stack-factor fit prices the same
    model at many factor values, each a new context."""
    from .. import memory

    return memory.checkpoint_bytes(spec, optimizer, weight_bytes=weight_bytes).total_bytes


@functools.lru_cache(maxsize=64)
def _memory_op_coeffs(acc_name: str) -> tuple[float, float]:
    """(time per byte [s/B], launch time [s]) of a memory-bound op on ``acc_name``, from
    :func:`infra_lab.compute.op_time` (the one owner of that pricing)."""
    from .. import compute

    return compute.op_time(0.0, 1.0, acc_name, launch=False), compute.op_time(0.0, 0.0, acc_name)


def _check_stack_params(stack: str, params: dict | None) -> None:
    """:func:`stack_params` of ``stack`` and ``params`` checked (its errors raised), once per
    distinct input: a fit checks the same overrides at every run it prices. The key holds each
    value's type beside it (``True`` is refused where ``1`` is allowed, and they hash alike); an
    input that cannot be a key (an unhashable value, keys that do not sort) is checked as it is."""
    try:
        key = tuple(sorted((k, type(v), v) for k, v in (params or {}).items()))
        hash(key)
    except TypeError:
        stack_params(stack, params)
        return
    _stack_params_checked(stack, key)


@functools.lru_cache(maxsize=1024)
def _stack_params_checked(stack: str, key: tuple) -> bool:
    stack_params(stack, {k: v for k, _, v in key})
    return True


@functools.lru_cache(maxsize=1024)
def _stack_params_frozen(stack: str, overrides: tuple) -> tuple[tuple[str, float], ...]:
    """:func:`stack_params` of ``stack`` with the frozen ``overrides`` (:func:`_freeze`), as
    items; kept per key as :func:`_context_cached`, whose key holds the same two, keeps it."""
    return tuple(stack_params(stack, dict(overrides)).items())


@functools.lru_cache(maxsize=64)
def _optimizer_coeffs(acc_name: str, optimizer: str) -> tuple[float, float]:
    """(fixed time [s], time per local parameter [s]) of the optimizer update, from
    :func:`infra_lab.compute.optimizer_step_time` (linear in the parameter count)."""
    from .. import compute

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
    from .. import compute

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


MFU_CONVENTION = "6N+head+causal_attn"
"""The FLOP convention of ``Estimate.mfu`` (a key of :data:`infra_lab.models.FLOP_CONVENTIONS`):
6 × active non-embedding parameters, the LM head, attention counted causal (half the s²
score/context work); no recomputation, router or MTP modules (as Megatron-LM counts model FLOPs
since March 2025)."""


def rate_numerators(ctx: _Context) -> tuple[float, float, float]:
    """What the step time divides into the per-step rates: tokens per step [tokens], MFU × step
    [s] and TFLOP/s per GPU × step [TFLOP] (:data:`MFU_CONVENTION`'s FLOPs). The one owner of
    those rates' arithmetic: :func:`infra_lab.estimate` and :func:`infra_lab.search` both multiply
    these by 1 / step time, so a search row and the estimate of its plan carry the same bits
    (before 2026-12-07 the estimate divided in another order and differed in the last place)."""
    f = ctx.flops[MFU_CONVENTION]
    return (float(ctx.tokens_per_step), f / (ctx.world * ctx.peak_bf16), f / ctx.world / 1e12)


def _xtab(ctx: _Context, xs: tuple) -> np.ndarray:
    """The routed-expert table of a context for the (ep, etp) pairs ``xs``."""
    return _xtab_cached(ctx.xkey, ctx.tps, ctx.mbss, ctx.cps, tuple(xs))


def gacc_code(fused: bool, fsdp: bool, fsdp_impl: str) -> float:
    """The ``gradient_accumulation_fusion`` table factor of a run: 1.0 when the weight-gradient
    GEMMs accumulate into the main-grad buffer themselves (training.gradient_accumulation_fusion)
    or there is no such buffer (PyTorch FSDP2 reduce-scatters the autograd gradients itself);
    0.0 when Megatron-Core DDP's backward hook adds each 16-bit gradient to the buffer; 2.0 when
    Megatron-FSDP's post-backward hook copies it there (parallelism.fsdp_impl = "megatron")."""
    if fused or (fsdp and fsdp_impl != "megatron"):
        return 1.0
    return 2.0 if fsdp else 0.0


@functools.lru_cache(maxsize=256)
def _context_cached(spec, hw, seq_len: int, global_batch: int, precision: str,
                    optimizer: str, stack: str, overrides: tuple, tps: tuple, mbss: tuple,
                    cps: tuple, hook=None, moe: tuple = ("alltoall", False, "learned", None, False),
                    modules: tuple | None = None, loss: tuple = (False, 1, False),
                    fp8_param_gather: bool = False, offload: tuple | None = None,
                    tp_async: bool = False, eager: bool = False, sac_attn: bool = False,
                    scaling: str = "tensor", pp_free_io: bool = False, dualpipe: bool = False,
                    cp: tuple = ("p2p", False), gacc: float = 1.0, fsdp_impl: str = "torch",
                    pp_sched: int = 0, pp_exec: bool = False, fsdp_f8_ag: bool = False) -> _Context:
    from .. import collectives, memory

    sp = dict(_stack_params_frozen(stack, overrides))
    if tp_async:   # parallelism.tp_async: the TP collectives overlap at the stack's async-TP fraction
        sp = {**sp, "tp_comm_overlap": sp["tp_async_comm_overlap"]}
    if dualpipe:   # parallelism.dualpipe: the dispatch/combine overlap is DualPipe's
        sp = {**sp, "ep_comm_overlap": sp["dualpipe_ep_comm_overlap"]}
    if eager:      # training.eager: unfused element-wise ops (no torch.compile)
        sp = {**sp, "memory_time_scale": sp["memory_time_scale"] * sp["eager_memory_factor"]}
    # training.gradient_accumulation_fusion, a table factor (GACC_CODES): 1 fused (or PyTorch FSDP,
    # no main-grad buffer), 0 Megatron-Core DDP's hook adds each 16-bit weight gradient to the fp32
    # main-grad buffer, 2 Megatron-FSDP's hook copies it there (compute.layer_ops main_grad_hook)
    sp = {**sp, "gradient_accumulation_fusion": float(gacc)}
    if cp[0] == "allgather" and not eager:
        # PyTorch's context_parallel traced by torch.compile: every ring collective is waited
        # where it is issued (cp_exposed, COMPILED_CP_RING_OVERLAP)
        sp = {**sp, "cp_comm_overlap": kt.COMPILED_CP_RING_OVERLAP}
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
        "MEM_S_PER_B": _memory_op_coeffs(acc.name)[0],
        "KERNEL_S": _memory_op_coeffs(acc.name)[1],
        # multi-token-prediction modules, on the stage with the output layer
        "MTP": float(spec.mtp_layers),
        "MTP_MOE": 1.0 if (spec.mtp_layers and spec.mtp_layer_kind() == "moe") else 0.0,
        # group-limited routing (model.router_groups / router_group_topk; 0, 0 = none): caps the
        # distinct ranks and domains of the deepep dispatcher (kt.distinct_units)
        "RGROUPS": float(spec.router_groups), "RGROUP_TOPK": float(spec.router_group_topk),
        # ZeRO-3 / FSDP under pipeline parallelism (pp > 1): Megatron-FSDP reshards every
        # micro-batch; PyTorch FSDP2 under torch.distributed.pipelining keeps the stage gathered
        # (memory._state_sharding)
        "Z3_PP_RESHARD": 1.0 if fsdp_impl == "megatron" else 0.0,
        # PyTorch FSDP2's reduce-scatter input held between units' backwards [bytes/param]
        # (memory.fsdp_reduce_scatter_bytes; the memory kernel reads it only fully sharded)
        "FSDP_RS_BYTES": memory.fsdp_reduce_scatter_bytes(sp, fsdp_impl),
        # the bytes per parameter of the ZeRO-3 / FSDP per-layer gradient reduce-scatter
        # (memory.zero3_reduce_bytes, the owner FSDP_RS_BYTES reads as well)
        "Z3_RS_BYTES": memory.zero3_reduce_bytes(sp, fsdp_impl),
        # the FSDP units' unsharded gradients in flight in backward (memory.fsdp_grad_queue_params:
        # 0 = PyTorch FSDP2, one layer's; Megatron-FSDP's reduce-scatter queue capacity [params])
        "FSDP_GRAD_QUEUE": memory.fsdp_grad_queue_params(sp, fsdp_impl),
        # the gathered layers' bytes per non-expert parameter (memory.fsdp_gather_bytes: 1 with
        # torchao's float8 FSDP all-gather, training.fsdp_float8_all_gather): the gathered
        # buffer's memory and the per-layer all-gather's bytes sent
        "FSDP_AG_BYTES": memory.fsdp_gather_bytes(sp["weight_bytes"], precision, fsdp_f8_ag),
        # shared experts in the MoE layers: their MLP's tensor-parallel collectives
        "SHARED_X": 1.0 if (spec.experts and spec.shared_experts) else 0.0,
        # parallelism.pp_schedule's index in scenario.PP_SCHEDULES (kt.pipeline_bubble)
        "PP_SCHED": float(pp_sched),
        # the scenario's own schedule priced (il.estimate): 1F1B executed per rank (kt.executes_1f1b)
        "PP_EXEC": 1.0 if pp_exec else 0.0,
        # the share of sequence parallelism's backward re-gather hidden behind the dgrad GEMMs
        # (kt.sp_regather_exposed; 0 only in collectives_by_dimension's raw run)
        "SP_RG_OVL": kt.SP_REGATHER_OVERLAP,
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
    ckpt = _checkpoint_total(spec, optimizer, sp["weight_bytes"])
    flops = _flop_conventions(spec, seq_len, tokens)
    extra = (0.0, 0.0)
    if hook is not None:  # issue 20: encoders, projectors and cross-attention
        ckpt += sum(memory.checkpoint.multimodal_checkpoint_bytes(hook, optimizer, sp["weight_bytes"]))
        # the encoders' work counts as its time does: encoder_scale 0 is the language model alone
        # (multimodal.estimate's split), whose step kept the encoders' FLOPs and, for short audio
        # clips (each padded to a 30-s window), ran "above the dense peak" and refused the mix
        f_mm = hook.flops_per_sequence() * global_batch * hook.encoder_scale
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
            scaling, moe[0])
    return _Context(spec=spec, c=c, tab=tab, htab=htab, P=np.ascontiguousarray(cpar.array, dtype=np.float64),
                    tps=tps, mbss=mbss, cps=cps, flops=flops,
                    peak_bf16=acc.peak("bf16"), world=hw.world_size, tokens_per_step=tokens, stack=stack,
                    sp=sp, domain=int(hw.domain_gpus), checkpoint_bytes=float(ckpt), stage_extra=extra,
                    xkey=xkey, peak_train=max(acc.peak("bf16"), acc.peak(precision) if precision in ("fp8", "fp16")
                                              else 0.0),
                    useful_fraction=1.0 - float(hook.stats.waste) if hook is not None else 1.0)


_HOOK_OF_SCENARIO = object()
_NO_PLAN = ParallelismConfig()
"""The library choices (moe_dispatcher, ep_overlap, tp_async, ...) of a search scenario that has
no [parallelism] table: the table's defaults, as a scenario built without one gets them."""


def check_stack_keyword(sc: Scenario, stack: str, *, where: str = "the stack keyword",
                        label: str = "stack = {name!r} (the stack keyword)", error=ValidationError) -> str:
    """The ``stack=`` keyword of il.estimate / il.search, checked as ``training.stack`` would be:
    on the platform, and against the training table's framework-specific keys (a torchtitan
    stack keyword priced a scenario's Megatron offload_modules, recompute_modules or
    recompute_num_layers, which the same stack in the table refuses). Returns its canonical name.
    ``where`` / ``label`` (formatted with the canonical ``name``) / ``error`` name the input in
    the messages (the CLI's ``--stack`` passes its own)."""
    name = stacks.check_stack(stack, sc.hardware.accelerator, "training", where=where)
    if name != sc.stack:
        try:
            sc.replace(training={"stack": name})
        except ValidationError as e:
            raise error(f"{label.format(name=name)}: {e}") from None
    return name


def _context(sc: Scenario, tps, mbss, cps, stack: str | None, params: dict | None,
             hook=_HOOK_OF_SCENARIO, fsdp: bool | None = None, pipeline_schedule: bool = True) -> _Context:
    """The step kernel's context of a scenario (constants and tables for the tp, micro-batch and
    cp values given). ``fsdp`` prices the plans as FSDP (True) or not (False) where the
    scenario's own table would say otherwise: the weight-gradient accumulation depends on it
    (:func:`gacc_code`), and a search mixes both kinds of plan. ``pipeline_schedule``: price the
    scenario's ``parallelism.pp_schedule`` (False: 1F1B / interleaved by each plan's vp, as a
    plan search does; True also executes Megatron-Core's 1F1B order per rank where pp > 1 and
    vp = 1, kt.executes_1f1b, where the search keeps the closed form)."""
    if params is not None and not isinstance(params, dict):
        raise ValidationError(f"params = {params!r}: expected a dict of stack parameter -> number")
    if stack is None:
        stack = sc.stack
    else:
        stack = check_stack_keyword(sc, stack)
    _check_stack_params(stack, params)  # validate overrides before they become a cache key
    tr = sc.training
    if hook is _HOOK_OF_SCENARIO:   # issue 20: a multimodal model's encoders (None for text)
        hook = None
        if sc.multimodal is not None:
            from ..multimodal import training_hook

            hook = training_hook(sc)
    p = sc.parallelism if sc.parallelism is not None else _NO_PLAN   # a search scenario without a plan
    moe = (p.moe_dispatcher, bool(p.ep_overlap), tr.moe_routing, tr.moe_capacity_factor, tr.moe_host_sync)
    return _context_cached(sc.model_spec, sc.hardware, tr.seq_len,
                           tr.global_batch, tr.precision, tr.optimizer, stack,
                           _freeze(params or {}), tuple(tps), tuple(mbss), tuple(cps), hook, moe,
                           tr.recompute_modules, (tr.loss_fusion, tr.loss_chunks, tr.loss_compiled), tr.fp8_param_gather,
                           tr.offload_modules, bool(p.tp_async), bool(tr.eager), bool(tr.sac_recompute_attention),
                           tr.fp8_scaling if tr.precision in ("fp8",) else "tensor",
                           bool(tr.pp_free_stage_buffers), bool(p.dualpipe), (p.cp_rotate, bool(p.cp_repeat_kv)),
                           gacc_code(bool(tr.gradient_accumulation_fusion), bool(p.fsdp) if fsdp is None
                                     else bool(fsdp), p.fsdp_impl), p.fsdp_impl,
                           PP_SCHEDULES.index(p.schedule) if pipeline_schedule else 0, bool(pipeline_schedule),
                           bool(tr.fsdp_float8_all_gather))


@functools.lru_cache(maxsize=4096)
def _stage_rows(spec, pp: int, vp: int, extra: tuple = (0.0, 0.0),
                recompute_num_layers: int | None = None,
                schedule: str | None = None) -> tuple[tuple[tuple[float, ...], tuple[float, float]], ...]:
    """Per stage candidate: (the L_ND ... L_PHEAD fields, (L_RD, L_RM), (L_NR, L_RMASK), the
    L_C0D ... L_CDIFF fields). The chunk fields (the rank's first chunk's counts, and 1 when its
    two chunks differ) are filled under a V schedule (``schedule`` a V name, vp = 2; zeros
    otherwise) from :func:`infra_lab.memory.stage_layers`' ``chunks``: the one owner of which
    layers, embedding and output layer each chunk holds."""
    from .. import memory

    kw = {} if extra == (0.0, 0.0) else {"first_stage_params": extra[0], "per_layer_params": extra[1]}
    v = schedule in memory.V_SCHEDULES and vp == 2 and pp > 1
    # the interleaved schedule executed per chunk: candidates keyed on their chunks too
    by_chunks = schedule == "interleaved" and vp > 1 and pp > 1

    def chunk_fields(s):
        if not v:
            return (0.0,) * 7
        c0, c1 = s["chunks"]
        return tuple(float(x) for x in c0) + (float(c0 != c1),)

    return tuple(((float(s["n_dense"]), float(s["n_moe"]), float(s["has_embedding"]), float(s["has_head"]),
                   float(s["rank"]), s["p_nonexpert"], s["p_expert"], s["p_embedding"], s["p_head"]),
                  (float(s["n_dense_recomputed"]), float(s["n_moe_recomputed"])),
                  (float(len(s["ranks"])), float(sum(2 ** r for r in s["ranks"] if r < kt.RANK_MASK_BITS))),
                  chunk_fields(s))
                 for s in memory.stage_candidates(spec, pp, vp, recompute_num_layers=recompute_num_layers,
                                                  schedule=schedule, by_chunks=by_chunks, **kw))


@functools.lru_cache(maxsize=4096)
def _interleaved_chunk_rows(spec, pp: int, vp: int, extra: tuple = (0.0, 0.0),
                            recompute_num_layers: int | None = None) -> tuple[tuple, tuple[int, ...]]:
    """The chunk classes of an interleaved layout (pp > 1, vp > 1) for the step kernel's
    per-chunk execution (kt.L_KD ... kt.L_KMAP): (classes, maps). ``classes``: the distinct
    chunk shapes in order of first appearance, each (n_dense, n_moe, has_embedding, has_head,
    n_dense_recomputed, n_moe_recomputed, MTP modules recomputed) from
    :func:`infra_lab.memory.stage_layers`' ``chunks`` (the one owner of which layers, embedding
    and output layer each chunk holds); ``maps``: per stage candidate (:func:`_stage_rows`'
    with ``schedule`` "interleaved": keyed on the chunks too, so a candidate's ranks hold the
    same chunks) its chunks' classes, chunk c in bits 3c … 3c + 2. ((), ())
    when there are more than kt.IL_MAX_CLASSES classes or kt.IL_MAX_CHUNKS chunks per rank
    (the kernel then prices the closed form)."""
    from .. import memory

    if vp > kt.IL_MAX_CHUNKS:
        return (), ()
    kw = {} if extra == (0.0, 0.0) else {"first_stage_params": extra[0], "per_layer_params": extra[1]}
    mtp_rc = memory.mtp_modules_recomputed(spec.mtp_layers, recompute_num_layers)
    per_rank = {st["rank"]: st["chunks"] for st in memory.stage_layers(spec, pp, vp,
                                                                      recompute_num_layers=recompute_num_layers)}
    classes: list[tuple] = []
    idx: dict[tuple, int] = {}
    for r in range(pp):
        for ch in per_rank[r]:
            key = tuple(float(x) for x in ch) + (float(ch[3] * mtp_rc),)
            if key not in idx:
                idx[key] = len(classes)
                classes.append(key)
    if len(classes) > kt.IL_MAX_CLASSES:
        return (), ()
    maps = []
    for s in memory.stage_candidates(spec, pp, vp, recompute_num_layers=recompute_num_layers, schedule="interleaved",
                                     by_chunks=True, **kw):
        code = 0
        for c, ch in enumerate(per_rank[s["rank"]]):
            code |= idx[tuple(float(x) for x in ch) + (float(ch[3] * mtp_rc),)] << (3 * c)
        maps.append(code)
    return tuple(classes), tuple(maps)


def _layout_tables(ctx: _Context, layouts: np.ndarray, recompute_num_layers: int | None = None,
                   sched: int | None = None):
    """lay[layout, candidate, L_*], ncand[layout] and comm[layout, mbs_i, sp, Q_*] for an
    int64 array of layouts (tp, pp, vp, cp, dp, ep, etp): stage candidates from
    :func:`_stage_tables`, collective times from the collective kernel."""
    lay, ncand = _stage_tables(ctx, layouts, recompute_num_layers, sched)
    comm = np.zeros((layouts.shape[0], len(ctx.mbss), 2, kt.comm_width(layouts)))
    kt.fill_plan_comm(ctx.c, layouts, np.array(ctx.mbss, dtype=np.float64), comm, ctx.P)
    return lay, ncand, comm


def _stage_tables(ctx: _Context, layouts: np.ndarray, recompute_num_layers: int | None = None,
                  sched: int | None = None):
    """lay[layout, candidate, L_*] and ncand[layout] of :func:`_layout_tables`: stage
    candidates from :func:`infra_lab.memory.stage_candidates` (with the layers full recompute
    re-runs, ``training.recompute_num_layers``) and their data-parallel collective times
    (``kt.fill_layout_comm``).

    ``sched``: the PP_SCHEDULES index of the pipeline schedule the stages are laid out for
    (None: the context's, ``kt.C_PP_SCHED``): a V schedule (zbv, v-half, v-min) puts the output
    layer on rank 0 with the embedding (:func:`infra_lab.memory.stage_layers`) on the layouts
    with pp > 1 and vp = 2; every other layout, and every other schedule, as 1F1B / interleaved."""
    from .. import memory

    if sched is None:
        sched = int(ctx.c[kt.C_PP_SCHED])
    v_name = PP_SCHEDULES[sched] if PP_SCHEDULES[sched] in memory.V_SCHEDULES else None
    n = layouts.shape[0]
    lay = np.zeros((n, 8, kt.N_LAY))
    ncand = np.zeros(n, dtype=np.int64)
    for i in range(n):
        pp_i, vp_i = int(layouts[i, kt.LY_PP]), int(layouts[i, kt.LY_VP])
        il_exec = sched == kt.PP_SCHED_INTERLEAVED and pp_i > 1 and vp_i > 1
        rows = _stage_rows(ctx.spec, pp_i, vp_i, ctx.stage_extra, recompute_num_layers,
                           "interleaved" if il_exec else (v_name if (vp_i == 2 and pp_i > 1) else None))
        ncand[i] = len(rows)
        for j, (r, rec, rk, ch) in enumerate(rows):
            lay[i, j, : len(r)] = r
            lay[i, j, kt.L_RD] = rec[0]
            lay[i, j, kt.L_RM] = rec[1]
            lay[i, j, kt.L_NR] = rk[0]
            lay[i, j, kt.L_RMASK] = rk[1]
            lay[i, j, kt.L_C0D: kt.L_CDIFF + 1] = ch
            # MTP modules full recompute re-runs: none under the block method (Megatron-Core)
            lay[i, j, kt.L_RX] = r[3] * memory.mtp_modules_recomputed(ctx.spec.mtp_layers, recompute_num_layers)
        if il_exec:
            # executed per chunk (kt.executes_interleaved): the chunk classes and each candidate's map
            classes, maps = _interleaved_chunk_rows(ctx.spec, pp_i, vp_i, ctx.stage_extra, recompute_num_layers)
            for q, cl in enumerate(classes):
                lay[i, q, kt.L_KD: kt.L_KRX + 1] = cl
            lay[i, :, kt.L_KN] = float(len(classes))
            for j, code in enumerate(maps):
                lay[i, j, kt.L_KMAP] = float(code)
    kt.fill_layout_comm(ctx.c, layouts, lay, ncand, ctx.P)
    return lay, ncand
