"""ServeResult's printout names where the cost per million tokens and the time per cycle live
(session 37's user pass: "what batch/latency/cost per million tokens").

Before: the footer read "exact values: the attributes, or .to_dict()": nothing said that
``r.costs(...)`` gives $ per million tokens or that ``r.breakdown`` splits the cycle, while
Estimate's footer names its ``.breakdown`` and ``.mfu_table()``."""

from __future__ import annotations

import infra_lab as il


def test_the_footer_names_costs_and_breakdown_and_both_work():
    r = il.serve(il.load_scenario("maia-class-serving-mi300x"))
    footer = str(r).splitlines()[-1]
    assert ".costs('owned' | 'rented' | USD per GPU-hour)" in footer and ".breakdown" in footer
    assert r.costs("rented")["usd_per_million_output_tokens"] > 0
    assert abs(float(r.breakdown["seconds"].sum()) - r.cycle_s) <= 1e-9 * r.cycle_s
