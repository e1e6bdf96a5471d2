"""Multi-token-prediction (MTP) modules in the training step: priced on the last pipeline
stage (forward, backward, recomputation, their layer's collectives, their activations and
heads), the numba kernel equal to the plain reference and to ``il.memory``."""

from __future__ import annotations

import pytest
from kernel_check import assert_estimate_equals_reference, assert_row_is_estimate

import infra_lab as il
from infra_lab import training as T
from infra_lab._kernels import training as kt
from infra_lab.errors import ValidationError


def _dense(mtp: int, pp: int = 1, recompute: str = "none", **par) -> il.Scenario:
    return il.Scenario.from_dict({
        "model": {"preset": "llama3-8b", "mtp_layers": mtp},
        "hardware": {"accelerator": "H100-SXM", "nodes": 1},
        "training": {"seq_len": 4096, "global_batch": 64, "micro_batch": 1, "recompute": recompute},
        "parallelism": {"tp": 1, "pp": pp, **par}})


def _moe(mtp: int, pp: int = 2, recompute: str = "full", **par) -> il.Scenario:
    return il.Scenario.from_dict({
        "model": {"preset": "mixtral-8x7b", "mtp_layers": mtp},
        "hardware": {"accelerator": "H100-SXM", "nodes": 2, "nic": "ConnectX-7-NDR"},
        "training": {"seq_len": 4096, "global_batch": 64, "micro_batch": 1, "recompute": recompute},
        "parallelism": {"tp": 2, "pp": pp, "ep": 4, "sequence_parallel": True, **par}})


def _dsv3(mtp: int) -> dict:
    return {"model": {"preset": "deepseek-v3", "mtp_layers": mtp},
            "hardware": {"accelerator": "H100-SXM", "nodes": 128},
            "training": {"seq_len": 4096, "global_batch": 4096, "recompute": "full"},
            "parallelism": {"tp": 1, "pp": 16, "ep": 64}}


def test_step_time_grows_with_mtp_layers():
    steps = [il.estimate(_dsv3(m)).step_time_s for m in (0, 1, 3)]
    assert steps[0] < steps[1] < steps[2]
    dense = [il.estimate(_dense(m)).step_time_s for m in (0, 1, 2)]
    assert dense[0] < dense[1] < dense[2]


def test_many_mtp_layers_no_longer_refused():
    """The executed FLOPs count the MTP modules; their time now does too (no 'faster than the
    hardware' refusal)."""
    est = il.estimate(_dense(8))
    assert est.step_time_s > il.estimate(_dense(0)).step_time_s
    assert 0.0 < est.mfu < 1.0


def _mtp_fwd(sc) -> float:
    """One MTP module's forward per micro-batch [s] from the step's tables (no experts)."""
    ctx = T._context(sc, (sc.parallelism.tp,), (sc.training.micro_batch,), (sc.parallelism.cp,), sc.stack, None)
    spi = 1 if sc.parallelism.sequence_parallel else 0
    return (ctx.sp["framework_time_scale"] * ctx.tab[kt.K_MTP, kt.T_FWD, 0, 0, 0, spi]
            + ctx.sp["memory_time_scale"] * ctx.tab[kt.K_MTP, kt.T_FWD_MEM, 0, 0, 0, spi])


@pytest.mark.parametrize("pp", [1, 4])
def test_mtp_time_lands_on_the_last_stage(pp):
    """pp = 4: the last stage (8 layers + the head) paces; k MTP modules add k module forwards per
    micro-batch to its forward, and the step grows by the m micro-batches of that stage while
    the bubble stays the other ranks' fill and drain (1F1B executed, or Alpa's sum t_i + (m - 1)
    max t_i with the last rank the slowest: neither reads the pacing rank's own time)."""
    k = 2
    base, with_mtp = il.estimate(_dense(0, pp)), il.estimate(_dense(k, pp))
    sc = _dense(k, pp)
    m = sc.training.global_batch / (sc.parallelism.dp * sc.training.micro_batch)
    f0 = dict(base.breakdown.iter_rows())["compute_fwd"]
    f1 = dict(with_mtp.breakdown.iter_rows())["compute_fwd"]
    assert f1 - f0 == pytest.approx(m * k * _mtp_fwd(sc), rel=1e-9)
    if pp > 1:
        b0 = dict(base.breakdown.iter_rows())["pp_bubble"]
        b1 = dict(with_mtp.breakdown.iter_rows())["pp_bubble"]
        # the stages before the last are unchanged (b1 > b0 was asserted here; it held only by a
        # rounding difference of 6e-17 s since the bubble prices each rank at its own times)
        assert b1 == pytest.approx(b0, rel=1e-12)
        assert with_mtp.step_time_s - base.step_time_s > m * k * _mtp_fwd(sc)
    # the stage without the head is unchanged: MTP parameters and time sit on the last stage only
    first = [c for c in il.memory.stage_candidates(sc.model_spec, pp) if c["rank"] == 0][0]
    assert first["has_head"] == (pp == 1)


CASES = [
    *(_dense(2, pp, rc) for pp in (1, 2) for rc in ("none", "selective", "full")),
    _dense(1, 2, "full", sequence_parallel=False, tp=2),
    *(_moe(1, pp, rc) for pp in (1, 2) for rc in ("none", "selective", "full")),
    _moe(2, 2, "selective", ep_overlap=True, moe_dispatcher="deepep"),
    il.Scenario.from_dict(_dsv3(1)),
    _moe(1, 2, "selective").replace(training={"recompute_modules": ["moe", "layernorm"]}),
    _moe(1, 2, "full").replace(training={"recompute_num_layers": 2}),
    _dense(2, 2, "full", cp=2, tp=2, sequence_parallel=True),
    # the block method (recompute_num_layers): MTP modules not recomputed, as Megatron-Core does
    _moe(2, 2, "full").replace(training={"recompute_num_layers": 1}),
    _moe(1, 1, "full").replace(training={"recompute_num_layers": 32}),
    _dense(2, 2, "full", cp=2, tp=2, sequence_parallel=True).replace(training={"recompute_num_layers": 3}),
    _dense(1, 2, "full", sequence_parallel=False, tp=2).replace(training={"recompute_num_layers": 16}),
]


