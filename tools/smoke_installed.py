"""Smoke run of an installed infra_lab (a wheel in a fresh virtual environment).

Run from a folder outside the repository with the environment's python; it must find the
package data that the wheel carries (``infra_lab/data``) and exercise the public calls:
every shipped scenario through ``estimate`` (``serve`` for a serving one, and
``infra-lab serve`` on it), and for every catalog accelerator a small
scenario through ``estimate``, ``search`` and ``collective``. It prints one line per check
and exits non-zero on the first failure. ``tests/test_wheel.py`` builds the wheel, makes
the environment and runs this script.
"""

from __future__ import annotations

import math
import sys
from pathlib import Path


def _check(label: str, ok: bool, detail: str = "") -> None:
    print(f"{'ok  ' if ok else 'FAIL'} {label} {detail}".rstrip(), flush=True)
    if not ok:
        raise SystemExit(1)


def main() -> None:
    import infra_lab as il

    pkg = Path(il.__file__).resolve().parent
    _check("installed package, not a checkout", "site-packages" in str(pkg), str(pkg))
    _check("data carried in the wheel", il.catalog.DATA_DIR == pkg / "data", str(il.catalog.DATA_DIR))
    _check("py.typed shipped", (pkg / "py.typed").is_file())

    names = il.list_scenarios()
    _check("shipped scenarios found", len(names) > 0, ", ".join(names))
    for name in names:
        sc = il.load_scenario(name)
        if sc.kind == "serving":  # a [serving] scenario: il.serve instead of il.estimate
            r = il.serve(sc)
            _check(f"serve {name}", r.fits and math.isfinite(r.ttft_s) and r.output_tokens_per_s > 0,
                   f"{r.output_tokens_per_s_per_gpu:,.0f} output tokens/s/GPU, TTFT {r.ttft_s:.3f} s")
            continue
        est = il.estimate(sc)
        _check(f"estimate {name}", math.isfinite(est.step_time_s) and est.step_time_s > 0,
               f"step {est.step_time_s:.4f} s")

    nic_for = {"AMD": "Pollara-400", "NVIDIA": "ConnectX-7-NDR"}
    accs = il.catalog.accelerators()
    for acc in accs.iter_rows(named=True):
        hw = {"accelerator": acc["name"], "nodes": 2, "nic": nic_for[acc["vendor"]]}
        sc = il.Scenario.from_dict({
            "name": f"smoke-{acc['name']}", "model": {"preset": "llama3-8b"}, "hardware": hw,
            "training": {"seq_len": 4096, "global_batch": 64, "micro_batch": 1},
        })
        est = il.estimate(sc)
        best = il.search(sc, top=1, feasible_only=False)
        c = il.collective("all_reduce", 2**30, hw, 16)
        ok = (math.isfinite(est.step_time_s) and est.step_time_s > 0 and best.height == 1
              and math.isfinite(c.time_s) and c.time_s > 0)
        _check(f"{acc['name']}: estimate, search, collective", ok,
               f"step {est.step_time_s:.3f} s, best {best['step_time_s'][0]:.3f} s, "
               f"all-reduce 1 GiB {c.time_s * 1e3:.2f} ms")
    # the console script the wheel installs (pyproject [project.scripts])
    import json
    import subprocess

    exe = Path(sys.executable).parent / "infra-lab"
    _check("infra-lab console script installed", exe.is_file(), str(exe))
    run = subprocess.run([str(exe), "estimate", names[0], "--format", "json"], capture_output=True,
                         text=True, timeout=300)
    ok = run.returncode == 0 and json.loads(run.stdout)[0]["step_time_s"] > 0
    _check(f"infra-lab estimate {names[0]} --format json", ok, run.stderr.strip()[-300:])
    served = [n for n in names if il.load_scenario(n).kind == "serving"]
    _check("a shipped serving scenario", len(served) > 0, ", ".join(served))
    run = subprocess.run([str(exe), "serve", served[0], "--format", "json"], capture_output=True,
                         text=True, timeout=300)
    ok = run.returncode == 0 and json.loads(run.stdout)[0]["output_tokens_per_s"] > 0
    _check(f"infra-lab serve {served[0]} --format json", ok, run.stderr.strip()[-300:])
    print("smoke: all checks passed")


if __name__ == "__main__":
    sys.exit(main())
