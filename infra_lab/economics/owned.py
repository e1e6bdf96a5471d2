"""Owned cost of a useful GPU-hour: every cost item, and rent-vs-own break-evens.

The owned cost of one *useful* GPU-hour (one that does work), per billed GPU:

    server     = (capex + host) (1 + spares)                       GPU (or board) + host
    network    = (nic n_nic + port n_port + optic n_optic)(1 + spares)   per port (default)
               = server f / (1 - f)                                      Epoch's fraction method
    other      = (server + network)(storage + front-end fractions)
    C          = server + network + other                           capex per GPU [USD]
    capital/h  = C CRF(r, L) / H                   straight line with an annuity
               = C 10^(-d a) (ln10 d + r) / H      Epoch's exponential decay d [OOM/yr] at age a
    facility/h = kW_server colocation 12 / H (1 + spares)          provisioned IT power
                                                  (hot spares provisioned; their idle draw is
                                                  not in energy/h: ASSUMPTION, _spare_power)
    opex/h     = (maintenance + insurance & tax) C / H + staff / H
    fixed/h    = (capital + facility + opex)(1 + setup / L)        setup weeks paid, not used
    energy/h   = kW_server avg_power PUE electricity                per busy hour
    cost       = fixed/h / U + energy/h

with kW_server = TDP / 1000 x server_power_ratio, CRF(r, L) = r / (1 - (1+r)^-L), H =
8,766 h per year and U the utilization (useful share of calendar hours).

All inputs default to ``data/economics/parameters.csv`` (value, range, unit, source per
row); every one can be overridden by keyword. One formula serves scalars and numpy arrays:
:func:`owned_components` (the numba kernel in ``infra_lab._kernels.economics`` is an
independent implementation of the same formula, checked against it in the tests).
"""

from __future__ import annotations

import dataclasses
import functools
import math
import warnings
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import polars as pl

from .. import catalog
from .._repr import Printout
from .._validate import sequence
from ..errors import ValidationError, short_repr, unknown, user_stacklevel
from . import _validate as V
from .data import HOURS_PER_YEAR, _no_price, parameters

__all__ = [
    "OWNED_PARAMS", "NETWORK_PORT_PARAMS", "DEPRECIATION", "NETWORK", "OwnedCost", "RentOrOwn",
    "owned_inputs", "owned_components", "owned_cost_per_gpu_hour", "network_capex_per_gpu",
    "rental_cost_per_gpu_hour", "break_even_utilization", "rent_vs_own", "rent_vs_own_curve",
    "cluster_power", "owned_input_names", "fabric_network_counts", "fabric_count_factors", "optics_price_ratio",
]

NETWORK_PORT_PARAMS = ("nic_usd", "nics_per_gpu", "switch_port_usd", "switch_ports_per_gpu",
                       "optics_usd", "optics_per_gpu")
OWNED_PARAMS = (
    "capex_usd_per_gpu", "host_usd_per_gpu", "spare_fraction", *NETWORK_PORT_PARAMS,
    "interconnect_fraction", "storage_fraction", "frontend_fraction", "life_years",
    "depreciation_ooms_per_year", "cost_of_capital", "server_power_ratio", "avg_power_fraction",
    "pue", "electricity_usd_per_kWh", "colocation_usd_per_kW_month",
    "maintenance_fraction_per_year", "insurance_tax_fraction_per_year", "staff_fte_per_1000_gpus",
    "staff_usd_per_fte_year", "setup_weeks", "utilization",
)
"""Inputs of the owned-cost model (each a row of parameters.csv with a range)."""
DEPRECIATION = ("straight-line", "exponential")
NETWORK = ("per-port", "fraction")
WEEKS_PER_YEAR = 365.25 / 7.0


def _tdp(canon: str) -> float | None:
    t = catalog.accelerator(canon).tdp_W
    return None if t is None or (isinstance(t, float) and math.isnan(t)) else float(t)


def _fabric_overrides(accelerator: str | None, overrides: Mapping[str, Any], hardware: Any,
                      radix: Any, network: str = "per-port") -> tuple[str, dict[str, Any]]:
    """(accelerator, overrides) with the back-end network counts of ``hardware``'s own fabric
    (:func:`fabric_network_counts`) in place of parameters.csv's reference-fabric counts; without
    ``hardware`` the overrides as given (``accelerator`` None: MI300X). ``hardware`` sets the
    accelerator (one that contradicts it is refused) and cannot be given beside the counts it
    replaces, ``network_usd_per_gpu`` or ``network="fraction"`` (which read no count)."""
    ov = dict(V.table("overrides", overrides, "owned-cost parameter -> number"))
    if hardware is None:
        if radix is not None:
            raise ValidationError(f"radix = {radix!r}: the switch radix of hardware's fabric; pass hardware= too "
                                  "(a Scenario or [hardware] table) or leave radix out")
        return V.accelerator("MI300X" if accelerator is None else accelerator), ov
    from ..fabric import hardware_config

    hw = hardware_config(hardware)     # a Scenario, a [hardware] table, a HardwareConfig (as_hardware)
    canon = catalog.accelerator(hw.accelerator).name
    if accelerator is not None and V.accelerator(accelerator) != canon:
        raise ValidationError(f"accelerator = {accelerator!r} and hardware of {hw.accelerator}: the cluster is "
                              f"priced for the hardware's accelerator; pass accelerator = {canon!r} or leave it out")
    if network != "per-port":
        raise ValidationError(f"network = {network!r} and hardware: the fraction method reads no switch or cable "
                              "count; pass network='per-port' with hardware, or leave hardware out")
    given = [k for k in ("switch_ports_per_gpu", "nics_per_gpu", "network_usd_per_gpu") if k in ov]
    if given:
        raise ValidationError(f"{', '.join(given)} and hardware: the hardware's fabric counts the network "
                              "(fabric_network_counts); pass hardware or the per-GPU network inputs, not both")
    o = ov.get("optics_per_gpu")
    ov.update(fabric_network_counts(hw, radix, optics_per_gpu=o))
    return canon, ov


def _fabric_draws(accelerator: str | None, fixed: Mapping[str, Any], hardware: Any, radix: Any,
                  network: str = "per-port") -> tuple[str, dict[str, Any], dict[str, float]]:
    """(accelerator, fixed, scale) of a Monte Carlo of ``hardware``'s own cluster: the checks of
    :func:`_fabric_overrides`, then :func:`fabric_count_factors`' rule, the one that
    ``deal_pnl`` and ``expansion.owned_quote`` use: each draw of a network count is multiplied by
    ``scale``'s factor (the cluster's count over parameters.csv's mode) or held at 0 (``fixed``)
    where the cluster has none of the item. A count in ``fixed`` (only ``optics_per_gpu`` is
    allowed beside hardware: the reference fabric's figure) is held at the cluster's figure, as
    :func:`owned_inputs` reads it. Without ``hardware``: ``_fabric_overrides``' result, no scale."""
    canon, ov = _fabric_overrides(accelerator, fixed, hardware, radix, network)
    if hardware is None:
        return canon, ov, {}
    scale, zero = fabric_count_factors(hardware, radix)
    out = {k: v for k, v in ov.items() if k not in FABRIC_COUNTS or k in fixed}
    out |= {k: 0.0 for k in zero if k not in fixed}
    return canon, out, {k: f for k, f in scale.items() if k not in fixed}


