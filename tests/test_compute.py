"""Compute model: GEMM tile/wave kernels (numba vs reference), ceilings never exceeded,
calibration re-derived, validation bands, attention (backward ≤ forward, causal tiles), MoE
routing, op tables (components, casts, experts), bad input."""

from __future__ import annotations

import math

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import infra_lab as il
from infra_lab import catalog, compute
from infra_lab._kernels import gemm as kg
from infra_lab.errors import UnknownNameError, ValidationError

DEVICES = ["MI300X", "MI325X", "MI355X", "MI350X", "H100-SXM", "H200-SXM", "H800-SXM", "B200",
           "GB200", "B300", "GB300", "A100-SXM-80GB"]


def _precisions(acc: str) -> list[str]:
    a = catalog.accelerator(acc)
    out = []
    for p in compute.PRECISIONS:
        try:   # the precisions the part runs (MXFP8 only with block-scaled MX instructions)
            compute._params.peak(a, p)
        except ValidationError:
            continue
        out.append(p)
    return out


PAIRS = [(a, p) for a in DEVICES for p in _precisions(a)]


def _run(fn, ms, ns, ks, bs, acc="MI300X", prec="bf16", stream_k=None):
    g = compute.gemm_model(acc, prec, stream_k=stream_k)
    e, t = kg.empty_outputs(len(ms))
    fn(np.asarray(ms, np.int64), np.asarray(ns, np.int64), np.asarray(ks, np.int64),
       np.asarray(bs, np.int64), *g.args(), e, t)
    return e, t


@pytest.fixture(params=["kernel", "reference"])
def impl(request):
    return kg.gemm_kernel if request.param == "kernel" else kg.gemm_reference


class TestGemmModel:
    """Run against both the numba kernel and the plain-Python reference."""

    def test_maf_is_the_maximum(self, impl):
        # MI300X: AMD's 708 TFLOP/s is the model's sup; the MAF shape itself comes within 2 %
        e, _ = _run(impl, [4096], [4864], [32896], [1])
        assert 0.98 * 708e12 < e[0] * 1307.4e12 <= 708e12

    def test_efficiency_in_unit_interval(self, impl):
        rng = np.random.default_rng(0)
        ms, ns, ks = (rng.integers(1, 20000, 300) for _ in range(3))
        e, t = _run(impl, ms, ns, ks, np.ones(300))
        assert np.all((e > 0) & (e < 1)) and np.all(t > 0) and np.all(np.isfinite(t))

    def test_wave_quantization_without_stream_k(self, impl):
        # 16 x 19 tiles of 256 fill 304 CUs; one more row spills into a second wave
        e, _ = _run(impl, [4096, 4097], [4864, 4864], [32896, 32896], [1, 1], stream_k=False)
        assert e[1] < 0.9 * e[0]

    def test_stream_k_softens_the_cliff(self, impl):
        dp, _ = _run(impl, [4097], [4864], [32896], [1], stream_k=False)
        sk, _ = _run(impl, [4097], [4864], [32896], [1], stream_k=True)
        assert sk[0] > dp[0]

    def test_tile_quantization_k(self, impl):
        e, _ = _run(impl, [8192, 8192], [8192, 8192], [8192, 8193], [1, 1])
        assert e[1] < e[0]

    def test_short_k_pays_the_tile_cost(self, impl):
        e, _ = _run(impl, [4096, 4096], [32768, 32768], [512, 8192], [1, 1], "H100-SXM", "fp8")
        assert e[0] < 0.8 * e[1]


@settings(max_examples=60, deadline=None)
@given(m=st.integers(1, 50000), n=st.integers(1, 50000), k=st.integers(1, 50000),
       b=st.integers(1, 64), acc=st.sampled_from(["MI300X", "MI355X", "H100-SXM", "B200"]),
       prec=st.sampled_from(["bf16", "fp8"]), sk=st.sampled_from([None, True, False]))
def test_kernel_matches_reference(m, n, k, b, acc, prec, sk):
    e1, t1 = _run(kg.gemm_kernel, [m], [n], [k], [b], acc, prec, sk)
    e2, t2 = _run(kg.gemm_reference, [m], [n], [k], [b], acc, prec, sk)
    assert e1[0] == pytest.approx(e2[0], rel=1e-12)
    assert t1[0] == pytest.approx(t2[0], rel=1e-12)


@settings(max_examples=40, deadline=None)
@given(groups=st.lists(st.tuples(st.integers(0, 3000), st.integers(1, 8192), st.integers(1, 8192)),
                       min_size=1, max_size=20),
       acc=st.sampled_from(["MI300X", "H100-SXM", "MI355X", "H200-SXM", "B200"]), sk=st.sampled_from([True, False]),
       streams=st.sampled_from([0, 1, 3, 4, 32]))
def test_grouped_kernel_matches_reference(groups, acc, sk, streams):
    if not any(m for m, _, _ in groups):
        groups = [(1, 64, 64)] + groups
    a = compute.grouped_gemm_times([groups], acc, stream_k=sk, streams=streams)
    b = compute.grouped_gemm_times([groups], acc, stream_k=sk, reference=True, streams=streams)
    assert a[0][0] == pytest.approx(b[0][0], rel=1e-12)
    assert a[1][0] == pytest.approx(b[1][0], rel=1e-12)


def test_grouped_streams_loop_over_chunks_of_experts():
    """streams = S prices the non-empty experts as consecutive launches of S (each one grouped
    kernel), so: S >= experts is the fused kernel; S = 1 is the sum of the plain GEMMs; the
    loop is never faster than the fused kernel for equal experts; empty experts take no slot.
        On MI300X: where PyTorch's CUTLASS schedule is stated (Hopper, Blackwell) the fused kernel
        is priced by it and its factor, not as a chunk of the loop."""
    e16 = [(512, 3072, 4096)] * 16
    fused = compute.grouped_gemm_time(e16, "MI300X")
    assert compute.grouped_gemm_time(e16, "MI300X", streams=16) == fused
    four = compute.grouped_gemm_time(e16, "MI300X", streams=4)
    assert four == pytest.approx(4 * compute.grouped_gemm_time(e16[:4], "MI300X"), rel=1e-12)
    one = compute.grouped_gemm_time(e16, "MI300X", streams=1)
    assert one == pytest.approx(16 * compute.gemm_time(512, 3072, 4096, "MI300X"), rel=1e-12)
    assert fused < four < one
    with_empty = [(0, 3072, 4096)] * 3 + e16[:4]
    assert compute.grouped_gemm_time(with_empty, "MI300X", streams=4) == \
        pytest.approx(compute.grouped_gemm_time(e16[:4], "MI300X"), rel=1e-12)
    with pytest.raises(ValidationError, match="streams"):
        compute.grouped_gemm_time(e16, "MI300X", streams=-1)


def test_grouped_equals_plain_for_one_group():
    t, e = compute.grouped_gemm_times([[(8192, 4096, 2048)]], "MI300X")
    assert t[0] == pytest.approx(compute.gemm_time(8192, 4096, 2048, "MI300X"), rel=1e-12)


def test_vectorised_public_matches_reference():
    rng = np.random.default_rng(1)
    ms, ns, ks = (rng.integers(64, 16384, 500) for _ in range(3))
    a = compute.gemm_times(ms, ns, ks, "MI300X")
    b = compute.gemm_times(ms, ns, ks, "MI300X", reference=True)
    np.testing.assert_allclose(a, b, rtol=1e-12)
    assert compute.gemm_time(int(ms[5]), int(ns[5]), int(ks[5]), "MI300X") == pytest.approx(a[5])


@settings(max_examples=80, deadline=None)
@given(m=st.integers(1, 2**17), n=st.integers(1, 2**17), k=st.integers(1, 2**17), b=st.integers(1, 8),
       pair=st.sampled_from(PAIRS))
def test_no_prediction_exceeds_the_fitted_maximum(m, n, k, b, pair):
    """Tech review §13.1: achieved ≤ the max-achievable rate the ceiling was fitted to, for
    every device and precision (stream-K on and off)."""
    acc, prec = pair
    g = compute.gemm_model(acc, prec)
    for sk in (True, False):
        e = compute.gemm_efficiencies([m], [n], [k], acc, prec, [b], stream_k=sk)[0]
        assert e <= g.max_efficiency * (1 + 1e-12)


def test_fitted_maximum_equals_measurement():
    fits = compute.ceiling_fits()
    assert fits.height >= 18
    for r in fits.iter_rows(named=True):
        assert compute.max_efficiency(r["accelerator"], r["precision"]) == pytest.approx(r["max_efficiency"], rel=1e-5)
    # the H100 fit: 8192^3 no longer predicted above the measured 794.5 (review: 839 before)
    t = compute.gemm_time(8192, 8192, 8192, "H100")
    assert 2 * 8192**3 / t / 1e12 < 794.5


