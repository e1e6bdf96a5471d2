"""A user's pass (user34) over bad inputs: unknown catalog names inside a scenario name their
dotted field, swapped arguments are called swapped, and a scenario's [model] table is a model.

Before: ``il.estimate`` of a scenario with ``hardware.accelerator = "MI300"`` said
"unknown accelerator 'MI300'. Did you mean ..." without saying which field of which table held
it (the same for ``hardware.nic``, and through ``il.collective``'s hardware);
``il.economics.npv(0.1, [-100, 121])`` (numpy-financial's order) said "cash_flows: need a 1-D
sequence ..., got 0.1"; ``il.reliability.plan_run(hw, h, model=sc.model)`` and
``il.memory.checkpoint_bytes(sc.model)`` refused the scenario's own [model] table."""

from __future__ import annotations

import copy
import json

import pytest

import infra_lab as il
from infra_lab.errors import UnknownNameError, ValidationError

BASE = il.load_scenario("zaya1-ibm-mi300x").to_dict()


def _with(table: str, key: str, value) -> dict:
    d = copy.deepcopy(BASE)
    d[table][key] = value
    return d


@pytest.mark.parametrize(("key", "value", "nearest"), [
    ("accelerator", "MI300", "MI300X"), ("accelerator", "H10", "H100-SXM"), ("nic", "Pollara-40", "Pollara-400"),
])
def test_unknown_catalog_name_in_hardware_names_its_dotted_field(key, value, nearest):
    want = rf"unknown (accelerator|NIC) '{value}' in hardware\.{key}\. Did you mean .*'{nearest}'.* Valid: "
    with pytest.raises(UnknownNameError, match=want):
        il.estimate(_with("hardware", key, value))
    with pytest.raises(UnknownNameError, match=want):
        il.Scenario.from_dict(_with("hardware", key, value))
    with pytest.raises(UnknownNameError, match=want):
        il.collective("all_reduce", 2**20, {**BASE["hardware"], key: value}, gpus=8)


def test_unknown_accelerator_in_a_scenario_file_names_file_and_field(tmp_path):
    path = tmp_path / "typo.json"
    path.write_text(json.dumps(_with("hardware", "accelerator", "MI30X")))
    with pytest.raises(UnknownNameError, match=r"scenario file typo\.json: unknown accelerator 'MI30X' in "
                                               r"hardware\.accelerator\. Did you mean .*'MI300X'"):
        il.load_scenario(path)


def test_catalog_lookup_alone_keeps_its_message():
    """Outside a scenario there is no field to name: the catalog's own message is unchanged."""
    with pytest.raises(UnknownNameError) as e:
        il.catalog.accelerator("H1000")
    assert str(e.value).startswith("unknown accelerator 'H1000'. Did you mean")


def test_npv_with_swapped_arguments_says_so():
    with pytest.raises(ValidationError, match=r"arguments are swapped; npv takes the cash flows first"):
        il.economics.npv(0.1, [-100.0, 121.0])
    assert il.economics.npv([-100.0, 121.0], 0.1) == pytest.approx(10.0)
    with pytest.raises(ValidationError, match=r"cash_flows: need a 1-D sequence"):
        il.economics.npv(0.1, 0.2)                      # no sequence at all: the old message


def test_a_scenarios_model_table_is_a_model_for_memory_and_reliability():
    sc = il.load_scenario("zaya1-ibm-mi300x")
    assert sc.model == {"preset": "zaya1-base"}
    by_table = il.memory.checkpoint_bytes(sc.model, "muon")
    assert by_table.total_bytes == il.memory.checkpoint_bytes("zaya1-base", "muon").total_bytes
    a = il.reliability.plan_run(sc.hardware, 720, model=sc.model)
    b = il.reliability.plan_run(sc.hardware, 720, model="zaya1-base")
    assert a.checkpoint.total_bytes == b.checkpoint.total_bytes
    assert il.memory.kv_cache_bytes({"preset": "llama3-8b"}, 8192) == il.memory.kv_cache_bytes("llama3-8b", 8192)
    with pytest.raises(UnknownNameError, match=r"unknown model field 'presett' in \[model\]\. Did you mean 'preset'"):
        il.memory.checkpoint_bytes({"presett": "zaya1-base"})
    with pytest.raises(UnknownNameError, match=r"unknown model preset 'zaya1-bse'.*Did you mean 'zaya1-base'"):
        il.memory.weight_bytes({"preset": "zaya1-bse"})
    with pytest.raises(ValidationError, match=r"spec = 3: expected a Scenario, a ModelSpec, a model preset name "
                                              r"or a \[model\] table"):
        il.memory.checkpoint_bytes(3)


@pytest.mark.parametrize("name", [None, 3, b"zaya1-ibm-mi300x", ["zaya1-ibm-mi300x"]])
def test_load_scenario_of_a_non_name_says_what_it_takes(name):
    """Before: "unknown scenario None. Valid: ..." as if None were a misspelt name."""
    with pytest.raises(ValidationError, match=r"scenario name = .*: expected a shipped scenario's name \(one of "
                                              r".*zaya1-ibm-mi300x\) or the path of a \.toml / \.json"):
        il.load_scenario(name)


def test_replace_with_a_dotted_key_shows_the_table_form():
    """Before: ``sc.replace(**{"hardware.nodes": 64})`` said "unknown table 'hardware.nodes'"."""
    sc = il.load_scenario("zaya1-ibm-mi300x")
    with pytest.raises(ValidationError, match=r"'hardware\.nodes' = 64 is a dotted key; .*"
                                              r"sc\.replace\(hardware=\{'nodes': 64\}\)"):
        sc.replace(**{"hardware.nodes": 64})
    with pytest.raises(UnknownNameError, match=r"unknown table 'hardwar\.nodes'.*Did you mean 'hardware'"):
        sc.replace(**{"hardwar.nodes": 64})
    assert sc.replace(hardware={"nodes": 64}).hardware.nodes == 64
