"""The axes of the charts the notebooks draw, read through ``chart.to_dict()``: every
quantitative axis is titled with its unit in brackets, and a layered chart gives each axis one
title (Vega-Lite joins differing layer titles with a comma: notebook 02's roofline read
"attainable [TFLOP/s], attainable / achieved [TFLOP/s]"). The chart functions of notebooks 01-09
are built here from small inputs, and each fails the check once one axis loses its unit; the notebook test checks every chart an executed
notebook shows as drawn (:func:`executed_chart_problems`: notebooks 00-09, the explorers'
first charts included), titles passed by the notebook included (notebook 08's served-token axis
had none)."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

import infra_lab as il

POSITION = ("x", "y")


def _encodings(spec: dict):
    """Every (encoding, view) pair of a Vega-Lite spec, layers and concatenations included."""
    if isinstance(spec, dict):
        if "encoding" in spec:
            yield spec["encoding"]
        for key, value in spec.items():
            if key not in ("data", "datasets"):
                yield from _encodings(value)
    elif isinstance(spec, list):
        for item in spec:
            yield from _encodings(item)


def _views(spec: dict):
    """The views whose layers share axes: each concatenated or faceted sub-chart, or the chart."""
    for key in ("hconcat", "vconcat", "concat"):
        if key in spec:
            for sub in spec[key]:
                yield from _views(sub)
            return
    yield spec


def _has_unit(title: str) -> bool:
    """A title ends with its unit in brackets: "step time [s]"."""
    return "[" in title and title.rstrip().endswith("]")


def axis_problems(chart) -> list[str]:
    """The axis faults of an altair chart or of its Vega-Lite spec (a dict)."""
    spec = chart if isinstance(chart, dict) else chart.to_dict()
    bad = []
    for view in _views(spec):
        titles: dict[str, set[str]] = {ch: set() for ch in POSITION}
        for enc in _encodings(view):
            for ch in POSITION:
                e = enc.get(ch)
                if not isinstance(e, dict) or e.get("type") != "quantitative":
                    continue
                t = e.get("title")
                if t is not None:
                    titles[ch].add(t)
        for ch, ts in titles.items():
            if len(ts) > 1:
                bad.append(f"{ch}: layers titled differently {sorted(ts)}")
            bad += [f"{ch}: no unit in {t!r}" for t in ts if not _has_unit(t)]
            has_quant = any(isinstance(enc.get(ch), dict) and enc[ch].get("type") == "quantitative"
                            for enc in _encodings(view))
            if has_quant and not ts:
                bad.append(f"{ch}: a quantitative axis without a title")
    return bad


def executed_outputs(nb):
    """Every (where, output) an executed notebook shows: each cell's outputs, and the outputs
    its widgets hold (an explorer draws into an ``Output`` widget, whose outputs nbclient saves
    in the notebook's widget state rather than in the cell)."""
    for i, cell in enumerate(nb.cells):
        for out in cell.get("outputs", []):
            yield f"cell {i}", out
    state = nb.metadata.get("widgets", {}).get("application/vnd.jupyter.widget-state+json", {})
    for model_id, model in state.get("state", {}).items():
        for out in model.get("state", {}).get("outputs", None) or []:
            yield f"widget {model.get('model_name', '')} {model_id[:8]}", out


def executed_chart_specs(nb):
    """Every (where, title, spec) of a chart an executed notebook shows, its explorers' charts
    included: the light renderer's HTML output carries each chart's spec (``var spec = {...}``,
    infra_lab.charts.base)."""
    import json
    import re

    dec = json.JSONDecoder()
    for where, out in executed_outputs(nb):
        html = "".join(out.get("data", {}).get("text/html", ""))
        for m in re.finditer(r"var spec = ", html):
            spec = dec.raw_decode(html, m.end())[0]
            title = spec.get("title", "")
            yield where, (title.get("text", "") if isinstance(title, dict) else title), spec


def executed_chart_problems(nb) -> list[str]:
    """The axis faults of every chart an executed notebook shows (:func:`executed_chart_specs`)."""
    return [f"{where} ({title or 'untitled'}): {p}"
            for where, title, spec in executed_chart_specs(nb) for p in axis_problems(spec)]


def _charts():
    c, comp = il.charts, il.compute
    devices = ["MI300X", "H100-SXM"]
    yield "roofline_chart", c.roofline_chart(comp.roofline(devices), comp.roofline_points("llama3-8b", 4096, 1, devices))
    yield "roofline_chart (lines only)", c.roofline_chart(comp.roofline(devices))
    metrics = il.cluster.accelerator_metrics(devices, precision="bf16")
    yield "accelerator_bars", c.accelerator_bars(metrics, "hbm_GB", "HBM capacity [GB]")
    peaks = pl.DataFrame({"accelerator": ["MI300X", "H100-SXM"], "vendor": ["AMD", "NVIDIA"],
                          "precision": ["bf16", "bf16"], "peak_tflops": [1307.4, 989.4]})
    yield "peak_by_precision", c.peak_by_precision(peaks)
    grid = np.arange(256, 2049, 256)
    yield "gemm_efficiency_heatmap", c.gemm_efficiency_heatmap(comp.efficiency_grid(grid, grid, 4096, "MI300X"))
    yield "memory_stacked_bars", c.memory_stacked_bars(il.memory.memory_sweep(["zaya1-base"], devices))
    yield "largest_model_chart", c.largest_model_chart(il.memory.largest_model(devices, family="llama3"))
    yield "gemm_validation_chart", c.gemm_validation_chart(comp.gemm_validation())
    lines = pl.DataFrame({"seq_len": [1024, 4096] * 2, "efficiency": [0.3, 0.4, 0.2, 0.3],
                          "kernel": ["a", "a", "b", "b"], "pass": ["fwd"] * 4})
    yield "efficiency_lines_chart", c.efficiency_lines_chart(
        lines, "seq_len", "efficiency", "kernel", dash="pass", x_title="sequence length [tokens]",
        y_title="fraction of BF16 peak [-]", title="t")
    cov = pl.DataFrame({"id": ["a", "b"], "split": ["test", "test"], "measured_tokens_per_s_per_gpu": [90.0, 130.0],
                        "predicted_tokens_per_s_per_gpu": [100.0, 100.0], "band_low_tokens_per_s_per_gpu": [80.0, 85.0],
                        "band_high_tokens_per_s_per_gpu": [120.0, 125.0], "inside": [True, False],
                        "edge_error_pct": [0.0, -3.8]})
    yield "band_coverage_chart", c.band_coverage_chart(cov)
    est = il.estimate(il.load_scenario("zaya1-ibm-mi300x"))
    yield "step_breakdown_chart", c.step_breakdown_chart(c.breakdown_frame({"MI300X": est}))
    yield "communication_chart", c.communication_chart(
        il.training.collectives_by_dimension(il.load_scenario("zaya1-ibm-mi300x")))
    cv = pl.DataFrame({"case": ["g", "c"], "kind": ["gemm", "cast"], "accelerator": ["MI300X", "MI300X"],
                       "role": ["train", "test"], "measured": [700.0, 40.0], "predicted": [650.0, 45.0],
                       "unit": ["TFLOP/s", "us"], "error_pct": [-7.1, 12.5]})
    yield "compute_validation_chart", c.compute_validation_chart(cv)
    # notebook 03: the network charts (the busbw one with its dashed link ceilings)
    bw = pl.DataFrame({"size_bytes": [2.0**20, 2.0**30] * 2, "busbw_GBps": [20.0, 300.0, 30.0, 400.0],
                       "series": ["a", "a", "b", "b"], "ceiling_GBps": [350.0, 350.0, 450.0, 450.0]})
    yield "busbw_vs_size_chart", c.busbw_vs_size_chart(bw)
    yield "scaling_chart", c.scaling_chart(bw.rename({"size_bytes": "gpus"}))
    yield "routing_distribution_chart", c.routing_distribution_chart(
        pl.DataFrame({"routing": ["ecmp", "spray"], "efficiency": [0.6, 0.95]}))
    yield "validation_chart (network)", c.validation_chart(pl.DataFrame(
        {"size_bytes": [2.0**20, 2.0**30], "error_pct": [5.0, -3.0], "accelerator": ["MI300X", "H100-SXM"],
         "library": ["rccl", "nccl"], "split": ["train", "test"], "use": ["validate", "validate"]}))
    # notebooks 05-09: the chart functions whose axes carry a unit of their own
    tok = pl.DataFrame({"accelerator": ["MI300X", "MI300X", "H100-SXM", "H100-SXM"],
                        "tokens_per_s_per_user": [20.0, 40.0, 25.0, 45.0],
                        "output_tokens_per_s_per_gpu": [900.0, 500.0, 800.0, 400.0]})
    yield "serving_front_chart", c.serving_front_chart(tok)
    yield "serving_cost_chart", c.serving_cost_chart(pl.DataFrame({"accelerator": ["MI300X", "H100-SXM"],
                                                                   "usd_per_task": [0.04, 0.03]}))
    sv = pl.DataFrame({"id": ["a", "b"], "split": ["train", "test"], "accelerator": ["MI300X", "H100-SXM"],
                       "engine": ["vllm", "vllm"], **{f"{m}_{k}": [1.0, 2.0] for m in ("output_tokens_per_s_per_gpu", "ttft_s")
                                                      for k in ("measured", "predicted")},
                       **{f"{m}_error_pct": [0.0, 0.0] for m in ("output_tokens_per_s_per_gpu", "ttft_s")}})
    yield "serving_parity_chart", c.serving_parity_chart(sv)
    yield "serving_parity_chart (TTFT)", c.serving_parity_chart(sv, "ttft_s")
    mix = pl.DataFrame({"mix": ["text", "text"], "part": ["compute", "encoder_compute"], "days": [5.0, 1.0],
                        "seconds": [0.3, 0.1]})
    yield "mix_time_chart (days)", c.mix_time_chart(mix, "days")
    yield "mix_time_chart (seconds)", c.mix_time_chart(mix, "seconds")
    yield "tco_band_chart", c.tco_band_chart(pl.DataFrame({"years": [3, 4], "case": ["a", "a"], "p5": [1.0, 2.0],
                                                           "p50": [2.0, 3.0], "p95": [3.0, 4.0]}))
    yield "tornado_chart", c.tornado_chart(il.economics.tornado(names=["life_years", "utilization"]))


@pytest.mark.parametrize(("name", "chart"), list(_charts()), ids=lambda v: v if isinstance(v, str) else "")
def test_quantitative_axes_carry_one_title_with_a_unit(name, chart):
    assert not axis_problems(chart), f"{name}: {axis_problems(chart)}"


def _strip_one_unit(spec: dict) -> str | None:
    """Plant a fault: drop the bracketed unit from the first titled quantitative x/y axis of
    ``spec`` (in place, every layer that shares the title); the title it changed."""
    import re

    for view in _views(spec):
        for enc in _encodings(view):
            for ch in POSITION:
                e = enc.get(ch)
                if isinstance(e, dict) and e.get("type") == "quantitative" and e.get("title"):
                    old = e["title"]
                    for other in _encodings(view):   # the same axis in the other layers
                        o = other.get(ch)
                        if isinstance(o, dict) and o.get("title") == old:
                            o["title"] = re.sub(r"\s*\[[^\]]*\]\s*$", "", old)
                    return old
    return None


def _quantitative_position(spec) -> bool:
    return any(isinstance(e.get(ch), dict) and e[ch].get("type") == "quantitative"
               for e in _encodings(spec) for ch in POSITION)


_CHARTS = list(_charts())
# the check reads quantitative x / y axes; the GEMM heatmap's are ordinal (M × N), checked below
_ORDINAL_ONLY = [(n, c) for n, c in _CHARTS if not _quantitative_position(c.to_dict())]


@pytest.mark.parametrize(("name", "chart"), [(n, c) for n, c in _CHARTS if n not in dict(_ORDINAL_ONLY)],
                         ids=lambda v: v if isinstance(v, str) else "")
def test_a_planted_unitless_axis_fails_the_check(name, chart):
    """Each chart function's check can fail: with one axis's unit removed, it does."""
    spec = chart.to_dict()
    title = _strip_one_unit(spec)
    assert title is not None, f"{name}: no titled quantitative axis to plant in"
    assert axis_problems(spec), f"{name}: {title!r} without its unit passed the check"


def test_charts_without_a_quantitative_axis_title_their_units_too():
    """The charts the planted-unit check cannot read (ordinal x and y: only the GEMM heatmap)
    still give every position and colour title a unit."""
    assert [n for n, _ in _ORDINAL_ONLY] == ["gemm_efficiency_heatmap"]
    for name, chart in _ORDINAL_ONLY:
        spec = chart.to_dict()
        titles = [e[ch]["title"] for e in _encodings(spec) for ch in (*POSITION, "color")
                  if isinstance(e.get(ch), dict) and "title" in e[ch]]
        assert len(titles) == 3, (name, titles)
        assert all(_has_unit(t) for t in titles), (name, titles)


def test_the_check_catches_differing_layer_titles():
    import altair as alt

    df = alt.Data(values=[{"a": 1.0, "b": 3.0}, {"a": 2.0, "b": 4.0}])
    one = alt.Chart(df).mark_line().encode(x=alt.X("a:Q", title="a [s]"), y=alt.Y("b:Q", title="b [W]"))
    two = alt.Chart(df).mark_point().encode(x="a:Q", y=alt.Y("b:Q", title="b, measured [W]"))
    assert axis_problems(one) == []
    assert axis_problems(one + two) == ["y: layers titled differently ['b [W]', 'b, measured [W]']"]
    assert axis_problems(alt.Chart(df).mark_line().encode(x="a:Q", y=alt.Y("b:Q", title="b"))) == [
        "x: a quantitative axis without a title", "y: no unit in 'b'"]


def test_parity_chart_says_what_its_bands_are():
    """The grey bands of notebook 04's parity chart have no legend: the subtitle names them,
    from the bounds the validation uses; the chart's plain-text form keeps the title's text."""
    from infra_lab.charts.base import _light_renderer

    b = il.validation.STEP_TIME_BOUNDS_PCT
    v = pl.DataFrame({"case": ["a"], "split": ["test"], "table": ["Table 5"], "measured_step_time_s": [1.0],
                      "predicted_step_time_s": [1.1], "error_pct": [10.0]})
    spec = il.charts.parity_chart(v).to_dict()
    assert f"±{b['median']:g} %" in spec["title"]["subtitle"] and f"±{b['worst']:g} %" in spec["title"]["subtitle"]
    assert _light_renderer(spec)["text/plain"] == "<altair chart: Predicted vs measured step time>"


def test_the_notebook_check_catches_a_unitless_axis():
    """A chart an executed notebook shows, read back from its HTML output: a unit-less axis
    (as notebook 08's served-token axis was) is caught, a titled one passes, and so is one an
    explorer draws (its Output widget's saved outputs)."""
    import altair as alt
    import nbformat

    from infra_lab.charts.base import _light_renderer

    df = alt.Data(values=[{"a": 1.0, "b": 3.0}])
    good = alt.Chart(df, title="ok").mark_point().encode(x=alt.X("a:Q", title="capex [USD]"),
                                                          y=alt.Y("b:Q", title="time [days]"))
    bad = good.encode(y=alt.Y("b:Q", title="owned USD per million served tokens")).properties(title="planted")
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("pass", outputs=[nbformat.v4.new_output(
        "display_data", data=_light_renderer(ch.to_dict()))]) for ch in (good, bad)]
    assert executed_chart_problems(nb) == ["cell 1 (planted): y: no unit in 'owned USD per million served tokens'"]
    # an explorer's chart lives in its Output widget's saved state, not in the cell
    in_widget = bad.properties(title="planted in an explorer")
    nb.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json": {"state": {"0123456789ab": {
        "model_name": "OutputModel", "state": {"outputs": [nbformat.v4.new_output(
            "display_data", data=_light_renderer(in_widget.to_dict()))]}}}}}
    assert executed_chart_problems(nb)[1:] == [
        "widget OutputModel 01234567 (planted in an explorer): y: no unit in 'owned USD per million served tokens'"]
