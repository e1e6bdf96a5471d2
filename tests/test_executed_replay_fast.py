"""The step kernel's fast replay of the executed pipeline schedules (ZB-H1, ZBV, V-Half, V-Min):
the compact program (infra_lab._kernels.pipeline_greedy.compact_program, replay_compact) and
the per-rank bubble built on it (kt.executed_rank_bubble_compact, kt.executed_stage_bubble_compact,
kt.executed_table) against the full replay (v_greedy_replay_ranks, kt.executed_rank_bubble), bit
for bit, on random per-rank times: m below pp, below 2pp − 1, large m, nan and inf ranks."""

import itertools
import math

import numpy as np

from infra_lab._kernels import pipeline_greedy as pg
from infra_lab._kernels import training as kt
from infra_lab.scenario import PP_SCHEDULES

EXECUTED = [PP_SCHEDULES.index(s) for s in ("zb-h1", "zbv", "v-half", "v-min")]
# (pp, micro-batches): m < pp, m < 2pp − 1 (ZBV's table built for more), m = 1, large m
GRID = [(2, 1), (4, 2), (4, 3), (8, 5), (6, 9), (5, 10), (4, 8), (3, 40), (8, 64), (4, 500), (16, 33)]


def same(a, b):
    """Equal bit for bit as floats (nan equal to nan)."""
    return np.array_equal(np.array([a]), np.array([b]), equal_nan=True) and math.copysign(1.0, a) == math.copysign(1.0, b)


def _times(rng, pp, case):
    f, b, w = rng.uniform(0.2, 2.0, pp), rng.uniform(0.2, 2.0, pp), rng.uniform(0.0, 1.5, pp)
    r = int(rng.integers(pp))
    if case == "nan":
        (f, b, w)[int(rng.integers(3))][r] = np.nan
    elif case == "inf":
        (f, b, w)[int(rng.integers(3))][r] = np.inf
    elif case == "zero":
        f[r] = b[r] = w[r] = 0.0
    elif case == "equal":
        f[:], b[:], w[:] = f[0], b[0], w[0]
    return f, b, w


def test_compact_replay_equals_the_full_replay_bit_for_bit():
    rng = np.random.default_rng(23)
    for sched, (pp, mk) in itertools.product(EXECUTED, GRID):
        prog = kt.schedule_program(sched, pp, mk)
        cprog = pg.compact_program(prog, pp, mk)
        assert cprog.dtype == np.int32 and cprog.shape == (prog.shape[0] + pp, pg.COMPACT_COLS)
        end = np.empty(prog.shape[0])
        for case in ("plain", "plain", "equal", "zero", "nan", "inf"):
            f, b, w = _times(rng, pp, case)
            want = pg.v_greedy_replay_ranks(prog, pp, mk, f, b, w, 0.0)
            cost = np.column_stack([f, b, w]).ravel()
            got = pg.replay_compact(cprog, pp, cost, end)
            assert same(got, want), (sched, pp, mk, case, got, want)
            if case == "inf":
                assert got == np.inf
            elif case != "nan":
                assert np.isfinite(got)


def test_a_deadlocking_order_replays_to_inf_in_both_forms():
    pp, mk = 4, 6
    order = pg.zb_h1_order(pp, mk)
    order[1] = order[1][::-1].copy()            # rank 1 starts with a W: nothing it waits for runs first
    prog = pg.pipeline_program(order, pp, mk, False)
    assert (prog[:, 0] < 0).any()
    cprog = pg.compact_program(prog, pp, mk)
    assert (cprog[prog.shape[0]:, 1] == 1).all()
    ones = np.ones(pp)
    assert pg.v_greedy_replay_ranks(prog, pp, mk, ones, ones, ones, 0.0) == np.inf
    assert pg.replay_compact(cprog, pp, np.ones(3 * pp), np.empty(prog.shape[0])) == np.inf


