"""One owner of the KV cache's split over tensor-parallel GPUs: infra_lab.memory
(kv_share_per_gpu: max(1, kv_heads // tp) KV heads a GPU, MLA's latent whole, vLLM's
ModelConfig.get_num_kv_heads). il.serve's kernel takes it as an input per tp and the plain
reference reads it; before, both restated it as min(tp, kv_heads) GPUs a token's KV is spread
over, which agrees wherever vLLM runs (QKVParallelLinear needs kv_heads and tp to divide one
another) and differed from memory's rule only where they do not (mixtral-8x22b, 8 KV heads, at
tp 3 and 6: 1/3 and 1/6 of a token's KV a GPU against memory's 2/8 and 1/8). Those sizes are now
refused by the one owner of the tensor-parallel rule (infra_lab.memory.tp_accepted,
tests/test_serving_tp_kv_heads_rule.py), kv_share_per_gpu included."""

from __future__ import annotations

import pytest

import infra_lab as il
from infra_lab import memory
from infra_lab.errors import ValidationError

GRID = [("llama3.3-70b", (1, 2, 4, 8)), ("llama3-8b", (1, 2, 4, 8)), ("mixtral-8x22b", (2, 4, 8)),
        ("deepseek-v3", (8,))]


def _sc(model: str, tp: int, conc: int = 4) -> il.Scenario:
    return il.Scenario.from_dict({
        "model": {"preset": model},
        "hardware": {"accelerator": "H200", "nodes": 1, "gpus_per_node": tp},
        "serving": {"engine": "vllm", "tp": tp, "input_tokens": 1024, "output_tokens": 1024,
                    "concurrency": conc, "weight_precision": "fp8"}})


@pytest.mark.parametrize(("model", "tp"), [(m, t) for m, tps in GRID for t in tps])
def test_serving_kv_bytes_per_gpu_equal_memory_s(model, tp):
    spec = il.models.get(model)
    # the grid's models cache every position of the context (no sliding window), so the two
    # owners must agree on the whole cache, not only on the split
    assert spec.sliding_window == 0, (model, spec.sliding_window)
    sc = _sc(model, tp)
    for reference in (False, True):
        r = il.serve(sc, reference=reference)
        assert r.fits and not r.kv_limited and r.running_requests == pytest.approx(4)
        # the mean context of a request in flight: prompt + half the output
        mem = memory.inference_memory(spec, "H200", context=1024 + 512, batch=4, gpus=tp,
                                      kv_precision=sc.serving.kv_precision)
        kv = dict(mem.select("component", "bytes").iter_rows())["kv_cache"]
        assert r.kv_cache_per_gpu_bytes == pytest.approx(kv, rel=1e-9), (model, tp, reference)


def test_kv_share_per_gpu_is_vllm_s_rule():
    m = il.models.get("mixtral-8x22b")          # 48 heads, 8 KV heads
    assert [memory.kv_share_per_gpu(m, t) for t in (1, 2, 4, 8, 16)] == [1.0, 0.5, 0.25, 0.125, 0.125]
    with pytest.raises(ValidationError, match=r"tp = 6: .*neither divides the 8 KV heads"):
        memory.kv_share_per_gpu(m, 6)          # no engine runs it: max(1, 8 // 6) would be a guess
    assert memory.kv_share_per_gpu(il.models.get("deepseek-v3"), 8) == 1.0   # MLA: the latent whole


def test_kv_share_per_gpu_takes_a_preset_name_a_scenario_and_a_model_table():
    """memory.kv_share_per_gpu('llama3-70b', 2) failed with AttributeError ('str' object has no
    attribute 'attention') although its signature takes a preset name, a Scenario or a [model]
    table; each gives the ModelSpec's share, and check_tp names the field for each."""
    from infra_lab.memory.inference import check_tp

    m = il.models.get("llama3-70b")
    for given in ("llama3-70b", {"preset": "llama3-70b"}):
        assert [il.memory.kv_share_per_gpu(given, t) for t in (1, 2, 8, 16)] == \
            [il.memory.kv_share_per_gpu(m, t) for t in (1, 2, 8, 16)] == [1.0, 0.5, 0.125, 0.125]
    sc = il.load_scenario("zaya1-ibm-mi300x")
    assert il.memory.kv_share_per_gpu(sc, 2) == il.memory.kv_share_per_gpu(sc.model_spec, 2)
    with pytest.raises(ValidationError, match=r"^tp = 3: .*64 attention heads of llama3-70b"):
        check_tp("llama3-70b", 3)
