"""Checkpoints, restarts and the expected wall-clock time of a run with failures.

* **Checkpoint.** Bytes and their spread over ranks come from the memory model
  (:func:`infra_lab.memory.checkpoint_bytes`: optimizer, sharding). A save takes a fixed cost
  plus the longer of (busiest node's bytes ÷ its link to storage) and (all bytes ÷ the
  storage system's aggregate bandwidth); asynchronous saves block only for a sourced fixed
  staging cost plus the device-to-host snapshot, and the write (with its fixed cost) runs in
  the background, stalling training only if the next save arrives before it finishes. A
  restart reloads each node's shard and the replicated weights.
* **Restart.** detection (a crash is seen in ``crash_detect_s``; a hang at the collective
  timeout or the next health check, whichever comes first) + replacement for hardware
  classes (a hot-spare swap while the pool has a free node, else a wait for a repair) +
  relaunch + reload. The spare pool is a Poisson (M/G/∞) count of nodes in repair.
* **Interval and wall time.** Young/Daly intervals and the exact expected wall-clock time of
  the run model shared with the Monte Carlo (:mod:`infra_lab._kernels.reliability`).

Approximate: when the spare pool is empty the wait is repair_s / (spares + 1) (the first of
several staggered repairs); checkpoint bytes are spread evenly within each sharding group.
"""

from __future__ import annotations

import math
import os
import sys
from dataclasses import dataclass, field, replace
from functools import cache
from typing import TYPE_CHECKING, Any

import numpy as np

from .._repr import Printout
from ..errors import InfraLabError, ValidationError, short_repr
from ..units import HOUR
from ._data import (
    COMPONENT_CLASSES,
    choice,
    number,
    parameter,
    seconds_or_inf,
    table,
)

if TYPE_CHECKING:
    import numpy.typing as npt
    import polars as pl

    from ..memory.checkpoint import CheckpointSize
    from ..models import ModelSpec
    from ..scenario import Scenario
    from ..training import Estimate

__all__ = [
    "storage_options", "CheckpointPlan", "checkpoint_plan", "restart_profiles", "RestartModel",
    "restart_model", "spare_availability", "hot_spares_for", "hot_spare_fraction", "restart_times_s",
    "young_interval_s", "daly_interval_s", "expected_wall_time_s", "optimal_interval_s",
    "RunPlan", "plan_run", "OVERFLOW_EXPONENT", "MAX_WORK_HOURS",
]

OVERFLOW_EXPONENT = 700.0
"""λ·(segment length) above which e^{λL} overflows a float: the expected wall time is then
reported as math.inf (goodput 0): the run practically never completes a segment."""
MAX_SEGMENTS = 1e15
"""Most checkpoint segments the closed form takes (work_s / interval_s) [-]: beyond it the
segment count loses integer precision in a float (2^53 ≈ 9e15)."""


# --------------------------------------------------------------------------------------
# Checkpoint
# --------------------------------------------------------------------------------------
def storage_options() -> pl.DataFrame:
    """Checkpoint storage options (data/reliability/storage.csv): per-node client bandwidth
    [GB/s], aggregate caps [GB/s] (empty = none), default save mode, source, note.

    Examples
    --------
    >>> import infra_lab as il
    >>> "shared-fs" in il.reliability.storage_options()["name"].to_list()
    True
    """
    return table("storage")


@dataclass(frozen=True)
class CheckpointPlan(Printout):
    """How one checkpoint is written and read back.

    Attributes
    ----------
    total_bytes, node_write_bytes : whole checkpoint, busiest node's share [bytes]
    total_read_bytes, node_read_bytes : bytes read on restart, all nodes and busiest [bytes]
    nodes, gpus_per_node : [-]
    client_write_Bps, client_read_Bps : one node's bandwidth to storage [bytes/s]
    aggregate_write_Bps, aggregate_read_Bps : storage-system caps [bytes/s] (inf = none)
    mode : "sync" (training waits for the write) or "async" (for the snapshot only)
    snapshot_Bps_per_node : device-to-host copy rate for async saves [bytes/s]
    fixed_overhead_s : per-save fixed cost of the write (plan, metadata, barriers) [s]; it
        blocks a synchronous save and runs in the background of an asynchronous one
    storage : name of the storage option
    async_fixed_s : fixed blocking part of an asynchronous save (staging) [s]
    """

    total_bytes: float
    node_write_bytes: float
    total_read_bytes: float
    node_read_bytes: float
    nodes: int
    gpus_per_node: int
    client_write_Bps: float
    client_read_Bps: float
    aggregate_write_Bps: float
    aggregate_read_Bps: float
    mode: str
    snapshot_Bps_per_node: float
    fixed_overhead_s: float
    storage: str = ""
    async_fixed_s: float = 0.0

    def _printout(self) -> str:
        """What print() and a notebook show: a readable printout, one field a line with its unit (4 significant figures); the
        exact values are the attributes."""
        from .._repr import readable

        return readable(self, title=f"{self.mode} save to {self.storage or 'storage not named'}",
                        footer="exact values: the attributes")

    @property
    def write_s(self) -> float:
        """Time to persist one checkpoint [s]: fixed + max(busiest node / its link,
        all bytes / aggregate cap)."""
        return self.fixed_overhead_s + max(self.node_write_bytes / self.client_write_Bps,
                                           self.total_bytes / self.aggregate_write_Bps)

    @property
    def blocking_s(self) -> float:
        """Time training stalls per checkpoint when the previous save has finished [s]: the
        whole write (sync), or the staging fixed cost ``async_fixed_s`` plus the busiest
        node's device-to-host snapshot (async; PyTorch DCP async save and Megatron-Core
        ``--async-save`` block only while the state is copied to host memory, planning,
        metadata and the write run in a background process)."""
        if self.mode == "sync":
            return self.write_s
        return self.async_fixed_s + self.node_write_bytes / self.snapshot_Bps_per_node

    @property
    def background_s(self) -> float:
        """Time the write runs behind training after the blocking part [s]: :attr:`write_s`
        (its fixed cost included) for async saves, 0 for sync saves."""
        return self.write_s if self.mode == "async" else 0.0

    @property
    def persist_s(self) -> float:
        """From the start of a save until the checkpoint is durable [s]."""
        return self.blocking_s + self.background_s

    def stall_s(self, interval_s: float) -> float:
        """Time training stalls per checkpoint with ``interval_s`` of work between saves
        [s]: :attr:`blocking_s`, plus, for async saves, the rest of the previous background
        write when the next save arrives before it finishes (at most one save in flight, as
        in DCP's and Megatron-Core's async queues): max(0, background_s − interval_s)."""
        tau = number("interval_s", interval_s)
        return self.blocking_s + max(0.0, self.background_s - tau)

    @property
    def read_s(self) -> float:
        """Time to reload the checkpoint on restart [s]: the longer of busiest node ÷ its
        read link and all bytes ÷ the aggregate read cap. No fixed cost is added, unlike a
        save: ``ckpt_fixed_overhead_s`` is an assumption whose source (ByteCheckpoint)
        reports save-side stalls only, and a restart's fixed work (process start, collective
        and data-loader initialisation, loading the checkpoint's metadata) is the
        restart profile's ``relaunch_s`` (:func:`restart_model`)."""
        return max(self.node_read_bytes / self.client_read_Bps,
                   self.total_read_bytes / self.aggregate_read_Bps)


