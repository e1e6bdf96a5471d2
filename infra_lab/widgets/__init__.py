"""ipywidgets explorers (`<domain>_explorer`, each with a tested `<domain>_update`). Each one
calls the same public functions the notebooks use; the callbacks do no modelling of their own,
so tests can call them directly.

One module per domain; every public name is re-exported here (``il.widgets.<name>``).
"""

from __future__ import annotations

import importlib
import pkgutil

__all__: list[str] = []

for _m in pkgutil.iter_modules(__path__):
    if _m.name.startswith("_"):
        continue
    _mod = importlib.import_module(f".{_m.name}", __name__)
    for _name in getattr(_mod, "__all__", []):
        globals()[_name] = getattr(_mod, _name)
        __all__.append(_name)
