"""The contract's calls name every keyword their functions take, the CLI paragraphs of the contract
name every command and option, and every relative link of README.md and docs/*.md leads to a file
and heading that exist (the docs audit of 2026-12-08, docs/review-response-history.md).

tests/test_docs_examples.py checks the defaults of five contract calls written out in full
(search, collective, serve, serve_search, sweep); the calls written more briefly (`il.estimate(sc)`
with its keywords in the comment beside it, the multimodal calls, `training.plan_space_size`)
had lost keywords the code gained (`tp_across_domains=`, `hardware=`, `sequences=`) with no test
to notice.
"""

from __future__ import annotations

import inspect
import json
import re
from pathlib import Path

import pytest

import infra_lab as il
from infra_lab import cli

ROOT = Path(__file__).resolve().parents[1]
ARCHITECTURE = (ROOT / "docs" / "ARCHITECTURE.md").read_text(encoding="utf-8")
CONTRACT_CALLS = re.search(r"## Contract: the calls\n\n```python\n(.*?)```", ARCHITECTURE, re.S)


def _documented_keywords(text: str, call: str) -> set[str]:
    """The ``kw=`` names written at each ``call(`` in ``text``: inside its parentheses, on the rest
    of the line that closes them and on the comment lines that follow it (the contract writes
    some keywords in the comment beside a short call)."""
    found: set[str] = set()
    for m in re.finditer(rf"(?<![\w.]){re.escape(call)}\(", text):
        depth, i = 1, m.end()
        while i < len(text) and depth:
            depth += {"(": 1, ")": -1}.get(text[i], 0)
            i += 1
        end = text.find("\n", i)
        end = len(text) if end < 0 else end
        while True:                                   # comment lines that continue the call's comment
            nxt = text.find("\n", end + 1)
            line = text[end + 1:len(text) if nxt < 0 else nxt]
            if not re.match(r"\s+#", line):
                break
            end = len(text) if nxt < 0 else nxt
        found |= set(re.findall(r"(?<![\w.])([a-z_][a-z_0-9]*)=(?!=)", text[m.start():end]))
    return found


def _keywords(fn) -> set[str]:
    """The parameters a caller may name: those with a default and the keyword-only ones."""
    P = inspect.Parameter
    return {p.name for p in inspect.signature(fn).parameters.values()
            if p.kind is P.KEYWORD_ONLY or (p.kind is P.POSITIONAL_OR_KEYWORD and p.default is not P.empty)}


CALLS = {
    "il.Scenario.from_dict": il.Scenario.from_dict,
    "il.Scenario.from_toml": il.Scenario.from_toml,
    "il.load_scenario": il.load_scenario,
    "il.estimate": il.estimate,
    "il.training.collectives": il.training.collectives,
    "il.training.collectives_by_dimension": il.training.collectives_by_dimension,
    "il.search": il.search,
    "training.plan_space_size": il.training.plan_space_size,
    "il.memory.largest_model": il.memory.largest_model,
    "il.training.apply_plan": il.training.apply_plan,
    "il.collective": il.collective,
    "il.serve": il.serve,
    "il.serve_search": il.serve_search,
    "il.sweep": il.sweep,
    "mm.packing_stats": il.multimodal.packing_stats,
    "mm.estimate": il.multimodal.estimate,
    "mm.encoder_prefill": il.multimodal.encoder_prefill,
    "mm.serve": il.multimodal.serve,
}


@pytest.mark.parametrize("call", sorted(CALLS))
def test_contract_call_names_every_keyword_its_function_takes(call):
    """Each call of the contract's code block, wherever the block writes it, names every keyword
    the function takes (a keyword added to the code shows here until the contract says so; the
    reverse, a keyword the page writes that the call does not take, is
    tests/test_docs_references.py's)."""
    assert CONTRACT_CALLS, "docs/ARCHITECTURE.md: the 'Contract: the calls' block moved"
    documented = _documented_keywords(CONTRACT_CALLS.group(1), call)
    missing = sorted(_keywords(CALLS[call]) - documented)
    assert not missing, f"docs/ARCHITECTURE.md: {call}(...) does not name {missing}"


def test_the_keyword_reader_reads_calls_and_their_comments():
    text = ("x = f(a, b=1,\n      c=2)   # d=3 here\n        # e=4 below\ny = 1  # z=5\nf(g=6)\n"
            "# h.f(no=1)\n")
    assert _documented_keywords(text, "f") == {"b", "c", "d", "e", "g"}


def _subcommands() -> dict:
    parser = cli.build_parser()
    return next(a for a in parser._actions if isinstance(a, cli.argparse._SubParsersAction)).choices


def test_contract_layout_line_lists_every_cli_command():
    """The layout's ``cli.py`` line lists the console script's commands (it lacked ``largest``)."""
    m = re.search(r"cli\.py\s+the `infra-lab` console script \(\[project\.scripts\]\): (.*?) \(suites", ARCHITECTURE, re.S)
    assert m, "docs/ARCHITECTURE.md: the cli.py line of the layout moved"
    assert [w.strip() for w in " ".join(m.group(1).split()).split(",")] == list(_subcommands())


def _option_owner_names() -> set[str]:
    """Names an option may stand for without the contract spelling it out: the [hardware] keys
    (`collective`'s hardware options) and the search constraints (`search` / `sweep --call
    search`'s plan options), which the contract names as whole families."""
    import dataclasses

    from infra_lab.scenario import HardwareConfig

    return {f.name for f in dataclasses.fields(HardwareConfig)} | set(il.training.SEARCH_CONSTRAINTS)


