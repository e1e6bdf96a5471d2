"""Expansion explorer: pick an option (platform, NIC, size, model) and read its numbers from a
precomputed sweep (``il.sweep(il.expansion.evaluate, ...)``): no modelling in the callback,
so a change answers in milliseconds."""

from __future__ import annotations

import html
from typing import TYPE_CHECKING, Any

import ipywidgets as W
import polars as pl

from ..errors import ValidationError
from ..expansion import METRICS, pareto_front
from ._layout import fit_labels

if TYPE_CHECKING:
    import altair as alt

__all__ = ["expansion_explorer", "expansion_update", "EXPLORER_ROWS"]

#: (column, label, format) shown for the chosen point.
EXPLORER_ROWS = (
    ("gpus", "GPUs", "{:,.0f}"),
    ("announced_not_shipped", "has announced-not-shipped parts", "{}"),
    ("plan", "best plan (tp·pp·ep, dp, micro-batch)", "{}"),
    ("mfu", "MFU [fraction of dense BF16 peak]", "{:.3f}"),
    ("run_days", "failure-free run [days]", "{:,.2f}"),
    ("goodput", "goodput", "{:.3f}"),
    ("wall_days", "expected wall clock [days]", "{:,.2f}"),
    ("facility_MW", "facility power, average [MW]", "{:,.2f}"),
    ("capex_usd", "capital cost [USD]", "{:,.0f}"),
    ("tco_usd", "TCO over the horizon [USD]", "{:,.0f}"),
    ("owned_usd_per_gpu_hour", "owned cost [USD per useful GPU-hour]", "{:,.3f}"),
    ("run_cost_usd", "the run, owned, with goodput losses [USD]", "{:,.0f}"),
    ("usd_per_m_trained_tokens", "owned cost [USD per million trained tokens]", "{:,.4f}"),
    ("contract_usd_per_gpu_hour", "contract rent [USD per GPU-hour]", "{:,.3f}"),
    ("rented_run_cost_usd", "the run at the contract rent [USD]", "{:,.0f}"),
    ("ibm_irr", "operator IRR, decay path [per year, pre-tax]", "{:.1%}"),
    ("ibm_payback_years", "operator payback from operating cash, decay path [years]", "{:,.2f}"),
    ("serve_plan", "serving, one node (vLLM, within the latency limit)", "{}"),
    ("served_tokens_per_s_cluster", "serving capacity, whole cluster [output tokens/s]", "{:,.0f}"),
    ("usd_per_m_served_tokens", "owned cost [USD per million served tokens]", "{:,.4f}"),
    ("rented_usd_per_m_served_tokens", "at the contract rent [USD per million served tokens]", "{:,.4f}"),
)


def _point(frame: pl.DataFrame, platform: str, nic: str, gpus: int, model: str) -> dict:
    sel = frame.filter((pl.col("platform") == platform) & (pl.col("nic") == nic)
                       & (pl.col("target_gpus") == gpus) & (pl.col("model") == model))
    if sel.height != 1:
        raise ValidationError(f"no sweep point for platform={platform!r}, nic={nic!r}, "
                              f"gpus={gpus!r}, model={model!r} in the frame")
    return sel.row(0, named=True)


def _table_html(row: dict) -> str:
    if row.get("error"):
        return f"<b>this point failed:</b> {html.escape(str(row['error']))}"
    cells = []
    for col, label, fmt in EXPLORER_ROWS:
        v = row.get(col)
        txt = "—" if v is None else (fmt.format(v) if not isinstance(v, float) or v == v else "—")
        if col == "ibm_payback_years" and v is not None and v == float("inf"):
            txt = "never from operating cash (the IRR counts the sale at retirement)"
        cells.append(f"<tr><td style='padding-right:1em'>{html.escape(label)}</td>"
                     f"<td style='text-align:right'><b>{html.escape(txt)}</b></td></tr>")
    return "<table>" + "".join(cells) + "</table>"


