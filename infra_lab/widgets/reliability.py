"""Reliability explorer: GPUs, calibration, early-deployment factor, checkpoint bandwidth and
restart profile; each change reruns the closed form and a Monte Carlo."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import ipywidgets as W

from .. import reliability as R
from ._layout import fit_labels

if TYPE_CHECKING:
    import altair as alt

    from ..models import ModelSpec
    from ..scenario import Scenario

__all__ = ["reliability_explorer", "reliability_update"]

GPU_CHOICES = (1024, 2048, 4096, 8192, 16384, 32768, 65536, 100000)
MC_FAILURE_BUDGET = 1_000_000
"""Simulated failures per widget update (about 0.2 s of kernel time): where a run has many
interruptions the explorer simulates fewer runs (at least 10), and none when ten runs would
exceed the budget (the closed-form interval sweep is drawn instead)."""


def reliability_update(gpus: int, calibration: str, early_deployment: float,
                       write_GBps_per_node: float, restart: str, *, hardware: Any,
                       work_hours: float,
                       model: Scenario | ModelSpec | str | None = None,
                       optimizer: str | None = None, storage: str = "shared-fs",
                       n_runs: int = 2000, seed: int = 0) -> tuple[dict[str, Any], alt.LayerChart]:
    """What the explorer shows for one setting: calls
    :func:`infra_lab.reliability.plan_run`, :func:`~infra_lab.reliability.simulate` and the
    run-length chart (no modelling here).

    Parameters
    ----------
    gpus : GPUs in the cluster [-]; a Scenario is scaled with
        :func:`~infra_lab.reliability.scale_scenario`, other hardware with ``scale_hardware``
    calibration : "llama3" or "fleet"
    early_deployment : early-deployment factor [-] (>= 1)
    write_GBps_per_node : checkpoint write bandwidth per node [GB/s]
    restart : restart profile name
    hardware, work_hours, model, optimizer, storage : see ``plan_run``
    n_runs, seed : Monte Carlo runs [-] (fewer where runs have many interruptions, see
        :data:`MC_FAILURE_BUDGET`) and seed

    Returns
    -------
    (summary dict, alt.Chart) : the dict is :meth:`RunPlan.summary` plus ``mc_runs`` [-],
    ``mc_goodput`` [-] (the simulated runs' work over their mean wall-clock time: the closed
    form's definition, work / expected wall time, which it estimates) and
    ``mc_wall_days_p95`` [day]; NaN for both when no run is simulated
    """
    from .. import charts
    from ..reliability.checkpoint import whole_scenario
    from ..scenario import Scenario

    hardware = whole_scenario(hardware)   # a scenario by name, file or dict: scaled as the object is
    if isinstance(hardware, Scenario):
        hw = R.scale_scenario(hardware, gpus)
        mdl = None if model is None else model
    else:
        hw, mdl = R.scale_hardware(hardware, gpus), model
    plan = R.plan_run(hw, work_hours, model=mdl, optimizer=optimizer, storage=storage,
                      calibration=calibration, early_deployment=early_deployment,
                      write_GBps_per_node=write_GBps_per_node, restart=restart)
    s = plan.summary()
    from .._validate import integer

    # checked, not cast: 0 or -5 read as 'too many interruptions per run', 2.5 as 2
    n = min(integer("n_runs", n_runs), int(MC_FAILURE_BUDGET / max(plan.expected_failures, 1.0)))
    if n < 10:  # too many interruptions per run to simulate interactively
        s.update(mc_runs=0, mc_goodput=float("nan"), mc_wall_days_p95=float("nan"))
        chart = charts.goodput_vs_interval(R.interval_sweep(plan, case=calibration), title=(
            f"{gpus:,} GPUs, {calibration}: {plan.expected_failures:,.0f} interruptions per run, "
            "closed form only"))
        return s, chart
    runs = R.simulate(plan, n, seed=seed)
    s["mc_runs"] = n
    # work over the mean wall time, as the closed form's goodput (work / expected wall time):
    # the mean of each run's work / wall is larger by Jensen's inequality (visibly so
    # at 8 GPUs with a slow checkpoint save), which read as a disagreement between the two figures
    # the line prints side by side
    s["mc_goodput"] = plan.work_s / 3600 / float(runs["wall_h"].mean())
    s["mc_wall_days_p95"] = float(runs["wall_h"].quantile(0.95)) / 24
    chart = charts.run_length_histogram(runs, plan.expected_wall_s / 3600,
                                        title=f"{gpus:,} GPUs, {calibration}: run length over {n:,} simulated runs")
    return s, chart


def _duration(hours: float, digits: int = 1) -> str:
    """A duration given in hours, in hours from 1 h and in minutes below (at 100,000 GPUs under
    the fleet calibration the line read "MTBI 0.0 h" and "every 0.01 h" for 2.8 and 0.9 min)."""
    return f"{hours:,.{digits}f} h" if hours >= 1 else f"{hours * 60:,.1f} min"


def _fmt(s: dict) -> str:
    mc = (f"Monte Carlo {s['mc_goodput']:.2%}, {s['mc_runs']:,} runs" if s["mc_runs"]
          else "too many interruptions per run for an interactive Monte Carlo")
    p95 = f" (p95 {s['mc_wall_days_p95']:,.2f})" if s["mc_runs"] else ""
    return (f"<b>{s['gpus']:,} GPUs, {s['calibration']}</b>: MTBI {_duration(s['mtbi_h'])} "
            f"({s['interruptions_per_day']:,.2f}/day, {s['expected_interruptions']:,.1f} over the run) · "
            f"save {s['ckpt_blocking_s']:,.0f} s every {_duration(s['interval_h'], 2)} · "
            f"mean restart {s['mean_restart_min']:.1f} min · "
            f"goodput {s['goodput']:.2%} ({mc}) · run {s['wall_days']:,.2f} days{p95} for "
            f"{s['work_days']:,.2f} days of failure-free work (the same at every cluster size)")


def reliability_explorer(hardware: Any, work_hours: float, *,
                         model: Scenario | ModelSpec | str | None = None,
                         optimizer: str | None = None,
                         storage: str = "shared-fs", n_runs: int = 2000, seed: int = 0) -> W.VBox:
    """An ipywidgets box: GPUs, calibration, early-deployment factor, checkpoint write
    bandwidth per node and restart profile, a summary line and the run-length histogram.
    Sliders update on release (``continuous_update=False``: each change runs a Monte Carlo).
    Returns the box; ``box.update`` is the callback (callable directly in tests)."""
    from ..charts import ChartPane

    st = R.storage_options()
    bw0 = float(st.filter(st["name"] == storage)["client_write_GBps_per_node"][0])
    profiles = R.restart_profiles()["profile"].to_list()
    w_gpus = W.SelectionSlider(options=list(GPU_CHOICES), value=GPU_CHOICES[0], description="GPUs",
                               continuous_update=False)
    w_cal = W.Dropdown(options=list(R.calibration_names()), value="llama3", description="calibration")
    w_early = W.FloatSlider(value=1.0, min=1.0, max=3.0, step=0.25, description="early-deploy [×]",
                            continuous_update=False)
    w_bw = W.FloatLogSlider(value=bw0, base=10, min=-2, max=2, step=0.1, description="write [GB/s per node]",
                            continuous_update=False)
    w_rs = W.Dropdown(options=profiles, value="baseline", description="restart")
    fit_labels((w_gpus, w_cal, w_early, w_bw, w_rs))
    status = W.HTML()
    kw = dict(hardware=hardware, work_hours=work_hours, model=model, optimizer=optimizer,
              storage=storage, n_runs=n_runs, seed=seed)

    def values():
        return w_gpus.value, w_cal.value, w_early.value, w_bw.value, w_rs.value

    s, chart = reliability_update(*values(), **kw)
    status.value = _fmt(s)
    pane = ChartPane(chart)

    def update(*_):
        s, chart = reliability_update(*values(), **kw)
        status.value = _fmt(s)
        pane.show(chart)
        return s

    for w in (w_gpus, w_cal, w_early, w_bw, w_rs):
        w.observe(update, names="value")
    box = W.VBox([W.HBox([W.VBox([w_gpus, w_cal, w_early]), W.VBox([w_bw, w_rs])]), status, pane.widget])
    box.update = update
    box.controls = {"gpus": w_gpus, "calibration": w_cal, "early_deployment": w_early,
                    "write_GBps_per_node": w_bw, "restart": w_rs}
    box.chart = pane
    return box
