"""Charts of the compute and memory models: rooflines, GEMM-efficiency heatmaps, memory
breakdowns, predicted-vs-measured kernel rates and efficiency curves."""

from __future__ import annotations

from typing import TYPE_CHECKING

import altair as alt

from .base import (
    accelerator_scale,
    field,
    require_columns,
    require_rows,
    require_some,
    require_values,
    signed_tooltip,
    to_altair_data,
)

if TYPE_CHECKING:
    import polars as pl

__all__ = ["roofline_chart", "gemm_efficiency_heatmap", "memory_stacked_bars", "largest_model_chart",
           "gemm_validation_chart", "compute_validation_chart", "efficiency_lines_chart"]


def roofline_chart(roof: pl.DataFrame, points: pl.DataFrame | None = None,
                   title: str = "Rooflines (dense peak, peak HBM bandwidth)") -> alt.Chart | alt.LayerChart:
    """Log-log rooflines per accelerator, with optional op points.

    Parameters
    ----------
    roof : frame from :func:`infra_lab.compute.roofline` (accelerator, vendor,
        intensity_flop_per_byte, attainable_tflops)
    points : optional frame from :func:`infra_lab.compute.roofline_points` (accelerator,
        op, op_type, intensity_flop_per_byte, achieved_tflops)
    """
    require_columns(roof, ["accelerator", "vendor", "intensity_flop_per_byte", "attainable_tflops"],
                    "roofline_chart")
    data = to_altair_data(roof)
    # the house colours, over the accelerators of the lines and of the points
    accs = data["accelerator"].to_list() + ([] if points is None else to_altair_data(points)["accelerator"].to_list())
    colors = accelerator_scale(list(dict.fromkeys(accs)))
    x = alt.X("intensity_flop_per_byte:Q", scale=alt.Scale(type="log"),
              title="arithmetic intensity [FLOP/byte]")
    # one y title for both layers (Vega-Lite joins differing layer titles with a comma)
    y_title = "attainable [TFLOP/s]" if points is None else "attainable (lines), achieved (points) [TFLOP/s]"
    y = alt.Y("attainable_tflops:Q", scale=alt.Scale(type="log"), title=y_title)
    lines = alt.Chart(data, title=title).mark_line().encode(
        x=x, y=y, color=alt.Color("accelerator:N", title="accelerator", scale=colors),
        strokeDash=alt.StrokeDash("vendor:N", title="vendor"),
        tooltip=["accelerator", alt.Tooltip("intensity_flop_per_byte:Q", title="arithmetic intensity [FLOP/byte]", format=".1f"),
                 alt.Tooltip("attainable_tflops:Q", title="attainable [TFLOP/s]", format=",.0f")])
    chart = lines
    if points is not None:
        require_columns(points, ["accelerator", "op", "op_type", "intensity_flop_per_byte",
                                 "achieved_tflops"], "roofline_chart")
        pts = alt.Chart(to_altair_data(points)).mark_point(filled=True, size=60).encode(
            x="intensity_flop_per_byte:Q",
            y=alt.Y("achieved_tflops:Q", title=y_title),
            color=alt.Color("accelerator:N", scale=colors), shape=alt.Shape("op_type:N", title="op type"),
            tooltip=["accelerator", "op", alt.Tooltip("op_type:N", title="op type"),
                     alt.Tooltip("intensity_flop_per_byte:Q", title="arithmetic intensity [FLOP/byte]", format=",.1f"),
                     alt.Tooltip("achieved_tflops:Q", title="achieved [TFLOP/s]", format=",.1f")])
        chart = lines + pts
    return chart.properties(width=520, height=340)


