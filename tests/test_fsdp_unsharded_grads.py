"""The FSDP units' unsharded gradients in flight in backward (component ``fsdp_unsharded_grads``).

PyTorch FSDP2: autograd writes a unit's gradients into its unsharded parameters' ``.grad`` in the
``MixedPrecisionPolicy``'s param dtype, and ``foreach_reduce`` drops them only after copying them
into the reduce-scatter input (pytorch 010ae4a): one layer's 16-bit gradients beside the previous
unit's held reduce-scatter input. Megatron-FSDP (Megatron-LM d98e8a6): each unit's gradients fill
a temporary unsharded bucket in the main-gradient dtype (the parameters' by default), freed only
when the reduce-scatter queue, capped at max(1e9, 2 x the mean unit) parameters, is drained."""

import pytest
from kernel_check import assert_fsdp_term_agrees

import infra_lab as il
from infra_lab._kernels.memory import fsdp_unsharded_grads
from infra_lab.errors import ValidationError

BASE = {"name": "fsdp-ug", "hardware": {"accelerator": "H100-SXM", "nodes": 1},
        "training": {"seq_len": 4096, "global_batch": 16, "micro_batch": 1, "recompute": "full",
                     "stack": "torchtitan-cuda"},
        "parallelism": {"tp": 1, "pp": 1, "fsdp": True}}

# Llama 3 8B: a layer 4096 x (4096 + 1024 + 1024 + 4096) + 3 x 4096 x 14336 + 2 x 4096 params
LAYER_8B = 4096 * (4096 + 1024 + 1024 + 4096) + 3 * 4096 * 14336 + 2 * 4096


def _sc(model: str = "llama3-8b", nodes: int = 1, stack: str = "torchtitan-cuda", **par) -> il.Scenario:
    return il.Scenario.from_dict({**BASE, "model": {"preset": model},
                                  "hardware": {**BASE["hardware"], "nodes": nodes},
                                  "training": {**BASE["training"], "stack": stack},
                                  "parallelism": {**BASE["parallelism"], **par}})


def _mem(sc) -> dict[str, float]:
    return dict(il.memory.training_memory(sc).select("component", "bytes").iter_rows())


def test_pytorch_fsdp2_one_layer_in_16_bit_by_hand():
    # 218.1 M parameters x 2 B (bf16, torchtitan's mixed_precision_param) = 436.2 MB
    got = _mem(_sc())["fsdp_unsharded_grads"]
    # (the model spreads the final norm's 4,096 parameters over the 32 layers: 128 more each)
    assert got == pytest.approx(2.0 * (LAYER_8B + 4096 / 32), rel=1e-12)
    assert got / 2**30 == pytest.approx(0.406, abs=1e-3)
    # at TP 8 the layer's local share: Llama 3.1 405B, 3187.7 M / 8 parameters x 2 B = 0.74 GiB
    layer_405b = 16384 * (16384 + 1024 + 1024 + 16384) + 3 * 16384 * 53248 + 2 * 16384
    got = _mem(_sc("llama3.1-405b", nodes=8, tp=8))["fsdp_unsharded_grads"]
    assert got == pytest.approx(2.0 * layer_405b / 8, rel=1e-5)


def test_megatron_fsdp_queue_by_hand():
    # Llama 3 8B under Megatron-FSDP: capacity max(1e9, 2 x 218.1 M) = 1e9 parameters hold
    # floor(1e9 / 218.1 M) = 4 whole layer buckets, + the one launched + the one accumulating = 6
    sc = _sc(stack="megatron-core-cuda", fsdp_impl="megatron")
    assert int(1e9 // LAYER_8B) == 4
    got = _mem(sc)["fsdp_unsharded_grads"]
    assert got == pytest.approx(6 * 2.0 * (LAYER_8B + 4096 / 32), rel=1e-12)
    # and no FSDP2 reduce-scatter input (Megatron-FSDP reduce-scatters from these buckets)
    assert _mem(sc)["fsdp_reduce_scatter_buffer"] == 0.0


def test_the_kernel_function_caps_and_floors():
    # PyTorch FSDP2: one layer whatever the queue
    assert fsdp_unsharded_grads(1e8, 40.0, 2.0, 0.0) == pytest.approx(2e8)
    # the queue's buckets: floor(1e9 / 1e8) + 2 = 12 layers, at most the stage's 4
    assert fsdp_unsharded_grads(1e8, 40.0, 2.0, 1e9) == pytest.approx(12 * 2e8)
    assert fsdp_unsharded_grads(1e8, 4.0, 2.0, 1e9) == pytest.approx(4 * 2e8)
    # a layer larger than half the floor: capacity two layers, + 2 = 4 layers
    assert fsdp_unsharded_grads(6e8, 80.0, 2.0, 1e9) == pytest.approx(4 * 1.2e9)
    assert fsdp_unsharded_grads(0.0, 4.0, 2.0, 1e9) == 0.0


def test_kernel_reference_training_memory_and_step_model_agree():
    for sc, ugq in ((_sc("llama3-70b", nodes=4, tp=8), 0.0),
                    (_sc("llama3-70b", nodes=4, tp=8, stack="megatron-core-cuda", fsdp_impl="megatron"), 1e9)):
        m = _mem(sc)
        assert m["fsdp_unsharded_grads"] > 0
        assert_fsdp_term_agrees(sc, m, "fsdp_unsharded_grads", ugq)


def test_no_term_without_full_sharding():
    # data parallel without FSDP, and FSDP2 under pipeline parallelism (the stage stays gathered
    # and reduce-scatters once, in the last micro-batch's backward): nothing added
    for sc in (_sc(fsdp=False, zero=1), _sc("llama3-70b", nodes=4, tp=8, pp=2)):
        assert _mem(sc)["fsdp_unsharded_grads"] == 0.0


def test_the_queue_is_the_stacks_and_bad_values_are_refused():
    assert il.memory.fsdp_grad_queue_params(il.stacks.params("torchtitan-cuda")) == 0.0
    for st in ("megatron-core-cuda", "megatron-core-rocm"):
        assert il.memory.fsdp_grad_queue_params(il.stacks.params(st), "megatron") == 1e9
    with pytest.raises(il.UnknownNameError, match="fsdp_impl"):
        il.memory.fsdp_grad_queue_params(il.stacks.params("torchtitan-cuda"), "deepspeed")
    with pytest.raises(ValidationError, match="megatron_fsdp_rs_queue_params"):
        il.training.factors.stack_params("megatron-core-cuda", {"megatron_fsdp_rs_queue_params": 0.5})
