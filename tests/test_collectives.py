"""Collective model: nccl-tests factors, the libraries' latency tables and tuner choices,
kernel vs independent reference, published-measurement validation, partial domains, PXN,
bad input."""

from __future__ import annotations

import math

import numpy as np
import polars as pl
import pytest
from fabric_check import leaf_all_to_all
from hypothesis import given, settings
from hypothesis import strategies as st

import infra_lab as il
from infra_lab import collectives as C
from infra_lab._kernels import collectives as K
from infra_lab._kernels import collectives_reference as R
from infra_lab.errors import UnknownNameError, ValidationError
from infra_lab.scenario import HardwareConfig

MI = {"accelerator": "MI300X", "nic": "Pollara-400", "fabric": "rails-only"}
H100 = {"accelerator": "H100", "nic": "ConnectX-7", "fabric": "rail-optimized"}
OPS = list(C.OPS)


def hw(base, nodes, **kw):
    return dict(base, nodes=nodes, **kw)


# ---------------------------------------------------------------------------------------
def test_busbw_factors():
    assert C.busbw_factor("all_reduce", 8) == pytest.approx(2 * 7 / 8)
    for op in ("reduce_scatter", "all_gather", "all_to_all"):
        assert C.busbw_factor(op, 1024) == pytest.approx(1023 / 1024)
    assert C.busbw_factor("broadcast", 64) == 1.0
    for bad in (2.7, True, 0, "8"):
        with pytest.raises(ValidationError, match="whole number"):
            C.busbw_factor("all_reduce", bad)


def test_result_fields_follow_nccl_tests():
    c = il.collective("all_reduce", 2**28, hw(MI, 4), 32)
    assert c.algbw_Bps == pytest.approx(c.size_bytes / c.time_s)
    assert c.busbw_Bps == pytest.approx(c.algbw_Bps * 2 * 31 / 32)
    assert c.algorithm in C.ALGORITHMS and c.protocol in C.PROTOCOLS and c.nodes == 4 and c.per_node == 8


def test_one_rank_and_zero_bytes():
    """One rank moves nothing: 0 s and 0 B/s (never S/0 or NaN); zero bytes launch nothing
    (0 s, not a latency: test_a_zero_byte_collective_launches_nothing)."""
    one = il.collective("all_reduce", 1e6, hw(MI, 1), 1)
    assert (one.time_s, one.algbw_Bps, one.busbw_Bps, one.algorithm) == (0.0, 0.0, 0.0, "none")
    z = il.collective("all_reduce", 0, hw(MI, 1), 8)
    assert z.time_s == 0.0 and z.busbw_Bps == 0.0 and z.algbw_Bps == 0.0


# ---------------------------------------------------------------------------------------
# The libraries' own latency model, bandwidth excluded: all-reduce latencies worked by hand from
# ncclTopoTuneModel in NCCL's src/graph/tuning.cc (https://github.com/NVIDIA/nccl/blob/master/src/graph/tuning.cc;
# DGX H100, Intel host) and RCCL's tuning_model_5 (https://github.com/ROCm/rccl/blob/develop/src/graph/tuning.cc)
NCCL_WORKED = {  # nodes: (Ring LL, LL128, Simple, Tree LL, LL128, Simple) [µs], Intel host
    1: (15.0, 40.6, 56.0, 15.2, 31.5, 64.4),
    2: (40.0, 75.2, 131.6, 25.2, 48.5, 92.4),
    16: (311.6, 559.6, 1190.0, 55.2, 99.5, 176.4),
    128: (2484.0, 4435.0, 9657.0, 85.2, 150.5, 260.4),
}
RCCL_WORKED = {1: (23.2, 46.4, 24.6), 2: (87.0, 825.0, 45.6), 16: (745.0, 10961.0, 108.6)}


@pytest.mark.parametrize("nodes", sorted(NCCL_WORKED))
def test_nccl_worked_latencies(nodes):
    p = C.collective_time_params(hw(H100, nodes), radix=1024).array  # DGX H100: Intel host, one tier
    got = [K.latency(K.OP_ALL_REDUCE, a, pr, 8 * nodes, 8, p, K.P_HWN) * 1e6
           for a in (K.ALG_RING, K.ALG_TREE) for pr in range(3)]
    assert got == pytest.approx(NCCL_WORKED[nodes], abs=0.051, rel=2e-4)


@pytest.mark.parametrize("nodes", sorted(RCCL_WORKED))
def test_rccl_tuner_worked_latencies(nodes):
    """RCCL's tuner (tuning_model_5, AMD host, 320 µs NET Ring/Simple) reproduces the worked
    table; the cost uses the physical hop latencies instead (Tree: fitted, see fit_physics)."""
    p = C.collective_time_params(hw(MI, nodes), radix=1024).array
    n = 8 * nodes
    ring_ll, ring_simple, tree_ll = RCCL_WORKED[nodes]
    lat = lambda a, pr: K.latency(K.OP_ALL_REDUCE, a, pr, n, 8, p, -1) * 1e6  # noqa: E731
    assert lat(K.ALG_RING, K.PROTO_LL) == pytest.approx(ring_ll, abs=0.051)
    assert lat(K.ALG_RING, K.PROTO_SIMPLE) == pytest.approx(ring_simple, abs=0.051)
    assert lat(K.ALG_TREE, K.PROTO_LL) == pytest.approx(tree_ll, abs=0.051)


def test_host_cpu_sets_the_ring_step_latency():
    """Multi-node Ring/Simple intra steps cost max(hw latency, 3 x getNetOverhead): 3 µs on
    the ZAYA1 nodes' Intel Xeon 8570, 6 µs on an AMD EPYC host."""
    intel = C.collective_time_params(dict(MI, nodes=2, host_cpu="Xeon-Platinum-8570")).array
    amd = C.collective_time_params(dict(MI, nodes=2, host_cpu="EPYC-9374F")).array
    li = K.latency(K.OP_ALL_REDUCE, K.ALG_RING, K.PROTO_SIMPLE, 16, 8, intel, K.P_HWN)
    la = K.latency(K.OP_ALL_REDUCE, K.ALG_RING, K.PROTO_SIMPLE, 16, 8, amd, K.P_HWN)
    assert la - li == pytest.approx((30 - 2) * 3e-6, rel=1e-9)


# ---------------------------------------------------------------------------------------
# "auto" picks as the library does, among what the library implements for the op
def test_rccl_reduce_scatter_and_all_gather_are_ring_only():
    for op in ("reduce_scatter", "all_gather"):
        assert C.applicable_algorithms(op, hw(MI, 4), 32) == ["ring"]
        assert C.applicable_algorithms(op, hw(MI, 32), 32, per_node=1) == ["ring"]  # no PAT in RCCL
    assert "tree" in C.applicable_algorithms("all_reduce", hw(MI, 4), 32)


def test_nccl_pat_only_with_one_gpu_per_node():
    assert "pat" in C.applicable_algorithms("all_gather", hw(H100, 16), 16, per_node=1)
    assert "pat" not in C.applicable_algorithms("all_gather", hw(H100, 16), 128)
    assert "pat" not in C.applicable_algorithms("all_reduce", hw(H100, 16), 16, per_node=1)


def test_nvls_reduces_in_the_switch():
    """8 x H100: NCCL picks NVLS for large all-reduce and busbw exceeds the 450 GB/s NVLink
    line rate, as nccl-tests report it; 4 GPUs get no NVLS (no multicast benefit)."""
    c = il.collective("all_reduce", 2**33, hw(H100, 1), 8)
    line = il.catalog.accelerator("H100").scaleup_links * il.catalog.accelerator("H100").scaleup_link_bw_Bps
    assert c.algorithm == "nvls" and c.busbw_Bps > line
    part = {"accelerator": "H100", "nodes": 1, "gpus_per_node": 4, "scaleup_domain": 8}
    assert il.collective("all_reduce", 2**33, part, 4).algorithm == "ring"
    assert "nvls" not in C.applicable_algorithms("all_reduce", hw(MI, 1), 8)  # xGMI: no switch


def test_collnet_needs_in_network_reduction():
    assert "collnet_direct" not in C.applicable_algorithms("all_reduce", hw(H100, 4), 32)
    sharp = C.applicable_algorithms("all_reduce", hw(H100, 4, sharp=True), 32)
    assert {"collnet_direct", "collnet_chain", "nvls"} <= set(sharp)
    a = il.collective("all_reduce", 2**32, hw(H100, 4, sharp=True), 32, "collnet_direct")
    r = il.collective("all_reduce", 2**32, hw(H100, 4), 32, "ring")
    assert a.time_s < r.time_s  # the switches halve what each node sends


