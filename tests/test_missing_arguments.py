"""A public call made without a required argument: Python said "zyphra_bill() missing 1 required
positional argument: 'final_run_gpu_hours'"; the public calls (those errors.named_keywords wraps)
now raise errors.MissingArgumentError naming the call, each missing argument, what it is (the
docstring's Parameters entry or errors.ARGUMENT_HINTS) and an example call from the docstring.
Only a binding-time error is translated: a TypeError raised inside a call passes unchanged."""

from __future__ import annotations

import importlib
import inspect
import re

import pytest

import infra_lab as il
from infra_lab import errors
from infra_lab.errors import InfraLabError, MissingArgumentError

NAMESPACES = ("", "economics", "memory", "reliability", "expansion", "multimodal")


def _public_calls():
    """(public name, function) of every wrapped public call (named_keywords' wrapper)."""
    out = []
    for ns in NAMESPACES:
        mod = importlib.import_module(f"infra_lab.{ns}" if ns else "infra_lab")
        for n in mod.__all__:
            f = getattr(mod, n, None)
            if inspect.isfunction(f) and hasattr(f, "__wrapped__") and f.__code__.co_filename == errors.__file__:
                out.append((f"il.{ns}.{n}" if ns else f"il.{n}", f))
    return out


CALLS = _public_calls()


def _required(f):
    return [p.name for p in inspect.signature(f).parameters.values()
            if p.default is p.empty and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]


def test_the_sweep_covers_the_public_calls():
    names = {n for n, _ in CALLS}
    assert len(CALLS) > 100
    assert {"il.estimate", "il.load_scenario", "il.economics.zyphra_bill", "il.economics.payback_band",
            "il.memory.training_memory", "il.reliability.simulate", "il.expansion.evaluate",
            "il.search", "il.serve_search"} <= names


@pytest.mark.parametrize(("name", "f"), [c for c in CALLS if _required(c[1])], ids=lambda c: c if isinstance(c, str) else "")
def test_a_call_without_its_arguments_names_each_missing_one(name, f):
    with pytest.raises(InfraLabError) as e:
        f()
    msg = str(e.value)
    if isinstance(e.value, MissingArgumentError):
        assert msg.startswith(f"{name}() is missing ")
        assert isinstance(e.value, TypeError)              # code that caught Python's TypeError still does
        for arg in _required(f):
            assert repr(arg) in msg, (arg, msg)
        assert ". For example: " in msg or f". See help({name})" in msg
    else:   # a call that checks a missing argument itself (run_cost's price)
        assert any(arg in msg for arg in _required(f)) or "required" in msg, msg


def test_zyphra_bill_says_what_the_gpu_hours_are_and_how_to_get_them():
    with pytest.raises(MissingArgumentError) as e:
        il.economics.zyphra_bill()
    assert str(e.value) == (
        "il.economics.zyphra_bill() is missing its required argument 'final_run_gpu_hours': useful GPU-hours "
        "of the final run [GPU-h] (from il.estimate); from an estimate: "
        "il.economics.gpu_hours_from_estimate(il.estimate(sc), tokens). "
        "For example: il.economics.zyphra_bill(1e6, n_gpus=1024, months=12, price_usd_per_gpu_hour=2.0)")


def test_payback_band_and_a_call_missing_several():
    with pytest.raises(MissingArgumentError, match=r"^il\.economics\.payback_band\(\) is missing its required "
                       r"argument 'paybacks': paybacks of Monte Carlo draws \[years\].*For example: "
                       r"il\.economics\.payback_band\(\[1\.0, 2\.0, 3\.0, math\.inf\]\)$"):
        il.economics.payback_band()
    with pytest.raises(MissingArgumentError) as e:
        il.reliability.young_interval_s(60.0)
    assert str(e.value) == ("il.reliability.young_interval_s() is missing its required argument 'mtbi_s': "
                            "the mean time between interruptions [s]. For example: "
                            "il.reliability.young_interval_s(60.0, 3600.0)")


def test_every_hint_names_a_call_that_works():
    sc = il.load_scenario("zaya1-ibm-mi300x")
    space = {"il": il, "sc": sc, "tokens": 1e12, "work_hours": 1000.0, "cash_flows": [-100.0, 60.0, 60.0],
             "checkpoint": 1e12, "nodes": 128}
    calls = [c for _, how in errors.ARGUMENT_HINTS.values()
             for c in re.findall(r"il\.[\w.]+\((?:[^()]|\([^()]*\))*\)", how)]
    assert len(calls) >= 15
    for code in calls:
        assert eval(code, space) is not None, code    # noqa: S307 - the table's own example calls


