"""Economics explorer: purchase price, server overhead (host), colocation, utilization and
life — the inputs that move the answer most — plus the rent, drive the owned cost (with
its band over the other inputs), rent vs own for a renter, and the operator's return.

The callback does no modelling: :func:`economics_update` calls the public functions of
``infra_lab.economics`` and returns numbers and a chart, so tests call it directly.
"""

from __future__ import annotations

from typing import Any

import ipywidgets as W

from .. import economics as E
from ..charts import economics as C
from ..economics import _validate as EV
from ..errors import ValidationError, unknown
from ._layout import fit_labels

__all__ = ["economics_update", "economics_explorer", "economics_dashboard", "DASHBOARD_INPUTS", "default_rent",
           "economics_slider_range", "ECONOMICS_SLIDER_SPAN"]

DASHBOARD_INPUTS = ("capex_usd_per_gpu", "host_usd_per_gpu", "colocation_usd_per_kW_month",
                    "utilization", "life_years")
"""The owned-cost inputs with sliders (the largest swings in the tornado)."""


ECONOMICS_SLIDER_SPAN = (0.5, 1.5)
"""How far an explorer's slider reaches past an input's sourced range [-]: from this × the
row's low to this × its high (:func:`economics_slider_range`), so the extremes can be explored."""


def economics_slider_range(name: str, accelerator: str = "MI300X") -> tuple[float, float]:
    """The span of an explorer's slider for an economics input, in the unit of its row:
    :data:`ECONOMICS_SLIDER_SPAN` × the low and the high of the accelerator's row in
    ``data/economics/parameters.csv`` (``il.economics.parameters``), inside the input's
    physical bounds (``il.economics._validate.BOUNDS``: a fraction at most 1, a price above
    0). The one owner of the spans of :func:`economics_explorer`'s sliders.

    ``name = "price_usd_per_gpu_hour"`` (the rent) spans the accelerator's dedicated-contract
    range (``contract_usd_per_gpu_hour``, where it has one) and its current on-demand
    listings (``il.economics.cloud_price_rows``, where it has some) [USD per GPU-hour].

    Examples
    --------
    >>> p = E.parameters("MI300X")["life_years"]
    >>> economics_slider_range("life_years") == (ECONOMICS_SLIDER_SPAN[0] * p.low, ECONOMICS_SLIDER_SPAN[1] * p.high)
    True
    """
    if not isinstance(name, str):
        raise ValidationError(f"name = {name!r}: expected an economics input name (str), e.g. 'life_years'")
    P = E.parameters(accelerator)
    if name == "price_usd_per_gpu_hour":
        ends = [] if "contract_usd_per_gpu_hour" not in P else [P["contract_usd_per_gpu_hour"].low,
                                                                  P["contract_usd_per_gpu_hour"].high]
        try:
            ends += E.cloud_price_rows(accelerator)["price_usd_per_gpu_hour"].to_list()
        except ValidationError:
            pass
        if not ends:
            raise ValidationError(f"economics_slider_range: {EV.accelerator(accelerator)} has no contract rent "
                                  "(contract_usd_per_gpu_hour) and no on-demand listing (data/cloud_prices.csv)")
        low, high, bound = min(ends), max(ends), "rental_usd_per_gpu_hour"
    else:
        if name not in P:
            raise unknown("input", name, sorted(P), where=f"economics_slider_range (parameters.csv, {accelerator})")
        low, high, bound = P[name].low, P[name].high, name
    lo, hi = ECONOMICS_SLIDER_SPAN[0] * low, ECONOMICS_SLIDER_SPAN[1] * high
    b_lo, b_hi, _, _ = EV.BOUNDS.get(bound, (None, None, False, False))
    if b_lo is not None:
        lo = max(lo, b_lo)
    if b_hi is not None:
        hi = min(hi, b_hi)
    return float(lo), float(hi)


def default_rent(accelerator: str = "MI300X") -> tuple[float, bool]:
    """The explorer's starting rent [USD per GPU-hour] and whether it is a commitment: the
    dedicated-contract default (``contract_usd_per_gpu_hour``, a commitment) where
    parameters.csv has one for the accelerator (MI300X), else the median of its current
    on-demand listings (``il.economics.cloud_price``)."""
    contract = _contract_rent(accelerator)
    return (contract, True) if contract is not None else (E.cloud_price(accelerator), False)


def _contract_rent(accelerator: str) -> float | None:
    """The accelerator's dedicated-contract rent default (parameters.csv
    ``contract_usd_per_gpu_hour``) [USD per GPU-hour], None where it has none."""
    p = E.parameters(accelerator).get("contract_usd_per_gpu_hour")
    return None if p is None else p.value


