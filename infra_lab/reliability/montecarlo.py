"""Monte Carlo of whole runs: the numba kernel and its plain reference
(:mod:`infra_lab._kernels.reliability`) behind one validated entry point."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from .._validate import integer
from ..errors import ValidationError, short_repr
from ._data import COMPONENT_CLASSES, choice, number
from .checkpoint import RunPlan

if TYPE_CHECKING:
    import polars as pl

__all__ = ["MAX_FAILURES_PER_RUN", "MAX_RUNS", "MAX_SIMULATED_FAILURES", "simulate", "summarize_runs"]

MAX_FAILURES_PER_RUN = 1_000_000
"""A plan expecting more interruptions per run than this is refused by :func:`simulate`
(each run would replay millions of failures); use the closed form instead."""

MAX_SIMULATED_FAILURES = 1e9
"""Most interruptions :func:`simulate` replays in one call, n_runs × the plan's expected
interruptions per run [-]. Within :data:`MAX_RUNS` and :data:`MAX_FAILURES_PER_RUN` alone a call
could ask for 10^13 of them; the numba kernel replays about 2.4 million a second (measured on a
100,000-GPU fleet-calibrated plan, 16 CPU cores shared), so 10^9 is minutes and the bound hours
or weeks. Fewer runs, or the closed form (``plan.expected_wall_s``), answer beyond it."""

BYTES_PER_RUN = 8 * (2 * (4 + len(COMPONENT_CLASSES)) + 3)
"""Memory one simulated run holds [B]: the kernel's row of 4 + 8 float64 results, the
frame's copy of them and three derived columns (run, wall_h, goodput)."""

MAX_RUNS = 10_000_000
"""Most runs :func:`simulate` accepts: at :data:`BYTES_PER_RUN` (216 B) about 2.2 GB of
results, and a standard error of the mean goodput far below any input's uncertainty long
before; more is refused with a ValidationError rather than failing inside the kernel's
allocation (``MemoryError``) or exhausting the machine's memory."""


def simulate(plan: RunPlan, n_runs: int = 10_000, *, seed: int = 0,
             method: str = "numba") -> pl.DataFrame:
    """Monte Carlo of ``n_runs`` whole runs of ``plan``.

    Parameters
    ----------
    plan : from :func:`infra_lab.reliability.plan_run`
    n_runs : number of runs [-], 1 .. :data:`MAX_RUNS` (10 million), and at most
        :data:`MAX_SIMULATED_FAILURES` / the plan's expected interruptions per run
    seed : explicit seed of every draw (a non-negative integer)
    method : "numba" (kernel, numba's generator) or "reference" (plain Python, numpy
        ``default_rng``); statistically equivalent, not bit-equal

    Returns
    -------
    polars.DataFrame, one row per run: run, wall_h [h], goodput [-], failures [-], lost_h
    (time in failed segments) [h], restart_h (time in restarts) [h], and failures_<class>
    per class.

    Examples
    --------
    >>> import infra_lab as il
    >>> plan = il.reliability.plan_run(il.load_scenario("zaya1-ibm-mi300x"), 95.0)
    >>> runs = il.reliability.simulate(plan, 1000, seed=1)
    >>> runs.height, bool(runs["goodput"].is_between(0, 1).all())
    (1000, True)
    """
    import polars as pl

    from .._kernels import reliability as K

    if not isinstance(plan, RunPlan):
        raise ValidationError(f"plan = {short_repr(plan)}: expected a RunPlan from plan_run()")
    n_runs = int(number("n_runs", n_runs, integer=True))
    if n_runs > MAX_RUNS:
        raise ValidationError(
            f"n_runs = {n_runs:,}: allowed 1 .. {MAX_RUNS:,} (about {BYTES_PER_RUN} B of results per run: "
            f"{n_runs * BYTES_PER_RUN / 1e9:.3g} GB asked, {MAX_RUNS * BYTES_PER_RUN / 1e9:.2g} GB at the bound)")
    seed = integer("seed", seed, lo=0, hi=2**63 - 1)   # the kernel holds it as an int64
    method = choice("method", method, ("numba", "reference"))
    e = plan.expected_failures
    if not math.isfinite(e) or e > MAX_FAILURES_PER_RUN:
        raise ValidationError(
            f"plan: {e:.3g} expected interruptions per run (more than {MAX_FAILURES_PER_RUN:,}); "
            "the Monte Carlo would not finish, use the closed form (plan.expected_wall_s)")
    if n_runs * e > MAX_SIMULATED_FAILURES:
        raise ValidationError(
            f"n_runs = {n_runs:,}: {n_runs:,} runs x {e:.3g} expected interruptions per run = {n_runs * e:.3g} "
            f"interruptions to simulate; allowed at most {MAX_SIMULATED_FAILURES:.0e} (MAX_SIMULATED_FAILURES): "
            f"n_runs <= {max(1, math.floor(MAX_SIMULATED_FAILURES / e)):,} for this plan, or the closed form "
            "(plan.expected_wall_s)")
    bg = float(plan.background_s)
    blocking = float(plan.ckpt_s) - max(0.0, bg - float(plan.interval_s))   # the save's blocking part alone
    args = (float(plan.work_s), float(plan.interval_s), blocking,
            np.ascontiguousarray(plan.rates_per_s, dtype=np.float64),
            np.ascontiguousarray(plan.restart_s, dtype=np.float64))
    if method == "numba":
        n_buf = int(e + 6 * math.sqrt(e) + 16)
        res = K.simulate_kernel(*args, n_runs, n_buf, seed, bg)
    else:
        res = K.simulate_reference(*args, n_runs, seed, bg)
    d = {
        "run": np.arange(n_runs), "wall_h": res[:, 0] / 3600, "goodput": plan.work_s / res[:, 0],
        "failures": res[:, 1].astype(np.int64), "lost_h": res[:, 2] / 3600, "restart_h": res[:, 3] / 3600,
    }
    for i, c in enumerate(COMPONENT_CLASSES):
        d[f"failures_{c}"] = res[:, 4 + i].astype(np.int64)
    return pl.DataFrame(d)


