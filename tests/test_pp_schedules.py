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
    # W = 0: ZB-H1 (Primus' table executed) is 1F1B
    assert kt.pipeline_bubble(2, 8, 1, t, 0.0, fwd, m) == pytest.approx(kt.pipeline_bubble(0, 8, 1, t, 0.0, fwd, m))
    assert kt.pipeline_bubble(0, 8, 1, t, 0.0, fwd, m) == 7.0
    # equal F, B, W (w = t/3): ZB-H1 a third of 1F1B's (Qi et al. 2024, Fig. 3); ZBV, Primus'
    # zbv-formatted table executed, one chunk's forward per other rank, (pp − 1)·F/2 (not the
    # paper's 0: its ZB-V schedule is not this table)
    assert kt.pipeline_bubble(2, 8, 1, t, t / 3, t / 3, m) == pytest.approx(7.0 / 3)
    assert kt.pipeline_bubble(3, 8, 2, t, t / 3, t / 3, m) == pytest.approx(7.0 * t / 3 / 2)
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
    row's plan (apply_plan), bubble included; interleaved rows (the search's closed form,
    il.estimate's execution of Megatron's order per chunk) within 7 % of the step, memory exact."""
    from infra_lab.training import apply_plan

    d = sc.to_dict()
    seen = set()
    for sched in df["pp_schedule"].unique().to_list():
        rows = df.filter(df["pp_schedule"] == sched)
        for r in rows.sample(n=min(per_schedule, rows.height), seed=1).iter_rows(named=True):
            plan = il.Scenario.from_dict(apply_plan(d, r))
            assert plan.parallelism.schedule == sched
            est = il.estimate(plan)
            assert r["memory_per_gpu_bytes"] == pytest.approx(est.memory_per_gpu_bytes, rel=1e-9), (sched, r)
            if sched == "interleaved" and r["pp"] > 1:
                assert r["step_time_s"] == pytest.approx(est.step_time_s, rel=0.07), (sched, r)
            else:
                assert r["step_time_s"] == pytest.approx(est.step_time_s, rel=1e-9), (sched, r)
                assert r["pp_bubble"] == pytest.approx(dict(est.breakdown.iter_rows())["pp_bubble"], rel=1e-9,
                                                       abs=1e-15)
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


# ---------------------------------------------------------------------------------------
# each pipeline rank priced at its own times (kt.pipeline_bubble_stages, kt.v_greedy_rank_bubble)
# ---------------------------------------------------------------------------------------
def _one_f_one_b(F, B, m):
    """Pass-by-pass execution of Megatron's 1F1B order (rank r: pp − 1 − r warm-up forwards,
    then one forward and one backward each, then the cool-down backwards), each rank at its
    own F[r], B[r]; a pass starts when its rank is free and its input is there. Makespan [s]."""
    p = len(F)
    orders = []
    for r in range(p):
        w = min(p - 1 - r, m)
        o = [("F", k) for k in range(w)]
        for i in range(m - w):
            o += [("F", w + i), ("B", i)]
        orders.append(o + [("B", k) for k in range(m - w, m)])
    end, free, nxt = {}, [0.0] * p, [0] * p
    while any(nxt[r] < len(orders[r]) for r in range(p)):
        moved = False
        for r in range(p):
            while nxt[r] < len(orders[r]):
                kind, k = orders[r][nxt[r]]
                if kind == "F":
                    dep = (r - 1, "F", k) if r > 0 else None
                else:
                    dep = (r + 1, "B", k) if r < p - 1 else (r, "F", k)
                if dep is not None and dep not in end:
                    break
                start = max(free[r], end[dep] if dep is not None else 0.0)
                free[r] = end[(r, kind, k)] = start + (F[r] if kind == "F" else B[r])
                nxt[r] += 1
                moved = True
        assert moved
    return max(free)


def _stages(t, w=None, fwd=None):
    """Per-rank arrays as the step kernel passes them: one candidate per rank, n = 1 each."""
    n = len(t)
    w = np.zeros(n) if w is None else np.asarray(w, dtype=float)
    fwd = np.asarray(t, dtype=float) / 3 if fwd is None else np.asarray(fwd, dtype=float)
    t = np.asarray(t, dtype=float)
    s = int(np.argmax(t))
    return t, w, fwd, np.ones(n), n, s


def test_per_rank_bubble_at_equal_ranks_is_the_slowest_stage_form_bit_for_bit():
    rng = np.random.default_rng(7)
    for _ in range(50):
        t = float(rng.uniform(0.1, 3.0))
        w = float(rng.uniform(0.0, 0.45)) * t
        fwd = float(rng.uniform(0.2, 0.4)) * t
        pp = int(rng.integers(2, 9))
        m = float(rng.integers(1, 64))
        nc = int(rng.integers(1, min(pp, 8) + 1))
        T = np.full(8, t)
        W = np.full(8, w)
        FW = np.full(8, fwd)
        n = np.zeros(8)
        n[:nc] = 1.0
        n[0] += pp - nc
        s = int(rng.integers(0, nc))
        for sched, vp in ((0, 1), (1, 2), (1, 3)):
            assert kt.pipeline_bubble_stages(sched, pp, vp, T, W, FW, n, nc, s, m) == \
                kt.pipeline_bubble(sched, pp, vp, t, w, fwd, m)
        for sched in (2, 3, 4, 5):
            mk = kt.micro_batches_int(m)
            nch = kt.schedule_chunks(sched)
            prog = kt.schedule_program(sched, pp, mk)
            mask = np.zeros(8)
            mask[:nc] = [2.0 ** r for r in range(nc)]
            got = kt.executed_rank_bubble(prog, pp, mk, nch, T, W, FW, 0.5 * T, 0.5 * W, 0.5 * FW, mask, nc, s,
                                          np.empty(2 * pp), np.empty(2 * pp), np.empty(2 * pp))
            assert got == kt.executed_stage_bubble(prog, pp, mk, nch, t, w, fwd) == \
                kt.pipeline_bubble(sched, pp, 3 - nch, t, w, fwd, m)
            if sched >= 4:
                assert got == kt.v_greedy_rank_bubble(prog, pp, mk, T, W, FW, 0.5 * T, 0.5 * W, 0.5 * FW, mask, nc, s,
                                                      np.empty(2 * pp), np.empty(2 * pp), np.empty(2 * pp))


@pytest.mark.parametrize("pp,m", [(2, 2), (4, 4), (4, 16), (8, 8), (8, 32)])
def test_1f1b_closed_form_against_a_pass_by_pass_execution(pp, m):
    """Σ_i T_i + (m − 1)·max T_i: exact at equal ranks and when the last rank (1F1B's output
    layer) is the slowest, an upper bound of the execution otherwise."""
    rng = np.random.default_rng(pp * 100 + m)
    F, B = [1.0] * pp, [2.0] * pp
    t, w, fwd, n, nc, s = _stages([f + b for f, b in zip(F, B, strict=True)])
    assert m * t[s] + kt.pipeline_bubble_stages(0, pp, 1, t, w, fwd, n, nc, s, m) == \
        pytest.approx(_one_f_one_b(F, B, m), rel=1e-12)
    for j in range(pp):
        for slow in (1.05, 1.5, 2.0):
            F, B = [1.0] * pp, [2.0] * pp
            F[j] *= slow
            B[j] *= slow
            t, w, fwd, n, nc, s = _stages([f + b for f, b in zip(F, B, strict=True)])
            model = m * t[s] + kt.pipeline_bubble_stages(0, pp, 1, t, w, fwd, n, nc, s, m)
            sim = _one_f_one_b(F, B, m)
            if j == pp - 1:
                assert model == pytest.approx(sim, rel=1e-12)
            else:
                assert sim <= model * (1 + 1e-12)
                assert model < (m + pp - 1) * t[s]   # below the slowest-stage form
    for _ in range(20):              # every rank different
        F = list(rng.uniform(0.5, 1.5, pp))
        B = [f * rng.uniform(1.5, 2.5) for f in F]
        t, w, fwd, n, nc, s = _stages([f + b for f, b in zip(F, B, strict=True)])
        model = m * t[s] + kt.pipeline_bubble_stages(0, pp, 1, t, w, fwd, n, nc, s, m)
        sim = _one_f_one_b(F, B, m)
        assert sim <= model * (1 + 1e-12)
        assert m * t[s] <= sim               # the slowest rank's own work is a lower bound


def test_per_rank_bubble_is_nonnegative_and_monotone():
    """The step (m·max T + bubble) never falls when a rank slows; the bubble never falls when a
    rank that is not the slowest slows, and is never negative."""
    rng = np.random.default_rng(3)
    pp, m = 6, 12.0
    mk = kt.micro_batches_int(m)
    progs = {s: kt.schedule_program(s, pp, mk) for s in (2, 3, 4, 5)}

    def price(sched, t, w, fwd):
        t, w, fwd = np.asarray(t), np.asarray(w), np.asarray(fwd)
        s = int(np.argmax(t))
        if sched >= 2:
            mask = np.array([2.0 ** r for r in range(pp)])
            v = kt.executed_rank_bubble(progs[sched], pp, mk, kt.schedule_chunks(sched), t, w, fwd,
                                        0.5 * t, 0.5 * w, 0.5 * fwd, mask, pp, s,
                                        np.empty(2 * pp), np.empty(2 * pp), np.empty(2 * pp))
            return v, mk * t[s] + v
        v = kt.pipeline_bubble_stages(sched, pp, 2 if sched == 1 else 1, t, w, fwd, np.ones(pp), pp, s, m)
        return v, m * t[s] + v

    for _ in range(30):
        t = rng.uniform(1.0, 2.0, pp)
        w = t * rng.uniform(0.1, 0.34, pp)
        fwd = t * rng.uniform(0.25, 0.34, pp)
        for sched in range(6):
            v0, step0 = price(sched, t, w, fwd)
            assert v0 >= 0.0
            for j in range(pp):
                k = 1.0 + rng.uniform(0.01, 0.5)
                t2, w2, fwd2 = t.copy(), w.copy(), fwd.copy()
                t2[j] *= k
                w2[j] *= k
                fwd2[j] *= k
                v1, step1 = price(sched, t2, w2, fwd2)
                assert step1 >= step0 * (1 - 1e-12), (sched, j)
                if sched < 2 and t2[j] < t.max():
                    assert v1 >= v0 * (1 - 1e-12), (sched, j)


@pytest.mark.parametrize("sched", [2, 3, 4, 5])
def test_executed_per_rank_kernel_equals_the_event_reference(sched):
    """ZB-H1, ZBV, V-Half, V-Min: the kernel's replay of its order (pipeline_greedy) and the
    reference's event simulation of its own order (pipeline_greedy_reference), both per rank,
    agree; m below pp (ZB-H1's few-micro-batch table) and below 2pp − 1 (ZBV's table built for
    more micro-batches than run) included."""
    from infra_lab._kernels import pipeline_greedy_reference as ref

    rng = np.random.default_rng(sched)
    k = kt.schedule_chunks(sched)
    for pp, mk in ((4, 8), (5, 10), (8, 16), (4, 3), (8, 5), (6, 9)):
        prog = kt.schedule_program(sched, pp, mk)
        for _ in range(5):
            t = rng.uniform(1.0, 2.0, pp)
            w = t * rng.uniform(0.1, 0.34, pp)
            fwd = t * rng.uniform(0.25, 0.34, pp)
            s = int(np.argmax(t))
            mask = np.array([2.0 ** r for r in range(pp)])
            got = kt.executed_rank_bubble(prog, pp, mk, k, t, w, fwd, 0.5 * t, 0.5 * w, 0.5 * fwd, mask, pp, s,
                                          np.empty(2 * pp), np.empty(2 * pp), np.empty(2 * pp))
            fr = [x / k for x in fwd]
            br = [max(0.0, t[i] - fwd[i] - w[i]) / k for i in range(pp)]
            wr = [x / k for x in w]
            want = ref.bubble(pp, mk, PP_SCHEDULES[sched], fr, br, wr, slow=s)
            assert got == pytest.approx(want, rel=1e-12, abs=1e-12)


def test_step_prices_each_rank_at_its_own_times():
    """llama2-7b on pp 4: rank 3 (1F1B) holds the output layer and loss, rank 0 (V) both ends;
    the estimate's bubble is below the slowest-stage form's (pp − 1)·t and equals the reference."""
    from infra_lab._kernels.training_reference import step_reference

    for schedule in ("1f1b", "zb-h1", "v-half"):
        sc = _scenario(schedule, gb=32)
        b = dict(il.estimate(sc).breakdown.iter_rows())
        r = step_reference(sc)
        assert b["pp_bubble"] == pytest.approx(r["pp_bubble"], rel=1e-9)
        m = 16                                     # 32 sequences over dp = 2
        t = (b["compute_fwd"] + b["compute_bwd"] + b["compute_recompute"] + b["tp_comm"] + b["cp_comm"]
             + b["ep_comm"]) / m
        if schedule == "1f1b":
            assert 0.0 < b["pp_bubble"] < 3 * t * (1 - 1e-3)


def _execute(orders, cost, deps):
    """Each rank runs its list of passes in order, a pass starting when its rank is free and
    every pass it depends on has ended; the makespan [s]."""
    p = len(orders)
    end, free, nxt = {}, [0.0] * p, [0] * p
    while any(nxt[r] < len(orders[r]) for r in range(p)):
        moved = False
        for r in range(p):
            while nxt[r] < len(orders[r]):
                op = orders[r][nxt[r]]
                ds = deps(r, op)
                if any(d not in end for d in ds):
                    break
                free[r] = end[(r, op)] = max([free[r]] + [end[d] for d in ds]) + cost(r, op)
                nxt[r] += 1
                moved = True
        assert moved, "the order deadlocks"
    return max(free)


def _interleaved(Fc, Bc, m):
    """Megatron's interleaved 1F1B order (forward_backward_pipelining_with_interleaving: rank r
    runs (pp − r − 1)·2 + (vp − 1)·pp warm-up chunk forwards, then one forward and one backward,
    micro-batches in groups of pp per chunk), rank r's chunk c at Fc[r][c], Bc[r][c]."""
    p, vp = len(Fc), len(Fc[0])
    tot = m * vp

    def chunk(k, fwd):
        c = (k % (p * vp)) // p
        return c if fwd else vp - 1 - c

    def mb(k):
        return (k // (p * vp)) * p + k % p

    orders = []
    for r in range(p):
        wu = min((p - r - 1) * 2 + (vp - 1) * p, tot)
        o = [("F", chunk(k, True), mb(k)) for k in range(wu)]
        for k in range(tot - wu):
            o += [("F", chunk(wu + k, True), mb(wu + k)), ("B", chunk(k, False), mb(k))]
        orders.append(o + [("B", chunk(k, False), mb(k)) for k in range(tot - wu, tot)])

    def deps(r, op):
        kind, c, j = op
        if kind == "F":
            if r > 0:
                return [(r - 1, ("F", c, j))]
            return [(p - 1, ("F", c - 1, j))] if c > 0 else []
        if r < p - 1:
            return [(r + 1, ("B", c, j))]
        return [(0, ("B", c + 1, j))] if c < vp - 1 else [(r, ("F", c, j))]

    return _execute(orders, lambda r, op: (Fc if op[0] == "F" else Bc)[r][op[1]], deps)


def _zb_h1(F, B, W, m):
    """The ZB-H1 order of sail-sg's zero-bubble repository (ZeroBubbleH1Pipeline, exact
    semantics): rank i runs pp − i − 1 forwards, i (F, B) pairs with their W held back, (F, B, W)
    until the forwards end, (B, W) until the backwards end, then its i held W passes."""
    p = len(F)
    orders = []
    for i in range(p):
        o, f, b, w = [], 0, 0, 0
        for _ in range(min(p - i - 1, m)):
            o.append(("F", f))
            f += 1
        for _ in range(i):
            if f < m:
                o += [("F", f), ("B", b)]
                f += 1
                b += 1
        while f < m:
            o += [("F", f), ("B", b), ("W", w)]
            f, b, w = f + 1, b + 1, w + 1
        while b < m:
            o += [("B", b), ("W", w)]
            b, w = b + 1, w + 1
        orders.append(o + [("W", k) for k in range(w, m)])

    def deps(r, op):
        kind, j = op
        if kind == "F":
            return [(r - 1, ("F", j))] if r > 0 else []
        if kind == "B":
            return [(r + 1, ("B", j))] if r < p - 1 else [(r, ("F", j))]
        return [(r, ("B", j))]

    return _execute(orders, lambda r, op: {"F": F, "B": B, "W": W}[op[0]][r], deps)


@pytest.mark.parametrize("pp,m", [(4, 8), (4, 16), (8, 16), (8, 32)])
def test_interleaved_closed_form_against_a_pass_by_pass_execution(pp, m):
    """vp 2: Σ_{i≠s} T_i / vp is exact at equal ranks and when the last rank is the slowest, an
    upper bound of Megatron's interleaved order when another rank is (each rank's chunks equal);
    exact too when only the last rank's last chunk (the output layer's) is heavier."""
    for j in (None, 0, pp // 2, pp - 1):
        F, B = [1.0] * pp, [2.0] * pp
        if j is not None:
            F[j] *= 1.5
            B[j] *= 1.5
        t, w, fwd, n, nc, s = _stages([f + b for f, b in zip(F, B, strict=True)], fwd=F)
        model = m * t[s] + kt.pipeline_bubble_stages(1, pp, 2, t, w, fwd, n, nc, s, m)
        sim = _interleaved([[f / 2] * 2 for f in F], [[b / 2] * 2 for b in B], m)
        if j is None or j == pp - 1:
            assert model == pytest.approx(sim, rel=1e-12)
        else:
            assert sim < model * (1 - 1e-3)
    Fc = [[0.5, 0.5] for _ in range(pp)]
    Bc = [[1.0, 1.0] for _ in range(pp)]
    Fc[-1][1] *= 1.6
    Bc[-1][1] *= 1.6
    t, w, fwd, n, nc, s = _stages([sum(a) + sum(b) for a, b in zip(Fc, Bc, strict=True)], fwd=[sum(a) for a in Fc])
    assert m * t[s] + kt.pipeline_bubble_stages(1, pp, 2, t, w, fwd, n, nc, s, m) == \
        pytest.approx(_interleaved(Fc, Bc, m), rel=1e-12)


def _executed_step(sched, t, w, fwd, m):
    """The step kernel's price of the schedule's m micro-batches: the slowest rank's m·T plus the
    bubble of the order executed with each rank at its own times (kt.executed_rank_bubble)."""
    pp = len(t)
    s = int(np.argmax(t))
    mask = np.array([2.0 ** r for r in range(pp)])
    v = kt.executed_rank_bubble(kt.schedule_program(sched, pp, m), pp, m, kt.schedule_chunks(sched), t, w, fwd,
                                0.5 * t, 0.5 * w, 0.5 * fwd, mask, pp, s, np.empty(2 * pp), np.empty(2 * pp),
                                np.empty(2 * pp))
    return m * t[s] + v


def test_zb_h1_at_equal_ranks_against_a_pass_by_pass_execution_and_the_closed_form():
    """At equal ranks and m ≥ pp the executed table is the closed form (pp − 1)·(F + B − W) of
    Qi et al. 2024 §2.1 and the test's own execution of sail-sg's order."""
    for pp, m in ((4, 8), (8, 16), (8, 32)):
        for F, B, W in ((1.0, 1.0, 1.0), (1.0, 1.2, 0.8), (1.0, 1.4, 0.4)):
            t, w, fwd, n, nc, s = _stages([F + B + W] * pp, w=[W] * pp, fwd=[F] * pp)
            model = _executed_step(2, t, w, fwd, m)
            assert model == pytest.approx(_zb_h1([F] * pp, [B] * pp, [W] * pp, m), rel=1e-12)
            assert model == pytest.approx(m * (F + B + W) + (pp - 1) * (F + B - W), rel=1e-12)


def test_zb_h1_with_a_slow_last_rank_matches_a_pass_by_pass_execution():
    """Was a strict xfail against the per-rank closed form Σ_{i≠s} (T_i − 2·W_i): with the last
    rank slowest (the output layer's, PRP26-L2-7B16L-MI300X-8-zbb's layout) its held-back W
    passes overlap the drain and the execution idles less (pp 8: 7.0 against the form's 8.4 for
    F, B, W = 1, 1.1, 0.9, last rank 1.3×). The step kernel now executes the order per rank."""
    for pp, m in ((4, 8), (8, 16), (8, 32)):
        F, B, W = [1.0] * pp, [1.1] * pp, [0.9] * pp
        for x in (F, B, W):
            x[-1] *= 1.3
        t, w, fwd, n, nc, s = _stages([f + b + c for f, b, c in zip(F, B, W, strict=True)], w=W, fwd=F)
        model = _executed_step(2, t, w, fwd, m)
        assert model == pytest.approx(_zb_h1(F, B, W, m), rel=1e-9)
        form = sum(max(0.0, t[i] - 2 * w[i]) for i in range(pp) if i != s)
        assert model - m * t[s] < form * (1 - 1e-3)     # the former closed form overpriced it
    F, B, W = [1.0] * 8, [1.1] * 8, [0.9] * 8
    for x in (F, B, W):
        x[-1] *= 1.3
    t, w, fwd, n, nc, s = _stages([f + b + c for f, b, c in zip(F, B, W, strict=True)], w=W, fwd=F)
    assert _executed_step(2, t, w, fwd, 16) - 16 * t[s] == pytest.approx(7.0, rel=1e-12)


def test_zb_orders_are_primus_tables_in_kernel_and_reference():
    """The kernel's ZB-H1 and ZBV orders (pipeline_greedy) and the reference's (built separately
    as lists) are the same per rank: Primus 78633ae ScheduleZeroBubble / ScheduleZBVFormatted's
    compute passes. Spot checks from the tables as Primus prints them (pp 4, 8 micro-batches):
    rank 0 runs F0 F1 F2 F3 B0 W0 F4 B1 W1 …, rank 3 F0 B0 F1 B1 F2 B2 F3 B3 W0 … (its W held back
    three micro-batches); ZBV rank 0 runs
    the seven chunk-0 forwards, then F1 B1 W1 four times."""
    from infra_lab._kernels import pipeline_greedy as pg
    from infra_lab._kernels import pipeline_greedy_reference as ref

    def decode(order, m):
        return [[("FBW"[c // (2 * m)], int((c // m) % 2), int(c % m)) for c in row] for row in order]

    for p in range(2, 10):
        for m in range(1, 3 * p + 2):
            assert decode(pg.zb_h1_order(p, m), m) == [ref.zb_h1_order(p, m)[r] for r in range(p)], (p, m)
            assert decode(pg.zbv_order(p, m), m) == [ref.zbv_order(p, m)[r] for r in range(p)], (p, m)
    zb = decode(pg.zb_h1_order(4, 8), 8)
    assert [f"{k}{j}" for k, _, j in zb[0][:9]] == ["F0", "F1", "F2", "F3", "B0", "W0", "F4", "B1", "W1"]
    assert [f"{k}{j}" for k, _, j in zb[3][:9]] == ["F0", "B0", "F1", "B1", "F2", "B2", "F3", "B3", "W0"]
    zv = decode(pg.zbv_order(4, 8), 8)
    assert zv[0][:7] == [("F", 0, j) for j in range(7)]
    assert zv[0][7:19] == [x for j in range(4) for x in (("F", 1, j), ("B", 1, j), ("W", 1, j))]


def test_zbv_closed_form_against_the_execution_of_primus_table():
    """ZBV's former closed form (pp − 1)·max(0, F + B − 2W), per rank Σ_{i≠s} max(0, T_i − 3·W_i),
    is not the execution of Primus' zbv-formatted table even at equal ranks: at F = B = W the
    table idles (pp − 1)·F/2 (one chunk's forward per other rank; the form says 0), with
    F, B, W = 1, 1.4, 0.4 it idles 7.0 at pp 8 (the form 11.2). The kernel executes the table."""
    for pp in (2, 4, 8):
        for m in (2 * pp, 4 * pp):
            for (F, B, W), want in (((1.0, 1.0, 1.0), (pp - 1) * 0.5), ((1.0, 1.4, 0.4), (pp - 1) * 1.0)):
                t, w, fwd, n, nc, s = _stages([F + B + W] * pp, w=[W] * pp, fwd=[F] * pp)
                bub = _executed_step(3, t, w, fwd, m) - m * t[s]
                assert bub == pytest.approx(want, rel=1e-12, abs=1e-12), (pp, m, F, B, W)
                form = (pp - 1) * max(0.0, F + B - 2 * W)
                assert abs(bub - form) > 0.1 * (pp - 1)


def test_a_nan_rank_time_that_is_not_the_slowest_gives_a_nan_bubble():
    """A nan on a rank that is not the slowest was dropped: the closed forms' max(0, nan) read 0
    and the greedy replay's max skipped the nan end; the bubble now carries it, as
    pipeline_bubble does for a nan stage time."""
    t, w, fwd = np.array([2.0, np.nan]), np.zeros(2), np.array([0.7, np.nan])
    n = np.array([3.0, 1.0])
    for sched, vp in ((0, 1), (1, 2)):
        assert math.isnan(kt.pipeline_bubble_stages(sched, 4, vp, t, w, fwd, n, 2, 0, 8.0)), sched
        assert not math.isnan(kt.pipeline_bubble_stages(sched, 4, vp, t[:1], w[:1], fwd[:1], n[:1], 1, 0, 8.0))
    for sched in (2, 3, 4, 5):     # executed schedules have no closed form there: nan, never a number
        assert math.isnan(kt.pipeline_bubble_stages(sched, 4, 1, t[:1], w[:1], fwd[:1], n[:1], 1, 0, 8.0)), sched
    # the executed orders: rank 3 (mask bit 3) has the nan shape
    pp, mk = 4, 8
    mask = np.array([7.0, 8.0])            # ranks 0-2 have shape 0, rank 3 shape 1
    work = [np.empty(2 * pp) for _ in range(3)]
    for sched in (2, 3, 4, 5):
        prog = kt.schedule_program(sched, pp, mk)
        k = kt.schedule_chunks(sched)
        assert math.isnan(kt.executed_rank_bubble(prog, pp, mk, k, t, w, fwd, 0.5 * t, 0.5 * w, 0.5 * fwd, mask, 2, 0,
                                                  *work)), sched
        assert not math.isnan(kt.executed_rank_bubble(prog, pp, mk, k, t[:1], w[:1], fwd[:1], 0.5 * t[:1],
                                                      0.5 * w[:1], 0.5 * fwd[:1], mask[:1], 1, 0, *work))


def test_ranks_outside_the_candidates_are_priced_at_the_slowest():
    """More rank shapes than candidates (MAXC) leave some ranks out of n; ranks >= RANK_MASK_BITS
    have no mask bit: both are priced at the slowest candidate's times (a conservative bubble)."""
    pp, m = 10, 12.0
    t = np.array([3.0, 2.0, 2.5])
    w = np.array([0.6, 0.5, 0.55])
    fwd = t / 3
    n = np.array([1.0, 2.0, 3.0])           # 6 of the 10 ranks; the other 4 are at t[0]'s times
    for sched, vp in ((0, 1), (1, 2)):
        ranks = [0] * 1 + [1] * 2 + [2] * 3 + [0] * 4
        u = [t[k] / vp for k in ranks]
        want = max(m * t[k] - ui for k, ui in zip(ranks, u, strict=True)) + sum(u) - m * t[0]
        assert kt.pipeline_bubble_stages(sched, pp, vp, t, w, fwd, n, 3, 0, m) == pytest.approx(want, rel=1e-12)
    pp, mk = kt.RANK_MASK_BITS + 2, 4
    t = np.array([3.0, 2.0])
    w = np.array([0.6, 0.4])
    fwd = np.array([1.0, 0.7])
    mask = np.array([1.0, float(sum(2 ** r for r in range(1, kt.RANK_MASK_BITS)))])
    for sched in (2, 3, 4):
        prog = kt.schedule_program(sched, pp, mk)
        k = kt.schedule_chunks(sched)
        got = kt.executed_rank_bubble(prog, pp, mk, k, t, w, fwd, 0.5 * t, 0.5 * w, 0.5 * fwd, mask, 2, 0,
                                      np.empty(2 * pp), np.empty(2 * pp), np.empty(2 * pp))
        fr = np.array([fwd[0] / k] + [fwd[1] / k] * (kt.RANK_MASK_BITS - 1) + [fwd[0] / k] * 2)
        br = np.array([(t[0] - fwd[0] - w[0]) / k] + [(t[1] - fwd[1] - w[1]) / k] * (kt.RANK_MASK_BITS - 1)
                      + [(t[0] - fwd[0] - w[0]) / k] * 2)
        wr = np.array([w[0] / k] + [w[1] / k] * (kt.RANK_MASK_BITS - 1) + [w[0] / k] * 2)
        want = kt.v_greedy_replay_ranks(prog, pp, mk, fr, br, wr, 0.0) - k * mk * (fr[0] + br[0] + wr[0])
        assert got == pytest.approx(want, rel=1e-12), sched
        fr[-2:] = fr[1]                       # the two ranks beyond the mask, had they their own times
        br[-2:] = br[1]
        wr[-2:] = wr[1]
        assert got >= kt.v_greedy_replay_ranks(prog, pp, mk, fr, br, wr, 0.0) - k * mk * (fr[0] + br[0] + wr[0])
