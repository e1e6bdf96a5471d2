"""Rack-scale parts (GB200 and GB300 NVL72, MI450X Helios: 72-GPU scale-up domains over 4-GPU
compute trays) in the calls that size a cluster by its GPU count: the network and training
explorers, economics.training_throughput and largest_model(search_plans=True) place the GPUs in
the part's own trays (hardware_table.own_node_layout), so they neither warn about a
gpus_per_node the user never typed nor refuse 1,024 GPUs for not filling 72-GPU racks; and the
messages about racks speak of racks, GPUs and trays."""

from __future__ import annotations

import re
import warnings

import polars as pl
import pytest

import infra_lab as il
from infra_lab.errors import NodeSizeWarning, ValidationError
from infra_lab.scenario import HardwareConfig
from infra_lab.scenario.hardware_table import (
    moved_hardware,
    own_node_layout,
    whole_node_domain_gpus,
)
from infra_lab.widgets.network import network_update
from infra_lab.widgets.training import training_update

RACK_SCALE = ["GB200", "GB300", "MI450X"]
PLATFORMS = pl.read_csv(il.catalog.DATA_DIR / "network_platforms.csv")


def _tray(acc: str) -> int:
    return int(PLATFORMS.filter(pl.col("accelerator") == acc)["node_gpus"][0])


def _text(r) -> str:
    return re.sub("<[^>]+>", "", r["text"])


@pytest.mark.parametrize("acc", RACK_SCALE)
@pytest.mark.parametrize("gpus", [64, 1024])
def test_network_explorer_gives_no_node_size_warning_and_prices_the_trays(acc, gpus):
    """Every GB200 / GB300 / MI450X call warned (NodeSizeWarning: 'gpus_per_node not given') about
    a table the explorer built, and 1,024 of them were 'Cannot run' (128 x 8 GPUs do not fill
    72-GPU racks). The explorer now states the part's own tray and the result is the collective
    of that cluster."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", NodeSizeWarning)
        r = network_update(2**28, gpus, acc)
    assert r["result"] is not None, _text(r)
    tray = _tray(acc)
    hw = {"accelerator": acc, "nodes": gpus // tray, "gpus_per_node": tray, "fabric": "rails-only"}
    if gpus > 72:
        hw["domain_gpus"] = whole_node_domain_gpus(gpus, tray, 72)   # 16 racks of 64
    want = il.collective("all_reduce", 2**28, hw, gpus)
    assert r["result"].time_s == pytest.approx(want.time_s, rel=1e-12)
    assert "node count; nodes = 1" not in _text(r)


def test_network_explorer_unchanged_on_eight_gpu_nodes():
    """MI300X / H100 / B200 nodes were already whole nodes of 8: same collective as the table
    without gpus_per_node, and the flow-level step is still simulated on 8 nodes."""
    for acc in ("MI300X", "H100-SXM", "B200"):
        r = network_update(2**28, 64, acc)
        want = il.collective("all_reduce", 2**28, {"accelerator": acc, "nodes": 8, "fabric": "rails-only"}, 64)
        assert r["result"].time_s == pytest.approx(want.time_s, rel=1e-12)
        assert "Flow-level η of a cross-leaf halving/doubling step" in _text(r)


def test_network_explorer_says_racks_where_it_does_not_simulate_them():
    """On a rack-scale part the flow-level step (notebook 03 section 7, between 8-GPU nodes) is not
    simulated; the text said 'needs a power-of-two node count; nodes = 1' of 64 GB200 (one rack)
    and 'one node has no cross-leaf step' of 8 (two trays)."""
    one = _text(network_update(2**28, 64, "GB200"))
    assert "share one scale-up domain (a rack of up to 72)" in one and "nodes = 1" not in one
    two = _text(network_update(2**28, 8, "MI450X"))
    assert "one node has no cross-leaf step" not in two and "share one scale-up domain" in two
    many = _text(network_update(2**28, 1024, "MI450X"))
    assert "16 scale-up domains of 64 GPUs" in many and "16 racks (scale-up domains of 64 GPUs)" in many


def test_flow_patterns_count_scale_up_domains_and_say_so():
    """fabric.step_flows' unit is the scale-up domain; on one 72-GPU rack of 18 trays the error said
    'nodes = 1'."""
    rack = {"accelerator": "GB200", "nodes": 18, "gpus_per_node": 4}
    with pytest.raises(ValidationError, match=r"power-of-two number of scale-up domains \(nodes, or racks of a "
                                              r"rack-scale part\); domains = 1"):
        il.fabric.step_flows("halving_doubling", rack, 2**20)
    with pytest.raises(ValidationError, match=r"at least 2 scale-up domains .*; domains = 1"):
        il.fabric.step_flows("rail_ring", rack, 2**20)


def test_the_rack_scale_error_is_worded_in_racks_gpus_and_trays():
    """'hardware.nodes = 128: 128 x 8 GPUs do not fill whole scale-up domains of 72 ...; use a
    multiple of 9 nodes or set hardware.domain_gpus (e.g. 64 when 16 of an NVL72's 18 trays are
    used)' on MI450X: nodes of 8 on a part of 4-GPU trays, and NVIDIA's rack name on AMD's."""
    with pytest.raises(ValidationError) as e:
        HardwareConfig.from_dict({"accelerator": "MI450X", "nodes": 128})
    msg = str(e.value)
    assert msg.startswith("hardware.nodes = 128: 128 x 8 = 1,024 GPUs do not fill whole scale-up domains of 72 "
                          "(MI450X racks: Infinity Fabric over Ethernet (Helios rack), 18 compute trays of 4); ")
    assert "use whole racks of 72 GPUs (nodes a multiple of 9: 126 nodes = 1,008 GPUs or 135 nodes = 1,080 GPUs)" in msg
    assert ("set hardware.domain_gpus to the job's GPUs per rack, one of 8, 16, 32, 64 (64 = 16 of each rack's "
            "18 trays)") in msg
    assert "NVL72" not in msg
    # what it offers is accepted
    for extra in ({"nodes": 126}, {"domain_gpus": 64}):
        ok = HardwareConfig.from_dict({"accelerator": "MI450X", "nodes": 128, **extra})
        assert ok.world_size % ok.domain_gpus == 0


