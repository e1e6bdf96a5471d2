"""Serving kernel (numba): one engine step of an LLM deployment under continuous batching.

:func:`serve_kernel` evaluates a block of serving configurations (blocks run in parallel on
threads, the kernel releasing the GIL);
each row of ``cfg`` is one configuration (layout ``K_*`` below), and ``out`` receives the
results (layout ``O_*``) and the time breakdown of an average engine cycle (``B_*``). The
plain-Python reference that shares no code with this file is
:func:`infra_lab.serving._reference_one` (written from the formulas in
``docs/serving.md``); the tests check that both give the same numbers.

Hardware numbers, model sizes and software-stack factors come in as arguments:

``M``     float64 model vector (``M_*``): sizes, parameter groups, attention dims.
``H``     float64 hardware/stack vector (``H_*``): peaks, HBM, stack factors.
``wins``  float64 array of the attention span of each attention layer (0 = full).
``imb_a``  float64 [max ep + 1]: c_ep of the busiest-rank MoE load 1 + c_ep/√(tokens per rank),
          from :func:`infra_lab.compute.moe_load_imbalance`.
``ne_n, ne_k`` float64 [n_tp, n_gemm]: n and k of every non-expert GEMM at each TP size
          (``tp_index[tp]`` gives the row), from :func:`infra_lab.compute.gemm_records`;
          ``ne_cls`` int64 [n_gemm] (0 attention projection, 1 MLP / shared expert / router /
          MTP projection, 3 LM head), ``ne_cnt`` float64 [n_gemm]: how many times it runs per
          forward (layers of its kind; 1 for the head), ``ne_mtp`` float64 [n_gemm]: times per
          MTP draft pass (the model's MTP modules).
``ex_n, ex_k`` float64 [n_etp, n_ex]: routed-expert GEMMs at each expert-TP size
          (``etp_index[etp]``).
``P``     the collective parameter vector of :func:`infra_lab.collectives.collective_time_params`;
          every all-reduce, all-to-all and send/recv goes through
          :func:`infra_lab._kernels.fabric.best_collective`.
``g0, g1, g2`` the GEMM-model argument tuples (:meth:`infra_lab.compute.GemmModel.args`) for
          BF16, FP8 and FP4 compute (``gs`` = (g0, g1, g2) inside); GEMM
          efficiencies come from :func:`infra_lab._kernels.gemm.gemm_kernel` (memoized per
          parallel block).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from . import fabric as kf
from . import gemm as kg

# ---------------------------------------------------------------------------------------
# configuration row (cfg[i, K_*])
# ---------------------------------------------------------------------------------------
K_TP, K_PP, K_DP, K_EP, K_DPA, K_WPREC, K_KVPREC, K_MTPK, K_ACC = range(9)
K_CONC, K_IN, K_OUT, K_CHUNK, K_ENC, K_NPROMPTS, K_STATIC, K_LOCKSTEP, K_APREC, K_MPREC = range(9, 19)
N_K = 19
# weight precision codes: 0 bf16, 1 fp8, 2 fp4 (the platform's block format); K_APREC: the
# attention projections' code (-1: the weight precision); K_MPREC: the MTP draft modules'
# code (-1: as the main layers)

# ---------------------------------------------------------------------------------------
# model vector
# ---------------------------------------------------------------------------------------
(M_HIDDEN, M_HEADS, M_KV_HEADS, M_MLA, M_KV_EL, M_DQ_DEC, M_DV_DEC, M_DQ_PRE, M_DV_PRE,
 M_N_DENSE, M_N_MOE, M_EXPERTS, M_TOPK, M_P_REST, M_P_EMBHEAD, M_P_EXPERT, M_P_MTP,
 M_EXPERT_NATIVE_B, M_VOCAB, M_MTP_MOE, M_P_MTP_EXP, M_P_ATTN, M_P_MTP_ATTN) = range(23)
N_M = 23

# ---------------------------------------------------------------------------------------
# hardware + stack vector
# ---------------------------------------------------------------------------------------
(H_PEAK_BF16, H_PEAK_FP8, H_PEAK_FP4, H_HBM_BYTES, H_BW_EFF, H_DOMAIN, H_FP4_BYTES,
 H_GEMM_SCALE, H_MEM_SCALE, H_ATT_EFF_PRE, H_ATT_EFF_DEC, H_COMM_SCALE, H_STEP_OVH,
 H_LAYER_OVH, H_MIXED, H_CHUNK, H_MEM_UTIL, H_DISPATCH_B, H_MAX_SEQS, H_MIN_ROWS,
 H_REQ_OVH, H_SEQ_OVH, H_BW_PEAK, H_KFIX) = range(24)
N_H = 24

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


FIXED_POINT_PASSES = 3
"""Passes of the closed-loop fixed point (decoding requests vs cycle time); the share still
in prefill converges geometrically, and three passes leave < 1e-5 relative in every case of
tests/test_serving.py (long prompts with 2-token outputs included)."""

CACHE_BITS = 14
"""Each thread's memo of GEMM efficiencies and collective times has 2**CACHE_BITS slots.

