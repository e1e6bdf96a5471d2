"""The package ships ``py.typed``: users' type checkers and IDEs read its annotations. Every
public function (a name in a public module's ``__all__``) annotates its return and every
parameter (``*args`` / ``**kwargs`` included), and every annotation names something that exists
(the names imported only under ``if TYPE_CHECKING:`` are imported here to check them)."""

from __future__ import annotations

import ast
import importlib
import inspect
import pkgutil
import textwrap
from collections.abc import Iterator
from types import ModuleType

import infra_lab


def _public_modules() -> Iterator[ModuleType]:
    yield infra_lab
    for m in pkgutil.walk_packages(infra_lab.__path__, "infra_lab."):
        if "._" in m.name or m.name.endswith("__main__"):
            continue
        yield importlib.import_module(m.name)


def _public_functions() -> dict[str, object]:
    """{"module.name": function} of every function in a public module's ``__all__`` (a function
    re-exported by several modules is listed once, under the first)."""
    out: dict[str, object] = {}
    seen: set[int] = set()
    for mod in _public_modules():
        for name in getattr(mod, "__all__", ()):
            obj = getattr(mod, name, None)
            if inspect.isfunction(obj) and id(inspect.unwrap(obj)) not in seen:
                seen.add(id(inspect.unwrap(obj)))
                out[f"{mod.__name__}.{name}"] = obj
    return out


def missing_annotations(functions: dict[str, object]) -> list[str]:
    """'module.name: return' / 'module.name: parameter p' for each missing annotation."""
    bad = []
    for qual, fn in functions.items():
        sig = inspect.signature(fn)
        if sig.return_annotation is inspect.Signature.empty:
            bad.append(f"{qual}: return")
        bad += [f"{qual}: parameter {p}" for p, v in sig.parameters.items()
                if v.annotation is inspect.Parameter.empty]
    return bad


def _type_checking_namespace(fn: object) -> dict:
    """The defining module's globals plus what its ``if TYPE_CHECKING:`` blocks import."""
    mod = inspect.getmodule(inspect.unwrap(fn))
    ns = dict(vars(mod))
    tree = ast.parse(inspect.getsource(mod))
    for node in tree.body:
        if isinstance(node, ast.If) and isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING":
            block = textwrap.dedent("\n".join(ast.get_source_segment(inspect.getsource(mod), b)
                                              for b in node.body))
            exec(compile(block, mod.__name__, "exec"), ns)
    return ns


def test_every_public_function_annotates_its_return_and_parameters():
    functions = _public_functions()
    assert len(functions) > 300   # the walk reached the package's public modules
    bad = missing_annotations(functions)
    assert not bad, "public functions without annotations:\n" + "\n".join(bad)


def test_the_check_names_a_function_whose_annotation_is_missing():
    def unannotated(x, y: int = 1, **kw: float):
        return x

    def annotated(x: int) -> int:
        return x

    assert missing_annotations({"m.unannotated": unannotated, "m.annotated": annotated}) == [
        "m.unannotated: return", "m.unannotated: parameter x"]


def test_every_annotation_of_a_public_function_resolves():
    unresolved = []
    namespaces: dict[str, dict] = {}
    for qual, fn in _public_functions().items():
        target = inspect.unwrap(fn)
        ns = namespaces.setdefault(target.__module__, _type_checking_namespace(fn))
        for where, ann in target.__annotations__.items():
            try:
                eval(ann, ns) if isinstance(ann, str) else ann
            except Exception as e:  # noqa: BLE001 - every failure is reported by name
                unresolved.append(f"{qual}: {where}: {ann!r} ({type(e).__name__}: {e})")
    assert not unresolved, "annotations that name nothing:\n" + "\n".join(unresolved)
