"""The il.memory calls that take a model (``spec``) accept a text Scenario and refuse a
multimodal system by naming its language model (session 37's user pass: serving a Maia-class
model, then asking il.memory how many requests fit).

Before: ``il.memory.max_inference_batch("maia-class", "MI300X", 15436)`` said "unknown model
preset 'maia-class' … Did you mean 'zaya1-base', 'mixtral-8x7b', 'llama3-8b'?" (the shipped
serving scenario's own preset, offered three unrelated guesses), and the scenario itself was
refused as "expected a model preset name, a [model] table (dict) or a ModelSpec"."""

from __future__ import annotations

import pytest

import infra_lab as il


def test_a_text_scenario_is_its_model():
    sc = il.load_scenario("zaya1-ibm-mi300x")
    assert il.memory.max_inference_batch(sc, "MI300X", 4096) == il.memory.max_inference_batch(
        "zaya1-base", "MI300X", 4096)
    assert il.memory.kv_cache_bytes(sc, 4096) == il.memory.kv_cache_bytes(sc.model_spec, 4096)


@pytest.mark.parametrize("given", ["maia-class", "scenario"])
def test_a_multimodal_system_is_refused_naming_its_language_model(given):
    sc = il.load_scenario("maia-class-serving-mi300x")
    spec = sc if given == "scenario" else given
    with pytest.raises(il.ValidationError) as e:
        il.memory.max_inference_batch(spec, "MI300X", 15436)
    msg = str(e.value)
    assert "a multimodal system" in msg and repr(sc.model_spec.name) in msg and "no encoders" in msg
    # the way out it names works
    assert il.memory.max_inference_batch(sc.model_spec.name, "MI300X", 15436) > 0
