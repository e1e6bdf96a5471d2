"""The serving step charges the LM head for the logits a prefill forward computes.

vLLM and SGLang compute logits only at the last position each request has in a forward
(docs/serving.md, "The LM head's rows"), so a prefill forward runs the LM head GEMM on one row
per prompt that ends in it, at least one. Until 2026-12-07 the serving model charged the LM head
only on decode tokens (docs/serving-history.md entry 25): a prefill-only request (one output
token) showed an LM head of 0 s. Here a one-request static batch with one output token is a
single prefill forward: its ``lm_head`` component must be one head GEMM of one row, worked out
by hand from the vocabulary, the hidden size and the stack's read rate, in the kernel and in the
independent reference.
"""

from __future__ import annotations

import pytest

import infra_lab as il
from infra_lab import compute, serving


def _scenario(output_tokens: int, concurrency: int = 1, input_tokens: int = 4096) -> il.Scenario:
    return il.Scenario.from_dict({
        "name": "prefill-lm-head", "model": "llama3-70b",
        "hardware": {"accelerator": "H100-SXM", "nodes": 1, "gpus_per_node": 8},
        "serving": {"engine": "vllm", "weight_precision": "bf16", "tp": 8, "concurrency": concurrency,
                    "input_tokens": input_tokens, "output_tokens": output_tokens, "batching": "static"}})


def _lm_head_s(r) -> float:
    return dict(r.breakdown.select("component", "seconds").iter_rows())["lm_head"]


def _one_row_head_s(sc: il.Scenario) -> float:
    """The LM head on one row by hand: its BF16 weights (vocab/tp x hidden x 2 B) and one row of
    activations in and out, read at the stack's rate (HBM x the achievable fraction /
    memory_time_scale, never above the peak), + the fixed time per kernel x the stack's scale."""
    spec, acc = sc.model_spec, sc.hardware.accelerator
    p = il.stacks.params(serving.serve(sc).stack)
    a = il.catalog.accelerator(acc)
    eff = compute.hbm_efficiency(acc)
    rate = a.hbm_bw_Bps * eff / max(p["memory_time_scale"], eff)
    n, k = spec.vocab / 8, spec.hidden
    return (n * k * 2 + (n + k) * 2) / rate + p["kernel_fixed_scale"] * compute.kernel_fixed_s(acc)


@pytest.mark.parametrize("reference", [False, True], ids=["kernel", "reference"])
def test_a_prefill_only_request_pays_one_lm_head_row(reference):
    sc = _scenario(output_tokens=1)
    r = serving.serve(sc, reference=reference)
    assert _lm_head_s(r) > 0.0
    assert _lm_head_s(r) == pytest.approx(_one_row_head_s(sc), rel=1e-3)


def test_kernel_and_reference_agree_on_the_prefill_lm_head():
    """A static batch of 4 prompts (4 rows in the prefill forward) and 3 output tokens (the
    decode steps' rows): the kernel's lm_head equals the independent reference's."""
    sc = _scenario(output_tokens=3, concurrency=4, input_tokens=1024)
    k, ref = serving.serve(sc), serving.serve(sc, reference=True)
    assert _lm_head_s(k) > 0.0
    assert _lm_head_s(k) == pytest.approx(_lm_head_s(ref), rel=1e-9)
