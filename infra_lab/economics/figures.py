"""Which owned cost of a GPU-hour? The three owned figures of one accelerator, each from its
one owner and named for what it is.

Every owned figure is the one cost model, :func:`~infra_lab.economics.owned_cost_per_gpu_hour`:
the capital (GPU, host, hot spares, per-port back-end network, storage and front-end network)
recovered over the life at the cost of capital, colocation, energy, maintenance, insurance and
property tax, operations staff and the setup weeks, the fixed costs divided by utilization.
The package prints three figures of it, which count the same items and differ only in how the
inputs are taken:

``point estimate``
    every input at its mode (``parameters.csv``'s value; MI300X's purchase price is the high
    end of an analyst's selling-price range): :func:`~infra_lab.economics.owned_cost_per_gpu_hour`.
    Its item-by-item breakdown, the rent-or-own thresholds and the operator's margin read it.
``Monte Carlo P50``
    the median of the same formula with every input drawn over its range, the purchase price
    from the selling price to a distributor's baseboard listing: :func:`owned_cost_band`
    (:data:`OWNED_COST_DRAWS` draws, seed :data:`OWNED_COST_SEED`). The headline for ZAYA1's own
    cluster (notebook 05 sections 1, 2 and 6; notebook 08 prints it beside its own).
``like-for-like P50``
    the median of the same draws with the purchase price held at the newest 8-GPU baseboard
    listing, the one channel every accelerator has a price on:
    :func:`~infra_lab.economics.owned_gpu_hour_price` (:data:`LIKE_FOR_LIKE_DRAWS` draws, seed
    :data:`LIKE_FOR_LIKE_SEED`). The one owned price other models read: ``run_cost(...,
    price_usd_per_gpu_hour="owned")``, ``il.serve``'s owned price, notebooks 05 (section 5), 06,
    07 and 09.

:func:`owned_cost_figures` lists the three with what each holds; :func:`owned_cost_bridge`
walks from one to the next: the point estimate is below the P50 because the input ranges are
right-skewed (their means lie above their modes), and the like-for-like P50 is above the Monte
Carlo P50 because its purchase price is the listing, the top of the range the other draws.
"""

from __future__ import annotations

import functools

import numpy as np
import polars as pl

from . import _validate as V
from . import uncertainty as U
from .compare import LIKE_FOR_LIKE_DRAWS, LIKE_FOR_LIKE_SEED, owned_gpu_hour_quote
from .montecarlo import monte_carlo_owned_cost, owned_specs
from .owned import OWNED_PARAMS, owned_cost_per_gpu_hour

__all__ = ["OWNED_COST_DRAWS", "OWNED_COST_SEED", "OWNED_FIGURES", "owned_cost_band", "owned_cost_figures",
           "owned_cost_bridge"]

OWNED_COST_DRAWS = 1_000_000
"""Draws of the owned-cost Monte Carlo headline (:func:`owned_cost_band`): notebook 05's section
1, notebook 08's reference to it and the economics hand check read the same draws."""

OWNED_COST_SEED = 0
"""Seed of those draws."""

OWNED_FIGURES = ("point estimate", "Monte Carlo P50", "like-for-like P50")
"""The names of the three owned figures, in the order :func:`owned_cost_figures` lists them."""


@functools.lru_cache(maxsize=32)
def _band(acc: str, n: int, seed: int) -> U.Band:
    return U.band(monte_carlo_owned_cost(n, seed=seed, accelerator=acc))


def owned_cost_band(accelerator: str = "MI300X", *, n: int = OWNED_COST_DRAWS,
                    seed: int = OWNED_COST_SEED) -> U.Band:
    """The Monte Carlo owned cost of a useful GPU-hour [USD]: P50 with its P5-P95 band over every
    input's range, the purchase price included (the "Monte Carlo P50" of
    :func:`owned_cost_figures`; notebook 05's headline for ZAYA1's own cluster). Cached.

    Examples
    --------
    >>> b = owned_cost_band("MI300X", n=2000)
    >>> b.p5 < b.p50 < b.p95
    True
    """
    return _band(V.accelerator(accelerator), V.draws(n), V.seed(seed))


def _price_text(acc: str) -> tuple[str, str]:
    """The purchase price of the point estimate and of the Monte Carlo, as text."""
    p = owned_specs(acc)["capex_usd_per_gpu"]
    if p.low == p.high:
        return f"{p.value:,.0f} USD per GPU", f"{p.value:,.0f} USD per GPU (no range)"
    return (f"{p.value:,.0f} USD per GPU (the mode)",
            f"drawn {p.low:,.0f}-{p.value:,.0f}-{p.high:,.0f} USD per GPU ({p.distribution})")


