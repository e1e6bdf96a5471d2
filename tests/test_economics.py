"""Tests of infra_lab.economics: data, closed forms and published worked numbers, the
operator's cash flows, every catalog accelerator priced, bad input, the Monte Carlo kernel
against its numpy reference, like-for-like comparisons, the deal P&L, the claims notebook 05
makes in prose, charts and the widget's update function."""

from __future__ import annotations

import csv
import math
import statistics
import warnings
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import infra_lab as il
from infra_lab._kernels import economics as K
from infra_lab.errors import UnknownNameError, ValidationError

E = il.economics
U = il.economics.uncertainty
ALL_ACCELERATORS = il.catalog.accelerators()["name"].to_list()
PRICED = sorted(set(E.parameter_table().filter(pl.col("name") == "capex_usd_per_gpu")["scope"]))


# --------------------------------------------------------------------------------------
# Data
# --------------------------------------------------------------------------------------
class TestData:
    def test_parameters_have_sources_labels_and_ranges(self):
        t = E.parameter_table()
        assert t.height > 40
        assert all(u.startswith("http") for u in t["source_url"])
        assert (t["low"] <= t["value"]).all() and (t["value"] <= t["high"]).all()
        assert all("[" in lab and "]" in lab for lab in t["label"])   # human names with a unit
        assert set(t["basis"]) <= {"measured", "reported", "derived", "fitted", "assumption", "simulated"}
        assert "software_efficiency" not in set(t["name"])              # no separate software factor
        assert "mfu_zaya1_assumed" not in set(t["name"])

    def test_every_owned_param_has_a_default(self):
        for acc in PRICED:
            d = E.defaults(acc)
            for name in E.OWNED_PARAMS:
                assert name in d, (acc, name)

    def test_scope_overrides(self):
        assert E.parameters("H100")["server_power_ratio"].value == 1.82
        assert E.parameters("MI300X")["server_power_ratio"].value == 1.8
        assert E.parameters("H100")["host_usd_per_gpu"].value == 0.0      # server-basis price
        assert E.parameters("MI300X")["host_usd_per_gpu"].value > 3000.0   # GPU-only price + host

    def test_colocation_is_wholesale_at_mw_scale(self):
        p = E.parameters("MI300X")["colocation_usd_per_kW_month"]
        assert p.low == 80 and p.high < 190 and p.value <= 130

    def test_useful_lives_from_filings(self):
        t = E.useful_life_policies()
        ibm = t.filter(pl.col("entity") == "IBM").row(0, named=True)
        assert ibm["life_years"] == 5 and "10-K" in ibm["note"] and "sec.gov" in ibm["source_url"]
        assert "sec.gov" in t.filter(pl.col("entity") == "Microsoft")["source_url"][0]
        assert E.parameters("MI300X")["ibm_book_life_years"].value == ibm["life_years"]

    def test_purchase_price_newest_of_basis(self):
        mi = E.purchase_price("MI300X", "baseboard")
        assert mi["price_usd_per_gpu"] == 25733.71
        h = E.purchase_price("H100", "baseboard")
        dates = E.purchase_prices().filter((pl.col("accelerator") == "H100-SXM") & (pl.col("basis") == "baseboard"))["date"]
        assert h["date"] == max(dates)
        with pytest.raises(E.NoPurchasePriceError, match="bases listed"):
            E.purchase_price("MI355X", "baseboard")

    def test_company_facts(self):
        assert E.company_fact("AMD", "instinct_revenue_usd", "FY2024") == 5.0e9
        assert E.company_fact("IBM", "revenue_usd") > 6e10
        with pytest.raises(UnknownNameError):
            E.company_fact("AMD", "profit")

    def test_epoch_dataset(self):
        t = E.epoch_hardware_prices()
        assert t.height > 550
        assert t.filter(pl.col("hardware_model") == "AMD Instinct MI300X")["purchase_usd"][0] == 25733.71
        s = E.epoch_rental_series("H100 SXM")
        assert s.height > 20 and set(s["term"]) <= {"on-demand", "1-year", "3-year"}
        assert "CC-BY 4.0" in E.EPOCH_ATTRIBUTION
        with pytest.raises(UnknownNameError):
            E.epoch_rental_series("TPU v99")

    def test_rental_trend_is_a_within_provider_fit(self):
        r = E.rental_trend("H100 SXM")
        assert r["groups"] >= 2 and r["rows"] > r["groups"]
        assert r["change_per_year"] == pytest.approx(math.exp(r["slope_per_year"]) - 1)

    def test_cloud_price_is_the_median_of_newest_offers(self):
        """Recomputed from the CSV with the csv module: each provider's newest date, its rows
        of that date, market indices and assumed prices excluded, then the median."""
        rows = [r for r in csv.DictReader(open(il.catalog.DATA_DIR / "cloud_prices.csv", encoding="utf-8"))
                if r["accelerator"] == "MI300X" and r["term"] == "on-demand"
                and not r["provider"].startswith(("Market", "DeepSeek"))]
        newest = {}
        for r in rows:
            newest[r["provider"]] = max(newest.get(r["provider"], ""), r["date_observed"])
        prices = [float(r["price_usd_per_gpu_hour"]) for r in rows if r["date_observed"] == newest[r["provider"]]]
        assert E.cloud_price("MI300X") == pytest.approx(statistics.median(prices))
        assert E.cloud_price("MI300X", statistic="min") == min(prices)
        with pytest.raises(ValidationError, match="no 3-year list price for MI355X"):
            E.cloud_price("MI355X", "3-year")
        with pytest.raises(UnknownNameError, match="statistic"):
            E.cloud_price("MI300X", statistic="mode")


# --------------------------------------------------------------------------------------
# Closed forms and published worked numbers
# --------------------------------------------------------------------------------------
def _bare(**kw):
    """Owned-cost overrides that switch off every item except GPU capital (for closed forms)."""
    base = dict(host_usd_per_gpu=0.0, spare_fraction=0.0, storage_fraction=0.0, frontend_fraction=0.0,
                maintenance_fraction_per_year=0.0, insurance_tax_fraction_per_year=0.0, staff_fte_per_1000_gpus=0.0,
                setup_weeks=0.0, colocation_usd_per_kW_month=0.0, electricity_usd_per_kWh=0.0)
    base.update(kw)
    return base


