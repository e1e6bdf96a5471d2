"""Property tests of the public calls over combinations of valid fields at their edges.

``tests/test_properties.py`` changes one argument of a fixed base case and
``tests/test_fuzz_inputs.py`` one field of each shipped scenario. This module draws whole
scenarios whose fields are each valid but sit at an edge together: one GPU or several nodes of
one to eight GPUs, sequences of 1 token or 131,072, tiny models (one layer, one-column MLPs,
a vocabulary of 1), MoE with one expert or with top_k above the experts, pipeline stages
without layers (pp·vp up to the layers + 2), expert tensor parallelism wider than an expert's
MLP, micro-batches larger than the global batch, plans that do not divide. Then one field of
a valid draw is replaced by a hostile value, and the serving and collective calls get the
same treatment. Every case must end in one of two ways:

* the package's own error (``InfraLabError``; a ``ValidationError`` is a ``ValueError``);
* a result whose times, rates, sizes and costs are finite and not negative, with
  tokens/s = global batch · sequence / step time and a BF16 MFU of at most 1.

The search that found the regression cases below ran this module's strategies for minutes
(HYPOTHESIS_PROFILE=deep runs them 25 × longer, not derandomized); docs/bad-inputs.md says
what each did before. In CI the ``ci`` profile of tests/conftest.py derandomizes them and
there is no deadline; the module runs in about 20 s on the shared 2-core machine.
"""

from __future__ import annotations

import math
import os

import hypothesis.strategies as st
import numpy as np
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings

import infra_lab as il
from infra_lab import collectives as coll
from infra_lab import memory, reliability
from infra_lab.errors import InfraLabError

pytestmark = [pytest.mark.filterwarnings("ignore::RuntimeWarning"),
              pytest.mark.filterwarnings("ignore::infra_lab.errors.ContextLengthWarning"),
              pytest.mark.filterwarnings("ignore::infra_lab.errors.EmptyResultWarning")]

DEEP = os.environ.get("HYPOTHESIS_PROFILE") == "deep"


def budget(n: int) -> settings:
    """``n`` examples in CI (the derandomized ``ci`` profile); 25 × more with ``deep``."""
    return settings(max_examples=n * (25 if DEEP else 1), deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])


def own(fn, *args, **kwargs):
    """fn(*args, **kwargs), or None when it raises the package's own error; any other
    exception (KeyError, ZeroDivisionError, a numba error, ...) fails the test."""
    try:
        return fn(*args, **kwargs)
    except InfraLabError:
        return None


SIGNED = ("free",)
"""Result fields that may be negative by design (memory.inference_memory's ``free``)."""


def check_finite(obj, where: str = "result") -> None:
    """Every number in ``obj`` (a dataclass, dict, list or polars frame, recursively) is finite
    and not negative."""
    if obj is None or isinstance(obj, (bool, np.bool_, str)):
        return
    if isinstance(obj, (int, float, np.integer, np.floating)):
        assert math.isfinite(float(obj)) and float(obj) >= 0, f"{where} = {obj!r}"
    elif isinstance(obj, pl.DataFrame):
        for c in obj.columns:
            if obj[c].dtype.is_numeric():
                for i, v in enumerate(obj[c].cast(pl.Float64).to_list()):
                    if v is not None and not any(s in str(obj.row(i)) for s in SIGNED):
                        check_finite(v, f"{where}.{c}[{i}]")
    elif isinstance(obj, dict):
        for k, v in obj.items():
            check_finite(v, f"{where}[{k!r}]")
    elif isinstance(obj, (list, tuple)):
        for i, v in enumerate(obj):
            check_finite(v, f"{where}[{i}]")
    elif hasattr(obj, "__dataclass_fields__"):
        for k in obj.__dataclass_fields__:
            check_finite(getattr(obj, k), f"{where}.{k}")


# ------------------------------------------------------------------------------- strategies
ACCS = il.catalog.accelerator_names()
NICS = il.catalog.nic_names()
PRESETS = ["gpt2-small", "llama3-8b", "mixtral-8x7b", "qwen3-30b-a3b", "zaya1-base", "deepseek-v3", "gpt-oss-20b"]


