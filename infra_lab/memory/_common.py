"""The argument check the memory submodules share: a model given as a preset name or a
ModelSpec (:func:`_spec`)."""

from __future__ import annotations

from ..errors import ValidationError


def _spec(spec):
    """A ModelSpec from a preset name or a ModelSpec; anything else is refused by name."""
    from .. import models

    if isinstance(spec, str):
        return models.get(spec)
    if not isinstance(spec, models.ModelSpec):
        raise ValidationError(f"spec = {spec!r:.80}: expected a model preset name or a ModelSpec")
    return spec
