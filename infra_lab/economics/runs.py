"""The cost of training: a run priced from the training model, Zyphra's bill for contracted
cluster time, the 6·N·D cross-check and Epoch's amortized method.

GPU-hours of a run come from ``il.estimate`` (the step model composes compute, network and
memory for the scenario): GPU-hours = tokens / tokens_per_s x GPUs / 3600. The textbook
6·N·D / (peak x MFU) is kept only as a labelled cross-check (:func:`gpu_hours_for`).
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Any

from .. import catalog
from .._repr import Printout
from ..errors import ValidationError, user_stacklevel
from ..units import HOUR
from . import _validate as V
from .data import HOURS_PER_MONTH, HOURS_PER_YEAR

__all__ = [
    "RunCost", "EpochCost", "ZyphraBill", "training_flop", "gpu_hours_for", "gpu_hours_from_estimate",
    "run_cost", "cost_per_million_tokens", "zyphra_bill", "epoch_amortized_cost",
]


def training_flop(n_active_params: float, tokens: float) -> float:
    """Training compute C = 6 N D [FLOP] for N active parameters and D tokens (the textbook
    convention: ignores attention, the output layer's share beyond N, and routers).

    The formula's one owner is :func:`infra_lab.models.six_nd` (the FLOP conventions live in
    ``models``); this validates economics' bounds and calls it.

    Parameters
    ----------
    n_active_params : active parameters per token N [-] (e.g. il.models.get('llama3-8b').params_active)

    Examples
    --------
    >>> import infra_lab as il
    >>> il.economics.training_flop(7e9, 1e12)          # 6 N D [FLOP]
    4.2e+22
    """
    from ..models import six_nd

    return six_nd(V.positive("n_active_params", n_active_params, hi=1e16), V.positive("tokens", tokens, hi=1e18))


def _no_software_efficiency(software_efficiency: Any) -> None:
    """The deprecated ``software_efficiency`` argument: it must be 1.0 (whatever the basis of
    the cost, so that a value given with ``gpu_hours=`` is not silently ignored)."""
    if V.number("software_efficiency", software_efficiency, lo=0, lo_open=True, hi=2.0,
                allowed="1.0 (deprecated)") != 1.0:
        raise ValidationError(
            f"software_efficiency = {software_efficiency!r}: economics no longer carries a software "
            f"factor; allowed 1.0 (leave it out); price the run from il.estimate (gpu_hours_from_estimate) "
            "or fold it into mfu")


def gpu_hours_for(flop: float, accelerator: str, mfu: float, software_efficiency: float = 1.0,
                  precision: str = "bf16") -> float:
    """GPU-hours to do ``flop`` of training at a stated MFU [GPU-h] (6·N·D cross-check).

    GPU-h = flop / (peak(precision) x mfu) / 3600 with the dense peak from the catalog.
    ``software_efficiency`` is deprecated (economics no longer carries a software factor:
    use :func:`gpu_hours_from_estimate`); it must be 1.0.

    Parameters
    ----------
    flop : the training compute [FLOP] (e.g. il.economics.training_flop(n_active_params, tokens))

    Examples
    --------
    >>> import infra_lab as il
    >>> h = il.economics.gpu_hours_for(1e21, "MI300X", mfu=0.4)
    >>> round(h, 1) == round(1e21 / (il.catalog.accelerator("MI300X").peak("bf16") * 0.4) / 3600, 1)
    True
    """
    f = V.positive("flop", flop, hi=1e35)
    m = V.fraction("mfu", mfu)
    _no_software_efficiency(software_efficiency)
    peak = catalog.accelerator(V.accelerator(accelerator)).peak(precision)
    return f / (peak * m) / HOUR


def gpu_hours_from_estimate(estimate: Any, tokens: float) -> float:
    """GPU-hours to train ``tokens`` at an estimate's throughput [GPU-h].

    Uses ``estimate.gpu_hours(tokens)`` when the estimate provides it, else
    tokens / estimate.tokens_per_s x estimate.gpus / 3600 (or tokens /
    tokens_per_s_per_gpu / 3600). Accepts the result of ``il.estimate`` or any object with
    those attributes.

    Examples
    --------
    >>> import infra_lab as il
    >>> est = il.estimate(il.load_scenario("zaya1-ibm-mi300x"))
    >>> il.economics.gpu_hours_from_estimate(est, 1e12) == est.gpu_hours(1e12)
    True
    """
    D = V.positive("tokens", tokens, hi=1e18)
    fn = getattr(estimate, "gpu_hours", None)
    if callable(fn):
        return V.positive("estimate.gpu_hours(tokens)", fn(D))
    tps = getattr(estimate, "tokens_per_s", None)
    gpus = getattr(estimate, "gpus", None)
    if tps is not None and gpus:
        return D / V.positive("estimate.tokens_per_s", tps) * V.positive("estimate.gpus", gpus) / HOUR
    tpg = getattr(estimate, "tokens_per_s_per_gpu", None)
    if tpg is None:
        raise ValidationError(f"estimate of type {type(estimate).__name__}: needs gpu_hours(tokens), "
                              f"tokens_per_s and gpus, or tokens_per_s_per_gpu (use il.estimate(...))")
    return D / V.positive("estimate.tokens_per_s_per_gpu", tpg) / HOUR


@dataclass(frozen=True)
class RunCost(Printout):
    """The cost of one training run.

    gpu_hours [GPU-h]; price_usd_per_gpu_hour [USD]; total_usd [USD]; tokens [tokens] or
    None; usd_per_million_tokens [USD] or None; n_gpus and wall_clock_hours [h] or None;
    basis: where the GPU-hours came from ("estimate", "gpu_hours" or the 6·N·D cross-check);
    notes: where a price given by name ("owned" / "rented") came from, one sentence each
    (empty for a price given as a number or an OwnedCost).
    """

    gpu_hours: float
    price_usd_per_gpu_hour: float
    total_usd: float
    tokens: float | None = None
    usd_per_million_tokens: float | None = None
    n_gpus: int | None = None
    wall_clock_hours: float | None = None
    basis: str = "gpu_hours"
    notes: tuple[str, ...] = ()


def run_cost(estimate: Any = None, *, gpu_hours: float | None = None,
             price_usd_per_gpu_hour: Any = None, tokens: float | None = None, flop: float | None = None,
             accelerator: str | None = None, mfu: float | None = None, software_efficiency: float = 1.0,
             precision: str = "bf16", n_gpus: int | None = None) -> RunCost:
    """Cost of a training run.

    Give exactly one source of GPU-hours:

    * ``estimate`` (``il.estimate(...)``) with ``tokens``: :func:`gpu_hours_from_estimate`
      (the primary method);
    * ``gpu_hours`` [GPU-h] directly;
    * ``flop`` [FLOP] with ``accelerator`` and ``mfu``: the 6·N·D cross-check
      (:func:`gpu_hours_for`).

    Parameters
    ----------
    price_usd_per_gpu_hour : rental price or owned cost [USD per GPU-hour]; an object with
        ``total_usd_per_gpu_hour`` (an :class:`OwnedCost`, whose accelerator must be the run's
        where the run names one) is accepted, and so are "owned" /
        "rented" with ``accelerator`` (default: the estimate's, ``Estimate.accelerator``; an
        ``accelerator`` that contradicts the estimate's is refused): the economics model's price of that part, as
        ``il.serve``'s costs read it (:func:`infra_lab.serving.price_for`: the like-for-like
        owned P50, or the median current on-demand rent)
    tokens : training tokens, for the cost per million tokens
    n_gpus : cluster size, for the wall-clock time [h] (default: the estimate's GPUs)

    An estimate whose plan does not fit in memory (``fits`` False) is priced all the same, with a
    UserWarning that says so ("does not fit: ... priced as if it had enough memory"), as
    ``infra-lab estimate`` prints such a plan's numbers under its "does not fit" note.

    Examples
    --------
    >>> run_cost(gpu_hours=2.788e6, price_usd_per_gpu_hour=2.0).total_usd   # DeepSeek-V3
    5576000.0
    >>> from infra_lab.serving import price_for
    >>> r = run_cost(gpu_hours=1e6, price_usd_per_gpu_hour="rented", accelerator="MI300X")
    >>> r.total_usd == 1e6 * price_for("MI300X", "rented")
    True
    """
    carried = getattr(estimate, "accelerator", "") if estimate is not None else ""
    if carried:     # il.estimate's Estimate names its accelerator (Estimate.accelerator)
        if accelerator is not None and V.accelerator(accelerator) != V.accelerator(carried):
            raise ValidationError(
                f"accelerator = {accelerator!r}: contradicts the estimate's accelerator {carried!r} "
                f"(il.estimate of a {carried} scenario); leave accelerator= out or give {carried!r}")
        accelerator = carried if accelerator is None else accelerator
    if price_usd_per_gpu_hour is None:
        raise ValidationError("price_usd_per_gpu_hour: required (a rental price or an owned cost per "
                              "GPU-hour, e.g. owned_cost_per_gpu_hour(...), or 'owned' / 'rented' with "
                              "accelerator=)")
    if isinstance(price_usd_per_gpu_hour, str):
        if accelerator is None:
            raise ValidationError(
                f"price_usd_per_gpu_hour = {price_usd_per_gpu_hour!r}: also give accelerator= (the part whose "
                "price the economics model reads), or the price as a number [USD/GPU-h]")
        from ..serving.costs import price_for  # the one reader of a price by name

        price = price_for(V.accelerator(accelerator), price_usd_per_gpu_hour)
        notes = (_named_price_note(V.accelerator(accelerator), price_usd_per_gpu_hour),)
    else:
        notes = ()
        owned_for = getattr(price_usd_per_gpu_hour, "accelerator", None)   # an OwnedCost names its part
        if (isinstance(owned_for, str) and accelerator is not None
                and V.accelerator(owned_for) != V.accelerator(accelerator)):
            # an H100 owned cost priced an MI300X estimate's GPU-hours without a word
            whose = "the estimate's accelerator" if carried else "accelerator="
            raise ValidationError(
                f"price_usd_per_gpu_hour: an owned cost of {owned_for} for a run on {V.accelerator(accelerator)} "
                f"({whose}); price the run's own "
                f"part (owned_cost_per_gpu_hour({V.accelerator(accelerator)!r}), or 'owned' / 'rented') or give a "
                "number [USD/GPU-h]")
        price = getattr(price_usd_per_gpu_hour, "total_usd_per_gpu_hour", price_usd_per_gpu_hour)
        try:
            price = V.positive("price_usd_per_gpu_hour", price, hi=1e4)
        except ValidationError as e:
            raise ValidationError(f"{e}; allowed: a number [USD/GPU-h], an OwnedCost, or 'owned' / 'rented' "
                                  "with accelerator=") from None
    given = [x is not None for x in (gpu_hours, flop, estimate)]
    if sum(given) != 1:
        raise ValidationError(
            "run_cost: give exactly one of estimate (with tokens), gpu_hours, or flop (with accelerator "
            f"and mfu); got estimate={type(estimate).__name__ if estimate is not None else None}, "
            f"gpu_hours={gpu_hours!r}, flop={flop!r}")
    _no_software_efficiency(software_efficiency)
    if tokens is not None:
        tokens = V.positive("tokens", tokens, hi=1e18)
    if gpu_hours is not None:
        gh, basis = V.positive("gpu_hours", gpu_hours, hi=1e12), "gpu_hours"
    elif flop is not None:
        if accelerator is None or mfu is None:
            raise ValidationError("run_cost(flop=...): also give accelerator and mfu")
        gh = gpu_hours_for(flop, accelerator, mfu, software_efficiency, precision)
        basis = f"6·N·D cross-check: flop / ({V.accelerator(accelerator)} peak x MFU {mfu:g})"
    else:
        if tokens is None:
            raise ValidationError("run_cost(estimate=...): also give tokens (training tokens)")
        gh, basis = gpu_hours_from_estimate(estimate, tokens), "estimate"
        if n_gpus is None and getattr(estimate, "gpus", None):
            n_gpus = estimate.gpus
        fits = getattr(estimate, "fits", None)
        if fits is not None and not bool(fits):
            _warn_does_not_fit(estimate, accelerator)
    total = gh * price
    per_m = None if tokens is None else total / tokens * 1e6
    wall = None
    if n_gpus is not None:
        n_gpus = V.integer("n_gpus", n_gpus, lo=1, hi=10_000_000)
        wall = gh / n_gpus
    return RunCost(gpu_hours=gh, price_usd_per_gpu_hour=price, total_usd=total, tokens=tokens,
                   usd_per_million_tokens=per_m, n_gpus=n_gpus, wall_clock_hours=wall, basis=basis,
                   notes=notes)


def _named_price_note(accelerator: str, name: str) -> str:
    """Where a GPU-hour price given by name comes from (:func:`infra_lab.serving.price_for`), in
    one sentence for :class:`RunCost`'s printout: "owned" is the like-for-like Monte Carlo P50,
    which is not :func:`owned_cost_per_gpu_hour`'s point estimate at the default inputs (a user
    who printed both saw two owned prices for one accelerator and no word on why)."""
    if name.strip().lower() == "rented":
        return (f"price 'rented': il.economics.rented_gpu_hour_price({accelerator!r}), the median of the "
                "providers' current on-demand prices")
    from .owned import owned_cost_per_gpu_hour

    point = owned_cost_per_gpu_hour(accelerator).total_usd_per_gpu_hour
    return (f"price 'owned': il.economics.owned_gpu_hour_price({accelerator!r}), the like-for-like owned cost "
            "(P50 of a Monte Carlo at the newest 8-GPU baseboard listing and shared host, network and opex "
            f"ranges); il.economics.owned_cost_per_gpu_hour({accelerator!r}) is the point estimate at the "
            f"default inputs ({point:.3f} USD per GPU hour); il.economics.owned_cost_figures({accelerator!r}) lists "
            "the three owned figures and what each holds")


def _warn_does_not_fit(estimate: Any, accelerator: str | None) -> None:
    """A UserWarning for an estimate whose plan does not fit in memory: it is priced all the same,
    as ``infra-lab estimate`` prints such a plan's numbers with its "does not fit" note."""
    warn_does_not_fit("run_cost", getattr(estimate, "memory_per_gpu_bytes", None), accelerator,
                      thing="plan", lists="il.search lists the plans that fit")


