"""Tests of infra_lab.economics: closed forms, published worked numbers, properties, the
Monte Carlo kernel against its reference, errors, charts and the widget's update function."""

from __future__ import annotations

import math

import numpy as np
import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st

import infra_lab as il
from infra_lab._kernels import economics as K
from infra_lab.errors import UnknownNameError, ValidationError

E = il.economics


# --------------------------------------------------------------------------------------
# Data
# --------------------------------------------------------------------------------------
class TestData:
    def test_parameters_have_sources_and_ranges(self):
        t = E.parameter_table()
        assert t.height > 20
        assert all(u.startswith("http") for u in t["source_url"])
        assert (t["low"] <= t["value"]).all() and (t["value"] <= t["high"]).all()

    def test_every_owned_param_has_a_default(self):
        for acc in ("MI300X", "H100", "H200", "B200"):
            d = E.defaults(acc)
            for name in E.OWNED_PARAMS:
                assert name in d, (acc, name)

    def test_scope_overrides(self):
        assert E.parameters("H100")["server_power_ratio"].value == 1.82
        assert E.parameters("MI300X")["server_power_ratio"].value == 1.8
        assert E.parameters("MI300X")["software_efficiency"].scope == "ROCm"
        assert E.parameters("H100")["software_efficiency"].value == 1.0

    def test_other_tables_load(self):
        for t in (E.purchase_prices(), E.electricity_prices(), E.useful_life_policies(),
                  E.network_costs()):
            assert t.height > 3 and "source_url" in t.columns

    def test_epoch_dataset(self):
        t = E.epoch_hardware_prices()
        assert t.height > 550
        assert t.filter(pl.col("hardware_model") == "AMD Instinct MI300X")["purchase_usd"][0] == 25733.71
        s = E.epoch_rental_series("H100 SXM")
        assert s.height > 20 and set(s["term"]) <= {"on-demand", "1-year", "3-year"}
        assert "CC-BY 4.0" in E.EPOCH_ATTRIBUTION

    def test_rental_prices_reuse_catalog(self):
        t = E.rental_prices("MI300X", term="on-demand")
        assert t.height >= 1 and set(t["accelerator"]) == {"MI300X"}
        with pytest.raises(UnknownNameError, match="provider"):
            E.rental_prices("MI300X", provider="Nonexistent Cloud")


