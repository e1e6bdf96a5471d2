"""Benchmark: the owned-cost Monte Carlo (numba kernel vs the plain numpy reference).

Sizes 1e4, 1e5, 1e6 samples; medians of several repeats, after a warm-up call (so numba's
compile or cache load is not timed). The draws are made once per size, outside the timed
kernel; the end-to-end figure (draw + kernel, ``il.economics.monte_carlo_owned_cost``) is
timed separately. Target: one million samples of the owned-cost model in < 0.5 s.

Measured while writing the kernel (2 shared cores): ``parallel=True`` gave only ~1.3x on the
kernel, which is memory-bound and a small part of the end-to-end time, so it stays serial.

Headline figures are printed last as ``name=value`` lines.
"""

from __future__ import annotations

import math

import numpy as np
from _timing import median_time

import infra_lab as il
from infra_lab._kernels import economics as K

E = il.economics


def _args(n: int, seed: int = 1):
    s = E.sample_parameters(n, seed, "MI300X")
    return (s["capex_usd_per_gpu"], s["server_overhead"], s["interconnect_fraction"], np.zeros(n),
            s["life_years"], s["depreciation_ooms_per_year"] * math.log(10.0), s["cost_of_capital"],
            np.full(n, il.catalog.accelerator("MI300X").tdp_W), s["server_power_ratio"],
            s["avg_power_fraction"], s["pue"], s["electricity_usd_per_kWh"],
            s["colocation_usd_per_kW_month"], s["utilization"], K.STRAIGHT_LINE, E.HOURS_PER_YEAR)


def main() -> None:
    results = {}
    print(f"{'samples':>10} {'numba [s]':>11} {'reference [s]':>14} {'ratio':>7} {'end-to-end [s]':>15}")
    for n in (10_000, 100_000, 1_000_000):
        args = _args(n)
        a, b = K.owned_cost_kernel(*args), K.owned_cost_reference(*args)
        np.testing.assert_allclose(a, b, rtol=1e-12)  # agree before timing
        reps = 15 if n < 1_000_000 else 7
        t_nb = median_time(lambda args=args: K.owned_cost_kernel(*args), reps, warmup=True)
        t_ref = median_time(lambda args=args: K.owned_cost_reference(*args), reps, warmup=True)
        t_e2e = median_time(lambda n=n: E.monte_carlo_owned_cost(n, seed=1), max(3, reps // 2), warmup=True)
        results[n] = (t_nb, t_ref, t_e2e)
        print(f"{n:>10,} {t_nb:>11.4f} {t_ref:>14.4f} {t_ref / t_nb:>7.2f} {t_e2e:>15.4f}")
    t_nb, t_ref, t_e2e = results[1_000_000]
    print(f"owned_cost_1M_numba_kernel_s={t_nb:.4f}")
    print(f"owned_cost_1M_reference_s={t_ref:.4f}")
    print(f"numba_vs_reference_ratio={t_ref / t_nb:.2f}")
    print(f"owned_cost_1M_end_to_end_s={t_e2e:.4f}")
    print(f"owned_cost_samples_per_s={1_000_000 / t_e2e:.0f}")
    print(f"target_under_0_5_s={t_e2e < 0.5}")


if __name__ == "__main__":
    main()
