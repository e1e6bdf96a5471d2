"""Fabric topologies, routing and the max-min fair flow simulation."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import infra_lab as il
from infra_lab import fabric as F
from infra_lab._kernels import fabric as K
from infra_lab.errors import UnknownNameError, ValidationError

ZYPHRA = {"accelerator": "MI300X", "nodes": 128, "nic": "Pollara-400", "fabric": "rails-only"}


def small(nodes=8, fabric="rail-optimized", acc="MI300X", **kw):
    kw.setdefault("pxn", True)  # cross-rail flows on rails-only need PXN (RCCL's default is off)
    return {"accelerator": acc, "nodes": nodes, "nic": "Pollara-400", "fabric": fabric, **kw}


# ---------------------------------------------------------------------------------------
# The max-min solver: numba kernel and plain-Python reference, one test class for both.
def random_instance(rng, F_=30, L=12, max_links=4):
    ptr = [0]
    links, w = [], []
    for _ in range(F_):
        m = int(rng.integers(1, min(max_links, L) + 1))
        ls = rng.choice(L, size=m, replace=False)
        links += list(ls)
        w += list(rng.choice([1.0, 0.5, 0.25, 1 / 3], size=m))
        ptr.append(len(links))
    return (np.array(ptr, dtype=np.int64), np.array(links, dtype=np.int32), np.array(w),
            rng.uniform(1.0, 10.0, size=L))


@pytest.mark.parametrize("solve", [K.maxmin_rates, K.maxmin_rates_reference], ids=["numba", "reference"])
class TestMaxMin:
    def test_one_link_shared_equally(self, solve):
        ptr = np.array([0, 1, 2, 3])
        links = np.array([0, 0, 0], dtype=np.int32)
        r = solve(ptr, links, np.ones(3), np.array([9.0]))
        assert r == pytest.approx([3.0, 3.0, 3.0])

    def test_classic_two_links(self, solve):
        # flow 0 crosses links 0 and 1; flow 1 only link 0; flow 2 only link 1 (cap 10, 4)
        ptr = np.array([0, 2, 3, 4])
        links = np.array([0, 1, 0, 1], dtype=np.int32)
        r = solve(ptr, links, np.ones(4), np.array([10.0, 4.0]))
        assert r == pytest.approx([2.0, 8.0, 2.0])

    def test_weights(self, solve):
        ptr = np.array([0, 1, 2])
        links = np.array([0, 0], dtype=np.int32)
        r = solve(ptr, links, np.array([0.5, 1.0]), np.array([3.0]))
        assert r == pytest.approx([2.0, 2.0])

    @pytest.mark.parametrize("seed", range(6))
    def test_feasible_and_bottlenecked(self, solve, seed):
        ptr, links, w, cap = random_instance(np.random.default_rng(seed))
        r = solve(ptr, links, w, cap)
        load = K.link_loads_reference(ptr, links, w, r, cap.shape[0])
        assert np.all(load <= cap * (1 + 1e-9))
        # max-min: every flow crosses a saturated link on which it has the largest rate
        for f in range(len(ptr) - 1):
            ok = False
            for e in range(ptr[f], ptr[f + 1]):
                lk = links[e]
                on = [g for g in range(len(ptr) - 1) if lk in links[ptr[g]:ptr[g + 1]]]
                if load[lk] >= cap[lk] * (1 - 1e-7) and r[f] >= max(r[on]) * (1 - 1e-7):
                    ok = True
            assert ok


@pytest.mark.parametrize("seed", range(20))
def test_kernel_agrees_with_reference_on_random_instances(seed):
    rng = np.random.default_rng(100 + seed)
    inst = random_instance(rng, F_=int(rng.integers(1, 60)), L=int(rng.integers(1, 20)))
    a = K.maxmin_rates(*inst)
    b = K.maxmin_rates_reference(*inst)
    assert a == pytest.approx(b, rel=1e-9)


def test_kernel_agrees_with_reference_on_fabric_flows():
    fab = F.Fabric.build(small(8), radix=16)
    fl = F.step_flows("halving_doubling", fab, 1e8, step=2)
    for routing in F.ROUTINGS:
        a = F.solve_rates(fl, fab, routing, seed=3)
        b = F.solve_rates(fl, fab, routing, seed=3, reference=True)
        assert a == pytest.approx(b, rel=1e-9)


def test_link_loads_reference():
    inst = random_instance(np.random.default_rng(7))
    ptr, links, w, cap = inst
    nb = np.arange(1.0, len(ptr))
    assert K.link_loads(ptr, links, w, nb, cap.shape[0]) == pytest.approx(
        K.link_loads_reference(ptr, links, w, nb, cap.shape[0]))


# ---------------------------------------------------------------------------------------
# Topologies
def test_scaleup_mesh_and_switch():
    mi = F.scaleup({"accelerator": "MI300X"})
    assert mi.topology == "mesh" and mi.links_per_gpu == 7
    assert mi.bandwidth_Bps(8) == pytest.approx(7 * 46.552e9, rel=1e-4)
    assert mi.bandwidth_Bps(3) == pytest.approx(2 * mi.link_Bps)
    h = F.scaleup({"accelerator": "H100"})
    assert h.bandwidth_Bps(2) == h.bandwidth_Bps(8) == pytest.approx(18 * 20.6e9)
    nvl = F.scaleup({"accelerator": "GB200", "nodes": 18, "gpus_per_node": 4, "scaleup_domain": 72})
    assert nvl.domain == 72 and nvl.topology == "switch"


def test_scaleout_rates():
    so = F.scaleout(ZYPHRA)
    assert so.nic_Bps == pytest.approx(47e9)
    assert so.node_Bps == pytest.approx(8 * 47e9)
    assert so.gpu_Bps == pytest.approx(47e9)


def test_switch_counts():
    sc = F.switch_counts(ZYPHRA)
    assert {k: sc[k] for k in ("tiers", "leaf", "spine", "core", "total")} == \
        {"tiers": 2, "leaf": 32, "spine": 16, "core": 0, "total": 48}
    # cables: 1,024 NIC-leaf links; each of 8 rails has 4 leaves x 32 uplinks
    assert (sc["links_host"], sc["links_leaf_spine"], sc["links_spine_core"]) == (1024, 8 * 4 * 32, 0)
    assert sc["links_total"] == 1024 + 1024
    three = F.switch_counts(dict(ZYPHRA, nodes=1024, fabric="fat-tree"))
    assert three["links_spine_core"] > 0 and three["links_total"] == sum(
        three[k] for k in ("links_host", "links_leaf_spine", "links_spine_core"))
    assert F.switch_counts(ZYPHRA, radix=128)["total"] == 8  # one switch per rail
    clos = F.switch_counts(dict(ZYPHRA, fabric="rail-optimized"), radix=128)
    assert clos["tiers"] == 2 and clos["total"] == 24
    assert F.switch_counts(dict(ZYPHRA, nodes=1024, fabric="fat-tree"))["tiers"] == 3
    over = F.switch_counts(dict(ZYPHRA, fabric="fat-tree", oversubscription=3.0))
    assert over["spine"] < F.switch_counts(dict(ZYPHRA, fabric="fat-tree"))["spine"]



@pytest.mark.parametrize("fabric", ["rails-only", "rail-optimized", "fat-tree"])
@pytest.mark.parametrize("hw", [{"accelerator": "MI300X", "nodes": 1, "nic": "Pollara-400"},
                                {"accelerator": "H100", "nodes": 1, "nic": "ConnectX-7"},
                                {"accelerator": "GB200", "nodes": 18, "gpus_per_node": 4, "nic": "ConnectX-7"}],
                         ids=["MI300X-node", "H100-node", "NVL72-rack"])
def test_one_scaleup_domain_needs_no_backend_switch(hw, fabric):
    """A job inside one scale-up domain sends nothing over the back-end network: no switch, no
    cable (8 rail switches for one 8-GPU node, before), and no hop latency in the collectives."""
    hw = dict(hw, fabric=fabric)
    assert il.scenario.as_hardware(hw).domains == 1
    sc = F.switch_counts(hw)
    assert sc == {"tiers": 0, "leaf": 0, "spine": 0, "core": 0, "total": 0, "links_host": 0,
                  "links_leaf_spine": 0, "links_spine_core": 0, "links_total": 0}
    assert F.link_counts(hw)["total"] == 0
    assert F.Fabric.build(hw).tiers == 0
    assert il.collectives.collective_time_params(hw).switch_hop_s == 0.0
    # the owned-cost network capex, read through its public function: NICs only, no switch port
    assert il.economics.network_capex_per_gpu(hardware=hw, switch_port_usd=1.0, nic_usd=0.0,
                                              optics_usd=0.0) == 0.0


def test_small_clusters_are_counted_exactly():
    """Switch and cable counts for 2, 3, ... nodes: one leaf per rail on a rails-only fabric once
    a second node joins; spines only when there is more than one leaf; a part-filled last leaf
    cables only its hosts' uplinks."""
    ro = F.switch_counts(small(2, "rails-only"))
    assert (ro["tiers"], ro["leaf"], ro["spine"], ro["links_host"], ro["links_total"]) == (1, 8, 0, 16, 16)
    one = F.switch_counts(small(8, "rail-optimized"))        # 64 NICs fill one 64-port switch
    assert (one["tiers"], one["total"], one["links_total"]) == (1, 1, 64)
    nine = F.switch_counts(small(9, "rail-optimized"))       # 72 NICs: 8 rail leaves of 9 hosts each
    assert (nine["tiers"], nine["leaf"], nine["spine"]) == (2, 8, 2)
    assert nine["links_leaf_spine"] == 8 * 9 and nine["links_total"] == 72 + 72
    r65 = F.switch_counts(small(65, "rails-only"))           # per rail: 32 + 32 + 1 hosts
    assert (r65["leaf"], r65["spine"], r65["links_leaf_spine"]) == (8 * 3, 8 * 2, 8 * 65)
    over = F.switch_counts(small(9, "fat-tree", oversubscription=3.0))   # 48 down, 16 up per leaf
    assert (over["leaf"], over["spine"], over["links_leaf_spine"]) == (2, 1, 16 + 8)


