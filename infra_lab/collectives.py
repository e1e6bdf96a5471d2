"""Collective-communication cost: α–β–γ models per algorithm, nccl-tests algbw/busbw, the
Chan et al. lower bounds and automatic algorithm choice.

The contract call::

    c = il.collective("all_reduce", size_bytes, hardware, gpus, algorithm="auto")
    c.time_s, c.algbw_Bps, c.busbw_Bps, c.algorithm

``hardware`` is the Scenario's [hardware] table (dict or HardwareConfig). Ranks are placed
node-major: a collective over ``gpus`` <= the scale-up domain stays inside one node (scale-up
only); over more it spans gpus / domain whole nodes. ``per_node`` places fewer ranks on each
node (e.g. a data-parallel group of one GPU per node).

Model (network.md §2, §5, §6, §7). Each algorithm's time is
``base + Σ steps × per-step latency + max(bytes / (protocol factor × bandwidth), γ × reduced bytes)``
(the reduction is pipelined with the transfers, so it overlaps them):

* latencies: NCCL (NVIDIA) or RCCL (AMD) base and per-hop constants for the protocol
  (LL, LL128, Simple), with NCCL's network post overhead on multi-node rings and one
  switch latency per extra switch hop; the fastest protocol is used.
* bandwidths: scale-up per GPU among k GPUs of a node — mesh (k − 1) × link, switch all
  links — at achieved rates (xGMI 46.55/64, NVLink per NCCL topo.h); scale-out per GPU
  (its share of the node's NICs) at 94 % of line rate (the 46–48 GB/s per 400G NIC
  expectation); the ring's per-rank bus bandwidth across nodes is min(k × NIC,
  B_up × k/(k−1)).
* algorithms: ring, tree (double binary tree), rhd (recursive halving/doubling,
  Rabenseifner), direct (one node: every peer at once), hierarchical (intra-node reduce-
  scatter → inter-node all-reduce per rail → intra-node all-gather, phases not overlapped),
  and for all-to-all: direct, pairwise, rail_aware (PXN-style forwarding through the
  scale-up fabric to the destination's rail — the only way on a rails-only fabric) and bruck.

Every number comes from ``data/network_constants.csv`` and the catalog. The same formulas
are a numba kernel (``infra_lab._kernels.fabric.collective_cost``) that takes plain floats:
:func:`collective_time_params` returns that parameter vector so a training-search kernel can
call ``best_collective(op_code, algo_code, size, n, k, params.array)`` directly.

>>> import infra_lab as il
>>> hw = {"accelerator": "MI300X", "nodes": 1}
>>> c = il.collective("all_reduce", 2**30, hw, 8)
>>> c.algorithm, round(c.busbw_Bps / 1e9)
('direct', 325)
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import cache

import numpy as np

from . import fabric as _fab
from .errors import ValidationError, check_positive, unknown
from .scenario import HardwareConfig

OPS = ("all_reduce", "reduce_scatter", "all_gather", "broadcast", "all_to_all", "send_recv")
ALGORITHMS = ("ring", "tree", "rhd", "direct", "hierarchical", "pairwise", "rail_aware", "bruck")
PROTOCOLS = ("LL", "LL128", "Simple")
ALGORITHM_ALIASES = {
    "double_binary_tree": "tree", "recursive_halving_doubling": "rhd", "rabenseifner": "rhd",
    "recursive_doubling": "rhd", "mesh": "direct", "rail": "rail_aware", "pxn": "rail_aware",
}

__all__ = [
    "OPS", "ALGORITHMS", "PROTOCOLS", "CollectiveResult", "CollectiveParams", "collective",
    "collective_time_params", "busbw_factor", "lower_bound", "sweep", "algorithm_table",
    "applicable_algorithms", "published_measurements", "published_comparison",
]


def busbw_factor(op: str, n: int) -> float:
    """nccl-tests bus-bandwidth factor F (busbw = algbw × F) for ``op`` over ``n`` ranks.

    all_reduce 2(n−1)/n; reduce_scatter, all_gather, all_to_all (n−1)/n; broadcast,
    send_recv 1 (NVIDIA/nccl-tests doc/PERFORMANCE.md).
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
    if not isinstance(algorithm, str):
        raise unknown("algorithm", algorithm, ("auto", *ALGORITHMS))
    a = algorithm.lower()
    a = ALGORITHM_ALIASES.get(a, a)
    if a != "auto" and a not in ALGORITHMS:
        raise unknown("algorithm", algorithm, ("auto", *ALGORITHMS, *ALGORITHM_ALIASES))
    return a


