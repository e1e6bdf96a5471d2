"""Plans per second of ``il.search`` end to end, the step kernel alone, the independent
reference and ``il.estimate``, and a peer (llm-analysis) timed in the same run.

Two plan spaces:

* dense: a 175B GPT (Megatron 175B) on 1,024 H100 (128 nodes × 8);
* MoE: DeepSeek-V3 on 2,048 H100 (256 nodes × 8), with ep and the expert tensor-parallel
  size etp searched (Megatron-Core's MoE parallel folding) besides tp, pp, vp, cp, dp,
  micro-batch, ZeRO/FSDP, recompute and sequence parallel.

For each: the number of plans; the first ``il.search`` call (tables, collective times per
(layout, micro-batch) and numba dispatch) and the median of repeated calls (the tables and
collective times memoised; the working buffers kept between calls when within
``infra_lab.training.WORK_KEEP_MAX_BYTES``, which both spaces are); ``il.search(top=None,
feasible_only=False)`` (every plan in the returned frame) and the default ``il.search`` (top 10
that fit); the search over every pipeline schedule the stack runs
(``pp_schedules="all"``, opt-in) with :data:`WIDE_STACK`, whose ZBV adds the vp = 2 plans again
(H100's Megatron-Core stack runs no zero-bubble schedule, so its "all" is the default space); the numba kernel alone and the frame alone (plan
order and columns from the kernel's outputs, every plan); the plain-Python reference (``infra_lab._kernels.training_reference``) and ``il.estimate`` on
samples, checked to agree with the kernel before timing. Wall-clock medians and, because
the machine may be shared, plans per CPU-second of this process next to them with the load
average. Headline figures are printed last as name=value lines.

Peers: llm-analysis (PyPI ``llm-analysis``) is timed on plans of the dense space when it is
installed; Calculon (calculon-ai/calculon) is not on PyPI (the PyPI package named
``calculon`` is an unrelated producer-consumer library), so it is not timed here.

Run: .venv/bin/python benchmarks/bench_search.py [--repeats N] [--sample N]
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np

import infra_lab as il
from infra_lab import training as T
from infra_lab._kernels import training as kt
from infra_lab._kernels.training_reference import step_reference

WIDE_STACK = "torchtitan-cuda"
"""The stack of the ``pp_schedules="all"`` timing: 1F1B, interleaved and ZBV on H100
(``data/pp_schedule_stacks.csv``)."""


def spaces():
    s175 = il.Scenario.from_dict({
        "name": "gpt-175b-1024xh100",
        "model": {"preset": "megatron-175b"},
        "hardware": {"accelerator": "H100-SXM", "nodes": 128, "nic": "ConnectX-7-NDR",
                     "fabric": "rail-optimized"},
        "training": {"seq_len": 2048, "global_batch": 2048, "micro_batch": 1},
        "parallelism": {"tp": 8, "pp": 8},
    })
    dsv3 = il.Scenario.from_dict({
        "name": "deepseek-v3-2048xh100",
        "model": {"preset": "deepseek-v3"},
        "hardware": {"accelerator": "H100-SXM", "nodes": 256, "nic": "ConnectX-7-NDR",
                     "fabric": "rail-optimized"},
        "training": {"seq_len": 4096, "global_batch": 4096, "micro_batch": 1},
        "parallelism": {"tp": 1},
    })
    return {"175b": s175, "dsv3": dsv3}


def timed(fn, repeats: int) -> tuple[float, float]:
    """(median wall seconds, median CPU seconds of this process) over ``repeats`` calls."""
    wall, cpu = [], []
    for _ in range(repeats):
        w, c = time.perf_counter(), time.process_time()
        fn()
        wall.append(time.perf_counter() - w)
        cpu.append(time.process_time() - c)
    return float(np.median(wall)), float(np.median(cpu))


def plan_scenario(sc, r):
    return sc.replace(
        training={"micro_batch": int(r["micro_batch"]), "recompute": r["recompute"]},
        parallelism={k: (bool(r[k]) if k in ("fsdp", "sequence_parallel") else int(r[k]))
                     for k in ("tp", "pp", "vp", "cp", "ep", "etp", "zero", "fsdp", "sequence_parallel")})


def peer_llm_analysis(sc, rows, res):
    try:
        from llm_analysis.analysis import train
    except ImportError:
        print("  llm-analysis: not installed (pip install llm-analysis to time it)")
        return
    import logging

    logging.disable(logging.WARNING)
    t = time.perf_counter()
    n = 0
    for r in rows:
        try:
            train(model_name="megatron-lm-175b", gpu_name="h100-sxm-80gb", dtype_name="w16a16e16",
                  log_level="ERROR", seq_len=sc.training.seq_len, global_batch_size=sc.training.global_batch,
                  batch_size_per_gpu=int(r["micro_batch"]), tp_size=int(r["tp"]), pp_size=int(r["pp"]),
                  total_num_gpus=sc.hardware.world_size, ds_zero=min(int(r["zero"]), 3),
                  activation_recomputation={"none": 0, "selective": 1, "full": 2}[r["recompute"]],
                  flops_efficiency=0.5, hbm_memory_efficiency=0.9)
            n += 1
        except Exception:  # noqa: BLE001 - the peer rejects some plans; count only those it priced
            continue
    dt = (time.perf_counter() - t) / max(n, 1)
    res["llm_analysis_plans_per_s"] = 1.0 / dt
    print(f"  llm-analysis (peer, dense)   {dt * 1e3:8.3f} ms/plan -> {1 / dt:14,.0f} plans/s  ({n} plans)")


def per_plan_median(fn, scenarios) -> float:
    """Median over ``scenarios`` of one call's wall time [s]."""
    ts = []
    for s in scenarios:
        t = time.perf_counter()
        fn(s)
        ts.append(time.perf_counter() - t)
    return float(np.median(ts))


