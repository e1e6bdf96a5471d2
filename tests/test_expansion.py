"""The 2026 expansion: data with sources and flags, option scenarios, one evaluation composed
from the owners' public functions, the Pareto front, the explorer widget."""

from __future__ import annotations

import math

import polars as pl
import pytest

import infra_lab as il
from infra_lab.errors import UnknownNameError, ValidationError

X = il.expansion


@pytest.fixture(scope="module")
def tiny():
    """A two-point sweep (MI300X, 1,024 GPUs, both NICs) joined with the options."""
    g = X.sweep_grid(sizes=[1024], platforms_=["MI300X node"], models_=["ZAYA1-class"])
    df = il.sweep(X.evaluate, g, progress=False)
    return df.join(X.options(), on=["platform", "nic"], how="left")


# --------------------------------------------------------------------------- data
def test_every_row_has_a_source():
    for t in (X.platforms(), X.nics(), X.models(), X.parameters()):
        assert t["source_url"].str.starts_with("https://").all()


def test_announced_parts_are_flagged():
    p = dict(X.platforms().select("accelerator", "announced_not_shipped").iter_rows())
    assert p == {"MI300X": False, "MI325X": False, "MI355X": False, "MI450X": True}
    n = dict(X.nics().select("nic", "announced_not_shipped").iter_rows())
    assert n == {"Pollara-400": False, "Vulcano-800": True}
    acc = il.catalog.accelerators().filter(pl.col("name") == "MI450X")
    assert acc.height == 1 and "ANNOUNCED" in acc["note"][0]
    # every assumed value says so
    for t, col in ((X.platforms(), "capex_basis"), (X.platforms(), "tdp_basis"), (X.nics(), "nic_basis")):
        filled = t.filter(pl.col(col).is_not_null())
        assert (filled[col] == "assumption").all()


def test_options_cross_and_flag():
    o = X.options()
    assert o.height == X.platforms().height * X.nics().height
    row = o.filter(pl.col("option") == "MI300X node + Vulcano-800").row(0, named=True)
    assert row["announced_not_shipped"] is True           # the NIC is announced
    assert o.filter(pl.col("option") == "MI355X node + Pollara-400")["announced_not_shipped"][0] is False


def test_sizes_span_1024_to_16384():
    assert X.cluster_sizes()[0] == 1024 and X.cluster_sizes()[-1] == 16384


# --------------------------------------------------------------------------- scenarios
def test_hardware_rounds_to_whole_racks_and_nodes():
    h = X.option_hardware("MI450X Helios rack", "Vulcano-800", 1024)
    assert h["nodes"] * h["gpus_per_node"] == 1080 and h["scaleup_domain"] == 72   # 15 racks
    h = X.option_hardware("MI300X node", "Pollara-400", 1024)
    assert h["nodes"] == 128 and h["nics_per_node"] == 8


def test_training_scenario_is_valid_and_batch_grows_past_2048():
    for gpus, gb in ((1024, 2048), (4096, 4096)):
        d = X.training_scenario("MI355X node", "Pollara-400", gpus, "ZAYA1-class")
        sc = il.Scenario.from_dict(d)
        assert sc.training.global_batch == gb
    big = il.Scenario.from_dict(X.training_scenario("MI300X node", "Pollara-400", 1024, "10x MoE"))
    small = il.Scenario.from_dict(X.training_scenario("MI300X node", "Pollara-400", 1024, "ZAYA1-class"))
    ratio = big.model_spec.params_total / small.model_spec.params_total
    assert 9.0 < ratio < 11.0        # "10x larger" by total parameters


def test_vulcano_doubles_ports_and_prices_800g_optics():
    """An option's network is its own fabric's (economics.fabric_network_counts of option_hardware):
    an 800G NIC's switch port is two 400G-priced ports and its transceivers 800G modules
    (economics.optics_price_ratio, 1.79 400G modules each: the optics were doubled before, 2)."""
    base = il.economics.defaults("MI300X")
    ov = X.cost_overrides("MI300X node", "Vulcano-800")
    assert ov["switch_ports_per_gpu"] == 2 * base["switch_ports_per_gpu"]
    assert ov["optics_per_gpu"] == pytest.approx(il.economics.optics_price_ratio(800e9) * base["optics_per_gpu"])
    assert ov["nic_usd"] == X.nics().filter(pl.col("nic") == "Vulcano-800")["nic_usd"][0]
    assert X.cost_overrides("MI300X node", "Pollara-400") == {}
    mi450 = X.cost_overrides("MI450X Helios rack", "Pollara-400")
    assert {"capex_usd_per_gpu", "tdp_W"} <= set(mi450)


