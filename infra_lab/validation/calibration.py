"""The fits of the current-run families' stack factors on the train split: the time scales of
each family (``calibrate_current``, ``CURRENT_FITTED`` within ``FIT_BOUNDS``) and Megatron-Core's
1F1B all-to-all overlap (``ep_overlap_fit``, ``EP_OVERLAP_FAMILY``), with their shared loss."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import polars as pl

from ..errors import ValidationError
from ._common import _bisect
from .runs import (
    FAMILIES,
    _measured_tokens_per_gpu,
    _source_names,
    current_runs,
    family_of,
    scenario_for_run,
    source_of,
)

if TYPE_CHECKING:
    from collections.abc import Iterable

FIT_BOUNDS = ((0.8, 2.0), (1.0, 3.0))
"""Physical bounds of the fitted (framework_time_scale, memory_time_scale): a training step's
memory-bound ops cannot stream faster than the compute model's measured HBM rate (≥ 1), and
its GEMMs run within −20 % … 2× of the isolated-kernel model."""

CURRENT_FITTED = ("framework_time_scale", "memory_time_scale")
"""Factors of each framework family's stacks fitted by :func:`calibrate_current` — one value
for both vendors (vendor-symmetric), on the train split of the family's current runs only."""


def _fit_loss(abs_log_errors) -> float:
    """The loss of the current-run fits (:func:`calibrate_current`, :func:`ep_overlap_fit`): the
    median absolute log error of step time plus a quarter of the mean, so that no run is ignored."""
    return float(np.median(abs_log_errors)) + 0.25 * float(np.mean(abs_log_errors))


def _priced_by_ep_overlap_fit(row: dict, sc) -> bool:
    """A run of :data:`EP_OVERLAP_FAMILY` with Megatron's 1F1B all-to-all overlap
    (``parallelism.ep_overlap`` without ``dualpipe``): priced with the ``ep_comm_overlap`` that
    :func:`ep_overlap_fit` fits on such train runs, so :func:`calibrate_current` leaves it out."""
    return family_of(row) == EP_OVERLAP_FAMILY and sc.parallelism.ep_overlap and not sc.parallelism.dualpipe


def _excluded_sources(exclude_sources) -> frozenset[str]:
    """``exclude_sources`` checked (:func:`_source_names`) as a set; None: none."""
    return frozenset(_source_names(exclude_sources, "exclude_sources") or ())


FIT_NODES = ("one", "multi")
"""The node-count subsets :func:`calibrate_current` can fit on (``nodes=``): the runs on one node
(``hardware.nodes`` = 1) or on more than one."""


def _check_nodes(nodes) -> str | None:
    """``nodes`` of :func:`calibrate_current` checked: None or one of :data:`FIT_NODES`."""
    if nodes is not None and (not isinstance(nodes, str) or nodes not in FIT_NODES):
        raise ValidationError(f"nodes = {nodes!r}: allowed None (every run) or one of {', '.join(map(repr, FIT_NODES))}")
    return nodes


def _family_fit_runs(exclude: frozenset[str] = frozenset(),
                     nodes: str | None = None) -> dict[str, list[tuple[str, object, float]]]:
    """{family: [(id, scenario, measured tokens/s/GPU)]} of the train-split runs that
    :func:`calibrate_current` fits each family on, without the runs of the ``exclude`` sources;
    with ``nodes`` (:data:`FIT_NODES`) only the runs on one node or only those on more."""
    from ..training import estimate

    train: dict[str, list] = {f: [] for f in FAMILIES}
    for r in current_runs().filter(pl.col("split") == "train").iter_rows(named=True):
        if source_of(r["id"]) in exclude:
            continue
        try:
            sc, _ = scenario_for_run(r)
            if nodes is not None and (sc.hardware.nodes == 1) != (nodes == "one"):
                continue
            if sc.training.moe_host_sync:     # priced with the fitted moe_host_sync_slowdown
                continue
            if _priced_by_ep_overlap_fit(r, sc):
                continue                      # priced with ep_comm_overlap, fitted at these factors
            est = estimate(sc)
            train[family_of(r)].append((r["id"], sc, _measured_tokens_per_gpu(r, est)))
        except ValidationError:
            continue
    return train


