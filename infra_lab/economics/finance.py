"""Finance: annuities, NPV, IRR and payback; value curves; the operator's cash flows on a
rent path (IBM's view); total cost of ownership.

All returns are **pre-tax and unlevered**: cash flows before income tax and before any
debt financing, discounted at the (pre-tax) cost of capital. The operator model is
monthly inside and reports yearly cash flows.

Rent paths (per GPU-hour the operator charges):

* ``flat``: one price for the whole horizon; the sold share follows the price,
  U = min(1, U_market (P / P_market)^-e) unless given.
* ``decay``: a dedicated contract at P_c — Zyphra's, for ``zyphra_contract_months`` (or
  ``contract_years`` if passed), billed share ``contract_utilization`` — then re-lease at the market price, which has decayed along
  Epoch's price-performance trend since signing: P(t) = P_c 10^(-d t) (d in OOM/yr), sold
  share ``market_utilization``.
* ``rebound``: as ``decay`` but the market rent rises by ``rent_rebound_fraction`` over the
  first year after the contract (as H100 1-year contracts did from Oct 2025 to Jun 2026),
  then decays again.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import polars as pl

from .._repr import Printout
from ..errors import ValidationError, unknown
from . import _validate as V
from .data import HOURS_PER_YEAR, _all_scope, _reference_cluster, parameters
from .owned import (
    _OWNED_BUILD,
    FABRIC_COUNTS,
    OWNED_PARAMS,
    WEEKS_PER_YEAR,
    _fabric_overrides,
    _owned_components,
    _owned_keys,
    fabric_count_factors,
    owned_cost_per_gpu_hour,
    owned_inputs,
)
from .uncertainty import PaybackBand

__all__ = [
    "PATHS", "VALUE_CURVES", "RETIRE_RULES", "OPERATOR_PARAMS", "annuity_factor", "npv", "irr", "irr_array",
    "payback_years", "payback_band", "straight_line_value", "exponential_value", "residual_value",
    "operator_inputs", "operator_cash_flows", "ProviderView", "provider_view", "tco", "tco_total",
    "tco_arrays",
]

PATHS = ("flat", "decay", "rebound")
VALUE_CURVES = ("exponential", "straight-line", "none")
RETIRE_RULES = ("when_unprofitable", "max_npv")
"""Retirement rules of the operator model (``retire=``; None runs the hardware to the horizon).
Under each, the hardware is sold when it stops at the value curve's residual for its age, as
the model values it at the end of the horizon.

``"when_unprofitable"`` (the default): it stops at the end of the last year of the horizon
whose cash margin (revenue - energy - opex, before capex and residual) is positive (year 1 if
none is). It reads cash margins only. CAVEAT: its NPV and IRR are not monotonic in the price.
A higher price can keep the hardware one more year whose margin is barely positive, and that
year is worth less than the fall of the resale value over it plus the return forgone on the sale
price, so at each price where the retirement year moves the NPV steps down (MI300X decay path at
the defaults: $2.33 -> $2.35 per GPU-hour, -8,070 -> -11,035 USD per GPU, 3 -> 4 years;
notebook 05 plots the curve). ``"max_npv"`` (the best sale year at each price) and ``None`` (a
fixed horizon) rise with the price.

