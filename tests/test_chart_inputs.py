"""Chart builders given a frame with no rows, or with only the columns they require.

A builder whose axes are set by its data (a parity plot's diagonal, a heatmap titled by its
K, a tornado's base rule, a histogram's range) raised IndexError / TypeError / numpy's
ValueError on an empty frame; it now raises a ValidationError naming the chart. A builder
whose tooltip named columns it did not require (validation_chart's case, gemm_validation_chart's
m, n, k, error_pct) built a chart that failed only when rendered."""

import polars as pl
import pytest

import infra_lab as il
from infra_lab.errors import ValidationError

S, F, B = pl.String, pl.Float64, pl.Boolean

EMPTY = {   # chart -> (its required columns with their types, extra arguments)
    "gemm_efficiency_heatmap": ({"m": F, "n": F, "k": F, "efficiency": F}, ()),
    "gemm_validation_chart": ({"accelerator": S, "precision": S, "published_tflops": F,
                               "predicted_tflops": F, "fitted": B}, ()),
    "compute_validation_chart": ({"case": S, "kind": S, "accelerator": S, "role": S, "measured": F,
                                  "predicted": F, "unit": S, "error_pct": F}, ()),
    "largest_model_chart": ({"accelerator": S, "base": S, "layers": pl.Int64, "params_B": F, "total_GB": F,
                             "capacity_GB": F}, ()),
    "tornado_chart": ({"parameter": S, "output_low": F, "output_high": F, "output_base": F}, ()),
    "accelerator_bars": ({"accelerator": S, "vendor": S, "metric": S, "value": F, "unit": S}, ("peak_tflops",)),
    "run_length_histogram": ({"wall_h": F}, ()),
    "restart_sweep_chart": ({"calibration": S, "field": S, "value": F, "goodput": F, "mean_restart_min": F}, ()),
    "fleet_check_chart": ({"observation": S, "calibration": S, "published_mtbi_h_low": F,
                           "published_mtbi_h_high": F, "predicted_mtbi_h": F}, ()),
    "serving_parity_chart": ({"id": S, "split": S, "accelerator": S, "engine": S,
                              "output_tokens_per_s_per_gpu_measured": F,
                              "output_tokens_per_s_per_gpu_predicted": F}, ()),
    "parity_chart": ({"case": S, "split": S, "table": S, "measured_step_time_s": F,
                      "predicted_step_time_s": F, "error_pct": F}, ()),
    "communication_chart": ({"component": S, "raw_s_per_step": F, "exposed_s_per_step": F}, ()),
    "band_coverage_chart": ({"id": S, "split": S, "measured_tokens_per_s_per_gpu": F,
                             "predicted_tokens_per_s_per_gpu": F, "band_low_tokens_per_s_per_gpu": F,
                             "band_high_tokens_per_s_per_gpu": F, "inside": B, "edge_error_pct": F}, ()),
}


@pytest.mark.parametrize("name", sorted(EMPTY))
def test_an_empty_frame_is_a_clear_error(name):
    schema, args = EMPTY[name]
    with pytest.raises(ValidationError, match=rf"^{name}: .*nothing to draw"):
        getattr(il.charts, name)(pl.DataFrame(schema=schema), *args)


NULLS = {   # chart -> (a one-row frame of its required columns, the column left without a value, extra args)
    "bill_chart": ({"item": ["GPU-hours"], "usd": [1e6]}, "usd", ()),
    "tco_band_chart": ({"years": [4.0], "case": ["a"], "p5": [1.0], "p50": [2.0], "p95": [3.0]}, "years", ()),
    "tornado_chart": ({"parameter": ["life"], "output_low": [1.0], "output_high": [2.0], "output_base": [1.5]},
                      "output_base", ()),
    "run_length_histogram": ({"wall_h": [100.0]}, "wall_h", ()),
    "goodput_bands_chart": ({"gpus": [1024], "calibration": ["fleet"], "restart": ["baseline"], "goodput": [0.9]},
                            "gpus", ()),
    "gemm_efficiency_heatmap": ({"m": [1024.0], "n": [1024.0], "k": [1024.0], "efficiency": [0.5]}, "k", ()),
}


