"""Compute model: GEMM tile/wave model (kernel vs reference), calibration, sizing rules,
op times and layer op lists."""

from __future__ import annotations

import math

import numpy as np
import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st

import infra_lab as il
from infra_lab import catalog, compute
from infra_lab._kernels import gemm as kg
from infra_lab.errors import UnknownNameError, ValidationError

DEVICES = ["MI300X", "H100-SXM", "H200-SXM", "B200", "MI325X", "MI355X", "A100-SXM-80GB"]


def _run(fn, ms, ns, ks, bs, acc="MI300X", prec="bf16"):
    g = compute.gemm_model(acc, prec)
    e, t = kg.empty_outputs(len(ms))
    fn(np.asarray(ms, np.int64), np.asarray(ns, np.int64), np.asarray(ks, np.int64),
       np.asarray(bs, np.int64), *g.args(), e, t)
    return e, t


@pytest.fixture(params=["kernel", "reference"])
def impl(request):
    return kg.gemm_kernel if request.param == "kernel" else kg.gemm_reference


class TestGemmModel:
    """Run against both the numba kernel and the plain-Python reference."""

    def test_published_shape_bf16(self, impl):
        e, t = _run(impl, [4096], [4864], [32896], [1])
        assert e[0] * 1307.4e12 == pytest.approx(708e12, rel=1e-5)

    def test_efficiency_in_unit_interval(self, impl):
        rng = np.random.default_rng(0)
        ms, ns, ks = (rng.integers(1, 20000, 300) for _ in range(3))
        e, t = _run(impl, ms, ns, ks, np.ones(300))
        assert np.all((e > 0) & (e < 1)) and np.all(t > 0) and np.all(np.isfinite(t))

    def test_wave_quantization(self, impl):
        # 16 x 19 tiles of 256 fill the 304 CUs exactly; one more row spills into a second wave (smaller tiles recover part of it)
        e, _ = _run(impl, [4096, 4096 + 1], [4864, 4864], [32896, 32896], [1, 1])
        assert e[1] < 0.9 * e[0]

    def test_tile_quantization_k(self, impl):
        e, _ = _run(impl, [8192, 8192], [8192, 8192], [8192, 8193], [1, 1])
        assert e[1] < e[0]

    def test_small_work_penalty(self, impl):
        e, _ = _run(impl, [256, 8192], [256, 8192], [256, 8192], [1, 1])
        assert e[0] < 0.1 * e[1]


@given(m=st.integers(1, 50000), n=st.integers(1, 50000), k=st.integers(1, 50000),
       b=st.integers(1, 64), acc=st.sampled_from(["MI300X", "H100-SXM", "B200"]),
       prec=st.sampled_from(["bf16", "fp8"]))
def test_kernel_matches_reference(m, n, k, b, acc, prec):
    e1, t1 = _run(kg.gemm_kernel, [m], [n], [k], [b], acc, prec)
    e2, t2 = _run(kg.gemm_reference, [m], [n], [k], [b], acc, prec)
    assert e1[0] == pytest.approx(e2[0], rel=1e-12)
    assert t1[0] == pytest.approx(t2[0], rel=1e-12)


def test_vectorised_public_matches_reference():
    rng = np.random.default_rng(1)
    ms, ns, ks = (rng.integers(64, 16384, 2000) for _ in range(3))
    a = compute.gemm_times(ms, ns, ks, "MI300X")
    b = compute.gemm_times(ms, ns, ks, "MI300X", reference=True)
    np.testing.assert_allclose(a, b, rtol=1e-12)
    assert compute.gemm_time(int(ms[5]), int(ns[5]), int(ks[5]), "MI300X") == pytest.approx(a[5])


@given(m=st.integers(1, 20000), n=st.integers(1, 20000), k=st.integers(1, 20000),
       acc=st.sampled_from(DEVICES))
def test_time_at_least_roofline(m, n, k, acc):
    a = catalog.accelerator(acc)
    t = compute.gemm_time(m, n, k, acc)
    assert t >= 2.0 * m * n * k / a.peak("bf16")
    assert t >= (m * k + k * n + m * n) * 2 / a.hbm_bw_Bps


