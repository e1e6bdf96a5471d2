"""docs/economics.md's "The analyst's review: where each point stands": every call the table
names exists, and each row's stated property holds when the call is run (a row whose call stops
answering fails here); the IBM EPS lines of ``deal_pnl`` (question 3) are checked against the
yearly book P&L they come from."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import polars as pl
import pytest

import infra_lab as il
from infra_lab.economics import finance

E = il.economics
ROOT = Path(__file__).resolve().parents[1]
SECTION = "## The analyst's review: where each point stands"


@pytest.fixture(scope="module")
def section() -> str:
    text = (ROOT / "docs" / "economics.md").read_text(encoding="utf-8")
    assert SECTION in text
    body = text.split(SECTION, 1)[1]
    return body.split("\n## ", 1)[0]


@pytest.fixture(scope="module")
def deal():
    return E.deal_pnl(1.6e5, goodput=0.95, n=1500, seed=3)


def test_table_has_the_ten_findings_and_five_questions(section):
    rows = [ln for ln in section.splitlines() if ln.startswith("| ") and not ln.startswith("| Finding")]
    keys = [re.match(r"\| (F\d+|Q\d+) ", ln).group(1) for ln in rows]
    assert keys == [f"F{i}" for i in range(1, 11)] + [f"Q{i}" for i in range(1, 6)]
    for ln in rows:   # three columns, a status in the last
        cells = [c.strip() for c in ln.strip("|").split("|")]
        assert len(cells) == 3 and re.match(r"(answered|partly)", cells[2]), ln


def test_every_named_call_exists(section):
    named = set(re.findall(r"il\.(economics|expansion|widgets|reliability)\.([A-Za-z_]+)", section))
    assert len(named) >= 12
    for mod, name in named:
        assert hasattr(getattr(il, mod), name), f"il.{mod}.{name}"
    for name in re.findall(r"`([a-z_]+)`", section):     # bare call names: economics' own
        if name in ("flat", "decay", "rebound", "basis", "mfu", "replace_at_life", "ibm_book_life_years"):
            continue
        if name.endswith(("_usd", "_years")):
            continue
        assert hasattr(E, name) or name in E.parameters("MI300X"), name


def test_the_section_types_no_figure(section):
    # labels only: F1..Q5, FY years, file names; no amount, share or price
    stripped = re.sub(r"\b(F|Q)\d+\b|FY\d{4}|\b20\d\d\b|\d+-K|20-F|6·N·D|section \d+|\b0\d\b|year[- ]1\b", "", section)
    stripped = re.sub(r"`[^`]*`|\b[A-Z]+\d+[A-Z]*\b", "", stripped)   # code, part names (MI300X, H100)
    assert not re.search(r"\d", stripped), re.findall(r".{20}\d.{20}", stripped)


def test_f1_operator_paths_book_life_and_late_loss_irr():
    assert set(E.PATHS) == {"flat", "decay", "rebound"}
    life = E.parameters("MI300X")["ibm_book_life_years"].value
    ibm = E.useful_life_policies().filter(pl.col("entity") == "IBM").row(0, named=True)
    assert ibm["grade"] == "P" and "sec.gov" in ibm["source_url"] and ibm["life_years"] == life
    pv = {p: E.provider_view(path=p) for p in E.PATHS}
    assert all(v.basis == "pre-tax, unlevered" and v.years == life for v in pv.values())
    assert pv["decay"].npv_usd_per_gpu < pv["flat"].npv_usd_per_gpu
    assert E.irr([-25926, 14617, 14617, 3092, 1051, -428]) == pytest.approx(0.157, abs=5e-4)


def test_f2_f4_f5_f7_owned_cost_bill_rent_and_tco():
    own = E.owned_cost_per_gpu_hour("MI300X")
    items = set(own.breakdown["component"])
    assert {"maintenance and spares", "insurance and property tax", "operations staff", "setup and burn-in"} <= items
    assert E.NETWORK[0] == "per-port"
    assert E.parameters("MI300X")["colocation_usd_per_kW_month"].description.startswith("Wholesale")
    assert E.band(E.monte_carlo_owned_cost(4000, seed=1)).p50 > own.total_usd_per_gpu_hour   # headline: the median
    bill = E.zyphra_bill(1.6e5, goodput=0.95)
    assert bill.bill_usd > 1.6e5 / 0.95 * bill.price_usd_per_gpu_hour       # the contract buys more than the run
    com = E.rent_vs_own(E.parameters("MI300X")["contract_usd_per_gpu_hour"].value, committed=True)
    assert com.owning_wins == "always"
    t = dict(E.tco(1024).select("component", "usd").iter_rows())
    assert t["residual value (credit)"] < 0 and "replacement (capex)" in t


def test_f3_q4_like_for_like_bases():
    o = E.compare_owned({"MI300X": 1000.0, "H100-SXM": 1000.0, "H200-SXM": 1000.0, "B200": 1000.0}, n=2000, seed=1)
    assert set(o["capex_basis"]) == {"baseboard"}
    m = E.matched_rents("MI300X", "H100")
    assert m.height > 0 and "provider" in m.columns and "term" in m.columns
    assert E.parity_price(2.0, 1000.0, 500.0) == pytest.approx(1.0)


def test_f6_q2_parties_and_company_scale(deal):
    assert set(deal.table["party"]) == {"AMD", "IBM", "Zyphra"}
    assert deal.line("AMD", "operating profit at its data-centre segment margin").p50 > 0
    assert any("cash, credits or co-investment" in u for u in E.UNKNOWNS)                   # Q1: not public
    assert hasattr(il.expansion, "deal")


def test_f9_dashboard_has_the_top_drivers():
    assert {"capex_usd_per_gpu", "host_usd_per_gpu", "colocation_usd_per_kW_month"} <= set(il.widgets.DASHBOARD_INPUTS)
    assert E.tco_benchmarks().filter(pl.col("accelerator") == "MI300X").height >= 1


def test_f10_mi300x_selling_price_still_secondary():
    # the row the table calls still open: when a primary replaces it, the table's status must move too
    asp = E.purchase_prices().filter((pl.col("accelerator") == "MI300X") & pl.col("basis").str.starts_with("asp"))
    assert set(asp["grade"]) == {"S"}


def test_q5_market_value_against_book_value():
    life = E.parameters("MI300X")["ibm_book_life_years"].value
    mv = [E.residual_value(1.0, a, "exponential") for a in (1, 2, 3)]
    bv = [E.residual_value(1.0, a, "straight-line", life_years=life) for a in (1, 2, 3)]
    assert mv == sorted(mv, reverse=True) and bv == pytest.approx([1 - a / life for a in (1, 2, 3)])


# ------------------------------------------------ question 3: IBM's EPS from the yearly book P&L


def test_q3_eps_lines_are_the_yearly_book_profit_over_ibm_diluted_shares():
    """deal_pnl's per-share lines recomputed draw by draw from the same draws' yearly book P&L
    (finance._book_profit_by_year), whose sum is the deal's book operating profit over the years."""
    n, seed = 600, 11
    d = E.deal_pnl(1.6e5, goodput=0.95, n=n, seed=seed)
    # the same draws as deal_pnl takes them
    P = dict(E.parameters("MI300X"))
    names = list(E.OWNED_PARAMS) + list(E.OPERATOR_PARAMS) + ["amd_asp_usd_per_gpu", "dpus_per_node", "dpu_usd"]
    life = P["ibm_book_life_years"].value
    fixed = {"utilization": P["utilization"].value, "ibm_book_life_years": life}
    s = E.uncertainty.sample(P, n, seed, [k for k in names if k not in fixed], fixed=fixed)
    s["tdp_W"] = E.owned_inputs("MI300X")["tdp_W"]
    r = finance._operator_cash_flows(s, path="decay", years=life)
    ng = 1024
    book_y = ng * finance._book_profit_by_year(r, life)
    shares = E.company_fact("IBM", "diluted_shares", "FY2025")
    eps = E.company_fact("IBM", "diluted_eps_continuing_usd", "FY2025")
    assert d.line("IBM", "book operating profit per IBM diluted share, year 1").p50 == pytest.approx(
        np.percentile(100 * book_y[:, 0] / shares, 50), rel=1e-9)                      # US cents
    assert d.line("IBM", "book operating profit per IBM diluted share, worst year").p50 == pytest.approx(
        np.percentile(100 * book_y.min(axis=1) / shares, 50), rel=1e-9)
    assert d.line("IBM", "year-1 book operating profit vs IBM's diluted EPS").p50 == pytest.approx(
        np.percentile(1e4 * book_y[:, 0] / shares / eps, 50), rel=1e-9)                 # basis points
    assert d.line("IBM", "years with a book operating loss (EPS-dilutive)").p50 == np.percentile((book_y < 0).sum(axis=1), 50)
    assert d.line("IBM", "book operating profit over 5 years").p50 == pytest.approx(np.percentile(book_y.sum(axis=1), 50))
    # the book P&L sums to the undiscounted cash flows (pre-tax, unlevered)
    assert np.allclose(book_y.sum(axis=1), ng * r["annual"].sum(axis=1), rtol=1e-9, atol=1e-3)


def test_q3_yearly_book_profit_is_provider_views():
    for path in E.PATHS:
        for rule in ("when_unprofitable", None):
            pv = E.provider_view(path=path, retire=rule, years=4.5)
            assert len(pv.book_profit_usd) == 5
            assert pv.book_profit_usd.sum() == pytest.approx(pv.cash_flows_usd.sum(), rel=1e-9)
            assert pv.book_profit_usd[-1] != 0 or pv.retirement_year is not None


def test_q3_eps_signs_follow_the_book_profit(deal):
    y1 = deal.line("IBM", "book operating profit per IBM diluted share, year 1")
    worst = deal.line("IBM", "book operating profit per IBM diluted share, worst year")
    loss = deal.line("IBM", "years with a book operating loss (EPS-dilutive)")
    assert worst.p50 <= y1.p50 and worst.p5 <= y1.p5
    life = E.parameters("MI300X")["ibm_book_life_years"].value
    assert 0 <= loss.p5 <= loss.p50 <= loss.p95 <= life
    assert E.company_facts().filter(pl.col("metric") == "diluted_shares")["grade"].to_list() == ["P"]
