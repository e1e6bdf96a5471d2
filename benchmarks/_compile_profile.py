"""Where a cold start's time goes: numba's compile of each kernel signature, timed from numba's
own ``numba:compile`` events (numba.core.event), for the cold-cache benchmarks.

numba compiles a kernel, and every kernel it calls, at the caller's first compile; each
compile of one signature is one event, nested inside its caller's. :class:`CompileProfile`
records each event's CPU time of this process (``time.process_time``: numba compiles on the
calling thread; CPU time is less sensitive than wall time to other jobs on a shared machine)
with and without its nested callees'. A kernel loaded from the on-disk cache fires no event.

Used in-process by benchmarks/bench_cold_start.py and, through :func:`install`, inside each
notebook's kernel by benchmarks/bench_notebooks.py ``--profile``.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable


def dispatcher_name(dispatcher) -> str:
    """``module.qualname`` of a dispatcher's Python function, the package's kernel modules
    shortened to their domain (``training.eval_head``)."""
    f = dispatcher.py_func
    return f"{f.__module__.replace('infra_lab._kernels.', '')}.{f.__qualname__}"


class CompileProfile:
    """Records every numba compile of this process as a row (name, self CPU s, total CPU s,
    argument types); ``path``: also append each row to that file as a JSON line (rows
    survive a kernel that exits without a goodbye)."""

    def __init__(self, path: str | None = None):
        from numba.core import event

        class _Listener(event.Listener):
            def on_start(inner, ev):   # noqa: N805 - the listener's own self is unused
                self._stack.append([ev.data["dispatcher"], time.process_time(), 0.0])

            def on_end(inner, ev):     # noqa: N805
                self._end(ev)

        self.rows: list[tuple[str, float, float, str]] = []
        self._stack: list[list] = []
        self._file = open(path, "a", buffering=1) if path else None  # noqa: SIM115 - kept open
        self._listener = _Listener()
        event.register("numba:compile", self._listener)

    def _end(self, ev) -> None:
        dispatcher, t0, nested = self._stack.pop()
        total = time.process_time() - t0
        if self._stack:
            self._stack[-1][2] += total
        row = (dispatcher_name(dispatcher), total - nested, total, str(ev.data["args"]))
        self.rows.append(row)
        if self._file is not None:
            self._file.write(json.dumps(row) + "\n")

    def close(self) -> None:
        from numba.core import event

        event.unregister("numba:compile", self._listener)
        if self._file is not None:
            self._file.close()


def install(path: str) -> CompileProfile:
    """Record this process's compiles into ``path`` (JSON lines) from now on."""
    return CompileProfile(path)


def read_rows(path: str) -> list[tuple[str, float, float, str]]:
    """The rows :func:`install` wrote to ``path``."""
    with open(path) as f:
        return [tuple(json.loads(line)) for line in f if line.strip()]


def summary(rows: Iterable[tuple[str, float, float, str]], top: int = 12) -> list[str]:
    """Lines: the compiled signatures' count and summed self CPU time [s], then the ``top``
    kernels by self CPU time with their time including the callees compiled inside theirs
    (each summed over the kernel's signatures) and signature count."""
    agg: dict[str, list[float]] = {}
    n = 0
    for name, self_s, total_s, _ in rows:
        a = agg.setdefault(name, [0.0, 0.0, 0])
        a[0] += self_s
        a[1] += total_s
        a[2] += 1
        n += 1
    lines = [f"{n} signatures compiled, {sum(a[0] for a in agg.values()):.1f} s CPU"]
    for name, (self_s, total_s, count) in sorted(agg.items(), key=lambda kv: -kv[1][0])[:top]:
        lines.append(f"  {self_s:6.2f} s self  {total_s:6.2f} s with callees  x{count:<3d} {name}")
    return lines