def warn_does_not_fit(where: str, need_bytes: float | None, accelerator: str | None, *, thing: str,
                      lists: str, count: tuple[int, int] | None = None) -> None:
    """The UserWarning of a cost priced for something that does not fit in memory (a training
    plan: :func:`run_cost`; a serving deployment: ``ServeResult.costs``,
    :func:`infra_lab.serving.token_costs`; the rows of a serving search,
    :func:`infra_lab.serve_search`): "<where>: does not fit: this <thing> needs X GB per
    GPU against the Y GB a job can address on <accelerator>; priced as if it had enough memory
    (<lists>)". With ``count`` = (n, total), for n of the total priced <thing>s of a table:
    "n of the total <thing>s priced need X GB per GPU or more (X: ``need_bytes``, the least of
    them) against ...; priced as if they had enough memory (<lists>)". The warning points at the
    user's line (:func:`infra_lab.errors.user_stacklevel`)."""
    has = ""
    if accelerator:
        cap = catalog.accelerator(V.accelerator(accelerator)).memory_capacity_bytes
        has = f" against the {cap / 1e9:.1f} GB a job can address on {V.accelerator(accelerator)}"
    if count is not None:
        n, total = count
        needs = (f"{n:,} of the {total:,} {thing}s priced need {need_bytes / 1e9:.1f} GB per GPU or more{has}"
                 if need_bytes else f"{n:,} of the {total:,} {thing}s priced do not fit in memory")
        warnings.warn(f"{where}: does not fit: {needs}; priced as if they had enough memory ({lists})",
                      UserWarning, stacklevel=user_stacklevel())
        return
    needs = f"this {thing} needs {need_bytes / 1e9:.1f} GB per GPU{has}" if need_bytes else \
        f"this {thing} does not fit in memory"
    warnings.warn(f"{where}: does not fit: {needs}; priced as if it had enough memory ({lists})", UserWarning,
                  stacklevel=user_stacklevel())


