"""Charts of interruptions, checkpoint intervals, goodput and run-length distributions."""

from __future__ import annotations

from typing import TYPE_CHECKING

import altair as alt

from .base import (
    gpus_tooltip,
    require_columns,
    require_positive,
    require_rows,
    require_values,
    to_altair_data,
)

if TYPE_CHECKING:
    import polars as pl

__all__ = ["run_length_histogram", "interruption_rate_bars", "goodput_vs_interval",
           "goodput_scaling", "goodput_bands_chart", "restart_sweep_chart", "fleet_check_chart",
           "save_value_chart"]


def run_length_histogram(runs: pl.DataFrame, expected_wall_h: float | None = None, *,
                         bins: int = 40,
                         title: str = "Wall-clock length of the run (Monte Carlo)") -> alt.LayerChart:
    """Histogram of run wall-clock time from :func:`infra_lab.reliability.simulate`.

    Parameters
    ----------
    runs : frame with a ``wall_h`` column [h] (one row per simulated run)
    expected_wall_h : closed-form mean drawn as a vertical rule [h]
    bins : histogram bins (computed here so the chart carries at most ``bins`` rows)
    """
    import numpy as np
    import polars as pl

    require_columns(runs, ["wall_h"], "run_length_histogram")
    require_rows(runs, "run_length_histogram", "no simulated runs")
    require_values(runs, ["wall_h"], "run_length_histogram")    # the histogram's range
    x = runs["wall_h"].to_numpy()
    lo, hi = float(x.min()), float(x.max())
    if hi <= lo:
        hi = lo + 1e-6
    counts, edges = np.histogram(x, bins=bins, range=(lo, hi))
    df = pl.DataFrame({"start_h": edges[:-1], "end_h": edges[1:], "runs": counts,
                       "share": counts / max(len(x), 1)})
    bars = alt.Chart(to_altair_data(df), title=title).mark_bar(color="#ED1C24", opacity=0.8).encode(
        x=alt.X("start_h:Q", bin="binned", title="wall-clock time of the run [h]"),
        x2="end_h:Q",
        y=alt.Y("share:Q", title="share of simulated runs [-]", axis=alt.Axis(format="%")),
        tooltip=[alt.Tooltip("start_h:Q", title="bin from [h]", format=",.1f"), alt.Tooltip("end_h:Q", title="bin to [h]", format=",.1f"),
                 alt.Tooltip("runs:Q", title="runs", format=",d")],
    )
    layers = [bars]
    if expected_wall_h is not None:
        rule = alt.Chart(pl.DataFrame({"expected_wall_h": [float(expected_wall_h)]})).mark_rule(
            color="black", strokeDash=[4, 3]).encode(
            x="expected_wall_h:Q", tooltip=[alt.Tooltip("expected_wall_h:Q", format=",.2f", title="closed form [h]")])
        layers.append(rule)
    return alt.layer(*layers).properties(width=460, height=220)


def interruption_rate_bars(rates: pl.DataFrame,
                           title: str = "Expected interruptions per day by component") -> alt.Chart:
    """Bars of interruptions per day by component class.

    Parameters
    ----------
    rates : frame from :func:`infra_lab.reliability.interruption_rates` (component_class,
        rate_per_hour [1/h]); an optional ``cluster`` column splits the bars by cluster.
        Bars are labelled with :func:`infra_lab.reliability.class_label` (NIC, HBM, link).
    """
    import polars as pl

    from ..reliability import CLASS_LABELS  # display names (NIC, HBM); the data keeps its keys

    require_columns(rates, ["component_class", "rate_per_hour"], "interruption_rate_bars")
    df = rates.with_columns((pl.col("rate_per_hour") * 24).alias("per_day"))
    if "cluster" not in df.columns:
        df = df.with_columns(pl.lit("cluster").alias("cluster"))
    df = df.with_columns(pl.col("component_class").replace_strict(CLASS_LABELS))
    df = to_altair_data(df.select("cluster", "component_class", "per_day"))
    return alt.Chart(df, title=title).mark_bar().encode(
        y=alt.Y("component_class:N", sort="-x", title="component class"),
        x=alt.X("per_day:Q", title="interruptions per day [1/day]"),
        color=alt.Color("cluster:N", title="cluster"),
        yOffset="cluster:N",
        tooltip=["cluster", alt.Tooltip("component_class:N", title="component class"), alt.Tooltip("per_day:Q", title="interruptions per day [1/day]", format=",.3f")],
    ).properties(width=380, height=alt.Step(14))


