"""Reliability of a training run: failures, checkpoints, restarts and goodput.

Three layers, each usable alone:

1. **Failure model.** Per-component interruption rates per device-hour (GPU, HBM, NIC,
   switch/cable, host, software, unknown), calibrated from the 419 unexpected interruptions
   of Llama 3 405B pre-training (54 days on 16,384 H100; arXiv 2407.21783 Table 5) and scaled
   by a cluster's composition (GPUs, NICs, switches, nodes): :func:`interruption_rates`,
   :func:`mtbi_hours`.
2. **Checkpoint and restart.** Checkpoint size from the parameter count, write/read time
   from per-node storage bandwidth (shared file system, parallel file system, local NVMe with
   asynchronous upload, DPU offload), synchronous vs asynchronous saves, restart = detection
   + (hot spare swap | repair) + relaunch + reload; Young/Daly intervals and the exact
   expected wall-clock time of the run model: :func:`plan_run`.
3. **Monte Carlo** of whole runs (numba kernel with a plain reference beside it):
   :func:`simulate`.

All defaults come from ``data/reliability/*.csv`` (each row with ``source_url`` and
``note``). SI units inside: seconds, bytes, bytes/s; hours appear only in names that say so.

>>> import infra_lab as il
>>> from infra_lab.scenario import HardwareConfig
>>> llama = HardwareConfig("H100-SXM", nodes=2048, gpus_per_node=8, nic="ConnectX-7-NDR",
...                        nics_per_node=8, fabric="fat-tree")
>>> round(il.reliability.mtbi_hours(llama), 2)
3.09
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from functools import cache

import numpy as np

from . import catalog
from .errors import ValidationError, check_positive, unknown

__all__ = [
    "COMPONENT_CLASSES", "READINGS", "parameters", "parameter", "interruption_table",
    "component_rates", "ClusterComposition", "cluster_composition", "clos_switches",
    "interruption_rates", "failure_rate_per_hour", "mtbi_hours", "interruptions_per_day",
    "checkpoint_bytes", "storage_options", "CheckpointPlan", "checkpoint_plan", "RestartModel",
    "restart_model", "restart_times_s", "young_interval_s", "daly_interval_s",
    "expected_wall_time_s", "optimal_interval_s", "RunPlan", "plan_run", "simulate",
    "summarize_runs", "price_usd_per_gpu_hour", "run_hours_from_tokens", "scale_hardware",
    "save_speedup_value", "scaling_table", "interval_sweep",
]

DATA = catalog.DATA_DIR / "reliability"
COMPONENT_CLASSES = ("gpu", "hbm", "nic", "switch_cable", "host", "software", "unknown")
"""Component classes, in the order used by every array in this module."""
BASES = ("gpu", "nic", "switch", "host")
READINGS = ("count", "printed")
"""How to read Llama 3 Table 5: ``count`` uses the interruption counts (sum 419; GPU share
64.0 %); ``printed`` uses the printed percentages of 419 (faulty GPU 30.1 %, GPU share 58.7 %)
and gives the 5.1 % the printed column leaves over to ``unknown``, so the total stays 419."""

_C = catalog.Col
_SCHEMAS = {
    "parameters": {"name": _C("str", True), "value": _C("float", True), "unit": _C("str", True)},
    "llama3_interruptions": {
        "component": _C("str", True), "category": _C("str", True),
        "count": _C("int", True, positive=True), "printed_pct": _C("float", True, positive=True),
        "component_class": _C("str", True, choices=COMPONENT_CLASSES),
    },
    "component_classes": {
        "component_class": _C("str", True, choices=COMPONENT_CLASSES),
        "basis": _C("str", True, choices=BASES), "needs_replacement": _C("bool", True),
        "description": _C("str", True),
    },
    "storage": {
        "name": _C("str", True), "write_GBps_per_node": _C("float", True, positive=True),
        "read_GBps_per_node": _C("float", True, positive=True),
        "aggregate_write_GBps": _C("float", positive=True),
        "aggregate_read_GBps": _C("float", positive=True),
        "mode": _C("str", True, choices=("sync", "async")),
    },
}


@cache
def _table(name: str):
    return catalog.read_table(DATA / f"{name}.csv", _SCHEMAS[name])


def parameters():
    """All reliability defaults (data/reliability/parameters.csv): name, value, unit,
    source_url, note."""
    return _table("parameters")


@cache
def parameter(name: str) -> float:
    """One default from data/reliability/parameters.csv, in the unit its row states."""
    t = parameters()
    hit = t.filter(t["name"] == name)
    if hit.height == 0:
        raise unknown("reliability parameter", name, t["name"].to_list())
    return float(hit["value"][0])


def _check_reading(reading: str) -> str:
    if reading not in READINGS:
        raise unknown("reading", reading, READINGS)
    return reading


# --------------------------------------------------------------------------------------
# 1. Failure model
# --------------------------------------------------------------------------------------
def interruption_table(reading: str = "count"):
    """Llama 3 Table 5 with the events each row contributes under ``reading``.

    Returns
    -------
    polars.DataFrame: component, category, count, printed_pct, component_class, events
    (count, or printed_pct/100 × 419), source_url, note. Under ``printed`` a final row
    "Unassigned (printed column sums to 94.9 %)" carries the remainder as ``unknown``.
    """
    import polars as pl

    _check_reading(reading)
    t = _table("llama3_interruptions")
    total = parameter("calib_unexpected_interruptions")
    if reading == "count":
        return t.with_columns(pl.col("count").cast(pl.Float64).alias("events"))
    t = t.with_columns((pl.col("printed_pct") / 100.0 * total).alias("events"))
    rest = total - t["events"].sum()
    extra = pl.DataFrame({
        "component": ["Unassigned (printed column sums to 94.9 %)"], "category": ["Unknown"],
        "count": [None], "printed_pct": [100.0 - t["printed_pct"].sum()],
        "component_class": ["unknown"], "source_url": [t["source_url"][0]],
        "note": ["DERIVED: 419 minus the printed shares; kept so the total stays 419"],
        "events": [rest],
    }, schema=t.schema)
    return pl.concat([t, extra])


def clos_switches(endpoints: int, radix: int, tiers: int | None = None) -> int:
    """Switches in a non-blocking folded Clos for ``endpoints`` ports of radix-``radix``
    switches: each of the k−1 lower tiers has 2N/R switches, the top tier N/R, so
    N·(2k−1)/R in all; k is the fewest tiers with 2·(R/2)^k ≥ N unless given [switches]."""
    endpoints = int(check_positive("endpoints", endpoints, integer=True))
    radix = int(check_positive("switch_radix", radix, integer=True))
    if radix < 4 or radix % 2:
        raise ValidationError(f"switch_radix = {radix}: expected an even number >= 4")
    if endpoints <= radix:
        return 1
    if tiers is None:
        tiers = 1
        while 2 * (radix // 2) ** tiers < endpoints:
            tiers += 1
    return int(math.ceil(endpoints * (2 * tiers - 1) / radix))


@dataclass(frozen=True)
class ClusterComposition:
    """How many of each failure-prone device a cluster has.

    Attributes
    ----------
    gpus, nics, switches, hosts : device counts [-]; ``hosts`` = nodes
    """

    gpus: int
    nics: int
    switches: int
    hosts: int

    def units(self, basis: str) -> int:
        """Device count for a basis ("gpu", "nic", "switch", "host")."""
        return {"gpu": self.gpus, "nic": self.nics, "switch": self.switches, "host": self.hosts}[basis]


def _calibration_composition() -> ClusterComposition:
    gpus = int(parameter("calib_gpus"))
    gpn = int(parameter("calib_gpus_per_node"))
    nodes = gpus // gpn
    nics = nodes * int(parameter("calib_nics_per_node"))
    sw = clos_switches(nics, int(parameter("switch_radix")), int(parameter("calib_clos_tiers")))
    return ClusterComposition(gpus, nics, sw, nodes)


def cluster_composition(hardware, *, switch_radix: int | None = None) -> ClusterComposition:
    """Device counts for a cluster.

    Parameters
    ----------
    hardware : Scenario, HardwareConfig, [hardware] dict, or a ClusterComposition (returned)
    switch_radix : ports per switch for the Clos estimate [-]; default parameters.csv

    Notes
    -----
    Switches: ``rails-only`` fabrics build one Clos per rail over the nodes (NICs per node
    rails), the others one Clos over all NICs (:func:`clos_switches`).
    """
    if isinstance(hardware, ClusterComposition):
        return hardware
    hw = _as_hw(hardware)
    radix = int(switch_radix or parameter("switch_radix"))
    npn = hw.nics_per_node or hw.gpus_per_node  # unvalidated HardwareConfig: one NIC per GPU
    nics = hw.nodes * npn
    if hw.fabric == "rails-only":
        sw = npn * clos_switches(hw.nodes, radix)
    else:
        sw = clos_switches(nics, radix)
    return ClusterComposition(hw.world_size, nics, sw, hw.nodes)


def _as_hw(hardware):
    from .scenario import HardwareConfig

    if isinstance(hardware, HardwareConfig):
        return hardware
    if hasattr(hardware, "hardware"):  # a Scenario
        return hardware.hardware
    if isinstance(hardware, dict):
        return HardwareConfig.from_dict(hardware)
    raise ValidationError(
        f"hardware = {hardware!r}: expected a Scenario, HardwareConfig, [hardware] dict or ClusterComposition"
    )


def component_rates(reading: str = "count"):
    """Per-device interruption rates calibrated on Llama 3.

    Returns
    -------
    polars.DataFrame, one row per component class: component_class, basis, events (in the
    54-day window), calib_units (devices of that basis in the calibration cluster),
    rate_per_unit_hour [1/(device·h)], mtbf_unit_hours [device-h per interruption],
    needs_replacement, source_url, note.

    Notes
    -----
    rate = events / (calib_units × 1,296 h), assuming every device ran the whole window.
    """
    import polars as pl

    ev = interruption_table(reading).group_by("component_class").agg(pl.col("events").sum())
    cls = _table("component_classes")
    comp = _calibration_composition()
    window = parameter("calib_window_h")
    t = cls.join(ev, on="component_class", how="left").with_columns(pl.col("events").fill_null(0.0))
    t = t.with_columns(
        pl.col("basis").map_elements(comp.units, return_dtype=pl.Int64).alias("calib_units")
    ).with_columns(
        (pl.col("events") / (pl.col("calib_units") * window)).alias("rate_per_unit_hour")
    ).with_columns((1.0 / pl.col("rate_per_unit_hour")).alias("mtbf_unit_hours"))
    order = {c: i for i, c in enumerate(COMPONENT_CLASSES)}
    t = t.with_columns(pl.col("component_class").replace_strict(order).alias("_o")).sort("_o").drop("_o")
    return t.select("component_class", "basis", "events", "calib_units", "rate_per_unit_hour",
                    "mtbf_unit_hours", "needs_replacement", "description", "source_url", "note")


def _multipliers(multiplier) -> np.ndarray:
    if isinstance(multiplier, dict):
        for k in multiplier:
            if k not in COMPONENT_CLASSES:
                raise unknown("component class", k, COMPONENT_CLASSES)
        vals = [multiplier.get(c, 1.0) for c in COMPONENT_CLASSES]
        for c, v in zip(COMPONENT_CLASSES, vals, strict=True):
            check_positive(f"multiplier[{c!r}]", v, allow_zero=True)
        return np.array(vals, dtype=float)
    m = check_positive("multiplier", multiplier, allow_zero=True)
    return np.full(len(COMPONENT_CLASSES), m)


def interruption_rates(hardware, *, multiplier: float | dict = 1.0, reading: str = "count",
                       switch_radix: int | None = None):
    """Interruption rate of each component class for a cluster.

    Parameters
    ----------
    hardware : Scenario, HardwareConfig, [hardware] dict or ClusterComposition
    multiplier : scales every rate, or a dict {component_class: factor} [-]; e.g. to
        express a belief that MI300X fails more or less often than H100 (no public data)
    reading : "count" (default) or "printed", see :data:`READINGS`

    Returns
    -------
    polars.DataFrame: component_class, basis, units (devices in this cluster),
    rate_per_hour [interruptions/h for the cluster], share [-], needs_replacement.
    """
    import polars as pl

    comp = cluster_composition(hardware, switch_radix=switch_radix)
    r = component_rates(reading)
    m = _multipliers(multiplier)
    units = [comp.units(b) for b in r["basis"]]
    rate = r["rate_per_unit_hour"].to_numpy() * np.array(units) * m
    tot = rate.sum()
    return pl.DataFrame({
        "component_class": r["component_class"], "basis": r["basis"], "units": units,
        "rate_per_hour": rate, "share": rate / tot if tot > 0 else np.zeros_like(rate),
        "needs_replacement": r["needs_replacement"],
    })


def failure_rate_per_hour(hardware, **kw) -> float:
    """Cluster interruption rate [1/h]: the sum of :func:`interruption_rates`."""
    return float(interruption_rates(hardware, **kw)["rate_per_hour"].sum())


def mtbi_hours(hardware, *, multiplier: float | dict = 1.0, reading: str = "count",
               switch_radix: int | None = None) -> float:
    """Mean time between unexpected job interruptions of a cluster [h].

    Parameters
    ----------
    hardware : Scenario, HardwareConfig, [hardware] dict or ClusterComposition
    multiplier, reading, switch_radix : see :func:`interruption_rates`

    Notes
    -----
    MTBI = 1 / Σ_c rate_c · units_c. For the calibration cluster (16,384 H100 in 2,048
    nodes) this is 1,296 h / 419 = 3.09 h by construction.

    References
    ----------
    Llama 3 Herd of Models, §3.3.4, Table 5: https://arxiv.org/abs/2407.21783

    Examples
    --------
    >>> from infra_lab.scenario import HardwareConfig
    >>> hw = HardwareConfig("MI300X", nodes=128, nic="Pollara-400", nics_per_node=8,
    ...                     fabric="rails-only")
    >>> round(mtbi_hours(hw), 1)
    51.2
    """
    rate = failure_rate_per_hour(hardware, multiplier=multiplier, reading=reading,
                                 switch_radix=switch_radix)
    if rate <= 0:
        return math.inf
    return 1.0 / rate


def interruptions_per_day(hardware, **kw) -> float:
    """Expected unexpected interruptions per day of wall-clock time [1/day]."""
    return 24.0 * failure_rate_per_hour(hardware, **kw)


# --------------------------------------------------------------------------------------
# 2. Checkpoint and restart
# --------------------------------------------------------------------------------------
def checkpoint_bytes(model=None, *, params_total: float | None = None,
                     bytes_per_param: float | None = None) -> float:
    """Size of one full training checkpoint [bytes].

    Parameters
    ----------
    model : Scenario, ModelSpec, preset name or None
    params_total : parameter count instead of a model [-]
    bytes_per_param : saved bytes per parameter [B]; default 14 = bf16 weights 2 + fp32
        master 4 + Adam moments 8 (parameters.csv ``bytes_per_param``)

    Examples
    --------
    >>> checkpoint_bytes(params_total=8.3e9) / 1e9
    116.2
    """
    bpp = parameter("bytes_per_param") if bytes_per_param is None else check_positive(
        "bytes_per_param", bytes_per_param)
    if params_total is None:
        if model is None:
            raise ValidationError("checkpoint_bytes: give a model (Scenario/ModelSpec/preset) or params_total")
        spec = model
        if hasattr(model, "model_spec"):
            spec = model.model_spec
        elif isinstance(model, str):
            from . import models

            spec = models.get(model)
        params_total = spec.params_total
    params_total = check_positive("params_total", params_total)
    return float(params_total * bpp)


def storage_options():
    """Checkpoint storage options (data/reliability/storage.csv): per-node write/read
    bandwidth [GB/s], optional aggregate caps [GB/s], default save mode, source, note."""
    return _table("storage")


@dataclass(frozen=True)
class CheckpointPlan:
    """How one checkpoint is written and read back.

    Attributes
    ----------
    size_bytes : full checkpoint [bytes]
    nodes : nodes that write and read shards in parallel [-]
    write_Bps_per_node, read_Bps_per_node : storage bandwidth per node [bytes/s]
    aggregate_write_Bps, aggregate_read_Bps : storage-system caps [bytes/s] (inf = none)
    mode : "sync" (training waits for the write) or "async" (waits for the snapshot only)
    snapshot_Bps_per_node : device-to-host copy rate for async saves [bytes/s]
    fixed_overhead_s : per-save fixed cost [s]
    reload_bytes_per_node : bytes each node reads on restart [bytes]
    storage : name of the storage option
    """

    size_bytes: float
    nodes: int
    write_Bps_per_node: float
    read_Bps_per_node: float
    aggregate_write_Bps: float
    aggregate_read_Bps: float
    mode: str
    snapshot_Bps_per_node: float
    fixed_overhead_s: float
    reload_bytes_per_node: float
    storage: str = ""

    @property
    def write_s(self) -> float:
        """Time to persist one checkpoint [s]: fixed + size / min(nodes·per-node, cap)."""
        bw = min(self.nodes * self.write_Bps_per_node, self.aggregate_write_Bps)
        return self.fixed_overhead_s + self.size_bytes / bw

    @property
    def blocking_s(self) -> float:
        """Time training stalls per checkpoint [s]: the whole write (sync) or the
        device-to-host snapshot of each node's shard plus the fixed cost (async)."""
        if self.mode == "sync":
            return self.write_s
        return self.fixed_overhead_s + self.size_bytes / self.nodes / self.snapshot_Bps_per_node

    @property
    def read_s(self) -> float:
        """Time to reload the checkpoint on restart [s]."""
        bw = min(self.read_Bps_per_node, self.aggregate_read_Bps / self.nodes)
        return self.reload_bytes_per_node / bw