@given(m=st.integers(1, 8192), n=st.integers(1, 8192), k=st.integers(1, 8192))
def test_more_work_never_faster(m, n, k):
    t0 = compute.gemm_time(m, n, k, "MI300X")
    assert compute.gemm_time(m, n, 2 * k, "MI300X") >= t0 * (1 - 1e-12)


class TestCalibration:
    def test_fitted_ceilings_reproduce_their_measurements(self):
        """The ceilings in data/compute_params.csv are what fit_gemm_ceiling gives."""
        p = compute.compute_params().filter(pl.col("parameter") == "gemm_ceiling",
                                            pl.col("basis") == "fitted")
        assert p.height == 2
        for r in p.iter_rows(named=True):
            m, n, k = (int(x) for x in r["text"].split("x"))
            meas = catalog.device_measurements().filter(
                pl.col("accelerator") == r["accelerator"], pl.col("quantity") == "gemm_tflops",
                pl.col("gemm_m") == m, pl.col("gemm_n") == n, pl.col("gemm_k") == k,
                pl.col("precision").str.to_lowercase() == "bf16")
            assert meas.height == 1
            c = compute.fit_gemm_ceiling(r["accelerator"], "bf16", m, n, k, meas["value"][0] * 1e12)
            assert c == pytest.approx(r["value"], rel=1e-5)

    def test_hbm_efficiency_matches_measurements(self):
        for acc in ("MI300X", "H100-SXM"):
            measured = catalog.measurement(acc, "hbm_bw") / catalog.accelerator(acc).hbm_bw_Bps
            assert compute.hbm_efficiency(acc) == pytest.approx(measured, abs=1e-4)

    def test_validation_table(self):
        v = compute.gemm_validation()
        assert v.filter(pl.col("fitted")).height == 2
        assert v.filter(pl.col("fitted"))["error_pct"].abs().max() < 1e-3
        # unfitted checks: stated bands (see the final report / notebook 02)
        un = v.filter(~pl.col("fitted"))
        assert un["error_pct"].abs().max() < 20
        mi300_fp16 = v.filter((pl.col("accelerator") == "MI300X") & (pl.col("precision") == "fp16"))
        assert abs(mi300_fp16["error_pct"][0]) < 10
        # with the published clock, MI325X BF16 and MI300X FP16 are within 1 %
        at = v.filter(pl.col("error_at_clock_pct").is_not_null() & (pl.col("precision") != "fp8"))
        assert at["error_at_clock_pct"].abs().max() < 1.0

    def test_small_work_rule(self):
        """95 % of the large-work efficiency at ~200 GFLOP of work on MI300X (the rule)."""
        g = compute.gemm_model("MI300X", "bf16")
        assert 2e11 / (2e11 + g.w0) == pytest.approx(0.95)

    def test_every_catalog_device_resolves(self):
        for a in catalog.accelerator_names():
            acc = catalog.accelerator(a)
            e = compute.gemm_efficiency(8192, 8192, 8192, a, "bf16")
            assert 0.3 < e < 1.0, (a, e, acc.vendor)


class TestSizingRules:
    """The MI300X sizing rules emerge from the quantization terms."""

    def test_multiples_of_64_128_256(self):
        # 16 x 19 tiles of 256 = one full wave on 304 CUs
        base = compute.gemm_efficiency(4096, 4864, 8192, "MI300X")
        for d in (-1, 1, 32, 64):
            assert compute.gemm_efficiency(4096 + d, 4864, 8192, "MI300X") < base
            assert compute.gemm_efficiency(4096, 4864 + d, 8192, "MI300X") < base
        for d in (-1, 1, 32):
            assert compute.gemm_efficiency(4096, 4864, 8192 + d, "MI300X") < base

    def test_powers_of_two_fill_waves_badly_on_304_cus(self):
        # 8192² = 1024 tiles of 256² = 3.37 waves on 304 CUs; 132-SM H100 is less hurt
        a = compute.gemm_efficiency(8192, 8192, 8192, "MI300X")
        b = compute.gemm_efficiency(8192, 9728, 8192, "MI300X")  # 32 x 38 tiles = 4 full waves
        assert a < 0.95 * b
        h = compute.gemm_efficiency(8192, 8192, 8192, "H100") / compute.gemm_model("H100").ceiling
        assert h > a / compute.gemm_model("MI300X").ceiling

    def test_head_dim_multiple_of_64(self):
        eff = {d: compute.gemm_efficiency(4096, 4096, d, "MI300X", batch=32) for d in (64, 80, 96, 112, 128)}
        assert eff[64] > eff[80] and eff[128] > eff[96] and eff[128] > eff[112]

    def test_published_shape_is_a_local_optimum(self):
        base = compute.gemm_efficiency(4096, 4864, 32896, "MI300X")
        for dm, dn in ((64, 0), (0, 64), (-64, 0), (0, -64)):
            assert compute.gemm_efficiency(4096 + dm, 4864 + dn, 32896, "MI300X") <= base


