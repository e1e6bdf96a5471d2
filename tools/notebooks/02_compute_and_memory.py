"""Generate notebooks/02_compute_and_memory.ipynb."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from nbbuild import write_notebook  # noqa: E402

NAV = ("← [01 · The deployment](01_the_deployment.ipynb) · [index](00_index.ipynb) · "
       "[03 · Interconnect](03_interconnect.ipynb) →")

cells = [
    ("md", rf"""
# 02 · Compute and memory: what one MI300X really delivers

{NAV}

**Question.** On paper an MI300X has 1,307 TFLOP/s of dense BF16 and 192 GB of HBM3 — 1.3× an
H100's compute and 2.4× its memory. How much of that peak do real GEMMs reach (tile and wave
quantization on 304 compute units, the ~200 GFLOP rule), where do a transformer's GEMMs,
attention and element-wise ops sit on the roofline, and what does 192 GB buy — why could
Zyphra train ZAYA1 with plain data parallelism and ZeRO-1, and serve a 70B model on one GPU?

Everything below is computed by `il.compute` and `il.memory` from the catalog
(`data/accelerators.csv`, `data/device_measurements.csv`) and the model's constants
(`data/compute_params.csv`, each row with its basis — fitted, rule, measured, assumption —
and source).
"""),
    ("md", r"""
## 1. Rooflines and ridge points

Time of an op = max(FLOP / (peak × efficiency), bytes / (HBM bandwidth × memory efficiency)) +
a launch overhead. The *ridge point* peak / bandwidth is the arithmetic intensity an op needs
before compute, not memory, limits it.
"""),
    ("code", r"""
DEVICES = ["MI300X", "H100-SXM", "H200-SXM", "B200", "MI355X"]
ridges = il.compute.ridge_points(DEVICES, "bf16")
ridges
"""),
    ("md", r"""
