"""Which owned-cost figure? (il.economics.figures, docs/economics.md "Which owned-cost figure?").

The three owned costs of a useful GPU-hour each have one owner, and they are related as the page
says: the point estimate is below the Monte Carlo P50 because the inputs' ranges are right-skewed,
and the like-for-like P50 is the same draws with the purchase price held at the baseboard listing.
Also: every type a public economics function is annotated to return is importable from
il.economics (PaybackBand was returned by payback_band and missing from __all__)."""

from __future__ import annotations

import dataclasses
import inspect
import typing

import numpy as np
import pytest

import infra_lab as il
from infra_lab._repr import Printout

E = il.economics


@pytest.fixture(scope="module")
def figs():
    return E.owned_cost_figures("MI300X")


@pytest.fixture(scope="module")
def bridge():
    return E.owned_cost_bridge("MI300X")


def test_each_figure_is_its_owner_s_value(figs):
    assert list(figs["figure"]) == list(E.OWNED_FIGURES)
    point, mc, like = figs["usd_per_gpu_hour"]
    assert point == E.owned_cost_per_gpu_hour("MI300X").total_usd_per_gpu_hour
    assert mc == E.owned_cost_band("MI300X").p50
    assert mc == float(np.median(E.monte_carlo_owned_cost(E.OWNED_COST_DRAWS, seed=E.OWNED_COST_SEED)))
    assert like == E.owned_gpu_hour_price("MI300X")
    assert point < mc < like
    assert figs["p5"][0] is None and figs["p5"][1] < mc < figs["p95"][1] and figs["p5"][2] < like < figs["p95"][2]


def test_like_for_like_is_the_monte_carlo_with_the_listing_price():
    """The same cost model and draws: only the purchase price is held at the listing."""
    q = E.owned_gpu_hour_quote("MI300X")
    held = E.monte_carlo_owned_cost(E.LIKE_FOR_LIKE_DRAWS, seed=E.LIKE_FOR_LIKE_SEED,
                                    fixed={"capex_usd_per_gpu": q["purchase_price_usd_per_gpu"]})
    assert float(np.median(held)) == q["usd_per_gpu_hour"]
    assert q["purchase_price_usd_per_gpu"] == E.purchase_price("MI300X", "baseboard")["price_usd_per_gpu"]


def test_the_bridge_sums_to_the_gap(bridge, figs):
    v = list(bridge["usd_per_gpu_hour"])
    ch = list(bridge["change_usd_per_gpu_hour"])
    assert ch[0] is None
    assert sum(ch[1:]) == pytest.approx(v[-1] - v[0], abs=1e-12)
    assert v[0] == figs["usd_per_gpu_hour"][0] and v[2] == figs["usd_per_gpu_hour"][1] and v[-1] == figs["usd_per_gpu_hour"][2]


def test_point_below_p50_is_the_inputs_skew(bridge):
    """The ranges are right-skewed (means above modes); the formula at the means explains at
    least 95 % of the gap between the point estimate and the P50, the draws' shape the rest."""
    specs = E.owned_specs("MI300X")
    cap = specs["capex_usd_per_gpu"]
    assert E.distribution_mean(cap.low, cap.value, cap.high) > cap.value
    point, at_means, mc = bridge["usd_per_gpu_hour"][:3]
    skew, shape = bridge["change_usd_per_gpu_hour"][1:3]
    assert at_means > point
    assert skew / (mc - point) > 0.95
    assert abs(shape) < 0.01 * mc


def test_like_for_like_above_p50_is_the_purchase_price(bridge):
    """Holding the purchase price at the listing explains at least 95 % of the gap between the
    Monte Carlo P50 and the like-for-like P50; the rest is the draw count and seed."""
    mc, _, like = bridge["usd_per_gpu_hour"][2:]
    price, sampling = bridge["change_usd_per_gpu_hour"][3:]
    assert price / (like - mc) > 0.95
    assert abs(sampling) < 0.01 * like


def test_the_purchase_price_moves_only_capital_items():
    """At the modes, the listing in place of the mode moves the items that scale with capex and
    leaves energy, facility, network and staff where they were."""
    listing = E.purchase_price("MI300X", "baseboard")["price_usd_per_gpu"]
    a = E.owned_cost_per_gpu_hour("MI300X")
    b = E.owned_cost_per_gpu_hour("MI300X", capex_usd_per_gpu=listing)
    for k in ("energy_usd_per_gpu_hour", "facility_usd_per_gpu_hour", "network_usd_per_gpu_hour",
              "staff_usd_per_gpu_hour"):
        assert getattr(b, k) == pytest.approx(getattr(a, k), rel=1e-12), k
    for k in ("hardware_usd_per_gpu_hour", "financing_usd_per_gpu_hour", "maintenance_usd_per_gpu_hour"):
        assert getattr(b, k) > getattr(a, k), k


def test_owned_cost_band_checks_its_inputs():
    with pytest.raises(il.errors.UnknownNameError, match="MI300X"):
        E.owned_cost_band("MI300")
    with pytest.raises(il.errors.ValidationError, match="n"):
        E.owned_cost_band("MI300X", n=0)


def test_a_named_owned_price_says_which_figure_it_is():
    r = E.run_cost(gpu_hours=1e3, price_usd_per_gpu_hour="owned", accelerator="MI300X")
    assert r.price_usd_per_gpu_hour == E.owned_gpu_hour_price("MI300X")
    assert "like-for-like" in r.notes[0] and "owned_cost_figures" in r.notes[0]


# --------------------------------------------------------------------------------------
# Returned types are importable from il.economics
# --------------------------------------------------------------------------------------
def _classes(t):
    if inspect.isclass(t) and t.__module__.startswith("infra_lab"):
        yield t
    for a in typing.get_args(t):
        yield from _classes(a)


def test_every_annotated_return_type_is_importable_from_il_economics():
    seen = set()
    for name in E.__all__:
        f = getattr(E, name)
        if not inspect.isfunction(f):
            continue
        for c in _classes(typing.get_type_hints(f).get("return")):
            seen.add(c)
            assert getattr(E, c.__name__, None) is c and c.__name__ in E.__all__, (name, c)
    assert E.PaybackBand in seen and E.Band in seen and E.OwnedCost in seen


def test_every_public_result_type_of_the_modules_is_exported():
    """A result class defined in an economics module (a Printout or a dataclass) is in __all__."""
    for mod in (E.compare, E.data, E.deal, E.figures, E.finance, E.montecarlo, E.owned, E.runs, E.uncertainty):
        for n, c in vars(mod).items():
            if (inspect.isclass(c) and c.__module__ == mod.__name__ and not n.startswith("_")
                    and (issubclass(c, Printout) or dataclasses.is_dataclass(c))):
                assert n in E.__all__ and getattr(E, n) is c, f"{mod.__name__}.{n}"


def test_payback_band_returns_an_exported_type():
    b = E.payback_band([1.0, 2.0, float("inf")])
    assert type(b) is E.PaybackBand and isinstance(b, E.Band)
    from infra_lab.economics import PaybackBand  # noqa: F401  (the import an analyst writes)