# ---------------------------------------------------------------------------------------
# Parameters as plain floats
# ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class CollectiveParams:
    """The α/β/γ numbers of one hardware configuration as plain floats.

    ``array`` is the float64 vector the numba kernels take (index names ``P_*`` in
    ``infra_lab._kernels.fabric``); the named fields are the same numbers for reading.

    Attributes
    ----------
    library : "nccl" | "rccl" (latency tables used)
    domain : GPUs per scale-up domain [-]
    mesh : True for a full mesh (xGMI)
    link_Bps : achieved scale-up link bandwidth, one direction [B/s]
    links_per_gpu : scale-up links per GPU [-]
    nic_per_gpu_Bps : achieved scale-out bandwidth per GPU [B/s]
    gamma_s_per_B : reduction cost [s/B]
    switch_hop_s : latency added per network step for switch hops beyond the first [s]
    """

    library: str
    domain: int
    mesh: bool
    link_Bps: float
    links_per_gpu: int
    nic_per_gpu_Bps: float
    gamma_s_per_B: float
    switch_hop_s: float
    array: np.ndarray = field(repr=False, compare=False)

    def scaleup_Bps(self, k: int) -> float:
        """Scale-up bandwidth of one GPU among k GPUs of its domain [B/s]."""
        if k < 2:
            return 0.0
        return (k - 1) * self.link_Bps if self.mesh else self.links_per_gpu * self.link_Bps


def collective_time_params(hardware, fabric_efficiency: float = 1.0,
                           radix: int | None = None) -> CollectiveParams:
    """α/β/γ parameters of ``hardware`` as floats for the numba cost kernels.

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
    if not (isinstance(fabric_efficiency, (int, float)) and 0 < fabric_efficiency <= 1):
        raise ValidationError(f"fabric_efficiency = {fabric_efficiency!r}: allowed 0 < x <= 1")
    return _params(hw, float(fabric_efficiency), radix)


@cache
def _params(hw: HardwareConfig, fabeff: float, radix: int | None) -> CollectiveParams:
    from ._kernels import fabric as K

    c = _fab.constant
    su = _fab.scaleup(hw)
    so = _fab.scaleout(hw, radix)
    lib = "rccl" if hw.accelerator_spec.vendor.upper() == "AMD" else "nccl"
    tiers = _fab.switch_counts(hw, radix)["tiers"]
    hops = 2 * tiers - 1  # switches on the longest path
    P = np.zeros(K.P_SIZE)
    P[K.P_G] = hw.domain_gpus
    P[K.P_MESH] = 1.0 if su.topology == "mesh" else 0.0
    P[K.P_LINK] = su.link_Bps
    P[K.P_NLINKS] = su.links_per_gpu
    P[K.P_BNIC] = so.gpu_Bps
    P[K.P_GAMMA] = c("reduce_hbm_bytes_per_byte") / hw.accelerator_spec.hbm_bw_Bps
    P[K.P_LATINTER] = (hops - 1) * c("switch_latency_s")
    P[K.P_NETOVH] = _fab.net_overhead_s(hw.host_cpu)
    P[K.P_FABRIC] = _fab.FABRIC_KINDS.index(hw.fabric)
    P[K.P_OVERSUB] = hw.oversubscription
    for ci, cls in enumerate(("ring", "tree")):
        for pi, proto in enumerate(PROTOCOLS):
            j = ci * 3 + pi
            P[K.P_BASE + j] = c(f"{lib}_base_{cls}_{proto}_s")
            P[K.P_HWI + j] = c(f"{lib}_hw_intra_{cls}_{proto}_s")
            P[K.P_HWN + j] = c(f"{lib}_hw_net_{cls}_{proto}_s")
            P[K.P_BWF + j] = c(f"{lib}_bwf_{cls}_{proto}")
    le2 = f"{lib}_bwf_tree_Simple_le2"
    P[K.P_BWF_TREE_SIMPLE_LE2] = c(le2) if le2 in _fab._constants_dict() else P[K.P_BWF + 5]
    P[K.P_FABEFF] = fabeff
    P[K.P_TREE_SINGLE_OK] = 0.0 if lib == "rccl" else 1.0
    P.setflags(write=False)
    return CollectiveParams(lib, su.domain, su.topology == "mesh", su.link_Bps, su.links_per_gpu,
                            so.gpu_Bps, P[K.P_GAMMA], P[K.P_LATINTER], P)


# ---------------------------------------------------------------------------------------
# The contract call
# ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class CollectiveResult:
    """Cost of one collective.

    Attributes
    ----------
    op, algorithm, protocol : what ran ("auto" resolved to the fastest)
    size_bytes : S as nccl-tests defines it for ``op`` [B]
    gpus : ranks [-]; nodes : nodes spanned [-]; per_node : ranks per node [-]
    time_s : [s]; algbw_Bps = S / time [B/s]; busbw_Bps = algbw × F [B/s]
    lower_bound_s : Chan et al. bound in the same model [s]
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


