"""Field checks the scenario tables share: unknown keys (with the nearest valid spelling),
numpy scalars read as Python numbers, integers with a minimum, booleans, enumerated values, and
a training stack's or data mix's name resolved to the library's object."""

from __future__ import annotations

import math
from typing import Any

from ..errors import ValidationError, nearest, unknown


def _check_keys(table: str, given: dict, valid: set[str] | list[str]) -> None:
    if not isinstance(given, dict):
        raise ValidationError(f"[{table}] = {given!r}: expected a table (dict)")
    for k in given:
        if k not in valid:
            err = unknown("key", f"{table}.{k}" if table else k, [f"{table}.{v}" if table else v for v in valid])
            home = _home_table(table, k)
            if home is not None and _other_kind(table, home):
                # a key of the other kind of scenario's table: say so, and offer this table's nearest names
                near = nearest(str(k), [str(v) for v in valid])
                hint = f" Did you mean {', '.join(repr(f'{table}.{x}') for x in near)}?" if near else ""
                what = ("a serving scenario's table, in place of [training] and [parallelism]" if home == "serving"
                        else "a training scenario's table; a serving scenario has [serving] in their place")
                err = type(err)(f"unknown key '{table}.{k}': {k!r} is a key of [{home}] ({what}).{hint} "
                                f"Valid in [{table}]: {', '.join(sorted(valid))}")
            elif home is not None:   # a key of another table: say where it goes, not the nearest name here
                err = type(err)(f"unknown key '{table}.{k}': {k!r} is a key of [{home}], not [{table}] "
                                f"(put it there). Valid in [{table}]: {', '.join(sorted(valid))}")
            raise err


_TRAINING_TABLES = ("hardware", "training", "parallelism")
"""The tables of a training scenario, in the order a misplaced key's table is looked up."""

_SCENARIO_TABLES = (*_TRAINING_TABLES, "serving")
"""Every table of a scenario with fixed keys: a key of [serving] in a training table (or of
[training] / [parallelism] in [serving]) is pointed there after the training tables."""


def _table_keys() -> dict[str, tuple[str, ...]]:
    from .hardware_table import HardwareConfig
    from .parallelism_table import ParallelismConfig
    from .serving_table import ServingConfig
    from .training_table import TrainingConfig

    return {"hardware": HardwareConfig.KEYS, "training": TrainingConfig.KEYS,
            "parallelism": ParallelismConfig.KEYS, "serving": ServingConfig.KEYS}


def _home_table(table: str, key: str) -> str | None:
    """The other scenario table that has ``key`` (``training.tp`` belongs in [parallelism],
    ``parallelism.micro_batch`` in [training], ``serving.nodes`` in [hardware],
    ``training.concurrency`` in [serving], ``model.tp`` in [parallelism]), or None. A key two
    tables hold (tp, ep, pp, dp: [parallelism] and [serving]) goes to the training table first,
    except from [serving], whose own keys those are."""
    if table not in (*_SCENARIO_TABLES, "model"):
        return None
    keys = _table_keys()
    return next((t for t in _SCENARIO_TABLES if t != table and key in keys[t]), None)


def _other_kind(table: str, home: str) -> bool:
    """Whether ``home`` is a table of the other kind of scenario than ``table`` ([serving] vs
    [training] / [parallelism]): the key cannot simply move there."""
    return (home == "serving") != (table == "serving") and "hardware" not in (table, home) and table != "model"


def _py(v: Any) -> Any:
    """A numpy scalar (np.int64 from a frame or an arange, np.float32, np.bool_) as the Python
    number or bool it holds, so it is checked and stored like one; anything else as is.
    (numpy is not imported here: ``import infra_lab`` stays light.)"""
    if type(v).__module__ == "numpy" and getattr(v, "ndim", None) == 0 and hasattr(v, "item"):
        return v.item()
    return v


def _py_list(v: Any) -> Any:
    """A one-dimensional numpy array (a frame's column, ``np.arange``, ``np.array(["fp8"])``) or a
    ``range`` as the Python list it holds (numpy items as Python numbers, strings and bools), so a
    list-valued argument is checked and stored like the list; anything else as is. The one
    conversion every list-valued key and keyword goes through before its own check."""
    if type(v).__module__ == "numpy" and getattr(v, "ndim", None) == 1 and hasattr(v, "tolist"):
        return v.tolist()
    if isinstance(v, range):
        return list(v)
    return v


def _int(field_: str, v: Any, minimum: int = 1) -> int:
    """An integer >= ``minimum``; an integral float is read as its integer, except above 2**53,
    where a float no longer holds every integer (1e30 is refused as given, not as the 31-digit
    integer it rounds to, which no bound's message should have to repeat)."""
    v = _py(v)
    if (isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v)
            or float(v) != int(v) or (isinstance(v, float) and abs(v) > 2**53)):
        raise ValidationError(f"{field_} = {v!r}: expected an integer >= {minimum}")
    if int(v) < minimum:
        raise ValidationError(f"{field_} = {v!r}: must be an integer >= {minimum}")
    return int(v)


def _zero_stage(field_: str, v: Any) -> int:
    """A ZeRO stage, 0..3 (an integral float such as 1.0 is 1, as :func:`_int` reads integers)."""
    v = _py(v)
    if (isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v)
            or float(v) != int(v) or not 0 <= v <= 3):
        raise ValidationError(f"{field_} = {v!r}: allowed 0, 1, 2 or 3")
    return int(v)


def _stack_name(v: Any) -> str | None:
    if v is None:
        return None
    from .. import stacks

    return stacks.canonical(v, "training", where="training.stack")


def _data_mix(v: Any):
    if v is None:
        return None
    from ..multimodal import DataMix

    return DataMix.from_dict(v)


def _bool(field_: str, v: Any) -> bool:
    v = _py(v)
    if not isinstance(v, bool):
        raise ValidationError(f"{field_} = {v!r}: expected true or false")
    return v


def _enum(field_: str, v: Any, allowed: tuple[str, ...]) -> str:
    if not isinstance(v, str) or v.lower() not in allowed:
        raise unknown(field_.split(".")[-1] + " value", v, allowed, where=field_)
    return v.lower()
