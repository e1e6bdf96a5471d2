"""The TTFT turn where a mixed engine's step budget fills, and how il.serve_search treats it.

Past the concurrency C* at which a mixed engine's prompts outrun its step budget, output
tokens/s and TPOT stay those of the full budget and each further request only waits for its
turn to prefill (``prefill_queue_s``, part of TTFT; docs/serving.md, "the budget full" and
"Where the step budget fills"). The Maia-class scenario on 8 MI300X reaches it at ~1,664
requests, which the default search grid skipped: without a TTFT bound il.serve_search picked
2,048 requests with a TTFT 30 times that at C* for the same throughput.
"""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

import infra_lab as il
from infra_lab.serving.search import _pareto_mask


def _maia(c):
    d = il.load_scenario("maia-class-serving-mi300x").to_dict()
    return {**d, "serving": {**d["serving"], "concurrency": c}}


def test_wait_for_the_full_budget_is_the_ttft_growth_past_the_turn():
    """Below the turn no wait; past it the throughput and TPOT stay and TTFT grows by exactly
    the wait for the budget, linearly in the requests (Little's law at a fixed admission rate),
    with the KV cache not the limit; kernel and reference agree on the wait."""
    lo, a, b = il.serve(_maia(1536)), il.serve(_maia(1792)), il.serve(_maia(2048))
    assert lo.prefill_queue_s == 0.0 and not (a.kv_limited or b.kv_limited)
    assert a.prefill_queue_s > 1.0 and b.prefill_queue_s > a.prefill_queue_s
    assert b.output_tokens_per_s == pytest.approx(a.output_tokens_per_s, rel=1e-9)
    assert b.tpot_s == pytest.approx(a.tpot_s, rel=1e-9)
    assert b.ttft_s - a.ttft_s == pytest.approx(b.prefill_queue_s - a.prefill_queue_s, rel=1e-9)
    # served time T = C·I·cycle/c per request: T grows in proportion to the requests
    assert b.e2e_latency_s / a.e2e_latency_s == pytest.approx(2048 / 1792, rel=1e-9)
    ref = il.serve(_maia(1792), reference=True)
    assert ref.prefill_queue_s == pytest.approx(a.prefill_queue_s, rel=1e-9)


def test_search_adds_the_turn_and_prefers_it_to_the_queue():
    """Without a TTFT bound the best row (by output tokens/s) is at the concurrency where its
    split's budget fills: the largest throughput of the search (to 1e-9) with almost no wait,
    where the grid alone gave 2,048 requests and a 7 s TTFT. Every row past the turn keeps its
    wait in the frame."""
    sc = il.load_scenario("maia-class-serving-mi300x")
    best = il.serve_search(sc, top=1).row(0, named=True)
    every = il.serve_search(sc, top=None, pareto=False).filter(pl.col("feasible"))
    assert best["output_tokens_per_s"] == pytest.approx(every["output_tokens_per_s"].max(), rel=1e-9)
    assert best["prefill_queue_s"] < 0.1 * best["ttft_s"] and best["ttft_s"] < 1.0
    same = every.filter((pl.col("tp") == best["tp"]) & (pl.col("dp") == best["dp"]) & (pl.col("ep") == best["ep"])
                        & (pl.col("dp_attention") == best["dp_attention"])
                        & (pl.col("weight_precision") == best["weight_precision"])
                        & (pl.col("kv_precision") == best["kv_precision"]))
    past = same.filter(pl.col("concurrency") > best["concurrency"])
    assert past.height and (past["prefill_queue_s"] > best["prefill_queue_s"]).all()
    assert (past["ttft_s"] > 5 * best["ttft_s"]).any()


def test_pareto_ties_keep_the_shortest_tie_breaker():
    """_pareto_mask: of rows equal in both objectives the one with the smallest tie-breaker
    (the search passes TTFT) is on the front; without one, the first row as before."""
    xs = np.array([10.0, 10.0, 10.0, 20.0])
    ys = np.array([5.0, 5.0, 5.0, 1.0])
    ttft = np.array([3.0, 0.5, 2.0, 0.1])
    assert _pareto_mask(xs, ys, ttft).tolist() == [False, True, False, True]
    assert _pareto_mask(xs, ys).tolist() == [True, False, False, True]


def test_docs_quote_the_turn_as_the_model_gives_it():
    """docs/serving.md ("Where the step budget fills") quotes the Maia-class scenario's TTFT at
    1,664, 1,792 and 2,048 requests, their common throughput and the requests whose KV fits: the
    figures il.serve gives, as printed."""
    from pathlib import Path

    text = " ".join((Path(__file__).resolve().parents[1] / "docs" / "serving.md").read_text(encoding="utf-8").split())
    r = {c: il.serve(_maia(c)) for c in (1664, 1792, 2048)}
    claim = (f"TTFT {r[1664].ttft_s:.2f} s at 1,664, {r[1792].ttft_s:.1f} s at 1,792 and {r[2048].ttft_s:.1f} s at "
             f"2,048, at {r[2048].output_tokens_per_s:,.0f} output tokens/s each")
    assert claim in text, claim
    assert f"({r[2048].max_concurrency:,} requests fit)" in text
    from infra_lab.serving.core import _chunk_default

    chunk = _chunk_default(r[2048].scenario.hardware.accelerator_spec, il.stacks.params(r[2048].stack))
    assert f"fills its {chunk:,.0f}-token budget" in text
