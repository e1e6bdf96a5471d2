"""Regression tests for an adversarial pass over the public API and the CLI (December 2026).

Scenario building, ``estimate``, ``search``, ``serve``, ``serve_search``, ``collective`` and
the widget callbacks held up against one-field mutations, random valid plans and slider
extremes. What failed were public functions the property suite's signature fuzz never called
(their required arguments had no known valid value in ``tests/test_properties.py``'s
``SIG_VALUES``, which now has them), two-argument overflows, and the CLI's file handling.
Each case here: the input must raise the package's own error naming the argument and
repeating the value, or return the documented finite value.
"""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import infra_lab as il
from infra_lab import economics, fabric, memory, multimodal, reliability, serving, stacks
from infra_lab import validation as validation_mod
from infra_lab.errors import InfraLabError

ROOT = Path(__file__).resolve().parents[1]


def E(ident, fn, *needles):
    """fn() must raise InfraLabError whose message contains every needle."""
    return pytest.param(fn, needles, id=ident)


CASES = [
    # memory: formulas that took any value (ZeroDivisionError, TypeError, NaN before)
    E("korthikanti(h=0)", lambda: memory.korthikanti_activation_bytes(2048, 1, 0, 96), "h = 0", "integer"),
    E("korthikanti(t=0)", lambda: memory.korthikanti_activation_bytes(2048, 1, 12288, 96, t=0), "t = 0"),
    E("korthikanti(s=nan)", lambda: memory.korthikanti_activation_bytes(float("nan"), 1, 12288, 96), "s = nan"),
    E("korthikanti(a='abc')", lambda: memory.korthikanti_activation_bytes(2048, 1, 12288, "abc"), "a = 'abc'"),
    E("loss_logits(tp=0)", lambda: memory.loss_logits_bytes(8192, 128256, tp=0), "tp = 0"),
    E("loss_logits(loss_chunks=0)", lambda: memory.loss_logits_bytes(8192, 128256, loss_chunks=0), "loss_chunks = 0"),
    E("loss_logits(tokens=None)", lambda: memory.loss_logits_bytes(None, 128256), "tokens = None"),
    E("loss_logits(vocab=inf)", lambda: memory.loss_logits_bytes(8192, float("inf")), "vocab = inf"),
    E("loss_logits(activation_bytes='2')", lambda: memory.loss_logits_bytes(8192, 128256, activation_bytes="2"),
      "activation_bytes = '2'"),
    E("inflight(microbatches=-1)", lambda: memory.inflight_microbatches(4, 1, -1), "microbatches = -1"),
    E("inflight(microbatches='abc')", lambda: memory.inflight_microbatches(4, 1, "abc"), "microbatches = 'abc'"),
    E("max_inference_batch(gpus=1e300)", lambda: memory.max_inference_batch("llama3-70b", "MI300X", 8192, gpus=1e300),
      "gpus = 1e+300", "1000000"),
    E("memory_sweep(presets=None)", lambda: memory.memory_sweep(None, ["MI300X"]), "presets = None", "list"),
    E("memory_sweep(nodes=0.5)", lambda: memory.memory_sweep(["llama3-8b"], ["MI300X"], nodes=0.5), "nodes = 0.5"),
    # compute: a positive float that rounds to a 0-sized GEMM (ZeroDivisionError before)
    E("gemm_time(m=1e-300)", lambda: il.compute.gemm_time(1e-300, 4096, 4096, "MI300X"), "m = 1e-300", ">= 1"),
    E("gemm_efficiencies(ks=[1e-300])", lambda: il.compute.gemm_efficiencies([4096], [4096], [1e-300], "MI300X"),
      "k = 1e-300"),
    # fabric / economics / reliability
    E("balls_into_bins(seed=-1)", lambda: fabric.balls_into_bins(64, 8, seed=-1), "seed = -1"),
    E("balls_into_bins(seed=0.5)", lambda: fabric.balls_into_bins(64, 8, seed=0.5), "seed = 0.5"),
    E("sample_parameters(names=0)", lambda: economics.sample_parameters(10, 0, names=0), "names = 0", "list"),
    E("monte_carlo(names=None)", lambda: economics.monte_carlo(lambda **k: 1.0, n=10, names=None), "names = None"),
    E("rent_vs_own_curve(utilizations=nan)", lambda: economics.rent_vs_own_curve({"x": 2.0}, utilizations=float("nan")),
      "utilizations = nan"),
    E("rent_vs_own_curve(committed=True)", lambda: economics.rent_vs_own_curve({"x": 2.0}, committed=True),
      "committed = True"),
    E("cost_per_million_tokens(overflow)", lambda: economics.cost_per_million_tokens(1e300, 1e-300),
      "total_usd = 1e+300", "tokens = 1e-300", "overflows"),
    E("young(overflow)", lambda: reliability.young_interval_s(1e300, 1e300), "ckpt_s = 1e+300", "overflows"),
    E("daly(overflow)", lambda: reliability.daly_interval_s(1e300, 1e300), "mtbi_s = 1e+300", "overflows"),
    E("spare_availability(hot_spares=1e300)", lambda: reliability.spare_availability(1e300, 1e300, 1e300),
      "hot_spares = 1e+300", "1,000,000"),
    E("interval_sweep(intervals_s='abc')",
      lambda: reliability.interval_sweep(reliability.plan_run(il.load_scenario("zaya1-ibm-mi300x"), 100.0), "abc"),
      "intervals_s = 'abc'"),
    # stacks, multimodal, serving, validation helpers
    E("check_unit(value=None)", lambda: stacks.check_unit("dp_comm_overlap", None, "fraction"), "= None", "number"),
    E("check_unit(unit=[1])", lambda: stacks.check_unit("dp_comm_overlap", 0.5, [1]), "[1]", "known units"),
    E("split_model_table(None)", lambda: multimodal.split_model_table(None), "table = None", "dict"),
    E("pack(seq_len=2**70)", lambda: multimodal.pack([100, 200], 2**70), "seq_len = 1180591620717411303424"),
    E("example_scenario(mix='abc')", lambda: multimodal.example_scenario("maia-class", "abc"), "mix = 'abc'"),
    E("pareto_front(None)", lambda: serving.pareto_front(None), "df = None", "DataFrame"),
    E("split_of('abc')", lambda: serving.split_of("abc"), "row = 'abc'"),
    E("class_comparison(models=None)", lambda: serving.class_comparison(None, ["MI300X"]), "models = None"),
    E("class_comparison(gpus='abc')", lambda: serving.class_comparison(["llama3-8b"], ["MI300X"], gpus="abc"),
      "gpus = 'abc'"),
    E("flop_convention_of(None)", lambda: validation_mod.flop_convention_of(None), "row = None"),
    # the reliability studies and the low-level cost formulas: containers and plans by name
    E("compare_calibrations(calibrations=-1)",
      lambda: reliability.compare_calibrations(_sc(), 100.0, calibrations=-1), "calibrations = -1", "list"),
    E("scaling_table(gpu_counts=None)", lambda: reliability.scaling_table(_sc(), None, 100.0), "gpu_counts = None"),
    E("goodput_bands(restarts=[1])", lambda: reliability.goodput_bands(_sc(), [1024], 100.0, restarts=[1]),
      "restarts", "RestartModel"),
    E("restart_sweep(field=None)",
      lambda: reliability.restart_sweep(_sc(), 100.0, field=None, values=[60.0]), "field = None"),
    E("summarize_runs(plan='abc')", lambda: reliability.summarize_runs(
        reliability.simulate(_plan(), 50), "abc"), "plan = 'abc'", "RunPlan"),
    E("owned_components(v=None)", lambda: economics.owned_components(None), "v = None", "dict"),
    E("tco_arrays(v='abc')", lambda: economics.tco_arrays("abc", 3.0), "v = 'abc'"),
    E("encoder_activation_bytes(tp='abc')",
      lambda: multimodal.encoder_activation_bytes("maia-class", "vision", 4, tp="abc"), "tp = 'abc'"),
    E("encoder_tp(tp=2**70)", lambda: multimodal.encoder_tp(multimodal.encoder("qwen2.5-vl-vit"), 2**70),
      "tp = 1180591620717411303424", "max_world_gpus"),
    # validation tables: a bad override was swallowed as every run's "not compared" status
    E("compare_current(params=[1])", lambda: validation_mod.compare_current(params=[1]), "params = [1]"),
    E("compare_current(params={'x': {}})", lambda: validation_mod.compare_current(params={"x": {}}),
      "'x'", "megatron-core"),
    E("serving.validation({'vllm-rocm': 1})", lambda: serving.validation({"vllm-rocm": 1}),
      "stack_params['vllm-rocm'] = 1"),
    E("serving.validation({'vllm': {}})", lambda: serving.validation({"vllm": {}}), "'vllm'", "vllm-rocm"),
    E("calibrate(grid=0)", lambda: validation_mod.calibrate(grid=0), "grid = 0"),
    E("calibrate(grid=2.5)", lambda: validation_mod.calibrate(grid=2.5), "grid = 2.5"),
    E("summary_current('abc')", lambda: validation_mod.summary_current("abc"), "df = 'abc'"),
    E("scenario_for({})", lambda: validation_mod.scenario_for({}), "row = {}"),
    E("row_stack({})", lambda: serving.row_stack({}), "row = {}"),
    E("image_grid(1e300 px)", lambda: multimodal.encoder("qwen2.5-vl-vit").image_grid(1e300, 448),
      "height = ", "px per side"),
]