def checkpoint_plan(size_bytes: float, nodes: int, *, storage: str = "shared-fs",
                    mode: str | None = None, speedup: float = 1.0,
                    write_GBps_per_node: float | None = None,
                    read_GBps_per_node: float | None = None, gpus_per_node: int = 8,
                    snapshot_GBps_per_gpu: float | None = None,
                    fixed_overhead_s: float | None = None,
                    weights_bytes: float | None = None) -> CheckpointPlan:
    """Build a :class:`CheckpointPlan` from a storage option and overrides.

    Parameters
    ----------
    size_bytes : checkpoint size [bytes] (see :func:`checkpoint_bytes`)
    nodes : nodes writing shards in parallel (ZeRO/FSDP shard the optimizer state) [-]
    storage : a name in :func:`storage_options`
    mode : "sync" | "async"; default the storage row's mode
    speedup : multiplies write bandwidth, caps and snapshot rate and divides the fixed
        cost ("10× faster saves" = 10) [-]
    write_GBps_per_node, read_GBps_per_node : overrides [GB/s]
    snapshot_GBps_per_gpu : device-to-host rate for async saves [GB/s]
    fixed_overhead_s : per-save fixed cost [s]
    weights_bytes : bytes of weights every node reloads (data parallel); default: the
        shard size/nodes only [bytes]
    """
    st = storage_options()
    row = st.filter(st["name"] == storage)
    if row.height == 0:
        raise unknown("storage option", storage, st["name"].to_list())
    r = row.row(0, named=True)
    size_bytes = check_positive("size_bytes", size_bytes)
    nodes = int(check_positive("nodes", nodes, integer=True))
    sp = check_positive("speedup", speedup)
    mode = r["mode"] if mode is None else mode
    if mode not in ("sync", "async"):
        raise unknown("checkpoint mode", mode, ("sync", "async"))
    w = check_positive("write_GBps_per_node", write_GBps_per_node or r["write_GBps_per_node"]) * 1e9
    rd = check_positive("read_GBps_per_node", read_GBps_per_node or r["read_GBps_per_node"]) * 1e9
    aw = (r["aggregate_write_GBps"] or math.inf) * 1e9
    ar = (r["aggregate_read_GBps"] or math.inf) * 1e9
    snap = (snapshot_GBps_per_gpu or parameter("snapshot_GBps_per_gpu")) * 1e9 * gpus_per_node
    fixed = parameter("ckpt_fixed_overhead_s") if fixed_overhead_s is None else check_positive(
        "fixed_overhead_s", fixed_overhead_s, allow_zero=True)
    reload = size_bytes / nodes + (0.0 if weights_bytes is None else check_positive(
        "weights_bytes", weights_bytes) * (1 - 1 / nodes))
    return CheckpointPlan(size_bytes, nodes, w * sp, rd, aw * sp, ar, mode, snap * sp, fixed / sp,
                          reload, storage)


