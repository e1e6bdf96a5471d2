"""Reliability explorer: GPUs, failure-rate multiplier, checkpoint bandwidth, restart time."""

from __future__ import annotations

import ipywidgets as W

from .. import reliability as R
from ._layout import fit_labels

__all__ = ["reliability_explorer", "reliability_update"]

GPU_CHOICES = (1024, 2048, 4096, 8192, 16384, 32768, 65536, 100000)


def reliability_update(gpus: int, multiplier: float, write_GBps_per_node: float, restart_min: float, *,
                       hardware, work_hours: float, checkpoint_size_bytes: float, storage: str = "shared-fs",
                       n_runs: int = 2000, seed: int = 0):
    """What the explorer shows for one setting: calls :func:`infra_lab.reliability.plan_run`,
    :func:`~infra_lab.reliability.simulate` and the run-length chart (no modelling here).

    Parameters
    ----------
    gpus : GPUs in the cluster [-]; nodes = gpus / gpus_per_node
    multiplier : failure-rate multiplier on the Llama 3 calibration [-]
    write_GBps_per_node : checkpoint write bandwidth per node [GB/s]
    restart_min : restart time, detection to training again, every class [min]
    hardware, work_hours, checkpoint_size_bytes, storage : see ``plan_run``

    Returns
    -------
    (summary dict, alt.Chart)
    """
    from .. import charts

    plan = R.plan_run(R.scale_hardware(hardware, gpus), work_hours, checkpoint_size_bytes=checkpoint_size_bytes,
                      storage=storage, multiplier=multiplier, write_GBps_per_node=write_GBps_per_node,
                      restart_s=restart_min * 60.0)
    runs = R.simulate(plan, n_runs, seed=seed)
    s = plan.summary()
    s["mc_goodput_mean"] = float(runs["goodput"].mean())
    s["mc_wall_days_p95"] = float(runs["wall_h"].quantile(0.95)) / 24
    chart = charts.run_length_histogram(runs, plan.expected_wall_s / 3600,
                                        title=f"{gpus:,} GPUs: run length over {n_runs:,} simulated runs")
    return s, chart


def _fmt(s: dict) -> str:
    return (f"<b>{s['gpus']:,} GPUs</b>: MTBI {s['mtbi_h']:.1f} h ({s['interruptions_per_day']:.2f}/day) · "
            f"save {s['ckpt_blocking_s']:.0f} s every {s['interval_h']:.2f} h · "
            f"goodput {s['goodput']:.2%} (Monte Carlo {s['mc_goodput_mean']:.2%}) · "
            f"run {s['wall_days']:.2f} days (p95 {s['mc_wall_days_p95']:.2f})")


def reliability_explorer(hardware, work_hours: float, checkpoint_size_bytes: float, *,
                         storage: str = "shared-fs", n_runs: int = 2000, seed: int = 0):
    """An ipywidgets box with sliders for GPUs, failure-rate multiplier, checkpoint write
    bandwidth per node and restart time, a summary line and the run-length histogram.
    Returns the box; ``box.update`` is the callback (callable directly in tests)."""
    from ..charts import ChartPane

    st = R.storage_options()
    bw0 = float(st.filter(st["name"] == storage)["write_GBps_per_node"][0])
    w_gpus = W.SelectionSlider(options=list(GPU_CHOICES), value=GPU_CHOICES[0], description="GPUs")
    w_mult = W.FloatLogSlider(value=1.0, base=10, min=-1, max=1, step=0.05, description="failure ×")
    w_bw = W.FloatLogSlider(value=bw0, base=10, min=-1, max=2, step=0.05, description="write GB/s/node")
    w_rs = W.FloatSlider(value=20.0, min=1.0, max=240.0, step=1.0, description="restart [min]")
    fit_labels((w_gpus, w_mult, w_bw, w_rs))
    status = W.HTML()
    kw = dict(hardware=hardware, work_hours=work_hours, checkpoint_size_bytes=checkpoint_size_bytes,
              storage=storage, n_runs=n_runs, seed=seed)
    s, chart = reliability_update(w_gpus.value, w_mult.value, w_bw.value, w_rs.value, **kw)
    status.value = _fmt(s)
    pane = ChartPane(chart)

    def update(*_):
        s, chart = reliability_update(w_gpus.value, w_mult.value, w_bw.value, w_rs.value, **kw)
        status.value = _fmt(s)
        pane.show(chart)
        return s

    for w in (w_gpus, w_mult, w_bw, w_rs):
        w.observe(update, names="value")
    box = W.VBox([W.HBox([W.VBox([w_gpus, w_mult]), W.VBox([w_bw, w_rs])]), status, pane.widget])
    box.update = update
    box.controls = {"gpus": w_gpus, "multiplier": w_mult, "write_GBps_per_node": w_bw, "restart_min": w_rs}
    box.chart = pane
    return box
