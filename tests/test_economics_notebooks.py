"""What notebooks 05 and 08 and the economics explorer show a reader comparing renting out
with owning: the operator's margin with the resale credit, what the max_npv retirement rule
would change and why it is not the default, and the TCO horizon from its data row. The
prose prints the computed values; these tests keep the claims they carry true and the cells
that print them in the generators."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import infra_lab as il
from infra_lab import economics as E

ROOT = Path(__file__).resolve().parent.parent
NB05 = (ROOT / "tools" / "notebooks" / "05_economics.py").read_text()
NB08 = (ROOT / "tools" / "notebooks" / "08_expansion_2026.py").read_text()


def test_operator_paths_carry_the_resale_margin():
    """operator_paths dropped provider_view's resale credit and margin with resale, so notebook 08's
    rent-path table showed only the margin with no credit for the sale."""
    t = il.expansion.operator_paths("MI300X node", "Pollara-400")
    for r in t.iter_rows(named=True):
        pv = E.provider_view(None, r["utilization"], "MI300X", path=r["path"])
        assert r["resale_credit_usd_per_gpu_hour"] == pv.resale_credit_usd_per_gpu_hour > 0
        assert r["margin_with_resale_usd_per_gpu_hour"] == pv.margin_with_resale_usd_per_gpu_hour
        assert r["margin_with_resale_usd_per_gpu_hour"] == pytest.approx(
            r["margin_usd_per_gpu_hour"] + r["resale_credit_usd_per_gpu_hour"], abs=1e-12)


def test_notebook08_shows_the_resale_margin_with_units():
    for col in ("margin_with_resale_usd_per_gpu_hour", "resale_credit_usd_per_gpu_hour"):
        assert f'pl.col("{col}").alias(' in NB08                       # a table column
        assert f"d_base['{col}']" in NB08                              # and printed in the prose
    assert '"margin with resale [USD/GPU-h]"' in NB08 and '"resale credit [USD/GPU-h]"' in NB08


def test_explorer_shows_the_resale_margin():
    """economics_update's text gave the operator's IRR, payback and NPV but no margin over owning
    with or without the resale credit."""
    from infra_lab.widgets import economics as W

    r = W.economics_update(n=300)
    pv = r["provider"]
    assert r["margin_with_resale_usd_per_gpu_hour"] == pv.margin_with_resale_usd_per_gpu_hour
    assert r["resale_credit_usd_per_gpu_hour"] == pv.resale_credit_usd_per_gpu_hour
    assert r["margin_usd_per_gpu_hour"] == pv.margin_usd_per_gpu_hour
    for x in (pv.margin_usd_per_gpu_hour, pv.margin_with_resale_usd_per_gpu_hour):
        assert f"{'−' if x < 0 else ''}${abs(x):.2f}" in r["text"]
    assert f"resale credit of ${pv.resale_credit_usd_per_gpu_hour:.2f}" in r["text"]
    assert f"${pv.cost_usd_per_sold_gpu_hour:.2f}" in r["text"]


def test_notebook05_prints_what_max_npv_would_change():
    """retire='max_npv' was documented but notebook 05's reader never saw it: a cell now runs all
    three rules on the same draws, prints what max_npv changes and why it is not the default."""
    assert 'RULES = {"when_unprofitable (default)": "when_unprofitable", "max_npv": "max_npv"' in NB05
    assert "E.operator_cash_flows(v, path=path, years=ibm_life, retire=rule)" in NB05
    assert "**What `max_npv` would change.**" in NB05 and "**Why it is not the default.**" in NB05
    assert 'E.provider_view(path="decay", retire="max_npv", value_curve="none")' in NB05


@pytest.mark.parametrize("path", E.PATHS)
def test_max_npv_never_loses_npv_on_the_same_draws(path):
    """The claim notebook 05 asserts: on the same draws, max_npv's NPV is at least the default
    rule's in every draw (it maximizes over the sale year the default picks from), so it sells no
    later on a falling resale curve and its gain rests on that curve's sale price."""
    life = E.parameters("MI300X")["ibm_book_life_years"].value
    v = E.sample_parameters(2000, 5, "MI300X", [*E.OWNED_PARAMS, *E.OPERATOR_PARAMS], fixed={"ibm_book_life_years": life})
    v["tdp_W"] = E.owned_inputs("MI300X")["tdp_W"]

    def npv(r):
        return np.sum(r["annual"] / (1 + v["cost_of_capital"][:, None]) ** np.arange(r["annual"].shape[1]), axis=1)

    d = E.operator_cash_flows(v, path=path, years=life)
    m = E.operator_cash_flows(v, path=path, years=life, retire="max_npv")
    assert np.all(npv(m) >= npv(d) - 1e-6)
    assert np.all(m["end_years"] <= d["end_years"])       # no later: past the last positive margin nothing is gained
    # and with no resale value at all (value_curve="none", the notebook's check of what the rule rests on)
    d0 = E.operator_cash_flows(v, path=path, years=life, value_curve="none")
    m0 = E.operator_cash_flows(v, path=path, years=life, value_curve="none", retire="max_npv")
    assert np.all(npv(m0) >= npv(d0) - 1e-6)


