"""Scenario.replace(hardware={"accelerator": ...}): the [hardware] keys bound to the part follow
the new part, the deployment's choices stay. ZAYA1's shipped scenario names its host CPU (Xeon
Platinum 8570, IBM's MI300X nodes); moved to GB200 or GB300 it kept that Xeon, a host those parts
cannot have (their trays' host is the Grace of the Grace Blackwell superchip,
``host_integrated`` in data/network_platforms.csv), and a table naming a Xeon on GB200 was
accepted."""

import warnings

import pytest

import infra_lab as il
from infra_lab.errors import PartBoundWarning, ValidationError
from infra_lab.scenario import HardwareConfig
from infra_lab.scenario.hardware_table import integrated_host, updated_table

ZAYA = "zaya1-ibm-mi300x"
XEON = "Xeon-Platinum-8570"
# whole NVL72 racks are not a multiple of ZAYA1's 1,024 GPUs: 16 racks of 64 GPUs in 4-GPU trays
RACKS = {"gpus_per_node": 4, "nodes": 256, "domain_gpus": 64}


@pytest.mark.parametrize("part", ["GB200", "GB300"])
def test_a_discrete_host_moved_to_a_superchip_part_becomes_its_integrated_host(part):
    zaya = il.load_scenario(ZAYA)
    assert zaya.hardware.host_cpu == XEON
    with pytest.warns(PartBoundWarning, match=rf"hardware.host_cpu = '{XEON}' replaced by 'Grace': the "
                                              rf"accelerator is now {part}") as rec:
        hw = zaya.replace(hardware={"accelerator": part, **RACKS}).hardware
    assert len([w for w in rec if w.category is PartBoundWarning]) == 1
    assert hw.host_cpu == "Grace" == HardwareConfig.from_dict({"accelerator": part, "nodes": 1}).host_cpu
    # the deployment's choices stay: fabric, oversubscription, PXN on, the layout given
    assert (hw.fabric, hw.oversubscription, hw.pxn) == ("rails-only", 1.0, True)
    assert (hw.nodes, hw.gpus_per_node, hw.domain_gpus, hw.scaleup_domain) == (256, 4, 64, 72)


@pytest.mark.parametrize("part, nic", [("B200", "ConnectX-7-NDR"), ("H100-SXM", "ConnectX-7-NDR"),
                                       ("MI355X", "Pollara-400")])
def test_a_discrete_host_stays_on_a_part_with_a_discrete_host(part, nic):
    """The host of a server is the deployment's choice (DGX B200 ships Xeon 8570 too): kept, no
    warning; the NIC, held at MI300X's default, follows the part."""
    zaya = il.load_scenario(ZAYA)
    with warnings.catch_warnings():
        warnings.simplefilter("error", PartBoundWarning)
        hw = zaya.replace(hardware={"accelerator": part}).hardware
    assert (hw.accelerator, hw.host_cpu, hw.nic, hw.pxn, hw.fabric) == (part, XEON, nic, True, "rails-only")


def test_an_integrated_host_part_refuses_another_host():
    with pytest.raises(ValidationError, match=r"hardware.host_cpu = 'Xeon 8570': a GB200 node's host CPU is the "
                                              r"Grace of its superchip .*allowed 'Grace' \(or leave host_cpu out\)"):
        HardwareConfig.from_dict({"accelerator": "GB200", "nodes": 18, "gpus_per_node": 4, "host_cpu": "Xeon 8570"})
    assert HardwareConfig("GB300", nodes=18, gpus_per_node=4, host_cpu="NVIDIA Grace").host_cpu == "Grace"
    # named in the change itself: the user's explicit choice is refused, not replaced
    zaya = il.load_scenario(ZAYA)
    with pytest.raises(ValidationError, match=r"hardware.host_cpu = 'Xeon-Platinum-8570': a GB200 node's"):
        zaya.replace(hardware={"accelerator": "GB200", "host_cpu": XEON, **RACKS})
    gb = zaya.replace(hardware={"accelerator": "GB200", "host_cpu": "Grace", **RACKS})
    with pytest.raises(ValidationError, match=r"hardware.host_cpu = 'EPYC-9374F'"):
        gb.replace(hardware={"host_cpu": "EPYC-9374F"})
    # a written-out table (to_dict) edited in place is refused the same way
    with pytest.raises(ValidationError, match=r"hardware.host_cpu = 'Xeon-Platinum-8570'"):
        HardwareConfig.from_dict({**gb.hardware.to_dict(), "host_cpu": XEON})


