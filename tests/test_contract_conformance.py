"""A user's pass over docs/ARCHITECTURE.md's contract: each case is a documented behaviour
that the code did not keep (each test failed before its fix)."""

from __future__ import annotations

import json
import tomllib

import numpy as np
import pytest

import infra_lab as il

LLAMA = {"preset": "llama3-8b"}


def test_numpy_bools_are_stored_as_python_bools_and_write_to_toml():
    # "from_dict(tomllib.loads(sc.to_toml())) == sc holds for every valid scenario", and numpy
    # scalars are read as Python values: an np.bool_ flag (a polars/numpy grid's value) was
    # kept as np.True_, and to_toml refused the scenario ("'bool' is not TOML serializable")
    t = np.True_
    sc = il.Scenario.from_dict({
        "name": "np-flags", "model": LLAMA,
        "hardware": {"accelerator": "H100", "sharp": np.False_, "pxn": t},
        "training": {"eager": t, "loss_fusion": t, "loss_compiled": np.False_, "moe_host_sync": np.False_,
                     "fp8_param_gather": np.False_, "sac_recompute_attention": np.False_,
                     "pp_free_stage_buffers": np.False_, "gradient_accumulation_fusion": t},
        "parallelism": {"tp": np.int64(2), "sequence_parallel": t, "fsdp": np.False_, "ep_overlap": np.False_,
                        "tp_async": t, "dualpipe": np.False_, "cp_repeat_kv": np.False_},
    })
    d = sc.to_dict()
    for table in ("hardware", "training", "parallelism"):
        for key, value in d[table].items():
            assert type(value).__module__ != "numpy", f"{table}.{key} = {value!r}"
    assert il.Scenario.from_dict(tomllib.loads(sc.to_toml())) == sc
    assert il.Scenario.from_dict(json.loads(json.dumps(d))) == sc


def test_serve_search_edge_objectives_are_importable_where_the_contract_names_them():
    # the contract's serve_search line: SearchEdgeWarning "when ... the objective is throughput
    # or $ per token: il.serving.EDGE_OBJECTIVES"; only il.serving.search held the name
    assert set(il.serving.EDGE_OBJECTIVES) <= set(il.serving.OBJECTIVES)
    assert "EDGE_OBJECTIVES" in il.serving.__all__
    assert "ttft_s" not in il.serving.EDGE_OBJECTIVES and "output_tokens_per_s" in il.serving.EDGE_OBJECTIVES


def test_collective_json_carries_every_collective_result_field(capsys):
    # "--format json|csv prints the same fields as the Python objects (... CollectiveResult's
    # fields ...)": the notes (which bound the scale-out rate, a zero-byte call) were left out
    import dataclasses

    from infra_lab import cli

    hw = {"accelerator": "MI300X", "nodes": 8}
    rc = cli.main(["collective", "all_reduce", "1GiB", "--accelerator", "MI300X", "--nodes", "8",
                   "--gpus", "64", "--format", "json"])
    row = json.loads(capsys.readouterr().out)[0]
    assert rc == 0
    c = il.collective("all_reduce", 2**30, hw, 64)
    renamed = {"algbw_Bps": "algbw_GBps", "busbw_Bps": "busbw_GBps", "nodes": "domains", "per_node": "per_domain"}
    for f in dataclasses.fields(c):
        assert renamed.get(f.name, f.name) in row, f.name
    assert row["notes"] == "; ".join(c.notes) and "Pollara-400" in row["notes"]
    assert (row["domains"], row["per_domain"]) == (c.nodes, c.per_node)


def test_contract_lists_every_ffn_activation_the_model_table_takes():
    # the [model] comment listed "swiglu" | "gelu"; build() also takes geglu (3 matrices) and
    # relu (2): a user writing against the document could not know
    import re
    from pathlib import Path

    from infra_lab._model_fields import _FFN_ACTS

    text = (Path(__file__).resolve().parent.parent / "docs" / "ARCHITECTURE.md").read_text()
    line = re.search(r"ffn_act \((.*?)\), tied_embeddings", text, re.S).group(1)
    assert set(re.findall(r'"(\w+)"', line)) == set(_FFN_ACTS)
    for act, matrices in _FFN_ACTS.items():
        spec = il.Scenario.from_dict({"name": "m", "model": {"layers": 2, "hidden": 256, "heads": 4, "vocab": 1000,
                                                              "ffn_act": act},
                                      "hardware": {"accelerator": "MI300X"}}).model_spec
        assert spec.gated == (matrices == 3)


def test_config_objects_validate_dp_and_build_serving_scenarios_like_the_dict_form():
    # "Built from config objects ... validated exactly like the dict form": the dict form refuses
    # a dp that is not the derived one; ParallelismConfig(dp=4) on 8 GPUs was silently re-derived
    from infra_lab.errors import ValidationError
    from infra_lab.scenario import HardwareConfig, ParallelismConfig, ServingConfig, TrainingConfig

    hw = HardwareConfig(accelerator="MI300X")
    with pytest.raises(ValidationError, match=r"parallelism\.dp = 4: dp is derived.*give 8"):
        il.Scenario("x", LLAMA, hw, TrainingConfig(), ParallelismConfig(dp=4))
    with pytest.raises(ValidationError, match=r"parallelism\.dp = 4"):
        il.Scenario.from_dict({"name": "x", "model": LLAMA, "hardware": hw, "parallelism": ParallelismConfig(dp=4)})
    ok = il.Scenario("x", LLAMA, hw, TrainingConfig(), ParallelismConfig(dp=8))
    assert ok.parallelism.dp == 8
    # a plan a scenario built (dp derived for its world) still moves to another world
    two = il.Scenario("x", LLAMA, HardwareConfig(accelerator="MI300X", nodes=2), TrainingConfig(), ok.parallelism)
    assert two.parallelism.dp == 16
    import dataclasses

    tp2 = il.Scenario("x", LLAMA, HardwareConfig(accelerator="MI300X", nodes=2), TrainingConfig(),
                      dataclasses.replace(ok.parallelism, tp=2))
    assert tp2.parallelism.dp == 8 and tp2.parallelism == ParallelismConfig(tp=2, dp=8)
    # training / parallelism left out, as tables may be in a dict; a serving scenario from objects
    assert il.Scenario("x", LLAMA, hw) == il.Scenario.from_dict({"name": "x", "model": LLAMA,
                                                                   "hardware": {"accelerator": "MI300X"}})
    sv = il.Scenario("s", LLAMA, hw, serving=ServingConfig(tp=8))
    assert sv.kind == "serving" and sv == il.Scenario.from_dict({"name": "s", "model": LLAMA, "hardware":
                                                                 {"accelerator": "MI300X"}, "serving": {"tp": 8}})