def summarize_runs(runs: pl.DataFrame, plan: RunPlan | None = None) -> pl.DataFrame:
    """Mean, standard error and percentiles of a :func:`simulate` frame, with the closed
    form beside the mean when ``plan`` is given.

    Parameters
    ----------
    runs : the frame of il.reliability.simulate(plan, n_runs)

    Returns
    -------
    polars.DataFrame: quantity, mean, sem, p05, p50, p95, closed_form; ``sem`` is null for a
    single run (one run has no standard error)

    Examples
    --------
    >>> import infra_lab as il
    >>> plan = il.reliability.plan_run(il.load_scenario("zaya1-ibm-mi300x"), 95.0)
    >>> s = il.reliability.summarize_runs(il.reliability.simulate(plan, 1000, seed=1), plan)
    >>> s.columns
    ['quantity', 'mean', 'sem', 'p05', 'p50', 'p95', 'closed_form']
    """
    import polars as pl

    need = ("wall_h", "goodput", "failures", "lost_h", "restart_h")
    if not isinstance(runs, pl.DataFrame) or any(c not in runs.columns for c in need):
        raise ValidationError(f"runs: expected the frame of simulate() with columns {', '.join(need)}")
    if runs.height == 0:
        raise ValidationError("runs: the frame has no rows; allowed: the frame of simulate(), at least one run")
    closed = {}
    if plan is not None and not isinstance(plan, RunPlan):
        raise ValidationError(f"plan = {plan!r:.60}: expected the RunPlan the runs were simulated from, or None")
    if plan is not None:
        closed = {"wall_h": plan.expected_wall_s / 3600, "failures": plan.expected_failures}
    rows = []
    for q in need:
        x = runs[q].cast(pl.Float64).to_numpy()
        rows.append({
            "quantity": q, "mean": float(x.mean()),
            "sem": float(x.std(ddof=1) / math.sqrt(len(x))) if len(x) > 1 else None,
            "p05": float(np.quantile(x, 0.05)), "p50": float(np.quantile(x, 0.5)),
            "p95": float(np.quantile(x, 0.95)), "closed_form": closed.get(q),
        })
    return pl.DataFrame(rows, schema={"quantity": pl.String, "mean": pl.Float64, "sem": pl.Float64,
                                      "p05": pl.Float64, "p50": pl.Float64, "p95": pl.Float64,
                                      "closed_form": pl.Float64})