@pytest.mark.parametrize("i", range(len(CASES)))
def test_kernel_equals_reference_and_memory(i):
    assert_estimate_equals_reference(CASES[i])


def test_mtp_memory_on_the_last_stage():
    """MTP activations and heads add to the last stage's memory only (parameters were already
    there: the weights do not change)."""
    sc0, sc1 = _dense(0, 4), _dense(2, 4)
    last0 = il.memory.training_memory(sc0, pipeline_rank="last")
    last1 = il.memory.training_memory(sc1, pipeline_rank="last")
    first0 = il.memory.training_memory(sc0, pipeline_rank="first")
    first1 = il.memory.training_memory(sc1, pipeline_rank="first")
    get = lambda df, c: df.filter(df["component"] == c)["bytes"][0]   # noqa: E731
    assert get(last1, "activations") > get(last0, "activations")
    assert get(last1, "embedding_and_head_activations") > get(last0, "embedding_and_head_activations")
    for c in ("activations", "embedding_and_head_activations"):
        assert get(first1, c) == get(first0, c)


def test_search_rows_equal_estimate_with_mtp():
    sc = _moe(1, 2, "full")
    df = il.search(sc, top=None, feasible_only=False)
    for r in df.sample(n=min(12, df.height), seed=3).iter_rows(named=True):
        one = sc.replace(parallelism={k: r[k] for k in ("tp", "pp", "vp", "cp", "ep", "etp", "zero", "fsdp",
                                                        "sequence_parallel")},
                         training={"micro_batch": r["micro_batch"], "recompute": r["recompute"]})
        assert_row_is_estimate(r, il.estimate(one))


def test_megatron_mtp_recompute_rule():
    """Megatron-Core (core_v0.16.0, multi_token_prediction.py L842-L857, L910-L925) checkpoints
    each MTP module whole under full recompute with the uniform method (every layer here) and
    skips MTP recompute under the block method (training.recompute_num_layers, any N)."""
    rec = il.memory.mtp_modules_recomputed
    assert rec(3) == rec(3, None) == 3
    assert [rec(3, n) for n in (1, 2, 61)] == [0, 0, 0]
    assert rec(0) == rec(0, 4) == 0
    with pytest.raises(ValidationError, match="recompute_num_layers = 0"):
        rec(1, 0)
    with pytest.raises(ValidationError, match="n_mtp = -1"):
        rec(-1)


@pytest.mark.parametrize("pp", [1, 2])
def test_block_method_leaves_the_mtp_modules_unrecomputed(pp):
    """recompute_num_layers at the model's layer count recomputes every model layer, as full
    recompute does; what differs is the MTP modules alone: under the block method they are not
    recomputed (k module forwards less recomputation per micro-batch), keep their full
    activations and add no working set. Without MTP the two are the same plan, bit for bit."""
    k = 2
    every, block = _dense(k, pp, "full"), _dense(k, pp, "full").replace(training={"recompute_num_layers": 32})
    e, b = il.estimate(every), il.estimate(block)
    m = every.training.global_batch / (every.parallelism.dp * every.training.micro_batch)
    r_e = dict(e.breakdown.iter_rows())["compute_recompute"]
    r_b = dict(b.breakdown.iter_rows())["compute_recompute"]
    assert r_e - r_b == pytest.approx(m * k * _mtp_fwd(every), rel=1e-9)
    for comp in ("compute_fwd", "compute_bwd"):
        assert dict(e.breakdown.iter_rows())[comp] == dict(b.breakdown.iter_rows())[comp]
    assert b.step_time_s < e.step_time_s
    get = lambda df, c: df.filter(df["component"] == c)["bytes"][0]   # noqa: E731
    last_e = il.memory.training_memory(every, pipeline_rank="last")
    last_b = il.memory.training_memory(block, pipeline_rank="last")
    assert get(last_b, "activations") > get(last_e, "activations")
    assert get(last_b, "recompute_working_set") < get(last_e, "recompute_working_set")
    # no MTP: the block method over every layer is full recompute
    e0 = il.estimate(_dense(0, pp, "full"))
    b0 = il.estimate(_dense(0, pp, "full").replace(training={"recompute_num_layers": 32}))
    assert (b0.step_time_s, b0.memory_per_gpu_bytes) == (e0.step_time_s, e0.memory_per_gpu_bytes)


def test_search_rows_equal_estimate_with_mtp_and_recompute_num_layers():
    sc = _moe(1, 2, "full").replace(training={"recompute_num_layers": 2})
    df = il.search(sc, top=None, feasible_only=False)
    assert "recompute_num_layers" in df.columns
    for r in df.sample(n=min(12, df.height), seed=5).iter_rows(named=True):
        one = sc.replace(parallelism={k: r[k] for k in ("tp", "pp", "vp", "cp", "ep", "etp", "zero", "fsdp",
                                                        "sequence_parallel")},
                         training={"micro_batch": r["micro_batch"], "recompute": r["recompute"],
                                   "recompute_num_layers": 2 if r["recompute"] == "full" else None})
        est = il.estimate(one)
        assert_row_is_estimate(r, est)
        assert est.memory_per_gpu_bytes == pytest.approx(r["memory_per_gpu_bytes"], rel=1e-9)
