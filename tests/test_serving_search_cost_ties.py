"""il.serve_search ranks a $ objective by the same rule as every other objective: values equal
to TIE_DIGITS significant digits go shorter TTFT first (serving-history entry 19 gave the non-$
objectives this rule; the $ objectives had a polars sort that kept the configuration order).

The Maia-class scenario on 8 MI300X has ties: past the concurrency at which a split's step
budget fills, each further request only waits for its prefill turn, so throughput, and with it
every $ per token, stays the same while TTFT grows (tests/test_serving_budget_knee.py)."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

import infra_lab as il
from infra_lab.serving.core import OBJECTIVES
from infra_lab.serving.search import _ranking, _tie_round

COST_OBJECTIVES = [o for o in OBJECTIVES if o.startswith("usd")]


@pytest.fixture(scope="module")
def every_cost_search():
    sc = il.load_scenario("maia-class-serving-mi300x")
    return {o: il.serve_search(sc, objective=o, top=None, pareto=False, max_ttft_s=1e9,
                               price_usd_per_gpu_hour=2.0) for o in COST_OBJECTIVES}


@pytest.mark.parametrize("objective", COST_OBJECTIVES)
def test_cost_ties_go_shorter_ttft_first(objective, every_cost_search):
    df = every_cost_search[objective]
    v = _tie_round(df[objective].to_numpy())
    ttft = df["ttft_s"].to_numpy()
    tied = v[1:] == v[:-1]
    assert tied.sum() >= 3, "the scenario no longer has tied costs; the test needs ties"
    # exact ties of the rounded cost exist among rows whose TTFT differs
    assert (tied & (ttft[1:] != ttft[:-1])).any()
    assert np.all(np.diff(v) >= 0)
    assert np.all(ttft[1:][tied] >= ttft[:-1][tied])


def test_best_cost_row_is_the_turn_not_the_queue(every_cost_search):
    """The cheapest row per output token is the one with the top output tokens/s (same GPUs),
    at the turn where the budget fills: the same row as the default objective picks."""
    sc = il.load_scenario("maia-class-serving-mi300x")
    by_tps = il.serve_search(sc, top=1, max_ttft_s=1e9, pareto=False).row(0, named=True)
    by_usd = every_cost_search["usd_per_million_output_tokens_all_in"].row(0, named=True)
    keys = ("tp", "pp", "dp", "ep", "dp_attention", "weight_precision", "kv_precision", "concurrency")
    assert {k: by_usd[k] for k in keys} == {k: by_tps[k] for k in keys}
    assert by_usd["ttft_s"] == pytest.approx(by_tps["ttft_s"], rel=0, abs=0)


def test_ranking_rule():
    """Rounded ties by shorter TTFT, then the given order; larger-is-better reversed; NaN last."""
    v = np.array([2.0, 1.0, 1.0 + 1e-12, np.nan, 1.0, 3.0])
    ttft = np.array([0.1, 5.0, 1.0, 0.0, 1.0, 0.2])
    assert _ranking(v, ttft, False).tolist() == [2, 4, 1, 0, 5, 3]
    assert _ranking(v, ttft, True).tolist() == [5, 0, 2, 4, 1, 3]
    assert pl.Series(_ranking(np.array([np.inf, np.nan, 1.0]), np.zeros(3), False)).to_list() == [2, 0, 1]
