"""One owner of an accelerator's NIC: notebook 04's explorer and notebook 05's throughput
comparison (il.economics.training_throughput) both use the catalog's default NIC
(data/default_nics.csv). They disagreed on B200 (ConnectX-8 in the explorer, ConnectX-7 in the
comparison); DGX B200 carries eight single-port ConnectX-7 (NVIDIA's DGX B200 user guide)."""

from __future__ import annotations

import pytest

import infra_lab as il
from infra_lab.errors import UnknownNameError, ValidationError
from infra_lab.scenario import HardwareConfig
from infra_lab.widgets.training import EXPLORER_ACCELERATORS


def test_the_explorer_reads_the_catalog_default_nic():
    for acc, nic in EXPLORER_ACCELERATORS.items():
        assert nic == il.catalog.default_nic(acc), acc
    assert EXPLORER_ACCELERATORS["B200"] == "ConnectX-7-NDR"


def test_default_nic_rows_name_catalog_parts_and_nics():
    t = il.catalog.default_nics()
    for r in t.iter_rows(named=True):
        assert il.catalog.canonical_accelerator(r["accelerator"]) == r["accelerator"]
        assert il.catalog.canonical_nic(r["nic"]) == r["nic"]
    assert il.catalog.default_nic("b200") == "ConnectX-7-NDR"      # aliases resolve
    with pytest.raises(UnknownNameError):
        il.catalog.default_nic("MI450X")                             # no row: said, not guessed


def test_the_throughput_comparison_gives_b200_the_same_nic_as_the_explorer():
    sc = il.load_scenario("zaya1-ibm-mi300x")
    thr = il.economics.training_throughput(sc, ["B200", "MI355X"])
    got = dict(zip(thr["accelerator"], thr["nic"], strict=True))
    assert got == {"B200": EXPLORER_ACCELERATORS["B200"], "MI355X": EXPLORER_ACCELERATORS["MI355X"]}


def test_a_published_run_without_a_nic_gets_the_catalog_default_nic():
    """One owner of "which NIC": a run whose source names no NIC gets the catalog's default NIC of
    its part (data/default_nics.csv), not a second table in the validation (which gave the AMD
    runs ConnectX-7). The predictions do not move: every such NIC runs at 400 Gb/s there."""
    from infra_lab.validation import current_runs, runs, scenario_for_run

    silent = [r for r in current_runs().iter_rows(named=True) if not r.get("nic")]
    assert silent
    checked = 0
    for r in silent:
        try:
            sc, notes = scenario_for_run(r)
        except ValidationError as e:                              # not expressible for another reason
            assert "nic" not in str(e).lower(), (r["id"], e)
            continue
        checked += 1
        assert sc.hardware.nic == il.catalog.default_nic(sc.hardware.accelerator), r["id"]
        assert f"nic={sc.hardware.nic}" in notes, r["id"]
    assert checked >= 40
    sc, _ = scenario_for_run("PJ26-L31-8B-MI325X-64-fp8")        # 8 nodes of MI325X, NIC not published
    assert sc.hardware.nic == "Pollara-400"
    assert not hasattr(runs, "_DEFAULT_NIC")
    with pytest.raises(ValidationError, match="default_nics.csv"):
        runs.run_nic("MI450X")                                     # no row: said, not guessed


def test_the_throughput_comparison_prices_a100_and_mi350x_with_their_catalog_nic():
    """When the comparison's own NIC fallback went (one owner: data/default_nics.csv), A100 and
    MI350X lost their NIC and needed ``nics=``. DGX A100 carries eight single-port ConnectX-6
    HDR (NVIDIA's DGX A100 user guide); the MI350X takes the MI355X's choice."""
    sc = il.load_scenario("zaya1-ibm-mi300x")
    thr = il.economics.training_throughput(sc, ["A100-SXM-80GB", "MI350X"])
    got = dict(zip(thr["accelerator"], thr["nic"], strict=True))
    assert got == {"A100-SXM-80GB": "ConnectX-6-HDR", "MI350X": il.catalog.default_nic("MI355X")}
    assert all(v > 0 for v in thr["tokens_per_s_per_gpu"])


# --- a Scenario's [hardware] without nic: the accelerator's default NIC (catalog.default_nic) -----------
_TRAIN = {"model": {"preset": "zaya1-8b"}, "training": {"global_batch": 1024, "seq_len": 4096},
          "parallelism": {"tp": 1, "pp": 1}}


@pytest.mark.parametrize("acc", ["H100-SXM", "H200-SXM", "B200", "GB200", "B300", "A100-SXM-80GB", "MI300X",
                                 "MI355X"])
def test_a_scenario_without_a_nic_gets_its_accelerators_default_nic(acc):
    """It got "Pollara-400" whatever the accelerator: an H100 or B200 cluster with AMD's NIC."""
    hw = {"accelerator": acc, "nodes": 2, **({"gpus_per_node": 4} if acc == "GB200" else {})}
    want = il.catalog.default_nic(acc)
    assert HardwareConfig(acc).nic == want
    assert HardwareConfig.from_dict(hw).nic == want
    sc = il.Scenario.from_dict({"name": "t", "hardware": hw, **_TRAIN})
    assert sc.hardware.nic == want
    # to_dict writes the resolved name (the contract: a built object has no None fields), and it round-trips
    assert sc.to_dict()["hardware"]["nic"] == want
    assert il.Scenario.from_dict(sc.to_dict()) == sc
    import tomllib
    assert il.Scenario.from_dict(tomllib.loads(sc.to_toml())) == sc


