"""One owner for the price of a GPU-hour: notebook 05's like-for-like owned cost
(``economics.compare_owned``'s ``owned_p50``), serving's ``gpu_hour_price`` (notebook 07, the
serving widget) and notebook 09's owned price are the same function with the same inputs."""

import re
import time
from pathlib import Path

import polars as pl
import pytest

import infra_lab as il
from infra_lab import economics as E
from infra_lab import serving as S
from infra_lab.errors import ValidationError

NB = Path(__file__).resolve().parent.parent / "tools" / "notebooks"
ACCS = ("MI300X", "H100-SXM", "H200-SXM", "B200")


def _nb05_owned():
    """Notebook 05 section 5's table, called as the notebook calls it (throughput does not
    enter the owned $/GPU-h, so any positive throughput gives the same owned columns)."""
    src = (NB / "05_economics.py").read_text()
    assert "n=E.LIKE_FOR_LIKE_DRAWS, seed=E.LIKE_FOR_LIKE_SEED" in src
    t = E.compare_owned({a: 1000.0 for a in ACCS}, n=E.LIKE_FOR_LIKE_DRAWS, seed=E.LIKE_FOR_LIKE_SEED)
    return dict(zip(t["accelerator"], t["owned_p50"], strict=True))


def test_notebook05_owned_price_is_servings_and_multimodals():
    nb05 = _nb05_owned()
    for a in ACCS:
        assert S.gpu_hour_price(a) == nb05[a]            # notebook 07 and the serving widget
        assert E.owned_gpu_hour_price(a) == nb05[a]      # notebook 09
    # the MI300X / H100 price ratio in serving is notebook 05's
    assert S.gpu_hour_price("MI300X") / S.gpu_hour_price("H100") == nb05["MI300X"] / nb05["H100-SXM"]
    # the notebooks call these functions with these inputs (same function, same inputs)
    assert "S.gpu_hour_price(a) for a in ACCS" in (NB / "07_serving_maia.py").read_text()
    nb09 = (NB / "09_multimodal_maia.py").read_text()
    assert 'E.owned_gpu_hour_price("MI300X")' in nb09 and "owned_cost_per_gpu_hour(" not in re.sub(r"`[^`]*`", "", nb09)


def test_notebook08_prices_every_option_on_one_channel():
    """Notebook 08 prices its options with the package's one owned price function
    (il.expansion.owned_quote = owned_gpu_hour_quote) on one purchase-price channel, analysts'
    selling prices: the only channel every option has (MI300X alone has a baseboard listing).
    Today's design is MI300X at its selling-price default; notebook 05's listing-basis figure
    for the same part is the same function on the listing, and 08 prints both."""
    nb05 = _nb05_owned()
    assert il.expansion.OPTION_PRICE_BASIS == "asp"
    q = il.expansion.owned_quote("MI300X node", "Pollara-400")
    assert q == E.owned_gpu_hour_quote("MI300X", basis="asp")
    assert q["purchase_price_usd_per_gpu"] == E.parameters("MI300X")["capex_usd_per_gpu"].value
    assert E.owned_gpu_hour_quote("MI355X", basis="asp")["capex_basis"] == "asp"   # MI355X's ASP row
    assert q["usd_per_gpu_hour"] < nb05["MI300X"]           # the selling price is below the listing
    nb08 = (NB / "08_expansion_2026.py").read_text()
    assert 'E.owned_gpu_hour_price("MI300X", basis=X.OPTION_PRICE_BASIS)' in nb08
    assert '["owned_usd_per_gpu_hour"] == own08).all()' in nb08 and 'own05 = E.owned_gpu_hour_price("MI300X")' in nb08
    # the same owner for every option: only what data/expansion states changes the inputs
    q = il.expansion.owned_quote("MI300X node", "Vulcano-800")
    vul = il.expansion.nics().filter(pl.col("nic") == "Vulcano-800").row(0, named=True)
    # an 800G port is two priced 400G ports: the catalog's line rate (data/nics.csv) is the one owner
    assert il.catalog.nic("Vulcano-800").line_rate_bps / il.fabric.constant("switch_port_price_bps") == 2.0
    assert q == E.owned_gpu_hour_quote("MI300X", basis="asp", fixed={"nic_usd": vul["nic_usd"]},
                                       scale={"switch_ports_per_gpu": 2.0, "optics_per_gpu": E.optics_price_ratio(800e9)})
    assert q["usd_per_gpu_hour"] > il.expansion.owned_quote("MI300X node", "Pollara-400")["usd_per_gpu_hour"]


