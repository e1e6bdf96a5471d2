"""il.search's row of a plan and il.estimate of that plan carry the same bits.

The search frame derives tokens/s, MFU, TFLOP/s per GPU and the NIC-busy fraction as a numerator
times 1/step (``_kernels.training.gather_columns``); until 2026-12-07 il.estimate divided
``flops / (step · gpus · peak)`` in another order, so the best plan's MFU and TFLOP/s differed from
the estimate of that same plan in the last place (0.5527544009309597 against ...596 for Llama 3 8B
on 16 H100), found by a sweep that compared the two with ``==``. Both now take their numerators
from ``training.context.rate_numerators``.

Plans without a pipeline only: with pp > 1 the search prices the bubble by its closed form and
il.estimate by executing the schedule (tests/kernel_check.assert_row_is_estimate).
"""

from __future__ import annotations

import polars as pl
import pytest

import infra_lab as il
from infra_lab.training.plan_search import apply_plan

EXACT = ("step_time_s", "tokens_per_s", "tokens_per_s_per_gpu", "mfu", "tflops_per_gpu",
         "memory_per_gpu_bytes", "nic_busy_fraction", "fits")

SCENARIOS = {
    "llama3-8b-h100": {"model": {"preset": "llama3-8b"},
                       "hardware": {"accelerator": "H100-SXM", "nodes": 2, "nic": "ConnectX-7-NDR"},
                       "training": {"seq_len": 4096, "global_batch": 64, "optimizer": "adamw"}},
    "mixtral-mi300x": {"model": {"preset": "mixtral-8x7b"},
                       "hardware": {"accelerator": "MI300X", "nodes": 4},
                       "training": {"seq_len": 4096, "global_batch": 256, "optimizer": "adamw"}},
}


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_search_rows_equal_estimate_bit_for_bit(name):
    d = SCENARIOS[name]
    df = il.search(d, top=None, max_micro_batch=2).filter(pl.col("pp") == 1)
    rows = [df.row(i, named=True) for i in range(min(3, df.height))]
    rows += [r for r in df.sample(n=min(5, df.height), seed=3).iter_rows(named=True)]
    assert rows
    for r in rows:
        est = il.estimate(apply_plan(d, r))
        for k in EXACT:
            assert getattr(est, k) == r[k], (k, getattr(est, k), r[k],
                                              {p: r[p] for p in ("tp", "cp", "ep", "dp", "micro_batch", "zero")})