@settings(max_examples=40, deadline=None)
@given(m=st.integers(1, 8192), n=st.integers(1, 8192), k=st.integers(1, 8192))
def test_more_work_never_faster(m, n, k):
    t0 = compute.gemm_time(m, n, k, "MI300X")
    assert compute.gemm_time(m, n, 2 * k, "MI300X") >= t0 * (1 - 1e-12)


@settings(max_examples=40, deadline=None)
@given(m=st.integers(1, 20000), n=st.integers(1, 20000), k=st.integers(1, 20000), acc=st.sampled_from(DEVICES))
def test_time_at_least_roofline(m, n, k, acc):
    a = catalog.accelerator(acc)
    t = compute.gemm_time(m, n, k, acc)
    assert t >= 2.0 * m * n * k / a.peak("bf16")
    assert t >= (m * k + k * n + m * n) * 2 / a.hbm_bw_Bps


class TestCalibration:
    def test_stored_values_are_what_calibrate_gives(self):
        """Every fitted (and calibration-derived) value in compute_params.csv is reproduced."""
        cal = compute.calibrate()
        p = compute.compute_params()
        for r in cal.iter_rows(named=True):
            row = p.filter((pl.col("accelerator") == r["accelerator"]) & (pl.col("parameter") == r["parameter"])
                           & (pl.col("variant").fill_null("").str.to_lowercase() == r["variant"]))
            assert row.height == 1, r
            assert row["value"][0] == pytest.approx(r["value"], rel=2e-5), r
        fitted = p.filter(pl.col("basis") == "fitted")
        keys = {(r["accelerator"], r["parameter"], r["variant"]) for r in cal.iter_rows(named=True)}
        for r in fitted.iter_rows(named=True):
            assert (r["accelerator"], r["parameter"], (r["variant"] or "").lower()) in keys, r

    def test_no_borrowed_ceilings_without_argument(self):
        """MI355X and B200 have their own fits; devices that defer say so (basis derived with
        a range) and name the device they derive from."""
        p = compute.compute_params().filter(pl.col("parameter") == "gemm_ceiling")
        for acc in ("MI355X", "B200"):
            own = p.filter((pl.col("accelerator") == acc) & (pl.col("variant") == "bf16"))
            assert own["basis"][0] == "fitted"
        for r in p.filter(pl.col("value").is_null()).iter_rows(named=True):
            assert r["basis"] in ("derived", "assumption") and ":" in r["text"] and r["note"]
        assert compute.gemm_model("MI355X").ceiling != compute.gemm_model("MI300X").ceiling
        assert compute.gemm_model("B200").ceiling != compute.gemm_model("H100").ceiling

    def test_ranges_bracket_the_value(self):
        for acc, prec in PAIRS:
            lo = compute.gemm_model(acc, prec, which="low").ceiling
            hi = compute.gemm_model(acc, prec, which="high").ceiling
            assert lo <= compute.gemm_model(acc, prec).ceiling <= hi

    def test_hbm_efficiency_matches_measurements(self):
        for acc in ("MI300X", "H100-SXM"):
            measured = catalog.measurement(acc, "hbm_bw") / catalog.accelerator(acc).hbm_bw_Bps
            assert compute.hbm_efficiency(acc) == pytest.approx(measured, abs=1e-4)

    def test_small_work_rule_is_a_check_not_an_input(self):
        """The 200-GFLOP rule (third-party quote: ~95 % of peak efficiency at ~200 GFLOP) is
        no longer built in. The fitted model gives 85-97 % of its maximum for a 200-GFLOP
        cube on MI300X (notebook 02 prints the value beside the rule)."""
        n = round((2e11 / 2) ** (1 / 3) / 256) * 256
        small = compute.gemm_efficiency(n, n, n, "MI300X") / compute.max_efficiency("MI300X")
        assert 0.85 <= small <= 0.97
        tiny = compute.gemm_efficiency(512, 512, 512, "MI300X")
        assert tiny < 0.25 * compute.max_efficiency("MI300X")