def run(repeats: int, sample: int) -> dict[str, float]:
    import numba

    res: dict[str, float] = {}
    print(f"numba threads: {numba.get_num_threads()}  (cores: {os.cpu_count()}); "
          f"load average at start: {os.getloadavg()[0]:.1f}")
    for name, sc in spaces().items():
        n = T.plan_space_size(sc)
        t0 = time.perf_counter()
        il.search(sc, top=None, feasible_only=False)
        first = time.perf_counter() - t0
        wall_all, cpu_all = timed(lambda sc=sc: il.search(sc, top=None, feasible_only=False), repeats)
        wall_top, cpu_top = timed(lambda sc=sc: il.search(sc), repeats)
        n_wide = il.search(sc, top=None, feasible_only=False, pp_schedules="all", stack=WIDE_STACK).height
        wall_w, cpu_w = timed(lambda sc=sc: il.search(sc, top=None, feasible_only=False, pp_schedules="all",
                                                      stack=WIDE_STACK), repeats)
        # the heads the default search evaluates: the interleaved plans the stack refuses for their
        # micro-batches per step left out (data/pp_schedule_stacks.csv, microbatch_rule), n of them
        (_, tail, ctx, (lay, ncand, comm, xtab)), _, (heads, _, _) = T._prepare(sc, {}, None, None,
                                                                               T.DEFAULT_PP_SCHEDULES)
        assert heads.shape[0] * tail.shape[0] == n
        out = T.plan_rows(n)
        args = (ctx.c, ctx.tab, ctx.htab, xtab, lay, ncand, comm, heads, tail, out)
        wall_k, cpu_k = timed(lambda args=args: kt.evaluate_plans(*args), repeats)
        # the sort buffers kept from one call to the next, as il.search keeps its own (WORK_KEEP_MAX_BYTES)
        work = np.empty((4, n), dtype=np.int64)
        wall_f, cpu_f = timed(lambda h=heads, t=tail, o=out, c=ctx, w=work: T._frame(h, t, o, c, "tokens_per_s",
                                                                                   None, False, w), repeats)
        # agreement before timing the slow paths: kernel rows == reference == estimate (1F1B with pp > 1
        # and interleaved: see below)
        df = il.search(sc, top=None, feasible_only=False).sample(n=sample, seed=0)
        rows = list(df.iter_rows(named=True))
        scs = [plan_scenario(sc, r) for r in rows]
        gap = 0.0
        gap1 = 0.0
        for s, r in zip(scs[:5], rows[:5], strict=True):
            ref = step_reference(s)
            est = il.estimate(s)
            assert abs(ref["step_time_s"] / est.step_time_s - 1) < 1e-9, "reference disagrees with il.estimate"
            # the search ranks interleaved plans by the closed form, il.estimate executes Megatron's
            # order per chunk (kt.interleaved_rank_bubble): they differ where a rank's chunks differ
            # (docs/validation-history.md, "interleaved executed per chunk"); the largest gap is printed.
            # 1F1B with pp > 1 the same: il.estimate executes Megatron's plain 1F1B order per rank,
            # at most the closed form (an upper bound of the execution)
            if r["pp"] > 1 and r["vp"] > 1:
                gap = max(gap, abs(est.step_time_s / r["step_time_s"] - 1))
            elif r["pp"] > 1:
                assert est.step_time_s <= r["step_time_s"] * (1 + 1e-9), "1F1B executed above the closed form"
                gap1 = max(gap1, 1 - est.step_time_s / r["step_time_s"])
            else:
                assert abs(est.step_time_s / r["step_time_s"] - 1) < 1e-9, "estimate disagrees with the kernel"
        # per-plan medians: a plan's first visit of a code path (a numba cache load, a per-layer table
        # built once) costs up to ~1 s once per process; a mean over the sample let that one-off set the
        # rate (55 or 1,100 plans/s for the same tree from run to run)
        t_ref = per_plan_median(step_reference, scs)
        t_est = per_plan_median(il.estimate, scs)
        res[f"{name}_plans"] = n
        res[f"{name}_search_plans_per_s"] = n / wall_all
        res[f"{name}_search_plans_per_cpu_s"] = n / cpu_all
        res[f"{name}_search_top10_plans_per_s"] = n / wall_top
        res[f"{name}_all_schedules_plans"] = n_wide
        res[f"{name}_search_all_schedules_plans_per_s"] = n_wide / wall_w
        res[f"{name}_kernel_plans_per_s"] = n / wall_k
        res[f"{name}_frame_plans_per_s"] = n / wall_f
        res[f"{name}_reference_plans_per_s"] = 1.0 / t_ref
        res[f"{name}_estimate_plans_per_s"] = 1.0 / t_est
        print(f"\n[{name}] {sc.name}: {n:,} plans; first il.search call {first:.2f} s "
              f"(per-layer tables, collective times per layout and micro-batch, numba dispatch)")
        print(f"  il.search, every plan in the frame  median {wall_all * 1e3:8.1f} ms -> {n / wall_all:14,.0f} plans/s"
              f"  ({n / cpu_all:,.0f} per CPU-s)")
        print(f"  il.search, top 10 that fit          median {wall_top * 1e3:8.1f} ms -> {n / wall_top:14,.0f} plans/s"
              f"  ({n / cpu_top:,.0f} per CPU-s)")
        print(f"  il.search, pp_schedules='all' ({WIDE_STACK}: {n_wide:,} plans) median {wall_w * 1e3:8.1f} ms -> "
              f"{n_wide / wall_w:14,.0f} plans/s  ({n_wide / cpu_w:,.0f} per CPU-s)")
        print(f"  step kernel alone (numba, parallel) median {wall_k * 1e3:8.1f} ms -> {n / wall_k:14,.0f} plans/s"
              f"  ({n / cpu_k:,.0f} per CPU-s)")
        print(f"  frame alone (order + columns)       median {wall_f * 1e3:8.1f} ms -> {n / wall_f:14,.0f} plans/s"
              f"  ({n / cpu_f:,.0f} per CPU-s)")
        print(f"  plain-Python reference              {t_ref * 1e3:8.3f} ms/plan (median) -> {1 / t_ref:14,.0f} plans/s")
        print(f"  il.estimate (public, one plan)      {t_est * 1e3:8.3f} ms/plan (median) -> {1 / t_est:14,.0f} plans/s")
        print(f"  largest |estimate / search row - 1| of the interleaved rows checked: {gap:.3f}; "
              f"largest 1 - estimate / search row of the 1F1B rows with pp > 1: {gap1:.4f}")
        if name == "175b":
            peer_llm_analysis(sc, rows, res)
    print("\npeers: Calculon (calculon-ai/calculon) is not installable from PyPI here (the PyPI package "
          "'calculon' is unrelated), so it is not timed; llm-analysis is timed above when installed.")
    print(f"load average at end: {os.getloadavg()[0]:.1f} (wall-clock rates on a shared machine are "
          "lower than per-CPU-second rates)")
    return res


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--sample", type=int, default=40)
    a = ap.parse_args()
    r = run(a.repeats, a.sample)
    print()
    for k in sorted(r):
        print(f"{k}={r[k]:.0f}")
    print(f"plans_per_s={min(r['175b_search_plans_per_s'], r['dsv3_search_plans_per_s']):.0f}")


if __name__ == "__main__":
    main()
