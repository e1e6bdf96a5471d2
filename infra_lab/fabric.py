"""Links, topologies and a flow-level simulation of the scale-up and scale-out fabrics.

Scale-up (inside a node or NVLink domain): :func:`scaleup` describes either a full mesh
(AMD MI300X: 7 xGMI links per GPU, one to each peer, so a collective among k GPUs of the
node has only k − 1 links per GPU) or a switched NVLink/NVSwitch domain (H100/H200/B200:
every GPU drives its full NVLink bandwidth to any set of peers; NVL72 domains of 72 GPUs).
Achieved link rates are raw rates times efficiencies read from ``data/network_constants.csv``.

Scale-out (between nodes): :func:`scaleout` gives NICs per node, line rate and achieved
rate; :class:`Fabric` builds the switches and directed links of a rails-only fabric (GPU i of
every node on rail i, each rail its own one- or two-level network, no spine shared between
rails), a rail-optimized leaf–spine Clos (rail leaves, shared spines) or a fat-tree (leaves
per group of nodes) with an oversubscription ratio and a switch radix; :meth:`Fabric.paths`
lists the equal-cost paths between two GPUs and :func:`switch_counts` counts switches.

Flow-level simulation: :func:`step_flows` builds the flows of one collective step (NCCL-style
multi-channel ring, per-rail hierarchical ring or halving/doubling step, all-to-all pairs);
:func:`simulate_step` routes them (ECMP with a per-flow hash and seed, optionally several
queue pairs per connection; packet spraying, each flow split evenly over all equal-cost
paths; adaptive least-loaded choice), computes max-min fair rates by progressive filling and
runs a fluid simulation to the step's completion; :func:`monte_carlo` repeats it over hash
seeds. The max-min kernel (numba) has a plain-Python twin
(``infra_lab._kernels.fabric.maxmin_rates_reference``), the routing kernel one that routes on an
explicit graph of the fabric's named links
(``infra_lab._kernels.fabric_reference.route_flows_reference``), and the tests check they agree.

>>> import infra_lab as il
>>> su = il.fabric.scaleup({"accelerator": "MI300X"})
>>> round(su.bandwidth_Bps(8) / 1e9, 1), round(su.bandwidth_Bps(2) / 1e9, 1)
(325.9, 46.6)
>>> fab = il.fabric.Fabric.build({"accelerator": "MI300X", "nodes": 128, "nic": "Pollara-400",
...                               "fabric": "rails-only"})
>>> fab.tiers, len(fab.paths(0, 8 * 64))   # GPU 0 of node 0 -> GPU 0 of node 64: 32 spines
(2, 32)
"""

from __future__ import annotations

import math
import numbers
import re
import warnings
from dataclasses import dataclass, field
from functools import cache
from typing import TYPE_CHECKING, Any

import numpy as np

from . import _validate as V
from . import catalog
from ._repr import Printout
from .errors import NicFeatureWarning, ValidationError, check_positive, unknown, user_stacklevel
from .scenario import HardwareConfig, as_hardware

if TYPE_CHECKING:
    import polars as pl

CONSTANTS_FILE = catalog.DATA_DIR / "network_constants.csv"
FABRIC_KINDS = ("rails-only", "rail-optimized", "fat-tree")
ROUTINGS = ("ecmp", "spray", "adaptive")
PATTERNS = ("ring", "rail_ring", "halving_doubling", "all_to_all")
COMPLETIONS = ("fluid", "static")

__all__ = [
    "network_constants", "constant", "hardware_config", "ScaleUp", "ScaleOut", "scaleup",
    "scaleout", "Fabric", "switch_counts", "Flows", "step_flows", "StepResult", "route",
    "solve_rates", "simulate_step", "monte_carlo", "spray_note", "balls_into_bins", "ROUTINGS", "PATTERNS",
    "FABRIC_KINDS", "link_counts", "platform", "host_cpu", "net_overhead_s", "published_switch_counts",
]


# ---------------------------------------------------------------------------------------
# Constants
# ---------------------------------------------------------------------------------------
@cache
def network_constants():
    """data/network_constants.csv as a polars DataFrame (name, value, unit, source_url, note)."""
    return catalog.read_table(CONSTANTS_FILE, {
        "name": catalog.Col("str", required=True),
        "value": catalog.Col("float", required=True, nonneg=True),
        "unit": catalog.Col("str", required=True),
    })


@cache
def _constants_dict() -> dict[str, float]:
    t = network_constants()
    return dict(zip(t["name"].to_list(), t["value"].to_list(), strict=True))


def constant(name: str) -> float:
    """One network constant by name, in the unit of its ``unit`` column (SI)."""
    d = _constants_dict()
    if not isinstance(name, str) or name not in d:
        raise unknown("network constant", name, d)
    return float(d[name])


PLATFORMS_FILE = catalog.DATA_DIR / "network_platforms.csv"
HOST_CPUS_FILE = catalog.DATA_DIR / "network_host_cpus.csv"


@cache
def _platforms() -> dict[str, dict]:
    t = catalog.read_table(PLATFORMS_FILE, {
        "accelerator": catalog.Col("str", required=True),
        "node_gpus": catalog.Col("int", required=True, positive=True),
        "library": catalog.Col("str", required=True, choices=("nccl", "rccl")),
        "default_host_cpu": catalog.Col("str", required=True),
        "host_integrated": catalog.Col("bool", required=True),
        "nvls": catalog.Col("bool", required=True),
        "nccl_arch": catalog.Col("str", choices=("volta", "ampere", "hopper", "blackwell")),
        "rccl_tuning_model": catalog.Col("int", positive=True),
        "ring_channels": catalog.Col("int", required=True, positive=True),
        "msccl_allpairs": catalog.Col("bool", required=True),
        "basis": catalog.Col("str", required=True, choices=("measured", "assumption")),
    })
    return {r["accelerator"]: r for r in t.iter_rows(named=True)}


def platform(accelerator: str) -> dict:
    """The node platform of an accelerator (data/network_platforms.csv): ``node_gpus``
    (physical GPUs per server or compute tray), ``library`` ("nccl" | "rccl"),
    ``default_host_cpu``, ``host_integrated`` (True where the host CPU is part of the
    accelerator's module, GB200/GB300's Grace: then ``default_host_cpu`` is the only host it can
    have), ``nvls`` (NVSwitch with in-switch reduction), ``source_url``."""
    canon = catalog.canonical_accelerator(accelerator)
    p = _platforms()
    if canon not in p:
        raise ValidationError(f"accelerator {canon}: no row in {PLATFORMS_FILE.name}; add its node platform")
    return dict(p[canon])


@cache
def _host_cpus():
    return catalog.read_table(HOST_CPUS_FILE, {
        "name": catalog.Col("str", required=True), "aliases": catalog.Col("str"),
        "vendor": catalog.Col("str", required=True, choices=("Intel", "AMD", "NVIDIA", "IBM")),
        "arch": catalog.Col("str", required=True, choices=("x86", "arm", "power")),
    })


@cache
def _host_cpu_rows() -> tuple[dict[str, str], dict[str, dict]]:
    t = _host_cpus()
    return catalog._index(t), {r["name"]: r for r in t.iter_rows(named=True)}


def host_cpu(name: str, *, where: str = "hardware.host_cpu") -> dict:
    """A host CPU by name or alias (data/network_host_cpus.csv): name, vendor, arch.
    ``where``: the field an unknown name is reported in."""
    if not isinstance(name, str):
        raise ValidationError(f"{where} = {name!r}: expected a host CPU name (string)")
    idx, rows = _host_cpu_rows()
    canon = idx.get(name.strip().lower())
    if canon is None:
        raise unknown("host CPU", name, list(rows), where=where, aliases=idx)
    return dict(rows[canon])


def net_overhead_s(host: str) -> float:
    """NCCL/RCCL ``getNetOverhead()`` for a host CPU [s]: 1 µs on Intel x86, 2 µs on AMD x86,
    1 µs otherwise (Arm, POWER), per network message posted by the proxy thread.

    APPROXIMATE — a library tuning constant, not a measurement. Both libraries use it only in
    the ring latency of their tuning model (``ncclTopoTuneModel``: a multi-node ring step costs
    at least this, ×3 for Simple), which picks the algorithm and protocol; no published
    measurement of the values or of the Intel/AMD difference was found (sources in
    data/network_constants.csv). The collective cost model prices it as a real cost: in the ring
    step latency as the libraries' model has it, and (the model's own uses) once per network
    chunk on the bandwidth and once per remote message of an all-to-all or send/recv, so a host's
    vendor moves latency-bound collectives (ZAYA1's 1,024-rank data-parallel rings: notebook 04
    §3). Read the Intel/AMD difference as a sensitivity."""
    h = host_cpu(host)
    if h["arch"] == "x86" and h["vendor"] == "Intel":
        return constant("net_overhead_intel_x86_s")
    if h["arch"] == "x86" and h["vendor"] == "AMD":
        return constant("net_overhead_amd_x86_s")
    return constant("net_overhead_other_s")