def test_scenario_file_errors_name_the_file_and_a_bare_name_beside_one_points_to_it(tmp_path, monkeypatch):
    # Scenario.from_toml / as_scenario: "read by Scenario.from_toml, whose errors name the file";
    # an invalid table in a file said only "training.seq_len = '4k': ..." (which of a sweep's
    # files?), and il.estimate("base") beside base.toml did not say so (only the CLI did)
    from infra_lab.errors import UnknownNameError, ValidationError

    bad = tmp_path / "bad_run.toml"
    bad.write_text('name = "x"\n[model]\npreset = "llama3-8b"\n[hardware]\naccelerator = "MI300X"\n'
                   '[training]\nseq_len = "4k"\n')
    with pytest.raises(ValidationError, match=r"scenario file bad_run\.toml: training\.seq_len = '4k'"):
        il.estimate(bad)
    typo = tmp_path / "typo.json"
    typo.write_text(json.dumps({"name": "x", "model": {"preset": "llama3-8b"}, "hardware": {"accelerator": "MI30X"}}))
    with pytest.raises(UnknownNameError, match=r"scenario file typo\.json: unknown accelerator 'MI30X'.*MI300X"):
        il.load_scenario(typo)
    (tmp_path / "base.toml").write_text(il.load_scenario("zaya1-ibm-mi300x").to_toml())
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ValidationError, match=r"a file 'base\.toml' is here: did you mean 'base\.toml'\?"):
        il.estimate("base")
    with pytest.raises(UnknownNameError, match=r"A file 'base\.toml' is here"):
        il.load_scenario("base")
    with pytest.raises(ValidationError, match=r"a file 'base\.toml' is here"):
        il.collective("all_reduce", 2**20, "base", 8)


def test_moe_keys_on_a_dense_model_are_taken_and_ignored_and_the_capacity_factor_bounds_are_the_documented_ones():
    from infra_lab.errors import ValidationError

    d = {"name": "t", "model": LLAMA, "hardware": {"accelerator": "MI300X", "nodes": 2},
         "training": {"global_batch": 64}, "parallelism": {"pp": 2}}
    base = il.estimate(d).step_time_s
    moe = {**d, "training": {**d["training"], "moe_routing": "balanced", "moe_capacity_factor": 1.0,
                             "moe_host_sync": True},
           "parallelism": {"pp": 2, "moe_dispatcher": "deepep", "ep_overlap": True, "dualpipe": True}}
    assert il.estimate(moe).step_time_s == base
    for ok in (1, 16):
        assert il.Scenario.from_dict({**d, "training": {"moe_capacity_factor": ok}}).training.moe_capacity_factor == ok
    for bad in (0.99, 16.5):
        with pytest.raises(ValidationError, match="moe_capacity_factor.*from 1 to 16"):
            il.Scenario.from_dict({**d, "training": {"moe_capacity_factor": bad}})
    text = (__import__("pathlib").Path(__file__).resolve().parent.parent / "docs" / "ARCHITECTURE.md").read_text()
    assert "moe_capacity_factor = 1.25  # optional, 1..16;" in text and "takes and ignores it" in text


def test_default_nic_of_a_catalog_part_without_a_row_says_so_rather_than_did_you_mean():
    # il.catalog.default_nic("MI450X") answered "unknown accelerator with a default NIC ...
    # 'MI450X'. Did you mean 'MI350X', 'MI355X', 'MI325X'?": MI450X is a catalog part (the
    # contract's list), only without a default NIC row; the error says that and how to go on
    from infra_lab.errors import UnknownNameError

    with pytest.raises(UnknownNameError) as e:
        il.catalog.default_nic("mi450x")
    msg = str(e.value)
    assert "'MI450X' has no default NIC" in msg and "Did you mean" not in msg
    assert "Pollara-400" in msg and "default_nics.csv" in msg
    with pytest.raises(UnknownNameError, match="Did you mean 'MI450X'"):   # a misspelt part still is one
        il.catalog.default_nic("MI45")
    assert il.Scenario.from_dict({"name": "m", "model": LLAMA, "hardware": {"accelerator": "MI450X",
                                                                             "gpus_per_node": 4}}).hardware.nic == "Pollara-400"


