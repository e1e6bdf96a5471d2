"""Economics charts: cost breakdowns, uncertainty intervals, tornado, rent vs own, TCO bands,
the operator's cash flow, rental-price trends (Epoch data carries its CC-BY attribution)."""

from __future__ import annotations

import altair as alt
import polars as pl

from .base import require_columns, to_altair_data, vendor_color

__all__ = [
    "cost_breakdown_chart", "interval_chart", "tornado_chart", "rent_vs_own_chart",
    "tco_band_chart", "cashflow_chart", "price_trend_chart", "price_strip_chart",
]

_EPOCH = ("Data: Epoch AI, 'Hardware prices', training-cost-trends "
          "(https://github.com/epoch-research/training-cost-trends), CC-BY 4.0")


def cost_breakdown_chart(df: pl.DataFrame, *, title: str = "Owned cost per useful GPU-hour") -> alt.Chart:
    """Stacked horizontal bars: one bar per ``case``, segments by ``component``.

    Columns: case, component, usd_per_gpu_hour.
    """
    require_columns(df, ["case", "component", "usd_per_gpu_hour"], "cost_breakdown_chart")
    return alt.Chart(to_altair_data(df), title=title).mark_bar().encode(
        x=alt.X("usd_per_gpu_hour:Q", title="cost [USD per useful GPU-hour]", stack="zero"),
        y=alt.Y("case:N", title=None),
        color=alt.Color("component:N", title="component"),
        tooltip=["case", "component", alt.Tooltip("usd_per_gpu_hour:Q", format=".3f")],
    ).properties(width=520)


def interval_chart(df: pl.DataFrame, *, x_title: str, title: str = "",
                   color: str | None = None) -> alt.Chart:
    """P5–P95 bars with the P50 as a point, one row per ``label``.

    Columns: label, p5, p50, p95 (plus ``color`` if given, e.g. vendor). ``x_title`` must
    carry the unit.
    """
    require_columns(df, ["label", "p5", "p50", "p95"] + ([color] if color else []), "interval_chart")
    base = alt.Chart(to_altair_data(df), title=title)
    enc_color = (alt.Color(f"{color}:N", title=color, scale=vendor_color() if color == "vendor" else alt.Undefined)
                 if color else alt.value("#4C78A8"))
    y = alt.Y("label:N", title=None, sort=None)
    rule = base.mark_rule(strokeWidth=3).encode(
        x=alt.X("p5:Q", title=x_title), x2="p95:Q", y=y, color=enc_color)
    pt = base.mark_point(filled=True, size=70, color="black").encode(
        x="p50:Q", y=y,
        tooltip=["label", alt.Tooltip("p5:Q", format=",.3g"), alt.Tooltip("p50:Q", format=",.3g"),
                 alt.Tooltip("p95:Q", format=",.3g")])
    return (rule + pt).properties(width=480)


def tornado_chart(df: pl.DataFrame, *, x_title: str = "owned cost [USD per useful GPU-hour]",
                  title: str = "One-at-a-time sensitivity (low / high of each range)") -> alt.Chart:
    """Tornado: one bar per parameter from its low-input output to its high-input output,
    sorted by swing, with a rule at the base case.

    Columns: parameter, output_low, output_high, output_base (as from ``economics.tornado``).
    """
    require_columns(df, ["parameter", "output_low", "output_high", "output_base"], "tornado_chart")
    d = to_altair_data(df).with_columns(
        pl.min_horizontal("output_low", "output_high").alias("from"),
        pl.max_horizontal("output_low", "output_high").alias("to"),
        pl.when(pl.col("output_high") >= pl.col("output_low"))
        .then(pl.lit("raises it")).otherwise(pl.lit("lowers it")).alias("a higher input"),
    )
    order = d["parameter"].to_list()
    base = alt.Chart(d, title=title)
    bars = base.mark_bar().encode(
        x=alt.X("from:Q", title=x_title, scale=alt.Scale(zero=False)), x2="to:Q",
        y=alt.Y("parameter:N", sort=order, title=None),
        color=alt.Color("a higher input:N", title="a higher input",
                        scale=alt.Scale(domain=["raises it", "lowers it"])),
        tooltip=["parameter", alt.Tooltip("output_low:Q", format=".3f"),
                 alt.Tooltip("output_high:Q", format=".3f")],
    )
    rule = alt.Chart(pl.DataFrame({"base": [float(d["output_base"][0])]})).mark_rule(
        color="black").encode(x="base:Q")
    return (bars + rule).properties(width=480)


def rent_vs_own_chart(df: pl.DataFrame, *, title: str = "Rent vs own: cost of a useful GPU-hour") -> alt.Chart:
    """Lines of cost per useful GPU-hour against utilization, one per ``option``.

    Columns: utilization, option, usd_per_gpu_hour (as from ``economics.rent_vs_own_curve``).
    """
    require_columns(df, ["utilization", "option", "usd_per_gpu_hour"], "rent_vs_own_chart")
    return alt.Chart(to_altair_data(df), title=title).mark_line().encode(
        x=alt.X("utilization:Q", title="utilization [fraction of calendar hours]"),
        y=alt.Y("usd_per_gpu_hour:Q", title="cost [USD per useful GPU-hour]",
                scale=alt.Scale(zero=True)),
        color=alt.Color("option:N", title=None),
        strokeDash=alt.StrokeDash("kind:N", title=None) if "kind" in df.columns else alt.Undefined,
        tooltip=["option", alt.Tooltip("utilization:Q", format=".2f"),
                 alt.Tooltip("usd_per_gpu_hour:Q", format=".2f")],
    ).properties(width=520)