def test_nic_table_has_no_port_count_of_its_own():
    """data/expansion/nics.csv carried ports_400g_equivalent (1 and 2), read by no code: the cost
    model counts an option's switch ports at the NIC's line rate from the catalog
    (economics.fabric_network_counts), so the column was a second, unread copy of data/nics.csv's
    line_rate_Gbps / 400. The option's ports per GPU follow the catalog's line rate alone."""
    assert not any("port" in c for c in X.nics().columns)
    rate = {n: il.catalog.nic(n).line_rate_bps for n in X.nics()["nic"]}
    hw = {n: X.option_hardware("MI300X node", n, 1024) for n in rate}
    ports = {n: il.economics.fabric_network_counts(h)["switch_ports_per_gpu"] for n, h in hw.items()}
    assert ports["Vulcano-800"] / ports["Pollara-400"] == rate["Vulcano-800"] / rate["Pollara-400"] == 2.0


def test_option_network_is_its_own_fabric_at_its_size():
    """cost_overrides / owned_quote priced every option on the reference fabric's counts (3 ports,
    4 transceivers per GPU, doubled for an 800G NIC) whatever its nodes or size. A Helios rack's
    rails (4 NICs per tray, 72-GPU domains) and a three-tier fabric at 8,192 GPUs count more."""
    E = il.economics
    for platform, nic, gpus in (("MI450X Helios rack", "Pollara-400", 1024), ("MI450X Helios rack", "Pollara-400", 8192),
                                ("MI300X node", "Vulcano-800", 4096), ("MI355X node", "Pollara-400", 2048)):
        c = E.fabric_network_counts(X.option_hardware(platform, nic, gpus))
        ov = X.cost_overrides(platform, nic, gpus)
        base = E.defaults(X.platforms().filter(pl.col("platform") == platform)["accelerator"][0])
        for k in ("nics_per_gpu", "switch_ports_per_gpu", "optics_per_gpu"):
            assert ov.get(k, base[k]) == pytest.approx(c[k]), (platform, nic, gpus, k)
    big = X.cost_overrides("MI450X Helios rack", "Pollara-400", 8192)
    assert big["switch_ports_per_gpu"] > 5.0 and big["optics_per_gpu"] > 6.0      # three tiers: was 3 and 4
    assert X.cost_overrides("MI450X Helios rack", "Pollara-400")["switch_ports_per_gpu"] > 3.0   # 1,024 by default
    q8 = X.owned_quote("MI450X Helios rack", "Pollara-400", 8192)
    assert q8["usd_per_gpu_hour"] > X.owned_quote("MI450X Helios rack", "Pollara-400")["usd_per_gpu_hour"]



@pytest.mark.parametrize("platform, nic, gpus", [("MI300X node", "Pollara-400", 8),
                                                 ("MI450X Helios rack", "Vulcano-800", 72)])
def test_one_node_or_one_rack_has_no_back_end_network_to_price(platform, nic, gpus):
    """One node (or one Helios rack) is one scale-up domain: fabric_network_counts gives 0 switch
    ports and 0 optics per GPU. owned_quote passed that 0 as a factor on the drawn range and
    owned_gpu_hour_quote refused it, so evaluate() on 8 MI300X failed with
    "scale['switch_ports_per_gpu'] = 0.0", a value the user never typed. The count is held at 0."""
    E = il.economics
    c = E.fabric_network_counts(X.option_hardware(platform, nic, gpus))
    assert c["switch_ports_per_gpu"] == 0.0 and c["optics_per_gpu"] == 0.0
    q = X.owned_quote(platform, nic, gpus)
    # the same draws with the reference fabric's network: the one-domain cluster costs less
    assert 0 < q["usd_per_gpu_hour"] < X.owned_quote(platform, nic)["usd_per_gpu_hour"]
    row = X.evaluate(platform, nic, gpus, "ZAYA1-class")
    assert row["gpus"] == gpus and row["run_cost_usd"] > 0 and math.isfinite(row["owned_usd_per_gpu_hour"])
    assert row["owned_usd_per_gpu_hour"] == pytest.approx(q["usd_per_gpu_hour"])

def test_bad_names_and_sizes():
    with pytest.raises(UnknownNameError, match="MI300X node"):
        X.option_hardware("MI300 node", "Pollara-400", 1024)
    with pytest.raises(UnknownNameError, match="Pollara-400"):
        X.option_hardware("MI300X node", "Polara", 1024)
    for bad in (True, "1024", 0, 2.5):
        with pytest.raises(ValidationError, match="gpus"):
            X.option_hardware("MI300X node", "Pollara-400", bad)
    with pytest.raises(UnknownNameError):
        X.training_scenario("MI300X node", "Pollara-400", 1024, "GPT-5")