def test_notebook05_tco_horizon_comes_from_its_row():
    """Section 6 typed 'over 3–6 years', (3, 4, 5, 6), years == 4 and tco(N_GPUS, 4); they read
    tco_horizon_years (value, low, high) now."""
    assert 'TCO_H = P["tco_horizon_years"]' in NB05 and "for yrs in TCO_YEARS:" in NB05
    assert "(3, 4, 5, 6)" not in NB05 and "3–6" not in NB05 and "E.tco(N_GPUS, 4)" not in NB05
    row = E.parameters("MI300X")["tco_horizon_years"]
    assert list(range(int(row.low), int(row.high) + 1)) == [3, 4, 5, 6] and row.value == 4


# ------------------------------------------------------------------------------ the analyst's pass
def test_expansion_point_money_adds_up():
    """An investor's arithmetic on one sweep point: the run's cost is the price of a GPU-hour x
    GPUs x wall-clock hours (failures included), for the owned price and the contract rent alike,
    and the wall clock is the failure-free run over goodput. Notebook 08 asserts the same on
    every point it prints."""
    r = il.expansion.evaluate("MI300X node", "Pollara-400", 1024, "ZAYA1-class")
    gh = r["gpus"] * r["wall_days"] * 24
    assert r["wall_days"] * r["goodput"] == pytest.approx(r["run_days"], rel=1e-12)
    assert r["run_cost_usd"] == pytest.approx(r["owned_usd_per_gpu_hour"] * gh, rel=1e-12)
    assert r["rented_run_cost_usd"] == pytest.approx(r["contract_usd_per_gpu_hour"] * gh, rel=1e-12)
    assert r["usd_per_m_trained_tokens"] == pytest.approx(r["run_cost_usd"] / il.expansion.models().filter(
        model="ZAYA1-class")["tokens"][0] * 1e6, rel=1e-12)
    assert r["tco_usd"] == pytest.approx(E.tco_total(r["gpus"], None, None, "MI300X"), rel=1e-12)
    assert "for r in df.iter_rows(named=True):    # cost = price x GPU-hours" in NB08


def test_notebook08_tables_carry_units():
    """The owned-quote table showed bare p5 / usd_per_gpu_hour / p95 columns and the step
    comparison bare accelerator columns holding seconds."""
    for label in ("owned P5 [USD/GPU-h]", "owned P50 [USD/GPU-h]", "owned P95 [USD/GPU-h]", "purchase price [USD/GPU]"):
        assert f'"{label}"' in NB08
    assert 'e.breakdown.rename({"seconds": f"{p} [s]"})' in NB08


