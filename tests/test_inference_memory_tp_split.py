"""``il.memory.inference_memory`` / ``max_inference_batch`` split the KV cache over tensor
parallelism as vLLM does (``ModelConfig.get_num_kv_heads``): each GPU holds
max(1, kv_heads // gpus) KV heads, and MLA's latent whole; ``gpus`` must divide the attention
heads (``verify_with_parallel_config``).

Before: the cache was divided by ``gpus`` whatever the model, so DeepSeek-V3 (MLA) on 8 GPUs
showed 1/8 of the cache each GPU holds, Llama-3-70B (8 KV heads) on 16 GPUs half of it, and
``gpus=3`` for a 64-head model (which vLLM refuses) returned numbers."""

from __future__ import annotations

import pytest

import infra_lab as il
from infra_lab.errors import ValidationError

M = il.memory


def _kv(preset, gpus, context=8192, batch=4):
    df = M.inference_memory(preset, "MI300X", context, batch=batch, gpus=gpus)
    return df.filter(df["component"] == "kv_cache")["bytes"].item()


def test_gqa_kv_heads_split_until_one_per_gpu_then_replicated():
    whole = M.kv_cache_bytes("llama3-70b", 8192, 4)          # 8 KV heads
    for g in (1, 2, 4, 8):
        assert _kv("llama3-70b", g) == pytest.approx(whole / g, rel=1e-12)
    assert _kv("llama3-70b", 16) == pytest.approx(whole / 8, rel=1e-12)     # one KV head per GPU, replicated
    assert _kv("llama3-70b", 64) == pytest.approx(whole / 8, rel=1e-12)


def test_mla_latent_is_whole_on_every_gpu():
    whole = M.kv_cache_bytes("deepseek-v3", 8192, 4)
    assert _kv("deepseek-v3", 8) == pytest.approx(whole, rel=1e-12)
    assert _kv("deepseek-v3", 1) == pytest.approx(whole, rel=1e-12)


def test_max_inference_batch_agrees_with_inference_memory():
    for preset, gpus in (("llama3-70b", 2), ("llama3-70b", 16), ("deepseek-v3", 8), ("llama3-8b", 1)):
        n = M.max_inference_batch(preset, "MI300X", 8192, gpus=gpus)
        assert n > 0
        def free(b, preset=preset, gpus=gpus):
            df = M.inference_memory(preset, "MI300X", 8192, batch=b, gpus=gpus)
            return df.filter(df["component"] == "free")["bytes"].item()

        assert free(n) >= 0 > free(n + 1)


def test_one_gpu_unchanged():
    """One GPU: the whole cache, as before (the Llama-3-70B / MI300X figure notebook 02 prints)."""
    w = M.weight_bytes("llama3-70b")
    cap = il.catalog.accelerator("MI300X").memory_capacity_bytes
    assert M.max_inference_batch("llama3-70b", "MI300X", 4096) == int((0.9 * cap - w) // M.kv_cache_bytes("llama3-70b", 4096))


@pytest.mark.parametrize("call", [M.inference_memory, M.max_inference_batch])
def test_gpus_that_do_not_divide_the_heads_are_refused(call):
    with pytest.raises(ValidationError, match=r"gpus = 3: .*64 attention heads of llama3-70b.*allowed 1, 2, 4, 8, 16, 32, 64"):
        call("llama3-70b", "MI300X", 8192, gpus=3)
    with pytest.raises(ValidationError, match=r"gpus = 8: .*12 attention heads of gpt2-small"):
        call("gpt2-small", "MI300X", 1024, gpus=8)