def test_mi300x_node_has_the_zaya1_nodes_host_and_the_others_their_default():
    """The MI300X node is "more of what ZAYA1 was trained on": it was built with the platform's
    default host (AMD EPYC, 2 us of RCCL network overhead per message) where ZAYA1's nodes have
    Intel Xeon 8570 (1 us), so 'today's design' took 6.9 days where the ZAYA1 scenario takes 6.6.
    The row now names ZAYA1's host with the scenario's source; rows naming none keep the default."""
    zaya = il.load_scenario("zaya1-ibm-mi300x").hardware.host_cpu
    row = X.platforms().filter(pl.col("platform") == "MI300X node").row(0, named=True)
    assert row["host_cpu"] == zaya == "Xeon-Platinum-8570" and "https://arxiv.org/abs/2511.17127" in row["source_url"]
    for p in X.platforms().iter_rows(named=True):
        for d in (X.training_scenario(p["platform"], "Pollara-400", 1024, "ZAYA1-class"),
                  X.serving_scenario(p["platform"], "ZAYA1-class")):
            host = il.Scenario.from_dict(d).hardware.host_cpu
            want = p["host_cpu"] or il.fabric.platform(p["accelerator"])["default_host_cpu"]
            assert host == want, p["platform"]
        if p["host_cpu"] is None:
            assert "no source says what host" in p["note"]
    assert X.option_hardware("MI355X node", "Pollara-400", 1024).get("host_cpu") is None


def test_a_host_cpu_not_in_the_catalog_is_a_data_error_naming_the_row():
    from infra_lab.errors import DataError

    t = X.platforms().with_columns(host_cpu=pl.when(pl.col("platform") == "MI325X node")
                                   .then(pl.lit("Xeon 8580")).otherwise(pl.col("host_cpu")))
    with pytest.raises(DataError, match=r"platforms.csv, platform 'MI325X node', column 'host_cpu'.*Xeon-Platinum-8570"):
        X._checked_host_cpus(t)
    # an alias is written in the catalog's spelling; empty stays empty
    t = X.platforms().with_columns(host_cpu=pl.when(pl.col("platform") == "MI325X node")
                                   .then(pl.lit("intel xeon platinum 8570")).otherwise(pl.col("host_cpu")))
    assert X._checked_host_cpus(t)["host_cpu"].to_list() == ["Xeon-Platinum-8570", "Xeon-Platinum-8570", None, None]


# --------------------------------------------------------------------------- evaluation
def test_todays_design_is_the_zaya1_scenarios_run(tiny):
    """With ZAYA1's hosts the sweep's MI300X + Pollara point at 1,024 GPUs is the shipped ZAYA1
    scenario's run (notebooks 04-06): Zyphra's plan (ep 1, micro-batch 2) and the same wall clock."""
    r = tiny.filter(pl.col("nic") == "Pollara-400").row(0, named=True)
    z = il.load_scenario("zaya1-ibm-mi300x")
    hours = il.reliability.run_hours(z, X.models().filter(pl.col("model") == "ZAYA1-class")["tokens"][0])
    assert (r["tp"], r["pp"], r["ep"], r["dp"], r["micro_batch"]) == (
        z.parallelism.tp, z.parallelism.pp, z.parallelism.ep, z.parallelism.dp, z.training.micro_batch)
    assert r["run_days"] == pytest.approx(hours / 24, rel=1e-9)
    assert r["wall_days"] == pytest.approx(il.reliability.plan_run(z, hours, calibration=X.CALIBRATION).expected_wall_s
                                           / 86400, rel=1e-9)
    # the failure reading notebook 05 prices ZAYA1's run with (notebook 06's reading for a job of this size),
    # not plan_run's default (Llama 3's per-device reading, the optimistic bound)
    assert X.CALIBRATION == "fleet" and 'CAL, CAL_BOUND = "fleet", "llama3"' in (
        il.catalog.DATA_DIR.parent / "tools" / "notebooks" / "05_economics.py").read_text()
    assert r["goodput"] == pytest.approx(il.reliability.plan_run(z, hours, calibration="fleet").goodput, rel=1e-12)
    assert r["goodput"] < il.reliability.plan_run(z, hours).goodput
    # the optimistic bound beside it, so notebook 08 prints the failure cost's spread
    assert X.BOUND_CALIBRATION == "llama3"
    assert r["goodput_bound"] == pytest.approx(il.reliability.plan_run(z, hours, calibration="llama3").goodput, rel=1e-12)
    nb08 = (il.catalog.DATA_DIR.parent / "tools" / "notebooks" / "08_expansion_2026.py").read_text()
    assert "**The failure reading.**" in nb08 and "b1['goodput_bound']" in nb08


