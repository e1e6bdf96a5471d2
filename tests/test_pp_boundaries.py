"""Every pipeline stage boundary priced by its own placement (Megatron-Core's rank order
tp-cp-ep-dp-pp: stages tp·cp·dp ranks apart). Where stages are smaller than a scale-up domain,
some boundaries stay inside a domain and others cross it; the step keeps one hop time, the one
the critical path sees (1F1B: each boundary at its own time on the longest path through the
schedule's calls, tests/test_pp_1f1b_p2p.py); the interleaved schedule exchanges with both neighbours in one batched call, and its
chunks wrap from the last rank to the first (one more boundary), so the slowest rank's slower
boundary."""

import random

import numpy as np
import pytest

import infra_lab as il
from infra_lab._kernels.training import pairs_cross, pp_hop_time
from infra_lab._kernels.training_reference import pp_boundaries, pp_hop_reference, priced_per_domain

BASE = {"name": "pp-hops", "model": {"preset": "llama3-8b"},
        "hardware": {"accelerator": "H100-SXM", "nodes": 2},
        "training": {"seq_len": 8192, "global_batch": 64, "micro_batch": 1, "recompute": "selective",
                     "precision": "bf16", "stack": "megatron-core-cuda"},
        "parallelism": {"tp": 4, "pp": 4, "sequence_parallel": True}}


def _sc(**par) -> il.Scenario:
    return il.Scenario.from_dict({**BASE, "parallelism": {**BASE["parallelism"], **par}})


def _pp_p2p(est) -> float:
    return dict(est.breakdown.iter_rows())["pp_p2p"]


def test_boundary_crossing_closed_form_equals_listed_pairs():
    rng = random.Random(28)
    i64 = np.int64
    seen = {0.0: 0, 1.0: 0}
    for _ in range(800):
        tp, cp, dp = rng.choice([1, 2, 3, 4, 8]), rng.choice([1, 2, 3]), rng.choice([1, 2, 3, 5, 6])
        pp, D = rng.choice([2, 3, 4, 5, 8]), rng.choice([4, 6, 8, 16, 36, 64, 72])
        S = tp * cp * dp
        for b, pairs in enumerate(pp_boundaries(tp, cp, dp, pp, 1, 1, ring=True)):
            if b < pp - 1:
                x = pairs_cross(i64(b * S), i64(S), i64(S), i64(D))
            else:
                x = pairs_cross(i64(0), i64(S), i64((pp - 1) * S), i64(D))
            assert x == (1.0 if priced_per_domain(pairs, D) < 2 else 0.0), (tp, cp, dp, pp, D, b)
            seen[x] += 1
    assert min(seen.values()) > 200


def test_hop_rule_equals_reference():
    rng = random.Random(5)
    for _ in range(400):
        pp, ring = rng.choice([2, 3, 4, 6, 8]), rng.random() < 0.5
        nb = pp - 1 + (1 if ring else 0)
        cross = np.array([float(rng.random() < 0.4) for _ in range(nb)])
        t_in, t_x = rng.uniform(1e-4, 1e-3), rng.uniform(1e-4, 5e-3)
        t, share = pp_hop_time(cross, nb, pp, ring, t_in, t_x)
        assert t == pytest.approx(pp_hop_reference([t_x if x else t_in for x in cross], pp, ring), rel=1e-12)
        assert 0.0 <= share <= 1.0


def test_alternating_boundaries_on_two_nodes():
    # tp 4 x pp 4 on two 8-GPU nodes: stages {0-3}, {4-7} | {8-11}, {12-15}; boundary 1-2
    # crosses, 0-1 and 2-3 do not (the first boundary alone said: all in the node)
    sc = _sc()
    hw = sc.hardware
    act = sc.training.micro_batch * sc.training.seq_len * sc.model_spec.hidden * 2.0 / 4  # 1/tp slice
    t_in = il.collective("send_recv", act, hw, gpus=2, per_node=2).time_s
    t_x = il.collective("send_recv", act, hw, gpus=2, per_node=1).time_s
    assert t_x > t_in
    m = sc.training.global_batch / (sc.parallelism.dp * sc.training.micro_batch)
    ovl = il.training.stack_params(sc.stack)["pp_p2p_overlap"]
    one = il.estimate(sc)
    # 1F1B: ranks 1 and 2 wait on one in-node and one cross-node exchange per micro-batch; the
    # longest path through the calls (one_f_one_b_p2p) pivots on rank 1 (R = m − 2 steady
    # iterations): boundary 0 R + 1 times, boundary 1 R + 2 times, boundary 2 four times
    # (rank 2's path is as long), nothing hidden (no p2p overlap without interleaving)
    assert _pp_p2p(one) == pytest.approx((m - 1 + 4) * t_in + m * t_x, rel=1e-9)
    # interleaved: the last-to-first boundary crosses too, and a rank's batched exchange waits
    # for the slower neighbour
    il_sc = _sc(vp=2, pp_schedule="interleaved")
    assert _pp_p2p(il.estimate(il_sc)) == pytest.approx(2 * (2 * m + 3) * t_x * (1 - ovl), rel=1e-9)
    # one node: every boundary (and the ring's) inside it
    small = il.Scenario.from_dict({**BASE, "hardware": {**BASE["hardware"], "nodes": 1},
                                   "parallelism": {**BASE["parallelism"], "tp": 2}})
    t_small = il.collective("send_recv", act * 2, hw, gpus=2, per_node=2).time_s
    assert _pp_p2p(il.estimate(small)) == pytest.approx((2 * m + 2 * 4 - 5) * t_small, rel=1e-9)


@pytest.mark.parametrize("par", [{}, {"vp": 2, "pp_schedule": "interleaved"}, {"tp": 2},
                                 {"tp": 2, "pp": 8}])
def test_estimate_equals_reference(par):
    from kernel_check import assert_estimate_equals_reference

    assert_estimate_equals_reference(_sc(**par))