def owned_inputs(accelerator: str | None = "MI300X", overrides: Mapping[str, Any] | None = None, *,
                 hardware: Any = None, radix: int | None = None) -> dict[str, float]:
    """Every owned-cost input for ``accelerator``: data defaults, then ``overrides``, checked.

    Keys: :data:`OWNED_PARAMS` plus ``tdp_W`` [W] (from the catalog). A missing purchase
    price or TDP raises :class:`~infra_lab.economics.NoPurchasePriceError` /
    :class:`~infra_lab.errors.ValidationError` saying how to pass one. ``None`` values in
    ``overrides`` are errors (pass a number or leave the key out). The legacy
    ``server_overhead`` ratio is converted to ``host_usd_per_gpu`` with a warning.

    ``hardware`` (a Scenario or [hardware] table, optional; ``radix`` its switch ports): the
    network counts are that cluster's own fabric's (:func:`fabric_network_counts`: NICs of its
    node, every port of the switches its fabric needs, optics per cable x its cables) instead of
    parameters.csv's ``nics_per_gpu`` / ``switch_ports_per_gpu`` / ``optics_per_gpu``, the
    figures of the reference fabric (ZAYA1's 1,024 MI300X, rails-only); ``accelerator`` is then
    the hardware's (None or the same name). An ``optics_per_gpu`` override is read as the
    reference fabric's figure, as :func:`network_capex_per_gpu` reads it.

    Examples
    --------
    >>> import infra_lab as il
    >>> v = il.economics.owned_inputs("MI300X", {"utilization": 0.8})
    >>> v["utilization"], v["tdp_W"] == il.catalog.accelerator("MI300X").tdp_W
    (0.8, True)
    """
    canon, ov = _fabric_overrides(accelerator, overrides, hardware, radix)
    if "server_overhead" in ov:
        warnings.warn("server_overhead (a ratio) is deprecated: pass host_usd_per_gpu [USD per GPU]; "
                      "converted as host = capex x (server_overhead - 1)", DeprecationWarning, stacklevel=user_stacklevel())
        so = V.number("server_overhead", ov.pop("server_overhead"), lo=1.0, hi=10.0)
        capex = ov.get("capex_usd_per_gpu", parameters(canon).get("capex_usd_per_gpu"))
        capex = capex.value if hasattr(capex, "value") else capex
        if capex is None:
            raise _no_price(canon)
        ov["host_usd_per_gpu"] = float(capex) * (so - 1.0)
    allowed = (*OWNED_PARAMS, "tdp_W", "network_usd_per_gpu")
    for k, v in ov.items():
        if k not in allowed:
            raise unknown("owned-cost parameter", k, allowed)
        if v is None:
            raise ValidationError(f"{k} = None: pass a number or leave {k} out (the default is "
                                  f"{parameters(canon)[k].value if k in parameters(canon) else 'from the catalog'})")
    P = parameters(canon)
    vals: dict[str, float] = {}
    for k in OWNED_PARAMS:
        if k in ov:
            vals[k] = V.bounded(k, ov[k])
        elif k in P:
            vals[k] = P[k].value
        elif k == "capex_usd_per_gpu":
            raise _no_price(canon)
        else:  # pragma: no cover - every other parameter has an 'all' row
            raise ValidationError(f"parameters.csv has no default for {k}")
    if "tdp_W" in ov:
        vals["tdp_W"] = V.bounded("tdp_W", ov["tdp_W"])
    else:
        t = _tdp(canon)
        if t is None:
            raise ValidationError(f"tdp_W: {canon} has no TDP in data/accelerators.csv; pass "
                                  f"tdp_W=... [W per GPU], e.g. tdp_W=700.0")
        vals["tdp_W"] = t
    if "network_usd_per_gpu" in ov:
        vals["network_usd_per_gpu"] = V.bounded("network_usd_per_gpu", ov["network_usd_per_gpu"])
    return vals


_OWNED_BUILD = V.build_hint("owned_inputs", "OWNED_PARAMS")
"""Where a complete dict of owned-cost inputs comes from (said by every missing-key error)."""


def owned_input_names(depreciation: str = "straight-line", network: str = "per-port") -> list[str]:
    """The rows of :data:`OWNED_PARAMS` that :func:`owned_cost_per_gpu_hour` reads with these
    options (the others belong to the other methods: ``interconnect_fraction`` to
    ``network="fraction"``, the port prices and counts to ``"per-port"``,
    ``depreciation_ooms_per_year`` to ``depreciation="exponential"``).

    Examples
    --------
    >>> "interconnect_fraction" in owned_input_names()
    False
    >>> "nic_usd" in owned_input_names(network="fraction")
    False
    """
    V.choice("depreciation", depreciation, DEPRECIATION)
    V.choice("network", network, NETWORK)
    return [k for k in _owned_keys({}, depreciation=depreciation, network=network)[0] if k in OWNED_PARAMS]


def _owned_keys(v: Mapping[str, Any], *, depreciation: str = "straight-line",
               network: str = "per-port") -> tuple[list[str], dict[str, str]]:
    """The inputs the owned-cost formula reads for these options: (required, optional).

    Every input of :data:`OWNED_PARAMS` and ``tdp_W``, except the network inputs the method
    does not use (all of them when ``v`` gives ``network_usd_per_gpu``) and
    ``depreciation_ooms_per_year`` for straight-line depreciation.
    """
    skip: set[str] = set()
    if "network_usd_per_gpu" in v:
        skip |= {*NETWORK_PORT_PARAMS, "interconnect_fraction"}
    elif network == "per-port":
        skip.add("interconnect_fraction")
    else:
        skip |= set(NETWORK_PORT_PARAMS)
    if depreciation == "straight-line":
        skip.add("depreciation_ooms_per_year")
    return ([k for k in OWNED_PARAMS if k not in skip] + ["tdp_W"],
            {"network_usd_per_gpu": "replaces the back-end network inputs"})


