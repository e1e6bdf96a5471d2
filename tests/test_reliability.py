"""Reliability: calibration on Llama 3, Young/Daly, closed form vs Monte Carlo, kernel vs
reference, monotonicity, charts and the widget callback."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import infra_lab as il
from infra_lab._kernels import reliability as K
from infra_lab.errors import UnknownNameError, ValidationError
from infra_lab.scenario import HardwareConfig

R = il.reliability

LLAMA = HardwareConfig("H100-SXM", nodes=2048, gpus_per_node=8, nic="ConnectX-7-NDR",
                       nics_per_node=8, fabric="fat-tree")
ZAYA = HardwareConfig("MI300X", nodes=128, gpus_per_node=8, nic="Pollara-400", nics_per_node=8,
                      fabric="rails-only")


# --------------------------------------------------------------------------------------
# Data and calibration
# --------------------------------------------------------------------------------------
def test_tables_load_with_sources():
    for t in (R.parameters(), R.interruption_table(), R.component_rates(), R.storage_options()):
        assert t.height > 0
        assert all(u.startswith("http") for u in t["source_url"])


def test_llama3_table_sums_to_419():
    t = R.interruption_table("count")
    assert t["count"].sum() == 419
    assert abs(R.interruption_table("printed")["events"].sum() - 419) < 1e-9


@pytest.mark.parametrize("reading, gpu_share, faulty_share", [("count", 0.640, 0.353), ("printed", 0.587, 0.301)])
def test_both_readings_of_the_printed_percentages(reading, gpu_share, faulty_share):
    import polars as pl

    t = R.interruption_table(reading)
    gpu = t.filter(pl.col("category") == "GPU")["events"].sum() / 419
    faulty = t.filter(pl.col("component") == "Faulty GPU")["events"][0] / 419
    assert gpu == pytest.approx(gpu_share, abs=0.0006)
    assert faulty == pytest.approx(faulty_share, abs=0.0006)


@pytest.mark.parametrize("reading", R.READINGS)
def test_mtbi_llama3_cluster_is_3_1_hours(reading):
    # 1,296 h / 419 = 3.093 h (published derived figure: about 3.1 h)
    assert R.mtbi_hours(LLAMA, reading=reading) == pytest.approx(1296 / 419, rel=1e-9)
    assert R.mtbi_hours(LLAMA) == pytest.approx(3.1, abs=0.05)


def test_calibration_switch_count():
    assert R.clos_switches(16384, 64, 3) == 1280
    assert R.clos_switches(128, 64) == 6  # 2 tiers: 3·128/64
    assert R.clos_switches(40, 64) == 1


def test_zaya_composition_and_mtbi():
    c = R.cluster_composition(ZAYA)
    assert (c.gpus, c.nics, c.switches, c.hosts) == (1024, 1024, 48, 128)
    # close to the naive 3.09 h × 16 = 49.4 h; rails-only has fewer switches per NIC
    assert 45 < R.mtbi_hours(ZAYA) < 55
    assert R.interruptions_per_day(ZAYA) == pytest.approx(24 / R.mtbi_hours(ZAYA))


def test_scenario_and_dict_inputs_agree():
    sc = il.load_scenario("zaya1-ibm-mi300x")
    assert R.mtbi_hours(sc) == pytest.approx(R.mtbi_hours(sc.hardware.to_dict()))


@given(st.integers(1, 4096), st.floats(0.1, 10.0))
def test_rates_scale_with_multiplier_and_size(nodes, m):
    hw = HardwareConfig("H100-SXM", nodes=nodes, nic="ConnectX-7-NDR", fabric="fat-tree")
    r1 = R.failure_rate_per_hour(hw)
    assert R.failure_rate_per_hour(hw, multiplier=m) == pytest.approx(m * r1)
    big = HardwareConfig("H100-SXM", nodes=nodes * 2, nic="ConnectX-7-NDR", fabric="fat-tree")
    assert R.failure_rate_per_hour(big) >= r1  # more devices never fail less


def test_per_class_multiplier_and_errors():
    base = R.interruption_rates(ZAYA)
    m = R.interruption_rates(ZAYA, multiplier={"gpu": 2.0})
    assert m["rate_per_hour"][0] == pytest.approx(2 * base["rate_per_hour"][0])
    assert m["rate_per_hour"][1] == pytest.approx(base["rate_per_hour"][1])
    with pytest.raises(UnknownNameError):
        R.interruption_rates(ZAYA, multiplier={"gpus": 2.0})
    with pytest.raises(UnknownNameError):
        R.mtbi_hours(ZAYA, reading="percent")
    with pytest.raises(ValidationError):
        R.mtbi_hours(42)


# --------------------------------------------------------------------------------------
# Checkpoint, restart, Young/Daly, closed form
# --------------------------------------------------------------------------------------
def test_checkpoint_bytes():
    assert R.checkpoint_bytes(params_total=8.3e9) == pytest.approx(116.2e9)
    assert R.checkpoint_bytes(params_total=1e9, bytes_per_param=2) == 2e9
    sc = il.load_scenario("zaya1-ibm-mi300x")
    assert R.checkpoint_bytes(sc) == pytest.approx(14 * sc.model_spec.params_total)
    with pytest.raises(ValidationError):
        R.checkpoint_bytes()


def test_checkpoint_plan_times():
    p = R.checkpoint_plan(128e9, 128, storage="shared-fs", fixed_overhead_s=0.0)
    # 1 GB per node at 0.977 GB/s; the 2 TB/s cap is not reached by 128 nodes
    assert p.write_s == pytest.approx(128e9 / (128 * 0.977e9))
    assert p.blocking_s == p.write_s
    big = R.checkpoint_plan(128e9, 4096, storage="shared-fs", fixed_overhead_s=0.0)
    assert big.write_s == pytest.approx(128e9 / 2000e9)  # aggregate cap
    a = R.checkpoint_plan(128e9, 128, storage="local-nvme-async", fixed_overhead_s=0.0)
    assert a.mode == "async" and a.blocking_s < a.write_s
    fast = R.checkpoint_plan(128e9, 128, storage="shared-fs", speedup=10)
    assert fast.write_s == pytest.approx(p.write_s / 10 + R.parameter("ckpt_fixed_overhead_s") / 10)
    with pytest.raises(UnknownNameError):
        R.checkpoint_plan(1e9, 1, storage="tape")


def test_restart_times_by_class():
    ck = R.checkpoint_plan(1e11, 128)
    rm = R.restart_model(detection_s=60, spare_swap_s=120, repair_s=3600, job_init_s=30, hot_spares=4)
    rs = R.restart_times_s(ck, rm)
    i_gpu, i_sw = R.COMPONENT_CLASSES.index("gpu"), R.COMPONENT_CLASSES.index("software")
    assert rs[i_gpu] == pytest.approx(60 + 120 + 30 + ck.read_s)
    assert rs[i_sw] == pytest.approx(60 + 30 + ck.read_s)
    no_spares = R.restart_times_s(ck, R.restart_model(hot_spares=0))
    assert no_spares[i_gpu] > R.restart_times_s(ck)[i_gpu]


def test_young_and_daly_published_forms():
    # Young 1974: sqrt(2 δ M)
    assert R.young_interval_s(300, 86400) == pytest.approx(7200.0)
    # Daly 2006 eq. 37 worked by hand: δ = 300 s, M = 86,400 s, x = δ/2M = 1/576
    # sqrt(2δM) = 7200; 7200·(1 + (1/24)/3 + (1/576)/9) − 300 = 7001.389
    assert R.daly_interval_s(300, 86400) == pytest.approx(7200 * (1 + 1 / 72 + 1 / 5184) - 300, rel=1e-12)
    assert R.daly_interval_s(300, 86400) == pytest.approx(7001.389, abs=1e-3)
    assert R.daly_interval_s(5000, 2000) == 2000  # δ ≥ 2M: τ = M


def test_closed_form_reduces_to_daly_total_time():
    # one class: T = M e^{R/M} (e^{(τ+δ)/M} − 1) · W/τ  (W a multiple of τ)
    M, R_, tau, d, W = 10_000.0, 600.0, 2_000.0, 100.0, 200_000.0
    t = R.expected_wall_time_s(W, tau, d, [1 / M], [R_])
    assert t == pytest.approx(M * math.exp(R_ / M) * math.expm1((tau + d) / M) * W / tau, rel=1e-12)
    # several classes with the same restart time equal one class with the summed rate
    t2 = R.expected_wall_time_s(W, tau, d, [0.5 / M, 0.3 / M, 0.2 / M], [R_] * 3)
    assert t2 == pytest.approx(t, rel=1e-12)
    # no failures: work plus one checkpoint per segment
    assert R.expected_wall_time_s(W, tau, d, [0.0], [R_]) == pytest.approx(W + 100 * d)


def test_daly_is_near_the_exact_optimum():
    rates, rs = [1 / 20_000.0], [900.0]
    W, d = 1e7, 120.0
    exact = R.optimal_interval_s(W, d, rates, rs, method="exact")
    daly = R.optimal_interval_s(W, d, rates, rs, method="daly")
    f = lambda t: R.expected_wall_time_s(W, t, d, rates, rs)  # noqa: E731
    assert f(exact) <= f(daly) * (1 + 1e-9)
    assert f(daly) <= f(exact) * 1.001
    assert f(exact) < f(exact * 0.7) and f(exact) < f(exact * 1.4)


@given(st.floats(24.0, 2000.0), st.floats(0.05, 50.0), st.floats(1.01, 100.0), st.floats(0.1, 20.0),
       st.sampled_from(["shared-fs", "parallel-fs", "local-nvme-async"]))
def test_faster_saves_never_lower_goodput(work_h, bw, faster, mult, storage):
    kw = dict(checkpoint_size_bytes=116e9, storage=storage, multiplier=mult, write_GBps_per_node=bw)
    slow = R.plan_run(ZAYA, work_h, **kw)
    fast = R.plan_run(ZAYA, work_h, save_speedup=faster, **kw)
    assert fast.goodput >= slow.goodput - 1e-12
    # and at the same fixed interval too
    fixed = R.plan_run(ZAYA, work_h, save_speedup=faster, interval_s=slow.interval_s, **kw)
    assert fixed.goodput >= slow.goodput - 1e-12


@given(st.floats(24.0, 2000.0), st.floats(0.1, 10.0), st.floats(1.01, 10.0))
def test_more_failures_never_raise_goodput(work_h, mult, factor):
    a = R.plan_run(ZAYA, work_h, checkpoint_size_bytes=116e9, multiplier=mult)
    b = R.plan_run(ZAYA, work_h, checkpoint_size_bytes=116e9, multiplier=mult * factor)
    assert b.goodput <= a.goodput + 1e-12
    assert 0 < b.goodput <= 1


def test_plan_run_from_scenario_and_summary():
    sc = il.load_scenario("zaya1-ibm-mi300x")
    p = R.plan_run(sc, 95.0)
    s = p.summary()
    assert s["gpus"] == 1024 and 0.9 < s["goodput"] < 1.0
    assert p.expected_failures == pytest.approx(p.expected_wall_s / p.mtbi_s)
    with pytest.raises(ValidationError):
        R.plan_run(ZAYA, -1.0, checkpoint_size_bytes=1e9)
    with pytest.raises(ValidationError):
        R.plan_run(ZAYA, 10.0)  # no size, no model


# --------------------------------------------------------------------------------------
# Kernel and reference: one test class run against both
# --------------------------------------------------------------------------------------
@pytest.fixture(params=["kernel", "reference"])
def replay(request):
    return {"kernel": K.replay_kernel, "reference": K.replay_reference}[request.param]


class TestReplay:
    def test_worked_example(self, replay):
        # work 10 s, 4 s between 1 s checkpoints, restart 2 s; failures after 3, 10, 100 s
        out = replay(10.0, 4.0, 1.0, np.array([2.0]), np.array([3.0, 10.0, 100.0]), np.array([0, 0, 0]))
        assert list(out) == [23.0, 2.0, 6.0, 4.0, 2.0]

    def test_failure_during_restart_restarts(self, replay):
        # restart times by class [5, 1]; second failure hits during the first restart
        out = replay(4.0, 4.0, 0.0, np.array([5.0, 1.0]), np.array([1.0, 2.0, 50.0]), np.array([0, 1, 0]))
        # wall: 1 (lost) + 2 (partial restart) + 1 (restart of class 1) + 4 (work) = 8
        assert list(out) == [8.0, 2.0, 1.0, 3.0, 1.0, 1.0]

    def test_overflow_flag(self, replay):
        out = replay(100.0, 10.0, 1.0, np.array([1.0]), np.array([1.0, 1.0]), np.array([0, 0]))
        assert out[0] == K.OVERFLOW


@given(st.lists(st.tuples(st.floats(0.01, 50.0), st.integers(0, 2)), min_size=1, max_size=40),
       st.floats(1.0, 200.0), st.floats(0.5, 60.0), st.floats(0.0, 5.0),
       st.lists(st.floats(0.0, 20.0), min_size=3, max_size=3))
def test_kernel_and_reference_agree_exactly_on_the_same_draws(fails, work, interval, ckpt, restart):
    gaps = np.array([f[0] for f in fails])
    cls = np.array([f[1] for f in fails], dtype=np.int64)
    rs = np.array(restart)
    a = K.replay_kernel(work, interval, ckpt, rs, gaps, cls)
    b = K.replay_reference(work, interval, ckpt, rs, gaps, cls)
    np.testing.assert_array_equal(a, b)


CASES = [
    # work_s, interval_s, ckpt_s, rates per class [1/s], restart per class [s]
    (100_000.0, 3_000.0, 120.0, [1 / 20_000.0, 1 / 60_000.0], [900.0, 300.0]),
    (50_000.0, 7_000.0, 30.0, [1 / 4_000.0], [1_200.0]),  # many failures, many restarts interrupted
    (20_000.0, 20_000.0, 0.0, [1 / 100_000.0, 1 / 50_000.0, 1 / 80_000.0], [60.0, 600.0, 6000.0]),
]


def _plan(work, tau, d, rates, rs):
    rates, rs = np.array(rates), np.array(rs)
    wall = R.expected_wall_time_s(work, tau, d, rates, rs)
    ck = R.checkpoint_plan(1e9, 1)
    return R.RunPlan(work, tau, d, d, rates, rs, 8, wall, work / wall, 1 / rates.sum(), ck)


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("method, n", [("numba", 40_000), ("reference", 3_000)])
def test_monte_carlo_matches_closed_form(case, method, n):
    p = _plan(*case)
    runs = R.simulate(p, n, seed=7, method=method)
    x = runs["wall_h"].to_numpy() * 3600
    sem = x.std(ddof=1) / math.sqrt(n)
    assert abs(x.mean() - p.expected_wall_s) < 4.5 * sem + 1e-9 * p.expected_wall_s
    f = runs["failures"].to_numpy()
    assert abs(f.mean() - p.expected_failures) < 4.5 * f.std(ddof=1) / math.sqrt(n) + 1e-9
    # class counts follow the rate shares
    per_cls = runs.select([c for c in runs.columns if c.startswith("failures_")]).sum().row(0)
    assert sum(per_cls) == f.sum()


def test_seeded_runs_are_reproducible_and_seed_matters():
    p = _plan(*CASES[1])
    a = R.simulate(p, 500, seed=3)
    assert a.equals(R.simulate(p, 500, seed=3))
    assert not a.equals(R.simulate(p, 500, seed=4))
    r = R.simulate(p, 50, seed=3, method="reference")
    assert r.equals(R.simulate(p, 50, seed=3, method="reference"))


def test_no_failures_is_deterministic():
    p = R.plan_run(ZAYA, 10.0, checkpoint_size_bytes=1e11, multiplier=0.0, interval_s=3600.0)
    runs = R.simulate(p, 10, seed=0)
    assert np.allclose(runs["wall_h"].to_numpy(), p.expected_wall_s / 3600)
    assert runs["failures"].sum() == 0


def test_unknown_method():
    with pytest.raises(UnknownNameError):
        R.simulate(_plan(*CASES[0]), 10, method="gpu")


# --------------------------------------------------------------------------------------
# Helpers, charts, widget
# --------------------------------------------------------------------------------------
def test_helpers():
    price, where = R.price_usd_per_gpu_hour()
    assert price > 0 and where
    assert R.run_hours_from_tokens(3.6e9, 1e6) == pytest.approx(1.0)
    assert R.scale_hardware(ZAYA, 100_000).nodes == 12_500
    v = R.save_speedup_value(ZAYA, 95.0, checkpoint_size_bytes=116e9, price_usd_per_gpu_hour=2.0)
    assert v.height == 2 and v["usd_saved"][1] >= 0
    assert v["usd_saved"][1] == pytest.approx(v["gpu_hours_saved"][1] * 2.0)
    t = R.scaling_table(ZAYA, [1024, 16384], 500.0, checkpoint_size_bytes=116e9)
    assert t["interruptions_per_day"][1] > t["interruptions_per_day"][0]
    assert t["goodput"][1] < t["goodput"][0]


def test_charts_to_dict():
    import polars as pl

    p = R.plan_run(ZAYA, 95.0, checkpoint_size_bytes=116e9)
    runs = R.simulate(p, 300, seed=1)
    charts = [
        il.charts.run_length_histogram(runs, p.expected_wall_s / 3600),
        il.charts.interruption_rate_bars(R.interruption_rates(ZAYA)),
        il.charts.goodput_vs_interval(pl.concat([R.interval_sweep(p, case="a"), R.interval_sweep(p, case="b")])),
        il.charts.goodput_scaling(R.scaling_table(ZAYA, [1024, 8192], 95.0, checkpoint_size_bytes=116e9)),
    ]
    for c in charts:
        d = c.to_dict()
        text = str(d)
        assert "[" in text and ("[h]" in text or "[1/day]" in text or "[-]" in text)
    with pytest.raises(ValidationError):
        il.charts.run_length_histogram(pl.DataFrame({"x": [1.0]}))


def test_widget_update_and_box():
    from infra_lab.widgets.reliability import reliability_explorer, reliability_update

    s, chart = reliability_update(8192, 2.0, 5.0, 30.0, hardware=ZAYA, work_hours=95.0,
                                  checkpoint_size_bytes=116e9, n_runs=200)
    assert s["gpus"] == 8192 and 0 < s["goodput"] < 1
    assert chart.to_dict()
    box = reliability_explorer(ZAYA, 95.0, 116e9, n_runs=100)
    box.controls["gpus"].value = 16384
    assert "16,384 GPUs" in box.children[1].value
    assert box.update()["gpus"] == 16384
