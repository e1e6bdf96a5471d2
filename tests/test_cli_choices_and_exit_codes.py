"""``infra-lab``: a misspelt choice (command, validate suite, --format) names the nearest one,
and every refused collective size exits 1 (a bad value), as the README says; 2 is for usage.

Before: ``infra-lab validate trainig`` listed the suites without saying which was meant, and a
negative size (``-1GiB``) exited 2 while ``1XB``, ``nan`` and ``1e40`` exited 1."""

from __future__ import annotations

import pytest

from infra_lab import cli


def _main(capsys, *args: str) -> tuple[int, str]:
    try:
        rc = cli.main(list(args))
    except SystemExit as e:          # argparse's usage errors
        rc = e.code
    return rc, capsys.readouterr().err


@pytest.mark.parametrize(("args", "near"), [
    (("validate", "trainig"), "training"),
    (("estimat", "zaya1-ibm-mi300x"), "estimate"),
    (("estimate", "zaya1-ibm-mi300x", "--format", "jsn"), "json"),
])
def test_a_misspelt_choice_names_the_nearest(capsys, args, near):
    rc, err = _main(capsys, *args)
    assert rc == 2 and f"invalid choice: '{args[-1] if args[0] != 'estimat' else 'estimat'}'" in err, err
    assert f"did you mean '{near}'?" in err, err


def test_a_choice_with_no_near_name_gets_no_guess(capsys):
    rc, err = _main(capsys, "validate", "zzz")
    assert rc == 2 and "invalid choice: 'zzz'" in err and "did you mean" not in err


@pytest.mark.parametrize("size", ["-1GiB", "-4096", "1XB", "nan"])
def test_every_refused_size_exits_1(capsys, size):
    rc, err = _main(capsys, "collective", "all_reduce", size, "--accelerator", "MI300X", "--nodes", "2",
                    "--gpus", "16")
    assert rc == 1 and f"size '{size}'" in err, err


# One convention for every subcommand (cli.EXIT_STATUSES, stated in each command's --help):
# 2 = the command line's grammar (unknown option), 1 = a value refused, whether the option's own
# reader refuses it or the package does. Before: `--top 0`, `--tokens abc`, `--gpus abc`,
# `--seed x` exited 2 (argparse's usage error, with the usage line) while `--gpus 0`,
# `--tokens -5`, `--max-tp 0` exited 1.
_GRID = "grid.toml"
EXIT_CASES = {
    "estimate": (("estimate", "zaya1-ibm-mi300x"), ("--tokens", "abc"), ("--tokens", "-5")),
    "search": (("search", "zaya1-ibm-mi300x"), ("--top", "0"), ("--max-tp", "0")),
    "collective": (("collective", "all_reduce", "1GiB", "--accelerator", "MI300X", "--nodes", "2",
                    "--gpus", "16"),
                   ("--gpus", "abc"), ("--gpus", "0")),
    "serve": (("serve", "maia-class-serving-mi300x"), ("--top", "abc"), ("--max-tpot-s", "-1")),
    "sweep": (("sweep", "zaya1-ibm-mi300x", "--grid", _GRID), ("--seed", "x"), ("--chunk-size", "0")),
    "largest": (("largest", "zaya1-ibm-mi300x"), ("--max-layers", "many"), ("--max-layers", "0")),
    "validate": (("validate", "compute"), ("--format", "jsn"), None),
}


@pytest.mark.parametrize("command", sorted(EXIT_CASES))
def test_every_subcommand_follows_one_exit_convention(capsys, tmp_path, monkeypatch, command):
    monkeypatch.chdir(tmp_path)
    (tmp_path / _GRID).write_text("[hardware]\nnodes = [1, 2]\n")
    base, by_reader, by_package = EXIT_CASES[command]
    rc, err = _main(capsys, *base, "--no-such-option")
    assert rc == 2 and "usage:" in err and "unrecognized arguments: --no-such-option" in err, err
    rc, err = _main(capsys, *base, *by_reader)
    if command == "validate":           # --format's choices are grammar: argparse's usage error
        assert rc == 2 and "invalid choice: 'jsn'" in err, err
        return
    assert rc == 1 and "usage:" not in err and by_reader[0] in err and repr(by_reader[1]) in err, err
    assert err.startswith(f"infra-lab {command}: error:"), err
    rc, err = _main(capsys, *base, *by_package)
    assert rc == 1 and "usage:" not in err and by_package[0] in err, err


def test_the_help_states_the_exit_statuses(capsys):
    from infra_lab.cli import EXIT_EPILOG, build_parser

    parser = build_parser()
    assert EXIT_EPILOG in parser.format_help()
    sub = next(a for a in parser._actions if a.dest == "command")
    for name, sp in sub.choices.items():
        assert EXIT_EPILOG in sp.format_help(), name
