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

import pytest
from package_names import resolves

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


# ------------------------------------------------------------ names and flags the prose uses

CURRENT = [p for p in PAGES if not p.name.endswith("-history.md") and p.name != "validation-notes.md"]
"""The pages that describe the package as it is (the history pages and the dated notes are records)."""
DOTTED = re.compile(r"(?<![\w./-])(?:il\.|infra_lab\.)?([a-z_]+(?:\.[A-Za-z_][A-Za-z_0-9]*)+)")
FILE_SUFFIXES = (".py", ".csv", ".toml", ".md", ".json", ".ipynb")


def _table_keys() -> set[str]:
    import dataclasses

    from infra_lab.models import ModelSpec
    from infra_lab.scenario import HardwareConfig, ParallelismConfig, ServingConfig, TrainingConfig

    return {f.name for c in (ModelSpec, HardwareConfig, ParallelismConfig, TrainingConfig, ServingConfig)
            for f in dataclasses.fields(c)}


def _unresolved(text: str) -> list[str]:
    """The ``il.module.NAME`` / ``module.NAME`` names in ``text`` (``module`` one of the package's
    modules) that do not resolve. A Scenario table's key (``training.seq_len``, ``serving.tp``,
    and the misplaced keys the pages give as examples of refused input, ``serving.nodes``) and a
    file name (``serving.py``) are not names; review-response.md records removed names too."""
    import pkgutil

    import infra_lab

    modules = {m.name for m in pkgutil.iter_modules(infra_lab.__path__)}
    keys = _table_keys()
    missing = []
    for dotted in sorted(set(DOTTED.findall(URL.sub(" ", text)))):
        head, *rest = dotted.split(".")
        if head not in modules or dotted.endswith(FILE_SUFFIXES) or rest[0] in keys:
            continue
        if not resolves(dotted):
            missing.append(dotted)
    return missing


@pytest.mark.parametrize("path", [p for p in CURRENT if p.name != "review-response.md"], ids=lambda p: p.name)
def test_every_package_name_a_page_writes_resolves(path):
    """Each ``il.module.NAME`` and ``module.NAME`` a current page names resolves as written from
    the package (ARCHITECTURE.md said ``scenario.hardware_table_of`` and bad-inputs.md
    ``reliability.MAX_WORK_HOURS``, neither of which the package namespace has)."""
    missing = _unresolved(path.read_text(encoding="utf-8"))
    assert not missing, f"{path.name}: names that do not resolve: {missing}"


def test_the_name_reader_finds_what_it_should():
    assert _unresolved("`il.catalog.accelerator`, `serving.split_of`, `training.seq_len`, "
                       "`serving.nodes`, `memory.py`, `il.memory.no_such_call`, `scenario.nope.x`, "
                       "`numpy.asarray`") == ["memory.no_such_call", "scenario.nope.x"]


INVOCATION = re.compile(r"infra-lab ([a-z]+)([^`\n]*)")


def _unknown_flags(text: str) -> list[str]:
    """``infra-lab SUB ... --flag`` written in ``text`` where SUB's parser has no ``--flag``
    (bad-inputs.md's misspelt commands, which the CLI refuses, are skipped)."""
    from infra_lab import cli

    parser = cli.build_parser()
    sub = next(a for a in parser._actions if isinstance(a, cli.argparse._SubParsersAction))
    bad = []
    for m in INVOCATION.finditer(text):
        command = sub.choices.get(m.group(1))
        if command is None:
            continue
        known = {s for a in command._actions for s in a.option_strings}
        bad += [f"infra-lab {m.group(1)} {f}" for f in re.findall(r"(?<![\w-])--[a-z][a-z0-9-]*", m.group(2))
                if f not in known]
    return bad


@pytest.mark.parametrize("path", CURRENT, ids=lambda p: p.name)
def test_every_cli_flag_a_page_writes_exists(path):
    """Every ``--flag`` written after ``infra-lab SUBCOMMAND`` on a current page is an option of
    that subcommand."""
    bad = _unknown_flags(path.read_text(encoding="utf-8"))
    assert not bad, f"{path.name}: options the CLI does not have: {bad}"


def test_the_flag_reader_finds_what_it_should():
    assert _unknown_flags("`infra-lab search zaya1 --top 5 --max-tp 8` and `infra-lab serve x --toppp 3`, "
                          "`infra-lab estimat --top 1`") == ["infra-lab serve --toppp"]


@pytest.mark.parametrize("name", ["validation-history.md", "serving-history.md"])
def test_history_index_lists_every_entry(name):
    """Each numbered entry of a history page has its anchor and a line in the page's index that
    links to it (validation-history.md's index stopped at entry 40 while entries 41 and 42 were
    added without anchors)."""
    text = (ROOT / "docs" / name).read_text(encoding="utf-8")
    entries = [int(n) for n in re.findall(r"^### (\d+)\. ", text, re.M)]
    assert entries == list(range(1, len(entries) + 1)), f"{name}: entries not numbered 1..n: {entries}"
    for n in entries:
        assert re.search(rf'<a id="entry-{n}"></a>\n+### {n}\. ', text), f"{name}: entry {n} has no anchor above it"
        assert re.search(rf"^{n}\. \[.*\]\(#entry-{n}\)$", text, re.M), f"{name}: the index has no line for entry {n}"


def _unknown_keywords(text: str) -> list[str]:
    """``il.module.call(..., kw=...)`` / ``module.call(kw=...)`` written in ``text`` where the
    call takes no keyword ``kw`` (a call taking ``**kwargs`` accepts any)."""
    import importlib
    import inspect
    import pkgutil

    import infra_lab

    modules = {m.name for m in pkgutil.iter_modules(infra_lab.__path__)}
    bad = []
    for m in re.finditer(r"(?<![\w.])(il\.)?((?:[a-z_]+\.)+[a-z_][a-z_0-9]*)\(", text):
        if not m.group(1) and m.group(2).split(".")[0] not in modules:
            continue
        obj = infra_lab
        for part in m.group(2).split("."):
            try:
                obj = getattr(obj, part) if hasattr(obj, part) else importlib.import_module(f"{obj.__name__}.{part}")
            except (ImportError, AttributeError):
                obj = None
                break
        try:
            params = inspect.signature(obj).parameters if callable(obj) else None
        except (TypeError, ValueError):
            params = None
        if params is None or any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
            continue
        depth, i = 1, m.end()
        while i < len(text) and depth:
            depth += {"(": 1, ")": -1}.get(text[i], 0)
            i += 1
        for kw in re.findall(r"(?<![\w.=])([a-z_][a-z_0-9]*)=(?!=)", text[m.end():i - 1]):
            if kw not in params:
                bad.append(f"{m.group(2)}({kw}=)")
    return bad


@pytest.mark.parametrize("path", [p for p in CURRENT if p.name not in ("review-response.md", "bad-inputs.md")],
                         ids=lambda p: p.name)
def test_every_keyword_a_page_passes_is_the_call_s(path):
    """A keyword a current page passes to a package call is one that call takes (bad-inputs.md
    writes refused keywords on purpose, review-response.md records past calls)."""
    bad = _unknown_keywords(path.read_text(encoding="utf-8"))
    assert not bad, f"{path.name}: keywords the calls do not take: {bad}"


def test_the_keyword_reader_finds_what_it_should():
    assert _unknown_keywords("`il.search(sc, top=5, objective=\"mfu\")`, `economics.run_cost(est, gpus=8)`, "
                             "`numpy.zeros(n, dtyp=int)`, `il.serve(sc, parms={})`") == \
        ["economics.run_cost(gpus=)"]
