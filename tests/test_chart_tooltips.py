"""The tooltips of the chart functions, read through ``chart.to_dict()``: every quantitative
tooltip line carries a number format (notebook 07's Pareto fronts showed raw floats such as
TTFT 0.123456789 s and 3.0123456789 USD per million tokens, and byte sizes or GPU counts came
out unformatted elsewhere), and the serving front's lines are titled with their units. Built
from the chart functions of tests/test_chart_axes.py and the ones with optional tooltip columns."""

from __future__ import annotations

import polars as pl
import pytest
from test_chart_axes import _charts, _encodings

import infra_lab as il


def _tooltips(spec):
    for enc in _encodings(spec):
        t = enc.get("tooltip")
        if t is not None:
            yield from (t if isinstance(t, list) else [t])


def tooltip_problems(chart) -> list[str]:
    """The quantitative tooltip lines of a chart (or its spec) that have no number format."""
    spec = chart if isinstance(chart, dict) else chart.to_dict()
    return [f"{t.get('title') or t.get('field') or t.get('aggregate')}: no format"
            for t in _tooltips(spec) if t.get("type") == "quantitative" and "format" not in t]


COUNT_TITLES = {"GPUs", "layers", "tp", "pp", "dp", "ep", "runs"}
"""Tooltip titles of whole counts of the thing they name: their unit is the title itself."""


def tooltip_unit_problems(chart) -> list[str]:
    """The quantitative tooltip lines of a chart (or its spec) whose title does not carry a unit
    in brackets (``[GB]``, ``[-]``, ``[%]``) and is not a count of what it names (COUNT_TITLES).
    A reader hovering over a bar saw ``GB 12.3``, ``busbw_GBps 41.20`` or
    ``usd_per_task 0.0123``: the column's name, not the quantity and its unit."""
    spec = chart if isinstance(chart, dict) else chart.to_dict()
    return [f"{t.get('field') or t.get('aggregate')}: title {t.get('title')!r} has no unit"
            for t in _tooltips(spec) if isinstance(t, dict) and t.get("type") == "quantitative"
            and t.get("title") not in COUNT_TITLES and "[" not in (t.get("title") or "")]


def tooltip_name_problems(chart) -> list[str]:
    """The tooltip lines of a chart (or its spec) that show a column's name rather than words:
    a title, or an untitled field, with an underscore (``op_type``, ``component_class``)."""
    spec = chart if isinstance(chart, dict) else chart.to_dict()
    shown = [(t.get("title") or t.get("field")) if isinstance(t, dict) else t for t in _tooltips(spec)]
    return [f"{s}: a column name" for s in shown if isinstance(s, str) and "_" in s.split(":")[0]]


def _front():
    return pl.DataFrame({"accelerator": ["MI300X", "MI300X", "H100-SXM"], "tokens_per_s_per_user": [20.123456789, 40.5, 25.0],
                         "output_tokens_per_s_per_gpu": [900.987654321, 500.0, 800.0], "tp": [8, 4, 8], "pp": [1, 1, 1],
                         "dp": [1, 2, 1], "ep": [1, 1, 1], "weight_precision": ["fp8"] * 3, "kv_precision": ["fp8"] * 3,
                         "concurrency": [64, 16, 64], "ttft_s": [0.123456789, 0.2, 0.3],
                         "usd_per_million_output_tokens_all_in": [3.0123456789, 2.0, 1.0]})


def _more_charts():
    c = il.charts
    yield "serving_front_chart (every tooltip column)", c.serving_front_chart(_front())
    yield "cashflow_chart", c.cashflow_chart(pl.DataFrame({"year": [0, 1, 2], "cumulative_usd": [-2e4, -1e4, 5e3],
                                                           "case": ["a"] * 3}))
    yield "image_tokens_chart", c.image_tokens_chart(pl.DataFrame({"encoder": ["a", "a"], "side_px": [224, 448],
                                                                   "lm_tokens": [256, 1024]}))
    yield "goodput_scaling", c.goodput_scaling(pl.DataFrame({"gpus": [8, 1024], "interruptions_per_day": [0.01, 1.2],
                                                                   "goodput": [0.99, 0.9]}))
    yield "run_length_histogram", c.run_length_histogram(pl.DataFrame({"wall_h": [10.0, 11.0, 12.5]}), 11.0)
    pts = pl.DataFrame({"capex_usd": [2.6e8, 3.9e8], "wall_days": [4.7, 1.4], "platform": ["a", "b"],
                        "nic": ["n", "n"], "gpus": [8192, 8208], "model": ["m", "m"],
                        "announced_not_shipped": [False, True]})
    yield "expansion_pareto", c.expansion_pareto(pts, "capex_usd", "wall_days", x_title="capital [USD]",
                                                 y_title="time [days]")