class TestValidation:
    """The claims notebook 02 makes about the check set (test split only)."""

    @pytest.fixture(scope="class")
    @classmethod
    def table(cls):
        return compute.validation_table()

    def test_every_row_predicted(self, table):
        assert table.height == compute.compute_measurements().height
        assert table["predicted"].is_finite().all() and (table["predicted"] > 0).all()
        assert set(table["role"]) == {"train", "test"}

    def test_attention_test_split(self, table):
        a = table.filter((pl.col("kind") == "attention") & (pl.col("role") == "test"))
        assert a.height >= 30
        assert a["error_pct"].abs().median() <= 5.0
        # AOTriton's backward on MI300X (AMD's tuning database, 4k/8k held out at the 12 / 4
        # batch x heads the tuner's memory rule gives) is guarded at its measured level: the
        # database's rate is nearly flat in length and heads, the tile model is not (4k causal
        # at 4 batch x heads -44 %, 8k full +21 %); every other attention test row within 15 %
        ao = a["case"].str.starts_with("mi300x-aotriton-bwd-")
        e_ao = a.filter(ao)["error_pct"].abs()
        assert e_ao.len() == 4 and e_ao.median() <= 17.0 and e_ao.max() <= 45.0
        assert a.filter(~ao)["error_pct"].abs().max() <= 15.0

    def test_gemm_test_split(self, table):
        shapes = compute.compute_measurements().select("case", "m", "n", "k")
        t = (table.filter(pl.col("kind").is_in(["gemm", "grouped_gemm"]) & (pl.col("role") == "test"))
             .join(shapes, on="case", how="left"))
        e = t["error_pct"].abs()
        assert e.median() <= 10.0
        # the large outliers (stated in notebook 02): synchronised small calls on the ROCm 7
        # preview, decode-size (m <= 128) memory-bound FP8 GEMMs with few tiles, and in Azure's
        # same-harness FP8 sweeps the small GEMMs (<= 20 GFLOP; MI300X's January 2025 table reads
        # a fifth of its March rerun at 1024^3), the skinny n = 192 shape and GB200's rows (the
        # model at the MAMF-fitted GB200 ceiling is 21-31 % too fast on every GB200 row above
        # 100 GFLOP); each of these excuses is bounded below, so the list cannot hide a regression
        big = t.filter(pl.col("error_pct").abs() > 30)
        assert big.height <= 20
        for r in big.iter_rows(named=True):
            azure = "-azure-" in r["case"]
            small = 2.0 * r["m"] * r["n"] * r["k"] <= 2e10
            assert (r["timing"] == "sync_call" or "-128x" in r["case"] or "-64x" in r["case"]
                    or (azure and (small or r["n"] <= 256 or r["accelerator"] == "GB200"))), r["case"]
        # every other large GEMM (> 100 GFLOP, n > 256) of the test split is within 25 %
        large = t.filter((pl.col("kind") == "gemm") & (2.0 * pl.col("m") * pl.col("n") * pl.col("k") > 1e11)
                         & (pl.col("n") > 256) & (pl.col("accelerator") != "GB200"))
        assert large.height >= 30 and large["error_pct"].abs().max() <= 25.0
        # the excused Azure rows, each guarded at its level (a planted change of the GB200 ceiling,
        # the small-GEMM model or the skinny shape fails here, not only through the count above)
        az = t.filter(pl.col("case").str.contains("-fp8-azure-"))
        flops = 2.0 * pl.col("m") * pl.col("n") * pl.col("k")
        gb = az.filter((pl.col("accelerator") == "GB200") & (flops > 1e11) & (pl.col("n") > 256))
        assert gb.height == 5 and 15.0 <= gb["error_pct"].min() and gb["error_pct"].max() <= 35.0
        skinny = az.filter(pl.col("n") <= 256)
        assert skinny.height == 6 and skinny["error_pct"].abs().max() <= 35.0
        # small GEMMs: MI300X's January 2025 table (far below its March rerun with the same runner
        # at these shapes, a data effect) is guarded through the March rows, whose predictions are
        # the same shapes'; every other table's small rows within 80 %
        small = az.filter(flops <= 2e10)
        jan = small.filter(pl.col("case").str.starts_with("mi300x-fp8-azure-2501-"))
        mar = small.filter(pl.col("case").str.starts_with("mi300x-fp8-azure-2503-"))
        assert jan.height == mar.height == 3
        assert (jan.sort("case")["measured"] < 0.75 * mar.sort("case")["measured"]).all()
        assert (jan.sort("case")["predicted"] == mar.sort("case")["predicted"]).all()
        rest = small.filter(~pl.col("case").str.starts_with("mi300x-fp8-azure-2501-"))
        assert rest.height == 15 and rest["error_pct"].abs().max() <= 80.0

    def test_same_harness_sustained_fp8_sweeps(self, table):
        """Does MI300X's ceiling (fitted to AMD's MAF, 1,273 TFLOP/s FP8) hold under sustained
        load? Azure's AI-benchmarking-guide runs one FP8 sweep per VM with each vendor's BLAS in a
        back-to-back loop (hipblaslt-bench: 2,000 calls after 100; cuBLASLt: 1,000 after 10,000).
        MI300X reaches its MAF level at 8192^3 and 6144 x 12288 x 12288 (loops of seconds) and the
        model, at the MAF-fitted ceiling, is within 8 % there on both tables; at 16384^3 and
        32768^3 (loops of 17-130 s, inputs beyond the 256 MB Infinity Cache) MI300X alone falls
        7-13 % below its 8192^3 rate, which the tile model (rising with size) predicts 9-23 %
        too fast: an open, unmodelled MI300X effect (docs/validation.md). H100 and H200 rise with
        size in the same harness and H100 sits on its MAMF-fitted ceiling (within 2.5 % from
        4096^3 up). No fit reads these rows (all test)."""
        shapes = compute.compute_measurements().select("case", "m", "n", "k")
        az = table.filter(pl.col("case").str.contains("-fp8-azure-")).join(shapes, on="case", how="left")
        assert set(az["role"]) == {"test"}

        def val(tag, size, col="measured"):
            return az.filter(pl.col("case") == f"{tag}-{size}")[col][0]

        for tag in ("mi300x-fp8-azure-2503", "mi300x-fp8-azure-2501"):
            assert az.filter(pl.col("case").str.starts_with(tag)).height == 9
            for size in (16384, 32768):
                assert val(tag, size) / val(tag, 8192) < 0.94          # measured: drops
                assert val(tag, size, "predicted") / val(tag, 8192, "predicted") > 1.04   # model: rises
                assert 5.0 < val(tag, size, "error_pct") < 25.0        # so too fast there
            for size in (8192, "6144x12288x12288"):
                assert abs(val(tag, size, "error_pct")) <= 8.0         # the MAF level, held for seconds
            assert val(tag, 32768) > val(tag, 16384)                   # the longer loop is not the slower
        for tag in ("h100-fp8-azure-2409", "h200-fp8-azure-2409", "h200-fp8-azure-2507"):
            for size in (16384, 32768):
                assert val(tag, size) / val(tag, 8192) > 1.0
        h100 = az.filter(pl.col("case").str.starts_with("h100-fp8-azure-2409")
                         & (pl.col("m") >= 4096) & (pl.col("n") >= 4096))
        assert h100.height == 5 and h100["error_pct"].abs().max() <= 2.6
        # the AMD MAF is a maximum of the same tool's loop, so no row exceeds it by more than noise
        maf = catalog.measurement("MI300X", "gemm_tflops", "fp8", pick="max",
                                  software="hipBLASLt (hipblaslt-bench)") / 1e12
        assert az.filter(pl.col("accelerator") == "MI300X")["measured"].max() <= maf

    def test_cast_kernels(self, table):
        t = table.filter((pl.col("kind") == "cast") & (pl.col("role") == "test"))["error_pct"].abs()
        assert t.max() <= 15.0

    def test_max_achievable_rows(self):
        v = compute.gemm_validation()
        assert (v["predicted_tflops"] <= v["max_tflops"] * (1 + 1e-9)).all()
        fit = v.filter(pl.col("fitted"))
        # the fit is the sup over shapes; each measured best shape is within 10 % of it
        assert (fit["error_pct"] <= 1e-9).all() and (fit["error_pct"] >= -10.0).all()

    def test_power_limited_variant_carries_its_measured_derate(self):
        """B200-750W's peaks (data/accelerators.csv) are B200's times the derate its own
        measured 750 W GEMM rates give against B200's model (compute.power_limit_derate), for
        every precision column; the measured range lies below the linear-in-power figure
        (0.815) it replaced."""
        d = compute.power_limit_derate("B200-750W")
        assert d["base"] == "B200" and d["rows"].height >= 2
        assert d["low"] <= d["value"] <= d["high"] < 0.815
        v, b = catalog.accelerator("B200-750W"), catalog.accelerator("B200")
        for p in ("fp64", "fp32", "tf32", "bf16", "fp16", "fp8", "fp4"):
            assert v.peak(p) / b.peak(p) == pytest.approx(d["value"], rel=2e-3), p
        with pytest.raises(ValidationError):
            compute.power_limit_derate("B200")           # not a variant: no derate
        with pytest.raises(ValidationError):
            compute.power_limit_derate("H100-96GB-500W")  # a variant without a measured rate


    def test_fused_grouped_kernel_carries_its_measured_shortfall(self):
        """PyTorch's fused grouped kernel (streams = 0) runs at the device's grouped_mm_factor of
        the dense ceiling: BF16 on B200 fitted to torchao's forward + backward times (train rows;
        the held-out rows come within 25 % where the dense model is about half the measured time),
        BF16 and FP8 on H200 to the train rows of the project's own timings (H100, H800 and the
        96 GB H100 take H200's: the same GH100 die); AMD keeps the dense ceiling; the stream loop
        (cuBLAS per expert) and the block-scaled precisions are untouched."""
        fit = compute.grouped_mm_factor_fit("B200")
        p = compute.compute_params()

        def stored(acc, var):
            return p.filter((pl.col("accelerator") == acc) & (pl.col("parameter") == "grouped_mm_factor")
                            & (pl.col("variant") == var))["value"][0]

        f = stored("B200", "bf16")
        assert fit["value"] == pytest.approx(f, rel=2e-5) and 0.3 < f < 0.7
        rows = fit["rows"]
        assert set(rows["role"]) == {"train", "test"}
        assert fit["test_median_abs_error_pct"] < 25.0
        assert (rows["predicted_dense_us"] < 0.6 * rows["measured_us"]).all()
        hb, h8 = stored("H200-SXM", "bf16"), stored("H200-SXM", "fp8")
        for var, want in (("bf16", hb), ("fp8", h8)):
            hfit = compute.grouped_mm_factor_fit("H200-SXM", var)
            assert hfit["value"] == pytest.approx(want, rel=2e-5) and 0.6 < want < 1.0
            assert set(hfit["rows"]["role"]) == {"train", "test"}
        groups = [(4096, 1536, 2048)] * 32
        for acc, want in (("B200", f), ("GB200", f), ("B200-750W", f), ("H100-SXM", hb), ("H200-SXM", hb),
                          ("MI300X", 1.0)):
            fused = compute.grouped_gemm_time(groups, acc, "bf16")
            dense = compute.gemm_model(acc, "bf16")
            assert compute.fused_grouped_model(dense).ceiling == pytest.approx(dense.ceiling * want), acc
            if want > 0.75:
                continue
            loop = compute.grouped_gemm_time(groups, acc, "bf16", streams=1)
            assert fused > 1.5 * loop, acc     # the cuBLAS loop keeps the dense ceiling
        fp8 = compute.gemm_model("H800-SXM", "fp8")
        assert compute.fused_grouped_model(fp8).ceiling == pytest.approx(fp8.ceiling * h8)
        mx = compute.gemm_model("B200", "mxfp8")
        assert compute.fused_grouped_model(mx) is mx
        with pytest.raises(ValidationError, match="no bf16 grouped_gemm rows for MI300X"):
            compute.grouped_mm_factor_fit("MI300X")
        with pytest.raises(ValidationError, match="bf16/fp16 or fp8"):
            compute.grouped_mm_factor_fit("B200", "mxfp8")

    def test_fused_grouped_kernel_runs_pytorchs_cutlass_schedule(self):
        """On Hopper and Blackwell the fused grouped kernel is priced as PyTorch runs it
        (GroupMM.cu / ScaledGroupMM.cu; CUTLASS's PersistentTileSchedulerSm90Group): the tile its
        dispatch picks from the mean group shape, each group's tile grid rounded up to whole
        clusters, the sum of all groups' tiles dealt out in whole waves (no stream-K, no split-K),
        and two kernels per call. The model before took the best dense tile with stream-K, so one
        group more than a full wave cost about one group's share (fails there)."""
        from infra_lab._kernels import gemm as kg

        # 11 groups of 256 x 1536 rows/columns on 128x256 tiles: 132 tiles, one full wave of the
        # H200's 132 SMs; a 12th group spills 12 tiles into a second wave
        one = [(256, 1536, 8192)]
        g = compute.fused_grouped_model(compute.gemm_model("H200-SXM", "bf16"))
        t11 = compute.grouped_gemm_time(one * 11, "H200-SXM") - g.fixed_s
        t12 = compute.grouped_gemm_time(one * 12, "H200-SXM") - g.fixed_s
        assert t12 / t11 > 1.9
        # the second wave is not paid on AMD, where no grouped schedule is stated (best tile, stream-K)
        a11 = compute.grouped_gemm_time([(256, 1536, 8192)] * 38, "MI300X")
        a12 = compute.grouped_gemm_time([(256, 1536, 8192)] * 39, "MI300X")
        assert a12 / a11 < 1.1
        # two kernels per call: the pointer/stride/shape kernel, then the grouped GEMM
        dense = compute.gemm_model("H200-SXM", "bf16")
        assert g.fixed_s == pytest.approx(2 * dense.fixed_s)
        # the dispatch (mean rows per group; the ragged dimension divided by the group count)
        sb = compute.fused_grouped_schedule("H200-SXM", "bf16")
        s8 = compute.fused_grouped_schedule("H200-SXM", "fp8")
        assert compute.fused_grouped_tile(sb, 128, 4096, 7168) == (64, 128)
        assert compute.fused_grouped_tile(sb, 8192, 4096, 7168) == (128, 256)
        assert compute.fused_grouped_tile(s8, 2048, 4096, 7168) == (256, 128)
        assert compute.fused_grouped_tile(s8, 256, 2048, 768) == (128, 256)
        assert s8["cluster"] == (2, 2) and sb["cluster"] == (2, 1) and sb["kernels"] == 2
        # the dispatch bounds are the schedule row's (PyTorch's 128 and 2048), not the code's
        assert (sb["small_max"], sb["large_min"], s8["small_max"], s8["large_min"]) == (128, None, 128, 2048)
        assert compute.fused_grouped_tile({**sb, "small_max": 256}, 200, 4096, 7168) == (64, 128)
        assert compute.fused_grouped_tile(s8, 2048, 2048, 7168) == (256, 128)
        assert compute.fused_grouped_tile({**s8, "large_min": 4096}, 2048, 2048, 7168) == (128, 256)
        assert compute.fused_grouped_tile(compute.fused_grouped_schedule("B200"), 8192, 4096, 7168) == (128, 256)
        for acc, prec in (("MI300X", "bf16"), ("A100-SXM-80GB", "bf16"), ("B200", "fp8"), ("H200-SXM", "mxfp8")):
            assert compute.fused_grouped_schedule(acc, prec) is None, (acc, prec)
        # cluster rounding: 100 rows on 128-row tiles in a 2-CTA cluster occupy two tiles, as 256
        # rows do (66 groups of 6 or 12 tiles: three or six waves)
        G = 66
        tiles = (np.array([128]), np.array([256]), np.array([0.9]))
        rest = (64, 2.9, 132, 0.8, 989e12, 1e15, 2.0, 2.0, 0.0)     # compute-bound: ample bandwidth
        times = {}
        for m, cm in ((100, 2), (256, 2), (100, 1)):
            for fn in (kg.fused_grouped_kernel, kg.fused_grouped_reference):
                e, t = kg.empty_outputs(1)
                fn(np.array([0, G]), np.full(G, m), np.full(G, 1536), np.full(G, 8192), *tiles, np.array([cm]),
                   np.array([1]), *rest, e, t)
                times.setdefault((m, cm), []).append(float(t[0]))
        for v in times.values():
            assert v[0] == pytest.approx(v[1], rel=1e-12)
        assert times[(100, 2)][0] == pytest.approx(times[(256, 2)][0], rel=1e-12)
        assert times[(100, 1)][0] < 0.6 * times[(100, 2)][0]


