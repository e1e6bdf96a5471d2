"""What README.md and docs/ARCHITECTURE.md show a new user still runs as shown.

The ``>>>`` examples of ``infra_lab/`` run as doctests (``--doctest-modules`` in
pyproject.toml); this module covers the Markdown pages: the README's first Python block runs
as written and prints the figure its comment states, every ``infra-lab`` command line of the
README and of each subcommand's ``--help`` parses, the Scenario tables of the contract are
valid Scenarios, and the contract's catalog names are the catalog's.
"""

from __future__ import annotations

import re
import shlex
import tomllib
from pathlib import Path

import pytest
from package_names import resolves

import infra_lab as il
from infra_lab import cli

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")
ARCHITECTURE = (ROOT / "docs" / "ARCHITECTURE.md").read_text(encoding="utf-8")


def _blocks(text: str, lang: str) -> list[str]:
    return re.findall(rf"```{lang}\n(.*?)```", text, re.S)


def _command_lines(text: str) -> list[list[str]]:
    """The arguments of every ``infra-lab`` command line in ``text`` (comments dropped)."""
    out = []
    for line in text.splitlines():
        m = re.match(r"\s*(?:\.venv/bin/)?infra-lab\s+(.*)", line)
        if m:
            args = shlex.split(m.group(1), comments=True)
            out.append(args[: args.index(">")] if ">" in args else args)
    return out


def test_readme_first_python_block_runs_as_written(capsys):
    code = next(b for b in _blocks(README, "python") if "il.load_scenario" in b)
    exec(compile(code, "README.md", "exec"), {})
    out = capsys.readouterr().out
    assert "step_time_s" not in out  # the block prints values, not the Estimate's repr
    # the figure its last comment states is the catalog's
    stated = re.search(r'accelerator\("MI300X"\)\.peak\("bf16"\)\s*#\s*([0-9.e]+) FLOP/s', code)
    assert stated and float(stated.group(1)) == il.catalog.accelerator("MI300X").peak("bf16")


def test_readme_command_lines_parse():
    lines = _command_lines(README)
    parser = cli.build_parser()
    assert {a[0] for a in lines} >= {"estimate", "search", "collective", "validate"}
    for args in lines:
        ns = parser.parse_args(args)
        assert ns.command == args[0]
    # the README names every subcommand the parser has
    sub = next(a for a in parser._actions if isinstance(a, cli.argparse._SubParsersAction))
    for name in sub.choices:
        assert f"`{name}`" in README, f"README does not list `infra-lab {name}`"


def test_every_readme_command_line_runs_and_says_what_its_comment_says(capsys):
    """The README's command lines were only parsed (above): each one that is not a help example
    (those run in test_cli_help_examples.py, also with ``--format`` beside them) runs here, and
    its comment's claim is checked: ``estimate zaya1-h100-counterpart`` notes that the plan does
    not fit."""
    from test_cli_help_examples import _examples

    helps = {tuple(shlex.split(e.split(">")[0])[1:]) for e in _examples()}

    def without_format(args):
        i = args.index("--format") if "--format" in args else None
        return tuple(args if i is None else args[:i] + args[i + 2:])

    ran = []
    for line in README.splitlines():
        m = re.match(r"\s*(?:\.venv/bin/)?infra-lab\s+(.*)", line)
        if m is None or not m.group(1).strip() or m.group(1).startswith("COMMAND"):
            continue
        args = shlex.split(m.group(1), comments=True)
        if tuple(args) in helps or without_format(args) in helps:
            continue
        assert cli.main(args) == 0, args
        out = capsys.readouterr().out
        ran.append(args)
        if "does not fit" in line:
            assert "does not fit:" in out, (args, out[-400:])
    assert ["estimate", "zaya1-h100-counterpart", "--tokens", "14e12"] in ran


def test_every_help_example_parses():
    parser = cli.build_parser()
    examples = [*_command_lines(parser.epilog), *(a for e in cli.EXAMPLES.values() for a in _command_lines(e))]
    assert len(examples) >= 15
    for args in examples:
        assert parser.parse_args(args).command == args[0], args


