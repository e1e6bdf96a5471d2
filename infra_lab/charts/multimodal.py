"""Charts of multimodal training (issue 20): where the time goes per data mix, tokens per
image, packing waste, predicted vs published."""

from __future__ import annotations

import altair as alt
import polars as pl

from .base import field, require_columns, to_altair_data

__all__ = ["mix_time_chart", "image_tokens_chart", "packing_waste_chart", "multimodal_validation_chart"]

_PART_ORDER = ["language_model", "padding", "encoder_compute", "exposed_comm_change", "stage_imbalance"]
PART_LABELS = {"language_model": "language model", "padding": "padding", "encoder_compute": "encoders",
               "exposed_comm_change": "exposed communication, change (< 0: more hidden)",
               "stage_imbalance": "pipeline stage imbalance"}
"""The words a reader sees for each part of a multimodal step (the legend of :func:`mix_time_chart`)."""


def mix_time_chart(df: pl.DataFrame, value: str = "days", title: str = "Where the training time goes") -> alt.LayerChart:
    """Stacked horizontal bars: one per data mix (``mix``), split by ``part`` (the parts of
    :meth:`infra_lab.multimodal.MultimodalEstimate.breakdown`), and a black tick at each mix's
    total. Negative parts (communication hidden by the encoder's longer backward) are drawn left
    of zero, so the bar's right end is the positive parts' sum, above the total: notebook 09's
    image-heavy bar ended at 10.55 days for a 10.26-day run; the tick marks the total.

    Parameters
    ----------
    df : columns mix, part and ``value``
    value : the column to draw: "days" (of a run) or "seconds" (per step)
    """
    require_columns(df, ["mix", "part", value], "mix_time_chart")
    unit = {"days": "training time [days]", "seconds": "step time [s]"}.get(value, f"{value} [-]")
    mixes = list(dict.fromkeys(df["mix"].to_list()))
    # a part that is zero in every mix draws no mark: left out, or the legend lists a colour no
    # bar shows (notebook 09's 'pipeline stage imbalance' on its pipeline-free plan)
    drawn = df.group_by("part").agg((pl.col(value).abs().max() > 0).alias("drawn")).filter("drawn")["part"]
    df = df.filter(pl.col("part").is_in(drawn.implode()))
    data = to_altair_data(df.select("mix", "part", value).with_columns(
        pl.col("part").replace_strict({p: i for i, p in enumerate(_PART_ORDER)}, default=99,
                                      return_dtype=pl.Int64).alias("order"),
        pl.col("part").replace(PART_LABELS)))       # the legend in words, not the column names
    y = alt.Y("mix:N", sort=mixes, title=None)
    bars = alt.Chart(data).mark_bar().encode(
        y=y,
        x=alt.X(field=field(value), aggregate="sum", type="quantitative", title=unit),
        color=alt.Color("part:N", sort=[PART_LABELS[p] for p in _PART_ORDER if p in set(drawn.to_list())], title="part",
                        legend=alt.Legend(labelLimit=400)),
        order=alt.Order("order:Q"),
        tooltip=["mix", "part", alt.Tooltip(field=field(value), type="quantitative", title=unit, format=",.3f")],
    )
    totals = df.group_by("mix", maintain_order=True).agg(pl.col(value).sum().alias("total"))
    tick = alt.Chart(to_altair_data(totals)).mark_tick(color="black", thickness=2, size=22).encode(
        y=y, x=alt.X("total:Q", title=unit),
        tooltip=["mix", alt.Tooltip("total:Q", title=f"total ({unit})", format=",.3f")],
    )
    title = alt.TitleParams(title, subtitle="black tick: the total (a negative part is drawn left of zero)")
    return alt.layer(bars, tick, title=title).properties(width=460, height=max(60, 30 * len(mixes)))


def image_tokens_chart(df: pl.DataFrame, title: str = "Language-model tokens per image") -> alt.Chart:
    """Tokens per picture against the picture's side for each vision encoder (log y).

    Parameters
    ----------
    df : columns encoder, side_px [px], lm_tokens [tokens]
    """
    require_columns(df, ["encoder", "side_px", "lm_tokens"], "image_tokens_chart")
    data = to_altair_data(df.select("encoder", "side_px", "lm_tokens"))
    return alt.Chart(data, title=title).mark_line(point=True).encode(
        x=alt.X("side_px:Q", title="square picture side [px]"),
        y=alt.Y("lm_tokens:Q", scale=alt.Scale(type="log"), title="tokens per picture [tokens]"),
        color=alt.Color("encoder:N", title="encoder"),
        tooltip=["encoder", alt.Tooltip("side_px:Q", title="image side [px]", format=",d"),
                 alt.Tooltip("lm_tokens:Q", title="LM tokens [tokens]", format=",d")],
    ).properties(width=420, height=240)


