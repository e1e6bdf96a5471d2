"""The V schedules' (ZBV, V-Half, V-Min) layer-to-chunk assignment against the libraries that run
them, and the per-chunk replay end to end (estimate, plain-Python reference, search) on layouts
whose two chunks of a rank differ: layer counts that 2·pp does not divide, a dense/MoE boundary
inside a chunk (DeepSeek-V3's dense-first layers), the multi-token-prediction modules with the
output layer, the block method's recompute_num_layers per chunk, chunks with no layer (the
embedding-only and loss-only chunks) and fewer micro-batches than ranks."""

from __future__ import annotations

import pytest

import infra_lab as il
from infra_lab import memory


def _layer_ranges(spec, pp, schedule):
    """{(rank, the rank's chunk 0 / 1): (first layer, layers)} from memory.pipeline_chunks."""
    out, start = {}, 0
    for ch in memory.pipeline_chunks(spec, pp, 2, schedule):
        n = len(ch["kinds"])
        out[ch["rank"], int(ch["chunk"] >= pp)] = (start, n)
        start += n
    return out


@pytest.mark.parametrize("schedule", memory.V_SCHEDULES)
def test_v_chunks_hold_the_layers_primus_and_torchtitan_give_them(schedule):
    """Layers divisible by 2·pp (what Megatron-Core / Primus require without a custom layout):
    rank r's first chunk (vp_stage 0) starts at layer r·n and its second (vp_stage 1) at
    L − n·(r + 1), n = L/(2·pp) — Primus' get_transformer_layer_offset under
    is_v_schedule_enabled (78633ae,
    https://github.com/AMD-AGI/Primus/blob/78633ae78a1e11cef081c3102971d6fb4da6e19f/primus/backends/megatron/core/transformer/transformer_layer.py#L163-L169);
    rank r holds stages (r, 2·pp − 1 − r) — torchtitan's _get_pp_rank_to_stage_indices_mapping
    for ScheduleZBVZeroBubble (b5bcd76,
    https://github.com/pytorch/torchtitan/blob/b5bcd76c66d0acb1a08b176d9639425bc55e0b2a/torchtitan/distributed/pipeline_parallel.py#L532-L567);
    the output layer on rank 0's second chunk — Primus' is_pipeline_last_stage: pipeline rank 0
    and vp_stage 1 (78633ae,
    https://github.com/AMD-AGI/Primus/blob/78633ae78a1e11cef081c3102971d6fb4da6e19f/primus/backends/megatron/core/parallel_state.py#L39-L53);
    the embedding on rank 0's first. Written from those formulas, not from memory.pipeline_chunks."""
    spec = il.models.get("llama2-7b")
    L = len(spec.layer_kinds())
    for pp in (2, 4, 8, 16):
        n = L // (2 * pp)
        assert n * 2 * pp == L
        ranges = _layer_ranges(spec, pp, schedule)
        stages = {}     # torchtitan's stage index of each (rank, chunk): model order of the chunks
        for c in memory.pipeline_chunks(spec, pp, 2, schedule):
            stages.setdefault(c["rank"], []).append(c["chunk"])
        st = memory.stage_layers(spec, pp, 2, schedule=schedule)
        for r in range(pp):
            assert ranges[r, 0] == (r * n, n)
            assert ranges[r, 1] == (L - n * (r + 1), n)
            assert tuple(stages[r]) == (r, 2 * pp - 1 - r)
            c0, c1 = st[r]["chunks"]
            assert (c0[2], c0[3], c1[2], c1[3]) == ((1, 0, 0, 1) if r == 0 else (0, 0, 0, 0))
            assert c0[0] + c0[1] == c1[0] + c1[1] == n


