"""Economics data: parameters with ranges, purchase prices, lives, company facts, Epoch's
hardware-price records and the one cloud-price lookup.

Every number the economics models use is a row of a CSV under ``data/economics/`` (or the
catalog's ``data/cloud_prices.csv``) with a unit, a grade and a ``source_url``; code reads
these tables and never retypes a value.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from functools import cache

import numpy as np
import polars as pl

from .. import catalog
from ..catalog import Col
from ..errors import ValidationError, unknown, user_stacklevel
from ..units import HOUR, YEAR
from . import _validate as V

__all__ = [
    "HOURS_PER_YEAR", "HOURS_PER_MONTH", "EPOCH_ATTRIBUTION", "DISTRIBUTIONS", "BASES", "HOST_INCLUDED_BASES", "Param",
    "parameter_table", "parameters", "parameter", "PARAMETER_COLUMNS", "defaults", "purchase_prices", "purchase_price",
    "electricity_prices", "useful_life_policies", "network_costs", "company_facts", "company_fact", "tco_benchmarks",
    "epoch_hardware_prices", "epoch_rental_series", "rental_trend", "rental_prices", "rental_price",
    "cloud_price", "cloud_price_rows", "commitment_pairs", "commitment_ratio", "contract_default", "software_stack", "NoPurchasePriceError", "REFERENCE_SCENARIO",
]

HOURS_PER_YEAR = YEAR / HOUR
"""Hours in a year [h] (365.25 days = 8,766 h; Epoch's constant)."""
HOURS_PER_MONTH = HOURS_PER_YEAR / 12.0
"""Hours in an average month [h]."""

EPOCH_ATTRIBUTION = (
    "Data: Epoch AI, 'Hardware prices', training-cost-trends "
    "(https://github.com/epoch-research/training-cost-trends), CC-BY 4.0"
)
"""Attribution required wherever Epoch's hardware-price data is shown or redistributed."""

DISTRIBUTIONS = ("triangular", "lognormal")
"""Monte Carlo distributions a parameter row may name."""
_BASES_PARAM = ("measured", "reported", "derived", "fitted", "assumption", "simulated")
"""Bases of a parameter row: ``reported`` is a figure a third party relays (trade press, an
analyst's estimate read through a relay), not observed by the row's source itself (``measured``)."""
BASES = ("server", "baseboard", "single", "rack", "asp", "asp-low", "asp-high")
"""Purchase-price bases: server (host included), baseboard (8 GPUs on a board, no host),
single (one module), rack (rack-scale system incl. CPUs and scale-up switches), asp
(analyst average selling price, GPU only; -low/-high the ends of a published range)."""
HOST_INCLUDED_BASES = ("server", "rack")
"""The purchase-price bases whose price already includes the host (CPUs, memory, chassis):
an owned cost on such a price adds no ``host_usd_per_gpu`` of its own."""

_ECON_DIR = catalog.DATA_DIR / "economics"
_SCHEMAS: dict[str, dict[str, Col]] = {
    "parameters": {
        "name": Col("str", required=True), "scope": Col("str", required=True),
        "value": Col("float"), "low": Col("float"),
        "high": Col("float"), "unit": Col("str", required=True),
        "distribution": Col("str", required=True, choices=DISTRIBUTIONS),
        "label": Col("str", required=True), "description": Col("str", required=True),
        "basis": Col("str", required=True, choices=_BASES_PARAM), "grade": Col("str", required=True),
        "linked": Col("str"),
    },
    "purchase_prices": {
        "accelerator": Col("str", required=True), "basis": Col("str", required=True, choices=BASES),
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
        "line_rate_gbps": Col("float", positive=True),
        "usd_low": Col("float", required=True, positive=True),
        "usd_high": Col("float", required=True, positive=True),
        "date": Col("date", required=True), "grade": Col("str", required=True),
    },
    "tco_benchmarks": {
        "entity": Col("str", required=True), "accelerator": Col("str", required=True),
        "usd_per_gpu_hour": Col("float", required=True, positive=True), "date": Col("date", required=True),
        "scope": Col("str", required=True), "grade": Col("str", required=True),
    },
    "company_facts": {
        "entity": Col("str", required=True), "metric": Col("str", required=True),
        "value": Col("float", required=True, positive=True), "unit": Col("str", required=True),
        "period": Col("str", required=True), "grade": Col("str", required=True),
    },
}


class NoPurchasePriceError(ValidationError):
    """No public purchase price for an accelerator: pass ``capex_usd_per_gpu=...``."""


@cache
def _econ_table(name: str):
    return catalog.read_table(_ECON_DIR / f"{name}.csv", _SCHEMAS[name])


# --------------------------------------------------------------------------------------
# Parameters
# --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Param:
    """One sourced model input: default ``value`` with a ``low``/``high`` range [``unit``].

    ``label`` is the human name with its unit for tables and charts ("GPU purchase price
    [USD per GPU]"); ``basis`` says how the value was obtained (measured, derived, fitted,
    assumption); ``grade`` grades the source (P primary, T transcribed price page, S
    secondary, D derived, A assumption).
    """

    name: str
    scope: str
    value: float
    low: float
    high: float
    unit: str
    distribution: str
    label: str
    description: str
    basis: str
    grade: str
    source_url: str
    note: str

    @property
    def mean(self) -> float:
        """Mean of the Monte Carlo distribution (see ``uncertainty.distribution_mean``)."""
        from .uncertainty import distribution_mean

        return distribution_mean(self.low, self.value, self.high, self.distribution)


def _hot_spare_fraction() -> float:
    from ..reliability.checkpoint import hot_spare_fraction

    return hot_spare_fraction()


_OWNED_ELSEWHERE = {"spare_fraction": _hot_spare_fraction}
"""Rows of parameters.csv whose blank ``value`` (and ``high``) another model owns:
``spare_fraction`` is the reliability model's hot-spare pool
(:func:`infra_lab.reliability.hot_spare_fraction`, 8 spare nodes per 128 in use), so the
spares the restart model swaps in are the spares the owned cost buys, powers and houses."""


_LINK_TABLES = {
    "purchase_prices": (("accelerator", "basis", "date"), "price_usd_per_gpu", "USD per GPU"),
    "cloud_prices": (("accelerator", "provider", "term"), "price_usd_per_gpu_hour", "USD per GPU-hour"),
    "network_costs": (("item",), None, None),
}
"""Tables a parameters.csv cell may be read from (its ``linked`` column): table -> (the key
columns a link names, in order, the price column, the unit that column is in). The first key
of a table with a unit is the accelerator, which must be the row's own (``scope``);
network_costs.csv prices an item, not a part: its ``usd_low`` feeds a linked low and its
``usd_high`` a linked high (a value links only as the midpoint of those)."""
_LINK_COLUMNS = ("value", "low", "high")
_MIDPOINT = "midpoint"
"""A ``linked`` entry ``value=midpoint``: the mode is the mean of the row's low and high."""


def _link_table(table: str):
    return {"purchase_prices": purchase_prices, "cloud_prices": catalog.cloud_prices,
            "network_costs": network_costs}[table]()


def _linked_cells(row: dict, i: int) -> dict[str, float]:
    """The cells a parameters.csv row reads from another table (its ``linked`` column).

    ``linked`` holds ``;``-separated entries ``column=table:key1/key2/key3[/url part]``: column
    is value, low or high; table is one of :data:`_LINK_TABLES`; the keys are that table's
    key columns (purchase_prices: accelerator/basis/date; cloud_prices:
    accelerator/provider/term; network_costs: item, whose usd_low / usd_high feed low / high),
    the optional last part a piece of the row's source_url that tells apart two rows with the
    same keys; ``value=midpoint`` takes the mean of the row's low and high. The link must find
    exactly one row (for a priced part, of the parameter's own accelerator, its ``scope``, and
    unit), and the linked cell must be blank in parameters.csv: a source figure is typed once,
    in the table that records it with its date and source."""
    import polars as pl

    where = f"parameters.csv, row {i} ({row['name']}, {row['scope']})"
    out: dict[str, float] = {}
    mid = False
    for entry in (e.strip() for e in (row.get("linked") or "").split(";")):
        if not entry:
            continue
        col, _, ref = (x.strip() for x in entry.partition("="))
        if col not in _LINK_COLUMNS or not ref:
            raise ValidationError(f"{where}: linked entry {entry!r}: expected column=table:keys with column "
                                  f"one of {', '.join(_LINK_COLUMNS)}")
        if row[col] is not None:
            raise ValidationError(f"{where}: {col} = {row[col]} is typed and also linked ({ref}); "
                                  f"leave the cell blank: the linked table owns the figure")
        if ref == _MIDPOINT:
            if col != "value":
                raise ValidationError(f"{where}: linked entry {entry!r}: only value may be the midpoint")
            mid = True
            continue
        table, _, keys = ref.partition(":")
        if table not in _LINK_TABLES:
            raise unknown("linked table", table, _LINK_TABLES, where=where)
        key_cols, price_col, unit = _LINK_TABLES[table]
        parts = [k.strip() for k in keys.split("/")]
        if len(parts) not in (len(key_cols), len(key_cols) + 1):
            raise ValidationError(f"{where}: linked entry {entry!r}: expected {table}:"
                                  f"{'/'.join(key_cols)}[/part of source_url]")
        if unit is not None and parts[0] != row["scope"]:
            raise ValidationError(f"{where}: linked entry {entry!r} names {parts[0]}, not the row's own "
                                  f"accelerator {row['scope']}")
        if unit is not None and row["unit"] != unit:
            raise ValidationError(f"{where}: unit {row['unit']!r} but {table}.{price_col} is in {unit!r}")
        if price_col is None:                   # network_costs: the item's low or high price
            if col == "value":
                raise ValidationError(f"{where}: linked entry {entry!r}: {table} gives a low and a high "
                                      f"price; link low and high, and value=midpoint")
            price_col = f"usd_{col}"
        t = _link_table(table)
        for c, k in zip(key_cols, parts, strict=False):
            t = t.filter(pl.col(c).cast(pl.Utf8) == k)
        if len(parts) > len(key_cols):
            t = t.filter(pl.col("source_url").str.contains(parts[-1], literal=True))
        if t.height != 1:
            raise ValidationError(f"{where}: linked entry {entry!r} matches {t.height} rows of {table}.csv; "
                                  f"it must name exactly one")
        out[col] = float(t[price_col][0])
    if mid:
        lo, hi = out.get("low", row["low"]), out.get("high", row["high"])
        if lo is None or hi is None:
            raise ValidationError(f"{where}: value=midpoint needs low and high")
        out["value"] = (lo + hi) / 2
    return out


@cache
def parameter_table():
    """Every economics parameter (``data/economics/parameters.csv``) as a polars DataFrame:
    name, scope (``all``, a vendor ``AMD``/``NVIDIA`` or a catalog accelerator), value, low,
    high, unit, distribution, label, description, basis, grade, source_url, note, linked. A row
    of :data:`_OWNED_ELSEWHERE` with a blank value (and high) takes the owning model's value; a
    cell named in the row's ``linked`` column is read from the table that records that price
    (``purchase_prices.csv``, ``data/cloud_prices.csv``: :func:`_linked_cells`), so the figure
    is typed once. Checked on load: low <= value <= high, and a lognormal row has low > 0."""
    import polars as pl

    t = _econ_table("parameters")
    for name, owner in _OWNED_ELSEWHERE.items():   # blank value / high: the other model's value
        v = owner()
        t = t.with_columns(*(pl.when((pl.col("name") == name) & pl.col(c).is_null()).then(pl.lit(v))
                             .otherwise(pl.col(c)).alias(c) for c in ("value", "high")))
    rows = list(t.iter_rows(named=True))
    for i, r in enumerate(rows, start=1):          # linked cells: read from the owning table
        r.update(_linked_cells(r, i))
    t = pl.DataFrame(rows, schema=t.schema)
    for i, r in enumerate(t.iter_rows(named=True), start=1):
        for c in ("value", "low", "high"):
            if r[c] is None:
                raise ValidationError(
                    f"parameters.csv, row {i} ({r['name']}, {r['scope']}): {c} is blank; only "
                    f"{', '.join(_OWNED_ELSEWHERE)} may leave it blank (their value is owned elsewhere) "
                    f"or a cell named in the row's linked column")
        if not (r["low"] <= r["value"] <= r["high"]):
            raise ValidationError(
                f"parameters.csv, row {i} ({r['name']}, {r['scope']}): need low <= value <= high, "
                f"got {r['low']} <= {r['value']} <= {r['high']}")
        if r["distribution"] == "lognormal" and r["low"] <= 0:
            raise ValidationError(f"parameters.csv, row {i} ({r['name']}): lognormal needs low > 0")
    return t


def _param_of(row: dict) -> Param:
    """A parameters.csv row (a dict of its columns) as a Param, blank text fields as ""."""
    return Param(**{k: (row[k] if row[k] is not None else "") for k in Param.__dataclass_fields__})


@cache
def _parameters(canon: str) -> dict[str, Param]:
    vendor = catalog.accelerator(canon).vendor
    out: dict[str, Param] = {}
    rank: dict[str, int] = {}
    for r in parameter_table().iter_rows(named=True):
        level = {"all": 0, vendor: 1, canon: 2}.get(r["scope"])
        if level is None or level < rank.get(r["name"], -1):
            continue
        rank[r["name"]] = level
        out[r["name"]] = _param_of(r)
    return out


PARAMETER_COLUMNS = ("name", "value", "unit", "basis", "source_url", "note", "scope", "low", "high",
                     "distribution", "label", "description", "grade")
"""Columns of ``parameters(accelerator, as_frame=True)``: the first six are those of
:func:`infra_lab.reliability.parameters` and :func:`infra_lab.expansion.parameters`, in their
order, so an analyst reads every module's parameters as one kind of frame."""


def parameters(accelerator: str = "MI300X", *,
               as_frame: bool = False) -> dict[str, Param] | pl.DataFrame:
    """Parameters for one accelerator: a row scoped to the accelerator (canonical catalog
    name) overrides one scoped to its vendor, which overrides the ``all`` row of that name.

    Returns a dict name -> :class:`Param` (the default, kept for existing callers), or with
    ``as_frame=True`` a polars DataFrame of the same rows, one per name, with the columns of
    :data:`PARAMETER_COLUMNS`: name, value, unit, basis, source_url, note first, as
    ``il.reliability.parameters()`` and ``il.expansion.parameters()`` return theirs (which
    are frames already), then scope, low, high, distribution, label, description, grade.
    :func:`parameter` gives one value, as ``il.reliability.parameter`` does.

    An accelerator without a public purchase price has no ``capex_usd_per_gpu`` entry
    (see :func:`purchase_price`).

    Examples
    --------
    >>> parameters("MI300X")["capex_usd_per_gpu"].label
    'GPU purchase price [USD per GPU]'
    >>> f = parameters("MI300X", as_frame=True)
    >>> f.columns[:6], f.filter(f["name"] == "capex_usd_per_gpu")["unit"].item()
    (['name', 'value', 'unit', 'basis', 'source_url', 'note'], 'USD per GPU')
    """
    if not isinstance(as_frame, bool):
        raise ValidationError(f"as_frame = {as_frame!r}: expected True or False")
    params = dict(_parameters(V.accelerator(accelerator)))
    if not as_frame:
        return params
    import polars as pl

    text = pl.String
    schema = {c: (pl.Float64 if c in ("value", "low", "high") else text) for c in PARAMETER_COLUMNS}
    return pl.DataFrame([{c: getattr(p, c) for c in PARAMETER_COLUMNS} for p in params.values()],
                        schema=schema, orient="row")


def parameter(name: str, accelerator: str = "MI300X") -> float:
    """One parameter's default value for one accelerator, in the unit its row states
    (:func:`parameters`' resolution: accelerator row, else vendor row, else ``all``), as
    ``il.reliability.parameter(name)`` reads that module's. An unknown name is refused with
    the nearest valid names.

    Parameters
    ----------
    name : a parameter's name in data/economics/parameters.csv (il.economics.parameters(accelerator)
        lists them, e.g. 'capex_usd_per_gpu')

    Examples
    --------
    >>> parameter("capex_usd_per_gpu", "MI300X") == parameters("MI300X")["capex_usd_per_gpu"].value
    True
    """
    if not isinstance(name, str):
        raise ValidationError(f"parameter name = {name!r}: expected a string, one of the names of "
                              "data/economics/parameters.csv (il.economics.parameters(accelerator))")
    params = _parameters(V.accelerator(accelerator))
    if name not in params:
        raise unknown(f"economics parameter for {V.accelerator(accelerator)}", name, params)
    return float(params[name].value)


def defaults(accelerator: str = "MI300X") -> dict[str, float]:
    """Default values (name -> value) for one accelerator, from :func:`parameters`.

    Examples
    --------
    >>> import infra_lab as il
    >>> d = il.economics.defaults("MI300X")
    >>> d["capex_usd_per_gpu"] == il.economics.parameters()["capex_usd_per_gpu"].value
    True
    """
    return {k: p.value for k, p in parameters(accelerator).items()}


def _all_scope(name: str) -> float:
    """The value of parameters.csv's ``all``-scope row ``name``: the default of the calls that
    take no accelerator (the value curves), so the table is its one owner."""
    rows = [r["value"] for r in parameter_table().iter_rows(named=True)
            if r["name"] == name and r["scope"] == "all"]
    if len(rows) != 1:
        raise ValidationError(f"parameters.csv: expected one 'all' row of {name}, found {len(rows)}")
    return float(rows[0])


REFERENCE_SCENARIO = "zaya1-ibm-mi300x"
"""The shipped scenario whose cluster is the economics calls' default size (``n_gpus``,
``nodes`` of :func:`~infra_lab.economics.tco`, ``deal_pnl``, ``zyphra_bill``): ZAYA1's
cluster on IBM Cloud, 128 nodes x 8 MI300X (data/scenarios/zaya1-ibm-mi300x.toml, sourced
there)."""


@cache
@cache
def _reference_scenario():
    """:data:`REFERENCE_SCENARIO`, loaded once: the one reader of the shipped scenario behind the
    economics calls' default cluster, the network price's reference fabric and
    :func:`infra_lab.memory.memory_sweep`'s defaults."""
    from ..scenario import load_scenario

    return load_scenario(REFERENCE_SCENARIO, check_plan=False)


def _reference_cluster() -> tuple[int, int]:
    """(GPUs, nodes) of :data:`REFERENCE_SCENARIO`'s hardware: the one owner of the economics
    calls' default cluster size."""
    hw = _reference_scenario().hardware
    return hw.world_size, hw.nodes


def _no_price(canon: str) -> NoPurchasePriceError:
    priced = sorted({r["scope"] for r in parameter_table().iter_rows(named=True)
                     if r["name"] == "capex_usd_per_gpu"})
    return NoPurchasePriceError(
        f"capex_usd_per_gpu: no public purchase price for {canon} in data/economics "
        f"(priced: {', '.join(priced)}). Pass one, e.g. "
        f"owned_cost_per_gpu_hour({canon!r}, capex_usd_per_gpu=40000.0) [USD per GPU, "
        f"GPU-only or board price; add host_usd_per_gpu=... for the server], or "
        f"monte_carlo_owned_cost(..., accelerator={canon!r}, fixed={{'capex_usd_per_gpu': 40000.0}})")


# --------------------------------------------------------------------------------------
# Tables
# --------------------------------------------------------------------------------------
def purchase_prices() -> pl.DataFrame:
    """Dated purchase prices per GPU (and per server/board/rack where published), one source
    per row (``data/economics/purchase_prices.csv``); ``basis`` is one of :data:`BASES`.

    Examples
    --------
    >>> import infra_lab as il
    >>> il.economics.purchase_prices().columns[:3]
    ['accelerator', 'basis', 'price_usd_per_gpu']
    """
    return _econ_table("purchase_prices")


def purchase_price(accelerator: str, basis: str | tuple[str, ...] = "baseboard") -> dict:
    """The newest listed purchase price of ``accelerator`` on ``basis`` [USD per GPU].

    Used for like-for-like comparisons: the same channel (e.g. distributors' 8-GPU baseboard
    listings) for every accelerator.

    Returns
    -------
    dict: price_usd_per_gpu, basis, date, grade, source_url

    Raises
    ------
    NoPurchasePriceError when no row of that basis exists, naming the bases that do.

    Examples
    --------
    >>> import infra_lab as il
    >>> p = il.economics.purchase_price("MI300X")
    >>> sorted(p), p["basis"]
    (['basis', 'date', 'grade', 'price_usd_per_gpu', 'source_url'], 'baseboard')
    """
    import polars as pl

    canon = V.accelerator(accelerator)
    if not isinstance(basis, (str, list, tuple)):
        raise ValidationError(f"basis = {basis!r}: expected one of {', '.join(BASES)} or a list of them")
    bases = (basis,) if isinstance(basis, str) else tuple(basis)
    for b in bases:
        V.choice("basis", b, BASES)
    t = purchase_prices().filter(pl.col("accelerator") == canon)
    hit = t.filter(pl.col("basis").is_in(list(bases))).sort("date", descending=True)
    if hit.height == 0:
        have = sorted(set(t["basis"].to_list()))
        raise NoPurchasePriceError(
            f"purchase_price: no {'/'.join(bases)} price for {canon} in purchase_prices.csv "
            f"(bases listed: {', '.join(have) if have else 'none'}); pass a price explicitly")
    r = hit.row(0, named=True)
    return {k: r[k] for k in ("price_usd_per_gpu", "basis", "date", "grade", "source_url")}


def electricity_prices() -> pl.DataFrame:
    """Electricity prices by region and sector [USD per kWh] (``electricity_prices.csv``).

    Examples
    --------
    >>> import infra_lab as il
    >>> "usd_per_kWh" in il.economics.electricity_prices().columns
    True
    """
    return _econ_table("electricity_prices")


def useful_life_policies() -> pl.DataFrame:
    """Depreciation lives from filings (IBM, CoreWeave, Microsoft, Alphabet, Amazon, Meta,
    Nebius), a critique and Epoch's economic decay [years] (``useful_life.csv``).

    Examples
    --------
    >>> import infra_lab as il
    >>> "life_years" in il.economics.useful_life_policies().columns
    True
    """
    return _econ_table("useful_life")


def network_costs() -> pl.DataFrame:
    """Published network component prices (switches, optics, NIC proxies) [USD].

    Examples
    --------
    >>> import infra_lab as il
    >>> il.economics.network_costs().columns[:4]
    ['item', 'unit', 'line_rate_gbps', 'usd_low']
    """
    return _econ_table("network_costs")


def company_facts() -> pl.DataFrame:
    """Company figures used to scale the deal (AMD, IBM revenue; IBM's generative-AI book;
    IBM's diluted shares and EPS) [the row's unit] (``company_facts.csv``): entity, metric, value, unit, period, grade, source_url, note.

    Examples
    --------
    >>> import infra_lab as il
    >>> il.economics.company_facts().columns[:5]
    ['entity', 'metric', 'value', 'unit', 'period']
    """
    return _econ_table("company_facts")


def tco_benchmarks() -> pl.DataFrame:
    """Published owned-TCO figures per GPU-hour from other analysts, for external cross-checks
    [USD per GPU-hour] (``tco_benchmarks.csv``): entity, accelerator, usd_per_gpu_hour, date,
    scope, grade, source_url, note.

    Examples
    --------
    >>> import infra_lab as il
    >>> "usd_per_gpu_hour" in il.economics.tco_benchmarks().columns
    True
    """
    return _econ_table("tco_benchmarks")


def company_fact(entity: str, metric: str, period: str | None = None) -> float:
    """One figure of :func:`company_facts` [its unit]; the newest period when ``period`` is None.

    Parameters
    ----------
    entity : a company as data/economics/company_facts.csv names it, e.g. 'AMD'
        (il.economics.company_facts() lists the rows)
    metric : one of the entity's metrics there, e.g. 'datacenter_revenue_usd'

    Examples
    --------
    >>> import infra_lab as il
    >>> v = il.economics.company_fact("AMD", "datacenter_revenue_usd", "FY2024")
    >>> v > 1e9
    True
    """
    import polars as pl

    t = company_facts()
    V.choice("entity", entity, sorted(set(t["entity"].to_list())))
    t = t.filter(pl.col("entity") == entity)
    V.choice("metric", metric, sorted(set(t["metric"].to_list())))
    t = t.filter(pl.col("metric") == metric)
    if period is not None:
        V.choice("period", period, sorted(set(t["period"].to_list())))
        t = t.filter(pl.col("period") == period)
    return float(t.sort("period", descending=True)["value"][0])


# --------------------------------------------------------------------------------------
# Epoch AI hardware prices
# --------------------------------------------------------------------------------------
@cache
def epoch_hardware_prices():
    """Epoch AI's "Hardware prices" dataset (``data/epoch_hardware_prices.csv``), tidy column
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
    t = catalog.read_table(catalog.DATA_DIR / "epoch_hardware_prices.csv", schema, require_source=False)
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


def epoch_rental_series(model_contains: str = "H100 SXM") -> pl.DataFrame:
    """Long frame of Epoch's cloud prices for hardware models containing ``model_contains``:
    date, hardware_model, provider, term ("on-demand" | "1-year" | "3-year"),
    price_usd_per_gpu_hour, source ("Epoch AI"), source_url. Sorted by date.

    Examples
    --------
    >>> import infra_lab as il
    >>> il.economics.epoch_rental_series("H100 SXM").columns
    ['date', 'hardware_model', 'provider', 'term', 'price_usd_per_gpu_hour', 'source', 'source_url']
    """
    import polars as pl

    if not isinstance(model_contains, str) or not model_contains:
        raise ValidationError(f"model_contains = {model_contains!r}: expected a non-empty string")
    t = epoch_hardware_prices().filter(pl.col("hardware_model").str.contains(model_contains, literal=True))
    if t.height == 0:
        raise unknown("Epoch hardware model (substring)", model_contains,
                      sorted(set(epoch_hardware_prices()["hardware_model"].to_list())))
    parts = []
    for col, term in (("on_demand_usd_per_gpu_hour", "on-demand"),
                      ("cud_1yr_usd_per_gpu_hour", "1-year"), ("cud_3yr_usd_per_gpu_hour", "3-year")):
        parts.append(t.filter(pl.col(col).is_not_null() & (pl.col(col) > 0)).select(
            "date", "hardware_model", pl.col("vendor").fill_null("").alias("provider"),
            pl.lit(term).alias("term"), pl.col(col).alias("price_usd_per_gpu_hour"),
            pl.lit("Epoch AI").alias("source"), "source_url"))
    return pl.concat(parts).sort("date", "provider", "term")


def rental_trend(model_contains: str = "H100 SXM") -> dict[str, float]:
    """Within-provider trend of listed rents in Epoch's records [change per year].

    A fixed-effects fit: log(price) = a[provider, term, model] + b * years, so only a
    provider's own list-price changes count (not the mix of cheap and dear providers).

    Returns
    -------
    dict: slope_per_year (b, in natural-log units), change_per_year (e^b - 1), se (standard
    error of b), rows (observations in groups with at least two dates), groups

    Notes
    -----
    Listed prices are sticky: hyperscalers kept H100 list prices for years while market
    (contract, neocloud) prices fell and then rose. The rent path of the operator view
    uses Epoch's *price-performance* decay instead (``depreciation_ooms_per_year``); this
    fit is shown as the contrast.

    Examples
    --------
    >>> import infra_lab as il
    >>> sorted(il.economics.rental_trend("H100 SXM"))
    ['change_per_year', 'groups', 'rows', 'se', 'slope_per_year']
    """
    import polars as pl

    s = epoch_rental_series(model_contains)
    s = s.with_columns(
        ((pl.col("date") - pl.date(2020, 1, 1)).dt.total_days() / 365.25).alias("t"),
        pl.col("price_usd_per_gpu_hour").log().alias("y"),
        pl.concat_str(["provider", "term", "hardware_model"], separator="|").alias("g"))
    s = s.with_columns((pl.col("t") - pl.col("t").mean().over("g")).alias("td"),
                       (pl.col("y") - pl.col("y").mean().over("g")).alias("yd"))
    s = s.filter(pl.col("td").abs() > 0)
    n, groups = s.height, s["g"].n_unique() if s.height else 0
    if n - groups < 2:
        raise ValidationError(f"rental_trend({model_contains!r}): too few repeated observations "
                              f"({n} rows in {groups} provider groups) to fit a trend")
    td, yd = s["td"].to_numpy(), s["yd"].to_numpy()
    b = float((td * yd).sum() / (td * td).sum())
    resid = yd - b * td
    se = float(math.sqrt((resid ** 2).sum() / max(n - groups - 1, 1) / (td * td).sum()))
    return {"slope_per_year": b, "change_per_year": math.exp(b) - 1.0, "se": se,
            "rows": float(n), "groups": float(groups)}


# --------------------------------------------------------------------------------------
# Cloud prices (the catalog's price table)
# --------------------------------------------------------------------------------------
def rental_prices(accelerator: str | None = None, provider: str | None = None,
                  term: str | None = None) -> pl.DataFrame:
    """Cloud prices from the catalog's price table, filtered, newest first.

    Parameters
    ----------
    accelerator : catalog name or alias (None: all)
    provider : provider name, case-insensitive (None: all)
    term : "on-demand" | "1-year" | "3-year" | "spot" | "reserved" (None: all)

    Returns
    -------
    polars DataFrame with the columns of ``il.catalog.cloud_prices()``

    Examples
    --------
    >>> import infra_lab as il
    >>> df = il.economics.rental_prices("MI300X", term="on-demand")
    >>> set(df["accelerator"]), set(df["term"])
    ({'MI300X'}, {'on-demand'})
    """
    import polars as pl

    t = catalog.cloud_prices()
    if accelerator is not None:
        t = t.filter(pl.col("accelerator") == V.accelerator(accelerator))
    if provider is not None:
        if not isinstance(provider, str):
            raise ValidationError(f"provider = {provider!r}: expected a provider name (str)")
        valid = sorted(set(t["provider"].to_list()))
        match = [p for p in valid if p.lower() == provider.lower()]
        if not match:
            raise unknown("provider", provider, valid, where="cloud_prices.csv" +
                          (f" for {accelerator}" if accelerator else ""))
        t = t.filter(pl.col("provider") == match[0])
    if term is not None:
        valid = sorted(set(t["term"].to_list()))
        V.choice("term", term, valid)
        t = t.filter(pl.col("term") == term)
    return t.sort(["date_observed", "provider"], descending=[True, False])


def rental_price(accelerator: str, provider: str, term: str = "on-demand") -> float:
    """The newest listed price [USD per GPU-hour] for one accelerator, provider and term.

    Parameters
    ----------
    provider : a provider listing the accelerator (il.economics.rental_prices(accelerator) lists
        them, column provider)

    Examples
    --------
    >>> import infra_lab as il
    >>> row = il.economics.rental_prices("MI300X", term="on-demand").row(0, named=True)
    >>> il.economics.rental_price("MI300X", row["provider"]) > 0
    True
    """
    t = rental_prices(accelerator, provider, term)
    return float(t["price_usd_per_gpu_hour"][0])


_NOT_A_LIST = ("Market", "DeepSeek")
_STATISTICS = {"median": np.median, "min": np.min, "max": np.max, "mean": np.mean}
"""The statistics over providers' prices (:func:`cloud_price`, ``rented_gpu_hour_price``)."""


def cloud_price_rows(accelerator: str, term: str = "on-demand") -> pl.DataFrame:
    """The rows :func:`cloud_price` summarises: every listed price for ``accelerator`` and
    ``term`` on each provider's newest observation date (all its regions and instance types
    of that date); market indices, analysts' medians and assumed prices such as DeepSeek's
    $2 are excluded: they are not offers.

    Examples
    --------
    >>> import infra_lab as il
    >>> df = il.economics.cloud_price_rows("MI300X")
    >>> set(df["term"]), bool((df["price_usd_per_gpu_hour"] > 0).all())
    ({'on-demand'}, True)
    """
    import polars as pl

    canon = V.accelerator(accelerator)
    all_terms = catalog.cloud_prices()
    V.choice("term", term, sorted(set(all_terms["term"].to_list())))
    offers = all_terms.filter(~pl.any_horizontal([pl.col("provider").str.starts_with(x) for x in _NOT_A_LIST]))
    t = offers.filter((pl.col("accelerator") == canon) & (pl.col("term") == term))
    if t.height == 0:   # named from offers only (H800-SXM's one row is DeepSeek's assumed $2)
        have = sorted(set(offers.filter(pl.col("term") == term)["accelerator"].to_list()))
        raise ValidationError(
            f"cloud_price: no {term} list price for {canon} in data/cloud_prices.csv "
            f"(accelerators with {term} prices: {', '.join(have)}); pass a price explicitly")
    newest = t.group_by("provider").agg(pl.col("date_observed").max().alias("_newest"))
    return (t.join(newest, on="provider").filter(pl.col("date_observed") == pl.col("_newest"))
            .drop("_newest").sort("price_usd_per_gpu_hour", "provider"))


def cloud_price(accelerator: str, term: str = "on-demand", *, statistic: str = "median") -> float:
    """THE cloud-price lookup of infra_lab [USD per GPU-hour].

    One statistic over the providers' current offers: the listed prices for ``accelerator``
    and ``term`` in ``data/cloud_prices.csv`` on each provider's newest observation date
    (:func:`cloud_price_rows`), summarised by ``statistic`` ("median" by default, or "min",
    "max", "mean"). Market
    indices, analysts' medians and assumed prices are excluded (:func:`cloud_price_rows`).
    Other modules (reliability, serving) call this function rather than reading the table.

    Raises
    ------
    ValidationError when no provider lists that accelerator and term (the message names
    the accelerators that have prices).

    Examples
    --------
    >>> cloud_price("MI300X") > 0
    True
    """
    V.choice("statistic", statistic, _STATISTICS)
    p = cloud_price_rows(accelerator, term)["price_usd_per_gpu_hour"].to_numpy()
    return float(_STATISTICS[statistic](p))


COMMITMENT_TERMS = ("1-year", "3-year")
"""The committed terms of data/cloud_prices.csv that :func:`commitment_ratio` prices."""


def commitment_pairs(term: str = "1-year") -> pl.DataFrame:
    """Every provider that lists one accelerator both on demand and committed for ``term`` on
    the same date (each provider's newest listing of each term, :func:`cloud_price_rows`):
    accelerator, provider, date_observed, on_demand, committed [USD per GPU-hour] (each the
    median of that provider's rows of that date) and ratio = committed / on_demand [-].

    Pairs whose two terms were observed on different dates are left out (a stale on-demand
    price against a new commitment would mix the price trend into the discount).

    Examples
    --------
    >>> import infra_lab as il
    >>> df = il.economics.commitment_pairs("1-year")
    >>> df.columns, bool((df["ratio"] < 1).all())
    (['accelerator', 'provider', 'date_observed', 'on_demand', 'committed', 'ratio'], True)
    """
    import polars as pl

    V.choice("term", term, COMMITMENT_TERMS)
    prices = catalog.cloud_prices()
    rows = []
    for acc in sorted(set(prices.filter(pl.col("term") == term)["accelerator"].to_list())):
        try:
            od, cm = cloud_price_rows(acc, "on-demand"), cloud_price_rows(acc, term)
        except ValidationError:          # listed committed only, or only by excluded sources
            continue
        for prov in sorted(set(od["provider"].to_list()) & set(cm["provider"].to_list())):
            o, c = od.filter(pl.col("provider") == prov), cm.filter(pl.col("provider") == prov)
            if o["date_observed"][0] != c["date_observed"][0]:
                continue
            po = float(o["price_usd_per_gpu_hour"].median())
            pc = float(c["price_usd_per_gpu_hour"].median())
            rows.append({"accelerator": acc, "provider": prov, "date_observed": o["date_observed"][0],
                         "on_demand": po, "committed": pc, "ratio": pc / po})
    return pl.DataFrame(rows, schema={"accelerator": pl.String, "provider": pl.String,
                                      "date_observed": pl.Date, "on_demand": pl.Float64,
                                      "committed": pl.Float64, "ratio": pl.Float64})


@cache
def commitment_ratio(term: str = "1-year") -> float:
    """A committed term's price as a fraction of the same provider's on-demand price for the
    same accelerator [-]: the median ratio over :func:`commitment_pairs` (data/cloud_prices.csv,
    a source URL per row).

    Approximate: one discount for every accelerator and provider (the pairs' own ratios
    spread around it)."""
    V.choice("term", term, COMMITMENT_TERMS)
    r = commitment_pairs(term)["ratio"].to_numpy()
    if r.size == 0:
        raise ValidationError(f"commitment_ratio: no provider lists an accelerator both on demand and {term} "
                              "on the same date in data/cloud_prices.csv")
    return float(np.median(r))


def contract_default(accelerator: str) -> float | None:
    """Default 1-year dedicated-contract rent for an accelerator without its own
    ``contract_usd_per_gpu_hour`` row in parameters.csv [USD per GPU-hour]: the part's own
    median on-demand price (:func:`cloud_price`) x :func:`commitment_ratio` ("1-year"), so a
    commitment never costs more than the part's own on-demand median. None when no provider
    lists the part on demand.

    Approximate: the part's on-demand median comes from its own providers (mostly neoclouds
    for Blackwell) and the discount from the providers that list both terms; the part's own
    1-year listings (mostly hyperscalers, whose on-demand prices are higher) are not used, since
    their median mixes providers: B200's 1-year median (three providers) lay above its
    on-demand median (eight providers).

    Examples
    --------
    >>> import infra_lab as il
    >>> p = il.economics.contract_default("MI300X")      # USD per GPU-hour, 1-year contract
    >>> 0 < p < il.economics.cloud_price("MI300X")
    True
    """
    canon = V.accelerator(accelerator)
    try:
        od = cloud_price(canon, "on-demand")
    except ValidationError:
        return None
    return od * commitment_ratio("1-year")


def software_stack(accelerator: str) -> str:
    """Deprecated: the vendor's stack family ("ROCm" for AMD, "CUDA" for NVIDIA).

    Economics no longer carries a software-efficiency factor: software efficiency comes
    from the training model (``il.estimate`` on each accelerator). Use
    ``il.catalog.accelerator(name).vendor`` or the training stack table instead.
    """
    warnings.warn("il.economics.software_stack is deprecated: economics no longer has a "
                  "software-efficiency factor (use il.estimate per accelerator); use "
                  "il.catalog.accelerator(name).vendor", DeprecationWarning, stacklevel=user_stacklevel())
    vendor = catalog.accelerator(V.accelerator(accelerator)).vendor
    stacks = {"AMD": "ROCm", "NVIDIA": "CUDA"}
    if vendor not in stacks:
        raise unknown("vendor with a software stack", vendor, stacks)
    return stacks[vendor]
