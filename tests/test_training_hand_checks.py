"""Hand checks of the composed training step (il.estimate) on textbook plans:
tools/hand_checks_report.py computes each hand figure from the scenario's inputs (the model's
shapes, the catalog's scale-up bandwidth, one nccl-tests-convention collective, the stack's
named factors), not typed; here each is held to its tolerance, the counting behind them is
checked (per micro-batch against once per step), and docs/training.md's generated tables are
held to the tool's output."""

from __future__ import annotations

import functools
from pathlib import Path

import pytest
from script_module import load_script

import infra_lab as il

ROOT = Path(__file__).resolve().parents[1]


def _tool():
    return load_script("tools/hand_checks_report.py")


@functools.cache
def _row(name: str) -> dict:
    return getattr(_tool(), name)()


def test_dense_params_by_hand_are_the_models():
    """The hand count (Q, K, V, O, three SwiGLU matrices, two norms per layer; untied embedding
    and head; final norm) is the model's own total for Llama 3 70B and 8B."""
    tool = _tool()
    for name in ("llama3-70b", "llama3-8b"):
        spec = tool.scenario(name, 1, {"seq_len": 4096, "global_batch": 8}, {}).model_spec
        assert tool.dense_params(spec)[1] == spec.params_total


@pytest.mark.parametrize("name", ["fsdp_no_pp", "fsdp_under_pp", "zero1", "pure_dp_allreduce", "pure_dp_flops",
                                  "tp_all_reduces", "one_f_one_b_bubble", "moe_all_to_all"])
def test_the_model_matches_the_hand_figure(name):
    """Each textbook figure within its stated tolerance (1e-9 for a FLOP count, 1e-6 / 1e-3
    where the model composes the same collectives, 2-10 % where its buckets, the NVLS
    all-reduce or a stage's extra head weights differ from the whole-array textbook form)."""
    r = _row(name)
    assert r["tol"] is not None
    assert r["model"] == pytest.approx(r["hand"], rel=r["tol"]), r["how"]


def test_fsdp_without_pp_regathers_per_micro_batch_and_with_pp_once_per_step():
    """Lead a's question, how often per step: without PP the raw FSDP time is m = 512 times a
    micro-batch's two gathers and one reduce-scatter of every layer (torchtitan: reshard after
    forward without PP, backward per micro-batch with gradient sync on; Megatron-FSDP: a
    reduce-scatter every backward); under PP (torchtitan FSDP2 + pipelining) it is one gather
    and one reduce-scatter of the stage per step, so its raw time is below one micro-batch's
    worth of the per-micro-batch plan (per layer: 1 AG + 1 RS there against 2 AG + 1 RS)."""
    per_mb = _row("fsdp_no_pp")
    per_step = _row("fsdp_under_pp")
    m, layers = 512, 80
    one_micro_batch = per_mb["model"] / m
    assert per_step["model"] < one_micro_batch
    assert per_step["model"] > one_micro_batch * (layers // 2) / layers * 0.5   # a stage's 1 AG + 1 RS, not 0


def test_fsdp_impls_price_the_same_collectives_without_pp():
    """PyTorch FSDP2 and Megatron-FSDP both gather and reduce-scatter every micro-batch without
    PP: the raw DP time is the same count for both, each reduce-scatter in its implementation's
    dtype (Megatron-Core's FSDP2 path bf16, Megatron-FSDP's fp32 main gradients), so
    Megatron-FSDP's is the larger."""
    torch_, megatron = _row("fsdp_no_pp"), _tool().fsdp_no_pp("megatron")
    assert megatron["model"] == pytest.approx(megatron["hand"], rel=megatron["tol"]), megatron["how"]
    assert megatron["model"] > torch_["model"] * 1.2


def test_fsdp_exposed_time_is_at_or_above_its_perfect_overlap_bound():
    """The exposed FSDP time of lead a's plan is at least the perfect-overlap bound (gathers and
    reduce-scatters beyond the compute they can hide under) and at most the raw time."""
    r = _row("fsdp_exposed_bound")
    assert r["hand"] > 0
    assert r["hand"] <= r["model"] <= _row("fsdp_no_pp")["model"]


def test_zero1_beats_fsdp_on_two_nodes_by_the_fsdp_exposure():
    """On lead a's plan ZeRO-1 and FSDP share the compute and TP terms; the step times differ
    by the DP terms alone (ZeRO-1's sub-second once-per-step sync against FSDP's per-micro-batch
    exposure)."""
    tool = _tool()
    a = tool.LEAD_A
    z1 = il.estimate(tool.scenario(a["model"], 2, a["training"], {**a["parallelism"], "zero": 1}))
    z3 = il.estimate(tool.scenario(a["model"], 2, a["training"], {**a["parallelism"], "fsdp": True}))
    b1, b3 = dict(z1.breakdown.iter_rows()), dict(z3.breakdown.iter_rows())
    dp = ("dp_grad_comm", "dp_param_comm", "optimizer")
    for k in b1:
        if k not in dp:
            assert b1[k] == pytest.approx(b3[k], rel=1e-12), k
    assert z3.step_time_s - z1.step_time_s == pytest.approx(sum(b3[k] - b1[k] for k in dp), rel=1e-9)


def test_training_doc_hand_check_tables_are_current():
    tool = _tool()
    text = tool.DOC.read_text(encoding="utf-8")
    for begin, end, block in ((tool.BEGIN, tool.END, tool.block([_row(f.__name__) for f in tool.CHECKS])),
                              (tool.FP8_BEGIN, tool.FP8_END, tool.fp8_block())):
        a = text.index(begin)
        b = text.index(end, a) + len(end)
        assert text[a:b] == block, "docs/training.md is stale: run python tools/hand_checks_report.py"
