"""Cross-cutting findings of a new user's tour of the public API (December 2026, session s41):
each test failed before its fix."""

from __future__ import annotations

import pytest

import infra_lab as il
from infra_lab.errors import SHORT_REPR_CHARS, ValidationError

SC = il.load_scenario("zaya1-ibm-mi300x")


@pytest.mark.parametrize("call", [
    lambda: il.economics.cluster_power(SC),                      # a Scenario where n_gpus belongs
    lambda: il.reliability.interval_sweep(SC),                   # a Scenario where a RunPlan belongs
    lambda: il.reliability.simulate(SC),
    lambda: il.economics.tco(n_gpus=SC.to_dict()),               # a dict where an integer belongs
    lambda: il.collective("all_reduce", SC, SC, 8),              # a Scenario where the bytes belong
])
def test_a_wrong_object_is_quoted_short_in_the_error(call):
    """A Scenario (or its dict) passed where a number or a plan belongs was quoted as its whole
    printout, hundreds of characters before the error said what was expected; it is cut to
    errors.short_repr's length with its type named, and the message still says what is allowed."""
    with pytest.raises(ValidationError) as e:
        call()
    msg = str(e.value)
    assert "expected" in msg and len(msg) < SHORT_REPR_CHARS + 400, msg
    assert "training=TrainingConfig" not in msg and "'training': {" not in msg, msg


def test_short_values_are_quoted_as_before():
    """Only a quote past the limit is cut: short wrong values read as they always did."""
    with pytest.raises(ValidationError, match=r"^n_gpus = '8': expected an integer in \[1, 10000000\]$"):
        il.economics.cluster_power("8")
    with pytest.raises(ValidationError, match=r"^utilization = '0\.5': expected a number"):
        il._validate.number("utilization", "0.5", lo=0.0, hi=1.0)
