"""Execution time of every notebook, cold and warm, headless as the notebook tests run them.

* cold: the notebook executed in a fresh kernel against an EMPTY numba cache (a new temporary
  ``NUMBA_CACHE_DIR``), as a user meets it who runs ``jupyter nbconvert --execute`` right after
  ``make setup``, or after an upgrade invalidated the cache: every kernel it touches compiles.
* setup (with ``--setup``): executed against a copy of the cache that tools/warm_kernels.py
  fills, alone, in an empty cache: what a user meets right after ``make setup`` (which runs it).
  A kernel the warm-up misses compiles here; the time is printed with the warm-up's own.
* warm: the same notebook executed again in a fresh kernel against the cache its cold run
  filled.

Each notebook is executed with the notebook tests' client (tests/test_notebooks.py's
``_notebook_client``: nbclient, the ``python3`` kernel, the tests' timeout), in a kernel whose
``PYTHONPATH`` starts with this checkout, so the package under test is the one beside this
script. Reported per notebook: the median wall time of the cold and of the warm runs [s] and
the CPU time of the kernel process [s] (user + system, the children's rusage; less sensitive
to other jobs on the machine than wall time), with the 1-minute load average at the start
of each run. The house bound is 60 s per notebook on the 2-core development machine.

Measured on the 2-core development machine, shared with up to five other jobs (1-minute load
average 6-11 during the runs, so wall times are 2-3x the kernel's CPU time), one run each,
seconds (wall, kernel CPU in brackets), before the closed-form step-kernel entries stopped
compiling the executed schedules' kernels (below):

    notebook                  cold            after warm-up   warm
    00_index                  11.1 (3.9)      13.1 (5.8)      11.1 (4.1)
    01_the_deployment         11.9 (4.7)      16.1 (6.3)      13.2 (4.9)
    02_compute_and_memory     34.1 (11.0)     21.2 (7.8)      20.1 (6.3)
    03_interconnect          135.6 (44.7)     20.1 (7.3)      20.2 (6.4)
    04_training_zaya1        149.3 (50.1)     35.1 (16.7)     46.3 (15.4)
    05_economics             136.1 (49.1)     21.0 (9.5)      25.1 (9.8)
    06_reliability           114.1 (46.3)     17.1 (7.7)      21.1 (7.3)
    07_serving_maia           63.8 (21.0)     16.0 (7.9)      23.1 (7.0)
    08_expansion_2026        222.3 (74.4)     19.0 (8.5)      26.1 (8.7)
    09_multimodal_maia       134.4 (47.9)     19.1 (6.9)      17.1 (6.1)

Cold, a notebook's CPU time is mostly numba compiling the kernels it reaches
(``--profile N`` lists them per notebook, benchmarks/_compile_profile.py; first calls alone:
benchmarks/bench_cold_start.py). The step kernel's 1F1B / interleaved entries
(``evaluate_serial``, ``evaluate_plans``) used to reach, and so compile, the executed pipeline
schedules' order builders and program tables too; they no longer do, and the executed
schedules compile only where a call uses one (notebook 04's validation rows do). First calls
on an empty cache, kernel CPU before -> after (bench_cold_start.py, load 4-6): il.estimate
33.7 -> 18.0 s (160 -> 79 signatures), il.search 43.9 -> 22.3 s, il.estimate under ZBV
32.9 -> 22.6 s, il.search(pp_schedules="all") 53.8 -> 36.1 s. Per notebook, cold, before and
after, each notebook's two runs back to back on the same machine (load 3-7, the test suite
running alongside part of the time), kernel CPU [s] (wall [s]):

    notebook                  before          after
    03_interconnect           41.6 ( 66.2)    26.6 ( 32.5)
    04_training_zaya1         52.2 ( 80.2)    45.0 (132.3)
    05_economics              43.9 ( 90.2)    29.7 ( 67.5)
    06_reliability            41.2 (105.1)    26.6 ( 57.5)
    07_serving_maia           15.8 ( 32.3)    15.5 ( 33.0)
    08_expansion_2026         52.8 ( 76.3)    33.2 ( 42.7)
    09_multimodal_maia        39.1 ( 39.8)    25.6 ( 26.2)

(00-02 reach no training kernel: unchanged, 3.8-9.6 s of CPU.)
Wall times at this load are 1-3x the CPU times. After the change, 04 (132 s wall, 45 s CPU)
and 05 (68 s) still exceeded the 60 s bound cold at this load: the remaining compile is mostly
the step kernel itself (``eval_head`` and the collective chain it calls, about 17 s of CPU for
a first estimate), which every notebook that estimates a plan needs, and 04's validation rows
run the executed schedules too (their order builders and entries, about 8 s more). After
tools/warm_kernels.py (which ``make setup`` runs; it warms the executed schedules' entries
apart) no notebook compiled a kernel (``--setup --profile``).

Headline figures are printed last as ``name=value`` lines (``<notebook>_cold_s``,
``<notebook>_warm_s``, ``max_cold_s``, ``max_warm_s``).

Run: .venv/bin/python benchmarks/bench_notebooks.py [--notebooks 04,05] [--repeats 1] [--warm-repeats 1]
[--setup] [--profile N]
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HOUSE_BOUND_S = 60.0
"""Each notebook executes in under a minute on the 2-core development machine [s]."""


def _client(nb, path: Path):
    sys.path.insert(0, str(ROOT / "tests"))
    try:
        from test_notebooks import _notebook_client
    finally:
        sys.path.remove(str(ROOT / "tests"))
    return _notebook_client(nb, path)


def _children_cpu_s() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def execute(path: Path, profile: str | None = None) -> tuple[float, float, float]:
    """Execute the notebook at ``path`` once in a fresh kernel: (wall s, kernel CPU s, load).
    ``profile``: a file the kernel appends its numba compiles to (benchmarks/_compile_profile.py,
    from a cell put before the notebook's first). Raises when a cell fails."""
    import nbformat

    nb = nbformat.read(path, as_version=4)
    if profile:
        bench = str(Path(__file__).resolve().parent)
        nb.cells.insert(0, nbformat.v4.new_code_cell(
            f"import sys; sys.path.insert(0, {bench!r}); import _compile_profile; "
            f"_compile_profile.install({profile!r}); sys.path.remove({bench!r})"))
    client = _client(nb, path)
    load = os.getloadavg()[0]
    cpu0 = _children_cpu_s()
    t0 = time.perf_counter()
    client.execute()
    wall = time.perf_counter() - t0
    cpu = _children_cpu_s() - cpu0
    for cell in nb.cells:
        for out in cell.get("outputs", []) if cell.cell_type == "code" else []:
            if out.get("output_type") == "error":
                raise RuntimeError(f"{path.name}: {out.get('ename')}: {out.get('evalue')}")
    return wall, cpu, load


def main(argv: list[str] | None = None) -> dict[str, float]:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--notebooks", default="", help="comma-separated prefixes (e.g. 04,05); default all")
    ap.add_argument("--repeats", type=int, default=1, help="cold runs per notebook, each on a new empty cache")
    ap.add_argument("--warm-repeats", type=int, default=1, help="warm runs per notebook after each cold run")
    ap.add_argument("--setup", action="store_true",
                    help="also run each notebook once right after tools/warm_kernels.py (make setup)")
    ap.add_argument("--profile", type=int, default=0, metavar="N",
                    help="list the N kernels whose compile took the most CPU time in each notebook's first "
                         "cold run (benchmarks/_compile_profile.py)")
    args = ap.parse_args(argv)
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from _compile_profile import read_rows, summary

    if args.repeats < 1 or args.warm_repeats < 0:
        ap.error("--repeats must be >= 1 and --warm-repeats >= 0")
    wanted = [w for w in args.notebooks.split(",") if w]
    paths = [p for p in sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
             if not wanted or any(p.name.startswith(w) for w in wanted)]
    if not paths:
        ap.error(f"no notebook matches {args.notebooks!r}")

    # The kernel inherits this environment: the package from this checkout, numba's cache in
    # a folder this script owns (one per cold run).
    os.environ["PYTHONPATH"] = os.pathsep.join([str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])])
    saved_cache = os.environ.get("NUMBA_CACHE_DIR")
    rows = []
    warmed = None
    try:
        if args.setup:
            import subprocess

            warmed = tempfile.mkdtemp(prefix="infra_lab_numba_warmed_")
            os.environ["NUMBA_CACHE_DIR"] = warmed
            t0 = time.perf_counter()
            subprocess.run([sys.executable, str(ROOT / "tools" / "warm_kernels.py")], check=True,
                           stdout=subprocess.DEVNULL)
            print(f"tools/warm_kernels.py: {time.perf_counter() - t0:.1f} s (load {os.getloadavg()[0]:.1f})",
                  flush=True)
        for path in paths:
            cold, warm, setup = [], [], []
            profile_lines = []
            if warmed:
                cache = tempfile.mkdtemp(prefix="infra_lab_numba_cache_")
                shutil.copytree(warmed, cache, dirs_exist_ok=True)
                os.environ["NUMBA_CACHE_DIR"] = cache
                try:
                    if args.profile:    # what the warm-up missed
                        prof = os.path.join(cache, "compile_profile.jsonl")
                        setup.append(execute(path, prof))
                        profile_lines += ["after warm-up: " + line for line in summary(read_rows(prof), args.profile)]
                    else:
                        setup.append(execute(path))
                finally:
                    shutil.rmtree(cache, ignore_errors=True)
            for i in range(args.repeats):
                cache = tempfile.mkdtemp(prefix="infra_lab_numba_cache_")
                os.environ["NUMBA_CACHE_DIR"] = cache
                try:
                    if args.profile and i == 0:
                        prof = os.path.join(cache, "compile_profile.jsonl")
                        cold.append(execute(path, prof))
                        profile_lines += ["cold: " + line for line in summary(read_rows(prof), args.profile)]
                    else:
                        cold.append(execute(path))
                    for _ in range(args.warm_repeats):
                        warm.append(execute(path))
                finally:
                    shutil.rmtree(cache, ignore_errors=True)
            rows.append((path.stem, cold, setup, warm))
            line = "  ".join(f"{w:6.1f} s (cpu {c:5.1f}, load {ld:4.1f})" for w, c, ld in cold)
            sline = "  ".join(f"{w:5.1f} s (cpu {c:5.1f}, load {ld:4.1f})" for w, c, ld in setup)
            wline = "  ".join(f"{w:5.1f} s (cpu {c:5.1f}, load {ld:4.1f})" for w, c, ld in warm)
            print(f"{path.stem:24s} cold {line}" + (f"   setup {sline}" if setup else "") + f"   warm {wline}",
                  flush=True)
            for pline in profile_lines:
                print("    " + pline, flush=True)
    finally:
        if warmed:
            shutil.rmtree(warmed, ignore_errors=True)
        if saved_cache is None:
            os.environ.pop("NUMBA_CACHE_DIR", None)
        else:
            os.environ["NUMBA_CACHE_DIR"] = saved_cache

    def med(runs, i):
        return statistics.median(r[i] for r in runs) if runs else float("nan")

    print(f"\n{'notebook':24s} {'cold s':>7s} {'cpu s':>6s} {'setup s':>8s} {'cpu s':>6s} {'warm s':>7s} {'cpu s':>6s}"
          f"   (medians; bound {HOUSE_BOUND_S:.0f} s)")
    out: dict[str, float] = {}
    for name, cold, setup, warm in rows:
        print(f"{name:24s} {med(cold, 0):7.1f} {med(cold, 1):6.1f} {med(setup, 0):8.1f} {med(setup, 1):6.1f} "
              f"{med(warm, 0):7.1f} {med(warm, 1):6.1f}" + ("   OVER (cold)" if med(cold, 0) >= HOUSE_BOUND_S else ""))
        out[f"{name[:2]}_cold_s"] = med(cold, 0)
        out[f"{name[:2]}_cold_cpu_s"] = med(cold, 1)
        for label, runs in (("setup", setup), ("warm", warm)):
            if runs:
                out[f"{name[:2]}_{label}_s"] = med(runs, 0)
    out["max_cold_s"] = max(med(r[1], 0) for r in rows)
    for i, label in ((2, "setup"), (3, "warm")):
        if any(r[i] for r in rows):
            out[f"max_{label}_s"] = max(med(r[i], 0) for r in rows if r[i])
    out["load_avg_1min_end"] = os.getloadavg()[0]
    print()
    for k, v in out.items():
        print(f"{k}={v:.2f}")
    return out


if __name__ == "__main__":
    main()
