"""A grouped expert GEMM's weight cast covers every local expert: the rank holds E/ep expert
weights (k×n each) and an FP8/MXFP8 recipe quantizes all of them (Transformer Engine's
GroupedLinear one ``quantize_weight`` per ``weight{i}``; torchao's grouped GEMMs one kernel over
the stacked (E, k, n) weight per axis). compute.layer_ops charges the weight part of a cast op
1 / weight_cast_every times, so twice its drop from weight_cast_every 1 to 2 is that part."""

from __future__ import annotations

import polars as pl
import pytest

import infra_lab as il

SPEC = il.models.get("qwen3-30b-a3b")       # 128 experts


def _weight_part(ep: int, col: str, op: str, ps: str = "fwd", **kw) -> float:
    """The weight part of the experts' cast op ``op`` (its ``col``: bytes or count = kernels)."""
    def val(every):
        ops = il.compute.layer_ops(SPEC, 4096, 1, 1, ACC, PREC, passes=("fwd", "bwd"), ep=ep, expert_tp=1,
                                   weight_cast_every=every, **kw)
        sel = (pl.col("layer_kind") == "moe") & (pl.col("pass") == ps) & (pl.col("op") == op)
        return float(ops.filter(sel)[col].sum())
    return 2.0 * (val(1) - val(2))


ACC, PREC = "H100-SXM", "fp8"


@pytest.mark.parametrize("op", ["experts_up_cast", "experts_down_cast"])
def test_expert_weight_cast_bytes_scale_with_local_experts(op):
    full, quarter = _weight_part(1, "bytes", op), _weight_part(4, "bytes", op)
    assert full > 0.0
    # 128 local experts at ep 1, 32 at ep 4: the same k×n per expert, 4x the bytes
    assert full == pytest.approx(4.0 * quarter, rel=1e-9)
    # against a dense-shaped GEMM's one k×n matrix: per expert, the same bytes per element
    ops = il.compute.layer_ops(SPEC, 4096, 1, 1, ACC, PREC, passes=("fwd",), ep=1, expert_tp=1)
    r = ops.filter((pl.col("layer_kind") == "moe") & (pl.col("op") == op.removesuffix("_cast"))).row(0, named=True)
    per_elem = full / (SPEC.experts * r["k"] * r["n"])
    attn = _weight_part(1, "bytes", "qkv_proj_cast")
    q = ops.filter((pl.col("layer_kind") == "moe") & (pl.col("op") == "qkv_proj")).row(0, named=True)
    assert per_elem == pytest.approx(attn / (q["k"] * q["n"]), rel=1e-9)


def test_expert_weight_cast_kernels_follow_the_weight_layout():
    # a loop of per-expert GEMMs (Transformer Engine's GroupedLinear): one quantize per expert weight
    assert _weight_part(4, "count", "experts_up_cast", grouped_gemm_streams=4) == pytest.approx(32.0)
    # one fused grouped kernel over the stacked (E, k, n) weight (torchao): one cast kernel
    assert _weight_part(4, "count", "experts_up_cast", grouped_gemm_streams=0) == pytest.approx(1.0)
    # a plain GEMM's single weight either way
    assert _weight_part(4, "count", "qkv_proj_cast", grouped_gemm_streams=4) == pytest.approx(1.0)


@pytest.mark.parametrize("scaling", ["row", "block"])
def test_axis_requantization_of_expert_weights_covers_local_experts(scaling):
    full = _weight_part(1, "bytes", "experts_down_cast_axis", "bwd", scaling=scaling)
    eighth = _weight_part(8, "bytes", "experts_down_cast_axis", "bwd", scaling=scaling)
    assert full > 0.0
    assert full == pytest.approx(8.0 * eighth, rel=1e-9)
