"""Serving kernel (numba): one engine step of an LLM deployment under continuous batching.

:func:`serve_kernel` evaluates a block of serving configurations (blocks run in parallel on
threads, the kernel releasing the GIL);
each row of ``cfg`` is one configuration (layout ``K_*`` below), and ``out`` receives the
results (layout ``O_*``) and the time breakdown of an average engine cycle (``B_*``). The
plain-Python reference that shares no code with this file is
:func:`infra_lab.serving._reference_one` (written from the formulas in
``docs/serving.md``); the tests check that both give the same numbers.

The kernel's parts, each a numba function of its own (compiled separately; the small ones
LLVM inlines): precisions and stack constants (:func:`_precision_tables`,
:func:`_stack_constants`, :func:`_layer_precisions`); memory per GPU and KV capacity
(:func:`_weights_per_gpu`, :func:`_attention_spans`, :func:`_kv_capacity`); tokens per step
and batch formation (:func:`_tokens_per_step`, :func:`_batch_formation`); one forward's
GEMMs (:func:`_forward_tokens`, :func:`_gemm_operand`, :func:`_roofline`), routed experts
(:func:`_moe_spread`) and attention core (:func:`_attention_core`, decode reads the KV cache,
prefill is compute); communication (:func:`_comm_plan`, :func:`_comm_seconds`); the result
(:func:`_pass_weights`, :func:`_static_batch`, :func:`_ttft_in_service`,
:func:`_queue_and_burst`, :func:`_lockstep_tpot`, :func:`_write_result`). :func:`serve_kernel`
keeps the loops that read the GEMM tables and the memo (see its docstring).

Hardware numbers, model sizes and software-stack factors come in as arguments:

``M``     float64 model vector (``M_*``): sizes, parameter groups, attention dims.
``H``     float64 hardware/stack vector (``H_*``): peaks, HBM, stack factors.
``wins``  float64 array of the attention span of each attention layer (0 = full).
``imb_a``  float64 [max ep + 1]: c_ep of the busiest-rank MoE load 1 + c_ep/√(tokens per rank),
          from :func:`infra_lab.compute.moe_load_imbalance`.
``busy_a`` float64 [max ep + 1, n_T]: distinct experts on the busiest EP rank after T = 0 … n_T − 1
          tokens, from :func:`infra_lab.compute.moe_busiest_rank_experts` (the mean rank's
          closed form beyond each ep's table; see :func:`_busiest_experts`).
``ne_n, ne_k`` float64 [n_tp, n_gemm]: n and k of every non-expert GEMM at each TP size
          (``tp_index[tp]`` gives the row), from :func:`infra_lab.compute.gemm_records`;
          ``ne_cls`` int64 [n_gemm] (0 attention projection, 1 MLP / shared expert / router /
          MTP projection, 3 LM head), ``ne_cnt`` float64 [n_gemm]: how many times it runs per
          forward (layers of its kind; 1 for the head), ``ne_mtp`` float64 [n_gemm]: times per
          MTP draft pass (the model's MTP modules).
``ex_n, ex_k`` float64 [n_etp, n_ex]: routed-expert GEMMs at each expert-TP size
          (``etp_index[etp]``).
``P``     the collective parameter vector of :func:`infra_lab.collectives.collective_time_params`;
          every all-to-all and send/recv goes through
          :func:`infra_lab._kernels.fabric.best_collective`, every tensor-parallel all-reduce
          through :func:`infra_lab._kernels.collectives.engine_allreduce` (the engine's own
          one-shot / two-shot kernel where its rule in ``H[H_EAR:]`` takes the message, else
          ``best_collective``).
``g0, g1, g2`` the GEMM-model argument tuples (:meth:`infra_lab.compute.GemmModel.args`) for
          BF16, FP8 and FP4 compute (``gs`` = (g0, g1, g2) inside); GEMM
          efficiencies come from :func:`infra_lab._kernels.gemm.gemm_kernel` (memoized per
          parallel block).
"""

from __future__ import annotations

import math
from collections import namedtuple

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
(M_HIDDEN, M_HEADS, M_KV_EL, M_DQ_DEC, M_DV_DEC, M_DQ_PRE, M_DV_PRE,
 M_N_DENSE, M_N_MOE, M_EXPERTS, M_TOPK, M_P_REST, M_P_EMBHEAD, M_P_EXPERT, M_P_MTP,
 M_EXPERT_NATIVE_B, M_MTP_MOE, M_P_MTP_EXP, M_P_ATTN, M_P_MTP_ATTN) = range(20)
N_M = 20
# every index is read by the kernel (tests/test_serving_kernel_inputs.py); the KV heads and
# MLA reach it through kv_share (memory.kv_share_per_gpu per tp) and M_KV_EL, the vocabulary
# through the LM head's GEMM (ne_n/ne_k)

# ---------------------------------------------------------------------------------------
# hardware + stack vector
# ---------------------------------------------------------------------------------------
(H_PEAK_BF16, H_PEAK_FP8, H_PEAK_FP4, H_HBM_BYTES, H_BW_EFF, H_DOMAIN, H_FP4_BYTES,
 H_GEMM_SCALE, H_MEM_SCALE, H_ATT_EFF_PRE, H_ATT_EFF_DEC, H_COMM_SCALE, H_STEP_OVH,
 H_LAYER_OVH, H_MIXED, H_CHUNK, H_MEM_UTIL, H_DISPATCH_B, H_MAX_SEQS, H_MIN_ROWS,
 H_REQ_OVH, H_SEQ_OVH, H_BW_PEAK, H_KFIX, H_CHUNK_DP, H_KV_BYTES_BF16, H_KV_BYTES_FP8) = range(27)
H_EAR = 27
"""H[H_EAR : H_EAR + kf.N_E]: the serving engine's own TP all-reduce rule (the float vector of
:func:`infra_lab._kernels.collectives.engine_allreduce_choice`, from
:func:`infra_lab.serving.engine_allreduce_rule`; all zeros: the library runs every all-reduce)."""
N_H = H_EAR + kf.N_E
# H_KV_BYTES_BF16, H_KV_BYTES_FP8: bytes per KV-cache element of each K_KVPREC code (0 bf16, 1
# fp8), from the number-format table (catalog.format_bytes)

# ---------------------------------------------------------------------------------------
# outputs: results then the breakdown of an average cycle [s]
# ---------------------------------------------------------------------------------------
OUT_NAMES = ("output_tokens_per_s", "total_tokens_per_s", "output_tokens_per_s_per_gpu",
             "total_tokens_per_s_per_gpu", "ttft_s",
             "tpot_s", "tokens_per_s_per_user", "e2e_latency_s", "memory_per_gpu_bytes", "fits",
             "max_concurrency", "prefill_time_fraction", "cycle_s", "running_requests", "kv_limited",
             "weights_per_gpu_bytes", "kv_cache_per_gpu_bytes", "prefill_queue_s")
N_RES = len(OUT_NAMES)
(O_OUT_TPS, O_TOTAL_TPS, O_OUT_TPS_GPU, O_TOTAL_TPS_GPU, O_TTFT, O_TPOT, O_TPS_USER, O_E2E, O_MEM_GPU,
 O_FITS, O_MAX_CONC, O_PREFILL_FRAC, O_CYCLE, O_RUNNING, O_KV_LIMITED, O_WEIGHTS_GPU,
 O_KV_GPU, O_PREFILL_QUEUE) = range(N_RES)
(B_ATTN_GEMM, B_MLP_GEMM, B_EXPERT_GEMM, B_HEAD, B_ATT_DEC, B_ATT_PRE, B_TP_COMM, B_EP_COMM,
 B_PP_P2P, B_LAYER_OVH, B_STEP_OVH, B_MTP, B_ENCODER) = range(13)
N_B = 13
N_OUT = N_RES + N_B
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
of its thread's memo (:func:`_memo_slot`); the GEMM keys are built in :func:`serve_kernel`
from :func:`_gemm_operand`'s base, the collective keys by :func:`_collective_key`."""


