"""The [model] table: a preset name or explicit fields made plain (numpy scalars, tuples, None
entries) and validated into the ModelSpec or MultimodalSpec a Scenario keeps."""

from __future__ import annotations

from typing import Any

from ..errors import ValidationError


def _model_fields() -> tuple[set[str], list[str]]:
    from .. import models

    return set(models.MODEL_FIELDS), list(models.preset_names())


def _plain(v: Any) -> Any:
    """A [model] value as TOML and ``==`` see it: numpy scalars (and 0-d arrays) as Python
    numbers, numpy arrays and tuples as lists, None entries of tables left out (TOML has no
    null: a missing key is the default). A one-element array stays a list, so a field that
    takes one number refuses it as it refuses ``[16]``."""
    if isinstance(v, dict):
        return {k: _plain(x) for k, x in v.items() if x is not None}
    if isinstance(v, (list, tuple)):
        return [_plain(x) for x in v]
    if type(v).__module__ == "numpy" and getattr(v, "ndim", 0) >= 1 and hasattr(v, "tolist"):
        return [_plain(x) for x in v.tolist()]
    if hasattr(v, "item") and callable(v.item) and type(v).__module__ == "numpy":
        return v.item()
    return v


def _validate_model(d: dict) -> tuple[dict, dict]:
    """The [model] table (a plain copy) and the objects resolved from it while validating it,
    ``{"model_spec": ModelSpec}`` or ``{"multimodal": MultimodalSpec}``, which the Scenario
    keeps (resolved once, not rebuilt on every access). A bare name, ``model = "llama3-8b"``,
    is read as ``{preset = "llama3-8b"}``."""
    if isinstance(d, str):
        d = {"preset": d}
    if not isinstance(d, dict) or not d:
        raise ValidationError(f"[model] = {d!r}: expected a table with preset = '<name>' or explicit fields")
    if "preset" in d and d["preset"] is None:  # named here: dropping it would say "missing layers"
        from .. import models

        models.ModelSpec.from_dict(d)
    d = _plain(d)
    if not d:
        raise ValidationError("[model]: every value is None; expected preset = '<name>' or explicit fields")
    from .. import models

    if _is_multimodal(d):
        from .. import multimodal

        # raises with field/value/allowed on bad input
        return dict(d), {"multimodal": multimodal.resolve_model(d)}
    return dict(d), {"model_spec": models.ModelSpec.from_dict(d)}  # raises likewise


def _is_multimodal(d: Any) -> bool:
    """A [model] table naming a multimodal preset or carrying vision/audio keys (issue 20)."""
    if not isinstance(d, dict):
        return False
    from .. import multimodal

    return multimodal.is_multimodal_table(d)