class TestClosedForms:
    def test_annuity(self):
        r, n = 0.08, 5
        assert E.annuity_factor(r, n) == pytest.approx(r * (1 + r) ** n / ((1 + r) ** n - 1), rel=1e-14)
        assert E.annuity_factor(0.0, 4) == 0.25
        crf = E.annuity_factor(r, n)
        assert sum(crf / (1 + r) ** t for t in range(1, n + 1)) == pytest.approx(1.0, rel=1e-12)

    @pytest.mark.parametrize("args, field", [((1.5, 5), "rate = 1.5"), ((float("nan"), 5), "rate = nan"),
                                             ((0.08, 0), "years = 0"), ((0.08, "x"), "years = 'x'")])
    def test_annuity_errors_name_its_own_arguments(self, args, field):
        # it named owned_cost's fields (cost_of_capital, life_years), not annuity_factor(rate, years)'s
        with pytest.raises(ValidationError) as e:
            E.annuity_factor(*args)
        assert str(e.value).startswith(field)
        assert "cost_of_capital" not in str(e.value) and "life_years" not in str(e.value)

    def test_exponential_value_error_names_its_argument(self):
        # it named the parameters.csv row (depreciation_ooms_per_year), not the argument ooms_per_year
        with pytest.raises(ValidationError, match=r"^ooms_per_year = -1: "):
            E.exponential_value(1000.0, 1.0, -1)

    def test_straight_line_capital_only(self):
        c = E.owned_cost_per_gpu_hour("MI300X", network="fraction", interconnect_fraction=0.0,
                                      **_bare(cost_of_capital=0.0, utilization=1.0))
        assert c.total_usd_per_gpu_hour == pytest.approx(c.capex_usd_per_gpu / (5 * E.HOURS_PER_YEAR))
        assert c.financing_usd_per_gpu_hour == 0.0

    def test_each_item_adds_its_formula(self):
        base = E.owned_cost_per_gpu_hour("MI300X", utilization=1.0, staff_fte_per_1000_gpus=0.0)
        staffed = E.owned_cost_per_gpu_hour("MI300X", utilization=1.0, staff_fte_per_1000_gpus=4.0)
        setup = staffed.inputs["setup_weeks"] / (365.25 / 7 * staffed.inputs["life_years"])
        want = 4.0 / 1000 * staffed.inputs["staff_usd_per_fte_year"] / E.HOURS_PER_YEAR * (1 + setup)
        assert staffed.total_usd_per_gpu_hour - base.total_usd_per_gpu_hour == pytest.approx(want, rel=1e-12)
        c = E.owned_cost_per_gpu_hour("MI300X", utilization=1.0)
        kw = c.inputs["tdp_W"] / 1000 * c.inputs["server_power_ratio"]
        assert c.energy_usd_per_gpu_hour == pytest.approx(kw * 0.75 * 1.25 * 0.08)
        assert c.facility_usd_per_gpu_hour == pytest.approx(
            kw * c.inputs["colocation_usd_per_kW_month"] * 12 / E.HOURS_PER_YEAR * (1 + c.inputs["spare_fraction"]))

    def test_value_curves(self):
        assert E.exponential_value(1000.0, 1.0, 0.14) == pytest.approx(1000 * 10 ** -0.14)
        assert E.straight_line_value(100.0, 2.0, 5.0) == pytest.approx(60.0)
        assert E.straight_line_value(100.0, 7.0, 5.0) == 0.0
        assert E.residual_value(100.0, 3.0, "none") == 0.0

    def test_network(self):
        net = E.network_capex_per_gpu(100.0, method="fraction", interconnect_fraction=0.19)
        assert net / (100.0 + net) == pytest.approx(0.19)
        assert E.network_capex_per_gpu(nic_usd=1, nics_per_gpu=1, switch_port_usd=2, switch_ports_per_gpu=3,
                                       optics_usd=4, optics_per_gpu=5) == 27
        # the fabric's own switch count gives 3 ports per GPU on the IBM cluster (48 x 64 / 1,024)
        sc = il.load_scenario("zaya1-ibm-mi300x")
        d = E.defaults("MI300X")
        assert E.network_capex_per_gpu(hardware=sc) == pytest.approx(
            d["nic_usd"] + 3.0 * d["switch_port_usd"] + d["optics_per_gpu"] * d["optics_usd"])

    def test_per_port_network_independent_of_gpu_price(self):
        a = E.owned_cost_per_gpu_hour("MI300X", capex_usd_per_gpu=10_000.0)
        b = E.owned_cost_per_gpu_hour("MI300X", capex_usd_per_gpu=25_000.0)
        assert a.network_usd_per_gpu_hour == pytest.approx(b.network_usd_per_gpu_hour)

    def test_deepseek_v3_rental_method(self):
        assert E.run_cost(gpu_hours=2.788e6, price_usd_per_gpu_hour=2.0).total_usd == 5.576e6

    @pytest.mark.parametrize("price, hw, with_ic", [
        (33750.0, 1.24, 1.53), (37080.50, 1.36, 1.68), (41217.0, 1.52, 1.87),
        (39083.38, 1.44, 1.77), (47409.13, 1.74, 2.15), (25733.71, 0.95, 1.17),
    ])
    def test_epoch_amortized_table(self, price, hw, with_ic):
        """Epoch's method: price x 0.14 ln10 / 8,766 h, then / (1 - 0.19)."""
        e = E.epoch_amortized_cost(price, 1.0, 700.0)
        assert round(e.amortized_hardware_usd, 2) == hw
        assert round(e.amortized_hardware_usd + e.interconnect_usd, 2) == with_ic

    def test_epoch_matches_owned_exponential(self):
        ep = E.epoch_amortized_cost(25733.71, 1.0, 750.0)
        c = E.owned_cost_per_gpu_hour("MI300X", depreciation="exponential", network="fraction",
                                      **_bare(capex_usd_per_gpu=25733.71, cost_of_capital=0.0, utilization=1.0,
                                              electricity_usd_per_kWh=0.0826, pue=1.25, avg_power_fraction=0.75,
                                              server_power_ratio=1.8, interconnect_fraction=0.19))
        assert c.total_usd_per_gpu_hour == pytest.approx(ep.usd_per_gpu_hour, rel=1e-12)

    def test_irr_and_npv(self):
        assert E.irr([-100.0, 110.0]) == pytest.approx(0.10, abs=1e-9)
        r = E.irr([-100.0, 60.0, 60.0])
        assert E.npv([-100.0, 60.0, 60.0], r) == pytest.approx(0.0, abs=1e-7)
        # -100 + 10x + 10x^2 = 0 with x = 1/(1+r): x = (sqrt(41) - 1)/2, r = 1/x - 1 = -0.6298 (a loss)
        assert E.irr([-100.0, 10.0, 10.0]) == pytest.approx(2 / (41**0.5 - 1) - 1, abs=1e-7)
        assert E.irr([-100.0, -10.0]) is None

    def test_irr_with_a_late_loss(self):
        """The review's cash flows: the last flow is negative; the true IRR is 15.7 %."""
        cf = [-25926, 14617, 14617, 3092, 1051, -428]
        r = E.irr(cf)
        assert r == pytest.approx(0.157, abs=5e-4)
        assert E.npv(cf, r) == pytest.approx(0.0, abs=1e-6)

    def test_payback(self):
        assert E.payback_years([-100.0, 50.0, 50.0, 50.0]) == pytest.approx(2.0)
        assert E.payback_years([-100.0, 40.0, 40.0, 40.0]) == pytest.approx(2.5)
        assert E.payback_years([-100.0, 10.0]) == math.inf

    def test_break_even_on_demand(self):
        u = E.break_even_utilization(3.0, "MI300X")
        c = E.owned_cost_per_gpu_hour("MI300X", utilization=u)
        assert c.total_usd_per_gpu_hour == pytest.approx(3.0, rel=1e-10)
        assert E.break_even_utilization(0.01) == math.inf

    def test_break_even_committed_is_not_the_on_demand_formula(self):
        c1 = E.owned_cost_per_gpu_hour("MI300X", utilization=1.0)
        F, Ee = c1.fixed_usd_per_calendar_hour, c1.energy_usd_per_gpu_hour
        always = E.rent_vs_own(F + Ee + 0.5, committed=True)
        assert always.owning_wins == "always"
        for u in (0.1, 0.5, 1.0):     # owning F/U + E vs committed P/U
            assert F / u + Ee < (F + Ee + 0.5) / u
        never = E.rent_vs_own(F * 0.99, committed=True)
        assert never.owning_wins == "never"
        mid = E.rent_vs_own(F + 0.5 * Ee, committed=True)
        assert mid.owning_wins == "below" and mid.threshold_utilization == pytest.approx(0.5)

    def test_tco_is_capex_plus_opex_minus_residual(self):
        t = E.tco(1024, 4, 0.9)     # the reference cluster: its network counts are parameters.csv's
        c = E.owned_cost_per_gpu_hour("MI300X", utilization=1.0)
        v = c.inputs
        capex = c.capex_usd_per_gpu
        opex_y = (c.facility_usd_per_gpu_hour + c.maintenance_usd_per_gpu_hour + c.insurance_tax_usd_per_gpu_hour
                  + c.staff_usd_per_gpu_hour) * E.HOURS_PER_YEAR
        op_years = 4 - v["setup_weeks"] / (365.25 / 7)
        energy = c.energy_usd_per_gpu_hour * 0.9 * E.HOURS_PER_YEAR * op_years
        residual = E.exponential_value(capex, 4, v["depreciation_ooms_per_year"])
        assert t["usd_per_gpu"].sum() == pytest.approx(capex + 4 * opex_y + energy - residual, rel=1e-12)
        assert t.filter(pl.col("component").str.starts_with("residual"))["usd"][0] < 0
        assert t["usd_pv"].sum() / 1024 < t["usd_per_gpu"].sum() + residual   # discounting lowers later costs

    def test_tco_replacement_priced_at_then_current_cost(self):
        t = E.tco(1024, 6, 0.9, life_years=4, replace_at_life=True)
        c = E.owned_cost_per_gpu_hour("MI300X", life_years=4)
        repl = t.filter(pl.col("component") == "replacement (capex)")["usd_per_gpu"][0]
        d = c.inputs["depreciation_ooms_per_year"]
        new = c.capex_usd_per_gpu * 10 ** (-d * 4)
        assert repl == pytest.approx(new - E.exponential_value(c.capex_usd_per_gpu, 4, d))

    def test_run_cost_from_estimate(self):
        class Est:
            tokens_per_s = 1e7
            gpus = 1000
        r = E.run_cost(Est(), tokens=3.6e10, price_usd_per_gpu_hour=2.0)
        assert r.gpu_hours == pytest.approx(1000.0) and r.wall_clock_hours == pytest.approx(1.0)
        assert r.basis == "estimate"

        class WithMethod(Est):
            def gpu_hours(self, tokens):
                return 123.0
        assert E.gpu_hours_from_estimate(WithMethod(), 1e9) == 123.0

        class PerGpu:
            tokens_per_s_per_gpu = 10_000.0
        assert E.gpu_hours_from_estimate(PerGpu(), 3.6e7) == pytest.approx(1.0)
        with pytest.raises(ValidationError, match="il.estimate"):
            E.gpu_hours_from_estimate(object(), 1e9)

    def test_six_nd_cross_check_only_at_its_mfu(self):
        c = E.training_flop(0.76e9, 14e12)
        assert c == pytest.approx(6.384e22)
        assert E.gpu_hours_for(c, "MI300X", 0.20) == pytest.approx(67_819, rel=2e-3)
        with pytest.raises(ValidationError, match="software"):
            E.gpu_hours_for(c, "MI300X", 0.3, software_efficiency=0.75)

    def test_zyphra_bill_accounts_for_every_hour(self):
        b = E.zyphra_bill(100_000.0, months=6, price_usd_per_gpu_hour=2.5, goodput=0.9)
        f = b.frame()
        assert b.contracted_gpu_hours == pytest.approx(1024 * 6 * E.HOURS_PER_YEAR / 12)
        assert f["gpu_hours"][:3].sum() == pytest.approx(b.contracted_gpu_hours)
        assert f["share"][:3].sum() == pytest.approx(1.0)
        assert b.goodput_loss_gpu_hours == pytest.approx(100_000 / 0.9 - 100_000)
        assert b.bill_usd == pytest.approx(b.contracted_gpu_hours * 2.5)
        with pytest.raises(ValidationError, match="months >="):
            E.zyphra_bill(1e7, months=1)