def cost_per_million_tokens(total_usd: float, tokens: float) -> float:
    """Training cost per million tokens [USD per 1e6 tokens].

    Parameters
    ----------
    total_usd : the run's total cost [USD]

    Examples
    --------
    >>> import infra_lab as il
    >>> il.economics.cost_per_million_tokens(5000.0, 1e9)    # USD per 1e6 tokens
    5.0
    """
    c = V.positive("total_usd", total_usd, allow_zero=True) / V.positive("tokens", tokens) * 1e6
    if not math.isfinite(c):
        raise ValidationError(f"total_usd = {total_usd!r}, tokens = {tokens!r}: the cost per million tokens "
                              "overflows a float; allowed total_usd / tokens below ~1e302 USD per token")
    return c


# --------------------------------------------------------------------------------------
# Zyphra's bill
# --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ZyphraBill(Printout):
    """What a renter of a whole cluster pays, and what the final run used of it.

    contracted_gpu_hours = n_gpus x months x 730.5 h; bill_usd = that x contract price;
    final_run_gpu_hours: useful GPU-hours of the final run (from the training model);
    goodput_loss_gpu_hours: hours lost to failures, restarts and checkpoints on that run
    (final / goodput - final); other_gpu_hours: everything else the contract paid for
    (ablations, smaller runs, evaluation, idle time: not broken down in public sources).
    """

    n_gpus: int
    months: float
    price_usd_per_gpu_hour: float
    contracted_gpu_hours: float
    bill_usd: float
    final_run_gpu_hours: float
    goodput: float
    goodput_loss_gpu_hours: float
    other_gpu_hours: float

    @property
    def final_run_share(self) -> float:
        return self.final_run_gpu_hours / self.contracted_gpu_hours

    def frame(self):
        """polars DataFrame: item, gpu_hours, usd, share (of the bill)."""
        import polars as pl

        items = {"final pretraining run (useful GPU-hours, il.estimate)": self.final_run_gpu_hours,
                 "goodput losses of that run (failures, restarts, checkpoints)": self.goodput_loss_gpu_hours,
                 "everything else paid for (ablations, other runs, evaluation, idle)": self.other_gpu_hours}
        p = self.price_usd_per_gpu_hour
        rows = [{"item": k, "gpu_hours": h, "usd": h * p, "share": h / self.contracted_gpu_hours}
                for k, h in items.items()]
        rows.append({"item": "the bill: contracted cluster time", "gpu_hours": self.contracted_gpu_hours,
                     "usd": self.bill_usd, "share": 1.0})
        return pl.DataFrame(rows)


