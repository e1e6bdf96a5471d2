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
from .context import _HOOK_OF_SCENARIO, _context, _xtab
from .step import Estimate, _estimate_with_hook, _evaluate_plan, _plan_of

COMM_COMPONENTS = ("tp_comm", "cp_comm", "ep_comm", "pp_p2p", "dp_grad_comm", "dp_param_comm")
"""The breakdown components (:data:`infra_lab.training.COMPONENTS`) that are communication, in
the order :func:`collectives_by_dimension` lists them."""

OVERLAP_CONSTANTS = (kt.C_TP_OVL, kt.C_CP_OVL, kt.C_EP_OVL, kt.C_PP_OVL, kt.C_DP_OVL, kt.C_Z3_OVL,
                     kt.C_SP_RG_OVL)
"""The step kernel's overlap factors (tp_comm_overlap, cp_comm_overlap, the EP overlap,
pp_p2p_overlap, dp_comm_overlap, zero3_comm_overlap, and the share of the sequence-parallel
backward re-gather hidden behind the dgrad GEMMs, :data:`infra_lab._kernels.training.SP_REGATHER_OVERLAP`)
that :func:`collectives_by_dimension` sets to 0 for the raw time of each component."""

# the step kernel's outputs (kt.OUT_NAMES) that make a stage's time per micro-batch (compute and
# the TP/CP/EP collectives) and its once-a-step data-parallel and optimizer time
_PER_MICRO_BATCH = slice(0, kt.OUT_NAMES.index("pp_p2p"))
_DP_AND_OPTIMIZER = [kt.OUT_NAMES.index(n) for n in ("dp_grad_comm", "dp_param_comm", "optimizer")]
assert kt.OUT_NAMES[_PER_MICRO_BATCH][-1] == "ep_comm"

PP_CALLS_PER = "step (transfers waited for)"
"""``calls_per`` of the pipeline rows of :func:`collectives`: their ``calls`` is their
``calls_per_step``, the transfers the step waits for on the schedule's critical path, not every
transfer sent (a plain "step" row counts every call issued, so calls × bytes_per_call is its
traffic; a pipeline row's is not)."""

_OP_CODE = {name: i for i, name in enumerate(OPS)}
assert _OP_CODE["send_recv"] == kc.OP_SEND_RECV and _OP_CODE["all_to_all"] == kc.OP_ALL_TO_ALL

