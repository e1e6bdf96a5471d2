"""Economics charts: cost breakdowns, uncertainty intervals, a labelled tornado, rent vs own,
rent paths, the operator's cash flow, TCO bands, the renter's bill, price trends (Epoch data
carries its CC-BY attribution). Every axis title carries its unit."""

from __future__ import annotations

import altair as alt
import polars as pl

from .base import (
    field,
    require_columns,
    require_rows,
    require_values,
    to_altair_data,
    unit_of,
    vendor_color,
)

__all__ = [
    "cost_breakdown_chart", "interval_chart", "tornado_chart", "rent_vs_own_chart", "rent_path_chart",
    "tco_band_chart", "cashflow_chart", "bill_chart", "price_trend_chart", "price_strip_chart",
]

def _epoch_attribution() -> str:
    from ..economics import EPOCH_ATTRIBUTION

    return EPOCH_ATTRIBUTION


def cost_breakdown_chart(df: pl.DataFrame, *, title: str = "Owned cost per useful GPU-hour, by item") -> alt.Chart:
    """Stacked horizontal bars: one bar per ``case``, segments by ``component``.

    Columns: case, component, usd_per_gpu_hour.
    """
    require_columns(df, ["case", "component", "usd_per_gpu_hour"], "cost_breakdown_chart")
    d = to_altair_data(df).select("case", "component", "usd_per_gpu_hour")
    return alt.Chart(d, title=title).mark_bar().encode(
        x=alt.X("usd_per_gpu_hour:Q", title="cost [USD per useful GPU-hour]", stack="zero"),
        y=alt.Y("case:N", title=None),
        color=alt.Color("component:N", title="cost item", legend=alt.Legend(labelLimit=320)),
        tooltip=["case", "component", alt.Tooltip("usd_per_gpu_hour:Q", title="USD per GPU-hour", format=".3f")],
    ).properties(width=520)


def interval_chart(df: pl.DataFrame, *, x_title: str, title: str = "", color: str | None = None,
                   point: str | None = None) -> alt.LayerChart:
    """P5–P95 bars with the P50 as a dot, one row per ``label`` (optionally a second marker
    for ``point``, e.g. the value at the modal defaults).

    Columns: label, p5, p50, p95 (plus ``color``, e.g. vendor, and ``point`` if given).
    ``x_title`` must carry the unit. A vendor colour scale lists only vendors present.
    """
    require_columns(df, ["label", "p5", "p50", "p95"] + ([color] if color else []) + ([point] if point else []),
                    "interval_chart")
    d = to_altair_data(df).select(["label", "p5", "p50", "p95"] + ([color] if color else [])
                                  + ([point] if point else []))
    base = alt.Chart(d, title=title)
    if color == "vendor":
        enc_color = alt.Color("vendor:N", title="vendor", scale=vendor_color(sorted(set(d["vendor"].to_list()))))
    elif color:
        enc_color = alt.Color(field=field(color), type="nominal", title=color)
    else:
        enc_color = alt.value("#4C78A8")
    y = alt.Y("label:N", title=None, sort=None, axis=alt.Axis(labelLimit=360))
    rule = base.mark_rule(strokeWidth=4).encode(x=alt.X("p5:Q", title=x_title), x2="p95:Q", y=y, color=enc_color)
    dot = base.mark_point(filled=True, size=80, color="black").encode(
        x="p50:Q", y=y,
        tooltip=["label", alt.Tooltip("p5:Q", title=f"P5 {unit_of(x_title)}", format=",.3~g"),
                 alt.Tooltip("p50:Q", title=f"P50 {unit_of(x_title)}", format=",.3~g"),
                 alt.Tooltip("p95:Q", title=f"P95 {unit_of(x_title)}", format=",.3~g")])
    layers = [rule, dot]
    if point:
        layers.append(base.mark_tick(color="gray", thickness=2, size=18).encode(
            x=alt.X(field=field(point), type="quantitative"), y=y,
            tooltip=[alt.Tooltip(field=field(point), type="quantitative", title=f"{point} {unit_of(x_title)}",
                                format=",.3~g")]))
    return alt.layer(*layers).properties(width=480)