# --------------------------------------------------------------------------------------
# The operator's view
# --------------------------------------------------------------------------------------
class TestOperator:
    def test_flat_path_cash_flow_by_hand(self):
        pv = E.provider_view(4.0, 0.7, setup_weeks=0.0)
        c = E.owned_cost_per_gpu_hour("MI300X", utilization=1.0, setup_weeks=0.0)
        H = E.HOURS_PER_YEAR
        fixed_cash = (c.facility_usd_per_gpu_hour + c.maintenance_usd_per_gpu_hour
                      + c.insurance_tax_usd_per_gpu_hour + c.staff_usd_per_gpu_hour) * H
        year1 = 4.0 * 0.7 * H - c.energy_usd_per_gpu_hour * 0.7 * H - fixed_cash
        assert pv.cash_flows_usd[0] == pytest.approx(-c.capex_usd_per_gpu)
        assert pv.cash_flows_usd[1] == pytest.approx(year1, rel=1e-12)
        resid = E.exponential_value(c.capex_usd_per_gpu, 5, 0.14)
        assert pv.cash_flows_usd[-1] == pytest.approx(year1 + resid, rel=1e-12)
        assert pv.basis == "pre-tax, unlevered"
        assert E.npv(pv.cash_flows_usd, pv.irr) == pytest.approx(0.0, abs=1e-6 * c.capex_usd_per_gpu)

    def test_sold_share_tied_to_price(self):
        lo = E.provider_view(2.0, market_price_usd_per_gpu_hour=2.0)
        hi = E.provider_view(6.0, market_price_usd_per_gpu_hour=2.0)
        assert lo.utilization == pytest.approx(0.7)
        assert hi.utilization == pytest.approx(0.7 * 3.0 ** -1.0)

    def test_decay_path_follows_the_trend(self):
        pv = E.provider_view(path="decay", setup_weeks=0.0, zyphra_contract_months=12.0)
        t, p = pv.monthly["t_years"], pv.monthly["price"]
        pc = E.defaults("MI300X")["contract_usd_per_gpu_hour"]
        assert np.all(p[t < 1.0] == pc)
        after = t > 1.0
        assert p[after] == pytest.approx(pc * 10 ** (-0.14 * t[after]))

    def test_paths_ordered(self):
        flat, decay, rebound = (E.provider_view(path=p) for p in ("flat", "decay", "rebound"))
        assert decay.npv_usd_per_gpu < rebound.npv_usd_per_gpu
        assert decay.irr is None or decay.irr < flat.irr

    def test_never_repaid(self):
        bad = E.provider_view(0.05, 0.7, retire=None)   # run to the horizon at a loss every year
        assert bad.payback_years == math.inf and (bad.irr is None or bad.irr < -0.5)
        assert E.provider_view(0.05, 0.7, value_curve="none", retire=None).irr is None   # no positive flow at all

    # retirement: the hardware stops at the end of the last year with a positive cash margin
    @staticmethod
    def _margins(pv):
        """Yearly cash margins (revenue - energy - opex) of a view run to the horizon [USD]."""
        return pv.revenue_usd - pv.cash_cost_usd

    def test_thirty_years_retires_and_has_an_irr(self):
        """The user's pass: run 30 years, a decaying rent paid losses for decades after the last
        profitable year, and the view gave a payback beside no IRR (failed before: no retire)."""
        for path in ("decay", "rebound"):
            full = E.provider_view(path=path, years=30, retire=None)
            m = self._margins(full)
            last = int(np.nonzero(m > 0)[0][-1]) + 1            # the last year with a positive margin
            assert last < 30 and np.all(m[last:] <= 0)
            pv = E.provider_view(path=path, years=30)
            assert pv.retire == "when_unprofitable" and pv.retirement_year == float(last)
            assert pv.operating_years == float(last) and pv.years == 30.0
            cf = pv.cash_flows_usd
            resid = E.exponential_value(pv.capex_usd_per_gpu, last, E.defaults("MI300X")["depreciation_ooms_per_year"])
            assert pv.residual_usd_per_gpu == pytest.approx(resid, rel=1e-12)
            np.testing.assert_allclose(cf[1:last], full.cash_flows_usd[1:last], rtol=1e-12)
            assert cf[last] == pytest.approx(m[last - 1] + resid, rel=1e-12)
            assert np.all(cf[last + 1:] == 0.0) and np.all(pv.revenue_usd[last:] == 0.0)
            assert np.cumsum(cf)[-1] > np.cumsum(full.cash_flows_usd)[-1]   # the losses are not paid
            assert pv.payback_years == full.payback_years                   # paid back before it retires
            if math.isfinite(pv.payback_years):                             # cash turns positive: an IRR
                assert full.irr is None and pv.irr is not None and pv.irr > 0
                assert E.npv(cf, pv.irr) == pytest.approx(0.0, abs=1e-6 * pv.capex_usd_per_gpu)

    def test_irr_defined_whenever_cash_turns_positive(self):
        """Over paths, accelerators, prices and horizons: with retirement, a payback within the
        horizon always comes with an IRR (before: None beside a payback on decaying rents)."""
        seen = 0
        for acc in ("MI300X", "H100", "H200", "B200", "MI355X"):
            for path in E.PATHS:
                for price in (None, 1.5, 3.0, 6.0):
                    for years in (1, 3.5, 5, 12, 30):
                        pv = E.provider_view(price, None, acc, path=path, years=years)
                        cum = np.cumsum(pv.cash_flows_usd)
                        if math.isfinite(pv.payback_years) or cum[-1] > 0:
                            seen += 1
                            assert pv.irr is not None and cum[-1] > 0, (acc, path, price, years)
                        r = pv.retirement_year
                        assert r is None or (r == int(r) and 1 <= r < years)
        assert seen > 100

    def test_never_profitable_stops_after_year_one(self):
        full = E.provider_view(0.05, 0.7, retire=None)
        assert np.all(self._margins(full) < 0)
        pv = E.provider_view(0.05, 0.7)
        assert pv.retirement_year == 1.0 and pv.payback_years == math.inf
        resid = E.exponential_value(pv.capex_usd_per_gpu, 1.0, E.defaults("MI300X")["depreciation_ooms_per_year"])
        assert pv.cash_flows_usd[1] == pytest.approx(full.cash_flows_usd[1] + resid, rel=1e-12)
        assert np.all(pv.cash_flows_usd[2:] == 0.0)
        assert pv.npv_usd_per_gpu > full.npv_usd_per_gpu        # one year's loss, not five
        assert E.provider_view(0.05, 0.7, value_curve="none").irr is None   # no positive flow at all

    def test_profitable_throughout_and_one_year_are_unchanged(self):
        for args, kw in (((4.0, 0.7), {}), ((None, None), {"path": "rebound"}), ((None, None), {"path": "decay", "years": 1}),
                         ((0.05, 0.7), {"years": 1}), ((4.0, 0.7), {"years": 30}), ((None, None), {"path": "decay", "years": 0.5})):
            pv, full = E.provider_view(*args, **kw), E.provider_view(*args, retire=None, **kw)
            assert pv.retirement_year is None and pv.operating_years == pv.years
            np.testing.assert_array_equal(pv.cash_flows_usd, full.cash_flows_usd)
            assert (pv.irr, pv.npv_usd_per_gpu, pv.payback_years) == (full.irr, full.npv_usd_per_gpu, full.payback_years)

    def test_arrays_retire_each_draw_as_the_scalar_view(self):
        v = E.sample_parameters(40, 11, "MI300X", [*E.OWNED_PARAMS, *E.OPERATOR_PARAMS])
        v["tdp_W"] = E.owned_inputs("MI300X")["tdp_W"]
        r = E.operator_cash_flows(v, path="decay", years=12.0)
        full = E.operator_cash_flows(v, path="decay", years=12.0, retire=None)
        m = full["annual"][:, 1:].copy()
        m[:, -1] -= full["residual"]
        for i in range(40):
            pos = np.nonzero(m[i] > 0)[0]
            last = int(pos[-1]) + 1 if pos.size else 1
            assert r["end_years"][i] == (12.0 if last == 12 else float(last))
            assert np.all(r["annual"][i, last + 1:] == 0.0) and np.all(r["revenue"][i, 12 * last:] == 0.0)
            np.testing.assert_allclose(r["annual"][i, 1:last], full["annual"][i, 1:last], rtol=1e-12)
        assert np.any(r["end_years"] < 12.0)

    def test_deal_retires_as_the_view(self):
        d, full = E.deal_pnl(1e5, n=300, seed=2), E.deal_pnl(1e5, n=300, seed=2, retire=None)
        a, b = (x.line("IBM", "IRR (pre-tax, unlevered)").p50 for x in (d, full))
        assert a > b                                            # no decade of losses on the decaying rent
        assert d.line("IBM", "cluster capex").p50 == full.line("IBM", "cluster capex").p50

    # retire="max_npv": the abandonment rule of replacement analysis
    def test_max_npv_sells_after_the_year_of_the_largest_npv(self):
        """By brute force over every sale year T, from the run-to-the-horizon view's margins:
        -capex + discounted margins of years 1..T + the discounted sale price at age T."""
        seen_earlier = 0
        for acc in ("MI300X", "H100"):
            for path in E.PATHS:
                for price in (None, 1.5, 4.0):
                    for years in (1, 3.5, 5, 12, 30):
                        for curve in ("exponential", "straight-line"):
                            kw = dict(path=path, years=years, value_curve=curve)
                            full = E.provider_view(price, None, acc, retire=None, **kw)
                            pv = E.provider_view(price, None, acc, retire="max_npv", **kw)
                            v = E.operator_inputs(acc)
                            r, d, L = v["cost_of_capital"], v["depreciation_ooms_per_year"], v["ibm_book_life_years"]
                            m = full.revenue_usd - full.cash_cost_usd
                            N = len(m)
                            ages = [min(float(T), float(years)) for T in range(1, N + 1)]
                            worth = [-full.capex_usd_per_gpu + sum(m[y] / (1 + r) ** (y + 1) for y in range(T))
                                     + E.residual_value(full.capex_usd_per_gpu, ages[T - 1], curve, life_years=L,
                                                        ooms_per_year=d) / (1 + r) ** T for T in range(1, N + 1)]
                            best = int(np.argmax(worth)) + 1
                            key = (acc, path, price, years, curve)
                            assert pv.operating_years == ages[best - 1], key
                            assert pv.retirement_year == (None if best == N else float(best)), key
                            assert pv.npv_usd_per_gpu == pytest.approx(max(worth), abs=1e-9 * full.capex_usd_per_gpu), key
                            # no rule does better by the NPV at the cost of capital
                            for other in (None, "when_unprofitable"):
                                o = E.provider_view(price, None, acc, retire=other, **kw)
                                assert pv.npv_usd_per_gpu >= o.npv_usd_per_gpu - 1e-9 * full.capex_usd_per_gpu, key
                            cash_rule = E.provider_view(price, None, acc, **kw).operating_years
                            assert pv.operating_years <= cash_rule, key   # never later on a falling value
                            seen_earlier += pv.operating_years < cash_rule
        assert seen_earlier > 5

    def test_max_npv_keeps_while_a_year_is_worth_more_than_its_resale_loss(self):
        """The marginal reading (MI300X rebound, 12 years): at the chosen sale age T, one more
        year's margin and the sale a year later, brought back to T, are worth less than selling
        at T; the year before, keeping was worth more."""
        pv = E.provider_view(path="rebound", years=12, retire="max_npv")
        full = E.provider_view(path="rebound", years=12, retire=None)
        v = E.operator_inputs("MI300X")
        r, d, C = v["cost_of_capital"], v["depreciation_ooms_per_year"], full.capex_usd_per_gpu
        T = int(pv.retirement_year)
        m = full.revenue_usd - full.cash_cost_usd
        S = lambda a: E.exponential_value(C, a, d)   # noqa: E731
        assert (m[T] + S(T + 1)) / (1 + r) < S(T)           # year T+1 not worth its resale loss
        assert (m[T - 1] + S(T)) / (1 + r) > S(T - 1)       # year T was
        assert pv.retirement_year < E.provider_view(path="rebound", years=12).retirement_year

    def test_max_npv_on_draws_matches_the_scalar_view(self):
        v = E.sample_parameters(30, 5, "MI300X", [*E.OWNED_PARAMS, *E.OPERATOR_PARAMS])
        v["tdp_W"] = E.owned_inputs("MI300X")["tdp_W"]
        r = E.operator_cash_flows(v, path="rebound", years=12.0, retire="max_npv")
        cc = v["cost_of_capital"][:, None] if np.ndim(v["cost_of_capital"]) else v["cost_of_capital"]
        npv_r = np.sum(r["annual"] / (1 + cc) ** np.arange(13), axis=1)
        for rule in ("when_unprofitable", None):
            o = E.operator_cash_flows(v, path="rebound", years=12.0, retire=rule)
            assert np.all(npv_r >= np.sum(o["annual"] / (1 + cc) ** np.arange(13), axis=1) - 1e-6)
        for i in (0, 7, 19):
            kw = {k: (float(x[i]) if np.ndim(x) else x) for k, x in v.items()}
            one = E.operator_cash_flows(kw, path="rebound", years=12.0, retire="max_npv")
            assert one["end_years"][0] == r["end_years"][i]
            np.testing.assert_allclose(one["annual"][0], r["annual"][i], rtol=1e-12)

    # the book (accounting) view and the cash view of the same life
    def test_book_profit_sums_to_the_cash_flows(self):
        """Pre-tax and unlevered, nothing separates the two views but timing: over the life,
        revenue - cash costs - depreciation + the gain or loss on the sale = -capex + operating
        cash + the sale price. Failed before: the book view left out the gain or loss on the
        sale (MI300X decay, retired after year 4: book -3,874 vs cash -1,522 USD per GPU)."""
        seen_gain = seen_loss = 0
        for acc in ("MI300X", "H100"):
            for path in E.PATHS:
                for years in (0.5, 3.5, 4.5, 5, 30):
                    for curve in E.VALUE_CURVES:
                        for rule in (*E.RETIRE_RULES, None):
                            pv = E.provider_view(None, None, acc, path=path, years=years, value_curve=curve,
                                                 retire=rule)
                            key = (acc, path, years, curve, rule)
                            assert pv.book_profit_usd.sum() == pytest.approx(
                                pv.cash_flows_usd.sum(), abs=1e-9 * pv.capex_usd_per_gpu), key
                            assert pv.gain_on_sale_usd == pytest.approx(
                                pv.residual_usd_per_gpu - pv.book_value_at_sale_usd, abs=1e-9), key
                            L = E.operator_inputs(acc)["ibm_book_life_years"]
                            age = pv.operating_years
                            assert pv.book_value_at_sale_usd == pytest.approx(
                                pv.capex_usd_per_gpu * max(0.0, 1.0 - age / L), rel=1e-12), key
                            if curve == "straight-line":   # sold at its book value: no gain, no loss
                                assert pv.gain_on_sale_usd == pytest.approx(0.0, abs=1e-9), key
                            seen_gain += pv.gain_on_sale_usd > 1.0
                            seen_loss += pv.gain_on_sale_usd < -1.0
        assert seen_gain > 20 and seen_loss > 20

    def test_book_depreciation_of_a_part_year(self):
        """A horizon of 4.5 years charges half a year's depreciation in year 5 (before: a whole
        year, so the book charged the full capex over 4.5 years of a 5-year book life)."""
        pv = E.provider_view(4.0, 0.7, years=4.5, value_curve="none")
        L = E.operator_inputs("MI300X")["ibm_book_life_years"]
        dep = pv.revenue_usd - pv.cash_cost_usd - pv.book_profit_usd
        dep[-1] += pv.gain_on_sale_usd                  # the sale is booked in the last year
        np.testing.assert_allclose(dep, pv.capex_usd_per_gpu / L * np.array([1, 1, 1, 1, 0.5]), rtol=1e-12)
        assert pv.book_value_at_sale_usd == pytest.approx(pv.capex_usd_per_gpu * (1 - 4.5 / L), rel=1e-12)

    def test_margin_with_resale_is_capital_recovery_with_salvage(self):
        """margin_usd_per_gpu_hour charges the annuity on the whole capex; the sale price S at
        the end of n years takes off (I - S)(A/P, r, n) + r S's difference from I (A/P, r, n),
        spread per sold hour like the capital (no such column before)."""
        H, W = E.HOURS_PER_YEAR, 365.25 / 7.0
        for args, kw in (((None, None), {"path": "decay"}), ((None, None), {"path": "decay", "years": 30}),
                         ((4.0, 0.7), {"years": 3.5}), ((None, None), {"path": "rebound", "years": 12}),
                         ((4.0, 0.7), {"value_curve": "straight-line", "years": 3.5}), ((4.0, 0.7), {"cost_of_capital": 0.0})):
            pv = E.provider_view(*args, **kw)
            v = E.operator_inputs("MI300X", {k: x for k, x in kw.items() if k == "cost_of_capital"})
            r, n, S, C = v["cost_of_capital"], pv.operating_years, pv.residual_usd_per_gpu, pv.capex_usd_per_gpu
            crf = E.annuity_factor(r, n)
            per_h = (1 + v["setup_weeks"] / (W * n)) / H / pv.utilization
            credit = (C * crf - ((C - S) * crf + r * S)) * per_h
            assert pv.resale_credit_usd_per_gpu_hour == pytest.approx(credit, rel=1e-9), (args, kw)
            assert pv.margin_with_resale_usd_per_gpu_hour == pytest.approx(
                pv.margin_usd_per_gpu_hour + credit, rel=1e-12), (args, kw)
            assert credit > 0
            none = E.provider_view(*args, value_curve="none", **{k: x for k, x in kw.items() if k != "value_curve"})
            assert none.resale_credit_usd_per_gpu_hour == 0.0
            assert none.margin_with_resale_usd_per_gpu_hour == none.margin_usd_per_gpu_hour
        # the retirement no longer reads as a bare loss of margin once the sale is credited
        run, ret = E.provider_view(path="decay", retire=None), E.provider_view(path="decay")
        assert ret.retirement_year == 4.0 and ret.margin_usd_per_gpu_hour < run.margin_usd_per_gpu_hour
        assert (run.margin_usd_per_gpu_hour - ret.margin_usd_per_gpu_hour
                > run.margin_with_resale_usd_per_gpu_hour - ret.margin_with_resale_usd_per_gpu_hour)

    def test_deal_book_profit_sums_to_the_cash_flows(self):
        """The deal's book operating profit includes the gain or loss on the sale: with every
        input held at its default it is 1,024 x the view's cumulative cash flow (failed before:
        the gain on the retired cluster's sale was left out)."""
        v = E.operator_inputs("MI300X")
        P = E.parameters("MI300X")
        names = [*E.OWNED_PARAMS, *E.OPERATOR_PARAMS, "amd_asp_usd_per_gpu", "dpus_per_node", "dpu_usd"]
        fixed = {k: (v[k] if k in v else P[k].value) for k in names}
        for rule in (*E.RETIRE_RULES, None):
            for years in (5.0, 12.0):
                d = E.deal_pnl(1e5, n=20, seed=3, years=years, overrides=fixed, retire=rule)
                pv = E.provider_view(path="decay", years=years, retire=rule)
                book = d.line("IBM", f"book operating profit over {years:g} years")
                assert book.p5 == pytest.approx(book.p95, rel=1e-12)                   # nothing drawn
                assert book.p50 == pytest.approx(1024 * pv.cash_flows_usd.sum(), rel=1e-9)
                assert book.p50 == pytest.approx(1024 * pv.book_profit_usd.sum(), rel=1e-9)
                assert d.line("IBM", "gain or loss on the hardware's sale").p50 == pytest.approx(
                    1024 * pv.gain_on_sale_usd, rel=1e-9)

    def test_retire_input_checks(self):
        for bad in ("always", "when-unprofitable", ""):
            with pytest.raises(UnknownNameError, match="when_unprofitable"):
                E.provider_view(retire=bad)
        for bad in (True, 0, 1.0, ["when_unprofitable"]):
            with pytest.raises(ValidationError, match="retire = .*expected None"):
                E.provider_view(retire=bad)
        v = E.operator_inputs("MI300X")
        with pytest.raises(UnknownNameError, match="retire"):
            E.operator_cash_flows(v, retire="never")
        with pytest.raises(ValidationError, match="retire"):
            E.deal_pnl(1e5, n=10, retire=False)

    def test_vectorized_irr_equals_scalar(self):
        rng = np.random.default_rng(3)
        cf = np.column_stack([-rng.uniform(1e4, 4e4, 50), rng.uniform(0, 2e4, (50, 4)), rng.uniform(-2e3, 2e3, 50)])
        vec = E.irr_array(cf)
        for i in range(50):
            s = E.irr(cf[i])
            assert (s is None and math.isnan(vec[i])) or vec[i] == pytest.approx(s)


