"""il.training.collectives / collectives_by_dimension: the collectives a plan runs, composed
from the step kernel's owners. Each row's time is il.collective's for the same op, size and
group; the rows reproduce the kernel's own collective tables; the sizes match the model's
shapes worked by hand (a size off by 2 fails); the per-component totals reproduce the
breakdown, dp_comm_raw_s and nic_busy_fraction."""

from __future__ import annotations

import math

import polars as pl
import pytest

import infra_lab as il
from infra_lab._kernels import training as kt
from infra_lab.errors import UnknownNameError, ValidationError
from infra_lab.training.step import _evaluate_plan, _plan_of

HW = {"accelerator": "MI300X", "nodes": 4, "nic": "Pollara-400"}
CASES = {
    "zaya1": "zaya1-ibm-mi300x",
    # dense TP (sequence parallel) x PP x DP, full recompute: pipeline boundaries cross nodes
    "dense": {"model": {"preset": "llama3-70b"}, "hardware": HW,
              "training": {"seq_len": 4096, "global_batch": 64, "micro_batch": 1, "recompute": "full"},
              "parallelism": {"tp": 4, "pp": 2, "sequence_parallel": True, "zero": 1}},
    "fsdp": {"model": {"preset": "llama3-8b"}, "hardware": HW,
             "training": {"seq_len": 4096, "global_batch": 64, "micro_batch": 2},
             "parallelism": {"fsdp": True, "zero": 3}},
    # MoE with TP, expert TP, CP, PP and DeepEP over two domains
    "moe": {"model": {"preset": "mixtral-8x7b"}, "hardware": HW,
            "training": {"seq_len": 4096, "global_batch": 64, "micro_batch": 1},
            "parallelism": {"ep": 8, "moe_dispatcher": "deepep", "cp": 2, "tp": 2, "etp": 2, "pp": 2}},
}


def _sc(name: str) -> il.Scenario:
    case = CASES[name]
    return il.load_scenario(case) if isinstance(case, str) else il.Scenario.from_dict(case)


@pytest.fixture(scope="module", params=list(CASES))
def case(request):
    sc = _sc(request.param)
    return request.param, sc, il.training.collectives(sc), il.training.collectives_by_dimension(sc), il.estimate(sc)


def test_every_row_is_il_collective_of_its_op_size_and_group(case):
    _, sc, rows, _, _ = case
    assert rows.height > 0
    for r in rows.iter_rows(named=True):
        want = il.collective(r["op"], r["bytes_per_call"], sc.hardware, r["group_ranks"],
                             per_node=r["ranks_per_domain"]).time_s
        assert r["time_per_call_s"] == pytest.approx(want, rel=1e-12, abs=0.0), r
        assert r["crosses_scale_up"] == (r["ranks_per_domain"] < r["group_ranks"])


