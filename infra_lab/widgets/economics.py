"""Economics explorer: purchase price, server overhead (host), colocation, utilization and
life — the inputs that move the answer most — plus the rent, drive the owned cost (with
its band over the other inputs), rent vs own for a renter, and the operator's return.

The callback does no modelling: :func:`economics_update` calls the public functions of
``infra_lab.economics`` and returns numbers and a chart, so tests call it directly.
"""

from __future__ import annotations

import math
from typing import Any

import ipywidgets as W

from .. import economics as E
from ..charts import economics as C
from ..economics import _validate as EV
from ..errors import ValidationError
from ._layout import fit_labels

__all__ = ["economics_update", "economics_explorer", "economics_dashboard", "DASHBOARD_INPUTS", "default_rent"]

DASHBOARD_INPUTS = ("capex_usd_per_gpu", "host_usd_per_gpu", "colocation_usd_per_kW_month",
                    "utilization", "life_years")
"""The owned-cost inputs with sliders (the largest swings in the tornado)."""


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
        price_usd_per_gpu_hour = default_rent(accelerator)[0]
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
    sign = lambda x: f"{'−' if x < 0 else ''}${abs(x):.2f}"  # noqa: E731
    text = (f"<b>Owned {own.accelerator}</b>: ${own.total_usd_per_gpu_hour:.2f} per useful GPU-hour at these "
            f"inputs (others at their modes); with the other inputs uncertain: ${band.fmt()} (P50, P5–P95)."
            f"<br><b>Renter</b>: {ro.text}."
            f"<br><b>Operator</b> (contract at ${price_usd_per_gpu_hour:.2f}, then the decaying market rent): "
            f"IRR {irr_txt}, operating cash pays the GPU back {pb_txt}, NPV {'−' if pv.npv_usd_per_gpu < 0 else ''}"
            f"${abs(pv.npv_usd_per_gpu):,.0f} per GPU over {pv.years:g} years"
            + ("" if pv.retirement_year is None else
               f", the GPUs retired after year {pv.retirement_year:g}, the last whose rent covers their cash costs")
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
    rent-vs-own chart they drive. Defaults come from parameters.csv; the ranges reach beyond
    its low–high (a purchase price from half its low to 1.5× its high, the host from 0,
    colocation 50–260 USD per kW-month, utilization 0.1–1, life 2–8 years, rent 1–8 USD per
    GPU-hour) so the extremes can be explored. ``box.update`` is the callback, ``box.controls``
    the widgets by name (the rent, the :data:`DASHBOARD_INPUTS` and ``committed``)."""
    P = E.parameters(accelerator)
    if "capex_usd_per_gpu" not in P:
        raise E.NoPurchasePriceError(f"economics_explorer: {accelerator} has no public purchase price; "
                                     f"use economics_update(..., capex_usd_per_gpu=...) directly")
    layout = W.Layout(width="600px")

    def slider(name: str, step: float, fmt: str = ".2f", lo: float | None = None, hi: float | None = None):
        p = P[name]
        return W.FloatSlider(value=p.value, min=p.low if lo is None else lo, max=p.high if hi is None else hi,
                             step=step, readout_format=fmt, description=p.label)

    try:
        rent0, committed0 = default_rent(accelerator)   # MI300X's contract rent was used for every accelerator
    except ValidationError:    # the explorer takes no price: say where one can be given
        raise ValidationError(f"economics_explorer: {accelerator} has no contract default "
                              "(contract_usd_per_gpu_hour) and no on-demand listing (data/cloud_prices.csv) to "
                              "start the rent slider; pass the rent to economics_update(price_usd_per_gpu_hour, "
                              f"{accelerator!r})") from None
    sliders = {
        "price_usd_per_gpu_hour": W.FloatSlider(value=rent0, min=1.0, max=max(8.0, math.ceil(2.0 * rent0)), step=0.05,
                                                description="rent [USD per GPU-hour]"),
        "capex_usd_per_gpu": slider("capex_usd_per_gpu", 250.0, ",.0f", lo=0.5 * P["capex_usd_per_gpu"].low,
                                    hi=1.5 * P["capex_usd_per_gpu"].high),
        "host_usd_per_gpu": slider("host_usd_per_gpu", 100.0, ",.0f", lo=0.0, hi=max(15000.0, P["host_usd_per_gpu"].high)),
        "colocation_usd_per_kW_month": slider("colocation_usd_per_kW_month", 5.0, ".0f", lo=50.0, hi=260.0),
        "utilization": slider("utilization", 0.01, ".2f", lo=0.1, hi=1.0),
        "life_years": slider("life_years", 0.5, ".1f", lo=2.0, hi=8.0),
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