def packing_waste_chart(df: pl.DataFrame, title: str = "Padding waste by packing algorithm") -> alt.LayerChart:
    """Grouped bars of the padding fraction per data mix and packing algorithm, each bar
    labelled with its value: first-fit-decreasing's fractions of a percent are bars narrower
    than a pixel beside no packing's 70-90 % (notebook 09 drew them invisible, its legend
    listing a colour no bar showed).

    Parameters
    ----------
    df : columns mix, packing, waste_pct [%]
    """
    require_columns(df, ["mix", "packing", "waste_pct"], "packing_waste_chart")
    data = to_altair_data(df.select("mix", "packing", "waste_pct"))
    # the mixes in the frame's order, as the notebook's cost chart lists them (text only first):
    # sorted by name the two charts of notebook 09 listed the same mixes in two orders
    mixes = df["mix"].unique(maintain_order=True).to_list()
    base = alt.Chart(data).encode(
        y=alt.Y("mix:N", title=None, sort=mixes),
        yOffset=alt.YOffset("packing:N"),
        x=alt.X("waste_pct:Q", title="padding [% of sequence positions]"),
        tooltip=["mix", "packing", alt.Tooltip("waste_pct:Q", title="padding [% of sequence positions]", format=".2f")],
    )
    bars = base.mark_bar().encode(color=alt.Color("packing:N", title="packing"))
    labels = base.mark_text(align="left", dx=3, fontSize=10).encode(text=alt.Text("waste_pct:Q", format=".2~f"))
    return alt.layer(bars, labels, title=title).properties(width=420, height=max(80, 40 * df["mix"].n_unique()))


def multimodal_validation_chart(df: pl.DataFrame,
                                title: str = "Multimodal step model against published runs: predicted ÷ published"
                                ) -> alt.LayerChart:
    """Predicted / published per case with the prediction's assumption band and the
    published range (where given); 1 = exact.

    Parameters
    ----------
    df : :func:`infra_lab.multimodal.published_comparison` (case, measured, predicted,
        predicted_low, predicted_high, measured_low, measured_high)
    """
    require_columns(df, ["case", "measured", "predicted", "predicted_low", "predicted_high",
                         "measured_low", "measured_high"], "multimodal_validation_chart")
    d = df.select(
        "case",
        (pl.col("predicted") / pl.col("measured")).alias("ratio"),
        (pl.coalesce("predicted_low", "predicted") / pl.col("measured")).alias("lo"),
        (pl.coalesce("predicted_high", "predicted") / pl.col("measured")).alias("hi"),
        (pl.col("measured") / pl.coalesce("measured_high", "measured")).alias("m_lo"),
        (pl.col("measured") / pl.coalesce("measured_low", "measured")).alias("m_hi"),
    )
    data = to_altair_data(d)
    base = alt.Chart(data)
    band = base.mark_rule(strokeWidth=6, opacity=0.35, color="gray").encode(
        y=alt.Y("case:N", title=None), x=alt.X("m_lo:Q", title="predicted / published [-]"), x2="m_hi:Q")
    rng = base.mark_rule(strokeWidth=2).encode(y="case:N", x="lo:Q", x2="hi:Q")
    pts = base.mark_point(filled=True, size=80).encode(
        y="case:N", x="ratio:Q", tooltip=["case", alt.Tooltip("ratio:Q", title="predicted / published [-]", format=".2f"),
                                          alt.Tooltip("lo:Q", title="assumption band, low [-]", format=".2f"),
                                          alt.Tooltip("hi:Q", title="assumption band, high [-]", format=".2f")])
    one = alt.Chart(pl.DataFrame({"x": [1.0]})).mark_rule(strokeDash=[4, 4]).encode(x="x:Q")
    # the marks have no legend: the subtitle says which is which (a time's ratio below 1 and an
    # MFU's above 1 both mean the model is faster than the run)
    key = ["point: predicted ÷ published; thin line: the prediction over its assumption band;",
           "grey bar: the published range; dashed: exact (1)"]
    return (band + rng + pts + one).properties(title=alt.TitleParams(title, subtitle=key), width=420,
                                               height=max(80, 30 * d.height))