# ---------------------------------------------------------------------------------------
# named codes
# ---------------------------------------------------------------------------------------
PREC_BF16, PREC_FP8, PREC_FP4 = range(3)
"""Weight / GEMM compute precision codes (K_WPREC, K_APREC, K_MPREC; the rows of ``gs``)."""
G_ATTN, G_MLP, G_EXPERT, G_HEAD = range(4)
"""GEMM classes: ``ne_cls`` holds G_ATTN, G_MLP (dense MLP, shared expert, router, MTP
projection) or G_HEAD; G_EXPERT marks the routed experts (``ex_n``/``ex_k``)."""
MEMO_GEMM, MEMO_EXPERT, MEMO_COLL = range(3)
"""Memo key kinds (:data:`CACHE_BITS`): a non-expert GEMM, a routed-expert GEMM, a collective
(MEMO_COLL + ranks per node)."""
COMM_TP, COMM_EP, COMM_PP = range(3)
"""The collectives of a forward: tensor-parallel all-reduce, DP-attention MoE
dispatch/combine, pipeline send of the activations."""

_Stack = namedtuple("_Stack", (
    # model: hidden size, attention heads, q·k and v head dims of a decode / prefill token,
    # KV-cache elements per token and attention layer, layer counts, whether the MTP module
    # has routed experts, routed experts and experts per token [-]
    "h", "heads", "dq_dec", "dv_dec", "dq_pre", "dv_pre", "kv_el", "n_dense", "n_moe", "n_layers",
    "mtp_moe", "n_exp", "k_top",
    # hardware + stack: BF16 peak [FLOP/s], achieved HBM bandwidth [B/s], GEMM time scale,
    # memory time scale (floored at the achieved fraction of HBM peak), attention-core
    # efficiencies [-], collective time scale, fixed GPU time per kernel [s], overheads per
    # layer / step / decoding sequence / request [s], MoE dispatch bytes per element, scale-up
    # domain [GPUs] (int and float), smallest GEMM rows, mixed batching, memory utilization,
    # HBM bytes, engine sequence cap, default chunk [tokens], whether DP attention splits the
    # default chunk over the dp ranks (stack parameter dp_attention_chunk_split)
    "peak_bf16", "bw", "gscale", "mscale", "att_eff_pre", "att_eff_dec", "comm", "kfix", "layer_ovh",
    "step_ovh", "seq_ovh", "req_ovh", "dispatch_b", "dom", "dom_f", "min_rows", "mixed", "mem_util",
    "hbm", "max_seqs", "chunk", "chunk_dp"))
"""Model and hardware/stack constants of a kernel call, read once from ``M`` and ``H``."""

_Row = namedtuple("_Row", (
    # parallel layout [-] (dpa: DP attention), MTP draft tokens, KV bytes per element, pipeline
    # stages as a float, rows of the GEMM tables (tpi, etpi), the busiest-rank constant c_ep,
    # KV-head shard, attention spans summed over layers [tokens] (decode: lw_dec; prefill:
    # span), routed-expert GEMM kernels per MoE layer
    "tp", "pp", "dp", "ep", "dpa", "mtpk", "kvb", "ppf", "tpi", "etpi", "imb_c", "shard", "lw_dec",
    "span", "n_kern"))
"""The configuration-row constants one engine cycle needs."""

_Prec = namedtuple("_Prec", ("cp", "ca", "peak", "peak_a", "wb", "wba", "wbe"))
"""Precisions of a set of layers: GEMM compute precision code of the MLP/expert GEMMs (cp) and
of the attention projections (ca), their dense peaks [FLOP/s], weight bytes per parameter of
the MLP (wb), attention projections (wba) and routed experts (wbe) [B]."""


@njit(cache=True, no_cfunc_wrapper=True)
def _roofline(m, n, k, b, eff, peak, wbytes, bw, gscale, mscale):
    """max(compute, memory) time of b GEMMs (m×k)·(k×n) [s]: the compute part at ``eff``, the
    compute model's efficiency of the GEMM with no HBM limit and no fixed time per kernel
    (serving.core.serving_inputs), x the stack's gemm_time_scale (floored at ``eff``, so no
    GEMM runs faster than ``peak``); the HBM read of the weights and activations (+ the output
    written) at the achieved bandwidth ``bw`` x the stack's memory_time_scale (floored at HBM
    peak by the caller). The same composition on both sides of the decode row padding, so the
    time is continuous in the rows there."""
    g = gscale if gscale > eff else eff
    t_c = 2.0 * m * n * k * b / (peak * eff) * g
    t_m = b * (n * k * wbytes + m * (n + k) * 2.0) / bw * mscale
    return t_c if t_c > t_m else t_m


@njit(cache=True, no_cfunc_wrapper=True)
def _memo_slot(key, cmask):
    """Slot of int64 memo ``key`` in a memo of ``cmask + 1`` slots (:data:`CACHE_BITS`)."""
    hx = (key ^ (key >> 29)) * 1000003
    return (hx ^ (hx >> 32)) & cmask


@njit(cache=True, no_cfunc_wrapper=True)
def _precision_tables(M, H):
    """Per weight-precision code (PREC_*): weight bytes per parameter ``wbytes`` [B], the GEMM
    compute precision code ``cprecs`` (FP8/FP4 weights compute at BF16 on a part without that
    peak), the routed experts' bytes ``ebytes`` [B] (at most their native checkpoint bytes
    M_EXPERT_NATIVE_B, 0 = none stated); and ``peak_of``: dense peak [FLOP/s] per compute
    precision code. Tables, not IR-inlined helpers: each inlined call cost ~100 IR statements
    of compile time."""
    wbytes = np.empty(3)
    cprecs = np.empty(3, np.int64)
    ebytes = np.empty(3)
    peak_of = np.empty(3)
    wbytes[PREC_BF16] = 2.0
    wbytes[PREC_FP8] = 1.0
    wbytes[PREC_FP4] = H[H_FP4_BYTES]
    cprecs[PREC_BF16] = PREC_BF16
    cprecs[PREC_FP8] = PREC_FP8 if H[H_PEAK_FP8] > 0.0 else PREC_BF16
    cprecs[PREC_FP4] = PREC_FP4 if H[H_PEAK_FP4] > 0.0 else PREC_BF16
    peak_of[PREC_BF16] = H[H_PEAK_BF16]
    peak_of[PREC_FP8] = H[H_PEAK_FP8]
    peak_of[PREC_FP4] = H[H_PEAK_FP4]
    nat = M[M_EXPERT_NATIVE_B]
    for c in range(3):
        ebytes[c] = nat if (nat > 0.0 and nat < wbytes[c]) else wbytes[c]
    return wbytes, cprecs, ebytes, peak_of


@njit(cache=True, no_cfunc_wrapper=True)
def _stack_constants(M, H):
    """The :data:`_Stack` of model vector ``M`` and hardware/stack vector ``H``."""
    bw = H[H_BW_EFF]
    mscale = H[H_MEM_SCALE]
    # physical floor: memory time >= bytes / HBM peak, i.e. the effective scale is at least
    # the achieved-bandwidth fraction H_BW_EFF / H_BW_PEAK (compute.hbm_efficiency)
    if mscale < bw / H[H_BW_PEAK]:
        mscale = bw / H[H_BW_PEAK]
    return _Stack(M[M_HIDDEN], M[M_HEADS], M[M_DQ_DEC], M[M_DV_DEC], M[M_DQ_PRE], M[M_DV_PRE], M[M_KV_EL],
                  M[M_N_DENSE], M[M_N_MOE], M[M_N_DENSE] + M[M_N_MOE], M[M_MTP_MOE] > 0.0, M[M_EXPERTS],
                  M[M_TOPK], H[H_PEAK_BF16], bw, H[H_GEMM_SCALE], mscale, H[H_ATT_EFF_PRE], H[H_ATT_EFF_DEC],
                  H[H_COMM_SCALE], H[H_KFIX], H[H_LAYER_OVH], H[H_STEP_OVH], H[H_SEQ_OVH], H[H_REQ_OVH],
                  H[H_DISPATCH_B], int(H[H_DOMAIN]), H[H_DOMAIN], int(H[H_MIN_ROWS]), H[H_MIXED] > 0.5,
                  H[H_MEM_UTIL], H[H_HBM_BYTES], H[H_MAX_SEQS], H[H_CHUNK], H[H_CHUNK_DP] > 0.5)


