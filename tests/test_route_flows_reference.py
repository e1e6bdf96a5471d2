"""The routing kernel (``_kernels.fabric.route_flows``) against its plain reference
(``_kernels.fabric_reference.route_flows_reference``: an explicit graph of the fabric's named
links, every shortest path enumerated, each mode's rule applied to them), flow by flow and
link by link, on seeded random flows over rails-only, rail-optimized, fat-tree (part-filled last
leaves) and NVL72 fabrics; plus small cases worked by hand and the flow hash's contract."""

from __future__ import annotations

import numpy as np
import pytest

from infra_lab import fabric as F
from infra_lab._kernels import fabric as K
from infra_lab._kernels import fabric_reference as RF

KERNEL_MODE = {"ecmp": K.ROUTE_ECMP, "spray": K.ROUTE_SPRAY, "spray_explicit": K.ROUTE_SPRAY_EXPLICIT,
               "adaptive": K.ROUTE_ADAPTIVE}

# (id, hardware, radix): what each exercises, and its layout as Fabric.build gives it
TOPOLOGIES = [
    # 20 MI300X nodes (xGMI mesh), 8 rails of 3 leaves (8 + 8 + 4 hosts), last leaf 4 of 8 uplinks; PXN
    ("rails-only-mi300x", {"accelerator": "MI300X", "nodes": 20, "nic": "Pollara-400", "fabric": "rails-only",
                           "pxn": True}, 16),
    # 20 H100 nodes (NVSwitch), 8 rails x 2 leaves (16 + 4 hosts), shared spines, last leaves 4 of 16 uplinks
    ("rail-optimized-pxn", {"accelerator": "H100", "nodes": 20, "nic": "Pollara-400", "fabric": "rail-optimized",
                            "oversubscription": 1.0, "pxn": True}, 32),
    # the same without PXN: cross-rail flows cross the shared spines
    ("rail-optimized-no-pxn", {"accelerator": "H100", "nodes": 20, "nic": "Pollara-400",
                               "fabric": "rail-optimized", "oversubscription": 1.0, "pxn": False}, 32),
    # 11 domains of 4 H100 + 4 NICs, 2 per leaf: 6 leaves, the last half full (4 of 8 uplinks)
    ("fat-tree-part-filled", {"accelerator": "H100", "nodes": 11, "gpus_per_node": 4, "nic": "Pollara-400",
                              "fabric": "fat-tree"}, 16),
    # 8 GB200 NVL72 racks, 4 rails of the trays' NICs x 4 leaves (43 + 43 + 43 + 15 hosts), 8 of 21 uplinks last
    ("nvl72-rail-optimized", {"accelerator": "GB200", "nic": "ConnectX-7", "gpus_per_node": 4, "nodes": 144,
                              "fabric": "rail-optimized", "oversubscription": 2.0, "pxn": True}, 64),
    # 5 NVL72 racks rails-only: 4 rail networks of 6 leaves (16 x 5 + 10 hosts), their own spines
    ("nvl72-rails-only", {"accelerator": "GB200", "nic": "ConnectX-7", "gpus_per_node": 4, "nodes": 90,
                          "fabric": "rails-only", "oversubscription": 1.0, "pxn": True}, 32),
    # 3 NICs per 8 GPUs (GPUs 0-2, 3-5, 6-7 share a NIC): PXN relays to the first GPU of the rail's NIC
    ("three-nics-per-node", {"accelerator": "H100", "nodes": 12, "nic": "Pollara-400", "nics_per_node": 3,
                             "fabric": "rail-optimized", "pxn": True}, 16),
]


def kernel_routes(ptr, links, w) -> dict[int, dict[int, float]]:
    """The kernel's CSR as {flow: {link: summed weight}} (ECMP may list a plane twice)."""
    out = {}
    for f in range(len(ptr) - 1):
        d: dict[int, float] = {}
        for e in range(ptr[f], ptr[f + 1]):
            d[int(links[e])] = d.get(int(links[e]), 0.0) + float(w[e])
        out[f] = d
    return out


def topology_seed(name: str) -> int:
    """A fixed seed per topology id (the sum of its characters: stable across runs)."""
    return sum(map(ord, name))


def assert_same_routes(got, ref, fab, where=()):
    """Per flow, the same links with the same weights (rel 1e-12)."""
    assert set(got) == set(ref)
    for f in ref:
        assert set(got[f]) == set(ref[f]), (*where, f, sorted(fab.link_name(x) for x in set(got[f]) ^ set(ref[f])))
        for lk, x in ref[f].items():
            assert got[f][lk] == pytest.approx(x, rel=1e-12), (*where, f, fab.link_name(lk))


