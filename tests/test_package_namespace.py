"""``import infra_lab``'s namespace: ``dir(il)`` is the public API (``__all__`` and
``__version__``), not the modules and typing names the package file imports for itself
(``Any``, ``annotations``, ``importlib`` were listed), every name of ``__all__`` resolves, and
the import stays light (no polars, altair, numba or numpy, no lazy submodule)."""

from __future__ import annotations

import subprocess
import sys
import types

import infra_lab as il


def test_dir_is_the_public_api():
    names = dir(il)
    assert names == sorted({*il.__all__, "__version__"})
    for leaked in ("Any", "annotations", "importlib", "_importlib", "_SUBMODULES", "_LAZY_FUNCS"):
        assert leaked not in names
    assert not [n for n in names if n.startswith("_") and n != "__version__"]


def test_every_public_name_resolves():
    assert len(il.__all__) == len(set(il.__all__))
    for name in il.__all__:
        obj = getattr(il, name)
        assert obj is not None, name
        if name in il._SUBMODULES or name == "errors":
            assert isinstance(obj, types.ModuleType) and obj.__name__ == f"infra_lab.{name}"
    assert {"estimate", "search", "serve", "serve_search", "collective", "sweep"} <= set(il.__all__)
    assert callable(il.sweep) and callable(il.estimate)


def test_import_stays_light():
    code = ("import sys, infra_lab as il; d = dir(il); "
            "print(' '.join(sorted(m for m in sys.modules if m.split('.')[0] in "
            "('polars', 'altair', 'numba', 'numpy', 'pandas', 'ipywidgets') or m.startswith('infra_lab.'))))")
    mods = set(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                              cwd=il.__path__[0] + "/..").stdout.split())
    heavy = {m for m in mods if not m.startswith("infra_lab.")}
    assert not heavy, f"import infra_lab pulled in {sorted(heavy)}"
    lazy = {m.split(".")[1] for m in mods} & (il._SUBMODULES - {"catalog", "units", "scenario"})
    assert not lazy, f"import infra_lab imported lazy submodules {sorted(lazy)}"
