"""The serving engines' own tensor-parallel all-reduce kernels in the collective model
(infra_lab._kernels.collectives: engine_allreduce_choice, engine_kernel_cost,
engine_allreduce) against the plain reference (collectives_reference.engine_*), and the
serving model's use of them."""

import math

import numpy as np
import pytest

import infra_lab as il
import infra_lab.serving as serving
from infra_lab import collectives as C
from infra_lab._kernels import collectives as K
from infra_lab._kernels import collectives_reference as CR

_KIND = {K.ALG_ONESHOT: "one-shot", K.ALG_TWOSHOT: "two-shot"}
_ROWS = {r["stack"]: r for r in serving.engine_allreduce().iter_rows(named=True)}
_HW = ("H200-SXM", "H100-SXM", "B200", "MI300X", "MI355X")


def _named(hw):
    cp = C.collective_time_params(hw)
    return cp.array, CR.named_vector(cp.named(), cp.array)


def _boundary_sizes(row):
    """Every limit and threshold of a row, one byte either side, and a few ordinary sizes."""
    edges = [row["max_bytes"], row["max_bytes_tp2"], row["oneshot_below_bytes_tp4"],
             row["oneshot_below_bytes_tp8"]]
    out = {16.0, 8192.0, 2.0**20, 2.0**27}
    for e in edges:
        out.update({e - 1.0, e, e + 1.0})
    return sorted(out)