def test_rccl_msccl_allpairs_windows():
    """8 x MI300X: RCCL's MSCCL all-pairs kernel for 1 KiB-16 MiB, its ring beyond and below."""
    chosen = {s: il.collective("all_reduce", s, hw(MI, 1), 8) for s in (512, 2**16, 2**22, 2**26)}
    assert chosen[512].algorithm == "ring"
    assert (chosen[2**16].algorithm, chosen[2**16].protocol) == ("allpairs", "LL")
    assert (chosen[2**22].algorithm, chosen[2**22].protocol) == ("allpairs", "Simple")
    assert (chosen[2**26].algorithm, chosen[2**26].protocol) == ("ring", "Simple")
    assert il.collective("all_reduce", 2**22, hw(MI, 1), 8, "direct").algorithm == "allpairs"  # alias


def test_mid_size_mi300x_from_channels_not_links():
    """4-32 MiB on 8 x MI300X runs on 8 channels (all-pairs) or pays ring latency: busbw stays
    well below the 7-link ceiling, as RCCL measures (the old model was 18-34 % high)."""
    ceiling = il.fabric.scaleup(hw(MI, 1)).bandwidth_Bps(8)
    for s in (2**22, 2**23, 2**24, 2**25):
        assert il.collective("all_reduce", s, hw(MI, 1), 8).busbw_Bps < 0.8 * ceiling


def test_fastest_is_never_slower_than_the_library_choice():
    for base, nodes in ((MI, 2), (H100, 4), (MI, 1)):
        for s in (2**10, 2**20, 2**30):
            n = 8 * nodes
            a = il.collective("all_reduce", s, hw(base, nodes), n)
            f = il.collective("all_reduce", s, hw(base, nodes), n, "fastest")
            assert f.time_s <= a.time_s * (1 + 1e-12)


@pytest.mark.parametrize("name", ["rhd", "hierarchical", "bruck", "rabenseifner"])
def test_removed_textbook_algorithms_refused(name):
    with pytest.raises(ValidationError, match="neither NCCL nor RCCL"):
        il.collective("all_reduce", 1e6, hw(MI, 2), 16, name)


# ---------------------------------------------------------------------------------------
# Kernel vs the independently written plain-Python reference
CASES = [hw(MI, 1), hw(MI, 4), hw(MI, 4, pxn=True), hw(H100, 1), hw(H100, 8), hw(H100, 2, sharp=True),
         {"accelerator": "B200", "nic": "ConnectX-8", "fabric": "fat-tree", "nodes": 4, "oversubscription": 2.0},
         {"accelerator": "MI355X", "nic": "Pollara-400", "nodes": 2, "host_cpu": "Xeon-Platinum-8570"},
         {"accelerator": "GB200", "nic": "ConnectX-7", "nodes": 36, "gpus_per_node": 4},
         {"accelerator": "MI300X", "nic": "Vulcano-800", "nodes": 4},   # scale-out capped by the host link
         # several leaves with oversubscribed uplinks: 6 nodes per fat-tree leaf, 35 per rail leaf
         {"accelerator": "H100", "fabric": "fat-tree", "nodes": 64, "oversubscription": 3.0},
         {"accelerator": "H100", "fabric": "rail-optimized", "nodes": 64, "oversubscription": 1.2, "pxn": True},
         # a part-filled last leaf cabling fewer uplinks: 2 of 48 rail-leaf nodes; 2 of 6 fat-tree nodes
         {"accelerator": "H100", "fabric": "rail-optimized", "nodes": 50, "oversubscription": 3.0, "pxn": True},
         {"accelerator": "H100", "fabric": "fat-tree", "nodes": 32, "oversubscription": 4.0}]


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(range(len(CASES))), st.sampled_from(range(6)), st.integers(-1, K.N_ALGOS - 1),
       st.floats(0.0, 3e10), st.sampled_from([1, 2, 3, 4, 5, 8, 72]), st.sampled_from([1, 2, 4, 36, 50]))