@st.composite
def tiny_models(draw) -> dict:
    """An explicit [model] table at the small edge: 1–4 layers, 1–4 heads of 1–64 dims, a
    vocabulary of 1 to 32,000, MLPs of 1 column and up; half of them MoE, sometimes with
    top_k above the experts."""
    heads = draw(st.sampled_from([1, 2, 4]))
    m = {"layers": draw(st.integers(1, 4)), "heads": heads,
         "hidden": heads * draw(st.sampled_from([1, 8, 64])), "vocab": draw(st.sampled_from([1, 2, 1000, 32000])),
         "ffn_hidden": draw(st.sampled_from([1, 3, 64, 512]))}
    if draw(st.booleans()):
        m["kv_heads"] = draw(st.sampled_from([d for d in (1, 2, 4) if heads % d == 0]))
    if draw(st.booleans()):
        e = draw(st.sampled_from([1, 2, 4, 8]))
        m.update(experts=e, top_k=draw(st.integers(1, e + (1 if draw(st.integers(0, 5)) == 0 else 0))))
        if draw(st.booleans()):
            m["expert_ffn_hidden"] = draw(st.sampled_from([1, 2, 16]))
        if draw(st.booleans()):
            m.update(shared_experts=draw(st.integers(0, 2)), shared_expert_ffn_hidden=draw(st.sampled_from([1, 64])))
        if draw(st.booleans()):
            m["dense_layers"] = draw(st.integers(0, m["layers"] - 1))
    if draw(st.booleans()):
        m["ffn_act"] = draw(st.sampled_from(["swiglu", "gelu"]))
    return m


def _divisors(n: int, of=(1, 2, 3, 4, 8, 16)) -> list[int]:
    return [d for d in of if n % d == 0]