@pytest.mark.parametrize("name", sorted(NULLS))
def test_a_missing_value_in_a_column_the_chart_computes_from_is_a_clear_error(name):
    """A frame whose column sets an axis's ticks, a total, a histogram's range or a rule's
    position, with one row null or NaN beside good ones, crashed deep in the builder:
    bill_chart "unsupported format string passed to NoneType", tco_band_chart and tornado_chart
    "float() argument must be ... not 'NoneType'", gemm_efficiency_heatmap int(None),
    run_length_histogram numpy's "supplied range of [nan, nan] is not finite", goodput_bands_chart
    comparing None with int (session 42).
    They name the chart, the column and the rows now."""
    cols, col, args = NULLS[name]
    good = pl.DataFrame(cols)
    getattr(il.charts, name)(good, *args).to_dict()            # the frame draws with its value
    for missing in (None, float("nan")):
        bad = pl.concat([good.with_columns(pl.lit(missing, dtype=good[col].dtype     # the first row: the one
                                               if missing is None else pl.Float64).alias(col)), good],   # read
                        how="vertical_relaxed")
        with pytest.raises(ValidationError, match=rf"^{name}: {col} has no value \(null, NaN or ±inf\) in 1 of its 2 rows"):
            getattr(il.charts, name)(bad, *args)


ALL_NULL = {   # chart -> (its required columns, one row each, and the columns set to null together)
    "gemm_validation_chart": ({"accelerator": ["MI300X"], "precision": ["bf16"], "published_tflops": [700.0],
                               "predicted_tflops": [690.0], "fitted": [True]}, ["published_tflops"]),
    "compute_validation_chart": ({"case": ["a"], "kind": ["gemm"], "accelerator": ["MI300X"], "role": ["test"],
                                  "measured": [1.0], "predicted": [1.1], "unit": ["TFLOP/s"], "error_pct": [10.0]},
                                 ["measured"]),
    "parity_chart": ({"case": ["a"], "split": ["test"], "table": ["t"], "measured_step_time_s": [1.0],
                      "predicted_step_time_s": [1.1], "error_pct": [10.0]}, ["predicted_step_time_s"]),
    "band_coverage_chart": ({"id": ["a"], "split": ["test"], "measured_tokens_per_s_per_gpu": [1e4],
                             "predicted_tokens_per_s_per_gpu": [1.1e4], "band_low_tokens_per_s_per_gpu": [9e3],
                             "band_high_tokens_per_s_per_gpu": [1.2e4], "inside": [True], "edge_error_pct": [0.0]},
                            ["measured_tokens_per_s_per_gpu"]),
    "fleet_check_chart": ({"observation": ["a"], "calibration": ["fleet"], "published_mtbi_h_low": [2.0],
                           "published_mtbi_h_high": [3.0], "predicted_mtbi_h": [2.5]},
                          ["published_mtbi_h_low", "published_mtbi_h_high", "predicted_mtbi_h"]),
}


@pytest.mark.parametrize("name", sorted(ALL_NULL))
def test_an_axis_column_with_no_value_in_any_row_is_a_clear_error(name):
    """A parity or band chart sets its axes from the smallest and largest value of its columns;
    with one column null in every row the builder compared None with None (TypeError) or took
    float(None) (session 42). Rows with some values missing still draw."""
    cols, nulls = ALL_NULL[name]
    good = pl.DataFrame(cols)
    getattr(il.charts, name)(good).to_dict()
    bad = good.with_columns([pl.lit(None, dtype=pl.Float64).alias(c) for c in nulls])
    with pytest.raises(ValidationError, match=rf"^{name}: no row has a .*nothing to draw"):
        getattr(il.charts, name)(bad)
    getattr(il.charts, name)(pl.concat([good, bad])).to_dict()     # one row without: drawn without it