def test_kernel_matches_independent_reference(ci, op, algo, size, k, domains):
    cp = C.collective_time_params(CASES[ci])
    k = min(k, cp.domain)
    n = k * min(domains, CASES[ci]["nodes"] * CASES[ci].get("gpus_per_node", 8) // cp.domain)
    p = R.named_vector(cp.named(), cp.array)
    tk, ak, pk = K.best_collective(op, algo, size, n, k, cp.array)
    tr, ar, pr = R.collective_reference(p, R.OPS[op], None if algo < 0 else R.ALGOS[algo], size, n, k)
    if math.isinf(tr):
        assert math.isinf(tk)
        return
    assert tk == pytest.approx(tr, rel=1e-9, abs=1e-15)
    if n > 1 and ak < 0:   # nothing launched: zero bytes
        assert (tk, ar, pr) == (0.0, None, None)
    elif n > 1:
        assert (R.ALGOS[ak], R.PROTOS[pk]) == (ar, pr)


def test_parameter_vector_entries_do_not_overlap():
    sizes = K.VECTOR_LENGTHS
    spans = sorted((getattr(K, n), getattr(K, n) + sizes.get(n[2:], 1), n)
                   for n in dir(K) if n.startswith("P_") and n != "P_SIZE")
    for (_a0, a1, na), (b0, _, nb) in zip(spans[:-1], spans[1:], strict=True):
        assert a1 <= b0, f"{na} overlaps {nb}"
    assert spans[-1][1] <= K.P_SIZE


@pytest.mark.parametrize("accelerator", ["H100", "MI300X"])
def test_tuner_constants_come_from_the_data_file_at_a_pinned_commit(accelerator):
    """The tuner's and the tree chunking's library constants have one owner, a row of
    data/network_physics.csv citing the library source at a pinned commit: the kernel's vector
    holds that row's value (for NCCL and RCCL platforms alike), and the reference reads the
    same row by name."""
    import re

    phys = pl.read_csv(C.PHYSICS_FILE)
    rows = {r["name"]: r for r in phys.iter_rows(named=True)}
    P = C.collective_time_params({"accelerator": accelerator, "nodes": 2}).array
    assert set(C.TUNER_CONSTANTS) <= {n for n in dir(K) if n.startswith("P_")}
    for idx, name in C.TUNER_CONSTANTS.items():
        r = rows[name]
        assert P[getattr(K, idx)] == r["value"] == C.physics_constants()[name]
        assert r["basis"] == "library constant"
        for url in r["source_url"].split(" ; "):
            pinned = r"https://github\.com/(NVIDIA/nccl|ROCm/rccl)/blob/[0-9a-f]{40}/src/\S+#L\d+(-L\d+)?"
            assert re.fullmatch(pinned, url), url
    # a constant changed in the vector alone moves the kernel's choice but not the reference's,
    # which reads the data file: the reference does not take these numbers from the vector
    cp = C.collective_time_params(hw(H100, 2))
    Q = np.array(cp.array)
    Q[K.P_T_TREE_LL_DIV] = 1e6   # tree/LL never wins the kernel's tuner
    p = R.named_vector(cp.named(), Q)
    moved = 0
    for size in 2.0 ** np.arange(6, 24):
        orig = K.best_collective(0, -1, size, 16, 8, cp.array)[1:]
        assert R.choose(p, "all_reduce", size, 16, 8) == (R.ALGOS[orig[0]], R.PROTOS[orig[1]])
        moved += K.best_collective(0, -1, size, 16, 8, Q)[1:] != orig
    assert moved > 0


# ---------------------------------------------------------------------------------------
# Properties
@settings(max_examples=150, deadline=None)
@given(st.sampled_from([MI, H100]), st.sampled_from([0, 1, 2, 4]), st.sampled_from(range(9)),
       st.sampled_from(range(3)), st.floats(1.0, 1e10), st.sampled_from([1, 2, 16]),
       st.floats(1.01, 4.0), st.sampled_from(["link", "nic", "size"]))
def test_more_bandwidth_or_less_data_never_slower(base, op, algo, proto, size, nodes, factor, what):
    p = np.array(C.collective_time_params(hw(base, nodes, pxn=True)).array)
    q = p.copy()
    s2 = size
    if what == "link":
        q[K.P_LINK] *= factor
    elif what == "nic":
        q[K.P_BNIC] *= factor
    else:
        s2 = size / factor
    n = 8 * nodes
    t_slow = K.collective_cost(op, algo, proto, size, n, 8, p)
    t_fast = K.collective_cost(op, algo, proto, s2, n, 8, q)
    if math.isfinite(t_slow):
        assert t_fast <= t_slow * (1 + 1e-12)


@settings(max_examples=100, deadline=None)
@given(st.sampled_from(OPS), st.sampled_from(range(K.N_ALGOS)), st.floats(1.0, 1e10),
       st.sampled_from([1, 2, 16]))
def test_send_receive_algorithms_respect_the_lower_bound(op, algo, size, nodes):
    if algo in (K.ALG_NVLS, K.ALG_NVLSTREE, K.ALG_COLLNET_DIRECT, K.ALG_COLLNET_CHAIN):
        return  # the switches reduce in flight: not bound by send/receive arguments
    p = C.collective_time_params(hw(MI, nodes, pxn=True)).array
    n = 8 * nodes
    lat, bw, red = K.lower_bound(C.OPS.index(op), size, n, 8, p)
    for pr in range(3):
        t = K.collective_cost(C.OPS.index(op), algo, pr, size, n, 8, p)
        if math.isfinite(t):
            assert t >= (lat + max(bw, red)) * (1 - 1e-12)


def test_two_nodes_vs_one_node_32GB():
    """A 32 GB all-reduce IS slightly faster on 2 x 8 MI300X than on 8 (physics): a multi-node
    ring sends 1/8 of each GPU's traffic through its NIC, so 7 xGMI links + a 47 GB/s NIC serve
    what one node serves with 7 links, outweighing 2(n-1)/n growing from 1.75 to 1.875. The
    measured MI325X rows show the same (8 GiB: 47.3 ms on 1 node, 46.2 ms on 2). On H100 the
    opposite holds: NVLS inside a node beats anything over 8 x 400G."""
    t1 = il.collective("all_reduce", 32e9, hw(MI, 1), 8).time_s
    t2 = il.collective("all_reduce", 32e9, hw(MI, 2), 16).time_s
    meas = C.measurement_set().filter(pl.col("case").str.starts_with("mi325x-")
                                      & (pl.col("size_bytes") == 8589934592))
    tm = {r["nodes"]: r["time_us"] for r in meas.iter_rows(named=True)}
    assert t2 < t1
    assert t2 / t1 == pytest.approx(tm[2] / tm[1], abs=0.03)
    assert il.collective("all_reduce", 32e9, hw(H100, 2), 16).time_s > \
        il.collective("all_reduce", 32e9, hw(H100, 1), 8).time_s


# ---------------------------------------------------------------------------------------
# PXN and rails
def test_rails_only_all_to_all_needs_pxn():
    """RCCL ships PXN off (ROCm/rccl#1209): cross-rail traffic has no path on a rails-only
    fabric; NCCL's default (on) or hardware.pxn = true forwards it over the scale-up fabric."""
    with pytest.raises(ValidationError, match="pxn"):
        il.collective("all_to_all", 1e8, hw(MI, 4), 32)
    fwd = il.collective("all_to_all", 1e8, hw(MI, 4, pxn=True), 32)
    assert fwd.algorithm == "p2p" and fwd.time_s > 0
    assert il.collective("all_to_all", 1e8, hw(MI, 4), 32, "rail_aware").algorithm == "pxn"
    assert il.collective("all_to_all", 1e8, hw(MI, 4, fabric="rail-optimized"), 32).time_s > 0
    assert il.collective("all_to_all", 1e8, hw(H100, 4, fabric="rails-only"), 32).time_s > 0  # NCCL: PXN on


def test_rails_only_overhead_small_when_nic_bound():
    """Forwarding over 7 x 46.6 GB/s of xGMI hides behind 47 GB/s NICs: the model's rails-only
    all-to-all overhead is < 1 % at 1,024 GPUs (Wang et al. simulate 8.2-11.2 %)."""
    over = C.rails_only_overhead_pct(2**30, hw(MI, 128), 1024)
    assert 0.0 <= over < 1.0


# ---------------------------------------------------------------------------------------
# Validation against published nccl-tests / rccl-tests results
def test_validation_against_published_results(capsys):
    """Scored TEST rows: median |error| <= 10 % and worst <= 25 % at >= 1 MiB, median <= 25 %
    below 1 MiB (issue 14). Printed per library, accelerator and size band (pytest -s)."""
    t = C.validation_table()
    with capsys.disabled():
        print()
        print(C.validation_summary(t))
    v = t.filter((pl.col("use") == "validate") & (pl.col("split") == "test") & (pl.col("measured_GBps") > 0))
    big = v.filter(pl.col("size_bytes") >= 2**20)["error_pct"].abs()
    small = v.filter(pl.col("size_bytes") < 2**20)["error_pct"].abs()
    assert big.len() >= 50 and small.len() >= 20
    assert big.median() <= 10.0 and big.max() <= 25.0
    assert small.median() <= 25.0
    libs = set(v["library"]) | set(v["accelerator"])
    assert {"nccl", "rccl", "MI300X", "MI325X", "MI355X", "H200-SXM", "B200"} <= libs
    assert set(v["op"]) >= {"all_reduce", "all_gather", "reduce_scatter", "all_to_all"}


def test_measurement_set_rows_are_sourced_and_reserved_sources_absent():
    m = C.measurement_set()
    assert m["source_url"].str.starts_with("http").all()
    assert not m["source_url"].str.contains("AI-benchmarking-guide").any()
    assert not m["source_url"].str.contains("github.com/NVIDIA/nccl/issues").any()


def test_fitted_factors_are_rederived():
    """The fitted rows of data/network_physics.csv and network_library_tables.csv equal what
    fit_physics() derives from the TRAINING rows."""
    fit = C.fit_physics()
    phys = C.physics_constants()
    for name in ("rccl_channel_Bps_simple", "nvls_algbw_fraction_hopper", "nvls_algbw_fraction_blackwell"):
        assert phys[name] == pytest.approx(fit[name], rel=5e-3)
    tab = C.library_tables().filter((pl.col("library") == "rccl") & (pl.col("table") == "hw_net")
                                    & (pl.col("algorithm") == "tree")).row(0, named=True)
    assert tab["LL"] == pytest.approx(fit["rccl_hw_net_tree_LL_us"], abs=0.01)
    assert tab["Simple"] == pytest.approx(fit["rccl_hw_net_tree_Simple_us"], abs=0.01)


def test_published_facts():
    t = C.published_comparison()
    bw = t.filter(t["metric"].str.starts_with("busbw"))
    assert (bw["error_pct"].abs() < 10.0).all()


# ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("kwargs, err, match", [
    (dict(op="all_reduce", size_bytes=1e6, gpus=4096), ValidationError, "larger than the cluster"),
    (dict(op="all_reduce", size_bytes=-1.0, gpus=8), ValidationError, "size_bytes"),
    (dict(op="all_reduce", size_bytes=float("nan"), gpus=8), ValidationError, "size_bytes"),
    (dict(op="all_reduce", size_bytes="1e6", gpus=8), ValidationError, "size_bytes"),
    (dict(op="allreduce", size_bytes=1e6, gpus=8), UnknownNameError, "all_reduce"),
    (dict(op="all_reduce", size_bytes=1e6, gpus=8, algorithm="butterfly"), UnknownNameError, "algorithm"),
    (dict(op="all_reduce", size_bytes=1e6, gpus=0), ValidationError, "gpus"),
    (dict(op="all_reduce", size_bytes=1e6, gpus=True), ValidationError, "gpus"),
    (dict(op="all_reduce", size_bytes=1e6, gpus=12), ValidationError, "multiple of 8"),
    (dict(op="all_reduce", size_bytes=1e6, gpus=16, algorithm="allpairs"), ValidationError, "cannot run"),
    (dict(op="all_reduce", size_bytes=1e6, gpus=16, radix=3), ValidationError, "radix"),
])
def test_clear_errors(kwargs, err, match):
    with pytest.raises(err, match=match):
        il.collective(hardware=hw(MI, 2), **kwargs)


def test_hardware_objects_like_dicts():
    from infra_lab.scenario import HardwareConfig

    d = hw(MI, 2)
    assert il.collective("all_gather", 1e8, d, 16) == il.collective("all_gather", 1e8, HardwareConfig.from_dict(d), 16)
    with pytest.raises(ValidationError, match="hardware.nodes"):
        il.collective("all_reduce", 1e6, HardwareConfig("MI300X", nodes=0), 8)
    with pytest.raises(UnknownNameError):
        il.collective("all_reduce", 1e6, {"accelerator": "MI301X"}, 8)


