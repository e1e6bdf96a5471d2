"""Compile the package's numba kernels once, into numba's on-disk cache, before the lab opens.

The kernels are compiled on first use and cached (``cache=True``), so without this step the
first notebook a user opens pays for every kernel it touches (up to about a minute on a
2-core machine). It also stores the busiest-rank expert tables of the group-limited MoE presets
(DeepSeek-V3) in the user's on-disk cache (``infra_lab/_disk_cache.py``), so that a fresh
process's first ``il.serve`` of such a model does not run their Monte Carlo. ``make setup`` (and so ``make lab`` and ``make test``) runs this once per change
of the kernels' sources; each call below is small and exists only to make numba compile the
kernels it reaches. Together they reach every kernel the notebooks run:
benchmarks/bench_notebooks.py ``--setup`` executes each notebook right after this script, on a
cache that holds only what it compiled (no notebook compiled a kernel there when it was last
measured).

On a machine with two or more cores the training kernels (the largest part: the step kernel,
serial and parallel, its 1F1B / interleaved entries and, apart, the executed schedules' and Megatron-Core's 1F1B orders' entries
and order builders) compile in one process while the other families compile in a second; the
expansion sweep point, which reaches both, runs last.

Usage: ``.venv/bin/python tools/warm_kernels.py [--jobs N]`` (prints the time per family)."""

from __future__ import annotations

import argparse
import os
import time
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context


def _steps() -> dict:
    import infra_lab as il
    from infra_lab import economics as E
    from infra_lab import expansion as X
    from infra_lab import reliability as R

    sc = il.load_scenario("zaya1-ibm-mi300x")
    serving = il.load_scenario("maia-class-serving-mi300x")

    def fabric():
        fab = il.fabric.Fabric.build(sc.hardware)
        flows = il.fabric.step_flows("all_to_all", fab, 2**20)
        return (il.fabric.simulate_step(flows, fab, "ecmp"),
                il.fabric.simulate_step(flows, fab, "spray", completion="static"))

    def busiest_tables():
        # the Monte Carlo tables of the busiest EP rank's experts (group-limited routing, i.e.
        # DeepSeek-V3) are built at a fresh process's first il.serve / il.serve_search of such a
        # model (0.2-0.6 s each); computed here once, they are read from the user's on-disk cache
        # (infra_lab/_disk_cache.py) by every later process
        for name in il.models.preset_names():
            m = il.models.get(name)
            if m.experts and 0 < m.router_group_topk < m.router_groups:
                for ep in BUSIEST_EPS:
                    if ep <= m.experts and m.experts % ep == 0:
                        il.compute.moe_busiest_rank_experts_table(m.experts, m.top_k, ep, m.router_groups,
                                                                  m.router_group_topk)

    return {
        "training: estimate and plan search": lambda: (il.estimate(sc), il.search(sc, top=1)),
        # the executed schedules (ZB-H1, ZBV, V-Half, V-Min) go through their own entries, and so
        # do il.estimate's interleaved and plain 1F1B plans (Megatron-Core's orders executed per
        # rank and chunk)
        "training: executed pipeline schedules":
            lambda: (il.estimate(sc.replace(parallelism={"pp": 2, "vp": 2, "pp_schedule": "zbv"})),
                     il.estimate(sc.replace(parallelism={"pp": 2, "vp": 2})),
                     il.estimate(sc.replace(parallelism={"pp": 2, "vp": 1})),
                     il.search(sc, top=1, pp_schedules="all")),
        "collectives": lambda: (il.collective("all_reduce", 2**30, sc.hardware, sc.hardware.world_size),
                                il.collectives.algorithm_table("all_reduce", 2**30, sc.hardware, 16)),
        "fabric: flow routing and max-min rates": fabric,
        # the busiest-rank expert table's Monte Carlo runs at the first pick of a group-limited MoE
        # (DeepSeek-V3) in il.serve and notebook 07; compiling it there took about 4 s more
        "compute and memory: memory table, grouped GEMMs, MoE Monte Carlo":
            lambda: (il.memory.training_memory(sc), il.compute.device_check_table(),
                     il.compute.moe_load_imbalance(4096, 64, 8, 8, method="monte_carlo", trials=10),
                     il.compute.moe_busiest_rank_experts_table(16, 2, 2, 4, 2, trials=16)),
        "multimodal: sequence packing": lambda: il.multimodal.pack([300, 700, 200, 900], 1024),
        "serving: serve and serve_search": lambda: (il.serve(serving), il.serve_search(serving, top=1)),
        "serving: busiest-rank expert tables of group-limited MoEs (on-disk cache)": busiest_tables,
        "economics: owned-cost Monte Carlo": lambda: E.monte_carlo_owned_cost(1_000, seed=0),
        "reliability: run Monte Carlo": lambda: R.simulate(R.plan_run(sc, 100.0), 100, seed=0),
        "expansion: one sweep point": lambda: X.evaluate(*(X.sweep_grid()[k][0] for k in
                                                           ("platform", "nic", "target_gpus", "model"))),
    }


BUSIEST_EPS = (2, 4, 8, 16, 32, 64)
"""Expert-parallel sizes whose busiest-rank tables are stored (one node and up to 8 nodes of 8)."""
LAST = "expansion: one sweep point"
"""Reaches the training and the serving kernels: run after both groups."""


def _run(names: list[str]) -> list[tuple[str, float]]:
    steps = _steps()
    out = []
    for name in names:
        t0 = time.perf_counter()
        steps[name]()
        out.append((name, time.perf_counter() - t0))
        print(f"  {name}: {out[-1][1]:.1f} s", flush=True)
    return out


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--jobs", type=int, default=min(2, os.cpu_count() or 1),
                    help="processes compiling at once (1 or 2; default 2 where there are two cores)")
    args = ap.parse_args(argv)
    names = list(_steps())
    first = [n for n in names if n.startswith("training")]
    rest = [n for n in names if n not in first and n != LAST]
    t_all = time.perf_counter()
    if args.jobs >= 2:
        with ProcessPoolExecutor(max_workers=2, mp_context=get_context("spawn")) as pool:
            list(pool.map(_run, [first, rest]))
    else:
        _run(first + rest)
    _run([LAST])
    print(f"numba kernels compiled and cached in {time.perf_counter() - t_all:.1f} s")


if __name__ == "__main__":
    main()
