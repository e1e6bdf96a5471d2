"""The zero-bubble and V schedules' pipeline send/receive on the step's critical path, from the
calls Primus' pipeline runtime makes (AMD-AGI/Primus 78633ae, primus/backends/megatron/core/
pipeline_parallel/primuspipe/handlers/communication_handler.py with communication_method
async_p2p, its default; fwd_handler.py / bwd_handler.py; the tables of primus/core/
pipeline_parallel/scheduler/algorithms/): each transfer posted in a group of its table's
communication nodes, a receive waited just before the pass that needs it, a group's sends waited
at the rank's next group. The kernel's count (infra_lab._kernels.pipeline_p2p.primus_p2p_count)
against the reference's port of the tables and the runtime walked event by event
(training_reference.primus_p2p_simulated), and the step's pp_p2p priced from it; torchtitan's
interleaved 1F1B (torch.distributed.pipelining's runtime) the same way."""

import random

import pytest

import infra_lab as il
from infra_lab._kernels import training as kt
from infra_lab._kernels.pipeline_p2p import primus_p2p_count
from infra_lab._kernels.training_reference import (
    primus_p2p_simulated,
    primus_table,
    torchtitan_interleaved_simulated,
    torchtitan_interleaved_transfers,
)

SCHEDULES = {"zb-h1": (2, "zero-bubble"), "zbv": (3, "zbv-formatted"), "v-half": (4, "v-half"),
             "v-min": (5, "v-min")}
HOP = 2.0 ** -16


def _walked(alg, p, m, times=(1.0, 1.0, 1.0)):
    try:
        return primus_p2p_simulated(alg, p, m, HOP, times) / HOP
    except RuntimeError:
        return -1.0


def test_count_equals_the_walked_primus_calls_random_cases():
    rng = random.Random(30)
    for _ in range(60):
        name = rng.choice(sorted(SCHEDULES))
        code, alg = SCHEDULES[name]
        p = rng.randint(2, 8)
        m = rng.choice([rng.randint(1, 2 * p), rng.randint(2 * p, 5 * p)])
        assert primus_p2p_count(code, p, m) == pytest.approx(_walked(alg, p, m), abs=1e-6), (name, p, m)


def test_table_follows_primus_zero_bubble_layout():
    # zerobubble.py at pp 4, m 8, rank 1: warm-up F0, F1 (receive before, send after); a steady
    # forward's receive is moved before the W that precedes it
    t = primus_table("zero-bubble", 4, 8)[1]
    names = [x["f"] + str(x["mb"]) for x in t]
    assert names[:6] == ["RF0", "F0", "SF0", "RF1", "F1", "SF1"]
    i = names.index("F4")
    assert names[i - 2:i + 1] == ["RF4", "W0", "F4"]


def test_steady_transfers_hidden_only_under_zbv():
    # the former rule charged 2·(vp·m + pp − 1) transfers, half hidden on Primus' stacks. ZBV's
    # table posts each receive at the producer's step + 1 and the consumer runs later, so at
    # equal pass times its steady transfers are hidden: the count stops growing with m (the
    # fill and drain only); ZB-H1 (receive node just before the pass) and the greedy V tables
    # (passes squeezed to the step after their input) wait on transfers every micro-batch
    for name, (code, _) in SCHEDULES.items():
        vp = 1 if name == "zb-h1" else 2
        a, b = primus_p2p_count(code, 8, 16), primus_p2p_count(code, 8, 32)
        assert 0 < a <= b, name
        assert (a == b) == (name == "zbv"), name
        assert a != (vp * 16 + 8 - 1), name


def test_deadlocking_walk_is_reported():
    # ZB-H1 with 4 <= m < pp: the waits on each group's previous sends form a cycle (the step
    # then keeps the former rule)
    assert primus_p2p_count(2, 8, 5) == -1
    assert _walked("zero-bubble", 8, 5) == -1.0


def _prp(schedule):
    from infra_lab.validation.runs import scenario_for_run

    sc, _ = scenario_for_run(f"PRP26-L2-7B16L-MI300X-8-{schedule}")
    return sc


def _pp_p2p(e):
    return dict(e.breakdown.iter_rows())["pp_p2p"]


