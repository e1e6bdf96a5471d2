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
