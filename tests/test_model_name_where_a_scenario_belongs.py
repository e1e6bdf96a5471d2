"""A model preset's name where a scenario belongs: ``il.memory.training_memory("llama3-70b")``
said "unknown scenario 'llama3-70b'. Valid: ..." (it read a string through load_scenario, not the
one coercion the other calls share); every call that takes a scenario now refuses it alike,
saying it is a model and what to pass, and takes a shipped scenario's name in any letter case."""

import pytest

import infra_lab as il
from infra_lab.errors import ValidationError

CALLS = {
    "il.memory.training_memory": lambda s: il.memory.training_memory(s),
    "il.memory.training_memory_total": lambda s: il.memory.training_memory_total(s),
    "il.memory.fits": lambda s: il.memory.fits(s),
    "il.estimate": lambda s: il.estimate(s),
}


@pytest.mark.parametrize("call", sorted(CALLS))
def test_a_model_name_is_refused_saying_what_to_pass(call):
    with pytest.raises(ValidationError) as e:
        CALLS[call]("Llama3-70B")
    msg = str(e.value)
    assert msg.startswith("scenario = 'Llama3-70B': expected a Scenario"), msg
    assert "'Llama3-70B' is a model (il.models.get), not a scenario" in msg
    assert ".replace(model={'preset': 'llama3-70b'})" in msg and "unknown scenario" not in msg


def test_the_memory_calls_take_a_shipped_name_as_il_estimate_does():
    sc = il.load_scenario("zaya1-ibm-mi300x")
    assert il.memory.training_memory_total("ZAYA1-ibm-mi300x") == il.memory.training_memory_total(sc)
    assert il.memory.fits("zaya1-ibm-mi300x") == il.memory.fits(sc)
    with pytest.raises(ValidationError, match=r"scenario = 'zaya1-ibm-mi300': .*did you mean 'zaya1-ibm-mi300x'"):
        il.memory.training_memory("zaya1-ibm-mi300")


@pytest.mark.parametrize(("typed", "preset"), [("llama3-70b", "llama3-70b"), ("Llama3.1-405B", "llama3.1-405b")])
def test_load_scenario_of_a_model_name_says_it_is_a_model_and_how_to_build_one(typed, preset):
    # session 38: il.load_scenario('llama3-70b') said only "unknown scenario ... Valid: <4 shipped>"
    with pytest.raises(il.errors.UnknownNameError) as e:
        il.load_scenario(typed)
    msg = str(e.value)
    assert msg.startswith(f"unknown scenario {typed!r}: {typed!r} is a model (il.models.get), not a scenario")
    call = f"il.load_scenario('zaya1-ibm-mi300x').replace(model={{'preset': {preset!r}}})"
    assert call in msg and "shipped scenarios: " in msg
    assert eval(call, {"il": il}).model == {"preset": preset}     # noqa: S307 - the call the message shows runs


def test_a_model_alias_that_starts_a_shipped_name_keeps_the_nearest_scenario_hint():
    # 'zaya1' is zaya1-base's alias and the start of two shipped scenarios' names
    with pytest.raises(il.errors.UnknownNameError, match=r"^unknown scenario 'zaya1'\. Did you mean 'zaya1-"):
        il.load_scenario("zaya1")