@dataclass(frozen=True)
class RestartModel:
    """Time to get back to training after an interruption.

    Attributes
    ----------
    detection_s : until the failure is noticed (crash or collective timeout) [s]
    spare_swap_s : swap in a hot-spare node and reschedule [s]
    repair_s : wait for repair when no spare is available [s]
    job_init_s : relaunch processes, initialise collectives and data loaders [s]
    hot_spares : spare nodes held ready [-]; 0 = every hardware failure waits for repair
    """

    detection_s: float
    spare_swap_s: float
    repair_s: float
    job_init_s: float
    hot_spares: int


def restart_model(**overrides) -> RestartModel:
    """:class:`RestartModel` with defaults from parameters.csv, any field overridden."""
    d = {"detection_s": parameter("detection_s"), "spare_swap_s": parameter("spare_swap_s"),
         "repair_s": parameter("repair_s"), "job_init_s": parameter("job_init_s"),
         "hot_spares": int(parameter("hot_spare_nodes"))}
    for k, v in overrides.items():
        if k not in d:
            raise unknown("restart field", k, d)
        d[k] = check_positive(k, v, allow_zero=True, integer=(k == "hot_spares"))
    return RestartModel(**d)


def restart_times_s(plan: CheckpointPlan, restart: RestartModel | None = None) -> np.ndarray:
    """Restart time per component class [s], in :data:`COMPONENT_CLASSES` order.

    Classes that need replacement hardware (data/reliability/component_classes.csv):
    detection + (spare swap if hot_spares > 0 else repair) + job init + reload; the others
    (software, unknown): detection + job init + reload.
    """
    restart = restart or restart_model()
    need = component_rates()["needs_replacement"].to_list()
    swap = restart.spare_swap_s if restart.hot_spares > 0 else restart.repair_s
    base = restart.detection_s + restart.job_init_s + plan.read_s
    return np.array([base + (swap if n else 0.0) for n in need])