def test_the_integrated_host_follows_back_to_a_discrete_part():
    """Grace, derived on GB200, follows the accelerator to a part with a discrete host (its
    platform's host), without a warning."""
    zaya = il.load_scenario(ZAYA)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PartBoundWarning)
        gb = zaya.replace(hardware={"accelerator": "GB200", **RACKS})
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        b200 = gb.replace(hardware={"accelerator": "B200", "gpus_per_node": 8, "nodes": 128}).hardware
        mi = gb.replace(hardware={"accelerator": "MI355X", "gpus_per_node": 8, "nodes": 128,
                                  "nic": "Pollara-400"}).hardware
    assert (b200.host_cpu, mi.host_cpu) == (XEON, "EPYC-9374F")
    # the partial racks GB200 was given (64 of each rack's 72) do not exist on an 8-GPU node:
    # that domain_gpus is replaced (said once per move), the host is not
    said = [str(w.message) for w in rec if w.category is PartBoundWarning]
    assert len(said) == 2 and all(m.startswith("hardware.domain_gpus = 64 replaced by 8") for m in said), said
    assert (b200.domain_gpus, mi.domain_gpus) == (8, 8)


def test_a_scale_up_domain_the_new_part_refuses_is_replaced_by_its_own():
    """GB200 with half-rack domains (scaleup_domain = 36, 32 GPUs of each, given) moved to H100:
    an 8-GPU NVSwitch node cannot be a 36-GPU domain; it was refused ("holds at most 8") though
    the user named only the accelerator. A value the change names itself is still refused."""
    half = il.Scenario.from_dict({**il.load_scenario(ZAYA).to_dict(), "hardware": {
        "accelerator": "GB200", "nodes": 256, "gpus_per_node": 4, "scaleup_domain": 36, "domain_gpus": 32}})
    with pytest.warns(PartBoundWarning) as rec:
        hw = half.replace(hardware={"accelerator": "H100", "gpus_per_node": 8, "nodes": 128}).hardware
    assert (hw.scaleup_domain, hw.domain_gpus) == (8, 8)
    assert sorted(str(w.message).split(":")[0] for w in rec if w.category is PartBoundWarning) == [
        "hardware.domain_gpus = 32 replaced by 8", "hardware.scaleup_domain = 36 replaced by 8"]
    with pytest.raises(ValidationError, match=r"hardware.scaleup_domain = 36: the H100-SXM scale-up domain"):
        half.replace(hardware={"accelerator": "H100", "gpus_per_node": 8, "nodes": 128, "scaleup_domain": 36})


def test_updated_table_is_the_one_owner_for_the_cli_sweep_and_explorers():
    """updated_table (what infra-lab sweep, --accelerator on a scenario file and the training
    explorer apply) leaves the impossible host out for HardwareConfig to derive, and keeps a
    host given in the same change."""
    table = il.load_scenario(ZAYA).hardware.to_dict()
    with pytest.warns(PartBoundWarning, match="replaced by 'Grace'"):
        out = updated_table(table, {"accelerator": "GB200", **RACKS})
    assert "host_cpu" not in out and HardwareConfig.from_dict(out).host_cpu == "Grace"
    with warnings.catch_warnings():
        warnings.simplefilter("error", PartBoundWarning)
        assert updated_table(table, {"accelerator": "H100"})["host_cpu"] == XEON
        assert updated_table(table, {"accelerator": "GB200", "host_cpu": "Grace"})["host_cpu"] == "Grace"
        assert updated_table(table, {"nodes": 16})["host_cpu"] == XEON
    assert (integrated_host("GB200"), integrated_host("gb300"), integrated_host("B200")) == ("Grace", "Grace", None)


def test_the_cli_says_the_replacement_as_a_warning_note(capsys):
    from infra_lab.cli import main

    rc = main(["collective", "all_reduce", "1GiB", "--hardware", ZAYA, "--accelerator", "GB200",
               "--gpus-per-node", "4", "--nodes", "256", "--domain-gpus", "64", "--gpus", "64"])
    out = capsys.readouterr()
    assert rc == 0, out.err
    assert f"warning: hardware.host_cpu = '{XEON}' replaced by 'Grace'" in out.out + out.err


def test_the_package_own_moves_state_the_integrated_host_without_a_warning():
    """moved_hardware (il.economics.training_throughput's move) and the training explorer state
    the part's own host, as they state its tray: no PartBoundWarning about an input the user
    never typed, and Grace on GB200 / GB300, the part's own host on the others."""
    from infra_lab.scenario.hardware_table import moved_hardware

    zaya = il.load_scenario(ZAYA)
    assert moved_hardware(zaya.hardware, "GB300")["host_cpu"] == "Grace"
    assert "host_cpu" not in moved_hardware(zaya.hardware, "B200")
    with warnings.catch_warnings():
        warnings.simplefilter("error", PartBoundWarning)
        gb = zaya.replace(hardware=moved_hardware(zaya.hardware, "GB200")).hardware
    assert (gb.host_cpu, gb.world_size, gb.domain_gpus) == ("Grace", 1024, 64)
