"""The explorers' scenarios carry the hardware the user chose: the keys a [hardware] table derives
(scale-up domain, domain GPUs, NIC, NICs per node) are the ones Scenario.replace derives for the
same choice, not the base scenario's, whatever path the explorer takes (Zyphra's plan or the
search fallback, a scenario or a bare table scaled by the reliability explorer)."""

import warnings

import pytest

import infra_lab as il
from infra_lab.scenario import HardwareConfig
from infra_lab.scenario.hardware_table import own_node_layout
from infra_lab.widgets.training import EXPLORER_ACCELERATORS, training_update

BASE = "zaya1-ibm-mi300x"
DERIVED = ("gpus_per_node", "scaleup_domain", "domain_gpus", "nic", "nics_per_node", "host_cpu", "pxn")


def _estimated(monkeypatch, *args):
    """training_update(*args) and the scenarios it handed to il.estimate."""
    seen = []
    real = il.estimate

    def spy(sc, *a, **k):
        seen.append(sc)
        return real(sc, *a, **k)

    monkeypatch.setattr(il, "estimate", spy)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        s, chart = training_update(*args)
    return s, chart, seen


def _unplanned(hardware=None) -> il.Scenario:
    """The base scenario without its plan (as il.search takes it), on ``hardware`` if given."""
    d = {k: v for k, v in il.load_scenario(BASE).to_dict().items() if k != "parallelism"}
    if hardware is not None:
        d["hardware"] = hardware.to_dict()
    return il.Scenario.from_dict(d, check_plan=False)


def _replaced(accelerator: str, gpus: int) -> HardwareConfig:
    """The hardware Scenario.replace gives the base scenario for the explorer's choice: the GPUs
    in the part's own nodes (own_node_layout: a rack-scale part's 4-GPU trays) and the explorer's
    NIC (the part's default, data/default_nics.csv)."""
    part = HardwareConfig.from_dict({"accelerator": accelerator, "nodes": 1})
    nic = EXPLORER_ACCELERATORS.get(accelerator) or part.nic
    return _unplanned().replace(
        hardware={"accelerator": accelerator, **own_node_layout(accelerator, gpus), "nic": nic}).hardware


# a global batch of half the GPUs: Zyphra's pure data parallelism is not valid, so the
# explorer takes its search path (the to_dict table it edits), on 8-GPU and rack-scale parts
@pytest.mark.parametrize("accelerator, gpus, domain", [
    ("H100-SXM", 1024, 8), ("MI300X", 1024, 8), ("MI355X", 1024, 8), ("B200", 512, 8),
    ("GB200", 1152, 72), ("GB300", 1152, 72), ("MI450X", 1152, 72)])
def test_the_searched_plan_runs_on_the_hardware_replace_derives(monkeypatch, accelerator, gpus, domain):
    s, chart, seen = _estimated(monkeypatch, accelerator, gpus, gpus // 2, 4096)
    assert s["plan"][0].startswith("search"), s["plan"][0]
    assert seen and chart is not None
    want = _replaced(accelerator, gpus)
    for sc in seen:
        got = sc.hardware
        assert {k: getattr(got, k) for k in DERIVED} == {k: getattr(want, k) for k in DERIVED}, accelerator
        assert (got.world_size, got.domain_gpus) == (gpus, domain)


def test_a_rack_scale_part_is_searched_on_its_nvl72_racks(monkeypatch):
    # ZAYA1's table written out by to_dict holds MI300X's 8-GPU xGMI domain; the explorer's
    # search kept it (1,152 GB200 as 144 eight-GPU NVLink domains)
    s, _, seen = _estimated(monkeypatch, "GB200", 1152, 2304, 32768)
    assert s["plan"][0].startswith("search")
    assert [sc.hardware.domain_gpus for sc in seen] == [72] * len(seen)
    assert [sc.hardware.scaleup_domain for sc in seen] == [72] * len(seen)


def test_a_cluster_that_splits_racks_is_searched_on_partly_used_racks_not_8_gpu_domains(monkeypatch):
    # 1,024 MI450X are not whole 72-GPU racks: the search once ran on the stale 8-GPU domains
    # (a plan, silently), then the explorer refused it (worded in 8-GPU "nodes" of a part whose
    # nodes are 4-GPU trays); now its trays fill 16 racks of 64 (own_node_layout), as the note says
    s, chart, seen = _estimated(monkeypatch, "MI450X", 1024, 2048, 32768)
    assert chart is not None and seen
    assert [(sc.hardware.gpus_per_node, sc.hardware.domain_gpus, sc.hardware.scaleup_domain) for sc in seen] \
        == [(4, 64, 72)] * len(seen)
    assert "1,024 GPUs in 16 racks of 64 (16 of each 72-GPU rack's 18 trays: an assumption)" in s["note"][0]


def test_reliability_scaling_a_table_follows_the_cluster_size():
    # a 32-GPU GB200 cluster (domain_gpus derived as 32) scaled to 1,152 GPUs kept 32-GPU domains,
    # and to 72 GPUs was refused (72 GPUs are not whole 32-GPU domains)
    small = HardwareConfig.from_dict({"accelerator": "GB200", "nodes": 4})
    assert small.domain_gpus == 32
    for gpus, domain in ((1152, 72), (72, 72), (16, 16)):
        big = il.reliability.scale_hardware(small, gpus)
        assert (big.world_size, big.domain_gpus) == (gpus, domain)
        assert big == _unplanned(small).replace(hardware={"nodes": big.nodes}).hardware
    # a domain given otherwise (16 of an NVL72's 18 trays) is kept, as replace keeps it
    part = HardwareConfig.from_dict({"accelerator": "GB200", "nodes": 16, "domain_gpus": 64})
    assert il.reliability.scale_hardware(part, 256).domain_gpus == 64


def test_the_reliability_explorer_sees_the_scaled_racks():
    small = HardwareConfig.from_dict({"accelerator": "GB200", "nodes": 4})
    s, _ = il.widgets.reliability_update(72, "fleet", 1.0, 10.0, "baseline", hardware=small, work_hours=100.0,
                                         model="zaya1-base", n_runs=10)
    assert s["gpus"] == 72
