"""The step kernel's fast replay of the executed pipeline schedules (ZB-H1, ZBV, V-Half, V-Min):
the compact program (infra_lab._kernels.pipeline_greedy.compact_program, replay_compact) and
the per-rank bubble built on it (kt.executed_rank_bubble_compact, kt.executed_stage_bubble_compact,
kt.executed_table) against the full replay (v_greedy_replay_chunks, kt.executed_rank_bubble), bit
for bit, on random per-chunk times: m below pp, below 2pp − 1, large m, nan and inf ranks."""

import itertools
import math

import numpy as np

from infra_lab._kernels import pipeline_greedy as pg
from infra_lab._kernels import training as kt
from infra_lab._kernels.pipeline_p2p import primus_p2p_count
from infra_lab.scenario import PP_SCHEDULES

EXECUTED = [PP_SCHEDULES.index(s) for s in ("zb-h1", "zbv", "v-half", "v-min")]
# (pp, micro-batches): m < pp, m < 2pp − 1 (ZBV's table built for more), m = 1, large m
GRID = [(2, 1), (4, 2), (4, 3), (8, 5), (6, 9), (5, 10), (4, 8), (3, 40), (8, 64), (4, 500), (16, 33)]


def same(a, b):
    """Equal bit for bit as floats (nan equal to nan)."""
    return np.array_equal(np.array([a]), np.array([b]), equal_nan=True) and math.copysign(1.0, a) == math.copysign(1.0, b)