# --------------------------------------------------------------------------------------
# Issue 18.3: every catalog accelerator priced (or a clear error saying how)
# --------------------------------------------------------------------------------------
class TestEveryAccelerator:
    @pytest.mark.parametrize("acc", ALL_ACCELERATORS)
    def test_priced_or_clear_error(self, acc):
        canon = il.catalog.canonical_accelerator(acc)
        has_tdp = il.catalog.accelerator(canon).tdp_W is not None
        extra = {} if has_tdp else {"tdp_W": 700.0}
        if canon not in PRICED:
            with pytest.raises(E.NoPurchasePriceError, match="capex_usd_per_gpu=") as ei:
                E.owned_cost_per_gpu_hour(canon, **extra)
            assert canon in str(ei.value)
            extra["capex_usd_per_gpu"] = 40_000.0
        elif not has_tdp:
            with pytest.raises(ValidationError, match="tdp_W"):
                E.owned_cost_per_gpu_hour(canon)
        c = E.owned_cost_per_gpu_hour(canon, **extra)
        assert 0 < c.total_usd_per_gpu_hour < 50
        assert float(E.tco(8, 3, 0.9, canon, **extra)["usd"].sum()) > 0
        assert E.break_even_utilization(10.0, canon, **extra) > 0
        assert E.provider_view(4.0, 0.7, canon, **extra).capex_usd_per_gpu > 0
        s = E.monte_carlo_owned_cost(2000, seed=1, accelerator=canon, fixed=extra)
        assert np.all(np.isfinite(s)) and s.min() > 0
        assert E.tornado(accelerator=canon, names=["utilization", "pue"], base=extra).height == 2 if not extra else True


# --------------------------------------------------------------------------------------
# Bad input: always the package's own error, naming the field
# --------------------------------------------------------------------------------------
BAD_NUMBERS = [None, float("nan"), float("inf"), -1.0, "2.6", True, [1.0]]


class TestBadInput:
    @pytest.mark.parametrize("bad", BAD_NUMBERS)
    def test_owned_inputs(self, bad):
        with pytest.raises(ValidationError, match="capex_usd_per_gpu"):
            E.owned_cost_per_gpu_hour("MI300X", capex_usd_per_gpu=bad)

    @pytest.mark.parametrize("u", [0.0, -0.1, 1.01, 5.0, float("nan")])
    def test_utilization_outside_unit_interval(self, u):
        with pytest.raises(ValidationError, match="utilization"):
            E.owned_cost_per_gpu_hour("MI300X", utilization=u)
        with pytest.raises(ValidationError, match="utilization"):
            E.tco(8, 3, u)
        with pytest.raises(ValidationError, match="utilization"):
            E.monte_carlo_owned_cost(100, fixed={"utilization": u})
        with pytest.raises(ValidationError, match="utilization"):
            E.sample_parameters(10, 1, fixed={"utilization": u})

    @pytest.mark.parametrize("kw, field", [
        ({"capex_usd_per_gpu": 1e300}, "capex_usd_per_gpu"), ({"life_years": -3}, "life_years"),
        ({"life_years": 0}, "life_years"), ({"pue": 0.9}, "pue"), ({"cost_of_capital": 1.5}, "cost_of_capital"),
        ({"nic_usd": -5.0}, "nic_usd"), ({"interconnect_fraction": 1.0}, "interconnect_fraction"),
        ({"tdp_W": 0.0}, "tdp_W"),
    ])
    def test_absurd_values(self, kw, field):
        with pytest.raises(ValidationError, match=field):
            E.owned_cost_per_gpu_hour("MI300X", **kw)

    def test_names_and_types(self):
        with pytest.raises(UnknownNameError, match="owned-cost parameter"):
            E.owned_cost_per_gpu_hour("MI300X", capex=1.0)
        with pytest.raises(UnknownNameError, match="MI300X"):
            E.owned_cost_per_gpu_hour("MI3000X")
        with pytest.raises(ValidationError, match="accelerator"):
            E.owned_cost_per_gpu_hour(["MI300X"])
        with pytest.raises(UnknownNameError, match="depreciation"):
            E.owned_cost_per_gpu_hour("MI300X", depreciation="double-declining")
        with pytest.raises(ValidationError, match="committed"):
            E.rent_vs_own(2.0, committed="yes")
        with pytest.raises(UnknownNameError, match="path"):
            E.provider_view(path="crash")
        with pytest.raises(ValidationError, match="n ="):
            E.monte_carlo_owned_cost(0)
        with pytest.raises(ValidationError, match="seed"):
            E.monte_carlo_owned_cost(10, seed=-1)
        with pytest.raises(UnknownNameError, match="backend"):
            E.monte_carlo_owned_cost(10, backend="gpu")

    def test_run_cost_and_misc(self):
        with pytest.raises(ValidationError, match="exactly one"):
            E.run_cost(gpu_hours=1.0, flop=1e20, price_usd_per_gpu_hour=2.0)
        with pytest.raises(ValidationError, match="required"):
            E.run_cost(gpu_hours=1.0)
        with pytest.raises(ValidationError, match="price_usd_per_gpu_hour"):
            E.run_cost(gpu_hours=10, price_usd_per_gpu_hour=-1.0)
        with pytest.raises(ValidationError, match="low <= mode <= high"):
            E.distribution_mean(5, 1, 0)
        with pytest.raises(ValidationError, match="samples"):
            E.percentiles([1.0, float("nan")])
        with pytest.raises(ValidationError, match="cash_flows"):
            E.irr([1.0])
        with pytest.raises(ValidationError, match="utilization"):
            E.provider_view(4.0, 0.7, path="decay")
        with pytest.raises(ValidationError, match="goodput"):
            E.zyphra_bill(100.0, goodput=0.0)
        with pytest.raises(UnknownNameError, match="parameter"):
            E.tornado(names=["not_a_parameter"])

    @settings(max_examples=40, deadline=None)
    @given(st.one_of(st.none(), st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=3),
                     st.booleans(), st.integers(-10**12, 10**12)))
    def test_fuzz_only_own_errors(self, x):
        for call in (lambda: E.owned_cost_per_gpu_hour("MI300X", utilization=x),
                     lambda: E.provider_view(x, 0.7), lambda: E.rent_vs_own(x, committed=True),
                     lambda: E.tco(8, x), lambda: E.run_cost(gpu_hours=x, price_usd_per_gpu_hour=2.0)):
            try:
                out = call()
            except (ValidationError, UnknownNameError):
                continue
            vals = [getattr(out, "total_usd_per_gpu_hour", None), getattr(out, "total_usd", None)]
            for v in vals:
                if v is not None:
                    assert math.isfinite(v) and v >= 0


# --------------------------------------------------------------------------------------
# Monte Carlo: the kernel and its numpy reference, one test class for both
# --------------------------------------------------------------------------------------
@pytest.fixture(params=["numba", "reference"])
def backend(request):
    return request.param


