"""Regression tests for the bad-input audit after the December 2026 review (docs/bad-inputs.md,
"A third pass"): one case per failure it listed, in its numbering.

A bad input must raise the package's own error (:class:`infra_lab.errors.InfraLabError`) whose
message names the field and repeats the value (and, for a name, the nearest valid one); an
empty search result keeps its empty frame and says why in an
:class:`~infra_lab.errors.EmptyResultWarning`.
"""

from __future__ import annotations

import os
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

import infra_lab as il
from infra_lab import cluster, reliability
from infra_lab.errors import (
    ContextLengthWarning,
    EmptyResultWarning,
    InfraLabError,
    UnknownNameError,
    ValidationError,
    plain_numbers,
)
from infra_lab.scenario import HardwareConfig

ROOT = Path(__file__).resolve().parents[1]
HW = {"accelerator": "MI300X", "nodes": 2, "gpus_per_node": 8, "nic": "Pollara-400"}
BASE = {"model": {"preset": "llama3-8b"}, "hardware": HW,
        "training": {"seq_len": 4096, "global_batch": 64, "micro_batch": 2}}
SERVE = {"model": {"preset": "llama3-8b"}, "hardware": {**HW, "nodes": 1},
         "serving": {"engine": "vllm", "weight_precision": "bf16", "kv_precision": "bf16", "tp": 8,
                     "input_tokens": 1024, "output_tokens": 1024, "concurrency": 64}}


def with_(d: dict, table: str, **kw) -> dict:
    return {**d, table: {**d[table], **kw}}


def raises(fn, *needles, kind=InfraLabError) -> str:
    """fn() raises ``kind`` whose message holds every needle; returns the message."""
    with pytest.raises(kind) as e:
        fn()
    msg = str(e.value)
    for n in needles:
        assert n in msg, (n, msg)
    return msg


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "infra_lab", *args], capture_output=True, text=True,
                          cwd=ROOT, env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"}, timeout=300)


@pytest.fixture(scope="module")
def plan():
    return reliability.plan_run(HW, 10.0, model="llama3-8b")


# 1 ------------------------------------------------------------ Monte Carlo size
def test_simulate_bounds_n_runs(plan):
    raises(lambda: reliability.simulate(plan, 10**13), "n_runs", "10,000,000,000,000", "allowed 1 .. 10,000,000",
           kind=ValidationError)
    raises(lambda: reliability.simulate(plan, reliability.MAX_RUNS + 1), "n_runs", kind=ValidationError)
    assert reliability.simulate(plan, 20, seed=1).height == 20


# 2 ------------------------------------------------------------ context length
def test_learned_positions_refuse_a_longer_sequence():
    raises(lambda: il.Scenario.from_dict({**BASE, "model": {"preset": "gpt2"}}),
           "training.seq_len = 4096", "learned absolute position embeddings", "1,024", kind=ValidationError)
    sv = {**SERVE, "model": {"preset": "gpt2"}, "hardware": {**HW, "nodes": 1, "gpus_per_node": 4},
          "serving": {**SERVE["serving"], "tp": 4, "input_tokens": 4096}}
    raises(lambda: il.serve(sv), "serving.input_tokens + serving.output_tokens", "4,096 + 1,024", "1,024",
           kind=ValidationError)
    ok = with_({**BASE, "model": {"preset": "gpt2"}}, "training", seq_len=1024)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ContextLengthWarning)
        assert il.Scenario.from_dict(ok).training.seq_len == 1024


def test_inference_memory_checks_the_context():
    raises(lambda: il.memory.inference_memory("gpt2", "MI300X", 4096), "context = 4096", "1,024",
           kind=ValidationError)
    with pytest.warns(ContextLengthWarning, match="context = 1000000"):
        il.memory.inference_memory("llama3-8b", "MI300X", 1_000_000)


