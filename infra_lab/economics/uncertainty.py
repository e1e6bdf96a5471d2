"""Uncertainty, generically: seeded draws from low/mode/high ranges, Monte Carlo of any
output, percentile bands and one-at-a-time (tornado) sensitivities.

Nothing here is specific to economics: a *spec* is any object with ``low``, ``value``,
``high`` and ``distribution`` attributes (and optionally ``label`` and ``unit``), e.g. the
rows of ``data/economics/parameters.csv`` (:class:`infra_lab.economics.Param`) or a
polars frame with those columns (:func:`specs_from_frame`), so other modules can reuse it.

Random numbers: a counter-based stream. The k-th uniform of parameter ``name`` under
``seed`` is a pure function of (seed, name, k):

    key(seed, name) = splitmix64(splitmix64(seed) XOR fnv1a64(name))
    u(seed, name, k) = (top 53 bits of splitmix64(key + (k + 1) * 0x9E3779B97F4A7C15) + 0.5) / 2^53

(SplitMix64: Steele, Lea & Flood, "Fast splittable pseudorandom number generators",
OOPSLA 2014). Because each parameter has its own stream, the same seed gives *common
random numbers*: two accelerators' Monte Carlos see the same quantile of every parameter
they share, so their difference is not noise. Standard normals (for lognormal rows) use
the Box-Muller transform of the uniforms 2k and 2k + 1 of the parameter's stream. The numba
kernel in ``infra_lab._kernels.economics`` computes the same stream inside its loop.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

import numpy as np
import polars as pl

from .._repr import Printout
from ..errors import ValidationError, unknown
from . import _validate as V

__all__ = [
    "Band", "PaybackBand", "effective_distribution", "lognormal_outside", "LOGNORMAL_OUTSIDE_MAX", "distribution_mean", "lognormal_sigma", "triangular_quantile", "uniforms", "normals",
    "stream_key", "sample", "specs_from_frame", "monte_carlo", "percentiles", "band", "fmt_band",
    "tornado",
]

_Z95 = 1.6448536269514722  # standard-normal quantile at 0.95
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_DISTS = ("triangular", "lognormal")


# --------------------------------------------------------------------------------------
# The counter-based stream
# --------------------------------------------------------------------------------------
def _mix(z: np.ndarray) -> np.ndarray:
    z = (z ^ (z >> np.uint64(30))) * _M1
    z = (z ^ (z >> np.uint64(27))) * _M2
    return z ^ (z >> np.uint64(31))


def _fnv1a64(text: str) -> int:
    h = 0xCBF29CE484222325
    for b in text.encode("utf-8"):
        h = ((h ^ b) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return h


def stream_key(seed: int, name: str) -> int:
    """The 64-bit key of parameter ``name``'s stream under ``seed`` (see the module notes)."""
    s = V.seed(seed)
    if not isinstance(name, str):
        raise ValidationError(f"name = {name!r}: expected a parameter name (str)")
    with np.errstate(over="ignore"):
        h = _mix(np.array([s], dtype=np.uint64) + _GOLDEN)[0]
        return int(_mix(np.array([h ^ np.uint64(_fnv1a64(name))], dtype=np.uint64) + _GOLDEN)[0])


def _uniforms_from_key(key: int, start: int, n: int) -> np.ndarray:
    k = np.arange(start + 1, start + n + 1, dtype=np.uint64)
    with np.errstate(over="ignore"):
        z = _mix(np.uint64(key) + k * _GOLDEN)
    return ((z >> np.uint64(11)).astype(np.float64) + 0.5) * (1.0 / 9007199254740992.0)


def uniforms(seed: int, name: str, n: int) -> np.ndarray:
    """``n`` uniforms in (0, 1) of parameter ``name``'s stream under ``seed``."""
    n = V.draws(n)
    return _uniforms_from_key(stream_key(seed, name), 0, n)


def normals(seed: int, name: str, n: int) -> np.ndarray:
    """``n`` standard normals of parameter ``name``'s stream (Box-Muller on uniforms 2k, 2k+1)."""
    n = V.draws(n)
    u = _uniforms_from_key(stream_key(seed, name), 0, 2 * n)
    return np.sqrt(-2.0 * np.log(u[0::2])) * np.cos(2.0 * math.pi * u[1::2])


