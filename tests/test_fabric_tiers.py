"""Switch tiers of large fabrics: the folded-Clos recursion beyond three tiers
(fabric._clos_tiers, used by switch_counts and everything composed from it)."""

from __future__ import annotations

import pytest

import infra_lab as il
from infra_lab import fabric as F
from infra_lab.errors import ValidationError


def fat_tree(nodes, **kw):
    return {"accelerator": "H100", "nodes": nodes, "fabric": "fat-tree", **kw}


def test_tiers_follow_the_folded_clos_recursion():
    """t tiers join up to r (r/2)^(t-2) leaves: r = 64 -> 64, 2,048, 65,536."""
    got = [F._clos_tiers(n, 64) for n in (1, 64, 65, 2048, 2049, 65536, 65537)]
    assert got == [2, 2, 3, 3, 4, 4, 5]
    assert [F._clos_tiers(n, 8) for n in (8, 9, 32, 33, 128, 129)] == [2, 3, 3, 4, 4, 5]


def test_k_ary_fat_tree_three_and_four_tiers_by_hand():
    """Radix 8 (4 down, 4 up per leaf), 8 NICs per H100 node. Three tiers hold k^3/4 = 128 NICs
    (16 nodes): 32 leaves, 32 aggregation, 16 core = 5k^2/4 = 80 switches (Al-Fares et al. 2008).
    64 nodes = 512 NICs = 128 leaves > r^2/2 = 32, so four tiers (three before): 128 leaves,
    2 x 128 middle switches, 64 core = (2 x 4 - 1) (k/2)^3 = 448; cables 512 host, 512 leaf
    uplinks, 2 x 128 x 4 = 1,024 above them."""
    three = F.switch_counts(fat_tree(16), radix=8)
    assert (three["tiers"], three["leaf"], three["spine"], three["core"], three["total"]) == (3, 32, 32, 16, 80)
    four = F.switch_counts(fat_tree(64), radix=8)
    assert {k: four[k] for k in ("tiers", "leaf", "spine", "core", "total")} == \
        {"tiers": 4, "leaf": 128, "spine": 256, "core": 64, "total": 448}
    assert (four["links_host"], four["links_leaf_spine"], four["links_spine_core"], four["links_total"]) == \
        (512, 512, 1024, 2048)
    assert il.fabric.link_counts(fat_tree(64), radix=8)["agg_up"] == 1024


def test_published_three_tier_fat_tree_and_the_next_size():
    """Cornelis CN5000 (48-port switches), full 1:1 three-tier fat tree: 27,648 endpoints, 48 pods
    of 24 edge and 24 aggregation switches, 576 core switches. As 3,456 H100 nodes (24 NICs,
    3 nodes, per leaf): 1,152 leaves, 1,152 aggregation, 576 core. One node more needs a fourth
    tier (1,153 leaves > 48^2/2)."""
    full = F.switch_counts(fat_tree(3456), radix=48)
    assert (full["tiers"], full["leaf"], full["spine"], full["core"]) == (3, 1152, 1152, 576)
    more = F.switch_counts(fat_tree(3457), radix=48)
    assert more["tiers"] == 4 and more["total"] > full["total"]
    assert more["leaf"] == 1153 and more["core"] == 577 and more["spine"] == 2 * 1153


@pytest.mark.parametrize("fabric", ["rails-only", "rail-optimized", "fat-tree"])
def test_counts_never_fall_across_the_tier_boundaries(fabric):
    """Radix 8: the sweep crosses from one tier to four or more; switches, cables and tiers
    never fall as nodes grow."""
    prev = None
    for n in range(1, 400):
        sc = F.switch_counts({"accelerator": "MI300X", "nic": "Pollara-400", "nodes": n, "fabric": fabric},
                             radix=8)
        cur = (sc["tiers"], sc["total"], sc["links_total"])
        if prev is not None:
            assert all(c >= p for c, p in zip(cur, prev, strict=True)), (n, prev, cur)
        prev = cur
    assert prev[0] >= 4


def test_a_million_gpus_are_counted_in_four_tiers_and_the_simulation_refuses():
    """125,000 MI300X nodes on rails-only at radix 64: 125,000 hosts per rail = 3,907 leaves >
    2,048, four tiers (three before). The count is a closed form (reliability composes it);
    the flow simulation still refuses anything beyond two tiers, by name."""
    hw = {"accelerator": "MI300X", "nic": "Pollara-400", "nodes": 125_000, "fabric": "rails-only"}
    sc = F.switch_counts(hw)
    assert sc["tiers"] == 4 and sc["leaf"] == 8 * 3907
    middle = -(-(125_000 // 8 * 8) // 32)  # every leaf cables its hosts' uplinks at sigma = 1
    assert sc["spine"] == 8 * 2 * middle and sc["core"] == 8 * (-(-middle // 2))
    with pytest.raises(ValidationError, match="needs 4 tiers.*one- and two-tier"):
        F.Fabric.build(hw)
    # the collective model's switch hops: 2 t - 1 switches on the longest path
    lat = il.collectives.collective_time_params(hw)
    three = il.collectives.collective_time_params(dict(hw, nodes=60_000))
    assert F.switch_counts(dict(hw, nodes=60_000))["tiers"] == 3
    hop = F.constant("switch_latency_s")
    assert lat.switch_hop_s == pytest.approx(three.switch_hop_s + 2 * hop)
