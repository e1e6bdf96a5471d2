"""Kernel helpers and model owners pinned to values derived by hand from their documented
formulas (or an independent plain-Python form of them), where the kernel-against-reference
tests leave a branch unexercised. Each test names the behaviour it guards."""

import pytest


@pytest.mark.parametrize("schedule,vp", [("v-half", 2), ("v-min", 2), ("zb-h1", 1), ("zbv", 2)])
def test_executed_schedule_forward_carries_half_the_per_microbatch_collectives(schedule, vp):
    """An executed schedule (greedy V, ZB-H1, ZBV) replays each rank's F = forward compute + half
    the exposed TP / CP / EP collectives of a micro-batch (the forward and the backward issue the
    same ones, kt.pipeline_bubble's docstring): with tensor parallelism (tp 2, so the collectives are not
    0) the estimate's bubble equals the independent reference's, which splits them the same way."""
    import infra_lab as il
    from infra_lab._kernels.training_reference import step_reference

    sc = il.Scenario.from_dict({
        "name": "v-tp", "model": "llama2-7b",
        "hardware": {"accelerator": "MI300X", "nodes": 1, "gpus_per_node": 8},
        "training": {"seq_len": 4096, "global_batch": 64, "micro_batch": 1, "precision": "bf16"},
        "parallelism": {"tp": 2, "pp": 4, "vp": vp, "pp_schedule": schedule}})
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