def goodput_vs_interval(sweep: pl.DataFrame,
                        title: str = "Goodput vs checkpoint interval (closed form)") -> alt.LayerChart:
    """Goodput against checkpoint interval, one line per case, optimum marked.

    Parameters
    ----------
    sweep : frame from :func:`infra_lab.reliability.interval_sweep` (case, interval_h [h],
        goodput [-], optimal [bool]); several sweeps may be concatenated
    """
    require_columns(sweep, ["case", "interval_h", "goodput", "optimal"], "goodput_vs_interval")
    df = to_altair_data(sweep)
    base = alt.Chart(df, title=title)
    line = base.mark_line().encode(
        x=alt.X("interval_h:Q", scale=alt.Scale(type="log"), title="work between checkpoints [h]"),
        y=alt.Y("goodput:Q", scale=alt.Scale(zero=False), title="goodput (useful / wall-clock) [-]",
                axis=alt.Axis(format="%")),
        color=alt.Color("case:N", title="case"),
        tooltip=["case", alt.Tooltip("interval_h:Q", title="work between checkpoints [h]", format=",.2f"),
                 alt.Tooltip("goodput:Q", title="goodput [-]", format=".2%")],
    )
    pts = base.transform_filter(alt.datum.optimal).mark_point(size=70, filled=True).encode(
        x="interval_h:Q", y="goodput:Q", color="case:N")
    return (line + pts).properties(width=460, height=240)


def goodput_scaling(table: pl.DataFrame,
                    title: str = "Goodput and interruptions vs cluster size") -> alt.HConcatChart:
    """Two panels against GPU count (log axis): goodput and interruptions per day.

    Parameters
    ----------
    table : frame from :func:`infra_lab.reliability.scaling_table` (gpus,
        interruptions_per_day [1/day], goodput [-]); an optional ``case`` column adds lines
    """
    import polars as pl

    require_columns(table, ["gpus", "interruptions_per_day", "goodput"], "goodput_scaling")
    df = table if "case" in table.columns else table.with_columns(pl.lit("default").alias("case"))
    df = to_altair_data(df.select("case", "gpus", "interruptions_per_day", "goodput"))
    x = alt.X("gpus:Q", scale=alt.Scale(type="log"), title="GPUs [-]")
    base = alt.Chart(df)
    g = base.mark_line(point=True).encode(
        x=x, y=alt.Y("goodput:Q", title="goodput [-]", axis=alt.Axis(format="%"), scale=alt.Scale(zero=False)),
        color=alt.Color("case:N", title="case"),
        tooltip=["case", gpus_tooltip(), alt.Tooltip("goodput:Q", title="goodput [-]", format=".2%")],
    ).properties(width=260, height=220, title="goodput")
    r = base.mark_line(point=True).encode(
        x=x, y=alt.Y("interruptions_per_day:Q", scale=alt.Scale(type="log"), title="interruptions per day [1/day]"),
        color="case:N", tooltip=["case", gpus_tooltip(),
                                  alt.Tooltip("interruptions_per_day:Q", title="interruptions per day [1/day]", format=",.2f")],
    ).properties(width=260, height=220, title="interruptions per day")
    return alt.hconcat(g, r, title=title)


