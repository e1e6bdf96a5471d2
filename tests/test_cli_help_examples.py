"""Every example the ``infra-lab`` help prints (``infra-lab --help`` and each command's
``--help``) runs and prints a readable amount: ``infra-lab search my_run.toml --top all --all
--format csv > plans.csv`` wrote every plan of ZAYA1's space, about 1.2 M rows and 0.7 GB in
over a minute, where an example should show the options on a space a reader can open. The
placeholders the examples name (my_run.toml, my_serving.toml, grid.toml) stand for the shipped
files; the dask scheduler example needs a scheduler at its address and is only parsed."""

from __future__ import annotations

import re
import shlex

import pytest

import infra_lab as il
from infra_lab import cli

SCENARIOS = il.catalog.DATA_DIR / "scenarios"
PLACEHOLDERS = {"my_run.toml": str(SCENARIOS / "zaya1-ibm-mi300x.toml"),
                "my_serving.toml": str(SCENARIOS / "maia-class-serving-mi300x.toml")}
MAX_LINES = 50_000       # an example's output a reader can open: a table, or a CSV a spreadsheet takes


def _examples() -> list[str]:
    texts = [*cli.EXAMPLES.values(), cli.build_parser().epilog or ""]
    lines = [line.strip().split("  #")[0].strip() for t in texts for line in t.splitlines()]
    return sorted({line for line in lines if line.startswith("infra-lab ")})


def _argv(example: str) -> list[str]:
    cmd = example.split(">")[0]
    cmd = re.sub(r"(?<![/\w])data/scenarios/", f"{SCENARIOS}/", cmd)
    for name, path in PLACEHOLDERS.items():
        cmd = cmd.replace(name, path)
    return shlex.split(cmd)[1:]


def test_the_examples_are_found():
    ex = _examples()
    assert len(ex) >= 30 and {e.split()[1] for e in ex} == {"estimate", "search", "collective", "serve", "sweep",
                                                            "largest", "validate"}


@pytest.mark.parametrize("example", _examples())
def test_a_help_example_runs_and_prints_a_readable_amount(example, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "grid.toml").write_text("[hardware]\nnodes = [32, 64]\n")
    argv = _argv(example)
    if "--scheduler" in argv:                      # needs a dask scheduler at tcp://host:8786
        args = cli.build_parser().parse_args(argv)
        assert args.scheduler == "tcp://host:8786" and args.out == "results.parquet"
        return
    rc = cli.main(argv)
    out = capsys.readouterr().out
    assert rc == 0, example
    lines = out.count("\n")
    assert 2 <= lines <= MAX_LINES, f"{example}: {lines:,} lines"
