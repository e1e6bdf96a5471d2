"""Benchmark: the collective kernel and the flow-level fabric simulation on the Zyphra-like
cluster (128 nodes × 8 MI300X, 8 Pollara-400 rails, two-tier rails-only at 64 ports, PXN on).

(1) ``auto`` selection for ONE call at kernel level: ``best_collective(op, -1, size, n, k, P)``
    — the library's tuner over every enabled algorithm × protocol pair, then the cost of the
    chosen pair — timed per call in a numba loop over 10,000 different sizes (so the figure
    is the kernel's own cost, not Python's call overhead), against the independently written
    plain-Python reference doing the same work per call. Also the Python wrapper
    ``il.collective`` (validation + parameter lookup + kernel) per call, for scale.
(2) the max-min fair rate solve: one ring all-reduce step (8,192 flows) and one cross-leaf
    halving/doubling step (1,024 flows), numba vs the plain-Python reference;
(3) the full 1,024-GPU all-to-all (1,047,552 flows): route + numba max-min solve (the
    reference is timed on a 16-node slice; on the full case it would take minutes).

Medians are printed; headline figures come last as name=value lines.

    .venv/bin/python benchmarks/bench_fabric.py [--repeat 7]
"""

from __future__ import annotations

import argparse

import numpy as np
from _timing import median_time
from numba import njit

import infra_lab as il
from infra_lab import fabric as F
from infra_lab._kernels import collectives_reference as R
from infra_lab._kernels import fabric as K


@njit(cache=True)
def _auto_loop(sizes, n, k, P):
    acc = 0.0
    for i in range(sizes.shape[0]):
        acc += K.best_collective(K.OP_ALL_REDUCE, -1, sizes[i], n, k, P)[0]
    return acc


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=7)
    args = ap.parse_args()
    hw = {"accelerator": "MI300X", "nodes": 128, "nic": "Pollara-400", "fabric": "rails-only",
          "pxn": True, "host_cpu": "Xeon-Platinum-8570"}
    out = {}

    # (1) auto selection per call, kernel level, vs the plain-Python reference
    cp = il.collectives.collective_time_params(hw)
    P = cp.array
    sizes = np.logspace(3, 10, 10_000)
    _auto_loop(sizes[:2], 1024, 8, P)  # compile
    t_loop = median_time(lambda: _auto_loop(sizes, 1024, 8, P), args.repeat)
    p = R.named_vector(cp.named(), P)
    few = sizes[::50]
    t_ref = median_time(lambda: [R.collective_reference(p, "all_reduce", None, s, 1024, 8) for s in few],
                        max(1, args.repeat // 2))
    for s in few[:20]:  # same answer
        tk = K.best_collective(K.OP_ALL_REDUCE, -1, s, 1024, 8, P)[0]
        assert abs(tk - R.collective_reference(p, "all_reduce", None, s, 1024, 8)[0]) <= 1e-9 * tk
    out["auto_call_kernel_us"] = t_loop / len(sizes) * 1e6
    out["auto_call_reference_us"] = t_ref / len(few) * 1e6
    t_call = median_time(lambda: il.collective("all_reduce", 1e8, hw, 1024), 51, warmup=True)
    out["collective_wrapper_us"] = t_call * 1e6
    print(f"(1) auto selection + cost, one call (1,024 ranks, 10,000 sizes in a numba loop): "
          f"{out['auto_call_kernel_us']:.3f} µs; plain-Python reference {out['auto_call_reference_us']:.1f} µs "
          f"(x{out['auto_call_reference_us'] / out['auto_call_kernel_us']:,.0f}); il.collective() "
          f"{out['collective_wrapper_us']:.1f} µs per call")

    # (2) max-min solve on one step
    fab = F.Fabric.build(hw)
    cap = fab.capacity_Bps
    small = F.step_flows("ring", fab, 1e9)
    K.maxmin_rates(*F.route(small, fab, "ecmp"), cap)
    for name, fl in (("ring", F.step_flows("ring", fab, 1e9)),
                     ("hd", F.step_flows("halving_doubling", fab, 1e9, step=6))):
        inst = F.route(fl, fab, "ecmp", seed=1)
        t_nb = median_time(lambda inst=inst: K.maxmin_rates(*inst, cap), args.repeat)
        t_rf = median_time(lambda inst=inst: K.maxmin_rates_reference(*inst, cap), max(1, args.repeat // 2))
        assert np.allclose(K.maxmin_rates(*inst, cap), K.maxmin_rates_reference(*inst, cap), rtol=1e-9)
        print(f"(2) {name:4s} step: {len(fl):>9,} flows, {inst[1].shape[0]:>10,} link entries: "
              f"numba {t_nb * 1e3:8.3f} ms, reference {t_rf * 1e3:9.1f} ms, x{t_rf / t_nb:,.0f}")
        out[f"{name}_solve_numba_ms"] = t_nb * 1e3
        out[f"{name}_solve_reference_ms"] = t_rf * 1e3
    fl = F.step_flows("ring", fab, 1e9)
    t_seed = median_time(lambda: F.simulate_step(fl, fab, "ecmp", seed=3), args.repeat)
    out["mc_seeds_per_s_ring_step"] = 1.0 / t_seed

    # (3) the 1,024-GPU all-to-all
    a2a = F.step_flows("all_to_all", fab, 1e9)
    t_route = median_time(lambda: F.route(a2a, fab, "ecmp", seed=1), 3)
    inst = F.route(a2a, fab, "ecmp", seed=1)
    t_a2a = median_time(lambda: K.maxmin_rates(*inst, cap), max(3, args.repeat // 2))
    out["a2a_route_ms"] = t_route * 1e3
    out["a2a_solve_numba_ms"] = t_a2a * 1e3
    out["a2a_route_plus_solve_s"] = t_route + t_a2a
    fab16 = F.Fabric.build(dict(hw, nodes=16))
    a16 = F.step_flows("all_to_all", fab16, 1e9)
    inst16 = F.route(a16, fab16, "ecmp", seed=1)
    t16 = median_time(lambda: K.maxmin_rates(*inst16, fab16.capacity_Bps), args.repeat)
    t16r = median_time(lambda: K.maxmin_rates_reference(*inst16, fab16.capacity_Bps), 1)
    out["a2a16_solve_numba_ms"] = t16 * 1e3
    out["a2a16_solve_reference_ms"] = t16r * 1e3
    print(f"(3) all-to-all: {len(a2a):,} flows, {inst[1].shape[0]:,} link entries: route {t_route * 1e3:.0f} ms, "
          f"numba solve {t_a2a * 1e3:.0f} ms (total {t_route + t_a2a:.2f} s); 16-node slice "
          f"({len(a16):,} flows): numba {t16 * 1e3:.1f} ms vs reference {t16r * 1e3:.0f} ms (x{t16r / t16:,.0f})")

    out["ring_speedup"] = out["ring_solve_reference_ms"] / out["ring_solve_numba_ms"]
    out["auto_speedup"] = out["auto_call_reference_us"] / out["auto_call_kernel_us"]
    for k, v in out.items():
        print(f"{k}={v:.6g}")


if __name__ == "__main__":
    main()
