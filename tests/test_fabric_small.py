"""Small rail deployments (one switch up to a leaf per rail) against published designs."""

from __future__ import annotations

from infra_lab import fabric as F


# 4-GPU, 4-NIC servers
def four_gpu(nodes, fabric):
    return {"accelerator": "H100", "nic": "ConnectX-7", "gpus_per_node": 4, "nics_per_node": 4,
            "nodes": nodes, "fabric": fabric}


def test_small_published_rail_designs_are_reproduced():
    """Asterfusion's small rail-only design: 32 servers x 4 GPUs, NIC N to leaf N, four 32 x 400G
    switches and no spine; its rail-optimized design: 64 servers x 4 GPUs, 4 rail leaves and 2
    spines of 128 x 400G (64 x 800G broken out), 256 host and 256 leaf-spine links."""
    ro = F.switch_counts(four_gpu(32, "rails-only"), radix=32)
    assert (ro["tiers"], ro["leaf"], ro["spine"], ro["links_host"], ro["links_total"]) == (1, 4, 0, 128, 128)
    opt = F.switch_counts(four_gpu(64, "rail-optimized"), radix=128)
    assert (opt["tiers"], opt["leaf"], opt["spine"], opt["links_leaf_spine"]) == (2, 4, 2, 256)


def test_small_rail_optimized_jobs_keep_a_leaf_per_rail():
    """The documented approximation: one switch while every NIC fits one (8 H100 nodes = 64
    NICs at radix 64), then a leaf per rail (9 nodes: 8 rail leaves of 9 hosts + 2 spines), not
    several rails per leaf."""
    hw = {"accelerator": "H100", "fabric": "rail-optimized"}
    assert F.switch_counts(dict(hw, nodes=8))["total"] == 1
    nine = F.switch_counts(dict(hw, nodes=9))
    assert (nine["leaf"], nine["spine"], nine["total"]) == (8, 2, 10)
