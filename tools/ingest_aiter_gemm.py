"""Build data/measurements/gemm_4bit_kernels.csv from AMD aiter's tuned MXFP4 GEMM table.

Input: ``aiter/configs/a4w4_blockscale_tuned_gemm.csv`` of ROCm/aiter at the pinned commit
(columns gfx, cu_num, M, N, K, kernelId, splitK, us, kernelName, tflops, bw, errRatio): for
every shape the fastest of aiter's CK and assembly A4W4 kernels (MXFP4 activations and
weights, 1x32 E8M0 block scales, bf16 output) on a gfx950 part with 256 CUs (MI355X), ``us``
the mean kernel time of 101 calls read from the torch profiler, inputs rotated over copies
larger than the caches (aiter/test_common.py ``perftest``).

Usage::

    git -C <aiter checkout> show <commit>:aiter/configs/a4w4_blockscale_tuned_gemm.csv > a4w4.csv
    python tools/ingest_aiter_gemm.py a4w4.csv > data/measurements/gemm_4bit_kernels.csv

Each row's split is the house hash: ``test`` when zlib.crc32(case) % 3 == 0, else ``train``.
"""

from __future__ import annotations

import csv
import sys
import zlib

COMMIT = "e4048607a535ace3a2b51ded31b1c8c2d45c0879"
SOURCE = f"https://github.com/ROCm/aiter/blob/{COMMIT}/aiter/configs/a4w4_blockscale_tuned_gemm.csv"
NOTE = "PRIMARY (aiter tuner output); value = 2 M N K / kernel_us; timing: data/measurements/README.md"
COLUMNS = ("case", "kind", "accelerator", "precision", "m", "n", "k", "groups", "grouped_dim", "batch_heads",
           "head_dim", "seq_len", "causal", "pass", "software", "kernel", "timing", "kernel_us", "value", "unit",
           "role", "source_url", "note")
"""The columns of data/compute_measurements.csv (the attention and grouped ones empty here), plus
``kernel`` (aiter's kernel name) and ``kernel_us`` (aiter's mean kernel time [us])."""


def rows(path: str) -> list[dict]:
    out = []
    with open(path, newline="") as f:
        for r in csv.DictReader(f):
            if r["gfx"] != "gfx950" or int(r["cu_num"]) != 256:
                raise SystemExit(f"unexpected device row {r['gfx']} / {r['cu_num']} CUs")
            m, n, k, us = int(r["M"]), int(r["N"]), int(r["K"]), float(r["us"])
            case = f"aiter-mi355x-mxfp4-{m}x{n}x{k}"
            out.append({
                "case": case, "kind": "gemm", "accelerator": "MI355X", "precision": "mxfp4",
                "m": m, "n": n, "k": k, "software": f"aiter a4w4 tuned (split-K {r['splitK']})",
                "kernel": r["kernelName"], "timing": "kernel", "kernel_us": r["us"],
                "value": f"{2.0 * m * n * k / (us * 1e-6) / 1e12:.6g}", "unit": "TFLOP/s",
                "role": "test" if zlib.crc32(case.encode()) % 3 == 0 else "train", "source_url": SOURCE,
                "note": NOTE,
            })
    cases = [r["case"] for r in out]
    if len(set(cases)) != len(cases):
        raise SystemExit("duplicate shapes in the input")
    return out


def main(argv: list[str]) -> None:
    if len(argv) != 2:
        raise SystemExit(__doc__)
    w = csv.DictWriter(sys.stdout, fieldnames=COLUMNS, lineterminator="\n", restval="")
    w.writeheader()
    for r in rows(argv[1]):
        w.writerow(r)


if __name__ == "__main__":
    main(sys.argv)