class TestMonteCarlo:
    def test_stream_kernel_equals_numpy(self):
        key = U.stream_key(12345, "capex_usd_per_gpu")
        np.testing.assert_array_equal(K.uniform_kernel(np.uint64(key), 0, 1000), U._uniforms_from_key(key, 0, 1000))
        u = U.uniforms(1, "x", 100_000)
        assert 0 < u.min() and u.max() < 1 and abs(u.mean() - 0.5) < 0.005

    @pytest.mark.parametrize("dep", ["straight-line", "exponential"])
    @pytest.mark.parametrize("net", ["per-port", "fraction"])
    @pytest.mark.parametrize("dist", [None, "lognormal"])
    def test_kernel_equals_reference(self, dep, net, dist):
        kw = dict(depreciation=dep, network=net, distribution=dist, age_years=0.5 if dep == "exponential" else 0.0)
        a = E.monte_carlo_owned_cost(5000, seed=7, backend="numba", **kw)
        b = E.monte_carlo_owned_cost(5000, seed=7, backend="reference", **kw)
        np.testing.assert_allclose(a, b, rtol=1e-12)
        if dist is None:    # triangular draws, the inputs of pow held: the same operations, the same bits
            fixed = {"life_years": 4.5, "cost_of_capital": 0.09, "depreciation_ooms_per_year": 0.14}
            np.testing.assert_array_equal(E.monte_carlo_owned_cost(5000, seed=7, backend="numba", fixed=fixed, **kw),
                                          E.monte_carlo_owned_cost(5000, seed=7, backend="reference", fixed=fixed, **kw))

    @pytest.mark.parametrize("acc, price, fixed, scale", [
        ("MI300X", None, (), ()),                                                  # baseboard listing
        ("H100-SXM", None, (), ()),                                                # a server listing: no host
        ("GB200", None, (), ()),                                                   # own rows (host, NIC 0)
        ("MI355X", 25_000.0, (), (("optics_per_gpu", 1.7857), ("switch_ports_per_gpu", 2.0))),
        ("MI300X", None, (("network_usd_per_gpu", 5000.0), ("pue", 1.3)), ()),
    ])
    def test_like_for_like_kernel_equals_reference(self, acc, price, fixed, scale):
        """owned_gpu_hour_quote / compare_owned draw through the owned-cost kernel; the numpy path
        they used (compare._like_for_like_reference) is its reference. The kernel takes the numpy
        path's operations in its order: with the life and the rate held (the two inputs of the
        capital recovery factor's pow, whose SIMD and libm versions may differ in the last bit)
        the draws are equal to the bit, and with them drawn within 1e-14."""
        from infra_lab.economics import compare as C

        p, cb, _ = C._purchase(acc, price, "baseboard", where="test")
        tdp, host = C._catalog_tdp(acc, "test"), C._host_spec(acc, cb)
        a = C._like_for_like_draws(acc, p, 5000, 11, fixed, tdp, scale, host)
        b = C._like_for_like_reference(acc, p, 5000, 11, fixed, tdp, scale, host)
        np.testing.assert_allclose(a, b, rtol=1e-14)
        held = tuple(sorted({**dict(fixed), "life_years": 4.5, "cost_of_capital": 0.09}.items()))
        np.testing.assert_array_equal(C._like_for_like_draws(acc, p, 5000, 11, held, tdp, scale, host),
                                      C._like_for_like_reference(acc, p, 5000, 11, held, tdp, scale, host))
        # a scaled input changes the answer (the factor reaches the kernel's draws)
        if scale:
            assert not np.array_equal(a, C._like_for_like_draws(acc, p, 5000, 11, fixed, tdp, (), host))

    def test_kernel_matches_scalar_model(self, backend):
        rng = np.random.default_rng(7)
        for _ in range(20):
            fixed = {"capex_usd_per_gpu": rng.uniform(1e4, 5e4), "host_usd_per_gpu": rng.uniform(0, 9e3),
                     "life_years": rng.uniform(2, 7), "cost_of_capital": float(rng.choice([0.0, rng.uniform(0, 0.15)])),
                     "utilization": rng.uniform(0.3, 1), "pue": rng.uniform(1, 1.6), "setup_weeks": rng.uniform(0, 10)}
            fixed.update({n: E.defaults("MI300X")[n] for n in E.OWNED_PARAMS if n not in fixed})
            got = E.monte_carlo_owned_cost(3, seed=1, fixed=fixed, backend=backend)
            want = E.owned_cost_per_gpu_hour("MI300X", **fixed).total_usd_per_gpu_hour
            np.testing.assert_allclose(got, want, rtol=1e-12)

    def test_seeded_and_common_random_numbers(self):
        a = E.monte_carlo_owned_cost(20_000, seed=3)
        np.testing.assert_array_equal(a, E.monte_carlo_owned_cost(20_000, seed=3))
        assert not np.array_equal(a, E.monte_carlo_owned_cost(20_000, seed=4))
        # a parameter's draws do not depend on which other parameters are drawn
        x = E.sample_parameters(500, 9, "MI300X", ["pue", "capex_usd_per_gpu"])["pue"]
        y = E.sample_parameters(500, 9, "H100", ["pue"])["pue"]
        np.testing.assert_array_equal(x, y)

    @pytest.mark.parametrize("dist", ["triangular", "lognormal"])
    def test_mean_matches_analytic(self, backend, dist):
        """With life, rate and utilization fixed the cost is multilinear in independent
        inputs, so its mean is the model evaluated at the inputs' means."""
        fixed = {"life_years": 5.0, "cost_of_capital": 0.08, "utilization": 0.9}
        s = E.monte_carlo_owned_cost(300_000, seed=11, distribution=dist, fixed=fixed, backend=backend)
        P = E.parameters("MI300X")
        means = {n: (fixed[n] if n in fixed else E.distribution_mean(P[n].low, P[n].value, P[n].high,
                                                                      U.effective_distribution(P[n], dist))
                     if P[n].low != P[n].high else P[n].value) for n in E.OWNED_PARAMS}
        analytic = E.owned_cost_per_gpu_hour("MI300X", **means).total_usd_per_gpu_hour
        assert s.mean() == pytest.approx(analytic, rel=4e-3)

    def test_triangular_draws(self):
        s = E.sample_parameters(200_000, 1, "MI300X", ["pue"])["pue"]
        p = E.parameters("MI300X")["pue"]
        assert s.min() >= p.low and s.max() <= p.high
        assert s.mean() == pytest.approx((p.low + p.value + p.high) / 3, rel=3e-3)

    def test_lognormal_median_and_band(self):
        spec = {"x": U.specs_from_frame(pl.DataFrame({"name": ["x"], "value": [2.0], "low": [1.0], "high": [4.0],
                                                      "distribution": ["lognormal"]}))["x"]}
        s = U.sample(spec, 200_000, 5)["x"]
        q = np.percentile(s, [5, 50, 95])
        assert q == pytest.approx([1.0, 2.0, 4.0], rel=0.02)

    def test_generic_monte_carlo_vectorized_equals_loop(self):
        f_loop = lambda **p: p["pue"] * p["electricity_usd_per_kWh"]  # noqa: E731
        a = E.monte_carlo(f_loop, n=300, seed=2, names=["pue", "electricity_usd_per_kWh"])
        b = E.monte_carlo(f_loop, n=300, seed=2, names=["pue", "electricity_usd_per_kWh"], vectorized=True)
        np.testing.assert_allclose(a, b)
        q = E.percentiles(a)
        assert q["p5"] < q["p50"] < q["p95"]
        assert "–" in E.fmt_band(a, "{:.3f}")

    def test_tornado_has_labels(self):
        t = E.tornado(names=["capex_usd_per_gpu", "pue", "life_years"])
        assert t["label"][0] == "GPU purchase price [USD per GPU]" or t["parameter"][0] == "life_years"
        assert (t["swing"].diff().drop_nulls() <= 0).all()
        assert t["output_base"][0] == pytest.approx(E.owned_cost_per_gpu_hour("MI300X").total_usd_per_gpu_hour)


# --------------------------------------------------------------------------------------
# Like-for-like comparisons and the deal
# --------------------------------------------------------------------------------------
class TestCompare:
    def test_per_token_and_parity(self):
        assert E.per_token_cost(3.6, 1000.0) == pytest.approx(1.0)
        p = E.parity_price(2.0, 1000.0, 1500.0)
        assert E.per_token_cost(p, 1500.0) == pytest.approx(E.per_token_cost(2.0, 1000.0))

    def test_matched_rents_same_provider_and_term(self):
        m = E.matched_rents("MI300X", "H100")
        assert m.height >= 3
        for r in m.iter_rows(named=True):
            a = E.rental_prices("MI300X", r["provider"], r["term"])
            assert r["price_a"] in a["price_usd_per_gpu_hour"].to_list()

    def test_matched_serving_same_configuration(self):
        m = E.matched_serving("MI300X", "H200")
        assert m.height >= 3
        assert (m["ratio_b_over_a"] - m["tokens_per_s_per_gpu_b"] / m["tokens_per_s_per_gpu_a"]).abs().max() < 1e-12
        assert m["source_key"].n_unique() == 1 or m.height > 0

    def test_compare_owned_common_random_numbers(self):
        t = E.compare_owned({"MI300X": 40_000.0, "H200": 40_000.0}, n=5000, seed=1)
        ref = t.row(0, named=True)
        assert ref["ratio_p5"] == ref["ratio_p50"] == ref["ratio_p95"] == 1.0
        h = t.row(1, named=True)
        assert h["ratio_p95"] - h["ratio_p5"] < 0.1        # shared inputs cancel in the ratio
        assert h["purchase_price_usd_per_gpu"] == E.purchase_price("H200", "baseboard")["price_usd_per_gpu"]

    def test_break_even_capex_solves_exactly(self):
        fixed = {n: E.defaults("MI300X")[n] for n in E.OWNED_PARAMS if n != "capex_usd_per_gpu"}
        fixed["host_usd_per_gpu"] = E.parameters("MI300X")["host_usd_per_gpu"].value
        b = E.break_even_capex("MI355X", 0.02, 50_000.0, n=10, fixed=fixed)
        cost = E.owned_cost_per_gpu_hour("MI355X", capex_usd_per_gpu=b.p50, **fixed).total_usd_per_gpu_hour
        assert E.per_token_cost(cost, 50_000.0) == pytest.approx(0.02, rel=1e-9)

    def test_training_throughput_from_the_training_model(self):
        sc = il.load_scenario("zaya1-ibm-mi300x")
        t = E.training_throughput(sc, ["MI300X"])
        best = il.search(sc, top=1, **E.PLAN_FAMILY)
        assert t["tokens_per_s_per_gpu"][0] == pytest.approx(best["tokens_per_s"][0] / sc.hardware.world_size)
        assert t["stack"][0] == sc.stack

    def test_training_throughput_needs_no_plan_that_fits(self):
        """The search picks the plan: a dict whose own plan does not divide its GPUs still works,
        and the stack column names the stack each accelerator's search priced."""
        d = {"model": {"preset": "llama3-8b"}, "hardware": {"accelerator": "MI300X", "nodes": 2},
             "training": {"seq_len": 4096, "global_batch": 64}, "parallelism": {"tp": 3}}
        t = E.training_throughput(d, ["MI300X", "H100-SXM"])
        assert t["stack"].to_list() == [il.stacks.default_stack(a) for a in ("MI300X", "H100-SXM")]
        assert (t["tokens_per_s_per_gpu"] > 0).all()

    def test_deprecated_software_factor(self):
        with pytest.warns(DeprecationWarning):
            r = E.useful_work_cost("MI300X", 2.0, 0.4, flop_per_token=6 * 0.76e9)
        assert r["software_efficiency"] == 1.0
        with pytest.warns(DeprecationWarning):
            E.software_stack("MI300X")
        with pytest.warns(DeprecationWarning):
            c = E.owned_cost_per_gpu_hour("MI300X", server_overhead=1.4)
        assert c.inputs["host_usd_per_gpu"] == pytest.approx(15000 * 0.4)


class TestDeal:
    def test_deal_pnl(self):
        d = E.deal_pnl(100_000.0, goodput=0.97, n=500, seed=1)
        t = d.table
        assert set(t["party"]) == {"AMD", "IBM", "Zyphra"}
        assert (t["p5"] <= t["p50"]).all() and (t["p50"] <= t["p95"]).all()
        amd = d.line("AMD", "total revenue")
        assert d.line("AMD", "share of 2024 Instinct revenue").p50 == pytest.approx(
            amd.p50 / E.company_fact("AMD", "instinct_revenue_usd", "FY2024"), rel=1e-9)
        bill = d.line("Zyphra", "bill")
        ibm_z = d.line("IBM", "revenue from the Zyphra contract")
        assert 0.9 * bill.p50 < ibm_z.p50 <= bill.p50 * 1.0001
        assert len(d.unknowns) >= 4

    def test_deal_pnl_for_another_amd_accelerator(self):
        """AMD's revenue on an expansion option: the accelerator's own selling price (here
        passed, as data/expansion does for parts with no parameters.csv row) times the GPUs;
        MI300X by default, unchanged by the new argument; NVIDIA parts and a missing selling
        price are refused with the field named."""
        base = E.deal_pnl(100_000.0, n=300, seed=2)
        same = E.deal_pnl(100_000.0, accelerator="MI300X", n=300, seed=2)
        assert base.table.equals(same.table)
        asp = 21_000.0
        d = E.deal_pnl(100_000.0, accelerator="MI325X", n_gpus=2048, nodes=256, n=300, seed=2,
                       overrides={"capex_usd_per_gpu": (18_000.0, 20_000.0, 26_000.0), "amd_asp_usd_per_gpu": asp})
        spare = il.reliability.hot_spare_fraction()    # AMD sells the hot spares IBM buys too (at most this share)
        assert 2048 * asp < d.line("AMD", "GPU revenue").p50 < 2048 * asp * (1 + spare)
        capex = d.line("IBM", "cluster capex")
        assert capex.p5 < capex.p50 < capex.p95    # the capex range is drawn
        with pytest.raises(ValidationError, match="amd_asp_usd_per_gpu"):
            E.deal_pnl(100_000.0, accelerator="MI325X", n=50, overrides={"capex_usd_per_gpu": 20_000.0})
        with pytest.raises(ValidationError, match="AMD"):
            E.deal_pnl(100_000.0, accelerator="H100-SXM", n=50)
        with pytest.raises(UnknownNameError):
            E.deal_pnl(100_000.0, n=50, overrides={"capex": 1.0})
        with pytest.raises(ValidationError, match="low <= value <= high"):
            E.deal_pnl(100_000.0, n=50, overrides={"nic_usd": (3.0, 1.0, 2.0)})