# --------------------------------------------------------------------------------------
# Distributions
# --------------------------------------------------------------------------------------
def lognormal_sigma(low: float, high: float) -> float:
    """sigma of a lognormal whose P5 and P95 are ``low`` and ``high``: ln(high/low) / (2 z95)."""
    lo = V.positive("low", low)
    hi = V.positive("high", high)
    if hi < lo:
        raise ValidationError(f"lognormal needs low <= high, got {low!r} > {high!r}")
    return math.log(hi / lo) / (2.0 * _Z95)


def distribution_mean(low: float, mode: float, high: float, distribution: str = "triangular") -> float:
    """Analytic mean of a parameter's distribution.

    triangular(low, mode, high): (low + mode + high) / 3. lognormal: median ``mode`` with
    sigma from :func:`lognormal_sigma`: mean = mode * exp(sigma^2 / 2).

    Parameters
    ----------
    low : the range's low end, in the parameter's unit
    mode : its most likely value (triangular) or median (lognormal), same unit
    high : its high end, same unit

    Examples
    --------
    >>> distribution_mean(1.0, 2.0, 6.0)
    3.0
    """
    V.choice("distribution", distribution, _DISTS)
    lo, md, hi = (V.number(k, x) for k, x in (("low", low), ("mode", mode), ("high", high)))
    if not lo <= md <= hi:
        raise ValidationError(f"need low <= mode <= high, got {low!r}, {mode!r}, {high!r}")
    if distribution == "triangular":
        return (lo + md + hi) / 3.0
    return md * math.exp(0.5 * lognormal_sigma(lo, hi) ** 2)


def triangular_quantile(u: np.ndarray, low: float, mode: float, high: float) -> np.ndarray:
    """Inverse CDF of the triangular distribution at probabilities ``u``."""
    u = np.asarray(u, dtype=float)
    if high == low:
        return np.full(u.shape, float(mode))
    fc = (mode - low) / (high - low)
    left = low + np.sqrt(u * (high - low) * (mode - low))
    right = high - np.sqrt((1.0 - u) * (high - low) * (high - mode))
    return np.where(u < fc, left, right)


def _spec(specs: Mapping[str, Any], name: str):
    if name not in specs:
        raise unknown("parameter", name, specs)
    s = specs[name]
    for a in ("low", "value", "high"):
        if not hasattr(s, a):
            raise ValidationError(f"spec {name!r}: needs low, value, high (and distribution)")
    return s


def specs_from_frame(frame: pl.DataFrame) -> dict[str, Any]:
    """Specs from a polars frame with columns name, value, low, high and optionally
    distribution (default triangular), label and unit: name -> namespace."""
    cols = set(frame.columns)
    need = {"name", "value", "low", "high"}
    if not need <= cols:
        raise ValidationError(f"specs_from_frame: need columns {sorted(need)}, got {sorted(cols)}")
    out = {}
    for r in frame.iter_rows(named=True):
        out[r["name"]] = SimpleNamespace(
            name=r["name"], value=float(r["value"]), low=float(r["low"]), high=float(r["high"]),
            distribution=r.get("distribution") or "triangular", label=r.get("label") or r["name"],
            unit=r.get("unit") or "")
    return out


LOGNORMAL_OUTSIDE_MAX = 1e-6
"""Largest probability a lognormal may put outside a parameter's physical bounds
(``infra_lab.economics._validate.BOUNDS``: a fraction at most 1, a PUE at least 1, ...)
before the parameter is drawn from its triangular range instead."""


def lognormal_outside(spec: Any) -> float:
    """Probability that the lognormal of ``spec`` (median ``value``, ``low``/``high`` as its
    P5/P95) falls outside the physical bounds of the parameter named ``spec.name``; 0 for a
    name without bounds (e.g. a lognormal of ``utilization``, whose P95 is 1.0, would put a
    sixth of its draws above 1; one of PUE would put some below 1)."""
    b = V.BOUNDS.get(getattr(spec, "name", None))
    if b is None or spec.low <= 0 or spec.high <= spec.low:
        return 0.0
    lo, hi = b[0], b[1]
    sig = lognormal_sigma(spec.low, spec.high)
    mu = math.log(spec.value)
    below = 0.5 * math.erfc(-(math.log(lo) - mu) / (sig * math.sqrt(2.0))) if lo > 0 else 0.0
    above = 0.5 * math.erfc((math.log(hi) - mu) / (sig * math.sqrt(2.0))) if hi is not None else 0.0
    return below + above