def test_parts_without_a_listing_or_a_tdp_take_them_as_keywords():
    """An announced part (MI450X: no price, no TDP in the catalog) is priced on the same
    basis with price= and tdp_W=; without a TDP the quote says how to pass one."""
    with pytest.raises(ValidationError, match="tdp_W"):
        E.owned_gpu_hour_quote("MI450X", price=30_000.0)
    q = E.owned_gpu_hour_quote("MI450X", price=30_000.0, tdp_W=1400.0)
    assert q["capex_basis"] == "given" and q["tdp_W"] == 1400.0
    # the same draws as a listed part at that price and TDP: only price and TDP enter
    m = E.owned_gpu_hour_quote("MI355X", price=30_000.0)
    assert il.catalog.accelerator("MI355X").tdp_W == 1400.0
    assert q["usd_per_gpu_hour"] == pytest.approx(m["usd_per_gpu_hour"], rel=1e-12)
    # a TDP given for a listed part moves the energy and colocation only
    assert E.owned_gpu_hour_price("MI300X", tdp_W=1000.0) > E.owned_gpu_hour_price("MI300X")
    # scale multiplies every draw of an input: twice the ports and optics cost more
    assert E.owned_gpu_hour_price("MI300X", scale={"optics_per_gpu": 2.0}) > E.owned_gpu_hour_price("MI300X")


def test_compare_owned_resolves_the_price_as_the_quote():
    """compare_owned and owned_gpu_hour_quote share one purchase-price resolution: listing,
    else the accelerator's default (said in capex_basis), else a given price."""
    t = E.compare_owned({"MI300X": 1000.0, "MI355X": 1000.0}, n=E.LIKE_FOR_LIKE_DRAWS, seed=E.LIKE_FOR_LIKE_SEED)
    for r in t.iter_rows(named=True):
        q = E.owned_gpu_hour_quote(r["accelerator"])
        assert r["owned_p50"] == q["usd_per_gpu_hour"] and r["capex_basis"] == q["capex_basis"]
    g = E.compare_owned({"MI325X": 1000.0}, prices={"MI325X": 20_000.0}, n=1000, seed=1)
    assert g["capex_basis"][0] == "given"
    with pytest.raises(E.NoPurchasePriceError, match="prices="):
        E.compare_owned({"MI325X": 1000.0}, n=10)


def test_owned_basis_is_like_for_like():
    q = {a: E.owned_gpu_hour_quote(a) for a in ACCS}
    for a in ACCS:
        assert q[a]["capex_basis"] == "baseboard"
        assert q[a]["purchase_price_usd_per_gpu"] == E.purchase_price(a, "baseboard")["price_usd_per_gpu"]
        assert q[a]["p5"] < q[a]["usd_per_gpu_hour"] < q[a]["p95"]
    # the cheaper baseboard is the cheaper GPU-hour (same host, network and opex for all)
    assert q["MI300X"]["usd_per_gpu_hour"] < q["H100-SXM"]["usd_per_gpu_hour"]
    # no baseboard listing: the accelerator's own purchase-price default, and the quote says so
    m = E.owned_gpu_hour_quote("MI355X")
    assert "no baseboard listing" in m["capex_basis"]
    assert m["purchase_price_usd_per_gpu"] == E.parameters("MI355X")["capex_usd_per_gpu"].value


def test_no_public_price_says_how_to_pass_one():
    with pytest.raises(ValidationError, match="MI325X"):
        S.gpu_hour_price("MI325X")
    assert S.gpu_hour_price("MI325X", capex_usd_per_gpu=20_000.0) > 0


def test_overrides_and_cache():
    assert S.gpu_hour_price("MI300X", utilization=0.8) == E.owned_gpu_hour_price("MI300X", fixed={"utilization": 0.8})
    assert S.gpu_hour_price("MI300X", utilization=0.8) > S.gpu_hour_price("MI300X", utilization=0.95)
    assert S.gpu_hour_price("MI300X", capex_usd_per_gpu=15_000.0) == E.owned_gpu_hour_price("MI300X", price=15_000.0)
    q = E.owned_gpu_hour_quote("MI300X")
    q["usd_per_gpu_hour"] = -1.0                         # a caller's copy: the cache is not touched
    assert E.owned_gpu_hour_price("MI300X") > 0
    t = time.perf_counter()
    for _ in range(100):
        S.gpu_hour_price("H200")
    assert (time.perf_counter() - t) / 100 < 0.005      # cached: widgets pay no Monte Carlo per change


