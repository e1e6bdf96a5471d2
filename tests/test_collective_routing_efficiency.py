"""il.collective's ``fabric_efficiency`` says how to price per-flow ECMP against packet spraying
(session 37's user pass: "il.collective with and without Pollara's features").

Before: the parameter read "achieved fraction of NIC bandwidth after routing [-]", with no word
that its default 1 is spraying's perfect balance, where η for ECMP comes from, or that
selective retransmit and congestion control are not priced by the call."""

from __future__ import annotations

import inspect

import infra_lab as il


def test_the_docstring_gives_the_recipe_and_says_what_is_not_priced():
    doc = inspect.getdoc(il.collective)
    param = doc.split("fabric_efficiency :", 1)[1].split("radix :", 1)[0]
    assert "spraying" in param and "il.fabric.monte_carlo" in param and '"ecmp"' in param
    assert "selective retransmit" in param and "not priced" in param


def test_the_recipe_prices_a_spine_crossing_step_slower_under_ecmp():
    """The docstring's recipe, on a step whose every flow crosses a spine (notebook 03 §7's
    synthetic case): ECMP's η < 1 and the collective priced with it is slower than sprayed."""
    hw = il.load_scenario("zaya1-ibm-mi300x").replace(hardware={"fabric": "rail-optimized"}).hardware
    flows = il.fabric.step_flows("halving_doubling", hw, 2**30, step=6)
    eta = float(il.fabric.monte_carlo(flows, hw, "ecmp", seeds=2)["efficiency"].min())
    sprayed = float(il.fabric.monte_carlo(flows, hw, "spray", seeds=1)["efficiency"].min())
    assert eta < 1.0 and sprayed == 1.0
    ecmp = il.collective("all_reduce", 2**30, hw, 1024, fabric_efficiency=eta)
    assert ecmp.time_s > il.collective("all_reduce", 2**30, hw, 1024).time_s


def test_the_flow_simulation_calls_have_parameters_and_examples():
    """Before: simulate_step documented only ``completion`` and neither it nor monte_carlo had an
    example, so "with and without spraying" had no worked call to start from."""
    sim, mc = inspect.getdoc(il.fabric.simulate_step), inspect.getdoc(il.fabric.monte_carlo)
    for word in ("flows :", "fabric :", "routing :", "seed :", "Examples", '"spray"'):
        assert word in sim, word
    assert "Examples" in mc and "fabric_efficiency" in mc
