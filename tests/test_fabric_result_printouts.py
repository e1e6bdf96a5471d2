"""il.fabric's results print readably, as the other results do (session 37's user pass).

Before: ``print(il.fabric.simulate_step(...))``, ``print(il.fabric.scaleout(hw))`` and
``print(il.fabric.scaleup(hw))`` showed the dataclass repr, every float at full precision
(``time_s=1.9709228389757692e-05, ... per_gpu_Bps=47323818897.637794``)."""

from __future__ import annotations

import re

import infra_lab as il
from infra_lab._repr import Printout, value_text

LONG_FLOAT = re.compile(r"\d\.\d{6,}")


def test_fabric_results_print_one_field_a_line_with_units():
    hw = il.load_scenario("zaya1-ibm-mi300x").hardware
    step = il.fabric.simulate_step(il.fabric.step_flows("ring", hw, 2**30), hw, "ecmp")
    for obj in (step, il.fabric.scaleout(hw), il.fabric.scaleup(hw)):
        assert isinstance(obj, Printout)
        text = str(obj)
        assert text.splitlines()[0] == type(obj).__name__ and "\n" not in repr(obj), text
        assert not LONG_FLOAT.search(text) and "exact values" in text, text
    lines = dict(line.strip().split(None, 1) for line in str(step).splitlines()[1:-1])
    assert lines["time_s"] == value_text("time_s", step.time_s) and lines["time_s"].endswith("µs")
    assert lines["per_gpu_Bps"].endswith("GB/s")
    assert "GB/s" in str(il.fabric.scaleout(hw)).splitlines()[4]