def owned_components(v: Mapping[str, Any], *, depreciation: str = "straight-line",
                     network: str = "per-port", age_years: Any = 0.0) -> dict[str, Any]:
    """The owned-cost formula on scalars or numpy arrays. Returns components per useful
    GPU-hour [USD] plus ``capex`` [USD per GPU], ``fixed_h`` (per calendar hour) and
    ``energy_h`` (per busy hour).

    ``v`` holds every input the options read (:data:`OWNED_PARAMS` and ``tdp_W`` [W]; units
    in parameters.csv), each a number or an array of draws:
    :func:`owned_inputs` builds the complete dict from the data, ``sample_parameters``
    arrays of draws (add ``tdp_W``). A missing or misspelled key, or a value outside its
    bounds, raises the package's error naming it; other economics inputs in ``v`` (an
    operator's) are not used.

    Examples
    --------
    >>> import infra_lab as il
    >>> c = il.economics.owned_components(il.economics.owned_inputs("MI300X"))
    >>> "capex" in c, "energy_h" in c
    (True, True)
    """
    V.choice("depreciation", depreciation, DEPRECIATION)
    V.choice("network", network, NETWORK)
    req, opt = _owned_keys(v if isinstance(v, Mapping) else {}, depreciation=depreciation, network=network)
    v = V.model_inputs("owned_components", v, req, opt, what="owned-cost inputs", build=_OWNED_BUILD)
    age = V.values("age_years", age_years, 0.0, 100.0)
    if isinstance(age, np.ndarray):
        V.check_shapes("owned_components", {**V.array_shapes(v, (*req, *opt)), "age_years": age.shape})
    else:
        age = age_years                                   # a number as given: the same result
    return _owned_components(v, depreciation=depreciation, network=network, age_years=age)


def _spare_power(server_per_gpu: Any, v: Mapping[str, Any]) -> tuple[Any, Any]:
    """Server power per billed GPU (``server_per_gpu``, any unit) -> (provisioned, drawn while
    busy), the one place that says what hot spares draw.

    Provisioned: every server, spares included (x (1 + ``spare_fraction``)): a hot spare is
    racked, powered and ready to be swapped in, so the colocation contract reserves its power
    as it does a billed server's. Drawn: the billed GPUs only. ASSUMPTION: a hot spare's idle
    draw is left out of the energy (no sourced idle power of an 8-GPU server here); the energy
    is therefore low by at most ``spare_fraction`` x (idle / average draw) of its value."""
    return server_per_gpu * (1.0 + v["spare_fraction"]), server_per_gpu


def _owned_components(v: Mapping[str, Any], *, depreciation: str = "straight-line",
                      network: str = "per-port", age_years: Any = 0.0) -> dict[str, Any]:
    """:func:`owned_components` without the checks, for callers whose inputs are checked
    (``owned_inputs``, draws from parameters.csv)."""
    H = HOURS_PER_YEAR
    spare = 1.0 + v["spare_fraction"]
    server = (v["capex_usd_per_gpu"] + v["host_usd_per_gpu"]) * spare
    if "network_usd_per_gpu" in v:
        net = v["network_usd_per_gpu"] * spare
    elif network == "per-port":
        net = (v["nic_usd"] * v["nics_per_gpu"] + v["switch_port_usd"] * v["switch_ports_per_gpu"]
               + v["optics_usd"] * v["optics_per_gpu"]) * spare
    else:
        f = v["interconnect_fraction"]
        net = server * f / (1.0 - f)
    other = (server + net) * (v["storage_fraction"] + v["frontend_fraction"])
    capex = server + net + other
    r, L = v["cost_of_capital"], v["life_years"]
    if depreciation == "straight-line":
        dep = 1.0 / L
        with np.errstate(divide="ignore", invalid="ignore"):
            crf = np.where(np.asarray(r) == 0.0, 1.0 / np.asarray(L),
                           np.asarray(r) / (1.0 - (1.0 + np.asarray(r)) ** (-np.asarray(L))))
        fin = crf - dep
        scale = 1.0
    else:
        dep = math.log(10.0) * v["depreciation_ooms_per_year"]
        fin = r
        scale = 10.0 ** (-v["depreciation_ooms_per_year"] * age_years)
    kw = v["tdp_W"] * 1e-3 * v["server_power_ratio"]
    kw_provisioned, kw_drawn = _spare_power(kw, v)
    parts_fixed = {
        "hardware": server * scale * dep / H,
        "network": net * scale * dep / H,
        "storage_frontend": other * scale * dep / H,
        "financing": capex * scale * fin / H,
        "facility": kw_provisioned * v["colocation_usd_per_kW_month"] * 12.0 / H,
        "maintenance": v["maintenance_fraction_per_year"] * capex / H,
        "insurance_tax": v["insurance_tax_fraction_per_year"] * capex / H,
        "staff": v["staff_fte_per_1000_gpus"] / 1000.0 * v["staff_usd_per_fte_year"] / H,
    }
    base_fixed = sum(parts_fixed.values())
    setup = base_fixed * v["setup_weeks"] / (WEEKS_PER_YEAR * L)
    U = v["utilization"]
    energy = kw_drawn * v["avg_power_fraction"] * v["pue"] * v["electricity_usd_per_kWh"]
    out = {k: x / U for k, x in parts_fixed.items()}
    out["setup"] = setup / U
    out["energy"] = energy
    out["total"] = (base_fixed + setup) / U + energy
    out["capex"] = capex
    out["fixed_h"] = base_fixed + setup
    out["energy_h"] = energy
    out["server"] = server
    out["network_capex"] = net
    out["other_capex"] = other
    return out


_COMPONENT_NAMES = {
    "hardware": "GPUs + hosts (depreciation)", "network": "back-end network (depreciation)",
    "storage_frontend": "storage + front-end network (depreciation)",
    "financing": "financing (cost of capital)", "energy": "energy", "facility": "colocation",
    "maintenance": "maintenance and spares", "insurance_tax": "insurance and property tax",
    "staff": "operations staff", "setup": "setup and burn-in",
}


