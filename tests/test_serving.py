"""Tests for serving: model presets people serve, inference memory, il.serve, il.serve_search."""

from __future__ import annotations

import pytest

from infra_lab import memory, models
from infra_lab.errors import ValidationError
from infra_lab.models import ModelSpec

# ---------------------------------------------------------------- presets people serve


@pytest.mark.parametrize(
    ("name", "total", "active_no_input_embedding"),
    [
        # hand count from config.json (see data/models/presets.csv notes)
        ("gpt-oss-120b", 116_829_156_672, 5_132_849_472),
        ("gpt-oss-20b", 20_914_757_184, 3_608_307_264),
    ],
)
def test_gpt_oss_exact_counts(name, total, active_no_input_embedding):
    s = models.get(name)
    assert s.params_total == total
    assert s.params_published_basis() == (total, active_no_input_embedding)


@pytest.mark.parametrize(
    ("name", "mlp_b", "attention_b", "embed_unembed_b"),
    [("gpt-oss-120b", 114.71, 0.96, 1.16), ("gpt-oss-20b", 19.12, 0.64, 1.16)],
)
def test_gpt_oss_components_match_model_card(name, mlp_b, attention_b, embed_unembed_b):
    """Model card (arXiv 2508.10925) Table 1 per component, printed to 2 decimals [B]."""
    bd = {r["component"]: r["params_total"] for r in models.get(name).param_breakdown().iter_rows(named=True)}
    mlp = bd["experts"] + bd["router"]
    assert round(mlp / 1e9, 2) == mlp_b
    assert round(bd["attention"] / 1e9, 2) == attention_b        # q/k/v/o + biases + sinks
    assert round((bd["embeddings"] + bd["lm_head"]) / 1e9, 2) == embed_unembed_b


def test_gpt_oss_checkpoint_size_with_mxfp4_experts():
    # model card: 60.8 GiB and 12.8 GiB with MoE weights in MXFP4 (4.25 bits), rest BF16
    assert round(memory.weight_bytes("gpt-oss-120b") / 2**30, 1) == 60.8
    assert round(memory.weight_bytes("gpt-oss-20b") / 2**30, 1) == 12.8
    # all-BF16 would be twice the parameters in bytes
    assert memory.weight_bytes("gpt-oss-120b", expert_precision="bf16") == 2 * models.get("gpt-oss-120b").params_total
    # FP8 everywhere keeps the MXFP4 experts (smaller); NVFP4 experts would be larger than MXFP4
    assert memory.weight_bytes("gpt-oss-120b", "fp8") < memory.weight_bytes("gpt-oss-120b", "bf16")
    assert memory.weight_bytes("gpt-oss-120b", "bf16", "nvfp4") > memory.weight_bytes("gpt-oss-120b")


def test_gpt_oss_sliding_window_and_sinks():
    s = models.get("gpt-oss-120b")
    w = s.attention_windows()
    assert len(w) == 36 and w[0::2] == [128] * 18 and w[1::2] == [0] * 18
    no_sink = s.replace(attention_sinks=False)
    assert s.params_total - no_sink.params_total == 36 * 64
    # KV cache: full layers keep every token, sliding layers at most 128
    per_tok = memory.kv_bytes_per_token(s, "bf16")
    assert per_tok == 36 * 2 * 8 * 64 * 2
    assert memory.kv_cache_bytes(s, 64) == 64 * per_tok
    assert memory.kv_cache_bytes(s, 8192) == pytest.approx(per_tok / 2 * (8192 + 128))
    assert memory.kv_cache_bytes(s, 8192) < memory.kv_cache_bytes(s.replace(sliding_window=0, full_attention_every=0), 8192)


def test_llama33_70b_and_existing_presets():
    assert models.get("llama3.3-70b").params_total == 70_553_706_496
    assert models.get("Llama-3.1-70B").name == "llama3.3-70b"
    for name in ("llama3.1-405b", "deepseek-r1", "qwen3-235b-a22b", "zaya1"):
        assert models.get(name).params_total > 0


def test_new_model_fields_validated():
    base = {"layers": 2, "hidden": 64, "heads": 4, "vocab": 100}
    with pytest.raises(ValidationError, match="full_attention_every"):
        ModelSpec.from_dict({**base, "full_attention_every": 2})
    with pytest.raises(ValidationError, match="expert_weight_format"):
        ModelSpec.from_dict({**base, "expert_weight_format": "mxfp4"})
    with pytest.raises(ValidationError, match="expert_weight_format"):
        ModelSpec.from_dict({**base, "experts": 4, "top_k": 1, "expert_weight_format": "int3"})
    with pytest.raises(ValidationError, match="sliding_window"):
        ModelSpec.from_dict({"preset": "deepseek-v3", "sliding_window": 128})
    with pytest.raises(ValidationError, match="sliding_window"):
        ModelSpec.from_dict({**base, "sliding_window": -1})
    with pytest.raises(ValidationError, match="attention_sinks"):
        ModelSpec.from_dict({**base, "attention_sinks": "maybe"})
    s = ModelSpec.from_dict({**base, "sliding_window": 16})
    assert s.attention_windows() == [16, 16]


# ---------------------------------------------------------------- the serving Scenario
import dataclasses  # noqa: E402
import math  # noqa: E402
import tomllib  # noqa: E402
import warnings  # noqa: E402

import numpy as np  # noqa: E402
import polars as pl  # noqa: E402

import infra_lab as il  # noqa: E402
from infra_lab import serving  # noqa: E402
from infra_lab.errors import UnknownNameError  # noqa: E402