class TestOpTime:
    def test_memory_bound(self):
        t = compute.op_time(0, 4.33e9, "MI300X", launch=False)
        assert t == pytest.approx(4.33e9 / (5.3e12 * compute.hbm_efficiency("MI300X")))

    def test_launch_overhead(self):
        assert compute.op_time(0, 0, "H100") == pytest.approx(compute.launch_overhead_s("H100"))

    def test_rejects_negative(self):
        with pytest.raises(ValidationError):
            compute.op_time(-1, 0, "MI300X")

    @given(b=st.floats(1, 1e12), bw_mult=st.floats(1.0, 4.0))
    def test_more_bandwidth_never_slower(self, b, bw_mult):
        a = compute.op_time(0, b, "MI300X", memory_efficiency=0.2)
        c = compute.op_time(0, b, "MI300X", memory_efficiency=0.2 * bw_mult)
        assert c <= a


class TestErrors:
    def test_bad_dims(self):
        with pytest.raises(ValidationError):
            compute.gemm_time(0, 10, 10, "MI300X")
        with pytest.raises(ValidationError):
            compute.gemm_times([1.5], [2], [3], "MI300X")

    def test_unknown_precision_and_device(self):
        with pytest.raises(UnknownNameError):
            compute.gemm_time(10, 10, 10, "MI300X", "bf17")
        with pytest.raises(UnknownNameError):
            compute.gemm_time(10, 10, 10, "MI301X")

    def test_missing_precision(self):
        with pytest.raises(ValidationError):
            compute.gemm_time(10, 10, 10, "A100", "fp8")


class TestLayerOps:
    def test_flops_match_model_gemms(self):
        spec = il.models.get("llama3-8b")
        ops = compute.layer_ops(spec, 4096, 2, 1, "MI300X")
        g = spec.layer_gemms(4096, 2, 1)
        want = sum(2 * m * n * k * c for _, m, n, k, c in g["dense"])
        got = ops.filter((pl.col("layer_kind") == "dense") & (pl.col("op_type") != "memory"))["flops"].sum()
        assert got == pytest.approx(want, rel=1e-9)

    def test_backward_twice_forward_flops(self):
        ops = compute.layer_ops("llama3-8b", 4096, 1, 1, "H100", passes=("fwd", "bwd"))
        gemm = ops.filter((pl.col("op_type") == "gemm") & (pl.col("layer_kind") == "dense"))
        f = gemm.filter(pl.col("pass") == "fwd")["flops"].sum()
        b = gemm.filter(pl.col("pass") == "bwd")["flops"].sum()
        assert b == pytest.approx(2 * f)

    def test_columns_and_positive_times(self):
        ops = compute.layer_ops("zaya1-base", 4096, 1, 1, "MI300X", passes=("fwd", "bwd"))
        for c in ("layer_kind", "pass", "op", "op_type", "m", "n", "k", "count", "flops",
                  "bytes", "intensity", "efficiency", "time_s", "bound"):
            assert c in ops.columns
        assert (ops["time_s"] > 0).all()
        assert set(ops["layer_kind"]) == {"moe", "head"}

    def test_mla_and_hybrid_models(self):
        for name in ("deepseek-v3", "zamba2-7b"):
            ops = compute.layer_ops(name, 2048, 1, 8, "B200")
            assert ops.height > 5 and (ops["time_s"] > 0).all()

    def test_tp_reduces_time(self):
        a = compute.layer_times("llama3-70b", 4096, 1, 1, "MI300X")
        b = compute.layer_times("llama3-70b", 4096, 1, 8, "MI300X")
        assert b["fwd_s"][0] < a["fwd_s"][0]

    def test_recompute(self):
        n = compute.layer_times("llama3-8b", 4096, 1, 1, "MI300X", recompute="none")
        s = compute.layer_times("llama3-8b", 4096, 1, 1, "MI300X", recompute="selective")
        f = compute.layer_times("llama3-8b", 4096, 1, 1, "MI300X", recompute="full")
        assert n["recompute_s"][0] == 0 < s["recompute_s"][0] < f["recompute_s"][0] == pytest.approx(f["fwd_s"][0])

    def test_h100_vs_mi300x_layer_time(self):
        """Same layer: MI300X's higher peak is offset by its lower achievable ceiling."""
        a = compute.layer_times("llama3-8b", 4096, 1, 1, "MI300X")["fwd_s"][0]
        b = compute.layer_times("llama3-8b", 4096, 1, 1, "H100")["fwd_s"][0]
        assert 0.5 < a / b < 2.0