def test_sweep_and_table_frames():
    df = C.sweep("all_reduce", [1e3, 1e6, 1e9], hw(MI, 1), 8, algorithms=("auto", "ring", "tree", "nvls"))
    assert set(df["algorithm"]) == {"auto", "ring", "tree"}  # no NVLS on xGMI; tree runs LL in one node
    assert (df.filter(pl.col("algorithm") == "tree")["protocol"] == "LL").all()  # RCCL: no Tree/Simple
    assert (df["busbw_GBps"] > 0).all()
    tab = C.algorithm_table("all_reduce", 1e8, hw(MI, 16), 128)
    assert tab["time_s"].is_sorted() and tab["library_choice"].sum() == 1
    with pytest.raises(UnknownNameError):
        C.sweep("all_reduce", [1e6], hw(MI, 1), 8, algorithms=("warp",))


# ---------------------------------------------------------------------------------------
# Charts and widget (no browser: chart.to_dict(), the update function called directly)
def test_network_charts_to_dict():
    from infra_lab.charts import network as ch

    sw = C.sweep("all_reduce", [2.0**e for e in range(10, 30, 4)], hw(MI, 1), 8)
    sw = sw.with_columns(series=pl.lit("8×MI300X"), ceiling_GBps=pl.lit(325.9))
    d = ch.busbw_vs_size_chart(sw).to_dict()
    assert "[bytes]" in str(d) and "[GB/s]" in str(d)
    sc = pl.DataFrame({"gpus": [8, 16], "busbw_GBps": [300.0, 200.0], "series": ["a", "a"]})
    assert "GPUs in the collective [-]" in str(ch.scaling_chart(sc).to_dict())
    mc = pl.DataFrame({"routing": ["ecmp", "spray"], "efficiency": [0.4, 1.0]})
    assert "η" in str(ch.routing_distribution_chart(mc).to_dict())
    fc = pl.DataFrame({"fabric": ["rails-only"], "workload": ["dense"], "time_ms": [1.0]})
    assert "[ms]" in str(ch.fabric_comparison_chart(fc).to_dict())
    val = C.validation_table()
    assert "error" in str(ch.validation_chart(val).to_dict())
    assert set(ch.__all__) <= set(il.charts.__all__)
    with pytest.raises(ValidationError, match="lacks column"):
        ch.scaling_chart(mc)


def test_message_size_axes_read_as_sizes():
    """The message-size axes of the busbw and validation charts label their ticks as nccl-tests
    prints sizes ("64 KiB", "1 GiB"), not raw byte counts ("1,073,741,824", which ran into each other
    on notebook 03's axes): rendered to SVG, the labels are there and no 10-digit count is."""
    import re

    import vl_convert as vlc

    from infra_lab.charts import network as ch

    sw = C.sweep("all_reduce", [2.0**e for e in range(3, 35)], hw(MI, 1), 8).with_columns(series=pl.lit("8×MI300X"))
    for chart in (ch.busbw_vs_size_chart(sw), ch.validation_chart(C.validation_table())):
        svg = vlc.vegalite_to_svg(chart.to_dict())
        labels = set(re.findall(r">([^<>]*?(?:B|KiB|MiB|GiB))</text>", svg))
        assert {"1 KiB", "1 MiB", "1 GiB"} <= labels, labels
        assert not re.search(r">\d{1,3}(,\d{3}){3}</text>", svg)


_ARIAL_EM = {**dict.fromkeys("0123456789", 0.556), " ": 0.278, "B": 0.667, "K": 0.667, "M": 0.833, "G": 0.778, "i": 0.222}
"""Advance widths of the size labels' characters in Helvetica/Arial [em] (Vega's default sans-serif)."""


def _shown_size_labels(chart) -> list[tuple[str, float, float]]:
    """(text, left, right) [px] of the message-size tick labels Vega draws visibly (greedy overlap
    removal hides a label by opacity 0), from the rendered SVG, with Arial's widths at the label's
    font size."""
    import re

    import vl_convert as vlc

    out = []
    for attrs, text in re.findall(r"<text([^>]*)>([^<]*\d (?:B|KiB|MiB|GiB))</text>", vlc.vegalite_to_svg(chart.to_dict())):
        if 'opacity="0"' in attrs:
            continue
        x = float(re.search(r"translate\(([-\d.e]+),", attrs).group(1))
        size = float(re.search(r'font-size="([\d.]+)px"', attrs).group(1))
        width = size * sum(_ARIAL_EM[c] for c in text)
        anchor = re.search(r'text-anchor="(\w+)"', attrs).group(1)
        left = x if anchor == "start" else x - width / 2 if anchor == "middle" else x - width
        out.append((text, left, left + width))
    return out


def test_message_size_labels_do_not_run_into_each_other():
    """Notebook 03's explorer (1 KiB to 16 GiB) drew its last two size labels as one word,
    "4 GiB16 GiB": the axis end label is right-aligned (label flush) and the greedy overlap
    removal kept labels that touched. Every label shown on the busbw and validation charts keeps
    at least 2 px from the next."""
    from infra_lab.charts import network as ch
    from infra_lab.widgets.network import network_update

    sw = C.sweep("all_reduce", [2.0**e for e in range(3, 35)], hw(MI, 1), 8).with_columns(series=pl.lit("8×MI300X"))
    for chart in (network_update(2**28, 1024)["chart"], ch.busbw_vs_size_chart(sw),
                  ch.validation_chart(C.validation_table())):
        shown = sorted(_shown_size_labels(chart), key=lambda t: t[1])
        assert len(shown) >= 6, shown
        for (a, _, a_right), (b, b_left, _) in zip(shown, shown[1:], strict=False):
            assert b_left - a_right >= 2.0, f"{a!r} and {b!r} touch: {shown}"


def test_network_widget_update():
    from infra_lab.widgets.network import network_dashboard, network_explorer, network_update

    r = network_update(2**26, 64, "MI300X", "Pollara-400", "rails-only", "ecmp")
    assert r["result"].gpus == 64 and 0 < r["efficiency"] <= 1
    assert r["routed"].time_s >= r["result"].time_s * (1 - 1e-12)
    s = network_update(2**26, 64, routing="spray")
    assert s["efficiency"] == pytest.approx(1.0)
    assert "busbw" in r["text"] and r["chart"].to_dict()
    a2a = network_update(2**26, 64, op="all_to_all", fabric="rails-only")
    assert "PXN" in a2a["text"]  # RCCL's default cannot route it: the widget says so
    box = network_explorer()
    assert network_dashboard is network_explorer and callable(box.update)
    assert len(box.children) == 5


def test_network_widget_never_calls_a_bound_above_the_time_a_lower_bound():
    """8 x H100 all_reduce of 1 GiB runs NVLS (the switch reduces) in 3.9 ms; the explorer's text
    said "lower bound 5.068 ms" beside it. The bound is Chan et al.'s for send/receive
    algorithms: it is named as such where the time beats it."""
    import re

    from infra_lab.widgets.network import network_update

    for acc, gpus in (("H100-SXM", 8), ("B200", 8), ("MI300X", 8), ("MI300X", 1024), ("H100-SXM", 1024)):
        r = network_update(2**30, gpus, acc, "ConnectX-7-NDR", "rail-optimized")
        res, text = r["result"], re.sub("<[^>]+>", "", r["text"])
        if res.time_s < res.lower_bound_s:
            assert res.algorithm in ("nvls", "nvlstree", "collnet_direct", "collnet_chain"), (acc, gpus)
            assert "reduces in the switch" in text and "lower bound of send/receive algorithms" in text
        else:
            assert f"lower bound {res.lower_bound_s * 1e3:,.3f} ms" in text
    assert network_update(2**30, 8, "H100-SXM", "ConnectX-7-NDR")["result"].algorithm == "nvls"


def test_network_widget_text_shows_small_sizes_and_times():
    """The size slider starts at 1 KiB: the text read 'all_reduce of 0.0 MiB ... lower bound
    0.000 ms' (and 'busbw 0.0 GB/s' at 1,024 GPUs). Sizes below 1 MiB are given in KiB, times
    below 1 ms in µs, bandwidths below 1 GB/s in MB/s."""
    import re

    from infra_lab.widgets.network import network_update

    r = network_update(1024.0, 8, "MI300X")
    text = re.sub("<[^>]+>", "", r["text"])
    assert "of 1 KiB over" in text and "0.0 MiB" not in text and "0.000 ms" not in text
    assert f"lower bound {r['result'].lower_bound_s * 1e6:,.2f} µs" in text
    assert f"{r['result'].time_s * 1e6:,.2f} µs" in text
    assert f"busbw {r['result'].busbw_Bps / 1e6:,.1f} MB/s" in text and "0.0 GB/s" not in text
    big = re.sub("<[^>]+>", "", network_update(2.0**34, 1024)["text"])
    assert "of 16 GiB over" in big            # GiB from 1 GiB, as nccl-tests and notebook 03 write sizes