def goodput_bands_chart(bands: pl.DataFrame,
                        title: str = "Goodput vs cluster size: bands over the swept assumptions"
                        ) -> alt.LayerChart:
    """Goodput band (min–max over the swept restart profiles and early-deployment factors)
    per calibration against GPU count, with the ``baseline`` restart profile as a line.

    Parameters
    ----------
    bands : frame from :func:`infra_lab.reliability.goodput_bands` (gpus, calibration,
        restart, early_deployment, goodput [-])
    """
    import polars as pl

    require_columns(bands, ["gpus", "calibration", "restart", "goodput"], "goodput_bands_chart")
    require_values(bands, ["gpus"], "goodput_bands_chart")     # the axis's ticks are the GPU counts
    agg = bands.group_by("gpus", "calibration").agg(
        pl.col("goodput").min().alias("goodput_min"), pl.col("goodput").max().alias("goodput_max"),
    ).sort("calibration", "gpus")
    base = bands.filter(pl.col("restart") == "baseline")
    if "early_deployment" in base.columns:
        base = base.filter(pl.col("early_deployment") == pl.col("early_deployment").min())
    base = base.select("gpus", "calibration", "goodput").sort("calibration", "gpus")
    # ticks at the swept sizes: a log axis's own ticks ran into each other (5,000 6,0007,000) and left
    # both ends of the sweep unlabelled
    x = alt.X("gpus:Q", scale=alt.Scale(type="log", domain=[agg["gpus"].min(), agg["gpus"].max()], nice=False),
              title="GPUs [-]", axis=alt.Axis(values=sorted(set(agg["gpus"].to_list())), format=","))
    area = alt.Chart(to_altair_data(agg)).mark_area(opacity=0.25).encode(
        x=x, y=alt.Y("goodput_min:Q", title="goodput (useful / wall-clock) [-]", axis=alt.Axis(format="%")),
        y2="goodput_max:Q", color=alt.Color("calibration:N", title="calibration"),
        tooltip=["calibration", gpus_tooltip(), alt.Tooltip("goodput_min:Q", title="goodput, lowest [-]", format=".1%"),
                 alt.Tooltip("goodput_max:Q", title="goodput, highest [-]", format=".1%")],
    )
    line = alt.Chart(to_altair_data(base)).mark_line(point=True).encode(
        x=x, y="goodput:Q", color="calibration:N",
        tooltip=["calibration", gpus_tooltip(),
                 alt.Tooltip("goodput:Q", format=".2%", title="goodput, baseline restart [-]")],
    )
    return (area + line).properties(width=460, height=260, title=title)


def restart_sweep_chart(sweep: pl.DataFrame, title: str | None = None) -> alt.Chart:
    """Goodput against one swept restart setting, one line per calibration.

    Parameters
    ----------
    sweep : frame from :func:`infra_lab.reliability.restart_sweep` (calibration, field,
        value [s or -], goodput [-], mean_restart_min [min])
    """
    require_columns(sweep, ["calibration", "field", "value", "goodput", "mean_restart_min"],
                    "restart_sweep_chart")
    require_rows(sweep, "restart_sweep_chart")
    field = sweep["field"][0]
    unit = "[-]" if field == "hot_spares" else "[s]"
    # "collective_timeout_s" -> "collective timeout [s]": the unit is in the brackets, not the name
    label = (field[:-2] if field.endswith("_s") else field).replace("_", " ")
    return alt.Chart(to_altair_data(sweep), title=title or f"Goodput vs {label}").mark_line(point=True).encode(
        x=alt.X("value:Q", scale=alt.Scale(type="log", domain=[sweep["value"].min(), sweep["value"].max()],
                                           nice=False), title=f"{label} {unit}"),
        y=alt.Y("goodput:Q", title="goodput [-]", axis=alt.Axis(format="%"), scale=alt.Scale(zero=False)),
        color=alt.Color("calibration:N", title="calibration"),
        tooltip=["calibration", alt.Tooltip("value:Q", title=f"{label} {unit}", format=",.0f"),
                 alt.Tooltip("mean_restart_min:Q", format=".1f", title="mean restart [min]"),
                 alt.Tooltip("goodput:Q", title="goodput [-]", format=".1%")],
    ).properties(width=420, height=240)