def young_interval_s(ckpt_s: float, mtbi_s: float) -> float:
    """Young's first-order optimum checkpoint interval √(2 δ M) [s] (work between saves).

    References
    ----------
    J. W. Young, CACM 17(9), 1974, https://doi.org/10.1145/361147.361115
    """
    return math.sqrt(2.0 * check_positive("ckpt_s", ckpt_s) * check_positive("mtbi_s", mtbi_s))


def daly_interval_s(ckpt_s: float, mtbi_s: float) -> float:
    """Daly's higher-order optimum checkpoint interval [s].

    Notes
    -----
    τ_opt = √(2δM)·[1 + ⅓·√(δ/(2M)) + (1/9)·(δ/(2M))] − δ   for δ < 2M,  else τ_opt = M,
    with δ the checkpoint time and M the mean time between interruptions (Daly 2006, eq. 37).

    References
    ----------
    J. T. Daly, "A higher order estimate of the optimum checkpoint interval for restart
    dumps", Future Generation Computer Systems 22(3), 2006,
    https://doi.org/10.1016/j.future.2004.11.016

    Examples
    --------
    >>> round(daly_interval_s(300.0, 86400.0), 1)
    7001.4
    """
    d = check_positive("ckpt_s", ckpt_s)
    m = check_positive("mtbi_s", mtbi_s)
    if d >= 2.0 * m:
        return m
    x = d / (2.0 * m)
    return math.sqrt(2.0 * d * m) * (1.0 + math.sqrt(x) / 3.0 + x / 9.0) - d