def test_network_widget_claims_no_flow_efficiency_it_did_not_simulate():
    """On one node (8 GPUs) there is no cross-leaf step and none is simulated, yet the text read
    'Flow-level η of a cross-leaf halving/doubling step with ecmp: 1.00'."""
    import re

    from infra_lab.widgets.network import network_update

    for routing in ("ecmp", "spray"):
        text = re.sub("<[^>]+>", "", network_update(2**28, 8, "MI300X", routing=routing)["text"])
        assert "Flow-level η" not in text and "one node has no cross-leaf step" in text
    many = re.sub("<[^>]+>", "", network_update(2**28, 64, "MI300X")["text"])
    assert "Flow-level η of a cross-leaf halving/doubling step with ecmp" in many


# ---------------------------------------------------------------------------------------
def test_notebook_03_claims():
    """Claims notebook 03's prose rests on (the prose itself prints the computed values)."""
    zy = il.load_scenario("zaya1-ibm-mi300x").hardware
    intel, amd = zy.to_dict(), zy.to_dict() | {"host_cpu": "EPYC-9374F"}
    for op, s in (("reduce_scatter", 2**28), ("all_gather", 2**24)):
        assert il.collective(op, s, intel, 1024).time_s < il.collective(op, s, amd, 1024).time_s
    a2a = il.collective("all_to_all", 2**28, zy, 1024)
    nic = il.fabric.scaleout(zy).nic_Bps
    # NIC-bound: never above the NIC's share of the remote traffic, and within 20 % of it at 256 MiB
    # (per-message latency still costs ~16 %; at 1 GiB it is < 5 %)
    assert 0.8 < a2a.busbw_Bps / (nic * 1023 / 1016) <= 1.0
    big = il.collective("all_to_all", 2**30, zy, 1024)
    assert a2a.busbw_Bps < big.busbw_Bps and 0.95 < big.busbw_Bps / (nic * 1023 / 1016) <= 1.0
    # the flow simulation agrees that PXN forwarding costs ~nothing on this hardware (16-node slice)
    ro = il.fabric.Fabric.build(zy.to_dict() | {"nodes": 16})
    clos = il.fabric.Fabric.build(zy.to_dict() | {"nodes": 16, "fabric": "rail-optimized", "pxn": False})
    fl = il.fabric.step_flows("all_to_all", ro, 2**28)
    t_ro = il.fabric.simulate_step(fl, ro, "spray", completion="static").time_s
    t_clos = il.fabric.simulate_step(fl, clos, "spray", completion="static").time_s
    assert t_ro == pytest.approx(t_clos, rel=0.01)
    # 8 x MI300X: 4-32 MiB well below the link ceiling; 8 x H100 NVLS above the line rate
    mi = il.collectives.sweep("all_reduce", [2**22, 2**25], {"accelerator": "MI300X", "nodes": 1}, 8)
    assert (mi["busbw_GBps"] < 0.85 * il.fabric.scaleup({"accelerator": "MI300X"}).bandwidth_Bps(8) / 1e9).all()


@pytest.mark.parametrize("kw, match", [
    ({"sizes": "1024"}, r"^sizes = '1024': expected a list"),          # was 4 rows of 1, 0, 2 and 4 bytes
    ({"sizes": 1024.0}, r"^sizes = 1024.0: expected a list"),         # was 'float' object is not iterable
    ({"sizes": []}, r"^sizes = \[\]: expected at least one"),          # was a frame with no columns
    ({"sizes": [1024.0], "algorithms": "ring"}, r"^algorithms = 'ring': expected a list"),   # was "unknown algorithm 'r'"
    ({"sizes": [1024.0], "algorithms": []}, r"^algorithms = \[\]: expected at least one"),
    ({"sizes": [1024.0], "algorithms": ["nvls"]}, r"^algorithms = \['nvls'\]: none runs all_reduce .*applicable: ring, tree"),
    ({"sizes": [1024.0, "x"]}, r"^size_bytes = 'x': expected a number"),          # was float()'s ValueError
])
def test_sweep_refuses_what_it_would_silently_misread(kw, match):
    hw = il.load_scenario("zaya1-ibm-mi300x").hardware
    with pytest.raises(ValidationError, match=match):
        il.collectives.sweep("all_reduce", kw.pop("sizes"), hw, 64, **kw)
    ok = il.collectives.sweep("all_reduce", [1024.0], hw, 64, ["ring", "nvls"])   # an inapplicable one among others: skipped
    assert ok["algorithm"].to_list() == ["ring"]


def test_sharp_on_an_rccl_platform_is_refused():
    """hardware.sharp = true on an AMD platform was accepted and changed nothing (the model prices
    in-network reduction only through NCCL's CollNet): now a ValidationError naming the field."""
    with pytest.raises(ValidationError, match=r"hardware.sharp = True: .*RCCL.*allowed: false"):
        HardwareConfig.from_dict(hw(MI, 4, sharp=True))
    with pytest.raises(ValidationError, match=r"hardware.sharp"):
        il.collective("all_reduce", 2**30, hw(MI, 4, sharp=True), 32)
    assert HardwareConfig.from_dict(hw(MI, 4, sharp=False)).sharp is False
    assert HardwareConfig.from_dict(hw(H100, 4, sharp=True)).sharp is True


MONO_CASES = [hw(MI, 1), hw(MI, 2), hw(MI, 16), hw(MI, 4, pxn=True), hw(dict(MI, accelerator="MI355X"), 4),
              hw(H100, 1), hw(H100, 4), hw(H100, 2, sharp=True), hw(dict(H100, accelerator="B200"), 16)]


@pytest.mark.parametrize("ci", range(len(MONO_CASES)), ids=lambda i: f"case{i}")
def test_time_falls_with_size_only_where_the_library_switches(ci):
    """What the module docstring says of time against size ("Time against size"): every
    (algorithm, protocol) pair's cost is non-decreasing in the size, except at two library steps:
    tree/Simple across domains, whose chunk doubles at the library's halving thresholds, and RCCL's
    MSCCL all-pairs LL, which goes from 4 to 8 channels above its 4-channel window; so "auto" (the
    tuner's pick, costed) and "fastest" get faster with a larger message only where the pick
    changes or at those steps. A drop anywhere else is a bug in a pair's cost."""
    h = HardwareConfig.from_dict(MONO_CASES[ci])
    P = C.collective_time_params(h).array
    sizes = np.unique(np.round(np.logspace(2, 32 * math.log10(2), 300)))
    D, N = h.domain_gpus, h.domains
    places = {(D, D)} | ({(h.world_size, D), (N, 1)} if N > 1 else set())
    tree_simple = (K.ALG_TREE, K.PROTO_SIMPLE)
    for n, k in sorted(places):
        for op in range(len(C.OPS)):
            prev_pair = {}
            prev_auto = prev_fast = None
            prev_s = 0.0
            for s in sizes:
                for a in range(K.N_ALGOS):
                    for p in range(3):
                        c = K.collective_cost(op, a, p, float(s), n, k, P)
                        if not math.isfinite(c):
                            prev_pair.pop((a, p), None)
                            continue
                        if (a, p) in prev_pair and c < prev_pair[(a, p)][1] * (1 - 1e-12):
                            steps = ((a, p) == tree_simple and n > k     # the chunk doubles
                                     or a == K.ALG_ALLPAIRS and prev_pair[(a, p)][0] <= P[K.P_AP_LL4] < s)
                            assert steps, (C.OPS[op], n, k, s, C.ALGORITHMS[a], C.PROTOCOLS[p])
                        prev_pair[(a, p)] = (s, c)
                auto = K.best_collective(op, -1, float(s), n, k, P)
                fast = K.fastest_collective(op, float(s), n, k, P)
                for now, prev in ((auto, prev_auto), (fast, prev_fast)):
                    if prev is not None and now[0] < prev[0] * (1 - 1e-12):
                        same = (now[1], now[2]) == (prev[1], prev[2])
                        assert not same or (now[1], now[2]) == tree_simple or now[1] == K.ALG_ALLPAIRS and \
                            prev_s <= P[K.P_AP_LL4] < s, (C.OPS[op], n, k, s, now, prev)
                prev_auto, prev_fast, prev_s = auto, fast, s



