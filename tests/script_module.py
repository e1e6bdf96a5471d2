"""Load a repository script (a tool under ``tools/`` or a benchmark under ``benchmarks/``) as a
module, so that a test can call its functions: the scripts are not part of the package, and
each test that reads one loads it through this one function."""

from __future__ import annotations

import functools
import importlib.util
import sys
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[1]


@functools.cache
def load_script(relative_path: str, name: str | None = None) -> ModuleType:
    """The script at ``ROOT / relative_path`` (e.g. ``"tools/hand_checks_report.py"``) as a
    module named ``name`` (default: the file's stem), loaded once per test session and registered
    in ``sys.modules`` (dataclasses defined in a script look their module up there)."""
    path = ROOT / relative_path
    if not path.is_file():
        raise FileNotFoundError(f"no script {relative_path!r} under {ROOT}")
    spec = importlib.util.spec_from_file_location(name or path.stem, path)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod
    spec.loader.exec_module(mod)
    return mod