def random_flows(fab, rng, n=160):
    src = rng.integers(0, fab.n_gpus, n)
    dst = rng.integers(0, fab.n_gpus, n)
    keep = src != dst
    return src[keep].astype(np.int64), dst[keep].astype(np.int64), rng.uniform(1e5, 1e8, int(keep.sum()))


@pytest.mark.parametrize("name, hw, radix", TOPOLOGIES, ids=[t[0] for t in TOPOLOGIES])
def test_kernel_equals_reference_on_random_flows(name, hw, radix):
    fab = F.Fabric.build(hw, radix)
    assert fab.tiers == 2, name
    rng = np.random.default_rng(topology_seed(name))
    src, dst, nb = random_flows(fab, rng)
    for mode in KERNEL_MODE:
        for qps in ((1, 2, 4, 128) if mode == "ecmp" else (1,)):
            seed = int(rng.integers(0, 2**63 - 1))
            order = rng.permutation(len(src)).astype(np.int64)
            ref = RF.route_flows_reference(fab, src, dst, nb, mode, qps, seed, order)
            ptr, links, w = K.route_flows(src, dst, nb, fab.topo, KERNEL_MODE[mode], qps, seed, order)
            assert_same_routes(kernel_routes(ptr, links, w), ref, fab, (name, mode, qps))
            loads = K.link_loads(ptr, links, w, nb, fab.n_links)
            assert loads == pytest.approx(RF.link_loads_of(ref, nb, fab.n_links), rel=1e-9, abs=1e-6), (mode, qps)


def test_route_wrapper_is_the_kernel_the_reference_checks():
    """il.fabric.route (ECMP with qps, adaptive in its seeded order) gives the reference's links."""
    fab = F.Fabric.build(TOPOLOGIES[1][1], TOPOLOGIES[1][2])
    src, dst, nb = random_flows(fab, np.random.default_rng(5), 80)
    fl = F.Flows("random", src, dst, nb)
    for routing, mode, qps in (("ecmp", "ecmp", 4), ("adaptive", "adaptive", 1)):
        order = np.random.default_rng(11).permutation(len(fl)) if routing == "adaptive" else None
        ref = RF.route_flows_reference(fab, src, dst, nb, mode, qps, 11, order)
        assert_same_routes(kernel_routes(*F.route(fl, fab, routing, seed=11, qps=qps)), ref, fab, (routing,))


def loads_by_name(fab, routes, nbytes) -> dict[str, float]:
    load = RF.link_loads_of(routes, nbytes, fab.n_links)
    return {fab.link_name(i): float(x) for i, x in enumerate(load) if x}


def kernel_loads_by_name(fab, src, dst, nbytes, mode, qps=1, seed=0) -> dict[str, float]:
    order = np.arange(len(src), dtype=np.int64)
    ptr, links, w = K.route_flows(np.array(src), np.array(dst), np.array(nbytes, dtype=float), fab.topo,
                                  KERNEL_MODE[mode], qps, seed, order)
    load = K.link_loads(ptr, links, w, np.array(nbytes, dtype=float), fab.n_links)
    return {fab.link_name(i): float(x) for i, x in enumerate(load) if x}


