"""Whether a dotted name a page writes (``training.collectives``, ``errors.unknown``) resolves
from the package as a user reads it: through ``infra_lab``'s attribute first (``il.sweep`` is the
function until ``infra_lab.sweep`` is imported, then the callable module carrying the same
signature), then each part as an attribute or a submodule. One resolver for the docs tests."""

from __future__ import annotations

import importlib


def resolves(dotted: str) -> bool:
    """True when ``dotted`` (its first part one of the package's modules) names something."""
    import infra_lab

    head, *rest = dotted.split(".")
    obj = getattr(infra_lab, head, None) or importlib.import_module(f"infra_lab.{head}")
    for part in rest:
        if hasattr(obj, part):
            obj = getattr(obj, part)
            continue
        try:
            obj = importlib.import_module(f"{obj.__name__}.{part}")
        except (ImportError, AttributeError):
            return False
    return True