*Sources:* peaks and bandwidths from `data/accelerators.csv` (hardware.md §1: Stas Bekman's
accelerator chapter, Glenn Lockwood's pages, AMD/NVIDIA datasheets). The *achievable* ridge
uses the GEMM ceiling fitted below and the achieved HBM fraction (MI300X 4.33 of 5.3 TB/s,
H100 3.04 of 3.35 TB/s, arXiv 2511.17127 as quoted in hardware.md §2.4).
"""),
    ("code", r"""
spec = il.models.get("llama3-8b")
points = il.compute.roofline_points(spec, 4096, 1, ["MI300X", "H100-SXM"])
il.charts.roofline_chart(il.compute.roofline(DEVICES), points,
                         title="Rooflines (BF16 dense) and one Llama-3-8B layer, s = 4096, b = 1")
"""),
    ("code", r"""
ops = il.compute.layer_ops(spec, 4096, 1, 1, "MI300X", passes=("fwd", "bwd"))
share = (ops.filter(pl.col("layer_kind") == "dense").group_by("op_type")
            .agg(pl.col("time_s").sum() * 1e3).rename({"time_s": "ms_per_layer"})
            .with_columns((100 * pl.col("ms_per_layer") / pl.col("ms_per_layer").sum()).round(1).alias("share_pct"))
            .sort("ms_per_layer", descending=True))
share
"""),
    ("md", r"""
GEMMs sit at 1,000–2,000 FLOP/byte, far right of every ridge point (≈ 250 FLOP/byte on
MI300X, 300 on H100): they are compute-bound, and their *efficiency* decides the time.
Element-wise ops (norms, RoPE, SwiGLU, residual adds) sit at well under 1 FLOP/byte: purely
bandwidth-bound, about a tenth of a layer's time here (forward + backward), more at small
batch or with fusion off. Fused (flash) attention at s = 4,096 is compute-bound too.
"""),
    ("md", r"""
## 2. The GEMM model, calibrated on one point per vendor

For C[M×N] = A[M×K]·B[K×N] the model tries each macro-tile the library offers (MI300X: 256×256,
256×192, … 64×64; split-K 1–8) and keeps the best of

* **tile quantization** M·N / (⌈M/tm⌉tm · ⌈N/tn⌉tn), and in K with a 64-element K-loop at 16 bit;
* **wave quantization** tiles / (⌈tiles / CUs⌉ · CUs) — 304 CUs on MI300X, 132 SMs on H100;
* an intrinsic **tile efficiency** 1 / (1 + 8 (tm+tn)/(tm·tn)) (larger tiles reuse operands more);

then applies a **small-work** cost w₀ (the MI300X rule: ~200 GFLOP of work reaches 95 % of
the large-work efficiency) and one **ceiling** per device. The MI300X ceiling is fitted to
AMD's 708 TFLOP/s at 4096×4864×32896 — and comes out at 0.58, almost exactly the measured
1,207 MHz / 2,100 MHz clock ratio: at full load the chip is power-throttled. The H100 ceiling
is fitted to Stas Bekman's 794.5 TFLOP/s at 2048×2048×13312. Everything else is a check.
"""),
    ("code", r"""
val = il.compute.gemm_validation()
show = val.select("accelerator", "precision", "m", "n", "k", "published_tflops",
                  pl.col("predicted_tflops").round(1), pl.col("max_tflops").round(1),
                  pl.col("error_pct").round(1), "fitted", "software")
show
"""),
    ("md", r"""
*Sources:* AMD ROCm blog "Measuring Max-Achievable FLOPs – Part 2"
(https://rocm.blogs.amd.com/software-tools-optimization/measuring-max-achievable-flops-part2/README.html,
hipBLASLt, median clock per run); Stas Bekman, ml-engineering accelerator chapter
(https://github.com/stas00/ml-engineering/blob/master/compute/accelerator/README.md, torch
matmul sweeps). `predicted_at_clock` scales the prediction by the run's published median clock
over the 1,207 MHz of the fitted run.
"""),
    ("code", r"""
for r in val.iter_rows(named=True):
    tol = 0.5 if r["fitted"] else 15.0
    tag = "fitted" if r["fitted"] else "check "
    print(f"{tag} {r['accelerator']:9s} {r['precision']:5s} {r['m']:>6}x{r['n']:>6}x{r['k']:>6}: "
          f"published {r['published_tflops']:7.1f}  predicted {r['predicted_tflops']:7.1f}  "
          f"error {r['error_pct']:+6.1f} %  match (±{tol:g} %): {abs(r['error_pct']) <= tol}")
"""),
    ("code", r"""
il.charts.gemm_validation_chart(val)
"""),
    ("md", r"""
**Reading the checks.** MI300X FP16 (654) and MI325X FP16/BF16 (794/843) differ from the BF16
fit only by their clock: with the published median clocks the model lands within 0.7 %. The
model has no power model, so without the clock it is off by +8 % (MI300X FP16) and −16 %
(MI325X BF16, a 1,000 W board that holds 1,447 MHz). FP8 is over-predicted by ~9–11 % even at
the published clock: FP8 runs less efficiently per clock than BF16 on CDNA3. Stas Bekman's
torch sweeps (668 and 782 TFLOP/s on MI300X, different ROCm versions, no clocks) bracket the
model's ~700: software versions move the result by ±10 %.
"""),
    ("md", r"""
## 3. Tile and wave quantization: why the MI300X sizing rules matter

A heatmap of the model's efficiency over (M, N) at K = 8,192. Bright bands are where
⌈M/256⌉·⌈N/256⌉ tiles fill a whole number of waves on 304 CUs; the cliffs one row past a
multiple of 256 are tile quantization.
"""),
    ("code", r"""
grid = np.arange(128, 8192 + 1, 128)
heat = il.compute.efficiency_grid(grid, grid, 8192, "MI300X", "bf16")
il.charts.gemm_efficiency_heatmap(heat, title="MI300X BF16 GEMM efficiency, K = 8,192 (model)")
"""),
    ("code", r"""
rows = []
for label, (m, n, k, b) in {
    "AMD MAF shape 4096 x 4864 x 32896 (16x19 tiles = 1 wave)": (4096, 4864, 32896, 1),
    "one row more: 4097 x 4864 x 32896": (4097, 4864, 32896, 1),
    "power of two 8192 x 8192 x 8192 (3.4 waves)": (8192, 8192, 8192, 1),
    "8192 x 9728 x 8192 (exactly 4 waves)": (8192, 9728, 8192, 1),
    "hidden 4096: 16384 x 4096 x 4096": (16384, 4096, 4096, 1),
    "hidden 4000: 16384 x 4000 x 4000": (16384, 4000, 4000, 1),
    "hidden 4864 = 19 x 256: 16384 x 4864 x 4864": (16384, 4864, 4864, 1),
    "hidden 4870: 16384 x 4870 x 4870": (16384, 4870, 4870, 1),
    "attention QK^T, head dim 128 (s = 4096, 32 heads)": (4096, 4096, 128, 32),
    "attention QK^T, head dim 96": (4096, 4096, 96, 32),
    "attention QK^T, head dim 80": (4096, 4096, 80, 32),
    "small GEMM 1024 x 1024 x 1024 (2 GFLOP)": (1024, 1024, 1024, 1),
}.items():
    rows.append({"case": label, "gflop": 2 * m * n * k * b / 1e9,
                 "MI300X_eff": il.compute.gemm_efficiency(m, n, k, "MI300X", batch=b),
                 "H100_eff": il.compute.gemm_efficiency(m, n, k, "H100-SXM", batch=b)})
sizing = pl.DataFrame(rows).with_columns(pl.col("gflop").round(1), pl.col("MI300X_eff").round(3),
                                         pl.col("H100_eff").round(3))
sizing
"""),
    ("code", r"""
work = pl.DataFrame({"side": [256, 512, 1024, 2048, 3072, 4096, 6144, 8192]}).with_columns(
    (2 * pl.col("side").cast(pl.Float64) ** 3 / 1e9).alias("gflop"))
eff = il.compute.gemm_efficiencies(work["side"], work["side"], work["side"], "MI300X")
work = work.with_columns(pl.Series("MI300X_eff", eff).round(3),
                         (pl.Series("MI300X_eff", eff) / il.compute.max_efficiency("MI300X")).round(3)
                         .alias("fraction_of_ceiling"))
print(work)
g = il.compute.gemm_model("MI300X")
print(f"model at a ~200 GFLOP cube: {work['fraction_of_ceiling'][5]:.3f} of its maximum (third-party rule: ~0.95)")
"""),
    ("md", r"""
Note the hidden-size rows: 4,000 beats 4,096 on MI300X here, because at these sizes *wave*
quantization (how 1,024-odd tiles spread over 304 CUs) outweighs tile padding; 4,864 = 19 × 256
fills the CU grid and wins, and 6 more columns (4,870) cost 12 %. The rule is "multiples of
the tile *and* of the CU grid", which only a model with both terms gets right.

The rules Zyphra followed on MI300X come out of the model rather than being coded in:
dimensions that are multiples of 64/128/256 avoid tile padding; a head dimension of 64 or 128
fills the 64-deep K-loop (96 and 80 waste 25 % and 37.5 %); tile counts that are multiples of
304 avoid a last partial wave (powers of two do not fit 304 CUs as well as 132 SMs); and
GEMMs below ~200 GFLOP fall off. Not modelled: AMD's advice to use K = 32K + 128 rather than
an exact power of two (a cache/channel effect), and clock changes with power.
"""),
    ("md", r"""
## 4. Cross-checks of the model counts the compute model uses
"""),
    ("code", r"""
l8 = il.models.get("llama3-8b")
z = il.models.get("zaya1-base")
print(f"Llama-3-8B params {l8.params_total:,} vs published 8,030,261,248  match: {l8.params_total == 8_030_261_248}")
tot, act = z.params_published_basis()
print(f"ZAYA1-base non-embedding total {tot / 1e9:.2f}B vs 8.3B  match: {abs(tot / 8.3e9 - 1) < 0.01};"
      f" active {act / 1e6:.0f}M vs 760M  match: {abs(act / 760e6 - 1) < 0.01}")
f = l8.flops_per_token(4096, training=True, causal=False)
six = 6 * l8.params_total
print(f"Llama-3-8B training FLOP/token at s=4096: {f / 1e9:.1f} G vs 6N = {six / 1e9:.1f} G "
      f"(+ attention 12·L·s·d·a = {12 * 32 * 4096 * 4096 / 1e9:.1f} G, minus embedding lookup {6 * l8.params_embedding / 2 / 1e9:.1f} G)  "
      f"ratio {f / (six + 12 * 32 * 4096 * 4096 - 3 * l8.params_embedding):.4f}")
"""),
    ("md", r"""
## 5. Memory: reproducing Korthikanti et al. (2022)

Per-GPU memory of the runs in Korthikanti et al. Table 5 (A100, s = 2,048, 16-bit, Adam with
fp32 master weights, moments and gradients = 18 B/param; dropout; no flash attention),
through the same `il.memory.training_memory` used for every scenario.
"""),
    ("code", r"""
k = il.memory.korthikanti_check()
print(k.with_columns(pl.col(c).round(2) for c in ("predicted_gib", "error_pct", "with_embeddings_gib",
                                                   "with_embeddings_error_pct")))
print(f"worst error (transformer layers, as published): {k['error_pct'].abs().max():.3f} %   "
      f"match (< 0.1 %): {k['error_pct'].abs().max() < 0.1}")
"""),
    ("md", r"""
*Source:* Korthikanti et al. 2022, https://arxiv.org/abs/2205.05198 (Table 5, Figures 1 and 7),
values as encoded by calculon-ai/calculon `calculon/llm/validation.py`; calibration.md §2. The
published figures count the transformer layers only; adding the embedding (and, with pp = 1,
the logits) costs 0.4–8.7 % more.
"""),
    ("md", r"""
## 6. What 192 GB buys for training: plain data parallel + ZeRO-1

Every GPU holds the whole model (16-bit weights and gradients, 2 + 2 B/param), its 1/1024 share
of the AdamW states (12 B/param), the activations of one micro-batch (s = 4,096, flash
attention, no recomputation), the logits, and a 10 % allocator reserve.
"""),
    ("code", r"""
MODELS = ["zaya1-base", "llama3-8b", "qwen3-30b-a3b", "mixtral-8x7b"]
sweep = il.memory.memory_sweep(MODELS, ["MI300X", "H100-SXM", "H200-SXM"], seq_len=4096,
                               micro_batch=1, zero=1)
il.charts.memory_stacked_bars(sweep, title="Per-GPU memory, plain DP + ZeRO-1 on 1,024 GPUs, s = 4,096, b = 1")
"""),
    ("code", r"""
verdict = (sweep.group_by("model", "accelerator", maintain_order=True)
                .agg(pl.col("total_GB").first().round(1), pl.col("capacity_GB").first(), pl.col("fits").first())
                .pivot(on="accelerator", index="model", values="fits"))
verdict
"""),
    ("code", r"""
sc = il.load_scenario("zaya1-ibm-mi300x")
zb = il.memory.training_memory(sc)
print(zb.with_columns(pl.col("GiB").round(2)))
for dev in ["MI300X", "H100-SXM", "H200-SXM"]:
    for mbs in (2, 4, 8):
        ok = il.memory.fits(sc.replace(training={"micro_batch": mbs, "global_batch": mbs * 1024}), accelerator=dev)
        print(f"ZAYA1-base, DP+ZeRO-1, s=4096, micro-batch {mbs}: fits {dev}: {ok}")
"""),
    ("md", r"""
ZAYA1-base is small (8.8B with its embedding), so it fits every device at micro-batch 1; what
192 GB adds is headroom — larger micro-batches (fewer, larger GEMMs, closer to the 200 GFLOP
rule) without tensor or pipeline parallelism, and room for the 262k-token vocabulary's logits.
The general line: with plain DP + ZeRO-1 every GPU holds ≈ 4 B/param plus activations, so a
~30B model (Qwen3-30B-A3B) trains that way on 192 GB but needs model parallelism or ZeRO-3 on
80 GB and 141 GB.
"""),
    ("md", r"""
## 7. Inference: a 70B model in 16-bit on one MI300X vs two H100s
"""),
    ("code", r"""
rows = []
for dev, gpus in (("MI300X", 1), ("H100-SXM", 1), ("H100-SXM", 2), ("H200-SXM", 1)):
    for ctx in (4096, 8192, 32768):
        rows.append({"accelerator": dev, "gpus": gpus, "context": ctx,
                     "max_batch": il.memory.max_inference_batch("llama3-70b", dev, ctx, gpus=gpus)})
inf = pl.DataFrame(rows).pivot(on="context", index=["accelerator", "gpus"], values="max_batch")
print("Llama-3-70B, bf16 weights and KV cache, 10 % reserve: largest batch of sequences")
inf
"""),
    ("code", r"""
def mha_equivalent(m):
    sp = il.models.get(m)
    if sp.attention == "mla":  # full per-head K (nope + rope) and V
        per = sp.heads * (sp.qk_nope_head_dim + sp.qk_rope_head_dim + sp.v_head_dim)
    else:
        per = 2 * sp.heads * sp.head_dim
    return il.memory.kv_bytes_per_token(m) / (2 * per) / sum(
        1 for k_ in sp.layer_kinds() if k_ in ("dense", "moe", "hybrid"))

kv = pl.DataFrame([{"model": m, "attention": il.models.get(m).attention,
                    "KiB_per_token": il.memory.kv_bytes_per_token(m) / 1024,
                    "GB_at_32k_tokens": il.memory.kv_cache_bytes(m, 32768) / 1e9,
                    "smaller_than_MHA_x": 1 / mha_equivalent(m)}
                   for m in ("llama3-8b", "llama3-70b", "deepseek-v3", "zaya1-base", "zamba2-7b")]).with_columns(
    pl.col("KiB_per_token").round(1), pl.col("GB_at_32k_tokens").round(2), pl.col("smaller_than_MHA_x").round(1))
print(kv)
print(f"Llama-3-70B KV per token = 80 layers x 2 x 8 KV heads x 128 x 2 B = {80*2*8*128*2:,} B  "
      f"match: {il.memory.kv_bytes_per_token('llama3-70b') == 80 * 2 * 8 * 128 * 2}")
"""),
    ("md", r"""
141 GB of 16-bit weights fit one MI300X with room for 23 sequences of 4k tokens or 11 of 8k
(10 % reserve); neither one H100 nor one H200 (141 GB) holds the weights, and two H100s in
tensor parallel keep room for only two 4k sequences. GQA (8 KV heads), ZAYA1's CCA (2 KV
heads) and MLA (a 576-element latent) shrink the cache per token against full multi-head
attention by the factors in the last column; Zamba2's shared blocks use full MHA but only at
13 of 81 layers, the rest carry a fixed Mamba2 state.
"""),
    ("md", r"""
