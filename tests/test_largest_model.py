"""il.memory.largest_model: the largest model of a family that fits a training plan, per accelerator."""

from __future__ import annotations

import math

import polars as pl
import pytest

import infra_lab as il
from infra_lab import cli
from infra_lab.errors import UnknownNameError, ValidationError

# GPT layers of the Megatron family (MHA, GeLU MLP of 4h, biases, LayerNorm with bias), one node
# of plain data parallelism without ZeRO: every GPU holds everything
MEGATRON_PLAN = {"model": {"preset": "megatron-22b"},
                 "hardware": {"accelerator": "H100-SXM", "nodes": 1, "gpus_per_node": 8},
                 "training": {"seq_len": 2048, "micro_batch": 1, "global_batch": 8, "optimizer": "adam"},
                 "parallelism": {"zero": 0}}
# Korthikanti et al. 2022's conventions: no flash attention, dropout masks, 2-byte weights, fp32
# gradients; no allocator reserve and no embedding / LM head, so the hand count below is complete
PAPER = dict(dropout=True, flash_attention=False, reserve_fraction=0.0, reserve_bytes=0.0,
             include_embeddings=False, weight_bytes=2, grad_bytes=4)


def _rebuilt(plan, base: str, layers: int) -> il.Scenario:
    d = il.load_scenario(plan).to_dict() if isinstance(plan, str) else il.Scenario.from_dict(plan).to_dict()
    d["model"] = {"preset": base, "layers": layers}
    return il.Scenario.from_dict(d)


def test_hand_derived_megatron_depth():
    """Per layer: 12h² + 13h parameters at 2 + 4 + 12 (Adam) = 18 B each, and Korthikanti's
    s·b·h·(34 + 5·a·s/h) bytes of activations (TP = 1, no recompute); plus the final LayerNorm
    (2h parameters). The most layers that fit: ⌊(capacity − 18·2h) / per-layer bytes⌋."""
    cap = il.catalog.accelerator("H100-SXM").memory_capacity_bytes
    s, b = 2048, 1
    df = il.memory.largest_model(["H100-SXM"], scenario=MEGATRON_PLAN, family="megatron-gpt", **PAPER)
    assert df["base"].to_list() == ["megatron-22b", "megatron-175b", "megatron-530b", "megatron-1t"]
    for r in df.iter_rows(named=True):
        spec = il.models.get(r["base"])
        h, a = spec.hidden, spec.heads
        per_layer = 18 * (12 * h * h + 13 * h) + s * b * h * (34 + 5 * a * s / h)
        want = math.floor((cap - 18 * 2 * h) / per_layer)
        if want >= 1:
            assert r["layers"] == want, r["base"]
            assert r["fits"] and r["total_GB"] * 1e9 <= cap < r["next_total_GB"] * 1e9
            assert r["total_GB"] * 1e9 == pytest.approx(18 * 2 * h + want * per_layer, rel=1e-12)
        else:
            assert r["layers"] is None and not r["fits"]
    # by hand: megatron-22b's layer (h = 6144, a = 64) is 18·453,064,704 B + 12,582,912·(34 + 106.67) B
    # = 9.93 GB, 8 of them in 85.5 GB; one megatron-1t layer (h = 25600) is 18·7.86e9 B = 141.6 GB alone
    assert df.filter(pl.col("base") == "megatron-22b")["layers"][0] == 8
    assert df.filter(pl.col("base") == "megatron-1t")["layers"][0] is None


