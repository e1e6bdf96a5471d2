"""Getting a Scenario from what a caller has: :func:`load_scenario` (a shipped scenario by
name) and :func:`as_scenario`, the one coercion of a Scenario, a dict, a TOML path or text, or a
shipped name."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from ..errors import ValidationError, named_keywords, unknown
from .core import Scenario
from .files import FILE_SUFFIXES
from .shipped import (
    SCENARIO_DIR,
    _beside_file,
    _model_name,
    _shipped_name,
    _source_hint,
    list_scenarios,
    model_note,
)


@named_keywords(name="il.load_scenario")
def load_scenario(name: str, *, check_plan: bool = True) -> Scenario:
    """Load a shipped scenario by name (any letter case), e.g.
    ``load_scenario("zaya1-ibm-mi300x")``, or a scenario file: a path (str or ``os.PathLike``)
    ending ``.toml`` / ``.json`` or naming an existing file, read by :meth:`Scenario.from_toml`
    (as ``json.dump(sc.to_dict(), f)`` or ``sc.to_toml()`` wrote it); ``check_plan`` as in
    :meth:`Scenario.from_dict`.

    Parameters
    ----------
    name : a shipped scenario's name (any letter case; il.list_scenarios() lists them) or the
        path of a scenario file (.toml or .json, str or os.PathLike)

    Returns
    -------
    Scenario

    Raises
    ------
    UnknownNameError : a name that is neither a shipped scenario nor a file (with the nearest
        shipped names, :func:`infra_lab.list_scenarios`; for a model preset's name, that it is
        a model and how to put it in a scenario)

    Examples
    --------
    >>> import infra_lab as il
    >>> sc = il.load_scenario("ZAYA1-IBM-MI300X")
    >>> sc.name, sc.hardware.accelerator, sc.hardware.world_size
    ('zaya1-ibm-mi300x', 'MI300X', 1024)
    >>> il.load_scenario("zaya1-ibm-mi30x")
    Traceback (most recent call last):
    ...
    infra_lab.errors.UnknownNameError: unknown scenario 'zaya1-ibm-mi30x'. Did you mean 'zaya1-ibm-mi300x', ...
    """
    if not isinstance(name, (str, os.PathLike)) or isinstance(name, bytes):
        raise ValidationError(f"scenario name = {name!r:.80}: expected a shipped scenario's name (one of "
                              f"{', '.join(list_scenarios())}) or the path of a .toml / .json scenario file")
    match = _shipped_name(name)
    if match is None:
        if isinstance(name, (str, os.PathLike)) and not isinstance(name, bytes) and (
                str(name).lower().endswith(FILE_SUFFIXES) or Path(name).is_file()):
            return Scenario.from_toml(Path(name), check_plan=check_plan)   # errors name the file
        err = unknown("scenario", name, list_scenarios())
        beside = _beside_file(name)
        if beside is not None:
            raise type(err)(f"{err}. A file {beside!r} is here: did you mean {beside!r}?")
        model = _model_name(name)
        if model is not None:   # a model preset ("llama3-70b"): say so, and how to put it in a scenario
            raise type(err)(f"unknown scenario {name!r}: {model_note(name, model)}")
        raise err
    return Scenario.from_toml(SCENARIO_DIR / f"{match}.toml", check_plan=check_plan)


def as_scenario(scenario: Any, field_: str = "scenario", *, check_plan: bool = True) -> Scenario:
    """The one coercion of "a scenario" for the public calls (``il.estimate``, ``il.search``,
    ``il.serve``, ``il.serve_search``, the memory and multimodal calls).

    Accepts a :class:`Scenario` (returned as is), the contract's tables as a dict (validated
    by :meth:`Scenario.from_dict`) or the path of a TOML file (str or ``os.PathLike``; read
    by :meth:`Scenario.from_toml`, whose errors name the file; a ``.json`` file of the same
    tables and TOML text, a string with a line break, are read too) or the name of a shipped scenario (:func:`list_scenarios`, any letter
    case; as the CLI takes it) when no file of that name exists. Any other string is refused,
    saying what a path must be and which scenarios ship. ``check_plan`` as in
    :meth:`Scenario.from_dict`.

    Examples
    --------
    >>> import infra_lab as il
    >>> p = il.scenario.SCENARIO_DIR / "zaya1-ibm-mi300x.toml"
    >>> as_scenario(p) == as_scenario(str(p)) == as_scenario("zaya1-ibm-mi300x") == il.load_scenario("zaya1-ibm-mi300x")
    True
    """
    if isinstance(scenario, (Scenario, dict)):
        return Scenario.from_dict(scenario, check_plan=check_plan)
    if isinstance(scenario, str) and "\n" in scenario:
        return Scenario.from_toml(scenario, check_plan=check_plan)
    if isinstance(scenario, (str, os.PathLike)) and not isinstance(scenario, bytes):
        p = Path(scenario)
        if str(p).lower().endswith(FILE_SUFFIXES) or p.is_file():
            return Scenario.from_toml(p, check_plan=check_plan)
        if _shipped_name(scenario) is not None:
            return load_scenario(scenario, check_plan=check_plan)
    raise ValidationError(f"{field_} = {scenario!r}: expected a Scenario, a dict with tables "
                          f"{', '.join(Scenario.TOP_KEYS)}, the path of a .toml file (or .json) or a shipped scenario's name"
                          f"{_source_hint(scenario)}")