def _placement(hw: HardwareConfig, gpus, per_node) -> tuple[int, int]:
    if isinstance(gpus, bool) or not isinstance(gpus, (int, np.integer)) or gpus < 1:
        raise ValidationError(f"gpus = {gpus!r}: expected a positive integer number of ranks")
    gpus = int(gpus)
    world = hw.world_size
    if gpus > world:
        raise ValidationError(
            f"gpus = {gpus}: larger than the cluster ({hw.nodes} nodes × {hw.gpus_per_node} = {world} GPUs)"
        )
    D = hw.domain_gpus  # the job's GPUs in one scale-up domain
    if per_node is None:
        if gpus <= D:
            return gpus, gpus
        if gpus % D:
            raise ValidationError(
                f"gpus = {gpus}: ranks are placed domain-major, so a collective beyond one scale-up "
                f"domain ({D} of the job's GPUs) needs a multiple of {D}; pass per_node= for other placements"
            )
        return gpus, D
    if isinstance(per_node, bool) or not isinstance(per_node, (int, np.integer)) or not 1 <= per_node <= D:
        raise ValidationError(f"per_node = {per_node!r}: allowed 1..{D} (the job's GPUs in one scale-up domain)")
    if gpus % per_node:
        raise ValidationError(f"gpus = {gpus}: must be a multiple of per_node = {per_node}")
    if gpus // per_node > world // D:
        raise ValidationError(
            f"gpus = {gpus} at per_node = {per_node} spans {gpus // per_node} scale-up domains; "
            f"the job has {world // D}"
        )
    return gpus, int(per_node)


