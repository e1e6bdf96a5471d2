"""A hostile-input sweep of the public surface, deterministic (explicit tables, no random draws).

Each shipped scenario is changed one field at a time through a table of hostile values (0, -1,
NaN, ±inf, 1e30, 10**7, booleans, numeric strings, empty strings, None, lists and dicts where a
scalar goes, 2.5 where an integer goes), and il.collective, il.serve, il.serve_search,
il.sweep, the economics and reliability calls and the ``infra-lab`` command get the same
treatment. Every case must end in one of two ways:

* the package's own error (a ``ValidationError`` is a ``ValueError``, an ``UnknownNameError`` a
  ``KeyError``) whose message names the field; or
* a result whose times, rates and sizes are finite and not negative (the input was valid).

Anything else fails: a foreign exception from inside a kernel, a NaN or a negative time, or a
case that runs longer than ``CASE_BUDGET_S`` (an absurd size that would hang an estimate).

``REGRESSIONS`` holds the inputs this sweep found broken (December 2026), each with the words
its message must contain now; docs/bad-inputs.md says what each did before.
"""

# ruff: noqa: B023  (each case's lambda runs at once, inside the loop that binds its values)

from __future__ import annotations

import copy
import math
import subprocess
import sys
import tomllib
from pathlib import Path

import numpy as np
import pytest
import timebox

import infra_lab as il
from infra_lab import cli, economics, reliability
from infra_lab.errors import InfraLabError

# sequences of 10**7 tokens are hostile values here; for a rotary model they only warn
pytestmark = pytest.mark.filterwarnings("ignore::infra_lab.errors.ContextLengthWarning")

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = il.catalog.DATA_DIR / "scenarios"
CASE_BUDGET_S = 20           # one case; an estimate of any admitted input takes well under a second

NAN, INF = float("nan"), float("inf")
# one table for every field: numbers out of range, non-numbers, wrong containers
HOSTILE = (0, -1, 2.5, NAN, INF, -INF, 1e30, 10**7, True, "8", "", " ", None, [1], {"a": 1})

# numeric fields of the results that must be finite and >= 0 when a call succeeds
RESULT_FIELDS = ("step_time_s", "tokens_per_s", "tokens_per_s_per_gpu", "mfu", "tflops_per_gpu",
                 "memory_per_gpu_bytes", "time_s", "algbw_Bps", "busbw_Bps", "output_tokens_per_s",
                 "total_tokens_per_s", "ttft_s", "tpot_s", "tokens_per_s_per_user", "total_usd",
                 "hardware_usd_per_gpu_hour", "expected_wall_s", "goodput")


def budget(seconds: int = CASE_BUDGET_S):
    """Fail a case that runs longer than ``seconds`` (a hang) instead of waiting for it."""
    return timebox.budget(seconds)


def _value_ok(name: str, v, signed: bool = False, inf_ok: tuple[str, ...] = ()) -> None:
    if isinstance(v, (bool, np.bool_)) or not isinstance(v, (int, float, np.integer, np.floating)):
        return
    assert not math.isnan(v), f"{name} = nan"
    assert math.isfinite(v) or name in inf_ok, f"{name} = {v!r}: expected a finite value"
    assert signed or v >= 0, f"{name} = {v!r}: expected a value >= 0"


def outcome(fn, *needles: str, signed: bool = False, inf_ok: tuple[str, ...] = ()) -> str:
    """Run ``fn``: 'refused' if it raised the package's error naming one of ``needles``
    (case-insensitive), 'ok' if it returned a finite, non-negative result (``signed``: a
    scalar result may be negative, as an NPV; ``inf_ok``: result fields whose documented
    answer may be infinite); else fail."""
    try:
        with budget():
            r = fn()
    except InfraLabError as e:
        msg = str(e).lower()
        assert isinstance(e, (ValueError, TypeError, KeyError))
        assert any(n.lower() in msg for n in needles), f"message does not name {needles}: {e}"
        return "refused"
    if isinstance(r, (int, float, np.integer, np.floating)):
        _value_ok("result", r, signed, inf_ok)
    for name in RESULT_FIELDS:
        _value_ok(name, getattr(r, name, None), False, inf_ok)
    if hasattr(r, "schema"):     # a polars frame: no NaN; no negative time, rate or size
        for c, dt in r.schema.items():
            if dt.is_numeric() and r.height:
                a = r[c].cast(float).to_numpy()
                assert not np.isnan(a).any(), f"column {c}: NaN"
                if c.endswith(("_s", "_bytes")) or "tokens" in c:   # (a TCO's residual value is negative)
                    assert not (a < 0).any(), f"column {c}: negative"
    return "ok"


