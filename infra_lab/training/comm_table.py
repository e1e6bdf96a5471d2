"""Which collectives a training plan runs: :func:`collectives` (one row per collective the step
model prices: op, parallel dimension, group and its placement over scale-up domains, bytes and
time of one call, how often it is issued) and :func:`collectives_by_dimension` (per breakdown
component: raw time per step, what of it the step exposes, the part that crosses scale-up
domains, which :attr:`~infra_lab.training.Estimate.nic_busy_fraction` sums).

Nothing here sizes or prices a collective itself: the message sizes, groups and placements come
from the step kernel's owners (:func:`infra_lab._kernels.training.message_bytes`,
:func:`~infra_lab._kernels.training.plan_groups`,
:func:`~infra_lab._kernels.training.bucket_split`,
:func:`~infra_lab._kernels.training.z3_layer_bytes`,
:func:`~infra_lab._kernels.training.ep_messages`), the time of one call from the collective kernel
the step and ``il.collective`` share (:func:`~infra_lab._kernels.training.coll`), and the totals
per step from the step kernel itself (:func:`infra_lab.estimate`'s run, and the same run with the
stack's overlap factors at 0 for the raw terms).
"""

from __future__ import annotations

import numpy as np
import polars as pl

from .._kernels import collectives as kc
from .._kernels import training as kt
from ..collectives import OPS
from ..errors import named_keywords
from ..scenario import Scenario
from ._common import _training_scenario
from .context import _HOOK_OF_SCENARIO, _context
from .step import Estimate, _estimate_with_hook, _evaluate_plan, _plan_of

COMM_COMPONENTS = ("tp_comm", "cp_comm", "ep_comm", "pp_p2p", "dp_grad_comm", "dp_param_comm")
"""The breakdown components (:data:`infra_lab.training.COMPONENTS`) that are communication, in
the order :func:`collectives_by_dimension` lists them."""

OVERLAP_CONSTANTS = (kt.C_TP_OVL, kt.C_CP_OVL, kt.C_EP_OVL, kt.C_PP_OVL, kt.C_DP_OVL, kt.C_Z3_OVL)
"""The step kernel's overlap factors (tp_comm_overlap, cp_comm_overlap, the EP overlap,
pp_p2p_overlap, dp_comm_overlap, zero3_comm_overlap) that :func:`collectives_by_dimension` sets to
0 for the raw time of each component."""

# the step kernel's outputs (kt.OUT_NAMES) that make a stage's time per micro-batch (compute and
# the TP/CP/EP collectives) and its once-a-step data-parallel and optimizer time
_PER_MICRO_BATCH = slice(0, kt.OUT_NAMES.index("pp_p2p"))
_DP_AND_OPTIMIZER = [kt.OUT_NAMES.index(n) for n in ("dp_grad_comm", "dp_param_comm", "optimizer")]
assert kt.OUT_NAMES[_PER_MICRO_BATCH][-1] == "ep_comm"

_OP_CODE = {name: i for i, name in enumerate(OPS)}
assert _OP_CODE["send_recv"] == kc.OP_SEND_RECV and _OP_CODE["all_to_all"] == kc.OP_ALL_TO_ALL

_SCHEMA = {"dimension": pl.String, "component": pl.String, "op": pl.String, "what": pl.String,
           "group_ranks": pl.Int64, "ranks_per_domain": pl.Int64, "crosses_scale_up": pl.Boolean,
           "bytes_per_call": pl.Float64, "time_per_call_s": pl.Float64, "calls": pl.Float64,
           "calls_per": pl.String}