_SCHEMA = {"dimension": pl.String, "component": pl.String, "op": pl.String, "what": pl.String,
           "group_ranks": pl.Int64, "ranks_per_domain": pl.Int64, "crosses_scale_up": pl.Boolean,
           "bytes_per_call": pl.Float64, "time_per_call_s": pl.Float64, "calls": pl.Float64,
           "calls_per": pl.String, "calls_per_micro_batch": pl.Float64, "calls_per_step": pl.Float64,
           "load_imbalance": pl.Float64}


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
        per_node=ranks_per_domain)`` gives time_per_call_s: bytes_per_call is the model's mean
        message, which may be a fraction of a byte), crosses_scale_up (bool: its traffic
        uses the NICs), bytes_per_call [bytes] (``il.collective``'s size: an all-gather's or
        reduce-scatter's whole array, an all-to-all's send buffer per rank), time_per_call_s
        [s] (the mean rank's), calls [count] and calls_per (what that count is per: "dense
        layer and micro-batch", "MoE layer and micro-batch", "layer and micro-batch", "step",
        "micro-batch", "layer"; on the pipeline rows "step (transfers waited for)",
        :data:`PP_CALLS_PER`: their calls is their calls_per_step, the transfers the step waits
        for, not every transfer sent, so calls × bytes_per_call is not their traffic there),
        calls_per_micro_batch [count per micro-batch] and calls_per_step [count per step] (the
        calls of the stage whose term the step carries; on the pipeline rows the transfers the
        step waits for, see Notes; calls_per_micro_batch null where a count per micro-batch is
        not defined: the pipeline rows, and data-parallel calls issued once a step),
        load_imbalance [-] (the factor the step multiplies the call's time by for the routing
        load: on the EP all-to-all rows the busiest expert rank's expected routed tokens over
        the mean rank's, :func:`infra_lab.compute.moe_load_imbalance` as the step's
        routed-expert table holds it; 1 on every other row).

    Notes
    -----
    Rows only for the dimensions of size > 1. ``calls`` of a tensor-parallel row is a
    dense-like layer's (an MoE layer issues half of them for its attention, the same again for
    shared experts, and the expert-TP pair, ``etp`` rows; the backward re-gather 1 + the
    shared experts' 1 of a dense layer's 2); full recompute adds the recomputed forward's calls
    to the counts, as the step model does. The per-micro-batch counts of the TP, CP and EP rows
    are over the layers of the pace stage (the stage the step's per-micro-batch terms come
    from): each layer's calls at its kind and at the recompute mode it runs
    (``training.recompute_num_layers``: the layers full recompute leaves out issue the
    no-recompute count; the multi-token-prediction modules as layers of their kind), and per
    step × the micro-batches per step (global_batch / (dp × micro_batch)); so
    Σ calls_per_step × time_per_call_s of the TP and CP rows is their raw time per step
    (:func:`collectives_by_dimension`), and of the EP rows the largest of calls_per_step ×
    time_per_call_s × load_imbalance (the two of a multi-domain dispatch are pipelined: the
    slower sets the time; time_per_call_s is the mean rank's, the step charges the busiest
    rank's). Data-parallel rows are the stage whose
    data-parallel term the step carries (the largest data-parallel and optimizer time); a
    ZeRO-2 plan reduces its buckets every micro-batch; a ZeRO-3 / FSDP plan gathers each layer
    before its forward and, where it reshards every micro-batch, again before its backward
    (its calls take the stack's zero3_bandwidth_efficiency on top in the step). Pipeline rows: one per
    kind of stage boundary and, when the interleaved schedule's chunks form a ring (pp > 1,
    vp > 1, not a V schedule), the last-to-first stage boundary. Their calls_per_step is not
    every transfer sent (each boundary carries an activation and a gradient per micro-batch and
    chunk crossing it) but the transfers the step waits for, the schedule's critical path as
    the step prices it (plain 1F1B: Megatron-Core's calls walked, each boundary at its own time,
    :func:`infra_lab._kernels.training.one_f_one_b_p2p`; interleaved and Primus' zero-bubble / V
    schedules: their calls counted, :func:`~infra_lab._kernels.training.interleaved_p2p_count`,
    :func:`~infra_lab._kernels.pipeline_p2p.primus_p2p_count`; otherwise two per chunk slot,
    :func:`~infra_lab._kernels.training.pp_p2p_time`), split over the boundary kinds as the
    step's hop time weighs them: Σ calls_per_step × time_per_call_s of the pipeline rows is the
    raw ``pp_p2p`` (:func:`collectives_by_dimension`; the breakdown's where the step hides
    none). APPROXIMATION, the step's: outside plain 1F1B every transfer is priced at one hop
    time, the slowest rank's mean of its two boundaries (so a count may be a half where a
    rank's boundaries differ in kind), under a ring the slowest boundary's (the count on the
    row of that boundary: the ring row where the ring boundary is of the slowest kind).
    Per-step totals, raw and exposed: :func:`collectives_by_dimension`.

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
    _, lay, ncand, comm = _evaluate_plan(sc, ctx)
    k_pace, k_dp = _step_stages(sc, ctx, ncand)
    m = c[kt.C_GBATCH] / (dp * mbs)
    stage = _LayerCounts.of(lay[0, k_pace], rc, c)
    rows: list[dict] = []

    def time_of(op, size, n, k):
        """One call's time [s]: the collective kernel the step prices it with."""
        return float(kt.coll(np.int64(_OP_CODE[op]), float(size), np.int64(n), np.int64(k), P))

    def add(dimension, component, op, what, n, k, size, calls=None, per=None, per_mb=None, per_step=None,
            imbalance=1.0):
        n, k = int(n), int(k)
        rows.append({"dimension": dimension, "component": component, "op": op, "what": what,
                     "group_ranks": n, "ranks_per_domain": k, "crosses_scale_up": bool(kt.crosses(n, k) > 0.5),
                     "bytes_per_call": float(size), "time_per_call_s": time_of(op, size, n, k),
                     "calls": None if calls is None else float(calls), "calls_per": per,
                     "calls_per_micro_batch": None if per_mb is None else float(per_mb),
                     "calls_per_step": None if per_step is None else float(per_step),
                     "load_imbalance": float(imbalance)})

    def add_layer(dimension, component, op, what, n, k, size, per, count, dense=0.0, moe=0.0, each=0.0,
                  imbalance=1.0):
        """A collective issued per layer: ``count(r)`` its calls per layer at recompute mode r
        (the unit ``per``); a dense-like layer issues ``dense`` × that, an MoE layer ``moe`` ×,
        every layer ``each`` × more; totals over the pace stage's layers (:class:`_LayerCounts`)."""
        per_mb = stage.calls(count, dense + each, moe + each)
        add(dimension, component, op, what, n, k, size, count(rc), per, per_mb, m * per_mb, imbalance)

    k_tp, k_etp, k_cp, k_ep = (int(x) for x in kt.plan_groups(c, layout)[:4])
    act, routed, kv = kt.message_bytes(c, tp, cp, float(mbs))

    def n_tp(r):
        return kt.TP_COLLECTIVES + (kt.TP_FULL_RECOMPUTE if r == 2 else 0.0)

    shared = c[kt.C_SHARED_X]
    # an MoE layer: its attention's TP collectives (half a dense layer's), its shared experts'
    # MLP as many again, the routed tokens' expert-TP pair (eval_head's tp_m)
    moe_tp = 0.5 * (1.0 + shared)
    if tp > 1:
        if spf:
            add_layer("tp", "tp_comm", "reduce_scatter", "sequence-parallel layer output (tokens x hidden)",
                      tp, k_tp, act, "dense layer and micro-batch", n_tp, dense=1.0, moe=moe_tp)
            add_layer("tp", "tp_comm", "all_gather", "sequence-parallel layer input (tokens x hidden)",
                      tp, k_tp, act, "dense layer and micro-batch", n_tp, dense=1.0, moe=moe_tp)

            def n_regather(r):
                return 1.0 if (c[kt.C_SP_REGATHER] > 0.5 or r == 1) else 0.0

            add_layer("tp", "tp_comm", "all_gather", "backward re-gather of a column-parallel input (sequence "
                      "parallelism; hidden behind the dgrad GEMMs up to their time)", tp, k_tp, act,
                      "dense layer and micro-batch", lambda r: kt.SP_BACKWARD_GATHERS_DENSE * n_regather(r),
                      dense=1.0, moe=(kt.SP_BACKWARD_GATHERS_MOE + shared) / kt.SP_BACKWARD_GATHERS_DENSE)
        else:
            add_layer("tp", "tp_comm", "all_reduce", "layer output after attention / MLP (tokens x hidden)",
                      tp, k_tp, act, "dense layer and micro-batch", n_tp, dense=1.0, moe=moe_tp)
    if etp > 1:
        for op in ("all_gather", "reduce_scatter"):
            add_layer("etp", "tp_comm", op, "routed tokens over the expert-TP ranks (tokens/tp x top_k x hidden)",
                      etp, k_etp, routed * etp, "MoE layer and micro-batch", lambda r: 0.5 * n_tp(r), moe=1.0)
    if cp > 1:
        _cp_rows(add_layer, c, cp, k_cp, kv)
    if ep > 1:
        def n_a2a(r):
            return kt.EP_ALL_TO_ALLS + (kt.EP_FULL_RECOMPUTE if r == 2 else (c[kt.C_SEL_A2A] if r == 1 else 0.0))

        a, na, ka, b, nb, kb = kt.ep_messages(c, routed / c[kt.C_TOPK], np.int64(ep), np.int64(k_ep))
        deepep = c[kt.C_DISPATCH] > 0.5
        what = ("dispatch / combine: each token once per destination rank" if deepep else
                "dispatch / combine: every routed copy (tokens/tp x top_k x hidden)")
        if nb > 1:
            what += " within the domain (pipelined with the inter-domain all-to-all: the slower sets the time)"
        # the busiest expert rank's routed tokens over the mean rank's, which the step kernel
        # multiplies the all-to-all by (eval_head's imb: the routed-expert table's X_IMB entry)
        imb = float(_xtab(ctx, ((ep, etp),))[kt.K_MOE, kt.X_IMB, 0, 0, 0, 0])
        add_layer("ep", "ep_comm", "all_to_all", what, na, ka, a, "MoE layer and micro-batch", n_a2a, moe=1.0,
                  imbalance=imb)
        if nb > 1:
            add_layer("ep", "ep_comm", "all_to_all", "dispatch / combine across domains over the same-rail ranks: "
                      "each token once per destination domain", nb, kb, b, "MoE layer and micro-batch", n_a2a,
                      moe=1.0, imbalance=imb)
    if pp > 1:
        raw_pp = float(_evaluate_plan(sc, ctx, _raw_constants(ctx))[0][kt.OUT_NAMES.index("pp_p2p")])
        q = comm[0, 0, 1 if spf else 0]
        _pp_rows(ctx, add, time_of, act, tp, cp, dp, pp, vp, raw_pp, _pp_nic_share(ctx, q, comm, pp, vp, m))
    _dp_rows(ctx, add, layout, zero, fsdp, lay[0, k_dp], m)
    return pl.DataFrame(rows, schema=_SCHEMA)


class _LayerCounts:
    """The layers of one pipeline-stage candidate (a ``lay`` row) as the step kernel's
    ``eval_head`` weighs their per-layer collectives: dense-like, MoE and multi-token-prediction
    layers, and of each those full recompute re-runs (the others issue recompute mode 0's
    collectives; under the other modes every layer is the plan's mode)."""

    def __init__(self, nd, rd, nm, rm, nx, rx, rc, mtp_moe):
        self.nd, self.rd, self.nm, self.rm, self.nx, self.rx = nd, rd, nm, rm, nx, rx
        self.rc, self.mtp_moe = rc, mtp_moe

    @classmethod
    def of(cls, row, rc, c):
        nd, nm = float(row[kt.L_ND]), float(row[kt.L_NM])
        nx = float(row[kt.L_HEAD] * c[kt.C_MTP])
        full = rc == 2
        rd = float(row[kt.L_RD]) if full else nd
        rm = float(row[kt.L_RM]) if full else nm
        rx = float(row[kt.L_RX]) if full else nx
        return cls(nd, rd, nm, rm, nx, rx, rc, c[kt.C_MTP_MOE] > 0.5)

    def calls(self, count, dense, moe):
        """Calls per micro-batch of a collective that a dense-like layer issues ``dense`` ×
        ``count(r)`` times and an MoE layer ``moe`` × (r: the recompute mode the layer runs at;
        an MTP module as a layer of its kind)."""
        r, r0 = count(self.rc), count(0)
        mtp = moe if self.mtp_moe else dense
        return (dense * (self.rd * r + (self.nd - self.rd) * r0) + moe * (self.rm * r + (self.nm - self.rm) * r0)
                + mtp * (self.rx * r + (self.nx - self.rx) * r0))


def _step_stages(sc, ctx, ncand) -> tuple[int, int]:
    """(pace stage, data-parallel stage): the stage candidates whose per-micro-batch terms
    (compute and the TP / CP / EP collectives) and whose data-parallel and optimizer terms the
    step kernel carries, each candidate priced alone (the first of equals)."""
    nc = int(ncand[0])
    if nc == 1:
        return 0, 0
    alone = [_evaluate_plan(sc, ctx, None, k)[0] for k in range(nc)]
    return (int(np.argmax([a[_PER_MICRO_BATCH].sum() for a in alone])),
            int(np.argmax([a[_DP_AND_OPTIMIZER].sum() for a in alone])))


def _cp_rows(add_layer, c, cp, k_cp, kv) -> None:
    """The context-parallel exchange by ``parallelism.cp_rotate`` (C_CP_AG), as
    :func:`infra_lab._kernels.training.fill_plan_comm` sizes it and
    :func:`~infra_lab._kernels.training.cp_exposed` counts it (every layer, each micro-batch)."""
    hop = 1 if kt.crosses(cp, k_cp) > 0.5 else 2
    mode = c[kt.C_CP_AG]
    per = "layer and micro-batch"

    def passes(r):          # forward, backward, and the recomputed forward under full recompute
        return 3.0 if r == 2 else 2.0

    if mode > 1.5:
        add_layer("cp", "cp_comm", "all_gather", "K and V of every rank, once per pass (nothing hidden)", cp, k_cp,
                  kv * cp, per, passes, each=1.0)
        add_layer("cp", "cp_comm", "reduce_scatter", "dK and dV of every rank (nothing hidden)", cp, k_cp, kv * cp,
                  per, lambda r: 1.0, each=1.0)
    elif mode > 0.5:
        add_layer("cp", "cp_comm", "all_gather", "K and V of every rank (all-gather rotation; hidden behind the "
                  "pass's first ring step)", cp, k_cp, kv * cp, per, passes, each=1.0)
        add_layer("cp", "cp_comm", "send_recv", "fp32 dK and dV to the next rank after each of the cp ring steps "
                  "(the last waited at once)", 2, hop, kv * 4.0 / c[kt.C_ACT_BYTES], per, lambda r: float(cp),
                  each=1.0)
    else:
        add_layer("cp", "cp_comm", "send_recv", "K and V to the next rank (ring step; slowest hop)", 2, hop, kv, per,
                  lambda r: kt.CP_PASSES * (cp - 1.0) + ((cp - 1.0) if r == 2 else 0.0), each=1.0)


def _raw_constants(ctx) -> np.ndarray:
    """The context's constant vector with the step kernel's overlap factors
    (:data:`OVERLAP_CONSTANTS`) at 0: what the raw communication terms are priced under."""
    c0 = ctx.c.copy()
    c0[list(OVERLAP_CONSTANTS)] = 0.0
    return c0


def _pp_nic_share(ctx, q, comm, pp, vp, m) -> float:
    """The share of the step's pipeline send/receive time that crosses scale-up domains [-], as
    the step kernel's eval_head takes it: from the plain 1F1B schedule's walk
    (:func:`infra_lab._kernels.training.one_f_one_b_p2p`, each boundary at its own time on the
    longest path) where it prices the plan so, else the one hop time's
    (:func:`~infra_lab._kernels.training.pp_hop_time`, Q_PP_NET)."""
    if pp > 1 and vp == 1 and int(ctx.c[kt.C_PP_SCHED]) <= kt.PP_SCHED_INTERLEAVED:
        return float(kt.one_f_one_b_p2p(q, (comm.shape[3] - kt.N_COMM) // 2, pp, m)[1])
    return float(q[kt.Q_PP_NET])


def _pp_rows(ctx, add, time_of, act, tp, cp, dp, pp, vp, raw, share) -> None:
    """One row per kind of pipeline boundary (within a scale-up domain, across), with how many
    of the pp − 1 boundaries are of that kind (:func:`infra_lab._kernels.training.pairs_cross`,
    the placement fill_plan_comm reads), and the interleaved schedule's ring boundary from the
    last stage to the first where the chunks form a ring (:func:`~infra_lab._kernels.training.pp_ring`).

    calls_per_step: the transfers the step waits for, from the step's own raw pp_p2p term
    (``raw``, the schedule's count × hop time, or the 1F1B walk's sum over boundaries) and its
    share over the NICs (``share``, :func:`_pp_nic_share`): ``raw × share`` over the across-domain
    time, ``raw × (1 − share)`` over the within-domain time, so that Σ calls_per_step ×
    time_per_call_s is the raw pp_p2p. Under a ring the step prices every transfer at the slowest
    boundary's time (pp_hop_time) and its share is that boundary's (0 or 1): the count stands on
    the ring row where the ring boundary is of that kind (the one pp_hop_time meets first, rank
    0's), else on the stage boundaries' row of that kind."""
    stage = tp * cp * dp
    D = int(ctx.c[kt.C_D])
    cross = [kt.pairs_cross(b * stage, stage, stage, D) > 0.5 for b in range(pp - 1)]
    ring = kt.pp_ring(ctx.c, pp, vp)
    ring_x = ring and kt.pairs_cross(0, stage, (pp - 1) * stage, D) > 0.5
    size = act / tp

    def waited(x):
        """Transfers the step waits for at the time of a boundary of kind ``x`` (True: across)."""
        part = raw * share if x else raw * (1.0 - share)
        return part / time_of("send_recv", size, 2, 1 if x else 2) if part > 0.0 else 0.0

    counted = "calls_per_step: the transfers the step waits for, priced at this boundary's time"
    for x, where in ((False, "within a domain"), (True, "across domains")):
        n = sum(1 for v in cross if v == x)
        if n:
            count = 0.0 if ring and ring_x == x else waited(x)
            add("pp", "pp_p2p", "send_recv", f"stage boundary activation / gradient, 1/tp slice ({where}: "
                f"{n} of the {pp - 1} boundaries; {counted})", 2, 1 if x else 2, size, count, PP_CALLS_PER,
                per_step=count)
    if ring:
        where = "across domains" if ring_x else "within a domain"
        add("pp", "pp_p2p", "send_recv", "interleaved ring boundary, last stage to the first (model chunk "
            f"j·pp + pp − 1 to (j + 1)·pp), activation / gradient, 1/tp slice ({where}; {counted})", 2,
            1 if ring_x else 2, size, waited(ring_x), PP_CALLS_PER, per_step=waited(ring_x))


def _dp_rows(ctx, add, layout, zero, fsdp, row, m) -> None:
    """Data-parallel rows of the stage whose data-parallel time the step carries (``row``, its
    ``lay`` row): Megatron's buckets (reduce-scatter + all-gather, or all-reduce at ZeRO-0) or
    the ZeRO-3 / FSDP per-layer calls."""
    c = ctx.c
    tp, ep, etp = int(layout[kt.LY_TP]), int(layout[kt.LY_EP]), int(layout[kt.LY_ETP])
    g_ne, k_ne, g_e, k_e = (int(x) for x in kt.plan_groups(c, layout)[4:])
    p_ne, p_e, emb = row[kt.L_PNE] / tp, row[kt.L_PE] / (ep * etp), row[kt.L_PEMB] / tp
    if zero >= 3 or fsdp:
        nl = row[kt.L_ND] + row[kt.L_NM]
        if nl <= 0:
            return
        ag_ne, ag_v, ag_e, rs_ne, rs_v, rs_e = kt.z3_layer_bytes(c, p_ne, p_e, nl, float(tp))
        kz, ks = c[kt.C_Z3_CALLS], c[kt.C_Z3_SMALL]
        keep = layout[kt.LY_PP] > 1 and c[kt.C_Z3_PP_RESHARD] < 0.5
        per = "layer" if keep else "layer and micro-batch"
        # calls of the stage: per micro-batch when resharded every micro-batch, else once a step
        mb, st = (None, nl) if keep else (nl, m * nl)
        for dim, g, k, parts in (("fsdp", g_ne, k_ne, ((ag_ne, rs_ne, kz, "weight matrix"),
                                                       (ag_v, rs_v, ks, "norm / bias vector"))),
                                 ("expert_fsdp", g_e, k_e, ((ag_e, rs_e, kz, "expert weight matrix"),))):
            for ag, rs, n, name in parts:
                if g > 1 and ag > 0 and n > 0:
                    add(dim, "dp_param_comm", "all_gather", f"{name} before its forward", g, k, ag, n, per,
                        None if mb is None else n * mb, n * st)
                    if not keep:
                        add(dim, "dp_grad_comm", "all_gather", f"{name} again before its backward (resharded "
                            "after the forward)", g, k, ag, n, per, n * mb, n * st)
                    add(dim, "dp_grad_comm", "reduce_scatter", f"{name} gradient after its backward", g, k, rs, n, per,
                        None if mb is None else n * mb, n * st)
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
                add(dim, "dp_grad_comm", "all_reduce", f"gradient {which}", g, k, size * c[kt.C_GRAD_BYTES], n, per,
                    None, n)
            else:
                add(dim, "dp_grad_comm", "reduce_scatter", f"gradient {which}", g, k, size * c[kt.C_GRAD_BYTES],
                    n, per, n if zero == 2 else None, n * m if zero == 2 else n)
                add(dim, "dp_param_comm", "all_gather", f"updated parameters, {which}", g, k,
                    size * c[kt.C_WEIGHT_BYTES], n, "step", None, n)


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
    APPROXIMATION: raw is the step kernel's own term with its overlap factors
    (:data:`OVERLAP_CONSTANTS`: the stack's, and the share of the sequence-parallel backward
    re-gather hidden behind the dgrad GEMMs) set to 0, on the stages the estimate's terms come
    from (the pace stage for TP, CP and EP, the data-parallel stage for DP). Where the step
    model hides nothing, raw = exposed truthfully: the exposed context-parallel all-gather
    (``cp_rotate = "allgather-exposed"``), the last dK/dV hand-off of the all-gather rotation,
    the plain 1F1B pipeline's transfers. The TP, CP and pipeline raw sums equal Σ
    calls_per_step × time_per_call_s of :func:`collectives`' rows, the EP raw sum the larger of
    its rows' calls_per_step × time_per_call_s × load_imbalance; the data-parallel raw sum equals
    ``Estimate.dp_comm_raw_s``. ``nic_busy_fraction`` counts the TP and CP
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
    c0 = _raw_constants(ctx)
    out, lay, ncand, comm = _evaluate_plan(sc, ctx)
    k_pace, k_dp = _step_stages(sc, ctx, ncand)
    if int(ncand[0]) == 1:
        raw = {0: _evaluate_plan(sc, ctx, c0)[0]}
    else:
        raw = {k: _evaluate_plan(sc, ctx, c0, k)[0] for k in {k_pace, k_dp}}
    exposed = dict(est.breakdown.iter_rows())
    q = comm[0, 0, 1 if spf else 0]
    m = ctx.c[kt.C_GBATCH] / (dp * mbs)
    pp_net = _pp_nic_share(ctx, q, comm, pp, vp, m)
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
