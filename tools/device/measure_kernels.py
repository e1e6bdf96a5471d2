"""Measure the kernels infra_lab's compute model prices, on the one NVIDIA GPU this runs on.

Run on a machine with a CUDA GPU and PyTorch (nothing from infra_lab is imported, so the script
runs under any Python that has torch):

    python tools/device/measure_kernels.py OUT_DIR [--quick]

It writes OUT_DIR/kernels.json: the machine (GPU, driver, clocks and power limit read before and
after, torch / CUDA / cuBLAS / cuDNN versions, CPU) and one record per measured case with the
median time of seven timed trials and all seven trials. Inputs are random normal (never zeros:
low-toggle data runs the tensor cores faster than real data). Small operands rotate among
several buffer sets so that back-to-back calls do not re-read the L2 cache. Kernels shorter than
about 100 us are timed as CUDA-graph replays (device time without the host's launch gaps); longer
ones as back-to-back eager calls between CUDA events. The clocks and power limit are read, never
set. (The committed version differs from the one that produced the 2026-12-04 runs only in how
its closures bind their variables, for the linter; what runs and what is timed are the same.)

Cases, in order (each section is independent; an error is recorded and the next one runs):
  gemm        torch.mm bf16 (cuBLAS) over square, Llama 3 8B/70B layer and DeepSeek-V3 expert
              shapes; fp8 e4m3 torch._scaled_mm with tensor-wise scales (fast accumulation on
              and off) and row-wise scales;
  grouped     torch._grouped_mm bf16 and torch._scaled_grouped_mm fp8 row-wise, equal groups;
  attention   scaled_dot_product_attention bf16, FlashAttention-2 and cuDNN back ends, forward
              and backward, causal and not, head dim 128, 16 heads, 16k tokens per call;
  memory      device-to-device copy and a read-only reduction (HBM bandwidth);
  launch      host time per eager op and device time per kernel in a graph (tiny kernels);
  cast        a torch.compile'd bf16 -> fp8 tensor-wise cast (one fused kernel).
"""

from __future__ import annotations

import json
import math
import os
import platform
import statistics
import subprocess
import sys
import time
import traceback

import torch
import torch.nn.functional as F

DEV = torch.device("cuda")
BF16 = torch.bfloat16
FP8 = torch.float8_e4m3fn
ROTATE_BYTES = 256 * 2**20      # rotate operand sets until they span this many bytes (L2 is 60 MB)
MAX_SETS = 32
TRIALS = 7
TARGET_S = 0.03                 # each timed trial runs about this long
GRAPH_BELOW_S = 100e-6          # time kernels shorter than this as graph replays


def smi(query: str) -> str:
    try:
        return subprocess.run(["nvidia-smi", f"--query-gpu={query}", "--format=csv,noheader"],
                              capture_output=True, text=True, timeout=20).stdout.strip()
    except Exception as e:      # noqa: BLE001 - recorded, never fatal
        return f"error: {e}"


def machine() -> dict:
    cpu = ""
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next((ln.split(":", 1)[1].strip() for ln in f if ln.startswith("model name")), "")
    except OSError:
        pass
    p = torch.cuda.get_device_properties(0)
    return {
        "gpu": torch.cuda.get_device_name(0), "sm_count": p.multi_processor_count,
        "memory_GiB": p.total_memory / 2**30, "capability": f"{p.major}.{p.minor}",
        "driver": smi("driver_version"), "power_limit_W": smi("power.limit"),
        "clocks_max_sm_MHz": smi("clocks.max.sm"), "clocks_max_mem_MHz": smi("clocks.max.mem"),
        "torch": torch.__version__, "cuda": torch.version.cuda,
        "cudnn": torch.backends.cudnn.version(), "cublas": _cublas_version(),
        "python": platform.python_version(), "cpu": cpu, "cpu_count": os.cpu_count(),
        "utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }


def _cublas_version() -> str:
    try:
        from importlib.metadata import version
        for name in ("nvidia-cublas", "nvidia-cublas-cu13", "nvidia-cublas-cu12"):
            try:
                return f"{name} {version(name)}"
            except Exception:   # noqa: BLE001
                continue
    except Exception:           # noqa: BLE001
        pass
    return "unknown"


def _events():
    return torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)