@pytest.mark.parametrize("by", ["depth", "presets"])
def test_the_answer_fits_and_the_next_size_up_does_not(by):
    accs = ["MI300X", "H100-SXM", "H200-SXM"]
    df = il.memory.largest_model(accs, family="llama3" if by == "depth" else "all", by=by)
    assert df["accelerator"].unique(maintain_order=True).to_list() == accs
    for r in df.iter_rows(named=True):
        assert r["fits"] and r["layers"] >= 1
        sc = _rebuilt("zaya1-ibm-mi300x", r["base"], r["layers"])
        assert sc.model_spec.params_total == r["params_total"]
        assert il.memory.fits(sc, accelerator=r["accelerator"])
        assert il.memory.training_memory_total(sc, accelerator=r["accelerator"]) == pytest.approx(r["total_GB"] * 1e9)
        assert r["headroom_GB"] == pytest.approx(r["capacity_GB"] - r["total_GB"])
        assert sum(r[f"{c}_GB"] for c in il.memory.largest._components()) == pytest.approx(r["total_GB"])
        if by == "depth":
            nxt = _rebuilt("zaya1-ibm-mi300x", r["base"], r["layers"] + 1)
        else:
            assert r["model"] == r["base"] and r["layers"] == il.models.get(r["base"]).layers
            nxt = il.load_scenario("zaya1-ibm-mi300x").replace(model={"preset": r["next_model"]})
            assert nxt.model_spec.params_total > r["params_total"]
        assert not il.memory.fits(nxt, accelerator=r["accelerator"])
        assert il.memory.training_memory_total(nxt, accelerator=r["accelerator"]) == pytest.approx(
            r["next_total_GB"] * 1e9)


def test_presets_is_the_largest_that_fits():
    """by = "presets": no preset of the family with more parameters fits."""
    df = il.memory.largest_model(["MI300X", "H100-SXM"], family="llama3", by="presets")
    sc = il.load_scenario("zaya1-ibm-mi300x")
    assert df["fits"].to_list() == [True, False]       # not even Llama 3 8B on H100 under ZAYA1's plan
    for acc, best in zip(df["accelerator"], df["params_total"].fill_null(0), strict=True):
        for n in il.models.preset_names():
            spec = il.models.get(n)
            if spec.family == "llama3" and spec.params_total > best:
                assert not il.memory.fits(sc.replace(model={"preset": n}), accelerator=acc)


def test_monotonic_in_capacity():
    """More memory never buys a smaller model: the same stack on NVIDIA parts of growing
    capacity, and less memory left (a growing reserve outside the allocator) on one part."""
    nv = ["H100-SXM", "H100-96GB-500W", "H200-SXM"]
    caps = [il.catalog.accelerator(a).memory_capacity_bytes for a in nv]
    assert caps == sorted(caps)
    df = il.memory.largest_model(nv, family="llama3")
    for base in df["base"].unique():
        layers = df.filter(pl.col("base") == base)["layers"].fill_null(0).to_list()
        assert layers == sorted(layers), base
    prev = None
    for reserve_gb in (0, 10, 40, 70):
        n = il.memory.largest_model(["H100-SXM"], family="llama3", reserve_bytes=reserve_gb * 1e9)["layers"].fill_null(0)[0]
        assert prev is None or n <= prev
        prev = n


def test_pipeline_plan_and_max_layers():
    """A pipeline plan holds at least pp·vp − 2 layers (the scenario's rule); with max_layers
    reached the note says more may fit."""
    plan = {"model": {"preset": "llama3-8b"}, "hardware": {"accelerator": "H100-SXM", "nodes": 1},
            "training": {"seq_len": 4096, "micro_batch": 1, "global_batch": 16},
            "parallelism": {"tp": 2, "pp": 4, "zero": 1}}
    df = il.memory.largest_model(["H100-SXM"], scenario=plan, family="llama3")
    for r in df.iter_rows(named=True):
        if r["fits"]:
            assert r["layers"] >= 2
            assert il.memory.fits(_rebuilt(plan, r["base"], r["layers"]), accelerator="H100-SXM")
            assert not il.memory.fits(_rebuilt(plan, r["base"], r["layers"] + 1), accelerator="H100-SXM")
    capped = il.memory.largest_model(["H100-SXM"], scenario=plan, family="llama3", max_layers=3)
    r = capped.filter(pl.col("base") == "llama3-8b").row(0, named=True)
    assert r["layers"] == 3 and "max_layers = 3" in r["note"] and r["next_total_GB"] is None


def test_nothing_fits():
    df = il.memory.largest_model(["H100-SXM"], family="zamba2", micro_batch=64)   # 64 × 4,096 tokens
    assert not df["fits"].any() and "not even 1 layer" in df["note"][0]
    df = il.memory.largest_model(["H100-SXM"], family="llama3", micro_batch=64)
    r = df.filter(pl.col("base") == "llama3.1-405b").row(0, named=True)
    assert not r["fits"] and r["layers"] is None and r["next_total_GB"] > r["capacity_GB"]


