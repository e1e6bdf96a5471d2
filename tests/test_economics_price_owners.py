"""One owner per price figure: a purchase price or rent recorded (dated, sourced) in
data/economics/purchase_prices.csv or data/cloud_prices.csv is typed there only; a model input
of data/economics/parameters.csv or data/expansion/platforms.csv that uses it names the row in
its ``linked`` column (or leaves the cell empty for the economics default) and reads it.

The MI300X's Citi ASP range $10-15k was typed in purchase_prices.csv (asp-low / asp-high) and
again in parameters.csv's capex_usd_per_gpu and amd_asp_usd_per_gpu rows, with nothing keeping
the copies equal."""
import polars as pl
import pytest

from infra_lab import catalog
from infra_lab import economics as E
from infra_lab import expansion as X
from infra_lab.economics import data as D
from infra_lab.errors import InfraLabError

_ECON = catalog.DATA_DIR / "economics"


def _raw(path):
    return pl.read_csv(path, infer_schema_length=0)   # the cells as typed


def _recorded(accelerator: str, unit: str) -> dict[float, str]:
    """Prices recorded for one part in the table that owns ``unit``: price -> where."""
    if unit == "USD per GPU":
        t = E.purchase_prices().filter(pl.col("accelerator") == accelerator)
        return {round(r["price_usd_per_gpu"], 2): f"purchase_prices.csv {r['basis']} {r['date']}"
                for r in t.iter_rows(named=True)}
    if unit == "USD per GPU-hour":
        t = catalog.cloud_prices().filter(pl.col("accelerator") == accelerator)
        return {round(r["price_usd_per_gpu_hour"], 4): f"cloud_prices.csv {r['provider']} {r['term']}"
                for r in t.iter_rows(named=True)}
    return {}


def test_no_parameter_cell_retypes_a_price_another_table_records():
    """A parameters.csv cell of an accelerator-scoped row may not hold, typed, a price that
    purchase_prices.csv or cloud_prices.csv records for the same part in the same unit: it names
    the row in ``linked`` instead."""
    accelerators = set(catalog.accelerators()["name"].to_list())
    copies = []
    for r in _raw(_ECON / "parameters.csv").iter_rows(named=True):
        if r["scope"] not in accelerators:
            continue
        recorded = _recorded(r["scope"], r["unit"])
        for c in ("value", "low", "high"):
            if r[c] is None:
                continue
            v = float(r[c])
            hit = recorded.get(round(v, 2)) or recorded.get(round(v, 4))
            if hit:
                copies.append(f"{r['name']} {r['scope']} {c} = {r[c]} (also in {hit})")
    assert not copies, copies


def test_no_platform_cell_retypes_its_own_parts_recorded_price():
    """data/expansion/platforms.csv's price cells of a part may not retype that part's recorded
    purchase price / ASP or rent (MI355X's AMD ASP was HSBC's $23k, typed a third time)."""
    cells = {"capex_usd_per_gpu": "USD per GPU", "capex_low_usd": "USD per GPU",
             "capex_high_usd": "USD per GPU", "amd_asp_usd_per_gpu": "USD per GPU",
             "contract_usd_per_gpu_hour": "USD per GPU-hour"}
    copies = []
    for r in _raw(catalog.DATA_DIR / "expansion" / "platforms.csv").iter_rows(named=True):
        for c, unit in cells.items():
            if r[c] is None:
                continue
            hit = _recorded(r["accelerator"], unit).get(round(float(r[c]), 2 if unit == "USD per GPU" else 4))
            if hit:
                copies.append(f"{r['platform']} {c} = {r[c]} (also in {hit})")
    assert not copies, copies


_NETWORK_UNITS = {"USD per DPU": "card", "USD per transceiver": "transceiver"}
"""parameters.csv units priced by an item of network_costs.csv (that table's unit column)."""


def test_no_network_price_is_typed_in_parameters_and_network_costs():
    """dpu_usd's $2,000-3,000 and optics_usd's $600 / $1,400 repeated network_costs.csv's
    BlueField-3 and transceiver rows; they are linked now."""
    nc = E.network_costs()
    copies = []
    for r in _raw(_ECON / "parameters.csv").filter(pl.col("unit").is_in(list(_NETWORK_UNITS))).iter_rows(named=True):
        items = nc.filter(pl.col("unit") == _NETWORK_UNITS[r["unit"]])
        recorded = {v: it for it, lo, hi in items.select("item", "usd_low", "usd_high").iter_rows() for v in (lo, hi)}
        for c in ("value", "low", "high"):
            if r[c] is not None and float(r[c]) in recorded:
                copies.append(f"{r['name']} {c} = {r[c]} (also network_costs.csv {recorded[float(r[c])]})")
    assert not copies, copies
    dpu, optics = E.parameters("MI300X")["dpu_usd"], E.parameters("MI300X")["optics_usd"]
    bf3 = nc.filter(pl.col("item") == "NVIDIA BlueField-3 DPU").row(0, named=True)
    assert (dpu.low, dpu.value, dpu.high) == (bf3["usd_low"], (bf3["usd_low"] + bf3["usd_high"]) / 2, bf3["usd_high"])
    assert (optics.low, optics.high) == (nc["usd_low"][nc["item"].to_list().index("400G QSFP-DD transceiver")],
                                         nc["usd_high"][nc["item"].to_list().index("800G OSFP-DR8 transceiver")])