@pytest.mark.parametrize("fabric", ["rails-only", "rail-optimized", "fat-tree"])
def test_switch_and_cable_counts_never_fall_as_nodes_grow(fabric):
    prev = None
    for n in range(1, 300):
        sc = F.switch_counts(small(n, fabric))
        cur = (sc["total"], sc["links_total"], sc["links_leaf_spine"])
        if prev is not None:
            assert all(c >= p for c, p in zip(cur, prev, strict=True)), (n, prev, cur)
        prev = cur


def test_fat_tree_counts_whole_nodes_per_leaf():
    """A fat-tree cables a node's NICs to one leaf: 64 H100 nodes at σ = 2 (43 down, 21 up ports
    per 64-port leaf) put 5 nodes (40 NICs) on a leaf, so 13 leaves as the flow simulation
    builds (12 before, which split a node's NICs across two leaves); the last leaf holds 4
    nodes (32 NICs) and cables ceil(32/2) = 16 uplinks: 12 x 21 + 16 = 268, 5 spines."""
    hw = {"accelerator": "H100", "nodes": 64, "fabric": "fat-tree", "oversubscription": 2.0}
    sc = F.switch_counts(hw)
    assert (sc["tiers"], sc["leaf"], sc["spine"], sc["links_leaf_spine"]) == (2, 13, 5, 12 * 21 + 16)
    assert F.Fabric.build(hw).n_leaves == 13