def shipped(name: str) -> dict:
    return tomllib.loads((SCENARIOS / f"{name}.toml").read_text())


@pytest.fixture(scope="module", autouse=True)
def compiled_kernels():
    """Compile the numba kernels once, outside the per-case budget (a cold cache takes tens of
    seconds on the first estimate; the budget is for the cases themselves)."""
    il.estimate(shipped("zaya1-h100-counterpart"))
    il.estimate(shipped("maia-class-ibm-mi300x"))
    il.serve(shipped("maia-class-serving-mi300x"))
    il.search(BASE, top=1)
    reliability.simulate(reliability.plan_run(HW, 100.0, model="llama3-8b"), 10)


# ------------------------------------------------------------------ shipped scenarios, one field at a time
TRAINING_FIELDS = {
    "hardware": ("nodes", "gpus_per_node", "scaleup_domain", "nics_per_node", "oversubscription", "accelerator",
                 "nic", "fabric", "host_cpu", "pxn", "sharp", "domain_gpus"),
    "training": ("seq_len", "global_batch", "micro_batch", "precision", "recompute", "optimizer", "stack",
                 "moe_routing", "moe_capacity_factor", "loss_chunks", "fp8_scaling", "eager", "recompute_num_layers"),
    "parallelism": ("tp", "pp", "vp", "cp", "ep", "etp", "zero", "fsdp", "sequence_parallel", "cp_rotate",
                    "moe_dispatcher", "ep_overlap"),
    "model": ("preset", "layers", "hidden", "heads", "kv_heads", "head_dim", "ffn_hidden", "vocab", "experts",
              "top_k", "mtp_layers"),
}
SERVING_FIELDS = {
    "hardware": ("nodes", "gpus_per_node", "accelerator", "nic"),
    "serving": ("engine", "weight_precision", "kv_precision", "tp", "ep", "pp", "dp", "input_tokens",
                "output_tokens", "concurrency", "chunk_tokens", "images_per_request", "image_size",
                "audio_s_per_request", "encoder_batch", "num_prompts", "request_rate_rps", "stack"),
    "model": ("preset", "layers", "heads", "experts", "top_k"),
}
# an error about a field may name the field it conflicts with (tp·pp·cp vs the GPUs, kv_heads vs heads)
ALSO = {
    "nodes": ("gpus", "world size", "parallelism"), "gpus_per_node": ("nics_per_node", "scaleup_domain", "gpus",
                                                                      "world size", "parallelism", "serving"),
    "kv_heads": ("heads",), "heads": ("kv_heads", "tp", "hidden"), "head_dim": ("parameters",),
    "hidden": ("heads", "parameters"), "layers": ("dense_layers", "parameters", "pp"),
    "experts": ("top_k", "parameters"), "top_k": ("experts",), "scaleup_domain": ("domain",),
    "tp": ("tp·pp", "parallelism"), "pp": ("tp·pp", "parallelism"), "cp": ("tp·pp", "parallelism"),
    "ep": ("experts", "parallelism"), "etp": ("parallelism",), "vp": ("parallelism",),
    "fsdp": ("zero",), "zero": ("fsdp",), "micro_batch": ("global_batch",), "global_batch": ("micro_batch",),
    "seq_len": ("context",), "vocab": ("parameters",), "ffn_hidden": ("parameters",), "dp": ("serving",),
    "input_tokens": ("context",), "output_tokens": ("context",), "mtp_layers": ("layers",),
    "data_mix": ("training.data_mix",), "encoder": ("training.encoder",),
}


