"""A MoE [model] table that leaves top_k out is told so (session 37's user pass: writing a
30B-A3B MoE by hand).

Before: "model.top_k = 0: must be between 1 and experts = 128" for a table that never wrote 0
(the value is the dense default)."""

from __future__ import annotations

import pytest

import infra_lab as il

MOE = {"layers": 48, "hidden": 2048, "heads": 32, "kv_heads": 4, "vocab": 151936, "experts": 128,
       "expert_ffn_hidden": 768}


def _scenario(model):
    return {"name": "moe", "model": model, "hardware": {"accelerator": "MI300X", "nodes": 32},
            "training": {"seq_len": 4096, "global_batch": 1024, "micro_batch": 1}}


def test_a_moe_without_top_k_is_told_it_was_not_given():
    with pytest.raises(il.ValidationError) as e:
        il.Scenario.from_dict(_scenario(MOE))
    msg = str(e.value)
    assert msg.startswith("model.top_k = 0 (the dense default: top_k not given)") and "experts = 128" in msg


def test_a_top_k_given_out_of_range_is_refused_without_the_default_remark():
    with pytest.raises(il.ValidationError) as e:
        il.Scenario.from_dict(_scenario(dict(MOE, top_k=200)))
    assert str(e.value).startswith("model.top_k = 200: a MoE routes") and "not given" not in str(e.value)
    assert il.Scenario.from_dict(_scenario(dict(MOE, top_k=8))).model_spec.top_k == 8
