"""Public-API gaps closed in session 42 (docs/bad-inputs.md "session 42 (api)"): each test failed
before its fix."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from polars.testing import assert_frame_equal

import infra_lab as il
from infra_lab import cli
from infra_lab.errors import ValidationError

HW = {"accelerator": "MI300X", "nodes": 1, "nic": "Pollara-400"}
WHOLE = "expected a whole number of bytes"

ENTRY_POINTS = [
    (lambda s: il.collective("all_reduce", s, HW, 8), "size_bytes"),
    (lambda s: il.collectives.lower_bound("all_reduce", s, HW, 8), "size_bytes"),
    (lambda s: il.collectives.algorithm_table("all_reduce", s, HW, 8), "size_bytes"),
    (lambda s: il.collectives.sweep("all_reduce", [1024, s], HW, 8), "size_bytes"),
    (lambda s: il.fabric.step_flows("ring", HW, s), "size_bytes"),
    (lambda s: il.serving.engine_allreduce_kernel("vllm-cuda", 8, s), "message_bytes"),
]


# 1. one owner for a message size: Python takes a computed size, the CLI a typed byte count -------
@pytest.mark.parametrize("call, field", ENTRY_POINTS)
def test_a_computed_size_need_not_be_whole_bytes_in_python(call, field):
    """A size computed in Python (7e9 x 2 / 3 B, the comm table's mean bytes_per_call) is priced
    as given at every entry point, integral floats and numpy numbers included."""
    for good in (7e9 * 2 / 3, 1000.5, np.float64(2**20 + 0.25), 1e9, 2**20, np.int64(4096),
                 np.float32(8192.0), np.array(65536)):
        call(good)


def test_a_fractional_size_is_priced_between_the_whole_sizes_either_side():
    mid = il.collective("all_reduce", 1e6 + 0.5, HW, 8).time_s
    lo, hi = (il.collective("all_reduce", s, HW, 8).time_s for s in (1e6, 1e6 + 1))
    assert lo <= mid <= hi and lo < hi


@pytest.mark.parametrize("call, field", ENTRY_POINTS)
def test_every_message_size_entry_point_refuses_a_negative_or_non_finite_size(call, field):
    for bad in (-1.0, float("nan"), float("inf")):
        with pytest.raises(ValidationError) as e:
            call(bad)
        assert str(e.value).startswith(f"{field} = {bad!r}: expected a finite number of bytes"), str(e.value)
    with pytest.raises(ValidationError, match="a size with a unit is read by the CLI only"):
        call("8 GB")


def test_the_cli_refuses_a_typed_size_that_is_not_whole_bytes(capsys):
    """The CLI's SIZE is typed text: the same owner with its whole-byte rule, quoting the text
    typed and the bytes it reads as."""
    with pytest.raises(cli.CliError) as e:
        cli.parse_size("1.0001KiB")
    assert str(e.value) == ("size '1.0001KiB' = 1,024.1 bytes: expected a whole number of bytes >= 0 "
                            "(nccl-tests' sizes are byte counts), e.g. 1,025 or 1GiB")
    assert cli.parse_size("1.5KB") == il.collective("all_reduce", 1500.0, HW, 8).size_bytes == 1500.0
    assert cli.main(["collective", "all_reduce", "0.5", "--accelerator", "MI300X", "--gpus", "8"]) == 1
    assert WHOLE in capsys.readouterr().err


# 2. il.search's kept working buffers can be released ----------------------------------------
def test_search_buffers_clear_releases_the_kept_memory_and_the_next_search_is_identical():
    sc = il.load_scenario("zaya1-ibm-mi300x")
    first = il.search(sc, top=None, feasible_only=False, max_micro_batch=2)
    info = il.training.search_buffers_info()
    assert info["plans"] >= first.height > 0 and info["bytes"] >= 160 * first.height
    assert info["max_bytes"] == il.training.WORK_KEEP_MAX_BYTES
    released = il.training.search_buffers_clear()
    assert released == info["bytes"]
    assert il.training.search_buffers_info() == {"plans": 0, "bytes": 0, "max_bytes": info["max_bytes"]}
    assert il.training.search_buffers_clear() == 0          # nothing left to release
    again = il.search(sc, top=None, feasible_only=False, max_micro_batch=2)
    assert_frame_equal(first, again)
    assert il.training.search_buffers_info()["bytes"] == released   # kept again for the next call
    assert isinstance(first, pl.DataFrame)


# 3. the pipeline rows of the training communication table carry a count and its unit -------------
_HW4 = {"accelerator": "MI300X", "nodes": 4, "nic": "Pollara-400"}


@pytest.mark.parametrize("parallelism", [
    {"tp": 4, "pp": 2, "sequence_parallel": True},                 # plain 1F1B across nodes
    {"tp": 2, "pp": 4, "vp": 2, "sequence_parallel": True},        # interleaved: a ring row too
])
def test_pipeline_rows_have_calls_per_step_as_their_count(parallelism):
    """calls and calls_per were null on the pipeline rows; they are the count the step prices,
    per "step (transfers waited for)" (not "step": calls x bytes is not their traffic), and
    Σ calls x time_per_call_s stays the raw pp_p2p (the estimate with pp_p2p_overlap at 0)."""
    sc = il.Scenario.from_dict({"model": {"preset": "llama3-8b"}, "hardware": _HW4,
                                "training": {"seq_len": 4096, "global_batch": 64, "micro_batch": 1},
                                "parallelism": parallelism})
    rows = il.training.collectives(sc).filter(dimension="pp")
    assert rows.height >= 1
    assert rows["calls"].null_count() == 0 and rows["calls_per"].to_list() == [il.training.PP_CALLS_PER] * rows.height
    assert rows["calls"].to_list() == rows["calls_per_step"].to_list()
    raw = dict(il.estimate(sc, params={"pp_p2p_overlap": 0.0}).breakdown.iter_rows())["pp_p2p"]
    assert (rows["calls"] * rows["time_per_call_s"]).sum() == pytest.approx(raw, rel=1e-12)
    assert il.training.collectives(sc).filter(calls_per="step", dimension="pp").height == 0


# 4. the all-in capex has a name no input shares -------------------------------------------------
def test_all_in_capex_has_its_own_name_and_the_old_one_still_works():
    """OwnedCost.capex_usd_per_gpu (and ProviderView's) is the whole capex per GPU, while the
    input of that name is the GPU alone; all_in_capex_usd_per_gpu names the all-in figure (the
    same value, the old field kept) and the printouts show it under that name only."""
    E = il.economics
    c, pv = E.owned_cost_per_gpu_hour("MI300X"), E.provider_view()
    gpu_alone = E.parameter("capex_usd_per_gpu", "MI300X")
    for r in (c, pv):
        assert r.all_in_capex_usd_per_gpu == r.capex_usd_per_gpu > gpu_alone
        lines = str(r).splitlines()
        shown = [ln for ln in lines if ln.startswith("  all_in_capex_usd_per_gpu ")]
        assert len(shown) == 1 and f"{r.capex_usd_per_gpu:,.0f} USD per GPU" in shown[0], lines
        assert not any(ln.startswith("  capex_usd_per_gpu ") for ln in lines), lines
    assert E.owned_cost_per_gpu_hour("MI300X", capex_usd_per_gpu=gpu_alone) == c    # the input: the GPU alone