def test_rail_optimized_counts_a_leaf_per_rail():
    """Rail-optimized leaves are per rail (NVIDIA DGX SuperPOD: one leaf per rail per scalable
    unit): 80 H100 nodes at σ = 1 are 8 rails x 3 leaves (32 + 32 + 16 nodes) = 24 leaves,
    as the flow simulation builds (20 before, which pooled the 640 NICs into one network);
    uplinks 8 x (32 + 32 + 16) = 640, 10 spines."""
    hw = {"accelerator": "H100", "nodes": 80, "fabric": "rail-optimized"}
    sc = F.switch_counts(hw)
    assert (sc["tiers"], sc["leaf"], sc["spine"], sc["links_leaf_spine"]) == (2, 24, 10, 640)
    assert F.Fabric.build(hw).n_leaves == 24


@pytest.mark.parametrize("fabric", ["rails-only", "rail-optimized", "fat-tree"])
def test_switch_count_limiting_cases(fabric):
    """1 node: nothing; exactly full leaves: every leaf cables all its up ports; σ = 1: as many
    uplinks as hosts; a part-filled last leaf: ceil(hosts/σ) uplinks."""
    def sc(n, **kw):
        return F.switch_counts(small(n, fabric, **kw))
    assert sc(1)["total"] == 0 and sc(1)["links_total"] == 0
    full = sc(128)                       # 1,024 NICs, 32 per leaf at σ = 1: 32 full leaves
    assert (full["leaf"], full["links_leaf_spine"]) == (32, 1024)
    for n in (9, 40, 65, 100, 130):      # σ = 1: non-blocking, one uplink per host, part-filled or not
        one_switch = fabric == "rails-only" and n <= 64     # a rail of <= 64 nodes: one switch, no uplink
        assert sc(n)["links_leaf_spine"] == (0 if one_switch else n * 8), n
    part = sc(100, oversubscription=3.0)  # 48 down, 16 up per leaf
    if fabric == "fat-tree":             # 800 NICs: 16 full leaves of 48 + one of 32 (4 nodes)
        assert (part["leaf"], part["links_leaf_spine"]) == (17, 16 * 16 + 11)
    else:                                # per rail 100 nodes: 48 + 48 + 4
        assert (part["leaf"], part["links_leaf_spine"]) == (8 * 3, 8 * (16 + 16 + 2))


def _simulated_counts(fb, fabric):
    """Leaves and leaf-spine cables of the flow simulation's topology (Fabric.build)."""
    if fb.tiers == 1:
        return (fb.rails if fabric == "rails-only" else 1), 0
    lasts = 1 if fabric == "fat-tree" else fb.rails       # a rail's (or the fat-tree's) last leaf
    return fb.n_leaves, (fb.n_leaves - lasts) * fb.uplinks_per_leaf + lasts * fb.uplinks_last_leaf


@pytest.mark.parametrize("fabric", ["rails-only", "rail-optimized", "fat-tree"])
@pytest.mark.parametrize("acc", ["H100", "MI300X"])
def test_switch_counts_are_the_simulated_topology(fabric, acc):
    """switch_counts counts the leaves and the leaf uplinks the flow simulation builds, over a
    grid of node counts, oversubscriptions and radices (one leaf layout for both)."""
    for nodes in (2, 3, 5, 8, 9, 17, 33, 64, 65, 80, 100, 129, 200):
        for sigma in (1.0, 1.5, 2.0, 3.0):
            for radix in (16, 64, 128):
                hw = small(nodes, fabric, acc=acc, oversubscription=sigma)
                sc = F.switch_counts(hw, radix)
                if sc["tiers"] > 2:           # the simulation covers one and two tiers
                    continue
                got = _simulated_counts(F.Fabric.build(hw, radix), fabric)
                assert (sc["leaf"], sc["links_leaf_spine"]) == got, (nodes, sigma, radix)