def checkpoint_plan(checkpoint: CheckpointSize | float, nodes: int, *, gpus_per_node: int = 8,
                    storage: str = "shared-fs", mode: str | None = None, speedup: float = 1.0,
                    write_GBps_per_node: float | None = None,
                    read_GBps_per_node: float | None = None,
                    aggregate_write_GBps: float | None = None,
                    snapshot_GBps_per_gpu: float | None = None,
                    fixed_overhead_s: float | None = None,
                    async_fixed_s: float | None = None) -> CheckpointPlan:
    """Build a :class:`CheckpointPlan`.

    Parameters
    ----------
    checkpoint : an :class:`infra_lab.memory.CheckpointSize` (its ranks must equal
        nodes × gpus_per_node), or a size [bytes] taken as evenly sharded over the nodes
        with each node reloading only its shard
    nodes, gpus_per_node : [-]
    storage : a name in :func:`storage_options`
    mode : "sync" | "async"; default the storage row's mode
    speedup : multiplies write bandwidths, caps and snapshot rate and divides the fixed costs
        ("10× faster saves" = 10) [-]
    write_GBps_per_node, read_GBps_per_node : per-node client bandwidth overrides [GB/s]
    aggregate_write_GBps : storage-system write cap override [GB/s]
    snapshot_GBps_per_gpu : device-to-host rate for async saves [GB/s]
    fixed_overhead_s : per-save fixed cost of the write [s]; default ``ckpt_fixed_overhead_s``
    async_fixed_s : fixed blocking (staging) cost of an async save [s]; default
        ``async_blocking_fixed_s`` (data/reliability/parameters.csv)

    Examples
    --------
    >>> p = checkpoint_plan(128e9, 128, fixed_overhead_s=0.0)   # 1 GB per node
    >>> round(p.write_s, 3)                                     # the 2 TB/s cap binds
    0.064
    """
    from ..memory import CheckpointSize

    st = storage_options()
    choice("storage option", storage, st["name"].to_list())
    r = st.filter(st["name"] == storage).row(0, named=True)
    nodes = int(number("nodes", nodes, integer=True))
    gpn = int(number("gpus_per_node", gpus_per_node, integer=True))
    if isinstance(checkpoint, CheckpointSize):
        if checkpoint.ranks != nodes * gpn:
            raise ValidationError(
                f"checkpoint: computed for {checkpoint.ranks} ranks, but the cluster has "
                f"{nodes} x {gpn} = {nodes * gpn} GPUs; recompute it with dp for this cluster")
        total = checkpoint.total_bytes
        node_w = checkpoint.max_node_bytes(gpn)
        node_r, total_r = checkpoint.reload_node_bytes(gpn), checkpoint.reload_total_bytes
    else:
        total = number("checkpoint (bytes)", checkpoint)
        node_w = node_r = total / nodes
        total_r = total
    sp = number("speedup", speedup)
    mode = r["mode"] if mode is None else choice("checkpoint mode", mode, ("sync", "async"))
    w = number("write_GBps_per_node", r["client_write_GBps_per_node"] if write_GBps_per_node is None
               else write_GBps_per_node) * 1e9
    rd = number("read_GBps_per_node", r["client_read_GBps_per_node"] if read_GBps_per_node is None
                else read_GBps_per_node) * 1e9
    aw_gb = r["aggregate_write_GBps"] if aggregate_write_GBps is None else number(
        "aggregate_write_GBps", aggregate_write_GBps)
    aw = math.inf if aw_gb is None else aw_gb * 1e9
    ar = math.inf if r["aggregate_read_GBps"] is None else r["aggregate_read_GBps"] * 1e9
    snap = number("snapshot_GBps_per_gpu", parameter("snapshot_GBps_per_gpu")
                  if snapshot_GBps_per_gpu is None else snapshot_GBps_per_gpu) * 1e9 * gpn
    fixed = number("fixed_overhead_s", parameter("ckpt_fixed_overhead_s") if fixed_overhead_s is None
                   else fixed_overhead_s, allow_zero=True)
    afix = number("async_fixed_s", parameter("async_blocking_fixed_s") if async_fixed_s is None
                  else async_fixed_s, allow_zero=True)
    return CheckpointPlan(float(total), float(node_w), float(total_r), float(node_r), nodes, gpn,
                          w * sp, rd, aw * sp, ar, mode, snap * sp, fixed / sp, storage, afix / sp)


