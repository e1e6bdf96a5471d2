"""One owner of an accelerator's NIC: notebook 04's explorer and notebook 05's throughput
comparison (il.economics.training_throughput) both use the catalog's default NIC
(data/default_nics.csv). They disagreed on B200 (ConnectX-8 in the explorer, ConnectX-7 in the
comparison); DGX B200 carries eight single-port ConnectX-7 (NVIDIA's DGX B200 user guide)."""

from __future__ import annotations

import pytest

import infra_lab as il
from infra_lab.errors import UnknownNameError, ValidationError
from infra_lab.widgets.training import EXPLORER_ACCELERATORS


def test_the_explorer_reads_the_catalog_default_nic():
    for acc, nic in EXPLORER_ACCELERATORS.items():
        assert nic == il.catalog.default_nic(acc), acc
    assert EXPLORER_ACCELERATORS["B200"] == "ConnectX-7-NDR"


def test_default_nic_rows_name_catalog_parts_and_nics():
    t = il.catalog.default_nics()
    for r in t.iter_rows(named=True):
        assert il.catalog.canonical_accelerator(r["accelerator"]) == r["accelerator"]
        assert il.catalog.canonical_nic(r["nic"]) == r["nic"]
    assert il.catalog.default_nic("b200") == "ConnectX-7-NDR"      # aliases resolve
    with pytest.raises(UnknownNameError):
        il.catalog.default_nic("MI450X")                             # no row: said, not guessed


def test_the_throughput_comparison_gives_b200_the_same_nic_as_the_explorer():
    sc = il.load_scenario("zaya1-ibm-mi300x")
    thr = il.economics.training_throughput(sc, ["B200", "MI355X"])
    got = dict(zip(thr["accelerator"], thr["nic"], strict=True))
    assert got == {"B200": EXPLORER_ACCELERATORS["B200"], "MI355X": EXPLORER_ACCELERATORS["MI355X"]}


def test_a_published_run_without_a_nic_gets_the_catalog_default_nic():
    """One owner of "which NIC": a run whose source names no NIC gets the catalog's default NIC of
    its part (data/default_nics.csv), not a second table in the validation (which gave the AMD
    runs ConnectX-7). The predictions do not move: every such NIC runs at 400 Gb/s there."""
    from infra_lab.validation import current_runs, runs, scenario_for_run

    silent = [r for r in current_runs().iter_rows(named=True) if not r.get("nic")]
    assert silent
    checked = 0
    for r in silent:
        try:
            sc, notes = scenario_for_run(r)
        except ValidationError as e:                              # not expressible for another reason
            assert "nic" not in str(e).lower(), (r["id"], e)
            continue
        checked += 1
        assert sc.hardware.nic == il.catalog.default_nic(sc.hardware.accelerator), r["id"]
        assert f"nic={sc.hardware.nic}" in notes, r["id"]
    assert checked >= 40
    sc, _ = scenario_for_run("PJ26-L31-8B-MI325X-64-fp8")        # 8 nodes of MI325X, NIC not published
    assert sc.hardware.nic == "Pollara-400"
    assert not hasattr(runs, "_DEFAULT_NIC")
    with pytest.raises(ValidationError, match="default_nics.csv"):
        runs.run_nic("MI450X")                                     # no row: said, not guessed


def test_the_throughput_comparison_prices_a100_and_mi350x_with_their_catalog_nic():
    """When the comparison's own NIC fallback went (one owner: data/default_nics.csv), A100 and
    MI350X lost their NIC and needed ``nics=``. DGX A100 carries eight single-port ConnectX-6
    HDR (NVIDIA's DGX A100 user guide); the MI350X takes the MI355X's choice."""
    sc = il.load_scenario("zaya1-ibm-mi300x")
    thr = il.economics.training_throughput(sc, ["A100-SXM-80GB", "MI350X"])
    got = dict(zip(thr["accelerator"], thr["nic"], strict=True))
    assert got == {"A100-SXM-80GB": "ConnectX-6-HDR", "MI350X": il.catalog.default_nic("MI355X")}
    assert all(v > 0 for v in thr["tokens_per_s_per_gpu"])