class TestAttention:
    @settings(max_examples=60, deadline=None)
    @given(s=st.integers(64, 65536), bh=st.floats(1, 512), causal=st.booleans(),
           pair=st.sampled_from([("H100-SXM", "fa2"), ("H100-SXM", "fa3"), ("H100-SXM", "cudnn"),
                                 ("MI355X", "aiter"), ("MI300X", "ck-fa2"), ("B200", "fa4"),
                                 ("A100-SXM-80GB", "fa2"), ("MI325X", "ck-fa2"), ("MI300X", "aotriton"),
                                 ("MI325X", "aotriton")]))
    def test_backward_never_more_efficient_than_forward(self, s, bh, causal, pair):
        acc, k = pair
        f = compute.attention_efficiency(s, 128, bh, acc, "fwd", causal, kernel=k)
        b = compute.attention_efficiency(s, 128, bh, acc, "bwd", causal, kernel=k)
        assert b <= f * (1 + 1e-12)

    def test_parameters_respect_the_constraint(self):
        for acc in DEVICES:
            for k in compute.attention_kernels(acc):
                f, b = (compute.attention_params(acc, k, p) for p in ("fwd", "bwd"))
                assert b["efficiency"] <= f["efficiency"] and b["overhead_blocks"] >= f["overhead_blocks"]

    def test_causal_costs_more_than_half(self):
        for s in (1024, 4096, 32768):
            full = compute.attention_time(s, 128, 256, "MI355X", "fwd", causal=False)
            cz = compute.attention_time(s, 128, 256, "MI355X", "fwd", causal=True)
            assert 0.5 * full < cz < full
        # one wave of workgroups: the last query block walks every key block either way
        one = [compute.attention_time(1024, 128, 32, "MI355X", "fwd", causal=c) for c in (False, True)]
        assert one[1] == pytest.approx(one[0])
        # the diagonal-block loss shrinks with length
        e1 = compute.attention_efficiency(1024, 128, 32, "MI355X", "fwd", True)
        e2 = compute.attention_efficiency(32768, 128, 32, "MI355X", "fwd", True)
        assert e1 < e2

    def test_window_and_cross_lengths(self):
        full = compute.attention_cost(8192, 64, 64, "H100", "fwd", True)
        win = compute.attention_cost(8192, 64, 64, "H100", "fwd", True, window=128)
        assert win["flops"] < 0.05 * full["flops"] and win["time_s"] < full["time_s"]
        with pytest.raises(ValidationError):
            compute.attention_cost(8192, 64, 64, "H100", "fwd", True, kv_seq_len=100)

    def test_capped_passes_never_predicted_above_their_fastest_train_measurement(self, monkeypatch):
        """A pass listed in compute.validation.ATTN_CAPPED_AT_MEASURED is fitted with its
        efficiency capped at its fastest TRAIN-row rate (role == 'train'; test rows never set
        it): no shape, length or mask is then predicted above that rate, also beyond the
        measured lengths. Checked for every listed pass on the stored parameters, and for the
        mechanism itself by fitting MI300X AOTriton with both passes capped."""
        from infra_lab.compute import _params as P
        from infra_lab.compute import validation as CV

        m = compute.compute_measurements()
        peak = catalog.accelerator("MI300X").peak("bf16")

        def top(acc, kern, ps):
            t = m.filter((pl.col("accelerator") == acc) & (pl.col("software") == kern)
                         & (pl.col("pass") == ps) & (pl.col("role") == "train"))
            assert t.height >= 1
            return t["value"].max() * 1e12

        def shapes():
            for s in (1024, 2048, 8192, 16384, 65536):
                for bh in (1, 32, 96, 256, 4096):
                    for causal in (False, True):
                        yield s, bh, causal

        for acc, kern, ps in CV.ATTN_CAPPED_AT_MEASURED:
            pk = catalog.accelerator(acc).peak("bf16")
            t = top(acc, kern, ps)
            assert compute.attention_params(acc, kern, ps)["efficiency"] <= t / pk * (1 + 1e-5)
            for s, bh, causal in shapes():
                r = compute.attention_efficiency(s, 128, bh, acc, ps, causal, kernel=kern) * pk
                assert r <= t * (1 + 1e-5), (acc, kern, ps, s, bh, causal)
        # the mechanism: both MI300X AOTriton passes capped
        both = (("MI300X", "aotriton", "fwd"), ("MI300X", "aotriton", "bwd"))
        monkeypatch.setattr(CV, "ATTN_CAPPED_AT_MEASURED", both)
        fixed = compute.compute_params().filter(
            (pl.col("accelerator") == "default-AMD") & (pl.col("parameter") == "kernel_fixed_s"))["value"][0]
        ef, cf, eb, cb = CV._fit_attention_passes("MI300X", "aotriton", fixed)
        a = catalog.accelerator("MI300X")
        for ps, e, c in (("fwd", ef, cf), ("bwd", eb, cb)):
            t = top("MI300X", "aotriton", ps)
            assert e <= CV._attn_cap("MI300X", "aotriton", ps) == pytest.approx(t / peak)
            for s, bh, causal in shapes():
                row = {"seq_len": s, "batch_heads": float(bh), "causal": causal, "head_dim": 128}
                r = CV._attn_core_fixed(a, row, 128, ps, e, c, int(P.value(a, "attn_block")),
                                        int(P.value(a, f"attn_kernels_{ps}")), fixed)
                assert r <= t * (1 + 1e-9), (ps, s, bh, causal)

    def test_attention_cap_listed_without_train_rows_is_an_error(self, monkeypatch):
        from infra_lab.compute import validation as CV

        monkeypatch.setattr(CV, "ATTN_CAPPED_AT_MEASURED", (("MI300X", "aotriton", "fwd"),
                                                             ("B200", "fa4", "bwd")))
        assert CV._attn_cap("MI300X", "aotriton", "bwd") == 1.0          # not listed
        with pytest.raises(ValidationError, match="no train row"):
            CV._attn_cap("B200", "fa4", "bwd")
        with pytest.raises(ValidationError, match="fa4"):
            CV.calibrate()

    def test_aotriton_cap_decided_per_pass_on_kernel_test_rows(self):
        """MI300X AOTriton: each pass is capped only if the capped fit has the lower median
        |error| on that pass's TEST rows (forward 2k/8k of attn-dsl-bench, backward 4k/8k of
        AMD's tuning database); today neither is. Fits use train rows only."""
        from infra_lab.compute import validation as CV

        cmp = CV.attention_cap_comparison("MI300X", "aotriton")
        assert cmp.height == 13
        for ps, n_test in (("fwd", 2), ("bwd", 4)):
            t = cmp.filter((pl.col("pass") == ps) & (pl.col("role") == "test"))
            assert t.height == n_test
            capped = t["error_capped_pct"].abs().median() < t["error_uncapped_pct"].abs().median()
            assert (("MI300X", "aotriton", ps) in CV.ATTN_CAPPED_AT_MEASURED) == capped, ps
        # the stored parameters are the chosen fit; the forward fits all five rows within 2 %
        v = compute.validation_table().filter(pl.col("software") == "aotriton")
        got = dict(zip(v["case"], v["error_pct"], strict=True))
        for r in cmp.iter_rows(named=True):
            ps = r["pass"]
            want = r["error_capped_pct"] if ("MI300X", "aotriton", ps) in CV.ATTN_CAPPED_AT_MEASURED \
                else r["error_uncapped_pct"]
            assert got[r["case"]] == pytest.approx(want, abs=0.01), r["case"]
        assert v.filter(pl.col("case").str.contains("-fwd-"))["error_pct"].abs().max() <= 2.0
        # MI325X: the same kernels at the MI325X/MI300X BF16 ceiling ratio
        ratio = compute.gemm_model("MI325X").ceiling / compute.gemm_model("MI300X").ceiling
        for ps in ("fwd", "bwd"):
            a, b = (compute.attention_params(acc, "aotriton", ps) for acc in ("MI300X", "MI325X"))
            assert b["efficiency"] == pytest.approx(a["efficiency"] * ratio, rel=1e-4)
            assert b["overhead_blocks"] == a["overhead_blocks"]

    def test_unknown_kernel(self):
        with pytest.raises(UnknownNameError):
            compute.attention_time(4096, 128, 32, "MI300X", kernel="fa3")