def _times(rng, pp, case, stride=1):
    """Random F, B, W per entry (a rank, or with ``stride`` 2 a rank's chunk: the nan, inf or
    zero case then hits a chunk 0, which every order runs)."""
    f, b, w = rng.uniform(0.2, 2.0, pp), rng.uniform(0.2, 2.0, pp), rng.uniform(0.0, 1.5, pp)
    r = stride * int(rng.integers(pp // stride))
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
            f, b, w = _times(rng, 2 * pp, case, 2)   # per chunk: rank r's chunk ch at 2r + ch
            want = pg.v_greedy_replay_chunks(prog, pp, mk, f, b, w, 0.0)
            cost = np.column_stack([f, b, w]).ravel()
            got = pg.replay_compact(cprog, pp, cost, end)
            assert same(got, want), (sched, pp, mk, case, got, want)
            # one time per rank: both chunks at it
            fr, br, wr = f[::2].copy(), b[::2].copy(), w[::2].copy()
            got1 = pg.replay_compact(cprog, pp, np.column_stack([fr.repeat(2), br.repeat(2), wr.repeat(2)]).ravel(), end)
            assert same(got1, pg.v_greedy_replay_ranks(prog, pp, mk, fr, br, wr, 0.0))
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
    assert pg.replay_compact(cprog, pp, np.ones(6 * pp), np.empty(prog.shape[0])) == np.inf


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
        work = [np.empty(2 * pp) for _ in range(3)]
        cost, end = np.empty(6 * pp), np.empty(prog.shape[0])
        for case in ("plain", "plain", "one", "nan", "inf", "w-large", "halves"):
            nc = 1 if case == "one" else int(rng.integers(1, min(pp, kt.MAXC) + 1))
            shape = rng.integers(nc, size=pp)
            shape[:nc] = np.arange(nc)          # every candidate holds a rank
            mask = np.array([float(sum(2 ** r for r in range(min(pp, kt.RANK_MASK_BITS)) if shape[r] == k))
                             for k in range(nc)])
            t = rng.uniform(1.0, 3.0, nc)
            w = t * rng.uniform(0.0, 0.6 if case == "w-large" else 0.34, nc)
            fwd = t * rng.uniform(0.2, 0.4, nc)
            s = int(np.argmax(t))
            # the first chunk's share of each (a V; not read with one chunk)
            t0, w0, fwd0 = (x * rng.uniform(0.3, 0.7, nc) for x in (t, w, fwd))
            if case == "halves":
                t0, w0, fwd0 = 0.5 * t, 0.5 * w, 0.5 * fwd
            which = int(rng.integers(2))
            if case == "nan":          # on the rank's F, or on its first chunk's time (read with two chunks)
                (fwd, t0)[which][int(rng.integers(nc))] = np.nan
            elif case == "inf":
                t[s] = np.inf
            want = kt.executed_rank_bubble(prog, pp, mk, nch, t, w, fwd, t0, w0, fwd0, mask, nc, s, *work)
            got = kt.executed_rank_bubble_compact(cprog, pp, mk, nch, t, w, fwd, t0, w0, fwd0, mask, nc, s, cost, end)
            assert same(got, want), (sched, pp, mk, case, got, want)
            if case == "nan":
                assert np.isnan(got) == (which == 0 or nch == 2)
            if case == "halves" and nc == 1:    # every rank alike: the one-stage form, bit for bit
                assert same(got, kt.executed_stage_bubble(prog, pp, mk, nch, t[0], w[0], fwd[0]))


def test_compact_stage_bubble_equals_the_full_one_bit_for_bit():
    for sched, (pp, mk) in itertools.product(EXECUTED, GRID):
        nch = kt.schedule_chunks(sched)
        prog = kt.schedule_program(sched, pp, mk)
        cprog = pg.compact_program(prog, pp, mk)
        cost, end = np.empty(6 * pp), np.empty(prog.shape[0])
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
        full, fspan = kt.v_greedy_table(c, heads)
        for h, (a, b), (fa, fb) in zip(heads, span, fspan, strict=True):
            pp = int(h[kt.H_PP])
            if pp == 1:
                assert a == b == 0
                continue
            mk = kt.micro_batches_int(96.0 / (h[kt.H_DP] * h[kt.H_MBS]))
            cprog = pg.compact_program(full[fa:fb], pp, mk)
            # the first trailer row's third column (unused by the replay) holds the transfers
            # the step waits for under Primus' runtime (pipeline_p2p.primus_p2p_count)
            assert cprog[cprog.shape[0] - pp, 2] == 0
            cprog[cprog.shape[0] - pp, 2] = primus_p2p_count(sched, pp, mk)
            assert (progs[a:b - pp] == cprog).all(), (sched, pp, mk)
            # then each rank's chunk-forwards at its peak (chunk_inflight_peaks of that program)
            peaks = np.zeros((pp, pg.COMPACT_COLS), np.int32)
            pg.chunk_inflight_peaks(cprog, pp, peaks)
            assert (progs[b - pp:b] == peaks).all() and (peaks[:, 0] > 0).all(), (sched, pp, mk)
    c[kt.C_PP_SCHED] = PP_SCHEDULES.index("1f1b")
    progs, span = kt.executed_table(c, heads)
    assert progs.shape[0] == 0 and (span == 0).all()


def test_three_replays_at_once_equal_three_replays_bit_for_bit():
    """replay_compact3 (the step kernel's three recompute modes in one pass) against
    replay_compact per mode, with nan, inf and zero ranks in some modes."""
    rng = np.random.default_rng(7)
    for sched, (pp, mk) in itertools.product(EXECUTED, GRID):
        prog = kt.schedule_program(sched, pp, mk)
        cprog = pg.compact_program(prog, pp, mk)
        n = prog.shape[0]
        end, end3, span = np.empty(n), np.empty(3 * n), np.empty(3)
        for cases in (("plain", "plain", "plain"), ("nan", "plain", "inf"), ("zero", "equal", "nan")):
            costs = [np.column_stack(_times(rng, 2 * pp, case, 2)).ravel() for case in cases]
            pg.replay_compact3(cprog, pp, np.column_stack(costs).ravel(), end3, span)
            for k in range(3):
                want = pg.replay_compact(cprog, pp, costs[k], end)
                assert same(span[k], want), (sched, pp, mk, cases, k)
                assert same(want, pg.v_greedy_replay_chunks(prog, pp, mk, *costs[k].reshape(2 * pp, 3).T.copy(), 0.0))
