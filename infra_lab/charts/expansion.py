"""Charts of the 2026 expansion sweep (notebook 08): Pareto scatters with their front."""

from __future__ import annotations

import altair as alt
import polars as pl

from .base import accelerator_scale, field, gpus_tooltip, require_columns

__all__ = ["expansion_pareto", "expansion_bars"]

_STATUS = {True: "announced, not shipped", False: "shipping"}


def _platform_colors(platforms) -> alt.Scale:
    """Each platform in its accelerator's house colour (accelerator_scale), so that MI300X is
    the same red here as in notebooks 01-07."""
    from .. import expansion

    acc = dict(expansion.platforms().select("platform", "accelerator").iter_rows())
    shown = sorted(set(platforms.to_list()))
    return accelerator_scale([acc.get(p, p) for p in shown], labels=shown)


def expansion_pareto(df: pl.DataFrame, x: str, y: str, *, x_title: str, y_title: str,
                     color: str = "platform", front: pl.DataFrame | None = None,
                     highlight: dict | None = None, log_x: bool = True, log_y: bool = True,
                     title: str = "", width: int = 460, height: int = 300) -> alt.LayerChart:
    """Scatter of sweep points in (x, y), coloured by ``color``, filled for options whose parts
    all ship and hollow for an option with an announced part (``announced_not_shipped``: its
    platform or its NIC, so a shipping platform with an announced NIC is hollow too, and the
    colour legend's title says so), with the Pareto front (``front``, from
    :func:`infra_lab.expansion.pareto_front`) as a line and an optional highlighted point.

    Embeds only the encoded columns (x, y, colour, status, nic, gpus, model).
    """
    need = [x, y, color, "nic", "gpus", "model", "announced_not_shipped"]
    require_columns(df, need, "expansion_pareto")
    pts = df.select(*dict.fromkeys(need)).with_columns(
        pl.col("announced_not_shipped").replace_strict(_STATUS, return_dtype=pl.String).alias("status")
    ).drop("announced_not_shipped")
    sx = alt.Scale(type="log") if log_x else alt.Scale(zero=False)
    sy = alt.Scale(type="log") if log_y else alt.Scale(zero=False)

    def axis(col: str) -> alt.Axis:
        # large values (USD of a cluster, of a run) as 200M / 1.5M: written out in full, the
        # tick labels of a log axis ran into each other
        big = pts[col].abs().max()
        # SI prefixes, with B for a billion (SI's G read as "1G" USD)
        return (alt.Axis(labelExpr="replace(format(datum.value, '~s'), 'G', 'B')")
                if big is not None and big >= 1e5 else alt.Axis())

    # hollow = announced: a filled mark whose fill is transparent for announced parts, its
    # outline in the colour (a fill drawn from a condition on the colour field left the model
    # legend's shapes without a fill or a stroke: blank)
    colors = _platform_colors(pts[color]) if color == "platform" else alt.Undefined   # the house colours
    base = alt.Chart(pts).mark_point(size=70, strokeWidth=2, filled=True).encode(
        x=alt.X(field=field(x), type="quantitative", title=x_title, scale=sx, axis=axis(x)),
        y=alt.Y(field=field(y), type="quantitative", title=y_title, scale=sy, axis=axis(y)),
        # the flag is the option's (platform or NIC): a shipping MI300X node with the announced
        # Vulcano NIC is hollow, which "platform (hollow: announced, not shipped)" misread
        color=alt.Color(field=field(color), type="nominal", scale=colors,
                        title=[color, "(hollow: an announced,", "not shipped part:", "platform or NIC)"]),
        stroke=alt.Stroke(field=field(color), type="nominal", scale=colors),
        shape=alt.Shape("model:N", title="model"),
        fillOpacity=alt.FillOpacity("status:N", scale=alt.Scale(domain=list(_STATUS.values())[::-1], range=[1.0, 0.0]),
                                    legend=None),
        # the values under the axes' titles, units included (the column names, "capex_usd" or
        # "usd_per_m_served_tokens", read as code in a chart that titles them in words)
        tooltip=[alt.Tooltip(field=field(color), type="nominal", title=color), "nic:N",
                 gpus_tooltip(), "model:N", "status:N",
                 alt.Tooltip(field=field(x), type="quantitative", title=x_title, format=",.3~g"),
                 alt.Tooltip(field=field(y), type="quantitative", title=y_title, format=",.3~g")],
    )
    layers = [base]
    if front is not None and front.height:
        require_columns(front, [x, y], "expansion_pareto front")
        layers.append(alt.Chart(front.select(x, y).sort(x)).mark_line(
            color="black", strokeDash=[4, 3], point=False).encode(x=alt.X(field=field(x), type="quantitative"),
                                                                  y=alt.Y(field=field(y), type="quantitative")))
    if highlight:
        h = pl.DataFrame({x: [highlight[x]], y: [highlight[y]]})
        layers.append(alt.Chart(h).mark_point(size=320, color="black", shape="circle",
                                              filled=False, strokeWidth=3)
                      .encode(x=alt.X(field=field(x), type="quantitative"), y=alt.Y(field=field(y), type="quantitative")))
    return alt.layer(*layers).properties(title=title, width=width, height=height)


def expansion_bars(df: pl.DataFrame, value: str, *, label: str = "option", title: str = "",
                   value_title: str = "", width: int = 420) -> alt.Chart:
    """Horizontal bars of one value per label (e.g. the numbers of one option)."""
    require_columns(df, [label, value], "expansion_bars")
    return alt.Chart(df.select(label, value)).mark_bar().encode(
        y=alt.Y(field=field(label), type="nominal", sort="-x", title=None),
        x=alt.X(field=field(value), type="quantitative", title=value_title or value),
        tooltip=[alt.Tooltip(field=field(label), type="nominal", title=label),
                 alt.Tooltip(field=field(value), type="quantitative", title=value_title or value, format=",.4~g")],
    ).properties(title=title, width=width)