def economics_update(price_usd_per_gpu_hour: float | None = None, accelerator: str = "MI300X", *,
                     committed: bool | None = None, n: int = 20_000, seed: int = 0,
                     **inputs: float) -> dict[str, Any]:
    """Recompute the explorer for one set of inputs.

    Parameters
    ----------
    price_usd_per_gpu_hour : rent [USD per GPU-hour]: what a renter pays and what the operator
        charges on its first contract (None: :func:`default_rent`, the MI300X contract default
        or another accelerator's median on-demand listing)
    committed : the rent is a commitment paid every hour (True) or on demand (False); None:
        as :func:`default_rent` says for the default rent
    n, seed : Monte Carlo draws over the inputs without a slider
    **inputs : owned-cost inputs, e.g. the :data:`DASHBOARD_INPUTS` (units as in
        parameters.csv: USD per GPU, USD per GPU, USD per kW-month, fraction, years)

    Returns
    -------
    dict: owned_usd_per_gpu_hour (at the inputs, others at their modes), owned_band (Band
    with the other inputs uncertain), rent_vs_own (RentOrOwn), provider (ProviderView on the
    decay path), margin_usd_per_gpu_hour, resale_credit_usd_per_gpu_hour and
    margin_with_resale_usd_per_gpu_hour (the operator's, from ``provider``) [USD per sold
    GPU-hour], breakdown (polars), chart (altair), text (HTML)
    """
    n, seed = EV.draws(n), EV.seed(seed)   # first: a bad count is named before any modelling
    if committed is None:   # as default_rent: a commitment where a contract default exists
        committed = _contract_rent(accelerator) is not None
    if price_usd_per_gpu_hour is None:   # a given rent needs no listing (A100-SXM-80GB has none)
        try:
            price_usd_per_gpu_hour = default_rent(accelerator)[0]
        except ValidationError as e:   # cloud_price said "pass a price explicitly", not which argument
            why = str(e).removesuffix("; pass a price explicitly")
            raise ValidationError(f"price_usd_per_gpu_hour = None: no default rent for {accelerator}: {why}; pass "
                                  f"the rent as economics_update(price_usd_per_gpu_hour, {accelerator!r}) "
                                  "[USD/GPU-h]") from None
    own = E.owned_cost_per_gpu_hour(accelerator, **inputs)
    band = E.band(E.monte_carlo_owned_cost(n, seed=seed, accelerator=accelerator, fixed=inputs))
    ro = E.rent_vs_own(price_usd_per_gpu_hour, accelerator, committed=committed,
                       **{k: v for k, v in inputs.items() if k != "utilization"})
    op_inputs = {k: v for k, v in inputs.items() if k != "utilization"}
    pv = E.provider_view(price_usd_per_gpu_hour, accelerator=accelerator, path="decay", **op_inputs)
    label = f"rent {'committed' if committed else 'on demand'} at ${price_usd_per_gpu_hour:.2f}"
    curve = E.rent_vs_own_curve({label: price_usd_per_gpu_hour}, accelerator,
                                committed=[label] if committed else [], **op_inputs)
    chart = C.rent_vs_own_chart(curve, y_max=max(3.0 * price_usd_per_gpu_hour, 2.0 * own.total_usd_per_gpu_hour))
    irr_txt = "never repaid" if pv.irr is None else f"{pv.irr:.0%}"
    pb_txt = ("never within the horizon" if pv.payback_years == float("inf")
              else f"in {pv.payback_years:.1f} years")   # operating cash only: IRR and NPV count the residual value too
    sign = lambda x: f"{'−' if round(x, 2) < 0 else ''}${abs(x):.2f}"  # noqa: E731  (no "−$0.00")
    text = (f"<b>Owned {own.accelerator}</b>: ${own.total_usd_per_gpu_hour:.2f} per useful GPU-hour at these "
            f"inputs (others at their modes); with the other inputs uncertain: ${band.fmt()} (P50, P5–P95)."
            f"<br><b>Renter</b>: {ro.text}."
            f"<br><b>Operator</b> (contract at ${price_usd_per_gpu_hour:.2f}, then the decaying market rent): "
            f"IRR {irr_txt}, operating cash pays the GPU back {pb_txt}, NPV {'−' if round(pv.npv_usd_per_gpu) < 0 else ''}"
            f"${abs(pv.npv_usd_per_gpu):,.0f} per GPU over {pv.years:g} years"
            + ("" if pv.retirement_year is None else
               f", the GPUs retired after year {pv.retirement_year:g}, the last whose rent covers their cash costs; "
               "a rent that keeps them a year longer can lower the NPV, as notebook 05 section 4 shows")
            + " (IRR and NPV include the residual value when the GPUs stop; pre-tax, unlevered)."
            f"<br><b>Operator's margin over owning</b> per sold GPU-hour at the contract price of "
            f"${pv.price_usd_per_gpu_hour:.2f} (the decaying rent after it is in the IRR and NPV): "
            f"{sign(pv.margin_usd_per_gpu_hour)} against its owned cost of ${pv.cost_usd_per_sold_gpu_hour:.2f} per sold "
            f"hour (capital recovered over the {pv.operating_years:g} years the GPUs run, at the contract's sold share) with "
            f"no credit for the sale; {sign(pv.margin_with_resale_usd_per_gpu_hour)} with the resale credit of "
            f"${pv.resale_credit_usd_per_gpu_hour:.2f} (the sale price after {pv.operating_years:g} years, "
            f"${pv.residual_usd_per_gpu:,.0f} per GPU, spread over the hours as salvage value).")
    return {"owned_usd_per_gpu_hour": own.total_usd_per_gpu_hour, "owned_band": band, "rent_vs_own": ro,
            "provider": pv, "margin_usd_per_gpu_hour": pv.margin_usd_per_gpu_hour,
            "resale_credit_usd_per_gpu_hour": pv.resale_credit_usd_per_gpu_hour,
            "margin_with_resale_usd_per_gpu_hour": pv.margin_with_resale_usd_per_gpu_hour,
            "breakdown": own.breakdown, "chart": chart, "text": text}