def mutations(name: str, fields: dict) -> list:
    return [pytest.param(name, table, key, v, id=f"{name}:{table}.{key}={v!r}")
            for table, keys in fields.items() for key in keys for v in HOSTILE]


@pytest.mark.parametrize("name,table,key,value", mutations("zaya1-h100-counterpart", TRAINING_FIELDS)
                         + mutations("zaya1-ibm-mi300x", {"hardware": TRAINING_FIELDS["hardware"],
                                                          "model": TRAINING_FIELDS["model"]})
                         + mutations("maia-class-ibm-mi300x", {"training": (*TRAINING_FIELDS["training"],
                                                                            "data_mix", "encoder")}))
def test_training_scenario_field(name, table, key, value):
    d = shipped(name)
    d.setdefault(table, {})[key] = value
    outcome(lambda: il.estimate(d), key, *ALSO.get(key, ()))


@pytest.mark.parametrize("name,table,key,value", mutations("maia-class-serving-mi300x", SERVING_FIELDS))
def test_serving_scenario_field(name, table, key, value):
    d = shipped(name)
    d.setdefault(table, {})[key] = value
    outcome(lambda: il.serve(d), key, *ALSO.get(key, ()))


@pytest.mark.parametrize("name", sorted(p.stem for p in SCENARIOS.glob("*.toml")))
def test_scenario_tables_of_the_wrong_shape(name):
    base = shipped(name)
    for table in ("model", "hardware", "training", "parallelism", "serving"):
        if table not in base:
            continue
        for bad in (None, [1], "x", 5):
            d = copy.deepcopy(base)
            d[table] = bad
            outcome(lambda: il.Scenario.from_dict(d), table)
        d = copy.deepcopy(base)
        d[table] = {**d[table], "no_such_key": 1}
        outcome(lambda: il.Scenario.from_dict(d), "no_such_key")


def test_recompute_num_layers_under_full_recompute():
    """The shipped scenarios run without recompute, where every value of
    training.recompute_num_layers is refused by the recompute check alone; here the field's own
    checks (type, range, the model's layers) under Megatron's full recompute."""
    d = {**BASE, "training": {**BASE["training"], "recompute": "full", "stack": "megatron-core-rocm"}}
    results = {}
    for v in (*HOSTILE, 1, 31, 32, 33):
        d["training"]["recompute_num_layers"] = v
        results[repr(v)] = outcome(lambda: il.estimate(d), "recompute_num_layers")
    assert results["1"] == results["32"] == results["None"] == "ok"
    assert results["33"] == results["0"] == results["2.5"] == results["True"] == "refused"


# ------------------------------------------------------------------ plans that do not fit their model or batch
BASE = {"model": {"preset": "llama3-8b"}, "hardware": {"accelerator": "MI300X", "nodes": 1, "nic": "Pollara-400"},
        "training": {"seq_len": 4096, "global_batch": 64, "micro_batch": 1}}
MOE = {"model": {"preset": "mixtral-8x7b"}, "hardware": {"accelerator": "MI300X", "nodes": 2, "nic": "Pollara-400"},
       "training": {"seq_len": 4096, "global_batch": 64, "micro_batch": 1}}
