"""A rack-scale part (GB200/GB300 NVL72, MI450X) given without ``gpus_per_node``: the default
of 8 stays (the contract's), and the package says what it means in trays and racks."""

from __future__ import annotations

import warnings

import polars as pl
import pytest

import infra_lab as il
from infra_lab import cli
from infra_lab.errors import NodeSizeWarning
from infra_lab.scenario import as_hardware
from infra_lab.scenario.hardware_table import node_size_note

PLATFORMS = pl.read_csv(il.catalog.DATA_DIR / "network_platforms.csv")


def _tray(acc: str) -> int:
    return int(PLATFORMS.filter(pl.col("accelerator") == acc)["node_gpus"][0])


@pytest.mark.parametrize("acc", ["GB200", "GB300"])
def test_nvl72_without_gpus_per_node_warns_with_the_tray_size_from_data(acc):
    tray = _tray(acc)
    assert tray == 4   # data/network_platforms.csv: a compute tray of 4 GPUs
    with pytest.warns(NodeSizeWarning) as rec:
        sc = il.Scenario.from_dict({"model": {"preset": "llama3-8b"}, "hardware": {"accelerator": acc, "nodes": 18},
                                    "training": {"global_batch": 144}})
    assert sc.hardware.gpus_per_node == 8 and sc.hardware.world_size == 144   # the default is kept
    msg = str(rec[0].message)
    assert "default is 8" in msg and f"tray holds {tray}" in msg
    assert "144 GPUs (2 racks of 72)" in msg
    assert f"nodes = {72 // tray}, gpus_per_node = {tray}" in msg and "nodes = 9 at the default" in msg
    # what the note says is one rack is one rack
    one = as_hardware({"accelerator": acc, "nodes": 72 // tray, "gpus_per_node": tray})
    assert one.world_size == 72 and one.domains == 1


def test_no_warning_when_gpus_per_node_is_given_or_the_node_holds_8():
    with warnings.catch_warnings():
        warnings.simplefilter("error", NodeSizeWarning)
        sc = il.Scenario.from_dict({"model": {"preset": "llama3-8b"},
                                    "hardware": {"accelerator": "GB200", "nodes": 18, "gpus_per_node": 4},
                                    "training": {"global_batch": 144}})
        il.Scenario.from_dict(sc.to_dict())              # a Scenario's own dict writes gpus_per_node
        sc.replace(hardware={"nodes": 36})
        as_hardware({"accelerator": "H100", "nodes": 18})   # 8-GPU nodes: the default is the node
        as_hardware({"accelerator": "MI300X", "nodes": 2})
    hw = as_hardware({"accelerator": "GB200", "nodes": 18, "gpus_per_node": 4})
    assert node_size_note({"accelerator": "GB200", "nodes": 18, "gpus_per_node": 4}, hw) is None
    assert node_size_note(hw, hw) is None


def test_as_hardware_warns_for_a_part_of_one_rack():
    with pytest.warns(NodeSizeWarning, match=r"nodes = 1 is 8 GPUs \(part of one 72-GPU rack\)"):
        as_hardware({"accelerator": "GB200", "nodes": 1})


def test_cli_prints_the_note(capsys, tmp_path):
    f = tmp_path / "gb200.toml"
    f.write_text('name = "gb200-two-racks"\n[model]\npreset = "llama3-8b"\n'
                 '[hardware]\naccelerator = "GB200"\nnodes = 18\n'
                 '[training]\nglobal_batch = 144\nseq_len = 4096\n'
                 '[parallelism]\ntp = 1\n')
    rc = cli.main(["estimate", str(f)])
    out = capsys.readouterr()
    assert rc == 0, out.err
    assert "warning: hardware.gpus_per_node not given" in out.out and "2 racks of 72" in out.out
