"""The argument check the memory submodules share: a model given as a preset name or a
ModelSpec (:func:`_spec`)."""

from __future__ import annotations

from ..errors import ValidationError

STACK_PARAMS_EXAMPLE = "il.stacks.params('megatron-core-cuda')"


def _stack_param(stack_params, key: str) -> float:
    """``stack_params[key]`` as a float, with ``stack_params`` checked as what it must be: a
    training stack's parameters (:func:`infra_lab.stacks.params`, a dict). A stack's name, any
    other value or a dict without ``key`` is refused naming the argument, the value and how to
    get the dict, instead of failing as "string indices must be integers" inside the call."""
    from collections.abc import Mapping

    if not isinstance(stack_params, Mapping):
        named = " (a stack's name: give its parameters)" if isinstance(stack_params, str) else ""
        raise ValidationError(f"stack_params = {stack_params!r:.80}{named}: expected a training stack's parameters, "
                              f"a dict, e.g. {STACK_PARAMS_EXAMPLE}")
    if key not in stack_params:
        raise ValidationError(f"stack_params lacks {key!r}: expected a training stack's parameters, e.g. "
                              f"{STACK_PARAMS_EXAMPLE}, which holds every one")
    from .. import _validate as V

    return float(V.number(f"stack_params[{key!r}]", stack_params[key], lo=0.0))


def _spec(spec):
    """A ModelSpec from a preset name, a scenario's [model] table (a dict, as
    ``scenario.model``: ``{"preset": "zaya1-base"}`` or explicit keys), a text Scenario (its
    ``model_spec``) or a ModelSpec; anything else is refused by name. A multimodal system (its
    preset name, e.g. "maia-class", or its Scenario) is refused naming its language model: these
    calls size a language model, not the encoders beside it."""
    from .. import models
    from ..scenario import Scenario

    if isinstance(spec, Scenario):
        if spec.multimodal is None:
            return spec.model_spec
        raise ValidationError(
            f"spec = Scenario {spec.name!r}: a multimodal system; this call sizes a language model only (no "
            f"encoders): give its language model, scenario.model_spec ({spec.model_spec.name!r}), for that part")
    if isinstance(spec, str):
        from ..multimodal import is_system_name, system

        if is_system_name(spec) and spec not in models.preset_names():
            raise ValidationError(
                f"spec = {spec!r}: a multimodal system (data/models/multimodal.csv); this call sizes a language "
                f"model only (no encoders): give its language model, {system(spec).lm.name!r}, for that part")
        return models.get(spec)
    if isinstance(spec, dict):
        return models.ModelSpec.from_dict(spec)
    if not isinstance(spec, models.ModelSpec):
        raise ValidationError(f"spec = {spec!r:.80}: expected a model preset name, a [model] table (dict), "
                              "a Scenario or a ModelSpec")
    return spec
