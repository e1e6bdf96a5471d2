"""Six papercuts of a contract pass (December 2026), each with the behaviour it now has:
the CLI's --hardware file named in its errors, encoder_prefill's image_size named as the
argument, search constraints read as the Scenario reads integers, largest_model of one
accelerator, il.sweep of a function returning an Estimate, and `infra-lab serve --search
--no-pareto` (serve_search's pareto=False)."""

from __future__ import annotations

import csv
import dataclasses
import io

import numpy as np
import pytest
from polars.testing import assert_frame_equal

import infra_lab as il
from infra_lab import cli
from infra_lab.errors import UnknownNameError, ValidationError


def main(capsys, *args: str) -> tuple[int, str, str]:
    rc = cli.main(list(args))
    out = capsys.readouterr()
    return rc, out.out, out.err


# --------------------------------------------------------------------------- 1. --hardware FILE
def test_collective_hardware_file_error_names_the_file(tmp_path, capsys):
    """A misspelt key in the file given to `collective --hardware` was reported as
    "unknown key 'hardware.nodez'" with no file, where il.collective and a scenario file name
    it; the error now says which file (and which options were applied to it)."""
    path = tmp_path / "my_cluster.toml"
    path.write_text('[hardware]\naccelerator = "MI300X"\nnodez = 2\n')
    rc, out, err = main(capsys, "collective", "all_reduce", "1GiB", "--hardware", str(path), "--gpus", "8")
    assert rc == 1 and out == ""
    assert "hardware file my_cluster.toml: unknown key 'hardware.nodez'" in err, err
    assert "'hardware.nodes'" in err   # the nearest valid key is still offered
    # a bad value given as an option on top of the file: the file and the option are named
    rc, out, err = main(capsys, "collective", "all_reduce", "1GiB", "--hardware", "zaya1-ibm-mi300x",
                        "--nodes", "0", "--gpus", "8")
    assert rc == 1 and "hardware file zaya1-ibm-mi300x.toml with --nodes 0: hardware.nodes = 0" in err, err
    # a valid file still runs, as il.collective reads it
    rc, out, err = main(capsys, "collective", "all_reduce", "1GiB", "--hardware", "zaya1-ibm-mi300x",
                        "--gpus", "64", "--format", "csv")
    want = il.collective("all_reduce", 2**30, "zaya1-ibm-mi300x", 64)
    assert rc == 0, err
    assert float(next(csv.DictReader(io.StringIO(out)))["time_s"]) == pytest.approx(want.time_s, rel=1e-12)


# --------------------------------------------------------------------------- 2. image_size
@pytest.mark.parametrize("size, words", [
    ((0, 448), ["image_size = (0, 448)", "height 0", "integers in 1..1,048,576"]),
    ((448, -3), ["image_size = (448, -3)", "width -3"]),
    ((448.5, 448), ["image_size = (448.5, 448)", "height 448.5"]),
    (0, ["image_size = 0", "side 0"]),
    ("448", ["image_size = '448'"]),
    ((448, 2**21), ["image_size = (448, 2097152)", "1,048,576"]),
    ((448,), ["image_size = (448,)", "(height, width)"]),
])
def test_encoder_prefill_names_image_size(size, words):
    """encoder_prefill(image_size=(0, 448)) said "height = 0: must be a finite integer > 0",
    naming no argument of the call; it now names image_size, its value and what is allowed."""
    with pytest.raises(ValidationError) as e:
        il.multimodal.encoder_prefill("qwen2.5-vl-7b", "MI300X", images=1, image_size=size)
    for w in words:
        assert w in str(e.value), (w, str(e.value))
    assert not str(e.value).startswith(("height", "width"))


