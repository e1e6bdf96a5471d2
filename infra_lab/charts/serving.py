"""Charts of the serving model: throughput–interactivity fronts, where an engine cycle goes,
predicted vs published serving benchmarks, cost per million tokens."""

from __future__ import annotations

import altair as alt
import polars as pl

from .base import (
    accelerator_scale,
    field,
    require_columns,
    require_positive,
    require_rows,
    signed_tooltip,
    to_altair_data,
)

__all__ = ["serving_front_chart", "serving_breakdown_chart", "serving_parity_chart", "serving_cost_chart"]

_FRONT_TIPS = {
    **{c: alt.Tooltip(f"{c}:Q", title=c, format=",d") for c in ("tp", "pp", "dp", "ep")},
    "weight_precision": alt.Tooltip("weight_precision:N", title="weights"),
    "kv_precision": alt.Tooltip("kv_precision:N", title="KV cache"),
    "concurrency": alt.Tooltip("concurrency:Q", title="concurrency [requests]", format=",d"),
    "ttft_s": alt.Tooltip("ttft_s:Q", title="TTFT [s]", format=",.3f"),
    "usd_per_million_output_tokens_all_in": alt.Tooltip("usd_per_million_output_tokens_all_in:Q",
                                                        title="cost [USD per million output tokens, all in]",
                                                        format="$,.3f"),
}
"""The optional tooltip lines of :func:`serving_front_chart`, each formatted and titled with its unit."""


def serving_front_chart(df: pl.DataFrame, color: str = "accelerator",
                        title: str = "Throughput against interactivity (Pareto fronts)") -> alt.Chart:
    """Lines of output tokens/s per GPU against tokens/s per user, one per ``color`` value.

    Parameters
    ----------
    df : rows of :func:`infra_lab.serve_search` (columns tokens_per_s_per_user,
        output_tokens_per_s_per_gpu, and ``color``); tp, dp, ep, weight_precision,
        concurrency are shown in the tooltip when present; a null in the two axis columns
        (a front of one-output-token requests, which have no TPOT) is refused by name, not
        left out of the drawing
    """
    require_columns(df, ["tokens_per_s_per_user", "output_tokens_per_s_per_gpu", color], "serving_front_chart",
                    {color: "color"})
    for col in ("tokens_per_s_per_user", "output_tokens_per_s_per_gpu"):   # a null point is not drawn
        if df[col].null_count():
            from ..errors import ValidationError

            raise ValidationError(
                f"serving_front_chart: column {col!r} has {df[col].null_count()} null value(s)"
                + (" (requests of one output token have no TPOT: il.serving.tpot_defined; their front is "
                   "throughput against ttft_s)" if col == "tokens_per_s_per_user" else "")
                + "; expected numbers in every row")
    tips = [_FRONT_TIPS[c] for c in _FRONT_TIPS if c in df.columns]
    data = to_altair_data(df.sort([color, "tokens_per_s_per_user"]))
    groups = list(dict.fromkeys(df[color].to_list()))
    scale = accelerator_scale(groups) if color == "accelerator" else alt.Scale(scheme="tableau10")
    return alt.Chart(data, title=title).mark_line(point=True).encode(
        x=alt.X("tokens_per_s_per_user:Q", title="interactivity [tokens/s per user]", scale=alt.Scale(zero=False)),
        y=alt.Y("output_tokens_per_s_per_gpu:Q", title="throughput [output tokens/s per GPU]"),
        color=alt.Color(field=field(color), type="nominal", scale=scale, title=color),
        tooltip=[alt.Tooltip(field=field(color), type="nominal", title=color),
                 alt.Tooltip("tokens_per_s_per_user:Q", title="interactivity [tokens/s per user]", format=",.1f"),
                 alt.Tooltip("output_tokens_per_s_per_gpu:Q", title="throughput [output tokens/s per GPU]", format=",.0f"),
                 *tips],
    ).properties(width=460, height=300)


def serving_breakdown_chart(df: pl.DataFrame, title: str = "Where an engine cycle goes") -> alt.Chart:
    """Stacked bars of :attr:`infra_lab.serving.ServeResult.breakdown` (component, seconds),
    one per ``run`` when the frame has a run column."""
    if "run" not in df.columns:
        df = df.with_columns(pl.lit("cycle").alias("run"))
    require_columns(df, ["run", "component", "seconds"], "serving_breakdown_chart")
    data = to_altair_data(df.filter(pl.col("seconds") > 0).with_columns((pl.col("seconds") * 1e3).alias("ms")))
    runs = list(dict.fromkeys(df["run"].to_list()))
    return alt.Chart(data, title=title).mark_bar().encode(
        y=alt.Y("run:N", sort=runs, title=None),
        x=alt.X("sum(ms):Q", title="time per engine cycle [ms]"),
        color=alt.Color("component:N", title="component"),
        tooltip=["run", "component", alt.Tooltip("ms:Q", format=",.2f", title="time per engine cycle [ms]")],
    ).properties(width=460, height=max(60, 26 * len(runs)))


_METRIC_NAMES = {"output_tokens_per_s_per_gpu": "output per GPU", "tpot_s": "TPOT", "ttft_s": "TTFT",
                 "e2e_latency_s": "end-to-end latency"}
"""Axis name of each validated serving metric (:func:`serving_parity_chart`; the unit is the
serving validation's own, ``infra_lab.serving.published._METRIC_UNITS``)."""


