"""Zero-bubble pipeline schedules (parallelism.pp_schedule): scenario checks, kernel against the
plain-Python reference, limiting cases of the bubble and the in-flight memory, and the Primus
runs they bring into the comparison."""

import math

import numpy as np
import pytest

import infra_lab as il
from infra_lab._kernels import memory as km
from infra_lab._kernels import training as kt
from infra_lab.errors import UnknownNameError, ValidationError
from infra_lab.scenario import PP_SCHEDULES

SCHED_VP = {"1f1b": 1, "interleaved": 2, "zb-h1": 1, "zbv": 2, "v-half": 2, "v-min": 2}


def _scenario(schedule, pp=4, gb=64, **par):
    base = {"name": "zb", "model": "llama2-7b",
            "hardware": {"accelerator": "MI300X", "nodes": 1, "gpus_per_node": 8},
            "training": {"seq_len": 4096, "global_batch": gb, "micro_batch": 1, "precision": "bf16"},
            "parallelism": {"tp": 1, "pp": pp, "vp": SCHED_VP[schedule], "pp_schedule": schedule, **par}}
    return il.Scenario.from_dict(base)


def test_pp_schedule_names_and_errors():
    assert PP_SCHEDULES == ("1f1b", "interleaved", "zb-h1", "zbv", "v-half", "v-min")
    assert _scenario("zbv").parallelism.schedule == "zbv"
    plain = il.Scenario.from_dict({**_scenario("1f1b").to_dict(),
                                   "parallelism": {"tp": 1, "pp": 4, "vp": 2}})
    assert plain.parallelism.schedule == "interleaved"
    assert "pp_schedule" not in plain.to_dict()["parallelism"]      # left out: follows vp
    with pytest.raises(UnknownNameError, match="zb-h1"):                 # nearest-name suggestion
        _scenario("1f1b", pp_schedule="zb-h2")
    with pytest.raises(ValidationError, match="allowed vp = 2"):
        _scenario("1f1b", pp_schedule="v-min")                           # V schedules need vp = 2
    with pytest.raises(ValidationError, match="allowed vp = 1"):
        _scenario("interleaved", pp_schedule="zb-h1")
    with pytest.raises(ValidationError, match="needs pp > 1"):
        _scenario("zb-h1", pp=1)


@pytest.mark.parametrize("schedule", PP_SCHEDULES)
def test_kernel_equals_reference_per_schedule(schedule):
    from infra_lab._kernels.training_reference import step_reference

    sc = _scenario(schedule)
    est = il.estimate(sc)
    r = step_reference(sc)
    assert est.step_time_s == pytest.approx(r["step_time_s"], rel=1e-9)
    assert est.memory_per_gpu_bytes == pytest.approx(r["memory_per_gpu_bytes"], rel=1e-9)
    b = dict(est.breakdown.iter_rows())
    assert b["pp_bubble"] == pytest.approx(r["pp_bubble"], rel=1e-9)


def test_bubble_limits():
    t, w, fwd, m = 1.0, 0.3, 0.3, 16
    # W = 0: ZB-H1 is 1F1B
    assert kt.pipeline_bubble(2, 8, 1, t, 0.0, fwd, m) == kt.pipeline_bubble(0, 8, 1, t, 0.0, fwd, m) == 7.0
    # equal F, B, W (w = t/3): ZB-H1 a third of 1F1B's, ZBV none (Qi et al. 2024, Fig. 3 / §6)
    assert kt.pipeline_bubble(2, 8, 1, t, t / 3, t / 3, m) == pytest.approx(7.0 / 3)
    assert kt.pipeline_bubble(3, 8, 2, t, t / 3, t / 3, m) == pytest.approx(0.0, abs=1e-12)
    # V-Half / V-Min: the greedy schedule (tests/test_pipeline_greedy.py); at equal F, B, W at
    # most the paper's 1/2 and 2/3 of 1F1B's (arXiv 2405.15362), V-Min above V-Half above ZBV
    vh = kt.pipeline_bubble(4, 8, 2, t, t / 3, t / 3, m)
    vm = kt.pipeline_bubble(5, 8, 2, t, t / 3, t / 3, m)
    assert kt.pipeline_bubble(3, 8, 2, t, t / 3, t / 3, m) < vh < vm <= 7.0 * 2 / 3 + 1e-12
    assert vh <= 7.0 / 2
    assert all(kt.pipeline_bubble(s, 1, 1, t, w, fwd, m) == 0.0 for s in range(6))