def effective_distribution(spec: Any, distribution: str | None = None) -> str:
    """The distribution a spec is drawn from: ``distribution`` if given, else the spec's own.
    A lognormal is used only where low > 0 and it puts at most
    :data:`LOGNORMAL_OUTSIDE_MAX` of its probability outside the parameter's physical bounds
    (:func:`lognormal_outside`); otherwise the spec is drawn from its triangular range, so no
    draw is ever a utilization above 1, a PUE below 1 or a fraction of 1 or more."""
    dist = distribution or getattr(spec, "distribution", "triangular")
    V.choice("distribution", dist, _DISTS)
    if dist == "lognormal" and (spec.low <= 0 or lognormal_outside(spec) > LOGNORMAL_OUTSIDE_MAX):
        return "triangular"
    return dist


def sample(specs: Mapping[str, Any], n: int, seed: int, names: Iterable[str] | None = None, *,
           distribution: str | None = None, fixed: Mapping[str, float] | None = None) -> dict[str, np.ndarray]:
    """Draw ``n`` samples of each named parameter from its low/value/high range.

    Parameters
    ----------
    specs : name -> spec (low, value, high, distribution)
    n : samples
    seed : integer seed of the counter-based stream (see the module notes)
    names : parameters to draw (default: all of ``specs``)
    distribution : "triangular" (low, mode = value, high) or "lognormal" (median = value,
        low/high as P5/P95) for every parameter; None: each spec's own ``distribution``. A
        lognormal needs low > 0 and must stay inside the parameter's physical bounds
        (:func:`effective_distribution`): other parameters stay triangular.
    fixed : name -> value held constant (not drawn); names outside ``names`` are added

    Returns
    -------
    dict name -> array of n floats. Each parameter's draws depend only on (seed, name, k).
    """
    n = V.draws(n)
    seed = V.seed(seed)
    names = list(specs if names is None else names)
    fixed = V.table("fixed", fixed)
    if distribution is not None:
        V.choice("distribution", distribution, _DISTS)
    out: dict[str, np.ndarray] = {}
    for name in names:
        if name in fixed:
            continue
        s = _spec(specs, name)
        dist = effective_distribution(s, distribution)
        if s.high == s.low:
            out[name] = np.full(n, float(s.value))
        elif dist == "triangular":
            out[name] = triangular_quantile(uniforms(seed, name, n), s.low, s.value, s.high)
        else:
            out[name] = s.value * np.exp(lognormal_sigma(s.low, s.high) * normals(seed, name, n))
    for name, val in fixed.items():
        out[name] = np.full(n, V.number(f"fixed[{name!r}]", val))
    return out


# --------------------------------------------------------------------------------------
# Monte Carlo and summaries
# --------------------------------------------------------------------------------------
def monte_carlo(func: Callable[..., Any], specs: Mapping[str, Any], n: int = 2000, seed: int = 0,
                names: Iterable[str] | None = None, *, distribution: str | None = None,
                fixed: Mapping[str, float] | None = None, vectorized: bool = False,
                **kwargs: Any) -> np.ndarray:
    """Monte Carlo of any scalar output.

    ``vectorized=False``: ``func(**draw, **kwargs)`` per draw (a Python loop; keep ``n`` to
    thousands). ``vectorized=True``: one call ``func(**arrays, **kwargs)`` returning an array
    of ``n`` outputs (use this for numpy formulas).

    Returns
    -------
    array of n outputs (non-finite outputs raise: a Monte Carlo never hides a NaN)
    """
    V.boolean("vectorized", vectorized)
    n, seed = V.draws(n), V.seed(seed)    # n = 3.0 reached np.empty(n) below (numpy's TypeError)
    if not callable(func):
        raise ValidationError(f"func = {func!r}: expected a callable")
    s = sample(specs, n, seed, names, distribution=distribution, fixed=fixed)
    if vectorized:
        out = np.asarray(func(**s, **kwargs), dtype=float)
        if out.shape != (n,):
            out = np.broadcast_to(out, (n,)).copy()
    else:
        keys = list(s)
        out = np.empty(n)
        for i in range(n):
            out[i] = func(**{k: float(s[k][i]) for k in keys}, **kwargs)
    if not np.all(np.isfinite(out)):
        bad = int(np.sum(~np.isfinite(out)))
        raise ValidationError(f"monte_carlo: {bad} of {n} outputs are not finite; check the ranges")
    return out


