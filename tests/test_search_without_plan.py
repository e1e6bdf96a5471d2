"""il.search takes a scenario without a [parallelism] plan, or with one that does not fit its
cluster, batch or model: the search enumerates the plans itself (Scenario.from_dict(d,
check_plan=False)). A call that prices one plan still refuses such a scenario by name."""

import json

import pytest
from kernel_check import assert_row_is_estimate
from polars.testing import assert_frame_equal

import infra_lab as il
from infra_lab import cli
from infra_lab.errors import UnknownNameError, ValidationError
from infra_lab.training import plan_space_size

ZAYA = il.load_scenario("zaya1-ibm-mi300x")
# 32 GPUs, a global batch of 16: pure data parallelism (the default plan) has no whole sequence per GPU
BASE = ZAYA.replace(hardware={"nodes": 4}, training={"global_batch": 64}).to_dict()
QUICK = {"top": None, "feasible_only": False, "max_micro_batch": 2, "max_vp": 2, "max_cp": 2, "max_pp": 4}


def _with(**tables) -> dict:
    d = {k: (dict(v) if isinstance(v, dict) else v) for k, v in BASE.items()}
    for t, upd in tables.items():
        if upd is None:
            d.pop(t, None)
        else:
            d[t] = {**d.get(t, {}), **upd}
    return d


def test_a_dict_without_a_plan_searches_like_one_with_any_plan():
    ref = il.search(BASE, **QUICK)                         # Zyphra's plan (dp 32), as before
    assert ref.height > 0
    assert_frame_equal(il.search(_with(parallelism=None), **QUICK), ref)
    assert_frame_equal(il.search({**BASE, "parallelism": None}, **QUICK), ref)
    for plan in ({"tp": 8, "pp": 2, "zero": 3, "fsdp": True},    # another consistent plan
                 {"tp": 3},                                      # tp·pp·cp not dividing the 32 GPUs
                 {"pp": 64, "vp": 4},                            # more stages than layers
                 {"ep": 5}):                                     # not dividing the experts
        assert_frame_equal(il.search(_with(parallelism=plan), **QUICK), ref)
    # the training table's micro_batch is enumerated too: one that leaves no whole dp is ignored
    assert_frame_equal(il.search(_with(training={"micro_batch": 3}), **QUICK), ref)
    sc = il.Scenario.from_dict(_with(parallelism=None), check_plan=False)
    assert_frame_equal(il.search(sc, **QUICK), ref)
    assert plan_space_size(sc, max_micro_batch=2) == plan_space_size(BASE, max_micro_batch=2)


def test_a_plan_whose_dp_does_not_divide_the_batch_searches_and_estimate_still_refuses_it():
    d = _with(training={"global_batch": 16})             # dp 32 (Zyphra's pure DP) does not divide 16
    with pytest.raises(ValidationError, match=r"training.global_batch = 16: must be a multiple of micro_batch·dp"):
        il.Scenario.from_dict(d)
    best = il.search(d, top=3, max_micro_batch=2, max_vp=2)
    assert best.height == 3 and (16 % best["dp"] == 0).all() and best["fits"].all()
    assert_frame_equal(best, il.search(_with(training={"global_batch": 16}, parallelism=None), top=3,
                                       max_micro_batch=2, max_vp=2))
    for bad in (d, il.Scenario.from_dict(d, check_plan=False)):
        with pytest.raises(ValidationError, match=r"training.global_batch = 16: must be a multiple of micro_batch·dp"):
            il.estimate(bad)
    # the best plan, written into the table, is a checked scenario that estimates as the search priced it
    r = best.row(0, named=True)
    d["parallelism"] = {k: r[k] for k in ("tp", "pp", "vp", "cp", "ep", "etp", "zero", "fsdp", "sequence_parallel")}
    d["training"].update(micro_batch=r["micro_batch"], recompute=r["recompute"])
    assert_row_is_estimate(r, il.estimate(d), rel=1e-12)


def test_a_scenario_without_a_plan_names_parallelism_where_a_plan_is_needed():
    sc = il.Scenario.from_dict(_with(parallelism=None), check_plan=False)
    assert sc.parallelism is None and "parallelism" not in sc.to_dict()
    for call in (il.estimate, il.memory.training_memory, lambda s: il.Scenario.from_dict(s)):
        with pytest.raises(ValidationError, match=r"^parallelism: scenario .* has no \[parallelism\] table"):
            call(sc)
    # a plan given later: the checked scenario's numbers, exactly
    plan = {"tp": 2, "pp": 2}
    planned = sc.replace(parallelism=plan)
    assert planned.parallelism.tp == 2
    assert il.estimate(planned).step_time_s == il.estimate(_with(parallelism=plan)).step_time_s
    # other tables replaced: still a scenario for the search, still without a plan
    wider = sc.replace(hardware={"nodes": 8})
    assert wider.parallelism is None and wider.hardware.world_size == 64
    # round trips of a scenario without a plan (dict and TOML) with check_plan=False
    assert il.Scenario.from_dict(sc.to_dict(), check_plan=False) == sc
    import tomllib
    assert il.Scenario.from_dict(tomllib.loads(sc.to_toml()), check_plan=False) == sc


