"""Economics dashboard: price, utilization, PUE, electricity, life and cost of capital move
the owned cost per useful GPU-hour, the rent-vs-own break-even and the operator's payback.

The callback does no modelling: :func:`economics_update` calls the public functions of
``infra_lab.economics`` and returns numbers and a chart, so tests call it directly.
"""

from __future__ import annotations

from typing import Any

import ipywidgets as w

from .. import economics as E
from ..charts import economics as C
from ._layout import fit_labels

__all__ = ["economics_update", "economics_dashboard"]


def economics_update(price_usd_per_gpu_hour: float = 2.6, utilization: float = 0.9,
                     pue: float = 1.25, electricity_usd_per_kWh: float = 0.08,
                     life_years: float = 5.0, cost_of_capital: float = 0.08,
                     accelerator: str = "MI300X") -> dict[str, Any]:
    """Recompute the dashboard's numbers for one set of inputs.

    Parameters
    ----------
    price_usd_per_gpu_hour : rental price [USD per GPU-hour] (what a renter pays and what the
        operator charges)
    utilization : fraction of owned hours used or sold, (0, 1]
    pue : power usage effectiveness [>= 1]
    electricity_usd_per_kWh : [USD per kWh]
    life_years : straight-line life [years]
    cost_of_capital : [1/year]

    Returns
    -------
    dict: owned_usd_per_gpu_hour, break_even_utilization, margin_usd_per_gpu_hour,
    payback_years, irr, breakdown (polars), chart (altair rent-vs-own chart), text (HTML)
    """
    kw = dict(pue=pue, electricity_usd_per_kWh=electricity_usd_per_kWh, life_years=life_years,
              cost_of_capital=cost_of_capital)
    own = E.owned_cost_per_gpu_hour(accelerator, utilization=utilization, **kw)
    be = E.break_even_utilization(price_usd_per_gpu_hour, accelerator, **kw)
    pv = E.provider_view(price_usd_per_gpu_hour, utilization, accelerator, **kw)
    curve = E.rent_vs_own_curve({f"rent on demand at ${price_usd_per_gpu_hour:.2f}": price_usd_per_gpu_hour},
                                accelerator, **kw)
    chart = C.rent_vs_own_chart(curve)
    be_txt = "never (renting is cheaper at any utilization)" if be > 1 else f"{be:.0%}"
    irr_txt = "n/a" if pv.irr is None else f"{pv.irr:.0%}"
    text = (f"<b>Owned {own.accelerator}</b>: ${own.total_usd_per_gpu_hour:.2f} per useful GPU-hour "
            f"at {utilization:.0%} utilization. <b>Owning beats renting</b> at ${price_usd_per_gpu_hour:.2f} "
            f"above {be_txt} utilization.<br><b>Operator</b> renting at ${price_usd_per_gpu_hour:.2f}: "
            f"margin ${pv.margin_usd_per_gpu_hour:.2f} per sold GPU-hour, payback "
            f"{pv.payback_years:.1f} years, IRR {irr_txt} over {pv.years:g} years.")
    return {"owned_usd_per_gpu_hour": own.total_usd_per_gpu_hour, "break_even_utilization": be,
            "margin_usd_per_gpu_hour": pv.margin_usd_per_gpu_hour, "payback_years": pv.payback_years,
            "irr": pv.irr, "breakdown": own.breakdown, "chart": chart, "text": text}


def economics_dashboard(accelerator: str = "MI300X") -> w.VBox:
    """Sliders for price, utilization, PUE, electricity, life and cost of capital, with the
    numbers and the rent-vs-own chart they drive. Defaults come from data/economics."""
    d = E.defaults(accelerator)
    P = E.parameters(accelerator)
    layout = w.Layout(width="560px")
    sliders = {
        "price_usd_per_gpu_hour": w.FloatSlider(value=d["rental_usd_per_gpu_hour"], min=1.0, max=8.0, step=0.05,
                                                description="rental price [USD/GPU-h]"),
        "utilization": w.FloatSlider(value=d["utilization"], min=0.1, max=1.0, step=0.01,
                                     description="utilization [fraction]"),
        "pue": w.FloatSlider(value=d["pue"], min=1.0, max=P["pue"].high + 0.2, step=0.01, description="PUE"),
        "electricity_usd_per_kWh": w.FloatSlider(value=d["electricity_usd_per_kWh"], min=0.03, max=0.25,
                                                 step=0.005, readout_format=".3f",
                                                 description="electricity [USD/kWh]"),
        "life_years": w.FloatSlider(value=d["life_years"], min=2.0, max=8.0, step=0.5,
                                    description="useful life [years]"),
        "cost_of_capital": w.FloatSlider(value=d["cost_of_capital"], min=0.0, max=0.2, step=0.005,
                                         readout_format=".3f", description="cost of capital [1/yr]"),
    }
    for s in sliders.values():
        s.layout, s.continuous_update = layout, False
    fit_labels(sliders.values())
    html = w.HTML()
    out = w.Output()

    def refresh(_=None) -> dict[str, Any]:
        r = economics_update(**{k: s.value for k, s in sliders.items()}, accelerator=accelerator)
        html.value = r["text"]
        out.clear_output(wait=True)
        with out:
            from IPython.display import display

            display(r["chart"])
        return r

    for s in sliders.values():
        s.observe(refresh, names="value")
    box = w.VBox([*sliders.values(), html, out])
    box.refresh = refresh  # type: ignore[attr-defined]
    refresh()
    return box
