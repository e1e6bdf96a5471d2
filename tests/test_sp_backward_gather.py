"""Tensor-parallel collectives the step prices per layer, by hand from the collective model:
sequence parallelism's backward re-gather of each column-parallel input (Korthikanti et al. 2022
section 4.2.2; Megatron-Core's LinearWithGradAccumulationAndAsyncCommunication.backward and
Transformer Engine's LayerNormLinear / LayerNormMLP keep only the 1/tp sequence shard and
all-gather it again for the weight-gradient GEMM, issued before the dgrad GEMM and waited after
it), and the shared experts' MLP, which is tensor-parallel like a dense MLP."""

import pytest

import infra_lab as il
from infra_lab._kernels import training as kt
from infra_lab._kernels.training_reference import step_reference


def _tp_comm(sc):
    e = il.estimate(sc)
    return dict(zip(e.breakdown["component"], e.breakdown["seconds"], strict=True))["tp_comm"]


def _ag_rs(sc):
    spec, p, tr = sc.model_spec, sc.parallelism, sc.training
    act = tr.micro_batch * tr.seq_len / p.cp * spec.hidden * 2.0
    kw = {} if sc.hardware.domain_gpus >= p.tp else {"per_node": sc.hardware.domain_gpus}
    ag = il.collective("all_gather", act, sc.hardware, gpus=p.tp, **kw).time_s
    rs = il.collective("reduce_scatter", act, sc.hardware, gpus=p.tp, **kw).time_s
    return ag, rs


def _steps(sc):
    p, tr = sc.parallelism, sc.training
    return tr.global_batch / (p.dp * tr.micro_batch) * sc.model_spec.layers


def test_megatron_regather_hides_behind_the_dgrad_gemms_and_selective_adds_no_collective():
    # Megatron-LM README GPT 16B: TP 4 inside one node, SP, PP 1, 32 dense layers
    sc = il.validation.scenario_for_run("MG24-GPT-16B-192")[0]
    p = sc.parallelism
    assert p.sequence_parallel and p.tp == 4 and p.pp == 1 and sc.training.recompute == "none"
    sp = il.training.stack_params(sc.stack)
    assert sp["sp_backward_regather"] == 1.0 and kt.SP_BACKWARD_GATHERS_DENSE == 2.0
    ag, rs = _ag_rs(sc)
    n = _steps(sc)
    # 2 all-gathers + 2 reduce-scatters forward, 2 + 2 backward; the QKV and FC1 re-gathers
    # (2 x 0.12 ms over NVLink) hide behind the layer's dgrad GEMMs (milliseconds)
    assert _tp_comm(sc) == pytest.approx(n * 4 * (rs + ag) * (1 - sp["tp_comm_overlap"]), rel=1e-9)
    # Megatron's selective recompute re-runs the attention core from the stored Q, K, V: no
    # collective (it used to add one reduce-scatter + all-gather pair per layer)
    sel = sc.replace(training={"recompute": "selective"})
    assert _tp_comm(sel) == pytest.approx(n * 4 * (rs + ag) * (1 - sp["tp_comm_overlap"]), rel=1e-9)
    # full recompute: the recomputed forward's 2 pairs
    full = sc.replace(training={"recompute": "full"})
    assert _tp_comm(full) == pytest.approx(n * 6 * (rs + ag) * (1 - sp["tp_comm_overlap"]), rel=1e-9)
    for x in (sc, sel, full):
        assert step_reference(x)["step_time_s"] == pytest.approx(il.estimate(x).step_time_s, rel=1e-9)


def test_megatron_regather_over_the_network_outlasts_the_dgrad_gemms():
    # the same model with TP 16 over two 8-GPU nodes: each re-gather crosses the NIC
    sc = il.validation.scenario_for_run("MG24-GPT-16B-192")[0]
    net = sc.replace(parallelism={"tp": 16, "dp": sc.parallelism.dp * sc.parallelism.tp // 16})
    assert net.hardware.domain_gpus == 8
    sp = il.training.stack_params(sc.stack)
    ag, rs = _ag_rs(net)
    n = _steps(net)
    base = n * 4 * (rs + ag) * (1 - sp["tp_comm_overlap"])
    extra = _tp_comm(net) - base
    # exposed: the excess of the 2 gathers over the dgrad window, at most the 2 gathers
    assert 0.0 < extra <= n * 2 * ag * (1 + 1e-9)
    no_regather = il.estimate(net, params={"sp_backward_regather": 0.0})
    assert dict(zip(no_regather.breakdown["component"], no_regather.breakdown["seconds"],
                    strict=True))["tp_comm"] == pytest.approx(base, rel=1e-9)
    assert step_reference(net)["step_time_s"] == pytest.approx(il.estimate(net).step_time_s, rel=1e-9)


def test_torchtitan_regathers_only_under_per_op_sac():
    sc = il.validation.scenario_for_run("MG24-GPT-16B-192")[0]
    tt = sc.replace(training={"stack": "torchtitan-cuda"})
    sp = il.training.stack_params("torchtitan-cuda")
    assert sp["sp_backward_regather"] == 0.0
    ovl = sp["tp_comm_overlap"]
    ag, rs = _ag_rs(tt)
    n = _steps(tt)
    # DTensor keeps the gathered input: no re-gather
    assert _tp_comm(tt) == pytest.approx(n * 4 * (rs + ag) * (1 - ovl), rel=1e-9)
    # per-op SAC: its save list has no all-gather, so the recomputed forward gathers again, on its path
    sac = tt.replace(training={"recompute": "selective"})
    assert _tp_comm(sac) == pytest.approx(n * (4 * (rs + ag) + 2 * ag) * (1 - ovl), rel=1e-9)
    for x in (tt, sac):
        assert step_reference(x)["step_time_s"] == pytest.approx(il.estimate(x).step_time_s, rel=1e-9)


def test_shared_experts_mlp_is_tensor_parallel():
    # Qwen2-57B-A14B (one shared expert per MoE layer), TP 2 with SP, MoE Parallel Folding (etp 1)
    run = il.validation.scenario_for_run("PF-Q57-64-fold")[0]
    # one pipeline stage, so that every layer is on the pacing stage (the run has PP 4, VP 7:
    # one stage has no interleaving)
    sc = run.replace(parallelism={"pp": 1, "vp": 1, "dp": run.parallelism.dp * run.parallelism.pp})
    spec, p, tr = sc.model_spec, sc.parallelism, sc.training
    assert spec.shared_experts == 1 and p.tp == 2 and p.etp == 1 and p.sequence_parallel
    assert all(k == "moe" for k in spec.layer_kinds()) and tr.recompute == "none"
    ovl = il.training.stack_params(sc.stack)["tp_comm_overlap"]
    ag, rs = _ag_rs(sc)
    n = _steps(sc)
    # attention and the shared experts' MLP: 2 pairs each (forward + backward); etp = 1: no
    # expert-TP gather; the re-gathers (QKV, shared FC1) hide behind the dgrad GEMMs
    assert _tp_comm(sc) == pytest.approx(n * 2 * 2 * (rs + ag) * (1 - ovl), rel=1e-9)
    no_shared = sc.replace(model={"shared_experts": 0})
    assert _tp_comm(no_shared) == pytest.approx(n * 2 * (rs + ag) * (1 - ovl), rel=1e-9)
    for x in (sc, no_shared):
        assert step_reference(x)["step_time_s"] == pytest.approx(il.estimate(x).step_time_s, rel=1e-9)
