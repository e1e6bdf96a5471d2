"""Per-layer tables of the step kernel from the compute and memory models.

``tab[kind, part, tp_i, mbs_i, cp_i, sp]`` and ``htab[part, tp_i, mbs_i, cp_i, sp]``
(:func:`_tables`): seconds (forward, backward, recomputed, memory-bound, attention) and
activation bytes of one layer of each kind and of the LM head, for one micro-batch on one
rank, from :func:`infra_lab.compute.layer_ops` classified by its ``component`` column
(:func:`_op_classes`) and :func:`infra_lab.memory.activation_bytes_per_layer`; the recompute
sets of Megatron-Core's ``recompute_modules`` and of per-op SAC (:func:`_selective_masks`);
the multimodal prologue and cross-attention layers (:func:`_apply_multimodal`); the
routed-expert table ``xtab`` per (ep, etp) scaled to the busiest expert rank
(:func:`_expert_tables`); the attention kernel a stack selects on a device
(:func:`_attention_kernel`). The ``*_cached`` variants are the memoised, read-only tables
that :mod:`.context` hands to the kernel."""

from __future__ import annotations

import functools
import itertools

import numpy as np
import polars as pl

from .._kernels import training as kt
from ..errors import ValidationError
from ..scenario import RECOMPUTE
from .factors import ATTENTION_KERNEL_CODES

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


def _wgrad_mask(ops: pl.DataFrame) -> np.ndarray:
    """Ops of the weight-gradient (W) pass in a :func:`infra_lab.compute.layer_ops` table: the
    weight-gradient GEMMs (``<name>_wgrad``; the attention core's ``attn_*_wgrad`` products are
    input gradients of K and V, not weights, and stay in B) and their main-grad accumulation
    (``<name>_wgrad_acc``). The zero-bubble schedules run these apart from the input-gradient
    pass (Qi et al. 2024, https://arxiv.org/abs/2401.10241, §1: B and W)."""
    op = ops["op"].to_numpy().astype(str)
    attn = np.char.startswith(op, "attn_")
    return (np.char.endswith(op, "_wgrad") | np.char.endswith(op, "_wgrad_acc")) & ~attn


def _layer_ops(spec, acc_name, precision, seq_rank, mbs, tp, sp, spf, ep=1, etp=1, scaling="tensor",
               dispatcher="alltoall", weight_cast_every=1):
    """:func:`infra_lab.compute.layer_ops` with the stack's choices (causal skip, flash
    attention and its kernel, gradient-buffer bytes), the recipe's operand scaling
    (training.fp8_scaling) and the run's weight-gradient accumulation
    (training.gradient_accumulation_fusion, carried in ``sp`` by the context), forward and
    backward; ``weight_cast_every`` passes through (:func:`_weight_cast_times`)."""
    from .. import compute

    return compute.layer_ops(spec, seq_rank, mbs, tp, acc_name, precision,
                             causal=bool(sp["causal_skip"]), flash=bool(sp["flash_attention"]),
                             sequence_parallel=bool(spf), passes=("fwd", "bwd"), ep=ep, expert_tp=etp,
                             main_grad_bytes=sp["wgrad_main_grad_bytes"], attention_kernel=_attention_kernel(sp, acc_name),
                             scaling=scaling, grouped_gemm_streams=int(sp["grouped_gemm_streams"]),
                             gradient_accumulation_fusion=sp["gradient_accumulation_fusion"] == 1.0,
                             main_grad_hook="copy" if sp["gradient_accumulation_fusion"] == 2.0 else "add",
                             moe_dispatcher=dispatcher, weight_cast_every=weight_cast_every)


