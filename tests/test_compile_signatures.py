"""The public calls hand numba kernels one array type, so each kernel compiles once per process.

numba compiles a separate specialization of a kernel, and of every kernel it calls, for each
distinct argument type; a writable and a read-only float64 vector are distinct types. The
collective kernel chain (collective_cost and its callees) is about three seconds of CPU to
compile on the 2-core development machine, paid again for each extra type in a cold notebook
(notebook 03 paid it twice: ``fit_physics`` passed a writable copy of the parameter vector)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

_PROBE = """
import json
import infra_lab as il
from infra_lab._kernels import collectives as K

sc = il.load_scenario("zaya1-ibm-mi300x")
il.collective("all_reduce", 2**30, sc.hardware, sc.hardware.world_size)
il.collectives.algorithm_table("all_reduce", 2**20, sc.hardware, 16)
il.collectives.fit_physics()
print(json.dumps({name: [[str(s), all(not a.mutable for a in s if hasattr(a, "mutable"))]
                         for s in getattr(K, name).signatures]
                  for name in ("collective_cost", "latency", "best_collective")}))
"""


def test_collective_kernels_compile_one_signature():
    out = subprocess.run([sys.executable, "-c", _PROBE], cwd=ROOT, capture_output=True, text=True,
                         check=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
    sigs = json.loads(out.stdout.strip().splitlines()[-1])
    assert sigs["collective_cost"], "the probe did not reach the collective kernel"
    for name, lst in sigs.items():
        assert len(lst) <= 1, f"{name} compiled for {len(lst)} argument types: {lst}"
        assert all(readonly for _, readonly in lst), f"{name}: a writable parameter vector: {lst}"


_PROBE_TRAINING = """
import json
import infra_lab as il
from infra_lab._kernels import pipeline_greedy as G
from infra_lab._kernels import training as T

def compiled():
    return {f"{mod.__name__.rsplit('.', 1)[1]}.{name}": [str(s) for s in getattr(mod, name).signatures]
            for mod in (T, G) for name in dir(mod) if hasattr(getattr(mod, name), "signatures")}

sc = il.load_scenario("zaya1-ibm-mi300x")
il.estimate(sc)
il.search(sc, top=1)
closed = compiled()
il.estimate(sc.replace(parallelism={"pp": 2}))
il.estimate(sc.replace(parallelism={"pp": 2, "vp": 2}))
megatron = compiled()
il.search(sc, top=1, pp_schedules="all")
print(json.dumps({"closed": closed, "megatron": megatron, "all": compiled()}))
"""

EXECUTED_ONLY = ("training.schedule_program", "training.executed_table", "training._fill_key",
                 "training.fill_programs", "training.pipeline_bubble", "training.evaluate_serial_with",
                 "training.evaluate_plans_with", "pipeline_greedy.pipeline_program",
                 "pipeline_greedy.compact_program", "pipeline_greedy.zb_h1_order",
                 "pipeline_greedy.zbv_order", "pipeline_greedy.v_greedy_order", "pipeline_greedy._squeeze")
"""Kernels only an executed pipeline schedule (ZB-H1, ZBV, V-Half, V-Min) needs: its order's
builders and the step kernel's entries that take the built programs."""
MEGATRON_ALLOWED = ("training.evaluate_serial_with",)
"""Of those, what il.estimate of a 1F1B or interleaved plan with pp > 1 compiles: it executes
Megatron-Core's order (built by training._fill_megatron_key), through the entry that takes
the built program, and none of the executed schedules' order builders."""


@pytest.fixture(scope="module")
def training_signatures(tmp_path_factory):
    """The step kernel's and the pipeline schedules' compiled signatures after a 1F1B estimate
    (pp 1) and a default search ("closed"), after 1F1B and interleaved estimates with pp 2
    ("megatron": Megatron-Core's orders executed), then after a search of every schedule ("all"),
    on an empty numba cache: kernels called only from other kernels list a signature only when
    compiled (about a minute of CPU)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "NUMBA_CACHE_DIR": str(tmp_path_factory.mktemp("numba"))}
    out = subprocess.run([sys.executable, "-c", _PROBE_TRAINING], cwd=ROOT, capture_output=True,
                         text=True, check=True, env=env)
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_schedule_kernels_compile_one_signature(training_signatures):
    """``_x_fill`` was compiled twice (the parallel table passed its prange index as uint64, the
    serial one int64), ``_squeeze`` and ``pipeline_program`` once per literal True / False flag;
    the step kernel's head loop is shared by the serial and parallel, closed-form and executed
    entries."""
    sigs = training_signatures["all"]
    for name in ("training._fill_key", "pipeline_greedy._squeeze", "pipeline_greedy.pipeline_program",
                 "training.eval_head", "training.evaluate_plans", "training.evaluate_plans_with"):
        lst = sigs[name]
        assert len(lst) == 1, f"{name} compiled for {len(lst)} argument types: {lst}"
        assert "Literal" not in lst[0] and "uint64" not in lst[0], f"{name}: {lst[0]}"


def test_closed_form_schedules_compile_no_executed_schedule_kernel(training_signatures):
    """A pp 1 estimate and a default search compile the step kernel (serial and parallel) but
    none of the executed schedules' order builders or program entries: a first call on an
    empty cache compiled them all (about 11 s of CPU on the 2-core development machine) before
    the closed-form entries stopped reaching them. 1F1B and interleaved estimates with pp > 1
    (Megatron-Core's orders executed) compile the entry that takes a program and their own order
    builders, still none of the executed schedules' builders. The executed search then compiles
    them."""
    closed, every = training_signatures["closed"], training_signatures["all"]
    megatron = training_signatures["megatron"]
    for name in ("training.eval_head", "training.evaluate_serial", "training.evaluate_plans"):
        assert len(closed[name]) == 1, f"the probe did not compile {name}: {closed[name]}"
    reached = [name for name in EXECUTED_ONLY if closed[name]]
    assert not reached, f"a closed-form estimate or search compiled {reached}"
    for name in ("training._fill_megatron_key", "pipeline_greedy.interleaved_order",
                 "pipeline_greedy.interleaved_program") + MEGATRON_ALLOWED:
        assert len(megatron[name]) == 1, f"the 1F1B / interleaved estimates did not compile {name}: {megatron[name]}"
    reached = [name for name in EXECUTED_ONLY if megatron[name] and name not in MEGATRON_ALLOWED]
    assert not reached, f"a 1F1B or interleaved estimate compiled {reached}"
    # (executed_table, pipeline_bubble and evaluate_serial_with are entries no search of this size calls)
    built = [name for name in EXECUTED_ONLY if name not in (
        "training.executed_table", "training.pipeline_bubble", "training.evaluate_serial_with")]
    assert all(every[name] for name in built), {name: every[name] for name in built}
