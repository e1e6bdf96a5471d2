"""ServeResult and the multimodal results print readably (``print(r)`` and what IPython/Jupyter
show), one field a line with its unit, as Estimate and CollectiveResult do; ``repr`` stays the
exact dataclass repr. Before: they printed the full-precision dataclass repr (and the readable
printout would have shown ``output_tokens_per_s`` as seconds: value_text read the ``_s``)."""

from __future__ import annotations

import re

import pytest
from test_result_reprs import _pretty

import infra_lab as il
import infra_lab.multimodal as mm
from infra_lab._repr import value_text

LONG_FLOAT = re.compile(r"[1-9]\.?\d{6,}")   # 7 or more significant digits




def _lines(text: str) -> dict[str, str]:
    out = {}
    for line in text.splitlines():
        if line.startswith("  ") and not line.strip().startswith(("(", "note:")):
            k, v = line.strip().split(None, 1)
            out.setdefault(k, v)
    return out


@pytest.fixture(scope="module")
def served():
    return mm.serve("maia-class-serving-mi300x")


def test_serve_result_prints_units_and_keeps_the_exact_repr(served):
    r = served.result
    text = str(r)
    assert text.startswith("ServeResult: maia-class-serving-mi300x, 8 × MI300X (vllm-rocm), concurrency ")
    assert not LONG_FLOAT.search(text), text
    got = _lines(text)
    for name, unit in (("output_tokens_per_s", "tokens/s"), ("total_tokens_per_s", "tokens/s"),
                       ("output_tokens_per_s_per_gpu", "tokens/s/GPU"), ("total_tokens_per_s_per_gpu", "tokens/s/GPU"),
                       ("tokens_per_s_per_user", "tokens/s per user")):
        assert got[name].endswith(" " + unit), (name, got[name])
    assert got["ttft_s"].endswith(("ms", " s")) and got["memory_per_gpu_bytes"].endswith("GiB)")
    assert got["prefill_time_fraction"].endswith("%)") and got["prompt_tokens"].endswith("tokens")
    assert set(r.to_dict()) <= set(got)
    assert repr(r).startswith("ServeResult(stack='vllm-rocm'") and _pretty(r) == text
    assert value_text("output_tokens_per_s", 10179.0) == "10,179 tokens/s"


def test_multimodal_results_print_units(served):
    text = str(served)
    assert text.startswith("MultimodalServeResult: multimodal serving") and _pretty(served) == text
    assert "ServeResult: " in text and "EncoderPrefill: encoder work of one request" in text
    assert not LONG_FLOAT.search(text), text
    got = _lines(str(served.prefill))
    assert got["time_s"].endswith("ms") and got["flops"].endswith("FLOP") and got["mfu"].endswith("%)")
    assert got["lm_positions"].endswith("positions")
    st = mm.packing_stats("qwen2.5-vl-7b", {"text": 0.6, "image": 0.4}, 4096)
    s = str(st)
    assert not LONG_FLOAT.search(s), s
    got = _lines(s)
    assert got["waste"].endswith("%)") and got["text_positions"].endswith("positions")
    assert len(got["shares"].split(", ")) == 3
    assert repr(st).startswith("PackingStats(seq_len=4096")
    sc = il.Scenario.from_dict(mm.example_scenario("qwen2.5-vl-7b", {"text": 0.5, "image": 0.5}, nodes=2))
    e = mm.estimate(sc)
    t = str(e)
    assert t.startswith("MultimodalEstimate: multimodal training step") and "\nEstimate: " in t
    assert _lines(t)["useful_tokens_per_s"].endswith("tokens/s") and _pretty(e) == t
    assert not LONG_FLOAT.search(t), t