def gemm_efficiency_heatmap(df: pl.DataFrame, title: str | None = None,
                            value: str = "efficiency") -> alt.Chart:
    """Heatmap of GEMM efficiency (or achieved TFLOP/s) over (M, N) at one K.

    Parameters
    ----------
    df : frame from :func:`infra_lab.compute.efficiency_grid` (m, n, k, efficiency,
        achieved_tflops)
    value : "efficiency" [fraction of dense peak] or "achieved_tflops" [TFLOP/s]
    """
    require_columns(df, ["m", "n", "k", value], "gemm_efficiency_heatmap")
    import polars as pl

    data = to_altair_data(df)
    require_rows(data, "gemm_efficiency_heatmap")
    require_values(data, ["k"], "gemm_efficiency_heatmap")     # the title's K
    k = int(data["k"][0])
    # Embed only what the chart encodes, rounded below what colour and tooltip show (a 64 × 64
    # grid at full float precision was 0.44 MB of the executed notebook); K goes in the data
    # only when it varies (the title states it otherwise). One record per grid row (M, and K
    # when it varies) holds N and the values as parallel arrays that Vega-Lite flattens back
    # into one datum per cell, so field names and M are written once per row, not per cell
    # (the 64 × 64 grid: 0.30 → 0.08 MB).
    vals = [c for c in dict.fromkeys([value, "efficiency", "achieved_tflops"]) if c in data.columns]
    keys = ["m", "n"] + (["k"] if data["k"].n_unique() > 1 else [])
    data = data.select(*keys, *[pl.col(c).round(4 if c == "efficiency" else 2) for c in vals])
    row_keys = [c for c in keys if c != "n"]
    rows = data.sort(keys).group_by(row_keys, maintain_order=True).agg("n", *vals)
    label = "efficiency [fraction of dense peak]" if value == "efficiency" else "achieved [TFLOP/s]"
    key_tips = [alt.Tooltip(f"{c}:Q", title=f"{c.upper()} [elements]", format=",d") for c in keys]
    names = ["n", *vals]
    escaped = [field(c) for c in names]   # a value column named "eff [-]": escaped in, named as-is out
    flat = {"as_": names} if escaped != names else {}
    return alt.Chart(alt.Data(values=rows.to_dicts()),
                     title=title or f"GEMM efficiency over M, N at K = {k:,}").transform_flatten(
        escaped, **flat).mark_rect().encode(
        x=alt.X("n:O", title="N [elements]", axis=alt.Axis(labelOverlap=True)),
        y=alt.Y("m:O", title="M [elements]", sort="descending", axis=alt.Axis(labelOverlap=True)),
        color=alt.Color(field=field(value), type="quantitative", title=label, scale=alt.Scale(scheme="viridis")),
        tooltip=[*key_tips, alt.Tooltip("efficiency:Q", title="efficiency [fraction of dense peak]", format=".3f"),
                 alt.Tooltip("achieved_tflops:Q", title="achieved [TFLOP/s]", format=",.0f")] if "achieved_tflops" in data.columns
        else [*key_tips, alt.Tooltip(field=field(value), type="quantitative", title=label, format=".3f")],
    ).properties(width=420, height=380)


def memory_stacked_bars(df: pl.DataFrame, title: str = "Per-GPU training memory") -> alt.FacetChart:
    """Stacked bars of memory components per (model, accelerator), with a tick at the memory a
    job can address (``capacity_GB``: the driver's figure, catalog ``memory_capacity_bytes``).

    Parameters
    ----------
    df : frame from :func:`infra_lab.memory.memory_sweep` (model, accelerator, component, GB,
        capacity_GB)
    """
    require_columns(df, ["model", "accelerator", "component", "GB", "capacity_GB"], "memory_stacked_bars")
    data = to_altair_data(df)
    # zero-sized components are filtered out so the legend lists only what holds memory
    bars = alt.Chart(data).transform_filter(alt.datum.GB > 0).mark_bar().encode(
        y=alt.Y("accelerator:N", title=None),
        x=alt.X("sum(GB):Q", title="memory per GPU [GB]"),
        color=alt.Color("component:N", title="component"),
        order=alt.Order("component:N"),
        tooltip=["model", "accelerator", "component", alt.Tooltip("GB:Q", title="memory [GB]", format=",.1f")])
    cap = alt.Chart(data).mark_tick(color="black", thickness=3, size=22).encode(
        y="accelerator:N", x=alt.X("max(capacity_GB):Q"),
        tooltip=[alt.Tooltip("max(capacity_GB):Q", title="memory a job can address [GB]", format=",.1f")])
    return alt.layer(bars, cap, data=data).properties(width=420, height=90).facet(
        row=alt.Row("model:N", title=None)).properties(title=title)


