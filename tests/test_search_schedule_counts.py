"""il.search leaves out the plain 1F1B and zero-bubble plans whose micro-batches per step m the
stack's schedule refuses (data/pp_schedule_stacks.csv, microbatch_rule, cited per row):
torchtitan's 1F1B (torch.distributed.pipelining's Schedule1F1B) raises for m < pp, Megatron-Core's
accepts it; Primus' ZBV (zbv-formatted) builds its table for max(2·pp − 1, m) micro-batches and
runs them all, torchtitan's ZBV drops the extra ones; Primus' ZB-H1, V-Half and V-Min have no
sourced limit. il.estimate warns (ScheduleSupportWarning) for exactly the plans the search leaves
out; plan_space_size counts what the default search evaluates."""

import warnings

import numpy as np
import pytest

import infra_lab as il
from infra_lab import training as T
from infra_lab.errors import ScheduleSupportWarning, UnknownNameError, ValidationError

TT_CUDA, TT_ROCM = "torchtitan-cuda", "torchtitan-rocm"


def _scenario(acc="H100-SXM", gb=10):
    return il.Scenario.from_dict({
        "name": "sched-counts", "model": "llama3-70b",
        "hardware": {"accelerator": acc, "nodes": 4, "gpus_per_node": 8},
        "training": {"seq_len": 4096, "global_batch": gb, "micro_batch": 1, "precision": "bf16"}},
        check_plan=False)


def _m(df, gb):
    return gb // (df["micro_batch"].to_numpy().astype(np.int64) * df["dp"].to_numpy())


@pytest.mark.parametrize("rule, m, pp, refused", [
    ("at_least_pp", 3, 4, True), ("at_least_pp", 4, 4, False), ("at_least_pp", 1, 1, False),
    ("at_least_2pp_minus_1", 6, 4, True), ("at_least_2pp_minus_1", 7, 4, False),
    ("at_least_2pp_minus_1", 2, 2, True), ("at_least_2pp_minus_1", 3, 2, False),
    ("multiple_of_pp", 6, 4, True), ("multiple_of_rounds", 3, 4, False), (None, 1, 8, False),
])
def test_microbatch_refused_rules(rule, m, pp, refused):
    assert bool(T.microbatch_refused(rule, m, pp)) is refused


def test_every_stack_schedule_rule_as_its_source_says():
    for st in ("megatron-lm-2022-cuda", "megatron-core-cuda", "megatron-core-cuda-asym", "megatron-core-rocm",
               "megatron-core-rocm-asym"):
        assert T.schedule_microbatch_rule(st, "1f1b") is None          # schedules.py clamps the warm-up
        assert T.schedule_microbatch_rule(st, "interleaved") == "multiple_of_pp"
    for st in (TT_CUDA, TT_ROCM):
        assert T.schedule_microbatch_rule(st, "1f1b") == "at_least_pp"
        assert T.schedule_microbatch_rule(st, "interleaved") == "multiple_of_rounds"
        assert T.schedule_microbatch_rule(st, "zbv") is None             # torch drops the padded passes
    for st in ("megatron-core-rocm", "megatron-core-rocm-asym"):
        assert T.schedule_microbatch_rule(st, "zbv") == "at_least_2pp_minus_1"
        for s in ("zb-h1", "v-half", "v-min"):
            assert T.schedule_microbatch_rule(st, s) is None
    with pytest.raises(UnknownNameError, match="pp_schedule"):
        T.schedule_microbatch_rule(TT_CUDA, "1F1B-interleaved")
    with pytest.raises(UnknownNameError, match="microbatch_rule"):
        T.microbatch_refused("at_least_three", 3, 4)


def test_torchtitan_search_drops_1f1b_plans_with_fewer_micro_batches_than_pp():
    gb = 10
    sc = _scenario(gb=gb)
    tt = il.search(sc, top=None, feasible_only=False, stack=TT_CUDA)
    plain = tt.filter((tt["vp"] == 1) & (tt["pp"] > 1))
    assert plain.height > 0
    assert (_m(plain, gb) >= plain["pp"].to_numpy()).all()
    assert tt.height == T.plan_space_size(sc, stack=TT_CUDA)
    # Megatron-Core's 1F1B runs them: its search keeps pp 4 with m = 2 and pp 8 with m = 1 … 5
    mc = il.search(sc, top=None, feasible_only=False)
    mplain = mc.filter((mc["vp"] == 1) & (mc["pp"] > 1))
    assert (_m(mplain, gb) < mplain["pp"].to_numpy()).any()
    assert mc.height == T.plan_space_size(sc)