def test_hybrid_shapes_scale_in_depth_at_the_published_ratio():
    """by="depth" gave hybrid SSM shapes (Zamba2) a row with no model ("not scaled"): a depth now
    keeps the published share of layers with a shared attention block (Zamba2-1.2B: 6 of 38),
    round(n · 6 / 38) of n, at least one, the answer fitting and one layer more not."""
    plan = "zaya1-ibm-mi300x"
    df = il.memory.largest_model(["H100-SXM"], scenario=plan, family="zamba2")
    assert df["fits"].all() and df["layers"].min() > 1
    for r in df.iter_rows(named=True):
        pub = il.models.get(r["base"])
        m = len(pub.shared_attn_insertions)
        spec = il.Scenario.from_dict({**il.load_scenario(plan).to_dict(), "model": {
            "preset": r["base"], "layers": r["layers"],
            "shared_attn_insertions": il.memory.largest._hybrid_insertions(pub, r["layers"])}}).model_spec
        kinds = spec.layer_kinds()
        assert kinds.count("hybrid") == max(1, math.floor(r["layers"] * m / pub.layers + 0.5))
        assert spec.params_total == r["params_total"]
        assert f"{kinds.count('hybrid')} of the {r['layers']} layers" in r["note"]
        assert r["total_GB"] <= r["capacity_GB"] < r["next_total_GB"]
    # at the published depth the shape is the preset itself (its own block placement)
    pub = il.models.get("zamba2-1.2b")
    assert il.memory.largest._hybrid_insertions(pub, 38) == pub.shared_attn_insertions
    assert il.memory.largest._hybrid_insertions(pub, 19) == (6, 12, 18)
    assert il.memory.largest._hybrid_insertions(pub, 2) == (1,)       # at least one block


def test_a_device_named_twice_gets_one_set_of_rows():
    """["MI300X", "mi300x"] gave two identical sets of rows (one per name given)."""
    once = il.memory.largest_model(["MI300X", "H100-SXM"], family="llama3", by="presets")
    twice = il.memory.largest_model(["MI300X", "H100-SXM", "mi300x"], family="llama3", by="presets")
    assert twice.equals(once) and twice["accelerator"].to_list() == ["MI300X", "H100-SXM"]


@pytest.mark.parametrize("kwargs, words", [
    (dict(accelerators=["MI30X"]), ["MI300X"]),
    (dict(accelerators="MI30X"), ["accelerator 'MI30X'", "MI300X"]),   # one name is a one-element list
    (dict(accelerators=[]), ["accelerators = []", "at least one"]),
    (dict(accelerators=["MI300X"], family="lama3"), ["family", "llama3", "Did you mean"]),
    (dict(accelerators=["MI300X"], family=3), ["family = 3", "llama3"]),
    (dict(accelerators=["MI300X"], by="width"), ["by = 'width'", "'depth'", "'presets'"]),
    (dict(accelerators=["MI300X"], max_layers=0), ["max_layers = 0"]),
    (dict(accelerators=["MI300X"], accelerator="H100-SXM"), ["accelerator", "first argument"]),
    (dict(accelerators=["MI300X"], micro_bach=2), ["micro_bach", "micro_batch"]),
    (dict(accelerators=["MI300X"], zero=7), ["zero = 7"]),
    (dict(accelerators=["MI300X"], scenario="maia-class-serving-mi300x"), ["serving scenario"]),
    (dict(accelerators=["MI300X"], scenario="zaya1-ibm-mi30x"), ["zaya1-ibm-mi300x"]),
    (dict(accelerators=["MI300X"], family="megatron-gpt", by="presets"), ["cannot run any", "max_seq_len"]),
])
def test_bad_inputs_name_field_value_and_allowed(kwargs, words):
    with pytest.raises((ValidationError, UnknownNameError)) as e:
        il.memory.largest_model(**kwargs)
    for w in words:
        assert w in str(e.value), (w, str(e.value))


def test_model_families_are_the_preset_table_s():
    fams = il.memory.model_families()
    assert {"llama3", "qwen3", "megatron-gpt"} <= set(fams)
    assert set(fams) == {il.models.get(n).family for n in il.models.preset_names()}


