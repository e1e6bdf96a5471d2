"""il.search leaves out the interleaved plans (vp > 1) whose micro-batches per step m the
scenario's stack refuses (data/pp_schedule_stacks.csv, microbatch_rule): Megatron-LM /
Megatron-Core and Primus need m a multiple of pp, torch.distributed.pipelining (torchtitan) m a
multiple of its rounds max(1, m // pp). il.estimate of such a plan warns on the stacks that refuse
it only; plan_space_size counts what the search evaluates."""

import warnings

import numpy as np
import pytest

import infra_lab as il
from infra_lab import training as T
from infra_lab.errors import ScheduleSupportWarning, UnknownNameError, ValidationError

MEGATRON = ("megatron-lm-2022-cuda", "megatron-core-cuda", "megatron-core-cuda-asym")
TORCHTITAN = "torchtitan-cuda"
# the plan il.search ranked first on the Megatron-Core stack before it knew the rule (closed form):
# llama3-70b on 32 H100 with global batch 10 at tp 4, pp 4, vp 8, cp 2, dp 1, micro-batch 1: m = 10
BEST_BEFORE = {"tp": 4, "pp": 4, "vp": 8, "cp": 2, "dp": 1, "micro_batch": 1}


def _scenario(gb=10):
    return il.Scenario.from_dict({
        "name": "il-counts", "model": "llama3-70b",
        "hardware": {"accelerator": "H100-SXM", "nodes": 4, "gpus_per_node": 8},
        "training": {"seq_len": 4096, "global_batch": gb, "micro_batch": 1, "precision": "bf16"}},
        check_plan=False)


def _m(df, gb):
    return gb // (df["micro_batch"].to_numpy().astype(np.int64) * df["dp"].to_numpy())


def _has(df, plan):
    sel = df
    for k, v in plan.items():
        sel = sel.filter(sel[k] == v)
    return sel.height > 0


@pytest.mark.parametrize("rule, m, pp, refused", [
    ("multiple_of_pp", 8, 4, False), ("multiple_of_pp", 30, 4, True), ("multiple_of_pp", 2, 4, True),
    ("multiple_of_pp", 10, 4, True),
    # torch: rounds = max(1, m // pp); its docstring's examples m = 10 and m = 3 at pp 4 run
    ("multiple_of_rounds", 10, 4, False), ("multiple_of_rounds", 3, 4, False), ("multiple_of_rounds", 8, 4, False),
    ("multiple_of_rounds", 30, 4, True), ("multiple_of_rounds", 9, 4, True),
    (None, 30, 4, False),
])
def test_interleaved_refused_rules(rule, m, pp, refused):
    assert bool(T.interleaved_refused(rule, m, pp)) is refused
    # only the interleaved plans (pp > 1 and vp > 1) can be refused
    assert not T.interleaved_refused(rule, m, pp, vp=1)
    assert bool(T.interleaved_refused(rule, m, pp, vp=2)) is refused


def test_every_stack_with_interleaved_has_a_rule():
    for stack in ("megatron-lm-2022-cuda", "megatron-core-cuda", "megatron-core-cuda-asym", "megatron-core-rocm",
                  "megatron-core-rocm-asym"):
        assert T.interleaved_microbatch_rule(stack) == "multiple_of_pp"
    for stack in ("torchtitan-cuda", "torchtitan-rocm"):
        assert T.interleaved_microbatch_rule(stack) == "multiple_of_rounds"
    with pytest.raises(UnknownNameError, match="microbatch_rule"):
        T.interleaved_refused("multiple_of_three", 3, 4)