def test_evaluation_composes_the_owners(tiny):
    r = tiny.filter(pl.col("nic") == "Pollara-400").row(0, named=True)
    assert r["error"] is None and r["gpus"] == 1024
    # by construction: each number is the owner's answer for the same scenario
    d = X.training_scenario("MI300X node", "Pollara-400", 1024, "ZAYA1-class")
    d["parallelism"] = {"tp": r["tp"], "pp": r["pp"], "vp": 1, "cp": 1, "ep": r["ep"], "zero": 1,
                        "sequence_parallel": False, "fsdp": False}
    best = il.search(d, top=1, max_micro_batch=4, max_vp=2, max_cp=1).row(0, named=True)
    assert best["tokens_per_s"] == pytest.approx(r["tokens_per_s"])
    # the owned $/GPU-h is the package's one owned price on the options' channel (analysts'
    # selling prices), exactly; notebook 05's listing-basis figure is dearer
    owned = il.economics.owned_gpu_hour_price("MI300X", basis=X.OPTION_PRICE_BASIS)
    nb05 = il.economics.compare_owned({"MI300X": 1000.0}, n=il.economics.LIKE_FOR_LIKE_DRAWS,
                                      seed=il.economics.LIKE_FOR_LIKE_SEED)["owned_p50"][0]
    assert r["owned_usd_per_gpu_hour"] == owned < nb05 == il.economics.owned_gpu_hour_price("MI300X")
    # capex: IBM's cluster with every input at the economics defaults
    ibm = il.economics.owned_cost_per_gpu_hour("MI300X")
    assert r["capex_usd"] == pytest.approx(ibm.capex_usd_per_gpu * 1024)
    pw = il.economics.cluster_power(1024, "MI300X")
    assert r["facility_MW"] == pytest.approx(pw["facility_average_W"] / 1e6)
    gpu_h = 1024 * r["run_days"] * 24 / r["goodput"]
    assert r["run_cost_usd"] == pytest.approx(gpu_h * owned)
    assert r["usd_per_m_trained_tokens"] == pytest.approx(gpu_h * owned / 14e12 * 1e6)
    # physical sense
    assert 0.5 < r["goodput"] < 1.0 and r["wall_days"] > r["run_days"] > 0
    assert r["tco_usd"] > r["capex_usd"] > 0 and 0 < r["mfu"] < 1
    assert r["run_days"] == pytest.approx(14e12 / r["tokens_per_s"] / 86400, rel=1e-6)
    # serving: the serving owner's answer for the node, priced at the owned cost
    lim = X.parameters().filter(pl.col("name") == "serving_max_tpot_s")["value"][0]
    sv = il.serve_search(X.serving_scenario("MI300X node", "ZAYA1-class"),
                         "usd_per_million_output_tokens", top=1, max_tpot_s=lim,
                         price_usd_per_gpu_hour=owned).row(0, named=True)
    assert sv["tpot_s"] <= lim
    assert r["served_tokens_per_s_per_gpu"] == pytest.approx(sv["output_tokens_per_s_per_gpu"])
    assert r["served_tokens_per_s_cluster"] == pytest.approx(sv["output_tokens_per_s_per_gpu"] * 1024)
    assert r["usd_per_m_served_tokens"] == pytest.approx(
        il.serving.token_costs(sv, owned)["usd_per_million_output_tokens_all_in"])
    assert r["rented_usd_per_m_served_tokens"] > r["usd_per_m_served_tokens"]  # contract > owned


def test_evaluation_prices_the_plan_the_search_chose():
    """The search's best 10x-MoE plan on 1,024 MI300X has expert tensor parallelism (etp 8);
    evaluate rebuilt the plan without etp, so its run length, cost and goodput were another
    plan's (3x the days at 8,192 GPUs) under the search's name and tokens/s, and at 1e6 GPUs
    a plan with no path on the fabric. Every output now describes the same plan."""
    m = X.models().filter(pl.col("model") == "10x MoE").row(0, named=True)
    d = X.training_scenario("MI300X node", "Pollara-400", 1024, "10x MoE")
    best = il.search(d, top=1, max_micro_batch=4, max_vp=2, max_cp=1).row(0, named=True)
    assert best["etp"] > 1                     # the case: a plan with expert tensor parallelism
    r = X.evaluate("MI300X node", "Pollara-400", 1024, "10x MoE")
    assert r["tokens_per_s"] == best["tokens_per_s"] and f"etp {best['etp']}" in r["plan"]
    assert r["run_days"] == pytest.approx(m["tokens"] / best["tokens_per_s"] / 86400, rel=1e-9)


def test_sizes_may_be_numpy_integers():
    """A size taken from a numpy array was refused as 'gpus = 1024: expected an integer number of
    GPUs'; floats and bools still are."""
    import numpy as np

    d = X.training_scenario("MI300X node", "Pollara-400", np.int64(1024), "ZAYA1-class")
    assert d == X.training_scenario("MI300X node", "Pollara-400", 1024, "ZAYA1-class")
    assert type(d["hardware"]["nodes"]) is int
    for bad in (1024.0, True, np.float64(1024)):
        with pytest.raises(ValidationError, match="expected an integer number of GPUs"):
            X.option_hardware("MI300X node", "Pollara-400", bad)


def test_vulcano_costs_more_per_gpu_than_pollara(tiny):
    by = {r["nic"]: r for r in tiny.iter_rows(named=True)}
    assert by["Vulcano-800"]["capex_usd"] > by["Pollara-400"]["capex_usd"]
    assert by["Vulcano-800"]["owned_usd_per_gpu_hour"] == X.owned_quote("MI300X node", "Vulcano-800")["usd_per_gpu_hour"]
    assert by["Vulcano-800"]["owned_usd_per_gpu_hour"] > by["Pollara-400"]["owned_usd_per_gpu_hour"]
    assert by["Vulcano-800"]["tokens_per_s"] >= by["Pollara-400"]["tokens_per_s"] * 0.999


