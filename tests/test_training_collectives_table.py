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
    # interleaved pipeline (vp 2) with TP + SP: the ring's last-to-first boundary crosses nodes;
    # full recompute of 2 layers per chunk only (the others issue the no-recompute counts)
    "interleaved": {"model": {"preset": "llama3-8b"}, "hardware": HW,
                    "training": {"seq_len": 4096, "global_batch": 64, "micro_batch": 1, "recompute": "full",
                                 "recompute_num_layers": 2},
                    "parallelism": {"tp": 2, "pp": 4, "vp": 2, "sequence_parallel": True}},
    # MoE with shared experts and a multi-token-prediction module (an MoE layer on the last stage), TP + SP,
    # EP, full recompute of 3 layers per stage: each layer kind at its own counts
    "mtp": {"model": {"preset": "qwen3-30b-a3b", "mtp_layers": 1, "shared_experts": 1, "shared_expert_ffn_hidden": 768},
            "hardware": HW,
            "training": {"seq_len": 4096, "global_batch": 64, "micro_batch": 1, "recompute": "full",
                         "recompute_num_layers": 3},
            "parallelism": {"tp": 2, "ep": 8, "pp": 2, "sequence_parallel": True}},
    # context parallel by PyTorch's all-gather rotation (eager) and by Llama 3's exposed all-gather
    "cp_allgather": {"model": {"preset": "llama3-8b"}, "hardware": HW,
                     "training": {"seq_len": 8192, "global_batch": 32, "micro_batch": 1, "eager": True,
                                  "stack": "torchtitan-rocm"},
                     "parallelism": {"cp": 4, "tp": 2, "cp_rotate": "allgather", "fsdp": True}},
    "cp_exposed": {"model": {"preset": "llama3-8b"}, "hardware": HW,
                   "training": {"seq_len": 8192, "global_batch": 32, "micro_batch": 1, "recompute": "full"},
                   "parallelism": {"cp": 4, "tp": 2, "sequence_parallel": True, "cp_rotate": "allgather-exposed"}},
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
    cp_step = t("cp").filter(pl.col("op") != "all_gather")["time_per_call_s"]
    cp_ag = t("cp", "all_gather")["time_per_call_s"]
    assert cp_step.sum() == pytest.approx(q[kt.Q_CP], rel=1e-12, abs=0.0)
    assert cp_ag.sum() == pytest.approx(q[kt.Q_CP_AG], rel=1e-12, abs=0.0)
    ep_t = t("ep")["time_per_call_s"]
    assert (ep_t.max() if ep_t.len() else 0.0) == pytest.approx(q[kt.Q_EP], rel=1e-12, abs=0.0)
    for b in range(pp - 1):
        x = q[kt.N_COMM + (comm.shape[3] - kt.N_COMM) // 2 + b] > 0.5
        row = t("pp").filter(crosses_scale_up=bool(x))
        assert row["time_per_call_s"][0] == pytest.approx(q[kt.N_COMM + b], rel=1e-12)
    # data parallel: the stage whose data-parallel + optimizer time is the largest, priced alone
    cand = lay[0, : int(ncand[0])]
    dp_terms = [kt.OUT_NAMES.index(n) for n in ("dp_grad_comm", "dp_param_comm", "optimizer")]
    k = max(range(len(cand)), key=lambda i: _evaluate_plan(sc, ctx, None, i)[0][dp_terms].sum())
    row = cand[k]
    if zero >= 3 or fsdp:
        fwd = pl.col("component") == "dp_param_comm"
        ag = t("fsdp", "all_gather").vstack(t("expert_fsdp", "all_gather")).filter(fwd)
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


def _raw_and_stage(sc):
    """The raw per-step terms (collectives_by_dimension) and the pace stage's lay row, its
    micro-batches per step m, and the load imbalance the step charges the EP all-to-all."""
    tp, pp, vp, cp, ep, etp, dp, mbs, zero, fsdp, rc, spf = _plan_of(sc)
    ctx = il.training._context(sc, (tp,), (mbs,), (cp,), None, None, il.training.context._HOOK_OF_SCENARIO)
    _, lay, ncand, _ = _evaluate_plan(sc, ctx)
    per_mb = slice(0, kt.OUT_NAMES.index("pp_p2p"))
    k = max(range(int(ncand[0])), key=lambda i: _evaluate_plan(sc, ctx, None, i)[0][per_mb].sum())
    imb = il.training.step._xtab(ctx, ((ep, etp),))[kt.K_MOE, kt.X_IMB, 0, 0, 0, 0] if ep > 1 else 1.0
    raw = dict(il.training.collectives_by_dimension(sc).select("component", "raw_s_per_step").iter_rows())
    return raw, lay[0, k], ctx.c[kt.C_GBATCH] / (dp * mbs), imb


def test_per_step_calls_times_time_are_the_raw_terms(case):
    """Σ calls_per_step x time_per_call of the TP (and expert-TP) rows is the raw tp_comm of the
    step, of the CP rows the raw cp_comm, the largest EP row x the load imbalance the raw
    ep_comm, of the data-parallel rows dp_comm_raw_s (ZeRO-3 / FSDP: over zero3_bandwidth_efficiency).
    A count off by one call per layer (the all-gather rotation's cp dK/dV hand-offs, not cp - 1),
    a layer kind miscounted or a re-gather left at its exposed part fails here."""
    name, sc, rows, _, est = case
    raw, _, _, imb = _raw_and_stage(sc)
    tot = rows.with_columns(s=pl.col("calls_per_step") * pl.col("time_per_call_s"))

    def total(*dims):
        return tot.filter(pl.col("dimension").is_in(dims))["s"].sum()

    assert total("tp", "etp") == pytest.approx(raw["tp_comm"], rel=1e-9, abs=1e-15), name
    assert total("cp") == pytest.approx(raw["cp_comm"], rel=1e-9, abs=1e-15), name
    ep_rows = tot.filter(dimension="ep")["s"]
    assert (imb * ep_rows.max() if ep_rows.len() else 0.0) == pytest.approx(raw["ep_comm"], rel=1e-9, abs=1e-15)
    zero, fsdp = sc.parallelism.zero, sc.parallelism.fsdp
    ctx = il.training._context(sc, (sc.parallelism.tp,), (sc.training.micro_batch,), (sc.parallelism.cp,), None, None,
                               il.training.context._HOOK_OF_SCENARIO)
    eff = ctx.c[kt.C_Z3_EFF] if (zero >= 3 or fsdp) else 1.0
    dp_rows = total("dp", "expert_dp", "fsdp", "expert_fsdp")
    assert dp_rows / eff == pytest.approx(est.dp_comm_raw_s, rel=1e-9, abs=1e-15), name
    for comp in ("tp_comm", "cp_comm", "ep_comm"):
        assert (raw[comp] > 0) == (rows.filter(component=comp).height > 0), (name, comp)


def test_per_step_is_per_micro_batch_times_micro_batches_times_layers(case):
    """Every per-layer row: calls_per_step = calls_per_micro_batch x micro-batches; where every
    layer of the pace stage issues the row's count (a dense model, no partial recompute),
    calls_per_micro_batch = calls x layers. Pipeline rows have a count per step only (the
    schedule's critical path is not linear in the micro-batches)."""
    name, sc, rows, _, _ = case
    _, row, m, _ = _raw_and_stage(sc)
    per_layer = rows.filter(pl.col("calls_per").str.ends_with("layer and micro-batch"))
    assert set(rows.filter(pl.col("dimension").is_in(["tp", "etp", "cp", "ep"]))["what"]) <= set(per_layer["what"])
    for r in per_layer.iter_rows(named=True):
        assert r["calls_per_step"] == pytest.approx(m * r["calls_per_micro_batch"], rel=1e-12), r
    dense_all = row[kt.L_NM] == 0 and (sc.training.recompute != "full" or row[kt.L_RD] == row[kt.L_ND])
    if dense_all and sc.model_spec.mtp_layers == 0:
        for r in per_layer.filter(pl.col("dimension").is_in(["tp", "cp"])).iter_rows(named=True):
            assert r["calls_per_micro_batch"] == pytest.approx(r["calls"] * row[kt.L_ND], rel=1e-12), r
    pp_rows = rows.filter(dimension="pp")
    assert pp_rows["calls_per_step"].null_count() == 0
    assert pp_rows["calls_per_micro_batch"].null_count() == pp_rows.height
    for r in rows.filter(calls_per="step").iter_rows(named=True):
        assert r["calls_per_step"] == r["calls"] and r["calls_per_micro_batch"] is None, r


def test_partial_recompute_counts_each_layer_at_its_own_mode():
    """The interleaved plan re-runs 2 layers of each of its chunks (recompute_num_layers = 2):
    those issue full recompute's 6 TP collective pairs, the others 4, so the stage's count per
    micro-batch lies strictly between 4 and 6 x its layers and is 6 x 2 x vp + 4 x the rest."""
    sc = _sc("interleaved")
    rows = il.training.collectives(sc)
    _, row, _, _ = _raw_and_stage(sc)
    nd, rd = row[kt.L_ND], row[kt.L_RD]
    assert 0 < rd < nd
    rs = rows.filter(dimension="tp", op="reduce_scatter")
    assert rs["calls"][0] == kt.TP_COLLECTIVES + kt.TP_FULL_RECOMPUTE
    assert rs["calls_per_micro_batch"][0] == pytest.approx(
        (kt.TP_COLLECTIVES + kt.TP_FULL_RECOMPUTE) * rd + kt.TP_COLLECTIVES * (nd - rd), rel=1e-12)


def test_interleaved_ring_boundary_row_exactly_when_the_chunks_form_a_ring():
    """The last-to-first stage boundary is a row exactly when pp > 1 and vp > 1 and the
    schedule is not a V (a V turns on the last rank): its time is il.collective's send/recv of
    the boundary slice at its own placement, and the hop the step prices is the slowest boundary."""
    base = CASES["interleaved"]

    def ring_rows(**par):
        sc = il.Scenario.from_dict({**base, "parallelism": {**base["parallelism"], **par}})
        rows = il.training.collectives(sc)
        return sc, rows, rows.filter(pl.col("what").str.contains("ring boundary"), dimension="pp")

    sc, rows, ring = ring_rows()
    assert ring.height == 1
    # 4 stages of tp 2 x dp 4 = 8 ranks: rank 0 and rank 24 are in different nodes of 8
    assert ring["crosses_scale_up"][0] and ring["ranks_per_domain"][0] == 1
    assert ring["bytes_per_call"][0] == rows.filter(dimension="tp")["bytes_per_call"][0] / 2
    tp, pp, vp, cp, ep, etp, dp, mbs, zero, fsdp, rc, spf = _plan_of(sc)
    ctx = il.training._context(sc, (tp,), (mbs,), (cp,), None, None, il.training.context._HOOK_OF_SCENARIO)
    q = _evaluate_plan(sc, ctx)[3][0, 0, spf]
    assert q[kt.Q_PP] == pytest.approx(rows.filter(dimension="pp")["time_per_call_s"].max(), rel=1e-12)
    for par in ({"vp": 1}, {"pp": 1, "vp": 1}, {"pp_schedule": "zbv"}):
        assert ring_rows(**par)[2].height == 0, par
    assert ring_rows(pp=2, vp=4)[2].height == 1


def _raw_exposed(sc, params=None):
    """{component: (raw_s_per_step, exposed_s_per_step)} of collectives_by_dimension."""
    df = il.training.collectives_by_dimension(sc, params=params)
    return {r[0]: (r[1], r[2]) for r in df.select("component", "raw_s_per_step", "exposed_s_per_step").rows()}


def test_sp_regather_raw_is_its_whole_time():
    """The dense plan's stack re-gathers the column-parallel inputs in backward (sp_backward_regather
    = 1), hidden behind the dgrad GEMMs (SP_REGATHER_OVERLAP): with the stack's TP overlap at 0 its
    exposed TP time is still below the raw one by the hidden re-gathers, and the raw TP time is
    every row's calls x time. Without the re-gather hidden (the kernel's constant at 0) the
    estimate's TP term is that raw time."""
    sc = _sc("dense")
    params = {"tp_comm_overlap": 0.0}
    rows = il.training.collectives(sc, params=params)
    dims = _raw_exposed(sc, params)
    raw, exposed = dims["tp_comm"]
    regather = rows.filter(pl.col("what").str.contains("re-gather"), dimension="tp")
    assert regather["calls"][0] == kt.SP_BACKWARD_GATHERS_DENSE
    hidden = raw - exposed
    assert 0 < hidden <= (regather["calls_per_step"] * regather["time_per_call_s"]).sum() * (1 + 1e-12)
    assert raw == pytest.approx((rows.filter(dimension="tp")["calls_per_step"]
                                 * rows.filter(dimension="tp")["time_per_call_s"]).sum(), rel=1e-9)
    tp, pp, vp, cp, ep, etp, dp, mbs, zero, fsdp, rc, spf = _plan_of(sc)
    ctx = il.training._context(sc, (tp,), (mbs,), (cp,), None, params, il.training.context._HOOK_OF_SCENARIO)
    c0 = ctx.c.copy()
    c0[kt.C_SP_RG_OVL] = 0.0
    assert ctx.c[kt.C_SP_RG_OVL] == kt.SP_REGATHER_OVERLAP == 1.0
    tp_i = kt.OUT_NAMES.index("tp_comm")
    assert _evaluate_plan(sc, ctx, c0)[0][tp_i] == pytest.approx(raw, rel=1e-12)


def test_cp_exposed_allgather_raw_equals_exposed_truthfully():
    """Llama 3's exposed all-gather hides nothing (cp_exposed): raw = exposed, both equal to
    3 all-gathers (full recompute) + 1 reduce-scatter per layer and micro-batch; the all-gather
    rotation (eager) hides part of its all-gathers behind the first ring step: raw > exposed."""
    dims = {n: _raw_exposed(_sc(n)) for n in ("cp_exposed", "cp_allgather")}
    raw, exposed = dims["cp_exposed"]["cp_comm"]
    assert raw > 0 and raw == pytest.approx(exposed, rel=1e-12)
    rows = il.training.collectives(_sc("cp_exposed")).filter(dimension="cp")
    assert rows["op"].to_list() == ["all_gather", "reduce_scatter"]
    assert rows["calls"].to_list() == [3.0, 1.0]
    raw, exposed = dims["cp_allgather"]["cp_comm"]
    assert raw > exposed > 0
    ring = il.training.collectives(_sc("cp_allgather")).filter(dimension="cp", op="send_recv")
    assert ring["calls"][0] == _sc("cp_allgather").parallelism.cp


def _pp_calls(rows, crosses=None, ring=None):
    """calls_per_step of the pipeline rows, of one boundary kind and ring / stage boundaries."""
    f = rows.filter(dimension="pp")
    if crosses is not None:
        f = f.filter(crosses_scale_up=crosses)
    if ring is not None:
        f = f.filter(pl.col("what").str.contains("ring boundary") == ring)
    return f["calls_per_step"].sum()


def test_pipeline_calls_times_il_collective_are_the_steps_raw_p2p(case):
    """Σ calls_per_step x il.collective's send/recv time of the pipeline rows is the estimate's
    pp_p2p with pp_p2p_overlap at 0 (an il.estimate call of its own, not the table's code);
    no pipeline rows without a pipeline."""
    name, sc, rows, dims, est = case
    pp_rows = rows.filter(dimension="pp")
    assert (pp_rows.height > 0) == (sc.parallelism.pp > 1), name
    tot = sum(r["calls_per_step"] * il.collective("send_recv", r["bytes_per_call"], sc.hardware, 2,
                                                  per_node=r["ranks_per_domain"]).time_s
              for r in pp_rows.iter_rows(named=True))
    raw = dict(il.estimate(sc, params={"pp_p2p_overlap": 0.0}).breakdown.iter_rows())["pp_p2p"]
    assert tot == pytest.approx(raw, rel=1e-9, abs=1e-15), name
    assert raw == pytest.approx(dims.filter(component="pp_p2p")["raw_s_per_step"][0], rel=1e-12, abs=1e-15)


# 16 GPUs in two domains of 8: 4 stages of 4 ranks; boundaries 0 and 2 within a domain, 1 across
MIXED = {"model": {"preset": "llama3-8b"}, "hardware": {"accelerator": "H100-SXM", "nodes": 2, "nic": "ConnectX-7-NDR"},
         "training": {"seq_len": 4096, "global_batch": 16, "micro_batch": 1},
         "parallelism": {"tp": 4, "pp": 4}}


def _mixed(stack=None, **par):
    tr = {**MIXED["training"], **({"stack": stack} if stack else {})}
    return il.Scenario.from_dict({**MIXED, "training": tr, "parallelism": {**MIXED["parallelism"], **par}})


def test_pipeline_counts_worked_by_hand():
    """The transfers a step waits for, from the schedules' derivations in the kernel's
    docstrings, counted here by hand (m micro-batches per step):

    * plain 1F1B, pp = 2 (the dense case, m = 16): m + 1 = 17;
    * plain 1F1B over the mixed placement (pp 4, m 16): the longest path is rank 1's (and rank
      2's): boundary 0 m - 1 times, boundary 1 m times, boundary 2 four times, so m + 3 = 19
      within a domain and m = 16 across (2m + 2pp - 5 in all);
    * Megatron-Core's interleaved schedule with p2p overlap (the interleaved case, pp 4, vp 2,
      m 16, every boundary across): vp·m + vp·pp - 3 = 37, priced at the slowest boundary: the
      ring row's, the stage boundaries' row none;
    * Megatron-LM 2022's interleaved schedule (two transfers per chunk slot, pp_p2p_time) over
      the mixed placement with its ring across: 2·(vp·m + pp - 1) = 2·(32 + 3) = 70 on the ring
      row, half hidden in the breakdown at pp_p2p_overlap 0.5 (the count does not move);
    * torchtitan's ZBV (two per chunk slot, V: no ring) over the mixed placement: 70 transfers
      at the slowest rank's mean of its two boundaries (rank 1: one within, one across), so
      35 at each kind."""
    assert _pp_calls(il.training.collectives(_sc("dense"))) == pytest.approx(17.0, rel=1e-12)
    rows = il.training.collectives(_mixed())
    assert _pp_calls(rows, crosses=False) == pytest.approx(19.0, rel=1e-12)
    assert _pp_calls(rows, crosses=True) == pytest.approx(16.0, rel=1e-12)
    rows = il.training.collectives(_sc("interleaved"))
    assert _pp_calls(rows, ring=True) == pytest.approx(37.0, rel=1e-12)
    assert _pp_calls(rows, ring=False) == 0.0
    sc = _mixed("megatron-lm-2022-cuda", vp=2)
    half = {"pp_p2p_overlap": 0.5}     # the stack's is 0 (blocking calls): half hidden, the count unchanged
    rows = il.training.collectives(sc, params=half)
    assert rows.filter(dimension="pp").height == 3
    assert _pp_calls(rows, ring=True) == pytest.approx(70.0, rel=1e-12)
    assert _pp_calls(rows, ring=False) == 0.0
    ring = rows.filter(pl.col("what").str.contains("ring boundary"))
    exposed = dict(il.estimate(sc, params=half).breakdown.iter_rows())["pp_p2p"]
    assert exposed == pytest.approx(0.5 * 70.0 * ring["time_per_call_s"][0], rel=1e-9)
    rows = il.training.collectives(_mixed("torchtitan-cuda", vp=2, pp_schedule="zbv"))
    assert rows.filter(pl.col("what").str.contains("ring boundary")).height == 0
    assert _pp_calls(rows, crosses=False) == pytest.approx(35.0, rel=1e-12)
    assert _pp_calls(rows, crosses=True) == pytest.approx(35.0, rel=1e-12)


@pytest.mark.parametrize("routing", ["learned", "balanced"])
def test_ep_load_imbalance_is_the_busiest_rank_factor_the_step_charges(routing):
    """The MoE case's EP rows carry il.compute.moe_load_imbalance for the tokens each rank routes
    per micro-batch (seq_len / cp x micro_batch / tp = 1,024 of Mixtral's 8 experts, top-2, over
    ep 8; the stack's moe_popularity_cv under learned routing, 0 when balanced), and every other
    row 1; the larger EP row's calls_per_step x il.collective's all-to-all time x that factor is
    the estimate's ep_comm (no EP overlap in this plan)."""
    base = CASES["moe"]
    sc = il.Scenario.from_dict({**base, "training": {**base["training"], "moe_routing": routing}})
    rows = il.training.collectives(sc)
    est = il.estimate(sc)
    cv = il.stacks.params(est.stack)["moe_popularity_cv"] if routing == "learned" else 0.0
    want = il.compute.moe_load_imbalance(1024, 8, 2, 8, popularity_cv=cv)
    ep_rows = rows.filter(dimension="ep")
    assert ep_rows.height == 2
    assert ep_rows["load_imbalance"].to_list() == pytest.approx([want, want], rel=1e-12)
    assert want > 1.0
    assert rows.filter(pl.col("dimension") != "ep")["load_imbalance"].to_list() == [1.0] * (rows.height - 2)
    t = [r["calls_per_step"] * r["load_imbalance"]
         * il.collective("all_to_all", r["bytes_per_call"], sc.hardware, r["group_ranks"],
                         per_node=r["ranks_per_domain"]).time_s for r in ep_rows.iter_rows(named=True)]
    assert max(t) == pytest.approx(dict(est.breakdown.iter_rows())["ep_comm"], rel=1e-9)
