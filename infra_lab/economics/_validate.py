"""Argument checks shared by the economics modules (private).

Every public function of :mod:`infra_lab.economics` validates its arguments with these
helpers, so a bad input raises :class:`~infra_lab.errors.ValidationError` (or
:class:`~infra_lab.errors.UnknownNameError`) naming the argument, the value and what is
allowed, never a foreign exception from deep inside a formula.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from .. import catalog
from .._validate import REAL as _REAL  # noqa: F401  (kept name)
from .._validate import (  # noqa: F401  (the shared checks)
    boolean,
    choice,
    float_array,
    fraction,
    integer,
    is_real,
    mapping,
    number,
    positive,
    scalar,
)
from ..errors import ValidationError, unknown


def rate(field: str, value: Any) -> float:
    """A rate per year as a fraction in [0, 1)."""
    return number(field, value, lo=0.0, hi=1.0, hi_open=True,
                  allowed="a rate per year as a fraction in [0, 1)")


MAX_DRAWS = 50_000_000
"""Most Monte Carlo draws one call takes (an array-size guard: the owned-cost kernel's 50
million draws run in seconds; the per-draw Python loop of ``monte_carlo`` is slower)."""

MAX_DRAW_MONTHS = 12_000_000
"""Most draws x months the operator's monthly model (``deal_pnl``) holds in one call: about
100 bytes of working memory each, so about 1.2 GB (200,000 draws over a 5-year horizon)."""

MAX_SEED = 2**63 - 1
"""Largest seed of the counter-based stream (a signed 64-bit integer, as the kernels hold it)."""


def _whole(value: Any) -> bool:
    """An int, or a float with no fraction (numpy ones too); never a bool, a string, NaN."""
    value = scalar(value)
    if not is_real(value):
        return False
    return not isinstance(value, (float, np.floating)) or (math.isfinite(value) and value == int(value))


def draws(value: Any, field: str = "n", *, hi: int = MAX_DRAWS, why: str = "") -> int:
    """A number of Monte Carlo draws: a whole number in [1, ``hi``] (``why`` says where a
    lower cap comes from). A bool, a fraction, a string, NaN or infinity is refused with the
    field, the value and the allowed range."""
    allowed = f"a whole number of Monte Carlo draws in [1, {hi:,}]{why}"
    if not _whole(value) or not 1 <= int(scalar(value)) <= hi:
        raise ValidationError(f"{field} = {value!r}: expected {allowed}")
    return int(scalar(value))


def seed(value: Any, field: str = "seed") -> int:
    """A seed of the counter-based stream: a whole number in [0, 2^63 - 1] (a bool, a
    fraction, a string, NaN or infinity is refused with the field, the value and the range)."""
    if not _whole(value) or not 0 <= int(scalar(value)) <= MAX_SEED:
        raise ValidationError(f"{field} = {value!r}: expected a random seed, a whole number in [0, 2^63 - 1]")
    return int(scalar(value))


def table(field: str, value: Any, what: str = "parameter -> number") -> dict:
    """An optional dict argument (None = empty): ``fixed=``, ``overrides=``, ``nics=`` ..."""
    return {} if value is None else mapping(field, value, what)


def accelerator(value: Any, field: str = "accelerator") -> str:
    """The canonical catalog name of an accelerator (aliases accepted, case-insensitive)."""
    if not isinstance(value, str):
        raise ValidationError(f"{field} = {value!r}: expected an accelerator name (str), "
                              f"e.g. 'MI300X'")
    return catalog.canonical_accelerator(value)


# --------------------------------------------------------------------------------------
# Model inputs: one table of bounds, one check for a dict of inputs
# --------------------------------------------------------------------------------------
BOUNDS: dict[str, tuple[float, float | None, bool, bool]] = {
    # owned cost (owned_inputs, owned_components, tco_arrays): (lo, hi, lo_open, hi_open)
    "capex_usd_per_gpu": (0.0, 5e6, True, False), "host_usd_per_gpu": (0.0, 5e6, False, False),
    "spare_fraction": (0.0, 1.0, False, False), "nic_usd": (0.0, 1e6, False, False),
    "nics_per_gpu": (0.0, 16.0, False, False), "switch_port_usd": (0.0, 1e6, False, False),
    # switch ports per GPU: whole switches are bought, so a small fabric of a large radix counts many
    # (2 nodes of 8 on 8 rails of 1,024-port switches: 512, twice that at 800G; fabric_network_counts)
    "switch_ports_per_gpu": (0.0, 4096.0, False, False), "optics_usd": (0.0, 1e6, False, False),
    "optics_per_gpu": (0.0, 64.0, False, False), "interconnect_fraction": (0.0, 1.0, False, True),
    "storage_fraction": (0.0, 10.0, False, False), "frontend_fraction": (0.0, 10.0, False, False),
    "life_years": (1.0 / 365.25, 50.0, False, False), "depreciation_ooms_per_year": (0.0, 5.0, True, False),
    "cost_of_capital": (0.0, 1.0, False, True), "server_power_ratio": (1.0, 10.0, False, False),
    "avg_power_fraction": (0.0, 1.5, True, False), "pue": (1.0, 5.0, False, False),
    "electricity_usd_per_kWh": (0.0, 10.0, False, False),
    "colocation_usd_per_kW_month": (0.0, 10_000.0, False, False),
    "maintenance_fraction_per_year": (0.0, 1.0, False, False),
    "insurance_tax_fraction_per_year": (0.0, 1.0, False, False),
    "staff_fte_per_1000_gpus": (0.0, 1000.0, False, False),
    "staff_usd_per_fte_year": (0.0, 1e7, False, False), "setup_weeks": (0.0, 520.0, False, False),
    "utilization": (0.0, 1.0, True, False), "tdp_W": (0.0, 1e5, True, False),
    "network_usd_per_gpu": (0.0, 1e7, False, False),
    # the operator (operator_inputs, operator_cash_flows)
    "contract_usd_per_gpu_hour": (0.0, 1e4, True, False), "zyphra_contract_months": (0.0, 600.0, False, False),
    "contract_utilization": (0.0, 1.0, True, False), "market_utilization": (0.0, 1.0, True, False),
    "utilization_price_elasticity": (0.0, 20.0, False, False), "rent_rebound_fraction": (-0.99, 20.0, False, False),
    "ibm_book_life_years": (0.0, 50.0, True, False), "contract_years": (0.0, 50.0, False, False),
    "tco_horizon_years": (0.0, 50.0, True, False),   # tco() checks its own [1/12, 30] years
    # the deal and the other rows of parameters.csv
    "amd_asp_usd_per_gpu": (0.0, 5e6, True, False), "dpus_per_node": (0.0, 64.0, False, False),
    "dpu_usd": (0.0, 1e6, False, False), "mfu": (0.0, 1.0, True, False),
    # a rent [USD per GPU-hour] (the explorer's rent slider): rents are rows of
    # data/cloud_prices.csv (il.economics.cloud_price), not of parameters.csv
    "rental_usd_per_gpu_hour": (0.0, 1e4, True, False),
}
"""Physical bounds of every economics input [lo, hi, lo open, hi open], in the unit of its
row in ``data/economics/parameters.csv`` (``tdp_W`` [W per GPU], ``network_usd_per_gpu``
[USD per GPU] and ``contract_years`` [years] are not rows there)."""

_EXTRA_UNITS = {"tdp_W": "W per GPU (data/accelerators.csv)", "network_usd_per_gpu": "USD per GPU",
                "contract_years": "years"}


def units() -> dict[str, str]:
    """Unit of every economics input: the ``unit`` column of parameters.csv, plus the inputs
    that are not rows there."""
    from .data import parameter_table  # late: data imports this module

    out: dict[str, str] = {}
    for name, unit in parameter_table().select("name", "unit").iter_rows():
        out.setdefault(name, unit)
    return {**out, **_EXTRA_UNITS}


def known_inputs() -> tuple[str, ...]:
    """Every economics input name: the rows of parameters.csv and ``tdp_W``,
    ``network_usd_per_gpu``, ``contract_years``."""
    return tuple(units())


def _with_unit(names: Any, u: dict[str, str]) -> str:
    return ", ".join(f"{k} [{u[k]}]" if u.get(k) else k for k in names)


def values(field: str, value: Any, lo: float | None = None, hi: float | None = None,
           lo_open: bool = False, hi_open: bool = False, allowed: str = "") -> Any:
    """A number, or a sequence / array of numbers, every one finite and in the range (the
    array formulas take both). A number comes back as a float, a list or tuple as an array,
    an array as given (its values are not copied or cast). The message of a bad element
    names it by index: ``spare_fraction[3] = -0.1: must be ...``."""
    if isinstance(value, np.ndarray) or isinstance(value, (list, tuple)):
        a = float_array(field, value)
        if a.size == 0:   # no draws: every formula's result would be empty (or fail to broadcast)
            raise ValidationError(f"{field} = {value!r}: empty; expected a number or an array of at least one value")
        ok = np.isfinite(a)
        if lo is not None:
            ok &= (a > lo) if lo_open else (a >= lo)
        if hi is not None:
            ok &= (a < hi) if hi_open else (a <= hi)
        if not ok.all():
            i = int(np.flatnonzero(~ok.ravel())[0])
            idx = np.unravel_index(i, a.shape) if a.ndim else ()
            name = f"{field}[{', '.join(str(int(j)) for j in idx)}]" if a.ndim else field
            number(name, float(a.ravel()[i]), lo=lo, hi=hi, lo_open=lo_open, hi_open=hi_open, allowed=allowed)
        return value if isinstance(value, np.ndarray) else a
    return number(field, value, lo=lo, hi=hi, lo_open=lo_open, hi_open=hi_open, allowed=allowed)


def _bounds(name: str) -> tuple[float | None, float | None, bool, bool]:
    return BOUNDS.get(name, (None, None, False, False))


def bounded(name: str, value: Any, field: str | None = None) -> float:
    """``value`` as a finite float inside ``name``'s row of :data:`BOUNDS` (an input without
    bounds need only be finite); ``field`` names it in the message (default ``name``)."""
    lo, hi, lo_open, hi_open = _bounds(name)
    return number(field or name, value, lo=lo, hi=hi, lo_open=lo_open, hi_open=hi_open)


def bounded_values(name: str, value: Any) -> Any:
    """As :func:`bounded` for a number or an array of numbers (see :func:`values`)."""
    lo, hi, lo_open, hi_open = _bounds(name)
    return values(name, value, lo, hi, lo_open, hi_open)


def input_table(field: str, table: Any, allowed: Any = None, *, where: str = "") -> dict:
    """An optional dict of economics inputs held fixed (``fixed=``): every name known (one
    of ``allowed``, default every economics input; a misspelled name raises
    :class:`~infra_lab.errors.UnknownNameError` with the nearest names) and every value a
    finite number inside its bounds."""
    out = table if table is None else mapping(field, table, "input name -> number")
    out = {} if out is None else out
    valid = tuple(known_inputs() if allowed is None else allowed)
    for k, x in out.items():
        if k not in valid:
            raise unknown("input", k, valid, where=where or field)
        if x is None:
            raise ValidationError(f"{field}[{k!r}] = None: pass a number or leave {k} out")
        out[k] = bounded(k, x, f"{field}[{k!r}]")
    return out


def build_hint(inputs_fn: str, params: str) -> str:
    """Where a complete inputs dict for a formula comes from, said by its missing-key errors:
    ``inputs_fn`` builds one from the defaults, ``sample_parameters(..., params)`` draws arrays."""
    return (f"A complete dict: {inputs_fn}(accelerator, overrides) (defaults from "
            "data/economics/parameters.csv, tdp_W from data/accelerators.csv); arrays of draws: "
            f"sample_parameters(n, seed, accelerator, {params}), then add 'tdp_W'.")


def model_inputs(func: str, v: Any, required: Any, optional: Any = (), *, what: str, build: str,
                 one_dim: bool = False) -> dict:
    """The inputs dict ``v`` of an array formula (``owned_components``, ``tco_arrays``,
    ``operator_cash_flows``), checked before the formula reads it:

    * ``v`` is a dict;
    * a key that is no economics input at all (a typo) raises UnknownNameError naming the
      nearest inputs of ``func``; other economics inputs are accepted and not used (a dict
      from ``operator_inputs`` or ``sample_parameters`` carries more than one formula needs);
    * a missing ``required`` key raises ValidationError naming the missing keys, every key
      ``func`` needs with its unit, and ``build``: where a complete dict comes from;
    * each value used is a number or an array of numbers inside :data:`BOUNDS`, and the
      arrays broadcast together (``one_dim``: 1-D arrays of one length).

    ``optional`` may be a dict name -> a note on what the input does (said in the message).

    Returns ``v`` as a new dict, lists and tuples turned into arrays; numbers and arrays are
    passed on as given, so the formula computes exactly what it did before the check.
    """
    if not isinstance(v, Mapping):
        raise ValidationError(f"v = {v!r:.60}: expected the {what} as a dict ({build})")
    notes = dict(optional) if isinstance(optional, Mapping) else {}
    required, optional = tuple(required), tuple(optional)
    u = units()
    for k in v:
        if k not in u and k not in required and k not in optional:
            raise unknown("input", k, (*required, *optional), where=f"{func}(v)")
    missing = [k for k in required if k not in v]
    if missing:
        opt = "; ".join(f"{_with_unit([k], u)}{f' ({notes[k]})' if notes.get(k) else ''}" for k in optional)
        opt = f"; optional: {opt}" if opt else ""
        need = (f"v is missing all {len(required)} inputs it needs: {_with_unit(required, u)}"
                if len(missing) == len(required) else
                f"v is missing {_with_unit(missing, u)}. It needs {len(required)} inputs: "
                f"{_with_unit(required, u)}")
        raise ValidationError(f"{func}: {need}{opt}. {build}")
    out = dict(v)
    for k in (*required, *optional):
        if k not in out:
            continue
        x = out[k]
        if x is None:
            raise ValidationError(f"{k} = None: expected a number or an array of numbers [{u.get(k, '')}]")
        checked = bounded_values(k, x)
        if isinstance(x, (np.ndarray, list, tuple)):
            out[k] = checked            # an array as given; a list or tuple as an array
    check_shapes(func, array_shapes(out, (*required, *optional)), one_dim=one_dim)
    return out


def array_shapes(v: Mapping[str, Any], keys: Any) -> dict[str, tuple[int, ...]]:
    """Shapes of the array values of ``keys`` in ``v`` (numbers left out)."""
    return {k: v[k].shape for k in keys if isinstance(v.get(k), np.ndarray)}


def check_shapes(func: str, shapes: Mapping[str, tuple[int, ...]], *, one_dim: bool = False) -> None:
    """Arrays of inputs that the formula combines must broadcast together (``one_dim``: be
    1-D, each of one length or of length 1)."""
    if one_dim:
        bad = {k: s for k, s in shapes.items() if len(s) > 1}
        if bad:
            k, s = next(iter(bad.items()))
            raise ValidationError(f"{func}: {k} has shape {s}: expected a number or a 1-D array of draws")
        sizes = {k: s[0] for k, s in shapes.items() if s and s[0] != 1}
        if len(set(sizes.values())) > 1:
            raise ValidationError(f"{func}: arrays of different lengths "
                                  f"({', '.join(f'{k}: {n}' for k, n in sizes.items())}); "
                                  f"expected one length n (or numbers)")
        return
    try:
        np.broadcast_shapes(*shapes.values())
    except ValueError:
        raise ValidationError(f"{func}: array inputs of shapes that do not broadcast together "
                              f"({', '.join(f'{k}: {s}' for k, s in shapes.items())})") from None
