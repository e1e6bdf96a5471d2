"""Charts of the training-step model: where the time goes, predicted vs measured, plans."""

from __future__ import annotations

import altair as alt
import polars as pl

from ..errors import ValidationError
from .base import (
    require_columns,
    require_positive,
    require_rows,
    require_some,
    signed_tooltip,
    to_altair_data,
)

__all__ = ["step_breakdown_chart", "parity_chart", "plan_scatter", "breakdown_frame", "band_coverage_chart",
           "communication_chart"]

def _component_order() -> list[str]:
    """The step breakdown's components in the kernel's order (:data:`infra_lab.training.COMPONENTS`)."""
    from ..training import COMPONENTS

    return list(COMPONENTS)


def breakdown_frame(estimates: dict) -> pl.DataFrame:
    """Long frame (run, component, seconds) from ``{label: Estimate}`` for
    :func:`step_breakdown_chart`."""
    from .._validate import mapping
    from ..training import Estimate

    estimates = mapping("estimates", estimates, "label -> Estimate (il.estimate's result)")
    if not estimates:   # polars' bare 'cannot concat empty list' said nothing about the argument
        raise ValidationError("breakdown_frame: estimates = {}: expected at least one label -> Estimate")
    for k, e in estimates.items():
        if not isinstance(e, Estimate):
            raise ValidationError(f"breakdown_frame: estimates[{k!r}] = {e!r}: expected an Estimate "
                                  "(il.estimate's result)")
    parts = [e.breakdown.with_columns(pl.lit(str(k)).alias("run")) for k, e in estimates.items()]
    return pl.concat(parts).select("run", "component", "seconds")


def step_breakdown_chart(df: pl.DataFrame, title: str = "Where one training step goes") -> alt.Chart:
    """Stacked horizontal bars of step-time components per run.

    Parameters
    ----------
    df : columns run, component, seconds (e.g. :func:`breakdown_frame`); a single
        ``Estimate.breakdown`` (component, seconds) is drawn as one bar
    """
    if "run" not in df.columns:
        df = df.with_columns(pl.lit("step").alias("run"))
    require_columns(df, ["run", "component", "seconds"], "step_breakdown_chart")
    data = to_altair_data(df.filter(pl.col("seconds") > 0).with_columns(
        (pl.col("seconds") * 1e3).alias("milliseconds"),
        pl.col("component").replace_strict({c: i for i, c in enumerate(_component_order())},
                                           default=99, return_dtype=pl.Int64).alias("order")))
    runs = list(dict.fromkeys(df["run"].to_list()))
    # The colour domain is every component, in the kernel's order, so a component keeps its colour
    # from chart to chart (notebook 04 draws two breakdowns with different parts present); the
    # legend lists only the parts this chart draws.
    order = _component_order()
    present = set(df.filter(pl.col("seconds") > 0)["component"].to_list())
    domain = order + sorted(present - set(order))
    return alt.Chart(data, title=title).mark_bar().encode(
        y=alt.Y("run:N", sort=runs, title=None),
        x=alt.X("sum(milliseconds):Q", title="time per optimizer step [ms]"),
        color=alt.Color("component:N", sort=order, title="component",
                        scale=alt.Scale(domain=domain, scheme="tableau20"),
                        legend=alt.Legend(values=[c for c in domain if c in present])),
        order=alt.Order("order:Q"),
        tooltip=["run", "component", alt.Tooltip("milliseconds:Q", format=",.1f", title="time per optimizer step [ms]")],
    ).properties(width=480, height=max(60, 28 * len(runs)))


