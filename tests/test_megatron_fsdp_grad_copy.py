"""Megatron-FSDP (Megatron-Core's custom FSDP) without gradient-accumulation fusion: its
post-backward hook copies each 16-bit weight gradient into the fp32 main-grad buffer
(``param.main_grad.copy_(param.grad)`` under the ZeRO-2/3 sharding strategies, one copy per
parameter tensor), where Megatron-Core DDP's hook adds it (``main_grad.add_``) and PyTorch
FSDP2 has no such buffer."""

import polars as pl
import pytest

import infra_lab as il
from infra_lab._kernels.training_reference import step_reference
from infra_lab.training.context import gacc_code


def _runs():
    return {r["id"]: r for r in il.validation.current_runs().iter_rows(named=True)}


def test_copy_hook_reads_the_gradient_and_writes_the_buffer_once_per_parameter_tensor():
    runs = _runs()
    sc = il.validation.scenario_for_run(runs["MZ-Q235-H100-256-c"])[0]
    spec, p = sc.model_spec, sc.parallelism
    kw = dict(passes=("fwd", "bwd"), ep=p.ep, expert_tp=p.etp, grouped_gemm_streams=4, main_grad_bytes=4.0,
              gradient_accumulation_fusion=False)
    add = il.compute.layer_ops(spec, 4096, 1, 1, "H100-SXM", **kw)
    copy = il.compute.layer_ops(spec, 4096, 1, 1, "H100-SXM", main_grad_hook="copy", **kw)
    a = add.filter(pl.col("component") == "grad_acc")
    c = copy.filter(pl.col("component") == "grad_acc")
    assert a["op"].to_list() == c["op"].to_list()
    # bytes per weight element: add reads the buffer and the gradient and writes the buffer (4 + 2 + 4),
    # copy reads the gradient and writes the buffer (2 + 4)
    assert c["bytes"].sum() == pytest.approx(a["bytes"].sum() * 6.0 / 10.0, rel=1e-12)
    e_local = spec.experts // p.ep
    up_c = c.filter((pl.col("layer_kind") == "moe") & (pl.col("op") == "experts_up_wgrad_acc")).row(0, named=True)
    up_a = a.filter((pl.col("layer_kind") == "moe") & (pl.col("op") == "experts_up_wgrad_acc")).row(0, named=True)
    # one copy per local expert (Transformer Engine GroupedLinear's weight0 .. weightN-1); the DDP
    # add stays one kernel per grouped weight (the legacy GroupedMLP's single weight)
    assert (up_c["count"], up_a["count"]) == (e_local, 1)
    assert up_c["bytes"] == pytest.approx(e_local * spec.hidden * 2 * spec.expert_ffn_hidden * 6.0, rel=1e-12)
    # fused accumulation: no hook, whatever the hook kind
    fused = il.compute.layer_ops(spec, 4096, 1, 1, "H100-SXM", **{**kw, "gradient_accumulation_fusion": True},
                                 main_grad_hook="copy")
    assert "grad_acc" not in set(fused["component"])
    with pytest.raises(il.UnknownNameError, match="main_grad_hook"):
        il.compute.layer_ops(spec, 4096, 1, 1, "H100-SXM", main_grad_hook="move", **kw)


def test_fsdp_impl_selects_the_hook_and_the_reference_agrees():
    assert gacc_code(True, False, "torch") == gacc_code(True, True, "megatron") == 1.0
    assert gacc_code(False, True, "torch") == 1.0          # PyTorch FSDP2: no main-grad buffer
    assert gacc_code(False, False, "torch") == 0.0         # Megatron-Core DDP: add
    assert gacc_code(False, True, "megatron") == 2.0       # Megatron-FSDP: copy
    runs = _runs()
    mz_c = il.validation.scenario_for_run(runs["MZ-Q235-H100-256-c"])[0]
    assert mz_c.parallelism.fsdp_impl == "megatron"        # settings: fsdp=custom (optim_grads_params)
    torch_fsdp = mz_c.replace(parallelism={"fsdp_impl": "torch"})
    fused = mz_c.replace(training={"gradient_accumulation_fusion": True})
    t, t_fused = (il.estimate(x).step_time_s for x in (mz_c, fused))
    # PyTorch FSDP2 also reduce-scatters in its own dtype (il.memory.zero3_reduce_bytes: bf16 on this
    # stack); at Megatron-FSDP's fp32 the two differ by the hook alone
    t_torch = il.estimate(torch_fsdp, params={"fsdp_reduce_dtype_bytes": 4.0}).step_time_s
    assert t_torch == pytest.approx(t_fused, rel=1e-12)
    assert il.estimate(torch_fsdp).step_time_s < t_torch
    # about 23 B local weight elements x 6 bytes per micro-batch, 2 micro-batches, memory-bound at the
    # stack's memory_time_scale: a few hundred ms on a ~18 s step
    assert 0.005 < (t - t_fused) / t < 0.03
    assert step_reference(mz_c)["step_time_s"] == pytest.approx(t, rel=1e-9)
    # the Primus FSDP runs name PyTorch FSDP2 (use_torch_fsdp2)
    pj = il.validation.scenario_for_run(runs["PJ26-L31-70B-MI325X-64-bf16-fsdp"])[0]
    assert pj.parallelism.fsdp and pj.parallelism.fsdp_impl == "torch"
    with pytest.raises(il.UnknownNameError, match="fsdp_impl"):
        mz_c.replace(parallelism={"fsdp_impl": "deepspeed"})
