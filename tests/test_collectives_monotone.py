"""A collective's time does not fall as its message grows, except at windows the libraries
really have, each named here with its source.

Three properties, over every accelerator of the catalog, one node and two nodes of it, and a
geometric grid of sizes (8 B to 4 GiB, 8 points an octave):

* every (algorithm, protocol) pair the library runs for the op and placement
  (``_kernels.collectives.collective_cost``) is non-decreasing in size, except
  - RCCL's MSCCL all-pairs all-reduce at ``rccl_allpairs_ll4_max_bytes`` (64 KiB): the
    32-threadblock LL program (4 channels) hands over to the 64-threadblock one (8 channels),
    two XML programs with adjacent byte windows
    (tools/msccl-algorithms/allreduce-allpairs-8n-ll-32tb-op.xml and -64tb-op.xml in RCCL);
    the Simple program prices its setup on the same channel counts;
  - the multi-node tree's pipeline chunk, which NCCL and RCCL halve in powers of two while a
    channel would carry fewer than ``tree_chunks_per_depth_level`` chunks per level of tree
    depth, down to ``tree_min_chunk_bytes`` (src/enqueue.cc): fewer, larger chunks pay the
    per-chunk network overhead fewer times, so the time steps down where the halving stops;
* RCCL's own choice ("auto") for 8 GPUs of one xGMI node (MI300X, MI325X, MI350X, MI355X)
  falls only at MSCCL's program windows: entering all-pairs LL at ``rccl_allpairs_min_bytes``
  (the program's 256 chunks per loop), the LL program's channel change at 64 KiB, and leaving
  all-pairs Simple for the ring above ``rccl_allpairs_simple_max_bytes`` (16 MiB). Before
  2026-12-06 the model also applied the tuner's LL range (32 KiB on gfx950) to the all-pairs LL
  program, so on MI355X a 32-512 KiB all-reduce ran as a slow ring and the time fell at
  512 KiB; RCCL's MSCCL scheduler picks its programs by size alone, protocol included
  (src/misc/msccl/msccl_lifecycle.cc, docs/serving-history.md entry 20);
* for every hardware's "auto", the time is non-decreasing while the chosen pair stays the same
  (the windows above aside); where the choice changes it may fall, because the libraries choose
  by their tuner's estimate (NCCL/RCCL src/graph/tuning.cc, ``ncclTopoGetAlgoTime``), not by the
  time the kernel then takes.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import infra_lab as il
from infra_lab import collectives as C
from infra_lab._kernels import collectives as K

SIZES = np.unique(np.round(2.0 ** np.arange(3.0, 32.0 + 1e-9, 0.125)))
TOL = 1e-9   # relative: a fall smaller than this is rounding
RCCL_XGMI_8 = ("MI300X", "MI325X", "MI350X", "MI355X")


def _params(acc: str, nodes: int):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")   # catalog defaults (GB200 tray size, NIC features)
        hw = il.fabric.hardware_config({"accelerator": acc, "nodes": nodes})
    g = hw.gpus_per_node * nodes
    n, k = C._placement(hw, g, None)
    return hw, g, n, k, C.collective_time_params(hw).array


def _phys(name: str) -> float:
    return C._phys(name)


def _falls(times) -> list[int]:
    """Indices i of the grid where t[i + 1] < t[i] (both finite)."""
    t = np.asarray(times, dtype=float)
    ok = np.isfinite(t[:-1]) & np.isfinite(t[1:])
    return [int(i) for i in np.nonzero(ok & (t[1:] < t[:-1] * (1.0 - TOL)))[0]]


def _allpairs_channel_window(s0: float, s1: float) -> bool:
    return s0 <= _phys("rccl_allpairs_ll4_max_bytes") < s1


def _tree_chunk_window(P, nodes: int, k: int, s1: float) -> bool:
    """s1 lies where the tree's chunk is still being halved: below channels x Simple step x
    chunks per level x tree depth (an upper bound on the sizes the rule touches)."""
    depth = (k - 1) + np.log2(nodes)
    return s1 <= P[K.P_NCH_RING] * P[K.P_STEP_BYTES] * P[K.P_TREE_CHUNKS_PER_LEVEL] * depth


@pytest.mark.parametrize("nodes", [1, 2])
@pytest.mark.parametrize("acc", il.catalog.accelerators()["name"].to_list())
def test_each_pair_is_non_decreasing_in_size_outside_the_named_windows(acc, nodes):
    hw, g, n, k, P = _params(acc, nodes)
    checked = 0
    for op in range(len(C.OPS)):
        for a in range(K.N_ALGOS):
            if K.algo_enabled(op, a, n, k, P) == 0:
                continue
            for p in range(3):
                if K.proto_enabled(op, a, p, P) == 0:
                    continue
                times = [K.collective_cost(op, a, p, float(s), n, k, P) for s in SIZES]
                checked += 1
                for i in _falls(times):
                    s0, s1 = SIZES[i], SIZES[i + 1]
                    name = f"{C.OPS[op]} {C.ALGORITHMS[a]}/{C.PROTOCOLS[p]}"
                    if a == K.ALG_ALLPAIRS and _allpairs_channel_window(s0, s1):
                        continue   # MSCCL: the 4-channel LL program hands over to the 8-channel one
                    if a == K.ALG_TREE and nodes > 1 and p == K.PROTO_SIMPLE and _tree_chunk_window(P, nodes, k, s1):
                        continue   # enqueue.cc: the tree's chunk halves in powers of two
                    pytest.fail(f"{acc}, {nodes} node(s), {name}: {times[i] * 1e6:.3f} us at {s0:.0f} B, "
                                f"{times[i + 1] * 1e6:.3f} us at {s1:.0f} B: a fall at no named window")
    assert checked > 0


@pytest.mark.parametrize("acc", RCCL_XGMI_8)
def test_rccl_auto_all_reduce_on_one_node_falls_only_at_msccl_windows(acc):
    hw, g, n, k, P = _params(acc, 1)
    assert C.collective_time_params(hw).library == "rccl" and n == k == 8
    res = [il.collective("all_reduce", float(s), hw, g) for s in SIZES]
    named = {
        "enter all-pairs LL (rccl_allpairs_min_bytes)": _phys("rccl_allpairs_min_bytes"),
        "all-pairs LL: 4 -> 8 channels (rccl_allpairs_ll4_max_bytes)": _phys("rccl_allpairs_ll4_max_bytes"),
        "leave all-pairs Simple for the ring (rccl_allpairs_simple_max_bytes)": _phys("rccl_allpairs_simple_max_bytes"),
    }
    for i in _falls([r.time_s for r in res]):
        s0, s1 = SIZES[i], SIZES[i + 1]
        hit = [w for w, b in named.items() if s0 <= b < s1 or s0 < b <= s1]
        assert hit, (f"{acc}: auto all-reduce falls from {res[i].time_s * 1e6:.3f} us "
                     f"({res[i].algorithm}/{res[i].protocol}) at {s0:.0f} B to {res[i + 1].time_s * 1e6:.3f} us "
                     f"({res[i + 1].algorithm}/{res[i + 1].protocol}) at {s1:.0f} B, at none of MSCCL's windows")
    # the lead of serving-history entry 18: 32-512 KiB runs all-pairs LL, as on gfx942
    for s in (32 * 1024, 48 * 1024, 256 * 1024, 512 * 1024 - 1):
        r = il.collective("all_reduce", float(s), hw, g)
        assert (r.algorithm, r.protocol) == ("allpairs", "LL"), (acc, s, r.algorithm, r.protocol)


@pytest.mark.parametrize("nodes", [1, 2])
@pytest.mark.parametrize("acc", il.catalog.accelerators()["name"].to_list())
def test_auto_is_non_decreasing_while_the_library_choice_stays(acc, nodes):
    hw, g, n, k, P = _params(acc, nodes)
    for op in C.OPS:
        res = [il.collective(op, float(s), hw, g) for s in SIZES]
        for i in _falls([r.time_s for r in res]):
            a, b = res[i], res[i + 1]
            if (a.algorithm, a.protocol) != (b.algorithm, b.protocol):
                continue   # the tuner switched pairs by its own estimate (tuning.cc)
            s0, s1 = SIZES[i], SIZES[i + 1]
            if a.algorithm == "allpairs" and _allpairs_channel_window(s0, s1):
                continue
            if a.algorithm == "tree" and nodes > 1 and a.protocol == "Simple" and _tree_chunk_window(P, nodes, k, s1):
                continue
            pytest.fail(f"{acc}, {nodes} node(s), {op} {a.algorithm}/{a.protocol}: {a.time_s * 1e6:.3f} us at "
                        f"{s0:.0f} B, {b.time_s * 1e6:.3f} us at {s1:.0f} B with the same choice")