@pytest.mark.parametrize("platform", ["MI300X node", "MI325X node", "MI355X node", "MI450X Helios rack"])
def test_owned_quote_takes_the_stated_price_and_tdp(platform):
    """Every platform is priced by the one owner; a platform row's purchase price and TDP
    (assumptions for parts with none public) are its price= and tdp_W=, else the listing or
    the economics default and the catalog's TDP."""
    p = X.platforms().filter(pl.col("platform") == platform).row(0, named=True)
    q = X.owned_quote(platform, "Pollara-400")
    counts = il.economics.fabric_network_counts(X.option_hardware(platform, "Pollara-400", 1024))   # its own fabric
    base = il.economics.defaults(p["accelerator"])
    scale = {k: c / base[k] for k, c in counts.items() if c != pytest.approx(base[k], rel=1e-12)}
    assert (scale == {}) == (platform != "MI450X Helios rack")        # a node of 8 is the reference fabric's
    assert q == il.economics.owned_gpu_hour_quote(p["accelerator"], price=p["capex_usd_per_gpu"], basis="asp",
                                                  tdp_W=p["tdp_W"], scale=scale)
    if p["capex_usd_per_gpu"] is not None:
        assert q["capex_basis"] == "given" and q["purchase_price_usd_per_gpu"] == p["capex_usd_per_gpu"]
    assert q["tdp_W"] == (p["tdp_W"] or il.catalog.accelerator(p["accelerator"]).tdp_W)
    assert q["p5"] < q["usd_per_gpu_hour"] < q["p95"]


def test_pareto_front():
    df = pl.DataFrame({"t": [1.0, 2.0, 3.0, 2.5, 4.0], "c": [5.0, 3.0, 1.0, 4.0, 0.5]})
    f = X.pareto_front(df, "t", "c")
    assert f["t"].to_list() == [1.0, 2.0, 3.0, 4.0]       # (2.5, 4.0) is dominated by (2.0, 3.0)
    with pytest.raises(UnknownNameError):
        X.pareto_front(df, "t", "cost")


@pytest.mark.parametrize("col", ["t", "c"])
def test_pareto_front_leaves_out_nan_as_it_leaves_out_null(col):
    """A row with NaN time and the lowest cost was on the front (polars sorts NaN last, and its
    cost beat every other): pareto_front dropped nulls but kept NaN."""
    df = pl.DataFrame({"t": [1.0, 2.0, 3.0], "c": [5.0, 3.0, 1.0]})
    bad = df.vstack(pl.DataFrame({"t": [float("nan") if col == "t" else 0.5],
                                  "c": [float("nan") if col == "c" else 0.1]}))
    assert X.pareto_front(bad, "t", "c").equals(X.pareto_front(df, "t", "c"))
    ints = pl.DataFrame({"t": [1, 2], "c": [2, 1]})            # integer columns still work
    assert X.pareto_front(ints, "t", "c").height == 2


# --------------------------------------------------------------------------- widget, chart
def test_explorer_reads_the_precomputed_frame(tiny):
    w = il.widgets.expansion_explorer(tiny)
    w.controls["nic"].value = "Vulcano-800"
    row = w.update()
    assert row["nic"] == "Vulcano-800" and row["capex_usd"] == tiny.filter(
        pl.col("nic") == "Vulcano-800")["capex_usd"][0]
    _, table, chart = il.widgets.expansion_update(tiny, "MI300X node", "Pollara-400", 1024, "ZAYA1-class")
    assert "goodput" in table and "announced" in table
    spec = chart.to_dict()
    cols = set()
    for ds in spec["datasets"].values():
        for rec in ds:
            cols |= set(rec)
    assert cols <= {"wall_days", "run_cost_usd", "platform", "nic", "gpus", "model", "status"}
    with pytest.raises(ValidationError, match="no sweep point"):
        il.widgets.expansion_update(tiny, "MI300X node", "Pollara-400", 2048, "ZAYA1-class")


def test_explorer_says_when_the_sweep_lacks_a_combination(tiny):
    """The dropdowns list each column's values over the whole frame; a sweep that is not a full
    grid (notebook 08's: 1,024 GPUs for one model, 8,192 for the other) leaves combinations
    without a point. Choosing one shows a message and keeps the last chart, no traceback."""
    first = tiny.row(0, named=True)
    extra = tiny.head(1).with_columns(pl.lit(2048).cast(tiny.schema["target_gpus"]).alias("target_gpus"))
    frame = pl.concat([tiny, extra])
    w = il.widgets.expansion_explorer(frame)
    w.controls["target_gpus"].value = 2048             # has a point (first's NIC)
    shown = w.chart.chart
    other = next(n for n in frame["nic"].unique().to_list() if n != first["nic"])
    w.controls["nic"].value = other                    # no point at 2,048 GPUs with this NIC
    assert w.update() is None and w.chart.chart is shown
    table = w.children[0].children[1].value
    assert "not in the sweep" in table and "2,048 GPUs" in table and "it has 1,024 GPUs" in table


