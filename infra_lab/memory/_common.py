"""The argument check the memory submodules share: a model given as a preset name or a
ModelSpec (:func:`_spec`)."""

from __future__ import annotations

from ..errors import ValidationError


def _spec(spec):
    """A ModelSpec from a preset name, a scenario's [model] table (a dict, as
    ``scenario.model``: ``{"preset": "zaya1-base"}`` or explicit keys) or a ModelSpec; anything
    else is refused by name."""
    from .. import models

    if isinstance(spec, str):
        return models.get(spec)
    if isinstance(spec, dict):
        return models.ModelSpec.from_dict(spec)
    if not isinstance(spec, models.ModelSpec):
        raise ValidationError(f"spec = {spec!r:.80}: expected a model preset name, a [model] table (dict) "
                              "or a ModelSpec")
    return spec
