"""Chart builders: a polars DataFrame in, an ``altair.Chart`` out; axis titles carry units.

One module per domain (``hardware``, ``compute``, ``network``, ``training``, ``economics``,
``reliability``); every public name of each is re-exported here, so ``il.charts.<name>``
works. Importing this package imports altair (about 2 s), which ``import infra_lab`` avoids.
``tables.headline_table`` turns a frame into a great_tables table for reading (the notebooks'
headline tables); great_tables is imported on its first call.
"""

from __future__ import annotations

import importlib
import pkgutil

from .base import *  # noqa: F403
from .base import __all__ as _base_all

__all__ = list(_base_all)

for _m in pkgutil.iter_modules(__path__):  # noqa: F405
    if _m.name.startswith("_") or _m.name == "base":
        continue
    _mod = importlib.import_module(f".{_m.name}", __name__)
    for _name in getattr(_mod, "__all__", []):
        globals()[_name] = getattr(_mod, _name)
        __all__.append(_name)