def test_rented_matched_pairs():
    m = E.matched_rents("H100", "MI300X", ["on-demand"])
    assert m.height > 1
    assert S.gpu_hour_price("H100", "rented", matched_with="MI300X") == pytest.approx(float(m["price_a"].median()))
    assert S.gpu_hour_price("MI300X", "rented", matched_with="H100") == pytest.approx(float(m["price_b"].median()))
    # no provider lists both: the median over all providers
    assert E.matched_rents("MI355X", "A100-SXM-80GB", ["on-demand"]).height == 0
    assert S.gpu_hour_price("MI355X", "rented", matched_with="A100-SXM-80GB") == E.cloud_price("MI355X")
    assert S.gpu_hour_price("MI300X", "rented") == E.cloud_price("MI300X")


@pytest.mark.parametrize(("call", "match"), [
    (lambda: S.gpu_hour_price("MI300X", matched_with="H100"), "matched_with"),
    (lambda: S.gpu_hour_price("MI300X", "rented", provider="Crusoe", matched_with="H100"), "matched_with"),
    (lambda: S.gpu_hour_price("MI300X", utilisation=0.8), "utilization"),
    (lambda: S.gpu_hour_price("MI300X", tdp_W=700.0), "tdp_W"),
    (lambda: E.owned_gpu_hour_quote("MI300X", basis="board"), "baseboard"),
    (lambda: E.owned_gpu_hour_quote("MI300X", price=-1.0), "price"),
    (lambda: E.rented_gpu_hour_price("H100", matched_with="MI300X", statistic="p90"), "statistic"),
    (lambda: E.rented_gpu_hour_price("H100", statistic="p90"), "statistic"),
    (lambda: E.owned_gpu_hour_quote("MI300X", tdp_W=-5.0), "tdp_W"),
    (lambda: E.owned_gpu_hour_quote("MI300X", scale={"optics_per_gpus": 2.0}), "optics_per_gpu"),
    (lambda: E.owned_gpu_hour_quote("MI300X", scale={"optics_per_gpu": 0.0}), "scale"),
    (lambda: E.owned_gpu_hour_quote("MI300X", scale={"capex_usd_per_gpu": 2.0}), "scale"),
    (lambda: E.owned_gpu_hour_quote("MI300X", scale={"optics_per_gpu": 2.0}, fixed={"optics_per_gpu": 4.0}),
     "fixed"),
    (lambda: E.owned_gpu_hour_quote("MI300X", scale=[2.0]), "scale"),
    (lambda: E.compare_owned({"MI300X": 1000.0}, basis="board"), "baseboard"),
])
def test_bad_input(call, match):
    with pytest.raises((ValidationError, il.errors.UnknownNameError), match=match):
        call()


def test_serving_performance_does_not_depend_on_the_price():
    sc = {"model": {"preset": "llama3-8b"}, "hardware": {"accelerator": "MI300X", "nodes": 1, "gpus_per_node": 1},
          "serving": {"engine": "vllm", "tp": 1, "concurrency": 8}}
    a = il.serve_search(sc, top=None, price_usd_per_gpu_hour=1.0)
    b = il.serve_search(sc, top=None, price_usd_per_gpu_hour=S.gpu_hour_price("MI300X"))
    perf = [c for c in a.columns if c.startswith(("tokens_per_s", "output_tokens_per_s", "ttft", "tpot"))]
    assert perf and a.select(perf).equals(b.select(perf))
    assert b["usd_per_million_output_tokens_all_in"].to_list() == pytest.approx(
        (a["usd_per_million_output_tokens_all_in"] * S.gpu_hour_price("MI300X")).to_list())


@pytest.mark.parametrize("kw, msg", [
    ({"capex_usd_per_gpu": -1}, r"^capex_usd_per_gpu = -1: must be a finite number in \(0, 5e\+06\]"),
    ({"utilization": 0}, r"^utilization = 0: must be a finite number in \(0, 1\]"),
    ({"utilisation": 0.5}, r"unknown owned-cost input 'utilisation' in gpu_hour_price\. Did you mean 'utilization'"),
])
def test_gpu_hour_price_names_the_override_as_given(kw, msg):
    """serving.gpu_hour_price(capex_usd_per_gpu=-1) read 'price = -1' and utilization=0
    "fixed['utilization'] = 0", the names of the function it calls, not the caller's."""
    with pytest.raises(il.errors.InfraLabError, match=msg):
        S.gpu_hour_price("MI300X", **kw)
