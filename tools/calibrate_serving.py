"""Refit the serving stacks' calibrated factors on the training split and write them into
data/stacks.csv (basis "fitted", a dated note naming the split, the rows, the loss and the
value before the refit).

Run: .venv/bin/python tools/calibrate_serving.py --why "what changed in the model or the data"

Only the training split of data/measurements/serving_benchmarks.csv is used
(infra_lab.serving.split_of); the test split is reported by infra_lab.serving.validation().
Stacks without training rows keep their values (vendor-symmetric assumptions), and the
current SGLang stacks, which have no measurement of the current generation, take the
fitted factors of vLLM on the same platform (basis "derived"). tests/test_serving_stored_factors.py
checks that the stored values are still where the fit stops.
"""

from __future__ import annotations

import argparse
import csv
import datetime
import io
from pathlib import Path

from infra_lab import catalog, serving


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--why", required=True, help="why the refit was run (written into each fitted row's note)")
    ap.add_argument("--date", default=datetime.datetime.now(datetime.UTC).date().isoformat(),
                    help="the refit's date in the notes (default: today, UTC)")
    args = ap.parse_args()
    why = args.why.strip().rstrip(".")
    if not why:
        raise SystemExit("--why: say what changed (e.g. 'rows added to the train split')")
    cal = serving.calibrate(serving.CALIBRATED)
    fitted = {(r["stack"], r["parameter"]): r for r in cal.iter_rows(named=True)}
    borrow = {"sglang-cuda": "vllm-cuda", "sglang-rocm": "vllm-rocm"}
    path = Path(catalog.DATA_DIR) / "stacks.csv"
    # one record per line (no note spans lines); a line whose row is not rewritten stays as it is
    lines = path.read_text().splitlines()
    rows = [next(csv.reader([line])) for line in lines]
    h = rows[0]
    if any(len(r) != len(h) for r in rows):
        raise SystemExit(f"{path}: expected one record of {len(h)} fields per line")
    ix = {c: i for i, c in enumerate(h)}
    out = list(lines)
    for i, r in enumerate(rows[1:], start=1):
        key = (r[ix["stack"]], r[ix["parameter"]])
        before = list(r)
        if key in fitted:
            f = fitted[key]
            new = f"{f['value']:.6g}"
            old = r[ix["value"]]
            moved = "unchanged" if float(old) == float(new) else f"{old} -> {new}"
            r[ix["value"]] = new
            r[ix["basis"]] = "fitted"
            r[ix["source_url"]] = "https://github.com/ROCm/ATOM ; https://github.com/NVIDIA/TensorRT-LLM ; https://github.com/vllm-project/vllm"
            r[ix["note"]] = (f"Fitted by infra_lab.serving.calibrate() (tools/calibrate_serving.py) on the "
                             f"{f['rows']} training-split rows of this stack in data/measurements/"
                             f"serving_benchmarks.csv (sources and URLs per row there); loss (mean weighted "
                             f"|ln error| of output tok/s per GPU, TPOT, TTFT, static e2e) {f['loss_start']:.3f} -> "
                             f"{f['loss']:.3f}. Last refit {args.date} ({moved}): {why}. "
                             f"Test split: serving.validation().")
        elif key[0] in borrow and key[1] in serving.CALIBRATED and (borrow[key[0]], key[1]) in fitted:
            f = fitted[(borrow[key[0]], key[1])]
            r[ix["value"]] = f"{f['value']:.6g}"
            r[ix["basis"]] = "derived"
            r[ix["note"]] = (f"No published measurement of current SGLang on this platform in the validation set: "
                             f"the fitted value of {borrow[key[0]]} (same platform, same GPU kernels class) is used.")
        if r != before:
            buf = io.StringIO()
            csv.writer(buf, lineterminator="").writerow(r)
            out[i] = buf.getvalue()
    path.write_text("\n".join(out) + "\n")
    print(cal)


if __name__ == "__main__":
    main()