``"max_npv"``: it stops at the end of the year T in 1 .. horizon (the horizon itself where it
is not a whole number of years) that maximizes the NPV at the cost of capital of -capex, the
cash margins of years 1 .. T and the sale price at age T: the abandonment rule of replacement
analysis (keep it another year while that year's margin exceeds the fall of its resale value
plus the return forgone on the money it could be sold for). It weighs each year's margin
against the resale value, so it sells no later, and often earlier, than the cash rule on a
falling resale curve, and it leans on the value curve being what the hardware would fetch."""
OPERATOR_PARAMS = ("contract_usd_per_gpu_hour", "zyphra_contract_months", "contract_utilization",
                   "market_utilization", "utilization_price_elasticity", "rent_rebound_fraction",
                   "ibm_book_life_years")
"""Operator inputs beyond the owned-cost ones (each a row of parameters.csv). The first
contract is Zyphra's: its term is ``zyphra_contract_months`` / 12 years unless
``contract_years`` is passed."""


# --------------------------------------------------------------------------------------
# Closed forms
# --------------------------------------------------------------------------------------
MIN_LIFE_YEARS = 1.0 / 365.25
"""Shortest asset life accepted [years]: one day (a shorter one is a typo, and the annuity of
a 1e-58-year life overflowed)."""


def annuity_factor(rate: float, years: float) -> float:
    """Capital recovery factor: the level payment per year that repays 1 USD over ``years``
    at interest ``rate`` [1/year].

    CRF = r / (1 - (1 + r)^-L); the limit r -> 0 is 1/L.

    Parameters
    ----------
    rate : the interest rate [1/year], e.g. 0.08 (0: no interest)
    years : the repayment period [years], > 0

    Examples
    --------
    >>> round(annuity_factor(0.08, 5), 5)
    0.25046
    """
    r = V.rate("rate", rate)
    n = V.number("years", years, lo=MIN_LIFE_YEARS, hi=100.0)
    if r == 0.0:
        return 1.0 / n
    return r / -math.expm1(-n * math.log1p(r))       # 1 - (1 + r)^-n without cancellation


def _flows(cash_flows: Any) -> np.ndarray:
    cf = V.float_array("cash_flows", cash_flows, "USD")
    if cf.ndim != 1 or cf.size < 2 or not np.all(np.isfinite(cf)):
        raise ValidationError(f"cash_flows: need a 1-D sequence of >= 2 finite numbers [USD], got {cash_flows!r}")
    return cf


def npv(cash_flows: Any, rate: float) -> float:
    """Net present value at ``rate`` of yearly cash flows, the first at t = 0 [USD].

    Parameters
    ----------
    rate : the discount rate [1/year], e.g. 0.10

    Examples
    --------
    >>> import infra_lab as il
    >>> round(il.economics.npv([-100.0, 121.0], 0.10), 6)       # USD
    10.0
    """
    if isinstance(rate, (list, tuple, np.ndarray)) and not isinstance(cash_flows, (list, tuple, np.ndarray)):
        raise ValidationError(f"npv(cash_flows={cash_flows!r}, rate={rate!r:.60}): the arguments are swapped; "
                              "npv takes the cash flows first, then the rate (numpy-financial's npv takes "
                              "the rate first): npv([-100.0, 121.0], 0.10)")
    cf = _flows(cash_flows)
    r = V.number("rate", rate, lo=-1.0, lo_open=True, hi=100.0)
    return float(np.sum(cf / (1.0 + r) ** np.arange(cf.size)))


_GRID = np.concatenate([np.linspace(-0.99, -1e-3, 120), [0.0], np.geomspace(1e-3, 100.0, 240)])


def irr_array(cash_flows: np.ndarray) -> np.ndarray:
    """IRR of each row of ``cash_flows`` (n x T+1, yearly, first at t = 0) [1/year]; NaN
    where no rate makes the NPV cross zero from above.

    Method: the NPV of every row on a grid of rates from -99 % to +10,000 %; the first grid
    interval where NPV falls through zero (NPV > 0 at the lower rate, <= 0 at the higher)
    brackets the root, refined by bisection to 1e-10. Flows whose last value is negative
    (a late loss) have a second, spurious crossing near -100 % where NPV *rises*; it is
    ignored, so the IRR is the economically meaningful rate.

    Examples
    --------
    >>> import numpy as np
    >>> import infra_lab as il
    >>> np.round(il.economics.irr_array(np.array([[-100.0, 110.0], [-100.0, 121.0]])), 4)
    array([0.1 , 0.21])
    """
    cf = np.atleast_2d(V.float_array("cash_flows", cash_flows, "USD"))
    if cf.ndim != 2 or cf.shape[1] < 2:
        raise ValidationError(f"cash_flows: need rows of >= 2 yearly flows [USD], got shape {cf.shape}")
    if not np.all(np.isfinite(cf)):
        raise ValidationError("cash_flows: need finite numbers")
    t = np.arange(cf.shape[1])
    disc = (1.0 + _GRID[None, :]) ** (-t[:, None])          # (T+1, G)
    vals = cf @ disc                                        # (n, G)
    down = (vals[:, :-1] > 0) & (vals[:, 1:] <= 0)
    has = down.any(axis=1)
    j = np.argmax(down, axis=1)
    lo, hi = _GRID[j].copy(), _GRID[j + 1].copy()
    for _ in range(80):
        mid = 0.5 * (lo + hi)
        f = np.sum(cf * (1.0 + mid[:, None]) ** (-t[None, :]), axis=1)
        pos = f > 0
        lo = np.where(pos, mid, lo)
        hi = np.where(pos, hi, mid)
    out = 0.5 * (lo + hi)
    out[~has] = np.nan
    return out


def irr(cash_flows: Any) -> float | None:
    """Internal rate of return of yearly cash flows (first at t = 0) [1/year], pre-tax and
    unlevered when the flows are; None when the NPV never falls through zero (e.g. no
    positive flow, or a loss at every rate). Correct when the last flow is negative.

    Examples
    --------
    >>> round(irr([-100.0, 60.0, 60.0]), 4)
    0.1307
    >>> round(irr([-25926, 14617, 14617, 3092, 1051, -428]), 3)   # a late loss
    0.157
    """
    v = float(irr_array(_flows(cash_flows)[None, :])[0])
    return None if math.isnan(v) else v


def payback_years(cash_flows: Any, step_years: float = 1.0) -> float:
    """Years until the cumulative cash turns non-negative (linear within a step) [years];
    ``math.inf`` if it never does. ``cash_flows[0]`` is at t = 0, then one per step.

    Examples
    --------
    >>> import infra_lab as il
    >>> il.economics.payback_years([-100.0, 50.0, 50.0, 50.0])   # years
    2.0
    >>> il.economics.payback_years([-100.0, 10.0])              # never repaid
    inf
    """
    cf = _flows(cash_flows)
    dt = V.positive("step_years", step_years, hi=10.0)
    cum = np.cumsum(cf)
    if cum[0] >= 0:
        return 0.0
    k = np.nonzero(cum >= 0)[0]
    if k.size == 0:
        return math.inf
    i = int(k[0])
    return float(((i - 1) + (-cum[i - 1]) / cf[i]) * dt)   # a float, as the 0.0 and inf above


def payback_band(paybacks: Any) -> PaybackBand:
    """P5, P50, P95 and mean of paybacks over Monte Carlo draws [years], with "never repaid"
    kept as ``math.inf``: the convention of :func:`payback_years`, ``ProviderView.payback_years``
    and :func:`operator_cash_flows`'s ``payback``, so a band and a single view read alike.

    A percentile that falls among the never-repaid draws is ``math.inf`` (it is not reached by
    the repaid ones); the mean is ``math.inf`` as soon as one draw is never repaid. Paybacks
    are non-negative; NaN is refused. (The deal table printed 99 for "never" beside tables
    that printed ``inf``, and its mean, 93 years, was an average of that stand-in.)

    Returns
    -------
    :class:`~infra_lab.economics.uncertainty.PaybackBand`, a Band whose printout says "never"
    for an infinite figure (the field stays ``math.inf``), as the other payback printouts do

    Examples
    --------
    >>> import math
    >>> import infra_lab as il
    >>> b = il.economics.payback_band([1.0, 2.0, 3.0, math.inf])
    >>> type(b).__name__, b.p5, b.p95
    ('PaybackBand', 1.15, inf)
    >>> print(b)
    PaybackBand: 2.500 (1.150 to never) years
      p5    1.15 years
      p50   2.5 years
      p95   never
      mean  never
      n     4
      never: the operating cash does not repay the outlay within the horizon (the field is inf)
      (exact values: the attributes)
    """
    from .uncertainty import percentiles

    a = V.float_array("paybacks", paybacks)
    if a.ndim != 1 or a.size == 0 or np.isnan(a).any() or (a < 0).any():
        raise ValidationError(f"paybacks = {paybacks!r:.80}: expected a non-empty 1-D array of paybacks >= 0 "
                              f"[years] (math.inf: never repaid; size {a.size}, shape {a.shape})")
    never = np.isinf(a)
    if not never.any():
        p = percentiles(a)
        return PaybackBand(p["p5"], p["p50"], p["p95"], p["mean"], int(a.size))
    top = float(a[~never].max()) if (~never).any() else 0.0
    # never -> one year beyond the longest payback: the order is kept and a percentile that
    # interpolates into the never-repaid draws lands above ``top`` (numpy's percentile of inf
    # gives NaN there)
    p = percentiles(np.where(never, top + 1.0, a))
    p5, p50, p95 = (p[k] if p[k] <= top else math.inf for k in ("p5", "p50", "p95"))
    return PaybackBand(p5, p50, p95, math.inf, int(a.size))


def straight_line_value(capex_usd: float, age_years: float, life_years: float) -> float:
    """Book value after ``age_years`` of straight-line depreciation [USD]: capex max(0, 1 - age/life).

    Parameters
    ----------
    life_years : the depreciation life [years], > 0

    Examples
    --------
    >>> import infra_lab as il
    >>> il.economics.straight_line_value(30000.0, 2.0, 5.0)      # USD after 2 of 5 years
    18000.0
    """
    c = V.positive("capex_usd", capex_usd, allow_zero=True)
    a = V.positive("age_years", age_years, allow_zero=True, hi=100.0)
    life = V.number("life_years", life_years, lo=MIN_LIFE_YEARS, hi=100.0)
    return c * max(0.0, 1.0 - a / life)


def exponential_value(capex_usd: float, age_years: float, ooms_per_year: float | None = None) -> float:
    """Value after ``age_years`` under Epoch's exponential decay [USD]: capex 10^(-d age);
    ``ooms_per_year`` d [OOM per year] defaults to parameters.csv's ``depreciation_ooms_per_year``.

    Examples
    --------
    >>> import infra_lab as il
    >>> il.economics.exponential_value(30000.0, 1.0, ooms_per_year=1.0)   # a tenth a year
    3000.0
    """
    c = V.positive("capex_usd", capex_usd, allow_zero=True)
    a = V.positive("age_years", age_years, allow_zero=True, hi=100.0)
    d = V.positive("ooms_per_year", _all_scope("depreciation_ooms_per_year") if ooms_per_year is None
                   else ooms_per_year, hi=5.0)
    return c * 10.0 ** (-d * a)


def _value(curve: str, capex: Any, age: Any, life: Any, ooms: Any) -> Any:
    if curve == "exponential":
        return capex * 10.0 ** (-ooms * age)
    if curve == "straight-line":
        return capex * np.maximum(0.0, 1.0 - age / life)
    return capex * 0.0


def residual_value(capex_usd: float, age_years: float, curve: str = "exponential", *,
                   life_years: float | None = None, ooms_per_year: float | None = None) -> float:
    """Value of hardware bought for ``capex_usd`` after ``age_years`` on a value curve [USD]:
    "exponential" (Epoch's price-performance decay: the market value of old FLOPs),
    "straight-line" (book value over ``life_years``) or "none". ``life_years`` [years] and
    ``ooms_per_year`` [OOM per year] default to parameters.csv's ``life_years`` and
    ``depreciation_ooms_per_year``.

    Examples
    --------
    >>> import infra_lab as il
    >>> il.economics.residual_value(30000.0, 2.0, "straight-line", life_years=5.0)
    18000.0
    >>> il.economics.residual_value(30000.0, 2.0, "none")
    0.0
    """
    V.choice("curve", curve, VALUE_CURVES)
    c = V.positive("capex_usd", capex_usd, allow_zero=True)
    a = V.positive("age_years", age_years, allow_zero=True, hi=100.0)
    L = V.number("life_years", _all_scope("life_years") if life_years is None else life_years,
                 lo=MIN_LIFE_YEARS, hi=100.0)
    d = V.positive("ooms_per_year", _all_scope("depreciation_ooms_per_year") if ooms_per_year is None
                   else ooms_per_year, hi=5.0)
    return float(_value(curve, c, a, L, d))


# --------------------------------------------------------------------------------------
# The operator's cash flows
# --------------------------------------------------------------------------------------
def _contract_default(accelerator: str) -> float | None:
    """Default dedicated-contract price for an accelerator without its own row:
    :func:`~infra_lab.economics.data.contract_default` (the part's own on-demand median x the
    listed 1-year commitment ratio)."""
    from .data import contract_default

    return contract_default(accelerator)


def operator_inputs(accelerator: str = "MI300X", overrides: Mapping[str, Any] | None = None) -> dict[str, float]:
    """Owned-cost inputs plus :data:`OPERATOR_PARAMS` for ``accelerator`` (defaults from
    parameters.csv, then ``overrides``, checked).

    Examples
    --------
    >>> import infra_lab as il
    >>> v = il.economics.operator_inputs("MI300X")
    >>> set(il.economics.owned_inputs("MI300X")) <= set(v)
    True
    """
    ov = V.table("overrides", overrides, "operator parameter -> number")
    allowed = (*OWNED_PARAMS, "tdp_W", "network_usd_per_gpu", "server_overhead", *OPERATOR_PARAMS, "contract_years")
    for k in ov:
        if k not in allowed:
            raise unknown("operator parameter", k, allowed)
    op = {k: ov.pop(k) for k in list(ov) if k in (*OPERATOR_PARAMS, "contract_years")}
    v = owned_inputs(accelerator, ov)
    P = parameters(accelerator)
    for k in OPERATOR_PARAMS:
        if k in op:
            if op[k] is None:
                raise ValidationError(f"{k} = None: pass a number or leave it out")
            v[k] = V.bounded(k, op[k])
        elif k in P:
            v[k] = P[k].value
        elif k == "contract_usd_per_gpu_hour":
            dflt = _contract_default(accelerator)
            if dflt is not None:
                v[k] = dflt
        else:  # pragma: no cover - every other operator parameter has an 'all' row
            raise ValidationError(f"{k}: no default for this accelerator in parameters.csv; pass {k}=...")
    if "contract_years" in op:
        v["contract_years"] = V.bounded("contract_years", op["contract_years"])
    return v


_OPERATOR_BUILD = V.build_hint("operator_inputs", "[*OWNED_PARAMS, *OPERATOR_PARAMS]")


def _operator_keys(v: Mapping[str, Any], path: str) -> tuple[list[str], dict[str, str]]:
    """The inputs the operator's model reads on ``path``: (required, optional with notes)."""
    req, opt = _owned_keys(v, depreciation="exponential")   # the market rent decays at d
    req = [k for k in req if k != "utilization"]           # the model sets it to 1 (per sold hour)
    req += ["market_utilization", "utilization_price_elasticity", "ibm_book_life_years"]
    if path != "flat":
        req.append("contract_utilization")
        if "contract_years" not in v:
            req.append("zyphra_contract_months")
    if path == "rebound":
        req.append("rent_rebound_fraction")
    return req, {**opt, "contract_usd_per_gpu_hour": "needed unless price= is given",
                 "contract_years": "replaces zyphra_contract_months / 12"}


def operator_cash_flows(v: Mapping[str, Any], *, path: str = "decay", years: float | None = None,
                        price: Any = None, market_price: Any = None, utilization: Any = None,
                        value_curve: str = "exponential", premium: float = 0.0,
                        retire: str | None = "when_unprofitable") -> dict[str, np.ndarray]:
    """The operator's monthly model on scalars or arrays of draws.

    ``v`` holds the owned-cost inputs (its ``utilization`` is not used) and the operator's
    (:data:`OPERATOR_PARAMS`) that ``path`` reads, each a number or a 1-D array of n draws:
    :func:`operator_inputs` builds the complete dict, ``sample_parameters`` draws (add
    ``tdp_W``). ``years`` [1/12, 50] (default ``v``'s ``ibm_book_life_years``, the horizon
    :func:`provider_view` and ``deal_pnl`` use; draws of it need ``years`` given); ``price`` / ``market_price`` [USD per GPU-hour] and
    ``utilization`` (0, 1] override the contract price, the market reference and the sold
    share (numbers or n draws). ``retire`` ("when_unprofitable", the default, "max_npv" or
    None): each draw's hardware stops at the end of its last year with a positive cash margin
    ("max_npv": of the year whose sale gives the largest NPV) and is sold at its residual value
    then (:data:`RETIRE_RULES`); None runs it to the horizon whatever the margin. A missing or misspelled key or a value out of bounds raises the package's
    error naming it.

    Returns arrays of shape (n, months) (``price``: the rent path, which goes on after a
    retirement, per sold hour; ``sold``, ``revenue``, ``contract_revenue`` (the part of the revenue
    earned in the contract's span: a month the contract covers in part pays the contract rent for
    that part, the market's for the rest; on the flat path the flat rent of those months; 0 where
    ``v`` gives no contract length), ``energy``, ``opex``: 0 after it) and (n, years + 1)
    (``annual``: year 0 = -capex, the retirement year (else the last) + residual, 0 after),
    plus ``capex``, ``residual`` (the sale price at retirement, else at the horizon),
    ``book_dep`` (per year), ``book_value`` (undepreciated on the straight line over
    ``ibm_book_life_years`` at the sale), ``gain_on_sale`` (residual - book_value: the book
    gain, or loss if negative, on the sale) [USD], ``payback`` and ``end_years`` (n,: the age
    at retirement, or the horizon) [years], all per GPU. The book and cash views reconcile:
    revenue - energy - opex - depreciation while it runs + gain_on_sale sums, over the life,
    to ``annual``'s sum.

    Examples
    --------
    >>> import infra_lab as il
    >>> cf = il.economics.operator_cash_flows(il.economics.operator_inputs("MI300X"), years=3)
    >>> cf["annual"].shape                      # one draw, year 0 (capex) and three years
    (1, 4)
    """
    V.choice("path", path, PATHS)
    V.choice("value_curve", value_curve, VALUE_CURVES)
    _retire_rule(retire)
    req, opt = _operator_keys(v if isinstance(v, Mapping) else {}, path)
    v = V.model_inputs("operator_cash_flows", v, req, opt, what="operator inputs", build=_OPERATOR_BUILD,
                       one_dim=True)
    if years is None:   # was 5.0 typed here: IBM's filed book life, which v carries
        life = np.unique(np.asarray(v["ibm_book_life_years"], dtype=float))
        if life.size != 1:
            raise ValidationError("operator_cash_flows: years = None takes the horizon from ibm_book_life_years, "
                                  f"which varies across the draws ({life.min():g} to {life.max():g} years); pass "
                                  "years= (a horizon in [1/12, 50] years)")
        years = float(life[0])
    years = V.number("years", years, lo=1.0 / 12.0, hi=50.0, allowed="a horizon in [1/12, 50] years")
    shapes = V.array_shapes(v, v)          # every array sets the number of draws n, used or not
    given = {}
    for name, x, hi in (("price", price, 1e4), ("market_price", market_price, 1e4), ("utilization", utilization, 1.0)):
        if x is not None:
            checked = V.values(name, x, 0.0, hi, lo_open=True)
            if isinstance(checked, np.ndarray):
                shapes[name] = checked.shape
            given[name] = checked if isinstance(checked, np.ndarray) else x   # a number as given
    V.check_shapes("operator_cash_flows", shapes, one_dim=True)
    V.number("premium", premium, lo=-0.99, hi=20.0)
    return _operator_cash_flows(v, path=path, years=years, value_curve=value_curve, premium=premium,
                                retire=retire, **given)


def _retire_rule(retire: Any) -> str | None:
    """``retire`` checked: None or one of :data:`RETIRE_RULES`."""
    if retire is None:
        return None
    if not isinstance(retire, str):
        raise ValidationError(f"retire = {retire!r}: expected None (run to the horizon) or one of "
                              f"{', '.join(map(repr, RETIRE_RULES))}")
    return V.choice("retire", retire, RETIRE_RULES)


def _book_profit_by_year(r: Mapping[str, Any], book_life_years: Any) -> np.ndarray:
    """The operator's book operating profit per GPU by year, one row per draw [USD]: revenue -
    energy - opex - straight-line depreciation of the capex over the book life for the part of
    each year the hardware runs (a horizon of 4.5 years charges half a year in year 5) + the gain
    or loss on the sale, booked in the year of the sale. ``r`` is :func:`_operator_cash_flows`'
    result; its years are those of ``r["annual"]``. Pre-tax and before interest: summed over the
    years it equals the undiscounted cash flows. The one owner of the yearly book P&L
    (:func:`provider_view`'s ``book_profit_usd`` is row 0; the deal P&L reads every draw's)."""
    annual = np.atleast_2d(r["annual"])
    n, Ny = annual.shape[0], annual.shape[1] - 1
    margin = r["revenue"] - r["energy"] - r["opex"]                        # (n, months)
    M = margin.shape[1]
    marg_y = np.stack([margin[:, 12 * y:min(12 * (y + 1), M)].sum(axis=1) for y in range(Ny)], axis=1)
    capex = np.broadcast_to(np.asarray(r["capex"], dtype=float), (n,))
    end = np.broadcast_to(np.asarray(r["end_years"], dtype=float), (n,))
    L = np.broadcast_to(np.atleast_1d(np.asarray(book_life_years, dtype=float)), (n,))
    y = np.arange(Ny, dtype=float)[None, :]
    ran = np.maximum(0.0, np.minimum(np.minimum(y + 1.0, end[:, None]), L[:, None]) - y)
    dep = capex[:, None] / L[:, None] * ran
    gain = np.zeros((n, Ny))
    sale_year = np.ceil(end - 1e-9).astype(int) - 1
    gain[np.arange(n), sale_year] = np.broadcast_to(np.asarray(r["gain_on_sale"], dtype=float), (n,))
    return marg_y - dep + gain


def _operator_cash_flows(v: Mapping[str, Any], *, path: str = "decay", years: float = 5.0,
                         price: Any = None, market_price: Any = None, utilization: Any = None,
                         value_curve: str = "exponential", premium: float = 0.0,
                         retire: str | None = "when_unprofitable") -> dict[str, np.ndarray]:
    """:func:`operator_cash_flows` without the checks (inputs from :func:`operator_inputs` or
    draws from parameters.csv)."""
    H = HOURS_PER_YEAR
    M = int(round(12 * years))
    N = int(math.ceil(years - 1e-9))
    t = (np.arange(M) + 0.5) / 12.0
    col = lambda x: np.atleast_1d(np.asarray(x, dtype=float))[:, None]  # noqa: E731
    c = _owned_components({**v, "utilization": 1.0})
    capex = np.atleast_1d(np.asarray(c["capex"], dtype=float))
    # the draws: every array of the inputs or of the price / market price / utilization overrides
    n = max(capex.size, *(np.atleast_1d(np.asarray(x)).size for x in v.values()),
            *(np.atleast_1d(np.asarray(x)).size for x in (price, market_price, utilization) if x is not None))
    capex = np.broadcast_to(capex, (n,)).astype(float)
    parts = ("facility", "maintenance", "insurance_tax", "staff")
    fixed_h = sum(np.broadcast_to(np.atleast_1d(np.asarray(c[k], dtype=float)), (n,)) for k in parts)
    energy_h = np.broadcast_to(np.atleast_1d(np.asarray(c["energy_h"], dtype=float)), (n,))
    setup = np.broadcast_to(col(v["setup_weeks"]) / WEEKS_PER_YEAR, (n, 1))
    tau = t[None, :] - setup
    on = tau >= 0
    d = col(v["depreciation_ooms_per_year"])
    need = price is None or (path == "flat" and market_price is None and utilization is None)
    if need and "contract_usd_per_gpu_hour" not in v:
        raise ValidationError("contract_usd_per_gpu_hour: no contract or listed price for this accelerator; pass "
                              "price_usd_per_gpu_hour= (and utilization= for a flat path) or contract_usd_per_gpu_hour=")
    pc = col(v["contract_usd_per_gpu_hour"] if price is None else price)
    pm = col(v.get("contract_usd_per_gpu_hour", 1.0) if market_price is None else market_price)
    um, e = col(v["market_utilization"]), col(v["utilization_price_elasticity"])
    # the contract's share of each sold month: it runs cy x 12 months from the first sold month,
    # so a contract that ends inside a month pays for the part it covers and the market the rest
    # (before December 2026 a month was all contract when its midpoint fell inside the contract: a
    # drawn 3.1-month contract after 2 setup weeks earned 4 months of contract rent while Zyphra's
    # bill paid 3.1; whole-month contracts, the modes among them, are unchanged). The flat path
    # has no contract rent of its own: its months in the contract's span are counted the same way
    has_contract = "contract_years" in v or "zyphra_contract_months" in v
    share = np.zeros((n, M))
    if has_contract:
        cy = col(v["contract_years"] if "contract_years" in v else np.asarray(v["zyphra_contract_months"]) / 12.0)
        k = np.cumsum(np.broadcast_to(on, (n, M)), axis=1) - 1.0          # sold months before this one
        share = np.clip(12.0 * cy - k, 0.0, 1.0)
    if path == "flat":
        p = np.broadcast_to(pc, (n, M))
        sold = (np.minimum(1.0, um * (pc / pm) ** (-e)) if utilization is None else col(utilization))
        sold = np.broadcast_to(sold, (n, M))
        contract_rev_h = share * p * sold
    else:
        mkt = pc * 10.0 ** (-d * tau)
        if path == "rebound":
            R = col(v["rent_rebound_fraction"])
            x = tau - cy
            ref = pc * 10.0 ** (-d * cy)
            mkt = np.where(x < 1.0, ref * (1.0 + R * np.clip(x, 0.0, 1.0)),
                           ref * (1.0 + R) * 10.0 ** (-d * (x - 1.0)))
        after = mkt * (1.0 + premium)
        u_after = np.minimum(1.0, um * (1.0 + premium) ** (-e))
        uc = col(v["contract_utilization"])
        contract_rev_h = share * pc * uc                                  # per calendar hour of the month
        rev_h = contract_rev_h + (1.0 - share) * after * u_after
        sold = share * uc + (1.0 - share) * u_after
        with np.errstate(divide="ignore", invalid="ignore"):
            p = np.where(sold > 0, rev_h / np.where(sold > 0, sold, 1.0), share * pc + (1.0 - share) * after)
    p = np.where(on, p, 0.0)
    sold = np.where(on, sold, 0.0)
    hm = H / 12.0
    revenue = p * sold * hm
    contract_revenue = np.where(on, contract_rev_h, 0.0) * hm
    energy = energy_h[:, None] * sold * hm
    opex = np.broadcast_to(fixed_h[:, None] * hm, (n, M))
    monthly = revenue - energy - opex
    annual = np.zeros((n, N + 1))
    annual[:, 0] = -capex
    for y in range(N):
        annual[:, y + 1] = monthly[:, 12 * y:12 * (y + 1)].sum(axis=1)
    # retirement (RETIRE_RULES)
    last = np.full(n, N)                                    # years run: N = to the horizon
    L_book = np.broadcast_to(col(v["ibm_book_life_years"])[:, 0], (n,))
    d_n = np.broadcast_to(d[:, 0], (n,))
    if retire == "when_unprofitable":                       # the last year with a positive cash margin
        pos = annual[:, 1:] > 0
        last = np.where(pos.any(axis=1), N - np.argmax(pos[:, ::-1], axis=1), 1)
    elif retire == "max_npv":                               # the sale year of the largest NPV
        ages = np.minimum(np.arange(1, N + 1, dtype=float), float(years))            # age at a sale after year T
        rate = np.broadcast_to(col(v["cost_of_capital"])[:, 0], (n,))
        disc = (1.0 + rate[:, None]) ** -np.arange(1, N + 1)[None, :]
        sale = _value(value_curve, capex[:, None], ages[None, :], L_book[:, None], d_n[:, None])
        worth = np.cumsum(annual[:, 1:] * disc, axis=1) + sale * disc                   # NPV + capex, per T
        last = np.argmax(worth, axis=1) + 1                                           # the earliest best
    retired = last < N
    end = np.where(retired, last.astype(float), float(years))   # age when it stops [years]
    alive = np.arange(M)[None, :] < np.where(retired, 12 * last, M)[:, None]
    sold, revenue, energy, contract_revenue = (np.where(alive, x, 0.0) for x in (sold, revenue, energy,
                                                                                  contract_revenue))
    opex = np.where(alive, opex, 0.0)
    monthly = revenue - energy - opex
    annual[:, 1:] = np.where(np.arange(1, N + 1)[None, :] <= last[:, None], annual[:, 1:], 0.0)
    residual = np.broadcast_to(_value(value_curve, capex, end, L_book, d_n), (n,))
    annual[np.arange(n), last] += residual
    cum = -capex[:, None] + np.cumsum(monthly, axis=1)
    reached = cum >= 0
    has = reached.any(axis=1)
    k = np.argmax(reached, axis=1)
    prev = np.where(k > 0, cum[np.arange(n), np.maximum(k - 1, 0)], -capex)
    step = monthly[np.arange(n), k]
    with np.errstate(divide="ignore", invalid="ignore"):
        pb = (k + (-prev) / np.where(step > 0, step, np.inf)) / 12.0
    pb = np.where(has, pb, np.inf)
    L = np.broadcast_to(col(v["ibm_book_life_years"])[:, 0], (n,))
    book_dep = capex / L
    book_value = capex * np.maximum(0.0, 1.0 - end / L)   # undepreciated at the sale (straight line over L)
    return {"t_years": t, "price": p, "sold": sold, "revenue": revenue, "contract_revenue": contract_revenue,
            "energy": energy, "opex": opex,
            "annual": annual, "capex": capex, "residual": residual, "book_dep": book_dep, "payback": pb,
            "end_years": end, "book_value": book_value, "gain_on_sale": residual - book_value}


@dataclass(frozen=True)
class ProviderView(Printout):
    """An operator buying GPUs and renting them out (IBM's view), per GPU. All figures are
    **pre-tax and unlevered**.

    cash_flows_usd: year 0 (-capex) then yearly net cash over the horizon ``years``, the
    residual value in the retirement year (else the last), 0 after a retirement [USD per
    GPU]; payback_years (undiscounted, operating cash only; ``math.inf`` if never); irr
    [1/year] (None if the NPV never falls through zero); npv_usd_per_gpu at the cost of
    capital [USD]; book_profit_usd: revenue - cash costs - straight-line depreciation over the
    book life for the part of each year the hardware runs + the gain or loss on its sale in
    the year of the sale (at retirement, else at the horizon, where the cash view takes the
    residual), 0 after a retirement [USD]: its sum equals the sum of cash_flows_usd (pre-tax,
    unlevered: no tax or interest separates them); gain_on_sale_usd: the sale price
    (residual_usd_per_gpu) minus book_value_at_sale_usd, the undepreciated book value then
    [USD]; margin_usd_per_gpu_hour: first price minus the owned cost per sold hour
    at the first sold share (annuity at the cost of capital over the years the hardware runs,
    with no credit for the resale value; so a retirement raises that cost) [USD];
    resale_credit_usd_per_gpu_hour: the sale price (residual_usd_per_gpu) spread over the
    same hours as the capital, i.e. capital recovery with a salvage value, (A/F, r, n) on the
    sale price, per sold hour [USD]; margin_with_resale_usd_per_gpu_hour: the margin with
    that credit, the one to compare across retirement rules and value curves [USD]. retire:
    the rule (None: run to the horizon); retirement_year: when the rule stops the hardware before the horizon (the end
    of its last year with a positive cash margin, or of the year of the largest NPV) [years
    from purchase], else None. all_in_capex_usd_per_gpu: the whole capex per GPU (GPU, host,
    spares, network, storage, front-end) [USD]; capex_usd_per_gpu is the same figure under its
    older name, kept for existing code (the input of that name is the GPU alone).
    """

    path: str
    price_usd_per_gpu_hour: float
    utilization: float
    years: float
    margin_usd_per_gpu_hour: float
    cost_usd_per_sold_gpu_hour: float
    cash_flows_usd: np.ndarray = field(repr=False)
    payback_years: float
    irr: float | None
    npv_usd_per_gpu: float
    revenue_usd: np.ndarray = field(repr=False)
    cash_cost_usd: np.ndarray = field(repr=False)
    book_profit_usd: np.ndarray = field(repr=False)
    capex_usd_per_gpu: float
    residual_usd_per_gpu: float
    monthly: Any = field(repr=False)
    basis: str = "pre-tax, unlevered"
    retire: str | None = None
    retirement_year: float | None = None
    gain_on_sale_usd: float = math.nan
    book_value_at_sale_usd: float = math.nan
    resale_credit_usd_per_gpu_hour: float = math.nan
    margin_with_resale_usd_per_gpu_hour: float = math.nan

    def _printout(self) -> str:
        """What print() and a notebook show: a readable printout, one field a line with its unit (4 significant figures); the
        exact values are the attributes (the yearly and monthly arrays among them)."""
        from .._repr import readable
        from .owned import all_in_names, with_capex_note

        return with_capex_note(readable(self, all_in_names(self), footer="exact values: the attributes; yearly arrays: .cash_flows_usd, .revenue_usd, .cash_cost_usd, .book_profit_usd; .monthly"))

    @property
    def all_in_capex_usd_per_gpu(self) -> float:
        """The whole capex per GPU [USD]: ``capex_usd_per_gpu`` by a name no input shares (the
        input ``capex_usd_per_gpu`` is the GPU alone)."""
        return self.capex_usd_per_gpu

    @property
    def operating_years(self) -> float:
        """Years the hardware runs: the retirement year, else the horizon [years]."""
        return self.years if self.retirement_year is None else self.retirement_year

    @property
    def book_margin(self) -> float:
        """Book operating profit over revenue across the horizon [fraction]."""
        rev = float(self.revenue_usd.sum())
        return float(self.book_profit_usd.sum()) / rev if rev > 0 else -math.inf

    def cash_flow_frame(self):
        """polars DataFrame: year, revenue_usd, cash_cost_usd, cash_flow_usd, cumulative_usd,
        book_profit_usd (per GPU)."""
        import polars as pl

        cf = self.cash_flows_usd
        return pl.DataFrame({"year": np.arange(len(cf)), "revenue_usd": np.r_[0.0, self.revenue_usd],
                             "cash_cost_usd": np.r_[0.0, self.cash_cost_usd], "cash_flow_usd": cf,
                             "cumulative_usd": np.cumsum(cf), "book_profit_usd": np.r_[0.0, self.book_profit_usd]})


def _months_to_first_sale(setup_weeks: float) -> int:
    """The shortest horizon that sells a GPU-hour after ``setup_weeks`` of setup and burn-in
    [months of the operator model's steps]: months are sold from the first whose midpoint lies
    after the setup (:func:`operator_cash_flows`)."""
    return max(0, math.ceil(12.0 * setup_weeks / WEEKS_PER_YEAR - 0.5)) + 1


def _resale_credit(sale_usd: float, rate: float, life_years: float, setup_weeks: float, utilization: float) -> float:
    """What the sale at the end of the life takes off the owned cost per sold GPU-hour [USD].

    Capital recovery with a salvage value S (any engineering-economics text: CR = (I - S)
    (A/P, r, n) + r S = I (A/P, r, n) - S (A/F, r, n)) charges S (A/F, r, n) a year less than
    the annuity on I alone, which the owned cost charges; the sinking-fund factor (A/F, r, n) =
    r / ((1 + r)^n - 1) (1/n at r = 0). Spread like the owned cost's other fixed costs: over
    8,766 h a year, with the setup weeks' share (1 + setup / (52.18 n)), per sold hour (/ U).
    """
    n = life_years
    sff = 1.0 / n if rate == 0.0 else rate / math.expm1(n * math.log1p(rate))
    return sale_usd * sff / HOURS_PER_YEAR * (1.0 + setup_weeks / (WEEKS_PER_YEAR * n)) / utilization


def provider_view(price_usd_per_gpu_hour: float | None = None, utilization: float | None = None,
                  accelerator: str = "MI300X", *, path: str = "flat", years: float | None = None,
                  market_price_usd_per_gpu_hour: float | None = None, value_curve: str = "exponential",
                  premium: float = 0.0, retire: str | None = "when_unprofitable",
                  **overrides: float) -> ProviderView:
    """The operator's economics of renting out GPUs it owns (IBM's view), per GPU.

    Parameters
    ----------
    price_usd_per_gpu_hour : the price charged [USD per GPU-hour]: the flat price, or the
        contract price for "decay"/"rebound" (default ``contract_usd_per_gpu_hour``)
    utilization : sold share for "flat" (default: tied to price through the elasticity
        against ``market_price_usd_per_gpu_hour``)
    path : "flat" | "decay" | "rebound" (module notes)
    years : horizon [years] (default IBM's book life, ``ibm_book_life_years``)
    market_price_usd_per_gpu_hour : market reference for the flat path's sold share
        (default ``contract_usd_per_gpu_hour``)
    value_curve : residual value at the horizon: "exponential" (Epoch decay), "straight-line"
        (book value) or "none"
    premium : price above the market after the contract [fraction]
    retire : "when_unprofitable" (default), "max_npv" or None. With the default the hardware stops at the
        end of the last year of the horizon whose cash margin (revenue - energy - opex) is
        positive and is sold at its residual value then (``value_curve`` at that age, as at
        the end of the horizon); with no positive year it stops after year 1. Years of loss
        before a later profitable year (a setup year, a dip after the contract) are kept.
        It is the default because an operator stops renting out hardware that no longer
        covers its cash costs: run to a long horizon on a decaying rent, the view would
        otherwise pay decades of losses, and report a payback beside no IRR. None runs the
        hardware to the horizon whatever the margin. The rule looks at cash margins only: it
        does not weigh a year's margin against the fall of the resale value over that year.
        "max_npv" does: the hardware is sold after the year that maximizes the NPV (the
        abandonment rule of replacement analysis, :data:`RETIRE_RULES`). It is not the default
        because it trusts the value curve as a sale price for used accelerators, a thin market
        (docs/economics.md gives both rules' figures). CAVEAT: under the default the NPV and
        IRR can fall as the price rises (a higher price keeps the hardware a year longer whose
        margin is worth less than its fall in resale value; :data:`RETIRE_RULES`); "max_npv"
        and None rise with it.
    **overrides : owned-cost and operator inputs (:data:`OPERATOR_PARAMS`)

    Returns
    -------
    ProviderView (pre-tax, unlevered)

    Examples
    --------
    >>> pv = provider_view(path="decay")
    >>> pv.basis
    'pre-tax, unlevered'
    >>> provider_view(path="decay", years=30).retirement_year   # the rent no longer pays after year 4
    4.0
    """
    V.choice("path", path, PATHS)
    V.choice("value_curve", value_curve, VALUE_CURVES)
    prem = V.number("premium", premium, lo=-0.99, hi=20.0)
    if "utilization" in overrides:
        raise ValidationError("provider_view: pass the sold share as utilization= (second argument), "
                              "not as an override")
    v = operator_inputs(accelerator, overrides)
    N = V.positive("years", years, hi=30.0) if years is not None else v["ibm_book_life_years"]
    if N < 1.0 / 12.0:
        raise ValidationError(f"years = {years!r}: need at least one month (1/12 year)")
    p = None if price_usd_per_gpu_hour is None else V.positive("price_usd_per_gpu_hour", price_usd_per_gpu_hour, hi=1e4)
    pm = None if market_price_usd_per_gpu_hour is None else V.positive(
        "market_price_usd_per_gpu_hour", market_price_usd_per_gpu_hour, hi=1e4)
    u = None
    if utilization is not None:
        if path != "flat":
            raise ValidationError(f"utilization = {utilization!r}: only for path='flat'; the other paths use "
                                  f"contract_utilization and market_utilization")
        u = V.fraction("utilization", utilization)
    rule = _retire_rule(retire)
    r = _operator_cash_flows(v, path=path, years=N, price=p, market_price=pm, utilization=u,
                            value_curve=value_curve, premium=prem, retire=rule)
    end = float(r["end_years"][0])
    retired_at = end if end < N else None
    cf = r["annual"][0]
    rev_m, cost_m = r["revenue"][0], r["energy"][0] + r["opex"][0]
    Ny = len(cf) - 1
    rev_y = np.array([rev_m[12 * y:12 * (y + 1)].sum() for y in range(Ny)])
    cost_y = np.array([cost_m[12 * y:12 * (y + 1)].sum() for y in range(Ny)])
    gain = float(r["gain_on_sale"][0])
    book_y = _book_profit_by_year(r, v["ibm_book_life_years"])[0]
    on = r["sold"][0] > 0
    if not (r["price"][0] > 0).any():
        # every month of the horizon falls in the setup and burn-in: nothing is rented. The view
        # reported price_usd_per_gpu_hour = 0.0 and utilization = 0.0 for a price given as 2.0
        m = _months_to_first_sale(v["setup_weeks"])
        raise ValidationError(
            f"years = {N:g}: the horizon ends inside the setup and burn-in (setup_weeks = "
            f"{v['setup_weeks']:g} weeks), so no GPU-hour is sold and there is no "
            f"price, margin or return to report; allowed years >= {m / 12:.3g} "
            f"({m} months of the model's monthly steps)")
    p0 = float(r["price"][0][on][0]) if on.any() else 0.0
    u0 = float(r["sold"][0][on][0]) if on.any() else 0.0
    ov = {k: v[k] for k in (*OWNED_PARAMS, "tdp_W", "network_usd_per_gpu") if k in v}
    ov.update(utilization=u0 if u0 > 0 else 1.0, life_years=end)
    cost_sold = owned_cost_per_gpu_hour(accelerator, **ov).total_usd_per_gpu_hour
    credit = _resale_credit(float(r["residual"][0]), v["cost_of_capital"], end, v["setup_weeks"], ov["utilization"])
    npv_v = float(np.sum(cf / (1.0 + v["cost_of_capital"]) ** np.arange(len(cf))))
    irr_v = float(irr_array(cf[None, :])[0])
    return ProviderView(
        path=path, price_usd_per_gpu_hour=p0, utilization=u0, years=float(N),
        margin_usd_per_gpu_hour=p0 - cost_sold, cost_usd_per_sold_gpu_hour=cost_sold,
        resale_credit_usd_per_gpu_hour=credit, margin_with_resale_usd_per_gpu_hour=p0 - cost_sold + credit,
        cash_flows_usd=cf, payback_years=float(r["payback"][0]),
        irr=None if math.isnan(irr_v) else irr_v, npv_usd_per_gpu=npv_v, revenue_usd=rev_y,
        cash_cost_usd=cost_y, book_profit_usd=book_y,
        capex_usd_per_gpu=float(r["capex"][0]), residual_usd_per_gpu=float(r["residual"][0]),
        monthly={"t_years": r["t_years"], "price": r["price"][0], "sold": r["sold"][0]},
        retire=rule, retirement_year=retired_at, gain_on_sale_usd=gain,
        book_value_at_sale_usd=float(r["book_value"][0]))


# --------------------------------------------------------------------------------------
# Total cost of ownership
# --------------------------------------------------------------------------------------
_TCO_COMPONENTS = ("GPUs + hosts + spares (capex)", "back-end network (capex)",
                   "storage + front-end network (capex)", "replacement (capex)", "energy", "colocation",
                   "maintenance and spares", "insurance and property tax", "operations staff",
                   "residual value (credit)")


def tco_arrays(v: Mapping[str, Any], years: float, *, value_curve: str = "exponential",
               replace_at_life: bool = False) -> dict[str, Any]:
    """TCO components per GPU on scalars or arrays: cash (undiscounted) and present value
    at the cost of capital [USD per GPU]. See :func:`tco`.

    ``v`` holds every owned-cost input (:data:`OWNED_PARAMS` and ``tdp_W`` [W]; units in
    parameters.csv), each a number or an array of draws: :func:`owned_inputs` builds the
    complete dict, ``sample_parameters`` draws (add ``tdp_W``). ``years`` is the horizon
    [1/12, 30] (a number or an array). A missing or misspelled key or a value out of bounds
    raises the package's error naming it.

    Parameters
    ----------
    years : the horizon [years] in [1/12, 30], a number or an array of draws

    Examples
    --------
    >>> import infra_lab as il
    >>> a = il.economics.tco_arrays(il.economics.owned_inputs("MI300X"), 3.0)
    >>> type(a).__name__, len(a) > 0
    ('dict', True)
    """
    V.choice("value_curve", value_curve, VALUE_CURVES)
    # d (depreciation_ooms_per_year) prices the replacement and the exponential value curve
    req, opt = _owned_keys(v if isinstance(v, Mapping) else {}, depreciation="exponential")
    v = V.model_inputs("tco_arrays", v, req, opt, what="TCO inputs", build=_OWNED_BUILD)
    N = V.values("years", years, 1.0 / 12.0, 30.0, allowed="a horizon in [1/12, 30] years")
    shapes = V.array_shapes(v, (*req, *opt))
    if isinstance(N, np.ndarray):
        shapes["years"] = N.shape
    repl = replace_at_life
    if isinstance(repl, np.ndarray) and repl.dtype == bool:
        shapes["replace_at_life"] = repl.shape
    else:
        V.boolean("replace_at_life", repl)
    V.check_shapes("tco_arrays", shapes)
    return _tco_arrays(v, N if isinstance(N, np.ndarray) else years, value_curve=value_curve,
                       replace_at_life=replace_at_life)


def _tco_arrays(v: Mapping[str, Any], years: Any, *, value_curve: str = "exponential",
                replace_at_life: Any = False) -> dict[str, Any]:
    """:func:`tco_arrays` without the checks (inputs from :func:`owned_inputs`)."""
    N = years
    c = _owned_components({**v, "utilization": 1.0})
    s = v["setup_weeks"] / WEEKS_PER_YEAR
    U, r, d, L = v["utilization"], v["cost_of_capital"], v["depreciation_ooms_per_year"], v["life_years"]
    H = HOURS_PER_YEAR
    op_years = np.maximum(N - s, 0.0)
    # present value of a constant flow per year over [a, b]: integral of (1+r)^-t dt
    def pv_flow(a, b):
        lr = np.log1p(r)
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(lr > 0, ((1 + r) ** (-a) - (1 + r) ** (-b)) / np.where(lr > 0, lr, 1.0), b - a)
    cap = {"GPUs + hosts + spares (capex)": c["server"], "back-end network (capex)": c["network_capex"],
           "storage + front-end network (capex)": c["other_capex"]}
    cash = dict(cap)
    pv = dict(cap)
    capex = c["capex"]
    repl = np.where(np.asarray(replace_at_life) & (np.asarray(N) > np.asarray(L)), 1.0, 0.0)
    new_price = capex * 10.0 ** (-d * L)
    cash["replacement (capex)"] = repl * (new_price - _value(value_curve, capex, L, L, d))
    pv["replacement (capex)"] = cash["replacement (capex)"] * (1 + r) ** (-L)
    energy_y = c["energy_h"] * U * H
    cash["energy"] = energy_y * op_years
    pv["energy"] = energy_y * pv_flow(np.minimum(s, N), N)   # none before the horizon ends (was a credit)
    for name, key in (("colocation", "facility"), ("maintenance and spares", "maintenance"),
                      ("insurance and property tax", "insurance_tax"), ("operations staff", "staff")):
        y = c[key] * H
        cash[name] = y * N
        pv[name] = y * pv_flow(0.0, N)
    res = np.where(repl > 0, _value(value_curve, new_price, N - L, L, d), _value(value_curve, capex, N, L, d))
    cash["residual value (credit)"] = -res
    pv["residual value (credit)"] = -res * (1 + r) ** (-N)
    useful_hours = op_years * H * U
    return {"cash": cash, "pv": pv, "useful_hours": useful_hours}


def tco(n_gpus: int | None = None, years: float | None = None, utilization: float | None = None,
        accelerator: str | None = None, *, depreciation: str = "exponential",
        network: str = "per-port",
        value_curve: str | None = None, replace_at_life: bool = False, hardware: Any = None,
        radix: int | None = None, **overrides: float) -> pl.DataFrame:
    """Total cost of owning ``n_gpus`` for ``years``: capex + opex - residual value.

    Parameters
    ----------
    n_gpus : GPUs billed (spares are added by ``spare_fraction``); default the hardware's, else
        the cluster of the shipped scenario ``economics.REFERENCE_SCENARIO`` (ZAYA1's 1,024 MI300X)
    accelerator : catalog name (None: the hardware's, else MI300X)
    hardware, radix : optional Scenario or [hardware] table and its switch radix: the cluster
        whose own fabric counts the back-end network (as :func:`owned_cost_per_gpu_hour`'s).
        Without it the cluster is ``n_gpus`` of ``accelerator`` in whole nodes on the reference
        scenario's fabric (ZAYA1's rails-only) with the part's default NIC, as
        :func:`~infra_lab.economics.deal_pnl` builds it. Either way the per-GPU network counts
        are that cluster's whole switches, NICs and optics: parameters.csv's modes times
        :func:`~infra_lab.economics.fabric_count_factors` (0 where one node or one rack has no
        switch), the rule ``deal_pnl`` and ``expansion.owned_quote`` apply to their draws, so
        1,024 MI300X keep parameters.csv's counts and 16 pay for eight whole 64-port leaves.
        APPROXIMATE: ``n_gpus`` that fill no whole number of nodes are priced at the counts per
        GPU of the whole nodes that hold them. A count given in ``overrides`` without
        ``hardware`` is taken as given (with ``hardware`` it is refused, as in ``owned_inputs``).
        At most ``max_world_gpus`` (data/network_constants.csv) GPUs: the largest cluster
        the fabric code counts
    years : horizon [years]; default parameters.csv's ``tco_horizon_years`` (4, a labelled
        assumption: the shortest life filed for GPU servers before 2026)
    utilization : busy share of calendar hours, (0, 1] (default: data); drives energy
    depreciation : sets the value curve when ``value_curve`` is None: "exponential" (Epoch's
        decay: the market value of the hardware at the horizon) or "straight-line" (book value)
    network : "per-port" | "fraction" (as :func:`owned_cost_per_gpu_hour`)
    value_curve : "exponential" | "straight-line" | "none": residual value credited at the horizon
    replace_at_life : when ``years`` > ``life_years``, buy a new fleet at ``life_years`` at the
        then-current price for the same capability (capex 10^(-d life)), selling the old one
        at its value-curve value; otherwise the hardware runs to the horizon
    **overrides : any owned-cost input

    Returns
    -------
    polars DataFrame: component, usd (cash, undiscounted, whole cluster), usd_pv (present
    value at the cost of capital), usd_per_gpu, usd_per_useful_gpu_hour (null when the horizon
    ends before the setup_weeks do: no useful hours), share (of the cash total). The residual
    value is a negative (credit) row. Energy is paid from the end of the setup weeks.

    Examples
    --------
    >>> t = tco(1024, 3, 0.9)
    >>> bool(t["usd"].sum() > 0)
    True
    """
    import polars as pl

    from ..fabric import constant, hardware_config

    hw = None if hardware is None else hardware_config(hardware)
    most = int(constant("max_world_gpus"))      # the largest cluster the fabric code counts
    if hw is not None and n_gpus is not None and V.integer("n_gpus", n_gpus, lo=1, hi=most) != hw.world_size:
        raise ValidationError(f"n_gpus = {n_gpus!r} with hardware of {hw.world_size:,} GPUs: the hardware sets the "
                              "cluster; pass hardware or n_gpus, not both (or the same number)")
    n = hw.world_size if hw is not None else V.integer(
        "n_gpus", _reference_cluster()[0] if n_gpus is None else n_gpus, lo=1, hi=most)
    N = V.number("years", _all_scope("tco_horizon_years") if years is None else years, lo=1.0 / 12.0, hi=30.0,
                 allowed="a horizon in [1/12, 30] years")
    V.choice("depreciation", depreciation, ("straight-line", "exponential"))
    V.choice("network", network, ("per-port", "fraction"))
    curve = V.choice("value_curve", value_curve if value_curve is not None else depreciation, VALUE_CURVES)
    V.boolean("replace_at_life", replace_at_life)
    ov = dict(overrides)
    if utilization is not None:
        ov["utilization"] = utilization
    if network == "fraction":       # reads no count: the cluster's fabric does not enter
        v = owned_inputs(accelerator, ov, hardware=hw, radix=radix)
    else:
        v = _cluster_inputs(accelerator, ov, n, hw, radix)
    if network == "fraction":
        f = v["interconnect_fraction"]
        v["network_usd_per_gpu"] = (v["capex_usd_per_gpu"] + v["host_usd_per_gpu"]) * f / (1 - f)
    t = _tco_arrays(v, N, value_curve=curve, replace_at_life=replace_at_life)
    cash = {k: float(t["cash"][k]) for k in _TCO_COMPONENTS}
    pv = {k: float(t["pv"][k]) for k in _TCO_COMPONENTS}
    total = sum(cash.values())
    uh = float(t["useful_hours"])
    return pl.DataFrame({
        "component": list(_TCO_COMPONENTS), "usd": [cash[k] * n for k in _TCO_COMPONENTS],
        "usd_pv": [pv[k] * n for k in _TCO_COMPONENTS], "usd_per_gpu": [cash[k] for k in _TCO_COMPONENTS],
        "usd_per_useful_gpu_hour": pl.Series([cash[k] / uh if uh > 0 else None for k in _TCO_COMPONENTS],
                                             dtype=pl.Float64),
        "share": [cash[k] / total for k in _TCO_COMPONENTS]})


def _cluster_inputs(accelerator: str | None, ov: dict[str, Any], n: int, hw: Any, radix: Any) -> dict[str, float]:
    """The owned-cost inputs at the defaults of :func:`tco`'s cluster: ``hw``, or (None) ``n``
    GPUs of ``accelerator`` in whole nodes on the reference fabric (``deal_pnl``'s cluster), with
    the network counts of its own fabric by :func:`fabric_count_factors`' rule: each count of
    parameters.csv (or a given ``optics_per_gpu``, the reference fabric's figure, as
    ``owned_inputs(hardware=...)`` reads it) times its factor, or 0 where the fabric has none of
    the item. Counts given in ``ov`` without ``hw`` are the caller's, taken as given."""
    from ..fabric import platform
    from .deal import _reference_fabric_cluster

    canon, _ = _fabric_overrides(accelerator, ov, hw, radix)    # the accelerator/hardware/radix checks
    given: set[str] = set()
    if hw is None:
        per = int(platform(canon)["node_gpus"])
        nodes = -(-n // per)
        hw = _reference_fabric_cluster(canon, nodes * per, nodes)
        given = set(FABRIC_COUNTS) & set(ov)
    v = owned_inputs(canon, ov)
    scale, zero = fabric_count_factors(hw, radix)
    for k in FABRIC_COUNTS:
        if k not in given:
            v[k] = 0.0 if k in zero else v[k] * scale.get(k, 1.0)
    return v


def tco_total(n_gpus: int | None = None, years: float | None = None, utilization: float | None = None,
              accelerator: str = "MI300X", *, present_value: bool = False, **kw: Any) -> float:
    """Sum of :func:`tco` [USD]: the cash total, or the present value with ``present_value``
    (``n_gpus`` and ``years`` default as in :func:`tco`).

    Examples
    --------
    >>> import infra_lab as il
    >>> t = il.economics.tco_total(1024, 3, 0.9)
    >>> t == il.economics.tco(1024, 3, 0.9)["usd"].sum()
    True
    """
    t = tco(n_gpus, years, utilization, accelerator, **kw)
    return float(t["usd_pv" if V.boolean("present_value", present_value) else "usd"].sum())