def expected_wall_time_s(work_s: float, interval_s: float, ckpt_s: float, rates_per_s,
                         restart_s) -> float:
    """Exact expected wall-clock time of the run model [s] (the Monte Carlo's mean).

    Parameters
    ----------
    work_s : failure-free work [s]
    interval_s : work between checkpoints [s]
    ckpt_s : blocking time per checkpoint [s]
    rates_per_s : interruption rate per class [1/s]
    restart_s : restart time per class [s]

    Notes
    -----
    With λ = Σλ_c, p_c = λ_c/λ, a restart phase (restarted by failures) lasts on average
    G = Σ p_c(1−e^{−λR_c}) / (λ Σ p_c e^{−λR_c}); a segment of length L = work + δ takes
    (e^{λL} − 1)(1/λ + G). Summed over ⌊W/τ⌋ full segments and the remainder. With one class
    this is Daly's T = M e^{R/M}(e^{(τ+δ)/M} − 1)·W/τ.
    """
    work_s = check_positive("work_s", work_s)
    interval_s = check_positive("interval_s", interval_s)
    ckpt_s = check_positive("ckpt_s", ckpt_s, allow_zero=True)
    lam_c = np.asarray(rates_per_s, dtype=float)
    rs = np.asarray(restart_s, dtype=float)
    n_full = math.floor(work_s / interval_s)
    rem = work_s - n_full * interval_s
    if rem <= 1e-9 * work_s:
        rem = 0.0
    lengths = [(n_full, interval_s + ckpt_s)] + ([(1, rem + ckpt_s)] if rem > 0 else [])
    lam = float(lam_c.sum())
    if lam <= 0:
        return sum(n * length for n, length in lengths)
    p = lam_c / lam
    surv = np.exp(-lam * rs)
    g_lam = float(np.sum(p * -np.expm1(-lam * rs)) / np.sum(p * surv))  # λ·G
    return sum(n * math.expm1(lam * length) / lam * (1.0 + g_lam) for n, length in lengths)