def owned_cost_figures(accelerator: str = "MI300X") -> pl.DataFrame:
    """The three owned costs of a useful GPU-hour of ``accelerator``, one row each, named for
    what they are (the module's docstring says what each holds and who reads it). Every row
    counts the same cost items; they differ in how the inputs are taken.

    Returns
    -------
    polars DataFrame: figure (:data:`OWNED_FIGURES`), usd_per_gpu_hour, p5, p95 [USD per useful
    GPU-hour; no band for the point estimate], purchase_price (text), other_inputs (text), call
    (the one function that computes it), used_by (text)

    Examples
    --------
    >>> f = owned_cost_figures("MI300X")
    >>> list(f["figure"])
    ['point estimate', 'Monte Carlo P50', 'like-for-like P50']
    """
    acc = V.accelerator(accelerator)
    point = owned_cost_per_gpu_hour(acc).total_usd_per_gpu_hour
    mc = owned_cost_band(acc)
    q = owned_gpu_hour_quote(acc)
    pt_price, mc_price = _price_text(acc)
    listing = (f"{q['purchase_price_usd_per_gpu']:,.0f} USD per GPU, held ({q['capex_basis']}"
               + (f", {q['price_date']:%Y-%m-%d})" if q["price_date"] is not None else ")"))
    return pl.DataFrame({
        "figure": list(OWNED_FIGURES),
        "usd_per_gpu_hour": [point, mc.p50, q["usd_per_gpu_hour"]],
        "p5": [None, mc.p5, q["p5"]],
        "p95": [None, mc.p95, q["p95"]],
        "purchase_price": [pt_price, mc_price, listing],
        "other_inputs": ["every one at its mode",
                         f"drawn over their ranges ({OWNED_COST_DRAWS:,} draws, seed {OWNED_COST_SEED})",
                         f"drawn over the ranges shared by every accelerator ({LIKE_FOR_LIKE_DRAWS:,} draws, "
                         f"seed {LIKE_FOR_LIKE_SEED})"],
        "call": [f"owned_cost_per_gpu_hour({acc!r})", f"owned_cost_band({acc!r}).p50",
                 f"owned_gpu_hour_price({acc!r})"],
        "used_by": ["the item-by-item breakdown, rent-or-own thresholds, the operator's margin (notebook 05 "
                    "sections 1, 3 and 4)",
                    "the owned cost of ZAYA1's own cluster (notebook 05 sections 1, 2 and 6; quoted in notebook 08)",
                    "the one owned price other models read: run_cost(price_usd_per_gpu_hour='owned'), il.serve, "
                    "notebooks 05 (section 5), 06, 07 and 09"],
    }, schema_overrides={"p5": pl.Float64, "p95": pl.Float64})


def owned_cost_bridge(accelerator: str = "MI300X") -> pl.DataFrame:
    """From the point estimate to the like-for-like P50 of ``accelerator`` in steps [USD per
    useful GPU-hour], each step the change of one thing, so the steps sum to the difference:

    1. *the inputs' skew*: the formula at every input's mean (:func:`~infra_lab.economics.distribution_mean`
       of its range) less the formula at the modes; the ranges are right-skewed, so the means lie
       above the modes;
    2. *the draws' shape*: the Monte Carlo P50 less the formula at the means (the P50 of a sum
       of many independent items sits near the value at their means; 1/U and the capital
       recovery factor are convex);
    3. *the purchase price held at the listing*: the P50 of the same draws (the Monte Carlo's
       count and seed) with the purchase price held at the like-for-like listing, less the Monte
       Carlo P50;
    4. *the like-for-like draws*: the like-for-like P50 (its own count and seed, the ranges
       shared by every accelerator) less step 3's figure: sampling, and for an accelerator whose
       own rows differ from the shared ones, those rows.

    Returns
    -------
    polars DataFrame: step, usd_per_gpu_hour (the figure after the step), change_usd_per_gpu_hour
    (none for the first row), what (text)

    Examples
    --------
    >>> b = owned_cost_bridge("MI300X")
    >>> abs(b["change_usd_per_gpu_hour"].sum() - (b["usd_per_gpu_hour"][-1] - b["usd_per_gpu_hour"][0])) < 1e-12
    True
    """
    acc = V.accelerator(accelerator)
    specs = owned_specs(acc)
    means = {k: U.distribution_mean(specs[k].low, specs[k].value, specs[k].high, specs[k].distribution)
             for k in OWNED_PARAMS if k in specs}
    point = owned_cost_per_gpu_hour(acc).total_usd_per_gpu_hour
    at_means = owned_cost_per_gpu_hour(acc, **means).total_usd_per_gpu_hour
    mc = owned_cost_band(acc).p50
    q = owned_gpu_hour_quote(acc)
    held = float(np.median(monte_carlo_owned_cost(OWNED_COST_DRAWS, seed=OWNED_COST_SEED, accelerator=acc,
                                                  fixed={"capex_usd_per_gpu": q["purchase_price_usd_per_gpu"]})))
    like = q["usd_per_gpu_hour"]
    values = [point, at_means, mc, held, like]
    return pl.DataFrame({
        "step": ["point estimate (every input at its mode)", "+ the inputs' skew: every input at its mean",
                 "+ the draws' shape: Monte Carlo P50", "+ the purchase price held at the listing",
                 "+ the like-for-like draws: like-for-like P50"],
        "usd_per_gpu_hour": values,
        "change_usd_per_gpu_hour": [None, *(b - a for a, b in zip(values, values[1:], strict=False))],
        "what": ["owned_cost_per_gpu_hour at the modes",
                 f"the same formula at the ranges' means (purchase price {means['capex_usd_per_gpu']:,.0f} USD per GPU)",
                 f"owned_cost_band: the median of {OWNED_COST_DRAWS:,} draws",
                 f"the same draws with the purchase price at {q['purchase_price_usd_per_gpu']:,.0f} USD per GPU",
                 f"owned_gpu_hour_price: {LIKE_FOR_LIKE_DRAWS:,} draws, seed {LIKE_FOR_LIKE_SEED}"],
    }, schema_overrides={"change_usd_per_gpu_hour": pl.Float64})