def time_calls(calls: list, *, graph: bool | None = None) -> dict:
    """Median seconds per call of ``calls`` (closures cycled in order), seven trials."""
    n = len(calls)
    s = torch.cuda.Stream()
    s.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(s):                      # warm up off the default stream (graph rule)
        for c in calls:
            c()
        for c in calls[:3]:
            c()
    torch.cuda.current_stream().wait_stream(s)
    torch.cuda.synchronize()
    a, b = _events()
    a.record()
    for i in range(max(n, 3)):
        calls[i % n]()
    b.record()
    b.synchronize()
    t1 = a.elapsed_time(b) / 1e3 / max(n, 3)
    use_graph = (t1 < GRAPH_BELOW_S) if graph is None else graph
    reps = int(min(5000, max(3, math.ceil(TARGET_S / max(t1, 1e-7)))))
    reps = max(n, reps - reps % n) if reps >= n else n
    trials = []
    mode = "eager"
    if use_graph:
        try:
            g = torch.cuda.CUDAGraph()
            with torch.cuda.graph(g):
                for i in range(reps):
                    calls[i % n]()
            g.replay()
            torch.cuda.synchronize()
            for _ in range(TRIALS):
                a.record()
                g.replay()
                b.record()
                b.synchronize()
                trials.append(a.elapsed_time(b) / 1e3 / reps)
            mode = "graph"
            del g
        except Exception as e:      # noqa: BLE001 - fall back to eager timing, say so
            trials, mode = [], f"eager (graph failed: {type(e).__name__})"
            torch.cuda.synchronize()
    if not trials:
        for _ in range(TRIALS):
            a.record()
            for i in range(reps):
                calls[i % n]()
            b.record()
            b.synchronize()
            trials.append(a.elapsed_time(b) / 1e3 / reps)
    return {"time_s": statistics.median(trials), "trials_s": trials, "reps": reps, "sets": n,
            "timing": mode}


def n_sets(bytes_per_set: int) -> int:
    return int(min(MAX_SETS, max(1, math.ceil(ROTATE_BYTES / max(bytes_per_set, 1)))))


def randn(*shape, dtype=BF16):
    return torch.randn(*shape, device=DEV, dtype=torch.float32).to(dtype)


def to_fp8(x: torch.Tensor) -> torch.Tensor:
    return (x.float() * (448.0 / 4.0)).clamp(-448, 448).to(FP8)   # randn spans ~±4: use the range


GEMM_SHAPES = [
    # (label, m, n, k)
    ("square", 1024, 1024, 1024), ("square", 2048, 2048, 2048), ("square", 4096, 4096, 4096),
    ("square", 8192, 8192, 8192), ("square", 16384, 16384, 16384),
    ("llama3-8b-qkv", 8192, 6144, 4096), ("llama3-8b-o", 8192, 4096, 4096),
    ("llama3-8b-gate-up", 8192, 28672, 4096), ("llama3-8b-down", 8192, 4096, 14336),
    ("llama3-70b-tp8-qkv", 8192, 1280, 8192), ("llama3-70b-tp8-o", 8192, 8192, 1024),
    ("llama3-70b-tp8-gate-up", 8192, 7168, 8192), ("llama3-70b-tp8-down", 8192, 8192, 3584),
    ("dsv3-expert-gate-up", 128, 4096, 7168), ("dsv3-expert-gate-up", 512, 4096, 7168),
    ("dsv3-expert-gate-up", 2048, 4096, 7168), ("dsv3-expert-gate-up", 8192, 4096, 7168),
    ("dsv3-expert-down", 128, 7168, 2048), ("dsv3-expert-down", 512, 7168, 2048),
    ("dsv3-expert-down", 2048, 7168, 2048), ("dsv3-expert-down", 8192, 7168, 2048),
    ("deepgemm-shape", 64, 2112, 7168), ("deepgemm-shape", 64, 24576, 1536),
    ("deepgemm-shape", 64, 32768, 512), ("deepgemm-shape", 64, 7168, 16384),
    ("deepgemm-shape", 64, 4096, 7168), ("deepgemm-shape", 4096, 4096, 7168),
]


