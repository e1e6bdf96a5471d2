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

sc = il.load_scenario("zaya1-ibm-mi300x")
il.estimate(sc)
il.search(sc, top=1, pp_schedules="all")
print(json.dumps({name: [str(s) for s in getattr(mod, name).signatures]
                  for mod, name in ((T, "_x_fill"), (G, "_squeeze"), (G, "pipeline_program"))}))
"""


def test_schedule_kernels_compile_one_signature(tmp_path):
    """``_x_fill`` was compiled twice (the parallel table passed its prange index as uint64, the
    serial one int64), ``_squeeze`` and ``pipeline_program`` once per literal True / False flag.
    These are called only from other kernels, so they list a signature only when compiled: the
    probe runs on an empty numba cache (about a minute of CPU)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "NUMBA_CACHE_DIR": str(tmp_path)}
    out = subprocess.run([sys.executable, "-c", _PROBE_TRAINING], cwd=ROOT, capture_output=True,
                         text=True, check=True, env=env)
    sigs = json.loads(out.stdout.strip().splitlines()[-1])
    for name, lst in sigs.items():
        assert len(lst) == 1, f"{name} compiled for {len(lst)} argument types: {lst}"
        assert "Literal" not in lst[0] and "uint64" not in lst[0], f"{name}: {lst[0]}"
