"""A user's pass over docs/ARCHITECTURE.md's contract: each case is a documented behaviour
that the code did not keep (each test failed before its fix)."""

from __future__ import annotations

import json
import tomllib

import numpy as np
import pytest

import infra_lab as il

LLAMA = {"preset": "llama3-8b"}


def test_numpy_bools_are_stored_as_python_bools_and_write_to_toml():
    # "from_dict(tomllib.loads(sc.to_toml())) == sc holds for every valid scenario", and numpy
    # scalars are read as Python values: an np.bool_ flag (a polars/numpy grid's value) was
    # kept as np.True_, and to_toml refused the scenario ("'bool' is not TOML serializable")
    t = np.True_
    sc = il.Scenario.from_dict({
        "name": "np-flags", "model": LLAMA,
        "hardware": {"accelerator": "H100", "sharp": np.False_, "pxn": t},
        "training": {"eager": t, "loss_fusion": t, "loss_compiled": t, "moe_host_sync": np.False_,
                     "fp8_param_gather": np.False_, "sac_recompute_attention": np.False_,
                     "pp_free_stage_buffers": np.False_, "gradient_accumulation_fusion": t},
        "parallelism": {"tp": np.int64(2), "sequence_parallel": t, "fsdp": np.False_, "ep_overlap": np.False_,
                        "tp_async": t, "dualpipe": np.False_, "cp_repeat_kv": np.False_},
    })
    d = sc.to_dict()
    for table in ("hardware", "training", "parallelism"):
        for key, value in d[table].items():
            assert type(value).__module__ != "numpy", f"{table}.{key} = {value!r}"
    assert il.Scenario.from_dict(tomllib.loads(sc.to_toml())) == sc
    assert il.Scenario.from_dict(json.loads(json.dumps(d))) == sc


def test_serve_search_edge_objectives_are_importable_where_the_contract_names_them():
    # the contract's serve_search line: SearchEdgeWarning "when ... the objective is throughput
    # or $ per token: il.serving.EDGE_OBJECTIVES"; only il.serving.search held the name
    assert set(il.serving.EDGE_OBJECTIVES) <= set(il.serving.OBJECTIVES)
    assert "EDGE_OBJECTIVES" in il.serving.__all__
    assert "ttft_s" not in il.serving.EDGE_OBJECTIVES and "output_tokens_per_s" in il.serving.EDGE_OBJECTIVES
