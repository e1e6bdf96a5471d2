"""Benchmark: Monte Carlo runs per second of ZAYA1-scale runs, numba kernel vs the plain
Python reference, and closed-form plans per second.

The runs: ZAYA1 on the 1,024-MI300X cluster (scenario ``zaya1-ibm-mi300x``), 12T tokens (the
press figure; parameters.csv ``zaya1_tokens_alt``) at the training model's throughput
(``il.reliability.run_hours``, i.e. ``il.estimate``), Muon checkpoints on the shared file
system at the exact optimal interval, both failure calibrations (``llama3``: few
interruptions per run; ``fleet``: about 6x more). Also the same model on 16,384 GPUs (scaled
with ``scale_scenario``). Medians of several repeats after a warm-up call (numba's compile or
cache load is not timed). Both paths are checked against the closed form before any speed is
reported. The kernel is serial: runs are cheap (tens of segments) and a serial loop keeps
one seeded stream reproducible.

Headline figures are printed last as ``name=value`` lines.
"""

from __future__ import annotations

import math

from _timing import median_time

import infra_lab as il

R = il.reliability


def _plan(gpus: int, calibration: str):
    sc = R.scale_scenario(il.load_scenario("zaya1-ibm-mi300x"), gpus)
    hours = R.run_hours(sc, R.parameter("zaya1_tokens_alt"))
    return R.plan_run(sc, hours, optimizer="muon", calibration=calibration)


def _check(plan, runs) -> float:
    x = runs["wall_h"].to_numpy() * 3600
    z = abs(x.mean() - plan.expected_wall_s) / (x.std(ddof=1) / math.sqrt(len(x)))
    assert z < 5, f"Monte Carlo disagrees with the closed form: z = {z:.1f}"
    return z


def main() -> None:
    headline = {}
    for gpus in (1024, 16384):
        for cal in ("llama3", "fleet"):
            plan = _plan(gpus, cal)
            s = plan.summary()
            print(f"== {gpus:,} GPUs, {cal}: {s['work_days']:.2f} days of work, MTBI {s['mtbi_h']:.2f} h, "
                  f"{s['expected_interruptions']:.1f} interruptions/run, interval {s['interval_h']:.2f} h, "
                  f"goodput {s['goodput']:.3%}")
            n_numba, n_ref = 20_000, 1_000
            z1 = _check(plan, R.simulate(plan, n_numba, seed=1))
            z2 = _check(plan, R.simulate(plan, n_ref, seed=1, method="reference"))
            t_nb = median_time(lambda p=plan, n=n_numba: R.simulate(p, n, seed=2), 5, warmup=True)
            t_ref = median_time(lambda p=plan, n=n_ref: R.simulate(p, n, seed=2, method="reference"), 3, warmup=True)
            rps_nb, rps_ref = n_numba / t_nb, n_ref / t_ref
            print(f"   numba {n_numba:,} runs: {t_nb * 1e3:8.1f} ms = {rps_nb:12,.0f} runs/s (z={z1:.1f}) | "
                  f"reference {n_ref:,} runs: {t_ref * 1e3:8.1f} ms = {rps_ref:10,.0f} runs/s (z={z2:.1f}) | "
                  f"ratio {rps_nb / rps_ref:,.0f}x")
            headline[(gpus, cal)] = (rps_nb, rps_ref)
    sc = il.load_scenario("zaya1-ibm-mi300x")
    t_plan = median_time(lambda: R.plan_run(sc, 99.0, optimizer="muon", calibration="fleet"), 20, warmup=True)
    print(f"== closed form: plan_run (rates, checkpoint, restart, exact interval) {t_plan * 1e3:.2f} ms")
    for (gpus, cal), (nb, ref) in headline.items():
        print(f"mc_runs_per_s_numba_{gpus}gpu_{cal}={nb:.0f}")
        print(f"numba_vs_reference_{gpus}gpu_{cal}={nb / ref:.1f}")
    print(f"plan_run_ms={t_plan * 1e3:.2f}")


if __name__ == "__main__":
    main()
