"""Every number an economics or expansion call takes by default comes from data/ (a row with a
source URL, or a labelled assumption row) — not from a literal typed into a signature. The
literals that remain are reviewed below as not quantities: identities (no goodput loss, no
premium, age 0), Monte Carlo draws and seeds."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

import numpy as np
import polars as pl
import pytest

import infra_lab as il
from infra_lab import economics as E
from infra_lab.errors import ValidationError

PACKAGE = Path(il.__file__).resolve().parent
FILES = sorted((PACKAGE / "economics").glob("*.py")) + [PACKAGE / "expansion.py", PACKAGE / "widgets" / "economics.py"]

# (function, argument) -> why its literal default is not a quantity that belongs in data/
REVIEWED = {
    ("useful_work_cost", "software_efficiency"): "identity: no software factor unless given",
    ("gpu_hours_for", "software_efficiency"): "identity: no software factor unless given",
    ("run_cost", "software_efficiency"): "identity: no software factor unless given",
    ("deal_pnl", "goodput"): "identity: no goodput loss unless given (il.reliability gives one)",
    ("zyphra_bill", "goodput"): "identity: no goodput loss unless given",
    ("deal", "goodput"): "identity: no goodput loss unless given",
    ("deal_pnl", "n"): "Monte Carlo draws", ("deal", "n"): "Monte Carlo draws",
    ("monte_carlo", "n"): "Monte Carlo draws", ("monte_carlo_owned_cost", "n"): "Monte Carlo draws",
    ("economics_update", "n"): "Monte Carlo draws",
    ("deal_pnl", "seed"): "random seed", ("deal", "seed"): "random seed", ("monte_carlo", "seed"): "random seed",
    ("monte_carlo_owned_cost", "seed"): "random seed", ("economics_update", "seed"): "random seed",
    ("payback_years", "step_years"): "unit of the cash-flow step (yearly flows)",
    ("operator_cash_flows", "premium"): "identity: no premium over the market unless given",
    ("_operator_cash_flows", "premium"): "identity: no premium over the market unless given",
    ("_operator_cash_flows", "years"): "private: every caller passes the horizon",
    ("provider_view", "premium"): "identity: no premium over the market unless given",
    ("monte_carlo_owned_cost", "age_years"): "identity: new hardware unless given",
    ("owned_components", "age_years"): "identity: new hardware unless given",
    ("_owned_components", "age_years"): "identity: new hardware unless given",
    ("_kernel_owned_cost", "age_years"): "identity: new hardware unless given",
    ("owned_cost_per_gpu_hour", "age_years"): "identity: new hardware unless given",
    ("network_capex_per_gpu", "server_capex_usd_per_gpu"): "only the 'fraction' network reads it; 0 = per-port",
    ("rental_cost_per_gpu_hour", "utilization"): "identity: the rent per used hour when every hour is used",
    ("epoch_amortized_cost", "years_since_acquisition"): "identity: new hardware unless given",
    ("epoch_amortized_cost", "server_overhead"): "identity: the GPU price already a server price unless given",
    ("fmt_band", "scale"): "display unit", ("fmt", "scale"): "display unit",
    ("percentiles", "q"): "the P5, P50, P95 every band reports (a summary convention, not an input)",
}


def _literal_defaults():
    for f in FILES:
        for node in ast.walk(ast.parse(f.read_text())):
            if not isinstance(node, ast.FunctionDef):
                continue
            a = node.args
            pos = a.posonlyargs + a.args
            pairs = list(zip(pos[len(pos) - len(a.defaults):], a.defaults, strict=True)) + list(zip(a.kwonlyargs, a.kw_defaults, strict=True))
            for arg, d in pairs:
                if d is None:
                    continue
                consts = [c.value for c in ast.walk(d) if isinstance(c, ast.Constant)]
                if any(isinstance(c, (int, float)) and not isinstance(c, bool) for c in consts):
                    yield f"{f.name}:{node.lineno}", node.name, arg.arg


def test_no_signature_types_a_quantity():
    """tco(years=4.0), tco_total(years=4.0), operator_cash_flows(years=5.0) and operator_paths'
    (0.5, 0.7, 0.9) were typed in signatures with no data row; each now reads its row. A new
    literal default fails here unless REVIEWED says why it is not a quantity."""
    bad = [f"{where} {fn}({arg}=...)" for where, fn, arg in _literal_defaults() if (fn, arg) not in REVIEWED]
    assert not bad, f"literal defaults in signatures (read them from data/ or review them): {bad}"
    stale = set(REVIEWED) - {(fn, arg) for _, fn, arg in _literal_defaults()}
    assert not stale, f"REVIEWED lists defaults that are gone: {sorted(stale)}"


def test_tco_horizon_is_a_labelled_assumption_row():
    row = E.parameter_table().filter(pl.col("name") == "tco_horizon_years").row(0, named=True)
    assert row["scope"] == "all" and row["basis"] == "assumption" and row["grade"] == "A"
    assert row["source_url"].startswith("https://") and row["note"].startswith("ASSUMPTION")
    for f in (E.tco, E.tco_total):
        assert inspect.signature(f).parameters["years"].default is None
    assert E.tco().equals(E.tco(None, row["value"]))
    assert E.tco_total() == E.tco_total(None, row["value"])
    assert row["low"] <= row["value"] <= row["high"]


def test_tco_default_follows_the_row(monkeypatch):
    from infra_lab.economics import finance

    real = finance._all_scope
    monkeypatch.setattr(finance, "_all_scope", lambda name: 6.0 if name == "tco_horizon_years" else real(name))
    assert E.tco().equals(E.tco(None, 6.0)) and not E.tco().equals(E.tco(None, 4.0))


def test_operator_cash_flows_horizon_is_the_book_life_it_is_given():
    """operator_cash_flows(years=5.0) typed IBM's book life again; it now reads v's
    ibm_book_life_years (the horizon provider_view and deal_pnl use)."""
    assert inspect.signature(E.operator_cash_flows).parameters["years"].default is None
    v = E.operator_inputs("MI300X")
    r = E.operator_cash_flows(v)
    assert np.array_equal(r["annual"], E.operator_cash_flows(v, years=v["ibm_book_life_years"])["annual"])
    r4 = E.operator_cash_flows({**v, "ibm_book_life_years": 4.0})
    assert r4["annual"].shape[1] == 5 and r["annual"].shape[1] == int(v["ibm_book_life_years"]) + 1
    s = E.sample_parameters(16, 1, "MI300X", [*E.OWNED_PARAMS, *E.OPERATOR_PARAMS])
    s["tdp_W"] = v["tdp_W"]
    with pytest.raises(ValidationError, match=r"years = None takes the horizon from ibm_book_life_years, which "
                                              r"varies across the draws .*pass years="):
        E.operator_cash_flows(s)
    assert E.operator_cash_flows(s, years=5)["annual"].shape == (16, 6)


def test_operator_paths_flat_shares_are_the_market_utilization_row():
    m = E.parameters("MI300X")["market_utilization"]
    t = il.expansion.operator_paths("MI300X node", "Pollara-400")
    assert t.filter(pl.col("path") == "flat")["utilization"].to_list() == [m.low, m.value, m.high]
    t2 = il.expansion.operator_paths("MI300X node", "Pollara-400", utilizations=(0.6,))
    assert t2.filter(pl.col("path") == "flat")["utilization"].to_list() == [0.6]


def test_expansion_reads_its_horizon_and_bounds_from_one_place():
    """The expansion's TCO horizon was a second row (data/expansion horizon_years = 4) beside the
    economics default; it is now tco_total's default, and evaluate's search bounds are
    SEARCH_BOUNDS, which notebook 08's step comparison uses too."""
    assert "horizon_years" not in il.expansion.parameters()["name"].to_list()
    sig = inspect.signature(il.expansion.evaluate).parameters
    assert all(sig[k].default is None for k in il.expansion.SEARCH_BOUNDS)
    src = (PACKAGE.parent / "tools" / "notebooks" / "08_expansion_2026.py").read_text()
    assert "**X.SEARCH_BOUNDS" in src and "max_micro_batch=4" not in src
