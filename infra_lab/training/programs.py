"""The executed pipeline schedules' programs kept between step-kernel calls.

An executed schedule (ZB-H1, ZBV, V-Half, V-Min: :data:`infra_lab._kernels.training.
EXECUTED_SCHEDULES`; and the 1F1B and interleaved schedules as :func:`infra_lab.estimate`
prices them, :func:`infra_lab._kernels.training.executes_megatron`) is priced by replaying its
order's compact program (:func:`infra_lab._kernels.training.executed_table`), which depends only
on the schedule, pp, the number of micro-batches and (interleaved) vp: not on the model, the
hardware or the pass times. Building
one costs about four replays; a search builds one per distinct (pp, micro-batches) of its
heads on every call (a third of a ``pp_schedules="all"`` search of the 175B space on 1,024 H100,
``benchmarks/bench_search.py``). :func:`executed_programs` returns the same table from a
bounded least-recently-used cache of those programs (:data:`PROGRAM_CACHE_MAX_BYTES`), so
repeated searches, the FSDP-variant passes of one search, sweeps over scenarios sharing
(pp, micro-batches) and :func:`infra_lab.estimate` of such plans build each program once.
"""

from __future__ import annotations

import threading
from collections import OrderedDict

import numpy as np

from .._kernels import training as kt

PROGRAM_CACHE_MAX_BYTES = 64 * 2**20
"""Most bytes of compact programs :func:`executed_programs` keeps (64 MiB: the 54 ZBV programs
of the 175B space on 1,024 H100 take 17 MiB, DeepSeek-V3's 45 on 2,048 H100 12 MiB); the least
recently used are dropped first, and a program larger than this alone is built on each call and
not kept."""

_lock = threading.Lock()
_cache: OrderedDict[tuple[int, int, int, int], np.ndarray] = OrderedDict()
_size = [0]
_stats = {"hits": 0, "misses": 0}


def executed_programs(c: np.ndarray, heads: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(progs, span) for the step kernel's ``*_with`` entry points: equal to
    :func:`infra_lab._kernels.training.executed_table` ``(c, heads)`` element for element (the
    stacked compact programs of each distinct (pp, micro-batches) of the heads under ``c``'s
    schedule, and each head's first and last row), with the programs taken from the cache where
    kept and the others built (in parallel, :func:`infra_lab._kernels.training.fill_programs`,
    when more than one is missing) and kept."""
    kp, km, kv, kid, koff = kt.executed_keys(c, heads)
    xoff = kt._x_offsets(kp, koff)
    progs = np.empty((int(xoff[-1]), kt.COMPACT_COLS), np.int32)
    if kp.shape[0]:
        sched = int(c[kt.C_PP_SCHED])
        keys = [(sched, int(p), int(m), int(v)) for p, m, v in zip(kp, km, kv, strict=True)]
        missing = []
        with _lock:
            for i, key in enumerate(keys):
                hit = _cache.get(key)
                if hit is None:
                    missing.append(i)
                else:
                    _cache.move_to_end(key)
                    progs[xoff[i]:xoff[i + 1]] = hit
            _stats["hits"] += len(keys) - len(missing)
            _stats["misses"] += len(missing)
        if len(missing) == 1 and sched in (kt.PP_SCHED_1F1B, kt.PP_SCHED_INTERLEAVED):
            # an estimate's Megatron-Core order: its own builder (compiles none of the other orders')
            kt._fill_megatron_key(kp, km, kv, xoff, progs, np.int64(missing[0]))
        elif len(missing) == 1:   # one program (an estimate's): built here, no parallel region to compile
            kt._fill_key(np.int64(sched), kp, km, kv, xoff, progs, np.int64(missing[0]))
        elif missing:
            kt.fill_programs(np.int64(sched), kp, km, kv, xoff, np.array(missing, dtype=np.int64), progs)
        if missing:
            with _lock:
                for i in missing:
                    _keep(keys[i], progs[xoff[i]:xoff[i + 1]])
    return progs, kt._v_span(kid, xoff)


def _keep(key: tuple[int, int, int, int], prog: np.ndarray) -> None:
    """Keep a copy of ``prog`` under ``key`` (lock held), dropping the least recently used
    programs beyond :data:`PROGRAM_CACHE_MAX_BYTES`."""
    if key in _cache or prog.nbytes > PROGRAM_CACHE_MAX_BYTES:
        return
    kept = prog.copy()
    kept.setflags(write=False)
    _cache[key] = kept
    _size[0] += kept.nbytes
    while _size[0] > PROGRAM_CACHE_MAX_BYTES:
        _, old = _cache.popitem(last=False)
        _size[0] -= old.nbytes


def program_cache_info() -> dict[str, int]:
    """The cache's state: programs kept, their bytes, the bound, and lookups found / built."""
    with _lock:
        return {"programs": len(_cache), "bytes": _size[0], "max_bytes": PROGRAM_CACHE_MAX_BYTES,
                **_stats}


def program_cache_clear() -> None:
    """Drop every kept program (the next calls build them again)."""
    with _lock:
        _cache.clear()
        _size[0] = 0
        _stats["hits"] = _stats["misses"] = 0
