"""Charts of interruptions, checkpoint intervals, goodput and run-length distributions."""

from __future__ import annotations

import altair as alt

from .base import require_columns, to_altair_data

__all__ = ["run_length_histogram", "interruption_rate_bars", "goodput_vs_interval",
           "goodput_scaling"]


def run_length_histogram(runs, expected_wall_h: float | None = None, *, bins: int = 40,
                         title: str = "Wall-clock length of the run (Monte Carlo)") -> alt.Chart:
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
        tooltip=[alt.Tooltip("start_h:Q", format=",.1f"), alt.Tooltip("end_h:Q", format=",.1f"), "runs:Q"],
    )
    layers = [bars]
    if expected_wall_h is not None:
        rule = alt.Chart(pl.DataFrame({"expected_wall_h": [float(expected_wall_h)]})).mark_rule(
            color="black", strokeDash=[4, 3]).encode(
            x="expected_wall_h:Q", tooltip=[alt.Tooltip("expected_wall_h:Q", format=",.2f", title="closed form [h]")])
        layers.append(rule)
    return alt.layer(*layers).properties(width=460, height=220)


def interruption_rate_bars(rates, title: str = "Expected interruptions per day by component") -> alt.Chart:
    """Bars of interruptions per day by component class.

    Parameters
    ----------
    rates : frame from :func:`infra_lab.reliability.interruption_rates` (component_class,
        rate_per_hour [1/h]); an optional ``cluster`` column splits the bars by cluster
    """
    import polars as pl

    require_columns(rates, ["component_class", "rate_per_hour"], "interruption_rate_bars")
    df = rates.with_columns((pl.col("rate_per_hour") * 24).alias("per_day"))
    if "cluster" not in df.columns:
        df = df.with_columns(pl.lit("cluster").alias("cluster"))
    df = to_altair_data(df.select("cluster", "component_class", "per_day"))
    return alt.Chart(df, title=title).mark_bar().encode(
        y=alt.Y("component_class:N", sort="-x", title="component class"),
        x=alt.X("per_day:Q", title="interruptions per day [1/day]"),
        color=alt.Color("cluster:N", title="cluster"),
        yOffset="cluster:N",
        tooltip=["cluster", "component_class", alt.Tooltip("per_day:Q", format=",.3f")],
    ).properties(width=380, height=alt.Step(14))


def goodput_vs_interval(sweep, title: str = "Goodput vs checkpoint interval (closed form)") -> alt.Chart:
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
        tooltip=["case", alt.Tooltip("interval_h:Q", format=",.2f"), alt.Tooltip("goodput:Q", format=".2%")],
    )
    pts = base.transform_filter(alt.datum.optimal).mark_point(size=70, filled=True).encode(
        x="interval_h:Q", y="goodput:Q", color="case:N")
    return (line + pts).properties(width=460, height=240)


def goodput_scaling(table, title: str = "Goodput and interruptions vs cluster size") -> alt.Chart:
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
        tooltip=["case", "gpus", alt.Tooltip("goodput:Q", format=".2%")],
    ).properties(width=260, height=220, title="goodput")
    r = base.mark_line(point=True).encode(
        x=x, y=alt.Y("interruptions_per_day:Q", scale=alt.Scale(type="log"), title="interruptions per day [1/day]"),
        color="case:N", tooltip=["case", "gpus", alt.Tooltip("interruptions_per_day:Q", format=",.2f")],
    ).properties(width=260, height=220, title="interruptions per day")
    return alt.hconcat(g, r, title=title)
