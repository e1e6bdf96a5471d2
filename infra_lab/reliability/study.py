"""Studies built from the failure, checkpoint and run models: the run length from the training
model, the market price from economics, calibrations side by side, sweeps of restart and
checkpoint assumptions, bands over them, and the value of faster saves. Each returns a polars
frame that notebooks print and charts draw."""

from __future__ import annotations

import itertools
import math
from typing import TYPE_CHECKING, Any

from .._validate import keyword_names, keywords, sequence
from ..errors import ValidationError, short_repr
from ._data import number, parameter
from .checkpoint import RestartModel, RunPlan, plan_run, restart_model, restart_profiles

if TYPE_CHECKING:
    import os
    from collections.abc import Iterable

    import numpy.typing as npt
    import polars as pl

    from ..models import ModelSpec
    from ..scenario import HardwareConfig, Scenario

__all__ = [
    "run_hours", "scale_hardware", "scale_scenario", "market_price_usd_per_gpu_hour",
    "compare_calibrations", "scaling_table", "goodput_bands", "restart_sweep",
    "save_speedup_value", "save_value_table", "interval_sweep", "expansion_work_hours",
    "goodput_observations", "goodput_check",
]

_SUMMARY_COLS = ("gpus", "calibration", "mtbi_h", "interruptions_per_day", "ckpt_blocking_s",
                 "interval_h", "mean_restart_min", "spare_availability", "goodput", "wall_days",
                 "expected_interruptions")


def run_hours(scenario: Scenario | dict[str, Any] | str | os.PathLike[str], tokens: float) -> float:
    """Failure-free run time [h] of ``tokens`` on ``scenario``, from the training model
    (``il.estimate(scenario).days_to_train``): the one owner of run length.

    Parameters
    ----------
    scenario : Scenario (or its dict)
    tokens : tokens to train [tokens]

    Examples
    --------
    >>> import infra_lab as il
    >>> sc = il.load_scenario("zaya1-ibm-mi300x")
    >>> h = il.reliability.run_hours(sc, 1e12)
    >>> round(h, 6) == round(il.estimate(sc).days_to_train(1e12) * 24, 6)
    True
    """
    from ..training import estimate

    tokens = number("tokens", tokens)
    return estimate(scenario).days_to_train(tokens) * 24.0


def _scaled_nodes(hw, nodes: int) -> dict:
    """The [hardware] change that puts ``hw``'s node design on ``nodes`` nodes: the node count,
    and where a rack-scale domain (GB200/GB300 NVL72, MI450X Helios: 72 GPUs over trays of 4)
    would be left partly used and its ``domain_gpus`` is derived, the job's GPUs per domain as
    the network and training explorers take them
    (:func:`~infra_lab.scenario.hardware_table.whole_node_domain_gpus`: 1,024 GB200 are 16 racks
    of 64; the same ASSUMPTION, whole trays packed evenly). Without it a rack-scale cluster
    scaled to 1,024 or 16,384 GPUs was refused for not filling whole 72-GPU racks, and the
    reliability explorer, which offers those sizes, failed on every one of them."""
    from ..scenario.hardware_table import updated_table, whole_node_domain_gpus

    table = updated_table(hw, {"nodes": nodes})
    g, node, domain = nodes * hw.gpus_per_node, hw.gpus_per_node, hw.scaleup_domain
    if "domain_gpus" not in table and domain > node and g > domain and g % domain:
        return {"nodes": nodes, "domain_gpus": whole_node_domain_gpus(g, node, domain)}
    return {"nodes": nodes}


def scale_hardware(hardware: Any, gpus: int) -> HardwareConfig:
    """The same node design with ``gpus`` GPUs (nodes = ceil(gpus / gpus_per_node)); the node
    count is changed as :meth:`~infra_lab.scenario.Scenario.replace` changes it
    (:func:`~infra_lab.scenario.hardware_table.updated_table`): a ``domain_gpus`` held at the
    value the smaller cluster derived follows the new size (a 32-GPU GB200 cluster scaled to
    1,152 GPUs kept 32-GPU domains in place of NVL72 racks), one given otherwise is kept; a
    rack-scale cluster that would leave its racks partly used packs whole trays evenly
    (1,024 GB200: 16 racks of 64 GPUs, as the network and training explorers size it).

    Examples
    --------
    >>> hw = scale_hardware({"accelerator": "GB200", "nodes": 18, "gpus_per_node": 4}, 1024)
    >>> hw.world_size, hw.domain_gpus
    (1024, 64)
    """
    from .. import _validate as V
    from ..fabric import constant
    from ..scenario import HardwareConfig
    from ..scenario.hardware_table import updated_table
    from .failures import _as_hw

    hw = _as_hw(hardware)
    gpus = V.integer("gpus", gpus, hi=int(constant("max_world_gpus")))   # named as given, not as nodes
    return HardwareConfig.from_dict(updated_table(hw, _scaled_nodes(hw, max(1, math.ceil(gpus / hw.gpus_per_node)))))