# --------------------------------------------------------------------------------------
# Closed forms and published worked numbers
# --------------------------------------------------------------------------------------
class TestClosedForms:
    def test_annuity(self):
        r, n = 0.08, 5
        assert E.annuity_factor(r, n) == pytest.approx(r * (1 + r) ** n / ((1 + r) ** n - 1), rel=1e-14)
        assert E.annuity_factor(0.0, 4) == 0.25
        # the present value of the level payments equals 1
        crf = E.annuity_factor(r, n)
        assert sum(crf / (1 + r) ** t for t in range(1, n + 1)) == pytest.approx(1.0, rel=1e-12)

    def test_straight_line(self):
        assert E.straight_line_value(100.0, 2.0, 5.0) == pytest.approx(60.0)
        assert E.straight_line_value(100.0, 7.0, 5.0) == 0.0
        c = E.owned_cost_per_gpu_hour("MI300X", cost_of_capital=0.0, utilization=1.0,
                                      colocation_usd_per_kW_month=0.0, electricity_usd_per_kWh=0.0)
        assert c.total_usd_per_gpu_hour == pytest.approx(c.capex_usd_per_gpu / (5 * E.HOURS_PER_YEAR))
        assert c.financing_usd_per_gpu_hour == 0.0

    def test_exponential_value(self):
        assert E.exponential_value(1000.0, 1.0, 0.14) == pytest.approx(1000 * 10 ** -0.14)

    def test_network_fraction(self):
        # network is 19 % of (server + network)
        net = E.network_capex_per_gpu(100.0, interconnect_fraction=0.19)
        assert net / (100.0 + net) == pytest.approx(0.19)
        assert E.network_capex_per_gpu(0.0, method="per-port", nic_usd=1, switch_port_usd=2,
                                       switch_ports_per_gpu=3, optics_usd=4, optics_per_gpu=5) == 27

    def test_deepseek_v3_rental_method(self):
        r = il.economics.run_cost(gpu_hours=2.788e6, price_usd_per_gpu_hour=2.0)
        assert r.total_usd == 5.576e6
        stages = [2.664e6, 0.119e6, 0.005e6]
        assert sum(E.run_cost(gpu_hours=g, price_usd_per_gpu_hour=2.0).total_usd for g in stages) == pytest.approx(5.576e6)

    @pytest.mark.parametrize("price, hw, with_ic", [
        (33750.0, 1.24, 1.53), (37080.50, 1.36, 1.68), (41217.0, 1.52, 1.87),
        (39083.38, 1.44, 1.77), (47409.13, 1.74, 2.15), (25733.71, 0.95, 1.17),
    ])
    def test_epoch_amortized_table(self, price, hw, with_ic):
        """economics.md §1.4: price x 0.3224 / 8,766 h, then / (1 - 0.19)."""
        e = E.epoch_amortized_cost(price, 1.0, 700.0)
        assert round(e.amortized_hardware_usd, 2) == hw
        assert round(e.amortized_hardware_usd + e.interconnect_usd, 2) == with_ic

    def test_epoch_energy_adder(self):
        # MI300X 0.75 kW x 1.8 x 0.75 x PUE 1.10-1.25 x $0.0826 = $0.092-0.105 per GPU-h
        lo = E.epoch_amortized_cost(25733.71, 1.0, 750.0, pue=1.10).energy_usd
        hi = E.epoch_amortized_cost(25733.71, 1.0, 750.0, pue=1.25).energy_usd
        assert (round(lo, 3), round(hi, 3)) == (0.092, 0.105)

    def test_epoch_matches_owned_exponential(self):
        """The owned model, exponential, r = 0, no facility, U = 1, reproduces Epoch."""
        ep = E.epoch_amortized_cost(25733.71, 1.0, 750.0)
        c = E.owned_cost_per_gpu_hour("MI300X", depreciation="exponential", capex_usd_per_gpu=25733.71,
                                      server_overhead=1.0, cost_of_capital=0.0, utilization=1.0,
                                      colocation_usd_per_kW_month=0.0, electricity_usd_per_kWh=0.0826,
                                      pue=1.25, avg_power_fraction=0.75, server_power_ratio=1.8,
                                      interconnect_fraction=0.19)
        assert c.total_usd_per_gpu_hour == pytest.approx(ep.usd_per_gpu_hour, rel=1e-12)

    def test_epoch_decay_before_training(self):
        e0 = E.epoch_amortized_cost(10000.0, 100.0, 700.0)
        e1 = E.epoch_amortized_cost(10000.0, 100.0, 700.0, years_since_acquisition=1.0)
        assert e1.amortized_hardware_usd / e0.amortized_hardware_usd == pytest.approx(10 ** -0.14)

    def test_gpu_hours_from_flop(self):
        # economics.md §0: 6.38e22 FLOP at MFU 40 % on 1307.4 TFLOP/s -> 33.9k GPU-h
        c = E.training_flop(0.76e9, 14e12)
        assert c == pytest.approx(6.384e22)
        gh = E.gpu_hours_for(c, "MI300X", 0.40)
        assert gh == pytest.approx(c / (1.3074e15 * 0.4) / 3600, rel=1e-3)
        assert E.gpu_hours_for(c, "MI300X", 0.20) == pytest.approx(67_819, rel=2e-3)

    def test_run_cost_from_estimate_duck_typed(self):
        class Est:
            tokens_per_s_per_gpu = 10_000.0
        r = E.run_cost(Est(), tokens=3.6e10, price_usd_per_gpu_hour=2.0, n_gpus=1000)
        assert r.gpu_hours == pytest.approx(1000.0)
        assert r.total_usd == pytest.approx(2000.0)
        assert r.usd_per_million_tokens == pytest.approx(2000.0 / 3.6e4)
        assert r.wall_clock_hours == pytest.approx(1.0)

    def test_tco_consistent_with_hourly(self):
        t = E.tco(1024, 5, 0.9, depreciation="straight-line")
        c = E.owned_cost_per_gpu_hour("MI300X", utilization=0.9)
        useful = 1024 * 5 * E.HOURS_PER_YEAR * 0.9
        assert t["usd"].sum() / useful == pytest.approx(c.total_usd_per_gpu_hour, rel=1e-12)
        assert t["share"].sum() == pytest.approx(1.0)

    def test_tco_exponential_integral(self):
        # no financing, no opex: depreciation over N years = capex (1 - 10^(-0.14 N))
        t = E.tco(1, 3, 1.0, depreciation="exponential", cost_of_capital=0.0,
                  electricity_usd_per_kWh=0.0, colocation_usd_per_kW_month=0.0)
        capex = E.owned_cost_per_gpu_hour("MI300X").capex_usd_per_gpu
        assert t["usd"].sum() == pytest.approx(capex * (1 - 10 ** (-0.14 * 3)))

    def test_break_even(self):
        u = E.break_even_utilization(2.6, "MI300X")
        c = E.owned_cost_per_gpu_hour("MI300X", utilization=u)
        assert c.total_usd_per_gpu_hour == pytest.approx(2.6, rel=1e-10)
        assert E.break_even_utilization(0.01) == math.inf

    def test_provider_view(self):
        pv = E.provider_view(6.0, 0.7, "MI300X")
        cf = pv.cash_flows_usd
        assert cf[0] < 0 and np.all(cf[1:] > 0)
        assert 0 < pv.payback_years < 1.5
        t = np.arange(len(cf))
        assert np.sum(cf / (1 + pv.irr) ** t) == pytest.approx(0.0, abs=1e-6 * abs(cf[0]))
        # at the break-even price the NPV (at the cost of capital) is ~0 over the life
        price0 = pv.cost_usd_per_sold_gpu_hour
        pv0 = E.provider_view(price0, 0.7, "MI300X")
        assert pv0.margin_usd_per_gpu_hour == pytest.approx(0.0, abs=1e-12)
        assert abs(pv0.npv_usd_per_gpu) < 0.05 * abs(cf[0])
        # a price below energy cost never pays back and has no IRR
        bad = E.provider_view(0.05, 0.7, "MI300X")
        assert bad.payback_years == math.inf and bad.irr is None

    def test_useful_work_software_efficiency_visible(self):
        a = E.useful_work_cost("MI300X", 2.0, 0.4, 1.0, flop_per_token=6 * 0.76e9)
        b = E.useful_work_cost("MI300X", 2.0, 0.4, 0.5, flop_per_token=6 * 0.76e9)
        assert b["usd_per_million_tokens"] == pytest.approx(2 * a["usd_per_million_tokens"])
        assert E.useful_work_cost("MI300X", 2.0, 0.4)["software_efficiency"] == 0.75
        # $/PFLOP-h = price / achieved PFLOP/s
        assert a["usd_per_pflop_hour"] == pytest.approx(2.0 / (1.3074 * 0.4), rel=1e-3)