def test_rows_reproduce_the_kernels_collective_tables(case):
    """What the step kernel prices per micro-batch (comm) and per stage (lay) is the rows' time."""
    _, sc, rows, _, _ = case
    tp, pp, vp, cp, ep, etp, dp, mbs, zero, fsdp, rc, spf = _plan_of(sc)
    ctx = il.training._context(sc, (tp,), (mbs,), (cp,), None, None, il.training.context._HOOK_OF_SCENARIO)
    _, lay, ncand, comm = _evaluate_plan(sc, ctx)
    q = comm[0, 0, spf]

    def t(dim, op=None):
        f = rows.filter(dimension=dim)
        return f if op is None else f.filter(op=op)

    if tp > 1 and spf:
        rs, ag = t("tp", "reduce_scatter"), t("tp", "all_gather")
        assert rs["time_per_call_s"][0] + ag["time_per_call_s"][0] == pytest.approx(q[kt.Q_TP], rel=1e-12)
        assert ag["time_per_call_s"][1] == pytest.approx(q[kt.Q_TP_AG], rel=1e-12)
    elif tp > 1:
        assert t("tp", "all_reduce")["time_per_call_s"][0] == pytest.approx(q[kt.Q_TP], rel=1e-12)
    else:
        assert t("tp").height == 0
    assert t("etp")["time_per_call_s"].sum() == pytest.approx(q[kt.Q_ETP], rel=1e-12, abs=0.0)
    assert t("cp")["time_per_call_s"].sum() == pytest.approx(q[kt.Q_CP], rel=1e-12, abs=0.0)
    ep_t = t("ep")["time_per_call_s"]
    assert (ep_t.max() if ep_t.len() else 0.0) == pytest.approx(q[kt.Q_EP], rel=1e-12, abs=0.0)
    for b in range(pp - 1):
        x = q[kt.N_COMM + (comm.shape[3] - kt.N_COMM) // 2 + b] > 0.5
        row = t("pp").filter(crosses_scale_up=bool(x))
        assert row["time_per_call_s"][0] == pytest.approx(q[kt.N_COMM + b], rel=1e-12)
    # data parallel: the stage with the most parameters per rank
    cand = lay[0, : int(ncand[0])]
    k = max(range(len(cand)), key=lambda i: cand[i, kt.L_PNE] / tp + cand[i, kt.L_PE] / (ep * etp))
    row = cand[k]
    if zero >= 3 or fsdp:
        ag = t("fsdp", "all_gather").vstack(t("expert_fsdp", "all_gather"))
        rs = t("fsdp", "reduce_scatter").vstack(t("expert_fsdp", "reduce_scatter"))
        assert (ag["calls"] * ag["time_per_call_s"]).sum() == pytest.approx(row[kt.L_Z3_AG], rel=1e-12)
        assert (rs["calls"] * rs["time_per_call_s"]).sum() == pytest.approx(row[kt.L_Z3_RS], rel=1e-12)
        return
    for dim, base in (("dp", kt.L_NE_NB), ("expert_dp", kt.L_E_NB)):
        g_op = "all_reduce" if zero == 0 else "reduce_scatter"
        g = t(dim, g_op).filter(pl.col("what").str.contains("body"))
        tail = t(dim, g_op).filter(pl.col("what").str.contains("last bucket"))
        assert (g["calls"][0] if g.height else 0.0) == row[base]
        assert (g["time_per_call_s"][0] if g.height else 0.0) == pytest.approx(
            row[base + (5 if zero == 0 else 1)], rel=1e-12, abs=0.0)
        assert (tail["time_per_call_s"][0] if tail.height else 0.0) == pytest.approx(
            row[base + (6 if zero == 0 else 2)], rel=1e-12, abs=0.0)


def test_sizes_match_the_model_shapes_by_hand():
    """The dense plan's sizes from its shapes (bf16 activations, 2 bytes): a TP call carries
    micro_batch x seq_len x hidden, a pipeline boundary 1/tp of it; the DP buckets of a rank
    hold its stage's parameters / tp at 4-byte gradients (fp32 grad_reduce_bytes of the stack) and
    2-byte weights. A factor of 2 anywhere in the table or its owners fails here."""
    sc = _sc("dense")
    rows = il.training.collectives(sc)
    spec = sc.model_spec
    act = sc.training.micro_batch * sc.training.seq_len * spec.hidden * 2
    tp = sc.parallelism.tp
    assert rows.filter(dimension="tp")["bytes_per_call"].to_list() == [act, act, act]
    assert rows.filter(dimension="pp")["bytes_per_call"].to_list() == [act / tp]
    g = rows.filter(dimension="dp", op="reduce_scatter")
    a = rows.filter(dimension="dp", op="all_gather")
    grads = (g["calls"] * g["bytes_per_call"]).sum()
    weights = (a["calls"] * a["bytes_per_call"]).sum()
    assert grads == pytest.approx(2 * weights, rel=1e-12)       # fp32 gradients, bf16 weights
    ctx = il.training._context(sc, (tp,), (1,), (1,), None, None, il.training.context._HOOK_OF_SCENARIO)
    assert ctx.c[kt.C_GRAD_BYTES] == 4 and ctx.c[kt.C_WEIGHT_BYTES] == 2
    # each of the two stages holds half the 80 layers and one of the untied embedding and head:
    # half the model's parameters, / tp per rank
    total = spec.params_total() if callable(spec.params_total) else spec.params_total
    assert weights / 2 == pytest.approx(total / 2 / tp, rel=1e-3)
    # the micro-batch halves: every activation size halves
    half = il.Scenario.from_dict({**CASES["dense"], "training": {**CASES["dense"]["training"], "micro_batch": 1,
                                                                 "seq_len": 2048}})
    assert il.training.collectives(half).filter(dimension="tp")["bytes_per_call"][0] == act / 2


def test_by_dimension_reproduces_breakdown_raw_and_nic_busy(case):
    _, sc, _, dims, est = case
    assert dims["component"].to_list() == list(il.training.COMM_COMPONENTS)
    bd = dict(est.breakdown.iter_rows())
    for r in dims.iter_rows(named=True):
        assert r["exposed_s_per_step"] == bd[r["component"]]
        assert r["raw_s_per_step"] >= r["exposed_s_per_step"] * (1 - 1e-12)
        assert r["hidden_s_per_step"] == pytest.approx(r["raw_s_per_step"] - r["exposed_s_per_step"], abs=1e-15)
    dp_raw = dims.filter(pl.col("component").str.starts_with("dp_"))["raw_s_per_step"].sum()
    assert dp_raw == pytest.approx(est.dp_comm_raw_s, rel=1e-12, abs=1e-15)
    busy = min(1.0, dims["network_s_per_step"].sum() / est.step_time_s)
    assert busy == pytest.approx(est.nic_busy_fraction, rel=1e-12, abs=1e-15)


def test_raw_is_the_estimate_with_the_overlaps_off():
    """ZAYA1's data-parallel raw terms are il.estimate's with dp_comm_overlap = 0 (one stage)."""
    sc = _sc("zaya1")
    dims = dict(il.training.collectives_by_dimension(sc).select("component", "raw_s_per_step").iter_rows())
    off = dict(il.estimate(sc, params={"dp_comm_overlap": 0.0}).breakdown.iter_rows())
    assert dims["dp_grad_comm"] == pytest.approx(off["dp_grad_comm"], rel=1e-12)
    assert dims["dp_param_comm"] == pytest.approx(off["dp_param_comm"], rel=1e-12)
    assert dims["dp_grad_comm"] > 0 and math.isfinite(dims["dp_grad_comm"])


def test_bad_input_is_named():
    with pytest.raises(ValidationError, match="did you mean 'zaya1-ibm-mi300x'"):
        il.training.collectives("zaya1-ibm-mi300")
    with pytest.raises(ValidationError, match="il.training.collectives: scenario 'maia-class-serving-mi300x' "
                                              "is a serving scenario"):
        il.training.collectives("maia-class-serving-mi300x")
    with pytest.raises(ValidationError, match="collectives_by_dimension: scenario .* is a serving scenario"):
        il.training.collectives_by_dimension("maia-class-serving-mi300x")
    with pytest.raises(UnknownNameError, match="Did you mean 'stack'"):
        il.training.collectives("zaya1-ibm-mi300x", stak="megatron-core-rocm")
