"""A benchmark row whose parallel layout was corrected after its train/test side was drawn keeps
that side: ``split_layout`` (data/measurements/serving_benchmarks.csv) holds the layout the side was
drawn under and stands in for the layout fields of il.serving.split_of's key, and nothing else.

The six TensorRT-LLM v1.0 Qwen3-235B rows were read as plain TP 8 and are now attention DP 8 with
EP 8 (docs/serving-history.md, entry 22); without the held layout their sides would be re-drawn
(the H200 1,000/1,000 row, the test split's worst before, would have moved to train)."""

from __future__ import annotations

import zlib

import polars as pl

import infra_lab as il
from infra_lab.serving import published as P


def _key(row: dict, layout: str) -> str:
    """The split key written out independently of split_of."""
    head = [str(row[k]) for k in ("source_key", "model", "accelerator", "engine")]
    tail = [str(row[k]) for k in ("weight_precision", "isl_nominal", "osl_nominal", "benchmark_mode")]
    return "|".join([*head, layout, *tail])


def _side(key: str) -> str:
    return "test" if zlib.crc32(key.encode()) % 3 == 0 else "train"


def test_held_layouts_are_layouts_that_differ_from_the_current_one():
    b = il.serving.benchmarks()
    held = b.filter(pl.col("split_layout").is_not_null())
    assert held.height == 6 and held["id"].str.starts_with("TRTPERF10-Q3-235B").all()
    for r in held.iter_rows(named=True):
        parts = r["split_layout"].split("|")
        assert len(parts) == len(P.SPLIT_LAYOUT)
        now = "|".join(str(r[k]) for k in P.SPLIT_LAYOUT)
        assert r["split_layout"] != now, r["id"]           # a held layout is one that was corrected


def test_split_of_uses_the_held_layout_and_only_for_the_layout():
    b = il.serving.benchmarks()
    for r in b.iter_rows(named=True):
        layout = r["split_layout"] or "|".join(str(r[k]) for k in P.SPLIT_LAYOUT)
        assert il.serving.split_of(r) == _side(_key(r, layout)), r["id"]
    sides = {r["id"]: il.serving.split_of(r) for r in b.iter_rows(named=True) if r["split_layout"]}
    assert sides == {
        "TRTPERF10-Q3-235B-B200-TP8-1000-1000": "train", "TRTPERF10-Q3-235B-H200-TP8-1000-1000": "test",
        "TRTPERF10-Q3-235B-H100-TP8-1000-1000": "train", "TRTPERF10-Q3-235B-B200-TP8-5000-500": "train",
        "TRTPERF10-Q3-235B-H200-TP8-5000-500": "train", "TRTPERF10-Q3-235B-H100-TP8-5000-500": "train"}
    # without the held layout the corrected rows would be re-drawn: the check can fail
    moved = [r["id"] for r in b.iter_rows(named=True) if r["split_layout"]
             and il.serving.split_of({**r, "split_layout": None}) != sides[r["id"]]]
    assert moved


def test_the_corrected_rows_run_attention_dp_with_expert_parallelism():
    b = il.serving.benchmarks().filter(pl.col("split_layout").is_not_null())
    assert b.select("tp", "ep", "dp", "pp", "dp_attention").unique().rows() == [(1, 8, 8, 1, True)]
    sc, over, why = il.serving._row_scenario(b.row(0, named=True))
    assert why == ""
    assert sc.serving.dp_attention and sc.serving.dp == 8 and sc.serving.ep == 8 and sc.serving.tp == 1
    # trtllm-bench sized max_batch_size with its --tp 8 (the attention ranks), as tuning.py does
    spec = sc.model_spec
    r = b.row(0, named=True)
    from infra_lab import catalog

    wb = catalog.format_bytes(sc.serving.weight_precision, scales=False)
    kvb = catalog.format_bytes(sc.serving.kv_precision, scales=False)
    frac = P._trtllm_bench_kv_fraction(r)
    bs8, _ = il.serving.trtllm_bench_settings(spec, sc.hardware.accelerator, 8, 1, r["input_tokens"],
                                              r["output_tokens"], wb, kvb, frac)
    assert over["max_num_seqs"] == bs8
