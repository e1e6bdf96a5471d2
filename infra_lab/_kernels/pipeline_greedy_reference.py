"""Plain-Python reference for :mod:`infra_lab._kernels.pipeline_greedy`: the greedy V-Half /
V-Min schedule of AMD-AGI/Primus ``ScheduleZBVGreedy`` (78633ae,
https://github.com/AMD-AGI/Primus/blob/78633ae78a1e11cef081c3102971d6fb4da6e19f/primus/core/pipeline_parallel/scheduler/algorithms/zbv_greedy.py)
built with per-rank dictionaries of slots, and its step time from a discrete-event simulation
(a heap of pass completions), written separately from the kernel's sweep; also Primus'
hand-written ZB-H1 (``ScheduleZeroBubble``, zerobubble.py) and ZBV (``ScheduleZBVFormatted``,
zbv_formatted.py) tables at the same commit, built as lists per rank, and executed by the same
simulation. Slow; for tests."""

from __future__ import annotations

import functools
import heapq
import math

F, B, W = "F", "B", "W"
WARMUP, STEADY, COOLDOWN = "warmup", "steady", "cooldown"
MEM = {F: 1, B: 0, W: -1}


def _pattern(p, schedule):
    """(pass, chunk, first slot) per rank of the stable pattern (period 6 slots)."""
    rows = []
    for r in range(p):
        if schedule == "v-min":
            gap = 2 if p % 3 == 0 else 0
            slots = (r, 2 * p - r - 1, 2 * p + gap + r, 4 * p + gap - r - 1)
        elif schedule == "v-half":
            gap = 3 if p % 2 == 0 else 0
            slots = (2 * r, 3 * p - r - 2, 3 * p + gap + 2 * r - 1, 6 * p + gap - r - 2)
        else:
            raise ValueError(f"schedule must be 'v-half' or 'v-min', not {schedule!r}")
        rows.append(list(zip((F, F, B, B), (0, 1, 1, 0), slots, strict=True)))
    return rows


def _upstream(p, r, kind, chunk):
    """(rank, chunk) whose same-kind pass feeds this one, or None at the V's start."""
    first_leg = chunk == 0 if kind == F else chunk == 1
    if first_leg:
        return (r - 1, chunk) if r > 0 else None
    if r < p - 1:
        return (r + 1, chunk)
    return (r, 1 - chunk)   # the turn at the last rank


def zb_h1_order(p, m):
    """{rank: [(pass, 0, micro-batch), ...]}: Primus ``ScheduleZeroBubble``'s compute passes
    (zerobubble.py at 78633ae,
    https://github.com/AMD-AGI/Primus/blob/78633ae78a1e11cef081c3102971d6fb4da6e19f/primus/core/pipeline_parallel/scheduler/algorithms/zerobubble.py),
    one chunk per rank."""
    table = {}
    for r in range(p):
        ops = []
        if m < p:                      # the table's few-micro-batch branch
            if r < p - 1:
                ops = [(F, 0, i) for i in range(m)] + [x for i in range(m) for x in ((B, 0, i), (W, 0, i))]
            else:
                ops = [x for i in range(m) for x in ((F, 0, i), (B, 0, i))] + [(W, 0, i) for i in range(m)]
            table[r] = ops
            continue
        warm = p - r - 1
        ops += [(F, 0, i) for i in range(warm)]
        for i in range(warm, m):       # steady: F, B, and the W held back r micro-batches
            back = i - warm
            ops += [(F, 0, i), (B, 0, back)]
            if back >= r:
                ops.append((W, 0, back - r))
        for i in range(m - warm, m):   # cool-down
            ops += [(B, 0, i), (W, 0, i - r)]
        ops += [(W, 0, i) for i in range(m - r, m)]
        table[r] = ops
    return table


def _put(ops, cnt, kind, chunk):
    ops.append((kind, chunk, cnt[kind, chunk]))
    cnt[kind, chunk] += 1