def _missing_html(frame: pl.DataFrame, chosen: dict) -> str:
    """What the explorer says for a combination of its dropdowns that the sweep has no point
    for (each dropdown lists its column's values over the whole frame, and a sweep need not
    be a full grid): the sizes the frame has for the chosen platform, NIC and model."""
    same = frame.filter((pl.col("platform") == chosen["platform"]) & (pl.col("nic") == chosen["nic"])
                        & (pl.col("model") == chosen["model"]))
    sizes = sorted(same["target_gpus"].unique().to_list())
    where = f"{chosen['platform']}, {chosen['nic']}, {chosen['model']}"
    have = (f"it has {', '.join(f'{g:,}' for g in sizes)} GPUs (target) for {where}" if sizes
            else f"it has no point for {where} at any size")
    return (f"<b>not in the sweep:</b> {chosen['target_gpus']:,} GPUs (target) with {html.escape(where)}; "
            f"{html.escape(have)}. The chart still shows the last point.")


def expansion_update(frame: pl.DataFrame, platform: str, nic: str, gpus: int,
                     model: str) -> tuple[dict[str, Any], str, alt.LayerChart]:
    """The chosen point's row (dict), its table (HTML) and the cost-vs-time chart with the
    point circled (the callback's whole work; callable in tests)."""
    from .. import charts

    row = _point(frame, platform, nic, gpus, model)
    ok = frame.filter(pl.col("error").is_null() & (pl.col("model") == model))
    front = pareto_front(ok, "wall_days", "run_cost_usd")
    hl = None if row.get("error") else {"wall_days": row["wall_days"], "run_cost_usd": row["run_cost_usd"]}
    chart = charts.expansion_pareto(
        ok, "wall_days", "run_cost_usd", x_title="time to train, with failures [days]",
        y_title="owned cost of the run [USD]", front=front, highlight=hl,
        title=f"{model}: cost vs time to train (circled: the chosen option)")
    return row, _table_html(row), chart


def expansion_explorer(frame: pl.DataFrame) -> W.VBox:
    """An ipywidgets box reading a precomputed expansion sweep: dropdowns for platform, NIC,
    cluster size and model, the chosen point's numbers and the Pareto chart with it circled.

    ``frame`` is the sweep result joined with :func:`infra_lab.expansion.options` (columns
    platform, nic, target_gpus, model, announced_not_shipped, plan and :data:`METRICS`).
    A sweep need not be a full grid: a combination of the dropdowns with no point in the frame
    shows a message naming the sizes it has, and the chart keeps the last point.
    """
    from ..charts import ChartPane

    need = {"platform", "nic", "target_gpus", "model", "error", "plan", *METRICS}
    missing = sorted(need - set(frame.columns))
    if missing:
        raise ValidationError(f"expansion_explorer: frame lacks {missing}")
    opts = {c: sorted(frame[c].unique().to_list()) for c in ("platform", "nic", "target_gpus", "model")}
    w = {"platform": W.Dropdown(options=opts["platform"], description="platform"),
         "nic": W.Dropdown(options=opts["nic"], description="NIC"),
         "target_gpus": W.Dropdown(options=opts["target_gpus"], description="GPUs (target)"),
         "model": W.Dropdown(options=opts["model"], description="model")}
    fit_labels(w.values())
    first = frame.row(0, named=True)
    for k, c in w.items():
        c.value = first[k]
    table = W.HTML()
    row, tab, chart = expansion_update(frame, *(first[k] for k in w))
    table.value = tab
    pane = ChartPane(chart)

    def update(*_):
        chosen = {k: c.value for k, c in w.items()}
        try:
            _row, tab, chart = expansion_update(frame, *chosen.values())
        except ValidationError:   # a combination the sweep did not run: say so, keep the last chart
            table.value = _missing_html(frame, chosen)
            return None
        table.value = tab
        pane.show(chart)
        return _row

    for c in w.values():
        c.observe(update, names="value")
    box = W.VBox([W.HBox([W.VBox(list(w.values())), table]), pane.widget])
    box.update = update
    box.controls = w
    box.chart = pane
    return box
