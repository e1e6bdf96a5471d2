"""Sensitivity bands: :func:`estimate_band`, the estimate at the fastest and slowest corner of
the stated ranges of a stack's factors (:func:`infra_lab.stacks.ranges`), found by one of
:data:`BAND_METHODS`."""

from __future__ import annotations

import itertools

import polars as pl

from .. import stacks
from ..errors import ValidationError, unknown
from ..scenario import Scenario
from ..scenario._checks import _py_list
from ._common import _training_scenario
from .factors import stack_params
from .step import estimate

BAND_METHODS = ("corners", "monotone")
"""How :func:`estimate_band` finds its fastest and slowest case: every corner of the box, or
the two corners that per-factor directions pick (exact when the step time is monotone in each
factor, as every stack factor with a range is: a time scale never speeds a step up, an overlap
fraction never slows it down)."""


def estimate_band(scenario: Scenario | dict, *, stack: str | None = None,
                  factors: list[str] | None = None, method: str = "corners",
                  exclude: list[str] | None = None) -> pl.DataFrame:
    """The estimate over the stated ranges of the stack's factors: the fastest and the slowest
    case over the box low..high of ``factors`` (default: every factor of the stack with a
    stated range, :func:`infra_lab.stacks.ranges`, less ``exclude``), plus the nominal point.

    The band is a sensitivity, not a confidence interval: it says how far the estimate moves
    when every factor sits anywhere in its stated range, not how likely a measured run is to
    fall inside it (:func:`infra_lab.validation.band_coverage` counts how many published runs
    do). A factor that does not act on the plan (``tp_comm_overlap`` at tp = 1, the MoE factors
    of a dense model, Muon's on an AdamW run) leaves the band as it is.

    The default takes every stated range, implementation choices included: on a Muon run with a
    sharded optimizer (ZeRO-1+) ``muon_ns_shared_over_dp`` spans distributed Newton–Schulz (1,
    each data-parallel rank orthogonalizing only its shard's matrices, the stacks' value) to
    replicated (0, every rank orthogonalizing all of them), and that end can set the slow
    edge (``zaya1-ibm-mi300x``: several times its nominal step; notebook 04 prints the figure).
    That is the stated range of a factor that applies to the run's optimizer, so it stays in the default;
    where a source settles the implementation, band the rest with
    ``exclude=["muon_ns_shared_over_dp"]`` (notebook 04 does, on Zyphra's statement that Muon does
    not dominate ZAYA1's iteration) and say so.

    Parameters
    ----------
    factors : the factors to band (names of :func:`infra_lab.stacks.ranges`); None: all of them
    exclude : factors left at the stack's value (names of :func:`infra_lab.stacks.ranges`);
        with ``factors`` None only
    method : "corners" (default) evaluates every corner of the box (2^k estimates for k
        factors); "monotone" moves one factor at a time from its low to its high end at the
        others' nominal values, takes each factor's faster end for the fastest case and its
        slower end for the slowest, and evaluates those two corners (2k + 3 estimates). The
        two agree when the step time is monotone in each factor (tests check it on published
        runs); use "monotone" for many factors or many scenarios.

    Returns
    -------
    polars.DataFrame
        case ("nominal", "low", "high" = fastest and slowest case), step_time_s [s],
        tokens_per_s [tokens/s], tokens_per_s_per_gpu, mfu, nic_busy_fraction, the
        factor values of that case, and ``inactive_factors``: the banded factors that do not act
        on the plan, comma-separated ("" when every one acts; the same in all three rows). An
        inactive factor's column holds the stack's value in every row, not a range end: any
        value in its range gives the same step, so an end picked by a tie would read as
        meaningful. Inactive means: with "corners", flipping the factor between its ends leaves
        every corner's step time unchanged; with "monotone", its two ends give the same step at
        the others' nominal values and the stack's value leaves both edge corners unchanged
        (approximation: a factor that acts only away from those points is not detected). Step
        times equal to 1e-12 relative count as unchanged.
    """
    sc = _training_scenario(scenario, "estimate_band")
    st = stack or sc.stack
    rng = stacks.ranges(st)
    factors, exclude = _py_list(factors), _py_list(exclude)   # a numpy array of names is its list
    if factors is not None and (isinstance(factors, str) or not isinstance(factors, (list, tuple))):
        raise ValidationError(f"factors = {factors!r:.80}: expected a list of stack factor names "
                              f"({', '.join(rng)}) or None (all of them)")
    if method not in BAND_METHODS:
        raise unknown("estimate_band method", method, BAND_METHODS)
    if exclude is not None:
        if isinstance(exclude, str) or not isinstance(exclude, (list, tuple)):
            raise ValidationError(f"exclude = {exclude!r:.80}: expected a list of stack factor names "
                                  f"({', '.join(rng)}) or None")
        if factors is not None:
            raise ValidationError("factors and exclude given together: give the factors to band, or the ones "
                                  "to leave out of every stated range, not both")
    names = list(rng) if factors is None else list(factors)
    for n in [*names, *(exclude or [])]:
        if not isinstance(n, str) or n not in rng:
            raise unknown(f"factor with a stated range in stack {st}", n, rng)
    names = [n for n in names if n not in (exclude or [])]
    if not names:
        given = f"exclude = {list(exclude)!r}: leaves" if exclude else f"factors = {factors!r}: names"
        raise ValidationError(f"{given} no factor to band; stack {st}'s stated ranges: {', '.join(rng)}")
    nominal = estimate(sc, stack=stack)
    base = stack_params(st)
    if method == "corners":
        rows = []
        for corner in itertools.product(*[rng[n] for n in names]):
            p = dict(zip(names, corner, strict=True))
            rows.append((estimate(sc, stack=stack, params=p), p))
        fast = min(rows, key=lambda x: x[0].step_time_s)
        slow = max(rows, key=lambda x: x[0].step_time_s)
        # a factor is inactive when flipping it between its ends leaves every corner's step as it is
        times = [e.step_time_s for e, _ in rows]
        corners = list(itertools.product(*[range(len(rng[n])) for n in names]))
        inactive = []
        for i, n in enumerate(names):
            by_rest: dict[tuple, list[float]] = {}
            for c, t in zip(corners, times, strict=True):
                by_rest.setdefault(c[:i] + c[i + 1:], []).append(t)
            if all(_same(min(ts), max(ts)) for ts in by_rest.values()):
                inactive.append(n)
        fast = (fast[0], {**fast[1], **{n: base[n] for n in inactive}})
        slow = (slow[0], {**slow[1], **{n: base[n] for n in inactive}})
    else:
        fast_p, slow_p, ties = {}, {}, []
        for n in names:
            lo, hi = rng[n]
            t_lo = estimate(sc, stack=stack, params={n: lo}).step_time_s
            t_hi = estimate(sc, stack=stack, params={n: hi}).step_time_s
            fast_p[n], slow_p[n] = (lo, hi) if t_lo <= t_hi else (hi, lo)
            if _same(t_lo, t_hi):
                ties.append(n)
        fast = (estimate(sc, stack=stack, params=fast_p), fast_p)
        slow = (estimate(sc, stack=stack, params=slow_p), slow_p)
        inactive = []
        for n in ties:    # inactive when the stack's own value leaves both corners' steps as they are
            fp, sp = {**fast[1], n: base[n]}, {**slow[1], n: base[n]}
            if (_same(estimate(sc, stack=stack, params=fp).step_time_s, fast[0].step_time_s)
                    and _same(estimate(sc, stack=stack, params=sp).step_time_s, slow[0].step_time_s)):
                fast, slow = (fast[0], fp), (slow[0], sp)
                inactive.append(n)
    out = []
    marker = ",".join(inactive)
    for case, (e, p) in (("nominal", (nominal, {n: base[n] for n in names})), ("low", fast), ("high", slow)):
        out.append({"case": case, "step_time_s": e.step_time_s, "tokens_per_s": e.tokens_per_s,
                    "tokens_per_s_per_gpu": e.tokens_per_s_per_gpu, "mfu": e.mfu,
                    "nic_busy_fraction": e.nic_busy_fraction, **{n: float(p[n]) for n in names},
                    "inactive_factors": marker})
    return pl.DataFrame(out)


def _same(a: float, b: float) -> bool:
    """Two step times equal but for float rounding [s]."""
    return abs(a - b) <= 1e-12 * max(abs(a), abs(b))