def test_hand_worked_two_h100_nodes():
    """2 H100 nodes (8 GPUs, 8 NICs each) on a rail-optimized fabric that fits one 64-port
    switch: simulated as 8 rail leaves of 2 hosts (node 0's and node 1's NIC r on leaf r), each
    with 2 uplink planes (as many as hosts: non-blocking) to shared spines.

    GPU 0 (node 0, NIC 0, leaf 0) -> GPU 9 (node 1, GPU 1, NIC 1, leaf 1), 1 GB:
    * PXN off, spray: nic_up[0, 0] 1 GB; 2 equal-cost paths (planes 0, 1), 0.5 GB on each of
      leaf_up[leaf 0, plane 0/1] and spine_down[leaf 1, plane 0/1]; nic_down[1, 1] 1 GB. The
      aggregated trunks carry the same: trunk_up[leaf 0] = trunk_down[leaf 1] = 1 GB.
    * PXN on: the data cross the NVSwitch to GPU 1 (egress of GPU 0, ingress of GPU 1: 1 GB
      each), GPU 1 stages it (written and read: pxn_hbm 2 GB) and sends it from NIC 1, whose
      leaf 1 also holds node 1's NIC 1: nic_up[0, 1] and nic_down[1, 1] 1 GB, no spine.
    Adaptive, PXN off, flows GPU 0 -> GPU 9 then GPU 8 -> GPU 1 (node 1's NIC 0 -> node 0's
    NIC 1: also leaf 0 -> leaf 1), 1 GB each: the first takes whichever plane its hash picks
    (both empty), the second the other (0 bytes < 1 GB), so each plane's leaf_up[leaf 0] and
    spine_down[leaf 1] carry 1 GB whatever the hash."""
    GB = 1e9
    base = {"accelerator": "H100", "nodes": 2, "nic": "Pollara-400", "fabric": "rail-optimized"}
    off = F.Fabric.build(dict(base, pxn=False))
    assert (off.n_leaves, off.uplinks_per_leaf, off.ports_per_leaf) == (8, 2, 2)
    spray = {"nic_up[node 0, rail 0]": GB, "nic_down[node 1, rail 1]": GB,
             "leaf_up[leaf 0, plane 0]": GB / 2, "leaf_up[leaf 0, plane 1]": GB / 2,
             "spine_down[leaf 1, plane 0]": GB / 2, "spine_down[leaf 1, plane 1]": GB / 2}
    trunk = {"nic_up[node 0, rail 0]": GB, "nic_down[node 1, rail 1]": GB,
             "trunk_up[leaf 0]": GB, "trunk_down[leaf 1]": GB}
    on = F.Fabric.build(dict(base, pxn=True))
    pxn = {"nvswitch_egress[node 0, gpu 0]": GB, "nvswitch_ingress[node 0, gpu 1]": GB,
           "pxn_hbm[node 0, gpu 1]": 2 * GB, "nic_up[node 0, rail 1]": GB, "nic_down[node 1, rail 1]": GB}
    for fab, mode, want in ((off, "spray_explicit", spray), (off, "spray", trunk), (on, "spray", pxn),
                            (on, "ecmp", pxn)):
        assert loads_by_name(fab, RF.route_flows_reference(fab, [0], [9], [GB], mode), [GB]) == pytest.approx(want)
        assert kernel_loads_by_name(fab, [0], [9], [GB], mode) == pytest.approx(want)
    adaptive = {"nic_up[node 0, rail 0]": GB, "nic_down[node 1, rail 1]": GB,
                "nic_up[node 1, rail 0]": GB, "nic_down[node 0, rail 1]": GB,
                "leaf_up[leaf 0, plane 0]": GB, "leaf_up[leaf 0, plane 1]": GB,
                "spine_down[leaf 1, plane 0]": GB, "spine_down[leaf 1, plane 1]": GB}
    for seed in (0, 1, 2, 3):
        ref = RF.route_flows_reference(off, [0, 8], [9, 1], [GB, GB], "adaptive", seed=seed)
        assert loads_by_name(off, ref, [GB, GB]) == pytest.approx(adaptive)
        assert kernel_loads_by_name(off, [0, 8], [9, 1], [GB, GB], "adaptive", seed=seed) == pytest.approx(adaptive)


def test_hand_worked_part_filled_fat_tree_trunks():
    """11 domains of 4 H100 and 4 NICs on a fat-tree of 16-port leaves (8 down, 8 up): two
    domains per leaf, 6 leaves, the last (leaf 5) holding domain 10 alone, 4 ports, so it cables
    ceil(4 / 1) = 4 of the 8 uplink planes.

    GPU 0 (leaf 0) -> GPU 8 (domain 2, leaf 1), 1 GB: both leaves full, 8 equal-cost planes,
    1/8 GB each; the trunk of the planes every leaf cables (0-3) carries 4/8 = 0.5 GB, the rest
    trunk (4-7) 0.5 GB, up at leaf 0 and down at leaf 1.
    GPU 0 -> GPU 40 (domain 10, leaf 5), 1 GB: only planes 0-3 reach leaf 5, 1/4 GB each; the
    first trunk carries it all (4/4), the rest trunk nothing."""
    GB = 1e9
    fab = F.Fabric.build({"accelerator": "H100", "nodes": 11, "gpus_per_node": 4, "nic": "Pollara-400",
                          "fabric": "fat-tree"}, 16)
    assert (fab.n_leaves, fab.uplinks_per_leaf, fab.uplinks_last_leaf) == (6, 8, 4)
    ends = {"nic_up[node 0, rail 0]": GB}
    full = dict(ends, **{"nic_down[node 2, rail 0]": GB, "trunk_up[leaf 0]": GB / 2, "trunk_up_rest[leaf 0]": GB / 2,
                         "trunk_down[leaf 1]": GB / 2, "trunk_down_rest[leaf 1]": GB / 2})
    last = dict(ends, **{"nic_down[node 10, rail 0]": GB, "trunk_up[leaf 0]": GB, "trunk_down[leaf 5]": GB})
    last_explicit = dict(ends, **{"nic_down[node 10, rail 0]": GB},
                         **{f"leaf_up[leaf 0, plane {j}]": GB / 4 for j in range(4)},
                         **{f"spine_down[leaf 5, plane {j}]": GB / 4 for j in range(4)})
    for dst, mode, want in ((8, "spray", full), (40, "spray", last), (40, "spray_explicit", last_explicit)):
        assert loads_by_name(fab, RF.route_flows_reference(fab, [0], [dst], [GB], mode), [GB]) == pytest.approx(want)
        assert kernel_loads_by_name(fab, [0], [dst], [GB], mode) == pytest.approx(want)


