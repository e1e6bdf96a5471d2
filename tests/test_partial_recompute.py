"""Partial full recompute (training.recompute_num_layers: Megatron's block method, the first N
layers of each pipeline chunk recomputed whole): kernel against the plain reference, against
il.memory, the limits (N at or above a chunk's layers = full recompute, bit for bit), the
directions in N, and bad inputs."""

from __future__ import annotations

import pytest
from kernel_check import assert_estimate_equals_reference, assert_row_is_estimate

import infra_lab as il
from infra_lab import memory
from infra_lab.errors import ValidationError

ZAYA = il.load_scenario("zaya1-ibm-mi300x")          # MoE

L70 = il.Scenario.from_dict({                           # dense, 80 layers
    "model": {"preset": "llama3-70b"},
    "hardware": {"accelerator": "H100-SXM", "nodes": 8, "nic": "ConnectX-7-NDR"},
    "training": {"seq_len": 8192, "global_batch": 256, "micro_batch": 1, "recompute": "full",
                 "stack": "megatron-core-cuda"},
    "parallelism": {"tp": 4, "pp": 4, "sequence_parallel": True}})


def _partial(sc: il.Scenario, n: int | None, hardware: dict | None = None, **par) -> il.Scenario:
    return sc.replace(training={"recompute": "full", "micro_batch": 1, "recompute_num_layers": n},
                      parallelism=par, hardware=hardware or {})


CASES = [
    _partial(L70, 3),                                                       # 20 layers per stage
    _partial(L70, 5, {"nodes": 6}, pp=3),                                                 # uneven 27/27/26 stages
    _partial(L70, 2, pp=4, vp=3),                                           # 12 uneven chunks of 6-7
    _partial(L70, 4, pp=2, cp=2, tp=2),                                     # context parallel
    _partial(L70, 7, pp=1, tp=8, zero=3, fsdp=True),                       # FSDP, one stage
    _partial(ZAYA, 2, tp=2, pp=4, vp=3, sequence_parallel=True),            # MoE, interleaved
    _partial(ZAYA, 3, pp=2, ep=8),                                          # MoE, expert parallel
    _partial(ZAYA, 1, ep=16, moe_dispatcher="deepep"),                      # one layer per stage
    il.Scenario.from_dict({                                                 # dense first layers, MTP
        "model": {"preset": "deepseek-v3"},
        "hardware": {"accelerator": "H100-SXM", "nodes": 64, "nic": "ConnectX-7-NDR"},
        "training": {"seq_len": 4096, "global_batch": 512, "micro_batch": 1, "precision": "fp8",
                     "recompute": "full", "recompute_num_layers": 2},
        "parallelism": {"tp": 2, "pp": 8, "ep": 32, "etp": 2, "sequence_parallel": True}}),
]


@pytest.mark.parametrize("i", range(len(CASES)))
def test_kernel_equals_reference_and_memory(i):
    sc = CASES[i]
    est = assert_estimate_equals_reference(sc)
    # something is left out of the recomputation: cheaper and larger than full recompute
    full = il.estimate(sc.replace(training={"recompute_num_layers": None}))
    assert est.step_time_s < full.step_time_s
    assert est.memory_per_gpu_bytes > full.memory_per_gpu_bytes


def test_the_recomputed_layers_are_the_first_of_each_chunk():
    spec = il.models.get("deepseek-v3")                      # layers 0-2 dense, then MoE
    st = memory.stage_layers(spec, 8, 1, recompute_num_layers=2)
    assert (st[0]["n_dense_recomputed"], st[0]["n_moe_recomputed"]) == (2, 0)
    assert (st[1]["n_dense_recomputed"], st[1]["n_moe_recomputed"]) == (0, 2)
    st = memory.stage_layers(il.models.get("llama3-70b"), 4, 3, recompute_num_layers=2)
    assert [s["n_dense_recomputed"] for s in st] == [6, 6, 6, 6]   # 2 in each of 3 chunks
    # a chunk of fewer layers than N recomputes all of them (Megatron's loop, no error)
    st = memory.stage_layers(il.models.get("llama3-70b"), 4, 3, recompute_num_layers=7)
    assert [s["n_dense_recomputed"] for s in st] == [s["n_dense"] for s in st]
    chunks = memory.pipeline_chunks(il.models.get("llama3-70b"), 4, 3)
    assert sum(len(c["kinds"]) for c in chunks) == 80 and [c["rank"] for c in chunks[:5]] == [0, 1, 2, 3, 0]


@pytest.mark.parametrize("sc, n_all", [(L70, 20), (_partial(L70, None, {"nodes": 6}, pp=3), 27),
                                       (_partial(ZAYA, None, tp=2, pp=4, vp=3, sequence_parallel=True), 4)])