def _put_bw(ops, cnt, chunk):
    """A backward and, at once, its W."""
    ops.append((B, chunk, cnt[B, chunk]))
    ops.append((W, chunk, cnt[B, chunk]))
    cnt[B, chunk] += 1


def zbv_order(p, m):
    """{rank: [(pass, chunk, micro-batch), ...]}: Primus ``ScheduleZBVFormatted``'s compute
    passes (zbv_formatted.py at 78633ae,
    https://github.com/AMD-AGI/Primus/blob/78633ae78a1e11cef081c3102971d6fb4da6e19f/primus/core/pipeline_parallel/scheduler/algorithms/zbv_formatted.py),
    built for max(2p − 1, m) micro-batches as Primus does, the passes of micro-batches ≥ m then
    left out."""
    n = max(2 * p - 1, m)
    table = {}
    for r in range(p):
        ops = []
        cnt = {(F, 0): 0, (F, 1): 0, (B, 0): 0, (B, 1): 0}
        put = functools.partial(_put, ops, cnt)
        put_bw = functools.partial(_put_bw, ops, cnt)
        for _ in range(2 * (p - r) - 1):
            put(F, 0)
        for _ in range(r):
            put(F, 1)
            put(F, 0)
        for _ in range(p - r):
            put(F, 1)
            put_bw(1)
        while cnt[F, 1] < cnt[F, 0] or cnt[F, 0] < n:
            if cnt[F, 0] < n:
                put(F, 0)
            put_bw(0)
            put(F, 1)
            put_bw(1)
        held = {0: cnt[B, 0], 1: cnt[B, 1]}
        for _ in range(r):
            put(B, 0)
            put(B, 1)
        for _ in range(p - r):
            put(B, 0)
            ops.append((W, 0, held[0]))
            held[0] += 1
        ops += [(W, 1, k) for k in range(held[1], n)]
        ops += [(W, 0, k) for k in range(held[0], n)]
        table[r] = [op for op in ops if op[2] < m]
    return table


def greedy_order(p, m, schedule):
    """{rank: [(pass, chunk, micro-batch), ...]} in slot order."""
    at = greedy_slots(p, m, schedule)
    return {r: [at[r][s] for s in sorted(at[r])] for r in range(p)}


def greedy_slots(p, m, schedule):
    """{rank: {slot: (pass, chunk, micro-batch)}}: :func:`greedy_order` with each pass's slot
    (Primus' time step)."""
    slot_of = [dict() for _ in range(p)]    # (kind, chunk, mb) -> slot
    at = [dict() for _ in range(p)]         # slot -> (kind, chunk, mb)
    for r, row in enumerate(_pattern(p, schedule)):
        for k in range(m):
            for kind, chunk, s in row:
                at[r][s + 6 * k] = (kind, chunk, k)
                slot_of[r][(kind, chunk, k)] = s + 6 * k
    phase, mem = {}, []
    for r in range(p):
        pending, stage_phase, held = [], WARMUP, {}
        last = max(at[r])
        s = 0
        level = 0
        while s <= last + 2 or pending:
            op = at[r].get(s)
            if op is not None:
                phase[(r, op)] = stage_phase
                level += MEM[op[0]]
                if op[0] == B:
                    pending.append(op)
                if op[0] == B and op[1] == 0 and op[2] == 0:
                    stage_phase = STEADY
                elif op[0] == F and op[1] == 1 and op[2] == m - 1:
                    stage_phase = COOLDOWN
            elif pending:
                _, chunk, k = pending.pop(0)
                wop = (W, chunk, k)
                at[r][s] = wop
                slot_of[r][wop] = s
                phase[(r, wop)] = stage_phase
                level += MEM[W]
            held[s] = level
            s += 1
        mem.append(held)

    def earliest(r, op):
        kind, chunk, k = op
        e = slot_of[r][(kind, chunk, k - 1)] if k > 0 else 0
        if kind == W:
            return max(e, slot_of[r][(B, chunk, k)])
        up = _upstream(p, r, kind, chunk)
        if up is not None:
            e = max(e, slot_of[up[0]][(kind, up[1], k)])
        elif kind == B:
            e = max(e, slot_of[r][(F, chunk, k)])
        return e + 1

    def squeeze(cooldown):
        top = max(max(a) for a in at)
        peak = max(max(h.values()) for h in mem)
        later_w = [[] for _ in range(p)]
        for s in range(top + 1):
            for r in range(p):
                op = at[r].get(s)
                if op is None or (cooldown and phase[(r, op)] != COOLDOWN):
                    continue
                if cooldown and op[0] == W:
                    later_w[r].append(op)
                    del at[r][s]
                    continue
                target = s
                for i in range(earliest(r, op), s + 1):
                    if i in at[r]:
                        continue
                    if cooldown:
                        target = i
                        break
                    if all(mem[r][j] + MEM[op[0]] <= peak for j in range(i, s)):
                        for j in range(i, s):
                            mem[r][j] += MEM[op[0]]
                        target = i
                        break
                if target != s:
                    del at[r][s]
                at[r][target] = op
                slot_of[r][op] = target
        for r in range(p):
            for op in later_w[r]:
                i = earliest(r, op)
                while i in at[r]:
                    i += 1
                at[r][i] = op
                slot_of[r][op] = i

    squeeze(False)
    squeeze(True)
    return at


