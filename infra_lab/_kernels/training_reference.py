"""Plain-Python reference of the training step, written from the public functions.

:func:`step_reference` prices one plan without the numba step kernel: every collective
through ``il.collective`` (with its group placed by listing the actual ranks of the group
in Megatron's rank order), memory through ``il.memory.training_memory``, pipeline stages
through ``il.memory.stage_layers`` rank by rank, and the data-parallel buckets by an
explicit event simulation (bucket by bucket, in time order) instead of the kernel's closed
forms. Only the per-layer compute tables (from ``il.compute.layer_ops``) are shared with
the kernel. ``tests/test_training.py`` checks that :func:`infra_lab.estimate` (the kernel)
and this reference agree.
"""

from __future__ import annotations

import functools
import math

from . import pipeline_greedy_reference


def expected_distinct_groups(E: int, k: int, n: int, G: int = 0, M: int = 0) -> float:
    """Expected number of the n equal groups of E experts (ranks or domains, E/n experts each)
    that a token's k distinct experts touch: n·(1 − C(E − E/n, k)/C(E, k)) for uniform draws
    (hypergeometric; linearity of expectation over the groups); with group-limited routing (M of
    G router groups per token) the public :func:`infra_lab.compute.moe_distinct_ranks` [-]."""
    if n <= 1:
        return 1.0
    if G > 1 and M < G:
        from ..compute import moe_distinct_ranks
        return moe_distinct_ranks(E, k, n, G, M)
    return n * (1.0 - math.comb(E - E // n, k) / math.comb(E, k))


def _orthogonal_groups(sizes, mask):
    """Megatron-Core's ``generate_masked_orthogonal_rank_groups`` (megatron/core/parallel_state.py,
    NVIDIA/Megatron-LM at d98e8a64ddf34856e74b24714e3bedb2f5a39553):
    the groups of the masked dimensions, ``sizes`` in rank order (first fastest); a rank is
    sum(index_d · prod(sizes before d))."""
    strides = [math.prod(sizes[:d]) for d in range(len(sizes))]
    inner = [d for d in range(len(sizes)) if mask[d]]
    outer = [d for d in range(len(sizes)) if not mask[d]]

    def offsets(dims):
        out = [0]
        for d in dims:
            out = [o + i * strides[d] for i in range(sizes[d]) for o in out]
        return out

    return [[o + r for r in offsets(inner)] for o in offsets(outer)]


def _groups(kind: str, tp, cp, dp, pp, ep, etp):
    """Every group of one kind, as lists of ranks: Megatron-Core's decoder generator (order
    tp-cp-ep-dp-pp with ep = 1: tp, cp, dp-cp, pp) and expert generator (the same order with
    tp = etp, cp = 1 and the expert data-parallel size: etp, ep, edp)."""
    edp = tp * cp * dp // (ep * etp)
    dense = [tp, cp, 1, dp, pp]
    expert = [etp, 1, ep, edp, pp]
    masks = {"tp": (dense, (1, 0, 0, 0, 0)), "cp": (dense, (0, 1, 0, 0, 0)),
             "dp": (dense, (0, 1, 0, 1, 0)), "pp": (dense, (0, 0, 0, 0, 1)),
             "etp": (expert, (1, 0, 0, 0, 0)), "ep": (expert, (0, 0, 1, 0, 0)),
             "edp": (expert, (0, 0, 0, 1, 0))}
    if kind not in masks:
        raise ValueError(kind)
    sizes, mask = masks[kind]
    return _orthogonal_groups(sizes, mask)


def pp_boundaries(tp, cp, dp, pp, ep, etp, ring: bool = False) -> list[list[list[int]]]:
    """The rank pairs of each pipeline stage boundary: boundary b joins stage b and b + 1 of
    every pp group (Megatron-Core's pp groups, :func:`_groups`); with ``ring`` (the interleaved
    schedule) one more, from the last stage to the first."""
    groups = _groups("pp", tp, cp, dp, pp, ep, etp)
    out = [[[g[b], g[b + 1]] for g in groups] for b in range(pp - 1)]
    if ring and pp > 1:
        out.append([[g[pp - 1], g[0]] for g in groups])
    return out


def pp_hop_reference(times: list[float], pp: int, ring: bool) -> float:
    """The pipeline hop time the critical path sees (the rule of
    :func:`infra_lab._kernels.training.pp_hop_time`) from each boundary's time (``times[b]``,
    :func:`pp_boundaries`' order): rank r exchanges over boundaries r − 1 and r, a ring's first
    and last ranks over the last-to-first one too; without a ring the slowest rank's mean over
    its boundaries (1F1B's two exchanges one after the other), with one the slowest rank's
    slower boundary (the interleaved schedule's one batched exchange with both neighbours)."""
    if pp <= 1:
        return 0.0
    worst = 0.0
    for r in range(pp):
        own = [times[b] for b in (r - 1, r) if 0 <= b < pp - 1]
        if ring and r in (0, pp - 1):
            own.append(times[pp - 1])
        if own:
            worst = max(worst, max(own) if ring else sum(own) / len(own))
    return worst


def one_f_one_b_p2p_reference(times: list[float], m: float) -> float:
    """The plain 1F1B schedule's send/receive time on the step's critical path [s] from each
    boundary's transfer time (``times[b]``, boundary b between ranks b and b + 1; the rule of
    :func:`infra_lab._kernels.training.one_f_one_b_p2p`), by listing each path's crossings:
    one micro-batch's fill and drain (every boundary twice), and for each rank r ≥ 1 that has
    a steady state (R = m − (pp − r − 1) ≥ 1 iterations) the boundaries before r − 1 twice,
    r − 1 R + 1 times, r R + 2 times, those after r four times. The longest path."""
    pp = len(times) + 1
    paths = [[2.0] * len(times)]
    for r in range(1, pp):
        steady = m - (pp - r - 1)
        if steady < 1:
            continue
        n = [2.0 if b < r - 1 else 4.0 for b in range(len(times))]
        n[r - 1] = steady + 1
        if r <= pp - 2:
            n[r] = steady + 2
        paths.append(n)
    return max(sum(k * t for k, t in zip(n, times, strict=True)) for n in paths)


def megatron_1f1b_calls(r: int, pp: int, m: int) -> list[tuple]:
    """Rank r's sequence under Megatron-Core's plain 1F1B schedule (NVIDIA/Megatron-LM d98e8a6,
    megatron/core/pipeline_parallel/schedules.py ``forward_backward_pipelining_without_interleaving``):
    ("F",), ("B",) the passes, and each blocking p2p call as ("P", messages) then ("W", messages)
    (posted, then waited on at once: the ops of :func:`megatron_interleaved_calls`), a message
    (kind, src, dst, seq),
    kind "a" an activation and "g" a gradient. The warm-up's ``recv_forward`` / ``send_forward``,
    the steady state's batched ``send_forward_recv_backward`` and ``send_backward_recv_forward``
    (the last iteration a plain ``send_backward``), the cool-down's ``recv_backward`` /
    ``send_backward``; the first and last ranks skip the calls to the missing neighbour."""
    warm = min(pp - r - 1, m)
    rem = m - warm
    first, last = r == 0, r == pp - 1
    seq = {"sa": 0, "ra": 0, "sg": 0, "rg": 0}
    ops: list[tuple] = []

    def msg(kind, key, src, dst):
        v = (kind, src, dst, seq[key])
        seq[key] += 1
        return v

    def call(*parts):
        msgs = [msg(*p) for p in parts]
        if msgs:
            ops.extend((("P", msgs), ("W", msgs)))

    act_in = ("a", "ra", r - 1, r)
    act_out = ("a", "sa", r, r + 1)
    grad_in = ("g", "rg", r + 1, r)
    grad_out = ("g", "sg", r, r - 1)
    for _ in range(warm):
        call(*([] if first else [act_in]))
        ops.append(("F",))
        call(*([] if last else [act_out]))
    if rem > 0:
        call(*([] if first else [act_in]))
    for i in range(rem):
        ops.append(("F",))
        call(*([] if last else [act_out, grad_in]))
        ops.append(("B",))
        if i == rem - 1:
            call(*([] if first else [grad_out]))
        else:
            call(*([] if first else [grad_out, act_in]))
    for _ in range(warm):
        call(*([] if last else [grad_in]))
        ops.append(("B",))
        call(*([] if first else [grad_out]))
    return ops


def one_f_one_b_p2p_simulated(times: list[float], m: int, fwd: float = 1.0, bwd: float = 2.0) -> float:
    """The send/receive time the plain 1F1B schedule adds to a step [s]: Megatron-Core's call
    sequences (:func:`megatron_1f1b_calls`) walked (:func:`_walk_posted`: a message starts when
    both sides' calls are posted; a batched call's two directions over one link at once, full
    duplex) with each boundary's transfer time ``times[b]`` less the same walk with instant
    transfers, every rank at forward and backward times ``fwd``, ``bwd``. :func:`one_f_one_b_p2p_reference` must equal it when the transfers
    are short against the passes."""
    pp = len(times) + 1
    progs = [megatron_1f1b_calls(r, pp, m) for r in range(pp)]
    def hop_of(ts):
        return lambda mg: ts[min(mg[1], mg[2])]
    return (_walk_posted(progs, fwd, bwd, hop_of(times))
            - _walk_posted(progs, fwd, bwd, hop_of([0.0] * len(times))))


def megatron_interleaved_calls(r: int, pp: int, vp: int, m: int, overlap: bool) -> list[tuple]:
    """Rank r's sequence under Megatron-Core's interleaved 1F1B schedule (NVIDIA/Megatron-LM
    d98e8a6, megatron/core/pipeline_parallel/schedules.py
    ``forward_backward_pipelining_with_interleaving``, microbatch_group_size_per_vp_stage = pp,
    deallocate_pipeline_outputs on as megatron/training/argument_utils.py sets it, no
    overlap_p2p_comm_warmup_flush): ("F",), ("B",) a chunk's pass, ("P", messages) messages
    posted without waiting (``isend`` / ``irecv``), ("W", messages) a wait on them; a message
    (kind, src, dst, seq), kind "a" an activation to the next rank (the last rank's to the first,
    the next chunk), "g" a gradient to the previous one. ``overlap``: ``overlap_p2p_comm`` (the
    default under interleaving); without it each steady forward-backward pair ends in one
    blocking batched ``send_forward_backward_recv_forward_backward``."""
    T = vp * m
    table = []
    for lo in range(0, m, pp):
        hi = m if lo + pp >= m else lo + pp
        table += [(mb, c) for c in range(vp) for mb in range(lo, hi)]
    warm = min(2 * (pp - r - 1) + (vp - 1) * pp, T)
    rem = T - warm
    first, last = r == 0, r == pp - 1
    nxt, prv = (r + 1) % pp, (r - 1) % pp

    def chunk(k, fwd):
        c = table[k % T][1]
        return c if fwd else vp - 1 - c

    def recv_from_previous(k, fwd):
        # recv_tensor_from_previous_stage: the leading stage (first rank forward, last rank
        # backward) receives only what the ending stage has produced, never the last chunk's
        if not (first if fwd else last):
            return True
        nc = chunk(k + 1, fwd) if k < pp - 1 else chunk(k - (pp - 1), fwd)
        return k >= pp - 1 and nc != (vp - 1 if fwd else 0)

    seq: dict = {}
    ops: list[tuple] = []

    def msg(kind, src, dst):
        seq[(kind, src, dst)] = seq.get((kind, src, dst), -1) + 1
        return (kind, src, dst, seq[(kind, src, dst)])

    def post(*ms):
        ms = [x for x in ms if x is not None]
        if ms:
            ops.append(("P", ms))
        return ms

    def wait(ms):
        if ms:
            ops.append(("W", list(ms)))

    def act_out(k):
        return msg("a", r, nxt) if not (chunk(k, True) == vp - 1 and last) else None

    def grad_out(k):
        return msg("g", r, prv) if not (chunk(k, False) == 0 and first) else None

    if not first:
        wait(post(msg("a", prv, r)))
    recv_prev, recv_next = [], []
    send_next = send_prev = None
    for k in range(warm):
        rp = recv_from_previous(k, True) and k != T - 1
        ops.append(("F",))
        out = act_out(k)
        if k == warm - 1 and not overlap and rem > 0:
            wait(post(out, msg("a", prv, r) if rp else None, msg("g", nxt, r) if not last else None))
        else:
            wait(post(out, msg("a", prv, r) if rp else None))
        if overlap and k == warm - 1 and rem > 0 and not last:
            recv_next += post(msg("g", nxt, r))
    for k in range(rem):
        fk, bk = k + warm, k
        if overlap:
            if not (chunk(fk, True) == 0 and first) and recv_prev:
                wait([recv_prev.pop(0)])
            ops.append(("F",))
            s_ = act_out(fk)
            rr = msg("a", prv, r) if (recv_from_previous(fk, True) and k != rem - 1) else None
            post(s_, rr)
            if send_next is not None:
                wait([send_next])
            send_next = s_
            if rr is not None:
                recv_prev.append(rr)
            if send_next is not None:          # deallocate_pipeline_outputs: freed once sent
                wait([send_next])
                send_next = None
            if not (chunk(bk, False) == vp - 1 and last) and recv_next:
                wait([recv_next.pop(0)])
            ops.append(("B",))
            s_ = grad_out(bk)
            rr = msg("g", nxt, r) if recv_from_previous(bk, False) else None
            post(s_, rr)
            if send_prev is not None:
                wait([send_prev])
            send_prev = s_
            if rr is not None:
                recv_next.append(rr)
        else:
            ops.append(("F",))
            ops.append(("B",))
            rp = recv_from_previous(fk, True) and k != rem - 1
            rn = recv_from_previous(bk, False)
            wait(post(act_out(fk), grad_out(bk), msg("a", prv, r) if rp else None,
                      msg("g", nxt, r) if rn else None))
    if rem == 0 and not last:
        wait(post(msg("g", nxt, r)))
    for k in range(rem, T):
        if not (chunk(k, False) == vp - 1 and last) and k != 0 and recv_next:
            wait([recv_next.pop(0)])
        rn = recv_from_previous(k, False) and k != T - 1
        ops.append(("B",))
        wait(post(grad_out(k), msg("g", nxt, r) if rn else None))
    if send_prev is not None:
        wait([send_prev])
    if recv_prev or recv_next:
        raise RuntimeError(f"rank {r}: receives left unwaited")
    return ops


def _walk_posted(progs, fwd: float, bwd: float, hop) -> float:
    """The end of the last rank's stream when every rank runs its sequence
    (:func:`megatron_interleaved_calls`, :func:`megatron_1f1b_calls`): a pass takes ``fwd`` / ``bwd``; a message starts when
    both its sender and its receiver have posted it (each at its stream's time then) and takes
    ``hop(message)``; a wait holds the rank's stream until its messages are done. ("C", t): a
    pass of its own time ``t`` (the split backward's input and weight passes of
    :func:`primus_calls`)."""
    pp = len(progs)
    ptr = [0] * pp
    now = [0.0] * pp
    posted: dict = {}
    while not all(ptr[r] == len(progs[r]) for r in range(pp)):
        moved = False
        for r in range(pp):
            while ptr[r] < len(progs[r]):
                op = progs[r][ptr[r]]
                if op[0] == "F":
                    now[r] += fwd
                elif op[0] == "B":
                    now[r] += bwd
                elif op[0] == "C":
                    now[r] += op[1]
                elif op[0] == "P":
                    for mg in op[1]:
                        posted.setdefault(mg, [None, None])[0 if mg[1] == r else 1] = now[r]
                else:
                    if any(None in posted.get(mg, (None,)) for mg in op[1]):
                        break
                    now[r] = max([now[r]] + [max(posted[mg]) + hop(mg) for mg in op[1]])
                ptr[r] += 1
                moved = True
        if not moved:
            raise RuntimeError("the pipeline call sequences deadlock")
    if any(None in v for v in posted.values()):
        raise RuntimeError("a message posted on one side only")
    return max(now)


def interleaved_p2p_simulated(times: list[float], vp: int, m: int, overlap: bool = True,
                              fwd: float = 1.0, bwd: float = 2.0) -> float:
    """The send/receive time Megatron-Core's interleaved schedule adds to a step [s]: its call
    sequences (:func:`megatron_interleaved_calls`) walked with boundary b's transfer time
    ``times[b]`` (b < pp − 1 between ranks b and b + 1, ``times[pp − 1]`` the last rank's to the
    first) less the same walk with instant transfers, every rank at chunk pass times ``fwd``,
    ``bwd``. :func:`infra_lab._kernels.training.interleaved_p2p_count` times the hop must equal
    it at equal boundaries with transfers short against the passes."""
    pp = len(times)
    progs = [megatron_interleaved_calls(r, pp, vp, m, overlap) for r in range(pp)]

    def hop_of(ts):
        def hop(mg):
            lo, hi = sorted((mg[1], mg[2]))
            if pp == 2:
                return ts[0]
            return ts[pp - 1] if (lo == 0 and hi == pp - 1) else ts[lo]
        return hop

    return (_walk_posted(progs, fwd, bwd, hop_of(times))
            - _walk_posted(progs, fwd, bwd, hop_of([0.0] * pp)))


def interleaved_p2p_transfers(pp: int, vp: int, m: int, overlap: bool = True) -> float:
    """Transfers the interleaved schedule's step waits for at equal boundaries [-]: the walk of
    :func:`interleaved_p2p_simulated` at a hop short against the passes, divided by it."""
    return _interleaved_transfers_cached(int(pp), int(vp), int(m), bool(overlap))


@functools.cache
def _interleaved_transfers_cached(pp, vp, m, overlap):
    hop = 2.0 ** -10                         # short against the passes, exact in binary
    return round(interleaved_p2p_simulated([hop] * pp, vp, m, overlap) / hop, 6)


def primus_table(algorithm: str, p: int, m: int) -> list[list[dict]]:
    """Each rank's table under Primus' pipeline runtime (AMD-AGI/Primus 78633ae,
    primus/core/pipeline_parallel/scheduler/algorithms/), written from its classes: nodes
    {"f": "F"|"B"|"W"|"SF"|"SB"|"RF"|"RB", "mb", "chunk", "src", "dst", "step"}. ``algorithm``
    "zero-bubble" (zerobubble.py ``generate_schedule_table``: a pass's receive node before it, its
    send after it, a steady forward's / cool-down backward's receive moved before the W just
    before it), "zbv-formatted", "v-half", "v-min" (base.py ``VFoldScheduleAlgo``: each pass at a
    time step, its send on its own table and the receive on the peer's at the step + 1, a step's
    communication nodes before its pass). The V orders and steps are the ones
    :mod:`infra_lab._kernels.pipeline_greedy_reference` builds (zbv-formatted: rank r's passes
    at r, r + 1, ..., the left-out micro-batches' passes keeping their steps)."""
    from . import pipeline_greedy_reference as pgr

    def direction(r, chunk, f):
        if algorithm == "zero-bubble":
            if f == "F":
                return (r - 1 if r >= 1 else None), (r + 1 if r + 1 < p else None), 0, 0
            return (r + 1 if r + 1 < p else None), (r - 1 if r >= 1 else None), 0, 0
        left = (chunk == 0) if f == "F" else (chunk == 1)
        if left:
            return (r - 1 if r >= 1 else None), (r + 1 if r + 1 < p else r), chunk, \
                (chunk if r < p - 1 else 1 - chunk)
        return (r + 1 if r + 1 < p else r), (r - 1 if r >= 1 else None), \
            (chunk if r + 1 < p else 1 - chunk), chunk

    def recv_send(r, mb, chunk, f):
        prv, nxt, rc, sc = direction(r, chunk, f)
        rv = None if prv is None else {"f": "R" + f, "mb": mb, "chunk": chunk, "src": prv, "dst": r,
                                       "from_chunk": rc}
        sd = None if nxt is None else {"f": "S" + f, "mb": mb, "chunk": chunk, "src": r, "dst": nxt,
                                       "to_chunk": sc}
        return rv, sd

    if algorithm == "zero-bubble":
        tables = []
        for r in range(p):
            t: list[dict] = []

            def node(f, i, t=t):
                t.append({"f": f, "mb": i, "chunk": 0})

            def comp(f, i, move_w, t=t, r=r):
                rv, sd = recv_send(r, i, 0, f)
                if rv is not None:
                    w = t.pop() if (move_w and t and t[-1]["f"] == "W") else None
                    t.append(rv)
                    if w is not None:
                        t.append(w)
                node(f, i)
                if sd is not None:
                    t.append(sd)

            wu = p - r - 1
            if m < p:
                if r != p - 1:
                    for i in range(m):
                        comp("F", i, False)
                    for i in range(m):
                        comp("B", i, False)
                        node("W", i)
                else:
                    for i in range(m):
                        comp("F", i, False)
                        comp("B", i, False)
                    for i in range(m):
                        node("W", i)
            else:
                for i in range(wu):
                    comp("F", i, False)
                for i in range(wu, m):
                    comp("F", i, True)
                    comp("B", i - wu, False)
                    if i - wu >= r:
                        node("W", i - wu - r)
                for i in range(m - wu, m):
                    comp("B", i, True)
                    node("W", i - r)
                for i in range(m, m + r):
                    node("W", i - r)
            tables.append(t)
        return tables
    if algorithm == "zbv-formatted":
        order = pgr.zbv_order(p, max(2 * p - 1, m))
        steps = {r: [(op, r + i) for i, op in enumerate(order[r]) if op[2] < m] for r in range(p)}
    else:
        at = pgr.greedy_slots(p, m, "v-min" if algorithm == "v-min" else "v-half")
        steps = {r: sorted(((op, s) for s, op in at[r].items()), key=lambda x: x[1]) for r in range(p)}
    by_step = [dict() for _ in range(p)]
    for r in range(p):           # the order of _insert_compute_node's calls: rank by rank
        for (f, chunk, mb), s in steps[r]:
            by_step[r].setdefault(s, []).append({"f": f, "mb": mb, "chunk": chunk, "step": s})
            if f == "W":
                continue
            _, sd = recv_send(r, mb, chunk, f)
            if sd is not None:   # generate_send_recv_nodes_comm_pair: both at the step + 1
                sd["step"] = s + 1
                by_step[r].setdefault(s + 1, []).append(sd)
                rv = {"f": "R" + f, "mb": mb, "chunk": sd["to_chunk"], "src": r, "dst": sd["dst"],
                      "step": s + 1, "from_chunk": chunk}
                by_step[sd["dst"]].setdefault(s + 1, []).append(rv)
    tables = []
    for r in range(p):
        t = []
        for s in sorted(by_step[r]):
            nodes = by_step[r][s]
            t += [x for x in nodes if x["f"] in ("SF", "SB", "RF", "RB")]
            t += [x for x in nodes if x["f"] in ("F", "B", "W")]
        tables.append(t)
    return tables


def primus_calls(table: list[dict], r: int, times=(1.0, 1.0, 1.0)) -> list[tuple]:
    """Rank r's ops for :func:`_walk_posted` when Primus' runtime runs its ``table``
    (:func:`primus_table`) with ``communication_method`` ``async_p2p`` (the default of
    primus/configs/modules/megatron/primus_pipeline.yaml at 78633ae), following
    primuspipe/handlers/communication_handler.py ``batch_p2p_communication_handler``: a
    communication node joins the pending group (``COMMUNICATION_NODE_CACHE``) unless it is a
    local copy (source = destination: the V's turn); the group is left open while the next node
    is a communication node of the same time step; at its last node the rank waits on the
    previous group's sends (``SEND_NODE_CACHE``), then posts the group (a local receive with
    nothing pending returns before). A forward waits on its receive's request before it runs
    (fwd_handler.py), a backward on its gradient's (bwd_handler.py). ``times``: F, B, W."""
    ops: list[tuple] = []
    cache: list[dict] = []
    sends: list = []
    reqs: dict = {}

    def key(nd):       # (kind, sender, receiver, (micro-batch, receiving chunk)): _walk_posted's
        return (nd["f"][1], nd["src"], nd["dst"],
                (nd["mb"], nd.get("to_chunk", 0) if nd["f"][0] == "S" else nd["chunk"]))

    for idx, nd in enumerate(table):
        f = nd["f"]
        if f in ("F", "B", "W"):
            if f != "W":
                k = (f, nd["mb"], r, nd["chunk"])
                if k in reqs:
                    ops.append(("W", [reqs.pop(k)]))
            ops.append(("C", times["FBW".index(f)]))
            continue
        if nd["src"] == nd["dst"]:
            if f[0] == "R" and not cache:
                continue
        else:
            cache.append(nd)
        nxt = table[idx + 1] if idx + 1 < len(table) else None
        if nxt is not None and nxt["f"] in ("SF", "SB", "RF", "RB") and \
                ("step" not in nxt or nxt.get("step") == nd.get("step")):
            continue
        if sends:
            ops.append(("W", list(sends)))
        sends = [key(x) for x in cache if x["f"][0] == "S"]
        msgs = [key(x) for x in cache]
        if msgs:
            ops.append(("P", msgs))
        for x in cache:
            if x["f"][0] == "R":
                reqs[(x["f"][1], x["mb"], r, x["chunk"])] = key(x)
        cache = []
    return ops


def primus_p2p_simulated(algorithm: str, p: int, m: int, hop: float = 2.0 ** -16,
                         times=(1.0, 1.0, 1.0)) -> float:
    """The send/receive time Primus' runtime adds to a step of ``algorithm`` (:func:`primus_table`)
    on p ranks with m micro-batches [s]: the ranks' calls (:func:`primus_calls`) walked with each
    transfer at ``hop`` less the same walk with instant ones, passes at ``times`` (F, B, W).
    Divided by a hop short against the passes it is the transfers the step waits for, which
    :func:`infra_lab._kernels.pipeline_p2p.primus_p2p_count` must equal at equal pass times.
    RuntimeError when the calls deadlock."""
    tables = primus_table(algorithm, p, m)
    progs = [primus_calls(tables[r], r, times) for r in range(p)]
    return (_walk_posted(progs, 0.0, 0.0, lambda mg: hop)
            - _walk_posted(progs, 0.0, 0.0, lambda mg: 0.0))


def torchtitan_interleaved_actions(pp: int, vp: int, m: int) -> dict[int, list]:
    """Each rank's compute-only actions of torch.distributed.pipelining's ``ScheduleInterleaved1F1B``
    (pytorch 00722e6, torch/distributed/pipelining/schedules.py
    ``_calculate_single_rank_operations``, ``_get_warmup_ops`` with multiply_factor 2,
    ``_get_1f1b_rank_ops``): (kind "F"/"B", stage, micro-batch) or None, stage s on rank s mod pp.
    Raises ValueError where the schedule does (m not a multiple of its rounds)."""
    rounds = max(1, m // pp)
    per_round = m // rounds
    if m % rounds:
        raise ValueError(f"m = {m} is not a multiple of the {rounds} rounds")
    out = {}
    for rank in range(pp):
        warmup = min((vp - 1) * per_round + 2 * (pp - 1 - rank), m * vp)
        fwd_bwd = vp * m - warmup
        post = (vp * pp + 2 * (pp - 1 - rank)) - (warmup + rank)
        fcnt: dict = {}
        bcnt: dict = {}
        ops: list = [None] * rank

        def take(kind, stage, cnt, ops=ops):
            mb = cnt.get(stage, 0)
            cnt[stage] = mb + 1
            ops.append((kind, stage, mb))

        for op in range(warmup + fwd_bwd + warmup):
            f_stage = ((op // per_round) % vp) * pp + rank
            b_stage = (vp - 1 - ((op - warmup) // per_round) % vp) * pp + rank
            if op < warmup:
                take("F", f_stage, fcnt)
                if op == warmup - 1:
                    ops.extend([None] * post)
            elif op < warmup + fwd_bwd:
                take("F", f_stage, fcnt)
                take("B", b_stage, bcnt)
            else:
                ops.append(None)
                take("B", b_stage, bcnt)
        out[rank] = ops
    return out


def torchtitan_lowered(actions: dict[int, list], pp: int, nstages: int, m: int) -> dict[int, list]:
    """The runtime's lowering of compute-only actions (``_PipelineScheduleRuntime.
    _prepare_schedule_with_comms``): per rank ``_add_unshard_reshard`` (Nones dropped, UNSHARD /
    RESHARD around a window of the next 3 stages, inserted whether or not the stage is
    FSDP-sharded) and ``_add_reduce_grad``, then ``_add_send_recv``: rounds over the ranks in
    order, one action per rank per round once its input is there (its own RECV or the previous
    stage's pass on the same rank), a pass with a peer on another rank followed by its SEND on its
    own list and the peer's RECV appended to the peer's list at once."""
    def stage_rank(s):
        return s % pp

    lists = {}
    for r in range(pp):
        acts = actions[r]
        active: set = set()
        res: list = []
        for i, a in enumerate(acts):
            if a is None:
                continue
            nxt: list = []
            for b in acts[i:]:
                if b is not None and b[1] not in nxt:
                    nxt.append(b[1])
                    if len(nxt) == 3:
                        break
            for st in [x for x in active if x not in nxt]:
                active.remove(st)
                res.append(("RESHARD", st, None))
            for st in [x for x in nxt if x not in active]:
                active.add(st)
                res.append(("UNSHARD", st, None))
            res.append(a)
        res += [("RESHARD", st, None) for st in list(active)]
        cnt: dict = {}
        red: list = []
        for a in res:
            red.append(a)
            if a[0] in ("B", "W"):
                cnt[a[1]] = cnt.get(a[1], 0) + 1
                if cnt[a[1]] == m:
                    red.append(("REDUCE_GRAD", a[1], None))
        lists[r] = red

    def comms(a):
        if a[0] == "F":
            return a[1] != nstages - 1 and stage_rank(a[1] + 1) != stage_rank(a[1])
        if a[0] == "B":
            return a[1] != 0 and stage_rank(a[1] - 1) != stage_rank(a[1])
        return False

    def ready(a, seen):
        if a[0] == "F" and a[1] != 0:
            return ("RECV_F", a[1], a[2]) in seen or ("F", a[1] - 1, a[2]) in seen
        if a[0] == "B" and a[1] != nstages - 1:
            return ("RECV_B", a[1], a[2]) in seen or ("B", a[1] + 1, a[2]) in seen
        return True

    out: dict = {r: [] for r in lists}
    seen: dict = {r: set() for r in lists}
    left = {r: list(v) for r, v in lists.items() if v}
    while left:
        progress = False
        for r in sorted(left):
            a = left[r][0]
            if not ready(a, seen[r]):
                continue
            out[r].append(a)
            seen[r].add(a)
            if comms(a):
                send = ("SEND_" + a[0], a[1], a[2])
                peer = a[1] + 1 if a[0] == "F" else a[1] - 1
                recv = ("RECV_" + a[0], peer, a[2])
                out[r].append(send)
                seen[r].add(send)
                out[stage_rank(peer)].append(recv)
                seen[stage_rank(peer)].add(recv)
            left[r].pop(0)
            if not left[r]:
                del left[r]
            progress = True
        if not progress:
            raise RuntimeError("malformed compute schedule, can't schedule sends/recvs")
    return out


def torchtitan_calls(lowered: list, r: int, pp: int, nstages: int, fwd: float, bwd: float) -> list[tuple]:
    """Rank r's ops for :func:`_walk_posted` when ``_PipelineScheduleRuntime._step_microbatches``
    runs its lowered list: SEND_F / SEND_B posted and waited only at the step's end; RECV_F /
    RECV_B posted; a forward waits on its receive just before it runs (``_wait_batch_p2p(
    self.fwd_recv_ops.pop(...))``), a backward on its gradient's. A message (kind, sender,
    receiver, (receiving stage, micro-batch))."""
    ops: list = []
    sends: list = []
    for k, st, mb in lowered:
        if k == "SEND_F":
            msg = ("a", r, (st + 1) % pp, (st + 1, mb))
            ops.append(("P", [msg]))
            sends.append(msg)
        elif k == "SEND_B":
            msg = ("g", r, (st - 1) % pp, (st - 1, mb))
            ops.append(("P", [msg]))
            sends.append(msg)
        elif k == "RECV_F":
            ops.append(("P", [("a", (st - 1) % pp, r, (st, mb))]))
        elif k == "RECV_B":
            ops.append(("P", [("g", (st + 1) % pp, r, (st, mb))]))
        elif k == "F":
            if st != 0 and (st - 1) % pp != r:
                ops.append(("W", [("a", (st - 1) % pp, r, (st, mb))]))
            ops.append(("C", fwd))
        elif k == "B":
            if st != nstages - 1 and (st + 1) % pp != r:
                ops.append(("W", [("g", (st + 1) % pp, r, (st, mb))]))
            ops.append(("C", bwd))
    if sends:
        ops.append(("W", sends))
    return ops


def torchtitan_interleaved_simulated(pp: int, vp: int, m: int, hop: float = 2.0 ** -16,
                                     fwd: float = 1.0, bwd: float = 2.0) -> float:
    """The send/receive time torch.distributed.pipelining's ``ScheduleInterleaved1F1B`` adds to a
    step [s]: its actions (:func:`torchtitan_interleaved_actions`) lowered as the runtime does
    (:func:`torchtitan_lowered`) and run (:func:`torchtitan_calls`), walked with each transfer at
    ``hop`` less the same walk with instant ones, every chunk at ``fwd`` / ``bwd``.
    :func:`infra_lab._kernels.training.interleaved_p2p_count` (mode 3) times the hop must equal
    it with a hop short against the passes."""
    nst = pp * vp
    low = torchtitan_lowered(torchtitan_interleaved_actions(pp, vp, m), pp, nst, m)
    progs = [torchtitan_calls(low[r], r, pp, nst, fwd, bwd) for r in range(pp)]
    return (_walk_posted(progs, 0.0, 0.0, lambda mg: hop)
            - _walk_posted(progs, 0.0, 0.0, lambda mg: 0.0))


@functools.cache
def torchtitan_interleaved_transfers(pp: int, vp: int, m: int) -> float:
    """Transfers the step waits for under torch.distributed.pipelining's ``ScheduleInterleaved1F1B``
    [-]: :func:`torchtitan_interleaved_simulated` at a hop short against the passes, per hop."""
    hop = 2.0 ** -16
    return round(torchtitan_interleaved_simulated(pp, vp, m, hop) / hop, 6)


_PRIMUS_ALGORITHMS = {"zb-h1": "zero-bubble", "zbv": "zbv-formatted", "v-half": "v-half", "v-min": "v-min"}


@functools.cache
def _primus_transfers(schedule: str, pp: int, m: int) -> float | None:
    """Transfers a step of the zero-bubble / V ``schedule`` (a parallelism.pp_schedule name)
    waits for under Primus' runtime (:func:`primus_p2p_simulated` at a hop short against the
    passes, per hop); None where its calls deadlock."""
    hop = 2.0 ** -16
    try:
        return round(primus_p2p_simulated(_PRIMUS_ALGORITHMS[schedule], pp, m, hop) / hop, 6)
    except RuntimeError:
        return None


def priced_per_domain(groups, D: int) -> int:
    """Ranks per scale-up domain (of D consecutive ranks) at which a collective of equal groups
    is priced [-]: the fewest ranks of one group in one domain, over all the groups (the
    bottleneck: the step waits for the slowest group), lowered to a divisor of the group size
    (il.collective places n/k domains of k). Counted from the listed ranks;
    :func:`infra_lab._kernels.training.members_per_domain` is the kernel's closed form."""
    n = len(groups[0])
    k = n
    for g in groups:
        per_domain = {}
        for r in g:
            per_domain[r // D] = per_domain.get(r // D, 0) + 1
        k = min(k, min(per_domain.values()))
    while n % k:
        k -= 1
    return k


def _price(op, size, groups, hw, D):
    """il.collective over every group of one kind (equal size): ranks per scale-up domain by
    :func:`priced_per_domain` (a modelled average message need not be a whole number of
    bytes)."""
    from infra_lab.collectives import collective

    n = len(groups[0])
    if n <= 1 or size <= 0:
        return 0.0, False
    k = priced_per_domain(groups, D)
    return collective(op, size, hw, n, per_node=k).time_s, k < n


def _simulate_grad(buckets, window):
    """Gradient buckets (size-time c, ready time) issued in order on one NIC queue;
    returns (end of the last collective − end of backward, raw total)."""
    t = 0.0
    for c, ready in buckets:
        t = max(t, ready) + c
    return max(t, window) - window, sum(c for c, _ in buckets)


def _simulate_gather(buckets):
    """Parameter buckets (time c, needed at) gathered back to back from t = 0: the
    forward's longest wait and the raw total."""
    t, wait = 0.0, 0.0
    for c, need in buckets:
        t += c
        wait = max(wait, t - need)
    return wait, sum(c for c, _ in buckets)


def _muon_ns_rank(spec, accelerator, optimizer, sp, st, tp, e_ranks, g_ne, g_e):
    """Newton–Schulz seconds of one rank of stage ``st`` (0 unless Muon), from the per-matrix
    times of ``il.compute.newton_schulz_times``: the stage's matrices, listed layer by layer,
    split over the tensor (expert) ranks that own them; over a sharded optimizer's g ranks a
    share ``muon_ns_shared_over_dp`` of that is divided in whole matrices (the busiest rank
    does at least its largest matrix), the rest repeated on every rank."""
    import infra_lab as il

    iters = int(sp["muon_ns_iterations"])
    if optimizer != "muon" or iters == 0:
        return 0.0
    t = il.compute.newton_schulz_times(spec, accelerator, iters)
    kinds = spec.layer_kinds()
    dense_like = [k for k in kinds if k != "moe"]
    share = sp["muon_ns_shared_over_dp"]
    out = 0.0
    for expert in (False, True):
        rows = [r for r in t.iter_rows(named=True) if r["expert"] == expert and r["layer_kind"] in kinds]
        per_moe = sum(r["time_s"] for r in rows if r["layer_kind"] == "moe")
        # a dense-like layer of the stage: the average over the model's non-MoE layers
        per_dense = sum(r["time_s"] * dense_like.count(r["layer_kind"]) for r in rows
                        if r["layer_kind"] != "moe") / max(len(dense_like), 1)
        work = st["n_moe"] * per_moe + (0.0 if expert else st["n_dense"] * per_dense)
        # APPROXIMATION (as the kernel): whole-matrix work spread over the TP (EP x ETP) ranks;
        # the gather of TP-sharded matrices is not priced, per-shard Newton-Schulz would cost
        # more than 1/tp (its a^3 term does not shrink); exact for tp = etp = 1
        work /= e_ranks if expert else tp
        if work <= 0.0:
            continue
        biggest = max(r["time_per_matrix_s"] for r in rows)
        g = g_e if expert else g_ne
        out += share * min(work, max(biggest, work / g)) + (1.0 - share) * work
    return out


def _interleaved_deadlocks(pp, mk, vp):
    """True when Megatron-Core's interleaved order deadlocks (a last micro-batch group of 1 …
    pp − 1, which Megatron refuses): the closed form prices it then."""
    try:
        pipeline_greedy_reference.interleaved_makespan(pp, mk, vp, [[1.0] * vp] * pp, [[1.0] * vp] * pp)
    except RuntimeError:
        return True
    return False


def step_reference(sc, stack: str | None = None, params: dict | None = None) -> dict[str, float]:
    """Step components [s], step time [s], memory per GPU [bytes] and fits of one plan."""
    import infra_lab as il
    from infra_lab import memory, training

    from . import training as kt

    sc = il.Scenario.from_dict(sc)
    p, tr, hw = sc.parallelism, sc.training, sc.hardware
    tp, pp, vp, cp, ep, etp, dp = p.tp, p.pp, p.vp, p.cp, p.ep, p.etp, p.dp
    mbs = tr.micro_batch
    rc = {"none": 0, "selective": 1, "full": 2}[tr.recompute]
    spi = 1 if p.sequence_parallel else 0
    stack = stack or sc.stack
    sp = training.stack_params(stack, params)
    # async tensor parallelism (parallelism.tp_async) hides the stack's async-TP share of the
    # TP collectives instead of its ordinary tp_comm_overlap
    tp_ovl = sp["tp_async_comm_overlap"] if p.tp_async else sp["tp_comm_overlap"]
    ctx = training._context(sc, (tp,), (mbs,), (cp,), stack, params)   # the compute tables
    tab, htab = ctx.tab, ctx.htab
    spec = sc.model_spec
    D = ctx.domain
    m = tr.global_batch / (dp * mbs)
    fw, ms = sp["framework_time_scale"], sp["memory_time_scale"]
    if tr.eager:       # eager mode: unfused element-wise ops take the stack's eager factor longer
        ms *= sp["eager_memory_factor"]

    # routed experts at the plan's ep and etp, straight from the public op table (the kernel
    # uses a per-(tokens per rank, ep, etp) table built at sequence_parallel = False)
    kinds = spec.layer_kinds()
    n_dense_like = sum(1 for k in kinds if k != "moe")
    imb = 1.0
    # per slot: expert GEMM fwd/bwd, expert memory-bound fwd/bwd, selective recompute gemm/mem
    expert = {kt.K_DENSE: [0.0] * 6, kt.K_MOE: [0.0] * 6, kt.K_MTP: [0.0] * 6}
    expert_w = {kt.K_DENSE: 0.0, kt.K_MOE: 0.0, kt.K_MTP: 0.0}   # their weight-gradient GEMMs (W)
    # multi-token prediction: spec.mtp_layers modules after the output layer, on the last
    # pipeline stage, each priced per micro-batch as the op table's "mtp" layer kind (projection,
    # norms, one transformer layer of the model's last kind, another output head and loss)
    n_mtp = spec.mtp_layers
    mtp_moe = bool(n_mtp) and spec.mtp_layer_kind() == "moe"
    kw = dict(causal=bool(sp["causal_skip"]), flash=bool(sp["flash_attention"]),
              sequence_parallel=bool(p.sequence_parallel), passes=("fwd", "bwd"),
              main_grad_bytes=sp["wgrad_main_grad_bytes"], attention_kernel=training._attention_kernel(sp, hw.accelerator),
              scaling=tr.fp8_scaling if tr.precision == "fp8" else "tensor",
              grouped_gemm_streams=int(sp["grouped_gemm_streams"]),
              # training.gradient_accumulation_fusion; PyTorch FSDP reduce-scatters the autograd
              # gradients itself (no hook, ignored), Megatron-FSDP copies them into its buffer
              gradient_accumulation_fusion=bool(tr.gradient_accumulation_fusion)
              or (bool(p.fsdp) and p.fsdp_impl != "megatron"),
              main_grad_hook="copy" if p.fsdp else "add")

    # weight casts: a stack that reuses the quantized weights over the step (fp8_caches_weights)
    # runs each micro-batch as the public op table at weight_cast_every = the step's micro-batch
    # count; the per-layer tables hold the casts of every micro-batch (weight_cast_every = 1), so
    # each slot's drop of the cast ops' time between the two is taken off forward / backward
    k_mb = max(1, math.floor(m + 0.5))
    wce = k_mb if (sp["fp8_caches_weights"] > 0 and tr.precision in il.compute.LOW_PRECISIONS) else 1
    cast_drop = {kt.K_DENSE: [0.0, 0.0], kt.K_MOE: [0.0, 0.0], kt.K_MTP: [0.0, 0.0]}

    def casts(ops, kind, ps):
        return sum(r["time_s"] for r in ops.iter_rows(named=True)
                   if r["layer_kind"] == kind and r["pass"] == ps and r["component"] == "cast")

    if wce > 1:
        shape = (spec, tr.seq_len // cp, mbs, tp, hw.accelerator, tr.precision)
        kwd = dict(kw, sequence_parallel=bool(p.sequence_parallel) and tp > 1)
        # the layers at ep = etp = 1 (the routed experts' ep / etp below)
        per_mb, per_step = (il.compute.layer_ops(*shape, ep=1, expert_tp=1, weight_cast_every=w, **kwd)
                            for w in (1, wce))
        for kind in set(per_mb["layer_kind"].to_list()):
            if kind == "head":          # the LM head runs in 16 bit: no casts
                continue
            slot, w = ((kt.K_MOE, 1.0) if kind == "moe" else (kt.K_MTP, 1.0) if kind == "mtp"
                       else (kt.K_DENSE, kinds.count(kind) / max(n_dense_like, 1)))
            for j, ps in enumerate(("fwd", "bwd")):
                cast_drop[slot][j] += w * (casts(per_mb, kind, ps) - casts(per_step, kind, ps))
    if spec.experts:
        ox = il.compute.layer_ops(spec, tr.seq_len // cp, mbs, tp, hw.accelerator, tr.precision, ep=ep, expert_tp=etp,
                                  moe_dispatcher=p.moe_dispatcher, **kw)
        o0 = il.compute.layer_ops(spec, tr.seq_len // cp, mbs, tp, hw.accelerator, tr.precision, ep=1, expert_tp=1, **kw)
        if wce > 1:     # the routed experts' weights at this ep / etp, also cast once per step
            oxk = il.compute.layer_ops(spec, tr.seq_len // cp, mbs, tp, hw.accelerator, tr.precision, ep=ep,
                                       expert_tp=etp, moe_dispatcher=p.moe_dispatcher, weight_cast_every=wce, **kw)
            o0k = il.compute.layer_ops(spec, tr.seq_len // cp, mbs, tp, hw.accelerator, tr.precision, ep=1,
                                       expert_tp=1, weight_cast_every=wce, **kw)
        if ep > 1:
            cv = sp["moe_popularity_cv"] if tr.moe_routing == "learned" else 0.0
            imb = il.compute.moe_load_imbalance(max(1, round(tr.seq_len // cp * mbs / tp)), spec.experts, spec.top_k,
                                                ep, popularity_cv=cv, capacity_factor=tr.moe_capacity_factor)
        f8 = 1.0 + (sp["fp8_gemm_overhead"] if tr.precision == "fp8" else 0.0)

        def total(ops, kind, ps, comps=None, exclude=()):
            rows = [r for r in ops.iter_rows(named=True) if r["layer_kind"] == kind and r["pass"] == ps]
            if comps is not None:
                rows = [r for r in rows if r["component"] in comps and r["op_type"] == "gemm"]
            else:   # memory-bound ops other than permutation
                rows = [r for r in rows if r["op_type"] == "memory" and r["component"] not in exclude]
            return sum(r["time_s"] for r in rows)

        for kind, slot, w in (("moe", kt.K_MOE, 1.0), ("mtp", kt.K_MTP, 1.0)):
            if kind not in kinds and not (kind == "mtp" and mtp_moe):
                continue
            if wce > 1:     # beyond the (ep, etp) = (1, 1) layer's, which cast_drop holds already
                for j, ps in enumerate(("fwd", "bwd")):
                    cast_drop[slot][j] += w * ((casts(ox, kind, ps) - casts(oxk, kind, ps))
                                               - (casts(o0, kind, ps) - casts(o0k, kind, ps)))
            expert_w[slot] = w * imb * f8 * sum(
                r["time_s"] for r in ox.iter_rows(named=True)
                if r["layer_kind"] == kind and r["pass"] == "bwd" and r["component"] == "expert_gemm"
                and r["op_type"] == "gemm" and r["op"].endswith("_wgrad"))
            for j, ps in enumerate(("fwd", "bwd")):
                expert[slot][j] += w * imb * f8 * total(ox, kind, ps, comps=("expert_gemm",))
                perm = sum(r["time_s"] for r in ox.iter_rows(named=True)
                           if r["layer_kind"] == kind and r["pass"] == ps and r["component"] == "permute")
                expert[slot][2 + j] += w * (imb * perm + total(ox, kind, ps, exclude=("permute",))
                                            - total(o0, kind, ps, exclude=("permute",)))
            mods = tr.recompute_modules
            if mods is not None:              # Megatron-Core's recompute_modules
                if "moe" in mods:          # the whole MoE layer again
                    expert[slot][4] = expert[slot][0]
                    expert[slot][5] = expert[slot][2]
                elif "moe_act" in mods:    # the experts' activation at this ep/etp

                    def act(ops, kind=kind):
                        return sum(r["time_s"] for r in ops.iter_rows(named=True)
                                   if r["layer_kind"] == kind and r["pass"] == "fwd" and r["op"] == "experts_act")

                    expert[slot][5] = act(ox) - act(o0)
            elif sp["selective_recompute"]:   # per-op SAC: the routed experts run as grouped GEMMs,
                # which torchtitan's save list lacks (nothing of them is stored), so their whole
                # forward runs again in backward, as does every element-wise op
                expert[slot][4] = expert[slot][0]
                expert[slot][5] = expert[slot][2]

    # host-bound MoE layers (training.moe_host_sync): the MoE layers' GPU time grows by the
    # stack's slowdown fraction, and the GPU waits a fixed host time, a third of it in forward,
    # two thirds in backward
    host = tr.moe_host_sync and bool(spec.experts)
    wait = sp["moe_host_sync_s"] if host else 0.0
    slow = sp["moe_host_sync_slowdown"] if host else 0.0

    def layer_times(kind, rc):
        t = tab[kind, :, 0, 0, 0, spi]
        x = expert[kind]
        f = fw * (t[kt.T_FWD] + x[0]) + ms * (t[kt.T_FWD_MEM] + x[2] - cast_drop[kind][0])
        b = fw * (t[kt.T_BWD] + x[1]) + ms * (t[kt.T_BWD_MEM] + x[3] - cast_drop[kind][1])
        moe_like = kind == kt.K_MOE or (kind == kt.K_MTP and mtp_moe)
        g = 1.0 + slow if moe_like else 1.0
        if moe_like:
            f, b = g * f + wait / 3.0, g * b + 2.0 * wait / 3.0
        if rc == 2:
            r = f
        elif rc == 1:
            r = g * (fw * (t[kt.T_SEL] + x[4]) + ms * (t[kt.T_SEL_MEM] + x[5]))
        else:
            r = 0.0
        return f, b, r

    h = htab[:, 0, 0, 0, spi]
    head_f = fw * h[kt.H_FWD] + ms * h[kt.H_FWD_MEM]
    head_b = fw * h[kt.H_BWD] + ms * h[kt.H_BWD_MEM]
    # multimodal prologue (issue 20): encoders + projectors of one micro-batch on the stage that
    # holds the embedding, from the public multimodal hook (zero for a text model)
    hook = None
    if sc.multimodal is not None:
        from infra_lab.multimodal import training_hook

        hook = training_hook(sc)
    pro_f = pro_b = pro_r = 0.0
    if hook is not None:
        pro = hook.prologue(hw.accelerator, tp, mbs, cp, tp_ovl)
        pro_f = fw * pro["fwd"] + ms * pro["fwd_mem"]
        pro_b = fw * pro["bwd"] + ms * pro["bwd_mem"]
        pro_r = fw * (pro["rc_full"] if rc == 2 else pro["rc_sel"] if rc == 1 else 0.0)

    # --- per-micro-batch collectives ----------------------------------------------------
    tok = mbs * tr.seq_len / cp
    ab = 2.0
    act = tok * spec.hidden * ab
    g_tp = _groups("tp", tp, cp, dp, pp, ep, etp)
    if p.sequence_parallel:
        t_tp_ag = _price("all_gather", act, g_tp, hw, D)[0]
        t_tp = _price("reduce_scatter", act, g_tp, hw, D)[0] + t_tp_ag
    else:
        t_tp = _price("all_reduce", act, g_tp, hw, D)[0]
        t_tp_ag = 0.0
    routed = tok / tp * (spec.top_k or 1) * spec.hidden * ab
    g_etp = _groups("etp", tp, cp, dp, pp, ep, etp)
    t_etp = _price("all_gather", routed * etp, g_etp, hw, D)[0] + _price("reduce_scatter", routed * etp, g_etp, hw, D)[0]
    g_ep = _groups("ep", tp, cp, dp, pp, ep, etp)
    cpg = _groups("cp", tp, cp, dp, pp, ep, etp)
    t_a2a, _ = _price("all_to_all", routed, g_ep, hw, D)
    if p.moe_dispatcher == "deepep" and ep > 1:
        # DeepEP: a token goes once to each rank that holds one of its experts (the expected
        # count of distinct ranks: expected_distinct_groups); across domains it crosses the
        # network once per destination domain (to the same-rail rank there), then fans out
        # inside the domain; the two stages are pipelined. The group is priced as nd domains
        # of g ranks (g: priced_per_domain, the bottleneck domain's share)
        E, k = spec.experts, spec.top_k
        G, M = spec.router_groups, spec.router_group_topk     # group-limited routing (0, 0: none)
        per_token = tok / tp * spec.hidden * ab
        fan = per_token * expected_distinct_groups(E, k, ep, G, M)
        g = priced_per_domain(g_ep, D)
        if g < ep:
            nd = ep // g
            inter, _ = _price("all_to_all", per_token * expected_distinct_groups(E, k, nd, G, M),
                              [[d * D for d in range(nd)]], hw, D)
            intra, _ = _price("all_to_all", fan, [list(range(g))], hw, D)
            t_a2a = max(inter, intra)
        else:
            t_a2a, _ = _price("all_to_all", fan, g_ep, hw, D)
    cp_cross = cp > 1 and priced_per_domain(cpg, D) < cp
    if spec.attention == "mla":
        hkv = spec.kv_lora_rank + spec.qk_rope_head_dim
    else:           # K/V repeated to the query heads before the attention call, or not
        hkv = (spec.heads if p.cp_repeat_kv else spec.kv_heads) * spec.head_dim
    kv = tok * 2 * hkv * ab / tp
    allgather = p.cp_rotate == "allgather"
    exposed_ag = p.cp_rotate == "allgather-exposed"     # Llama 3's CP (paper §3.3.2)
    hop = [[0, D]] if cp_cross else [[0, tp]]
    # all-gather rotation: the per-step transfer is the fp32 dK, dV; the K, V go in one all-gather
    t_cp = _price("send_recv", kv * (2.0 if allgather else 1.0), hop, hw, D)[0] if cp > 1 else 0.0
    t_ag = _price("all_gather", kv * cp, cpg, hw, D)[0] if (cp > 1 and (allgather or exposed_ag)) else 0.0
    # exposed all-gather: dK, dV of the whole sequence reduce-scattered once, at the K/V precision
    t_rs = _price("reduce_scatter", kv * cp, cpg, hw, D)[0] if (cp > 1 and exposed_ag) else 0.0
    # each stage boundary priced over its own rank pairs (scatter/gather optimisation: 1/tp of
    # the activation), combined into the hop the critical path sees
    ring = pp > 1 and vp > 1 and p.schedule not in memory.V_SCHEDULES
    t_bd = [_price("send_recv", act / tp, bd, hw, D)[0] for bd in pp_boundaries(tp, cp, dp, pp, ep, etp, ring)]
    t_pp = pp_hop_reference(t_bd, pp, ring) if pp > 1 else 0.0

    def hide(cost, ovl, window):
        return cost - ovl * min(cost, window)

    # all-gather rotation: the ring's per-step fp32 merge (forward) and dQ / dK, dV accumulation
    # (backward), one fused kernel per step and tensor group, each distinct tensor read or
    # written once; element counts per rank, memory-bound at the compute model's rate
    mg_f = mg_b = 0.0
    if allgather and cp > 1:
        qw = spec.heads * ((spec.qk_nope_head_dim + spec.qk_rope_head_dim) if spec.attention == "mla"
                           else spec.head_dim)
        nq = tok * qw / tp
        nkv = tok * hkv / tp
        f32 = 4.0
        byf = byb = 0.0
        kern_b = 0
        for i in range(1, cp):      # forward merge at step i: accumulator, block output -> accumulator
            acc_in = ab if i == 1 else f32
            acc_out = ab if i == cp - 1 else f32
            byf += nq * (acc_in + ab + acc_out)
        for i in range(cp):         # backward step i
            q_in = 0.0 if i == 0 else f32
            q_out = ab if i == cp - 1 else f32
            byb += nq * (q_in + ab + q_out)                 # dQ accumulator
            kv_in = 0.0 if i == 0 else f32
            byb += 2 * nkv * (kv_in + ab + f32)             # received dK, dV + this step's -> sent on
            kern_b += 2
        byb += 2 * nkv * (f32 + ab)                         # last received dK, dV cast to 16 bit
        kern_b += 1
        per_b = il.compute.op_time(0.0, 1.0, hw.accelerator, launch=False)
        k_s = il.compute.op_time(0.0, 0.0, hw.accelerator)
        mg_f = ms * (byf * per_b + (cp - 1) * k_s)
        mg_b = ms * (byb * per_b + kern_b * k_s)

    def kind_costs(rc):
        """One layer of each slot under recompute mode ``rc``: (f, b, r, tp, cp, ep) [s]."""
        n_tp = 4 + (2 if rc == 2 else 0)
        # Megatron-Core's "moe" recompute module re-runs the dispatch and combine in backward
        moe_again = rc == 1 and tr.recompute_modules is not None and "moe" in tr.recompute_modules
        n_a2a = 4 + (2 if (rc == 2 or moe_again) else 0)
        steps = 3 * (cp - 1) + ((cp - 1) if rc == 2 else 0)
        out = {}
        for kind in (kt.K_DENSE, kt.K_MOE, kt.K_MTP):
            out[kind] = one_layer(kind, rc, n_tp, n_a2a, steps)
        return out

    def one_layer(kind, rc, n_tp, n_a2a, steps):
        f, b, r = layer_times(kind, rc)
        f, b = f + mg_f, b + mg_b
        if rc == 2:
            r += mg_f
        t = tab[kind, :, 0, 0, 0, spi]
        moe_like = kind == kt.K_MOE or (kind == kt.K_MTP and mtp_moe)
        # sequence parallelism: each column-parallel input kept as its shard is all-gathered again
        # in backward (Megatron / Transformer Engine always; a stack that keeps the gathered input
        # only under per-op SAC, which recomputes the forward's all-gathers): QKV and FC1 of a
        # dense layer, QKV and the shared experts' FC1 of an MoE layer
        shared = 1 if (spec.experts and spec.shared_experts) else 0
        n_ag = (1 + shared) if moe_like else 2
        if moe_like:    # attention + shared experts' MLP on the TP group, routed tokens on the etp group
            tpc = (n_tp / 2) * ((1 + shared) * t_tp + t_etp) * (1 - tp_ovl)
        else:
            tpc = n_tp * t_tp * (1 - tp_ovl)
        if p.sequence_parallel and sp["sp_backward_regather"] == 1:
            # issued before the dgrad GEMMs, waited after them: only the excess is exposed; the
            # dgrad GEMMs are half the layer's backward GEMM time (attention core excluded)
            w = tab[kt.K_MOE if moe_like else kt.K_DENSE, :, 0, 0, 0, spi]   # an MTP module: its layer's kind
            dgrad = 0.5 * fw * (w[kt.T_BWD] - (w[kt.T_ATTN] - w[kt.T_ATTN_FWD]))
            tpc += max(0.0, n_ag * t_tp_ag - dgrad)
        elif p.sequence_parallel and rc == 1:
            tpc += n_ag * t_tp_ag * (1 - tp_ovl)
        if cp == 1:
            cpc = 0.0
        elif exposed_ag:
            # nothing hidden: the K/V all-gather of the forward, the recomputed forward and the
            # backward, and the backward's dK/dV reduce-scatter
            cpc = (3 if rc == 2 else 2) * t_ag + t_rs
        elif allgather:
            # one K/V all-gather per pass, hidden at most behind the pass's first ring step
            # (forward, recomputed forward, backward); cp fp32 dK/dV hand-offs in backward,
            # each behind the next step but the last; none hidden when torch.compile traces the
            # ring (every traced collective is waited where it is issued)
            ovl = sp["cp_comm_overlap"] if tr.eager else kt.COMPILED_CP_RING_OVERLAP
            step_f, step_b = fw * t[kt.T_ATTN_FWD] / cp, fw * (t[kt.T_ATTN] - t[kt.T_ATTN_FWD]) / cp
            passes_f = 2 if rc == 2 else 1
            cpc = (passes_f * hide(t_ag, ovl, step_f) + hide(t_ag, ovl, step_b)
                   + (cp - 1) * hide(t_cp, ovl, step_b) + t_cp)
        else:
            cpc = hide(steps * t_cp, sp["cp_comm_overlap"], fw * t[kt.T_ATTN])
        epc = 0.0
        if moe_like and ep > 1:
            # overlapped (ep_overlap) with another micro-batch's compute of the MoE layer
            # at DualPipe's fraction when the run's schedule is DualPipe (parallelism.dualpipe);
            # an MTP module's dispatch hides behind a model MoE layer's compute as well
            ovl = (sp["dualpipe_ep_comm_overlap"] if p.dualpipe else sp["ep_comm_overlap"]) if p.ep_overlap else 0.0
            tm = tab[kt.K_MOE, :, 0, 0, 0, spi]
            window = fw * (tm[kt.T_FWD] + tm[kt.T_BWD] + expert[kt.K_MOE][0] + expert[kt.K_MOE][1]) \
                + ms * (tm[kt.T_FWD_MEM] + tm[kt.T_BWD_MEM])
            epc = hide(n_a2a * imb * t_a2a, ovl, window)
        return f, b, r, tpc, cpc, epc

    # activation offloading (training.offload_modules): bytes one layer of each slot copies to
    # the host per micro-batch, from the public memory function at the plan's etp
    moved = {kt.K_DENSE: 0.0, kt.K_MOE: 0.0}
    if tr.offload_modules and rc < 2:
        per = memory.offloaded_bytes_per_layer(
            spec, tr.seq_len, mbs, tp, sequence_parallel=bool(p.sequence_parallel), recompute=tr.recompute,
            flash_attention=bool(sp["flash_attention"]), dropout=bool(sp["dropout"]), cp=cp,
            selective_mode=memory.SELECTIVE_MODES[int(sp["selective_recompute"])],
            recompute_modules=tr.recompute_modules, etp=etp, offload_modules=tr.offload_modules,
            gemm_input_bytes=memory.saved_gemm_input_bytes(tr.precision, sp),
            sac_saves_attention=not tr.sac_recompute_attention)
        for kname, v in per.items():
            if kname == "moe":
                moved[kt.K_MOE] += v
            else:
                moved[kt.K_DENSE] += v * kinds.count(kname) / max(n_dense_like, 1)
    link = il.catalog.host_link_bytes_per_s(hw.accelerator) if tr.offload_modules else 0.0

    per_kind = kind_costs(rc)
    # Megatron's block method (training.recompute_num_layers = N under full recompute): in each
    # pipeline chunk the first N layers run checkpointed, the others as without recompute;
    # counted here by walking the chunks' layers in model order
    n_rc = tr.recompute_num_layers if rc == 2 else None
    kept_kind = kind_costs(0) if n_rc is not None else None

    def chunk_counts(ch):
        # a chunk's layers by kind, and those full recompute re-runs (the first n_rc of the chunk)
        nk = {kt.K_DENSE: 0, kt.K_MOE: 0}
        nr = {kt.K_DENSE: 0, kt.K_MOE: 0}
        for i, kname in enumerate(ch["kinds"]):
            slot = kt.K_MOE if kname == "moe" else kt.K_DENSE
            nk[slot] += 1
            if n_rc is None or i < n_rc:
                nr[slot] += 1
        return nk, nr

    recomputed = {}       # (rank, slot) -> layers re-run in backward
    # the stage layout of the schedule: a V schedule puts the output layer on rank 0 (memory.stage_layers)
    lay_sched = p.schedule if pp > 1 else None
    for ch in memory.pipeline_chunks(spec, pp, vp, lay_sched):
        for slot, n in chunk_counts(ch)[1].items():
            if n:
                recomputed[ch["rank"], slot] = recomputed.get((ch["rank"], slot), 0) + n

    ranks = memory.stage_layers(spec, pp, vp, schedule=lay_sched)
    cands = {(c["n_dense"], c["n_moe"], c["has_embedding"], c["has_head"]): c
             for c in memory.stage_candidates(spec, pp, vp, schedule=lay_sched,
                                              **(hook.stage_extras() if hook else {}))}
    def wgrad(kind):
        """One layer's weight-gradient pass W [s] (the zero-bubble schedules' deferrable part of
        its backward): the *_wgrad GEMMs and their accumulation, host-bound slowdown included."""
        t = tab[kind, :, 0, 0, 0, spi]
        v = fw * (t[kt.T_BWD_W] + expert_w[kind]) + ms * t[kt.T_BWD_W_MEM]
        return v * (1.0 + slow) if kind == kt.K_MOE else v

    def priced(n_dense, n_moe, has_head, has_embedding, n_rec):
        """(f, b, r, tp, cp, ep) per micro-batch and W [s] of layers, head and embedding held
        together (a rank, or one of its chunks); ``n_rec``: the layers of each kind full
        recompute re-runs (under the block method)."""
        w_ = (n_dense * wgrad(kt.K_DENSE) + n_moe * wgrad(kt.K_MOE)
              + (fw * h[kt.H_BWD_W] + ms * h[kt.H_BWD_W_MEM] if has_head else 0.0))
        tot = [0.0] * 6
        for kind, n in ((kt.K_DENSE, n_dense), (kt.K_MOE, n_moe)):
            if kept_kind is None:
                for j in range(6):
                    tot[j] += n * per_kind[kind][j]
            else:
                n_r = n_rec[kind]
                for j in range(6):
                    tot[j] += n_r * per_kind[kind][j] + (n - n_r) * kept_kind[kind][j]
        if has_head:
            tot[0] += head_f
            tot[1] += head_b
            # the MTP modules: forward, backward, with their layer's TP, CP and EP collectives;
            # full recompute re-runs each whole when every layer is recomputed (Megatron's
            # uniform method), none under the block method (recompute_num_layers): Megatron-Core
            # skips MTP recompute there with a warning and keeps their activations
            # https://github.com/NVIDIA/Megatron-LM/blob/3bec9aa97dda898d16ff5a89bac0ed2b6682b172/megatron/core/transformer/multi_token_prediction.py#L842-L857
            mtp_cost = per_kind[kt.K_MTP] if kept_kind is None else kept_kind[kt.K_MTP]
            for j in range(6):
                tot[j] += n_mtp * mtp_cost[j]
        if has_embedding:
            tot[0] += pro_f
            tot[1] += pro_b
            tot[2] += pro_r
        copy_bytes = n_dense * moved[kt.K_DENSE] + n_moe * moved[kt.K_MOE]
        if copy_bytes > 0.0:
            # the forward's device-to-host copies never stall it; the backward waits for each
            # group's reload, issued one group ahead: the reloads that outlast the backward
            # (with its recomputation) stall it
            seconds = copy_bytes / link
            tot[1] += max(0.0, seconds - (tot[1] + tot[2]))
        return tot, w_

    stage = []
    stage_w = []
    for st in ranks:
        tot, w_ = priced(st["n_dense"], st["n_moe"], st["has_head"], st["has_embedding"],
                         {kind: recomputed.get((st["rank"], kind), 0) for kind in (kt.K_DENSE, kt.K_MOE)})
        stage.append(tot)
        stage_w.append(w_)

    # a V schedule runs each rank's two chunks at their own times: the first chunk (model chunk
    # r, the down-going one) priced alone by walking its layers, the second the rest of the rank
    # (rank 0's first chunk holds the embedding, its second the output layer)
    first = {}
    if pp > 1 and p.schedule in memory.V_SCHEDULES:
        for ch in memory.pipeline_chunks(spec, pp, vp, lay_sched):
            if ch["chunk"] >= pp:
                continue
            nk, nr = chunk_counts(ch)
            first[ch["rank"]] = priced(nk[kt.K_DENSE], nk[kt.K_MOE], ch["chunk"] == 2 * pp - 1, ch["chunk"] == 0, nr)
    # the interleaved schedule executed per chunk: each of a rank's vp chunks priced alone by
    # walking its layers (model chunk c·pp + r on rank r; the embedding's on rank 0, the output
    # layer's on rank pp − 1)
    il_chunks = {}
    if pp > 1 and vp > 1 and p.schedule == "interleaved":
        for ch in memory.pipeline_chunks(spec, pp, vp, None):
            nk, nr = chunk_counts(ch)
            il_chunks.setdefault(ch["rank"], []).append(
                priced(nk[kt.K_DENSE], nk[kt.K_MOE], ch["chunk"] == pp * vp - 1, ch["chunk"] == 0, nr)[0])
    slow = max(range(pp), key=lambda i: (sum(stage[i]), -i))
    f, b, r, tpc, cpc, epc = stage[slow]
    t_mb = sum(stage[slow])
    # one forward and one backward transfer per chunk slot on the critical path: every micro-batch
    # through the rank's vp chunks, plus the pp - 1 slots of the fill and drain (the bubble's)
    # the plain 1F1B schedule: the longest path through its calls, each boundary at its own
    # time, nothing hidden (Megatron-Core refuses overlap_p2p_comm without interleaving)
    if pp > 1 and vp == 1 and p.schedule in ("1f1b", "interleaved"):
        pp_c = one_f_one_b_p2p_reference(t_bd, m)
    elif pp > 1 and vp > 1 and p.schedule == "interleaved" and sp["pp_p2p_interleaved_calls"] == 3:
        # torch.distributed.pipelining's runtime walked (torchtitan_interleaved_simulated); an m
        # it refuses (not a whole multiple of its rounds) by the count's expression
        rounds = max(1, math.floor(m / pp))
        if m == int(m) and int(m) % rounds == 0:
            n_x = torchtitan_interleaved_transfers(pp, vp, int(m))
        else:
            n_x = 2 * (vp * pp - 1) + 2 * (vp - 1) * max(0.0, m / rounds - pp) \
                + (1 if (pp == 2 and vp >= 4 and rounds >= 2) else 0)
        pp_c = n_x * t_pp
    elif pp > 1 and p.schedule == "interleaved" and sp["pp_p2p_interleaved_calls"] > 0:
        # Megatron-Core's interleaved calls walked at equal boundaries (each at the hop the
        # critical path sees), nothing else hidden; m not a multiple of pp (refused by Megatron,
        # its walk deadlocks) by the kernel's count at the nearest multiple above plus the
        # difference in steady pairs
        ovl_on = sp["pp_p2p_interleaved_calls"] == 1
        if m >= pp and m == int(m) and int(m) % pp == 0:
            n_x = interleaved_p2p_transfers(pp, vp, int(m), ovl_on)
        else:
            mm = max(pp, pp * math.ceil(m / pp))
            n_x = interleaved_p2p_transfers(pp, vp, mm, ovl_on) - vp * (mm - m)
        pp_c = n_x * t_pp
    elif pp > 1 and p.schedule in _PRIMUS_ALGORITHMS and sp["pp_p2p_interleaved_calls"] in (1, 2) \
            and _primus_transfers(p.schedule, pp, max(1, int(m + 0.5))) is not None:
        # Primus' runtime: the calls of its table walked (primus_p2p_simulated), per hop
        pp_c = _primus_transfers(p.schedule, pp, max(1, int(m + 0.5))) * t_pp
    else:
        pp_c = 2 * (vp * m + pp - 1) * t_pp * (1 - sp["pp_p2p_overlap"]) if pp > 1 else 0.0
    # the pipeline bubble of the schedule (parallelism.pp_schedule), every rank at its own times
    # (T_r its micro-batch, W_r its weight-gradient pass). 1F1B / interleaved: the m micro-batches
    # pass the slowest rank one after another (priced above as m * t_mb), the fill and the drain
    # cross each other rank at its own pace, T_r / vp a chunk. ZB-H1, ZBV, V-Half, V-Min: the
    # library's order (Primus' ZB-H1 and ZBV tables, the greedy V scheduler; arXiv 2401.10241,
    # 2405.15362), simulated event by event with each rank's chunks (one for ZB-H1, two in a V)
    # at its share of F (forward compute and half the exposed collectives), B and W
    times = [sum(st) for st in stage]
    if pp <= 1:
        bubble = 0.0
    elif not t_mb < math.inf:      # inf (unreachable collective) or nan: so is every schedule's bubble
        bubble = t_mb
    elif p.schedule in ("zb-h1", "zbv", "v-half", "v-min"):
        k = 1 if p.schedule == "zb-h1" else 2
        fr, br, wr = [], [], []

        def passes(tot, w_):
            fwd_ = tot[0] + 0.5 * (tot[3] + tot[4] + tot[5])
            return fwd_, sum(tot) - fwd_ - w_, w_

        for i in range(pp):
            fi, bi, wi = passes(stage[i], stage_w[i])
            if k == 1:
                fr.append(fi)
                br.append(max(0.0, bi))
                wr.append(wi)
            else:       # (first chunk, second chunk): the second is the rank less the first
                f0, b0, w0 = passes(*first[i])
                fr.append((f0, fi - f0))
                br.append((max(0.0, b0), max(0.0, bi - b0)))
                wr.append((w0, wi - w0))
        mk = max(1, int(m + 0.5))
        bubble = pipeline_greedy_reference.bubble(pp, mk, p.schedule, fr, br, wr, slow=slow)
    elif il_chunks and not _interleaved_deadlocks(pp, max(1, int(m + 0.5)), vp):
        # Megatron-Core's interleaved order (pipeline_greedy_reference.interleaved_order),
        # simulated event by event: rank r's forward (compute and half the exposed collectives)
        # and the rest of its micro-batch split over its chunks in proportion to each chunk's own
        mk = max(1, int(m + 0.5))
        fr, br = [], []
        for i in range(pp):
            fwd_i = stage[i][0] + 0.5 * (stage[i][3] + stage[i][4] + stage[i][5])
            bwd_i = max(0.0, times[i] - fwd_i)
            cf = [c[0] + 0.5 * (c[3] + c[4] + c[5]) for c in il_chunks[i]]
            cb = [sum(c) - x for c, x in zip(il_chunks[i], cf, strict=True)]
            fr.append([fwd_i * x / sum(cf) if sum(cf) > 0 else fwd_i / vp for x in cf])
            br.append([max(0.0, bwd_i * x / sum(cb)) if sum(cb) > 0 else bwd_i / vp for x in cb])
        span = pipeline_greedy_reference.interleaved_makespan(pp, mk, vp, fr, br)
        bubble = max(0.0, span - mk * t_mb)
    elif p.schedule == "1f1b" and vp == 1 and pp <= kt.RANK_MASK_BITS:
        # Megatron-Core's plain 1F1B order (pipeline_greedy_reference.one_f_one_b_order, the
        # transcription of forward_backward_pipelining_without_interleaving), simulated event by
        # event: rank r's forward (compute and half the exposed collectives) and the rest of its
        # micro-batch at its own times (beyond kt.RANK_MASK_BITS ranks the kernel keeps the closed
        # form, kt.executes_1f1b, and so does this)
        mk = max(1, int(m + 0.5))
        fr, br = [], []
        for i in range(pp):
            fwd_i = stage[i][0] + 0.5 * (stage[i][3] + stage[i][4] + stage[i][5])
            fr.append([fwd_i])
            br.append([max(0.0, times[i] - fwd_i)])
        span = pipeline_greedy_reference.interleaved_makespan(pp, mk, 1, fr, br)
        bubble = max(0.0, span - mk * t_mb)
    else:
        u = [times[i] / vp for i in range(pp)]
        # the step: the rank whose m micro-batches plus the other ranks' fill and drain take longest
        bubble = max(m * times[i] - u[i] for i in range(pp)) + sum(u) - m * t_mb

    # --- data parallel per rank: event simulation of Megatron's buckets -------------------
    ng = _groups("dp", tp, cp, dp, pp, ep, etp)
    eg = _groups("edp", tp, cp, dp, pp, ep, etp)
    o = sp["dp_comm_overlap"]
    gbytes, wbytes = sp["grad_reduce_bytes"], sp["weight_bytes"]
    shard3 = p.zero >= 3 or p.fsdp
    worst = None
    for st in ranks:
        c = cands[(st["n_dense"], st["n_moe"], st["has_embedding"], st["has_head"])]
        fr, br, rr = stage[st["rank"]][0], stage[st["rank"]][1], stage[st["rank"]][2]
        pne, pe, emb = c["p_nonexpert"] / tp, c["p_expert"] / (ep * etp), c["p_embedding"] / tp

        def buckets(P, E, ranks_, bucket):
            """(body bucket params, count, tail params) of one gradient buffer."""
            if P <= 0 or len(ranks_[0]) <= 1:
                return 0.0, 0, 0.0
            nb = math.ceil(P / bucket)
            tail = min(P, max(P - (nb - 1) * bucket, E))
            body = P - tail
            nbody = math.ceil(body / bucket - 1e-9) if body > 0 else 0
            return (body / nbody if nbody else 0.0), nbody, tail

        groups = []
        for P, E, g in ((pne, emb, ng), (pe, 0.0, eg)):
            bsz, nb, tail = buckets(P, E, g, max(sp["dp_bucket_min_params"], sp["dp_bucket_params_per_rank"] * len(g[0])))
            groups.append((bsz, nb, tail, g))
        nl = st["n_dense"] + st["n_moe"]
        if shard3 and nl == 0:
            # a chunk with only the embedding or the loss: no per-layer gathers to expose
            g_exp = p_exp = raw = 0.0
        elif shard3:
            z3 = sp["zero3_bandwidth_efficiency"]
            kz, ks = int(sp["zero3_gathers_per_layer"]), int(sp["zero3_small_gathers_per_layer"])
            # the tensors of one layer as the stack issues them: kz equal matrix shares per
            # buffer, ks hidden-size vectors (non-expert buffer only), each with the bytes per
            # parameter its all-gather sends: the non-expert matrices at the gathered layers'
            # width (memory.fsdp_gather_bytes: 1 with torchao's float8 FSDP all-gather), the
            # routed experts and the vectors at the 16-bit weight bytes
            agb = memory.fsdp_gather_bytes(wbytes, tr.precision, tr.fsdp_float8_all_gather)
            tensors = [(P / nl / kz, g, b_) for P, g, b_ in ((pne, ng, agb), (pe, eg, wbytes)) for _ in range(kz)] \
                + [(spec.hidden / tp, ng, wbytes)] * ks
            ag = sum(_price("all_gather", x * b_, g, hw, D)[0] for x, g, b_ in tensors) / z3
            # the reduce-scatter at the implementation's reduce dtype (memory.zero3_reduce_bytes)
            rsb = memory.zero3_reduce_bytes(sp, p.fsdp_impl)
            rs = sum(_price("reduce_scatter", x * rsb, g, hw, D)[0] for x, g, _ in tensors) / z3
            # forward: layer i needed at (f + r)·i/nl; backward: layer i's gradients ready at b·(i+1)/nl
            # FSDP + PP: gathered once per step, gradients synced once (PyTorch pipelining);
            # Megatron-FSDP reshards and reduce-scatters every micro-batch (memory._state_sharding)
            keep = pp > 1 and p.fsdp_impl != "megatron"
            times = 1 if keep else m
            w1, raw1 = _simulate_gather([(ag, (fr + rr) * i / nl) for i in range(nl)])
            e1, raw2 = _simulate_grad([((rs if keep else ag + rs), br * (i + 1) / nl) for i in range(nl)], br)
            zo = sp["zero3_comm_overlap"]
            g_exp = times * (e1 + (1 - zo) * (raw2 - e1))
            if not keep and m > 1 and sp["zero3_defer_reduce_scatter"]:
                # Megatron-FSDP: all but the last micro-batch's reduce-scatters may finish
                # during the next micro-batch, where its forward gathers leave the NIC idle
                late = max(0.0, e1 - max(0.0, fr + rr - raw1))
                g_exp = (e1 + (1 - zo) * (raw2 - e1)) + (m - 1) * (late + (1 - zo) * (raw2 - late))
            p_exp = times * (w1 + (1 - zo) * (raw1 - w1))
            raw = times * (raw1 + raw2)
        else:
            nb = groups[0][1] + groups[1][1]
            tails = groups[0][2] + groups[1][2]
            P_all = pne + pe
            tf = (groups[0][2] / pne) if pne > 0 and len(ng[0]) > 1 else 0.0
            op_g = "all_reduce" if p.zero == 0 else "reduce_scatter"
            body_c = [(_price(op_g, bsz * gbytes, g, hw, D)[0], _price("all_gather", bsz * wbytes, g, hw, D)[0])
                      for bsz, n_, _, g in groups for _ in range(n_)]
            tail_g = sum(_price(op_g, t_ * gbytes, g, hw, D)[0] for _, _, t_, g in groups)
            tail_w = sum(_price("all_gather", t_ * wbytes, g, hw, D)[0] for _, _, t_, g in groups)
            del P_all, tails
            # body buckets: the kernel prices them at the average body-bucket time of both buffers
            avg_g = sum(x for x, _ in body_c) / nb if nb else 0.0
            avg_w = sum(y for _, y in body_c) / nb if nb else 0.0
            span = br * (1 - tf)
            gb_list = [(avg_g, span * (i + 1) / nb) for i in range(nb)] + [(tail_g, br)]
            e1, raw = _simulate_grad(gb_list, br)
            g_exp = e1 + (1 - o) * (raw - e1)
            if p.zero == 2:
                g_exp, raw = m * g_exp, m * raw
            p_exp = 0.0
            if p.zero >= 1:
                w_list = [(tail_w, 0.0)] + [(avg_w, fr * (tf + (1 - tf) * i / nb)) for i in range(nb)]
                w1, raw_w = _simulate_gather(w_list)
                p_exp = w1 + (1 - o) * (raw_w - w1)
                raw += raw_w
        ne_l, ex_l = c["p_nonexpert"] / tp, c["p_expert"] / (ep * etp)
        if p.zero >= 1 or p.fsdp:
            ne_l, ex_l = ne_l / len(ng[0]), ex_l / max(len(eg[0]), 1)
        opt = il.compute.optimizer_step_time(ne_l + ex_l, hw.accelerator, tr.optimizer)
        opt += _muon_ns_rank(spec, hw.accelerator, tr.optimizer, sp, st, tp, ep * etp,
                             len(ng[0]) if (p.zero >= 1 or p.fsdp) else 1,
                             max(len(eg[0]), 1) if (p.zero >= 1 or p.fsdp) else 1)
        cand = (g_exp + p_exp + opt, g_exp, p_exp, opt, raw)
        if worst is None or cand[0] > worst[0] + 1e-15:
            worst = cand
    _, dp_g, dp_p, t_opt, dp_raw = worst
    mem = il.memory.training_memory_total(
        sc, weight_bytes=sp["weight_bytes"], grad_bytes=sp["grad_buffer_bytes"],
        flash_attention=bool(sp["flash_attention"]), dropout=bool(sp["dropout"]),
        reserve_fraction=sp["memory_reserve_fraction"], reserve_bytes=sp["memory_reserve_bytes"])
    comps = {"compute_fwd": m * f, "compute_bwd": m * b, "compute_recompute": m * r, "tp_comm": m * tpc,
             "cp_comm": m * cpc, "ep_comm": m * epc, "pp_p2p": pp_c, "pp_bubble": bubble,
             "dp_grad_comm": dp_g, "dp_param_comm": dp_p, "optimizer": t_opt}
    step = sum(comps.values())
    acc = il.catalog.accelerator(hw.accelerator)
    return {**comps, "step_time_s": step, "memory_per_gpu_bytes": mem, "fits": mem <= acc.memory_capacity_bytes,
            "dp_comm_raw_s": dp_raw}


def plan_order_reference(out, col: int, feasible_only: bool, top: int | None):
    """The search frame's plan order written with numpy's stable sort: the plans kept (with
    ``feasible_only``, those whose fits output exceeds 0.5 and whose step time is below inf),
    those that can run (step time below inf) before those that cannot, each by ``out[:, col]`` ascending (−0.0 equal to 0.0, NaN
    last) with ties in plan order, the first ``top`` (None: all).
    :func:`infra_lab._kernels.training.plan_order` must return the same plans."""
    import numpy as np

    from . import training as kt

    plans = np.arange(out.shape[0])
    if feasible_only:
        plans = plans[(out[:, kt.O_FITS] > 0.5) & (out[:, kt.O_STEP] < math.inf)]
    runnable = out[plans, kt.O_STEP] < math.inf
    groups = [plans[runnable], plans[~runnable]]          # plans that can run come first
    order = np.concatenate([g[np.argsort(out[g, col], kind="stable")] for g in groups])
    return order if top is None else order[:top]