def test_examples_name_shipped_scenarios_and_files_that_exist():
    """A scenario named in an example is shipped, a data/ path exists (my_run.toml and the like
    stand for the reader's own files)."""
    parser = cli.build_parser()
    shipped = set(il.list_scenarios())
    texts = [parser.epilog, *cli.EXAMPLES.values(), README]
    for args in (a for t in texts for a in _command_lines(t)):
        ns = parser.parse_args(args)
        for value in (getattr(ns, "scenario", None), getattr(ns, "hardware", None)):
            if value is None:
                continue
            if value.startswith("data/"):
                assert (ROOT / value).is_file(), value
            elif not value.endswith(".toml"):
                assert value in shipped, f"{value!r} in an example is not a shipped scenario"


def test_contract_training_table_is_a_valid_scenario():
    training = next(b for b in _blocks(ARCHITECTURE, "toml") if "[training]" in b)
    sc = il.Scenario.from_dict(tomllib.loads(training))
    assert sc.name == "zaya1-ibm-mi300x" and sc.hardware.world_size == 1024
    assert sc.parallelism.dp == 1024


def test_contract_serving_table_is_a_valid_serving_scenario():
    serving = tomllib.loads(next(b for b in _blocks(ARCHITECTURE, "toml") if "[serving]" in b))
    d = {"name": "doc", "model": {"preset": "llama3.1-70b"},
         "hardware": {"accelerator": "MI300X", "nodes": 1, "gpus_per_node": 8}, **serving}
    sc = il.Scenario.from_dict(d)
    assert sc.serving.gpus == 8 and sc.serving.engine == "sglang"


def test_contract_catalog_names_are_the_catalog():
    m = re.search(r"Canonical catalog names.*?accelerators (.*?); NICs (.*?)\.\n", ARCHITECTURE, re.S)
    assert m, "docs/ARCHITECTURE.md: the canonical catalog names paragraph moved"
    names = lambda s: re.findall(r"`([^`]+)`", s)  # noqa: E731
    assert names(m.group(1)) == il.catalog.accelerator_names()
    assert names(m.group(2)) == il.catalog.nic_names()


def test_contract_breakdown_components_are_the_estimate():
    m = re.search(r"The `breakdown` components are(.*?)\(seconds per step", ARCHITECTURE, re.S)
    assert m, "docs/ARCHITECTURE.md: the breakdown components sentence moved"
    est = il.estimate(il.load_scenario("zaya1-ibm-mi300x"))
    assert re.findall(r"`([^`]+)`", m.group(1)) == est.breakdown["component"].to_list()


def test_every_dotted_name_the_contract_writes_resolves():
    """docs/ARCHITECTURE.md names public objects as ``il.module.NAME`` (and ``il.a.b.NAME``);
    each must resolve from the top-level package as written (three names documented this way
    were importable only from their submodules)."""
    import importlib

    import infra_lab

    names = sorted(set(re.findall(r"\bil\.((?:[a-z_]+\.)*[A-Za-z_][A-Za-z_0-9]*)", ARCHITECTURE)))
    assert len(names) > 20
    missing = []
    for dotted in names:
        obj = infra_lab
        for part in dotted.split("."):
            if not hasattr(obj, part):
                try:                                 # a submodule not imported by its package
                    obj = importlib.import_module(f"{obj.__name__}.{part}")
                    continue
                except (ImportError, AttributeError):
                    missing.append(f"il.{dotted}")
                    break
            obj = getattr(obj, part)
    assert not missing, f"names in docs/ARCHITECTURE.md that do not resolve: {missing}"


GLOSSARY = (ROOT / "docs" / "glossary.md").read_text(encoding="utf-8")


def test_glossary_names_every_pipeline_schedule():
    """The glossary's pipeline-schedule row lists scenario.PP_SCHEDULES, in that order (the
    zero-bubble family joined the schedules after the glossary was written)."""
    from infra_lab.scenario import PP_SCHEDULES

    row = next((line for line in GLOSSARY.splitlines() if line.startswith("| pipeline schedule |")), None)
    assert row, "docs/glossary.md: the pipeline schedule row moved"
    named = [n for n in re.findall(r"`([^`]+)`", row) if n in PP_SCHEDULES]
    assert named == list(PP_SCHEDULES)