def tornado_chart(df: pl.DataFrame, *, x_title: str = "owned cost, every other input at its mode [USD per useful GPU-hour]",
                  title: str = "What moves the answer: each input at the low and high of its range") -> alt.LayerChart:
    """Tornado: one bar per input from its low-input output to its high-input output, sorted
    by swing, with a rule at the base case. Rows are named by ``label`` (human name with
    unit) when the frame has one, else ``parameter``.

    Columns: parameter (or label), output_low, output_high, output_base (as from ``economics.tornado``).
    """
    require_columns(df, ["parameter", "output_low", "output_high", "output_base"], "tornado_chart")
    require_rows(df, "tornado_chart")
    require_values(df, ["output_base"], "tornado_chart")    # the base case's rule
    name = "label" if "label" in df.columns else "parameter"
    keep = [c for c in (name, "low", "high", "output_low", "output_high", "output_base") if c in df.columns]
    d = to_altair_data(df).select(keep).with_columns(
        pl.min_horizontal("output_low", "output_high").alias("from"),
        pl.max_horizontal("output_low", "output_high").alias("to"),
        pl.when(pl.col("output_high") >= pl.col("output_low"))
        .then(pl.lit("raises it")).otherwise(pl.lit("lowers it")).alias("a higher input"),
    )
    order = d[name].to_list()
    base = alt.Chart(d, title=title)
    bars = base.mark_bar().encode(
        x=alt.X("from:Q", title=x_title, scale=alt.Scale(zero=False)), x2="to:Q",
        y=alt.Y(f"{name}:N", sort=order, title=None, axis=alt.Axis(labelLimit=400)),
        color=alt.Color("a higher input:N", title="a higher input",
                        scale=alt.Scale(domain=["raises it", "lowers it"])),
        tooltip=[alt.Tooltip(f"{name}:N", title="input"), alt.Tooltip("low:Q", title="input low [the input's unit]", format=",.4~g"),
                 alt.Tooltip("high:Q", title="input high [the input's unit]", format=",.4~g"),
                 alt.Tooltip("output_low:Q", title=f"at input low {unit_of(x_title)}", format=".3f"),
                 alt.Tooltip("output_high:Q", title=f"at input high {unit_of(x_title)}", format=".3f")]
        if "low" in d.columns else [name, alt.Tooltip("output_low:Q", title=f"at input low {unit_of(x_title)}", format=".3f"),
                                    alt.Tooltip("output_high:Q", title=f"at input high {unit_of(x_title)}", format=".3f")],
    )
    rule = alt.Chart(pl.DataFrame({"base": [float(d["output_base"][0])]})).mark_rule(color="black").encode(x="base:Q")
    return (bars + rule).properties(width=440)


def rent_vs_own_chart(df: pl.DataFrame, *, title: str = "Rent vs own: cost of a useful GPU-hour",
                      y_max: float | None = None) -> alt.Chart:
    """Lines of cost per useful GPU-hour against utilization, one per ``option``; committed
    rents dashed. ``y_max`` clips the axis (committed rents explode at low utilization).

    Columns: utilization, option, usd_per_gpu_hour (and kind, as from ``economics.rent_vs_own_curve``).
    """
    require_columns(df, ["utilization", "option", "usd_per_gpu_hour"], "rent_vs_own_chart")
    d = to_altair_data(df).select([c for c in ("utilization", "option", "kind", "usd_per_gpu_hour") if c in df.columns])
    if y_max is not None:
        d = d.filter(pl.col("usd_per_gpu_hour") <= y_max)
    return alt.Chart(d, title=title).mark_line().encode(
        x=alt.X("utilization:Q", title="utilization [fraction of calendar hours used]"),
        y=alt.Y("usd_per_gpu_hour:Q", title="cost [USD per useful GPU-hour]", scale=alt.Scale(zero=True)),
        color=alt.Color("option:N", title=None, legend=alt.Legend(labelLimit=400, orient="bottom", columns=1)),
        strokeDash=alt.StrokeDash("kind:N", title=None) if "kind" in d.columns else alt.Undefined,
        tooltip=["option", alt.Tooltip("utilization:Q", title="utilization [fraction of calendar hours]", format=".2f"),
                 alt.Tooltip("usd_per_gpu_hour:Q", title="cost [USD per useful GPU-hour]", format=".2f")],
    ).properties(width=520)