def test_torchtitan_1f1b_search_left_without_plans_says_why():
    sc = _scenario(gb=10)     # pp 8: dp 1 … 4, so m <= 10 and m < 8 except at dp 1, micro-batch 1
    with pytest.raises(ValidationError, match=r"1F1B plans? \(vp = 1\) here (is|are) left out because the "
                                              r"torchtitan-cuda stack's 1F1B schedule needs the micro-batches "
                                              r"per step .* at least pp"):
        il.search(sc, stack=TT_CUDA, pp=8, vp=1, micro_batch=2)
    assert il.search(sc, stack=TT_CUDA, pp=8, vp=1, micro_batch=1, top=1, feasible_only=False).height == 1


def test_primus_zbv_needs_2pp_minus_1_micro_batches_torchtitan_zbv_does_not():
    gb = 10
    sc = _scenario("MI300X", gb)
    assert sc.stack == "megatron-core-rocm"
    zbv = il.search(sc, top=None, feasible_only=False, pp_schedules="zbv")
    assert zbv.height > 0
    assert (_m(zbv, gb) >= 2 * zbv["pp"].to_numpy() - 1).all()
    # V-Half / V-Min (no sourced limit) and torchtitan's ZBV keep the plans Primus' ZBV leaves out
    for kw in ({"pp_schedules": "v-half"}, {"pp_schedules": "v-min"}, {"pp_schedules": "zbv", "stack": TT_ROCM}):
        df = il.search(sc, top=None, feasible_only=False, **kw)
        assert (_m(df, gb) < 2 * df["pp"].to_numpy() - 1).any(), kw
        assert df.height > zbv.height, kw
    with pytest.raises(ValidationError, match=r"zbv plans? \(vp = 2\) here (is|are) left out because the "
                                              r"megatron-core-rocm stack's zbv schedule needs .* at least 2 x pp - 1"):
        il.search(sc, pp_schedules="zbv", pp=4, micro_batch=2)


@pytest.mark.parametrize("acc, stack, sched, plan", [
    ("H100-SXM", TT_CUDA, "1f1b", {"tp": 8, "pp": 4, "vp": 1, "cp": 1, "micro_batch": 1}),     # dp 1: m 10
    ("H100-SXM", TT_CUDA, "1f1b", {"tp": 4, "pp": 8, "vp": 1, "cp": 1, "micro_batch": 1}),     # m 10 >= 8
    ("H100-SXM", TT_CUDA, "1f1b", {"tp": 2, "pp": 8, "vp": 1, "cp": 1, "micro_batch": 1}),     # dp 2: m 5
    ("H100-SXM", "megatron-core-cuda", "1f1b", {"tp": 2, "pp": 8, "vp": 1, "cp": 1, "micro_batch": 1}),
    ("MI300X", "megatron-core-rocm", "zbv", {"tp": 8, "pp": 4, "vp": 2, "cp": 1, "micro_batch": 1}),  # m 10 >= 7
    ("MI300X", "megatron-core-rocm", "zbv", {"tp": 4, "pp": 4, "vp": 2, "cp": 1, "micro_batch": 1}),  # m 5 < 7
    ("MI300X", "megatron-core-rocm", "v-min", {"tp": 4, "pp": 4, "vp": 2, "cp": 1, "micro_batch": 1}),
    ("MI300X", TT_ROCM, "zbv", {"tp": 4, "pp": 4, "vp": 2, "cp": 1, "micro_batch": 1}),
])
def test_estimate_warns_exactly_where_search_leaves_the_plan_out(acc, stack, sched, plan):
    sc = _scenario(acc)
    pinned = dict(plan, zero=1, recompute="full", sequence_parallel=plan["tp"] > 1, fsdp=False)
    try:
        offered = il.search(sc, top=None, feasible_only=False, stack=stack, pp_schedules=sched, **pinned).height
    except ValidationError as e:
        assert "left out because" in str(e)
        offered = 0
    assert offered in (0, 1)
    est_sc = sc.replace(parallelism={k: plan[k] for k in ("tp", "pp", "vp", "cp")} | {"pp_schedule": sched},
                        training={"micro_batch": plan["micro_batch"], "recompute": "full"})
    with warnings.catch_warnings(record=True) as got:
        warnings.simplefilter("always", ScheduleSupportWarning)
        il.estimate(est_sc, stack=stack)
    said = [w for w in got if issubclass(w.category, ScheduleSupportWarning) and "micro-batch" in str(w.message)]
    assert bool(said) is (offered == 0), (offered, [str(w.message) for w in said])
    if said:
        assert stack in str(said[0].message) and "il.search does not offer" in str(said[0].message)
