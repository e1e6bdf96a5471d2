"""A serving step that carries prompt tokens is never priced below the step without them.

The serving kernel prices two engine steps per pass (``infra_lab._kernels.serving``): ``ta``,
the step that carries prompt work (mixed engines: the decode tokens plus a prompt chunk;
separate-prefill engines: a prefill forward), and ``tb``, the decode-only step. The share of
the engine's time spent on prompts, ``prefill_time_fraction``, is the difference the prompt
work makes over the decode-only steps, so it is in [0, 1] exactly when no step is priced
shorter for carrying more work. Two ways it was not (docs/serving-history.md, 2026-12-06):

* mixed engines: the chunk step's parts were priced on their own, and a part can come out
  shorter with more rows: the model ran a 32-512 KiB all-reduce on gfx950 as a ring and a
  512 KiB one with MSCCL all-pairs (tp 8 on MI355X: 127 tokens 4.7 ms of all-reduces a step,
  128 tokens 2.4 ms; since serving-history entry 20 both run all-pairs, as RCCL's MSCCL
  scheduler does), and a GEMM's time at fractional rows scales its rounded-up shape's time;
  each part of the chunk step is now at least the decode-only step's;
* separate prefill under DP attention: a rank's decode step stretched by another rank's
  prefill forward was priced as that forward, even where the decode step (thousands of
  requests per rank, short prompts) is the longer; a step now lasts the longer of the two
  kinds its ranks run (and a prefill forward is stretched by the other ranks' decode steps).
"""

from __future__ import annotations

import pytest

import infra_lab as il
from infra_lab._kernels import serving as K


def _short(model, acc, engine, n_in, gpus=8):
    return {"name": "short-prompts", "model": {"preset": model},
            "hardware": {"accelerator": acc, "nodes": 1, "gpus_per_node": gpus},
            "serving": {"engine": engine, "input_tokens": n_in, "output_tokens": 100, "concurrency": 1, "dp": gpus}}


@pytest.mark.parametrize(("model", "acc", "engine", "n_in"), [
    ("mixtral-8x7b", "MI355X", "vllm", 128),      # mixed engine, tp 8: the all-reduce window
    ("qwen3-30b-a3b", "MI355X", "vllm", 2),       # mixed engine, rounded-up GEMM rows
    ("gpt-oss-20b", "MI355X", "sglang", 2),       # separate prefill, DP attention
    ("qwen3-30b-a3b", "MI300X", "sglang", 128),
    ("llama3-8b", "H100-SXM", "vllm", 2),         # dense, NVIDIA
    ("mixtral-8x7b", "H100-SXM", "sglang", 2),
])
def test_prefill_fraction_is_a_fraction_across_engines_models_devices(model, acc, engine, n_in):
    """Every configuration of il.serve_search (every split, DP attention, precision and
    concurrency) on short prompts, where prompt work is smallest against the decode steps:
    prefill_time_fraction in [0, 1] (before the fix, down to -5.4 on gpt-oss-20b with
    2-token prompts, -0.18 on qwen3-30b-a3b with vLLM)."""
    front = il.serve_search(_short(model, acc, engine, n_in), top=None, pareto=False)
    assert front.height > 100
    assert front["prefill_time_fraction"].min() >= 0.0
    assert front["prefill_time_fraction"].max() <= 1.0


@pytest.mark.parametrize("serving", [
    {"engine": "vllm", "tp": 8, "ep": 8, "weight_precision": "fp4", "kv_precision": "fp8", "concurrency": 128},
    {"engine": "sglang", "tp": 1, "dp": 8, "ep": 8, "dp_attention": True, "weight_precision": "fp4",
     "kv_precision": "bf16", "concurrency": 32768},
])
def test_kernel_and_reference_agree_where_the_prompt_step_was_priced_short(serving):
    """The two configurations of the module docstring, which il.serve refused before (a
    negative prefill fraction): the kernel and the independent reference give the same
    results, and the fraction is in [0, 1]."""
    d = {"name": "t", "model": {"preset": "qwen3-30b-a3b"},
         "hardware": {"accelerator": "MI355X", "nodes": 1, "gpus_per_node": 8},
         "serving": {"input_tokens": 128, "output_tokens": 100, **serving}}
    a, b = il.serve(d), il.serve(d, reference=True)
    for name in ("output_tokens_per_s", "ttft_s", "tpot_s", "prefill_time_fraction", "cycle_s"):
        assert getattr(a, name) == pytest.approx(getattr(b, name), rel=1e-9), name
    assert 0.0 <= a.prefill_time_fraction <= 1.0


def test_dp_attention_stretch_goes_to_the_longer_step():
    """_ttft_in_service under DP attention with step times s_a (prefill forward) and s_b
    (decode step): a stretched step lasts max(s_a, s_b) whichever is the longer, so the engine
    step is never below the plain decode step plus its own prefill forwards, and the prefill
    fraction is in [0, 1] both ways round."""
    x, dp = 0.3, 8
    q = 1.0 - (1.0 / (1.0 + x)) ** (dp - 1)
    r = K._prefill_waits(x, True, dp)
    assert r == pytest.approx(1.0 - (x / (1.0 + x)) ** (dp - 1), rel=1e-12)
    assert K._prefill_waits(x, False, dp) == 0.0 and K._prefill_waits(x, True, 1) == 0.0
    for s_a, s_b in ((0.24, 0.033), (0.02, 0.13)):
        _ttft, frac, step = K._ttft_in_service(False, 0.0, s_a, s_b, 1000.0, 0.0, 1000.0, 0.0, 300.0, 0.3, 0.0,
                                               0.0, x, q, r)
        assert 0.0 <= frac <= 1.0
        assert step >= s_b + x * s_a - 1e-15
        hi = max(s_a, s_b)
        assert step == pytest.approx(q * hi + (1 - q) * s_b + x * (r * hi + (1 - r) * s_a), rel=1e-12)