class TestMoE:
    def test_one_rank_is_balanced(self):
        assert compute.moe_load_imbalance(8192, 16, 1, 1) == 1.0

    @pytest.mark.parametrize(("T", "E", "k", "ep"), [(512, 16, 1, 8), (2048, 64, 8, 8), (256, 16, 2, 16)])
    def test_monte_carlo_agrees_with_closed_form(self, T, E, k, ep):
        """The seeded numba Monte Carlo and its independent reference (the normal closed form)."""
        mc = compute.moe_load_imbalance(T, E, k, ep, method="monte_carlo", trials=400)
        cf = compute.moe_load_imbalance(T, E, k, ep, method="normal")
        assert mc == pytest.approx(cf, rel=0.01)
        assert mc > 1.0

    def test_skew_capacity_and_monotonicity(self):
        a = compute.moe_load_imbalance(4096, 256, 8, 64)
        b = compute.moe_load_imbalance(4096, 256, 8, 64, popularity_cv=0.3)
        assert 1.0 < a < b
        assert compute.moe_load_imbalance(4096, 256, 8, 64, popularity_cv=0.3, capacity_factor=1.25) == 1.25
        assert compute.moe_load_imbalance(512, 64, 8, 8) > compute.moe_load_imbalance(8192, 64, 8, 8)

    def test_counts(self):
        c = compute.expert_token_counts(8192, 16, seed=3)
        assert c.sum() == 8192 and c.size == 16 and c.min() >= 0
        assert np.array_equal(c, compute.expert_token_counts(8192, 16, seed=3))

    @pytest.mark.parametrize("bad", [dict(ep=3), dict(top_k=20), dict(tokens=0), dict(tokens="8"),
                                     dict(method="exact"), dict(capacity_factor=0.5), dict(popularity_cv=-1)])
    def test_bad_input(self, bad):
        kw = dict(tokens=1024, experts=16, top_k=2, ep=4) | bad
        with pytest.raises(ValidationError):
            compute.moe_load_imbalance(**kw)