def optimal_interval_s(work_s: float, ckpt_s: float, rates_per_s, restart_s, *,
                       method: str = "exact", min_interval_s: float = 0.0) -> float:
    """Checkpoint interval that minimises expected wall time [s].

    method : "exact" (the best whole number of equal segments for
    :func:`expected_wall_time_s`), "daly" or "young"; min_interval_s : lower bound (e.g. an
    async upload must finish before the next save) [s].
    """
    lam = float(np.sum(rates_per_s))
    if lam <= 0:
        return float(work_s)
    m = 1.0 / lam
    if method == "young":
        tau = young_interval_s(max(ckpt_s, 1e-9), m)
    elif method == "daly":
        tau = daly_interval_s(max(ckpt_s, 1e-9), m)
    elif method == "exact":
        # For n segments, equal ones are best (e^{λL} is convex), so search the integer n
        # of T(n) = n·(e^{λ(W/n+δ)} − 1)·(1/λ + G) around Daly's n.
        n0 = work_s / daly_interval_s(max(ckpt_s, 1e-9), m)
        n_max = work_s / min_interval_s if min_interval_s > 0 else math.inf
        lo, hi = max(1, math.floor(n0 / 50)), max(1, min(math.ceil(n0 * 50) + 1, n_max))
        if hi - lo > 200_000:
            n = np.unique(np.round(np.geomspace(lo, hi, 200_000)))
        else:
            n = np.arange(lo, hi + 1, dtype=float)
        n = n[n <= max(n_max, 1.0)] if np.isfinite(n_max) else n
        if n.size == 0:
            n = np.array([1.0])
        cost = n * np.expm1(lam * (work_s / n + ckpt_s))  # ∝ T(n); (1/λ + G) is common
        tau = work_s / float(n[int(np.argmin(cost))])
        return float(min(max(tau, min_interval_s), work_s))
    else:
        raise unknown("interval method", method, ("exact", "daly", "young"))
    return float(min(max(tau, min_interval_s), work_s))


@dataclass(frozen=True)
class RunPlan:
    """Everything the closed form and the Monte Carlo need, plus their closed-form answers.

    Attributes
    ----------
    work_s : failure-free run time [s]
    interval_s : work between checkpoints [s]
    ckpt_s : blocking time per checkpoint [s]
    persist_s : time until a checkpoint is durable [s] (= ckpt_s for sync saves)
    rates_per_s, restart_s : per component class [1/s], [s]
    gpus : GPUs in the run [-]
    expected_wall_s : exact expected wall-clock time [s]
    goodput : work_s / expected_wall_s [-]
    mtbi_s : 1 / Σ rates [s]
    checkpoint : the CheckpointPlan
    """

    work_s: float
    interval_s: float
    ckpt_s: float
    persist_s: float
    rates_per_s: np.ndarray = field(repr=False)
    restart_s: np.ndarray = field(repr=False)
    gpus: int
    expected_wall_s: float
    goodput: float
    mtbi_s: float
    checkpoint: CheckpointPlan = field(repr=False)

    @property
    def mean_restart_s(self) -> float:
        """Rate-weighted mean restart time [s]."""
        lam = self.rates_per_s.sum()
        return float((self.rates_per_s * self.restart_s).sum() / lam) if lam > 0 else 0.0

    @property
    def expected_failures(self) -> float:
        """λ × expected wall time: the Poisson stream runs through all wall time [-]."""
        return float(self.rates_per_s.sum() * self.expected_wall_s)

    def summary(self) -> dict:
        """Headline numbers in display units."""
        return {
            "gpus": self.gpus, "mtbi_h": self.mtbi_s / 3600, "interruptions_per_day": 86400 / self.mtbi_s,
            "ckpt_blocking_s": self.ckpt_s, "ckpt_persist_s": self.persist_s,
            "interval_h": self.interval_s / 3600, "mean_restart_min": self.mean_restart_s / 60,
            "work_days": self.work_s / 86400, "wall_days": self.expected_wall_s / 86400,
            "goodput": self.goodput, "expected_failures": self.expected_failures,
        }

    def with_interval(self, interval_s: float) -> RunPlan:
        """The same plan with another checkpoint interval (closed form recomputed)."""
        wall = expected_wall_time_s(self.work_s, interval_s, self.ckpt_s, self.rates_per_s, self.restart_s)
        return replace(self, interval_s=float(interval_s), expected_wall_s=wall, goodput=self.work_s / wall)