def hardware_config(hardware: Any) -> HardwareConfig:
    """Validate a [hardware] table (dict) or pass a HardwareConfig, a Fabric's or a Scenario's
    hardware through: :func:`infra_lab.scenario.as_hardware`, the one coercion."""
    return as_hardware(hardware)


# ---------------------------------------------------------------------------------------
# Scale-up and scale-out descriptions
# ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ScaleUp(Printout):
    """The scale-up fabric of one accelerator type.

    Attributes
    ----------
    topology : "mesh" (point-to-point links to every peer) or "switch" (NVSwitch)
    domain : GPUs sharing the scale-up fabric [-]
    links_per_gpu : scale-up links of one GPU [-]
    link_raw_Bps : raw rate of one link, one direction [B/s]
    efficiency : achieved / raw [-] (xGMI: TransferBench 46.55/64; NVLink: NCCL topo.h)
    """

    accelerator: str
    tech: str
    topology: str
    domain: int
    links_per_gpu: int
    link_raw_Bps: float
    efficiency: float

    @property
    def link_Bps(self) -> float:
        """Achieved rate of one link, one direction [B/s]."""
        return self.link_raw_Bps * self.efficiency

    @property
    def gpu_Bps(self) -> float:
        """Achieved scale-up bandwidth of one GPU over all its links, one direction [B/s]."""
        return self.links_per_gpu * self.link_Bps

    def bandwidth_Bps(self, k: int) -> float:
        """Bandwidth one GPU can drive to the other k − 1 GPUs of a k-GPU group [B/s].

        On a mesh only the k − 1 links to the group's members help; through a switch the
        whole NVLink bandwidth is usable whatever k (k >= 2). ``k`` is a whole number of GPUs
        from 1 to the scale-up domain (a larger group is not joined by this fabric alone)."""
        if (isinstance(k, bool) or not isinstance(k, numbers.Real) or k != k or int(k) != k
                or not 1 <= k <= self.domain):
            raise ValidationError(f"bandwidth_Bps: k = {k!r}: expected a whole number of GPUs from 1 to "
                                  f"the {self.accelerator} scale-up domain of {self.domain}")
        k = int(k)
        if k < 2:
            return 0.0
        if self.topology == "mesh":
            return min(k - 1, self.links_per_gpu) * self.link_Bps
        return self.gpu_Bps


def _scaleup_efficiency(acc: catalog.Accelerator) -> float:
    if acc.scaleup_topology == "mesh":
        return constant("xgmi_efficiency")
    if "infinity fabric" in acc.scaleup_tech.lower():
        # Switched Infinity Fabric (MI450X Helios: "UALink protocol over Ethernet"): no
        # measurement of its own is public; the measured xGMI link efficiency is the nearest.
        return constant("xgmi_efficiency")
    m = re.search(r"nvlink\s*(\d)", acc.scaleup_tech.lower())
    if m and f"nvlink{m.group(1)}_efficiency" in _constants_dict():
        return constant(f"nvlink{m.group(1)}_efficiency")
    raise ValidationError(
        f"accelerator {acc.name}: no scale-up efficiency for {acc.scaleup_tech!r}; "
        f"add a row nvlinkN_efficiency to {CONSTANTS_FILE.name}"
    )


def scaleup(hardware: Any) -> ScaleUp:
    """Scale-up fabric of the hardware's accelerator ([hardware] dict or HardwareConfig)."""
    hw = hardware_config(hardware)
    acc = hw.accelerator_spec
    return ScaleUp(acc.name, acc.scaleup_tech, acc.scaleup_topology, int(hw.scaleup_domain),
                   int(acc.scaleup_links), acc.scaleup_link_bw_Bps, _scaleup_efficiency(acc))


@dataclass(frozen=True)
class ScaleOut(Printout):
    """Scale-out (back-end) network of a cluster.

    The per-GPU scale-out rate has this one owner (:attr:`gpu_Bps`); the collective model
    (:func:`infra_lab.collectives.collective_time_params`), and through it the training step
    and serving, and the flow-level :class:`Fabric` read it from here. GPU-direct RDMA between
    a GPU's memory and its NICs crosses the GPU's host link (PCIe x16 on HGX and MI300-series
    boards, through the board's PCIe switch), so a GPU's usable scale-out rate is
    min(its share of the node's NIC line rate, its host link's one-direction line rate) times
    the achieved fraction ``efficiency``. The cap is per GPU path: a GPU with two NICs still
    has one x16 link. Where the data publish no GPU-to-NIC path
    (:func:`infra_lab.catalog.nic_host_link` is None) ``host_link_Bps`` is infinite.

    Attributes
    ----------
    nic : catalog NIC name
    nics_per_node : back-end NICs per node [-]
    gpus_per_node : GPUs per node [-]
    line_rate_Bps : NIC line rate, one direction [B/s]
    efficiency : achieved bus bandwidth / line rate [-] (46–48 GB/s per 400G NIC); applied to
        whichever line rate binds (no measured GPU-to-NIC PCIe rate is in the data)
    fabric : "rails-only" | "rail-optimized" | "fat-tree"
    oversubscription : leaf down/up ratio [-]
    radix : switch ports at the NIC line rate [-]
    host_link : name of the GPU's link to its NICs ("" where none is published)
    host_link_Bps : that link's line rate per GPU, one direction [B/s] (inf: not capped)
    """

    nic: str
    nics_per_node: int
    gpus_per_node: int
    line_rate_Bps: float
    efficiency: float
    fabric: str
    oversubscription: float
    radix: int
    host_link: str = ""
    host_link_Bps: float = float("inf")

    def __post_init__(self):
        for name in ("nics_per_node", "gpus_per_node"):
            check_positive(name, getattr(self, name), integer=True)
        check_positive("line_rate_Bps", self.line_rate_Bps)
        v = self.efficiency
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not 0 < v <= 1:
            raise ValidationError(f"efficiency = {v!r}: allowed 0 < x <= 1 (achieved / line rate)")
        h = self.host_link_Bps
        if isinstance(h, bool) or not isinstance(h, (int, float)) or not h > 0 or h != h:
            raise ValidationError(f"host_link_Bps = {h!r}: allowed a rate > 0 B/s, or inf for no host-link cap")

    @property
    def nic_Bps(self) -> float:
        """Achieved rate of one NIC at its line rate, one direction [B/s] (before the host-link
        cap; :attr:`nic_path_Bps` is the capped figure)."""
        return self.line_rate_Bps * self.efficiency

    @property
    def line_per_gpu_Bps(self) -> float:
        """A GPU's share of its node's NIC line rate, one direction [B/s]."""
        return self.nics_per_node * self.line_rate_Bps / self.gpus_per_node

    @property
    def capped(self) -> bool:
        """True when the host link, not the NICs, bounds a GPU's scale-out rate."""
        return self.host_link_Bps < self.line_per_gpu_Bps

    @property
    def limit(self) -> str:
        """What bounds a GPU's scale-out rate: "host link" or "NIC"."""
        return "host link" if self.capped else "NIC"

    @property
    def gpu_Bps(self) -> float:
        """Achieved scale-out bandwidth per GPU, one direction [B/s]:
        min(NIC line rate share, host link) × efficiency."""
        return min(self.line_per_gpu_Bps, self.host_link_Bps) * self.efficiency

    @property
    def node_Bps(self) -> float:
        """Achieved scale-out bandwidth of a node [B/s]."""
        return self.gpu_Bps * self.gpus_per_node

    @property
    def nic_path_Bps(self) -> float:
        """Achieved rate of one NIC once the host links that feed it cap it, one direction [B/s]."""
        return self.node_Bps / self.nics_per_node

    def note(self) -> str:
        """One sentence on what bounds the per-GPU rate (for collective results and reports)."""
        G = 1e9
        nics = (f"{self.nics_per_node} x {self.nic} per {self.gpus_per_node} GPUs = "
                f"{self.line_per_gpu_Bps / G:.0f} GB/s line rate per GPU")
        if self.capped:
            return (f"scale-out per GPU capped by its host link: {self.host_link} {self.host_link_Bps / G:.0f} GB/s "
                    f"each way < {nics}; achieved {self.gpu_Bps / G:.1f} GB/s (x {self.efficiency:.2f})")
        if self.host_link:
            return (f"scale-out per GPU bound by the NICs: {nics} <= {self.host_link} "
                    f"{self.host_link_Bps / G:.0f} GB/s each way; achieved {self.gpu_Bps / G:.1f} GB/s")
        return (f"scale-out per GPU bound by the NICs: {nics}; no GPU-to-NIC host link published for this "
                f"accelerator (not capped); achieved {self.gpu_Bps / G:.1f} GB/s")


