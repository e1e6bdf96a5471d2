"""The training-step kernel, composed from the domain kernels.

One optimizer step of one parallel plan is assembled from four named parts:

* **compute** (:func:`stage_compute`): forward, backward and recomputation time of one
  micro-batch on a pipeline stage, from per-layer tables of the compute model
  (:func:`infra_lab.compute.layer_ops`) scaled by the stack's framework/memory factors;
* **communication** (:func:`fill_plan_comm`, :func:`fill_layout_comm`): every TP, CP, EP,
  expert-TP, PP and DP collective priced by the collective kernel that ``il.collective``
  uses, :func:`infra_lab._kernels.fabric.best_collective` (no private α–β copy). Collective
  times are computed once per distinct (layout, micro-batch) before the parallel loop, so the
  plan loop only reads them;
* **memory** (:func:`infra_lab._kernels.memory.training_bytes`): the formula that
  ``il.memory.training_memory`` wraps;
* **schedule** (:func:`eval_head`): micro-batches, the pipeline bubble, the slowest stage,
  overlap windows, Megatron's bucketed data-parallel reduce-scatter/all-gather with
  per-bucket readiness and the exposed tail bucket, the optimizer update.

Inputs are built by :mod:`infra_lab.training` (hardware and stack numbers only come in as
arguments): a constant vector ``c`` (``C_*``), per-layer tables ``tab``/``htab`` (``T_*``,
``H_*``), per-layout tables ``lay`` (``L_*``, one row per pipeline-stage candidate) and
per-(layout, micro-batch) collective times ``comm`` (``Q_*``), and plans as int64 head rows
(``HEAD_NAMES``: layout, micro-batch, sequence parallel) times tail rows (``TAIL_NAMES``:
ZeRO, FSDP, recompute). :func:`evaluate_plans` runs :func:`eval_head` over heads in parallel.

The plain-Python reference (:mod:`infra_lab._kernels.training_reference`) is written
independently from the public functions (``il.collective``, ``il.memory``, the compute op
tables); ``tests/test_training.py`` checks that both agree.

Compile time: an integer constant handed to another kernel is written as ``np.int64(...)``.
numba types a bare literal argument (``2``, ``-1``, a module-level int) as ``Literal[int]`` and
compiles a separate specialization of the callee and of everything it calls for it (for
:func:`coll` that is the whole collective kernel, seconds each time); the values, and so the
results, are the same.

Notation: m = global_batch/(dp·mbs) micro-batches per step; exposed communication of a
collective of time c overlapping a window w with efficiency o is c − o·min(c, w).
"""

from __future__ import annotations

import math

import numpy as np
from llvmlite import ir
from numba import njit, prange, types
from numba.core import cgutils
from numba.extending import intrinsic

from . import fabric as kf
from .memory import (
    FP32_BYTES,
    PP_SCHED_V_HALF,
    PP_SCHED_V_MIN,
    PP_SCHED_ZB_H1,
    PP_SCHED_ZBV,
    allocator_reserve,
    cp_attention_bytes,
    cp_buffers_at_peak,
    grads_at_peak,
    inflight,  # noqa: F401  (re-exported: the 1F1B / interleaved count, tests/test_memory.py)
    inflight_schedule,
    stage_activations,
    stage_io_bytes,
    training_bytes,
    v_chunk_peak,
)
from .pipeline_greedy import (
    COMPACT_COLS,
    PROGRAM_COLS,
    chunk_inflight_peaks,
    compact_program,
    interleaved_order,
    interleaved_program,
    pipeline_program,
    replay_compact,
    replay_compact3,
    v_greedy_order,
    v_greedy_replay,
    v_greedy_replay_chunks,
    v_greedy_replay_ranks,  # noqa: F401  (re-exported: one time per rank, both chunks)
    zb_h1_order,
    zbv_order,
)
from .pipeline_p2p import primus_p2p_count

# ---------------------------------------------------------------------------------------
# constant vector
# ---------------------------------------------------------------------------------------
C_NAMES = (
    "S", "H", "V", "TOPK", "HKV", "GBATCH", "HBM", "D", "LAYERS",
    "framework_time_scale", "memory_time_scale", "tp_comm_overlap", "cp_comm_overlap", "EP_OVL", "EXPERTS",
    "pp_p2p_overlap", "dp_comm_overlap",
    "zero3_comm_overlap", "zero3_bandwidth_efficiency", "grad_reduce_bytes", "grad_buffer_bytes",
    "OPT_STATE_BYTES", "weight_bytes",
    "ACT_BYTES", "OPT_T_PER_PARAM", "memory_reserve_bytes", "dp_bucket_min_params", "dp_bucket_params_per_rank", "dropout",
    "OPT_T0", "zero3_gathers_per_layer", "zero3_small_gathers_per_layer", "DISPATCH", "SEL_MODE", "SEL_A2A",
    "zero3_defer_reduce_scatter", "memory_reserve_fraction", "MOE_SYNC", "FP8_WCOPY",
    "NS_DENSE", "NS_MOE", "NS_EXPERT", "NS_MAX_NE", "NS_MAX_E", "muon_ns_shared_over_dp", "HOST_BW",
    "grad_buffer_persistent", "PP_IO", "CP_AG", "MOE_SLOW", "HQ", "MEM_S_PER_B", "KERNEL_S", "MTP", "MTP_MOE",
    "RGROUPS", "RGROUP_TOPK", "Z3_PP_RESHARD", "sp_backward_regather", "SHARED_X", "PP_SCHED",
    "fsdp_fp32_sharded_params", "FSDP_RS_BYTES", "FSDP_GRAD_QUEUE", "fp8_caches_weights", "PP_EXEC",
    "FSDP_AG_BYTES", "pp_p2p_interleaved_calls", "Z3_RS_BYTES", "SP_RG_OVL",
)
"""Names of the kernel's constant vector ``c``. An entry that is a training-stack factor carries
its data/stacks.csv parameter name (the value is that factor, unchanged); upper-case entries are
derived in :func:`infra_lab.training._context` (model and hardware sizes, the EP overlap that
applies only with ``parallelism.ep_overlap``, the selective-recompute mode of the run, ...).
``C_<X>`` below is the index of an entry."""
(C_S, C_H, C_V, C_TOPK, C_HKV, C_GBATCH, C_HBM, C_D, C_LAYERS,
 C_FW_SCALE, C_MEM_SCALE, C_TP_OVL, C_CP_OVL, C_EP_OVL, C_EXPERTS, C_PP_OVL, C_DP_OVL,
 C_Z3_OVL, C_Z3_EFF, C_GRAD_BYTES, C_GRADBUF_BYTES, C_OPT_STATE_BYTES, C_WEIGHT_BYTES,
 C_ACT_BYTES, C_OPT_T_PER_PARAM, C_RESERVE, C_BUCKET_MIN, C_BUCKET_PER_RANK, C_DROPOUT,
 C_OPT_T0, C_Z3_CALLS, C_Z3_SMALL, C_DISPATCH, C_SEL_MODE, C_SEL_A2A, C_Z3_DEFER, C_RESERVE_FRAC, C_MOE_SYNC,
 C_FP8_WCOPY, C_NS_DENSE, C_NS_MOE, C_NS_EXPERT, C_NS_MAX_NE, C_NS_MAX_E, C_NS_SHARE, C_HOST_BW,
 C_GRAD_PERSIST, C_PP_IO, C_CP_AG, C_MOE_SLOW, C_HQ, C_MEM_S_PER_B, C_KERNEL_S, C_MTP, C_MTP_MOE,
 C_RGROUPS, C_RGROUP_TOPK, C_Z3_PP_RESHARD, C_SP_REGATHER, C_SHARED_X, C_PP_SCHED,
 C_FSDP_FP32, C_FSDP_RS, C_FSDP_GQ, C_FP8_CACHE, C_PP_EXEC, C_FSDP_AG, C_PP_CALLS, C_Z3_RS,
 C_SP_RG_OVL) = range(len(C_NAMES))
# C_SP_RG_OVL: the share of a sequence-parallel backward re-gather hidden behind the dgrad GEMMs
# up to their time (SP_REGATHER_OVERLAP, sp_regather_exposed); il.training.collectives_by_dimension
# sets it to 0, with the stack's overlap factors, for the raw communication time
# C_Z3_RS: bytes per parameter of the ZeRO-3 / FSDP per-layer gradient reduce-scatter
# (infra_lab.memory.zero3_reduce_bytes: the one owner the memory model's C_FSDP_RS reads too)
# C_PP_CALLS (stack factor pp_p2p_interleaved_calls): how the interleaved schedule's send/receive
# is priced: 0 two transfers per chunk slot at pp_p2p_overlap hidden (pp_p2p_time), 1 Megatron-
# Core's calls with overlap_p2p_comm on (its default under interleaving), 2 the same without it
# (--no-overlap-p2p-communication: one batched exchange per forward-backward pair);
# interleaved_p2p_count; 3 torch.distributed.pipelining's runtime (torchtitan's Interleaved1F1B:
# interleaved_p2p_count mode 3). At 1 or 2 the zero-bubble and V schedules (ZB-H1, ZBV, V-Half,
# V-Min) take the calls of Primus' runtime (infra_lab._kernels.pipeline_p2p.primus_p2p_count); at
# 0 or 3 pp_p2p_time (torchtitan's ZBV runtime is not walked)
# C_FSDP_AG: bytes per parameter of the gathered layers' non-expert weights (the current and the
# prefetched FSDP unit; infra_lab.memory.fsdp_gather_bytes: the 16-bit weight bytes, 1 with
# torchao's float8 FSDP all-gather); training_bytes reads it only fully sharded, and
# fill_layout_comm prices the per-layer all-gather of the non-expert weight matrices at it (the
# bytes the gather sends: one quantity for the gathered buffer and the gather's time)
# C_PP_EXEC: 1.0 when the call prices the scenario's own pipeline schedule (il.estimate; the
# step kernel then executes Megatron-Core's plain 1F1B order per rank, executes_1f1b), 0.0 in a
# plan search (1F1B by the closed form, pipeline_bubble_stages)
# C_FSDP_GQ: which FSDP units' unsharded gradients are in flight in backward
# (infra_lab.memory.fsdp_grad_queue_params: 0 PyTorch FSDP2, one layer's; > 0 Megatron-FSDP's
# reduce-scatter queue capacity [params]); training_bytes reads it only fully sharded
# C_FP8_CACHE (stack factor fp8_caches_weights): 1 when the stack quantizes a linear weight on the
# step's first micro-batch and reuses the quantized copies (forward and transposed) for the others
# (Transformer Engine's is_first_microbatch under Megatron-Core's schedules), 0 when every
# micro-batch casts again (torchao); stage_compute charges the tables' weight casts
# (T_WC_FWD / T_WC_BWD, X_WC_*) once per step: weight_cast_share
# C_FSDP_RS: bytes per parameter of the reduce-scatter input PyTorch FSDP2 holds from one unit's
# backward to the next's (infra_lab.memory.fsdp_reduce_scatter_bytes: the stack's
# fsdp_reduce_dtype_bytes, 0 under Megatron-FSDP); training_bytes reads it only fully sharded
# C_FSDP_FP32: the stack's fsdp_fp32_sharded_params: 1 when its fully sharded parameters are the
# optimizer's fp32 master weights (PyTorch FSDP2 over fp32 parameters: no 16-bit shard kept); the
# ZeRO-3 static bytes then use infra_lab._kernels.memory.training_bytes' fsdp code 2
# C_PP_SCHED: the pipeline schedule's index in infra_lab.scenario.PP_SCHEDULES (0 "1f1b" and
# 1 "interleaved" price the same (pp − 1)/vp bubble; 2 "zb-h1", 3 "zbv", 4 "v-half", 5 "v-min":
# the zero-bubble family, pipeline_bubble and infra_lab._kernels.memory.inflight_schedule)
# C_Z3_PP_RESHARD: 1.0 when the run's ZeRO-3 / FSDP implementation reshards the parameters and
# reduce-scatters the gradients every micro-batch also under pipeline parallelism (Megatron-FSDP,
# parallelism.fsdp_impl = "megatron"); 0.0 when the pipeline schedule keeps the stage's
# parameters gathered and its gradients unsharded until the last micro-batch (PyTorch FSDP2 under
# torch.distributed.pipelining, torchtitan). Read only with pp > 1 (see memory._state_sharding)
# C_SP_REGATHER (stack factor sp_backward_regather): 1 when the stack's tensor-parallel linears
# keep only their sequence-parallel shard of a column-parallel GEMM's input and all-gather it
# again in backward for the weight gradient (SP_BACKWARD_GATHERS_*), 0 when they keep the
# gathered input (then only a recomputed forward gathers again)
# C_SHARED_X: 1.0 when the model's MoE layers have shared experts (spec.shared_experts > 0), else
# 0.0: their MLP is tensor-parallel like a dense MLP (TP_COLLECTIVES of its own)
# C_RGROUPS, C_RGROUP_TOPK: the model's group-limited routing (spec.router_groups /
# spec.router_group_topk; 0, 0 = none): a token's experts lie in at most C_RGROUP_TOPK of
# C_RGROUPS equal groups of consecutive experts, which caps the distinct ranks and domains the
# deepep dispatcher sends it to (distinct_units)
# C_MTP: multi-token-prediction modules of the model (spec.mtp_layers), all on the stage with the
# output layer (Megatron-Core puts the MTP block on the last pipeline stage, after the output
# layer; DeepSeek-V3 report §2.2, https://arxiv.org/abs/2412.19437); C_MTP_MOE: 1.0 when their
# transformer layer is an MoE layer (the model's last layer kind is "moe"), else 0.0
# C_HOST_BW: one GPU's host-link bandwidth in one direction [bytes/s]
# (infra_lab.catalog.host_link_bytes_per_s; 0 when the run offloads no activations)
# C_HKV: the K/V width the context-parallel exchange carries per token [elements] (the KV
# heads', or the query heads' when the attention call gets K/V repeated to them:
# parallelism.cp_repeat_kv); C_CP_AG: parallelism.cp_rotate's index in
# scenario.CP_ROTATE_METHODS: 0 the per-step P2P ring, 1 the all-gather rotation, 2 the exposed
# all-gather (see cp_exposed); C_HQ: the query width per token [elements]
# (memory.cp_exchange_widths; the all-gather rotation's fp32 accumulators, cp_attention_bytes)
# C_MEM_S_PER_B, C_KERNEL_S: the compute model's memory-bound op rate [s/byte] and fixed cost
# per kernel [s] (infra_lab.compute.op_time: 1 / (HBM bandwidth x hbm_efficiency), kernel_fixed_s),
# for the all-gather rotation's per-step merge and accumulation (cp_merge_time)
# C_MOE_SLOW: extra GPU time of the MoE layers on a host-bound path (training.moe_host_sync) as a
# fraction of their modelled forward, backward and recomputation time (stack factor
# moe_host_sync_slowdown; 0 without the flag); their all-to-alls are not scaled
MOE_SYNC_FWD_SHARE = 1.0 / 3.0
"""Share of the per-MoE-layer fixed host wait (C_MOE_SYNC, stack factor moe_host_sync_s,
training.moe_host_sync; 0 in the shipped stacks) in the forward
pass; the backward launches the dgrad and wgrad kernels of every GEMM, about twice the
forward's (assumption)."""
# Collectives per layer and micro-batch (the counts the step prices; named with their source)
TP_COLLECTIVES = 4.0
"""Tensor-parallel collectives per layer per micro-batch: 2 all-reduces in forward (after the
attention and the MLP) and 2 in backward (Megatron-LM, Shoeybi et al. 2019 §3,
https://arxiv.org/abs/1909.08053); with sequence parallelism each becomes an all-gather +
reduce-scatter pair of the same volume (Korthikanti et al. 2022 §4.2.2,
https://arxiv.org/abs/2205.05198)."""
TP_FULL_RECOMPUTE = 2.0
"""Extra TP collectives with full recomputation: the forward's 2 run again in backward."""
SP_BACKWARD_GATHERS_DENSE = 2.0
"""Extra all-gathers per dense-like layer and micro-batch in backward under sequence parallelism:
the input of each block's first (column-parallel) linear, QKV and FC1, is kept as its 1/tp
sequence shard and all-gathered again for the weight-gradient GEMM (Korthikanti et al. 2022
§4.2.2, https://arxiv.org/abs/2205.05198: "we store only the Y_i^s part on the ith tensor
parallel rank and perform an extra all-gather in the backward pass"; Megatron-Core
``LinearWithGradAccumulationAndAsyncCommunication.backward``,
https://github.com/NVIDIA/Megatron-LM/blob/1e057005959b75e8bc62f610a335bd03080bc659/megatron/core/tensor_parallel/layers.py#L478-L499;
Transformer Engine ``LayerNormLinear`` / ``LayerNormMLP`` backward, ``ln_out_needs_gather``,
https://github.com/NVIDIA/TransformerEngine/blob/3cd6870ceb809f173a31e3cac5034e56cf879156/transformer_engine/pytorch/module/layernorm_linear.py#L388-L393).
For a stack that keeps the gathered input (C_SP_REGATHER = 0: PyTorch DTensor's autograd saves
the matmul's all-gathered input) they run only with per-op SAC, whose save list has no
all-gather, so the recomputed forward gathers again (rc = 1)."""
SP_REGATHER_OVERLAP = 1.0
"""Share of a sequence-parallel backward re-gather hidden behind the dgrad GEMMs, up to their
time (C_SP_RG_OVL; :func:`sp_regather_exposed`): 1, all of it, because the stacks that re-gather
(C_SP_REGATHER = 1) issue the gather asynchronously before the dgrad GEMM and wait for it after
(Korthikanti et al. 2022 §4.2.2 and the Megatron-Core / Transformer Engine code cited at
:data:`SP_BACKWARD_GATHERS_DENSE`); what outlasts the GEMMs stays exposed. A constant of the
model, not a stack factor: ``il.training.collectives_by_dimension`` sets it to 0 for the raw time."""
SP_BACKWARD_GATHERS_MOE = 1.0
"""As :data:`SP_BACKWARD_GATHERS_DENSE` for an MoE layer: the QKV input only (the routed experts'
input is gathered by the dispatcher, whose output the grouped GEMM keeps: no second gather),
plus one for the shared experts' FC1 when the model has them (C_SHARED_X)."""
EP_ALL_TO_ALLS = 4.0
"""Expert-parallel all-to-alls per MoE layer per micro-batch: dispatch and combine in forward,
their transposes in backward (GShard / Megatron-Core MoE, https://arxiv.org/abs/2006.16668)."""
EP_FULL_RECOMPUTE = 2.0
"""Extra all-to-alls when the MoE layer's forward is recomputed (full recompute, or the "moe"
recompute module: C_SEL_A2A)."""
CP_PASSES = 3.0
"""Ring-attention KV passes per layer per micro-batch with context parallelism, each of cp − 1
steps: forward (K, V), backward (K, V again and dK, dV back) (Megatron-Core CP / Liu et al.
2023 Ring Attention, https://arxiv.org/abs/2310.01889); full recomputation adds one forward pass."""

DISPATCHERS = ("alltoall", "deepep")
"""MoE token dispatchers (C_DISPATCH codes): 0 = one all-to-all of every routed copy over the
EP group (Megatron-Core's alltoall dispatcher on NCCL/RCCL); 1 = DeepEP / Megatron's flex
dispatcher / HybridEP: each token crosses the network once per destination node (to the rank
of the same rail there), then fans out over the scale-up fabric once per destination rank
(not once per routed expert: ``is_token_in_rank`` in deep_ep/buffer.py, the forwarders of
csrc/kernels/internode.cu, https://github.com/deepseek-ai/DeepEP/tree/dcfd954851157f0bf683e1c3f1a7778f78344759)."""
N_CONST = len(C_NAMES)

# per-layer table tab[kind, part, tp_i, mbs_i, cp_i, sp]; kind 0 dense-like, 1 MoE; the
# routed-expert part of MoE layers is not in it (see xtab)
TAB_NAMES = ("fwd", "fwd_mem", "bwd", "bwd_mem", "attn_core",
             "sel_recompute", "act_none", "act_selective", "act_full", "sel_recompute_mem", "attn_core_fwd",
             "off_none", "off_selective", "off_full", "bwd_wgrad", "bwd_wgrad_mem", "wcast_fwd_mem",
             "wcast_bwd_mem")
(T_FWD, T_FWD_MEM, T_BWD, T_BWD_MEM, T_ATTN, T_SEL,
 T_ACT_NONE, T_ACT_SEL, T_ACT_FULL, T_SEL_MEM, T_ATTN_FWD, T_OFF_NONE, T_OFF_SEL, T_OFF_FULL,
 T_BWD_W, T_BWD_W_MEM, T_WC_FWD, T_WC_BWD) = range(len(TAB_NAMES))
# wcast_fwd_mem / wcast_bwd_mem: the part of fwd_mem / bwd_mem that quantizes the layer's weights
# when every micro-batch casts them (infra_lab.compute.layer_ops weight_cast_every = 1; the op
# time is linear in 1 / weight_cast_every, so it is twice the drop from 1 to 2): the forward's
# row- and column-wise copies, and with per-row / per-block scaling the backward's other-axis copy
# bwd_wgrad / bwd_wgrad_mem: the weight-gradient part of bwd / bwd_mem (the op table's
# ``*_wgrad`` GEMMs and their ``*_wgrad_acc`` main-grad accumulation; the input-gradient GEMMs,
# the attention backward and the other element-wise backward ops are the rest): the W pass of
# the zero-bubble schedules (pipeline_bubble)
# act_*: activation bytes a layer keeps in GPU memory per micro-batch by recompute mode
# (infra_lab.memory.activation_bytes_per_layer); off_*: the bytes it offloads to host memory
# (infra_lab.memory.offloaded_bytes_per_layer; zero without training.offload_modules)
K_DENSE, K_MOE, K_MTP = 0, 1, 2
N_KINDS = 3
# K_MTP: one multi-token-prediction module per micro-batch (infra_lab.compute.layer_ops kind
# "mtp": the 2h -> h projection and its norms, one transformer layer of the model's last kind,
# the final norm, another output-head GEMM and its cross-entropy), not weighted by a layer count;
# its activations are infra_lab.memory.mtp_activation_bytes
# routed-expert table xtab[kind, part, tp_i, mbs_i, cp_i, x_i] (x = an (ep, etp) pair of the
# plans): the expert grouped GEMMs and token permutation of one layer on the BUSIEST expert
# rank (the mean rank's time x the load imbalance), the expert-dependent element-wise ops
# (activation, casts) on the mean rank, and the imbalance itself (busiest/mean tokens)
XTAB_NAMES = ("fwd_expert", "bwd_expert", "fwd_permute", "bwd_permute", "fwd_mem", "bwd_mem",
              "imbalance", "sel_recompute", "sel_recompute_mem", "act_none", "act_sel", "off_none", "off_sel",
              "bwd_expert_wgrad", "wcast_fwd_mem", "wcast_bwd_mem")
(X_FWD_EXP, X_BWD_EXP, X_FWD_PERM, X_BWD_PERM, X_FWD_MEM, X_BWD_MEM, X_IMB, X_SEL, X_SEL_MEM,
 X_ACT_NONE, X_ACT_SEL, X_OFF_NONE, X_OFF_SEL, X_BWD_EXP_W, X_WC_FWD, X_WC_BWD) = range(len(XTAB_NAMES))
# wcast_fwd_mem / wcast_bwd_mem: the weight-cast part of fwd_mem / bwd_mem (as the table's
# wcast_*: the difference to the (ep, etp) = (1, 1) table's)
# bwd_expert_wgrad: the weight-gradient grouped GEMMs of bwd_expert (busiest rank), the W pass
# act_none / act_sel: activation bytes a MoE layer stores per micro-batch beyond the (ep, etp) =
# (1, 1) table at this etp, without recompute / with selective recompute
# (infra_lab.memory.moe_etp_gather_bytes; none under full recompute); off_none / off_sel: the
# part of them offloaded to host memory (the "expert_fc1" offload module)
# LM head (+ loss) table htab[part, tp_i, mbs_i, cp_i, sp], and the multimodal prologue of the
# first stage (issue 20: encoders + projectors, per micro-batch; all zero for a text model):
# time of GEMM-like / memory-bound ops, recompute time (selective, full), activation bytes per
# in-flight micro-batch by recompute mode, frozen-encoder weights and forward working set
HTAB_NAMES = ("fwd", "fwd_mem", "bwd", "bwd_mem", "logits_bytes", "bwd_wgrad", "bwd_wgrad_mem",
              "pro_fwd", "pro_fwd_mem", "pro_bwd", "pro_bwd_mem", "pro_rc_sel", "pro_rc_full",
              "pro_act_none", "pro_act_sel", "pro_act_full", "pro_frozen_weights", "pro_frozen_work")