def simulate(order, p, f, b, w, c, chunks=2):
    """Event simulation of one step of ``order`` (:func:`greedy_order`, :func:`zbv_order`;
    :func:`zb_h1_order` with ``chunks`` = 1: the last rank turns each forward into its
    backward): returns (makespan, {rank: (first start, last end)}) [s]. ``f``, ``b``, ``w``: one
    time for every rank, or a sequence of p, rank r's own: a time for each of its chunks, or a
    pair (its first chunk's, its second's)."""
    per = [[(x[r] if isinstance(x, (list, tuple)) else x) for x in (f, b, w)] for r in range(p)]
    cost = {r: {kd: (v if isinstance(v, tuple) else (v, v)) for kd, v in zip((F, B, W), per[r], strict=True)}
            for r in range(p)}
    finished = {}                      # (rank, op) -> end time
    nxt = {r: 0 for r in range(p)}
    busy_until = {r: 0.0 for r in range(p)}
    span = {}
    events = []                        # (time, rank, op) completions

    def ready_at(r, op):
        kind, chunk, k = op
        if kind == W:
            key, lag = (r, (B, chunk, k)), 0.0
        elif chunks == 1:
            if kind == F:
                if r == 0:
                    return 0.0
                key, lag = (r - 1, op), c
            elif r == p - 1:
                key, lag = (r, (F, 0, k)), 0.0
            else:
                key, lag = (r + 1, op), c
        else:
            up = _upstream(p, r, kind, chunk)
            if up is None:
                if kind == F:
                    return 0.0
                key, lag = (r, (F, 1, k)), 0.0       # the loss at rank 0 turns F1 into B1
            else:
                key, lag = (up[0], (kind, up[1], k)), (c if up[0] != r else 0.0)
        if key not in finished:
            return None
        return finished[key] + lag

    def try_start(r, now):
        if nxt[r] >= len(order[r]) or busy_until[r] > now:
            return
        op = order[r][nxt[r]]
        t = ready_at(r, op)
        if t is None:
            return
        start = max(t, busy_until[r])
        nxt[r] += 1
        busy_until[r] = start + cost[r][op[0]][op[1]]
        span.setdefault(r, [start, None])
        heapq.heappush(events, (busy_until[r], r, op))

    for r in range(p):
        try_start(r, 0.0)
    while events:
        t, r, op = heapq.heappop(events)
        finished[(r, op)] = t
        span[r][1] = t
        for q in range(p):
            try_start(q, t)
    if any(nxt[r] < len(order[r]) for r in range(p)):
        raise RuntimeError("the schedule deadlocks")
    return max(e for _, e in span.values()), {r: tuple(v) for r, v in span.items()}


