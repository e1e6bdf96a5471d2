"""An analyst's pass over economics, reliability and serving: each test fails on the defect it
names (the message says what the code did before)."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

import infra_lab as il
from infra_lab.errors import ValidationError

E = il.economics

N = 4000     # draws: enough for the comparisons below, which use the same draws on both sides


class TestHostIncludedPrices:
    """The like-for-like owned GPU-hour adds the generic host to a baseboard or GPU-only price;
    a price that already includes the host (server or rack) gets none."""

    def test_rack_default_price_gets_no_second_host(self):
        q = E.owned_gpu_hour_quote("GB200", n=N)
        assert q["capex_basis"].startswith("default purchase price")
        assert E.parameters("GB200")["host_usd_per_gpu"].value == 0.0   # its rack price includes the host
        assert E.parameters("GB200")["nic_usd"].value == 0.0            # and the compute trays' CX7 NICs
        # the same price with the host and NIC held at 0 (counter-based draws: every other input drawn alike)
        no_host = E.owned_gpu_hour_quote("GB200", price=q["purchase_price_usd_per_gpu"], n=N,
                                         fixed={"host_usd_per_gpu": 0.0, "nic_usd": 0.0})
        # before: 3.39 against 3.11 USD/GPU-h at the default draws, the host counted twice
        assert q["usd_per_gpu_hour"] == pytest.approx(no_host["usd_per_gpu_hour"], rel=1e-12)

    def test_server_listing_gets_no_host(self):
        q = E.owned_gpu_hour_quote("H100", basis="server", n=N)
        assert q["capex_basis"] == "server"
        no_host = E.owned_gpu_hour_quote("H100", price=q["purchase_price_usd_per_gpu"], n=N,
                                         fixed={"host_usd_per_gpu": 0.0})
        assert q["usd_per_gpu_hour"] == pytest.approx(no_host["usd_per_gpu_hour"], rel=1e-12)

    def test_baseboard_and_asp_prices_keep_the_generic_host(self):
        for acc in ("MI300X", "MI355X"):     # a baseboard listing; an analyst ASP (the GPU alone)
            q = E.owned_gpu_hour_quote(acc, n=N)
            no_host = E.owned_gpu_hour_quote(acc, price=q["purchase_price_usd_per_gpu"], n=N,
                                             fixed={"host_usd_per_gpu": 0.0})
            assert q["usd_per_gpu_hour"] > no_host["usd_per_gpu_hour"] * 1.02

    def test_compare_owned_prices_the_rack_the_same_way(self):
        t = E.compare_owned({"GB200": 1000.0, "MI300X": 1000.0}, n=N)
        gb = t.filter(pl.col("accelerator") == "GB200").row(0, named=True)
        assert gb["owned_p50"] == pytest.approx(E.owned_gpu_hour_quote("GB200", n=N)["usd_per_gpu_hour"], rel=1e-12)


def test_parameters_csv_holds_model_inputs_only():
    """On-demand rents have one owner, data/cloud_prices.csv (il.economics.cloud_price): the
    parameters.csv rows rental_usd_per_gpu_hour, which no model read, retyped a few of its
    prices and disagreed with the lookup (MI300X 2.59 against a median of 3.22 USD/GPU-h)."""
    read = {*E.OWNED_PARAMS, *E.OPERATOR_PARAMS, "tco_horizon_years", "mfu", "amd_asp_usd_per_gpu",
            "dpus_per_node", "dpu_usd"}
    names = set(E.parameter_table()["name"].to_list())
    assert names <= read, sorted(names - read)


def test_run_cost_refuses_an_owned_cost_of_another_accelerator():
    """An H100 OwnedCost priced an MI300X estimate's GPU-hours without a word (accelerator='H100'
    with 'owned' was refused, the OwnedCost object was not)."""
    est = il.estimate(il.load_scenario("zaya1-ibm-mi300x"))
    with pytest.raises(ValidationError, match=r"owned cost of H100-SXM for a run on MI300X"):
        E.run_cost(est, tokens=1e12, price_usd_per_gpu_hour=E.owned_cost_per_gpu_hour("H100"))
    with pytest.raises(ValidationError, match=r"owned cost of H100-SXM for a run on MI300X"):
        E.run_cost(gpu_hours=1e5, accelerator="MI300X", price_usd_per_gpu_hour=E.owned_cost_per_gpu_hour("H100"))
    own = E.owned_cost_per_gpu_hour("mi300x")        # the run's own part, any spelling: accepted
    r = E.run_cost(est, tokens=1e12, price_usd_per_gpu_hour=own)
    assert r.total_usd == pytest.approx(r.gpu_hours * own.total_usd_per_gpu_hour)
    # no accelerator named anywhere: the owned cost is the price, as before
    assert E.run_cost(gpu_hours=10.0, price_usd_per_gpu_hour=E.owned_cost_per_gpu_hour("H100")).total_usd == \
        pytest.approx(10.0 * E.owned_cost_per_gpu_hour("H100").total_usd_per_gpu_hour)


def test_rent_vs_own_curve_refuses_a_utilization_override():
    """rent_vs_own refuses utilization= (the answer, not an input); the curve dropped it silently."""
    with pytest.raises(ValidationError, match=r"utilization = 0.5 is the curve's x axis"):
        E.rent_vs_own_curve({"rent": 2.0}, utilization=0.5)
    assert E.rent_vs_own_curve({"rent": 2.0}, utilizations=[0.5]).height == 2


def test_deal_year_one_revenue_says_it_includes_the_market_months():
    """With Zyphra's contract shorter than a year, IBM's year-1 revenue includes months at the
    market rent; the line said 'contract price x billed hours'."""
    d = E.deal_pnl(1e5, n=200, seed=1, overrides={"zyphra_contract_months": 6.0})
    t = {r["line"]: r for r in d.table.filter(pl.col("party") == "IBM").iter_rows(named=True)}
    y1, contract = t["revenue in year 1"], t["revenue from the Zyphra contract"]
    assert y1["p50"] > contract["p50"] * 1.05       # the market months are in it
    assert "market rent" in y1["how"] and "setup" in y1["how"]


@pytest.mark.parametrize("folder", ["economics", "serving", "reliability", "cloud_prices.csv",
                                    "device_measurements.csv"])
def test_every_price_and_input_row_has_a_source_and_a_note(folder):
    """docs/CONTRIBUTING.md: a source_url and a note on every row. Four rows of
    data/cloud_prices.csv (Azure's H100 1-year, 3-year and spot rows, CoreWeave's H100 spot row)
    had no note, nor did data/device_measurements.csv's MI300X FP16 GEMM row."""
    from pathlib import Path

    root = Path(il.catalog.DATA_DIR)
    files = [root / folder] if folder.endswith(".csv") else sorted((root / folder).glob("*.csv"))
    assert files
    for f in files:
        t = pl.read_csv(f, infer_schema_length=None)
        for col in ("source_url", "note"):
            assert col in t.columns, f"{f.name}: no {col} column"
            blank = t.with_row_index("row", offset=2).filter(
                pl.col(col).is_null() | (pl.col(col).cast(pl.String).str.strip_chars() == ""))
            assert blank.height == 0, f"{f.name}: no {col} on line(s) {blank['row'].to_list()}"