(H_FWD, H_FWD_MEM, H_BWD, H_BWD_MEM, H_ACT, H_BWD_W, H_BWD_W_MEM,
 H_PRO_FWD, H_PRO_FWD_MEM, H_PRO_BWD, H_PRO_BWD_MEM, H_PRO_RC_SEL, H_PRO_RC_FULL,
 H_PRO_ACT_NONE, H_PRO_ACT_SEL, H_PRO_ACT_FULL, H_PRO_FROZEN_W, H_PRO_FROZEN_WORK) = range(len(HTAB_NAMES))
# bwd_wgrad / bwd_wgrad_mem: the LM head's weight-gradient GEMM and its accumulation (the W pass)

# per-layout table lay[layout, candidate, field]: one row per pipeline-stage candidate
LAY_NAMES = (
    "n_dense", "n_moe", "has_embedding", "has_head", "rank", "p_nonexpert", "p_expert",
    "p_embedding", "p_head", "g_ne", "g_e",
    "ne_buckets", "ne_rs_body", "ne_rs_tail", "ne_ag_body", "ne_ag_tail", "ne_ar_body", "ne_ar_tail",
    "e_buckets", "e_rs_body", "e_rs_tail", "e_ag_body", "e_ag_tail", "e_ar_body", "e_ar_tail",
    "z3_ag_layer", "z3_rs_layer", "dp_net", "tail_fraction",
    "buckets", "rs_body", "ag_body", "ar_body", "rs_tail", "ag_tail", "ar_tail",
    "opt_unsharded", "opt_sharded", "static_z0", "static_z1", "static_z2", "static_z3",
    "grads_z0", "grads_z1", "grads_z2", "grads_z3", "n_dense_recomputed", "n_moe_recomputed",
    "n_mtp_recomputed", "n_ranks", "rank_mask",
    "c0_dense", "c0_moe", "c0_embedding", "c0_head", "c0_dense_recomputed", "c0_moe_recomputed", "chunks_differ",
    "ck_dense", "ck_moe", "ck_embedding", "ck_head", "ck_dense_recomputed", "ck_moe_recomputed",
    "ck_mtp_recomputed", "ck_classes", "chunk_class_map",
)
(L_ND, L_NM, L_EMB, L_HEAD, L_RANK, L_PNE, L_PE, L_PEMB, L_PHEAD, L_GNE, L_GE,
 L_NE_NB, L_NE_RSB, L_NE_RST, L_NE_AGB, L_NE_AGT, L_NE_ARB, L_NE_ART,
 L_E_NB, L_E_RSB, L_E_RST, L_E_AGB, L_E_AGT, L_E_ARB, L_E_ART,
 L_Z3_AG, L_Z3_RS, L_DP_NET, L_TAILF,
 L_NB, L_RSB, L_AGB, L_ARB, L_RST, L_AGT, L_ART,
 L_OPT0, L_OPT1, L_ST0, L_ST1, L_ST2, L_ST3, L_GR0, L_GR1, L_GR2, L_GR3, L_RD, L_RM, L_RX,
 L_NR, L_RMASK,
 L_C0D, L_C0M, L_C0EMB, L_C0HEAD, L_C0RD, L_C0RM, L_CDIFF,
 L_KD, L_KM, L_KEMB, L_KHEAD, L_KRD, L_KRM, L_KRX, L_KN, L_KMAP) = range(len(LAY_NAMES))
# L_RD, L_RM: the stage's dense-like and MoE layers that full recompute re-runs (all of them
# unless training.recompute_num_layers: the first N of each chunk, infra_lab.memory.stage_layers)
# L_RX: the stage's multi-token-prediction modules that full recompute re-runs (all of them on
# the stage with the head without training.recompute_num_layers, none with it: Megatron-Core
# skips MTP recompute under the block method; infra_lab.memory.mtp_modules_recomputed)
# L_NR: how many pipeline ranks have the candidate's shape; L_RMASK: which, as the bits
# sum(2**r) of those ranks r < RANK_MASK_BITS (exact in a float64). Ranks of shapes that are not
# among the candidates (more than MAXC shapes) and ranks >= RANK_MASK_BITS in the greedy V
# execution are priced at the slowest candidate's times (pipeline_bubble_stages, eval_head).
# L_C0D ... L_C0RM: under a V schedule (pp > 1, vp = 2) the counts of the rank's first chunk
# (model chunk r, the down-going one; infra_lab.memory.stage_layers' "chunks"): its dense-like
# and MoE layers, whether it holds the embedding / the output layer (and the MTP modules), the
# layers full recompute re-runs; the second chunk holds the rest. L_CDIFF: 1 when the two chunks
# differ (the executed replay then prices each at its own times), else 0 (each at half the
# rank's); all 0 for every other schedule and layout.
# L_KD ... L_KRX: under the interleaved schedule as il.estimate prices it (pp > 1, vp > 1;
# PP_SCHED_INTERLEAVED, executed per chunk) row q of the layout holds chunk class q: the counts
# of one distinct chunk shape (dense-like and MoE layers, embedding, output layer, the dense,
# MoE and MTP layers full recompute re-runs; infra_lab.memory.stage_layers' "chunks"); L_KN (in
# every row) the number of classes (0: none, the bubble then by the closed form); L_KMAP the
# candidate's chunks' classes, chunk c (its c-th, model chunk c·pp + rank) in bits 3c … 3c + 2
# (at most IL_MAX_CLASSES classes and IL_MAX_CHUNKS chunks). All 0 otherwise.
IL_MAX_CLASSES = 8
IL_MAX_CHUNKS = 17
RANK_MASK_BITS = 52
N_LAY = len(LAY_NAMES)
LAYOUT_NAMES = ("tp", "pp", "vp", "cp", "dp", "ep", "etp")
(LY_TP, LY_PP, LY_VP, LY_CP, LY_DP, LY_EP, LY_ETP) = range(len(LAYOUT_NAMES))

# per-(layout, micro-batch, sp) collective times comm[layout, mbs_i, sp, field] [s]
COMM_NAMES = ("tp", "etp", "cp_step", "ep_a2a", "pp_p2p", "tp_net", "ep_net", "cp_net", "pp_net", "cp_allgather",
              "tp_allgather")
(Q_TP, Q_ETP, Q_CP, Q_EP, Q_PP, Q_TP_NET, Q_EP_NET, Q_CP_NET, Q_PP_NET, Q_CP_AG, Q_TP_AG) = range(len(COMM_NAMES))
# Q_TP_AG: one all-gather of the layer's tokens x hidden over the tp ranks under sequence
# parallelism (0 without it): the backward's re-gather of a column-parallel input
# (SP_BACKWARD_GATHERS_DENSE)
N_COMM = len(COMM_NAMES)


def comm_width(layouts):
    """The last dimension of the comm table for an int64 array of layouts (LAYOUT_NAMES
    columns): the N_COMM named fields, then each pipeline boundary's send/recv time and
    its crossing flag (1.0: its rank pairs span two scale-up domains), room for the largest
    pp's pp − 1 boundaries of each (:func:`fill_plan_comm`, :func:`one_f_one_b_p2p`)."""
    nb = int(layouts[:, LY_PP].max()) - 1 if layouts.shape[0] else 0
    return N_COMM + 2 * max(nb, 0)

OUT_NAMES = ("compute_fwd", "compute_bwd", "compute_recompute", "tp_comm", "cp_comm", "ep_comm",
             "pp_p2p", "pp_bubble", "dp_grad_comm", "dp_param_comm", "optimizer",
             "step_time_s", "memory_per_gpu_bytes", "fits", "dp_comm_raw_s", "network_comm_s")
N_COMPONENTS = 11  # the first 11 outputs sum to step_time_s
(O_STEP, O_MEM, O_FITS, O_DP_RAW, O_NET) = range(11, 16)
N_OUT = len(OUT_NAMES)   # 16 float64 = one 128-byte row per plan (two cache lines)


# ---------------------------------------------------------------------------------------
# placement helpers
# ---------------------------------------------------------------------------------------
@njit(cache=True)
def members_per_domain(n, stride, step, blocks, D):
    """Ranks per scale-up domain at which a group of ``n`` ranks ``stride`` apart in
    Megatron-Core's rank order is priced [-]: every such group (offsets 0 … stride − 1 and
    ``blocks`` starts ``step``·stride apart: ranks a + stride·(j·step + i), i < n) is laid over
    domains of D consecutive ranks, and the fewest of one group's ranks in one domain, over
    all groups, is the bottleneck (those ranks' NICs carry the group's inter-domain share
    and the step waits for the slowest group); lowered to the largest divisor of n, since
    il.collective places n/k domains of k ranks.

    APPROXIMATION: an uneven group (e.g. 4 + 2 ranks over two domains) is priced as the
    uniform one with the bottleneck's ranks per domain (3 domains of 2), so its bandwidth
    term is the bottleneck domain's and its domain count (latency, tuner) can exceed the
    real one; a bottleneck that does not divide n is lowered further (7 + 3 -> 5 × 2).
    Megatron groups: ``step`` = n, ``blocks`` = world / (stride·n) (a pipeline boundary's rank
    pairs: :func:`pairs_cross`).
    :func:`infra_lab._kernels.training_reference.priced_per_domain` lists the ranks instead."""
    if n <= 1:
        return 1
    if stride >= D:
        return 1
    # a group's split over domains depends only on its first rank modulo D
    g = (stride * step) % D
    period = 1
    if g != 0:
        a_, b_ = D, g
        while b_ != 0:
            a_, b_ = b_, a_ % b_
        period = D // a_
    nj = blocks if blocks < period else period
    seen = np.zeros(D, dtype=np.bool_)
    k = n
    for a in range(stride):
        for j in range(nj):
            r0 = (a + stride * step * j) % D
            if seen[r0]:
                continue
            seen[r0] = True
            # domains d = 0 … of the ranks r0 + stride·i; a domain's members are i in
            # [ceil((d·D − r0)/stride), ceil(((d+1)·D − r0)/stride)), clipped to [0, n)
            lo = 0
            d = 0
            while lo < n:
                hi = ((d + 1) * D - r0 + stride - 1) // stride
                if hi > n:
                    hi = n
                if hi - lo < k:
                    k = hi - lo
                lo = hi
                d += 1
            if k == 1:
                return 1
    while n % k != 0:
        k -= 1
    return k


@njit(cache=True)
def coll(op, size, n, k, P):
    """Time of one collective over a group of n ranks, k per scale-up domain
    (:func:`members_per_domain`) [s] (:func:`infra_lab._kernels.fabric.best_collective`, the
    library's auto choice)."""
    if n <= 1 or size <= 0.0:
        return 0.0
    return kf.best_collective(op, np.int64(-1), size, n, k, P)[0]


@njit(cache=True)
def crosses(n, k):
    """1.0 when a group of n ranks, k per scale-up domain, spans more than one domain (its
    traffic uses the NICs)."""
    if n <= 1:
        return 0.0
    return 1.0 if k < n else 0.0


@njit(cache=True)
def pairs_cross(x0, nx, L, D):
    """1.0 when any of the rank pairs (x, x + L), x = x0 … x0 + nx − 1, has its two ranks in
    different scale-up domains of D consecutive ranks, else 0.0: with L < D a pair splits when
    x mod D >= D − L, and the nx consecutive residues from x0 mod D reach that when
    x0 mod D + nx + L > D. A pipeline boundary b of stages S ranks apart (Megatron-Core's rank
    order: tp·cp·dp ranks per stage): x0 = b·S, nx = S, L = S; the interleaved schedule's
    boundary from the last stage to the first: x0 = 0, nx = S, L = (pp − 1)·S.
    :func:`infra_lab._kernels.training_reference.pp_boundaries` lists the pairs instead."""
    if nx <= 0 or L <= 0:
        return 0.0
    if L >= D:
        return 1.0
    return 1.0 if (x0 % D) + nx + L > D else 0.0


@njit(cache=True)
def pp_ring(c, pp, vp):
    """True when the pipeline's chunks form a ring (the interleaved schedule, vp > 1 and not a
    V schedule: model chunk j·pp + pp − 1 on the last rank feeds chunk (j + 1)·pp on rank 0, so
    that boundary is a hop too); a V schedule (ZBV, V-Half, V-Min) turns on the last rank."""
    sched = int(c[C_PP_SCHED])
    v = sched == PP_SCHED_ZBV or sched == PP_SCHED_V_HALF or sched == PP_SCHED_V_MIN
    return pp > 1 and vp > 1 and not v


@njit(cache=True)
def pp_hop_time(cross, nb, pp, ring, t_in, t_x):
    """The pipeline send/receive time per transfer the step's critical path sees [s], and the
    share of it over the NICs [-], from each stage boundary's placement (``cross[b]`` 1.0 when
    boundary b's rank pairs span two scale-up domains: :func:`pairs_cross`; ``nb`` boundaries,
    pp − 1, plus the last-to-first one of a ring, index pp − 1) and the hop times within a
    domain ``t_in`` and across domains ``t_x``. Rank r exchanges over boundaries r − 1 and r
    (the edge ranks over one, unless ``ring``).

    Which hop the critical path sees, from Megatron-Core's schedules
    (megatron/core/pipeline_parallel/schedules.py at NVIDIA/Megatron-LM d98e8a6): in 1F1B's
    steady state (``forward_backward_pipelining_without_interleaving``) each rank runs a forward,
    then ``send_forward_recv_backward`` (a batched exchange with the next rank that waits for
    both transfers, p2p_communication.py), its backward, then ``send_backward_recv_forward``
    (the same with the previous rank): every micro-batch a rank waits on its two boundaries one
    after the other, and the blocking exchanges couple the ranks, so the pipeline advances at the
    pace of the rank whose two exchanges take longest. The plain 1F1B schedule's step prices
    each boundary at its own time on the longest path through those calls
    (:func:`one_f_one_b_p2p`); this one hop time serves the other schedules (the step model
    prices the send/receive apart from the executed compute, :func:`pp_p2p_time`'s two transfers
    per chunk slot): without a ring the largest over ranks of the mean of its boundaries' times
    (an edge rank's one boundary counts for both transfers). The interleaved schedule, without
    p2p overlap, exchanges with both neighbours in one batched call per forward-backward pair
    (``send_forward_backward_recv_forward_backward``), which waits for the slower of the two:
    there a rank's hop time is the larger of its two boundaries'. APPROXIMATION: the zero-bubble
    and V schedules take 1F1B's rule; the fill and the drain, which cross each boundary once, are
    priced at the same hop time as the steady state."""
    best = -1.0
    share = 0.0
    for r in range(pp):
        lo = r - 1 if r >= 1 else (nb - 1 if ring else -1)
        hi = r if r <= pp - 2 else (nb - 1 if ring else -1)
        tot = 0.0
        net = 0.0
        cnt = 0.0
        big = -1.0
        big_net = 0.0
        for b in (lo, hi):
            if b < 0:
                continue
            t = t_x if cross[b] > 0.5 else t_in
            tot += t
            net += t if cross[b] > 0.5 else 0.0
            cnt += 1.0
            if t > big:
                big = t
                big_net = 1.0 if cross[b] > 0.5 else 0.0
        if cnt == 0.0:
            continue
        if ring:
            v = big
            sh = big_net
        else:
            v = tot / cnt
            sh = net / tot if tot > 0.0 else (1.0 if net > 0.0 else 0.0)
        if v > best:
            best = v
            share = sh
    if best < 0.0:
        return 0.0, 0.0
    return best, share


# ---------------------------------------------------------------------------------------
# communication part: filled once per layout / (layout, micro-batch) before the plan loop
# ---------------------------------------------------------------------------------------
@njit(cache=True)
def bucket_split(params, emb, bucket):
    """(body buckets, params per body bucket, params of the tail bucket) of a gradient buffer
    of ``params`` split into buckets of ``bucket`` params, the tail holding at least ``emb``
    (the embedding) [-, params, params]: the one owner of the DP bucket sizes (:func:`_buckets`
    prices them; ``il.training.collectives`` lists them). ``params`` > 0."""
    nb_all = np.ceil(params / bucket)
    rem = params - (nb_all - 1.0) * bucket
    tail = rem if rem > emb else emb
    if tail > params:
        tail = params
    body = params - tail
    nb = np.ceil(body / bucket - 1e-9) if body > 0.0 else 0.0
    bsz = body / nb if nb > 0.0 else 0.0
    return nb, bsz, tail