def test_serving_parity_chart_with_no_row_having_both_figures():
    df = pl.DataFrame({"id": ["a"], "split": ["train"], "accelerator": ["MI300X"], "engine": ["vllm"],
                       "ttft_s_measured": [None], "ttft_s_predicted": [0.2]},
                      schema_overrides={"ttft_s_measured": F})
    with pytest.raises(ValidationError, match="no row has both ttft_s_measured and ttft_s_predicted"):
        il.charts.serving_parity_chart(df, "ttft_s")


def test_charts_draw_a_frame_with_only_their_required_columns():
    gemm = pl.DataFrame({"accelerator": ["MI300X"], "precision": ["bf16"], "published_tflops": [900.0],
                         "predicted_tflops": [880.0], "fitted": [True]})
    spec = il.charts.gemm_validation_chart(gemm).to_dict()     # rendered: every encoded field exists
    assert spec["layer"][1]["encoding"]["tooltip"]
    nccl = pl.DataFrame({"size_bytes": [2.0**30], "error_pct": [3.0], "accelerator": ["H100-SXM"],
                         "library": ["nccl"], "split": ["test"], "use": ["validate"]})
    il.charts.validation_chart(nccl).to_dict()


def test_the_shipped_tables_still_draw_with_every_tooltip():
    spec = il.charts.gemm_validation_chart(il.compute.gemm_validation()).to_dict()
    tips = {t["field"] for t in spec["layer"][1]["encoding"]["tooltip"]}
    assert {"m", "n", "k", "error_pct (signed text)"} <= tips     # the error as il.printout.signed writes it
    spec = il.charts.validation_chart(il.collectives.validation_table()).to_dict()
    assert {"case", "op", "chosen"} <= {t["field"] for t in spec["layer"][1]["encoding"]["tooltip"]}


def test_training_chart_helpers_name_their_bad_arguments():
    """breakdown_frame({}) raised polars' 'cannot concat empty list' and a non-Estimate value
    an AttributeError; plan_scatter drew a capacity rule at -1 or NaN GB without a word."""
    with pytest.raises(ValidationError, match=r"breakdown_frame: estimates = \{\}"):
        il.charts.breakdown_frame({})
    with pytest.raises(ValidationError, match=r"breakdown_frame: estimates\['a'\] = 5: expected an Estimate"):
        il.charts.breakdown_frame({"a": 5})
    plans = pl.DataFrame({"memory_per_gpu_bytes": [80e9], "tokens_per_s": [1e6], "fits": [True],
                          "tp": [1], "pp": [1], "dp": [8]})
    for bad in (-1, float("nan"), 0):
        with pytest.raises(ValidationError, match=r"plan_scatter: hbm_GB = "):
            il.charts.plan_scatter(plans, hbm_GB=bad)
    il.charts.plan_scatter(plans, hbm_GB=192).to_dict()


def _drawn_points(chart) -> int:
    """Points Vega draws for a chart (rendered to SVG offline)."""
    import vl_convert as vlc

    return vlc.vegalite_to_svg(chart.to_json()).count('aria-roledescription="point"')


def test_charts_draw_columns_whose_names_carry_a_unit_in_brackets():
    """Notebook 05's chart of IBM's NPV against the contract price named its columns
    "contract price [USD/GPU-h]" and "NPV per GPU [USD]": Vega-Lite reads brackets (and dots) in
    a field as nested access, found nothing and drew an empty frame. The builders that take
    column names escape them (charts.base.field)."""
    df = pl.DataFrame({"price [USD/GPU-h]": [1.0, 2.0, 3.0], "NPV per GPU [USD]": [-3.0, 1.0, 4.0],
                       "rule (v1.2)": ["a", "a", "b"]})
    lines = il.charts.efficiency_lines_chart(df, "price [USD/GPU-h]", "NPV per GPU [USD]", "rule (v1.2)", log_x=False,
                                             x_title="price [USD per GPU-hour]", y_title="NPV [USD per GPU]", title="t")
    assert _drawn_points(lines) == 3
    pts = df.with_columns(pl.lit("Pollara-400").alias("nic"), pl.lit(1024).alias("gpus"), pl.lit("m").alias("model"),
                          pl.lit(False).alias("announced_not_shipped"), pl.lit("MI300X").alias("platform"))
    pareto = il.charts.expansion_pareto(pts, "price [USD/GPU-h]", "NPV per GPU [USD]", x_title="x [USD]",
                                        y_title="y [USD]", log_x=False, log_y=False)
    assert _drawn_points(pareto) == 3
    bars = il.charts.expansion_bars(df.with_columns(pl.col("NPV per GPU [USD]").abs()), "NPV per GPU [USD]",
                                    label="rule (v1.2)", value_title="NPV [USD per GPU]")
    import vl_convert as vlc

    assert vlc.vegalite_to_svg(bars.to_json()).count('aria-roledescription="bar"') == 3


