"""Loaders for data/reliability/*.csv (one loader per table) and shared argument checks."""

from __future__ import annotations

import math
from functools import cache
from typing import TYPE_CHECKING

from .. import _validate as V
from .. import catalog
from ..errors import UnknownNameError, ValidationError, check_positive, unknown

if TYPE_CHECKING:
    import polars as pl

DATA = catalog.DATA_DIR / "reliability"

COMPONENT_CLASSES = ("gpu", "hbm", "nic", "link", "switch", "host", "software", "unknown")
"""Component classes, in the order used by every per-class array of the package."""
CLASS_LABELS = {"gpu": "GPU", "hbm": "HBM", "nic": "NIC", "link": "link", "switch": "switch",
                "host": "host", "software": "software", "unknown": "unknown"}
"""How a component class reads where it is displayed (tables, charts, prose): acronyms in
capitals. Display only: the data's keys stay :data:`COMPONENT_CLASSES`."""


def class_label(component_class: str) -> str:
    """The displayed name of a component class (:data:`CLASS_LABELS`): ``'nic'`` → ``'NIC'``.
    An unknown class raises :class:`~infra_lab.errors.UnknownNameError` naming the nearest.

    Parameters
    ----------
    component_class : a component class, e.g. 'nic' (the keys of il.reliability.CLASS_LABELS)

    Examples
    --------
    >>> import infra_lab as il
    >>> il.reliability.class_label("nic"), il.reliability.class_label("link")
    ('NIC', 'link')
    """
    if not isinstance(component_class, str) or component_class not in CLASS_LABELS:
        raise unknown("component_class", component_class, COMPONENT_CLASSES)
    return CLASS_LABELS[component_class]

BASES = ("gpu", "hbm", "nic", "link", "switch", "node")
"""What a class's rate is counted per: GPUs, HBM (stacks, GPUs or GB, see ``hbm_basis``),
back-end NICs, back-end links, back-end switches, nodes."""
DETECTIONS = ("crash", "hang")
ROLES = ("train:llama3", "train:fleet", "test")

_C = catalog.Col
PARAMETER_BASES = ("measured", "reported", "fitted", "derived", "assumption", "simulated")
"""Bases of a row of data/reliability/parameters.csv: ``reported`` is a figure relayed by others
(a press figure, a vendor claim as the press reports it), not measured by the row's source."""
_SCHEMAS = {
    "parameters": {"name": _C("str", True), "value": _C("float", True), "unit": _C("str", True),
                   "basis": _C("str", True, choices=PARAMETER_BASES)},
    "llama3_interruptions": {
        "component": _C("str", True), "category": _C("str", True),
        "count": _C("int", True, positive=True), "printed_pct": _C("float", True, positive=True),
        "component_class": _C("str", True, choices=(*COMPONENT_CLASSES, "network")),
    },
    "component_classes": {
        "component_class": _C("str", True, choices=COMPONENT_CLASSES),
        "basis": _C("str", True, choices=BASES), "needs_replacement": _C("bool", True),
        "detection": _C("str", True, choices=DETECTIONS), "early_deployment": _C("bool", True),
        "description": _C("str", True),
    },
    "calibrations": {
        "name": _C("str", True), "accelerator": _C("str", True),
        "nodes": _C("int", True, positive=True), "gpus_per_node": _C("int", True, positive=True),
        "nics_per_node": _C("int", True, positive=True), "nic": _C("str", True),
        "fabric": _C("str", True), "window_h": _C("float", True, positive=True),
        "interruptions": _C("float", True, positive=True), "shares_from": _C("str", True),
        "basis": _C("str", True), "description": _C("str", True),
    },
    "hbm_stacks": {"accelerator": _C("str", True), "hbm_stacks": _C("int", True, positive=True),
                   "GB_per_stack": _C("float", True, positive=True),
                   "hbm_generation": _C("str", True)},
    "fleet_observations": {
        "observation": _C("str", True), "accelerator": _C("str", True),
        "gpus": _C("int", True, positive=True), "nodes": _C("int", True, positive=True),
        "nics_per_node": _C("int", True, positive=True), "nic": _C("str", True),
        "fabric": _C("str", True), "window_h": _C("float", True, positive=True),
        "interruptions_low": _C("float", True, positive=True),
        "interruptions_high": _C("float", positive=True),
        "role": _C("str", True, choices=ROLES), "classes": _C("str", True),
    },
    "goodput_observations": {
        "observation": _C("str", True), "accelerator": _C("str", True),
        "nodes": _C("int", True, positive=True), "gpus_per_node": _C("int", True, positive=True),
        "nics_per_node": _C("int", True, positive=True), "nic": _C("str", True),
        "fabric": _C("str", True), "model": _C("str", True), "optimizer": _C("str", True),
        "window_h": _C("float", True, positive=True),
        "goodput_low": _C("float", True, positive=True), "goodput_high": _C("float", True, positive=True),
        "failures_fitted_by": _C("str"), "role": _C("str", True, choices=("test",)),
    },
    "storage": {
        "name": _C("str", True),
        "client_write_GBps_per_node": _C("float", True, positive=True),
        "client_read_GBps_per_node": _C("float", True, positive=True),
        "aggregate_write_GBps": _C("float", positive=True),
        "aggregate_read_GBps": _C("float", positive=True),
        "mode": _C("str", True, choices=("sync", "async")),
    },
    "restart_profiles": {
        "profile": _C("str", True), "crash_detect_s": _C("float", True, nonneg=True),
        "collective_timeout_s": _C("float", True, positive=True),
        "health_check_period_s": _C("float", positive=True),
        "spare_swap_s": _C("float", True, nonneg=True), "relaunch_s": _C("float", True, nonneg=True),
    },
}


