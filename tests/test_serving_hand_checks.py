"""Hand checks of the serving model (il.serve) and of the collectives (il.collective):
tools/serving_hand_checks_report.py works out each hand figure from the inputs (shapes counted
there, catalog HBM / link / peak figures, the measured scale-up efficiency, the library's latency
tables, the stack's named factors), not by calling the serving model's pieces; here each is held
to its tolerance (the decode GEMMs above the row padding also to a quarter of the gap the old
composition left, entry 24 of docs/serving-history.md), and
docs/serving.md's generated table is held to the tool's output."""

from __future__ import annotations

import functools
from pathlib import Path

import pytest
from script_module import load_script

import infra_lab as il
from infra_lab import compute

ROOT = Path(__file__).resolve().parents[1]


def _tool():
    return load_script("tools/serving_hand_checks_report.py")


@functools.cache
def _rows() -> tuple[dict, ...]:
    return tuple(_tool().rows())


def test_there_are_checks_of_serving_and_of_the_collectives():
    names = [r["check"] for r in _rows()]
    assert len(names) == len(set(names)) >= 12
    assert sum("all-reduce" in n or "all-to-all" in n or "all-gather" in n for n in names) >= 6


@pytest.mark.parametrize("i", range(len(_tool().CHECKS)))
def test_the_model_matches_the_hand_figure(i):
    """Each hand figure within its tolerance: exact (1e-9, 1e-6 or 0 requests) where the model
    composes the same physics (KV capacity, MLA bytes, the collectives); 1 % where the hand
    leaves out a small modelled effect (activations read beside the weights, the mean step's
    rare one-token prompt chunk, the prefill forward's LM head, each stated in the row)."""
    r = _rows()[i]
    assert r["model"] == pytest.approx(r["hand"], rel=r["tol"], abs=0 if r["tol"] else 1e-12), r["how"]


def test_decode_gemms_above_the_row_padding_read_at_the_stacks_rate():
    """Above the decode row padding (64 rows on H100) a memory-bound GEMM reads its weights and
    activations at the stack's rate, as below it (Llama 3 70B FP8, 128 requests, MLP GEMMs;
    vllm-cuda's memory_time_scale at the floor: HBM peak). Before 2026-12-07
    (docs/serving-history.md entry 24) it read them at compute.hbm_efficiency (0.906 on H100)
    x gemm_time_scale: 1.07 x the hand figure with activations, 1.140 x the weights alone. The
    check holds the row to a quarter of that gap."""
    r = next(x for x in _rows() if "128 requests: MLP GEMMs" in x["check"])
    eff = compute.hbm_efficiency("H100-SXM")
    assert abs(r["model"] / r["hand"] - 1.0) < (1.0 / eff - 1.0) / 4, r["how"]


def test_no_gemm_pays_the_fixed_time_per_kernel_twice():
    """The serving model adds the compute model's fixed time per kernel once per GEMM (x the
    stack's kernel_fixed_scale), so a GEMM whose compute term wins does not pay it again inside
    the efficiency it reads: with kernel_fixed_scale 0, one more 2,048-token prefill piece of a
    static batch (4,096 against 2,048 prompt tokens, chunk 2,048; the decode step is the same)
    adds the compute model's times of its attention GEMMs less their fixed time, exactly, in
    the kernel and in the reference. (Before 2026-12-07 it added them with it.)"""
    spec = il.models.get("llama3-8b")
    h, H, KV, d = spec.hidden, spec.heads, spec.kv_heads, spec.head_dim
    t = compute.gemm_times([2048] * 2, [(H + 2 * KV) * d, h], [h, H * d], "H100-SXM", "bf16")
    fixed = compute.gemm_model("H100-SXM", "bf16").fixed_s
    p = dict(il.stacks.params("vllm-cuda"), kernel_fixed_scale=0.0)

    def attention_gemm(prompt: int, ref: bool) -> float:
        sc = il.Scenario.from_dict({"name": "fixed", "model": "llama3-8b",
                                    "hardware": {"accelerator": "H100-SXM", "nodes": 1, "gpus_per_node": 1},
                                    "serving": {"engine": "vllm", "tp": 1, "concurrency": 1, "input_tokens": prompt,
                                                "output_tokens": 2, "batching": "static", "chunk_tokens": 2048}})
        return dict(il.serve(sc, stack_params=p, reference=ref).breakdown.select("component", "seconds")
                    .iter_rows())["attention_gemm"]

    for ref in (False, True):
        piece = attention_gemm(4096, ref) - attention_gemm(2048, ref)
        assert piece == pytest.approx(spec.layers * (float(t.sum()) - 2 * fixed), rel=1e-9)


def test_one_shot_all_reduce_is_chosen_for_decode_sizes_and_beats_the_library_on_h100():
    """The engine's own one-shot kernel takes a 128 KiB TP all-reduce at tp 8 (below vLLM's
    256 KiB two-shot threshold) and is faster than NCCL's ring/LL there; on MI300X RCCL's
    MSCCL all-pairs program is about as fast."""
    h100 = next(r for r in _rows() if r["check"].startswith("vLLM one-shot") and "H100" in r["check"])
    assert "ring/LL" in h100["how"]
    lib_us = float(h100["how"].split("the library's own: ")[1].split(" us")[0])
    assert h100["model"] < 0.75 * lib_us


def test_the_page_carries_the_tools_table():
    text = (ROOT / "docs" / "serving.md").read_text(encoding="utf-8")
    tool = _tool()
    a = text.index(tool.BEGIN)
    b = text.index(tool.END, a) + len(tool.END)
    assert text[a:b] == tool.block(list(_rows())), "run python tools/serving_hand_checks_report.py"
