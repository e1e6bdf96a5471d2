"""Benchmark: Monte Carlo runs per second of a 12-trillion-token ZAYA1-scale run, numba kernel
vs the plain Python reference.

The run: ZAYA1 on the 1,024-MI300X cluster (scenario ``zaya1-ibm-mi300x``), 12T tokens (the
press figure; parameters.csv ``zaya1_tokens_alt``) at the training model's tokens/s
(``il.estimate``; the stated assumption in parameters.csv if it is unavailable), baseline
shared-file-system checkpoints at the exact optimal interval, Llama-3-calibrated failures.
Also a 16,384-GPU variant (16× the failure rate over 1/16 of the time). Medians of several repeats after a
warm-up call (numba's compile or cache load is not timed). Both paths are checked against the
closed form before any speed is reported. The kernel is serial: runs are cheap (~tens of
segments) and a serial loop keeps one seeded stream reproducible.

Headline figures are printed last as ``name=value`` lines.
"""

from __future__ import annotations

import math

from _timing import median_time

import infra_lab as il

R = il.reliability


def _plan(gpus: int):
    sc = il.load_scenario("zaya1-ibm-mi300x")
    tps_per_gpu = il.estimate(sc).tokens_per_s_per_gpu   # the training model's throughput
    hours = R.run_hours_from_tokens(R.parameter("zaya1_tokens_alt"), tps_per_gpu * gpus)
    return R.plan_run(R.scale_hardware(sc, gpus), hours, checkpoint_size_bytes=R.checkpoint_bytes(sc))


def _check(plan, runs) -> float:
    x = runs["wall_h"].to_numpy() * 3600
    z = abs(x.mean() - plan.expected_wall_s) / (x.std(ddof=1) / math.sqrt(len(x)))
    assert z < 5, f"Monte Carlo disagrees with the closed form: z = {z:.1f}"
    return z


def main() -> None:
    headline = {}
    for gpus in (1024, 16384):
        plan = _plan(gpus)
        s = plan.summary()
        print(f"== {gpus:,} GPUs: {s['work_days']:.2f} days of work, MTBI {s['mtbi_h']:.1f} h, "
              f"{s['expected_failures']:.1f} failures/run, interval {s['interval_h']:.2f} h, "
              f"goodput {s['goodput']:.3%}")
        for n_numba, n_ref in ((10_000, 1_000), (100_000, 5_000)):
            z1 = _check(plan, R.simulate(plan, n_numba, seed=1))
            z2 = _check(plan, R.simulate(plan, n_ref, seed=1, method="reference"))
            t_nb = median_time(lambda p=plan, n=n_numba: R.simulate(p, n, seed=2), 5, warmup=True)
            t_ref = median_time(lambda p=plan, n=n_ref: R.simulate(p, n, seed=2, method="reference"), 3, warmup=True)
            rps_nb, rps_ref = n_numba / t_nb, n_ref / t_ref
            print(f"   numba {n_numba:>7,} runs: {t_nb*1e3:8.1f} ms = {rps_nb:12,.0f} runs/s (z={z1:.1f}) | "
                  f"reference {n_ref:>5,} runs: {t_ref*1e3:8.1f} ms = {rps_ref:10,.0f} runs/s (z={z2:.1f}) | "
                  f"ratio {rps_nb / rps_ref:,.0f}x")
        headline[gpus] = (rps_nb, rps_ref)
    nb, ref = headline[1024]
    print(f"zaya1_12T_mc_runs_per_s_numba={nb:.0f}")
    print(f"zaya1_12T_mc_runs_per_s_reference={ref:.0f}")
    print(f"zaya1_12T_numba_vs_reference={nb / ref:.1f}")
    nb16, ref16 = headline[16384]
    print(f"gpus16384_12T_mc_runs_per_s_numba={nb16:.0f}")
    print(f"gpus16384_12T_numba_vs_reference={nb16 / ref16:.1f}")


if __name__ == "__main__":
    main()
