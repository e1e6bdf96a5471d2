"""The training-step model: one plain-Python function, compiled once more by numba.

:func:`step_model` is written once over floats and ints. The plain-Python function is the
reference (``infra_lab.training.estimate`` calls it); :data:`step_model_nb` is the same
function compiled with ``numba.njit(cache=True)``, and :func:`evaluate_plans` is the
``njit(parallel=True)`` driver that runs it over an array of plans with ``prange``. Because
both paths execute the same source, they agree to rounding (tests check 1e-9 relative).

Inputs (built by :mod:`infra_lab.training`; hardware numbers only come in as arguments):

``c``    float64 vector of constants, indexed by the ``C_*`` names below (model sizes,
         hardware bandwidths and latencies, the software stack's named factors).
``tab``  float64 array ``[kind, part, tp_i, mbs_i, cp_i, sp]`` of per-layer times of one
         micro-batch on one rank [s], from the compute model (:func:`infra_lab.compute.layer_ops`).
         kind: 0 dense-like layer, 1 MoE layer, 2 LM head. part: see ``P_*``.
``plan`` int64 row: ``tp, pp, vp, cp, ep, dp, mbs, zero, fsdp, recompute, sp, tp_i, mbs_i, cp_i``
         (recompute: 0 none, 1 selective, 2 full).

Output: a tuple of :data:`N_OUT` floats, named by :data:`OUT_NAMES`: the 11 step
components [s] (summing to ``step_time_s``), ``step_time_s``, ``memory_per_gpu_bytes`` —
the formula of :func:`infra_lab.memory.training_memory`, with activation bytes per layer
tabulated from :func:`infra_lab.memory.activation_bytes_per_layer` — and ``fits`` (1.0/0.0).

Notation of the formulas (all per optimizer step, on the slowest pipeline stage):
m = global_batch/(dp·mbs) micro-batches, L_s = L/pp layers per stage,
t_f, t_b, t_r = forward, backward and recomputation time of one micro-batch on a stage.
Exposed communication = c − o·min(c, w): a collective of time c overlaps a compute window w
with efficiency o (a named factor of the software stack).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

# ---------------------------------------------------------------------------------------
# constant-vector layout
# ---------------------------------------------------------------------------------------
C_NAMES = (
    # model
    "L", "NMOE", "H", "S", "V", "HKV", "TOPK",
    "P_LAYERS", "P_EXPERTS", "P_EMB", "P_HEAD", "DROPOUT",
    # training
    "GB",
    # hardware
    "HBM", "D", "MESH", "LINK_BW", "NLINKS", "NIC_BW", "RAILS_ONLY", "A2A_PENALTY",
    "BASE_LAT", "A_UP", "A_NET",
    # software stack
    "FW_SCALE", "MEM_SCALE", "TP_OVL", "CP_OVL", "EP_OVL", "EP_IMB", "PP_OVL", "DP_OVL",
    "Z3_OVL", "Z3_EFF", "GRAD_BYTES", "GRADBUF_BYTES", "OPT_STATE_BYTES", "WEIGHT_BYTES",
    "ACT_BYTES", "OPT_T_PER_PARAM", "MEM_RESERVE",
)
(C_L, C_NMOE, C_H, C_S, C_V, C_HKV, C_TOPK,
 C_P_LAYERS, C_P_EXPERTS, C_P_EMB, C_P_HEAD, C_DROPOUT,
 C_GB,
 C_HBM, C_D, C_MESH, C_LINK_BW, C_NLINKS, C_NIC_BW, C_RAILS_ONLY, C_A2A_PENALTY,
 C_BASE_LAT, C_A_UP, C_A_NET,
 C_FW_SCALE, C_MEM_SCALE, C_TP_OVL, C_CP_OVL, C_EP_OVL, C_EP_IMB, C_PP_OVL, C_DP_OVL,
 C_Z3_OVL, C_Z3_EFF, C_GRAD_BYTES, C_GRADBUF_BYTES, C_OPT_STATE_BYTES, C_WEIGHT_BYTES,
 C_ACT_BYTES, C_OPT_T_PER_PARAM, C_MEM_RESERVE) = range(len(C_NAMES))
N_CONST = len(C_NAMES)

# table parts (per layer, one micro-batch, one rank): times [s], then activation bytes
# stored for backward [bytes] by recompute mode (from infra_lab.memory)
PART_NAMES = ("fwd_gemm", "fwd_expert", "fwd_attn", "fwd_mem",
              "bwd_gemm", "bwd_expert", "bwd_attn", "bwd_mem", "sel_recompute",
              "act_none", "act_selective", "act_full")
(P_FWD_GEMM, P_FWD_EXPERT, P_FWD_ATTN, P_FWD_MEM,
 P_BWD_GEMM, P_BWD_EXPERT, P_BWD_ATTN, P_BWD_MEM, P_SEL,
 P_ACT_NONE, P_ACT_SEL, P_ACT_FULL) = range(len(PART_NAMES))
K_DENSE, K_MOE, K_HEAD = 0, 1, 2

PLAN_NAMES = ("tp", "pp", "vp", "cp", "ep", "dp", "micro_batch", "zero", "fsdp", "recompute",
              "sequence_parallel", "tp_i", "mbs_i", "cp_i")
N_PLAN = len(PLAN_NAMES)

OUT_NAMES = ("compute_fwd", "compute_bwd", "compute_recompute", "tp_comm", "cp_comm", "ep_comm",
             "pp_p2p", "pp_bubble", "dp_grad_comm", "dp_param_comm", "optimizer",
             "step_time_s", "memory_per_gpu_bytes", "fits")
N_OUT = len(OUT_NAMES)
N_COMPONENTS = 11  # the first 11 outputs sum to step_time_s


def step_model(c, tab, tp, pp, vp, cp, ep, dp, mbs, zero, fsdp, rc, sp, ti, mi, ci):
    """Seconds of each step component, the step time, memory per GPU and fits (1.0/0.0).

    Plain Python over floats and ints (the reference); :data:`step_model_nb` is the same
    function compiled by numba. See the module docstring for the inputs.
    """
    spi = 1 if sp > 0 else 0
    m = c[C_GB] / (dp * mbs)                       # micro-batches per step
    Ls = c[C_L] / pp                               # layers per stage
    nmoe = c[C_NMOE] / pp                          # MoE layers per stage
    ndense = Ls - nmoe
    imb = c[C_EP_IMB] if ep > 1 else 1.0           # straggler factor of expert parallelism
    fw = c[C_FW_SCALE]
    ms = c[C_MEM_SCALE]
    D = c[C_D]

    # --- compute of one micro-batch on the slowest stage (layers + LM head) ----------
    def fwd(k, im):
        return (fw * (tab[k, 0, ti, mi, ci, spi] + im * tab[k, 1, ti, mi, ci, spi]
                      + tab[k, 2, ti, mi, ci, spi]) + ms * tab[k, 3, ti, mi, ci, spi])

    def bwd(k, im):
        return (fw * (tab[k, 4, ti, mi, ci, spi] + im * tab[k, 5, ti, mi, ci, spi]
                      + tab[k, 6, ti, mi, ci, spi]) + ms * tab[k, 7, ti, mi, ci, spi])

    f_d = fwd(0, 1.0)
    f_m = fwd(1, imb)
    b_d = bwd(0, 1.0)
    b_m = bwd(1, imb)
    if rc == 2:
        r_d = f_d
        r_m = f_m
    elif rc == 1:
        r_d = fw * tab[0, 8, ti, mi, ci, spi]
        r_m = fw * tab[1, 8, ti, mi, ci, spi]
    else:
        r_d = 0.0
        r_m = 0.0
    t_f = ndense * f_d + nmoe * f_m + fwd(2, 1.0)
    t_b = ndense * b_d + nmoe * b_m + bwd(2, 1.0)
    t_r = ndense * r_d + nmoe * r_m

    # --- α–β collective costs ---------------------------------------------------------
    def local(g, st):          # members of a group (g ranks, stride st) in one scale-up domain
        if st >= D:
            return 1.0
        k = math.floor(D / st)
        return g * 1.0 if g < k else k * 1.0

    def bup(k):                # per-GPU scale-up bandwidth towards k-1 peers [B/s]
        if c[C_MESH] > 0.5:
            return (k - 1.0) * c[C_LINK_BW]
        return c[C_NLINKS] * c[C_LINK_BW]

    def clog2(x):
        n = 0
        v = 1.0
        while v < x - 1e-9:
            v *= 2.0
            n += 1
        return n * 1.0

    def t_ar(size, g, st):     # all-reduce: ring in one domain; across domains the ring's
        if g <= 1 or size <= 0.0:  # k channels leave through k NICs (NCCL/RCCL ring model)
            return 0.0
        k = local(g, st)
        nd = math.ceil(g / k)
        t = c[C_BASE_LAT] + 2.0 * (k - 1.0) * c[C_A_UP]
        if nd == 1:
            return t + 2.0 * (k - 1.0) / k * size / bup(k)
        b_ring = k * c[C_NIC_BW]
        if k > 1.0:
            b_up = bup(k) * k / (k - 1.0)
            if b_up < b_ring:
                b_ring = b_up
        return t + 2.0 * (g - 1.0) / g * size / b_ring + 2.0 * clog2(nd) * c[C_A_NET]

    def t_rs(size, g, st):     # reduce-scatter or all-gather of a size-byte array
        if g <= 1 or size <= 0.0:
            return 0.0
        return 0.5 * (t_ar(size, g, st) - c[C_BASE_LAT]) + c[C_BASE_LAT]

    def t_a2a(size, g, st):    # all-to-all, per-rank send buffer of size bytes
        if g <= 1 or size <= 0.0:
            return 0.0
        k = local(g, st)
        intra = 0.0
        inter = 0.0
        if k > 1.0:
            intra = (k - 1.0) / g * size / bup(k)
        if g > k:
            inter = (g - k) / g * size / c[C_NIC_BW]
            if c[C_RAILS_ONLY] > 0.5:
                inter *= 1.0 + c[C_A2A_PENALTY]
        a = c[C_A_UP] if g <= k else c[C_A_NET]
        return c[C_BASE_LAT] + (g - 1.0) * a + (intra if intra > inter else inter)

    def t_p2p(size, st):       # point-to-point to the rank st away
        if st < D:
            bw = c[C_LINK_BW] if c[C_MESH] > 0.5 else c[C_NLINKS] * c[C_LINK_BW]
            return c[C_BASE_LAT] + size / bw + c[C_A_UP]
        return c[C_BASE_LAT] + size / c[C_NIC_BW] + c[C_A_NET]

    def exposed(cost, ovl, window):
        return cost - ovl * (cost if cost < window else window)

    tok = mbs * c[C_S] / cp                        # tokens per rank per micro-batch
    ab = c[C_ACT_BYTES]
    H = c[C_H]

    # --- tensor parallel: 2 all-reduces (or RS+AG pairs with SP) per layer and pass ---
    tp_c = 0.0
    if tp > 1:
        n_ar = 4.0
        if rc == 2:
            n_ar += 2.0
        elif rc == 1 and spi == 1:
            n_ar += 1.0                             # all-gather redone in backward
        tp_c = Ls * n_ar * t_ar(tok * H * ab, tp, 1) * (1.0 - c[C_TP_OVL])

    # --- context parallel: ring exchange of K,V (and dK,dV) overlapped with attention --
    cp_c = 0.0
    if cp > 1:
        kv = tok * 2.0 * c[C_HKV] * ab / tp
        steps = 3.0 * (cp - 1.0) + ((cp - 1.0) if rc == 2 else 0.0)
        win = fw * (tab[0, 2, ti, mi, ci, spi] + tab[0, 6, ti, mi, ci, spi])
        if nmoe > 0.0:
            win = fw * (tab[1, 2, ti, mi, ci, spi] + tab[1, 6, ti, mi, ci, spi])
        cp_c = Ls * exposed(steps * t_p2p(kv, tp), c[C_CP_OVL], win)

    # --- expert parallel: dispatch + combine all-to-all per MoE layer and pass ---------
    ep_c = 0.0
    if ep > 1 and nmoe > 0.0:
        n_a = 4.0 + (2.0 if rc == 2 else 0.0)
        a2a = n_a * imb * t_a2a(tok * c[C_TOPK] * H * ab, ep, tp)
        win = fw * imb * (tab[1, 1, ti, mi, ci, spi] + tab[1, 5, ti, mi, ci, spi])
        ep_c = nmoe * exposed(a2a, c[C_EP_OVL], win)

    t_mb = t_f + t_b + t_r + tp_c + cp_c + ep_c    # one micro-batch on the slowest stage

    # --- pipeline: p2p of activations/gradients and the 1F1B / interleaved bubble ------
    pp_c = 0.0
    bubble = 0.0
    if pp > 1:
        pp_c = (2.0 * vp * (m + pp - 1.0) * t_p2p(tok * H * ab / tp, tp * cp * dp)
                * (1.0 - c[C_PP_OVL]))
        bubble = (pp - 1.0) / vp * t_mb

    # --- data parallel: gradients and (ZeRO-3/FSDP) parameters -------------------------
    # parameters on the first stage's GPU (as infra_lab.memory): layers and experts split
    # evenly over stages, the embedding on it, the LM head too when pp = 1
    p_ne = c[C_P_LAYERS] / pp / tp + c[C_P_EMB] / tp + (c[C_P_HEAD] / tp if pp == 1 else 0.0)
    p_e = c[C_P_EXPERTS] / pp / (tp * ep)
    g_ne = dp * cp * 1.0                           # non-expert gradient group, stride tp
    g_e = dp * cp / ep                             # expert data-parallel group, stride tp·ep
    gb = c[C_GRAD_BYTES]
    wb = c[C_WEIGHT_BYTES]
    shard3 = zero >= 3 or fsdp > 0
    if shard3:
        z3 = c[C_Z3_EFF]                           # achieved fraction of the α–β time
        c_rs = m * (t_rs(p_ne * gb, g_ne, tp) + t_rs(p_e * gb, g_e, tp * ep)) / z3
        c_ag = 2.0 * m * (t_rs(p_ne * wb, g_ne, tp) + t_rs(p_e * wb, g_e, tp * ep)) / z3
        dp_g = exposed(c_rs, c[C_Z3_OVL], m * t_b)
        dp_p = exposed(c_ag, c[C_Z3_OVL], m * (t_f + t_r))
    elif zero >= 1:
        c_rs = t_rs(p_ne * gb, g_ne, tp) + t_rs(p_e * gb, g_e, tp * ep)
        c_ag = t_rs(p_ne * wb, g_ne, tp) + t_rs(p_e * wb, g_e, tp * ep)
        dp_g = exposed(c_rs, c[C_DP_OVL], t_b)
        dp_p = exposed(c_ag, c[C_DP_OVL], t_f)
    else:
        c_ar = t_ar(p_ne * gb, g_ne, tp) + t_ar(p_e * gb, g_e, tp * ep)
        dp_g = exposed(c_ar, c[C_DP_OVL], t_b)
        dp_p = 0.0

    # --- optimizer: memory-bound update of the local (sharded) parameters --------------
    sh_ne = g_ne if (zero >= 1 or fsdp > 0) else 1.0
    sh_e = g_e if (zero >= 1 or fsdp > 0) else 1.0
    t_opt = (p_ne / sh_ne + p_e / sh_e) * c[C_OPT_T_PER_PARAM]

    step = (m * t_f + m * t_b + m * t_r + m * tp_c + m * cp_c + m * ep_c + pp_c + bubble
            + dp_g + dp_p + t_opt)

    # --- memory per GPU [bytes]: the formula of infra_lab.memory.training_memory ------
    z1 = zero >= 1 or fsdp > 0
    z2 = zero >= 2 or fsdp > 0
    w_mem = wb * (p_ne / (g_ne if shard3 else 1.0) + p_e / (g_e if shard3 else 1.0))
    g_mem = c[C_GRADBUF_BYTES] * (p_ne / (g_ne if z2 else 1.0) + p_e / (g_e if z2 else 1.0))
    o_mem = c[C_OPT_STATE_BYTES] * (p_ne / (g_ne if z1 else 1.0) + p_e / (g_e if z1 else 1.0))
    gather = 0.0
    if shard3:
        gather = 2.0 * (c[C_P_LAYERS] + c[C_P_EXPERTS] / ep) / c[C_L] / tp * wb
    in_flight = pp * 1.0 if vp == 1 else pp + (pp - 1.0) / vp
    if m < in_flight:
        in_flight = m
    pa = 9 + rc
    act = in_flight * (ndense * tab[0, pa, ti, mi, ci, spi] + nmoe * tab[1, pa, ti, mi, ci, spi])
    work = 0.0
    if rc == 2:
        if ndense > 0.0:
            work = tab[0, 9, ti, mi, ci, spi]
        if nmoe > 0.0 and tab[1, 9, ti, mi, ci, spi] > work:
            work = tab[1, 9, ti, mi, ci, spi]
    rep = tp * 1.0 if spi == 1 else 1.0
    head_act = 0.0
    if c[C_DROPOUT] > 0.5:
        head_act += in_flight * tok * H / rep
    if pp == 1:
        head_act += tok * ab * H / rep + tok * c[C_V] / tp * (ab + 4.0)
    mem = w_mem + g_mem + o_mem + gather + act + work + head_act + c[C_MEM_RESERVE] * c[C_HBM]
    fits = 1.0 if mem <= c[C_HBM] else 0.0

    return (m * t_f, m * t_b, m * t_r, m * tp_c, m * cp_c, m * ep_c, pp_c, bubble, dp_g, dp_p,
            t_opt, step, mem, fits)


step_model_nb = njit(cache=True)(step_model)
""":func:`step_model` compiled by numba (same source, same arithmetic)."""


@njit(cache=True, parallel=True)
def evaluate_plans(c, tab, plans, out):
    """Evaluate every plan row of ``plans`` (int64, shape (n, N_PLAN)) into ``out``
    (float64, shape (n, N_OUT)), in parallel over plans."""
    for i in prange(plans.shape[0]):
        p = plans[i]
        r = step_model_nb(c, tab, p[0], p[1], p[2], p[3], p[4], p[5], p[6], p[7], p[8], p[9],
                          p[10], p[11], p[12], p[13])
        for j in range(N_OUT):
            out[i, j] = r[j]


def evaluate_plans_reference(c, tab, plans):
    """Plain-Python reference of :func:`evaluate_plans` (returns the output array)."""
    out = np.empty((plans.shape[0], N_OUT))
    for i in range(plans.shape[0]):
        p = [int(x) for x in plans[i]]
        out[i] = step_model(c, tab, *p)
    return out