def test_notebook05_shows_what_moves_ibms_return():
    """Notebook 05's only tornado was the owned cost; IBM's return was shown per rent path but not
    against the rent, the sold share, the rates and the power prices. The new tornado swings every
    input provider_view reads on the decay path; its base is provider_view's NPV at the defaults."""
    assert "tor_ibm = E.tornado(lambda **p: E.provider_view(path=\"decay\", **p).npv_usd_per_gpu" in NB05
    names = [n for n in (*E.OWNED_PARAMS, *E.OPERATOR_PARAMS) if n not in ("utilization", "rent_rebound_fraction")]
    t = E.tornado(lambda **p: E.provider_view(path="decay", **p).npv_usd_per_gpu, "MI300X", names)
    assert t["output_base"][0] == E.provider_view(path="decay").npv_usd_per_gpu
    swung = set(t.filter(t["swing"] > 0)["parameter"])
    # price, sold share, rates, power: each moves IBM's NPV
    assert {"contract_usd_per_gpu_hour", "market_utilization", "cost_of_capital", "depreciation_ooms_per_year",
            "electricity_usd_per_kWh", "pue", "capex_usd_per_gpu"} <= swung
    lo = t.filter(t["parameter"] == "cost_of_capital").row(0, named=True)
    assert lo["output_low"] > lo["output_high"]          # a dearer capital lowers the NPV
    hi = t.filter(t["parameter"] == "contract_usd_per_gpu_hour").row(0, named=True)
    assert hi["output_high"] > hi["output_low"]          # a higher rent raises it


def test_default_rule_npv_steps_down_where_the_retirement_year_moves():
    """The default cash rule's NPV can fall as the contract price rises (one more barely profitable
    year, worth less than the resale value lost over it); that was shown nowhere. The figures the
    docstring and docs/economics.md give are the model's; max_npv and retire=None rise with the
    price; notebook 05 sweeps the price under the three rules and the explorer says it."""
    lo, hi = (E.provider_view(p, path="decay") for p in (2.33, 2.35))
    assert (round(lo.npv_usd_per_gpu), round(hi.npv_usd_per_gpu)) == (-8070, -11035)
    assert (lo.operating_years, hi.operating_years) == (3.0, 4.0)
    lo2, hi2 = (E.provider_view(p, path="decay") for p in (3.23, 3.25))
    assert (round(lo2.npv_usd_per_gpu), round(hi2.npv_usd_per_gpu)) == (424, -1452)
    doc = (ROOT / "infra_lab" / "economics" / "finance.py").read_text()     # RETIRE_RULES' note
    assert "$2.33 -> $2.35 per GPU-hour, -8,070 -> -11,035 USD per GPU, 3 -> 4 years" in doc
    econ_md = (ROOT / "docs" / "economics.md").read_text()
    assert "$2.33 -> $2.35, -8,070 -> -11,035 USD\nper GPU (3 -> 4 years run), and $3.23 -> $3.25, +424 -> -1,452 USD" in econ_md
    pc = E.parameters("MI300X")["contract_usd_per_gpu_hour"]
    grid = np.arange(pc.low, pc.high + 1e-9, 0.02)
    for rule in ("max_npv", None):
        npv = np.array([E.provider_view(float(p), path="decay", retire=rule).npv_usd_per_gpu for p in grid])
        assert np.all(np.diff(npv) >= -1e-6), rule
    assert 'E.provider_view(float(x), path="decay", retire=rule)).npv_usd_per_gpu' in NB05
    assert "**IBM's NPV against the contract price, under each rule.**" in NB05
    from infra_lab.widgets import economics as W

    assert "a rent that keeps them a year longer can lower the NPV" in W.economics_update(2.33, n=200)["text"]


def test_notebook05_prices_the_final_run_on_one_basis():
    """Section 2 priced the final run's failure-free GPU-hours at the contract price (158k GPU-h,
    $435k) while its share of the contract and the owned figure beside it in the takeaways counted
    the goodput losses too (166k GPU-h, $338k): two bases in one sentence. Both now price the hours
    the run took of the contract, work plus failures."""
    assert "run_paid_gh = run_gh / goodput" in NB05
    assert 'final_cost = E.band(run_paid_gh * zs["contract_usd_per_gpu_hour"])' in NB05
    assert "share = E.band(run_paid_gh / hours_bought)" in NB05
    assert "${run_paid_gh * own.p50 / 1e3:,.0f}k at the owned Monte Carlo P50" in NB05
    assert 'run_gh * zs["contract_usd_per_gpu_hour"]' not in NB05
    assert "final run incl. goodput losses at the contract price [thousand USD]" in NB05
    # the section-4 table's empty payback said 'capped at the horizon'; it is the median draw never
    # repaid, shown as inf like every other payback (E.payback_band)
    assert "payback capped at the horizon" not in NB05 and "payback P50 inf: the median" in NB05


