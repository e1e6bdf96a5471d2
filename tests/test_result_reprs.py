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
    assert got["tokens_per_s_per_gpu"].endswith(" tokens/s/GPU") and got["mfu"].endswith("%)")
    assert got["fits"] == "True" and got["gpus"] == "1,024"
    assert repr(est).startswith("Estimate(step_time_s=0.33493479") and _pretty(est) == text   # repr exact
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


def _deal(rows):
    import polars as pl

    from infra_lab.economics.deal import DealPnL

    cols = ("party", "line", "p5", "p50", "p95", "unit")
    t = pl.DataFrame([dict(zip(cols, r, strict=True)) for r in rows]).with_columns(
        mean=pl.col("p50"), n=pl.lit(64, dtype=pl.Int64), how=pl.lit(""))
    return DealPnL(table=t.select("party", "line", "p5", "p50", "p95", "mean", "n", "unit", "how"))


def test_a_deal_line_near_zero_prints_its_band_at_one_precision():
    """A DealPnL line whose band crosses zero printed each figure to 4 significant figures of its
    own: a P50 of 0.000123 cents beside a P95 of 1.2 read '0.0001234 (-1.008 to 1.203)' (a long
    float), 2.5e-07 read in exponent form, and a figure that rounds to zero could read '-0'. The
    three figures now share the precision of the largest, and zero carries no sign."""
    deal = _deal([
        ("IBM", "eps near zero", -1.008, 0.0001234, 1.2031, "US cents per share"),
        ("IBM", "exponent beside plain", -0.5, 2.5e-7, 0.75, "USD"),
        ("IBM", "negative that rounds to zero", -3.0, -0.00004, 2.0, "years"),
        ("IBM", "signed zero", -0.0, -0.0, 0.0, "USD"),
        ("AMD", "share", 0.0, 1e-7, 0.002, "fraction"),
        ("IBM", "whole", 1.0, 2.0, 3.0, "years"),
    ])
    lines = {k.split(": ", 1)[1]: v for k, v in _lines_deal(deal).items()}
    assert lines["eps near zero"] == "0.000 (-1.008 to 1.203) US cents per share"
    assert lines["exponent beside plain"] == "0.0000 (-0.5000 to 0.7500) USD"
    assert lines["negative that rounds to zero"] == "0 (-3 to 2) years"      # whole at that precision
    assert lines["signed zero"] == "0 (0 to 0) USD"
    assert lines["share"] == "0.0000 (0.0000 to 0.2000) %"
    assert lines["whole"] == "2 (1 to 3) years"
    text = str(deal)
    assert not LONG_FLOAT.search(text) and "-0 " not in text and "-0." + "0" * 3 + " " not in text
    assert not re.search(r"\de[-+]\d", text), text


def test_a_deal_rate_per_year_prints_as_a_percentage_per_year():
    """IBM's IRR (unit 'per year', a fraction per year) printed as a bare fraction, '0.1234 (0.0500
    to 0.2) per year', beside the shares that print as %; it now reads in % per year."""
    deal = _deal([("IBM", "IRR (pre-tax, unlevered)", 0.05, 0.1234, 0.2, "per year"),
                  ("IBM", "book operating margin", 0.1, 0.2, 0.3, "fraction")])
    lines = {k.split(": ", 1)[1]: v for k, v in _lines_deal(deal).items()}
    assert lines["IRR (pre-tax, unlevered)"] == "12.34 (5.00 to 20.00) % per year"
    assert lines["book operating margin"] == "20 (10 to 30) %"
    real = il.economics.deal_pnl(1e6, n=64)
    irr = real.line("IBM", "IRR (pre-tax, unlevered)")
    row = _lines_deal(real)["IBM: IRR (pre-tax, unlevered)"]
    assert row.endswith(" % per year") and float(row.split()[0].replace(",", "")) == pytest.approx(100 * irr.p50, rel=1e-3, abs=0.01)