class TestLayerOps:
    def test_components_are_the_enum(self):
        for name in ("llama3-8b", "zaya1-base", "deepseek-v3", "zamba2-7b", "qwen3-30b-a3b"):
            ops = compute.layer_ops(name, 2048, 1, 1, "MI300X", passes=("fwd", "bwd"))
            assert set(ops["component"]) <= set(compute.COMPONENTS)
            assert (ops["time_s"] > 0).all() and ops["time_s"].is_finite().all()
            assert (ops["bytes"] >= 0).all()

    def test_flops_match_gemm_records(self):
        spec = il.models.get("llama3-8b")
        ops = compute.layer_ops(spec, 4096, 2, 1, "MI300X", causal=False)
        r = compute.gemm_records(spec, 4096, 2, 1, causal=False)
        got = ops.filter((pl.col("layer_kind") == "dense") & (pl.col("op_type") != "memory"))["flops"].sum()
        assert got == pytest.approx(r.flops_by("dense"), rel=1e-9)

    def test_backward_twice_forward_gemm_flops(self):
        ops = compute.layer_ops("llama3-8b", 4096, 1, 1, "H100", passes=("fwd", "bwd"))
        gemm = ops.filter((pl.col("op_type") == "gemm") & (pl.col("layer_kind") == "dense"))
        f = gemm.filter(pl.col("pass") == "fwd")["flops"].sum()
        b = gemm.filter(pl.col("pass") == "bwd")["flops"].sum()
        assert b == pytest.approx(2 * f)

    def test_columns(self):
        ops = compute.layer_ops("zaya1-base", 4096, 1, 1, "MI300X", passes=("fwd", "bwd"))
        for c in ("layer_kind", "pass", "op", "op_type", "component", "m", "n", "k", "count", "groups",
                  "flops", "bytes", "intensity", "efficiency", "time_s", "bound"):
            assert c in ops.columns
        assert set(ops["layer_kind"]) == {"moe", "head"}

    def test_grouped_experts_slower_than_one_balanced_gemm(self):
        """Review §5.1: per-expert tile padding and multinomial counts cost extra time."""
        ops = compute.layer_ops("zaya1-base", 4096, 2, 1, "MI300X")
        up = ops.filter(pl.col("op") == "experts_up").row(0, named=True)
        merged = compute.gemm_time(int(up["m"]), int(up["n"]), int(up["k"]), "MI300X")
        assert up["groups"] == 16 and up["time_s"] > merged

    def test_ep_and_expert_tp(self):
        a = compute.layer_ops("deepseek-v3", 4096, 1, 2, "H100", ep=8)
        b = compute.layer_ops("deepseek-v3", 4096, 1, 2, "H100", ep=8, expert_tp=1)
        ea = a.filter(pl.col("component") == "expert_gemm")
        eb = b.filter(pl.col("component") == "expert_gemm")
        assert ea["groups"][0] == 32
        assert ea["flops"].sum() == pytest.approx(eb["flops"].sum())  # same work per rank
        with pytest.raises(ValidationError):
            compute.layer_ops("deepseek-v3", 4096, 1, 1, "H100", ep=3)
        with pytest.raises(ValidationError):
            compute.layer_ops("llama3-8b", 4096, 1, 1, "H100", ep=2)

    def test_permute_doubles_with_ep(self):
        def permute(ep):
            o = compute.layer_ops("qwen3-30b-a3b", 4096, 1, 1, "H100", ep=ep)
            return o.filter(pl.col("component") == "permute")["bytes"].sum()
        assert permute(8) == pytest.approx(2 * permute(1))

    def test_casts_only_in_low_precision_and_scale_with_tokens(self):
        bf = compute.layer_ops("llama3-8b", 4096, 1, 1, "H100", "bf16")
        assert bf.filter(pl.col("component") == "cast").height == 0
        f1 = compute.layer_ops("llama3-8b", 4096, 1, 1, "H100", "fp8", passes=("fwd", "bwd"))
        f2 = compute.layer_ops("llama3-8b", 8192, 1, 1, "H100", "fp8", passes=("fwd", "bwd"))
        c1 = f1.filter((pl.col("component") == "cast") & (pl.col("pass") == "bwd"))["bytes"].sum()
        c2 = f2.filter((pl.col("component") == "cast") & (pl.col("pass") == "bwd"))["bytes"].sum()
        assert c1 > 0 and c2 == pytest.approx(2 * c1)
        # router and LM head stay 16-bit
        head = f1.filter(pl.col("op") == "lm_head")["efficiency"][0]
        assert head <= compute.max_efficiency("H100", "bf16")
        unfused = compute.layer_ops("llama3-8b", 4096, 1, 1, "H100", "fp8", fuse_casts=False)
        assert unfused.filter(pl.col("component") == "cast")["time_s"].sum() > \
            f1.filter((pl.col("component") == "cast") & (pl.col("pass") == "fwd"))["time_s"].sum()

    def test_per_axis_scaling_casts_and_rescale(self):
        """scaling="row" / "block" (torchao's rowwise and MX recipes): every linear's X, W and dY
        are read once more in backward (act bytes each) for their other-axis copies; "row" also
        rescales the 16-bit dgrad and wgrad outputs (read + write); forward and GEMMs unchanged;
        a 16-bit run has no casts whatever the scaling; unknown values are refused."""
        kw = dict(passes=("fwd", "bwd"))
        base = compute.layer_ops("llama3-8b", 4096, 1, 1, "H100", "fp8", **kw)
        row = compute.layer_ops("llama3-8b", 4096, 1, 1, "H100", "fp8", scaling="row", **kw)
        blk = compute.layer_ops("llama3-8b", 4096, 1, 1, "H100", "fp8", scaling="block", **kw)
        act = 2.0
        lin = base.filter((pl.col("layer_kind") == "dense") & (pl.col("pass") == "fwd")
                          & pl.col("component").is_in(compute.LOW_PRECISION_COMPONENTS))
        axis = sum(act * (r["m"] * r["k"] + r["k"] * r["n"] + r["m"] * r["n"]) for r in lin.iter_rows(named=True))
        resc = sum(2 * act * (r["m"] * r["k"] + r["k"] * r["n"]) for r in lin.iter_rows(named=True))

        def extra(o, suffix):
            return o.filter((pl.col("layer_kind") == "dense") & pl.col("op").str.ends_with(suffix))["bytes"].sum()

        assert extra(blk, "_cast_axis") == pytest.approx(axis, rel=1e-12)
        assert extra(row, "_cast_axis") == pytest.approx(axis, rel=1e-12)
        assert extra(row, "_rescale") == pytest.approx(resc, rel=1e-12) and extra(blk, "_rescale") == 0
        assert extra(base, "_cast_axis") == 0
        for o in (row, blk):
            assert o.filter(pl.col("op_type") == "gemm")["time_s"].sum() == \
                pytest.approx(base.filter(pl.col("op_type") == "gemm")["time_s"].sum(), rel=1e-12)
            assert o.filter(pl.col("pass") == "fwd")["time_s"].sum() == \
                pytest.approx(base.filter(pl.col("pass") == "fwd")["time_s"].sum(), rel=1e-12)
        assert compute.layer_ops("llama3-8b", 4096, 1, 1, "H100", "bf16", scaling="row", **kw).equals(
            compute.layer_ops("llama3-8b", 4096, 1, 1, "H100", "bf16", **kw))
        with pytest.raises(UnknownNameError, match="scaling"):
            compute.layer_ops("llama3-8b", 4096, 1, 1, "H100", "fp8", scaling="column")

    def test_main_grad_accumulation_bytes(self):
        a = compute.layer_ops("zaya1-base", 4096, 1, 1, "MI300X", passes=("bwd",))
        b = compute.layer_ops("zaya1-base", 4096, 1, 1, "MI300X", passes=("bwd",), main_grad_bytes=0)
        wa = a.filter(pl.col("op") == "experts_up_wgrad").row(0, named=True)
        wb = b.filter(pl.col("op") == "experts_up_wgrad").row(0, named=True)
        assert wa["bytes"] > wb["bytes"] and wa["time_s"] >= wb["time_s"]

    def test_mtp_and_mla(self):
        ops = compute.layer_ops("deepseek-v3", 2048, 1, 8, "B200", ep=8)
        assert {"dense", "moe", "mtp", "head"} <= set(ops["layer_kind"])
        assert ops.filter(pl.col("layer_kind") == "mtp").filter(pl.col("component") == "mtp_proj").height == 1

    def test_unfused_attention(self):
        ops = compute.layer_ops("llama3-8b", 2048, 1, 1, "A100", flash=False, passes=("fwd", "bwd"))
        att = ops.filter(pl.col("component") == "attention")
        assert set(att["op_type"]) == {"gemm"} and "softmax" in ops["op"].to_list()

    def test_tp_reduces_time_and_recompute(self):
        a = compute.layer_times("llama3-70b", 4096, 1, 1, "MI300X")
        b = compute.layer_times("llama3-70b", 4096, 1, 8, "MI300X")
        assert b["fwd_s"][0] < a["fwd_s"][0]
        n = compute.layer_times("llama3-8b", 4096, 1, 1, "MI300X", recompute="none")
        s = compute.layer_times("llama3-8b", 4096, 1, 1, "MI300X", recompute="selective")
        f = compute.layer_times("llama3-8b", 4096, 1, 1, "MI300X", recompute="full")
        assert n["recompute_s"][0] == 0 < s["recompute_s"][0] < f["recompute_s"][0] == pytest.approx(f["fwd_s"][0])


class TestErrors:
    @pytest.mark.parametrize("bad", [0, -5, 1.5, float("nan"), float("inf"), "64", True, None, 2**50])
    def test_bad_dims(self, bad):
        with pytest.raises(ValidationError):
            compute.gemm_time(bad, 10, 10, "MI300X")

    def test_unknown_names(self):
        with pytest.raises(UnknownNameError):
            compute.gemm_time(10, 10, 10, "MI300X", "bf17")
        with pytest.raises(UnknownNameError):
            compute.gemm_time(10, 10, 10, "MI301X")
        with pytest.raises(ValidationError):
            compute.gemm_time(10, 10, 10, ["MI300X"])
        with pytest.raises(ValidationError):
            compute.gemm_time(10, 10, 10, "A100", "fp8")  # no FP8 on A100

    @pytest.mark.parametrize("kw", [dict(tp="2"), dict(micro_batch=0), dict(seq_len=float("nan")),
                                    dict(passes="fwd"), dict(passes=("fwd", "back")), dict(causal="yes"),
                                    dict(main_grad_bytes=-1), dict(expert_tp=0), dict(seed=-1),
                                    dict(precision=8), dict(tp=3)])
    def test_layer_ops_bad_input(self, kw):
        base = dict(spec="llama3-8b", seq_len=1024, micro_batch=1, tp=1, accelerator="MI300X")
        with pytest.raises((ValidationError, UnknownNameError)):
            compute.layer_ops(**(base | kw))

    def test_op_time(self):
        assert compute.op_time(0, 0, "H100") == pytest.approx(compute.kernel_fixed_s("H100"))
        for bad in ((-1, 0), (0, float("nan")), ("1", 0)):
            with pytest.raises(ValidationError):
                compute.op_time(*bad, "MI300X")
        with pytest.raises(ValidationError):
            compute.op_time(1, 1, "MI300X", efficiency=1.5)