def test_an_nvidia_scenario_without_a_nic_is_not_given_amds():
    assert HardwareConfig("H100").nic == "ConnectX-7-NDR"      # DGX H100 (data/default_nics.csv)
    assert HardwareConfig("B300").nic == "ConnectX-8"
    assert HardwareConfig("MI300X").nic == "Pollara-400"       # the mission's platform does not move


def test_an_explicit_nic_is_kept_and_nics_per_node_keeps_its_rule():
    hw = HardwareConfig.from_dict({"accelerator": "H100", "nodes": 2, "nic": "Pollara-400", "gpus_per_node": 4})
    assert hw.nic == "Pollara-400" and hw.nics_per_node == 4
    assert HardwareConfig.from_dict({"accelerator": "B200", "nic": "ConnectX-8"}).nic == "ConnectX-8"
    assert HardwareConfig("H100").nics_per_node == 8


def test_a_part_without_a_default_nic_keeps_the_earlier_default():
    """MI450X (announced) has no row in data/default_nics.csv: its tables load as before
    (memory_sweep and the expansion's serving scenarios build them without a NIC)."""
    from infra_lab.scenario.hardware_table import LEGACY_NIC

    assert HardwareConfig.from_dict({"accelerator": "MI450X", "gpus_per_node": 4}).nic == LEGACY_NIC == "Pollara-400"
    assert HardwareConfig.from_dict({"accelerator": "MI450X", "gpus_per_node": 4,
                                     "nic": "Vulcano-800"}).nic == "Vulcano-800"
    with pytest.raises(ValidationError, match="hardware.nic"):
        HardwareConfig.from_dict({"accelerator": "H100", "nic": 400})


def test_replace_moves_a_default_nic_with_the_accelerator_and_keeps_a_chosen_one():
    """A NIC held at the accelerator's default follows a new accelerator (as host_cpu and the
    scale-up domain do); a NIC that is not the old part's default, or one named, stays."""
    sc = il.load_scenario("zaya1-ibm-mi300x")                     # MI300X, Pollara-400 (its default)
    assert sc.replace(hardware={"accelerator": "H100-SXM"}).hardware.nic == "ConnectX-7-NDR"
    assert sc.replace(hardware={"accelerator": "MI355X"}).hardware.nic == "Pollara-400"
    assert sc.replace(hardware={"accelerator": "H100-SXM", "nic": "Pollara-400"}).hardware.nic == "Pollara-400"
    chosen = sc.replace(hardware={"nic": "Vulcano-800"})
    assert chosen.replace(hardware={"accelerator": "H100-SXM"}).hardware.nic == "Vulcano-800"
    h100 = il.load_scenario("zaya1-h100-counterpart")
    assert h100.replace(hardware={"accelerator": "MI300X"}).hardware.nic == "Pollara-400"
    # a part without a default NIC keeps the one held rather than failing
    hw = HardwareConfig.from_dict({"accelerator": "MI355X", "nodes": 2})
    from infra_lab.scenario.hardware_table import updated_table
    new = HardwareConfig.from_dict(updated_table(hw, {"accelerator": "MI450X", "gpus_per_node": 4}))
    assert new.nic == "Pollara-400"


def test_the_cli_and_the_network_widget_use_the_accelerators_default_nic(capsys):
    from infra_lab.cli import main
    from infra_lab.widgets.network import network_update

    r = network_update(2**20, 16, "H100-SXM")
    assert "ConnectX-7-NDR" in r["text"] and "Pollara" not in r["text"]
    assert "Pollara-400" in network_update(2**20, 16, "H100-SXM", "Pollara-400")["text"]   # named: kept
    b300 = [network_update(2**30, 32, "B300", nic)["result"].time_s for nic in (None, "ConnectX-8", "Pollara-400")]
    assert b300[0] == b300[1] < b300[2]          # B300's ConnectX-8 (800 Gb/s), not a 400 Gb/s Pollara

    def cli(*extra):
        assert main(["collective", "all_reduce", "1GiB", "--accelerator", "B300", "--nodes", "4", "--gpus", "32",
                     "--format", "csv", *extra]) == 0
        return capsys.readouterr().out.strip().splitlines()[-1]
    assert cli() == cli("--nic", "ConnectX-8") != cli("--nic", "Pollara-400")


def test_the_multimodal_example_scenario_gives_nvidia_its_nic():
    from infra_lab.multimodal.training import example_scenario
    assert il.Scenario.from_dict(example_scenario("qwen2.5-vl-7b", accelerator="H100-SXM")).hardware.nic == \
        "ConnectX-7-NDR"
    assert il.Scenario.from_dict(example_scenario("qwen2.5-vl-7b")).hardware.nic == "Pollara-400"


def test_the_network_explorer_selects_the_new_accelerators_default_nic():
    from infra_lab.widgets.network import network_explorer

    box = network_explorer()
    c = box.controls
    assert c["nic"].value == "Pollara-400"                        # MI300X's
    c["accelerator"].value = "H100-SXM"
    assert c["nic"].value == "ConnectX-7-NDR"
    assert "ConnectX-7-NDR" in box.children[3].value and "Pollara" not in box.children[3].value
    c["nic"].value = "ConnectX-8"                                 # still selectable
    assert "ConnectX-8" in box.children[3].value
    c["accelerator"].value = "MI300X"
    assert c["nic"].value == "Pollara-400" and "Pollara-400" in box.children[3].value