def test_chart_draws_the_frame_and_refuses_one_where_nothing_fits():
    df = il.memory.largest_model(["MI300X", "H100-SXM"], family="llama3")
    spec = str(il.charts.largest_model_chart(df).to_dict())
    assert "parameters of the largest model that fits [billions]" in spec
    with pytest.raises(ValidationError, match="largest_model_chart: .*no row has a model that fits"):
        il.charts.largest_model_chart(il.memory.largest_model(["H100-SXM"], family="zamba2", micro_batch=64))


def _cli(capsys, *args):
    rc = cli.main(list(args))
    out = capsys.readouterr()
    return rc, out.out, out.err


def test_cli_largest_prints_the_call(capsys):
    import json

    rc, out, err = _cli(capsys, "largest", "zaya1-ibm-mi300x", "--accelerators", "MI300X,H100-SXM",
                        "--format", "json")
    assert rc == 0, err
    got = pl.DataFrame(json.loads(out))
    want = il.memory.largest_model(["MI300X", "H100-SXM"], family="llama3")
    assert got["model"].to_list() == want["model"].to_list()
    assert got["total_GB"].to_list() == pytest.approx(want["total_GB"].to_list())
    rc, out, err = _cli(capsys, "largest", "zaya1-ibm-mi300x", "--by", "presets", "--family", "llama2",
                        "--micro-batch", "1")
    assert rc == 0, err
    best = il.memory.largest_model(["MI300X"], family="llama2", by="presets", micro_batch=1)["model"][0]
    assert best is not None
    assert "by presets" in out and f" {best} " in out


@pytest.mark.parametrize("args, words", [
    (("--family", "lama3"), ["unknown family 'lama3'", "Did you mean 'llama3'"]),
    (("--accelerators", "MI30X"), ["MI300X"]),
    (("--accelerators", ","), ["--accelerators ','"]),
    (("--zero", "5"), ["--zero 5: allowed 0, 1, 2 or 3"]),
])
def test_cli_largest_bad_input(capsys, args, words):
    rc, out, err = _cli(capsys, "largest", "zaya1-ibm-mi300x", *args)
    assert rc == 1 and "Traceback" not in err
    for w in words:
        assert w in err, err


NODE_PLAN = {"model": {"preset": "llama3-8b"}, "hardware": {"accelerator": "H100-SXM", "nodes": 1},
             "training": {"seq_len": 4096, "micro_batch": 1, "global_batch": 32}, "parallelism": {"zero": 1}}


@pytest.mark.parametrize("by", ["depth", "presets"])
def test_search_plans_returns_the_smallest_plan_that_fits(by):
    """search_plans=True: the row's plan (applied with il.training.apply_plan) fits and needs
    total_GB; no plan of il.search with a smaller tp·pp fits it; no plan at all fits the next
    size up."""
    import warnings

    held = dict(micro_batch=1, recompute="none", zero=1, cp=1, ep=1, fsdp=False)
    df = il.memory.largest_model(["H100-SXM", "MI300X"], scenario=NODE_PLAN, family="llama3", by=by,
                                 search_plans=True)
    assert df["fits"].all()
    for r in df.iter_rows(named=True):
        d = il.Scenario.from_dict(NODE_PLAN).replace(hardware={"accelerator": r["accelerator"]}).to_dict()
        d["model"] = ({"preset": r["base"], "layers": r["layers"]} if by == "depth" else {"preset": r["model"]})
        plans = il.search(d, top=None, **held)
        mine = plans.filter((pl.col("tp") == r["tp"]) & (pl.col("pp") == r["pp"]) & (pl.col("vp") == r["vp"])
                            & (pl.col("sequence_parallel") == r["sequence_parallel"]))
        assert mine.height >= 1
        assert plans.select((pl.col("tp") * pl.col("pp")).min()).item() == r["tp"] * r["pp"]
        sc = il.Scenario.from_dict(il.training.apply_plan(d, mine.row(0, named=True)))
        assert il.memory.fits(sc)
        assert il.memory.training_memory_total(sc) == pytest.approx(r["total_GB"] * 1e9)
        assert mine["memory_per_gpu_bytes"][0] == pytest.approx(r["total_GB"] * 1e9)
        if r["next_model"] is not None:
            d["model"] = ({"preset": r["base"], "layers": r["layers"] + 1} if by == "depth"
                          else {"preset": r["next_model"]})
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", il.errors.EmptyResultWarning)
                assert il.search(d, top=None, **held).height == 0
    # the searched plan buys at least what the scenario's own plan (pure DP) buys
    own = il.memory.largest_model(["H100-SXM", "MI300X"], scenario=NODE_PLAN, family="llama3", by=by)
    assert (df["params_total"] >= own["params_total"].fill_null(0)).all()


