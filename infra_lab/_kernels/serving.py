"""Serving kernel (numba): one engine step of an LLM deployment under continuous batching.

:func:`serve_kernel` evaluates an array of serving configurations in parallel (``prange``);
each row of ``cfg`` is one configuration (layout ``K_*`` below), and ``out`` receives the
results (layout ``O_*``) and the time breakdown of an average engine cycle (``B_*``). The
plain-Python reference that shares no code with this file is
:func:`infra_lab.serving._reference_one` (written from the formulas in
``docs/serving.md``); the tests check that both give the same numbers.

Hardware numbers, model sizes and software-stack factors come in as arguments:

``M``     float64 model vector (``M_*``): sizes, parameter groups, attention dims.
``H``     float64 hardware/stack vector (``H_*``): peaks, HBM, stack factors.
``wins``  float64 array of the attention span of each attention layer (0 = full).
``ne_n, ne_k`` float64 [n_tp, n_gemm]: n and k of every non-expert GEMM at each TP size
          (``tp_index[tp]`` gives the row), from ``ModelSpec.layer_gemms``;
          ``ne_cls`` int64 [n_gemm] (0 attention projection, 1 MLP / shared expert / router,
          3 LM head), ``ne_cnt`` float64 [n_gemm]: how many times it runs per forward (layers of
          its kind; 1 for the head), ``ne_mtp`` float64 [n_gemm]: times per MTP draft pass.
``ex_n, ex_k`` float64 [n_etp, n_ex]: routed-expert GEMMs at each expert-TP size
          (``etp_index[etp]``).
``P``     the collective parameter vector of :func:`infra_lab.collectives.collective_time_params`;
          every all-reduce, all-to-all and send/recv goes through
          :func:`infra_lab._kernels.fabric.best_collective`.
``g0, g1, g2`` the GEMM-model argument tuples (:meth:`infra_lab.compute.GemmModel.args`) for
          BF16, FP8 and FP4 compute; GEMM efficiencies come from
          :func:`infra_lab._kernels.gemm.gemm_kernel`.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

from . import fabric as kf
from . import gemm as kg

# ---------------------------------------------------------------------------------------
# configuration row (cfg[i, K_*])
# ---------------------------------------------------------------------------------------
K_TP, K_PP, K_DP, K_EP, K_DPA, K_WPREC, K_KVPREC, K_MTPK, K_ACC = range(9)
K_CONC, K_IN, K_OUT, K_CHUNK, K_ENC, K_NPROMPTS, K_STATIC = range(9, 16)
N_K = 16
# weight precision codes: 0 bf16, 1 fp8, 2 fp4 (the platform's block format)

# ---------------------------------------------------------------------------------------
# model vector
# ---------------------------------------------------------------------------------------
(M_HIDDEN, M_HEADS, M_KV_HEADS, M_MLA, M_KV_EL, M_DQ_DEC, M_DV_DEC, M_DQ_PRE, M_DV_PRE,
 M_N_DENSE, M_N_MOE, M_EXPERTS, M_TOPK, M_P_REST, M_P_EMBHEAD, M_P_EXPERT, M_P_MTP,
 M_EXPERT_NATIVE_B, M_VOCAB) = range(19)
N_M = 19

# ---------------------------------------------------------------------------------------
# hardware + stack vector
# ---------------------------------------------------------------------------------------
(H_PEAK_BF16, H_PEAK_FP8, H_PEAK_FP4, H_HBM_BYTES, H_BW_EFF, H_DOMAIN, H_FP4_BYTES,
 H_GEMM_SCALE, H_MEM_SCALE, H_ATT_EFF_PRE, H_ATT_EFF_DEC, H_COMM_SCALE, H_STEP_OVH,
 H_LAYER_OVH, H_MIXED, H_CHUNK, H_MEM_UTIL, H_ENC_EFF, H_DISPATCH_B) = range(19)
N_H = 19

# ---------------------------------------------------------------------------------------
# outputs: results then the breakdown of an average cycle [s]
# ---------------------------------------------------------------------------------------
(O_OUT_TPS, O_TOTAL_TPS, O_OUT_TPS_GPU, O_TTFT, O_TPOT, O_TPS_USER, O_E2E, O_MEM_GPU,
 O_FITS, O_MAX_CONC, O_PREFILL_FRAC, O_CYCLE, O_RUNNING, O_KV_LIMITED, O_WEIGHTS_GPU,
 O_KV_GPU) = range(16)
(B_ATTN_GEMM, B_MLP_GEMM, B_EXPERT_GEMM, B_HEAD, B_ATT_DEC, B_ATT_PRE, B_TP_COMM, B_EP_COMM,
 B_PP_P2P, B_LAYER_OVH, B_STEP_OVH, B_MTP, B_ENCODER) = range(13)
N_B = 13
N_RES = 16
N_OUT = N_RES + N_B
OUT_NAMES = ("output_tokens_per_s", "total_tokens_per_s", "output_tokens_per_s_per_gpu", "ttft_s",
             "tpot_s", "tokens_per_s_per_user", "e2e_latency_s", "memory_per_gpu_bytes", "fits",
             "max_concurrency", "prefill_time_fraction", "cycle_s", "running_requests", "kv_limited",
             "weights_per_gpu_bytes", "kv_cache_per_gpu_bytes")
BREAKDOWN_NAMES = ("attention_gemm", "mlp_gemm", "expert_gemm", "lm_head", "attention_decode",
                   "attention_prefill", "tp_comm", "ep_comm", "pp_p2p", "layer_overhead",
                   "step_overhead", "mtp_draft", "encoder")


@njit(cache=True)
def _gemm_time(m, n, k, b, cprec, wbytes, H, g0, g1, g2, sm, sn, sk, sb, se, st):
    """Roofline time of b GEMMs (m×k)·(k×n) with weights of ``wbytes`` per element [s]."""
    if m <= 0.0 or n <= 0.0 or k <= 0.0 or b <= 0.0:
        return 0.0
    sm[0] = max(1, int(math.ceil(m - 1e-9)))
    sn[0] = max(1, int(math.ceil(n - 1e-9)))
    sk[0] = max(1, int(math.ceil(k - 1e-9)))
    sb[0] = max(1, int(math.ceil(b - 1e-9)))
    if cprec == 2:
        kg.gemm_kernel(sm, sn, sk, sb, *g2, se, st)
        peak = H[H_PEAK_FP4]
    elif cprec == 1:
        kg.gemm_kernel(sm, sn, sk, sb, *g1, se, st)
        peak = H[H_PEAK_FP8]
    else:
        kg.gemm_kernel(sm, sn, sk, sb, *g0, se, st)
        peak = H[H_PEAK_BF16]
    t_c = 2.0 * m * n * k * b / (peak * se[0]) * H[H_GEMM_SCALE]
    t_m = b * (n * k * wbytes + m * (n + k) * 2.0) / H[H_BW_EFF] * H[H_MEM_SCALE]
    return t_c if t_c > t_m else t_m


@njit(cache=True)
def _imbalance(assignments, ep):
    """Busiest-rank / mean routed rows over ep ranks for uniform routing [-]:
    1 + sqrt(2 ln ep)·σ/μ, σ² = n(1/ep)(1 − 1/ep), capped at ep."""
    if ep <= 1 or assignments <= 0.0:
        return 1.0
    mu = assignments / ep
    sigma = math.sqrt(assignments * (1.0 / ep) * (1.0 - 1.0 / ep))
    f = 1.0 + math.sqrt(2.0 * math.log(ep)) * sigma / mu
    return f if f < ep else float(ep)


@njit(cache=True)
def _forward(acc, w, mm, dd, nseq, pre, span_sum, lw_sum, M, H, tp, ep, etp, dp, dpa, pp,
             cprec, wb, wbe, kvb, tpi, etpi, ne_n, ne_k, ne_cls, ne_cnt, ex_n, ex_k, P,
             g0, g1, g2, sm, sn, sk, sb, se, st):
    """Add w × the components of one forward over every layer into acc [s].

    mm tokens in the forward (per micro-batch), of which dd decode tokens from nseq
    sequences and pre prefill tokens; span_sum / lw_sum: attention spans summed over layers
    for prefill / decode tokens [tokens]. Only GEMM, attention, communication and per-layer
    overhead; the caller adds the LM head multiplicity, step overhead, MTP and encoder.
    """
    if mm <= 0.0:
        return
    h = M[M_HIDDEN]
    n_dense = M[M_N_DENSE]
    n_moe = M[M_N_MOE]
    n_layers = n_dense + n_moe
    # non-expert GEMMs (attention projections, dense MLP, shared experts, router, LM head)
    for j in range(ne_cls.shape[0]):
        cls = ne_cls[j]
        t = _gemm_time(mm if cls != 3 else (dd if dd > 0.0 else 1.0), ne_n[tpi, j], ne_k[tpi, j], 1.0,
                       cprec, wb, H, g0, g1, g2, sm, sn, sk, sb, se, st)
        if cls == 3:
            if dd > 0.0:
                acc[B_HEAD] += w * ne_cnt[j] * t * pp
        elif cls == 0:
            acc[B_ATTN_GEMM] += w * ne_cnt[j] * t
        else:
            acc[B_MLP_GEMM] += w * ne_cnt[j] * t
    # routed experts
    if n_moe > 0.0:
        E = M[M_EXPERTS]
        k_top = M[M_TOPK]
        tok = mm * (dp if dpa else 1.0)
        u = (E / ep) * (1.0 - (1.0 - k_top / E) ** tok)
        rows = tok * k_top / ep * _imbalance(tok * k_top, ep)
        bb = max(1.0, math.floor(u + 0.5))
        me = max(1.0, math.ceil(rows / bb - 1e-9))
        t = 0.0
        for j in range(ex_n.shape[1]):
            t += _gemm_time(me, ex_n[etpi, j], ex_k[etpi, j], bb, cprec, wbe, H, g0, g1, g2,
                            sm, sn, sk, sb, se, st)
        acc[B_EXPERT_GEMM] += w * n_moe * t
    # attention core: decode reads the KV cache, prefill is compute
    hq = M[M_HEADS] / tp
    if M[M_MLA] > 0.0:
        shard = 1.0
    else:
        shard = min(float(tp), M[M_KV_HEADS])
    if dd > 0.0:
        fl = dd * 2.0 * hq * (M[M_DQ_DEC] + M[M_DV_DEC]) * lw_sum
        by = nseq * M[M_KV_EL] * kvb / shard * lw_sum
        t_c = fl / (H[H_PEAK_BF16] * H[H_ATT_EFF_DEC])
        t_m = by / H[H_BW_EFF] * H[H_MEM_SCALE]
        acc[B_ATT_DEC] += w * (t_c if t_c > t_m else t_m)
    if pre > 0.0:
        fl = pre * 2.0 * hq * (M[M_DQ_PRE] + M[M_DV_PRE]) * span_sum
        acc[B_ATT_PRE] += w * fl / (H[H_PEAK_BF16] * H[H_ATT_EFF_PRE])
    # communication
    dom = H[H_DOMAIN]
    size = mm * h * 2.0
    if tp > 1:
        kk = tp if tp <= dom else dom
        ar = kf.best_collective(kf.OP_ALL_REDUCE, -1, size, tp, kk, P)[0]
        if dpa:
            n_ar = n_layers + n_dense  # attention of every layer + the dense layers' MLP
        else:
            n_ar = 2.0 * n_layers
        acc[B_TP_COMM] += w * n_ar * ar * H[H_COMM_SCALE]
    if dpa and n_moe > 0.0:
        n_ep = tp * dp
        kk = n_ep if n_ep <= dom else dom
        s2a = mm * M[M_TOPK] * h * H[H_DISPATCH_B]
        a2a = kf.best_collective(kf.OP_ALL_TO_ALL, -1, s2a, n_ep, kk, P)[0]
        acc[B_EP_COMM] += w * 2.0 * n_moe * a2a * H[H_COMM_SCALE]
    acc[B_LAYER_OVH] += w * n_layers * H[H_LAYER_OVH]


@njit(cache=True)
def _cycle(acc, w, dd, nseq, pre, span_sum, lw_sum, M, H, plan, ne_n, ne_k, ne_cls,
           ne_cnt, ne_mtp, ex_n, ex_k, P, g0, g1, g2, sm, sn, sk, sb, se, st):
    """Add w × one engine cycle (every micro-batch through every stage) into acc [s]."""
    tp, pp, dp, ep, etp, dpa, cprec, wb, wbe, kvb, tpi, etpi, mtpk = plan
    ppf = float(pp)
    mm = (dd + pre) / ppf
    _forward(acc, w, mm, dd / ppf, nseq / ppf, pre / ppf, span_sum, lw_sum, M, H, tp, ep,
             etp, dp, dpa, pp, cprec, wb, wbe, kvb, tpi, etpi, ne_n, ne_k, ne_cls, ne_cnt, ex_n,
             ex_k, P, g0, g1, g2, sm, sn, sk, sb, se, st)
    if pp > 1:
        size = mm * M[M_HIDDEN] * 2.0
        within = tp * pp <= H[H_DOMAIN]
        p2p = kf.best_collective(kf.OP_SEND_RECV, -1, size, 2, 2 if within else 1, P)[0]
        acc[B_PP_P2P] += w * ppf * p2p * H[H_COMM_SCALE]
    acc[B_STEP_OVH] += w * H[H_STEP_OVH]
    if mtpk > 0 and nseq > 0.0:
        # the draft module: one decoder layer + the LM head on one token per sequence, mtpk times
        nb = nseq / ppf
        t = 0.0
        for j in range(ne_cls.shape[0]):
            if ne_mtp[j] > 0.0:
                t += ne_mtp[j] * _gemm_time(nb, ne_n[tpi, j], ne_k[tpi, j], 1.0, cprec, wb, H, g0, g1,
                                            g2, sm, sn, sk, sb, se, st)
        if M[M_N_MOE] > 0.0:
            E = M[M_EXPERTS]
            k_top = M[M_TOPK]
            tok = nb * (dp if dpa else 1.0)
            u = (E / ep) * (1.0 - (1.0 - k_top / E) ** tok)
            rows = tok * k_top / ep * _imbalance(tok * k_top, ep)
            bb = max(1.0, math.floor(u + 0.5))
            me = max(1.0, math.ceil(rows / bb - 1e-9))
            for j in range(ex_n.shape[1]):
                t += _gemm_time(me, ex_n[etpi, j], ex_k[etpi, j], bb, cprec, wbe, H, g0, g1, g2,
                                sm, sn, sk, sb, se, st)
        acc[B_MTP] += w * mtpk * ppf * (t + H[H_LAYER_OVH])


@njit(cache=True)
def _win_sum(L, wins):
    """Σ over attention layers of min(L, window) (window 0 = full) [tokens]."""
    s = 0.0
    for i in range(wins.shape[0]):
        x = wins[i]
        s += L if (x <= 0.0 or L < x) else x
    return s


@njit(cache=True)
def _span_sum(I, wins):
    """Σ over attention layers of the mean causal span of a prompt of I tokens [tokens]:
    I/2 for full layers, (W²/2 + (I − W)·W)/I for a window W < I."""
    s = 0.0
    for i in range(wins.shape[0]):
        W = wins[i]
        if W <= 0.0 or I <= W:
            s += I / 2.0
        else:
            s += (W * W / 2.0 + (I - W) * W) / I
    return s


@njit(cache=True)
def _one(i, cfg, out, M, H, wins, tp_index, etp_index, ne_n, ne_k, ne_cls, ne_cnt, ne_mtp,
         ex_n, ex_k, P, g0, g1, g2):
    row = cfg[i]
    tp = int(row[K_TP])
    pp = int(row[K_PP])
    dp = int(row[K_DP])
    ep = int(row[K_EP])
    dpa = row[K_DPA] > 0.5
    wprec = int(row[K_WPREC])
    kvb = 2.0 if row[K_KVPREC] < 0.5 else 1.0
    mtpk = int(row[K_MTPK])
    a = row[K_ACC]
    C = row[K_CONC]
    I = row[K_IN]
    O = row[K_OUT]
    chunk = row[K_CHUNK] if row[K_CHUNK] > 0.0 else H[H_CHUNK]
    enc = row[K_ENC]
    n_prompts = row[K_NPROMPTS]
    static = row[K_STATIC] > 0.5
    gpus = float(tp * pp * dp)
    etp = (tp * dp if dpa else tp) // ep
    # precisions: weight bytes and the GEMM compute precision the hardware offers
    if wprec == 2:
        wb = H[H_FP4_BYTES]
        cprec = 2 if H[H_PEAK_FP4] > 0.0 else 0
    elif wprec == 1:
        wb = 1.0
        cprec = 1 if H[H_PEAK_FP8] > 0.0 else 0
    else:
        wb = 2.0
        cprec = 0
    wbe = wb
    if M[M_EXPERT_NATIVE_B] > 0.0 and M[M_EXPERT_NATIVE_B] < wbe:
        wbe = M[M_EXPERT_NATIVE_B]
    plan = (tp, pp, dp, ep, etp, dpa, cprec, wb, wbe, kvb, tp_index[tp], etp_index[etp], mtpk)
    sm = np.empty(1, np.int64)
    sn = np.empty(1, np.int64)
    sk = np.empty(1, np.int64)
    sb = np.empty(1, np.int64)
    se = np.empty(1)
    st = np.empty(1)

    # ---------------- memory per GPU
    n_layers = M[M_N_DENSE] + M[M_N_MOE]
    weights = ((M[M_P_REST] + M[M_P_MTP]) / (tp * pp) + M[M_P_EMBHEAD] / (tp * min(pp, 2))) * wb \
        + M[M_P_EXPERT] * wbe / (pp * ep * etp)
    shard = 1.0 if M[M_MLA] > 0.0 else min(float(tp), M[M_KV_HEADS])
    l_avg = I + O / 2.0
    kv_req = _win_sum(l_avg, wins) * M[M_KV_EL] * kvb / shard / pp  # one request, one GPU [B]
    usable = H[H_MEM_UTIL] * H[H_HBM_BYTES] - weights
    B = C / dp
    if usable > 0.0 and kv_req > 0.0:
        bmax = math.floor(usable / kv_req)
    elif usable > 0.0:
        bmax = 1e18
    else:
        bmax = 0.0
    fits = bmax >= 1.0
    b_run = B if (B <= bmax or not fits) else bmax
    kv_gpu = b_run * kv_req
    mem = weights + kv_gpu + (1.0 - H[H_MEM_UTIL]) * H[H_HBM_BYTES]

    # ---------------- tokens per step
    V = 1.0 + mtpk
    if mtpk > 0:
        E = (1.0 - a ** (mtpk + 1)) / (1.0 - a) if a < 1.0 else V
    else:
        E = 1.0
    D = b_run * V
    p_avg = b_run * I * E / O
    lw_dec = _win_sum(l_avg, wins)
    span = _span_sum(I, wins)

    acc = np.zeros(N_B)
    mixed = H[H_MIXED] > 0.5
    t_enc = enc / (tp * pp * H[H_PEAK_BF16] * H[H_ENC_EFF]) if enc > 0.0 else 0.0
    if static:
        # all b_run prompts prefilled together (in chunk-sized forwards), then decoded together;
        # the breakdown is then the seconds of one whole batch (it sums to e2e)
        mc = min(chunk, b_run * I)
        n_pre = b_run * I / mc
        tmp = np.zeros(N_B)
        _cycle(tmp, 1.0, 0.0, 0.0, mc, span, lw_dec, M, H, plan, ne_n, ne_k, ne_cls,
               ne_cnt, ne_mtp, ex_n, ex_k, P, g0, g1, g2, sm, sn, sk, sb, se, st)
        ttft = n_pre * tmp.sum() + b_run * t_enc
        t0 = np.zeros(N_B)
        _cycle(t0, 1.0, D, b_run, 0.0, span, lw_dec, M, H, plan, ne_n, ne_k, ne_cls,
               ne_cnt, ne_mtp, ex_n, ex_k, P, g0, g1, g2, sm, sn, sk, sb, se, st)
        t_dec = t0.sum()
        tpot = t_dec / E
        n_dec = (O - 1.0) / E
        e2e = ttft + n_dec * t_dec
        out_tps = dp * b_run * O / e2e
        prefill_frac = ttft / e2e
        for j in range(N_B):
            acc[j] = n_pre * tmp[j] + n_dec * t0[j]
        acc[B_ENCODER] += b_run * t_enc
        cycle = e2e
    else:
        arrivals = b_run * E / O  # requests finishing (and starting) per cycle
        if mixed:
            room = chunk - D
            if room < 1.0:
                room = 1.0
            if p_avg >= room:
                c_tok = p_avg
                f = 1.0
            else:
                c_tok = min(room, max(p_avg, I))
                f = p_avg / c_tok
            t1 = np.zeros(N_B)
            _cycle(t1, 1.0, D, b_run, c_tok, span, lw_dec, M, H, plan, ne_n, ne_k, ne_cls,
                   ne_cnt, ne_mtp, ex_n, ex_k, P, g0, g1, g2, sm, sn, sk, sb, se, st)
            t0 = np.zeros(N_B)
            _cycle(t0, 1.0, D, b_run, 0.0, span, lw_dec, M, H, plan, ne_n, ne_k, ne_cls,
                   ne_cnt, ne_mtp, ex_n, ex_k, P, g0, g1, g2, sm, sn, sk, sb, se, st)
            for j in range(N_B):
                acc[j] = f * t1[j] + (1.0 - f) * t0[j]
            acc[B_ENCODER] += arrivals * t_enc
            cycle = acc.sum()
            s1 = t1.sum()
            s0 = t0.sum()
            ttft_run = 0.5 * cycle + math.ceil(I / c_tok - 1e-9) * s1 + t_enc
            prefill_frac = (f * (s1 - s0) + arrivals * t_enc) / cycle
        else:
            m_pre = min(chunk, max(I, p_avg))
            tp_ = np.zeros(N_B)
            _cycle(tp_, 1.0, 0.0, 0.0, m_pre, span, lw_dec, M, H, plan, ne_n, ne_k, ne_cls,
                   ne_cnt, ne_mtp, ex_n, ex_k, P, g0, g1, g2, sm, sn, sk, sb, se, st)
            t0 = np.zeros(N_B)
            _cycle(t0, 1.0, D, b_run, 0.0, span, lw_dec, M, H, plan, ne_n, ne_k, ne_cls,
                   ne_cnt, ne_mtp, ex_n, ex_k, P, g0, g1, g2, sm, sn, sk, sb, se, st)
            r = p_avg / m_pre
            for j in range(N_B):
                acc[j] = t0[j] + r * tp_[j]
            acc[B_ENCODER] += arrivals * t_enc
            cycle = acc.sum()
            s_p = tp_.sum()
            ttft_run = 0.5 * t0.sum() + math.ceil(I / m_pre - 1e-9) * s_p + t_enc
            prefill_frac = (r * s_p + arrivals * t_enc) / cycle
        tpot = cycle / E
        out_tps = dp * b_run * E / cycle
        t_serve = ttft_run + (O - 1.0) * tpot
        wait = 0.0
        if b_run < B:
            wait = t_serve * (B / b_run - 1.0)
        burst = 0.0
        if n_prompts > 0.0:
            mc = min(chunk, b_run * I)
            tb = np.zeros(N_B)
            _cycle(tb, 1.0, 0.0, 0.0, mc, span, lw_dec, M, H, plan, ne_n, ne_k, ne_cls,
                   ne_cnt, ne_mtp, ex_n, ex_k, P, g0, g1, g2, sm, sn, sk, sb, se, st)
            burst = (C / n_prompts) * 0.5 * b_run * I / mc * tb.sum()
        ttft = ttft_run + wait + burst
        e2e = ttft + (O - 1.0) * tpot

    o = out[i]
    o[O_OUT_TPS] = out_tps
    o[O_TOTAL_TPS] = out_tps * (I + O) / O
    o[O_OUT_TPS_GPU] = out_tps / gpus
    o[O_TTFT] = ttft
    o[O_TPOT] = tpot
    o[O_TPS_USER] = 1.0 / tpot
    o[O_E2E] = e2e
    o[O_MEM_GPU] = mem
    o[O_FITS] = 1.0 if fits else 0.0
    o[O_MAX_CONC] = bmax * dp if bmax < 1e17 else 1e18
    o[O_PREFILL_FRAC] = prefill_frac
    o[O_CYCLE] = cycle
    o[O_RUNNING] = b_run * dp
    o[O_KV_LIMITED] = 1.0 if (fits and b_run < B) else 0.0
    o[O_WEIGHTS_GPU] = weights
    o[O_KV_GPU] = kv_gpu
    for j in range(N_B):
        o[N_RES + j] = acc[j]


@njit(cache=True, parallel=True)
def serve_kernel(cfg, out, M, H, wins, tp_index, etp_index, ne_n, ne_k, ne_cls, ne_cnt, ne_mtp,
                 ex_n, ex_k, P, g0, g1, g2):
    """Fill ``out[i]`` (:data:`N_OUT` floats) for every configuration row ``cfg[i]``."""
    for i in prange(cfg.shape[0]):
        _one(i, cfg, out, M, H, wins, tp_index, etp_index, ne_n, ne_k, ne_cls, ne_cnt, ne_mtp,
             ex_n, ex_k, P, g0, g1, g2)