@pytest.mark.parametrize("command", sorted(_subcommands()))
def test_contract_names_every_option_of_every_cli_command(command):
    """Every ``--option`` of every command is written in docs/ARCHITECTURE.md, or is a [hardware]
    key or a search constraint (families the contract names as such). ``infra-lab estimate
    --tokens``, ``largest --family/--by/--max-layers/--search-plans`` and ``serve --objective``,
    ``--max-tpot-s``, ... were in no sentence of the contract."""
    owners = _option_owner_names()
    missing = []
    for action in _subcommands()[command]._actions:
        for opt in action.option_strings:
            if not opt.startswith("--") or opt == "--help" or opt in ARCHITECTURE:
                continue
            if opt[2:].replace("-", "_") in owners:
                continue
            missing.append(opt)
    assert not missing, f"docs/ARCHITECTURE.md does not name infra-lab {command} {missing}"


# ------------------------------------------------------------------ relative links and anchors

PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def _anchors(text: str) -> set[str]:
    """The anchors a Markdown page has: GitHub's slug of each heading (lower case, punctuation
    but '-' and '_' dropped, spaces as '-', '-1', '-2', ... on repeats) and each ``<a id=...>``."""
    text = re.sub(r"```.*?```", "", text, flags=re.S)
    seen: dict[str, int] = {}
    out = set(re.findall(r'<a (?:id|name)="([^"]+)"', text))
    for m in re.finditer(r"^#{1,6}\s+(.*?)\s*#*\s*$", text, re.M):
        slug = re.sub(r"[^\w\- ]", "", m.group(1).strip().lower()).replace(" ", "-")
        out.add(f"{slug}-{seen[slug]}" if slug in seen else slug)
        seen[slug] = seen.get(slug, 0) + 1
    return out


def _broken_links(page: Path, text: str) -> list[str]:
    bad = []
    for m in re.finditer(r"\]\(([^)\s]+)\)", re.sub(r"```.*?```", "", text, flags=re.S)):
        link = m.group(1)
        if re.match(r"[a-z][a-z0-9+.-]*:", link):          # http:, https:, mailto: ...
            continue
        path, _, fragment = link.partition("#")
        target = (page.parent / path).resolve() if path else page
        if path and not target.exists():
            bad.append(f"{link} (no such file)")
        elif fragment and target.suffix == ".md" and fragment not in _anchors(
                target.read_text(encoding="utf-8") if path else text):
            bad.append(f"{link} (no such heading or anchor)")
    return bad


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_every_relative_link_resolves(page):
    bad = _broken_links(page, page.read_text(encoding="utf-8"))
    assert not bad, f"{page.name}: links that lead nowhere: {bad}"


def test_the_link_reader_finds_what_it_should(tmp_path):
    other = tmp_path / "other.md"
    other.write_text("# A title, with: punctuation\n## Twice\n## Twice\n<a id=\"entry-1\"></a>\n", encoding="utf-8")
    page = tmp_path / "page.md"
    text = ("[ok](other.md) [ok](other.md#a-title-with-punctuation) [ok](other.md#twice-1) "
            "[ok](other.md#entry-1) [ok](https://example.com/x.md#nope) [ok](#here)\n# Here\n"
            "[bad](missing.md) [bad](other.md#twice-2) [bad](#nowhere)\n```\n[skipped](in-code.md)\n```\n")
    assert _broken_links(page, text) == ["missing.md (no such file)", "other.md#twice-2 (no such heading or anchor)",
                                         "#nowhere (no such heading or anchor)"]


def test_the_pages_quote_the_step_time_bounds_the_code_holds():
    """docs/validation.md's "Where it stands" and the contract's layout type the training
    validation's bounds beside the constant's name; both are the constant's values."""
    B = il.validation.STEP_TIME_BOUNDS_PCT
    flat = lambda p: " ".join((ROOT / p).read_text(encoding="utf-8").split())  # noqa: E731
    assert (f"test-split median |error| ≤ {B['median']:g} % and worst ≤ {B['worst']:g} % "
            "(`validation.STEP_TIME_BOUNDS_PCT`)") in flat("docs/validation.md")
    assert f"il.validation.STEP_TIME_BOUNDS_PCT ({json.dumps(B)}:" in flat("docs/ARCHITECTURE.md")


def test_economics_doc_800g_fabric_per_gpu_is_the_model_s():
    """docs/economics.md's per-GPU back-end network of an 800G fabric on 1,024 GPUs (ConnectX-8 on
    B300, Vulcano-800 on MI300X) was typed with no test beside it; both parts give it."""
    from infra_lab.scenario import as_hardware

    E = il.economics
    assert as_hardware({"accelerator": "B300", "nodes": 128}).nic == "ConnectX-8"     # "ConnectX-8 on B300"
    got = {E.network_capex_per_gpu(hardware={"accelerator": a, "nodes": 128, "fabric": "rails-only", **nic})
           for a, nic in (("B300", {}), ("MI300X", {"nic": "Vulcano-800"}))}
    assert len(got) == 1
    doc = " ".join((ROOT / "docs" / "economics.md").read_text(encoding="utf-8").split())
    assert f"(ConnectX-8 on B300, Vulcano-800: {got.pop():,.0f} USD per GPU on 1,024 GPUs;" in doc