def zyphra_bill(final_run_gpu_hours: float, *, n_gpus: int | None = None, months: float | None = None,
                price_usd_per_gpu_hour: float | None = None, goodput: float = 1.0) -> ZyphraBill:
    """Zyphra's bill: contracted GPU-months x contract price, with the final run, its goodput
    losses and everything else as shares of it.

    Parameters
    ----------
    final_run_gpu_hours : useful GPU-hours of the final run [GPU-h] (from il.estimate)
    n_gpus : GPUs contracted (default the cluster of the shipped scenario
        ``economics.REFERENCE_SCENARIO``: ZAYA1's 1,024 MI300X)
    months : contracted period [months] (default ``zyphra_contract_months``)
    price_usd_per_gpu_hour : contract price [USD per GPU-hour] (default the MI300X
        ``contract_usd_per_gpu_hour``)
    goodput : useful share of the run's wall-clock time, (0, 1] (from il.reliability)

    Raises
    ------
    ValidationError when the run (with its goodput losses) does not fit in the contract.

    Examples
    --------
    >>> import infra_lab as il
    >>> b = il.economics.zyphra_bill(1e6, n_gpus=1024, months=12, price_usd_per_gpu_hour=2.0)
    >>> b.contracted_gpu_hours, b.bill_usd                      # GPU-h, USD
    (8976384.0, 17952768.0)
    """
    from .data import _reference_cluster, defaults

    d = defaults("MI300X")
    gh = V.positive("final_run_gpu_hours", final_run_gpu_hours, hi=1e12)
    n = V.integer("n_gpus", _reference_cluster()[0] if n_gpus is None else n_gpus, lo=1, hi=10_000_000)
    m = d["zyphra_contract_months"] if months is None else V.positive("months", months, hi=600.0)
    p = d["contract_usd_per_gpu_hour"] if price_usd_per_gpu_hour is None else V.positive(
        "price_usd_per_gpu_hour", price_usd_per_gpu_hour, hi=1e4)
    g = V.fraction("goodput", goodput)
    contracted = n * m * HOURS_PER_MONTH
    loss = gh / g - gh
    other = contracted - gh - loss
    if other < 0:
        raise ValidationError(
            f"zyphra_bill: the run needs {gh / g:,.0f} GPU-hours with goodput losses but {m:g} months of "
            f"{n} GPUs give {contracted:,.0f}; contract more months (months >= {(gh / g) / (n * HOURS_PER_MONTH):.2f})")
    return ZyphraBill(n, m, p, contracted, contracted * p, gh, g, loss, other)


