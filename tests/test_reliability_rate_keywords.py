"""The reliability rate calls name a keyword they do not take as the other public calls do, and
say where a cluster size goes (session 37's user pass: "reliability at 1,024 and 4,096 GPUs").

Before: ``il.reliability.mtbi_hours(sc, gpus=4096)`` said "unknown keyword argument of mtbi_hours
'gpus'. Valid: calibration, …": other words than the calls without ``**kwargs`` use ("unknown
keyword argument 'n' of il.reliability.simulate(). …") and nothing on how to ask for 4,096 GPUs."""

from __future__ import annotations

import pytest

import infra_lab as il
from infra_lab.errors import UnknownNameError


@pytest.mark.parametrize("call", ["mtbi_hours", "interruptions_per_day", "failure_rate_per_hour"])
def test_a_gpu_count_keyword_points_at_scale_hardware(call):
    sc = il.load_scenario("zaya1-ibm-mi300x")
    fn = getattr(il.reliability, call)
    with pytest.raises(UnknownNameError) as e:
        fn(sc, gpus=4096)
    msg = str(e.value)
    assert msg.startswith(f"unknown keyword argument 'gpus' of il.reliability.{call}().")
    assert "il.reliability.scale_hardware(hardware, gpus)" in msg and "Valid: calibration" in msg
    # the way out it names works, and gives the larger cluster's figure
    big = fn(il.reliability.scale_hardware(sc, 4096))
    assert big != fn(sc)


def test_a_misspelt_rate_keyword_reads_like_named_keywords():
    sc = il.load_scenario("zaya1-ibm-mi300x")
    with pytest.raises(UnknownNameError) as e:
        il.reliability.mtbi_hours(sc, calibraton="fleet")
    assert str(e.value).startswith("unknown keyword argument 'calibraton' of il.reliability.mtbi_hours(). "
                                   "Did you mean 'calibration'?")
    with pytest.raises(UnknownNameError) as e:
        il.reliability.simulate(il.reliability.plan_run(sc, 10.0), n=3)
    assert str(e.value).startswith("unknown keyword argument 'n' of il.reliability.simulate().")