def collective(op: str, size_bytes: float, hardware, gpus: int, algorithm: str = "auto", *,
               per_node: int | None = None, fabric_efficiency: float = 1.0,
               radix: int | None = None) -> CollectiveResult:
    """Time, algbw and busbw of one collective.

    Parameters
    ----------
    op : "all_reduce" | "reduce_scatter" | "all_gather" | "broadcast" | "all_to_all" | "send_recv"
    size_bytes : S as nccl-tests defines it [B] (all_reduce/broadcast/send_recv: the buffer;
        reduce_scatter/all_gather: the whole array; all_to_all: each rank's send buffer)
    hardware : the Scenario's [hardware] table (dict) or HardwareConfig
    gpus : ranks in the collective [-], placed node-major
    algorithm : "auto" (fastest applicable) or one of :data:`ALGORITHMS`
    per_node : ranks per node when not packed node-major [-]
    fabric_efficiency : achieved fraction of NIC bandwidth after routing [-]
    radix : switch ports [-] (sets switch hops)

    Returns
    -------
    CollectiveResult

    Raises
    ------
    ValidationError : negative or non-finite size, gpus beyond the cluster, an algorithm
        that cannot run this op on this placement/fabric
    UnknownNameError : unknown op or algorithm

    Notes
    -----
    algbw = S / t and busbw = algbw × F with F from :func:`busbw_factor` (nccl-tests).

    Examples
    --------
    >>> import infra_lab as il
    >>> hw = {"accelerator": "H100", "nodes": 1, "nic": "ConnectX-7"}
    >>> round(il.collective("all_reduce", 2**30, hw, 8).busbw_Bps / 1e9)
    370
    """
    from ._kernels import fabric as K

    op_ = _op(op)
    algo = _algo(algorithm)
    if isinstance(size_bytes, bool) or not isinstance(size_bytes, (int, float, np.integer, np.floating)):
        raise ValidationError(f"size_bytes = {size_bytes!r}: expected a number of bytes >= 0")
    size = float(size_bytes)
    if not math.isfinite(size) or size < 0:
        raise ValidationError(f"size_bytes = {size_bytes!r}: expected a finite number of bytes >= 0")
    hw = _fab.hardware_config(hardware)
    n, k = _placement(hw, gpus, per_node)
    p = collective_time_params(hw, fabric_efficiency, radix)
    code = OPS.index(op_)
    a_code = -1 if algo == "auto" else ALGORITHMS.index(algo)
    t, a, pr = K.best_collective(code, a_code, size, n, k, p.array)
    if not math.isfinite(t):
        raise ValidationError(
            f"algorithm = {algorithm!r} cannot run {op_} over {n} GPUs ({n // k} node(s) × {k}) on a "
            f"{hw.fabric} fabric; applicable: {', '.join(applicable_algorithms(op_, hw, n, per_node))}"
        )
    lat, bw, red = K.lower_bound(code, size, n, k, p.array)
    # one rank moves nothing: time 0 and no bandwidth (reported as 0, never S/0)
    algbw = size / t if t > 0 else 0.0
    busbw = algbw * busbw_factor(op_, n)
    return CollectiveResult(op_, size, n, ALGORITHMS[a] if n > 1 else "none",
                            PROTOCOLS[pr] if n > 1 else "none", float(t), algbw, busbw, n // k, k,
                            float(lat + max(bw, red)), p.library)


def applicable_algorithms(op: str, hardware, gpus: int, per_node: int | None = None) -> list[str]:
    """Algorithms that can run ``op`` over ``gpus`` ranks of ``hardware``."""
    from ._kernels import fabric as K

    hw = _fab.hardware_config(hardware)
    n, k = _placement(hw, gpus, per_node)
    p = collective_time_params(hw)
    code = OPS.index(_op(op))
    return [a for i, a in enumerate(ALGORITHMS)
            if math.isfinite(K.best_collective(code, i, 1e6, n, k, p.array)[0])]


def lower_bound(op: str, size_bytes: float, hardware, gpus: int, *, per_node: int | None = None) -> dict:
    """Chan, Heimlich, Purkayastha & van de Geijn (2007) lower bounds in this model.

    Returns {"latency_s", "bandwidth_s", "compute_s", "total_s"}: latency ⌈lg N⌉ network
    steps (one scale-up round, the scale-up fabric reaching every peer at once); bandwidth
    F_op·S over a rank's whole injection bandwidth (scale-up + NIC) and, across nodes, the
    node's NICs; reduction ((n−1)/n)·S·γ. Every algorithm's modelled time is at least
    latency + max(bandwidth, reduction): pipelined implementations overlap the reduction
    with the transfers, so γ and β terms combine by max, not by sum.
    """
    from ._kernels import fabric as K

    hw = _fab.hardware_config(hardware)
    n, k = _placement(hw, gpus, per_node)
    p = collective_time_params(hw)
    size = float(check_positive("size_bytes", size_bytes, allow_zero=True))
    lat, bw, red = K.lower_bound(OPS.index(_op(op)), size, n, k, p.array)
    return {"latency_s": lat, "bandwidth_s": bw, "compute_s": red, "total_s": lat + max(bw, red)}