def test_switch_counts_match_published_fabrics():
    """NVIDIA's DGX SuperPOD B200 table (data/network_switch_counts.csv), 64 to 2,048 nodes, two
    and three levels: every switch and cable count is reproduced exactly."""
    t = F.published_switch_counts()
    assert t.height >= 6
    for r in t.iter_rows(named=True):
        hw = {k: r[k] for k in ("accelerator", "nic", "fabric", "nodes", "oversubscription")}
        got = F.switch_counts(hw, radix=r["radix"])
        want = {k: r[k] for k in ("leaf", "spine", "core", "links_host", "links_leaf_spine", "links_spine_core")}
        assert {k: got[k] for k in want} == want, r["name"]

def test_paths():
    with pytest.raises(ValidationError, match="PXN"):  # RCCL default: PXN off, no cross-rail path
        F.Fabric.build(ZYPHRA).paths(0, 8 * 64 + 3)
    fab = F.Fabric.build(dict(ZYPHRA, pxn=True))
    assert fab.tiers == 2 and fab.uplinks_per_leaf == 32 and fab.n_leaves == 32
    assert len(fab.paths(0, 8 * 64)) == 32            # across leaves of rail 0: every spine
    assert len(fab.paths(0, 8 * 1)) == 1              # same leaf
    p = fab.paths(0, 8 * 64 + 3)                      # other rail: forwarded over xGMI first
    assert all(x[0].startswith("xgmi[node 0, gpu 0->3]") for x in p) and len(p) == 32
    assert all(x[1] == "pxn_hbm[node 0, gpu 3]" for x in p)  # staged in the proxy GPU's HBM
    assert fab.paths(0, 5) == [["xgmi[node 0, gpu 0->5]"]]
    clos = F.Fabric.build(dict(ZYPHRA, fabric="rail-optimized"))
    q = clos.paths(0, 8 * 64 + 3)
    assert len(q) == 32 and q[0][0].startswith("nic_up[node 0, rail 0]")  # straight over a spine


# ---------------------------------------------------------------------------------------
# Simulation properties
@given(st.sampled_from(["ring", "rail_ring", "halving_doubling", "all_to_all"]),
       st.integers(0, 10_000), st.sampled_from(["rails-only", "rail-optimized", "fat-tree"]),
       st.integers(1, 3))
def test_spraying_never_worse_than_ecmp(pattern, seed, fabric, qps):
    fab = F.Fabric.build(small(8, fabric), radix=16)
    fl = F.step_flows(pattern, fab, 1e8, step=seed % 3)
    e = F.simulate_step(fl, fab, "ecmp", seed, qps)
    s = F.simulate_step(fl, fab, "spray", seed)
    assert s.time_s <= e.time_s * (1 + 1e-9)
    assert s.load_bound_s <= e.load_bound_s * (1 + 1e-12)
    assert e.time_s >= e.load_bound_s * (1 - 1e-9)    # nobody beats the busiest link
    assert 0 < e.efficiency <= 1 + 1e-9