def test_bubble_share_vanishes_with_many_microbatches():
    shares = []
    for gb in (16, 256, 4096):
        b = dict(il.estimate(_scenario("zb-h1", gb=gb)).breakdown.iter_rows())
        shares.append(b["pp_bubble"] / sum(b.values()))
    assert shares[0] > shares[1] > shares[2] and shares[2] < 0.005


def test_wgrad_split_from_the_op_table():
    """W is the weight-gradient part of the backward, taken from the op table: about half of a
    dense layer's backward GEMM time (dgrad and wgrad GEMMs have the same FLOPs), less than the
    whole backward (the attention backward and the element-wise ops stay in B)."""
    sc = _scenario("zb-h1")
    from infra_lab.training.context import _context

    ctx = _context(sc, (1,), (1,), (1,), None, None)
    t = ctx.tab[kt.K_DENSE, :, 0, 0, 0, 0]
    assert 0.3 * t[kt.T_BWD] < t[kt.T_BWD_W] < 0.6 * t[kt.T_BWD]
    # ZB-H1 buys back 2·W·(pp − 1) of 1F1B's bubble on the slowest stage
    b1 = dict(il.estimate(_scenario("1f1b")).breakdown.iter_rows())["pp_bubble"]
    bz = dict(il.estimate(sc).breakdown.iter_rows())["pp_bubble"]
    assert 0.0 < bz < b1