def communication_chart(df: pl.DataFrame, title: str = "Communication per step: raw against exposed") -> alt.Chart:
    """Grouped horizontal bars per communication component of one training step: its raw time
    (every call, before any overlap) and the part the step time carries (exposed), in ms.

    Parameters
    ----------
    df : columns component, raw_s_per_step, exposed_s_per_step
        (:func:`infra_lab.training.collectives_by_dimension`); components with no raw time are
        left out, an optional crosses_scale_up column says in the tooltip whether the component's
        traffic crosses scale-up domains
    """
    require_columns(df, ["component", "raw_s_per_step", "exposed_s_per_step"], "communication_chart")
    present = df.filter(pl.col("raw_s_per_step") > 0)
    require_rows(present, "communication_chart", "no component has communication time")
    keep = ["component", "raw_s_per_step", "exposed_s_per_step"] + (
        ["crosses_scale_up"] if "crosses_scale_up" in df.columns else [])
    long = present.select(keep).unpivot(index=[c for c in keep if not c.endswith("_per_step")],
                                        on=["raw_s_per_step", "exposed_s_per_step"],
                                        variable_name="time", value_name="seconds")
    long = long.with_columns(
        (pl.col("seconds") * 1e3).alias("milliseconds"),
        pl.col("time").replace_strict({"raw_s_per_step": "raw (overlaps off)",
                                       "exposed_s_per_step": "exposed (in the step time)"}))
    order = [c for c in df["component"].to_list() if c in set(present["component"].to_list())]
    tips = ["component", alt.Tooltip("time:N", title="time"),
            alt.Tooltip("milliseconds:Q", format=",.2f", title="time per optimizer step [ms]")]
    if "crosses_scale_up" in long.columns:
        long = long.with_columns(pl.when(pl.col("crosses_scale_up")).then(pl.lit("yes")).otherwise(pl.lit("no"))
                                 .alias("crosses_scale_up"))
        tips.append(alt.Tooltip("crosses_scale_up:N", title="crosses scale-up domains"))
    return alt.Chart(to_altair_data(long), title=title).mark_bar().encode(
        y=alt.Y("component:N", sort=order, title=None),
        yOffset=alt.YOffset("time:N", sort=["raw (overlaps off)", "exposed (in the step time)"]),
        x=alt.X("milliseconds:Q", title="time per optimizer step [ms]"),
        color=alt.Color("time:N", sort=["raw (overlaps off)", "exposed (in the step time)"], title=None,
                        scale=alt.Scale(range=["#9ecae9", "#1f77b4"])),
        tooltip=tips,
    ).properties(width=480, height=max(60, 40 * len(order)))


def parity_chart(df: pl.DataFrame, title: str = "Predicted vs measured step time") -> alt.LayerChart:
    """Log-log parity plot of :func:`infra_lab.validation.compare` with the y = x line and
    ±10 % / ±25 % bands (the issue's bounds, ``infra_lab.validation.selene.STEP_TIME_BOUNDS_PCT``);
    colour = train/test split, shape = source table."""
    from ..validation.selene import STEP_TIME_BOUNDS_PCT

    require_columns(df, ["case", "split", "table", "measured_step_time_s", "predicted_step_time_s",
                         "error_pct"], "parity_chart")
    data = to_altair_data(df)
    require_rows(data, "parity_chart")
    require_some(data, ["measured_step_time_s", "predicted_step_time_s"], "parity_chart")
    require_positive(data, ["measured_step_time_s", "predicted_step_time_s"], "parity_chart")
    data, err_tip = signed_tooltip(data, "error_pct", "error [%]")
    lo = float(min(data["measured_step_time_s"].min(), data["predicted_step_time_s"].min())) * 0.8
    hi = float(max(data["measured_step_time_s"].max(), data["predicted_step_time_s"].max())) * 1.25
    xs = [lo * (hi / lo) ** (i / 20) for i in range(21)]
    inner, outer = STEP_TIME_BOUNDS_PCT["median"] / 100.0, STEP_TIME_BOUNDS_PCT["worst"] / 100.0
    band = pl.DataFrame({"x": xs, "y": xs,
                         "lo_inner": [x * (1.0 - inner) for x in xs], "hi_inner": [x * (1.0 + inner) for x in xs],
                         "lo_outer": [x * (1.0 - outer) for x in xs], "hi_outer": [x * (1.0 + outer) for x in xs]})
    sx = alt.Scale(type="log", domain=[lo, hi])
    base = alt.Chart(band)
    b_outer = base.mark_area(opacity=0.12, color="gray").encode(
        x=alt.X("x:Q", scale=sx, title="measured step time [s]"), y=alt.Y("lo_outer:Q", scale=sx), y2="hi_outer:Q")
    b_inner = base.mark_area(opacity=0.2, color="gray").encode(x=alt.X("x:Q", scale=sx), y="lo_inner:Q", y2="hi_inner:Q")
    line = base.mark_line(color="black", strokeDash=[4, 3]).encode(x=alt.X("x:Q", scale=sx), y=alt.Y("y:Q", scale=sx))
    pts = alt.Chart(data).mark_point(size=70, filled=True).encode(
        x=alt.X("measured_step_time_s:Q", scale=sx, title="measured step time [s]"),
        y=alt.Y("predicted_step_time_s:Q", scale=sx, title="predicted step time [s]"),
        color=alt.Color("split:N", title="split"),
        shape=alt.Shape("table:N", title="source table"),
        tooltip=["case", "split", alt.Tooltip("measured_step_time_s:Q", title="measured step time [s]", format=".2f"),
                 alt.Tooltip("predicted_step_time_s:Q", title="predicted step time [s]", format=".2f"),
                 err_tip],
    )
    key = (f"dashed: predicted = measured; grey bands: within ±{STEP_TIME_BOUNDS_PCT['median']:g} % and "
           f"±{STEP_TIME_BOUNDS_PCT['worst']:g} %")   # the bands have no legend of their own
    return (b_outer + b_inner + line + pts).properties(title=alt.TitleParams(title, subtitle=key), width=380,
                                                       height=380)