def test_pxn_relays_through_a_gpu_of_the_destination_rails_nic():
    """3 NICs per 8 GPUs: GPU i uses NIC 3i // 8 (GPUs 0-2 NIC 0, 3-5 NIC 1, 6-7 NIC 2). GPU 1
    (NIC 0) -> GPU 4 of another node (NIC 1) relays through GPU 3, the first GPU on NIC 1 (the
    kernel took GPU 8 // 3 = 2 before, a GPU of NIC 0, and from GPU 2 itself did not relay)."""
    GB = 1e9
    fab = F.Fabric.build({"accelerator": "H100", "nodes": 12, "nic": "Pollara-400", "nics_per_node": 3,
                          "fabric": "rail-optimized", "pxn": True}, 16)
    for s in (1, 2):
        got = kernel_loads_by_name(fab, [s], [8 * 11 + 4], [GB], "spray")
        assert got["pxn_hbm[node 0, gpu 3]"] == 2 * GB
        assert got[f"nvswitch_egress[node 0, gpu {s}]"] == got["nvswitch_ingress[node 0, gpu 3]"] == GB
        assert got["nic_up[node 0, rail 1]"] == GB


def test_flow_hash_contract():
    """The reference's SplitMix64 gives the generator's published first outputs for state 0
    (0xE220A8397B1DCDAF, 0x6E789E6AA1B965F4, 0x06C45D188009454F: https://prng.di.unimi.it/splitmix64.c
    run from 0; the state advances by 0x9E3779B97F4A7C15 per output); the kernel's hash equals
    the reference's; and every (src, dst, queue pair) of NCCL's up to 128 has its own hash (queue
    pair 64 of GPU 3 -> GPU 5 hashed as queue pair 0 of GPU 3 -> GPU 6 before)."""
    g = 0x9E3779B97F4A7C15
    assert [RF.splitmix64(k * g % 2**64) for k in range(3)] == [
        0xE220A8397B1DCDAF, 0x6E789E6AA1B965F4, 0x06C45D188009454F]
    rng = np.random.default_rng(3)
    for _ in range(300):
        n = int(rng.integers(2, 2**24))
        s, d = (int(x) for x in rng.integers(0, n, 2))
        q, seed = int(rng.integers(0, 128)), int(rng.integers(0, 2**63 - 1))
        assert int(K.ecmp_hash(s, d, q, seed, n)) == RF.flow_hash(s, d, q, seed, n)
    n = 6
    hashes = {RF.flow_hash(s, d, q, 0, n) for s in range(n) for d in range(n) for q in range(128)}
    assert len(hashes) == n * n * 128
    assert int(K.ecmp_hash(3, 5, 64, 0, 16)) != int(K.ecmp_hash(3, 6, 0, 0, 16))


def test_reference_refuses_what_has_no_path():
    """Rails-only without PXN: another rail of another node has no path (the reference finds
    none in the graph; il.fabric.route refuses such flows before the kernel)."""
    fab = F.Fabric.build({"accelerator": "MI300X", "nodes": 20, "nic": "Pollara-400", "fabric": "rails-only",
                          "pxn": False}, 16)
    with pytest.raises(ValueError, match="no path from NIC 0 of domain 0 to NIC 1 of domain 1"):
        RF.route_flows_reference(fab, [0], [9], [1.0], "ecmp")
    with pytest.raises(ValueError, match="mode = 'bogus'"):
        RF.route_flows_reference(fab, [0], [8], [1.0], "bogus")