@cache
def table(name: str):
    """One table of data/reliability (cached); ``name`` is the file stem."""
    if name not in _SCHEMAS:
        raise unknown("reliability table", name, _SCHEMAS)
    return catalog.read_table(DATA / f"{name}.csv", _SCHEMAS[name])


def parameters() -> pl.DataFrame:
    """data/reliability/parameters.csv: name, value, unit, basis, source_url, note.

    Examples
    --------
    >>> import infra_lab as il
    >>> il.reliability.parameters().columns
    ['name', 'value', 'unit', 'basis', 'source_url', 'note']
    """
    return table("parameters")


def parameter(name: str) -> float:
    """One value of data/reliability/parameters.csv, in the unit its row states.

    Parameters
    ----------
    name : a parameter's name in data/reliability/parameters.csv (il.reliability.parameters()
        lists them, e.g. 'hot_spare_nodes')

    Examples
    --------
    >>> import infra_lab as il
    >>> il.reliability.parameter("hot_spare_nodes"), il.reliability.parameter("hot_spare_pool_nodes")
    (8.0, 128.0)
    """
    if not isinstance(name, str):   # checked before the cache, which cannot hash a list or a dict
        raise ValidationError(f"parameter name = {name!r}: expected a string, one of the names of "
                              "data/reliability/parameters.csv (il.reliability.parameters())")
    return _parameter(name)


@cache
def _parameter(name: str) -> float:
    t = parameters()
    hit = t.filter(t["name"] == name)
    if hit.height == 0:
        raise unknown("reliability parameter", name, t["name"].to_list())
    return float(hit["value"][0])


def number(field: str, value, *, allow_zero: bool = False, integer: bool = False) -> float:
    """A finite positive number (>= 0 with allow_zero); booleans and strings are refused."""
    return check_positive(field, value, allow_zero=allow_zero, integer=integer)


RATE_FACTOR_MAX = 1e6
"""The largest factor on a calibrated failure rate (``multiplier``, ``early_deployment``): a
million times the calibration. Above it the rates of a large cluster overflow a float (1e300 x
1e300 gave infinite rates and NaN shares)."""


def factor_at_least_one(field: str, value) -> float:
    """A finite multiplier >= 1 [-], at most :data:`RATE_FACTOR_MAX`."""
    v = check_positive(field, value)
    if not 1.0 <= v <= RATE_FACTOR_MAX:
        raise ValidationError(f"{field} = {value!r}: allowed 1 (as the calibration) .. {RATE_FACTOR_MAX:.0e}")
    return v


def rate_factor(field: str, value) -> float:
    """A factor >= 0 on a calibrated failure rate [-], at most :data:`RATE_FACTOR_MAX`."""
    v = check_positive(field, value, allow_zero=True)
    if v > RATE_FACTOR_MAX:
        raise ValidationError(f"{field} = {value!r}: allowed 0 .. {RATE_FACTOR_MAX:.0e} (a factor on the "
                              "calibration's failure rates)")
    return v


def choice(field: str, value, allowed) -> str:
    """``value`` if it is one of ``allowed`` (strings), else UnknownNameError; a value that is
    not a string is named by its type and a short form (:func:`infra_lab.errors.short_repr`):
    :func:`infra_lab._validate.choice` raising UnknownNameError for both."""
    return V.choice(field, value, allowed, not_a_string=UnknownNameError)


def seconds_or_inf(field: str, value) -> float:
    """A time [s] >= 0, or math.inf for "never" (None is read as inf)."""
    if value is None:
        return math.inf
    if isinstance(value, float) and value == math.inf:
        return math.inf
    return check_positive(field, value, allow_zero=True)
