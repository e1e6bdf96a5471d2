"""The per-GPU scale-out rate is min(the GPU's share of its NICs' line rate, the GPU's host
link) times the achieved fraction, owned by infra_lab.fabric.ScaleOut and read by the
collective model (and through it the training step and serving) and the flow-level fabric."""

import math

import pytest

import infra_lab as il
from infra_lab import catalog
from infra_lab import collectives as C
from infra_lab.errors import DataError, UnknownNameError, ValidationError
from infra_lab.fabric import Fabric, ScaleOut, constant, scaleout

EFF = 0.94          # nic_efficiency in data/network_constants.csv (47 of 50 GB/s)
GEN5 = 64e9         # PCIe Gen5 x16, one direction [B/s] (128 GB/s both ways, vendor spec tables)


def test_host_link_rows_for_the_nic_path():
    assert catalog.nic_host_link("MI300X") == ("PCIe Gen5 x16", GEN5)
    assert catalog.nic_host_link("H100") == ("PCIe Gen5 x16", GEN5)
    assert catalog.nic_host_link("MI355X") == ("PCIe Gen5 x16", GEN5)
    assert catalog.nic_host_link("A100")[1] == pytest.approx(32e9)
    # GB200's row is the GPU-to-Grace link, not a published GPU-to-NIC path: not capped
    assert catalog.nic_host_link("GB200") is None
    # no row at all (NIC attach path not published in the sources used): not capped
    assert catalog.nic_host_link("B300") is None
    t = catalog.host_links()
    assert all(u.startswith("http") for u in t["source_url"])


def test_faster_nic_than_host_link_is_capped():
    so = scaleout({"accelerator": "MI300X", "nic": "Vulcano-800"})
    assert so.line_per_gpu_Bps == pytest.approx(100e9)
    assert so.capped and so.limit == "host link"
    assert so.gpu_Bps == pytest.approx(GEN5 * EFF)
    assert so.nic_path_Bps == pytest.approx(GEN5 * EFF)        # one NIC per GPU
    assert so.nic_Bps == pytest.approx(100e9 * EFF)            # the NIC itself, before the cap


def test_slower_nic_than_host_link_is_not_capped():
    so = scaleout({"accelerator": "MI300X", "nic": "Pollara-400"})
    assert not so.capped and so.limit == "NIC"
    assert so.gpu_Bps == pytest.approx(50e9 * EFF)
    assert so.host_link_Bps == pytest.approx(GEN5)


def test_cap_is_per_gpu_path_with_two_nics_per_gpu():
    # two 400G NICs per GPU: 100 GB/s of NIC line rate, but the GPU has one Gen5 x16
    so = scaleout({"accelerator": "MI300X", "nic": "Pollara-400", "nics_per_node": 16})
    assert so.gpu_Bps == pytest.approx(GEN5 * EFF)
    assert so.nic_path_Bps == pytest.approx(GEN5 * EFF / 2)
    # half a NIC per GPU: the NIC binds, the host link does not
    half = scaleout({"accelerator": "MI300X", "nic": "Vulcano-800", "nics_per_node": 4})
    assert not half.capped and half.gpu_Bps == pytest.approx(50e9 * EFF)


def test_unpublished_nic_path_is_not_capped():
    so = scaleout({"accelerator": "GB200", "nic": "ConnectX-8", "gpus_per_node": 4, "nics_per_node": 4})
    assert so.host_link == "" and math.isinf(so.host_link_Bps)
    assert so.gpu_Bps == pytest.approx(100e9 * EFF)
    assert "not capped" in so.note()


def test_collective_params_and_notes_carry_the_cap():
    hw = {"accelerator": "MI300X", "nodes": 2, "nic": "Vulcano-800"}
    cp = C.collective_time_params(hw)
    assert cp.nic_per_gpu_Bps == pytest.approx(GEN5 * EFF)
    assert cp.named()["BNIC"] == pytest.approx(GEN5 * EFF)
    assert cp.scaleout_limit == "host link"
    c = il.collective("all_to_all", 2**28, hw, 16)
    assert len(c.notes) == 1 and "capped by its host link" in c.notes[0] and "PCIe Gen5 x16" in c.notes[0]
    # inside one scale-up domain no NIC is used: no note
    assert il.collective("all_reduce", 2**28, hw, 8).notes == ()
    slow = il.collective("all_to_all", 2**28, dict(hw, nic="Pollara-400"), 16)
    assert "bound by the NICs" in slow.notes[0]


