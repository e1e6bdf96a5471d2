"""The plain-Python reference of the serving model: one configuration, layer by layer,
written from ``docs/serving.md`` and sharing no code with the kernel
(:mod:`infra_lab._kernels.serving`); ``serve(reference=True)``, ``serve_search(reference=True)``
and the equality tests use it."""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from ..scenario import Scenario
from .core import (
    BREAKDOWN,
    _attention_params,
    _chunk_default,
    _gemm_class,
    _gemm_precision,
    _min_rows,
    _mtp_expert_params,
    _records,
    fp4_format,
    parameter,
    weight_precisions,
)


def _reference_one(sc: Scenario, p: dict[str, float], concurrency: float,
                   media: tuple[float, float] = (0.0, 0.0)) -> np.ndarray:
    """The serving model of one configuration, layer by layer, in plain Python.

    Returns the kernel's output vector (results then breakdown). Used by the tests to
    check :func:`infra_lab._kernels.serving.serve_kernel` and by ``serve(reference=True)``.
    """
    from .. import collectives, compute, memory
    from .._kernels import gemm as kg
    from .._kernels import serving as K

    spec, sv, hw = sc.model_spec, sc.serving, sc.hardware
    acc = hw.accelerator_spec
    tp, pp, dp, ep = sv.tp, sv.pp, sv.dp, sv.ep
    dpa = sv.dp_attention
    etp = (tp * dp if dpa else tp) // ep
    gpus = tp * pp * dp

    def prec_bytes(prec: str) -> float:
        """Weight bytes per parameter of a weight precision on this platform."""
        return memory.format_bytes(fp4_format(acc.name) if prec == "fp4" else prec)

    def expert_bytes(b: float) -> float:
        """Routed-expert bytes: at most the experts' native checkpoint format."""
        return min(b, memory.format_bytes(spec.expert_weight_format)) if spec.expert_weight_format else b

    wbytes = prec_bytes(sv.weight_precision)
    ebytes = expert_bytes(wbytes)
    wps = weight_precisions(acc.name)  # what the part's matrix instructions run (the rest: bf16)
    cprec = sv.weight_precision if sv.weight_precision in wps else "bf16"
    # the checkpoint's attention projections may have a precision of their own
    aprec = sv.attention_precision or sv.weight_precision
    abytes = prec_bytes(aprec)
    acprec = aprec if aprec in wps else "bf16"
    # the MTP draft modules: the checkpoint's own precision for all their GEMMs, if it has one
    if sv.mtp_precision is None:
        mbytes, mcprec, mabytes, macprec, mebytes = wbytes, cprec, abytes, acprec, None
    else:
        mbytes = prec_bytes(sv.mtp_precision)
        mcprec = macprec = sv.mtp_precision if sv.mtp_precision in wps else "bf16"
        mabytes = mbytes
        mebytes = expert_bytes(mbytes)
    kvb = memory.format_bytes(sv.kv_precision)  # KV-cache bytes per element (number-format table)
    bw = acc.hbm_bw_Bps * compute.hbm_efficiency(acc.name)
    # every GEMM / attention kernel pays the compute model's fixed GPU time per kernel, x the stack's scale
    kfix = p["kernel_fixed_scale"] * compute.kernel_fixed_s(acc.name)
    peak16 = acc.peak("bf16")
    kinds = spec.layer_kinds()
    windows = spec.attention_windows()

    parts: dict[tuple, float] = {}  # memo: the same shapes recur layer after layer
    min_rows = _min_rows(acc.name)  # decode kernels do not pad fewer rows to a macro-tile

    def gemm_s(m: float, n: float, k: float, batch: float, wb: float, prec: str = cprec) -> float:
        if min(m, n, k, batch) <= 0:
            return 0.0
        ints = (max(min_rows, math.ceil(m - 1e-9)), *(max(1, math.ceil(x - 1e-9)) for x in (n, k, batch)))
        if (prec, *ints) not in parts:
            # the compute part of the compute model's GEMM at the integer shape: its plain-Python
            # reference with no HBM limit and no fixed time per kernel (the HBM read is priced
            # below at the stack's memory rate, the fixed time by kfix, once)
            g = dataclasses.replace(compute.gemm_model(acc.name, _gemm_precision(acc.name, prec)),
                                    mem_bw_Bps=math.inf, fixed_s=0.0)
            e_out, t_out = kg.empty_outputs(1)
            kg.gemm_reference(*(np.array([x], dtype=np.int64) for x in ints), *g.args(), e_out, t_out)
            parts[(prec, *ints)] = float(t_out[0])
        flop = 2.0 * m * n * k * batch
        byts = batch * (n * k * wb + m * (n + k) * 2.0)
        # the real rows at the integer shape's rate (fewer rows than a macro-tile: a share of
        # the padded tile's time); the stack factors scale each part, neither below its peak
        compute_s = max(parts[(prec, *ints)] * flop / (2.0 * ints[0] * ints[1] * ints[2] * ints[3])
                        * p["gemm_time_scale"], flop / acc.peak(prec))
        memory_s = max(byts / bw * p["memory_time_scale"], byts / acc.hbm_bw_Bps)
        return max(compute_s, memory_s)

    by_kind: dict[str, list[tuple[float, float, float, str]]] = {}
    for kind, _name, n, k, cnt, comp in _records(spec, tp):
        by_kind.setdefault(kind, []).append((n, k, cnt, comp))
    expert_shapes = [(n, k) for kind, _nm, n, k, _c, comp in _records(spec, 1, etp)
                     if kind == "moe" and comp == "expert_gemm"]
    if spec.experts and ep > 1:
        # the normal closed form of compute.moe_load_imbalance is 1 + c/√(tokens per rank)
        c_ep = (compute.moe_load_imbalance(10_000, spec.experts, spec.top_k, ep, method="normal") - 1.0) * 100.0
    else:
        c_ep = 0.0

    def busiest_experts(tokens: float) -> float:
        """Distinct experts on the busiest EP rank (the mean rank's at ep = 1) [experts]: the
        expectation at the whole token counts either side, weighted to the fractional mean."""
        E, k_top = spec.experts, spec.top_k
        if ep == 1:
            return E * (1.0 - (1.0 - k_top / E) ** tokens)
        whole = math.floor(tokens)
        at = [compute.moe_busiest_rank_experts(t, E, k_top, ep, spec.router_groups, spec.router_group_topk)
              for t in (whole, whole + 1)]
        return at[0] + (tokens - whole) * (at[1] - at[0])

    def routed(tokens: float, eb: float | None = None, prec: str = cprec) -> float:
        """Busiest expert-parallel rank's routed-expert GEMMs of one MoE layer [s] (eb, prec:
        the experts' bytes and compute precision, default the main layers'): the experts the
        busiest rank holds (their weights are read) and the busiest rank's rows spread over them."""
        k_top = spec.top_k
        distinct = busiest_experts(tokens)
        imb = 1.0
        if ep > 1 and tokens > 0:
            imb = min(float(ep), 1.0 + c_ep / math.sqrt(tokens / ep))
        busiest = tokens * k_top / ep * imb
        b = max(1.0, distinct)
        rows = max(1.0, busiest / b)
        # the rows per expert are an expectation: the time of the integer counts either side,
        # weighted to the mean
        lo = max(1.0, math.floor(rows + 1e-9))
        th = rows - lo if rows - lo > 1e-9 else 0.0
        eb_ = ebytes if eb is None else eb
        t = sum(gemm_s(lo, n, k, b, eb_, prec) for n, k in expert_shapes)
        if th > 0.0:
            t = (1.0 - th) * t + th * sum(gemm_s(lo + 1.0, n, k, b, eb_, prec) for n, k in expert_shapes)
        return t

    colls: dict[tuple, float] = {}
    # the engine's own TP all-reduce: its row as recorded (None: the library runs them all),
    # priced by the plain collective reference on the hardware's named parameters
    from .._kernels import collectives_reference as CR
    from .core import engine_allreduce

    ear = {r["stack"]: r for r in engine_allreduce().iter_rows(named=True)}.get(sc.stack)
    cparams = collectives.collective_time_params(hw)
    named = CR.named_vector(cparams.named(), cparams.array)

    def coll(op: str, size: float, n: int, per_node: int | None = None) -> float:
        key = (op, size, n, per_node)
        if key not in colls:
            if op == "all_reduce" and per_node is None:
                k = n if n <= hw.domain_gpus else hw.domain_gpus  # domain-major placement
                colls[key] = CR.engine_allreduce_reference(named, ear, size, n, k)[0]
            else:
                colls[key] = collectives.collective(op, size, hw, n, per_node=per_node).time_s
        return colls[key] * p["comm_time_scale"]

    if spec.attention == "mla":
        dq_dec, dv_dec = spec.kv_lora_rank + spec.qk_rope_head_dim, spec.kv_lora_rank
        dq_pre, dv_pre = spec.qk_nope_head_dim + spec.qk_rope_head_dim, spec.v_head_dim
        kv_per_layer = spec.kv_lora_rank + spec.qk_rope_head_dim
    else:
        dq_dec = dv_dec = dq_pre = dv_pre = spec.head_dim
        kv_per_layer = 2 * spec.kv_heads * spec.head_dim
    # the GPUs a token's KV cache is spread over (memory's rule, the one owner of the split)
    kv_split = 1.0 / memory.kv_share_per_gpu(spec, tp)
    n_in, n_out = float(sv.input_tokens) + media[1], float(sv.output_tokens)
    ctx = n_in + n_out / 2.0

    def forward(dec: float, seqs: float, pre: float, moe_tokens: float | None = None) -> dict[str, float]:
        """One forward of one micro-batch through every layer (per GPU) [s]; ``moe_tokens``:
        the tokens the whole DP-attention group sends into each MoE layer (default: every
        rank carrying this rank's tokens)."""
        t = dict.fromkeys(BREAKDOWN, 0.0)
        tokens = dec + pre
        if tokens <= 0:
            return t
        if moe_tokens is None:
            moe_tokens = tokens * (dp if dpa else 1)
        whole = max(1, math.ceil(tokens - 1e-9))  # messages carry whole tokens
        ar_size = whole * spec.hidden * 2.0
        for li, kind in enumerate(kinds):
            for n, k, cnt, comp in by_kind[kind]:
                c = _gemm_class(comp)
                if c == 0:
                    t["attention_gemm"] += cnt * (gemm_s(tokens, n, k, 1.0, abytes, acprec) + kfix)
                elif c == 1:
                    t["mlp_gemm"] += cnt * (gemm_s(tokens, n, k, 1.0, wbytes) + kfix)
            if kind == "moe":
                t["expert_gemm"] += routed(moe_tokens) + len(expert_shapes) * kfix
            w = windows[li]
            span_dec = ctx if w == 0 else min(ctx, float(w))
            if w == 0 or n_in <= w:
                span_pre = n_in / 2.0
            else:
                span_pre = (w * w / 2.0 + (n_in - w) * w) / n_in
            heads_here = spec.heads / tp
            if dec > 0:
                flop = 2.0 * dec * heads_here * (dq_dec + dv_dec) * span_dec
                byts = seqs * span_dec * kv_per_layer * kvb / kv_split
                t["attention_decode"] += max(flop / (peak16 * p["attention_decode_efficiency"]),
                                             byts / bw * p["memory_time_scale"], byts / acc.hbm_bw_Bps) + kfix
            if pre > 0:
                t["attention_prefill"] += 2.0 * pre * heads_here * (dq_pre + dv_pre) * span_pre / (
                    peak16 * p["attention_prefill_efficiency"]) + kfix
            if tp > 1:
                n_ar = 1 if (dpa and kind == "moe") else 2
                t["tp_comm"] += n_ar * coll("all_reduce", ar_size, tp)
            if dpa and kind == "moe":
                t["ep_comm"] += 2 * coll("all_to_all", whole * spec.top_k * spec.hidden * p["dispatch_bytes"],
                                         tp * dp)
            t["layer_overhead"] += p["layer_overhead_s"]
        # logits only at each request's last position in the forward: a row per decode token,
        # a row per prompt that ends here (at least one when the forward carries prompt tokens)
        head_rows = dec + (max(1.0, pre / n_in) if pre > 0 else 0.0)
        if head_rows > 0:
            for n, k, cnt, _comp in by_kind["head"]:
                # quantized checkpoints keep the LM head in BF16
                t["lm_head"] += pp * cnt * (gemm_s(head_rows, n, k, 1.0, 2.0, "bf16") + kfix)
        return t

    def cycle(dec: float, seqs: float, pre: float, draft: int, moe_tokens: float | None = None) -> dict[str, float]:
        t = forward(dec / pp, seqs / pp, pre / pp, None if moe_tokens is None else moe_tokens / pp)
        if pp > 1:
            same_node = tp * pp <= hw.domain_gpus   # the job's GPUs per domain, as the kernel
            whole = max(1, math.ceil((dec + pre) / pp - 1e-9))
            t["pp_p2p"] += pp * coll("send_recv", whole * spec.hidden * 2.0, 2, per_node=2 if same_node else 1)
        # the engine's host work per step: fixed, plus per decoding request of the instance
        t["step_overhead"] += p["step_overhead_s"] + p["seq_overhead_s"] * seqs
        if draft and seqs > 0:
            # the model's MTP modules (compute.gemm_records kind "mtp") on one token per sequence
            nb = seqs / pp
            one = 0.0
            for n, k, cnt, comp in by_kind.get("mtp", []):
                cls = _gemm_class(comp)
                if cls == 0:
                    one += spec.mtp_layers * cnt * (gemm_s(nb, n, k, 1.0, mabytes, macprec) + kfix)
                elif cls == 3:
                    one += spec.mtp_layers * cnt * (gemm_s(nb, n, k, 1.0, 2.0, "bf16") + kfix)
                elif cls == 1:
                    one += spec.mtp_layers * cnt * (gemm_s(nb, n, k, 1.0, mbytes, mcprec) + kfix)
            mtp_moe = any(comp == "expert_gemm" for *_x, comp in by_kind.get("mtp", []))
            if mtp_moe:
                one += routed(nb * (dp if dpa else 1), mebytes, mcprec) + len(expert_shapes) * kfix
            # a tensor-parallel decoder layer: two all-reduces, or under DP attention one and
            # the MoE dispatch + combine, on the draft tokens
            if tp > 1:
                one += (1 if (dpa and mtp_moe) else 2) * coll("all_reduce", max(1, math.ceil(nb - 1e-9))
                                                              * spec.hidden * 2.0, tp)
            if dpa and mtp_moe:
                one += 2 * coll("all_to_all", max(1, math.ceil(nb - 1e-9)) * spec.top_k * spec.hidden
                                * p["dispatch_bytes"], tp * dp)
            t["mtp_draft"] += draft * pp * (one + p["layer_overhead_s"])
        return t

    def total(t: dict[str, float]) -> float:
        return sum(t.values())

    # memory per GPU
    bd = {r["component"]: r["params_total"] for r in spec.param_breakdown().iter_rows(named=True)}
    emb_head = bd["embeddings"] + bd["position_embeddings"] + bd["lm_head"]
    experts = memory.expert_matrix_params(spec)
    draft = sv.mtp_draft_tokens if sv.spec_decoding == "mtp" else 0
    mtp_experts = _mtp_expert_params(spec) if draft else 0.0
    mtp_rest = spec.params_mtp - mtp_experts if draft else 0.0  # the MTP modules but their experts
    rest = spec.params_total - experts - emb_head + mtp_rest
    att_main, att_mtp = _attention_params(spec)
    att = att_main + (att_mtp if draft else 0.0)
    if draft and sv.mtp_precision is not None:
        # the MTP modules (attention, projection, experts) at their own precision
        weights = (rest - mtp_rest - att_main) / (tp * pp) * wbytes + emb_head / (tp * min(pp, 2)) * 2.0 \
            + att_main / (tp * pp) * abytes + experts * ebytes / (pp * ep * etp) \
            + mtp_rest / (tp * pp) * mbytes + mtp_experts * mebytes / (pp * ep * etp)
    else:
        weights = (rest - att) / (tp * pp) * wbytes + emb_head / (tp * min(pp, 2)) * 2.0 + att / (tp * pp) * abytes \
            + (experts + mtp_experts) * ebytes / (pp * ep * etp)
    kv_one = memory.kv_cached_tokens(spec, ctx) * len(windows) * kv_per_layer * kvb / kv_split / pp
    room = p["memory_utilization"] * acc.memory_capacity_bytes - weights
    cap = math.floor(room / kv_one) if room > 0 else 0
    fits = cap >= 1
    cap = min(cap, p["max_num_seqs"])
    per_group = concurrency / dp
    running = min(per_group, cap) if fits else per_group
    a = (sv.mtp_acceptance if sv.mtp_acceptance is not None else parameter("mtp_acceptance")) if draft else 0.0
    verified = 1 + draft
    advance = sum(a**j for j in range(draft + 1))  # expected tokens per request per step
    dec = running * verified
    if sv.chunk_tokens:
        chunk = float(sv.chunk_tokens)  # given per rank
    else:
        chunk = _chunk_default(acc, p)
        if sv.dp_attention and p["dp_attention_chunk_split"] == 1.0:
            # the engine-wide --chunked-prefill-size is shared out: dp attention ranks, each
            # with its own scheduler, get the whole-token quotient (remainder dropped)
            chunk = (chunk - chunk % dp) / dp
    enc_s = media[0]  # encoder seconds per request (il.multimodal.encoder_prefill, an input here)
    comp = dict.fromkeys(BREAKDOWN, 0.0)
    budget_wait = 0.0  # the wait for a full step budget (mixed engines), part of TTFT
    if sv.batching == "static":
        piece = min(chunk, running * n_in)
        n_pieces = running * n_in / piece
        pre = cycle(0.0, 0.0, piece, 0)
        ttft = n_pieces * total(pre) + running * enc_s + p["request_overhead_s"]
        step = cycle(dec, running, 0.0, draft)
        tpot = total(step) / advance
        steps = (n_out - 1.0) / advance
        e2e = ttft + steps * total(step)
        out_tps = dp * running * n_out / e2e
        frac = ttft / e2e
        for key in BREAKDOWN:
            comp[key] = n_pieces * pre[key] + steps * step[key]
        comp["encoder"] += running * enc_s
        comp["step_overhead"] += p["request_overhead_s"]  # the batch's fixed request overhead
        cyc = e2e
    else:
        # Little's law inside the running set: of the `running` requests some are still in
        # their prefill; iterate decoding count and prompt tokens per cycle to a fixed point
        decoding, prompt_tokens = running, running * n_in * advance / n_out
        for n_pass in range(K.FIXED_POINT_PASSES):
            dec = decoding * verified
            full = p["mixed_batching"] > 0.5 and prompt_tokens >= (chunk - dec) * (1.0 - 1e-9)
            if full:
                # the prompts outrun the step's token budget: the scheduler puts the decode
                # tokens first and fills the budget with prompt chunks, never beyond it; the
                # admitted prompt tokens c (per cycle) feed c·(O - 1)/(I·E) decoding requests,
                # so c + V·c·(O - 1)/(I·E) = chunk, the rest of the prompts wait their turn
                carried = chunk * n_in * advance / (n_in * advance + verified * (n_out - 1.0))
                decoding = min(running, carried * (n_out - 1.0) / (n_in * advance))
                dec = decoding * verified
                carried = chunk - dec
                prompt_tokens = carried
            starts = prompt_tokens / n_in
            if p["mixed_batching"] > 0.5:
                space = max(chunk - dec, 1.0)
                if full:
                    share = 1.0
                else:
                    carried = min(space, max(prompt_tokens, n_in))
                    share = prompt_tokens / carried
                # between two of a request's tokens come the other requests' chunks, not its own
                # (with the budget full, every step carries some other request's prompt); a step
                # with a chunk has running - 1 decoding requests, one without has running, so
                # of the decode tokens a share·(running - 1)/(running - share) wait for a chunk
                theirs = 1.0 if full else ((running - 1.0) / (running - share) if running > 1.0 else 0.0)
                seen = share * theirs
                moe_chunk = None
                # (lock-step waves bring every rank its prompts at once: they stay together)
                if dpa and dp > 1 and share > 0.0 and not sv.lockstep:
                    # DP attention: a step lasts as long as its busiest rank, so it carries a
                    # chunk when any of the dp ranks (admitting independently) has one; the MoE
                    # layers see the chunks of the ranks that have one (dp·share/any of them)
                    any_chunk = 1.0 - (1.0 - share) ** dp
                    moe_chunk = dp * dec + carried * dp * share / any_chunk
                    # this rank's chunk steps as its tokens see them, or a chunk on one of the
                    # dp - 1 others (each in `share` of the steps, independently)
                    seen = 1.0 - (1.0 - seen) * (1.0 - share) ** (dp - 1)
                    share = any_chunk
                with_chunk = cycle(dec, decoding, carried, draft, moe_chunk)
                without = cycle(dec, decoding, 0.0, draft)
                # the chunk step runs the decode-only step's tokens and more: each of its parts
                # takes at least as long as there (a collective's algorithm window or a GEMM's
                # rounded-up rows could price the larger step faster)
                with_chunk = {key: max(with_chunk[key], without[key]) for key in BREAKDOWN}
                comp = {key: seen * with_chunk[key] + (1.0 - seen) * without[key] for key in BREAKDOWN}
                comp["encoder"] += starts * theirs * enc_s  # the encoders run with the chunks
                cyc = total(comp)
                ttft_run = 0.5 * cyc + math.ceil(n_in / carried - 1e-9) * total(with_chunk) + enc_s \
                    + p["request_overhead_s"]
                gpu_time = share * total(with_chunk) + (1.0 - share) * total(without) + starts * enc_s
                frac = (share * (total(with_chunk) - total(without)) + starts * enc_s) / gpu_time
                decode_only = total(without)
                engine_step = gpu_time  # the mean engine step (the token-waited cycle sees fewer chunks)
            else:
                # prefill as forwards of their own (SGLang's default scheduler, ATOM): between
                # two decode steps the engine prefills the prompts that arrived, packed first
                # come first served into forwards of `batch_tokens`; every request past its
                # first token waits for each of them
                batch_tokens = min(chunk, max(n_in, prompt_tokens))
                forwards = prompt_tokens / batch_tokens  # prefill forwards per decode step
                moe_pre = None
                # (not under lock-step waves, whose prompts reach every rank at once)
                if dpa and dp > 1 and forwards > 0.0 and not sv.lockstep:
                    # each rank prefills in forwards/(1 + forwards) of its steps, on its own; in
                    # a step with some prefill the ranks that prefill send their prompt tokens
                    # into the MoE layers and the others their decode tokens
                    p_rank = forwards / (1.0 + forwards)
                    prefilling = dp * p_rank / (1.0 - (1.0 - p_rank) ** dp)
                    moe_pre = prefilling * batch_tokens + (dp - prefilling) * dec
                pre = cycle(0.0, 0.0, batch_tokens, 0, moe_pre)
                dstep = cycle(dec, decoding, 0.0, draft)
                # prompts of the gap still before their first token, on average over its forwards
                if prompt_tokens <= n_in:
                    pending = 1.0
                else:
                    pending = 0.5 * (prompt_tokens / n_in + max(1.0, batch_tokens / n_in))
                waiting = max(0.0, 1.0 - min(pending, running) / running)  # share of the running that decode
                # under DP attention the ranks choose prefill or decode on their own and step
                # together (the MoE layers are collectives), so a step lasts as long as the longer
                # of the two kinds run in it: with each rank prefilling in forwards/(1 + forwards)
                # of its steps, this rank's decode step is stretched to a prefill forward when any
                # other rank prefills and that forward is the longer, and its prefill forward to a
                # decode step when any other rank decodes and the decode step is the longer
                stretched = waits = 0.0
                if dpa and dp > 1 and not sv.lockstep:
                    g = forwards / (1.0 + forwards)
                    if total(pre) >= total(dstep):
                        stretched = 1.0 - (1.0 - g) ** (dp - 1)
                    else:
                        waits = 1.0 - g ** (dp - 1)
                # one decode step and one prefill forward as they last, each a mix of the two
                decode_mix = {key: stretched * pre[key] + (1.0 - stretched) * dstep[key] for key in BREAKDOWN}
                pre_mix = {key: waits * dstep[key] + (1.0 - waits) * pre[key] for key in BREAKDOWN}
                comp = {key: forwards * waiting * pre_mix[key] + decode_mix[key] for key in BREAKDOWN}
                comp["encoder"] += starts * waiting * enc_s
                cyc = total(comp)
                decode_step = total(decode_mix)
                prefill_forward = total(pre_mix)
                engine_step = decode_step + forwards * prefill_forward + starts * enc_s
                # its own prompt: the forwards up to the one holding its last token
                before = math.ceil(n_in / batch_tokens - 1e-9) \
                    + max(0.0, prompt_tokens - max(n_in, batch_tokens)) / (2.0 * batch_tokens)
                ttft_run = 0.5 * decode_step + before * prefill_forward + enc_s + p["request_overhead_s"]
                frac = (forwards * prefill_forward + (decode_step - total(dstep)) + starts * enc_s) / engine_step
                decode_only = total(dstep)
            tpot = cyc / advance
            serve_s = ttft_run + (n_out - 1.0) * tpot
            budget_wait = 0.0
            if full:
                # Little's law at the prefill budget: `carried` prompt tokens per cycle admit
                # carried/I requests per cycle; a request's wait for its turn is part of its TTFT
                queued = running * n_in * cyc / carried - serve_s
                if queued > 0.0:
                    ttft_run += queued
                    serve_s += queued
                    budget_wait = queued
            if n_pass == K.FIXED_POINT_PASSES - 1:
                break
            per_s = running / serve_s
            if p["mixed_batching"] > 0.5:
                decoding = per_s * (n_out - 1.0) * tpot
            else:
                # a request decodes in (O - 1)/E decode steps, one per engine step
                decoding = min(running, per_s * (n_out - 1.0) / advance * engine_step)
            prompt_tokens = per_s * n_in * engine_step
        out_tps = dp * running * n_out / serve_s
        queue = 0.0
        if running < per_group:
            queue = serve_s * (per_group / running - 1.0)
        first_wave = 0.0
        if sv.num_prompts or sv.lockstep:
            # lockstep: every wave of C requests queues its prefills; else the first wave only
            weight = 1.0 if sv.lockstep else concurrency / sv.num_prompts
            piece = min(chunk, running * n_in)
            first_wave = weight * 0.5 * running * n_in / piece * total(cycle(0.0, 0.0, piece, 0))
        ttft = ttft_run + queue + first_wave
        if sv.lockstep and n_out > 1:
            # a lock-step wave finishes together: TPOT as the benchmark computes it,
            # (e2e - TTFT)/(O - 1), so the queued prompts in TTFT are not also in the later
            # tokens; never below a decode-only step (one output token: nothing to spread)
            tpot = max(decode_only / advance, tpot - first_wave / (n_out - 1.0))
        e2e = ttft + (n_out - 1.0) * tpot
    res = {
        "output_tokens_per_s": out_tps, "total_tokens_per_s": out_tps * (n_in + n_out) / n_out,
        "output_tokens_per_s_per_gpu": out_tps / gpus,
        "total_tokens_per_s_per_gpu": out_tps * (n_in + n_out) / n_out / gpus, "ttft_s": ttft, "tpot_s": tpot,
        # one output token (prefill only) has no TPOT (the caller reports None), so no 1/tpot
        "tokens_per_s_per_user": 1.0 / tpot if n_out > 1 else 0.0, "e2e_latency_s": e2e,
        "memory_per_gpu_bytes": weights + running * kv_one
        + (1.0 - p["memory_utilization"]) * acc.memory_capacity_bytes,
        "fits": 1.0 if fits else 0.0, "max_concurrency": cap * dp, "prefill_time_fraction": frac,
        "cycle_s": cyc, "running_requests": running * dp,
        "kv_limited": 1.0 if (fits and running < per_group) else 0.0,
        "weights_per_gpu_bytes": weights, "kv_cache_per_gpu_bytes": running * kv_one,
        "prefill_queue_s": budget_wait,
    }
    return np.array([res[n] for n in K.OUT_NAMES] + [comp[n] for n in BREAKDOWN], dtype=np.float64)
