"""deal_pnl takes the switch radix as tco and owned_inputs do: the same fabric_count_factors of the
cluster at that radix, so IBM's capex follows the whole switches a radix buys."""

import numpy as np
import pytest

from infra_lab.economics import deal_pnl, fabric_count_factors
from infra_lab.errors import ValidationError

HW = {"accelerator": "MI300X", "nodes": 2, "gpus_per_node": 8, "fabric": "rails-only"}


def _capex_p50(radix):
    return deal_pnl(1e5, hardware=HW, n=400, seed=3, radix=radix).line("IBM", "cluster capex").p50


def test_default_radix_is_the_catalog_radix():
    default = fabric_count_factors(HW)[0]["switch_ports_per_gpu"]
    for r in (32, 64, 128):
        if fabric_count_factors(HW, r)[0]["switch_ports_per_gpu"] == default:
            assert _capex_p50(r) == _capex_p50(None)
            break
    else:
        pytest.fail("no radix in 32/64/128 reproduces the default fabric counts")


def test_capex_follows_the_switch_ports_a_radix_buys():
    radii = (32, 64, 128)
    ports = [fabric_count_factors(HW, r)[0]["switch_ports_per_gpu"] for r in radii]
    capex = [_capex_p50(r) for r in radii]
    assert ports == sorted(ports) and ports[0] < ports[-1]
    # two nodes of 8: one leaf per rail, so a larger radix buys more (idle) ports per GPU
    assert np.all(np.diff(capex) > 0)


def test_bad_radix_is_refused_naming_the_field():
    with pytest.raises(ValidationError, match=r"radix = 3"):
        deal_pnl(1e5, hardware=HW, n=100, radix=3)
