"""Numba kernel for the owned cost per useful GPU-hour, with a plain numpy reference.

Both functions take one array per input (all the same length ``n``, one entry per Monte
Carlo sample) plus two scalars, and return an array of ``n`` costs [USD per useful
GPU-hour]. Nothing here reads data or draws random numbers: the public API in
``infra_lab.economics`` validates, draws the samples from an explicit seed and calls one of
these. The formula (see ``infra_lab.economics.owned_cost_per_gpu_hour``)::

    capex      = capex_usd_per_gpu * server_overhead / (1 - interconnect_fraction)
                 + network_usd_per_gpu
    capital/h  = capex * CRF(r, L) / H            (method 0: straight line + annuity)
               = capex * (delta + r) / H          (method 1: exponential decay, user cost)
    facility/h = tdp_W/1000 * server_power_ratio * colo_usd_per_kW_month * 12 / H
    energy/h   = tdp_W/1000 * server_power_ratio * avg_power_fraction * pue * usd_per_kWh
    cost       = (capital/h + facility/h) / utilization + energy/h

with CRF(r, L) = r / (1 - (1 + r)^-L) (1/L when r = 0) and H hours per year.
"""

from __future__ import annotations

import numpy as np
from numba import njit

STRAIGHT_LINE = 0
EXPONENTIAL = 1


@njit(cache=True)
def _crf(rate: float, years: float) -> float:
    if rate == 0.0:
        return 1.0 / years
    return rate / (1.0 - (1.0 + rate) ** (-years))


@njit(cache=True)
def owned_cost_kernel(capex_usd_per_gpu, server_overhead, interconnect_fraction,
                      network_usd_per_gpu, life_years, decay_per_year, cost_of_capital,
                      tdp_W, server_power_ratio, avg_power_fraction, pue,
                      electricity_usd_per_kWh, colocation_usd_per_kW_month, utilization,
                      method, hours_per_year):
    """Owned cost [USD per useful GPU-hour] for each sample; ``method`` 0 = straight line
    with an annuity over ``life_years``, 1 = exponential decay at ``decay_per_year`` [1/yr]
    plus the cost of capital (the user cost of capital)."""
    n = capex_usd_per_gpu.shape[0]
    out = np.empty(n)
    for i in range(n):
        capex = (capex_usd_per_gpu[i] * server_overhead[i] / (1.0 - interconnect_fraction[i])
                 + network_usd_per_gpu[i])
        r = cost_of_capital[i]
        if method == 0:
            charge = _crf(r, life_years[i])
        else:
            charge = decay_per_year[i] + r
        capital_h = capex * charge / hours_per_year
        server_kW = tdp_W[i] * 1e-3 * server_power_ratio[i]
        facility_h = server_kW * colocation_usd_per_kW_month[i] * 12.0 / hours_per_year
        energy_h = server_kW * avg_power_fraction[i] * pue[i] * electricity_usd_per_kWh[i]
        out[i] = (capital_h + facility_h) / utilization[i] + energy_h
    return out


def owned_cost_reference(capex_usd_per_gpu, server_overhead, interconnect_fraction,
                         network_usd_per_gpu, life_years, decay_per_year, cost_of_capital,
                         tdp_W, server_power_ratio, avg_power_fraction, pue,
                         electricity_usd_per_kWh, colocation_usd_per_kW_month, utilization,
                         method, hours_per_year):
    """Plain numpy version of :func:`owned_cost_kernel` (same arguments, same result)."""
    capex = (np.asarray(capex_usd_per_gpu) * server_overhead / (1.0 - np.asarray(interconnect_fraction))
             + network_usd_per_gpu)
    r = np.asarray(cost_of_capital, dtype=float)
    life = np.asarray(life_years, dtype=float)
    if method == STRAIGHT_LINE:
        with np.errstate(divide="ignore", invalid="ignore"):
            crf = np.where(r == 0.0, 1.0 / life, r / (1.0 - (1.0 + r) ** (-life)))
        charge = crf
    else:
        charge = np.asarray(decay_per_year) + r
    capital_h = capex * charge / hours_per_year
    server_kW = np.asarray(tdp_W) * 1e-3 * server_power_ratio
    facility_h = server_kW * colocation_usd_per_kW_month * 12.0 / hours_per_year
    energy_h = server_kW * avg_power_fraction * pue * electricity_usd_per_kWh
    return (capital_h + facility_h) / utilization + energy_h