@njit(cache=True, no_cfunc_wrapper=True)
def _layer_precisions(wprec, aprec, mprec, wbytes, cprecs, ebytes, peak_of):
    """(main, draft) :data:`_Prec` of the main layers and of the MTP draft module from the
    precision codes of the weights, the attention projections (aprec < 0: as the weights) and
    the MTP module (mprec < 0: as the main layers; else all its GEMMs at mprec), and the
    tables of :func:`_precision_tables`."""
    wb = wbytes[wprec]
    cprec = cprecs[wprec]
    if aprec < 0:
        wba = wb
        caprec = cprec
    else:
        wba = wbytes[aprec]
        caprec = cprecs[aprec]
    main = _Prec(cprec, caprec, peak_of[cprec], peak_of[caprec], wb, wba, ebytes[wprec])
    if mprec < 0:
        return main, main
    d_cp = cprecs[mprec]
    d_wb = wbytes[mprec]
    return main, _Prec(d_cp, d_cp, peak_of[d_cp], peak_of[d_cp], d_wb, d_wb, ebytes[mprec])


@njit(cache=True, no_cfunc_wrapper=True)
def _weights_per_gpu(M, tp, pp, ep, etp, mtpk, mprec, main, draft):
    """Weight bytes on one GPU [B]: the layers sharded over tp·pp (attention projections at
    their own precision), embeddings + LM head in BF16 over tp·min(pp, 2), routed experts over
    pp·ep·etp, and with MTP (mtpk > 0) the draft modules (at their own precision when mprec
    >= 0, :func:`_layer_precisions`)."""
    wb, wba, wbe = main.wb, main.wba, main.wbe
    p_mtp = M[M_P_MTP] if mtpk > 0 else 0.0
    p_mtp_exp = M[M_P_MTP_EXP] if mtpk > 0 else 0.0
    p_att = M[M_P_ATTN] + (M[M_P_MTP_ATTN] if mtpk > 0 else 0.0)
    if mtpk > 0 and mprec >= 0:
        # the MTP modules stored at their own precision (experts: at most their native bytes)
        return (M[M_P_REST] - M[M_P_ATTN]) / (tp * pp) * wb + M[M_P_EMBHEAD] / (tp * min(pp, 2)) * 2.0 \
            + M[M_P_ATTN] / (tp * pp) * wba + M[M_P_EXPERT] * wbe / (pp * ep * etp) \
            + p_mtp / (tp * pp) * draft.wb + p_mtp_exp * draft.wbe / (pp * ep * etp)
    return (M[M_P_REST] + p_mtp - p_att) / (tp * pp) * wb + M[M_P_EMBHEAD] / (tp * min(pp, 2)) * 2.0 \
        + p_att / (tp * pp) * wba + (M[M_P_EXPERT] + p_mtp_exp) * wbe / (pp * ep * etp)


@njit(cache=True, no_cfunc_wrapper=True)
def _attention_spans(wins, n_in, l_avg):
    """(lw_dec, span): attention spans summed over the attention layers [tokens] (``wins``:
    each layer's window, 0 = full). lw_dec = Σ min(l_avg, window): what a decode token reads,
    and a request's KV cache at its mean length ``l_avg``; span = Σ the mean causal span of a
    prompt of ``n_in`` tokens: n_in/2 on full layers, (W²/2 + (n_in − W)·W)/n_in on a window
    W < n_in."""
    lw_dec = 0.0
    span = 0.0
    for j in range(wins.shape[0]):
        W = wins[j]
        lw_dec += l_avg if (W <= 0.0 or l_avg < W) else W
        if W <= 0.0 or n_in <= W:
            span += n_in / 2.0
        else:
            span += (W * W / 2.0 + (n_in - W) * W) / n_in
    return lw_dec, span


@njit(cache=True, no_cfunc_wrapper=True)
def _kv_capacity(S, weights, kv_req, B):
    """(bmax, fits, b_run): the requests whose KV cache (``kv_req`` bytes each on one GPU)
    fits beside ``weights`` [B] in the usable HBM (1e18: no KV cache), capped at the engine's
    sequence limit; whether one fits; and the requests running on one DP rank of the
    ``B`` requested (all of them when none fits, so the result stays defined)."""
    usable = S.mem_util * S.hbm - weights
    if usable > 0.0 and kv_req > 0.0:
        bmax = math.floor(usable / kv_req)
    elif usable > 0.0:
        bmax = 1e18
    else:
        bmax = 0.0
    fits = bmax >= 1.0
    if bmax > S.max_seqs:
        bmax = S.max_seqs
    b_run = B if (B <= bmax or not fits) else bmax
    return bmax, fits, b_run


@njit(cache=True, no_cfunc_wrapper=True)
def _tokens_per_step(mtpk, a):
    """(V, E): tokens verified per sequence and engine step (1 + MTP draft tokens) and the
    expected tokens a sequence advances per step, (1 − a^(mtpk+1))/(1 − a) at draft-token
    acceptance ``a`` [-]."""
    V = 1.0 + mtpk
    if mtpk > 0:
        E = (1.0 - a ** (mtpk + 1)) / (1.0 - a) if a < 1.0 else V
    else:
        E = 1.0
    return V, E


@njit(cache=True, no_cfunc_wrapper=True)
def _budget_split(chunk, V, E, n_in, n_out, b_run):
    """(c, b) of a mixed engine whose prompts outrun the step's token budget (``chunk``): the
    scheduler fills every step to the budget, decode tokens first and prompt chunks in the rest
    (vLLM V1 ``Scheduler.schedule()``, TensorRT-LLM ``MicroBatchScheduler``, docs/serving.md),
    so the admitted prompts (c tokens per cycle, c/``n_in`` requests) feed b = c·(O − 1)/(I·E)
    decoding sequences of V tokens each, and c + V·b = chunk; b at most the ``b_run`` running."""
    b = chunk * (n_out - 1.0) / (n_in * E + V * (n_out - 1.0))
    if b > b_run:
        b = b_run
    return chunk - V * b, b


@njit(cache=True, no_cfunc_wrapper=True)
def _prefill_bound(sat, t_serve, ttft_run, b_run, n_in, cycle, c_tok):
    """(t_serve, ttft_run) [s] of a request in service when the step budget is full (``sat``):
    the engine admits c_tok/n_in requests per ``cycle``, so by Little's law the ``b_run``
    requests take at least b_run·n_in·cycle/c_tok each; the excess is time queued for prefill,
    part of TTFT."""
    if sat and c_tok > 0.0:
        t_q = b_run * n_in * cycle / c_tok
        if t_q > t_serve:
            return t_q, ttft_run + (t_q - t_serve)
    return t_serve, ttft_run


@njit(cache=True, no_cfunc_wrapper=True)
def _separate_prefill(p_tok, n_in, m_pre, b_run, dpa, dp):
    """(x, keep, q) of an engine that runs prefill as forwards of their own (SGLang's default,
    ATOM; docs/serving.md "separate prefill"): ``x`` = p_tok/m_pre prefill forwards per decode
    step; ``keep`` the share of the B = ``b_run`` requests that are decoding, and so wait,
    during those forwards: the u of the gap's k = p_tok/n_in prompts are still before their
    first token, u = 1 for at most one prompt per gap, else (P + max(I, m_pre))/(2I) (prompts
    packed first come first served into forwards of m_pre tokens, each done at the end of the
    forward holding its last token), at most B; ``q`` under DP attention with dp > 1: the
    chance that one of the other dp − 1 ranks, which choose prefill or decode on their own, is
    in a prefill forward (a share x/(1 + x) of its forwards) while this rank decodes, which then
    lasts as long as that forward (every MoE layer is a collective over the ranks)."""
    x = p_tok / m_pre if m_pre > 0.0 else 0.0
    u = 1.0
    if p_tok > n_in:
        u = (p_tok + max(n_in, m_pre)) / (2.0 * n_in)
    if u > b_run:
        u = b_run
    keep = 1.0 - u / b_run if b_run > 0.0 else 0.0
    q = 0.0
    if dpa and dp > 1:
        q = 1.0 - (1.0 / (1.0 + x)) ** (dp - 1)
    return x, keep, q