def plan_run(hardware, work_hours: float, *, checkpoint_size_bytes: float | None = None,
             model=None, storage: str = "shared-fs", mode: str | None = None,
             save_speedup: float = 1.0, write_GBps_per_node: float | None = None,
             multiplier: float | dict = 1.0, reading: str = "count",
             restart: RestartModel | None = None, restart_s: float | None = None,
             interval_s: float | None = None, interval_method: str = "exact") -> RunPlan:
    """Plan a run: failure rates, checkpoint cost, restart time, interval and goodput.

    Parameters
    ----------
    hardware : Scenario, HardwareConfig, [hardware] dict or ClusterComposition
    work_hours : failure-free run time [h] (e.g. :func:`run_hours_from_tokens`)
    checkpoint_size_bytes : [bytes]; default from ``model`` (or the Scenario's model)
    model : Scenario, ModelSpec or preset name for :func:`checkpoint_bytes`
    storage, mode, save_speedup, write_GBps_per_node : see :func:`checkpoint_plan`
    multiplier, reading : see :func:`interruption_rates`
    restart : RestartModel (default :func:`restart_model`)
    restart_s : one restart time for every class, overriding ``restart`` [s]
    interval_s : work between checkpoints [s]; default the optimum by ``interval_method``

    Examples
    --------
    >>> from infra_lab.scenario import HardwareConfig
    >>> hw = HardwareConfig("MI300X", nodes=128, nic="Pollara-400", fabric="rails-only")
    >>> p = plan_run(hw, 95.0, checkpoint_size_bytes=116e9)
    >>> 0.9 < p.goodput < 1.0
    True
    """
    work_s = check_positive("work_hours", work_hours) * 3600.0
    if isinstance(hardware, ClusterComposition):
        comp, nodes, gpn = hardware, hardware.hosts, max(1, hardware.gpus // max(hardware.hosts, 1))
        weights = None
    else:
        hw = _as_hw(hardware)
        comp, nodes, gpn = cluster_composition(hw), hw.nodes, hw.gpus_per_node
        weights = None
    if checkpoint_size_bytes is None:
        src = model if model is not None else (hardware if hasattr(hardware, "model_spec") else None)
        if src is None:
            raise ValidationError("plan_run: give checkpoint_size_bytes or a model (or pass a Scenario)")
        checkpoint_size_bytes = checkpoint_bytes(src)
        weights = checkpoint_size_bytes / parameter("bytes_per_param") * parameter("weights_bytes_per_param")
    ck = checkpoint_plan(checkpoint_size_bytes, nodes, storage=storage, mode=mode, speedup=save_speedup,
                         write_GBps_per_node=write_GBps_per_node, gpus_per_node=gpn, weights_bytes=weights)
    rates = interruption_rates(comp, multiplier=multiplier, reading=reading)["rate_per_hour"].to_numpy() / 3600.0
    if restart_s is not None:
        rs = np.full(len(COMPONENT_CLASSES), check_positive("restart_s", restart_s, allow_zero=True))
    else:
        rs = restart_times_s(ck, restart)
    blocking = ck.blocking_s
    persist = ck.write_s
    min_tau = max(0.0, persist - blocking) if ck.mode == "async" else 0.0
    if interval_s is None:
        interval_s = optimal_interval_s(work_s, blocking, rates, rs, method=interval_method,
                                        min_interval_s=min_tau)
    interval_s = check_positive("interval_s", interval_s)
    wall = expected_wall_time_s(work_s, interval_s, blocking, rates, rs)
    lam = rates.sum()
    return RunPlan(work_s, float(interval_s), blocking, persist, rates, rs, comp.gpus, wall, work_s / wall,
                   1.0 / lam if lam > 0 else math.inf, ck)


# --------------------------------------------------------------------------------------
# 3. Monte Carlo
# --------------------------------------------------------------------------------------
def simulate(plan: RunPlan, n_runs: int = 10_000, *, seed: int = 0, method: str = "numba"):
    """Monte Carlo of ``n_runs`` whole runs of ``plan``.

    Parameters
    ----------
    plan : from :func:`plan_run`
    n_runs : number of runs [-]
    seed : explicit seed of every draw
    method : "numba" (kernel, numba's generator) or "reference" (plain Python, numpy
        ``default_rng``); statistically equivalent, not bit-equal

    Returns
    -------
    polars.DataFrame, one row per run: run, wall_h, goodput, failures, lost_h (time in
    failed segments), restart_h (time in restarts), and failures_<class> per class.
    """
    import polars as pl

    from ._kernels import reliability as K

    n_runs = int(check_positive("n_runs", n_runs, integer=True))
    args = (float(plan.work_s), float(plan.interval_s), float(plan.ckpt_s),
            np.ascontiguousarray(plan.rates_per_s, dtype=np.float64),
            np.ascontiguousarray(plan.restart_s, dtype=np.float64))
    if method == "numba":
        e = plan.expected_failures
        n_buf = int(e + 6 * math.sqrt(e) + 16)
        res = K.simulate_kernel(*args, n_runs, n_buf, int(seed))
    elif method == "reference":
        res = K.simulate_reference(*args, n_runs, int(seed))
    else:
        raise unknown("method", method, ("numba", "reference"))
    d = {
        "run": np.arange(n_runs), "wall_h": res[:, 0] / 3600, "goodput": plan.work_s / res[:, 0],
        "failures": res[:, 1].astype(np.int64), "lost_h": res[:, 2] / 3600, "restart_h": res[:, 3] / 3600,
    }
    n_cls = res.shape[1] - 4
    names = COMPONENT_CLASSES if n_cls == len(COMPONENT_CLASSES) else [f"class{i}" for i in range(n_cls)]
    for i, c in enumerate(names):
        d[f"failures_{c}"] = res[:, 4 + i].astype(np.int64)
    return pl.DataFrame(d)


def summarize_runs(runs, plan: RunPlan | None = None):
    """Mean, standard error and percentiles of a :func:`simulate` frame, with the closed
    form beside the mean when ``plan`` is given.

    Returns
    -------
    polars.DataFrame: quantity, mean, sem, p05, p50, p95, closed_form
    """
    import polars as pl

    rows = []
    closed = {}
    if plan is not None:
        closed = {"wall_h": plan.expected_wall_s / 3600, "failures": plan.expected_failures}
    for q in ("wall_h", "goodput", "failures", "lost_h", "restart_h"):
        x = runs[q].cast(pl.Float64).to_numpy()
        rows.append({
            "quantity": q, "mean": float(x.mean()), "sem": float(x.std(ddof=1) / math.sqrt(len(x))) if len(x) > 1 else 0.0,
            "p05": float(np.quantile(x, 0.05)), "p50": float(np.quantile(x, 0.5)),
            "p95": float(np.quantile(x, 0.95)), "closed_form": closed.get(q),
        })
    return pl.DataFrame(rows, schema={"quantity": pl.String, "mean": pl.Float64, "sem": pl.Float64,
                                      "p05": pl.Float64, "p50": pl.Float64, "p95": pl.Float64,
                                      "closed_form": pl.Float64})


# --------------------------------------------------------------------------------------
# Helpers for notebooks and widgets
# --------------------------------------------------------------------------------------
def price_usd_per_gpu_hour(accelerator: str = "MI300X", term: str = "on-demand") -> tuple[float, str]:
    """Median cloud price [USD/GPU-h] from data/cloud_prices.csv and a description of where
    it came from; when the table has no row for that accelerator and term, the
    ``price_usd_per_gpu_hour_fallback`` of parameters.csv. Unknown accelerator names raise."""
    import polars as pl

    acc = catalog.canonical_accelerator(accelerator)
    t = catalog.cloud_prices().filter((pl.col("accelerator") == acc) & (pl.col("term") == term))
    if t.height:
        return float(t["price_usd_per_gpu_hour"].median()), (
            f"median of {t.height} {term} {acc} rows in data/cloud_prices.csv")
    return parameter("price_usd_per_gpu_hour_fallback"), "fallback in data/reliability/parameters.csv"


def run_hours_from_tokens(tokens: float, tokens_per_s: float) -> float:
    """Failure-free run time [h] = tokens / tokens_per_s."""
    return check_positive("tokens", tokens) / check_positive("tokens_per_s", tokens_per_s) / 3600.0


def scale_hardware(hardware, gpus: int):
    """The same node design with ``gpus`` GPUs (nodes = gpus / gpus_per_node, rounded up)."""
    hw = _as_hw(hardware)
    gpus = int(check_positive("gpus", gpus, integer=True))
    return replace(hw, nodes=max(1, math.ceil(gpus / hw.gpus_per_node)))


def save_speedup_value(hardware, work_hours: float, *, speedup: float = 10.0,
                       price_usd_per_gpu_hour: float | None = None, **plan_kw):
    """What saves ``speedup``× faster are worth on one run.

    Returns
    -------
    polars.DataFrame with one row each for the baseline and the faster saves: case,
    ckpt_blocking_s, interval_h, goodput, wall_days, and for the faster row days_saved,
    gpu_hours_saved and usd_saved [USD] at ``price_usd_per_gpu_hour`` (default
    :func:`price_usd_per_gpu_hour`). Each case uses its own optimal interval.
    """
    import polars as pl

    price = price_usd_per_gpu_hour if price_usd_per_gpu_hour is not None else globals()[
        "price_usd_per_gpu_hour"]()[0]
    base_sp = plan_kw.pop("save_speedup", 1.0)
    rows = []
    plans = []
    for case, sp in (("baseline", base_sp), (f"{speedup:g}x faster saves", base_sp * speedup)):
        p = plan_run(hardware, work_hours, save_speedup=sp, **plan_kw)
        plans.append(p)
        rows.append({"case": case, "ckpt_blocking_s": p.ckpt_s, "interval_h": p.interval_s / 3600,
                     "goodput": p.goodput, "wall_days": p.expected_wall_s / 86400})
    saved_h = (plans[0].expected_wall_s - plans[1].expected_wall_s) / 3600
    for r, (dh, g) in zip(rows, ((0.0, 0.0), (saved_h / 24, saved_h * plans[1].gpus)), strict=True):
        r.update(days_saved=dh, gpu_hours_saved=g, usd_saved=g * price)
    return pl.DataFrame(rows)


def scaling_table(hardware, gpu_counts, work_hours: float, **plan_kw):
    """Interruptions per day, optimal interval and goodput for the same node design at
    several GPU counts, each running ``work_hours`` of failure-free work.

    Returns
    -------
    polars.DataFrame: gpus, mtbi_h, interruptions_per_day, ckpt_blocking_s, interval_h,
    mean_restart_min, goodput, wall_days.
    """
    import polars as pl

    rows = []
    for n in gpu_counts:
        p = plan_run(scale_hardware(hardware, n), work_hours, **plan_kw)
        s = p.summary()
        rows.append({k: s[k] for k in ("gpus", "mtbi_h", "interruptions_per_day", "ckpt_blocking_s",
                                        "interval_h", "mean_restart_min", "goodput", "wall_days")})
    return pl.DataFrame(rows)


def interval_sweep(plan: RunPlan, intervals_s=None, *, case: str = ""):
    """Closed-form goodput of ``plan`` over a range of checkpoint intervals.

    Parameters
    ----------
    plan : from :func:`plan_run`
    intervals_s : intervals to evaluate [s]; default 40 log-spaced points from 1/20 to
        20 × the plan's interval (capped at the run length)

    Returns
    -------
    polars.DataFrame: case, interval_h, goodput, wall_days, optimal (bool: the plan's own
    interval row).
    """
    import polars as pl

    if intervals_s is None:
        hi = min(plan.interval_s * 20, plan.work_s)
        intervals_s = np.geomspace(max(plan.interval_s / 20, 1.0), hi, 40)
    rows = []
    for t in list(intervals_s) + [plan.interval_s]:
        q = plan.with_interval(float(t))
        rows.append({"case": case, "interval_h": q.interval_s / 3600, "goodput": q.goodput,
                     "wall_days": q.expected_wall_s / 86400, "optimal": t == plan.interval_s})
    return pl.DataFrame(rows).sort("interval_h")