def test_payback_never_is_inf_not_nan(tiny):
    for r in tiny.iter_rows(named=True):
        assert not (isinstance(r["ibm_payback_years"], float) and math.isnan(r["ibm_payback_years"]))


def test_a_positive_irr_beside_payback_never_is_explained_where_both_are_shown():
    """Notebook 08 printed MI355X's decay path as IRR +1.2 % and payback inf, and defined payback
    as 'years until the cumulative cash turns positive' with inf 'not repaid within the horizon':
    a contradiction, since a positive IRR means the cash, the sale included, does repay it. The
    payback is of operating cash only (provider_view); where the two are shown, it says so."""
    from notebook_source import generator_cells

    paths = il.expansion.operator_paths("MI355X node", "Pollara-400")
    decay = paths.filter(pl.col("path") == "decay").row(0, named=True)
    assert decay["irr"] > 0 and decay["payback_years"] == math.inf      # the case the wording is for
    label = next(lab for c, lab, _ in il.widgets.expansion.EXPLORER_ROWS if c == "ibm_payback_years")
    assert "operating cash" in label
    row = {c: None for c, _, _ in il.widgets.expansion.EXPLORER_ROWS} | {"ibm_payback_years": math.inf, "error": None}
    never = il.widgets.expansion._table_html(row)
    assert "never from operating cash" in never and "sale" in never
    assert "operating cash" in X.METRICS["ibm_payback_years"]
    cells = generator_cells("08_expansion_2026.py")
    text = " ".join(" ".join(src.split()) for _, src in cells)
    terms = text[text.index("*payback*:"):][:400]
    assert "operating cash" in terms and "sale" in terms
    assert "a payback of `inf` means the operating cash does not repay" in text


def test_headlines_pick_the_right_rows():
    rows = []
    for plat, ann in (("MI300X node", False), ("MI355X node", False), ("MI450X Helios rack", True)):
        for nic, speed in (("Pollara-400", 1.0), ("Vulcano-800", 1.1)):
            base = {"MI300X node": 5.0, "MI355X node": 3.0, "MI450X Helios rack": 1.0}[plat]
            cost = {"MI300X node": 200.0, "MI355X node": 150.0, "MI450X Helios rack": 90.0}[plat]
            rows.append({"platform": plat, "nic": nic, "target_gpus": 1024, "model": "m", "error": None,
                         "announced_not_shipped": ann or nic == "Vulcano-800",
                         "wall_days": base / speed, "run_cost_usd": cost * (1.2 if nic == "Vulcano-800" else 1)})
    df = pl.DataFrame(rows)
    h = X.headlines(df, "m", 1024)
    assert h["base"]["wall_days"] == 5.0
    assert h["fastest"]["platform"] == "MI450X Helios rack" and h["fastest"]["nic"] == "Vulcano-800"
    assert h["cheapest"]["platform"] == "MI450X Helios rack" and h["cheapest"]["nic"] == "Pollara-400"
    assert h["cheapest_shipping"]["platform"] == "MI355X node"
    assert h["nic_speedup"]["MI300X node"] == pytest.approx(1.1)
    with pytest.raises(ValidationError, match="no successful point"):
        X.headlines(df, "m", 2048)
    with pytest.raises(ValidationError, match="lacks"):
        X.headlines(df.drop("announced_not_shipped"), "m", 1024)


@pytest.mark.parametrize("platform", ["MI300X node", "MI325X node", "MI355X node", "MI450X Helios rack"])
def test_every_platform_has_what_the_models_need(platform):
    """Catalog, network, compute and reliability rows exist for each platform (an estimate
    and a run plan of its starting scenario succeed)."""
    d = X.training_scenario(platform, "Vulcano-800", 1024, "ZAYA1-class")
    est = il.estimate(d)
    assert est.tokens_per_s > 0
    p = il.reliability.plan_run(il.Scenario.from_dict(d), 24.0)
    assert 0 < p.goodput < 1


def test_operator_paths_compose_provider_view():
    t = X.operator_paths("MI300X node", "Pollara-400", utilizations=(0.5, 0.9))
    assert t["path"].to_list() == ["decay", "rebound", "flat", "flat"]
    d = il.economics.provider_view(None, None, "MI300X", path="decay")
    row = t.row(0, named=True)
    assert row["npv_usd_per_gpu"] == pytest.approx(d.npv_usd_per_gpu)
    assert row["retirement_year"] == d.retirement_year            # None -> null where it runs to the horizon
    assert t.schema["retirement_year"] == pl.Float64
    flat = t.filter(pl.col("path") == "flat")
    assert flat["npv_usd_per_gpu"][1] > flat["npv_usd_per_gpu"][0]   # more sold hours, more value
    mi450 = X.operator_paths("MI450X Helios rack", "Vulcano-800", utilizations=(0.7,))
    assert mi450["price_usd_per_gpu_hour"][0] == X.platforms().filter(
        pl.col("accelerator") == "MI450X")["contract_usd_per_gpu_hour"][0]
    with pytest.raises(ValidationError, match="utilizations"):
        X.operator_paths("MI300X node", "Pollara-400", utilizations=(1.5,))