def _radix(radix) -> int:
    if radix is None:
        return int(constant("switch_radix_ports"))
    r = int(check_positive("radix", radix, integer=True))
    lo, hi = int(constant("switch_radix_min")), int(constant("switch_radix_max"))
    if r % 2 or not lo <= r <= hi:
        raise ValidationError(f"radix = {radix!r}: allowed an even number of switch ports {lo}..{hi} "
                              f"(switch_radix_min/max in {CONSTANTS_FILE.name})")
    return r


def scaleout(hardware: Any, radix: int | None = None) -> ScaleOut:
    """Scale-out network of the hardware; ``radix`` [ports] defaults to the constants file.
    The GPU's host link (:func:`infra_lab.catalog.nic_host_link`) caps the per-GPU rate.

    >>> so = scaleout({"accelerator": "MI300X", "nic": "Vulcano-800"})
    >>> so.limit, round(so.gpu_Bps / 1e9, 1)
    ('host link', 60.2)
    """
    hw = hardware_config(hardware)
    nic = hw.nic_spec
    link = catalog.nic_host_link(hw.accelerator)
    name, host_Bps = link if link is not None else ("", float("inf"))
    return ScaleOut(nic.name, int(hw.nics_per_node), int(hw.gpus_per_node), nic.line_rate_Bps,
                    constant("nic_efficiency"), hw.fabric, float(hw.oversubscription), _radix(radix),
                    name, host_Bps)


SWITCH_COUNTS_FILE = catalog.DATA_DIR / "network_switch_counts.csv"


@cache
def published_switch_counts():
    """data/network_switch_counts.csv: switch and cable counts of published back-end fabrics
    (NVIDIA's DGX SuperPOD B200 reference architecture, 64 to 2,048 nodes), each with the
    hardware that gives them; tests/test_fabric.py checks :func:`switch_counts` against them."""
    C = catalog
    return C.read_table(SWITCH_COUNTS_FILE, {
        "name": C.Col("str", required=True), "accelerator": C.Col("str", required=True),
        "nic": C.Col("str", required=True), "fabric": C.Col("str", required=True, choices=FABRIC_KINDS),
        **{k: C.Col("int", required=True, nonneg=True) for k in (
            "nodes", "radix", "leaf", "spine", "core", "links_host", "links_leaf_spine", "links_spine_core")},
        "oversubscription": C.Col("float", required=True, positive=True),
    })


def _leaf_split(radix: int, sigma: float) -> tuple[int, int]:
    """Down (host) and up ports of a leaf with oversubscription sigma = down/up."""
    down = int(round(radix * sigma / (1.0 + sigma)))
    down = min(max(down, 1), radix - 1)
    return down, radix - down


