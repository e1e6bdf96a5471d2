"""The [hardware] table: :class:`HardwareConfig` (accelerator, nodes, scale-up domain, NICs,
fabric, host CPU, PXN, SHARP; validated on construction against the catalog and the network
constants), :data:`FABRICS`, and :func:`as_hardware`, the one coercion of "some hardware"."""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .. import catalog
from ..errors import (
    InfraLabError,
    NodeSizeWarning,
    PartBoundWarning,
    UnknownNameError,
    ValidationError,
    unknown,
    user_stacklevel,
)
from ._checks import _bool, _check_keys, _enum, _int

FABRICS = ("rails-only", "rail-optimized", "fat-tree")


def whole_node_domain_gpus(gpus: int, gpus_per_node: int, domain: int) -> int:
    """The job's GPUs per rack-scale scale-up domain when the job does not fill whole domains:
    the largest multiple of ``gpus_per_node`` up to ``domain`` that divides ``gpus`` (e.g. 64
    of an NVL72's 72 for 128 or 256 GPUs in 4-GPU trays), the ``domain_gpus`` of a partly
    used rack. ASSUMPTION where a run does not say: the scheduler packs whole trays evenly."""
    return max(d for d in range(gpus_per_node, domain + 1, gpus_per_node) if gpus % d == 0)


def rack_scale(accelerator: str) -> bool:
    """Whether the part's scale-up domain spans nodes (GB200 and GB300 NVL72, MI450X Helios: 72
    GPUs over 18 compute trays of ``node_gpus`` = 4, data/network_platforms.csv)."""
    from .. import fabric as _fab  # lazy: fabric imports this module

    return catalog.accelerator(accelerator).scaleup_domain > int(_fab.platform(accelerator)["node_gpus"])


