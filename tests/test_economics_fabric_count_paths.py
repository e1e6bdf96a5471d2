"""The network counts per GPU of a cluster's own fabric enter the owned cost two ways: the
deterministic paths set them (``owned_inputs(hardware=...)``, ``network_capex_per_gpu``,
``tco``'s cluster inputs, ``expansion.cost_overrides``), the Monte Carlos multiply each draw of
parameters.csv's row by ``fabric_count_factors``' factor or hold it at 0 (``monte_carlo_owned_cost``
through ``_fabric_draws``, ``deal_pnl``, ``expansion.owned_quote``). At the rows' modes the two
must give the same count, to the bit, on clusters other than the reference one (whole switches
of a small fabric, 16 and 24 GPUs; 1,000 GPUs in a second tier; radix 32 and 128; one node)."""

from __future__ import annotations

import itertools

import pytest

import infra_lab as il
from infra_lab import economics as E
from infra_lab import expansion as X
from infra_lab.economics.finance import _cluster_inputs
from infra_lab.economics.owned import FABRIC_COUNTS, _fabric_draws

CLUSTERS = [{"accelerator": a, "nodes": n, "fabric": f}
            for a, n, f in itertools.product(("MI300X", "H100-SXM", "MI355X"), (1, 2, 3, 125),
                                             ("rails-only", "rail-optimized"))]


def _at_modes(scale, zero, modes):
    """The Monte Carlo's count at the rows' modes: mode x factor, or 0."""
    return {k: 0.0 if k in zero else modes[k] * scale.get(k, 1.0) for k in FABRIC_COUNTS}


@pytest.mark.parametrize("radix", [None, 32, 128])
@pytest.mark.parametrize("hw", CLUSTERS, ids=lambda h: f"{h['accelerator']}-{h['nodes']}n-{h['fabric']}")
def test_deterministic_and_monte_carlo_counts_agree(hw, radix):
    acc = hw["accelerator"]
    modes = {k: E.parameters(acc)[k].value for k in FABRIC_COUNTS}
    own = E.fabric_network_counts(hw, radix)
    mc = _at_modes(*E.fabric_count_factors(hw, radix), modes)
    assert mc == own
    det = E.owned_inputs(acc, hardware=hw, radix=radix)
    assert {k: det[k] for k in FABRIC_COUNTS} == own
    tco = _cluster_inputs(acc, {}, 0, il.fabric.hardware_config(hw), radix)
    assert {k: tco[k] for k in FABRIC_COUNTS} == own
    # monte_carlo_owned_cost(hardware=...)'s inputs: held (fixed) or scaled
    _, fixed, scale = _fabric_draws(acc, {}, hw, radix)
    assert {k: fixed[k] if k in fixed else modes[k] * scale.get(k, 1.0) for k in FABRIC_COUNTS} == own
    P = E.parameters(acc)
    priced = sum(P[p].value * own[c] for p, c in (("nic_usd", "nics_per_gpu"), ("switch_port_usd", "switch_ports_per_gpu"),
                                                  ("optics_usd", "optics_per_gpu")))
    assert E.network_capex_per_gpu(hardware=hw, radix=radix) == pytest.approx(priced, rel=1e-15)
    if hw["nodes"] == 1:       # one scale-up domain: no switch, no optics, in both paths
        assert own["switch_ports_per_gpu"] == own["optics_per_gpu"] == 0.0
    elif radix is None and (hw["nodes"], hw["fabric"]) != (128, "rails-only"):
        assert E.fabric_count_factors(hw, radix) != ({}, {})


@pytest.mark.parametrize("gpus", [16, 24, 1000, None, 8192])
def test_expansion_overrides_and_quote_scale_agree(gpus):
    """expansion.cost_overrides (the deterministic views: provider_view, owned_cost_per_gpu_hour,
    cluster_power) and owned_quote / deal (the Monte Carlos) on every option's own fabric."""
    seen = 0
    for p, n in itertools.product(X.platforms()["platform"].to_list(), X.nics()["nic"].to_list()):
        acc = X._row(X.platforms(), "platform", p, "platform")["accelerator"]
        try:
            hw = X.option_hardware(p, n, X._gpus_or_reference(gpus))
        except il.errors.InfraLabError:
            continue        # a size the platform does not come in
        ov = X.cost_overrides(p, n, gpus)
        d = E.defaults(acc)
        modes = {k: E.parameters(acc)[k].value for k in FABRIC_COUNTS}
        assert {k: d[k] for k in FABRIC_COUNTS} == modes
        assert {k: ov.get(k, d[k]) for k in FABRIC_COUNTS} == _at_modes(*E.fabric_count_factors(hw), modes), (p, n)
        seen += 1
    assert seen >= 4