def test_cli_writes_an_unrunnable_rows_inf_as_json_null_and_csv_empty_as_documented(capsys, tmp_path):
    from infra_lab import cli

    p = tmp_path / "u.toml"
    p.write_text('name = "u"\n[model]\npreset = "mixtral-8x7b"\n[hardware]\naccelerator = "MI300X"\nnodes = 2\n'
                 'fabric = "rails-only"\npxn = false\n[training]\nglobal_batch = 64\n')
    frame = il.search(p, top=None, feasible_only=False, ep=4, etp=4, pp=1)
    assert (~frame["runnable"]).any() and frame.filter(~frame["runnable"])["step_time_s"].is_infinite().all()
    assert cli.main(["search", str(p), "--all", "--top", "all", "--ep", "4", "--etp", "4", "--pp", "1",
                     "--format", "json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    stuck = [r for r in rows if not r["runnable"]]
    assert stuck and all(r["step_time_s"] is None and r["tokens_per_s"] == 0 for r in stuck)
    text = (__import__("pathlib").Path(__file__).resolve().parent.parent / "docs" / "ARCHITECTURE.md").read_text()
    assert "is null in JSON and empty in CSV" in text


def test_a_key_in_another_table_or_the_other_kind_of_scenario_names_its_table(tmp_path):
    # "A key in the wrong place ... is refused with the name of the table it belongs in": only the
    # three training tables pointed to each other; serving.nodes read "Did you mean 'serving.ep'?",
    # training.concurrency "Did you mean 'training.encoder'?", model.tp "Did you mean 'top_k'?"
    from infra_lab import cli
    from infra_lab.errors import UnknownNameError

    hw = {"accelerator": "MI300X", "gpus_per_node": 1}
    moved = ((("serving", "nodes"), r"'nodes' is a key of \[hardware\], not \[serving\]"),
             (("serving", "gpus_per_node"), r"'gpus_per_node' is a key of \[hardware\], not \[serving\]"),
             (("hardware", "concurrency"), r"'concurrency' is a key of \[serving\], not \[hardware\]"),
             (("model", "tp"), r"'tp' is a key of a scenario's \[parallelism\] table, not \[model\]"),
             (("model", "accelerator"), r"'accelerator' is a key of a scenario's \[hardware\] table, not \[model\]"),
             (("model", "seq_len"), r"'seq_len' is a key of a scenario's \[training\] table, not \[model\]"))
    for (table, key), want in moved:
        d = {"name": "x", "model": dict(LLAMA), "hardware": dict(hw), "serving": {}}
        d[table][key] = 2
        with pytest.raises(UnknownNameError, match=want):
            il.Scenario.from_dict(d)
    other_kind = ((("training", "concurrency"), r"'concurrency' is a key of \[serving\] \(a serving scenario's table"),
                  (("parallelism", "dp_attention"), r"'dp_attention' is a key of \[serving\] \(a serving scenario's"),
                  (("serving", "seq_len"), r"'seq_len' is a key of \[training\] \(a training scenario's table"),
                  (("serving", "precision"), r"'precision' is a key of \[training\] \(a training scenario's table; a "
                                             r"serving scenario has \[serving\] in their place\)\. Did you mean "
                                             r"'serving\.kv_precision', 'serving\.mtp_precision', "
                                             r"'serving\.weight_precision'\?"))
    for (table, key), want in other_kind:
        d = {"name": "x", "model": LLAMA, "hardware": hw, table: {key: 2}}
        with pytest.raises(UnknownNameError, match=want):
            il.Scenario.from_dict(d)
    # a misspelling is still answered with the nearest names, and the training tables as before
    with pytest.raises(UnknownNameError, match=r"Did you mean 'serving\.engine'"):
        il.Scenario.from_dict({"name": "x", "model": LLAMA, "hardware": hw, "serving": {"engin": "vllm"}})
    with pytest.raises(UnknownNameError, match=r"'tp' is a key of \[parallelism\], not \[training\]"):
        il.Scenario.from_dict({"name": "x", "model": LLAMA, "hardware": hw, "training": {"tp": 2}})
    with pytest.raises(UnknownNameError, match=r"Did you mean 'top_k'"):
        il.models.ModelSpec.from_dict({"preset": "llama3-8b", "topk": 2})
    # a sweep grid's [model] key is checked the same way before any point runs
    (tmp_path / "g.toml").write_text("[model]\ntp = [1, 2]\n")
    with pytest.raises(UnknownNameError, match=r"'tp' is a key of a scenario's \[parallelism\] table"):
        cli.read_grid(str(tmp_path / "g.toml"))


def _cli_json(capsys, args):
    from infra_lab import cli

    rc = cli.main([*args, "--format", "json"])
    out = capsys.readouterr()
    assert rc == 0, out.err
    return json.loads(out.out)


def test_every_keyword_of_serve_search_and_collective_has_a_cli_option(capsys):
    # "the CLI's flags versus the Python keywords": il.serve_search's concurrencies /
    # weight_precisions / kv_precisions and il.collective's fabric_efficiency / radix had no option
    import inspect

    from infra_lab import cli

    parser = cli.build_parser()
    sub = next(a for a in parser._actions if a.dest == "command").choices
    dests = {name: {a.dest for a in p._actions} for name, p in sub.items()}
    renamed = {"stack_params": "param", "price_usd_per_gpu_hour": "price_usd_per_gpu_hour"}
    internal = {"scenario", "reference", "params", "unknown_args"}  # the plain-Python reference; params = stack_params;
    # unknown_args: the catch-all that refuses a keyword serve_search does not take (no option)
    for kw in inspect.signature(il.serve_search).parameters:
        if kw not in internal:
            assert renamed.get(kw, kw) in dests["serve"], kw
    for kw in inspect.signature(il.collective).parameters:
        if kw not in ("size_bytes", "hardware"):
            assert kw in dests["collective"], kw
    for kw in inspect.signature(il.search).parameters:
        if kw not in ("scenario", "constraints", "feasible_only", "params"):
            assert kw in dests["search"], kw
    for kw in il.training.SEARCH_CONSTRAINTS:
        assert kw in dests["search"], kw

    sv = "maia-class-serving-mi300x"
    assert cli.main(["serve", sv, "--search", "--concurrencies", "4,16", "--weight-precisions", "fp8",
                     "--kv-precisions", "fp8", "--top", "all", "--no-pareto", "--format", "json"]) == 0
    out = capsys.readouterr()
    rows = json.loads(out.out)
    # the best row at the grid's edge: the warning names the option that widens it (the keyword in Python)
    assert "warning: il.serve_search: the best row" in out.err and "pass --concurrencies up to it" in out.err
    with pytest.warns(il.errors.SearchEdgeWarning, match="pass concurrencies= up to it"):
        frame = il.serve_search(sv, concurrencies=[4, 16], weight_precisions=["fp8"], kv_precisions=["fp8"],
                                top=None, pareto=False)
    assert len(rows) == frame.height > 0
    assert {r["concurrency"] for r in rows} == {4, 16}
    assert {(r["weight_precision"], r["kv_precision"]) for r in rows} == {("fp8", "fp8")}
    assert [r["output_tokens_per_s"] for r in rows] == frame["output_tokens_per_s"].to_list()
    assert cli.main(["serve", sv, "--concurrencies", "4"]) == 1
    assert "--concurrencies: only with --search" in capsys.readouterr().err

    hw = {"accelerator": "MI300X", "nodes": 2}
    row = _cli_json(capsys, ["collective", "all_reduce", "1GiB", "--accelerator", "MI300X", "--nodes", "2",
                             "--gpus", "16", "--fabric-efficiency", "0.5", "--radix", "32"])[0]
    c = il.collective("all_reduce", 2**30, hw, 16, fabric_efficiency=0.5, radix=32)
    assert row["time_s"] == c.time_s > il.collective("all_reduce", 2**30, hw, 16).time_s
    assert cli.main(["collective", "all_reduce", "1GiB", "--accelerator", "MI300X", "--gpus", "8",
                     "--fabric-efficiency", "1.5"]) == 1
    assert "--fabric-efficiency 1.5" in capsys.readouterr().err


def test_plan_space_size_counts_the_plans_a_search_over_pp_schedules_evaluates():
    # "training.plan_space_size(sc, stack=None, **constraints) counts the plans searched": a search
    # with pp_schedules= evaluates the zero-bubble plans too, which plan_space_size could not count
    d = {"name": "s", "model": LLAMA, "hardware": {"accelerator": "MI300X", "nodes": 2},
         "training": {"global_batch": 64}}
    for pp_schedules, kw in ((None, {}), ("all", {}), (["zbv"], {}), (["1f1b", "zb-h1"], {"max_tp": 2}),
                             ("all", {"stack": "torchtitan-rocm"})):
        n = il.training.plan_space_size(d, pp_schedules=pp_schedules, **kw)
        frame = il.search(d, top=None, feasible_only=False, pp_schedules=pp_schedules, **kw)
        assert n == frame.height, (pp_schedules, kw)
    assert il.training.plan_space_size(d, pp_schedules="all") > il.training.plan_space_size(d)
    with pytest.raises(il.errors.UnknownNameError, match="Did you mean 'zbv'"):
        il.training.plan_space_size(d, pp_schedules="zbx")


def test_the_contracts_collective_aliases_are_the_ones_the_call_takes():
    import re
    from pathlib import Path

    text = (Path(__file__).resolve().parent.parent / "docs" / "ARCHITECTURE.md").read_text()
    block = re.search(r"ALGORITHM_ALIASES, e\.g\. (.*?)\)\.", text, re.S).group(1)
    pairs = re.findall(r"(\w+) = (\w+)", block)
    assert pairs and all(il.collectives.ALGORITHM_ALIASES[a] == b for a, b in pairs)
    hw = {"accelerator": "MI300X", "nodes": 2}
    for alias, name in il.collectives.ALGORITHM_ALIASES.items():
        assert name in il.collectives.ALGORITHMS, alias
    assert il.collective("all_to_all", 2**20, hw, 16, "rail_aware").algorithm == "pxn"


def test_cli_format_before_the_command_and_the_documented_exit_statuses(capsys, monkeypatch):
    # `infra-lab --format json estimate NAME` answered "argument COMMAND: invalid choice: 'json'"
    # (exit 2); every command takes --format and --debug, so they may come first too
    from infra_lab import cli

    assert cli.main(["--format", "json", "estimate", "zaya1-ibm-mi300x"]) == 0
    first = json.loads(capsys.readouterr().out)
    assert cli.main(["estimate", "zaya1-ibm-mi300x", "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out) == first
    assert cli.main(["--format=csv", "collective", "all_reduce", "1GiB", "--accelerator", "MI300X", "--gpus", "8"]) == 0
    assert capsys.readouterr().out.startswith("op,size_bytes,gpus,")
    # exit statuses: 1 bad input, 2 usage, 3 a bug (one line, no traceback; --debug raises)
    assert cli.main(["estimate", "no-such-scenario"]) == 1
    assert "error: unknown scenario 'no-such-scenario'" in capsys.readouterr().err
    with pytest.raises(SystemExit) as e:
        cli.main(["--format", "xml", "estimate", "zaya1-ibm-mi300x"])
    assert e.value.code == 2 and "invalid choice: 'xml'" in capsys.readouterr().err

    def broken(a):
        raise RuntimeError("boom")

    monkeypatch.setattr(cli, "cmd_estimate", broken)
    assert cli.main(["estimate", "zaya1-ibm-mi300x"]) == 3
    err = capsys.readouterr().err
    assert "internal error: RuntimeError: boom" in err and "--debug" in err and "Traceback" not in err
    with pytest.raises(RuntimeError, match="boom"):
        cli.main(["--debug", "estimate", "zaya1-ibm-mi300x"])
    text = (__import__("pathlib").Path(__file__).resolve().parent.parent / "docs" / "ARCHITECTURE.md").read_text()
    assert "exit 3 with one line that asks for --debug" in text and "--format and --debug may come before" in text


# every key of every table, held by one of these scenarios (the optional keys added lately too)
_EVERY_KEY = {
    "torchtitan-fp8": {"name": "a", "model": {"preset": "llama3-8b"},
                       "hardware": {"accelerator": "H100", "nodes": 2, "host_cpu": "Xeon-Platinum-8570", "sharp": True,
                                    "fabric": "fat-tree", "oversubscription": 2.0, "nics_per_node": 16},
                       "training": {"stack": "torchtitan-cuda", "precision": "fp8", "fp8_scaling": "tensor",
                                    "fsdp_float8_all_gather": True, "loss_compiled": True, "sac_recompute_attention": True,
                                    "pp_free_stage_buffers": True, "eager": True, "loss_chunks": 4,
                                    "data_mix": {"text": 1, "packing": "ff"}},
                       "parallelism": {"fsdp": True, "tp": 2, "tp_async": True, "cp": 2, "cp_rotate": "allgather",
                                       "cp_repeat_kv": True, "dp": 4}},
    "moe-etp": {"name": "b", "model": {"preset": "mixtral-8x7b"},
                "hardware": {"accelerator": "MI300X", "nodes": 4, "nic": "Pollara-400", "pxn": True,
                             "scaleup_domain": 8},
                "training": {"global_batch": 256, "micro_batch": 2, "seq_len": 2048, "moe_routing": "balanced",
                             "moe_capacity_factor": 1.25, "moe_host_sync": True, "recompute": "selective",
                             "recompute_modules": ["layernorm", "moe_act"], "offload_modules": ["expert_fc1"],
                             "loss_fusion": True, "gradient_accumulation_fusion": False, "optimizer": "adamw-bf16"},
                "parallelism": {"ep": 4, "etp": 2, "tp": 2, "pp": 2, "vp": 2, "zero": 1, "moe_dispatcher": "deepep",
                                "ep_overlap": True, "dualpipe": True, "sequence_parallel": True}},
    "gb200-partial-racks": {"name": "c", "model": {"preset": "llama3-70b"},
                            "hardware": {"accelerator": "GB200", "nodes": 64, "gpus_per_node": 4, "domain_gpus": 64},
                            "training": {"recompute": "full", "recompute_num_layers": 4, "precision": "fp8",
                                         "fp8_param_gather": True},
                            "parallelism": {"tp": 4, "pp": 4, "pp_schedule": "zb-h1", "fsdp_impl": "megatron"}},
    "multimodal": {"name": "d", "model": {"preset": "llama3-8b", "vision": {"preset": "clip-vit-l-336", "layers": 12},
                                          "vision_projector": "mlp2", "audio": "whisper-large-v3-encoder"},
                   "hardware": {"accelerator": "MI300X"},
                   "training": {"data_mix": {"text": 0.5, "image": 0.3, "audio": 0.2, "image_size": [448, 448],
                                             "audio_clip_s": 10.0, "packing": "ffd"}, "encoder": "frozen"}},
    "serving": {"name": "e", "model": {"preset": "deepseek-r1"}, "hardware": {"accelerator": "B200"},
                "serving": {"engine": "sglang", "weight_precision": "fp4", "kv_precision": "fp8",
                            "attention_precision": "bf16", "mtp_precision": "bf16", "tp": 1, "dp": 8, "ep": 8,
                            "dp_attention": True, "spec_decoding": "mtp", "mtp_draft_tokens": 3, "mtp_acceptance": 0.7,
                            "input_tokens": 2000, "output_tokens": 500, "concurrency": 32, "chunk_tokens": 4096,
                            "num_prompts": 100, "request_rate_rps": 2.0, "batching": "continuous",
                            "stack": "sglang-cuda"}},
    "serving-closed-loop": {"name": "f", "model": {"preset": "llama3-70b"}, "hardware": {"accelerator": "MI300X"},
                            "serving": {"tp": 4, "pp": 2, "lockstep": True}},
    "serving-media": {"name": "g", "model": {"preset": "qwen2.5-vl-7b", "audio": "whisper-large-v3-encoder"},
                      "hardware": {"accelerator": "MI300X", "gpus_per_node": 1},
                      "serving": {"images_per_request": 2, "image_size": [448, 448], "encoder_batch": 2,
                                  "audio_s_per_request": 12.0}},
}


@pytest.mark.filterwarnings("ignore::infra_lab.errors.ScheduleSupportWarning")
def test_every_key_of_every_table_round_trips_and_replaces_to_itself(tmp_path):
    # "Scenario.from_dict(tomllib.loads(sc.to_toml())) == sc and Scenario.from_dict(sc.to_dict()) == sc
    # hold for every valid scenario" (and the JSON file, json.dump(sc.to_dict())): checked on scenarios
    # that hold every key of every table, so a key added without its round trip fails here
    from infra_lab.scenario import HardwareConfig, ParallelismConfig, ServingConfig, TrainingConfig

    held = {"hardware": set(), "training": set(), "parallelism": set(), "serving": set()}
    for label, d in _EVERY_KEY.items():
        sc = il.Scenario.from_dict(d)
        for table in held:
            held[table] |= set(d.get(table, {}))
        assert il.Scenario.from_dict(sc.to_dict()) == sc, label
        assert il.Scenario.from_dict(tomllib.loads(sc.to_toml())) == sc, label
        assert il.Scenario.from_toml(sc.to_toml()) == sc, label
        assert il.Scenario.from_dict(json.loads(json.dumps(sc.to_dict()))) == sc, label
        (tmp_path / f"{sc.name}.json").write_text(json.dumps(sc.to_dict()))
        (tmp_path / f"{sc.name}.toml").write_text(sc.to_toml())
        assert il.load_scenario(tmp_path / f"{sc.name}.json") == sc == il.load_scenario(tmp_path / f"{sc.name}.toml")
        objs = (il.Scenario(sc.name, sc.model, sc.hardware, serving=sc.serving) if sc.kind == "serving" else
                il.Scenario(sc.name, sc.model, sc.hardware, sc.training, sc.parallelism))
        assert objs == sc, label
        # replace() of every key given, with the value the scenario holds, is the same scenario
        for table, keys in d.items():
            if isinstance(keys, dict):
                for key in keys:
                    value = sc.to_dict()[table].get(key, keys[key])
                    assert sc.replace(**{table: {key: value}}) == sc, (label, table, key)
    for table, cls in (("hardware", HardwareConfig), ("training", TrainingConfig),
                       ("parallelism", ParallelismConfig), ("serving", ServingConfig)):
        assert set(cls.KEYS) <= held[table], (table, set(cls.KEYS) - held[table])


def test_cli_sweep_reaches_retry_failed(tmp_path, capsys, monkeypatch):
    # il.sweep's out= resume "evaluates failed ones again unless retry_failed=False": `infra-lab
    # sweep --out FOLDER` had no way to say retry_failed=False
    from infra_lab import cli

    (tmp_path / "s.toml").write_text('name = "s"\n[model]\npreset = "llama3-8b"\n[hardware]\naccelerator = "MI300X"\n'
                                     '[training]\nglobal_batch = 64\n')
    (tmp_path / "g.toml").write_text("[hardware]\nnodes = [1, 2]\n")
    real = il.estimate

    def flaky(d, **kw):     # the 2-node point fails on the first run only
        if d["hardware"]["nodes"] == 2 and not flaky.healed:
            raise il.ValidationError("transient")
        return real(d, **kw)

    flaky.healed = False
    monkeypatch.setattr(il, "estimate", flaky)
    args = ["sweep", str(tmp_path / "s.toml"), "--grid", str(tmp_path / "g.toml"), "--out", str(tmp_path / "out"),
            "--format", "json"]

    def errors(extra=()):
        assert cli.main([*args, *extra]) == 0
        return [r["error"] for r in json.loads(capsys.readouterr().out)]

    assert errors() == [None, "ValidationError: transient"]
    flaky.healed = True
    assert errors(["--no-retry-failed"]) == [None, "ValidationError: transient"]   # kept as stored
    assert errors() == [None, None]                                                  # evaluated again
    assert cli.main(["sweep", str(tmp_path / "s.toml"), "--grid", str(tmp_path / "g.toml"), "--no-retry-failed"]) == 1
    assert "--no-retry-failed: only with --out FOLDER" in capsys.readouterr().err


def test_a_training_scenario_given_to_a_serving_call_is_refused_in_that_calls_name():
    # il.serve_search("zaya1-ibm-mi300x") answered "... il.serve needs [model], [hardware] and [serving]"
    with pytest.raises(il.ValidationError, match=r"training scenario\); il\.serve_search needs \[model\]"):
        il.serve_search("zaya1-ibm-mi300x")
    with pytest.raises(il.ValidationError, match=r"training scenario\); il\.serve needs \[model\]"):
        il.serve("zaya1-ibm-mi300x")


def test_search_takes_a_multimodal_scenario_without_a_plan(tmp_path, capsys):
    # "il.estimate / il.search take multimodal scenarios as they are" and "The plan is optional:
    # sc may leave out [parallelism] or hold a plan that does not fit": a multimodal scenario
    # without the table failed in the encoder hook ("scenario 'mm' has no [parallelism] table ...
    # this call prices one plan"), in Python and in `infra-lab search`

    d = {"name": "mm", "model": {"preset": "qwen2.5-vl-7b"}, "hardware": {"accelerator": "MI300X"},
         "training": {"global_batch": 64, "data_mix": {"text": 0.6, "image": 0.4}, "encoder": "frozen"}}
    frame = il.search(d, top=3)
    assert frame.height == 3
    row = frame.row(0, named=True)
    est = il.estimate(il.training.apply_plan(d, row))
    assert est.step_time_s == pytest.approx(row["step_time_s"], rel=1e-12)
    assert est.memory_per_gpu_bytes == pytest.approx(row["memory_per_gpu_bytes"], rel=1e-12)
    assert il.search({**d, "parallelism": {"tp": 3}}, top=3).equals(frame)   # a plan that does not fit: ignored
    assert il.training.plan_space_size(d) > 0
    (tmp_path / "mm.toml").write_text(il.Scenario.from_dict(d, check_plan=False).to_toml())
    rows = _cli_json(capsys, ["search", str(tmp_path / "mm.toml"), "--top", "3"])
    assert [r["step_time_s"] for r in rows] == frame["step_time_s"].to_list()


def test_a_serving_stack_of_another_engine_is_refused_with_the_allowed_stacks():
    # "every error names the field, the value given and what is allowed": serving.stack of another
    # engine said only "a stack of another engine than serving.engine = 'vllm'"
    d = {"name": "s", "model": LLAMA, "hardware": {"accelerator": "H100", "gpus_per_node": 1},
         "serving": {"engine": "vllm", "stack": "sglang-cuda"}}
    with pytest.raises(il.ValidationError, match=r"serving\.stack = 'sglang-cuda': a stack of another engine than "
                                                 r"serving\.engine = 'vllm'; allowed: vllm-cuda, .*vllm-cuda-early.* "
                                                 r"\(or serving\.engine = 'sglang'\)"):
        il.Scenario.from_dict(d)
    d["serving"]["engine"] = "sglang"
    assert il.Scenario.from_dict(d).stack == "sglang-cuda"


def test_more_serving_stages_than_layers_is_refused_with_the_allowed_range():
    # "every error names the field, the value given and what is allowed"
    d = {"name": "s", "model": {"layers": 2, "hidden": 256, "heads": 4, "vocab": 1000},
         "hardware": {"accelerator": "MI300X", "gpus_per_node": 4}, "serving": {"pp": 4}}
    with pytest.raises(il.ValidationError, match=r"serving\.pp = 4: more stages than the model's 2 layers; allowed 1\.\.2"):
        il.Scenario.from_dict(d)


def test_a_collective_over_more_gpus_than_the_cluster_names_the_allowed_count():
    with pytest.raises(il.ValidationError, match=r"gpus = 32: larger than the cluster \(2 nodes × 8 = 16 GPUs\); "
                                                 r"allowed 1\.\.16"):
        il.collective("all_reduce", 2**20, {"accelerator": "MI300X", "nodes": 2}, 32)


def test_every_il_name_the_contract_uses_resolves():
    # the contract names calls and constants as il.<module>.<name>; each must be importable so
    import re
    from pathlib import Path

    text = (Path(__file__).resolve().parent.parent / "docs" / "ARCHITECTURE.md").read_text()
    names = sorted(set(re.findall(r"\bil\.([A-Za-z_][\w.]*[A-Za-z_0-9])", text)))
    assert len(names) > 30
    for name in names:
        obj = il
        for part in name.split("."):
            assert hasattr(obj, part), f"il.{name} (docs/ARCHITECTURE.md) does not resolve"
            obj = getattr(obj, part)


# --- the contract's open leads: one name for stack-factor overrides, JSON shapes, options the CLI did
# --- not reach, numpy values, errors in the CLI's words, serving stacks of the wrong vendor

MM_SERVE = {"name": "mm", "model": {"preset": "qwen2.5-vl-7b"},
            "hardware": {"accelerator": "MI300X", "nodes": 1, "gpus_per_node": 1},
            "serving": {"engine": "vllm", "input_tokens": 64, "output_tokens": 128, "concurrency": 8}}


def test_stack_factor_overrides_are_params_on_every_call_that_takes_them():
    # il.estimate / il.search took params=, il.serve stack_params= (params= too); il.multimodal.serve
    # only stack_params=: the contract's one name, params, now works on every such call
    import inspect

    for fn in (il.estimate, il.search, il.serve, il.serve_search, il.multimodal.estimate, il.multimodal.serve):
        assert "params" in inspect.signature(fn).parameters, fn.__qualname__
    over = {"step_overhead_s": 0.01}
    by_params = il.multimodal.serve(MM_SERVE, params=over).result.output_tokens_per_s
    assert by_params == il.multimodal.serve(MM_SERVE, stack_params=over).result.output_tokens_per_s
    assert by_params != il.multimodal.serve(MM_SERVE).result.output_tokens_per_s
    with pytest.raises(il.ValidationError, match="give the stack overrides once"):
        il.multimodal.serve(MM_SERVE, params=over, stack_params=over)


SMALL = {"name": "small", "model": LLAMA, "hardware": {"accelerator": "MI300X", "nodes": 1},
         "training": {"global_batch": 64}}


def _small_files(tmp_path):
    import tomli_w

    (tmp_path / "s.toml").write_text(tomli_w.dumps(SMALL))
    (tmp_path / "g.toml").write_text("[hardware]\nnodes = [1, 2]\n")
    return str(tmp_path / "s.toml"), str(tmp_path / "g.toml")


def test_cli_json_is_a_list_of_rows_and_validate_an_object_of_tables(tmp_path, capsys):
    # the documented shapes ("--format json is a JSON list of those rows ... validate ... an object"):
    # every command a list of row objects, validate alone {cases, summary, skipped}
    scen, grid = _small_files(tmp_path)
    for args in (["estimate", scen], ["search", scen, "--top", "2", "--max-tp", "2"],
                 ["collective", "all_reduce", "1MiB", "--hardware", scen, "--gpus", "8"],
                 ["serve", "maia-class-serving-mi300x"], ["largest", scen, "--by", "presets"],
                 ["sweep", scen, "--grid", grid]):
        rows = _cli_json(capsys, args)
        assert isinstance(rows, list) and rows and all(isinstance(r, dict) for r in rows), args
    assert len(_cli_json(capsys, ["estimate", scen])) == 1
    obj = _cli_json(capsys, ["validate", "collectives"])
    assert isinstance(obj, dict) and set(obj) == {"cases", "summary", "skipped"}
    assert obj["cases"] and {c["suite"] for c in obj["cases"]} == {"collectives"} and obj["skipped"] == []


def test_cli_sweep_reaches_stack_params_and_the_search_options(tmp_path, capsys):
    # `infra-lab sweep` had no --stack / --param (il.estimate's and il.search's stack, params) and no way
    # to bound the search of --call search (the grid may not set what the search enumerates)
    from infra_lab import cli

    scen, grid = _small_files(tmp_path)
    over = {"dp_comm_overlap": 0.0}
    rows = _cli_json(capsys, ["sweep", scen, "--grid", grid, "--stack", "megatron-core-rocm-asym",
                              "--param", "dp_comm_overlap=0"])
    for r, nodes in zip(rows, (1, 2), strict=True):
        d = {**SMALL, "hardware": {**SMALL["hardware"], "nodes": nodes}}
        est = il.estimate(d, stack="megatron-core-rocm-asym", params=over)
        assert r["error"] is None and r["stack"] == "megatron-core-rocm-asym"
        assert r["step_time_s"] == est.step_time_s != il.estimate(d).step_time_s
    rows = _cli_json(capsys, ["sweep", scen, "--grid", grid, "--call", "search", "--max-tp", "1", "--pp", "1",
                              "--param", "dp_comm_overlap=0"])
    for r, nodes in zip(rows, (1, 2), strict=True):
        d = {**SMALL, "hardware": {**SMALL["hardware"], "nodes": nodes}}
        best = il.search(d, top=1, max_tp=1, pp=1, params=over).row(0, named=True)
        assert (r["tp"], r["pp"], r["step_time_s"]) == (1, 1, best["step_time_s"])
    assert cli.main(["sweep", scen, "--grid", grid, "--max-tp", "1"]) == 1
    assert "--max-tp: only with --call search" in capsys.readouterr().err
    assert cli.main(["sweep", scen, "--grid", grid, "--call", "search", "--min-tp", "4", "--max-tp", "2"]) == 1
    assert "error: --min-tp 4 > --max-tp 2: no value allowed" in capsys.readouterr().err   # before any point
    assert cli.main(["sweep", "maia-class-serving-mi300x", "--grid", grid, "--call", "serve", "--stack",
                     "vllm-rocm"]) == 1
    assert "--stack: with --call serve the serving stack is [serving] stack" in capsys.readouterr().err


def test_cli_largest_takes_every_override_largest_model_takes(tmp_path, capsys):
    # `infra-lab largest` had 4 of largest_model's 14 overrides (seq_len, micro_batch, zero, recompute)
    from infra_lab import cli
    from infra_lab.memory import largest

    assert {k for k, *_ in cli.LARGEST_OVERRIDES} == largest._OVERRIDES
    scen, _ = _small_files(tmp_path)
    rows = _cli_json(capsys, ["largest", scen, "--by", "presets", "--reserve-fraction", "0", "--flash-attention",
                              "false", "--grad-bytes", "2"])
    ref = il.memory.largest_model("MI300X", scenario=SMALL, by="presets", reserve_fraction=0.0,
                                  flash_attention=False, grad_bytes=2.0)
    assert [r["total_GB"] for r in rows] == ref["total_GB"].to_list()
    assert ref["total_GB"].to_list() != il.memory.largest_model("MI300X", scenario=SMALL, by="presets")["total_GB"].to_list()


def test_numpy_arrays_and_ranges_are_taken_where_lists_are():
    # a column of values (numpy array) or a range was refused where a list is taken, while
    # serve_search's concurrencies and the search constraints took arrays; np.float32 was refused as
    # fabric_efficiency ("fabric_efficiency = 0.8: allowed 0 < x <= 1")
    d = {"name": "t", "model": LLAMA, "hardware": {"accelerator": "MI300X"},
         "training": {"recompute": "selective", "recompute_modules": np.array(["layernorm", "core_attn"])}}
    sc = il.Scenario.from_dict(d)
    assert sc.training.recompute_modules == ("layernorm", "core_attn")
    assert all(type(m) is str for m in sc.training.recompute_modules)
    assert il.Scenario.from_dict(tomllib.loads(sc.to_toml())) == sc
    sv = il.Scenario.from_dict({**MM_SERVE, "serving": {**MM_SERVE["serving"], "images_per_request": 1,
                                                          "image_size": np.array([448, 448])}})
    assert sv.serving.image_size == (448, 448)
    base = {"name": "s", "model": LLAMA, "hardware": {"accelerator": "MI300X", "nodes": 2},
            "training": {"global_batch": 64}}
    size = il.training.plan_space_size
    assert size(base, tp=range(1, 3)) == size(base, tp=[1, 2]) < size(base)
    assert (size(base, pp_schedules=np.array(["1f1b", "zb-h1"]))
            == size(base, pp_schedules=["1f1b", "zb-h1"]) > size(base, pp_schedules=["1f1b"]))
    kw = {"concurrencies": [8], "kv_precisions": ["bf16"], "top": None, "pareto": False}
    with pytest.warns(il.errors.SearchEdgeWarning):   # 8 in flight is the grid's edge: said, as always
        a = il.serve_search("maia-class-serving-mi300x", weight_precisions=np.array(["fp8"]), **kw)
        b = il.serve_search("maia-class-serving-mi300x", weight_precisions=["fp8"], **kw)
    assert a.equals(b) and a.height > 0
    band = il.training.estimate_band(base | {"parallelism": {"tp": 1}}, factors=np.array(["dp_comm_overlap"]))
    assert band.equals(il.training.estimate_band(base | {"parallelism": {"tp": 1}}, factors=["dp_comm_overlap"]))
    hw = {"accelerator": "MI300X", "nodes": 2}
    assert (il.collective("all_reduce", 2**20, hw, 16, fabric_efficiency=np.float32(0.5)).time_s
            == il.collective("all_reduce", 2**20, hw, 16, fabric_efficiency=float(np.float32(0.5))).time_s)


def test_cli_errors_name_the_option_the_user_typed(tmp_path, capsys):
    # the package's errors named its keywords ("search constraint max_tp = 0", "gpus = 16: must be a
    # multiple of per_node = 3", "in il.search(pp_schedules=...)"), not the options typed
    from infra_lab import cli

    scen, _ = _small_files(tmp_path)
    cases = [
        (["search", scen, "--max-tp", "0"], "--max-tp 0: must be an integer >= 1", "max_tp"),
        (["search", scen, "--min-tp", "4", "--max-tp", "2"], "--min-tp 4 > --max-tp 2: no value allowed", "min_tp"),
        (["search", scen, "--pp-schedules", "bogus"], "in --pp-schedules", "pp_schedules="),
        (["search", scen, "--recompute", "bogus"], "in --recompute", "search constraint"),
        (["collective", "all_reduce", "1MiB", "--hardware", scen, "--gpus", "6", "--per-node", "4"],
         "--gpus 6: must be a multiple of --per-node 4", "per_node"),
        (["collective", "all_reduce", "1MiB", "--hardware", scen, "--gpus", "8", "--fabric-efficiency", "2"],
         "--fabric-efficiency 2.0: allowed 0 < x <= 1", "fabric_efficiency"),
        (["serve", "maia-class-serving-mi300x", "--search", "--weight-precisions", "fp3"],
         "unknown weight_precision 'fp3' in --weight-precisions", "weight_precisions"),
        (["serve", "maia-class-serving-mi300x", "--search", "--concurrencies", "0"],
         "--concurrencies 0: expected a finite integer > 0", "concurrencies["),
        (["largest", scen, "--max-layers", "0"], "--max-layers 0: must be an integer in", "max_layers"),
        (["largest", scen, "--by", "presets", "--search-plans", "--dropout", "true"],
         "--dropout: with --search-plans True", "search_plans"),
        (["estimate", scen, "--tokens", "-1"], "--tokens -1.0: expected a finite number of tokens > 0", "tokens ="),
        (["collective", "all_reduce", "1e40", "--hardware", scen, "--gpus", "8"], "error: size 1e+40: more than",
         "size_bytes"),
        # an unknown name says the option it came from ("unknown recompute 'bogus'." named none)
        (["largest", scen, "--recompute", "bogus"], "unknown recompute 'bogus' in --recompute. Valid:", "'bogus'. "),
        (["largest", scen, "--selective-mode", "x"], "unknown selective_mode 'x' in --selective-mode.", "'x'. "),
        # a keyword written as an argument ("pass per_node= for other placements")
        (["collective", "all_reduce", "1GiB", "--accelerator", "GB200", "--nodes", "18", "--gpus", "100"],
         "pass --per-node for other placements", "per_node="),
    ]
    for args, said, not_said in cases:
        assert cli.main(args) == 1, args
        err = capsys.readouterr().err
        assert said in err and not_said not in err, err
    # a key of the scenario file keeps its table's name
    bad = tmp_path / "bad.toml"
    bad.write_text((tmp_path / "s.toml").read_text().replace("global_batch = 64", "global_batch = 64\nmicro_batch = 0"))
    assert cli.main(["estimate", str(bad)]) == 1
    assert "training.micro_batch = 0" in capsys.readouterr().err


def test_cli_warnings_and_empty_search_reasons_name_the_option_the_user_typed(tmp_path, capsys):
    # the package's warnings and the reasons a search kept nothing named its keywords under the CLI
    # ("max_tpot_s = 1e-06: the smallest TPOT ...", "feasible_only=False lists every plan"), where the
    # errors named the options; in Python they keep the keyword
    from infra_lab import cli

    sv = "maia-class-serving-mi300x"
    assert cli.main(["serve", sv, "--search", "--max-tpot-s", "1e-6"]) == 0
    out = capsys.readouterr().out
    assert "--max-tpot-s 1e-06: the smallest TPOT [s]" in out and "max_tpot_s" not in out, out
    big = tmp_path / "big.toml"
    big.write_text(il.Scenario.from_dict({**SMALL, "model": {"preset": "llama3.1-405b"}}).to_toml(), encoding="utf-8")
    assert cli.main(["search", str(big)]) == 0
    out = capsys.readouterr().out
    assert "none of the" in out and "--all lists every plan" in out and "feasible_only" not in out, out
    # both bounds met apart, never together: the reason gives each bound as its option and value
    frame = il.serve_search(sv, top=None, pareto=False)
    fits = frame.filter(frame["fits"])
    tpot, ttft = fits["tpot_s"].min(), fits["ttft_s"].min()
    both = fits.filter((fits["tpot_s"] <= tpot * 1.001) & (fits["ttft_s"] <= ttft * 1.001))
    assert both.height == 0                        # the fastest-TPOT rows are not the fastest-TTFT ones
    assert cli.main(["serve", sv, "--search", "--max-tpot-s", f"{tpot * 1.001:g}", "--max-ttft-s",
                     f"{ttft * 1.001:g}"]) == 0
    out = capsys.readouterr().out
    assert f"none meets --max-tpot-s {tpot * 1.001:g} and --max-ttft-s {ttft * 1.001:g} at once" in out, out
    with pytest.warns(il.errors.EmptyResultWarning, match=r"none meets max_tpot_s = \S+ and max_ttft_s = \S+ at once"):
        il.serve_search(sv, max_tpot_s=float(f"{tpot * 1.001:g}"), max_ttft_s=float(f"{ttft * 1.001:g}"))
    assert cli._said("max_tpot_s = 1: x") == "max_tpot_s = 1: x"    # outside a command: the keyword
    # a value of the scenario's plan that a warning reports is not an option the user typed: sweep
    # takes --pp (a search constraint), and the interleaved plan's "with pp = 2" read "with --pp 2"
    scen, _ = _small_files(tmp_path)
    grid = tmp_path / "pp.toml"
    grid.write_text("[parallelism]\npp = [2]\nvp = [2]\n[training]\nglobal_batch = [12]\n")
    assert cli.main(["sweep", scen, "--grid", str(grid)]) == 0
    out = capsys.readouterr().out
    assert "warning: parallelism.vp = 2 with pp = 2: 3 micro-batch(es) per step" in out and "--pp" not in out, out


def test_a_serving_stack_of_the_wrong_vendor_lists_the_engines_stacks_on_the_part():
    # a CUDA vLLM stack on MI300X was answered with every ROCm serving stack (SGLang's and ATOM's too);
    # an SGLang CUDA stack with engine vllm on MI300X with vLLM's CUDA stacks, which MI300X cannot run
    d = {"name": "s", "model": LLAMA, "hardware": {"accelerator": "MI300X", "gpus_per_node": 1},
         "serving": {"engine": "vllm", "stack": "vllm-cuda"}}
    with pytest.raises(il.ValidationError, match=r"serving\.stack = 'vllm-cuda': an NVIDIA stack cannot run on "
                                                 r"MI300X \(AMD\); allowed: vllm-rocm, vllm-rocm-early$"):
        il.Scenario.from_dict(d)
    d["serving"]["stack"] = "sglang-cuda"
    with pytest.raises(il.ValidationError, match=r"allowed: vllm-rocm, vllm-rocm-early on MI300X \('sglang-cuda' is an "
                                                 r"NVIDIA stack, which MI300X cannot run either\)$"):
        il.Scenario.from_dict(d)
    d["serving"]["stack"] = "sglang-rocm"
    with pytest.raises(il.ValidationError, match=r"allowed: vllm-rocm, vllm-rocm-early on MI300X "
                                                 r"\(or serving\.engine = 'sglang'\)$"):
        il.Scenario.from_dict(d)
    # a [serving] table alone does not know the part: each stack with its vendor
    with pytest.raises(il.ValidationError, match=r"allowed: vllm-cuda \(NVIDIA\), vllm-rocm \(AMD\)"):
        il.scenario.ServingConfig(engine="vllm", stack="sglang-rocm")
    assert il.stacks.serving_engine("trt-llm-cuda-early-pytorch") == "trt-llm"


def test_mi450x_default_host_is_the_helios_rack_cpu_of_its_source():
    # the MI450X platform's default host was the MI355X row's EPYC-9374F (Genoa), an assumption; AMD
    # presented Helios with EPYC "Venice" (the row's second source). Only the vendor is priced, so the
    # per-message overhead and every number stay as they were
    from infra_lab import fabric

    hw = il.scenario.HardwareConfig(accelerator="MI450X", nodes=18, gpus_per_node=4)
    assert hw.host_cpu == "EPYC-Venice"
    host = fabric.host_cpu("EPYC-Venice")
    assert (host["vendor"], host["arch"]) == ("AMD", "x86")
    assert host["source_url"] in fabric.platform("MI450X")["source_url"]
    assert fabric.net_overhead_s("EPYC-Venice") == fabric.net_overhead_s("EPYC-9374F")
    before = il.collective("all_reduce", 2**30, hw.to_dict() | {"host_cpu": "EPYC-9374F"}, 72)
    assert il.collective("all_reduce", 2**30, hw, 72).time_s == before.time_s
