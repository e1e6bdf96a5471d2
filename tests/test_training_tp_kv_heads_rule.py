"""The training frameworks' tensor-parallel rules for KV heads and expert tensor parallelism, one
owner each (infra_lab.memory.training_tp_accepted, training_etp_accepted) read by the Scenario's
[parallelism] check and il.search's enumeration.

Megatron-Core's TransformerConfig.__post_init__ (Megatron-LM d98e8a64, transformer_config.py
L1446-L1468) raises unless tp divides num_attention_heads and num_query_groups (the KV heads) is
a multiple or a divisor of tp (the divisor half since f7dfb99, 2025-12-06): the serving engines'
rule. torchtitan's decoder config (b5bcd76, models/common/decoder.py L185-L199) raises unless tp
divides n_heads and n_kv_heads. torchtitan's ParallelDims._validate (a2b5ee6, the commit before
ETP was deprecated) asserts etp == tp or etp == 1 when ep > 1. Before: the training side checked
only that tp divides the attention heads, so il.search on a 72-GPU NVLink domain offered tp 16 for
Llama-3-70B (8 KV heads) on torchtitan, which refuses it."""

from __future__ import annotations

import pytest

import infra_lab as il
from infra_lab import memory
from infra_lab.errors import UnknownNameError, ValidationError
from infra_lab.memory.inference import check_training_tp, training_etp_accepted, training_tp_family

MEGATRON = ("megatron-core-cuda", "megatron-core-rocm", "megatron-core-cuda-asym", "megatron-lm-2022-cuda")
TORCHTITAN = ("torchtitan-cuda", "torchtitan-rocm")
GQA = {"name": "kv6", "layers": 2, "hidden": 3072, "heads": 24, "kv_heads": 6, "vocab": 1000}


def _megatron(heads: int, kv: int, tp: int) -> bool:
    """TransformerConfig.__post_init__'s two raises, written out."""
    return heads % tp == 0 and (kv % tp == 0 or tp % kv == 0)


def _torchtitan(heads: int, kv: int, tp: int) -> bool:
    """torchtitan's decoder Config.update_from_config raises, written out."""
    return heads % tp == 0 and kv % tp == 0


@pytest.mark.parametrize(("heads", "kv"), [(24, 6), (48, 8), (28, 4), (64, 8), (64, 4), (32, 32), (8, 2), (12, 3)])
def test_each_framework_takes_its_own_rule(heads, kv):
    spec = il.models.ModelSpec(**{**GQA, "heads": heads, "kv_heads": kv, "hidden": heads * 128})
    for stacks, rule in ((MEGATRON, _megatron), (TORCHTITAN, _torchtitan)):
        want = [t for t in range(1, heads + 1) if rule(heads, kv, t)]
        for st in stacks:
            assert [t for t in range(1, heads + 1) if memory.training_tp_accepted(spec, t, st)] == want
            assert memory.training_tp_sizes(spec, st) == want
    # Megatron-Core's rule is the serving engines' (composed, not copied)
    assert memory.training_tp_sizes(spec, "megatron-core-cuda") == memory.tp_sizes(spec)


@pytest.mark.parametrize(("model", "tp", "stack", "ok", "why"), [
    ("llama3-70b", 16, "megatron-core-cuda", True, "a multiple of the 8 KV heads: each replicated on 2 GPUs"),
    ("llama3-70b", 16, "torchtitan-cuda", False, "does not divide the 8 KV heads"),
    ("llama3-70b", 8, "torchtitan-rocm", True, "divides the 64 heads and the 8 KV heads"),
    ("qwen3-235b-a22b", 8, "torchtitan-cuda", False, "does not divide the 4 KV heads"),
    ("qwen3-235b-a22b", 8, "megatron-core-rocm", True, "a multiple of the 4 KV heads"),
    ("qwen2.5-7b", 14, "megatron-core-cuda", False, "neither divides nor is a multiple of the 4 KV heads"),
    ("qwen2.5-7b", 3, "megatron-core-cuda", False, "does not divide the 28 heads"),
    ("deepseek-v3", 128, "torchtitan-cuda", True, "MLA: the heads rule alone"),
    ("deepseek-v3", 3, "megatron-core-cuda", False, "MLA: 3 does not divide the 128 heads"),
    ("llama2-7b", 32, "torchtitan-cuda", True, "MHA: KV heads = heads"),
    ("zaya1-base", 4, "megatron-core-rocm", True, "CCA's 2 KV heads: 4 is a multiple"),
    ("zaya1-base", 4, "torchtitan-rocm", False, "CCA's 2 KV heads: 4 does not divide them"),
])
def test_accepted_and_refused_examples(model, tp, stack, ok, why):
    assert memory.training_tp_accepted(il.models.get(model), tp, stack) is ok, why


def _scenario(model: str, stack: str, tp: int, **par) -> dict:
    return {"model": {"preset": model}, "hardware": {"accelerator": "GB200", "nodes": 4, "gpus_per_node": 4},
            "training": {"seq_len": 4096, "global_batch": 64, "stack": stack}, "parallelism": {"tp": tp, **par}}


