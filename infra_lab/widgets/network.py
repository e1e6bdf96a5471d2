"""Interconnect explorer: message size, GPUs, NIC, topology and routing move the collective
cost (analytic model) and the flow-level step efficiency at the chosen routing.

The callback does no modelling: :func:`network_update` calls
:func:`infra_lab.collectives.collective`, :func:`infra_lab.collectives.sweep` and
:func:`infra_lab.fabric.simulate_step`, so tests call it directly.
"""

from __future__ import annotations

import warnings
from typing import Any

import ipywidgets as W

from .. import collectives as C
from .. import fabric as F
from ..charts import network as charts
from ..errors import NicFeatureWarning, ValidationError
from ..scenario import HardwareConfig
from ..scenario.hardware_table import own_node_layout

__all__ = ["network_update", "network_explorer", "network_dashboard"]


def _in_widget_terms(err: Exception, gpus: int, hw: dict[str, Any]) -> str:
    """The library's message with its hint for Python callers (:data:`infra_lab.collectives.
    PLACEMENT_HINT`, "pass per_node=", a keyword the explorer has not got) put as what the
    explorer can change: the GPU count, with the nearest multiples of the scale-up domain of the
    cluster ``hw`` (the table ``il.collective`` was given)."""
    text = str(err)
    if not text.endswith(C.PLACEMENT_HINT):
        return text
    domain = F.hardware_config(hw).domain_gpus     # the library's placement unit (il.collective's)
    below, above = (int(gpus) // domain) * domain, (int(gpus) // domain + 1) * domain
    near = f"{below:,} or {above:,}" if below > 0 else f"{above:,}"
    return (text[:-len(C.PLACEMENT_HINT)] + "the explorer places ranks domain by domain: "
            f"set the GPU count to {near}")


def network_update(size_bytes: float = 2**28, gpus: int = 1024, accelerator: str = "MI300X",
                   nic: str | None = None, fabric: str = "rails-only", routing: str = "ecmp",
                   op: str = "all_reduce", seed: int = 0, pxn: bool | None = None,
                   host_cpu: str | None = None) -> dict[str, Any]:
    """Recompute the explorer for one set of inputs.

    Parameters
    ----------
    size_bytes : collective size S [B]
    gpus : ranks [-] (the cluster is sized to hold them: ceil(gpus / g) nodes of the
        accelerator's own node size g, ``node_gpus`` of data/network_platforms.csv — 8, or a
        rack-scale part's 4-GPU tray — given as ``gpus_per_node``, so GB200, GB300 and MI450X
        earn no :class:`~infra_lab.errors.NodeSizeWarning`; a rack-scale cluster that does not
        fill whole 72-GPU racks uses the same number of trays in each,
        :func:`infra_lab.scenario.hardware_table.own_node_layout`)
    accelerator, nic : catalog names (nic None: the accelerator's default NIC,
        :func:`infra_lab.catalog.default_nic`)
    fabric : "rails-only" | "rail-optimized" | "fat-tree"
    routing : "ecmp" | "spray" | "adaptive" (flow-level step efficiency)
    op : collective op
    pxn : PXN forwarding on/off (None: the library's default)
    host_cpu : host CPU (data/network_host_cpus.csv; None: the accelerator's default host,
        data/network_platforms.csv: AMD EPYC for MI300X). It sets the libraries' per-message
        network overhead (:func:`infra_lab.fabric.net_overhead_s`), so ZAYA1's cluster, on Intel
        Xeon 8570 hosts, is ``host_cpu="Xeon-Platinum-8570"``: without it the explorer times
        ZAYA1's 1,024 MI300X on the default AMD EPYC host, whose per-message overhead is larger,
        and its ring collectives come out slower than ZAYA1's (notebook 03 prints a 256 MiB
        reduce-scatter on both hosts)

    Returns
    -------
    dict: result (CollectiveResult, or None when the library cannot run it), routed
    (CollectiveResult with the simulated fabric efficiency), efficiency (flow-level η of one
    cross-leaf halving/doubling step), sweep (polars), chart (altair), text (HTML)
    """
    from .._validate import choice

    choice("routing", routing, F.ROUTINGS)   # checked whether or not a step is simulated (one node ignored a typo)
    node = HardwareConfig.from_dict({"accelerator": accelerator, "nodes": 1})
    # the part's own node (a GB200 tray of 4), stated: left out, the table counted 8-GPU nodes and
    # every GB200 / GB300 / MI450X call gave a NodeSizeWarning about an input the user never typed
    per_node = int(F.platform(node.accelerator)["node_gpus"])
    nic = node.nic if nic is None else nic     # None: the accelerator's default NIC (catalog.default_nic)
    nodes = max(1, -(-int(gpus) // per_node))
    hw = {"accelerator": accelerator, **own_node_layout(node.accelerator, nodes * per_node), "nic": nic,
          "fabric": fabric}
    if hw["domain_gpus"] is None:
        del hw["domain_gpus"]
    if pxn is not None:
        hw["pxn"] = bool(pxn)
    if host_cpu is not None:
        hw["host_cpu"] = F.host_cpu(host_cpu, where="host_cpu")["name"]
    try:
        res = C.collective(op, size_bytes, hw, gpus)
    except ValidationError as e:  # shown to the user, never swallowed silently
        return {"result": None, "routed": None, "efficiency": None, "sweep": None,
                "chart": charts.busbw_vs_size_chart(
                    _empty_sweep(), title=f"{op}: not runnable here"), "text": f"<b>Cannot run:</b> {_in_widget_terms(e, gpus, hw)}"}
    if res.gpus == 1:     # one rank exchanges nothing: "0.00 µs, busbw 0.0 MB/s with none/none" said it in code
        return {"result": res, "routed": res, "efficiency": None, "sweep": None,
                "chart": charts.busbw_vs_size_chart(_empty_sweep(), title=f"{op}: one GPU, nothing to exchange"),
                "text": f"<b>{op}</b> of {_size(size_bytes)} on 1 × {accelerator}: one rank, nothing to exchange "
                        "(no time, no bus bandwidth); choose 2 GPUs or more"}
    # the flow simulation's unit is the scale-up domain (fabric.step_flows): a node of an 8-GPU
    # part; on a rack-scale part a rack (8 GB200 are two trays of one partly used rack, not two
    # nodes: "needs a power-of-two node count; nodes = 1" read as a miscount). Notebook 03
    # section 7's synthetic step is the 8-GPU nodes' one; racks are not simulated here
    placed = HardwareConfig.from_dict(hw)
    doms = placed.domains
    in_node = placed.domain_gpus <= per_node
    eta, simulated = 1.0, in_node and doms >= 2 and doms & (doms - 1) == 0 and gpus == placed.world_size
    no_sim = ((f"the {gpus} GPUs share one scale-up domain (a rack of up to {placed.scaleup_domain}); the "
               f"synthetic step is simulated between whole nodes of an 8-GPU part (notebook 03 section 7), "
               f"not between racks." if doms < 2 else
               f"the synthetic step is simulated between whole nodes of an 8-GPU part (notebook 03 section 7), "
               f"not between this cluster's {doms} racks (scale-up domains of {placed.domain_gpus} GPUs).")
              if not in_node else "one node has no cross-leaf step." if doms < 2 else
              "the halving/doubling step is simulated on a power-of-two number of whole nodes.")
    if simulated:
        try:
            fl = F.step_flows("halving_doubling", hw, size_bytes, step=max(0, doms.bit_length() - 2))
        except ValidationError as e:   # a fabric of three or more tiers: the flow simulation covers
            # one and two (4,096 x 8 MI300X raised from the callback); the analytic cost stands
            simulated, no_sim = False, f"{e}."
        else:
            with warnings.catch_warnings():   # the text below says it (fabric.spray_note), not stderr
                warnings.simplefilter("ignore", NicFeatureWarning)
                eta = F.simulate_step(fl, hw, routing, seed).efficiency
    # the ring's own step (rail-matched flows, fabric.step_flows "ring"), simulated beside the
    # synthetic one: notebook 03 section 7 finds ECMP at η = 1 on it while the spine-crossing step
    # collides, and the explorer's time after the arrow is the latter's
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NicFeatureWarning)
        ring_eta = (F.simulate_step(F.step_flows("ring", hw, size_bytes), hw, routing, seed).efficiency
                    if simulated and res.algorithm == "ring" else None)
    # spraying over a NIC no source claims sprays (ConnectX-7): priced as ideal spraying, said so
    spray = F.spray_note(hw) if simulated and routing == "spray" else None
    routed = C.collective(op, size_bytes, hw, gpus, fabric_efficiency=max(min(eta, 1.0), 1e-3))
    sizes = [2.0**e for e in range(10, 35, 2)]
    sw = C.sweep(op, sizes, hw, gpus)
    sw = sw.with_columns(series=sw["accelerator"] + f" × {gpus}")
    chart = charts.busbw_vs_size_chart(sw, title=f"{op}: busbw vs size, {gpus} × {accelerator}")
    # Chan et al.'s bound holds for send/receive algorithms; NVLS and CollNet reduce in the switch
    # (collectives.lower_bound) and can beat it, which a bare "lower bound" above the time contradicts
    bound = (f"lower bound {_time(res.lower_bound_s)}" if res.time_s >= res.lower_bound_s else
             f"{res.algorithm} reduces in the switch, below the {_time(res.lower_bound_s)} lower bound "
             f"of send/receive algorithms")
    # CollectiveResult.nodes counts scale-up domains: a node on xGMI/NVLink-8 parts, a rack of
    # several nodes on NVL72 parts ("72 × GB200 (1 node" read as one 72-GPU node); counts in the plural
    # only when more than one ("1 node", "8 nodes", never "node(s)")
    where = (f"{res.nodes} node{'s' if res.nodes != 1 else ''}" if res.per_node <= per_node else
             f"{res.nodes} scale-up domain{'s' if res.nodes != 1 else ''} of {res.per_node} GPUs")
    host = placed.host_cpu + (" hosts" if host_cpu is not None else " hosts, the part's default")
    text = (f"<b>{op}</b> of {_size(size_bytes)} over {gpus:,} × {accelerator} "
            f"({where}, {fabric}, {nic}, {host}, {res.library.upper()}): <b>{_time(res.time_s)}</b>, "
            f"busbw {_rate(res.busbw_Bps)} with {res.algorithm}/{res.protocol}; "
            f"{bound}. " + (f"Flow-level η of a cross-leaf halving/doubling step with {routing}: {eta:.2f} → "
                            f"{_time(routed.time_s)} (notebook 03 section 7's synthetic step, each node exchanging "
                            f"with its partner in the other half of the cluster: the time if this "
                            f"collective's traffic met the same collisions)"
                            + ("." if ring_eta is None else
                               f"; the ring's own step, its flows rail-matched, simulates at η = {ring_eta:.2f}.")
                            + ("" if spray is None else f" <i>Note: {spray}.</i>")
                            if simulated else "No flow-level η: " + no_sim))
    return {"result": res, "routed": routed, "efficiency": eta, "sweep": sw, "chart": chart,
            "text": text}


def _size(size_bytes: float) -> str:
    """A message size as nccl-tests prints it: GiB from 1 GiB, MiB from 1 MiB, KiB below (1 KiB read
    '0.0 MiB'; the slider's 256 MiB read '256.0 MiB' and 8 GiB '8,192.0 MiB')."""
    if size_bytes >= 2**30:
        return f"{size_bytes / 2**30:,.4g} GiB"
    if size_bytes >= 2**20:
        return f"{size_bytes / 2**20:,.4g} MiB"
    return f"{size_bytes / 2**10:,.4g} KiB" if size_bytes >= 2**10 else f"{size_bytes:,.0f} B"


def _time(seconds: float) -> str:
    """A time in ms from 1 ms, in µs below (a 1 KiB bound read '0.000 ms')."""
    return f"{seconds * 1e3:,.3f} ms" if seconds >= 1e-3 else f"{seconds * 1e6:,.2f} µs"


def _rate(Bps: float) -> str:
    """A bandwidth in GB/s from 1 GB/s, in MB/s below (a 1 KiB busbw read '0.0 GB/s')."""
    return f"{Bps / 1e9:,.1f} GB/s" if Bps >= 1e9 else f"{Bps / 1e6:,.1f} MB/s"


def _empty_sweep():
    import polars as pl

    return pl.DataFrame({"size_bytes": [1.0], "busbw_GBps": [None], "series": ["none"]},
                        schema={"size_bytes": pl.Float64, "busbw_GBps": pl.Float64, "series": pl.String})


def network_explorer(host_cpu: str | None = None, pxn: bool | None = None) -> W.VBox:
    """Controls for message size, GPUs, accelerator, NIC, topology, routing, PXN and host CPU.
    ``host_cpu``: the host the explorer starts on (None: each accelerator's default host;
    notebook 03 passes ZAYA1's). ``pxn``: the PXN setting it starts on (None: the library's
    default, off in RCCL, so a cross-rail all-to-all on rails-only MI300X cannot run; notebook
    03 passes ZAYA1's, on). Returns the box; its ``update`` attribute is the callback
    (callable directly in tests), ``controls`` the widgets by name."""
    if pxn is not None and not isinstance(pxn, bool):   # the dropdown holds None, True or False only
        raise ValidationError(f"pxn = {pxn!r}: expected True, False or None (the library's default)")
    size = W.SelectionSlider(options=[(f"{2**e / 2**20:g} MiB" if e >= 20 else f"{2**e // 1024} KiB", 2.0**e)
                                      for e in range(10, 35)], value=2.0**28, description="size",
                             continuous_update=False)
    gpus = W.SelectionSlider(options=[8, 16, 32, 64, 128, 256, 512, 1024], value=1024, description="GPUs",
                             continuous_update=False)
    acc = W.Dropdown(options=["MI300X", "H100-SXM", "B200"], value="MI300X", description="GPU")
    nic = W.Dropdown(options=["Pollara-400", "ConnectX-7-NDR", "ConnectX-8"], value=HardwareConfig(acc.value).nic,
                     description="NIC")   # the accelerator's default NIC; it follows a new accelerator (below)
    fab = W.Dropdown(options=list(F.FABRIC_KINDS), value="rails-only", description="topology")
    routing = W.ToggleButtons(options=list(F.ROUTINGS), value="ecmp", description="routing")
    w_pxn = W.Dropdown(options=[("library default", None), ("PXN on", True), ("PXN off", False)],
                       value=pxn, description="PXN")
    op = W.Dropdown(options=list(C.OPS[:5]), value="all_reduce", description="op")
    hosts = [r["name"] for r in F._host_cpus().iter_rows(named=True) if r["arch"] == "x86"]   # MI300X, H100, B200 hosts
    start = None if host_cpu is None else F.host_cpu(host_cpu, where="host_cpu")["name"]
    host = W.Dropdown(options=[("the part's default", None)] + [(h, h) for h in hosts], value=start,
                      description="host CPU")
    from ..charts import ChartPane

    html = W.HTML()
    pane = ChartPane()
    following = {"nic": False}

    def follow(change):
        """A new accelerator selects its default NIC (catalog.default_nic: ConnectX-7 for H100/B200,
        Pollara-400 for MI300X); the NIC stays selectable. One update runs, the accelerator's."""
        from .. import catalog

        want = catalog.default_nic(change["new"])
        if want in nic.options and nic.value != want:
            following["nic"] = True
            try:
                nic.value = want
            finally:
                following["nic"] = False

    acc.observe(follow, names="value")      # before the update observers: the update sees both

    def update(_=None):
        if following["nic"]:
            return None
        r = network_update(size.value, gpus.value, acc.value, nic.value, fab.value, routing.value, op.value,
                           pxn=w_pxn.value, host_cpu=host.value)
        html.value = r["text"]
        pane.show(r["chart"])
        return r

    for c in (size, gpus, acc, nic, fab, routing, op, w_pxn, host):
        c.observe(update, names="value")
    update()
    box = W.VBox([W.HBox([op, acc, nic]), W.HBox([size, gpus, host]), W.HBox([fab, routing, w_pxn]), html,
                  pane.widget])
    box.chart = pane
    box.update = update
    box.controls = {"size": size, "gpus": gpus, "accelerator": acc, "nic": nic, "fabric": fab,
                    "routing": routing, "pxn": w_pxn, "op": op, "host_cpu": host}
    return box


network_dashboard = network_explorer   # the former name (review §4: one widget naming scheme)