def test_search_plans_takes_only_the_search_s_overrides():
    with pytest.raises(ValidationError, match="reserve_bytes: with search_plans = True the overrides are seq_len"):
        il.memory.largest_model(["H100-SXM"], scenario=NODE_PLAN, search_plans=True, reserve_bytes=1e9)
    with pytest.raises(ValidationError, match="search_plans = 'yes'"):
        il.memory.largest_model(["H100-SXM"], scenario=NODE_PLAN, search_plans="yes")


def test_scenario_as_a_name_a_toml_path_or_an_object(tmp_path):
    sc = il.load_scenario("zaya1-ibm-mi300x")
    p = tmp_path / "run.toml"
    p.write_text(sc.to_toml(), encoding="utf-8")
    frames = [il.memory.largest_model(["H200-SXM"], scenario=x) for x in ("ZAYA1-IBM-MI300X", str(p), p, sc,
                                                                           sc.to_dict())]
    for f in frames[1:]:
        assert f.equals(frames[0])


def test_depth_of_a_moe_shape_with_dense_first_layers_starts_after_them():
    """DeepSeek-V3 (3 dense first layers) by depth read "the plan cannot run it:
    model.dense_layers = 3: must be < layers = 1" on MI300X: the bisection began at one
    layer, a depth the [model] table refuses, though the plan runs 4 layers (3 dense + 1 MoE)."""
    dense = il.models.get("deepseek-v3").dense_layers
    df = il.memory.largest_model(["MI300X", "H100-SXM"], family="deepseek")
    mi = df.filter(pl.col("accelerator") == "MI300X").row(0, named=True)
    assert mi["fits"] and mi["layers"] >= dense + 1 and "cannot run" not in (mi["note"] or ""), mi
    h = df.filter(pl.col("accelerator") == "H100-SXM").row(0, named=True)
    assert not h["fits"] and h["note"] == f"not even {dense + 1} layers of this shape fit", h
    assert h["next_model"] == f"deepseek-v3 at {dense + 1} layers" and h["next_total_GB"] > h["capacity_GB"]


def test_hybrid_depth_at_pp_is_not_monotonic_and_the_row_says_so():
    """zamba2-2.7b on ZAYA1's plan at pp = 4: the need falls from 12 to 14 layers although rank 0 holds 3 Mamba2 layers and no attention block each time. The memory
    model spreads the shared-attention layers' share over every dense-like layer, and that share
    falls as layers are added at a fixed block count (2 of 12, 13, 14): an approximation, not
    placement. largest_model's bisection relies on monotonic memory, so its rows say so."""
    from infra_lab.memory.largest import _depth_model
    from infra_lab.memory.pipeline import stage_layers

    d = il.load_scenario("zaya1-ibm-mi300x").to_dict()
    d["parallelism"] = {**d["parallelism"], "pp": 4, "ep": 1}
    d["parallelism"].pop("dp", None)
    need = {}
    for n in (12, 13, 14, 15):
        d["model"] = _depth_model("zamba2-2.7b", n)
        sc = il.Scenario.from_dict(d)
        need[n] = float(il.memory.training_memory(sc)["bytes"].sum()) / 1e9
        first = sc.model_spec.layer_kinds()[:stage_layers(sc.model_spec, 4)[0]["n_dense"]]
        assert "hybrid" not in first                      # rank 0 holds no shared-attention block
    assert need[12] > need[13] > need[14] < need[15]                  # as largest_model's docstring says
    d["model"] = {"preset": "zamba2-2.7b"}
    df = il.memory.largest_model(["MI300X"], scenario=d, family="zamba2")
    assert (df["pp"] == 4).all()
    assert df["note"].str.contains("pp > 1: the memory model spreads the shared-attention layers").all()
    one = il.memory.largest_model(["MI300X"], family="zamba2")          # pp = 1: no such note
    assert not one["note"].str.contains("not monotonic").any()