class TestNotebook05:
    """Notebook 05's prose and labels, checked in its generator (the notebook tests execute it)."""

    ROOT = il.catalog.DATA_DIR.parent
    NB05 = (ROOT / "tools" / "notebooks" / "05_economics.py").read_text()
    NB06 = (ROOT / "tools" / "notebooks" / "06_reliability.py").read_text()

    def test_goodput_uses_the_reading_notebook06_finds_right_for_the_job(self):
        """Notebook 05 took the final run's goodput from Llama 3's per-device reading (98.5 %)
        while notebook 06 concludes that the job-level fleet reading (94.9 %) is the right one for
        a 1,024-GPU job and Llama 3 its optimistic bound; 05 now uses the fleet reading and prints
        the bound beside it."""
        assert "The fleet reading is the more appropriate one for a" in self.NB06
        assert "Llama 3 stays as the optimistic bound" in self.NB06
        assert 'CAL, CAL_BOUND = "fleet", "llama3"' in self.NB05
        assert "goodput_bound" in self.NB05
        sc = il.load_scenario("zaya1-ibm-mi300x")
        g = {c: il.reliability.plan_run(sc, 100.0, calibration=c).goodput for c in ("fleet", "llama3")}
        assert g["fleet"] < g["llama3"]      # the bound is the optimistic side

    def test_contract_labels_name_the_listings_from_the_data(self):
        """Section 3 typed the providers beside the contract range ('DigitalOcean 12-month',
        'Azure 3-year', 'Azure 1-year') and section 5 'OCI on demand' beside the first row of a
        same-provider table; both now come from data/cloud_prices.csv."""
        for typed in ("DigitalOcean 12-month", "(Azure 3-year)", "OCI on demand", "OCI's on-demand"):
            assert typed not in self.NB05
        assert 'listing(CP.low)' in self.NB05 and "b200_pairs" in self.NB05
        # every end and the mode of the contract range is a committed MI300X listing of the price table
        rows = E.rental_prices("MI300X").filter(pl.col("term") != "on-demand")
        cp = E.parameters("MI300X")["contract_usd_per_gpu_hour"]
        for x in (cp.low, cp.value, cp.high):
            assert rows.filter(pl.col("price_usd_per_gpu_hour") == x).height >= 1, x


