"""Sustained large BF16 GEMMs on one NVIDIA GPU, in the three layouts a training step uses, with
the board's clock and power read alongside (data/measurements/device/*_gemm_layout.json).

    OUT=dir python tools/device/measure_gemm_layout.py

For 8192^3, 16384^3 and a Llama 3 8B gate/up shape: NN (a @ b), NT (a @ w.t(), a linear layer's
forward), TN (a.t() @ b, its weight gradient), with and without ``out=``, on random normal data made
in bf16 or in fp32 and converted, and on uniform [0, 1) data; 9 timed trials of 10-40 back-to-back
products each, median. A thread reads nvidia-smi (SM clock, power draw, temperature) every 0.2 s.
Clocks and power limit are read, never set. Read by infra_lab.compute.device_gemm_layout_check.
(The committed version is the 2026-12-04 one reformatted for the linter, one statement per line
and closures binding their variables; what runs and what is timed are the same.)
"""

import json
import os
import statistics
import subprocess
import threading
import time

import torch

DEV = "cuda"
OUT = os.environ.get("OUT", ".")
res = []
clk = []
stop = False


def poll():
    while not stop:
        r = subprocess.run(["nvidia-smi", "--query-gpu=clocks.sm,power.draw,temperature.gpu",
                            "--format=csv,noheader"], capture_output=True, text=True).stdout.strip()
        clk.append((time.time(), r))
        time.sleep(0.2)


def bench(f, iters):
    for _ in range(5):
        f()
    torch.cuda.synchronize()
    ts = []
    for _ in range(9):
        a = torch.cuda.Event(enable_timing=True)
        b = torch.cuda.Event(enable_timing=True)
        a.record()
        for _ in range(iters):
            f()
        b.record()
        b.synchronize()
        ts.append(a.elapsed_time(b) / 1e3 / iters)
    return statistics.median(ts), ts


def operands(init, m, n, k):
    g = torch.Generator(device=DEV).manual_seed(1)
    shapes = ((m, k), (k, n), (n, k), (k, m))          # A, B (k,n), W (n,k), A^T storage (k,m)
    if init == "randn_bf16":
        return [torch.randn(*s, device=DEV, dtype=torch.bfloat16, generator=g) for s in shapes]
    if init == "randn_f32_to_bf16":
        return [torch.randn(*s, device=DEV, generator=g).bfloat16() for s in shapes]
    return [torch.rand(*s, device=DEV, generator=g).bfloat16() for s in shapes]


def main():
    global stop
    th = threading.Thread(target=poll, daemon=True)
    th.start()
    for m, n, k in ((8192, 8192, 8192), (16384, 16384, 16384), (8192, 28672, 4096)):
        it = 40 if m == 8192 and n == 8192 else 10
        for init in ("randn_bf16", "randn_f32_to_bf16", "uniform"):
            A, Bkn, Bnk, Akm = operands(init, m, n, k)
            C = torch.empty(m, n, device=DEV, dtype=torch.bfloat16)
            cases = {"NN a@b": lambda A=A, B=Bkn: A @ B,
                     "NT a@w.t()": lambda A=A, W=Bnk: A @ W.t(),
                     "TN at.t()@b": lambda At=Akm, B=Bkn: At.t() @ B,
                     "NN mm out=": lambda A=A, B=Bkn, C=C: torch.mm(A, B, out=C),
                     "NT mm out=": lambda A=A, W=Bnk, C=C: torch.mm(A, W.t(), out=C)}
            if init != "randn_bf16":
                cases = {name: f for name, f in cases.items() if name in ("NN a@b", "NT a@w.t()")}
            for name, f in cases.items():
                t, ts = bench(f, it)
                r = dict(m=m, n=n, k=k, init=init, layout=name, time_s=t, tflops=2 * m * n * k / t / 1e12,
                         trials_s=ts, t=time.time())
                res.append(r)
                print(m, n, k, init, name, round(r["tflops"], 1), flush=True)
            del A, Bkn, Bnk, Akm, C, cases
            torch.cuda.empty_cache()
    stop = True
    th.join()
    with open(os.path.join(OUT, "layout.json"), "w") as fh:
        json.dump(dict(torch=torch.__version__, results=res, clocks=clk), fh, indent=1)
    print("clock samples", len(clk), clk[:: max(1, len(clk) // 12)])


if __name__ == "__main__":
    main()
