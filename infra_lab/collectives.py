"""Collective communication as NCCL and RCCL run it: algorithms and protocols by the
libraries' names, the libraries' own choice ("auto"), nccl-tests algbw/busbw, the Chan et
al. lower bounds.

The contract call::

    c = il.collective("all_reduce", size_bytes, hardware, gpus, algorithm="auto")
    c.time_s, c.algbw_Bps, c.busbw_Bps, c.algorithm, c.protocol

``hardware`` is the Scenario's [hardware] table (dict or HardwareConfig). Ranks are placed
domain-major: a collective over ``gpus`` <= the job's GPUs in one scale-up domain
(``HardwareConfig.domain_gpus``) stays inside it; over more it spans whole domains.
``per_node`` places fewer ranks in each domain (e.g. a data-parallel group of one GPU per
node).

Algorithms (``ALGORITHMS``), as NCCL/RCCL name them:

* ``ring`` — every op; the multi-node ring leaves each domain through its k NICs.
* ``tree`` — all-reduce: a chain inside the domain, a double binary tree across domains.
* ``nvls`` — all-reduce inside an NVSwitch domain with NVLink SHARP: the switch reduces,
  so each GPU sends its buffer once and reads the result once; busbw exceeds the NVLink
  line rate as nccl-tests report it. Across nodes only with in-network reduction (SHARP).
* ``nvlstree`` — NVLS inside each node + a tree across nodes (NCCL, multi-node).
* ``collnet_direct`` / ``collnet_chain`` — in-network reduction in the scale-out switches
  (InfiniBand SHARP), when ``hardware.sharp`` is true.
* ``pat`` — NCCL's all-gather / reduce-scatter with one GPU per node.
* ``allpairs`` — RCCL's MSCCL one-shot all-reduce for 8 GPUs of one node (alias
  ``direct``), which RCCL runs instead of its tuner for 1 KiB–16 MiB: MSCCL picks its XML
  program by size alone, protocol included (LL up to 512 KiB, Simple above, whatever the
  tuner's LL range for the architecture: ``msccl_lifecycle.cc``).
* ``p2p`` — all-to-all and send/recv as grouped point-to-point messages (alias
  ``pairwise``); cross-rail traffic follows ``hardware.pxn``.
* ``pxn`` — the same with PXN forced on (alias ``rail_aware``): cross-rail chunks hop over
  NVLink/xGMI to the GPU on the destination's rail and leave through its NIC.

Protocols LL, LL128, Simple: each pair has the library's latency terms (base + per hop,
``data/network_library_tables.csv``) and a bandwidth term (wire efficiency 1/2, 120/128, 1
and the channels' throughput, ``data/network_physics.csv``). ``algorithm="auto"`` is what
the library's tuner picks among the algorithms it implements for that op (RCCL:
reduce-scatter and all-gather ring only; NCCL adds PAT only with one GPU per node);
``algorithm="fastest"`` is the fastest pair on the hardware, which the library does not
always pick. The two models (tuner and cost) live in ``infra_lab._kernels.collectives``;
removed textbook names (``rhd``, ``hierarchical``, ``bruck``) raise, since neither
library implements them.

Oversubscription (``hardware.oversubscription`` σ = a leaf's down ÷ up ports,
``fabric._leaf_split``) limits only the bytes that cross a leaf's uplinks. In a uniform
all-to-all of S bytes per GPU over N scale-up domains of k GPUs, a GPU sends S/(N k) to each
of the N k ranks. The leaves are those of the flow simulation's :class:`fabric.Fabric`
(``fabric._leaf_layout``, one place for both): per network (a rail on rails-only and
rail-optimized fabrics, where PXN keeps a chunk on its rail; the whole fabric on a fat-tree) a
domain puts e ports (1 or its R NICs), a full leaf holds h ports and cables U uplinks, and
leaves are filled in turn, the last with r = N e − L h ports; that one cables
min(U, ceil(hosts/σ)) uplinks when it is the job's part-filled last leaf (what
``fabric.switch_counts`` charges), U otherwise. A leaf of p ports holding c domains (c = 1 where
a domain's NICs spread over several leaves, as an NVL72 rack's 72 do) sends p (N − c)/N
port-loads to the other leaves, spread over them by their ports, each pair of leaves evenly
over the spine planes both cable. The busiest plane is the bound (in S / b_nic, then ÷ w, the
protocol's wire efficiency; ``_kernels.collectives.leaf_uplink_time``): for full leaves only,
σ_eff (N − c)/N with σ_eff = h/U (f = (N − m)/N of a GPU's bytes leave its leaf of m
domains: 0 when N <= m, the bisection bound σ S / (2 w b_nic) at N = 2m, → σ S / (w b_nic) as
the leaves multiply: each leaf's own cut is tighter than the bisection); a part-filled leaf
with a full leaf's uplinks never binds (r (N − r) <= m (N − m) for r < m <= N − r); a
part-filled last leaf cabled with fewer uplinks binds at r (N − c_r)/(N u_r), and the full
leaves' planes to it carry their share to it over u_r planes. At σ = 1 the NIC term
(N − 1)/N is never smaller, so the bound is applied for σ > 1 only. It equals the flow
simulation's busiest link (max-min fair rates, spraying) in tests/test_collectives.py
(rail-optimized and rails-only with part-filled last leaves, fat-trees, NVL72 racks on a
fat-tree). NVL72 racks on a rail fabric (a rail per NIC of a compute tray, each rack 18 hosts
on every rail, ``fabric._leaf_layout``) straddle leaves, and a leaf is counted as holding
floor(h/e) whole domains: the bound is then conservative, 1.04 x the busiest link for 8 racks
at σ = 3 and 1.17 x for 5 racks at σ = 2 (APPROXIMATE, tests/test_fabric_nvl72.py); the simulated step is 0-12 % shorter than the model's time (wire efficiency and
latency). Not modelled (APPROXIMATE): several collectives sharing one leaf at once. A
training job's concurrent EP groups whose boundaries split a leaf send more through it, and
the collectives of one step that run at the same time are each priced alone: the training
step (``_kernels.training``) hides the data-parallel reduce-scatter behind the backward pass
(``grad_buckets_exposed``) while that backward's expert all-to-all runs, yet each gets the
GPU's full NIC rate here and the all-to-all the leaf's full uplinks, so the exposed
communication of such a step is optimistic where the two overlap. Ring, tree, PAT and
CollNet cross a leaf boundary once per ring or tree edge (one NIC's traffic per rail and leaf
against m/σ uplinks), so σ is not applied to them; the flow simulation (``fabric.Fabric``,
``fabric.simulate_step``) routes every flow through the leaf uplinks and covers those cases.

Time against size. Each (algorithm, protocol) pair's time grows with the size except at two
library steps: tree/Simple across domains halves its chunk below size thresholds (NCCL/RCCL
``enqueue.cc``; the model prices the host's per-chunk overhead, not the shorter pipeline fill
that smaller chunks buy, so the time falls by up to about 15 % where the chunk doubles), and
RCCL's MSCCL all-pairs LL runs on 4 channels in its first window and on 8 above it.
``"fastest"`` is the minimum over the pairs, so it falls only there. ``"auto"`` is not
monotone, and that is the library's behaviour, reproduced rather than corrected: the tuner
picks by its own predicted time, whose tables step at power-of-two size buckets (NCCL's
``treeCorrectionFactor``; RCCL's ring and tree correction factors, from 0.1 to 1.0 between
neighbouring buckets; RCCL's LL size ranges; the MSCCL windows), and its pick is then costed on
the hardware. Where the pick changes the time can fall: by up to about 3.5x in a sweep of
MI300X, MI325X, MI355X, H100, H200 and B200 at 1 to 128 nodes (RCCL all-reduce over 2 MI300X
nodes near 2 MiB: ring/Simple 306 µs, then tree/Simple 88 µs once tree's correction factor
rises from 0.1 to 0.7). tests/test_collectives.py checks that time falls nowhere else;
tests/test_collectives_monotone.py checks every pair and, for RCCL on one 8-GPU xGMI node,
that "auto" falls only at MSCCL's windows, each named with its source.

>>> import infra_lab as il
>>> hw = {"accelerator": "MI300X", "nodes": 1}
>>> c = il.collective("all_reduce", 2**30, hw, 8)
>>> c.algorithm, c.protocol, c.library
('ring', 'Simple', 'rccl')
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from functools import cache
from typing import TYPE_CHECKING, Any

import numpy as np

from . import _validate as V
from . import fabric as _fab
from ._repr import Printout
from .errors import ValidationError, named_keywords, unknown
from .scenario import HardwareConfig

if TYPE_CHECKING:
    from collections.abc import Iterable

    import polars as pl

OPS = ("all_reduce", "reduce_scatter", "all_gather", "broadcast", "all_to_all", "send_recv")
ALGORITHMS = ("ring", "tree", "nvls", "nvlstree", "collnet_direct", "collnet_chain", "pat",
              "allpairs", "p2p", "pxn")
PROTOCOLS = ("LL", "LL128", "Simple")
ALGORITHM_ALIASES = {
    "direct": "allpairs", "mesh": "allpairs", "msccl": "allpairs", "one_shot": "allpairs",
    "rail_aware": "pxn", "rail": "pxn", "pairwise": "p2p", "send_recv": "p2p",
    "double_binary_tree": "tree", "nvls_tree": "nvlstree", "nvlink_sharp": "nvls",
    "collnet": "collnet_direct", "sharp": "collnet_direct",
}
REMOVED_ALGORITHMS = ("rhd", "recursive_halving_doubling", "rabenseifner", "recursive_doubling",
                      "hierarchical", "bruck")
TABLE_ALGOS = ALGORITHMS[:7]  # rows of data/network_library_tables.csv

__all__ = [
    "OPS", "ALGORITHMS", "ALGORITHM_ALIASES", "PROTOCOLS", "CollectiveResult", "CollectiveParams", "collective",
    "collective_time_params", "busbw_factor", "lower_bound", "sweep", "algorithm_table",
    "applicable_algorithms", "published_measurements", "published_comparison",
    "library_tables", "physics_constants", "measurement_set", "validation_table",
    "validation_summary", "fit_physics", "rails_only_overhead_pct",
]


def busbw_factor(op: str, n: int) -> float:
    """nccl-tests bus-bandwidth factor F (busbw = algbw × F) for ``op`` over ``n`` ranks.

    all_reduce 2(n−1)/n; reduce_scatter, all_gather, all_to_all (n−1)/n; broadcast,
    send_recv 1 (NVIDIA/nccl-tests doc/PERFORMANCE.md). ``n`` must be a whole number >= 1.
    """
    op = _op(op)
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ValidationError(f"n = {n!r}: expected a whole number of ranks >= 1")
    n = int(n)
    if op == "all_reduce":
        return 2.0 * (n - 1) / n
    if op in ("reduce_scatter", "all_gather", "all_to_all"):
        return (n - 1) / n
    return 1.0


def _op(op) -> str:
    if not isinstance(op, str) or op.lower() not in OPS:
        raise unknown("collective op", op, OPS)
    return op.lower()


def _algo(algorithm) -> str:
    valid = ("auto", "fastest", *ALGORITHMS, *ALGORITHM_ALIASES)
    if not isinstance(algorithm, str):
        raise unknown("algorithm", algorithm, valid)
    a = algorithm.lower()
    if a in REMOVED_ALGORITHMS:
        raise ValidationError(
            f"algorithm = {algorithm!r}: neither NCCL nor RCCL implements it; the library algorithms "
            f"are {', '.join(ALGORITHMS)} (or 'auto' for the library's own choice)"
        )
    a = ALGORITHM_ALIASES.get(a, a)
    if a not in ("auto", "fastest") and a not in ALGORITHMS:
        raise unknown("algorithm", algorithm, valid)
    return a


# ---------------------------------------------------------------------------------------
# Data: library tables, tuner corrections, physical factors
# ---------------------------------------------------------------------------------------
LIBRARY_TABLES_FILE = _fab.catalog.DATA_DIR / "network_library_tables.csv"
CORRECTIONS_FILE = _fab.catalog.DATA_DIR / "network_tuner_corrections.csv"
NCCL_ARCH_FILE = _fab.catalog.DATA_DIR / "network_nccl_arch.csv"
PHYSICS_FILE = _fab.catalog.DATA_DIR / "network_physics.csv"


@cache
def library_tables():
    """data/network_library_tables.csv: NCCL/RCCL latency tables and RCCL's tuning ratios
    (library, table, algorithm, LL, LL128, Simple, unit, basis, source_url, note)."""
    C = _fab.catalog
    return C.read_table(LIBRARY_TABLES_FILE, {
        "library": C.Col("str", required=True, choices=("nccl", "rccl")),
        "table": C.Col("str", required=True), "algorithm": C.Col("str", required=True, choices=TABLE_ALGOS),
        "LL": C.Col("float", required=True, nonneg=True), "LL128": C.Col("float", required=True, nonneg=True),
        "Simple": C.Col("float", required=True, nonneg=True), "unit": C.Col("str", required=True),
        "basis": C.Col("str", required=True),
    })


@cache
def _lib_table(lib: str, table: str) -> np.ndarray:
    t = library_tables()
    out = np.zeros((len(TABLE_ALGOS), 3))
    units = {"us": 1e-6, "fraction": 1.0}
    hit = False
    for r in t.iter_rows(named=True):
        if r["library"] == lib and r["table"] == table:
            if r["unit"] not in units:
                raise ValidationError(f"{LIBRARY_TABLES_FILE.name}: unit {r['unit']!r} not one of {list(units)}")
            out[TABLE_ALGOS.index(r["algorithm"])] = [r[p] * units[r["unit"]] for p in PROTOCOLS]
            hit = True
    if not hit:
        raise ValidationError(f"{LIBRARY_TABLES_FILE.name}: no rows for {lib} {table}")
    return out


@cache
def _corrections(lib: str, table: str) -> np.ndarray:
    from ._kernels import collectives as K

    C = _fab.catalog
    t = C.read_table(CORRECTIONS_FILE, {
        "library": C.Col("str", required=True), "table": C.Col("str", required=True),
        "protocol": C.Col("str", required=True, choices=PROTOCOLS), "values": C.Col("str", required=True),
        "basis": C.Col("str", required=True),
    })
    out = np.ones((3, K.N_CORR_BUCKETS))
    for r in t.iter_rows(named=True):
        if r["library"] == lib and r["table"] == table:
            v = [float(x) for x in r["values"].split(";")]
            out[PROTOCOLS.index(r["protocol"]), :len(v)] = v
            out[PROTOCOLS.index(r["protocol"]), len(v):] = v[-1]
    return out


@cache
def _nccl_arch(arch: str, table: str) -> np.ndarray:
    C = _fab.catalog
    t = C.read_table(NCCL_ARCH_FILE, {
        "arch": C.Col("str", required=True), "table": C.Col("str", required=True),
        "n1": C.Col("float", required=True, nonneg=True), "n2": C.Col("float", required=True, nonneg=True),
        "n4": C.Col("float", required=True, nonneg=True), "unit": C.Col("str", required=True),
        "basis": C.Col("str", required=True),
    })
    for r in t.iter_rows(named=True):
        if r["arch"] == arch and r["table"] == table:
            s = 1e9 if r["unit"] == "GB/s" else 1.0
            return np.array([r["n1"], r["n2"], r["n4"]]) * s
    raise ValidationError(f"{NCCL_ARCH_FILE.name}: no {table} row for NCCL architecture {arch!r}")


@cache
def physics_constants() -> dict[str, float]:
    """data/network_physics.csv as {name: value} (SI units): protocol wire efficiencies,
    per-channel rates, NVLS fractions, RCCL MSCCL windows."""
    C = _fab.catalog
    t = C.read_table(PHYSICS_FILE, {
        "name": C.Col("str", required=True), "value": C.Col("float", required=True, nonneg=True),
        "unit": C.Col("str", required=True),
        "basis": C.Col("str", required=True, choices=("measured", "fitted", "derived", "assumption",
                                                      "library constant")),
    })
    return dict(zip(t["name"].to_list(), t["value"].to_list(), strict=True))


def _phys(name: str) -> float:
    d = physics_constants()
    if name not in d:
        raise unknown("network physics constant", name, d)
    return float(d[name])


# library constants of the tuner and of the tree chunking: kernel index name -> row of
# data/network_physics.csv (NCCL's src/graph/tuning.cc and src/enqueue.cc; RCCL's copies)
TUNER_CONSTANTS = {
    "P_T_RING_LL": "nccl_tuner_ring_ll_factor",
    "P_T_RING_LL128": "nccl_tuner_ring_ll128_factor",
    "P_T_TREE_AR": "nccl_tuner_tree_allreduce_factor",
    "P_T_TREE_LL_DIV": "nccl_tuner_tree_ll_divisor",
    "P_T_TREE_LL128_1N": "nccl_tuner_tree_ll128_factor_one_node",
    "P_T_TREE_LL128_MN": "nccl_tuner_tree_ll128_factor_multi_node",
    "P_T_PAT": "nccl_tuner_pat_factor",
    "P_T_CND_AR": "nccl_tuner_collnet_direct_allreduce_factor",
    "P_T_CND_INTER": "nccl_tuner_collnet_direct_inter_factor",
    "P_T_TREE_PATTERN": "nccl_tuner_tree_pattern_factor",
    "P_T_CND_MAX_HEADS": "nccl_collnet_direct_max_heads",
    "P_T_PLATEAU_MIN": "nccl_ring_simple_plateau_min_bytes",
    "P_T_TREE_CORR_LOG_END": "nccl_tree_correction_log_size_end",
    "P_T_BUCKET_BYTES": "tuner_size_bucket_bytes",
    "P_TREE_CHUNKS_PER_LEVEL": "tree_chunks_per_depth_level",
}


# ---------------------------------------------------------------------------------------
# Parameters as plain floats
# ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class CollectiveParams:
    """The numbers of one hardware configuration as plain floats.

    ``array`` is the float64 vector the numba kernels take (index names ``P_*`` in
    ``infra_lab._kernels.collectives``, re-exported by ``infra_lab._kernels.fabric``); the
    named fields are the same numbers for reading. Scale-up bandwidth among k GPUs has one
    owner: :meth:`infra_lab.fabric.ScaleUp.bandwidth_Bps`.

    Attributes
    ----------
    library : "nccl" | "rccl"
    domain : the job's GPUs per scale-up domain (``HardwareConfig.domain_gpus``) [-]
    mesh : True for a full mesh (xGMI)
    link_Bps : achieved scale-up link bandwidth, one direction [B/s]
    links_per_gpu : scale-up links per GPU [-]
    nic_per_gpu_Bps : achieved scale-out bandwidth per GPU [B/s]: min(NIC line rate share,
        host link) × achieved fraction (:attr:`infra_lab.fabric.ScaleOut.gpu_Bps`)
    gamma_s_per_B : reduction cost [s/B]
    switch_hop_s : latency added per network hop for switches beyond the first [s]
    net_overhead_s : per-message post overhead of the host CPU [s]
    pxn, sharp, nvls : PXN on; in-network reduction in the scale-out fabric; NVLink SHARP
    scaleout_limit : what bounds ``nic_per_gpu_Bps``: "NIC" or "host link"
    scaleout_note : one sentence on it (:meth:`infra_lab.fabric.ScaleOut.note`)
    """

    library: str
    domain: int
    mesh: bool
    link_Bps: float
    links_per_gpu: int
    nic_per_gpu_Bps: float
    gamma_s_per_B: float
    switch_hop_s: float
    net_overhead_s: float
    pxn: bool
    sharp: bool
    nvls: bool
    scaleout_limit: str
    scaleout_note: str
    array: np.ndarray = field(repr=False, compare=False)

    def named(self) -> dict[str, float]:
        """Every entry of ``array`` by its kernel index name (``P_*`` without the prefix)."""
        from ._kernels import collectives as K

        out = {}
        for name in dir(K):
            if name.startswith("P_") and name != "P_SIZE":
                out[name[2:]] = float(self.array[getattr(K, name)])
        return out


def collective_time_params(hardware: Any, fabric_efficiency: float = 1.0,
                           radix: int | None = None) -> CollectiveParams:
    """Parameters of ``hardware`` as floats for the numba collective kernels.

    Parameters
    ----------
    hardware : [hardware] dict or HardwareConfig
    fabric_efficiency : fraction of the NIC bandwidth routing achieves [-]; 1 = perfect
        balance (spraying); take η from :func:`infra_lab.fabric.monte_carlo` for ECMP
    radix : switch ports [-], sets the number of switch hops (default: constants file)

    Examples
    --------
    >>> import infra_lab as il
    >>> from infra_lab._kernels.fabric import best_collective, OP_ALL_REDUCE
    >>> p = il.collectives.collective_time_params({"accelerator": "H100", "nodes": 2})
    >>> t, algo, proto = best_collective(OP_ALL_REDUCE, -1, 1e9, 16, 8, p.array)
    >>> t > 0
    True
    """
    hw = _fab.hardware_config(hardware)
    fe = V.scalar(fabric_efficiency)   # a numpy scalar or 0-d array: the number it holds
    if not V.is_real(fe) or not 0 < fe <= 1:     # (NaN fails the range)
        raise ValidationError(f"fabric_efficiency = {fabric_efficiency!r}: allowed 0 < x <= 1")
    return _params(hw, float(fe), None if radix is None else _fab._radix(radix))


@cache
def _params(hw: HardwareConfig, fabeff: float, radix: int | None) -> CollectiveParams:
    from ._kernels import collectives as K

    c = _fab.constant
    su = _fab.scaleup(hw)
    so = _fab.scaleout(hw, radix)
    plat = _fab.platform(hw.accelerator)
    lib = plat["library"]
    acc = hw.accelerator_spec
    # switches on the longest path; a job inside one scale-up domain has no back-end switch
    # (tiers 0) and no collective that crosses one, so its extra hop latency is 0 as for one tier
    tiers = max(_fab.switch_counts(hw, radix)["tiers"], 1)
    hops = 2 * tiers - 1
    P = np.zeros(K.P_SIZE)
    P[K.P_G] = hw.domain_gpus
    P[K.P_DPHYS] = hw.scaleup_domain
    P[K.P_MESH] = 1.0 if su.topology == "mesh" else 0.0
    P[K.P_LINK] = su.link_Bps
    P[K.P_NLINKS] = su.links_per_gpu
    P[K.P_BNIC] = so.gpu_Bps
    P[K.P_GAMMA] = c("reduce_hbm_bytes_per_byte") / acc.hbm_bw_Bps
    P[K.P_LATINTER] = (hops - 1) * c("switch_latency_s")
    P[K.P_NETOVH] = _fab.net_overhead_s(hw.host_cpu)
    P[K.P_NETOVH_SIMPLE] = _fab.constant("net_overhead_simple_factor")
    P[K.P_FABRIC] = _fab.FABRIC_KINDS.index(hw.fabric)
    P[K.P_OVERSUB] = hw.oversubscription
    lay = _fab._leaf_layout(hw, _fab._radix(radix))
    P[K.P_LEAF_NODES] = lay["h"] / lay["e"]
    P[K.P_LEAF_HOSTS], P[K.P_LEAF_E] = lay["h"], lay["e"]
    P[K.P_LEAF_UP], P[K.P_LEAF_ULAST] = lay["U"], lay["uplinks_last"]
    P[K.P_LEAF_LAST] = (lay["n_leaves"] if lay["kind"] == 2 else lay["B"]) - 1
    P[K.P_FABEFF] = fabeff
    P[K.P_LIB] = K.LIB_NCCL if lib == "nccl" else K.LIB_RCCL
    nvls = bool(plat["nvls"]) and su.topology == "switch"
    P[K.P_NVLS] = 1.0 if nvls else 0.0
    P[K.P_SHARP] = 1.0 if hw.sharp else 0.0
    P[K.P_PXN] = 1.0 if hw.pxn else 0.0
    for tab, off in (("base", K.P_BASE), ("hw_intra", K.P_HWI), ("hw_net", K.P_HWN)):
        P[off:off + 3 * K.N_TABLE_ALGOS] = _lib_table(lib, tab).ravel()
    arch = plat["nccl_arch"] or ""
    if nvls:
        P[K.P_NVLS_FRAC] = _phys(f"nvls_algbw_fraction_{arch}")
    P[K.P_NVLS_MIN] = _phys("nvls_min_gpus")
    P[K.P_WIRE:K.P_WIRE + 3] = [_phys("ll_wire_efficiency"), _phys("ll128_wire_efficiency"),
                                _phys("simple_wire_efficiency")]
    P[K.P_STEP_BYTES] = _phys("simple_step_bytes")
    P[K.P_LL_STEP_BYTES] = _phys("ll_step_bytes")
    P[K.P_TREE_MIN_CHUNK] = _phys("tree_min_chunk_bytes")
    P[K.P_HBM] = acc.hbm_bw_Bps
    P[K.P_ARITY] = _phys("collnet_arity_latency_s")
    P[K.P_PAT_DIV] = _phys("pat_net_latency_divisor")
    P[K.P_PAT_RANK] = _phys("pat_per_rank_latency_s")
    for idx, name in TUNER_CONSTANTS.items():
        P[getattr(K, idx)] = _phys(name)
    # NCCL's tuner refinements that depend on the GPUs' compute capability (tuning.cc
    # compCapIndex) and the host CPU's architecture
    def cc(a):
        return _nccl_arch(a, "min_compute_capability")[0]

    P[K.P_T_PLATEAU] = _phys("nccl_ring_simple_plateau" if not arch or cc(arch) >= cc("ampere")
                             else "nccl_ring_simple_plateau_pre_sm80")
    if arch and cc(arch) < cc("hopper"):
        P[K.P_T_CND_AR] = 1.0      # CollNet Direct's x .85 is for compute capability >= 9.0
    x86 = _fab.host_cpu(hw.host_cpu)["arch"] == "x86"
    P[K.P_T_NVLSTREE_CORR_LOG_END] = (_phys("nccl_nvlstree_correction_log_size_end")
                                      if arch and cc(arch) >= cc("blackwell") and x86 else 0.0)
    P[K.P_NIC_PER_GPU] = hw.nics_per_node / hw.gpus_per_node
    P[K.P_NCH_RING] = plat["ring_channels"]
    if lib == "rccl":
        P[K.P_CH_SIMPLE] = _phys("rccl_channel_Bps_simple")
        P[K.P_CH_LL] = _phys("rccl_channel_Bps_ll")
        P[K.P_ALLPAIRS] = 1.0 if plat["msccl_allpairs"] else 0.0
        P[K.P_AP_GPUS] = _phys("rccl_allpairs_gpus")
        P[K.P_AP_LL4] = _phys("rccl_allpairs_ll4_max_bytes")
        P[K.P_AP_LL8] = _phys("rccl_allpairs_ll8_max_bytes")
        P[K.P_AP_SIMPLE] = _phys("rccl_allpairs_simple_max_bytes")
        P[K.P_AP_MIN] = _phys("rccl_allpairs_min_bytes")
        P[K.P_AP_NCH_LL4] = _phys("rccl_allpairs_ll4_channels")
        P[K.P_AP_NCH] = _phys("rccl_allpairs_channels")
        P[K.P_TREE_SINGLE_OK] = 0.0  # gfx942/gfx950: Tree/Simple skipped inside one node
        m = f"m{plat['rccl_tuning_model']}"
        P[K.P_T_LL_MAX:K.P_T_LL_MAX + 3] = [_phys(f"rccl_{m}_ll_max_bytes_{o}") for o in OPS[:3]]
        P[K.P_T_NET:K.P_T_NET + 6] = _lib_table("rccl", f"tuner_hw_net_{m}")[:2].ravel()
        ratio = np.concatenate([_lib_table("rccl", f"bw_ratio_le2_{m}")[:2].ravel(),
                                _lib_table("rccl", f"bw_ratio_gt2_{m}")[:2].ravel()])
        P[K.P_T_RATIO:K.P_T_RATIO + K.VECTOR_LENGTHS["T_RATIO"]] = ratio
        P[K.P_T_RING_CORR:K.P_T_RING_CORR + K.VECTOR_LENGTHS["T_RING_CORR"]] = \
            _corrections(f"rccl_{m}", "ring_correction").ravel()
        P[K.P_T_TREE_CORR:K.P_T_TREE_CORR + K.VECTOR_LENGTHS["T_TREE_CORR"]] = \
            _corrections(f"rccl_{m}", "tree_correction").ravel()
    else:
        P[K.P_CH_SIMPLE] = np.inf
        P[K.P_CH_LL] = np.inf
        P[K.P_TREE_SINGLE_OK] = 1.0
        P[K.P_T_LLMAX:K.P_T_LLMAX + 3] = _nccl_arch(arch, "ll_max_bw")
        P[K.P_T_CH_RLL128:K.P_T_CH_RLL128 + 3] = _nccl_arch(arch, "per_ch_ring_ll128")
        P[K.P_T_CH_TLL128:K.P_T_CH_TLL128 + 3] = _nccl_arch(arch, "per_ch_tree_ll128")
        P[K.P_T_CH_TREE:K.P_T_CH_TREE + 3] = _nccl_arch(arch, "per_ch_tree")
        P[K.P_T_CH_NVLSTREE:K.P_T_CH_NVLSTREE + 3] = _nccl_arch(arch, "per_ch_nvlstree")
        P[K.P_T_NVLS_EFF] = _nccl_arch(arch, "nvls_efficiency")[0]
        P[K.P_T_TREE_CORR:K.P_T_TREE_CORR + K.VECTOR_LENGTHS["T_TREE_CORR"]] = \
            _corrections("nccl", "tree_correction").ravel()
    P.setflags(write=False)
    return CollectiveParams(lib, hw.domain_gpus, su.topology == "mesh", su.link_Bps, su.links_per_gpu,
                            so.gpu_Bps, float(P[K.P_GAMMA]), float(P[K.P_LATINTER]),
                            float(P[K.P_NETOVH]), bool(hw.pxn), bool(hw.sharp), nvls, so.limit, so.note(), P)


# ---------------------------------------------------------------------------------------
# The contract call
# ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class CollectiveResult(Printout):
    """Cost of one collective.

    Attributes
    ----------
    op : the collective
    algorithm, protocol : what ran ("auto": the library's choice; "none" for one rank)
    size_bytes : S as nccl-tests defines it for ``op`` [B]
    gpus : ranks [-]; nodes : scale-up domains spanned [-]; per_node : ranks per domain [-]
    time_s : [s]; algbw_Bps = S / time [B/s]; busbw_Bps = algbw × F [B/s]
        (one rank: time 0 and both bandwidths reported as 0, since nothing moves)
    lower_bound_s : Chan et al. bound in the same model [s]: every send/receive algorithm's time
        is at least this; NVLS and CollNet/SHARP reduce in the switch and can beat it
        (:func:`lower_bound`)
    library : "nccl" | "rccl"
    notes : remarks on the result; a collective that crosses scale-up domains says what bounds
        each GPU's scale-out rate (the NICs, or the GPU's host link when that is slower)
    """

    op: str
    size_bytes: float
    gpus: int
    algorithm: str
    protocol: str
    time_s: float
    algbw_Bps: float
    busbw_Bps: float
    nodes: int
    per_node: int
    lower_bound_s: float
    library: str
    notes: tuple[str, ...] = ()

    def _printout(self) -> str:
        """What print() and a notebook show: a readable printout: one field a line, 4 significant figures, each with its unit
        (``busbw_Bps  212.5 GB/s``), notes one a line; the exact values are the attributes and
        :meth:`to_dict`."""
        from ._repr import readable

        return readable(self, title=f"{self.op} of {self.size_bytes:,.0f} B over {self.gpus:,} GPU{'' if self.gpus == 1 else 's'} "
                                    f"({self.library})")

    def to_dict(self) -> dict:
        """Every field as a dict, in the units of the attributes above (``notes`` a tuple of
        strings), as ``Estimate.to_dict()`` / ``ServeResult.to_dict()`` give theirs:
        ``pl.DataFrame([c.to_dict() for c in results])`` is a frame of collectives, and
        :func:`infra_lab.sweep` takes a CollectiveResult returned by its function as these
        outputs (``notes`` joined with "; ").

        Examples
        --------
        >>> import infra_lab as il
        >>> c = il.collective("all_gather", 2**28, {"accelerator": "MI300X", "nodes": 2}, 16)
        >>> d = c.to_dict()
        >>> d["op"], d["gpus"], d["nodes"], d["library"], d["time_s"] == c.time_s
        ('all_gather', 16, 2, 'rccl', True)
        """
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}


PLACEMENT_HINT = "pass per_node= for other placements"
"""The close of the error for a rank count that does not fill whole scale-up domains: what a
Python caller can change. An explorer without ``per_node`` replaces it with what it can change."""


def _placement(hw: HardwareConfig, gpus, per_node) -> tuple[int, int]:
    gpus = V.integer("gpus", gpus)   # ranks: an integer >= 1 (numpy's too)
    world = hw.world_size
    if gpus > world:
        raise ValidationError(
            f"gpus = {gpus}: larger than the cluster ({hw.nodes} node{'' if hw.nodes == 1 else 's'} × "
            f"{hw.gpus_per_node} = {world} GPUs); "
            f"allowed 1..{world} (or more hardware.nodes)"
        )
    D = hw.domain_gpus  # the job's GPUs in one scale-up domain
    if per_node is None:
        if gpus <= D:
            return gpus, gpus
        if gpus % D:
            raise ValidationError(
                f"gpus = {gpus}: ranks are placed domain-major, so a collective beyond one scale-up "
                f"domain ({D} of the job's GPUs) needs a multiple of {D}; {PLACEMENT_HINT}"
            )
        return gpus, D
    per_node = V.integer("per_node", per_node, hi=D)   # 1..the job's GPUs in one scale-up domain
    if gpus % per_node:
        raise ValidationError(f"gpus = {gpus}: must be a multiple of per_node = {per_node}")
    if gpus // per_node > world // D:
        raise ValidationError(
            f"gpus = {gpus} at per_node = {per_node} spans {gpus // per_node} scale-up domains; "
            f"the job has {world // D}"
        )
    return gpus, int(per_node)


def _size(size_bytes) -> float:
    """``size_bytes`` as a float: a finite number of bytes >= 0 (:func:`infra_lab._validate.
    byte_count`, the rule's one owner; a computed size need not be whole)."""
    return V.byte_count("size_bytes", size_bytes)


def _size_bound(size_bytes, size: float, hw) -> None:
    """Refuse a size no collective can move: more than the memory of every GPU of the largest
    cluster the library admits (``max_world_gpus`` × the accelerator's device memory; about
    2e17 B for MI300X). Plans that do not fit in memory still price their collectives, so the
    bound is the physical one, not the job's own memory."""
    cap = _fab.constant("max_world_gpus") * hw.accelerator_spec.memory_capacity_bytes
    if size > cap:
        raise ValidationError(
            f"size_bytes = {size_bytes!r}: more than every GPU of the largest cluster holds "
            f"({_fab.constant('max_world_gpus'):,.0f} x {hw.accelerator_spec.memory_capacity_bytes / 1e9:.4g} GB "
            f"{hw.accelerator} = {cap:.3g} B, max_world_gpus x memory_capacity_bytes); allowed 0 .. {cap:.3g} B")


@named_keywords(name="il.collective")
def collective(op: str, size_bytes: float, hardware: Any, gpus: int, algorithm: str = "auto", *,
               per_node: int | None = None, fabric_efficiency: float = 1.0,
               radix: int | None = None) -> CollectiveResult:
    """Time, algbw and busbw of one collective.

    Parameters
    ----------
    op : "all_reduce" | "reduce_scatter" | "all_gather" | "broadcast" | "all_to_all" | "send_recv"
    size_bytes : S as nccl-tests defines it [B] (all_reduce/broadcast/send_recv: the buffer;
        reduce_scatter/all_gather: the whole array; all_to_all: each rank's send buffer), a
        finite number of bytes >= 0. A computed size need not be whole (parameters × 2 / tp, or
        a row of ``il.training.collectives``, whose ``bytes_per_call`` is the model's mean
        message: ``il.collective(op, bytes_per_call, hardware, group_ranks,
        per_node=ranks_per_domain)`` gives its ``time_per_call_s``); the CLI's SIZE, typed as
        text, must be a whole number of bytes
    hardware : the Scenario's [hardware] table (dict) or HardwareConfig
    gpus : ranks in the collective [-], placed domain-major; 1 rank costs 0 s, and so does
        a zero-byte collective other than send_recv (NCCL launches nothing for it)
    algorithm : "auto" (the library's choice), "fastest" (the fastest pair on the hardware)
        or one of :data:`ALGORITHMS` (aliases in :data:`ALGORITHM_ALIASES`)
    per_node : ranks per scale-up domain when not packed domain-major [-]
    fabric_efficiency : achieved fraction of NIC bandwidth after routing [-]: 1 (the default) is
        a perfect balance over the equal-cost paths, which packet spraying (Pollara 400's, a
        ``packet_spraying`` NIC of the catalog) gives; for per-flow ECMP hashing take η from the
        flow simulation, ``il.fabric.monte_carlo(il.fabric.step_flows(pattern, hardware, S),
        hardware, "ecmp")["efficiency"]`` (notebook 03 §7). Pollara's other transport features,
        selective retransmit and programmable congestion control, are not priced here: the model
        has no packet loss or congestion (notebook 03 §8 weighs them)
    radix : switch ports [-] (sets switch hops)

    Returns
    -------
    CollectiveResult
        time_s [s], algbw_Bps and busbw_Bps [B/s], algorithm and protocol (what ran),
        lower_bound_s [s], nodes and per_node [-], notes, ``to_dict()``; every attribute with
        its unit in :class:`CollectiveResult`.

    Raises
    ------
    ValidationError : a size that is not a finite number of bytes >= 0, a size beyond the memory of the largest
        cluster (``max_world_gpus`` x device memory), gpus beyond the cluster, an algorithm the
        library does not run for this op and placement (e.g. all-to-all across rails of a
        rails-only fabric with PXN off)
    UnknownNameError : unknown op or algorithm

    Notes
    -----
    algbw = S / t and busbw = algbw × F with F from :func:`busbw_factor` (nccl-tests). For
    NVLS and CollNet the switches reduce, so busbw can exceed the link rate, as nccl-tests
    report it.

    Examples
    --------
    >>> import infra_lab as il
    >>> hw = {"accelerator": "H100", "nodes": 1, "nic": "ConnectX-7"}
    >>> c = il.collective("all_reduce", 2**30, hw, 8)
    >>> c.algorithm, round(c.busbw_Bps / 1e9)
    ('nvls', 476)

    With and without spraying, for ZAYA1's data-parallel all-reduce (its rings are rail-matched,
    so ECMP hashing loses nothing there):

    >>> hw = il.load_scenario("zaya1-ibm-mi300x").hardware
    >>> ring = il.fabric.step_flows("ring", hw, 2**30)
    >>> eta = float(il.fabric.monte_carlo(ring, hw, "ecmp", seeds=2)["efficiency"].min())
    >>> ecmp = il.collective("all_reduce", 2**30, hw, 1024, fabric_efficiency=eta)
    >>> eta, ecmp.time_s == il.collective("all_reduce", 2**30, hw, 1024).time_s
    (1.0, True)
    """
    from ._kernels import collectives as K

    op_ = _op(op)
    algo = _algo(algorithm)
    size = _size(size_bytes)
    hw = _fab.hardware_config(hardware)
    _size_bound(size_bytes, size, hw)
    n, k = _placement(hw, gpus, per_node)
    p = collective_time_params(hw, fabric_efficiency, radix)
    code = OPS.index(op_)
    if n == 1:
        return CollectiveResult(op_, size, 1, "none", "none", 0.0, 0.0, 0.0, 1, 1, 0.0, p.library)
    if size == 0.0 and op_ != "send_recv":
        # NCCL/RCCL enqueue nothing for a zero count (taskAppend in src/enqueue.cc)
        return CollectiveResult(op_, size, n, "none", "none", 0.0, 0.0, 0.0, n // k, k, 0.0, p.library,
                                ("zero bytes: the library returns without launching a kernel",))
    if algo == "fastest":
        t, a, pr = K.fastest_collective(code, size, n, k, p.array)
    else:
        a_code = -1 if algo == "auto" else ALGORITHMS.index(algo)
        t, a, pr = K.best_collective(code, a_code, size, n, k, p.array)
    if not math.isfinite(t):
        why = ""
        if op_ in ("all_to_all", "send_recv") and hw.fabric == "rails-only" and not hw.pxn and n > k > 1:
            why = (" — cross-rail traffic has no path on a rails-only fabric with PXN off (RCCL's default); "
                   "set hardware.pxn = true (NCCL_PXN_DISABLE=0) or use algorithm='pxn'")
        raise ValidationError(
            f"algorithm = {algorithm!r} cannot run {op_} over {n} GPUs ({n // k} domain(s) × {k}) with "
            f"{p.library.upper()} on a {hw.fabric} fabric{why}; applicable: "
            f"{', '.join(applicable_algorithms(op_, hw, n, per_node)) or 'none'}"
        )
    lat, bw, red = K.lower_bound(code, size, n, k, p.array)
    algbw = size / t if t > 0 else 0.0
    busbw = algbw * busbw_factor(op_, n)
    notes = (p.scaleout_note,) if n > k else ()
    return CollectiveResult(op_, size, n, ALGORITHMS[a], PROTOCOLS[pr], float(t), algbw, busbw, n // k, k,
                            float(lat + max(bw, red)), p.library, notes)


def applicable_algorithms(op: str, hardware: Any, gpus: int,
                          per_node: int | None = None) -> list[str]:
    """Algorithms the library runs for ``op`` over ``gpus`` ranks of ``hardware``."""
    from ._kernels import collectives as K

    hw = _fab.hardware_config(hardware)
    n, k = _placement(hw, gpus, per_node)
    p = collective_time_params(hw)
    code = OPS.index(_op(op))
    return [a for i, a in enumerate(ALGORITHMS)
            if math.isfinite(K.best_collective(code, i, 1e6, n, k, p.array)[0])]


def lower_bound(op: str, size_bytes: float, hardware: Any, gpus: int, *,
                per_node: int | None = None) -> dict:
    """Chan, Heimlich, Purkayastha & van de Geijn (2007) lower bounds in this model.

    Returns {"latency_s", "bandwidth_s", "compute_s", "total_s"}: latency ⌈lg N⌉ network
    steps (one scale-up round); bandwidth F_op·S over a rank's whole injection bandwidth
    (scale-up + NIC) and, across domains, the domain's NICs; reduction ((n−1)/n)·S·γ.
    Every send/receive algorithm's modelled time is at least latency + max(bandwidth,
    reduction); NVLS and SHARP reduce in the switch and are not bound by it. ``size_bytes`` is
    a whole number of bytes >= 0, as :func:`collective` takes it.
    """
    from ._kernels import collectives as K

    hw = _fab.hardware_config(hardware)
    n, k = _placement(hw, gpus, per_node)
    p = collective_time_params(hw)
    size = _size(size_bytes)
    _size_bound(size_bytes, size, hw)
    lat, bw, red = K.lower_bound(OPS.index(_op(op)), size, n, k, p.array)
    return {"latency_s": lat, "bandwidth_s": bw, "compute_s": red, "total_s": lat + max(bw, red)}


def sweep(op: str, sizes: Iterable[float], hardware: Any, gpus: int,
          algorithms: Iterable[str] = ("auto",), *,
          per_node: int | None = None, fabric_efficiency: float = 1.0) -> pl.DataFrame:
    """Collective cost over message sizes and algorithms → polars DataFrame with columns
    op, algorithm (requested), chosen, protocol, size_bytes, gpus, nodes, time_s, algbw_GBps,
    busbw_GBps, lower_bound_s, accelerator, library.

    An algorithm the library does not run for this op and placement is skipped as a whole
    (checked up front with :func:`applicable_algorithms`, so errors are never swallowed)."""
    import polars as pl

    from ._validate import sequence

    hw = _fab.hardware_config(hardware)
    size_list, algo_list = sequence("sizes", sizes, "sizes [B]"), sequence("algorithms", algorithms, "algorithms")
    for arg, given, items in (("sizes", sizes, size_list), ("algorithms", algorithms, algo_list)):
        if not items:   # a frame with no rows and no columns
            raise ValidationError(f"{arg} = {given!r}: expected at least one")
    applicable = applicable_algorithms(op, hw, gpus, per_node)
    allowed = set(applicable)
    runs = [a for a in algo_list if _algo(a) in ("auto", "fastest") or _algo(a) in allowed]
    if not runs:
        raise ValidationError(f"algorithms = {algo_list!r}: none runs {op} over {gpus} GPUs here; "
                              f"applicable: {', '.join(applicable)}")
    rows = []
    for algo in runs:
        for s in size_list:
            c = collective(op, s, hw, gpus, algo, per_node=per_node,    # it checks the size
                           fabric_efficiency=fabric_efficiency)
            rows.append({"op": c.op, "algorithm": algo, "chosen": c.algorithm, "protocol": c.protocol,
                         "size_bytes": c.size_bytes, "gpus": c.gpus, "nodes": c.nodes, "time_s": c.time_s,
                         "algbw_GBps": c.algbw_Bps / 1e9, "busbw_GBps": c.busbw_Bps / 1e9,
                         "lower_bound_s": c.lower_bound_s, "accelerator": hw.accelerator,
                         "library": c.library})
    return pl.DataFrame(rows)


def algorithm_table(op: str, size_bytes: float, hardware: Any, gpus: int, *,
                    per_node: int | None = None) -> pl.DataFrame:
    """Every algorithm the library runs for one case → polars DataFrame, fastest first, with
    the library's tuner estimate beside the modelled time and a flag for the pair "auto"
    picks. ``tuner_time_s`` is null for a pair the tuner never considers at this size (the
    kernel's inf: RCCL's LL beyond its size range, a protocol the library disables there),
    though the pair runs when asked for. One rank moves nothing: one row, algorithm "none",
    0 s (as :func:`collective`)."""
    import polars as pl

    from ._kernels import collectives as K

    hw = _fab.hardware_config(hardware)
    n, k = _placement(hw, gpus, per_node)
    p = collective_time_params(hw)
    code = OPS.index(_op(op))
    size = _size(size_bytes)
    _size_bound(size_bytes, size, hw)
    if n == 1:  # one rank moves nothing: the single row il.collective returns
        return pl.DataFrame([{"algorithm": "none", "protocol": "none", "time_s": 0.0, "busbw_GBps": 0.0,
                              "tuner_time_s": 0.0, "library_choice": True}])
    pick = K.library_choice(code, size, n, k, p.array)
    rows = []
    for a in applicable_algorithms(op, hw, gpus, per_node):
        ai = ALGORITHMS.index(a)
        for pi, proto in enumerate(PROTOCOLS):
            t = K.collective_cost(code, ai, pi, size, n, k, p.array)
            if not math.isfinite(t):
                continue
            tuned = K.tuner_time(code, ai, pi, size, n, k, p.array)
            rows.append({"algorithm": a, "protocol": proto, "time_s": t,
                         "busbw_GBps": size / t * busbw_factor(op, n) / 1e9 if t > 0 else 0.0,
                         "tuner_time_s": float(tuned) if math.isfinite(tuned) else None,
                         "library_choice": (ai, pi) == tuple(pick)})
    return pl.DataFrame(rows, schema_overrides={"tuner_time_s": pl.Float64}).sort("time_s")


MEASUREMENTS_FILE = _fab.catalog.DATA_DIR / "network_measurements.csv"


def published_measurements() -> pl.DataFrame:
    """data/network_measurements.csv: published link and fabric facts (TransferBench xGMI,
    NVIDIA's per-NIC expectation, the NVLink ring figure, the rail-only all-to-all overhead);
    ``model_scope`` says why a fact lies outside what the model can reproduce (empty: inside)."""
    from .catalog import Col, read_table

    return read_table(MEASUREMENTS_FILE, {
        "name": Col("str", required=True), "accelerator": Col("str", required=True),
        "nic": Col("str", required=True), "nodes": Col("int", required=True, positive=True),
        "gpus": Col("int", required=True, positive=True), "op": Col("str", required=True, choices=OPS),
        "algorithm": Col("str", required=True),
        "size_bytes": Col("float", required=True, positive=True), "metric": Col("str", required=True),
        "measured_low": Col("float", required=True, positive=True),
        "measured_high": Col("float", required=True, positive=True), "unit": Col("str", required=True),
        "calibrated": Col("bool", required=True), "model_scope": Col("str"),
    })


def rails_only_overhead_pct(size_bytes: float, hardware: Any, gpus: int) -> float:
    """All-to-all time on a rails-only fabric with PXN forwarding over the same all-to-all on a
    rail-optimized Clos (same NICs, cross-rail traffic straight over a spine), in percent."""
    hw = _fab.hardware_config(hardware)
    ro = dict(hw.to_dict(), fabric="rails-only", pxn=True)
    clos = dict(hw.to_dict(), fabric="rail-optimized", pxn=False)
    t_ro = collective("all_to_all", size_bytes, ro, gpus, "p2p").time_s
    t_clos = collective("all_to_all", size_bytes, clos, gpus, "p2p").time_s
    if t_clos <= 0.0:  # one rank: nothing moves on either fabric
        return 0.0
    return 100.0 * (t_ro / t_clos - 1.0)


def published_comparison() -> pl.DataFrame:
    """Model vs every published fact in data/network_measurements.csv → polars DataFrame
    (name, metric, predicted, measured_low, measured_high, error_pct vs the midpoint,
    within_range, calibrated, model_scope, source_url); a row with a ``model_scope`` is still
    compared and counted, its error read with that caveat."""
    import polars as pl

    rows = []
    for r in published_measurements().iter_rows(named=True):
        hw = {"accelerator": r["accelerator"], "nodes": r["nodes"], "nic": r["nic"]}
        if r["metric"] == "overhead_pct":
            pred = rails_only_overhead_pct(r["size_bytes"], hw, r["gpus"])
        else:
            c = collective(r["op"], r["size_bytes"], hw, r["gpus"], r["algorithm"])
            pred = c.busbw_Bps / 1e9
            if r["metric"] == "busbw_per_nic":
                pred /= _fab.hardware_config(hw).nics_per_node
            elif r["metric"] != "busbw":  # pragma: no cover - guarded by the data file
                raise ValidationError(f"{MEASUREMENTS_FILE.name}: unknown metric {r['metric']!r}")
        mid = (r["measured_low"] + r["measured_high"]) / 2
        rows.append({"name": r["name"], "metric": r["metric"], "unit": r["unit"], "predicted": pred,
                     "measured_low": r["measured_low"], "measured_high": r["measured_high"],
                     "error_pct": 100.0 * (pred - mid) / mid,
                     "within_range": r["measured_low"] <= pred <= r["measured_high"],
                     "calibrated": r["calibrated"], "model_scope": r["model_scope"] or "",
                     "source_url": r["source_url"]})
    return pl.DataFrame(rows)


# ---------------------------------------------------------------------------------------
# Validation against published nccl-tests / rccl-tests results
# ---------------------------------------------------------------------------------------
MEASUREMENT_SET_FILE = _fab.catalog.DATA_DIR / "measurements" / "collectives_published.csv"
SIZE_BANDS = ((0.0, 2.0**20, "< 1 MiB"), (2.0**20, 2.0**27, "1-128 MiB"), (2.0**27, math.inf, ">= 128 MiB"))


def measurement_set() -> pl.DataFrame:
    """data/measurements/collectives_published.csv: published nccl-tests / rccl-tests results,
    one row per size, with the train/test split and whether a row is scored
    (``use`` = "validate") or only shown ("context": no stated size, or a torch benchmark)."""
    C = _fab.catalog
    return C.read_table(MEASUREMENT_SET_FILE, {
        "case": C.Col("str", required=True), "source": C.Col("str", required=True),
        "tool": C.Col("str", required=True), "library": C.Col("str", required=True, choices=("nccl", "rccl")),
        "accelerator": C.Col("str", required=True), "model_nic": C.Col("str", required=True),
        "nodes": C.Col("int", required=True, positive=True),
        "gpus_per_node": C.Col("int", required=True, positive=True),
        "scaleup_domain": C.Col("int", required=True, positive=True),
        "nics_per_node": C.Col("int", required=True, positive=True), "pxn": C.Col("bool"),
        "gpus": C.Col("int", required=True, positive=True), "op": C.Col("str", required=True, choices=OPS),
        "algorithm": C.Col("str", required=True), "size_bytes": C.Col("float", required=True, positive=True),
        "busbw_GBps": C.Col("float", required=True, nonneg=True), "time_us": C.Col("float", positive=True),
        "split": C.Col("str", required=True, choices=("train", "test")),
        "use": C.Col("str", required=True, choices=("validate", "context")),
    })


def _row_hardware(r: dict) -> dict:
    hw = {"accelerator": r["accelerator"], "nodes": r["nodes"], "gpus_per_node": r["gpus_per_node"],
          "scaleup_domain": r["scaleup_domain"], "nic": r["model_nic"], "nics_per_node": r["nics_per_node"]}
    if r["pxn"] is not None:
        hw["pxn"] = r["pxn"]
    return hw


PRINTED_TOOLS = ("nccl-tests", "rccl-tests")   # print busbw with two decimals (src/common.cu)


def _rounding_error_pct(pred: float, low: float, high: float) -> float:
    """0 when ``pred`` lies in [low, high], else its distance to the nearer edge in percent of
    that edge."""
    if pred < low:
        return 100.0 * (pred - low) / low
    if pred > high:
        return 100.0 * (pred - high) / high
    return 0.0


def validation_table() -> pl.DataFrame:
    """Model vs every row of :func:`measurement_set` → polars DataFrame (case, library,
    accelerator, nodes, gpus, op, algorithm requested and chosen, protocol, size_bytes,
    size_band, measured / predicted busbw [GB/s], the interval the printed value stands for,
    error_pct, error_vs_printed_pct, split, use, tool, source_url).

    nccl-tests and rccl-tests print busbw with two decimals (GB/s), so a printed b stands for
    any busbw within half a unit of its last digit (``nccl_tests_busbw_rounding_Bps``,
    data/network_physics.csv): ``measured_low_GBps`` = b − 0.005, ``measured_high_GBps`` =
    b + 0.005 (other tools: the value itself). ``error_pct`` is scored on that interval: 0 when
    the prediction lies inside it, else the distance to the nearer edge in percent of that edge
    (a 64 B all-reduce printed as 0.01 GB/s is anything from 0.005 to 0.015 GB/s; against the
    printed 0.01 alone a prediction of 0.0048 GB/s read as −52 % though it is 3.5 % below the
    interval). ``error_vs_printed_pct`` = 100 (pred − b) / b keeps the plain comparison; the two
    differ by at most 100 × 0.005 / b percentage points (0.05 from 10 GB/s up). A printed 0.00
    has no error either way (``error_pct`` None)."""
    import polars as pl

    half = _phys("nccl_tests_busbw_rounding_Bps") / 1e9
    rows = []
    for r in measurement_set().iter_rows(named=True):
        hw = _row_hardware(r)
        c = collective(r["op"], r["size_bytes"], hw, r["gpus"], r["algorithm"])
        pred = c.busbw_Bps / 1e9
        meas = r["busbw_GBps"]
        h = half if r["tool"] in PRINTED_TOOLS else 0.0
        low, high = max(meas - h, 0.0), meas + h
        band = next(b for lo, hi, b in SIZE_BANDS if lo <= r["size_bytes"] < hi)
        rows.append({"case": r["case"], "library": r["library"], "accelerator": r["accelerator"],
                     "nodes": r["nodes"], "gpus": r["gpus"], "op": r["op"], "requested": r["algorithm"],
                     "chosen": c.algorithm, "protocol": c.protocol, "size_bytes": r["size_bytes"],
                     "size_band": band, "measured_GBps": meas, "predicted_GBps": pred,
                     "measured_low_GBps": low, "measured_high_GBps": high,
                     "error_pct": _rounding_error_pct(pred, low, high) if meas > 0 else None,
                     "error_vs_printed_pct": 100.0 * (pred - meas) / meas if meas > 0 else None,
                     "split": r["split"], "use": r["use"], "tool": r["tool"], "source_url": r["source_url"]})
    return pl.DataFrame(rows)


def validation_summary(table: pl.DataFrame | None = None) -> pl.DataFrame:
    """Median and worst |error| of the scored TEST rows by library, accelerator and size band
    → polars DataFrame (library, accelerator, size_band, cases, median_abs_error_pct,
    worst_abs_error_pct)."""
    import polars as pl

    t = validation_table() if table is None else table
    need = {"use", "split", "measured_GBps", "error_pct", "library", "accelerator", "size_band"}
    if not isinstance(t, pl.DataFrame) or not need <= set(t.columns):
        raise ValidationError(f"table = {t!r:.80}: expected a polars DataFrame like validation_table() "
                              f"(columns {', '.join(sorted(need))})")
    t = t.filter((pl.col("use") == "validate") & (pl.col("split") == "test") & (pl.col("measured_GBps") > 0))
    # bands from small to large messages (sorting their labels put "1-128 MiB" before "< 1 MiB")
    band_order = {label: i for i, (_lo, _hi, label) in enumerate(SIZE_BANDS)}
    return (t.with_columns(abs_err=pl.col("error_pct").abs())
             .group_by("library", "accelerator", "size_band", maintain_order=True)
             .agg(pl.len().alias("cases"), pl.col("abs_err").median().alias("median_abs_error_pct"),
                  pl.col("abs_err").max().alias("worst_abs_error_pct"))
             .sort("library", "accelerator", pl.col("size_band").replace_strict(band_order, default=len(band_order))))


def fit_physics() -> dict[str, float]:
    """Re-derive the fitted factors of data/network_physics.csv from the TRAINING rows of the
    measurement set (the tests check the file holds these values):

    * ``rccl_channel_Bps_simple``: 8 x MI300X all-reduce at 1–16 MiB runs RCCL's MSCCL
      all-pairs kernel on 8 channels, t = latency + 2(k−1)/k·S / (8·c); c by least squares
      on t − latency.
    * ``nvls_algbw_fraction_{hopper,blackwell}``: NVLS all-reduce at 8–16 GiB,
      t = latency + S / (f · B_nvlink) with B_nvlink = links × achieved link rate.
    """
    from ._kernels import collectives as K

    out: dict[str, float] = {}
    train = measurement_set().filter(measurement_set()["split"] == "train")
    xs, ys = [], []
    for r in train.filter(train["accelerator"] == "MI300X").iter_rows(named=True):
        n = k = r["gpus"]
        S = r["size_bytes"]
        t = 2.0 * (n - 1) / n * S / (r["busbw_GBps"] * 1e9)
        p = collective_time_params(_row_hardware(r)).array
        lat = K.latency(K.OP_ALL_REDUCE, K.ALG_ALLPAIRS, K.PROTO_SIMPLE, n, k, p, K.P_HWN)
        xs.append(2.0 * (k - 1) / k * S / _phys("rccl_allpairs_channels"))
        ys.append(t - lat)
    x, y = np.array(xs), np.array(ys)
    out["rccl_channel_Bps_simple"] = float((x @ x) / (x @ y))
    for acc, arch in (("H200-SXM", "hopper"), ("B200", "blackwell")):
        rows = train.filter(train["accelerator"] == acc)
        r = rows.row(0, named=True)
        n = r["gpus"]
        S = r["size_bytes"]
        t = 2.0 * (n - 1) / n * S / (r["busbw_GBps"] * 1e9)
        cp = collective_time_params(_row_hardware(r))
        lat = K.latency(K.OP_ALL_REDUCE, K.ALG_NVLS, K.PROTO_SIMPLE, n, n, cp.array, K.P_HWN)
        out[f"nvls_algbw_fraction_{arch}"] = float(S / (t - lat) / (cp.links_per_gpu * cp.link_Bps))
    for case, proto in (("mi355x-2n-ar-8", "LL"), ("mi355x-2n-ar-262144", "Simple")):
        r = train.filter(train["case"] == case).row(0, named=True)
        n, S = r["gpus"], r["size_bytes"]
        k = r["gpus_per_node"]
        t = 2.0 * (n - 1) / n * S / (r["busbw_GBps"] * 1e9) if r["busbw_GBps"] > 0 else r["time_us"] * 1e-6
        if r["time_us"] is not None:
            t = r["time_us"] * 1e-6
        P = np.array(collective_time_params(_row_hardware(r)).array)
        pi = PROTOCOLS.index(proto)
        P[K.P_HWN + 3 * K.ALG_TREE + pi] = 0.0
        P.setflags(write=False)   # read-only like every parameter vector: the kernel's one signature
        hops = 2 * int(math.ceil(math.log2(n // k)))
        rest = K.collective_cost(K.OP_ALL_REDUCE, K.ALG_TREE, pi, S, n, k, P)
        out[f"rccl_hw_net_tree_{proto}_us"] = float((t - rest) / hops * 1e6)
    return out