def order(p, m, schedule):
    """{rank: [(pass, chunk, micro-batch), ...]} of a schedule: "zb-h1", "zbv", "v-half",
    "v-min"."""
    if schedule == "zb-h1":
        return zb_h1_order(p, m)
    if schedule == "zbv":
        return zbv_order(p, m)
    return greedy_order(p, m, schedule)


def bubble(p, m, schedule, f, b, w, c=0.0, slow=None):
    """Idle time per rank of one step: makespan − k·m·(f + b + w) [s] (k chunks per rank: 1 for
    "zb-h1", 2 for the V schedules, f, b, w one chunk's times); inf where a pass never ends (a
    time of inf), nan for a nan time. ``f``, ``b``, ``w`` per rank (sequences of p): the
    makespan less k·m·(f + b + w) of rank ``slow`` (the slowest, whose m micro-batches the step
    prices apart); a rank's times may be pairs, one per chunk (:func:`simulate`): then m times
    the sum of its chunks'."""
    if p <= 1:
        return 0.0
    k = 1 if schedule == "zb-h1" else 2
    makespan, _ = simulate(order(p, m, schedule), p, f, b, w, c, chunks=k)
    if not math.isfinite(makespan):   # a pass that never ends: so is the idle time (max(0, nan) is 0)
        return makespan
    if isinstance(f, (list, tuple)):
        f, b, w = f[slow], b[slow], w[slow]
    if isinstance(f, tuple):
        return max(0.0, makespan - m * (sum(f) + sum(b) + sum(w)))
    return max(0.0, makespan - k * m * (f + b + w))


def megatron_schedule_table(num_microbatches, num_model_chunks, group):
    """Megatron-Core's ``get_schedule_table`` (megatron/core/pipeline_parallel/schedules.py at
    d98e8a6, https://github.com/NVIDIA/Megatron-LM/blob/d98e8a64ddf34856e74b24714e3bedb2f5a39553/megatron/core/pipeline_parallel/schedules.py),
    transcribed: [(micro-batch, model chunk), ...] per virtual micro-batch."""
    table = []
    for lo in range(0, num_microbatches, group):
        if lo + group >= num_microbatches:
            table.extend([(mb, ch) for ch in range(num_model_chunks) for mb in range(lo, num_microbatches)])
        else:
            table.extend([(mb, ch) for ch in range(num_model_chunks) for mb in range(lo, lo + group)])
    return table


def one_f_one_b_order(p, m):
    """{rank: [(pass, 0, micro-batch), ...]}: the compute passes Megatron-Core's
    ``forward_backward_pipelining_without_interleaving`` (d98e8a6, schedules.py lines
    2277–2474) runs on each rank, transcribed: ``num_warmup_microbatches`` = min(p − rank − 1,
    m) forwards, then for i in range(m − warm-up) forward i + warm-up and backward i, then the
    warm-up's backwards (the cool-down)."""
    out = {}
    for r in range(p):
        num_warmup = min(p - r - 1, m)
        remaining = m - num_warmup
        ops = [(F, 0, i) for i in range(num_warmup)]
        for i in range(remaining):
            ops.append((F, 0, i + num_warmup))
            ops.append((B, 0, i))
        ops += [(B, 0, remaining + i) for i in range(num_warmup)]
        out[r] = ops
    return out