def band_coverage_chart(df: pl.DataFrame, title: str = "Measured throughput against the stated band") -> alt.LayerChart:
    """One row per run of :func:`infra_lab.validation.band_coverage`: the band (slowest to
    fastest case over the stack's stated factor ranges) as a bar, the nominal estimate as a
    tick and the measured tokens/s/GPU as a point coloured by whether it lies inside, all as
    a ratio to the nominal estimate (log scale), so runs of any size share one axis."""
    require_columns(df, ["id", "split", "measured_tokens_per_s_per_gpu", "predicted_tokens_per_s_per_gpu",
                         "band_low_tokens_per_s_per_gpu", "band_high_tokens_per_s_per_gpu", "inside",
                         "edge_error_pct"], "band_coverage_chart")
    require_rows(df, "band_coverage_chart")
    require_some(df, ["measured_tokens_per_s_per_gpu", "predicted_tokens_per_s_per_gpu",
                      "band_low_tokens_per_s_per_gpu", "band_high_tokens_per_s_per_gpu"], "band_coverage_chart")
    nom = pl.col("predicted_tokens_per_s_per_gpu")
    d = df.with_columns((pl.col("band_low_tokens_per_s_per_gpu") / nom).alias("band_low"),
                        (pl.col("band_high_tokens_per_s_per_gpu") / nom).alias("band_high"),
                        (pl.col("measured_tokens_per_s_per_gpu") / nom).alias("measured"),
                        pl.lit(1.0).alias("nominal"),
                        pl.when(pl.col("inside")).then(pl.lit("inside")).otherwise(pl.lit("outside")).alias("where"))
    order = d.sort("measured")["id"].to_list()
    data = to_altair_data(d.select("id", "split", "band_low", "band_high", "measured", "nominal", "where",
                                   "edge_error_pct"))
    data, edge_tip = signed_tooltip(data, "edge_error_pct", "nearest-edge error [%]")
    lo = float(min(d["band_low"].min(), d["measured"].min())) * 0.9
    hi = float(max(d["band_high"].max(), d["measured"].max())) * 1.1
    sx = alt.Scale(type="log", domain=[lo, hi])
    y = alt.Y("id:N", sort=order, title=None)
    base = alt.Chart(data)
    bar = base.mark_bar(opacity=0.3, color="gray", height=8).encode(
        x=alt.X("band_low:Q", scale=sx, title="tokens/s/GPU ÷ the model's nominal estimate [-]"), x2="band_high:Q", y=y)
    tick = base.mark_tick(color="black", thickness=1.5, size=10).encode(x=alt.X("nominal:Q", scale=sx), y=y)
    pts = base.mark_point(filled=True, size=55).encode(
        x=alt.X("measured:Q", scale=sx), y=y,
        color=alt.Color("where:N", title="measured", scale=alt.Scale(domain=["inside", "outside"],
                                                                     range=["#4c78a8", "#e45756"])),
        shape=alt.Shape("split:N", title="split"),
        tooltip=["id", "split", alt.Tooltip("measured:Q", format=".2f", title="measured ÷ nominal [-]"),
                 alt.Tooltip("band_low:Q", format=".2f", title="band low ÷ nominal [-]"),
                 alt.Tooltip("band_high:Q", format=".2f", title="band high ÷ nominal [-]"),
                 edge_tip])
    return (bar + tick + pts).properties(title=title, width=420, height=max(120, 14 * d.height))


