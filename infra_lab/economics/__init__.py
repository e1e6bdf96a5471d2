"""Economics of AI-training clusters: what an owned GPU-hour costs with every cost item,
rent vs own for the right decision maker, the operator's return on a rent path, a renter's
bill for contracted cluster time, AMD vs NVIDIA per trained token like for like, a deal
P&L, and the uncertainty of all of them.

Modules (everything is re-exported here, so ``il.economics.<name>`` keeps working):

* :mod:`~infra_lab.economics.data` — parameters with ranges and sources, purchase prices,
  filed useful lives, company facts, Epoch's price records, and **the one cloud-price
  lookup** :func:`cloud_price` (one statistic: the median over providers' newest offers).
* :mod:`~infra_lab.economics.owned` — owned cost per useful GPU-hour (capital, network,
  storage, colocation, energy, maintenance, insurance, staff, setup), break-evens.
* :mod:`~infra_lab.economics.finance` — NPV, IRR (pre-tax, unlevered; correct with a late
  loss), payback, value curves, the operator's cash flows on a rent path, TCO.
* :mod:`~infra_lab.economics.uncertainty` — generic seeded draws, Monte Carlo, bands,
  tornado (reusable by other modules); :mod:`~infra_lab.economics.montecarlo` applies them.
* :mod:`~infra_lab.economics.runs` — run cost from ``il.estimate``, Zyphra's bill, the
  6·N·D cross-check, Epoch's amortized method.
* :mod:`~infra_lab.economics.compare` — like-for-like AMD vs NVIDIA per trained token.
* :mod:`~infra_lab.economics.deal` — who makes money: AMD, IBM, Zyphra.
* :mod:`~infra_lab.economics.figures` — which owned cost: the point estimate, the Monte Carlo
  P50 and the like-for-like P50 of a GPU-hour, each from its one owner, and the steps between.

Units: US dollars, hours of wall clock, SI otherwise; names carry the unit
(``price_usd_per_gpu_hour``, ``tdp_W``). Headlines use the Monte Carlo median with its P5-P95
band: the defaults in ``data/economics/parameters.csv`` are the modes of skewed ranges.

Examples
--------
>>> import infra_lab as il
>>> il.economics.run_cost(gpu_hours=2.788e6, price_usd_per_gpu_hour=2.0).total_usd
5576000.0
>>> round(il.economics.annuity_factor(0.0, 5), 3)
0.2

References
----------
Cottier et al. (2024), "The rising costs of training frontier AI models",
https://arxiv.org/abs/2405.21015 ; code https://github.com/epoch-research/training-cost-trends
"""

from __future__ import annotations

from . import compare, data, deal, figures, finance, montecarlo, owned, runs, uncertainty  # noqa: F401
from .compare import (
                      LIKE_FOR_LIKE_DRAWS,
                      LIKE_FOR_LIKE_SEED,
                      PLAN_FAMILY,
                      break_even_capex,
                      compare_owned,
                      compare_useful_work,
                      matched_rents,
                      matched_serving,
                      owned_gpu_hour_price,
                      owned_gpu_hour_quote,
                      parity_price,
                      per_token_cost,
                      rented_gpu_hour_price,
                      training_throughput,
                      useful_work_cost,
)
from .data import (
                      BASES,
                      EPOCH_ATTRIBUTION,
                      HOST_INCLUDED_BASES,
                      HOURS_PER_MONTH,
                      HOURS_PER_YEAR,
                      PARAMETER_COLUMNS,
                      REFERENCE_SCENARIO,
                      NoPurchasePriceError,
                      Param,
                      cloud_price,
                      cloud_price_rows,
                      commitment_pairs,
                      commitment_ratio,
                      company_fact,
                      company_facts,
                      contract_default,
                      defaults,
                      electricity_prices,
                      epoch_hardware_prices,
                      epoch_rental_series,
                      network_costs,
                      parameter,
                      parameter_table,
                      parameters,
                      purchase_price,
                      purchase_prices,
                      rental_price,
                      rental_prices,
                      rental_trend,
                      software_stack,
                      tco_benchmarks,
                      useful_life_policies,
)
from .deal import UNKNOWNS, DealPnL, deal_pnl
from .figures import (
                      OWNED_COST_DRAWS,
                      OWNED_COST_SEED,
                      OWNED_FIGURES,
                      owned_cost_band,
                      owned_cost_bridge,
                      owned_cost_figures,
)
from .finance import (
                      OPERATOR_PARAMS,
                      PATHS,
                      RETIRE_RULES,
                      VALUE_CURVES,
                      ProviderView,
                      annuity_factor,
                      exponential_value,
                      irr,
                      irr_array,
                      npv,
                      operator_cash_flows,
                      operator_inputs,
                      payback_band,
                      payback_years,
                      provider_view,
                      residual_value,
                      straight_line_value,
                      tco,
                      tco_arrays,
                      tco_total,
)
from .montecarlo import monte_carlo, monte_carlo_owned_cost, owned_specs, sample_parameters, tornado
from .owned import (
                      DEPRECIATION,
                      NETWORK,
                      NETWORK_PORT_PARAMS,
                      OWNED_PARAMS,
                      OwnedCost,
                      RentOrOwn,
                      break_even_utilization,
                      cluster_power,
                      fabric_count_factors,
                      fabric_network_counts,
                      network_capex_per_gpu,
                      optics_price_ratio,
                      owned_components,
                      owned_cost_per_gpu_hour,
                      owned_input_names,
                      owned_inputs,
                      rent_vs_own,
                      rent_vs_own_curve,
                      rental_cost_per_gpu_hour,
)
from .runs import (
                      EpochCost,
                      RunCost,
                      ZyphraBill,
                      cost_per_million_tokens,
                      epoch_amortized_cost,
                      gpu_hours_for,
                      gpu_hours_from_estimate,
                      run_cost,
                      training_flop,
                      zyphra_bill,
)
from .uncertainty import Band, PaybackBand, band, distribution_mean, fmt_band, percentiles