def _sc():
    return il.load_scenario("zaya1-ibm-mi300x")


def _plan():
    return reliability.plan_run(_sc(), 100.0)


def _refused_naming(fn, needles) -> None:
    """``fn()`` raises an InfraLabError whose message holds every one of ``needles``."""
    with pytest.raises(InfraLabError) as ei:
        fn()
    for n in needles:
        assert n in str(ei.value), (n, str(ei.value))


@pytest.mark.parametrize("fn, needles", CASES)
def test_bad_input_is_refused_by_name(fn, needles):
    _refused_naming(fn, needles)


def test_valid_results_unchanged_by_the_checks():
    """The new checks keep the documented values (docstring examples) of valid inputs."""
    assert memory.korthikanti_activation_bytes(2048, 1, 12288, 96) / (2048 * 12288) == 114.0
    assert round(memory.loss_logits_bytes(8192, 128256) / 2**30, 2) == 5.87
    assert memory.inflight_microbatches(8, 3) == pytest.approx(10.333333333333334)
    assert memory.inflight_microbatches(8, 1, 2) == 2.0
    assert round(reliability.spare_availability(1 / 3600, 4 * 3600, 8), 4) == 0.9489
    assert round(reliability.daly_interval_s(300.0, 86400.0), 1) == 7001.4
    assert il.compute.gemm_time(4096.0, 4096, 4096, "MI300X") == il.compute.gemm_time(4096, 4096, 4096, "MI300X")