@dataclass(frozen=True)
class OwnedCost(Printout):
    """Owned cost of one useful GPU-hour, by component [USD per useful GPU-hour].

    ``all_in_capex_usd_per_gpu`` is the whole capex per billed GPU (GPU, host, spares, network,
    storage, front-end) [USD per GPU]; ``capex_usd_per_gpu`` is the same figure under its older
    name, kept for existing code (the input of that name, an override or
    ``il.economics.parameter("capex_usd_per_gpu", acc)``, is the GPU alone: read the all-in
    figure by its unambiguous name); ``fixed_usd_per_calendar_hour`` the part paid every calendar hour
    (capital, colocation, opex, setup); ``energy_usd_per_gpu_hour`` the part paid per busy
    hour; ``inputs`` every value used.
    """

    accelerator: str
    depreciation: str
    network_method: str
    hardware_usd_per_gpu_hour: float
    network_usd_per_gpu_hour: float
    storage_frontend_usd_per_gpu_hour: float
    financing_usd_per_gpu_hour: float
    energy_usd_per_gpu_hour: float
    facility_usd_per_gpu_hour: float
    maintenance_usd_per_gpu_hour: float
    insurance_tax_usd_per_gpu_hour: float
    staff_usd_per_gpu_hour: float
    setup_usd_per_gpu_hour: float
    capex_usd_per_gpu: float
    fixed_usd_per_calendar_hour: float
    inputs: dict[str, float] = field(hash=False, repr=False)

    def _printout(self) -> str:
        """What print() and a notebook show: a readable printout, one field a line with its unit (4 significant figures); the
        exact values are the attributes."""
        from .._repr import readable

        text = readable(self, (*all_in_names(self), "total_usd_per_gpu_hour"),
                        title=f"{self.accelerator}, owned, per useful GPU-hour", footer="exact values: the attributes")
        return with_capex_note(text, self.inputs.get("capex_usd_per_gpu"))

    @property
    def all_in_capex_usd_per_gpu(self) -> float:
        """The whole capex per billed GPU (GPU, host, spares, network, storage, front-end) [USD
        per GPU]: ``capex_usd_per_gpu`` by a name no input shares (the input
        ``capex_usd_per_gpu`` is the GPU alone)."""
        return self.capex_usd_per_gpu

    @property
    def total_usd_per_gpu_hour(self) -> float:
        return sum(getattr(self, f"{k}_usd_per_gpu_hour") for k in _COMPONENT_NAMES)

    @property
    def breakdown(self):
        """polars DataFrame: component, usd_per_gpu_hour, share."""
        import polars as pl

        vals = [getattr(self, f"{k}_usd_per_gpu_hour") for k in _COMPONENT_NAMES]
        tot = sum(vals)
        return pl.DataFrame({"component": list(_COMPONENT_NAMES.values()), "usd_per_gpu_hour": vals,
                             "share": [x / tot for x in vals]})


CAPEX_NOTE = ("all_in_capex_usd_per_gpu is the whole capex per GPU (GPU, host, spares, network, storage, "
              "front-end; the result's capex_usd_per_gpu attribute is the same figure, kept for existing "
              "code); the input capex_usd_per_gpu (an override such as capex_usd_per_gpu=20000, "
              "il.economics.parameter('capex_usd_per_gpu', acc)) is the GPU alone")
"""The printouts' note on the two quantities named capex_usd_per_gpu: a user who passed the
printed all-in figure back as the override counted the host, spares and network twice
(32,169 USD per MI300X printed; capex_usd_per_gpu=32169 gave 51,505 all-in and raised the
owned cost). Since session 42 the printouts name the all-in figure all_in_capex_usd_per_gpu
(a property of :class:`OwnedCost` and :class:`~infra_lab.economics.finance.ProviderView`); the
result field capex_usd_per_gpu keeps its name and value for existing code."""


def all_in_names(result) -> tuple[str, ...]:
    """The printed fields of a result dataclass holding the all-in capex: its ``repr`` fields with
    ``capex_usd_per_gpu`` shown as ``all_in_capex_usd_per_gpu`` (the same value, the unambiguous
    name), in the same place."""
    return tuple("all_in_capex_usd_per_gpu" if f.name == "capex_usd_per_gpu" else f.name
                 for f in dataclasses.fields(result) if f.repr)


def with_capex_note(text: str, gpu_alone_usd: float | None = None) -> str:
    """``text`` (a :func:`~infra_lab._repr.readable` printout ending in its footer line) with
    :data:`CAPEX_NOTE` as a note line before the footer, the GPU-alone input's value in it
    when given [USD per GPU]."""
    note = CAPEX_NOTE + (f": {gpu_alone_usd:,.0f} USD" if gpu_alone_usd is not None else "")
    head, _, footer = text.rpartition("\n")
    return f"{head}\n  note: {note}\n{footer}"


def check_age(age_years: Any, depreciation: str) -> float:
    """``age_years`` [years] checked: a number in [0, 100], and above 0 only with the exponential
    method (straight-line depreciation prices new hardware over its life, so an age was
    accepted and ignored: age_years=10 gave the new-GPU cost)."""
    age = V.positive("age_years", age_years, allow_zero=True, hi=100.0)
    if age > 0 and depreciation != "exponential":
        raise ValidationError(f"age_years = {age_years!r}: only with depreciation = 'exponential' (the market "
                              f"value decays with age); depreciation = {depreciation!r} prices new hardware "
                              "over its life_years")
    return age


def owned_cost_per_gpu_hour(accelerator: str | None = None, *, depreciation: str = "straight-line",
                            network: str = "per-port", age_years: float = 0.0, hardware: Any = None,
                            radix: int | None = None, **overrides: float) -> OwnedCost:
    """Cost of one useful GPU-hour on hardware you own [USD per GPU-hour], every cost item,
    with every input at its default (a point estimate).

    Three owned prices answer three questions; pick the one that matches yours:

    * this function: what the IBM-style cluster costs with every input at its default value
      (the accelerator's analyst selling price plus its own host), one number, no spread;
    * :func:`~infra_lab.economics.monte_carlo_owned_cost` (notebook 05's headline): the same cost with every input
      drawn from its range, as a median and P5-P95 band;
    * :func:`~infra_lab.economics.owned_gpu_hour_price` (serving's ``gpu_hour_price``, notebooks 05, 07 and 09 for
      cross-vendor comparisons): the like-for-like price, the median of draws on the newest
      8-GPU baseboard listing with the same host, network and operating costs for every
      accelerator. Use it when comparing accelerators or pricing a run against another vendor.

    Parameters
    ----------
    accelerator : catalog name; selects defaults and the TDP (None: the hardware's, else MI300X)
    depreciation : "straight-line" (capital recovered by an annuity over ``life_years`` at
        ``cost_of_capital``) or "exponential" (Epoch: value decays 10^(-d t); the hourly
        charge is value (ln10 d + cost_of_capital) / H)
    network : "per-port" (NICs + switch ports + optics, the same per GPU whatever the GPU's
        price; default) or "fraction" (Epoch: ``interconnect_fraction`` of cluster cost)
    age_years : hardware age for the exponential method [years] (> 0 only with it)
    hardware : optional Scenario or [hardware] table: the back-end network is that cluster's
        own fabric (its fabric type, node count, NICs and their line rate:
        :func:`fabric_network_counts`, the counts :func:`network_capex_per_gpu` prices) instead
        of parameters.csv's per-GPU counts, which are the reference fabric's (ZAYA1's 128 nodes
        of MI300X, rails-only: 1 NIC, 3 ports, 4 transceivers per GPU). Without it every
        cluster is priced with the reference fabric's counts, whatever its size or fabric
    radix : switch ports of that fabric (default ``switch_radix_ports``, data/network_constants.csv)
    **overrides : any of :data:`OWNED_PARAMS` (units in parameters.csv), ``tdp_W`` [W] or
        ``network_usd_per_gpu`` [USD]. Accelerators without a public purchase price need
        ``capex_usd_per_gpu``.

    Returns
    -------
    OwnedCost : components per useful GPU-hour and ``total_usd_per_gpu_hour``

    Notes
    -----
    The formula is in the module docstring. Fixed costs accrue every calendar hour and are
    divided by the utilization; energy is paid only for busy hours (idle power neglected).
    Colocation is charged on provisioned IT power, electricity on average power x PUE.
    The defaults are the *modes* of right-skewed ranges: report the Monte Carlo median
    (:func:`infra_lab.economics.monte_carlo_owned_cost`) as the headline.

    Examples
    --------
    >>> c = owned_cost_per_gpu_hour("MI300X", utilization=1.0)
    >>> c.total_usd_per_gpu_hour > c.energy_usd_per_gpu_hour > 0
    True
    """
    V.choice("depreciation", depreciation, DEPRECIATION)
    V.choice("network", network, NETWORK)
    canon, overrides = _fabric_overrides(accelerator, overrides, hardware, radix, network)
    v = owned_inputs(canon, overrides)
    age = check_age(age_years, depreciation)
    c = _owned_components(v, depreciation=depreciation, network=network, age_years=age)
    return OwnedCost(
        accelerator=canon, depreciation=depreciation, network_method=network,
        **{f"{k}_usd_per_gpu_hour": float(c[k]) for k in _COMPONENT_NAMES},
        capex_usd_per_gpu=float(c["capex"]), fixed_usd_per_calendar_hour=float(c["fixed_h"]),
        inputs=dict(v),
    )


