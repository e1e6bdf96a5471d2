"""Shared timing helper for the benchmark scripts (run them as ``python benchmarks/bench_*.py``).

Benchmarks report medians, never means, and compare against the reference or a named peer
measured in the same run. Each script prints its headline figures last as ``name=value``.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable


def median_time(fn: Callable[[], object], repeats: int, *, warmup: bool = False) -> float:
    """Median wall-clock seconds of ``repeats`` calls of ``fn`` (after one untimed call when
    ``warmup``, e.g. to compile or fill caches)."""
    if repeats < 1:
        raise ValueError(f"repeats={repeats!r}: allowed an integer >= 1")
    if warmup:
        fn()
    ts = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t0)
    return statistics.median(ts)
