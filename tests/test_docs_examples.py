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
