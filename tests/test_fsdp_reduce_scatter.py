"""PyTorch FSDP2's reduce-scatter input in the memory model (component
``fsdp_reduce_scatter_buffer``).

``foreach_reduce`` (torch/distributed/fsdp/_fully_shard/_fsdp_collectives.py at pytorch 010ae4a)
allocates one FSDP unit's gradients in the reduce dtype at the unit's post-backward, and the
parameter group holds it until the next unit's post-backward: one unit's input beside the
activations, the largest of a layer's and the output layer's (torchtitan shards norm + output as
one unit, whose backward runs first). torchtitan reduces in fp32 (``mixed_precision_reduce``)."""

import pytest
from kernel_check import assert_fsdp_term_agrees

import infra_lab as il

BASE = {"name": "fsdp-rs", "hardware": {"accelerator": "H100-SXM", "nodes": 1},
        "training": {"seq_len": 4096, "global_batch": 16, "micro_batch": 1, "recompute": "full",
                     "stack": "torchtitan-cuda"},
        "parallelism": {"tp": 1, "pp": 1, "fsdp": True}}


def _sc(model: str, nodes: int = 1, **par) -> il.Scenario:
    return il.Scenario.from_dict({**BASE, "model": {"preset": model},
                                  "hardware": {**BASE["hardware"], "nodes": nodes},
                                  "parallelism": {**BASE["parallelism"], **par}})


def _mem(sc) -> dict[str, float]:
    return dict(il.memory.training_memory(sc).select("component", "bytes").iter_rows())


def test_the_output_layer_unit_by_hand_llama3_8b():
    # Llama 3 8B: a layer 4096 x (4096 + 1024 + 1024 + 4096) + 3 x 4096 x 14336 + 2 x 4096 params
    # = 218.1 M; the output layer 128256 x 4096 = 525.3 M, the larger unit: 4 B (fp32) each
    layer = 4096 * (4096 + 1024 + 1024 + 4096) + 3 * 4096 * 14336 + 2 * 4096
    head = 128256 * 4096
    assert head > layer
    got = _mem(_sc("llama3-8b"))["fsdp_reduce_scatter_buffer"]
    assert got == pytest.approx(4.0 * head, rel=1e-12)
    assert got / 2**30 == pytest.approx(1.957, abs=1e-3)


def test_one_layer_by_hand_llama3_405b_tp8():
    # Llama 3.1 405B at TP 8: a layer 16384 x (16384 + 1024 + 1024 + 16384) + 3 x 16384 x 53248
    # (+ 2 x 16384 norms) = 3187.7 M params, 398.5 M per GPU, larger than the output layer's
    # 128256 x 16384 / 8 = 262.7 M: one layer in fp32, 1.48 GiB
    layer = 16384 * (16384 + 1024 + 1024 + 16384) + 3 * 16384 * 53248 + 2 * 16384
    head = 128256 * 16384
    assert layer > head
    got = _mem(_sc("llama3.1-405b", nodes=8, tp=8))["fsdp_reduce_scatter_buffer"]
    # the model divides a layer's norms over tp as well (2 x 16384 of 3.19e9 params)
    assert got == pytest.approx(4.0 * layer / 8, rel=1e-5)
    assert got / 2**30 == pytest.approx(1.48, abs=0.005)


def test_kernel_reference_training_memory_and_step_model_agree():
    sc = _sc("llama3-70b", nodes=4, tp=8)
    m = _mem(sc)
    assert m["fsdp_reduce_scatter_buffer"] > 0
    # the same inputs through the kernel and its plain-Python reference (stage sizes from the
    # memory model's own stage candidate), and the step models' memory per GPU
    assert_fsdp_term_agrees(sc, m, "fsdp_reduce_scatter_buffer")


def test_the_reduce_dtype_is_the_stacks_and_megatron_fsdp_has_none():
    tt = _mem(_sc("llama3-8b"))["fsdp_reduce_scatter_buffer"]
    # Megatron-Core's PyTorch FSDP2 wrapper passes no MixedPrecisionPolicy: bf16 gradients, 2 B
    mc = _mem(_sc("llama3-8b").replace(training={"stack": "megatron-core-cuda"}))["fsdp_reduce_scatter_buffer"]
    assert mc == pytest.approx(tt / 2, rel=1e-12)
    assert il.memory.fsdp_reduce_scatter_bytes(il.stacks.params("torchtitan-rocm")) == 4.0
    meg = _sc("llama3-8b", fsdp_impl="megatron").replace(training={"stack": "megatron-core-cuda"})
    assert _mem(meg)["fsdp_reduce_scatter_buffer"] == 0.0
    with pytest.raises(il.UnknownNameError, match="fsdp_impl"):
        il.memory.fsdp_reduce_scatter_bytes(il.stacks.params("torchtitan-cuda"), "deepspeed")


def test_no_term_without_full_sharding():
    # data parallel without FSDP, and FSDP2 under pipeline parallelism (the stage stays gathered
    # and reduce-scatters once, in the last micro-batch's backward): nothing added
    for sc in (_sc("llama3-8b", fsdp=False, zero=1), _sc("llama3-70b", nodes=4, tp=8, pp=2)):
        m = _mem(sc)
        assert m["fsdp_reduce_scatter_buffer"] == 0.0
        assert m["zero3_gather_buffer"] == 0.0
        reserve = m.pop("allocator_reserve")
        assert il.memory.training_memory_total(sc) == pytest.approx(sum(m.values()) + reserve, rel=1e-12)
        assert il.estimate(sc).memory_per_gpu_bytes == pytest.approx(il.memory.training_memory_total(sc), rel=1e-9)


def test_the_term_adds_to_the_total_with_its_reserve():
    sc = _sc("llama3-8b")
    m = _mem(sc)
    rs = m["fsdp_reduce_scatter_buffer"]
    frac = il.stacks.params("torchtitan-cuda")["memory_reserve_fraction"]
    fixed = il.stacks.params("torchtitan-cuda")["memory_reserve_bytes"]
    tensors = sum(v for k, v in m.items() if k != "allocator_reserve")
    # the reserve counts the buffer like every other tensor
    assert rs > 0
    assert m["allocator_reserve"] == pytest.approx(fixed + frac * tensors, rel=1e-12)


def test_the_reduce_scatter_input_checks_fsdp_impl_without_computing_the_reduce_bytes():
    # session 38: fsdp_reduce_scatter_bytes called zero3_reduce_bytes only for its check and threw
    # the result away; a Megatron-FSDP stack's buffer is 0 whatever the reduce bytes
    from infra_lab.errors import UnknownNameError
    from infra_lab.memory.training import fsdp_reduce_scatter_bytes, zero3_reduce_bytes

    assert fsdp_reduce_scatter_bytes({}, "megatron") == 0.0          # read no stack parameter
    tt = il.stacks.params("torchtitan-cuda")
    assert fsdp_reduce_scatter_bytes(tt) == zero3_reduce_bytes(tt) == 4.0
    for call in (fsdp_reduce_scatter_bytes, zero3_reduce_bytes):
        with pytest.raises(UnknownNameError, match=r"^unknown parallelism\.fsdp_impl 'deepspeed'"):
            call(tt, "deepspeed")