CHARTS = [*_charts(), *_more_charts()]


@pytest.mark.parametrize(("name", "chart"), CHARTS, ids=lambda v: v if isinstance(v, str) else "")
def test_every_quantitative_tooltip_is_formatted(name, chart):
    assert not tooltip_problems(chart), f"{name}: {tooltip_problems(chart)}"


@pytest.mark.parametrize(("name", "chart"), CHARTS, ids=lambda v: v if isinstance(v, str) else "")
def test_every_quantitative_tooltip_says_its_unit(name, chart):
    assert not tooltip_unit_problems(chart), f"{name}: {tooltip_unit_problems(chart)}"


@pytest.mark.parametrize(("name", "chart"), CHARTS, ids=lambda v: v if isinstance(v, str) else "")
def test_every_tooltip_line_is_named_in_words(name, chart):
    assert not tooltip_name_problems(chart), f"{name}: {tooltip_name_problems(chart)}"


def test_the_name_check_catches_a_column_name():
    import altair as alt

    bare = alt.Chart(alt.Data(values=[{"op_type": "gemm", "case": "a"}])).mark_point().encode(
        x="case:N", tooltip=["op_type:N", alt.Tooltip("op_type:N", title="op type"), "case:N"])
    assert tooltip_name_problems(bare) == ["op_type: a column name"]


def test_the_unit_check_catches_a_bare_column_name():
    import altair as alt

    bare = alt.Chart(alt.Data(values=[{"busbw_GBps": 41.2, "gpus": 8}])).mark_point().encode(
        x="busbw_GBps:Q", tooltip=[alt.Tooltip("busbw_GBps:Q", format=".1f"), alt.Tooltip("gpus:Q", title="GPUs", format=",d"),
                                   alt.Tooltip("busbw_GBps:Q", title="busbw", format=".1f")])
    assert tooltip_unit_problems(bare) == ["busbw_GBps: title None has no unit", "busbw_GBps: title 'busbw' has no unit"]


def test_the_check_catches_an_unformatted_tooltip():
    import altair as alt

    bare = alt.Chart(alt.Data(values=[{"x": 0.123456789}])).mark_point().encode(x="x:Q", tooltip=["x:Q"])
    assert tooltip_problems(bare) == ["x: no format"]


def test_serving_front_tooltips_say_their_units():
    """Notebook 07's fronts: interactivity, throughput, TTFT, concurrency and $ lines are
    formatted and titled with their unit in brackets."""
    tips = {t["field"]: t for t in _tooltips(il.charts.serving_front_chart(_front()).to_dict())}
    for col, fmt, unit in (("tokens_per_s_per_user", ",.1f", "[tokens/s per user]"),
                           ("output_tokens_per_s_per_gpu", ",.0f", "[output tokens/s per GPU]"),
                           ("ttft_s", ",.3f", "[s]"), ("concurrency", ",d", "[requests]"),
                           ("usd_per_million_output_tokens_all_in", "$,.3f", "[USD per million output tokens, all in]")):
        assert tips[col]["format"] == fmt and tips[col]["title"].endswith(unit), tips[col]
    assert {"tp", "dp", "ep", "pp", "weight_precision", "kv_precision"} <= set(tips)


def test_every_gpus_tooltip_is_the_one_definition():
    """A GPU count reads the same in every chart's tooltip ("GPUs", whole number, thousands
    separators): each ``gpus`` tooltip line is :func:`infra_lab.charts.base.gpus_tooltip`'s,
    and no chart module types its own."""
    from pathlib import Path

    from infra_lab.charts.base import gpus_tooltip

    owner = gpus_tooltip().to_dict()
    seen = 0
    for name, chart in CHARTS:
        for t in _tooltips(chart.to_dict()):
            if t.get("field") == "gpus":
                seen += 1
                assert t == owner, f"{name}: gpus tooltip {t} differs from gpus_tooltip() {owner}"
    assert seen >= 3, "the charts checked should include ones with a gpus tooltip"
    pkg = Path(il.charts.__file__).parent
    typed = [p.name for p in pkg.glob("*.py") if p.name != "base.py" and '"gpus:Q", title=' in p.read_text()]
    assert not typed, f"chart modules typing their own gpus tooltip (use gpus_tooltip()): {typed}"
