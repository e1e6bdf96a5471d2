"""A fresh user's pass, 2026-12-06 (docs/review-response-history.md, "A fresh user's pass, 2026-12-06";
docs/bad-inputs.md, "A fresh user's pass over files, names and the CLI"): one case per
problem it found, each failing before its fix."""

from __future__ import annotations

import json

import pytest

import infra_lab as il
from infra_lab.errors import UnknownNameError, ValidationError


# ------------------------------------------------------------------ a scenario file by path
def test_load_scenario_reads_the_file_a_scenario_was_written_to(tmp_path):
    """il.load_scenario("run.json") of a file json.dump(sc.to_dict()) had just written said
    "unknown scenario 'run.json'. Valid: maia-class-ibm-mi300x, ...", though il.estimate and the
    CLI read the same path."""
    sc = il.load_scenario("zaya1-ibm-mi300x")
    js, tm = tmp_path / "run.json", tmp_path / "run.toml"
    js.write_text(json.dumps(sc.to_dict()))
    tm.write_text(sc.to_toml())
    assert il.load_scenario(str(js)) == sc and il.load_scenario(tm) == sc
    with pytest.raises(ValidationError, match=r"scenario file '.*missing\.json': not found"):
        il.load_scenario(str(tmp_path / "missing.json"))
    with pytest.raises(UnknownNameError, match="Did you mean 'zaya1-ibm-mi300x'"):
        il.load_scenario("zaya1-ibm")


# ------------------------------------------------------------------ a catalog part without a default NIC
def test_training_explorer_takes_every_catalog_accelerator():
    """training_update(accelerator="MI450X") raised "unknown accelerator with a default NIC
    (data/default_nics.csv) 'MI450X'. Did you mean 'MI350X'", of a part every other call takes
    (a [hardware] table without nic gives it HardwareConfig's default NIC). 1,152 GPUs (batch 2,304): whole
    72-GPU racks (1,024 are not, and are refused with the library's whole-domain message; the plan
    this test once got at 1,024 ran on ZAYA1's stale 8-GPU domains,
    tests/test_explorers_derived_hardware.py)."""
    from infra_lab.scenario import HardwareConfig
    from infra_lab.widgets.training import training_update

    df, _chart = training_update(accelerator="MI450X", gpus=1152, global_batch=2304)
    row = df.row(0, named=True)
    assert row["accelerator"] == "MI450X" and not row["plan"].startswith("no valid plan"), row
    assert HardwareConfig.from_dict({"accelerator": "MI450X"}).nic == "Pollara-400"


# ------------------------------------------------------------------ a preset's name in replace
def test_replace_takes_a_preset_name_as_from_dict_does():
    """Scenario.from_dict takes {"model": "llama3-8b"}, and sc.replace(model="llama3-8b") was
    refused ("expected a dict of the [model] keys to change"). A name replaces the whole table
    (a dict still changes only the keys it names: an override of the old model stays)."""
    sc = il.load_scenario("zaya1-ibm-mi300x")
    assert sc.replace(model="llama3-8b") == il.Scenario.from_dict({**sc.to_dict(), "model": "llama3-8b"})
    short = il.Scenario.from_dict({**sc.to_dict(), "model": {"preset": "llama3-8b", "layers": 4}})
    assert short.replace(model="llama3-70b").model_spec.layers == il.models.get("llama3-70b").layers
    assert short.replace(model={"preset": "llama3-70b"}).model_spec.layers == 4
    with pytest.raises(UnknownNameError, match="Did you mean 'llama3-8b'"):
        sc.replace(model="lama3-8b")
    with pytest.raises(ValidationError, match=r"replace\(hardware='MI300X'\): expected a dict"):
        sc.replace(hardware="MI300X")


# ------------------------------------------------------------------ apply_plan takes what search takes
def test_apply_plan_takes_the_scenario_as_search_does(tmp_path):
    """il.search("zaya1-ibm-mi300x") and then il.training.apply_plan("zaya1-ibm-mi300x", row)
    was refused ("expected a Scenario or dict ... got str"), where every call that takes a
    scenario takes a shipped name or a file."""
    row = il.search("zaya1-ibm-mi300x", top=1).row(0, named=True)
    want = il.training.apply_plan(il.load_scenario("zaya1-ibm-mi300x"), row)
    assert il.training.apply_plan("zaya1-ibm-mi300x", row) == want
    p = tmp_path / "run.toml"
    p.write_text(il.load_scenario("zaya1-ibm-mi300x").to_toml())
    assert il.training.apply_plan(p, row) == want
    with pytest.raises(ValidationError, match="did you mean 'zaya1-ibm-mi300x'"):
        il.training.apply_plan("zaya1", row)


# ------------------------------------------------------------------ example_scenario checks what it writes
@pytest.mark.parametrize("call, exc, words", [
    (lambda: il.multimodal.example_scenario("qwen2.5-vl"), UnknownNameError, "Did you mean 'qwen2.5-vl-7b'"),
    (lambda: il.multimodal.example_scenario("llama3-8b"), UnknownNameError, "unknown multimodal preset 'llama3-8b'"),
    (lambda: il.multimodal.example_scenario("qwen2.5-vl-7b", {"text": 0.5, "audio": 0.5}), ValidationError,
     "training.data_mix.audio = 0.5: model 'qwen2.5-vl-7b' has no audio encoder"),
    (lambda: il.multimodal.example_scenario("qwen2.5-vl-7b", accelerator="H1000"), UnknownNameError,
     "Did you mean 'H100-SXM'"),
])
def test_example_scenario_refuses_what_no_scenario_takes(call, exc, words):
    """il.multimodal.example_scenario("qwen2.5-vl") (a misspelt system), a text preset, or an audio
    share on a vision-only system returned a dict, and the error came from the first call that
    read it; an accelerator alias in lower case ('mi300x') also lost AMD's PXN."""
    with pytest.raises(exc, match=words):
        call()


def test_example_scenario_gives_an_amd_alias_its_pxn():
    d = il.multimodal.example_scenario("qwen2.5-vl-7b", accelerator="mi300x", nodes=1)
    assert d["hardware"]["accelerator"] == "MI300X" and d["hardware"]["pxn"] is True
