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


def assert_step_and_bubble_equal_reference(sc: il.Scenario):
    """il.estimate(sc)'s step time and pipeline bubble against step_reference(sc), to rel 1e-9
    (the executed-schedule tests: the bubble is where the executed order prices). Returns the
    estimate."""
    from infra_lab._kernels.training_reference import step_reference

    est = il.estimate(sc)
    r = step_reference(sc)
    assert est.step_time_s == pytest.approx(r["step_time_s"], rel=1e-9)
    assert dict(est.breakdown.iter_rows())["pp_bubble"] == pytest.approx(r["pp_bubble"], rel=1e-9)
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


def assert_fsdp_term_agrees(sc: il.Scenario, memory: dict, term: str, unsharded_queue: float = 0.0):
    """The FSDP memory component ``term`` (:data:`infra_lab._kernels.memory.MEM_NAMES`) through
    the memory kernel ``training_bytes`` and its plain reference on the same inputs (stage sizes
    from ``sc``'s first stage candidate, the other sizes fixed, Megatron-FSDP's queue floor
    ``unsharded_queue`` [parameters], 0 for PyTorch FSDP2) equals ``memory[term]`` (il.memory's
    component) to rel 1e-12; il.estimate's and step_reference's memory per GPU equal
    il.memory.training_memory_total to rel 1e-9."""
    from infra_lab._kernels.memory import MEM_NAMES, training_bytes, training_bytes_reference
    from infra_lab._kernels.training_reference import step_reference

    cand = il.memory.stage_candidates(sc.model_spec, 1, 1)[0]
    p_ne = cand["p_nonexpert"] - cand["p_embedding"] - cand["p_head"]
    args = (p_ne, cand["p_expert"], cand["p_embedding"] + cand["p_head"], 8.0, 1.0, 1.0, 4.0, 1.0, 3, 2,
            2.0, 4.0, 12.0, float(sc.model_spec.layers), 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 4.0, cand["p_head"],
            unsharded_queue, 2.0)
    k, r = training_bytes(*args), training_bytes_reference(*args)
    i = MEM_NAMES.index(term)
    assert k[i] == pytest.approx(r[i], rel=1e-12) == pytest.approx(memory[term], rel=1e-12)
    # the step kernel's memory is training_memory's total, and so is the step reference's
    total = il.memory.training_memory_total(sc)
    assert il.estimate(sc).memory_per_gpu_bytes == pytest.approx(total, rel=1e-9)
    assert step_reference(sc)["memory_per_gpu_bytes"] == pytest.approx(total, rel=1e-9)
