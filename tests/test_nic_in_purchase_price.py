"""Whether an accelerator's purchase price already includes its scale-out NICs is stated, per
accelerator, where a user reads the price (the ``capex_usd_per_gpu`` row's description, shown by
``economics.parameters`` and ``parameter_table``), and the owned cost follows the statement: a
price that includes them has a ``nic_usd`` row of 0 (no second NIC is bought), one that does not
adds the NIC. Before, H800-SXM was priced on a DGX H800 listing (NICs inside) and the 400G NIC
proxy was added on top, and no row said what H200-SXM's HGX server listing includes."""

from __future__ import annotations

import pytest

from infra_lab import economics as E

INCLUDED, NOT_INCLUDED = "scale-out NICs included", "scale-out NICs not included"


def _priced():
    t = E.parameter_table()
    return [r for r in t.iter_rows(named=True) if r["name"] == "capex_usd_per_gpu"]


def test_every_purchase_price_says_whether_it_includes_the_nics():
    missing = [r["scope"] for r in _priced() if (INCLUDED in r["description"]) == (NOT_INCLUDED in r["description"])]
    assert not missing, f"capex_usd_per_gpu rows that do not say (exactly once) whether the NICs are in the price: {missing}"


@pytest.mark.parametrize("acc", [r["scope"] for r in _priced()])
def test_the_nic_price_follows_the_statement(acc):
    desc = E.parameters(acc)["capex_usd_per_gpu"].description
    nic = E.parameters(acc)["nic_usd"]
    if INCLUDED in desc:
        assert nic.scope == acc and nic.value == nic.low == nic.high == 0.0, (acc, nic)
    else:
        assert nic.scope == "all" and nic.value > 0, (acc, nic)
    if "assumption" in desc:                       # an unsourced inclusion is said to be one
        assert acc == "H200-SXM"


def test_h800s_dgx_price_buys_no_second_nic():
    """The owned cost of an H800 on its DGX listing prices switch ports and optics, no NIC:
    its back-end network per GPU is H100's (also a DGX price), not H200's (NIC added)."""
    h800 = E.owned_cost_per_gpu_hour("H800-SXM", tdp_W=700.0)
    h100, h200 = E.owned_cost_per_gpu_hour("H100-SXM"), E.owned_cost_per_gpu_hour("H200-SXM")
    assert h800.network_usd_per_gpu_hour == pytest.approx(h100.network_usd_per_gpu_hour)
    assert h200.network_usd_per_gpu_hour > h800.network_usd_per_gpu_hour
    assert E.network_capex_per_gpu(accelerator="H800-SXM") == E.network_capex_per_gpu(accelerator="H100-SXM")