def nodes_per_leaf(hardware, radix: int | None = None) -> float:
    """Nodes of the job that share one leaf's uplinks [-]: traffic between two of them never
    crosses the leaf's oversubscribed uplinks (down/σ of capacity per leaf, :func:`_leaf_split`).

    Rails-only and rail-optimized: a leaf is one rail's switch for ``down`` nodes (one NIC of
    each: a scalable unit); fat-tree: a leaf holds ``down`` NICs, whole nodes where a node's
    NICs fit (``down // nics_per_node``), else a fraction of a node. A job whose back-end
    network is one switch (:func:`switch_counts` ``tiers`` <= 1) has no uplink: every node
    shares the switch, and the result is the job's node count.

    >>> nodes_per_leaf({"accelerator": "H100", "nodes": 2, "fabric": "rail-optimized"})
    2.0
    >>> nodes_per_leaf({"accelerator": "H100", "nodes": 64, "fabric": "rail-optimized",
    ...                 "oversubscription": 3.0}, radix=64)
    48.0
    """
    hw = hardware_config(hardware)
    r = _radix(radix)
    if switch_counts(hw, r)["tiers"] <= 1:
        return float(hw.nodes)
    down, _ = _leaf_split(r, hw.oversubscription)
    if hw.fabric != "fat-tree":
        return float(down)
    R = hw.nics_per_node
    return float(down // R) if down >= R else down / R


def switch_counts(hardware: Any, radix: int | None = None) -> dict[str, int]:
    """Switches and cables of the back-end fabric the hardware's job needs (folded Clos,
    ``radix`` ports each), counted exactly for the nodes given, on the leaves the flow
    simulation builds: the leaf layout is ``_leaf_layout``'s, the one arrangement
    :class:`Fabric` and the collective model's oversubscription bound read, so a count and the
    simulated topology never disagree.

    A job whose GPUs all share one scale-up domain (``HardwareConfig.domains == 1``: one 8-GPU
    node, or up to one NVL72 rack) sends nothing over the back-end network, so it needs no
    scale-out switch and no cable: every count is 0 and ``tiers`` is 0 (its NICs are still
    installed and counted by the callers that count NICs). The count is for the cluster as
    given, not for growth: to price a fabric built for a larger final size, pass that size.

    Leaves (a leaf's ports split by the oversubscription σ = down/up, :func:`_leaf_split`):

    * rails-only: NIC i of every scale-up domain is on rail i, and each rail is its own
      network with no spine shared between rails (Wang et al., "How to Build Low-cost Networks
      for Large Language Models", https://arxiv.org/abs/2307.12169; the deployment's two-level
      rails-only Pollara back end): per rail, one switch while the rail's domains fit one
      (``radix`` ports), else ceil(domains / down) rail leaves;
    * rail-optimized: NIC i of every domain of a group of ``down`` domains on that group's rail-i
      leaf, the rails joined by shared spines (NVIDIA DGX SuperPOD: one leaf per rail per
      scalable unit of 32 nodes, 8 leaves per SU of 8-NIC nodes,
      https://docs.nvidia.com/dgx-superpod/reference-architecture-scalable-infrastructure-b200/latest/dgx-superpod-architecture.html):
      rails x ceil(domains / down) leaves, a part-filled group still one leaf per rail; one
      switch for the whole job while all its NICs fit one. Small published designs are
      reproduced: Asterfusion's rail-only 32 x 4-GPU servers on four 32-port leaves, one per
      rail, no spine
      (https://cloudswit.ch/implementation/s-compute-backend-fabric-configuration-guide), and
      its rail-optimized 64 x 4-GPU servers on 4 rail leaves and 2 spines of 128 x 400G
      (https://cloudswit.ch/implementation/m-compute-backend-fabric-configuration).
      APPROXIMATE for small jobs between one switch and one leaf per rail (9 to 31 8-NIC nodes
      at radix 64: 10 to 12 switches): several rails sharing a leaf (e.g. 3 leaves of 2-3 rails
      and 2 spines for 9 nodes) is not modelled (nor simulated); NVIDIA's guidance for a part-
      built scalable unit is the opposite, to install the full unit's rail leaves and
      leaf-spine cables
      (https://docs.nvidia.com/dgx-superpod/reference-architecture-scalable-infrastructure-gb200/latest/network-fabrics.html),
      so the count lies between a rail-sharing build and NVIDIA's;
    * fat-tree: a node's NICs cabled to one leaf (whole nodes per leaf,
      floor(down / NICs) x NICs host ports used, unused down ports left empty) where they fit
      one leaf, else leaves filled port by port (a rack-scale domain's NICs spread over several).

    A leaf cables all its ``up`` ports, the last leaf of a rail (rails-only, rail-optimized) or
    of the fat-tree min(up, ceil(hosts / σ)) when it is part-filled (the cluster as given, not
    its growth). One level when a network fits one switch (no spine), two (leaf-spine) while
    every spine can reach every leaf of its network (leaves <= radix), else the folded-Clos
    recursion of :func:`_clos_tiers`: t tiers join up to r (r/2)^(t-2) leaves (three r^2/2,
    four r^3/4, ...; no cap on the size, so a million-GPU cluster is counted, not refused).
    Two tiers: spines = uplinks / r, rounded up. t >= 3 tiers: each middle tier (2 .. t-1,
    r/2 ports down and r/2 up, every up port cabled) has ceil(uplinks / (r/2)) switches, the
    top tier ("core", all r ports down) half as many, rounded up; "spine" counts every middle
    tier (one tier at t = 3) and "links_spine_core" every cable above the leaf uplinks
    ((t - 2) x middle x r/2). Worked case (the k-ary fat tree of Al-Fares et al. 2008, one
    tier higher): 64 H100 nodes on a fat-tree of radix 8 (4 down, 4 up per leaf) are 128
    leaves > r^2/2 = 32, so 4 tiers: 128 leaves, 2 x 128 middle switches, 64 core, 448 =
    (2 x 4 - 1) (r/2)^3 in all. Rack-scale domains (NVL72) on a rails-only or
    rail-optimized fabric: NIC i of every node (compute tray) on rail i, nics_per_node rails of
    ``nodes`` hosts (``_leaf_layout``: a rail per NIC of a tray, as NVIDIA's NVL72 reference
    architecture cables them), the layout the flow simulation builds too (it gave each of a
    domain's 72 NICs its own rail before, 72 rails of a few racks each).

    Returns {"tiers", "leaf", "spine", "core", "total"} switches and the cables between
    them: "links_host" (NIC to leaf = nodes × nics_per_node, 0 without a switch),
    "links_leaf_spine" (leaf uplinks), "links_spine_core" (above the leaf uplinks: 3 or more
    tiers only), "links_total". "spine" holds every tier between the leaves and the top tier
    ("core", 0 in two tiers).

    >>> switch_counts({"accelerator": "MI300X", "nodes": 1, "fabric": "rails-only"})["total"]
    0
    >>> [switch_counts({"accelerator": "MI300X", "nodes": n, "fabric": "rails-only"})["total"]
    ...  for n in (2, 64, 65, 128)]
    [8, 8, 40, 48]
    >>> switch_counts({"accelerator": "H100", "nodes": 80, "fabric": "rail-optimized"})["leaf"]  # 8 rails x 3
    24
    """
    hw = hardware_config(hardware)
    r = _radix(radix)
    if hw.domains == 1:
        return {"tiers": 0, "leaf": 0, "spine": 0, "core": 0, "total": 0, "links_host": 0,
                "links_leaf_spine": 0, "links_spine_core": 0, "links_total": 0}
    lay = _leaf_layout(hw, r)
    kind, R = lay["kind"], lay["P"]   # rails: P (a rack-scale domain's trays share them)
    nets = R if kind == 0 else 1             # rails-only: every rail its own network
    if lay["single"]:
        t, leaves, spines, cores, l_up, l_sc = 1, 1, 0, 0, 0, 0
    else:
        # leaves of one network, and how many of them are a rail's (or the fat-tree's) last leaf
        leaves = lay["B"] if kind == 0 else lay["n_leaves"]
        lasts = R if kind == 1 else 1
        l_up = (leaves - lasts) * lay["U"] + lasts * lay["uplinks_last"]
        t = _clos_tiers(leaves, r)
        if t == 2:
            spines, cores, l_sc = -(-l_up // r), 0, 0
        else:
            # tiers 2 .. t-1: r/2 ports down, r/2 up, the same count on every middle tier
            # (each takes the links the tier below sends up); tier t: all r ports down
            middle = -(-l_up // (r // 2))
            spines, cores = (t - 2) * middle, -(-middle * (r // 2) // r)
            l_sc = (t - 2) * middle * (r // 2)
    out = {"tiers": t, "leaf": leaves * nets, "spine": spines * nets, "core": cores * nets}
    out["total"] = out["leaf"] + out["spine"] + out["core"]
    out["links_host"] = hw.nodes * hw.nics_per_node
    out["links_leaf_spine"] = l_up * nets
    out["links_spine_core"] = l_sc * nets
    out["links_total"] = out["links_host"] + out["links_leaf_spine"] + out["links_spine_core"]
    return out


# ---------------------------------------------------------------------------------------
# The fabric as directed links (for the flow-level simulation)
# ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Fabric:
    """Directed links and capacities of a cluster's scale-up + scale-out fabric.

    A "node" here is a scale-up domain of G = ``domain_gpus`` GPUs with R = ``rails`` NICs; GPU
    i uses NIC i·R//G (its rail). Link groups: scale-up (mesh: one link per ordered GPU pair;
    switch: one egress and one ingress per GPU), NIC up/down, leaf uplinks/spine downlinks
    (``uplinks_per_leaf`` per leaf, plane j of leaf a joins plane j of leaf b), and one
    aggregated trunk up/down per leaf used by packet spraying. The topology's name is
    ``hardware.fabric``. Build with :meth:`build`.

    Fields: ``radix`` switch ports [ports]; ``domains`` scale-up domains in the job [-];
    ``domain_gpus`` GPUs per domain [-]; ``rails`` NICs (rails) per domain [-];
    ``ports_per_leaf`` NIC-facing ports per leaf [ports]; ``leaves_per_rail`` [-] (1 on a
    fat-tree); ``uplinks_per_leaf`` [links]; ``n_leaves`` [-]; ``tiers`` switch tiers of
    :func:`switch_counts` [-] (0 for a job inside one scale-up domain, which needs no switch: its
    flows never reach the NIC and leaf links laid out here);
    ``pxn`` cross-rail forwarding through the scale-up fabric on/off; ``topo`` the kernel's
    integer topology vector; ``capacity_Bps`` per directed link [B/s]; ``group_bounds`` link
    index ranges per group; ``uplinks_last_leaf`` the uplinks the last leaf of each network
    cables [links]: ``uplinks_per_leaf`` when it is full, min(U, ceil(hosts / σ)) when it is
    part-filled (the rule :func:`switch_counts` charges), so its planes j >= that count reach no
    spine and a path between two leaves uses the planes both cable. Spraying's aggregated
    trunks are then two per leaf (``trunk_*`` the planes every leaf cables, ``trunk_*_rest``
    the others), which keeps the even split over the equal-cost paths exact.
    ``rail_networks`` rails of a rails-only or rail-optimized fabric (``rails`` except for a
    rack-scale domain, whose compute trays' NIC i share rail i: 4 for GB200 NVL72, NIC j of a
    domain on rail j % 4) and ``hosts_per_domain`` the hosts (trays) a domain puts on each rail
    (18 for a full NVL72, 1 otherwise); the layout is ``_leaf_layout``'s, the one
    :func:`switch_counts` counts.
    """

    hardware: HardwareConfig
    radix: int
    domains: int
    domain_gpus: int
    rails: int
    ports_per_leaf: int
    leaves_per_rail: int
    uplinks_per_leaf: int
    n_leaves: int
    tiers: int
    pxn: bool
    topo: np.ndarray = field(repr=False, compare=False)
    capacity_Bps: np.ndarray = field(repr=False, compare=False)
    group_bounds: tuple = field(repr=False, compare=False)
    uplinks_last_leaf: int = 0
    rail_networks: int = 0
    hosts_per_domain: int = 1

    @classmethod
    def build(cls, hardware, radix: int | None = None, pxn: bool | None = None) -> Fabric:
        """Build from a [hardware] dict / HardwareConfig; ``radix`` [ports] as in
        :func:`switch_counts`; ``pxn``: forward cross-rail traffic to the destination's rail
        through the scale-up fabric before leaving the node (default: ``hardware.pxn``, i.e.
        the library's default — on for NCCL, off for RCCL). On a rails-only fabric without
        PXN, cross-rail flows have no path and :func:`route` refuses them."""
        if isinstance(hardware, Fabric):
            return hardware
        hw = hardware_config(hardware)
        return _build_fabric(hw, _radix(radix), None if pxn is None else V.boolean("pxn", pxn))

    @property
    def n_links(self) -> int:
        return int(self.capacity_Bps.shape[0])

    @property
    def n_gpus(self) -> int:
        return self.domains * self.domain_gpus

    def link_group(self, link: int) -> str:
        """Name of the group a link index belongs to."""
        if isinstance(link, bool) or not isinstance(link, (int, np.integer)):
            raise ValidationError(f"link = {link!r}: expected a link index 0..{self.n_links - 1} (an integer)")
        for name, (a, b) in self.group_bounds:
            if a <= link < b:
                return name
        raise ValidationError(f"link = {link}: not a link of this fabric (0..{self.n_links - 1})")

    def link_name(self, link: int) -> str:
        """Readable name of a directed link, e.g. 'nic_up[node 3, rail 1]'."""
        g = self.link_group(link)
        a = dict(self.group_bounds)[g][0]
        i = link - a
        G, R = self.domain_gpus, self.rails
        if g == "xgmi":
            m, rest = divmod(i, G * G)
            return f"xgmi[node {m}, gpu {rest // G}->{rest % G}]"
        if g in ("nvswitch_egress", "nvswitch_ingress"):
            return f"{g}[node {i // G}, gpu {i % G}]"
        if g in ("nic_up", "nic_down"):
            return f"{g}[node {i // R}, rail {i % R}]"
        if g == "pxn_hbm":
            return f"pxn_hbm[node {i // G}, gpu {i % G}]"
        if g in ("leaf_up", "spine_down"):
            return f"{g}[leaf {i // self.uplinks_per_leaf}, plane {i % self.uplinks_per_leaf}]"
        return f"{g}[leaf {i}]"

    def paths(self, src_gpu: int, dst_gpu: int) -> list[list[str]]:
        """Every equal-cost path from one GPU to another, each a list of link names."""
        n = self.n_gpus
        for nm, v in (("src_gpu", src_gpu), ("dst_gpu", dst_gpu)):
            if not isinstance(v, (int, np.integer)) or not 0 <= v < n:
                raise ValidationError(f"{nm} = {v!r}: expected a GPU index 0..{n - 1}")
        if src_gpu == dst_gpu:
            return [[]]
        from ._kernels import fabric as K

        G, R, Pr = self.domain_gpus, self.rails, self.rail_networks or self.rails
        if self.hardware.fabric == "rails-only" and not self.pxn and src_gpu // G != dst_gpu // G \
                and (src_gpu % G) * R // G % Pr != (dst_gpu % G) * R // G % Pr:
            raise ValidationError(
                f"GPU {src_gpu} -> GPU {dst_gpu}: another rail of another node has no path on a rails-only "
                f"fabric without PXN; build the Fabric with pxn=True (or hardware.pxn = true)"
            )
        ptr, links, w = K.route_flows(np.array([src_gpu]), np.array([dst_gpu]), np.ones(1),
                                      self.topo, K.ROUTE_SPRAY_EXPLICIT, 1, 0, np.zeros(1, np.int64))
        common = [int(lk) for lk, x in zip(links, w, strict=True) if x >= 1.0]
        multi = [int(lk) for lk, x in zip(links, w, strict=True) if x < 1.0]
        if not multi:
            return [[self.link_name(lk) for lk in common]]
        out = []
        for j in range(0, len(multi), 2):
            up, dn = multi[j], multi[j + 1]
            p = []
            for lk in common:
                if self.link_group(lk) == "nic_down":
                    p += [self.link_name(up), self.link_name(dn)]
                p.append(self.link_name(lk))
            out.append(p)
        return out

    def switch_counts(self) -> dict[str, int]:
        """:func:`switch_counts` of this fabric's hardware and radix."""
        return switch_counts(self.hardware, self.radix)


def _clos_tiers(leaves: int, radix: int) -> int:
    """Switch tiers of a folded Clos (fat-tree) joining ``leaves`` leaf switches of ``radix``
    ports, leaf tier included [-]: 2 while one spine tier can reach every leaf (leaves <= r),
    else the least t with leaves <= r (r/2)^(t-2).

    The recursion (Al-Fares, Loukissas and Vahdat, "A Scalable, Commodity Data Center Network
    Architecture", SIGCOMM 2008, http://ccr.sigcomm.org/online/files/p63-alfares.pdf: k-port
    switches, three tiers, k pods of k/2 edge and k/2 aggregation switches, (k/2)^2 core
    switches, k^3/4 hosts, 5k^2/4 switches): a top-tier switch gives its r ports to r
    different pods, and each added tier turns the network below into a pod whose top switches
    keep r/2 ports up, so every added tier multiplies the leaves (and the hosts) it can join by
    r/2. Two tiers join r leaves, three r^2/2, four r^3/4: with all leaves at r/2 hosts,
    2 (r/2)^t hosts (r = 36: 648, 11,664; r = 48: 1,152 and 27,648, the figures of Cornelis'
    CN5000 2- and 3-tier fat trees, https://docs.cornelis.com/en/cn5000-topologies-and-routing/fat-tree-topologies/3-tier-fat-trees.html).
    Beyond three tiers the same construction is applied again (DERIVED: no published four-tier
    AI back end is in the data).

    >>> [_clos_tiers(n, 64) for n in (1, 64, 65, 2048, 2049, 65536, 65537)]
    [2, 2, 3, 3, 4, 4, 5]
    """
    t, cap = 2, radix
    while leaves > cap:
        t, cap = t + 1, cap * (radix // 2)
    return t


@cache
def _leaf_layout(hw: HardwareConfig, radix: int) -> dict:
    """How the job's scale-up domains sit under the leaves of the flow simulation's fabric
    (:class:`Fabric`), of the collective model's oversubscription bound and of
    :func:`switch_counts`: one place for all three (:func:`_arrange` lays the leaves out).

    A "domain" is the Fabric's node: ``G`` GPUs with ``R`` NICs (rails). Per network (one per
    rail on rails-only and rail-optimized fabrics, one on a fat-tree) a full leaf holds ``h``
    host ports and ``U`` uplinks; a domain puts ``e`` ports on each network (1 on a rail
    network, R on a fat-tree), so a full leaf holds ``h / e`` domains (a fraction where a
    domain's NICs spread over several fat-tree leaves). Leaves are filled in turn; the last
    leaf of a network holds ``hosts_last`` ports and cables ``uplinks_last`` =
    min(U, ceil(hosts_last / σ)) uplinks, the rule :func:`switch_counts` charges for a
    part-filled last leaf (a full leaf: U). A network that fits one switch has one leaf.

    A rack-scale domain (NVL72: 18 compute trays of 4 GPUs and 4 NICs) on a rails-only or
    rail-optimized fabric has as many rails as a tray has NICs (``P`` = nics_per_node), NIC i of
    every tray on rail i: each rail network holds ``Q`` = trays per domain hosts of every domain
    (``e`` = Q), not a rail per GPU of the domain. This is how rail-optimized GB200/GB300 NVL72
    compute fabrics are cabled: the GPUs reach the leaves through their own tray NICs, one rail
    per NIC index of a tray (NVIDIA's NVL72 Enterprise Reference Architecture,
    https://docs.nvidia.com/enterprise-reference-architectures/nvl72-ai-factory/latest/networking-physical-topologies.html:
    "the GPUs are connected using a rail-optimized network topology through their respective
    ConnectX-8 NICs ... within a server and within a rail"; the same NIC-N-to-leaf-N rule for
    4-GPU servers in Asterfusion's rail-only and rail-optimized guides,
    https://cloudswit.ch/implementation/m-compute-backend-fabric-configuration). Otherwise
    P = R and Q = 1 (NIC i of a node on rail i).

    Returns {"N", "G", "R", "P", "Q", "kind", "mesh", "h", "U", "B", "n_leaves", "e",
    "hosts_last", "uplinks_last", "single"}: B leaves per rail along the domains (rails),
    n_leaves in all.
    """
    su = scaleup(hw)
    D = hw.domain_gpus  # the job's GPUs in one scale-up domain
    if D >= hw.gpus_per_node:
        G, R = D, hw.nics_per_node * D // hw.gpus_per_node
    else:
        G, R = hw.gpus_per_node, hw.nics_per_node
    kind = FABRIC_KINDS.index(hw.fabric)
    P = hw.nics_per_node if kind != 2 and R > hw.nics_per_node else R
    return _arrange(hw.world_size // G, G, R, kind, float(hw.oversubscription), radix, su.topology == "mesh", P)


@cache
def _arrange(N: int, G: int, R: int, kind: int, sigma: float, radix: int, mesh: bool,
             P: int | None = None) -> dict:
    """The leaves of :func:`_leaf_layout` for N domains of G GPUs and R NICs each on a
    fabric of kind ``FABRIC_KINDS[kind]``, oversubscription ``sigma`` and ``radix`` ports; on
    a rail fabric ``P`` rails (default R), each domain Q = R / P hosts on every rail.

    Rails-only: each rail one network, one switch while its N Q hosts fit one, else leaves of
    ``down`` hosts. Rail-optimized: rail leaves of ``down`` hosts (B per rail) joined by
    shared spines; the whole job on one switch while its N R NICs fit one (simulated as rail
    leaves with as many uplinks as hosts: non-blocking). Fat-tree: ``down`` ports per leaf,
    rounded down to whole domains (a domain's R NICs cabled to one leaf) where a domain fits
    one leaf."""
    P = R if P is None or kind == 2 else P
    if R % P:
        raise ValidationError(f"{R} NICs per domain do not split into {P} rails")
    Q = R // P
    down, up = _leaf_split(radix, sigma)
    per_rail = N * Q if kind != 2 else N * R
    single = per_rail <= radix and (kind != 1 or N * R <= radix)
    if single:
        # one switch per rail (rails-only) or for the whole network; for a rail-optimized
        # network that fits one switch, rail leaves with as many uplinks as hosts (non-blocking)
        h, U = per_rail, (per_rail if kind == 1 else 1)
    else:
        h, U = down, up
    if kind == 2:
        B = 1
        if h % R and h > R:
            h = (h // R) * R  # keep a node's NICs on one leaf
        n_leaves = -(-(N * R) // h)
        e = R
        hosts_last = N * R - (n_leaves - 1) * h
        per_net_leaves = n_leaves
    else:
        B = -(-(N * Q) // h)
        n_leaves = P * B
        e = Q
        hosts_last = N * Q - (B - 1) * h
        # rails-only: a rail is its own network; rail-optimized: the spines join every rail's
        # leaves, so a rail's one part-filled leaf (B = 1) is still a leaf among several
        per_net_leaves = B if kind == 0 else n_leaves
    if per_net_leaves > 1 and hosts_last < h:
        uplinks_last = min(U, max(1, math.ceil(hosts_last / sigma - 1e-9)))
    else:
        uplinks_last = U
    return {"N": N, "G": G, "R": R, "P": P, "Q": Q, "kind": kind, "mesh": mesh, "h": h, "U": U,
            "B": B, "n_leaves": n_leaves, "e": e, "hosts_last": hosts_last,
            "uplinks_last": uplinks_last, "single": single}


@cache
def _build_fabric(hw: HardwareConfig, radix: int, pxn: bool | None) -> Fabric:
    from ._kernels import fabric as K

    su = scaleup(hw)
    so = scaleout(hw, radix)
    lay = _leaf_layout(hw, radix)
    N, G, R, kind, mesh = lay["N"], lay["G"], lay["R"], lay["kind"], lay["mesh"]
    h, U, B, n_leaves, UL = lay["h"], lay["U"], lay["B"], lay["n_leaves"], lay["uplinks_last"]
    per_rail = N * lay["Q"] if kind != 2 else N * R
    counts = switch_counts(hw, radix)
    if counts["tiers"] > 2:
        raise ValidationError(
            f"fabric with {per_rail} endpoints per network needs {counts['tiers']} tiers at radix {radix}; the flow "
            f"simulation covers one- and two-tier fabrics: pass a larger radix or fewer nodes"
        )
    bounds = []
    pos = 0
    if mesh:
        bounds.append(("xgmi", (pos, pos + N * G * G)))
        pos += N * G * G
    else:
        bounds.append(("nvswitch_egress", (pos, pos + N * G)))
        bounds.append(("nvswitch_ingress", (pos + N * G, pos + 2 * N * G)))
        pos += 2 * N * G
    su0 = bounds[0][1][0]
    rest = n_leaves if UL < U else 0   # trunks of the planes a part-filled last leaf does not cable
    for name, size in (("nic_up", N * R), ("nic_down", N * R), ("leaf_up", n_leaves * U),
                       ("spine_down", n_leaves * U), ("trunk_up", n_leaves), ("trunk_down", n_leaves),
                       ("pxn_hbm", N * G), ("trunk_up_rest", rest), ("trunk_down_rest", rest)):
        bounds.append((name, (pos, pos + size)))
        pos += size
    b = dict(bounds)
    cap = np.empty(pos)
    port = so.line_rate_Bps * so.efficiency       # a switch port at the NIC's line rate
    nic_port = so.nic_path_Bps                      # a NIC, capped by the GPUs' host links feeding it
    if mesh:
        cap[b["xgmi"][0]:b["xgmi"][1]] = su.link_Bps
    else:
        cap[b["nvswitch_egress"][0]:b["nvswitch_ingress"][1]] = su.gpu_Bps
    for g in ("nic_up", "nic_down"):
        cap[b[g][0]:b[g][1]] = nic_port
    for g in ("leaf_up", "spine_down"):
        cap[b[g][0]:b[g][1]] = port
    for g in ("trunk_up", "trunk_down"):
        cap[b[g][0]:b[g][1]] = UL * port
    for g in ("trunk_up_rest", "trunk_down_rest"):
        cap[b[g][0]:b[g][1]] = max(U - UL, 1) * port   # a last leaf's entry is never used
    cap[b["pxn_hbm"][0]:b["pxn_hbm"][1]] = hw.accelerator_spec.hbm_bw_Bps
    T = np.zeros(K.T_SIZE, dtype=np.int64)
    T[K.T_N], T[K.T_G], T[K.T_R], T[K.T_KIND], T[K.T_MESH] = N, G, R, kind, int(mesh)
    T[K.T_H], T[K.T_B], T[K.T_U] = h, B, U
    T[K.T_SU], T[K.T_NUP], T[K.T_NDN] = su0, b["nic_up"][0], b["nic_down"][0]
    T[K.T_LUP], T[K.T_LDN] = b["leaf_up"][0], b["spine_down"][0]
    T[K.T_TUP], T[K.T_TDN] = b["trunk_up"][0], b["trunk_down"][0]
    T[K.T_STG] = b["pxn_hbm"][0]
    T[K.T_ULAST] = UL
    T[K.T_TUPR], T[K.T_TDNR] = b["trunk_up_rest"][0], b["trunk_down_rest"][0]
    T[K.T_NLINKS] = pos
    T[K.T_P], T[K.T_Q] = lay["P"], lay["Q"]
    use_pxn = bool(hw.pxn) if pxn is None else bool(pxn)
    T[K.T_PXN] = int(use_pxn)
    tiers = counts["tiers"]
    return Fabric(hw, radix, N, G, R, h, B, U, n_leaves, tiers, use_pxn, T, cap, tuple(bounds), UL,
                  lay["P"], lay["Q"])


# ---------------------------------------------------------------------------------------
# Flows of one collective step
# ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Flows:
    """Flows of one step: GPU indices (node-major) and bytes [B]."""

    pattern: str
    src: np.ndarray = field(repr=False)
    dst: np.ndarray = field(repr=False)
    nbytes: np.ndarray = field(repr=False)

    def __len__(self) -> int:
        return int(self.src.shape[0])

    @property
    def total_bytes(self) -> float:
        return float(self.nbytes.sum())


def step_flows(pattern: str, hardware: Any, size_bytes: float, *, step: int = 0,
               radix: int | None = None) -> Flows:
    """The flows one step of a collective over the whole cluster generates.

    Parameters
    ----------
    pattern : "ring" — one step of an NCCL-style ring all-reduce with one channel per NIC;
        channel c enters a node at the GPU of rail c and leaves from the GPU of rail c+1 (the
        next node enters there), so inter-node flows are rail-matched; each flow carries
        S/(n·channels). "rail_ring" — one step of the hierarchical all-reduce's inter-node
        ring: GPU i of node m → GPU i of node m+1, (S/G)/N bytes. "halving_doubling" — step
        ``step`` of the inter-node recursive halving: GPU i of node m ↔ node m xor 2^step,
        (S/G)/2^(step+1) bytes. "all_to_all" — every GPU to every other, S/n bytes.
    hardware : [hardware] dict, HardwareConfig or Fabric
    size_bytes : collective size S as nccl-tests defines it [B], a whole number of bytes > 0
    step : halving/doubling step index [-]
    """
    if pattern not in PATTERNS:
        raise unknown("flow pattern", pattern, PATTERNS)
    V.byte_count("size_bytes", size_bytes, allow_zero=False)
    fab = Fabric.build(hardware, radix)
    N, G, R = fab.domains, fab.domain_gpus, fab.rails
    n = N * G
    S = float(size_bytes)
    if pattern == "all_to_all":
        s, d = np.meshgrid(np.arange(n), np.arange(n), indexing="ij")
        mask = s != d
        src, dst = s[mask], d[mask]
        nb = np.full(src.shape[0], S / n)
    elif pattern == "rail_ring":
        if N < 2:
            raise ValidationError("pattern 'rail_ring' needs at least 2 scale-up domains (nodes, or racks of a "
                                  f"rack-scale part); domains = {N}")
        m = np.repeat(np.arange(N), G)
        i = np.tile(np.arange(G), N)
        src, dst = m * G + i, ((m + 1) % N) * G + i
        nb = np.full(src.shape[0], S / G / N)
    elif pattern == "halving_doubling":
        if N < 2 or N & (N - 1):
            raise ValidationError(f"pattern 'halving_doubling' needs a power-of-two number of scale-up domains "
                                  f"(nodes, or racks of a rack-scale part); domains = {N}")
        step = V.integer("step", step, lo=0, hi=int(np.log2(N)) - 1)   # a whole step index, not 1.5 or "0"
        m = np.repeat(np.arange(N), G)
        i = np.tile(np.arange(G), N)
        src, dst = m * G + i, (m ^ (1 << step)) * G + i
        nb = np.full(src.shape[0], S / G / 2 ** (step + 1))
    else:  # ring
        src_l, dst_l = [], []
        for c in range(R):
            a = c * G // R
            b = ((c + 1) % R) * G // R if R > 1 else (a - 1) % G
            for m in range(N):
                entry, exit_ = (a, b) if m % 2 == 0 else (b, a)
                if a == b:
                    entry, exit_ = a, (a - 1) % G
                mid = [(entry + t) % G for t in range(1, G) if (entry + t) % G != exit_]
                chain = [entry, *mid, exit_] if G > 1 else [entry]
                for x, y in zip(chain[:-1], chain[1:], strict=True):
                    src_l.append(m * G + x)
                    dst_l.append(m * G + y)
                if N > 1:
                    src_l.append(m * G + exit_)
                    nxt = (m + 1) % N
                    dst_l.append(nxt * G + (exit_ if a != b else entry))
                elif G > 1:
                    src_l.append(m * G + exit_)
                    dst_l.append(m * G + entry)
        src, dst = np.array(src_l, dtype=np.int64), np.array(dst_l, dtype=np.int64)
        keep = src != dst
        src, dst = src[keep], dst[keep]
        nb = np.full(src.shape[0], S / n / R)
    return Flows(pattern, src.astype(np.int64), dst.astype(np.int64), nb.astype(np.float64))


# ---------------------------------------------------------------------------------------
# Routing, max-min rates, completion
# ---------------------------------------------------------------------------------------
def _check_flows(flows: Flows, fab: Fabric) -> None:
    if not isinstance(flows, Flows):
        raise ValidationError(f"flows = {flows!r}: expected a Flows object (see step_flows)")
    n = fab.n_gpus
    if len(flows) == 0:
        raise ValidationError("flows: empty")
    if flows.src.min() < 0 or flows.dst.min() < 0 or max(flows.src.max(), flows.dst.max()) >= n:
        raise ValidationError(f"flows: GPU indices must be 0..{n - 1} for this fabric")
    if np.any(flows.src == flows.dst):
        raise ValidationError("flows: a flow from a GPU to itself uses no link")
    if np.any(~np.isfinite(flows.nbytes)) or np.any(flows.nbytes <= 0):
        raise ValidationError("flows: every flow needs a positive, finite byte count")


def _seed(field: str, seed) -> int:
    """A random seed: a whole number 0 .. 2**63 - 1 (numpy's generators and the ECMP hash take
    it; a float such as 1.5 would be truncated, a string or None would fail inside numpy)."""
    return V.integer(field, seed, lo=0, hi=2**63 - 1)


def spray_note(fabric: Any) -> str | None:
    """Why packet spraying over ``fabric``'s NIC is an assumption, or None when a source claims
    the NIC sprays packets (``packet_spraying`` in data/nics.csv; false there means no source
    claims it, not that it is confirmed absent). The one owner of the rule that
    :func:`route` warns with (:class:`~infra_lab.errors.NicFeatureWarning`) and the network
    explorer states."""
    fab = Fabric.build(fabric)
    nic = catalog.nic(fab.hardware.nic)
    if nic.packet_spraying:
        return None
    sprays = [r["name"] for r in catalog.nics().iter_rows(named=True) if r["packet_spraying"]]
    return (f"hardware.nic = {nic.name!r}: no source in data/nics.csv claims it sprays packets "
            f"(packet_spraying = false: unknown, not verified absent; the catalog's spraying NICs: "
            f"{', '.join(sprays)}); routing = 'spray' is priced as ideal spraying, as if it did, with no "
            f"cost for out-of-order delivery")


def route(flows: Flows, fabric: Any, routing: str = "ecmp", seed: int = 0, qps: int = 1,
          *, explicit_spray: bool = False) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Route flows: returns (ptr, links, weights) — flow f uses links[ptr[f]:ptr[f+1]].

    routing : "ecmp" (per-flow hash of (src, dst, queue pair) with ``seed``; ``qps`` queue
        pairs per flow each hashed separately with 1/qps of the bytes; 1 .. 128, NCCL's
        NCCL_IB_MAX_QPS), "spray" (every flow
        split evenly over all equal-cost paths; represented by one aggregated trunk per leaf,
        which is exact for an even split, or link by link with ``explicit_spray``), "adaptive"
        (flows in a seeded random order each take the currently least-loaded spine plane).
        "spray" over a NIC that no source claims sprays packets (:func:`spray_note`) is priced
        the same, with a :class:`~infra_lab.errors.NicFeatureWarning` saying so.
    """
    fab = Fabric.build(fabric)
    if routing == "spray":
        note = spray_note(fab)
        if note:
            warnings.warn(note, NicFeatureWarning, stacklevel=user_stacklevel())
    return _route(flows, fab, routing, seed, qps, explicit_spray=explicit_spray)


def _route(flows: Flows, fab: Fabric, routing: str, seed: int = 0, qps: int = 1,
           *, explicit_spray: bool = False):
    """:func:`route` without the NIC note (the even split :func:`simulate_step` measures every
    routing's ideal against is a bound, not a claim about the NIC)."""
    from ._kernels import fabric as K

    _check_flows(flows, fab)
    if routing not in ROUTINGS:
        raise unknown("routing", routing, ROUTINGS)
    seed = _seed("seed", seed)
    qmax = int(constant("max_qps_per_connection"))
    qps = V.integer("qps", qps, lo=1, hi=qmax)   # NCCL's NCCL_IB_MAX_QPS; more is no library setting
    if fab.hardware.fabric == "rails-only" and not fab.pxn:
        G, R, Pr = fab.domain_gpus, fab.rails, fab.rail_networks or fab.rails
        cross = (flows.src // G != flows.dst // G) & ((flows.src % G) * R // G % Pr != (flows.dst % G) * R // G % Pr)
        if cross.any():
            raise ValidationError(
                f"flows: {int(cross.sum())} flows go to another rail of another node, which a rails-only "
                f"fabric cannot carry without PXN (RCCL's default is PXN off); build the Fabric with "
                f"pxn=True or set hardware.pxn = true (NCCL_PXN_DISABLE=0)"
            )
    order = np.arange(len(flows), dtype=np.int64)
    if routing == "adaptive":
        order = np.random.default_rng(seed).permutation(len(flows)).astype(np.int64)
        mode = K.ROUTE_ADAPTIVE
    elif routing == "spray":
        mode = K.ROUTE_SPRAY_EXPLICIT if explicit_spray else K.ROUTE_SPRAY
    else:
        mode = K.ROUTE_ECMP
    return K.route_flows(flows.src, flows.dst, flows.nbytes, fab.topo, mode, qps, int(seed), order)


def solve_rates(flows: Flows, fabric: Any, routing: str = "ecmp", seed: int = 0, qps: int = 1,
                *, reference: bool = False) -> np.ndarray:
    """Max-min fair rate of every flow [B/s] (numba kernel, or the plain-Python reference)."""
    from ._kernels import fabric as K

    fab = Fabric.build(fabric)
    ptr, links, w = route(flows, fab, routing, seed, qps)
    f = K.maxmin_rates_reference if reference else K.maxmin_rates
    return f(ptr, links, w, fab.capacity_Bps)


@dataclass(frozen=True)
class StepResult(Printout):
    """Outcome of one simulated step.

    time_s : completion time of the last flow [s]; load_bound_s : busiest link's bytes /
    capacity under this routing [s]; ideal_s : the same bound under perfect spraying [s];
    efficiency : ideal_s / time_s [-]; network_bytes : bytes put on NIC uplinks [B];
    bytes_delivered : sum over flows of bytes delivered (conservation check) [B];
    per_gpu_Bps : bytes each GPU sends / time_s, averaged over GPUs [B/s].
    """

    pattern: str
    routing: str
    seed: int
    qps: int
    flows: int
    time_s: float
    load_bound_s: float
    ideal_s: float
    efficiency: float
    total_bytes: float
    network_bytes: float
    bytes_delivered: float
    per_gpu_Bps: float
    rounds: int


def simulate_step(flows: Flows, fabric: Any, routing: str = "ecmp", seed: int = 0, qps: int = 1,
                  completion: str = "fluid") -> StepResult:
    """Route one step's flows, solve max-min fair rates and find when the step completes.

    Parameters
    ----------
    flows : :func:`step_flows` of a pattern, the hardware and a collective size
    fabric : [hardware] dict, HardwareConfig or :class:`Fabric`
    routing : one of :data:`ROUTINGS`: "ecmp" (per-flow hashing), "spray" (per-packet, as
        Pollara 400 does) or "adaptive"
    seed : the ECMP hash seed [-]; qps : queue pairs per connection [-]
    completion : "fluid" (re-solve the rates each time flows finish; exact for a fluid
        max-min model) or "static" (the initial rates held: max bytes / rate, an upper bound).
        The fluid solve costs one rate solve per round (``rounds`` in the result: hundreds for
        a large all-to-all, whose flows end at many times), "static" one in all: the quick
        bound to try first when a fluid Monte Carlo over many seeds is slow

    Notes
    -----
    The step ends when its last flow ends (a collective step is synchronised). Its ideal is
    the busiest link's load under a perfectly even split; efficiency = ideal / time. For m
    equal flows hashed onto k links this reproduces η = (m/k)/max_load (balls into bins; max-load analysis: Raab & Steger 1998, https://doi.org/10.1007/3-540-49543-6_13).

    Examples
    --------
    A step whose every flow crosses a spine (notebook 03 §7), hashed and sprayed:

    >>> import infra_lab as il
    >>> hw = il.load_scenario("zaya1-ibm-mi300x").replace(hardware={"fabric": "rail-optimized"}).hardware
    >>> flows = il.fabric.step_flows("halving_doubling", hw, 2**30, step=6)
    >>> ecmp, sprayed = (il.fabric.simulate_step(flows, hw, r) for r in ("ecmp", "spray"))
    >>> round(ecmp.efficiency, 2), sprayed.efficiency, ecmp.time_s > sprayed.time_s
    (0.2, 1.0, True)
    """
    from ._kernels import fabric as K

    fab = Fabric.build(fabric)
    if completion not in COMPLETIONS:
        raise unknown("completion", completion, COMPLETIONS)
    ptr, links, w = route(flows, fab, routing, seed, qps)     # "spray": route's NicFeatureWarning
    cap = fab.capacity_Bps
    loads = K.link_loads(ptr, links, w, flows.nbytes, fab.n_links)
    load_bound = float(np.max(loads / cap))
    if routing == "spray":
        ideal = load_bound
    else:
        p2, l2, w2 = _route(flows, fab, "spray")
        ideal = float(np.max(K.link_loads(p2, l2, w2, flows.nbytes, fab.n_links) / cap))
    if completion == "fluid":
        finish, done, rounds = K.fluid_completion(ptr, links, w, cap, flows.nbytes)
        t = float(finish.max())
        delivered = float(done.sum())
    else:
        rates = K.maxmin_rates(ptr, links, w, cap)
        t = float(np.max(flows.nbytes / rates))
        delivered, rounds = float(flows.nbytes.sum()), 1
    a, b = dict(fab.group_bounds)["nic_up"]
    net = float(loads[a:b].sum())
    per_gpu = float(np.bincount(flows.src, weights=flows.nbytes, minlength=fab.n_gpus).mean()) / t
    return StepResult(flows.pattern, routing, int(seed), int(qps), len(flows), t, load_bound, ideal,
                      ideal / t if t > 0 else 1.0, flows.total_bytes, net, delivered, per_gpu, int(rounds))


def monte_carlo(flows: Flows, fabric: Any, routing: str = "ecmp", seeds: int = 32, qps: int = 1,
                completion: str = "fluid", first_seed: int = 0) -> pl.DataFrame:
    """:func:`simulate_step` over ``seeds`` hash seeds → polars DataFrame, one row per seed
    (routing, seed, time_s, load_bound_s, ideal_s, efficiency); the efficiency is the η that
    ``il.collective(..., fabric_efficiency=η)`` takes for ECMP (1, its default, is spraying).

    Examples
    --------
    >>> import infra_lab as il
    >>> hw = il.load_scenario("zaya1-ibm-mi300x").hardware
    >>> df = il.fabric.monte_carlo(il.fabric.step_flows("ring", hw, 2**30), hw, "ecmp", seeds=2)
    >>> df["seed"].to_list(), float(df["efficiency"].min())   # ZAYA1's rings are rail-matched
    ([0, 1], 1.0)
    """
    import polars as pl

    seeds = int(check_positive("seeds", seeds, integer=True))
    first_seed = _seed("first_seed", first_seed)
    rows = []
    for s in range(first_seed, first_seed + seeds):
        r = simulate_step(flows, fabric, routing, s, qps, completion)
        rows.append({"routing": routing if qps == 1 else f"{routing} x{qps} QPs", "seed": s,
                     "time_s": r.time_s, "load_bound_s": r.load_bound_s, "ideal_s": r.ideal_s,
                     "efficiency": r.efficiency})
    return pl.DataFrame(rows)


def balls_into_bins(m: int, k: int, trials: int = 4000, seed: int = 0) -> dict[str, float]:
    """Closed form and Monte Carlo for m equal flows hashed onto k equal links (balls into bins).

    Returns {"U_exact": 1 − (1 − 1/k)^m, "U_mc", "max_load_mc", "eta_mc"}, with
    η = E[(m/k)/max_load], the efficiency of a synchronised step. U is the occupancy problem's
    expected share of non-empty bins; max-load asymptotics: Raab & Steger 1998,
    https://doi.org/10.1007/3-540-49543-6_13."""
    m = int(check_positive("m", m, integer=True))
    k = int(check_positive("k", k, integer=True))
    trials = int(check_positive("trials", trials, integer=True))
    if m * trials > 50_000_000:
        raise ValidationError(f"m × trials = {m} × {trials}: at most 50,000,000 draws (memory)")
    if k * trials > 50_000_000:
        raise ValidationError(f"k × trials = {k} × {trials}: at most 50,000,000 bin counts (memory)")
    rng = np.random.default_rng(V.integer("seed", seed, lo=0, hi=2**63 - 1))
    x = rng.integers(0, k, size=(int(trials), m))
    counts = np.zeros((int(trials), k), dtype=np.int64)
    np.add.at(counts, (np.repeat(np.arange(int(trials)), m), x.ravel()), 1)
    mx = counts.max(axis=1)
    return {"U_exact": 1.0 - (1.0 - 1.0 / k) ** m, "U_mc": float((counts > 0).mean()),
            "max_load_mc": float(mx.mean()), "eta_mc": float(np.mean((m / k) / mx))}


# ---------------------------------------------------------------------------------------
# Link counts (issue 16: network failures scale with links and optics,
# not with switches). Composed from switch_counts and its leaf split; no second tier logic.
# ---------------------------------------------------------------------------------------
def link_counts(hardware: Any, radix: int | None = None) -> dict[str, int]:
    """Cables of the back-end fabric counted from :func:`switch_counts` [links].

    Every NIC port has one link to its leaf (``host``); in two or more levels every leaf
    cables its up ports (``leaf_up``); in three or more levels every switch of a middle tier
    cables its r/2 up ports to the tier above (``agg_up``, all of them up to the core). An
    optical link carries two transceivers.

    Returns {"host", "leaf_up", "agg_up", "total"}.

    Examples
    --------
    >>> from infra_lab.scenario import HardwareConfig
    >>> hw = HardwareConfig.from_dict({"accelerator": "MI300X", "nodes": 128, "nic": "Pollara-400",
    ...                                "fabric": "rails-only"})
    >>> link_counts(hw)      # 8 rails x (128 NIC links + 4 leaves x 32 uplinks)
    {'host': 1024, 'leaf_up': 1024, 'agg_up': 0, 'total': 2048}
    """
    sw = switch_counts(hardware, radix)  # the one count of switches and their cables
    return {"host": sw["links_host"], "leaf_up": sw["links_leaf_spine"], "agg_up": sw["links_spine_core"],
            "total": sw["links_total"]}
