"""The interleaved schedule's pipeline send/receive on the step's critical path, from the calls
Megatron-Core makes (NVIDIA/Megatron-LM d98e8a6, megatron/core/pipeline_parallel/schedules.py
forward_backward_pipelining_with_interleaving; p2p_communication.py; megatron/training/
arguments.py and argument_utils.py): overlap_p2p_comm is on by default under interleaving, each
transfer posted asynchronously and its receive waited just before the chunk that needs it, an
activation send waited at once (deallocate_pipeline_outputs); without overlap one blocking
batched exchange per forward-backward pair. At equal boundaries, m a multiple of pp:
vp·m + vp·pp − 3 transfers with overlap (one more at m = pp), vp·m + vp·pp + pp − 3 without (one
more at m = pp, pp even), where the former rule charged 2·(vp·m + pp − 1) at half hidden."""

import random

import pytest

import infra_lab as il
from infra_lab._kernels import training as kt
from infra_lab._kernels.training_reference import (
    interleaved_p2p_simulated,
    interleaved_p2p_transfers,
    step_reference,
)
from infra_lab.errors import ValidationError


def _pp_p2p(sc, **kw):
    e = il.estimate(sc, **kw)
    return dict(e.breakdown.iter_rows())["pp_p2p"]


@pytest.mark.parametrize("overlap", [True, False])
def test_count_equals_the_walked_megatron_calls(overlap):
    # the closed form against Megatron-Core's call sequences walked event by event, every rank
    # at the same chunk pass times, a transfer short against a pass
    t = 2.0 ** -10
    for pp in range(2, 9):
        for vp in (2, 3, 4, 7):
            for m in (pp, 2 * pp, 3 * pp):
                for fwd, bwd in ((1.0, 2.0), (1.0, 1.0), (2.0, 1.5)):
                    walked = interleaved_p2p_simulated([t] * pp, vp, m, overlap, fwd, bwd) / t
                    n = kt.interleaved_p2p_count(pp * 1.0, vp * 1.0, m * 1.0, 1 if overlap else 2)
                    assert walked == pytest.approx(n, abs=1e-6), (pp, vp, m, fwd, bwd)


def test_count_is_the_steady_pairs_plus_the_fill_and_drain():
    # overlap on: one transfer per steady forward-backward pair (the activation send waited at
    # once) and vp·pp − 3 in the blocking warm-up and cool-down; m = 4·pp, so vp·m + vp·pp − 3
    assert interleaved_p2p_transfers(4, 2, 16) == 2 * 16 + 2 * 4 - 3
    assert interleaved_p2p_transfers(8, 4, 64) == 4 * 64 + 4 * 8 - 3
    # no overlap: the batched exchange waits for both neighbours, pp more
    assert interleaved_p2p_transfers(8, 4, 64, overlap=False) == 4 * 64 + 4 * 8 + 8 - 3


def test_unequal_boundaries_within_the_hop_bound():
    # the step prices every transfer at the slowest boundary's time: the walk with each boundary
    # at its own time lies between the count at the fastest and at the slowest
    rng = random.Random(29)
    for _ in range(40):
        pp = rng.randint(2, 6)
        vp = rng.randint(2, 4)
        m = pp * rng.randint(1, 3)
        ov = rng.random() < 0.5
        times = [2.0 ** -10 * rng.choice((1.0, 3.0)) for _ in range(pp)]
        if pp == 2:
            times[1] = times[0]            # one link: the wrap is the same pair
        n = kt.interleaved_p2p_count(pp * 1.0, vp * 1.0, m * 1.0, 1 if ov else 2)
        w = interleaved_p2p_simulated(times, vp, m, ov)
        assert n * min(times) - 1e-12 <= w <= n * max(times) + 1e-12, (pp, vp, m, ov, times)


def test_estimate_prices_megatron_cores_calls():
    # Primus' pipeline blog's Llama-2-7B (16 layers) on 8 MI300X, PP 8 x VP 2, one node:
    # overlap on, 2·32 + 2·8 − 3 = 77 transfers, none hidden beyond what the calls hide (the
    # former rule: 2·(2·32 + 7)·(1 − 0.5) = 71); without overlap 85
    sc = il.validation.scenario_for_run("PRP26-L2-7B16L-MI300X-8-1f1b-vpp2")[0]
    p, tr = sc.parallelism, sc.training
    assert (p.tp, p.pp, p.vp, p.dp, p.schedule, sc.stack) == (1, 8, 2, 1, "interleaved", "megatron-core-rocm")
    m = tr.global_batch / (p.dp * tr.micro_batch)
    act = tr.micro_batch * tr.seq_len * sc.model_spec.hidden * 2.0
    t = il.collective("send_recv", act, sc.hardware, gpus=2).time_s
    assert _pp_p2p(sc) == pytest.approx((p.vp * m + p.vp * p.pp - 3) * t, rel=1e-9)
    no = {"pp_p2p_interleaved_calls": 2.0}
    assert _pp_p2p(sc, params=no) == pytest.approx((p.vp * m + p.vp * p.pp + p.pp - 3) * t, rel=1e-9)
    for kw in ({}, {"params": no}):
        assert step_reference(sc, **kw)["step_time_s"] == pytest.approx(il.estimate(sc, **kw).step_time_s, rel=1e-9)
    # torchtitan's pipelining runtime has its own walked count (pp_p2p_interleaved_calls = 3,
    # tests/test_pp_zero_bubble_p2p.py)
    assert il.training.stack_params("torchtitan-cuda")["pp_p2p_interleaved_calls"] == 3


def test_flag_values_checked():
    with pytest.raises(ValidationError, match="pp_p2p_interleaved_calls"):
        il.training.stack_params("megatron-core-cuda", {"pp_p2p_interleaved_calls": 4.0})
