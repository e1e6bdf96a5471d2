"""Benchmark: the busiest-rank expert table's Monte Carlo (``compute.moe_busiest_rank_experts_table``,
needed at the first ``il.serve`` / ``il.serve_search`` call or notebook 07 pick of a MoE with a
group limit, once per expert-parallel size), and what a fresh process pays for it.

1. Kernels. DeepSeek-V3 (256 experts, top-8, 4 of 8 groups) at ep = 8 and 64, the default 4,096
   draws to the table's end: the reference kernel (``busiest_rank_experts_kernel``, one numba
   ``np.random.randint`` call per draw) and the table's kernel (``busiest_rank_experts_mt_kernel``,
   the same generator inlined), checked equal before timing. Medians of several repeats after a
   warm-up (numba's compile / cache load is not timed).
2. Fresh processes. Each call below runs in a new Python process (numba's cache already
   compiled by an untimed first run), timed from after ``import infra_lab`` to its return:
   ``table`` (the ep 8 table alone), ``pick`` (the serving explorer's DeepSeek-V3 pick,
   ``widgets.serving_update`` on 8 MI300X, the process's first serving call), ``pick_tpot`` (the
   same with a 20 ms TPOT target: also ``il.serve_search``, tables at ep 2, 4 and 8) and
   ``change`` (the pick after a first Llama 3.3 70B answer in the same process: a widget change
   in a lab whose serving kernels are already loaded). Each runs with the on-disk table cache
   off (``INFRA_LAB_CACHE_DIR=off``: the Monte Carlo runs in every process, as before the cache)
   and on a folder an earlier process filled (the cache hit), alternating, in the same run;
   medians over the repeats. Headline figures are printed last as ``name=value`` lines.

Usage: ``python benchmarks/bench_moe_busiest.py [repeats] [--fresh-only | --kernels-only]``.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from functools import partial
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
FRESH = ("table", "pick", "pick_tpot", "change")


def kernels(repeats: int) -> list[tuple[str, float]]:
    from _timing import median_time

    from infra_lab._kernels.moe import busiest_rank_experts_kernel, busiest_rank_experts_mt_kernel
    from infra_lab.compute import moe

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
    return heads


def child(name: str) -> None:
    """In this (fresh) process: import, then time the call ``name``; print its seconds as JSON."""
    import infra_lab as il
    from infra_lab.widgets.serving import serving_update

    pick = partial(serving_update, "deepseek-v3", "MI300X", "vllm", "fp8", 64, 8)
    if name == "table":
        fn = partial(il.compute.moe_busiest_rank_experts_table, 256, 8, 8, 8, 4)
    elif name == "pick":
        fn = pick
    elif name == "pick_tpot":
        fn = partial(pick, 20)
    elif name == "change":
        serving_update("llama3.3-70b", "MI300X", "vllm", "fp8", 64, 8)
        fn = pick
    else:
        raise SystemExit(f"call={name!r}: allowed {', '.join(FRESH)}")
    t0 = time.perf_counter()
    fn()
    print(json.dumps({"s": time.perf_counter() - t0}))


def run_child(name: str, cache: str) -> float:
    env = {**os.environ, "INFRA_LAB_CACHE_DIR": cache,
           "PYTHONPATH": os.pathsep.join([str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])])}
    out = subprocess.run([sys.executable, __file__, "--child", name], check=True, env=env, cwd=ROOT,
                         capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])["s"]


def fresh(repeats: int) -> list[tuple[str, float]]:
    folder = tempfile.mkdtemp(prefix="infra_lab_busiest_cache_")
    try:
        run_child("pick_tpot", folder)      # compiles what numba lacks; fills the table cache
        heads = []
        for name in FRESH:
            off, hit = [], []
            for _ in range(repeats):
                off.append(run_child(name, "off"))
                hit.append(run_child(name, folder))
            a, b = statistics.median(off), statistics.median(hit)
            print(f"fresh process, {name:9s}: cache off {a:.3f} s (runs {', '.join(f'{x:.2f}' for x in off)}), "
                  f"cache hit {b:.3f} s (runs {', '.join(f'{x:.2f}' for x in hit)})", flush=True)
            heads += [(f"fresh_{name}_cache_off_s", a), (f"fresh_{name}_cache_hit_s", b)]
        return heads
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def main(argv: list[str]) -> None:
    if argv[:1] == ["--child"]:
        child(argv[1])
        return
    flags = {a for a in argv if a.startswith("--")}
    nums = [a for a in argv if not a.startswith("--")]
    bad = flags - {"--fresh-only", "--kernels-only"}
    if bad or len(nums) > 1 or flags >= {"--fresh-only", "--kernels-only"}:
        raise SystemExit("usage: bench_moe_busiest.py [repeats] [--fresh-only | --kernels-only]")
    repeats = int(nums[0]) if nums else 3
    if repeats < 1:
        raise SystemExit(f"repeats = {repeats}: allowed an integer >= 1")
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    heads = []
    if "--fresh-only" not in flags:
        heads += kernels(repeats)
    if "--kernels-only" not in flags:
        heads += fresh(repeats)
    heads.append(("load_avg_1min_end", os.getloadavg()[0]))
    for name, v in heads:
        print(f"{name}={v:.4f}")


if __name__ == "__main__":
    main(sys.argv[1:])