## 8. Explore

Model preset, sequence length, micro-batch, precision, ZeRO stage and recomputation: per-GPU
memory on MI300X, H100 and H200 (plain DP over 1,024 GPUs) and the per-layer compute time.
"""),
    ("code", r"""
il.widgets.compute_memory_explorer()
"""),
    ("md", rf"""
## Takeaways

* **Peak is not achievable.** The best published MI300X BF16 GEMM is 708 of 1,307 TFLOP/s
  (54 %); the fitted ceiling (0.58) matches the throttled clock (1,207 of 2,100 MHz). H100's
  794.5 of 989 (80 %) is nearer its peak. MI300X still leads on raw GEMM rate, by less than
  the datasheets suggest.
* **One fitted point per vendor explains the rest within the clock:** MI300X FP16 and MI325X
  FP16/BF16 within 0.7 % once the published clock is used; FP8 is ~10 % optimistic; torch sweeps
  differ by ±10 % with the software version.
* **Shapes matter more on 304 CUs.** Tile and wave quantization make dimensions that are
  multiples of 64/128/256, head dims of 64/128 and large GEMMs (≥ ~200 GFLOP) pay; the model
  reproduces the MI300X sizing rules without coding them.
* **Memory is MI300X's clearest advantage.** The Korthikanti memory figures reproduce to
  < 0.03 %. With plain DP + ZeRO-1, ~30B-parameter models fit 192 GB but not 80 or 141 GB;
  ZAYA1 (8.8B) fits anywhere but gains micro-batch headroom. A 70B model in 16-bit serves
  from one MI300X, where H100 needs two.

{NAV}
"""),
]

if __name__ == "__main__":
    print(write_notebook("02_compute_and_memory", cells))