def interleaved_order(p, m, vp, group=None):
    """{rank: [(pass, chunk, micro-batch), ...]}: the compute passes
    ``forward_backward_pipelining_with_interleaving`` (d98e8a6) runs on each rank, from
    ``get_pp_rank_microbatches``' warm-up count ((p − rank − 1)·2 + (vp − 1)·group, capped at
    vp·m), the schedule table and ``get_model_chunk_id`` (backward: vp − 1 − the table's chunk);
    ``group``: ``microbatch_group_size_per_vp_stage`` (None: p, Megatron's default). ``vp`` = 1:
    Megatron's plain 1F1B order (:func:`one_f_one_b_order`; Megatron runs
    ``forward_backward_pipelining_without_interleaving`` without a virtual pipeline)."""
    if vp == 1:
        return one_f_one_b_order(p, m)
    group = p if group is None else group
    table = megatron_schedule_table(m, vp, group)
    total = m * vp
    out = {}
    for r in range(p):
        warm = min((p - r - 1) * 2 + (vp - 1) * group, total)

        def fwd(k):
            mb, ch = table[k]
            return (F, ch, mb)

        def bwd(k):
            mb, ch = table[k]
            return (B, vp - ch - 1, mb)

        ops = [fwd(k) for k in range(warm)]
        for k in range(total - warm):
            ops += [fwd(k + warm), bwd(k)]
        ops += [bwd(k) for k in range(total - warm, total)]
        out[r] = ops
    return out


def interleaved_makespan(p, m, vp, f, b, group=None):
    """Makespan [s] of one step of :func:`interleaved_order` by an event simulation (a heap of
    pass completions): rank r's chunk c takes ``f[r][c]`` forward and ``b[r][c]`` backward;
    chunk c of rank p − 1 feeds chunk c + 1 of rank 0 (forward) and the other way back; no
    send/receive time. Raises RuntimeError when the order deadlocks."""
    order_ = interleaved_order(p, m, vp, group)
    finished = {}
    nxt = {r: 0 for r in range(p)}
    busy = {r: 0.0 for r in range(p)}
    events = []

    def needs(r, op):
        kind, ch, k = op
        if kind == F:
            if r > 0:
                return (r - 1, (F, ch, k))
            return (p - 1, (F, ch - 1, k)) if ch > 0 else None
        if r < p - 1:
            return (r + 1, (B, ch, k))
        return (0, (B, ch + 1, k)) if ch < vp - 1 else (r, (F, ch, k))

    def try_start(r, now):
        if nxt[r] >= len(order_[r]) or busy[r] > now:
            return
        op = order_[r][nxt[r]]
        dep = needs(r, op)
        if dep is not None and dep not in finished:
            return
        start = max(busy[r], finished[dep] if dep is not None else 0.0)
        nxt[r] += 1
        busy[r] = start + (f if op[0] == F else b)[r][op[1]]
        heapq.heappush(events, (busy[r], r, op))

    for r in range(p):
        try_start(r, 0.0)
    while events:
        t, r, op = heapq.heappop(events)
        finished[(r, op)] = t
        for q in range(p):
            try_start(q, t)
    if any(nxt[r] < len(order_[r]) for r in range(p)):
        raise RuntimeError("the schedule deadlocks")
    return max(busy.values())


def chunk_inflight_peaks(p, m, schedule):
    """{rank: (T, fewest chunk-1, most chunk-1)}: plain-Python reference of
    :func:`infra_lab._kernels.pipeline_greedy.chunk_inflight_peaks`, walked over each rank's
    pass list from :func:`order` (not over the kernel's compact program): every F adds one
    micro-batch's activations to its chunk, its W frees them, B leaves them (``MEM``, Primus'
    ``memory_delta``); T is the most chunk-forwards the rank ever holds, and the two numbers
    after it the chunk-1 forwards at the points holding T with the fewest and the most of them.
    ZB-H1 has one chunk per rank: (T, 0, 0)."""
    out = {}
    for r, ops in order(p, m, schedule).items():
        held = {0: 0, 1: 0}
        points = []
        for kind, chunk, _ in ops:
            held[chunk] += MEM[kind]
            points.append((held[0] + held[1], held[1]))
        top = max((t for t, _ in points), default=0)
        on_top = [n1 for t, n1 in points if t == top] or [0]
        out[r] = (top, min(on_top), max(on_top))
    return out