def test_image_size_of_integral_floats_is_the_integer_size():
    mm = il.multimodal
    want = mm.encoder_prefill("qwen2.5-vl-7b", "MI300X", images=1, image_size=(448, 672))
    got = mm.encoder_prefill("qwen2.5-vl-7b", "MI300X", images=1, image_size=(448.0, np.int64(672)))
    assert (got.time_s, got.flops, got.lm_positions) == (want.time_s, want.flops, want.lm_positions)
    # the data mix's image_size is checked by the same owner and names its own field
    with pytest.raises(ValidationError, match=r"training.data_mix.image_size = \[0, 448\]: height 0"):
        mm.packing_stats("qwen2.5-vl-7b", {"text": 0.5, "image": 0.5, "image_size": [0, 448]}, 1024)


# --------------------------------------------------------------------------- 3. integers
SEARCH_KW = dict(max_micro_batch=1, max_vp=1, max_pp=2)
SMALL = {"name": "t", "model": {"preset": "llama3-8b"},
         "hardware": {"accelerator": "H100-SXM", "nodes": 1, "nic": "ConnectX-7-NDR"},
         "training": {"seq_len": 4096, "global_batch": 64}, "parallelism": {"tp": 2}}


def test_search_constraints_take_integers_as_the_scenario_does():
    """il.search(tp=2.0) was refused ("expected a positive integer") while the Scenario takes
    parallelism.tp = 2.0; both now read an integral float as the integer and refuse 2.5 in
    the same words (the Scenario's check, one owner)."""
    assert il.Scenario.from_dict({**SMALL, "parallelism": {"tp": 2.0}}).parallelism.tp == 2
    assert_frame_equal(il.search(SMALL, top=3, tp=2.0, **SEARCH_KW), il.search(SMALL, top=3, tp=2, **SEARCH_KW))
    assert_frame_equal(il.search(SMALL, top=3, tp=[1.0, 2.0], max_tp=np.float64(2.0), **SEARCH_KW),
                       il.search(SMALL, top=3, tp=[1, 2], max_tp=2, **SEARCH_KW))
    assert_frame_equal(il.search(SMALL, top=3, zero=1.0, **SEARCH_KW), il.search(SMALL, top=3, zero=1, **SEARCH_KW))
    assert il.Scenario.from_dict({**SMALL, "parallelism": {"tp": 2, "zero": 1.0}}).parallelism.zero == 1
    for key, bad, tail in (("tp", 2.5, "expected an integer >= 1"), ("zero", 1.5, "allowed 0, 1, 2 or 3"),
                           ("tp", True, "expected an integer >= 1")):
        with pytest.raises(ValidationError) as in_search:
            il.search(SMALL, top=1, **{key: bad}, **SEARCH_KW)
        with pytest.raises(ValidationError) as in_scenario:
            il.Scenario.from_dict({**SMALL, "parallelism": {"tp": 2, key: bad}})
        assert str(in_search.value) == f"search constraint {key} = {bad!r}: {tail}"
        assert str(in_scenario.value) == f"parallelism.{key} = {bad!r}: {tail}"
    with pytest.raises(ValidationError, match=r"^search constraint max_tp = 2.5: expected an integer >= 1$"):
        il.search(SMALL, top=1, max_tp=2.5)


def test_search_top_error_says_none_is_taken():
    """il.search(top=0) said "must be an integer >= 1" without saying that None (every plan) is
    also taken, which il.serve_search's message for the same argument says."""
    for bad, tail in ((0, "must be an integer >= 1"), (1.5, "expected an integer >= 1"),
                      ("a", "expected an integer >= 1")):
        with pytest.raises(ValidationError) as e:
            il.search(SMALL, top=bad, **SEARCH_KW)
        assert str(e.value) == f"top = {bad!r}: {tail} (or None: every plan)"


