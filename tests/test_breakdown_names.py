"""One canonical flat name per breakdown component: `<component>_s` [s], as Estimate.to_dict()
(estimate's JSON and CSV, sweep rows) wrote it; the il.search frame carried only the bare
component names (`compute_fwd`), which stay as documented aliases."""

from __future__ import annotations

from pathlib import Path

import infra_lab as il
from infra_lab.training import COMPONENTS

ZAYA = il.load_scenario("zaya1-ibm-mi300x")


def test_search_frame_carries_the_canonical_names_and_the_aliases():
    df = il.search(ZAYA, top=3, max_micro_batch=4)
    for c in COMPONENTS:
        assert f"{c}_s" in df.columns and c in df.columns
        assert df[f"{c}_s"].equals(df[c].alias(f"{c}_s"))
    # the search frame and Estimate.to_dict() name the breakdown alike
    keys = {k for k in il.estimate(ZAYA).to_dict() if k.endswith("_s") and k[:-2] in COMPONENTS}
    assert keys == {f"{c}_s" for c in COMPONENTS} and keys <= set(df.columns)


def test_a_searched_plan_s_breakdown_is_its_estimate_s():
    """pp = 1 (no pipeline schedule to execute): the search's row and il.estimate of the same plan
    give the same seconds under the same names."""
    row = il.search(ZAYA, top=1, pp=1, max_micro_batch=4).row(0, named=True)
    est = il.estimate(il.Scenario.from_dict(il.training.apply_plan(ZAYA.to_dict(), row))).to_dict()
    for c in COMPONENTS:
        assert abs(est[f"{c}_s"] - row[f"{c}_s"]) <= 1e-9 * max(abs(row[f"{c}_s"]), 1e-12)


def test_the_contract_names_the_canonical_form():
    text = (Path(__file__).resolve().parent.parent / "docs" / "ARCHITECTURE.md").read_text()
    assert "`<component>_s` (`compute_fwd_s`, …): the canonical name" in text