@pytest.mark.parametrize("table, key, value", [
    ("hardware", "nodes", np.int64(2)), ("hardware", "pxn", np.bool_(True)), ("training", "seq_len", np.int32(4096)),
    ("training", "moe_capacity_factor", np.float32(1.5)), ("parallelism", "tp", np.int64(2)),
    ("parallelism", "zero", np.int64(3)), ("hardware", "nodes", np.float64(2.0)),
])
def test_numpy_scalars_are_the_numbers_they_hold(table, key, value):
    """A legitimate value read from a frame or an arange (np.int64(2)) was refused as
    "hardware.nodes = np.int64(2): expected an integer >= 1"; it is now the Python number it
    holds, and the Scenario equals the one built from that number."""
    base = {"model": {"preset": "llama3-8b"}, "hardware": {"accelerator": "MI300X", "nodes": 2},
            "training": {"seq_len": 4096, "global_batch": 64, "micro_batch": 2}, "parallelism": {}}
    with_np = {k: dict(v) for k, v in base.items()}
    with_py = {k: dict(v) for k, v in base.items()}
    with_np[table][key], with_py[table][key] = value, value.item()
    sc = il.Scenario.from_dict(with_np)
    assert sc == il.Scenario.from_dict(with_py)
    assert type(getattr(getattr(sc, table), key)).__module__ == "builtins"   # stored as a Python number
    sc.to_toml()
    serving_sc = {"model": {"preset": "llama3-8b"}, "hardware": {"accelerator": "MI300X", "nodes": 1},
                  "serving": {"tp": np.int64(1), "dp": np.int64(8), "request_rate_rps": np.float32(2.0)}}
    assert il.serve(serving_sc).ttft_s > 0