def test_minus_zero_bytes_is_zero_bytes():
    r = C.collective("all_reduce", -0.0, hw(MI, 1), 8)
    assert r.size_bytes == 0.0 and math.copysign(1.0, r.size_bytes) == 1.0


# ---------------------------------------------------------------------------------------
# Oversubscription: only the all-to-all bytes bound for nodes under other leaves cross the
# leaf uplinks (down/σ of capacity), a share 1 - m/N of them for m nodes per leaf
@pytest.mark.parametrize("fabric", ["rail-optimized", "rails-only", "fat-tree"])
@pytest.mark.parametrize("nodes", [2, 64])
def test_oversubscription_does_not_slow_all_to_all_under_one_leaf(fabric, nodes):
    """Two nodes under one leaf (one switch for 2 nodes; one rail leaf or fat-tree leaf of a
    64-node, two-tier fabric): no byte crosses an uplink, so σ changes nothing."""
    times = []
    for sigma in (1.0, 4.0):
        h = {"accelerator": "H100", "fabric": fabric, "nodes": nodes, "oversubscription": sigma,
             "pxn": True}
        assert il.fabric.nodes_per_leaf(h) >= 2
        times.append(il.collective("all_to_all", 1e9, h, 16).time_s)
    assert times[1] == pytest.approx(times[0], rel=1e-12)


def test_oversubscription_all_to_all_bound_follows_the_out_of_leaf_share():
    """With σ large enough to bind and full leaves of m nodes (U = m/σ uplinks each), the
    bandwidth term is σ (1 - m/N) S / (w b_nic): 0 for N <= m, the bisection bound
    σ S / (2 w b_nic) at N = 2m, → σ S / (w b_nic) (the share's limit 1) as the leaves multiply."""
    cp = C.collective_time_params({"accelerator": "H100", "fabric": "fat-tree", "nodes": 64,
                                   "oversubscription": 3.0})
    P = cp.array.copy()
    sigma, m, k, S = 16.0, 4.0, 8, 1e10
    # rail leaves of m hosts (one port per node per network), m/σ uplinks, every leaf full
    P[K.P_OVERSUB], P[K.P_LEAF_NODES], P[K.P_LEAF_HOSTS], P[K.P_LEAF_E] = sigma, m, m, 1.0
    P[K.P_LEAF_UP] = P[K.P_LEAF_ULAST] = m / sigma
    P[K.P_LEAF_LAST] = 1e9
    w = P[K.P_WIRE + K.PROTO_SIMPLE]
    full = sigma * S / (w * P[K.P_BNIC])

    def bw_term(N, P=P):
        return (K.collective_cost(K.OP_ALL_TO_ALL, K.ALG_P2P, K.PROTO_SIMPLE, S, N * k, k, P)
                - K.collective_cost(K.OP_ALL_TO_ALL, K.ALG_P2P, K.PROTO_SIMPLE, 0.0, N * k, k, P))

    no_sigma = P.copy()
    no_sigma[K.P_OVERSUB] = 1.0
    for N in (2, 4):   # under one leaf: as without oversubscription
        assert bw_term(N) == pytest.approx(bw_term(N, no_sigma))
    assert bw_term(8) == pytest.approx(full / 2, rel=1e-12)   # two leaves: the bisection bound
    prev = 0.0
    for N in (8, 16, 64, 1024):
        t = bw_term(N)
        assert t == pytest.approx(full * (1 - m / N), rel=1e-12)
        assert prev < t < full
        prev = t
    assert bw_term(1024) / full > 0.99
    # a part-filled last leaf of r < m nodes with a full leaf's uplinks sends r (N - r) / N
    # through them, never more than a full leaf's m (N - m) / N (the difference is
    # (m - r)(N - m - r) >= 0): the full leaves' σ (1 - m/N) still binds
    for N in (5, 6, 7, 9, 13, 15, 1023):
        assert bw_term(N) == pytest.approx(full * (1 - m / N), rel=1e-12)
    # cabled with ceil(r/σ) uplinks as the job's last leaf (switch_counts' rule), it binds:
    # r (N - r) / (N u_r), and the full leaves' planes to it carry their share to it / u_r
    part = P.copy()
    part[K.P_LEAF_ULAST], part[K.P_LEAF_LAST] = 1.0 / sigma, 2.0     # N = 9: leaves 0, 1 full, 2 holds 1
    N, r, ur, U = 9, 1.0, 1.0 / sigma, m / sigma
    to_part = m * (N - m) / N * (r / (N - m))                        # a full leaf's port-loads to it
    expect = max(r * (N - r) / (N * ur), m * (N - m) / N / U - to_part / U + to_part / ur)
    assert bw_term(N, part) == pytest.approx(expect * S / (w * P[K.P_BNIC]), rel=1e-12)
    assert bw_term(N, part) > bw_term(N)


def test_nodes_per_leaf_composes_the_leaf_split():
    F = il.fabric
    ro = {"accelerator": "H100", "fabric": "rail-optimized", "nodes": 64}
    assert F.nodes_per_leaf(dict(ro, nodes=2)) == 2          # one switch
    for sigma in (1.0, 3.0, 4.0):
        down, _ = F._leaf_split(64, sigma)
        assert F.nodes_per_leaf(dict(ro, oversubscription=sigma)) == down
        assert F.nodes_per_leaf(dict(ro, fabric="fat-tree", oversubscription=sigma)) == down // 8
        assert F.nodes_per_leaf(dict(ro, fabric="rails-only", nodes=128, oversubscription=sigma)) == down
    assert F.nodes_per_leaf(dict(ro, fabric="fat-tree", nodes=8), radix=8) == pytest.approx(0.5)


def test_oversubscribed_all_to_all_agrees_with_the_flow_simulation():
    """The independent flow simulation (max-min fair rates over every leaf uplink, spraying)
    of an all-to-all over 32 fat-tree nodes at σ = 4 (6 nodes per leaf): the collective
    model's leaf bound σ (1 - m/N) S / (w b_nic) is within its wire efficiency and latency of
    the simulated step; the old bisection bound σ S / (2 w b_nic) was a third under it."""
    F = il.fabric
    h = {"accelerator": "H100", "fabric": "fat-tree", "nodes": 32, "oversubscription": 4.0, "pxn": True}
    S = 2.0**30
    fb = F.Fabric.build(h, radix=64)
    sim = F.simulate_step(F.step_flows("all_to_all", fb, S), fb, routing="spray").time_s
    model = il.collective("all_to_all", S, h, 8 * 32, "p2p").time_s
    assert 1.0 < model / sim < 1.12


# A part-filled last leaf, NVL72 domains on a fat-tree: the collective model's leaf bound is
# the flow simulation's busiest link (spraying over the same fabric, same leaves and uplinks)
LEAF_CASES = [
    {"accelerator": "H100", "fabric": "rail-optimized", "nodes": 50, "oversubscription": 3.0, "pxn": True},
    {"accelerator": "H100", "fabric": "rail-optimized", "nodes": 100, "oversubscription": 3.0, "pxn": True},
    {"accelerator": "H100", "fabric": "rail-optimized", "nodes": 130, "oversubscription": 3.0, "pxn": True},
    {"accelerator": "H100", "fabric": "fat-tree", "nodes": 32, "oversubscription": 4.0, "pxn": True},
    {"accelerator": "H100", "fabric": "fat-tree", "nodes": 36, "oversubscription": 4.0, "pxn": True},
    {"accelerator": "MI300X", "fabric": "fat-tree", "nodes": 13, "oversubscription": 2.0, "pxn": True},
    {"accelerator": "MI300X", "fabric": "rails-only", "nodes": 100, "oversubscription": 3.0, "pxn": True},
    # NVL72 racks (72 NICs per domain) on a fat-tree: 8 trays per leaf, 18 per domain
    {"accelerator": "GB200", "fabric": "fat-tree", "nodes": 36, "oversubscription": 3.0},
    {"accelerator": "GB200", "fabric": "fat-tree", "nodes": 45, "gpus_per_node": 4, "oversubscription": 3.0,
     "domain_gpus": 36},
]