@named_keywords(name="il.training.collectives")
def collectives(scenario: Scenario | dict, *, stack: str | None = None,
                params: dict[str, float] | None = None) -> pl.DataFrame:
    """The collectives one training step of the scenario's plan runs, one row per kind.

    Parameters
    ----------
    scenario : training Scenario, the plain dict of its tables, or the path of a TOML file
    stack, params : as :func:`infra_lab.estimate`

    Returns
    -------
    polars.DataFrame
        dimension (tp, etp, cp, ep, pp, dp, expert_dp, fsdp, expert_fsdp), component (the
        :attr:`~infra_lab.training.Estimate.breakdown` component it is priced in), op (an
        ``il.collective`` op), what (which tensor, in words), group_ranks [-],
        ranks_per_domain [-] (the group's ranks per scale-up domain as the step model places
        it; ``il.collective(op, bytes_per_call, hardware, group_ranks,
        per_node=ranks_per_domain)`` gives time_per_call_s), crosses_scale_up (bool: its traffic
        uses the NICs), bytes_per_call [bytes] (``il.collective``'s size: an all-gather's or
        reduce-scatter's whole array, an all-to-all's send buffer per rank), time_per_call_s
        [s], calls [count] and calls_per (what that count is per: "dense layer and
        micro-batch", "MoE layer and micro-batch", "layer and micro-batch", "boundary",
        "step", "micro-batch", "layer"; null where the schedule sets it, see ``what``).

    Notes
    -----
    Rows only for the dimensions of size > 1. The tensor-parallel counts are a dense-like
    layer's (an MoE layer issues half of them for its attention, the same again for shared
    experts, and the expert-TP pair, ``etp`` rows); full recompute adds the recomputed
    forward's calls to the counts, as the step model does. The EP all-to-all's time is the
    mean rank's; the step charges it × the busiest expert rank's load imbalance. Data-parallel
    rows are the stage with the most parameters per rank (the others differ only in their
    bucket sizes), a ZeRO-2 plan reduces its buckets every micro-batch. The pipeline's ring
    boundary of an interleaved schedule (last stage to the first) is not listed: it is priced
    as the slower of the listed kinds. Per-step totals, raw and exposed:
    :func:`collectives_by_dimension`.

    Examples
    --------
    >>> import infra_lab as il
    >>> df = il.training.collectives(il.load_scenario("zaya1-ibm-mi300x"))
    >>> sorted(set(df["dimension"]))       # ZAYA1: data parallel over 1,024 GPUs, ZeRO-1
    ['dp', 'expert_dp']
    >>> df.filter(dimension="dp")["op"].to_list(), df.filter(dimension="dp")["group_ranks"].to_list()
    (['reduce_scatter', 'all_gather'], [1024, 1024])
    """
    sc = _training_scenario(scenario, "il.training.collectives")
    tp, pp, vp, cp, ep, etp, dp, mbs, zero, fsdp, rc, spf = _plan_of(sc)
    ctx = _context(sc, (tp,), (mbs,), (cp,), stack, params, _HOOK_OF_SCENARIO)
    c, P = ctx.c, ctx.P
    layout = np.array([tp, pp, vp, cp, dp, ep, etp], dtype=np.int64)
    rows: list[dict] = []

    def add(dimension, component, op, what, n, k, size, calls=None, per=None):
        n, k = int(n), int(k)
        rows.append({"dimension": dimension, "component": component, "op": op, "what": what,
                     "group_ranks": n, "ranks_per_domain": k, "crosses_scale_up": bool(kt.crosses(n, k) > 0.5),
                     "bytes_per_call": float(size),
                     "time_per_call_s": float(kt.coll(np.int64(_OP_CODE[op]), float(size), np.int64(n),
                                                      np.int64(k), P)),
                     "calls": None if calls is None else float(calls), "calls_per": per})

    k_tp, k_etp, k_cp, k_ep = (int(x) for x in kt.plan_groups(c, layout)[:4])
    act, routed, kv = kt.message_bytes(c, tp, cp, float(mbs))
    full = rc == 2
    n_tp = kt.TP_COLLECTIVES + (kt.TP_FULL_RECOMPUTE if full else 0.0)
    if tp > 1:
        if spf:
            add("tp", "tp_comm", "reduce_scatter", "sequence-parallel layer output (tokens x hidden)",
                tp, k_tp, act, n_tp, "dense layer and micro-batch")
            add("tp", "tp_comm", "all_gather", "sequence-parallel layer input (tokens x hidden)",
                tp, k_tp, act, n_tp, "dense layer and micro-batch")
            regather = c[kt.C_SP_REGATHER] > 0.5 or rc == 1
            add("tp", "tp_comm", "all_gather", "backward re-gather of a column-parallel input (sequence "
                "parallelism; mostly hidden behind the dgrad GEMMs)", tp, k_tp, act,
                kt.SP_BACKWARD_GATHERS_DENSE if regather else 0.0, "dense layer and micro-batch")
        else:
            add("tp", "tp_comm", "all_reduce", "layer output after attention / MLP (tokens x hidden)",
                tp, k_tp, act, n_tp, "dense layer and micro-batch")
    if etp > 1:
        for op in ("all_gather", "reduce_scatter"):
            add("etp", "tp_comm", op, "routed tokens over the expert-TP ranks (tokens/tp x top_k x hidden)",
                etp, k_etp, routed * etp, 0.5 * n_tp, "MoE layer and micro-batch")
    if cp > 1:
        _cp_rows(add, c, cp, k_cp, kv, full)
    if ep > 1:
        n_a2a = kt.EP_ALL_TO_ALLS + (kt.EP_FULL_RECOMPUTE if full else (c[kt.C_SEL_A2A] if rc == 1 else 0.0))
        a, na, ka, b, nb, kb = kt.ep_messages(c, routed / c[kt.C_TOPK], np.int64(ep), np.int64(k_ep))
        deepep = c[kt.C_DISPATCH] > 0.5
        what = ("dispatch / combine: each token once per destination rank" if deepep else
                "dispatch / combine: every routed copy (tokens/tp x top_k x hidden)")
        if nb > 1:
            what += " within the domain (pipelined with the inter-domain all-to-all: the slower sets the time)"
        add("ep", "ep_comm", "all_to_all", what, na, ka, a, n_a2a, "MoE layer and micro-batch")
        if nb > 1:
            add("ep", "ep_comm", "all_to_all", "dispatch / combine across domains over the same-rail ranks: "
                "each token once per destination domain", nb, kb, b, n_a2a, "MoE layer and micro-batch")
    if pp > 1:
        _pp_rows(ctx, add, act, tp, cp, dp, pp)
    _dp_rows(sc, ctx, add, layout, zero, fsdp)
    return pl.DataFrame(rows, schema=_SCHEMA)


