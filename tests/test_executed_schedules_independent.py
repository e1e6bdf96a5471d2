"""Independent checks of the executed ZB-H1 / ZBV pipeline schedules (review of 5f92121).

Written apart from infra_lab._kernels.pipeline_greedy and its reference: the orders are built
here from the published description of the tables (AMD-AGI/Primus 78633ae
primus/core/pipeline_parallel/scheduler/algorithms/zerobubble.py and zbv_formatted.py,
https://github.com/AMD-AGI/Primus/tree/78633ae78a1e11cef081c3102971d6fb4da6e19f/primus/core/pipeline_parallel/scheduler/algorithms;
PyTorch's ScheduleZBVZeroBubble drops the micro-batches past m), and the makespan by a
longest-path pass over the dependency graph (Kahn's order), with the pass-to-pass rules of
Primus' ``direction_map``: F needs the previous stage's F, B the next stage's B, W its own B; in
a V the forward turns at the last rank (F of chunk 1 after F of chunk 0) and the backward at
the last rank too (B of chunk 0 after B of chunk 1), the loss on rank 0 (B of chunk 1 after F of
chunk 1); a transfer between ranks takes ``c``."""

from __future__ import annotations

import random
from collections import deque

import numpy as np
import pytest

from infra_lab._kernels import pipeline_greedy as pg
from infra_lab._kernels import training as tr

F, B, W = 0, 1, 2


def zb_h1_table(p, m):
    """Rank r's (kind, chunk, micro-batch) list of Primus' zero-bubble table."""
    out = []
    for r in range(p):
        seq = []
        if m < p:
            if r < p - 1:
                seq += [(F, 0, i) for i in range(m)]
                for i in range(m):
                    seq += [(B, 0, i), (W, 0, i)]
            else:
                for i in range(m):
                    seq += [(F, 0, i), (B, 0, i)]
                seq += [(W, 0, i) for i in range(m)]
        else:
            warm = p - 1 - r
            seq += [(F, 0, i) for i in range(warm)]
            for i in range(warm, m):
                seq += [(F, 0, i), (B, 0, i - warm)]
                if i - warm - r >= 0:
                    seq.append((W, 0, i - warm - r))
            for i in range(m - warm, m):
                seq += [(B, 0, i), (W, 0, i - r)]
            seq += [(W, 0, i) for i in range(m - r, m)]
        out.append(seq)
    return out


def _put(seq, cnt, kind, ch, mb=None):
    """Append pass (kind, ch) of the next micro-batch its counter gives (or ``mb``)."""
    if mb is None:
        mb = cnt[(kind, ch)]
        cnt[(kind, ch)] += 1
    seq.append((kind, ch, mb))


def zbv_table(p, m):
    """Rank r's list of Primus' zbv-formatted table over max(2p - 1, m) micro-batches, then the
    micro-batches past m dropped (PyTorch's ScheduleZBVZeroBubble)."""
    n = max(2 * p - 1, m)
    out = []
    for r in range(p):
        cnt = {(F, 0): 0, (F, 1): 0, (B, 0): 0, (B, 1): 0}
        seq = []
        for _ in range(2 * (p - r) - 1):
            _put(seq, cnt, F, 0)
        for _ in range(r):
            _put(seq, cnt, F, 1)
            _put(seq, cnt, F, 0)
        for _ in range(p - r):
            _put(seq, cnt, F, 1)
            b = cnt[(B, 1)]
            _put(seq, cnt, B, 1)
            _put(seq, cnt, W, 1, b)
        while cnt[(F, 1)] < cnt[(F, 0)] or cnt[(F, 0)] < n:
            if cnt[(F, 0)] < n:
                _put(seq, cnt, F, 0)
            b = cnt[(B, 0)]
            _put(seq, cnt, B, 0)
            _put(seq, cnt, W, 0, b)
            _put(seq, cnt, F, 1)
            b = cnt[(B, 1)]
            _put(seq, cnt, B, 1)
            _put(seq, cnt, W, 1, b)
        w0, w1 = cnt[(B, 0)], cnt[(B, 1)]
        for _ in range(r):
            _put(seq, cnt, B, 0)
            _put(seq, cnt, B, 1)
        for _ in range(p - r):
            _put(seq, cnt, B, 0)
            _put(seq, cnt, W, 0, w0)
            w0 += 1
        seq += [(W, 1, i) for i in range(w1, cnt[(B, 1)])]
        seq += [(W, 0, i) for i in range(w0, cnt[(B, 0)])]
        out.append([x for x in seq if x[2] < m])
    return out


