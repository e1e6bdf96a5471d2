"""Muon's Newton–Schulz orthogonalization in the compute model and the training step."""

import math

import polars as pl
import pytest

import infra_lab as il
from infra_lab.errors import UnknownNameError, ValidationError
from infra_lab.memory import _MUON_ADAMW_GROUPS

ZAYA = il.load_scenario("zaya1-ibm-mi300x")
SMALL = ZAYA.replace(hardware={"nodes": 4}, training={"global_batch": 64})


def _opt(est) -> float:
    b = est.breakdown
    return float(b.filter(pl.col("component") == "optimizer")["seconds"][0])


def test_newton_schulz_flops_of_known_matrices():
    # one iteration on 2x3: X·Xᵀ 2·2²·3 + A·A 2·2³ + B·X 2·2²·3 = 24 + 16 + 24
    assert il.compute.newton_schulz_flops(2, 3, 1) == 64.0
    # orientation does not matter (the iteration runs on the short side)
    a = il.compute.newton_schulz_flops(1024, 4096, 5)
    assert a == il.compute.newton_schulz_flops(4096, 1024, 5)
    assert a == 5 * (4 * 1024**2 * 4096 + 2 * 1024**3)
    assert il.compute.newton_schulz_flops(4096, 4096, 0) == 0.0


def test_muon_matrices_are_the_model_weight_matrices():
    spec = il.models.get("zaya1-base")
    m = il.compute.muon_matrices(spec)
    shapes = {n: (r, c, k) for n, r, c, k in m.select("name", "rows", "cols", "count").iter_rows()}
    h, d = spec.hidden, spec.head_dim
    assert shapes["qkv_proj"] == (h, (spec.heads + 2 * spec.kv_heads) * d, 1)
    # routed experts are separate matrices, gate+up fused as stored
    assert shapes["experts_up"] == (h, 2 * spec.expert_ffn_hidden, spec.experts)
    assert shapes["experts_down"] == (spec.expert_ffn_hidden, h, spec.experts)
    assert "lm_head" not in shapes            # head and embeddings stay with AdamW
    # the matrices cover the parameters memory gives to Muon (all but convolution kernels)
    per_layer = float((m["rows"] * m["cols"] * m["count"]).sum())
    pb = spec.param_breakdown()
    muon_params = float(pb.filter(~pl.col("component").is_in(list(_MUON_ADAMW_GROUPS)))["params_total"].sum())
    assert 0.98 < spec.layers * per_layer / muon_params <= 1.0


def test_newton_schulz_time_is_three_compute_model_gemms_per_iteration():
    t = il.compute.newton_schulz_times("zaya1-base", "MI300X", 5)
    r = t.filter(pl.col("name") == "qkv_proj").row(0, named=True)
    a, b = min(r["rows"], r["cols"]), max(r["rows"], r["cols"])
    g = il.compute.gemm_time
    expect = 5 * (g(a, a, b, "MI300X") + g(a, a, a, "MI300X") + g(a, b, a, "MI300X"))
    assert r["time_s"] == pytest.approx(expect, rel=1e-12)
    peak = il.catalog.accelerator("MI300X").peak("bf16")
    assert (t["flops"] / t["time_s"] < peak).all()
    ten = il.compute.newton_schulz_times("zaya1-base", "MI300X", 10)
    assert ten["time_s"].to_list() == pytest.approx([2 * x for x in t["time_s"]], rel=1e-12)


def test_muon_step_costs_more_than_adamw_update_and_distributed_below_replicated():
    muon = SMALL.replace(training={"optimizer": "muon"})
    adam = il.estimate(SMALL.replace(training={"optimizer": "adamw"}))
    dist = il.estimate(muon, params={"muon_ns_shared_over_dp": 1.0})
    half = il.estimate(muon, params={"muon_ns_shared_over_dp": 0.5})
    repl = il.estimate(muon, params={"muon_ns_shared_over_dp": 0.0})
    # Muon's element-wise update alone (24 B/param) is cheaper than AdamW's (32 B/param) ...
    assert _opt(dist) > _opt(adam)       # ... the Newton–Schulz work more than makes up for it
    assert _opt(dist) <= _opt(half) <= _opt(repl)
    assert _opt(half) == pytest.approx(0.5 * (_opt(dist) + _opt(repl)), rel=1e-9)
    assert dist.step_time_s < repl.step_time_s
    # replicated: every data-parallel rank orthogonalizes all 40 layers' matrices
    ns = il.compute.newton_schulz_times("zaya1-base", "MI300X")
    upd = il.compute.optimizer_step_time(ZAYA.model_spec.params_total / SMALL.hardware.world_size, "MI300X", "muon")
    assert _opt(repl) == pytest.approx(40 * float(ns["time_s"].sum()) + upd, rel=0.02)
    # AdamW ignores the Muon factors
    assert il.estimate(SMALL.replace(training={"optimizer": "adamw"}),
                       params={"muon_ns_shared_over_dp": 0.0}).step_time_s == adam.step_time_s


def test_unsharded_muon_is_replicated_and_iterations_scale_the_work():
    z0 = SMALL.replace(training={"optimizer": "muon"}, parallelism={"zero": 0})
    a = il.estimate(z0, params={"muon_ns_shared_over_dp": 1.0})
    b = il.estimate(z0, params={"muon_ns_shared_over_dp": 0.0})
    assert _opt(a) == pytest.approx(_opt(b), rel=1e-12)
    none = il.estimate(z0, params={"muon_ns_iterations": 0})
    ten = il.estimate(z0, params={"muon_ns_iterations": 10})
    assert _opt(ten) - _opt(none) == pytest.approx(2 * (_opt(a) - _opt(none)), rel=1e-9)


@pytest.mark.parametrize("args, match", [
    ((0, 3, 5), "rows"), ((3, -1, 5), "cols"), ((3, 3, -1), "iterations"), ((3, 3, 2.5), "iterations"),
    (("3", 3, 5), "rows"), ((3, 3, True), "iterations"), ((math.nan, 3, 5), "rows"),
])
def test_newton_schulz_flops_rejects_bad_input(args, match):
    with pytest.raises(ValidationError, match=match):
        il.compute.newton_schulz_flops(*args)


def test_newton_schulz_times_and_factors_reject_bad_input():
    with pytest.raises(UnknownNameError):
        il.compute.newton_schulz_times("zaya1-base", "MI300Y")
    with pytest.raises(ValidationError, match="iterations"):
        il.compute.newton_schulz_times("zaya1-base", "MI300X", 65)
    muon = SMALL.replace(training={"optimizer": "muon"})
    for k, v in (("muon_ns_shared_over_dp", 1.5), ("muon_ns_shared_over_dp", -0.1),
                 ("muon_ns_iterations", 2.5), ("muon_ns_iterations", 100)):
        with pytest.raises(ValidationError, match=k):
            il.estimate(muon, params={k: v})