# --------------------------------------------------------------------------------------
# Properties
# --------------------------------------------------------------------------------------
class TestProperties:
    @given(st.floats(1.0, 1e8), st.floats(0.1, 20.0), st.floats(1.1, 5.0))
    def test_linear_in_hours(self, hours, price, k):
        a = E.run_cost(gpu_hours=hours, price_usd_per_gpu_hour=price).total_usd
        b = E.run_cost(gpu_hours=hours * k, price_usd_per_gpu_hour=price).total_usd
        assert b == pytest.approx(k * a, rel=1e-12)

    @given(st.floats(5_000, 60_000), st.floats(1.0, 2.0))
    def test_higher_capex_never_cheaper(self, capex, k):
        a = E.owned_cost_per_gpu_hour("MI300X", capex_usd_per_gpu=capex).total_usd_per_gpu_hour
        b = E.owned_cost_per_gpu_hour("MI300X", capex_usd_per_gpu=capex * k).total_usd_per_gpu_hour
        assert b >= a

    @given(st.floats(0.01, 0.5), st.floats(1.0, 2.0))
    def test_higher_electricity_never_cheaper(self, e, k):
        a = E.owned_cost_per_gpu_hour("H100", electricity_usd_per_kWh=e).total_usd_per_gpu_hour
        b = E.owned_cost_per_gpu_hour("H100", electricity_usd_per_kWh=e * k).total_usd_per_gpu_hour
        assert b >= a

    @given(st.floats(0.05, 1.0), st.floats(0.05, 1.0))
    def test_more_utilization_never_dearer(self, u1, u2):
        lo, hi = sorted((u1, u2))
        a = E.owned_cost_per_gpu_hour("MI300X", utilization=lo).total_usd_per_gpu_hour
        b = E.owned_cost_per_gpu_hour("MI300X", utilization=hi).total_usd_per_gpu_hour
        assert b <= a

    @given(st.floats(1.0, 10.0), st.floats(1.0, 10.0))
    def test_higher_rent_more_cost_and_faster_payback(self, p1, p2):
        lo, hi = sorted((p1, p2))
        assert (E.run_cost(gpu_hours=10, price_usd_per_gpu_hour=hi).total_usd
                >= E.run_cost(gpu_hours=10, price_usd_per_gpu_hour=lo).total_usd)
        assert (E.provider_view(hi, 0.8).payback_years <= E.provider_view(lo, 0.8).payback_years)