def test_roofline_and_ridge():
    r = compute.ridge_points(["MI300X", "H100-SXM"])
    mi = r.filter(pl.col("accelerator") == "MI300X").row(0, named=True)
    assert mi["ridge_flop_per_byte"] == pytest.approx(1307.4e12 / 5.3e12)
    assert mi["max_achievable_tflops"] == pytest.approx(708.0, rel=1e-6)
    rf = compute.roofline(["MI300X", "B200"])
    assert rf.height == 128 and rf["attainable_tflops"].max() == pytest.approx(2250.0)


def test_fp32_gemm_runs_at_the_fp32_matrix_peak_where_the_part_has_no_tf32():
    """The compute model ran every fp32 GEMM at the TF32 peak, so on CDNA 4 (no TF32 GEMM) an fp32
    GEMM was refused ("MI355X does not support tf32"); it runs there on the FP32 matrix units, at
    the sourced fp32 column of data/accelerators.csv. Where the part has TF32 nothing changes."""
    for name in ("MI355X", "MI350X"):
        a = catalog.accelerator(name)
        assert "tf32" in a.unsupported_precisions
        assert compute.gemm_model(name, "fp32").peak_flops == a.peak("fp32")
        assert "fp32" in compute._params.supported(a) and "tf32" not in compute._params.supported(a)
        # the same work at the fp32 peak, not the bf16 one: as much slower as the peaks are apart
        t32, t16 = (compute.gemm_time(8192, 8192, 8192, name, p) for p in ("fp32", "bf16"))
        assert t32 / t16 > 0.8 * a.peak("bf16") / a.peak("fp32")
        with pytest.raises(ValidationError, match=f"{name} does not support tf32"):
            compute.gemm_time(8192, 8192, 8192, name, "tf32")
    for name in ("MI300X", "H100-SXM", "B200"):            # TF32 parts: fp32 GEMMs stay at the TF32 peak
        a = catalog.accelerator(name)
        assert compute.gemm_model(name, "fp32").peak_flops == a.peak("tf32")
    assert catalog.accelerator("MI300X").peak("fp32") < catalog.accelerator("MI300X").peak("tf32")
    # a part with neither figure names the peak an fp32 GEMM would run at
    with pytest.raises(ValidationError, match=r"precision = 'fp32' \(an fp32 GEMM runs at the part's tf32 peak\): "
                                              r"MI450X has no sourced dense tf32 peak"):
        compute.gemm_time(4096, 4096, 4096, "MI450X", "fp32")


def test_optimizer_step_time():
    t = compute.optimizer_step_time(1e9, "MI300X")
    assert t == pytest.approx(32e9 / (5.3e12 * compute.hbm_efficiency("MI300X")) + compute.kernel_fixed_s("MI300X"))
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

    def test_heatmap_embeds_one_record_per_grid_row(self):
        # N and the values travel as parallel arrays per M (Vega-Lite flattens them back): the
        # executed notebook stays light, and every cell of the grid is still in the chart
        g = compute.efficiency_grid(np.arange(256, 4097, 256), np.arange(512, 4097, 512), 8192, "MI300X")
        d = il.charts.gemm_efficiency_heatmap(g).to_dict()
        rows = d["data"]["values"]
        assert len(rows) == 16 and d["transform"] == [{"flatten": ["n", "efficiency", "achieved_tflops"]}]
        cells = {(r["m"], n): e for r in rows for n, e in zip(r["n"], r["efficiency"], strict=True)}
        want = {(m, n): e for m, n, e in g.select("m", "n", "efficiency").iter_rows()}
        assert cells.keys() == want.keys()
        assert all(abs(cells[key] - want[key]) <= 5e-5 for key in want)

    def test_chart_rejects_missing_columns(self):
        with pytest.raises(ValidationError):
            il.charts.gemm_efficiency_heatmap(pl.DataFrame({"m": [1]}))

    def test_widget_update(self):
        box = il.widgets.compute_memory_explorer()
        box.controls["zero"].value = 2  # fp32 grad buffer (stack default): ZeRO-2 fits 192/141 GB, not 80 GB
        box.controls["model"].value = "qwen3-30b-a3b"
        assert "fits: <b>False</b>" in box.children[1].value and "fits: <b>True</b>" in box.children[1].value
        df, chart, html = il.widgets.compute_memory_update("llama3-8b", 2048, 2, "fp8", 1, "selective")
        assert set(df["accelerator"]) == {"MI300X", "H100-SXM", "H200-SXM"}
        assert "fp8" in html


class TestNotebook02Claims:
    """The claims notebook 02's computed prose relies on (its numbers are printed from the
    same calls; these assert the statements around them)."""

    def test_stream_k_and_cliffs(self):
        dp = compute.gemm_efficiencies([4096, 4097], 4864, 32896, "MI300X", stream_k=False)
        sk = compute.gemm_efficiencies([4096, 4097], 4864, 32896, "MI300X", stream_k=True)
        assert 1 - dp[1] / dp[0] > 0.10 and 0 < 1 - sk[1] / sk[0] < 1 - dp[1] / dp[0]

    def test_fp8_gains_less_at_small_hidden(self):
        for acc in ("MI300X", "H100-SXM"):
            gain = {}
            for model, kind in (("zaya1-base", "moe"), ("llama3-70b", "dense")):
                t = {p: compute.layer_times(model, 4096, 1, 1, acc, p).filter(pl.col("layer_kind") == kind)
                     .select(pl.col("fwd_s") + pl.col("bwd_s")).item() for p in ("bf16", "fp8")}
                gain[model] = t["bf16"] / t["fp8"]
            # ZAYA1's MoE layer casts all 16 expert weights on this one micro-batch: 0.975x (MI300X) and
            # 0.89x (H100) its BF16 speed (1.04x / 1.01x while the casts counted one expert weight)
            assert 0.85 < gain["zaya1-base"] < 1.0 < gain["llama3-70b"] < 2.0
            # reused over the step's micro-batches (Transformer Engine's cached copies) FP8 gains again
            reused = {p: compute.layer_times("zaya1-base", 4096, 1, 1, acc, p, weight_cast_every=128)
                      .filter(pl.col("layer_kind") == "moe").select(pl.col("fwd_s") + pl.col("bwd_s")).item()
                      for p in ("bf16", "fp8")}
            assert gain["zaya1-base"] < 1.0 < reused["bf16"] / reused["fp8"] < gain["llama3-70b"]

    def test_causal_attention_less_efficient(self):
        full = compute.attention_efficiency(2048, 128, 512, "MI355X", "fwd", False)
        causal = compute.attention_efficiency(2048, 128, 512, "MI355X", "fwd", True)
        assert causal < full

    def test_moe_padding_and_noise(self):
        ops = compute.layer_ops("zaya1-base", 4096, 2, 1, "MI300X")
        up = ops.filter(pl.col("op") == "experts_up").row(0, named=True)
        extra = up["time_s"] / compute.gemm_time(int(up["m"]), int(up["n"]), int(up["k"]), "MI300X") - 1
        assert 0.0 < extra < 0.5
        assert compute.moe_load_imbalance(8192, 64, 8, 8) < 1.02
        assert compute.moe_load_imbalance(8192, 64, 8, 8, popularity_cv=0.2) > 1.05

    def test_zaya1_head_share(self):
        b = dict(il.models.get("zaya1-base").flops_breakdown(4096).iter_rows())
        assert 0.3 < b["lm_head"] / sum(b.values()) < 0.45

    def test_memory_claims(self):
        sc = il.load_scenario("zaya1-ibm-mi300x")

        def largest(dev):
            ok = [m for m in (1, 2, 4, 8) if il.memory.fits(
                sc.replace(training={"micro_batch": m, "global_batch": m * 1024}), accelerator=dev)]
            return max(ok, default=0)
        assert largest("MI300X") >= largest("H200-SXM") >= largest("H100-SXM") >= 1
        assert il.memory.max_inference_batch("llama3-70b", "MI300X", 4096) > 0
        assert il.memory.max_inference_batch("llama3-70b", "H100-SXM", 4096) == 0

    def test_layer_gemms_right_of_every_ridge(self):
        """§1: the Llama-3-8B layer's GEMMs are compute-bound on every device shown."""
        ops = compute.layer_ops(il.models.get("llama3-8b"), 4096, 1, 1, "MI300X", passes=("fwd", "bwd"))
        ridges = compute.ridge_points(["MI300X", "MI355X", "H100-SXM", "H200-SXM", "B200"], "bf16")
        assert ops.filter(pl.col("op_type") == "gemm")["intensity"].min() > ridges["ridge_flop_per_byte"].max()

    def test_attention_backward_below_forward_and_casts_share(self):
        """§5/§6: H100 FA2's backward is less efficient than its forward at 4k; GEMMs are a smaller
        share of ZAYA1's (hidden 2,048) BF16 layer than of Llama-3-70B's (8,192) on every device
        the notebook shows, which is why FP8 buys less there."""
        f = compute.attention_efficiency(4096, 128, 256, "H100-SXM", "fwd", False, kernel="fa2")
        b = compute.attention_efficiency(4096, 128, 256, "H100-SXM", "bwd", False, kernel="fa2")
        assert b < f
        for acc in ("MI300X", "H100-SXM", "B200"):
            share = {}
            for model, kind in (("zaya1-base", "moe"), ("llama3-70b", "dense")):
                ops = compute.layer_ops(model, 4096, 1, 1, acc, "bf16", passes=("fwd", "bwd"))
                ops = ops.filter(pl.col("layer_kind") == kind)
                share[model] = ops.filter(pl.col("component").is_in(compute.GEMM_COMPONENTS))["time_s"].sum() \
                    / ops["time_s"].sum()
            # FP8 speeds only GEMMs, and they are a smaller part of the small-hidden model's layer
            assert 0 < share["zaya1-base"] < share["llama3-70b"] < 1, acc

    def test_rocm_version_spread_and_fitted_max(self):
        """§2: fitted rows sit at or below their own maximum; MI300X's independent rows (two ROCm
        versions) fall on both sides of the model."""
        val = compute.gemm_validation()
        assert (val.filter(pl.col("fitted"))["error_pct"] <= 1e-9).all()
        mi = val.filter(~pl.col("fitted") & (pl.col("accelerator") == "MI300X"))["error_pct"]
        assert mi.len() >= 2 and mi.min() < 0 < mi.max()

    def test_qwen3_30b_and_70b_weights(self):
        """§9/§10: Qwen3-30B-A3B with DP + ZeRO-1 does not fit 80 GB; 70B bf16 weights (> 80 GB)
        fit one 192 GB MI300X but not one H100."""
        sweep = il.memory.memory_sweep(["qwen3-30b-a3b"], ["H100-SXM"], seq_len=4096, micro_batch=1, zero=1)
        assert not sweep["fits"][0]
        w = il.models.get("llama3-70b").params_total * il.catalog.format_bytes("bf16")
        assert il.catalog.accelerator("H100-SXM").hbm_bytes < w < il.catalog.accelerator("MI300X").hbm_bytes