def network_capex_per_gpu(server_capex_usd_per_gpu: float = 0.0, *, method: str | None = None,
                          hardware: Any = None, radix: int | None = None, accelerator: str | None = None,
                          **prices: float) -> float:
    """Scale-out network capex per GPU [USD], priced for the accelerator whose cluster it is.

    Parameters
    ----------
    server_capex_usd_per_gpu : server (GPU + host) capex per GPU [USD]; used by "fraction"
    method : "per-port" (NIC + switch ports + optics) or "fraction" (Epoch: network =
        server f / (1 - f) with ``interconnect_fraction`` f); None: "fraction" when
        ``interconnect_fraction`` is passed (the old call), else "per-port"
    hardware : optional Scenario / [hardware] table: switch ports per GPU come from
        ``infra_lab.fabric.switch_counts(hardware, radix)``, NICs per GPU from the node, and
        optics per GPU follow the fabric's cables (``infra_lab.fabric.link_counts``): the
        ``optics_per_gpu`` parameter is the figure of the built-out reference fabric
        (``economics.REFERENCE_SCENARIO``'s, at the default radix), so the transceivers per cable
        are ``optics_per_gpu`` / that fabric's cables per GPU, times this fabric's cables per GPU
        (one node, one scale-up domain: no switch, no cable, no optics). ``switch_ports_per_gpu``
        and ``nics_per_gpu`` are the fabric's then and cannot be passed beside it. A switch port
        runs at the NIC's line rate, and ``switch_port_usd`` prices a port of
        ``switch_port_price_bps`` (data/network_constants.csv, 400 Gb/s), so a port costs
        ``switch_port_usd`` x line rate / that rate (an 800G NIC's port two priced ports, a 200G
        NIC's half one)
    radix : switch ports [ports] for the fabric count (default ``switch_radix_ports`` of
        data/network_constants.csv, as :func:`infra_lab.fabric.switch_counts`)
    accelerator : catalog name whose parameters.csv rows price the NIC, ports and optics
        (default: the hardware's accelerator, else the reference scenario's, MI300X). Its
        ``nic_usd`` row is 0 where its purchase price (``capex_usd_per_gpu``) is a DGX or rack
        price that already includes the NICs (H100-SXM, B200, H800-SXM, GB200): pass ``nic_usd=...``
        when pricing that network beside a bare GPU or board price. Each ``capex_usd_per_gpu``
        row's description says whether its price includes the scale-out NICs (H200-SXM's HGX
        server listing does not say: the NIC is added, an assumption). With ``hardware`` it must
        be the hardware's accelerator
    **prices : overrides of nic_usd, nics_per_gpu, switch_port_usd, switch_ports_per_gpu,
        optics_usd, optics_per_gpu, interconnect_fraction (defaults from parameters.csv)

    Notes
    -----
    APPROXIMATE: ``nic_usd`` is a 400G NIC's price (the one NIC price in the data; no public
    price of an 800G NIC, ConnectX-8 or Thor Ultra, was found) whatever the NIC's line rate: pass
    ``nic_usd=`` for an 800G fabric. With ``hardware`` the switch port scales with the line rate
    and so does the transceiver (:func:`optics_price_ratio`: an 800G module counts 1.79 of the
    400G module ``optics_usd`` prices, the ratio of network_costs.csv's rows); without it the
    reference fabric's 400G modules are priced.

    Examples
    --------
    >>> round(network_capex_per_gpu(81.0, interconnect_fraction=0.19), 6)
    19.0
    >>> network_capex_per_gpu(hardware={"accelerator": "MI300X", "nodes": 1}) == parameters("MI300X")["nic_usd"].value
    True
    >>> network_capex_per_gpu(hardware={"accelerator": "H100-SXM", "nodes": 1})   # the DGX price has its NICs
    0.0
    """
    if method is None:
        method = "fraction" if "interconnect_fraction" in prices else "per-port"
    V.choice("method", method, NETWORK)
    s = V.positive("server_capex_usd_per_gpu", server_capex_usd_per_gpu, allow_zero=True)
    r = None if radix is None else V.integer("radix", radix, lo=4, hi=4096)   # refused even when no hardware uses it
    hw = None
    if hardware is not None:
        from ..fabric import hardware_config

        hw = hardware_config(hardware)
    if accelerator is not None:
        canon = V.accelerator(accelerator)
        if hw is not None and catalog.accelerator(hw.accelerator).name != canon:
            raise ValidationError(f"accelerator = {accelerator!r} and hardware of {hw.accelerator}: the network is "
                                  f"priced for the hardware's accelerator; pass accelerator = "
                                  f"{catalog.accelerator(hw.accelerator).name!r} or leave it out")
    elif hw is not None:
        canon = catalog.accelerator(hw.accelerator).name
    else:
        from .data import _reference_scenario

        canon = catalog.accelerator(_reference_scenario().hardware.accelerator).name
    P = parameters(canon)
    allowed = (*NETWORK_PORT_PARAMS, "interconnect_fraction")
    v = {k: P[k].value for k in allowed}
    for k, x in prices.items():
        if k not in allowed:
            raise unknown("network price parameter", k, allowed)
        v[k] = V.bounded(k, x)
    if hw is not None:
        given = [k for k in ("switch_ports_per_gpu", "nics_per_gpu") if k in prices]
        if given:   # they were replaced by the fabric's counts without a word
            raise ValidationError(f"{', '.join(given)} and hardware: the fabric counts them (switch_counts, the node's "
                                  "NICs); pass hardware or the per-GPU counts, not both")
        v.update(fabric_network_counts(hw, r, optics_per_gpu=v["optics_per_gpu"]))
    if method == "fraction":
        f = v["interconnect_fraction"]
        return s * f / (1.0 - f)
    return (v["nic_usd"] * v["nics_per_gpu"] + v["switch_port_usd"] * v["switch_ports_per_gpu"]
            + v["optics_usd"] * v["optics_per_gpu"])