def test_reliability_prices_take_owned_and_rented_as_economics_and_serving_do():
    """economics.run_cost, il.serve and the CLI read 'owned' / 'rented' through
    serving.price_for; the reliability studies' price_usd_per_gpu_hour refused them
    ('expected a positive number')."""
    R = il.reliability
    sc = il.load_scenario("zaya1-ibm-mi300x")
    for basis in ("owned", "rented"):
        by_name = R.save_speedup_value(sc, 100.0, price_usd_per_gpu_hour=basis)
        by_number = R.save_speedup_value(sc, 100.0, price_usd_per_gpu_hour=il.serving.price_for("MI300X", basis))
        assert by_name["usd_saved"].to_list() == by_number["usd_saved"].to_list()
        assert by_name["usd_saved"][1] > 0
    t = R.save_value_table(sc, 100.0, fixed_overheads_s=[10.0], price_usd_per_gpu_hour="owned", calibrations=["fleet"])
    assert t["usd_saved"][0] > 0
    with pytest.raises(il.errors.UnknownNameError, match="owned"):
        R.save_speedup_value(sc, 100.0, price_usd_per_gpu_hour="own")
    with pytest.raises(ValidationError):
        R.save_speedup_value(sc, 100.0, price_usd_per_gpu_hour=0.0)


def test_notebook06_prints_what_the_failures_cost():
    """Notebook 06 answered how reliable the 1,024-GPU run is but never what its failures cost;
    it now prices the GPU-hours the failures add (wall clock - failure-free work) x GPUs."""
    nb06 = (il.catalog.DATA_DIR.parent / "tools" / "notebooks" / "06_reliability.py").read_text()
    assert "What the failures cost" in nb06
    assert 'lost = {c: (h[c]["wall_days"] * 24 - WORK_H) * h[c]["gpus"]' in nb06
    R = il.reliability
    sc = il.load_scenario("zaya1-ibm-mi300x")
    work_h = 100.0
    h = R.compare_calibrations(sc, work_h).rows_by_key("calibration", named=True, unique=True)
    lost = {c: (h[c]["wall_days"] * 24 - work_h) * h[c]["gpus"] for c in ("llama3", "fleet")}
    assert 0 < lost["llama3"] < lost["fleet"]
    # the same GPU-hours as the goodput says: wall = work / goodput
    for c in lost:
        assert lost[c] == pytest.approx(work_h * h[c]["gpus"] * (1 / h[c]["goodput"] - 1), rel=1e-6)


def test_notebook06_prices_faster_checkpoints_on_the_failure_costs_two_bases():
    """Notebook 06 valued a failure at the owned price and at the rent, but faster checkpoints
    (sections 6 and 7) at the rent alone: the same GPU-hours on two bases. Every dollar figure of
    the notebook now prices GPU-hours at both, and save_value_table gives the GPU-hours
    (gpu_hours_saved = wall-clock hours x GPUs; usd_saved = gpu_hours_saved x its price)."""
    nb06 = (il.catalog.DATA_DIR.parent / "tools" / "notebooks" / "06_reliability.py").read_text()
    assert '(pl.col("gpu_hours_saved") * OWNED).alias("usd_saved_owned")' in nb06
    assert '(pl.col("gpu_hours_saved") * OWNED).alias("usd_owned")' in nb06
    assert '(pl.col("gpu_hours_saved") * RENT).alias("usd_rented")' in nb06
    assert "* price)" not in nb06 and "dollars at the median on-demand MI300X price" not in nb06
    R = il.reliability
    sc = il.load_scenario("zaya1-ibm-mi300x")
    t = R.save_value_table(sc, 100.0, fixed_overheads_s=[10.0, 300.0], price_usd_per_gpu_hour=2.0, calibrations=["fleet"])
    assert (t["gpu_hours_saved"] > 0).all()
    assert np.allclose(t["gpu_hours_saved"], t["hours_saved"] * sc.hardware.world_size)
    assert np.allclose(t["usd_saved"], t["gpu_hours_saved"] * 2.0)


def test_class_comparison_reads_its_default_interactivity_from_the_agent_mix(monkeypatch):
    """class_comparison's default interactivity was a typed 30.0 beside data/serving/maia_agent.csv's
    interactivity_target (the figure notebook 07 passes); it is now read from the mix."""
    from infra_lab.serving import agent

    mix = agent.maia_mix()
    base = il.serving.class_comparison(["zaya1-base"], ["MI300X"])
    explicit = il.serving.class_comparison(["zaya1-base"], ["MI300X"], tokens_per_s_per_user=mix["interactivity_target"])
    assert base.equals(explicit)
    monkeypatch.setattr(agent, "maia_mix", lambda: {**mix, "interactivity_target": 1e4})
    assert not il.serving.class_comparison(["zaya1-base"], ["MI300X"])["reached"][0]   # unreachable: follows the data
