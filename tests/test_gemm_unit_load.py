"""The GEMM model's per-workgroup load rate (``unit_load_Bps``): a GEMM whose few output tiles
occupy few compute units is bound by the operand bytes each unit loads, not by the device's HBM
bandwidth. Measured for AMD aiter's MXFP4 kernels on MI355X (data/measurements/gemm_4bit_kernels.csv)."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from infra_lab import catalog, compute
from infra_lab._kernels import gemm as kg
from infra_lab.compute import _params as P


def _times(g, m, n, k):
    m, n, k = (np.atleast_1d(np.asarray(x, dtype=np.int64)) for x in (m, n, k))
    eff, t = kg.empty_outputs(m.size)
    kg.gemm_kernel(m, n, k, np.ones_like(m), *g.args(), eff, t)
    return t


def _no_limit(g):
    """``g`` without the per-workgroup load limit (rate 0)."""
    return dataclasses.replace(g, unit_load_Bps=0.0)


def test_aiter_mxfp4_is_data_parallel_with_its_own_fixed_cost_and_load_rate():
    g = compute.gemm_model("MI355X", "mxfp4")
    assert g.stream_k == 0 and g.splits.tolist() == [1]
    assert 0 < g.fixed_s < compute.gemm_model("MI355X", "fp8").fixed_s
    assert g.unit_load_Bps > 0
    # fp4 on AMD is MXFP4 (aiter's kernels): the same numbers
    g4 = compute.gemm_model("MI355X", "fp4")
    assert (g4.stream_k, g4.splits.tolist(), g4.fixed_s, g4.unit_load_Bps) == \
        (g.stream_k, g.splits.tolist(), g.fixed_s, g.unit_load_Bps)


@pytest.mark.parametrize("acc,prec", [("MI355X", "bf16"), ("MI355X", "fp8"), ("MI300X", "bf16"), ("H100-SXM", "fp8"),
                                      ("B200", "nvfp4"), ("B200", "mxfp4"), ("GB200", "bf16"), ("H200-SXM", "bf16")])
def test_the_limit_is_off_where_no_rate_was_measured(acc, prec):
    """Only aiter's 4-bit kernels have a measured rate; every other library keeps the old model
    (the rate 0 means no limit), on both vendors."""
    g = compute.gemm_model(acc, prec)
    assert g.unit_load_Bps == 0.0
    m, n, k = [1, 64, 1024, 8192], [2048, 7168, 4096, 8192], [7168, 2048, 4096, 8192]
    assert np.array_equal(_times(g, m, n, k), _times(_no_limit(g), m, n, k))


def test_decode_size_time_follows_the_tile_not_the_matrix():
    """With at most one wave of tiles, each unit loads one tile's panels: at M = 1 the time does
    not grow with N while the tiles fit on the CUs (the measured table: 1536 x 7168 and
    2048 x 7168 both take 12.3 us), and it grows with K. Without the limit the model would
    price the weight stream at the full HBM bandwidth instead."""
    g = compute.gemm_model("MI355X", "mxfp4")
    t = _times(g, [1, 1, 1], [1024, 2048, 2048], [7168, 7168, 14336])
    assert t[0] == pytest.approx(t[1], rel=1e-12)
    assert t[2] > 1.8 * (t[1] - g.fixed_s) + g.fixed_s
    nolimit = _times(_no_limit(g), [1], [2048], [7168])
    assert nolimit[0] < 0.8 * t[1]
    # the bound itself: the smallest tile's panels over the rate
    tm, tn = int(g.tile_m.min()), int(g.tile_n.min())
    kpad = math.ceil(7168 / g.k_tile) * g.k_tile
    assert t[1] - g.fixed_s == pytest.approx((tm + tn) * kpad * g.in_bytes / g.unit_load_Bps, rel=1e-12)


def test_the_fit_reads_train_rows_only_and_improves_them():
    """Fails without the mechanism: the train rows at M <= 256 were priced 27-28 % off at the
    median (stream-K over all CUs at hipBLASLt's 9 us fixed cost); with aiter's decomposition,
    fixed cost and load rate, under 12 %."""
    fit = compute.four_bit_load_fit()
    meas = compute.four_bit_gemm_measurements()
    assert fit["rows"] == meas.filter(pl.col("role") == "train").height
    g = compute.gemm_model("MI355X", "mxfp4")
    assert g.unit_load_Bps == pytest.approx(fit["unit_load_Bps"], rel=2e-5)
    assert g.fixed_s == pytest.approx(fit["kernel_fixed_s"], rel=2e-5)
    assert 1.0 < fit["fair_share"] < 4.0
    tab = compute.four_bit_gemm_table().filter((pl.col("role") == "train") & (pl.col("m") <= 256))
    new = float(tab["error_pct"].abs().median())
    # the old model: hipBLASLt's decomposition (stream-K, split-K) and fixed cost, no load limit
    acc = catalog.accelerator("MI355X")
    old = dataclasses.replace(compute.gemm_model("MI355X", "mxfp4", stream_k=True),
                              splits=np.array([int(s) for s in P.text(acc, "split_k").split(";")], dtype=np.int64),
                              fixed_s=P.kernel_fixed_s("MI355X"), unit_load_Bps=0.0)
    t_old = _times(old, tab["m"], tab["n"], tab["k"]) * 1e6
    med_old = float(np.median(np.abs(tab["measured_us"].to_numpy() / t_old - 1.0)) * 100)
    assert med_old > 20.0 and new < 12.0, (med_old, new)


@settings(max_examples=30, deadline=None)
@given(groups=st.lists(st.tuples(st.integers(0, 600), st.integers(1, 8192), st.integers(1, 8192)),
                       min_size=1, max_size=12),
       streams=st.sampled_from([0, 1, 4]))
def test_grouped_kernel_matches_reference_with_the_limit(groups, streams):
    if not any(m for m, _, _ in groups):
        groups = [(1, 64, 64)] + groups
    a = compute.grouped_gemm_times([groups], "MI355X", "mxfp4", streams=streams)
    b = compute.grouped_gemm_times([groups], "MI355X", "mxfp4", reference=True, streams=streams)
    assert a[0][0] == pytest.approx(b[0][0], rel=1e-12)
    assert a[1][0] == pytest.approx(b[1][0], rel=1e-12)


def test_grouped_equals_plain_for_one_group_with_the_limit():
    for shape in [(1, 2048, 7168), (64, 7168, 2048), (4096, 4096, 4096)]:
        t, _ = compute.grouped_gemm_times([[shape]], "MI355X", "mxfp4")
        assert t[0] == pytest.approx(compute.gemm_time(*shape, "MI355X", "mxfp4"), rel=1e-12)
