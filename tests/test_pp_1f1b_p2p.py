"""The plain 1F1B schedule's pipeline send/receive on the step's critical path, from the calls
Megatron-Core makes (NVIDIA/Megatron-LM d98e8a6, megatron/core/pipeline_parallel/schedules.py
forward_backward_pipelining_without_interleaving; p2p_communication.py): in the steady state a
rank's forward activation send and backward gradient receive are ONE batched call with the next
rank (send_forward_recv_backward), its gradient send and next activation receive one with the
previous rank (send_backward_recv_forward); the edge ranks skip the missing neighbour, so at
pp = 2 the two ranks meet once per micro-batch. The step waits for the longest path through
those calls: at equal boundaries (2m + 2pp − 5) transfers for pp >= 3 and m + 1 at pp = 2, where
the former rule charged 2·(m + pp − 1) and hid half of them (p2p overlap is refused without
interleaving)."""

import random

import numpy as np
import pytest

import infra_lab as il
from infra_lab._kernels import training as kt
from infra_lab._kernels.training_reference import (
    one_f_one_b_p2p_reference,
    one_f_one_b_p2p_simulated,
    step_reference,
)


def test_paths_equal_the_walked_megatron_calls():
    # the listed paths against the call sequences walked event by event, every rank at the same
    # pass times, transfers short against the passes, boundaries at two times (within / across)
    rng = random.Random(29)
    for pp in range(2, 10):
        for m in range(1, 3 * pp + 1):
            for fwd, bwd in ((1.0, 2.0), (1.0, 1.0), (2.0, 3.5)):
                times = [1e-3 * rng.choice((1.0, 1.0 + 3.0 * rng.random())) for _ in range(pp - 1)]
                assert one_f_one_b_p2p_reference(times, m) == pytest.approx(
                    one_f_one_b_p2p_simulated(times, m, fwd, bwd), rel=1e-9, abs=1e-15), (pp, m, times)


@pytest.mark.parametrize("pp", [2, 3, 4, 8])
def test_equal_boundaries_count(pp):
    t = 1e-3
    for m in (pp - 1, pp, 4 * pp):
        want = (m + 1) * t if pp == 2 else (2 * m + 2 * pp - 5) * t
        assert one_f_one_b_p2p_simulated([t] * (pp - 1), m) == pytest.approx(want, rel=1e-9)
    # one micro-batch: its fill and its drain, every boundary twice
    assert one_f_one_b_p2p_simulated([t] * (pp - 1), 1) == pytest.approx(2 * (pp - 1) * t, rel=1e-9)


def test_kernel_equals_reference():
    rng = random.Random(7)
    nbc = 12
    for _ in range(500):
        pp = rng.randint(2, nbc + 1)
        m = float(rng.randint(1, 4 * pp))
        q = np.zeros(kt.N_COMM + 2 * nbc)
        cross = [float(rng.random() < 0.4) for _ in range(pp - 1)]
        t_in, t_x = rng.uniform(1e-5, 1e-3), rng.uniform(1e-4, 5e-3)
        times = [t_x if x else t_in for x in cross]
        q[kt.N_COMM:kt.N_COMM + pp - 1] = times
        q[kt.N_COMM + nbc:kt.N_COMM + nbc + pp - 1] = cross
        t, share = kt.one_f_one_b_p2p(q, nbc, pp, m)
        assert t == pytest.approx(one_f_one_b_p2p_reference(times, m), rel=1e-12)
        assert share == (1.0 if all(cross) else (0.0 if not any(cross) else pytest.approx(share)))
        assert 0.0 <= share <= 1.0


def test_estimate_prices_the_calls():
    # Primus' pipeline blog's Llama-2-7B (16 layers) on 8 MI300X, PP 8 in one node, plain 1F1B:
    # 2·32 + 2·8 − 5 = 75 transfers, none hidden (the former rule: 2·(32 + 7)·(1 − 0.5) = 39)
    sc = il.validation.scenario_for_run("PRP26-L2-7B16L-MI300X-8-1f1b")[0]
    p, tr = sc.parallelism, sc.training
    assert (p.tp, p.pp, p.vp, p.dp, p.schedule) == (1, 8, 1, 1, "1f1b")
    m = tr.global_batch / (p.dp * tr.micro_batch)
    act = tr.micro_batch * tr.seq_len * sc.model_spec.hidden * 2.0
    t = il.collective("send_recv", act, sc.hardware, gpus=2).time_s
    e = il.estimate(sc)
    assert dict(e.breakdown.iter_rows())["pp_p2p"] == pytest.approx((2 * m + 2 * p.pp - 5) * t, rel=1e-9)
    assert step_reference(sc)["step_time_s"] == pytest.approx(e.step_time_s, rel=1e-9)
    # pp = 2: the two ranks meet once per micro-batch, m + 1 transfers
    two = sc.replace(parallelism={"pp": 2})
    m2 = two.training.global_batch / (two.parallelism.dp * two.training.micro_batch)
    assert dict(il.estimate(two).breakdown.iter_rows())["pp_p2p"] == pytest.approx((m2 + 1) * t, rel=1e-9)


def test_search_and_estimate_agree_on_1f1b_p2p():
    # the search kernel's comm table has room for its widest pp (8 here) and il.estimate's for
    # the plan's own (4): the same plan is priced alike
    sc = il.validation.scenario_for_run("PRP26-L2-7B16L-MI300X-8-1f1b")[0].replace(parallelism={"pp": 4})
    e = il.estimate(sc)
    plans = il.search(sc, top=None)
    assert int(plans["pp"].max()) == 8
    row = plans.filter((plans["pp"] == 4) & (plans["tp"] == 1) & (plans["vp"] == 1)
                       & (plans["micro_batch"] == sc.training.micro_batch))
    assert row.height >= 1
    assert min(abs(x - e.step_time_s) for x in row["step_time_s"]) <= 1e-9 * e.step_time_s