def test_notebook05_says_what_the_hardware_is_worth_later():
    """The analyst's fifth question (what a 2025 MI300X is worth two and three years on, against
    IBM's reported depreciation) had no answer a reader could find: the value curves were inside
    the TCO and the sale price. Section 6 now tabulates both curves by age from their owner,
    residual_value, and prints the book loss or gain at the default decay."""
    assert "**What the GPUs are worth later.**" in NB05
    assert 'E.residual_value(1.0, a, "exponential", ooms_per_year=d)' in NB05
    assert 'E.residual_value(1.0, a, "straight-line", life_years=LIFE_IBM)' in NB05
    # the claim the prose leans on at the defaults: two years on, the market value (Epoch's
    # decay) is below IBM's straight-line book value, so a sale books a loss
    P = E.parameters("MI300X")
    life = P["ibm_book_life_years"].value
    assert (E.residual_value(1.0, 2.0, "exponential")
            < E.residual_value(1.0, 2.0, "straight-line", life_years=life))


def test_notebook08_says_its_margins_are_at_the_first_rent():
    """Notebook 08's per-GPU table printed the decay path's margin with resale ($1.15 per sold
    GPU-hour, positive) beside an IRR of -3.6 % and a negative NPV without saying the margins are
    at the first (contract) rent; the subtitle says so now."""
    pv = E.provider_view(path="decay")
    assert pv.margin_with_resale_usd_per_gpu_hour > 0 and pv.npv_usd_per_gpu < 0   # the pair the note is for
    assert "margins: at the first rent and " in NB08 and "sold share (the decay and rebound paths' later rents" in NB08


def test_notebook05_shows_the_owned_comparison_paired():
    """Notebook 05's owned-cost chart showed each part's absolute P5–P95 band; the bands overlap
    although the ratios taken draw by draw (its table) exclude 1, so a reader could read "no
    difference". A second chart draws the paired ratio band from compare_owned's own ratio
    columns (the table's numbers, not a second computation), and the prose prints them."""
    assert 'paired = owned5.filter(pl.col("accelerator") != "MI300X")' in NB05
    assert 'pl.col("ratio_p5").alias("p5")' in NB05 and 'pl.col("ratio_p95").alias("p95")' in NB05
    assert "il.charts.interval_chart(paired, x_title=\"cost per trained token / MI300X's, paired draws [-]\"" in NB05
    assert "for r in paired.iter_rows(named=True))" in NB05


