"""Benchmark: il.sweep in-process vs a two-worker Dask LocalCluster, a search inside each point.

Each point of the sweep runs ``il.search`` (the numba plan search) for the ZAYA1 scenario at
one cluster size, global batch and sequence length, and returns the best plan. Every timed
grid uses global-batch values no earlier grid used, so each point builds its own tables (the
per-scenario cache never serves a timed point) in every mode alike.

Modes, each timed on its own fresh grids (median over repeats):

* in-process, numba with all cores (the default ``il.sweep(fn, grid)``);
* in-process, numba with 1 thread (the one-worker baseline of the scaling efficiency);
* a ``LocalCluster`` of 2 worker processes × 1 thread, numba with 1 thread per worker.

Scaling efficiency = (points/s on 2 workers) / (2 × points/s in-process on 1 thread).
This machine has 2 cores shared with other work, so the figure is a floor for a real cluster.

Run: ``python benchmarks/bench_sweep.py [--repeats 3]``; headline figures last as name=value.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import infra_lab as il  # noqa: E402

NODES = [16, 32, 64, 128]
SEQ = [2048, 4096]


def best_plan(nodes: int, global_batch: int, seq_len: int, threads: int | None = None) -> dict:
    """The best training plan (tokens/s) for ZAYA1 on ``nodes`` × 8 MI300X: one il.search."""
    import numba

    import infra_lab as il

    if threads is not None:
        numba.set_num_threads(threads)
    d = il.load_scenario("zaya1-ibm-mi300x").to_dict()
    d["hardware"]["nodes"] = nodes
    d["training"].update(global_batch=global_batch, seq_len=seq_len, micro_batch=1)
    best = il.search(d, top=1, max_micro_batch=4, max_vp=2, max_cp=2)
    row = best.row(0, named=True)
    return {"tokens_per_s": row["tokens_per_s"], "tp": row["tp"], "pp": row["pp"],
            "dp": row["dp"], "micro_batch": row["micro_batch"], "mfu": row["mfu"]}


def grid(k: int) -> dict:
    """A grid of 16 points whose global batches (1024·k, 1024·(k+1)) no other grid uses."""
    return {"nodes": NODES, "global_batch": [1024 * k, 1024 * (k + 1)], "seq_len": SEQ}


def timed(client, k: int, threads: int | None) -> float:
    g = grid(k)
    n = len(il.sweep.grid_points(g))
    t0 = time.perf_counter()
    df = il.sweep(best_plan, g, client, progress=False, fn_kwargs={"threads": threads},
                  chunk_size=2)
    dt = time.perf_counter() - t0
    if df["error"].is_not_null().any():
        raise RuntimeError(f"benchmark points failed: {il.sweep.failures(df)}")
    return n / dt


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=3)
    a = ap.parse_args()
    from dask.distributed import Client, LocalCluster

    k = iter(range(2, 1000, 2))  # fresh global batches for every grid
    # Warm-up in-process: numba kernels load from the cache, data tables load.
    il.sweep(best_plan, grid(next(k)), progress=False)
    rates = {"inproc_all": [], "inproc_1t": [], "dask_2w": []}
    t0 = time.perf_counter()
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                      dashboard_address=None) as cluster, Client(cluster) as client:
        startup = time.perf_counter() - t0
        il.sweep(best_plan, grid(next(k)), client, progress=False, chunk_size=1,
                 fn_kwargs={"threads": 1})  # warm both workers
        for _ in range(a.repeats):
            rates["inproc_all"].append(timed(None, next(k), None))
            rates["inproc_1t"].append(timed(None, next(k), 1))
            rates["dask_2w"].append(timed(client, next(k), 1))
    med = {m: statistics.median(v) for m, v in rates.items()}
    eff = med["dask_2w"] / (2 * med["inproc_1t"])
    print(f"search-inside-each-point sweep, 16 points per grid, medians of {a.repeats}")
    print(f"  in-process, numba all cores : {med['inproc_all']:6.2f} points/s  {rates['inproc_all']}")
    print(f"  in-process, numba 1 thread  : {med['inproc_1t']:6.2f} points/s  {rates['inproc_1t']}")
    print(f"  LocalCluster 2 workers x 1  : {med['dask_2w']:6.2f} points/s  {rates['dask_2w']}")
    print(f"  cluster start-up            : {startup:6.2f} s (not in the rates)")
    print(f"  machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} "
          "(other work on the machine lowers the cluster's share most)")
    print(f"  2 workers vs in-process all cores: {med['dask_2w'] / med['inproc_all']:.2f}x")
    print()
    print(f"inprocess_points_per_s={med['inproc_all']:.3f}")
    print(f"inprocess_1thread_points_per_s={med['inproc_1t']:.3f}")
    print(f"dask_2workers_points_per_s={med['dask_2w']:.3f}")
    print(f"scaling_efficiency_2workers={eff:.3f}")


if __name__ == "__main__":
    main()