def test_compact_rank_bubble_equals_the_full_one_bit_for_bit():
    """kt.executed_rank_bubble_compact (the step kernel's) against kt.executed_rank_bubble on
    random candidates, masks and times: a nan candidate gives nan, inf on the slowest inf, ranks
    beyond RANK_MASK_BITS priced at the slowest's times in both."""
    rng = np.random.default_rng(5)
    grid = GRID + [(kt.RANK_MASK_BITS + 2, 3)]
    for sched, (pp, mk) in itertools.product(EXECUTED, grid):
        if pp > 16 and sched != EXECUTED[0]:
            continue
        nch = kt.schedule_chunks(sched)
        prog = kt.schedule_program(sched, pp, mk)
        cprog = pg.compact_program(prog, pp, mk)
        work = [np.empty(pp) for _ in range(3)]
        cost, end = np.empty(3 * pp), np.empty(prog.shape[0])
        for case in ("plain", "plain", "one", "nan", "inf", "w-large"):
            nc = 1 if case == "one" else int(rng.integers(1, min(pp, kt.MAXC) + 1))
            shape = rng.integers(nc, size=pp)
            shape[:nc] = np.arange(nc)          # every candidate holds a rank
            mask = np.array([float(sum(2 ** r for r in range(min(pp, kt.RANK_MASK_BITS)) if shape[r] == k))
                             for k in range(nc)])
            t = rng.uniform(1.0, 3.0, nc)
            w = t * rng.uniform(0.0, 0.6 if case == "w-large" else 0.34, nc)
            fwd = t * rng.uniform(0.2, 0.4, nc)
            s = int(np.argmax(t))
            if case == "nan":
                fwd[int(rng.integers(nc))] = np.nan
            elif case == "inf":
                t[s] = np.inf
            want = kt.executed_rank_bubble(prog, pp, mk, nch, t, w, fwd, mask, nc, s, *work)
            got = kt.executed_rank_bubble_compact(cprog, pp, mk, nch, t, w, fwd, mask, nc, s, cost, end)
            assert same(got, want), (sched, pp, mk, case, got, want)


def test_compact_stage_bubble_equals_the_full_one_bit_for_bit():
    for sched, (pp, mk) in itertools.product(EXECUTED, GRID):
        nch = kt.schedule_chunks(sched)
        prog = kt.schedule_program(sched, pp, mk)
        cprog = pg.compact_program(prog, pp, mk)
        cost, end = np.empty(3 * pp), np.empty(prog.shape[0])
        for t, w, fwd in ((3.0, 1.0, 1.0), (4.7e-3, 1.1e-3, 1.6e-3), (2.0, 0.0, 0.5), (1.0, 0.9, 0.6),
                          (-1.0, 0.0, 0.0), (np.inf, 0.0, 0.0), (np.nan, 0.0, 0.0), (2.0, 0.5, np.nan)):
            want = kt.executed_stage_bubble(prog, pp, mk, nch, t, w, fwd)
            got = kt.executed_stage_bubble_compact(cprog, pp, mk, nch, t, w, fwd, cost, end)
            assert same(got, want), (sched, pp, mk, t, w, fwd, got, want)


def test_executed_table_is_the_compact_form_of_each_heads_program():
    for sched in EXECUTED:
        c = np.zeros(kt.N_CONST)
        c[kt.C_PP_SCHED] = sched
        c[kt.C_GBATCH] = 96.0
        rows = []
        for pp, dp, mbs in itertools.product((1, 2, 3, 8), (1, 2, 5), (1, 3)):
            h = np.zeros(kt.N_HEAD, np.int64)
            h[kt.H_PP], h[kt.H_DP], h[kt.H_MBS] = pp, dp, mbs
            rows += [h, h]
        heads = np.array(rows)
        progs, span = kt.executed_table(c, heads)
        progs_p, span_p = kt.executed_table_parallel(c, heads)
        assert (progs == progs_p).all() and (span == span_p).all()
        full, fspan = kt.v_greedy_table(c, heads)
        for h, (a, b), (fa, fb) in zip(heads, span, fspan, strict=True):
            pp = int(h[kt.H_PP])
            if pp == 1:
                assert a == b == 0
                continue
            mk = kt.micro_batches_int(96.0 / (h[kt.H_DP] * h[kt.H_MBS]))
            assert (progs[a:b] == pg.compact_program(full[fa:fb], pp, mk)).all(), (sched, pp, mk)
    c[kt.C_PP_SCHED] = PP_SCHEDULES.index("1f1b")
    progs, span = kt.executed_table(c, heads)
    assert progs.shape[0] == 0 and (span == 0).all()