def test_glossary_split_rule_is_the_code_s():
    """The train/test row states the split rules the validation code applies."""
    import zlib

    from infra_lab.validation import runs

    row = next(line for line in GLOSSARY.splitlines() if line.startswith("| train / test split |"))
    m = re.search(r"`zlib\.crc32\(id\) % (\d+) == 0`", row)
    assert m and int(m.group(1)) == runs.TEST_FRACTION_MOD
    for run_id in ("PR25-DSV2L-MI355X-8-mbs1-baseline", "AO-8B-B200-mxfp8", "x"):
        expect = "test" if zlib.crc32(run_id.encode()) % int(m.group(1)) == 0 else "train"
        assert runs._split_of(run_id) == expect
    assert "`serving.split_of`" in row and callable(il.serving.split_of)


NOTEBOOK_JARGON_00_04 = ("roofline", "wave quantization", "MXFP8", "MXFP4", "NVFP4", "E8M0", "A4W4",
                         "Infinity Cache", "FA2", "FA3", "AITER", "AOTriton", "HipKittens", "max-min",
                         "go-back-N", "selective retransmit", "PFC", "incast", "E-ECMP", "bucket")
"""Terms notebooks 00-04 use in their prose without defining them there, which the glossary names."""


def test_glossary_names_the_jargon_of_notebooks_00_to_04():
    """Notebook 02 spoke of E8M0 block scales, A4W4 GEMMs, MI300X's Infinity Cache, AITER,
    AOTriton and HipKittens kernels, notebook 03 of go-back-N, PFC, incast, IRN and E-ECMP,
    notebook 04 of data-parallel buckets, and the notebooks' "Terms" sections send the reader to
    docs/glossary.md for the rest, where none of them was. Each term is still used by a
    notebook generator, and is the name (first column) of a glossary row."""
    gens = "\n".join(p.read_text(encoding="utf-8") for p in sorted((ROOT / "tools" / "notebooks").glob("0[0-4]_*.py")))
    names = [line.split("|")[1] for line in GLOSSARY.splitlines() if line.startswith("| ")]
    for term in NOTEBOOK_JARGON_00_04:
        assert term.lower() in gens.lower(), f"{term!r}: no notebook 00-04 uses it any more; drop it from the list"
        assert any(term.lower() in n.lower() for n in names), f"docs/glossary.md has no row named {term!r}"


def test_every_dotted_name_the_glossary_writes_resolves():
    """A `module.NAME` the glossary gives as the owner of a quantity resolves from the package
    (`training.<key>` / `serving.<key>` naming a Scenario table's key are table keys, not names)."""
    import dataclasses

    import infra_lab
    from infra_lab.scenario import ServingConfig, TrainingConfig

    table_keys = {"training": {f.name for f in dataclasses.fields(TrainingConfig)},
                  "serving": {f.name for f in dataclasses.fields(ServingConfig)}}
    submodules = {m.name for m in __import__("pkgutil").iter_modules(infra_lab.__path__)}
    missing = []
    for dotted in sorted(set(re.findall(r"`([a-z_]+(?:\.[A-Za-z_][A-Za-z_0-9]*)+)", GLOSSARY))):
        head, *rest = dotted.split(".")
        if head not in submodules or (len(rest) == 1 and rest[0] in table_keys.get(head, ())):
            continue
        if not resolves(dotted):
            missing.append(dotted)
    assert not missing, f"names in docs/glossary.md that do not resolve: {missing}"


def _documented_call(name: str) -> str:
    """The text of the contract's call ``il.<name>(...)`` that states the most keyword defaults."""
    texts = []
    for m in re.finditer(rf"il\.{re.escape(name)}\(", ARCHITECTURE):
        depth, i = 1, m.end()
        while depth:
            depth += {"(": 1, ")": -1}.get(ARCHITECTURE[i], 0)
            i += 1
        texts.append(re.sub(r"#[^\n]*", "", ARCHITECTURE[m.end():i - 1]))
    best = max(texts, key=lambda s: s.count("="), default="")
    assert "=" in best, f"docs/ARCHITECTURE.md: no il.{name}(...) with its keywords"
    return best


def test_contract_calls_state_the_code_s_keywords_and_defaults():
    """Each contract call written with its keywords names every keyword the function takes,
    with the default the code has (a keyword added to the code, or a default changed, shows
    here until the contract says so)."""
    import ast
    import inspect

    calls = {"search": il.search, "collective": il.collective, "serve": il.serve,
             "serve_search": il.serve_search, "sweep": il.sweep}
    for name, fn in calls.items():
        text = _documented_call(name)
        documented = {k: ast.literal_eval(v.strip()) for k, v in
                      re.findall(r"\b([a-z_]+)=([^,]+?)(?=,|$)", text.replace("\n", " ").strip())}
        code = {p.name: p.default for p in inspect.signature(fn).parameters.values()
                if p.default is not inspect.Parameter.empty}
        assert documented == code, f"il.{name}: contract {documented} != code {code}"