# --------------------------------------------------------------------------------------
# The claims notebook 05's fixed prose relies on
# --------------------------------------------------------------------------------------
class TestNotebookClaims:
    def test_deal_bill_is_section_2_bill(self):
        """Notebook 05 states Zyphra's bill in section 2 and again in the deal P&L (section 7):
        with the same draws (n, seed) they are the same numbers, not two Monte Carlos."""
        n, seed = 500, 20250930
        zs = E.sample_parameters(n, seed, "MI300X", ["zyphra_contract_months", "contract_usd_per_gpu_hour"])
        bill = E.band(1024 * zs["zyphra_contract_months"] * E.HOURS_PER_MONTH * zs["contract_usd_per_gpu_hour"])
        d = E.deal_pnl(1.5e5, goodput=0.98, seed=seed, n=n).line("Zyphra", "bill")
        assert (d.p5, d.p50, d.p95) == pytest.approx((bill.p5, bill.p50, bill.p95), rel=1e-12)

    def test_textbook_gap_is_flops_and_utilization(self):
        """Notebook 05 §2 splits the 6·N·D cross-check's gap into FLOPs (the model executes more
        than 6·N per step) and utilization (ZAYA1 runs below the typical MFU): both parts > 1."""
        est = il.estimate(il.load_scenario("zaya1-ibm-mi300x"))
        conv = {r["convention"]: r for r in est.mfu_table().iter_rows(named=True)}
        assert conv["executed"]["flops_per_step"] > conv["6N"]["flops_per_step"]
        assert conv["executed"]["mfu"] < E.parameters("MI300X")["mfu"].value

    def test_defaults_sit_below_the_median(self):
        s = E.monte_carlo_owned_cost(100_000, seed=20250930)
        assert np.median(s) > E.owned_cost_per_gpu_hour("MI300X").total_usd_per_gpu_hour

    def test_section1_table_lists_only_inputs_the_answer_reads(self):
        """Notebook 05's input table listed Epoch AI's 19 % network share of cluster cost
        (interconnect_fraction) beside the per-port network the owned cost actually uses (27 %
        of capex at the defaults); it now lists E.owned_input_names() plus the value decay."""
        used = E.owned_input_names()
        assert "interconnect_fraction" not in used and "depreciation_ooms_per_year" not in used
        assert set(E.NETWORK_PORT_PARAMS) <= set(used) and "utilization" in used
        assert "interconnect_fraction" in E.owned_input_names(network="fraction")
        assert "depreciation_ooms_per_year" in E.owned_input_names("exponential")
        with pytest.raises(UnknownNameError, match="per-port"):
            E.owned_input_names(network="ports")
        src = (Path(__file__).resolve().parents[1] / "tools" / "notebooks" / "05_economics.py").read_text()
        assert "E.owned_input_names()" in src

    def test_owning_beats_a_commitment_at_every_utilization(self):
        assert E.rent_vs_own(E.defaults("MI300X")["contract_usd_per_gpu_hour"], committed=True).owning_wins == "always"

    def test_decaying_rent_earns_less(self):
        assert E.provider_view(path="decay").npv_usd_per_gpu < E.provider_view(path="flat").npv_usd_per_gpu

    def test_list_prices_did_not_fall_within_providers(self):
        r = E.rental_trend("H100 SXM")
        assert r["slope_per_year"] > -2 * r["se"]

    def test_sliders_are_the_largest_swings(self):
        from infra_lab.widgets.economics import DASHBOARD_INPUTS

        tor = E.tornado(names=[n for n in E.OWNED_PARAMS if n != "depreciation_ooms_per_year"])
        assert set(tor.head(len(DASHBOARD_INPUTS))["parameter"]) == set(DASHBOARD_INPUTS)

    def test_final_run_is_a_small_share_and_six_nd_undercounts(self):
        sc = il.load_scenario("zaya1-ibm-mi300x")
        est = il.estimate(sc)
        tokens = il.reliability.parameter("zaya1_tokens")   # the one sourced row
        gh = E.gpu_hours_from_estimate(est, tokens)
        low_months = E.parameters("MI300X")["zyphra_contract_months"].low
        assert gh / (sc.hardware.world_size * low_months * E.HOURS_PER_MONTH) < 0.25
        xc = E.gpu_hours_for(E.training_flop(il.models.get("zaya1-base").published_params_active, tokens),
                             "MI300X", E.defaults("MI300X")["mfu"])
        assert xc < gh

    def test_amd_deal_is_small_against_its_revenue(self):
        d = E.deal_pnl(100_000.0, n=500, seed=1)
        assert d.line("AMD", "share of 2024 Instinct revenue").p95 < 0.01


# --------------------------------------------------------------------------------------
# Charts and the widget
# --------------------------------------------------------------------------------------
class TestChartsAndWidget:
    def test_charts_have_units_and_labels(self):
        from infra_lab.charts import economics as C

        assert set(C.__all__) <= set(dir(il.charts))
        tor = C.tornado_chart(E.tornado(names=["capex_usd_per_gpu", "pue"])).to_dict()
        assert "GPU purchase price [USD per GPU]" in str(tor) and "USD per useful GPU-hour" in str(tor)
        iv = C.interval_chart(pl.DataFrame({"label": ["a", "b"], "p5": [1.0, 2.0], "p50": [1.5, 2.5], "p95": [2.0, 3.0],
                                            "vendor": ["AMD", "NVIDIA"]}), x_title="cost [USD]", color="vendor").to_dict()
        assert "Intel" not in str(iv) and "cost [USD]" in str(iv)
        rv = C.rent_vs_own_chart(E.rent_vs_own_curve({"3-yr $2.63": 2.63}, committed=["3-yr $2.63"]), y_max=8.0).to_dict()
        assert "utilization [fraction of calendar hours used]" in str(rv)
        pv = E.provider_view(path="decay")
        rp = C.rent_path_chart(pl.DataFrame({"t_years": pv.monthly["t_years"], "price_usd_per_gpu_hour": pv.monthly["price"],
                                             "case": "decay"})).to_dict()
        assert "USD per sold GPU-hour" in str(rp)
        assert "million USD" in str(C.bill_chart(E.zyphra_bill(1e5).frame()).to_dict())
        trend = C.price_trend_chart(E.epoch_rental_series("H100 SXM"), E.rental_prices("H100")).to_dict()
        assert "CC-BY 4.0" in str(trend.get("title")) and "market tier" in str(trend)
        tb = C.tco_band_chart(pl.DataFrame({"years": [3, 4], "case": ["a", "a"], "p5": [1.0, 2.0], "p50": [2.0, 3.0],
                                            "p95": [3.0, 4.0]})).to_dict()
        assert "horizon [years]" in str(tb)

    def test_widget_for_every_priced_accelerator(self):
        """economics_explorer(accelerator) raised a bare KeyError for every accelerator but
        MI300X (only MI300X has a contract row), and economics_update(accelerator=...) priced
        every accelerator's rent at MI300X's contract default. The default rent is now the
        accelerator's own: MI300X's contract (a commitment), else its median on-demand listing."""
        from infra_lab.widgets import economics as W

        assert W.default_rent("MI300X") == (E.parameters("MI300X")["contract_usd_per_gpu_hour"].value, True)
        for acc in ("H100-SXM", "H200-SXM", "B200", "MI355X"):
            rent, committed = W.default_rent(acc)
            assert rent == E.cloud_price(acc) and committed is False
            box = W.economics_explorer(acc)
            out = box.update()
            assert out["rent_vs_own"].price_usd_per_gpu_hour == rent and not out["rent_vs_own"].committed
            assert f"${rent:.2f} on demand" in out["text"], out["text"]
        b = W.economics_update(accelerator="B200", n=500)
        assert b["rent_vs_own"].price_usd_per_gpu_hour == E.cloud_price("B200")
        # a given rent needs no listing: A100-SXM-80GB has a purchase price but
        # no on-demand offer, and economics_update(3.0, accelerator=...) raised cloud_price's error
        for acc in ("A100-SXM-80GB",):
            out = W.economics_update(3.0, acc, n=200)
            assert out["rent_vs_own"].price_usd_per_gpu_hour == 3.0 and not out["rent_vs_own"].committed
        assert W.economics_update(3.0, "A100-SXM-80GB", committed=True, n=200)["rent_vs_own"].committed
        with pytest.raises(ValidationError, match="no on-demand list price for A100-SXM-80GB"):
            W.economics_update(accelerator="A100-SXM-80GB", n=200)
        # the explorer has no price argument: its error says where a rent can be given
        with pytest.raises(ValidationError, match="economics_explorer: A100-SXM-80GB has no contract .*economics_update"):
            W.economics_explorer("A100-SXM-80GB")
        # the error names only accelerators with offers: H800-SXM's one row is an assumed price
        with pytest.raises(ValidationError, match="no on-demand list price for H800-SXM") as ei:
            E.cloud_price("H800-SXM")
        assert "H800-SXM," not in str(ei.value).split("prices: ")[1] and "H100-SXM" in str(ei.value)

    def test_widget_update(self):
        from infra_lab.widgets import economics as W

        out = W.economics_update(3.0, capex_usd_per_gpu=20_000.0, host_usd_per_gpu=6000.0,
                                 colocation_usd_per_kW_month=120.0, utilization=0.8, life_years=4.0, n=2000)
        want = E.owned_cost_per_gpu_hour("MI300X", capex_usd_per_gpu=20_000.0, host_usd_per_gpu=6000.0,
                                         colocation_usd_per_kW_month=120.0, utilization=0.8, life_years=4.0)
        assert out["owned_usd_per_gpu_hour"] == pytest.approx(want.total_usd_per_gpu_hour)
        assert out["owned_band"].p5 < out["owned_band"].p95
        assert out["rent_vs_own"].committed and "pre-tax, unlevered" in out["text"]
        assert out["chart"].to_dict()
        neg = W.economics_update(2.634, n=500)          # the decay path loses money at the defaults
        assert neg["provider"].npv_usd_per_gpu < 0
        assert f"NPV −${abs(neg['provider'].npv_usd_per_gpu):,.0f} per GPU" in neg["text"] and "$-" not in neg["text"]
        # payback counts operating cash only, IRR and NPV the residual value too: at host = 0 the
        # text read "IRR 2%, payback never"; it now says which cash each one counts
        cheap = W.economics_update(2.634, host_usd_per_gpu=0.0, n=500)
        assert cheap["provider"].irr > 0 and cheap["provider"].payback_years == float("inf")
        assert "operating cash pays the GPU back never within the horizon" in cheap["text"]
        assert "include the residual value" in cheap["text"]
        with warnings.catch_warnings():
            warnings.simplefilter("error", DeprecationWarning)
            box = W.economics_explorer()
        assert W.economics_dashboard is W.economics_explorer and callable(box.update)
        labels = [c.description for c in box.children if hasattr(c, "description")]
        for name in W.DASHBOARD_INPUTS:
            assert E.parameters("MI300X")[name].label in labels
        # its controls by name, as every other explorer has them (it had none)
        assert set(box.controls) == {"price_usd_per_gpu_hour", *W.DASHBOARD_INPUTS, "committed"}
        # the slider spans are read from the data, through one owner (economics_slider_range), not typed
        for name, c in box.controls.items():
            if name != "committed":
                assert (c.min, c.max) == pytest.approx(W.economics_slider_range(name, "MI300X")), name
        p = E.parameters("MI300X")["capex_usd_per_gpu"]
        assert W.economics_slider_range("capex_usd_per_gpu") == pytest.approx(
            (W.ECONOMICS_SLIDER_SPAN[0] * p.low, W.ECONOMICS_SLIDER_SPAN[1] * p.high))
        assert W.economics_slider_range("utilization")[1] == 1.0           # a fraction: clipped to its bound
        rents = E.cloud_price_rows("H100-SXM")["price_usd_per_gpu_hour"]
        assert W.economics_slider_range("price_usd_per_gpu_hour", "H100-SXM") == pytest.approx(
            (W.ECONOMICS_SLIDER_SPAN[0] * rents.min(), W.ECONOMICS_SLIDER_SPAN[1] * rents.max()))
        h100 = W.economics_explorer("H100-SXM").controls["host_usd_per_gpu"]   # server basis: the host is in the price
        assert h100.disabled and h100.min == h100.max == 0.0
        with pytest.raises(UnknownNameError, match="economics_slider_range"):
            W.economics_slider_range("capex_usd_per_gpux")
        with pytest.raises(ValidationError, match="expected an economics input name"):
            W.economics_slider_range(["life_years"])
        text = box.children[-2].value
        box.controls["utilization"].value = box.controls["utilization"].min
        assert box.children[-2].value != text


