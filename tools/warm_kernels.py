"""Compile the package's numba kernels once, into numba's on-disk cache, before the lab opens.

The kernels are compiled on first use and cached (``cache=True``), so without this step the
first notebook a user opens pays for every kernel it touches (up to about a minute on a
2-core machine). ``make lab`` runs this after setup, once per change of the kernels' sources;
each call below is small and exists only to make numba compile the kernel it reaches.

Usage: ``.venv/bin/python tools/warm_kernels.py`` (prints the time per family)."""

from __future__ import annotations

import time


def main() -> None:
    import infra_lab as il
    from infra_lab import economics as E
    from infra_lab import expansion as X
    from infra_lab import reliability as R

    sc = il.load_scenario("zaya1-ibm-mi300x")
    serving = il.load_scenario("maia-class-serving-mi300x")
    steps = [
        ("training: estimate and plan search", lambda: (il.estimate(sc), il.search(sc, top=1))),
        ("collectives", lambda: il.collective("all_reduce", 2**30, sc.hardware, sc.hardware.world_size)),
        ("serving: serve and serve_search", lambda: (il.serve(serving), il.serve_search(serving, top=1))),
        ("economics: owned-cost Monte Carlo", lambda: E.monte_carlo_owned_cost(1_000, seed=0)),
        ("reliability: run Monte Carlo", lambda: R.simulate(R.plan_run(sc, 100.0), 100, seed=0)),
        ("expansion: one sweep point", lambda: X.evaluate(*(X.sweep_grid()[k][0] for k in
                                                            ("platform", "nic", "target_gpus", "model")))),
    ]
    t_all = time.perf_counter()
    for name, call in steps:
        t0 = time.perf_counter()
        call()
        print(f"  {name}: {time.perf_counter() - t0:.1f} s", flush=True)
    print(f"numba kernels compiled and cached in {time.perf_counter() - t_all:.1f} s")


if __name__ == "__main__":
    main()