def as_codes(table, m):
    return np.array([[(k * 2 + ch) * m + mb for k, ch, mb in row] for row in table], dtype=np.int64)


def dep(node, r, p, v):
    """(rank, node, crosses ranks) the pass ``node`` = (kind, chunk, mb) on rank r waits for."""
    kind, ch, mb = node
    if kind == W:
        return (r, (B, ch, mb), False)
    if not v:
        if kind == F:
            return (r - 1, (F, 0, mb), True) if r > 0 else None
        return (r + 1, (B, 0, mb), True) if r < p - 1 else (r, (F, 0, mb), False)
    if kind == F and ch == 0:
        return (r - 1, (F, 0, mb), True) if r > 0 else None
    if kind == F:
        return (r + 1, (F, 1, mb), True) if r < p - 1 else (r, (F, 0, mb), False)
    if ch == 1:
        return (r - 1, (B, 1, mb), True) if r > 0 else (r, (F, 1, mb), False)
    return (r + 1, (B, 0, mb), True) if r < p - 1 else (r, (B, 1, mb), False)


def makespan(table, p, f, b, w, c, v):
    """Longest path through the graph: each pass after its rank's previous pass and after its
    input (+ c across ranks); inf when the graph has a cycle (a deadlocking order)."""
    nodes = [(r, x) for r in range(p) for x in table[r]]
    succ = {u: [] for u in nodes}
    indeg = dict.fromkeys(nodes, 0)
    lag = {}
    for r in range(p):
        for i, x in enumerate(table[r]):
            if i:
                succ[(r, table[r][i - 1])].append((r, x))
                indeg[(r, x)] += 1
                lag[((r, table[r][i - 1]), (r, x))] = 0.0
            d = dep(x, r, p, v)
            if d is not None:
                u = (d[0], d[1])
                succ[u].append((r, x))
                indeg[(r, x)] += 1
                lag[(u, (r, x))] = c if d[2] else 0.0
    cost = lambda r, x: (f, b, w)[x[0]][r]  # noqa: E731
    start = dict.fromkeys(nodes, 0.0)
    q = deque(u for u in nodes if indeg[u] == 0)
    seen = 0
    end = 0.0
    while q:
        u = q.popleft()
        seen += 1
        e = start[u] + cost(*u)
        end = max(end, e)
        for s in succ[u]:
            start[s] = max(start[s], e + lag[(u, s)])
            indeg[s] -= 1
            if indeg[s] == 0:
                q.append(s)
    return end if seen == len(nodes) else np.inf


def test_orders_equal_the_tables_written_apart():
    for p in range(2, 9):
        for m in range(1, 3 * p + 2):
            np.testing.assert_array_equal(pg.zb_h1_order(p, m), as_codes(zb_h1_table(p, m), m))
            np.testing.assert_array_equal(pg.zbv_order(p, m), as_codes(zbv_table(p, m), m))


@pytest.mark.parametrize("sched", ["zb-h1", "zbv"])
def test_replay_equals_a_longest_path_with_ranks_at_their_own_times(sched):
    """Per-rank F, B, W drawn at random and a send/receive time c: the kernel's replay of its
    completion sequence equals the longest path of the graph built here."""
    rng = random.Random(23)
    v = sched == "zbv"
    for p in (2, 3, 4, 5, 8):
        for m in sorted({1, p - 1, p, 2 * p - 1, 2 * p + 1, 3 * p}):
            if m < 1:
                continue
            table = zbv_table(p, m) if v else zb_h1_table(p, m)
            prog = pg.pipeline_program(as_codes(table, m), p, m, v)
            for _ in range(3):
                f = np.array([rng.uniform(0.5, 2.0) for _ in range(p)])
                b = np.array([rng.uniform(0.5, 3.0) for _ in range(p)])
                w = np.array([rng.uniform(0.0, 2.0) for _ in range(p)])
                c = rng.choice([0.0, 0.25])
                want = makespan(table, p, f, b, w, c, v)
                assert np.isfinite(want)
                assert pg.v_greedy_replay_ranks(prog, p, m, f, b, w, c) == pytest.approx(want, rel=1e-12, abs=1e-12)


