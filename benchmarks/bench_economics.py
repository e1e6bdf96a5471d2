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

The like-for-like owned price (``il.economics.owned_gpu_hour_quote``, the one owned price of
a GPU-hour: notebooks 05, 07, 08, 09) is timed the same way, end to end with its caches
cleared: the kernel path (the same kernel, with the quote's ``scale`` factors) against the
numpy path it replaced (``compare._like_for_like_reference``: ``uncertainty.sample`` then the
vectorized formula, then the same P5/P50/P95), sizes 1e5, 1e6 and 1e7 draws (1e7: the numpy
path once, its median of one; it took 288 s on the busy 2-core machine and about 2 GB). The
two are checked to agree (rtol 1e-14; the kernel's ``pow`` and numpy's SIMD ``pow`` differ
in the last bit) before timing.

Headline figures are printed last as ``name=value`` lines.
"""

from __future__ import annotations

import numpy as np
from _timing import median_time

import infra_lab as il

E = il.economics


def _quote_reference(acc: str, n: int) -> dict:
    """owned_gpu_hour_quote(acc, n=n) on the numpy path, as it ran before the kernel."""
    from infra_lab.economics import compare as C
    from infra_lab.economics import uncertainty as U

    p, cb, _ = C._purchase(acc, None, "baseboard", where="bench")
    cost = C._like_for_like_reference(acc, p, n, C.LIKE_FOR_LIKE_SEED, (), C._catalog_tdp(acc, "bench"), (),
                                      C._host_spec(acc, cb))
    b = U.band(cost)
    return {"usd_per_gpu_hour": b.p50, "p5": b.p5, "p95": b.p95}


def _quote_kernel(acc: str, n: int) -> dict:
    """owned_gpu_hour_quote(acc, n=n) with its caches cleared (so each call draws again)."""
    from infra_lab.economics import compare as C

    C._owned_quote.cache_clear()
    C._like_for_like_draws.cache_clear()
    return E.owned_gpu_hour_quote(acc, n=n)


def quote_main() -> dict[int, tuple[float, float]]:
    results = {}
    print(f"{'quote draws':>12} {'kernel [s]':>11} {'numpy [s]':>10} {'speed-up':>9}")
    for n in (100_000, 1_000_000, 10_000_000):
        a, b = _quote_kernel("MI300X", n), _quote_reference("MI300X", n)
        for k in ("usd_per_gpu_hour", "p5", "p95"):
            np.testing.assert_allclose(a[k], b[k], rtol=1e-14)
        reps_k = 5 if n < 10_000_000 else 3
        reps_r = 5 if n < 10_000_000 else 1
        t_k = median_time(lambda n=n: _quote_kernel("MI300X", n), reps_k)
        t_r = median_time(lambda n=n: _quote_reference("MI300X", n), reps_r)
        results[n] = (t_k, t_r)
        print(f"{n:>12,} {t_k:>11.3f} {t_r:>10.3f} {t_r / t_k:>9.1f}")
    return results


def main() -> None:
    quotes = quote_main()
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
    t_k, t_r = quotes[10_000_000]
    print(f"owned_gpu_hour_quote_1e7_kernel_s={t_k:.3f}")
    print(f"owned_gpu_hour_quote_1e7_numpy_s={t_r:.3f}")
    print(f"owned_gpu_hour_quote_1e7_speedup={t_r / t_k:.1f}")


if __name__ == "__main__":
    main()