def gemm_section(rec, quick: bool) -> None:
    shapes = GEMM_SHAPES[:6] if quick else GEMM_SHAPES
    for label, m, n, k in shapes:
        for variant in ("bf16", "fp8-tensorwise-fastaccum", "fp8-tensorwise", "fp8-rowwise"):
            if quick and variant == "fp8-tensorwise":
                continue
            try:
                ns = n_sets((m * k + k * n) * (2 if variant == "bf16" else 1))
                calls = []
                for _ in range(ns):
                    a = randn(m, k)
                    w = randn(n, k)
                    if variant == "bf16":
                        out = torch.empty(m, n, device=DEV, dtype=BF16)
                        bt = w.t()
                        calls.append(lambda a=a, bt=bt, out=out: torch.mm(a, bt, out=out))
                    else:
                        a8, b8 = to_fp8(a), to_fp8(w).t()          # b column-major (k, n)
                        if variant == "fp8-rowwise":
                            sa = torch.full((m, 1), 1 / 112.0, device=DEV)
                            sb = torch.full((1, n), 1 / 112.0, device=DEV)
                            fast = True
                        else:
                            sa = torch.tensor(1 / 112.0, device=DEV)
                            sb = torch.tensor(1 / 112.0, device=DEV)
                            fast = variant.endswith("fastaccum")
                        calls.append(lambda a8=a8, b8=b8, sa=sa, sb=sb, fast=fast: torch._scaled_mm(
                            a8, b8, sa, sb, out_dtype=BF16, use_fast_accum=fast))
                    del a, w
                r = time_calls(calls)
                rec("gemm", {"label": label, "variant": variant, "m": m, "n": n, "k": k,
                             "tflops": 2.0 * m * n * k / r["time_s"] / 1e12, **r})
                del calls
            except Exception as e:      # noqa: BLE001
                rec("error", {"section": "gemm", "variant": variant, "m": m, "n": n, "k": k,
                              "error": f"{type(e).__name__}: {e}"[:400]})
            torch.cuda.empty_cache()


GROUPED = [
    # (label, groups, rows per group, n, k)
    ("dsv3-gate-up", 8, 128, 4096, 7168), ("dsv3-gate-up", 8, 512, 4096, 7168),
    ("dsv3-gate-up", 8, 2048, 4096, 7168), ("dsv3-gate-up", 8, 8192, 4096, 7168),
    ("dsv3-down", 8, 128, 7168, 2048), ("dsv3-down", 8, 512, 7168, 2048),
    ("dsv3-down", 8, 2048, 7168, 2048), ("dsv3-down", 8, 8192, 7168, 2048),
    ("qwen3-30b-a3b-gate-up", 16, 256, 1536, 2048), ("qwen3-30b-a3b-gate-up", 16, 1024, 1536, 2048),
    ("qwen3-30b-a3b-gate-up", 16, 4096, 1536, 2048), ("qwen3-30b-a3b-down", 16, 256, 2048, 768),
    ("qwen3-30b-a3b-down", 16, 1024, 2048, 768), ("qwen3-30b-a3b-down", 16, 4096, 2048, 768),
    ("deepgemm-grouped", 4, 8192, 4096, 7168), ("deepgemm-grouped", 8, 4096, 7168, 2048),
]