def test_economics_doc_max_npv_paragraph_is_the_models():
    """docs/economics.md's 'why max_npv is not the default' paragraph typed figures from an older
    model (decay IRR P50 9 %, NPV P50 +260 against -7,708 USD, rebound 21.3 -> 21.7 %, flat 20.9 %,
    the deal's IRR -4.0 -> 8.7 %) beside notebook 05, which prints 8 %, +107 against -8,000, 20.7 ->
    21.1 %, 20.4 % and -4.4 -> 8.3 %; and 464k USD for the final run where 05 prints 462k. The
    paragraph now gives the model's figures on notebook 05's draws, as recomputed here."""
    seed, n = 20250930, 20_000                       # notebook 05's SEED and N_MC
    P = E.parameters("MI300X")
    life = P["ibm_book_life_years"].value
    v = E.sample_parameters(n, seed, "MI300X", [*E.OWNED_PARAMS, *E.OPERATOR_PARAMS],
                            fixed={"ibm_book_life_years": life})
    v["tdp_W"] = E.owned_inputs("MI300X")["tdp_W"]
    out = {}
    for path in E.PATHS:
        for rule in ("when_unprofitable", "max_npv"):
            r = E.operator_cash_flows(v, path=path, years=life, retire=rule)
            irr = 100 * np.nan_to_num(E.irr_array(r["annual"]), nan=-1.0)
            npv = np.sum(r["annual"] / (1 + v["cost_of_capital"][:, None]) ** np.arange(r["annual"].shape[1]), axis=1)
            out[path, rule] = (np.percentile(irr, [5, 50, 95]), float(np.median(npv)), r["end_years"])
    doc = " ".join((ROOT / "docs" / "economics.md").read_text().split())
    (i5, i50, i95), npv_mx, end_mx = out["decay", "max_npv"]
    (j5, j50, j95), npv_d, end_d = out["decay", "when_unprofitable"]
    assert f"all but {int(np.sum(end_mx >= life))} of the {n:,} retire early" in doc
    assert f"against {100 * np.mean(end_d < life):.0f} % and {np.mean(end_d):.1f} years under the cash rule" in doc
    assert f"becomes {i5:.0f} / {i50:.0f} / {i95:.0f} % per year instead of {j5:.0f} / {j50:.0f} / {j95:.0f} %" in doc
    assert f"(NPV P50 per GPU {npv_mx:+,.0f} instead of {npv_d:,.0f} USD)" in doc
    assert (f"rebound path's P50 moves {out['rebound', 'when_unprofitable'][0][1]:.1f} → "
            f"{out['rebound', 'max_npv'][0][1]:.1f} %") in doc
    assert out["flat", "when_unprofitable"][0][1] == pytest.approx(out["flat", "max_npv"][0][1])
    assert f"the flat path's stays {out['flat', 'max_npv'][0][1]:.1f} %" in doc
    sc = il.load_scenario("zaya1-ibm-mi300x")
    gh = E.gpu_hours_from_estimate(il.estimate(sc), il.reliability.parameter("zaya1_tokens"))
    gp = il.reliability.plan_run(sc, gh / sc.hardware.world_size, calibration="fleet").goodput
    d = {rule: E.deal_pnl(gh, goodput=gp, seed=seed, n=n, retire=rule) for rule in ("when_unprofitable", "max_npv")}
    irr, npv_m, book = ({k: x.line("IBM", line).p50 for k, x in d.items()}
                        for line in ("IRR (pre-tax, unlevered)", "NPV at the cost of capital", "book operating margin"))
    assert (f"IRR P50 {100 * irr['when_unprofitable']:.1f} → {100 * irr['max_npv']:.1f} %, NPV P50 "
            f"{npv_m['when_unprofitable'] / 1e6:.2f} → {npv_m['max_npv'] / 1e6:+.2f} USD M and book operating margin "
            f"P50 {100 * book['when_unprofitable']:.1f} → {100 * book['max_npv']:.1f} %") in doc
    zs = E.sample_parameters(n, seed, "MI300X", ["zyphra_contract_months", "contract_usd_per_gpu_hour"])
    final = E.band(gh / gp * zs["contract_usd_per_gpu_hour"])         # notebook 05 section 2's final_cost
    assert f"{final.p50 / 1e3:,.0f}k USD (P50) at the contract price" in doc
    # the investor's reread quotes the same run and the same draws (docs/economics.md, "What adds up")
    bought = sc.hardware.world_size * zs["zyphra_contract_months"] * E.HOURS_PER_MONTH
    assert (f"The final run, {gh / 1e3:,.0f}k GPU-hours over the fleet reading's {100 * gp:.1f} % goodput, is "
            f"{gh / gp / 1e3:,.0f}k GPU-hours: {100 * E.band(gh / gp / bought).p50:.1f} % of the "
            f"{np.median(bought) / 1e6:.2f}M bought (P50) and {final.p50 / 1e3:,.0f}k USD (P50)") in doc
    (f, fn, _), (dd, dn, _), (rb, rn, _) = (out[p, "when_unprofitable"] for p in ("flat", "decay", "rebound"))
    assert (f"flat {f[1]:.1f} % a year and {fn:+,.0f} USD per GPU, decay {dd[1]:.1f} % and {dn:,.0f} USD with no "
            f"payback, rebound {rb[1]:.1f} % and {rn:+,.0f} USD, against the {100 * P['cost_of_capital'].value:.0f} % "
            "cost of capital") in doc.replace("−", "-")
