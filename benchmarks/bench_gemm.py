"""Benchmark: the compute model's kernels and op tables.

1. Plain GEMMs: the same random shapes (M, N, K log-uniform in [16, 65536], batch 1) on MI300X
   at BF16 through ``gemm_kernel`` (numba) and ``gemm_reference`` (plain Python), checked to
   agree on a sample before timing.
2. Grouped GEMMs: random MoE-like problems (16 groups of multinomial rows, N, K in
   {1024, 2048, 4096, 7168}) through ``grouped_gemm_kernel`` and its reference.
3. ``layer_ops`` end to end for the models the training search builds tables for, uncached
   (a new seed each call, so the per-expert counts and the table are recomputed): the step
   model calls it once per (tp, micro-batch, cp, ep) layout.

Medians of several repeats; the kernels are warmed up first (numba's compile / cache load is
not timed). Usage: ``python benchmarks/bench_gemm.py [n_shapes]``. Headline figures are printed
last as ``name=value`` lines.
"""

from __future__ import annotations

import sys

import numpy as np
from _timing import median_time

from infra_lab import compute
from infra_lab._kernels import gemm as kg


def plain(n: int) -> dict[str, float]:
    rng = np.random.default_rng(20250930)
    ms, ns, ks = (np.rint(np.exp(rng.uniform(np.log(16), np.log(65536), n))).astype(np.int64)
                  for _ in range(3))
    bs = np.ones(n, dtype=np.int64)
    g = compute.gemm_model("MI300X", "bf16")
    e1, t1 = kg.empty_outputs(n)
    e2, t2 = kg.empty_outputs(n)
    sub = slice(0, min(n, 20_000))
    a1, b1 = kg.empty_outputs(sub.stop)
    a2, b2 = kg.empty_outputs(sub.stop)
    kg.gemm_kernel(ms[sub], ns[sub], ks[sub], bs[sub], *g.args(), a1, b1)
    kg.gemm_reference(ms[sub], ns[sub], ks[sub], bs[sub], *g.args(), a2, b2)
    np.testing.assert_allclose(b1, b2, rtol=1e-12)
    t_nb = median_time(lambda: kg.gemm_kernel(ms, ns, ks, bs, *g.args(), e1, t1), 7)
    t_ref = median_time(lambda: kg.gemm_reference(ms, ns, ks, bs, *g.args(), e2, t2), 3)
    np.testing.assert_allclose(t1, t2, rtol=1e-12)
    t_api = median_time(lambda: compute.gemm_times(ms, ns, ks, "MI300X", "bf16"), 5)
    print(f"plain GEMMs: {n:,} shapes (MI300X bf16; {g.tile_m.size} macro-tiles x {g.splits.size} "
          f"split-K options + stream-K)")
    print(f"  {'path':<28} {'median [s]':>11} {'evals/s':>14}")
    for name, t in (("numba kernel", t_nb), ("plain-Python reference", t_ref), ("compute.gemm_times (API)", t_api)):
        print(f"  {name:<28} {t:>11.4f} {n / t:>14,.0f}")
    return {"nb": t_nb, "ref": t_ref, "n": n}


def grouped(n: int) -> dict[str, float]:
    rng = np.random.default_rng(7)
    G = 16
    dims = np.array([1024, 2048, 4096, 7168])
    rows = rng.integers(256, 16384, n)
    gms = np.concatenate([rng.multinomial(r, np.full(G, 1 / G)) for r in rows]).astype(np.int64)
    gns = np.repeat(rng.choice(dims, n), G).astype(np.int64)
    gks = np.repeat(rng.choice(dims, n), G).astype(np.int64)
    offs = np.arange(0, (n + 1) * G, G, dtype=np.int64)
    g = compute.gemm_model("MI300X", "bf16")
    e1, t1 = kg.empty_outputs(n)
    e2, t2 = kg.empty_outputs(n)
    kg.grouped_gemm_kernel(offs, gms, gns, gks, 0, *g.args(), e1, t1)
    m = min(n, 500)
    a2, b2 = kg.empty_outputs(m)
    kg.grouped_gemm_reference(offs[:m + 1], gms, gns, gks, 0, *g.args(), a2, b2)
    np.testing.assert_allclose(t1[:m], b2, rtol=1e-12)
    t_nb = median_time(lambda: kg.grouped_gemm_kernel(offs, gms, gns, gks, 0, *g.args(), e1, t1), 7)
    t_ref = median_time(lambda: kg.grouped_gemm_reference(offs, gms, gns, gks, 0, *g.args(), e2, t2), 3)
    np.testing.assert_allclose(t1, t2, rtol=1e-12)
    print(f"grouped GEMMs: {n:,} problems of {G} groups")
    for name, t in (("numba kernel", t_nb), ("plain-Python reference", t_ref)):
        print(f"  {name:<28} {t:>11.4f} {n / t:>14,.0f} problems/s")
    return {"nb": t_nb, "ref": t_ref, "n": n}


def op_tables() -> dict[str, float]:
    cases = [("llama3-8b", {}), ("zaya1-base", {}), ("qwen3-30b-a3b", {"ep": 8}), ("deepseek-v3", {"ep": 8})]
    out = {}
    print("layer_ops, fwd + bwd, s = 4096, b = 1, MI300X, uncached (new seed per call)")
    for name, kw in cases:
        compute.layer_ops(name, 4096, 1, 1, "MI300X", passes=("fwd", "bwd"), **kw)
        seeds = iter(range(1, 10_000))

        def call(name=name, kw=kw, seeds=seeds):
            return compute.layer_ops(name, 4096, 1, 1, "MI300X", passes=("fwd", "bwd"), seed=next(seeds), **kw)

        t = median_time(call, 15)
        out[name] = t
        print(f"  {name:<16} {str(kw):<10} {t * 1e3:8.2f} ms")
    return out


def main(n: int = 1_000_000) -> None:
    p = plain(n)
    g = grouped(max(2_000, n // 100))
    o = op_tables()
    print(f"gemm_numba_median_s={p['nb']:.5f}")
    print(f"gemm_reference_median_s={p['ref']:.3f}")
    print(f"gemm_numba_evals_per_s={p['n'] / p['nb']:.0f}")
    print(f"gemm_speedup={p['ref'] / p['nb']:.1f}")
    print(f"grouped_numba_problems_per_s={g['n'] / g['nb']:.0f}")
    print(f"grouped_speedup={g['ref'] / g['nb']:.1f}")
    for name, t in o.items():
        print(f"layer_ops_{name.replace('-', '_').replace('.', '_')}_ms={t * 1e3:.2f}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000)