# --------------------------------------------------------------------------------------
# Restart
# --------------------------------------------------------------------------------------
def restart_profiles() -> pl.DataFrame:
    """Named restart-time settings (data/reliability/restart_profiles.csv): profile,
    crash_detect_s, collective_timeout_s, health_check_period_s (empty = none),
    spare_swap_s, relaunch_s [s], source_url, note.

    Examples
    --------
    >>> import infra_lab as il
    >>> "baseline" in il.reliability.restart_profiles()["profile"].to_list()
    True
    """
    return table("restart_profiles")


@dataclass(frozen=True)
class RestartModel(Printout):
    """Time to get back to training after an interruption.

    Attributes
    ----------
    crash_detect_s : a crash (process exit, XID/ECC error) seen by the launcher [s]
    collective_timeout_s : a hang found by the collective timeout (PyTorch default 600) [s]
    health_check_period_s : period of health checks that also find hangs [s]; inf = none
    spare_swap_s : swap in a hot-spare node and reschedule [s]
    relaunch_s : re-queue the job, relaunch processes, initialise collectives and data
        loaders [s]
    repair_s : until a failed node is repaired [s]
    hot_spares : spare nodes held ready [-]; None = IBM's pool scaled to the cluster
        (:func:`hot_spares_for`)
    profile : name of the profile it came from
    """

    crash_detect_s: float
    collective_timeout_s: float
    health_check_period_s: float
    spare_swap_s: float
    relaunch_s: float
    repair_s: float
    hot_spares: int | None = None
    profile: str = ""

    def _printout(self) -> str:
        """The profile's times, one a line with its unit, and the mean time to find a hang."""
        from .._repr import readable

        return readable(self, (*_RESTART_FIELDS, "hang_detect_s"), title=self.profile or None,
                        footer="exact values: the attributes")

    @property
    def hang_detect_s(self) -> float:
        """Mean time to find a hang [s]: E[min(T, U)] with T the collective timeout and U
        uniform on [0, P) until the next health check: P/2 when P ≤ T, else T − T²/(2P)."""
        t, p = self.collective_timeout_s, self.health_check_period_s
        if math.isinf(p):
            return t
        return p / 2.0 if p <= t else t - t * t / (2.0 * p)


_RESTART_FIELDS = ("crash_detect_s", "collective_timeout_s", "health_check_period_s",
                   "spare_swap_s", "relaunch_s", "repair_s", "hot_spares")


def restart_model(profile: str = "baseline", **overrides: float) -> RestartModel:
    """:class:`RestartModel` of a profile in :func:`restart_profiles` with any field
    overridden (``health_check_period_s=None`` = no health checks; ``hot_spares=None`` =
    IBM's pool scaled to the cluster).

    Examples
    --------
    >>> m = restart_model("baseline")
    >>> m.hang_detect_s                  # health check every 300 s, 600 s timeout
    150.0
    >>> restart_model("baseline", health_check_period_s=None).hang_detect_s
    600.0
    """
    t = restart_profiles()
    choice("restart profile", profile, t["profile"].to_list())
    row = t.filter(t["profile"] == profile).row(0, named=True)
    d = {k: row[k] for k in _RESTART_FIELDS if k in row}
    d["repair_s"] = parameter("repair_s")
    d["hot_spares"] = None
    for k, v in overrides.items():
        choice("restart field", k, _RESTART_FIELDS)
        d[k] = v
    out = {}
    for k in _RESTART_FIELDS:
        v = d[k]
        if k == "hot_spares":
            out[k] = None if v is None else int(number("hot_spares", v, allow_zero=True, integer=True))
        elif k == "health_check_period_s":
            out[k] = seconds_or_inf(k, v)
            if out[k] == 0:
                raise ValidationError(f"{k} = {v!r}: must be > 0 (None = no health checks)")
        elif k == "collective_timeout_s":
            out[k] = number(k, v)
        else:
            out[k] = number(k, v, allow_zero=True)
    return RestartModel(**out, profile=profile)


def hot_spare_fraction() -> float:
    """IBM's hot-spare pool per node in use [-]: hot_spare_nodes / hot_spare_pool_nodes of
    data/reliability/parameters.csv (8 / 128 = 0.0625).

    The one owner of the platform's spare pool: :func:`hot_spares_for` (the restart model's
    spares) and the economics default ``spare_fraction`` (spare nodes bought, powered and
    housed beside the billed ones) both read these two rows.

    Examples
    --------
    >>> import infra_lab as il
    >>> il.reliability.hot_spare_fraction()
    0.0625
    """
    return parameter("hot_spare_nodes") / parameter("hot_spare_pool_nodes")


def hot_spares_for(nodes: int) -> int:
    """IBM's hot-spare pool scaled to ``nodes``: ceil(nodes × 8 / 128) [-]
    (parameters.csv hot_spare_nodes / hot_spare_pool_nodes, as :func:`hot_spare_fraction`).

    Examples
    --------
    >>> import infra_lab as il
    >>> il.reliability.hot_spares_for(128), il.reliability.hot_spares_for(129)
    (8, 9)
    """
    nodes = int(number("nodes", nodes, integer=True))
    return math.ceil(nodes * parameter("hot_spare_nodes") / parameter("hot_spare_pool_nodes"))


