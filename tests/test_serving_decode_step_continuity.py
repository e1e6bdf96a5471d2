"""The decode step is continuous in concurrency across the decode row padding.

Below the compute model's smallest macro-tile height (64 rows on H100 and MI300X) the serving
model does not pad a decode GEMM's rows; above it, it reads the integer shape. A GEMM's time is
max(compute part x gemm_time_scale, HBM read x memory_time_scale) + the fixed time per kernel on
both sides (docs/serving.md, "Checking the serving model by hand"). Before 2026-12-07
(docs/serving-history.md entry 24) the part above the padding was the compute model's whole
time, its HBM read at ``compute.hbm_efficiency``, x gemm_time_scale: a stack whose
memory_time_scale sits at the floor read its weights at HBM peak below the padding and at 0.906
of it above, and the step's GEMM time climbed by 1/0.906 over the rows 58-64 (Llama 3 70B FP8,
tp 8 on 8 H100), 1.7 % a request against 0.06 % a request either side.

The bound. In a memory-bound decode (the weights dominate; Llama 3 70B FP8 at 50-80 rows sits
far below the roofline ridge of ~300 rows) each GEMM's time is its weight read plus one row of
activations per request, both at the stack's read rate, so the step's GEMM time is affine in
the requests: every increment b -> b + 1 is the same row of activations. The test allows each
increment in a window of 8 requests either side of the padding up to ``RATIO`` = 1.5 times the
first one (far below the padding): room for the mean step's rare one-token prompt chunk, and
a factor ~25 below a jump of 1 % of the step's GEMM time. The step time (TPOT) is affine too
(+ each sequence's overhead and KV read) and gets the same bound, and tokens/s never drops when
a request is added. gemm_time_scale is pinned at 1 so that the compute part stays below the
weight read at 65 rows on every stack: above the padding a compute-bound GEMM's 65th row starts
a new row tile and doubles the compute part (the compute model's tile quantization, stated in
:func:`test_a_compute_bound_gemm_pays_its_row_tile_above_the_padding`), which is the added row's
cost there, not a seam between two regimes.
"""

from __future__ import annotations

import dataclasses
import functools
import math

import numpy as np
import pytest

import infra_lab as il
from infra_lab import compute
from infra_lab._kernels import gemm as kg

RATIO = 1.5
"""Largest allowed increment of the step's GEMM time (and of TPOT) per added request, relative
to the first increment of the window (module docstring)."""

WINDOW = 8
"""Requests either side of the decode row padding [requests]."""

# (stack, accelerator, memory_time_scale): the stacks whose fitted memory_time_scale sits at the
# floor, at the floor ("floor": compute.hbm_efficiency, weights at HBM peak) and at 1.3; ROCm's
# vLLM at 2.0 only: on MI300X the 65th row's padded FP8 row tile outruns a weight read faster
# than that (gate/up: 14.5 us of compute part against 11.1 us of weights at HBM peak; the
# 1,024-deep QKV GEMM passes a read at 1.3), a compute-bound row tile, not the seam
CASES = [(st, "H100-SXM", ms) for st in ("vllm-cuda", "trt-llm-cuda", "vllm-cuda-early", "trt-llm-cuda-early")
         for ms in ("floor", 1.3)] + [("vllm-rocm", "MI300X", 2.0)]


def _padding(acc: str) -> int:
    """The decode row padding, read from the compute model: its smallest macro-tile height."""
    return int(compute.gemm_model(acc, "bf16").tile_m.min())


@functools.cache
def _series(stack: str, acc: str, memory_scale: float) -> tuple[tuple[int, float, float, float], ...]:
    """(requests, the step's GEMM seconds, TPOT [s], output tokens/s per GPU) over the window."""
    pad = _padding(acc)
    out = []
    for b in range(pad - WINDOW, pad + WINDOW + 1):
        sc = il.Scenario.from_dict({
            "name": "decode-continuity", "model": "llama3-70b",
            "hardware": {"accelerator": acc, "nodes": 1, "gpus_per_node": 8},
            "serving": {"engine": il.stacks.serving_engine(stack), "stack": stack, "tp": 8, "concurrency": b,
                        "input_tokens": 1, "output_tokens": 4096, "weight_precision": "fp8"}})
        r = il.serve(sc, params={"memory_time_scale": memory_scale, "gemm_time_scale": 1.0})
        parts = dict(r.breakdown.select("component", "seconds").iter_rows())
        out.append((b, parts["mlp_gemm"] + parts["attention_gemm"], r.tpot_s, r.output_tokens_per_s_per_gpu))
    return tuple(out)


