"""The plain (non-interleaved) 1F1B schedule executed per rank (il.estimate): Megatron-Core's
order (pipeline_greedy.interleaved_order with one chunk; forward_backward_pipelining_without_
interleaving) against the plain transcription and its event simulation
(pipeline_greedy_reference.one_f_one_b_order / interleaved_makespan), PyTorch's Schedule1F1B
order and a longest-path pass over the dependency graph written here; the closed form at equal
ranks and with the last rank slowest, above the execution with an earlier rank slowest; the step
kernel against the plain-Python step reference; the search (which keeps the closed form)
against il.estimate."""

import numpy as np
import pytest
from kernel_check import assert_row_is_estimate, assert_step_and_bubble_equal_reference

import infra_lab as il
from infra_lab._kernels import pipeline_greedy as pg
from infra_lab._kernels import pipeline_greedy_reference as ref
from infra_lab._kernels import training as kt
from infra_lab._kernels.training_reference import step_reference
from infra_lab.training import apply_plan


def _decode(o, m):
    return [("F" if c // m == 0 else "B", c % m) for c in o]


def _pytorch_1f1b(p, m):
    """PyTorch's Schedule1F1B._step_microbatches (torch/distributed/pipelining/schedules.py at
    1fd7abc): min(m, pp − rank) warm-up forwards, then backward, forward, … (1B1F) while
    forwards remain, then the remaining backwards."""
    out = []
    for r in range(p):
        w = min(m, p - r)
        ops = [("F", k) for k in range(w)]
        f, b = w, 0
        while True:
            ops.append(("B", b))
            b += 1
            if f == m:
                break
            ops.append(("F", f))
            f += 1
        ops += [("B", k) for k in range(b, m)]
        out.append(ops)
    return out


def _longest_path(orders, F, B):
    """Makespan of the per-rank ``orders`` as a longest path over the dependency graph: a pass
    ends at max(its rank's previous pass, its input) + its time; the input of F k on rank r is
    F k on rank r − 1, of B k the B k of rank r + 1 (on the last rank its own F k). Passes are
    visited in topological order by repeated sweeps (no event queue)."""
    p = len(orders)
    end = {}
    pos = [0] * p
    while any(pos[r] < len(orders[r]) for r in range(p)):
        progressed = False
        for r in range(p):
            if pos[r] >= len(orders[r]):
                continue
            kind, k = orders[r][pos[r]]
            dep = ((r - 1, "F", k) if r > 0 else None) if kind == "F" else \
                ((r + 1, "B", k) if r < p - 1 else (r, "F", k))
            if dep is not None and dep not in end:
                continue
            prev = end[(r,) + orders[r][pos[r] - 1]] if pos[r] else 0.0
            end[(r, kind, k)] = max(prev, end[dep] if dep else 0.0) + (F[r] if kind == "F" else B[r])
            pos[r] += 1
            progressed = True
        assert progressed
    return max(end.values())


def _kernel_bubble(p, m, T, FW, s=None):
    """kt.interleaved_rank_bubble with one chunk: one candidate per rank (bit r of its mask)."""
    cprog = pg.interleaved_program(pg.interleaved_order(p, m, 1, p), p, m, 1)
    n = len(T)
    t = np.zeros(8)
    fw = np.zeros(8)
    t[:n] = T
    fw[:n] = FW
    mask = np.zeros(8)
    cnt = np.zeros(8)
    mask[:n] = [2.0 ** r for r in range(n)]
    cnt[:n] = 1.0
    s = int(np.argmax(t[:n])) if s is None else s
    z = np.zeros(8)
    return kt.interleaved_rank_bubble(cprog, p, 1, m, float(m), t, fw, z, z, mask, z, cnt, n, s), s, t, fw, cnt


@pytest.mark.parametrize("p", [2, 3, 4, 8])
def test_order_is_megatron_without_interleaving_and_pytorch_schedule1f1b(p):
    """One chunk: the kernel's order is the transcription of Megatron-Core's
    forward_backward_pipelining_without_interleaving (warm-up min(pp − r − 1, m)), not the
    interleaved function's (pp − r − 1)·2, and PyTorch's Schedule1F1B runs the same sequence."""
    for m in sorted({1, p - 1, p, p + 1, 2 * p + 3, 4 * p} - {0}):
        o = pg.interleaved_order(p, m, 1, p)
        want = ref.one_f_one_b_order(p, m)
        torch_order = _pytorch_1f1b(p, m)
        for r in range(p):
            got = _decode(o[r], m)
            assert got == [("F" if k == ref.F else "B", mb) for k, _, mb in want[r]], (p, m, r)
            assert got == torch_order[r], (p, m, r)
            warm = 0
            while warm < len(got) and got[warm][0] == "F":
                warm += 1
            # the forwards before the first backward: Megatron's warm-up plus its first steady forward
            assert warm == min(p - r - 1, m) + (1 if m > p - r - 1 else 0)


def test_replay_equals_the_reference_simulation_and_a_longest_path():
    """Random per-rank F and B: the kernel's compact replay, the reference's event simulation
    and this file's longest-path pass give the same makespan."""
    rng = np.random.default_rng(23)
    for p in (2, 3, 4, 8):
        for m in sorted({1, p - 1, p, p + 1, 3 * p + 1} - {0}):
            for _ in range(4):
                F = [float(x) for x in rng.uniform(0.5, 1.5, p)]
                B = [f * float(rng.uniform(1.5, 2.5)) for f in F]
                cprog = pg.interleaved_program(pg.interleaved_order(p, m, 1, p), p, m, 1)
                assert cprog[cprog.shape[0] - p, 1] == 0          # never deadlocks
                cost = np.zeros(3 * p)
                cost[0::3] = F
                cost[1::3] = B
                got = pg.replay_compact(cprog, p, cost, np.empty(cprog.shape[0] - p))
                want = ref.interleaved_makespan(p, m, 1, [[f] for f in F], [[b] for b in B])
                lp = _longest_path(ref_orders(p, m), F, B)
                assert got == pytest.approx(want, rel=1e-12)
                assert got == pytest.approx(lp, rel=1e-12)


def ref_orders(p, m):
    return [[("F" if k == ref.F else "B", mb) for k, _, mb in ref.one_f_one_b_order(p, m)[r]] for r in range(p)]


@pytest.mark.parametrize("p", [2, 4, 8])
def test_equal_ranks_and_a_slow_last_rank_give_the_closed_form(p):
    """Every rank equal: the execution idles (pp − 1)·T (Narayanan et al. 2021), the closed
    form; the last rank (the output layer's) slowest: Σ_{i≠s} T_i, Alpa's form, also exact."""
    for m in sorted({1, p - 1, p, 4 * p} - {0}):
        T = np.full(p, 3.0)
        FW = np.full(p, 1.0)
        got, s, t, fw, cnt = _kernel_bubble(p, m, T, FW)
        assert got == pytest.approx((p - 1) * 3.0, rel=1e-12)
        assert got == pytest.approx(kt.pipeline_bubble(0, p, 1, 3.0, 0.0, 1.0, float(m)), rel=1e-12)
        T[-1] = 4.5
        FW[-1] = 1.5
        got, s, t, fw, cnt = _kernel_bubble(p, m, T, FW)
        closed = kt.pipeline_bubble_stages(0, p, 1, t, t, fw, cnt, p, s, float(m))
        assert got == pytest.approx(closed, rel=1e-12)


def test_a_slow_first_rank_executes_below_the_closed_form():
    """Rank 0 slowest (an embedding stage, dense first layers, an uneven split): its warm-up
    forwards overlap part of the later ranks' round trip, so the execution idles less than
    Σ_{i≠s} T_i, which stays an upper bound; checked against the longest path too."""
    p, m = 4, 16
    F = [1.5, 1.0, 1.0, 1.0]
    B = [3.0, 2.0, 2.0, 2.0]
    T = np.array([f + b for f, b in zip(F, B, strict=True)])
    got, s, t, fw, cnt = _kernel_bubble(p, m, T, np.array(F))
    assert s == 0
    closed = kt.pipeline_bubble_stages(0, p, 1, t, t, fw, cnt, p, s, float(m))
    assert closed == pytest.approx(9.0, rel=1e-12)             # the three other ranks' 3.0 each
    assert got == pytest.approx(_longest_path(ref_orders(p, m), F, B) - m * 4.5, rel=1e-12)
    assert got < closed * (1 - 0.05)
    rng = np.random.default_rng(4)
    for _ in range(30):                                         # every rank different: never above
        p = int(rng.integers(2, 9))
        m = int(rng.integers(1, 33))
        F = rng.uniform(0.5, 1.5, p)
        T = F * rng.uniform(2.5, 3.5, p)
        got, s, t, fw, cnt = _kernel_bubble(p, m, T, F)
        assert got <= kt.pipeline_bubble_stages(0, p, 1, t, t, fw, cnt, p, s, float(m)) * (1 + 1e-12)


def _scenario(model, pp, gb, nodes=1, tp=1, **tr):
    return il.Scenario.from_dict({
        "name": "f1b", "model": model,
        "hardware": {"accelerator": "H100-SXM", "nodes": nodes, "gpus_per_node": 8},
        "training": {"seq_len": 4096, "global_batch": gb, "micro_batch": 1, "precision": "bf16", **tr},
        "parallelism": {"tp": tp, "pp": pp}})


PLANS = [
    ("llama3-8b", 4, 64, 1, 1, {}),                                    # last rank (output layer) slowest
    ("llama3-8b", 4, 64, 1, 1, {"recompute": "full", "recompute_num_layers": 2}),
    ("llama3-8b", 8, 16, 1, 1, {}),                                    # m = 16
    ("llama3.1-405b", 16, 512, 32, 8, {}),                             # 126 layers on 16 ranks: earlier ranks longer
    ("deepseek-v3", 8, 256, 8, 8, {}),                                 # dense first layers, MTP on the last rank
]


@pytest.mark.parametrize("model,pp,gb,nodes,tp,tr", PLANS)
def test_estimate_equals_the_step_reference(model, pp, gb, nodes, tp, tr):
    sc = _scenario(model, pp, gb, nodes, tp, **tr)
    assert sc.parallelism.schedule == "1f1b"
    assert_step_and_bubble_equal_reference(sc)


def test_search_keeps_the_closed_form_and_estimate_executes():
    """Llama 3.1 405B on pp 16 (126 layers: the first ranks hold 8, the rest 7, so an early
    rank is the slowest): the search row's bubble is the closed form's, il.estimate's the
    execution's, smaller; every other component equal."""
    sc = _scenario("llama3.1-405b", 16, 512, 32, 8)
    df = il.search(sc, top=None, feasible_only=False, pp=16, vp=1, tp=8, cp=1, micro_batch=1, zero=sc.parallelism.zero,
                   recompute=sc.training.recompute, sequence_parallel=sc.parallelism.sequence_parallel, fsdp=False,
                   ep=1)
    assert df.height == 1
    row = df.row(0, named=True)
    est = il.estimate(il.Scenario.from_dict(apply_plan(sc.to_dict(), row)))
    assert_row_is_estimate(row, est)
    bubble = dict(est.breakdown.iter_rows())["pp_bubble"]
    assert bubble < row["pp_bubble"] * (1 - 1e-4)


def test_more_ranks_than_the_rank_masks_keep_the_closed_form():
    """pp 64 > kt.RANK_MASK_BITS: the layout's masks cannot say which stage candidate ranks 52 …
    63 are, so il.estimate keeps the closed form (an upper bound of the execution) there, equal
    to the search row, and the reference does the same."""
    assert not kt.executes_1f1b(0, 64, 1, 1.0) and kt.executes_1f1b(0, kt.RANK_MASK_BITS, 1, 1.0)
    assert not kt.executes_1f1b(0, 8, 1, 0.0)          # the search's constants: closed form
    sc = il.Scenario.from_dict({
        "name": "f1b64", "model": "megatron-175b",
        "hardware": {"accelerator": "H100-SXM", "nodes": 64, "gpus_per_node": 8},
        "training": {"seq_len": 2048, "global_batch": 512, "micro_batch": 1, "precision": "bf16"},
        "parallelism": {"tp": 8, "pp": 64}})
    df = il.search(sc, top=None, feasible_only=False, pp=64, vp=1, tp=8, cp=1, micro_batch=1, zero=sc.parallelism.zero,
                   recompute=sc.training.recompute, sequence_parallel=sc.parallelism.sequence_parallel, fsdp=False)
    assert df.height == 1
    est = il.estimate(sc)
    assert est.step_time_s == pytest.approx(df["step_time_s"][0], rel=1e-12)
    assert step_reference(sc)["step_time_s"] == pytest.approx(est.step_time_s, rel=1e-9)
