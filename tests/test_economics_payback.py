"""One spelling of "never repaid" for every payback the package reports: ``math.inf``.

The deal P&L printed a payback of 99 years for "never" (and a mean of 93 years, an average
of that stand-in) while provider_view, the expansion tables and notebook 08's per-GPU table
printed ``inf`` and notebook 05's return table left the cell empty; notebook 08 showed 99 and
inf a few cells apart. ``economics.payback_band`` summarises paybacks over draws and keeps inf.
"""

import math
import re

import numpy as np
import pytest

import infra_lab as il
from infra_lab.errors import ValidationError

E = il.economics
ROOT = il.catalog.DATA_DIR.parent
NB05 = (ROOT / "tools" / "notebooks" / "05_economics.py").read_text()


def test_payback_band_keeps_never_as_inf():
    # numpy's percentile of an array holding inf gives NaN at P50 here (3 + (inf - 3) * 0)
    b = E.payback_band([1.0, 2.0, 3.0, math.inf, math.inf])
    assert (b.p5, b.p50, b.p95, b.mean, b.n) == (pytest.approx(1.2), 3.0, math.inf, math.inf, 5)
    # a percentile between the last repaid draw and the first never-repaid one is not reached
    b = E.payback_band([1.0, 2.0, 3.0, 4.0, math.inf])
    assert b.p50 == 3.0 and math.isinf(b.p95)
    assert all(math.isinf(x) for x in E.payback_band([math.inf] * 4).as_dict().values())
    finite = np.array([0.5, 1.5, 2.5, 4.0])
    b = E.payback_band(finite)                                # no never-repaid draw: the usual band's figures
    assert (b.as_dict(), b.n) == (E.band(finite).as_dict(), E.band(finite).n) and isinstance(b, il.economics.Band)
    for bad in ([], [1.0, float("nan")], [-1.0, 2.0], [[1.0, 2.0]]):
        with pytest.raises(ValidationError, match="paybacks"):
            E.payback_band(bad)


def test_payback_band_prints_never_for_inf_and_keeps_inf_in_the_fields():
    # session 38: print(payback_band(...)) showed 'inf' where every other payback printout says
    # "never" (_repr.NOT_REPAID)
    b = E.payback_band([1.0, 2.0, 3.0, math.inf])
    text = str(b)
    assert text.splitlines()[0] == "PaybackBand: 2.500 (1.150 to never) years"
    assert "inf" not in text.replace("(the field is inf)", "")
    assert re.search(r"^  p95   never$", text, re.M) and re.search(r"^  p5    1\.15 years$", text, re.M)
    assert f"never: {il._repr.NOT_REPAID} (the field is inf)" in text
    assert (b.p95, b.mean) == (math.inf, math.inf)
    assert str(E.payback_band([math.inf] * 3)).splitlines()[0] == "PaybackBand: never"
    repaid = str(E.payback_band([1.0, 2.0, 3.0]))
    assert repaid.splitlines()[0] == "PaybackBand: 2.000 (1.100 to 2.900) years" and "never" not in repaid


def test_deal_payback_is_inf_where_the_median_draw_is_never_repaid():
    """On the decay path at the defaults' ranges most draws are never repaid by operating cash
    (notebook 05 §4: 7 % repaid); the deal line read 99.0 at P50 and P95."""
    n, seed = 400, 20250930
    d = E.deal_pnl(1.5e5, goodput=0.95, n=n, seed=seed)
    pb = d.line("IBM", "payback")
    assert math.isinf(pb.p50) and math.isinf(pb.p95) and math.isinf(pb.mean)
    assert 0.0 < pb.p5 <= E.parameters("MI300X")["ibm_book_life_years"].value
    how = d.table.filter(d.table["line"] == "payback")["how"][0]
    assert "inf" in how and "99" not in how
    # the same draws through the operator model give the same band (one convention, one owner)
    names = [*E.OWNED_PARAMS, *E.OPERATOR_PARAMS, "amd_asp_usd_per_gpu", "dpus_per_node", "dpu_usd"]
    life = E.parameters("MI300X")["ibm_book_life_years"].value
    v = E.sample_parameters(n, seed, "MI300X", [k for k in names if k not in ("utilization", "ibm_book_life_years")],
                            fixed={"utilization": E.parameters("MI300X")["utilization"].value,
                                   "ibm_book_life_years": life})
    v["tdp_W"] = E.owned_inputs("MI300X")["tdp_W"]
    r = E.operator_cash_flows(v, path="decay", years=life)
    assert E.payback_band(r["payback"]).as_dict() == pytest.approx(pb.as_dict())


def test_provider_view_and_deal_agree_on_never():
    """A view never repaid reports inf, and a deal whose every draw is never repaid reports inf
    at every percentile (not 99)."""
    assert E.provider_view(0.5, path="decay").payback_years == math.inf
    d = E.deal_pnl(1.5e5, n=200, seed=3, overrides={"contract_usd_per_gpu_hour": 0.5})
    assert all(math.isinf(x) for x in d.line("IBM", "payback").as_dict().values())


def test_notebook05_return_table_uses_the_convention():
    assert 'E.payback_band(r["payback"]).p50' in NB05
    assert "np.minimum(r[\"payback\"], 99.0)" not in NB05 and "99.0" not in NB05
    assert "np.isfinite(r[\"payback\"])" in NB05          # the share repaid counts the finite paybacks


def test_deal_final_run_cost_is_section_2s():
    """Notebook 05 prices the final run at the contract price in section 2 with its goodput
    losses (the hours the run took of the contract: $462k P50) and the deal P&L of section 7
    without them ($439k): two prices of one thing. Both count the losses now, on the same draws."""
    n, seed, gh, g = 500, 20250930, 1.5e5, 0.95
    zs = E.sample_parameters(n, seed, "MI300X", ["zyphra_contract_months", "contract_usd_per_gpu_hour"])
    section2 = E.band(gh / g * zs["contract_usd_per_gpu_hour"])
    d = E.deal_pnl(gh, goodput=g, seed=seed, n=n).line("Zyphra", "final run incl. goodput losses at the contract price")
    assert (d.p5, d.p50, d.p95) == pytest.approx((section2.p5, section2.p50, section2.p95), rel=1e-12)



def test_a_payback_never_repaid_prints_never_and_stays_inf():
    """ProviderView printed "payback_years  inf years" and the deal "IBM: payback  inf (3.814 to
    inf) years"; the printouts now say "never" with what it means, and the numbers stay inf."""
    from infra_lab._repr import NOT_REPAID

    pv = E.provider_view(0.5, path="decay")
    assert pv.payback_years == math.inf
    row = next(line for line in str(pv).splitlines() if "payback_years" in line)
    assert row.split(None, 1)[1] == f"never (inf: {NOT_REPAID})" and "inf years" not in str(pv)
    repaid = E.provider_view(path="flat")
    assert math.isfinite(repaid.payback_years)
    assert re.search(r"payback_years +\d[\d.,]* years$", str(repaid), re.M), str(repaid)
    d = E.deal_pnl(1.5e5, goodput=0.95, n=400, seed=20250930)     # P50 and P95 never, P5 repaid
    pb = d.line("IBM", "payback")
    line = next(x for x in str(d).splitlines() if "IBM: payback" in x)
    assert math.isinf(pb.p50) and math.isfinite(pb.p5) and "inf" not in line
    assert re.search(rf"never \(\d[\d.]* to never\) years \(never: {NOT_REPAID}\)$", line), line
