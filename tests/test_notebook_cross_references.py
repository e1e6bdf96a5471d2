"""The cross-references a reader follows resolve.

* a section a notebook names ("section 7", "§3.2", "notebook 04 §3", "sections 2–5") is a numbered
  heading of that notebook — in the notebooks' own prose and in README.md, docs/*.md and the
  package (widget texts, error messages) wherever they name a notebook's section;
* a section named by its title right after a link to a notebook ("[04](04_x.ipynb) (*The three
  questions*)", "(05: *Try it*)") is a heading of that notebook;
* "notebook NN" / "notebooks NN and MM" name notebooks that exist;
* a link in a notebook to another file resolves (a notebook beside it, or a path from notebooks/);
* a repository path a notebook names in its prose (``docs/…``, ``data/…``, ``tools/…``, ``tests/…``)
  exists.

The notebooks are read as their generators (tools/notebooks/NN_*.py) write them, without executing
them."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from notebook_source import generator_cells

ROOT = Path(__file__).resolve().parent.parent
GENERATORS = sorted((ROOT / "tools" / "notebooks").glob("[0-9][0-9]_*.py"))
NUMBERS = {p.stem[:2] for p in GENERATORS}
URL = re.compile(r"https?://\S+")

HEADING = re.compile(r"^#{2,4} (\d+(?:\.\d+)*)\.?\s+(\S.*)$|^#{2,4} (\S.*)$", re.M)
# "section 7", "§3.2", "sections 2–5", "sections 4 and 6", "notebook 04 §3", "notebook 05's section 2";
# not a part of a longer number ("section 3.3.4 of <a paper>")
SECTION_REF = re.compile(r"(?:\bnotebook (\d\d)(?:'s)?,? )?(?:§ ?|\bsections? )(\d+(?:\.\d+)?)(?![.\d])"
                         r"((?:\s*(?:–|-|,|and|or)\s*\d+(?:\.\d+)?(?![.\d]))*)")
NOTEBOOK_REF = re.compile(r"\b[Nn]otebooks? (\d{1,2})\b((?:(?:, | and | or |–|-)\d{1,2}\b)*)")
# a section named by its title after a link to a notebook, or after its number: "(05: *Try it*)"
TITLED_REF = re.compile(r"(?:\]\((\d\d)_\w+\.ipynb\)|\bat\('(\d\d)'\)\}?|\((\d\d): )[ ,(]{0,3}\*([^*\n]+)\*")
LINK = re.compile(r"\]\(([^)\s]+)\)")
REPO_PATH = re.compile(r"(?<![\w/.\-])((?:docs|data|tools|tests|benchmarks)/[\w./\-]*[\w/])")
# repository-looking words that are prose, not paths: "over data/tensor/expert parallelism"
PATHS_REVIEWED = {"data/tensor/expert"}


def _cells(gen: Path) -> list[tuple[str, str]]:
    return generator_cells(gen.name)


def as_written(source: str) -> str:
    """The index's link helper ``at('05', '§3')`` read as the "notebook 05 §3" it writes."""
    return re.sub(r"\bat\('(\d\d)', '(§[\d.]+)'\)", r"notebook \1 \2", source)


def _text(gen: Path) -> str:
    return as_written(URL.sub(" ", "\n".join(src for _, src in _cells(gen))))


def headings(gen: Path) -> tuple[set[str], list[str]]:
    """The section numbers and the heading titles of a notebook's markdown cells."""
    numbers, titles = set(), []
    for kind, src in _cells(gen):
        if kind == "md":
            for m in HEADING.finditer(src):
                if m.group(1):
                    numbers.add(m.group(1))
                titles.append((m.group(2) or m.group(3)).strip())
    return numbers, titles


def _numbers(first: str, rest: str) -> list[str]:
    return [first, *re.findall(r"\d+(?:\.\d+)?", rest)]


def section_problems(text: str, here: str | None, sections: dict[str, set[str]]) -> list[str]:
    """Section references in ``text`` that name no heading. A reference without "notebook NN"
    points into notebook ``here`` (None: outside a notebook, such references are skipped); one
    after a document's name ("docs/reliability.md §4") points into that document, not a notebook."""
    bad = []
    for m in SECTION_REF.finditer(text):
        target = m.group(1) or here
        if target is None or (not m.group(1) and re.search(r"\.md\W{0,2}$", text[max(0, m.start() - 6):m.start()])):
            continue
        missing = [n for n in _numbers(m.group(2), m.group(3)) if n not in sections.get(target, set())]
        if missing:
            bad.append(f"{m.group(0)!r} -> notebook {target} has no section {', '.join(missing)}")
    return bad