SMALL = {"preset": "llama3-8b", "layers": 2, "heads": 4, "kv_heads": 4, "head_dim": 1024}
STRUCTURAL = [
    # (id, scenario tables changed, needles)
    ("global_batch < dp", BASE, {"training": {"global_batch": 4}}, ("global_batch",)),
    ("micro_batch > global_batch", BASE, {"training": {"global_batch": 4, "micro_batch": 8}}, ("global_batch",)),
    ("seq_len 1", BASE, {"training": {"seq_len": 1}}, ("seq_len",)),
    ("tp > heads", BASE, {"model": SMALL, "parallelism": {"tp": 8}}, ("tp", "heads")),
    ("tp not dividing heads", BASE, {"model": {"preset": "llama3-8b", "heads": 12, "kv_heads": 4, "head_dim": 128},
                                     "parallelism": {"tp": 8}}, ("tp", "heads")),
    ("pp > layers", BASE, {"model": SMALL, "parallelism": {"pp": 8}}, ("pp", "layers")),
    ("tp not dividing the GPUs", BASE, {"parallelism": {"tp": 3}}, ("tp",)),
    ("ep on a dense model", BASE, {"parallelism": {"ep": 2}}, ("ep",)),
    ("ep > experts", MOE, {"parallelism": {"ep": 16}}, ("ep", "experts")),
    ("ep not dividing the ranks", MOE, {"parallelism": {"ep": 3}}, ("ep",)),
    ("top_k > experts", MOE, {"model": {"preset": "mixtral-8x7b", "top_k": 9}}, ("top_k",)),
    ("top_k 0", MOE, {"model": {"preset": "mixtral-8x7b", "top_k": 0}}, ("top_k",)),
    ("one GPU", BASE, {"hardware": {"accelerator": "MI300X", "nodes": 1, "gpus_per_node": 1, "nic": "Pollara-400"},
                       "training": {"global_batch": 8}}, ("gpus_per_node",)),
    ("10**7 GPUs", BASE, {"hardware": {"accelerator": "MI300X", "nodes": 10**7 // 8, "nic": "Pollara-400"}},
     ("nodes",)),
    ("dualpipe without ep_overlap", MOE, {"parallelism": {"ep": 8, "dualpipe": True}}, ("dualpipe",)),
    ("fsdp with zero 0", BASE, {"parallelism": {"fsdp": True, "zero": 0}}, ("fsdp",)),
]


@pytest.mark.parametrize("base,change,needles", [pytest.param(b, c, n, id=i) for i, b, c, n in STRUCTURAL])
def test_plan_against_model_and_batch(base, change, needles):
    d = {**copy.deepcopy(base), **copy.deepcopy(change)}
    if "training" in change:
        d["training"] = {**base["training"], **change["training"]}
    outcome(lambda: il.estimate(d), *needles)
    outcome(lambda: il.search(d, top=3), *needles, "search")


# ------------------------------------------------------------------ collectives
HW = {"accelerator": "MI300X", "nodes": 2, "nic": "Pollara-400"}
OPS = ("all_reduce", "all_gather", "reduce_scatter", "all_to_all", "broadcast", "send_recv")
ALGORITHMS = ("auto", "fastest", "ring", "tree", "nvls", "nvlstree", "collnet_direct", "collnet_chain", "pat",
              "allpairs", "p2p", "pxn")


@pytest.mark.parametrize("op", OPS)
def test_collective_every_algorithm_and_group(op):
    for algo in ALGORITHMS:
        for gpus in (1, 2, 8, 16):
            for size in (0, 1, 2**20, 2**34):
                outcome(lambda: il.collective(op, size, HW, gpus, algorithm=algo), "algorithm", "gpus", op)


@pytest.mark.parametrize("arg", ["op", "size", "gpus", "algorithm", "hardware"])
def test_collective_hostile_arguments(arg):
    good = {"op": "all_reduce", "size": 2**20, "gpus": 16, "algorithm": "auto", "hardware": HW}
    for v in HOSTILE + ("ALL-REDUCE", "RING ", 3, 10**6, 1e40):
        kw = {**good, arg: v}
        outcome(lambda: il.collective(kw["op"], kw["size"], kw["hardware"], kw["gpus"], algorithm=kw["algorithm"]),
                arg, "size_bytes", "collective", "accelerator")


# ------------------------------------------------------------------ searches, serving, sweep
def test_search_and_serve_search_arguments():
    sv = {"model": {"preset": "llama3-8b"}, "hardware": HW | {"nodes": 1}, "serving": {"tp": 1, "dp": 8}}
    for v in HOSTILE:
        outcome(lambda: il.search(BASE, objective=v, top=2), "objective")
        outcome(lambda: il.search(BASE, top=v), "top")
        outcome(lambda: il.search(BASE, top=2, tp=v), "tp")
        outcome(lambda: il.search(BASE, top=2, max_micro_batch=v), "max_micro_batch")
        outcome(lambda: il.estimate(BASE, params={"framework_time_scale": v}), "framework_time_scale", "params")
        for k in ("max_tpot_s", "max_ttft_s", "concurrencies", "weight_precisions", "price_usd_per_gpu_hour"):
            outcome(lambda: il.serve_search(sv, **{k: v}), k, "weight_precision")


def test_sweep_arguments():
    def f(x):
        return {"y": 2 * x}
    for grid in (None, {}, {"x": []}, {"x": 1}, [1, 2], {1: [1]}):
        outcome(lambda: il.sweep(f, grid, progress=False), "grid")
    for k, v in (("seed", -1), ("seed", "a"), ("chunk_size", 0), ("chunk_size", 2.5), ("out", 5), ("out", b"x"),
                 ("fn_kwargs", [1]), ("client", 5)):
        outcome(lambda: il.sweep(f, {"x": [1, 2]}, progress=False, **{k: v}), k)
    outcome(lambda: il.sweep(None, {"x": [1]}, progress=False), "fn")


# ------------------------------------------------------------------ economics and reliability
# (field, call); an NPV may be negative
ECONOMICS = [
    ("price_usd_per_gpu_hour", lambda v: economics.rent_vs_own(v)),
    ("rental_usd_per_gpu_hour", lambda v: economics.break_even_utilization(v)),   # its argument's name
    ("utilization", lambda v: economics.provider_view(2.0, v)),
    ("years", lambda v: economics.provider_view(2.0, 0.8, years=v)),
    ("years", lambda v: economics.tco(1024, v)),
    ("n_gpus", lambda v: economics.tco(v, 4.0)),
    ("utilization", lambda v: economics.owned_cost_per_gpu_hour("MI300X", utilization=v)),
    ("life_years", lambda v: economics.owned_cost_per_gpu_hour("MI300X", life_years=v)),
    ("capex_usd_per_gpu", lambda v: economics.owned_cost_per_gpu_hour("MI300X", capex_usd_per_gpu=v)),
    ("cost_of_capital", lambda v: economics.owned_cost_per_gpu_hour("MI300X", cost_of_capital=v)),
    ("gpu_hours", lambda v: economics.run_cost(gpu_hours=v, price_usd_per_gpu_hour=2.0)),
    ("price_usd_per_gpu_hour", lambda v: economics.run_cost(gpu_hours=10.0, price_usd_per_gpu_hour=v)),
    ("utilization", lambda v: economics.rental_cost_per_gpu_hour(2.0, v)),
    ("rate", lambda v: economics.annuity_factor(v, 5)),
    ("years", lambda v: economics.annuity_factor(0.08, v)),
    ("n_gpus", lambda v: economics.cluster_power(v)),
    ("goodput", lambda v: economics.zyphra_bill(1e6, goodput=v)),
    ("mfu", lambda v: economics.gpu_hours_for(1e24, "MI300X", v)),
    ("rate", lambda v: economics.npv([-100.0, 50.0, 60.0], v)),
    ("accelerator", lambda v: economics.cloud_price(v)),
    ("term", lambda v: economics.cloud_price("H100-SXM", v)),
]


@pytest.mark.parametrize("field,call", [pytest.param(f, c, id=f"{i}:{f}") for i, (f, c) in enumerate(ECONOMICS)])
def test_economics_hostile_values(field, call):
    for v in HOSTILE + (1.5, -1e-9):
        outcome(lambda: call(v), field, "price_usd_per_gpu_hour", "value", signed=field == "rate")


def test_reliability_hostile_values():
    plan = reliability.plan_run(HW, 100.0, model="llama3-8b")
    for v in HOSTILE + (2**63, 2**70):
        outcome(lambda: reliability.plan_run(HW, v, model="llama3-8b"), "work_hours")
        outcome(lambda: reliability.plan_run(HW, 100.0, model="llama3-8b", interval_s=v), "interval_s")
        # a restart of 1e30 s: the run never completes, documented as an infinite wall time
        outcome(lambda: reliability.plan_run(HW, 100.0, model="llama3-8b", restart_s=v), "restart_s",
                inf_ok=("expected_wall_s",))
        outcome(lambda: reliability.simulate(plan, 100, seed=v), "seed")
        if v != 10**7:       # 10**7 runs is the documented bound (MAX_RUNS): valid, and slow
            outcome(lambda: reliability.simulate(plan, v), "n_runs")
        outcome(lambda: reliability.young_interval_s(v, 3600.0), "ckpt_s")


# ------------------------------------------------------------------ what this sweep found (December 2026)
def test_checkpoint_interval_longer_than_the_run():
    """One segment holds the whole run: the wall time is that of interval_s = work (it was
    infinite, "never completes", once λ·interval_s passed the overflow bound)."""
    whole = reliability.plan_run(HW, 100.0, model="llama3-8b", interval_s=100 * 3600.0)
    for v in (100 * 3600.0 + 1, 1e9, 1e30):
        p = reliability.plan_run(HW, 100.0, model="llama3-8b", interval_s=v)
        assert p.expected_wall_s == whole.expected_wall_s and math.isfinite(p.expected_wall_s)
    assert math.isfinite(reliability.expected_wall_time_s(3600.0, 1e300, 10.0, [1e-4], [60.0]))


def _sc(name: str, table: str, **kv) -> dict:
    d = shipped(name)
    d[table] = {**d.get(table, {}), **kv}
    return d


def _toml_layers(tmp: Path) -> str:
    """The shipped H100 scenario with 131,072 layers, as a TOML file."""
    text = (SCENARIOS / "zaya1-h100-counterpart.toml").read_text()
    assert 'preset = "zaya1-base"' in text
    p = tmp / "deep.toml"
    p.write_text(text.replace('preset = "zaya1-base"', 'preset = "zaya1-base"\nlayers = 131072'))
    return str(p)


REGRESSIONS = [
    # hardware: a node-size error blamed on nodes, "allowed nodes <= 0"
    ("gpus_per_node=10**7", lambda: il.estimate(_sc("zaya1-ibm-mi300x", "hardware", gpus_per_node=10**7)),
     ("hardware.gpus_per_node = 10000000", "allowed 1..8")),
    # model depth: an estimate that ran for minutes (linear in layers), or a result for 10**5 layers
    ("layers=2**17", lambda: il.estimate(_sc("zaya1-h100-counterpart", "model", layers=2**17)),
     ("model.layers = 131072", "65,536")),
    ("layers=2**24 serve", lambda: il.serve(_sc("maia-class-serving-mi300x", "model", layers=2**24)),
     ("model.layers = 16777216",)),
    # model widths: the Muon optimizer's Newton-Schulz refused "rows"/"cols" from deep inside
    ("heads=2**18 muon", lambda: il.estimate(_sc("zaya1-h100-counterpart", "model", heads=2**18)),
     ("model.heads = 262144", "16,777,216")),
    ("hidden=2**24+1 muon", lambda: il.estimate(_sc("zaya1-h100-counterpart", "model", hidden=2**24 + 1)),
     ("model.hidden = 16777217",)),
    ("expert_ffn_hidden=2**24 muon",
     lambda: il.estimate(_sc("zaya1-h100-counterpart", "model", expert_ffn_hidden=2**24)),
     ("model.expert_ffn_hidden = 16777216",)),
    ("ffn_hidden=2**24 muon", lambda: il.estimate({**BASE, "training": {**BASE["training"], "optimizer": "muon"},
                                                   "model": {"preset": "llama3-8b", "ffn_hidden": 2**24}}),
     ("model.ffn_hidden = 16777216",)),
    ("vocab=2**25", lambda: il.estimate({**BASE, "model": {"preset": "llama3-8b", "vocab": 2**25}}),
     ("model.vocab = 33554432",)),
    # serving media: refused as the encoder's internal "micro_batch" / "height"
    ("images_per_request=1e7", lambda: il.serve(_sc("maia-class-serving-mi300x", "serving", images_per_request=1e7)),
     ("serving.images_per_request", "65,536")),
    ("audio_s_per_request=1e7",
     lambda: il.serve(_sc("maia-class-serving-mi300x", "serving", audio_s_per_request=1e7)),
     ("serving.audio_s_per_request",)),
    ("encoder_batch=10**7", lambda: il.serve(_sc("maia-class-serving-mi300x", "serving", encoder_batch=10**7)),
     ("encoder_batch",)),
    ("image_size=10**7", lambda: il.serve(_sc("maia-class-serving-mi300x", "serving", image_size=10**7)),
     ("serving.image_size = 10000000", "1,048,576")),
    ("image_size=[448, 10**7]",
     lambda: il.serve(_sc("maia-class-serving-mi300x", "serving", image_size=[448, 10**7])),
     ("serving.image_size[1] = 10000000",)),
    ("encoder_prefill(images=1e7)",
     lambda: il.multimodal.encoder_prefill("maia-class", "MI300X", images=1e7), ("images",)),
    # reliability: OverflowError from the numba kernel
    ("simulate(seed=2**63)", lambda: reliability.simulate(reliability.plan_run(HW, 100.0, model="llama3-8b"), 10,
                                                          seed=2**63), ("seed = 9223372036854775808",)),
    # sweep: TypeError from pathlib
    ("sweep(out=5)", lambda: il.sweep(lambda x: {"y": x}, {"x": [1]}, out=5, progress=False), ("out = 5",)),
    # unknown names in full-width letters got no nearest name
    ("accelerator full-width", lambda: il.estimate({**BASE, "hardware": {**BASE["hardware"], "accelerator": "ＭＩ３００Ｘ"}}),
     ("Did you mean 'MI300X'",)),
    ("scenario full-width", lambda: il.load_scenario("ｚａｙａ１－ｉｂｍ－ｍｉ３００ｘ"), ("Did you mean 'zaya1-ibm-mi300x'",)),
]


@pytest.mark.parametrize("fn,needles", [pytest.param(f, n, id=i) for i, f, n in REGRESSIONS])
def test_found_by_the_sweep(fn, needles):
    with pytest.raises(InfraLabError) as e, budget():
        fn()
    assert isinstance(e.value, (ValueError, KeyError))
    for n in needles:
        assert n in str(e.value), f"{n!r} not in: {e.value}"


# ------------------------------------------------------------------ the command line
def test_cli_bad_input_is_one_line_and_exit_1(tmp_path, capsys):
    bad = tmp_path / "bad.toml"
    bad.write_text('name = "x"\n[model\npreset = "llama3-8b"\n')
    cases = [
        (["estimate", str(tmp_path / "missing.toml")], "not found"),
        (["estimate", str(bad)], "not valid TOML"),
        (["estimate", _toml_layers(tmp_path)], "model.layers = 131072"),
        (["estimate", "zaya1-ibm-mi300x", "--tokens", "nan"], "tokens"),
        (["estimate", "zaya1-ibm-mi300x", "--param", "framework_time_scale=abc"], "framework_time_scale"),
        (["collective", "all_reduce", "1e40", "--gpus", "8", "--accelerator", "MI300X"], "size 1e+40: more than"),
        (["collective", "all_reduce", "1MiB", "--gpus", "8", "--accelerator", "MI300X", "--gpus-per-node",
          "10000000"], "hardware.gpus_per_node = 10000000"),
        (["serve", "maia-class-serving-mi300x", "--price-usd-per-gpu-hour", "-1"], "--price-usd-per-gpu-hour -1.0"),
        (["sweep", "zaya1-ibm-mi300x", "--grid", str(bad)], "not valid TOML"),
    ]
    for argv, needle in cases:
        with budget():
            rc = cli.main(argv)
        err = capsys.readouterr().err.strip()
        assert rc == 1, (argv, rc, err)
        assert needle in err and len(err.splitlines()) == 1 and "internal error" not in err, (argv, err)


def test_cli_subprocess_has_no_traceback():
    res = subprocess.run([sys.executable, "-m", "infra_lab", "collective", "all_reduce", "1MiB", "--gpus", "8",
                          "--accelerator", "MI300X", "--gpus-per-node", "10000000"],
                         cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert res.returncode == 1 and "Traceback" not in res.stderr + res.stdout
    assert res.stderr.strip().count("\n") == 0 and "hardware.gpus_per_node" in res.stderr