def test_a_hint_for_one_call_or_namespace_wins_over_the_plain_name():
    assert errors._hint("il.reliability.restart_times_s", "plan")[0] == "a checkpoint plan"
    assert errors._hint("il.reliability.simulate", "plan")[0] == "a reliability run plan"
    assert errors._hint("il.multimodal.cross_ops", "spec")[1] == "il.multimodal.system_names() lists them"
    assert errors._hint("il.memory.weight_bytes", "spec")[1].startswith("e.g. il.models.get(")
    assert errors._hint("il.memory.weight_bytes", "no_such_argument") == ("", "")


def test_the_docstring_parameters_are_read_entry_by_entry():
    doc = """Summary.

    Parameters
    ----------
    scenario : Scenario or dict; stack, params : as il.estimate
    a, b : two numbers [-],
        continued here
    **overrides : anything else

    Returns
    -------
    float
    """
    assert errors._parameter_notes(doc) == {"scenario": "Scenario or dict", "stack": "as il.estimate",
                                            "params": "as il.estimate", "a": "two numbers [-], continued here",
                                            "b": "two numbers [-], continued here"}


def test_entries_run_together_on_one_line_are_each_read():
    # il.memory.korthikanti_activation_bytes writes "s : ...; b : ...; h : ..." on one line: b and h
    # were lost (everything after the first "; name :" was cut off)
    doc = """Summary.

    Parameters
    ----------
    s : sequence length [tokens]; b : micro-batch [sequences]; h : hidden [elements];
    a : attention heads [-]; t : tensor-parallel size [-]
    """
    assert errors._parameter_notes(doc) == {"s": "sequence length [tokens]", "b": "micro-batch [sequences]",
                                            "h": "hidden [elements]", "a": "attention heads [-]",
                                            "t": "tensor-parallel size [-]"}
    with pytest.raises(MissingArgumentError) as e:
        il.memory.korthikanti_activation_bytes(2048)
    assert "'b': micro-batch [sequences]; 'h': hidden [elements]; 'a': attention heads [-]" in str(e.value)


def undescribed_required_arguments(calls=None):
    """(public call, argument) of every required argument of a wrapped public call that neither
    the call's docstring ``Parameters`` section nor :data:`errors.ARGUMENT_HINTS` describes (the
    check: its MissingArgumentError would name the argument and say nothing about it)."""
    out = []
    for name, f in CALLS if calls is None else calls:
        notes = errors._parameter_notes(f.__doc__)
        out += [(name, a) for a in _required(f) if not notes.get(a) and not errors._hint(name, a)[0]]
    return out


def test_every_required_argument_of_every_public_call_is_described():
    # 87 of the 290 were not (2026-12-07): the message named them and said nothing about them
    assert sum(len(_required(f)) for _, f in CALLS) > 250
    assert undescribed_required_arguments() == []


def test_the_check_finds_an_argument_nobody_describes():
    def toy(scenario, widget_count, *, rate):
        """A toy.

        Parameters
        ----------
        rate : a rate [1/s]
        """

    assert undescribed_required_arguments([("il.toy", toy)]) == [("il.toy", "widget_count")]


@pytest.mark.parametrize("name", ["il.economics.npv", "il.economics.matched_rents", "il.load_scenario",
                                  "il.reliability.optimal_interval_s", "il.expansion.headlines"])
def test_the_newly_described_arguments_say_what_they_are(name):
    f = dict(CALLS)[name]
    with pytest.raises(MissingArgumentError) as e:
        f()
    msg = str(e.value)
    for arg in _required(f):
        assert re.search(rf"'{arg}': \S", msg), (arg, msg)    # named, then described


def test_a_type_error_raised_inside_a_call_passes_unchanged():
    def inner(x):
        return x

    @errors.named_keywords(name="il.toy")
    def toy(a):
        return inner()          # Python's TypeError from a call inside toy, not from binding toy

    with pytest.raises(TypeError) as e:
        toy(1)
    assert not isinstance(e.value, InfraLabError) and "missing 1 required positional argument: 'x'" in str(e.value)
    with pytest.raises(MissingArgumentError, match=r"^il\.toy\(\) is missing its required argument 'a'\. See help"):
        toy()


def test_keyword_only_arguments_are_named_too():
    @errors.named_keywords(name="il.toy")
    def toy(*, scenario, spec):
        """A toy."""

    with pytest.raises(MissingArgumentError) as e:
        toy()
    msg = str(e.value)
    assert msg.startswith("il.toy() is missing 2 required arguments: 'scenario': a Scenario")
    assert "'spec': a model" in msg
