"""Shared by the training front ends: the kernel's recompute codes and the check that a call
got a training scenario (a serving scenario is refused by name)."""

from __future__ import annotations

from ..errors import ValidationError
from ..scenario import RECOMPUTE, Scenario, as_scenario

_RC = {name: i for i, name in enumerate(RECOMPUTE)}   # kernel codes 0, 1, 2
_RC_NAMES = {v: k for k, v in _RC.items()}


def _training_scenario(scenario, what: str, check_plan: bool = True) -> Scenario:
    """The validated Scenario of a training call; a serving scenario is refused by name.
    ``check_plan=False`` for the calls that enumerate the plans themselves (:func:`search`,
    :func:`plan_space_size`): the [parallelism] table may be missing or not fit the cluster,
    batch or model (:meth:`Scenario.from_dict`)."""
    sc = as_scenario(scenario, check_plan=check_plan)
    if sc.training is None:
        tables = "[training] and [parallelism] tables" if check_plan else "a [training] table"
        raise ValidationError(f"{what}: scenario {sc.name!r} is a serving scenario ([serving] table, no "
                              f"[training]); use il.serve for an inference deployment, or give {tables}")
    return sc