def test_contract_multimodal_serve_names_its_result_fields_and_keywords():
    """The contract's mm.serve line states the keywords it takes and the fields of what it
    returns (a user read `.output_tokens_per_s` off it: that is on `.result`)."""
    import dataclasses
    import inspect

    from infra_lab.multimodal.serving import MultimodalServeResult

    line = next(m.group(0) for m in re.finditer(r"mm\.serve\((.*?)\)\n((?:\s+#.*\n)+)", ARCHITECTURE))
    kws = [p.name for p in inspect.signature(il.multimodal.serve).parameters.values()
           if p.kind is inspect.Parameter.KEYWORD_ONLY]
    assert all(f"{k}=" in line for k in kws), kws
    assert all(f"m.{f.name}" in line for f in dataclasses.fields(MultimodalServeResult))


# terms the prose of notebooks 05-09 uses without defining them in place, each with the word
# its glossary row starts with (the notebooks link docs/glossary.md as the place to look)
NOTEBOOK_TERMS = {"05_economics.py": ["colocation", "book life", "rent path"],
                  "06_reliability.py": ["early-deployment factor", "health check"],
                  "08_expansion_2026.py": ["Pareto front", "announced, not shipped"],
                  "09_multimodal_maia.py": ["document mask"]}


@pytest.mark.parametrize("name", sorted(NOTEBOOK_TERMS))
def test_glossary_defines_the_terms_notebooks_05_to_09_use(name):
    """A new reader of notebooks 05-09 met 'early-deployment factor', 'health checks', 'colocation',
    'book life', 'rent path', 'Pareto front', 'announced, not shipped' and 'document masks' with no
    row in docs/glossary.md; each term the generator's text uses has one, and its owner resolves."""
    src = (ROOT / "tools" / "notebooks" / name).read_text(encoding="utf-8").lower()
    rows = {line.split("|")[1].strip().lower() for line in GLOSSARY.splitlines() if line.startswith("| ")}
    for term in NOTEBOOK_TERMS[name]:
        assert term.lower().split(",")[0].split()[0] in src, f"{name} no longer uses {term!r}"
        assert any(r.startswith(term.lower()) for r in rows), f"docs/glossary.md has no row for {term!r}"



def test_readme_sweep_block_runs_as_written(tmp_path, monkeypatch):
    """The README's first il.sweep block runs as written (on a one-point grid in place of its
    six points, in a scratch folder for its out=): a frame with the columns best_plan returns,
    no failed point and no warning of one, and the out= folder written."""
    import warnings

    code = next(b for b in _blocks(README, "python") if "def best_plan" in b)
    grid = re.search(r"^grid = .*$", code, re.M)
    assert grid, "README.md: the sweep example's grid line moved"
    code = code.replace(grid.group(0), 'grid = {"nodes": [32], "seq_len": [2048]}')
    monkeypatch.chdir(tmp_path)
    ns: dict = {}
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        exec(compile(code, "README.md", "exec"), ns)
    assert not [str(w.message) for w in seen if "fail" in str(w.message).lower()]
    df = ns["df"]
    assert df.height == 1 and {"tp", "pp", "dp", "tokens_per_s"} <= set(df.columns)
    assert il.sweep.failures(df).height == 0
    assert (tmp_path / "runs" / "plans").is_dir()


def test_index_notebook_code_example_runs_as_written():
    """The calls notebook 00's "How to use them" shows in a markdown block run as written (a
    markdown cell is never executed by the notebook tests)."""
    from notebook_source import generator_cells

    blocks = [b for kind, src in generator_cells("00_index.py") if kind == "md" for b in _blocks(src, "python")]
    assert len(blocks) == 1, "notebook 00: the markdown code example moved"
    ns: dict = {}
    exec(compile(blocks[0], "00_index", "exec"), ns)
    assert ns["est"].step_time_s > 0 and ns["sc"].name == "zaya1-ibm-mi300x"