def spare_availability(replace_rate_per_s: float, repair_s: float, hot_spares: int) -> float:
    """Probability that a free hot spare exists when a node fails [-].

    Parameters
    ----------
    replace_rate_per_s : failures that need a node replaced, per second [1/s]
    repair_s : the time to repair a failed node [s]
    hot_spares : hot spare nodes [-], an integer >= 0

    Notes
    -----
    Nodes in repair form an M/G/∞ queue: their number is Poisson with mean m = λ·T
    (λ failures needing a node per second, T repair time); by PASTA a failure finds a spare
    when fewer than S nodes are in repair: P = Σ_{k<S} e^{−m} m^k / k!.

    Examples
    --------
    >>> round(spare_availability(1 / 3600, 4 * 3600, 8), 4)   # 4 nodes in repair on average
    0.9489
    """
    lam = number("replace_rate_per_s", replace_rate_per_s, allow_zero=True)
    t = number("repair_s", repair_s, allow_zero=True)
    s = int(number("hot_spares", hot_spares, allow_zero=True, integer=True))
    from ..fabric import constant

    max_nodes = int(constant("max_world_gpus"))   # a spare is a node: at most the largest world
    if s > max_nodes:
        raise ValidationError(f"hot_spares = {hot_spares!r}: allowed 0..{max_nodes:,} spare nodes "
                              "(max_world_gpus in network_constants.csv)")
    m = lam * t
    if s == 0:
        return 0.0
    if m == 0:
        return 1.0
    if math.isinf(m):      # λ·T overflows: unboundedly many nodes in repair, no spare is ever free
        return 0.0
    log_m = math.log(m)
    # terms beyond m + 40·sqrt(m) + 100 are below 1e-300 (Poisson tail): the sum is 1 there
    s = min(s, int(m + 40.0 * math.sqrt(m) + 100.0))
    terms = [math.exp(-m + k * log_m - math.lgamma(k + 1)) for k in range(s)]
    return float(min(1.0, math.fsum(terms)))


@cache
def _class_table():
    import polars as pl

    cls = table("component_classes")
    order = {c: i for i, c in enumerate(COMPONENT_CLASSES)}
    return cls.with_columns(pl.col("component_class").replace_strict(order).alias("_o")).sort("_o")


def restart_times_s(plan: CheckpointPlan, restart: RestartModel, rates_per_s: npt.ArrayLike,
                    nodes: int) -> tuple[np.ndarray, float]:
    """Restart time per component class [s] and the spare availability [-].

    restart_c = detection_c + replacement_c + relaunch + reload, where detection is
    ``crash_detect_s`` or :attr:`RestartModel.hang_detect_s` (component_classes.csv
    ``detection``), replacement (classes that need hardware) = spare swap + (1 − P) ×
    repair_s / (spares + 1) with P = :func:`spare_availability`, and reload = ``plan.read_s``.

    Parameters
    ----------
    restart : a restart model (from il.reliability.restart_model('baseline'))
    rates_per_s : interruption rate per component class [1/s], in component_classes.csv's
        order (il.reliability.interruption_rates(sc)['rate_per_hour'] / 3600)

    Examples
    --------
    >>> import infra_lab as il
    >>> plan = il.reliability.checkpoint_plan(128e9, 128)
    >>> rates = il.reliability.interruption_rates(il.load_scenario("zaya1-ibm-mi300x"))["rate_per_hour"].to_numpy() / 3600
    >>> t, avail = il.reliability.restart_times_s(plan, il.reliability.restart_model("baseline"), rates, 128)
    >>> t.shape == rates.shape, 0 <= avail <= 1
    (True, True)
    """
    if not isinstance(plan, CheckpointPlan):
        raise ValidationError(f"plan = {short_repr(plan)}: expected a CheckpointPlan")
    if not isinstance(restart, RestartModel):
        raise ValidationError(f"restart = {restart!r}: expected a RestartModel (restart_model())")
    cls = _class_table()
    rates = _rate_array("rates_per_s", rates_per_s, cls.height)   # one per class, in the table's order
    need = np.array(cls["needs_replacement"].to_list(), dtype=bool)
    hang = np.array([d == "hang" for d in cls["detection"].to_list()], dtype=bool)
    spares = hot_spares_for(nodes) if restart.hot_spares is None else restart.hot_spares
    p = spare_availability(float(rates[need].sum()), restart.repair_s, spares)
    wait = (1.0 - p) * restart.repair_s / (spares + 1)
    detect = np.where(hang, restart.hang_detect_s, restart.crash_detect_s)
    out = detect + np.where(need, restart.spare_swap_s + wait, 0.0) + restart.relaunch_s + plan.read_s
    return out, p


# --------------------------------------------------------------------------------------
# Intervals and the closed form
# --------------------------------------------------------------------------------------
def young_interval_s(ckpt_s: float, mtbi_s: float) -> float:
    """Young's first-order optimum checkpoint interval √(2 δ M) [s] (work between saves).

    References
    ----------
    J. W. Young, CACM 17(9), 1974, https://doi.org/10.1145/361147.361115

    Examples
    --------
    >>> import infra_lab as il
    >>> round(il.reliability.young_interval_s(60.0, 3600.0))     # sqrt(2 x 60 s x 3600 s)
    657
    """
    return _finite_interval(_sqrt_2dm(number("ckpt_s", ckpt_s), number("mtbi_s", mtbi_s)), ckpt_s, mtbi_s)