@pytest.mark.parametrize("stack", MEGATRON)
def test_megatron_search_drops_the_refused_best_plan(stack):
    gb = 10
    sc = _scenario(gb)
    df = il.search(sc, top=None, feasible_only=False, stack=stack)
    il_rows = df.filter(df["vp"] > 1)
    assert il_rows.height > 0
    assert (_m(il_rows, gb) % il_rows["pp"].to_numpy() == 0).all()
    assert not _has(df, BEST_BEFORE)
    assert df.height == T.plan_space_size(sc, stack=stack)
    best = il.search(sc, top=1, stack=stack).row(0, named=True)
    assert best["vp"] == 1 or (gb // (best["micro_batch"] * best["dp"])) % best["pp"] == 0


def test_torchtitan_search_keeps_the_plans_torch_runs():
    gb = 10
    sc = _scenario(gb)
    df = il.search(sc, top=None, feasible_only=False, stack=TORCHTITAN)
    assert _has(df, BEST_BEFORE)                          # m = 10 at pp 4: two rounds of 5
    il_rows = df.filter(df["vp"] > 1)
    m, pp = _m(il_rows, gb), il_rows["pp"].to_numpy()
    assert (m % pp != 0).any()                           # kept: torch runs them, Megatron-Core does not
    assert (m % np.maximum(1, m // pp) == 0).all()
    assert df.height == T.plan_space_size(sc, stack=TORCHTITAN)
    assert df.height > T.plan_space_size(sc)             # the scenario's stack (Megatron-Core) drops more


def test_torchtitan_refuses_its_own_counts():
    # global batch 60 on tp 4 · pp 4 · cp 1 (dp 2), micro-batch 1: m = 30 in max(1, 30 // 4) = 7 rounds,
    # which torch refuses
    gb = 60
    sc = _scenario(gb)
    plan = dict(pp=4, tp=4, cp=1, micro_batch=1)
    df = il.search(sc, top=None, feasible_only=False, stack=TORCHTITAN, **plan)
    assert df.height > 0 and (df["vp"] == 1).all()
    with pytest.raises(ValidationError, match=r"interleaved plans? .*left out.*max\(1, m // pp\)"):
        il.search(sc, stack=TORCHTITAN, min_vp=2, **plan)


def test_search_without_a_runnable_interleaved_plan_says_why():
    sc = _scenario(10)       # pp 4: dp 2 or 1, so m in 10, 5, 2, 1: never a multiple of 4
    with pytest.raises(ValidationError, match=r"left out because the megatron-core-cuda stack's interleaved 1F1B "
                                              r"schedule needs the micro-batches per step .* multiple of pp"):
        il.search(sc, pp_schedules="interleaved", pp=4)
    assert il.search(sc, pp_schedules="interleaved", pp=4, stack=TORCHTITAN, top=1).height == 1


def test_estimate_warns_only_where_the_stack_refuses():
    sc = _scenario(10).replace(parallelism={"tp": 4, "pp": 4, "vp": 8, "cp": 2})   # dp 1, micro-batch 1: m = 10
    with pytest.warns(ScheduleSupportWarning, match="10 micro-batch.*megatron-core-cuda"):
        il.estimate(sc)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ScheduleSupportWarning)
        il.estimate(sc, stack=TORCHTITAN)
    sc60 = _scenario(60).replace(parallelism={"tp": 4, "pp": 4, "vp": 8, "cp": 1})  # dp 2: m = 30
    with pytest.warns(ScheduleSupportWarning, match=r"30 micro-batch.*torchtitan-cuda.*max\(1, m // pp\)"):
        il.estimate(sc60, stack=TORCHTITAN)


def test_v_schedule_plans_are_not_filtered_by_the_interleaved_rule():
    """The interleaved rule is the interleaved schedule's: on Primus a ZBV search keeps pp 4, vp 2
    plans (m = 10, not a multiple of 4) that its interleaved search leaves out. (Primus' ZBV has
    its own rule, m >= 2·pp − 1: tests/test_search_schedule_counts.py.)"""
    gb = 10
    sc = il.Scenario.from_dict({
        "name": "il-counts-rocm", "model": "llama3-70b",
        "hardware": {"accelerator": "MI300X", "nodes": 4, "gpus_per_node": 8},
        "training": {"seq_len": 4096, "global_batch": gb, "micro_batch": 1, "precision": "bf16"}},
        check_plan=False)
    assert sc.stack == "megatron-core-rocm"
    zbv = il.search(sc, top=None, feasible_only=False, pp_schedules="zbv", pp=4)
    assert zbv.height > 0 and (_m(zbv, gb) % 4 != 0).all()
    with pytest.raises(ValidationError, match="multiple of pp"):
        il.search(sc, top=None, feasible_only=False, pp_schedules="interleaved", pp=4, vp=2)


def test_empty_result_counts_the_interleaved_plans_left_out():
    """Llama 3 405B does not fit on 8 H100 in any plan: the empty result's warning says so and
    how many interleaved plans the stack's rule left out (global batch 10: m never a multiple of
    pp = 4 or 8 with dp 1 or 2)."""
    sc = il.Scenario.from_dict({
        "name": "il-empty", "model": "llama3.1-405b",
        "hardware": {"accelerator": "H100-SXM", "nodes": 1, "gpus_per_node": 8},
        "training": {"seq_len": 4096, "global_batch": 10, "micro_batch": 1, "precision": "bf16"}},
        check_plan=False)
    with pytest.warns(il.errors.EmptyResultWarning, match=r"fits in memory.*interleaved plans were not evaluated: "
                                                          r"the megatron-core-cuda stack's"):
        df = il.search(sc)
    assert df.height == 0