def calibrate_current(exclude_sources: str | Iterable[str] | None = None, *,
                      nodes: str | None = None) -> dict[str, dict[str, float]]:
    """Fit :data:`CURRENT_FITTED` of each framework family (:data:`FAMILIES`; the same value
    on its CUDA and ROCm stacks) on the train split of that family's current runs: minimise
    the median absolute log error of step time (+ a quarter of the mean, so that no run is
    ignored) over a coarse grid, then refine coordinate-wise. The test split is never
    evaluated. Runs with a host-bound MoE path (``training.moe_host_sync``) are left out: their
    step time carries the stacks' ``moe_host_sync_slowdown``, which :func:`moe_host_sync_derivation`
    fits at the fitted factors, so this fit does not depend on it (no fit-refit loop). So
    are the Megatron-Core runs with the 1F1B all-to-all overlap (``parallelism.ep_overlap``
    without ``dualpipe``): :func:`ep_overlap_fit` fits ``ep_comm_overlap`` on them at the fitted
    factors (one pass: fit, then derive; a joint fit of the two cycles on the median loss).

    ``exclude_sources`` (None, a source name or a list of them, :func:`current_sources`): the
    same fit without the train runs of those sources (the leave-one-source-out check,
    :func:`infra_lab.validation.leave_one_source_out`); a family left with no train run is
    absent from the result. None: every train run (the fit behind ``data/stacks.csv``).
    ``nodes`` (None or one of :data:`FIT_NODES`): the same fit on the train runs on one node
    only (``"one"``) or on more than one only (``"multi"``), a diagnostic of whether the factors
    fitted mostly on multi-node runs trade compute time for communication time
    (docs/validation-history.md, entry 40); never the stored fit.
    Returns {family: {factor: value, "train_cases": n, "train_median_abs_error_pct": e}}."""
    return _calibrate_current(_excluded_sources(exclude_sources), nodes=_check_nodes(nodes))


def _without_sources(runs: list, exclude: frozenset[str]) -> list:
    """``runs`` ((id, ...) tuples, in their order) without those of the ``exclude`` sources."""
    return [x for x in runs if source_of(x[0]) not in exclude]


def _calibrate_current(exclude: frozenset[str] = frozenset(), families=FAMILIES,
                       memo: dict | None = None, nodes: str | None = None,
                       fit_runs: dict | None = None) -> dict[str, dict[str, float]]:
    """The body of :func:`calibrate_current` for the checked ``exclude`` set and ``nodes``,
    fitting only ``families``. ``memo`` (a dict kept by the caller across calls): predicted
    tokens/s/GPU by (run id, framework_time_scale, memory_time_scale), so that repeated fits on
    overlapping run sets evaluate each point once; the fit is the same with or without it.
    ``fit_runs``: :func:`_family_fit_runs` of every source at these ``nodes``, computed once by a
    caller that fits many times (the leave-one-source-out check): the ``exclude`` sources' runs
    are dropped from it, the same list :func:`_family_fit_runs` builds without them (it skips
    those runs before reading anything else), without rebuilding each run's scenario."""
    from ..training.step import _tokens_per_s_per_gpu

    if fit_runs is None:
        train = _family_fit_runs(exclude, nodes)
    else:
        train = {f: _without_sources(fit_runs.get(f, []), exclude) for f in FAMILIES}
    memo = {} if memo is None else memo

    def predicted(rid: str, sc, fw: float, ms: float) -> float:
        key = (rid, fw, ms)
        if key not in memo:
            p = {"framework_time_scale": fw, "memory_time_scale": ms}
            memo[key] = _tokens_per_s_per_gpu(sc, p)   # estimate(sc, params=p)'s, without its frame
        return memo[key]

    out = {}
    for fam, runs in train.items():
        if not runs or fam not in families:
            continue

        def errs(fw: float, ms: float, runs=runs) -> list[float]:
            return [abs(np.log(meas / predicted(rid, sc, fw, ms))) for rid, sc, meas in runs]

        def loss(fw: float, ms: float) -> float:
            return _fit_loss(errs(fw, ms))

        best = (np.inf, 1.0, 1.0)
        for fw in np.arange(FIT_BOUNDS[0][0], FIT_BOUNDS[0][1] + 1e-9, 0.1):
            for ms in (1.0, 1.5, 2.0, 2.5):
                v = loss(round(float(fw), 4), ms)
                if v < best[0]:
                    best = (v, round(float(fw), 4), ms)
        _, fw, ms = best
        for step in (0.05, 0.01, 0.002):
            moved = True
            while moved:
                moved = False
                # steepest descent: every neighbour of the current point is evaluated and the
                # best one taken (not the first that improves, which can walk away from a
                # lower neighbour on the other side)
                step_best = best
                for dfw, dms in ((step, 0), (-step, 0), (0, 5 * step), (0, -5 * step)):
                    cand = (round(min(max(fw + dfw, FIT_BOUNDS[0][0]), FIT_BOUNDS[0][1]), 4),
                            round(min(max(ms + dms, FIT_BOUNDS[1][0]), FIT_BOUNDS[1][1]), 4))
                    if cand == (fw, ms):
                        continue
                    v = loss(*cand)
                    if v < step_best[0] - 1e-12:
                        step_best = (v, *cand)
                if step_best is not best:
                    best, fw, ms, moved = step_best, step_best[1], step_best[2], True
        p = {"framework_time_scale": fw, "memory_time_scale": ms}
        e = [abs(meas / predicted(rid, sc, fw, ms) - 1.0) * 100 for rid, sc, meas in runs]
        out[fam] = {**p, "train_cases": len(runs), "train_median_abs_error_pct": float(np.median(e))}
    return out


