"""FP8 weight casts once per step where the stack reuses the quantized copies (stack factor
fp8_caches_weights): Megatron-Core with Transformer Engine quantizes each linear weight on the
step's first micro-batch (is_first_microbatch) and reuses the copies, torchao casts on every
micro-batch. The step model charges the casts of compute.layer_ops(weight_cast_every=m)."""

from __future__ import annotations

import polars as pl
import pytest

import infra_lab as il
from infra_lab._kernels import training as kt

Z8 = il.load_scenario("zaya1-ibm-mi300x").to_dict()
SPEC = il.models.get("zaya1-base")
TR = Z8["training"]


def _scenario(acc: str, stack: str, global_batch: int = TR["global_batch"]) -> dict:
    return {**Z8, "hardware": {"accelerator": acc, "nodes": 1},
            "training": {**TR, "precision": "fp8", "stack": stack, "global_batch": global_batch}}


def _cast_fwd(acc: str, every: int) -> float:
    """One MoE layer's forward cast ops per micro-batch at weight_cast_every = every [s]."""
    ops = il.compute.layer_ops(SPEC, TR["seq_len"], TR["micro_batch"], 1, acc, "fp8", passes=("fwd", "bwd"),
                               weight_cast_every=every)
    sel = (pl.col("layer_kind") == "moe") & (pl.col("pass") == "fwd") & (pl.col("component") == "cast")
    return float(ops.filter(sel)["time_s"].sum())


def _fwd(sc: dict, **params) -> float:
    est = il.estimate(sc, params=params or None)
    return dict(est.breakdown.iter_rows())["compute_fwd"]


@pytest.mark.parametrize(("acc", "stack"), [("H100-SXM", "megatron-core-cuda"), ("MI300X", "megatron-core-rocm")])
def test_transformer_engine_stack_casts_weights_once_per_step(acc, stack):
    sc = _scenario(acc, stack)
    m = TR["global_batch"] // (TR["micro_batch"] * 8)          # micro-batches per GPU per step (dp 8, pp 1)
    assert m == 128
    n_moe = SPEC.layer_kinds().count("moe")
    mts = il.stacks.params(stack)["memory_time_scale"]
    assert il.stacks.params(stack)["fp8_caches_weights"] == 1.0
    once, every = _fwd(sc), _fwd(sc, fp8_caches_weights=0)
    # casting every micro-batch costs exactly the drop of layer_ops' casts from weight_cast_every 1 to m
    saved = m * n_moe * mts * (_cast_fwd(acc, 1) - _cast_fwd(acc, m))
    assert saved > 0.0
    assert every - once == pytest.approx(saved, rel=1e-6)
    # ZAYA1 on 8 H100s: a few tenths of a second per step (notebook 02 section 5)
    if acc == "H100-SXM":
        assert 0.2 < every - once < 0.8


def test_torchao_stack_casts_weights_every_micro_batch():
    sc = _scenario("H100-SXM", "torchtitan-cuda")
    m, n_moe = 128, SPEC.layer_kinds().count("moe")
    mts = il.stacks.params("torchtitan-cuda")["memory_time_scale"]
    assert il.stacks.params("torchtitan-cuda")["fp8_caches_weights"] == 0.0
    every = _fwd(sc)
    assert every == _fwd(sc, fp8_caches_weights=0)
    # charged m times: what reusing the copies would save (the override) is the whole drop
    assert every - _fwd(sc, fp8_caches_weights=1) == pytest.approx(
        m * n_moe * mts * (_cast_fwd("H100-SXM", 1) - _cast_fwd("H100-SXM", m)), rel=1e-6)


def test_one_micro_batch_per_step_casts_once_either_way():
    sc = _scenario("H100-SXM", "megatron-core-cuda", global_batch=TR["micro_batch"] * 8)
    assert _fwd(sc) == _fwd(sc, fp8_caches_weights=0)


def test_bf16_has_no_weight_casts_to_reuse():
    sc = {**_scenario("H100-SXM", "megatron-core-cuda"), "training": {**TR, "precision": "bf16"}}
    assert _fwd(sc) == _fwd(sc, fp8_caches_weights=0)


def test_weight_cast_share_per_micro_batch():
    assert kt.weight_cast_share(1.0, 16.0) == 1.0 / 16
    assert kt.weight_cast_share(1.0, 15.6) == 1.0 / 16      # the step's micro-batch count, rounded
    assert kt.weight_cast_share(1.0, 0.4) == 1.0            # at least one micro-batch
    assert kt.weight_cast_share(0.0, 16.0) == 1.0


def test_stack_rows_cite_the_reuse_and_the_per_call_cast():
    tab = il.stacks.table().filter(pl.col("parameter") == "fp8_caches_weights")
    for r in tab.iter_rows(named=True):
        if r["stack"].startswith("megatron-core"):
            assert r["value"] == 1.0
            assert "is_first_microbatch" in r["note"] and "megatron/core/transformer/module.py" in r["source_url"]
        elif r["stack"].startswith("torchtitan"):
            assert r["value"] == 0.0
            assert "torchao/float8/float8_linear.py" in r["source_url"] and "every micro-batch" in r["note"]