@st.composite
def edge_scenarios(draw) -> dict:
    """A training Scenario dict, most of them valid: the plan is built to divide the world
    and the batch, each field at an edge; one draw in eight leaves a plan that need not divide
    (micro-batch above the global batch, tp·pp·cp beyond the world, ep not dividing)."""
    model = draw(tiny_models()) if draw(st.booleans()) else {"preset": draw(st.sampled_from(PRESETS))}
    layers = model.get("layers", 8)
    acc = draw(st.sampled_from(ACCS))
    gpn = draw(st.sampled_from([1, 2, 4] if acc.startswith("GB") else [1, 2, 4, 8]))
    nodes = draw(st.sampled_from([1, 1, 2, 3, 4]))
    hw = {"accelerator": acc, "nodes": nodes, "gpus_per_node": gpn, "nic": draw(st.sampled_from(NICS)),
          "fabric": draw(st.sampled_from(["rails-only", "rail-optimized", "fat-tree"]))}
    if draw(st.integers(0, 3)) == 0:
        hw["oversubscription"] = draw(st.sampled_from([1.0, 2.0, 16.0]))
    world = nodes * gpn
    heads = model.get("heads", 8)
    tp = draw(st.sampled_from([d for d in _divisors(gpn, (1, 2, 4, 8)) if heads % d == 0]))
    pp = draw(st.sampled_from([d for d in _divisors(world // tp) if d <= layers + 2]))
    cp = draw(st.sampled_from(_divisors(world // tp // pp, (1, 2, 4))))
    dp = world // (tp * pp * cp)
    par = {"tp": tp, "pp": pp, "cp": cp, "zero": draw(st.integers(0, 3))}
    if pp > 1 and draw(st.booleans()):
        par["vp"] = draw(st.sampled_from([v for v in (2, 3) if pp * v <= layers + 2] or [1]))
    if draw(st.integers(0, 3)) == 0:
        par["fsdp"] = True
        par["zero"] = 3
    if tp > 1 and draw(st.booleans()):
        par["sequence_parallel"] = True
    if model.get("experts") or model.get("preset") in ("mixtral-8x7b", "qwen3-30b-a3b", "deepseek-v3", "gpt-oss-20b"):
        par["ep"] = draw(st.sampled_from(_divisors(dp * cp, (1, 2, 4, 8))))
        par["etp"] = draw(st.sampled_from(_divisors(tp * cp * dp // par["ep"], (1, 2, 4))))
        if draw(st.integers(0, 3)) == 0:
            par["moe_dispatcher"] = "deepep"
    mb = draw(st.sampled_from([1, 2, 3]))
    tr = {"seq_len": draw(st.sampled_from([s for s in (1, 2, 3, 128, 4096, 131072) if s % cp == 0])), "micro_batch": mb,
          "global_batch": mb * dp * draw(st.sampled_from([1, 2, 3])),
          "precision": draw(st.sampled_from(["bf16", "bf16", "fp8"])),
          "recompute": draw(st.sampled_from(["none", "selective", "full"])),
          "optimizer": draw(st.sampled_from(["adamw", "adamw-bf16", "muon", "sgd"]))}
    if draw(st.integers(0, 3)) == 0:
        tr["loss_chunks"] = draw(st.sampled_from([1, 3, 4096]))
    if draw(st.integers(0, 7)) == 0:  # a plan or batch that need not be consistent
        table, key, value = draw(st.sampled_from([
            ("training", "micro_batch", 4 * tr["global_batch"]), ("training", "global_batch", 1),
            ("parallelism", "tp", 3), ("parallelism", "pp", layers + 3), ("parallelism", "ep", 3),
            ("parallelism", "cp", 2 * world)]))
        (tr if table == "training" else par)[key] = value
    return {"name": "edge", "model": model, "hardware": hw, "training": tr, "parallelism": par}


HOSTILE = (0, -1, 2.5, float("nan"), float("inf"), -float("inf"), 1e300, 2**63, True, "8", "", " ", "é漢",
           None, [1], {"a": 1}, 1e-300)
FIELDS = {
    "model": ["preset", "layers", "hidden", "heads", "kv_heads", "vocab", "ffn_hidden", "experts", "top_k",
              "expert_ffn_hidden", "shared_experts", "dense_layers", "mtp_layers", "max_seq_len", "tied_embeddings"],
    "hardware": list(il.scenario.HardwareConfig.KEYS),
    "training": [k for k in il.scenario.TrainingConfig.KEYS if k not in ("data_mix", "encoder")],
    "parallelism": list(il.scenario.ParallelismConfig.KEYS),
}


def check_estimate(sc: il.Scenario, e) -> None:
    check_finite(e, "estimate")
    assert e.step_time_s > 0
    tokens = sc.training.global_batch * sc.training.seq_len
    assert e.tokens_per_s == pytest.approx(tokens / e.step_time_s, rel=1e-9)
    if sc.training.precision != "fp8":  # MFU is against the dense BF16 peak (FP8 may pass 1)
        assert e.mfu <= 1.0 + 1e-9, e.mfu


def estimate_and_check(d: dict) -> None:
    """The scenario dict ``d`` through Scenario.from_dict and il.estimate (each may refuse it with
    the package's error, :func:`own`), and :func:`check_estimate` on what they accept."""
    sc = own(il.Scenario.from_dict, d)
    if sc is not None:
        e = own(il.estimate, sc)
        if e is not None:
            check_estimate(sc, e)


# ------------------------------------------------------------------------------- training
@budget(100)
@given(edge_scenarios())
def test_estimate_at_the_edges(d):
    estimate_and_check(d)


@budget(100)
@given(edge_scenarios(), st.sampled_from(sorted(FIELDS)), st.data())
def test_one_hostile_field_of_an_edge_scenario(d, table, data):
    """A valid edge draw with one field replaced by a hostile value: the package's error, or
    (the value was valid after all) a finite estimate."""
    if own(il.Scenario.from_dict, d) is None:
        return
    d[table][data.draw(st.sampled_from(FIELDS[table]))] = data.draw(st.sampled_from(HOSTILE))
    estimate_and_check(d)


@budget(10)
@given(edge_scenarios())
def test_search_at_the_edges(d):
    d["hardware"]["nodes"] = 1
    check_finite(own(il.search, d, top=3), "search")


@st.composite
def multimodal_edges(draw) -> dict:
    """A multimodal training Scenario on one node with a data mix at its edges: all one
    modality, a share of 1e-9, pictures of 1 px, audio clips of a microsecond or an hour."""
    text = draw(st.sampled_from([0.0, 0.5, 1.0]))
    image = draw(st.sampled_from([0.0, 1e-9, 1.0 - text]))
    mix = {"text": text, "image": image, "audio": max(0.0, 1.0 - text - image)}
    if draw(st.booleans()):
        mix["image_size"] = draw(st.sampled_from([[1, 1], [14, 14], [1, 4096]]))
    if draw(st.booleans()):
        mix["audio_clip_s"] = draw(st.sampled_from([1e-6, 0.01, 3600.0]))
    mix["packing"] = draw(st.sampled_from(["ffd", "ff", "none"]))
    gpn = draw(st.sampled_from([1, 2, 8]))
    mb = draw(st.sampled_from([1, 2]))
    return {"name": "edge-mm", "model": {"preset": draw(st.sampled_from(["maia-class", "qwen2.5-vl-7b", "qwen2-audio-7b"]))},
            "hardware": {"accelerator": draw(st.sampled_from(["MI300X", "H100-SXM", "B200"])), "nodes": 1,
                         "gpus_per_node": gpn},
            "training": {"seq_len": draw(st.sampled_from([16, 4096, 32768])), "micro_batch": mb,
                         "global_batch": mb * gpn, "data_mix": mix,
                         "encoder": draw(st.sampled_from(["trained", "frozen"]))}}


@budget(8)
@given(multimodal_edges())
def test_multimodal_mix_at_the_edges(d):
    estimate_and_check(d)


# ------------------------------------------------------------------------------- serving
@st.composite
def serving_edges(draw) -> dict:
    acc = draw(st.sampled_from(ACCS))
    gpn = draw(st.sampled_from([1, 2, 4] if acc.startswith("GB") else [1, 2, 4, 8]))
    model = draw(st.one_of(st.builds(lambda p: {"preset": p}, st.sampled_from(PRESETS)), tiny_models()))
    tp = draw(st.sampled_from([d for d in _divisors(gpn, (1, 2, 4, 8)) if model.get("heads", 8) % d == 0]))
    sv = {"tp": tp, "dp": gpn // tp, "engine": draw(st.sampled_from(["vllm", "sglang", "trt-llm", "atom"])),
          "weight_precision": draw(st.sampled_from(["bf16", "fp8", "fp4"])),
          "kv_precision": draw(st.sampled_from(["bf16", "fp8"])),
          "input_tokens": draw(st.sampled_from([1, 2, 17, 1024, 131072])),
          "output_tokens": draw(st.sampled_from([1, 2, 1024, 65536])),
          "concurrency": draw(st.sampled_from([1, 3, 64, 2**20]))}
    if draw(st.booleans()):
        sv["chunk_tokens"] = draw(st.sampled_from([1, 7, 8192]))
    if draw(st.integers(0, 3)) == 0:
        sv["batching"] = "static"
    elif draw(st.integers(0, 3)) == 0:
        sv["request_rate_rps"] = draw(st.sampled_from([1e-9, 1.0, 1e9]))
    if sv["input_tokens"] + sv["output_tokens"] > 8192:
        model["max_seq_len"] = 2**18
    return {"name": "edge", "model": model, "hardware": {"accelerator": acc, "nodes": 1, "gpus_per_node": gpn},
            "serving": sv}


@budget(80)
@given(serving_edges())
def test_serve_at_the_edges(d):
    r = own(il.serve, d)
    if r is not None:
        check_finite(r, "serve")
        if r.fits:
            assert r.ttft_s > 0 and r.e2e_latency_s >= r.ttft_s, r
            # one output token has no TPOT (il.serving.tpot_defined): None, never a number
            if d["serving"]["output_tokens"] == 1:
                assert r.tpot_s is None and r.tokens_per_s_per_user is None, r
            else:
                assert r.tpot_s > 0, r


@budget(10)
@given(serving_edges(), st.sampled_from([None, 1e-9, 0.05, 1e9]), st.sampled_from([None, [1], [1, 3, 2**20]]))
def test_serve_search_at_the_edges(d, max_tpot_s, concurrencies):
    d["serving"]["concurrency"] = 64
    check_finite(own(il.serve_search, d, max_tpot_s=max_tpot_s, concurrencies=concurrencies), "serve_search")


# ------------------------------------------------------------------------------- collectives
@budget(200)
@given(st.sampled_from(coll.OPS), st.sampled_from([0, 1e-300, 0.5, 1, 4097, 2**30, 1e15, 1e300]),
       st.sampled_from(ACCS), st.sampled_from(NICS), st.sampled_from([1, 2, 3, 4]), st.sampled_from([1, 2, 3, 8]),
       st.sampled_from([1, 2, 3, 7, 8, 16, 32]), st.sampled_from(["auto", "fastest", *coll.ALGORITHMS]),
       st.sampled_from([None, 1e-9, 0.5, 1.0]))
def test_collective_at_the_edges(op, size, acc, nic, nodes, gpn, gpus, algorithm, fabeff):
    hw = {"accelerator": acc, "nic": nic, "nodes": nodes, "gpus_per_node": min(gpn, 4 if acc.startswith("GB") else 8)}
    kw = {} if fabeff is None else {"fabric_efficiency": fabeff}
    r = own(il.collective, op, size, hw, gpus, algorithm, **kw)
    if r is not None:
        check_finite(r, "collective")
        if r.gpus > 1 and size > 0:
            assert r.time_s > 0
    check_finite(own(coll.algorithm_table, op, size, hw, gpus), "algorithm_table")
    check_finite(own(coll.lower_bound, op, size, hw, gpus), "lower_bound")
    if op == "all_to_all":
        check_finite(own(coll.rails_only_overhead_pct, size, hw, gpus), "rails_only_overhead_pct")


# ------------------------------------------------------------------------------- found cases
HW8 = {"accelerator": "MI325X", "nodes": 1}


def _estimate_equals_reference(d: dict):
    from kernel_check import assert_estimate_equals_reference

    sc = il.Scenario.from_dict(d)
    e = assert_estimate_equals_reference(sc)
    check_estimate(sc, e)
    return e


@pytest.mark.parametrize("model,par", [
    ({"preset": "llama3-8b", "layers": 3}, {"pp": 4, "zero": 3}),
    ({"preset": "qwen3-30b-a3b", "layers": 3}, {"pp": 4, "fsdp": True}),
    ({"preset": "llama3-8b", "layers": 2}, {"pp": 2, "vp": 2, "zero": 3}),
], ids=["dense-pp4-3-layers", "moe-pp4-3-layers-fsdp", "pp2-vp2-2-layers"])
def test_zero3_with_a_pipeline_chunk_without_layers(model, par):
    """pp·vp may reach the layers + 2 (chunks with only the embedding or the loss); with
    ZeRO-3 / FSDP such a chunk divided by its zero layers (ZeroDivisionError in the step
    kernel and its reference). It has no per-layer gathers to expose."""
    d = {"model": model, "hardware": HW8, "training": {"seq_len": 512, "global_batch": 16}, "parallelism": par}
    _estimate_equals_reference(d)


def test_expert_tensor_parallel_wider_than_the_expert_mlp():
    """etp above the expert MLP's width (1 column over 4 ranks) rounded the grouped GEMM's
    width to 0 (ZeroDivisionError in the GEMM kernel); it is 1 column, as a plain GEMM's."""
    tiny = {"layers": 2, "hidden": 32, "heads": 4, "vocab": 2, "ffn_hidden": 1, "experts": 8, "top_k": 2}
    d = {"model": tiny, "hardware": {"accelerator": "H100-SXM", "nodes": 1},
         "training": {"seq_len": 128, "global_batch": 64}, "parallelism": {"etp": 4}}
    e = _estimate_equals_reference(d)
    wide = _estimate_equals_reference({**d, "model": {**tiny, "ffn_hidden": 4}})   # 1 column per rank
    assert e.step_time_s == pytest.approx(wide.step_time_s, rel=1e-3)  # the same GEMMs; element-wise ops differ
    ops = il.compute.layer_ops(tiny, 128, 1, 4, "H100-SXM", "bf16", ep=1, expert_tp=4)
    check_finite(ops.select(pl.col(pl.Float64)), "layer_ops")


def test_audio_clips_shorter_than_one_token():
    """training.data_mix.audio_clip_s = 1e-6: the sample stream asked for one draw per 1e-5
    tokens (a 375 GiB array: MemoryError, or minutes); every clip counts at least one token."""
    mix = {"text": 0.1, "image": 0.5, "audio": 0.4, "image_size": [1, 1], "audio_clip_s": 1e-6}
    d = {"model": {"preset": "maia-class"}, "hardware": {"accelerator": "H100-SXM", "nodes": 1, "gpus_per_node": 2},
         "training": {"seq_len": 4096, "micro_batch": 1, "global_batch": 2, "data_mix": mix}}
    sc = il.Scenario.from_dict(d)
    check_estimate(sc, il.estimate(sc))


def test_one_rank_collective_tables():
    hw = {"accelerator": "MI300X", "nodes": 2, "nic": "Pollara-400"}
    tab = coll.algorithm_table("all_reduce", 2**20, hw, 1)   # was every algorithm at tuner time inf
    assert tab.rows() == [("none", "none", 0.0, 0.0, 0.0, True)]
    assert coll.rails_only_overhead_pct(2**20, hw, 1) == 0.0  # was ZeroDivisionError
    assert coll.rails_only_overhead_pct(2**20, hw, 16) > 0.0


@pytest.mark.parametrize("fn,needles", [
    (lambda: coll.algorithm_table("all_reduce", 1e300, {"accelerator": "MI300X", "nodes": 2}, 16),
     ("size_bytes = 1e+300", "largest cluster")),
    (lambda: coll.lower_bound("all_reduce", 1e300, {"accelerator": "MI300X", "nodes": 2}, 16),
     ("size_bytes = 1e+300", "largest cluster")),
    (lambda: reliability.interruption_rates({"accelerator": "MI300X", "nodes": 2}, early_deployment=1e300,
                                            multiplier=1e300), ("multiplier = 1e+300", "1e+06")),
    (lambda: reliability.interruption_rates({"accelerator": "MI300X", "nodes": 2}, early_deployment=1e7),
     ("early_deployment = 10000000.0", "1e+06")),
    (lambda: reliability.interruption_rates({"accelerator": "MI300X", "nodes": 2}, multiplier={"gpu": 1e7}),
     ("multiplier['gpu']", "1e+06")),
    (lambda: memory.loss_logits_bytes(1e300, 1e300, activation_bytes=1e300), ("tokens = 1e+300", "2^40")),
    (lambda: memory.loss_logits_bytes(8192, 2**25), ("vocab = 33554432",)),
    (lambda: memory.loss_logits_bytes(8192, 128256, activation_bytes=1e300), ("activation_bytes = 1e+300", "16")),
    (lambda: memory.kv_cache_bytes("llama3-8b", 1e12, 1e300), ("batch = 1e+300", "2^40")),
    (lambda: memory.inference_memory("llama3-8b", "MI300X", 8192, batch=1e300), ("batch = 1e+300", "2^40")),
    (lambda: memory.checkpoint_bytes("llama3-8b", weight_bytes=1e300), ("weight_bytes = 1e+300", "0 < x <= 16")),
], ids=["algorithm_table-size", "lower_bound-size", "rates-overflow", "early-deployment", "multiplier-dict",
        "logits-tokens", "logits-vocab", "logits-bytes", "kv-batch", "inference-batch", "checkpoint-bytes"])
def test_overflowing_arguments_are_refused_by_name(fn, needles):
    """Two finite arguments whose product overflowed a float gave inf sizes and rates (and NaN
    shares); each argument is now bounded and named."""
    with pytest.raises(InfraLabError) as ei:
        fn()
    for n in needles:
        assert n in str(ei.value), (n, str(ei.value))
