"""torchao's float8 FSDP all-gather (``training.fsdp_float8_all_gather``): the gathered layers'
weights in float8.

torchao (e4e681be6, the torchao B200 benchmark's build): ``WeightWithDynamicFloat8CastTensor``
casts each ``Float8Linear`` weight shard to float8 in ``fsdp_pre_all_gather`` and wraps the
gathered bytes with their scalar scale in a ``Float8TrainingTensor`` (``fsdp_post_all_gather``);
``matmul_with_hp_or_float8_args`` uses it as it is in the forward and the grad-input GEMM. So the
two gathered layer units hold 1 byte per parameter, not 2; the gradients stay 16-bit. torchtitan
(6fc499f) takes it only with its tensorwise recipe (``Float8Converter`` refuses it with a recipe
name)."""

import pytest

import infra_lab as il
from infra_lab._kernels.memory import MEM_NAMES, training_bytes, training_bytes_reference
from infra_lab._kernels.training_reference import step_reference
from infra_lab.errors import ValidationError
from infra_lab.validation.runs import scenario_for_run

BASE = {"name": "fsdp-f8ag", "model": {"preset": "llama3-8b"},
        "hardware": {"accelerator": "H100-SXM", "nodes": 1},
        "training": {"seq_len": 8192, "global_batch": 8, "micro_batch": 1, "recompute": "selective",
                     "precision": "fp8", "stack": "torchtitan-cuda"},
        "parallelism": {"tp": 1, "pp": 1, "fsdp": True}}


def _sc(flag: bool, **training) -> il.Scenario:
    return il.Scenario.from_dict({**BASE, "training": {**BASE["training"], "fsdp_float8_all_gather": flag,
                                                       **training}})


def _mem(sc) -> dict[str, float]:
    return dict(il.memory.training_memory(sc).select("component", "bytes").iter_rows())


def test_gather_bytes():
    assert il.memory.fsdp_gather_bytes(2.0, "fp8", True) == 1.0
    assert il.memory.fsdp_gather_bytes(2.0, "fp8", False) == 2.0
    assert il.memory.fsdp_gather_bytes(2.0, "bf16", True) == 2.0     # no FP8 format: the 16-bit weights


def test_gathered_layers_halve_and_nothing_else_moves():
    on, off = _mem(_sc(True)), _mem(_sc(False))
    # a dense model: every gathered parameter is a non-expert one, 1 byte instead of 2
    assert on["zero3_gather_buffer"] == pytest.approx(off["zero3_gather_buffer"] / 2, rel=1e-12)
    # Llama 3 8B on 8 GPUs: two layers of 218.1 M parameters, 0.81 -> 0.41 GiB
    assert off["zero3_gather_buffer"] / 2**30 == pytest.approx(0.8125, abs=5e-4)
    for k in MEM_NAMES:
        if k not in ("zero3_gather_buffer", "allocator_reserve"):
            assert on[k] == off[k], k     # the 16-bit gradients, the fp32 reduce-scatter input: unchanged
    assert on["allocator_reserve"] < off["allocator_reserve"]


def test_step_model_memory_and_time():
    sc_on, sc_off = _sc(True), _sc(False)
    total = il.memory.training_memory_total(sc_on)
    assert il.estimate(sc_on).memory_per_gpu_bytes == pytest.approx(total, rel=1e-9)
    assert step_reference(sc_on)["memory_per_gpu_bytes"] == pytest.approx(total, rel=1e-9)
    assert total < il.memory.training_memory_total(sc_off)


def test_all_gather_time_at_the_bytes_sent():
    # fsdp_pre_all_gather returns the float8 data as the all-gather input (the scale is metadata):
    # the per-layer gather of the weight matrices sends 1 byte per parameter, the norm vectors and
    # the gradients' reduce-scatter keep their widths; kernel and reference agree
    sc_on, sc_off = _sc(True), _sc(False)
    on, off = il.estimate(sc_on), il.estimate(sc_off)
    ref_on, ref_off = step_reference(sc_on), step_reference(sc_off)
    assert on.step_time_s == pytest.approx(ref_on["step_time_s"], rel=1e-9)
    assert off.step_time_s == pytest.approx(ref_off["step_time_s"], rel=1e-9)
    assert on.step_time_s < off.step_time_s
    # only the data-parallel (FSDP) collectives move; the compute is the same
    b_on, b_off = (dict(e.breakdown.iter_rows()) for e in (on, off))
    for k in ("compute_fwd", "compute_bwd", "compute_recompute", "tp_comm", "optimizer"):
        assert b_on[k] == b_off[k], k
    assert on.dp_comm_raw_s < off.dp_comm_raw_s
    assert ref_on["dp_comm_raw_s"] == pytest.approx(on.dp_comm_raw_s, rel=1e-9)
    assert ref_off["dp_comm_raw_s"] == pytest.approx(off.dp_comm_raw_s, rel=1e-9)


def test_not_sharded_no_effect():
    # ZeRO-1 data parallelism gathers nothing
    on = _mem(_sc(True).replace(parallelism={"fsdp": False, "zero": 1}))
    off = _mem(_sc(False).replace(parallelism={"fsdp": False, "zero": 1}))
    assert on == off


def test_kernel_equals_reference_with_experts():
    # routed experts gather at the 16-bit width, the rest at agb
    args = (5e9, 4e10, 1e9, 2.0, 8.0, 1.0, 16.0, 4.0, 3, 2, 2.0, 4.0, 12.0, 48.0, 1e10, 1e9, 2e9, 3e9, 0.0, 0.0,
            4.0, 5e8, 0.0)
    k1, r1 = training_bytes(*args, 1.0), training_bytes_reference(*args, agb=1.0)
    k2 = training_bytes(*args, 2.0)
    i = MEM_NAMES.index("zero3_gather_buffer")
    assert k1 == pytest.approx(r1, rel=1e-12)
    assert k1[i] == pytest.approx(2 * (1.0 * 5e9 / 2 + 2.0 * 4e10 / 8) / 48, rel=1e-12)
    assert k2[i] - k1[i] == pytest.approx(2 * 5e9 / 2 / 48, rel=1e-12)


def test_refused_outside_the_tensorwise_recipe_and_torchtitan():
    with pytest.raises(ValidationError, match="fsdp_float8_all_gather.*tensorwise"):
        _sc(True, precision="bf16")
    with pytest.raises(ValidationError, match="fp8_scaling = 'row'"):
        _sc(True, fp8_scaling="row")
    with pytest.raises(ValidationError, match="allowed stacks: torchtitan-cuda"):
        _sc(True, stack="megatron-core-cuda")
    with pytest.raises(ValidationError, match="fsdp_float8_all_gather"):
        _sc("yes")


def test_published_runs_read():
    # torchao's and Trainy's tensorwise runs publish the float8 all-gather; the rowwise runs gather bf16
    for rid in ("AO-8B-B200-fp8tw", "AO-8B-H100-fp8tw", "AO-8B-MI300X-fp8tw", "TY25-8B-H200-32"):
        assert scenario_for_run(rid)[0].training.fsdp_float8_all_gather, rid
    for rid in ("AO-8B-H100-fp8rw", "AO-8B-B200-bf16", "AO-8B-B200-mxfp8", "TT24-8B-8-fsdp-compile-fp8"):
        assert not scenario_for_run(rid)[0].training.fsdp_float8_all_gather, rid
