"""Hand checks of the economics and reliability models (tools/economics_hand_checks_report.py):
each figure worked out by hand from the data rows the model reads, held to a stated tolerance
against the model's; the textbook simplifications held to the reason their ratio is not 1; the
hand readers held to the model's own readers of the same rows; and the generated blocks of
docs/economics.md and docs/reliability.md held to the tool's output."""

from __future__ import annotations

import functools
import math
from pathlib import Path

import pytest
from script_module import load_script

import infra_lab as il

ROOT = Path(__file__).resolve().parents[1]


def _tool():
    return load_script("tools/economics_hand_checks_report.py")


@functools.cache
def _econ() -> tuple[dict, ...]:
    return tuple(_tool().econ_rows())


@functools.cache
def _rel() -> tuple[dict, ...]:
    return tuple(_tool().rel_rows())


def _row(rows, start: str) -> dict:
    hits = [r for r in rows if r["check"].startswith(start)]
    assert len(hits) == 1, [r["check"] for r in rows]
    return hits[0]


def test_the_hand_inputs_are_the_models_inputs():
    """The tool reads parameters.csv as a spreadsheet would (its own row or the ``all`` row, a
    blank cell through its ``linked`` entry); every value, low and high it reads for MI300X and
    H100-SXM is the model's reader's, so a hand figure starts from the same data."""
    t = _tool()
    for acc in ("MI300X", "H100-SXM"):
        P = il.economics.parameters(acc)
        for k in (*il.economics.OWNED_PARAMS, "amd_asp_usd_per_gpu", "dpu_usd", "dpus_per_node",
                  "contract_usd_per_gpu_hour", "market_utilization", "zyphra_contract_months"):
            if k not in P:
                continue
            for col in ("value", "low", "high"):
                assert t.inp(k, acc, col) == pytest.approx(getattr(P[k], col), rel=1e-12), (acc, k, col)
        assert t.tdp_W(acc) == il.catalog.accelerator(acc).tdp_W


@pytest.mark.parametrize("gpus, fabric", [(1024, "rails-only"), (16, "rails-only"), (64, "rails-only"),
                                          (16384, "fat-tree"), (1024, "fat-tree")])
