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

**The story in sourced facts.** Who and when, with the primary sources:

* **Who.** IBM Cloud operates the cluster; AMD supplies GPUs, NICs and ROCm; Zyphra — a Palo Alto
  open-source AI research and product company — trains on it
  ([IBM Newsroom, 1 Oct 2025: "IBM and AMD Collaborate with Zyphra on Next Generation AI
  Infrastructure"](https://newsroom.ibm.com/2025-10-01-ibm-and-amd-collaborate-with-zyphra-on-next-generation-ai-infrastructure)).
* **When.** IBM's capacity tooling tracks the cluster in its WDC07 data centre from August–September
  2025 (`data/instances.csv`); the collaboration was announced in early October 2025; the ZAYA1
  report appeared on 21 November 2025 ([arXiv 2511.17127](https://arxiv.org/abs/2511.17127)). An
  expansion in 2026 is planned, but its size and GPU generation are not found in public sources
  (notebook 08 sweeps the options).

What was built and what is trained on it, with every number read from the shipped scenario, the
catalog and the model presets in `data/` (one source URL or more per row).

**Terms.** *Scale-up* links join the GPUs of one node (AMD's xGMI, NVIDIA's NVLink); the *scale-out*
or back-end network joins nodes through one NIC per GPU. *Rails-only*: the NICs with the same GPU
index form one network (a *rail*), and no switch joins one rail to another (a large rail may
itself have two switch levels, leaf and spine; traffic between rails crosses a node's scale-up links). *ZeRO-1*: the optimizer state
is split over the data-parallel replicas. *Mixture-of-experts (MoE)*: each token runs through
top-k of several feed-forward "experts". *DPU*: a programmable NIC that offloads host networking
and storage. *TDP*: a GPU's board power. *Ridge point*: peak FLOP/s ÷ memory bandwidth.
*Dense peak*: the datasheet's FLOP/s without structured sparsity. *Max-achievable* FLOP/s (AMD's
*MAF*): the best rate measured on one GEMM over many shapes, what the GPU can really sustain on
matrix math (notebook 02). The others are in `docs/glossary.md`.
"""),
    ("code", r"""
from IPython.display import Markdown, display

md = lambda text: display(Markdown(text))  # noqa: E731  (prose built from computed values)
sc = il.load_scenario("zaya1-ibm-mi300x")
hw = sc.hardware
acc, nic = hw.accelerator_spec, hw.nic_spec
zaya = il.models.get("zaya1-base")
tok_zyphra, tok_press = (il.reliability.parameter(k) for k in ("zaya1_tokens", "zaya1_tokens_alt"))
one_nic_per_gpu = hw.nics_per_node == hw.gpus_per_node
sw = il.fabric.switch_counts(hw)   # the back-end switches the model builds for these nodes (folded Clos)
tiers = {1: "one switch per rail", 2: "two-level", 3: "three-level"}.get(sw["tiers"], f"{sw['tiers']}-level")
md(f'''* **What.** {hw.nodes:,} nodes × {hw.gpus_per_node} {acc.vendor} {acc.name} ({acc.hbm_bytes / 1e9:.0f} GB of HBM
  each) joined inside a node by {acc.scaleup_tech}, {hw.nics_per_node} {nic.vendor} {nic.name} NICs per node
  ({'one per GPU' if one_nic_per_gpu else f'{hw.nics_per_node / hw.gpus_per_node:g} per GPU'}) on a *{hw.fabric}* Ethernet back end
  ({tiers}: {sw['leaf']:,} leaf and {sw['spine']:,} spine switches in the model's count, `il.fabric.switch_counts`),
  {hw.host_cpu} host CPUs, and a separate front-end/storage network
  ([AMD blog](https://www.amd.com/en/blogs/2025/zyphra-demonstrates-large-scale-training-on-amd-with-zaya1.html);
  [Converge Digest](https://dev.convergedigest.com/amds-compute-pensando-network-architecture-powers-zyphras-ai)).
  IBM's bare-metal profile is `gx3d-metal-224x2048x8mi300x`. Which DPU (if any) serves the front
  end of *this* cluster is not found in public sources.
* **What Zyphra trains.** ZAYA1-base, {zaya.published_params_total / 1e9:.1f}B-total /
  {zaya.published_params_active / 1e6:,.0f}M-active mixture-of-experts with compressed convolutional attention
  ({zaya.attention.upper()}), {zaya.experts} experts, top-{zaya.top_k} routing, trained on {tok_zyphra / 1e12:.0f}T
  tokens by Zyphra's own report (press coverage says {tok_press / 1e12:.0f}T; notebooks 05, 06 and 09 use
  the report's figure) with plain data parallelism
  (tp = {sc.parallelism.tp}, pp = {sc.parallelism.pp}, ep = {sc.parallelism.ep}) and the ZeRO-{sc.parallelism.zero}
  optimizer — possible because each GPU holds {acc.hbm_bytes / 1e9:.0f} GB. Next: Maia/MaiaOS, a multimodal agent system
  ([AMD ROCm blog](https://rocm.blogs.amd.com/ecosystems-and-partners/zyphra/README.html); notebooks 07 and 09).
* **Open questions** this lab answers notebook by notebook: can ROCm stand beside CUDA (02, 04),
  is the network a bottleneck and do Pollara's Ultra-Ethernet features matter (03), what a run
  costs to rent or own (05), how reliable it is at scale (06), what serving costs (07), what a 2026
  expansion should be (08) and what a multimodal model adds (09).''')
"""),
    ("md", r"""
## 1. The cluster, as the contract sees it

The shipped scenario `zaya1-ibm-mi300x` describes the cluster and the training plan. Every
number below is computed from it and from the catalog in `data/`.
"""),
    ("code", r"""
print(sc.to_toml())
"""),
    ("code", r"""
summary = il.cluster.cluster_summary(sc.hardware)
il.charts.headline_table(
    summary.select("quantity", "value", "unit"), f"The cluster of scenario {sc.name}",
    subtitle="computed from the scenario and the catalog in data/",
    sources=[u for u in summary["source_url"].unique(maintain_order=True).to_list() if u])
"""),
    ("code", r"""
md(f"Sources: accelerator specs — `data/accelerators.csv` (AMD MI300X datasheet, Stas Bekman's "
   f"accelerator table, AMD ROCm blogs); max-achievable GEMM — AMD, *Measuring Max-Achievable FLOPs "
   f"part 2* (`data/device_measurements.csv`); NIC line rate — AMD Pensando Pollara 400 product page "
   f"(`data/nics.csv`). Power counts only the GPUs' board power ({acc.tdp_W:,.0f} W each): hosts, NICs, "
   f"switches and cooling come on top (see notebook 05).")
"""),
    ("md", r"""
### Cross-check: AMD's "max achievable FLOPS" of the cluster
"""),
    ("code", r"""
CLAIM_PF = il.catalog.published_claim("amd-zaya1-cluster-maf")   # [PFLOP/s], data/published_claims.csv
md(f"[AMD's blog](https://www.amd.com/en/blogs/2025/zyphra-demonstrates-large-scale-training-on-amd-with-zaya1.html) "
   f"says the cluster delivers \"over {CLAIM_PF:,.0f} PFLOPs\" of max-achievable training FLOPS (the blog's figure), "
   f"without naming the precision. Divide by the cluster's {hw.world_size:,} GPUs and compare with what one "
   f"{acc.name} can do.")
rows = [il.cluster.claim_check(CLAIM_PF, sc.hardware, p) for p in ("bf16", "fp8")]
claim = pl.DataFrame(rows).select(
    "precision", "claim_per_gpu_tflops", "dense_peak_per_gpu_tflops",
    "max_achievable_per_gpu_tflops", "claim_over_peak", "claim_over_max_achievable", "consistent",
)
display(il.charts.headline_table(
    claim, f"AMD's \"{CLAIM_PF:,.0f} PFLOPs\" per GPU, against one {acc.name}'s peak and measured maximum",
    labels={"claim_per_gpu_tflops": "claim per GPU", "dense_peak_per_gpu_tflops": "dense peak",
            "max_achievable_per_gpu_tflops": "max-achievable (measured)", "claim_over_peak": "claim / dense peak",
            "claim_over_max_achievable": "claim / max-achievable", "consistent": "claim ≤ dense peak"},
    percent=["claim_over_peak", "claim_over_max_achievable"],
    sources=["claim: https://www.amd.com/en/blogs/2025/zyphra-demonstrates-large-scale-training-on-amd-with-zaya1.html",
             "max-achievable: https://rocm.blogs.amd.com/software-tools-optimization/measuring-max-achievable-flops-part2/README.html"]))
bf16 = rows[0]
print(f"{CLAIM_PF:.0f} PF / {hw.world_size:,} GPUs = {bf16['claim_per_gpu_tflops']:.0f} TFLOP/s per GPU; "
      f"AMD's measured BF16 max-achievable is {bf16['max_achievable_per_gpu_tflops']:.0f} TFLOP/s (the claim is "
      f"{bf16['claim_over_max_achievable']:.1%} of it), its FP8 one {rows[1]['max_achievable_per_gpu_tflops']:,.0f} TFLOP/s.")
TOL = 0.05   # how close counts as "matches" [-]
within_bf16 = abs(bf16["claim_over_max_achievable"] - 1) < TOL
print(f"claim matches BF16 max-achievable within {TOL:.0%}: {within_bf16}")
"""),
    ("code", r"""
over_maf, fp8 = bf16["claim_over_max_achievable"], rows[1]
reading = (f"best read as {hw.world_size:,} × the BF16 GEMM ceiling "
           f"({'rounded up, or measured at a better clock' if over_maf > 1 else 'rounded down, or measured at a lower clock'})"
           if within_bf16 else
           f"not {hw.world_size:,} × the BF16 GEMM ceiling (it misses it by more than {TOL:.0%}), nor the FP8 one")
md(f"**Reading.** The claim per GPU sits {abs(over_maf - 1):.0%} {'above' if over_maf > 1 else 'below'} AMD's own "
   f"measured BF16 max-achievable GEMM rate and at {fp8['claim_over_max_achievable']:.0%} of the FP8 one (table "
   f"above). So it is {reading} — a statement about what the GPUs *can* do on one large GEMM, not the throughput of "
   f"ZAYA1's training, which notebook 04 estimates — and it is {bf16['claim_over_peak']:.0%} of the dense BF16 "
   f"datasheet peak.")
"""),
    ("md", r"""
## 2. MI300X beside NVIDIA and AMD's other parts

Dense peaks (no sparsity), memory, bandwidth and power from `data/accelerators.csv` (sources
printed below the table). A precision without a bar is labelled: *not supported* where the part
has no instructions for the format (FP4 before Blackwell and CDNA 4, TF32 on CDNA 4), *no figure*
where no source gives its peak. What to look for in the charts: how far MI300X's bar stands above
H100's in memory (capacity, bandwidth) against how far in peak FLOP/s, and how much the newer
parts (B200, MI355X) add to each; the ratios are printed under the table and in the takeaways.
"""),
    ("code", r"""
compare = ["MI300X", "H100-SXM", "H200-SXM", "B200", "MI325X", "MI355X"]
# every (part, precision) pair, none dropped: a pair with no bar says why (status)
peaks = il.catalog.peak_table(compare, ["fp64", "tf32", "bf16", "fp8", "fp4"])
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
display(il.charts.headline_table(
    wide.select("accelerator", "vendor", "peak_tflops", "hbm_GB", "hbm_bw_TBps", "tflops_per_kW",
                "ridge_flop_per_byte", "scaleup_GBps").sort("peak_tflops"),
    "Per GPU: BF16 dense peak, HBM, power efficiency, ridge point and scale-up bandwidth",
    labels={"peak_tflops": "BF16 dense peak", "hbm_GB": "HBM capacity", "hbm_bw_TBps": "HBM bandwidth",
            "tflops_per_kW": "peak per kW of TDP", "ridge_flop_per_byte": "ridge point",
            "scaleup_GBps": "scale-up, per direction"},
    units={"hbm_bw_TBps": "TB/s", "ridge_flop_per_byte": "FLOP/byte"},
    decimals={"hbm_GB": 0, "hbm_bw_TBps": 2, "tflops_per_kW": 0, "ridge_flop_per_byte": 0},
    highlight=pl.col("accelerator") == "MI300X", sources="data/accelerators.csv (one source URL or more per row)"))
mi, h100 = (wide.filter(pl.col("accelerator") == n).row(0, named=True) for n in ("MI300X", "H100-SXM"))
print(f"MI300X vs H100: {mi['peak_tflops'] / h100['peak_tflops']:.2f}x BF16 peak, "
      f"{mi['hbm_GB'] / h100['hbm_GB']:.1f}x HBM capacity, {mi['hbm_bw_TBps'] / h100['hbm_bw_TBps']:.2f}x HBM bandwidth, "
      f"ridge {mi['ridge_flop_per_byte']:.0f} vs {h100['ridge_flop_per_byte']:.0f} FLOP/byte")
"""),
    ("code", r"""
cat = {a: il.catalog.accelerator(a) for a in compare}
md(f"Sources: `data/accelerators.csv` — AMD MI300X/MI325X datasheets and ROCm blogs, Stas Bekman's "
   f"*ml-engineering* accelerator table, Glenn Lockwood's H100/B200 pages (citing NVIDIA datasheets). Two "
   f"values are **conflicts** between sources: MI355X's BF16 peak ({cat['MI355X'].peak('bf16') / 1e15:.1f} PFLOP/s "
   f"as used here, from AMD's page) and B200's HBM ({cat['B200'].hbm_bytes / 1e9:.0f} GB per Glenn Lockwood; "
   f"NVIDIA's HGX page implies less); the notes of those rows give both figures. TDPs are board power. A "
   f"*lower* ridge point means a kernel needs less arithmetic per byte to be compute-bound: MI300X's ridge "
   f"({mi['ridge_flop_per_byte']:.0f} FLOP/byte) is {'below' if mi['ridge_flop_per_byte'] < h100['ridge_flop_per_byte'] else 'above'} "
   f"H100's ({h100['ridge_flop_per_byte']:.0f}) despite the {mi['peak_tflops'] / h100['peak_tflops']:.2f}× higher peak, "
   f"because its HBM bandwidth is {mi['hbm_bw_TBps'] / h100['hbm_bw_TBps']:.2f}× H100's.")
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
print(f"* AMD's '{CLAIM_PF:.0f} PFLOPs' is {bf16['claim_over_max_achievable']:.2f}x the cluster's BF16 max-achievable GEMM rate "
      f"and {bf16['claim_over_peak']:.0%} of its dense BF16 peak: a ceiling, not a training throughput.")
print(f"* Per GPU, MI300X has {mi['hbm_GB'] / h100['hbm_GB']:.1f}x H100's HBM capacity and "
      f"{mi['hbm_bw_TBps'] / h100['hbm_bw_TBps']:.1f}x its bandwidth at {mi['peak_tflops'] / h100['peak_tflops']:.1f}x the BF16 peak.")
"""),
    ("code", r"""
w = {r["accelerator"]: r for r in wide.iter_rows(named=True)}


def hbm_vs_mi300x(name):   # a part's HBM capacity beside MI300X's, in words where the ratio rounds to one
    r = w[name]["hbm_GB"] / mi["hbm_GB"]
    return f"{name} the same HBM capacity as MI300X" if round(r, 1) == 1 else f"{name} {r:.1f}× MI300X's HBM capacity"


md(f"* H200 narrows the memory gap ({w['H200-SXM']['hbm_GB']:.0f} GB against MI300X's {mi['hbm_GB']:.0f} and "
   f"H100's {h100['hbm_GB']:.0f}); B200 and MI355X have {w['B200']['peak_tflops'] / h100['peak_tflops']:.1f}× and "
   f"{w['MI355X']['peak_tflops'] / h100['peak_tflops']:.1f}× H100's BF16 peak ({w['B200']['peak_tflops'] / mi['peak_tflops']:.1f}× "
   f"and {w['MI355X']['peak_tflops'] / mi['peak_tflops']:.1f}× MI300X's), with {hbm_vs_mi300x('B200')} and "
   f"{hbm_vs_mi300x('MI355X')}. Whether peak numbers turn into faster or "
   f"cheaper training depends on achieved GEMM efficiency (notebook 02), the network (03), the whole step "
   f"(04) and prices (05).")
"""),
    ("md", r"""
[← 00 index](00_index.ipynb) · [02 compute and memory →](02_compute_and_memory.ipynb)
"""),
]

if __name__ == "__main__":
    print(write_notebook("01_the_deployment", cells))
