"""The kernel that counts each rank's in-flight chunk-forwards over an executed zero-bubble order
(``_kernels.pipeline_greedy.chunk_inflight_peaks``, read by il.memory and the step kernel) equals
its plain-Python reference (``pipeline_greedy_reference.chunk_inflight_peaks``: a walk of the
reference order's pass lists, rank by rank), for ZB-H1, ZBV, V-Half and V-Min."""

from __future__ import annotations

import numpy as np
import pytest

from infra_lab._kernels import pipeline_greedy as pg
from infra_lab._kernels import pipeline_greedy_reference as ref
from infra_lab._kernels.training import schedule_program
from infra_lab.scenario import PP_SCHEDULES

CASES = [(s, p, m) for s in ("zb-h1", "zbv", "v-half", "v-min") for p in (2, 3, 4, 5, 8)
         for m in sorted({1, p - 1, p, 2 * p - 1, 2 * p + 1, 3 * p + 1, 24})]


@pytest.mark.parametrize("schedule,p,m", CASES)
def test_kernel_equals_the_walk_of_the_reference_order(schedule, p, m):
    prog = pg.compact_program(schedule_program(PP_SCHEDULES.index(schedule), p, m), p, m)
    out = np.full((p, pg.COMPACT_COLS), -7, np.int32)
    pg.chunk_inflight_peaks(prog, p, out)
    want = ref.chunk_inflight_peaks(p, m, schedule)
    assert [tuple(row) for row in out.tolist()] == [want[r] for r in range(p)]
    if schedule == "zb-h1":
        assert all(a == b == 0 for _, a, b in want.values())


def test_reference_on_a_hand_walked_zb_h1_rank():
    """ZB-H1, p = 2, m = 3, rank 0 (Primus zerobubble.py: one warm-up F, then F, B and the W of
    the same micro-batch): F0 F1 B0 W0 F2 B1 W1 B2 W2 holds 1 2 2 1 2 2 1 1 0 chunk-forwards,
    a peak of 2, all on chunk 0; rank 1 (no warm-up, its W held back one micro-batch)
    F0 B0 F1 B1 W0 F2 B2 W1 W2 holds 1 1 2 2 1 2 2 1 0: also 2."""
    assert ref.zb_h1_order(2, 3)[0] == [("F", 0, 0), ("F", 0, 1), ("B", 0, 0), ("W", 0, 0), ("F", 0, 2),
                                        ("B", 0, 1), ("W", 0, 1), ("B", 0, 2), ("W", 0, 2)]
    assert ref.chunk_inflight_peaks(2, 3, "zb-h1") == {0: (2, 0, 0), 1: (2, 0, 0)}