def _sqrt_2dm(d: float, m: float) -> float:
    """√(2 δ M) [s]. Below the smallest normal float the product 2δM underflows (δ = M = 1e-300 s
    gave 0, and Daly's interval 0 − δ < 0): there it is √(2δ)·√M, which does not. Above ~1e308
    the product overflows to inf, which :func:`_finite_interval` refuses."""
    p = 2.0 * d * m
    return math.sqrt(p) if p >= sys.float_info.min else math.sqrt(2.0 * d) * math.sqrt(m)


def _finite_interval(tau: float, ckpt_s: float, mtbi_s: float) -> float:
    """``tau`` if finite; an interval that overflows a float (ckpt_s·mtbi_s beyond ~1e308 s²) is
    refused rather than returned as inf."""
    if not math.isfinite(tau):
        raise ValidationError(f"ckpt_s = {ckpt_s!r}, mtbi_s = {mtbi_s!r}: the checkpoint interval overflows a "
                              "float; allowed ckpt_s·mtbi_s below ~1e307 s²")
    return tau


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
    d = number("ckpt_s", ckpt_s)
    m = number("mtbi_s", mtbi_s)
    if d >= 2.0 * m:
        return m
    x = d / (2.0 * m)
    return _finite_interval(_sqrt_2dm(d, m) * (1.0 + math.sqrt(x) / 3.0 + x / 9.0) - d, ckpt_s, mtbi_s)


def _rate_array(field_: str, values, n: int | None = None) -> np.ndarray:
    """A non-empty 1-D array of finite numbers >= 0, one per class: :func:`_validate.float_array`
    (strings such as ["1"] and booleans are refused, not parsed or read as 1)."""
    from .. import _validate as V

    a = V.float_array(field_, values)
    if a.ndim != 1 or a.size == 0:
        raise ValidationError(f"{field_}: expected a non-empty 1-D sequence, got shape {a.shape}")
    if n is not None and a.size != n:
        raise ValidationError(f"{field_}: {a.size} values, expected {n} (one per class)")
    bad = ~np.isfinite(a) | (a < 0)
    if bad.any():
        i = int(np.argmax(bad))
        raise ValidationError(f"{field_}[{i}] = {a[i]!r}: must be a finite number >= 0")
    return a


def expected_wall_time_s(work_s: float, interval_s: float, ckpt_s: float,
                         rates_per_s: npt.ArrayLike,
                         restart_s: npt.ArrayLike, *, background_s: float = 0.0) -> float:
    """Exact expected wall-clock time of the run model [s] (the Monte Carlo's mean).

    Parameters
    ----------
    work_s : failure-free work [s]
    interval_s : work between checkpoints [s]
    ckpt_s : blocking time per checkpoint [s] (for an asynchronous save its blocking part
        alone: a wait for a previous write still running is added here)
    rates_per_s : interruption rate per class [1/s]
    restart_s : restart time per class [s]
    background_s : an asynchronous save's write behind training [s] (0: synchronous). The
        checkpoint is durable only when it ends, so a failure before then loses the segment
        the save closed as well (:mod:`infra_lab._kernels.reliability`, the run model)

    Returns
    -------
    float : [s]; math.inf when λ·(segment) or λ·restart exceeds :data:`OVERFLOW_EXPONENT`
    (the run practically never completes).

    Notes
    -----
    With λ = Σλ_c, p_c = λ_c/λ, a restart phase (restarted by failures) lasts on average
    G = Σ p_c(1−e^{−λR_c}) / (λ Σ p_c e^{−λR_c}); a segment of length L = work + δ takes
    (e^{λL} − 1)(1/λ + G). Summed over ⌊W/τ⌋ full segments and the remainder. With one class
    this is Daly's T = M e^{R/M}(e^{(τ+δ)/M} − 1)·W/τ. With an asynchronous save a step from
    one durable checkpoint to the next lasts A = τ + δ + max(0, b − τ) after a successful step
    but B = τ + δ + b after a restart (and for the first segment): it takes
    (1 − e^{−λA}) e^{λB} (1/λ + G), which is the synchronous form when A = B.

    Examples
    --------
    >>> import infra_lab as il
    >>> il.reliability.expected_wall_time_s(3600.0, 3600.0, 0.0, [0.0], [0.0])   # no failures, free saves
    3600.0
    >>> round(il.reliability.expected_wall_time_s(36000.0, 3600.0, 60.0, [1 / 86400], [600.0]))
    37647
    """
    work_s = number("work_s", work_s)
    interval_s = number("interval_s", interval_s)
    ckpt_s = number("ckpt_s", ckpt_s, allow_zero=True)
    b = number("background_s", background_s, allow_zero=True)
    lam_c = _rate_array("rates_per_s", rates_per_s)
    rs = _rate_array("restart_s", restart_s, lam_c.size)
    if work_s / interval_s > MAX_SEGMENTS:
        raise ValidationError(
            f"interval_s = {interval_s!r}: work_s / interval_s = {work_s / interval_s:.3g} checkpoints in "
            f"work_s = {work_s!r} s; allowed at most {MAX_SEGMENTS:.0e} (interval_s >= work_s / {MAX_SEGMENTS:.0e})")
    n_full = math.floor(work_s / interval_s)
    rem = work_s - n_full * interval_s
    if rem <= 1e-9 * work_s:
        rem = 0.0
    steps = _steps(n_full, interval_s, rem, ckpt_s, b)
    lam = float(lam_c.sum())
    if lam <= 0:
        return float(sum(n * a for n, a, _ in steps))
    p = lam_c / lam
    if lam * max(bb for _, _, bb in steps) > OVERFLOW_EXPONENT or lam * rs.min() > OVERFLOW_EXPONENT:
        return math.inf
    surv = np.exp(-lam * rs)
    g_lam = float(np.sum(p * -np.expm1(-lam * rs)) / np.sum(p * surv))  # λ·G
    return float(sum(n * _step_over_lam(lam, a, bb) * (1.0 + g_lam) for n, a, bb in steps))


