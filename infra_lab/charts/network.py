"""Network charts: busbw against message size, scaling with cluster size, ECMP vs spraying
distributions and fabric comparisons. Each takes a polars DataFrame and returns an
``alt.Chart``; the frames come from :mod:`infra_lab.collectives` and :mod:`infra_lab.fabric`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import altair as alt

from .base import field, gpus_tooltip, require_columns, signed_tooltip, to_altair_data

if TYPE_CHECKING:
    import polars as pl

__all__ = ["busbw_vs_size_chart", "scaling_chart", "routing_distribution_chart",
           "fabric_comparison_chart", "validation_chart"]

# A log2 message-size axis labelled as nccl-tests prints sizes (B, KiB, MiB, GiB) instead of raw byte
# counts ("1,073,741,824"), every other power of four so the labels do not run into each other; the end
# labels centred on their ticks (not flush) and 4 px kept between labels ("4 GiB16 GiB" touched).
_SIZE_AXIS = alt.Axis(
    values=[4.0**e for e in range(0, 20)], labelOverlap="greedy", labelSeparation=4, labelFlush=False,
    labelExpr=("datum.value >= 1073741824 ? format(datum.value / 1073741824, '~g') + ' GiB' : "
               "datum.value >= 1048576 ? format(datum.value / 1048576, '~g') + ' MiB' : "
               "datum.value >= 1024 ? format(datum.value / 1024, '~g') + ' KiB' : format(datum.value, '~g') + ' B'"))


def busbw_vs_size_chart(df: pl.DataFrame, color: str = "series",
                        title: str = "Bus bandwidth vs message size") -> alt.Chart | alt.LayerChart:
    """Log-log busbw [GB/s] against message size [bytes], one line per ``color`` value.

    Needs columns size_bytes, busbw_GBps and ``color`` (e.g. "series" = "8×MI300X auto").
    An optional column ``ceiling_GBps`` is drawn as dashed rules (the link-bound ceiling).
    """
    require_columns(df, ["size_bytes", "busbw_GBps", color], "busbw_vs_size_chart", {color: "color"})
    keep = [c for c in ("size_bytes", "busbw_GBps", color, "chosen", "protocol", "ceiling_GBps") if c in df.columns]
    df = to_altair_data(df.select(list(dict.fromkeys(keep))))
    base = alt.Chart(df).encode(
        x=alt.X("size_bytes:Q", scale=alt.Scale(type="log", base=2), title="Message size S [bytes]", axis=_SIZE_AXIS),
        color=alt.Color(field=field(color), type="nominal", title=color.replace("_", " ")),
    )
    lines = base.mark_line(point=True).encode(
        y=alt.Y("busbw_GBps:Q", scale=alt.Scale(type="log"), title="Bus bandwidth busbw [GB/s]"),
        tooltip=[alt.Tooltip(field=field(color), type="nominal", title=color),
                 alt.Tooltip("size_bytes:Q", title="size [bytes]", format=",.0f"),
                 alt.Tooltip("busbw_GBps:Q", title="busbw [GB/s]", format=".1f")]
        + (["chosen"] if "chosen" in df.columns else []) + (["protocol"] if "protocol" in df.columns else []),
    )
    chart = lines
    if "ceiling_GBps" in df.columns:
        rules = alt.Chart(df.unique(subset=[color])).mark_rule(strokeDash=[4, 4]).encode(
            y="ceiling_GBps:Q", color=alt.Color(field=field(color), type="nominal"))
        chart = alt.layer(lines, rules)
    return chart.properties(title=title, width=520, height=300)


def scaling_chart(df: pl.DataFrame, y: str = "busbw_GBps", color: str = "series",
                  title: str = "Collective bandwidth as the cluster grows") -> alt.Chart:
    """``y`` against GPUs [-] on a log axis; columns gpus, ``y``, ``color``."""
    require_columns(df, ["gpus", y, color], "scaling_chart", {y: "y", color: "color"})
    df = to_altair_data(df.select([c for c in ("gpus", y, color, "chosen") if c in df.columns]))
    ytitle = {"busbw_GBps": "Bus bandwidth busbw [GB/s]", "time_ms": "Time [ms]",
              "algbw_GBps": "Algorithm bandwidth algbw [GB/s]"}.get(y, y)
    return alt.Chart(df).mark_line(point=True).encode(
        x=alt.X("gpus:Q", scale=alt.Scale(type="log", base=2), title="GPUs in the collective [-]"),
        y=alt.Y(field=field(y), type="quantitative", title=ytitle),
        color=alt.Color(field=field(color), type="nominal", title=color.replace("_", " ")),
        tooltip=[gpus_tooltip(), alt.Tooltip(field=field(color), type="nominal", title=color),
                 alt.Tooltip(field=field(y), type="quantitative", title=ytitle, format=".2f")]
        + (["chosen"] if "chosen" in df.columns else []),
    ).properties(title=title, width=520, height=300)


def routing_distribution_chart(df: pl.DataFrame,
                               title: str = "Step efficiency over hash seeds") -> alt.Chart:
    """Histogram of step efficiency (ideal / achieved time) per routing; columns routing,
    efficiency (one row per Monte Carlo seed, from :func:`infra_lab.fabric.monte_carlo`)."""
    require_columns(df, ["routing", "efficiency"], "routing_distribution_chart")
    df = to_altair_data(df)
    return alt.Chart(df).mark_bar(opacity=0.7).encode(
        x=alt.X("efficiency:Q", bin=alt.Bin(maxbins=40, extent=[0, 1.0001]),
                title="Step efficiency η = ideal time / achieved time [-]"),
        y=alt.Y("count():Q", stack=None, title="Hash seeds [count]"),
        color=alt.Color("routing:N", title="routing"),
        tooltip=["routing", alt.Tooltip("count():Q", title="hash seeds [count]", format=",d")],
    ).properties(title=title, width=520, height=260)


def fabric_comparison_chart(df: pl.DataFrame, y: str = "time_ms",
                            title: str = "Fabric comparison") -> alt.Chart:
    """Grouped bars: ``y`` per fabric and workload; columns fabric, workload, ``y``."""
    require_columns(df, ["fabric", "workload", y], "fabric_comparison_chart")
    df = to_altair_data(df)
    ytitle = {"time_ms": "Completion time [ms]", "switches": "Switches [count]",
              "busbw_GBps": "Bus bandwidth busbw [GB/s]"}.get(y, y)
    return alt.Chart(df).mark_bar().encode(
        x=alt.X("fabric:N", title="Fabric"),
        xOffset="workload:N",
        y=alt.Y(field=field(y), type="quantitative", title=ytitle),
        color=alt.Color("workload:N", title="workload"),
        tooltip=["fabric", "workload", alt.Tooltip(field=field(y), type="quantitative", title=ytitle, format=".3f")],
    ).properties(title=title, width=420, height=260)


def validation_chart(df: pl.DataFrame,
                     title: str = "Model vs published nccl-tests / rccl-tests bus bandwidth") -> alt.LayerChart:
    """Signed error [%] of the modelled busbw against each published result, by message size;
    columns size_bytes, error_pct, accelerator, library, split, use (from
    :func:`infra_lab.collectives.validation_table`). Shaded band: ±10 %; training rows hollow."""
    import polars as pl

    require_columns(df, ["size_bytes", "error_pct", "accelerator", "library", "split", "use"], "validation_chart")
    df = df.filter(pl.col("error_pct").is_not_null() & (pl.col("use") == "validate"))
    cols = ["case", "op", "requested", "chosen", "protocol", "size_bytes", "measured_GBps", "predicted_GBps",
            "error_pct", "split"]
    shown = [c for c in cols if c in df.columns]   # the case, op and algorithm only where the frame has them
    data = to_altair_data(df.with_columns(series=pl.col("library").str.to_uppercase() + " " + pl.col("accelerator"))
                          .select(shown + ["series"]))
    data, err_tip = signed_tooltip(data, "error_pct", "error [%]")
    band = alt.Chart(to_altair_data(pl.DataFrame({"lo": [-10.0], "hi": [10.0]}))).mark_rect(opacity=0.12).encode(
        y="lo:Q", y2="hi:Q")
    pts = alt.Chart(data).mark_point(size=45).encode(
        x=alt.X("size_bytes:Q", scale=alt.Scale(type="log", base=2), title="Message size S [bytes]", axis=_SIZE_AXIS),
        y=alt.Y("error_pct:Q", title="Model error vs measured busbw [%]"),
        color=alt.Color("series:N", title="library, GPU"),
        shape=alt.Shape("split:N", title="split"),
        tooltip=[c for c in ("case", "op", "requested", "chosen", "protocol") if c in shown]
        + ([alt.Tooltip("size_bytes:Q", title="size [bytes]", format=",.0f")] if "size_bytes" in shown else [])
        + [alt.Tooltip(f"{c}:Q", title=f"{c.split('_')[0]} busbw [GB/s]", format=".1f")
           for c in ("measured_GBps", "predicted_GBps") if c in shown]
        + [err_tip, "split"],
    )
    return alt.layer(band, pts).properties(title=title, width=560, height=300)