def fabric_network_counts(hardware: Any, radix: int | None = None, *,
                          optics_per_gpu: float | None = None) -> dict[str, float]:
    """The back-end network counts per GPU of the hardware's own fabric, in the units the
    per-port prices read: ``nics_per_gpu`` [NICs per GPU], ``switch_ports_per_gpu`` [priced
    ports per GPU] and ``optics_per_gpu`` [transceivers per GPU]. The one place where the fabric
    code's counts (:func:`infra_lab.fabric.switch_counts`, :func:`infra_lab.fabric.link_counts`)
    become the owned-cost inputs: :func:`network_capex_per_gpu` and ``owned_cost_per_gpu_hour``
    / ``owned_inputs`` / ``monte_carlo_owned_cost`` with ``hardware=`` read them here.

    * NICs: the node's (``nics_per_node`` / ``gpus_per_node``).
    * Switch ports: every port of every switch the fabric needs (whole switches are bought:
      ``switch_counts(hardware, radix)["total"]`` x ``radix`` / GPUs), each at the NIC's line
      rate and counted in ports of ``switch_port_price_bps`` (data/network_constants.csv, 400 Gb/s),
      the port ``switch_port_usd`` prices: an 800G NIC's port is two priced ports, a 200G NIC's
      half one.
    * Optics: transceivers per cable x the fabric's cables per GPU, each counted in priced
      modules (:func:`optics_price_ratio`: a module at the NIC's line rate over the 400G module
      ``optics_usd`` prices, from data/economics/network_costs.csv; an 800G module 1.79). ``optics_per_gpu``
      [default parameters.csv's row] is the figure of the built-out reference fabric
      (``economics.REFERENCE_SCENARIO``'s at the default radix, 400G), so transceivers per cable =
      ``optics_per_gpu`` / that fabric's cables per GPU.

    One scale-up domain (one 8-GPU node, one NVL72 rack) needs no switch, cable or optics:
    only its NICs count.

    Examples
    --------
    >>> c = fabric_network_counts({"accelerator": "MI300X", "nodes": 128, "fabric": "rails-only"})
    >>> (c["nics_per_gpu"], c["switch_ports_per_gpu"], c["optics_per_gpu"])
    (1.0, 3.0, 4.0)
    >>> fabric_network_counts({"accelerator": "MI300X", "nodes": 64, "fabric": "rails-only"})["switch_ports_per_gpu"]
    1.0
    """
    from ..fabric import constant, hardware_config, link_counts, switch_counts
    from .data import _reference_scenario

    hw = hardware_config(hardware)
    r0 = int(constant("switch_radix_ports"))
    r = r0 if radix is None else V.integer("radix", radix, lo=4, hi=4096)
    o = parameters(catalog.accelerator(hw.accelerator).name)["optics_per_gpu"].value if optics_per_gpu is None \
        else V.bounded("optics_per_gpu", optics_per_gpu)
    ref = _reference_scenario().hardware
    per_cable = o / (link_counts(ref, r0)["total"] / ref.world_size)      # transceivers per cable
    return {"nics_per_gpu": hw.nics_per_node / hw.gpus_per_node,
            "switch_ports_per_gpu": (switch_counts(hw, r)["total"] * r / hw.world_size
                                     * hw.nic_spec.line_rate_bps / constant("switch_port_price_bps")),
            "optics_per_gpu": (per_cable * link_counts(hw, r)["total"] / hw.world_size
                               * optics_price_ratio(hw.nic_spec.line_rate_bps))}


FABRIC_COUNTS = ("nics_per_gpu", "switch_ports_per_gpu", "optics_per_gpu")
"""The network counts per GPU that a cluster's own fabric sets (:func:`fabric_network_counts`)."""


def fabric_count_factors(hardware: Any, radix: int | None = None) -> tuple[dict[str, float], dict[str, float]]:
    """How a cluster's own fabric changes the drawn network counts of a Monte Carlo:
    ``(scale, zero)``, the one rule the Monte Carlos that price a whole cluster share
    (:func:`infra_lab.expansion.owned_quote` through ``owned_gpu_hour_quote(scale=...)``,
    :func:`~infra_lab.economics.deal_pnl`, ``monte_carlo_owned_cost(hardware=...)``), and
    :func:`~infra_lab.economics.tco` applies at the modes.

    parameters.csv's ``nics_per_gpu`` / ``switch_ports_per_gpu`` / ``optics_per_gpu`` rows (a
    mode and a range each) describe the reference fabric (ZAYA1's 128 nodes of MI300X,
    rails-only, whole switches: 48 x 64 ports / 1,024 GPUs = 3 ports per GPU). A cluster whose
    own fabric (:func:`fabric_network_counts`: every port of every switch it needs, whole
    switches bought) counts another figure per GPU has each draw of that count multiplied by
    its count / the row's mode (``scale``: the range keeps its relative width), or held at 0
    where the fabric has none of the item (``zero``: one node or one rack, a single scale-up
    domain, has no back-end switch, cable or optics). A count equal to the mode (to 1e-12) is
    in neither, so the reference cluster's draws are untouched.

    Examples
    --------
    >>> fabric_count_factors({"accelerator": "MI300X", "nodes": 128, "fabric": "rails-only"})
    ({}, {})
    >>> fabric_count_factors({"accelerator": "MI300X", "nodes": 2, "fabric": "rails-only"})[0]["switch_ports_per_gpu"]
    10.666666666666666
    >>> fabric_count_factors({"accelerator": "MI300X", "nodes": 1})[1]
    {'switch_ports_per_gpu': 0.0, 'optics_per_gpu': 0.0}
    """
    from ..fabric import hardware_config

    hw = hardware_config(hardware)
    P = parameters(catalog.accelerator(hw.accelerator).name)
    counts = fabric_network_counts(hw, radix)
    differ = {k: c for k, c in counts.items() if not math.isclose(c, P[k].value, rel_tol=1e-12)}
    return ({k: c / P[k].value for k, c in differ.items() if c != 0.0},
            {k: 0.0 for k, c in differ.items() if c == 0.0})