def _jumps(values: list[float], ratio: float = RATIO) -> list[str]:
    """The increments of ``values`` above ``ratio`` x the first increment (described)."""
    d = [b - a for a, b in zip(values, values[1:], strict=False)]
    assert d[0] > 0.0
    return [f"step {i}: {x:.3e} > {ratio} x {d[0]:.3e}" for i, x in enumerate(d) if x > ratio * d[0]]


@pytest.mark.parametrize(("stack", "acc", "memory_scale"), CASES)
def test_decode_step_is_continuous_across_the_row_padding(stack, acc, memory_scale):
    """Each added request raises the step's GEMM time and TPOT by at most RATIO x the first
    increment, and never lowers tokens/s, from 8 requests below the padding to 8 above, at the
    floor of memory_time_scale (compute.hbm_efficiency: weights at HBM peak) and above it."""
    s = _series(stack, acc, compute.hbm_efficiency(acc) if memory_scale == "floor" else memory_scale)
    assert not _jumps([x[1] for x in s]), ("GEMM time", _jumps([x[1] for x in s]))
    assert not _jumps([x[2] for x in s]), ("TPOT", _jumps([x[2] for x in s]))
    tok = [x[3] for x in s]
    assert all(b >= a for a, b in zip(tok, tok[1:], strict=False)), tok


def test_a_planted_jump_fails_the_bound():
    """The bound can fail: the step's GEMM time with a jump of 1 % of it at 58 requests planted
    (the old composition's 1/0.906 climbed 1.7 % a request over the rows 58-64), and TPOT with
    the same jump, are caught."""
    s = _series("vllm-cuda", "H100-SXM", compute.hbm_efficiency("H100-SXM"))
    gemm = [g * (1.01 if b >= 58 else 1.0) for b, g, _t, _k in s]
    assert _jumps(gemm)
    tpot = [t + (0.01 * g if b >= 58 else 0.0) for b, g, t, _k in s]
    assert _jumps(tpot)
    # and the old ramp: the GEMM time scaled up linearly to 1/0.906 over the rows 58-64
    eff = compute.hbm_efficiency("H100-SXM")
    ramp = [g * (1.0 + (1.0 / eff - 1.0) * min(max(b - 58, 0), 6) / 6) for b, g, _t, _k in s]
    assert _jumps(ramp)


def test_a_compute_bound_gemm_pays_its_row_tile_above_the_padding():
    """Where the compute part wins (a large gemm_time_scale), the 65th row starts a second row
    tile: the compute model's time of the padded work, not a seam between regimes. The step's
    MLP GEMM time then jumps at 64 -> 65 requests by the ratio of the compute model's compute
    parts (its plain-Python reference with no HBM limit) of the gate/up (7,168 x 8,192 at tp 8)
    and down (8,192 x 3,584) GEMMs x 10, each + its fixed time per kernel, within 2 %: at 64
    requests the mean step holds the steps that carry a one-token prompt beside the 64 decode
    rows (about 64 in 4,096 steps), which pay the second row tile already."""
    acc = "H100-SXM"
    pad = _padding(acc)
    g = dataclasses.replace(compute.gemm_model(acc, "fp8"), mem_bw_Bps=math.inf, fixed_s=0.0)
    eff, t = kg.empty_outputs(4)
    kg.gemm_reference(np.array([pad, pad + 1, pad, pad + 1]), np.array([7168, 7168, 8192, 8192]),
                      np.array([8192, 8192, 3584, 3584]), np.ones(4, np.int64), *g.args(), eff, t)
    assert float(t[1] / t[0]) > 1.5          # the compute model pads a row tile
    kfix = il.stacks.params("vllm-cuda")["kernel_fixed_scale"] * compute.kernel_fixed_s(acc)
    expected = (10.0 * (t[1] + t[3]) + 2 * kfix) / (10.0 * (t[0] + t[2]) + 2 * kfix)
    out = []
    for b in (pad, pad + 1):
        sc = il.Scenario.from_dict({
            "name": "compute-bound", "model": "llama3-70b",
            "hardware": {"accelerator": acc, "nodes": 1, "gpus_per_node": 8},
            "serving": {"engine": "vllm", "tp": 8, "concurrency": b, "input_tokens": 1, "output_tokens": 4096,
                        "weight_precision": "fp8"}})
        parts = dict(il.serve(sc, params={"gemm_time_scale": 10.0}).breakdown.select("component", "seconds")
                     .iter_rows())
        out.append(parts["mlp_gemm"])
    assert out[1] / out[0] == pytest.approx(float(expected), rel=0.02)
