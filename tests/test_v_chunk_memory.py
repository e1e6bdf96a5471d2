"""The V schedules' (ZBV, V-Half, V-Min) activation memory per chunk: each of a rank's two chunks
holds its own number of in-flight micro-batches, read from the order the schedule runs
(``_kernels.pipeline_greedy.chunk_inflight_peaks``, ``memory.inflight_chunks``), and
``training_memory`` and the step kernel price each chunk's layers, embedding and output layer at
its own count."""

from __future__ import annotations

import random

import numpy as np
import pytest

import infra_lab as il
from infra_lab import memory
from infra_lab._kernels import pipeline_greedy as pg
from infra_lab._kernels import pipeline_greedy_reference as ref
from infra_lab._kernels.memory import v_chunk_peak


def _trajectory(p, m, schedule):
    """{rank: [(n0, n1) after each pass]} from the plain-Python reference orders: F +1 on its
    chunk, W −1, B 0 (Primus' memory_delta)."""
    out = {}
    for r, ops in ref.order(p, m, schedule).items():
        n, pts = [0, 0], []
        for kind, chunk, _ in ops:
            n[chunk] += {"F": 1, "B": 0, "W": -1}[kind]
            pts.append(tuple(n))
        out[r] = pts
    return out


CASES = [(s, p, m) for s in memory.V_SCHEDULES for p in (2, 3, 4, 5, 6, 8)
         for m in sorted({1, max(1, p - 1), p, 2 * p - 1, 2 * p, 3 * p + 1, 40})]


@pytest.mark.parametrize("schedule,p,m", CASES)
def test_chunk_peaks_are_the_ends_of_each_ranks_peak(schedule, p, m):
    """memory.inflight_chunks (the kernel's scan of the replayed program) against a walk of the
    reference order: the two ends of the points with the most chunk-forwards, and every point is
    dominated by one on that maximum, so that for any per-micro-batch bytes of the two chunks the
    larger end is the rank's peak (checked against the walk's own maximum at random bytes)."""
    rng = random.Random(p * 1000 + m)
    ends = memory.inflight_chunks(p, m, schedule)
    for r, pts in _trajectory(p, m, schedule).items():
        top = max(a + b for a, b in pts)
        on_top = [q for q in pts if sum(q) == top]
        a = max(on_top, key=lambda q: (q[0], -q[1]))
        b = max(on_top, key=lambda q: (q[1], -q[0]))
        assert ends[r] == ((float(a[0]), float(a[1])), (float(b[0]), float(b[1]))), (r, pts)
        for _ in range(20):
            s0, s1 = rng.uniform(0, 3), rng.uniform(0, 3)
            n0, n1 = v_chunk_peak(*ends[r][0], *ends[r][1], s0, s1)
            assert n0 * s0 + n1 * s1 == pytest.approx(max(x * s0 + y * s1 for x, y in pts), rel=1e-12)


def test_zbv_rank_split_follows_the_formatted_table():
    """Hand-derived from Primus' ScheduleZBVFormatted (zbv_formatted.py at 78633ae: 2(p − r) − 1
    chunk-0 forwards, r pairs (F1, F0), p − r pairs (F1, B1 W1), then F0, B0 W0, F1, B1 W1 per
    micro-batch): with m >= 2p rank r peaks at 2p chunk-forwards, (2p − r, r) or (2p − 1 − r, r + 1).
    Rank 0 keeps nearly all on its first chunk, one on its second (the loss turns each chunk-1
    forward into its backward at once). The old per-rank count, pp rank-micro-batches on both chunks
    alike, held the same total but an even split."""
    for p in (2, 4, 8):
        ends = memory.inflight_chunks(p, 4 * p, "zbv")
        for r in range(p):
            assert ends[r] == ((2.0 * p - r, float(r)), (2.0 * p - 1 - r, r + 1.0))
            assert sum(ends[r][0]) == 2 * memory.inflight_microbatches(p, 2, schedule="zbv")


def test_inflight_totals_match_the_closed_forms_with_enough_micro_batches():
    """n0 + n1 at the peak is 2× the closed-form count of Qi et al. 2024 (ZBV pp, V-Half
    ⌊(pp + 2)/2⌋, V-Min ⌊(pp + 4)/3⌋ rank-micro-batches, https://arxiv.org/abs/2405.15362) on
    every rank once m >= 2·pp; below that the order holds fewer on some ranks."""
    for s in memory.V_SCHEDULES:
        for p in (2, 3, 4, 5, 6, 7, 8, 12):
            want = 2 * memory.inflight_microbatches(p, 2, schedule=s)
            assert all(sum(a) == want for a, _ in memory.inflight_chunks(p, 2 * p, s)), (s, p)
    # ZBV with m = pp: rank 0 holds pp + 1 chunk-forwards (pp on chunk 0, 1 on chunk 1), not 2·pp
    assert memory.inflight_chunks(4, 4, "zbv")[0] == ((4.0, 1.0), (4.0, 1.0))


