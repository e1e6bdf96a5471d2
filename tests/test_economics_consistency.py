"""One owner per quantity between the economics and reliability models: the hot-spare pool,
what the spares draw and occupy, the NICs inside server prices, and the default contract rent."""

import math

import numpy as np
import polars as pl
import pytest

import infra_lab as il
from infra_lab import economics as E
from infra_lab import reliability as R
from infra_lab.economics import compare as C


def test_economics_spares_are_the_reliability_pool():
    """spare_fraction was 3 % in economics while the restart model held 8 spares per 128 nodes
    (6.25 %), both citing IBM's capacity script: the economics default now reads the pool."""
    f = R.hot_spare_fraction()
    assert f == R.parameter("hot_spare_nodes") / R.parameter("hot_spare_pool_nodes")
    for acc in ("MI300X", "H100-SXM", "B200"):
        p = E.parameters(acc)["spare_fraction"]
        assert p.value == f and p.high == f and p.low == 0.0
        assert E.owned_inputs(acc)["spare_fraction"] == f
    nodes = 128
    assert R.hot_spares_for(nodes) == math.ceil(nodes * f)


def test_a_blank_parameter_value_is_refused_outside_the_owned_rows(monkeypatch):
    from infra_lab.economics import data as D

    monkeypatch.setattr(D, "_OWNED_ELSEWHERE", {})
    D.parameter_table.cache_clear()
    try:
        with pytest.raises(il.errors.ValidationError, match=r"spare_fraction.*value is blank"):
            D.parameter_table()
    finally:
        monkeypatch.undo()
        D.parameter_table.cache_clear()
    assert D.parameter_table().filter(pl.col("name") == "spare_fraction")["value"][0] == R.hot_spare_fraction()


def test_cluster_power_provisions_the_spares_the_colocation_charge_pays_for():
    """cluster_power left the spare nodes out while the colocation charge and the capex counted
    them; now the provisioned IT power includes them (the average draw is the billed GPUs')."""
    n = 1024
    v = E.owned_inputs("MI300X")
    pw = E.cluster_power(n, "MI300X")
    server = n * v["tdp_W"] * v["server_power_ratio"]
    assert pw["it_provisioned_W"] == pytest.approx(server * (1 + v["spare_fraction"]))
    assert pw["spare_gpus"] == pytest.approx(n * v["spare_fraction"])
    assert pw["it_average_W"] == pytest.approx(server * v["avg_power_fraction"])
    c = E.owned_cost_per_gpu_hour("MI300X")
    colo = pw["it_provisioned_W"] / 1e3 * v["colocation_usd_per_kW_month"] * 12 / E.HOURS_PER_YEAR / n
    assert c.facility_usd_per_gpu_hour == pytest.approx(colo / v["utilization"])
    energy = pw["facility_average_W"] / 1e3 * v["electricity_usd_per_kWh"] / n
    assert c.energy_usd_per_gpu_hour == pytest.approx(energy)


@pytest.mark.parametrize("acc", ["H100-SXM", "B200", "GB200"])
def test_a_dgx_or_rack_price_gets_no_second_nic(acc):
    """The default purchase prices of these parts are DGX or NVL72 prices, which include one
    ConnectX-7 per GPU; the per-port network added a second NIC."""
    v = E.owned_inputs(acc)
    assert v["nic_usd"] == 0.0
    net = E.owned_components(v)["network_capex"] / (1 + v["spare_fraction"])
    assert net == pytest.approx(v["switch_port_usd"] * v["switch_ports_per_gpu"] + v["optics_usd"] * v["optics_per_gpu"])
    # a GPU-only price still buys its NIC
    assert E.owned_inputs("MI300X")["nic_usd"] > 0
    # the like-for-like fallback to the part's own (rack) price takes its own host and NIC rows
    own = C._host_spec(acc, "default purchase price (parameters.csv)")
    assert {p.name for p in own} == {"host_usd_per_gpu", "nic_usd"}
    assert C._host_spec(acc, "baseboard") == ()


def test_commitment_ratio_is_the_median_of_same_provider_same_date_pairs():
    pairs = E.commitment_pairs("1-year")
    assert pairs.height >= 5
    for r in pairs.iter_rows(named=True):
        od = E.cloud_price_rows(r["accelerator"], "on-demand").filter(pl.col("provider") == r["provider"])
        cm = E.cloud_price_rows(r["accelerator"], "1-year").filter(pl.col("provider") == r["provider"])
        assert od["date_observed"][0] == cm["date_observed"][0] == r["date_observed"]
        assert r["ratio"] == pytest.approx(cm["price_usd_per_gpu_hour"].median() / od["price_usd_per_gpu_hour"].median())
    assert E.commitment_ratio("1-year") == pytest.approx(float(np.median(pairs["ratio"].to_numpy())))
    assert 0 < E.commitment_ratio("1-year") < 1
    with pytest.raises(il.errors.UnknownNameError, match="term 'spot'.*1-year, 3-year"):
        E.commitment_ratio("spot")


@pytest.mark.parametrize("acc", ["B200", "GB200", "H100-SXM", "H200-SXM", "MI355X"])
def test_default_contract_rent_is_below_the_parts_own_on_demand_price(acc):
    """B200's default 1-year contract ($11.12, the median of its hyperscaler 1-year listings)
    lay above its own on-demand median ($7.67)."""
    c = E.operator_inputs(acc)["contract_usd_per_gpu_hour"]
    assert c == pytest.approx(E.cloud_price(acc, "on-demand") * E.commitment_ratio("1-year"))
    assert c < E.cloud_price(acc, "on-demand")
    assert E.contract_default(acc) == c


def test_a_part_with_its_own_contract_row_keeps_it():
    assert E.operator_inputs("MI300X")["contract_usd_per_gpu_hour"] == E.parameters("MI300X")[
        "contract_usd_per_gpu_hour"].value