def test_zbv_idles_one_chunk_forward_per_other_rank_at_equal_passes():
    """At F = B = W (a stage's; each chunk half) and m >= 2p - 1 the executed ZBV step idles
    (p - 1)·F/2: one chunk forward per earlier rank before the last rank's first pass. That is
    the least any synchronous step can idle (the last rank cannot start sooner and has 6m chunk
    passes of work), so the table's execution is optimal there. The zero bubble rate the authors
    give ZBV at T_F = T_B = T_W (Qi et al., arXiv 2401.10241, ZB-V; their summary table,
    https://huggingface.co/spaces/sail/zero-bubble-pipeline-parallellism/blob/main/description2.md)
    needs their optimizer post-validation: the all-reduce before the optimizer step "breaks
    parallelogram and makes zero bubble impossible" (same page). At fewer micro-batches (passes
    dropped) it idles more."""
    for p in range(2, 9):
        for m in (2 * p - 1, 2 * p, 3 * p, 4 * p):
            got = tr.pipeline_bubble(tr.PP_SCHED_ZBV, p, 2, 3.0, 1.0, 1.0, float(m))
            assert got == pytest.approx((p - 1) * 0.5, abs=1e-12)
            one = np.full(p, 0.5)
            assert makespan(zbv_table(p, m), p, one, one, one, 0.0, True) - 6 * m * 0.5 == pytest.approx(got)
        for m in (1, p):
            assert tr.pipeline_bubble(tr.PP_SCHED_ZBV, p, 2, 3.0, 1.0, 1.0, float(m)) > (p - 1) * 0.5


def test_zb_h1_execution_equals_the_papers_form_only_when_w_is_no_longer_than_f_and_b():
    """Equal ranks, m >= p: the execution of Primus' ZB-H1 table idles (p - 1)·(F + B - W)
    (Qi et al. §2.1) exactly when W <= min(F, B); with a longer W it idles more (the held-back W
    passes no longer fit the drain). training.pipeline_bubble's docstring states the equality
    at m >= pp without that condition."""
    vals = (0.5, 1.0, 1.5, 2.0)
    for p in (2, 4, 8):
        for m in (p, 2 * p, 4 * p):
            for f in vals:
                for b in vals:
                    for w in vals:
                        got = tr.pipeline_bubble(tr.PP_SCHED_ZB_H1, p, 1, f + b + w, w, f, float(m))
                        form = (p - 1) * max(0.0, f + b - w)
                        if w <= min(f, b):
                            assert got == pytest.approx(form, abs=1e-9)
                        else:
                            assert got > form + 1e-9


def test_executed_rank_bubble_carries_nan_and_inf():
    """A nan time on any rank gives nan (not the 0 a max() skipping nan would give); inf on the
    slowest gives inf; finite unequal ranks give the longest path of the graph built here."""
    p, m = 4, 8
    for sched, nch, table in ((tr.PP_SCHED_ZB_H1, 1, zb_h1_table(p, m)), (tr.PP_SCHED_ZBV, 2, zbv_table(p, m))):
        prog = tr.schedule_program(sched, p, m)
        work = np.empty((3, p))
        mask = np.array([0b0111, 0b1000], dtype=np.float64)   # ranks 0-2 one shape, rank 3 (the slowest) another
        t = np.array([3.0, 4.5])
        w = np.array([1.0, 1.2])
        fwd = np.array([1.0, 1.6])
        got = tr.executed_rank_bubble(prog, p, m, nch, t, w, fwd, mask, 2, 1, work[0], work[1], work[2])
        q = 1.0 / nch
        fr = np.array([q * 1.0] * 3 + [q * 1.6])
        wr = np.array([q * 1.0] * 3 + [q * 1.2])
        br = np.array([q * 1.0] * 3 + [q * 1.7])
        want = makespan(table, p, fr, br, wr, 0.0, nch == 2) - nch * m * q * 4.5
        assert got == pytest.approx(want, abs=1e-12) and got > 0
        # the step kernel's compact form of the same program gives the same
        cprog = pg.compact_program(prog, p, m)
        cost, end = np.empty(3 * p), np.empty(prog.shape[0])
        for tt in (t, np.array([np.nan, 4.5]), np.array([3.0, np.inf])):
            a = tr.executed_rank_bubble_compact(cprog, p, m, nch, tt, w, fwd, mask, 2, 1, cost, end)
            b = tr.executed_rank_bubble(prog, p, m, nch, tt, w, fwd, mask, 2, 1, work[0], work[1], work[2])
            assert (np.isnan(a) and np.isnan(b)) or a == b
        tn = np.array([np.nan, 4.5])
        assert np.isnan(tr.executed_rank_bubble(prog, p, m, nch, tn, w, fwd, mask, 2, 1, work[0], work[1], work[2]))
        ti = np.array([3.0, np.inf])
        assert tr.executed_rank_bubble(prog, p, m, nch, ti, w, fwd, mask, 2, 1, work[0], work[1], work[2]) == np.inf
        assert tr.pipeline_bubble(sched, p, nch, np.inf, 1.0, 1.0, float(m)) == np.inf
        assert np.isnan(tr.pipeline_bubble(sched, p, nch, np.nan, 1.0, 1.0, float(m)))