def test_n_at_or_above_the_chunk_layers_is_full_recompute_exactly(sc, n_all):
    full = il.estimate(sc)
    for n in (n_all, n_all + 1):
        part = il.estimate(sc.replace(training={"recompute_num_layers": n}))
        assert part.step_time_s == full.step_time_s
        assert part.memory_per_gpu_bytes == full.memory_per_gpu_bytes
        assert part.breakdown.equals(full.breakdown)
    assert memory.training_memory(sc.replace(training={"recompute_num_layers": n_all}))["bytes"].to_list() == \
        memory.training_memory(sc)["bytes"].to_list()


@pytest.mark.parametrize("sc", [_partial(L70, None, {"nodes": 6}, pp=3), _partial(ZAYA, None, tp=2, pp=4, sequence_parallel=True)])
def test_time_and_memory_are_monotonic_in_n(sc):
    most = max(s["n_dense"] + s["n_moe"] for s in memory.stage_layers(sc.model_spec, sc.parallelism.pp,
                                                                           sc.parallelism.vp))
    steps, mems = [], []
    for n in range(1, most + 1):
        e = il.estimate(sc.replace(training={"recompute_num_layers": n}))
        steps.append(e.step_time_s)
        mems.append(e.memory_per_gpu_bytes)
        assert e.memory_per_gpu_bytes == pytest.approx(
            memory.training_memory_total(sc.replace(training={"recompute_num_layers": n})), rel=1e-9)
    assert all(a <= b for a, b in zip(steps[:-1], steps[1:], strict=True)) and steps[0] < steps[-1]
    assert all(a >= b for a, b in zip(mems[:-1], mems[1:], strict=True)) and mems[0] > mems[-1]
    none = il.estimate(sc.replace(training={"recompute": "none", "recompute_num_layers": None}))
    assert none.step_time_s <= steps[0]


def test_search_full_plans_use_the_scenario_n():
    from infra_lab import training as T

    sc = il.Scenario.from_dict({
        "model": {"preset": "llama3-8b"}, "hardware": {"accelerator": "H100-SXM", "nodes": 2},
        "training": {"seq_len": 4096, "global_batch": 64, "recompute": "full", "recompute_num_layers": 3}},
        check_plan=False)
    df = il.search(sc, top=None, feasible_only=False, recompute="full", max_micro_batch=2)
    assert df.height == T.plan_space_size(sc, recompute="full", max_micro_batch=2)
    for r in df.sample(n=8, seed=2).iter_rows(named=True):
        plan = sc.replace(training={"micro_batch": r["micro_batch"]},
                          parallelism={k: r[k] for k in ("tp", "pp", "vp", "cp", "ep", "etp", "zero", "fsdp",
                                                         "sequence_parallel")})
        est = il.estimate(plan)
        assert_row_is_estimate(r, est)
        assert est.memory_per_gpu_bytes == pytest.approx(r["memory_per_gpu_bytes"], rel=1e-9)


@pytest.mark.parametrize("training, match", [
    ({"recompute": "none", "recompute_num_layers": 4}, r"recompute_num_layers = 4 with training.recompute = 'none'"),
    ({"recompute": "selective", "recompute_num_layers": 4}, r"allowed only with recompute = 'full'"),
    ({"recompute": "full", "recompute_num_layers": 0}, r"recompute_num_layers = 0: allowed an integer >= 1"),
    ({"recompute": "full", "recompute_num_layers": -3}, r"recompute_num_layers = -3"),
    ({"recompute": "full", "recompute_num_layers": 81}, r"= 81: more than the model's 80 layers; allowed 1..80"),
    # (12.0 is read as 12, as every integer field of a scenario reads an integral float)
    ({"recompute": "full", "recompute_num_layers": 12.5}, r"recompute_num_layers = 12.5: expected an integer"),
    ({"recompute": "full", "recompute_num_layers": "12"}, r"recompute_num_layers = '12': expected an integer"),
    ({"recompute": "full", "recompute_num_layers": True}, r"recompute_num_layers = True: expected an integer"),
    ({"recompute": "full", "recompute_num_layers": 4, "offload_modules": ["core_attn"]},
     r"offloading together with partial full recompute is not modelled"),
])
def test_bad_recompute_num_layers(training, match):
    d = L70.to_dict()
    d["training"].update(training)
    with pytest.raises(ValidationError, match=match):
        il.Scenario.from_dict(d)


@pytest.mark.parametrize("change, match", [
    ({"training": {"stack": "torchtitan-rocm"}}, r"recompute_num_layers = 12 with training stack 'torchtitan-rocm'"),
    ({"parallelism": {"ep_overlap": True}}, r"recompute_num_layers = 12 with parallelism.ep_overlap = true"),
])
def test_partial_recompute_is_megatrons(change, match):
    """The block method is Megatron's (torchtitan's full activation checkpointing has no
    per-chunk count), and Megatron-Core refuses it with its MoE all-to-all overlap."""
    d = ZAYA.to_dict()
    d["training"].update(recompute="full", recompute_num_layers=12)
    for table, vals in change.items():
        d[table].update(vals)
    with pytest.raises(ValidationError, match=match):
        il.Scenario.from_dict(d)
    with pytest.raises(ValidationError, match=match):
        il.search(d, top=1)


