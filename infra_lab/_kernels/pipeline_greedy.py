"""V-Half / V-Min pipeline schedules built by the greedy scheduler the libraries run, the ZB-H1
and ZBV orders of Primus' hand-written tables (:func:`zb_h1_order`, :func:`zbv_order`; ZBV's is
also PyTorch's ``ScheduleZBVZeroBubble``, torch/distributed/pipelining/schedules.py at 1fd7abc,
https://github.com/pytorch/pytorch/blob/1fd7abc2f521e4429a29c3088e39ebaca20f4698/torch/distributed/pipelining/schedules.py,
which torchtitan runs), and the makespan of any of these orders under given pass times, each
rank at its own (numba; one replay, :func:`pipeline_program` and :func:`v_greedy_replay_ranks`).

What ran: AMD-AGI/Primus ``ScheduleZBVGreedy`` (``pp_algorithm`` ``v-half`` / ``v-min``,
primus/core/pipeline_parallel/scheduler/algorithms/zbv_greedy.py at 78633ae,
https://github.com/AMD-AGI/Primus/blob/78633ae78a1e11cef081c3102971d6fb4da6e19f/primus/core/pipeline_parallel/scheduler/algorithms/zbv_greedy.py),
a port of sail-sg/zero-bubble-pipeline-parallelism's ``zbv_greedy.py`` (39f2c186) for Qi et al.,
"Pipeline Parallelism with Controllable Memory", NeurIPS 2024, https://arxiv.org/abs/2405.15362.
Neither has a closed form for the bubble (the Primus pipeline blog says so; the sail-sg README
states V-Min's 2/3 of 1F1B's bubble "+ O(n) overhead" only at equal F, B, W).

The algorithm (unit time slots, so the ORDER it produces does not depend on the pass times):

1. every rank r of p holds two chunks in a V (chunk 0 on ranks 0 → p−1, chunk 1 back from p−1 to
   0); each micro-batch k places four passes at slot s + 6k of a stable pattern:
   V-Min: F0 at r, F1 at 2p − r − 1, B1 at 2p + i + r, B0 at 4p + i − r − 1 (i = 2 when
   3 | p, else 0); V-Half: F0 at 2r, F1 at 3p − r − 2, B1 at 3p + i + 2r − 1, B0 at
   6p + i − r − 2 (i = 3 when 2 | p, else 0);
2. each rank's W passes fill its free slots in the order their B passes ran (FIFO), up to two
   slots past its last pass, the memory counted in chunk-forwards (F +1, B 0, W −1) per slot;
   each pass is tagged warm-up (before B0 of micro-batch 0), steady, or cool-down (after F1 of
   the last micro-batch);
3. squeeze: in slot order, every pass moves to the first free slot at or after its earliest
   (one slot after its dependencies: the same pass of the previous micro-batch, the previous
   rank's pass, or the rank's own F for a backward's turn; a W only after its B and the previous
   W) whose memory stays within the peak of step 2 over the slots it moves across;
4. cool-down squeeze: the cool-down F and B passes move to the first free slot after their
   earliest, no memory check; the cool-down W passes are taken out and put back, in order, at
   the first free slot after their earliest.

The schedule is each rank's passes in slot order. Its makespan under pass times is an eager
execution: a pass starts when the rank's previous pass has ended and its input has arrived
(the producing pass's end, plus the send/receive time ``c`` across ranks).

APPROXIMATIONS: Primus posts each receive in the rank's table at the producer's slot + 1; the
execution here waits only at the consuming pass (sail-sg's ``eager_execution_time``, the
"squeeze" of the paper). Where step 4 would find no free slot before the last slot for a W
(Primus then leaves it unscheduled), it takes the next free slot after.

Cost: building the order is O(pp·(m + pp)) slots per rank (about 30 µs at pp 8, m 16; 0.3 ms at
pp 8, m 256, on two shared CPU cores). It does not depend on the pass times, and
neither does the sequence in which the eager execution completes the passes
(:func:`v_greedy_program`), so the step kernel builds both once per (pp, micro-batches) of a call
(``infra_lab._kernels.training.v_greedy_table``) and per plan head only replays that sequence
(:func:`v_greedy_replay`, one pass over the 6·m·pp passes) for each recompute mode. Measured with
``il.search(..., top=None, feasible_only=False)`` on the ZAYA1 scenario (1,024 MI300X,
megatron-core-rocm): 202,725 V-Min plans in 1.7 s (122k plans/s; 36k when the order was built per
head) and ``pp_schedules="all"``, 2.1M plans, in 5.6 s (376k plans/s; 127k before), on two
shared CPU cores; the closed-form schedules of the default search run at about a million plans per
second there, and the default search does not include the V schedules. ZB-H1 and ZBV are replayed
the same way (since 2026-12-05; before, closed forms): the ZAYA1 ``pp_schedules="all"`` search went
from 223k to 180k plans/s, and benchmarks/bench_search.py's torchtitan ``pp_schedules="all"`` (ZBV
added to the default space) from 1.49M to 0.20M plans/s on the 175B space and 1.07M to 0.31M on
DeepSeek-V3's (base and change timed on the same two shared cores, load 4–6); the default
search's kernel is unchanged (5.5M / 5.6M plans/s on the 175B space). The step kernel now
replays each program in a compact form (:func:`compact_program`: int32 rows naming the rank's
previous pass and the input's pass by row, end times written in row order, no per-replay
allocation) and its three recompute modes in one pass (:func:`replay_compact3`), with the same
comparisons and sums (bit for bit, tests/test_executed_replay_fast.py): the torchtitan ZBV
block of the kernel went from 70k to 156–171k plans per CPU-second on the 175B space and from
185–203k to 542–583k on DeepSeek-V3's (base and change alternated on the same two shared cores,
load 7–8; the 1F1B block unchanged, 5.5M and 7M), the ZAYA1 ``pp_schedules="all"`` search
from 148k to 546k plans/s (wall, back-to-back runs at load 7; 87k to 259k with a test suite on
the same cores). What remains per executed plan head is one pass over the program's 3–6·m·pp
rows and, per call, building the programs of its distinct (pp, micro-batches) (about a third of
the 175B block's time).

Megatron-Core's interleaved 1F1B order (vp chunks per rank, :func:`interleaved_order`) is
built from Megatron-LM's ``schedules.py`` (:data:`MEGATRON_INTERLEAVED_AT`) and turned directly
into the compact form (:func:`interleaved_program`, cost index 3·(vp·rank + chunk) + kind);
il.estimate replays it with each rank's and each chunk's times
(``infra_lab._kernels.training.interleaved_rank_bubble``). With vp = 1 the same two functions
give Megatron-Core's plain (non-interleaved) 1F1B order, which il.estimate replays with each
rank's own times.

The plain-Python reference, written separately, is
:mod:`infra_lab._kernels.pipeline_greedy_reference`; tests/test_pipeline_greedy.py checks that
both agree."""