@njit(cache=True, no_cfunc_wrapper=True)
def _prefill_waits(x, dpa, dp):
    """Under DP attention with dp > 1 (ranks choosing prefill or decode on their own, each in a
    prefill forward in a share g = x/(1 + x) of its forwards): the chance that at least one of
    the other dp − 1 ranks decodes while this rank runs a prefill forward, 1 − g^(dp − 1). The
    forward then lasts as long as that rank's decode step when the decode step is the longer
    (short prompts, many decoding requests); 0 otherwise (the ranks are not coupled)."""
    if dpa and dp > 1:
        return 1.0 - (x / (1.0 + x)) ** (dp - 1)
    return 0.0


@njit(cache=True, no_cfunc_wrapper=True)
def _batch_formation(static, mixed, dpa, dp, chunk, mc, D, b_dec, p_tok, n_in, c_tok, f, f_any, moe_a, m_pre,
                     sat):
    """The first engine cycle of a pass (``ta``): (da, sa, pa) decode tokens, decoding
    sequences and prefill tokens per cycle, and the state a pass carries (a value not set
    here keeps the one given):

    * static batch: a prefill piece of ``mc`` tokens;
    * mixed batching: the ``D`` decode tokens of ``b_dec`` sequences + a prompt chunk of
      ``c_tok`` tokens filling the step's ``chunk`` budget, carried in a share ``f`` of the
      cycles (``p_tok`` prompt tokens per cycle; ``sat``: the prompts outrun the budget and
      every step carries chunk − D of them, :func:`_budget_split`); under DP attention with dp > 1 the step
      waits for its busiest rank: ``f_any`` the share with a chunk on any rank, ``moe_a`` the
      tokens into each MoE layer (else -1);
    * otherwise: a prefill-only forward of ``m_pre`` tokens (under DP attention with dp > 1,
      ``moe_a`` the tokens into each MoE layer of a forward with a prefill on the critical
      path: the prefilling ranks' prompts and the other ranks' decode tokens).
    """
    if static:
        return 0.0, 0.0, mc, c_tok, f, f_any, moe_a, m_pre
    if mixed:
        room = chunk - D
        if room < 1.0:
            room = 1.0
        if sat:
            c_tok = chunk - D  # the budget caps the step: the excess prompts queue
            f = 1.0
        else:
            c_tok = min(room, max(p_tok, n_in))
            f = p_tok / c_tok
        f_any = f
        moe_a = -1.0
        if dpa and dp > 1 and f > 0.0:
            # DP attention: the step waits for its busiest rank (a collective in every MoE
            # layer), which carries a chunk when any of the dp ranks has one (they admit
            # prompts independently); the MoE layers see the chunks of the dp·f/f_any ranks
            # that have one
            f_any = 1.0 - (1.0 - f) ** dp
            moe_a = dp * D + c_tok * dp * f / f_any
        return D, b_dec, c_tok, c_tok, f, f_any, moe_a, m_pre
    m_pre = min(chunk, max(n_in, p_tok))
    moe_a = -1.0
    if dpa and dp > 1 and p_tok > 0.0:
        # DP attention: the ranks choose prefill or decode on their own, each prefilling in a
        # share g = x/(1 + x) of its forwards (x = p_tok/m_pre per decode step); a forward with a
        # prefill on the critical path has dp·g/g_any ranks prefilling m_pre tokens and the
        # others decoding D, g_any = 1 − (1 − g)^dp, and its MoE layers see all of their tokens
        g = p_tok / (m_pre + p_tok)
        n_p = dp * g / (1.0 - (1.0 - g) ** dp)
        moe_a = n_p * m_pre + (dp - n_p) * D
    return 0.0, 0.0, m_pre, c_tok, f, f_any, moe_a, m_pre


@njit(cache=True, no_cfunc_wrapper=True)
def _expert_kernel_counts(ex_n, ex_k):
    """Routed-expert GEMM kernels of one MoE layer (grouped over the experts) [-], per
    expert-TP row of the expert GEMM tables."""
    n_kern = np.empty(ex_n.shape[0])
    for e in range(ex_n.shape[0]):
        n_kern[e] = 0.0
        for j in range(ex_n.shape[1]):
            if ex_n[e, j] > 0.0 and ex_k[e, j] > 0.0:
                n_kern[e] += 1.0
    return n_kern


@njit(cache=True, no_cfunc_wrapper=True)
def _busiest_experts(xt, busy_a, ep, n_exp, k_top):
    """Distinct experts the busiest of ``ep`` expert-parallel ranks holds when ``xt`` tokens
    (an expectation, fractional) enter a MoE layer [experts]: the table ``busy_a[ep]`` of
    :func:`infra_lab.compute.moe_busiest_rank_experts` at whole token counts, linear between
    them; for ep = 1, and beyond the table (where the busiest and the mean rank are within
    compute.moe.SATURATED_EXPERTS of each other), the mean rank's (E/ep)·(1 − (1 − k/E)^xt)."""
    lo = math.floor(xt)
    i = int(lo)
    if ep <= 1 or i + 1 >= busy_a.shape[1]:
        return (n_exp / ep) * (1.0 - (1.0 - k_top / n_exp) ** xt)
    a = busy_a[ep, i]
    return a + (xt - lo) * (busy_a[ep, i + 1] - a)


@njit(cache=True, no_cfunc_wrapper=True)
def _moe_spread(xt, u, S, R):
    """(bb, me): routed experts the busiest expert-parallel rank runs and its rows per
    expert [-] when ``xt`` tokens enter a MoE layer: ``u`` (:func:`_busiest_experts`) distinct
    experts, the busiest rank's (the weights it reads), and the busiest rank's rows spread over
    them: 1 + c_ep/√(tokens/ep) times the mean, the normal closed form of
    :func:`infra_lab.compute.moe_load_imbalance` (c_ep = R.imb_c), capped at ep (everything on
    one rank), at least one row per expert. APPROXIMATION: the rank with the most experts and
    the rank with the most rows are taken to be the same one (each layer waits for its slowest
    rank; at small batch, where the weight reads dominate, they mostly are)."""
    ep = R.ep
    imb = 1.0
    if not (ep <= 1 or xt <= 0.0):
        imb = 1.0 + R.imb_c / math.sqrt(xt / ep)
        if not imb < ep:
            imb = float(ep)
    rows = xt * S.k_top / ep * imb
    bb = max(1.0, u)
    return bb, max(1.0, rows / bb)


@njit(cache=True, no_cfunc_wrapper=True)
def _head_rows(dd_f, pre_f, n_in):
    """The LM head's rows in one forward of a micro-batch with ``dd_f`` decode tokens and
    ``pre_f`` prompt tokens of ``n_in``-token prompts: the engines compute logits only at the
    last position each request has in the forward (vLLM ``logits_indices = query_start_loc[1:]
    - 1``, SGLang's LogitsProcessor ``last_index``), so one row per decode token and, for the
    prompt tokens, one per prompt whose last position the forward holds (pre_f / n_in), at
    least one (a piece of a longer prompt still computes its last row's logits). An
    approximation: the one partial prompt a forward beside whole ones may carry adds no row."""
    return dd_f + (max(1.0, pre_f / n_in) if pre_f > 0.0 else 0.0)


@njit(cache=True, no_cfunc_wrapper=True)
def _forward_tokens(q, mm, hd, sc_, mo, S, R):
    """(active, xm, xh, xt, moe_here) of one forward of a micro-batch (q = 0: ``mm`` tokens
    with ``hd`` LM-head rows, :func:`_head_rows`; ``mo`` the tokens the DP-attention group sends
    into each MoE layer per cycle, < 0: every rank carrying this rank's tokens) or of one MTP
    draft pass (q = 1: one token per each of the ``sc_`` sequences per cycle): whether it has
    tokens, the GEMM rows, the LM-head rows, the tokens into each MoE layer and whether it has
    routed experts."""
    ppf = R.ppf
    if q == 0:
        active = mm > 0.0  # (without tokens only the pipeline send is paid)
        xt = mo / ppf if mo >= 0.0 else mm * (R.dp if R.dpa else 1.0)
        return active, mm, hd, xt, active and S.n_moe > 0.0
    xm = sc_ / ppf
    return True, xm, xm, xm * (R.dp if R.dpa else 1.0), S.mtp_moe


