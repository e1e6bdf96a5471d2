"""A GPU-hour price given by name in il.economics (session 37's user pass).

Before: ``run_cost(est, price_usd_per_gpu_hour="owned")`` priced ZAYA1's run at 2.44 USD per
GPU-hour while ``owned_cost_per_gpu_hour("MI300X")`` printed 1.68, and neither printout said
which owned cost the name reads; ``rent_vs_own("rented")`` said "expected a number" where
``run_cost`` and ``il.serve``'s costs take the name, and ``rent_vs_own(est)`` quoted the whole
Estimate repr (about 600 characters)."""

from __future__ import annotations

import pytest

import infra_lab as il
from infra_lab.errors import UnknownNameError, ValidationError
from infra_lab.serving import price_for


def test_run_cost_says_where_a_named_price_comes_from():
    owned = il.economics.run_cost(gpu_hours=1e5, price_usd_per_gpu_hour="owned", accelerator="MI300X")
    assert owned.price_usd_per_gpu_hour == il.economics.owned_gpu_hour_price("MI300X")
    (note,) = owned.notes
    assert "owned_gpu_hour_price('MI300X')" in note and "owned_cost_per_gpu_hour('MI300X')" in note
    point = il.economics.owned_cost_per_gpu_hour("MI300X").total_usd_per_gpu_hour
    assert f"({point:.3f} USD per GPU hour)" in note and f"note: {note}" in str(owned)
    rented = il.economics.run_cost(gpu_hours=1e5, price_usd_per_gpu_hour="rented", accelerator="h100")
    (note,) = rented.notes
    assert "rented_gpu_hour_price('H100-SXM')" in note and "on-demand" in note
    assert il.economics.run_cost(gpu_hours=1e5, price_usd_per_gpu_hour=2.0).notes == ()


def test_rent_vs_own_takes_the_rent_by_name():
    r = il.economics.rent_vs_own("rented", "H100")
    assert r.price_usd_per_gpu_hour == price_for("H100-SXM", "rented")
    assert r == il.economics.rent_vs_own(price_for("H100-SXM", "rented"), "H100")
    with pytest.raises(ValidationError, match="'owned': rent_vs_own compares a rent with owning"):
        il.economics.rent_vs_own("owned")
    with pytest.raises(UnknownNameError, match="Did you mean 'rented'"):
        il.economics.rent_vs_own("rentd")


def test_rent_vs_own_names_the_type_of_an_object_given_as_the_price():
    est = il.estimate(il.load_scenario("zaya1-ibm-mi300x"))
    with pytest.raises(ValidationError) as e:
        il.economics.rent_vs_own(est)
    msg = str(e.value)
    assert msg.startswith("price_usd_per_gpu_hour = Estimate(")
    assert "(a Estimate): expected a rent [USD/GPU-h] or 'rented'" in msg and len(msg) < 300
    for bad in (True, float("nan"), -1.0):
        with pytest.raises(ValidationError, match="price_usd_per_gpu_hour"):
            il.economics.rent_vs_own(bad)