def own_node_layout(accelerator: str, gpus: int, field_: str = "gpus") -> dict:
    """The [hardware] keys that hold ``gpus`` GPUs of ``accelerator`` in whole nodes of its own
    size: ``gpus_per_node`` = the part's node (``node_gpus`` of data/network_platforms.csv: an
    8-GPU baseboard, a rack-scale part's 4-GPU compute tray), ``nodes`` = gpus / that, and
    ``domain_gpus``: None (derived) unless a rack-scale domain is left partly used, then
    :func:`whole_node_domain_gpus` (1,024 GB200 or MI450X: 16 racks of 64, 16 of each rack's 18
    trays; the same ASSUMPTION, the scheduler packs whole trays evenly). The callers that size a
    cluster by its GPU count (the network and training explorers, ``training_throughput``,
    ``largest_model(search_plans=True)``) use it, so a rack-scale part is neither counted in
    8-GPU nodes (:class:`~infra_lab.errors.NodeSizeWarning`) nor refused for a GPU count that
    is not a multiple of its 72-GPU rack. ``gpus`` not a whole number of nodes is refused
    naming ``field_``.

    Examples
    --------
    >>> own_node_layout("GB200", 1024)
    {'gpus_per_node': 4, 'nodes': 256, 'domain_gpus': 64}
    >>> own_node_layout("MI300X", 1024)
    {'gpus_per_node': 8, 'nodes': 128, 'domain_gpus': None}
    """
    from .. import fabric as _fab  # lazy: fabric imports this module

    acc = catalog.canonical_accelerator(accelerator)
    node = int(_fab.platform(acc)["node_gpus"])
    g = _int(field_, gpus)
    if g % node:
        lo = g // node * node
        raise ValidationError(f"{field_} = {g:,}: not a whole number of {acc} nodes of {node} GPUs (node_gpus, "
                              f"data/network_platforms.csv); allowed multiples of {node}, e.g. "
                              f"{' or '.join(f'{x:,}' for x in (lo, lo + node) if x > 0)}")
    out: dict[str, Any] = {"gpus_per_node": node, "nodes": g // node, "domain_gpus": None}
    domain = catalog.accelerator(acc).scaleup_domain
    if domain > node and g > domain and g % domain:
        out["domain_gpus"] = whole_node_domain_gpus(g, node, domain)
    return out


def moved_hardware(hw: HardwareConfig, accelerator: str) -> dict:
    """The change of a [hardware] table (for :meth:`Scenario.replace` / :func:`updated_table`)
    that moves the job to ``accelerator`` with the same number of GPUs. A table in whole nodes
    of its own part (``gpus_per_node`` = its ``node_gpus``, as ZAYA1's 128 × 8 MI300X), or any
    table moved to a rack-scale part, takes the new part's own nodes (:func:`own_node_layout`:
    1,024 MI300X become 256 GB200 trays of 4 in 16 racks of 64); a table of partly used nodes
    (``gpus_per_node = 4`` on an 8-GPU MI300X baseboard) keeps its nodes and GPUs per node. A
    part whose host CPU is integrated in its module (GB200/GB300: Grace, :func:`integrated_host`)
    takes that host, stated, so a discrete host given in ``hw`` (ZAYA1's Xeon 8570) is not
    carried over nor warned about: the move is the package's, not an input the user typed."""
    from .. import fabric as _fab  # lazy: fabric imports this module

    acc = catalog.canonical_accelerator(accelerator)
    host = integrated_host(acc)
    own = {} if host is None else {"host_cpu": host}
    if hw.gpus_per_node != int(_fab.platform(hw.accelerator)["node_gpus"]) and not rack_scale(acc):
        return {"accelerator": acc, **own}
    return {"accelerator": acc, **own_node_layout(acc, hw.world_size, "hardware.nodes x gpus_per_node"), **own}


LEGACY_NIC = "Pollara-400"
"""The NIC every [hardware] table without ``nic`` got before December 2026, whatever the
accelerator. Kept only for a part without a row in data/default_nics.csv (the announced
MI450X), so that its tables still load as before; name the NIC for such a part."""


def _catalog_nic(accelerator: Any) -> str | None:
    """:func:`infra_lab.catalog.default_nic` of ``accelerator`` (the one owner), or None for a
    part without a row in data/default_nics.csv (or a value that is not a catalog name)."""
    try:
        return catalog.default_nic(accelerator)
    except (InfraLabError, TypeError, AttributeError):
        return None


def _default_nic(accelerator: str) -> str:
    """The NIC a [hardware] table without ``nic`` gets: the accelerator's catalog default, or
    :data:`LEGACY_NIC` for a part without a row there."""
    return _catalog_nic(accelerator) or LEGACY_NIC


TO_DICT_EDIT_HINT = (
    "A [hardware] table from Scenario.to_dict() holds the keys the table derives (scaleup_domain, nic, host_cpu, "
    "pxn, nics_per_node, domain_gpus) as if given, so they keep their old values when what they derive from is "
    "edited: make the edit with sc.replace(hardware={...}) (a key held at its derived value follows it), or "
    "leave those keys out of the table")
"""What a complete [hardware] table refused for a derived key adds to its error (the table of
``Scenario.to_dict()`` edited in place; :meth:`HardwareConfig.from_dict`)."""

# --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class HardwareConfig:
    """The [hardware] table: which accelerator, how many, how they are joined.

    Validated on construction, whether built from a dict (:meth:`from_dict`) or directly
    (``HardwareConfig("MI300X", nodes=0)`` raises :class:`ValidationError`); defaults
    (``None``) are resolved, so a built object has no ``None`` fields.

    Attributes
    ----------
    accelerator : catalog name (canonical after validation); required: a table or call
        without it is refused rather than read as some default accelerator
    nodes : number of nodes (servers, or compute trays of a rack-scale system) [-]; default 1
    gpus_per_node : accelerators the job uses in each node [-]; at most the node's physical
        GPUs (``data/network_platforms.csv``: 8 for MI300X/H100/B200, 4 per GB200 tray);
        default 8
    scaleup_domain : accelerators in the PHYSICAL scale-up domain (xGMI mesh, NVLink/NVSwitch
        node, 72 for an NVL72 rack) [-]; at most the catalog's domain. Default:
        gpus_per_node, or the catalog's domain for rack-scale parts whose domain spans
        nodes (GB200/GB300). It may exceed what the job uses: ``gpus_per_node = 2,
        scaleup_domain = 8`` on MI300X is a 2-GPU job on an 8-GPU node (one xGMI link joins
        its two GPUs); ``nodes = 2, gpus_per_node = 4, scaleup_domain = 72`` on GB200 is an
        8-GPU job inside one NVL72 rack (full NVLink among its 8). See ``domain_gpus``.
    nic : catalog NIC name. Default: the accelerator's default back-end NIC,
        :func:`infra_lab.catalog.default_nic` (data/default_nics.csv: Pollara-400 on AMD
        parts, ConnectX-7 on DGX H100/H200/B200, ...); an accelerator without a row there
        (the announced MI450X) keeps the earlier default, :data:`LEGACY_NIC` (name it)
    nics_per_node : back-end NICs the job's GPUs of a node use [-] (default gpus_per_node;
        at most 4 per GPU)
    fabric : "rails-only" | "rail-optimized" | "fat-tree"
    oversubscription : fabric oversubscription ratio (1.0 = non-blocking, at most 16) [-]
    host_cpu : host CPU (``data/network_host_cpus.csv``); its vendor sets NCCL/RCCL's
        per-message network overhead (and its architecture NCCL's x86-only NVLS-tree tuner
        correction on Blackwell). Default: the accelerator's reference platform. A part whose
        host is integrated in its module (GB200/GB300: Grace; ``host_integrated`` in
        data/network_platforms.csv) allows only that host; any other is refused
    pxn : PXN (forwarding cross-rail traffic through the scale-up fabric to the NIC of the
        destination's rail) on or off. Default: the library's default — on for NCCL
        (``NCCL_PXN_DISABLE=0``), off for RCCL (ROCm/rccl#1209)
    sharp : the scale-out switches reduce in-network (InfiniBand SHARP); enables NCCL's
        CollNet algorithms and multi-node NVLS. Default false; refused on an RCCL platform,
        for which the model has no in-network reduction
    domain_gpus : the job's GPUs in each scale-up domain [-] (what a collective's ``k`` may
        reach). Default: scaleup_domain when a node holds several domains; gpus_per_node for
        part of one node's domain (2 of an MI300X node's 8); gpus_per_node × the job's nodes in
        a rack-scale domain (NVL72), up to a full rack. Set it for partial racks: 64 trays × 4
        GB200 with 16 of each rack's 18 trays → domain_gpus = 64 (4 racks)

    Physical bounds (refused with a ValidationError): world size at most
    ``max_world_gpus`` (10^6, Ultra Ethernet's design target), gpus_per_node within the
    node, scaleup_domain within the catalog's domain, nics_per_node <= 4 x gpus_per_node,
    1 <= oversubscription <= 16 (``data/network_constants.csv``).
    """

    accelerator: str | None = None
    nodes: int = 1
    gpus_per_node: int = 8
    scaleup_domain: int | None = None
    nic: str | None = None
    nics_per_node: int | None = None
    fabric: str = "rail-optimized"
    oversubscription: float = 1.0
    host_cpu: str | None = None
    pxn: bool | None = None
    sharp: bool = False
    domain_gpus: int | None = None

    KEYS = ("accelerator", "nodes", "gpus_per_node", "scaleup_domain", "nic", "nics_per_node",
            "fabric", "oversubscription", "host_cpu", "pxn", "sharp", "domain_gpus")

    def __post_init__(self) -> None:
        from .. import fabric as _fab  # lazy: fabric imports this module

        put = object.__setattr__
        if self.accelerator is None:
            raise ValidationError(
                "hardware.accelerator: required (no default accelerator); give a catalog name, one of "
                f"{', '.join(catalog.accelerator_names())} (aliases such as 'MI300X' or 'H100' work)")
        for name in ("accelerator", "nic"):
            if not isinstance(getattr(self, name), str) and (name == "accelerator" or self.nic is not None):
                raise ValidationError(f"hardware.{name} = {getattr(self, name)!r}: expected a catalog name (string)")
        acc = _catalog_name("accelerator", self.accelerator)
        put(self, "accelerator", acc)
        put(self, "nic", _catalog_name("nic", self.nic) if self.nic is not None else
            catalog.canonical_nic(_default_nic(acc)))
        spec = catalog.accelerator(acc)
        plat = _fab.platform(acc)
        cap = _fab.constant
        nodes = _int("hardware.nodes", self.nodes)
        gpn = _int("hardware.gpus_per_node", self.gpus_per_node)
        max_gpn = spec.scaleup_domain if spec.scaleup_domain > plat["node_gpus"] else plat["node_gpus"]
        if gpn > max_gpn:
            raise ValidationError(
                f"hardware.gpus_per_node = {gpn}: a {acc} node holds at most {max_gpn} GPUs "
                f"(network_platforms.csv / accelerators.csv); allowed 1..{max_gpn}"
            )
        max_world = int(cap("max_world_gpus"))
        if nodes * gpn > max_world:
            raise ValidationError(
                f"hardware.nodes = {nodes}: {nodes} x {gpn} GPUs exceeds the {max_world:,}-GPU bound "
                f"(max_world_gpus in network_constants.csv); allowed nodes <= {max_world // gpn:,}"
            )
        sud = self.scaleup_domain
        if sud is None:
            sud = spec.scaleup_domain if spec.scaleup_domain > plat["node_gpus"] else gpn
        sud = _int("hardware.scaleup_domain", sud)
        if sud > spec.scaleup_domain:
            raise ValidationError(
                f"hardware.scaleup_domain = {sud}: the {acc} scale-up domain ({spec.scaleup_tech}) "
                f"holds at most {spec.scaleup_domain} GPUs; allowed 1..{spec.scaleup_domain}"
            )
        if sud < gpn and gpn % sud:
            raise ValidationError(f"hardware.scaleup_domain = {sud}: must divide gpus_per_node = {gpn} "
                                  f"when smaller than it (a node of several domains)")
        node = plat["node_gpus"]
        if sud <= gpn:
            dg_default = sud                      # a node of one or several domains
        elif sud <= node:
            dg_default = gpn                      # part of one physical node's domain
        else:                                     # a rack-scale domain spanning nodes (NVL72)
            unit = max(gpn, node)
            if sud % unit:
                raise ValidationError(
                    f"hardware.scaleup_domain = {sud}: a domain spanning nodes must hold whole nodes of "
                    f"{unit} GPUs; allowed multiples of {unit} up to {spec.scaleup_domain}"
                )
            dg_default = gpn * min(nodes, sud // unit)
        if self.domain_gpus is None:
            dg = dg_default
        else:
            dg = _int("hardware.domain_gpus", self.domain_gpus)
            if sud <= node and dg != dg_default:
                raise ValidationError(
                    f"hardware.domain_gpus = {dg}: inside one node the job's GPUs per scale-up domain follow "
                    f"from gpus_per_node and scaleup_domain; allowed {dg_default} (or leave it out)"
                )
            per_max = sud // max(gpn, node) * gpn
            if sud > node and (dg % gpn or dg > per_max):
                raise ValidationError(
                    f"hardware.domain_gpus = {dg}: a rack-scale domain holds whole nodes of the job: "
                    f"allowed multiples of gpus_per_node = {gpn} up to {per_max}"
                )
        if (nodes * gpn) % dg and self.domain_gpus is not None and sud > node:
            fits = [g for g in range(gpn, sud // max(gpn, node) * gpn + 1, gpn) if (nodes * gpn) % g == 0]
            raise ValidationError(
                f"hardware.domain_gpus = {dg}: the job's {nodes} x {gpn} = {nodes * gpn} GPUs do not fill whole "
                f"scale-up domains of {dg}; allowed domain_gpus for {nodes} nodes: {', '.join(map(str, fits))} "
                f"(or use a multiple of {dg // gpn} nodes)"
            )
        if (nodes * gpn) % dg and sud > node:
            # a rack-scale domain (NVL72, Helios) said in racks, GPUs and trays: "use a multiple of 9
            # nodes" of 8 read as 8-GPU servers of a part whose nodes are 4-GPU trays (MI450X)
            world, per = nodes * gpn, dg // gpn
            fits = [g for g in range(gpn, sud // max(gpn, node) * gpn + 1, gpn) if world % g == 0]
            lo = world // dg * per
            best = max(fits)
            raise ValidationError(
                f"hardware.nodes = {nodes}: {nodes} x {gpn} = {world:,} GPUs do not fill whole scale-up domains of "
                f"{sud} ({acc} racks: {spec.scaleup_tech}, {sud // node} compute trays of {node}); use whole racks "
                f"of {dg} GPUs (nodes a multiple of {per}: "
                f"{' or '.join(f'{n:,} nodes = {n * gpn:,} GPUs' for n in (lo, lo + per) if n > 0)}) or set "
                f"hardware.domain_gpus to the job's GPUs per rack, one of {', '.join(map(str, fits))} "
                f"({best} = {best // node} of each rack's {sud // node} trays)"
            )
        if (nodes * gpn) % dg:
            raise ValidationError(
                f"hardware.nodes = {nodes}: {nodes} x {gpn} GPUs do not fill whole scale-up domains of "
                f"{dg} of the job's GPUs; use a multiple of {dg // gpn if dg >= gpn else 1} nodes or set "
                f"hardware.domain_gpus"
            )
        put(self, "domain_gpus", dg)
        put(self, "nodes", nodes)
        put(self, "gpus_per_node", gpn)
        put(self, "scaleup_domain", sud)
        npn = gpn if self.nics_per_node is None else _int("hardware.nics_per_node", self.nics_per_node)
        max_npg = int(cap("max_nics_per_gpu"))
        if npn > max_npg * gpn:
            raise ValidationError(
                f"hardware.nics_per_node = {npn}: at most {max_npg} back-end NICs per GPU "
                f"(max_nics_per_gpu); allowed 1..{max_npg * gpn} for {gpn} GPUs per node"
            )
        put(self, "nics_per_node", npn)
        put(self, "fabric", _enum("hardware.fabric", self.fabric, FABRICS))
        from .. import _validate

        max_ov = cap("max_oversubscription")
        ov = _validate.number("hardware.oversubscription", self.oversubscription, lo=1.0, hi=max_ov,
                              allowed=f"in 1.0 (non-blocking) .. {max_ov:g} (max_oversubscription)")
        put(self, "oversubscription", float(ov))
        host = plat["default_host_cpu"] if self.host_cpu is None else self.host_cpu
        if not isinstance(host, str):
            raise ValidationError(f"hardware.host_cpu = {host!r}: expected a host CPU name (string)")
        host = _fab.host_cpu(host)["name"]
        own = integrated_host(acc)
        if own is not None and host != own:
            # GB200/GB300: the Grace CPUs are part of the superchips; a Xeon here was accepted
            # and priced (Intel's per-message overhead, the x86-only NVLS-tree correction)
            raise ValidationError(
                f"hardware.host_cpu = {self.host_cpu!r}: a {acc} node's host CPU is the {own} of its "
                f"superchip (host_integrated in data/network_platforms.csv), not a separate choice; "
                f"allowed {own!r} (or leave host_cpu out)")
        put(self, "host_cpu", host)
        pxn = self.pxn
        if pxn is None:
            pxn = plat["library"] == "nccl"
        put(self, "pxn", _bool("hardware.pxn", pxn))
        put(self, "sharp", _bool("hardware.sharp", self.sharp))
        if self.sharp and plat["library"] != "nccl":
            # accepted and ignored before: the collective model prices in-network reduction only
            # through NCCL's CollNet algorithms
            raise ValidationError(f"hardware.sharp = {self.sharp!r}: in-network reduction is priced through NCCL's "
                                  f"CollNet algorithms (InfiniBand SHARP switches) only; {self.accelerator}'s "
                                  f"collective library is {str(plat['library']).upper()}, for which the model has "
                                  "no such path; allowed: false")

    @classmethod
    def from_dict(cls, d: dict) -> HardwareConfig:
        """Validate a [hardware] table (dict) or pass through an existing HardwareConfig.

        A complete table (every key, as :meth:`to_dict` writes it) refused for a key the table
        derives (``domain_gpus``, ``nics_per_node``, ...) is most likely ``Scenario.to_dict()``'s
        table with a key it derives from edited (``gpus_per_node = 4`` next to the written-out
        ``domain_gpus = 8``): the error says so and names :meth:`Scenario.replace`, which applies
        such an edit (:func:`updated_table`)."""
        if isinstance(d, HardwareConfig):
            return d
        _check_keys("hardware", d, cls.KEYS)
        try:
            return cls(**d)
        except ValidationError as e:
            msg = str(e)
            if set(cls.KEYS) <= set(d) and any(msg.startswith(f"hardware.{k} = ") for k in _DERIVED_FROM):
                raise type(e)(f"{msg}. {TO_DICT_EDIT_HINT}") from None
            raise


    @property
    def world_size(self) -> int:
        """Total accelerators the job uses = nodes × gpus_per_node."""
        return self.nodes * self.gpus_per_node

    @property
    def domains(self) -> int:
        """Scale-up domains the job spans [-]."""
        return self.world_size // self.domain_gpus

    @property
    def accelerator_spec(self) -> catalog.Accelerator:
        return catalog.accelerator(self.accelerator)

    @property
    def nic_spec(self) -> catalog.Nic:
        return catalog.nic(self.nic)

    def to_dict(self) -> dict:
        return {k: getattr(self, k) for k in self.KEYS}


def node_size_note(table: Any, hw: HardwareConfig) -> str | None:
    """The note a [hardware] table earns when it leaves ``gpus_per_node`` out on a part whose
    node (compute tray, ``node_gpus`` of data/network_platforms.csv) holds fewer GPUs than the
    default of 8 and whose scale-up domain spans nodes (GB200 and GB300 NVL72, MI450X): the
    default makes ``nodes`` count 8-GPU nodes, two trays each. None otherwise (the key given, a
    part with 8-GPU nodes, or not a dict).

    Examples
    --------
    >>> hw = HardwareConfig.from_dict({"accelerator": "GB200", "nodes": 18})
    >>> node_size_note({"accelerator": "GB200", "nodes": 18}, hw).split(":")[0]
    'hardware.gpus_per_node not given'
    >>> node_size_note({"accelerator": "GB200", "nodes": 18, "gpus_per_node": 4}, hw) is None
    True
    """
    from .. import fabric as _fab  # lazy: fabric imports this module

    if not isinstance(table, dict) or "gpus_per_node" in table:
        return None
    tray = int(_fab.platform(hw.accelerator)["node_gpus"])
    domain = hw.accelerator_spec.scaleup_domain
    default = HardwareConfig.__dataclass_fields__["gpus_per_node"].default
    if tray >= default or domain <= tray:
        return None
    racks = hw.world_size / domain
    span = (f"{racks:g} rack{'' if racks == 1 else 's'} of {domain}" if racks >= 1
            else f"part of one {domain}-GPU rack")
    return (f"hardware.gpus_per_node not given: the default is {default} GPUs per node for every part, while "
            f"a {hw.accelerator} compute tray holds {tray} (node_gpus, data/network_platforms.csv), so "
            f"nodes = {hw.nodes} is {hw.world_size} GPUs ({span}); "
            f"for one rack of {domain} say nodes = {domain // tray}, gpus_per_node = {tray} "
            f"(or nodes = {domain // default} at the default)")


def warn_node_size(table: Any, hw: HardwareConfig) -> None:
    """A :class:`~infra_lab.errors.NodeSizeWarning` with :func:`node_size_note`'s text, when
    there is one."""
    note = node_size_note(table, hw)
    if note is not None:
        warnings.warn(note, NodeSizeWarning, stacklevel=user_stacklevel())


def as_hardware(hardware: Any, field_: str = "hardware") -> HardwareConfig:
    """The one coercion of "some hardware" to a validated :class:`HardwareConfig`.

    Accepts a HardwareConfig (returned as is: validated on construction), a Scenario or any
    object whose ``hardware`` attribute is a HardwareConfig (e.g. a ``fabric.Fabric``), the
    [hardware] table as a dict (validated), a Scenario's dict (``Scenario.to_dict()``: its
    [hardware] table only, as for a file), or a shipped scenario's name / a Scenario TOML
    (or JSON) path / a file of [hardware] keys alone (:func:`hardware_table_of`: only the
    [hardware] table is read and checked). Anything else raises ValidationError naming
    ``field_``. ``cluster``, ``fabric`` and ``reliability`` call this instead of keeping
    their own versions.

    Examples
    --------
    >>> as_hardware({"accelerator": "MI300X", "nodes": 2}).world_size
    16
    """
    if isinstance(hardware, HardwareConfig):
        return hardware
    inner = getattr(hardware, "hardware", None)
    if isinstance(inner, HardwareConfig):
        return inner
    if isinstance(hardware, dict):
        if isinstance(hardware.get("hardware"), dict) and "accelerator" not in hardware:
            # a Scenario's dict (Scenario.to_dict(), json.load of a scenario file): its [hardware]
            # table, as a Scenario file's is read (the dict was refused as "unknown key 'hardware.name'")
            table = hardware["hardware"]
        else:
            table = hardware
        hw = HardwareConfig.from_dict(table)
        warn_node_size(table, hw)
        return hw
    if isinstance(hardware, (str, os.PathLike)) and not isinstance(hardware, bytes):
        # A shipped scenario's name or a file, as the CLI's --hardware takes it: its [hardware] table only
        table = hardware_table_of(hardware, field_)
        try:
            hw = HardwareConfig.from_dict(table)
        except InfraLabError as e:
            shown = "the TOML text" if "\n" in str(hardware) else repr(str(hardware))
            raise type(e)(f"{field_} = {shown}: {e}") from None
        warn_node_size(table, hw)
        return hw
    raise ValidationError(f"{field_} = {hardware!r}: expected a Scenario, a HardwareConfig, the "
                          "[hardware] table as a dict, a shipped scenario's name or a Scenario TOML path")


def hardware_table_of(source: str | os.PathLike, field_: str = "hardware") -> dict:
    """The [hardware] table (a plain dict, not yet checked) of a shipped scenario's name, a
    Scenario file (TOML, or JSON: :func:`infra_lab.scenario.files.read_tables`) or TOML text; a
    file of [hardware] keys alone (no tables) is that table. Only the [hardware] table is read:
    a hardware-only file needs no [model] or [training]. :func:`as_hardware` and
    ``infra-lab collective --hardware`` read files through this. A file without a [hardware]
    table (a scenario missing it, or an empty file) is refused naming the file and what it has.

    >>> hardware_table_of("zaya1-ibm-mi300x")["nodes"]
    128
    """
    from .files import FILE_SUFFIXES, read_tables
    from .shipped import SCENARIO_DIR, _shipped_name, _source_hint

    text = isinstance(source, str) and "\n" in source
    if not text:
        p = Path(source)
        if not (str(p).lower().endswith(FILE_SUFFIXES) or p.exists()):
            shipped = _shipped_name(str(source))
            if shipped is None:
                raise ValidationError(f"{field_} = {str(source)!r}: not a shipped scenario's name, nor a .toml or "
                                      f".json file{_source_hint(str(source))}")
            source = SCENARIO_DIR / f"{shipped}.toml"
    d = read_tables(source, what="hardware file")
    shown = "the TOML text" if text else repr(str(source))
    if "hardware" in d:
        if not isinstance(d["hardware"], dict):
            raise ValidationError(f"{field_} = {shown}: its hardware = {d['hardware']!r}: expected a [hardware] "
                                  "table (accelerator = ..., nodes = ...)")
        return dict(d["hardware"])
    tables = [k for k in ("name", "model", "training", "parallelism", "serving") if k in d]
    if tables or not d:
        has = f"it has {', '.join(tables)}" if tables else "it is empty"
        raise ValidationError(f"{field_} = {shown}: no [hardware] table ({has}); expected a Scenario file with a "
                              "[hardware] table, or a file of [hardware] keys alone (accelerator = ..., nodes = ...)")
    return dict(d)      # a file of [hardware] keys alone


# Keys HardwareConfig fills in from other keys when they are absent, and the keys they follow
# (to_dict writes them all out, so a table edited after to_dict holds them as if given).
_DERIVED_FROM = {
    "scaleup_domain": ("accelerator",),          # the accelerator's physical domain
    "nic": ("accelerator",),                     # the accelerator's default NIC (catalog.default_nic)
    "host_cpu": ("accelerator",),                # the platform's host
    "pxn": ("accelerator",),                     # the library's default (NCCL on, RCCL off)
    "nics_per_node": ("gpus_per_node",),         # one NIC per GPU
    "domain_gpus": ("accelerator", "nodes", "gpus_per_node", "scaleup_domain"),
}


def _outgrows(domain: Any, gpus_per_node: Any) -> bool:
    """Whether a new ``gpus_per_node`` exceeds a held scale-up domain (both plain integers)."""
    ok = all(isinstance(x, int) and not isinstance(x, bool) for x in (domain, gpus_per_node))
    return ok and gpus_per_node > domain


def updated_table(table: Any, changes: dict) -> dict:
    """The [hardware] table ``table`` (a dict or HardwareConfig) with ``changes`` applied, the
    way :meth:`Scenario.replace` and ``infra-lab sweep`` apply them: a key the table holds at
    the value the rest of it would derive (scaleup_domain, host_cpu, pxn and nic from the
    accelerator, nics_per_node from gpus_per_node, domain_gpus from the node layout) follows a
    change of what it derives from, unless ``changes`` names it; every other key keeps its
    value; the keys that follow are left out of the result, for HardwareConfig to derive. A
    scale-up domain held at a smaller node's gpus_per_node follows a larger gpus_per_node (it
    would otherwise split the node into several domains); a smaller one keeps the node's domain.
    When the accelerator changes, a key the old table gave that the new part cannot have is
    left out for HardwareConfig to derive, with a :class:`~infra_lab.errors.PartBoundWarning`
    naming the key, the old and the new value: a discrete host CPU on a part whose host is
    integrated (GB200/GB300's Grace, :func:`integrated_host`), a ``scaleup_domain`` or
    ``domain_gpus`` the new part refuses (GB200's partial racks on an 8-GPU node). The
    deployment's choices stay (nodes, gpus_per_node, nic, fabric, oversubscription, pxn, sharp,
    a discrete host on a part with a discrete host: ZAYA1's Xeon 8570 on MI355X, where it sets
    the per-message network overhead), and a value the new part refuses among them is refused
    by HardwareConfig with a ValidationError naming the key.
    Without this, a table written out by ``to_dict`` kept MI300X's 8-GPU xGMI domain
    when the accelerator became GB200 (an NVL72 priced as 8-GPU NVLink domains, silently) and
    refused ``gpus_per_node = 4`` for its stale ``domain_gpus = 8``.

    Examples
    --------
    >>> hw = HardwareConfig.from_dict({"accelerator": "MI300X", "nodes": 2}).to_dict()
    >>> new = HardwareConfig.from_dict(updated_table(hw, {"gpus_per_node": 4}))
    >>> new.nics_per_node, new.domain_gpus, new.scaleup_domain
    (4, 4, 8)
    """
    from ..errors import InfraLabError

    old = table.to_dict() if isinstance(table, HardwareConfig) else dict(table)
    out = {**old, **changes}
    moved = {k for k, v in changes.items() if k not in old or old[k] != v}
    for key, inputs in _DERIVED_FROM.items():
        if key == "scaleup_domain" and _outgrows(old.get(key), changes.get("gpus_per_node")):
            # a domain derived from a smaller node's gpus_per_node (H100 at 4 -> scaleup_domain 4)
            # would split the larger node into several domains (8 GPUs as two 4-GPU NVLink
            # domains, silently); a smaller gpus_per_node keeps the node's domain (2 of 8)
            inputs = (*inputs, "gpus_per_node")
        if key in changes or old.get(key) is None or not moved.intersection(inputs):
            continue
        try:
            derived = HardwareConfig.from_dict({k: v for k, v in old.items() if k != key}).to_dict()[key]
        except InfraLabError:   # the old table needs the key as given: keep it
            continue
        if key == "nic" and "accelerator" in moved and _catalog_nic(out.get("accelerator")) is None:
            continue    # the new part has no default NIC (data/default_nics.csv): keep the one held
        if derived == old[key]:
            del out[key]
    if "accelerator" in moved:
        if "host_cpu" not in changes and out.get("host_cpu") is not None:
            _follow_integrated_host(out)
        held = tuple(k for k in ("scaleup_domain", "domain_gpus") if k not in changes and out.get(k) is not None)
        if held:
            _follow_refused_domain(out, held)
    return out


def _follow_refused_domain(out: dict, keys: tuple[str, ...]) -> None:
    """The scale-up domain keys (``scaleup_domain``, ``domain_gpus``) the old table gave
    explicitly that the new accelerator refuses (GB200's partial racks, ``domain_gpus = 64``, on
    an 8-GPU B200 node, where the domain follows from the node; a 36-GPU ``scaleup_domain`` on
    H100) are left out of ``out`` for HardwareConfig to derive, each with a
    :class:`~infra_lab.errors.PartBoundWarning` naming the key, the old and the new value. Only
    when the table is refused for such a key and builds without them; any other refusal stays
    the user's to read (the keys are kept)."""
    dropped: dict[str, Any] = {}
    while True:
        try:
            hw = HardwareConfig.from_dict(out)
            break
        except InfraLabError as e:
            key = next((k for k in keys if k in out and str(e).startswith(f"hardware.{k} = ")), None)
            if key is None:
                out.update(dropped)     # refused for another key: the table as the user has it
                return
            dropped[key] = out.pop(key)
    acc = hw.accelerator
    for key, held in dropped.items():
        warnings.warn(f"hardware.{key} = {held!r} replaced by {getattr(hw, key)!r}: the accelerator is now {acc}, "
                      f"whose scale-up domain refuses the old table's value (name hardware.{key} in the change to "
                      f"choose another)", PartBoundWarning, stacklevel=user_stacklevel())


def _catalog_name(key: str, name: str) -> str:
    """The canonical catalog name of ``hardware.<key>`` (``accelerator`` or ``nic``); an unknown
    name is reported with the field's dotted path, the nearest valid names and all of them."""
    canon, names, kind, table = ((catalog.canonical_accelerator, catalog.accelerator_names, "accelerator",
                                  catalog.accelerators) if key == "accelerator"
                                 else (catalog.canonical_nic, catalog.nic_names, "NIC", catalog.nics))
    try:
        return canon(name)
    except UnknownNameError:
        raise unknown(kind, name, names(), where=f"hardware.{key}", aliases=catalog._index(table(), kind)) from None


def integrated_host(accelerator: Any) -> str | None:
    """The host CPU built into ``accelerator``'s module, the only host it can have (GB200 and
    GB300: Grace, ``host_integrated`` in data/network_platforms.csv), or None for a part with a
    discrete host (a deployment choice) or a value that is not a catalog name (HardwareConfig
    reports it).

    >>> integrated_host("GB200"), integrated_host("MI300X")
    ('Grace', None)
    """
    from .. import fabric as _fab  # lazy: fabric imports this module

    try:
        plat = _fab.platform(accelerator)
    except (InfraLabError, TypeError, AttributeError):
        return None
    return _fab.host_cpu(plat["default_host_cpu"])["name"] if plat["host_integrated"] else None


def _follow_integrated_host(out: dict) -> None:
    """A host CPU the old table gave explicitly (ZAYA1's Xeon 8570) that the new accelerator
    cannot have (its host is integrated: GB200/GB300's Grace) is left out of ``out``, so that
    HardwareConfig derives the part's own host, with a :class:`~infra_lab.errors.PartBoundWarning`
    naming the key, the old and the new value. A discrete host stays: on a part with a discrete
    host it is the deployment's choice (ZAYA1's Xeon on B200, H100 or MI355X)."""
    from .. import fabric as _fab  # lazy: fabric imports this module

    own = integrated_host(out.get("accelerator"))
    if own is None:
        return
    held = out["host_cpu"]
    try:
        same = _fab.host_cpu(held)["name"] == own
    except InfraLabError:       # not a host CPU name: HardwareConfig refuses it, naming the catalog's
        return
    if same:
        return
    del out["host_cpu"]
    acc = catalog.canonical_accelerator(out["accelerator"])
    warnings.warn(f"hardware.host_cpu = {held!r} replaced by {own!r}: the accelerator is now {acc}, whose host "
                  f"CPU is the {own} of its superchip (host_integrated in data/network_platforms.csv); the "
                  f"{held} host of the old table cannot hold it", PartBoundWarning, stacklevel=user_stacklevel())