def test_spare_availability_when_repairs_overflow():
    """λ·T beyond a float (1e300 × 1e300): unboundedly many nodes in repair, so no spare is
    free (0), not an OverflowError."""
    assert reliability.spare_availability(1e300, 1e300, 8) == 0.0
    assert reliability.spare_availability(1e300, 1.0, 8) == 0.0


def test_sequence_check():
    from infra_lab import _validate as V

    assert V.sequence("x", ("a", "b")) == ["a", "b"]
    assert V.sequence("x", np.array([1.0, 2.0])) == [1.0, 2.0]
    for bad in ("ab", b"ab", {"a": 1}, 3, None):
        with pytest.raises(InfraLabError, match="expected a list"):
            V.sequence("x", bad)


# ------------------------------------------------------------------------------------- CLI
def cli(*args, cwd=ROOT):
    return subprocess.run([sys.executable, "-m", "infra_lab", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=300, env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("cli")
    (d / "binary.toml").write_bytes(b"\xff\xfe\x00bad")
    (d / "grid.toml").write_text("[hardware]\nnodes = [1, 2]\n")
    (d / "folder.parquet").mkdir()
    return d


def test_python_dash_m_runs_the_command():
    r = cli("--version")
    assert r.returncode == 0 and r.stdout.strip() == il.__version__


@pytest.mark.parametrize("args, needles", [
    # a file that is not UTF-8: exit 3 ("internal error: UnicodeDecodeError") before
    (["collective", "all_reduce", "1GiB", "--hardware", "{d}/binary.toml", "--gpus", "8"], ["not UTF-8", "binary.toml"]),
    (["sweep", "zaya1-ibm-mi300x", "--grid", "{d}/binary.toml"], ["not UTF-8", "binary.toml"]),
    # an empty scenario name was called "a directory" (Path("") is the current folder)
    (["estimate", ""], ["scenario = ''", "shipped scenarios"]),
    # a Parquet file in a missing folder: exit 3 after the whole sweep ran, before
    (["sweep", "zaya1-ibm-mi300x", "--grid", "{d}/grid.toml", "--out", "{d}/missing/x.parquet"],
     ["does not exist", "missing"]),
    (["sweep", "zaya1-ibm-mi300x", "--grid", "{d}/grid.toml", "--out", "{d}/folder.parquet"], ["is a folder"]),
    # a bad search objective failed every point of the sweep; now refused once, up front
    (["sweep", "zaya1-ibm-mi300x", "--grid", "{d}/grid.toml", "--call", "search", "--objective", "MFU"],
     ["'MFU'", "Did you mean 'mfu'"]),
])
def test_cli_bad_input_exits_1_with_the_message(files, args, needles):
    r = cli(*[a.format(d=files) for a in args])
    assert r.returncode == 1, (r.returncode, r.stderr)
    assert "internal error" not in r.stderr
    for n in needles:
        assert n in r.stderr, (n, r.stderr)


def test_cli_serve_search_says_when_nothing_qualifies():
    """An empty serve_search printed an empty table and nothing else."""
    r = cli("serve", "data/scenarios/maia-class-serving-mi300x.toml", "--search", "--max-ttft-s", "1e-6")
    assert r.returncode == 0, r.stderr
    assert "no configuration fits in memory and meets --max-ttft-s 1e-06" in r.stdout


def test_no_nan_in_the_fixed_outputs():
    """The overflow checks raise instead of returning inf; finite inputs still give finite values."""
    assert math.isfinite(reliability.young_interval_s(1e150, 1e150))
    assert math.isfinite(economics.cost_per_million_tokens(1e6, 1e12))


# --------------------------------------------------------------------------------------
# A fresh user's pass, 2026-12-07 (session 39): each public call's docstring example with one
# argument at a time replaced by None, a string, "8 GB", True, -1, 0, NaN, inf, 1e300, [], {}
# or (1,). These failed inside the call (the Python error of the line that tripped on it).
# --------------------------------------------------------------------------------------

def _megatron():
    return stacks.params("megatron-core-cuda")


SESSION39 = [
    # TypeError "int() argument must be ... not 'NoneType'", ValueError "invalid literal for int()"
    E("mtp_modules_recomputed(None)", lambda: memory.mtp_modules_recomputed(None), "n_mtp = None", "integer"),
    E("mtp_modules_recomputed('2')", lambda: memory.mtp_modules_recomputed("2"), "n_mtp = '2'", "integer"),
    E("mtp_modules_recomputed(inf)", lambda: memory.mtp_modules_recomputed(math.inf), "n_mtp = inf"),
    # "string indices must be integers": a stack's name where its parameters belong
    E("zero3_reduce_bytes(name)", lambda: memory.zero3_reduce_bytes("megatron-core-cuda"),
      "stack_params = 'megatron-core-cuda'", "il.stacks.params("),
    E("fsdp_reduce_scatter_bytes(None)", lambda: memory.fsdp_reduce_scatter_bytes(None), "stack_params = None"),
    E("fsdp_grad_queue_params(3)", lambda: memory.fsdp_grad_queue_params(3, "megatron"), "stack_params = 3"),
    # KeyError 'fsdp_reduce_dtype_bytes'
    E("zero3_reduce_bytes({})", lambda: memory.zero3_reduce_bytes({}), "lacks 'fsdp_reduce_dtype_bytes'"),
    E("zero3_reduce_bytes(str value)", lambda: memory.zero3_reduce_bytes({"fsdp_reduce_dtype_bytes": "4"}),
      "stack_params['fsdp_reduce_dtype_bytes'] = '4'"),
    # AttributeError "'NoneType' object has no attribute 'get'"
    E("fp8_weight_copy_bytes(None)", lambda: memory.fp8_weight_copy_bytes("fp8", None), "stack_params = None"),
    # TypeError "'<=' not supported between instances of 'NoneType' and 'int'"; a bad etp or tp was
    # answered (False) without a word
    E("training_etp_accepted(ep=None)", lambda: memory.training_etp_accepted(2, 4, None, "torchtitan-cuda"),
      "ep = None"),
    E("training_etp_accepted(etp='2')", lambda: memory.training_etp_accepted("2", 4, 8, "torchtitan-cuda"),
      "etp = '2'"),
    # OverflowError "Python int too large to convert to C long"; pp = 2**40 asked for 600 TiB
    E("inflight_chunks(pp=1e300)", lambda: memory.inflight_chunks(1e300, 32, "zbv"), "pp = 1e+300", "1000000"),
    E("inflight_chunks(pp=2**40)", lambda: memory.inflight_chunks(2**40, 8, "zbv"), "pp = 1099511627776"),
    E("inflight_chunks(microbatches=1e300)", lambda: memory.inflight_chunks(8, 1e300, "zbv"),
      "microbatches = 1e+300", "16,777,216"),
    # TypeError "unhashable type: 'list'"
    E("class_label([])", lambda: reliability.class_label([]), "component_class [] (a list)", "Valid: gpu"),
    # IndexError "boolean index did not match indexed array along axis 0"
    E("restart_times_s(one rate)", lambda: reliability.restart_times_s(
        reliability.checkpoint_plan(128e9, 128), reliability.restart_model("baseline"), (1,), 128),
      "rates_per_s: 1 values, expected 8"),
    # said "expected a number of bytes" without saying the unit belongs to the CLI
    E("collective('8 GB')", lambda: il.collective("all_reduce", "8 GB", "zaya1-ibm-mi300x", 8),
      "size_bytes = '8 GB'", "8 * il.units.GB"),
]


@pytest.mark.parametrize(("fn", "needles"), SESSION39)
def test_session39_bad_argument_is_named(fn, needles):
    _refused_naming(fn, needles)


def test_session39_the_checked_calls_still_give_their_values():
    mc = _megatron()
    assert memory.mtp_modules_recomputed(np.int64(2)) == 2 and memory.mtp_modules_recomputed(1, 1) == 0
    assert memory.zero3_reduce_bytes(mc) == 2.0 and memory.zero3_reduce_bytes(mc, "megatron") == 4.0
    assert memory.fp8_weight_copy_bytes("fp8", mc) == 2.0 and memory.fp8_weight_copy_bytes("fp8", {}) == 0.0
    assert memory.training_etp_accepted(2, 4, 8, "megatron-core-cuda")
    assert not memory.training_etp_accepted(2, 4, 8, "torchtitan-cuda")
    assert memory.inflight_chunks(4, 8.0, "zbv") == memory.inflight_chunks(4, 8, "zbv")
    assert reliability.class_label("nic") == "NIC"
