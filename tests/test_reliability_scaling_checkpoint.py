"""il.reliability's size tables take a checkpoint given as an estimate or bytes beside a
scenario (session 37's user pass: reliability at 1,024 and 4,096 GPUs)."""

from __future__ import annotations

import pytest

import infra_lab as il


def test_scaling_table_of_a_scenario_takes_an_estimate_as_its_checkpoint():
    """Before: ``scaling_table(sc, [1024, 4096], 133.0, checkpoint=est)`` raised "plan_run:
    checkpoint= gives the checkpoint's bytes, and model= would size it again" (the scenario went
    in as model=, a keyword the user never gave). An estimate's bytes are sharded at each count,
    so for ZAYA1 (the estimate of the scenario itself) the table is the scenario's own."""
    sc = il.load_scenario("zaya1-ibm-mi300x")
    est = il.estimate(sc)
    given = il.reliability.scaling_table(sc, [1024, 4096], 133.0, checkpoint=est)
    assert given["gpus"].to_list() == [1024, 4096]
    assert given.equals(il.reliability.scaling_table(sc, [1024, 4096], 133.0))
    assert il.reliability.goodput_bands(sc, [1024], 133.0, checkpoint=est).height > 0
    with pytest.raises(il.ValidationError, match="model= would size it again"):   # both given: still refused
        il.reliability.scaling_table(sc, [1024], 133.0, checkpoint=est, model="zaya1-base")
