"""Random combinations of hostile values across the public surface, and what they found.

Earlier passes (docs/bad-inputs.md) changed one field or keyword at a time. Here a seeded
generator changes one to three things at once in training and serving scenarios (wrong
types, 0, -1, 1e30, NaN, inf, integral and fractional floats, unicode, whitespace and case
variants of catalog names, missing, extra and misplaced keys, explicit models of one layer,
one head, one vocabulary entry or one expert), and the regression cases below keep one
example of each failure it found, each failing before its fix. A case passes when the call
raises the package's own error (``InfraLabError``) or returns finite, non-negative numbers.
"""

from __future__ import annotations

import copy
import math

import pytest

import infra_lab as il

SERVE_MOE_ONE_TOKEN = {
    "name": "one-token", "model": {"preset": "mixtral-8x7b"},
    "hardware": {"accelerator": "A100-SXM-80GB", "nodes": 1, "nic": "ConnectX-7-NDR"},
    "serving": {"engine": "trt-llm", "input_tokens": 100, "output_tokens": 1, "concurrency": 1, "dp": 4, "tp": 2},
}


@pytest.mark.parametrize("reference", [False, True])
def test_one_output_token_in_a_static_batch_has_no_tpot(reference):
    """A static batch (trt-llm) of one-token requests has no decode step, so its TPOT is 0;
    the kernel and the reference computed tokens/s per user as 1/TPOT (ZeroDivisionError
    from inside the numba kernel, from il.serve and il.serve_search). TPOT is undefined for
    one output token (serving.tpot_defined): both are None, and the throughput is finite."""
    r = il.serve(SERVE_MOE_ONE_TOKEN, reference=reference)
    assert r.tpot_s is None and r.tokens_per_s_per_user is None
    assert math.isfinite(r.output_tokens_per_s) and r.output_tokens_per_s > 0
    assert math.isfinite(r.ttft_s) and r.ttft_s > 0


def test_serve_search_of_one_output_token():
    d = copy.deepcopy(SERVE_MOE_ONE_TOKEN)
    d["serving"].update(tp=1, dp=8)
    front = il.serve_search(d, top=None, pareto=False)
    assert front.height > 0
    assert front["tpot_s"].null_count() == front.height
    assert front["output_tokens_per_s"].is_finite().all()