@pytest.mark.parametrize("call, match", [
    (lambda: E.tornado(names=[]), r"^names = \[\]: expected at least one parameter"),
    (lambda: E.tornado(names=["nics_per_gpu"]), r"^names = \['nics_per_gpu'\]: .*no range .*nics_per_gpu"),
    (lambda: E.tornado(names="capex_usd_per_gpu"), r"^names = 'capex_usd_per_gpu': expected a list"),
    (lambda: E.uncertainty.tornado(lambda **k: 1.0, E.parameters("MI300X"), []), r"^names = \[\]: expected at least one"),
    (lambda: E.rent_vs_own_curve({"rent": 2.0}, utilizations=[]), r"^utilizations = \[\]: expected at least one"),
])
def test_tornado_and_curve_refuse_nothing_to_draw(call, match):
    """tornado(names=[]) or with only fixed parameters (nics_per_gpu, low == high) raised polars'
    ColumnNotFoundError 'swing'; names='capex_usd_per_gpu' was read character by character
    ("unknown parameter 'c'"); rent_vs_own_curve(utilizations=[]) gave a frame with no columns."""
    with pytest.raises(ValidationError, match=match):
        call()


def test_tco_horizon_inside_the_setup_weeks_pays_no_energy():
    """A horizon that ends during the setup weeks (1 month with 10 weeks of setup) has no busy
    hours: its energy was 0 USD in cash but -87,667 USD in present value (a credit, from
    discounting the flow over [setup, horizon] backwards), and every cost per useful GPU-hour
    was inf. Now the energy's present value is 0 and the per-hour column is null."""
    t = E.tco(1024, 1 / 12, setup_weeks=10)
    energy = t.filter(pl.col("component") == "energy")
    assert energy["usd"][0] == 0.0 and energy["usd_pv"][0] == 0.0
    assert t["usd_per_useful_gpu_hour"].null_count() == t.height
    # a horizon past the setup is unchanged: energy paid from the end of setup, in cash and in value
    u = E.tco(1024, 1.0, setup_weeks=10)
    e = u.filter(pl.col("component") == "energy")
    assert 0 < e["usd_pv"][0] < e["usd"][0]
    assert u["usd_per_useful_gpu_hour"].is_finite().all()


@pytest.mark.parametrize("n_gpus, nodes", [(1024, 100), (1024, 2048), (8, 3)])
def test_deal_pnl_refuses_nodes_that_do_not_divide_the_gpus(n_gpus, nodes):
    """deal_pnl(n_gpus=1024, nodes=100) priced 100 nodes' DPUs for 10.24 GPUs per node
    unannounced; nodes must divide n_gpus (as expansion.deal's whole nodes do)."""
    with pytest.raises(ValidationError, match=rf"nodes = {nodes}: must divide n_gpus = {n_gpus:,}"):
        E.deal_pnl(1e5, n_gpus=n_gpus, nodes=nodes, n=10)
    E.deal_pnl(1e5, n_gpus=1024, nodes=128, n=10)