def test_rope_models_only_warn_past_their_published_context():
    with pytest.warns(ContextLengthWarning, match=r"serving.input_tokens \+ serving.output_tokens.*8,192"):
        il.Scenario.from_dict(with_(SERVE, "serving", input_tokens=1_000_000))
    with pytest.warns(ContextLengthWarning, match=r"training.seq_len = 32768.*8,192.*context extension"):
        il.Scenario.from_dict(with_(BASE, "training", seq_len=32768))
    # a run that declares its extended context says so in the model table: no warning
    with warnings.catch_warnings():
        warnings.simplefilter("error", ContextLengthWarning)
        il.Scenario.from_dict({**with_(BASE, "training", seq_len=32768),
                               "model": {"preset": "llama3-8b", "max_seq_len": 32768}})


def test_shipped_scenarios_and_published_runs_do_not_warn():
    with warnings.catch_warnings():
        warnings.simplefilter("error", ContextLengthWarning)
        warnings.simplefilter("error", EmptyResultWarning)
        for name in il.list_scenarios():
            il.load_scenario(name)
        built = 0
        for r in il.validation.current_runs().iter_rows(named=True):   # Qwen3-235B at 128k among them
            try:
                il.validation.scenario_for_run(r)
                built += 1
            except ValidationError:
                pass                     # a run the model cannot express: not this test's concern
        assert built > 20


# 3 ------------------------------------------------------------ hardware.accelerator required
@pytest.mark.parametrize("fn", [
    lambda: HardwareConfig(),
    lambda: il.Scenario.from_dict({**BASE, "hardware": {"nodes": 2}}),
    lambda: il.collective("all_reduce", 1e9, {}, 8),
    lambda: il.collective("all_reduce", 1e9, {}, 16),
], ids=["HardwareConfig()", "from_dict", "collective-8", "collective-16"])
def test_hardware_accelerator_is_required(fn):
    msg = raises(fn, "hardware.accelerator", "required", "MI300X", "H100-SXM", kind=ValidationError)
    assert "larger than the cluster" not in msg


# 4 ------------------------------------------------------------ a TOML path everywhere
def test_every_public_call_takes_a_toml_path(tmp_path):
    sc = il.Scenario.from_dict(BASE)
    p = tmp_path / "run.toml"
    p.write_text(sc.to_toml(), encoding="utf-8")
    assert il.estimate(p).step_time_s == il.estimate(str(p)).step_time_s == il.estimate(sc).step_time_s
    assert il.search(str(p), top=2).height == 2
    assert il.memory.training_memory_total(str(p)) == il.memory.training_memory_total(sc)
    s = tmp_path / "serve.toml"
    s.write_text(il.Scenario.from_dict(SERVE).to_toml(), encoding="utf-8")
    assert il.serve(s).tpot_s == il.serve(str(s)).tpot_s
    assert il.serve_search(s, top=1).height == 1


def test_a_string_that_is_no_path_gets_a_working_hint(tmp_path):
    # a shipped scenario's name is a scenario, as on the command line (any letter case)
    assert il.estimate("zaya1-ibm-mi300x").step_time_s == il.estimate(il.load_scenario("zaya1-ibm-mi300x")).step_time_s
    assert il.estimate("ZAYA1-IBM-MI300X").step_time_s == il.estimate("zaya1-ibm-mi300x").step_time_s
    # a misspelt one gets the nearest names; a missing .toml path says so
    raises(lambda: il.estimate("zaya1-ibm-mi30x"), "'zaya1-ibm-mi30x'", "did you mean 'zaya1-ibm-mi300x'",
           kind=ValidationError)
    raises(lambda: il.estimate(str(tmp_path / "missing.toml")), "not found", "missing.toml", kind=ValidationError)
    raises(lambda: il.search("no such thing"), "'no such thing'", "path of a .toml file", "shipped: ",
           kind=ValidationError)
    # a file of that name in the working directory wins over the shipped scenario
    (tmp_path / "zaya1-ibm-mi300x").write_text(il.Scenario.from_dict(SERVE).to_toml(), encoding="utf-8")
    cwd = os.getcwd()
    try:
        os.chdir(tmp_path)
        assert il.scenario.as_scenario("zaya1-ibm-mi300x").kind == "serving"
    finally:
        os.chdir(cwd)