def _steps(n_full: int, interval_s: float, rem: float, ckpt_s: float, background_s: float) -> list:
    """(count, A, B) of the run's steps [-, s, s]: A a step's length after a successful step,
    B after a restart; the first segment's step is B long (no write in flight before it)."""
    def a(w):
        return w + ckpt_s + max(0.0, background_s - w)

    segs = [(n_full, interval_s)] + ([(1, rem)] if rem > 0 else [])
    segs = [(n, w) for n, w in segs if n > 0]   # interval_s > work_s: no full segment
    if background_s == 0.0:   # synchronous: every step is work + ckpt_s (A = B)
        return [(n, w + ckpt_s, w + ckpt_s) for n, w in segs]
    n0, w0 = segs[0]
    out = [(1, w0 + ckpt_s + background_s, w0 + ckpt_s + background_s)]
    if n0 > 1:
        out.append((n0 - 1, a(w0), w0 + ckpt_s + background_s))
    out += [(n, a(w), w + ckpt_s + background_s) for n, w in segs[1:]]
    return out


def _step_over_lam(lam: float, a: float, b: float) -> float:
    """λ × the expected time of a step first tried for ``a`` and retried for ``b`` after each
    failure, divided by λ·(1 + λG): (1 − e^{−λa}) e^{λb} / λ [s]; (e^{λa} − 1)/λ when a = b."""
    if a == b:
        return _expm1_over_lam(lam, a)
    x = lam * a
    first = a if x == 0.0 else a * (-math.expm1(-x) / x)
    return first * math.exp(lam * b)


def _expm1_over_lam(lam: float, length: float) -> float:
    """(e^{λL} − 1)/λ [s], written L·expm1(x)/x so that it tends to L when λ·L underflows
    (λ = 1e-300 /s and L = 1 s give x = 0 in floating point, and expm1(x)/λ would be 0)."""
    x = lam * length
    return length if x == 0.0 else length * (math.expm1(x) / x)


def optimal_interval_s(work_s: float, ckpt_s: float, rates_per_s: npt.ArrayLike,
                       restart_s: npt.ArrayLike, *,
                       method: str = "exact", min_interval_s: float = 0.0,
                       background_s: float = 0.0) -> float:
    """Checkpoint interval that minimises expected wall time [s].

    method : "exact" (the best whole number of equal segments for
    :func:`expected_wall_time_s`), "daly" or "young"; min_interval_s : lower bound (e.g. an
    async upload must finish before the next save) [s]; background_s : an asynchronous save's
    write behind training, as :func:`expected_wall_time_s` takes it (used by "exact") [s].

    Parameters
    ----------
    work_s : failure-free work [s]
    rates_per_s : interruption rate per component class [1/s] (a list or array, e.g.
        il.reliability.interruption_rates(sc)['rate_per_hour'] / 3600)
    restart_s : restart time per class [s], as many as ``rates_per_s``

    Examples
    --------
    >>> import infra_lab as il
    >>> y = il.reliability.optimal_interval_s(86400.0, 60.0, [1 / 3600], [600.0], method="young")
    >>> round(y), round(y) == round(il.reliability.young_interval_s(60.0, 3600.0))
    (657, True)
    """
    work_s = number("work_s", work_s)
    ckpt_s = number("ckpt_s", ckpt_s, allow_zero=True)
    b = number("background_s", background_s, allow_zero=True)
    min_interval_s = number("min_interval_s", min_interval_s, allow_zero=True)
    rates = _rate_array("rates_per_s", rates_per_s)
    _rate_array("restart_s", restart_s, rates.size)
    method = choice("interval_method", method, ("exact", "daly", "young"))
    lam = float(rates.sum())
    if lam <= 0:
        return float(work_s)
    m = 1.0 / lam
    d = max(ckpt_s, 1e-9)
    if method == "young":
        tau = young_interval_s(d, m)
    elif method == "daly":
        tau = daly_interval_s(d, m)
    else:
        # For n segments equal ones are best (e^{λL} is convex), and the total
        # T(n) ∝ n·(e^{λ(W/n+δ)} − 1) is unimodal in n: ternary search on whole numbers
        # between 1 and 50× Daly's n (or the most segments min_interval_s allows).
        n0 = work_s / daly_interval_s(d, m)
        n_max = work_s / min_interval_s if min_interval_s > 0 else math.inf
        # in floats first: n0 overflows to inf when λ·δ is tiny against the work
        hi_f = min(n0 * 50 + 1 if math.isfinite(n0) else math.inf, n_max, min(1e12, MAX_SEGMENTS))
        lo, hi = 1, int(max(1, math.ceil(hi_f)))

        def cost(n: int) -> float:
            x = lam * (work_s / n + ckpt_s)
            if b == 0.0:
                return math.inf if x > OVERFLOW_EXPONENT else n * math.expm1(x)
            # asynchronous: the first step x + λb long, the others first tried for
            # λ(τ + δ + max(0, b − τ)) and retried for x + λb (expected_wall_time_s)
            tau = work_s / n
            xb, xa = x + lam * b, lam * (tau + ckpt_s + max(0.0, b - tau))
            if xb > OVERFLOW_EXPONENT:
                return math.inf
            return math.expm1(xb) + (n - 1) * -math.expm1(-xa) * math.exp(xb)

        while hi - lo > 2:
            m1, m2 = lo + (hi - lo) // 3, hi - (hi - lo) // 3
            if cost(m1) < cost(m2):
                hi = m2
            else:
                lo = m1
        best = min(range(lo, hi + 1), key=cost)
        tau = work_s / best
    return float(min(max(tau, min_interval_s), work_s))