def test_mi300x_asp_and_capex_read_the_citi_range_from_purchase_prices():
    """purchase_prices.csv owns Citi's $10-15k (asp-low / asp-high) and the 8-OAM baseboard
    listing; AMD's ASP is that range with its midpoint as the mode, the buyer's capex runs from
    Citi's low (mode Citi's high) to the listing: both read, neither typed."""
    def price(basis):
        return E.purchase_price("MI300X", basis)["price_usd_per_gpu"]

    p = E.parameters("MI300X")
    asp, capex = p["amd_asp_usd_per_gpu"], p["capex_usd_per_gpu"]
    assert (asp.low, asp.high) == (price("asp-low"), price("asp-high"))
    assert asp.value == pytest.approx((price("asp-low") + price("asp-high")) / 2)
    assert (capex.low, capex.value, capex.high) == (price("asp-low"), price("asp-high"), price("baseboard"))
    raw = _raw(_ECON / "parameters.csv").filter(pl.col("scope") == "MI300X")
    for name in ("amd_asp_usd_per_gpu", "capex_usd_per_gpu", "contract_usd_per_gpu_hour"):
        r = raw.filter(pl.col("name") == name).row(0, named=True)
        assert r["value"] is None and r["low"] is None and r["high"] is None, name
        assert r["linked"], name


def test_a_revised_purchase_price_moves_every_parameter_that_reads_it(monkeypatch):
    """Edit the one copy (purchase_prices.csv's Citi high end) and both the ASP and the capex
    follow: there is no second copy to forget."""
    t = D.purchase_prices()
    bumped = t.with_columns(pl.when((pl.col("accelerator") == "MI300X") & (pl.col("basis") == "asp-high"))
                            .then(pl.lit(16000.0)).otherwise(pl.col("price_usd_per_gpu"))
                            .alias("price_usd_per_gpu"))
    monkeypatch.setattr(D, "purchase_prices", lambda: bumped)
    D.parameter_table.cache_clear()
    D._parameters.cache_clear()
    try:
        p = D.parameters("MI300X")
        assert p["amd_asp_usd_per_gpu"].high == 16000.0
        assert p["amd_asp_usd_per_gpu"].value == pytest.approx(13000.0)   # (10,000 + 16,000) / 2
        assert p["capex_usd_per_gpu"].value == 16000.0
    finally:
        monkeypatch.undo()
        D.parameter_table.cache_clear()
        D._parameters.cache_clear()
    assert D.parameters("MI300X")["capex_usd_per_gpu"].value == 15000.0


@pytest.mark.parametrize("edit, message", [
    ({"value": 15000.0}, r"value = 15000.0 is typed and also linked"),
    ({"linked": "value=purchase_prices:MI355X/asp/2025-09-09"}, r"names MI355X, not the row's own accelerator MI300X"),
    ({"linked": "value=purchase_prices:MI300X/asp-high"}, r"expected purchase_prices:accelerator/basis/date"),
    ({"linked": "value=purchase_prices:MI300X/asp-high/2030-01-01"}, r"matches 0 rows of purchase_prices.csv"),
    ({"linked": "value=purchase_price:MI300X/asp-high/2024-02-15"}, r"unknown linked table 'purchase_price'.*purchase_prices"),
    ({"linked": "mode=purchase_prices:MI300X/asp-high/2024-02-15"}, r"column one of value, low, high"),
    ({"linked": "low=midpoint"}, r"only value may be the midpoint"),
    ({"linked": "value=network_costs:NVIDIA BlueField-3 DPU"}, r"network_costs gives a low and a high price"),
])
def test_a_bad_link_is_refused_naming_row_and_entry(monkeypatch, edit, message):
    raw = D._econ_table("parameters")
    sel = (pl.col("name") == "capex_usd_per_gpu") & (pl.col("scope") == "MI300X")
    bad = raw.with_columns(*(pl.when(sel).then(pl.lit(v)).otherwise(pl.col(c)).alias(c) for c, v in edit.items()))
    read = D._econ_table
    monkeypatch.setattr(D, "_econ_table", lambda name: bad if name == "parameters" else read(name))
    D.parameter_table.cache_clear()
    try:
        with pytest.raises(InfraLabError, match=message):
            D.parameter_table()
    finally:
        monkeypatch.undo()
        D.parameter_table.cache_clear()


def test_two_rows_with_the_same_keys_are_told_apart_by_their_source():
    """H100's low and high are two Epoch server listings of the same day (HGX $28,750, DGX
    $46,875): the link names a piece of each row's source_url."""
    capex = E.parameters("H100-SXM")["capex_usd_per_gpu"]
    same_day = E.purchase_prices().filter((pl.col("accelerator") == "H100-SXM") & (pl.col("basis") == "server")
                                          & (pl.col("date").cast(pl.Utf8) == "2025-03-03"))
    assert same_day.height == 2
    assert (capex.low, capex.high) == (same_day["price_usd_per_gpu"].min(), same_day["price_usd_per_gpu"].max())


def test_an_expansion_option_without_its_own_asp_reads_the_recorded_analyst_asp():
    """MI355X node's AMD selling price is HSBC's estimate as purchase_prices.csv records it
    (basis asp); MI300X node keeps economics' own ASP row (no override); MI325X's stated
    assumption stays the platform's."""
    assert X.deal_overrides("MI355X node", "Pollara-400")["amd_asp_usd_per_gpu"] == \
        E.purchase_price("MI355X", "asp")["price_usd_per_gpu"]
    assert "amd_asp_usd_per_gpu" not in X.deal_overrides("MI300X node", "Pollara-400")
    assert X.deal_overrides("MI325X node", "Pollara-400")["amd_asp_usd_per_gpu"] == \
        X.platforms().filter(pl.col("platform") == "MI325X node")["amd_asp_usd_per_gpu"][0]