def test_deal_takes_each_option_s_accelerator_and_prices():
    """il.expansion.deal: economics.deal_pnl with the option's accelerator, its AMD selling
    price and assumptions from data/expansion (read here from the same table)."""
    X = il.expansion
    p = X.platforms().filter(pl.col("platform") == "MI450X Helios rack").row(0, named=True)
    d = X.deal("MI450X Helios rack", "Vulcano-800", 1152, 1e5, n=300, seed=3)   # 16 racks of 72
    spare = il.reliability.hot_spare_fraction()    # AMD sells the hot spares IBM buys too (at most this share)
    assert 1152 * p["amd_asp_usd_per_gpu"] < d.line("AMD", "GPU revenue").p50 < 1152 * p["amd_asp_usd_per_gpu"] * (1 + spare)
    ov = X.deal_overrides("MI450X Helios rack", "Vulcano-800")
    assert ov["capex_usd_per_gpu"] == (p["capex_low_usd"], p["capex_usd_per_gpu"], p["capex_high_usd"])
    assert ov["tdp_W"] == p["tdp_W"]
    mi300 = X.deal("MI300X node", "Pollara-400", 1024, 1e5, n=300, seed=3)
    assert mi300.table.equals(il.economics.deal_pnl(1e5, n=300, seed=3).table)
    with pytest.raises(ValidationError, match="multiple"):
        X.deal("MI450X Helios rack", "Pollara-400", 1026, 1e5, n=50)


@pytest.mark.parametrize("kw, msg", [
    ({"sizes": []}, r"sizes = \[\]: expected a non-empty list of GPU counts"),
    ({"sizes": [1024.5]}, r"gpus = 1024\.5: expected an integer number of GPUs"),
    ({"platforms_": ["MI300X"]}, r"unknown platform 'MI300X'\. Did you mean 'MI300X node'"),
    ({"nics_": "Pollara-400"}, r"nics_ = 'Pollara-400': expected a non-empty list of nic names"),
    ({"models_": []}, r"models_ = \[\]: expected a non-empty list of model names"),
])
def test_sweep_grid_checks_its_lists(kw, msg):
    """sweep_grid(sizes=[]) swept every size and sweep_grid(platforms_=['MI300X']) a platform
    no table has (each of its points then failed inside the sweep); lists are now checked,
    names with the nearest valid one."""
    with pytest.raises(il.errors.InfraLabError, match=msg):
        X.sweep_grid(**kw)
    import numpy as np

    g = X.sweep_grid(sizes=[np.int64(1024)], platforms_=["mi300x node"], models_=["ZAYA1-class"])
    assert g["platform"] == ["MI300X node"] and g["target_gpus"] == [1024]


def test_sweep_grid_takes_arrays_and_ranges_as_lists():
    """The list check refused a numpy array of sizes (np.geomspace(...).astype(int)), a range and
    an array of names (a frame column's to_numpy), which are lists of valid points; a string, an
    empty array and a 2-D array are still refused."""
    import numpy as np

    g = X.sweep_grid(sizes=np.array([1024, 8192]), platforms_=np.array(["MI300X node"]), models_=("ZAYA1-class",))
    assert g["target_gpus"] == [1024, 8192] and all(type(x) is int for x in g["target_gpus"])
    assert g["platform"] == ["MI300X node"] and g["model"] == ["ZAYA1-class"]
    assert X.sweep_grid(sizes=range(1024, 3072, 1024))["target_gpus"] == [1024, 2048]
    for bad in (np.array([], dtype=int), np.array([[1024]]), "1024"):
        with pytest.raises(ValidationError, match="expected a non-empty list of GPU counts"):
            X.sweep_grid(sizes=bad)