# --------------------------------------------------------------------------------------
# Errors
# --------------------------------------------------------------------------------------
class TestErrors:
    def test_negative_price(self):
        with pytest.raises(ValidationError, match="price_usd_per_gpu_hour"):
            E.run_cost(gpu_hours=10, price_usd_per_gpu_hour=-1.0)
        with pytest.raises(ValidationError, match="capex_usd_per_gpu"):
            E.owned_cost_per_gpu_hour("MI300X", capex_usd_per_gpu=-5.0)
        with pytest.raises(ValidationError, match="price_usd_per_gpu_hour"):
            E.provider_view(-2.0, 0.5)

    def test_zero_life(self):
        with pytest.raises(ValidationError, match="life_years"):
            E.owned_cost_per_gpu_hour("MI300X", life_years=0)
        with pytest.raises(ValidationError, match="life_years"):
            E.annuity_factor(0.05, 0)

    @pytest.mark.parametrize("u", [0.0, -0.1, 1.01, float("nan")])
    def test_utilization_outside_unit_interval(self, u):
        with pytest.raises(ValidationError, match=r"utilization.*\(0, 1\]"):
            E.owned_cost_per_gpu_hour("MI300X", utilization=u)
        with pytest.raises(ValidationError, match="utilization"):
            E.tco(8, 3, u)

    def test_other_errors(self):
        with pytest.raises(UnknownNameError, match="depreciation"):
            E.owned_cost_per_gpu_hour("MI300X", depreciation="double-declining")
        with pytest.raises(UnknownNameError, match="owned-cost parameter"):
            E.owned_cost_per_gpu_hour("MI300X", capex=1.0)
        with pytest.raises(UnknownNameError):
            E.owned_cost_per_gpu_hour("MI3000X")
        with pytest.raises(ValidationError, match="exactly one"):
            E.run_cost(gpu_hours=1.0, flop=1e20, price_usd_per_gpu_hour=2.0)
        with pytest.raises(ValidationError, match="required"):
            E.run_cost(gpu_hours=1.0)
        with pytest.raises(ValidationError, match="pue"):
            E.owned_cost_per_gpu_hour("MI300X", pue=0.9)


# --------------------------------------------------------------------------------------
# Monte Carlo: the kernel and its reference, one test class for both
# --------------------------------------------------------------------------------------
@pytest.fixture(params=["numba", "reference"])
def backend(request):
    return request.param


