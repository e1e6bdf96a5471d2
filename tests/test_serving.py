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