def test_checked_scenarios_are_unchanged():
    # no [parallelism] table in a checked build: the default plan (pure data parallelism), as before
    sc = il.Scenario.from_dict(_with(parallelism=None))
    assert (sc.parallelism.tp, sc.parallelism.dp) == (1, 32)
    assert sc == il.Scenario.from_dict(BASE | {"parallelism": {}})
    with pytest.raises(ValidationError, match=r"\[parallelism\] = None: expected a table"):
        il.Scenario.from_dict({**BASE, "parallelism": None})
    # a consistent scenario built for the search equals (and hashes as) the checked one
    a, b = il.Scenario.from_dict(BASE), il.Scenario.from_dict(BASE, check_plan=False)
    assert a == b and hash(a) == hash(b) and il.Scenario.from_dict(b) == a
    assert il.estimate(b).step_time_s == il.estimate(a).step_time_s
    with pytest.raises(ValidationError, match="check_plan = 'no'"):
        il.Scenario.from_dict(BASE, check_plan="no")


def test_search_still_reports_every_other_error():
    cases = [
        (_with(model=None) | {"model": {"preset": "zaya1-bse"}}, UnknownNameError, "zaya1-base"),
        (_with(hardware={"nodes": 0}), ValidationError, "hardware.nodes = 0"),
        (_with(hardware={"accelerator": "MI30X"}), UnknownNameError, "MI300X"),
        (_with(training={"global_batch": 0}), ValidationError, "training.global_batch = 0"),
        (_with(training={"stack": "megatron-core-cuda"}), ValidationError, "training.stack"),
        (_with(parallelism={"tpp": 2}), UnknownNameError, "parallelism.tp"),
        (_with(parallelism={"tp_async": True}), ValidationError, "parallelism.tp_async"),
        (_with(parallelism={"cp_rotate": "ring"}), UnknownNameError, "parallelism.cp_rotate"),
        ({k: v for k, v in BASE.items() if k != "model"}, ValidationError, r"missing table \[model\]"),
    ]
    for d, err, message in cases:
        with pytest.raises(err, match=message):
            il.search(d, top=1)
    with pytest.raises(ValidationError, match="serving scenario"):
        il.search(il.load_scenario("maia-class-serving-mi300x"))
    # a batch that no split of the model leaves a whole dp for: says which batches work
    d = {"model": {"preset": "gpt2-small"}, "hardware": {"accelerator": "H100-SXM", "nodes": 512},
         "training": {"global_batch": 3, "seq_len": 1024}}
    for cons in ({}, {"max_tp": 2}):
        with pytest.raises(ValidationError, match=r"training.global_batch = 3: .* a global batch that is a "
                                                  r"multiple of 8, or fewer GPUs"):
            il.search(d, **cons)


def test_the_search_keeps_the_plans_library_choices():
    """tp_async, dualpipe, ... are choices of the run, not searched: kept from a plan that does
    not fit, as from one that does."""
    choices = {"moe_dispatcher": "deepep", "cp_rotate": "allgather-exposed"}
    fits = il.search(_with(parallelism={"tp": 2, **choices}), **QUICK)
    assert_frame_equal(il.search(_with(parallelism={"tp": 2, "pp": 3, **choices}), **QUICK), fits)
    assert not fits.equals(il.search(BASE, **QUICK))


def test_cli_search_and_sweep_take_a_toml_without_a_plan(tmp_path, capsys):
    d = _with(training={"global_batch": 16}, parallelism=None)
    path = tmp_path / "no_plan.toml"
    path.write_text(il.Scenario.from_dict(d, check_plan=False).to_toml())
    assert "[parallelism]" not in path.read_text()
    rc = cli.main(["search", str(path), "--top", "2", "--max-micro-batch", "2", "--format", "json"])
    out = capsys.readouterr()
    assert rc == 0, out.err
    ref = il.search(d, top=2, max_micro_batch=2)
    assert [r["step_time_s"] for r in json.loads(out.out)] == ref["step_time_s"].to_list()
    rc = cli.main(["estimate", str(path)])
    out = capsys.readouterr()
    assert rc == 1 and "training.global_batch = 16" in out.err
    grid = tmp_path / "grid.toml"
    grid.write_text("[hardware]\nnodes = [4, 8]\n")
    rc = cli.main(["sweep", str(path), "--grid", str(grid), "--call", "search", "--format", "json"])
    out = capsys.readouterr()
    assert rc == 0, out.err
    rows = json.loads(out.out)
    assert [r["nodes"] for r in rows] == [4, 8] and all(r["error"] is None for r in rows)
    assert rows[0]["step_time_s"] == il.search(d, top=1)["step_time_s"][0]


def test_a_batch_no_plan_divides_names_the_heads_as_the_tp_rules_do():
    """The "no plan divides training.global_batch" error words the model's heads as the tp rules
    do (memory.inference._heads_text: "the 32 attention heads of llama3-8b (8 KV heads)"); it said
    "(32 heads, 8 KV heads" in words of its own."""
    from infra_lab.memory.inference import _heads_text

    d = _with(parallelism=None, hardware={"nodes": 128}, model={"preset": "llama3-8b"},
              training={"global_batch": 1021, "seq_len": 4095})    # 1021 prime; cp only 1 (odd seq_len)
    d["model"] = {"preset": "llama3-8b"}
    with pytest.raises(ValidationError) as e:
        il.search(d)
    msg = str(e.value)
    name, _, kvs = _heads_text(il.models.get("llama3-8b"))
    assert f"the 32 attention heads of {name}{kvs}, its 32 layers and seq_len 4095" in msg, msg
    assert kvs == " (8 KV heads)" and "heads, 8 KV heads" not in msg
    assert msg.startswith("training.global_batch = 1021:") and "a multiple of 4" in msg
