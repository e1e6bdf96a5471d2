"""First calls on an empty numba cache: what a user pays before tools/warm_kernels.py has run
(a ``pip install`` of the wheel, or a cache an upgrade invalidated).

Each public call below runs in a fresh Python process whose ``NUMBA_CACHE_DIR`` is a new empty
folder, so every kernel it reaches compiles: ``import infra_lab``, then the call once (first),
then again (second: compiled, in memory). Reported per call: the first call's wall time and
the CPU time of the process [s] (numba compiles on the calling thread; CPU time is less
sensitive than wall time to other jobs on a shared machine), the second call's wall time, the
1-minute load average at the start, and the kernels whose compile took the most CPU time
(benchmarks/_compile_profile.py: self time without the callees' compiles, and the first
compile's time with them).

Calls (the scenarios tools/warm_kernels.py warms with):

* estimate: ``il.estimate`` of zaya1-ibm-mi300x (1F1B, pp 1);
* estimate_pp2: the same plan on two pipeline stages (the 1F1B bubble's path);
* estimate_zbv: the same on two stages under ZBV (an executed schedule: its order is built
  and replayed);
* search: ``il.search(top=1)`` of its plan space (above SEARCH_SERIAL_BELOW: the parallel kernel);
* search_all: ``il.search(top=1, pp_schedules="all")`` (the executed schedules ZB-H1, ZBV,
  V-Half, V-Min: their order builders and programs);
* collective: ``il.collective("all_reduce", 1 GiB)`` on its hardware;
* serve: ``il.serve`` of maia-class-serving-mi300x.

Headline figures are printed last as ``name=value`` lines (``<call>_first_s``,
``<call>_first_cpu_s``, ``<call>_second_s``, medians over ``--repeats`` fresh processes).

Run: .venv/bin/python benchmarks/bench_cold_start.py [--calls estimate,search] [--repeats 1] [--top 12]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CALLS = ("estimate", "estimate_pp2", "estimate_zbv", "search", "search_all", "collective", "serve")


def _call(name: str):
    import infra_lab as il

    sc = il.load_scenario("zaya1-ibm-mi300x")
    if name == "estimate":
        return lambda: il.estimate(sc)
    if name == "estimate_pp2":
        sc2 = sc.replace(parallelism={"pp": 2})
        return lambda: il.estimate(sc2)
    if name == "estimate_zbv":
        sc3 = sc.replace(parallelism={"pp": 2, "vp": 2, "pp_schedule": "zbv"})
        return lambda: il.estimate(sc3)
    if name == "search":
        return lambda: il.search(sc, top=1)
    if name == "search_all":
        return lambda: il.search(sc, top=1, pp_schedules="all")
    if name == "collective":
        return lambda: il.collective("all_reduce", 2**30, sc.hardware, sc.hardware.world_size)
    if name == "serve":
        serving = il.load_scenario("maia-class-serving-mi300x")
        return lambda: il.serve(serving)
    raise ValueError(f"call={name!r}: allowed {', '.join(CALLS)}")


def child(name: str, out: str) -> None:
    """In this (fresh) process: time ``import infra_lab`` and the call ``name`` twice; write
    the figures and the compile rows to ``out`` (JSON)."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from _compile_profile import CompileProfile

    prof = CompileProfile()
    t0, c0 = time.perf_counter(), time.process_time()
    fn = _call(name)            # imports infra_lab, loads the scenarios
    t_import = time.perf_counter() - t0
    n_import = len(prof.rows)
    t0, c0 = time.perf_counter(), time.process_time()
    fn()
    first, first_cpu = time.perf_counter() - t0, time.process_time() - c0
    t0 = time.perf_counter()
    fn()
    second = time.perf_counter() - t0
    prof.close()
    Path(out).write_text(json.dumps({"import_s": t_import, "first_s": first, "first_cpu_s": first_cpu,
                                     "second_s": second, "rows": prof.rows[n_import:]}))


def measure(name: str) -> dict:
    """One fresh process on one empty cache: the figures :func:`child` wrote, with the load."""
    cache = tempfile.mkdtemp(prefix="infra_lab_numba_cold_")
    fd, out = tempfile.mkstemp(suffix=".json")
    os.close(fd)
    try:
        env = {**os.environ, "NUMBA_CACHE_DIR": cache,
               "PYTHONPATH": os.pathsep.join([str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])])}
        load = os.getloadavg()[0]
        subprocess.run([sys.executable, __file__, "--child", name, "--out", out], check=True, env=env, cwd=ROOT)
        return {**json.loads(Path(out).read_text()), "load": load}
    finally:
        shutil.rmtree(cache, ignore_errors=True)
        os.unlink(out)


def main(argv: list[str] | None = None) -> dict[str, float]:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--calls", default=",".join(CALLS), help=f"comma-separated, of {', '.join(CALLS)}")
    ap.add_argument("--repeats", type=int, default=1, help="fresh processes per call, each on an empty cache")
    ap.add_argument("--top", type=int, default=12, help="kernels listed per call, by compile CPU time")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    ap.add_argument("--out", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        child(args.child, args.out)
        return {}
    calls = [c for c in args.calls.split(",") if c]
    bad = [c for c in calls if c not in CALLS]
    if bad or not calls:
        ap.error(f"--calls {args.calls!r}: allowed a comma-separated list of {', '.join(CALLS)}")
    if args.repeats < 1:
        ap.error("--repeats must be >= 1")
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from _compile_profile import summary

    res: dict[str, float] = {}
    for name in calls:
        runs = [measure(name) for _ in range(args.repeats)]
        for r in runs:
            print(f"{name:13s} first {r['first_s']:6.1f} s (cpu {r['first_cpu_s']:5.1f}, load {r['load']:4.1f})  "
                  f"second {r['second_s'] * 1e3:8.1f} ms  import {r['import_s']:4.1f} s", flush=True)
        for line in summary(runs[0]["rows"], args.top):
            print("    " + line)
        for key in ("first_s", "first_cpu_s", "second_s"):
            res[f"{name}_{key}"] = statistics.median(r[key] for r in runs)
    res["load_avg_1min_end"] = os.getloadavg()[0]
    print()
    for k, v in res.items():
        print(f"{k}={v:.3f}")
    return res


if __name__ == "__main__":
    main()
