"""Plans per second of the parallelism-search kernel vs the plain estimate path.

Two plan spaces: a 175B dense GPT (Megatron 175B) on 1,024 H100 (128 nodes × 8) and
ZAYA1-base on 1,024 MI300X (the shipped scenario). For each: the numba kernel over every
plan (median of repeats, after a warm-up compile), the whole ``il.search`` call, the
plain-Python step model over the same plans, and ``il.estimate`` (scenario validation +
Python step model + breakdown frame) on a sample. Peers measured on this kind of machine:
Calculon ~4.9 ms per plan (~206 plans/s), llm-analysis ~0.6 ms per plan (~1,600 plans/s,
dense only). Headline figures are printed last as name=value lines.

Run: .venv/bin/python benchmarks/bench_search.py [--repeats N] [--estimate-sample N]
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np
from _timing import median_time

import infra_lab as il
from infra_lab import training as T
from infra_lab._kernels import training as kt


def spaces():
    s175 = il.Scenario.from_dict({
        "name": "gpt-175b-1024xh100",
        "model": {"preset": "megatron-175b"},
        "hardware": {"accelerator": "H100-SXM", "nodes": 128, "nic": "ConnectX-7-NDR",
                     "fabric": "rail-optimized"},
        "training": {"seq_len": 2048, "global_batch": 2048, "micro_batch": 1},
        "parallelism": {"tp": 8, "pp": 8},
    })
    return {"175b": s175, "zaya1": il.load_scenario("zaya1-ibm-mi300x")}


def run(repeats: int, sample: int) -> dict[str, float]:
    import numba

    res: dict[str, float] = {}
    print(f"numba threads: {numba.get_num_threads()}  (cores: {os.cpu_count()})")
    for name, sc in spaces().items():
        t0 = time.perf_counter()
        plans, ctx = T._prepare(sc, {}, None, None)
        prep = time.perf_counter() - t0
        n = plans.shape[0]
        out = np.empty((n, kt.N_OUT))
        kt.evaluate_plans(ctx.c, ctx.tab, plans, out)  # compile / load cache
        tk = median_time(lambda ctx=ctx, plans=plans, out=out: kt.evaluate_plans(ctx.c, ctx.tab, plans, out), repeats)
        ts = median_time(lambda sc=sc: il.search(sc, top=None, feasible_only=False), max(3, repeats // 3))
        rng = np.random.default_rng(0)
        idx = rng.choice(n, size=min(sample * 10, n), replace=False)
        sub = plans[idx]
        tr = median_time(lambda ctx=ctx, sub=sub: kt.evaluate_plans_reference(ctx.c, ctx.tab, sub), 3) / sub.shape[0]
        # the public estimate path: a Scenario per plan, then estimate (contexts cached)
        rows = []
        for p in plans[idx[:sample]]:
            tp, pp, vp, cp, ep, dp, mbs, zero, fsdp, rc, spf = (int(x) for x in p[:11])
            rows.append({**sc.to_dict(),
                         "training": {**sc.training.to_dict(), "micro_batch": mbs,
                                      "recompute": ("none", "selective", "full")[rc]},
                         "parallelism": {"tp": tp, "pp": pp, "vp": vp, "cp": cp, "ep": ep, "zero": zero,
                                         "fsdp": bool(fsdp), "sequence_parallel": bool(spf)}})
        for d in rows[:5]:
            il.estimate(d)  # warm the per-(tp, mbs, cp) compute tables out of the timing
        t = time.perf_counter()
        for d in rows:
            il.estimate(d)
        te = (time.perf_counter() - t) / len(rows)
        res[f"{name}_plans"] = n
        res[f"{name}_kernel_plans_per_s"] = n / tk
        res[f"{name}_search_plans_per_s"] = n / ts
        res[f"{name}_python_model_plans_per_s"] = 1.0 / tr
        res[f"{name}_estimate_plans_per_s"] = 1.0 / te
        print(f"\n[{name}] {sc.name}: {n:,} plans; table build (first call) {prep:.2f} s")
        print(f"  kernel (numba, parallel)    median {tk * 1e3:8.2f} ms  -> {n / tk:14,.0f} plans/s")
        print(f"  il.search (frame, sort)     median {ts * 1e3:8.2f} ms  -> {n / ts:14,.0f} plans/s")
        print(f"  Python step model           {tr * 1e6:8.2f} us/plan -> {1 / tr:14,.0f} plans/s")
        print(f"  il.estimate (public path)   {te * 1e3:8.3f} ms/plan -> {1 / te:14,.0f} plans/s")
        print(f"  kernel / estimate = {(n / tk) * te:,.0f}x ; kernel / Python model = {(n / tk) * tr:,.0f}x")
    print("\npeers on this kind of machine: Calculon ~4.9 ms/plan (~206 plans/s); "
          "llm-analysis ~0.6 ms/plan (~1,600 plans/s, dense only)")
    return res


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=15)
    ap.add_argument("--estimate-sample", type=int, default=200)
    a = ap.parse_args()
    r = run(a.repeats, a.estimate_sample)
    kernel = min(r["175b_kernel_plans_per_s"], r["zaya1_kernel_plans_per_s"])
    est = min(r["175b_estimate_plans_per_s"], r["zaya1_estimate_plans_per_s"])
    print()
    for k in ("175b_plans", "zaya1_plans", "175b_kernel_plans_per_s", "zaya1_kernel_plans_per_s",
              "175b_estimate_plans_per_s", "zaya1_estimate_plans_per_s"):
        print(f"{k}={r[k]:.0f}")
    print(f"estimate_plans_per_s={est:.0f}")
    print(f"kernel_over_estimate={kernel / est:.0f}")
    print(f"plans_per_s={kernel:.0f}")


if __name__ == "__main__":
    main()