def test_toml_round_trip_and_default():
    import tomllib

    sc = _partial(L70, 12)
    assert il.Scenario.from_dict(tomllib.loads(sc.to_toml())) == sc
    assert "recompute_num_layers = 12" in sc.to_toml()
    assert "recompute_num_layers" not in L70.to_toml()
    assert L70.training.recompute_num_layers is None


def test_validation_compares_the_partial_recompute_run():
    """Primus' Llama 3.1 70B BF16 run on 64 MI325X recomputes 12 of its 80 layers (block
    method): compared as such; the FP8 run's recompute_num_layers = 80 is every layer."""
    from infra_lab import validation as V

    runs = {r["id"]: r for r in V.current_runs().iter_rows(named=True)}
    sc, _ = V.scenario_for_run(runs["PJ26-L31-70B-MI325X-64-bf16-fsdp"])
    assert (sc.training.recompute, sc.training.recompute_num_layers) == ("full", 12)
    st = memory.stage_layers(sc.model_spec, sc.parallelism.pp, sc.parallelism.vp, recompute_num_layers=12)
    assert [(s["n_dense"], s["n_dense_recomputed"]) for s in st] == [(80, 12)]
    fp8, _ = V.scenario_for_run(runs["PJ26-L31-70B-MI325X-64-fp8-fsdp"])
    assert fp8.training.recompute_num_layers == 80
    assert il.estimate(fp8).step_time_s == il.estimate(fp8.replace(training={"recompute_num_layers": None})).step_time_s
    bad = dict(runs["PJ26-L31-70B-MI325X-64-bf16-fsdp"], recompute="selective")
    with pytest.raises(ValidationError, match="only Megatron's block method under full recompute"):
        V.scenario_for_run(bad)


def test_search_frame_labels_the_full_plans_with_n():
    """A "full" row of il.search with training.recompute_num_layers set recomputes only N layers
    of each chunk: the frame says so (a recompute_num_layers column, null on the other modes);
    without the field the frame's columns are unchanged."""
    d = {"model": {"preset": "llama3-8b"}, "hardware": {"accelerator": "H100-SXM", "nodes": 2},
         "training": {"seq_len": 4096, "global_batch": 64, "recompute": "full", "recompute_num_layers": 3}}
    df = il.search(d, top=None, feasible_only=False, max_micro_batch=1)
    cols = df.columns
    assert cols[cols.index("recompute") + 1] == "recompute_num_layers"
    full = df.filter(df["recompute"] == "full")
    assert full.height > 0 and full["recompute_num_layers"].to_list() == [3] * full.height
    assert df.filter(df["recompute"] != "full")["recompute_num_layers"].null_count() == df.height - full.height
    d["training"].pop("recompute_num_layers")
    plain = il.search(d, top=3, max_micro_batch=1)
    assert "recompute_num_layers" not in plain.columns


def test_cli_estimate_and_search_show_n(capsys, tmp_path):
    import json

    from infra_lab import cli

    p = tmp_path / "partial.toml"
    p.write_text(_partial(L70, 12).to_toml())
    assert cli.main(["estimate", str(p)]) == 0
    out = capsys.readouterr().out
    assert "the first 12 layers of each pipeline chunk" in out
    assert cli.main(["estimate", str(p), "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)[0]["recompute_num_layers"] == 12
    assert cli.main(["search", str(p), "--top", "2", "--recompute", "full"]) == 0
    assert "recompute_num_layers" in capsys.readouterr().out
    q = tmp_path / "all.toml"
    q.write_text(L70.to_toml())
    assert cli.main(["estimate", str(q)]) == 0
    assert "pipeline chunk" not in capsys.readouterr().out


@pytest.mark.parametrize("settings, expect", [
    ("recompute_method=uniform;recompute_num_layers=1", None),          # every layer: full recompute
    ("recompute_method=block;recompute_num_layers=12 (of 80 layers)", 12),
    ("recompute_num_layers=12", "states its method"),                   # uniform or block? refused
    ("recompute_method=uniform;recompute_num_layers=4", "only Megatron's block method"),
])
def test_validation_reads_the_recompute_method(settings, expect):
    from infra_lab import validation as V

    row = {r["id"]: r for r in V.current_runs().iter_rows(named=True)}["PJ26-L31-70B-MI325X-64-bf16-fsdp"]
    row = dict(row, settings=settings)
    if isinstance(expect, str):
        with pytest.raises(ValidationError, match=expect):
            V.scenario_for_run(row)
    else:
        sc, _ = V.scenario_for_run(row)
        assert sc.training.recompute_num_layers == expect