def _cp_rows(add, c, cp, k_cp, kv, full) -> None:
    """The context-parallel exchange by ``parallelism.cp_rotate`` (C_CP_AG), as
    :func:`infra_lab._kernels.training.fill_plan_comm` prices it."""
    hop = 1 if kt.crosses(cp, k_cp) > 0.5 else 2
    mode = c[kt.C_CP_AG]
    if mode > 1.5:
        add("cp", "cp_comm", "all_gather", "K and V of every rank (exposed)", cp, k_cp, kv * cp,
            3.0 if full else 2.0, "layer and micro-batch")
        add("cp", "cp_comm", "reduce_scatter", "dK and dV of every rank (exposed)", cp, k_cp, kv * cp,
            1.0, "layer and micro-batch")
    elif mode > 0.5:
        add("cp", "cp_comm", "all_gather", "K and V of every rank (all-gather rotation)", cp, k_cp, kv * cp,
            3.0 if full else 2.0, "layer and micro-batch")
        add("cp", "cp_comm", "send_recv", "fp32 dK and dV to the next rank (ring step)", 2, hop,
            kv * 4.0 / c[kt.C_ACT_BYTES], cp - 1.0, "layer and micro-batch")
    else:
        add("cp", "cp_comm", "send_recv", "K and V to the next rank (ring step; slowest hop)", 2, hop, kv,
            kt.CP_PASSES * (cp - 1.0) + ((cp - 1.0) if full else 0.0), "layer and micro-batch")


def _pp_rows(ctx, add, act, tp, cp, dp, pp) -> None:
    """One row per kind of pipeline boundary (within a scale-up domain, across), with how many
    of the pp − 1 boundaries are of that kind (:func:`infra_lab._kernels.training.pairs_cross`,
    the placement fill_plan_comm reads)."""
    stage = tp * cp * dp
    D = int(ctx.c[kt.C_D])
    cross = [kt.pairs_cross(b * stage, stage, stage, D) > 0.5 for b in range(pp - 1)]
    for x, where in ((False, "within a domain"), (True, "across domains")):
        n = sum(1 for v in cross if v == x)
        if n:
            add("pp", "pp_p2p", "send_recv", f"stage boundary activation / gradient, 1/tp slice ({where}: "
                f"{n} of the {pp - 1} boundaries; calls per step set by the schedule)", 2, 1 if x else 2, act / tp)


