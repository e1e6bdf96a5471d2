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


# 1. a message size is a whole number of bytes at every entry point (il.collective timed 0.5 bytes
#    while the CLI refused it) -------------------------------------------------------------------
@pytest.mark.parametrize("call, field", [
    (lambda s: il.collective("all_reduce", s, HW, 8), "size_bytes"),
    (lambda s: il.collectives.lower_bound("all_reduce", s, HW, 8), "size_bytes"),
    (lambda s: il.collectives.algorithm_table("all_reduce", s, HW, 8), "size_bytes"),
    (lambda s: il.collectives.sweep("all_reduce", [1024, s], HW, 8), "size_bytes"),
    (lambda s: il.fabric.step_flows("ring", HW, s), "size_bytes"),
    (lambda s: il.serving.engine_allreduce_kernel("vllm-cuda", 8, s), "message_bytes"),
])
def test_every_message_size_entry_point_refuses_a_fraction_of_a_byte(call, field):
    for bad, whole in ((0.5, "1"), (1000.5, "1,001"), (np.float64(2**20 + 0.25), "1,048,577")):
        with pytest.raises(ValidationError) as e:
            call(bad)
        msg = str(e.value)
        assert msg.startswith(f"{field} = {float(bad)!r}: {WHOLE}"), msg
        assert f"e.g. {whole}" in msg, msg
    for good in (1e9, 2**20, np.int64(4096), np.float32(8192.0), np.array(65536)):
        call(good)                      # integral floats and numpy integers stay accepted


def test_the_cli_and_the_api_share_the_rule():
    """The CLI's SIZE reads its text and units, then applies the API's rule (one owner): the
    same words, the text typed and the bytes it reads as."""
    with pytest.raises(cli.CliError) as e:
        cli.parse_size("1.0001KiB")
    assert str(e.value) == ("size '1.0001KiB' = 1,024.1 bytes: expected a whole number of bytes >= 0 "
                            "(nccl-tests' sizes are byte counts), e.g. 1,025 or 1GiB (a modelled average "
                            "message: --fractional-bytes)")
    assert cli.parse_size("1.5KB") == il.collective("all_reduce", 1500.0, HW, 8).size_bytes == 1500.0


def test_the_cli_takes_a_modelled_message_with_fractional_bytes(capsys):
    """--fractional-bytes is il.collective's whole_bytes=False: the same time for 0.5 B."""
    import json

    assert cli.main(["collective", "all_reduce", "0.5", "--fractional-bytes", "--accelerator", "MI300X",
                     "--nic", "Pollara-400", "--gpus", "8", "--format", "json"]) == 0
    row = json.loads(capsys.readouterr().out)[0]
    want = il.collective("all_reduce", 0.5, HW, 8, whole_bytes=False)
    assert row["size_bytes"] == 0.5 and row["time_s"] == want.time_s
    assert cli.main(["collective", "all_reduce", "0.5", "--accelerator", "MI300X", "--gpus", "8"]) == 1
    assert "--fractional-bytes" in capsys.readouterr().err


def test_a_modelled_message_is_priced_with_whole_bytes_false():
    """The model's own average messages may be a fraction of a byte (il.training.collectives'
    bytes_per_call, a dense plan's 159,935,421.009 B gradient bucket): ``whole_bytes=False``
    prices them as the step kernel does, between the whole sizes either side; the default refuses
    them, naming the keyword's opposite rule."""
    mid = il.collective("all_reduce", 1e6 + 0.5, HW, 8, whole_bytes=False).time_s
    lo, hi = (il.collective("all_reduce", s, HW, 8).time_s for s in (1e6, 1e6 + 1))
    assert lo <= mid <= hi
    with pytest.raises(ValidationError, match="whole_bytes = 'no': expected True or False"):
        il.collective("all_reduce", 1e6, HW, 8, whole_bytes="no")
    for bad in (-1.0, float("nan")):
        with pytest.raises(ValidationError, match="size_bytes"):
            il.collective("all_reduce", bad, HW, 8, whole_bytes=False)


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
