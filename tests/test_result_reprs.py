"""Result objects print readably (``print(obj)``, and what IPython/Jupyter show for ``obj``): one
field a line, 4 significant figures, the unit the field's name carries; the exact values stay in
the attributes, ``to_dict()`` and ``repr`` (the dataclass's one-line repr, which error messages
quote).

Before: ``print(il.estimate(sc))`` and a notebook cell ending in ``est`` showed the dataclass repr
with every float at full precision (``Estimate(step_time_s=0.3349685908694029,
tokens_per_s=25042968.889195163, ...)``), the same for ``il.collective``'s result, the reliability
plans, the economics results and the catalog's accelerators (with their whole sourcing note)."""

from __future__ import annotations

import dataclasses
import re

import pytest

import infra_lab as il
from infra_lab._repr import readable, sig, value_text

LONG_FLOAT = re.compile(r"\d\.\d{6,}")


@pytest.fixture(scope="module")
def est():
    return il.estimate(il.load_scenario("zaya1-ibm-mi300x"))


def _pretty(obj) -> str:
    """What IPython / Jupyter show for ``obj`` (its ``_repr_pretty_``)."""
    class P:
        text_ = ""

        def text(self, t):
            self.text_ += t

    p = P()
    obj._repr_pretty_(p, False)
    return p.text_


def _lines(obj) -> dict[str, str]:
    """The printout's ``name  value`` lines as a dict."""
    out = {}
    for line in str(obj).splitlines()[1:]:
        parts = line.strip().split(None, 1)
        if len(parts) == 2 and not line.strip().startswith(("(", "note:")):
            out[parts[0]] = parts[1]
    return out


def test_estimate_prints_units_and_rounded_values_and_keeps_exact_ones(est):
    text = str(est)
    assert text.startswith("Estimate: MI300X x 1,024 GPUs, stack megatron-core-rocm")
    assert not LONG_FLOAT.search(text), text
    got = _lines(est)
    assert got["step_time_s"] == value_text("step_time_s", est.step_time_s) and got["step_time_s"].endswith(" ms")
    assert got["memory_per_gpu_bytes"].endswith("GiB)") and "GB (" in got["memory_per_gpu_bytes"]
    assert got["tokens_per_s_per_gpu"].endswith("tokens/s") and got["mfu"].endswith("%)")
    assert got["fits"] == "True" and got["gpus"] == "1,024"
    assert repr(est).startswith("Estimate(step_time_s=0.33496859") and _pretty(est) == text   # repr exact
    # every repr field is printed under its attribute name, and to_dict stays exact
    assert {f.name for f in dataclasses.fields(est) if f.repr} <= set(got)
    assert est.to_dict()["step_time_s"] == est.step_time_s and isinstance(est.to_dict()["step_time_s"], float)


def test_collective_result_prints_bandwidths_in_GB_per_s_and_its_notes():
    hw = il.load_scenario("zaya1-ibm-mi300x").hardware
    c = il.collective("all_reduce", 2**30, hw, gpus=1024)
    text = str(c)
    assert text.startswith("CollectiveResult: all_reduce of 1,073,741,824 B over 1,024 GPUs (rccl)")
    assert not LONG_FLOAT.search(text.split("note:")[0]), text
    got = _lines(c)
    assert got["busbw_Bps"].endswith(" GB/s") and got["time_s"].endswith(" ms")
    assert got["size_bytes"] == "1.074 GB (1 GiB)"
    assert all(f"note: {n}" in text for n in c.notes)
    assert c.to_dict()["busbw_Bps"] == c.busbw_Bps
    one = il.collective("all_reduce", 2**30, hw, gpus=1)
    assert str(one).splitlines()[0].endswith("over 1 GPU (rccl)")


def test_reliability_and_economics_results_print_readably(est):
    sc = il.load_scenario("zaya1-ibm-mi300x")
    rp = il.reliability.plan_run(sc.hardware, 24 * 30, model="zaya1-base")
    for obj in (rp, rp.checkpoint, il.economics.run_cost(est, price_usd_per_gpu_hour=2.0, tokens=12e12),
                il.economics.owned_cost_per_gpu_hour("MI300X"), il.economics.rent_vs_own(2.0),
                il.economics.provider_view(2.0, 0.8), il.economics.zyphra_bill(1e6),
                il.catalog.accelerator("MI300X"), il.catalog.nic("Pollara-400")):
        text = str(obj)
        assert text.startswith(type(obj).__name__), text
        assert not LONG_FLOAT.search(text), text
        assert "exact values" in text
        assert "\n" not in repr(obj) and repr(obj).startswith(type(obj).__name__ + "(")   # exact, one line
        assert _pretty(obj) == text
    assert _lines(rp)["goodput"].endswith("%)") and "days)" in _lines(rp)["work_s"]
    owned = il.economics.owned_cost_per_gpu_hour("MI300X")
    assert _lines(owned)["total_usd_per_gpu_hour"] == value_text("x_usd_per_gpu_hour", owned.total_usd_per_gpu_hour)
    assert _lines(il.economics.run_cost(gpu_hours=1000, price_usd_per_gpu_hour=2.0))["gpu_hours"] == "1,000 GPU·h"
    mi = _lines(il.catalog.accelerator("MI300X"))
    assert mi["memory_capacity_bytes"] == "206.1 GB (192 GiB)" and mi["unsupported_precisions"] == "fp4"
    assert mi["peak_flops"].startswith("fp64 163.4 TFLOP/s") and "bf16 1.307 PFLOP/s" in mi["peak_flops"]
    assert "note" not in mi and _lines(il.catalog.nic("Pollara-400"))["line_rate_bps"] == "400 Gbit/s"
    assert _lines(il.economics.provider_view(2.0, 0.8))["irr"].endswith("%)")
    assert _lines(il.economics.zyphra_bill(1e6))["contracted_gpu_hours"].endswith("M GPU·h")