# --------------------------------------------------------------------------- 4. largest_model
def test_largest_model_of_one_accelerator():
    """largest_model("MI300X") was refused ("expected a list of accelerator names"); one name
    or a catalog Accelerator is now a one-element list, and a misspelt one is still refused
    with the nearest valid name."""
    want = il.memory.largest_model(["MI300X"], by="presets")
    assert il.memory.largest_model("MI300X", by="presets").equals(want)
    assert il.memory.largest_model(il.catalog.accelerator("mi300x"), by="presets").equals(want)
    assert il.memory.largest_model([il.catalog.accelerator("MI300X"), "H100-SXM"], by="presets").equals(
        il.memory.largest_model(["MI300X", "H100-SXM"], by="presets"))
    with pytest.raises(UnknownNameError, match=r"unknown accelerator 'MI30X'\. Did you mean .*'MI300X'"):
        il.memory.largest_model("MI30X", by="presets")
    edited = dataclasses.replace(il.catalog.accelerator("MI300X"), hbm_bytes=1e9)
    with pytest.raises(ValidationError, match="differs from the catalog's row"):
        il.memory.largest_model(edited, by="presets")


# --------------------------------------------------------------------------- 5. sweep of an Estimate
def test_sweep_takes_a_function_returning_an_estimate():
    """il.sweep refused fn returning il.estimate's Estimate ("expected a dict of outputs");
    its documented to_dict() scalars are now the outputs, an input of the same name and value
    (a grid over stack) kept once, a different value refused saying what to return."""
    def at(nodes):
        return il.estimate(il.load_scenario("zaya1-ibm-mi300x").replace(hardware={"nodes": nodes}))

    df = il.sweep(at, {"nodes": [64, 128]}, progress=False)
    assert df["error"].null_count() == 2, df["error"].to_list()
    for row, nodes in zip(df.iter_rows(named=True), (64, 128), strict=True):
        want = at(nodes).to_dict()
        assert {k: row[k] for k in want} == want

    def on(stack):
        return il.estimate(il.load_scenario("zaya1-ibm-mi300x"), stack=stack)

    df = il.sweep(on, {"stack": ["megatron-core-rocm", "torchtitan-rocm"]}, progress=False)
    assert df["error"].null_count() == 2 and df["stack"].to_list() == ["megatron-core-rocm", "torchtitan-rocm"]
    assert df["step_time_s"].to_list() == [on(s).step_time_s for s in df["stack"]]

    def clash(gpus):
        return il.estimate(il.load_scenario("zaya1-ibm-mi300x"))

    with pytest.warns(UserWarning, match="1 of 1 points failed"):
        err = il.sweep(clash, {"gpus": [8]}, progress=False)["error"][0]
    assert "Estimate whose gpus = 1024 differs from the input gpus = 8" in err and "to_dict()" in err
    with pytest.warns(UserWarning, match="1 of 1 points failed"):
        err = il.sweep(lambda x: 3, {"x": [1]}, progress=False)["error"][0]
    assert "expected a dict of outputs" in err and "Estimate" in err


# --------------------------------------------------------------------------- 6. serve --no-pareto
def test_serve_search_no_pareto_is_serve_search_pareto_false(capsys):
    """`infra-lab serve --search` printed only the Pareto front, with no way to ask for the
    other configurations (il.serve_search's pareto=False); --no-pareto does."""
    name = "maia-class-serving-mi300x"
    sc = il.load_scenario(name)
    rc, out, err = main(capsys, "serve", name, "--search", "--no-pareto", "--top", "12", "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(out)))
    ref = il.serve_search(sc, top=12, pareto=False)
    front = il.serve_search(sc, top=12)
    assert rc == 0 and len(rows) == ref.height == 12, err
    assert [float(r["output_tokens_per_s"]) for r in rows] == pytest.approx(ref["output_tokens_per_s"].to_list(),
                                                                             rel=1e-12)
    assert {r["pareto"] for r in rows} == {"True", "False"}     # not only the front
    assert front["pareto"].all()
    rc, out, err = main(capsys, "serve", name, "--search", "--no-pareto", "--top", "3")
    assert rc == 0 and "not only the Pareto front (--no-pareto)" in out, err
    rc, out, err = main(capsys, "serve", name, "--no-pareto")
    assert rc == 1 and "--no-pareto: only with --search" in err