def _sc(layers, pp, gbs, schedule="zbv", **tr):
    return il.Scenario.from_dict({
        "name": "v-mem", "model": {"preset": "llama3-8b", "layers": layers},
        "hardware": {"accelerator": "MI300X", "nodes": 1, "gpus_per_node": 8},
        "training": {"seq_len": 2048, "micro_batch": 1, "global_batch": gbs, "precision": "bf16",
                     "stack": "megatron-core-rocm", **tr},
        "parallelism": {"tp": 1, "pp": pp, "vp": 2 if schedule != "1f1b" else 1, "pp_schedule": schedule}})


def _component(sc, name, **kw):
    df = il.memory.training_memory(sc, **kw)
    return float(df.filter(df["component"] == name)["bytes"][0])


def test_zbv_pp2_rank1_holds_seven_layer_micro_batches():
    """5 layers on 4 chunks (sizes 1, 2, 1, 1: the extra layer on the chunk nearest the middle),
    pp 2, dp 4, global batch 16: m = 4. Rank 1 holds chunks 1 (2 layers) and 2 (1 layer). Walking
    Primus' formatted ZBV table for rank 1 (r = 1, p = 2): F0 → (1, 0); F1, F0 → (1, 1), (2, 1);
    F1, B1, W1 → (2, 2), (2, 1); then per micro-batch F0 → (3, 1), B0 W0 → (2, 1), F1 → (2, 2),
    B1 W1 → (2, 1): the peak is 4 chunk-forwards, (3, 1) or (2, 2), i.e. 3·2 + 1·1 = 7 or
    2·2 + 2·1 = 6 layer-micro-batches: 7. The old count, 2 micro-batches on the rank's 3 layers,
    gave 6. One layer's bytes per micro-batch from 1F1B at the same shape (rank 1 of 1F1B holds
    one micro-batch of its 2 layers)."""
    spec = _sc(5, 2, 16).model_spec
    assert [len(c["kinds"]) for c in memory.pipeline_chunks(spec, 2, 2, "zbv")] == [1, 2, 1, 1]
    assert memory.inflight_chunks(2, 4, "zbv")[1] == ((3.0, 1.0), (2.0, 2.0))
    one_layer = _component(_sc(5, 2, 16, "1f1b"), "activations", pipeline_rank="last") / 2
    got = _component(_sc(5, 2, 16), "activations", pipeline_rank="last")
    assert got == pytest.approx(7 * one_layer, rel=1e-12)
    df = il.memory.training_memory(_sc(5, 2, 16), pipeline_rank="last")
    assert "x 3 + 1 in-flight" in df.filter(df["component"] == "activations")["note"][0]


def test_embedding_dropout_masks_count_the_first_chunks_micro_batches():
    """Rank 0 of ZBV (pp 2, m 4) keeps its embedding's 1-byte dropout masks for every micro-batch
    its first chunk holds: the end (4, 0) of its peak (its two chunks hold one layer each, the
    first also the masks), 4 masks of tokens × hidden bytes, where the per-rank count gave 2."""
    sc = _sc(6, 2, 16)
    assert memory.inflight_chunks(2, 4, "zbv")[0] == ((4.0, 0.0), (3.0, 1.0))
    tok_h = 2048 * 1 * sc.model_spec.hidden
    on = _component(sc, "embedding_and_head_activations", pipeline_rank="first", dropout=True)
    off = _component(sc, "embedding_and_head_activations", pipeline_rank="first", dropout=False)
    assert on - off == pytest.approx(4 * tok_h, rel=1e-12)


@pytest.mark.parametrize("layers,pp,gbs,schedule", [(5, 2, 16, "zbv"), (11, 4, 8, "v-min"), (13, 4, 64, "v-half")])
def test_estimate_memory_equals_training_memory_with_per_chunk_counts(layers, pp, gbs, schedule):
    """The step kernel (each chunk at its own count on the ranks whose chunks differ) equals
    il.memory.training_memory and the plain-Python reference step on V layouts with unequal
    chunks (5 layers on 4 chunks, m 4; 11 layers on 8, m 4; 13 layers on 8, m 32)."""
    from kernel_check import assert_estimate_equals_reference

    sc = _sc(layers, pp, gbs, schedule)
    st = memory.stage_layers(sc.model_spec, pp, 2, schedule=schedule)
    assert any(s["chunks"][0][:2] != s["chunks"][1][:2] for s in st)
    assert_estimate_equals_reference(sc)


def test_chunk_inflight_peaks_of_a_deadlocked_order_stop_at_its_last_pass():
    """A compact program whose order deadlocks has rows of −1 after its last runnable pass: the
    scan stops there (a rank with no pass keeps zeros)."""
    cprog = np.full((3 + 2, pg.COMPACT_COLS), -1, np.int32)
    cprog[0] = (-1, -1, 0)     # rank 0, chunk 0, F
    cprog[3] = (0, 1, 0)       # trailer: rank 0's last pass is row 0; deadlocked
    cprog[4] = (-1, 1, 0)
    out = np.full((2, pg.COMPACT_COLS), 7, np.int32)
    pg.chunk_inflight_peaks(cprog, 2, out)
    assert out.tolist() == [[1, 0, 0], [0, 0, 0]]


def test_inflight_chunks_refuses_other_schedules():
    with pytest.raises(il.ValidationError, match="allowed 'zbv', 'v-half', 'v-min'"):
        memory.inflight_chunks(4, 8, "interleaved")
