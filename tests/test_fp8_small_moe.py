"""Why FP8 trains ZAYA1 (hidden 2,048, 16 experts, top-1) no faster than BF16 on one 8-GPU node:
the step's change is the GEMM time FP8 saves (x framework_time_scale) against the cast kernels
(x memory_time_scale), each part from the compute model's rows (notebook 02, section 5). The
Megatron-Core stacks quantize the weights once per step (fp8_caches_weights), so the casts are the
op table's at weight_cast_every = micro-batches per step."""

from __future__ import annotations

import polars as pl
import pytest

import infra_lab as il
from infra_lab.compute import _params as P

Z8 = il.load_scenario("zaya1-ibm-mi300x").to_dict()
SPEC = il.models.get("zaya1-base")
TR = Z8["training"]


def _estimates(acc: str) -> dict[str, il.training.Estimate]:
    return {p: il.estimate({**Z8, "hardware": {"accelerator": acc, "nodes": 1}, "training": {**TR, "precision": p}})
            for p in ("bf16", "fp8")}


def _step_parts(acc: str, stack: str, gpus: int) -> dict[str, float]:
    f = il.stacks.params(stack)
    mb = TR["global_batch"] // (TR["micro_batch"] * gpus)          # micro-batches per GPU per step
    per_step = mb * SPEC.layer_kinds().count("moe")

    def ops(p, every=1):
        return il.compute.layer_ops(SPEC, TR["seq_len"], TR["micro_batch"], 1, acc, p, passes=("fwd", "bwd"),
                                    grouped_gemm_streams=int(f["grouped_gemm_streams"]),
                                    main_grad_bytes=f["wgrad_main_grad_bytes"],
                                    weight_cast_every=every).filter(pl.col("layer_kind") == "moe")

    def tot(p, comps, every=1):
        return per_step * float(ops(p, every).filter(pl.col("component").is_in(list(comps)))["time_s"].sum())

    assert f["fp8_caches_weights"] == 1.0                        # Transformer Engine: once per step
    return {"gemm_saved": tot("bf16", il.compute.GEMM_COMPONENTS) - tot("fp8", il.compute.GEMM_COMPONENTS),
            "cast": tot("fp8", ["cast"], every=mb), "cast_every_micro_batch": tot("fp8", ["cast"]),
            "fts": f["framework_time_scale"], "mts": f["memory_time_scale"]}


@pytest.mark.parametrize("acc", ["H100-SXM", "MI355X"])
def test_fp8_step_change_is_gemm_saving_against_casts(acc):
    est = _estimates(acc)
    parts = _step_parts(acc, est["fp8"].stack, est["fp8"].gpus)
    delta = est["fp8"].step_time_s - est["bf16"].step_time_s
    # the whole change is these two terms (nothing else in the step depends on the precision here)
    assert delta == pytest.approx(parts["mts"] * parts["cast"] - parts["fts"] * parts["gemm_saved"], rel=1e-6)
    # a near tie, under 1.25 % of the step either way: the casts at the fitted memory_time_scale cancel the
    # saving within a seventh of it (at Megatron-Core's 0.99 / 2.62: casts 2.0 % (H100) and 14.8 % (MI355X,
    # +0.20 s, 1.05 % of the step) above the saving; at 0.998 / 2.62 1.1 % and 13.8 % (0.99 % of the step),
    # within a tenth at 1.006 / 2.45; the bound was 1 % of the step until the 0.99 refit)
    assert abs(delta) < 0.0125 * est["bf16"].step_time_s
    assert parts["gemm_saved"] > 0
    assert abs(parts["mts"] * parts["cast"] - parts["fts"] * parts["gemm_saved"]) < 0.15 * parts["fts"] * parts["gemm_saved"]
    # at the raw HBM rate the casts would not: the tie comes from the fitted memory_time_scale
    assert parts["cast"] < 0.5 * parts["fts"] * parts["gemm_saved"]
    # casting the weights again every micro-batch (torchao's way) would make FP8 the slower, by 4-6 s on
    # either part (asserted below; the figure moves with each refit's memory_time_scale): all 16 expert
    # weights of each MoE layer, 128 times a step (under 1 s while the experts' casts counted one expert weight)
    every = parts["mts"] * (parts["cast_every_micro_batch"] - parts["cast"])
    assert 4.0 < every < 6.0
    assert parts["mts"] * parts["cast_every_micro_batch"] > parts["fts"] * parts["gemm_saved"]


def test_cast_bytes_follow_transformer_engine_rule():
    acc = "H100-SXM"
    assert P.value(P.accelerator(acc), "cast_scale_bytes", "fp8") == 0.0   # per-tensor scales
    assert P.value(P.accelerator(acc), "cast_amax_pass", "fp8") == 0.0     # amax inside the cast kernel
    ops = il.compute.layer_ops(SPEC, TR["seq_len"], TR["micro_batch"], 1, acc, "fp8", passes=("fwd", "bwd"))
    row = ops.filter(pl.col("op") == "experts_down_cast").row(0, named=True)
    g = ops.filter(pl.col("op") == "experts_down").row(0, named=True)
    m, n, k = g["m"], g["n"], g["k"]
    # fused into the activation: the producer writes the row- and column-wise FP8 copies of X (2 x 1 B);
    # each of the 16 local expert weights is read in 16 bit and written twice in FP8 (at
    # weight_cast_every = 1: once per micro-batch)
    assert g["groups"] == SPEC.experts == 16
    assert row["bytes"] == pytest.approx(m * k * 2 * 1 + SPEC.experts * k * n * (2 + 2 * 1))
    bwd = ops.filter(pl.col("op") == "experts_down_cast_bwd").row(0, named=True)
    assert bwd["bytes"] == pytest.approx(m * n * (2 + 2 * 1))          # dY: read once, two FP8 copies


def test_short_k_expert_weight_gradients_gain_least_from_fp8():
    acc = "H100-SXM"
    t = {p: dict(il.compute.layer_ops(SPEC, TR["seq_len"], TR["micro_batch"], 1, acc, p, passes=("fwd", "bwd"))
                 .filter(pl.col("layer_kind") == "moe").select("op", "time_s").iter_rows())
         for p in ("bf16", "fp8")}
    # 8,192 routed rows over 16 experts: each expert's weight gradient reduces over ~512 rows
    assert t["fp8"]["experts_up_wgrad"] / t["bf16"]["experts_up_wgrad"] > 0.8
    assert t["fp8"]["qkv_proj"] / t["bf16"]["qkv_proj"] < 0.7