A memo key is ``((base + count) << 30) + tokens`` with base = (kind·65536 + slot)·1024: kind 0
for a GEMM, 1 for a routed-expert GEMM, 2 + ranks per node for a collective (< 128); slot
< 65536 (the GEMM's index and precision, or the collective's op·8192 + ranks); count the
batch count of a GEMM (< 1024; 0 for a collective); tokens the GEMM's rows (at least
H_MIN_ROWS) or the collective's whole tokens, each the ceil of the real value (< 2**30).
A key sits in slot ``(x ^ (x >> 32)) & (2**CACHE_BITS - 1)``, x = (key ^ (key >> 29))·1000003,
of its thread's memo. The key arithmetic is written out in :func:`serve_kernel` (small
kernels of their own cost more to compile than they save)."""



@njit(cache=True, no_cfunc_wrapper=True)
def _roofline(m, n, k, b, eff, peak, wbytes, bw, gscale, mscale):
    """max(compute, memory) time of b GEMMs (m×k)·(k×n) at efficiency ``eff`` [s]; the
    stack's gemm_time_scale is floored at ``eff`` so no GEMM runs faster than ``peak`` (the
    memory floor is applied to ``mscale`` by the caller)."""
    g = gscale if gscale > eff else eff
    t_c = 2.0 * m * n * k * b / (peak * eff) * g
    t_m = b * (n * k * wbytes + m * (n + k) * 2.0) / bw * mscale
    return t_c if t_c > t_m else t_m


@njit(cache=True, nogil=True, no_cfunc_wrapper=True)
def serve_kernel(cfg, out, lo, hi, M, H, wins, tp_index, etp_index, imb_a, ne_n, ne_k, ne_cls, ne_cnt, ne_mtp,
                 ex_n, ex_k, P, g0, g1, g2, ck, cv):
    """Fill ``out[i]`` (:data:`N_OUT` floats) for the configuration rows ``cfg[lo:hi]``.

    One block of rows with its own memo of GEMM efficiencies and collective times
    (``ck``/``cv``: int64 -1 / float64 slots, a power of two of them, from :func:`memo`).
    The kernel releases the GIL: :func:`infra_lab.serving._run` runs blocks on Python threads
    in parallel (no numba parfor, whose compilation cost seconds on every cold start); no
    two threads share a memo or rows. The rows are evaluated here, in one function (a call
    per row, or per engine cycle, would pass ~35 arrays, each an atomic reference-count
    update; a second function level would also re-optimize everything it calls on every
    cold start).
    """
    # time breakdowns [s] (N_B each): acc the result's; ta, tb, tpc the engine cycles of a
    # pass (below); 1-D arrays from np.empty like the GEMM scratch (one allocator to compile)
    acc = np.empty(N_B)
    ta = np.empty(N_B)
    tb = np.empty(N_B)
    tpc = np.empty(N_B)
    ta[:] = 0.0
    tb[:] = 0.0
    tpc[:] = 0.0
    # the compute model's arguments and results of one GEMM shape (gemm_kernel takes arrays)
    sm = np.empty(1, np.int64)
    sn = np.empty(1, np.int64)
    sk = np.empty(1, np.int64)
    sb = np.empty(1, np.int64)
    se = np.empty(1)
    st = np.empty(1)
    gs = (g0, g1, g2)  # one tuple type: indexed by the compute-precision code
    # per weight-precision code (0 bf16, 1 fp8, 2 fp4): weight bytes per parameter, the GEMM
    # compute precision (0 BF16, 1 FP8, 2 FP4; FP8/FP4 weights compute at BF16 on a part
    # without that peak) and the routed experts' bytes (at most their native checkpoint
    # bytes M_EXPERT_NATIVE_B, 0 = none stated); peak_of: dense peak [FLOP/s] per compute
    # precision. Tables, not IR-inlined helpers: each inlined call cost ~100 IR statements
    # of compile time
    wbytes = np.empty(3)
    cprecs = np.empty(3, np.int64)
    ebytes = np.empty(3)
    peak_of = np.empty(3)
    wbytes[0] = 2.0
    wbytes[1] = 1.0
    wbytes[2] = H[H_FP4_BYTES]
    cprecs[0] = 0
    cprecs[1] = 1 if H[H_PEAK_FP8] > 0.0 else 0
    cprecs[2] = 2 if H[H_PEAK_FP4] > 0.0 else 0
    peak_of[0] = H[H_PEAK_BF16]
    peak_of[1] = H[H_PEAK_FP8]
    peak_of[2] = H[H_PEAK_FP4]
    nat = M[M_EXPERT_NATIVE_B]
    for c in range(3):
        ebytes[c] = nat if (nat > 0.0 and nat < wbytes[c]) else wbytes[c]
    # model and stack constants read once
    h = M[M_HIDDEN]
    n_dense = M[M_N_DENSE]
    n_moe = M[M_N_MOE]
    n_layers = n_dense + n_moe
    mtp_moe = M[M_MTP_MOE] > 0.0
    peak_bf16 = H[H_PEAK_BF16]
    kfix = H[H_KFIX]
    comm = H[H_COMM_SCALE]
    layer_ovh = H[H_LAYER_OVH]
    dom = int(H[H_DOMAIN])
    n_tp = ne_n.shape[0]
    n_ne = ne_n.shape[1]
    for i in range(lo, hi):
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
        n_in = row[K_IN]
        n_out = row[K_OUT]
        chunk = row[K_CHUNK] if row[K_CHUNK] > 0.0 else H[H_CHUNK]
        enc = row[K_ENC]
        n_prompts = row[K_NPROMPTS]
        static = row[K_STATIC] > 0.5
        lockstep = row[K_LOCKSTEP] > 0.5
        gpus = float(tp * pp * dp)
        etp = (tp * dp if dpa else tp) // ep
        # precisions: weight bytes and the GEMM compute precision the hardware offers
        wb = wbytes[wprec]
        cprec = cprecs[wprec]
        wbe = ebytes[wprec]
        aprec = int(row[K_APREC])
        if aprec < 0:
            wba = wb
            caprec = cprec
        else:
            wba = wbytes[aprec]
            caprec = cprecs[aprec]
        mprec = int(row[K_MPREC])
        tpi = tp_index[tp]
        etpi = etp_index[etp]
        imb_c = imb_a[ep]
        ppf = float(pp)
        # GEMM roofline constants and the memo; every GEMM below is looked up with scalar-only
        # code (the memo key written out, _roofline a plain call that LLVM inlines): passing
        # arrays to a function costs atomic reference-count updates, the main cost of this
        # kernel before
        min_rows = int(H[H_MIN_ROWS])
        cmask = ck.shape[0] - 1
        peak = peak_of[cprec]
        peak_a = peak_of[caprec]
        bw = H[H_BW_EFF]
        gscale = H[H_GEMM_SCALE]
        mscale = H[H_MEM_SCALE]
        # physical floor: memory time >= bytes / HBM peak, i.e. the effective scale is at least
        # the achieved-bandwidth fraction H_BW_EFF / H_BW_PEAK (compute.hbm_efficiency)
        if mscale < bw / H[H_BW_PEAK]:
            mscale = bw / H[H_BW_PEAK]
        n_exp = M[M_EXPERTS]
        k_top = M[M_TOPK]
        n_etp = ex_n.shape[0]
        n_ex = ex_n.shape[1]
        n_kern = 0.0  # routed-expert GEMM kernels of one MoE layer (grouped over the experts)
        for j in range(n_ex):
            if ex_n[etpi, j] > 0.0 and ex_k[etpi, j] > 0.0:
                n_kern += 1.0
        # the MTP draft module's weights: at the checkpoint's MTP precision when it has one
        # (mprec >= 0), else as the main layers
        d_cp, d_wb, d_ca, d_wba, d_wbe, d_peak, d_peak_a = cprec, wb, caprec, wba, wbe, peak, peak_a
        if mprec >= 0:
            d_wb = wbytes[mprec]
            d_cp = cprecs[mprec]
            d_ca = d_cp
            d_wba = d_wb
            d_wbe = ebytes[mprec]
            d_peak = peak_of[d_cp]
            d_peak_a = d_peak

        # ---------------- memory per GPU
        p_mtp = M[M_P_MTP] if mtpk > 0 else 0.0
        p_mtp_exp = M[M_P_MTP_EXP] if mtpk > 0 else 0.0
        p_att = M[M_P_ATTN] + (M[M_P_MTP_ATTN] if mtpk > 0 else 0.0)
        if mtpk > 0 and mprec >= 0:
            # the MTP modules stored at their own precision (experts: at most their native bytes)
            wbm = wbytes[mprec]
            wbme = ebytes[mprec]
            weights = (M[M_P_REST] - M[M_P_ATTN]) / (tp * pp) * wb + M[M_P_EMBHEAD] / (tp * min(pp, 2)) * 2.0 \
                + M[M_P_ATTN] / (tp * pp) * wba + M[M_P_EXPERT] * wbe / (pp * ep * etp) \
                + p_mtp / (tp * pp) * wbm + p_mtp_exp * wbme / (pp * ep * etp)
        else:
            weights = (M[M_P_REST] + p_mtp - p_att) / (tp * pp) * wb + M[M_P_EMBHEAD] / (tp * min(pp, 2)) * 2.0 \
                + p_att / (tp * pp) * wba + (M[M_P_EXPERT] + p_mtp_exp) * wbe / (pp * ep * etp)
        shard = 1.0 if M[M_MLA] > 0.0 else min(float(tp), M[M_KV_HEADS])
        l_avg = n_in + n_out / 2.0
        # attention spans summed over the attention layers [tokens]: lw_dec = Σ min(l_avg, window)
        # (window 0 = full; what a decode token reads, and a request's KV cache); span = Σ the
        # mean causal span of a prompt of n_in tokens: n_in/2 on full layers,
        # (W²/2 + (n_in − W)·W)/n_in on a window W < n_in
        lw_dec = 0.0
        span = 0.0
        for j in range(wins.shape[0]):
            W = wins[j]
            lw_dec += l_avg if (W <= 0.0 or l_avg < W) else W
            if W <= 0.0 or n_in <= W:
                span += n_in / 2.0
            else:
                span += (W * W / 2.0 + (n_in - W) * W) / n_in
        kv_req = lw_dec * M[M_KV_EL] * kvb / shard / pp  # one request, one GPU [B]
        usable = H[H_MEM_UTIL] * H[H_HBM_BYTES] - weights
        B = C / dp
        if usable > 0.0 and kv_req > 0.0:
            bmax = math.floor(usable / kv_req)
        elif usable > 0.0:
            bmax = 1e18
        else:
            bmax = 0.0
        fits = bmax >= 1.0
        if bmax > H[H_MAX_SEQS]:
            bmax = H[H_MAX_SEQS]
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

        acc[:] = 0.0
        mixed = H[H_MIXED] > 0.5
        t_enc = enc  # encoder + projector seconds per request (il.multimodal.encoder_prefill)
        # the cycles a pass needs, evaluated by ONE copy of the engine-cycle code below
        # (compile time; written out here, not a function: a call would pass ~35 arrays per
        # cycle, each an atomic reference-count update, and numba's IR inlining of a function
        # this size cost ~6 s of every cold start):
        #   ta: static: the prefill piece; mixed: decode + a prompt chunk; otherwise: a
        #       prefill-only forward
        #   tb: decode only
        #   tpc: prefill-only piece of min(chunk, all prompts) (static batch, or the queued
        #       burst of a finite benchmark / lockstep waves; first pass only)
        mc = min(chunk, b_run * n_in)
        burst_needed = (not static) and (n_prompts > 0.0 or lockstep)
        passes = 1 if static else FIXED_POINT_PASSES
        b_dec = b_run
        p_tok = b_run * n_in * E / n_out
        cycle = 0.0
        t_serve = 0.0
        ttft_run = 0.0
        prefill_frac = 0.0
        ttft = 0.0
        tpot = 0.0
        e2e = 0.0
        out_tps = 0.0
        others = (b_run - 1.0) / b_run if b_run > 1.0 else 0.0  # share of prompts that are not yours
        f = 0.0
        f_any = 0.0
        moe_a = -1.0
        c_tok = 0.0
        m_pre = 0.0
        for it in range(passes):
            D = b_dec * V
            prompts = p_tok / n_in  # new requests per cycle
            if static:
                da, sa, pa = 0.0, 0.0, mc
            elif mixed:
                room = chunk - D
                if room < 1.0:
                    room = 1.0
                if p_tok >= room:
                    c_tok = p_tok
                    f = 1.0
                else:
                    c_tok = min(room, max(p_tok, n_in))
                    f = p_tok / c_tok
                f_any = f
                moe_a = -1.0
                if dpa and dp > 1 and f > 0.0:
                    # DP attention: the step waits for its busiest rank (a collective in every
                    # MoE layer), which carries a chunk when any of the dp ranks has one (they
                    # admit prompts independently); the MoE layers see the chunks of the
                    # dp·f/f_any ranks that have one
                    f_any = 1.0 - (1.0 - f) ** dp
                    moe_a = dp * D + c_tok * dp * f / f_any
                da, sa, pa = D, b_dec, c_tok
            else:
                m_pre = min(chunk, max(n_in, p_tok))
                da, sa, pa = 0.0, 0.0, m_pre
            n_c = 3 if (it == 0 and burst_needed) else 2
            for c in range(n_c):
                mo = -1.0
                if c == 0:
                    tc, dc, sc_, pc = ta, da, sa, pa
                    if mixed and not static:
                        mo = moe_a
                elif c == 1:
                    tc, dc, sc_, pc = tb, D, b_dec, 0.0
                else:
                    tc, dc, sc_, pc = tpc, 0.0, 0.0, mc
                tc[:] = 0.0
                # ======== tc = one engine cycle [s] (every micro-batch through every stage): the
                # forward of each micro-batch, pipeline sends, host overhead, MTP draft; dc decode
                # tokens from sc_ sequences and pc prefill tokens per cycle; mo: tokens the whole
                # DP-attention group sends into each MoE layer per cycle (< 0: every rank
                # carrying this rank's tokens)
                # ---- q = 0: one forward of a micro-batch over every layer: mm tokens, of which dd_f
                # decode tokens from ns_f sequences and pre_f prefill tokens; span / lw_dec: attention
                # spans summed over layers for prefill / decode tokens [tokens] (GEMMs, attention,
                # communication, per-layer overhead; the LM head runs pp times per cycle).
                # q = 1: the MTP draft module, mtpk times: one decoder layer + the LM head on one
                # token per sequence (nb), at the draft weights' precision; a tensor-parallel
                # decoder layer like the others: its all-reduces (and, under DP attention, its MoE
                # dispatch/combine) on the nb draft tokens. Both through ONE copy of the code below
                # (compile time), the differences selected by q.
                mm = (dc + pc) / ppf
                dd_f = dc / ppf
                ns_f = sc_ / ppf
                pre_f = pc / ppf
                for q in range(2):
                    if q == 0:
                        active = mm > 0.0  # (without tokens only the pipeline send is paid)
                        xm = mm  # GEMM rows
                        xh = dd_f if dd_f > 0.0 else 1.0  # LM-head rows
                        xt = mo / ppf if mo >= 0.0 else mm * (dp if dpa else 1.0)  # tokens into each MoE layer
                        moe_here = active and n_moe > 0.0
                        p_c, p_a, k_c, k_a, b_c, b_a, b_e = cprec, caprec, peak, peak_a, wb, wba, wbe
                    else:
                        if not (mtpk > 0 and sc_ > 0.0):
                            continue
                        active = True
                        xm = sc_ / ppf
                        xh = xm
                        xt = xm * (dp if dpa else 1.0)
                        moe_here = mtp_moe
                        p_c, p_a, k_c, k_a, b_c, b_a, b_e = d_cp, d_ca, d_peak, d_peak_a, d_wb, d_wba, d_wbe
                    tq = 0.0  # the draft module's time [s]
                    # GEMMs j < n_ne: non-expert (attention projections at their own precision p_a,
                    # dense MLP, shared experts, router, LM head: kept in BF16 by the quantized
                    # checkpoints, docs/serving.md); j >= n_ne: the routed experts of one MoE
                    # layer on the busiest expert-parallel rank (bb experts of me rows each, one
                    # batched GEMM per expert matrix); each timed by
                    # :func:`_roofline` at the efficiency of :func:`infra_lab._kernels.gemm.gemm_kernel`
                    # (memoized), taken at the integer shape (ceil of each dimension) with at
                    # least H_MIN_ROWS rows (the compute model's smallest macro-tile height: decode
                    # kernels with fewer rows, GEMV / swap-AB / split-K, do not pad M to a tile);
                    # the roofline uses the real rows
                    bb = 1.0
                    me = 1.0
                    tr = 0.0
                    if moe_here:
                        # the expected number of distinct experts the xt tokens touch on a rank
                        # (balls into bins) and the busiest rank's rows spread over them: 1 +
                        # c_ep/√(tokens/ep) times the mean, the normal closed form of
                        # :func:`infra_lab.compute.moe_load_imbalance` (c_ep = imb_c from that
                        # function), capped at ep (everything on one rank)
                        u = (n_exp / ep) * (1.0 - (1.0 - k_top / n_exp) ** xt)
                        imb = 1.0
                        if not (ep <= 1 or xt <= 0.0):
                            imb = 1.0 + imb_c / math.sqrt(xt / ep)
                            if not imb < ep:
                                imb = float(ep)
                        rows = xt * k_top / ep * imb
                        bb = max(1.0, math.floor(u + 0.5))
                        me = max(1.0, math.ceil(rows / bb - 1e-9))
                    for j in range((n_ne + n_ex if moe_here else n_ne) if active else 0):
                        cls = 2
                        w = 0.0
                        if j < n_ne:
                            cls = ne_cls[j]
                            w = ne_cnt[j] if q == 0 else ne_mtp[j]
                            if q == 1 and not w > 0.0:
                                continue
                            gp = p_a if cls == 0 else (0 if cls == 3 else p_c)
                            kb = (gp * n_tp + tpi) * n_ne + j  # kind 0
                            gn = ne_n[tpi, j]
                            gk = ne_k[tpi, j]
                            mg = xh if cls == 3 else xm
                            bg = 1.0
                            pk = k_a if cls == 0 else (peak_bf16 if cls == 3 else k_c)
                            bx = b_a if cls == 0 else (2.0 if cls == 3 else b_c)
                        else:
                            je = j - n_ne
                            gp = p_c
                            kb = 65536 + (p_c * n_etp + etpi) * n_ex + je  # kind 1
                            gn = ex_n[etpi, je]
                            gk = ex_k[etpi, je]
                            mg = me
                            bg = bb
                            pk = k_c
                            bx = b_e
                        ok = mg > 0.0 and gn > 0.0 and gk > 0.0
                        t = 0.0
                        if ok:
                            mi = max(min_rows, int(math.ceil(mg - 1e-9)))
                            bi = max(1, int(math.ceil(bg - 1e-9)))
                            key = ((kb * 1024 + bi) << 30) + mi
                            hx = (key ^ (key >> 29)) * 1000003
                            hs = (hx ^ (hx >> 32)) & cmask
                            if ck[hs] != key:
                                sm[0] = mi
                                sn[0] = max(1, int(math.ceil(gn - 1e-9)))
                                sk[0] = max(1, int(math.ceil(gk - 1e-9)))
                                sb[0] = bi
                                kg.gemm_kernel(sm, sn, sk, sb, *gs[gp], se, st)
                                ck[hs] = key
                                cv[hs] = se[0]
                            t = _roofline(mg, gn, gk, bg, cv[hs], pk, bx, bw, gscale, mscale)
                        if j >= n_ne:
                            tr += t
                        elif q == 0:
                            if t > 0.0:
                                # the fixed GPU time of each kernel (kernel_fixed_s x the stack's scale)
                                t += kfix
                            if cls == 3:
                                if dd_f > 0.0:
                                    tc[B_HEAD] += w * t * pp
                            elif cls == 0:
                                tc[B_ATTN_GEMM] += w * t
                            else:
                                tc[B_MLP_GEMM] += w * t
                        elif ok:
                            tq += w * kfix
                            tq += w * t
                    if moe_here:
                        if q == 0:
                            tc[B_EXPERT_GEMM] += n_moe * (tr + n_kern * kfix)
                        else:
                            tq += tr + n_kern * kfix
                    if q == 0 and active:
                        # attention core: decode reads the KV cache, prefill is compute
                        hq = M[M_HEADS] / tp
                        if dd_f > 0.0:
                            fl = dd_f * 2.0 * hq * (M[M_DQ_DEC] + M[M_DV_DEC]) * lw_dec
                            by = ns_f * M[M_KV_EL] * kvb / shard * lw_dec
                            t_c = fl / (peak_bf16 * H[H_ATT_EFF_DEC])
                            t_m = by / bw * mscale
                            tc[B_ATT_DEC] += ((t_c if t_c > t_m else t_m) + n_layers * kfix)
                        if pre_f > 0.0:
                            fl = pre_f * 2.0 * hq * (M[M_DQ_PRE] + M[M_DV_PRE]) * span
                            tc[B_ATT_PRE] += (fl / (peak_bf16 * H[H_ATT_EFF_PRE]) + n_layers * kfix)
                    # communication, each memoized per whole token count: r = 0 the tensor-parallel
                    # all-reduces, 1 (DP attention) the MoE dispatch/combine, 2 (q = 0) the pipeline
                    # send of the micro-batch's activations to the next stage (kk ranks per node:
                    # within a node or not depending on tp·pp)
                    for r in range(3):
                        if r == 0:
                            if not (active and tp > 1):
                                continue
                            op = kf.OP_ALL_REDUCE
                            n_c = tp
                            bpt = h * 2.0
                            kk = n_c if n_c <= dom else dom
                        elif r == 1:
                            if not (dpa and moe_here):
                                continue
                            op = kf.OP_ALL_TO_ALL
                            n_c = tp * dp
                            bpt = k_top * h * H[H_DISPATCH_B]
                            kk = n_c if n_c <= dom else dom
                        else:
                            if not (q == 0 and pp > 1):
                                continue
                            op = kf.OP_SEND_RECV
                            n_c = min(pp, 2)  # = 2, typed int64 (a literal 2 would compile a second specialization)
                            bpt = h * 2.0
                            kk = n_c if tp * pp <= H[H_DOMAIN] else 1
                        ti = max(1, int(math.ceil(xm - 1e-9)))  # whole tokens
                        key = ((((2 + kk) * 65536 + op * 8192 + n_c) * 1024) << 30) + ti
                        hx = (key ^ (key >> 29)) * 1000003
                        hs = (hx ^ (hx >> 32)) & cmask
                        if ck[hs] == key:
                            x = cv[hs]
                        else:
                            # algo -1 (any) as a typed int64 and P read-only: the same specialization of
                            # best_collective as the Python calls of infra_lab.collectives.collective
                            x = kf.best_collective(op, np.int64(-1), float(ti) * bpt, n_c, kk, P)[0]
                            ck[hs] = key
                            cv[hs] = x
                        if r == 0:
                            if q == 0:
                                # attention of every layer + (DP attention) the dense layers' MLP or
                                # (otherwise) every layer's MLP
                                n_ar = n_layers + n_dense if dpa else 2.0 * n_layers
                                tc[B_TP_COMM] += n_ar * x * comm
                            else:
                                tq += (1.0 if (dpa and mtp_moe) else 2.0) * x * comm
                        elif r == 1:
                            if q == 0:
                                tc[B_EP_COMM] += 2.0 * n_moe * x * comm
                            else:
                                tq += 2.0 * x * comm
                        else:
                            tc[B_PP_P2P] += ppf * x * comm
                    if q == 0:
                        if active:
                            tc[B_LAYER_OVH] += n_layers * layer_ovh
                    else:
                        tc[B_MTP] += mtpk * ppf * (tq + layer_ovh)
                # host work per engine step: a fixed part and a part per decoding request (scheduling,
                # sampling, stop checks, detokenization of the request's new tokens)
                tc[B_STEP_OVH] += (H[H_STEP_OVH] + H[H_SEQ_OVH] * sc_)
            if static:
                # all b_run prompts prefilled together (in chunk-sized forwards), then decoded
                # together; the breakdown is then the seconds of one whole batch (it sums to e2e)
                n_pre = b_run * n_in / mc
                ttft = n_pre * ta.sum() + b_run * t_enc + H[H_REQ_OVH]
                t_dec = tb.sum()
                tpot = t_dec / E
                n_dec = (n_out - 1.0) / E
                e2e = ttft + n_dec * t_dec
                out_tps = dp * b_run * n_out / e2e
                prefill_frac = ttft / e2e
                for j in range(N_B):
                    acc[j] = n_pre * ta[j] + n_dec * tb[j]
                acc[B_ENCODER] += b_run * t_enc
                acc[B_STEP_OVH] += H[H_REQ_OVH]  # the batch's fixed request overhead (in its TTFT)
                cycle = e2e
                break
            # closed loop: b_run requests in service; a fixed point between the cycle time and
            # how many of them are decoding (the others are in their prefill):
            #   T = ttft_run + (n_out − 1)·tpot, r = b_run / T (requests per second),
            #   decoding = r·(n_out − 1)·tpot, prompt tokens per cycle = r·n_in·cycle
            acc[:] = 0.0
            if mixed:
                # a request's tokens wait for the OTHER requests' prompt chunks (its own are in its TTFT);
                # with DP attention for a chunk on any of the dp ranks
                f_oth = f * others
                if moe_a >= 0.0:
                    f_oth = 1.0 - (1.0 - f_oth) ** dp
                for j in range(N_B):
                    acc[j] = f_oth * ta[j] + (1.0 - f_oth) * tb[j]
                acc[B_ENCODER] += prompts * others * t_enc
                cycle = acc.sum()
                s1 = ta.sum()
                s0 = tb.sum()
                ttft_run = 0.5 * cycle + math.ceil(n_in / c_tok - 1e-9) * s1 + t_enc + H[H_REQ_OVH]
                full = f_any * s1 + (1.0 - f_any) * s0 + prompts * t_enc
                prefill_frac = (f_any * (s1 - s0) + prompts * t_enc) / full
            else:
                r_pre = p_tok / m_pre
                for j in range(N_B):
                    acc[j] = tb[j] + r_pre * others * ta[j]
                acc[B_ENCODER] += prompts * others * t_enc
                cycle = acc.sum()
                s_p = ta.sum()
                ttft_run = 0.5 * tb.sum() + math.ceil(n_in / m_pre - 1e-9) * s_p + t_enc + H[H_REQ_OVH]
                prefill_frac = (r_pre * s_p + prompts * t_enc) / (tb.sum() + r_pre * s_p + prompts * t_enc)
            tpot = cycle / E
            t_serve = ttft_run + (n_out - 1.0) * tpot
            rate = b_run / t_serve
            if it == passes - 1:
                break
            b_dec = rate * (n_out - 1.0) * tpot
            p_tok = rate * n_in * cycle
        if not static:
            tpot = cycle / E
            out_tps = dp * b_run * n_out / t_serve
            wait = 0.0
            if b_run < B:
                wait = t_serve * (B / b_run - 1.0)
            burst = 0.0
            if burst_needed:
                # a burst of prompts queued together: every wave (lockstep) or only the first
                # wave of a finite benchmark (its share C/N of the requests)
                share = 1.0 if lockstep else C / n_prompts
                burst = share * 0.5 * b_run * n_in / mc * tpc.sum()
            ttft = ttft_run + wait + burst
            e2e = ttft + (n_out - 1.0) * tpot

        o = out[i]
        o[O_OUT_TPS] = out_tps
        o[O_TOTAL_TPS] = out_tps * (n_in + n_out) / n_out
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


def memo(blocks):
    """Memo arrays for :func:`serve_kernel` with ``blocks`` parallel blocks."""
    return np.full((blocks, 1 << CACHE_BITS), -1, np.int64), np.zeros((blocks, 1 << CACHE_BITS))