def _weight_cast_times(ops: pl.DataFrame, *args) -> np.ndarray:
    """Per op of ``ops`` (:func:`_layer_ops` at ``*args``, weight_cast_every = 1): the seconds of
    its weight quantization per micro-batch [s]. :func:`infra_lab.compute.layer_ops` charges a
    cast op's weight part as ``1 / weight_cast_every`` of its bytes and kernels (time linear in
    both), so the part is twice the op's drop from weight_cast_every 1 to 2; zero for a recipe
    without casts. The step kernel charges it once per step where the stack reuses the copies
    (:func:`infra_lab._kernels.training.weight_cast_share`)."""
    from .. import compute

    precision = args[2]
    if precision not in compute.LOW_PRECISIONS:
        return np.zeros(len(ops))
    ops2 = _layer_ops(*args, weight_cast_every=2)
    if ops2["op"].to_list() != ops["op"].to_list():     # the same op list, only the casts' sizes differ
        raise AssertionError("layer_ops: the op list changed with weight_cast_every")
    return 2.0 * (ops["time_s"].to_numpy() - ops2["time_s"].to_numpy())


def _attention_kernel(sp: dict[str, float], acc_name: str) -> str | None:
    """The stack's attention kernel (its ``attention_kernel`` code, :data:`ATTENTION_KERNEL_CODES`)
    where the device has that kernel in the compute model (:func:`infra_lab.compute.attention_kernels`),
    else the device's default (None). Code 7 (``"sdpa"``: the stack calls PyTorch's
    ``scaled_dot_product_attention`` under torchtitan's backend priority) resolves per device to
    the ``sdpa_kernel`` row of data/compute_params.csv (FlashAttention-2 below compute capability
    10.0, cuDNN on Blackwell; sources there): one stack, a different kernel per GPU architecture."""
    from .. import compute
    from ..compute import _params as CP

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
    ``sac_attn`` (training.sac_recompute_attention): per-op SAC re-runs the attention forward too,
    and its output and log-sum-exp are not kept (:func:`infra_lab.memory.activation_bytes_per_layer`,
    ``sac_saves_attention``; the kernel's inputs are kept either way)."""
    from .. import compute, memory

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
        wc = _weight_cast_times(ops, spec, acc_name, precision, seq_len // cp, mbs, tp, sp, spf, 1, 1, scaling)
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
        wgr = _wgrad_mask(ops)                   # the W pass: weight-gradient GEMMs + accumulation
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
            w_g, w_m = tot(bwd & wgr & cl["gemm"]), tot(bwd & wgr & cl["mem"])
            if kname == "head":
                htab[kt.H_FWD, ti, mi, ci, spf] = parts[0]
                htab[kt.H_FWD_MEM, ti, mi, ci, spf] = parts[1]
                htab[kt.H_BWD, ti, mi, ci, spf] = parts[2]
                htab[kt.H_BWD_MEM, ti, mi, ci, spf] = parts[3]
                htab[kt.H_BWD_W, ti, mi, ci, spf] = w_g
                htab[kt.H_BWD_W_MEM, ti, mi, ci, spf] = w_m
                continue
            slot, w = ((kt.K_MOE, 1.0) if kname == "moe" else (kt.K_MTP, 1.0) if kname == "mtp"
                       else (kt.K_DENSE, counts.get(kname, 0) / max(n_dense_like, 1)))
            for pi, v in enumerate(parts):
                tab[slot, pi, ti, mi, ci, spf] += w * v
            tab[slot, kt.T_SEL_MEM, ti, mi, ci, spf] += w * sel_mem
            tab[slot, kt.T_ATTN_FWD, ti, mi, ci, spf] += w * tot(fwd & cl["attn"])
            tab[slot, kt.T_BWD_W, ti, mi, ci, spf] += w * w_g
            tab[slot, kt.T_BWD_W_MEM, ti, mi, ci, spf] += w * w_m
            of_kind = kind == kname
            tab[slot, kt.T_WC_FWD, ti, mi, ci, spf] += w * float(wc[of_kind & fwd].sum())
            tab[slot, kt.T_WC_BWD, ti, mi, ci, spf] += w * float(wc[of_kind & bwd].sum())
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
                gemm_input_bytes=memory.saved_gemm_input_bytes(precision, sp), sac_saves_attention=not sac_attn)
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
                gemm_input_bytes=memory.saved_gemm_input_bytes(precision, sp), sac_saves_attention=not sac_attn)
            if offload:     # training.offload_modules: the part of them copied to host memory
                moved = memory.offloaded_bytes_per_layer(
                    spec, seq_len, mbs, tp, sequence_parallel=bool(spf), recompute=rc,
                    flash_attention=bool(sp["flash_attention"]), dropout=bool(sp["dropout"]), cp=cp,
                    selective_mode=memory.SELECTIVE_MODES[int(sp["selective_recompute"])],
                    recompute_modules=modules if rc == "selective" else None,
                    gemm_input_bytes=memory.saved_gemm_input_bytes(precision, sp), offload_modules=offload,
                    sac_saves_attention=not sac_attn, min_offloaded_elements=sp.get("min_offloaded_tensor_size"))
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