PLAN_SCATTER_MAX_ROWS = 4000
"""Most points :func:`plan_scatter` embeds (an executed notebook stays under 2 MB)."""


def plan_scatter(df: pl.DataFrame, title: str = "Parallel plans: memory vs throughput",
                 hbm_GB: float | None = None) -> alt.Chart | alt.LayerChart:
    """Scatter of :func:`infra_lab.search` rows: memory per GPU [GB] vs tokens/s, coloured by
    whether the plan fits (``fits``: within the memory the device's driver exposes); an optional
    rule marks a capacity ``hbm_GB`` [GB], a finite number > 0."""
    if hbm_GB is not None:   # a rule at -1 or NaN GB was drawn without a word
        from .._validate import positive

        hbm_GB = positive("plan_scatter: hbm_GB", hbm_GB)
    require_columns(df, ["memory_per_gpu_bytes", "tokens_per_s", "fits", "tp", "pp", "dp"], "plan_scatter")
    if df.height > PLAN_SCATTER_MAX_ROWS:   # the caller chooses the rows (no silent truncation)
        raise ValidationError(f"plan_scatter: {df.height:,} rows; at most {PLAN_SCATTER_MAX_ROWS:,} points are "
                              "embedded in a notebook — pass the rows to plot, e.g. il.search(sc, top=2000)")
    # Embed only what the chart encodes (x, y, colour and one tooltip string), rounded to
    # what the eye and the tooltip can tell apart: 4,000 plans × every search column made
    # the chart 3 MB in the notebook.
    short = {"tp": "tp", "pp": "pp", "vp": "vp", "cp": "cp", "ep": "ep", "dp": "dp",
             "micro_batch": "mb", "zero": "zero", "recompute": "rc:", "sequence_parallel": "sp:"}
    parts = [pl.format(f"{s}{{}}", pl.col(k).cast(pl.String)) for k, s in short.items()
             if k in df.columns]
    plan = pl.concat_str(parts, separator=" ")  # e.g. "tp1 pp1 ... mb2 zero1 rc:none sp:false"
    data = to_altair_data(df.select(
        (pl.col("memory_per_gpu_bytes") / 1e9).round(2).alias("memory_GB"),
        (pl.col("tokens_per_s") / 1e6).round(4).alias("Mtokens_per_s"),
        pl.col("fits"), plan.alias("plan")))
    pts = alt.Chart(data).mark_circle(size=25, opacity=0.6).encode(
        x=alt.X("memory_GB:Q", title="memory per GPU [GB]"),
        y=alt.Y("Mtokens_per_s:Q", title="throughput [million tokens/s]"),
        color=alt.Color("fits:N", title="fits in memory"),
        tooltip=[alt.Tooltip("plan:N"), alt.Tooltip("Mtokens_per_s:Q", title="throughput [million tokens/s]", format=".2f"),
                 alt.Tooltip("memory_GB:Q", title="memory per GPU [GB]", format=".1f")],
    )
    chart = pts
    if hbm_GB is not None:
        chart = pts + alt.Chart(pl.DataFrame({"hbm": [hbm_GB]})).mark_rule(color="red").encode(x="hbm:Q")
    return chart.properties(title=title, width=420, height=280)