def _svg(chart) -> str:
    import vl_convert as vlc

    return vlc.vegalite_to_svg(chart.to_json())


def _marks(svg: str, role: str) -> int:
    return svg.count(f'aria-roledescription="{role}"')


def test_every_builder_that_takes_column_names_draws_names_with_brackets_dots_and_colons():
    """Each chart builder that takes a column name from its caller (a colour, a value, an axis)
    escapes it through charts.base.field: "cost [USD/h]" or "run (v1.2): a" passed raw is read by
    Vega-Lite as nested access or a type shorthand, and the marks vanish (quantitative axes) or
    share one "undefined" colour (the legend)."""
    grp, val = "case [v1.2]", "cost [USD/h]"
    # busbw_vs_size_chart / scaling_chart: colour column with brackets and a dot
    coll = pl.DataFrame({"size_bytes": [1024.0, 2048.0, 4096.0], "busbw_GBps": [1.0, 2.0, 3.0],
                         "gpus": [8, 16, 32], "bw [GB/s]": [1.0, 2.0, 3.0], grp: ["a1", "a1", "b2"]})
    svg = _svg(il.charts.busbw_vs_size_chart(coll, color=grp))
    assert _marks(svg, "point") == 3 and "a1" in svg and "b2" in svg
    svg = _svg(il.charts.scaling_chart(coll, y="bw [GB/s]", color=grp))
    assert _marks(svg, "point") == 3 and "a1" in svg and "b2" in svg
    fab = pl.DataFrame({"fabric": ["x", "y"], "workload": ["w", "w"], "t [ms]": [1.0, 2.0]})
    assert _marks(_svg(il.charts.fabric_comparison_chart(fab, y="t [ms]")), "bar") == 2
    # interval_chart: colour and point columns
    iv = pl.DataFrame({"label": ["p", "q"], "p5": [1.0, 2.0], "p50": [2.0, 3.0], "p95": [3.0, 4.0],
                       grp: ["a1", "b2"], "base [USD]": [2.5, 3.5]})
    svg = _svg(il.charts.interval_chart(iv, x_title="x [USD]", color=grp, point="base [USD]"))
    assert _marks(svg, "tick") == 2 and "a1" in svg and "b2" in svg
    # mix_time_chart: value column
    mix = pl.DataFrame({"mix": ["m", "m"], "part": ["language_model", "padding"], "time [d]": [1.0, 2.0]})
    assert _marks(_svg(il.charts.mix_time_chart(mix, value="time [d]")), "bar") == 2
    # serving builders: colour, group and value columns, a metric stem with a bracket
    front = pl.DataFrame({"tokens_per_s_per_user": [10.0, 20.0, 30.0],
                          "output_tokens_per_s_per_gpu": [300.0, 200.0, 100.0], grp: ["a1", "a1", "b2"]})
    svg = _svg(il.charts.serving_front_chart(front, color=grp))
    assert _marks(svg, "point") == 3 and "a1" in svg and "b2" in svg
    cost = pl.DataFrame({grp: ["a1", "b2"], val: [1.0, 2.0]})
    svg = _svg(il.charts.serving_cost_chart(cost, value=val, group=grp, x_title="cost [USD per hour]"))
    assert _marks(svg, "bar") == 2 and "a1" in svg and "b2" in svg
    m = "tok [1/s]"
    par = pl.DataFrame({"id": ["r1", "r2"], "split": ["train", "test"], "accelerator": ["MI300X", "H100"],
                        "engine": ["vllm", "vllm"], f"{m}_measured": [10.0, 20.0], f"{m}_predicted": [11.0, 19.0],
                        f"{m}_error_pct": [10.0, -5.0]})
    assert _marks(_svg(il.charts.serving_parity_chart(par, metric=m)), "point") == 2
    # gemm_efficiency_heatmap: the value column
    grid = pl.DataFrame({"m": [1, 1, 2, 2], "n": [1, 2, 1, 2], "k": [8] * 4, "eff [-]": [0.1, 0.2, 0.3, 0.4]})
    assert _marks(_svg(il.charts.gemm_efficiency_heatmap(grid, value="eff [-]")), "rect mark") == 4


