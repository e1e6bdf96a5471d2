"""Charts of accelerators and clusters."""

from __future__ import annotations

from typing import TYPE_CHECKING

import altair as alt

from .base import require_columns, require_rows, to_altair_data, vendor_color

if TYPE_CHECKING:
    import polars as pl

__all__ = ["accelerator_bars", "peak_by_precision", "cluster_bars"]


def accelerator_bars(df: pl.DataFrame, metric: str, title: str | None = None,
                     highlight: str = "MI300X") -> alt.LayerChart:
    """Horizontal bars of one metric across accelerators, coloured by vendor.

    Parameters
    ----------
    df : frame from :func:`infra_lab.cluster.accelerator_metrics` (accelerator, vendor,
        metric, value, unit)
    metric : which metric to draw (rows with other metrics are ignored)
    highlight : accelerator drawn with a dark outline
    """
    import polars as pl

    require_columns(df, ["accelerator", "vendor", "metric", "value", "unit"], "accelerator_bars")
    require_rows(df, "accelerator_bars")   # not "unknown metric ... Valid: " with nothing valid
    sub = to_altair_data(df.filter(pl.col("metric") == metric))
    if sub.height == 0:
        from ..errors import unknown

        raise unknown("metric", metric, sorted(set(df["metric"])))
    from ..cluster import METRICS

    unit = sub["unit"][0]
    vendors = sorted(set(sub["vendor"]))
    # the axis names the quantity in words (cluster.METRICS), not the column name
    label = METRICS[metric][1] if metric in METRICS else metric.replace("_", " ")
    # bar labels keep about three significant digits: 5.3 TB/s must not print as "5"
    top = float(sub["value"].abs().max() or 0.0)
    fmt = ",.0f" if top >= 100 else ",.1f" if top >= 10 else ",.2f"
    # largest first, as an explicit order: sort="-x" on a layered chart is dropped by Vega-Lite
    # (the layers' y domains are unioned) and the bars came out in alphabetical order
    order = list(dict.fromkeys(sub.sort(["value", "accelerator"], descending=[True, False])["accelerator"]))
    base = alt.Chart(sub, title=title or f"{metric} [{unit}]")
    bars = base.mark_bar().encode(
        y=alt.Y("accelerator:N", sort=order, title=None),
        x=alt.X("value:Q", title=f"{label} [{unit}]"),
        color=alt.Color("vendor:N", scale=vendor_color(vendors), title="vendor"),
        stroke=alt.condition(alt.datum.accelerator == highlight, alt.value("black"), alt.value(None)),
        strokeWidth=alt.value(2),
        tooltip=["accelerator", "vendor", alt.Tooltip("value:Q", title=f"{label} [{unit}]", format=fmt)],
    )
    text = base.mark_text(align="left", dx=3, fontSize=10).encode(
        y=alt.Y("accelerator:N", sort=order), x="value:Q", text=alt.Text("value:Q", format=fmt)
    )
    return (bars + text).properties(width=380, height=max(120, 22 * sub.height))


PEAK_ORDER = ["fp64", "fp32", "tf32", "bf16", "fp16", "fp8", "fp4"]
"""Order of the precisions within an accelerator's group of bars (catalog.PEAK_PRECISIONS' order; a test checks)."""

_NO_BAR = {"not supported": "not supported", "no sourced figure": "no figure"}


def peak_by_precision(df: pl.DataFrame,
                      title: str = "Dense peak by precision") -> alt.LayerChart | alt.Chart:
    """Grouped bars: dense peak [TFLOP/s] by precision for several accelerators.

    A row with no peak (null ``peak_tflops``: :func:`infra_lab.catalog.peak_table` keeps every
    pair) is not dropped silently: its slot in the group is labelled with why there is no bar,
    "not supported" (the part has no instructions for the format) or "no figure" (no sourced
    peak), from the optional ``status`` column (without it, "no figure"), and a subtitle says so.

    Parameters
    ----------
    df : frame with columns accelerator, vendor, precision, peak_tflops and optionally status
        (:data:`infra_lab.catalog.PEAK_STATUSES`)
    """
    import polars as pl

    require_columns(df, ["accelerator", "vendor", "precision", "peak_tflops"], "peak_by_precision")
    data = to_altair_data(df)
    vendors = sorted(set(data["vendor"]))
    order = [p for p in PEAK_ORDER if p in set(data["precision"])] + sorted(set(data["precision"]) - set(PEAK_ORDER))
    x = alt.X("accelerator:N", title=None, sort=None)
    x_offset = alt.XOffset("precision:N", sort=order, scale=alt.Scale(domain=order))
    have = data.filter(pl.col("peak_tflops").is_not_null())
    bars = alt.Chart(have).mark_bar().encode(
        x=x, xOffset=x_offset,
        y=alt.Y("peak_tflops:Q", title="dense peak [TFLOP/s]"),
        color=alt.Color("precision:N", sort=order, scale=alt.Scale(domain=order)),
        opacity=alt.Opacity("vendor:N", scale=alt.Scale(domain=vendors, range=[1.0] * len(vendors)), legend=None),
        tooltip=["accelerator", "precision", alt.Tooltip("peak_tflops:Q", title="dense peak [TFLOP/s]", format=",.1f")],
    )
    missing = data.filter(pl.col("peak_tflops").is_null())
    if missing.height == 0:
        return bars.properties(title=title, width=480, height=260)
    status = missing["status"] if "status" in missing.columns else pl.Series(["no sourced figure"] * missing.height)
    missing = missing.with_columns(
        label=pl.Series([_NO_BAR.get(s, s or "no figure") for s in status.fill_null("no sourced figure")]),
        y0=pl.lit(0.0))
    marks = alt.Chart(missing).mark_text(angle=270, align="left", baseline="middle", dx=3, fontSize=9,
                                         color="#444").encode(
        x=x, xOffset=x_offset, y=alt.Y("y0:Q"), text="label:N",
        tooltip=["accelerator", "precision", alt.Tooltip("label:N", title="no bar")])
    kinds = sorted(set(missing["label"]))
    sub = ("no bar, labelled: " + "; ".join(
        {"not supported": "not supported = the part has no instructions for the format",
         "no figure": "no figure = no sourced peak"}.get(k, k) for k in kinds))
    return alt.layer(bars, marks).properties(title=alt.TitleParams(title, subtitle=sub), width=480, height=260)


def cluster_bars(df: pl.DataFrame, title: str = "Cluster aggregate") -> alt.Chart:
    """Bars comparing aggregate cluster quantities for several clusters.

    Parameters
    ----------
    df : frame with columns cluster, quantity, value, unit (one unit per quantity)
    """
    require_columns(df, ["cluster", "quantity", "value", "unit"], "cluster_bars")
    data = to_altair_data(df)
    return (
        alt.Chart(data, title=title)
        .mark_bar()
        .encode(
            x=alt.X("value:Q", title="value [unit in row label]"),
            y=alt.Y("cluster:N", title=None),
            color=alt.Color("cluster:N", legend=None),
            row=alt.Row("label:N", title=None, header=alt.Header(labelAngle=0, labelAlign="left")),
            tooltip=["cluster", "label:N", alt.Tooltip("value:Q", title="value [unit in the line above]", format=",.1f")],
        )
        .transform_calculate(label="datum.quantity + ' [' + datum.unit + ']'")
        .resolve_scale(x="independent")
        .properties(width=320, height=40)
    )