def largest_model_chart(df: pl.DataFrame,
                        title: str = "The largest model that fits one GPU's memory") -> alt.LayerChart:
    """Bars of the parameters [billions] of the largest model that fits, per accelerator (one
    bar per base shape where the frame has several), labelled with its layers; a model of which
    nothing fits has no bar.

    Parameters
    ----------
    df : frame from :func:`infra_lab.memory.largest_model` (accelerator, base, layers,
        params_B, total_GB, capacity_GB)
    """
    import polars as pl

    require_columns(df, ["accelerator", "base", "layers", "params_B", "total_GB", "capacity_GB"],
                    "largest_model_chart")
    require_rows(df, "largest_model_chart")
    data = to_altair_data(df.filter(pl.col("params_B").is_not_null()).select(
        "accelerator", pl.col("base").alias("shape"), "layers", "params_B", "total_GB", "capacity_GB"))
    require_rows(data, "largest_model_chart", "no row has a model that fits")
    enc = dict(y=alt.Y("accelerator:N", title=None, sort=list(dict.fromkeys(df["accelerator"]))),
               yOffset=alt.YOffset("shape:N"),
               x=alt.X("params_B:Q", title="parameters of the largest model that fits [billions]"))
    bars = alt.Chart(data).mark_bar().encode(
        **enc, color=alt.Color("shape:N", title="shape (depth varied)"),
        tooltip=["accelerator", "shape", alt.Tooltip("layers:Q", title="layers", format=",d"),
                 alt.Tooltip("params_B:Q", title="parameters [billions]", format=",.2f"),
                 alt.Tooltip("total_GB:Q", title="memory needed [GB]", format=",.1f"),
                 alt.Tooltip("capacity_GB:Q", title="memory a job can address [GB]", format=",.1f")])
    text = alt.Chart(data).mark_text(align="left", dx=3, fontSize=10).encode(
        **enc, text=alt.Text("layers:Q", format="d"))
    return alt.layer(bars, text, data=data).properties(width=420, height=alt.Step(12), title=title)


def gemm_validation_chart(df: pl.DataFrame,
                          title: str = "GEMM model vs published max-achievable rates") -> alt.LayerChart:
    """Predicted vs published TFLOP/s, one point per published figure, with y = x.

    Parameters
    ----------
    df : frame from :func:`infra_lab.compute.gemm_validation`
    """
    require_columns(df, ["accelerator", "precision", "published_tflops", "predicted_tflops", "fitted"],
                    "gemm_validation_chart")
    import polars as pl

    require_rows(df, "gemm_validation_chart")
    require_some(df, ["published_tflops", "predicted_tflops"], "gemm_validation_chart")
    shown = ["accelerator", "precision", "m", "n", "k", "published_tflops", "predicted_tflops", "error_pct"]
    shown = [c for c in shown if c in df.columns]   # the shape and the error only where the frame has them
    data = to_altair_data(df.with_columns(
        pl.when(pl.col("fitted")).then(pl.lit("fitted")).otherwise(pl.lit("check")).alias("role")
    ).select(*shown, "role"))
    lo, hi = 0.0, float(max(data["published_tflops"].max(), data["predicted_tflops"].max())) * 1.05
    err_tip = []
    if "error_pct" in shown:
        data, tip = signed_tooltip(data, "error_pct", "error [%]")
        err_tip = [tip]
    diag = alt.Chart(pl.DataFrame({"x": [lo, hi], "y": [lo, hi]})).mark_line(
        color="gray", strokeDash=[4, 4]).encode(x="x:Q", y="y:Q")
    pts = alt.Chart(data).mark_point(filled=True, size=90).encode(
        x=alt.X("published_tflops:Q", title="published [TFLOP/s]"),
        y=alt.Y("predicted_tflops:Q", title="predicted [TFLOP/s]"),
        color=alt.Color("accelerator:N", title="accelerator",
                        scale=accelerator_scale(sorted(set(data["accelerator"].to_list())))),
        shape=alt.Shape("role:N", title="role"),
        tooltip=[c for c in ("accelerator", "precision") if c in shown]
        + [alt.Tooltip(f"{c}:Q", title=f"{c.upper()} [elements]", format=",d") for c in ("m", "n", "k") if c in shown]
        + [alt.Tooltip("published_tflops:Q", title="published [TFLOP/s]", format=",.1f"),
           alt.Tooltip("predicted_tflops:Q", title="predicted [TFLOP/s]", format=",.1f")]
        + err_tip)
    return (diag + pts).properties(width=380, height=340, title=title)