@pytest.mark.parametrize(("x", "want"), [
    (24456.02, "24,456"), (0.3349686, "0.335"), (1.0, "1"), (0.0, "0"), (-2.5, "-2.5"),
    (float("inf"), "inf"), (float("nan"), "nan"), (2.5e-7, "2.5e-07"), (3e20, "3e+20"), (123.456, "123.5"),
])
def test_sig_rounds_to_four_figures(x, want):
    assert sig(x) == want


def test_value_text_reads_the_unit_from_the_name():
    assert value_text("lower_bound_s", 5.757e-6) == "5.757 µs"
    assert value_text("expected_wall_s", 7200.0 * 3) == "21,600 s (6 h)"
    assert value_text("hbm_bw_Bps", 5.3e12) == "5.3 TB/s"
    assert value_text("peak_flops", 1.3074e15) == "1.307 PFLOP/s"
    assert value_text("tdp_W", 750.0) == "750 W"
    assert value_text("node_write_bytes", 5e8) == "500 MB"
    assert value_text("basis", "estimate") == "'estimate'" and value_text("tokens", None) == "None"


def test_readable_takes_any_dataclass():
    @dataclasses.dataclass(frozen=True)
    class R:
        time_s: float
        notes: tuple = ("one", "two")
        hidden: float = dataclasses.field(default=1.0, repr=False)

    text = readable(R(0.5), title="t")
    assert text.splitlines()[:2] == ["R: t", "  time_s  500 ms"]
    assert "note: one" in text and "note: two" in text and "hidden" not in text


def test_printout_has_one_owner():
    """``print(obj)`` and IPython's display of every result class go through one mixin,
    ``infra_lab._repr.Printout``: no module defines ``_repr_pretty_`` or a result ``__str__`` of its
    own (a class states only what differs, in ``_printout``)."""
    import ast
    from pathlib import Path

    import infra_lab

    root = Path(infra_lab.__file__).parent
    owners = []
    for path in root.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ClassDef):
                names = {f.name for f in node.body if isinstance(f, ast.FunctionDef)}
                if "_repr_pretty_" in names or ("__str__" in names and "_printout" not in names
                                                and not any(isinstance(b, ast.Name) and b.id.endswith("Error")
                                                            for b in node.bases)):
                    owners.append(f"{path.relative_to(root)}:{node.name}")
    assert owners == ["_repr.py:Printout"], owners
    from infra_lab._repr import Printout
    from infra_lab.collectives import CollectiveResult
    from infra_lab.serving import ServeResult
    from infra_lab.training import Estimate

    for cls in (Estimate, CollectiveResult, ServeResult):
        assert issubclass(cls, Printout) and "_printout" in vars(cls), cls


def test_the_remaining_economics_and_restart_results_print_readably():
    """Band, DealPnL, EpochCost and RestartModel printed as their raw dataclass reprs (DealPnL as
    ``DealPnL(unknowns=(...))``, its table hidden); they now go through the Printout mixin."""
    import numpy as np

    from infra_lab._repr import Printout

    objs = (il.economics.band(np.arange(101.0)), il.economics.deal_pnl(1e6, n=64),
            il.economics.epoch_amortized_cost(30_000, 1e6, 700), il.reliability.restart_model())
    for obj in objs:
        assert isinstance(obj, Printout)
        text = str(obj)
        assert text.startswith(type(obj).__name__) and text != repr(obj) and "\n" in text, text
        assert not LONG_FLOAT.search(text) and "exact values" in text, text
        assert _pretty(obj) == text and "\n" not in repr(obj)
    band, deal, epoch, restart = objs
    assert _lines(band)["p50"] == "50" and str(band).splitlines()[0] == "Band: 50 (5 to 95)"
    assert _lines(epoch)["usd_per_gpu_hour"] == value_text("usd_per_gpu_hour", epoch.usd_per_gpu_hour)
    assert _lines(restart)["hang_detect_s"] == value_text("hang_detect_s", restart.hang_detect_s)
    first = deal.table.row(0, named=True)
    assert f"{first['party']}: {first['line']}" in str(deal) and str(deal).count("unknown:") == len(deal.unknowns)