def grouped_section(rec, quick: bool) -> None:
    cases = GROUPED[:3] if quick else GROUPED
    for label, G, m, n, k in cases:
        for variant in ("bf16", "fp8-rowwise"):
            try:
                offs = torch.arange(m, G * m + 1, m, device=DEV, dtype=torch.int32)
                ns = n_sets((G * m * k + G * k * n) * (2 if variant == "bf16" else 1))
                calls = []
                for _ in range(ns):
                    a = randn(G * m, k)
                    w = randn(G, n, k)
                    if variant == "bf16":
                        bt = w.transpose(-2, -1)
                        calls.append(lambda a=a, bt=bt, offs=offs: torch._grouped_mm(a, bt, offs=offs, out_dtype=BF16))
                    else:
                        a8, b8 = to_fp8(a), to_fp8(w).transpose(-2, -1)
                        sa = torch.full((G * m,), 1 / 112.0, device=DEV)
                        sb = torch.full((G, n), 1 / 112.0, device=DEV)
                        calls.append(lambda a8=a8, b8=b8, sa=sa, sb=sb, offs=offs: torch._scaled_grouped_mm(
                            a8, b8, sa, sb, offs=offs, out_dtype=BF16, use_fast_accum=True))
                    del a, w
                r = time_calls(calls)
                rec("grouped_gemm", {"label": label, "variant": variant, "groups": G, "m": m, "n": n,
                                     "k": k, "tflops": 2.0 * G * m * n * k / r["time_s"] / 1e12, **r})
                del calls
            except Exception as e:      # noqa: BLE001
                rec("error", {"section": "grouped", "variant": variant, "groups": G, "m": m,
                              "error": f"{type(e).__name__}: {e}"[:400]})
            torch.cuda.empty_cache()


def attention_section(rec, quick: bool) -> None:
    from torch.nn.attention import SDPBackend, sdpa_kernel
    backends = {"fa2": SDPBackend.FLASH_ATTENTION, "cudnn": SDPBackend.CUDNN_ATTENTION}
    heads, d, tokens = 16, 128, 16384
    seqs = (1024, 4096) if quick else (512, 1024, 2048, 4096, 8192, 16384)
    for name, be in backends.items():
        for s in seqs:
            for causal in (False, True):
                b = tokens // s
                try:
                    q, k_, v = (randn(b, heads, s, d).requires_grad_() for _ in range(3))
                    with sdpa_kernel(be):
                        fwd = time_calls([lambda q=q, k_=k_, v=v, causal=causal: F.scaled_dot_product_attention(
                            q, k_, v, is_causal=causal)],
                                         graph=False)
                        out = F.scaled_dot_product_attention(q, k_, v, is_causal=causal)
                        go = torch.randn_like(out)
                        bwd = time_calls([lambda out=out, q=q, k_=k_, v=v, go=go: torch.autograd.grad(
                            out, (q, k_, v), go, retain_graph=True)],
                                         graph=False)
                    for ps, r in (("fwd", fwd), ("bwd", bwd)):
                        rec("attention", {"backend": name, "pass": ps, "seq_len": s, "batch": b,
                                          "heads": heads, "head_dim": d, "causal": causal, **r})
                    del q, k_, v, out, go
                except Exception as e:      # noqa: BLE001
                    rec("error", {"section": "attention", "backend": name, "seq_len": s, "causal": causal,
                                  "error": f"{type(e).__name__}: {e}"[:400]})
                torch.cuda.empty_cache()


def memory_section(rec, quick: bool) -> None:
    n = 2**30            # 1 Gi bf16 elements = 2 GiB per tensor
    x = randn(n)
    y = torch.empty_like(x)
    r = time_calls([lambda x=x, y=y: y.copy_(x)], graph=False)
    rec("memory", {"op": "copy", "bytes": 2 * 2 * n, "TBps": 4 * n / r["time_s"] / 1e12, **r})
    r = time_calls([lambda x=x: x.sum(dtype=torch.float32)], graph=False)
    rec("memory", {"op": "sum", "bytes": 2 * n, "TBps": 2 * n / r["time_s"] / 1e12, **r})
    del x, y
    torch.cuda.empty_cache()