@pytest.mark.parametrize("run,name", [("zbb", "zb-h1"), ("zbv", "zbv"), ("vhalf", "v-half"), ("vmin", "v-min")])
def test_estimate_prices_the_walked_count(run, name):
    sc = _prp(run)
    assert sc.parallelism.pp_schedule == name
    p = sc.parallelism.pp
    m = round(sc.training.global_batch / (sc.parallelism.dp * sc.training.micro_batch))
    n = primus_p2p_count(SCHEDULES[name][0], p, m)
    assert n > 0
    e = il.estimate(sc)
    # the former rule: 2·(vp·m + pp − 1) transfers at pp_p2p_overlap hidden
    vp = sc.parallelism.vp
    ovl = il.training.stack_params(sc.stack)["pp_p2p_overlap"]
    old = il.estimate(sc, params={"pp_p2p_interleaved_calls": 0.0})
    t_hop = _pp_p2p(old) / (2 * (vp * m + p - 1) * (1 - ovl))
    assert _pp_p2p(e) == pytest.approx(n * t_hop, rel=1e-9)
    assert _pp_p2p(e) != pytest.approx(_pp_p2p(old), rel=1e-3)


def test_estimate_equals_reference_zero_bubble():
    from kernel_check import assert_estimate_equals_reference

    for run in ("zbb", "vmin"):
        assert_estimate_equals_reference(_prp(run))


def test_torchtitan_zbv_keeps_the_former_rule():
    # torch.distributed.pipelining's ZBV runtime is not walked: 2·(vp·m + pp − 1) transfers at
    # pp_p2p_overlap hidden, not Primus' count
    sc = _prp("zbv").replace(training={"stack": "torchtitan-rocm"})
    p = sc.parallelism
    m = round(sc.training.global_batch / (p.dp * sc.training.micro_batch))
    ovl = il.training.stack_params("torchtitan-rocm")["pp_p2p_overlap"]
    ref = il.estimate(sc.replace(training={"stack": "megatron-core-rocm"}), params={"pp_p2p_interleaved_calls": 0.0})
    old_ovl = il.training.stack_params("megatron-core-rocm")["pp_p2p_overlap"]
    t_hop = _pp_p2p(ref) / (2 * (p.vp * m + p.pp - 1) * (1 - old_ovl))
    assert _pp_p2p(il.estimate(sc)) == pytest.approx(2 * (p.vp * m + p.pp - 1) * t_hop * (1 - ovl), rel=1e-9)


# torchtitan's interleaved 1F1B: torch.distributed.pipelining's ScheduleInterleaved1F1B
# (pytorch 00722e6, schedules.py) lowered by _add_send_recv and run by _PipelineScheduleRuntime

def _tt_count(pp, vp, m):
    return kt.interleaved_p2p_count(pp * 1.0, vp * 1.0, m * 1.0, 3)


def test_torchtitan_count_equals_the_walked_runtime():
    for pp in range(2, 9):
        for vp in (2, 3, 4, 8):
            for m in sorted({1, pp - 1, pp, pp + 1, 2 * pp, 2 * pp + 2, 3 * pp, 4 * pp + 4} - {0}):
                if m % max(1, m // pp):
                    continue
                for fwd, bwd in ((1.0, 2.0), (1.0, 1.0), (2.0, 1.5)):
                    walked = torchtitan_interleaved_simulated(pp, vp, m, HOP, fwd, bwd) / HOP
                    assert walked == pytest.approx(_tt_count(pp, vp, m), abs=1e-6), (pp, vp, m, fwd, bwd)


def test_torchtitan_steady_transfers_hidden_within_a_round():
    # m a multiple of pp: the fill and drain only, 2·(vp·pp − 1), whatever m (the former rule
    # 2·(vp·m + pp − 1) at half hidden); more micro-batches per round than ranks add 2·(vp − 1) each
    assert torchtitan_interleaved_transfers(8, 2, 32) == 2 * (2 * 8 - 1)
    assert torchtitan_interleaved_transfers(8, 2, 16) == 2 * (2 * 8 - 1)
    assert torchtitan_interleaved_transfers(4, 3, 6) == 2 * (3 * 4 - 1) + 2 * 2 * 2


def test_torchtitan_estimate_prices_the_count():
    sc = _prp("1f1b-vpp2").replace(training={"stack": "torchtitan-rocm"})
    p = sc.parallelism
    assert (p.pp, p.vp, p.schedule) == (8, 2, "interleaved")
    m = sc.training.global_batch / (p.dp * sc.training.micro_batch)
    ovl = il.training.stack_params("torchtitan-rocm")["pp_p2p_overlap"]
    old = il.estimate(sc, params={"pp_p2p_interleaved_calls": 0.0})
    t_hop = _pp_p2p(old) / (2 * (p.vp * m + p.pp - 1) * (1 - ovl))
    e = il.estimate(sc)
    assert _pp_p2p(e) == pytest.approx(_tt_count(p.pp, p.vp, m) * t_hop, rel=1e-9)
    assert _pp_p2p(e) < _pp_p2p(old)
    from kernel_check import assert_estimate_equals_reference

    assert_estimate_equals_reference(sc)
