"""Plain-Python reference for :mod:`infra_lab._kernels.pipeline_greedy`: the greedy V-Half /
V-Min schedule of AMD-AGI/Primus ``ScheduleZBVGreedy`` (78633ae,
https://github.com/AMD-AGI/Primus/blob/78633ae78a1e11cef081c3102971d6fb4da6e19f/primus/core/pipeline_parallel/scheduler/algorithms/zbv_greedy.py)
built with per-rank dictionaries of slots, and its step time from a discrete-event simulation
(a heap of pass completions), written separately from the kernel's sweep. Slow; for tests."""

from __future__ import annotations

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


def greedy_order(p, m, schedule):
    """{rank: [(pass, chunk, micro-batch), ...]} in slot order."""
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
    return {r: [at[r][s] for s in sorted(at[r])] for r in range(p)}


def simulate(order, p, f, b, w, c):
    """Event simulation of one step of ``order`` (:func:`greedy_order`): returns (makespan,
    {rank: (first start, last end)}) [s]."""
    cost = {F: f, B: b, W: w}
    finished = {}                      # (rank, op) -> end time
    nxt = {r: 0 for r in range(p)}
    busy_until = {r: 0.0 for r in range(p)}
    span = {}
    events = []                        # (time, rank, op) completions

    def ready_at(r, op):
        kind, chunk, k = op
        if kind == W:
            key, lag = (r, (B, chunk, k)), 0.0
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
        busy_until[r] = start + cost[op[0]]
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


def bubble(p, m, schedule, f, b, w, c=0.0):
    """Idle time per rank of one step: makespan − 2·m·(f + b + w) [s]; inf where a pass never
    ends (a time of inf), nan for a nan time."""
    if p <= 1:
        return 0.0
    makespan, _ = simulate(greedy_order(p, m, schedule), p, f, b, w, c)
    if not math.isfinite(makespan):   # a pass that never ends: so is the idle time (max(0, nan) is 0)
        return makespan
    return max(0.0, makespan - 2 * m * (f + b + w))
