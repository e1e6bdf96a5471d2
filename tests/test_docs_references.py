"""The tests, tools and benchmarks that README.md and docs/*.md name as the evidence for an answer
(docs/review-response.md's "fixed" lines above all) exist: each ``tests/x.py::name`` resolves to a
definition in that file, each ``tests/``, ``tools/`` and ``benchmarks/`` path to a file. Paths
inside a web address (another project's files) are not the repository's and are skipped, as are
patterns (``tools/notebooks/NN_name.py``)."""

from __future__ import annotations

import ast
import functools
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
REF = re.compile(r"(?<![\w/.-])((?:tests|tools|benchmarks)/[\w/]+\.py)((?:::\w+)*)")
URL = re.compile(r"https?://\S+")


def _refs(text: str) -> list[tuple[str, list[str]]]:
    return [(m.group(1), [n for n in m.group(2).split("::") if n]) for m in REF.finditer(URL.sub(" ", text))
            if not re.search(r"/[A-Z]{2}_", m.group(1))]


@functools.cache
def _names(path: Path) -> set[str]:
    return {n.name for n in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
            if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)}


def test_named_tests_tools_and_benchmarks_exist():
    missing = []
    for page in PAGES:
        for rel, names in _refs(page.read_text(encoding="utf-8")):
            path = ROOT / rel
            if not path.is_file():
                missing.append(f"{page.name}: {rel}")
            elif names and not set(names) <= _names(path):
                missing.append(f"{page.name}: {rel}::{'::'.join(names)}")
    assert not missing, missing


def test_the_reference_reader_finds_what_it_should():
    got = _refs("see `tests/test_x.py::TestA::test_b`, tools/nbbuild.py and "
                "https://github.com/o/r/blob/main/tests/other.py, benchmarks/bench_search.py, tools/notebooks/NN_x.py")
    assert got == [("tests/test_x.py", ["TestA", "test_b"]), ("tools/nbbuild.py", []),
                   ("benchmarks/bench_search.py", [])]
