"""Configurations per second of ``il.serve_search``, the serving kernel alone and the
independent plain-Python reference, measured in the same run.

Two search spaces (every consistent tp/pp/dp/ep split, DP attention, weight and KV precision
and concurrency of the scenario's GPUs):

* dense: Llama 3.3 70B on 64 MI300X (8 nodes);
* MoE: DeepSeek-V3 on 64 H200 (8 nodes), with EP and DP attention.

For each: the number of configurations; ``il.serve_search(top=None, pareto=False)`` end to
end (inputs, kernel, polars frame, Pareto front), median of repeats after a warm-up call; the
kernel alone on the same configuration array; the reference on a sample, checked to agree
with the kernel first. Wall-clock medians, and configurations per CPU-second of this process
(all threads) with the load average, because the machine may be shared. Headline figures are
printed last as name=value lines.

Run: .venv/bin/python benchmarks/bench_serve.py [--repeats N] [--sample N]
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np

import infra_lab as il
from infra_lab import serving as S
from infra_lab._kernels import serving as K

CONCURRENCIES = [1, 2, 4, 8, 12, 16, 24, 32, 48, 64, 96, 128, 192, 256, 384, 512, 768, 1024]


def spaces():
    dense = il.Scenario.from_dict({
        "name": "llama3.3-70b-64xmi300x", "model": {"preset": "llama3.3-70b"},
        "hardware": {"accelerator": "MI300X", "nodes": 8, "gpus_per_node": 8},
        "serving": {"engine": "vllm", "tp": 8, "dp": 8, "input_tokens": 2048, "output_tokens": 512},
    })
    moe = il.Scenario.from_dict({
        "name": "deepseek-v3-64xh200", "model": {"preset": "deepseek-v3"},
        "hardware": {"accelerator": "H200", "nodes": 8, "gpus_per_node": 8},
        "serving": {"engine": "sglang", "tp": 8, "dp": 8, "ep": 8, "weight_precision": "fp8",
                    "input_tokens": 2048, "output_tokens": 512},
    })
    return {"dense": dense, "moe": moe}


def kernel_inputs(sc):
    """The configuration array and kernel inputs serve_search builds (same code path)."""
    spec, hw, sv = sc.model_spec, sc.hardware, sc.serving
    params = S._stack_params(sc, None)
    plans = np.array(S._plans(spec, hw), dtype=np.float64)
    wps = ["bf16"] + [p for p in ("fp8", "fp4") if p in hw.accelerator_spec.peak_flops]
    base = S._cfg_row(sv)
    idx = np.indices((len(plans), len(wps), 2, len(CONCURRENCIES))).reshape(4, -1)
    cfg = np.tile(base, (idx.shape[1], 1))
    for j, col in enumerate((K.K_TP, K.K_PP, K.K_DP, K.K_EP, K.K_DPA)):
        cfg[:, col] = plans[idx[0], j]
    cfg[:, K.K_WPREC] = np.array([S._WPREC.index(w) for w in wps], dtype=float)[idx[1]]
    cfg[:, K.K_KVPREC] = idx[2]
    cfg[:, K.K_CONC] = np.array(CONCURRENCIES, dtype=float)[idx[3]]
    tps = sorted({int(t) for t in plans[:, 0]})
    etps = sorted({int(t * (d if a else 1)) // int(e) for t, _p, d, e, a in plans})
    eps = sorted({int(e) for e in plans[:, 3]})
    return cfg, S.serving_inputs(spec, hw, params, tps, etps, eps, stack=sc.stack), params


def timed(fn, repeats):
    """(median wall s, median CPU s) of repeats calls after one warm-up call."""
    fn()
    wall, cpu = [], []
    for _ in range(repeats):
        w0, c0 = time.perf_counter(), time.process_time()
        fn()
        wall.append(time.perf_counter() - w0)
        cpu.append(time.process_time() - c0)
    return float(np.median(wall)), float(np.median(cpu))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--sample", type=int, default=12)
    a = ap.parse_args()
    import numba

    print(f"threads={numba.get_num_threads()} load_average={os.getloadavg()[0]:.2f}")
    results = {}
    for name, sc in spaces().items():
        cfg, inp, params = kernel_inputs(sc)
        n = cfg.shape[0]
        kw = {"top": None, "pareto": False, "concurrencies": CONCURRENCIES}
        frame = il.serve_search(sc, **kw)
        assert frame.height == n, (frame.height, n)
        w_search, c_search = timed(lambda sc=sc, kw=kw: il.serve_search(sc, **kw), a.repeats)
        w_kernel, c_kernel = timed(lambda cfg=cfg, inp=inp: S._run(cfg, inp), a.repeats)
        # the reference on a sample, checked against the kernel first
        out = S._run(cfg, inp)
        rng = np.random.default_rng(0)
        pick = rng.choice(n, size=min(a.sample, n), replace=False)
        t0 = time.perf_counter()
        for i in pick:
            ref = S._reference_one(S._scenario_of(sc, cfg[i]), params, float(cfg[i, K.K_CONC]))
            np.testing.assert_allclose(ref, out[i], rtol=1e-9, atol=1e-12)
        t_ref = (time.perf_counter() - t0) / len(pick)
        results[name] = {"configs": n, "search_per_s": n / w_search, "search_per_cpu_s": n / c_search,
                         "kernel_per_s": n / w_kernel, "kernel_per_cpu_s": n / c_kernel, "reference_per_s": 1 / t_ref}
        r = results[name]
        print(f"{name}: {n} configurations | serve_search {w_search:.3f} s ({r['search_per_s']:,.0f}/s, "
              f"{r['search_per_cpu_s']:,.0f}/CPU-s) | kernel {w_kernel:.3f} s ({r['kernel_per_s']:,.0f}/s, "
              f"{r['kernel_per_cpu_s']:,.0f}/CPU-s) | reference {t_ref * 1e3:.1f} ms per configuration "
              f"({r['reference_per_s']:.1f}/s); kernel = reference on {len(pick)} sampled configurations")
    print(f"load_average_after={os.getloadavg()[0]:.2f}")
    for name, r in results.items():
        print(f"{name}_configs={r['configs']}")
        print(f"{name}_serve_search_configs_per_s={r['search_per_s']:.0f}")
        print(f"{name}_serve_search_configs_per_cpu_s={r['search_per_cpu_s']:.0f}")
        print(f"{name}_kernel_configs_per_s={r['kernel_per_s']:.0f}")
        print(f"{name}_reference_configs_per_s={r['reference_per_s']:.2f}")
        print(f"{name}_speedup_vs_reference={r['search_per_s'] / r['reference_per_s']:.0f}")


if __name__ == "__main__":
    main()