@njit(cache=True)
def plan_groups(c, layout):
    """(k_tp, k_etp, k_cp, k_ep, g_ne, k_ne, g_e, k_e) of one layout row (LAYOUT_NAMES) [-]: the
    ranks per scale-up domain (:func:`members_per_domain`) of Megatron-Core's tp (stride 1),
    expert-tp (stride 1), cp (stride tp) and ep (stride etp) groups, then the data-parallel group
    of the non-expert parameters (g_ne = dp·cp ranks at stride tp) and of the routed experts
    (g_e = (tp·cp·dp)/(ep·etp) ranks at stride ep·etp), each with its ranks per domain. The one
    owner of the groups' placement :func:`fill_plan_comm`, :func:`fill_layout_comm` and
    ``il.training.collectives`` read."""
    D = int(c[C_D])
    tp = layout[LY_TP]
    cp = layout[LY_CP]
    dp = layout[LY_DP]
    ep = layout[LY_EP]
    etp = layout[LY_ETP]
    pp = layout[LY_PP]
    one = np.int64(1)
    blocks = cp * dp * pp
    k_tp = members_per_domain(tp, one, tp, blocks, D)
    k_etp = members_per_domain(etp, one, etp, (blocks * tp) // etp, D)
    k_cp = members_per_domain(cp, tp, cp, dp * pp, D)
    k_ep = members_per_domain(ep, etp, ep, (blocks * tp) // (ep * etp), D)
    # Megatron-Core's data-parallel groups: dp-cp at stride tp (pp blocks); the expert
    # data-parallel group at stride ep·etp (pp blocks)
    g_ne = dp * cp
    g_e = (tp * cp * dp) // (ep * etp)
    k_ne = members_per_domain(g_ne, tp, g_ne, pp, D)
    k_e = members_per_domain(g_e, ep * etp, g_e, pp, D)
    return k_tp, k_etp, k_cp, k_ep, g_ne, k_ne, g_e, k_e


@njit(cache=True)
def z3_layer_bytes(c, p_ne, p_e, nl, tp):
    """Bytes of one ZeRO-3 / FSDP per-layer call of a stage with ``nl`` layers, ``p_ne`` non-expert
    and ``p_e`` expert parameters per rank: (all-gather of a non-expert weight matrix, of a
    hidden-size vector, of an expert weight matrix; reduce-scatter of the same three), each
    layer's matrices in C_Z3_CALLS equal calls and its vectors in C_Z3_SMALL calls [bytes]: the
    one owner :func:`fill_layout_comm` prices and ``il.training.collectives`` lists."""
    kz = c[C_Z3_CALLS]
    vec = c[C_H] / tp
    return (p_ne / nl / kz * c[C_FSDP_AG], vec * c[C_WEIGHT_BYTES], p_e / nl / kz * c[C_WEIGHT_BYTES],
            p_ne / nl / kz * c[C_Z3_RS], vec * c[C_Z3_RS], p_e / nl / kz * c[C_Z3_RS])


@njit(cache=True)
def message_bytes(c, tp, cp, mbs):
    """(act, routed, kv) of one micro-batch of ``mbs`` sequences [bytes]: act the tokens × hidden
    activation of a TP group (mbs·S/cp tokens; a TP collective's buffer, a pipeline boundary's
    activation before its 1/tp slice), routed each rank's 1/tp of the tokens × top_k × hidden
    (what one EP rank dispatches, per routed copy), kv one CP ring step's K and V of the rank's
    tokens (over tp). The one owner of the per-micro-batch message sizes :func:`fill_plan_comm`
    prices and ``il.training.collectives`` lists."""
    ab = c[C_ACT_BYTES]
    H = c[C_H]
    tok = mbs * c[C_S] / cp                    # tokens of a TP group per micro-batch
    act = tok * H * ab
    routed = tok / tp * c[C_TOPK] * H * ab         # each rank dispatches 1/tp of the tokens
    kv = tok * 2.0 * c[C_HKV] * ab / tp
    return act, routed, kv


@njit(cache=True)
def _buckets(params, emb, bucket, gbytes, wbytes, n, k, P, out, base):
    """Megatron's gradient buffer of ``params`` split into buckets of ``bucket`` params
    (the last bucket holds the first layers and the embedding, whose gradient is complete
    only at the end of backward): body buckets (count, time each) and the tail bucket
    (time), for the gradient collective ``op_g`` and the parameter all-gather."""
    if params <= 0.0 or n <= 1:
        for j in range(7):
            out[base + j] = 0.0
        return 0.0
    nb, bsz, tail = bucket_split(params, emb, bucket)
    out[base] = nb
    out[base + 1] = coll(kf.OP_REDUCE_SCATTER, bsz * gbytes, n, k, P)
    out[base + 2] = coll(kf.OP_REDUCE_SCATTER, tail * gbytes, n, k, P)
    out[base + 3] = coll(kf.OP_ALL_GATHER, bsz * wbytes, n, k, P)
    out[base + 4] = coll(kf.OP_ALL_GATHER, tail * wbytes, n, k, P)
    out[base + 5] = coll(kf.OP_ALL_REDUCE, bsz * gbytes, n, k, P)
    out[base + 6] = coll(kf.OP_ALL_REDUCE, tail * gbytes, n, k, P)
    return tail / params


@njit(cache=True)
def fill_layout_comm(c, layouts, lay, ncand, P):
    """Data-parallel collective times of every layout and stage candidate into ``lay``.

    ``lay`` arrives with the stage fields (L_ND … L_PEMB) filled; this adds group sizes,
    bucket counts and bucket times (reduce-scatter, all-gather, all-reduce) for the
    non-expert and expert gradient buffers, and ZeRO-3 per-layer gathers."""
    for li in range(layouts.shape[0]):
        tp = layouts[li, LY_TP]
        ep = layouts[li, LY_EP]
        etp = layouts[li, LY_ETP]
        g_ne, k_ne, g_e, k_e = plan_groups(c, layouts[li])[4:]
        for ci in range(ncand[li]):
            row = lay[li, ci]
            row[L_GNE] = g_ne
            row[L_GE] = g_e
            p_ne = row[L_PNE] / tp
            p_e = row[L_PE] / (ep * etp)
            emb = row[L_PEMB] / tp
            b_ne = max(c[C_BUCKET_MIN], c[C_BUCKET_PER_RANK] * g_ne)
            b_e = max(c[C_BUCKET_MIN], c[C_BUCKET_PER_RANK] * g_e)
            tf = _buckets(p_ne, emb, b_ne, c[C_GRAD_BYTES], c[C_WEIGHT_BYTES], g_ne, k_ne, P, row, np.int64(L_NE_NB))
            _buckets(p_e, 0.0, b_e, c[C_GRAD_BYTES], c[C_WEIGHT_BYTES], g_e, k_e, P, row, np.int64(L_E_NB))
            row[L_TAILF] = tf
            nl = row[L_ND] + row[L_NM]
            if nl > 0.0:
                # one layer's parameters in kz collective calls of equal size (the weight
                # matrices) plus ks latency-bound calls of one hidden-size vector each (biases,
                # norms), as the stack gathers them (DeepSpeed 2021: one call per tensor;
                # FSDP2 / Megatron-FSDP: one flat buffer per layer)
                # FSDP2 + torchao's float8 all-gather sends the non-expert weight matrices at
                # C_FSDP_AG bytes per parameter (fsdp_pre_all_gather returns the float8 data; the
                # scale travels as metadata); norm vectors and routed experts stay 16-bit
                kz = c[C_Z3_CALLS]
                ks = c[C_Z3_SMALL]
                ag_ne, ag_v, ag_e, rs_ne, rs_v, rs_e = z3_layer_bytes(c, p_ne, p_e, nl, tp)
                row[L_Z3_AG] = (kz * coll(kf.OP_ALL_GATHER, ag_ne, g_ne, k_ne, P)
                                + ks * coll(kf.OP_ALL_GATHER, ag_v, g_ne, k_ne, P)
                                + kz * coll(kf.OP_ALL_GATHER, ag_e, g_e, k_e, P))
                row[L_Z3_RS] = (kz * coll(kf.OP_REDUCE_SCATTER, rs_ne, g_ne, k_ne, P)
                                + ks * coll(kf.OP_REDUCE_SCATTER, rs_v, g_ne, k_ne, P)
                                + kz * coll(kf.OP_REDUCE_SCATTER, rs_e, g_e, k_e, P))
            else:
                row[L_Z3_AG] = 0.0
                row[L_Z3_RS] = 0.0
            net = crosses(g_ne, k_ne)
            if p_e > 0.0 and crosses(g_e, k_e) > net:
                net = 1.0
            row[L_DP_NET] = net
            # both gradient buffers on one NIC queue: body buckets at their average time
            nb = row[L_NE_NB] + row[L_E_NB]
            row[L_NB] = nb
            if nb > 0.0:
                row[L_RSB] = (row[L_NE_NB] * row[L_NE_RSB] + row[L_E_NB] * row[L_E_RSB]) / nb
                row[L_AGB] = (row[L_NE_NB] * row[L_NE_AGB] + row[L_E_NB] * row[L_E_AGB]) / nb
                row[L_ARB] = (row[L_NE_NB] * row[L_NE_ARB] + row[L_E_NB] * row[L_E_ARB]) / nb
            else:
                row[L_RSB] = 0.0
                row[L_AGB] = 0.0
                row[L_ARB] = 0.0
            row[L_RST] = row[L_NE_RST] + row[L_E_RST]
            row[L_AGT] = row[L_NE_AGT] + row[L_E_AGT]
            row[L_ART] = row[L_NE_ART] + row[L_E_ART]
            # optimizer update of the local parameters, unsharded (ZeRO-0) and sharded
            row[L_OPT0] = c[C_OPT_T0] + (p_ne + p_e) * c[C_OPT_T_PER_PARAM]
            row[L_OPT1] = c[C_OPT_T0] + (p_ne / g_ne + p_e / g_e) * c[C_OPT_T_PER_PARAM]
            # Muon's Newton-Schulz work of the stage's weight matrices (0 for other optimizers):
            # APPROXIMATION: the whole-matrix work is divided by tp (expert matrices by ep*etp),
            # as if the TP ranks spread whole matrices among them; Newton-Schulz needs whole
            # matrices, so a TP-sharded one must be gathered first (that gather/scatter is not
            # priced), and per-shard Newton-Schulz would cost more than 1/tp (its a^3 term does
            # not shrink). Exact for tp = etp = 1 (ep holds whole experts); unsharded every data-parallel
            # rank repeats it, sharded a share f of it is divided over the data-parallel group
            # in whole matrices (no rank below its largest matrix)
            w_ne = (row[L_ND] * c[C_NS_DENSE] + row[L_NM] * c[C_NS_MOE]) / tp
            w_e = row[L_NM] * c[C_NS_EXPERT] / (ep * etp)
            fs = c[C_NS_SHARE]
            row[L_OPT0] += w_ne + w_e
            if w_ne > 0.0:
                row[L_OPT1] += (1.0 - fs) * w_ne + fs * min(w_ne, max(w_ne / g_ne, c[C_NS_MAX_NE]))
            if w_e > 0.0:
                row[L_OPT1] += (1.0 - fs) * w_e + fs * min(w_e, max(w_e / g_e, c[C_NS_MAX_E]))
            # weights, gradients, optimizer states and ZeRO-3 buffers by ZeRO stage (the memory
            # kernel's formula; activations are added per plan)
            for z in range(4):
                # fully sharded on a stack whose shards are the fp32 masters: fsdp code 2
                f3 = np.int64(2) if (z == 3 and c[C_FSDP_FP32] > 0.5) else np.int64(0)
                mb = training_bytes(row[L_PNE] - row[L_PEMB] - row[L_PHEAD], row[L_PE], row[L_PEMB] + row[L_PHEAD],
                                    tp * 1.0, ep * 1.0, etp * 1.0, g_ne * 1.0, g_e * 1.0, z, f3,
                                    c[C_WEIGHT_BYTES], c[C_GRADBUF_BYTES], c[C_OPT_STATE_BYTES], nl,
                                    0.0, 0.0, 0.0, 0.0, c[C_FP8_WCOPY], 0.0, c[C_FSDP_RS], row[L_PHEAD],
                                    c[C_FSDP_GQ], c[C_FSDP_AG])
                row[L_ST0 + z] = mb[0] + mb[1] + mb[2] + mb[3] + mb[4] + mb[5]   # MEM_NAMES before "activations"
                row[L_GR0 + z] = mb[1]          # the gradients' share (memory.grads_at_peak)


@njit(cache=True)
def fill_plan_comm(c, layouts, mbss, comm, P):
    """Per-micro-batch collective times of every layout, micro-batch size and sequence-
    parallel flag into ``comm[layout, mbs_i, sp, Q_*]`` [s]:

    * TP: one all-reduce of the layer output (with SP a reduce-scatter + all-gather pair)
      of tokens·h activations over tp ranks (stride 1); with SP also the all-gather alone
      (Q_TP_AG, the backward's re-gather of a column-parallel input);
    * expert TP: all-gather + reduce-scatter of the routed tokens over etp ranks;
    * CP: one ring step, K and V of the local tokens to the next of cp ranks (stride tp); with
      the all-gather rotation (C_CP_AG = 1) the step is the 32-bit dK and dV of the local tokens
      and Q_CP_AG the all-gather of every rank's K and V over the cp ranks; with the exposed
      all-gather (C_CP_AG = 2) Q_CP is the reduce-scatter of every rank's dK and dV (at the
      activation precision) and Q_CP_AG the same all-gather (see :func:`cp_exposed`);
    * EP dispatch or combine (:data:`DISPATCHERS`): ``alltoall`` = one all-to-all of each
      rank's tokens·top_k·h over the ep ranks (stride etp), the library's algorithm; ``deepep``
      = each token once per destination rank (DeepEP's ``is_token_in_rank``: tokens·R·h, R =
      ep·(1 − C(E − E/ep, k)/C(E, k)) the expected distinct ranks of its k experts, fewer under
      the model's group-limited routing: :func:`distinct_units`); when the
      group spans N > 1 scale-up domains, an all-to-all over the N same-rail ranks (one per
      domain) carrying each token once per destination domain (tokens·p·h per domain, p = 1 −
      C(E − E/N, k)/C(E, k) the chance a token has an expert there; :func:`distinct_units`
      over the N domains), pipelined with the
      fan-out inside the domain (an all-to-all of tokens·R·h over the domain's EP ranks): the
      slower stage sets the time;
    * PP: one send/recv of each TP rank's 1/tp slice of the stage boundary activation
      (stride tp·cp·dp), each boundary within or across domains by its own placement, kept as
      the hop the critical path sees (:func:`pp_hop_time`; Q_PP_NET its share over the NICs)
      and, where comm is :func:`comm_width` wide, each boundary b's own time at N_COMM + b and
      crossing flag at N_COMM + (comm width − N_COMM)/2 + b (the plain 1F1B schedule's
      :func:`one_f_one_b_p2p`).
    """
    D = int(c[C_D])
    ab = c[C_ACT_BYTES]
    nbc = (comm.shape[3] - N_COMM) // 2      # boundaries comm has room for (comm_width)
    zero, one, pair = np.int64(0), np.int64(1), np.int64(2)    # typed ints, not literals (module docstring)
    for li in range(layouts.shape[0]):
        tp = layouts[li, LY_TP]
        cp = layouts[li, LY_CP]
        dp = layouts[li, LY_DP]
        ep = layouts[li, LY_EP]
        etp = layouts[li, LY_ETP]
        pp = layouts[li, LY_PP]
        # ranks per domain of Megatron-Core's groups (members_per_domain): tp (stride 1),
        # expert tp (stride 1), cp (stride tp), ep (stride etp); each pipeline boundary by its
        # own placement (stages tp·cp·dp ranks apart, pairs_cross; a ring's last-to-first
        # boundary too), combined into the hop the critical path sees (pp_hop_time)
        k_tp, k_etp, k_cp, k_ep = plan_groups(c, layouts[li])[:4]
        stage = tp * cp * dp
        ring = pp_ring(c, pp, layouts[li, LY_VP])
        nbd = pp - 1 + (1 if ring else 0)
        cross = np.zeros(max(nbd, 1))
        any_in = False
        any_x = False
        for b in range(nbd):
            if b < pp - 1:
                cross[b] = pairs_cross(b * stage, stage, stage, D)
            else:
                cross[b] = pairs_cross(zero, stage, (pp - 1) * stage, D)
            if cross[b] > 0.5:
                any_x = True
            else:
                any_in = True
        for mi in range(mbss.shape[0]):
            act, routed, kv = message_bytes(c, tp, cp, mbss[mi])
            for sp in range(2):
                q = comm[li, mi, sp]
                if sp == 1:
                    q[Q_TP_AG] = coll(kf.OP_ALL_GATHER, act, tp, k_tp, P)
                    q[Q_TP] = coll(kf.OP_REDUCE_SCATTER, act, tp, k_tp, P) + q[Q_TP_AG]
                else:
                    q[Q_TP] = coll(kf.OP_ALL_REDUCE, act, tp, k_tp, P)
                    q[Q_TP_AG] = 0.0
                q[Q_ETP] = (coll(kf.OP_ALL_GATHER, routed * etp, etp, k_etp, P)
                            + coll(kf.OP_REDUCE_SCATTER, routed * etp, etp, k_etp, P))
                if cp > 1:                                  # the ring's slowest hop
                    q[Q_CP_NET] = crosses(cp, k_cp)
                    hop = one if q[Q_CP_NET] > 0.5 else pair   # ranks per domain of the hop
                    if c[C_CP_AG] > 1.5:                    # dK, dV reduce-scattered at once
                        q[Q_CP] = coll(kf.OP_REDUCE_SCATTER, kv * cp, cp, k_cp, P)
                        q[Q_CP_AG] = coll(kf.OP_ALL_GATHER, kv * cp, cp, k_cp, P)
                    elif c[C_CP_AG] > 0.5:                  # dK, dV accumulated and passed in fp32
                        q[Q_CP] = coll(kf.OP_SEND_RECV, kv * 4.0 / ab, pair, hop, P)
                        q[Q_CP_AG] = coll(kf.OP_ALL_GATHER, kv * cp, cp, k_cp, P)
                    else:
                        q[Q_CP] = coll(kf.OP_SEND_RECV, kv, pair, hop, P)
                        q[Q_CP_AG] = 0.0
                else:
                    q[Q_CP] = 0.0
                    q[Q_CP_NET] = 0.0
                    q[Q_CP_AG] = 0.0
                q[Q_EP] = ep_dispatch(c, routed / c[C_TOPK], ep, k_ep, P)
                q[Q_EP_NET] = crosses(ep, k_ep)
                q[Q_TP_NET] = crosses(tp, k_tp)
                # each TP rank sends its 1/tp slice (Megatron's scatter/gather optimisation,
                # Narayanan et al. 2021 section 4.1; with SP the boundary is already sharded)
                if pp > 1:
                    t_in = coll(kf.OP_SEND_RECV, act / tp, pair, pair, P) if any_in else 0.0
                    t_x = coll(kf.OP_SEND_RECV, act / tp, pair, one, P) if any_x else 0.0
                    q[Q_PP], q[Q_PP_NET] = pp_hop_time(cross, nbd, pp, ring, t_in, t_x)
                    # each boundary's own time and crossing (one_f_one_b_p2p), where comm has room
                    if nbc >= pp - 1:
                        for b in range(pp - 1):
                            q[N_COMM + b] = t_x if cross[b] > 0.5 else t_in
                            q[N_COMM + nbc + b] = cross[b]
                else:
                    q[Q_PP] = 0.0
                    q[Q_PP_NET] = 0.0


@njit(cache=True)
def node_share(E, k, N):
    """Chance that a token's k distinct experts (of E, spread evenly over N domains or ranks)
    include at least one in a given domain (rank): 1 − C(E − E/N, k)/C(E, k) [-]; N times it is
    the expected number of distinct domains (ranks) a token reaches (hypergeometric: uniform
    top-k routing, as under forced load balancing; no device-limited routing)."""
    if N <= 1.0:
        return 1.0
    miss = 1.0
    other = E - E / N
    for i in range(int(k)):
        miss *= (other - i) / (E - i) if other - i > 0.0 else 0.0
    return 1.0 - miss


@njit(cache=True)
def _lcomb(n, r):
    """log C(n, r) for 0 <= r <= n (−inf otherwise)."""
    if r < 0 or r > n:
        return -np.inf
    return math.lgamma(n + 1.0) - math.lgamma(r + 1.0) - math.lgamma(n - r + 1.0)


@njit(cache=True)
def distinct_units(E, k, N, G, M):
    """Expected number of the N equal units (EP ranks or scale-up domains, E/N consecutive
    experts each) that one token's k experts reach [-]: N·node_share without a group limit
    (G <= 1 or M >= G); with group-limited routing (M of G equal groups of consecutive experts
    per token, the k experts drawn uniformly from the M·E/G experts of the selected groups) a
    unit overlapping t groups with o_1..o_t experts misses the token with probability
    Σ_A C(G − t, M − |A|)/C(G, M) · C(P − Σ_A o, k)/C(P, k) over the subsets A of its groups
    that are selected (P = M·E/G), summed over units (counted by a small table over the
    subsets' size and overlap); the plain-Python twin is compute.moe_distinct_ranks."""
    if N <= 1.0:
        return 1.0
    if G <= 1.0 or M >= G:
        return N * node_share(E, k, N)
    n = int(N)
    s = int(E) // n
    g = int(E) // int(G)
    pool = M * g
    l_pool = _lcomb(pool, k)
    l_groups = _lcomb(G, M)
    # every unit has the same overlap pattern when one of G, N divides the other
    same = (int(G) % n == 0) or (n % int(G) == 0)
    units = 1 if same else n
    hit = 0.0
    for r in range(units):
        lo = r * s
        hi = lo + s
        j0 = lo // g
        j1 = (hi - 1) // g
        t = j1 - j0 + 1
        ways = np.zeros((t + 1, s + 1))
        ways[0, 0] = 1.0
        for j in range(j0, j1 + 1):
            o = min(hi, (j + 1) * g) - max(lo, j * g)
            for c in range(t - 1, -1, -1):
                for tot in range(s - o, -1, -1):
                    if ways[c, tot] != 0.0:
                        ways[c + 1, tot + o] += ways[c, tot]
        miss = 0.0
        for c in range(t + 1):
            if M - c < 0 or M - c > G - t:
                continue
            for tot in range(s + 1):
                if ways[c, tot] != 0.0 and pool - tot >= k:
                    miss += ways[c, tot] * math.exp(_lcomb(G - t, M - c) - l_groups
                                                    + _lcomb(pool - tot, k) - l_pool)
        hit += 1.0 - miss
    return hit * n if same else hit


@njit(cache=True)
def ep_messages(c, tokens_bytes, ep, g):
    """The all-to-alls of one MoE dispatch (or combine) of a rank's ``tokens_bytes`` (tokens·h·bytes,
    one copy per token) over an EP group of ``ep`` ranks, ``g`` per scale-up domain, by the
    stack's dispatcher (:data:`DISPATCHERS`): (bytes, ranks, ranks per domain) of the all-to-all
    over the group (``alltoall``: every routed copy; ``deepep``: each token once per destination
    rank, within the domain when the group spans domains), then the same of DeepEP's
    inter-domain all-to-all over the same-rail ranks (one per domain; 0 bytes and 1 rank when
    there is none) [bytes, -, -]. The one owner of the sizes :func:`ep_dispatch` prices and
    ``il.training.collectives`` lists; ``ep`` > 1."""
    k = c[C_TOPK]
    one = np.int64(1)
    if c[C_DISPATCH] < 0.5:
        return tokens_bytes * k, ep, g, 0.0, one, one
    # DeepEP sends a token once per destination RANK (is_token_in_rank), not once per expert;
    # group-limited routing (C_RGROUPS, C_RGROUP_TOPK) caps the ranks and domains it reaches
    G = c[C_RGROUPS]
    M = c[C_RGROUP_TOPK]
    ranks = distinct_units(c[C_EXPERTS], k, ep * 1.0, G, M)
    if g >= ep:
        return tokens_bytes * ranks, ep, g, 0.0, one, one
    n_dom = ep // g
    doms = distinct_units(c[C_EXPERTS], k, n_dom * 1.0, G, M)
    # each GPU forwards what its rail peers send it to the distinct ranks of its domain: on
    # average a token's distinct destination ranks over the whole group
    return tokens_bytes * ranks, g, g, tokens_bytes * doms, n_dom, one


@njit(cache=True)
def ep_dispatch(c, tokens_bytes, ep, g, P):
    """Time of one MoE dispatch (or combine) of a rank's ``tokens_bytes`` (tokens·h·bytes, one
    copy per token) over an EP group of ``ep`` ranks, ``g`` per scale-up domain
    (:func:`members_per_domain`) [s], by the stack's dispatcher (:data:`DISPATCHERS`,
    :func:`ep_messages`); every collective through :func:`coll`. DeepEP's inter-domain
    all-to-all is pipelined with the fan-out inside the domain: the slower sets the time."""
    if ep <= 1:
        return 0.0
    a, na, ka, b, nb, kb = ep_messages(c, tokens_bytes, ep, g)
    intra = coll(kf.OP_ALL_TO_ALL, a, na, ka, P)
    if nb <= 1:
        return intra
    inter = coll(kf.OP_ALL_TO_ALL, b, nb, kb, P)
    return inter if inter > intra else intra


# ---------------------------------------------------------------------------------------
# compute part
# ---------------------------------------------------------------------------------------
@njit(cache=True)
def offload_exposed(copy_bytes, bw, bwd):
    """Host-link time that activation offloading adds to one micro-batch of a stage [s].

    Megatron-Core (megatron/core/pipeline_parallel/fine_grained_activation_offload.py) copies
    each offloaded group device-to-host on its own ``d2h_stream`` once the module's forward
    is done; the compute stream never waits for these copies (the tensors are released when
    the copy ends). In backward each group is reloaded host-to-device on the ``h2d_stream``
    one group ahead (``bulk_reload`` at the start of the previous group's backward; the
    chunk's last layer even earlier), and the compute stream waits for the reload before the
    group's backward. So the stage's ``copy_bytes`` / ``bw`` of reloads per micro-batch hide
    under its backward with recomputation (``bwd``) and the rest stalls it; the two directions
    are independent, and with the reloads keeping pace the offloads (same bytes, the other
    direction, a whole micro-batch cycle to run in) do too. APPROXIMATION: the link's line
    rate, no per-copy latency, layers of equal size (a group's reload hides under the next
    group's backward exactly when the stage's reloads hide under its backward)."""
    if copy_bytes <= 0.0 or bw <= 0.0:
        return 0.0
    t = copy_bytes / bw
    return t - bwd if t > bwd else 0.0


@njit(cache=True)
def weight_cast_share(cache, m):
    """Share of a layer's weight casts (the tables' wcast_* parts) that one micro-batch carries:
    1 / k for a stack that quantizes each weight once per step and reuses the copies over the
    step's k = :func:`micro_batches_int` (m) micro-batches (``cache`` = C_FP8_CACHE = 1), 1 for one
    that casts on every micro-batch. The per-micro-batch time is then the op table's at
    ``infra_lab.compute.layer_ops(weight_cast_every=k)``. Megatron-Core marks the first micro-batch
    of each model chunk (``forward_step`` calls ``set_is_first_microbatch``; interleaved:
    ``is_first_microbatch_for_model_chunk``), and Transformer Engine's Linear quantizes the weight
    (row-wise for the forward GEMM, column-wise for dgrad) only then and reuses the cached
    workspace otherwise (``update_ws = is_first_microbatch is None or is_first_microbatch``).
    APPROXIMATION: the casts are spread evenly over the micro-batches (the first one carries them
    all), so a pipeline's warm-up and bubble see the average."""
    if cache <= 0.0:
        return 1.0
    return 1.0 / micro_batches_int(m)


@njit(cache=True)
def stage_compute(c, tab, htab, xtab, nd, nm, rd, rm, rx, head, emb, rc, ti, mi, ci, spi, xi, wsave):
    """Forward, backward and recomputation time of one micro-batch on a stage with nd
    dense-like and nm MoE layers (and the LM head when ``head``; the multimodal prologue,
    encoders + projectors, when ``emb``: the stage holds the embedding) [s]. Routed experts
    come from ``xtab`` at the plan's (ep, etp) index ``xi``, on the busiest expert rank.
    Full recompute (rc = 2) re-runs the forward of rd of the dense-like and rm of the MoE
    layers (all of them unless ``training.recompute_num_layers``). The stage with the head also
    runs the model's C_MTP multi-token-prediction modules (table slot K_MTP, routed experts at
    the same (ep, etp)); full recompute re-runs rx of them: all (each checkpointed whole)
    without ``training.recompute_num_layers``, none with it (Megatron-Core's
    MultiTokenPredictionLayer._checkpointed_forward runs the module plainly under the block
    method; :func:`infra_lab.memory.mtp_modules_recomputed`). ``wsave``: the share of the layers'
    weight casts a micro-batch does not run (1 − :func:`weight_cast_share`); a full recompute
    re-runs the forward as priced (the reused copies' share included)."""
    fw = c[C_FW_SCALE]
    ms = c[C_MEM_SCALE]
    f = 0.0
    b = 0.0
    r = 0.0
    nx = head * c[C_MTP]
    for k in range(N_KINDS):
        n = nd if k == K_DENSE else (nm if k == K_MOE else nx)
        if n <= 0.0:
            continue
        fk = fw * (tab[k, T_FWD, ti, mi, ci, spi] + xtab[k, X_FWD_EXP, ti, mi, ci, xi]) \
            + ms * (tab[k, T_FWD_MEM, ti, mi, ci, spi] + xtab[k, X_FWD_PERM, ti, mi, ci, xi]
                    + xtab[k, X_FWD_MEM, ti, mi, ci, xi]
                    - wsave * (tab[k, T_WC_FWD, ti, mi, ci, spi] + xtab[k, X_WC_FWD, ti, mi, ci, xi]))
        bk = fw * (tab[k, T_BWD, ti, mi, ci, spi] + xtab[k, X_BWD_EXP, ti, mi, ci, xi]) \
            + ms * (tab[k, T_BWD_MEM, ti, mi, ci, spi] + xtab[k, X_BWD_PERM, ti, mi, ci, xi]
                    + xtab[k, X_BWD_MEM, ti, mi, ci, xi]
                    - wsave * (tab[k, T_WC_BWD, ti, mi, ci, spi] + xtab[k, X_WC_BWD, ti, mi, ci, xi]))
        slow = 1.0
        if k == K_MOE or (k == K_MTP and c[C_MTP_MOE] > 0.5):
            # host-bound MoE layers (training.moe_host_sync): longer GPU time, host wait
            slow += c[C_MOE_SLOW]
            fk = slow * fk + MOE_SYNC_FWD_SHARE * c[C_MOE_SYNC]
            bk = slow * bk + (1.0 - MOE_SYNC_FWD_SHARE) * c[C_MOE_SYNC]
        if rc == 2:
            rk = fk
        elif rc == 1:   # the stack's selective set (attention core, or per-op SAC)
            rk = slow * (fw * (tab[k, T_SEL, ti, mi, ci, spi] + xtab[k, X_SEL, ti, mi, ci, xi])
                         + ms * (tab[k, T_SEL_MEM, ti, mi, ci, spi] + xtab[k, X_SEL_MEM, ti, mi, ci, xi]))
        else:
            rk = 0.0
        f += n * fk
        b += n * bk
        r += (n if rc != 2 else (rd if k == K_DENSE else (rm if k == K_MOE else rx))) * rk
    if head > 0.0:
        f += fw * htab[H_FWD, ti, mi, ci, spi] + ms * htab[H_FWD_MEM, ti, mi, ci, spi]
        b += fw * htab[H_BWD, ti, mi, ci, spi] + ms * htab[H_BWD_MEM, ti, mi, ci, spi]
    if emb > 0.0:  # multimodal prologue (zero for a text model: adds exactly 0.0)
        f += fw * htab[H_PRO_FWD, ti, mi, ci, spi] + ms * htab[H_PRO_FWD_MEM, ti, mi, ci, spi]
        b += fw * htab[H_PRO_BWD, ti, mi, ci, spi] + ms * htab[H_PRO_BWD_MEM, ti, mi, ci, spi]
        if rc == 2:
            r += fw * htab[H_PRO_RC_FULL, ti, mi, ci, spi]
        elif rc == 1:
            r += fw * htab[H_PRO_RC_SEL, ti, mi, ci, spi]
    return f, b, r


@njit(cache=True)
def stage_wgrad(c, tab, htab, xtab, nd, nm, head, ti, mi, ci, spi, xi):
    """Weight-gradient (W) time of one micro-batch on a stage [s]: the part of
    :func:`stage_compute`'s backward that the zero-bubble schedules may defer (the ``*_wgrad``
    GEMMs, the routed experts' weight-gradient grouped GEMMs on the busiest rank and the main-grad
    accumulation ops), scaled as there (host-bound MoE slowdown included, its fixed host wait
    not). The multimodal prologue's backward and the MTP modules count as B (no W split of
    them: the bubble they leave is priced as 1F1B's, conservative)."""
    fw = c[C_FW_SCALE]
    ms = c[C_MEM_SCALE]
    w = 0.0
    for k in range(2):
        n = nd if k == K_DENSE else nm
        if n <= 0.0:
            continue
        wk = fw * (tab[k, T_BWD_W, ti, mi, ci, spi] + xtab[k, X_BWD_EXP_W, ti, mi, ci, xi]) \
            + ms * tab[k, T_BWD_W_MEM, ti, mi, ci, spi]
        if k == K_MOE:
            wk *= 1.0 + c[C_MOE_SLOW]
        w += n * wk
    if head > 0.0:
        w += fw * htab[H_BWD_W, ti, mi, ci, spi] + ms * htab[H_BWD_W_MEM, ti, mi, ci, spi]
    return w


@njit(cache=True)
def micro_batches_int(m):
    """The step's micro-batch count as an integer (m = global_batch/(dp·mbs), rounded; >= 1)."""
    k = int(m + 0.5)
    return k if k > 1 else 1


EXECUTED_SCHEDULES = (PP_SCHED_ZB_H1, PP_SCHED_ZBV, PP_SCHED_V_HALF, PP_SCHED_V_MIN)
"""The schedules whose bubble is the execution of the library's order (:func:`schedule_program`),
not a closed form: ZB-H1, ZBV, V-Half, V-Min."""


PP_SCHED_INTERLEAVED = 1
"""PP_SCHEDULES index of the interleaved 1F1B schedule. With pp > 1 and vp > 1 the step kernel
executes Megatron-Core's interleaved order per rank and per chunk when the call's schedule
constant is this one (il.estimate of an interleaved plan); the plan search's default block
(schedule constant 0: 1F1B / interleaved by vp) prices it by the closed form
(:func:`pipeline_bubble_stages`)."""


@njit(cache=True)
def executes_interleaved(sched, pp, vp):
    """True when the step kernel replays Megatron-Core's interleaved order for a plan (schedule
    constant :data:`PP_SCHED_INTERLEAVED`, pp > 1, vp > 1)."""
    return sched == PP_SCHED_INTERLEAVED and pp > 1 and vp > 1


PP_SCHED_1F1B = 0
"""PP_SCHEDULES index of the (non-interleaved) 1F1B schedule. With pp > 1 and vp = 1 the step
kernel executes Megatron-Core's 1F1B order per rank (:func:`infra_lab._kernels.pipeline_greedy.
interleaved_order` with one chunk) when the call's constant C_PP_EXEC is set (il.estimate of a
1F1B plan); the plan search (C_PP_EXEC 0, the same schedule constant) prices it by the closed
form (:func:`pipeline_bubble_stages`)."""


@njit(cache=True)
def executes_1f1b(sched, pp, vp, pexec):
    """True when the step kernel replays Megatron-Core's plain 1F1B order for a plan (schedule
    constant :data:`PP_SCHED_1F1B`, 1 < pp ≤ RANK_MASK_BITS, vp = 1, ``pexec`` (C_PP_EXEC) set).
    Beyond RANK_MASK_BITS ranks the layout's rank masks do not say which stage candidate a rank
    is (interleaved_rank_costs would price those ranks at the slowest's times, above the
    execution): such plans keep the closed form, an upper bound of the execution."""
    return sched == PP_SCHED_1F1B and 1 < pp <= RANK_MASK_BITS and vp == 1 and pexec > 0.5


@njit(cache=True)
def executes_megatron(c, pp, vp):
    """True when the step kernel replays one of Megatron-Core's 1F1B orders for a plan under
    the constants ``c``: the interleaved one (:func:`executes_interleaved`) or the plain one
    (:func:`executes_1f1b`); both built by
    :func:`infra_lab._kernels.pipeline_greedy.interleaved_order` (vp chunks per rank)."""
    sched = int(c[C_PP_SCHED])
    return executes_interleaved(sched, pp, vp) or executes_1f1b(sched, pp, vp, c[C_PP_EXEC])


@njit(cache=True)
def is_executed(sched):
    """True for a schedule of :data:`EXECUTED_SCHEDULES` (its order is replayed per rank)."""
    return sched == PP_SCHED_ZB_H1 or sched == PP_SCHED_ZBV or sched == PP_SCHED_V_HALF \
        or sched == PP_SCHED_V_MIN


@njit(cache=True)
def schedule_chunks(sched):
    """Chunks per rank of an executed schedule's order: 1 for ZB-H1, 2 (a V) for the others."""
    return 1 if sched == PP_SCHED_ZB_H1 else 2


@njit(cache=True)
def schedule_program(sched, pp, mk):
    """The eager execution's completion sequence
    (:func:`infra_lab._kernels.pipeline_greedy.pipeline_program`) of the order an executed
    schedule runs on ``pp`` ranks with ``mk`` micro-batches: ZB-H1 Primus ``ScheduleZeroBubble``
    (:func:`infra_lab._kernels.pipeline_greedy.zb_h1_order`), ZBV Primus
    ``ScheduleZBVFormatted`` (``zbv_order``), V-Half / V-Min the greedy V scheduler
    (``v_greedy_order``). It does not depend on the pass times: built once per (pp, mk) of a
    call (:func:`v_greedy_table`)."""
    if sched == PP_SCHED_ZB_H1:
        return pipeline_program(zb_h1_order(pp, mk), pp, mk, np.bool_(False))
    if sched == PP_SCHED_ZBV:
        return pipeline_program(zbv_order(pp, mk), pp, mk, np.bool_(True))
    return pipeline_program(v_greedy_order(pp, mk, sched == PP_SCHED_V_MIN), pp, mk, np.bool_(True))


@njit(cache=True)
def executed_stage_bubble(prog, pp, mk, nch, t, w, fwd):
    """Idle time of one step of an executed schedule, its order's eager execution ``prog``
    (:func:`schedule_program`, ``mk`` micro-batches, ``nch`` chunks per rank) [s] for a rank
    whose micro-batch takes ``t`` of which ``fwd`` is forward and ``w`` the weight-gradient pass
    W; each of its chunks takes 1/nch of each (F = fwd/nch, B = (t − fwd − w)/nch, W = w/nch).
    The send/receive time is priced apart (pp_p2p): 0 here. A stage time ``t`` of inf (a plan
    with an unreachable collective) gives inf, as 1F1B's (pp − 1)·t does, and nan gives nan:
    never the 0 that inf − inf = nan would read as. The pass times are
    :func:`executed_stage_costs`' (one owner of F, B, W)."""
    cost = np.empty(6 * pp)
    done, u = executed_stage_costs(pp, nch, t, w, fwd, cost, np.int64(1), np.int64(0))
    if done:
        return u
    v = v_greedy_replay(prog, pp, mk, cost[0], cost[1], cost[2], 0.0) - nch * mk * u
    return v if v > 0.0 else 0.0


@njit(cache=True)
def v_greedy_stage_bubble(prog, pp, mk, t, w, fwd):
    """Idle time of one step of a greedy V schedule (two chunks per rank):
    :func:`executed_stage_bubble` with ``nch`` = 2."""
    return executed_stage_bubble(prog, pp, mk, np.int64(2), t, w, fwd)


@njit(cache=True)
def pipeline_bubble(sched, pp, vp, t, w, fwd, m):
    """Pipeline bubble of one step [s] when every stage takes the same times: the idle time of
    a stage whose micro-batch takes ``t`` (forward, backward, recomputation and its exposed per-micro-batch collectives)
    of which ``w`` is the weight-gradient pass W (:func:`stage_wgrad`) and ``fwd`` the forward
    pass F (the forward compute and half the exposed per-micro-batch collectives: the forward
    and the backward issue the same TP / CP / EP collectives, Megatron's column/row-parallel
    pairs and the dispatch/combine all-to-alls; a recomputation's re-issued ones count as
    forward here too, an approximation); B = t − fwd − w; ``m`` micro-batches per step.

    * 1F1B / interleaved (sched 0, 1): (pp − 1)·t/vp (Narayanan et al. 2021,
      https://arxiv.org/abs/2104.04473). Megatron-Core's and Primus' tables for these are
      hand-written (Primus 78633ae ``basic_1f1b.py``, ``interleaved_1f1b.py``). The execution
      of Megatron-Core's interleaved order with equal chunks (:func:`interleaved_rank_bubble`)
      gives this value when the micro-batches are a multiple of pp (tests/test_interleaved_executed.py).
    * ZB-H1 (2; Primus' ``zero-bubble``): the execution of Primus' hand-written table (78633ae
      ``zerobubble.py``: rank r holds its W passes back r micro-batches;
      :func:`infra_lab._kernels.pipeline_greedy.zb_h1_order`) with this stage's F, B, W
      (:func:`executed_stage_bubble`, one chunk). At m ≥ pp and W ≤ min(F, B) it equals the
      closed form (pp − 1)·(F + B − W) = (pp − 1)·(t − 2w) of Qi et al., "Zero Bubble Pipeline
      Parallelism", ICLR 2024, §2.1, https://arxiv.org/abs/2401.10241 (the W passes delayed by
      the warm-up fill the cool-down; W = 0 gives 1F1B's); with a longer W it idles more (F, B,
      W = 2, 1, 1.5: (pp − 1)·2, not the form's (pp − 1)·1.5); at m < pp the table differs
      (every rank but the last runs all its forwards first) and so does the execution.
    * ZBV (3; ``zbv-formatted``, 2 chunks per rank in a V): the execution of Primus'
      hand-written table (78633ae ``zbv_formatted.py``,
      :func:`infra_lab._kernels.pipeline_greedy.zbv_order`; PyTorch's ``ScheduleZBVZeroBubble``,
      which torchtitan runs, builds the same table), each chunk at half of F, B, W.
      NOT the zero-bubble form (pp − 1)·max(0, F + B − 2W) (ZB-H2's, §2.2, which ZB-V reaches at
      T_F = T_B = T_W in the paper's schedule, §6): the table executed eagerly idles
      (pp − 1)·F/2 at F = B = W (one chunk's forward per other rank: the ramp before the last
      rank's first pass, which the paper's zero leaves to the optimizer step's post-validation;
      measured on the execution, pp 2–8, m 2pp–4pp), more than the form when W is large and less
      when W is small.
    * V-Half (4), V-Min (5): NO closed form. The libraries build these schedules with a greedy
      scheduler (Primus ``ScheduleZBVGreedy``, 78633ae ``zbv_greedy.py``, a port of
      sail-sg/zero-bubble-pipeline-parallelism 39f2c186 ``zbv_greedy.py``; Qi et al.,
      "Pipeline Parallelism with Controllable Memory", NeurIPS 2024,
      https://arxiv.org/abs/2405.15362): :mod:`infra_lab._kernels.pipeline_greedy` builds the
      same order and :func:`v_greedy_stage_bubble` executes it with this stage's F, B, W (the
      step kernel builds each (pp, micro-batches) order once per call, :func:`v_greedy_table`). At
      T_F = T_B = T_W it idles 0.28–0.47 (V-Half) and 0.57–0.64 (V-Min) of 1F1B's (pp − 1)·t
      for pp = 4–8 (pp 4: 0.28 / 0.61, 5: 0.46 / 0.58, 6: 0.37 / 0.57, 7: 0.47 / 0.64, 8: 0.40 /
      0.62, the same at m = 8–64; the paper's 1/2 and 2/3 "+ O(n)"), more when F, B and W differ.

    The step kernel prices each rank at its own times (:func:`pipeline_bubble_stages`,
    :func:`executed_rank_bubble`), which give this function's value when the ranks are equal.

    APPROXIMATIONS: the executed schedules run eagerly (a pass starts when its rank is free and
    its input is there; Primus posts each receive in its table at the producer's slot + 1); the
    pipeline send/receive time is priced apart (pp_p2p) and does not stretch the bubble; the
    optimizer step's synchronisation (the paper's post-validation) is not modelled. This
    function's single stage runs each chunk of a V at half its F, B, W; the step kernel prices
    each chunk of each rank at its own times (:func:`executed_rank_bubble`: in a V, rank 0's
    first chunk holds the embedding and its second the output layer, and a rank's two chunks may
    hold different layers)."""
    # inf (unreachable collective) or nan: so is the bubble, for every schedule (t − 2w would be
    # inf − inf = nan, read as 0): closed_form_bubble returns t then
    if pp > 1 and t < np.inf and is_executed(sched):
        mk = micro_batches_int(m)
        return executed_stage_bubble(schedule_program(sched, pp, mk), pp, mk, schedule_chunks(sched), t, w, fwd)
    return closed_form_bubble(pp, vp, t)


@njit(cache=True)
def closed_form_bubble(pp, vp, t):
    """The 1F1B / interleaved part of :func:`pipeline_bubble` [s]: (pp − 1)·t/vp for a stage
    whose micro-batch takes ``t`` (0 at pp ≤ 1; inf or nan ``t`` gives ``t``). Apart so that the
    step kernel's closed-form path (:func:`eval_head` without an executed schedule) does not
    reach, and so compile, the executed schedules' order builders."""
    if pp <= 1:
        return 0.0
    if not t < np.inf:
        return t
    v = (pp - 1.0) / vp * t
    return v if v > 0.0 else 0.0


# inlined into eval_head: called once per head, a plain call passing four arrays cost the 175B
# search space's kernel about 40 % of its plans/s (benchmarks/bench_search.py)
@njit(cache=True, inline="always")
def pipeline_bubble_stages(sched, pp, vp, t, w, fwd, n, nc, s, m):
    """Pipeline bubble of one step [s] with each pipeline rank priced at its own times: the
    stage candidates k < ``nc`` (distinct rank shapes) take ``t[k]`` per micro-batch, of which
    ``w[k]`` is W and ``fwd[k]`` F (as :func:`pipeline_bubble`), ``n[k]`` ranks have shape k,
    ``s`` is the slowest candidate (the step's m·t[s] is priced apart); ranks of no candidate
    (more than MAXC shapes) are priced at the slowest's times. Equal ranks give
    :func:`pipeline_bubble`'s value bit for bit.

    Derivation (1F1B, rank i taking T_i = F_i + B_i per micro-batch): the first micro-batch's
    forward and the last one's backward cross every rank at that rank's own pace, and the m
    micro-batches follow one another through the slowest rank, so the step takes
    Σ_i T_i + (m − 1)·max_i T_i (the synchronous-pipeline latency of Alpa, Zheng et al., OSDI
    2022, §5.1 eq. 2, https://arxiv.org/abs/2201.12023; at equal T_i Narayanan et al. 2021's
    (pp − 1)·T bubble). The bubble is that less m·T_s: Σ_{i≠s} T_i = (pp − 1)·T_s − Σ_i (T_s −
    T_i), computed in that form so that equal ranks leave exactly (pp − 1)·T_s. With a fill and
    drain cost u_i per rank that is not T_i (the forms below) the step is taken as
    max_j (m·T_j − u_j) + Σ_i u_i (the rank j whose m micro-batches plus the others' fill and
    drain take longest: the form above when u = T, and never shorter when any rank slows),
    the bubble that less m·T_s. A pass-by-pass
    execution of Megatron's 1F1B order (tests/test_pp_schedules.py) gives the same makespan
    when the slowest rank is the last (1F1B's output-layer rank) or every rank is equal; when
    an earlier rank is the slowest, its warm-up forwards overlap part of the later ranks'
    round trip and the form is an upper bound of the execution (tested). Megatron's interleaved
    order (vp 2) behaves the same when each rank's chunks are equal, and matches exactly when
    only the last rank's last chunk (the output layer's) is heavier; a heavier chunk on rank 0 as
    well (the embedding's) makes the execution longer than the form (1.4–3.3 % of the step at
    1.2× and 1.3–2×).

    * 1F1B / interleaved (sched 0, 1): Σ_{i≠s} T_i / vp: with vp chunks each rank's chunk
      takes T_i/vp (its chunks taken as equal: the embedding's or the output layer's chunk is
      not priced apart, nor a chunk with one layer more than its rank's others). ``w`` and
      ``fwd`` are not read. 1F1B (one chunk per rank) keeps this form in the plan search, where
      it ranks the plans: exact when the last rank, the output layer's, is the slowest or all
      are equal, an upper bound otherwise (tests/test_pp_schedules.py). il.estimate of a 1F1B
      plan (C_PP_EXEC set, :func:`executes_1f1b`) executes Megatron-Core's plain 1F1B order
      with each rank's own F and B instead (:func:`interleaved_rank_bubble` with vp = 1), so a
      search row of a 1F1B plan with pp > 1 lies at or above il.estimate of that plan: equal
      where the last rank paces (every 1F1B row sampled from llama3-8b's and
      benchmarks/bench_search.py's spaces), below by the overlap of an earlier slowest rank's
      warm-up (Llama 3.1 405B on pp 8, 16-layer middle ranks: 0.2–0.4 % of the step;
      docs/validation-history.md, "1F1B executed per rank"). The interleaved schedule keeps it in the plan search (its
      default block, schedule constant 0), where it ranks the plans; il.estimate of an
      interleaved plan (schedule constant 1, :func:`executes_interleaved`) executes
      Megatron-Core's interleaved order per rank and per chunk instead
      (:func:`interleaved_rank_bubble`; the step kernel's replay of
      :func:`infra_lab._kernels.pipeline_greedy.interleaved_program`), so a search row of an
      interleaved plan and il.estimate of that plan differ where a rank's chunks differ (the
      form falls below the execution with a heavier embedding chunk on rank 0 besides the
      output layer's, 1.4–3.3 % of the step, and lies above it where an earlier rank is the
      slowest: −0.6 … +6.8 % of the step on llama3-8b's space in
      tests/test_interleaved_executed.py, up to +10.5 % on DeepSeek-V3's where chunks of one and
      two layers alternate, and far more with fewer micro-batches than pp, which Megatron
      refuses; docs/validation-history.md, "interleaved executed per chunk").
    * ZB-H1, ZBV, V-Half, V-Min (sched 2–5): nan. Their bubble is the execution of the
      library's order with per-rank arrays (:func:`executed_rank_bubble`): the closed forms
      this function used to give ZB-H1 (Σ_{i≠s} max(0, T_i − 2·W_i)) and ZBV
      (Σ_{i≠s} max(0, T_i − 3·W_i)) were not the executions of Primus' tables (ZB-H1's
      overpriced a slow last rank; ZBV's was off at equal ranks too; docs/validation-history.md, "ZB-H1 and ZBV executed per rank").

    inf (an unreachable collective) or nan in the slowest time gives that value; nan on any
    other rank gives nan."""
    if pp <= 1:
        return 0.0
    if sched != 0 and sched != 1:
        return np.nan
    ts = t[s]
    if not ts < np.inf:
        return ts
    cdiv = vp * 1.0
    # d: Σ over the ranks of (T_s − T_i); j: the rank whose m·T_j − T_j/vp is largest (s unless
    # another is strictly larger: at equal ranks every extra term below is exactly 0)
    d = 0.0
    j_gain = 0.0
    for k in range(nc):
        if k == s:
            continue
        uk = t[k]
        d += n[k] * (ts - uk)
        g = m * (t[k] - ts) + (ts - uk) / cdiv
        if g > j_gain:
            j_gain = g
    v = (pp - 1.0) / vp * ts - d / vp
    v += j_gain
    return v if (v > 0.0 or v != v) else 0.0   # a nan rank time carries (max(0, nan) would read 0)


@njit(cache=True)
def executed_rank_bubble(prog, pp, mk, nch, t, w, fwd, t0, w0, fwd0, mask, nc, s, fr, br, wr):
    """Idle time of one step of an executed schedule (``prog``, :func:`schedule_program`, ``nch``
    chunks per rank) with each rank, and in a V each chunk of a rank, at its own times [s]:
    candidate k's ranks (the bits of ``mask[k]``, ranks < RANK_MASK_BITS) take ``t[k]`` per
    micro-batch of which ``fwd[k]`` is F and ``w[k]`` W (B the rest), every other rank the
    slowest candidate ``s``'s; with two chunks (a V) the rank's first chunk takes ``t0[k]``,
    ``fwd0[k]``, ``w0[k]`` of those and its second the rest (:func:`executed_rank_costs`; one
    chunk: ``t0``, ``fwd0``, ``w0`` not read); the makespan less mk times the slowest's work
    (whose mk micro-batches are priced apart). ``fr``, ``br``, ``wr``: work arrays of 2·pp.
    Equal ranks with t0 = t/2, fwd0 = fwd/2, w0 = w/2 give :func:`executed_stage_bubble`'s value
    bit for bit. A nan time on any rank gives nan; inf on the slowest, inf."""
    cost = np.empty(6 * pp)
    done, u = executed_rank_costs(pp, nch, t, w, fwd, t0, w0, fwd0, mask, nc, s, cost, np.int64(1), np.int64(0))
    if done:
        return u
    for j in range(2 * pp):
        fr[j] = cost[3 * j]
        br[j] = cost[3 * j + 1]
        wr[j] = cost[3 * j + 2]
    v = v_greedy_replay_chunks(prog, pp, mk, fr, br, wr, 0.0) - nch * mk * u
    return v if v > 0.0 else 0.0


@njit(cache=True, inline="always")
def _pass_times(nch, t, w, fwd, t0, w0, fwd0):
    """(F, B, W) of a rank's first chunk and (F, B, W) of its second [s] from its micro-batch
    time ``t``, W ``w`` and F ``fwd`` and its first chunk's ``t0``, ``w0``, ``fwd0`` (two
    chunks: the second takes the rest); one chunk: the rank's (the second's then unused). B is
    the time less F and W, at least 0."""
    if nch == 1:
        b = t - fwd - w
        if b < 0.0:
            b = 0.0
        return fwd, b, w, fwd, b, w
    b0 = t0 - fwd0 - w0
    if b0 < 0.0:
        b0 = 0.0
    f1 = fwd - fwd0
    w1 = w - w0
    b1 = (t - t0) - f1 - w1
    if b1 < 0.0:
        b1 = 0.0
    return fwd0, b0, w0, f1, b1, w1


@njit(cache=True, inline="always")
def _put_rank_costs(cost, i, stride, fa, ba, wa, fb, bb, wb):
    """One rank's six pass times in :func:`executed_rank_costs`' layout: its first chunk's F, B, W
    and its second's at ``cost[i]``, ``cost[i + stride]`` … ``cost[i + 5·stride]``."""
    cost[i] = fa
    cost[i + stride] = ba
    cost[i + 2 * stride] = wa
    cost[i + 3 * stride] = fb
    cost[i + 4 * stride] = bb
    cost[i + 5 * stride] = wb


@njit(cache=True)
def executed_rank_costs(pp, nch, t, w, fwd, t0, w0, fwd0, mask, nc, s, cost, stride, col):
    """The per-chunk pass times of an executed schedule (:func:`executed_rank_bubble` reads them
    from here), written for a compact replay: rank r's pass of kind j on its chunk ch at
    ``cost[stride·(3·(2·r + ch) + j) + col]`` (stride 1, col 0:
    :func:`infra_lab._kernels.pipeline_greedy.replay_compact`; stride 3, col the recompute mode:
    ``replay_compact3``), from :func:`_pass_times` of each candidate's ``t``, ``w``, ``fwd``
    and, with two chunks, its first chunk's ``t0``, ``w0``, ``fwd0``. Returns (False, u) when the
    bubble is the replay's makespan less nch·mk·u, u the slowest's work per chunk (F + B + W,
    the mean of its chunks' with two), (True, the bubble) when it is known without a replay
    (inf on the slowest, nan on any rank; ``cost`` then not written)."""
    ts = t[s]
    if not ts < np.inf:
        return True, ts
    for k in range(nc):          # a nan time on any rank carries: the replay's max would skip it
        if t[k] != t[k] or w[k] != w[k] or fwd[k] != fwd[k]:
            return True, np.nan
        if nch == 2 and (t0[k] != t0[k] or w0[k] != w0[k] or fwd0[k] != fwd0[k]):
            return True, np.nan
    fa, ba, wa, fb, bb, wb = _pass_times(nch, ts, w[s], fwd[s], t0[s], w0[s], fwd0[s])
    for r in range(pp):
        _put_rank_costs(cost, stride * 6 * r + col, stride, fa, ba, wa, fb, bb, wb)
    u = fa + ba + wa if nch == 1 else 0.5 * ((fa + ba + wa) + (fb + bb + wb))
    top = pp if pp < RANK_MASK_BITS else RANK_MASK_BITS
    for k in range(nc):
        if k == s:
            continue
        bits = np.int64(mask[k])
        fa, ba, wa, fb, bb, wb = _pass_times(nch, t[k], w[k], fwd[k], t0[k], w0[k], fwd0[k])
        for r in range(top):
            if (bits >> r) & 1:
                _put_rank_costs(cost, stride * 6 * r + col, stride, fa, ba, wa, fb, bb, wb)
    return False, u


@njit(cache=True)
def executed_rank_bubble_compact(cprog, pp, mk, nch, t, w, fwd, t0, w0, fwd0, mask, nc, s, cost, end):
    """:func:`executed_rank_bubble` of the program in its compact form (``cprog``,
    :func:`infra_lab._kernels.pipeline_greedy.compact_program` of :func:`schedule_program`;
    :func:`executed_table`): the same per-chunk F, B, W, computed by the same expressions
    (:func:`executed_rank_costs`), replayed by
    :func:`infra_lab._kernels.pipeline_greedy.replay_compact` (the same comparisons and sums in
    the same order), so the two agree bit for bit (tests/test_executed_replay_fast.py).
    ``cost``: a work array of 6·pp, ``end`` one of at least len(cprog) − pp. The step kernel
    replays its three recompute modes at once (``replay_compact3``, the same values)."""
    done, u = executed_rank_costs(pp, nch, t, w, fwd, t0, w0, fwd0, mask, nc, s, cost, np.int64(1), np.int64(0))
    if done:
        return u
    v = replay_compact(cprog, pp, cost, end) - nch * mk * u
    return v if v > 0.0 else 0.0


@njit(cache=True)
def interleaved_rank_costs(pp, vp, t, fwd, ct, cf, mask, cmap, nc, s, cost, stride, col):
    """The per-chunk pass times of Megatron-Core's interleaved order executed per rank and per
    chunk (:func:`interleaved_rank_bubble`; the step kernel under :func:`executes_interleaved`),
    written for a compact replay of :func:`infra_lab._kernels.pipeline_greedy.interleaved_program`:
    rank r's chunk c's forward at ``cost[stride·(3·(vp·r + c)) + col]`` and its backward at
    ``cost[stride·(3·(vp·r + c) + 1) + col]`` (no separate W).

    Candidate k's ranks (the bits of ``mask[k]``, ranks < RANK_MASK_BITS; every other rank the
    slowest candidate ``s``'s) take ``t[k]`` per micro-batch of which ``fwd[k]`` is forward (as
    :func:`pipeline_bubble`); its c-th chunk is of class (``cmap[k]`` >> 3c) & 7, and chunk
    class q, priced alone by the same expressions on its own layers, takes ``ct[q]`` of which
    ``cf[q]`` forward. A rank's forward F = fwd[k] is split over its chunks in proportion to
    their classes' forwards, its backward t[k] − fwd[k] in proportion to their classes'
    ct − cf (so a rank's chunks sum to the rank's time and equal chunks take 1/vp each; a
    class priced alone is not the rank's exact share where the step's expressions are not
    additive in layers, e.g. the activation offload's exposed copy). With ``vp`` = 1 (Megatron's
    plain 1F1B order, :func:`executes_1f1b`) each rank's F is fwd[k] and its B t[k] − fwd[k]
    (``ct``, ``cf``, ``cmap`` not read). Returns (False, t[s]): the
    bubble is the replay's makespan less mk·t[s]; (True, the bubble) when known without a
    replay (inf on the slowest, nan on any rank; ``cost`` then not written)."""
    ts = t[s]
    if not ts < np.inf:
        return True, ts
    for k in range(nc):
        if t[k] != t[k] or fwd[k] != fwd[k]:
            return True, np.nan
    top = pp if pp < RANK_MASK_BITS else RANK_MASK_BITS
    for r in range(pp):
        k = s
        if r < top:
            for kk in range(nc):
                if (np.int64(mask[kk]) >> r) & 1:
                    k = kk
                    break
        fr = fwd[k]
        br = t[k] - fwd[k]
        if br < 0.0:
            br = 0.0
        if vp == 1:   # plain 1F1B: the rank's own F and B, no chunk classes read
            i = stride * 3 * r + col
            cost[i] = fr
            cost[i + stride] = br
            cost[i + 2 * stride] = 0.0
            continue
        code = np.int64(cmap[k])
        sf = 0.0
        sb = 0.0
        for ch in range(vp):
            q = (code >> (3 * ch)) & 7
            sf += cf[q]
            sb += ct[q] - cf[q]
        for ch in range(vp):
            q = (code >> (3 * ch)) & 7
            fq = fr * (cf[q] / sf) if sf > 0.0 else fr / vp
            bq = br * ((ct[q] - cf[q]) / sb) if sb > 0.0 else br / vp
            i = stride * 3 * (vp * r + ch) + col
            cost[i] = fq
            cost[i + stride] = bq if bq > 0.0 else 0.0
            cost[i + 2 * stride] = 0.0
    return False, ts


@njit(cache=True)
def interleaved_rank_bubble(cprog, pp, vp, mk, m, t, fwd, ct, cf, mask, cmap, n, nc, s):
    """Idle time of one step of Megatron-Core's interleaved order executed per rank and per
    chunk [s]: the replay (:func:`infra_lab._kernels.pipeline_greedy.replay_compact`) of its
    program ``cprog`` (:func:`infra_lab._kernels.pipeline_greedy.interleaved_program`, ``mk``
    micro-batches) with :func:`interleaved_rank_costs`' pass times, less mk·t[s] (the slowest
    rank's micro-batches, priced apart). Where the order deadlocks (Megatron refuses those
    micro-batch counts: a last group of 1 … pp − 1) the closed form
    (:func:`pipeline_bubble_stages`, ``n``: ranks per candidate, ``m`` the micro-batches)."""
    if cprog[cprog.shape[0] - pp, 1] != 0:
        return pipeline_bubble_stages(PP_SCHED_INTERLEAVED, pp, vp, t, t, fwd, n, nc, s, m)
    cost = np.zeros(3 * vp * pp)
    done, u = interleaved_rank_costs(pp, vp, t, fwd, ct, cf, mask, cmap, nc, s, cost, np.int64(1), np.int64(0))
    if done:
        return u
    v = replay_compact(cprog, pp, cost, np.empty(cprog.shape[0] - pp)) - mk * u
    return v if v > 0.0 else 0.0


@njit(cache=True)
def executed_stage_costs(pp, nch, t, w, fwd, cost, stride, col):
    """The pass times of an executed schedule with every rank the same and each chunk at 1/nch
    of its F, B, W (:func:`executed_stage_bubble` reads them from here), written as
    :func:`executed_rank_costs` writes them (both chunks), with its return values."""
    if not t < np.inf:
        return True, t
    q = 1.0 / nch
    f = q * fwd
    b = q * (t - fwd - w)
    if b < 0.0:
        b = 0.0
    wq = q * w
    for j in range(2 * pp):
        cost[stride * (3 * j) + col] = f
        cost[stride * (3 * j + 1) + col] = b
        cost[stride * (3 * j + 2) + col] = wq
    return False, f + b + wq


@njit(cache=True)
def executed_stage_bubble_compact(cprog, pp, mk, nch, t, w, fwd, cost, end):
    """:func:`executed_stage_bubble` of the program in its compact form (``cprog``,
    :func:`executed_table`): the same arithmetic, every rank at the same times (bit for bit).
    ``cost``, ``end``: work arrays as :func:`executed_rank_bubble_compact`'s."""
    done, u = executed_stage_costs(pp, nch, t, w, fwd, cost, np.int64(1), np.int64(0))
    if done:
        return u
    v = replay_compact(cprog, pp, cost, end) - nch * mk * u
    return v if v > 0.0 else 0.0


@njit(cache=True)
def v_greedy_rank_bubble(prog, pp, mk, t, w, fwd, t0, w0, fwd0, mask, nc, s, fr, br, wr):
    """Idle time of one step of a greedy V schedule (two chunks per rank) with each chunk of
    each rank at its own times [s]: :func:`executed_rank_bubble` with ``nch`` = 2."""
    return executed_rank_bubble(prog, pp, mk, np.int64(2), t, w, fwd, t0, w0, fwd0, mask, nc, s, fr, br, wr)


# ---------------------------------------------------------------------------------------
# schedule part
# ---------------------------------------------------------------------------------------
@njit(cache=True)
def exposed(cost, ovl, window):
    """Communication left on the critical path: cost − ovl·min(cost, window) [s]."""
    return cost - ovl * (cost if cost < window else window)


COMPILED_CP_RING_OVERLAP = 0.0
"""Share of the all-gather rotation's collectives hidden when torch.compile traces PyTorch's
``context_parallel`` (``parallelism.cp_rotate = "allgather"`` without ``training.eager``): it
replaces the stack's ``cp_comm_overlap`` for such a run (:func:`cp_exposed`). Under tracing a
functional collective returns an already-waited tensor — ``_maybe_wrap_tensor`` in
torch/distributed/_functional_collectives.py calls ``wait_tensor`` at once when
``_are_we_tracing()``, instead of the ``AsyncCollectiveTensor`` that eager mode waits at first
use, and ``_attention.py``'s ``_maybe_wait`` says as much ("When tracing the code, the result
tensor is not an AsyncCollectiveTensor"), torch 1963fc8,
https://github.com/pytorch/pytorch/blob/1963fc83a1c32e162162e2414f78b043f0674bae/torch/distributed/_functional_collectives.py
— so the traced graph waits for the K/V all-gather before the first ring step's attention and
for every dK/dV hand-off before the next step's. Inductor moves a wait past independent compute
only with ``torch._inductor.config.reorder_for_compute_comm_overlap``, False by default
(torch/_inductor/config.py), which torchtitan 9dec370 leaves unset. Nothing is hidden: 0."""


@njit(cache=True)
def cp_exposed(cp, step, allgather, ovl, attn, attn_fwd, full_recompute, ag):
    """Exposed context-parallel communication of one layer and micro-batch [s].

    ``attn`` / ``attn_fwd``: the layer's attention time, forward + backward / forward (all cp
    ring steps, framework-scaled) [s]; ``step``: one ring step's transfer (Q_CP) [s]; ``ag``:
    the all-gather of K and V (Q_CP_AG) [s].

    * P2P ring (``allgather`` = 0; Megatron-Core / Transformer Engine): CP_PASSES·(cp − 1)
      K/V (and dK/dV) steps, one more forward pass under full recomputation, hidden at ``ovl``
      behind the whole attention time.
    * All-gather rotation (``allgather`` = 1; PyTorch's experimental ``context_parallel``
      with rotate method "allgather", torch/distributed/tensor/experimental/_attention.py,
      _AllGatherRotater and _templated_ring_attention[_backward]; introduced to "overlap the
      communication with the first sharded kv computation",
      https://github.com/pytorch/pytorch/pull/132820): each pass all-gathers K and V once, at
      its first ring step, and waits for it at the second, so it hides only behind the first
      step's attention (attention / cp); this happens in the forward, again in
      the recomputed forward, and in the backward. The backward passes the dK/dV accumulated
      so far (fp32) to the next rank after every one of its cp steps, each waited after the
      next step's attention; the last is waited at once (exposed). That is eager mode's timing
      (``AsyncCollectiveTensor``); a run compiled with torch.compile waits every one of these
      collectives where it is issued, so its context passes ``ovl`` =
      :data:`COMPILED_CP_RING_OVERLAP` (0: all of them exposed).

    * Exposed all-gather (``allgather`` = 2; Llama 3's CP, Llama 3 paper §3.3.2,
      https://arxiv.org/abs/2407.21783: "we first all-gather the key (K) and value (V)
      tensors, and then compute attention output for the local query (Q) tensor chunk",
      "the all-gather communication latency is exposed in the critical path"): one all-gather
      of K/V (``ag``) per pass, nothing hidden, in the forward, the recomputed forward and the
      backward, and in the backward one reduce-scatter of dK/dV (``step``), also exposed. The
      backward's second all-gather and the reduce-scatter's precision (that of K/V) are read
      from Transformer Engine's implementation that cites the paper
      (``AttnFuncWithCPAndKVAllGather``, cp_comm_type "all_gather"); the paper does not say.
      ``ovl`` is not applied. The attention itself is one call per pass over the gathered K/V
      with the same FLOPs as the load-balanced ring (the table's attention time).

    Approximate: the cp ring steps are taken as equal (the load-balanced shards make each
    rank's steps equal work), and collectives on the same communicator run one at a time."""
    if cp <= 1:
        return 0.0
    if allgather > 1.5:
        return (3.0 if full_recompute else 2.0) * ag + step
    if allgather < 0.5:
        n = CP_PASSES * (cp - 1.0) + ((cp - 1.0) if full_recompute else 0.0)
        return exposed(n * step, ovl, attn)
    w_f = attn_fwd / cp
    w_b = (attn - attn_fwd) / cp
    n_f = 2.0 if full_recompute else 1.0
    return (n_f * exposed(ag, ovl, w_f) + exposed(ag, ovl, w_b)
            + (cp - 1.0) * exposed(step, ovl, w_b) + step)


@njit(cache=True)
def sp_regather_exposed(cost, regather, rc, tp_ovl, window, rg_ovl):
    """Exposed time of one layer's sequence-parallel input all-gathers in backward [s]
    (``cost``: SP_BACKWARD_GATHERS_* all-gathers of the layer's tokens x hidden, 0 without SP;
    their raw time).

    * A stack that keeps only the 1/tp shard (``regather`` = 1: Megatron-LM / Megatron-Core,
      Transformer Engine) issues each gather asynchronously before the dgrad GEMM of the linear
      it feeds and waits for it after that GEMM, by design ("To eliminate the latency introduced
      by this extra all-gather, we overlap this communication with the computation required to
      calculate gradients with respect to Y", Korthikanti et al. 2022 §4.2.2; ``async_op=True``
      then ``grad_output.matmul(weight)`` then ``handle.wait()`` in Megatron's layers.py, the same
      order in Transformer Engine's LayerNormLinear / LayerNormMLP): ``rg_ovl`` of it (C_SP_RG_OVL,
      :data:`SP_REGATHER_OVERLAP` = 1) is hidden up to the dgrad GEMMs' time (``window``), the
      rest exposed. APPROXIMATION: the gather's use of SMs and HBM beside the
      GEMM is not priced.
    * A stack that keeps the gathered input (``regather`` = 0, PyTorch DTensor) gathers again only
      when per-op SAC (rc = 1) recomputes the forward's all-gathers, which sit on the recomputed
      forward's path like the other TP collectives (``tp_ovl`` hidden); otherwise 0."""
    if cost <= 0.0:
        return 0.0
    if regather > 0.5:
        return exposed(cost, rg_ovl, window)
    if rc == 1:
        return cost * (1.0 - tp_ovl)
    return 0.0


@njit(cache=True)
def cp_merge_time(cp, allgather, tok, hq, hkv, tp, ab, s_per_b, t_kernel):
    """Memory-bound element-wise work of PyTorch ``context_parallel``'s ring (all-gather
    rotation, ``allgather`` = 1) of one layer and micro-batch, before memory_time_scale:
    (forward pass [s], backward pass [s]). 0 for cp ≤ 1 and for the other rotations.

    torch/distributed/tensor/experimental/_attention.py (Dec 2024, convert_to_f32 on):
    ``_SDPAMerger`` merges each ring step's partial output into an fp32 accumulator
    (out − sigmoid(lse_blk − lse)·(out − block_out), lse − logsigmoid(lse − lse_blk)), and
    ``_templated_ring_attention_backward`` adds each step's dQ into an fp32 accumulator and
    each step's dK, dV into the fp32 dK/dV received from the previous rank, concatenated
    into the buffer handed to the next. torchtitan compiles each TransformerBlock
    (torch.compile(fullgraph=True)) and the ring runs inside that graph (the DTensor
    dispatch of SDPA is traced), so each step's element-wise ops are one fused kernel that
    reads and writes each distinct tensor once; the attention kernels between steps keep
    them apart. Per local query element (``tok``·``hq``/``tp`` of them; K/V: ``hkv``),
    with ``ab``-byte activations and fp32 accumulators:

    * forward: cp − 1 merges of (read fp32 accumulator + read the block output + write
      fp32) = 8 + ab bytes, less 4 − ab at the first (it reads step 0's 16-bit output, its
      cast fused in) and at the last (writes the 16-bit result): one kernel each.
    * backward: dQ: ab + 4 at step 0, 8 + ab at each later step, the last writing 16 bit;
      dK and dV each: ab + 4 at step 0, 8 + ab at each later step (received fp32 + the
      step's 16-bit gradient → fp32 buffer sent on), and 4 + ab for the final cast of the
      last received buffer: 2 kernels per step and one more.

    The log-sum-exp terms (1/head_dim of these) are left out. Approximate: the load-balanced
    steps that touch half the queries or keys (``_partial_update``) are counted as whole
    (the untouched half is copied at 8 bytes against 8 + ab), and Inductor is taken to keep
    each step's accumulator in HBM (it cannot fuse across the attention kernels)."""
    if cp <= 1 or allgather < 0.5 or allgather > 1.5:
        return 0.0, 0.0
    nq = tok * hq / tp
    nkv = tok * hkv / tp
    f32 = FP32_BYTES
    lo = 2.0 * f32 + ab                # read fp32 + read 16-bit + write fp32
    fwd = nq * ((cp - 1.0) * lo - 2.0 * (f32 - ab))
    bwd = nq * ((ab + f32) + (cp - 1.0) * lo - (f32 - ab)) \
        + 2.0 * nkv * ((ab + f32) + (cp - 1.0) * lo + (f32 + ab))
    return (fwd * s_per_b + (cp - 1.0) * t_kernel,
            bwd * s_per_b + (2.0 * cp + 1.0) * t_kernel)


@njit(cache=True)
def grad_buckets_exposed(nb, c_body, c_tail, tail_frac, window, ovl):
    """Exposed time of bucketed gradient collectives issued along a backward pass of
    ``window`` seconds: nb body buckets of c_body each, ready uniformly over the first
    (1 − tail_frac) of the backward, then the tail bucket (embedding) ready at its end.
    Collectives run one after another on the NIC. With perfect overlap the exposed part is
    E1 = end of the last collective − end of backward (≥ the tail bucket); ``ovl`` is the
    achieved overlap of the rest: exposed = E1 + (1 − ovl)·(C − E1), C the raw total [s]."""
    total = nb * c_body + c_tail
    if total <= 0.0:
        return 0.0, 0.0
    end = 0.0
    if nb > 0.0:
        span = window * (1.0 - tail_frac)
        first = span / nb + nb * c_body
        last = span + c_body
        end = first if first > last else last
    if end < window:
        end = window
    end += c_tail
    e1 = end - window
    return e1 + (1.0 - ovl) * (total - e1), total


@njit(cache=True)
def param_gather_exposed(nb, c_body, c_tail, tail_frac, window, ovl):
    """Exposed time of bucketed parameter all-gathers ahead of a forward pass of ``window``
    seconds: the bucket with the embedding (tail) is needed at once, body bucket i at
    window·(tail_frac + (1 − tail_frac)·i/nb); gathers run back to back from the start.
    E1 = the forward's longest wait; exposed = E1 + (1 − ovl)·(C − E1) [s]."""
    total = nb * c_body + c_tail
    if total <= 0.0:
        return 0.0, 0.0
    e1 = c_tail
    if nb > 0.0:
        w0 = c_tail + c_body - window * tail_frac
        w1 = c_tail + nb * c_body - window * (tail_frac + (1.0 - tail_frac) * (nb - 1.0) / nb)
        if w0 > e1:
            e1 = w0
        if w1 > e1:
            e1 = w1
    return e1 + (1.0 - ovl) * (total - e1), total


@njit(cache=True)
def one_f_one_b_p2p(q, nbc, pp, m):
    """Pipeline send/receive time on the step's critical path under the plain 1F1B schedule
    [s] and its share over the NICs [-], from each stage boundary's transfer time (``q[N_COMM +
    b]``, boundary b between ranks b and b + 1, b < pp − 1) and whether it crosses scale-up
    domains (``q[N_COMM + nbc + b]`` 1.0 or 0.0: :func:`pairs_cross`); ``m`` micro-batches.

    What the code does (NVIDIA/Megatron-LM d98e8a6, megatron/core/pipeline_parallel/
    schedules.py ``forward_backward_pipelining_without_interleaving`` and p2p_communication.py):
    rank r runs min(pp − r − 1, m) warm-up forwards, each between a blocking ``recv_forward``
    and ``send_forward``; then R_r = m − min(pp − r − 1, m) steady iterations of forward,
    ``send_forward_recv_backward`` (ONE batched call, ``batch_p2p_comm`` and ``batch_p2p_sync``
    on: the activation to rank r + 1 and the gradient from it, both directions of one link at
    once, waited before the backward), backward, ``send_backward_recv_forward`` (the same with
    rank r − 1; the last iteration a plain ``send_backward``); then the cool-down backwards
    between ``recv_backward`` and ``send_backward``. The first and last ranks skip the calls
    to the missing neighbour, so an edge rank exchanges once per micro-batch, not twice, and
    at pp = 2 both ranks meet in one exchange per micro-batch. ``overlap_p2p_comm`` is refused
    without interleaving (schedules.py raises; megatron/training/arguments.py sets it False),
    so nothing here is hidden: no overlap factor. PyTorch's ``Schedule1F1B`` (torchtitan)
    fuses the same pairs (``fwd_send_bwd_recv``, ``bwd_send_fwd_recv``) and waits on each.

    Walking those calls with every rank at the same forward and backward times and each
    transfer short against them, the transfers the step waits for are a max-plus sum over
    paths (:func:`infra_lab._kernels.training_reference.one_f_one_b_p2p_simulated` runs the
    calls; :func:`infra_lab._kernels.training_reference.one_f_one_b_p2p_reference` lists the
    paths): one micro-batch's fill and drain cross every boundary twice (2·Σ t_b), and each
    rank r ≥ 1 with a steady state (R_r ≥ 1) gives a path crossing the boundaries before r − 1
    twice, boundary r − 1 R_r + 1 times, boundary r R_r + 2 times and those after r four times
    (the last rank: boundary pp − 2 R + 1 times, the others before it twice). The step waits
    for the longest. At equal boundaries, m ≥ pp − 1: (2m + 2pp − 5)·t for pp ≥ 3 and
    (m + 1)·t at pp = 2, where the former count 2·(m + pp − 1) charged each micro-batch's two
    transfers apart.

    APPROXIMATIONS: every rank at the same pass times and each transfer short against a pass
    (a transfer longer than the passes lengthens some paths, and ranks at different times
    shift which path is longest); a transfer's time is its boundary's own send/recv time
    whatever the other traffic; torchtitan's warm-up sends are asynchronous (waited at the
    next forward), priced as Megatron's blocking ones."""
    if pp <= 1:
        return 0.0, 0.0
    nb = pp - 1
    tot = 0.0
    tot_x = 0.0
    for b in range(nb):
        tot += q[N_COMM + b]
        tot_x += q[N_COMM + b] * q[N_COMM + nbc + b]
    best = 2.0 * tot
    best_x = 2.0 * tot_x
    pre = 0.0          # Σ t_b, b < r − 1
    pre_x = 0.0
    for r in range(1, pp):
        if r >= 2:
            pre += q[N_COMM + r - 2]
            pre_x += q[N_COMM + r - 2] * q[N_COMM + nbc + r - 2]
        steady = m - (pp - r - 1.0)                 # R_r: rank r's steady iterations
        if steady < 1.0:
            continue
        t0 = q[N_COMM + r - 1]
        x0 = t0 * q[N_COMM + nbc + r - 1]
        v = 2.0 * pre + (steady + 1.0) * t0
        vx = 2.0 * pre_x + (steady + 1.0) * x0
        if r <= pp - 2:
            t1 = q[N_COMM + r]
            x1 = t1 * q[N_COMM + nbc + r]
            v += (steady + 2.0) * t1 + 4.0 * (tot - pre - t0 - t1)
            vx += (steady + 2.0) * x1 + 4.0 * (tot_x - pre_x - x0 - x1)
        if v > best:
            best = v
            best_x = vx
    return best, (best_x / best if best > 0.0 else 0.0)


@njit(cache=True)
def interleaved_p2p_count(pp, vp, m, mode):
    """Transfers the step waits for under Megatron-Core's interleaved 1F1B schedule [-] (each at
    one hop time: the step prices ``count · t_hop``), pp ranks of vp chunks each, m micro-batches.
    ``mode`` 1: ``overlap_p2p_comm`` on, Megatron-Core's default under interleaving; 2: off.

    What the code does (NVIDIA/Megatron-LM d98e8a6, megatron/core/pipeline_parallel/
    schedules.py ``forward_backward_pipelining_with_interleaving``, p2p_communication.py;
    megatron/training/arguments.py ``--no-overlap-p2p-communication`` is store_false, and
    argument_utils.py sets ``batch_p2p_comm = not overlap_p2p_comm`` and
    ``deallocate_pipeline_outputs = True``): rank r runs 2(pp − r − 1) + (vp − 1)·pp warm-up
    forwards (microbatch_group_size_per_vp_stage = pp, its default), each followed by a blocking
    ``send_forward_recv_forward``; then the steady forward–backward pairs; then the cool-down
    backwards, each followed by a blocking ``send_backward_recv_backward``. With overlap each
    steady forward posts its activation send and the next receive asynchronously (``isend`` /
    ``irecv``) and each backward its gradient send and the next gradient receive; a receive is
    waited just before the chunk that needs it, a gradient send before the next one is posted,
    and an activation send at once (``deallocate_pipeline_outputs``: the output is freed after
    its send), so one transfer per steady pair is on the rank's stream. Without overlap each
    steady pair ends in ONE blocking batched ``send_forward_backward_recv_forward_backward``
    with both neighbours.

    Walking those calls with every rank at the same pass times and each transfer short against
    a pass (:func:`infra_lab._kernels.training_reference.interleaved_p2p_simulated` runs them:
    a transfer starts once both its sender and its receiver have posted it and takes one hop;
    a wait holds the rank's stream until it is done), the step is longer than without
    transfers by, for m a multiple of pp: with overlap vp·m + vp·pp − 3 transfers, one more at
    m = pp; without overlap vp·m + vp·pp + pp − 3, one more at m = pp with pp even. Where the
    former rule charged 2·(vp·m + pp − 1) at half hidden, vp·m + pp − 1.

    APPROXIMATIONS: every transfer at the one hop time (:func:`pp_hop_time`: the slowest
    rank's slower boundary, the last-to-first one included), where the boundaries differ; every
    rank at the same pass times; a transfer's time its boundary's own whatever the other
    traffic; m not a multiple of pp (Megatron-Core refuses it with its default group size)
    priced by the same count.

    ``mode`` 3: torch.distributed.pipelining's ``ScheduleInterleaved1F1B`` (torchtitan; pytorch
    00722e6, torch/distributed/pipelining/schedules.py): a ``_PipelineScheduleRuntime`` whose
    compute-only order (``_get_1f1b_rank_ops``, rounds = max(1, m // pp) of m / rounds
    micro-batches) is lowered by ``_add_send_recv``: rounds over the ranks, one action per rank
    per round, a pass's SEND put after it and the peer's RECV appended to the peer's list at
    once; the runtime posts each SEND and RECV where it stands (``_batch_p2p``), waits on a
    receive just before the pass that needs it and on the sends only at the step's end. Walked
    (:func:`infra_lab._kernels.training_reference.torchtitan_interleaved_simulated`, every chunk
    at the same pass times, pp 2–8, vp 2–8, m 1 to 5·pp, four F:B ratios) the step waits for
    2·(vp·pp − 1) + 2·(vp − 1)·max(0, m/rounds − pp) transfers (one more at pp = 2, vp ≥ 4 and
    two or more rounds, where the UNSHARD / RESHARD actions ``_add_unshard_reshard`` inserts
    shift the lowering's rounds): the fill and drain, the steady transfers hidden while a round
    holds at most pp micro-batches."""
    if mode == 3:
        rounds = math.floor(m / pp)
        if rounds < 1.0:
            rounds = 1.0
        per = m / rounds
        n = 2.0 * (vp * pp - 1.0)
        if per > pp:
            n += 2.0 * (vp - 1.0) * (per - pp)
        if pp == 2.0 and vp >= 4.0 and rounds >= 2.0:
            n += 1.0
        return n
    if mode == 2:
        n = vp * m + vp * pp + pp - 3.0
        if m <= pp and pp % 2 == 0:
            n += 1.0
    else:
        n = vp * m + vp * pp - 3.0
        if m <= pp:
            n += 1.0
    return n


@njit(cache=True)
def pp_p2p_time(m, pp, vp, t_p2p, ovl):
    """Pipeline send/recv time on a step's critical path [s]: one activation forward and one
    gradient backward per chunk slot, of which the critical path has m·vp (every micro-batch
    through the rank's vp chunks) + pp − 1 (the fill and the drain: the same pp − 1 chunk slots
    whose compute is the bubble, (pp − 1)/vp of a stage's time; Narayanan et al. 2021 §2.2.2,
    https://arxiv.org/abs/2104.04473: the interleaved schedule cuts the bubble by vp and raises
    the communication per micro-batch by vp), each ``t_p2p`` at ``ovl`` hidden. Used for: the
    interleaved and zero-bubble / V schedules of a stack whose pp_p2p_interleaved_calls is 0
    (Megatron-LM 2022); the zero-bubble / V schedules at 3 (torchtitan's ZBV,
    ``ScheduleZBVZeroBubble``: the same runtime as its interleaved schedule, not walked here,
    its count depending on the F:B:W ratio); ZB-H1 where Primus' walk deadlocks (4 ≤ m < pp at
    some pp: :func:`infra_lab._kernels.pipeline_p2p.primus_p2p_count` −1). The plain 1F1B
    schedule (vp = 1) is :func:`one_f_one_b_p2p`, the interleaved one
    :func:`interleaved_p2p_count` (Megatron-Core's calls, torch.distributed.pipelining's
    runtime), Primus' zero-bubble and V schedules (pp_p2p_interleaved_calls 1 or 2)
    ``primus_p2p_count``, all from their calls. APPROXIMATION: two transfers per chunk slot;
    the fill and drain at the same hop time."""
    return 2.0 * (vp * m + pp - 1.0) * t_p2p * (1.0 - ovl)


HEAD_NAMES = ("tp", "pp", "vp", "cp", "ep", "etp", "dp", "micro_batch", "sequence_parallel",
              "tp_i", "mbs_i", "cp_i", "layout_i", "x_i")
(H_TP, H_PP, H_VP, H_CP, H_EP, H_ETP, H_DP, H_MBS, H_SP, H_TPI, H_MBSI, H_CPI, H_LAY, H_XI) = \
    range(len(HEAD_NAMES))
N_HEAD = len(HEAD_NAMES)
TAIL_NAMES = ("zero", "fsdp", "recompute")
"""A plan = a head row (layout, micro-batch, sequence parallel) × a tail row (ZeRO stage,
FSDP, recompute); the search evaluates every head against every tail."""
MAXC = 8


# one chunk's (or rank's) layer counts sit in a layout row as four adjacent columns (dense-like,
# MoE, embedding, head) and two adjacent recomputed ones (dense-like, MoE), in each of the three
# groups _counts reads
if not (L_NM - L_ND == L_C0M - L_C0D == L_KM - L_KD == 1 and L_EMB - L_ND == L_C0EMB - L_C0D == L_KEMB - L_KD == 2
        and L_HEAD - L_ND == L_C0HEAD - L_C0D == L_KHEAD - L_KD == 3
        and L_RM - L_RD == L_C0RM - L_C0RD == L_KRM - L_KRD == 1):
    raise RuntimeError("LAY_NAMES: _counts reads each group's counts as adjacent columns")


@njit(cache=True, inline="always")
def _counts(row, d, rd_col, rc, n_mtp):
    """(nd, nm, em, hd, rd, rm, nx) of the layout row ``row`` from the group whose dense-like count
    is column ``d`` (then MoE, embedding, head) and dense-like recomputed count ``rd_col`` (then
    MoE): the dense-like and MoE layers, the embedding / output-layer flags, the layers
    re-materialised in backward (those columns under full recompute, ``rc`` 2, else all) and the
    MTP modules (``n_mtp`` on the chunk holding the head)."""
    nd = row[d]
    nm = row[d + 1]
    hd = row[d + 3]
    rd = row[rd_col] if rc == 2 else nd
    rm = row[rd_col + 1] if rc == 2 else nm
    return nd, nm, row[d + 2], hd, rd, rm, hd * n_mtp


@njit(cache=True)
def _stage_act(c, tab, htab, xtab, rc, ti, mi, ci, spi, xi, nd, nm, rd, rm, nx, rx, emb, head, nf, tok_h, o_d, o_m):
    """:func:`infra_lab._kernels.memory.stage_activations` of a stage (or one chunk) of ``nd``
    dense-like and ``nm`` MoE layers (``rd``, ``rm`` of them re-materialised), ``nx`` MTP modules
    (``rx`` re-materialised), the embedding / output layer flags ``emb`` / ``head`` and ``nf``
    in-flight micro-batches, under recompute mode ``rc`` from the plan's tables (``o_d``, ``o_m``:
    the bytes a layer offloads to the host)."""
    # MoE layers: + the FC1 input gathered over the expert-TP ranks (xtab act_*)
    pa = T_ACT_NONE + rc
    x_act = xtab[K_MOE, X_ACT_NONE + rc, ti, mi, ci, xi] if rc < 2 else 0.0
    return stage_activations(
        nd, nm, rd, rm, tab[K_DENSE, pa, ti, mi, ci, spi] - o_d,
        tab[K_MOE, pa, ti, mi, ci, spi] + x_act - o_m,
        tab[K_DENSE, T_ACT_NONE, ti, mi, ci, spi],
        tab[K_MOE, T_ACT_NONE, ti, mi, ci, spi] + xtab[K_MOE, X_ACT_NONE, ti, mi, ci, xi],
        1 if (rc == 2 or (rc == 1 and c[C_SEL_MODE] > 0.5)) else 0, nf, tok_h, c[C_ACT_BYTES],
        c[C_DROPOUT], emb, head,
        htab[H_ACT, ti, mi, ci, spi], o_d, o_m, nx, rx,
        tab[K_MTP, pa, ti, mi, ci, spi] + (xtab[K_MTP, X_ACT_NONE + rc, ti, mi, ci, xi] if rc < 2
                                           else 0.0),
        tab[K_MTP, T_ACT_NONE, ti, mi, ci, spi] + xtab[K_MTP, X_ACT_NONE, ti, mi, ci, xi])


@njit(cache=True, inline="always")
def _replayed_bubbles(cprog, pp, cost, done, u, per, bub):
    """``bub[rc]`` for the three recompute modes of an executed schedule: ``u[rc]`` where
    ``done[rc]`` (known without a replay), else the makespan of :func:`replay_compact3` of
    ``cprog`` with the pass times ``cost`` less ``per`` · ``u[rc]`` (the slowest rank's work per
    micro-batch, ``per`` micro-batch units of it per rank), at least 0."""
    span = np.empty(3)
    if not (done[0] and done[1] and done[2]):
        replay_compact3(cprog, pp, cost, np.empty(3 * (cprog.shape[0] - pp)), span)
    for rc in range(3):
        if done[rc]:
            bub[rc] = u[rc]
        else:
            v = span[rc] - per * u[rc]
            bub[rc] = v if v > 0.0 else 0.0


@njit(cache=True)
def eval_head(c, tab, htab, xtab, lay, ncand, comm, head, tail, out, row0, vprog):
    """Evaluate one head row against every tail row into columns of ``out`` (shape
    (n_plans, N_OUT), one plan per row: the plan's outputs are contiguous), rows row0 …
    row0 + len(tail) − 1. ``vprog``: the head's executed schedule as the compact form of
    :func:`schedule_program` followed by its pp rows of chunk-forwards at each rank's peak
    (:func:`executed_table`; read only under ZB-H1, ZBV, V-Half and V-Min with pp > 1), or under
    the interleaved schedule constant with pp > 1 and vp > 1 (:func:`executes_interleaved`)
    Megatron-Core's interleaved order (:func:`infra_lab._kernels.pipeline_greedy.interleaved_program`,
    its pp extra rows unused), or under the 1F1B constant with C_PP_EXEC set, pp > 1 and vp = 1
    (:func:`executes_1f1b`) Megatron-Core's plain 1F1B order in the same form.

    The compute and per-micro-batch communication of each pipeline-stage candidate is
    computed once per recompute mode and shared by the ZeRO/FSDP variants."""
    tp = head[H_TP]
    pp = head[H_PP]
    vp = head[H_VP]
    cp = head[H_CP]
    ep = head[H_EP]
    dp = head[H_DP]
    mbs = head[H_MBS]
    spi = 1 if head[H_SP] > 0 else 0
    ti = head[H_TPI]
    mi = head[H_MBSI]
    ci = head[H_CPI]
    li = head[H_LAY]
    xi = head[H_XI]
    q = comm[li, mi, spi]
    m = c[C_GBATCH] / (dp * mbs)
    # weight casts once per step where the stack reuses the quantized copies (weight_cast_share)
    wsave = 1.0 - weight_cast_share(c[C_FP8_CACHE], m)
    imb = xtab[K_MOE, X_IMB, ti, mi, ci, xi] if ep > 1 else 1.0
    fw = c[C_FW_SCALE]
    ms = c[C_MEM_SCALE]
    nc = ncand[li]
    win_cp_d = fw * tab[K_DENSE, T_ATTN, ti, mi, ci, spi]
    win_cp_m = fw * tab[K_MOE, T_ATTN, ti, mi, ci, spi]
    fwd_cp_d = fw * tab[K_DENSE, T_ATTN_FWD, ti, mi, ci, spi]
    fwd_cp_m = fw * tab[K_MOE, T_ATTN_FWD, ti, mi, ci, spi]
    n_mtp = c[C_MTP]                  # MTP modules, on the candidates that hold the head
    mtp_moe = c[C_MTP_MOE] > 0.5 and ep > 1
    # EP overlap (DeepEP / Megatron's EP a2a overlap, DualPipe) hides the dispatch and combine
    # behind another micro-batch's compute of the same MoE layer
    win_ep = fw * (tab[K_MOE, T_FWD, ti, mi, ci, spi] + tab[K_MOE, T_BWD, ti, mi, ci, spi]
                   + xtab[K_MOE, X_FWD_EXP, ti, mi, ci, xi] + xtab[K_MOE, X_BWD_EXP, ti, mi, ci, xi]) \
        + ms * (tab[K_MOE, T_FWD_MEM, ti, mi, ci, spi] + tab[K_MOE, T_BWD_MEM, ti, mi, ci, spi])
    # the dgrad GEMMs a stack's sequence-parallel re-gathers overlap (sp_regather_exposed): half of
    # the layer's backward GEMM time (dgrad and wgrad have the same FLOPs), attention core excluded
    win_rg_d = 0.5 * fw * (tab[K_DENSE, T_BWD, ti, mi, ci, spi]
                           - (tab[K_DENSE, T_ATTN, ti, mi, ci, spi] - tab[K_DENSE, T_ATTN_FWD, ti, mi, ci, spi]))
    win_rg_m = 0.5 * fw * (tab[K_MOE, T_BWD, ti, mi, ci, spi]
                           - (tab[K_MOE, T_ATTN, ti, mi, ci, spi] - tab[K_MOE, T_ATTN_FWD, ti, mi, ci, spi]))
    # per recompute mode and candidate: f, b, r and the per-micro-batch TP/CP/EP comm
    F = np.empty((3, MAXC))
    B = np.empty((3, MAXC))
    R = np.empty((3, MAXC))
    ACT = np.empty((3, MAXC))        # activation bytes of the stage's in-flight micro-batches
    WORK = np.empty((3, MAXC))       # recompute working set
    rep = tp * 1.0 if spi == 1 else 1.0
    tok_h = mbs * c[C_S] / cp * c[C_H] / rep
    HEADB = np.empty((3, MAXC))      # embedding dropout masks / logits of the stage
    # one layer's context-parallel attention buffers (all-gather rotation; 0 otherwise)
    cpb = cp_attention_bytes(cp * 1.0, c[C_CP_AG], mbs * c[C_S] / cp, c[C_HQ], c[C_HKV], tp * 1.0,
                             c[C_ACT_BYTES])
    # the all-gather rotation's per-step merge / accumulation (memory-bound; 0 otherwise)
    mg_f, mg_b = cp_merge_time(cp * 1.0, c[C_CP_AG], mbs * c[C_S] / cp, c[C_HQ], c[C_HKV], tp * 1.0,
                               c[C_ACT_BYTES], c[C_MEM_S_PER_B], c[C_KERNEL_S])
    NF = np.empty(MAXC)
    sched = int(c[C_PP_SCHED])
    # each candidate's micro-batch time, its W and its F (the bubble prices every rank at its own;
    # one allocation: the per-head work is short)
    PB = np.empty((8, 3, MAXC))
    TK = PB[0]
    WK = PB[1]
    FK = PB[2]
    TK0 = PB[3]      # the same of the rank's first chunk (a V; read by the executed replay only)
    WK0 = PB[4]
    FK0 = PB[5]
    CLT = PB[6]      # the interleaved execution's chunk classes (L_KD ...): t and F of each alone
    CLF = PB[7]
    uses_w = is_executed(sched)
    v_chunks = uses_w and pp > 1 and schedule_chunks(sched) == 2
    # an executed schedule's program: its compact form, then one row per rank of the chunk-forwards
    # each rank holds at its peak (chunk_inflight_peaks: a V's two chunks hold their own counts);
    # the interleaved order's block has the same pp extra rows (zeros)
    il_keyed = executes_interleaved(sched, pp, vp)
    # Megatron-Core's plain 1F1B order executed per rank (il.estimate's 1F1B plans, C_PP_EXEC;
    # the search prices them by the closed form): its program in the same layout
    f1_keyed = executes_1f1b(sched, pp, vp, c[C_PP_EXEC])
    npk = int(pp) if ((uses_w and pp > 1) or il_keyed or f1_keyed) else 0
    cprog = vprog[: vprog.shape[0] - npk]
    PK = vprog[vprog.shape[0] - npk:]
    # Megatron-Core's interleaved order executed per chunk (il.estimate's interleaved plans; the
    # search's default block, schedule constant 0, takes the closed form)
    ncls = 0
    if il_keyed and cprog.shape[0] > 0:
        ncls = int(lay[li, 0, L_KN])
    il_exec = ncls > 0
    f1_exec = f1_keyed and cprog.shape[0] > 0
    pace = np.empty(3)
    arg = np.empty(3, dtype=np.int64)
    comp = np.empty((3, 6))
    # rc = 0's per-layer TP/CP/EP communication: what a layer that full recompute leaves out
    # (training.recompute_num_layers) issues
    tp_d0 = 0.0
    tp_m0 = 0.0
    cp_d0 = 0.0
    cp_m0 = 0.0
    a2a0 = 0.0
    tp_x0 = 0.0
    cp_x0 = 0.0
    ep_x0 = 0.0
    for rc in range(3):
        n_tp = TP_COLLECTIVES + (TP_FULL_RECOMPUTE if rc == 2 else 0.0)
        n_a2a = EP_ALL_TO_ALLS + (EP_FULL_RECOMPUTE if rc == 2 else (c[C_SEL_A2A] if rc == 1 else 0.0))
        a2a_layer = exposed(n_a2a * imb * q[Q_EP], c[C_EP_OVL], win_ep) if ep > 1 else 0.0
        # an MoE layer: the attention's TP collectives, the routed tokens' expert-TP gather and
        # scatter, and the shared experts' MLP, tensor-parallel like a dense MLP
        tp_d = n_tp * q[Q_TP] * (1.0 - c[C_TP_OVL])
        tp_m = 0.5 * n_tp * ((1.0 + c[C_SHARED_X]) * q[Q_TP] + q[Q_ETP]) * (1.0 - c[C_TP_OVL])
        # sequence parallelism's backward re-gather of the column-parallel inputs (Q_TP_AG is 0
        # without SP): see sp_regather_exposed
        tp_d += sp_regather_exposed(SP_BACKWARD_GATHERS_DENSE * q[Q_TP_AG], c[C_SP_REGATHER], rc, c[C_TP_OVL],
                                    win_rg_d, c[C_SP_RG_OVL])
        tp_m += sp_regather_exposed((SP_BACKWARD_GATHERS_MOE + c[C_SHARED_X]) * q[Q_TP_AG], c[C_SP_REGATHER], rc,
                                    c[C_TP_OVL], win_rg_m, c[C_SP_RG_OVL])
        cp_d = cp_exposed(cp, q[Q_CP], c[C_CP_AG], c[C_CP_OVL], win_cp_d, fwd_cp_d, rc == 2, q[Q_CP_AG])
        cp_m = cp_exposed(cp, q[Q_CP], c[C_CP_AG], c[C_CP_OVL], win_cp_m, fwd_cp_m, rc == 2, q[Q_CP_AG])
        # one MTP module: its transformer layer's TP, CP and EP collectives (the projection and
        # the head's vocabulary-parallel loss are not priced, as for the main head); re-issued
        # in backward by the modules full recompute re-runs (L_RX), rc = 0's for the others
        tp_x = 0.0
        cp_x = 0.0
        ep_x = 0.0
        if n_mtp > 0.0:
            tp_x = tp_m if c[C_MTP_MOE] > 0.5 else tp_d
            cp_x = cp_exposed(cp, q[Q_CP], c[C_CP_AG], c[C_CP_OVL], fw * tab[K_MTP, T_ATTN, ti, mi, ci, spi],
                              fw * tab[K_MTP, T_ATTN_FWD, ti, mi, ci, spi], rc == 2, q[Q_CP_AG])
            ep_x = a2a_layer if mtp_moe else 0.0
        if rc == 0:
            tp_d0 = tp_d
            tp_m0 = tp_m
            cp_d0 = cp_d
            cp_m0 = cp_m
            a2a0 = a2a_layer
            tp_x0 = tp_x
            cp_x0 = cp_x
            ep_x0 = ep_x
        pace[rc] = -1.0
        arg[rc] = 0
        for k in range(nc):
            row = lay[li, k]
            # in a V the executed replay prices each chunk at its own times: a rank whose two
            # chunks differ (L_CDIFF) is priced twice, as the rank (half 0) and as its first
            # chunk alone (half 1, the same expressions on that chunk's layers, embedding and
            # output layer); the other ranks' chunks take half the rank's times each
            split = v_chunks and row[L_CDIFF] > 0.0
            # interleaved executed per chunk: the layout's chunk classes priced alone (the same
            # expressions on each class's layers), once, with the first candidate (halves 1 …)
            nh = (1 + ncls) if (il_exec and k == 0) else (2 if split else 1)
            for half in range(nh):
                # layers re-materialised in backward: under full recompute the first
                # training.recompute_num_layers of each chunk (every layer by default); MTP modules
                # re-materialised in backward: under full recompute those Megatron recomputes (none
                # under the block method), otherwise all (rc < 2 uses nx anyway)
                if half == 0:
                    nd, nm, em, hd, rd, rm, nx = _counts(row, L_ND, L_RD, rc, n_mtp)
                    rx = row[L_RX] if rc == 2 else nx
                elif split:
                    nd, nm, em, hd, rd, rm, nx = _counts(row, L_C0D, L_C0RD, rc, n_mtp)
                    rx = (row[L_RX] if hd > 0.0 else 0.0) if rc == 2 else nx
                else:
                    crow = lay[li, half - 1]
                    nd, nm, em, hd, rd, rm, nx = _counts(crow, L_KD, L_KRD, rc, n_mtp)
                    rx = crow[L_KRX] if rc == 2 else nx
                part = rd < nd or rm < nm
                f, b, r = stage_compute(c, tab, htab, xtab, nd, nm, rd, rm, rx, hd, em, rc, ti, mi,
                                        ci, spi, xi, wsave)
                if mg_f > 0.0:   # every layer's attention runs the ring (again under full recompute)
                    f += (nd + nm + nx) * ms * mg_f
                    b += (nd + nm + nx) * ms * mg_b
                    if rc == 2:
                        r += (rd + rm + rx) * ms * mg_f
                # activation offloading (training.offload_modules): the host-link copies left exposed
                o_d = tab[K_DENSE, T_OFF_NONE + rc, ti, mi, ci, spi]
                o_m = tab[K_MOE, T_OFF_NONE + rc, ti, mi, ci, spi] + (xtab[K_MOE, X_OFF_NONE + rc, ti, mi, ci, xi]
                                                                      if rc < 2 else 0.0)
                if o_d > 0.0 or o_m > 0.0:
                    b += offload_exposed(nd * o_d + nm * o_m, c[C_HOST_BW], b + r)
                if half == 0:
                    F[rc, k] = f
                    B[rc, k] = b
                    R[rc, k] = r
                    if rc == 0:
                        if v_chunks:   # the rank's chunk-forwards at its peak, over its two chunks
                            NF[k] = 0.5 * PK[int(row[L_RANK]), 0]
                        else:
                            NF[k] = inflight_schedule(sched, pp, vp, row[L_RANK], m)
                    # MoE layers: + the FC1 input gathered over the expert-TP ranks (xtab act_*); the
                    # expression of _stage_act, written out here (the hot path: no call with the
                    # tables as arguments)
                    pa = T_ACT_NONE + rc
                    x_act = xtab[K_MOE, X_ACT_NONE + rc, ti, mi, ci, xi] if rc < 2 else 0.0
                    ACT[rc, k], WORK[rc, k], HEADB[rc, k] = stage_activations(
                        nd, nm, rd, rm, tab[K_DENSE, pa, ti, mi, ci, spi] - o_d,
                        tab[K_MOE, pa, ti, mi, ci, spi] + x_act - o_m,
                        tab[K_DENSE, T_ACT_NONE, ti, mi, ci, spi],
                        tab[K_MOE, T_ACT_NONE, ti, mi, ci, spi] + xtab[K_MOE, X_ACT_NONE, ti, mi, ci, xi],
                        1 if (rc == 2 or (rc == 1 and c[C_SEL_MODE] > 0.5)) else 0, NF[k], tok_h, c[C_ACT_BYTES],
                        c[C_DROPOUT], row[L_EMB], row[L_HEAD],
                        htab[H_ACT, ti, mi, ci, spi], o_d, o_m, nx, rx,
                        tab[K_MTP, pa, ti, mi, ci, spi] + (xtab[K_MTP, X_ACT_NONE + rc, ti, mi, ci, xi] if rc < 2
                                                           else 0.0),
                        tab[K_MTP, T_ACT_NONE, ti, mi, ci, spi] + xtab[K_MTP, X_ACT_NONE, ti, mi, ci, xi])
                    if row[L_EMB] > 0.0:  # multimodal prologue memory (zero for a text model)
                        ACT[rc, k] += NF[k] * htab[H_PRO_ACT_NONE + rc, ti, mi, ci, spi] \
                            + htab[H_PRO_FROZEN_W, ti, mi, ci, spi] + htab[H_PRO_FROZEN_WORK, ti, mi, ci, spi]
                elif split:
                    # a V rank whose chunks differ: each chunk's activations at its own in-flight
                    # count (the activations are affine in the count: the rank's and its first
                    # chunk's bytes per micro-batch from counts 1 and 0; the second is the rest)
                    rk = int(row[L_RANK])
                    ndr, nmr, _, _, rdr, rmr, nxr = _counts(row, L_ND, L_RD, rc, n_mtp)
                    rxr = row[L_RX] if rc == 2 else nxr
                    a_r1, _, h_r1 = _stage_act(c, tab, htab, xtab, rc, ti, mi, ci, spi, xi, ndr, nmr, rdr, rmr, nxr,
                                               rxr, row[L_EMB], row[L_HEAD], 1.0, tok_h, o_d, o_m)
                    a_r0, w_r0, h_r0 = _stage_act(c, tab, htab, xtab, rc, ti, mi, ci, spi, xi, ndr, nmr, rdr, rmr,
                                                  nxr, rxr, row[L_EMB], row[L_HEAD], 0.0, tok_h, o_d, o_m)
                    a_c1, _, h_c1 = _stage_act(c, tab, htab, xtab, rc, ti, mi, ci, spi, xi, nd, nm, rd, rm, nx, rx,
                                               em, hd, 1.0, tok_h, o_d, o_m)
                    a_c0, _, h_c0 = _stage_act(c, tab, htab, xtab, rc, ti, mi, ci, spi, xi, nd, nm, rd, rm, nx, rx,
                                               em, hd, 0.0, tok_h, o_d, o_m)
                    pro = htab[H_PRO_ACT_NONE + rc, ti, mi, ci, spi]
                    sa_r = a_r1 - a_r0 + (pro if row[L_EMB] > 0.0 else 0.0)
                    sa_0 = a_c1 - a_c0 + (pro if em > 0.0 else 0.0)
                    sh_r = h_r1 - h_r0
                    sh_0 = h_c1 - h_c0
                    top = PK[rk, 0] * 1.0
                    n0, n1 = v_chunk_peak(top - PK[rk, 1], PK[rk, 1] * 1.0, top - PK[rk, 2], PK[rk, 2] * 1.0,
                                          sa_0 + sh_0, (sa_r + sh_r) - (sa_0 + sh_0))
                    ACT[rc, k] = a_r0 + n0 * sa_0 + n1 * (sa_r - sa_0)
                    if row[L_EMB] > 0.0:
                        ACT[rc, k] += htab[H_PRO_FROZEN_W, ti, mi, ci, spi] + htab[H_PRO_FROZEN_WORK, ti, mi, ci, spi]
                    WORK[rc, k] = w_r0
                    HEADB[rc, k] = h_r0 + n0 * sh_0 + n1 * (sh_r - sh_0)
                # recomputed layers re-issue their forward's collectives, the others do not; the
                # plain sums when every layer is re-run keep an unreachable collective (inf, a
                # plan with no path) from meeting 0 x inf
                if part:
                    tpc = rd * tp_d + (nd - rd) * tp_d0 + rm * tp_m + (nm - rm) * tp_m0
                    cpc = rd * cp_d + (nd - rd) * cp_d0 + rm * cp_m + (nm - rm) * cp_m0
                    epc = rm * a2a_layer + (nm - rm) * a2a0
                else:
                    tpc = nd * tp_d + nm * tp_m
                    cpc = nd * cp_d + nm * cp_m
                    epc = nm * a2a_layer
                if nx > 0.0:
                    if rx < nx:   # MTP modules full recompute leaves out issue rc = 0's collectives
                        tpc += rx * tp_x + (nx - rx) * tp_x0
                        cpc += rx * cp_x + (nx - rx) * cp_x0
                        epc += rx * ep_x + (nx - rx) * ep_x0
                    else:
                        tpc += nx * tp_x
                        cpc += nx * cp_x
                        epc += nx * ep_x
                t = f + b + r + tpc + cpc + epc
                fk = f + 0.5 * (tpc + cpc + epc)
                wk = stage_wgrad(c, tab, htab, xtab, nd, nm, hd, ti, mi, ci, spi, xi) if (uses_w and pp > 1) else 0.0
                if half >= 1:
                    if split:
                        TK0[rc, k] = t
                        FK0[rc, k] = fk
                        WK0[rc, k] = wk
                    else:
                        CLT[rc, half - 1] = t
                        CLF[rc, half - 1] = fk
                    continue
                TK[rc, k] = t
                FK[rc, k] = fk
                WK[rc, k] = wk
                if not split:
                    TK0[rc, k] = 0.5 * t
                    FK0[rc, k] = 0.5 * fk
                    WK0[rc, k] = 0.5 * wk
                if t > pace[rc]:
                    pace[rc] = t
                    arg[rc] = k
                    comp[rc, 0] = f
                    comp[rc, 1] = b
                    comp[rc, 2] = r
                    comp[rc, 3] = tpc
                    comp[rc, 4] = cpc
                    comp[rc, 5] = epc
    pp_c = 0.0
    pp_net = q[Q_PP_NET]
    if pp > 1:
        if vp == 1 and sched <= PP_SCHED_INTERLEAVED:   # Megatron-Core's plain 1F1B (no interleaving)
            if (comm.shape[3] - N_COMM) // 2 < pp - 1:     # a comm table without the boundaries (comm_width)
                pp_c = np.nan
            else:
                pp_c, pp_net = one_f_one_b_p2p(q, (comm.shape[3] - N_COMM) // 2, pp, m)
        elif sched <= PP_SCHED_INTERLEAVED and c[C_PP_CALLS] > 0.5:   # Megatron-Core's interleaved calls (vp > 1)
            pp_c = interleaved_p2p_count(pp * 1.0, vp * 1.0, m, int(c[C_PP_CALLS])) * q[Q_PP]
        elif uses_w and 0.5 < c[C_PP_CALLS] < 2.5 and cprog.shape[0] > pp and cprog[cprog.shape[0] - pp, 2] >= 0:
            # a zero-bubble / V schedule under Primus' runtime: the transfers its walk waits for
            # (primus_p2p_count, stored with the program by _fill_key), each at one hop
            pp_c = cprog[cprog.shape[0] - pp, 2] * q[Q_PP]
        else:
            pp_c = pp_p2p_time(m, pp * 1.0, vp * 1.0, q[Q_PP], c[C_PP_OVL])
    o = c[C_DP_OVL]
    # the bubble per recompute mode; an executed schedule's order (ZB-H1, ZBV, V-Half, V-Min) is
    # built once per call (executed_table, compact) and replayed here with each rank's own times
    # (executed_rank_bubble_compact); 1F1B / interleaved by the closed form (pipeline_bubble_stages)
    bub = np.zeros(3)
    if pp > 1 and uses_w:
        mk = micro_batches_int(m)
        nch = schedule_chunks(sched)
        # the three recompute modes replayed at once (replay_compact3: the values of
        # executed_rank_bubble_compact / executed_stage_bubble_compact per mode, bit for bit)
        cost = np.zeros(18 * pp)
        done = np.zeros(3, np.bool_)
        u = np.empty(3)
        for rc in range(3):
            if pace[rc] < 0.0:   # no candidate time above its -1 start (all nan): no slowest rank to
                # index (arg unset), so the slowest-stage form prices it, as before per-rank pricing
                done[rc], u[rc] = executed_stage_costs(pp, nch, pace[rc], 0.0, 0.0, cost, np.int64(3), rc)
            else:
                done[rc], u[rc] = executed_rank_costs(pp, nch, TK[rc], WK[rc], FK[rc], TK0[rc], WK0[rc], FK0[rc],
                                                      lay[li, :, L_RMASK], nc, arg[rc], cost, np.int64(3), rc)
        _replayed_bubbles(cprog, pp, cost, done, u, nch * mk, bub)
    elif pp > 1 and (il_exec or f1_exec) and cprog[cprog.shape[0] - pp, 1] == 0:
        # Megatron-Core's interleaved order (executed_table's program) replayed with each rank's
        # and each chunk's own times, the three recompute modes at once (interleaved_rank_bubble
        # per mode); an order that deadlocks falls to the closed form below. Its plain 1F1B order
        # (vp = 1, f1_exec) the same way with each rank's own F and B
        mk = micro_batches_int(m)
        cost = np.zeros(9 * vp * pp)
        done = np.zeros(3, np.bool_)
        u = np.empty(3)
        for rc in range(3):
            if pace[rc] < 0.0:
                done[rc] = True
                u[rc] = closed_form_bubble(pp, vp, pace[rc])
            else:
                done[rc], u[rc] = interleaved_rank_costs(pp, vp, TK[rc], FK[rc], CLT[rc], CLF[rc],
                                                         lay[li, :, L_RMASK], lay[li, :, L_KMAP], nc, arg[rc],
                                                         cost, np.int64(3), rc)
        _replayed_bubbles(cprog, pp, cost, done, u, mk, bub)
    elif pp > 1:
        for rc in range(3):
            if pace[rc] < 0.0:
                bub[rc] = closed_form_bubble(pp, vp, pace[rc])   # sched is 1F1B / interleaved here
            else:
                bub[rc] = pipeline_bubble_stages(sched, pp, vp, TK[rc], WK[rc], FK[rc], lay[li, :, L_NR], nc, arg[rc],
                                                 m)
    for t in range(tail.shape[0]):
        zero = tail[t, 0]
        fsdp = tail[t, 1]
        rc = tail[t, 2]
        j = row0 + t
        bubble = bub[rc]
        shard3 = zero >= 3 or fsdp > 0
        z_mem = zero
        f_mem = fsdp
        keep = pp > 1 and c[C_Z3_PP_RESHARD] < 0.5
        if shard3 and keep:      # no resharding during the step: optimizer states stay sharded
            z_mem = 1
            f_mem = 0
        worst = -1.0
        dp_g = 0.0
        dp_p = 0.0
        t_opt = 0.0
        dp_raw = 0.0
        dp_net = 0.0
        mem = 0.0
        for k in range(nc):
            row = lay[li, k]
            f = F[rc, k]
            b = B[rc, k]
            r = R[rc, k]
            if shard3 and row[L_ND] + row[L_NM] <= 0.0:
                # a chunk with only the embedding or the loss (pp·vp up to layers + 2): no
                # per-layer gathers (fill_layout_comm prices none), so nothing to expose
                g = 0.0
                p = 0.0
                raw = 0.0
            elif shard3:
                nl = row[L_ND] + row[L_NM]
                z3 = c[C_Z3_EFF]
                ag = row[L_Z3_AG] / z3
                rs = row[L_Z3_RS] / z3
                if keep:
                    # FSDP under pipeline parallelism keeps the stage's parameters gathered for
                    # the whole step and syncs gradients on the last micro-batch only
                    # (torchtitan's FSDP2 + PP; Llama 3: no resharding after forward);
                    # Megatron-FSDP (C_Z3_PP_RESHARD) takes the per-micro-batch branch below
                    p, raw_f = param_gather_exposed(nl - 1.0, ag, ag, 1.0 / nl, f + r, c[C_Z3_OVL])
                    g, raw_b = grad_buckets_exposed(nl - 1.0, rs, rs, 1.0 / nl, b, c[C_Z3_OVL])
                    raw = raw_f + raw_b
                else:
                    gf, raw_f = param_gather_exposed(nl - 1.0, ag, ag, 1.0 / nl, f + r, c[C_Z3_OVL])
                    gb_, raw_b = grad_buckets_exposed(nl - 1.0, ag + rs, ag + rs, 1.0 / nl, b, c[C_Z3_OVL])
                    g = m * gb_
                    if c[C_Z3_DEFER] > 0.0 and m > 1.0:
                        # Megatron-FSDP under the schedules' no_sync path (stacks.csv note): the reduce-scatters of
                        # micro-batches 1..m-1 run on into the next micro-batch, on the NIC time
                        # its forward's all-gathers leave free; the last must end before the step
                        e1, _ = grad_buckets_exposed(nl - 1.0, ag + rs, ag + rs, 1.0 / nl, b, 1.0)
                        slack = f + r - raw_f
                        e_mid = e1 - (slack if slack > 0.0 else 0.0)
                        if e_mid < 0.0:
                            e_mid = 0.0
                        g = gb_ + (m - 1.0) * (e_mid + (1.0 - c[C_Z3_OVL]) * (raw_b - e_mid))
                    p = m * gf
                    raw = m * (raw_f + raw_b)
            else:
                nb = row[L_NB]
                tf = row[L_TAILF]
                if zero == 0:
                    g, raw = grad_buckets_exposed(nb, row[L_ARB], row[L_ART], tf, b, o)
                    p = 0.0
                else:
                    g, raw = grad_buckets_exposed(nb, row[L_RSB], row[L_RST], tf, b, o)
                    if zero == 2:                    # sharded gradients: reduce every micro-batch
                        g *= m
                        raw *= m
                    p, raw_p = param_gather_exposed(nb, row[L_AGB], row[L_AGT], tf, f, o)
                    raw += raw_p
            # optimizer update of the local (ZeRO-1+ sharded) parameters
            opt = row[L_OPT1] if (zero >= 1 or fsdp > 0) else row[L_OPT0]
            if g + p + opt > worst:
                worst = g + p + opt
                dp_g = g
                dp_p = p
                t_opt = opt
                dp_raw = raw
                dp_net = raw * row[L_DP_NET]
            # memory of this stage: static bytes of its ZeRO stage + activations (the
            # formula of infra_lab.memory.training_memory)
            zs = 3 if f_mem > 0 else z_mem
            tot = row[L_ST0 + zs] + ACT[rc, k] + WORK[rc, k] + HEADB[rc, k] + cp_buffers_at_peak(cpb, HEADB[rc, k])
            if c[C_GRAD_PERSIST] < 0.5 and pp > 1 and vp > 1:
                # gradients allocated at their first backward (memory.grads_at_peak): only the
                # part that coexists with the activation peak
                g_all = row[L_GR0 + zs]
                tot -= g_all - grads_at_peak(ACT[rc, k], g_all, pp * 1.0, vp * 1.0, row[L_RANK], m)
            if c[C_PP_IO] > 0.5 and pp > 1:   # PyTorch pipelining's per-micro-batch stage buffers
                tot += stage_io_bytes(pp * 1.0, vp * 1.0, row[L_RANK], m, NF[k], tok_h * c[C_ACT_BYTES])
            tot += allocator_reserve(tot, c[C_RESERVE], c[C_RESERVE_FRAC])
            if tot > mem:
                mem = tot
        orow = out[j]
        for jj in range(6):
            orow[jj] = m * comp[rc, jj]
        orow[6] = pp_c
        orow[7] = bubble
        orow[8] = dp_g
        orow[9] = dp_p
        orow[10] = t_opt
        step = m * pace[rc] + pp_c + bubble + dp_g + dp_p + t_opt
        orow[O_STEP] = step
        orow[O_MEM] = mem
        orow[O_FITS] = 1.0 if mem <= c[C_HBM] else 0.0
        orow[O_DP_RAW] = dp_raw
        n_a2a = EP_ALL_TO_ALLS + (EP_FULL_RECOMPUTE if rc == 2 else (c[C_SEL_A2A] if rc == 1 else 0.0))
        nm_a = lay[li, arg[rc], L_NM]
        rm_a = lay[li, arg[rc], L_RM]
        if mtp_moe:       # the MTP modules' MoE layers dispatch too (re-dispatch: those recomputed, L_RX)
            nm_a += lay[li, arg[rc], L_HEAD] * n_mtp
            rm_a += lay[li, arg[rc], L_RX]
        if ep > 1 and rc == 2 and rm_a < nm_a:   # only the recomputed MoE layers re-dispatch
            ep_raw = m * imb * q[Q_EP] * (EP_ALL_TO_ALLS * nm_a + EP_FULL_RECOMPUTE * rm_a)
        else:
            ep_raw = m * n_a2a * imb * q[Q_EP] * nm_a if ep > 1 else 0.0
        orow[O_NET] = (dp_net + ep_raw * q[Q_EP_NET] + m * comp[rc, 3] * q[Q_TP_NET]
                       + m * comp[rc, 4] * q[Q_CP_NET] + pp_c * pp_net)


@njit(cache=True)
def v_greedy_keys(c, heads):
    """The executed schedules (ZB-H1, ZBV, V-Half, V-Min: ``c``'s schedule, :data:`EXECUTED_SCHEDULES`)
    a call over ``heads`` replays:
    (pp, micro-batches) per distinct key, the head's key index (−1: none, pp = 1 or another
    schedule) and each key's row offset in the stacked programs (:func:`v_greedy_table`): the
    keys of :func:`executed_keys` for those schedules (none for the interleaved one)."""
    sched = int(c[C_PP_SCHED])
    if not is_executed(sched):
        nh = heads.shape[0]
        return np.zeros(0, np.int64), np.zeros(0, np.int64), np.full(nh, -1, np.int64), np.zeros(1, np.int64)
    kp, km, kv, kid, koff = executed_keys(c, heads)
    return kp, km, kid, koff


@njit(cache=True)
def executed_keys(c, heads):
    """The programs a call over ``heads`` replays under ``c``'s schedule: an executed schedule's
    (:data:`EXECUTED_SCHEDULES`) per distinct (pp, micro-batches), the interleaved schedule's
    (:data:`PP_SCHED_INTERLEAVED`, heads with pp > 1 and vp > 1) per distinct (pp,
    micro-batches, vp), the plain 1F1B schedule's (:data:`PP_SCHED_1F1B` with C_PP_EXEC set,
    heads with 1 < pp ≤ RANK_MASK_BITS and vp = 1: :func:`executes_1f1b`) per distinct (pp,
    micro-batches): (pp, micro-batches, vp) per key (vp 1 for the executed schedules, whose
    programs do not depend on it), the head's key index (−1: none) and each key's row offset in
    the stacked full programs (passes per rank and micro-batch: 3 ZB-H1, 6 the V schedules,
    2·vp interleaved, 2 plain 1F1B)."""
    nh = heads.shape[0]
    kid = np.full(nh, -1, np.int64)
    sched = int(c[C_PP_SCHED])
    kp = np.zeros(nh, np.int64)
    km = np.zeros(nh, np.int64)
    kv = np.ones(nh, np.int64)
    koff = np.zeros(nh + 1, np.int64)
    nk = 0
    il = sched == PP_SCHED_INTERLEAVED
    f1 = sched == PP_SCHED_1F1B and c[C_PP_EXEC] > 0.5
    if not (is_executed(sched) or il or f1):
        return kp[:0], km[:0], kv[:0], kid, koff[:1]
    for h in range(nh):
        pp = heads[h, H_PP]
        vp = heads[h, H_VP] if (il or f1) else 1
        if pp <= 1 or (il and vp <= 1) or (f1 and (vp != 1 or pp > RANK_MASK_BITS)):   # executes_1f1b's
            continue
        # passes per micro-batch and rank
        rows = 2 * vp if (il or f1) else (3 if sched == PP_SCHED_ZB_H1 else 6)
        mk = micro_batches_int(c[C_GBATCH] / (heads[h, H_DP] * heads[h, H_MBS]))
        j = -1
        for i in range(nk):     # few distinct keys per call (pp sizes × micro-batch counts)
            if kp[i] == pp and km[i] == mk and kv[i] == vp:
                j = i
                break
        if j < 0:
            j = nk
            kp[j] = pp
            km[j] = mk
            kv[j] = vp
            koff[j + 1] = koff[j] + pp * rows * mk
            nk += 1
        kid[h] = j
    return kp[:nk], km[:nk], kv[:nk], kid, koff[:nk + 1]


@njit(cache=True)
def _v_fill(c, kp, km, koff, progs, i):
    progs[koff[i]:koff[i + 1]] = schedule_program(int(c[C_PP_SCHED]), kp[i], km[i])


@njit(cache=True)
def v_greedy_table(c, heads):
    """Every executed schedule a call over ``heads`` replays, built once: the stacked
    :func:`schedule_program` rows of each distinct (pp,
    micro-batches) and each head's first and last row (0, 0 when it replays none). The order
    does not depend on the pass times, so one build serves every head and tail row of that key
    (building it costs about four replays)."""
    kp, km, kid, koff = v_greedy_keys(c, heads)
    progs = np.empty((koff[-1], PROGRAM_COLS), np.int64)
    for i in range(kp.shape[0]):
        _v_fill(c, kp, km, koff, progs, i)
    return progs, _v_span(kid, koff)


@njit(cache=True, parallel=True)
def v_greedy_table_parallel(c, heads):
    """:func:`v_greedy_table`, the distinct schedules built in parallel."""
    kp, km, kid, koff = v_greedy_keys(c, heads)
    progs = np.empty((koff[-1], PROGRAM_COLS), np.int64)
    for i in prange(kp.shape[0]):
        _v_fill(c, kp, km, koff, progs, i)
    return progs, _v_span(kid, koff)


@njit(cache=True)
def _x_fill(c, kp, km, kv, koff, progs, i):
    _fill_key(int(c[C_PP_SCHED]), kp, km, kv, koff, progs, i)


@njit(cache=True)
def _x_offsets(kp, koff):
    """The key offsets of :func:`v_greedy_keys` with each key's block grown by its pp trailer
    rows (:func:`infra_lab._kernels.pipeline_greedy.compact_program`) and its pp rows of the
    chunk-forwards each rank holds at its peak (:func:`_fill_key`)."""
    xoff = koff.copy()
    for i in range(kp.shape[0]):
        xoff[i + 1] = xoff[i] + (koff[i + 1] - koff[i]) + 2 * kp[i]
    return xoff


@njit(cache=True)
def executed_table(c, heads):
    """What the step kernel replays: :func:`v_greedy_table`'s programs, one per distinct (pp,
    micro-batches) of the call, each in its compact form
    (:func:`infra_lab._kernels.pipeline_greedy.compact_program`: int32 rows of the previous pass
    on the rank, the input's pass and the cost index, then pp trailer rows) followed by pp rows of
    :func:`infra_lab._kernels.pipeline_greedy.chunk_inflight_peaks` (the chunk-forwards each rank
    holds at its peak), stacked, and each head's first and last row (0, 0 when it replays none). The compact form replays the same
    program with the same arithmetic (bit for bit) at about half the time per pass and a quarter
    of the memory (benchmarks/bench_search.py)."""
    kp, km, kv, kid, koff = executed_keys(c, heads)
    xoff = _x_offsets(kp, koff)
    progs = np.empty((xoff[-1], COMPACT_COLS), np.int32)
    for i in range(kp.shape[0]):
        _x_fill(c, kp, km, kv, xoff, progs, i)
    return progs, _v_span(kid, xoff)


@njit(cache=True)
def _v_span(kid, koff):
    span = np.zeros((kid.shape[0], 2), np.int64)
    for h in range(kid.shape[0]):
        if kid[h] >= 0:
            span[h, 0] = koff[kid[h]]
            span[h, 1] = koff[kid[h] + 1]
    return span


@njit(cache=True, parallel=True)
def fill_programs(code, kp, km, kv, xoff, keys, progs):
    """Write the compact program (:func:`executed_table`'s rows) of the executed schedule
    ``code`` (its PP_SCHEDULES index) for each key index i in ``keys`` (pp ``kp[i]``, ``km[i]``
    micro-batches, ``kv[i]`` chunks per rank for the interleaved schedule) into
    ``progs[xoff[i]:xoff[i + 1]]``, the keys built in parallel: the rows :func:`executed_table`
    writes there, from the same calls (the programs depend on (sched, pp, micro-batches, vp) only;
    :func:`infra_lab.training.programs.executed_programs` keeps them between calls)."""
    for j in prange(keys.shape[0]):
        _fill_key(code, kp, km, kv, xoff, progs, keys[j])


@njit(cache=True)
def _fill_key(code, kp, km, kv, xoff, progs, i):
    """Key i's block of :func:`executed_table`: the compact program, then pp rows of
    :func:`infra_lab._kernels.pipeline_greedy.chunk_inflight_peaks` of it (the chunk-forwards each
    rank holds at its peak, per chunk; built once per key, not per plan head); for the
    interleaved schedule and plain 1F1B (code 0, keyed only under C_PP_EXEC) Megatron-Core's
    order (:func:`_fill_megatron_key`)."""
    if code == PP_SCHED_INTERLEAVED or code == PP_SCHED_1F1B:
        _fill_megatron_key(kp, km, kv, xoff, progs, i)
        return
    pp = kp[i]
    end = xoff[i + 1] - pp
    o = xoff[i]
    prog = compact_program(schedule_program(code, pp, km[i]), pp, km[i])
    _copy_program(prog, progs, o, end)
    # the transfers the step waits for under Primus' runtime (primus_p2p_count; −1 where its walk
    # deadlocks), in the third column of the program's first trailer row (unused by the replay)
    progs[end - pp, 2] = primus_p2p_count(code, pp, km[i])
    chunk_inflight_peaks(progs[o:end], pp, progs[end:xoff[i + 1]])


@njit(cache=True)
def _fill_megatron_key(kp, km, kv, xoff, progs, i):
    """Key i's block of :func:`executed_table` for Megatron-Core's 1F1B orders (interleaved,
    kv[i] chunks per rank, microbatch_group_size_per_vp_stage = pp; plain 1F1B with kv[i] = 1):
    the compact program, then pp rows of zeros. Apart from :func:`_fill_key` so that an
    il.estimate of a 1F1B or interleaved plan does not compile the executed schedules' order
    builders (:func:`schedule_program`; about 11 s of CPU on an empty cache)."""
    pp = kp[i]
    end = xoff[i + 1] - pp
    o = xoff[i]
    prog = interleaved_program(interleaved_order(pp, km[i], kv[i], pp), pp, km[i], kv[i])
    _copy_program(prog, progs, o, end)
    for r in range(end, xoff[i + 1]):
        for j in range(COMPACT_COLS):
            progs[r, j] = 0


@njit(cache=True)
def _copy_program(prog, progs, o, end):
    """``prog`` into rows o … end − 1 of ``progs``, copied row by row: a slice assignment
    compiles numba's broadcast check and its message formatting (about 2.5 s of CPU on an empty
    cache) for shapes that agree by construction."""
    if prog.shape[0] != end - o:
        raise ValueError("_fill_key: the program's rows differ from its block in the table")
    for r in range(prog.shape[0]):
        for j in range(COMPACT_COLS):
            progs[o + r, j] = prog[r, j]


@njit(cache=True, parallel=True)
def evaluate_plans_with(c, tab, htab, xtab, lay, ncand, comm, heads, tail, out, progs, span):
    """:func:`evaluate_plans` with the executed schedules' programs given (``progs``, ``span``
    as :func:`executed_table` returns them; :func:`infra_lab.training.programs.executed_programs`
    keeps them between calls), parallel over heads. Search and estimate call it only for an
    executed schedule (ZB-H1, ZBV, V-Half, V-Min); 1F1B / interleaved, with nothing to build,
    go through :func:`evaluate_plans` / :func:`evaluate_serial`: on the 175B default space the
    serial form of this entry ran about 11 % slower per CPU-second than evaluate_serial (the
    same eval_head; both in one process, 30 paired runs), so the default search keeps those."""
    nt = tail.shape[0]
    for h in prange(heads.shape[0]):
        eval_head(c, tab, htab, xtab, lay, ncand, comm, heads[h], tail, out, h * nt,
                  progs[span[h, 0]:span[h, 1]])


@njit(cache=True)
def evaluate_serial_with(c, tab, htab, xtab, lay, ncand, comm, heads, tail, out, progs, span):
    """:func:`evaluate_plans_with` without threads (one or a few plans: no pool start-up)."""
    nt = tail.shape[0]
    for h in range(heads.shape[0]):
        eval_head(c, tab, htab, xtab, lay, ncand, comm, heads[h], tail, out, h * nt,
                  progs[span[h, 0]:span[h, 1]])


@njit(cache=True)
def _closed_form_only(c, heads):
    """ValueError unless every head is priced in closed form: ``c``'s schedule is 1F1B /
    interleaved, or a head has no pipeline (pp = 1: no bubble, no program)."""
    if is_executed(int(c[C_PP_SCHED])):
        for h in range(heads.shape[0]):
            if heads[h, H_PP] > 1:
                raise ValueError("evaluate_plans / evaluate_serial price 1F1B / interleaved only: an "
                                 "executed schedule with pp > 1 goes through evaluate_plans_with / "
                                 "evaluate_serial_with")


@njit(cache=True, parallel=True)
def evaluate_plans(c, tab, htab, xtab, lay, ncand, comm, heads, tail, out):
    """Evaluate every head row (int64, (n_heads, N_HEAD)) against every tail row (int64,
    (n_tail, 3)) into ``out`` (float64, (n_heads·n_tail, N_OUT)), plan h·n_tail + t, in
    parallel over heads, under a schedule priced in closed form (1F1B / interleaved: ``c``'s
    schedule not in :data:`EXECUTED_SCHEDULES`, or heads of pp 1 only; else ValueError,
    :func:`_closed_form_only`). An executed schedule's heads go
    through :func:`evaluate_plans_with` with their programs (:func:`executed_table`,
    :func:`infra_lab.training.programs.executed_programs`): this entry builds none, so it does
    not reach, and a first call does not compile, the schedules' order builders."""
    _closed_form_only(c, heads)
    nt = tail.shape[0]
    progs = np.empty((0, COMPACT_COLS), np.int32)   # no program: eval_head reads none
    for h in prange(heads.shape[0]):
        eval_head(c, tab, htab, xtab, lay, ncand, comm, heads[h], tail, out, h * nt, progs[0:0])


@njit(cache=True)
def evaluate_serial(c, tab, htab, xtab, lay, ncand, comm, heads, tail, out):
    """:func:`evaluate_plans` without threads (one or a few plans: no pool start-up); the same
    schedules only."""
    _closed_form_only(c, heads)
    nt = tail.shape[0]
    progs = np.empty((0, COMPACT_COLS), np.int32)
    for h in range(heads.shape[0]):
        eval_head(c, tab, htab, xtab, lay, ncand, comm, heads[h], tail, out, h * nt, progs[0:0])


GATHERED = O_MEM + 1               # components, step, memory: the outputs the frame shows
DERIVED_NAMES = ("tokens_per_s", "tokens_per_s_per_gpu", "mfu", "tflops_per_gpu", "nic_busy_fraction")
"""Columns :func:`gather_columns` derives per plan after the :data:`GATHERED` outputs."""
PLAN_INTS = ("tp", "pp", "vp", "cp", "ep", "etp", "dp", "micro_batch", "zero")
"""The int32 plan columns :func:`gather_columns` writes, in this order."""
PLAN_FLAGS = ("fsdp", "sequence_parallel", "fits", "runnable")
"""The boolean columns :func:`gather_columns` writes, in this order."""

# ---------------------------------------------------------------------------------------
# the search frame: plan order and column gather
# ---------------------------------------------------------------------------------------


def _prefetch_intrinsic_name() -> str:
    """LLVM's name for the prefetch intrinsic on an ``i8*`` argument: mangled ``p0`` since
    LLVM 17 (opaque pointers only; the lock's llvmlite 0.50 is LLVM 22), ``p0i8`` before
    (typed pointers, e.g. the LLVM 14 of numba 0.60, the lowest version pyproject allows)."""
    from llvmlite import binding
    return "llvm.prefetch.p0" if binding.llvm_version_info[0] >= 17 else "llvm.prefetch.p0i8"


_PREFETCH_INTRINSIC = _prefetch_intrinsic_name()


@intrinsic
def _prefetch_row(typingctx, arr, i):
    """Ask the CPU to start loading row ``i`` of a C-contiguous 2-D array (``llvm.prefetch``:
    read, keep in all cache levels). A hint only: no value changes, and the row must exist."""
    sig = types.void(arr, i)

    def codegen(context, builder, signature, args):
        aryty = signature.args[0]
        ary = context.make_array(aryty)(context, builder, args[0])
        zero = context.get_constant(types.intp, 0)
        ptr = cgutils.get_item_pointer(context, builder, aryty, ary, [args[1], zero],
                                       wraparound=False, boundscheck=False)
        i8p = ir.IntType(8).as_pointer()
        i32 = ir.IntType(32)
        fnty = ir.FunctionType(ir.VoidType(), [i8p, i32, i32, i32])
        fn = cgutils.get_or_insert_function(builder.module, fnty, _PREFETCH_INTRINSIC)
        builder.call(fn, [builder.bitcast(ptr, i8p), ir.Constant(i32, 0), ir.Constant(i32, 3),
                          ir.Constant(i32, 1)])
        return context.get_dummy_value()

    return sig, codegen


PREFETCH_AHEAD = 16
"""Rows :func:`gather_columns` asks for ahead of the one it copies (measured on a 2.3M-plan
frame: the random-order row reads take about a seventh of the time without the hint)."""

_SIGN = np.uint64(1 << 63)
_ALL_BITS = np.uint64(0xFFFFFFFFFFFFFFFF)
RADIX_BITS = 8
"""Bits per pass of :func:`radix_order` (8 measured faster than 11 on a 2.3M-plan space:
256 buckets keep the scatter's write streams few)."""
_RADIX = 1 << RADIX_BITS
_DIGITS = 64 // RADIX_BITS


@njit(cache=True)
def _digit_counts(keys, m, hist):
    """hist[d, b] = number of keys[:m] whose digit d (RADIX_BITS bits from bit d·RADIX_BITS)
    is b."""
    mask = np.uint64(_RADIX - 1)
    hist[:, :] = 0
    for i in range(m):
        x = keys[i]
        for d in range(_DIGITS):
            hist[d, (x >> np.uint64(d * RADIX_BITS)) & mask] += 1


@njit(cache=True)
def order_keys(out, col, feasible_only, keys, plans):
    """The plans of the frame and their sort keys, in plan order; returns their number m.
    Plan i is kept unless ``feasible_only`` and it does not fit (out[i, O_FITS] ≤ 0.5) or
    cannot run (out[i, O_STEP] not < inf); plans[:m] are the kept plans and keys[:m] (uint64)
    their out[i, col] mapped so that unsigned order is the float order (−0.0 as 0.0, every
    NaN last and equal): sorting (key, position) sorts by value with ties in plan order.
    ``keys`` and ``plans`` hold at least out.shape[0] entries."""
    n = out.shape[0]
    vals = keys.view(np.float64)
    m = 0
    for i in range(n):
        if not feasible_only or (out[i, O_FITS] > 0.5 and out[i, O_STEP] < np.inf):
            x = out[i, col]
            vals[m] = 0.0 if x == 0.0 else x     # −0.0 → 0.0 (equal floats, equal keys)
            u = keys[m]
            if x != x:
                u = _ALL_BITS
            elif x < 0.0:
                u = ~u
            else:
                u |= _SIGN
            keys[m] = u
            plans[m] = i
            m += 1
    return m


@njit(cache=True)
def radix_order(keys, plans, m, hist, keys2, plans2):
    """plans[:m] ordered by keys[:m] (uint64), ties in their input order: a least-significant
    -digit radix sort, RADIX_BITS bits a pass, from the digit counts ``hist``
    (:func:`_digit_counts`), skipping the digits in which all keys agree. keys/plans and
    keys2/plans2 (as long) are the two buffers the passes alternate between; returns the
    ordered plans (a view of plans or plans2) and leaves ``hist`` as offsets."""
    sk, sp, dk, dp = keys, plans, keys2, plans2
    mask = np.uint64(_RADIX - 1)
    for d in range(_DIGITS):
        h = hist[d]
        full = False
        for b in range(_RADIX):
            if h[b] == m:
                full = True
        if full:                   # every key has the same digit d: the pass would not move any
            continue
        tot = 0
        for b in range(_RADIX):
            t = h[b]
            h[b] = tot
            tot += t
        sh = np.uint64(d * RADIX_BITS)
        for i in range(m):
            x = sk[i]
            b = (x >> sh) & mask
            q = h[b]
            dk[q] = x
            dp[q] = sp[i]
            h[b] = q + 1
        sk, dk = dk, sk
        sp, dp = dp, sp
    return sp[:m]


@njit(cache=True, inline="always")
def _pair_after(hk, hp, a, b):
    """(hk[a], hp[a]) > (hk[b], hp[b]): heap entry a comes after b (key, then position)."""
    return hk[a] > hk[b] or (hk[a] == hk[b] and hp[a] > hp[b])


@njit(cache=True)
def smallest_order(keys, plans, m, top, hist):
    """The plans of the ``top`` smallest (key, position) of keys[:m], in order: a bounded
    max-heap of (key, position) over one pass finds the ``top``-th smallest pair, a second
    pass takes every pair up to it in position order, :func:`radix_order` sorts those. The
    same plans as the first ``top`` of :func:`radix_order`."""
    hk = np.empty(top, dtype=np.uint64)
    hp = np.empty(top, dtype=np.int64)
    for i in range(top):                     # a max-heap of the first ``top`` pairs
        hk[i] = keys[i]
        hp[i] = i
        j = i
        while j > 0:
            u = (j - 1) // 2
            if _pair_after(hk, hp, u, j):
                break
            hk[u], hk[j] = hk[j], hk[u]
            hp[u], hp[j] = hp[j], hp[u]
            j = u
    for i in range(top, m):
        x = keys[i]
        if x >= hk[0]:            # with an equal key the later position is the larger pair
            continue
        hk[0] = x
        hp[0] = i
        j = 0
        while True:
            a = 2 * j + 1
            if a >= top:
                break
            b = a + 1
            if b < top and _pair_after(hk, hp, b, a):
                a = b
            if _pair_after(hk, hp, j, a):
                break
            hk[a], hk[j] = hk[j], hk[a]
            hp[a], hp[j] = hp[j], hp[a]
            j = a
    tk = hk[0]
    tp = hp[0]
    sk = np.empty(top, dtype=np.uint64)
    sp = np.empty(top, dtype=np.int64)
    k = 0
    for i in range(m):
        if keys[i] < tk or (keys[i] == tk and i <= tp):
            sk[k] = keys[i]
            sp[k] = plans[i]
            k += 1
    _digit_counts(sk, top, hist)
    return radix_order(sk, sp, top, hist, hk, hp).copy()


@njit(cache=True)
def runnable_first(out, keys, plans, m, keys2, plans2):
    """Stable partition of the kept plans (keys[:m], plans[:m]): the runnable ones (step time
    below inf) first, then the others, each in their order; keys2/plans2 (as long) are scratch.
    Returns the number of runnable plans."""
    r = 0
    for i in range(m):
        if out[plans[i], O_STEP] < np.inf:
            keys[r] = keys[i]
            plans[r] = plans[i]
            r += 1
        else:
            keys2[i - r] = keys[i]
            plans2[i - r] = plans[i]
    for i in range(m - r):
        keys[r + i] = keys2[i]
        plans[r + i] = plans2[i]
    return r


def _segment_order(keys, plans, keys2, plans2, m, top, hist):
    """plans[:m] ordered by (keys[:m], position), the first ``top`` (None: all)."""
    if top is not None and top < m and top * 8 <= m:
        return smallest_order(keys, plans, m, top, hist)
    _digit_counts(keys, m, hist)
    idx = radix_order(keys, plans, m, hist, keys2, plans2)
    return idx if top is None else idx[:top]


def plan_order(out, col, feasible_only, top, work=None):
    """Plans (int64 row numbers of ``out``) in the search frame's order: kept as in
    :func:`order_keys`, runnable plans (step time below inf) before the others, each group by
    out[:, col] ascending with ties in plan order, the first ``top`` (None: all). With
    ``feasible_only`` every kept plan is runnable; by step time (col = O_STEP) the plans that
    cannot run sort last anyway (inf); by memory they did not: a plan with no path on the
    fabric came first. ``work``: optional int64 (4, ≥ n) buffers for the sort (the result may
    be a view of them). Independent reference:
    :func:`infra_lab._kernels.training_reference.plan_order_reference`."""
    n = out.shape[0]
    if work is None:        # numpy's allocations: large ones on huge pages, which the scatter passes need (TLB)
        work = np.empty((4, n), dtype=np.int64)
    keys, plans, keys2, plans2 = work[0].view(np.uint64), work[1], work[2].view(np.uint64), work[3]
    hist = np.empty((_DIGITS, _RADIX), dtype=np.int64)
    m = order_keys(out, col, feasible_only, keys, plans)
    r = m if (feasible_only or col == O_STEP) else runnable_first(out, keys, plans, m, keys2, plans2)
    if r == m or r == 0:
        return _segment_order(keys, plans, keys2, plans2, m, top, hist)
    first = _segment_order(keys[:r], plans[:r], keys2[:r], plans2[:r], r, top, hist)
    if top is not None and top <= r:
        return first
    rest = _segment_order(keys[r:m], plans[r:m], keys2[r:m], plans2[r:m], m - r,
                          None if top is None else top - r, hist)
    return np.concatenate((first, rest))


@njit(cache=True)
def _gather_range(out, idx, heads, tail, res, plan, flags, rc, scale, lo, hi):
    """:func:`gather_columns` for the plans idx[lo:hi], in three passes over that range."""
    nt = tail.shape[0]
    for i in range(lo, hi):
        if i + PREFETCH_AHEAD < hi:
            _prefetch_row(out, idx[i + PREFETCH_AHEAD])
        o = out[idx[i]]
        for j in range(GATHERED):
            res[j, i] = o[j]
        flags[2, i] = o[O_FITS] > 0.5
        res[GATHERED + 4, i] = o[O_NET]    # the network time, until the next pass makes it the busy fraction
    for i in range(lo, hi):
        st = res[O_STEP, i]
        if st < np.inf:
            inv = 1.0 / st
            busy = res[GATHERED + 4, i] * inv
            if busy > 1.0:
                busy = 1.0
        else:
            inv = 0.0
            busy = 1.0
        tok = scale[0] * inv
        res[GATHERED, i] = tok
        res[GATHERED + 1, i] = tok / scale[3]
        res[GATHERED + 2, i] = scale[1] * inv
        res[GATHERED + 3, i] = scale[2] * inv
        res[GATHERED + 4, i] = busy
        flags[3, i] = st < np.inf
    for i in range(lo, hi):
        if i + PREFETCH_AHEAD < hi:
            _prefetch_row(heads, idx[i + PREFETCH_AHEAD] // nt)
        k = idx[i]
        h = k // nt
        t = k - h * nt
        for j in range(8):                 # tp, pp, vp, cp, ep, etp, dp, micro_batch
            plan[j, i] = heads[h, j]
        plan[8, i] = tail[t, 0]
        flags[0, i] = tail[t, 1] > 0
        flags[1, i] = heads[h, H_SP] > 0
        rc[i] = tail[t, 2]


GATHER_SERIAL_BELOW = 4096
"""Frames of fewer plans are gathered without threads (no parallel region to start)."""


def gather_columns(out, idx, heads, tail, res, plan, flags, rc, scale, nchunks):
    """The search frame's columns for plans ``idx`` in that order. Each of ``nchunks`` (the
    threads) takes one contiguous range of the frame's rows (one parallel region: on a shared
    machine every region waits for its slowest thread) and fills it in three passes (measured
    faster than one: each keeps few memory streams in flight). Rows: res[j, i] =
    out[idx[i], j] for the :data:`GATHERED` outputs, the ones the frame shows (each plan's
    outputs are one contiguous 128-byte row of ``out``; rows come in random order, so the row
    :data:`PREFETCH_AHEAD` plans ahead is prefetched); fits, the raw DP time and the network
    time are read there but not kept as columns. Derived: the :data:`DERIVED_NAMES` columns
    tokens/s = scale[0] · (1 / step), tokens/s per GPU = that / scale[3] (the world size),
    MFU = scale[1] · (1 / step), TFLOP/s per GPU = scale[2] · (1 / step) and the NIC busy
    fraction min(1, network time · (1 / step)) — 0, 0, 0, 0 and 1 for a plan that cannot run
    (step inf) — and the fits and runnable flags. Plan: plan[:, i] (int32) =
    the plan's :data:`PLAN_INTS` from its head and tail rows, flags[:, i] (bool) its
    :data:`PLAN_FLAGS` and rc[i] (uint32) its recompute code.
    Frames of fewer than :data:`GATHER_SERIAL_BELOW` plans are gathered by one serial pass (the
    parallel kernel is then neither compiled nor started)."""
    n = idx.shape[0]
    if n < GATHER_SERIAL_BELOW:
        _gather_range(out, idx, heads, tail, res, plan, flags, rc, scale, np.int64(0), np.int64(n))
    else:
        _gather_parallel(out, idx, heads, tail, res, plan, flags, rc, scale, np.int64(nchunks))


@njit(cache=True, parallel=True)
def _gather_parallel(out, idx, heads, tail, res, plan, flags, rc, scale, nchunks):
    """:func:`gather_columns` on ``nchunks`` threads, one contiguous range of rows each."""
    n = idx.shape[0]
    for c in prange(nchunks):
        _gather_range(out, idx, heads, tail, res, plan, flags, rc, scale, n * c // nchunks, n * (c + 1) // nchunks)