def makespan_per_chunk(table, p, cost, v):
    """:func:`makespan` with each pass at ``cost(rank, kind, chunk)`` (no send/receive time)."""
    nodes = [(r, x) for r in range(p) for x in table[r]]
    succ = {u: [] for u in nodes}
    indeg = dict.fromkeys(nodes, 0)
    for r in range(p):
        for i, x in enumerate(table[r]):
            ins = [(r, table[r][i - 1])] if i else []
            d = dep(x, r, p, v)
            if d is not None:
                ins.append((d[0], d[1]))
            for u in ins:
                succ[u].append((r, x))
                indeg[(r, x)] += 1
    start = dict.fromkeys(nodes, 0.0)
    q = deque(u for u in nodes if indeg[u] == 0)
    end = 0.0
    while q:
        u = q.popleft()
        e = start[u] + cost(u[0], u[1][0], u[1][1])
        end = max(end, e)
        for s in succ[u]:
            start[s] = max(start[s], e)
            indeg[s] -= 1
            if indeg[s] == 0:
                q.append(s)
    return end


@pytest.mark.xfail(strict=True, reason=(
    "executed_rank_bubble runs both V chunks of a rank at half its times, so the output layer, which a "
    "V schedule puts on rank 0's second chunk (training.context._stage_tables), is spread over both "
    "chunks: the execution with it on its own chunk is 0.5-1.9 % longer (pp 4-8, m 16-64, a head of "
    "0.3-1 layer; here 1.9 %). Open: per-chunk pass times in the replay"))
def test_zbv_prices_the_output_layer_on_its_own_chunk():
    """ZBV on 8 ranks, one layer per chunk (F = B = W = 1 per layer), 32 micro-batches, the output
    layer worth 0.65 of a layer (a Llama-2-7B-shaped 32k-vocabulary head beside a 4096-wide layer,
    by parameters) on rank 0's chunk 1: the library's step (m·T of the slowest rank + its executed
    bubble) against the execution with each chunk at its own times."""
    p, m, h = 8, 32, 0.65
    prog = tr.schedule_program(tr.PP_SCHED_ZBV, p, m)
    work = np.empty((3, p))
    t = np.array([3.0 * (2 + h), 6.0])           # rank 0 (embedding + head), the others
    fwd = np.array([2 + h, 2.0])
    w = np.array([2 + h, 2.0])
    mask = np.array([1.0, float(2**p - 2)])
    step = m * t[0] + tr.executed_rank_bubble(prog, p, m, 2, t, w, fwd, mask, 2, 0, work[0], work[1], work[2])
    cprog = pg.compact_program(prog, p, m)
    compact = tr.executed_rank_bubble_compact(cprog, p, m, 2, t, w, fwd, mask, 2, 0, np.empty(3 * p),
                                              np.empty(prog.shape[0]))
    assert m * t[0] + compact == step      # the step kernel's form: the same
    executed = makespan_per_chunk(zbv_table(p, m), p, lambda r, k, ch: 1.0 + (h if (r == 0 and ch == 1) else 0.0), True)
    assert step == pytest.approx(executed, rel=2e-3)