def _lines_deal(deal) -> dict[str, str]:
    """DealPnL's 'party: line  band unit' rows (names hold blanks: split on two or more)."""
    out = {}
    for line in str(deal).splitlines()[1:]:
        parts = re.split(r"\s{2,}", line.strip(), maxsplit=1)
        if len(parts) == 2 and not line.strip().startswith(("(", "unknown:")):
            out[parts[0]] = parts[1]
    return out


def test_the_real_deal_printout_has_no_long_float_and_no_signed_zero_for_any_seed():
    """The printout test with 64 draws could meet a line near zero (IBM's EPS lines cross it);
    over several seeds none prints a long float, an exponent or a '-0'."""
    for seed in range(6):
        text = str(il.economics.deal_pnl(1e6, n=64, seed=seed))
        assert not LONG_FLOAT.search(text), text
        assert not re.search(r"(?<![\w.])-0(?:\.0+)?(?![\d.])", text), text
        assert not re.search(r"\d\.\d+e[-+]\d", text), text


def test_band_prints_its_figures_at_one_precision_and_fmt_drops_a_signed_zero():
    from infra_lab._repr import band_text, unsigned_zero
    from infra_lab.economics.uncertainty import Band

    assert str(Band(5.0, 50.0, 95.0, 50.0, 101)).splitlines()[0] == "Band: 50 (5 to 95)"
    assert str(Band(-1.0, 0.0004, 1.5, 0.1, 9)).splitlines()[0] == "Band: 0.000 (-1.000 to 1.500)"
    assert Band(-0.5, -0.001, 0.5, 0.0, 9).fmt() == "0.00 (-0.50 to 0.50)"       # was '-0.00 (…)'
    assert Band(-0.004, -0.001, -0.0, 0.0, 9).fmt("{:.1%}") == "-0.1% (-0.4% to 0.0%)"
    assert unsigned_zero("-0.00") == "0.00" and unsigned_zero("-0.01") == "-0.01"
    assert band_text(float("inf"), 3.687, float("inf")) == "inf (3.687 to inf)"
    assert band_text(2e-5, 1e-5, 3e-5) == "2.000e-05 (1.000e-05 to 3.000e-05)"


def test_request_counts_print_with_their_unit():
    """ServeResult printed `max_concurrency  2,096` and `running_requests  256` with no unit
    (the CLI's table says requests); every request count now says so."""
    r = il.serve(il.load_scenario("maia-class-serving-mi300x"))
    lines = _lines(r)
    assert lines["max_concurrency"] == f"{r.max_concurrency:,} requests"
    assert lines["running_requests"].endswith(" requests") and lines["gpus"] == f"{r.gpus:,}"
    assert value_text("concurrency", 64) == "64 requests" and value_text("running_requests", 12.5) == "12.5 requests"


def test_per_gpu_throughputs_print_tokens_per_s_per_gpu():
    """ServeResult and Estimate printed their per-GPU throughputs (`*_tokens_per_s_per_gpu`) as
    plain `tokens/s`, the unit of a whole deployment's rate; a per-GPU field now reads
    `tokens/s/GPU`, a per-user one `tokens/s per user`, and the others keep `tokens/s`."""
    r = il.serve(il.load_scenario("maia-class-serving-mi300x"))
    lines = _lines(r)
    per_gpu = [n for n in lines if "tokens_per_s" in n and "_per_gpu" in n]
    assert per_gpu, lines
    for n in per_gpu:
        assert lines[n].endswith(" tokens/s/GPU"), (n, lines[n])
    assert lines["tokens_per_s_per_user"].endswith(" tokens/s per user")
    for n in (n for n in lines if "tokens_per_s" in n and not n.endswith(("_per_gpu", "_per_user"))):
        assert lines[n].endswith(" tokens/s"), (n, lines[n])
    assert value_text("output_tokens_per_s_per_gpu", 925.13) == "925.1 tokens/s/GPU"
    assert value_text("tokens_per_s_per_gpu", 2.5e6) == "2.5 M tokens/s/GPU"
    assert value_text("total_tokens_per_s", 1.25e6) == "1.25 M tokens/s"