def optics_price_ratio(line_rate_bps: float) -> float:
    """Price of an optical transceiver at ``line_rate_bps`` [bit/s] over that of the module
    ``optics_usd`` prices (parameters.csv's mode, a 400G module: ``switch_port_price_bps``) [-]:
    the ratio of the midpoints of data/economics/network_costs.csv's transceiver rows at the two
    line rates (800G OSFP-DR8 1,100-1,400 USD against 400G QSFP-DD 600-800: 1.79). A line rate
    with no transceiver row (200G, 1.6T) is priced as the 400G module (ratio 1): APPROXIMATE.

    Parameters
    ----------
    line_rate_bps : an optical transceiver's line rate [bit/s], e.g. 800e9

    Examples
    --------
    >>> round(optics_price_ratio(800e9), 4)
    1.7857
    >>> optics_price_ratio(400e9)
    1.0
    """
    rate = V.positive("line_rate_bps", line_rate_bps, hi=1e14)
    mid, base = _transceiver_midpoints()
    return mid.get(round(rate), base) / base


@functools.cache
def _transceiver_midpoints() -> tuple[dict[int, float], float]:
    """({line rate [bit/s]: midpoint price [USD]} of network_costs.csv's transceiver rows, the
    midpoint at ``switch_port_price_bps``), read once."""
    from ..fabric import constant
    from .data import network_costs

    mid = {round(r["line_rate_gbps"] * 1e9): (r["usd_low"] + r["usd_high"]) / 2
           for r in network_costs().iter_rows(named=True) if r["unit"] == "transceiver" and r["line_rate_gbps"] is not None}
    return mid, mid[round(constant("switch_port_price_bps"))]


# --------------------------------------------------------------------------------------
# Rent vs own
# --------------------------------------------------------------------------------------
def rental_cost_per_gpu_hour(price_usd_per_gpu_hour: float, utilization: float = 1.0,
                             committed: bool = False) -> float:
    """Cost of one useful rented GPU-hour [USD].

    On-demand capacity is paid only while used (cost = price); committed capacity (reserved,
    1- or 3-year terms, a dedicated contract) is paid for every hour: price / utilization.

    Examples
    --------
    >>> import infra_lab as il
    >>> il.economics.rental_cost_per_gpu_hour(2.0, 0.5)                  # on demand: the price
    2.0
    >>> il.economics.rental_cost_per_gpu_hour(2.0, 0.5, committed=True)  # paid every hour
    4.0
    """
    p = V.positive("price_usd_per_gpu_hour", price_usd_per_gpu_hour, hi=1e4)
    u = V.fraction("utilization", utilization)
    return p / u if V.boolean("committed", committed) else p


def break_even_utilization(rental_usd_per_gpu_hour: float, accelerator: str = "MI300X", *,
                           depreciation: str = "straight-line", network: str = "per-port",
                           **overrides: float) -> float:
    """Utilization above which owning costs less per useful GPU-hour than renting ON DEMAND.

    Owning costs F/U + E per useful hour (F: fixed cost per calendar hour, E: energy per
    busy hour); on-demand renting costs P. Break-even U* = F / (P - E). For a committed
    price (paid every hour) the comparison is different: use :func:`rent_vs_own`.

    Parameters
    ----------
    rental_usd_per_gpu_hour : the on-demand rent to beat [USD per GPU-hour], > 0 (e.g.
        il.economics.rented_gpu_hour_price('MI300X'))

    Returns
    -------
    float : U* [fraction]. A value > 1 means renting is cheaper at any utilization;
        ``math.inf`` when P <= E (energy alone costs more than the rent).

    Examples
    --------
    >>> import infra_lab as il
    >>> u = il.economics.break_even_utilization(3.0, "MI300X")   # own beats $3/GPU-h on demand above u
    >>> r = il.economics.rent_vs_own(3.0, "MI300X")
    >>> u == r.threshold_utilization
    True
    """
    from ._validate import bounded

    bounded("rental_usd_per_gpu_hour", rental_usd_per_gpu_hour)   # named as given, before rent_vs_own's check
    r = rent_vs_own(rental_usd_per_gpu_hour, accelerator, committed=False, depreciation=depreciation,
                    network=network, **overrides)
    return r.threshold_utilization


@dataclass(frozen=True)
class RentOrOwn(Printout):
    """Owning vs renting at one price, for the renter's decision (e.g. Zyphra's).

    ``owning_wins``: "above" (owning is cheaper above ``threshold_utilization``; on-demand
    prices), "below" (cheaper below it; committed prices with a large energy share),
    "always" (at every utilization in (0, 1]) or "never". ``text`` says it in words.
    """

    price_usd_per_gpu_hour: float
    committed: bool
    owned_fixed_usd_per_calendar_hour: float
    owned_energy_usd_per_busy_hour: float
    owning_wins: str
    threshold_utilization: float
    text: str


def rent_vs_own(price_usd_per_gpu_hour: float | str, accelerator: str = "MI300X", *, committed: bool = False,
                depreciation: str = "straight-line", network: str = "per-port",
                **overrides: float) -> RentOrOwn:
    """Where owning beats renting at ``price``, on-demand or committed, stated correctly.

    On demand: rent P per useful hour; own F/U + E: owning wins above U* = F / (P - E).
    Committed (paid every hour): rent P/U; own F/U + E: owning wins where F + E U < P, i.e.
    at every U in (0, 1] when F + E < P, never when F >= P, else below U = (P - F)/E.

    ``price_usd_per_gpu_hour`` is the rent P [USD/GPU-h], or "rented" for the economics model's
    rent of ``accelerator`` (:func:`infra_lab.serving.price_for`: the median of the providers'
    current on-demand prices), the name ``run_cost`` and ``il.serve``'s costs take; "owned" is
    refused (owning is the other side of this comparison).

    Examples
    --------
    >>> import infra_lab as il
    >>> r = il.economics.rent_vs_own(3.0, "MI300X")
    >>> r.owning_wins in ("above", "below", "always", "never"), r.committed
    (True, False)
    >>> from infra_lab.serving import price_for
    >>> il.economics.rent_vs_own("rented", "MI300X").price_usd_per_gpu_hour == price_for("MI300X", "rented")
    True
    """
    p = _rent_arg(price_usd_per_gpu_hour, accelerator)
    committed = V.boolean("committed", committed)
    if "utilization" in overrides:
        raise ValidationError("rent_vs_own: utilization is the answer here, not an input; leave it out")
    c = owned_cost_per_gpu_hour(accelerator, depreciation=depreciation, network=network,
                                utilization=1.0, **overrides)
    F, E = c.fixed_usd_per_calendar_hour, c.energy_usd_per_gpu_hour
    if not committed:
        if p <= E:
            kind, u = "never", math.inf
        else:
            u = F / (p - E)
            kind = "above" if u <= 1.0 else "never"
        text = (f"owning beats ${p:.2f} on demand above {u:.0%} utilization" if kind == "above"
                else f"renting at ${p:.2f} on demand is cheaper at any utilization")
    else:
        if F + E < p:
            kind, u = "always", 1.0
            text = f"owning beats a ${p:.2f} commitment at every utilization (F + E = ${F + E:.2f} < P)"
        elif F >= p:
            kind, u = "never", 0.0
            text = f"a ${p:.2f} commitment beats owning at every utilization (F = ${F:.2f} >= P)"
        else:
            kind, u = "below", (p - F) / E
            text = f"owning beats a ${p:.2f} commitment below {u:.0%} utilization"
    return RentOrOwn(p, committed, F, E, kind, u, text)


