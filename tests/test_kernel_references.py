"""docs/ARCHITECTURE.md "Kernels and their references" is kept true: every numba-compiled
function in the package is either a listed kernel (its plain reference and agreement test
resolve) or an inner helper that a listed kernel reaches by calls; a reference is not the
kernel's own source run without @njit."""

from __future__ import annotations

import ast
import importlib
import inspect
import re
from collections import defaultdict
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "ARCHITECTURE.md"
HEADING = "## Kernels and their references"
ROW = re.compile(r"^\|\s*`(_kernels\.[\w.]+)`\s*\|\s*(`[\w.]+`|none yet[^|]*)\s*\|\s*(`[\w/.:\[\]-]+`|none yet[^|]*)\s*\|")


SWITCHES = ("reference=True", "backend='reference'", "method='reference'", "'reference'", "method='exact'")
"""How an agreement test reaches a reference through a public call's switch (as ast.unparse
writes it) rather than by the reference's name."""


def table_rows(text: str | None = None) -> list[tuple[str, str | None, str | None]]:
    """(kernel, reference or None, test id or None) for each row of the docs table."""
    text = DOC.read_text() if text is None else text
    section = text.split(HEADING, 1)[1].split("\n## ", 1)[0]
    rows = []
    for line in section.splitlines():
        m = ROW.match(line)
        if m:
            ref, test = (None if g.startswith("none yet") else g.strip("`") for g in m.group(2, 3))
            rows.append((m.group(1).removeprefix("_kernels."), ref, test))
    return rows


def _is_jit(dec: ast.expr) -> bool:
    return "jit" in ast.unparse(dec)


def package_sources() -> dict[str, str]:
    """Module name -> source of every module in infra_lab."""
    return {".".join(p.relative_to(ROOT).with_suffix("").parts): p.read_text()
            for p in sorted((ROOT / "infra_lab").rglob("*.py"))}


def uncovered(sources: dict[str, str], listed: set[str]) -> list[str]:
    """The compiled functions (``module.name``) of ``sources`` that are not listed and that no
    listed function reaches through calls (by name, within the modules that define them)."""
    funcs: dict[str, ast.FunctionDef] = {}
    jitted = set()
    by_name = defaultdict(list)
    for mod, src in sources.items():
        for node in ast.parse(src).body:
            if isinstance(node, ast.FunctionDef):
                q = f"{mod}.{node.name}"
                funcs[q] = node
                by_name[node.name].append(q)
                if any(_is_jit(d) for d in node.decorator_list):
                    jitted.add(q)
    calls: dict[str, set[str]] = defaultdict(set)
    for q, node in funcs.items():
        mod = q.rsplit(".", 1)[0]
        for sub in ast.walk(node):
            name = sub.id if isinstance(sub, ast.Name) else sub.attr if isinstance(sub, ast.Attribute) else None
            for target in by_name.get(name, ()):
                if target != q and (target in jitted or target.startswith(mod + ".")):
                    calls[q].add(target)
    seen = {f"infra_lab._kernels.{k}" for k in listed}
    todo = list(seen)
    while todo:
        for nxt in calls[todo.pop()]:
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return sorted(q for q in jitted if q not in seen)


def _test_function(test_id: str) -> ast.FunctionDef | None:
    path, *names = test_id.split("::")
    file = ROOT / path
    if not file.exists():
        return None
    body = ast.parse(file.read_text()).body
    node = None
    for name in names:
        node = next((n for n in body if isinstance(n, (ast.ClassDef, ast.FunctionDef)) and n.name == name), None)
        if node is None:
            return None
        body = node.body
    return node if isinstance(node, ast.FunctionDef) else None


def _body(func) -> list[str]:
    """The statements of a function's body, as AST dumps (names and docstring included)."""
    return [ast.dump(n) for n in ast.parse(inspect.getsource(func).strip()).body[0].body]


def test_the_table_lists_kernels():
    rows = table_rows()
    assert len(rows) >= 20
    assert len({r[0] for r in rows}) == len(rows), "a kernel listed twice"


def test_every_compiled_function_is_listed_or_a_listed_kernels_helper():
    missing = uncovered(package_sources(), {r[0] for r in table_rows()})
    assert not missing, (f"numba functions neither listed in docs/ARCHITECTURE.md '{HEADING[3:]}' nor called "
                         f"by a listed kernel: {missing}; list each with its plain reference and agreement "
                         f"test (or 'none yet'), or call it from a listed kernel")


def test_a_planted_function_is_caught():
    """The coverage rule on the package plus one unlisted, uncalled compiled function."""
    sources = package_sources()
    sources["infra_lab._kernels.planted"] = "from numba import njit\n\n@njit(cache=True)\ndef planted(x):\n    return x\n"
    assert uncovered(sources, {r[0] for r in table_rows()}) == ["infra_lab._kernels.planted.planted"]


@pytest.mark.parametrize("kernel, reference, test_id", table_rows(), ids=[r[0] for r in table_rows()])
def test_each_row_resolves(kernel, reference, test_id):
    mod, name = kernel.rsplit(".", 1)
    kmod = importlib.import_module(f"infra_lab._kernels.{mod}")
    kfunc = getattr(kmod, name)
    assert callable(kfunc), kernel
    if reference is None:
        assert test_id is None, f"{kernel}: an agreement test without a reference"
        gaps = DOC.read_text().split(HEADING, 1)[1].split("- No reference yet:", 1)[1].split("\n## ", 1)[0]
        assert f"`_kernels.{kernel}`" in gaps, f"{kernel}: 'none yet' but not in the table's 'No reference yet' note"
        return
    rmod, rname = reference.rsplit(".", 1)
    rfunc = getattr(importlib.import_module(rmod), rname)
    assert not hasattr(rfunc, "py_func"), f"{reference} is itself compiled: not a plain reference"
    kernel_py = getattr(kfunc, "py_func", kfunc)
    assert rfunc is not kernel_py
    assert _body(rfunc) != _body(kernel_py), f"{reference} is the kernel's own source run without @njit"
    assert test_id is not None, f"{kernel}: a reference without an agreement test"
    fn = _test_function(test_id)
    assert fn is not None, f"{kernel}: the agreement test {test_id} does not exist"
    src = ast.unparse(fn)
    module = (ROOT / test_id.split("::")[0]).read_text()     # module-level helpers of the test
    assert rname in src or rname in module or any(sw in src for sw in SWITCHES), \
        f"{test_id} reaches neither {reference} nor a public reference switch"


def test_a_helper_is_covered_only_through_a_listed_caller():
    sources = {"infra_lab._kernels.a": ("from numba import njit\n@njit\ndef k(x):\n    return _h(x)\n"
                                         "@njit\ndef _h(x):\n    return x\n@njit\ndef lone(x):\n    return x\n")}
    assert uncovered(sources, {"a.k"}) == ["infra_lab._kernels.a.lone"]
    assert uncovered(sources, set()) == ["infra_lab._kernels.a._h", "infra_lab._kernels.a.k",
                                         "infra_lab._kernels.a.lone"]
