"""The ZeRO-3 / FSDP gradient reduce-scatter's bytes per parameter: one owner
(``il.memory.zero3_reduce_bytes``) read by the step time (the per-layer reduce-scatter), its
plain reference and the memory model (``fsdp_reduce_scatter_buffer``).

PyTorch FSDP2 reduces in its MixedPrecisionPolicy's reduce dtype, else the gradients' dtype
(torchtitan float32; Megatron-LM's ``--use-torch-fsdp2`` passes no policy: bf16); DeepSpeed
ZeRO-3's ``communication_data_type`` is fp16 for fp16 runs; Megatron-FSDP reduce-scatters its
fp32 main-gradient buffers (docs/validation-history.md, entry 42)."""

import pytest

import infra_lab as il
from infra_lab._kernels.training_reference import step_reference
from infra_lab.errors import UnknownNameError

BASE = {"name": "z3-rs", "model": {"preset": "llama3-8b"},
        "hardware": {"accelerator": "H100-SXM", "nodes": 2},
        "training": {"seq_len": 4096, "global_batch": 32, "micro_batch": 1, "recompute": "full",
                     "stack": "megatron-core-cuda"},
        "parallelism": {"tp": 1, "pp": 1, "fsdp": True}}


def _sc(impl: str = "torch", stack: str = "megatron-core-cuda") -> il.Scenario:
    return il.Scenario.from_dict({**BASE, "training": {**BASE["training"], "stack": stack},
                                  "parallelism": {**BASE["parallelism"], "fsdp_impl": impl}})


@pytest.mark.parametrize(("stack", "impl", "want"), [
    ("megatron-core-cuda", "torch", 2.0), ("megatron-core-rocm", "torch", 2.0),
    ("megatron-core-cuda", "megatron", 4.0), ("torchtitan-cuda", "torch", 4.0),
    ("torchtitan-rocm", "torch", 4.0), ("megatron-lm-2022-cuda", "torch", 2.0)])
def test_the_reduce_dtype_of_each_stack_and_implementation(stack, impl, want):
    assert il.memory.zero3_reduce_bytes(il.stacks.params(stack), impl) == want


def test_an_unknown_implementation_is_named():
    with pytest.raises(UnknownNameError, match="parallelism.fsdp_impl"):
        il.memory.zero3_reduce_bytes(il.stacks.params("megatron-core-cuda"), "deepspeed")


def test_fsdp2_on_megatron_core_times_the_reduce_scatter_at_the_memory_models_dtype():
    # the time follows fsdp_reduce_dtype_bytes (the factor the memory model reads), not the DDP
    # buckets' grad_reduce_bytes
    sc = _sc("torch")
    base = il.estimate(sc).dp_comm_raw_s
    assert il.estimate(sc, params={"grad_reduce_bytes": 2.0}).dp_comm_raw_s == base
    at4 = il.estimate(sc, params={"fsdp_reduce_dtype_bytes": 4.0})
    assert at4.dp_comm_raw_s > base * 1.1
    # and the same factor sizes the memory model's reduce-scatter input: at 4 B the step's
    # memory grows by one more such buffer at 2 B, plus the stack's allocator reserve on it
    buf = dict(il.memory.training_memory(sc).select("component", "bytes").iter_rows())["fsdp_reduce_scatter_buffer"]
    assert buf > 0
    grown = at4.memory_per_gpu_bytes - il.estimate(sc).memory_per_gpu_bytes
    reserve = il.stacks.params("megatron-core-cuda")["memory_reserve_fraction"]
    assert grown == pytest.approx(buf * (1 + reserve), rel=1e-6)


def test_megatron_fsdp_times_the_reduce_scatter_at_its_main_grads():
    sc = _sc("megatron")
    base = il.estimate(sc).dp_comm_raw_s
    assert il.estimate(sc, params={"fsdp_reduce_dtype_bytes": 4.0}).dp_comm_raw_s == base
    assert il.estimate(sc, params={"grad_reduce_bytes": 2.0}).dp_comm_raw_s < base / 1.1


@pytest.mark.parametrize("impl", ["torch", "megatron"])
def test_kernel_and_plain_reference_agree(impl):
    sc = _sc(impl)
    k = il.estimate(sc)
    r = step_reference(sc)
    assert r["dp_comm_raw_s"] == pytest.approx(k.dp_comm_raw_s, rel=1e-9)
    assert r["step_time_s"] == pytest.approx(k.step_time_s, rel=1e-9)