def tco_band_chart(df: pl.DataFrame, *, y_title: str = "cluster TCO [million USD]",
                   title: str = "Cluster TCO: P50 with the P5–P95 band") -> alt.Chart:
    """P5–P95 band and P50 line of a cost against horizon, one colour per ``case``.

    Columns: years, case, p5, p50, p95 (already in the unit of ``y_title``).
    """
    require_columns(df, ["years", "case", "p5", "p50", "p95"], "tco_band_chart")
    base = alt.Chart(to_altair_data(df), title=title)
    x = alt.X("years:Q", title="horizon [years]")
    band = base.mark_area(opacity=0.25).encode(x=x, y=alt.Y("p5:Q", title=y_title), y2="p95:Q",
                                               color=alt.Color("case:N", title=None))
    line = base.mark_line(point=True).encode(
        x=x, y="p50:Q", color="case:N",
        tooltip=["case", "years", alt.Tooltip("p5:Q", format=",.1f"), alt.Tooltip("p50:Q", format=",.1f"),
                 alt.Tooltip("p95:Q", format=",.1f")])
    return (band + line).properties(width=520)


def cashflow_chart(df: pl.DataFrame, *, title: str = "Operator's cumulative cash flow per GPU") -> alt.Chart:
    """Cumulative cash flow per GPU against year, one line per ``case``.

    Columns: year, cumulative_usd, case.
    """
    require_columns(df, ["year", "cumulative_usd", "case"], "cashflow_chart")
    base = alt.Chart(to_altair_data(df), title=title)
    line = base.mark_line(point=True).encode(
        x=alt.X("year:Q", title="year [years after purchase]"),
        y=alt.Y("cumulative_usd:Q", title="cumulative cash flow [USD per GPU]"),
        color=alt.Color("case:N", title=None),
        tooltip=["case", "year", alt.Tooltip("cumulative_usd:Q", format=",.0f")])
    zero = alt.Chart(pl.DataFrame({"y": [0.0]})).mark_rule(color="gray").encode(y="y:Q")
    return (line + zero).properties(width=520)


def price_trend_chart(epoch: pl.DataFrame, current: pl.DataFrame | None = None, *,
                      title: str = "H100 rental price over time") -> alt.Chart:
    """Rental price per GPU-hour against date: Epoch AI's dated observations and (optionally)
    the catalog's current price table. The title carries Epoch's CC-BY 4.0 attribution.

    ``epoch``: date, provider, term, price_usd_per_gpu_hour (``economics.epoch_rental_series``).
    ``current``: date_observed, provider, term, price_usd_per_gpu_hour (``economics.rental_prices``).
    """
    require_columns(epoch, ["date", "provider", "term", "price_usd_per_gpu_hour"], "price_trend_chart")
    cols = ["date", "provider", "term", "price_usd_per_gpu_hour", "source"]
    e = epoch.with_columns(pl.lit("Epoch AI").alias("source")).select(cols)
    frames = [e]
    if current is not None:
        require_columns(current, ["date_observed", "provider", "term", "price_usd_per_gpu_hour"],
                        "price_trend_chart")
        frames.append(current.rename({"date_observed": "date"}).with_columns(
            pl.lit("infra_lab price table").alias("source")).select(cols))
    d = to_altair_data(pl.concat(frames).sort("date"))
    return alt.Chart(d, title=alt.Title(title, subtitle=[_EPOCH, "and data/cloud_prices.csv (sources per row)"])
                     ).mark_point(filled=True, size=45).encode(
        x=alt.X("date:T", title="date observed"),
        y=alt.Y("price_usd_per_gpu_hour:Q", title="price [USD per GPU-hour]", scale=alt.Scale(type="log")),
        color=alt.Color("term:N", title="term"),
        shape=alt.Shape("source:N", title="source"),
        tooltip=["date:T", "provider", "term", alt.Tooltip("price_usd_per_gpu_hour:Q", format=".2f"), "source"],
    ).properties(width=560)


def price_strip_chart(df: pl.DataFrame, *, title: str = "Listed rental prices by accelerator") -> alt.Chart:
    """Each listed price as a point, one row per accelerator, coloured by term.

    Columns: accelerator, provider, term, price_usd_per_gpu_hour (``il.catalog.cloud_prices()``).
    """
    require_columns(df, ["accelerator", "provider", "term", "price_usd_per_gpu_hour"], "price_strip_chart")
    return alt.Chart(to_altair_data(df), title=title).mark_point(filled=True, size=50, opacity=0.8).encode(
        x=alt.X("price_usd_per_gpu_hour:Q", title="price [USD per GPU-hour]"),
        y=alt.Y("accelerator:N", title=None),
        color=alt.Color("term:N", title="term"),
        tooltip=["accelerator", "provider", "term", alt.Tooltip("price_usd_per_gpu_hour:Q", format=".2f")],
    ).properties(width=520)
