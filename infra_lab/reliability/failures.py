"""Failure model: how often a training job on a given cluster is interrupted, and by what.

A **calibration** is one published observation of a reference cluster (its composition, an
observation window and the interruptions in it) plus the share of each component class.
Per-device rates follow as

    rate_c per unit = (interruptions / window) × share_c / units_c(reference cluster)

and the interruption rate of another cluster is Σ_c rate_c × units_c(cluster) × factors, where
units are counted per class basis: GPUs, HBM stacks, back-end NICs, back-end links (cables and
their optics, from :func:`infra_lab.fabric.link_counts`), back-end switches (from
:func:`infra_lab.fabric.switch_counts`) and nodes. Two calibrations ship
(data/reliability/calibrations.csv):

* ``llama3``: 419 unexpected interruptions in 54 days of Llama 3 405B on 16,384 H100
  (arXiv 2407.21783, Table 5) — one flagship run, a per-device reading.
* ``fleet``: mean time to failure 7.9 h of 1,024-GPU jobs on Meta's RSC research clusters
  (Kokolis et al., HPCA 2025, arXiv 2410.21680) — a multi-tenant fleet, a job-level reading
  at ZAYA1's size. Its class shares are borrowed from Llama 3 (an assumption).

Approximate: failures are independent Poisson streams per device (no lemon nodes, no
correlated failures, no stragglers or slow nodes); the class shares of the fleet reading are
Llama 3's.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any

import numpy as np

from .. import catalog
from .._validate import keyword_names, keywords
from ..errors import ValidationError, unknown
from ._data import (
    COMPONENT_CLASSES,
    choice,
    factor_at_least_one,
    parameter,
    rate_factor,
    table,
)

if TYPE_CHECKING:
    import polars as pl

__all__ = [
    "READINGS", "HBM_BASES", "calibrations", "calibration_names", "interruption_table",
    "class_shares", "Composition", "composition", "hbm_stacks", "component_rates",
    "interruption_rates", "failure_rate_per_hour", "mtbi_hours", "interruptions_per_day",
    "fleet_observations", "fleet_check",
]

READINGS = ("count", "printed")
"""How to read Llama 3 Table 5: ``count`` uses the interruption counts (sum 419; GPU share
64.0 %); ``printed`` uses the printed percentages of 419 (faulty GPU 30.1 %, GPU share 58.7 %)
and gives the 5.1 % the printed column leaves over to ``unknown``, so the total stays 419."""
HBM_BASES = ("stack", "gpu", "GB")
"""What HBM failures scale with: per stack (default: MI300X 8, H100 5), per GPU, per GB."""


def calibrations() -> pl.DataFrame:
    """data/reliability/calibrations.csv: name, reference cluster (accelerator, nodes,
    gpus_per_node, nics_per_node, nic, fabric), window_h [h], interruptions [-],
    shares_from, basis, description, source_url, note.

    Examples
    --------
    >>> import infra_lab as il
    >>> il.reliability.calibrations()["name"].to_list() == list(il.reliability.calibration_names())
    True
    """
    return table("calibrations")


def calibration_names() -> tuple[str, ...]:
    """Names of the shipped calibrations, e.g. ("llama3", "fleet").

    Examples
    --------
    >>> import infra_lab as il
    >>> il.reliability.calibration_names()
    ('llama3', 'fleet')
    """
    return tuple(calibrations()["name"].to_list())


@cache
def _calibration(name: str) -> dict:
    names = calibration_names()
    choice("calibration", name, names)
    t = calibrations()
    return t.filter(t["name"] == name).row(0, named=True)


def _hardware_of(row: dict):
    from ..scenario import HardwareConfig

    return HardwareConfig.from_dict({
        "accelerator": row["accelerator"], "nodes": int(row["nodes"]),
        "gpus_per_node": int(row["gpus_per_node"]) if "gpus_per_node" in row
        else int(row["gpus"]) // int(row["nodes"]),
        "nics_per_node": int(row["nics_per_node"]),
        "nic": row["nic"], "fabric": row["fabric"]})


# --------------------------------------------------------------------------------------
# Llama 3 Table 5 and the class shares
# --------------------------------------------------------------------------------------
def interruption_table(reading: str = "count") -> pl.DataFrame:
    """Llama 3 Table 5 with the events each row contributes under ``reading``.

    Returns
    -------
    polars.DataFrame: component, category, count, printed_pct, component_class ("network"
    for the switch/cable row, split by :func:`class_shares`), events (count, or
    printed_pct/100 × 419), source_url, note. Under ``printed`` a final row "Unassigned
    (printed column sums to 94.9 %)" carries the remainder as ``unknown``.

    Examples
    --------
    >>> import infra_lab as il
    >>> df = il.reliability.interruption_table()
    >>> int(df["count"].sum())                     # Llama 3's 419 interruptions
    419
    """
    import polars as pl

    choice("reading", reading, READINGS)
    t = table("llama3_interruptions")
    total = float(t["count"].sum())
    if reading == "count":
        return t.with_columns(pl.col("count").cast(pl.Float64).alias("events"))
    t = t.with_columns((pl.col("printed_pct") / 100.0 * total).alias("events"))
    extra = pl.DataFrame({
        "component": ["Unassigned (printed column sums to 94.9 %)"], "category": ["Unknown"],
        "count": [None], "printed_pct": [100.0 - t["printed_pct"].sum()],
        "component_class": ["unknown"], "source_url": [t["source_url"][0]],
        "note": ["DERIVED: 419 minus the printed shares; kept so the total stays 419"],
        "events": [total - t["events"].sum()],
    }, schema=t.schema)
    return pl.concat([t, extra])


@cache
def _shares(reading: str) -> tuple[float, ...]:
    t = interruption_table(reading)
    ev = dict.fromkeys(COMPONENT_CLASSES, 0.0)
    network = 0.0
    for c, e in zip(t["component_class"].to_list(), t["events"].to_list(), strict=True):
        if c == "network":
            network += e
        else:
            ev[c] += e
    # Split "Network switch/cable" by Alibaba HPN's per-unit monthly failure ratios,
    # weighted by the links and switches of Llama 3's cluster.
    ref = composition(_hardware_of(_calibration("llama3")))
    w_link = ref.links * parameter("hpn_link_failures_per_month")
    w_switch = ref.switches * parameter("hpn_switch_failures_per_month")
    ev["link"] += network * w_link / (w_link + w_switch)
    ev["switch"] += network * w_switch / (w_link + w_switch)
    total = sum(ev.values())
    return tuple(ev[c] / total for c in COMPONENT_CLASSES)


def class_shares(reading: str = "count") -> pl.DataFrame:
    """Share of each component class in Llama 3's 419 interruptions.

    Returns
    -------
    polars.DataFrame: component_class, share [-] (sums to 1), events (of 419).

    Notes
    -----
    The "Network switch/cable" row (35 events) is split between ``link`` and ``switch`` in
    proportion to links × 0.057 %/month and switches × 0.051 %/month (Alibaba HPN's per-unit
    rates) on Llama 3's fabric.

    Examples
    --------
    >>> import infra_lab as il
    >>> df = il.reliability.class_shares()
    >>> df.columns, round(df["share"].sum(), 6)
    (['component_class', 'share', 'events'], 1.0)
    """
    import polars as pl

    choice("reading", reading, READINGS)
    s = np.array(_shares(reading))
    total = float(table("llama3_interruptions")["count"].sum())
    return pl.DataFrame({"component_class": list(COMPONENT_CLASSES), "share": s, "events": s * total})


# --------------------------------------------------------------------------------------
# Cluster composition
# --------------------------------------------------------------------------------------
def hbm_stacks(accelerator: str) -> tuple[int, float]:
    """HBM stacks per GPU and GB per stack of a catalog accelerator
    (data/reliability/hbm_stacks.csv) [-], [GB].

    Examples
    --------
    >>> import infra_lab as il
    >>> il.reliability.hbm_stacks("MI300X")        # stacks per GPU, GB per stack
    (8, 24.0)
    """
    if not isinstance(accelerator, str):
        raise ValidationError(f"accelerator = {accelerator!r}: expected a catalog name (string)")
    acc = catalog.canonical_accelerator(accelerator)
    t = table("hbm_stacks")
    hit = t.filter(t["accelerator"] == acc)
    if hit.height == 0:
        raise unknown("accelerator with an HBM stack count", acc, t["accelerator"].to_list(),
                      where="data/reliability/hbm_stacks.csv")
    return int(hit["hbm_stacks"][0]), float(hit["GB_per_stack"][0])


@dataclass(frozen=True)
class Composition:
    """How many of each failure-prone device a cluster has.

    Attributes
    ----------
    accelerator : catalog name
    gpus, nodes : [-]
    hbm_stacks : HBM stacks in all GPUs [-]
    hbm_GB : HBM capacity of all GPUs [GB]
    nics : back-end NICs [-]
    links : back-end cables (:func:`infra_lab.fabric.link_counts`) [-]
    switches : back-end switches (:func:`infra_lab.fabric.switch_counts`) [-]
    """

    accelerator: str
    gpus: int
    nodes: int
    hbm_stacks: int
    hbm_GB: float
    nics: int
    links: int
    switches: int

    def units(self, basis: str, hbm_basis: str = "stack") -> float:
        """Devices of one basis ("gpu", "hbm", "nic", "link", "switch", "node") [-]; HBM
        counted per ``hbm_basis`` ("stack", "gpu" or "GB")."""
        if basis == "hbm":
            choice("hbm_basis", hbm_basis, HBM_BASES)
            return {"stack": self.hbm_stacks, "gpu": self.gpus, "GB": self.hbm_GB}[hbm_basis]
        return {"gpu": self.gpus, "nic": self.nics, "link": self.links, "switch": self.switches,
                "node": self.nodes}[basis]


def _as_hw(hardware):
    """A validated HardwareConfig (:func:`infra_lab.scenario.as_hardware`, the one coercion);
    the error also names the Composition that :func:`composition` accepts."""
    from ..scenario import as_hardware

    try:
        return as_hardware(hardware)
    except ValidationError:
        if isinstance(hardware, (dict, str, os.PathLike)) and not isinstance(hardware, bytes):
            raise   # the table's own error (field, value, allowed), or the name's / file's (nearest name, what it lacks)
        raise ValidationError(f"hardware = {hardware!r}: expected a Scenario, HardwareConfig, [hardware] "
                              "dict or Composition") from None


def composition(hardware: Any, *, radix: int | None = None) -> Composition:
    """Device counts of a cluster.

    Parameters
    ----------
    hardware : Scenario, HardwareConfig, [hardware] dict, or a Composition (returned as is)
    radix : switch ports for the fabric's switch and link counts [-]; default the fabric's

    Examples
    --------
    >>> import infra_lab as il
    >>> c = composition(il.load_scenario("zaya1-ibm-mi300x"))
    >>> (c.gpus, c.hbm_stacks, c.nics, c.links, c.switches, c.nodes)
    (1024, 8192, 1024, 2048, 48, 128)
    """
    from .. import fabric

    if isinstance(hardware, Composition):
        return hardware
    hw = _as_hw(hardware)
    stacks, gb = hbm_stacks(hw.accelerator)
    sw = fabric.switch_counts(hw, radix)
    links = fabric.link_counts(hw, radix)
    g = hw.world_size
    return Composition(hw.accelerator, g, hw.nodes, g * stacks, g * stacks * gb,
                       hw.nodes * hw.nics_per_node, links["total"], sw["total"])


# --------------------------------------------------------------------------------------
# Rates
# --------------------------------------------------------------------------------------
def component_rates(calibration: str = "llama3", *, reading: str = "count",
                    hbm_basis: str = "stack") -> pl.DataFrame:
    """Per-device interruption rates of one calibration.

    Parameters
    ----------
    calibration : a name in :func:`calibration_names` ("llama3", "fleet")
    reading : how to read Llama 3 Table 5 for the class shares, see :data:`READINGS`
    hbm_basis : "stack" | "gpu" | "GB", see :data:`HBM_BASES`

    Returns
    -------
    polars.DataFrame, one row per class: component_class, basis, share [-],
    reference_units (devices of that basis in the calibration's reference cluster) [-],
    rate_per_unit_hour [1/(device·h)], device_hours_per_interruption [device·h],
    needs_replacement, detection, early_deployment, description, source_url, note.

    Notes
    -----
    rate_c = interruptions / window × share_c / units_c(reference). For ``llama3`` this is
    events_c / (units_c × 1,296 h), so the reference cluster's MTBI is 1,296 h / 419 = 3.09 h
    by construction; for ``fleet`` the 1,024-GPU reference gets 7.9 h by construction.

    Examples
    --------
    >>> import infra_lab as il
    >>> df = il.reliability.component_rates("llama3")
    >>> df.columns
    ['component_class', 'basis', 'share', 'reference_units', 'rate_per_unit_hour', 'device_hours_per_interruption', 'needs_replacement', 'detection', 'early_deployment', 'description', 'source_url', 'note']
    """
    choice("calibration", calibration, calibration_names())
    choice("reading", reading, READINGS)
    choice("hbm_basis", hbm_basis, HBM_BASES)
    return _component_rates(calibration, reading, hbm_basis)


@cache
def _component_rates(calibration: str, reading: str, hbm_basis: str):
    import polars as pl

    cal = _calibration(calibration)
    choice("reading", reading, READINGS)
    choice("hbm_basis", hbm_basis, HBM_BASES)
    shares = np.array(_shares(reading) if cal["shares_from"] == "llama3" else _missing_shares(cal))
    ref = composition(_hardware_of(cal))
    cls = table("component_classes")
    order = {c: i for i, c in enumerate(COMPONENT_CLASSES)}
    cls = cls.with_columns(pl.col("component_class").replace_strict(order).alias("_o")).sort("_o").drop("_o")
    units = np.array([ref.units(b, hbm_basis) for b in cls["basis"].to_list()], dtype=float)
    total_rate = float(cal["interruptions"]) / float(cal["window_h"])
    rate = total_rate * shares / units
    return cls.select("component_class", "basis").with_columns(
        pl.Series("share", shares), pl.Series("reference_units", units),
        pl.Series("rate_per_unit_hour", rate),
        pl.Series("device_hours_per_interruption", [1.0 / x if x > 0 else math.inf for x in rate]),
        cls["needs_replacement"], cls["detection"], cls["early_deployment"], cls["description"],
        cls["source_url"], cls["note"])


def _missing_shares(cal: dict):
    raise ValidationError(f"calibration {cal['name']!r}: shares_from = {cal['shares_from']!r}; "
                          "only 'llama3' class shares are available")


def _class_factors(multiplier, early_deployment: float, early_flags) -> np.ndarray:
    if isinstance(multiplier, dict):
        for k in multiplier:
            choice("multiplier class", k, COMPONENT_CLASSES)   # names the argument, not only the class
        m = np.array([rate_factor(f"multiplier[{c!r}]", multiplier.get(c, 1.0)) for c in COMPONENT_CLASSES])
    else:
        m = np.full(len(COMPONENT_CLASSES), rate_factor("multiplier", multiplier))
    early = factor_at_least_one("early_deployment", early_deployment)
    return m * np.where(np.asarray(early_flags, dtype=bool), early, 1.0)


def interruption_rates(hardware: Any, *, calibration: str = "llama3", reading: str = "count",
                       hbm_basis: str = "stack", early_deployment: float = 1.0,
                       multiplier: float | dict = 1.0, radix: int | None = None) -> pl.DataFrame:
    """Interruption rate of each component class for a cluster.

    Parameters
    ----------
    hardware : Scenario, HardwareConfig, [hardware] dict or Composition
    calibration : "llama3" (per-device, one flagship run) or "fleet" (job-level, 1,024-GPU
        jobs of a research fleet); see :func:`calibrations`
    reading : Llama 3 Table 5 reading for the class shares, see :data:`READINGS`
    hbm_basis : what HBM failures scale with: "stack" (default), "gpu" or "GB"
    early_deployment : multiplier >= 1 on the classes marked ``early_deployment`` in
        component_classes.csv (NIC, link, switch, software, unknown) for a platform in its
        first large deployment [-]; no public MI300X/Pollara fleet data exists
    multiplier : scales every rate, or a dict {component_class: factor} [-]
    radix : switch ports for the fabric's switch and link counts [-]

    Returns
    -------
    polars.DataFrame: component_class, basis, units [-], rate_per_hour [1/h], share [-],
    needs_replacement, detection.

    Examples
    --------
    >>> import infra_lab as il
    >>> df = il.reliability.interruption_rates(il.load_scenario("zaya1-ibm-mi300x"))
    >>> df.columns
    ['component_class', 'basis', 'units', 'rate_per_hour', 'share', 'needs_replacement', 'detection']
    """
    import polars as pl

    comp = composition(hardware, radix=radix)
    r = component_rates(calibration, reading=reading, hbm_basis=hbm_basis)
    units = np.array([comp.units(b, hbm_basis) for b in r["basis"].to_list()], dtype=float)
    rate = r["rate_per_unit_hour"].to_numpy() * units * _class_factors(
        multiplier, early_deployment, r["early_deployment"].to_list())
    tot = rate.sum()
    return pl.DataFrame({
        "component_class": r["component_class"], "basis": r["basis"], "units": units,
        "rate_per_hour": rate, "share": rate / tot if tot > 0 else np.zeros_like(rate),
        "needs_replacement": r["needs_replacement"], "detection": r["detection"],
    })


RATE_KEYWORDS = keyword_names(interruption_rates)
"""Keywords of :func:`interruption_rates` that :func:`failure_rate_per_hour`, :func:`mtbi_hours`,
:func:`interruptions_per_day` and :func:`fleet_check` (all but calibration) pass on."""

_SIZE_HINT = ("the cluster's size is its hardware's: pass il.reliability.scale_hardware(hardware, gpus), "
              "or the hardware with a different node count")
SIZE_HINTS = {k: _SIZE_HINT for k in ("gpus", "n_gpus", "num_gpus", "world_size", "nodes", "n_nodes")}
"""What the rate calls (mtbi_hours, interruptions_per_day, failure_rate_per_hour) say to a GPU or
node count given as a keyword: they read the size from ``hardware``."""


def failure_rate_per_hour(hardware: Any, **kw: Any) -> float:
    """Cluster interruption rate [1/h]: the sum of :func:`interruption_rates` (same keywords).

    Examples
    --------
    >>> import infra_lab as il
    >>> sc = il.load_scenario("zaya1-ibm-mi300x")
    >>> r = il.reliability.failure_rate_per_hour(sc)
    >>> r > 0, round(r * 24, 6) == round(il.reliability.interruptions_per_day(sc), 6)
    (True, True)
    """
    kw = keywords("il.reliability.failure_rate_per_hour", kw, RATE_KEYWORDS, hints=SIZE_HINTS)
    return float(interruption_rates(hardware, **kw)["rate_per_hour"].sum())


def mtbi_hours(hardware: Any, **kw: Any) -> float:
    """Mean time between unexpected job interruptions of a cluster [h].

    Parameters
    ----------
    hardware : Scenario, HardwareConfig, [hardware] dict or Composition
    **kw : calibration, reading, hbm_basis, early_deployment, multiplier, radix; see
        :func:`interruption_rates`

    Notes
    -----
    MTBI = 1 / Σ_c rate_c · units_c; math.inf when every rate is zero (multiplier 0).

    References
    ----------
    Llama 3 Herd of Models, §3.3.4, Table 5: https://arxiv.org/abs/2407.21783 ;
    Kokolis et al., HPCA 2025: https://arxiv.org/abs/2410.21680

    Examples
    --------
    >>> import infra_lab as il
    >>> sc = il.load_scenario("zaya1-ibm-mi300x")
    >>> round(mtbi_hours(sc, calibration="llama3"), 1), round(mtbi_hours(sc, calibration="fleet"), 1)
    (46.0, 7.2)
    """
    kw = keywords("il.reliability.mtbi_hours", kw, RATE_KEYWORDS, hints=SIZE_HINTS)
    rate = failure_rate_per_hour(hardware, **kw)
    return math.inf if rate <= 0 else 1.0 / rate


def interruptions_per_day(hardware: Any, **kw: Any) -> float:
    """Expected unexpected interruptions per day of wall-clock time [1/day].

    Examples
    --------
    >>> import infra_lab as il
    >>> sc = il.load_scenario("zaya1-ibm-mi300x")
    >>> round(il.reliability.interruptions_per_day(sc), 2)
    0.52
    """
    kw = keywords("il.reliability.interruptions_per_day", kw, RATE_KEYWORDS, hints=SIZE_HINTS)
    return 24.0 * failure_rate_per_hour(hardware, **kw)


# --------------------------------------------------------------------------------------
# Published fleet observations: train/test check of both calibrations
# --------------------------------------------------------------------------------------
def fleet_observations() -> pl.DataFrame:
    """data/reliability/fleet_observations.csv: published interruption counts of real
    clusters (observation, cluster, window_h [h], interruptions_low/high [-], role
    train:<calibration> | test, classes counted, source_url, note).

    Examples
    --------
    >>> import infra_lab as il
    >>> "window_h" in il.reliability.fleet_observations().columns
    True
    """
    return table("fleet_observations")


def _outside(pred: float, lo: float, hi: float) -> float:
    """How far a prediction lies outside a published range [lo, hi] of MTBI, as a relative
    error to the nearer end: pred / hi − 1 above it, pred / lo − 1 below it, 0 inside [-]."""
    if pred > hi:
        return pred / hi - 1.0
    if pred < lo:
        return pred / lo - 1.0
    return 0.0


def fleet_check(**kw: Any) -> pl.DataFrame:
    """Each calibration's predicted MTBI against every published fleet observation.

    Parameters
    ----------
    **kw : reading, hbm_basis, early_deployment, multiplier, radix (see
        :func:`interruption_rates`)

    Returns
    -------
    polars.DataFrame, one row per (observation, calibration): observation, gpus,
    accelerator, role, calibration, published_mtbi_h_low / _high [h] (low is 0 for an
    "at least N interruptions" bound), predicted_mtbi_h [h], error [-] (predicted / published
    value − 1 for a single published value; for a range or a bound, predicted / the nearer
    end − 1 when the prediction falls outside it and 0 inside, so every case has an error),
    consistent (prediction inside a published range or bound; None for a single value),
    by_construction (the observation the calibration was fitted to).

    Notes
    -----
    For an observation that counts only some classes (BLOOM counts GPU failures), the
    prediction sums those classes.

    Examples
    --------
    >>> import infra_lab as il
    >>> df = il.reliability.fleet_check()
    >>> "observation" in df.columns
    True
    """
    import polars as pl

    kw = keywords("fleet_check", kw, keyword_names(interruption_rates, leave_out=("calibration",)))
    rows = []
    for o in fleet_observations().iter_rows(named=True):
        hw = _hardware_of(o)
        lo_n, hi_n = o["interruptions_low"], o["interruptions_high"]
        hi_mtbi = o["window_h"] / lo_n
        lo_mtbi = o["window_h"] / hi_n if hi_n is not None else 0.0
        cls = COMPONENT_CLASSES if o["classes"] == "all" else tuple(o["classes"].split(";"))
        for c in cls:
            choice("fleet observation class", c, COMPONENT_CLASSES)
        for cal in calibration_names():
            r = interruption_rates(hw, calibration=cal, **kw)
            rate = float(r.filter(pl.col("component_class").is_in(list(cls)))["rate_per_hour"].sum())
            pred = 1.0 / rate if rate > 0 else math.inf
            single = hi_n is not None and hi_n == lo_n
            rows.append({
                "observation": o["observation"], "gpus": o["gpus"], "accelerator": o["accelerator"],
                "role": o["role"], "calibration": cal,
                "published_mtbi_h_low": lo_mtbi, "published_mtbi_h_high": hi_mtbi,
                "bound": "range" if not single else "value",
                "predicted_mtbi_h": pred,
                "error": pred / hi_mtbi - 1.0 if single else _outside(pred, lo_mtbi, hi_mtbi),
                "consistent": None if single else bool(lo_mtbi <= pred <= hi_mtbi),
                "by_construction": o["role"] == f"train:{cal}",
            })
    return pl.DataFrame(rows)