def economics_explorer(accelerator: str = "MI300X") -> W.VBox:
    """Sliders for the rent and the five inputs that matter most, with the numbers and the
    rent-vs-own chart they drive. Defaults come from parameters.csv; each slider's span is
    :func:`economics_slider_range` (the row's low–high widened by :data:`ECONOMICS_SLIDER_SPAN` inside the
    input's bounds; the rent over the contract range and the current on-demand listings), so
    the extremes can be explored and the data own the ranges. An input whose row has no range
    (the host of a server-basis price, included in it) is shown fixed. ``box.update`` is the
    callback, ``box.controls`` the widgets by name (the rent, the :data:`DASHBOARD_INPUTS` and
    ``committed``)."""
    P = E.parameters(accelerator)
    if "capex_usd_per_gpu" not in P:
        raise E.NoPurchasePriceError(f"economics_explorer: {accelerator} has no public purchase price; "
                                     f"use economics_update(..., capex_usd_per_gpu=...) directly")
    layout = W.Layout(width="600px")

    def slider(name: str, step: float, fmt: str = ".2f", value: float | None = None,
               description: str | None = None):
        lo, hi = economics_slider_range(name, accelerator)     # the one owner of the spans
        v = P[name].value if value is None else value
        return W.FloatSlider(value=min(max(v, lo), hi), min=lo, max=hi, step=step, readout_format=fmt,
                             description=P[name].label if description is None else description,
                             disabled=hi <= lo)

    try:
        rent0, committed0 = default_rent(accelerator)   # MI300X's contract rent was used for every accelerator
    except ValidationError:    # the explorer takes no price: say where one can be given
        raise ValidationError(f"economics_explorer: {accelerator} has no contract default "
                              "(contract_usd_per_gpu_hour) and no on-demand listing (data/cloud_prices.csv) to "
                              "start the rent slider; pass the rent to economics_update(price_usd_per_gpu_hour, "
                              f"{accelerator!r})") from None
    sliders = {
        "price_usd_per_gpu_hour": slider("price_usd_per_gpu_hour", 0.05, ".2f", value=rent0,
                                         description="rent [USD per GPU-hour]"),
        "capex_usd_per_gpu": slider("capex_usd_per_gpu", 250.0, ",.0f"),
        "host_usd_per_gpu": slider("host_usd_per_gpu", 100.0, ",.0f"),
        "colocation_usd_per_kW_month": slider("colocation_usd_per_kW_month", 5.0, ".0f"),
        "utilization": slider("utilization", 0.01, ".2f"),
        "life_years": slider("life_years", 0.5, ".1f"),
    }
    committed = W.Checkbox(value=committed0, description="rent is a commitment (paid every hour)")
    for s in sliders.values():
        s.layout, s.continuous_update = layout, False
    fit_labels(sliders.values())
    html = W.HTML()
    from ..charts import ChartPane

    pane = ChartPane()

    def update(_=None) -> dict[str, Any]:
        vals = {k: s.value for k, s in sliders.items()}
        r = economics_update(vals.pop("price_usd_per_gpu_hour"), accelerator, committed=committed.value, **vals)
        html.value = r["text"]
        pane.show(r["chart"])
        return r

    for s in (*sliders.values(), committed):
        s.observe(update, names="value")
    box = W.VBox([*sliders.values(), committed, html, pane.widget])
    box.update = update  # type: ignore[attr-defined]
    box.chart = pane  # type: ignore[attr-defined]
    box.controls = {**sliders, "committed": committed}  # type: ignore[attr-defined]  # as every explorer
    update()
    return box


economics_dashboard = economics_explorer
"""The former name of :func:`economics_explorer` (every widget is ``<domain>_explorer`` now)."""
