"""Economics of AI-training clusters: owned vs rented GPU-hours, TCO, run cost, cost per
trained token, break-even utilization, the operator's view, and their uncertainty.

Every default comes from ``data/economics/parameters.csv`` (value, low, high, unit and a
source on every row); prices for renting come from the catalog's cloud price table
(``il.catalog.cloud_prices()``). Inside, everything is in US dollars, hours of wall clock
and SI units; names carry the unit (``price_usd_per_gpu_hour``, ``tdp_W``).

The owned cost of one *useful* GPU-hour (one that does work) is

    capex      = capex_usd_per_gpu * server_overhead / (1 - interconnect_fraction)
                 (+ network_usd_per_gpu when the network is priced per port)
    capital/h  = capex * CRF(r, L) / H                 straight line + annuity
               = capex * (ln10 * ooms_per_year + r) / H    Epoch's exponential decay
    facility/h = server_kW * colocation_usd_per_kW_month * 12 / H
    energy/h   = server_kW * avg_power_fraction * pue * electricity_usd_per_kWh
    cost       = (capital/h + facility/h) / utilization + energy/h

with server_kW = tdp_W / 1000 * server_power_ratio, CRF(r, L) = r / (1 - (1+r)^-L) the
capital recovery factor and H = 8,766 h per year (365.25 days, Epoch's convention).

Examples
--------
>>> import infra_lab as il
>>> il.economics.run_cost(gpu_hours=2.788e6, price_usd_per_gpu_hour=2.0).total_usd
5576000.0
>>> round(il.economics.annuity_factor(0.0, 5), 3)
0.2

References
----------
Cottier et al. (2024), "The rising costs of training frontier AI models",
https://arxiv.org/abs/2405.21015 ; code https://github.com/epoch-research/training-cost-trends
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import numpy as np

from . import catalog
from .catalog import Col
from .errors import ValidationError, check_positive, unknown

__all__ = [
    "HOURS_PER_YEAR", "EPOCH_ATTRIBUTION", "OWNED_PARAMS", "Param", "OwnedCost", "RunCost",
    "EpochCost", "ProviderView",
    # data
    "parameter_table", "parameters", "defaults", "software_stack", "purchase_prices",
    "electricity_prices", "useful_life_policies", "network_costs", "epoch_hardware_prices",
    "epoch_rental_series",
    # closed forms and models
    "annuity_factor", "straight_line_value", "exponential_value", "network_capex_per_gpu",
    "owned_cost_per_gpu_hour", "rental_prices", "rental_price", "rental_cost_per_gpu_hour",
    "tco", "training_flop", "gpu_hours_for", "run_cost", "cost_per_million_tokens",
    "break_even_utilization", "rent_vs_own_curve", "provider_view", "epoch_amortized_cost", "useful_work_cost",
    "compare_useful_work",
    # uncertainty
    "distribution_mean", "sample_parameters", "monte_carlo_owned_cost", "monte_carlo",
    "percentiles", "fmt_band", "tornado",
]

HOURS_PER_YEAR = 8766.0
"""Hours in a year [h] (365.25 days; Epoch's constant)."""

EPOCH_ATTRIBUTION = (
    "Data: Epoch AI, 'Hardware prices', training-cost-trends "
    "(https://github.com/epoch-research/training-cost-trends), CC-BY 4.0"
)
"""Attribution required wherever Epoch's hardware-price data is shown or redistributed."""

OWNED_PARAMS = (
    "capex_usd_per_gpu", "server_overhead", "interconnect_fraction", "life_years",
    "depreciation_ooms_per_year", "cost_of_capital", "server_power_ratio",
    "avg_power_fraction", "pue", "electricity_usd_per_kWh", "colocation_usd_per_kW_month",
    "utilization",
)
"""Inputs of the owned-cost model that carry a default and a low/high range in data."""

_NETWORK_PORT_PARAMS = ("nic_usd", "switch_port_usd", "switch_ports_per_gpu", "optics_usd",
                        "optics_per_gpu")
_DEPRECIATION = ("straight-line", "exponential")
_NETWORK = ("fraction", "per-port")
_DISTRIBUTIONS = ("triangular", "lognormal")
_Z95 = 1.6448536269514722  # standard-normal quantile at 0.95


# --------------------------------------------------------------------------------------
# Data
# --------------------------------------------------------------------------------------
_ECON_DIR = catalog.DATA_DIR / "economics"
_SCHEMAS: dict[str, dict[str, Col]] = {
    "parameters": {
        "name": Col("str", required=True), "scope": Col("str", required=True),
        "value": Col("float", required=True), "low": Col("float", required=True),
        "high": Col("float", required=True), "unit": Col("str", required=True),
        "distribution": Col("str", required=True, choices=_DISTRIBUTIONS),
        "description": Col("str", required=True), "grade": Col("str", required=True),
    },
    "purchase_prices": {
        "accelerator": Col("str", required=True), "basis": Col("str", required=True),
        "price_usd_per_gpu": Col("float", required=True, positive=True),
        "price_usd_per_server": Col("float", positive=True),
        "gpus_per_server": Col("int", positive=True), "date": Col("date", required=True),
        "grade": Col("str", required=True),
    },
    "electricity_prices": {
        "region": Col("str", required=True), "sector": Col("str", required=True),
        "usd_per_kWh": Col("float", required=True, positive=True),
        "year": Col("int", required=True, positive=True), "grade": Col("str", required=True),
    },
    "useful_life": {
        "entity": Col("str", required=True), "policy": Col("str", required=True),
        "life_years": Col("float", required=True, positive=True),
        "date": Col("date", required=True), "grade": Col("str", required=True),
    },
    "network_costs": {
        "item": Col("str", required=True), "unit": Col("str", required=True),
        "usd_low": Col("float", required=True, positive=True),
        "usd_high": Col("float", required=True, positive=True),
        "date": Col("date", required=True), "grade": Col("str", required=True),
    },
}


@cache
def _econ_table(name: str):
    return catalog.read_table(_ECON_DIR / f"{name}.csv", _SCHEMAS[name])


def parameter_table():
    """Every economics parameter (data/economics/parameters.csv) as a polars DataFrame:
    name, scope (``all``, an accelerator or a software stack), value, low, high, unit,
    distribution, description, grade, source_url, note. Checked on load: low <= value <= high."""
    t = _econ_table("parameters")
    for i, r in enumerate(t.iter_rows(named=True), start=1):
        if not (r["low"] <= r["value"] <= r["high"]):
            raise ValidationError(
                f"parameters.csv, row {i} ({r['name']}, {r['scope']}): need low <= value <= high, "
                f"got {r['low']} <= {r['value']} <= {r['high']}"
            )
    return t


@dataclass(frozen=True)
class Param:
    """One sourced parameter: default ``value`` with a ``low``/``high`` range [``unit``]."""

    name: str
    scope: str
    value: float
    low: float
    high: float
    unit: str
    distribution: str
    description: str
    grade: str
    source_url: str
    note: str


def software_stack(accelerator: str) -> str:
    """The software stack an accelerator runs: "ROCm" (AMD) or "CUDA" (NVIDIA)."""
    acc = catalog.accelerator(accelerator)
    stacks = {"AMD": "ROCm", "NVIDIA": "CUDA"}
    if acc.vendor not in stacks:
        raise unknown("vendor with a software-stack parameter", acc.vendor, stacks)
    return stacks[acc.vendor]


@cache
def parameters(accelerator: str = "MI300X") -> dict[str, Param]:
    """Parameters for one accelerator: a row scoped to the accelerator (canonical catalog
    name) or its software stack overrides the ``all`` row of the same name.

    Parameters
    ----------
    accelerator : catalog name or alias, e.g. "MI300X", "H100"

    Returns
    -------
    dict name -> :class:`Param`
    """
    canon = catalog.canonical_accelerator(accelerator)
    stack = software_stack(canon)
    out: dict[str, Param] = {}
    rank: dict[str, int] = {}
    for r in parameter_table().iter_rows(named=True):
        scope = r["scope"]
        level = {"all": 0, stack: 1, canon: 2}.get(scope)
        if level is None or level < rank.get(r["name"], -1):
            continue
        rank[r["name"]] = level
        out[r["name"]] = Param(**{k: (r[k] if r[k] is not None else "") for k in Param.__dataclass_fields__})
    return out


def defaults(accelerator: str = "MI300X") -> dict[str, float]:
    """Default values (name -> value) for one accelerator, from :func:`parameters`."""
    return {k: p.value for k, p in parameters(accelerator).items()}


def purchase_prices():
    """Dated purchase prices per GPU (and per server where published), one source per row
    (data/economics/purchase_prices.csv)."""
    return _econ_table("purchase_prices")


def electricity_prices():
    """Electricity prices by region and sector [USD per kWh] (data/economics/electricity_prices.csv)."""
    return _econ_table("electricity_prices")


def useful_life_policies():
    """Depreciation lives used by clouds and hyperscalers, and critiques [years]."""
    return _econ_table("useful_life")


def network_costs():
    """Published network component prices (switches, optics, NIC proxies) [USD]."""
    return _econ_table("network_costs")


@cache
def epoch_hardware_prices():
    """Epoch AI's "Hardware prices" dataset (data/epoch_hardware_prices.csv), tidy column
    names. Licence: CC-BY 4.0; show :data:`EPOCH_ATTRIBUTION` wherever it is used.

    Columns: date, hardware_model, manufacturer, vendor, location, on_demand_usd_per_gpu_hour,
    cud_1yr_usd_per_gpu_hour, cud_3yr_usd_per_gpu_hour, purchase_usd, gpus, source_url, note.
    """
    import polars as pl

    f = Col("float", nonneg=True)
    schema = {
        "Price source": Col("str"), "Price date": Col("date"), "Hardware model": Col("str"),
        "Manufacturer": Col("str"), "Vendor": Col("str"), "Location": Col("str"),
        "Price per chip-hour (on-demand)": f, "Price per chip-hour (1-year CUD)": f,
        "Price per chip-hour (3-year CUD)": f, "Price (hardware purchase)": f,
        "Notes": Col("str"), "Cloud GPU description": Col("str"), "Number of GPUs": f,
    }
    t = catalog.read_table(catalog.DATA_DIR / "epoch_hardware_prices.csv", schema,
                           require_source=False)
    t = t.rename({
        "Price source": "source_url", "Price date": "date", "Hardware model": "hardware_model",
        "Manufacturer": "manufacturer", "Vendor": "vendor", "Location": "location",
        "Price per chip-hour (on-demand)": "on_demand_usd_per_gpu_hour",
        "Price per chip-hour (1-year CUD)": "cud_1yr_usd_per_gpu_hour",
        "Price per chip-hour (3-year CUD)": "cud_3yr_usd_per_gpu_hour",
        "Price (hardware purchase)": "purchase_usd", "Notes": "note",
        "Cloud GPU description": "cloud_gpu_description", "Number of GPUs": "gpus",
    })
    return t.filter(pl.col("date").is_not_null())


def epoch_rental_series(model_contains: str = "H100 SXM"):
    """Long frame of Epoch's cloud prices for hardware models containing ``model_contains``:
    date, hardware_model, provider, term ("on-demand" | "1-year" | "3-year"),
    price_usd_per_gpu_hour, source ("Epoch AI"), source_url. Sorted by date."""
    import polars as pl

    t = epoch_hardware_prices().filter(pl.col("hardware_model").str.contains(model_contains, literal=True))
    parts = []
    for col, term in (("on_demand_usd_per_gpu_hour", "on-demand"),
                      ("cud_1yr_usd_per_gpu_hour", "1-year"), ("cud_3yr_usd_per_gpu_hour", "3-year")):
        parts.append(t.filter(pl.col(col).is_not_null()).select(
            "date", "hardware_model", pl.col("vendor").fill_null("").alias("provider"),
            pl.lit(term).alias("term"), pl.col(col).alias("price_usd_per_gpu_hour"),
            pl.lit("Epoch AI").alias("source"), "source_url"))
    return pl.concat(parts).sort("date", "provider", "term")


# --------------------------------------------------------------------------------------
# Validation helpers
# --------------------------------------------------------------------------------------
def _check_fraction(field_: str, value: float, *, lo_open: bool = True, hi: float = 1.0,
                    hi_open: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise ValidationError(f"{field_} = {value!r}: expected a number")
    v = float(value)
    lo_ok = v > 0 if lo_open else v >= 0
    hi_ok = v < hi if hi_open else v <= hi
    if not (math.isfinite(v) and lo_ok and hi_ok):
        lo_s = "(0" if lo_open else "[0"
        hi_s = f"{hi:g})" if hi_open else f"{hi:g}]"
        raise ValidationError(f"{field_} = {value!r}: must be in {lo_s}, {hi_s}")
    return v


def _check_rate(field_: str, value: float) -> float:
    v = check_positive(field_, value, allow_zero=True)
    if v >= 1.0:
        raise ValidationError(f"{field_} = {value!r}: a rate per year as a fraction, in [0, 1)")
    return v


def _choice(field_: str, value: str, allowed: Iterable[str]) -> str:
    allowed = tuple(allowed)
    if value not in allowed:
        raise unknown(field_, value, allowed)
    return value


# --------------------------------------------------------------------------------------
# Closed forms
# --------------------------------------------------------------------------------------
def annuity_factor(rate: float, years: float) -> float:
    """Capital recovery factor: the level payment per year that repays 1 USD over ``years``
    at interest ``rate``.

    Parameters
    ----------
    rate : cost of capital [1/year], >= 0
    years : life [years], > 0

    Returns
    -------
    float [1/year]

    Notes
    -----
    CRF = r / (1 - (1 + r)^-L); the limit r -> 0 is 1/L (straight line without financing).

    Examples
    --------
    >>> round(annuity_factor(0.08, 5), 5)
    0.25046
    """
    r = _check_rate("cost_of_capital", rate)
    n = check_positive("life_years", years)
    if r == 0.0:
        return 1.0 / n
    return r / (1.0 - (1.0 + r) ** (-n))


def straight_line_value(capex_usd: float, age_years: float, life_years: float) -> float:
    """Book value after ``age_years`` of straight-line depreciation over ``life_years`` [USD]:
    capex * max(0, 1 - age/life)."""
    check_positive("capex_usd", capex_usd, allow_zero=True)
    check_positive("age_years", age_years, allow_zero=True)
    life = check_positive("life_years", life_years)
    return capex_usd * max(0.0, 1.0 - age_years / life)


def exponential_value(capex_usd: float, age_years: float, ooms_per_year: float = 0.14) -> float:
    """Value after ``age_years`` under Epoch's exponential decay [USD]:
    capex * 10^(-ooms_per_year * age)."""
    check_positive("capex_usd", capex_usd, allow_zero=True)
    check_positive("age_years", age_years, allow_zero=True)
    check_positive("depreciation_ooms_per_year", ooms_per_year)
    return capex_usd * 10.0 ** (-ooms_per_year * age_years)


def network_capex_per_gpu(server_capex_usd_per_gpu: float, *, method: str = "fraction",
                          interconnect_fraction: float = 0.19, nic_usd: float = 2500.0,
                          switch_port_usd: float = 1000.0, switch_ports_per_gpu: float = 3.0,
                          optics_usd: float = 700.0, optics_per_gpu: float = 4.0) -> float:
    """Scale-out network capex per GPU [USD].

    Parameters
    ----------
    server_capex_usd_per_gpu : server (GPU + host) capex per GPU [USD]
    method : "fraction" (Epoch: the network is ``interconnect_fraction`` of total cluster
        cost, so network = server * f / (1 - f)) or "per-port" (NIC + switch ports + optics)
    interconnect_fraction : share of total cluster cost [fraction, 0..1)
    nic_usd, switch_port_usd, optics_usd : unit prices [USD]
    switch_ports_per_gpu, optics_per_gpu : counts per GPU

    Examples
    --------
    >>> round(network_capex_per_gpu(81.0, interconnect_fraction=0.19), 6)
    19.0
    """
    check_positive("server_capex_usd_per_gpu", server_capex_usd_per_gpu, allow_zero=True)
    _choice("network method", method, _NETWORK)
    if method == "fraction":
        f = _check_fraction("interconnect_fraction", interconnect_fraction, lo_open=False, hi_open=True)
        return server_capex_usd_per_gpu * f / (1.0 - f)
    for k, v in (("nic_usd", nic_usd), ("switch_port_usd", switch_port_usd), ("optics_usd", optics_usd),
                 ("switch_ports_per_gpu", switch_ports_per_gpu), ("optics_per_gpu", optics_per_gpu)):
        check_positive(k, v, allow_zero=True)
    return nic_usd + switch_port_usd * switch_ports_per_gpu + optics_usd * optics_per_gpu


# --------------------------------------------------------------------------------------
# Owned cost per GPU-hour
# --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class OwnedCost:
    """Owned cost of one useful GPU-hour, by component [USD per useful GPU-hour].

    ``inputs`` holds every value used (after defaults); ``fixed_usd_per_gpu_hour`` is the
    part paid per calendar hour (capital + facility), ``energy_usd_per_gpu_hour`` the part
    paid per busy hour.
    """

    accelerator: str
    depreciation: str
    hardware_usd_per_gpu_hour: float
    network_usd_per_gpu_hour: float
    financing_usd_per_gpu_hour: float
    energy_usd_per_gpu_hour: float
    facility_usd_per_gpu_hour: float
    capex_usd_per_gpu: float
    fixed_usd_per_calendar_hour: float
    inputs: dict[str, float] = field(hash=False, repr=False)

    @property
    def total_usd_per_gpu_hour(self) -> float:
        return (self.hardware_usd_per_gpu_hour + self.network_usd_per_gpu_hour
                + self.financing_usd_per_gpu_hour + self.energy_usd_per_gpu_hour
                + self.facility_usd_per_gpu_hour)

    @property
    def breakdown(self):
        """polars DataFrame: component, usd_per_gpu_hour, share."""
        import polars as pl

        comps = {
            "hardware depreciation": self.hardware_usd_per_gpu_hour,
            "network depreciation": self.network_usd_per_gpu_hour,
            "financing (cost of capital)": self.financing_usd_per_gpu_hour,
            "energy": self.energy_usd_per_gpu_hour,
            "facility (colocation)": self.facility_usd_per_gpu_hour,
        }
        tot = self.total_usd_per_gpu_hour
        return pl.DataFrame({"component": list(comps), "usd_per_gpu_hour": list(comps.values()),
                             "share": [v / tot for v in comps.values()]})


def _resolve_inputs(accelerator: str, overrides: Mapping[str, Any], *, network: str) -> dict[str, float]:
    d = defaults(accelerator)
    unknown_keys = [k for k in overrides if k not in OWNED_PARAMS + _NETWORK_PORT_PARAMS
                    and k not in ("tdp_W", "network_usd_per_gpu")]
    if unknown_keys:
        raise unknown("owned-cost parameter", unknown_keys[0],
                      OWNED_PARAMS + _NETWORK_PORT_PARAMS + ("tdp_W", "network_usd_per_gpu"))
    vals = {k: d[k] for k in OWNED_PARAMS + _NETWORK_PORT_PARAMS}
    vals["tdp_W"] = catalog.accelerator(accelerator).tdp_W
    for k, v in overrides.items():
        if v is not None:
            vals[k] = v
    _validate_owned(vals)
    if network == "per-port":
        vals["interconnect_fraction"] = 0.0
        if overrides.get("network_usd_per_gpu") is None:
            vals["network_usd_per_gpu"] = network_capex_per_gpu(
                0.0, method="per-port", **{k: vals[k] for k in _NETWORK_PORT_PARAMS})
    else:
        vals["network_usd_per_gpu"] = float(vals.get("network_usd_per_gpu") or 0.0)
    return vals


def _validate_owned(v: Mapping[str, float]) -> None:
    check_positive("capex_usd_per_gpu", v["capex_usd_per_gpu"])
    check_positive("server_overhead", v["server_overhead"])
    _check_fraction("interconnect_fraction", v["interconnect_fraction"], lo_open=False, hi_open=True)
    check_positive("life_years", v["life_years"])
    check_positive("depreciation_ooms_per_year", v["depreciation_ooms_per_year"])
    _check_rate("cost_of_capital", v["cost_of_capital"])
    check_positive("tdp_W", v["tdp_W"])
    check_positive("server_power_ratio", v["server_power_ratio"])
    _check_fraction("avg_power_fraction", v["avg_power_fraction"])
    if check_positive("pue", v["pue"]) < 1.0:
        raise ValidationError(f"pue = {v['pue']!r}: must be >= 1 (facility power / IT power)")
    check_positive("electricity_usd_per_kWh", v["electricity_usd_per_kWh"], allow_zero=True)
    check_positive("colocation_usd_per_kW_month", v["colocation_usd_per_kW_month"], allow_zero=True)
    _check_fraction("utilization", v["utilization"])


def owned_cost_per_gpu_hour(accelerator: str = "MI300X", *, depreciation: str = "straight-line",
                            network: str = "fraction", age_years: float = 0.0,
                            **overrides: float) -> OwnedCost:
    """Cost of one useful GPU-hour on hardware you own [USD per GPU-hour].

    Parameters
    ----------
    accelerator : catalog name; selects defaults and the TDP
    depreciation : "straight-line" (capital recovered by an annuity over ``life_years`` at
        ``cost_of_capital``) or "exponential" (Epoch: value decays 10^(-ooms_per_year * t);
        the hourly charge is value * (ln10 * ooms_per_year + cost_of_capital) / H)
    network : "fraction" (``interconnect_fraction`` of total cluster cost) or "per-port"
        (NIC + switch ports + optics, from the ``nic_usd`` ... parameters)
    age_years : hardware age for the exponential method [years]; its value has decayed by
        10^(-ooms_per_year * age) (Epoch's value at the start of training)
    **overrides : any of :data:`OWNED_PARAMS`, the per-port network parameters, ``tdp_W`` [W]
        or ``network_usd_per_gpu`` [USD]: capex_usd_per_gpu [USD], server_overhead [ratio],
        interconnect_fraction [0..1), life_years [years], depreciation_ooms_per_year
        [OOM/yr], cost_of_capital [1/yr], server_power_ratio [ratio], avg_power_fraction
        [0..1], pue [>= 1], electricity_usd_per_kWh [USD/kWh], colocation_usd_per_kW_month
        [USD per kW-month], utilization [(0, 1]]

    Returns
    -------
    OwnedCost : components per useful GPU-hour and ``total_usd_per_gpu_hour``

    Notes
    -----
    Fixed costs (capital, facility) accrue every calendar hour and are divided by the
    utilization; energy is paid only for busy hours (idle power is neglected). Colocation is
    charged on provisioned IT power (TDP x server ratio); electricity on average power x PUE.

    Examples
    --------
    >>> c = owned_cost_per_gpu_hour("MI300X", utilization=1.0)
    >>> c.total_usd_per_gpu_hour > c.energy_usd_per_gpu_hour > 0
    True
    """
    _choice("depreciation", depreciation, _DEPRECIATION)
    _choice("network", network, _NETWORK)
    canon = catalog.canonical_accelerator(accelerator)
    v = _resolve_inputs(canon, overrides, network=network)
    age = check_positive("age_years", age_years, allow_zero=True)
    H = HOURS_PER_YEAR
    server = v["capex_usd_per_gpu"] * v["server_overhead"]
    net = server * v["interconnect_fraction"] / (1.0 - v["interconnect_fraction"]) + v["network_usd_per_gpu"]
    capex = server + net
    r = v["cost_of_capital"]
    if depreciation == "straight-line":
        dep_rate = 1.0 / v["life_years"]
        fin_rate = annuity_factor(r, v["life_years"]) - dep_rate
        scale = 1.0
    else:
        dep_rate = math.log(10.0) * v["depreciation_ooms_per_year"]
        fin_rate = r
        scale = 10.0 ** (-v["depreciation_ooms_per_year"] * age)
    U = v["utilization"]
    server_kW = v["tdp_W"] * 1e-3 * v["server_power_ratio"]
    facility_h = server_kW * v["colocation_usd_per_kW_month"] * 12.0 / H
    energy_h = server_kW * v["avg_power_fraction"] * v["pue"] * v["electricity_usd_per_kWh"]
    hw = server * scale * dep_rate / H
    nw = net * scale * dep_rate / H
    fin = capex * scale * fin_rate / H
    return OwnedCost(
        accelerator=canon, depreciation=depreciation,
        hardware_usd_per_gpu_hour=hw / U, network_usd_per_gpu_hour=nw / U,
        financing_usd_per_gpu_hour=fin / U, energy_usd_per_gpu_hour=energy_h,
        facility_usd_per_gpu_hour=facility_h / U, capex_usd_per_gpu=capex,
        fixed_usd_per_calendar_hour=hw + nw + fin + facility_h, inputs=dict(v),
    )


# --------------------------------------------------------------------------------------
# Renting
# --------------------------------------------------------------------------------------
def rental_prices(accelerator: str | None = None, provider: str | None = None,
                  term: str | None = None):
    """Cloud prices from the catalog's price table, filtered, newest first.

    Parameters
    ----------
    accelerator : catalog name or alias (None: all)
    provider : provider name, case-insensitive (None: all)
    term : "on-demand" | "1-year" | "3-year" | "spot" | "reserved" (None: all)

    Returns
    -------
    polars DataFrame with the columns of ``il.catalog.cloud_prices()``
    """
    import polars as pl

    t = catalog.cloud_prices()
    if accelerator is not None:
        t = t.filter(pl.col("accelerator") == catalog.canonical_accelerator(accelerator))
    if provider is not None:
        valid = sorted(set(t["provider"].to_list()))
        match = [p for p in valid if p.lower() == provider.lower()]
        if not match:
            raise unknown("provider", provider, valid, where="cloud_prices.csv" +
                          (f" for {accelerator}" if accelerator else ""))
        t = t.filter(pl.col("provider") == match[0])
    if term is not None:
        valid = sorted(set(t["term"].to_list()))
        if term not in valid:
            raise unknown("term", term, valid, where="cloud_prices.csv for this selection")
        t = t.filter(pl.col("term") == term)
    return t.sort(["date_observed", "provider"], descending=[True, False])


def rental_price(accelerator: str, provider: str, term: str = "on-demand") -> float:
    """The newest listed price [USD per GPU-hour] for one accelerator, provider and term."""
    t = rental_prices(accelerator, provider, term)
    return float(t["price_usd_per_gpu_hour"][0])


def rental_cost_per_gpu_hour(price_usd_per_gpu_hour: float, utilization: float = 1.0,
                             committed: bool = False) -> float:
    """Cost of one useful rented GPU-hour [USD].

    On-demand capacity is paid only while used (cost = price); committed capacity (reserved,
    1- or 3-year terms) is paid for every hour, so a useful hour costs price / utilization.
    """
    p = check_positive("price_usd_per_gpu_hour", price_usd_per_gpu_hour)
    u = _check_fraction("utilization", utilization)
    return p / u if committed else p


# --------------------------------------------------------------------------------------
# TCO
# --------------------------------------------------------------------------------------
def tco(n_gpus: int = 1024, years: float = 4.0, utilization: float | None = None,
        accelerator: str = "MI300X", *, depreciation: str = "straight-line",
        network: str = "fraction", **overrides: float):
    """Total cost of owning ``n_gpus`` for ``years`` at ``utilization``, by component.

    Parameters
    ----------
    n_gpus : GPUs in the cluster
    years : horizon [years]
    utilization : fraction of calendar hours that do useful work, (0, 1] (default: data)
    accelerator, depreciation, network, **overrides : as :func:`owned_cost_per_gpu_hour`

    Returns
    -------
    polars DataFrame: component, usd, usd_per_gpu, usd_per_useful_gpu_hour, share

    Notes
    -----
    Straight line: each year carries capex * CRF(r, L) (hardware replaced at the same price
    when ``years`` > L), split into depreciation capex/L and financing. Exponential: the
    value V(t) = capex * exp(-delta t) is charged (delta + r) V(t), integrated over the
    horizon: depreciation capex (1 - e^(-delta N)), financing r capex (1 - e^(-delta N)) / delta.
    Energy: n * N * H * U * energy/h; facility: n * N * H * facility/h.

    Examples
    --------
    >>> t = tco(1024, 3, 0.9)
    >>> bool(t["usd"].sum() > 0)
    True
    """
    import polars as pl

    n = check_positive("n_gpus", n_gpus, integer=True)
    N = check_positive("years", years)
    c = owned_cost_per_gpu_hour(accelerator, depreciation=depreciation, network=network,
                                utilization=utilization, **overrides)
    v = c.inputs
    U = v["utilization"]
    H = HOURS_PER_YEAR
    capex = c.capex_usd_per_gpu
    net_share = (capex - v["capex_usd_per_gpu"] * v["server_overhead"]) / capex
    r = v["cost_of_capital"]
    if depreciation == "straight-line":
        dep = capex * N / v["life_years"]
        fin = capex * N * (annuity_factor(r, v["life_years"]) - 1.0 / v["life_years"])
    else:
        delta = math.log(10.0) * v["depreciation_ooms_per_year"]
        dep = capex * (1.0 - math.exp(-delta * N))
        fin = r * capex * (1.0 - math.exp(-delta * N)) / delta
    energy = c.energy_usd_per_gpu_hour * N * H * U
    facility = c.facility_usd_per_gpu_hour * U * N * H
    per_gpu = {
        "hardware depreciation": dep * (1.0 - net_share),
        "network depreciation": dep * net_share,
        "financing (cost of capital)": fin,
        "energy": energy,
        "facility (colocation)": facility,
    }
    total = sum(per_gpu.values())
    useful_hours = N * H * U
    return pl.DataFrame({
        "component": list(per_gpu),
        "usd": [x * n for x in per_gpu.values()],
        "usd_per_gpu": list(per_gpu.values()),
        "usd_per_useful_gpu_hour": [x / useful_hours for x in per_gpu.values()],
        "share": [x / total for x in per_gpu.values()],
    })


# --------------------------------------------------------------------------------------
# Run cost and cost per token
# --------------------------------------------------------------------------------------
def training_flop(n_active_params: float, tokens: float) -> float:
    """Training compute C = 6 N D [FLOP] for N active parameters and D tokens (ignores
    attention, embedding and router FLOPs)."""
    return 6.0 * check_positive("n_active_params", n_active_params) * check_positive("tokens", tokens)


def gpu_hours_for(flop: float, accelerator: str, mfu: float, software_efficiency: float = 1.0,
                  precision: str = "bf16") -> float:
    """GPU-hours to do ``flop`` of training [GPU-h].

    GPU-h = flop / (peak(precision) * mfu * software_efficiency) / 3600, with peak the dense
    peak from the catalog [FLOP/s], ``mfu`` the model FLOPs utilization the hardware reaches
    on the reference stack and ``software_efficiency`` the stack's share of it (ROCm vs CUDA).
    """
    f = check_positive("flop", flop)
    m = _check_fraction("mfu", mfu)
    s = _check_fraction("software_efficiency", software_efficiency, hi=2.0)
    peak = catalog.accelerator(accelerator).peak(precision)
    return f / (peak * m * s) / 3600.0


@dataclass(frozen=True)
class RunCost:
    """The cost of one training run.

    gpu_hours [GPU-h]; price_usd_per_gpu_hour [USD]; total_usd [USD]; tokens [tokens] or
    None; usd_per_million_tokens [USD] or None; n_gpus and wall_clock_hours [h] or None;
    basis: where the GPU-hours came from.
    """

    gpu_hours: float
    price_usd_per_gpu_hour: float
    total_usd: float
    tokens: float | None = None
    usd_per_million_tokens: float | None = None
    n_gpus: int | None = None
    wall_clock_hours: float | None = None
    basis: str = "gpu_hours"


def run_cost(estimate: Any = None, *, gpu_hours: float | None = None,
             price_usd_per_gpu_hour: float | OwnedCost | None = None,
             tokens: float | None = None, flop: float | None = None,
             accelerator: str | None = None, mfu: float | None = None,
             software_efficiency: float = 1.0, precision: str = "bf16",
             n_gpus: int | None = None) -> RunCost:
    """Cost of a training run from GPU-hours, from FLOP and a stated MFU, or from a training
    estimate.

    Give exactly one source of GPU-hours:

    * ``gpu_hours`` [GPU-h] directly;
    * ``flop`` [FLOP] with ``accelerator``, ``mfu`` and optionally ``software_efficiency``
      (see :func:`gpu_hours_for`);
    * ``estimate``: any object with ``tokens_per_s_per_gpu`` [tokens/s] (e.g. the result of
      ``il.estimate``), with ``tokens`` [tokens]: GPU-h = tokens / tokens_per_s_per_gpu / 3600.

    Parameters
    ----------
    price_usd_per_gpu_hour : rental price or owned cost [USD per GPU-hour]; an
        :class:`OwnedCost` is accepted (its total is used)
    tokens : training tokens, for the cost per million tokens
    n_gpus : cluster size, for the wall-clock time [h]

    Returns
    -------
    RunCost

    Examples
    --------
    >>> run_cost(gpu_hours=2.788e6, price_usd_per_gpu_hour=2.0).total_usd   # DeepSeek-V3
    5576000.0
    """
    if price_usd_per_gpu_hour is None:
        raise ValidationError("price_usd_per_gpu_hour: required (a rental price or an owned "
                              "cost per GPU-hour, e.g. owned_cost_per_gpu_hour(...))")
    price = getattr(price_usd_per_gpu_hour, "total_usd_per_gpu_hour", price_usd_per_gpu_hour)
    price = check_positive("price_usd_per_gpu_hour", price)
    given = [x is not None for x in (gpu_hours, flop, estimate)]
    if sum(given) != 1:
        raise ValidationError(
            "run_cost: give exactly one of gpu_hours, flop (with accelerator and mfu) or "
            f"estimate; got gpu_hours={gpu_hours!r}, flop={flop!r}, estimate={type(estimate).__name__ if estimate is not None else None}"
        )
    if tokens is not None:
        tokens = check_positive("tokens", tokens)
    if gpu_hours is not None:
        gh, basis = check_positive("gpu_hours", gpu_hours), "gpu_hours"
    elif flop is not None:
        if accelerator is None or mfu is None:
            raise ValidationError("run_cost(flop=...): also give accelerator and mfu")
        gh = gpu_hours_for(flop, accelerator, mfu, software_efficiency, precision)
        basis = f"flop / ({accelerator} peak x mfu {mfu:g} x software {software_efficiency:g})"
    else:
        tps = getattr(estimate, "tokens_per_s_per_gpu", None)
        if tps is None:
            raise ValidationError(
                f"estimate of type {type(estimate).__name__}: needs a tokens_per_s_per_gpu attribute")
        if tokens is None:
            raise ValidationError("run_cost(estimate=...): also give tokens (training tokens)")
        gh = tokens / check_positive("estimate.tokens_per_s_per_gpu", tps) / 3600.0
        basis = "estimate"
    total = gh * price
    per_m = None if tokens is None else total / tokens * 1e6
    wall = None
    if n_gpus is not None:
        n_gpus = check_positive("n_gpus", n_gpus, integer=True)
        wall = gh / n_gpus
    return RunCost(gpu_hours=gh, price_usd_per_gpu_hour=price, total_usd=total, tokens=tokens,
                   usd_per_million_tokens=per_m, n_gpus=n_gpus, wall_clock_hours=wall, basis=basis)


def cost_per_million_tokens(total_usd: float, tokens: float) -> float:
    """Training cost per million tokens [USD per 1e6 tokens]."""
    return check_positive("total_usd", total_usd, allow_zero=True) / check_positive("tokens", tokens) * 1e6


# --------------------------------------------------------------------------------------
# Rent vs own, the operator's view
# --------------------------------------------------------------------------------------
def break_even_utilization(rental_usd_per_gpu_hour: float, accelerator: str = "MI300X", *,
                           depreciation: str = "straight-line", network: str = "fraction",
                           **overrides: float) -> float:
    """Utilization above which owning costs less per useful GPU-hour than renting on demand.

    Owning costs F/U + E per useful hour (F: capital + facility per calendar hour, E: energy
    per busy hour); renting on demand costs P. Break-even U* = F / (P - E).

    Returns
    -------
    float : U* [fraction]. A value > 1 means renting is cheaper at any utilization;
        ``math.inf`` when P <= E (energy alone costs more than the rent).
    """
    p = check_positive("rental_usd_per_gpu_hour", rental_usd_per_gpu_hour)
    overrides = {k: v for k, v in overrides.items() if k != "utilization"}
    c = owned_cost_per_gpu_hour(accelerator, depreciation=depreciation, network=network,
                                utilization=1.0, **overrides)
    margin = p - c.energy_usd_per_gpu_hour
    if margin <= 0:
        return math.inf
    return c.fixed_usd_per_calendar_hour / margin


def rent_vs_own_curve(rentals: Mapping[str, float], accelerator: str = "MI300X",
                      utilizations: Iterable[float] | None = None, *,
                      depreciation: str = "straight-line", committed: Iterable[str] = (),
                      **overrides: float):
    """Cost per useful GPU-hour against utilization, for owning and for each rental price.

    Parameters
    ----------
    rentals : label -> price [USD per GPU-hour]
    utilizations : grid of utilizations in (0, 1] (default 0.10 .. 1.00)
    committed : labels of ``rentals`` paid for every hour (cost = price / U); the others
        are on-demand (cost = price)
    depreciation, **overrides : as :func:`owned_cost_per_gpu_hour`

    Returns
    -------
    polars DataFrame: utilization, option, kind ("own" | "rent"), usd_per_gpu_hour
    """
    import polars as pl

    grid = list(utilizations) if utilizations is not None else [x / 100 for x in range(10, 101, 2)]
    committed = set(committed)
    overrides = {k: v for k, v in overrides.items() if k != "utilization"}
    rows = []
    for u in grid:
        c = owned_cost_per_gpu_hour(accelerator, depreciation=depreciation, utilization=u, **overrides)
        rows.append({"utilization": u, "option": f"own {c.accelerator} ({depreciation})", "kind": "own",
                     "usd_per_gpu_hour": c.total_usd_per_gpu_hour})
        for label, price in rentals.items():
            rows.append({"utilization": u, "option": label, "kind": "rent",
                         "usd_per_gpu_hour": rental_cost_per_gpu_hour(price, u, label in committed)})
    return pl.DataFrame(rows)


@dataclass(frozen=True)
class ProviderView:
    """An operator buying GPUs and renting them out, per GPU.

    margin_usd_per_gpu_hour: price - owned cost per sold hour (capital charged at the cost of
    capital) [USD]; cash_flows_usd: year 0 (-capex) then yearly net cash [USD per GPU];
    payback_years [years] (``math.inf`` if never); irr [1/year] (None when undefined: no
    sign change in the cash flows); npv_usd_per_gpu at the cost of capital [USD].
    """

    price_usd_per_gpu_hour: float
    utilization: float
    years: float
    margin_usd_per_gpu_hour: float
    cost_usd_per_sold_gpu_hour: float
    cash_flows_usd: np.ndarray = field(repr=False)
    payback_years: float
    irr: float | None
    npv_usd_per_gpu: float

    def cash_flow_frame(self):
        """polars DataFrame: year, cash_flow_usd, cumulative_usd (per GPU)."""
        import polars as pl

        cf = self.cash_flows_usd
        return pl.DataFrame({"year": np.arange(len(cf)), "cash_flow_usd": cf,
                             "cumulative_usd": np.cumsum(cf)})


def _irr(cash_flows: np.ndarray) -> float | None:
    cf = np.asarray(cash_flows, dtype=float)
    if not (np.any(cf > 0) and np.any(cf < 0)):
        return None
    t = np.arange(len(cf))

    def npv(r: float) -> float:
        return float(np.sum(cf / (1.0 + r) ** t))

    lo, hi = -0.99, 10.0
    f_lo, f_hi = npv(lo), npv(hi)
    if f_lo * f_hi > 0:
        return None
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        f_mid = npv(mid)
        if f_lo * f_mid <= 0:
            hi = mid
        else:
            lo, f_lo = mid, f_mid
        if hi - lo < 1e-12:
            break
    return 0.5 * (lo + hi)


def provider_view(price_usd_per_gpu_hour: float, utilization: float | None = None,
                  accelerator: str = "MI300X", *, years: float | None = None,
                  residual_fraction: float = 0.0, network: str = "fraction",
                  **overrides: float) -> ProviderView:
    """The operator's economics of renting out GPUs it owns (IBM's view), per GPU.

    Parameters
    ----------
    price_usd_per_gpu_hour : rent charged per sold GPU-hour [USD]
    utilization : fraction of calendar hours sold, (0, 1] (default: data)
    years : horizon [years] (default: ``life_years``)
    residual_fraction : resale value at the end, as a fraction of capex [0..1]
    network, **overrides : as :func:`owned_cost_per_gpu_hour`

    Returns
    -------
    ProviderView

    Notes
    -----
    Year 0: -capex (GPU x server overhead + network). Years 1..N: H * (U * (price - energy/h)
    - facility/h), plus the residual value in year N. Payback interpolates within the year
    the cumulative cash turns positive; IRR solves NPV(r) = 0 by bisection on (-0.99, 10);
    the margin uses the straight-line annuity cost per sold hour at the cost of capital.
    """
    p = check_positive("price_usd_per_gpu_hour", price_usd_per_gpu_hour)
    c = owned_cost_per_gpu_hour(accelerator, depreciation="straight-line", network=network,
                                utilization=utilization, **overrides)
    v = c.inputs
    U = v["utilization"]
    N = check_positive("years", years) if years is not None else v["life_years"]
    res = _check_fraction("residual_fraction", residual_fraction, lo_open=False)
    if years is not None:
        c = owned_cost_per_gpu_hour(accelerator, depreciation="straight-line", network=network,
                                    **{**{k: v[k] for k in OWNED_PARAMS}, "life_years": N,
                                       "tdp_W": v["tdp_W"],
                                       "network_usd_per_gpu": v["network_usd_per_gpu"]})
    H = HOURS_PER_YEAR
    facility_h = c.facility_usd_per_gpu_hour * U
    yearly = H * (U * (p - c.energy_usd_per_gpu_hour) - facility_h)
    n_full = int(math.ceil(N))
    flows = [-c.capex_usd_per_gpu]
    for y in range(1, n_full + 1):
        frac = min(1.0, N - (y - 1))
        flows.append(yearly * frac)
    flows[-1] += res * c.capex_usd_per_gpu
    cf = np.asarray(flows)
    cum = np.cumsum(cf)
    payback = math.inf
    for y in range(1, len(cf)):
        if cum[y] >= 0 > cum[y - 1]:
            payback = (y - 1) + (-cum[y - 1]) / cf[y]
            break
    r = v["cost_of_capital"]
    npv = float(np.sum(cf / (1.0 + r) ** np.arange(len(cf))))
    cost_sold = c.total_usd_per_gpu_hour
    return ProviderView(price_usd_per_gpu_hour=p, utilization=U, years=N,
                        margin_usd_per_gpu_hour=p - cost_sold, cost_usd_per_sold_gpu_hour=cost_sold,
                        cash_flows_usd=cf, payback_years=payback, irr=_irr(cf), npv_usd_per_gpu=npv)


# --------------------------------------------------------------------------------------
# Epoch / Cottier et al. amortized method
# --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class EpochCost:
    """Epoch's amortized cost of a run [USD]: hardware, interconnect, energy, total;
    ``usd_per_gpu_hour`` = total / chip_hours; ``up_front_capex_usd`` for ``quantity`` chips."""

    chip_hours: float
    amortized_hardware_usd: float
    interconnect_usd: float
    energy_usd: float
    up_front_capex_usd: float | None

    @property
    def total_usd(self) -> float:
        return self.amortized_hardware_usd + self.interconnect_usd + self.energy_usd

    @property
    def usd_per_gpu_hour(self) -> float:
        return self.total_usd / self.chip_hours


def epoch_amortized_cost(purchase_price_usd_per_gpu: float, chip_hours: float, tdp_W: float, *,
                         years_since_acquisition: float = 0.0, server_overhead: float = 1.0,
                         ooms_per_year: float = 0.14, interconnect_fraction: float = 0.19,
                         server_power_ratio: float = 1.8, avg_power_fraction: float = 0.75,
                         pue: float = 1.25, electricity_usd_per_kWh: float = 0.0826,
                         quantity: int | None = None) -> EpochCost:
    """Epoch AI / Cottier et al. (2024) amortized hardware + interconnect + energy, as
    published in ``cost_analysis_standalone.py`` (training-cost-trends, commit 263c40a).

    Parameters
    ----------
    purchase_price_usd_per_gpu : price [USD]; multiply single-GPU prices by
        ``server_overhead`` (DGX/HGX per-GPU prices already include it: leave 1.0)
    chip_hours : accelerator-hours of the run [h]
    tdp_W : accelerator TDP [W]
    years_since_acquisition : acquisition -> training start [years]
    ooms_per_year : value decay [orders of magnitude per year] (0.14)
    interconnect_fraction : cluster interconnect share of total cost (0.19)
    server_power_ratio, avg_power_fraction, pue : 1.8, 0.75, 1.25 (1.10 hyperscaler)
    electricity_usd_per_kWh : 0.0826 (US industrial 2025, Epoch's series)
    quantity : chips, for the up-front capex quantity * price / (1 - f)

    Notes
    -----
    value_at_start = price * 10^(-0.14 * years); amortized_hw = value_at_start *
    (0.14 ln10) / 8,766 h * chip_hours; interconnect = amortized_hw * f / (1 - f);
    energy = TDP [kW] * server_power_ratio * avg_power_fraction * PUE * chip_hours * USD/kWh.
    Epoch then inflation-adjusts (not done here).

    Examples
    --------
    >>> e = epoch_amortized_cost(25733.71, 1.0, 750.0)   # MI300X UBB price, one chip-hour
    >>> round(e.amortized_hardware_usd, 3), round(e.amortized_hardware_usd + e.interconnect_usd, 3)
    (0.946, 1.168)
    """
    price = check_positive("purchase_price_usd_per_gpu", purchase_price_usd_per_gpu) * \
        check_positive("server_overhead", server_overhead)
    hours = check_positive("chip_hours", chip_hours)
    check_positive("tdp_W", tdp_W)
    check_positive("years_since_acquisition", years_since_acquisition, allow_zero=True)
    f = _check_fraction("interconnect_fraction", interconnect_fraction, lo_open=False, hi_open=True)
    value = price * 10.0 ** (-ooms_per_year * years_since_acquisition)
    hw = value * (ooms_per_year * math.log(10.0)) / HOURS_PER_YEAR * hours
    ic = hw * f / (1.0 - f)
    energy = (tdp_W * 1e-3 * server_power_ratio * avg_power_fraction * pue * hours
              * electricity_usd_per_kWh)
    capex = None if quantity is None else check_positive("quantity", quantity, integer=True) * price / (1.0 - f)
    return EpochCost(chip_hours=hours, amortized_hardware_usd=hw, interconnect_usd=ic,
                     energy_usd=energy, up_front_capex_usd=capex)


# --------------------------------------------------------------------------------------
# AMD vs NVIDIA per unit of useful work
# --------------------------------------------------------------------------------------
def useful_work_cost(accelerator: str, price_usd_per_gpu_hour: float, mfu: float,
                     software_efficiency: float | None = None, *, precision: str = "bf16",
                     flop_per_token: float | None = None) -> dict[str, float]:
    """Dollars per achieved PFLOP-hour and per million trained tokens.

    Parameters
    ----------
    accelerator : catalog name (peak from the catalog)
    price_usd_per_gpu_hour : rent or owned cost [USD per GPU-hour]
    mfu : MFU the hardware reaches on the reference (CUDA-class) software [fraction]
    software_efficiency : the stack's share of that MFU [fraction]; None: the data default
        for the accelerator's stack (ROCm or CUDA), shown in the result
    flop_per_token : training FLOP per token (6 N_active) [FLOP]

    Returns
    -------
    dict: achieved_flops [FLOP/s], usd_per_pflop_hour [USD per 1e15 FLOP/s for one hour],
    usd_per_million_tokens [USD] (when flop_per_token is given), software_efficiency, mfu_effective
    """
    canon = catalog.canonical_accelerator(accelerator)
    if software_efficiency is None:
        software_efficiency = defaults(canon)["software_efficiency"]
    p = check_positive("price_usd_per_gpu_hour", price_usd_per_gpu_hour)
    m = _check_fraction("mfu", mfu)
    s = _check_fraction("software_efficiency", software_efficiency, hi=2.0)
    achieved = catalog.accelerator(canon).peak(precision) * m * s
    out = {"achieved_flops": achieved, "usd_per_pflop_hour": p / (achieved / 1e15),
           "software_efficiency": s, "mfu_effective": m * s}
    if flop_per_token is not None:
        tok_per_h = achieved * 3600.0 / check_positive("flop_per_token", flop_per_token)
        out["usd_per_million_tokens"] = p / tok_per_h * 1e6
    return out


def compare_useful_work(cases: Iterable[Mapping[str, Any]], *, flop_per_token: float,
                        precision: str = "bf16"):
    """Table of :func:`useful_work_cost` for several cases.

    Parameters
    ----------
    cases : dicts with ``accelerator``, ``price_usd_per_gpu_hour``, ``mfu`` and optionally
        ``software_efficiency`` and ``label``
    flop_per_token : training FLOP per token [FLOP]

    Returns
    -------
    polars DataFrame: label, accelerator, vendor, software_stack, price_usd_per_gpu_hour, mfu,
    software_efficiency, mfu_effective, achieved_tflops, usd_per_pflop_hour, usd_per_million_tokens
    """
    import polars as pl

    rows = []
    for c in cases:
        acc = catalog.accelerator(c["accelerator"])
        r = useful_work_cost(acc.name, c["price_usd_per_gpu_hour"], c["mfu"],
                             c.get("software_efficiency"), precision=precision,
                             flop_per_token=flop_per_token)
        rows.append({"label": c.get("label", acc.name), "accelerator": acc.name, "vendor": acc.vendor,
                     "software_stack": software_stack(acc.name),
                     "price_usd_per_gpu_hour": float(c["price_usd_per_gpu_hour"]),
                     "mfu": float(c["mfu"]), "software_efficiency": r["software_efficiency"],
                     "mfu_effective": r["mfu_effective"], "achieved_tflops": r["achieved_flops"] / 1e12,
                     "usd_per_pflop_hour": r["usd_per_pflop_hour"],
                     "usd_per_million_tokens": r["usd_per_million_tokens"]})
    return pl.DataFrame(rows)


# --------------------------------------------------------------------------------------
# Uncertainty
# --------------------------------------------------------------------------------------
def distribution_mean(low: float, mode: float, high: float, distribution: str = "triangular") -> float:
    """Analytic mean of a parameter's distribution.

    triangular(low, mode, high): (low + mode + high) / 3. lognormal: median ``mode`` with
    sigma = ln(high/low) / (2 * 1.645), so low and high are about P5 and P95 when the range is
    symmetric in log space: mean = mode * exp(sigma^2 / 2).
    """
    _choice("distribution", distribution, _DISTRIBUTIONS)
    if distribution == "triangular":
        return (low + mode + high) / 3.0
    sigma = _lognormal_sigma(low, high)
    return mode * math.exp(0.5 * sigma * sigma)


def _lognormal_sigma(low: float, high: float) -> float:
    if low <= 0:
        raise ValidationError(f"lognormal needs low > 0, got low = {low!r}")
    return math.log(high / low) / (2.0 * _Z95)


def _draw(u: np.ndarray, low: float, mode: float, high: float, distribution: str,
          z: np.ndarray | None = None) -> np.ndarray:
    if high == low:
        return np.full(u.shape, float(mode))
    if distribution == "triangular":
        fc = (mode - low) / (high - low)
        left = low + np.sqrt(u * (high - low) * (mode - low))
        right = high - np.sqrt((1.0 - u) * (high - low) * (high - mode))
        return np.where(u < fc, left, right)
    sigma = _lognormal_sigma(low, high)
    return mode * np.exp(sigma * z)


def sample_parameters(n: int, seed: int, accelerator: str = "MI300X",
                      names: Iterable[str] = OWNED_PARAMS, *, distribution: str | None = None,
                      fixed: Mapping[str, float] | None = None) -> dict[str, np.ndarray]:
    """Draw ``n`` samples of each named parameter from its low/value/high range.

    Parameters
    ----------
    n : samples
    seed : seed of ``numpy.random.default_rng`` (the only source of randomness)
    accelerator : selects scoped defaults
    names : parameters to draw (default: the owned-cost inputs)
    distribution : "triangular" (low, mode = value, high) or "lognormal" (median = value,
        low/high as P5/P95); None: each row's own ``distribution`` column
    fixed : name -> value held constant (not drawn)

    Returns
    -------
    dict name -> array of n floats. Parameters are independent; the draws are made in the
    order of ``names``, one uniform (or normal) vector per name, so a seed reproduces them.
    """
    n = check_positive("n", n, integer=True)
    params = parameters(accelerator)
    fixed = dict(fixed or {})
    rng = np.random.default_rng(seed)
    out: dict[str, np.ndarray] = {}
    for name in names:
        if name not in params:
            raise unknown("parameter", name, params)
        p = params[name]
        dist = distribution or p.distribution
        _choice("distribution", dist, _DISTRIBUTIONS)
        if name in fixed:
            out[name] = np.full(n, float(fixed[name]))
            continue
        if dist == "triangular":
            out[name] = _draw(rng.random(n), p.low, p.value, p.high, dist)
        else:
            out[name] = _draw(None, p.low, p.value, p.high, dist, z=rng.standard_normal(n))
    for name, val in fixed.items():
        if name not in out:
            out[name] = np.full(n, float(val))
    return out


def monte_carlo_owned_cost(n: int = 100_000, seed: int = 0, accelerator: str = "MI300X", *,
                           depreciation: str = "straight-line", distribution: str | None = None,
                           fixed: Mapping[str, float] | None = None,
                           backend: str = "numba") -> np.ndarray:
    """Monte Carlo of the owned cost per useful GPU-hour [USD] over the parameter ranges.

    Parameters
    ----------
    n, seed, accelerator, distribution, fixed : as :func:`sample_parameters`
    depreciation : "straight-line" or "exponential"
    backend : "numba" (the kernel) or "reference" (plain numpy); same numbers

    Returns
    -------
    array of n costs [USD per useful GPU-hour]

    Examples
    --------
    >>> s = monte_carlo_owned_cost(1000, seed=1)
    >>> bool(s.min() > 0)
    True
    """
    from ._kernels import economics as k

    _choice("depreciation", depreciation, _DEPRECIATION)
    _choice("backend", backend, ("numba", "reference"))
    s = sample_parameters(n, seed, accelerator, OWNED_PARAMS, distribution=distribution, fixed=fixed)
    n = len(s["utilization"])
    tdp = np.full(n, catalog.accelerator(accelerator).tdp_W)
    net = np.zeros(n)
    args = (s["capex_usd_per_gpu"], s["server_overhead"], s["interconnect_fraction"], net,
            s["life_years"], s["depreciation_ooms_per_year"] * math.log(10.0), s["cost_of_capital"],
            tdp, s["server_power_ratio"], s["avg_power_fraction"], s["pue"],
            s["electricity_usd_per_kWh"], s["colocation_usd_per_kW_month"], s["utilization"],
            k.STRAIGHT_LINE if depreciation == "straight-line" else k.EXPONENTIAL, HOURS_PER_YEAR)
    fn = k.owned_cost_kernel if backend == "numba" else k.owned_cost_reference
    return fn(*args)


def monte_carlo(func: Callable[..., float], n: int = 2000, seed: int = 0,
                accelerator: str = "MI300X", names: Iterable[str] = OWNED_PARAMS, *,
                distribution: str | None = None, fixed: Mapping[str, float] | None = None,
                **kwargs: Any) -> np.ndarray:
    """Monte Carlo of any scalar output: ``func(**draw, **kwargs)`` for each of ``n`` draws.

    ``func`` receives the drawn parameters as keyword arguments (plus ``kwargs``) and returns
    a number, e.g. ``lambda **p: run_cost(gpu_hours=gh, price_usd_per_gpu_hour=
    owned_cost_per_gpu_hour(**p)).total_usd``. A Python loop: keep ``n`` to thousands.

    Returns
    -------
    array of n outputs
    """
    s = sample_parameters(n, seed, accelerator, names, distribution=distribution, fixed=fixed)
    keys = list(s)
    m = len(s[keys[0]])
    out = np.empty(m)
    for i in range(m):
        out[i] = func(**{k_: float(s[k_][i]) for k_ in keys}, **kwargs)
    return out


def percentiles(samples: np.ndarray, q: Iterable[float] = (5, 50, 95)) -> dict[str, float]:
    """Percentiles and mean of Monte Carlo samples: {"p5": ..., "p50": ..., "p95": ..., "mean": ...}."""
    a = np.asarray(samples, dtype=float)
    if a.size == 0 or not np.all(np.isfinite(a)):
        raise ValidationError(f"samples: need a non-empty array of finite numbers (size {a.size})")
    q = list(q)
    vals = np.percentile(a, q)
    out = {f"p{g:g}": float(v) for g, v in zip(q, vals, strict=True)}
    out["mean"] = float(a.mean())
    return out


def fmt_band(samples: np.ndarray, fmt: str = "{:,.2f}", scale: float = 1.0) -> str:
    """'P50 (P5-P95)' as text, e.g. '1.23 (0.95-1.80)'; values divided by ``scale``."""
    p = percentiles(samples)
    return f"{fmt.format(p['p50'] / scale)} ({fmt.format(p['p5'] / scale)}–{fmt.format(p['p95'] / scale)})"


def tornado(func: Callable[..., float] | None = None, accelerator: str = "MI300X",
            names: Iterable[str] = OWNED_PARAMS, *, base: Mapping[str, float] | None = None,
            **kwargs: Any):
    """One-at-a-time sensitivities: each parameter at its low and high, the others at their
    defaults (or ``base``).

    Parameters
    ----------
    func : output to study, called as ``func(**params, **kwargs)``; default the owned cost
        per useful GPU-hour of ``accelerator`` [USD]
    names : parameters to swing
    base : overrides of the defaults for the base case

    Returns
    -------
    polars DataFrame sorted by swing (largest first): parameter, unit, low, high, base_value,
    output_low, output_high, output_base, swing
    """
    import polars as pl

    params = parameters(accelerator)
    if func is None:
        def func(**p: float) -> float:
            return owned_cost_per_gpu_hour(accelerator, **p).total_usd_per_gpu_hour
    names = list(names)
    for nm in names:
        if nm not in params:
            raise unknown("parameter", nm, params)
    b = {nm: params[nm].value for nm in names}
    b.update(base or {})
    y0 = func(**b, **kwargs)
    rows = []
    for nm in names:
        p = params[nm]
        lo = func(**{**b, nm: p.low}, **kwargs)
        hi = func(**{**b, nm: p.high}, **kwargs)
        rows.append({"parameter": nm, "unit": p.unit, "low": p.low, "high": p.high,
                     "base_value": b[nm], "output_low": lo, "output_high": hi,
                     "output_base": y0, "swing": abs(hi - lo)})
    return pl.DataFrame(rows).sort("swing", descending=True)
