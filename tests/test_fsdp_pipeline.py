"""ZeRO-3 / FSDP under pipeline parallelism, per implementation (parallelism.fsdp_impl).

PyTorch FSDP2 under torch.distributed.pipelining (torchtitan) keeps a stage's parameters
gathered and its gradients unsharded until the last micro-batch (stage.py's
``backward_maybe_with_nosync``; torchtitan's reshard-after-forward policy off under PP):
ZeRO-1 memory, one gather and one reduce-scatter per step. Megatron-FSDP reshards every FSDP
unit after its forward and backward and reduce-scatters after every backward, pipeline or not:
ZeRO-3 memory and per-micro-batch gathers (memory._state_sharding cites the code)."""

import pytest

import infra_lab as il
from infra_lab._kernels.training_reference import step_reference

BASE = {"name": "l70-fsdp-pp", "model": {"preset": "llama3-70b"},
        "hardware": {"accelerator": "H100-SXM", "nodes": 8, "nic": "ConnectX-7-NDR"},
        "training": {"seq_len": 8192, "global_batch": 128, "micro_batch": 1, "recompute": "full"},
        "parallelism": {"tp": 2, "pp": 4, "fsdp": True}}


def _sc(impl: str, **par) -> il.Scenario:
    return il.Scenario.from_dict({**BASE, "parallelism": {**BASE["parallelism"], "fsdp_impl": impl, **par}})


def _mem(sc) -> dict[str, float]:
    return dict(il.memory.training_memory(sc).select("component", "bytes").iter_rows())


def test_megatron_fsdp_shards_parameters_and_gradients_per_stage_under_pp():
    torch_, meg = _sc("torch"), _sc("megatron")
    mt, mm = _mem(torch_), _mem(meg)
    dp = meg.parallelism.dp
    assert dp == 8
    # Megatron-FSDP: weights and gradients sharded over dp (ZeRO-3), two layers gathered at a time
    assert mm["weights"] == pytest.approx(mt["weights"] / dp, rel=1e-12)
    assert mm["gradients"] == pytest.approx(mt["gradients"] / dp, rel=1e-12)
    assert mm["optimizer_states"] == pytest.approx(mt["optimizer_states"], rel=1e-12)
    assert mm["zero3_gather_buffer"] > 0 == mt["zero3_gather_buffer"]
    # the same as Megatron-FSDP at pp = 1 would price a stage's states: the ZeRO-3 kernel rows
    assert il.estimate(meg).memory_per_gpu_bytes == pytest.approx(il.memory.training_memory_total(meg), rel=1e-12)
    assert il.estimate(torch_).memory_per_gpu_bytes == pytest.approx(il.memory.training_memory_total(torch_),
                                                                     rel=1e-12)
    assert il.estimate(meg).memory_per_gpu_bytes < 0.5 * il.estimate(torch_).memory_per_gpu_bytes


def test_megatron_fsdp_gathers_every_micro_batch_under_pp():
    torch_, meg = _sc("torch"), _sc("megatron")
    bt, bm = (dict(il.estimate(x).breakdown.iter_rows()) for x in (torch_, meg))
    m = BASE["training"]["global_batch"] // (BASE["training"]["micro_batch"] * meg.parallelism.dp)
    assert m == 16
    # once per step (torch) against once per micro-batch, plus the backward's re-gathers (megatron)
    assert bm["dp_param_comm"] > 4 * bt["dp_param_comm"]
    assert bm["dp_grad_comm"] > 4 * bt["dp_grad_comm"]
    for k in ("compute_fwd", "compute_bwd", "tp_comm", "pp_bubble"):
        assert bm[k] == bt[k]
    # the plain-Python reference re-derives both from the public functions
    for sc in (torch_, meg):
        assert step_reference(sc)["step_time_s"] == pytest.approx(il.estimate(sc).step_time_s, rel=1e-9)


def test_search_prices_megatron_fsdp_under_pp_as_estimate():
    meg = _sc("megatron")
    df = il.search(meg, top=None, feasible_only=False, tp=2, pp=4, vp=1, cp=1, micro_batch=1, fsdp=True, sequence_parallel=False,
                   recompute="full")
    assert df.height == 1
    row = df.row(0, named=True)
    est = il.estimate(meg)
    assert row["step_time_s"] == pytest.approx(est.step_time_s, rel=1e-12)
    assert row["memory_per_gpu_bytes"] == pytest.approx(est.memory_per_gpu_bytes, rel=1e-12)


def test_kept_gathered_notes_say_so():
    notes = dict(il.memory.training_memory(_sc("torch")).select("component", "note").iter_rows())
    assert "gathered for the whole step" in notes["weights"]
    assert "sharded" not in notes["gradients"].split(",")[0]
    notes = dict(il.memory.training_memory(_sc("megatron")).select("component", "note").iter_rows())
    assert "sharded over 8 ranks" in notes["weights"] and "sharded (ZeRO-2+)" in notes["gradients"]


def test_weights_note_names_the_cached_fp8_copies():
    """FP8 on a Transformer Engine stack keeps 2 B per linear-layer parameter of cached FP8
    weights beside the 16-bit ones (Llama-3-8B on 16 H100: weights 15.0 -> 28.0 GiB), and the
    note said "2 B/param" only."""
    sc = il.Scenario.from_dict({"name": "u", "model": {"preset": "llama3-8b"},
                                "hardware": {"accelerator": "H100-SXM", "nodes": 2},
                                "training": {"seq_len": 4096, "global_batch": 64, "precision": "fp8"}})
    notes = dict(il.memory.training_memory(sc).select("component", "note").iter_rows())
    assert "+ 2 B per linear-layer param of cached FP8 weights" in notes["weights"]
    bf16 = dict(il.memory.training_memory(sc.replace(training={"precision": "bf16"}))
                .select("component", "note").iter_rows())
    assert "FP8" not in bf16["weights"]
