"""Generate notebooks/01_the_deployment.ipynb."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from nbbuild import write_notebook  # noqa: E402

cells = [
    ("md", r"""
# 01 · The deployment: AMD MI300X + Pollara 400 on IBM Cloud, for Zyphra

[← 00 index](00_index.ipynb) · [02 compute and memory →](02_compute_and_memory.ipynb)

**Question.** What exactly did IBM Cloud build for Zyphra, and what does the cluster add up to
in compute, memory, network and power — from sourced specifications rather than press
round-ups? And how does its GPU compare with NVIDIA's and AMD's other parts?

**The story in sourced facts** (each copied into `data/` with a source URL per row):

* **Who.** IBM Cloud operates the cluster; AMD supplies GPUs, NICs and ROCm; Zyphra — a Palo Alto
  open-source AI research and product company — trains on it
  ([IBM Newsroom, 1 Oct 2025: "IBM and AMD Collaborate with Zyphra on Next Generation AI
  Infrastructure"](https://newsroom.ibm.com/2025-10-01-ibm-and-amd-collaborate-with-zyphra-on-next-generation-ai-infrastructure)).
* **What.** 128 nodes × 8 AMD Instinct MI300X (192 GB HBM3 each) joined by Infinity Fabric
  (xGMI), 8 AMD Pensando Pollara 400 NICs per node (one per GPU) on a two-level *rails-only*
  Ethernet back end, 2 × Xeon Platinum 8570 hosts per node, and a separate front-end/storage
  network ([AMD blog](https://www.amd.com/en/blogs/2025/zyphra-demonstrates-large-scale-training-on-amd-with-zaya1.html);
  [Converge Digest](https://dev.convergedigest.com/amds-compute-pensando-network-architecture-powers-zyphras-ai)).
  IBM's bare-metal profile is `gx3d-metal-224x2048x8mi300x`. Which DPU (if any) serves the
  front end of *this* cluster is not found in public sources.
* **When.** IBM's capacity tooling tracks the 128-node cluster in WDC07 from August–September 2025;
  the collaboration was announced in early October 2025; the ZAYA1 report appeared on
  21 November 2025 ([arXiv 2511.17127](https://arxiv.org/abs/2511.17127)). An expansion in 2026
  is planned, but its size and GPU generation are not found in public sources.
* **What Zyphra trains.** ZAYA1-base: an 8.3B-total / 760M-active mixture-of-experts with
  compressed convolutional attention (CCA), 16 experts, top-1 routing, trained on 12T or 14T
  tokens (the sources disagree) with plain data parallelism and the ZeRO-1 optimizer — possible
  because each GPU has 192 GB. Next: Maia/MaiaOS, a multimodal agent system.
* **Open questions** this lab answers notebook by notebook: can ROCm stand beside CUDA
  (02, 04), is the network a bottleneck and do Pollara's Ultra-Ethernet features matter (03),
  what a run costs to rent or own (05), and how reliable it is at scale (06).
"""),
    ("md", r"""
## 1. The cluster, as the contract sees it

The shipped scenario `zaya1-ibm-mi300x` describes the cluster and the training plan. Every
number below is computed from it and from the catalog in `data/`.
"""),
    ("code", r"""
sc = il.load_scenario("zaya1-ibm-mi300x")
print(sc.to_toml())
"""),
    ("code", r"""
summary = il.cluster.cluster_summary(sc.hardware)
summary.select("quantity", pl.col("value").round(2), "unit")
"""),
    ("md", r"""
Sources: accelerator specs — `data/accelerators.csv` (AMD MI300X datasheet, Stas Bekman's
accelerator table, AMD ROCm blogs); max-achievable GEMM — AMD, *Measuring Max-Achievable FLOPs
part 2* (`data/device_measurements.csv`); NIC line rate — AMD Pensando Pollara 400 product page
(`data/nics.csv`). Power counts only the GPUs' board power (750 W each): hosts, NICs, switches
and cooling come on top (see notebook 05).
"""),
    ("md", r"""
### Cross-check: "over 750 PFLOPs of max achievable FLOPS"

AMD's blog says the cluster delivers "over 750 PFLOPs" of max-achievable training FLOPS, without
naming the precision. Divide by 1,024 GPUs and compare with what one MI300X can do.
"""),
    ("code", r"""
rows = [il.cluster.claim_check(750.0, sc.hardware, p) for p in ("bf16", "fp8")]
claim = pl.DataFrame(rows).select(
    "precision", "claim_per_gpu_tflops", "dense_peak_per_gpu_tflops",
    "max_achievable_per_gpu_tflops", "claim_over_peak", "claim_over_max_achievable", "consistent",
)
print(claim)
bf16 = rows[0]
print(f"750 PF / 1,024 GPUs = {bf16['claim_per_gpu_tflops']:.0f} TFLOP/s per GPU; "
      f"AMD's measured BF16 max-achievable is {bf16['max_achievable_per_gpu_tflops']:.0f} TFLOP/s "
      f"({bf16['claim_over_max_achievable']:.1%} of it), FP8 is {rows[1]['max_achievable_per_gpu_tflops']:.0f}.")
within_bf16 = abs(bf16["claim_over_max_achievable"] - 1) < 0.05
print(f"claim matches BF16 max-achievable within 5%: {within_bf16}")
"""),
    ("md", r"""
**Reading.** The claim per GPU sits a few percent *above* AMD's own measured BF16
max-achievable GEMM rate and far below the FP8 one (table above). So it is best read as
1,024 × the BF16 GEMM ceiling (rounded up, or measured at a better clock) — a statement about
what the GPUs *can* do on one large GEMM, not the throughput of ZAYA1's training, which
notebook 04 estimates — and it is a little over half of the dense BF16 datasheet peak.
"""),
    ("md", r"""
## 2. MI300X beside NVIDIA and AMD's other parts

Dense peaks (no sparsity), memory, bandwidth and power from `data/accelerators.csv`.
"""),
    ("code", r"""
compare = ["MI300X", "H100-SXM", "H200-SXM", "B200", "MI325X", "MI355X"]
acc = il.catalog.accelerators().filter(pl.col("name").is_in(compare))
peaks = (
    acc.select("name", "vendor", "fp64_tflops", "tf32_tflops", "bf16_tflops", "fp8_tflops", "fp4_tflops")
    .unpivot(index=["name", "vendor"], variable_name="precision", value_name="peak_tflops")
    .drop_nulls()
    .with_columns(pl.col("precision").str.replace("_tflops", ""))
    .rename({"name": "accelerator"})
)
il.charts.peak_by_precision(peaks, title="Dense peak by precision [TFLOP/s]")
"""),
    ("code", r"""
metrics = il.cluster.accelerator_metrics(compare, precision="bf16")
(il.charts.accelerator_bars(metrics, "hbm_GB", "HBM capacity [GB]")
 | il.charts.accelerator_bars(metrics, "hbm_bw_TBps", "HBM bandwidth [TB/s]"))
"""),
    ("code", r"""
(il.charts.accelerator_bars(metrics, "tflops_per_kW", "BF16 dense peak per kW of TDP [TFLOP/s per kW]")
 | il.charts.accelerator_bars(metrics, "ridge_flop_per_byte", "Ridge point, BF16 [FLOP/byte]"))
"""),
    ("code", r"""
wide = metrics.pivot(on="metric", index=["accelerator", "vendor"], values="value")
print(wide.select("accelerator", "vendor", "peak_tflops", "hbm_GB", "hbm_bw_TBps", "tflops_per_kW",
                  "ridge_flop_per_byte", "scaleup_GBps").sort("peak_tflops"))
mi, h100 = (wide.filter(pl.col("accelerator") == n).row(0, named=True) for n in ("MI300X", "H100-SXM"))
print(f"MI300X vs H100: {mi['peak_tflops'] / h100['peak_tflops']:.2f}x BF16 peak, "
      f"{mi['hbm_GB'] / h100['hbm_GB']:.1f}x HBM capacity, {mi['hbm_bw_TBps'] / h100['hbm_bw_TBps']:.2f}x HBM bandwidth, "
      f"ridge {mi['ridge_flop_per_byte']:.0f} vs {h100['ridge_flop_per_byte']:.0f} FLOP/byte")
"""),
    ("md", r"""
Sources: `data/accelerators.csv` — AMD MI300X/MI325X datasheets and ROCm blogs, Stas Bekman's
*ml-engineering* accelerator table, Glenn Lockwood's H100/B200 pages (citing NVIDIA datasheets);
MI355X BF16 is a **conflict** (2.5 PF from AMD's page as transcribed vs 2.3 PF in one secondary
table), and B200's HBM is 192 GB per Glenn Lockwood vs 180 GB on NVIDIA's HGX page. TDPs are
board power. A *lower* ridge point means a kernel needs less arithmetic per byte to be
compute-bound: MI300X's large HBM bandwidth lowers it relative to H100's despite the higher peak.
"""),
    ("md", r"""
## 3. Explore

Pick a metric, a precision and the accelerators to compare. The widget calls
`il.cluster.accelerator_metrics` and `il.charts.accelerator_bars` — the same functions as above.
"""),
    ("code", r"""
explorer = il.widgets.accelerator_explorer()
explorer
"""),
    ("md", r"""
## Takeaways

Computed from the tables above (nothing here is typed in by hand):
"""),
    ("code", r"""
v = dict(zip(summary["quantity"], summary["value"], strict=True))
print(f"* The IBM/Zyphra cluster is {v['GPUs']:,.0f} MI300X: {v['dense peak bf16'] / 1e3:.2f} EFLOP/s dense BF16 peak, "
      f"{v['HBM capacity']:.0f} TB of HBM at {v['HBM bandwidth']:.1f} PB/s, "
      f"{v['scale-out bandwidth per node (line rate, one direction)']:.0f} GB/s of scale-out line rate per node "
      f"({v['scale-out bandwidth, cluster (line rate, one direction)']:.1f} TB/s in all), "
      f"{v['GPU power at TDP'] / 1e3:.2f} MW of GPU board power.")
print(f"* AMD's '750 PFLOPs' is {bf16['claim_over_max_achievable']:.2f}x the cluster's BF16 max-achievable GEMM rate "
      f"and {bf16['claim_over_peak']:.0%} of its dense BF16 peak: a ceiling, not a training throughput.")
print(f"* Per GPU, MI300X has {mi['hbm_GB'] / h100['hbm_GB']:.1f}x H100's HBM capacity and "
      f"{mi['hbm_bw_TBps'] / h100['hbm_bw_TBps']:.1f}x its bandwidth at {mi['peak_tflops'] / h100['peak_tflops']:.1f}x the BF16 peak.")
"""),
    ("md", r"""
* H200 narrows the memory gap and B200/MI355X roughly double the compute again; whether peak
  numbers turn into faster or cheaper training depends on achieved GEMM efficiency
  (notebook 02), the network (03), the whole step (04) and prices (05).

[← 00 index](00_index.ipynb) · [02 compute and memory →](02_compute_and_memory.ipynb)
"""),
]

if __name__ == "__main__":
    print(write_notebook("01_the_deployment", cells))