# 5 ------------------------------------------------------------ misspelt keywords
@pytest.mark.parametrize("fn, bad, good", [
    (lambda: reliability.mtbi_hours(HW, calibraton="llama3"), "calibraton", "calibration"),
    (lambda: reliability.interruptions_per_day(HW, readng="count"), "readng", "reading"),
    (lambda: reliability.failure_rate_per_hour(HW, multiplyer=2.0), "multiplyer", "multiplier"),
    (lambda: reliability.fleet_check(hbm_bass="gpu"), "hbm_bass", "hbm_basis"),
    (lambda: reliability.compare_calibrations(HW, 10.0, model="llama3-8b", storge="shared-fs"), "storge", "storage"),
    (lambda: reliability.restart_sweep(HW, 10.0, field="relaunch_s", values=[60], model="llama3-8b",
                                       restart_overides={}), "restart_overides", "restart_overrides"),
    (lambda: il.compute.attention_time(4096, 128, 32, "H100", kernal="fa3"), "kernal", "kernel"),
], ids=["mtbi_hours", "interruptions_per_day", "failure_rate_per_hour", "fleet_check", "compare_calibrations",
        "restart_sweep", "attention_time"])
def test_unknown_keyword_gets_did_you_mean(fn, bad, good):
    msg = raises(fn, repr(bad), f"Did you mean '{good}'", kind=UnknownNameError)
    assert "unexpected keyword" not in msg


# 6 ------------------------------------------------------------ claim check
def test_claim_check_bounds_the_claim():
    raises(lambda: cluster.claim_check(1e300, HW), "claimed_pflops = 1e+300", "PFLOP/s", "MAX_CLAIM_OVER_PEAK",
           kind=ValidationError)
    msg = raises(lambda: cluster.claim_check(float("inf"), HW), "claimed_pflops = inf", kind=ValidationError)
    assert "inf]" not in msg and "finite number > 0" in msg
    assert cluster.claim_check(20.0, HW)["consistent"]


# 7 ------------------------------------------------------------ fp8 on A100
def test_fp8_on_a100_is_refused_at_construction():
    d = {**BASE, "hardware": {**HW, "accelerator": "A100", "nic": "ConnectX-7"},
         "training": {**BASE["training"], "precision": "fp8"}}
    msg = raises(lambda: il.Scenario.from_dict(d), "training.precision = 'fp8'", "A100-SXM-80GB",
                 "allowed: bf16, fp16", kind=ValidationError)
    assert "fp64" not in msg and "tf32" not in msg


# 8 ------------------------------------------------------------ absurd sizes
def test_absurd_sizes_are_bounded():
    raises(lambda: il.collective("all_reduce", 1e30, HW, 16), "size_bytes = 1e+30", "max_world_gpus",
           kind=ValidationError)
    assert il.collective("all_reduce", 1e12, HW, 16).time_s > 0          # a terabyte is fine
    raises(lambda: il.serve(with_(SERVE, "serving", concurrency=10**9)), "serving.concurrency = 1000000000",
           "134,217,728", kind=ValidationError)
    raises(lambda: il.serve_search(SERVE, concurrencies=[8, 10**9]), "concurrencies", kind=ValidationError)
    raises(lambda: il.serve_search(SERVE, concurrencies=range(1, 2**20)), "configurations",
           "MAX_SEARCH_CONFIGURATIONS", kind=ValidationError)
    raises(lambda: reliability.plan_run(HW, 1e30, model="llama3-8b"), "work_hours = 1e+30", "1,000,000",
           kind=ValidationError)


