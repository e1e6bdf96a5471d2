"""Benchmark: the max-min fair rate solve on the Zyphra-like fabric (128 nodes × 8 MI300X,
8 Pollara-400 rails, two-tier rails-only at 64 ports per switch).

(a) the flows of one ring all-reduce step (8,192 flows) and of one hierarchical
    halving/doubling step across leaves (1,024 flows), ECMP-routed;
(b) a full 1,024-GPU all-to-all (1,047,552 flows), ECMP-routed.

Each solve is timed with the numba kernel and, for (a), with the plain-Python reference (on
(b) the reference would take minutes; it is timed on a 16-node slice instead). Monte Carlo
seeds per second = full route + fluid simulation per hash seed of (a). Medians are printed;
headline figures come last as name=value lines.

    .venv/bin/python benchmarks/bench_fabric.py [--repeat 7]
"""

from __future__ import annotations

import argparse

import numpy as np
from _timing import median_time

import infra_lab as il
from infra_lab import fabric as F
from infra_lab._kernels import fabric as K


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=7)
    args = ap.parse_args()
    hw = {"accelerator": "MI300X", "nodes": 128, "nic": "Pollara-400", "fabric": "rails-only"}
    fab = F.Fabric.build(hw)
    cap = fab.capacity_Bps
    out = {}

    # warm up / compile
    small = F.step_flows("ring", fab, 1e9)
    K.maxmin_rates(*F.route(small, fab, "ecmp"), cap)

    for name, fl in (("ring", F.step_flows("ring", fab, 1e9)),
                     ("hd", F.step_flows("halving_doubling", fab, 1e9, step=6))):
        inst = F.route(fl, fab, "ecmp", seed=1)
        t_nb = median_time(lambda inst=inst: K.maxmin_rates(*inst, cap), args.repeat)
        t_ref = median_time(lambda inst=inst: K.maxmin_rates_reference(*inst, cap), max(1, args.repeat // 2))
        assert np.allclose(K.maxmin_rates(*inst, cap), K.maxmin_rates_reference(*inst, cap), rtol=1e-9)
        print(f"(a) {name:4s} step: {len(fl):>9,} flows, {inst[1].shape[0]:>10,} link entries: "
              f"numba {t_nb * 1e3:8.3f} ms, reference {t_ref * 1e3:9.1f} ms, x{t_ref / t_nb:,.0f}")
        out[f"{name}_solve_numba_ms"] = t_nb * 1e3
        out[f"{name}_solve_reference_ms"] = t_ref * 1e3

    fl = F.step_flows("ring", fab, 1e9)
    t_seed = median_time(lambda: F.simulate_step(fl, fab, "ecmp", seed=3), args.repeat)
    out["mc_seeds_per_s_ring_step"] = 1.0 / t_seed
    print(f"Monte Carlo, ring step (route + fluid sim + ideal): {1 / t_seed:,.0f} seeds/s")

    a2a = F.step_flows("all_to_all", fab, 1e9)
    t_route = median_time(lambda: F.route(a2a, fab, "ecmp", seed=1), 3)
    inst = F.route(a2a, fab, "ecmp", seed=1)
    t_a2a = median_time(lambda: K.maxmin_rates(*inst, cap), max(3, args.repeat // 2))
    print(f"(b) all-to-all: {len(a2a):,} flows, {inst[1].shape[0]:,} link entries: route "
          f"{t_route * 1e3:.0f} ms, numba solve {t_a2a * 1e3:.0f} ms")
    out["a2a_route_ms"] = t_route * 1e3
    out["a2a_solve_numba_ms"] = t_a2a * 1e3

    # reference on a 16-node all-to-all slice (16,256 flows) for the ratio
    fab16 = F.Fabric.build(dict(hw, nodes=16))
    a16 = F.step_flows("all_to_all", fab16, 1e9)
    inst16 = F.route(a16, fab16, "ecmp", seed=1)
    t16 = median_time(lambda: K.maxmin_rates(*inst16, fab16.capacity_Bps), args.repeat)
    t16r = median_time(lambda: K.maxmin_rates_reference(*inst16, fab16.capacity_Bps), 1)
    print(f"    16-node all-to-all slice: {len(a16):,} flows: numba {t16 * 1e3:.2f} ms, "
          f"reference {t16r * 1e3:.0f} ms, x{t16r / t16:,.0f}")
    out["a2a16_solve_numba_ms"] = t16 * 1e3
    out["a2a16_solve_reference_ms"] = t16r * 1e3

    # the analytic cost function, for the training model
    p = il.collectives.collective_time_params(hw).array
    sizes = np.logspace(3, 10, 10_000)
    K.collective_times(0, -1, sizes[:2], 1024, 8, p)
    t_c = median_time(lambda: K.collective_times(0, -1, sizes, 1024, 8, p), args.repeat)
    t_call = median_time(lambda: il.collective("all_reduce", 1e8, hw, 1024), 51)
    out["collective_evals_per_s_kernel"] = len(sizes) / t_c
    out["collective_call_us"] = t_call * 1e6
    print(f"collective cost: {len(sizes) / t_c:,.0f} auto-evaluations/s in the kernel; "
          f"il.collective() {t_call * 1e6:.1f} µs per call")

    out["ring_speedup"] = out["ring_solve_reference_ms"] / out["ring_solve_numba_ms"]
    for k, v in out.items():
        print(f"{k}={v:.6g}")


if __name__ == "__main__":
    main()