def rent_path_chart(df: pl.DataFrame, *, title: str = "The operator's rent path per GPU-hour") -> alt.Chart:
    """Price charged per sold GPU-hour against time, one line per ``case``.

    Columns: t_years, price_usd_per_gpu_hour, case.
    """
    require_columns(df, ["t_years", "price_usd_per_gpu_hour", "case"], "rent_path_chart")
    d = to_altair_data(df).select("t_years", "price_usd_per_gpu_hour", "case")
    return alt.Chart(d, title=title).mark_line().encode(
        x=alt.X("t_years:Q", title="time since purchase [years]"),
        y=alt.Y("price_usd_per_gpu_hour:Q", title="price [USD per sold GPU-hour]"),
        color=alt.Color("case:N", title=None, legend=alt.Legend(labelLimit=400)),
        tooltip=["case", alt.Tooltip("t_years:Q", title="time since purchase [years]", format=".2f"),
                 alt.Tooltip("price_usd_per_gpu_hour:Q", title="price [USD per sold GPU-hour]", format=".2f")],
    ).properties(width=520)


def tco_band_chart(df: pl.DataFrame, *, y_title: str = "cluster TCO [million USD]",
                   title: str = "Cluster TCO: P50 with the P5–P95 band") -> alt.LayerChart:
    """P5–P95 band and P50 line of a cost against horizon, one colour per ``case``; whole
    years on the axis.

    Columns: years, case, p5, p50, p95 (already in the unit of ``y_title``).
    """
    require_columns(df, ["years", "case", "p5", "p50", "p95"], "tco_band_chart")
    require_values(df, ["years"], "tco_band_chart")     # the axis's ticks are the years
    d = to_altair_data(df).select("years", "case", "p5", "p50", "p95")
    base = alt.Chart(d, title=title)
    ticks = sorted(set(float(x) for x in d["years"].to_list()))
    x = alt.X("years:Q", title="horizon [years]", axis=alt.Axis(values=ticks, format="d"))
    band = base.mark_area(opacity=0.25).encode(x=x, y=alt.Y("p5:Q", title=y_title), y2="p95:Q",
                                               color=alt.Color("case:N", title=None))
    line = base.mark_line(point=True).encode(
        x=x, y="p50:Q", color="case:N",
        tooltip=["case", alt.Tooltip("years:Q", title="horizon [years]", format=",.4~g"), alt.Tooltip("p5:Q", title=f"P5 {unit_of(y_title)}", format=",.1f"), alt.Tooltip("p50:Q", title=f"P50 {unit_of(y_title)}", format=",.1f"),
                 alt.Tooltip("p95:Q", title=f"P95 {unit_of(y_title)}", format=",.1f")])
    return (band + line).properties(width=520)


def cashflow_chart(df: pl.DataFrame, *, title: str = "Operator's cumulative cash flow per GPU (pre-tax, unlevered)") -> alt.LayerChart:
    """Cumulative cash flow per GPU against year, one line per ``case``.

    Columns: year, cumulative_usd, case.
    """
    require_columns(df, ["year", "cumulative_usd", "case"], "cashflow_chart")
    base = alt.Chart(to_altair_data(df).select("year", "cumulative_usd", "case"), title=title)
    line = base.mark_line(point=True).encode(
        x=alt.X("year:Q", title="year after purchase [years]", axis=alt.Axis(format="d", tickMinStep=1)),
        y=alt.Y("cumulative_usd:Q", title="cumulative cash flow [USD per GPU]"),
        color=alt.Color("case:N", title=None, legend=alt.Legend(labelLimit=400)),
        tooltip=["case", alt.Tooltip("year:Q", title="year after purchase [years]", format=",.4~g"),
                 alt.Tooltip("cumulative_usd:Q", title="cumulative cash flow [USD per GPU]", format=",.0f")])
    zero = alt.Chart(pl.DataFrame({"y": [0.0]})).mark_rule(color="gray").encode(y="y:Q")
    return (line + zero).properties(width=520)


