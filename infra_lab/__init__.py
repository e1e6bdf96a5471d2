"""infra_lab: validated, fast models of AI-training infrastructure and its economics.

Public names (the contract in docs/ARCHITECTURE.md):

>>> import infra_lab as il
>>> sc = il.load_scenario("zaya1-ibm-mi300x")
>>> sc.hardware.world_size
1024

Calls: ``il.estimate``, ``il.search``, ``il.collective``, ``il.serve``, ``il.serve_search``,
``il.sweep`` (and ``Scenario``, ``load_scenario``, ``list_scenarios``). Submodules
(``il.catalog``, ``il.units``, ``il.scenario``, ``il.models``, ``il.model_counts``,
``il.compute``, ``il.memory``, ``il.collectives``, ``il.fabric``, ``il.cluster``, ``il.training``,
``il.serving``, ``il.economics``, ``il.reliability``, ``il.charts``, ``il.widgets``,
``il.validation``, ``il.stacks``, ``il.expansion``, ``il.multimodal``, ``il.printout``: the
printouts' number formats) load on first access (``il.errors``,
``il.catalog``, ``il.units`` and ``il.scenario`` are imported with the package), so
``import infra_lab`` stays light: altair and numba kernels are only imported when a chart or
kernel is first used.
"""

import importlib as _importlib

__version__ = "0.1.0"

from . import catalog, units  # noqa: E402, F401  (eager: light, and used everywhere)
from .errors import InfraLabError, UnknownNameError, ValidationError  # noqa: E402
from .scenario import Scenario, list_scenarios, load_scenario  # noqa: E402

_SUBMODULES = {
    "catalog", "units", "scenario", "models", "model_counts", "compute", "memory", "collectives",
    "fabric", "training", "economics", "reliability", "charts", "widgets", "validation",
    "cluster", "stacks", "expansion", "multimodal", "serving", "printout",
}

# Contract calls that live in submodules; resolved lazily.
_LAZY_FUNCS = {
    "estimate": ("training", "estimate"),
    "search": ("training", "search"),
    "collective": ("collectives", "collective"),
    # il.sweep: the function; the module infra_lab.sweep is callable too (the same call),
    # so importing the submodule first does not break il.sweep(...).
    "sweep": ("sweep", "sweep"),
    "serve": ("serving", "serve"),
    "serve_search": ("serving", "serve_search"),
}

__all__ = [
    "Scenario", "load_scenario", "list_scenarios", "estimate", "search", "collective", "sweep",
    "serve", "serve_search",
    "InfraLabError", "ValidationError", "UnknownNameError", "errors", *sorted(_SUBMODULES),
]
"""The public names: the contract calls, the scenario API, the error types and the submodules
(the ``errors`` module holds every other error and warning type). ``dir(il)`` lists these and
``__version__``: the modules this file imports for itself and its helpers are not API."""


def __getattr__(name: str) -> object:
    if name in _SUBMODULES:
        mod = _importlib.import_module(f".{name}", __name__)
        globals()[name] = mod
        return mod
    if name in _LAZY_FUNCS:
        modname, attr = _LAZY_FUNCS[name]
        obj = getattr(_importlib.import_module(f".{modname}", __name__), attr)
        globals()[name] = obj
        return obj
    raise AttributeError(f"module 'infra_lab' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*__all__, "__version__"})
