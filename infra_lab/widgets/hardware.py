"""Accelerator explorer: choose a metric, a precision and a comparison set."""

from __future__ import annotations

import ipywidgets as W

from .. import catalog
from ..catalog import PEAK_PRECISIONS
from ..cluster import METRICS, accelerator_metrics

__all__ = ["accelerator_explorer", "accelerator_update", "accelerator_chart"]

DEFAULT_SET = ["MI300X", "H100-SXM", "H200-SXM", "B200", "MI325X", "MI355X"]


def accelerator_update(metric: str, precision: str, names: list[str]):
    """The chart the explorer shows: :func:`infra_lab.charts.accelerator_bars` over
    :func:`infra_lab.cluster.accelerator_metrics` (no modelling here)."""
    from .. import charts

    df = accelerator_metrics(list(names), precision=precision)
    unit, desc = METRICS[metric]
    return charts.accelerator_bars(df, metric, title=f"{desc} [{unit}] — {precision}")


def accelerator_explorer(metric: str = "peak_tflops", precision: str = "bf16", names: list[str] | None = None):
    """An ipywidgets box: metric and precision dropdowns, a multi-select of accelerators and
    a chart pane that redraws on every change. Returns the box; its ``update`` attribute is
    the callback (callable directly in tests)."""
    from ..charts import ChartPane

    names = list(names or DEFAULT_SET)
    w_metric = W.Dropdown(options=[(f"{k} [{v[0]}]", k) for k, v in METRICS.items()], value=metric,
                          description="metric")
    w_prec = W.Dropdown(options=list(PEAK_PRECISIONS), value=precision, description="precision")
    w_set = W.SelectMultiple(options=catalog.accelerator_names(), value=tuple(names), rows=8,
                             description="compare")
    status = W.HTML()
    pane = ChartPane(accelerator_update(metric, precision, names))

    def update(*_):
        chosen = list(w_set.value)
        if not chosen:
            status.value = "<i>choose at least one accelerator</i>"
            return None
        chart = accelerator_update(w_metric.value, w_prec.value, chosen)
        pane.show(chart)
        status.value = f"{len(chosen)} accelerators, {w_metric.value} at {w_prec.value}"
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