def test_memory_chart_names_the_capacity_it_marks():
    """The tick is memory_sweep's capacity_GB, the memory a job can address (206.1 GB on MI300X,
    85.5 GB on H100-SXM), but its tooltip called it 'HBM [GB]' (labelled 192 / 80 GB)."""
    import infra_lab as il

    m = il.memory.memory_sweep(["zaya1-base"], ["MI300X", "H100-SXM"])
    cap = dict(m.select("accelerator", "capacity_GB").unique().iter_rows())
    assert cap["MI300X"] == pytest.approx(il.catalog.accelerator("MI300X").memory_capacity_bytes / 1e9)
    spec = str(il.charts.memory_stacked_bars(m).to_dict())
    assert "HBM [GB]" not in spec and "memory a job can address [GB]" in spec


@pytest.mark.parametrize("ms, ns, field", [([], [256], "ms"), ([256], [], "ns")])
def test_efficiency_grid_refuses_an_empty_axis(ms, ns, field):
    """An empty ms or ns raised 'batch: length 1, expected 0', naming an argument
    efficiency_grid does not have."""
    import infra_lab as il

    with pytest.raises(il.errors.ValidationError, match=rf"^{field} = \[\]: expected at least one"):
        il.compute.efficiency_grid(ms, ns, 8192, "MI300X")


@pytest.mark.parametrize("fn", ["gemm_times", "gemm_efficiencies"])
def test_vectorised_gemm_calls_refuse_no_shapes(fn):
    """gemm_times([], [], [], ...) raised 'batch: length 1, expected 0' although no batch was given."""
    import infra_lab as il

    with pytest.raises(il.errors.ValidationError, match=r"^m = \[\]: expected at least one GEMM shape"):
        getattr(il.compute, fn)([], [], [], "MI300X")


def test_compute_memory_update_shows_the_accelerators_it_is_given():
    """accelerators=[] showed the three default devices (``accelerators or DEVICES``) as if
    they had been asked for, a bare name was read letter by letter, and an alias or another
    letter case ('mi300x', 'H100') raised IndexError (the frame holds the catalog names)."""
    import infra_lab as il

    with pytest.raises(il.errors.ValidationError, match=r"^accelerators = \[\]"):
        il.widgets.compute_memory_update("llama3-8b", 2048, 1, "bf16", 1, "none", accelerators=[])
    with pytest.raises(il.errors.ValidationError, match=r"^accelerators = 'B200': expected a list"):
        il.widgets.compute_memory_update("llama3-8b", 2048, 1, "bf16", 1, "none", accelerators="B200")
    df, _, html = il.widgets.compute_memory_update("llama3-8b", 2048, 1, "bf16", 1, "none", accelerators=["B200"])
    assert set(df["accelerator"]) == {"B200"} and "MI300X" not in html
    df, _, html = il.widgets.compute_memory_update("llama3-8b", 2048, 1, "bf16", 1, "none",
                                                   accelerators=["mi300x", "H100"])   # IndexError before
    assert set(df["accelerator"]) == {"MI300X", "H100-SXM"} and "<b>H100-SXM</b>" in html


@settings(max_examples=150, deadline=None)
@given(problems=st.lists(st.lists(st.tuples(st.integers(0, 5000), st.integers(0, 8192), st.integers(0, 8192)),
                                  min_size=0, max_size=12), min_size=1, max_size=4),
       tiles=st.lists(st.tuples(st.sampled_from([64, 128, 256]), st.sampled_from([128, 256]),
                                st.sampled_from([1, 2]), st.sampled_from([1, 2])), min_size=4, max_size=4),
       k_tile=st.sampled_from([32, 64, 128]), cus=st.sampled_from([78, 132, 148, 304]),
       mem_bw=st.sampled_from([1e12, 4.8e12, 1e16]), fp8=st.booleans())
def test_fused_grouped_kernel_matches_reference(problems, tiles, k_tile, cus, mem_bw, fp8):
    """The numba CUTLASS-schedule kernel against its plain-Python reference over random grouped
    problems (several per call, empty groups and empty problems included), tiles, clusters, SM
    counts and both the compute- and the memory-bound regime (the grouped test above reaches this
    kernel only for H200/B200 BF16 with streams = 0)."""
    from infra_lab._kernels import gemm as kg

    offs = np.cumsum([0] + [len(p) for p in problems]).astype(np.int64)
    flat = [g for p in problems for g in p] or [(0, 0, 0)]
    gms, gns, gks = (np.array([g[i] for g in flat], dtype=np.int64) for i in range(3))
    P_ = len(problems)
    ptm, ptn, pcm, pcn = (np.array([t[i] for t in tiles[:P_]], dtype=np.int64) for i in range(4))
    pte = 1.0 / (1.0 + 90.0 * (ptm + ptn) / (ptm * ptn))
    rest = (k_tile, 2.9, cus, 0.8, 1979e12 if fp8 else 989e12, mem_bw, 1.0 if fp8 else 2.0, 2.0, 4e-6)
    out = []
    for fn in (kg.fused_grouped_kernel, kg.fused_grouped_reference):
        e, t = kg.empty_outputs(P_)
        fn(offs, gms, gns, gks, ptm, ptn, pte, pcm, pcn, *rest, e, t)
        out.append((e, t))
    np.testing.assert_allclose(out[0][0], out[1][0], rtol=1e-12, atol=0)
    np.testing.assert_allclose(out[0][1], out[1][1], rtol=1e-12, atol=0)
    assert np.all(out[0][1] >= 4e-6) and np.all((out[0][0] >= 0) & (out[0][0] <= 1))


def test_validation_chart_says_what_filled_and_hollow_marks_are():
    """Notebook 02's two kernel-validation charts draw train rows filled and test rows hollow, a
    fill that has no legend: nothing on the chart said which marks were fitted. The title's
    subtitle says it, for the default title and a caller's."""
    vt = compute.validation_table()
    for chart in (il.charts.compute_validation_chart(vt),
                  il.charts.compute_validation_chart(vt, title="Compute model vs one device")):
        spec = chart.to_dict()
        fills = [str(layer["encoding"]["fill"]) for layer in spec["layer"] if "fill" in layer.get("encoding", {})]
        assert fills and "train" in fills[0]                     # the fill encodes the role
        sub = spec["title"]["subtitle"]
        assert "filled: train" in sub and "hollow: test" in sub, spec["title"]
    assert spec["title"]["text"] == "Compute model vs one device"