_irr = irr  # the old private name, kept for scripts that imported it

__all__ = [
    # data
    "HOURS_PER_YEAR", "HOURS_PER_MONTH", "EPOCH_ATTRIBUTION", "BASES", "HOST_INCLUDED_BASES", "Param", "NoPurchasePriceError",
    "parameter_table", "parameters", "parameter", "PARAMETER_COLUMNS", "defaults", "purchase_prices", "purchase_price", "electricity_prices",
    "useful_life_policies", "network_costs", "company_facts", "company_fact", "tco_benchmarks", "epoch_hardware_prices",
    "epoch_rental_series", "rental_trend", "rental_prices", "rental_price", "cloud_price", "cloud_price_rows",
    "commitment_pairs", "commitment_ratio", "contract_default",
    "software_stack", "REFERENCE_SCENARIO",
    # owned cost
    "OWNED_PARAMS", "NETWORK_PORT_PARAMS", "DEPRECIATION", "NETWORK", "OwnedCost", "RentOrOwn", "owned_inputs",
    "owned_components", "owned_cost_per_gpu_hour", "network_capex_per_gpu", "rental_cost_per_gpu_hour",
    "break_even_utilization", "rent_vs_own", "rent_vs_own_curve", "cluster_power", "owned_input_names", "fabric_network_counts", "fabric_count_factors", "optics_price_ratio",
    # finance
    "OPERATOR_PARAMS", "PATHS", "RETIRE_RULES", "VALUE_CURVES", "ProviderView", "annuity_factor", "npv", "irr", "irr_array",
    "payback_years", "payback_band", "straight_line_value", "exponential_value", "residual_value", "operator_inputs",
    "operator_cash_flows", "provider_view", "tco", "tco_total", "tco_arrays",
    # uncertainty
    "Band", "PaybackBand", "band", "distribution_mean", "percentiles", "fmt_band", "sample_parameters", "monte_carlo",
    "monte_carlo_owned_cost", "owned_specs", "tornado",
    # runs
    "RunCost", "EpochCost", "ZyphraBill", "training_flop", "gpu_hours_for", "gpu_hours_from_estimate",
    "run_cost", "cost_per_million_tokens", "zyphra_bill", "epoch_amortized_cost",
    # comparisons and the deal
    "PLAN_FAMILY", "per_token_cost", "parity_price", "training_throughput", "matched_rents", "matched_serving", "compare_owned",
    "LIKE_FOR_LIKE_DRAWS", "LIKE_FOR_LIKE_SEED", "owned_gpu_hour_quote", "owned_gpu_hour_price", "rented_gpu_hour_price",
    "break_even_capex", "useful_work_cost", "compare_useful_work", "DealPnL", "deal_pnl", "UNKNOWNS",
    # which owned-cost figure
    "OWNED_COST_DRAWS", "OWNED_COST_SEED", "OWNED_FIGURES", "owned_cost_band", "owned_cost_figures", "owned_cost_bridge",
]

from ..errors import name_keywords_of as _name_keywords_of  # noqa: E402

_name_keywords_of(globals(), __all__, "il.economics")   # a misspelt keyword names the nearest parameter