def test_the_scenario_refuses_a_tp_the_framework_refuses_naming_field_heads_and_allowed():
    il.Scenario.from_dict(_scenario("llama3-70b", "megatron-core-cuda", 16))      # KV heads replicated
    with pytest.raises(ValidationError) as e:
        il.Scenario.from_dict(_scenario("llama3-70b", "torchtitan-cuda", 16))
    msg = str(e.value)
    assert msg.startswith("parallelism.tp = 16: ")
    for part in ("64 attention heads", "8 KV heads", "torchtitan", "'torchtitan-cuda'", "allowed 1, 2, 4, 8"):
        assert part in msg, part
    with pytest.raises(ValidationError, match=r"parallelism\.tp = 16: 16 divides the 28 attention heads|"
                                              r"parallelism\.tp = 16: tensor parallelism splits the 28 attention "
                                              r"heads of qwen2.5-7b \(4 KV heads\).*allowed 1, 2, 4, 28"):
        il.Scenario.from_dict(_scenario("qwen2.5-7b", "megatron-core-cuda", 16))
    # the plan is checked after the stack: a misspelt stack, or one for the other vendor, is named as such
    with pytest.raises(UnknownNameError, match=r"training\.stack"):
        il.Scenario.from_dict(_scenario("llama3-70b", "torchtitan-cud", 16))
    with pytest.raises(ValidationError, match=r"training\.stack"):
        il.Scenario.from_dict(_scenario("llama3-70b", "torchtitan-rocm", 16))


def test_the_error_names_which_half_of_the_rule_breaks():
    spec = il.models.get("qwen2.5-7b")                                # 28 heads, 4 KV heads
    with pytest.raises(ValidationError, match=r"^tp = 14: 14 divides the 28 attention heads of qwen2.5-7b but "
                                              r"neither divides its 4 KV heads \(query groups\) nor is a multiple "
                                              r"of them \(Megatron-Core.*; allowed 1, 2, 4, 28$"):
        check_training_tp(spec, 14, "megatron-core-cuda", "tp")
    with pytest.raises(ValidationError, match=r"^gpus = 8: 8 divides the 28 attention heads|^gpus = 8: tensor"):
        check_training_tp(spec, 8, "torchtitan-cuda", "gpus")
    with pytest.raises(UnknownNameError, match=r"unknown training stack 'vllm-cuda'"):
        training_tp_family("vllm-cuda")


@pytest.mark.parametrize("model", ["llama3-70b", "llama2-7b", "deepseek-v3", "qwen3-235b-a22b", "zaya1-base"])
@pytest.mark.parametrize("stack", ["megatron-core-cuda", "torchtitan-cuda"])
def test_search_never_returns_a_tp_the_framework_refuses(model, stack):
    d = _scenario(model, stack, 1)
    d.pop("parallelism")
    got = il.search(d, top=None, feasible_only=False, stack=stack, tp_across_domains=True, max_micro_batch=1,
                    max_vp=1, max_cp=1, max_pp=2, max_ep=4)
    spec = il.models.get(model)
    tps = sorted(set(got["tp"].to_list()))
    assert tps == [t for t in (1, 2, 4, 8, 16) if memory.training_tp_accepted(spec, t, stack)]
    if spec.experts:                                    # and no expert layout the framework refuses
        layouts = set(zip(got["ep"].to_list(), got["etp"].to_list(), got["tp"].to_list(), strict=True))
        assert all(training_etp_accepted(etp, tp, ep, stack) for ep, etp, tp in layouts)
        other = {(ep, etp, tp) for ep, etp, tp in layouts if ep > 1 and etp not in (1, tp)}
        assert bool(other) is stack.startswith("megatron"), other     # e.g. ep 2, etp 2, tp 1 on Megatron
    from infra_lab.training import plan_space_size

    assert plan_space_size(d, stack=stack, tp_across_domains=True, max_micro_batch=1, max_vp=1, max_cp=1,
                           max_pp=2, max_ep=4) == got.height


def test_a_tp_constraint_the_framework_refuses_names_the_rule():
    d = _scenario("llama3-70b", "torchtitan-cuda", 1)
    d.pop("parallelism")
    with pytest.raises(ValidationError, match=r"search constraint tp = 16: .*the 64 attention heads and the 8 KV "
                                              r"heads \(torchtitan\): sizes \[1, 2, 4, 8\] on stack 'torchtitan-cuda'"):
        il.search(d, tp=16)
    assert il.search(d, tp=16, stack="megatron-core-cuda", top=1).height == 1


def test_expert_tensor_parallel_rule():
    for tp, ep, etp in ((4, 8, 1), (4, 8, 4), (4, 1, 2), (1, 8, 1)):
        assert training_etp_accepted(etp, tp, ep, "torchtitan-rocm")
    assert not training_etp_accepted(2, 4, 8, "torchtitan-cuda")
    assert all(training_etp_accepted(etp, 4, 8, "megatron-core-cuda") for etp in (1, 2, 4, 8))
    ok = _scenario("qwen3-30b-a3b", "megatron-core-cuda", 4, ep=4, etp=2)
    il.Scenario.from_dict(ok)
    with pytest.raises(ValidationError, match=r"^parallelism\.etp = 2: with ep = 4 > 1 the training stack "
                                              r"'torchtitan-cuda' \(torchtitan\).*allowed etp = 1 or 4$"):
        il.Scenario.from_dict({**ok, "training": {**ok["training"], "stack": "torchtitan-cuda"}})