LOG_AXES = {   # chart -> (its required columns, one row each; the columns on a log axis)
    "parity_chart": (ALL_NULL["parity_chart"][0], ["measured_step_time_s", "predicted_step_time_s"]),
    "fleet_check_chart": (ALL_NULL["fleet_check_chart"][0], ["published_mtbi_h_high", "predicted_mtbi_h"]),
}


@pytest.mark.parametrize("name", sorted(LOG_AXES))
@pytest.mark.parametrize("value", [0.0, -1.0])
def test_a_value_at_or_below_zero_on_a_log_axis_is_a_clear_error(name, value):
    """A zero or negative step time or MTBI crashed the charts' range arithmetic with
    ZeroDivisionError, a complex number or "math domain error" (session 43)."""
    cols, logs = LOG_AXES[name]
    good = pl.DataFrame(cols)
    for c in logs:
        bad = good.with_columns(pl.lit(value).alias(c), pl.lit("b").alias(good.columns[0]))
        with pytest.raises(ValidationError, match=rf"^{name}: {c} = {value!r} in 1 of its 2 rows; .*log axis"):
            getattr(il.charts, name)(pl.concat([good, bad]))


def test_fleet_check_chart_draws_beside_an_infinite_or_missing_mtbi():
    """An infinite MTBI (a calibration without failures) crashed the axis arithmetic with
    OverflowError; it is left off the axis like a missing one, and an "at most" bound (low = 0)
    still draws."""
    good = pl.DataFrame(ALL_NULL["fleet_check_chart"][0])
    for c in ("published_mtbi_h_low", "published_mtbi_h_high", "predicted_mtbi_h"):
        for v in (float("inf"), float("nan")):
            bad = good.with_columns(pl.lit(v).alias(c), pl.lit("b").alias("observation"))
            il.charts.fleet_check_chart(pl.concat([good, bad])).to_dict()
    at_most = good.with_columns(pl.lit(0.0).alias("published_mtbi_h_low"))
    il.charts.fleet_check_chart(at_most).to_dict()
    with pytest.raises(ValidationError, match="published_mtbi_h_low = -1.0 .* allowed >= 0"):
        il.charts.fleet_check_chart(good.with_columns(pl.lit(-1.0).alias("published_mtbi_h_low")))


@pytest.mark.parametrize("value", [0.0, -1.0, float("nan"), float("inf")])
def test_serving_parity_chart_with_a_value_a_log_axis_cannot_place(value):
    """A zero or negative serving figure crashed the band arithmetic (ZeroDivisionError, a complex
    number); NaN and ±inf rows are left out like a null one (session 43)."""
    df = pl.DataFrame({"id": ["a", "b"], "split": ["train", "test"], "accelerator": ["MI300X"] * 2,
                       "engine": ["vllm"] * 2, "ttft_s_measured": [0.1, value], "ttft_s_predicted": [0.2, 0.3]})
    if value > 0 or value != value:       # inf, NaN: drawn without that row
        spec = il.charts.serving_parity_chart(df, "ttft_s").to_dict()
        assert spec["layer"]
    else:
        with pytest.raises(ValidationError, match=rf"ttft_s_measured = {value!r} in 1 of its 2 rows; .*allowed > 0"):
            il.charts.serving_parity_chart(df, "ttft_s")