@pytest.mark.parametrize("h", LEAF_CASES)
def test_leaf_bound_is_the_flow_simulations_busiest_link(h):
    _, sim, bound, nic, model = leaf_all_to_all(h)
    assert bound > 1.4 * nic                       # the uplinks bind, not the NICs
    assert bound == pytest.approx(sim.load_bound_s, rel=1e-9)
    assert sim.time_s == pytest.approx(sim.load_bound_s, rel=1e-6)
    assert 1.0 < model / sim.time_s < 1.12         # + wire efficiency and latency


def test_a_small_last_leaf_slows_all_to_all_where_full_leaves_do_not():
    """49 H100 nodes at σ = 3 (48 per rail leaf): the 49th node's leaf cables ceil(1/3) = 1
    uplink per rail and carries 48/49 of that node's bytes; 48 nodes fit one leaf."""
    h = {"accelerator": "H100", "fabric": "rail-optimized", "oversubscription": 3.0, "pxn": True}
    t = {n: il.collective("all_to_all", 2**28, dict(h, nodes=n), 8 * n, "p2p").time_s for n in (48, 49, 50, 96)}
    assert il.fabric.Fabric.build(dict(h, nodes=50)).uplinks_last_leaf == 1
    assert t[49] == pytest.approx(t[48], rel=0.02)        # r (N - r)/(N u) = 48/49 ~ the NIC term
    assert t[50] > 1.8 * t[48]                            # 2 nodes x 48/50 on one uplink
    assert t[96] < t[50]                                  # two full leaves: σ/2


def test_fabric_cables_the_uplinks_switch_counts_charges():
    """Rails-only: the flow simulation's leaves cable exactly the leaf-spine links that
    switch_counts counts (a part-filled last leaf ceil(hosts/σ), a full one all its up ports)."""
    F = il.fabric
    for nodes, sigma in ((70, 3.0), (100, 3.0), (96, 3.0), (130, 2.0), (80, 1.0)):
        h = {"accelerator": "MI300X", "fabric": "rails-only", "nodes": nodes, "oversubscription": sigma,
             "pxn": True}
        fb = F.Fabric.build(h)
        cabled = fb.rails * ((fb.leaves_per_rail - 1) * fb.uplinks_per_leaf + fb.uplinks_last_leaf)
        assert cabled == F.switch_counts(h)["links_leaf_spine"]


# NCCL v2.30.7-1 tuner details that depend on the communicator's shape, the GPUs' compute
# capability and the host CPU (tuning.cc, search.cc): the tuner's predicted time, not the cost
def _tuner_bw_term(P, op, algo, proto, n, k, size=2.0**26):
    return (K._tuner_time_enabled(op, algo, proto, size, n, k, P)
            - K._tuner_time_enabled(op, algo, proto, 0.0, n, k, P))


def test_nccl_tree_with_one_gpu_per_node_is_the_tree_pattern():
    """search.cc gives the tree graph pattern TREE when one GPU per node is in the
    communicator, and the tuner then takes x .85 off tree's bus bandwidth: the tree's
    bandwidth term is 1/.85 longer with k = 1, unchanged with 8 GPUs per node."""
    P = C.collective_time_params(hw(H100, 4)).array
    Q = P.copy()
    Q[K.P_T_TREE_PATTERN] = 1.0
    for proto in range(3):
        a, b = _tuner_bw_term(P, K.OP_ALL_REDUCE, K.ALG_TREE, proto, 4, 1), \
            _tuner_bw_term(Q, K.OP_ALL_REDUCE, K.ALG_TREE, proto, 4, 1)
        assert a == pytest.approx(b / 0.85, rel=1e-9)
        assert _tuner_bw_term(P, K.OP_ALL_REDUCE, K.ALG_TREE, proto, 32, 8) == \
            pytest.approx(_tuner_bw_term(Q, K.OP_ALL_REDUCE, K.ALG_TREE, proto, 32, 8), rel=1e-12)


def test_nccl_tuner_gates_by_compute_capability_and_host_cpu():
    """NVLS-tree all-reduce takes the tree correction only on compute capability 10.0+ with an x86
    host (B200 with Xeon, not GB200 with Grace, not Hopper); CollNet Direct's x .85 only from 9.0
    (A100: x 1); the ring/Simple plateau is 1.4 on every NCCL platform (all 8.0+; 1.9 is Volta's)."""
    def P(acc, **kw):
        return C.collective_time_params(dict({"accelerator": acc, "nodes": 4}, **kw)).array
    assert P("B200", nic="ConnectX-7")[K.P_T_NVLSTREE_CORR_LOG_END] == 24
    assert P("GB200", nic="ConnectX-7", gpus_per_node=4)[K.P_T_NVLSTREE_CORR_LOG_END] == 0
    assert P("H100")[K.P_T_NVLSTREE_CORR_LOG_END] == 0
    assert P("H100", sharp=True)[K.P_T_CND_AR] == pytest.approx(0.85)
    assert P("A100-SXM-80GB", nic="ConnectX-6", sharp=True)[K.P_T_CND_AR] == 1.0
    assert C.physics_constants()["nccl_ring_simple_plateau_pre_sm80"] == 1.9
    for acc in ("A100-SXM-80GB", "H100", "B200", "GB200"):
        assert P(acc, nic="ConnectX-7")[K.P_T_PLATEAU] == 1.4
    # the correction moves B200's NVLS-tree prediction below 2^24 x 64 B and not above
    b = P("B200", nic="ConnectX-7")
    off = b.copy()
    off[K.P_T_NVLSTREE_CORR_LOG_END] = 0.0
    small, large = 2.0**20, 2.0**31
    assert K._tuner_time_enabled(0, K.ALG_NVLSTREE, K.PROTO_SIMPLE, small, 32, 8, b) != \
        K._tuner_time_enabled(0, K.ALG_NVLSTREE, K.PROTO_SIMPLE, small, 32, 8, off)
    assert K._tuner_time_enabled(0, K.ALG_NVLSTREE, K.PROTO_SIMPLE, large, 32, 8, b) == \
        K._tuner_time_enabled(0, K.ALG_NVLSTREE, K.PROTO_SIMPLE, large, 32, 8, off)


def test_collnet_direct_divides_by_the_gpu_nic_ratio():
    """CollNet Direct's heads are GPUs with a local NIC: 8 H100 with 4 NICs have 4 heads, a GPU/NIC
    ratio of 2, and NCCL divides the bus bandwidth by 2 - (2 - 1)/2 = 1.5; with 8 NICs by 1."""
    full = C.collective_time_params({"accelerator": "H100", "nodes": 4, "sharp": True}).array
    half = C.collective_time_params({"accelerator": "H100", "nodes": 4, "sharp": True,
                                     "nics_per_node": 4}).array
    half_same_nic = half.copy()
    half_same_nic[K.P_NIC_PER_GPU] = 1.0
    a = _tuner_bw_term(half, K.OP_ALL_REDUCE, K.ALG_COLLNET_DIRECT, K.PROTO_SIMPLE, 32, 8)
    b = _tuner_bw_term(half_same_nic, K.OP_ALL_REDUCE, K.ALG_COLLNET_DIRECT, K.PROTO_SIMPLE, 32, 8)
    assert a == pytest.approx(1.5 * b, rel=1e-9)
    assert full[K.P_NIC_PER_GPU] == 1.0


def test_notebook_03_network_bottleneck_claims():
    """Notebook 03 section 8: ZAYA1's data-parallel ring is bound by the xGMI ring through each
    node, not the NICs (8 x 47.0 GB/s > 7 x 46.6 x 8/7 GB/s), so a faster NIC (Vulcano-800, capped
    by PCIe) leaves the step unchanged and a 200 Gb/s NIC slows it; go-back-N loses goodput with
    the window, selective retransmit does not."""
    sc = il.load_scenario("zaya1-ibm-mi300x")
    k = sc.hardware.gpus_per_node
    ring_nic = k * il.fabric.scaleout(sc.hardware).gpu_Bps
    ring_xgmi = il.fabric.scaleup(sc.hardware).bandwidth_Bps(k) * k / (k - 1)
    assert ring_xgmi < ring_nic < 1.02 * ring_xgmi
    step = {n: il.estimate(sc.replace(hardware={"nic": n})).step_time_s
            for n in ("ConnectX-6-HDR", "Pollara-400", "Vulcano-800")}
    assert step["Vulcano-800"] == pytest.approx(step["Pollara-400"], rel=1e-9)
    assert step["ConnectX-6-HDR"] > 1.2 * step["Pollara-400"]
    assert il.fabric.constant("rdma_path_mtu_bytes") == 4096
    assert il.catalog.published_claim("irn-vs-roce-pfc") == 83