class TestMonteCarlo:
    def test_kernel_matches_scalar_model(self, backend):
        rng = np.random.default_rng(7)
        n = 50
        for method, dep in ((K.STRAIGHT_LINE, "straight-line"), (K.EXPONENTIAL, "exponential")):
            p = {"capex_usd_per_gpu": rng.uniform(1e4, 5e4, n), "server_overhead": rng.uniform(1, 2, n),
                 "interconnect_fraction": rng.uniform(0, 0.3, n), "life_years": rng.uniform(2, 7, n),
                 "depreciation_ooms_per_year": rng.uniform(0.1, 0.2, n),
                 "cost_of_capital": np.where(np.arange(n) % 5 == 0, 0.0, rng.uniform(0, 0.15, n)),
                 "server_power_ratio": rng.uniform(1.5, 2, n), "avg_power_fraction": rng.uniform(0.5, 1, n),
                 "pue": rng.uniform(1, 1.6, n), "electricity_usd_per_kWh": rng.uniform(0.05, 0.2, n),
                 "colocation_usd_per_kW_month": rng.uniform(100, 250, n), "utilization": rng.uniform(0.3, 1, n)}
            fn = K.owned_cost_kernel if backend == "numba" else K.owned_cost_reference
            got = fn(p["capex_usd_per_gpu"], p["server_overhead"], p["interconnect_fraction"], np.zeros(n),
                     p["life_years"], p["depreciation_ooms_per_year"] * math.log(10), p["cost_of_capital"],
                     np.full(n, 750.0), p["server_power_ratio"], p["avg_power_fraction"], p["pue"],
                     p["electricity_usd_per_kWh"], p["colocation_usd_per_kW_month"], p["utilization"],
                     method, E.HOURS_PER_YEAR)
            want = [E.owned_cost_per_gpu_hour("MI300X", depreciation=dep, tdp_W=750.0,
                                              **{k: float(v[i]) for k, v in p.items()}).total_usd_per_gpu_hour
                    for i in range(n)]
            np.testing.assert_allclose(got, want, rtol=1e-12)

    def test_backends_agree_and_seeded(self):
        a = E.monte_carlo_owned_cost(20_000, seed=3, backend="numba")
        b = E.monte_carlo_owned_cost(20_000, seed=3, backend="reference")
        np.testing.assert_allclose(a, b, rtol=1e-12)
        np.testing.assert_array_equal(a, E.monte_carlo_owned_cost(20_000, seed=3))
        assert not np.array_equal(a, E.monte_carlo_owned_cost(20_000, seed=4))

    @pytest.mark.parametrize("dist", ["triangular", "lognormal"])
    def test_mean_matches_analytic(self, backend, dist):
        """With the nonlinear inputs fixed, the cost is a sum of products of independent
        parameters, so its mean is the same sum of products of the parameter means."""
        acc = "MI300X"
        P = E.parameters(acc)
        fixed = {"interconnect_fraction": 0.19, "life_years": 5.0, "cost_of_capital": 0.08,
                 "utilization": 0.9}
        s = E.monte_carlo_owned_cost(400_000, seed=11, accelerator=acc, distribution=dist,
                                     fixed=fixed, backend=backend)

        def m(name):
            p = P[name]
            return E.distribution_mean(p.low, p.value, p.high, dist)

        H, tdp = E.HOURS_PER_YEAR, il.catalog.accelerator(acc).tdp_W / 1e3
        capital = m("capex_usd_per_gpu") * m("server_overhead") / 0.81 * E.annuity_factor(0.08, 5) / H
        facility = tdp * m("server_power_ratio") * m("colocation_usd_per_kW_month") * 12 / H
        energy = tdp * m("server_power_ratio") * m("avg_power_fraction") * m("pue") * m("electricity_usd_per_kWh")
        analytic = (capital + facility) / 0.9 + energy
        assert s.mean() == pytest.approx(analytic, rel=5e-3)

    def test_triangular_draws(self):
        s = E.sample_parameters(200_000, 1, "MI300X", ["pue"])["pue"]
        p = E.parameters("MI300X")["pue"]
        assert s.min() >= p.low and s.max() <= p.high
        assert s.mean() == pytest.approx((p.low + p.value + p.high) / 3, rel=3e-3)

    def test_percentiles_and_generic_monte_carlo(self):
        s = E.monte_carlo(lambda **p: E.run_cost(
            gpu_hours=1e5, price_usd_per_gpu_hour=E.owned_cost_per_gpu_hour("MI300X", **p)).total_usd,
            n=300, seed=2)
        q = E.percentiles(s)
        assert q["p5"] < q["p50"] < q["p95"]
        assert "–" in E.fmt_band(s, "{:.0f}", 1e3)

    def test_tornado(self):
        t = E.tornado(names=["capex_usd_per_gpu", "pue", "life_years"])
        assert t["parameter"][0] == "capex_usd_per_gpu"
        assert (t["swing"].diff().drop_nulls() <= 0).all()
        base = E.owned_cost_per_gpu_hour("MI300X").total_usd_per_gpu_hour
        assert t["output_base"][0] == pytest.approx(base)


# --------------------------------------------------------------------------------------
# Charts and the widget
# --------------------------------------------------------------------------------------
class TestChartsAndWidget:
    def test_charts(self):
        from infra_lab.charts import economics as C

        assert set(C.__all__) <= set(dir(il.charts))
        specs = [
            C.cost_breakdown_chart(pl.concat([
                E.owned_cost_per_gpu_hour(a).breakdown.with_columns(pl.lit(a).alias("case"))
                for a in ("MI300X", "H100")])),
            C.tornado_chart(E.tornado()),
            C.interval_chart(pl.DataFrame({"label": ["a", "b"], "p5": [1.0, 2.0], "p50": [1.5, 2.5],
                                           "p95": [2.0, 3.0]}), x_title="cost [USD]"),
            C.rent_vs_own_chart(E.rent_vs_own_curve({"rent $2.60": 2.6, "3-yr $2.63": 2.63}, committed=["3-yr $2.63"])),
        ]
        for ch in specs:
            d = ch.to_dict()
            assert "$schema" in d
        trend = C.price_trend_chart(E.epoch_rental_series("H100 SXM"), E.rental_prices("H100", term="on-demand"))
        d = trend.to_dict()
        assert "CC-BY 4.0" in str(d.get("title"))
        s = str(d)
        assert "USD per GPU-hour" in s

    def test_widget_update(self):
        from infra_lab.widgets import economics as W

        out = W.economics_update(price_usd_per_gpu_hour=3.0, utilization=0.8, pue=1.3,
                                 electricity_usd_per_kWh=0.1, life_years=4, cost_of_capital=0.1)
        assert out["owned_usd_per_gpu_hour"] == pytest.approx(E.owned_cost_per_gpu_hour(
            "MI300X", utilization=0.8, pue=1.3, electricity_usd_per_kWh=0.1, life_years=4,
            cost_of_capital=0.1).total_usd_per_gpu_hour)
        assert out["chart"].to_dict()
        box = W.economics_dashboard()
        assert box.children
