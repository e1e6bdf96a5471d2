"""il.serve_search's public surface against il.serve's and il.search's.

Before: the search frame had no total_tokens_per_s_per_gpu though ServeResult reports it (and
core.py divided total_tokens_per_s by the GPUs itself, a second owner); ``il.serve_search(sc,
tp=[3])`` raised Python's own TypeError, where il.search names the unknown constraint, the
value and the nearest name."""

from __future__ import annotations

import warnings

import polars as pl
import pytest

import infra_lab as il
from infra_lab import cli
from infra_lab._kernels import serving as K
from infra_lab.errors import SearchEdgeWarning, UnknownNameError

SC = {"model": {"preset": "llama3.3-70b"},
      "hardware": {"accelerator": "H200", "nodes": 1, "gpus_per_node": 8},
      "serving": {"engine": "vllm", "tp": 8, "input_tokens": 1024, "output_tokens": 1024}}


def test_search_frame_has_total_tokens_per_s_per_gpu_equal_to_serve():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SearchEdgeWarning)   # one concurrency on purpose
        df = il.serve_search(SC, top=None, pareto=False, concurrencies=[64], weight_precisions=["bf16"],
                             kv_precisions=["bf16"])
    assert "total_tokens_per_s_per_gpu" in df.columns
    row = df.filter((pl.col("tp") == 8) & (pl.col("dp") == 1)).row(0, named=True)
    r = il.serve(il.Scenario.from_dict(SC).replace(serving={"concurrency": 64, "num_prompts": None}))
    assert row["total_tokens_per_s_per_gpu"] == pytest.approx(r.total_tokens_per_s_per_gpu, rel=1e-12)
    assert r.total_tokens_per_s_per_gpu == pytest.approx(r.total_tokens_per_s / r.gpus, rel=1e-12)
    assert (df["total_tokens_per_s_per_gpu"] * df["gpus"] - df["total_tokens_per_s"]).abs().max() < 1e-6


def test_total_tokens_per_s_per_gpu_is_an_objective_of_the_search_and_the_cli():
    assert "total_tokens_per_s_per_gpu" in il.serving.OBJECTIVES
    assert "total_tokens_per_s_per_gpu" in cli.SERVE_OBJECTIVES
    df = il.serve_search(SC, objective="total_tokens_per_s_per_gpu", top=5)
    v = df["total_tokens_per_s_per_gpu"].to_list()
    assert v == sorted(v, reverse=True) and df.height == 5


def test_kernel_and_reference_agree_on_total_tokens_per_s_per_gpu():
    sc = il.Scenario.from_dict(SC).replace(serving={"concurrency": 32, "num_prompts": None})
    r = il.serve(sc)
    ref = il.serve(sc, reference=True)
    assert ref.total_tokens_per_s_per_gpu == pytest.approx(r.total_tokens_per_s_per_gpu, rel=1e-9)
    assert K.OUT_NAMES[K.O_TOTAL_TPS_GPU] == "total_tokens_per_s_per_gpu"


def test_unknown_keyword_names_the_field_value_nearest_name_and_allowed():
    with pytest.raises(UnknownNameError) as e:
        il.serve_search(SC, tp=[3])
    msg = str(e.value)
    assert "'tp'" in msg and "[3]" in msg and "Did you mean 'top'?" in msg
    assert "concurrencies" in msg and "weight_precisions" in msg and "is searched" in msg
    with pytest.raises(UnknownNameError, match=r"Did you mean 'objective'\?"):
        il.serve_search(SC, objectve="ttft_s")
    # il.search refuses an unknown constraint through the same helper (errors.unknown)
    with pytest.raises(UnknownNameError, match="Did you mean"):
        il.search(il.load_scenario("zaya1-ibm-mi300x"), tpp=[2])