@pytest.mark.parametrize("stack", sorted(_ROWS))
def test_choice_kernel_equals_reference_on_a_grid(stack):
    E = serving.engine_allreduce_rule(stack)
    row = _ROWS[stack]
    for n in range(1, 17):
        for k in sorted({1, 2, 4, n // 2 if n > 1 else 1, n}):
            if k < 1 or n % k:
                continue
            for s in _boundary_sizes(row):
                a = K.engine_allreduce_choice(E, s, n, k)
                assert _KIND.get(int(a), "library") == CR.engine_choice_reference(row, s, n, k), (stack, n, k, s)


@pytest.mark.parametrize("stack", sorted(_ROWS))
def test_python_rule_is_the_kernels_rule(stack):
    # one owner: engine_allreduce_kernel answers what the serving kernel runs (a node's ranks)
    E = serving.engine_allreduce_rule(stack)
    for n in (1, 2, 3, 4, 5, 6, 7, 8, 16):
        for s in _boundary_sizes(_ROWS[stack]):
            a = K.engine_allreduce_choice(E, s, n, n)
            assert serving.engine_allreduce_kernel(stack, n, s) == _KIND.get(int(a), "library")


def test_limits_strict_or_inclusive_per_row():
    for stack, row in _ROWS.items():
        E = serving.engine_allreduce_rule(stack)
        for n, lim in ((2, row["max_bytes_tp2"]), (8, row["max_bytes"]), (6, row["max_bytes"])):
            at = K.engine_allreduce_choice(E, lim, n, n)
            assert (at >= 0) == bool(row["max_inclusive"]), (stack, n)
            assert K.engine_allreduce_choice(E, lim - 1.0, n, n) >= 0
            assert K.engine_allreduce_choice(E, lim + 1.0, n, n) == -1


def test_one_shot_threshold_is_strict_and_six_ranks_take_the_eight_rank_branch():
    for stack, row in _ROWS.items():
        E = serving.engine_allreduce_rule(stack)
        t4, t8 = row["oneshot_below_bytes_tp4"], row["oneshot_below_bytes_tp8"]
        assert K.engine_allreduce_choice(E, t4 - 1.0, 4, 4) == K.ALG_ONESHOT
        assert K.engine_allreduce_choice(E, t4, 4, 4) == K.ALG_TWOSHOT
        for n in (6, 8):
            assert K.engine_allreduce_choice(E, t8 - 1.0, n, n) == K.ALG_ONESHOT
            assert K.engine_allreduce_choice(E, t8, n, n) == K.ALG_TWOSHOT
        # 2 ranks: one-shot at every size up to the limit
        assert K.engine_allreduce_choice(E, row["max_bytes_tp2"] - 1.0, 2, 2) == K.ALG_ONESHOT


def test_other_world_sizes_cross_node_groups_and_stacks_without_a_rule_run_the_library():
    for stack in _ROWS:
        E = serving.engine_allreduce_rule(stack)
        for n in (1, 3, 5, 7, 16, 32):
            assert K.engine_allreduce_choice(E, 8192.0, n, n) == -1
        # 8 ranks as 2 domains of 4, 16 as 2 of 8: the engines' P2P buffers stay in a node
        assert K.engine_allreduce_choice(E, 8192.0, 8, 4) == -1
        assert K.engine_allreduce_choice(E, 8192.0, 4, 2) == -1
    for stack in ("vllm-cuda-early", "trt-llm-cuda-early", None):
        E = serving.engine_allreduce_rule(stack)
        assert not E.any()
        assert K.engine_allreduce_choice(E, 8192.0, 8, 8) == -1


@pytest.mark.parametrize("acc", _HW)
def test_engine_kernel_cost_equals_reference(acc):
    P, p = _named({"accelerator": acc, "nodes": 1})
    for algo in (K.ALG_ONESHOT, K.ALG_TWOSHOT):
        for n in (2, 4, 6, 8):
            for s in (0.0, 16.0, 8192.0, 2.0**18, 2.0**22, 2.0**26):
                got = K.engine_kernel_cost(algo, s, n, P)
                assert got == pytest.approx(CR.engine_kernel_reference(p, _KIND[algo], s, n), rel=1e-12, abs=0)


@pytest.mark.parametrize("acc", _HW)
def test_engine_allreduce_equals_reference_with_library_fallback(acc):
    P, p = _named({"accelerator": acc, "nodes": 2})
    stacks = [s for s in _ROWS if s.endswith("rocm") == acc.startswith("MI")]
    for stack in stacks:
        E = serving.engine_allreduce_rule(stack)
        for n, k in ((2, 2), (4, 4), (8, 8), (16, 8), (8, 4)):
            for s in (16.0, 8192.0, 2.0**19, 2.0**22, 2.0**24, 2.0**27):
                t, a = K.engine_allreduce(E, s, n, k, P)
                tr, kind = CR.engine_allreduce_reference(p, _ROWS[stack], s, n, k)
                assert t == pytest.approx(tr, rel=1e-9), (stack, n, k, s)
                assert _KIND.get(int(a), "library") == kind
                if kind == "library":  # the library's own choice, to the bit
                    assert t == K.best_collective(K.OP_ALL_REDUCE, np.int64(-1), s, n, k, P)[0]


@pytest.mark.parametrize("acc", _HW)
def test_one_and_two_shot_grow_with_the_message(acc):
    P, _p = _named({"accelerator": acc, "nodes": 1})
    sizes = np.geomspace(16.0, 2.0**28, 60)
    for algo in (K.ALG_ONESHOT, K.ALG_TWOSHOT):
        for n in (2, 4, 6, 8):
            t = [K.engine_kernel_cost(algo, s, n, P) for s in sizes]
            assert all(b > a for a, b in zip(t, t[1:], strict=False)), (algo, n)
            assert all(math.isfinite(x) and x > 0 for x in t)


@pytest.mark.parametrize("acc", _HW)
def test_two_shot_moves_less_than_one_shot_beyond_two_ranks(acc):
    # 2(n-1)/n·S against (n-1)·S per GPU: for a large message two-shot is faster at n > 2;
    # a tiny one pays two more hops
    P, _p = _named({"accelerator": acc, "nodes": 1})
    for n in (4, 6, 8):
        assert K.engine_kernel_cost(K.ALG_TWOSHOT, 2.0**26, n, P) < K.engine_kernel_cost(K.ALG_ONESHOT, 2.0**26, n, P)
        assert K.engine_kernel_cost(K.ALG_TWOSHOT, 16.0, n, P) > K.engine_kernel_cost(K.ALG_ONESHOT, 16.0, n, P)


def test_engine_algorithms_are_outside_the_library_choice():
    assert K.ALG_ONESHOT >= K.N_ALGOS and K.ALG_TWOSHOT >= K.N_ALGOS
    P, _p = _named({"accelerator": "H200-SXM", "nodes": 1})
    for s in (16.0, 8192.0, 2.0**20, 2.0**26):
        assert K.best_collective(K.OP_ALL_REDUCE, np.int64(-1), s, 8, 8, P)[1] < K.N_ALGOS


def _tp8(engine, acc):
    return il.Scenario.from_dict({
        "name": "t", "model": {"preset": "llama3.3-70b"},
        "hardware": {"accelerator": acc, "nodes": 1, "gpus_per_node": 8},
        "serving": {"engine": engine, "tp": 8, "weight_precision": "fp8", "concurrency": 16,
                    "input_tokens": 1000, "output_tokens": 1000}})


@pytest.mark.parametrize(("engine", "acc"), [("vllm", "H200-SXM"), ("trt-llm", "H200-SXM"), ("atom", "MI355X"),
                                             ("sglang", "MI300X")])
def test_serving_prices_tp_all_reduces_with_the_engine_kernels(engine, acc):
    from infra_lab._kernels import serving as KS

    sc = _tp8(engine, acc)
    assert sc.stack in _ROWS
    k = il.serve(sc)
    r = il.serve(sc, reference=True)
    assert k.tpot_s == pytest.approx(r.tpot_s, rel=1e-9)
    bk = dict(zip(k.breakdown["component"], k.breakdown["seconds"], strict=True))
    br = dict(zip(r.breakdown["component"], r.breakdown["seconds"], strict=True))
    assert bk["tp_comm"] == pytest.approx(br["tp_comm"], rel=1e-9) and bk["tp_comm"] > 0
    # the same inputs without the engine's rule price every all-reduce through the library:
    # at these decode sizes the engines' kernels are faster on every part here
    sv = sc.serving
    p = il.stacks.params(sc.stack)
    with_rule = serving.serving_inputs(sc.model_spec, sc.hardware, p, [sv.tp], [sv.tp], stack=sc.stack)
    without = serving.serving_inputs(sc.model_spec, sc.hardware, p, [sv.tp], [sv.tp], stack=None)
    assert with_rule.H[KS.H_EAR + K.E_ON] == 1.0 and without.H[KS.H_EAR + K.E_ON] == 0.0
    cfg = serving._cfg_row(sv)[None, :]
    a = serving._run(cfg, with_rule)[0, KS.N_RES + KS.B_TP_COMM]
    b = serving._run(cfg, without)[0, KS.N_RES + KS.B_TP_COMM]
    assert 0 < a < b


def test_early_stacks_keep_the_library_all_reduce():
    from infra_lab._kernels import serving as KS

    sc = _tp8("vllm", "H200-SXM")
    p = il.stacks.params("vllm-cuda-early")
    inp = serving.serving_inputs(sc.model_spec, sc.hardware, p, [8], [8], stack="vllm-cuda-early")
    assert not inp.H[KS.H_EAR:].any()


def test_rule_refuses_a_non_name():
    with pytest.raises(il.errors.ValidationError, match="stack"):
        serving.engine_allreduce_rule(8)