@njit(cache=True, no_cfunc_wrapper=True)
def _gemm_operand(cls, j, n_ne, xm, xh, bb, me, S, R, pr, n_tp, n_etp, n_ex):
    """(gp, kb, mg, bg, pk, bx) of GEMM ``j`` of class ``cls`` (G_*) at the precisions ``pr``
    (:data:`_Prec`): compute precision code, memo key base (kind·65536 + slot, :data:`CACHE_BITS`),
    rows (``xm``; the LM head ``xh``; a routed expert ``me``), batch count (``bb`` experts for
    a routed expert, else 1), peak [FLOP/s] and weight bytes per parameter [B]. Attention
    projections run at their own precision, the LM head in BF16 (kept so by the quantized
    checkpoints, docs/serving.md), the rest at the layers' precision."""
    if cls == G_EXPERT:
        return pr.cp, MEMO_EXPERT * 65536 + (pr.cp * n_etp + R.etpi) * n_ex + (j - n_ne), me, bb, pr.peak, pr.wbe
    gp = pr.ca if cls == G_ATTN else (PREC_BF16 if cls == G_HEAD else pr.cp)
    kb = MEMO_GEMM * 65536 + (gp * n_tp + R.tpi) * n_ne + j
    mg = xh if cls == G_HEAD else xm
    pk = pr.peak_a if cls == G_ATTN else (S.peak_bf16 if cls == G_HEAD else pr.peak)
    bx = pr.wba if cls == G_ATTN else (2.0 if cls == G_HEAD else pr.wb)
    return gp, kb, mg, 1.0, pk, bx


@njit(cache=True, no_cfunc_wrapper=True)
def _comm_plan(r, q, active, moe_here, S, R):
    """(runs, op, n_c, kk, bpt) of collective ``r`` (COMM_*) of a forward (q = 0) or a draft
    pass (q = 1): whether it runs, the operation (kf.OP_*), ranks, ranks per node and bytes per
    token [B]. COMM_TP: the tensor-parallel all-reduces; COMM_EP (DP attention): the MoE
    dispatch/combine over tp·dp ranks; COMM_PP (q = 0): the pipeline send of the micro-batch's
    activations to the next stage (within a node or not depending on tp·pp)."""
    if r == COMM_TP:
        n_c = R.tp
        return active and R.tp > 1, kf.OP_ALL_REDUCE, n_c, n_c if n_c <= S.dom else S.dom, S.h * 2.0
    if r == COMM_EP:
        n_c = R.tp * R.dp
        return R.dpa and moe_here, kf.OP_ALL_TO_ALL, n_c, n_c if n_c <= S.dom else S.dom, \
            S.k_top * S.h * S.dispatch_b
    n_c = min(R.pp, 2)  # = 2, typed int64 (a literal 2 would compile a second specialization)
    return q == 0 and R.pp > 1, kf.OP_SEND_RECV, n_c, n_c if R.tp * R.pp <= S.dom_f else 1, S.h * 2.0


@njit(cache=True, no_cfunc_wrapper=True)
def _comm_seconds(r, q, x, S, R):
    """Seconds of collective ``r`` (COMM_*) per forward (q = 0) or draft pass (q = 1), one of
    which takes ``x`` [s], after the stack's comm scale: all-reduces after the attention of
    every layer and (DP attention) the dense layers' MLP or (otherwise) every layer's MLP, per
    draft pass one under DP attention with MoE, else two; a dispatch + combine per MoE layer
    (per draft pass); one pipeline send per stage."""
    if r == COMM_TP:
        if q == 0:
            n_ar = S.n_layers + S.n_dense if R.dpa else 2.0 * S.n_layers
            return n_ar * x * S.comm
        return (1.0 if (R.dpa and S.mtp_moe) else 2.0) * x * S.comm
    if r == COMM_EP:
        return 2.0 * S.n_moe * x * S.comm if q == 0 else 2.0 * x * S.comm
    return R.ppf * x * S.comm


@njit(cache=True, no_cfunc_wrapper=True)
def _attention_core(dd_f, ns_f, pre_f, S, R):
    """(decode, prefill) seconds of the attention core over every layer: ``dd_f`` decode tokens
    of ``ns_f`` sequences read their KV cache (max of FLOPs at the decode efficiency and bytes
    at the achieved HBM bandwidth), ``pre_f`` prefill tokens are compute; each + the fixed
    kernel time per layer (0 without such tokens)."""
    hq = S.heads / R.tp
    t_dec = 0.0
    t_pre = 0.0
    if dd_f > 0.0:
        fl = dd_f * 2.0 * hq * (S.dq_dec + S.dv_dec) * R.lw_dec
        by = ns_f * S.kv_el * R.kvb / R.shard * R.lw_dec
        t_c = fl / (S.peak_bf16 * S.att_eff_dec)
        t_m = by / S.bw * S.mscale
        t_dec = (t_c if t_c > t_m else t_m) + S.n_layers * S.kfix
    if pre_f > 0.0:
        fl = pre_f * 2.0 * hq * (S.dq_pre + S.dv_pre) * R.span
        t_pre = fl / (S.peak_bf16 * S.att_eff_pre) + S.n_layers * S.kfix
    return t_dec, t_pre


@njit(cache=True, no_cfunc_wrapper=True)
def _collective_key(op, n_c, kk, ti):
    """Memo key (:data:`CACHE_BITS`) of collective ``op`` over ``n_c`` ranks, ``kk`` per node,
    on ``ti`` whole tokens."""
    return ((((MEMO_COLL + kk) * 65536 + op * 8192 + n_c) * 1024) << 30) + ti


@njit(cache=True, no_cfunc_wrapper=True)
def _pass_weights(static, mixed, b_run, n_in, n_out, mc, E, f, moe_a, dp, prompts, sat, x, keep, q, r, a_longer):
    """(wa, wb, we): the result's breakdown of a pass is wa·ta + wb·tb (the engine cycles of
    the pass) with we·t_enc encoder seconds:

    * static batch: the whole batch: b_run·n_in/mc prefill pieces, (n_out − 1)/E decode
      steps, the encoders of its b_run requests;
    * mixed batching: the average cycle a request sees between two of its tokens: the cycle
      with a prompt chunk in the share of cycles carrying the OTHER requests' chunks (its own
      are in its TTFT); with the budget full (``sat``) every step carries other requests'
      prompts. A step with a chunk carries b_run − 1 decoding requests and one without carries
      b_run, so a decode token waits for a chunk step with probability w = f·(b_run − 1)/(b_run − f)
      (1 at f = 1, where the budget is full: the two branches meet); with DP attention
      (``moe_a`` >= 0) the step also waits for a chunk on any of the dp − 1 other ranks, which
      carry one in a share ``f`` of the steps each, independently: 1 − (1 − w)(1 − f)^(dp − 1);
      the encoders run with the chunks;
    * separate prefill forwards: the decode step + the ``x`` prefill forwards per decode step,
      of which a decoding request waits for the share ``keep`` (the requests still before their
      first token do not wait: :func:`_separate_prefill`); under DP attention the ranks step
      together, so a step lasts as long as the longer of the two kinds on any rank
      (``a_longer``: the prefill forward ta is; :func:`_ttft_in_service`): a share ``q`` of the
      decode steps then lasts a prefill forward of another rank, or else (the decode step is
      the longer) a share ``r`` of the prefill forwards lasts a decode step of another rank
      (:func:`_prefill_waits`);
    the last two with the encoders of the ``prompts`` new requests per cycle (those a decoding
    request waits for)."""
    if static:
        return b_run * n_in / mc, (n_out - 1.0) / E, b_run
    if mixed:
        if sat:
            return 1.0, 0.0, prompts
        oth = (b_run - 1.0) / (b_run - f) if b_run > 1.0 else 0.0  # a decode token's chunk steps per chunk step
        f_oth = f * oth
        if moe_a >= 0.0:
            f_oth = 1.0 - (1.0 - f_oth) * (1.0 - f) ** (dp - 1)
        return f_oth, 1.0 - f_oth, prompts * oth
    if a_longer:
        return x * keep + q, 1.0 - q, prompts * keep
    return x * keep * (1.0 - r), 1.0 + x * keep * r, prompts * keep


