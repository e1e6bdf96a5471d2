"""Turn the raw output of tools/device/measure_kernels.py into data/measurements/device_kernels.csv.

    python tools/device/ingest_kernels.py            # rewrite the CSV from the committed raw runs
    python tools/device/ingest_kernels.py --check    # exit 1 if the CSV differs from what it gives

Each case's value pools the seven timed trials of every raw run listed in RUNS (the median of
all of them); the note gives each run's median so the run-to-run spread is visible. Rows have the
columns of data/compute_measurements.csv, so the compute model predicts them with the same code
(:func:`infra_lab.compute.validation.device_check_table`). The SDPA FlashAttention-2 back-end rows
(kernel ``sdpa-fa2``: PyTorch's in-tree FlashAttention-2, what torchtitan runs on Hopper) and the
grouped GEMM rows (``torch._grouped_mm``, ``torch._scaled_grouped_mm``: what torchtitan's MoE experts
call) are split by the house hash, ``test`` when zlib.crc32(case) % 3 == 0, else ``train`` (the
compute model's ``sdpa-fa2`` parameters and H200 ``grouped_mm_factor`` values are fitted to the train
rows by infra_lab.compute.calibrate); every other row (dense GEMMs, cuDNN attention, the cast) is a
``test`` row: nothing is fitted to them.

FLOP conventions (written out here, independently of the package): a GEMM is 2·m·n·k (grouped:
times the groups); attention forward is 2·(d_qk + d_v)·(batch·heads)·(visible query-key pairs),
with s² pairs without a mask and s·(s+1)/2 with the causal mask; backward is 2.5× its forward.
"""

from __future__ import annotations

import csv
import io
import json
import statistics
import sys
import zlib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
RAW = ROOT / "data" / "measurements" / "device"
CSV = ROOT / "data" / "measurements" / "device_kernels.csv"
RUNS = {"H200-SXM": ["h200_2026-12-04_kernels_run1.json", "h200_2026-12-04_kernels_run2.json"]}
COLUMNS = ["case", "kind", "accelerator", "precision", "m", "n", "k", "groups", "grouped_dim",
           "batch_heads", "head_dim", "seq_len", "causal", "pass", "software", "timing", "value",
           "unit", "role", "source_url", "note"]

_SOFTWARE = {
    "bf16": ("bf16", "torch.mm (cuBLAS)"),
    "fp8-tensorwise-fastaccum": ("fp8", "torch._scaled_mm e4m3, tensor-wise scales, fast accumulation (cuBLASLt)"),
    "fp8-tensorwise": ("fp8", "torch._scaled_mm e4m3, tensor-wise scales, full-precision accumulation (cuBLASLt)"),
    "fp8-rowwise": ("fp8", "torch._scaled_mm e4m3, row-wise scales, fast accumulation"),
}
_GROUPED_SOFTWARE = {
    "bf16": ("bf16", "torch._grouped_mm"),
    "fp8-rowwise": ("fp8", "torch._scaled_grouped_mm e4m3, row-wise scales, fast accumulation"),
}
_ATTN_SOFTWARE = {"fa2": "PyTorch SDPA FlashAttention-2 back end", "cudnn": "PyTorch SDPA cuDNN back end"}
_ATTN_KERNEL = {"fa2": "sdpa-fa2", "cudnn": "cudnn"}    # the compute model's kernel name of each back end
# kernels whose rows are split train/test (the library: ``software`` up to its first ';')
FITTED_KERNELS = ("sdpa-fa2", _GROUPED_SOFTWARE["bf16"][1], _GROUPED_SOFTWARE["fp8-rowwise"][1])


def role_of(case: str, software: str) -> str:
    """``train`` or ``test``: the house split (test when zlib.crc32(case) % 3 == 0) for a kernel in
    FITTED_KERNELS (matched on ``software`` up to its first ';'), ``test`` for every other row."""
    if software.split(";")[0].strip() in FITTED_KERNELS and zlib.crc32(case.encode()) % 3 != 0:
        return "train"
    return "test"


def _key(r: dict) -> tuple:
    """The identity of one measured case across runs."""
    return tuple((k, r[k]) for k in ("kind", "label", "variant", "groups", "m", "n", "k", "backend",
                                     "pass", "seq_len", "causal", "op") if k in r)


def attention_flop(seq_len: int, head_dim: int, batch_heads: int, causal: bool, pass_: str) -> float:
    pairs = seq_len * (seq_len + 1) / 2 if causal else seq_len * seq_len
    fwd = 2.0 * (head_dim + head_dim) * batch_heads * pairs
    return fwd * (2.5 if pass_ == "bwd" else 1.0)