def test_capped_nic_prices_like_the_same_per_gpu_rate():
    # an 800G NIC per GPU and two 400G NICs per GPU both reach the Gen5 x16 cap: every
    # collective and the training step see the same per-GPU rate
    a = {"accelerator": "MI300X", "nodes": 2, "nic": "Vulcano-800"}
    b = {"accelerator": "MI300X", "nodes": 2, "nic": "Pollara-400", "nics_per_node": 16}
    pa, pb = C.collective_time_params(a), C.collective_time_params(b)
    assert pa.nic_per_gpu_Bps == pytest.approx(pb.nic_per_gpu_Bps)
    for op in ("all_to_all", "all_reduce", "all_gather"):
        assert il.collective(op, 2**28, a, 16).time_s == pytest.approx(il.collective(op, 2**28, b, 16).time_s)
    # the faster NIC still helps where the old NIC bound: capped 800G beats 400G
    assert il.collective("all_to_all", 2**28, a, 16).time_s < \
        il.collective("all_to_all", 2**28, dict(a, nic="Pollara-400"), 16).time_s


def test_training_step_composes_the_cap():
    sc = il.load_scenario("zaya1-ibm-mi300x")
    ep = {"ep": 2 * sc.hardware.gpus_per_node}
    fast = il.estimate(sc.replace(hardware={"nic": "Vulcano-800"}, parallelism=ep))
    two = il.estimate(sc.replace(hardware={"nic": "Pollara-400", "nics_per_node": 2 * sc.hardware.gpus_per_node},
                                 parallelism=ep))
    base = il.estimate(sc.replace(parallelism=ep))
    assert fast.step_time_s == pytest.approx(two.step_time_s, rel=1e-9)
    assert fast.step_time_s < base.step_time_s


def test_flow_fabric_nic_links_are_capped_switch_ports_are_not():
    f = Fabric.build({"accelerator": "MI300X", "nodes": 2, "nic": "Vulcano-800"})
    b = dict(f.group_bounds)
    assert f.capacity_Bps[b["nic_up"][0]] == pytest.approx(GEN5 * EFF)
    assert f.capacity_Bps[b["nic_down"][0]] == pytest.approx(GEN5 * EFF)
    assert f.capacity_Bps[b["leaf_up"][0]] == pytest.approx(100e9 * EFF)


@pytest.mark.parametrize("field, value, match", [
    ("host_link_Bps", 0.0, "host_link_Bps = 0.0"), ("host_link_Bps", -1.0, "host_link_Bps = -1.0"),
    ("host_link_Bps", float("nan"), "host_link_Bps = nan"), ("host_link_Bps", "64", "host_link_Bps = '64'"),
    ("efficiency", 1.5, "efficiency = 1.5"), ("line_rate_Bps", 0.0, "line_rate_Bps"),
    ("nics_per_node", 0, "nics_per_node"),
])
def test_bad_scaleout_values_are_refused(field, value, match):
    kw = dict(nic="Vulcano-800", nics_per_node=8, gpus_per_node=8, line_rate_Bps=100e9,
              efficiency=constant("nic_efficiency"), fabric="rails-only", oversubscription=1.0, radix=64,
              host_link="PCIe Gen5 x16", host_link_Bps=GEN5)
    kw[field] = value
    with pytest.raises(ValidationError, match=match.replace("(", r"\(")):
        ScaleOut(**kw)


def test_bad_host_link_table_and_names(tmp_path):
    src = (catalog.DATA_DIR / "accelerator_host_links.csv").read_text().splitlines()
    head = src[0].split(",")
    i = head.index("nic_via_host_link")
    row = src[1].split(",")
    row[i] = "maybe"
    bad = tmp_path / "accelerator_host_links.csv"
    bad.write_text("\n".join([src[0], ",".join(row)]) + "\n")
    with pytest.raises(DataError, match="nic_via_host_link.*'maybe' is not a boolean"):
        catalog.read_table(bad, catalog._HOST_LINK_SCHEMA)
    with pytest.raises(UnknownNameError, match="MI300X"):
        catalog.nic_host_link("MI300Y")
