"""The charts' signed tooltips (an error [%]) read as il.printout.signed writes a signed figure: a
value that rounds to zero shows '0.0', never '+0.0' (Vega-Lite's "+.1f" of 0) nor '-0.0' (of
-0.0004); session 38. The text is a column of the chart's data (charts.base.signed_tooltip), so
the rule is checked here on the data the chart carries."""

from __future__ import annotations

import polars as pl
import pytest

import infra_lab as il
from infra_lab.charts.base import signed_tooltip

ERRORS = [0.0, -0.0004, 12.34, -5.0, 0.04]
WANT = ["0.0", "0.0", "+12.3", "-5.0", "0.0"]
N = len(ERRORS)


def _frames():
    common = {"split": ["train", "test"] * 2 + ["train"], "accelerator": ["MI300X"] * N}
    return {
        "parity_chart": (il.charts.parity_chart, pl.DataFrame({
            "case": [f"c{i}" for i in range(N)], "split": common["split"], "table": ["t"] * N,
            "measured_step_time_s": [1.0 + i for i in range(N)], "predicted_step_time_s": [1.0 + i for i in range(N)],
            "error_pct": ERRORS}), "error_pct"),
        "band_coverage_chart": (il.charts.band_coverage_chart, pl.DataFrame({
            "id": [f"r{i}" for i in range(N)], "split": common["split"],
            "measured_tokens_per_s_per_gpu": [100.0] * N, "predicted_tokens_per_s_per_gpu": [100.0] * N,
            "band_low_tokens_per_s_per_gpu": [90.0] * N, "band_high_tokens_per_s_per_gpu": [110.0] * N,
            "inside": [True] * N, "edge_error_pct": ERRORS}), "edge_error_pct"),
        "compute_validation_chart": (il.charts.compute_validation_chart, pl.DataFrame({
            "case": [f"c{i}" for i in range(N)], "kind": ["gemm"] * N, "accelerator": common["accelerator"],
            "role": common["split"], "measured": [500.0 + i for i in range(N)], "predicted": [500.0] * N,
            "unit": ["TFLOP/s"] * N, "error_pct": ERRORS}), "error_pct"),
        "gemm_validation_chart": (il.charts.gemm_validation_chart, pl.DataFrame({
            "accelerator": common["accelerator"], "precision": ["bf16"] * N, "published_tflops": [900.0] * N,
            "predicted_tflops": [880.0] * N, "fitted": [True] * N, "error_pct": ERRORS}), "error_pct"),
        "validation_chart": (il.charts.validation_chart, pl.DataFrame({
            "size_bytes": [2.0**20 * (i + 1) for i in range(N)], "error_pct": ERRORS, "accelerator": ["H100-SXM"] * N,
            "library": ["nccl"] * N, "split": common["split"], "use": ["validate"] * N}), "error_pct"),
        "serving_parity_chart": (il.charts.serving_parity_chart, pl.DataFrame({
            "id": [f"s{i}" for i in range(N)], "split": common["split"], "accelerator": common["accelerator"],
            "engine": ["vllm"] * N, "output_tokens_per_s_per_gpu_measured": [1000.0 + i for i in range(N)],
            "output_tokens_per_s_per_gpu_predicted": [1000.0] * N,
            "output_tokens_per_s_per_gpu_error_pct": ERRORS}), "output_tokens_per_s_per_gpu_error_pct"),
    }


def _tooltips(spec):
    if isinstance(spec, dict):
        for k, v in spec.items():
            if k == "tooltip" and isinstance(v, list):
                yield from (t for t in v if isinstance(t, dict))
            else:
                yield from _tooltips(v)
    elif isinstance(spec, list):
        for v in spec:
            yield from _tooltips(v)


@pytest.mark.parametrize("name", sorted(_frames()))
def test_a_zero_error_shows_no_sign(name):
    chart, df, col = _frames()[name]
    spec = chart(df).to_dict()
    tips = list(_tooltips(spec))
    assert not [t for t in tips if str(t.get("format", "")).startswith("+")]     # no "+.1f" left
    text = f"{col} (signed text)"
    assert text in {t.get("field", "").replace("\\", "") for t in tips}
    rows = [r for data in spec.get("datasets", {}).values() for r in data if text in r]
    assert [r[text] for r in rows] == WANT


def test_signed_tooltip_keeps_a_null_and_names_the_column():
    data, tip = signed_tooltip(pl.DataFrame({"e": [None, -0.0, 1.25]}, schema={"e": pl.Float64}), "e", "error [%]")
    assert data["e (signed text)"].to_list() == [None, "0.0", "+1.2"]
    assert tip.to_dict() == {"field": "e (signed text)", "type": "nominal", "title": "error [%]"}