def test_the_hand_fabric_counts_are_the_fabric_code_s(gpus, fabric):
    """Switches and cables counted by hand (rails-only: a two-tier network per rail; fat-tree: two
    tiers up to r^2/2 GPUs, else three) are fabric.switch_counts / link_counts' at radix 64."""
    t = _tool()
    radix = int(t.network_constant("switch_radix_ports"))
    hw = {"accelerator": "MI300X", "nodes": gpus // 8, "fabric": fabric}
    hand = t.rails_only_counts(gpus, 8, radix) if fabric == "rails-only" else t.fat_tree_counts(gpus, radix)
    assert hand == (il.fabric.switch_counts(hw)["total"], il.fabric.link_counts(hw)["total"])


def test_every_closed_form_row_matches_within_its_tolerance():
    """Rows computed with the model's own definitions agree to 1e-9 relative (a count exactly;
    the Monte Carlo P50 against the point at the inputs' means within 1 %: see its own test)."""
    for r in (*_econ(), *_rel()):
        if r["tol"] is None:
            continue
        assert r["model"] == pytest.approx(r["hand"], rel=r["tol"], abs=0 if r["tol"] else 1e-12), r["how"]


def test_payback_is_the_simple_payback_plus_the_setup_month():
    """The simple payback (capex / yearly margin) is below the model's; the model's is exactly the
    monthly count with the setup month's opex and no revenue."""
    r = _row(_econ(), "IBM, flat path: payback")
    assert r["model"] > r["hand"]
    assert r["model"] == pytest.approx(r["exact"], rel=1e-12)


def test_ibm_contract_revenue_is_zyphra_s_bill_for_a_fractional_month():
    """IBM's revenue from Zyphra's contract is Zyphra's bill x the billed share, at the modes and
    for a contract that ends inside a month (the shortest of the range after the shortest setup),
    which the whole-month count priced at another number of months."""
    rows = [r for r in _econ() if r["check"].startswith("the deal: IBM's revenue from a")]
    assert len(rows) == 2
    for r in rows:
        assert r["model"] == pytest.approx(r["hand"], rel=1e-9), r["check"]
    assert rows[1]["whole_months"] != _tool().inp("zyphra_contract_months", col="low")


def test_operator_contract_revenue_is_the_bill_over_draws():
    """Over drawn contracts and setups, each draw's contract revenue per GPU is months x 730.5 h x
    price x billed share (the horizon holds the longest contract)."""
    import numpy as np

    E = il.economics
    v = E.operator_inputs("MI300X")
    months = np.array([3.1, 4.5, 6.0, 7.25, 11.9])
    weeks = np.array([2.0, 3.3, 4.0, 6.5, 8.0])
    r = E.operator_cash_flows({**v, "zyphra_contract_months": months, "setup_weeks": weeks}, path="decay", retire=None)
    want = months * E.HOURS_PER_MONTH * v["contract_usd_per_gpu_hour"] * v["contract_utilization"]
    assert r["contract_revenue"].sum(axis=1) == pytest.approx(want, rel=1e-12)


def test_young_interval_is_the_first_order_optimum_and_daly_is_closer():
    """Young's √(2δM) is within 2 % of the model's exact optimum and above it; Daly's
    higher-order form is closer still (within 0.5 %)."""
    r = _row(_rel(), "ZAYA1, fleet: checkpoint interval")
    assert 0.98 < r["model"] / r["hand"] < 1.0
    p = _tool()._plan()
    d, M = p.ckpt_s, p.mtbi_s
    daly = math.sqrt(2 * d * M) * (1 + math.sqrt(d / (2 * M)) / 3 + d / (2 * M) / 9) - d
    assert abs(p.interval_s / daly - 1) < 0.005


def test_first_order_goodput_gap_is_its_second_order_terms():
    """The first-order goodput overstates the exact one; with the second-order terms of the same
    expansion the two agree within 1e-4 (the rest is third order)."""
    r = _row(_rel(), "ZAYA1, fleet: goodput, first-order")
    assert r["model"] < r["hand"]
    assert r["model"] == pytest.approx(r["second_order"], rel=1e-4)


def test_monte_carlo_mean_wall_clock_is_the_closed_form_within_its_sampling_error():
    r = _row(_rel(), "ZAYA1, fleet: Monte Carlo mean")
    assert abs(r["model"] - r["hand"]) < 4.5 * r["sem"]


def test_owned_cost_monte_carlo_p50_is_near_the_point_at_the_means_and_its_mean_above():
    """The P50 of 20,000 draws is within 1 % of the owned cost at every input's triangular mean
    (a near-symmetric total of many independent items); the draws' mean is above that point
    (1/U and the capital recovery factor are convex: Jensen), and the modes' point below both."""
    r = _row(_econ(), "MI300X owned cost: Monte Carlo P50")
    assert abs(r["model"] / r["hand"] - 1) < r["tol"]
    assert r["mc_mean"] > r["hand"]
    assert _row(_econ(), "MI300X: owned cost")["model"] < r["hand"]


def test_amd_sells_what_ibm_buys():
    """The deal's AMD revenue counts the GPUs IBM's capex buys, hot spares included: with the
    spare fraction at 0 and at its mode the GPU revenue scales by (1 + spare_fraction), as IBM's
    server capex does (the hand check found AMD credited with the billed GPUs only)."""
    fixed = {"amd_asp_usd_per_gpu": 12_000.0, "capex_usd_per_gpu": 15_000.0, "host_usd_per_gpu": 5_000.0}
    line = {}
    for s in (0.0, il.reliability.hot_spare_fraction()):
        d = il.economics.deal_pnl(1e5, n=50, seed=1, overrides={**fixed, "spare_fraction": s})
        line[s] = (d.line("AMD", "GPU revenue").p50, d.line("IBM", "cluster capex").p50)
    (g0, c0), (g1, c1) = line[0.0], line[il.reliability.hot_spare_fraction()]
    assert g0 == pytest.approx(1024 * 12_000.0)
    assert g1 / g0 == pytest.approx(1 + il.reliability.hot_spare_fraction(), rel=1e-12)
    assert c1 > c0


def test_the_pages_blocks_are_the_tool_s_output():
    t = _tool()
    for doc, begin, end, rows in ((t.ECON_DOC, t.ECON_BEGIN, t.ECON_END, _econ()),
                                  (t.REL_DOC, t.REL_BEGIN, t.REL_END, _rel())):
        text = doc.read_text(encoding="utf-8")
        a = text.index(begin)
        b = text.index(end, a) + len(end)
        assert text[a:b] == t.block(list(rows), begin, end), f"{doc.name}: run tools/economics_hand_checks_report.py"


def test_every_approximation_says_why_and_every_exact_row_prints_one():
    """A textbook simplification or a Monte Carlo (no tolerance, or one above 1e-6) carries the
    reason its ratio is not exactly 1; a row held to 1e-9 carries none and prints 1.0000."""
    for r in (*_econ(), *_rel()):
        approx = r["tol"] is None or r["tol"] > 1e-6
        assert approx == bool(r["why"]), r["check"]
        if not approx:
            assert f"{r['model'] / r['hand']:.4f}" == "1.0000", r["check"]