def scale_scenario(scenario: Scenario | dict | str | os.PathLike, gpus: int) -> Scenario:
    """The Scenario on ``gpus`` GPUs (a whole number of nodes) with the same model, plan and
    micro-batches per step: dp and the global batch grow with the cluster.

    ``scenario`` is taken as every call that takes a scenario takes it
    (:func:`infra_lab.scenario.as_scenario`): a Scenario, its tables as a dict, a TOML/JSON
    path or a shipped scenario's name.

    Examples
    --------
    >>> import infra_lab as il
    >>> s = scale_scenario(il.load_scenario("zaya1-ibm-mi300x"), 16384)
    >>> s.hardware.nodes, s.parallelism.dp, s.training.global_batch
    (2048, 16384, 32768)
    """
    from ..scenario import as_scenario

    # a dict, a file or a shipped name as il.estimate takes them (the object only, before
    # December 2026: "expected a Scenario", with a dict's whole printout)
    scenario = as_scenario(scenario)
    if scenario.training is None or scenario.parallelism is None:
        # a serving scenario failed with AttributeError: 'NoneType' object has no attribute 'global_batch'
        raise ValidationError(
            f"scale_scenario: scenario {scenario.name!r} has no [training] table (a serving scenario?); "
            f"it scales a training scenario's dp and global batch: pass one with [training], or scale "
            f"the hardware alone with il.reliability.scale_hardware(scenario.hardware, gpus)")
    gpus = int(number("gpus", gpus, integer=True))
    hw, tr, par = scenario.hardware, scenario.training, scenario.parallelism
    if gpus % hw.gpus_per_node:
        raise ValidationError(f"gpus = {gpus}: must be a multiple of gpus_per_node = {hw.gpus_per_node}")
    steps = tr.global_batch // (tr.micro_batch * par.dp)  # micro-batches per step per rank
    new_dp = gpus // (par.tp * par.pp * par.cp)
    return scenario.replace(hardware=_scaled_nodes(hw, gpus // hw.gpus_per_node),
                            training={"global_batch": steps * tr.micro_batch * new_dp})


def market_price_usd_per_gpu_hour(accelerator: str = "MI300X",
                                  term: str = "on-demand") -> tuple[float, str]:
    """The cloud price of a GPU-hour [USD/GPU-h] from economics' one lookup
    (:func:`infra_lab.economics.cloud_price`, the median of the providers' current offers),
    and a line saying where it came from. Unknown accelerators or terms raise; no fallback.

    Examples
    --------
    >>> import infra_lab as il
    >>> price, note = il.reliability.market_price_usd_per_gpu_hour("MI300X")
    >>> price == il.economics.cloud_price("MI300X"), type(note).__name__
    (True, 'str')
    """
    from .. import economics

    price = economics.cloud_price(accelerator, term)
    n = economics.cloud_price_rows(accelerator, term).height
    return float(price), f"median of {n} current {term} offers, il.economics.cloud_price"


def _price(hardware, price_usd_per_gpu_hour) -> float:
    """A GPU-hour price [USD/GPU-h]: a number, or "owned" / "rented" for the economics model's
    price of the cluster's accelerator (:func:`infra_lab.serving.price_for`, the reader
    ``economics.run_cost``, ``il.serve`` and the CLI use; "owned" was refused here as "expected
    a positive number")."""
    if isinstance(price_usd_per_gpu_hour, str):
        from ..serving.costs import price_for
        from .failures import _as_hw

        return float(price_for(_as_hw(hardware).accelerator, price_usd_per_gpu_hour))
    return number("price_usd_per_gpu_hour", price_usd_per_gpu_hour)


def _items(field: str, value, what: str) -> list:
    """``value`` as a non-empty list (:func:`~infra_lab._validate.sequence`): an empty one gave a
    frame with no rows and no columns."""
    items = sequence(field, value, what)
    if not items:
        raise ValidationError(f"{field} = {value!r:.80}: expected at least one of the {what}")
    return items


def _summary_row(p: RunPlan, **extra) -> dict:
    s = p.summary()
    return {**extra, **{k: s[k] for k in _SUMMARY_COLS}}


def _plan_kw(where: str, kw: dict, *, sets: tuple[str, ...] = (), extra: tuple[str, ...] = ()) -> dict:
    """``kw`` checked against :func:`plan_run`'s keywords less those ``where`` sets itself
    (plus its own ``extra`` ones): a misspelt name gets "did you mean", not a TypeError."""
    return keywords(where, kw, (*keyword_names(plan_run, leave_out=sets), *extra))


def compare_calibrations(hardware: Any, work_hours: float, *,
                         calibrations: Iterable[str] | None = None, **plan_kw: Any) -> pl.DataFrame:
    """One row per calibration for the same run (see :func:`plan_run` for ``plan_kw``).

    Parameters
    ----------
    work_hours : failure-free run time [h] (e.g. il.reliability.run_hours), as plan_run's

    Returns
    -------
    polars.DataFrame: calibration, gpus, mtbi_h [h], interruptions_per_day [1/day],
    ckpt_blocking_s [s], interval_h [h], mean_restart_min [min], spare_availability [-],
    goodput [-], wall_days [day], expected_interruptions [-].

    Examples
    --------
    >>> import infra_lab as il
    >>> df = il.reliability.compare_calibrations(il.load_scenario("zaya1-ibm-mi300x"), 95.0)
    >>> df["calibration"].to_list()
    ['llama3', 'fleet']
    """
    import polars as pl

    from .failures import calibration_names

    plan_kw = _plan_kw("compare_calibrations", plan_kw, sets=("calibration",))
    cals = calibration_names() if calibrations is None else tuple(_items("calibrations", calibrations, "names"))
    rows = [_summary_row(plan_run(hardware, work_hours, calibration=c, **plan_kw)) for c in cals]
    return pl.DataFrame(rows).select("calibration", *[c for c in _SUMMARY_COLS if c != "calibration"])


def _sized(hardware, model, gpus, checkpoint=None):
    """Hardware (and a Scenario-derived model) scaled to ``gpus``; a scenario by name, file or
    dict is the Scenario (:func:`~infra_lab.reliability.checkpoint.whole_scenario`). With a
    ``checkpoint`` given (bytes or an Estimate) and no ``model``, the scenario does not size the
    checkpoint too: plan_run shards the bytes given over the scaled cluster (before, the
    scenario went in as model= and plan_run refused "model= would size it again", a keyword the
    user never gave)."""
    from ..scenario import Scenario
    from .checkpoint import whole_scenario

    hardware = whole_scenario(hardware)
    if isinstance(hardware, Scenario):
        sc = scale_scenario(hardware, gpus)
        if checkpoint is not None and model is None:
            return sc, None
        return sc, (sc if isinstance(model, Scenario) or model is None else model)
    return scale_hardware(hardware, gpus), model


def scaling_table(hardware: Any, gpu_counts: Iterable[int], work_hours: float, *,
                  model: Scenario | ModelSpec | str | None = None, **plan_kw: Any) -> pl.DataFrame:
    """Interruptions, optimal interval and goodput for the same node design at several GPU
    counts, each running ``work_hours`` of failure-free work.

    Parameters
    ----------
    hardware : Scenario (scaled with :func:`scale_scenario`; its checkpoint is resharded, or
        ``checkpoint=`` bytes / an ``il.estimate`` result sharded evenly at each count) or
        HardwareConfig/dict (scaled with :func:`scale_hardware`; give ``model`` or ``checkpoint``)
    gpu_counts : GPU counts [-]
    work_hours : failure-free work per run [h]
    model : preset/ModelSpec for the checkpoint (data parallel over all GPUs)

    Returns
    -------
    polars.DataFrame: gpus, calibration, mtbi_h, interruptions_per_day, ckpt_blocking_s,
    interval_h, mean_restart_min, spare_availability, goodput, wall_days, expected_interruptions.

    Examples
    --------
    >>> import infra_lab as il
    >>> df = il.reliability.scaling_table(il.load_scenario("zaya1-ibm-mi300x"), [1024, 8192], 95.0)
    >>> df["gpus"].to_list()
    [1024, 8192]
    """
    import polars as pl

    plan_kw = _plan_kw("scaling_table", plan_kw, sets=("model",))
    rows = []
    for n in _items("gpu_counts", gpu_counts, "GPU counts"):
        hw, mdl = _sized(hardware, model, n, plan_kw.get("checkpoint"))
        rows.append(_summary_row(plan_run(hw, work_hours, model=mdl, **plan_kw)))
    return pl.DataFrame(rows)


def goodput_bands(hardware: Any, gpu_counts: Iterable[int], work_hours: float, *,
                  model: Scenario | ModelSpec | str | None = None,
                  calibrations: Iterable[str] | None = None,
                  restarts: Iterable[str] | None = None,
                  early_deployments: Iterable[float] = (1.0,), **plan_kw: Any) -> pl.DataFrame:
    """Every combination of GPU count × calibration × restart profile × early-deployment
    factor, closed form.

    Parameters
    ----------
    restarts : profile names or RestartModels (default: every profile of
        :func:`infra_lab.reliability.restart_profiles`)
    gpu_counts : the GPU counts to sweep [GPUs], a list of positive integers, e.g. [1024, 4096]
    work_hours : failure-free run time [h], as plan_run's
    early_deployments : early-deployment factors to sweep [-]
    (others as :func:`scaling_table`)

    Returns
    -------
    polars.DataFrame: the :func:`scaling_table` columns plus restart (profile name),
    early_deployment. Group by gpus (and calibration) for the bands.

    Examples
    --------
    >>> import infra_lab as il
    >>> df = il.reliability.goodput_bands(il.load_scenario("zaya1-ibm-mi300x"), [1024, 4096], 95.0)
    >>> sorted(set(df["gpus"].to_list())), bool(df["goodput"].is_between(0, 1).all())
    ([1024, 4096], True)
    """
    import polars as pl

    from .failures import calibration_names

    plan_kw = _plan_kw("goodput_bands", plan_kw, sets=("model", "calibration", "restart", "early_deployment"))
    cals = calibration_names() if calibrations is None else tuple(_items("calibrations", calibrations, "names"))
    rs = (tuple(restart_profiles()["profile"].to_list()) if restarts is None
          else tuple(_items("restarts", restarts, "restart profiles")))
    for r in rs:
        if not isinstance(r, (str, RestartModel)):
            raise ValidationError(f"restarts: {r!r:.60} is neither a restart profile name nor a RestartModel")
    gpu_counts = _items("gpu_counts", gpu_counts, "GPU counts")
    early_deployments = _items("early_deployments", early_deployments, "multipliers >= 1")
    rows = []
    for n in gpu_counts:
        hw, mdl = _sized(hardware, model, n, plan_kw.get("checkpoint"))
        for cal, r, ed in itertools.product(cals, rs, early_deployments):
            name = r if isinstance(r, str) else (r.profile or "custom")
            p = plan_run(hw, work_hours, model=mdl, calibration=cal, restart=r,
                         early_deployment=ed, **plan_kw)
            rows.append(_summary_row(p, restart=name, early_deployment=float(ed)))
    return pl.DataFrame(rows)


def restart_sweep(hardware: Any, work_hours: float, *, field: str, values: Iterable[float],
                  profile: str = "baseline",
                  calibrations: Iterable[str] | None = None, **plan_kw: Any) -> pl.DataFrame:
    """Goodput as one restart field is swept (e.g. ``collective_timeout_s`` from 30 to 1,800 s
    with ``health_check_period_s=None``), per calibration.

    Parameters
    ----------
    field : a :class:`RestartModel` field ("crash_detect_s", "collective_timeout_s",
        "health_check_period_s", "spare_swap_s", "relaunch_s", "repair_s", "hot_spares"),
        or "restart_s": one restart time for every class (detection to training again)
    values : the values to sweep (in that field's unit)
    profile : the profile the other fields come from
    plan_kw : passed to :func:`plan_run`; ``restart_overrides`` (a dict) sets other fields
    work_hours : failure-free run time [h], as plan_run's

    Returns
    -------
    polars.DataFrame: calibration, <field>, value, mean_restart_min [min], goodput [-],
    wall_days [day], expected_interruptions [-], mtbi_h [h].

    Examples
    --------
    >>> import infra_lab as il
    >>> df = il.reliability.restart_sweep(il.load_scenario("zaya1-ibm-mi300x"), 95.0,
    ...                               field="relaunch_s", values=[60.0, 600.0])
    >>> df.columns[:3]
    ['calibration', 'field', 'value']
    """
    import polars as pl

    from .failures import calibration_names

    plan_kw = _plan_kw("restart_sweep", plan_kw, sets=("calibration", "restart", "restart_s"),
                       extra=("restart_overrides",))
    overrides = dict(plan_kw.pop("restart_overrides", {}))
    if not isinstance(field, str):
        raise ValidationError(f"field = {field!r:.60}: expected the name of a restart-model field, e.g. 'relaunch_s'")
    values = _items("values", values, f"values of {field}")
    cals = calibration_names() if calibrations is None else tuple(_items("calibrations", calibrations, "names"))
    rows = []
    for v in values:
        if field == "restart_s":
            rm, uniform = restart_model(profile, **overrides), v
        else:
            rm, uniform = restart_model(profile, **{**overrides, field: v}), None
        for cal in cals:
            p = plan_run(hardware, work_hours, calibration=cal, restart=rm, restart_s=uniform, **plan_kw)
            s = p.summary()
            rows.append({"calibration": cal, "field": field, "value": math.inf if v is None else float(v),
                         "mean_restart_min": s["mean_restart_min"], "goodput": s["goodput"],
                         "wall_days": s["wall_days"], "expected_interruptions": s["expected_interruptions"],
                         "mtbi_h": s["mtbi_h"]})
    return pl.DataFrame(rows)


def save_speedup_value(hardware: Any, work_hours: float, *, price_usd_per_gpu_hour: float,
                       speedup: float = 10.0, **plan_kw: Any) -> pl.DataFrame:
    """What saves ``speedup``× faster are worth on one run.

    Parameters
    ----------
    price_usd_per_gpu_hour : price of a GPU-hour [USD/GPU-h] (e.g.
        :func:`market_price_usd_per_gpu_hour`), or "owned" / "rented": the economics model's
        price of the cluster's accelerator (:func:`infra_lab.serving.price_for`)
    speedup : save speed-up [-], > 0; below 1 the saves are slower and the "saved" columns
        come out negative (the cost of slower saves)
    plan_kw : passed to :func:`plan_run` (``save_speedup`` there is the baseline's)
    work_hours : failure-free run time [h], as plan_run's

    Returns
    -------
    polars.DataFrame with one row each for the baseline and the faster saves: case,
    ckpt_blocking_s [s], interval_h [h], goodput [-], wall_days [day], days_saved [day],
    gpu_hours_saved [GPU-h], usd_saved [USD]. Each case uses its own optimal interval.

    Examples
    --------
    >>> import infra_lab as il
    >>> v = il.reliability.save_speedup_value(il.load_scenario("zaya1-ibm-mi300x"), 95.0,
    ...                                   price_usd_per_gpu_hour=2.0)
    >>> v.columns
    ['case', 'ckpt_blocking_s', 'interval_h', 'goodput', 'wall_days', 'days_saved', 'gpu_hours_saved', 'usd_saved']
    """
    import polars as pl

    price = _price(hardware, price_usd_per_gpu_hour)
    sp = number("speedup", speedup)
    plan_kw = _plan_kw("save_speedup_value", plan_kw)
    base_sp = plan_kw.pop("save_speedup", 1.0)
    plans = [plan_run(hardware, work_hours, save_speedup=s, **plan_kw) for s in (base_sp, base_sp * sp)]
    saved_h = (plans[0].expected_wall_s - plans[1].expected_wall_s) / 3600
    rows = []
    for case, p, dh in (("baseline", plans[0], 0.0), (f"{sp:g}x faster saves" if sp >= 1 else f"{1 / sp:g}x slower saves", plans[1], saved_h)):
        rows.append({"case": case, "ckpt_blocking_s": p.ckpt_s, "interval_h": p.interval_s / 3600,
                     "goodput": p.goodput, "wall_days": p.expected_wall_s / 86400,
                     "days_saved": dh / 24, "gpu_hours_saved": dh * p.gpus,
                     "usd_saved": dh * p.gpus * price})
    return pl.DataFrame(rows)


def save_value_table(hardware: Any, work_hours: float, *, fixed_overheads_s: Iterable[float],
                     price_usd_per_gpu_hour: float,
                     speedup: float = 10.0, calibrations: Iterable[str] | None = None,
                     **plan_kw: Any) -> pl.DataFrame:
    """Value of ``speedup``× faster saves as the baseline save time grows (through the
    per-save fixed cost, the term no public source pins down), per calibration.
    ``price_usd_per_gpu_hour``: a number [USD/GPU-h] or "owned" / "rented", as
    :func:`save_speedup_value` takes it.

    Parameters
    ----------
    work_hours : failure-free run time [h], as plan_run's
    fixed_overheads_s : per-save fixed costs to sweep [s], a list, e.g. [0.0, 30.0]

    Returns
    -------
    polars.DataFrame: calibration, fixed_overhead_s [s], baseline_save_s [s], goodput_base,
    goodput_fast [-], hours_saved [h of wall clock], gpu_hours_saved [GPU-h] (the hours times
    the cluster's GPUs: price it at another GPU-hour price by multiplying), usd_saved [USD]
    (gpu_hours_saved x ``price_usd_per_gpu_hour``).

    Examples
    --------
    >>> import infra_lab as il
    >>> df = il.reliability.save_value_table(il.load_scenario("zaya1-ibm-mi300x"), 95.0,
    ...                                  fixed_overheads_s=[0.0, 30.0], price_usd_per_gpu_hour=2.0)
    >>> df.height > 0
    True
    """
    import polars as pl

    from .failures import calibration_names

    plan_kw = _plan_kw("save_value_table", plan_kw, sets=("calibration", "fixed_overhead_s"))
    cals = calibration_names() if calibrations is None else tuple(_items("calibrations", calibrations, "names"))
    fixed = _items("fixed_overheads_s", fixed_overheads_s, "fixed save overheads [s]")
    price = _price(hardware, price_usd_per_gpu_hour)     # once, before any run is planned
    rows = []
    for cal in cals:
        for f in fixed:
            v = save_speedup_value(hardware, work_hours, price_usd_per_gpu_hour=price,
                                   speedup=speedup, calibration=cal, fixed_overhead_s=f, **plan_kw)
            rows.append({"calibration": cal, "fixed_overhead_s": float(f),
                         "baseline_save_s": v["ckpt_blocking_s"][0], "goodput_base": v["goodput"][0],
                         "goodput_fast": v["goodput"][1], "hours_saved": v["days_saved"][1] * 24,
                         "gpu_hours_saved": v["gpu_hours_saved"][1], "usd_saved": v["usd_saved"][1]})
    return pl.DataFrame(rows)


def interval_sweep(plan: RunPlan, intervals_s: npt.ArrayLike | None = None, *,
                   case: str = "") -> pl.DataFrame:
    """Closed-form goodput of ``plan`` over a range of checkpoint intervals.

    Parameters
    ----------
    plan : from :func:`plan_run`
    intervals_s : intervals to evaluate [s]; default 40 log-spaced points from 1/20 to
        20 × the plan's interval (capped at the run length)

    Returns
    -------
    polars.DataFrame: case, interval_h [h], goodput [-], wall_days [day], optimal (the plan's
    own interval).

    Examples
    --------
    >>> import infra_lab as il
    >>> plan = il.reliability.plan_run(il.load_scenario("zaya1-ibm-mi300x"), 95.0)
    >>> df = il.reliability.interval_sweep(plan)
    >>> df.height, "goodput" in df.columns
    (41, True)
    """
    import numpy as np
    import polars as pl

    if not isinstance(plan, RunPlan):
        raise ValidationError(f"plan = {short_repr(plan)}: expected a RunPlan from plan_run()")
    if intervals_s is None:
        hi = min(plan.interval_s * 20, plan.work_s)
        intervals_s = np.geomspace(max(plan.interval_s / 20, 1.0), hi, 40)
    from .._validate import float_array

    intervals_s = float_array("intervals_s", intervals_s, "s")
    if intervals_s.ndim != 1:
        raise ValidationError(f"intervals_s: expected a flat sequence of intervals [s], got shape {intervals_s.shape}")
    if intervals_s.size == 0:   # as the other study tables: [] returned the plan's own row alone
        raise ValidationError("intervals_s = []: expected at least one interval [s] (or None for the default sweep)")
    rows = []
    for t in [*list(intervals_s), plan.interval_s]:
        q = plan.with_interval(float(t))
        # a Python bool: numpy's bool_ made the column f64 (0.0 / 1.0) beside the [bool] documented
        rows.append({"case": case, "interval_h": q.interval_s / 3600, "goodput": q.goodput,
                     "wall_days": q.expected_wall_s / 86400, "optimal": bool(t == plan.interval_s)})
    return pl.DataFrame(rows).sort("interval_h")


def expansion_work_hours() -> float:
    """Failure-free work assumed for an expansion run [h] (parameters.csv
    expansion_work_days, an assumption).

    Examples
    --------
    >>> import infra_lab as il
    >>> il.reliability.expansion_work_hours() == 24 * il.reliability.parameter("expansion_work_days")
    True
    """
    return parameter("expansion_work_days") * 24.0



def goodput_observations() -> pl.DataFrame:
    """data/reliability/goodput_observations.csv: published goodput (effective training time)
    of real runs: observation, the cluster (accelerator, nodes, gpus_per_node, nics_per_node,
    nic, fabric), the checkpoint's model preset and optimizer, window_h [h] (elapsed),
    goodput_low / goodput_high [-], failures_fitted_by (the calibration whose failure rate is
    fitted to this run's interruptions, if any), role, source_url, note.

    Examples
    --------
    >>> import infra_lab as il
    >>> "observation" in il.reliability.goodput_observations().columns
    True
    """
    from ._data import table

    return table("goodput_observations")


def goodput_check(*, calibrations: Iterable[str] | None = None,
                  restarts: Iterable[str] | None = None, **plan_kw: Any) -> pl.DataFrame:
    """Each published goodput observation against :func:`plan_run` of that cluster, per
    calibration and restart profile (nothing fitted: the profiles are the package's three).

    The run is sized so that its expected wall-clock time is the published window (work =
    window × goodput; goodput hardly depends on the run length once it spans many checkpoint
    intervals). The checkpoint is the row's model preset and optimizer, sharded over all GPUs.

    Parameters
    ----------
    calibrations, restarts : the calibrations and restart profiles to use (default: all)
    plan_kw : other :func:`plan_run` keywords (storage, hbm_basis, ...)

    Returns
    -------
    polars.DataFrame, one row per (observation, calibration, restart): observation, gpus,
    calibration, restart, published_goodput_low / _high [-], predicted_goodput [-], error [-]
    (predicted / the nearer end of the published range − 1 outside it, 0 inside),
    consistent (inside the published range), failures_by_construction (the calibration's
    failure rate is fitted to this run's interruptions: the check then tests only the
    checkpoint and restart model), mtbi_h [h], mean_restart_min [min].

    Examples
    --------
    >>> import infra_lab as il
    >>> df = il.reliability.goodput_check()
    >>> "observation" in df.columns
    True
    """
    import polars as pl

    from ..scenario import HardwareConfig
    from .failures import _outside, calibration_names

    plan_kw = _plan_kw("goodput_check", plan_kw,
                       sets=("model", "optimizer", "checkpoint", "calibration", "restart", "restart_s"))
    cals = calibration_names() if calibrations is None else tuple(_items("calibrations", calibrations, "names"))
    rs = (tuple(restart_profiles()["profile"].to_list()) if restarts is None
          else tuple(_items("restarts", restarts, "restart profile names")))
    rows = []
    for o in goodput_observations().iter_rows(named=True):
        hw = HardwareConfig.from_dict({k: o[k] for k in ("accelerator", "nodes", "gpus_per_node",
                                                         "nics_per_node", "nic", "fabric")})
        lo, hi = o["goodput_low"], o["goodput_high"]
        for cal, r in itertools.product(cals, rs):
            kw = dict(model=o["model"], optimizer=o["optimizer"], calibration=cal, restart=r, **plan_kw)
            first = plan_run(hw, o["window_h"], **kw)
            p = plan_run(hw, o["window_h"] * first.goodput, **kw)   # expected wall ≈ the window
            rows.append({
                "observation": o["observation"], "gpus": p.gpus, "calibration": cal, "restart": r,
                "published_goodput_low": lo, "published_goodput_high": hi, "predicted_goodput": p.goodput,
                "error": _outside(p.goodput, lo, hi), "consistent": bool(lo <= p.goodput <= hi),
                "failures_by_construction": o["failures_fitted_by"] == cal,
                "mtbi_h": p.mtbi_s / 3600, "mean_restart_min": p.mean_restart_s / 60,
            })
    return pl.DataFrame(rows)
