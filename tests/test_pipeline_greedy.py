"""The greedy V-Half / V-Min scheduler (infra_lab._kernels.pipeline_greedy): the numba kernel
against the separately written plain-Python reference (order and event-simulated step time), and
limiting cases against Qi et al., "Pipeline Parallelism with Controllable Memory", NeurIPS 2024
(https://arxiv.org/abs/2405.15362)."""

import itertools
import math

import pytest

from infra_lab._kernels import pipeline_greedy as pg
from infra_lab._kernels import pipeline_greedy_reference as ref
from infra_lab._kernels import training as kt
from infra_lab.scenario import PP_SCHEDULES

KINDS = "FBW"


def _kernel_order(p, m, schedule):
    o = pg.v_greedy_order(p, m, schedule == "v-min")
    return {r: [(KINDS[x // (2 * m)], (x // m) % 2, x % m) for x in o[r]] for r in range(p)}


@pytest.mark.parametrize("schedule", ["v-half", "v-min"])
def test_kernel_equals_reference_on_a_grid(schedule):
    for p, m in itertools.product((2, 3, 4, 5, 6, 8), (1, 2, 3, 7, 16, 33)):
        order = ref.greedy_order(p, m, schedule)
        assert _kernel_order(p, m, schedule) == order, (p, m)
        for r in range(p):   # every pass once, W after its B, each rank's passes in mb order
            assert sorted(order[r]) == sorted(itertools.product("FBW", (0, 1), range(m)))
            pos = {op: i for i, op in enumerate(order[r])}
            assert all(pos[("W", c, k)] > pos[("B", c, k)] for c in (0, 1) for k in range(m))
        for f, b, w, c in ((1.0, 1.0, 1.0, 0.0), (4.7e-3, 6.1e-3, 3.5e-3, 0.0), (1.0, 2.0, 0.5, 0.3),
                           (0.2, 1.0, 1.0, 0.05)):
            assert pg.v_greedy_bubble(p, m, schedule == "v-min", f, b, w, c) == pytest.approx(
                ref.bubble(p, m, schedule, f, b, w, c), rel=1e-12, abs=1e-15), (p, m, f, b, w, c)


@pytest.mark.parametrize("p", [4, 6, 8])
def test_equal_times_match_the_paper_within_its_overhead(p):
    """T_F = T_B = T_W: the paper's V-Half bubble is about 1/2 of 1F1B's (p − 1)·3·(F+B+W)...
    for two chunks of one unit each, V-Min's about 2/3, "+ O(n)" overhead. The greedy schedule
    stays at or below those fractions and above ZBV's zero, at every m."""
    for m in (2 * p, 4 * p, 16 * p):
        one_f1b = (p - 1) * 6.0           # 1F1B's idle with the rank's micro-batch 2·(1 + 1 + 1)
        half = ref.bubble(p, m, "v-half", 1.0, 1.0, 1.0)
        vmin = ref.bubble(p, m, "v-min", 1.0, 1.0, 1.0)
        assert 0.0 < half < vmin
        assert 0.25 * one_f1b <= half <= 0.5 * one_f1b
        assert 0.5 * one_f1b <= vmin <= 2.0 / 3.0 * one_f1b


def test_bubble_share_vanishes_with_many_microbatches_at_equal_times():
    """At T_F = T_B = T_W the greedy schedule's idle time is a constant (p-dependent) number of
    passes, so its share of the step goes to zero as m grows."""
    for schedule in ("v-half", "v-min"):
        bubbles, shares = [], []
        for m in (8, 64, 512):
            bub = pg.v_greedy_bubble(8, m, schedule == "v-min", 1.0, 1.0, 1.0, 0.0)
            bubbles.append(bub)
            shares.append(bub / (bub + 6.0 * m))
        assert bubbles[0] == bubbles[1] == bubbles[2]
        assert shares[0] > shares[1] > shares[2] and shares[2] < 0.01


def test_unequal_times_keep_a_steady_state_loss():
    """With unequal F, B, W the unit-slot order's steady state runs slower than 2·(F + B + W) per
    micro-batch (the sail-sg README's "degradation when F/B/W are not balanced"): the idle time
    grows with m and its share tends to a constant above zero, larger for V-Min than V-Half."""
    for schedule, floor in (("v-half", 0.05), ("v-min", 0.15)):
        shares = []
        for m in (64, 256, 1024):
            bub = pg.v_greedy_bubble(8, m, schedule == "v-min", 4.7, 6.1, 3.5, 0.0)
            shares.append(bub / (bub + 2 * m * (4.7 + 6.1 + 3.5)))
        assert shares[0] > shares[1] > shares[2] > floor
        assert shares[1] - shares[2] < 0.05


def test_unequal_times_raise_the_bubble_and_order_schedules():
    """The Primus blog's Llama-2 7B stage (per chunk F 4.7, B 6.1, W 3.5 ms): V-Min idles more
    than V-Half, V-Half more than ZBV (Primus' zbv-formatted table executed); both more than at the paper's equal times
    with the same per-micro-batch work."""
    p, m = 8, 32
    f, b, w = 4.7e-3, 6.1e-3, 3.5e-3
    t = 2 * (f + b + w)
    vh = kt.pipeline_bubble(4, p, 2, t, 2 * w, 2 * f, m)
    vm = kt.pipeline_bubble(5, p, 2, t, 2 * w, 2 * f, m)
    zbv = kt.pipeline_bubble(3, p, 2, t, 2 * w, 2 * f, m)
    assert zbv < vh < vm
    assert vh == pytest.approx(ref.bubble(p, m, "v-half", f, b, w), rel=1e-12)
    assert vm == pytest.approx(ref.bubble(p, m, "v-min", f, b, w), rel=1e-12)
    eq = t / 6
    assert vm > ref.bubble(p, m, "v-min", eq, eq, eq)


def test_peak_in_flight_matches_the_memory_model():
    """The greedy order's peak of chunk-forwards held (F +1, W −1: Primus' memory_delta), in
    micro-batches of the rank's layers (two chunks), is the in-flight count the memory model
    prices (infra_lab._kernels.memory.inflight_schedule: ⌊(pp + 2)/2⌋, ⌊(pp + 4)/3⌋)."""
    from infra_lab._kernels import memory as km

    for schedule, sched in (("v-half", km.PP_SCHED_V_HALF), ("v-min", km.PP_SCHED_V_MIN)):
        for p in (4, 6, 8, 16):
            for m in (2 * p, 4 * p):
                order = ref.greedy_order(p, m, schedule)
                for r in range(p):
                    held = peak = 0
                    for kind, _, _ in order[r]:
                        held += {"F": 1, "B": 0, "W": -1}[kind]
                        peak = max(peak, held)
                    assert peak / 2 == km.inflight_schedule(sched, p, 2, r, m), (schedule, p, m, r)


@pytest.mark.parametrize("schedule", ["zb-h1", "zbv", "v-half", "v-min"])
def test_step_kernel_table_replays_the_orders_it_would_build(schedule):
    """The step kernel builds each (pp, micro-batches) order of an executed schedule once per call
    (kt.v_greedy_table) and replays it per head: every head's rows are the program of its own
    order, and the bubble replayed from the table equals the one built afresh
    (kt.pipeline_bubble, bit for bit) and the reference's."""
    import numpy as np

    sched = PP_SCHEDULES.index(schedule)
    k = kt.schedule_chunks(sched)
    c = np.zeros(kt.N_CONST)
    c[kt.C_PP_SCHED] = sched
    c[kt.C_GBATCH] = 96.0
    rows = []
    for pp, dp, mbs in itertools.product((1, 2, 3, 4, 8), (1, 2, 4, 5), (1, 2, 3)):
        h = np.zeros(kt.N_HEAD, np.int64)
        h[kt.H_PP], h[kt.H_DP], h[kt.H_MBS] = pp, dp, mbs
        rows += [h, h]   # repeated keys share one order
    heads = np.array(rows)
    progs, span = kt.v_greedy_table(c, heads)
    progs_p, span_p = kt.v_greedy_table_parallel(c, heads)
    assert (progs == progs_p).all() and (span == span_p).all()
    keys = {(int(h[kt.H_PP]), kt.micro_batches_int(96.0 / (h[kt.H_DP] * h[kt.H_MBS]))) for h in heads
            if h[kt.H_PP] > 1}
    assert progs.shape[0] == sum(3 * k * pp * mk for pp, mk in keys)   # each key built once
    for h, (a, b) in zip(heads, span, strict=True):
        pp = int(h[kt.H_PP])
        m = 96.0 / (h[kt.H_DP] * h[kt.H_MBS])
        mk = kt.micro_batches_int(m)
        if pp == 1:
            assert a == b == 0
            continue
        if k == 1:
            fresh = pg.pipeline_program(pg.zb_h1_order(pp, mk), pp, mk, False)
        elif schedule == "zbv":
            fresh = pg.v_greedy_program(pg.zbv_order(pp, mk), pp, mk)
        else:
            fresh = pg.v_greedy_program(pg.v_greedy_order(pp, mk, schedule == "v-min"), pp, mk)
        assert (progs[a:b] == fresh).all(), (pp, mk)
        for t, w, fwd in ((3.0, 1.0, 1.0), (4.7e-3, 1.1e-3, 1.6e-3), (2.0, 0.0, 0.5), (1.0, 0.6, 0.2)):
            got = kt.executed_stage_bubble(progs[a:b], pp, mk, k, t, w, fwd)
            assert got == kt.pipeline_bubble(sched, pp, 3 - k, t, w, fwd, m), (pp, mk, t, w, fwd)
            assert got == pytest.approx(ref.bubble(pp, mk, schedule, fwd / k, max(0.0, t - fwd - w) / k, w / k),
                                        rel=1e-12, abs=1e-15), (pp, mk, t, w, fwd)
    c[kt.C_PP_SCHED] = PP_SCHEDULES.index("interleaved")   # a closed-form schedule: nothing built
    progs, span = kt.v_greedy_table(c, heads)
    assert progs.shape[0] == 0 and (span == 0).all()


def test_replay_program_runs_each_pass_once_after_its_input():
    """v_greedy_program / pipeline_program list every pass once, each after the pass it waits
    for, so the replay (one pass over the rows) prices the eager execution the order implies
    (the greedy V orders, Primus' ZBV table; ZB-H1's, one chunk per rank)."""
    for p, m, which in itertools.product((2, 3, 5, 8), (1, 4, 9), ("v-min", "v-half", "zbv", "zb-h1")):
        if which == "zb-h1":
            prog = pg.pipeline_program(pg.zb_h1_order(p, m), p, m, False)
            cells = [r * 6 * m + kind * 2 * m + j for r in range(p) for kind in range(3) for j in range(m)]
        else:
            order = pg.zbv_order(p, m) if which == "zbv" else pg.v_greedy_order(p, m, which == "v-min")
            prog = pg.v_greedy_program(order, p, m)
            cells = list(range(p * 6 * m))
        assert (prog[:, 0] >= 0).all()                       # no deadlock
        assert sorted(prog[:, 1]) == cells                    # every pass once
        seen = set()
        for _, cell, dep, _ in prog:
            assert dep < 0 or dep in seen
            seen.add(cell)


def test_equal_times_share_of_1f1b_as_documented():
    """kt.pipeline_bubble's docstring: at T_F = T_B = T_W the greedy schedules idle 0.28–0.47
    (V-Half) and 0.57–0.64 (V-Min) of 1F1B's (pp − 1)·t for pp = 4–8, the same at m = 8–64 (it
    said 0.28–0.40 / 0.61–0.62, true only at pp 4 and 8), each below the paper's 1/2 and 2/3."""
    shares = {}
    for pp in range(4, 9):
        for m in (8, 64):
            for s, name in ((4, "v-half"), (5, "v-min")):
                v = kt.pipeline_bubble(s, pp, 2, 3.0, 1.0, 1.0, m) / ((pp - 1) * 3.0)
                assert v == pytest.approx(ref.bubble(pp, m, name, 0.5, 0.5, 0.5) / ((pp - 1) * 3.0), rel=1e-12)
                shares.setdefault((pp, name), set()).add(round(v, 2))
    assert all(len(v) == 1 for v in shares.values())       # independent of m here
    vh = [shares[(pp, "v-half")].pop() for pp in range(4, 9)]
    vm = [shares[(pp, "v-min")].pop() for pp in range(4, 9)]
    assert vh == [0.28, 0.46, 0.37, 0.47, 0.40] and vm == [0.61, 0.58, 0.57, 0.64, 0.62]
    assert max(vh) < 0.5 and max(vm) < 2 / 3


def test_a_pass_that_never_ends_is_not_a_zero_bubble():
    """A stage time of inf (a plan whose collective has no path) made the V bubble 0: the makespan
    less the work was inf − inf = nan, and "nan > 0" is False. It is inf now, as 1F1B's (pp − 1)·t,
    in the kernel, the reference and the step kernel's closed forms (ZB-H1's and ZBV's t − k·w had
    the same nan); nan stays nan; zero times still give 0."""
    inf, nan = math.inf, math.nan
    for schedule in ("v-half", "v-min"):
        vmin = schedule == "v-min"
        for f, b, w in ((inf, 1.0, 1.0), (1.0, inf, 1.0), (1.0, 1.0, inf)):
            assert pg.v_greedy_bubble(8, 16, vmin, f, b, w, 0.0) == inf
            assert ref.bubble(8, 16, schedule, f, b, w) == inf
        assert pg.v_greedy_bubble(8, 16, vmin, 1.0, 1.0, 1.0, inf) == inf
        assert pg.v_greedy_bubble(8, 16, vmin, 0.0, 0.0, 0.0, 0.0) == 0.0
        assert ref.bubble(8, 16, schedule, 0.0, 0.0, 0.0) == 0.0
        prog = pg.v_greedy_program(pg.v_greedy_order(8, 16, vmin), 8, 16)
        assert kt.v_greedy_stage_bubble(prog, 8, 16, inf, 1.0, 1.0) == inf
        assert kt.v_greedy_stage_bubble(prog, 8, 16, inf, inf, inf) == inf
        assert math.isnan(kt.v_greedy_stage_bubble(prog, 8, 16, nan, 0.0, 0.0))
        assert kt.v_greedy_stage_bubble(prog, 8, 16, 0.0, 0.0, 0.0) == 0.0
    for sched in range(len(PP_SCHEDULES)):
        vp = 2 if PP_SCHEDULES[sched] in ("interleaved", "zbv", "v-half", "v-min") else 1
        assert kt.pipeline_bubble(sched, 8, vp, inf, inf, inf, 16.0) == inf, PP_SCHEDULES[sched]
        assert kt.pipeline_bubble(sched, 8, vp, inf, 1.0, 1.0, 16.0) == inf, PP_SCHEDULES[sched]
        assert kt.pipeline_bubble(sched, 8, vp, 0.0, 0.0, 0.0, 16.0) == 0.0
        assert kt.pipeline_bubble(sched, 1, 1, inf, inf, inf, 16.0) == 0.0