def test_notebook08_states_what_the_helios_price_leaves_out():
    """Notebook 08 printed MI450X Helios's owned price per GPU-hour with its purchase-price basis
    only; an investor could not see that the rack's 72-GPU scale-up switching is in no price (the
    cost model prices scale-out only: one rack's fabric has no priced switch port) nor that the
    host is an 8-GPU server's. It now prints what the figure rests on, read from the data, and the
    section-4 table no longer calls its owned column (a Monte Carlo P50) 'every input at its default'."""
    from pathlib import Path

    nb08 = (Path(__file__).resolve().parent.parent / "tools" / "notebooks" / "08_expansion_2026.py").read_text()
    assert "**Not priced:** the rack's" in nb08 and 'X.owned_quote(h["platform"], n)' in nb08
    assert 'subtitle="every input at its default; IRR pre-tax, unlevered"' not in nb08
    assert 'pl.col("owned_usd_per_gpu_hour").alias("owned P50 [USD/GPU-h]")' in nb08
    assert '.join(deal_big.table.select("party", "line", "how")' in nb08       # payback 99 = not repaid, said
    h = X.platforms().filter(pl.col("accelerator") == "MI450X").row(0, named=True)
    assert "NOT PRICED: the rack's scale-up switching" in h["note"]
    one_rack = X.option_hardware(h["platform"], "Pollara-400", h["scaleup_domain"])
    assert il.economics.fabric_network_counts(one_rack)["switch_ports_per_gpu"] == 0.0


def test_payback_is_operating_cash_and_the_notebooks_say_so():
    """provider_view's payback counts operating cash only (the hardware's sale is not in it) while
    the IRR and NPV count the sale: notebook 08 printed an IRR above zero beside a payback of inf
    (MI355X on the decay path) under a glossary saying payback is when 'the cumulative cash turns
    positive' and prose saying inf means 'not repaid'. Both notebooks now define it as it is computed."""
    from pathlib import Path

    E = il.economics
    sale, no_sale = (E.provider_view(path="flat", value_curve=vc, retire=None) for vc in ("exponential", "none"))
    assert sale.payback_years == no_sale.payback_years < math.inf
    assert sale.npv_usd_per_gpu > no_sale.npv_usd_per_gpu and sale.irr > no_sale.irr
    nbs = Path(__file__).resolve().parent.parent / "tools" / "notebooks"
    nb05, nb08 = ((nbs / f).read_text() for f in ("05_economics.py", "08_expansion_2026.py"))
    assert "the cumulative cash turns positive" not in nb08 and "until cumulative cash turns positive" not in nb05
    assert "years until the cumulative operating cash" in nb08 and "the cumulative operating cash" in nb05
    assert "is not repaid within the horizon." not in nb08
    assert "payback: operating cash only" in nb08


def test_small_cluster_owned_price_says_it_pays_for_whole_switches():
    """Two MI300X nodes on rails-only buy eight whole 64-port leaves (the fabric code's count,
    read through economics.fabric_network_counts, the one owner): 32 switch ports per GPU, so
    owned_quote on 16 GPUs is far above the 1,024-GPU price. The docstring and docs/expansion.md
    say so, with the figures the code gives."""
    from pathlib import Path

    from infra_lab.expansion import option_hardware
    X = il.expansion
    hw = option_hardware("MI300X node", "Pollara-400", 16)
    radix = int(il.fabric.constant("switch_radix_ports"))
    assert il.fabric.switch_counts(hw)["total"] == 8
    assert il.economics.fabric_network_counts(hw)["switch_ports_per_gpu"] == 8 * radix / 16 == 32.0
    small = X.owned_quote("MI300X node", "Pollara-400", 16)["usd_per_gpu_hour"]
    ref = X.owned_quote("MI300X node", "Pollara-400")["usd_per_gpu_hour"]
    said = f"about ${small:.1f} against ${ref:.1f}"
    assert small > 1.5 * ref
    assert "whole switches" in X.owned_quote.__doc__ and said in " ".join(X.owned_quote.__doc__.split())
    doc = " ".join((Path(__file__).parents[1] / "docs" / "expansion.md").read_text().split())
    assert "Small clusters pay for whole switches" in doc and said in doc


def test_expansion_doc_days_say_which_failure_reading_they_are_under():
    """docs/expansion.md quoted '3.97 vs 4.35 days' for MI355X vs MI300X on the 10x MoE at 8,192 GPUs
    beside 'Notebook 08 finds', while notebook 08 prints 4.9 vs 5.4: the doc's days were wall-clock
    days under Llama 3's per-device reading, from before notebook 08 moved to the fleet reading.
    The doc now gives the failure-free days, which no failure reading moves, and says which reading
    its host item's wall-clock days are under; the figures are the code's."""
    from pathlib import Path

    X = il.expansion
    r300, r355 = (X.evaluate(p, "Pollara-400", 8192, "10x MoE") for p in ("MI300X node", "MI355X node"))
    doc = " ".join((Path(__file__).parents[1] / "docs" / "expansion.md").read_text().split())
    assert f"({r355['run_days']:.2f} vs {r300['run_days']:.2f} days of failure-free training" in doc
    assert f"MI300X node's {r300['run_days'] / r300['goodput_bound']:.2f} days" in doc   # the host item's figure
    assert "wall-clock days under Llama 3's per-device failure reading" in doc
    factor = (r300["run_days"] / r300["goodput"]) / (r300["run_days"] / r300["goodput_bound"])
    assert f"{factor:.2f}× at 8,192 GPUs" in doc
    assert r355["goodput"] == pytest.approx(r300["goodput"], rel=1e-6)   # 'the same factor' for every option of a size