from __future__ import annotations

import numpy as np
from numba import njit

KIND_F, KIND_B, KIND_W = 0, 1, 2
PHASE_WARMUP, PHASE_STEADY, PHASE_COOLDOWN = 0, 1, 2


@njit(cache=True)
def _code(kind, chunk, mb, m):
    return (kind * 2 + chunk) * m + mb


@njit(cache=True)
def _earliest(p, m, r, node, when):
    """Earliest slot of pass ``node`` on rank ``r`` (zbv_greedy's ``calculate_earlist_time``):
    one past its dependencies for F and B; for W the later of its B's and the previous W's slot
    (the slot itself is taken, so the first free one is after it)."""
    kind = node // (2 * m)
    chunk = (node // m) % 2
    mb = node % m
    e = 0
    if mb > 0:
        e = when[r, node - 1]
    if kind == KIND_W:
        bt = when[r, _code(np.int64(KIND_B), chunk, mb, m)]
        return e if e > bt else bt
    left = (chunk == 0) if kind == KIND_F else (chunk == 1)
    prev = -1
    rc = chunk
    if left:
        prev = r - 1
    elif r + 1 < p:
        prev = r + 1
    else:
        prev = r
        rc = 1 - chunk
    if prev >= 0:
        d = when[prev, _code(kind, rc, mb, m)]
        if d > e:
            e = d
    elif kind == KIND_B:
        d = when[r, _code(np.int64(KIND_F), chunk, mb, m)]
        if d > e:
            e = d
    return e + 1


@njit(cache=True)
def _squeeze(p, m, occ, when, phase, fp, cool):
    T = occ.shape[1]
    top = 0
    for r in range(p):
        for s in range(T):
            if occ[r, s] >= 0 and s > top:
                top = s
    peak = 0
    for r in range(p):
        for s in range(T):
            if fp[r, s] > peak:
                peak = fp[r, s]
    pend = np.full((p, 2 * m), -1, np.int64)
    npend = np.zeros(p, np.int64)
    for s in range(top + 1):
        for r in range(p):
            node = occ[r, s]
            if node < 0:
                continue
            if cool and phase[r, node] != PHASE_COOLDOWN:
                continue
            kind = node // (2 * m)
            if cool and kind == KIND_W:
                pend[r, npend[r]] = node
                npend[r] += 1
                occ[r, s] = -1
                continue
            e = _earliest(p, m, r, node, when)
            delta = 1 if kind == KIND_F else (-1 if kind == KIND_W else 0)
            new = s
            for i in range(e, s + 1):
                if occ[r, i] >= 0:
                    continue
                if cool:
                    new = i
                    break
                ok = True
                for j in range(i, s):
                    if fp[r, j] + delta > peak:
                        ok = False
                        break
                if ok:
                    for j in range(i, s):
                        fp[r, j] += delta
                    new = i
                    break
            occ[r, new] = node
            when[r, node] = new
            if new != s:
                occ[r, s] = -1
    for r in range(p):
        for k in range(npend[r]):
            node = pend[r, k]
            e = _earliest(p, m, r, node, when)
            i = e
            while occ[r, i] >= 0:   # past the last slot only where Primus would drop it
                i += 1
            occ[r, i] = node
            when[r, node] = i


@njit(cache=True)
def v_greedy_order(p, m, vmin):
    """Each rank's passes in the greedy V schedule's order: int64[p, 6m] of pass codes
    (kind·2 + chunk)·m + micro-batch, kind 0 F, 1 B, 2 W (chunk 0 the V's first leg).
    ``vmin`` True: V-Min, False: V-Half."""
    return v_greedy_slots(p, m, vmin)[0]


@njit(cache=True)
def v_greedy_slots(p, m, vmin):
    """:func:`v_greedy_order` and the slot of each of its passes (int64[p, 6m] each): the time
    step Primus' ``ScheduleZBVGreedy`` gives the pass (``time_step_compute_node``), where its
    table places the pass's send and the peer's receive at the slot + 1
    (:func:`infra_lab._kernels.pipeline_p2p.primus_p2p_count`)."""
    n = 6 * m
    T = 6 * m + 12 * p + 4 * m + 16
    occ = np.full((p, T), -1, np.int64)
    when = np.zeros((p, n), np.int64)
    phase = np.zeros((p, n), np.int64)
    fp = np.zeros((p, T), np.int64)
    for r in range(p):
        if vmin:
            iv = 2 if p % 3 == 0 else 0
            s0, s1, s2, s3 = r, 2 * p - r - 1, 2 * p + iv + r, 4 * p + iv - r - 1
        else:
            iv = 3 if p % 2 == 0 else 0
            s0, s1, s2, s3 = 2 * r, 3 * p - r - 2, 3 * p + iv + 2 * r - 1, 6 * p + iv - r - 2
        for k in range(m):
            for kind, chunk, s in ((KIND_F, 0, s0), (KIND_F, 1, s1), (KIND_B, 1, s2), (KIND_B, 0, s3)):
                node = _code(kind, chunk, k, m)
                occ[r, s + 6 * k] = node
                when[r, node] = s + 6 * k
    # W passes into the free slots, FIFO after their B; phases; memory per slot
    queue = np.empty(2 * m, np.int64)
    for r in range(p):
        last = 0
        for s in range(T):
            if occ[r, s] >= 0:
                last = s
        qh = 0
        qt = 0
        ph = PHASE_WARMUP
        s = 0
        while s <= last + 2 or qh < qt:
            if s > 0:
                fp[r, s] = fp[r, s - 1]
            node = occ[r, s]
            if node >= 0:
                phase[r, node] = ph
                kind = node // (2 * m)
                chunk = (node // m) % 2
                mb = node % m
                if kind == KIND_B:
                    queue[qt] = node
                    qt += 1
                else:
                    fp[r, s] += 1
                if kind == KIND_B and chunk == 0 and mb == 0:
                    ph = PHASE_STEADY
                elif kind == KIND_F and chunk == 1 and mb == m - 1:
                    ph = PHASE_COOLDOWN
            elif qh < qt:
                wn = queue[qh] + 2 * m
                qh += 1
                occ[r, s] = wn
                when[r, wn] = s
                phase[r, wn] = ph
                fp[r, s] -= 1
            s += 1
    _squeeze(p, m, occ, when, phase, fp, np.bool_(False))   # np.bool_: one signature, not one per literal
    _squeeze(p, m, occ, when, phase, fp, np.bool_(True))
    order = np.empty((p, n), np.int64)
    slot = np.empty((p, n), np.int64)
    for r in range(p):
        j = 0
        for s in range(T):
            if occ[r, s] >= 0:
                order[r, j] = occ[r, s]
                slot[r, j] = s
                j += 1
    return order, slot


PROGRAM_COLS = 4
"""Columns of a :func:`v_greedy_program` / :func:`pipeline_program` row: rank, the pass's cell
r·6m + code, its input's cell (−1: none), kind (0 F, 1 B, 2 W) + 4 when the input crosses ranks
(the send/receive time ``c`` applies)."""


@njit(cache=True)
def zb_h1_order(p, m):
    """Each rank's passes in the ZB-H1 order (one chunk per rank): int64[p, 3m] of pass codes
    kind·2m + micro-batch (chunk 0 of :func:`v_greedy_order`'s coding).

    What ran: AMD-AGI/Primus ``ScheduleZeroBubble`` (``pp_algorithm`` ``zero-bubble``,
    primus/core/pipeline_parallel/scheduler/algorithms/zerobubble.py at 78633ae,
    https://github.com/AMD-AGI/Primus/blob/78633ae78a1e11cef081c3102971d6fb4da6e19f/primus/core/pipeline_parallel/scheduler/algorithms/zerobubble.py),
    the ZB-H1 schedule of Qi et al., "Zero Bubble Pipeline Parallelism", ICLR 2024 (§2.1,
    https://arxiv.org/abs/2401.10241). With m ≥ p micro-batches rank r runs p − r − 1 warm-up
    forwards, then F(i), B(i − p + r + 1) for each further i, followed by W(j − r) once the
    backward j reaches r (its W passes held back r micro-batches), then (B, W) pairs for the
    p − r − 1 last backwards and its r held-back W passes. With m < p every rank but the last
    runs its m forwards, then (B, W) pairs; the last rank (F, B) pairs, then its m W passes."""
    order = np.empty((p, 3 * m), np.int64)
    cf, cb, cw = 0, 2 * m, 4 * m          # chunk 0's codes (kind·2 + 0)·m of F, B, W
    for r in range(p):
        j = 0
        if m < p:
            if r != p - 1:
                for i in range(m):
                    order[r, j] = cf + i
                    j += 1
                for i in range(m):
                    order[r, j] = cb + i
                    order[r, j + 1] = cw + i
                    j += 2
            else:
                for i in range(m):
                    order[r, j] = cf + i
                    order[r, j + 1] = cb + i
                    j += 2
                for i in range(m):
                    order[r, j] = cw + i
                    j += 1
            continue
        wu = p - r - 1
        for i in range(wu):
            order[r, j] = cf + i
            j += 1
        for i in range(wu, m):
            order[r, j] = cf + i
            order[r, j + 1] = cb + i - wu
            j += 2
            if i - wu >= r:
                order[r, j] = cw + i - wu - r
                j += 1
        for i in range(m - wu, m):
            order[r, j] = cb + i
            order[r, j + 1] = cw + i - r
            j += 2
        for i in range(m - r, m):
            order[r, j] = cw + i
            j += 1
    return order


@njit(cache=True)
def zbv_order(p, m):
    """Each rank's passes in the ZBV order (two chunks per rank in a V, as
    :func:`v_greedy_order`): int64[p, 6m] of pass codes.

    What ran: AMD-AGI/Primus ``ScheduleZBVFormatted`` (``pp_algorithm`` ``zbv-formatted``,
    primus/core/pipeline_parallel/scheduler/algorithms/zbv_formatted.py at 78633ae,
    https://github.com/AMD-AGI/Primus/blob/78633ae78a1e11cef081c3102971d6fb4da6e19f/primus/core/pipeline_parallel/scheduler/algorithms/zbv_formatted.py),
    a hand-written table: rank r runs 2(p − r) − 1 forwards of chunk 0, r (F1, F0) pairs, p − r
    (F1, B1, W1), then (F0, B0, W0, F1, B1, W1) while forwards remain, r (B0, B1) pairs, p − r
    (B0, W0) pairs and the held-back W1, then W0 passes. Primus builds it for
    max(2p − 1, m) micro-batches; with fewer (m < 2p − 1) the passes of the micro-batches past
    m are left out, the others keeping their order, as PyTorch's ``ScheduleZBVZeroBubble`` (the
    same table, 1fd7abc) does ("remove redundant microbatches"); Primus' table does not say."""
    return zbv_slots(p, m)[0]


@njit(cache=True)
def zbv_slots(p, m):
    """:func:`zbv_order` and the time step Primus' ``ScheduleZBVFormatted`` gives each of its
    passes (int64[p, 6m] each): rank r's passes at r, r + 1, ... in its table's order, the left
    out micro-batches' passes keeping their steps (zbv_formatted.py ``time_step``)."""
    n = 2 * p - 1
    if m > n:
        n = m
    order = np.empty((p, 6 * m), np.int64)
    slot = np.empty((p, 6 * m), np.int64)
    for r in range(p):
        j = 0
        f0 = 0
        f1 = 0
        b0 = 0
        b1 = 0
        seq = np.empty(6 * n, np.int64)     # (kind·2 + chunk)·n + micro-batch, then filtered
        k = 0
        for _ in range(2 * (p - r) - 1):
            seq[k] = (KIND_F * 2) * n + f0
            k += 1
            f0 += 1
        for _ in range(r):
            seq[k] = (KIND_F * 2 + 1) * n + f1
            seq[k + 1] = (KIND_F * 2) * n + f0
            k += 2
            f1 += 1
            f0 += 1
        for _ in range(p - r):
            seq[k] = (KIND_F * 2 + 1) * n + f1
            seq[k + 1] = (KIND_B * 2 + 1) * n + b1
            seq[k + 2] = (KIND_W * 2 + 1) * n + b1
            k += 3
            f1 += 1
            b1 += 1
        while f1 < f0 or f0 < n:
            if f0 < n:
                seq[k] = (KIND_F * 2) * n + f0
                k += 1
                f0 += 1
            seq[k] = (KIND_B * 2) * n + b0
            seq[k + 1] = (KIND_W * 2) * n + b0
            seq[k + 2] = (KIND_F * 2 + 1) * n + f1
            seq[k + 3] = (KIND_B * 2 + 1) * n + b1
            seq[k + 4] = (KIND_W * 2 + 1) * n + b1
            k += 5
            b0 += 1
            f1 += 1
            b1 += 1
        w0 = b0
        w1 = b1
        for _ in range(r):
            seq[k] = (KIND_B * 2) * n + b0
            seq[k + 1] = (KIND_B * 2 + 1) * n + b1
            k += 2
            b0 += 1
            b1 += 1
        for _ in range(p - r):
            seq[k] = (KIND_B * 2) * n + b0
            seq[k + 1] = (KIND_W * 2) * n + w0
            k += 2
            b0 += 1
            w0 += 1
        while w1 < b1:
            seq[k] = (KIND_W * 2 + 1) * n + w1
            k += 1
            w1 += 1
        while w0 < b0:
            seq[k] = (KIND_W * 2) * n + w0
            k += 1
            w0 += 1
        for i in range(k):
            kc = seq[i] // n
            mb = seq[i] % n
            if mb < m:
                order[r, j] = kc * m + mb
                slot[r, j] = r + i
                j += 1
    return order, slot


@njit(cache=True)
def pipeline_program(order, p, m, v):
    """The schedule ``order`` (each rank's pass codes in order, :func:`v_greedy_order`,
    :func:`zbv_order` with ``v`` True: two chunks in a V; :func:`zb_h1_order` with ``v`` False:
    one chunk, the last rank turning each forward into its backward) as the sequence in which an
    eager execution completes its passes, one row per pass (:data:`PROGRAM_COLS`):
    int64[p·len(order[r]), 4]. Which pass can run next depends only on which passes have run,
    never on the pass times, so this sequence is built once per (p, m, schedule) and
    :func:`v_greedy_replay_ranks` prices it for any F, B, W. Rows past the last runnable pass (an
    order that deadlocks) have rank −1."""
    n = order.shape[1]
    prog = np.full((p * n, PROGRAM_COLS), -1, np.int64)
    done_ = np.zeros((p, 6 * m), np.bool_)
    ptr = np.zeros(p, np.int64)
    done = 0
    moved = True
    while moved:
        moved = False
        for r in range(p):
            while ptr[r] < n:
                node = order[r, ptr[r]]
                kind = node // (2 * m)
                chunk = (node // m) % 2
                mb = node % m
                lag = 0
                if kind == KIND_W:
                    dr, dn = r, _code(np.int64(KIND_B), chunk, mb, m)
                else:
                    left = (chunk == 0) if kind == KIND_F else (chunk == 1)
                    if left:
                        if r > 0:
                            dr, dn, lag = r - 1, node, 1
                        elif kind == KIND_B:
                            dr, dn = r, _code(np.int64(KIND_F), np.int64(1), mb, m)
                        else:
                            dr, dn = -1, 0
                    elif r + 1 < p:
                        dr, dn, lag = r + 1, node, 1
                    elif v:
                        dr, dn = r, _code(kind, 1 - chunk, mb, m)
                    else:                       # one chunk: the last rank's B follows its F
                        dr, dn = r, _code(np.int64(KIND_F), chunk, mb, m)
                if dr >= 0 and not done_[dr, dn]:
                    break
                prog[done, 0] = r
                prog[done, 1] = r * 6 * m + node
                prog[done, 2] = dr * 6 * m + dn if dr >= 0 else -1
                prog[done, 3] = kind + 4 * lag
                done_[r, node] = True
                ptr[r] += 1
                done += 1
                moved = True
    return prog


@njit(cache=True)
def v_greedy_program(order, p, m):
    """The V schedule ``order`` (:func:`v_greedy_order`, :func:`zbv_order`) as the sequence in
    which an eager execution completes its passes: :func:`pipeline_program` with two chunks in a
    V, int64[p·6m, 4]."""
    return pipeline_program(order, p, m, np.bool_(True))


@njit(cache=True)
def v_greedy_replay(prog, p, m, f, b, w, c):
    """Makespan [s] of one step of the schedule whose :func:`v_greedy_program` is ``prog`` when
    every rank's chunk takes ``f`` forward, ``b`` backward (input gradient) and ``w`` weight
    gradient per micro-batch, and an activation or gradient takes ``c`` from one rank to the
    next: :func:`v_greedy_replay_ranks` with every rank at the same times (the same arithmetic,
    so the two agree bit for bit). inf if the order deadlocks."""
    return v_greedy_replay_ranks(prog, p, m, np.full(p, f), np.full(p, b), np.full(p, w), c)


@njit(cache=True)
def v_greedy_replay_ranks(prog, p, m, f, b, w, c):
    """Makespan [s] of one step of the schedule whose :func:`v_greedy_program` is ``prog`` when
    each of rank r's chunks takes ``f[r]`` forward, ``b[r]`` backward (input gradient) and ``w[r]``
    weight gradient per micro-batch [s], and an activation or gradient takes ``c`` from one rank
    to the next: :func:`v_greedy_replay_chunks` with both chunks of a rank at its times (the same
    arithmetic). inf if the order deadlocks."""
    f2 = np.empty(2 * p)
    b2 = np.empty(2 * p)
    w2 = np.empty(2 * p)
    for r in range(p):
        for ch in range(2):
            f2[2 * r + ch] = f[r]
            b2[2 * r + ch] = b[r]
            w2[2 * r + ch] = w[r]
    return v_greedy_replay_chunks(prog, p, m, f2, b2, w2, c)


@njit(cache=True)
def v_greedy_replay_chunks(prog, p, m, f, b, w, c):
    """Makespan [s] of one step of the schedule whose :func:`v_greedy_program` (or
    :func:`pipeline_program`) is ``prog`` when rank r's chunk ch (0: the first it holds, the
    down-going one in a V; 1: the second) takes ``f[2·r + ch]`` forward, ``b[2·r + ch]``
    backward (input gradient) and ``w[2·r + ch]`` weight gradient per micro-batch [s] (a
    one-chunk order reads ch = 0 only), and an activation or gradient takes ``c`` from one rank
    to the next: each pass starts when its rank is free and its input is there. inf if the
    order deadlocks."""
    end = np.empty(p * 6 * m)
    free = np.zeros(p)
    for i in range(prog.shape[0]):
        r = prog[i, 0]
        if r < 0:
            return np.inf
        code = prog[i, 3]
        kind = code & 3
        j = 2 * r + ((prog[i, 1] - r * 6 * m) // m) % 2
        cost = f[j] if kind == KIND_F else (b[j] if kind == KIND_B else w[j])
        start = free[r]
        d = prog[i, 2]
        if d >= 0:
            t = end[d] + (c if code >= 4 else 0.0)
            if t > start:
                start = t
        e = start + cost
        end[prog[i, 1]] = e
        free[r] = e
    top = 0.0
    for r in range(p):
        if free[r] > top:
            top = free[r]
    return top


@njit(cache=True)
def v_greedy_makespan(order, p, m, f, b, w, c):
    """Makespan [s] of one step of the schedule ``order`` (:func:`v_greedy_order`) when every
    rank's chunk takes ``f`` forward, ``b`` backward (input gradient) and ``w`` weight gradient
    per micro-batch, and an activation or gradient takes ``c`` from one rank to the next: each
    pass starts when its rank is free and its input is there (:func:`v_greedy_replay` of
    :func:`v_greedy_program`). inf if the order deadlocks."""
    return v_greedy_replay(v_greedy_program(order, p, m), p, m, f, b, w, c)


@njit(cache=True)
def v_greedy_bubble(p, m, vmin, f, b, w, c):
    """Idle time of one step of the greedy V-Half (``vmin`` False) / V-Min schedule [s]: its
    makespan less one rank's work, 2·m·(f + b + w) (every rank does the same work, so each idles
    this long). f, b, w: one chunk's forward, backward (input gradient) and weight-gradient time
    per micro-batch; c: the send/receive time between ranks. A time of inf (a pass that never
    ends) gives inf, nan gives nan (never 0)."""
    if p <= 1:
        return 0.0
    order = v_greedy_order(p, m, vmin)
    span = v_greedy_makespan(order, p, m, f, b, w, c)
    if not span < np.inf:   # a pass that never ends (inf) or a nan time: the idle time is that
        return span         # too, not inf − inf = nan read as 0
    v = span - 2.0 * m * (f + b + w)
    return v if v > 0.0 else 0.0


COMPACT_COLS = 3
"""Columns of a :func:`compact_program` row: the row of the same rank's previous pass (−1:
none), the row of the pass its input comes from (−1: none), and the pass's cost index
3·(2·rank + chunk) + kind (chunk 0 or 1 of the rank, kind 0 F, 1 B, 2 W) into the per-chunk
times."""


@njit(cache=True)
def compact_program(prog, p, m):
    """:func:`pipeline_program`'s ``prog`` (``p`` ranks, ``m`` micro-batches) renumbered for a
    replay with no send/receive time (:func:`replay_compact`): int32[n + p, 3] for its n rows.
    Row i is the pass ``prog`` completes i-th as (:data:`COMPACT_COLS`) the row of its rank's
    previous pass, the row of its input's pass and its cost index, so the replay writes each end
    time at its own row (in sequence) and reads both inputs by row, with no rank or cell
    indices; p trailer rows follow: row n + r holds the row of rank r's last pass (−1: none)
    and, in its second column, 1 when the order deadlocks (``prog`` has rows of rank −1), else
    0. The same program priced by the same arithmetic, so :func:`replay_compact` equals
    :func:`v_greedy_replay_chunks` at ``c`` = 0 bit for bit (tests/test_executed_replay_fast.py)."""
    n = prog.shape[0]
    if n + p >= 2 ** 31:
        raise ValueError("compact_program: more than 2**31 rows")
    out = np.full((n + p, COMPACT_COLS), -1, np.int32)
    where = np.full(p * 6 * m, -1, np.int64)    # the row that completes each cell
    last = np.full(p, -1, np.int64)
    dead = 0
    for i in range(n):
        r = prog[i, 0]
        if r < 0:
            dead = 1
            break
        d = prog[i, 2]
        out[i, 0] = last[r]
        out[i, 1] = where[d] if d >= 0 else -1
        out[i, 2] = 3 * (2 * r + ((prog[i, 1] - r * 6 * m) // m) % 2) + (prog[i, 3] & 3)
        where[prog[i, 1]] = i
        last[r] = i
    for r in range(p):
        out[n + r, 0] = last[r]
        out[n + r, 1] = dead
        out[n + r, 2] = 0
    return out


@njit(cache=True)
def replay_compact(cprog, p, cost, end):
    """Makespan [s] of one step of the schedule whose :func:`compact_program` is ``cprog`` when
    rank r's pass of kind k (0 F, 1 B, 2 W) on its chunk ch takes ``cost[3·(2·r + ch) + k]`` [s]
    (``cost`` of 6·p), with no send/receive time: :func:`v_greedy_replay_chunks` at ``c`` = 0,
    the same comparisons and sums in the same order (equal bit for bit). ``end``: a work array
    of at least len(cprog) − p floats. inf if the order deadlocks."""
    n = cprog.shape[0] - p
    if cprog[n, 1] != 0:
        return np.inf
    for i in range(n):
        j = cprog[i, 0]
        start = end[j] if j >= 0 else 0.0
        d = cprog[i, 1]
        if d >= 0:
            t = end[d]
            if t > start:
                start = t
        end[i] = start + cost[cprog[i, 2]]
    top = 0.0
    for r in range(p):
        j = cprog[n + r, 0]
        if j >= 0 and end[j] > top:
            top = end[j]
    return top


@njit(cache=True)
def replay_compact3(cprog, p, cost, end, span):
    """Three replays of one :func:`compact_program` at once (the step kernel's three recompute
    modes: one read of the program, three independent chains of sums for the processor to
    overlap): ``span[k]`` is :func:`replay_compact` with rank r's pass of kind j on its chunk ch
    at ``cost[3·(3·(2·r + ch) + j) + k]`` [s] (``cost`` of 18·p), bit for bit (each replay's own comparisons and sums, in the
    same order). ``end``: a work array of at least 3·(len(cprog) − p) floats."""
    n = cprog.shape[0] - p
    if cprog[n, 1] != 0:
        span[0] = np.inf
        span[1] = np.inf
        span[2] = np.inf
        return
    for i in range(n):
        j = cprog[i, 0]
        if j >= 0:
            s0 = end[3 * j]
            s1 = end[3 * j + 1]
            s2 = end[3 * j + 2]
        else:
            s0 = 0.0
            s1 = 0.0
            s2 = 0.0
        d = cprog[i, 1]
        if d >= 0:
            t0 = end[3 * d]
            t1 = end[3 * d + 1]
            t2 = end[3 * d + 2]
            if t0 > s0:
                s0 = t0
            if t1 > s1:
                s1 = t1
            if t2 > s2:
                s2 = t2
        k = 3 * cprog[i, 2]
        end[3 * i] = s0 + cost[k]
        end[3 * i + 1] = s1 + cost[k + 1]
        end[3 * i + 2] = s2 + cost[k + 2]
    for q in range(3):
        top = 0.0
        for r in range(p):
            j = cprog[n + r, 0]
            if j >= 0 and end[3 * j + q] > top:
                top = end[3 * j + q]
        span[q] = top


MEGATRON_INTERLEAVED_AT = "d98e8a64ddf34856e74b24714e3bedb2f5a39553"
"""The NVIDIA/Megatron-LM commit whose ``megatron/core/pipeline_parallel/schedules.py``
(``get_schedule_table``, ``get_pp_rank_microbatches``,
``forward_backward_pipelining_with_interleaving``, and with vp = 1
``forward_backward_pipelining_without_interleaving``) :func:`interleaved_order` follows:
https://github.com/NVIDIA/Megatron-LM/blob/d98e8a64ddf34856e74b24714e3bedb2f5a39553/megatron/core/pipeline_parallel/schedules.py"""


@njit(cache=True)
def interleaved_order(p, m, vp, group):
    """Each rank's passes in Megatron-Core's interleaved 1F1B order (``vp`` model chunks per
    rank, chunk c of rank r the model's chunk c·p + r): int64[p, 2·vp·m] of pass codes
    (kind·vp + chunk)·m + micro-batch, kind 0 forward (F), 1 backward (B; the weight gradient
    with it, no separate W).

    What runs (Megatron-LM ``megatron/core/pipeline_parallel/schedules.py`` at
    :data:`MEGATRON_INTERLEAVED_AT`): ``get_schedule_table`` lists the virtual micro-batches as
    groups of ``group`` micro-batches (``microbatch_group_size_per_vp_stage``, default pp; the
    last group takes the rest), each group running chunk 0 on all its micro-batches, then
    chunk 1, …; ``get_pp_rank_microbatches`` gives rank r (pp − r − 1)·2 + (vp − 1)·group
    warm-up forwards, capped at vp·m; ``forward_backward_pipelining_with_interleaving`` then
    runs forward k + warm-up and backward k for each further k (the backward of virtual
    micro-batch k on chunk vp − 1 − the table's chunk, ``get_model_chunk_id(k, forward=False)``)
    and the remaining backwards in the cool-down. Megatron refuses a group outside [pp, m] and
    a last group of 1 … pp − 1 micro-batches; this builds the table as written for any m ≥ 1
    (the execution then shows the dependency bubbles Megatron's message warns of).

    ``vp`` = 1 gives Megatron-Core's plain 1F1B order
    (``forward_backward_pipelining_without_interleaving``, schedules.py line 2147 at
    :data:`MEGATRON_INTERLEAVED_AT`): rank r runs min(pp − r − 1, m) warm-up forwards (lines
    2277–2279 and 2334; ``get_pp_rank_microbatches``' branch without a virtual pipeline, lines
    955–957), then forward i + warm-up and backward i for each further i (lines 2379–2448) and
    the cool-down backwards (lines 2450–2474). With one chunk the table is the micro-batches in
    order, so only the warm-up count differs from the interleaved function's. PyTorch's
    ``Schedule1F1B`` (torchtitan's 1F1B; ``_step_microbatches``,
    torch/distributed/pipelining/schedules.py at 1fd7abc) runs the same sequence: its
    min(m, pp − r) warm-up forwards end with the forward Megatron runs first in its steady
    state, then backward, forward, … and the cool-down."""
    tot = m * vp
    tmb = np.empty(tot, np.int64)
    tch = np.empty(tot, np.int64)
    k = 0
    lo = 0
    while lo < m:
        hi = lo + group
        if hi >= m:
            hi = m
        for ch in range(vp):
            for mb in range(lo, hi):
                tmb[k] = mb
                tch[k] = ch
                k += 1
        lo = hi
    order = np.empty((p, 2 * tot), np.int64)
    for r in range(p):
        wu = (p - r - 1) * 2 + (vp - 1) * group if vp > 1 else p - r - 1
        if wu > tot:
            wu = tot
        j = 0
        for i in range(wu):
            order[r, j] = tch[i] * m + tmb[i]
            j += 1
        for i in range(tot - wu):
            f = wu + i
            order[r, j] = tch[f] * m + tmb[f]
            order[r, j + 1] = (2 * vp - 1 - tch[i]) * m + tmb[i]
            j += 2
        for i in range(tot - wu, tot):
            order[r, j] = (2 * vp - 1 - tch[i]) * m + tmb[i]
            j += 1
    return order


@njit(cache=True)
def interleaved_program(order, p, m, vp):
    """The interleaved ``order`` (:func:`interleaved_order`) as the sequence in which an eager
    execution completes its passes, directly in :func:`compact_program`'s form (int32[n + p, 3],
    n = p·2·vp·m; :func:`replay_compact` / :func:`replay_compact3` price it) with the cost index
    3·(vp·rank + chunk) + kind (kind 0 F, 1 B). A forward of chunk c waits for the previous
    rank's forward of chunk c, on rank 0 for rank p − 1's of chunk c − 1; a backward for the
    next rank's backward of chunk c, on rank p − 1 for rank 0's of chunk c + 1, and the last
    chunk's backward on rank p − 1 for its own forward. Which pass runs next depends only on
    which have run, so the sequence is built once per (p, m, vp). A deadlocking order sets the
    trailer's flag (the replay then gives inf)."""
    n = order.shape[1]
    N = p * n
    if N + p >= 2 ** 31:
        raise ValueError("interleaved_program: more than 2**31 rows")
    out = np.full((N + p, COMPACT_COLS), -1, np.int32)
    where = np.full(p * n, -1, np.int64)
    last = np.full(p, -1, np.int64)
    ptr = np.zeros(p, np.int64)
    done = 0
    moved = True
    while moved:
        moved = False
        for r in range(p):
            while ptr[r] < n:
                node = order[r, ptr[r]]
                kind = node // (vp * m)
                ch = (node // m) % vp
                mb = node % m
                dr = -1
                dn = 0
                if kind == 0:
                    if r > 0:
                        dr, dn = r - 1, node
                    elif ch > 0:
                        dr, dn = p - 1, node - m
                elif r < p - 1:
                    dr, dn = r + 1, node
                elif ch < vp - 1:
                    dr, dn = 0, node + m
                else:
                    dr, dn = r, ch * m + mb
                if dr >= 0 and where[dr * n + dn] < 0:
                    break
                out[done, 0] = last[r]
                out[done, 1] = where[dr * n + dn] if dr >= 0 else -1
                out[done, 2] = 3 * (vp * r + ch) + kind
                where[r * n + node] = done
                last[r] = done
                ptr[r] += 1
                done += 1
                moved = True
    dead = 1 if done < N else 0
    for r in range(p):
        out[N + r, 0] = last[r]
        out[N + r, 1] = dead
        out[N + r, 2] = 0
    return out


@njit(cache=True)
def chunk_inflight_peaks(cprog, p, out):
    """Activation memory of each rank's two chunks over one step of a V schedule whose
    :func:`compact_program` is ``cprog`` (``p`` ranks), in chunk-forwards held: a chunk's
    forward F holds one micro-batch's activations of that chunk until its weight-gradient pass
    W (F +1, B 0, W −1: Primus' ``memory_delta`` in ``scheduler/algorithms/zbv_greedy.py`` at
    78633ae, what the V-Half / V-Min memory caps count). Each rank's passes in its own order
    (the program completes them in that order). ``out`` (int32[p, :data:`COMPACT_COLS`]) gets,
    per rank, the most chunk-forwards it holds at once, T = n0 + n1, and the chunk-1 forwards
    n1 at the two ends of the points where it holds T: the fewest (the end with the most
    chunk-0 forwards, T − n1) and the most. One chunk per rank (ZB-H1): (T, 0, 0).

    Every point where no other point holds at least as many of both chunks lies on that
    maximum (checked on the ZBV, V-Half and V-Min orders, p 2–8, m 1–3p + 1 and 40:
    tests/test_v_chunk_memory.py), so for any per-micro-batch bytes a0, a1 ≥ 0 of the two chunks
    the rank's peak n0·a0 + n1·a1 is the larger of the two ends'. A rank with no pass (an order
    that deadlocks before it) gets zeros."""
    n = cprog.shape[0] - p
    cnt = np.zeros((p, 2), np.int64)
    for r in range(p):
        out[r, 0] = 0
        out[r, 1] = 0
        out[r, 2] = 0
    for i in range(n):
        ci = cprog[i, 2]
        if ci < 0:              # past the last pass of an order that deadlocks
            break
        kind = ci % 3
        if kind == 1:           # B: the chunk's activations stay until its W
            continue
        r = ci // 6
        ch = (ci // 3) % 2
        if kind == 2:
            cnt[r, ch] -= 1
            continue
        cnt[r, ch] += 1
        tot = cnt[r, 0] + cnt[r, 1]
        n1 = cnt[r, 1]
        if tot > out[r, 0]:
            out[r, 0] = tot
            out[r, 1] = n1
            out[r, 2] = n1
        elif tot == out[r, 0]:
            if n1 < out[r, 1]:
                out[r, 1] = n1
            if n1 > out[r, 2]:
                out[r, 2] = n1