def fleet_check_chart(check: pl.DataFrame,
                      title: str = "Published fleet observations vs each calibration") -> alt.LayerChart:
    """Published mean time between interruptions (a black tick for a value, a grey bar for a
    range, a bar ending at the bound for an "at most" bound) and each calibration's
    prediction, per observation, log scale.

    Parameters
    ----------
    check : frame from :func:`infra_lab.reliability.fleet_check` (observation, calibration,
        published_mtbi_h_low/high [h], predicted_mtbi_h [h])
    """
    import math

    import polars as pl

    require_columns(check, ["observation", "calibration", "published_mtbi_h_low",
                            "published_mtbi_h_high", "predicted_mtbi_h"], "fleet_check_chart")
    require_rows(check, "fleet_check_chart")
    require_positive(check, ["published_mtbi_h_high", "predicted_mtbi_h"], "fleet_check_chart")
    require_positive(check, ["published_mtbi_h_low"], "fleet_check_chart", zero=True)   # 0: an "at most" bound
    pub = check.unique("observation", keep="first", maintain_order=True)
    values = pl.concat([pub["published_mtbi_h_high"], pub["published_mtbi_h_low"].filter(pub["published_mtbi_h_low"] > 0),
                        check["predicted_mtbi_h"]])
    values = values.filter(values.is_finite())     # null, NaN and ±inf have no place on the axis (±inf crashed it)
    if values.len() == 0:      # the axis's decades are set by these values
        from ..errors import ValidationError

        raise ValidationError("fleet_check_chart: no row has a published or predicted MTBI (published_mtbi_h_low, "
                              "published_mtbi_h_high and predicted_mtbi_h are all null, NaN or ±inf); nothing to draw "
                              "(the axes are set by the data)")
    lo_dom = 10 ** math.floor(math.log10(float(values.min())))
    hi_dom = 10 ** math.ceil(math.log10(float(values.max())))
    pub = pub.select(
        "observation",
        pl.when(pl.col("published_mtbi_h_low") > 0).then(pl.col("published_mtbi_h_low")).otherwise(lo_dom).alias("lo"),
        pl.col("published_mtbi_h_high").alias("hi"),
        pl.when(pl.col("published_mtbi_h_low") == 0).then(pl.lit("at most"))
        .when(pl.col("published_mtbi_h_low") < pl.col("published_mtbi_h_high")).then(pl.lit("range"))
        .otherwise(pl.lit("value")).alias("published"))
    y = alt.Y("observation:N", title=None, sort=None)
    x = alt.X("lo:Q", scale=alt.Scale(type="log", domain=[lo_dom, hi_dom], nice=False),
              axis=alt.Axis(values=[10.0 ** k for k in range(int(math.log10(lo_dom)), int(math.log10(hi_dom)) + 1)],
                            format=",~g"),
              title="mean time between interruptions [h]")
    tip = ["observation", "published", alt.Tooltip("lo:Q", format=",.1f", title="published low [h]"),
           alt.Tooltip("hi:Q", format=",.1f", title="published high [h]")]
    data = to_altair_data(pub)
    rng = alt.Chart(data).mark_rule(strokeWidth=7, opacity=0.35, color="black").encode(
        y=y, x=x, x2="hi:Q", tooltip=tip)
    tick = alt.Chart(data).mark_tick(color="black", thickness=2, size=18).encode(
        y=y, x=alt.X("hi:Q", scale=alt.Scale(type="log", domain=[lo_dom, hi_dom], nice=False)), tooltip=tip)
    pts = alt.Chart(to_altair_data(check.select("observation", "calibration", "predicted_mtbi_h"))).mark_point(
        size=80, filled=True).encode(
        y=y, x=alt.X("predicted_mtbi_h:Q", scale=alt.Scale(type="log", domain=[lo_dom, hi_dom], nice=False)),
        color=alt.Color("calibration:N", title="prediction by"), shape="calibration:N",
        tooltip=["observation", "calibration",
                 alt.Tooltip("predicted_mtbi_h:Q", title="predicted mean time between interruptions [h]", format=",.1f")])
    # the legend keys the predictions only: the subtitle keys the published marks (the chart
    # drew a grey bar and a black tick with nothing saying which is what)
    key = ["published: black tick = the value, or the high end of a range or bound;",
           "grey bar = the range (from the left edge: an 'at most' bound)"]
    return (rng + tick + pts).properties(width=440, height=alt.Step(28),
                                         title=alt.TitleParams(title, subtitle=key))


def save_value_chart(table: pl.DataFrame,
                     title: str = "What faster saves are worth vs the baseline save time"
                     ) -> alt.Chart:
    """Hours saved on the run by faster saves against the baseline blocking save time, one
    line per calibration.

    Parameters
    ----------
    table : frame from :func:`infra_lab.reliability.save_value_table` (calibration,
        baseline_save_s [s], hours_saved [h], usd_saved [USD])
    """
    require_columns(table, ["calibration", "baseline_save_s", "hours_saved", "usd_saved"], "save_value_chart")
    return alt.Chart(to_altair_data(table), title=title).mark_line(point=True).encode(
        x=alt.X("baseline_save_s:Q", scale=alt.Scale(type="log"), title="baseline blocking save [s]"),
        y=alt.Y("hours_saved:Q", title="wall-clock hours saved on the run [h]"),
        color=alt.Color("calibration:N", title="calibration"),
        tooltip=["calibration", alt.Tooltip("baseline_save_s:Q", title="baseline blocking save [s]", format=",.0f"),
                 alt.Tooltip("hours_saved:Q", title="hours saved [h]", format=",.2f"),
                 alt.Tooltip("usd_saved:Q", title="saved [USD]", format="$,.0f")],
    ).properties(width=420, height=240)
