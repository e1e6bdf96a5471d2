"""An interleaved plan whose micro-batches per step are not a multiple of pp (which Megatron-Core's
interleaved schedule refuses) is estimated with a ScheduleSupportWarning naming the count and the
global batches allowed; a plan Megatron runs, or 1F1B at the same counts, gives none."""

import warnings

import pytest

import infra_lab as il
from infra_lab.errors import ScheduleSupportWarning


def _scenario(pp, vp, gb):
    # llama3-8b on one 8-GPU node: tp 1, dp = 8 / pp, micro-batch 1
    return il.Scenario.from_dict({
        "name": "il", "model": "llama3-8b",
        "hardware": {"accelerator": "H100-SXM", "nodes": 1, "gpus_per_node": 8},
        "training": {"seq_len": 4096, "global_batch": gb, "micro_batch": 1, "precision": "bf16"},
        "parallelism": {"tp": 1, "pp": pp, "vp": vp}})


@pytest.mark.parametrize("gb, m", [(60, 30), (4, 2)])   # a last group of 2; fewer micro-batches than pp
def test_interleaved_count_megatron_refuses_warns(gb, m):
    with pytest.warns(ScheduleSupportWarning) as rec:
        est = il.estimate(_scenario(4, 2, gb))
    msg = " ".join(str(w.message) for w in rec)
    assert f"{m} micro-batch(es) per step" in msg and "multiple of 8 (pp x micro_batch x dp)" in msg
    assert est.step_time_s > 0


@pytest.mark.parametrize("pp, vp, gb", [(4, 2, 64), (4, 1, 60), (4, 1, 4)])
def test_runnable_interleaved_or_1f1b_gives_no_schedule_warning(pp, vp, gb):
    with warnings.catch_warnings():
        warnings.simplefilter("error", ScheduleSupportWarning)
        il.estimate(_scenario(pp, vp, gb))