@njit(cache=True, no_cfunc_wrapper=True)
def _static_batch(s_a, s_b, n_pre, n_dec, b_run, n_out, E, dp, t_enc, req_ovh):
    """(ttft, tpot, e2e, out_tps, prefill fraction) [s, s, s, tokens/s, -] of a static batch:
    ``n_pre`` prefill pieces of ``s_a`` seconds, then ``n_dec`` decode steps of ``s_b``
    seconds (E tokens per request each) for ``b_run`` requests per DP rank."""
    ttft = n_pre * s_a + b_run * t_enc + req_ovh
    e2e = ttft + n_dec * s_b
    return ttft, s_b / E, e2e, dp * b_run * n_out / e2e, ttft / e2e


@njit(cache=True, no_cfunc_wrapper=True)
def _ttft_in_service(mixed, cycle, s_a, s_b, n_in, c_tok, m_pre, f_any, p_tok, prompts, t_enc, req_ovh, x, q, r):
    """(ttft_run, prefill fraction, engine step) [s, -, s] of a request in service.

    * mixed batching: half the average ``cycle``, then its prompt in ceil(n_in/c_tok) steps
      with a chunk (``s_a`` seconds each); ``f_any`` of the engine steps carry a chunk;
    * separate prefill forwards (``m_pre`` tokens, ``s_a`` seconds each; ``x`` per decode step
      of ``s_b`` seconds): under DP attention the ranks step together (every MoE layer is a
      collective), so a step lasts the longer of the kinds its ranks run, max(s_a, s_b): a
      share ``q`` of the decode steps (another rank prefills) and a share ``r`` of the prefill
      forwards (another rank decodes) last max(s_a, s_b); without DP attention q = r = 0.
      APPROXIMATION: the whole step's max, not each layer's (a lower bound of the sum of the
      per-layer maxima). A request waits half a decode step, then the gap's forwards up to the
      one that holds its prompt's last token:
      ceil(n_in/m_pre) + max(0, p_tok − max(n_in, m_pre))/(2·m_pre) of them on average (the
      gap's p_tok prompt tokens packed first come first served);
    then its encoders and the request overhead. The engine step (the mean time between two
    decode steps, every prefill forward counted) sets the prompt tokens per step and, for
    separate prefill, the requests that decode; the prefill fraction is the share of it spent
    on prefill and encoders."""
    if mixed:
        ttft_run = 0.5 * cycle + math.ceil(n_in / c_tok - 1e-9) * s_a + t_enc + req_ovh
        full = f_any * s_a + (1.0 - f_any) * s_b + prompts * t_enc
        return ttft_run, (f_any * (s_a - s_b) + prompts * t_enc) / full, full
    hi = s_a if s_a > s_b else s_b
    dec = q * hi + (1.0 - q) * s_b  # a decode step (under DP attention: maybe another rank's prefill)
    pre = r * hi + (1.0 - r) * s_a  # a prefill forward (under DP attention: maybe another rank's decode)
    step = dec + x * pre + prompts * t_enc
    ahead = math.ceil(n_in / m_pre - 1e-9) + max(0.0, p_tok - max(n_in, m_pre)) / (2.0 * m_pre)
    ttft_run = 0.5 * dec + ahead * pre + t_enc + req_ovh
    return ttft_run, (x * pre + (dec - s_b) + prompts * t_enc) / step, step


@njit(cache=True, no_cfunc_wrapper=True)
def _queue_and_burst(t_serve, ttft_run, b_run, B, C, n_in, mc, burst_needed, lockstep, n_prompts, s_burst):
    """(TTFT of the closed loop, its burst term) [s, s]: in service (``ttft_run``) + the wait
    for a free slot when the KV cache holds only ``b_run`` of the ``B`` requests per rank + a
    burst of prompts queued together (every wave under lockstep, else the first wave of a
    finite benchmark, its share C/N of the requests), ``s_burst`` the seconds of a prefill
    piece of ``mc`` tokens."""
    wait = 0.0
    if b_run < B:
        wait = t_serve * (B / b_run - 1.0)
    burst = 0.0
    if burst_needed:
        share = 1.0 if lockstep else C / n_prompts
        burst = share * 0.5 * b_run * n_in / mc * s_burst
    return ttft_run + wait + burst, burst


@njit(cache=True, no_cfunc_wrapper=True)
def _lockstep_tpot(tpot, tpot_decode, burst, n_out):
    """TPOT [s] of a lock-step wave as the benchmark computes it, (e2e − TTFT)/(O − 1): every
    request of the wave finishes with the wave, so the prompt work its TTFT already holds (the
    queued ``burst``) is not also spread over its later tokens; never below the decode-only
    step ``tpot_decode`` (an approximation: the wave's prefill is treated as one block). With
    one output token there is no later token to spread it over: ``tpot`` is kept."""
    if n_out <= 1.0:
        return tpot
    return max(tpot_decode, tpot - burst / (n_out - 1.0))


@njit(cache=True, no_cfunc_wrapper=True)
def _write_result(out, i, acc, out_tps, n_in, n_out, gpus, ttft, tpot, e2e, mem, fits, bmax, dp, prefill_frac,
                  cycle, b_run, B, weights, kv_gpu, queue):
    """Fill output row ``out[i]`` (layout O_* then the breakdown ``acc``, B_*)."""
    o = out[i]
    o[O_OUT_TPS] = out_tps
    o[O_TOTAL_TPS] = out_tps * (n_in + n_out) / n_out
    o[O_OUT_TPS_GPU] = out_tps / gpus
    o[O_TOTAL_TPS_GPU] = o[O_TOTAL_TPS] / gpus
    o[O_TTFT] = ttft
    o[O_TPOT] = tpot
    # one output token (a prefill-only request) has no TPOT (serving.tpot_defined; the caller
    # reports None): a static batch then has no decode step and tpot = 0, so no 1/tpot
    o[O_TPS_USER] = 1.0 / tpot if n_out > 1.0 else 0.0
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
    o[O_PREFILL_QUEUE] = queue
    for j in range(N_B):
        o[N_RES + j] = acc[j]