# --------------------------------------------------------------------------------------
# The run plan
# --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class RunPlan(Printout):
    """Everything the closed form and the Monte Carlo need, plus their closed-form answers.

    Attributes
    ----------
    work_s : failure-free run time [s]
    interval_s : work between checkpoints [s]
    ckpt_s : blocking time per checkpoint at this interval [s]
        (:meth:`CheckpointPlan.stall_s`)
    persist_s : time until a checkpoint is durable [s] (= ckpt_s for sync saves)
    rates_per_s, restart_s : per component class [1/s], [s]
    gpus : GPUs in the run [-]
    expected_wall_s : exact expected wall-clock time [s] (inf: never completes)
    goodput : work_s / expected_wall_s [-]
    mtbi_s : 1 / Σ rates [s]
    spare_availability : probability a hot spare is free at a hardware failure [-]
    calibration : the failure calibration used
    checkpoint, restart : the CheckpointPlan and RestartModel
    background_s : an asynchronous save's write behind training [s] (0 for sync saves); the
        checkpoint is durable only when it ends (:func:`expected_wall_time_s`)
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
    spare_availability: float
    calibration: str
    checkpoint: CheckpointPlan = field(repr=False)
    restart: RestartModel = field(repr=False)
    background_s: float = 0.0

    def _printout(self) -> str:
        """What print() and a notebook show: a readable printout, one field a line with its unit (4 significant figures); the
        exact values are the attributes (the per-class arrays, the checkpoint and restart
        models among them)."""
        from .._repr import readable

        return readable(self, title=f"{self.gpus:,} GPUs, calibration {self.calibration}",
                        footer="exact values: the attributes; .checkpoint, .restart, .rates_per_s, .restart_s")

    @property
    def mean_restart_s(self) -> float:
        """Rate-weighted mean restart time [s]."""
        lam = self.rates_per_s.sum()
        return float((self.rates_per_s * self.restart_s).sum() / lam) if lam > 0 else 0.0

    @property
    def expected_failures(self) -> float:
        """Expected interruptions over the run, λ × expected wall time [-]."""
        return float(self.rates_per_s.sum() * self.expected_wall_s)

    def summary(self) -> dict:
        """Headline numbers in display units."""
        return {
            "gpus": self.gpus, "calibration": self.calibration, "mtbi_h": self.mtbi_s / 3600,
            "interruptions_per_day": 86400 / self.mtbi_s,
            "ckpt_blocking_s": self.ckpt_s, "ckpt_persist_s": self.persist_s,
            "interval_h": self.interval_s / 3600, "mean_restart_min": self.mean_restart_s / 60,
            "spare_availability": self.spare_availability,
            "work_days": self.work_s / 86400, "wall_days": self.expected_wall_s / 86400,
            "goodput": self.goodput, "expected_interruptions": self.expected_failures,
        }

    def with_interval(self, interval_s: float) -> RunPlan:
        """The same plan with another checkpoint interval (closed form and, for async
        saves, the stall recomputed)."""
        ckpt_s = self.checkpoint.stall_s(interval_s)
        blocking = ckpt_s - max(0.0, self.background_s - float(interval_s))   # the blocking part alone
        wall = expected_wall_time_s(self.work_s, interval_s, blocking, self.rates_per_s, self.restart_s,
                                    background_s=self.background_s)
        return replace(self, interval_s=float(interval_s), ckpt_s=ckpt_s, expected_wall_s=wall,
                       goodput=self.work_s / wall)


def _checkpoint_for(hardware, hw, checkpoint, model, optimizer, save):
    from .. import memory
    from ..scenario import Scenario

    if checkpoint is not None:
        from ..training import Estimate

        given = [k for k, v in (("model", model), ("optimizer", optimizer)) if v is not None]
        if given:   # they size the checkpoint too, and were ignored beside it
            raise ValidationError(f"plan_run: checkpoint= gives the checkpoint's bytes, and {' and '.join(given)}= "
                                  "would size it again; give one of the two")
        if isinstance(checkpoint, Estimate):  # the training model's byte count, evenly sharded
            return float(checkpoint.checkpoint_bytes)
        return checkpoint
    if model is not None:
        if isinstance(model, Scenario):
            if model.hardware.world_size != hw.world_size:
                raise ValidationError(
                    f"model: the Scenario has {model.hardware.world_size} GPUs but the hardware "
                    f"{hw.world_size}; pass a model preset/ModelSpec or a matching Scenario")
            return memory.checkpoint_bytes(model, optimizer, save=save)
        return memory.checkpoint_bytes(model, optimizer, save=save, dp=hw.world_size)
    hardware = whole_scenario(hardware)
    if isinstance(hardware, Scenario):
        return memory.checkpoint_bytes(hardware, optimizer, save=save)
    raise ValidationError("plan_run: give checkpoint= (CheckpointSize or bytes), a model, "
                          "or pass a Scenario as hardware (an object, a dict, a shipped name or a file)")


def whole_scenario(hardware):
    """``hardware`` as a Scenario when it is one by name, file or dict (as_scenario), else as
    given. A whole scenario sizes its checkpoint (and scales) as the Scenario object does:
    plan_run("zaya1-ibm-mi300x", 95) asked for "a Scenario as hardware"; a [hardware] table, or
    a file of [hardware] keys alone, has no model and stays hardware."""
    from ..scenario import Scenario, as_scenario

    if isinstance(hardware, Scenario) or not isinstance(hardware, (str, os.PathLike, dict)) \
            or isinstance(hardware, bytes):
        return hardware
    if isinstance(hardware, dict) and not isinstance(hardware.get("hardware"), dict):
        return hardware          # a [hardware] table
    try:
        return as_scenario(hardware)
    except InfraLabError:
        return hardware


MAX_WORK_HOURS = 1e6
"""Longest failure-free run :func:`plan_run` takes [h]: 10^6 h is 114 years, beyond any
training run, so a larger value is a unit slip (seconds for hours) or an overflow."""


def plan_run(hardware: Any, work_hours: float, *,
             checkpoint: CheckpointSize | Estimate | float | None = None,
             model: Scenario | ModelSpec | str | None = None,
             optimizer: str | None = None, save: str = "fully-parallel",
             storage: str = "shared-fs", mode: str | None = None, save_speedup: float = 1.0,
             write_GBps_per_node: float | None = None, fixed_overhead_s: float | None = None,
             calibration: str = "llama3", reading: str = "count", hbm_basis: str = "stack",
             early_deployment: float = 1.0, multiplier: float | dict = 1.0,
             restart: str | RestartModel = "baseline", restart_s: float | None = None,
             interval_s: float | None = None, interval_method: str = "exact",
             radix: int | None = None) -> RunPlan:
    """Plan a run: failure rates, checkpoint cost, restart time, interval and goodput.

    Parameters
    ----------
    hardware : Scenario, HardwareConfig or [hardware] dict
    work_hours : failure-free run time [h] (e.g. :func:`infra_lab.reliability.run_hours`), at
        most :data:`MAX_WORK_HOURS` (10^6 h)
    checkpoint : :class:`infra_lab.memory.CheckpointSize`, an ``il.estimate`` result (its
        ``checkpoint_bytes``, evenly sharded) or bytes; default from ``model`` or the Scenario
        (:func:`infra_lab.memory.checkpoint_bytes`)
    model : Scenario, ModelSpec or preset name; a preset is sharded data-parallel over all GPUs
    optimizer, save : see :func:`infra_lab.memory.checkpoint_bytes`
    storage, mode, save_speedup, write_GBps_per_node, fixed_overhead_s : see
        :func:`checkpoint_plan`
    calibration, reading, hbm_basis, early_deployment, multiplier, radix : see
        :func:`infra_lab.reliability.interruption_rates`
    restart : a profile name of :func:`restart_profiles` or a :class:`RestartModel`
    restart_s : one restart time for every class, overriding ``restart`` [s]
    interval_s : work between checkpoints [s]; default the optimum by ``interval_method``

    Examples
    --------
    >>> import infra_lab as il
    >>> sc = il.load_scenario("zaya1-ibm-mi300x")
    >>> p = plan_run(sc, 95.0, optimizer="muon")
    >>> 0.9 < p.goodput < 1.0
    True
    """
    from .failures import _as_hw, composition, interruption_rates

    work_s = number("work_hours", work_hours) * HOUR
    if work_s > MAX_WORK_HOURS * HOUR:
        raise ValidationError(f"work_hours = {work_hours!r}: allowed (0, {MAX_WORK_HOURS:,.0f}] h "
                              "(MAX_WORK_HOURS: over a century of failure-free compute)")
    hw = _as_hw(hardware)
    ck_size = _checkpoint_for(hardware, hw, checkpoint, model, optimizer, save)
    number("save_speedup", save_speedup)   # named as plan_run's argument (checkpoint_plan calls it speedup)
    ck = checkpoint_plan(ck_size, hw.nodes, gpus_per_node=hw.gpus_per_node, storage=storage,
                         mode=mode, speedup=save_speedup, write_GBps_per_node=write_GBps_per_node,
                         fixed_overhead_s=fixed_overhead_s)
    comp = composition(hw, radix=radix)
    rates = interruption_rates(comp, calibration=calibration, reading=reading, hbm_basis=hbm_basis,
                               early_deployment=early_deployment, multiplier=multiplier
                               )["rate_per_hour"].to_numpy() / HOUR
    if isinstance(restart, str):
        restart = restart_model(restart)
    elif not isinstance(restart, RestartModel):
        raise ValidationError(f"restart = {restart!r}: expected a profile name or a RestartModel")
    rs, p_spare = restart_times_s(ck, restart, rates, hw.nodes)
    if restart_s is not None:
        rs = np.full(len(COMPONENT_CLASSES), number("restart_s", restart_s, allow_zero=True))
    # an async save's background write stalls the next save that comes before it ends: a
    # shorter interval only adds stall (the segment length stays blocking + background), so
    # the optimum is at least the background time
    blocking, persist, bg = ck.blocking_s, ck.persist_s, ck.background_s
    if interval_s is None:
        interval_s = optimal_interval_s(work_s, blocking, rates, rs, method=interval_method,
                                        min_interval_s=bg, background_s=bg)
    interval_s = number("interval_s", interval_s)
    # an async save's checkpoint is durable only when its background write ends: a failure
    # before then loses the segment it closed too (expected_wall_time_s, background_s)
    wall = expected_wall_time_s(work_s, interval_s, blocking, rates, rs, background_s=bg)
    lam = rates.sum()
    return RunPlan(work_s, float(interval_s), ck.stall_s(interval_s), persist, rates, rs, comp.gpus, wall,
                   float(work_s / wall), float(1.0 / lam) if lam > 0 else math.inf, float(p_spare), calibration, ck,
                   restart, bg)

