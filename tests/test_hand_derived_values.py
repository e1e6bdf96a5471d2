"""Kernel helpers and model owners pinned to values derived by hand from their documented
formulas (or an independent plain-Python form of them), where the kernel-against-reference
tests leave a branch unexercised. Each test names the behaviour it guards."""

import numpy as np
import pytest

from infra_lab._kernels import training as kt


def _closed_form_step(sched, vp, t, w, m):
    """pipeline_bubble_stages' documented form written out per rank: with a fill and drain cost
    u_i per rank (T_i/vp under 1F1B / interleaved; max(0, T_i − a·W_i) under ZB-H1 (a = 2) and
    ZBV (a = 3)) the step is max_j (m·T_j − u_j) + Σ_i u_i; the bubble is that less m·T_s."""
    a = {2: 2.0, 3: 3.0}.get(sched, 0.0)
    c = 1.0 if sched in (2, 3) else float(vp)
    u = [max(0.0, ti - a * wi) / c for ti, wi in zip(t, w, strict=True)]
    step = max(m * tj - uj for tj, uj in zip(t, u, strict=True)) + sum(u)
    return max(0.0, step - m * max(t))


@pytest.mark.parametrize("sched,vp", [(0, 1), (1, 2), (2, 1), (3, 2)])
def test_per_rank_bubble_takes_the_rank_whose_work_plus_fill_is_longest(sched, vp):
    """The rank j that sets the step need not be the slowest: a rank whose W is much larger
    (ZB's fill and drain T_j − a·W_j much smaller) at nearly the slowest T lengthens the step by
    m·(T_j − T_s) + (u_s − u_j). Checked against the per-rank form written out, on random ranks
    and on a hand case where that rank wins (pp 4, m 4, ZB-H1: T = 1, 1, 1, 1.05, W = 0.45,
    0.45, 0.45, 0.1: u = 0.1, 0.1, 0.1, 0.85; step = max(4·1 − 0.1, 4·1.05 − 0.85) + 1.15 =
    5.05; bubble 5.05 − 4.2 = 0.85)."""
    rng = np.random.default_rng(11 + sched)
    pp, m = 4, 4.0
    won = 0
    cases = [(np.array([1.0, 1.0, 1.0, 1.05]), np.array([0.45, 0.45, 0.45, 0.1]))]
    for _ in range(40):
        t = rng.uniform(1.0, 1.1, pp)
        cases.append((t, t * rng.uniform(0.0, 0.45, pp)))
    for t, w in cases:
        s = int(np.argmax(t))
        got = kt.pipeline_bubble_stages(sched, pp, vp, t, w, 0.3 * t, np.ones(pp), pp, s, m)
        assert got == pytest.approx(_closed_form_step(sched, vp, t, w, m), rel=1e-12, abs=1e-12)
        a = {2: 2.0, 3: 3.0}.get(sched, 0.0)
        u = np.maximum(0.0, t - a * w)
        won += int(np.argmax(m * t - u / (1.0 if sched in (2, 3) else vp)) != s)
    if sched == 2:
        t, w = cases[0]
        assert kt.pipeline_bubble_stages(2, pp, 1, t, w, 0.3 * t, np.ones(pp), pp, 3, m) == pytest.approx(0.85)
    if sched in (2, 3):
        assert won > 0   # the branch where another rank sets the step is exercised


@pytest.mark.parametrize("schedule", ["v-half", "v-min"])
def test_v_schedule_forward_carries_half_the_per_microbatch_collectives(schedule):
    """A greedy V schedule replays each rank's F = forward compute + half the exposed TP / CP / EP
    collectives of a micro-batch (the forward and the backward issue the same ones,
    kt.pipeline_bubble's docstring): with tensor parallelism (tp 2, so the collectives are not
    0) the estimate's bubble equals the independent reference's, which splits them the same way."""
    import infra_lab as il
    from infra_lab._kernels.training_reference import step_reference

    sc = il.Scenario.from_dict({
        "name": "v-tp", "model": "llama2-7b",
        "hardware": {"accelerator": "MI300X", "nodes": 1, "gpus_per_node": 8},
        "training": {"seq_len": 4096, "global_batch": 64, "micro_batch": 1, "precision": "bf16"},
        "parallelism": {"tp": 2, "pp": 4, "vp": 2, "pp_schedule": schedule}})
    est = il.estimate(sc)
    ref = step_reference(sc)
    b = dict(est.breakdown.iter_rows())
    assert b["tp_comm"] > 0.01 * est.step_time_s
    assert b["pp_bubble"] == pytest.approx(ref["pp_bubble"], rel=1e-9)
    assert est.step_time_s == pytest.approx(ref["step_time_s"], rel=1e-9)


def test_pxn_staging_through_the_proxy_gpus_hbm():
    """PXN forwards the (k − 1)/k of a GPU's remote all-to-all bytes that leave on another rail
    through the GPU on the right rail: written into its HBM and read by its NIC, 2·fwd/HBM,
    fwd = (n − k)/n · S · (k − 1)/k. On the catalog's accelerators HBM (MI300X 5.3 TB/s) is far
    above a NIC (47 GB/s), so the term never binds and the kernel-vs-reference cases never
    reach it; with the parameter vector's HBM lowered below the NIC it sets the time: two such
    HBM values H and 2H differ by 2·fwd/H − 2·fwd/(2H) = fwd/H (32 ranks, 8 per node, 1 GB:
    0.65625 s at H = 1 GB/s), and the kernel equals the reference there."""
    from infra_lab import collectives as C
    from infra_lab._kernels import collectives as K
    from infra_lab._kernels import collectives_reference as R

    cp = C.collective_time_params({"accelerator": "MI300X", "nic": "Pollara-400", "fabric": "rails-only",
                                   "nodes": 4, "pxn": True})
    n, k, S = 32, 8, 1e9
    fwd = (n - k) / n * S * (k - 1) / k

    def at(h):
        q = cp.array.copy()
        q[K.P_HBM] = h
        return q

    assert cp.array[K.P_HBM] > 10 * cp.array[K.P_BNIC]
    h = 1e9
    t1 = K.collective_cost(K.OP_ALL_TO_ALL, K.ALG_PXN, K.PROTO_SIMPLE, S, n, k, at(h))
    t2 = K.collective_cost(K.OP_ALL_TO_ALL, K.ALG_PXN, K.PROTO_SIMPLE, S, n, k, at(2 * h))
    assert t1 - t2 == pytest.approx(fwd / h, rel=1e-9)
    assert fwd / h == pytest.approx(0.65625)
    named = R.named_vector(cp.named(), cp.array)
    named["HBM"] = h
    tk = K.best_collective(K.OP_ALL_TO_ALL, K.ALG_PXN, S, n, k, at(h))[0]
    assert tk == pytest.approx(R.collective_reference(named, "all_to_all", "pxn", S, n, k)[0], rel=1e-9)