V_CASES = {
    # 29 layers on 8 chunks: 5 chunks of 4, 3 of 3 — ranks whose chunks hold 4 and 3
    "odd-layers-zbv": ({"preset": "llama3-8b", "layers": 29}, {"pp": 4}, "zbv", {"global_batch": 32}),
    # DeepSeek-V3 shape cut to 13 layers (3 dense, 10 MoE) with its MTP module: rank 0's first chunk
    # holds the dense layers, its second MoE layers, the output layer and the MTP module; the
    # block method re-runs the first layer of each chunk
    "dsv3-dense-first-v-half-rnl": ({"preset": "deepseek-v3", "layers": 13}, {"pp": 4, "ep": 2}, "v-half",
                                    {"global_batch": 32, "recompute": "full", "recompute_num_layers": 1}),
    "dsv3-pp2-v-min": ({"preset": "deepseek-v3", "layers": 7}, {"pp": 2, "ep": 4}, "v-min", {"global_batch": 16}),
    # 6 layers on 8 chunks: an embedding-only and a loss-only chunk, both on rank 0
    "empty-chunks-zbv": ({"preset": "llama3-8b", "layers": 6}, {"pp": 4}, "zbv", {"global_batch": 32}),
    # 8 ranks, 4 micro-batches (m < pp)
    "m-below-pp-zbv": ({"preset": "llama3-8b", "layers": 29}, {"pp": 8}, "zbv", {"global_batch": 4}),
}


def _v_scenario(model, par, schedule, tr):
    return il.Scenario.from_dict({
        "name": "v-chunks", "model": model,
        "hardware": {"accelerator": "MI300X", "nodes": 1, "gpus_per_node": 8},
        "training": {"seq_len": 2048, "micro_batch": 1, "precision": "bf16", "stack": "megatron-core-rocm", **tr},
        "parallelism": {"tp": 1, "vp": 2, "pp_schedule": schedule, **par}})


@pytest.mark.parametrize("case", list(V_CASES))
def test_v_estimate_equals_the_reference_with_unequal_chunks(case):
    """The step kernel (each chunk of a rank at its own times, the second the rank less the first)
    equals the plain-Python reference (which walks each first chunk's layers itself and
    event-simulates the order with per-chunk times) on layouts where some rank's two chunks hold
    different layers — what the Llama-2-7B kernel-against-reference cases (32 layers, only rank 0's
    embedding and output layer apart) leave out."""
    from kernel_check import assert_estimate_equals_reference

    model, par, schedule, tr = V_CASES[case]
    sc = _v_scenario(model, par, schedule, tr)
    pp = sc.parallelism.pp
    st = memory.stage_layers(sc.model_spec, pp, 2, schedule=schedule,
                             recompute_num_layers=sc.training.recompute_num_layers)
    # the case exercises the split: a rank besides rank 0 whose chunks differ, or (no layers on
    # rank 0) an embedding-only and a loss-only chunk
    assert any(s["chunks"][0] != s["chunks"][1] for s in st[1:]) or st[0]["n_dense"] + st[0]["n_moe"] == 0
    est = assert_estimate_equals_reference(sc)
    assert dict(est.breakdown.iter_rows())["pp_bubble"] > 0.0


def test_v_search_rows_price_as_estimate_with_unequal_chunks():
    """il.search over the V schedules on 29 layers (unequal chunks at pp 2, 4 and 8): sampled rows'
    step time and bubble are il.estimate's of the row's plan."""
    from infra_lab.training import apply_plan

    sc = _v_scenario({"preset": "llama3-8b", "layers": 29}, {"pp": 4}, "zbv", {"global_batch": 64})
    df = il.search(sc, pp_schedules=["zbv", "v-half", "v-min"], top=None, feasible_only=False, max_micro_batch=2,
                   max_vp=2)
    d = sc.to_dict()
    seen = set()
    for r in df.filter(df["pp"] > 1).sample(n=12, seed=3).iter_rows(named=True):
        est = il.estimate(il.Scenario.from_dict(apply_plan(d, r)))
        assert r["step_time_s"] == pytest.approx(est.step_time_s, rel=1e-9), r
        assert r["pp_bubble"] == pytest.approx(dict(est.breakdown.iter_rows())["pp_bubble"], rel=1e-9, abs=1e-15), r
        seen.add(r["pp"])
    assert len(seen) >= 2