EP_OVERLAP_FAMILY = "megatron-core"
"""The family whose ``ep_comm_overlap`` (Megatron-Core's 1F1B all-to-all overlap,
``--overlap-moe-expert-parallel-comm``) :func:`ep_overlap_fit` fits."""


def _ep_overlap_runs(exclude: frozenset[str] = frozenset()) -> list[tuple[str, object, float]]:
    """(id, scenario, measured tokens/s/GPU) of the train-split runs of
    :data:`EP_OVERLAP_FAMILY` that overlap their dispatch with Megatron's 1F1B all-to-all overlap
    (``parallelism.ep_overlap`` without ``parallelism.dualpipe``), without those of the
    ``exclude`` sources."""
    from ..training import estimate

    out = []
    for r in current_runs().filter(pl.col("split") == "train").iter_rows(named=True):
        if family_of(r) != EP_OVERLAP_FAMILY or source_of(r["id"]) in exclude:
            continue
        try:
            sc, _ = scenario_for_run(r)
        except ValidationError:
            continue
        if _priced_by_ep_overlap_fit(r, sc) and not sc.training.moe_host_sync:
            out.append((r["id"], sc, _measured_tokens_per_gpu(r, estimate(sc))))
    return out


def ep_overlap_fit(step: float = 0.01, *, per_run: bool = False) -> dict:
    """Share of the MoE dispatch/combine time that Megatron-Core's 1F1B all-to-all overlap hides
    [-], FITTED on the train-split runs that publish it (:func:`_ep_overlap_runs`: the Model Zoo's
    Qwen3-235B runs with ``a2a_overlap`` / "+1f1b overlap" in the train split) at the family's
    fitted time scales: the value in 0..1 that minimises the median absolute log error of step
    time plus a quarter of the mean (the loss of :func:`calibrate_current`), on a 0.05 grid
    refined to ``step`` around its best point. The test split is never read. With ``per_run``
    each run's own value (its error zero, by bisection; the stated range) is returned too.
    DualPipe runs (``parallelism.dualpipe``) are left out: their overlap is the stack's
    ``dualpipe_ep_comm_overlap``.
    Returns {"ep_comm_overlap", "runs", "train_median_abs_error_pct"} (+ "per_run")."""
    from ..training import estimate

    if isinstance(step, bool) or not isinstance(step, (int, float)) or not 0.001 <= step <= 0.1:
        raise ValidationError(f"step = {step!r}: expected a grid step from 0.001 to 0.1")
    runs = _ep_overlap_runs()
    if not runs:
        raise ValidationError("ep_overlap_fit: no train-split run overlaps its dispatch without DualPipe")
    best, e = _ep_overlap_search(runs, step)
    out = {"ep_comm_overlap": best, "runs": [rid for rid, _, _ in runs],
           "train_median_abs_error_pct": float(np.median(e))}
    if not per_run:
        return out
    out["per_run"] = {}
    for rid, sc, meas in runs:
        # the run's log error, increasing in the overlap (more hidden, faster predicted step)
        def g(x: float, sc=sc, meas=meas) -> float:
            return float(np.log(estimate(sc, params={"ep_comm_overlap": x}).tokens_per_s_per_gpu / meas))
        glo, ghi = g(0.0), g(1.0)
        if glo * ghi > 0:              # no root in 0..1: the nearer bound
            out["per_run"][rid] = 0.0 if abs(glo) < abs(ghi) else 1.0
            continue
        out["per_run"][rid] = _bisect(g, 0.0, 1.0, it=20)
    return out


def _ep_overlap_search(runs, step: float = 0.01, base: dict | None = None) -> tuple[float, list[float]]:
    """The search of :func:`ep_overlap_fit` on ``runs`` ((id, scenario, measured tokens/s/GPU)):
    the overlap in 0..1 with the least loss on a 0.05 grid, refined to ``step`` around it, with
    the stack overrides ``base`` (e.g. refitted time scales) under it; (value, |step-time error|
    of each run at it [%])."""
    from ..training.step import _tokens_per_s_per_gpu

    base = base or {}

    def errs(x: float) -> list[float]:
        p = {**base, "ep_comm_overlap": x}
        return [float(np.log(meas / _tokens_per_s_per_gpu(sc, p))) for _, sc, meas in runs]

    def loss(x: float) -> float:
        return _fit_loss(np.abs(errs(x)))

    coarse = [round(i * 0.05, 6) for i in range(21)]
    best = min(coarse, key=loss)
    fine = [round(best + i * step, 6) for i in range(-int(round(0.05 / step)), int(round(0.05 / step)) + 1)]
    best = min((x for x in fine if 0.0 <= x <= 1.0), key=loss)
    return best, [abs(np.expm1(v)) * 100 for v in errs(best)]