def rows_for(accelerator: str, files: list[str]) -> list[dict]:
    docs = [json.loads((RAW / f).read_text()) for f in files]
    m0 = docs[0]["machine"]
    sw_tail = f"torch {m0['torch']}, CUDA {m0['cuda']}, {m0['cublas']}, cuDNN {m0['cudnn']}; driver {m0['driver']}"
    src = " ; ".join(f"repo:data/measurements/device/{f}" for f in files)
    pooled: dict[tuple, list] = {}
    first: dict[tuple, dict] = {}
    for d in docs:
        for r in d["records"]:
            if "trials_s" not in r or r["kind"] not in ("gemm", "grouped_gemm", "attention", "cast"):
                continue
            k = _key(r)
            pooled.setdefault(k, []).append(r)
            first.setdefault(k, r)
    out = []
    for k, rs in pooled.items():
        r = first[k]
        trials = [t for x in rs for t in x["trials_s"]]
        t = statistics.median(trials)
        per_run = ", ".join(f"{statistics.median(x['trials_s']) * 1e6:.2f}" for x in rs)
        modes = sorted({x["timing"] for x in rs})
        base = {c: "" for c in COLUMNS}
        base.update(accelerator=accelerator, timing="kernel", role="test", source_url=src)
        how = (f"measured by the project on one {m0['gpu']} ({m0['power_limit_W']} limit, {m0['sm_count']} SMs), "
               f"{len(trials)} timed trials over {len(rs)} runs, median; per-run medians [us]: {per_run}; "
               f"timed as {' / '.join(modes)} ({r['reps']} calls per trial, {r['sets']} rotating operand sets)")
        if r["kind"] == "gemm":
            prec, sw = _SOFTWARE[r["variant"]]
            flop = 2.0 * r["m"] * r["n"] * r["k"]
            base.update(case=f"h200-here-{r['variant']}-{r['m']}x{r['n']}x{r['k']}", kind="gemm", precision=prec,
                        m=r["m"], n=r["n"], k=r["k"], software=f"{sw}; {sw_tail}",
                        value=round(flop / t / 1e12, 2), unit="TFLOP/s",
                        note=f"{r['label']} shape; A (m,k) row-major times W (n,k) transposed (a linear layer's "
                             f"forward); random normal data; {how}")
        elif r["kind"] == "grouped_gemm":
            prec, sw = _GROUPED_SOFTWARE[r["variant"]]
            flop = 2.0 * r["groups"] * r["m"] * r["n"] * r["k"]
            base.update(case=f"h200-here-grouped-{r['variant']}-{r['groups']}x{r['m']}x{r['n']}x{r['k']}",
                        kind="grouped_gemm", precision=prec, m=r["m"], n=r["n"], k=r["k"], groups=r["groups"],
                        grouped_dim="m", software=f"{sw}; {sw_tail}", value=round(flop / t / 1e12, 2),
                        unit="TFLOP/s",
                        note=f"{r['label']}; m is the rows per group, every group has the same m; 2D x 3D "
                             f"(tokens x experts' weights, weights transposed as torchtitan passes them); {how}")
        elif r["kind"] == "attention":
            bh = r["batch"] * r["heads"]
            flop = attention_flop(r["seq_len"], r["head_dim"], bh, r["causal"], r["pass"])
            base.update(case=f"h200-here-{r['backend']}-{r['pass']}-{'causal' if r['causal'] else 'full'}-{r['seq_len']}",
                        kind="attention", precision="bf16", batch_heads=bh, head_dim=r["head_dim"],
                        seq_len=r["seq_len"], causal=str(bool(r["causal"])).lower(), **{"pass": r["pass"]},
                        software=_ATTN_KERNEL[r["backend"]], value=round(flop / t / 1e12, 2), unit="TFLOP/s",
                        note=f"{_ATTN_SOFTWARE[r['backend']]} ({sw_tail}); batch {r['batch']} x {r['heads']} heads, "
                             f"16k tokens per call; FLOP = 2(d_qk+d_v) x batch-heads x visible pairs (causal "
                             f"s(s+1)/2), backward 2.5x; the backward is timed as autograd.grad over a retained "
                             f"graph; {how}")
        else:
            base.update(case=f"h200-here-cast-fp8-{r['m']}x{r['n']}", kind="cast", precision="fp8",
                        m=r["m"], n=r["n"], software=f"torch.compile (Inductor/Triton) fused cast; {sw_tail}",
                        value=round(t * 1e6, 2), unit="us",
                        note=f"bf16 -> fp8 e4m3 with a precomputed tensor-wise scale, one fused kernel; {how}")
        base["role"] = role_of(base["case"], base["software"])
        out.append(base)
    return out


def render() -> str:
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=COLUMNS, lineterminator="\n")
    w.writeheader()
    for acc, files in RUNS.items():
        for r in rows_for(acc, files):
            w.writerow(r)
    return buf.getvalue()


def main() -> int:
    text = render()
    if "--check" in sys.argv:
        same = CSV.exists() and CSV.read_text() == text
        print("device_kernels.csv is " + ("up to date" if same else "STALE: rerun tools/device/ingest_kernels.py"))
        return 0 if same else 1
    CSV.write_text(text)
    print(f"wrote {CSV.relative_to(ROOT)}: {text.count(chr(10)) - 1} rows")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
