"""The scenarios shipped in data/scenarios: :data:`SCENARIO_DIR`, :func:`list_scenarios`, a
shipped name matched in any letter case, and the hint error messages give when a string is not
a scenario."""

from __future__ import annotations

import os
from typing import Any

from .. import catalog
from ..errors import named_keywords, nearest

SCENARIO_DIR = catalog.DATA_DIR / "scenarios"


@named_keywords(name="il.list_scenarios")
def list_scenarios() -> list[str]:
    """Names of the scenarios shipped in data/scenarios/*.toml, sorted (what
    :func:`infra_lab.load_scenario` takes).

    Examples
    --------
    >>> import infra_lab as il
    >>> "zaya1-ibm-mi300x" in il.list_scenarios()
    True
    >>> il.list_scenarios() == sorted(il.list_scenarios())
    True
    """
    return sorted(p.stem for p in SCENARIO_DIR.glob("*.toml"))


def _shipped_name(value: Any) -> str | None:
    """The shipped scenario ``value`` names (case-insensitive), else None."""
    if not isinstance(value, str):
        return None
    return {n.lower(): n for n in list_scenarios()}.get(value.lower())


def _beside_file(value: Any) -> str | None:
    """``value`` + ".toml" (or ".json") when that file exists and ``value`` names no file: the
    scenario file a caller most likely meant by a bare name ("base" beside base.toml)."""
    if not isinstance(value, (str, os.PathLike)) or isinstance(value, bytes) or os.path.isfile(value):
        return None
    return next((f"{value}{sfx}" for sfx in (".toml", ".json") if os.path.isfile(f"{value}{sfx}")), None)


def _model_name(value: Any) -> str | None:
    """The model preset ``value`` names (case-insensitive; :func:`infra_lab.models.preset_names`),
    else None. A declared alias is not read as a model here: 'zaya1' (zaya1-base's alias) is
    more likely a shortened shipped scenario, which the nearest-name hint names."""
    if not isinstance(value, str) or os.sep in value:
        return None
    from ..models import preset_names

    return {n.lower(): n for n in preset_names()}.get(value.lower())


def model_note(value: Any, model: str) -> str:
    """What to do with ``value``, the name of model preset ``model``, given where a scenario
    belongs: a scenario puts a model on a cluster, and the call that builds one for it."""
    return (f"{value!r} is a model (il.models.get), not a scenario: a scenario puts a model on a cluster "
            f"with a training or serving setup, e.g. il.load_scenario('zaya1-ibm-mi300x').replace(model="
            f"{{'preset': {model!r}}}) (ZAYA1's training cluster and plan; 'maia-class-serving-mi300x' to serve it), "
            f"or a dict or .toml file with the tables (shipped scenarios: {', '.join(list_scenarios())})")


def _source_hint(value: Any) -> str:
    """What to pass instead of a string or path that is not a scenario (for error messages)."""
    if not isinstance(value, (str, os.PathLike)):
        return ""
    shipped = _shipped_name(value)
    if shipped is not None:
        return f"; {value!r} is a shipped scenario: pass il.load_scenario({shipped!r})"
    beside = _beside_file(value)
    if beside is not None:   # "base" given beside base.toml (as the CLI says it)
        return f"; a file {beside!r} is here: did you mean {beside!r}?"
    model = _model_name(value)
    if model is not None:    # a model preset where a scenario belongs ("llama3-70b")
        return f"; {model_note(value, model)}"
    near = nearest(str(value), list_scenarios())
    hint = f"did you mean {', '.join(repr(x) for x in near)}? " if near else ""
    return (f"; a path must name an existing .toml file (or .json; Scenario.from_toml); a shipped scenario is "
            f"named as listed ({hint}shipped: {', '.join(list_scenarios())})")