def test_deal_pnl_derives_nodes_from_the_accelerators_gpus_per_node():
    """deal_pnl(n_gpus=2048) without nodes priced the reference scenario's 128 nodes (16 GPUs a
    node: half the DPUs); nodes now default to n_gpus / the accelerator's GPUs per node
    (data/network_platforms.csv node_gpus), and nodes alone give nodes x that many GPUs."""
    per = il.fabric.platform("MI300X")["node_gpus"]
    fx = {"dpus_per_node": 1.0, "dpu_usd": 1000.0, "amd_asp_usd_per_gpu": 10_000.0, "spare_fraction": 0.0}
    d = E.deal_pnl(1e5, n_gpus=2048, n=10, overrides=fx)
    assert d.line("AMD", "DPU revenue").p50 == pytest.approx(2048 // per * 1000.0)
    assert d.table.equals(E.deal_pnl(1e5, n_gpus=2048, nodes=2048 // per, n=10, overrides=fx).table)
    d = E.deal_pnl(1e5, nodes=64, n=10, overrides=fx)
    assert d.line("AMD", "GPU revenue").p50 == pytest.approx(64 * per * 10_000.0)
    assert d.line("AMD", "DPU revenue").p50 == pytest.approx(64 * 1000.0)
    s = il.reliability.hot_spare_fraction()    # the hot spares IBM buys: AMD sells their GPUs and DPUs too
    d = E.deal_pnl(1e5, nodes=64, n=10, overrides={**fx, "spare_fraction": s})
    assert d.line("AMD", "GPU revenue").p50 == pytest.approx(64 * per * (1 + s) * 10_000.0)
    assert d.line("AMD", "DPU revenue").p50 == pytest.approx(64 * (1 + s) * 1000.0)


@pytest.mark.parametrize("kw, match", [
    ({"n_gpus": 2048, "nodes": 128}, r"n_gpus = 2,048 and nodes = 128: 16 GPUs per node, but a MI300X node holds "
                                     r"at most 8 .*allowed nodes: a divisor of 2,048 from 256 up"),
    ({"n_gpus": 1020}, r"n_gpus = 1,020: not a whole number of MI300X nodes of 8 GPUs .*e\.g\. 1,016 or 1,024"),
])
def test_deal_pnl_refuses_more_gpus_per_node_than_a_node_holds(kw, match):
    with pytest.raises(ValidationError, match=match):
        E.deal_pnl(1e5, n=10, **kw)


@pytest.mark.parametrize("func, match", [
    (lambda **v: float("nan"), r"^func returned nan at the base values: expected a finite number"),
    (lambda **v: math.inf if v["utilization"] >= 0.99 else 1.0, r"^func returned inf at utilization = 1 \(its high\)"),
    (lambda **v: "x", r"^func returned 'x' at the base values"),
])
def test_tornado_refuses_a_function_that_returns_no_number(func, match):
    """A tornado over a function that returned NaN gave NaN output and swing columns (sorted
    anywhere), inf an inf swing, a string float()'s bare ValueError; each is now a
    ValidationError naming the point."""
    with pytest.raises(ValidationError, match=match):
        E.tornado(func, names=["capex_usd_per_gpu", "utilization"])
    t = E.tornado(lambda **v: v["capex_usd_per_gpu"] * np.float32(2.0), names=["capex_usd_per_gpu"])
    assert t["swing"][0] > 0


@pytest.mark.parametrize("call", [
    lambda: E.owned_cost_per_gpu_hour(age_years=10),
    lambda: E.monte_carlo_owned_cost(100, age_years=3, depreciation="straight-line"),
])
def test_age_years_only_with_exponential_depreciation(call):
    """owned_cost_per_gpu_hour(age_years=10) with the default straight-line depreciation gave the
    new-GPU cost ($1.63 at every age: the age only enters the exponential method), unannounced;
    an age above 0 now needs depreciation = 'exponential'."""
    with pytest.raises(ValidationError, match=r"age_years = (10|3): only with depreciation = 'exponential'"):
        call()
    old = E.owned_cost_per_gpu_hour(age_years=3, depreciation="exponential").total_usd_per_gpu_hour
    assert old < E.owned_cost_per_gpu_hour(depreciation="exponential").total_usd_per_gpu_hour


def test_defaults_are_read_from_the_scenario_and_the_parameter_table():
    """The economics calls typed their defaults again: n_gpus = 1024 and nodes = 128 (tco,
    tco_total, deal_pnl, zyphra_bill), the value curves' 0.14 OOM/yr and 5-year life, and
    network_capex_per_gpu's 64-port radix. Each now defaults to its one owner: the shipped
    scenario REFERENCE_SCENARIO's cluster, parameters.csv's 'all' rows, network_constants.csv."""
    import inspect

    hw = il.load_scenario(E.REFERENCE_SCENARIO).hardware
    for f, names in ((E.tco, ["n_gpus"]), (E.tco_total, ["n_gpus"]), (E.deal_pnl, ["n_gpus", "nodes"]),
                     (E.zyphra_bill, ["n_gpus"]), (E.exponential_value, ["ooms_per_year"]),
                     (E.residual_value, ["life_years", "ooms_per_year"]), (E.network_capex_per_gpu, ["radix"])):
        sig = inspect.signature(f).parameters
        assert all(sig[n].default is None for n in names), (f.__name__, names)
    assert E.tco().equals(E.tco(hw.world_size))
    assert E.tco_total(present_value=True) == E.tco_total(hw.world_size, present_value=True)
    assert E.zyphra_bill(1e5).n_gpus == hw.world_size
    assert E.deal_pnl(1e5, n=20, seed=4).table.equals(
        E.deal_pnl(1e5, n_gpus=hw.world_size, nodes=hw.nodes, n=20, seed=4).table)
    row = {r["name"]: r["value"] for r in E.parameter_table().filter(pl.col("scope") == "all").iter_rows(named=True)}
    d, life = row["depreciation_ooms_per_year"], row["life_years"]
    assert E.exponential_value(1e4, 3.0) == E.exponential_value(1e4, 3.0, d)
    assert E.residual_value(1e4, 3.0) == E.residual_value(1e4, 3.0, ooms_per_year=d)
    assert E.residual_value(1e4, 3.0, "straight-line") == E.residual_value(1e4, 3.0, "straight-line", life_years=life)
    sc = il.load_scenario(E.REFERENCE_SCENARIO)
    radix = int(il.fabric.constant("switch_radix_ports"))
    assert E.network_capex_per_gpu(hardware=sc) == E.network_capex_per_gpu(hardware=sc, radix=radix)
    assert E.network_capex_per_gpu(hardware=sc) != E.network_capex_per_gpu(hardware=sc, radix=2 * radix)


def test_training_throughput_takes_its_nic_from_the_catalog_only():
    """compare.DEFAULT_NIC (a third NIC table, by vendor) gave a part without a row in
    data/default_nics.csv a guessed NIC (A100: ConnectX-7); catalog.default_nic is the one owner
    and such a part is refused, naming the file and nics=, unless the caller gives its NIC."""
    assert not hasattr(E, "DEFAULT_NIC") and not hasattr(E.compare, "DEFAULT_NIC")
    sc = il.load_scenario("zaya1-ibm-mi300x")
    t = E.training_throughput(sc, ["B300", "MI300X"])
    assert t["nic"].to_list() == [il.catalog.default_nic("B300"), il.catalog.default_nic("MI300X")]
    with pytest.raises(ValidationError, match=r"default_nics\.csv has no default NIC for MI450X; pass nics="):
        E.training_throughput(sc, ["MI450X"])
    t = E.training_throughput(sc, ["A100-SXM-80GB"], nics={"A100-SXM-80GB": "ConnectX-7-NDR"})
    assert t["nic"][0] == "ConnectX-7-NDR"


def test_network_capex_optics_follow_the_fabrics_cables():
    """network_capex_per_gpu(hardware=...) took switch ports from fabric.switch_counts but charged
    the flat optics_per_gpu (4 transceivers per GPU) even for one node, which has no switch and no
    cable (5,300 USD per GPU: NIC + 4 x 700). Optics now follow fabric.link_counts, scaled from
    the reference fabric the parameter describes; the reference cluster does not move."""
    d = E.defaults("MI300X")
    one = {"accelerator": "MI300X", "nodes": 1, "nic": "Pollara-400", "fabric": "rails-only"}
    assert il.fabric.switch_counts(one)["total"] == il.fabric.link_counts(one)["total"] == 0
    assert E.network_capex_per_gpu(hardware=one) == pytest.approx(d["nic_usd"])
    ref = il.load_scenario(E.REFERENCE_SCENARIO).hardware
    per_cable = d["optics_per_gpu"] * ref.world_size / il.fabric.link_counts(ref)["total"]
    for hw in (ref, {"accelerator": "MI300X", "nodes": 1024, "nic": "Pollara-400", "fabric": "rail-optimized"},
               {"accelerator": "MI300X", "nodes": 2, "nic": "Pollara-400", "fabric": "fat-tree"}):
        h = il.fabric.hardware_config(hw)
        ports = il.fabric.switch_counts(h)["total"] * il.fabric.constant("switch_radix_ports") / h.world_size
        optics = per_cable * il.fabric.link_counts(h)["total"] / h.world_size
        assert E.network_capex_per_gpu(hardware=h) == pytest.approx(
            d["nic_usd"] + ports * d["switch_port_usd"] + optics * d["optics_usd"])
    assert E.network_capex_per_gpu(hardware=ref) == pytest.approx(E.network_capex_per_gpu())  # the built-out fabric
    # a copper-host-link assumption (fewer optics per GPU on the reference fabric) scales the same way
    assert E.network_capex_per_gpu(hardware=one, optics_per_gpu=2.0) == pytest.approx(d["nic_usd"])
    # counts the fabric owns were replaced without a word when passed beside it
    with pytest.raises(ValidationError, match=r"switch_ports_per_gpu and hardware: the fabric counts them"):
        E.network_capex_per_gpu(hardware=ref, switch_ports_per_gpu=2.0)


def test_run_cost_reads_owned_and_rented_prices_by_name():
    """run_cost takes "owned" / "rented" with the accelerator, as il.serve's costs and the CLI's
    --price-usd-per-gpu-hour do (one reader: serving.price_for), and says what is allowed when
    the price is neither a number nor such a name."""
    from infra_lab.serving import price_for

    for basis in ("owned", "rented"):
        r = E.run_cost(gpu_hours=1000.0, price_usd_per_gpu_hour=basis, accelerator="mi300x")
        assert r.price_usd_per_gpu_hour == price_for("MI300X", basis) > 0
        assert r.total_usd == pytest.approx(1000.0 * r.price_usd_per_gpu_hour)
    with pytest.raises(ValidationError, match="accelerator="):
        E.run_cost(gpu_hours=1000.0, price_usd_per_gpu_hour="owned")
    with pytest.raises(UnknownNameError, match="owned"):
        E.run_cost(gpu_hours=1000.0, price_usd_per_gpu_hour="bought", accelerator="MI300X")
    with pytest.raises(ValidationError, match="'owned' / 'rented'"):
        E.run_cost(gpu_hours=1000.0, price_usd_per_gpu_hour=-2.0)


def test_network_capex_is_priced_for_the_hardware_passed():
    """network_capex_per_gpu(hardware=...) counted the given fabric but priced it from MI300X's
    rows whatever the accelerator: a NIC on top of DGX / rack prices that already include one
    (H100-SXM, B200, GB200: 8,300 instead of 5,800 USD per GPU on 1,024 GPUs), and every switch
    port at the 400G price whatever the NIC's line rate (an 800G ConnectX-8 fabric paid the same
    as a 400G one). The accelerator's own parameters.csv rows now price it, and a port costs
    switch_port_usd x line rate / switch_port_price_bps."""
    F = il.fabric
    ref = il.load_scenario(E.REFERENCE_SCENARIO).hardware
    per_cable = E.defaults("MI300X")["optics_per_gpu"] * ref.world_size / F.link_counts(ref)["total"]
    port_bps = F.constant("switch_port_price_bps")
    radix = F.constant("switch_radix_ports")
    for acc, extra in (("MI300X", {}), ("MI355X", {}), ("H100-SXM", {}), ("B200", {}),
                       ("GB200", {"nodes": 252, "gpus_per_node": 4}), ("B300", {}),
                       ("MI355X", {"nic": "Vulcano-800"}), ("A100-SXM-80GB", {})):
        for fab in ("rails-only", "fat-tree"):
            h = F.hardware_config({"accelerator": acc, "nodes": 128, "fabric": fab, **extra})
            d = E.defaults(acc)
            ports = F.switch_counts(h)["total"] * radix / h.world_size
            optics = per_cable * F.link_counts(h)["total"] / h.world_size
            want = (d["nic_usd"] * h.nics_per_node / h.gpus_per_node
                    + d["switch_port_usd"] * h.nic_spec.line_rate_bps / port_bps * ports
                    + d["optics_usd"] * E.optics_price_ratio(h.nic_spec.line_rate_bps) * optics)
            assert E.network_capex_per_gpu(hardware=h) == pytest.approx(want), (acc, extra, fab)
    # no second NIC where the purchase price includes it; bare-GPU prices (AMD) add it
    for acc in ("H100-SXM", "B200", "GB200"):
        assert E.defaults(acc)["nic_usd"] == 0.0
    one = {"nodes": 1, "fabric": "rails-only"}
    assert E.network_capex_per_gpu(hardware={"accelerator": "H100-SXM", **one}) == 0.0
    assert E.network_capex_per_gpu(hardware={"accelerator": "MI355X", **one}) == E.defaults("MI355X")["nic_usd"] > 0
    h100 = {"accelerator": "H100-SXM", "nodes": 128, "fabric": "rails-only"}
    mi300x = {"accelerator": "MI300X", "nodes": 128, "fabric": "rails-only"}
    assert E.network_capex_per_gpu(hardware=mi300x) - E.network_capex_per_gpu(hardware=h100) == pytest.approx(
        E.defaults("MI300X")["nic_usd"])
    # an 800G NIC's port is two 400G-priced ports and its transceivers 800G modules (network_costs.csv's
    # 800G / 400G midpoints, 1.79: they were priced as 400G modules); everything else on that fabric is the same
    mi355 = {"accelerator": "MI355X", "nodes": 128, "fabric": "rails-only"}
    d = E.defaults("MI355X")
    assert (E.network_capex_per_gpu(hardware={**mi355, "nic": "Vulcano-800"}) - E.network_capex_per_gpu(hardware=mi355)
            == pytest.approx(d["switch_port_usd"] * F.switch_counts(mi355)["total"] * radix / 1024
                             + d["optics_usd"] * (E.optics_price_ratio(800e9) - 1.0) * d["optics_per_gpu"]))
    mods = {r["line_rate_gbps"]: r["usd_low"] + r["usd_high"] for r in E.network_costs().iter_rows(named=True)
            if r["unit"] == "transceiver"}
    assert E.optics_price_ratio(800e9) == pytest.approx(mods[800.0] / mods[400.0])    # network_costs.csv's rows
    # without hardware: the accelerator's rows on the reference fabric, as the owned cost prices it
    for acc in ("MI300X", "H100-SXM", "B200", "GB200", "MI355X"):
        v = E.owned_inputs(acc)
        net = E.owned_components(v)["network_capex"] / (1.0 + v["spare_fraction"])
        assert E.network_capex_per_gpu(accelerator=acc) == pytest.approx(net), acc
    assert E.network_capex_per_gpu() == E.network_capex_per_gpu(accelerator="MI300X")
    assert E.network_capex_per_gpu(hardware=h100, accelerator="H100") == E.network_capex_per_gpu(hardware=h100)
    with pytest.raises(ValidationError, match=r"accelerator = 'MI300X' and hardware of H100-SXM"):
        E.network_capex_per_gpu(hardware=h100, accelerator="MI300X")
    with pytest.raises(il.errors.UnknownNameError, match=r"Did you mean 'H100-SXM'"):
        E.network_capex_per_gpu(accelerator="H10O")


def test_deal_pnl_refuses_a_horizon_inside_the_setup():
    """deal_pnl(years=0.2): in the draws whose setup and burn-in (setup_weeks, 2-8 weeks) outlast
    the horizon's two monthly steps nothing is sold, the book margin was revenue 0 / 0 = -inf and
    the P&L stopped on "samples = array([... -inf ...]): expected ... finite numbers" (with numpy's
    divide-by-zero warning). It names the horizon and the shortest one that sells, as provider_view
    does, and that horizon prices every line."""
    with pytest.raises(ValidationError, match=r"^years = 0\.2: in [0-9,]+ of 300 draws the horizon ends inside "
                                              r"the setup and burn-in .* allowed years >= 0\.25 \(3 months"):
        E.deal_pnl(1.5e5, n=300, seed=1, years=0.2)
    t = E.deal_pnl(1.5e5, n=300, seed=1, years=0.25).table
    assert t.filter(pl.col("line") != "payback").select(pl.col("p5", "p50", "p95").is_finite().all()).row(0) == (True,) * 3


def test_deal_answers_what_amd_earns_at_its_filed_segment_margin():
    """The analyst's second question asked what AMD earns from the deployment and at what
    margin; the deal gave revenue only. It adds the operating profit at the Data Center
    segment's filed FY2024 margin (operating income / revenue of AMD's release), labelled as
    a segment average because AMD files no Instinct margin."""
    d = E.deal_pnl(1.5e5, n=300, seed=1)
    m = (E.company_fact("AMD", "datacenter_operating_income_usd", "FY2024")
         / E.company_fact("AMD", "datacenter_revenue_usd", "FY2024"))
    assert 0.2 < m < 0.35                   # the filed 3,482 / 12,579 M USD, not a typed margin
    op, rev = d.line("AMD", "operating profit at its data-centre segment margin"), d.line("AMD", "total revenue")
    assert op.p50 == pytest.approx(rev.p50 * m, rel=1e-12)
    how = d.table.filter(d.table["line"] == "operating profit at its data-centre segment margin")["how"][0]
    assert "no Instinct margin" in how
    assert 'deal.line("AMD", "operating profit at its data-centre segment margin")' in (il.catalog.DATA_DIR.parent / "tools" / "notebooks" / "05_economics.py").read_text()


def test_deal_unknowns_read_the_purchase_price_range_from_the_data():
    """The deal's first unknown typed the MI300X purchase price ("hyperscaler ASP $10-15k or
    channel up to $25.7k", a copy of parameters.csv's row) and named MI300X for every AMD part;
    it prints the priced accelerator's range from the data, and the contracted-hours line its
    hours per month from HOURS_PER_MONTH."""
    cp = E.parameters("MI300X")["capex_usd_per_gpu"]
    d = E.deal_pnl(1.5e5, n=200, seed=1)
    assert f"{cp.low:,.0f}-{cp.high:,.0f} USD per GPU, mode {cp.value:,.0f}" in d.unknowns[0]
    assert "$10-15k" not in " ".join(d.unknowns)
    how = d.table.filter(pl.col("line") == "contracted GPU-hours")["how"][0]
    assert f"{E.HOURS_PER_MONTH:g} h" in how
    d355 = E.deal_pnl(1e5, accelerator="MI355X", n=200, seed=1,
                      overrides={"capex_usd_per_gpu": 25000.0, "amd_asp_usd_per_gpu": 23000.0})
    assert d355.unknowns[0].startswith("IBM's purchase price for the MI355X (25,000 USD per GPU, held fixed)")


def test_per_token_cost_refuses_a_named_price_saying_a_number_is_taken():
    """per_token_cost('owned', ...) said "expected a sequence of numbers", as if a number were
    refused; it names what is taken and where the owned / rented price of a part comes from."""
    for name in ("owned", "rented"):
        with pytest.raises(ValidationError, match=rf"price_usd_per_gpu_hour = '{name}': expected a number "
                                                  r"\[USD per GPU-hour\] or an array.*owned_gpu_hour_price"):
            E.per_token_cost(name, 1000.0)
    assert E.per_token_cost(E.owned_gpu_hour_price("MI300X"), 1000.0) > 0


def test_printouts_say_which_capex_usd_per_gpu_they_show():
    """OwnedCost and ProviderView print capex_usd_per_gpu = the whole capex per GPU (32,169 USD
    per MI300X), while the override of the same name is the GPU alone (15,000): passing the
    printed figure back raised the owned cost (51,505 all-in). The printouts say which is which,
    with the GPU-alone input's value where the result holds its inputs."""
    c = E.owned_cost_per_gpu_hour("MI300X")
    gpu_alone = E.parameter("capex_usd_per_gpu", "MI300X")
    assert c.inputs["capex_usd_per_gpu"] == gpu_alone < c.capex_usd_per_gpu
    assert E.owned_cost_per_gpu_hour("MI300X", capex_usd_per_gpu=c.capex_usd_per_gpu).capex_usd_per_gpu > c.capex_usd_per_gpu
    text = str(c)
    assert f"is the GPU alone: {gpu_alone:,.0f} USD" in text and "whole capex per GPU" in text
    assert text.splitlines()[-1] == "  (exact values: the attributes)"
    pv = str(E.provider_view())
    assert "all_in_capex_usd_per_gpu is the whole capex per GPU" in pv and pv.splitlines()[-1].startswith("  (exact values")