def _rent_arg(price: Any, accelerator: Any) -> float:
    """rent_vs_own's rent [USD/GPU-h]: a number, or "rented" read by the one reader of a price by
    name (:func:`infra_lab.serving.price_for`)."""
    if isinstance(price, str):
        if price.strip().lower() == "owned":
            raise ValidationError(
                "price_usd_per_gpu_hour = 'owned': rent_vs_own compares a rent with owning, so the price is "
                "the rent; give it as a number [USD/GPU-h] or 'rented' (the median current on-demand rent "
                "of the accelerator); owning's cost is owned_cost_per_gpu_hour(accelerator)")
        from ..serving.costs import price_for

        return price_for(V.accelerator(accelerator), price)
    try:
        return V.positive("price_usd_per_gpu_hour", price, hi=1e4)   # numbers, numpy scalars, 0-d arrays
    except ValidationError:
        if isinstance(price, (int, float, np.number, np.ndarray)):   # a number refused: its own message
            raise
        raise ValidationError(   # an object (an Estimate given as the price): cut, its type named, not its whole repr
            f"price_usd_per_gpu_hour = {short_repr(price)}: expected a rent [USD/GPU-h] or 'rented' "
            "(the median current on-demand rent of the accelerator)") from None


def rent_vs_own_curve(rentals: Mapping[str, float], accelerator: str = "MI300X",
                      utilizations: Iterable[float] | None = None, *,
                      depreciation: str = "straight-line", network: str = "per-port",
                      committed: Iterable[str] = (), **overrides: float) -> pl.DataFrame:
    """Cost per useful GPU-hour against utilization, for owning and for each rental price.

    Parameters
    ----------
    rentals : label -> price [USD per GPU-hour]
    utilizations : grid in (0, 1] (default 0.20 .. 1.00); ``utilization`` itself is refused as an
        override (it is the x axis), as :func:`rent_vs_own` refuses it
    committed : labels of ``rentals`` paid for every hour (cost = price / U)

    Returns
    -------
    polars DataFrame: utilization, option (the owned curve's is "own <accelerator> (point
    estimate)": the owned cost at these inputs, not a Monte Carlo P50), kind ("own" | "rent on
    demand" | "rent committed"), usd_per_gpu_hour

    Examples
    --------
    >>> import infra_lab as il
    >>> df = il.economics.rent_vs_own_curve({"on-demand": 3.0}, "MI300X", [0.5, 1.0])
    >>> df.columns
    ['utilization', 'option', 'kind', 'usd_per_gpu_hour']
    """
    import polars as pl

    if not isinstance(rentals, Mapping) or not rentals:
        raise ValidationError(f"rentals = {rentals!r}: expected a non-empty dict label -> price")
    grid = [V.fraction("utilization", u) for u in (sequence("utilizations", utilizations, "utilizations in (0, 1]")
                                                   if utilizations is not None
                                                   else [x / 100 for x in range(20, 101, 2)])]
    if not grid:   # a frame with no rows and no columns
        raise ValidationError(f"utilizations = {utilizations!r}: expected at least one utilization in (0, 1]")
    committed = set(sequence("committed", committed, "rental labels"))
    for lab in committed:
        if lab not in rentals:
            raise unknown("committed label", lab, rentals)
    if "utilization" in overrides:   # it was dropped without a word: the curve sweeps it (utilizations=)
        raise ValidationError(f"rent_vs_own_curve: utilization = {overrides['utilization']!r} is the curve's x axis, "
                              "not an input; pass the grid as utilizations=[...] or leave it out")
    base = owned_cost_per_gpu_hour(accelerator, depreciation=depreciation, network=network,
                                   utilization=1.0, **overrides)
    F, E = base.fixed_usd_per_calendar_hour, base.energy_usd_per_gpu_hour
    rows = []
    for u in grid:
        rows.append({"utilization": u, "option": f"own {base.accelerator} (point estimate)", "kind": "own",
                     "usd_per_gpu_hour": F / u + E})
        for label, price in rentals.items():
            com = label in committed
            rows.append({"utilization": u, "option": label, "kind": "rent committed" if com else "rent on demand",
                         "usd_per_gpu_hour": rental_cost_per_gpu_hour(price, u, com)})
    return pl.DataFrame(rows)


def cluster_power(n_gpus: int, accelerator: str = "MI300X", **overrides: float) -> dict[str, float]:
    """Power of a cluster of ``n_gpus`` billed GPUs [W]: GPU boards at TDP, provisioned IT
    (servers at TDP x server ratio, the hot spares' servers included, as the colocation charge
    of :func:`owned_components` counts them), average IT draw and facility draw (x PUE) of the
    billed GPUs while busy, and ``spare_gpus`` [-] (``n_gpus`` x ``spare_fraction``).

    What a hot spare draws is said in one place (``_spare_power``): provisioned in full, its
    idle draw left out of the average (a labelled ASSUMPTION).

    Parameters
    ----------
    n_gpus : the cluster's billed GPUs [-], a positive integer

    Examples
    --------
    >>> import infra_lab as il
    >>> p = il.economics.cluster_power(1024, "MI300X")
    >>> sorted(p)
    ['facility_average_W', 'gpu_tdp_W', 'it_average_W', 'it_provisioned_W', 'spare_gpus']
    """
    n = V.integer("n_gpus", n_gpus, lo=1, hi=10_000_000)
    v = owned_inputs(accelerator, overrides)
    prov, drawn = _spare_power(n * v["tdp_W"] * v["server_power_ratio"], v)
    return {"gpu_tdp_W": n * v["tdp_W"], "spare_gpus": n * v["spare_fraction"], "it_provisioned_W": prov,
            "it_average_W": drawn * v["avg_power_fraction"],
            "facility_average_W": drawn * v["avg_power_fraction"] * v["pue"]}