def _sc(model="llama3.3-70b", acc="MI300X", gpus=8, **sv):
    serving_table = {"engine": "vllm", "tp": gpus, "weight_precision": "fp8", "concurrency": 32,
                     "input_tokens": 1024, "output_tokens": 512}
    serving_table.update(sv)
    nodes = max(1, gpus // 8)
    return {"name": "t", "model": {"preset": model},
            "hardware": {"accelerator": acc, "nodes": nodes, "gpus_per_node": gpus // nodes},
            "serving": serving_table}


def test_serving_scenario_round_trips_and_training_unchanged():
    sc = il.Scenario.from_dict(_sc(spec_decoding="mtp", mtp_acceptance=0.7, model="deepseek-v3",
                                   tp=8, ep=8, chunk_tokens=4096, num_prompts=320))
    assert sc.kind == "serving" and sc.training is None and sc.parallelism is None
    assert sc.stack == "vllm-rocm"
    assert il.Scenario.from_dict(sc.to_dict()) == sc
    assert il.Scenario.from_dict(tomllib.loads(sc.to_toml())) == sc
    assert sc.replace(serving={"concurrency": 8}).serving.concurrency == 8
    media = il.Scenario.from_dict(_CASES["zaya1-cca-b200"])
    assert media.serving.image_size == (768, 1024)
    assert il.Scenario.from_dict(tomllib.loads(media.to_toml())) == media
    tr = il.load_scenario("zaya1-ibm-mi300x")
    assert tr.kind == "training" and tr.serving is None and "serving" not in tr.to_dict()
    assert il.Scenario.from_dict(tr.to_dict()) == tr


@pytest.mark.parametrize(
    ("change", "match"),
    [
        ({"tp": 3}, "tp·pp·dp"),
        ({"engine": "tensorrt"}, "engine"),
        ({"engine": "trt-llm"}, "no trt-llm stack on MI300X"),
        ({"weight_precision": "fp4"}, "no fp4 tensor cores"),
        ({"weight_precision": "int4"}, "weight_precision"),
        ({"kv_precision": "fp4"}, "kv_precision"),
        ({"ep": 2}, "no experts"),
        ({"concurrency": 0}, "concurrency"),
        ({"concurrency": "64"}, "concurrency"),
        ({"concurrency": 2.5}, "concurrency"),
        ({"input_tokens": float("nan")}, "input_tokens"),
        ({"dp_attention": "yes"}, "dp_attention"),
        ({"mtp_acceptance": 0.5}, "spec_decoding"),
        ({"spec_decoding": "mtp", "mtp_acceptance": 1.5}, "mtp_acceptance"),
        ({"spec_decoding": "eagle"}, "spec_decoding"),
        ({"num_prompts": 4}, "num_prompts"),
        ({"request_rate_rps": -1.0}, "request_rate_rps"),
        ({"request_rate_rps": "1"}, "request_rate_rps"),
        ({"batching": "static", "request_rate_rps": 2.0}, "batching"),
        ({"batching": "dynamic"}, "batching"),
        ({"encoder_flops_per_request": 1e12}, "encoder_flops_per_request"),
        ({"images_per_request": -1.0}, "images_per_request"),
        ({"images_per_request": "1"}, "images_per_request"),
        ({"images_per_request": 1.0}, "no vision encoder"),
        ({"audio_s_per_request": 3.0}, "no audio encoder"),
        ({"image_size": 448}, "image_size"),
        ({"image_size": [448, 0]}, "image_size"),
        ({"encoder_batch": 0}, "encoder_batch"),
        ({"tpp": 8}, "tpp"),
    ],
)
def test_serving_table_bad_input(change, match):
    with pytest.raises((ValidationError, UnknownNameError), match=match):
        il.Scenario.from_dict(_sc(**change))


def test_serving_scenario_consistency_errors():
    with pytest.raises(ValidationError, match="replaces"):
        il.Scenario.from_dict({**_sc(), "training": {"seq_len": 1024}})
    with pytest.raises(ValidationError, match="dense"):
        il.Scenario.from_dict(_sc(tp=4, dp=2, dp_attention=True))
    with pytest.raises(ValidationError, match="must divide tp"):
        il.Scenario.from_dict(_sc(model="deepseek-v3", tp=4, dp=2, ep=8))
    il.Scenario.from_dict(_sc(model="deepseek-v3", tp=4, dp=2, ep=8, dp_attention=True))
    with pytest.raises(ValidationError, match="hybrid SSM"):
        il.Scenario.from_dict(_sc(model="zamba2-1.2b", gpus=1, tp=1))
    with pytest.raises(ValidationError, match="scale-up domain"):
        il.Scenario.from_dict(_sc(gpus=16, tp=16))
    d = _sc()
    d["model"] = {"layers": 2, "hidden": 768, "heads": 12, "vocab": 1000}
    with pytest.raises(ValidationError, match="attention heads"):
        il.Scenario.from_dict(d)


# ---------------------------------------------------------------- il.serve: kernel = reference
_CASES = {
    "dense-fp8-tp8": _sc(),
    "dense-bf16-tp2-dp4-nonmixed": _sc(engine="sglang", tp=2, dp=4, weight_precision="bf16", concurrency=100),
    "dense-pp2-kvfp8": _sc(tp=4, pp=2, kv_precision="fp8", concurrency=48, input_tokens=3000),
    "dense-kv-limited": _sc(gpus=1, tp=1, acc="H100", concurrency=256, input_tokens=4096, output_tokens=1024,
                            model="llama3-8b"),
    "static-batch": _sc(batching="static", concurrency=16, input_tokens=128, output_tokens=128),
    "moe-ep-mtp": _sc(model="deepseek-v3", acc="H200", engine="sglang", tp=8, ep=8, spec_decoding="mtp",
                      mtp_draft_tokens=2, concurrency=64),
    "moe-dp-attention-2nodes": _sc(model="deepseek-v3", gpus=16, tp=1, dp=16, ep=16, dp_attention=True,
                                   concurrency=512, acc="H100"),
    "gpt-oss-mxfp4-1gpu": _sc(model="gpt-oss-120b", acc="H100", gpus=1, tp=1, weight_precision="bf16",
                              concurrency=8, input_tokens=2048),
    "gpt-oss-fp4-mi355x": _sc(model="gpt-oss-120b", acc="MI355X", gpus=8, tp=8, weight_precision="fp4",
                              engine="atom", concurrency=128, num_prompts=1280),
    "zaya1-cca-b200": {**_sc(acc="B200", gpus=1, tp=1, weight_precision="fp8", concurrency=32,
                             images_per_request=0.5, image_size=[768, 1024], audio_s_per_request=4.0),
                       "model": {"preset": "zaya1", "vision": "qwen2.5-vl-vit", "audio": "qwen2-audio-encoder"}},
    "qwen3-trt": _sc(model="qwen3-235b-a22b", acc="B200", engine="trt-llm", tp=8, ep=4, weight_precision="fp4",
                     concurrency=200, chunk_tokens=2048),
    "request-rate": _sc(request_rate_rps=2.0, concurrency=256),
    "dsr1-fp4-bf16-attention-adp": _sc(model="deepseek-v3", acc="B200", engine="trt-llm", tp=1, dp=8, ep=8,
                                       dp_attention=True, weight_precision="fp4", attention_precision="bf16",
                                       kv_precision="fp8", concurrency=2048, chunk_tokens=2048,
                                       input_tokens=1024, output_tokens=2048),
    "dsr1-fp4-bf16-mtp-tp8": _sc(model="deepseek-v3", acc="B200", engine="trt-llm", tp=8, ep=2,
                                 weight_precision="fp4", attention_precision="bf16", mtp_precision="bf16",
                                 spec_decoding="mtp", mtp_draft_tokens=3, mtp_acceptance=0.77, concurrency=1,
                                 input_tokens=1024, output_tokens=2048),
    "dsr1-adp-mtp-tp2": _sc(model="deepseek-v3", acc="B200", engine="trt-llm", tp=2, dp=4, ep=8,
                            dp_attention=True, weight_precision="fp4", mtp_precision="fp8",
                            spec_decoding="mtp", mtp_draft_tokens=2,
                            concurrency=512, chunk_tokens=2048, input_tokens=1024, output_tokens=1024),
    "dsr1-fp4-bf16-attention-mtp-tp8": _sc(model="deepseek-v3", acc="B200", engine="trt-llm", tp=8, ep=2,
                                           weight_precision="fp4", attention_precision="bf16", spec_decoding="mtp",
                                           mtp_draft_tokens=3, mtp_acceptance=0.77, concurrency=1,
                                           input_tokens=1024, output_tokens=2048),
    "lockstep-mixed": _sc(model="deepseek-v3", acc="H200", concurrency=64, input_tokens=3200, output_tokens=800,
                          num_prompts=500, lockstep=True),
    "lockstep-atom-separate-prefill": _sc(acc="MI355X", engine="atom", concurrency=128, input_tokens=1000,
                                          output_tokens=1000, num_prompts=512, lockstep=True),
    # separate prefill: several prompts per gap, packed into forwards of the budget; prompts
    # longer than the budget; DP attention whose ranks choose prefill or decode on their own
    "sglang-batched-prefill-gap": _sc(engine="sglang", concurrency=256, input_tokens=2000, output_tokens=100,
                                      chunk_tokens=4096),
    "sglang-prompt-over-budget": _sc(engine="sglang", concurrency=16, input_tokens=20000, output_tokens=300,
                                     chunk_tokens=3000),
    "sglang-dp-attention": _sc(model="deepseek-v3", acc="H200", engine="sglang", tp=1, dp=8, ep=8,
                               dp_attention=True, concurrency=256, input_tokens=3000, output_tokens=500),
    "sglang-dp-attention-lockstep": _sc(model="deepseek-v3", acc="H200", engine="sglang", tp=1, dp=8, ep=8,
                                        dp_attention=True, concurrency=256, input_tokens=3000, output_tokens=500,
                                        num_prompts=1000, lockstep=True),
    "trt-dp-attention-lockstep": _sc(model="deepseek-v3", acc="B200", engine="trt-llm", tp=1, dp=8, ep=8,
                                     dp_attention=True, weight_precision="fp4", concurrency=512, chunk_tokens=2048,
                                     input_tokens=1024, output_tokens=1024, num_prompts=2048, lockstep=True),
}


@pytest.mark.parametrize("name", [n for n in _CASES if n != "request-rate"])
def test_kernel_matches_independent_reference(name):
    k = serving.serve(_CASES[name])
    r = serving.serve(_CASES[name], reference=True)
    for f in ("output_tokens_per_s", "total_tokens_per_s", "ttft_s", "tpot_s", "e2e_latency_s",
              "memory_per_gpu_bytes", "max_concurrency", "prefill_time_fraction", "cycle_s",
              "running_requests"):
        assert getattr(k, f) == pytest.approx(getattr(r, f), rel=1e-9, abs=1e-12), f
    assert (k.fits, k.kv_limited) == (r.fits, r.kv_limited)
    np.testing.assert_allclose(k.breakdown["seconds"].to_numpy(), r.breakdown["seconds"].to_numpy(),
                               rtol=1e-9, atol=1e-15)


@pytest.mark.parametrize("name", ["lockstep-mixed", "lockstep-atom-separate-prefill"])
def test_lockstep_wave_keeps_littles_law(name):
    """Under lock-step waves every request finishes with its wave: TPOT is (e2e − TTFT)/(O − 1)
    of the wave, so C = requests/s × e2e (the prompt work queued in TTFT is not counted again in
    TPOT); without lockstep the same run spreads the other prompts over the tokens."""
    sc = il.Scenario.from_dict(_CASES[name])
    r = serving.serve(sc)
    n_out = sc.serving.output_tokens
    assert not r.kv_limited
    assert r.output_tokens_per_s / n_out * r.e2e_latency_s == pytest.approx(sc.serving.concurrency, rel=1e-9)
    free = serving.serve(il.Scenario.from_dict({**_CASES[name], "serving": {**_CASES[name]["serving"],
                                                                          "lockstep": False}}))
    assert r.tpot_s < free.tpot_s and r.ttft_s > free.ttft_s
    assert r.output_tokens_per_s == pytest.approx(free.output_tokens_per_s, rel=1e-12)


def test_lockstep_with_one_output_token_runs_and_matches_reference():
    """With one output token the harness's (e2e − TTFT)/(O − 1) has no later token: the
    lock-step correction is skipped (no division by zero), kernel = reference. The result has
    no TPOT (None, il.serving.tpot_defined); the kernel's internal per-token time, which the
    e2e latency multiplies by O − 1 = 0, still agrees with the reference's."""
    from infra_lab._kernels import serving as K

    d = {**_CASES["lockstep-mixed"], "serving": {**_CASES["lockstep-mixed"]["serving"], "output_tokens": 1}}
    sc = il.Scenario.from_dict(d)
    k = serving.serve(sc)
    r = serving.serve(sc, reference=True)
    for f in ("output_tokens_per_s", "ttft_s", "e2e_latency_s", "cycle_s"):
        assert np.isfinite(getattr(k, f)), f
        assert getattr(k, f) == pytest.approx(getattr(r, f), rel=1e-9, abs=1e-12), f
    assert k.tpot_s is None and r.tpot_s is None and k.tokens_per_s_per_user is None
    p = il.stacks.params(sc.stack)
    inp = serving.serving_inputs(sc.model_spec, sc.hardware, p, [sc.serving.tp], [sc.serving.tp], [sc.serving.ep],
                                 stack=sc.stack)
    raw_k = serving._run(serving._cfg_row(sc.serving)[None, :], inp)[0][K.O_TPOT]
    raw_r = serving._reference_one(sc, p, float(sc.serving.concurrency), serving._media(sc))[K.O_TPOT]
    assert np.isfinite(raw_k) and raw_k == pytest.approx(raw_r, rel=1e-9, abs=1e-12)


def test_request_rate_solves_littles_law_and_matches_reference():
    sc = il.Scenario.from_dict(_CASES["request-rate"])
    k = serving.serve(sc)
    c = k.running_requests
    assert c < sc.serving.concurrency and not k.kv_limited
    # open loop: requests in flight = arrival rate × latency. The latency has steps (tile
    # quantization of the step's token count, whole chunks), so the solution brackets the
    # root: just below it the rate × latency exceeds the requests in flight, just above not.
    p = il.stacks.params(sc.stack)
    inp = serving.serving_inputs(sc.model_spec, sc.hardware, p, [sc.serving.tp], [sc.serving.tp], stack=sc.stack)
    from infra_lab._kernels import serving as K

    def little_gap(conc):
        o = serving._run(serving._cfg_row(sc.serving, conc)[None, :], inp)[0]
        return 2.0 * o[K.O_E2E] - conc

    assert little_gap(c * (1 - 1e-6)) > 0 > little_gap(c * (1 + 1e-6))
    assert k.running_requests == pytest.approx(2.0 * k.e2e_latency_s, rel=0.05)
    ref = serving._reference_one(sc, p, c)
    assert ref[K.O_OUT_TPS] == pytest.approx(k.output_tokens_per_s, rel=1e-9)
    assert ref[K.O_TTFT] == pytest.approx(k.ttft_s, rel=1e-9)
    # a rate beyond capacity saturates at the cap
    hot = serving.serve(sc.replace(serving={"request_rate_rps": 1e6}))
    assert hot.running_requests == sc.serving.concurrency


@pytest.mark.parametrize("name", list(_CASES))
def test_serve_result_is_consistent(name):
    r = serving.serve(_CASES[name])
    sv = r.scenario.serving
    assert r.fits
    for f in ("output_tokens_per_s", "ttft_s", "tpot_s", "e2e_latency_s", "cycle_s"):
        v = getattr(r, f)
        assert math.isfinite(v) and v > 0, f
    assert r.prompt_tokens == sv.input_tokens + serving._media(r.scenario)[1]
    assert r.total_tokens_per_s == pytest.approx(r.output_tokens_per_s * (r.prompt_tokens + sv.output_tokens)
                                                 / sv.output_tokens)
    assert r.output_tokens_per_s_per_gpu == pytest.approx(r.output_tokens_per_s / sv.gpus)
    assert r.tokens_per_s_per_user == pytest.approx(1.0 / r.tpot_s)
    assert r.e2e_latency_s == pytest.approx(r.ttft_s + (sv.output_tokens - 1) * r.tpot_s)
    assert float(r.breakdown["seconds"].sum()) == pytest.approx(r.cycle_s)
    assert 0.0 < r.prefill_time_fraction < 1.0
    assert r.memory_per_gpu_bytes <= r.scenario.hardware.accelerator_spec.memory_capacity_bytes * (1 + 1e-12)
    if sv.batching == "continuous" and sv.request_rate_rps is None:
        # closed loop: Little's law, requests in flight = throughput in requests × latency
        assert sv.concurrency == pytest.approx(r.output_tokens_per_s / sv.output_tokens * r.e2e_latency_s,
                                               rel=0.02 if sv.num_prompts else 1e-9)


def test_attention_precision_prices_the_checkpoints_attention_weights():
    """A checkpoint that keeps its attention projections in BF16 (NVIDIA's NVFP4 DeepSeek-R1,
    data/serving/checkpoints.csv) holds and reads those weights at 2 bytes and runs their
    GEMMs at BF16 FLOP/s; nothing else changes."""
    base = _CASES["dsr1-fp4-bf16-attention-mtp-tp8"]
    fp4 = {**base, "serving": {k: v for k, v in base["serving"].items() if k != "attention_precision"}}
    a, b = serving.serve(base), serving.serve(fp4)
    spec = il.models.get("deepseek-v3")
    att_main, att_mtp = serving._attention_params(spec)
    # every attention GEMM of the 61 layers (q/kv down and up, out) and of the MTP module
    assert att_main == pytest.approx(61 * (7168 * 1536 + 1536 * 24576 + 7168 * 576 + 512 * 32768 + 16384 * 7168))
    assert att_mtp == pytest.approx(att_main / 61)
    extra = (att_main + att_mtp) / 8 * (2.0 - il.memory.format_bytes("nvfp4"))
    assert a.weights_per_gpu_bytes - b.weights_per_gpu_bytes == pytest.approx(extra, rel=1e-12)
    # the GEMMs' own time (without the fixed time per kernel, the same in both)
    nofix = {"kernel_fixed_scale": 0.0}
    a0, b0 = serving.serve(base, stack_params=nofix), serving.serve(fp4, stack_params=nofix)
    comp = {r["component"]: r["seconds"] for r in a0.breakdown.iter_rows(named=True)}
    comp_b = {r["component"]: r["seconds"] for r in b0.breakdown.iter_rows(named=True)}
    assert comp["attention_gemm"] > 2.0 * comp_b["attention_gemm"]
    # the routed experts' rows follow the decoding share of the fixed point, which moves the
    # per-decoding-row terms (attention_decode) by ~0.1 %: no more than that
    share = abs(comp["attention_decode"] / comp_b["attention_decode"] - 1.0)
    assert share < 2e-3
    assert abs(comp["expert_gemm"] / comp_b["expert_gemm"] - 1.0) <= share
    # the validation reads it from the checkpoint table, for the rows of those checkpoints only
    ck = serving.checkpoints().filter(pl.col("attention_precision").is_not_null())
    assert set(ck["model_hf"]) == {"nvidia/DeepSeek-R1-FP4", "nvidia/DeepSeek-R1-0528-FP4"}
    assert ck["source_url"].str.contains("huggingface.co/nvidia/DeepSeek-R1").all()
    for r in serving.benchmarks().iter_rows(named=True):
        sc, _o, why = serving._row_scenario(r)
        if sc is not None:
            want = "bf16" if r["model_hf"] in set(ck["model_hf"]) else None
            assert sc.serving.attention_precision == want, r["id"]


def test_trtllm_rows_take_the_kv_cache_precision_their_checkpoint_declares():
    """TensorRT-LLM's kv_cache_config dtype defaults to "auto", the checkpoint's declared KV-cache
    quantization (data/serving/checkpoints.csv kv_cache_precision: NVIDIA's NVFP4 Llama 3.3 70B
    declares FP8); a TensorRT-LLM row that publishes no KV dtype runs with it, in the cycle and in
    trtllm-bench's engine sizing (1 byte per KV element, tuning.py). A published KV dtype wins;
    the FP8 checkpoint (no KV quantization declared) and other engines keep BF16."""
    from infra_lab.serving import published as pub

    ck = serving.checkpoints()
    declared = dict(zip(ck.filter(pl.col("kv_cache_precision").is_not_null())["model_hf"],
                        ck.filter(pl.col("kv_cache_precision").is_not_null())["kv_cache_precision"], strict=True))
    assert declared == {"nvidia/Llama-3.3-70B-Instruct-FP4": "fp8", "nvidia/Llama-3.1-8B-Instruct-FP8": "fp8"}
    seen = {"fp8": 0, "bf16": 0}
    for r in serving.benchmarks().iter_rows(named=True):
        sc, over, why = serving._row_scenario(r)
        if sc is None:
            continue
        published = r["kv_precision"]
        if published is not None:
            want = "fp8" if published == "fp8" else "bf16"
        elif r["engine"] == "trt-llm" and r["model_hf"] in declared:
            want = declared[r["model_hf"]]
        else:
            want = "bf16"
        assert sc.serving.kv_precision == want, r["id"]
        assert pub.row_kv_precision(r) == want, r["id"]
        if r["engine"] == "trt-llm" and published is None and r["model_hf"] in (
                "nvidia/Llama-3.3-70B-Instruct-FP4", "nvidia/Llama-3.3-70B-Instruct-FP8"):
            seen[want] += 1
            if "trtllm-bench" in (r["engine_args"] or "") and not r["engine_max_batch"]:
                # the engine sizing counted the same KV bytes the cycle reads
                spec = il.models.get(r["model"])
                bs, _tok = pub.trtllm_bench_settings(
                    spec, r["accelerator"], int(r["tp"]), int(r["pp"] or 1), float(r["input_tokens"]),
                    float(r["output_tokens"]), il.catalog.format_bytes(r["weight_precision"], scales=False),
                    il.catalog.format_bytes(want, scales=False), pub._trtllm_bench_kv_fraction(r))
                assert over["max_num_seqs"] == bs, r["id"]
    # both checkpoints of the performance overview are exercised: NVFP4 with FP8 KV, FP8 with BF16 KV
    assert seen["fp8"] >= 16 and seen["bf16"] >= 4
    # a FP8 cache holds twice the requests: trtllm-bench's batch at 128/4096 on one GB200 grows
    spec = il.models.get("llama3.3-70b")
    b16, _ = pub.trtllm_bench_settings(spec, "GB200", 1, 1, 128, 4096, 0.5, 2.0, 0.95)
    b8, _ = pub.trtllm_bench_settings(spec, "GB200", 1, 1, 128, 4096, 0.5, 1.0, 0.95)
    assert b8 >= 2 * b16 - 64


def test_llama31_8b_fp8_rows_exceed_what_a_16_bit_kv_cache_allows_on_h100():
    """Why nvidia/Llama-3.1-8B-Instruct-FP8 carries an FP8 KV cache in data/serving/checkpoints.csv
    (derived, not read from the checkpoint): with EOS disabled (trtllm-bench) every decoding request
    reads its whole cache each step, so the time per output token is at least the KV read at peak
    HBM bandwidth plus, kernels running in series, the GEMM FLOPs of its prompt and decode tokens at
    the FP8 dense peak (embedding and LM head left out: a lower bound). The performance overview's
    H100 1000/1000 figure is above that bound with a 16-bit cache and below it with an 8-bit one;
    the validation reads the cache as FP8 for both 1000/1000 rows."""
    rows = [r for r in serving.benchmarks().iter_rows(named=True)
            if r["model_hf"] == "nvidia/Llama-3.1-8B-Instruct-FP8"]
    assert {r["accelerator"] for r in rows} == {"H100-SXM", "H200-SXM"}

    def bound(r, kv):
        spec = il.models.get(r["model"])
        acc = il.catalog.accelerator(r["accelerator"])
        i, o = float(r["input_tokens"]), float(r["output_tokens"])
        t_kv = (i + (o - 1) / 2) * il.memory.kv_bytes_per_token(spec, kv) / acc.hbm_bw_Bps
        t_gemm = (i + o - 1) / o * 2 * (spec.params_total - spec.params_embedding) / acc.peak_flops["fp8"]
        return 1.0 / (t_kv + t_gemm)      # output tokens/s, one GPU (tp 1)

    for r in rows:
        assert int(r["tp"]) == 1 and r["kv_precision"] is None
        assert r["output_tokens_per_s_per_gpu"] <= bound(r, "fp8"), r["id"]
        assert serving.published.row_kv_precision(r) == "fp8", r["id"]
    h100 = next(r for r in rows if r["accelerator"] == "H100-SXM")
    assert h100["output_tokens_per_s_per_gpu"] > bound(h100, "bf16")


def test_lm_head_is_bf16_in_quantized_checkpoints():
    """Quantized checkpoints keep the embedding and the LM head in BF16 (DeepSeek-V3 report
    §3.3.1; ModelOpt's default quantizer config disables *lm_head*): the head's time and the
    embedding/head weights do not change with the weight precision, the rest does."""
    spec = il.models.get("llama3.3-70b")
    bd = {r["component"]: r["params_total"] for r in spec.param_breakdown().iter_rows(named=True)}
    emb_head = bd["embeddings"] + bd["position_embeddings"] + bd["lm_head"]
    res = {wp: serving.serve(_sc(acc="B200", engine="trt-llm", tp=4, gpus=4, weight_precision=wp, concurrency=8))
           for wp in ("bf16", "fp8", "fp4")}
    # seconds per cycle (the rows' activations differ a little with the fixed point: 1e-3)
    head = {wp: {x["component"]: x["seconds"] for x in r.breakdown.iter_rows(named=True)}["lm_head"]
            for wp, r in res.items()}
    assert head["fp8"] == pytest.approx(head["bf16"], rel=1e-3)
    assert head["fp4"] == pytest.approx(head["bf16"], rel=1e-3)
    # weights: everything but embedding + head scales with the format; those stay at 2 bytes
    rest = spec.params_total - emb_head
    w8, w16 = res["fp8"].weights_per_gpu_bytes, res["bf16"].weights_per_gpu_bytes
    assert w16 - w8 == pytest.approx(rest / 4 * (2.0 - 1.0), rel=1e-9)
    assert w8 == pytest.approx(rest / 4 * 1.0 + emb_head / 4 * 2.0, rel=1e-9)


def test_mtp_precision_prices_the_draft_modules_apart():
    """A checkpoint whose MTP layers keep their own precision (blog 1's DeepSeek-R1 NVFP4
    recipe: MTP in BF16, data/serving/checkpoints.csv) holds and reads the MTP module's weights
    (projection, attention, shared and routed experts) at that precision; the main layers and
    their times do not change."""
    base = _CASES["dsr1-fp4-bf16-mtp-tp8"]
    main = {**base, "serving": {k: v for k, v in base["serving"].items() if k != "mtp_precision"}}
    a, b = serving.serve(base), serving.serve(main)
    spec = il.models.get("deepseek-v3")
    _att_main, att_mtp = serving._attention_params(spec)
    mtp_exp = serving._mtp_expert_params(spec)
    assert mtp_exp == pytest.approx(256 * 3 * 7168 * 2048)
    fp4 = il.memory.format_bytes("nvfp4")
    # attention was BF16 already; the projection + router + shared experts, and the experts, go to 2 bytes
    extra = (spec.params_mtp - mtp_exp - att_mtp) / 8 * (2.0 - fp4) + mtp_exp / (2 * 4) * (2.0 - fp4)
    assert a.weights_per_gpu_bytes - b.weights_per_gpu_bytes == pytest.approx(extra, rel=1e-9)
    comp = {r["component"]: r["seconds"] for r in a.breakdown.iter_rows(named=True)}
    comp_b = {r["component"]: r["seconds"] for r in b.breakdown.iter_rows(named=True)}
    assert comp["mtp_draft"] > 1.2 * comp_b["mtp_draft"]
    for c in ("attention_gemm", "expert_gemm", "mlp_gemm", "lm_head", "tp_comm"):
        assert comp[c] == pytest.approx(comp_b[c], rel=1e-3), c
    # the validation sets it from the checkpoint table, for MTP rows of that checkpoint only
    ck = serving.checkpoints().filter(pl.col("mtp_precision").is_not_null())
    assert ck["model_hf"].to_list() == ["nvidia/DeepSeek-R1-FP4"]
    seen = 0
    for r in serving.benchmarks().iter_rows(named=True):
        sc, _o, why = serving._row_scenario(r)
        if sc is not None:
            mtp_row = r["model_hf"] == "nvidia/DeepSeek-R1-FP4" and r["spec_decoding"] == "mtp"
            seen += mtp_row
            assert sc.serving.mtp_precision == ("bf16" if mtp_row else None), r["id"]
    assert seen >= 1


def test_every_kernel_pays_the_compute_models_fixed_time_on_cuda_stacks():
    """Each GEMM, attention and LM-head kernel of a step pays compute.kernel_fixed_s (the one
    owner of the per-kernel GPU time) × the stack's kernel_fixed_scale: 1 on the CUDA stacks,
    0 on the ROCm ones (AMD's figure is from non-graph timings). At batch 1 (no prompt chunk
    in the decode cycle) the components grow by exactly kernels × the fixed time."""
    base = _sc(acc="H100-SXM", engine="trt-llm", tp=8, weight_precision="fp8", concurrency=1,
               input_tokens=1024, output_tokens=1024)
    on, off = serving.serve(base), serving.serve(base, stack_params={"kernel_fixed_scale": 0.0})
    kfix = il.compute.kernel_fixed_s("H100-SXM")
    assert 1e-6 < kfix < 1e-5
    spec = il.models.get("llama3.3-70b")
    n_attn = sum(1 for kind, _n, *_x, comp in serving._records(spec, 8) if kind == "dense" and comp == "attn_gemm")
    n_mlp = sum(1 for kind, _n, *_x, comp in serving._records(spec, 8) if kind == "dense" and comp == "mlp_gemm")
    assert n_attn >= 2 and n_mlp >= 2

    def comp(r):
        return {x["component"]: x["seconds"] for x in r.breakdown.iter_rows(named=True)}

    a, b = comp(on), comp(off)
    # (the GEMM rows move by ~1e-6 with the decoding share of the fixed point)
    assert a["attention_decode"] - b["attention_decode"] == pytest.approx(80 * kfix, rel=1e-3)
    assert a["attention_gemm"] - b["attention_gemm"] == pytest.approx(80 * n_attn * kfix, rel=1e-3)
    assert a["mlp_gemm"] - b["mlp_gemm"] == pytest.approx(80 * n_mlp * kfix, rel=1e-3)
    assert a["lm_head"] - b["lm_head"] == pytest.approx(kfix, rel=1e-3)
    t = il.stacks.table().filter(pl.col("parameter") == "kernel_fixed_scale")
    assert t.height == 12
    for st, v in zip(t["stack"], t["value"], strict=True):
        assert float(v) == (1.0 if "-cuda" in st else 0.0), st


def test_mtp_draft_layer_carries_its_tensor_parallel_all_reduces():
    """Each MTP draft pass runs a tensor-parallel decoder layer, so it pays the layer's two
    all-reduces (the engine's own kernel where its rule takes the message, else the library
    collective: infra_lab._kernels.collectives.engine_allreduce) on the draft tokens, like the
    main layers; with the communication scaled away they are gone."""
    base = _CASES["dsr1-fp4-bf16-attention-mtp-tp8"]
    sc = il.Scenario.from_dict(base)
    on = serving.serve(base)
    off = serving.serve(base, stack_params={"comm_time_scale": 0.0})

    def mtp_per_cycle(r):
        return {x["component"]: x["seconds"] for x in r.breakdown.iter_rows(named=True)}["mtp_draft"]

    from infra_lab import collectives as C
    from infra_lab._kernels import collectives as KC

    P = C.collective_time_params(sc.hardware).array
    ar, algo = KC.engine_allreduce(serving.engine_allreduce_rule(sc.stack), 1 * 7168 * 2.0, 8, 8, P)
    assert ar > 1e-6 and algo == KC.ALG_ONESHOT   # 14 KiB: the engine's one-shot kernel
    # (the draft GEMMs, routed experts included, move with the decoding share of the fixed
    # point: ~3e-8 s a cycle here, under 1e-3 of the all-reduces)
    assert mtp_per_cycle(on) - mtp_per_cycle(off) == pytest.approx(3 * 2 * ar, rel=1e-3)


def test_dp_attention_steps_wait_for_the_busiest_rank():
    """With DP attention every MoE layer is a collective, so a step lasts as long as its
    busiest rank (TensorRT-LLM blog 10: time_i = max over ranks): the share of steps that
    carry a prompt chunk on the critical path is 1 − (1 − f)^dp, so at the same load per rank
    more ranks put more prefill work on every token's cycle."""
    def sc(dp):
        return _sc(model="deepseek-v3", acc="B200", engine="trt-llm", gpus=dp, tp=1, dp=dp, ep=dp,
                   dp_attention=True, weight_precision="fp4", kv_precision="fp8", concurrency=256 * dp,
                   chunk_tokens=2048, input_tokens=1024, output_tokens=2048)

    def per_cycle(r, comp):
        return {x["component"]: x["seconds"] for x in r.breakdown.iter_rows(named=True)}[comp]

    r2, r8 = serving.serve(sc(2)), serving.serve(sc(8))
    # prompt work per rank is the same (same requests per rank, same lengths) ...
    assert r8.running_requests / 8 == r2.running_requests / 2
    # ... but the busiest of 8 ranks carries a chunk in more steps than the busiest of 2
    f2, f8 = (per_cycle(r, "attention_prefill") for r in (r2, r8))
    assert f8 > 1.3 * f2
    for name in ("dsr1-fp4-bf16-attention-adp", "moe-dp-attention-2nodes"):
        k, ref = serving.serve(_CASES[name]), serving.serve(_CASES[name], reference=True)
        assert k.cycle_s == pytest.approx(ref.cycle_s, rel=1e-9)


def _tokens_per_cycle(r, verified=1.0):
    """Prompt + decode tokens one DP rank's engine step carries on average, from the result:
    requests/s per rank (Little) × (prompt tokens per cycle + decoding requests × V)."""
    sv = r.scenario.serving
    rate = r.output_tokens_per_s / (sv.dp * sv.output_tokens)
    return rate * r.prompt_tokens * r.cycle_s + rate * (sv.output_tokens - 1) * r.tpot_s * verified


def test_prompts_beyond_the_token_budget_queue_instead_of_overfilling_the_step():
    """vLLM V1's scheduler and TensorRT-LLM's never put more than max_num_batched_tokens
    (chunk_tokens) into a step: when the prompts outrun it they queue, so TTFT grows as the
    budget shrinks and the step never carries more than the budget (the old model carried
    every queued prompt token at once: 0.40 s TTFT at chunk_tokens = 1 on the Maia scenario)."""
    base = il.load_scenario("maia-class-serving-mi300x")
    ttfts = []
    for chunk in (1, 64, 512, 1024, 8192):
        r = il.serve(base.replace(serving={"chunk_tokens": chunk}))
        assert _tokens_per_cycle(r) <= chunk * (1.0 + 1e-6), chunk
        ttfts.append(r.ttft_s)
    assert all(a > b for a, b in zip(ttfts, ttfts[1:], strict=False)), ttfts
    # one token per step: each of a rank's 32 requests waits for the others' ~15k prompt tokens
    assert ttfts[0] > 100.0


def test_full_budget_kernel_matches_reference_over_a_random_range():
    """Kernel and reference agree where the step budget is full (and around it): random
    prompt/output lengths, budgets and loads, with MTP and DP attention among them."""
    rng = np.random.default_rng(18)
    full = 0
    for k in range(14):
        sv = {"engine": str(rng.choice(["vllm", "trt-llm"])), "chunk_tokens": int(rng.choice([16, 128, 512, 2048])),
              "input_tokens": int(rng.integers(256, 6600)), "output_tokens": int(rng.integers(2, 1500)),
              "concurrency": int(rng.integers(8, 512))}
        if k % 4 == 1:
            d = _sc(model="deepseek-v3", acc="B200", tp=8, ep=8, weight_precision="fp4", spec_decoding="mtp",
                    mtp_draft_tokens=2, **sv)
            verified = 3.0
        elif k % 4 == 3:
            d = _sc(model="deepseek-v3", acc="B200", tp=1, dp=8, ep=8, dp_attention=True, weight_precision="fp4",
                    **{**sv, "concurrency": 8 * sv["concurrency"]})
            verified = 1.0
        else:
            d = _sc(model="llama3-8b", acc="H100", gpus=1, tp=1, **sv)
            verified = 1.0
        kr, rr = serving.serve(d), serving.serve(d, reference=True)
        for f in ("output_tokens_per_s", "ttft_s", "tpot_s", "cycle_s", "prefill_time_fraction"):
            assert getattr(kr, f) == pytest.approx(getattr(rr, f), rel=1e-9), (k, f)
        np.testing.assert_allclose(kr.breakdown["seconds"].to_numpy(), rr.breakdown["seconds"].to_numpy(),
                                   rtol=1e-9, atol=1e-15)
        tok = _tokens_per_cycle(kr, verified)
        assert tok <= sv["chunk_tokens"] * (1.0 + 1e-6), k
        full += tok >= sv["chunk_tokens"] * (1.0 - 1e-6)
    assert full >= 5  # the range exercises the full-budget branch


# ---------------------------------------------------------------- serve_search and cost
_SMALL = _sc(model="llama3-8b", acc="H100", gpus=2, tp=2, concurrency=8, input_tokens=512, output_tokens=256)


def test_search_kernel_matches_reference_on_every_row():
    kw = {"concurrencies": [1, 16, 200], "top": None, "pareto": False}
    k = il.serve_search(_SMALL, **kw)
    r = il.serve_search(_SMALL, reference=True, **kw)
    assert k.height == r.height == 3 * 2 * 2 * 3  # (tp, pp, dp) splits × w × kv × concurrency
    keys = ["tp", "pp", "dp", "ep", "weight_precision", "kv_precision", "concurrency"]
    k, r = k.sort(keys), r.sort(keys)
    for col in ("output_tokens_per_s", "ttft_s", "tpot_s", "memory_per_gpu_bytes", "max_concurrency"):
        np.testing.assert_allclose(k[col].to_numpy(), r[col].to_numpy(), rtol=1e-9)
    assert (k["fits"] == r["fits"]).all()



_SPLIT = ["tp", "pp", "dp", "ep", "dp_attention", "weight_precision", "kv_precision"]


def test_search_default_grid_reaches_each_splits_max_concurrency():
    """The default grid runs each split up to its max_concurrency (KV cache and the engine's
    max_num_seqs over all DP ranks): the Maia-class scenario's best row was cut at 1,024 of the
    4,400 requests that run; and where a split's step budget fills, the concurrency at which it
    fills. Rows of the old grid keep their numbers (only the pick moves)."""
    from infra_lab.errors import SearchEdgeWarning
    from infra_lab.serving.search import DEFAULT_CONCURRENCIES

    sc = il.load_scenario("maia-class-serving-mi300x")
    with warnings.catch_warnings():
        warnings.simplefilter("error", SearchEdgeWarning)
        every = il.serve_search(sc, top=None, pareto=False)
        best = il.serve_search(sc, top=1)
    fits = every.filter(pl.col("fits"))
    reach = fits.group_by(_SPLIT).agg(pl.col("concurrency").max().alias("top"), pl.col("max_concurrency").first())
    assert (reach["top"] >= reach["max_concurrency"].clip(upper_bound=2**27)).all()
    assert (reach["max_concurrency"] > 1024).any() and not fits["grid_edge"].any()
    # between 1,024 and max_concurrency: the powers of two, then max_concurrency itself
    one = fits.filter(pl.col("max_concurrency") == fits["max_concurrency"].max())
    one = one.filter(pl.struct(_SPLIT) == one.select(pl.struct(_SPLIT)).row(0)[0])
    m = int(one["max_concurrency"][0])
    grid = set(DEFAULT_CONCURRENCIES) | {sc.serving.concurrency} | {2**k for k in range(11, 64) if 2**k < m} | {m}
    # and where the step budget fills inside the grid, the concurrency at which it fills
    # (search._knee_extension, from the first saturated row of the grid): the plateau's throughput
    # with almost none of the wait for the budget that the larger concurrencies add to TTFT
    extra = set(one["concurrency"].to_list()) - grid
    assert grid <= set(one["concurrency"].to_list()) and len(extra) == 1
    knee = extra.pop()
    first = one.filter((pl.col("prefill_queue_s") > 0) & (pl.col("concurrency") > knee)).sort("concurrency").row(
        0, named=True)
    assert knee == math.ceil(first["concurrency"] * (1 - first["prefill_queue_s"] / first["e2e_latency_s"]) - 1e-9)
    at = one.filter(pl.col("concurrency") == knee).row(0, named=True)
    assert at["output_tokens_per_s"] == pytest.approx(first["output_tokens_per_s"], rel=1e-9)
    assert at["prefill_queue_s"] < 0.01 * first["prefill_queue_s"]
    old_grid = sorted(set(DEFAULT_CONCURRENCIES) | {sc.serving.concurrency})
    with pytest.warns(SearchEdgeWarning, match="1,024 requests in flight.*4,400 would run"):
        old = il.serve_search(sc, top=None, pareto=False, concurrencies=old_grid)
    keys = _SPLIT + ["concurrency"]
    same = every.join(old, on=keys, suffix="_old")
    assert same.height == old.height
    for col in ("output_tokens_per_s", "ttft_s", "tpot_s", "memory_per_gpu_bytes", "max_concurrency"):
        np.testing.assert_array_equal(same[col].to_numpy(), same[col + "_old"].to_numpy())
    assert old.sort("output_tokens_per_s", descending=True)["concurrency"][0] == 1024
    assert best["concurrency"][0] > 1024 and not best["grid_edge"][0]
    assert best["output_tokens_per_s"][0] > old["output_tokens_per_s"].max()
    # the figures docs/serving.md states for this change are these
    import re
    from pathlib import Path

    doc = (Path(__file__).resolve().parent.parent / "docs" / "serving.md").read_text(encoding="utf-8")
    m = re.search(r"Maia-class scenario, 8 MI300X: ([\d,]+) output tokens/s\s+at ([\d,]+) before, ([\d,]+) at "
                  r"([\d,]+) now", doc)
    assert m, "docs/serving.md: the Maia-class before/now sentence moved"
    before_tps, before_c, now_tps, now_c = (int(g.replace(",", "")) for g in m.groups())
    was = old.filter(pl.col("fits")).sort("output_tokens_per_s", descending=True).row(0, named=True)
    assert (round(was["output_tokens_per_s"]), was["concurrency"]) == (before_tps, before_c)
    assert (round(best["output_tokens_per_s"][0]), best["concurrency"][0]) == (now_tps, now_c)


def test_search_grid_extension_figures_docs_state_for_a_100000_h100_fleet():
    """docs/serving.md's second before/now example: 100,000 H100 serving Llama 3.3 70B at 1,024
    tokens in and out, best output tokens/s on the old grid (cut at 1,024 requests) and now."""
    import re
    from pathlib import Path

    from infra_lab.errors import SearchEdgeWarning
    from infra_lab.serving.search import DEFAULT_CONCURRENCIES

    doc = (Path(__file__).resolve().parent.parent / "docs" / "serving.md").read_text(encoding="utf-8")
    m = re.search(r"100,000 H100 serving Llama 3\.3 70B at 1,024 tokens in and\s+out: ([\d,]+) tokens/s, .*?before; "
                  r"([\d.]+)·10⁸ at ([\d,]+) requests,\s+tp (\d+) pp (\d+) dp ([\d,]+), now", doc, re.S)
    assert m, "docs/serving.md: the 100,000-H100 before/now sentence moved"
    num = lambda s: int(s.replace(",", ""))  # noqa: E731
    sc = il.Scenario.from_dict({
        "name": "h100-fleet", "model": {"preset": "llama3.3-70b"},
        "hardware": {"accelerator": "H100-SXM", "nodes": 12_500, "nic": il.catalog.default_nic("H100-SXM")},
        "serving": {"tp": 8, "dp": 12_500, "input_tokens": 1024, "output_tokens": 1024}})
    now = il.serve_search(sc, top=1).row(0, named=True)
    assert f"{now['output_tokens_per_s'] / 1e8:.2f}" == m.group(2)
    assert (now["concurrency"], now["tp"], now["pp"], now["dp"]) == tuple(num(g) for g in m.groups()[2:])
    with pytest.warns(SearchEdgeWarning):
        was = il.serve_search(sc, top=1, concurrencies=sorted(set(DEFAULT_CONCURRENCIES) | {sc.serving.concurrency}))
    assert round(was["output_tokens_per_s"][0]) == num(m.group(1))
    assert was["concurrency"][0] < was["dp"][0]          # "under one request per replica"


def test_search_grid_extension_equals_the_reference():
    """The rows the default grid adds above 1,024 (a second kernel call sharing the first's memo)
    equal the plain-Python reference."""
    kw = {"top": None, "pareto": False, "weight_precisions": ["fp8"], "kv_precisions": ["fp8"]}
    k = il.serve_search(_SMALL, **kw)
    assert (k["concurrency"] > 1024).any()
    r = il.serve_search(_SMALL, reference=True, **kw)
    keys = ["tp", "pp", "dp", "ep", "concurrency"]
    k, r = k.sort(keys), r.sort(keys)
    assert k.select(keys).equals(r.select(keys))
    for col in ("output_tokens_per_s", "ttft_s", "tpot_s", "memory_per_gpu_bytes"):
        np.testing.assert_allclose(k[col].to_numpy(), r[col].to_numpy(), rtol=1e-9)
    assert (k["grid_edge"] == r["grid_edge"]).all() and not k["grid_edge"].any()


def test_search_flags_a_best_row_at_the_edge_of_a_short_grid():
    from infra_lab.errors import SearchEdgeWarning

    with pytest.warns(SearchEdgeWarning, match="runs 16 requests in flight"):
        df = il.serve_search(_SMALL, concurrencies=[1, 16], top=None, pareto=False)
    edge = df.filter(pl.col("grid_edge"))
    assert edge.height and (edge["concurrency"] == 16).all()
    assert (edge["concurrency"] < edge["max_concurrency"]).all() and edge["fits"].all()
    # a split whose max_concurrency the list reaches is not at an edge
    assert not df.filter(pl.col("fits") & (pl.col("max_concurrency") <= 16))["grid_edge"].any()


def test_search_edge_warning_only_where_more_requests_can_help():
    """A best row at the grid's edge is a sign that the grid stopped short only for an objective
    a larger concurrency can improve (throughput, $ per token). Ranked by TTFT or tokens/s per
    user, more requests in flight only do worse: a one-value concurrencies list used to warn
    (review of the grid_edge change). The column still marks the row."""
    from infra_lab.errors import SearchEdgeWarning
    from infra_lab.serving.core import OBJECTIVES
    from infra_lab.serving.search import EDGE_OBJECTIVES

    assert set(EDGE_OBJECTIVES) <= set(OBJECTIVES)
    for obj in ("ttft_s", "tokens_per_s_per_user", "tpot_s", "e2e_latency_s"):
        assert obj not in EDGE_OBJECTIVES
        with warnings.catch_warnings():
            warnings.simplefilter("error", SearchEdgeWarning)
            df = il.serve_search(_SMALL, objective=obj, concurrencies=[16], top=1)
        assert df["grid_edge"][0] and df["concurrency"][0] == 16 < df["max_concurrency"][0]
        # and the physics behind it: more requests in flight never improve this objective
        two = il.serve_search(_SMALL, objective=obj, concurrencies=[16, 32], top=None, pareto=False)
        split = two.filter(pl.struct(_SPLIT) == two.select(pl.struct(_SPLIT)).row(0)[0]).sort("concurrency")
        better_larger = OBJECTIVES[obj]
        a, b = split[obj].to_list()
        assert (b <= a) if better_larger else (b >= a)
    with pytest.warns(SearchEdgeWarning):
        il.serve_search(_SMALL, objective="output_tokens_per_s", concurrencies=[16], top=1)


def test_search_grid_extension_is_bounded():
    from infra_lab.serving.search import DEFAULT_CONCURRENCIES, _grid_extension

    tried = list(DEFAULT_CONCURRENCIES)
    mc, fits = np.array([4400.0, 900.0, 5000.0, 1e18]), np.array([True, True, False, True])
    which, conc = _grid_extension(mc, fits, tried, 2**27, 10**6)
    top = [2**k for k in range(11, 27)] + [2**27]   # no KV limit: up to the concurrency bound
    assert which.tolist() == [0, 0, 0] + [3] * len(top)
    assert conc.tolist() == [2048, 4096, 4400] + top
    which, conc = _grid_extension(mc, fits, tried, 2**27, 5)    # past the budget: max_concurrency alone
    assert which.tolist() == [0, 3] and conc.tolist() == [4400, 2**27]
    assert _grid_extension(mc, fits, tried, 2**27, 1)[0].size == 0

def test_search_kernel_matches_reference_with_pipeline_sends_within_and_across_nodes():
    """Pipeline sends of the same size are within a node for some splits and across nodes
    for others (tp·pp vs the scale-up domain): the kernel's memo must keep them apart."""
    sc = _sc(model="llama3-8b", acc="H100", gpus=16, tp=8, dp=2, concurrency=16, input_tokens=512, output_tokens=128)
    kw = {"concurrencies": [16, 64], "top": None, "pareto": False, "weight_precisions": ["bf16"],
          "kv_precisions": ["bf16"]}
    k = il.serve_search(sc, **kw)
    assert (k["pp"] > 1).any() and ((k["tp"] * k["pp"]) > 8).any() and ((k["tp"] * k["pp"] <= 8) & (k["pp"] > 1)).any()
    r = il.serve_search(sc, reference=True, **kw)
    keys = ["tp", "pp", "dp", "ep", "concurrency"]
    k, r = k.sort(keys), r.sort(keys)
    for col in ("output_tokens_per_s", "ttft_s", "tpot_s"):
        np.testing.assert_allclose(k[col].to_numpy(), r[col].to_numpy(), rtol=1e-9)


def test_search_front_is_pareto_and_respects_limits():
    sc = _sc(model="deepseek-v3", acc="H200", gpus=16, tp=8, dp=2, ep=8, engine="sglang")
    every = il.serve_search(sc, top=None, pareto=False)
    assert every.height > 500
    ok = every.filter(pl.col("fits"))
    front = il.serve_search(sc, top=None)
    assert front.height >= 3 and front["pareto"].all() and front["fits"].all()
    x, y = ok["tokens_per_s_per_user"].to_numpy(), ok["output_tokens_per_s_per_gpu"].to_numpy()
    for row in front.iter_rows(named=True):  # nobody beats a front point on both axes
        dom = (x > row["tokens_per_s_per_user"]) & (y > row["output_tokens_per_s_per_gpu"])
        assert not dom.any()
    best = front.row(0, named=True)
    assert best["output_tokens_per_s"] == pytest.approx(float(ok["output_tokens_per_s"].max()))
    # splits are consistent: GPUs, EP divides its group, DP attention only for MoE with dp > 1
    assert (every["tp"] * every["pp"] * every["dp"] == 16).all()
    grp = every["tp"] * pl.Series(np.where(every["dp_attention"], every["dp"], 1))
    assert (grp % every["ep"] == 0).all()
    lim = il.serve_search(sc, top=5, max_tpot_s=0.03, max_ttft_s=1.0, min_tokens_per_s_per_user=40.0)
    assert lim.height <= 5 and (lim["tpot_s"] <= 0.03).all() and (lim["ttft_s"] <= 1.0).all()
    fast = il.serve_search(sc, objective="tokens_per_s_per_user", top=1)
    assert fast["tokens_per_s_per_user"][0] == pytest.approx(float(ok["tokens_per_s_per_user"].max()))


@pytest.mark.parametrize("model", ["zaya1-base", "qwen3-30b-a3b", "gpt-oss-20b"])
def test_longer_prompts_never_raise_moe_throughput(model):
    """A longer prompt is more work: output tokens/s of a MoE model on one MI300X (vLLM, 400
    output tokens) never rises with the prompt, at every 64 tokens from 1,000 to 12,000 and 2, 4
    or 16 requests. With the experts a forward touches rounded to an integer (and the rows per
    expert rounded up) zaya1-base at 4 requests rose 6.6 % from 6,140 to 6,141 prompt tokens (the
    closed loop had two fixed points); docs/serving-history.md, 'Expected experts'."""
    for c in (2, 4, 16):
        prev = None
        for inp in range(1000, 12001, 64):
            r = il.serve({"model": {"preset": model}, "hardware": {"accelerator": "MI300X", "nodes": 1,
                                                                   "gpus_per_node": 1},
                          "serving": {"engine": "vllm", "output_tokens": 400, "input_tokens": inp,
                                      "concurrency": c}})
            if prev is not None:
                assert r.output_tokens_per_s <= prev * (1 + 1e-9), (model, c, inp)
            prev = r.output_tokens_per_s


def test_costs_read_the_gpu_hour_price_from_economics_by_name():
    """r.costs() and serve_search(price_usd_per_gpu_hour=...) take the price as a number or as
    'owned' / 'rented', read from the economics model for the deployment's accelerator (one
    owner of the price: the same figure as gpu_hour_price, not a retyped one); costs() defaults
    to the owned price; a misspelt basis, None, a bool or a non-positive price are refused."""
    sc = il.Scenario.from_dict(_CASES["dense-fp8-tp8"])
    r = il.serve(sc)
    acc = sc.hardware.accelerator
    owned, rented = serving.gpu_hour_price(acc), serving.gpu_hour_price(acc, "rented")
    assert owned != rented
    assert r.costs() == r.costs("owned") == r.costs(owned) == serving.token_costs(r, owned)
    assert r.costs("Rented") == r.costs(rented)
    assert serving.price_for(acc, 2.5) == 2.5 and serving.price_for(acc, None) is None
    f = il.serve_search(sc, top=3, price_usd_per_gpu_hour="owned", objective="usd_per_million_tokens")
    assert f.equals(il.serve_search(sc, top=3, price_usd_per_gpu_hour=owned, objective="usd_per_million_tokens"))
    with pytest.raises(il.errors.UnknownNameError, match="Did you mean 'owned'"):
        r.costs("ownd")
    for bad in (None, True, 0.0, -1.0, float("nan")):
        with pytest.raises(il.errors.ValidationError, match="price_usd_per_gpu_hour"):
            r.costs(bad)
    with pytest.raises(il.errors.UnknownNameError, match="Did you mean 'rented'"):
        il.serve_search(sc, price_usd_per_gpu_hour="rent")


def test_costs_and_interactivity():
    r = il.serve(_CASES["dense-fp8-tp8"])
    c = r.costs(2.0)
    sv = r.scenario.serving
    usd_per_s = 2.0 * r.gpus / 3600
    in_tps = r.total_tokens_per_s - r.output_tokens_per_s
    # input + output dollars pay for the whole deployment
    assert (c["usd_per_million_input_tokens"] * in_tps + c["usd_per_million_output_tokens"] * r.output_tokens_per_s
            ) / 1e6 == pytest.approx(usd_per_s)
    assert c["usd_per_million_tokens"] == pytest.approx(usd_per_s / r.total_tokens_per_s * 1e6)
    assert c["usd_per_million_output_tokens_all_in"] == pytest.approx(usd_per_s / r.output_tokens_per_s * 1e6)
    assert in_tps == pytest.approx(r.output_tokens_per_s * sv.input_tokens / sv.output_tokens)
    assert serving.token_costs(r, 4.0)["usd_per_million_tokens"] == pytest.approx(2 * c["usd_per_million_tokens"])
    front = il.serve_search(_SMALL, top=None, price_usd_per_gpu_hour=3.0)
    row = serving.cost_at_interactivity(front, 50.0)
    assert row["tokens_per_s_per_user"] >= 50.0
    faster = front.filter(pl.col("tokens_per_s_per_user") >= 50.0)
    assert row["usd_per_million_output_tokens_all_in"] == pytest.approx(
        float(faster["usd_per_million_output_tokens_all_in"].min()))
    with pytest.raises(ValidationError, match="tops out"):
        serving.cost_at_interactivity(front, 1e6)
    # a hand-made frame without the fits column: a named error, not a polars ColumnNotFoundError
    with pytest.raises(ValidationError, match="missing column.*'fits'"):
        serving.cost_at_interactivity(front.drop("fits"), 50.0)
    own = serving.gpu_hour_price("MI300X")
    assert own == il.economics.owned_gpu_hour_price("MI300X")      # notebook 05's like-for-like owned price
    assert serving.gpu_hour_price("H100", "rented", provider="Lambda", term="on-demand") > 0


@pytest.mark.parametrize(
    ("kw", "match"),
    [
        ({"objective": "throughput"}, "objective"),
        ({"top": 0}, "top"),
        ({"top": "3"}, "top"),
        ({"max_tpot_s": -1.0}, "max_tpot_s"),
        ({"max_ttft_s": float("inf")}, "max_ttft_s"),
        ({"concurrencies": "8"}, "concurrencies"),
        ({"concurrencies": [8, 0]}, "concurrencies"),
        ({"weight_precisions": ["fp4"]}, "fp4"),
        ({"weight_precisions": ["int8"]}, "weight_precision"),
        ({"kv_precisions": []}, "kv_precisions"),
        ({"objective": "usd_per_million_tokens"}, "price_usd_per_gpu_hour"),
        ({"price_usd_per_gpu_hour": "2"}, "price_usd_per_gpu_hour"),
        ({"reference": "no"}, "reference"),
        ({"pareto": 1}, "pareto"),
        ({"stack_params": {"step_overhead": 1e-3}}, "step_overhead"),
        ({"stack_params": {"step_overhead_s": "1e-3"}}, "step_overhead_s"),
    ],
)
def test_search_bad_input(kw, match):
    with pytest.raises((ValidationError, UnknownNameError), match=match):
        il.serve_search(_CASES["dense-fp8-tp8"], **kw)


def test_serve_bad_input():
    with pytest.raises(ValidationError, match="training scenario"):
        il.serve(il.load_scenario("zaya1-ibm-mi300x"))
    with pytest.raises(ValidationError, match="training scenario"):
        il.serve("zaya1-ibm-mi300x")          # a shipped name loads that scenario, then says what it is
    with pytest.raises(ValidationError, match="did you mean 'zaya1-ibm-mi300x'"):
        il.serve("zaya1-ibm-mi30x")
    with pytest.raises(ValidationError, match="reference"):
        il.serve(_CASES["dense-fp8-tp8"], reference=1)
    with pytest.raises(ValidationError, match="stack_params"):
        il.serve(_CASES["dense-fp8-tp8"], stack_params=[("a", 1)])
    with pytest.raises(ValidationError, match="price_usd_per_gpu_hour"):
        serving.token_costs(il.serve(_CASES["dense-fp8-tp8"]), -1.0)
    with pytest.raises(UnknownNameError, match="basis"):
        serving.gpu_hour_price("MI300X", "leased")


def test_serving_registered_lazily():
    import subprocess
    import sys

    code = ("import sys, infra_lab as il; assert 'infra_lab.serving' not in sys.modules; "
            "assert callable(il.serve) and callable(il.serve_search); "
            "assert 'infra_lab.serving' in sys.modules; "
            "assert 'numba' not in sys.modules and 'altair' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True)
    assert "serve" in il.__all__ and "serve_search" in il.__all__ and "serving" in il.__all__


# ---------------------------------------------------------------- validation on published benchmarks
@pytest.fixture(scope="module")
def validation_frame():
    return serving.validation()


def test_shipped_serving_scenario_is_the_agents_mean_call():
    """data/scenarios/maia-class-serving-mi300x.toml states the mean Maia call as numbers:
    they must be what il.serving.agent_serving() computes from data/serving/maia_agent.csv."""
    sc = il.load_scenario("maia-class-serving-mi300x")
    assert sc.kind == "serving" and sc.multimodal is not None
    req = serving.agent_request()
    assert (sc.multimodal.vision.name, sc.multimodal.audio.name) == (req["vision_encoder"], req["audio_encoder"])
    for k, v in serving.agent_serving(req).items():
        got = getattr(sc.serving, k)
        assert (list(got) if isinstance(got, tuple) else got) == pytest.approx(v, rel=1e-12), k
    r = serving.serve(sc)
    assert r.fits and not r.kv_limited and r.prompt_tokens == pytest.approx(req["input_tokens"], abs=0.5)


def test_published_comparison_contract_and_cli(validation_frame, monkeypatch, capsys):
    """il.serving.published_comparison(): the long frame `infra-lab validate serving` prints."""
    import json

    from infra_lab import cli

    # published_comparison reads validation from its own submodule, so the patch goes there
    monkeypatch.setattr(serving.published, "validation", lambda stack_params=None: validation_frame)
    df = serving.published_comparison()
    assert df.columns[:8] == ["case", "split", "metric", "unit", "measured", "predicted", "error_pct", "source_url"]
    modelled = validation_frame.filter(pl.col("excluded").is_null())
    for metric in ("output_tokens_per_s_per_gpu", "tpot_s", "ttft_s", "e2e_latency_s"):
        sub = df.filter(pl.col("metric") == metric)
        assert sub.height == modelled[f"{metric}_error_pct"].is_not_null().sum() > 0, metric
    assert set(df["split"]) == {"train", "test"}
    assert (df["source_url"].str.starts_with("http")).all()
    for r in df.sample(20, seed=1).iter_rows(named=True):
        assert r["error_pct"] == pytest.approx(100 * (r["predicted"] / r["measured"] - 1))
    assert cli.main(["validate", "serving", "--format", "json"]) == 0
    obj = json.loads(capsys.readouterr().out)
    assert len(obj["cases"]) == df.height and {c["suite"] for c in obj["cases"]} == {"serving"}
    test_tps = df.filter(pl.col("split") == "test", pl.col("metric") == "output_tokens_per_s_per_gpu")
    row = [s for s in obj["summary"] if s["suite"] == "serving" and s["split"] == "test"][0]
    assert row["cases"] == df.filter(pl.col("split") == "test").height >= test_tps.height


def test_validation_states_errors_per_accelerator_and_precision(validation_frame):
    """il.serving.validation() carries each point's published weight and KV precision, so the
    errors can be stated per split, accelerator and precision (validation_summary(by=(...,
    "weight_precision"))); they had to be joined back from benchmarks() by id."""
    b = serving.benchmarks().select("id", "weight_precision", "kv_precision")
    v = validation_frame.select("id", "weight_precision", "kv_precision")
    assert v.equals(b)
    s = serving.validation_summary(validation_frame, by=("split", "accelerator", "weight_precision"))
    tps = s.filter(pl.col("metric") == "output_tokens_per_s_per_gpu")
    assert {"fp8", "fp4", "mxfp4", "bf16"} <= set(tps["weight_precision"])
    modelled = validation_frame.filter(pl.col("output_tokens_per_s_per_gpu_error_pct").is_not_null())
    assert tps["cases"].sum() == modelled.height
    assert "weight_precision" in serving.published_comparison().columns


def test_benchmark_file_uses_no_reserved_source():
    b = serving.benchmarks()
    text = " ".join(str(v).lower() for col in ("source_key", "source_url", "engine_args", "dataset", "table_or_figure")
                    if col in b.columns for v in b[col].to_list())
    for reserved in ("inferencemax", "inferencex", "mlcommons", "mlperf"):
        assert reserved not in text, reserved
    assert (b["source_url"].str.starts_with("http")).all()


def test_split_is_deterministic_and_keeps_sweeps_together(validation_frame):
    v = validation_frame
    b = serving.benchmarks()
    again = [serving.split_of(r) for r in b.iter_rows(named=True)]
    assert again == v["split"].to_list()
    assert 0.2 < (v["split"] == "test").mean() < 0.5
    # every point of one configuration (a concurrency sweep) is on one side
    key = ["source_key", "model", "accelerator", "engine", "tp", "ep", "dp", "pp", "dp_attention",
           "weight_precision", "isl_nominal", "osl_nominal", "benchmark_mode"]
    sides = b.with_columns(pl.Series("split", again)).group_by(key).agg(pl.col("split").n_unique().alias("n"))
    assert (sides["n"] == 1).all()


def test_every_modelled_row_is_predicted_and_exclusions_are_explained(validation_frame):
    v = validation_frame
    modelled = v.filter(pl.col("excluded").is_null())
    assert modelled.height >= 200
    assert modelled["output_tokens_per_s_per_gpu_predicted"].is_not_null().all()
    assert (modelled["output_tokens_per_s_per_gpu_predicted"] > 0).all()
    ex = v.filter(pl.col("excluded").is_not_null())
    assert ex.height <= 20 and (ex["excluded"].str.len_chars() > 10).all()
    # rows of earlier engine versions use the -early stacks, current ones the engine's stack
    assert set(v.filter(pl.col("stack").str.ends_with("-early"))["source_key"]) >= {"dstack_dsr1_2025", "oci2024"}
    assert set(v.filter(pl.col("source_key") == "atom_ci_mi355x_2026-05-23")["stack"]) == {"atom-rocm"}


def test_trtllm_bench_engine_settings_follow_its_tuning_heuristic():
    """trtllm-bench's own max_batch_size / max_num_tokens (tensorrt_llm/bench/build/tuning.py):
    Llama 3.3 70B FP4 on one B200 (183,359 MiB = 179.06 GiB as the driver reports it), 128/128,
    16-bit KV: engine 32.85 GiB, KV room 0.95 x 146.21 = 138.90 GiB, 320 KiB per token x 256
    tokens -> 1778.0 requests -> batch rounded up to 256s = 1792, tokens 1778.0 x 2 = 3556 ->
    3584; a nearly full H100 gives the
    minimum batch 64 and 2048 tokens; rows without engine flags get them as stack overrides. The
    benchmark row of that case runs NVIDIA's NVFP4 checkpoint, which declares an FP8 KV cache
    (data/serving/checkpoints.csv): 160 KiB per token -> 3556.0 requests -> 3584, tokens 7112 -> 7168."""
    spec = il.models.get("llama3.3-70b")
    assert serving.trtllm_bench_settings(spec, "B200", 1, 1, 128, 128, 0.5, 2.0) == (1792, 3584)
    assert serving.trtllm_bench_settings(spec, "H100-SXM", 1, 1, 1000, 1000, 1.0, 2.0) == (64, 2048)
    bm = serving.benchmarks()
    assert serving.trtllm_bench_settings(spec, "B200", 1, 1, 128, 128, 0.5, 1.0) == (3584, 7168)
    row = bm.filter(pl.col("id") == "TRTPERF019-L33-70B-B200-TP1-128-128").row(0, named=True)
    sc, over, why = serving._row_scenario(row)
    assert over["max_num_seqs"] == 3584 and sc.serving.chunk_tokens == 7168 and not why
    row = bm.filter(pl.col("id") == "TRTDSR1-B200-MAXTPUT-FP8KV-c7168").row(0, named=True)
    sc, over, why = serving._row_scenario(row)
    assert over["max_num_seqs"] == 896 and sc.serving.chunk_tokens == 2048  # the published flags


def test_trtllm_bench_constants_are_data_rows_the_heuristic_reads(monkeypatch):
    """The tool's caps, floors and rounding ladders are rows of data/serving/parameters.csv citing
    tuning.py at a commit, and the heuristic reads them: a smaller request cap lowers the batch
    of the B200 case above (1778 requests -> cap 1024 -> 1024, tokens 2048), a larger batch floor
    raises the H100 case's 64, and a KV fraction of 0.5 shrinks the B200 batch (936 requests ->
    1024 on the 128-step rung)."""
    t = pl.read_csv(il.catalog.DATA_DIR / "serving" / "parameters.csv")
    rows = t.filter(pl.col("parameter").str.starts_with("trtllm_bench_"))
    assert rows.height == 16 and set(rows["basis"]) == {"library constant", "derived", "assumption"}
    assert rows.filter(pl.col("basis") == "assumption")["parameter"].to_list() == [
        "trtllm_bench_kv_cache_fraction_pytorch"]
    assert rows["source_url"].str.contains("TensorRT-LLM/blob/[0-9a-f]{40}/tensorrt_llm/bench/build/tuning.py").all()
    assert serving.parameter("trtllm_bench_kv_cache_fraction") == 0.95
    assert serving.parameter("trtllm_bench_kv_cache_fraction_pytorch") == 0.95
    spec = il.models.get("llama3.3-70b")
    from infra_lab.serving import core

    real = dict(core._parameters())
    for name, value, (acc, isl, osl, wb), want in (
            ("trtllm_bench_max_requests", 1024.0, ("B200", 128, 128, 0.5), (1024, 2048)),
            ("trtllm_bench_batch_floor", 96.0, ("H100-SXM", 1000, 1000, 1.0), (96, 2048)),
            ("trtllm_bench_kv_cache_fraction", 0.5, ("B200", 128, 128, 0.5), (1024, 2048))):
        monkeypatch.setattr(core, "_parameters", lambda patched=dict(real, **{name: value}): patched)
        assert serving.trtllm_bench_settings(spec, acc, 1, 1, isl, osl, wb, 2.0) == want, name


def test_trtllm_bench_kv_fraction_follows_the_rows_flow(monkeypatch):
    """A trtllm-bench row that publishes no KV fraction gets the compiled-engine flow's (None:
    the heuristic's own default, ``trtllm-bench build`` passes none) before 0.19 and the PyTorch
    flow's parameter from 0.19 or when the row names the PyTorch backend. Setting the PyTorch
    flow's fraction to 0.90 resizes TRTPERF019-L33-70B-B200-TP2-128-2048 (batch 1024 -> 896; FP8 KV,
    the checkpoint's) and leaves the 0.16 engine-flow row AMDBLOG-H100-TRT-405B-THR-128-2048 at its
    0.95 size (256)."""
    from infra_lab.serving import core
    from infra_lab.serving import published as P

    bm = serving.benchmarks()

    def row(i):
        return bm.filter(pl.col("id") == i).row(0, named=True)

    eng, v019, v10 = (row("AMDBLOG-H100-TRT-405B-THR-128-2048"), row("TRTPERF019-L33-70B-B200-TP2-128-2048"),
                      row("TRTPERF10-L33-70B-B200-TP1-1000-1000"))
    assert P._trtllm_bench_kv_fraction(eng) is None
    assert P._trtllm_bench_kv_fraction(row("TRTPERF017-llama3.1-70b-H100-TP1-1000-1000")) is None
    assert P._trtllm_bench_kv_fraction(v019) == P._trtllm_bench_kv_fraction(v10) == 0.95
    assert P._trtllm_bench_kv_fraction(dict(v019, engine_args="trtllm-bench --tp 2 throughput")) == 0.95
    assert P._trtllm_bench_kv_fraction(dict(eng, engine_args="trtllm-bench throughput --backend pytorch")) == 0.95
    assert serving._row_scenario(v019)[1]["max_num_seqs"] == 1024
    assert serving._row_scenario(eng)[1]["max_num_seqs"] == 256
    real = dict(core._parameters())
    monkeypatch.setattr(core, "_parameters",
                        lambda: dict(real, trtllm_bench_kv_cache_fraction_pytorch=0.90))
    assert serving._row_scenario(v019)[1]["max_num_seqs"] == 896
    assert serving._row_scenario(eng)[1]["max_num_seqs"] == 256


def test_kv_bytes_per_element_come_in_through_the_hardware_vector():
    """The kernel's KV-cache bytes per element are H_KV_BYTES_BF16 / H_KV_BYTES_FP8, filled from
    the number-format table (2 and 1 bytes): doubling the BF16 entry doubles the KV cache a
    running request holds (same batch, not KV-limited)."""
    from infra_lab._kernels import serving as K

    sc = il.Scenario.from_dict(_CASES["dense-fp8-tp8"])
    p = il.stacks.params(sc.stack)
    inp = serving.serving_inputs(sc.model_spec, sc.hardware, p, [sc.serving.tp], [sc.serving.tp], stack=sc.stack)
    assert inp.H[K.H_KV_BYTES_BF16] == il.catalog.format_bytes("bf16") == 2.0
    assert inp.H[K.H_KV_BYTES_FP8] == il.catalog.format_bytes("fp8") == 1.0
    row = serving._cfg_row(sc.serving, 8.0)[None, :]
    assert sc.serving.kv_precision == "bf16"
    base = serving._run(row, inp)[0]
    inp.H[K.H_KV_BYTES_BF16] = 4.0
    wide = serving._run(row, inp)[0]
    assert base[K.O_KV_LIMITED] == wide[K.O_KV_LIMITED] == 0.0
    assert wide[K.O_KV_GPU] == pytest.approx(2.0 * base[K.O_KV_GPU], rel=1e-12)


def test_calibration_is_on_the_train_split_and_helps_it(validation_frame):
    """The shipped factors are fitted (basis 'fitted') and fit the train split better than the
    starting assumptions (gemm = memory scale 1, step overhead 2 ms, no per-request step overhead)."""
    t = il.stacks.table().filter(pl.col("parameter").is_in(list(serving.CALIBRATED)),
                                 pl.col("stack").is_in(["atom-rocm", "vllm-rocm", "trt-llm-cuda"]))
    # request_overhead_s is fitted only where the train split has TTFTs (ATOM's CI runs do)
    fitted = t.filter((pl.col("parameter") != "request_overhead_s") | (pl.col("stack") == "atom-rocm"))
    assert fitted.height == 13 and (fitted["basis"] == "fitted").all()
    assert fitted["note"].str.contains("training-split").all()
    ovh = il.stacks.table().filter(pl.col("parameter") == "request_overhead_s", pl.col("basis") == "fitted")
    assert ovh.height >= 3 and ovh["value"].is_between(0.0, 0.2).all()
    start = {s: {"gemm_time_scale": 1.0, "memory_time_scale": 1.0, "step_overhead_s": 0.002, "seq_overhead_s": 0.0}
             for s in ("atom-rocm", "vllm-rocm", "trt-llm-cuda")}
    raw = serving.validation(stack_params=start)

    def train_med(df):
        sub = df.filter(pl.col("split") == "train", pl.col("stack").is_in(list(start)))
        return float(sub["output_tokens_per_s_per_gpu_error_pct"].abs().median())

    assert train_med(validation_frame) < train_med(raw)




@pytest.mark.parametrize("metric, stat", [
    ("output_tokens_per_s_per_gpu", "median"),
    ("output_tokens_per_s_per_gpu", "worst"),   # met since 2026-12-07 (docs/serving-history.md, entry 22)
    ("tpot_s", "median"),
    ("ttft_s", "median"),
])
def test_test_split_meets_issue_bounds(validation_frame, metric, stat):
    """The issue's bounds on the test split (factors fitted on the train split only)."""
    s = serving.validation_summary(validation_frame.filter(pl.col("split") == "test"), by=("split",))
    m = {r["metric"]: r for r in s.iter_rows(named=True)}
    assert set(serving.VALIDATION_BOUNDS) == {"output_tokens_per_s_per_gpu", "tpot_s", "ttft_s"}
    assert m[metric][f"{stat}_abs_error_pct"] <= serving.VALIDATION_BOUNDS[metric][stat], (metric, stat)


def test_validation_summary_covers_the_bounded_metrics(validation_frame):
    s = serving.validation_summary(validation_frame.filter(pl.col("split") == "test"), by=("split",))
    m = {r["metric"]: r for r in s.iter_rows(named=True)}
    for metric in serving.VALIDATION_BOUNDS:
        assert m[metric]["cases"] >= 5, metric
        assert m[metric]["median_abs_error_pct"] <= m[metric]["worst_abs_error_pct"]


# ---------------------------------------------------------------- notebook 07 claims, charts, widget
def test_agent_request_from_multimodal_encoders():
    req = serving.agent_request()
    mix = serving.maia_mix()
    from infra_lab import multimodal as mm

    assert req["image_tokens"] == mm.encoder("qwen2.5-vl-vit").image_grid(1024, 768)["lm_tokens"]
    assert req["audio_tokens"] == 25.0 * mix["audio_seconds_per_task"]        # Qwen2-Audio: 25 tokens/s
    n = mix["calls_per_task"]
    assert req["input_tokens"] == pytest.approx(mix["first_prompt_tokens"] + mix["context_growth_tokens"] * (n - 1) / 2
                                                + mix["images_per_task"] * req["image_tokens"]
                                                + req["audio_tokens"] * (n + 1) / (2 * n))
    assert req["encoder_flops_per_call"] * n == pytest.approx(req["encoder_flops_per_task"])
    # il.serve's prompt = the text part + the positions the call's own media add
    sc = il.Scenario.from_dict({"model": serving.agent_model("llama3.3-70b", req),
                                "hardware": {"accelerator": "MI300X", "nodes": 1, "gpus_per_node": 8},
                                "serving": {"engine": "vllm", "tp": 8, **serving.agent_serving(req)}})
    enc_s, positions = serving._media(sc)
    assert sc.serving.input_tokens + positions == pytest.approx(req["input_tokens"], abs=0.5)
    pre = mm.encoder_prefill(sc.multimodal, "MI300X", images=req["images_per_call"], image_size=req["image_size"],
                             audio_s=req["audio_s_per_call"], tp=8, hardware=sc.hardware)
    assert enc_s == pre.time_s > 0                      # one owner of encoder time
    assert (serving._mix_table()["basis"] == "assumption").all()
    t = serving.maia_mix_table()                        # the public table notebook 07 shows
    assert {"parameter", "value", "unit", "basis"} <= set(t.columns)
    assert dict(zip(t["parameter"], t["value"], strict=True)) == serving.maia_mix()


def test_serving_helpers_refuse_bad_arguments():
    """Package errors, not foreign exceptions (issue 18 item 4; a signature fuzz)."""
    v = pl.DataFrame({"split": ["test"], "tpot_s_error_pct": [1.0]})
    for call, match in ((lambda: serving.parameter([1]), "serving parameter"),
                        (lambda: serving.validation_summary(df=True), "df"),
                        (lambda: serving.validation_summary(v, by=(1, 2)), "validation column"),
                        (lambda: serving.validation_summary(v, by=("split", "split")), "twice"),
                        (lambda: serving.validation_summary(v, by="split"), "tuple"),
                        (lambda: serving.agent_request(mix=True), "mapping"),
                        (lambda: serving.agent_request(mix="abc"), "mapping"),
                        (lambda: serving.agent_request(mix={**serving.maia_mix(), "calls_per_task": "6"}), "calls_per_task"),
                        (lambda: serving.agent_request(system=1), "system"),
                        (lambda: serving.agent_model(1), "preset"),
                        (lambda: serving.agent_serving({"input_tokens": 5}), "request")):
        with pytest.raises((ValidationError, UnknownNameError), match=match):
            call()
    assert serving.validation_summary(v)["cases"].to_list() == [1]


def test_notebook07_vllm_cuda_has_fewer_train_points(validation_frame):
    """Notebook 07 §3: the vLLM factors on NVIDIA come from fewer train points than on MI300X
    (the counts are printed there)."""
    fit = validation_frame.filter((pl.col("split") == "train") & pl.col("excluded").is_null())
    n = {s: fit.filter(pl.col("stack") == s).height for s in ("vllm-rocm", "vllm-cuda")}
    assert 0 < n["vllm-cuda"] < n["vllm-rocm"]


def test_notebook07_claims_hold():
    """What the prose of notebook 07 relies on: 192 GB holds a BF16 70B replica on one MI300X
    while H100 needs more; a node of MI300X keeps more Maia-length requests' KV than one of
    H100 or H200; DeepSeek-V3 FP8 does not fit on 8 × H100 but does on 8 × MI300X."""
    req = serving.agent_request()
    sv = {"engine": "vllm", "input_tokens": round(req["input_tokens"]), "output_tokens": round(req["output_tokens"]),
          "concurrency": 1}

    def sc(model, acc, g, prec, ep=1):
        return {"model": {"preset": model}, "hardware": {"accelerator": acc, "nodes": 1, "gpus_per_node": g},
                "serving": {**sv, "tp": g, "ep": ep, "weight_precision": prec}}

    assert il.serve(sc("llama3.3-70b", "MI300X", 1, "bf16")).fits
    assert not il.serve(sc("llama3.3-70b", "H100", 1, "bf16")).fits
    kv = {a: il.serve(sc("llama3.3-70b", a, 8, "fp8")).max_concurrency for a in ("MI300X", "H100", "H200")}
    assert kv["MI300X"] > kv["H200"] > kv["H100"]
    assert not il.serve(sc("deepseek-v3", "H100", 8, "fp8", 8)).fits
    assert il.serve(sc("deepseek-v3", "MI300X", 8, "fp8", 8)).fits


def test_charts_build():
    import altair  # noqa: F401  (a dependency: a missing one fails here, not skips)
    front = il.serve_search(_SMALL, top=None).with_columns(pl.lit("H100-SXM").alias("accelerator"))
    spec = il.charts.serving_front_chart(front).to_dict()
    assert "interactivity" in str(spec) and "output tokens/s per GPU" in str(spec)
    r = il.serve(_CASES["dense-fp8-tp8"])
    assert "engine cycle" in str(il.charts.serving_breakdown_chart(r.breakdown).to_dict())
    v = pl.DataFrame({"id": ["a", "b"], "split": ["train", "test"], "accelerator": ["MI300X", "H100-SXM"],
                      "engine": ["vllm", "trt-llm"], "output_tokens_per_s_per_gpu_measured": [100.0, 200.0],
                      "output_tokens_per_s_per_gpu_predicted": [110.0, 180.0],
                      "output_tokens_per_s_per_gpu_error_pct": [10.0, -10.0]})
    assert "measured" in str(il.charts.serving_parity_chart(v).to_dict())
    with pytest.raises(ValidationError, match="tokens_per_s_per_user"):
        il.charts.serving_front_chart(pl.DataFrame({"accelerator": ["x"]}))


def test_widget_update_answers():
    import ipywidgets  # noqa: F401  (a dependency: a missing one fails here, not skips)

    from infra_lab.widgets.serving import serving_update

    s, chart = serving_update("llama3.3-70b", "MI300X", "vllm", "fp8", 64, 8, max_tpot_ms=50)
    assert s.height == 2 and s["fits"].to_list() == [True, True]
    assert s["tpot_ms"][1] <= 50.0
    assert chart is not None
    bad, none = serving_update("llama3.3-70b", "MI300X", "trt-llm", "fp8", 64, 8)
    assert none is None and "cannot run" in bad["configuration"][0]


def test_widget_price_column_names_the_purchase_price_it_was_built_on():
    """The serving explorer's price column read "owned: like-for-like P50 (newest 8-GPU baseboard
    listing, notebook 05)" for every owned price, also MI355X's (one of its dropdown's parts),
    which has no baseboard listing and is priced on the analyst's selling price of
    parameters.csv (session 42). The label follows the quote's capex_basis."""
    from infra_lab.widgets.serving import OWNED_PRICE_BASIS, serving_update

    s, _ = serving_update("llama3.3-70b", "MI300X", "vllm", "fp8", 64, 8)
    assert s["price"][0] == OWNED_PRICE_BASIS
    q = il.economics.owned_gpu_hour_quote("MI355X")
    assert q["capex_basis"] != "baseboard"
    s, _ = serving_update("llama3.3-70b", "MI355X", "vllm", "fp8", 64, 8)
    assert s["price"][0] == (f"owned: like-for-like P50 (no baseboard listing: the default purchase price, "
                             f"{q['purchase_price_usd_per_gpu']:,.0f} USD per GPU; notebook 05)")
    assert s["usd_per_gpu_h"][0] == il.serving.gpu_hour_price("MI355X") == q["usd_per_gpu_hour"]


def test_widget_best_uses_the_searchs_own_grid():
    """The explorer's search had a grid of its own that stopped at 512 in flight; Llama 3 8B on
    8 MI300X at TPOT <= 100 ms runs more (the search's default grid reaches max_concurrency)."""
    import re

    from infra_lab.widgets.serving import serving_update

    s, _ = serving_update("llama3-8b", "MI300X", "vllm", "fp8", 64, 8, max_tpot_ms=100)
    assert s["tpot_ms"][1] <= 100.0
    assert int(re.search(r"(\d+) in flight", s["configuration"][1]).group(1)) > 512


def test_widget_update_refuses_a_price_of_zero():
    """price_usd_per_gpu_hour=0 was taken as 'no price' and the owned cost used in its place,
    unannounced; a given price is now checked like token_costs checks it."""
    import ipywidgets  # noqa: F401  (a dependency: a missing one fails here, not skips)

    from infra_lab.widgets.serving import serving_update

    for bad in (0, 0.0, -1.0, float("nan")):
        with pytest.raises(ValidationError, match=r"^price_usd_per_gpu_hour = "):
            serving_update("llama3.3-70b", "MI300X", price_usd_per_gpu_hour=bad)
    s, _ = serving_update("llama3.3-70b", "MI300X", price_usd_per_gpu_hour=3)
    assert s["usd_per_gpu_h"][0] == 3.0 and s["price"][0] == "given"


def test_widget_update_refuses_counts_it_would_truncate():
    """serving_update(gpus=2.5) served 2 GPUs and concurrency=64.7 64 requests, unannounced
    (int() casts); a count that is not a positive integer is a ValidationError naming it."""
    import ipywidgets  # noqa: F401  (a dependency: a missing one fails here, not skips)

    from infra_lab.widgets.serving import serving_update

    for kw in ({"gpus": 2.5}, {"gpus": 0}, {"concurrency": 64.7}, {"input_tokens": 100.5},
               {"output_tokens": True}):
        (k, v), = kw.items()
        with pytest.raises(ValidationError, match=rf"^{k} = {v!r}: "):
            serving_update("llama3.3-70b", "MI300X", **kw)
    s, _ = serving_update("llama3.3-70b", "MI300X", gpus=8.0, concurrency=64.0)
    assert s["configuration"][0] == "as configured"


def test_widget_says_why_no_configuration_meets_the_target():
    """DeepSeek-V3 on 8 H100 read 'no configuration of 8 GPUs reaches TPOT ≤ 20 ms', although
    none of them fits in memory at all; the row now carries serve_search's reason."""
    import ipywidgets  # noqa: F401  (a dependency: a missing one fails here, not skips)

    from infra_lab.widgets.serving import serving_update

    s, _ = serving_update("deepseek-v3", "H100-SXM", "vllm", "fp8", 512, 8, max_tpot_ms=20)
    row = s["configuration"][1]
    assert row.startswith("no configuration of 8 GPUs reaches TPOT ≤ 20 ms: ")
    assert "fits in memory" in row and "85.52 GB" in row
    s, _ = serving_update("llama3.3-70b", "MI300X", "vllm", "fp8", 64, 8, max_tpot_ms=2)
    assert "the smallest TPOT [s] of the" in s["configuration"][1]


def test_widget_prices_every_listed_accelerator_and_hides_what_cannot_run():
    """Three dead or misleading states of the serving explorer: MI325X (in its accelerator list)
    answered only "cannot run" because it has no public purchase price, although its rents are
    listed; a deployment that does not fit in memory showed throughput and a $/M tokens; and a
    setting without a chart left the previous setting's chart on screen."""
    import ipywidgets  # noqa: F401  (a dependency: a missing one fails here, not skips)

    from infra_lab.widgets.serving import SERVING_ACCELERATORS, serving_explorer, serving_update

    for acc in SERVING_ACCELERATORS:
        s, chart = serving_update("llama3.3-70b", acc, "vllm", "fp8", 64, 8)
        assert s["fits"][0] and s["usd_per_M_output"][0] > 0 and chart is not None, acc
    s, _ = serving_update("llama3.3-70b", "MI325X", "vllm", "fp8", 64, 8)
    assert s["price"][0] == "rented, on-demand median"
    assert s["usd_per_gpu_h"][0] == pytest.approx(il.serving.gpu_hour_price("MI325X", "rented"))
    own, _ = serving_update("llama3.3-70b", "MI300X", "vllm", "fp8", 64, 8)
    assert own["price"][0].startswith("owned: like-for-like P50") and "baseboard" in own["price"][0]
    assert own["usd_per_gpu_h"][0] == pytest.approx(il.serving.gpu_hour_price("MI300X"))
    big, chart = serving_update("deepseek-v3", "MI300X", "vllm", "fp8", 64, 1)
    row = big.row(0, named=True)
    assert not row["fits"] and "does not fit" in row["configuration"] and chart is None
    assert row["memory_GB"] > row["capacity_GB"]
    assert all(row[k] is None for k in ("output_tok_s", "tok_s_per_user", "tpot_ms", "usd_per_M_output"))
    box = serving_explorer()
    assert box.chart.chart is not None
    box.controls["engine"].value = "trt-llm"                 # no trt-llm stack on MI300X
    assert box.chart.chart is None


# ---------------------------------------------------------------- physical floors of the stack factors
_PLATFORM_PARTS = {"cuda": ("H100-SXM", "B200"), "rocm": ("MI300X", "MI355X")}


def _engine_of(stack: str) -> tuple[str, str]:
    for platform in _PLATFORM_PARTS:
        head, sep, _tail = stack.partition(f"-{platform}")
        if sep:
            return head, platform
    raise AssertionError(stack)


@pytest.mark.parametrize("stack", il.stacks.names("serving"))
def test_no_stack_factor_beats_hbm_or_compute_peak(stack):
    """Whatever a stack's fitted (or the fit's lowest allowed) gemm/memory_time_scale, a decode
    step at concurrency 1 reads every GEMM weight once at no more than HBM peak (the GEMM
    seconds of the breakdown >= weight bytes per GPU / HBM peak) and a prefill does the GEMM
    FLOPs at no more than compute peak (TTFT >= 2·params·prompt / GPUs / peak)."""
    engine, platform = _engine_of(stack)
    lowest = {n: serving._BOUNDS[n][0] for n in ("gemm_time_scale", "memory_time_scale")}
    for acc in _PLATFORM_PARTS[platform]:
        a = il.catalog.accelerator(acc)
        for over in (None, lowest):
            dec = il.Scenario.from_dict(_sc(acc=acc, gpus=8, tp=8, engine=engine, stack=stack, concurrency=1,
                                            num_prompts=1, input_tokens=16, output_tokens=4096))
            spec = dec.model_spec
            bd = {x["component"]: x["params_total"] for x in spec.param_breakdown().iter_rows(named=True)}
            gemm_params = spec.params_total - bd["embeddings"] - bd["position_embeddings"]
            r = serving.serve(dec, stack_params=over)
            sec = dict(zip(r.breakdown["component"], r.breakdown["seconds"], strict=True))
            # fp8 weights, 1 byte each; every rank reads its 1/tp share once per decode step
            gemm_s = sec["attention_gemm"] + sec["mlp_gemm"] + sec["lm_head"]
            assert gemm_s >= gemm_params * 1.0 / 8 / a.hbm_bw_Bps * (1 - 1e-9), (acc, over)
            pre = il.Scenario.from_dict(_sc(acc=acc, gpus=8, tp=8, engine=engine, stack=stack, concurrency=1,
                                            num_prompts=1, input_tokens=8192, output_tokens=256))
            r = serving.serve(pre, stack_params=over)
            assert r.ttft_s >= 2.0 * gemm_params * 8192 / 8 / a.peak_flops["fp8"], (acc, over)


def test_time_scale_floors_in_kernel_and_reference():
    """gemm_time_scale below a GEMM's efficiency, or memory_time_scale below hbm_efficiency, is
    floored: the roofline never beats peak FLOP/s or HBM peak, in the kernel and the reference."""
    from infra_lab._kernels import serving as K

    m, n, k, peak, bw_peak, eff = 4096.0, 8192.0, 8192.0, 1e15, 3e12, 0.8
    t = K._roofline(m, n, k, 1.0, eff, peak, 1.0, bw_peak * 0.9, 0.3, 0.9)
    assert t == pytest.approx(2.0 * m * n * k / peak, rel=1e-12)
    low = {"gemm_time_scale": 0.3, "memory_time_scale": 0.3}
    for name in ("dense-fp8-tp8", "dense-kv-limited", "moe-ep-mtp", "qwen3-trt"):
        kr = serving.serve(_CASES[name], stack_params=low)
        rr = serving.serve(_CASES[name], stack_params=low, reference=True)
        for f in ("output_tokens_per_s", "ttft_s", "tpot_s"):
            assert getattr(kr, f) == pytest.approx(getattr(rr, f), rel=1e-9), (name, f)


def test_serving_kernels_compile_one_specialization():
    """Each serving kernel, and each helper it calls as a function (not inlined at the IR
    level), has one compiled specialization after cases that take every branch (dense, MoE
    with EP, MTP, DP attention, pipeline, static batch): calls pass typed values (np.int64,
    floats), never an int literal, so a cold start compiles each of them once."""
    import numba

    from infra_lab._kernels import serving as K

    for name in ("dense-fp8-tp8", "dense-pp2-kvfp8", "static-batch", "moe-ep-mtp", "moe-dp-attention-2nodes",
                 "dsr1-adp-mtp-tp2", "qwen3-trt"):
        serving.serve(_CASES[name])
    many = {n: [str(s) for s in f.signatures] for n, f in vars(K).items()
            if isinstance(f, numba.core.registry.CPUDispatcher) and len(f.signatures) > 1}
    assert many == {}


def test_params_is_another_name_for_stack_params_and_all_in_cost_is_an_objective():
    sc = il.load_scenario("maia-class-serving-mi300x")
    name = next(iter(il.stacks.params(sc.stack)))
    value = il.stacks.params(sc.stack)[name] * 1.5 + 1e-3
    a = il.serve(sc, stack_params={name: value})
    b = il.serve(sc, params={name: value})
    assert a.output_tokens_per_s == b.output_tokens_per_s and a.ttft_s == b.ttft_s
    with pytest.raises(ValidationError, match="params"):
        il.serve(sc, params={name: value}, stack_params={name: value})
    df = il.serve_search(sc, objective="usd_per_million_output_tokens_all_in", top=5, price_usd_per_gpu_hour=2.0)
    col = df["usd_per_million_output_tokens_all_in"].to_list()
    assert col == sorted(col) and len(col) > 0
    with pytest.raises(ValidationError, match="price_usd_per_gpu_hour"):
        il.serve_search(sc, objective="usd_per_million_output_tokens_all_in")


def test_serve_search_takes_numpy_numbers_and_names_the_bad_item():
    """concurrencies=np.arange(...) (or any numpy integer, and top=np.int64(...)) was refused as
    "concurrencies[i] = 8: expected None or a finite integer > 0"; a bad item is named by its index."""
    sc = il.load_scenario("maia-class-serving-mi300x")
    a = il.serve_search(sc, concurrencies=np.array([8, 16]), top=np.int64(1))
    b = il.serve_search(sc, concurrencies=[8, 16], top=1)
    assert a.equals(b)
    assert il.serve(sc).costs(np.float32(2.0)) == il.serve(sc).costs(2.0)
    for bad, where in (([8, 0], "concurrencies\\[1\\] = 0"), ([np.bool_(True)], "concurrencies\\[0\\] = True")):
        with pytest.raises(ValidationError, match=where):
            il.serve_search(sc, concurrencies=bad)


@pytest.mark.parametrize("models, accelerators, field", [([], ["MI300X"], "models"),
                                                        (["llama3.3-70b"], [], "accelerators")])
def test_class_comparison_refuses_an_empty_list(models, accelerators, field):
    """An empty list of models or accelerators gave a frame with no rows and no columns."""
    with pytest.raises(ValidationError, match=rf"^{field} = \[\]: expected at least one"):
        il.serving.class_comparison(models, accelerators)


def test_max_concurrency_is_counted_at_the_mean_context_in_flight():
    """ServeResult.max_concurrency said 'requests whose KV cache fits at once', beside
    il.memory.max_inference_batch (full context) giving 33 where serve gives 44 for Llama 3.3 70B
    on one MI300X at 2,048 + 2,048 tokens: serve counts each request at its mean context in
    flight (prompt + half the output) and caps at the engine's max_num_seqs; the docstring says so."""
    import math

    sc = {"name": "x", "model": {"preset": "llama3.3-70b"},
          "hardware": {"accelerator": "MI300X", "nodes": 1, "gpus_per_node": 1},
          "serving": {"tp": 1, "input_tokens": 2048, "output_tokens": 2048, "concurrency": 1}}
    r = il.serve(sc)
    p = il.stacks.params(r.stack)
    room = p["memory_utilization"] * il.catalog.accelerator("MI300X").memory_capacity_bytes - r.weights_per_gpu_bytes
    assert r.max_concurrency == math.floor(room / memory.kv_cache_bytes("llama3.3-70b", 2048 + 2048 / 2)) == 44
    assert memory.max_inference_batch("llama3.3-70b", "MI300X", 4096) == 33
    doc = il.serving.ServeResult.__doc__
    assert "prompt + half the output" in doc and "max_num_seqs" in doc


@pytest.mark.parametrize("acc, key, prec, spec", [
    ("MI300X", "attention_precision", "fp4", {}),          # MI300X has no fp4 tensor cores
    ("H100-SXM", "attention_precision", "fp4", {}),
    ("H100-SXM", "mtp_precision", "fp4", {"spec_decoding": "mtp"}),
])
def test_attention_and_mtp_precisions_need_the_parts_tensor_cores(acc, key, prec, spec):
    """attention_precision / mtp_precision are checked like weight_precision: an fp4 attention
    precision on MI300X used to hold fp4 weights but time the GEMMs at BF16, unannounced."""
    model = "deepseek-v3" if spec else "llama3.3-70b"
    with pytest.raises(ValidationError, match=rf"serving\.{key} = '{prec}': {acc} has no {prec} tensor cores; "
                                              "allowed: bf16, fp8"):
        il.Scenario.from_dict(_sc(model=model, acc=acc, **{key: prec}, **spec))
    # a precision the part has is accepted
    il.Scenario.from_dict(_sc(model=model, acc=acc, **{key: "fp8"}, **spec))


@pytest.mark.parametrize("acc", il.catalog.accelerator_names())
def test_fp4_format_and_weight_precisions_read_the_catalogs_block_scaling(acc):
    """serving.fp4_format picked the FP4 format by vendor, so H100, H200, MI300X and MI325X (no
    FP4 matrix instructions) read as "nvfp4" / "mxfp4". It now reads the catalog's one owner,
    Accelerator.nvfp4_block_scaling / mx_block_scaling, and refuses a part with neither, naming
    the accelerator, 'fp4' and the precisions it has; weight_precisions is what the scenario
    checks and serve_search accept."""
    a = il.catalog.accelerator(acc)
    wps = serving.weight_precisions(acc)
    assert wps[0] == "bf16" and ("fp8" in wps) == ("fp8" in il.compute._params.supported(a))
    if a.nvfp4_block_scaling:
        assert serving.fp4_format(acc) == "nvfp4" and "fp4" in wps
    elif a.mx_block_scaling:
        assert serving.fp4_format(acc) == "mxfp4" and "fp4" in wps
    else:
        assert "fp4" not in wps
        with pytest.raises(ValidationError, match=rf"weight_precision = 'fp4' on accelerator = '{acc}': {a.name} has "
                                                  rf"no FP4 matrix instructions .*allowed weight precisions on "
                                                  rf"{a.name}: {', '.join(wps)}; accelerators with FP4: .*B200"):
            serving.fp4_format(acc)


@pytest.mark.parametrize("acc", ["H100-SXM", "H200-SXM", "MI300X", "MI325X"])
def test_fp4_on_parts_without_fp4_is_refused_naming_field_value_and_allowed(acc):
    """FP4 requested on a part without FP4 matrix instructions: il.serve and il.serve_search (and
    so `infra-lab serve`, which calls them) refuse it with the field, the value and the allowed
    precisions, as training does for training.precision; the search's default grid leaves it out."""
    msg = rf"serving\.weight_precision = 'fp4': {acc} has no fp4 tensor cores; allowed: bf16, fp8 \(no NVFP4 or MXFP4"
    with pytest.raises(ValidationError, match=msg):
        il.serve(_sc(acc=acc, weight_precision="fp4"))
    with pytest.raises(ValidationError, match=rf"weight_precisions: {acc} has no fp4 tensor cores; allowed bf16, fp8"):
        il.serve_search(_sc(acc=acc), weight_precisions=["fp4"])
    assert "fp4" not in set(il.serve_search(_sc(acc=acc), top=None, concurrencies=[8])["weight_precision"])


@pytest.mark.parametrize("acc, fmt", [("B200", "nvfp4"), ("GB200", "nvfp4"), ("MI355X", "mxfp4")])
def test_fp4_gemms_run_in_the_parts_block_format(acc, fmt):
    """The FP4 GEMMs are timed with the compute model of the format the weights are stored in
    (NVFP4 on Blackwell: 1x16 FP8 scales, 0.5625 bytes an element; MXFP4 on CDNA 4), not the
    generic "fp4" (0.53125, MXFP4's scales), which B200's fp4 serving used while storing NVFP4
    bytes; the reference does the same (the kernel-vs-reference tests cover B200 FP4)."""
    from infra_lab import compute
    from infra_lab._kernels import serving as K

    sc = il.Scenario.from_dict(_sc(acc=acc, weight_precision="fp4"))
    inp = serving.serving_inputs(sc.model_spec, sc.hardware, il.stacks.params(sc.stack), [8], [8], stack=sc.stack)
    # its compute part: without its fixed time per kernel, which the serving model adds once
    # itself, and without its HBM term, which the serving model prices at the stack's memory rate
    want = dataclasses.replace(compute.gemm_model(acc, fmt), fixed_s=0.0, mem_bw_Bps=math.inf)
    assert inp.g[2] == want.args()
    assert inp.H[K.H_FP4_BYTES] == memory.format_bytes(fmt)
    sc100 = il.Scenario.from_dict(_sc(acc="H100-SXM"))
    inp100 = serving.serving_inputs(sc100.model_spec, sc100.hardware, il.stacks.params(sc100.stack), [8], [8], stack=sc100.stack)
    assert math.isnan(inp100.H[K.H_FP4_BYTES])      # no FP4 format on H100: never 0 bytes


def test_empty_search_suggests_a_lower_precision_only_when_one_was_left_out():
    """serve_search's empty-result reason said "lower the precisions" when nothing fit, even
    after every format the part has had been searched (DeepSeek-V3 on 8 H100: FP8 tried). It now
    names a precision that was left out, or says that all of the part's were searched."""
    from infra_lab.errors import EmptyResultWarning

    d = _sc(model="deepseek-v3", acc="H100-SXM")
    with pytest.warns(EmptyResultWarning) as w:
        assert il.serve_search(d, concurrencies=[1, 8]).height == 0
    msg = str(w[-1].message)
    assert "fits in memory" in msg and "lower the precisions" not in msg
    assert "every weight precision the H100-SXM has (bf16, fp8) and KV cache bf16, fp8 were searched" in msg
    with pytest.warns(EmptyResultWarning, match=r"add GPUs, or try fp8 weights, fp8 KV cache, or a shorter context"):
        il.serve_search(d, concurrencies=[1, 8], weight_precisions=["bf16"], kv_precisions=["bf16"])


def test_mtp_precision_only_with_mtp():
    """mtp_precision without spec_decoding = 'mtp' is refused (as mtp_acceptance is) instead of
    being accepted and ignored."""
    with pytest.raises(ValidationError, match=r"serving\.mtp_precision = 'bf16': only with spec_decoding = 'mtp'"):
        il.Scenario.from_dict(_sc(model="deepseek-v3", acc="B200", mtp_precision="bf16"))


def test_cost_at_interactivity_and_token_costs_name_what_is_missing():
    """An empty front said 'the front tops out at nan tokens/s per user'; a front whose fast rows
    do not fit named their speed as its top; token_costs of a mapping with no throughput raised
    ZeroDivisionError. Each is now a ValidationError saying what is missing."""
    cols = {"usd_per_million_output_tokens_all_in": [1.0, 2.0], "tokens_per_s_per_user": [10.0, 100.0],
            "fits": [True, False]}
    with pytest.raises(ValidationError, match="the front is empty"):
        serving.cost_at_interactivity(pl.DataFrame(cols).head(0), 10.0)
    with pytest.raises(ValidationError, match="tops out at 10 tokens/s per user among those that fit"):
        serving.cost_at_interactivity(pl.DataFrame(cols), 50.0)
    with pytest.raises(ValidationError, match="no configuration of the front fits in memory"):
        serving.cost_at_interactivity(pl.DataFrame(cols).filter(~pl.col("fits")), 50.0)
    zero = {"gpus": 8, "output_tokens_per_s": 0.0, "total_tokens_per_s": 0.0, "prefill_time_fraction": 0.5}
    with pytest.raises(ValidationError, match=r"output_tokens_per_s = 0\.0: expected a finite number > 0"):
        serving.token_costs(zero, 2.0)
    with pytest.raises(ValidationError, match=r"prefill_time_fraction = 1\.5"):
        serving.token_costs({**zero, "output_tokens_per_s": 1.0, "total_tokens_per_s": 2.0,
                             "prefill_time_fraction": 1.5}, 2.0)


def test_serve_search_rows_are_serve_without_num_prompts_and_request_rate():
    """serve_search's docstring said 'everything else is searched', but it keeps batching,
    lockstep and chunk_tokens and drops num_prompts and request_rate_rps: with
    request_rate_rps = 1 il.serve gives 1,024 output tokens/s where the search's same point
    gives the closed loop's 2,522. The docstring and the contract now say which fields are
    kept, searched and not used; each row equals il.serve of the scenario without the two."""
    base = _sc(model="llama3-70b", acc="MI300X", weight_precision="bf16", concurrency=64, input_tokens=1024,
               output_tokens=1024, request_rate_rps=1.0, num_prompts=640)
    row = il.serve_search(base, top=None, pareto=False, weight_precisions=["bf16"], kv_precisions=["bf16"],
                          concurrencies=[64]).filter(pl.col("tp") == 8).row(0, named=True)
    plain = {**base, "serving": {k: v for k, v in base["serving"].items()
                                 if k not in ("request_rate_rps", "num_prompts")}}
    r = il.serve(plain)
    assert row["output_tokens_per_s"] == pytest.approx(r.output_tokens_per_s, rel=1e-12)
    assert row["ttft_s"] == pytest.approx(r.ttft_s, rel=1e-12)
    assert il.serve(base).output_tokens_per_s < 0.9 * r.output_tokens_per_s   # the rate does matter to il.serve
    doc = il.serve_search.__doc__
    assert "everything else is searched" not in doc
    assert "Not used:\n        num_prompts and request_rate_rps" in doc


def test_agent_model_names_the_nearest_preset():
    """agent_model('zaya') returned {'preset': 'zaya', ...} and failed only when served; an
    unknown preset is now refused with the nearest names."""
    with pytest.raises(il.errors.UnknownNameError, match=r"unknown model preset 'zaya'.*Did you mean 'zaya1-base'"):
        serving.agent_model("zaya")
    assert serving.agent_model("ZAYA1-base")["preset"] == "ZAYA1-base"


@pytest.mark.parametrize("bad, match", [(-5, r"max_tpot_ms = -5: must be a finite number > 0"),
                                        (0, r"max_tpot_ms = 0: must be a finite number > 0"),
                                        ("20", r"max_tpot_ms = '20': expected a number")])
def test_serving_explorer_checks_its_tpot_target(bad, match):
    """serving_update(max_tpot_ms=-5) reported 'target: max_tpot_s = -0.005: ...' (the search's
    argument, in seconds) and max_tpot_ms='20' ran the search, then raised a bare ValueError
    formatting the row; the target is now checked by its own name first (the widget passes
    None for 'none')."""
    from infra_lab.widgets.serving import serving_update

    with pytest.raises(ValidationError, match=match):
        serving_update("llama3.3-70b", "MI300X", max_tpot_ms=bad)


def test_throughput_is_continuous_across_the_full_budget_boundary_at_small_concurrency():
    """2 requests of 32,000 prompt tokens and 32 output tokens on one H100: neighbouring budgets
    (8 tokens apart, under 1 %) give neighbouring throughputs (29.2 / 29.3 / 29.5 / 29.6 tok/s at
    chunk_tokens 904 / 912 / 920 / 928; they alternated 29.2 / 37.0 / 29.5 / 37.4 when the partial
    branch counted prompt tokens per the cycle a token waits, not the mean engine step, and
    weighted the chunk steps a token waits for by f·(B − 1)/B, not f·(B − 1)/(B − f))."""
    tps = []
    for chunk in (904, 912, 920, 928):
        d = _sc(model="llama3-8b", acc="H100", gpus=1, tp=1, concurrency=2, chunk_tokens=chunk, input_tokens=32000,
                output_tokens=32)
        tps.append(serving.serve(d).output_tokens_per_s)
    assert max(tps) / min(tps) < 1.05, tps


def test_throughput_is_continuous_token_by_token_at_the_maia_full_budget_boundary():
    """The Maia scenario (32 requests per rank) crosses from a partly full step budget to a full
    one between chunk_tokens 1222 and 1223: throughput jumped +1.1 % there (~1/B, the chunk work
    a token waits for weighted f·(B − 1)/B, (B − 1)/B at f = 1 against 1 when full); one token of
    budget now moves it by under 0.1 % everywhere around the boundary, kernel and reference alike."""
    base = il.load_scenario("maia-class-serving-mi300x")
    tps = []
    for chunk in range(1214, 1232):
        sc = base.replace(serving={"chunk_tokens": chunk})
        r = il.serve(sc)
        tps.append(r.output_tokens_per_s)
        if chunk in (1222, 1223):
            assert r.output_tokens_per_s == pytest.approx(il.serve(sc, reference=True).output_tokens_per_s,
                                                          rel=1e-9)
    steps = [abs(b / a - 1.0) for a, b in zip(tps, tps[1:], strict=False)]
    assert max(steps) < 1e-3, steps


# ------------------------------------------------- separate prefill forwards (SGLang, ATOM)
def _packed_gap(k, n_in, m):
    """A gap of ``k`` prompts of ``n_in`` tokens packed first come first served into forwards
    of ``m`` tokens, counted forward by forward: (mean prompts still before their first token
    during a forward, mean forwards up to the one holding a prompt's last token)."""
    n = k * n_in // m
    pending = [k - ((s - 1) * m) // n_in for s in range(1, n + 1)]
    done_at = [-(-(j * n_in) // m) for j in range(1, k + 1)]
    return sum(pending) / n, sum(done_at) / k


@pytest.mark.parametrize(("k", "n_in", "m"), [(8, 1000, 4000), (16, 500, 4000), (4, 3000, 1000), (6, 2048, 1024),
                                              (3, 4096, 4096), (1, 9000, 3000)])
def test_separate_prefill_gap_matches_a_packed_gap(k, n_in, m):
    """The decode wait and the TTFT of a separate-prefill gap (docs/serving.md): of B running
    requests the decoding ones wait for every prefill forward, the u prompts of the gap still
    before their first token do not; u and the forwards before a prompt's first token are
    those of a gap counted forward by forward where the packing is exact (m a multiple of I or
    I of m)."""
    from infra_lab._kernels import serving as K

    B = 64.0
    p_tok = float(k * n_in)
    x, keep, q = K._separate_prefill(p_tok, float(n_in), float(m), B, False, 1)
    pending, ahead = _packed_gap(k, n_in, m)
    assert x == pytest.approx(p_tok / m) and q == 0.0
    assert B * (1.0 - keep) == pytest.approx(pending, rel=1e-12)
    # TTFT in service with 1 s per prefill forward, nothing else: the mean forwards before it
    ttft, _frac, _step = K._ttft_in_service(False, 0.0, 1.0, 0.0, float(n_in), 0.0, float(m), 0.0, p_tok, k,
                                            0.0, 0.0, x, 0.0, 0.0)
    assert ttft == pytest.approx(ahead, rel=1e-12)


def test_separate_prefill_weights_are_continuous_and_have_their_limits():
    """keep (the share of the running requests that wait for a prefill forward) and the TTFT's
    forwards are continuous where one prompt per gap becomes several (P = I) and where the gap
    outgrows one forward (P = chunk); no prompt tokens: a pure decode cycle; one running
    request: it never waits for a prefill (its own); (B − 1)/B with at most one prompt a gap."""
    from infra_lab._kernels import serving as K

    n_in, chunk, B = 1000.0, 8192.0, 32.0

    def at(p):
        m = min(chunk, max(n_in, p))
        x, keep, q = K._separate_prefill(p, n_in, m, B, False, 1)
        ttft = K._ttft_in_service(False, 0.0, 1.0, 0.0, n_in, 0.0, m, 0.0, p, p / n_in, 0.0, 0.0, x, q, 0.0)[0]
        return keep, ttft

    for edge in (n_in, chunk):
        lo, hi = at(edge * (1 - 1e-9)), at(edge * (1 + 1e-9))
        assert lo == pytest.approx(hi, rel=1e-6, abs=1e-9), edge
    assert at(500.0)[0] == pytest.approx((B - 1) / B)
    wa, wb, we = K._pass_weights(False, False, B, n_in, 100.0, 0.0, 1.0, 0.0, -1.0, 1, 0.0, False,
                                 *K._separate_prefill(0.0, n_in, n_in, B, False, 1), 0.0, True)
    assert (wa, wb, we) == (0.0, 1.0, 0.0)
    assert K._separate_prefill(700.0, n_in, n_in, 1.0, False, 1)[1] == 0.0


def test_separate_prefill_cycle_tends_to_decode_and_to_prefill_bound():
    """Serve-level limits of the separate-prefill engine: short prompts and long outputs ->
    the decode step (prefill under 1 % of the GPU time); long prompts and two output tokens ->
    prefill-bound (over 95 %), the prompt tokens per second then nearly independent of the
    output length (one more output token moves them by under 5 %)."""
    short = serving.serve(_sc(model="llama3-8b", acc="H100", gpus=1, tp=1, engine="sglang", concurrency=16,
                              input_tokens=64, output_tokens=8000))
    assert short.prefill_time_fraction < 0.01
    rates = []
    for n_out in (2, 3):
        r = serving.serve(_sc(model="llama3-8b", acc="H100", gpus=1, tp=1, engine="sglang", concurrency=16,
                              input_tokens=7000, output_tokens=n_out))
        assert r.prefill_time_fraction > 0.95
        rates.append(r.output_tokens_per_s / n_out * 7000)
    assert rates[1] / rates[0] == pytest.approx(1.0, abs=0.05)


def test_separate_prefill_is_continuous_in_the_budget():
    """A separate-prefill engine whose gap holds about 1.25 budgets of prompts, budget moved
    token by token across the point where the gap fits one forward (no GEMM tile edge in the
    range: 5121-5247 rows): throughput moves by under 0.2 % per token."""
    tps = []
    for chunk in range(5121, 5248, 7):
        tps.append(serving.serve(_sc(**{**_CASES["sglang-batched-prefill-gap"]["serving"],
                                        "chunk_tokens": chunk})).output_tokens_per_s)
    steps = [abs(b / a - 1.0) for a, b in zip(tps, tps[1:], strict=False)]
    assert max(steps) < 2e-3, steps


def test_dp_attention_token_wait_counts_own_rank_token_weighted_and_others_per_step():
    """DP attention, ranks admitting on their own: a decode token on one rank waits for a
    chunk step when its own rank carries another request's chunk (token-weighted,
    w = f(B − 1)/(B − f)) or any of the dp − 1 other ranks carries one (each in a share f of
    the steps): 1 − (1 − w)(1 − f)^(dp − 1); separate prefill: a decode step lasts another
    rank's prefill forward with probability 1 − (1/(1 + x))^(dp − 1), x prefill forwards per
    decode step; lock-step waves keep the ranks together (no such stretch)."""
    from infra_lab._kernels import serving as K

    B, f, dp = 32.0, 0.3, 8
    w = f * (B - 1) / (B - f)
    wa, wb, _ = K._pass_weights(False, True, B, 1000.0, 100.0, 0.0, 1.0, f, 5.0, dp, 0.1, False, 0.0, 0.0, 0.0,
                                0.0, True)
    assert wa == pytest.approx(1 - (1 - w) * (1 - f) ** (dp - 1), rel=1e-12) and wa + wb == pytest.approx(1.0)
    wa1, _, _ = K._pass_weights(False, True, B, 1000.0, 100.0, 0.0, 1.0, f, 5.0, 1, 0.1, False, 0.0, 0.0, 0.0,
                                0.0, True)
    assert wa1 == pytest.approx(w, rel=1e-12)
    x, _keep, q = K._separate_prefill(600.0, 3000.0, 3000.0, B, True, dp)
    assert q == pytest.approx(1 - (1 / (1 + x)) ** (dp - 1), rel=1e-12)
    free = serving.serve(_CASES["sglang-dp-attention"])
    synced = serving.serve(_CASES["sglang-dp-attention-lockstep"])
    assert free.tpot_s > synced.tpot_s


def test_chunk_640_to_644_step_is_gemm_tile_quantization():
    """The -4.4 % throughput step between chunk_tokens 640 and 644 (2 requests of 32,000 prompt
    tokens, one H100, a full budget: every step carries `chunk` tokens) is the compute model's
    tile quantization: it happens between 640 and 641 rows (one more row tile), all of it
    in the attention-projection and MLP GEMMs, whose efficiency drops there; the scheduler's
    terms move by the same small amount per token on both sides."""
    from infra_lab import compute

    def run(chunk):
        d = _sc(model="llama3-8b", acc="H100", gpus=1, tp=1, concurrency=2, chunk_tokens=chunk,
                input_tokens=32000, output_tokens=32)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            r = serving.serve(d)
        return r.output_tokens_per_s, dict(zip(r.breakdown["component"], r.breakdown["seconds"], strict=True))

    (t639, b639), (t640, b640), (t641, b641), (t642, b642) = (run(c) for c in (639, 640, 641, 642))
    assert t641 / t640 - 1 < -0.04 and abs(t640 / t639 - 1) < 0.005 and abs(t642 / t641 - 1) < 0.005
    jump = {k: b641[k] - b640[k] for k in b640}
    gemm = jump["attention_gemm"] + jump["mlp_gemm"]
    assert gemm > 0.9 * sum(jump.values())
    for k in jump:
        if k not in ("attention_gemm", "mlp_gemm"):
            assert abs(jump[k] - (b640[k] - b639[k])) < 1e-6, k
    eff = compute.gemm_efficiencies([640, 641], [4096, 4096], [4096, 4096], "H100", "fp8")
    assert eff[1] < 0.95 * eff[0]


# ------------------------------------ DP attention on separate-prefill engines, step by step
def _synchronized_ranks(dp, B, n_out, t_dec, t_pre, steps, seed):
    """Output tokens per second and mean TPOT [tok/s, s] of ``dp`` ranks that each choose a
    prefill forward (when a prompt waits: prefill first) or a decode step on their own and step
    together, every global step lasting its longest forward (the longer of ``t_pre`` and
    ``t_dec`` when some ranks prefill and others decode); ``B`` closed-loop clients per rank, one prompt per forward, a finished
    request replaced on its rank at the end of the step; the first fifth discarded."""
    import random

    rng = random.Random(seed)
    left = [[rng.randint(1, n_out - 1) for _ in range(B)] for _ in range(dp)]  # tokens to go
    first = [[0.0] * B for _ in range(dp)]  # time of each request's first token
    waiting = [[] for _ in range(dp)]
    t, t0, tokens, tpot_sum, tpot_n = 0.0, 0.0, 0, 0.0, 0
    for s in range(steps):
        if s == steps // 5:
            t0, tokens, tpot_sum, tpot_n = t, 0, 0.0, 0
        prefill = [bool(w) for w in waiting]
        if all(prefill):
            t += t_pre
        elif any(prefill):
            t += max(t_pre, t_dec)
        else:
            t += t_dec
        for r in range(dp):
            if prefill[r]:
                waiting[r].pop()
                left[r].append(n_out - 1)
                first[r].append(t)
                tokens += 1  # the first token comes out of the prefill forward
                continue
            keep_left, keep_first = [], []
            for n, t1 in zip(left[r], first[r], strict=True):
                tokens += 1
                if n == 1:
                    if t1 > 0.0:
                        tpot_sum += (t - t1) / (n_out - 1)
                        tpot_n += 1
                    waiting[r].append(t)
                else:
                    keep_left.append(n - 1)
                    keep_first.append(t1)
            left[r], first[r] = keep_left, keep_first
    return tokens / (t - t0), tpot_sum / tpot_n


@pytest.mark.parametrize(("t_dec", "t_pre"), [(0.033, 0.24), (0.12, 0.03)])
def test_dp_attention_stretch_matches_synchronized_ranks_step_by_step(t_dec, t_pre):
    """The separate-prefill DP-attention terms (docs/serving.md: a decode step lasts another
    rank's prefill forward with probability q = 1 − (1/(1 + x))^(dp − 1), the rank's own x
    forwards weighted 1 − u/B, the engine step (1 − q)·decode + (q + x)·prefill setting the
    prompts per step) against ranks simulated step by step, with abstract step times (a 33 ms
    decode step, a 0.24 s prefill forward: the DeepSeek-V3 case of docs/serving-history.md; and
    a decode step four times a prefill forward, short prompts among many decoding requests,
    where a prefill forward lasts another rank's decode step with probability
    r = 1 − (x/(1 + x))^(dp − 1) instead): the kernel's functions, iterated to their fixed
    point, give the simulated throughput and TPOT within 3 % at dp = 8 and dp = 2, and the plain
    separate-prefill engine at dp = 1; nothing is counted twice (own forwards and the other
    ranks' stretch)."""
    from infra_lab._kernels import serving as K

    n_in, B, n_out = 3000.0, 32, 500
    for dp in (8, 2, 1):
        p_tok = B * n_in / n_out
        for _ in range(100):
            m_pre = min(8192.0, max(n_in, p_tok))
            assert m_pre == n_in  # one prompt per forward, as simulated
            prompts = p_tok / n_in
            x, keep, q = K._separate_prefill(p_tok, n_in, m_pre, float(B), True, dp)
            r = K._prefill_waits(x, True, dp)
            wa, wb, _ = K._pass_weights(False, False, float(B), n_in, float(n_out), 0.0, 1.0, 0.0, -1.0, dp,
                                        prompts, False, x, keep, q, r, t_pre >= t_dec)
            cycle = wa * t_pre + wb * t_dec
            ttft, frac, step = K._ttft_in_service(False, cycle, t_pre, t_dec, n_in, 0.0, m_pre, 0.0, p_tok,
                                                  prompts, 0.0, 0.0, x, q, r)
            assert 0.0 <= frac <= 1.0
            rate = B / (ttft + (n_out - 1) * cycle)
            p_tok = rate * n_in * step
        model_tps = dp * B * n_out / (ttft + (n_out - 1) * cycle)
        sim_tps, sim_tpot = _synchronized_ranks(dp, B, n_out, t_dec, t_pre, steps=40000, seed=dp)
        assert model_tps == pytest.approx(sim_tps, rel=0.03), dp
        assert cycle == pytest.approx(sim_tpot, rel=0.03), dp


def test_sglang_dp_attention_default_budget_is_per_rank_share():
    """SGLang with DP attention divides --chunked-prefill-size by dp_size: each rank prefills
    at most chunked_prefill_size // dp tokens a forward (``_handle_data_parallelism`` in
    https://github.com/sgl-project/sglang/blob/v0.5.23/python/sglang/srt/arg_groups/parallel_hook.py#L326-L335,
    "DP attention is enabled. chunked prefill size is adjusted from ... to ..."), so DeepSeek-V3 on 8
    H200 (default 8192) prefills 1,024-token forwards per rank: the stack's default equals the
    deployment's own chunk_tokens = 1024 (2,669 output tokens/s; 2,143 with 8,192 per rank; 2,642 and 2,132
    before the serving GEMMs read their weights at the stack's memory rate above the row padding,
    2,598 and 2,120 before they stopped paying the fixed time per kernel twice, 2026-12-07).
    Driven by the stack parameter dp_attention_chunk_split, not by the engine's name."""
    d = _CASES["sglang-dp-attention"]
    share = {**d, "serving": {**d["serving"], "chunk_tokens": 8192 // 8}}
    assert serving.serve(d).output_tokens_per_s == pytest.approx(serving.serve(share).output_tokens_per_s, rel=1e-6)
    assert serving.serve(d).output_tokens_per_s == pytest.approx(2669, rel=0.01)
    whole = serving.serve(d, stack_params={"dp_attention_chunk_split": 0})
    assert whole.output_tokens_per_s == pytest.approx(serving.serve(d).output_tokens_per_s * 2143 / 2669, rel=0.01)
    # the 16,384 default of a >= 160 GB GPU is shared out the same way; dp = 1 keeps it whole
    b200 = _sc(model="deepseek-v3", acc="B200", engine="sglang", tp=1, dp=8, ep=8, dp_attention=True,
               weight_precision="fp4", concurrency=256, input_tokens=3000, output_tokens=500)
    b200_share = {**b200, "serving": {**b200["serving"], "chunk_tokens": 16384 // 8}}
    for ref in (False, True):
        assert serving.serve(b200, reference=ref).output_tokens_per_s == pytest.approx(
            serving.serve(b200_share, reference=ref).output_tokens_per_s, rel=1e-9)


def test_dp_attention_chunk_split_is_the_stacks_not_the_engines():
    """Stacks whose engine gives every DP rank the whole budget (vLLM, TensorRT-LLM, ATOM, and
    the early SGLang stacks, whose halving rule is not pinned) keep chunk_tokens per rank;
    switching the parameter on moves them to the per-rank share in kernel and reference alike."""
    from infra_lab import stacks

    split = {s: stacks.params(s)["dp_attention_chunk_split"] for s in stacks.names("serving")}
    assert {s for s, v in split.items() if v} == {"sglang-cuda", "sglang-rocm"}
    d = _CASES["trt-dp-attention-lockstep"]
    no_chunk = {**d, "serving": {k: v for k, v in d["serving"].items() if k != "chunk_tokens"}}
    default = stacks.params("trt-llm-cuda")["chunk_tokens_160gb"]  # B200: >= 160 GB
    per_rank = {**d, "serving": {**d["serving"], "chunk_tokens": int(default) // 8}}
    base = serving.serve(no_chunk).output_tokens_per_s
    on = serving.serve(no_chunk, stack_params={"dp_attention_chunk_split": 1})
    on_ref = serving.serve(no_chunk, stack_params={"dp_attention_chunk_split": 1}, reference=True)
    assert on.output_tokens_per_s == pytest.approx(serving.serve(per_rank).output_tokens_per_s, rel=1e-9)
    assert on_ref.output_tokens_per_s == pytest.approx(on.output_tokens_per_s, rel=1e-9)
    # the switch moves the result (about 0.1 % here at trt-llm-cuda's factors since the refit of
    # 2026-12-07), far above the 1e-9 agreement asserted above
    assert abs(on.output_tokens_per_s / base - 1.0) > 1e-4


def test_published_sglang_dp_attention_flag_is_divided_by_dp():
    """A benchmark row's --chunked-prefill-size is SGLang's engine-wide value: under DP attention
    its scenario carries flag // dp per rank on the current stack; the early stack keeps the flag."""
    from infra_lab.serving import published as P

    row = P.benchmarks().filter(pl.col("id") == "DSTACK-DSR1-H200-sglang-c32").row(0, named=True)
    row = {**row, "engine_args": row["engine_args"] + " --chunked-prefill-size 16384"}
    early, _, why = P._row_scenario(row)
    assert why == "" and early.serving.stack == "sglang-cuda-early" and early.serving.chunk_tokens == 16384
    current, _, why = P._row_scenario({**row, "engine_version": "SGLang 0.5.2"})
    assert why == "" and current.serving.stack == "sglang-cuda" and current.serving.chunk_tokens == 16384 // 8


def test_a_split_that_misses_the_gpus_says_the_dp_that_fits():
    """A new user gave serve_search 100,000 H100 with tp = 8 (the search picks the split, so why
    set one?): the error now names the dp that makes the split consistent."""
    d = {"name": "s", "model": {"preset": "llama3.3-70b"}, "hardware": {"accelerator": "H100-SXM", "nodes": 2},
         "serving": {"tp": 8}}
    with pytest.raises(ValidationError, match=r"they must be equal \(e\.g\. dp = 2\); il\.serve_search searches"):
        il.serve_search(d, top=1)
    d["serving"]["tp"] = 3
    with pytest.raises(ValidationError, match=r"they must be equal; il\.serve_search"):
        il.Scenario.from_dict(d)
    d["serving"].update(tp=8, dp=2)
    assert il.Scenario.from_dict(d).serving.gpus == 16


def test_tpot_defined_and_calibrate_refuse_a_wrong_type_by_name():
    """serving.tpot_defined(scenario) failed with "TypeError: '>' not supported" and
    serving.calibrate(scenario) with "'Scenario' object is not iterable" (a single name was
    iterated letter by letter): each is a ValidationError naming the argument."""
    ss = il.load_scenario("maia-class-serving-mi300x")
    with pytest.raises(ValidationError, match=r"^output_tokens = Scenario\(.*\(a Scenario\): expected a number"):
        serving.tpot_defined(ss)
    assert serving.tpot_defined(np.int64(2)) and not serving.tpot_defined(1)
    for bad in (ss, "gemm_time_scale", 3):
        with pytest.raises(ValidationError, match=r"^parameters = .*: expected a list of calibrated serving parameter names"):
            serving.calibrate(bad)
    with pytest.raises(ValidationError, match=r"^parameters: 3 is not a name; allowed: gemm_time_scale"):
        serving.calibrate([3])
