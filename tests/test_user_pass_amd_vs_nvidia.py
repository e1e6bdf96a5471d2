"""A user's pass weighing AMD against NVIDIA (docs/bad-inputs.md, "A user's pass weighing AMD
against NVIDIA"): one case per problem it found, each failing before its fix."""

from __future__ import annotations

import math

import numpy as np
import pytest

import infra_lab as il
from infra_lab.errors import ValidationError


def _wide_ep(pxn: bool) -> dict:
    """DeepSeek-V3 on two MI355X nodes with DP attention: the MoE all-to-all spans both nodes."""
    hw = {"accelerator": "MI355X", "nodes": 2, "fabric": "rails-only"}
    if pxn:
        hw["pxn"] = True
    return {"name": "wide-ep", "model": {"preset": "deepseek-v3"}, "hardware": hw,
            "serving": {"engine": "sglang", "weight_precision": "fp4", "tp": 1, "dp": 16, "ep": 16,
                        "dp_attention": True, "concurrency": 1024}}


# ------------------------------------------------------------------ serving across rails without PXN
def test_serve_names_the_missing_path_of_a_dp_attention_all_to_all():
    """il.serve of DP attention over two nodes of a rails-only fabric with PXN off (RCCL's
    default) said "serve: output_tokens_per_s = nan ...; the inputs are outside what the model
    covers (check the sizes)": the kernel's all-to-all had no path and every time was NaN, where
    il.serve(reference=True) and il.estimate of such a training plan name the cause."""
    with pytest.raises(ValidationError, match=r"not runnable.*tp·dp = 1·16 = 16 GPUs \(2 scale-up domains "
                                              r"of 8\).*hardware\.pxn = true"):
        il.serve(_wide_ep(pxn=False))
    r = il.serve(_wide_ep(pxn=True))            # the same deployment with PXN runs
    assert math.isfinite(r.output_tokens_per_s) and r.output_tokens_per_s > 0


def test_serve_search_does_not_call_a_configuration_without_a_path_feasible():
    """il.serve_search(pareto=False, top=None) of the same scenario returned the DP-attention
    configurations with NaN throughput and latency marked feasible = True."""
    f = il.serve_search(_wide_ep(pxn=False), top=None, pareto=False, weight_precisions=["fp4"],
                        concurrencies=[64])
    nan = np.isnan(f["output_tokens_per_s"].to_numpy())
    assert nan.any() and f["dp_attention"].to_numpy()[nan].all()
    assert not f["feasible"].to_numpy()[nan].any()
    assert not f["grid_edge"].to_numpy()[nan].any()
    assert f["feasible"].to_numpy()[~nan].any()
