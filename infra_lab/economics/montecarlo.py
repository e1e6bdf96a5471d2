"""Monte Carlo of the economics models: draws from parameters.csv, the owned cost (numba
kernel with sampling inside, or the numpy reference), any scalar output, and tornados with
human labels.

Headlines report the Monte Carlo **median with its P5-P95 band**: the data defaults are the
modes of right-skewed ranges (the purchase price, the host), so the model evaluated at the
defaults understates the central cost.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

import numpy as np
import polars as pl

from .._validate import sequence
from ..errors import ValidationError
from . import _validate as V
from . import uncertainty as U
from .data import HOURS_PER_YEAR, _no_price, parameters
from .owned import (
    DEPRECIATION,
    NETWORK,
    OWNED_PARAMS,
    WEEKS_PER_YEAR,
    _fabric_draws,
    _owned_components,
    check_age,
    owned_cost_per_gpu_hour,
    owned_inputs,
)

__all__ = ["sample_parameters", "monte_carlo", "monte_carlo_owned_cost", "tornado", "owned_specs"]


def _check_fixed(fixed: Mapping[str, float] | None) -> dict[str, float]:
    """Fixed values: economics inputs by name (a misspelled one raises with the nearest
    names), each checked against its physical bounds."""
    return V.input_table("fixed", fixed)


def owned_specs(accelerator: str = "MI300X", fixed: Mapping[str, float] | None = None) -> dict[str, Any]:
    """The specs (low, value, high, distribution, label, unit) of every owned-cost input for
    ``accelerator``; a ``fixed`` value replaces a missing row (e.g. a purchase price for an
    accelerator without a public one).

    Examples
    --------
    >>> import infra_lab as il
    >>> specs = il.economics.owned_specs("MI300X")
    >>> "capex_usd_per_gpu" in specs
    True
    """
    P = parameters(accelerator)
    fixed = V.table("fixed", fixed)
    if "capex_usd_per_gpu" not in P and "capex_usd_per_gpu" not in fixed:
        raise _no_price(V.accelerator(accelerator))
    return P


def _names(names: Any) -> list:
    """``names`` (parameter names: a non-empty list, tuple or other iterable of strings) as a list."""
    what = "parameter names, e.g. ['capex_usd_per_gpu', 'host_usd_per_gpu']"
    out = sequence("names", names, what)
    if not out or not all(isinstance(x, str) for x in out):   # [] drew nothing; [[...]] could not be looked up
        raise ValidationError(f"names = {names!r:.80}: expected a non-empty list of {what}")
    return out


def sample_parameters(n: int, seed: int, accelerator: str = "MI300X", names: Iterable[str] = OWNED_PARAMS, *,
                      distribution: str | None = None, fixed: Mapping[str, float] | None = None) -> dict[str, np.ndarray]:
    """Draw ``n`` samples of each named parameter of ``accelerator`` from its range
    (:func:`infra_lab.economics.uncertainty.sample`: counter-based stream, one per name, so
    the same seed gives common random numbers across accelerators).

    Parameters
    ----------
    n : the number of draws [-], a positive integer
    seed : the random seed (an integer); the same seed gives the same draws

    Returns
    -------
    dict name -> array of n floats (``fixed`` names held constant)

    Examples
    --------
    >>> import infra_lab as il
    >>> s = il.economics.sample_parameters(1000, seed=1, names=("capex_usd_per_gpu",))
    >>> list(s), s["capex_usd_per_gpu"].shape
    (['capex_usd_per_gpu'], (1000,))
    """
    names = _names(names)
    P = parameters(accelerator)
    fixed = _check_fixed(fixed)
    if "capex_usd_per_gpu" in names and "capex_usd_per_gpu" not in P and "capex_usd_per_gpu" not in fixed:
        raise _no_price(V.accelerator(accelerator))
    return U.sample(P, n, seed, names, distribution=distribution, fixed=fixed)


def monte_carlo(func: Callable[..., float], n: int = 2000, seed: int = 0, accelerator: str = "MI300X",
                names: Iterable[str] = OWNED_PARAMS, *, distribution: str | None = None,
                fixed: Mapping[str, float] | None = None, vectorized: bool = False, **kwargs: Any) -> np.ndarray:
    """Monte Carlo of any scalar output over ``accelerator``'s parameter ranges:
    ``func(**draw, **kwargs)`` per draw, or one vectorized call (``vectorized=True``).

    Parameters
    ----------
    func : the output to sample: a callable taking the drawn parameters as keywords
        (and ``kwargs``) and returning a number, e.g. lambda **p: ...

    Examples
    --------
    >>> s = monte_carlo(lambda **p: owned_cost_per_gpu_hour("MI300X", **p).total_usd_per_gpu_hour, n=50)
    >>> bool(s.min() > 0)
    True
    """
    names = _names(names)
    P = parameters(accelerator)
    fixed = _check_fixed(fixed)
    if "capex_usd_per_gpu" in names and "capex_usd_per_gpu" not in P and "capex_usd_per_gpu" not in fixed:
        raise _no_price(V.accelerator(accelerator))
    return U.monte_carlo(func, P, n, seed, names, distribution=distribution, fixed=fixed,
                         vectorized=vectorized, **kwargs)


def _kernel_owned_cost(specs: Mapping[str, Any], n: int, seed: int, fixed: Mapping[str, float], tdp_W: float, *,
                       scale: Mapping[str, float] | None = None, distribution: str | None = None,
                       depreciation: str = "straight-line", network: str = "per-port",
                       age_years: float = 0.0) -> np.ndarray:
    """The owned cost of ``n`` draws through the numba kernel: every input of
    :data:`OWNED_PARAMS` held at ``fixed`` where named there, else drawn from its spec with the
    counter-based stream of ``seed`` (:func:`~infra_lab.economics.uncertainty.sample`'s draws,
    each times ``scale``'s factor where given). The same numbers as the numpy path
    (``uncertainty.sample`` then ``_owned_components``): the kernel takes its operations in
    that order. Inputs are checked by the callers (:func:`monte_carlo_owned_cost`,
    ``owned_gpu_hour_quote``); nothing here validates."""
    from .._kernels import economics as K

    k = len(OWNED_PARAMS)
    keys = np.empty(k, dtype=np.uint64)
    codes = np.zeros(k, dtype=np.int64)
    lo, mode, hi, sigma = (np.zeros(k) for _ in range(4))
    factor = np.ones(k)
    for j, name in enumerate(OWNED_PARAMS):
        keys[j] = np.uint64(U.stream_key(seed, name))
        if name in fixed:
            mode[j] = fixed[name]
            continue
        p = specs[name]
        dist = U.effective_distribution(p, distribution)
        lo[j], mode[j], hi[j] = p.low, p.value, p.high
        factor[j] = (scale or {}).get(name, 1.0)
        if p.high == p.low:
            codes[j] = 0
        elif dist == "triangular":
            codes[j] = 1
        else:
            codes[j], sigma[j] = 2, U.lognormal_sigma(p.low, p.high)
    return K.owned_cost_mc_kernel(
        n, keys, codes, lo, mode, hi, sigma, factor, float(tdp_W),
        K.STRAIGHT_LINE if depreciation == "straight-line" else K.EXPONENTIAL,
        K.PER_PORT if network == "per-port" else K.FRACTION, float(age_years), HOURS_PER_YEAR, WEEKS_PER_YEAR)


def monte_carlo_owned_cost(n: int = 100_000, seed: int = 0, accelerator: str | None = None, *,
                           depreciation: str = "straight-line", network: str = "per-port",
                           distribution: str | None = None, fixed: Mapping[str, float] | None = None,
                           age_years: float = 0.0, backend: str = "numba", hardware: Any = None,
                           radix: int | None = None) -> np.ndarray:
    """Monte Carlo of the owned cost per useful GPU-hour [USD] over every input's range.

    Parameters
    ----------
    n : samples (up to 50 million)
    seed : integer seed of the counter-based stream
    accelerator : catalog name (all 12 work; without a public price pass
        ``fixed={"capex_usd_per_gpu": ...}``, without a TDP ``fixed={"tdp_W": ...}``); None:
        the hardware's, else MI300X
    hardware, radix : optional Scenario or [hardware] table and its switch radix: the back-end
        network of that cluster's own fabric (:func:`~infra_lab.economics.fabric_network_counts`:
        its whole switches), entered by :func:`~infra_lab.economics.fabric_count_factors`' rule,
        the one ``deal_pnl`` and ``expansion.owned_quote`` use: each draw of parameters.csv's
        count is multiplied by the cluster's count over the row's mode (the range keeps its
        relative width), or held at 0 where the cluster has none of the item (one node or one
        rack). The reference cluster (ZAYA1's 1,024 MI300X) gets factors of 1: the same draws as
        no hardware. Without it the counts are drawn from parameters.csv's rows, the reference
        fabric's
    depreciation, network, age_years : as :func:`owned_cost_per_gpu_hour`
    distribution : force "triangular" or "lognormal" for every input (None: each row's own)
    fixed : name -> value held constant (any owned-cost input, ``tdp_W``, or
        ``network_usd_per_gpu``)
    backend : "numba" (the kernel: draws and cost in one chunked loop) or "reference"
        (the numpy path: :func:`sample_parameters` then :func:`owned_components`); same numbers

    Returns
    -------
    array of n costs [USD per useful GPU-hour]

    Examples
    --------
    >>> s = monte_carlo_owned_cost(1000, seed=1)
    >>> bool(s.min() > 0)
    True
    """
    V.choice("depreciation", depreciation, DEPRECIATION)
    V.choice("network", network, NETWORK)
    V.choice("backend", backend, ("numba", "reference"))
    n = V.draws(n)
    seed = V.seed(seed)
    age = check_age(age_years, depreciation)
    if distribution is not None:
        V.choice("distribution", distribution, U._DISTS)
    fixed = V.table("fixed", fixed)
    accelerator, fixed, scale = _fabric_draws(accelerator, fixed, hardware, radix, network)
    if "utilization" in fixed and fixed["utilization"] is not None:
        V.fraction("utilization", fixed["utilization"])
    if "network_usd_per_gpu" in fixed:
        nv = fixed.pop("network_usd_per_gpu")
        fixed.update(nic_usd=nv, nics_per_gpu=1.0, switch_port_usd=0.0, optics_usd=0.0)
        network = "per-port"
    base = owned_inputs(accelerator, fixed)           # checks fixed values and the price/TDP
    specs = owned_specs(accelerator, fixed)
    tdp = base["tdp_W"]
    if backend == "reference":
        s = U.sample(specs, n, seed, OWNED_PARAMS, distribution=distribution,
                     fixed={k: base[k] for k in OWNED_PARAMS if k in fixed})
        for k, factor in scale.items():      # the drawn count's range scaled to the cluster's fabric
            s[k] = s[k] * factor
        s["tdp_W"] = tdp
        out = np.asarray(_owned_components(s, depreciation=depreciation, network=network, age_years=age)["total"],
                         dtype=float)
    else:
        out = _kernel_owned_cost(specs, n, seed, {k: base[k] for k in OWNED_PARAMS if k in fixed}, tdp,
                                 scale=scale, distribution=distribution, depreciation=depreciation, network=network, age_years=age)
    if not np.all(np.isfinite(out)):
        raise ValidationError("monte_carlo_owned_cost: non-finite costs; check the fixed values and ranges")
    return out


def tornado(func: Callable[..., float] | None = None, accelerator: str = "MI300X",
            names: Iterable[str] = OWNED_PARAMS, *, base: Mapping[str, float] | None = None,
            **kwargs: Any) -> pl.DataFrame:
    """One-at-a-time sensitivities over ``accelerator``'s parameter ranges, with a ``label``
    column (e.g. "GPU purchase price [USD per GPU]") for charts.

    Parameters
    ----------
    func : output, called as ``func(**params, **kwargs)``; default the owned cost per useful
        GPU-hour of ``accelerator`` [USD]
    names : parameters to swing (those with low == high are skipped)
    base : overrides of the base case

    Returns
    -------
    polars DataFrame sorted by swing: parameter, label, unit, low, high, base_value,
    output_low, output_high, output_base, swing

    Examples
    --------
    >>> import infra_lab as il
    >>> df = il.economics.tornado(accelerator="MI300X")
    >>> df.columns[:3], bool((df["swing"].diff().drop_nulls() <= 0).all())   # largest swing first
    (['parameter', 'label', 'unit'], True)
    """
    P = parameters(accelerator)
    given = sequence("names", names, "parameter names")
    if not given:
        raise ValidationError(f"names = {names!r}: expected at least one parameter to swing")
    names = [nm for nm in given if nm in P and P[nm].low != P[nm].high or nm not in P]
    if not names:   # every one fixed: nothing to swing (polars' ColumnNotFoundError 'swing' before)
        raise ValidationError(f"names = {given!r}: no range to swing for {accelerator} (low = high for "
                              f"{', '.join(map(str, given))})")
    if func is None:
        owned_defaults = {k: P[k].value for k in OWNED_PARAMS if k in P}

        def func(**p: float) -> float:
            return owned_cost_per_gpu_hour(accelerator, **{**owned_defaults, **p}).total_usd_per_gpu_hour
    return U.tornado(func, P, names, base=base, **kwargs)