_TABLE_FACTORS = ("causal_skip", "flash_attention", "dropout", "fp8_gemm_overhead", "wgrad_main_grad_bytes",
                  "attention_kernel", "selective_recompute", "fp8_saves_quantized_inputs", "loss_fp32_copies",
                  "loss_bwd_fp32_tensors", "loss_parallel_bwd_fp32_tensors", "grouped_gemm_streams",
                  "gradient_accumulation_fusion")
"""Stack factors that change the per-layer tables (the others act in the kernel), and the one
training flag the context puts beside them: ``gradient_accumulation_fusion`` (1.0 fused or no
main-grad buffer, 0.0 Megatron-Core DDP's add, 2.0 Megatron-FSDP's copy:
:func:`infra_lab.training.context.gacc_code`)."""


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


def _expert_tables(spec, acc_name: str, precision: str, seq_len: int, sp: dict[str, float], tps, mbss,
                   cps, xs, cv: float, cf: float | None, modules=None, offload=None,
                   scaling: str = "tensor", dispatcher: str = "alltoall") -> np.ndarray:
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
    from .. import compute, memory

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
        tables = [_layer_ops(spec, acc_name, precision, s_rank, mbs, tp, sp, 0, x_ep, x_etp, scaling, dispatcher)
                  for x_ep, x_etp in ((ep, etp), (1, 1))]
        wcs = [_weight_cast_times(ops, spec, acc_name, precision, s_rank, mbs, tp, sp, 0, x_ep, x_etp, scaling,
                                  dispatcher) for ops, (x_ep, x_etp) in zip(tables, ((ep, etp), (1, 1)), strict=True)]
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
            out[slot, kt.X_BWD_EXP_W] += w * imb * float(t[sel & (ps == "bwd") & cl["expert"]
                                                            & _wgrad_mask(tables[0])].sum())
            for pi, pas in ((kt.X_FWD_MEM, "fwd"), (kt.X_BWD_MEM, "bwd")):
                out[slot, pi] += w * (float(t[sel & (ps == pas) & cl["mem"]].sum())
                                      - float(t0[sel0 & (ps0 == pas) & cl0["mem"]].sum()))
            for pi, pas in ((kt.X_WC_FWD, "fwd"), (kt.X_WC_BWD, "bwd")):   # their weight casts (cast ops)
                out[slot, pi] += w * (float(wcs[0][sel & (ps == pas)].sum()) - float(wcs[1][sel0 & (ps0 == pas)].sum()))
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

    spec, acc_name, precision, seq_len, factors, cv, cf, modules, offload, scaling, dispatcher = xkey
    sp = dict(zip(_TABLE_FACTORS, factors, strict=True))
    x = _expert_tables(spec, acc_name, precision, seq_len, sp, tps, mbss, cps, xs, cv, cf, modules, offload,
                       scaling, dispatcher)
    x.setflags(write=False)
    return x
