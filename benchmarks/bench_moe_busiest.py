"""Benchmark: the busiest-rank expert table's Monte Carlo (``compute.moe_busiest_rank_experts_table``,
built at the first ``il.serve`` / ``il.serve_search`` call or notebook 07 pick of a MoE with a
group limit, once per expert-parallel size).

DeepSeek-V3 (256 experts, top-8, 4 of 8 groups) at ep = 8 and 64, the default 4,096 draws to the
table's end: the reference kernel (``busiest_rank_experts_kernel``, one numba ``np.random.randint``
call per draw) and the table's kernel (``busiest_rank_experts_mt_kernel``, the same generator
inlined), checked equal before timing. Medians of several repeats after a warm-up (numba's
compile / cache load is not timed). Headline figures are printed last as ``name=value`` lines.

Usage: ``python benchmarks/bench_moe_busiest.py [repeats]``.
"""

from __future__ import annotations

import sys
from functools import partial

import numpy as np
from _timing import median_time

from infra_lab._kernels.moe import busiest_rank_experts_kernel, busiest_rank_experts_mt_kernel
from infra_lab.compute import moe


def main(repeats: int = 3) -> None:
    E, k, G, M = 256, 8, 8, 4
    heads = []
    for n in (8, 64):
        _, trials, seed = moe._busiest_method("auto", E, k, n, G, M, None, 0)
        T = moe._saturation_tokens(E, k, n)
        ref, new = np.empty(T + 1), np.empty(T + 1)
        busiest_rank_experts_kernel(E, k, n, G, M, T, trials, seed, ref)
        busiest_rank_experts_mt_kernel(E, k, n, G, M, T, trials, seed, new)
        if not np.array_equal(ref, new):
            raise SystemExit(f"ep {n}: the kernels disagree")
        t_ref = median_time(partial(busiest_rank_experts_kernel, E, k, n, G, M, T, trials, seed, ref), repeats)
        t_new = median_time(partial(busiest_rank_experts_mt_kernel, E, k, n, G, M, T, trials, seed, new), repeats)
        print(f"DeepSeek-V3 ep {n}: {trials} draws x {T} tokens; np.random kernel {t_ref:.3f} s, "
              f"inlined generator {t_new:.3f} s ({t_ref / t_new:.2f}x)")
        heads += [(f"busiest_ep{n}_reference_s", t_ref), (f"busiest_ep{n}_kernel_s", t_new)]
    for name, v in heads:
        print(f"{name}={v:.4f}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 3)