def test_cli_refuses_an_absurd_and_a_negative_size():
    r = cli("collective", "all_reduce", "1e40", "--accelerator", "MI300X", "--nodes", "2", "--gpus", "16")
    assert r.returncode == 1 and "error: size 1e+40: more than every GPU" in r.stderr, r.stderr
    for size in ("-1GiB", "-4096"):
        r = cli("collective", "all_reduce", size, "--accelerator", "MI300X", "--nodes", "2", "--gpus", "16")
        assert r.returncode != 0 and f"size '{size}'" in r.stderr and "must be >= 0" in r.stderr, r.stderr
        assert "required" not in r.stderr


# 9 ------------------------------------------------------------ empty results say why
def test_empty_search_says_why():
    d = {**BASE, "model": {"preset": "llama3.1-405b"}, "hardware": {**HW, "nodes": 1}}
    with pytest.warns(EmptyResultWarning, match=r"smallest needs [0-9.]+ GB per GPU, the MI300X exposes 206.1 GB") as w:
        df = il.search(d)
    assert df.height == 0 and "tokens_per_s" in df.columns          # the contract: an empty frame
    assert [r.filename for r in w] == [__file__]                      # the warning names the user's line
    with pytest.warns(EmptyResultWarning, match=r"max_tpot_s = 1e-06: the smallest TPOT") as w:
        assert il.serve_search(SERVE, max_tpot_s=1e-6).height == 0
    assert [r.filename for r in w] == [__file__]
    with warnings.catch_warnings():                                   # a non-empty result: silent
        warnings.simplefilter("error", EmptyResultWarning)
        assert il.serve_search(SERVE, top=1).height == 1


def test_cli_search_prints_the_reason(tmp_path):
    p = tmp_path / "big.toml"
    p.write_text(il.Scenario.from_dict({**BASE, "model": {"preset": "llama3.1-405b"},
                                        "hardware": {**HW, "nodes": 1}}).to_toml(), encoding="utf-8")
    r = cli("search", str(p))
    assert r.returncode == 0 and "0 fitting plans" in r.stdout and "smallest needs" in r.stdout, r.stdout
    r = cli("search", str(p), "--format", "csv")
    assert "smallest needs" in r.stderr and "smallest needs" not in r.stdout


# 11 ----------------------------------------------------------- consistent ranges, plain numbers
@pytest.mark.parametrize("v", [0, 0.5, -1.0, 1e9, np.float64(0.5)])
def test_oversubscription_states_one_range(v):
    raises(lambda: HardwareConfig("MI300X", oversubscription=v), "hardware.oversubscription",
           "1.0 (non-blocking) .. 16", kind=ValidationError)


def test_numpy_scalars_print_as_plain_numbers():
    msg = raises(lambda: reliability.expected_wall_time_s(1e6, 1e5, 60, [-1e-3] + [0] * 7, [600] * 8),
                 "rates_per_s[0] = -0.001", kind=ValidationError)
    assert "np." not in msg
    assert plain_numbers("x = np.int64(3), y = np.True_, z = np.float32(1.5)") == "x = 3, y = True, z = 1.5"
    assert str(ValidationError(f"n = {np.int32(7)!r}")) == "n = 7"


def test_an_unknown_name_prints_its_message_plainly_and_is_still_a_key_error():
    # KeyError's str() is the repr of its argument: a printed error read "'unknown accelerator ...'"
    # in quotes, with a newline of the message as \n
    with pytest.raises(KeyError) as e:           # the contract: an UnknownNameError is a KeyError
        il.catalog.accelerator("H1000")
    err = e.value
    assert isinstance(err, UnknownNameError) and isinstance(err, InfraLabError)
    assert str(err) == err.args[0] and str(err).startswith("unknown accelerator 'H1000'. Did you mean")
    assert str(UnknownNameError("unknown x 'a'\nValid: b")) == "unknown x 'a'\nValid: b"
    r = subprocess.run([sys.executable, "-c", "import infra_lab as il; il.catalog.accelerator('H1000')"],
                       capture_output=True, text=True, timeout=300, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert "infra_lab.errors.UnknownNameError: unknown accelerator 'H1000'. Did you mean" in r.stderr, r.stderr