def sweep(op: str, sizes, hardware, gpus: int, algorithms=("auto",), *,
          per_node: int | None = None, fabric_efficiency: float = 1.0):
    """Collective cost over message sizes and algorithms → polars DataFrame with columns
    op, algorithm (requested), chosen, protocol, size_bytes, gpus, nodes, time_s, algbw_GBps,
    busbw_GBps, lower_bound_s, accelerator. Inapplicable algorithms are skipped."""
    import polars as pl

    hw = _fab.hardware_config(hardware)
    rows = []
    for algo in algorithms:
        for s in sizes:
            try:
                c = collective(op, float(s), hw, gpus, algo, per_node=per_node,
                               fabric_efficiency=fabric_efficiency)
            except ValidationError:
                if algo == "auto":
                    raise
                break
            rows.append({"op": c.op, "algorithm": algo, "chosen": c.algorithm, "protocol": c.protocol,
                         "size_bytes": float(s), "gpus": c.gpus, "nodes": c.nodes, "time_s": c.time_s,
                         "algbw_GBps": c.algbw_Bps / 1e9, "busbw_GBps": c.busbw_Bps / 1e9,
                         "lower_bound_s": c.lower_bound_s, "accelerator": hw.accelerator})
    return pl.DataFrame(rows)


def algorithm_table(op: str, size_bytes: float, hardware, gpus: int, *, per_node: int | None = None):
    """Every applicable algorithm's cost for one case → polars DataFrame, fastest first."""
    import polars as pl

    hw = _fab.hardware_config(hardware)
    rows = []
    for a in applicable_algorithms(op, hw, gpus, per_node):
        c = collective(op, size_bytes, hw, gpus, a, per_node=per_node)
        rows.append({"algorithm": a, "protocol": c.protocol, "time_s": c.time_s,
                     "busbw_GBps": c.busbw_Bps / 1e9, "lower_bound_s": c.lower_bound_s})
    return pl.DataFrame(rows).sort("time_s")


MEASUREMENTS_FILE = _fab.catalog.DATA_DIR / "network_measurements.csv"


def published_measurements():
    """data/network_measurements.csv: published collective bandwidths and fabric facts."""
    from .catalog import Col, read_table

    return read_table(MEASUREMENTS_FILE, {
        "name": Col("str", required=True), "accelerator": Col("str", required=True),
        "nic": Col("str", required=True), "nodes": Col("int", required=True, positive=True),
        "gpus": Col("int", required=True, positive=True), "op": Col("str", required=True, choices=OPS),
        "size_bytes": Col("float", required=True, positive=True), "metric": Col("str", required=True),
        "measured_low": Col("float", required=True, positive=True),
        "measured_high": Col("float", required=True, positive=True), "unit": Col("str", required=True),
        "calibrated": Col("bool", required=True),
    })


def published_comparison():
    """Model vs every published measurement in data/network_measurements.csv → polars
    DataFrame (name, metric, predicted, measured_low, measured_high, error_pct vs the
    midpoint, within_range, calibrated, source_url)."""
    import polars as pl

    rows = []
    for r in published_measurements().iter_rows(named=True):
        fabric = "rails-only"
        hw = {"accelerator": r["accelerator"], "nodes": r["nodes"], "nic": r["nic"], "fabric": fabric}
        c = collective(r["op"], r["size_bytes"], hw, r["gpus"])
        if r["metric"] == "busbw":
            pred = c.busbw_Bps / 1e9
        elif r["metric"] == "busbw_per_nic":
            pred = c.busbw_Bps / 1e9 / _fab.hardware_config(hw).nics_per_node
        elif r["metric"] == "overhead_pct":
            clos = dict(hw, fabric="rail-optimized")
            t_clos = collective(r["op"], r["size_bytes"], clos, r["gpus"], "direct").time_s
            pred = 100.0 * (c.time_s / t_clos - 1.0)
        else:  # pragma: no cover - guarded by the data file
            raise ValidationError(f"{MEASUREMENTS_FILE.name}: unknown metric {r['metric']!r}")
        mid = 0.5 * (r["measured_low"] + r["measured_high"])
        rows.append({"name": r["name"], "metric": r["metric"], "unit": r["unit"], "predicted": pred,
                     "measured_low": r["measured_low"], "measured_high": r["measured_high"],
                     "error_pct": 100.0 * (pred - mid) / mid,
                     "within_range": r["measured_low"] <= pred <= r["measured_high"],
                     "calibrated": r["calibrated"], "source_url": r["source_url"]})
    return pl.DataFrame(rows)