def titled_problems(text: str, titles: dict[str, list[str]]) -> list[str]:
    bad = []
    for m in TITLED_REF.finditer(text):
        target = m.group(1) or m.group(2) or m.group(3)
        name = m.group(4).strip()
        if not any(t.lower().startswith(name.lower()) for t in titles.get(target, [])):
            bad.append(f"*{name}* -> notebook {target} has no heading that starts so")
    return bad


def notebook_problems(text: str) -> list[str]:
    return [f"{m.group(0)!r}: no notebook {n}" for m in NOTEBOOK_REF.finditer(text)
            for n in _numbers(m.group(1), m.group(2)) if n.zfill(2) != n or n not in NUMBERS]


@pytest.fixture(scope="module")
def index():
    found = {g.stem[:2]: headings(g) for g in GENERATORS}
    return {n: h[0] for n, h in found.items()}, {n: h[1] for n, h in found.items()}


def _product_texts() -> list[tuple[str, str]]:
    """README, docs and the package's sources: where they name a notebook's section."""
    paths = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md")), *sorted((ROOT / "infra_lab").rglob("*.py"))]
    return [(str(p.relative_to(ROOT)), URL.sub(" ", p.read_text(encoding="utf-8"))) for p in paths]


@pytest.mark.parametrize("gen", GENERATORS, ids=lambda p: p.stem)
def test_notebook_sections_named_in_a_notebook_exist(gen, index):
    sections, titles = index
    text = _text(gen)
    bad = section_problems(text, gen.stem[:2], sections) + titled_problems(text, titles)
    assert not bad, f"{gen.stem}: {bad}"


def test_notebook_sections_named_in_docs_and_package_exist(index):
    sections, titles = index
    bad = [f"{name}: {p}" for name, text in _product_texts()
           for p in section_problems(text, None, sections) + titled_problems(text, titles)]
    assert not bad, bad


def test_named_notebooks_exist():
    texts = [(g.stem, _text(g)) for g in GENERATORS] + _product_texts()
    bad = [f"{name}: {p}" for name, text in texts for p in notebook_problems(text)]
    assert not bad, bad


@pytest.mark.parametrize("gen", GENERATORS, ids=lambda p: p.stem)
def test_notebook_links_resolve(gen):
    bad = []
    for target in LINK.findall(_text(gen)):
        if target.startswith(("{", "#", "mailto:")) or "{" in target:
            continue                                   # built from a value, or within the page
        path = target.split("#")[0]
        if not (ROOT / "notebooks" / path).exists():
            bad.append(target)
    assert not bad, f"{gen.stem}: links to files that do not exist (from notebooks/): {bad}"


@pytest.mark.parametrize("gen", GENERATORS, ids=lambda p: p.stem)
def test_repository_paths_a_notebook_names_exist(gen):
    bad = sorted({p for p in REPO_PATH.findall(_text(gen)) if p not in PATHS_REVIEWED
                  and not (ROOT / p.rstrip("/")).exists()})
    assert not bad, f"{gen.stem} names paths that are not in the repository: {bad}"


def test_the_readers_catch_planted_faults():
    """Each reader finds a reference that does not resolve and passes one that does."""
    sections = {"03": {"1", "2", "3", "7"}, "04": {"3"}}
    titles = {"04": ["The three questions, answered for ZAYA1"], "05": ["Try it"]}
    text = ("as in section 7 and §2; sections 2–3; notebook 04 §3; see section 9, notebook 04's section 5, "
            "sections 1 and 8, section 3.3.4 of a paper, docs/reliability.md §4")
    assert section_problems(text, "03", sections) == [
        "'section 9' -> notebook 03 has no section 9", "\"notebook 04's section 5\" -> notebook 04 has no section 5",
        "'sections 1 and 8' -> notebook 03 has no section 8"]
    assert section_problems("section 9 of the report", None, sections) == []
    assert titled_problems("[04](04_t.ipynb) (*The three questions*), (05: *Try it*)", titles) == []
    assert titled_problems("[04](04_t.ipynb) (*The four questions*), {at('05')}, *Explore*", titles) == [
        "*The four questions* -> notebook 04 has no heading that starts so",
        "*Explore* -> notebook 05 has no heading that starts so"]
    assert notebook_problems("notebooks 02, 03 and 10; notebook 4; notebooks 00–09") == [
        "'notebooks 02, 03 and 10': no notebook 10", "'notebook 4': no notebook 4"]
    assert section_problems(as_written("{at('03', '§9')}, {at('03', '§7')}"), "00", sections) == ["'notebook 03 §9' -> notebook 03 has no section 9"]
    assert REPO_PATH.findall("see `docs/validation.md`, data/expansion/ and nccl-tests/rccl-tests") == [
        "docs/validation.md", "data/expansion/"]
