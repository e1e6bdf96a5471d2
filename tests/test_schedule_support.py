"""il.estimate names a pipeline schedule the scenario's stack does not run (the table il.search
reads), instead of pricing it silently."""

from __future__ import annotations

import warnings

import pytest

import infra_lab as il
from infra_lab.errors import ScheduleSupportWarning


def test_estimate_warns_for_a_schedule_the_stack_does_not_run():
    sc = il.load_scenario("zaya1-h100-counterpart").replace(parallelism={"pp": 4, "vp": 2, "pp_schedule": "v-min"})
    with pytest.warns(ScheduleSupportWarning, match=r"pp_schedule = 'v-min': the megatron-core-cuda stack .*1f1b, interleaved"):
        e = il.estimate(sc)
    assert e.step_time_s > 0
    assert "v-min" not in il.training.stack_pp_schedules(e.stack)


@pytest.mark.parametrize("schedule", ["v-min", "zbv", "zb-h1"])
def test_no_warning_where_the_stack_runs_the_schedule(schedule):
    # megatron-core-rocm (Primus): all six schedules; global batch 4,096 on dp 256 at micro-batch 2:
    # m = 8 micro-batches per step, which Primus' ZBV table needs at pp 4 (m >= 2·pp − 1 = 7; the
    # scenario's 2,048 gives m = 4, which it does not run: tests/test_search_schedule_counts.py)
    sc = il.load_scenario("zaya1-ibm-mi300x").replace(training={"global_batch": 4096})
    plan = {"pp": 4, "vp": 1 if schedule == "zb-h1" else 2, "pp_schedule": schedule}
    with warnings.catch_warnings():
        warnings.simplefilter("error", ScheduleSupportWarning)
        assert il.estimate(sc.replace(parallelism=plan)).step_time_s > 0