@pytest.mark.parametrize("acc", RACK_SCALE)
def test_own_node_layout_places_gpus_in_trays(acc):
    tray = _tray(acc)
    lay = own_node_layout(acc, 1024)
    assert lay == {"gpus_per_node": tray, "nodes": 1024 // tray, "domain_gpus": 64}
    hw = HardwareConfig.from_dict({"accelerator": acc, **lay})
    assert hw.world_size == 1024 and hw.domains == 16
    assert own_node_layout(acc, 1152)["domain_gpus"] is None           # 16 whole racks
    with pytest.raises(ValidationError, match=r"gpus = 1,026: not a whole number of .* nodes of 4 GPUs.*"
                                              r"e\.g\. 1,024 or 1,028"):
        own_node_layout(acc, 1026)


def test_moved_hardware_keeps_a_partly_used_node():
    """A table in whole nodes of its part takes the new part's own nodes; one in partly used nodes
    (4 of an MI300X baseboard's 8) keeps them on another 8-GPU part."""
    zy = il.load_scenario("zaya1-ibm-mi300x").hardware
    # GB200's host is its superchip's Grace (host_integrated): stated with the move
    assert moved_hardware(zy, "GB200") == {"accelerator": "GB200", "gpus_per_node": 4, "nodes": 256, "domain_gpus": 64,
                                           "host_cpu": "Grace"}
    half = HardwareConfig.from_dict({"accelerator": "MI300X", "nodes": 4, "gpus_per_node": 4, "scaleup_domain": 8})
    assert moved_hardware(half, "H100") == {"accelerator": "H100-SXM"}


def test_training_throughput_takes_1024_gb200():
    """ZAYA1's 1,024 MI300X moved to GB200 were refused ('128 x 8 GPUs do not fill whole scale-up
    domains of 72'); the 8-GPU parts' rows are those of the plain accelerator swap."""
    sc = il.load_scenario("zaya1-ibm-mi300x")
    t = il.economics.training_throughput(sc, ["GB200", "MI300X"])
    gb, mi = t.row(0, named=True), t.row(1, named=True)
    assert (gb["gpus_per_node"], gb["domain_gpus"]) == (4, 64) and gb["tokens_per_s_per_gpu"] > 0
    assert (mi["gpus_per_node"], mi["domain_gpus"]) == (8, 8)
    best = il.search(sc, top=1, **il.economics.PLAN_FAMILY).row(0, named=True)
    assert mi["tokens_per_s_per_gpu"] == pytest.approx(best["tokens_per_s"] / 1024, rel=1e-12)


def test_largest_model_with_searched_plans_takes_rack_scale_parts():
    """largest_model(search_plans=True) moved ZAYA1's 128 x 8 to GB200 / MI450X and was refused;
    now the GPUs sit in trays and every row says which racks were assumed."""
    df = il.memory.largest_model(["MI450X"], by="presets", search_plans=True)
    r = df.row(0, named=True)
    assert r["fits"] and r["tp"] * r["pp"] * r["dp"] == 1024
    assert "1,024 GPUs in 16 racks of 64 (16 of each 72-GPU rack's 18 trays: an assumption)" in r["note"]


def test_training_explorer_runs_1024_mi450x_in_trays():
    """training_update("MI450X", 1024) answered 'no valid plan: hardware.nodes = 128: 128 x 8
    GPUs do not fill whole scale-up domains of 72 ...' (GPUs the user chose, worded in nodes)."""
    df, chart = training_update("MI450X", 1024)
    r = df.row(0, named=True)
    assert chart is not None and r["gpus"] == 1024 and not r["plan"].startswith("no valid plan")
    assert "1,024 GPUs in 16 racks of 64" in r["note"]
    df8, _ = training_update("MI300X", 1024)
    assert "racks" not in df8.row(0, named=True)["note"]