@njit(cache=True, nogil=True, no_cfunc_wrapper=True)
def serve_kernel(cfg, out, lo, hi, M, H, wins, tp_index, kv_share, etp_index, imb_a, busy_a, ne_n, ne_k, ne_cls, ne_cnt, ne_mtp,
                 ex_n, ex_k, P, g0, g1, g2, ck, cv):
    """Fill ``out[i]`` (:data:`N_OUT` floats) for the configuration rows ``cfg[lo:hi]``.

    One block of rows with its own memo of GEMM efficiencies and collective times
    (``ck``/``cv``: int64 -1 / float64 slots, a power of two of them, from :func:`memo`).
    The kernel releases the GIL: :func:`infra_lab.serving._run` runs blocks on Python threads
    in parallel (no numba parfor, whose compilation cost seconds on every cold start); no
    two threads share a memo or rows. Per row: memory per GPU and KV capacity, tokens per
    step, then the engine cycles of each pass of the closed-loop fixed point and the
    latencies, each part a function of its own. The engine cycle's loops over GEMMs and
    collectives, which read the GEMM tables and the memo, stay in this function: a call that
    passes arrays costs an atomic reference-count update per array, and per engine cycle
    (~30 arrays) that made the kernel 2-3x slower; the parts they call take scalars.
    """
    # time breakdowns [s] (N_B each): acc the result's; ta, tb, tpc the engine cycles of a
    # pass: ta: static: the prefill piece; mixed: decode + a prompt chunk; otherwise: a
    # prefill-only forward; tb: decode only; tpc: prefill-only piece of min(chunk, all
    # prompts) (static batch, or the queued burst of a finite benchmark / lockstep waves;
    # first pass only)
    ear = H[H_EAR:H_EAR + kf.N_E]  # the engine's all-reduce rule (a view, read once)
    acc = np.empty(N_B)
    ta = np.empty(N_B)
    tb = np.empty(N_B)
    tpc = np.empty(N_B)
    ta[:] = 0.0
    tb[:] = 0.0
    tpc[:] = 0.0
    gs = (g0, g1, g2)  # one tuple type: indexed by the compute-precision code
    # the compute model's arguments and results of one GEMM shape (gemm_kernel takes arrays)
    sm = np.empty(1, np.int64)
    sn = np.empty(1, np.int64)
    sk = np.empty(1, np.int64)
    sb = np.empty(1, np.int64)
    se = np.empty(1)
    st = np.empty(1)
    wbytes, cprecs, ebytes, peak_of = _precision_tables(M, H)
    S = _stack_constants(M, H)
    n_tp, n_ne = ne_n.shape
    n_etp, n_ex = ex_n.shape
    n_kern_of = _expert_kernel_counts(ex_n, ex_k)
    cmask = ck.shape[0] - 1
    for i in range(lo, hi):
        row = cfg[i]
        tp, pp, dp, ep = int(row[K_TP]), int(row[K_PP]), int(row[K_DP]), int(row[K_EP])
        dpa = row[K_DPA] > 0.5
        mtpk = int(row[K_MTPK])
        mprec = int(row[K_MPREC])
        C, n_in, n_out, t_enc = row[K_CONC], row[K_IN], row[K_OUT], row[K_ENC]
        chunk = row[K_CHUNK] if row[K_CHUNK] > 0.0 else S.chunk
        if row[K_CHUNK] <= 0.0 and dpa and dp > 1 and S.chunk_dp:
            # the stack's default budget is the engine's, not a rank's: under DP attention each
            # rank prefills at most budget // dp tokens a forward (SGLang _handle_data_parallelism)
            chunk = float(int(S.chunk) // dp)
        static = row[K_STATIC] > 0.5
        lockstep = row[K_LOCKSTEP] > 0.5
        etp = (tp * dp if dpa else tp) // ep
        main, draft = _layer_precisions(int(row[K_WPREC]), int(row[K_APREC]), mprec, wbytes, cprecs, ebytes,
                                        peak_of)
        # ---- memory per GPU: the weights, and the KV cache of the requests that fit beside them
        weights = _weights_per_gpu(M, tp, pp, ep, etp, mtpk, mprec, main, draft)
        lw_dec, span = _attention_spans(wins, n_in, n_in + n_out / 2.0)
        kvb = H[H_KV_BYTES_BF16] if row[K_KVPREC] < 0.5 else H[H_KV_BYTES_FP8]
        # the GPUs one token's KV cache is spread over: 1 / the share one GPU holds (an input:
        # infra_lab.memory.kv_share_per_gpu, the one owner of the split)
        shard = 1.0 / kv_share[tp_index[tp]]
        kv_req = lw_dec * S.kv_el * kvb / shard / pp  # one request, one GPU [B]
        B = C / dp
        bmax, fits, b_run = _kv_capacity(S, weights, kv_req, B)
        kv_gpu = b_run * kv_req
        etpi = etp_index[etp]
        R = _Row(tp, pp, dp, ep, dpa, mtpk, kvb, float(pp), tp_index[tp], etpi, imb_a[ep], shard, lw_dec, span,
                 n_kern_of[etpi])
        # ---- tokens per step, then the passes of the fixed point (one for a static batch)
        V, E = _tokens_per_step(mtpk, row[K_ACC])
        mc = min(chunk, b_run * n_in)
        burst_needed = (not static) and (row[K_NPROMPTS] > 0.0 or lockstep)
        passes = 1 if static else FIXED_POINT_PASSES
        b_dec = b_run
        p_tok = b_run * n_in * E / n_out
        c_tok, f, f_any, moe_a, m_pre = 0.0, 0.0, 0.0, -1.0, 0.0
        cycle, t_serve, ttft_run, prefill_frac, ttft, tpot, e2e, out_tps = 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0
        queue = 0.0
        sat = False
        for it in range(passes):
            D = b_dec * V
            # mixed engines: prompts that outrun the step budget queue; the budget is then full
            sat = S.mixed and (not static) and p_tok >= (chunk - D) * (1.0 - 1e-9)
            if sat:
                p_tok, b_dec = _budget_split(chunk, V, E, n_in, n_out, b_run)
                D = b_dec * V
            prompts = p_tok / n_in  # new requests per cycle
            # DP-attention ranks that admit prompts on their own (lock-step waves keep them together)
            dpa_own = dpa and not lockstep
            da, sa, pa, c_tok, f, f_any, moe_a, m_pre = _batch_formation(
                static, S.mixed, dpa_own, dp, chunk, mc, D, b_dec, p_tok, n_in, c_tok, f, f_any, moe_a, m_pre, sat)
            x_pre, keep, q_dp, r_dp = 0.0, 0.0, 0.0, 0.0
            if not (static or S.mixed):
                x_pre, keep, q_dp = _separate_prefill(p_tok, n_in, m_pre, b_run, dpa_own, dp)
                r_dp = _prefill_waits(x_pre, dpa_own, dp)
            for c in range(3 if (it == 0 and burst_needed) else 2):
                # ======== tc = one engine cycle [s] (every micro-batch through every stage): dc
                # decode tokens from sc_ sequences and pc prefill tokens per cycle; mo: tokens the
                # whole DP-attention group sends into each MoE layer per cycle (< 0: every rank
                # carrying this rank's tokens). ONE copy of this code for every cycle (compile time)
                mo = -1.0
                if c == 0:
                    tc, dc, sc_, pc = ta, da, sa, pa
                    if not static:
                        mo = moe_a
                elif c == 1:
                    tc, dc, sc_, pc = tb, D, b_dec, 0.0
                else:
                    tc, dc, sc_, pc = tpc, 0.0, 0.0, mc
                tc[:] = 0.0
                dd_f, ns_f, pre_f = dc / R.ppf, sc_ / R.ppf, pc / R.ppf  # per micro-batch
                # q = 0: one forward of a micro-batch over every layer (GEMMs, attention,
                # communication, per-layer overhead; the LM head runs pp times per cycle); q = 1:
                # the MTP draft module, mtpk times, at the draft weights' precision (its GEMMs and
                # its collectives summed in tq)
                for q in range(2):
                    if q == 1 and not (mtpk > 0 and sc_ > 0.0):
                        continue
                    active, xm, xh, xt, moe_here = _forward_tokens(q, (dc + pc) / R.ppf, _head_rows(dd_f, pre_f, n_in),
                                                                   sc_, mo, S, R)
                    pr = main if q == 0 else draft
                    bb, me = (_moe_spread(xt, _busiest_experts(xt, busy_a, ep, S.n_exp, S.k_top), S, R)
                              if moe_here else (1.0, 1.0))
                    tq = 0.0
                    tr = 0.0  # the routed experts of one MoE layer on the busiest rank [s]
                    # GEMMs: j < n_ne the non-expert ones (ne_cnt[j] per forward, ne_mtp[j] per draft
                    # pass), then (moe_here) the routed experts; each at the efficiency of
                    # infra_lab._kernels.gemm.gemm_kernel (memoized; its compute part only, as
                    # serving_inputs passes the models) at the integer shape with at least
                    # H_MIN_ROWS rows, timed by _roofline on the real rows
                    for j in range((n_ne + n_ex if moe_here else n_ne) if active else 0):
                        cls = G_EXPERT
                        w = 0.0
                        if j < n_ne:
                            cls = ne_cls[j]
                            w = ne_cnt[j] if q == 0 else ne_mtp[j]
                            if q == 1 and not w > 0.0:
                                continue
                            gn = ne_n[R.tpi, j]
                            gk = ne_k[R.tpi, j]
                        else:
                            gn = ex_n[etpi, j - n_ne]
                            gk = ex_k[etpi, j - n_ne]
                        gp, kb, mg, bg, pk, bx = _gemm_operand(cls, j, n_ne, xm, xh, bb, me, S, R, pr, n_tp, n_etp,
                                                               n_ex)
                        ok = mg > 0.0 and gn > 0.0 and gk > 0.0
                        t = 0.0
                        if ok:
                            # a routed expert's rows per expert are an expectation: its time is
                            # that of the integer row counts either side, weighted to the mean
                            # (other GEMMs: the real rows at the integer shape's efficiency)
                            m_lo = mg
                            th = 0.0
                            if j >= n_ne:
                                m_lo = max(1.0, math.floor(mg + 1e-9))
                                th = mg - m_lo if mg - m_lo > 1e-9 else 0.0
                            bi = max(1, int(math.ceil(bg - 1e-9)))
                            for corner in range(2 if th > 0.0 else 1):
                                m_c = m_lo + corner
                                mi = max(S.min_rows, int(math.ceil(m_c - 1e-9)))
                                key = ((kb * 1024 + bi) << 30) + mi
                                hs = _memo_slot(key, cmask)
                                if ck[hs] != key:
                                    sm[0] = mi
                                    sn[0] = max(1, int(math.ceil(gn - 1e-9)))
                                    sk[0] = max(1, int(math.ceil(gk - 1e-9)))
                                    sb[0] = bi
                                    kg.gemm_kernel(sm, sn, sk, sb, *gs[gp], se, st)
                                    ck[hs] = key
                                    cv[hs] = se[0]
                                t += (th if corner == 1 else 1.0 - th) * _roofline(m_c, gn, gk, bg, cv[hs], pk, bx,
                                                                                   S.bw, S.gscale, S.mscale)
                        if j >= n_ne:
                            tr += t
                        elif q == 0:
                            if t > 0.0:
                                t += S.kfix  # the fixed GPU time of each kernel
                            if cls == G_HEAD:  # the last stage's, once per micro-batch
                                tc[B_HEAD] += w * t * pp
                            elif cls == G_ATTN:
                                tc[B_ATTN_GEMM] += w * t
                            else:
                                tc[B_MLP_GEMM] += w * t
                        elif ok:
                            tq += w * S.kfix
                            tq += w * t
                    if moe_here:
                        if q == 0:
                            tc[B_EXPERT_GEMM] += S.n_moe * (tr + R.n_kern * S.kfix)
                        else:
                            tq += tr + R.n_kern * S.kfix
                    if q == 0 and active:
                        t_dec, t_pre = _attention_core(dd_f, ns_f, pre_f, S, R)
                        tc[B_ATT_DEC] += t_dec
                        tc[B_ATT_PRE] += t_pre
                    # communication, each collective memoized per whole token count
                    for r in range(3):
                        runs, op, n_c, kk, bpt = _comm_plan(r, q, active, moe_here, S, R)
                        if runs:
                            ti = max(1, int(math.ceil(xm - 1e-9)))  # whole tokens
                            key = _collective_key(op, n_c, kk, ti)
                            hs = _memo_slot(key, cmask)
                            if ck[hs] != key:
                                # algo -1 (any) as a typed int64 and P read-only: the same
                                # specialization of best_collective as the Python calls of
                                # infra_lab.collectives.collective
                                ck[hs] = key
                                if op == kf.OP_ALL_REDUCE:
                                    cv[hs] = kf.engine_allreduce(ear, float(ti) * bpt, n_c, kk, P)[0]
                                else:
                                    cv[hs] = kf.best_collective(op, np.int64(-1), float(ti) * bpt, n_c, kk, P)[0]
                            x = _comm_seconds(r, q, cv[hs], S, R)
                            if q == 1:
                                tq += x
                            else:  # B_TP_COMM, B_EP_COMM, B_PP_P2P in the order of COMM_*
                                tc[B_TP_COMM + r] += x
                    if q == 0:
                        if active:
                            tc[B_LAYER_OVH] += S.n_layers * S.layer_ovh
                    else:
                        tc[B_MTP] += mtpk * R.ppf * (tq + S.layer_ovh)
                # host work per engine step: a fixed part and a part per decoding request
                # (scheduling, sampling, stop checks, detokenization of the request's new tokens)
                tc[B_STEP_OVH] += (S.step_ovh + S.seq_ovh * sc_)
            if S.mixed and not static:
                # a step that carries a prompt chunk does at least the decode-only step's work in
                # every part (the same decode tokens, more rows in each GEMM and collective), so no
                # part of it is priced shorter: the library's algorithm windows (RCCL on gfx950 runs
                # a 32-512 KiB all-reduce as a ring, a 512 KiB one with MSCCL all-pairs) and the
                # efficiency of the rounded-up rows would otherwise make it faster
                for j in range(N_B):
                    if ta[j] < tb[j]:
                        ta[j] = tb[j]
            wa, wb, we = _pass_weights(static, S.mixed, b_run, n_in, n_out, mc, E, f, moe_a, dp, prompts, sat,
                                       x_pre, keep, q_dp, r_dp, ta.sum() >= tb.sum())
            for j in range(N_B):
                acc[j] = wa * ta[j] + wb * tb[j]
            acc[B_ENCODER] += we * t_enc
            if static:
                acc[B_STEP_OVH] += S.req_ovh  # the batch's fixed request overhead (in its TTFT)
                ttft, tpot, e2e, out_tps, prefill_frac = _static_batch(ta.sum(), tb.sum(), wa, wb, b_run, n_out, E,
                                                                       dp, t_enc, S.req_ovh)
                cycle = e2e  # the breakdown is then the seconds of one whole batch (it sums to e2e)
                break
            # closed loop: b_run requests in service; a fixed point between the cycle time and
            # how many of them are decoding (the others are in their prefill):
            #   T = ttft_run + (n_out − 1)·tpot, r = b_run / T (requests per second),
            #   decoding = r·(n_out − 1)·tpot (separate prefill: r·(n_out − 1)/E·step),
            #   prompt tokens per engine step = r·n_in·step
            cycle = acc.sum()
            ttft_run, prefill_frac, step = _ttft_in_service(S.mixed, cycle, ta.sum(), tb.sum(), n_in, c_tok, m_pre,
                                                            f_any, p_tok, prompts, t_enc, S.req_ovh, x_pre, q_dp,
                                                            r_dp)
            tpot = cycle / E
            t_nat = ttft_run + (n_out - 1.0) * tpot
            t_serve, ttft_run = _prefill_bound(sat, t_nat, ttft_run, b_run, n_in, cycle, c_tok)
            queue = t_serve - t_nat  # the wait for the step budget (a full one), part of TTFT
            rate = b_run / t_serve
            if it == passes - 1:
                break
            # prompt tokens per engine step: the mean step (mixed: f_any of the steps carry a
            # chunk; separate prefill: a decode step and every prefill forward), not the cycle a
            # decode token waits for, which sees fewer chunk steps / prefill forwards
            if S.mixed:
                b_dec = rate * (n_out - 1.0) * tpot
                if sat:
                    step = cycle
            else:
                # separate prefill: every request past its first token decodes in every decode
                # step, (n_out − 1)/E of them, one per engine step
                b_dec = min(b_run, rate * (n_out - 1.0) / E * step)
            p_tok = rate * n_in * step
        if not static:
            out_tps = dp * b_run * n_out / t_serve
            ttft, burst = _queue_and_burst(t_serve, ttft_run, b_run, B, C, n_in, mc, burst_needed, lockstep,
                                           row[K_NPROMPTS], tpc.sum() if burst_needed else 0.0)
            if lockstep:
                tpot = _lockstep_tpot(tpot, tb.sum() / E, burst, n_out)
            e2e = ttft + (n_out - 1.0) * tpot
        _write_result(out, i, acc, out_tps, n_in, n_out, float(tp * pp * dp), ttft, tpot, e2e,
                      weights + kv_gpu + (1.0 - S.mem_util) * S.hbm, fits, bmax, dp, prefill_frac, cycle, b_run, B,
                      weights, kv_gpu, queue)


def memo(blocks):
    """Memo arrays for :func:`serve_kernel` with ``blocks`` parallel blocks."""
    return np.full((blocks, 1 << CACHE_BITS), -1, np.int64), np.zeros((blocks, 1 << CACHE_BITS))
