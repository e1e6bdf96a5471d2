"""Pipeline send/recv transfers on the step's critical path: one activation forward and one
gradient backward per chunk slot, m·vp slots for the micro-batches through a rank's vp chunks
and pp − 1 for the fill and drain, the slots whose compute is the (pp − 1)/vp bubble
(Narayanan et al. 2021 §2.2.2). The interleaved schedule had been priced with vp·(pp − 1)
fill-and-drain slots, vp times the bubble's."""

import pytest

import infra_lab as il
from infra_lab._kernels.training_reference import step_reference


def _pp_p2p(sc, **kw):
    e = il.estimate(sc, **kw)
    return dict(zip(e.breakdown["component"], e.breakdown["seconds"], strict=True))["pp_p2p"]


def test_interleaved_p2p_count_matches_the_bubble():
    # Primus' pipeline blog, Llama-2-7B with 16 layers on 8 MI300X: PP 8 x VP 2, TP 1, DP 1
    sc = il.validation.scenario_for_run("PRP26-L2-7B16L-MI300X-8-1f1b-vpp2")[0]
    p, tr = sc.parallelism, sc.training
    assert (p.tp, p.pp, p.vp, p.cp, p.dp) == (1, 8, 2, 1, 1)
    m = tr.global_batch / (p.dp * tr.micro_batch)
    act = tr.micro_batch * tr.seq_len * sc.model_spec.hidden * 2.0
    t = il.collective("send_recv", act, sc.hardware, gpus=2).time_s
    ovl = il.training.stack_params(sc.stack)["pp_p2p_overlap"]
    # the generic rule (a stack whose pp_p2p_interleaved_calls is 0, Megatron-LM 2022's; Megatron-Core's
    # own calls are tests/test_pp_interleaved_p2p.py): 2 x (2 x 32 + 7) = 142 transfers (the
    # former count: 2 x 2 x (32 + 7) = 156)
    gen = {"pp_p2p_interleaved_calls": 0.0}
    assert _pp_p2p(sc, params=gen) == pytest.approx(2 * (p.vp * m + p.pp - 1) * t * (1 - ovl), rel=1e-9)
    assert step_reference(sc, params=gen)["step_time_s"] == pytest.approx(
        il.estimate(sc, params=gen).step_time_s, rel=1e-9)
    one = sc.replace(parallelism={"vp": 1})
    # plain 1F1B: the longest path through Megatron-Core's calls, 2m + 2pp − 5 transfers at
    # equal boundaries, nothing hidden (tests/test_pp_1f1b_p2p.py)
    assert _pp_p2p(one) == pytest.approx((2 * m + 2 * p.pp - 5) * t, rel=1e-9)
    for x in (sc, one):
        assert step_reference(x)["step_time_s"] == pytest.approx(il.estimate(x).step_time_s, rel=1e-9)
