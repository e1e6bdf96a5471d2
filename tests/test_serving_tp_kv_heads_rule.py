"""The tensor-parallel rule of grouped-query attention, one owner (infra_lab.memory.tp_accepted)
read by inference memory, il.serve and il.serve_search.

vLLM's and SGLang's ``LlamaAttention`` assert that tp divides the attention heads and that
either kv_heads % tp == 0 (KV heads partitioned) or tp % kv_heads == 0 (KV heads replicated);
vLLM's ``QKVParallelLinear`` divides the same way. Before: il.serve and il.serve_search checked
only the attention heads, so mixtral-8x22b (48 heads, 8 KV heads) at tp 6 was served with
max(1, 8 // 6) = 1 KV head a GPU (122.6 output tokens/s/GPU on six H100s, 1,024/1,024 tokens,
16 requests), and serve_search offered tp 3 and 6 for it; no engine runs those."""

from __future__ import annotations

import itertools

import pytest

import infra_lab as il
from infra_lab import memory
from infra_lab.errors import ValidationError

# a model whose KV heads and a tp divide neither way (the brief's case: 6 KV heads, tp 4)
KV6 = {"name": "kv6", "layers": 2, "hidden": 3072, "heads": 24, "kv_heads": 6, "vocab": 1000}


def _sc(model, gpus: int, tp: int, dp: int = 1) -> dict:
    m = {"preset": model} if isinstance(model, str) else dict(model)
    return {"model": m, "hardware": {"accelerator": "H100", "nodes": 1, "gpus_per_node": gpus},
            "serving": {"engine": "vllm", "tp": tp, "dp": dp, "concurrency": 16,
                        "input_tokens": 1024, "output_tokens": 1024}}


def _engine_rule(heads: int, kv: int, tp: int) -> bool:
    """The engines' asserts written out independently (LlamaAttention.__init__)."""
    if heads % tp:
        return False
    if kv >= tp:
        return kv % tp == 0
    return tp % kv == 0


@pytest.mark.parametrize(("heads", "kv"), [(24, 6), (48, 8), (28, 4), (64, 8), (32, 32), (8, 2), (12, 3)])
def test_tp_accepted_is_the_engines_rule(heads, kv):
    spec = il.models.ModelSpec(**{**KV6, "heads": heads, "kv_heads": kv, "hidden": heads * 128})
    got = [t for t in range(1, heads + 1) if memory.tp_accepted(spec, t)]
    want = [t for t in range(1, heads + 1) if _engine_rule(heads, kv, t)]
    assert got == want == memory.tp_sizes(spec)
    assert 1 in got and heads in got


def test_mla_needs_only_the_heads_rule():
    ds = il.models.get("deepseek-v3")            # one latent on every GPU, no KV heads to split
    assert memory.tp_sizes(ds) == [t for t in range(1, ds.heads + 1) if ds.heads % t == 0]


@pytest.mark.parametrize(("model", "tp", "kv"), [(KV6, 4, 6), ("mixtral-8x22b", 6, 8), ("mixtral-8x22b", 3, 8),
                                                 ("qwen2.5-7b", 7, 4)])
def test_serve_refuses_a_tp_that_splits_kv_heads_neither_way(model, tp, kv):
    with pytest.raises(ValidationError, match=rf"serving\.tp = {tp}: .*neither divides the {kv} KV heads"
                                              rf".*allowed 1, 2, "):
        il.serve(_sc(model, tp, tp))


def test_serve_error_lists_exactly_the_accepted_sizes():
    with pytest.raises(ValidationError) as e:
        il.serve(_sc(KV6, 4, 4))
    assert str(e.value).endswith("allowed 1, 2, 3, 6, 12, 24")
    with pytest.raises(ValidationError, match=r"serving\.tp = 5: .*tp must divide them.*allowed 1, 2, 3, 6, 12, 24"):
        il.serve(_sc(KV6, 5, 5))


def test_memory_refuses_the_same_sizes():
    for call in (memory.inference_memory, memory.max_inference_batch):
        with pytest.raises(ValidationError, match=r"gpus = 6: .*48 attention heads of mixtral-8x22b \(8 KV heads\)"):
            call("mixtral-8x22b", "H100", 1024, gpus=6)
    assert memory.max_inference_batch("mixtral-8x22b", "H200", 1024, gpus=8) > 0


@pytest.mark.parametrize(("model", "gpus"), [(KV6, 4), ("mixtral-8x22b", 6), ("qwen2.5-7b", 7)])
def test_serve_search_skips_the_refused_tp(model, gpus):
    spec = il.Scenario.from_dict(_sc(model, gpus, 1, gpus)).model_spec
    df = il.serve_search(_sc(model, gpus, 1, gpus), top=None, pareto=False)
    tried = set(df["tp"].to_list())
    assert tried, model
    assert all(memory.tp_accepted(spec, t) for t in tried)
    refused = [t for t in range(1, gpus + 1) if gpus % t == 0 and spec.heads % t == 0 and not memory.tp_accepted(spec, t)]
    assert refused and not tried & set(refused)
    # every tp it tries is one il.serve takes
    for t in tried:
        il.serve(_sc(model, gpus, t, gpus // t))


def test_serve_search_empty_reason_names_the_tp_not_tried():
    """mixtral-8x22b on six H100s with a TPOT bound nothing meets: the reason says tp 3 and 6
    were not tried (the engines refuse them), so the user knows the search did not miss them."""
    from infra_lab.errors import EmptyResultWarning

    with pytest.warns(EmptyResultWarning, match=r"tp 3, 6 not tried: .*48 attention heads of mixtral-8x22b and "
                                                 r"to divide, or be a multiple of, its 8 KV heads.*1, 2, 4, 8, 16, 24, 48"):
        df = il.serve_search(_sc("mixtral-8x22b", 6, 1, 6), max_tpot_s=1e-6)
    assert df.height == 0
    with pytest.warns(EmptyResultWarning) as w:      # nothing skipped: no such clause
        il.serve_search(_sc("llama3-70b", 8, 8), max_tpot_s=1e-6)
    assert "not tried" not in str(w[0].message)


def test_serve_and_search_agree_on_every_tp():
    """On one node of 6, 7 or 8 GPUs, a tp is in serve_search's splits exactly when il.serve
    takes it as serving.tp (and memory's inference_memory as gpus)."""
    from infra_lab.serving.search import _plans

    for name, gpus in itertools.product(("mixtral-8x22b", "qwen2.5-7b", "llama3-70b", "deepseek-v3"), (6, 7, 8)):
        sc = il.Scenario.from_dict(_sc(name, gpus, 1, gpus))
        planned = {p[0] for p in _plans(sc.model_spec, sc.hardware)}
        for tp in (t for t in range(1, gpus + 1) if gpus % t == 0):
            try:
                il.Scenario.from_dict(_sc(name, gpus, tp, gpus // tp))
                ok = True
            except ValidationError:
                ok = False
            assert ok == (tp in planned) == memory.tp_accepted(sc.model_spec, tp), (name, gpus, tp)