@pytest.mark.parametrize("op", ["all_reduce", "reduce_scatter", "all_gather", "broadcast", "all_to_all"])
def test_a_zero_byte_collective_launches_nothing(op):
    """NCCL/RCCL return from a zero-count collective without enqueuing work (taskAppend in
    src/enqueue.cc), so the public call, the kernel and the reference all give 0 s; a
    send/recv keeps its handshake."""
    hw_ = hw(MI, 4, pxn=True)   # PXN on: all-to-all across rails has a path
    r = il.collective(op, 0, hw_, 32)
    assert (r.time_s, r.algorithm, r.busbw_Bps) == (0.0, "none", 0.0)
    cp = C.collective_time_params(hw_)
    assert K.best_collective(C.OPS.index(op), -1, 0.0, 32, 8, cp.array)[0] == 0.0
    p = R.named_vector(cp.named(), cp.array)
    assert R.collective_reference(p, op, None, 0.0, 32, 8)[0] == 0.0
    assert C.lower_bound(op, 0, hw_, 32)["total_s"] == 0.0
    assert il.collective(op, 1, hw_, 32).time_s > 0.0
    assert il.collective("send_recv", 0, hw_, 16).time_s > 0.0


def test_hardware_can_be_named_by_a_shipped_scenario_or_its_toml_path():
    """As the CLI's --hardware takes it: the name or the .toml path gives that scenario's
    [hardware] table; an unknown name is refused with the nearest shipped name."""
    from infra_lab.catalog import DATA_DIR
    path = DATA_DIR / "scenarios" / "zaya1-ibm-mi300x.toml"
    by_name = il.collective("all_reduce", 2**30, "zaya1-ibm-mi300x", 64)
    from infra_lab.scenario.loading import as_scenario
    by_obj = il.collective("all_reduce", 2**30, as_scenario("zaya1-ibm-mi300x"), 64)
    assert by_name.time_s == by_obj.time_s and by_name.algorithm == by_obj.algorithm
    assert il.collective("all_reduce", 2**30, str(path), 64).time_s == by_name.time_s
    assert il.collective("all_reduce", 2**30, path, 64).time_s == by_name.time_s
    with pytest.raises(ValidationError, match=r"hardware = 'zaya1-ibm-mi30'.*did you mean 'zaya1-ibm-mi300x'"):
        il.collective("all_reduce", 2**30, "zaya1-ibm-mi30", 64)


def test_network_widget_says_what_its_routed_time_is_and_simulates_the_ring_it_runs():
    """The explorer's default (256 MiB over ZAYA1's 1,024 MI300X, ECMP) printed 'η 0.20 → 7.557 ms'
    beside notebook 03's finding that ECMP runs ZAYA1's rail-matched rings at η = 1: the η is
    that of section 7's synthetic halving step, and the text now says so; where the library
    runs a ring, the ring's own step is simulated too and its η printed."""
    import re

    from infra_lab import fabric as F
    from infra_lab.widgets.network import network_update

    text = re.sub("<[^>]+>", "", network_update(2**28, 1024)["text"])
    assert "synthetic step" in text and "other half of the cluster" in text
    r = network_update(2**34, 1024)
    assert r["result"].algorithm == "ring" and r["efficiency"] < 0.5
    hw = {"accelerator": "MI300X", "nodes": 128, "nic": "Pollara-400", "fabric": "rails-only"}
    ring = F.simulate_step(F.step_flows("ring", hw, 2**34), hw, "ecmp", 0).efficiency
    text = re.sub("<[^>]+>", "", r["text"])
    assert f"the ring's own step, its flows rail-matched, simulates at η = {ring:.2f}" in text
    assert "ring's own step" not in re.sub("<[^>]+>", "", network_update(2**28, 1024)["text"])   # tree: not claimed


def test_network_explorer_prices_zaya1_cluster_on_its_own_hosts():
    """Notebook 03's explorer, at 1,024 MI300X on Pollara rails, priced collectives on the part's
    default host (AMD EPYC: 2 µs per posted network message) while the notebook's section 5 and
    the API price ZAYA1's cluster on its Intel Xeon 8570 hosts (1 µs): a 256 MiB reduce-scatter
    read 11.40 ms in the explorer against 7.69 ms in the prose. The host is an input, named in
    the text, and the notebook starts the explorer on ZAYA1's."""
    import re

    from infra_lab.errors import UnknownNameError
    from infra_lab.widgets.network import network_explorer, network_update

    zy = il.load_scenario("zaya1-ibm-mi300x").hardware
    for op, size in (("all_reduce", 2**28), ("reduce_scatter", 2**28), ("all_gather", 2**24), ("all_to_all", 2**28)):
        r = network_update(size, 1024, op=op, pxn=True, host_cpu=zy.host_cpu)
        assert r["result"].time_s == il.collective(op, size, zy, zy.world_size).time_s, op
    amd = network_update(2**28, 1024, op="reduce_scatter")
    assert amd["result"].time_s > network_update(2**28, 1024, op="reduce_scatter", host_cpu="Xeon 8570")["result"].time_s
    assert "EPYC-9374F hosts, the part's default" in re.sub("<[^>]+>", "", amd["text"])
    box = network_explorer(host_cpu=zy.host_cpu)
    assert box.controls["host_cpu"].value == "Xeon-Platinum-8570"
    assert box.update()["result"].time_s == il.collective("all_reduce", 2**28, zy, zy.world_size).time_s
    with pytest.raises(UnknownNameError, match="Xeon-Platinum-8570"):
        network_update(2**28, 1024, host_cpu="Xeon")


def test_network_explorer_starts_on_zaya1s_pxn_setting():
    """Notebook 03 started its explorer on ZAYA1's hosts but on the PXN dropdown's "library
    default", RCCL's off, while its prose called the widget's defaults "PXN on as on ZAYA1's
    cluster": choosing all_to_all read "Cannot run ... with PXN off" for a cluster that runs PXN
    (session 42). The explorer takes the PXN setting to start on; the notebook passes ZAYA1's."""
    from infra_lab.errors import ValidationError
    from infra_lab.widgets.network import network_explorer

    zy = il.load_scenario("zaya1-ibm-mi300x").hardware
    box = network_explorer(host_cpu=zy.host_cpu, pxn=zy.pxn)
    assert box.controls["pxn"].value is True
    box.controls["op"].value = "all_to_all"
    r = box.update()
    assert r["result"] is not None and r["result"].time_s == il.collective("all_to_all", 2**28, zy, zy.world_size).time_s
    off = network_explorer()                  # the library's default: RCCL's PXN off, said so
    assert off.controls["pxn"].value is None
    off.controls["op"].value = "all_to_all"
    assert off.update()["result"] is None
    with pytest.raises(ValidationError, match="pxn = 'on'"):
        network_explorer(pxn="on")


def test_network_update_of_one_gpu_says_there_is_nothing_to_exchange():
    """network_update(size, 1) read "0.00 µs, busbw 0.0 MB/s with none/none; lower bound 0.00 µs",
    the result's placeholders for "no algorithm" printed as if they were one (session 42)."""
    import re

    from infra_lab.widgets.network import network_update

    for acc in ("MI300X", "B200", "GB200"):
        r = network_update(2**20, 1, acc)
        text = re.sub("<[^>]+>", "", r["text"])
        assert text == f"all_reduce of 1 MiB on 1 × {acc}: one rank, nothing to exchange (no time, no bus bandwidth); " \
                       "choose 2 GPUs or more", text
        assert r["result"].time_s == 0 and r["chart"].to_dict()
    assert "none/none" not in network_update(2**20, 2, "MI300X")["text"]


def test_network_widget_counts_rack_scale_domains_as_domains():
    """72 GB200 in one NVL72 domain read "72 × GB200 (1 node(s), ...": CollectiveResult.nodes
    counts scale-up domains, which on a rack-scale part span several nodes."""
    import re

    from infra_lab.widgets.network import network_update

    for gpus, domains in ((72, "1 scale-up domain"), (144, "2 scale-up domains")):
        text = re.sub("<[^>]+>", "", network_update(2**28, gpus, "GB200")["text"])
        assert f"over {gpus} × GB200 ({domains} of 72 GPUs," in text and "node" not in text.split("):")[0]
    # counts read as people write them: "1 node", "8 nodes", never "node(s)"
    assert "(8 nodes," in re.sub("<[^>]+>", "", network_update(2**28, 64, "MI300X")["text"])
    one = re.sub("<[^>]+>", "", network_update(2**28, 8, "MI300X")["text"])
    assert "(1 node," in one and "(s)" not in one
