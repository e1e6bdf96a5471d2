"""Reading the tables of a scenario file: :func:`read_tables` (a TOML file, TOML text, or a JSON
file of the same tables, as ``json.dump(sc.to_dict(), f)`` writes it), whose errors name the file;
:meth:`Scenario.from_toml`, :func:`~infra_lab.scenario.as_scenario` and
:func:`~infra_lab.scenario.as_hardware` read files through it."""

from __future__ import annotations

import json
import os
import tomllib
from pathlib import Path
from typing import Any

from ..errors import ValidationError

FILE_SUFFIXES = (".toml", ".json")
"""The file suffixes read as scenario tables: TOML, or JSON (``.json``, any letter case)."""


def is_json(path: str | os.PathLike) -> bool:
    """Whether ``path`` is read as JSON (its suffix is ``.json``) rather than TOML."""
    return Path(path).suffix.lower() == ".json"


class _RepeatedKey(Exception):
    """A key given twice in one JSON object (raised by :func:`_no_repeated_keys`)."""


def _no_repeated_keys(pairs: list[tuple[str, Any]]) -> dict:
    """``json.loads``' object hook: a dict of the pairs, refusing a key given twice."""
    d: dict = {}
    for k, v in pairs:
        if k in d:
            raise _RepeatedKey(k)
        d[k] = v
    return d


def read_tables(path: Any, what: str = "scenario file") -> dict:
    """The tables of the file ``path`` as a dict: TOML, or JSON when the name ends ``.json``; a
    string with a line break is TOML text. Raises :class:`ValidationError` naming the file
    (``what`` and its path) when it is missing, a folder, unreadable, not UTF-8 text, not valid
    TOML / JSON, or (JSON) not an object of tables or an object with a key given twice. A UTF-8
    byte-order mark at the start is read as the encoding's mark, not as text.

    >>> import infra_lab as il
    >>> read_tables(il.scenario.SCENARIO_DIR / "zaya1-ibm-mi300x.toml")["hardware"]["accelerator"]
    'MI300X'
    """
    if isinstance(path, bytes) or not isinstance(path, (str, os.PathLike)):
        raise ValidationError(f"path = {path!r}: expected the path of a TOML or JSON file (str or pathlib.Path)")
    if isinstance(path, str) and "\n" in path:   # TOML text, e.g. from to_toml()
        try:
            return tomllib.loads(path)
        except tomllib.TOMLDecodeError as e:
            raise ValidationError(f"{what.replace('file', 'TOML text')}: not valid TOML ({e})") from None
    path = Path(path)
    kind = "JSON" if is_json(path) else "TOML"
    try:
        # UTF-8, with or without the byte-order mark some Windows editors write first
        text = path.read_bytes().decode("utf-8-sig")
        d = json.loads(text, object_pairs_hook=_no_repeated_keys) if kind == "JSON" else tomllib.loads(text)
    except _RepeatedKey as e:
        raise ValidationError(f"{what} {path.name}: key {e.args[0]!r} given twice in one JSON object; a JSON "
                              "reader keeps the last silently (TOML refuses it): give each key once") from None
    except FileNotFoundError:
        raise ValidationError(f"{what} {str(path)!r}: not found") from None
    except IsADirectoryError:
        raise ValidationError(f"{what} {str(path)!r}: is a folder, expected a .toml or .json file") from None
    except UnicodeDecodeError as e:
        raise ValidationError(f"{what} {str(path)!r}: not UTF-8 text ({kind} files are UTF-8; "
                              f"byte {e.start}: {e.reason})") from None
    except tomllib.TOMLDecodeError as e:
        other = (f"; a {path.suffix or 'file without a suffix'} is read as TOML (allowed: .toml, or .json for "
                 "JSON)" if path.suffix.lower() not in FILE_SUFFIXES else "")
        raise ValidationError(f"{what} {path.name}: not valid TOML ({e}){other}") from None
    except json.JSONDecodeError as e:
        raise ValidationError(f"{what} {path.name}: not valid JSON ({e})") from None
    except OSError as e:
        raise ValidationError(f"{what} {str(path)!r}: cannot be read ({e.strerror or e})") from None
    if not isinstance(d, dict):
        raise ValidationError(f"{what} {path.name}: a JSON {type(d).__name__}, expected an object of tables "
                              f"(as json.dump(scenario.to_dict(), f) writes)")
    return d