def test_roofline_and_ridge():
    r = compute.ridge_points(["MI300X", "H100-SXM"])
    mi = r.filter(pl.col("accelerator") == "MI300X").row(0, named=True)
    assert mi["ridge_flop_per_byte"] == pytest.approx(1307.4e12 / 5.3e12)
    rf = compute.roofline(["MI300X", "B200"])
    assert rf.height == 128
    assert rf["attainable_tflops"].max() == pytest.approx(2250.0)


def test_optimizer_step_time():
    t = compute.optimizer_step_time(1e9, "MI300X")
    assert t == pytest.approx(32e9 / (5.3e12 * compute.hbm_efficiency("MI300X")) + compute.launch_overhead_s("MI300X"))
    assert math.isfinite(compute.optimizer_step_time(1e9, "H100", "muon"))


class TestChartsAndWidget:
    def test_charts_to_dict(self):
        c = il.charts
        r = compute.roofline(["MI300X", "H100-SXM", "H200-SXM", "B200", "MI355X"])
        p = compute.roofline_points("llama3-8b", 4096, 1, ["MI300X", "H100-SXM"])
        d = c.roofline_chart(r, p).to_dict()
        assert "intensity" in str(d) and "FLOP/byte" in str(d)
        g = compute.efficiency_grid(np.arange(256, 4097, 256), np.arange(256, 4097, 256), 8192, "MI300X")
        assert g.height == 256
        assert "M [elements]" in str(c.gemm_efficiency_heatmap(g).to_dict())
        m = il.memory.memory_sweep(["zaya1-base"], ["MI300X", "H100-SXM"])
        assert "memory per GPU [GB]" in str(c.memory_stacked_bars(m).to_dict())
        assert "published [TFLOP/s]" in str(c.gemm_validation_chart(compute.gemm_validation()).to_dict())
        for name in ("roofline_chart", "gemm_efficiency_heatmap", "memory_stacked_bars", "gemm_validation_chart"):
            assert name in il.charts.__all__

    def test_chart_rejects_missing_columns(self):
        with pytest.raises(ValidationError):
            il.charts.gemm_efficiency_heatmap(pl.DataFrame({"m": [1]}))

    def test_widget_update(self):
        box = il.widgets.compute_memory_explorer()
        box.controls["zero"].value = 2  # fp32 grad buffer (stack default): ZeRO-2 fits 192/141 GB, not 80 GB
        box.controls["model"].value = "qwen3-30b-a3b"
        assert "fits: <b>False</b>" in box.children[1].value and "fits: <b>True</b>" in box.children[1].value
        df, chart, html = il.widgets.compute_memory_view("llama3-8b", 2048, 2, "fp8", 1, "selective")
        assert set(df["accelerator"]) == {"MI300X", "H100-SXM", "H200-SXM"}
        assert "fp8" in html