def _dp_rows(sc, ctx, add, layout, zero, fsdp) -> None:
    """Data-parallel rows of the stage with the most parameters per rank: Megatron's buckets
    (reduce-scatter + all-gather, or all-reduce at ZeRO-0) or the ZeRO-3 / FSDP per-layer calls."""
    from .context import _stage_tables

    c = ctx.c
    tp, ep, etp = int(layout[kt.LY_TP]), int(layout[kt.LY_EP]), int(layout[kt.LY_ETP])
    lay, ncand = _stage_tables(ctx, layout[None, :], sc.training.recompute_num_layers)
    g_ne, k_ne, g_e, k_e = (int(x) for x in kt.plan_groups(c, layout)[4:])
    rows = lay[0, : int(ncand[0])]
    per_rank = rows[:, kt.L_PNE] / tp + rows[:, kt.L_PE] / (ep * etp)
    row = rows[int(np.argmax(per_rank))]
    p_ne, p_e, emb = row[kt.L_PNE] / tp, row[kt.L_PE] / (ep * etp), row[kt.L_PEMB] / tp
    if zero >= 3 or fsdp:
        nl = row[kt.L_ND] + row[kt.L_NM]
        if nl <= 0:
            return
        ag_ne, ag_v, ag_e, rs_ne, rs_v, rs_e = kt.z3_layer_bytes(c, p_ne, p_e, nl, float(tp))
        kz, ks = c[kt.C_Z3_CALLS], c[kt.C_Z3_SMALL]
        per = "layer" if (layout[kt.LY_PP] > 1 and c[kt.C_Z3_PP_RESHARD] < 0.5) else "layer and micro-batch"
        for dim, g, k, parts in (("fsdp", g_ne, k_ne, ((ag_ne, rs_ne, kz, "weight matrix"),
                                                       (ag_v, rs_v, ks, "norm / bias vector"))),
                                 ("expert_fsdp", g_e, k_e, ((ag_e, rs_e, kz, "expert weight matrix"),))):
            for ag, rs, n, name in parts:
                if g > 1 and ag > 0:
                    add(dim, "dp_param_comm", "all_gather", f"{name} before its forward (and again in "
                        "backward when resharded)", g, k, ag, n, per)
                    add(dim, "dp_grad_comm", "reduce_scatter", f"{name} gradient after its backward", g, k, rs, n, per)
        return
    for dim, g, k, params, e in (("dp", g_ne, k_ne, p_ne, emb), ("expert_dp", g_e, k_e, p_e, 0.0)):
        if g <= 1 or params <= 0:
            continue
        b = max(c[kt.C_BUCKET_MIN], c[kt.C_BUCKET_PER_RANK] * g)
        nb, bsz, tail = kt.bucket_split(params, e, b)
        per = "micro-batch" if zero == 2 else "step"
        last = "last bucket (holds the embedding; exposed)" if e > 0 else "last bucket (exposed)"
        for size, n, which in ((bsz, nb, "body bucket"), (tail, 1.0, last)):
            if n <= 0 or size <= 0:
                continue
            if zero == 0:
                add(dim, "dp_grad_comm", "all_reduce", f"gradient {which}", g, k, size * c[kt.C_GRAD_BYTES], n, per)
            else:
                add(dim, "dp_grad_comm", "reduce_scatter", f"gradient {which}", g, k, size * c[kt.C_GRAD_BYTES],
                    n, per)
                add(dim, "dp_param_comm", "all_gather", f"updated parameters, {which}", g, k,
                    size * c[kt.C_WEIGHT_BYTES], n, "step")