def serving_parity_chart(df: pl.DataFrame, metric: str = "output_tokens_per_s_per_gpu",
                         title: str | None = None) -> alt.LayerChart:
    """Log-log parity of :func:`infra_lab.serving.validation` for one metric, with y = x and
    bands at the metric's validation bounds (:data:`infra_lab.serving.published.VALIDATION_BOUNDS`:
    median and worst |error|, ±15 % / ±40 % for output tokens/s per GPU; none for a metric without
    bounds); colour = accelerator, shape = split (train / test)."""
    from ..serving.published import _METRIC_UNITS, VALIDATION_BOUNDS

    meas, pred = f"{metric}_measured", f"{metric}_predicted"
    name, unit = _METRIC_NAMES.get(metric, metric.replace("_", " ")), _METRIC_UNITS.get(metric, "-")
    require_columns(df, ["id", "split", "accelerator", "engine", meas, pred], "serving_parity_chart")
    sub = df.filter(pl.col(meas).is_finite() & pl.col(pred).is_finite())   # null, NaN, ±inf: not drawn
    require_rows(sub, "serving_parity_chart", f"no row has both {meas} and {pred}")
    require_positive(sub, [meas, pred], "serving_parity_chart")
    data, err_tip = to_altair_data(sub), []
    if f"{metric}_error_pct" in data.columns:
        data, tip = signed_tooltip(data, f"{metric}_error_pct", "error [%]")
        err_tip = [tip]
    lo = float(min(sub[meas].min(), sub[pred].min())) * 0.8
    hi = float(max(sub[meas].max(), sub[pred].max())) * 1.25
    xs = [lo * (hi / lo) ** (i / 24) for i in range(25)]
    pcts = sorted(set(VALIDATION_BOUNDS.get(metric, {}).values()), reverse=True)   # widest band drawn first
    band = pl.DataFrame({"x": xs, "y": xs, **{f"lo{i}": [x * (1 - p / 100) for x in xs] for i, p in enumerate(pcts)},
                         **{f"hi{i}": [x * (1 + p / 100) for x in xs] for i, p in enumerate(pcts)}})
    sx = alt.Scale(type="log", domain=[lo, hi])
    base = alt.Chart(band)
    areas = [base.mark_area(opacity=0.12 if i == 0 and len(pcts) > 1 else 0.2, color="gray").encode(
        x=alt.X("x:Q", scale=sx), y=f"lo{i}:Q", y2=f"hi{i}:Q") for i in range(len(pcts))]
    line = base.mark_line(color="black", strokeDash=[4, 3]).encode(x=alt.X("x:Q", scale=sx), y=alt.Y("y:Q", scale=sx))
    accs = sorted(set(sub["accelerator"].to_list()))
    pts = alt.Chart(data).mark_point(filled=True, size=50).encode(
        x=alt.X(field=field(meas), type="quantitative", scale=sx, title=f"measured {name} [{unit}]"),
        y=alt.Y(field=field(pred), type="quantitative", scale=sx, title=f"predicted {name} [{unit}]"),
        color=alt.Color("accelerator:N", scale=accelerator_scale(accs), title="accelerator"),
        shape=alt.Shape("split:N", title="split"),
        tooltip=["id", "engine", "split",
                 alt.Tooltip(field=field(meas), type="quantitative", title=f"measured {name} [{unit}]", format=",.4g"),
                 alt.Tooltip(field=field(pred), type="quantitative", title=f"predicted {name} [{unit}]", format=",.4g"),
                 *err_tip],
    )
    bands = f" (bands {', '.join(f'±{p:g} %' for p in sorted(pcts))})" if pcts else ""
    t = title or f"Predicted vs published: {name}{bands}"
    return alt.layer(*areas, line, pts).properties(width=420, height=380, title=t)


def serving_cost_chart(df: pl.DataFrame, value: str = "usd_per_task", group: str = "accelerator",
                       title: str = "Cost per agent task", x_title: str | None = None) -> alt.Chart:
    """Horizontal bars of a cost column per ``group`` (one bar each), vendor-coloured.
    ``x_title`` (default: from a ``usd_per_<what>`` column's name, "cost [USD per <what>]")
    names the axis with its unit in brackets."""
    require_columns(df, [group, value], "serving_cost_chart")
    data = to_altair_data(df)
    groups = df[group].to_list()
    return alt.Chart(data, title=title).mark_bar().encode(
        y=alt.Y(field=field(group), type="nominal", sort=groups, title=None),
        x=alt.X(field=field(value), type="quantitative", title=x_title or _cost_axis_title(value)),
        color=alt.Color(field=field(group), type="nominal", scale=accelerator_scale(groups) if group == "accelerator"
                        else alt.Scale(scheme="tableau10"), legend=None),
        tooltip=[alt.Tooltip(field=field(group), type="nominal", title=group),
                 alt.Tooltip(field=field(value), type="quantitative", title=x_title or _cost_axis_title(value), format=",.4g")],
    ).properties(width=420, height=max(60, 26 * len(groups)))


def _cost_axis_title(value: str) -> str:
    """An axis title with its unit from a cost column's name: ``usd_per_task`` -> "cost [USD
    per task]", ``usd_per_million_output_tokens`` -> "cost [USD per million output tokens]"."""
    if value.startswith("usd_per_"):
        return f"cost [USD per {value[len('usd_per_'):].replace('_', ' ')}]"
    return f"{value.replace('_', ' ')} [-]"
