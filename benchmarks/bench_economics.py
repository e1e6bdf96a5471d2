"""Benchmark: the owned-cost Monte Carlo end to end, sampling included.

Compared in the same run: the numba kernel (draws from the counter-based stream and the
cost formula, chunk by chunk) against the numpy reference path (``uncertainty.sample`` for every input, then the vectorized
``owned_components`` formula) — ``il.economics.monte_carlo_owned_cost(backend=...)`` with
everything it does (validation, stream keys, draws, cost). Sizes 1e4, 1e5, 1e6 samples;
medians of several repeats after a warm-up call (so compilation or cache loading is not
timed); the two paths are checked to agree (rtol 1e-12) before timing.

Why the kernel samples itself: the previous design drew every input with numpy first and
spent ~90 % of the end-to-end time there, so a kernel for the formula alone saved ~7 %.
Measured while writing it (1M samples, 2 shared cores at load ~8, CPU time): one loop per
sample drawing all inputs 0.59 s; input-major chunks (each input's draws in one tight
loop) 0.15 s; numpy reference 1.21 s. A ``prange`` over chunks took 0.60 s wall against
0.42 s serial on the same busy machine, so the kernel is serial.

Headline figures are printed last as ``name=value`` lines.
"""

from __future__ import annotations

import numpy as np
from _timing import median_time

import infra_lab as il

E = il.economics


def main() -> None:
    results = {}
    print(f"{'samples':>10} {'numba [s]':>10} {'reference [s]':>14} {'speed-up':>9}")
    for n in (10_000, 100_000, 1_000_000):
        a = E.monte_carlo_owned_cost(n, seed=1, backend="numba")
        b = E.monte_carlo_owned_cost(n, seed=1, backend="reference")
        np.testing.assert_allclose(a, b, rtol=1e-12)          # agree before timing
        reps = 9 if n < 1_000_000 else 5
        t_nb = median_time(lambda n=n: E.monte_carlo_owned_cost(n, seed=1, backend="numba"), reps, warmup=True)
        t_ref = median_time(lambda n=n: E.monte_carlo_owned_cost(n, seed=1, backend="reference"), reps, warmup=True)
        results[n] = (t_nb, t_ref)
        print(f"{n:>10,} {t_nb:>10.4f} {t_ref:>14.4f} {t_ref / t_nb:>9.2f}")
    t_nb, t_ref = results[1_000_000]
    print(f"owned_cost_1M_end_to_end_numba_s={t_nb:.4f}")
    print(f"owned_cost_1M_end_to_end_reference_s={t_ref:.4f}")
    print(f"numba_vs_reference_end_to_end_ratio={t_ref / t_nb:.2f}")
    print(f"owned_cost_samples_per_s={1_000_000 / t_nb:.0f}")


if __name__ == "__main__":
    main()