@named_keywords(name="il.training.collectives_by_dimension")
def collectives_by_dimension(scenario: Scenario | dict, *, stack: str | None = None,
                             params: dict[str, float] | None = None) -> pl.DataFrame:
    """Communication time per step of the scenario's plan, per breakdown component: raw (before
    any overlap) and exposed (what the step time carries).

    Returns
    -------
    polars.DataFrame
        component (:data:`COMM_COMPONENTS`), raw_s_per_step [s], exposed_s_per_step [s] (the
        component of :attr:`~infra_lab.training.Estimate.breakdown`), hidden_s_per_step [s]
        (raw − exposed), crosses_scale_up (bool), network_s_per_step [s] (the time this
        component adds to :attr:`~infra_lab.training.Estimate.nic_busy_fraction`'s numerator:
        the sum over components divided by step_time_s, at most 1, is that fraction).

    Notes
    -----
    APPROXIMATION: raw is the step kernel's own term with the stack's overlap factors
    (:data:`OVERLAP_CONSTANTS`) set to 0, on the slowest stage of that run (with uneven stages
    it can be another stage than the estimate's). Two terms the step model never overlaps by a
    factor stay at their exposed part there: the sequence-parallel backward re-gather (always
    behind the dgrad GEMMs) and the exposed context-parallel all-gather. The data-parallel raw
    sum equals ``Estimate.dp_comm_raw_s``. ``nic_busy_fraction`` counts the TP and CP
    collectives that cross domains at their exposed time, EP, PP and DP at their raw time (the
    step kernel's rule, which network_s_per_step follows).

    Examples
    --------
    >>> import infra_lab as il
    >>> df = il.training.collectives_by_dimension(il.load_scenario("zaya1-ibm-mi300x"))
    >>> df["component"].to_list()
    ['tp_comm', 'cp_comm', 'ep_comm', 'pp_p2p', 'dp_grad_comm', 'dp_param_comm']
    >>> bool((df["raw_s_per_step"] >= df["exposed_s_per_step"]).all())
    True
    """
    sc = _training_scenario(scenario, "il.training.collectives_by_dimension")
    est = _estimate_with_hook(sc, _HOOK_OF_SCENARIO, stack=stack, params=params)
    return _by_dimension(sc, est, stack, params)


def _by_dimension(sc: Scenario, est: Estimate, stack, params) -> pl.DataFrame:
    tp, pp, vp, cp, ep, etp, dp, mbs, zero, fsdp, rc, spf = _plan_of(sc)
    ctx = _context(sc, (tp,), (mbs,), (cp,), stack, params, _HOOK_OF_SCENARIO)
    c0 = ctx.c.copy()
    c0[list(OVERLAP_CONSTANTS)] = 0.0
    out, lay, ncand, comm = _evaluate_plan(sc, ctx)
    nc = int(ncand[0])
    if nc == 1:
        k_pace = k_dp = 0
        raw = {0: _evaluate_plan(sc, ctx, c0)[0]}
    else:
        # each stage candidate alone, as the kernel prices it: the pace stage (largest per-micro-batch
        # time, the first of equals) and the data-parallel stage (largest DP + optimizer time)
        alone = [_evaluate_plan(sc, ctx, None, k)[0] for k in range(nc)]
        k_pace = int(np.argmax([a[_PER_MICRO_BATCH].sum() for a in alone]))
        k_dp = int(np.argmax([a[_DP_AND_OPTIMIZER].sum() for a in alone]))
        raw = {k: _evaluate_plan(sc, ctx, c0, k)[0] for k in {k_pace, k_dp}}
    exposed = dict(est.breakdown.iter_rows())
    q = comm[0, 0, 1 if spf else 0]
    m = ctx.c[kt.C_GBATCH] / (dp * mbs)
    pp_net = q[kt.Q_PP_NET]
    if pp > 1 and vp == 1 and int(ctx.c[kt.C_PP_SCHED]) <= kt.PP_SCHED_INTERLEAVED:
        nbc = (comm.shape[3] - kt.N_COMM) // 2
        _, pp_net = kt.one_f_one_b_p2p(q, nbc, pp, m)
    dp_net = float(lay[0, k_dp, kt.L_DP_NET])
    share = {"tp_comm": q[kt.Q_TP_NET], "cp_comm": q[kt.Q_CP_NET], "ep_comm": q[kt.Q_EP_NET],
             "pp_p2p": pp_net, "dp_grad_comm": dp_net, "dp_param_comm": dp_net}
    names = list(kt.OUT_NAMES)
    rows = []
    for comp in COMM_COMPONENTS:
        r = float(raw[k_dp if comp.startswith("dp_") else k_pace][names.index(comp)])
        e = float(exposed[comp])
        # the step kernel's NIC-busy rule: TP and CP at their exposed time, the others raw
        counted = e if comp in ("tp_comm", "cp_comm") else r
        rows.append({"component": comp, "raw_s_per_step": r, "exposed_s_per_step": e,
                     "hidden_s_per_step": r - e, "crosses_scale_up": bool(share[comp] > 0.0),
                     "network_s_per_step": counted * float(share[comp])})
    return pl.DataFrame(rows, schema={"component": pl.String, "raw_s_per_step": pl.Float64,
                                      "exposed_s_per_step": pl.Float64, "hidden_s_per_step": pl.Float64,
                                      "crosses_scale_up": pl.Boolean, "network_s_per_step": pl.Float64})