def launch_section(rec, quick: bool) -> None:
    a = torch.ones(1, device=DEV)
    # host: eager ops issued back to back, the GPU idle-fast (one-element kernels)
    reps = 2000
    for _ in range(200):
        a.add_(1.0)
    torch.cuda.synchronize()
    host = []
    for _ in range(TRIALS):
        t0 = time.perf_counter()
        for _ in range(reps):
            a.add_(1.0)
        torch.cuda.synchronize()
        host.append((time.perf_counter() - t0) / reps)
    rec("launch", {"what": "eager op, host-issued (one-element add_)", "time_s": statistics.median(host),
                   "trials_s": host, "reps": reps})
    r = time_calls([lambda: a.add_(1.0)], graph=True)
    rec("launch", {"what": "kernel in a CUDA graph (one-element add_)", **r})
    # a mid-size eager op chain: 8 MB elementwise, host vs device bound check
    x = randn(4 * 2**20)
    r = time_calls([lambda: x.mul_(1.0000001)], graph=True)
    rec("launch", {"what": "8 MiB bf16 mul_ in a CUDA graph", "bytes": 2 * x.numel() * 2, **r})


def cast_section(rec, quick: bool) -> None:
    fn = torch.compile(lambda x, s: (x.float() * s).clamp(-448.0, 448.0).to(FP8), dynamic=False)
    for m, n in ((16384, 7168), (131072, 7168), (131072, 2048)):
        try:
            ns = n_sets(m * n * 3)
            xs = [randn(m, n) for _ in range(ns)]
            s = torch.tensor(50.0, device=DEV)
            for x in xs[:1]:
                fn(x, s)
            r = time_calls([lambda x=x, s=s: fn(x, s) for x in xs], graph=False)
            rec("cast", {"op": "bf16 -> fp8 e4m3, tensor-wise scale (torch.compile, one kernel)",
                         "m": m, "n": n, "bytes": 3 * m * n, **r})
            del xs
        except Exception as e:      # noqa: BLE001
            rec("error", {"section": "cast", "m": m, "n": n, "error": f"{type(e).__name__}: {e}"[:400]})
        torch.cuda.empty_cache()


def main() -> None:
    out_dir = sys.argv[1] if len(sys.argv) > 1 else "."
    quick = "--quick" in sys.argv
    budget = float(os.environ.get("MEASURE_BUDGET_S", "420"))
    os.makedirs(out_dir, exist_ok=True)
    path = os.path.join(out_dir, "kernels.json")
    doc = {"script": "tools/device/measure_kernels.py", "quick": quick, "machine": machine(),
           "records": [], "sections_s": {}}
    t_start = time.time()

    def rec(kind: str, d: dict) -> None:
        doc["records"].append({"kind": kind, **d})
        brief = {k: (round(v, 3) if isinstance(v, float) else v) for k, v in d.items()
                 if k not in ("trials_s",)}
        print(kind, brief, flush=True)

    def save() -> None:
        with open(path, "w") as f:
            json.dump(doc, f, indent=1)

    torch.manual_seed(0)
    sections = [("memory", memory_section), ("launch", launch_section), ("gemm", gemm_section),
                ("attention", attention_section), ("grouped", grouped_section), ("cast", cast_section)]
    for name, fn in sections:
        if time.time() - t_start > budget:
            rec("error", {"section": name, "error": f"skipped: over the {budget:.0f} s budget"})
            continue
        t0 = time.time()
        try:
            fn(rec, quick)
        except Exception:           # noqa: BLE001
            rec("error", {"section": name, "error": traceback.format_exc()[-1500:]})
        doc["sections_s"][name] = time.time() - t0
        torch.cuda.synchronize()
        save()
    doc["machine_after"] = {"clocks_sm_MHz": smi("clocks.sm"), "temperature_C": smi("temperature.gpu"),
                            "power_draw_W": smi("power.draw"),
                            "throttle": smi("clocks_throttle_reasons.active")}
    doc["total_s"] = time.time() - t_start
    save()
    print("done", round(doc["total_s"], 1), "s;", sum(r["kind"] == "error" for r in doc["records"]), "errors")


if __name__ == "__main__":
    main()