def percentiles(samples: np.ndarray, q: Iterable[float] = (5, 50, 95)) -> dict[str, float]:
    """Percentiles and mean of Monte Carlo samples: {"p5": ..., "p50": ..., "p95": ..., "mean": ...}.

    Examples
    --------
    >>> import numpy as np
    >>> import infra_lab as il
    >>> il.economics.percentiles(np.arange(101.0))
    {'p5': 5.0, 'p50': 50.0, 'p95': 95.0, 'mean': 50.0}
    """
    a = V.float_array("samples", samples)
    if a.ndim != 1 or a.size == 0 or not np.all(np.isfinite(a)):
        raise ValidationError(f"samples = {samples!r:.80}: expected a non-empty 1-D array of finite numbers "
                              f"(size {a.size}, shape {a.shape})")
    if isinstance(q, (str, bytes, dict)) or not isinstance(q, Iterable):
        raise ValidationError(f"q = {q!r}: expected a list of percentiles in [0, 100]")
    q = [V.number("q", x, lo=0, hi=100) for x in q]
    if not q:
        raise ValidationError("q = []: expected at least one percentile in [0, 100]")
    vals = np.percentile(a, q)
    out = {f"p{g:g}": float(v) for g, v in zip(q, vals, strict=True)}
    out["mean"] = float(a.mean())
    return out


@dataclass(frozen=True)
class Band(Printout):
    """A Monte Carlo summary: P50 with its P5-P95 band, the mean and the sample size."""

    p5: float
    p50: float
    p95: float
    mean: float
    n: int

    def fmt(self, fmt: str = "{:,.2f}", scale: float = 1.0) -> str:
        """'P50 (P5–P95)' as text, values divided by ``scale``; a band with a negative end reads
        'P50 (P5 to P95)' (an IRR of '-4% (-15%–13%)' was hard to read). A figure that rounds
        to zero in ``fmt`` prints without a sign ('0.00', not '-0.00')."""
        if not isinstance(fmt, str):
            raise ValidationError(f"fmt = {fmt!r}: expected a format string such as '{{:,.2f}}'")
        scale = V.positive("scale", scale)
        try:
            fmt.format(1.0)
        except (ValueError, IndexError, KeyError) as e:
            raise ValidationError(f"fmt = {fmt!r}: not a format string for one number ({e})") from None
        from .._repr import unsigned_zero

        def one(x: float) -> str:   # a figure that rounds to zero reads '0.00', not '-0.00'
            return unsigned_zero(fmt.format(x / scale))

        sep = " to " if min(self.p5, self.p95) < 0 else "–"
        return f"{one(self.p50)} ({one(self.p5)}{sep}{one(self.p95)})"

    def _printout(self) -> str:
        """The band (its three figures at one precision, :func:`~infra_lab._repr.band_text`) over
        its fields."""
        from .._repr import band_text, readable

        return readable(self, title=band_text(self.p50, self.p5, self.p95),
                        footer="exact values: the attributes")

    def as_dict(self) -> dict[str, float]:
        return {"p5": self.p5, "p50": self.p50, "p95": self.p95, "mean": self.mean}