def compute_validation_chart(df: pl.DataFrame,
                             title: str = "Compute model vs published kernel measurements") -> alt.LayerChart:
    """Predicted vs measured for the compute check set (log-log, y = x dashed), colour by
    kind (gemm, grouped_gemm, attention, cast), filled = train, hollow = test.

    Parameters
    ----------
    df : frame from :func:`infra_lab.compute.validation_table` (case, kind, accelerator,
        role, measured, predicted, unit, error_pct)
    """
    require_columns(df, ["case", "kind", "accelerator", "role", "measured", "predicted", "unit", "error_pct"],
                    "compute_validation_chart")
    import polars as pl

    data = to_altair_data(df.select("case", "kind", "accelerator", "role", "measured", "predicted",
                                    "unit", "error_pct"))
    require_rows(data, "compute_validation_chart")
    require_some(data, ["measured", "predicted"], "compute_validation_chart")
    data, err_tip = signed_tooltip(data, "error_pct", "error [%]")
    lo = float(min(data["measured"].min(), data["predicted"].min())) * 0.8
    hi = float(max(data["measured"].max(), data["predicted"].max())) * 1.25
    diag = alt.Chart(pl.DataFrame({"x": [lo, hi], "y": [lo, hi]})).mark_line(
        color="gray", strokeDash=[4, 4]).encode(x="x:Q", y="y:Q")
    pts = alt.Chart(data).mark_point(size=70).encode(
        x=alt.X("measured:Q", scale=alt.Scale(type="log"), title="measured [TFLOP/s, or µs for casts]"),
        y=alt.Y("predicted:Q", scale=alt.Scale(type="log"), title="predicted [same unit]"),
        color=alt.Color("kind:N", title="kind"),
        fill=alt.condition("datum.role == 'train'", alt.Color("kind:N"), alt.value("transparent")),
        shape=alt.Shape("accelerator:N", title="accelerator"),
        tooltip=["case", "accelerator", "role", "unit",
                 alt.Tooltip("measured:Q", title="measured [TFLOP/s, or µs for casts]", format=",.1f"),
                 alt.Tooltip("predicted:Q", title="predicted [same unit]", format=",.1f"), err_tip])
    # the fill's meaning has no legend of its own: the subtitle states it (a reader saw filled and
    # hollow marks and nothing saying which were fitted)
    return (diag + pts).properties(width=420, height=360, title=alt.TitleParams(
        title, subtitle="filled: train rows (used to fit); hollow: test rows; dashed: predicted = measured"))


def efficiency_lines_chart(df: pl.DataFrame, x: str, y: str, color: str, *, dash: str | None = None,
                           x_title: str, y_title: str, title: str, log_x: bool = True) -> alt.Chart:
    """Lines of ``y`` against ``x`` per ``color`` (and ``dash``) group, with points.

    Parameters
    ----------
    df : polars frame with the named columns; x_title / y_title carry the units
    """
    cols = [x, y, color] + ([dash] if dash else [])
    require_columns(df, cols, "efficiency_lines_chart")
    data = to_altair_data(df.select(cols))
    kind = {c: "quantitative" if data[c].dtype.is_numeric() else "nominal" for c in cols}
    # escaped field names: "NPV per GPU [USD]" unescaped drew an empty chart (base.field)
    enc = dict(
        x=alt.X(field=field(x), type="quantitative", scale=alt.Scale(type="log" if log_x else "linear"), title=x_title),
        y=alt.Y(field=field(y), type="quantitative", title=y_title),
        color=alt.Color(field=field(color), type="nominal", title=color.replace("_", " ")),
        tooltip=[alt.Tooltip(field=field(c), type=kind[c], title={x: x_title, y: y_title}.get(c, c),
                             **({"format": ",.3f" if c == y else ",.4~g"} if kind[c] == "quantitative" else {}))
                 for c in cols])
    if dash:
        enc["strokeDash"] = alt.StrokeDash(field=field(dash), type="nominal", title=dash.replace("_", " "))
    return alt.Chart(data).mark_line(point=True).encode(**enc).properties(width=460, height=300, title=title)
