"""Training keys that belong to one framework are refused on the stacks that do not have them,
naming the field, the value, the stack and the stack's counterpart (where a key was once
accepted there and ignored, or read as something the stack does not do).

- ``training.fp8_param_gather`` is Megatron-Core's ``--fp8-param-gather`` (Transformer Engine's
  FP8 primary weights, :func:`infra_lab.memory.fp8_weight_copy_bytes`); torchtitan's float8
  weights are torchao's and its counterpart is ``training.fsdp_float8_all_gather``. It was
  accepted on torchtitan stacks and changed nothing.
- ``training.loss_compiled`` is torchtitan's loss under ``torch.compile`` (its PR #1033); on a
  Megatron-Core stack it lowered the loss memory although Megatron does not compile its loss
  (its counterpart is the fused kernel, ``training.loss_fusion``)."""

import polars as pl
import pytest

import infra_lab as il
from infra_lab.errors import ValidationError
from infra_lab.validation.runs import scenario_for_run

BASE = {"name": "keys", "model": {"preset": "llama3-8b"}, "hardware": {"accelerator": "H100", "nodes": 1},
        "training": {"seq_len": 4096, "global_batch": 8, "micro_batch": 1, "precision": "fp8"},
        "parallelism": {"zero": 1}}


def _sc(stack, **training):
    hw = {"accelerator": "MI300X" if stack.endswith("-rocm") else "H100", "nodes": 1}
    d = {**BASE, "hardware": hw, "training": {**BASE["training"], "stack": stack, **training}}
    return il.Scenario.from_dict(d)


def test_fp8_param_gather_refused_outside_transformer_engine_stacks():
    with pytest.raises(ValidationError, match=r"training\.fp8_param_gather = true with training stack "
                                              r"'torchtitan-cuda'.*allowed stacks: megatron-core-cuda.*"
                                              r"counterpart: training\.fsdp_float8_all_gather"):
        _sc("torchtitan-cuda", fp8_param_gather=True)
    with pytest.raises(ValidationError, match="'torchtitan-rocm'.*fsdp_float8_all_gather"):
        _sc("torchtitan-rocm", fp8_param_gather=True)
    with pytest.raises(ValidationError, match="'megatron-lm-2022-cuda'.*no counterpart"):
        _sc("megatron-lm-2022-cuda", fp8_param_gather=True)
    # a Transformer Engine stack takes it, and it changes the weights' memory there
    for stack in ("megatron-core-cuda", "megatron-core-rocm"):
        on, off = _sc(stack, fp8_param_gather=True), _sc(stack)
        assert il.memory.training_memory_total(on) < il.memory.training_memory_total(off), stack
    # false stays accepted everywhere
    assert not _sc("torchtitan-cuda", fp8_param_gather=False).training.fp8_param_gather


def test_fp8_param_gather_refused_without_fp8_training():
    # with a 16-bit precision the key was accepted on Transformer Engine stacks and changed nothing
    for stack in ("megatron-core-cuda", "megatron-core-rocm"):
        for precision in ("bf16", "fp16"):
            with pytest.raises(ValidationError, match=rf"training\.fp8_param_gather = true with training\.precision = "
                                                      rf"'{precision}'.*allowed: training\.precision = 'fp8'"):
                _sc(stack, precision=precision, fp8_param_gather=True)
    sc = _sc("megatron-core-cuda", fp8_param_gather=True)
    with pytest.raises(ValidationError, match="fp8_param_gather = true with training.precision = 'bf16'"):
        sc.replace(training={"precision": "bf16"})
    assert sc.replace(training={"precision": "bf16", "fp8_param_gather": False}).training.precision == "bf16"


def test_loss_compiled_refused_outside_torchtitan():
    for stack in ("megatron-core-cuda", "megatron-core-rocm", "megatron-lm-2022-cuda"):
        with pytest.raises(ValidationError, match=rf"training\.loss_compiled = true with training stack '{stack}'"
                                                  r".*allowed stacks: torchtitan-cuda, torchtitan-rocm.*"
                                                  r"counterpart: training\.loss_fusion"):
            _sc(stack, precision="bf16", loss_compiled=True)
    on, off = _sc("torchtitan-cuda", precision="bf16", loss_compiled=True), _sc("torchtitan-cuda", precision="bf16")
    assert il.memory.training_memory_total(on) < il.memory.training_memory_total(off)


def test_no_published_run_sets_a_key_its_stack_lacks():
    # every current run's scenario passes the checks (scenario_for_run builds a Scenario); the keys
    # are read where the runs publish them
    assert scenario_for_run("MZ-Q235-GB200-256-mxfp8")[0].training.fp8_param_gather
    assert scenario_for_run("AO-8B-B200-bf16")[0].training.loss_compiled


def test_chart_color_column_missing_names_the_argument():
    frame = pl.DataFrame({"size_bytes": [1e6, 1e7], "busbw_GBps": [10.0, 100.0], "algo": ["ring", "ring"]})
    with pytest.raises(ValidationError, match=r"lacks column\(s\) series.*pass color=<one of its columns> in place "
                                              r"of color='series'"):
        il.charts.busbw_vs_size_chart(frame)
    assert il.charts.busbw_vs_size_chart(frame, color="algo").to_dict()["mark"]
    with pytest.raises(ValidationError, match="pass color="):
        il.charts.scaling_chart(pl.DataFrame({"gpus": [8], "busbw_GBps": [1.0]}))
    # a column the chart needs whatever the arguments gets no such hint
    with pytest.raises(ValidationError) as e:
        il.charts.busbw_vs_size_chart(frame.drop("size_bytes"), color="algo")
    assert "pass" not in str(e.value)
