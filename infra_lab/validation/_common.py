"""Helpers shared by the validation submodules: the measurements folder (``MEASUREMENT_DIR``),
the "not compared" status text of a run (``_status``) and the bisection the fits use (``_bisect``)."""

from __future__ import annotations

from .. import catalog

MEASUREMENT_DIR = catalog.DATA_DIR / "measurements"


def _status(e: Exception, limit: int, run_id: str | None = None) -> str:
    """A run's "not compared" status: the error's message without its leading run id (only
    when it starts with ``run_id: ``, so a message that starts with a field name, e.g.
    ``model.top_k = 0: ...``, keeps it), whole when it has at most ``limit`` characters, else
    its sentences that fit (a cut mid-word only when even the first sentence is longer)."""
    msg = str(e)
    if run_id is not None and msg.startswith(f"{run_id}: "):
        msg = msg[len(run_id) + 2:]
    if len(msg) <= limit:
        return msg
    cut = msg.rfind(". ", 0, limit)
    return msg[:cut + 1] if cut > 0 else msg[:limit]


def _bisect(f, lo: float, hi: float, it: int = 60) -> float:
    """Root of an increasing f on [lo, hi] by bisection."""
    for _ in range(it):
        mid = 0.5 * (lo + hi)
        if f(mid) < 0.0:
            lo = mid
        else:
            hi = mid
    return 0.5 * (lo + hi)
