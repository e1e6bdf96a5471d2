"""The executed schedules' bubble kernels (ZB-H1, ZBV, V-Half, V-Min) against the separately
written event simulation (infra_lab._kernels.pipeline_greedy_reference.bubble). Equal ranks:
kt.executed_stage_bubble, its compact form kt.executed_stage_bubble_compact (the search's
replay) and, for the greedy V schedules, kt.v_greedy_stage_bubble. Each rank at its own times:
kt.executed_rank_bubble_compact and, for the V schedules, kt.v_greedy_rank_bubble (the full
kt.executed_rank_bubble has its own test in test_pp_schedules.py). Seeded random times, a few
hundred cases. A chunk takes 1/nch of its rank's forward F, backward B = t − fwd − w and
weight-gradient W."""

from __future__ import annotations

import numpy as np
import pytest

from infra_lab._kernels import pipeline_greedy as pg
from infra_lab._kernels import pipeline_greedy_reference as ref
from infra_lab._kernels import training as kt
from infra_lab.scenario import PP_SCHEDULES

GRID = ((2, 1), (4, 3), (4, 8), (5, 10), (8, 5), (6, 9), (3, 17))


@pytest.mark.parametrize("name", ["zb-h1", "zbv", "v-half", "v-min"])
def test_stage_bubble_kernels_equal_the_event_simulation(name):
    sched = PP_SCHEDULES.index(name)
    nch = int(kt.schedule_chunks(sched))
    rng = np.random.default_rng(sched)
    for pp, mk in GRID:
        prog = kt.schedule_program(sched, pp, mk)
        cprog = pg.compact_program(prog, pp, mk)
        cost, end = np.empty(6 * pp), np.empty(prog.shape[0])
        for _ in range(8):
            t = float(rng.uniform(0.5, 3.0))
            w = t * float(rng.uniform(0.0, 0.34))
            fwd = t * float(rng.uniform(0.2, 0.4))
            want = ref.bubble(pp, mk, name, fwd / nch, max(0.0, t - fwd - w) / nch, w / nch)
            case = (name, pp, mk, t, w, fwd)
            assert kt.executed_stage_bubble(prog, pp, mk, nch, t, w, fwd) == pytest.approx(
                want, rel=1e-12, abs=1e-12), case
            assert kt.executed_stage_bubble_compact(cprog, pp, mk, nch, t, w, fwd, cost, end) == pytest.approx(
                want, rel=1e-12, abs=1e-12), case
            if name in ("v-half", "v-min"):
                assert kt.v_greedy_stage_bubble(prog, pp, mk, t, w, fwd) == pytest.approx(
                    want, rel=1e-12, abs=1e-12), case


@pytest.mark.parametrize("name", ["zb-h1", "zbv", "v-half", "v-min"])
def test_rank_bubble_kernels_equal_the_event_simulation(name):
    sched = PP_SCHEDULES.index(name)
    nch = int(kt.schedule_chunks(sched))
    rng = np.random.default_rng(10 + sched)
    for pp, mk in GRID:
        prog = kt.schedule_program(sched, pp, mk)
        cprog = pg.compact_program(prog, pp, mk)
        cost, end = np.empty(6 * pp), np.empty(prog.shape[0])
        mask = np.array([2.0 ** r for r in range(pp)])      # one rank per candidate
        for _ in range(6):
            t = rng.uniform(1.0, 2.0, pp)
            w = t * rng.uniform(0.0, 0.34, pp)
            fwd = t * rng.uniform(0.2, 0.4, pp)
            s = int(np.argmax(t))
            want = ref.bubble(pp, mk, name, [x / nch for x in fwd],
                              [max(0.0, t[i] - fwd[i] - w[i]) / nch for i in range(pp)], [x / nch for x in w], slow=s)
            case = (name, pp, mk, s)
            got = kt.executed_rank_bubble_compact(cprog, pp, mk, nch, t, w, fwd, 0.5 * t, 0.5 * w, 0.5 * fwd,
                                                  mask, pp, s, cost, end)
            assert got == pytest.approx(want, rel=1e-12, abs=1e-12), case
            if name in ("v-half", "v-min"):
                work = [np.empty(2 * pp) for _ in range(3)]
                got = kt.v_greedy_rank_bubble(prog, pp, mk, t, w, fwd, 0.5 * t, 0.5 * w, 0.5 * fwd, mask, pp, s, *work)
                assert got == pytest.approx(want, rel=1e-12, abs=1e-12), case
