"""The plan search's kernel (evaluate_plans, its rows gathered by gather_columns) against the
plain-Python step reference directly (infra_lab._kernels.training_reference.step_reference),
not through il.estimate: a seeded sample of each pipeline schedule's plans in a small ZAYA1
space searched over all six schedules (the executed ones, ZB-H1, ZBV, V-Half and V-Min, run
evaluate_plans_with). For pp > 1 the search may price the bubble otherwise than the reference,
which executes the library's order rank by rank (1F1B and interleaved: the search's closed
form), so there the step less the bubble is compared (every other part is the same quantity)."""

from __future__ import annotations

import polars as pl
import pytest

import infra_lab as il
from infra_lab._kernels.training_reference import step_reference

BREAKDOWN = ("compute_fwd", "compute_bwd", "compute_recompute", "tp_comm", "cp_comm", "ep_comm", "pp_p2p",
             "dp_grad_comm", "dp_param_comm", "optimizer")


def test_search_rows_equal_the_step_reference():
    base = il.load_scenario("zaya1-ibm-mi300x").replace(hardware={"nodes": 4}, training={"global_batch": 64})
    df = il.search(base, pp_schedules="all", top=None, feasible_only=False)
    sample = pl.concat([g.sample(n=4, seed=5) for _, g in df.group_by("pp_schedule", maintain_order=True)])
    assert sample.height == 24
    for r in sample.iter_rows(named=True):
        sc = base.replace(
            training={"micro_batch": r["micro_batch"], "recompute": r["recompute"]},
            parallelism={"tp": r["tp"], "pp": r["pp"], "vp": r["vp"], "cp": r["cp"], "ep": r["ep"],
                         "etp": r["etp"], "zero": r["zero"], "fsdp": r["fsdp"],
                         "sequence_parallel": r["sequence_parallel"],
                         **({"pp_schedule": str(r["pp_schedule"])} if r["pp"] > 1 else {})})
        ref = step_reference(sc)
        assert r["memory_per_gpu_bytes"] == pytest.approx(ref["memory_per_gpu_bytes"], rel=1e-9), r
        assert r["fits"] == ref["fits"], r
        for comp in BREAKDOWN:
            assert r[comp] == pytest.approx(ref[comp], rel=1e-9, abs=1e-15), (comp, r)
        if r["pp"] == 1:
            assert r["step_time_s"] == pytest.approx(ref["step_time_s"], rel=1e-9), r
        else:
            assert r["step_time_s"] - r["pp_bubble"] == pytest.approx(ref["step_time_s"] - ref["pp_bubble"],
                                                                      rel=1e-9), r