def test_inflight_memory_order():
    """V-Min < V-Half < ZBV = 1F1B (rank 0) at the same pp and m (Qi et al., NeurIPS 2024)."""
    pp, m = 8, 64
    f = {s: km.inflight_schedule(i, float(pp), float(SCHED_VP[s]), 0.0, float(m)) for i, s in enumerate(PP_SCHEDULES)}
    assert f["v-min"] < f["v-half"] < f["zbv"] == f["1f1b"] == f["zb-h1"] == pp
    assert (f["v-half"], f["v-min"]) == ((pp + 2) // 2, (pp + 4) // 3)
    assert km.inflight_schedule(3, 8.0, 2.0, 0.0, 4.0) == 4.0               # at most m
    assert il.memory.inflight_microbatches(8, 2, schedule="v-min") == 4.0
    mem = {s: il.estimate(_scenario(s, pp=8)).memory_per_gpu_bytes for s in ("1f1b", "zbv", "v-half", "v-min")}
    assert mem["v-min"] < mem["v-half"] < mem["zbv"]
    assert abs(mem["zbv"] / mem["1f1b"] - 1.0) < 0.15


def test_search_keeps_todays_schedules():
    """A plan search prices 1F1B / interleaved by each plan's vp, not the scenario's schedule."""
    sc = _scenario("zbv", pp=4)
    plans = il.search(sc, top=3, pp=4, tp=1, vp=2, micro_batch=1, zero=1, recompute="none",
                      sequence_parallel=False)
    plain = il.Scenario.from_dict({**sc.to_dict(), "parallelism": {"tp": 1, "pp": 4, "vp": 2}})
    assert float(np.asarray(plans["step_time_s"])[0]) == pytest.approx(il.estimate(plain).step_time_s, rel=1e-9)
    assert not math.isnan(float(np.asarray(plans["step_time_s"])[0]))


# ---------------------------------------------------------------------------------------
# il.search over the schedules (pp_schedules=...)
# ---------------------------------------------------------------------------------------
SMALL = {"top": None, "feasible_only": False, "max_micro_batch": 2, "max_vp": 3}


def _search_rows_match_estimate(sc, df, per_schedule=3):
    """Sampled rows of each schedule: the search's step time and memory are il.estimate's of the
    row's plan (apply_plan), bubble included."""
    from infra_lab.training import apply_plan

    d = sc.to_dict()
    seen = set()
    for sched in df["pp_schedule"].unique().to_list():
        rows = df.filter(df["pp_schedule"] == sched)
        for r in rows.sample(n=min(per_schedule, rows.height), seed=1).iter_rows(named=True):
            plan = il.Scenario.from_dict(apply_plan(d, r))
            assert plan.parallelism.schedule == sched
            est = il.estimate(plan)
            assert r["step_time_s"] == pytest.approx(est.step_time_s, rel=1e-9), (sched, r)
            assert r["memory_per_gpu_bytes"] == pytest.approx(est.memory_per_gpu_bytes, rel=1e-9), (sched, r)
            assert r["pp_bubble"] == pytest.approx(dict(est.breakdown.iter_rows())["pp_bubble"], rel=1e-9, abs=1e-15)
            seen.add(sched)
    return seen


def test_search_over_every_schedule_prices_as_estimate():
    """pp_schedules="all" on a Primus stack (megatron-core-rocm) searches all six schedules, each
    on the plans that can run it, and each row's time and memory are il.estimate's."""
    sc = _scenario("1f1b", pp=4)
    assert sc.stack == "megatron-core-rocm"
    df = il.search(sc, pp_schedules="all", **SMALL)
    assert set(df["pp_schedule"].unique().to_list()) == set(PP_SCHEDULES)
    z = df.filter(df["pp_schedule"].is_in(["zb-h1", "zbv", "v-half", "v-min"]))
    assert (z["pp"] > 1).all()
    assert (z.filter(z["pp_schedule"] == "zb-h1")["vp"] == 1).all()
    assert (z.filter(z["pp_schedule"] != "zb-h1")["vp"] == 2).all()
    assert (df.filter(df["pp_schedule"] == "interleaved")["vp"] > 1).all()
    assert _search_rows_match_estimate(sc, df) == set(PP_SCHEDULES)
    # the same plan under ZB-H1 has no larger bubble than under 1F1B, and V-Min holds less than ZBV
    key = ["tp", "pp", "cp", "ep", "etp", "micro_batch", "zero", "fsdp", "recompute", "sequence_parallel"]
    j = df.filter(df["pp_schedule"] == "1f1b").join(df.filter(df["pp_schedule"] == "zb-h1"), on=key + ["vp"],
                                                     suffix="_zb")
    assert j.height and (j["pp_bubble_zb"] <= j["pp_bubble"] * (1 + 1e-12)).all()
    v = df.filter(df["pp_schedule"] == "zbv").join(df.filter(df["pp_schedule"] == "v-min"), on=key + ["vp"],
                                                    suffix="_vmin")
    assert v.height and (v["memory_per_gpu_bytes_vmin"] <= v["memory_per_gpu_bytes"]).all()
    assert (v.filter(v["pp"] >= 4)["memory_per_gpu_bytes_vmin"] < v.filter(v["pp"] >= 4)["memory_per_gpu_bytes"]).all()


def test_search_schedules_with_the_fsdp_variant_context():
    """Without gradient-accumulation fusion the FSDP rows are priced with their own context
    (plan_search._fsdp_variant); the schedule constant is set there too."""
    sc = il.Scenario.from_dict({**_scenario("1f1b", pp=4).to_dict(),
                                "training": {**_scenario("1f1b", pp=4).to_dict()["training"],
                                             "gradient_accumulation_fusion": False}})
    df = il.search(sc, pp_schedules=["zb-h1", "v-half"], pp=4, tp=1, cp=1, **SMALL)
    assert set(df["pp_schedule"].unique().to_list()) == {"zb-h1", "v-half"}
    assert df["fsdp"].any() and (~df["fsdp"]).any()
    assert _search_rows_match_estimate(sc, df, per_schedule=6) == {"zb-h1", "v-half"}


def test_search_default_schedules_unchanged():
    """Left out, pp_schedules is 1F1B / interleaved by vp: the frame is the one with the two named
    (same rows, same order), and its pp_schedule column follows vp."""
    sc = _scenario("1f1b", pp=4)
    df = il.search(sc, **SMALL)
    assert df.equals(il.search(sc, pp_schedules=["interleaved", "1f1b"], **SMALL))
    assert (df["pp_schedule"].cast(str) == np.where(df["vp"].to_numpy() > 1, "interleaved", "1f1b")).all()
    assert df.columns.index("pp_schedule") == df.columns.index("sequence_parallel") + 1
    top = il.search(sc, top=5, max_micro_batch=2)
    assert top.equals(df.filter(df["fits"] & df["runnable"]).head(5))
    only = il.search(sc, pp_schedules="zbv", **SMALL)
    assert (only["pp_schedule"] == "zbv").all() and (only["vp"] == 2).all()
    one = il.search(sc, pp_schedules="1f1b", **SMALL)
    assert (one["vp"] == 1).all()


def test_search_schedules_per_stack_and_errors():
    from infra_lab.training import stack_pp_schedules

    assert list(stack_pp_schedules("megatron-core-rocm")) == list(PP_SCHEDULES)
    assert list(stack_pp_schedules("megatron-core-cuda")) == ["1f1b", "interleaved"]
    assert list(stack_pp_schedules("torchtitan-cuda")) == ["1f1b", "interleaved", "zbv"]
    for st in il.stacks.names("training"):
        assert {"1f1b", "interleaved"} <= set(stack_pp_schedules(st))
    sc = _scenario("1f1b", pp=4)
    h100 = il.Scenario.from_dict({**sc.to_dict(), "hardware": {"accelerator": "H100-SXM", "nodes": 1}})
    assert h100.stack == "megatron-core-cuda"
    df = il.search(h100, pp_schedules="all", **SMALL)          # Megatron-Core: no zero-bubble schedule
    assert set(df["pp_schedule"].unique().to_list()) == {"1f1b", "interleaved"}
    with pytest.raises(ValidationError, match="'zbv' is not a schedule of the stack 'megatron-core-cuda'.*torchtitan-cuda"):
        il.search(h100, pp_schedules=["zbv"], **SMALL)
    tt = il.search(h100, pp_schedules="all", stack="torchtitan-cuda", **SMALL)
    assert set(tt["pp_schedule"].unique().to_list()) == {"1f1b", "interleaved", "zbv"}
    with pytest.raises(ValidationError, match="'zb-h1' is not a schedule of the stack 'torchtitan-cuda'"):
        il.search(h100, pp_schedules=["zb-h1"], stack="torchtitan-cuda", **SMALL)
    with pytest.raises(UnknownNameError, match="Did you mean 'zbv'"):
        il.search(sc, pp_schedules=["zb-v"], **SMALL)
    with pytest.raises(UnknownNameError, match="infra_lab calls it 'zb-h1'"):     # Primus' own name
        il.search(sc, pp_schedules="zero-bubble", **SMALL)
    with pytest.raises(UnknownNameError, match="infra_lab calls it 'zbv'"):
        _scenario("zbv", pp_schedule="zbv-formatted")
    with pytest.raises(ValidationError, match="pp_schedules = "):
        il.search(sc, pp_schedules=[], **SMALL)
    with pytest.raises(ValidationError, match="no plan runs the pipeline schedules.*vp = 2"):
        il.search(sc, pp_schedules=["zbv", "v-min"], vp=1, **SMALL)
    # the V schedules' scenario errors name the schedule, the field and what is allowed
    with pytest.raises(ValidationError, match="pp_schedule = 'zbv': a pipeline schedule needs pp > 1"):
        _scenario("zbv", pp=1)
    with pytest.raises(ValidationError, match="'v-half' with parallelism.vp = 3.*allowed vp = 2"):
        _scenario("v-half", vp=3)


def test_cli_search_pp_schedules(capsys):
    import json

    from infra_lab import cli

    sc = "zaya1-ibm-mi300x"
    rc = cli.main(["search", sc, "--pp-schedules", "zb-h1,zbv", "--max-micro-batch", "2", "--top", "3",
                   "--format", "json"])
    out = capsys.readouterr()
    assert rc == 0, out.err
    rows = json.loads(out.out)
    assert rows and {r["pp_schedule"] for r in rows} <= {"zb-h1", "zbv"}
    rc = cli.main(["search", sc, "--pp-schedules", "zero-bubble", "--top", "1"])
    assert rc == 1 and "infra_lab calls it 'zb-h1'" in capsys.readouterr().err


@pytest.mark.parametrize("schedule", ["zbv", "v-half", "v-min"])
def test_v_schedule_rank0_holds_the_output_layer(schedule):
    from infra_lab.memory import training_memory

    def weights(sc):
        df = training_memory(sc, pipeline_rank="first")
        return float(df.filter(df["component"] == "weights")["bytes"].sum())

    v = weights(_scenario(schedule, pp=4))
    interleaved = weights(_scenario("interleaved", pp=4))
    head = il.models.get("llama2-7b").hidden * il.models.get("llama2-7b").vocab   # untied output layer
    assert v >= interleaved + 0.99 * head * 2      # 16-bit weights of the output layer on rank 0


@pytest.mark.parametrize("schedule", ["zbv", "v-half", "v-min"])
def test_v_schedule_layout_has_one_owner(schedule):
    """A V schedule lays rank r's chunks out as r and 2·pp − 1 − r (il.memory.pipeline_chunks),
    so rank 0 holds the embedding and the output layer and rank pp − 1 neither; the step
    kernel's layout tables follow (its memory is training_memory's most loaded rank, which is
    rank 0), while 1F1B / interleaved / ZB-H1 keep the output layer on rank pp − 1."""
    from infra_lab.memory import (
        V_SCHEDULES,
        chunk_rank,
        pipeline_chunks,
        stage_layers,
        training_memory_total,
    )

    assert V_SCHEDULES == ("zbv", "v-half", "v-min")
    spec = il.models.get("llama2-7b")
    assert [c["rank"] for c in pipeline_chunks(spec, 4, 2, schedule)] == [0, 1, 2, 3, 3, 2, 1, 0]
    assert [c["rank"] for c in pipeline_chunks(spec, 4, 2, "interleaved")] == [0, 1, 2, 3, 0, 1, 2, 3]
    assert [chunk_rank(c, 4, 2, schedule) for c in range(8)] == [0, 1, 2, 3, 3, 2, 1, 0]
    st = stage_layers(spec, 4, 2, schedule=schedule)
    assert [(s["has_embedding"], s["has_head"]) for s in st] == [(1, 1), (0, 0), (0, 0), (0, 0)]
    assert sum(s["n_dense"] for s in st) == spec.layers
    for other in ("1f1b", "zb-h1", "interleaved", None):
        vp = 2 if other == "interleaved" else 1
        assert [s["has_head"] for s in stage_layers(spec, 4, vp, schedule=other)] == [0, 0, 0, 1]
    with pytest.raises(ValidationError, match="allowed vp = 2"):
        pipeline_chunks(spec, 4, 1, schedule)
    sc = _scenario(schedule, pp=4)
    est = il.estimate(sc)
    assert est.memory_per_gpu_bytes == pytest.approx(training_memory_total(sc), rel=1e-9)
    assert training_memory_total(sc, pipeline_rank="first") == pytest.approx(training_memory_total(sc), rel=1e-12)
    assert training_memory_total(sc, pipeline_rank="last") < training_memory_total(sc, pipeline_rank="first")
