"""Shared assertion of the training-step equality tests: the numba kernel behind il.estimate
equals the plain reference (infra_lab._kernels.training_reference) and il.memory on one
scenario."""

from __future__ import annotations

import pytest

import infra_lab as il


def assert_estimate_equals_reference(sc: il.Scenario):
    """il.estimate(sc) against step_reference(sc): every breakdown part, the step time, the
    memory per GPU (also against il.memory.training_memory_total), the raw data-parallel
    communication and the fit, to rel 1e-9. Returns the estimate."""
    from infra_lab._kernels.training_reference import step_reference

    est = il.estimate(sc)
    ref = step_reference(sc)
    for comp, sec in est.breakdown.iter_rows():
        assert sec == pytest.approx(ref[comp], rel=1e-9, abs=1e-12), comp
    assert est.step_time_s == pytest.approx(ref["step_time_s"], rel=1e-9)
    assert est.memory_per_gpu_bytes == pytest.approx(ref["memory_per_gpu_bytes"], rel=1e-9)
    assert est.memory_per_gpu_bytes == pytest.approx(il.memory.training_memory_total(sc), rel=1e-9)
    assert est.dp_comm_raw_s == pytest.approx(ref["dp_comm_raw_s"], rel=1e-9)
    assert est.fits == ref["fits"]
    return est


def assert_row_is_estimate(row: dict, est, rel: float = 1e-9):
    """A search row against il.estimate of its plan: the step time equal to ``rel``, except for an
    interleaved plan (pp > 1, vp > 1) or a 1F1B plan with pp > 1, whose bubble the search prices
    by the closed form and il.estimate by executing Megatron-Core's order per rank (and per chunk;
    tests/test_interleaved_executed.py, tests/test_1f1b_executed.py): there the step less the
    bubble is equal (every other component is the same computation), and for 1F1B the executed
    bubble is at most the closed form's (Alpa's latency is an upper bound of the execution)."""
    one_f_one_b = row["pp"] > 1 and row["vp"] == 1 and str(row.get("pp_schedule", "1f1b")) == "1f1b"
    if row["pp"] > 1 and (row["vp"] > 1 or one_f_one_b):
        bubble = dict(est.breakdown.iter_rows())["pp_bubble"]
        assert est.step_time_s - bubble == pytest.approx(row["step_time_s"] - row["pp_bubble"], rel=rel), row
        if one_f_one_b:
            assert bubble <= row["pp_bubble"] * (1 + 1e-9) + 1e-12, row
    else:
        assert est.step_time_s == pytest.approx(row["step_time_s"], rel=rel), row