@pytest.mark.parametrize("pattern", ["ring", "halving_doubling", "all_to_all"])
def test_conservation_of_bytes(pattern):
    fab = F.Fabric.build(small(8, "rails-only"), radix=16)
    fl = F.step_flows(pattern, fab, 3e8, step=1)
    r = F.simulate_step(fl, fab, "ecmp", seed=5)
    assert r.bytes_delivered == pytest.approx(fl.total_bytes, rel=1e-9)
    inter = fl.nbytes[(fl.src // fab.domain_gpus) != (fl.dst // fab.domain_gpus)].sum()
    assert r.network_bytes == pytest.approx(inter, rel=1e-12)  # every inter-node byte leaves one NIC


def test_explicit_spray_equals_trunk():
    fab = F.Fabric.build(small(8, "fat-tree"), radix=16)
    fl = F.step_flows("all_to_all", fab, 1e8)
    a = K.maxmin_rates(*F.route(fl, fab, "spray"), fab.capacity_Bps)
    b = K.maxmin_rates(*F.route(fl, fab, "spray", explicit_spray=True), fab.capacity_Bps)
    assert a == pytest.approx(b, rel=1e-9)


def test_adaptive_between_ecmp_and_spray():
    fab = F.Fabric.build(ZYPHRA)
    fl = F.step_flows("halving_doubling", fab, 1e9, step=6)
    e = F.monte_carlo(fl, fab, "ecmp", seeds=8)["efficiency"].mean()
    a = F.monte_carlo(fl, fab, "adaptive", seeds=8)["efficiency"].mean()
    assert e < a <= 1 + 1e-9


# ---------------------------------------------------------------------------------------
# Against balls into bins: U = 1 - (1 - 1/k)^m in closed form, η = E[(m/k)/max load] as Monte Carlo
# estimates (the tabulated η below; `balls_into_bins` re-draws them in the same test). Max-load
# asymptotics: Raab & Steger 1998, https://doi.org/10.1007/3-540-49543-6_13
def one_stage(k):
    """k hosts of leaf 0 each send one flow to a host of leaf 1 (k uplinks per leaf; four
    leaves so that the fabric needs two tiers)."""
    h = {"accelerator": "H100", "nodes": 4 * k, "gpus_per_node": 1, "nic": "Pollara-400",
         "fabric": "rail-optimized"}
    fab = F.Fabric.build(h, radix=2 * k)
    src = np.arange(k)
    return fab, F.Flows("one-stage", src, src + k, np.full(k, 1e6))


@pytest.mark.parametrize("k, qps, eta", [(8, 1, 0.41), (8, 2, 0.50), (8, 4, 0.58), (4, 1, 0.51), (16, 1, 0.34)])
def test_ecmp_matches_balls_into_bins(k, qps, eta):
    fab, fl = one_stage(k)
    df = F.monte_carlo(fl, fab, "ecmp", seeds=600, qps=qps)
    assert df["efficiency"].mean() == pytest.approx(eta, abs=0.03)
    mc = F.balls_into_bins(k * qps, k, trials=20000)
    assert mc["eta_mc"] == pytest.approx(eta, abs=0.02)
    assert mc["U_mc"] == pytest.approx(mc["U_exact"], abs=0.01)


def test_balls_into_bins_closed_form():
    assert F.balls_into_bins(8, 8)["U_exact"] == pytest.approx(0.656, abs=5e-4)
    assert F.balls_into_bins(64, 64)["U_exact"] == pytest.approx(0.635, abs=5e-4)


@pytest.mark.parametrize("L, k, eta", [(4, 8, 0.32), (16, 8, 0.26)])
def test_two_tier_rail_matched_permutation(L, k, eta):
    h = {"accelerator": "H100", "nodes": L * k, "gpus_per_node": 1, "nic": "Pollara-400",
         "fabric": "rail-optimized"}
    fab = F.Fabric.build(h, radix=2 * k)
    src = np.arange(L * k)
    dst = ((src // k + 1) % L) * k + src % k
    fl = F.Flows("perm", src, dst, np.full(L * k, 1e6))
    df = F.monte_carlo(fl, fab, "ecmp", seeds=300)
    load_eta = (df["ideal_s"] / df["load_bound_s"]).mean()
    assert load_eta == pytest.approx(eta, abs=0.03)
    assert df["efficiency"].mean() <= load_eta + 1e-9


# ---------------------------------------------------------------------------------------
def test_flow_patterns():
    fab = F.Fabric.build(dict(ZYPHRA, pxn=True))
    n = 1024
    ring = F.step_flows("ring", fab, 1e9)
    assert len(ring) == 8 * 128 * 8  # 8 channels x 128 nodes x (7 intra + 1 inter)
    assert np.bincount(ring.src, minlength=n).max() == 8
    inter = ring.src // 8 != ring.dst // 8
    assert np.all(ring.src[inter] % 8 == ring.dst[inter] % 8)  # rail-matched
    assert ring.total_bytes == pytest.approx(1e9 / n * n)
    a2a = F.step_flows("all_to_all", fab, 1e9)
    assert len(a2a) == n * (n - 1)
    assert F.step_flows("rail_ring", fab, 1e9).total_bytes == pytest.approx(1e9 / 8 / 128 * n)


@pytest.mark.parametrize("call, err", [
    (lambda f, fl: F.simulate_step(fl, f, "hashing"), UnknownNameError),
    (lambda f, fl: F.step_flows("butterfly", f, 1e6), UnknownNameError),
    (lambda f, fl: F.step_flows("ring", f, -5), ValidationError),
    (lambda f, fl: F.step_flows("halving_doubling", f, 1e6, step=99), ValidationError),
    (lambda f, fl: F.simulate_step(F.Flows("x", np.array([0]), np.array([0]), np.ones(1)), f), ValidationError),
    (lambda f, fl: F.simulate_step(F.Flows("x", np.array([0]), np.array([10**6]), np.ones(1)), f), ValidationError),
    (lambda f, fl: F.Fabric.build(dict(ZYPHRA, nodes=1024, fabric="fat-tree")), ValidationError),
    (lambda f, fl: f.paths(0, 10**7), ValidationError),
    (lambda f, fl: F.constant("no_such_constant"), UnknownNameError),
    (lambda f, fl: F.balls_into_bins(10, 4, trials=-1), ValidationError),
    (lambda f, fl: F.balls_into_bins(10, 4, trials=0), ValidationError),
    (lambda f, fl: F.switch_counts(small(8), radix=2), ValidationError),
    (lambda f, fl: F.monte_carlo(fl, f, seeds=0), ValidationError),
])
def test_fabric_errors(call, err):
    f = F.Fabric.build(small(8, "rails-only"), radix=16)
    fl = F.step_flows("ring", f, 1e6)
    with pytest.raises(err):
        call(f, fl)



@pytest.mark.parametrize("call, match", [
    (lambda f, fl: F.step_flows("halving_doubling", small(4), 1e6, step=1.5), r"step = 1\.5: expected an integer"),
    (lambda f, fl: F.step_flows("halving_doubling", small(4), 1e6, step="0"), r"step = '0'"),
    (lambda f, fl: F.step_flows("halving_doubling", small(4), 1e6, step=True), r"step = True"),
    (lambda f, fl: F.route(fl, f, "ecmp", seed=1.5), r"seed = 1\.5"),
    (lambda f, fl: F.route(fl, f, "ecmp", seed="a"), r"seed = 'a'"),
    (lambda f, fl: F.route(fl, f, "ecmp", seed=None), r"seed = None"),
    (lambda f, fl: F.simulate_step(fl, f, seed=2**70), r"seed = \d+: must be an integer in \[0, "),
    (lambda f, fl: F.simulate_step(fl, f, seed=-1), r"seed = -1: must be an integer in \[0, "),
    (lambda f, fl: F.route(fl, f, "ecmp", qps=10**9), r"qps = 1000000000: must be an integer in \[1, 128\]"),
    (lambda f, fl: F.monte_carlo(fl, f, seeds=2, first_seed=1.5), r"first_seed = 1\.5"),
    (lambda f, fl: F.monte_carlo(fl, f, seeds=2, first_seed=-5), r"first_seed = -5"),
    (lambda f, fl: F.Fabric.build(small(8), pxn="yes"), r"pxn = 'yes': expected True or False"),
    (lambda f, fl: f.link_name("a"), r"link = 'a': expected a link index 0\.\."),
])
def test_fabric_bad_inputs_name_the_field(call, match):
    """Bad seeds, steps, queue pairs, flags and link indices raise a ValidationError naming the
    field, the value and what is allowed (before: TypeError, ValueError, OverflowError, a
    MemoryError for qps = 1e9, or a silent truthy 'yes' / truncated 1.5)."""
    f = F.Fabric.build(small(8, "rails-only"), radix=16)
    fl = F.step_flows("ring", f, 1e6)
    with pytest.raises(ValidationError, match=match):
        call(f, fl)


def test_max_qps_is_nccls():
    assert F.constant("max_qps_per_connection") == 128
    f = F.Fabric.build(small(8, "rails-only"), radix=16)
    fl = F.step_flows("ring", f, 1e6)
    assert F.route(fl, f, "ecmp", qps=128)[0].shape[0] == len(fl) + 1

def test_constants_file_has_sources():
    t = F.network_constants()
    assert t["source_url"].str.starts_with("http").all()
    assert {"nic_efficiency", "xgmi_efficiency", "switch_latency_s"} <= set(t["name"])
    assert il.fabric.constant("nic_efficiency") == pytest.approx(47 / 50)


# ---------------------------------------------------------------------------------------
# HardwareConfig: partial nodes and domains, physical bounds, direct construction validated
from infra_lab.scenario import HardwareConfig  # noqa: E402


@pytest.mark.parametrize("kw, domain_gpus, domains", [
    (dict(accelerator="MI300X", nodes=1, gpus_per_node=2, scaleup_domain=8), 2, 1),     # 2 of 8
    (dict(accelerator="MI300X", nodes=3, gpus_per_node=4, scaleup_domain=8), 4, 3),     # 4 of 8, 3 nodes
    (dict(accelerator="GB200", nodes=2, gpus_per_node=4, scaleup_domain=72), 8, 1),     # 8 in an NVL72
    (dict(accelerator="GB200", nodes=36, gpus_per_node=4), 72, 2),                      # 2 full racks
    (dict(accelerator="H100", nodes=4), 8, 4),
    # a partial NVL72: 16 of each rack's 18 trays, 4 racks (hardware.domain_gpus)
    (dict(accelerator="GB200", nodes=64, gpus_per_node=4, scaleup_domain=72, domain_gpus=64), 64, 4),
])
def test_partial_domains(kw, domain_gpus, domains):
    hw = HardwareConfig(**kw)
    assert (hw.domain_gpus, hw.domains) == (domain_gpus, domains)
    assert HardwareConfig.from_dict(kw) == hw


def test_partial_mesh_uses_the_links_that_join_the_job():
    """2 GPUs of an MI300X node: one xGMI link; 4 GPUs: 3 links each; NVL72 subset: full NVLink."""
    link = F.scaleup({"accelerator": "MI300X"}).link_Bps
    for g in (2, 4):
        hw = {"accelerator": "MI300X", "nodes": 1, "gpus_per_node": g, "scaleup_domain": 8}
        c = il.collective("all_reduce", 4e9, hw, g)
        assert c.busbw_Bps == pytest.approx((g - 1) * link, rel=0.01)
    nvl = {"accelerator": "GB200", "nodes": 2, "gpus_per_node": 4, "scaleup_domain": 72, "nic": "ConnectX-7"}
    c8 = il.collective("all_reduce", 4e9, nvl, 8)
    assert c8.nodes == 1 and c8.per_node == 8  # one scale-up domain, no NIC involved
    assert c8.busbw_Bps > F.scaleup(nvl).gpu_Bps * 0.9


@pytest.mark.parametrize("kw, match", [
    (dict(nodes=0), "hardware.nodes"),
    (dict(nodes=10**9), "max_world_gpus"),
    (dict(gpus_per_node=16), "at most 8 GPUs"),
    (dict(scaleup_domain=72), "at most 8 GPUs"),
    (dict(nics_per_node=100), "nics_per_node"),
    (dict(oversubscription=1e9), "oversubscription"),
    (dict(oversubscription=float("nan")), "oversubscription"),
    (dict(nodes="2"), "hardware.nodes"),
    (dict(accelerator=["MI300X"]), "hardware.accelerator"),
    (dict(pxn="yes"), "hardware.pxn"),
    (dict(accelerator="GB200", nodes=20, gpus_per_node=4), "whole scale-up domains"),
    (dict(accelerator="GB200", nodes=64, gpus_per_node=4, domain_gpus=60), "whole scale-up domains"),
    (dict(accelerator="GB200", nodes=64, gpus_per_node=4, domain_gpus=66), "multiples of gpus_per_node"),
    (dict(accelerator="MI300X", nodes=2, domain_gpus=4), "domain_gpus"),
])
def test_hardware_bounds_direct_construction(kw, match):
    """HardwareConfig(...) is validated exactly like the dict form."""
    kw = {"accelerator": "MI300X", **kw}
    with pytest.raises(ValidationError, match=match):
        HardwareConfig(**kw)
    with pytest.raises(ValidationError, match=match):
        HardwareConfig.from_dict(kw)


def test_hardware_unknown_names():
    with pytest.raises(UnknownNameError, match="fabric"):
        HardwareConfig("MI300X", nodes=2, fabric="torus")
    with pytest.raises(UnknownNameError, match="Xeon-Platinum-8570"):
        HardwareConfig("MI300X", host_cpu="Xeon 857")


def test_host_cpu_sets_net_overhead():
    """ZAYA1's nodes have Intel Xeon 8570 hosts: NCCL/RCCL getNetOverhead() = 1 µs, not the
    2 µs of an AMD EPYC host."""
    z = il.load_scenario("zaya1-ibm-mi300x").hardware
    assert z.host_cpu == "Xeon-Platinum-8570"
    assert F.net_overhead_s(z.host_cpu) == pytest.approx(1e-6)
    assert F.net_overhead_s("EPYC-9374F") == pytest.approx(2e-6)
    assert F.net_overhead_s("Grace") == pytest.approx(1e-6)


@pytest.mark.parametrize("host", ["Xeon-Platinum-8570", "EPYC-9374F"])
@pytest.mark.parametrize("proto", [0, 2])   # LL, Simple
def test_net_overhead_sets_a_floor_on_ring_steps_as_the_library_tuning_model(host, proto):
    """ncclTopoTuneModel's ring latency: base + (nsteps - nInterSteps) · max(intra hop, netOverhead
    (×3 for Simple)) + nInterSteps · net hop; here an all-gather over 4 nodes of 8 MI300X."""
    hw = HardwareConfig("MI300X", nodes=4, host_cpu=host)
    P = il.collectives.collective_time_params(hw).array
    n, k, N = 32, 8, 4
    j = 3 * K.ALG_RING + proto
    ovh = F.net_overhead_s(host) * (F.constant("net_overhead_simple_factor") if proto == 2 else 1.0)
    intra = max(P[K.P_HWI + j], ovh)
    expect = P[K.P_BASE + j] + (n - 1 - (N - 1)) * intra + (N - 1) * (P[K.P_HWN + j] + P[K.P_LATINTER])
    got = K.latency(K.OP_ALL_GATHER, K.ALG_RING, proto, n, k, P, np.int64(K.P_HWN))
    assert got == pytest.approx(expect, rel=1e-12)


def test_host_vendor_moves_only_collectives_that_cross_nodes():
    """The host's per-message overhead is paid on network messages: a ring inside one node costs
    the same on any host; across nodes the AMD host's 2 µs make the ring slower than Intel's 1 µs,
    in the latency and, through each network chunk's post, in the bandwidth term."""
    def params(host, nodes):
        return il.collectives.collective_time_params(HardwareConfig("MI300X", nodes=nodes, host_cpu=host)).array

    size = 64e6
    one = [K.collective_cost(K.OP_ALL_GATHER, K.ALG_RING, 2, size, 8, 8, params(h, 1))
           for h in ("Xeon-Platinum-8570", "EPYC-9374F")]
    assert one[0] == one[1]
    xeon, epyc = (params(h, 16) for h in ("Xeon-Platinum-8570", "EPYC-9374F"))
    t_x = K.collective_cost(K.OP_ALL_GATHER, K.ALG_RING, 2, size, 128, 8, xeon)
    t_e = K.collective_cost(K.OP_ALL_GATHER, K.ALG_RING, 2, size, 128, 8, epyc)
    lat_x = K.latency(K.OP_ALL_GATHER, K.ALG_RING, 2, 128, 8, xeon, np.int64(K.P_HWN))
    lat_e = K.latency(K.OP_ALL_GATHER, K.ALG_RING, 2, 128, 8, epyc, np.int64(K.P_HWN))
    assert lat_e > lat_x and t_e - lat_e > t_x - lat_x > 0


def test_zaya1_host_sensitivity_is_data_parallel_communication_only():
    """ZAYA1 (1,024 MI300X, DP + ZeRO-1) on AMD EPYC hosts instead of its Intel Xeon hosts: only
    the cross-node data-parallel collectives change (notebook 04 §3 prints the figures)."""
    sc = il.load_scenario("zaya1-ibm-mi300x")
    xeon = dict(il.estimate(sc).breakdown.iter_rows())
    epyc = dict(il.estimate(sc.replace(hardware={"host_cpu": "EPYC-9374F"})).breakdown.iter_rows())
    moved = {c for c in xeon if epyc[c] != pytest.approx(xeon[c], rel=1e-12, abs=1e-15)}
    assert moved and moved <= {"dp_grad_comm", "dp_param_comm"}
    assert all(epyc[c] > xeon[c] for c in moved)


# ---------------------------------------------------------------------------------------
# PXN in the flow simulation, and routing for the patterns ZAYA1 runs
def test_rails_only_without_pxn_refuses_cross_rail_flows():
    fab = F.Fabric.build(small(4, "rails-only", pxn=False), radix=16)
    a2a = F.step_flows("all_to_all", fab, 1e8)
    with pytest.raises(ValidationError, match="PXN"):
        F.simulate_step(a2a, fab, "spray")
    ring = F.step_flows("ring", fab, 1e8)  # rail-matched: fine without PXN
    assert F.simulate_step(ring, fab, "spray").time_s > 0


def test_pxn_forwarding_loads_scaleup_and_staging():
    """With PXN every cross-rail chunk crosses one xGMI link and is written + read in the proxy
    GPU's HBM: link loads add up exactly."""
    fab = F.Fabric.build(small(4, "rails-only"), radix=16)
    a2a = F.step_flows("all_to_all", fab, 8e8)
    ptr, links, w = F.route(a2a, fab, "spray")
    loads = K.link_loads(ptr, links, w, a2a.nbytes, fab.n_links)
    G = fab.domain_gpus
    inter = a2a.src // G != a2a.dst // G
    cross = inter & (a2a.src % G != a2a.dst % G)
    b = dict(fab.group_bounds)
    assert loads[slice(*b["pxn_hbm"])].sum() == pytest.approx(2 * a2a.nbytes[cross].sum(), rel=1e-12)
    assert loads[slice(*b["xgmi"])].sum() == pytest.approx(a2a.nbytes[~inter].sum() + a2a.nbytes[cross].sum(),
                                                           rel=1e-12)


def test_spraying_buys_nothing_for_rail_matched_rings():
    """ZAYA1's data-parallel traffic is RCCL's rail-matched ring: almost every flow stays on its
    rail's leaf, so ECMP already runs at the ideal (η ≈ 1) and spraying has nothing to fix;
    a cross-leaf halving/doubling step is where ECMP collides."""
    fab = F.Fabric.build(ZYPHRA)
    ring = F.monte_carlo(F.step_flows("ring", fab, 2**30), fab, "ecmp", seeds=8)
    hd = F.monte_carlo(F.step_flows("halving_doubling", fab, 2**30, step=6), fab, "ecmp", seeds=8)
    assert ring["efficiency"].min() > 0.95
    assert hd["efficiency"].mean() < 0.4


def test_scaleup_bandwidth_refuses_groups_the_domain_does_not_hold():
    """bandwidth_Bps(k) names k and the domain for a group larger than the scale-up domain, a
    fractional or non-numeric k, instead of pricing 16 MI300X as if one xGMI mesh joined them."""
    mi = il.fabric.scaleup({"accelerator": "MI300X"})
    assert mi.bandwidth_Bps(1) == 0.0
    for bad in (9, 16, 2.5, 0, -1, "8", float("nan"), True):
        with pytest.raises(il.ValidationError, match="scale-up domain of 8"):
            mi.bandwidth_Bps(bad)
    assert mi.bandwidth_Bps(8.0) == mi.bandwidth_Bps(8)


@pytest.mark.parametrize("seed", range(12))
def test_fluid_completion_agrees_with_the_event_loop_reference(seed):
    """The fluid simulation (finish times re-solved as flows end) against its plain event-loop
    reference, on random instances with random sizes (some zero)."""
    rng = np.random.default_rng(300 + seed)
    ptr, links, w, cap = random_instance(rng, F_=int(rng.integers(1, 40)), L=int(rng.integers(1, 16)))
    nbytes = rng.uniform(0.0, 50.0, len(ptr) - 1) * (rng.uniform(size=len(ptr) - 1) > 0.1)
    fk, dk, rk = K.fluid_completion(ptr, links, w, cap, nbytes)
    fr, dr, rr = K.fluid_completion_reference(ptr, links, w, cap, nbytes)
    assert fk == pytest.approx(fr, rel=1e-9, abs=1e-12)
    assert dk == pytest.approx(dr, rel=1e-9, abs=1e-12)
    assert rk == rr
    assert dk == pytest.approx(nbytes, rel=1e-9, abs=1e-12)     # every flow crosses a link of capacity > 0
