"""Benchmark: GEMM-model evaluations per second, numba kernel vs the plain-Python reference.

The same 1,000,000 random shapes (M, N, K log-uniform in [16, 65536], batch 1) on MI300X at
BF16, through ``infra_lab._kernels.gemm.gemm_kernel`` and ``gemm_reference`` with identical
arguments. The two are checked to agree on a sample before timing; the kernel is warmed up
first so numba's compile / cache load is not timed. Medians of several repeats (the
reference is slow, so fewer repeats). Usage: ``python benchmarks/bench_gemm.py [n_shapes]``.

Headline figures are printed last as ``name=value`` lines.
"""

from __future__ import annotations

import sys

import numpy as np
from _timing import median_time

from infra_lab import compute
from infra_lab._kernels import gemm as kg


def main(n: int = 1_000_000) -> None:
    rng = np.random.default_rng(20250930)
    ms, ns, ks = (np.rint(np.exp(rng.uniform(np.log(16), np.log(65536), n))).astype(np.int64)
                  for _ in range(3))
    bs = np.ones(n, dtype=np.int64)
    g = compute.gemm_model("MI300X", "bf16")
    e1, t1 = kg.empty_outputs(n)
    e2, t2 = kg.empty_outputs(n)

    # agree first (on a 20,000-shape prefix; the full arrays are compared after timing)
    sub = slice(0, min(n, 20_000))
    a1, b1 = kg.empty_outputs(sub.stop)
    a2, b2 = kg.empty_outputs(sub.stop)
    kg.gemm_kernel(ms[sub], ns[sub], ks[sub], bs[sub], *g.args(), a1, b1)
    kg.gemm_reference(ms[sub], ns[sub], ks[sub], bs[sub], *g.args(), a2, b2)
    np.testing.assert_allclose(b1, b2, rtol=1e-12)

    t_nb = median_time(lambda: kg.gemm_kernel(ms, ns, ks, bs, *g.args(), e1, t1), 7)
    t_ref = median_time(lambda: kg.gemm_reference(ms, ns, ks, bs, *g.args(), e2, t2), 3)
    np.testing.assert_allclose(t1, t2, rtol=1e-12)
    np.testing.assert_allclose(e1, e2, rtol=1e-12)
    t_api = median_time(lambda: compute.gemm_times(ms, ns, ks, "MI300X", "bf16"), 5)

    print(f"shapes: {n:,}  (MI300X, bf16; {g.tile_m.size} macro-tiles x {g.splits.size} split-K options)")
    print(f"{'path':<28} {'median [s]':>11} {'evals/s':>14}")
    print(f"{'numba kernel':<28} {t_nb:>11.4f} {n / t_nb:>14,.0f}")
    print(f"{'plain-Python reference':<28} {t_ref:>11.4f} {n / t_ref:>14,.0f}")
    print(f"{'compute.gemm_times (API)':<28} {t_api:>11.4f} {n / t_api:>14,.0f}")
    print(f"gemm_numba_median_s={t_nb:.5f}")
    print(f"gemm_reference_median_s={t_ref:.3f}")
    print(f"gemm_numba_evals_per_s={n / t_nb:.0f}")
    print(f"gemm_reference_evals_per_s={n / t_ref:.0f}")
    print(f"gemm_speedup={t_ref / t_nb:.1f}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000)
