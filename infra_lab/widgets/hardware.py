"""Accelerator explorer: choose a metric, a precision and a comparison set."""

from __future__ import annotations

import html
from typing import TYPE_CHECKING

import ipywidgets as W

from .. import catalog
from ..catalog import PEAK_PRECISIONS
from ..cluster import METRICS, PRECISION_METRICS, accelerator_metrics
from ..errors import ValidationError

if TYPE_CHECKING:
    import altair as alt

__all__ = ["accelerator_explorer", "accelerator_update", "accelerator_chart"]

DEFAULT_SET = ["MI300X", "H100-SXM", "H200-SXM", "B200", "MI325X", "MI355X"]


def accelerator_update(metric: str, precision: str, names: list[str]) -> alt.LayerChart:
    """The chart the explorer shows: :func:`infra_lab.charts.accelerator_bars` over
    :func:`infra_lab.cluster.accelerator_metrics` (no modelling here). An accelerator without
    the metric (the format not supported, no sourced peak at ``precision``, or no TDP) is left
    out and the title names it and why; when none of them has it, a ValidationError says so."""
    return _chart_and_left_out(metric, precision, names)[0]


def _chart_and_left_out(metric: str, precision: str, names: list[str]):
    """(chart, accelerators left out) of :func:`accelerator_update`: the explorer's status line
    names the left-out parts without building the metrics frame a second time."""
    from .. import charts

    if metric not in METRICS:
        from ..errors import unknown

        raise unknown("metric", metric, METRICS)
    df = accelerator_metrics(list(names), precision=precision)
    unit, desc = METRICS[metric]
    missing = left_out(df, metric)
    if missing == list(dict.fromkeys(df["accelerator"])):
        what = f"a dense {precision} peak" + (" and a TDP" if metric == "tflops_per_kW" else "")
        raise ValidationError(f"metric = {metric!r}: none of the accelerators chosen has {what} "
                              f"({_why(metric, precision, missing)}); choose another precision, metric or accelerator")
    # the precision only where the metric depends on it: "HBM capacity [GB] — fp4" read as if it did
    title = f"{desc} [{unit}]" + (f" — {precision}" if metric in PRECISION_METRICS else "")
    if missing:
        title += f" (left out, {_why(metric, precision, missing)})"
    return charts.accelerator_bars(df, metric, title=title), missing


def left_out(df, metric: str) -> list[str]:
    """The accelerators of an :func:`~infra_lab.cluster.accelerator_metrics` frame with no
    row for ``metric``, in the frame's order."""
    have = set(df.filter(df["metric"] == metric)["accelerator"])
    return [a for a in dict.fromkeys(df["accelerator"]) if a not in have]


def _why(metric: str, precision: str, missing: list[str]) -> str:
    """Why each accelerator of ``missing`` has no ``metric`` at ``precision``, grouped: the part
    does not support the format (:meth:`infra_lab.catalog.Accelerator.peak_status`), no source
    gives its peak, or (peak per kW) no source gives its TDP."""
    groups: dict[str, list[str]] = {}
    for n in missing:
        st = catalog.accelerator(n).peak_status(precision)
        why = (f"{precision} not supported" if st == "not supported"
               else f"no sourced dense {precision} peak" if st == "no sourced figure" else "no sourced TDP")
        groups.setdefault(why, []).append(n)
    return "; ".join(f"{why}: {', '.join(ns)}" for why, ns in groups.items())


def accelerator_explorer(metric: str = "peak_tflops", precision: str = "bf16",
                         names: list[str] | None = None) -> W.VBox:
    """An ipywidgets box: metric and precision dropdowns, a multi-select of accelerators and
    a chart pane that redraws on every change. Returns the box; its ``update`` attribute is
    the callback (callable directly in tests)."""
    from ..charts import ChartPane

    names = list(names or DEFAULT_SET)
    w_metric = W.Dropdown(options=[(f"{k} [{v[0]}]", k) for k, v in METRICS.items()], value=metric,
                          description="metric")
    w_prec = W.Dropdown(options=list(PEAK_PRECISIONS), value=precision, description="precision",
                        disabled=metric not in PRECISION_METRICS)
    w_set = W.SelectMultiple(options=catalog.accelerator_names(), value=tuple(names), rows=8,
                             description="compare")
    status = W.HTML()
    pane = ChartPane(accelerator_update(metric, precision, names))

    def update(*_):
        w_prec.disabled = w_metric.value not in PRECISION_METRICS   # HBM and scale-up: the same at every precision
        chosen = list(w_set.value)
        if not chosen:
            status.value = "<i>choose at least one accelerator</i>"
            pane.clear()    # no stale chart of the last set beside "choose at least one"
            return None
        try:
            chart, missing = _chart_and_left_out(w_metric.value, w_prec.value, chosen)
        except ValidationError as e:     # none of the chosen parts has the metric: say so, show nothing
            pane.clear()
            status.value = f"<i>{html.escape(str(e))}</i>"
            return None
        pane.show(chart)
        status.value = (f"{len(chosen) - len(missing)} of {len(chosen)} accelerators, {w_metric.value}"
                        + (f" at {w_prec.value}" if w_metric.value in PRECISION_METRICS else "")
                        + (f"; left out ({html.escape(_why(w_metric.value, w_prec.value, missing))})"
                           if missing else ""))
        return chart

    for w in (w_metric, w_prec, w_set):
        w.observe(update, names="value")
    box = W.VBox([W.HBox([W.VBox([w_metric, w_prec]), w_set]), status, pane.widget])
    box.update = update
    box.controls = {"metric": w_metric, "precision": w_prec, "compare": w_set}
    box.chart = pane
    return box


accelerator_chart = accelerator_update
"""The former name of :func:`accelerator_update` (update functions are ``<domain>_update``)."""