@dataclass(frozen=True)
class PaybackBand(Band):
    """A :class:`Band` of paybacks [years] (:func:`infra_lab.economics.payback_band`): a figure
    never repaid stays ``math.inf`` in the fields and prints "never", with what that means
    (:data:`infra_lab._repr.NOT_REPAID`), as the other payback printouts do."""

    def _printout(self) -> str:
        """The band in years, "never" for an infinite figure (said once what it means), over its
        fields laid out as :func:`~infra_lab._repr.readable` lays them out."""
        from .._repr import NOT_REPAID, band_text, value_text

        def one(x: float) -> str:
            return "never" if x == math.inf else value_text("payback_years", x)

        ends = (self.p5, self.p50, self.p95)
        title = ("never" if all(x == math.inf for x in ends)
                 else f"{band_text(self.p50, self.p5, self.p95).replace('inf', 'never')} years")
        rows = [("p5", one(self.p5)), ("p50", one(self.p50)), ("p95", one(self.p95)),
                ("mean", one(self.mean)), ("n", f"{self.n:,}")]
        lines = [f"{type(self).__name__}: {title}", *(f"  {a.ljust(4)}  {b}" for a, b in rows)]
        if math.inf in (self.p5, self.p50, self.p95, self.mean):
            lines.append(f"  never: {NOT_REPAID} (the field is inf)")
        lines.append("  (exact values: the attributes)")
        return "\n".join(lines)


def band(samples: np.ndarray) -> Band:
    """:class:`Band` of samples (P5, P50, P95, mean).

    Examples
    --------
    >>> import numpy as np
    >>> import infra_lab as il
    >>> b = il.economics.band(np.arange(101.0))
    >>> b.p5, b.p50, b.p95, b.mean
    (5.0, 50.0, 95.0, 50.0)
    """
    p = percentiles(samples)
    return Band(p["p5"], p["p50"], p["p95"], p["mean"], int(np.asarray(samples).size))


def fmt_band(samples: np.ndarray, fmt: str = "{:,.2f}", scale: float = 1.0) -> str:
    """'P50 (P5–P95)' as text, e.g. '1.23 (0.95–1.80)'; values divided by ``scale``.

        Examples
        --------
        >>> import numpy as np
        >>> import infra_lab as il
        >>> il.economics.fmt_band(np.arange(101.0))
        '50.00 (5.00–95.00)'
        """
    return band(samples).fmt(fmt, scale)


def tornado(func: Callable[..., float], specs: Mapping[str, Any],
            names: Iterable[str] | None = None, *,
            base: Mapping[str, float] | None = None, **kwargs: Any) -> pl.DataFrame:
    """One-at-a-time sensitivities: each parameter at its low and at its high, the others at
    their ``value`` (or ``base``).

    Returns
    -------
    polars DataFrame sorted by swing (largest first): parameter, label (human name with
    unit, from the spec), unit, low, high, base_value, output_low, output_high, output_base,
    swing
    """
    import polars as pl

    if not callable(func):
        raise ValidationError(f"func = {func!r}: expected a callable")
    from .._validate import sequence

    names = list(specs) if names is None else sequence("names", names, "parameter names")
    if not names:
        raise ValidationError(f"names = {names!r}: expected at least one parameter to swing")
    for nm in names:
        _spec(specs, nm)
    b = {nm: float(specs[nm].value) for nm in names}
    for k, v in (base or {}).items():
        b[k] = V.number(f"base[{k!r}]", v)
    def call(at: str, point: dict) -> float:
        # a function returning NaN/inf gave NaN swings, sorted anywhere; a non-number, float()'s ValueError
        y = func(**point, **kwargs)
        if isinstance(y, bool) or not isinstance(y, numbers.Real) or not math.isfinite(y):
            raise ValidationError(f"func returned {y!r} at {at}: expected a finite number (the output the "
                                  "tornado swings)")
        return float(y)

    y0 = call("the base values", b)
    rows = []
    for nm in names:
        s = specs[nm]
        lo = call(f"{nm} = {float(s.low):g} (its low)", {**b, nm: float(s.low)})
        hi = call(f"{nm} = {float(s.high):g} (its high)", {**b, nm: float(s.high)})
        rows.append({"parameter": nm, "label": getattr(s, "label", nm) or nm, "unit": getattr(s, "unit", ""),
                     "low": float(s.low), "high": float(s.high), "base_value": b[nm],
                     "output_low": lo, "output_high": hi, "output_base": y0, "swing": abs(hi - lo)})
    return pl.DataFrame(rows).sort("swing", descending=True)