# --------------------------------------------------------------------------------------
# Epoch / Cottier et al. amortized method
# --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class EpochCost(Printout):
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

    def _printout(self) -> str:
        """The fields and the two totals, one a line with its unit."""
        from .._repr import readable

        return readable(self, ("chip_hours", "amortized_hardware_usd", "interconnect_usd", "energy_usd",
                               "total_usd", "usd_per_gpu_hour", "up_front_capex_usd"),
                        footer="exact values: the attributes")


def epoch_amortized_cost(purchase_price_usd_per_gpu: float, chip_hours: float, tdp_W: float, *,
                         years_since_acquisition: float = 0.0, server_overhead: float = 1.0,
                         ooms_per_year: float | None = None, interconnect_fraction: float | None = None,
                         server_power_ratio: float | None = None, avg_power_fraction: float | None = None,
                         pue: float | None = None, electricity_usd_per_kWh: float | None = None,
                         quantity: int | None = None) -> EpochCost:
    """Epoch AI / Cottier et al. (2024) amortized hardware + interconnect + energy, as in
    ``cost_analysis_standalone.py`` (training-cost-trends, commit 263c40a). Defaults are
    Epoch's, read from parameters.csv (decay 0.14 OOM/yr, interconnect 19 %, server power
    1.8 x TDP, average power 0.75, PUE 1.25) except ``electricity_usd_per_kWh``: by default the
    latest US industrial price of Epoch's series in electricity_prices.csv (2025: 0.0826).

    Parameters
    ----------
    purchase_price_usd_per_gpu : the accelerator's purchase price [USD per GPU]
    chip_hours : the run's accelerator-hours [GPU-h]
    tdp_W : the accelerator's thermal design power [W] (il.catalog.accelerator(name).tdp_W)

    Notes
    -----
    value_at_start = price 10^(-d years); amortized_hw = value_at_start (d ln10) / 8,766 h
    x chip_hours; interconnect = amortized_hw f / (1 - f); energy = TDP [kW] x server ratio x
    average power x PUE x chip_hours x USD/kWh. Epoch then inflation-adjusts (not done here).

    Examples
    --------
    >>> e = epoch_amortized_cost(25733.71, 1.0, 750.0)   # MI300X UBB price, one chip-hour
    >>> round(e.amortized_hardware_usd, 3), round(e.amortized_hardware_usd + e.interconnect_usd, 3)
    (0.946, 1.168)
    """
    from .data import parameters

    P = parameters("MI300X")
    d = P["depreciation_ooms_per_year"].value if ooms_per_year is None else ooms_per_year
    f = P["interconnect_fraction"].value if interconnect_fraction is None else interconnect_fraction
    spr = P["server_power_ratio"].value if server_power_ratio is None else server_power_ratio
    apf = P["avg_power_fraction"].value if avg_power_fraction is None else avg_power_fraction
    pue_ = P["pue"].value if pue is None else pue
    price = V.positive("purchase_price_usd_per_gpu", purchase_price_usd_per_gpu, hi=5e6) * \
        V.number("server_overhead", server_overhead, lo=1.0, hi=10.0)
    hours = V.positive("chip_hours", chip_hours, hi=1e12)
    tdp = V.positive("tdp_W", tdp_W, hi=1e5)
    yrs = V.positive("years_since_acquisition", years_since_acquisition, allow_zero=True, hi=50.0)
    d = V.positive("ooms_per_year", d, hi=5.0)
    f = V.number("interconnect_fraction", f, lo=0.0, hi=1.0, hi_open=True)
    spr = V.number("server_power_ratio", spr, lo=1.0, hi=10.0)
    apf = V.fraction("avg_power_fraction", apf)
    pue_ = V.number("pue", pue_, lo=1.0, hi=5.0)
    if electricity_usd_per_kWh is None:   # Epoch's own series, read (not retyped) from the data
        import polars as pl

        from .data import electricity_prices

        us = electricity_prices().filter((pl.col("region") == "US") & (pl.col("sector") == "industrial"))
        electricity_usd_per_kWh = us.sort("year", descending=True)["usd_per_kWh"][0]
    el = V.positive("electricity_usd_per_kWh", electricity_usd_per_kWh, allow_zero=True, hi=10.0)
    value = price * 10.0 ** (-d * yrs)
    hw = value * (d * math.log(10.0)) / HOURS_PER_YEAR * hours
    ic = hw * f / (1.0 - f)
    energy = tdp * 1e-3 * spr * apf * pue_ * hours * el
    capex = None if quantity is None else V.integer("quantity", quantity, lo=1, hi=10_000_000) * price / (1.0 - f)
    return EpochCost(chip_hours=hours, amortized_hardware_usd=hw, interconnect_usd=ic, energy_usd=energy,
                     up_front_capex_usd=capex)