def bill_chart(df: pl.DataFrame, *, title: str = "What the renter's bill paid for") -> alt.Chart:
    """One stacked bar of the bill by item [USD]. Each legend entry carries its item's amount
    and share of the bar: an item of a fraction of a percent (notebook 05's goodput losses,
    0.2 % of the bill) is a segment narrower than a pixel, which the legend listed with no
    visible mark.

    Columns: item, usd (as from ``ZyphraBill.frame()`` without the total row).
    """
    require_columns(df, ["item", "usd"], "bill_chart")
    require_values(df, ["usd"], "bill_chart")           # every legend entry is a share of the total
    d = to_altair_data(df).select("item", "usd").filter(~pl.col("item").str.starts_with("the bill"))
    total = float(d["usd"].sum())
    d = d.with_columns((pl.col("usd") / 1e6).alias("musd"))
    d = d.with_columns(pl.Series("label", [f"{i}: {m:,.3f} M USD ({u / total:.1%})" if total > 0 else f"{i}: {m:,.3f} M USD"
                                           for i, m, u in d.select("item", "musd", "usd").iter_rows()], dtype=pl.String))
    return alt.Chart(d, title=title).mark_bar().encode(
        x=alt.X("musd:Q", title="cost [million USD]", stack="zero"),
        color=alt.Color("label:N", title=None, legend=alt.Legend(labelLimit=560, orient="bottom", columns=1)),
        tooltip=["item", alt.Tooltip("musd:Q", title="cost [million USD]", format=",.3f")],
    ).properties(width=520, height=60)


def price_trend_chart(epoch: pl.DataFrame, current: pl.DataFrame | None = None, *,
                      title: str = "H100 rental price over time") -> alt.Chart:
    """Rental price per GPU-hour against date: Epoch AI's dated observations and (optionally)
    the catalog's price table, coloured by term and shaped by ``tier`` when present
    (hyperscaler / neocloud / market index). The title carries Epoch's CC-BY 4.0 attribution.

    ``epoch``: date, provider, term, price_usd_per_gpu_hour (``economics.epoch_rental_series``).
    ``current``: date_observed, provider, term, price_usd_per_gpu_hour (``economics.rental_prices``).
    """
    require_columns(epoch, ["date", "provider", "term", "price_usd_per_gpu_hour"], "price_trend_chart")
    cols = ["date", "provider", "term", "price_usd_per_gpu_hour", "source"]
    frames = [epoch.with_columns(pl.lit("Epoch AI").alias("source")).select(cols)]
    if current is not None:
        require_columns(current, ["date_observed", "provider", "term", "price_usd_per_gpu_hour"], "price_trend_chart")
        frames.append(current.rename({"date_observed": "date"}).with_columns(
            pl.lit("infra_lab price table").alias("source")).select(cols))
    d = pl.concat(frames).sort("date")
    hyper = ["Microsoft Azure", "AWS", "Google Cloud", "Oracle OCI", "Azure", "Google", "Oracle", "Amazon"]
    d = to_altair_data(d.with_columns(
        pl.when(pl.col("provider").str.starts_with("Market")).then(pl.lit("market index (contract)"))
        .when(pl.any_horizontal([pl.col("provider").str.contains(h, literal=True) for h in hyper]))
        .then(pl.lit("hyperscaler list")).otherwise(pl.lit("neocloud list")).alias("tier")))
    return alt.Chart(d, title=alt.Title(title, subtitle=[_epoch_attribution(), "and data/cloud_prices.csv (sources per row)"])
                     ).mark_point(filled=True, size=45).encode(
        x=alt.X("date:T", title="date observed"),
        y=alt.Y("price_usd_per_gpu_hour:Q", title="price [USD per GPU-hour]", scale=alt.Scale(type="log")),
        color=alt.Color("tier:N", title="market tier"),
        shape=alt.Shape("term:N", title="term"),
        tooltip=["date:T", "provider", "term", "tier",
                 alt.Tooltip("price_usd_per_gpu_hour:Q", title="price [USD per GPU-hour]", format=".2f"), "source"],
    ).properties(width=560)


def price_strip_chart(df: pl.DataFrame, *, title: str = "Listed rental prices by accelerator") -> alt.Chart:
    """Each listed price as a point, one row per accelerator, coloured by term.

    Columns: accelerator, provider, term, price_usd_per_gpu_hour (``il.catalog.cloud_prices()``).
    """
    require_columns(df, ["accelerator", "provider", "term", "price_usd_per_gpu_hour"], "price_strip_chart")
    d = to_altair_data(df).select("accelerator", "provider", "term", "price_usd_per_gpu_hour")
    return alt.Chart(d, title=title).mark_point(filled=True, size=50, opacity=0.8).encode(
        x=alt.X("price_usd_per_gpu_hour:Q", title="price [USD per GPU-hour]"),
        y=alt.Y("accelerator:N", title=None),
        color=alt.Color("term:N", title="term"),
        tooltip=["accelerator", "provider", "term", alt.Tooltip("price_usd_per_gpu_hour:Q", title="price [USD per GPU-hour]",
                                                                 format=".2f")],
    ).properties(width=520)
