"""Generate notebooks/00_index.ipynb."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from nbbuild import write_notebook  # noqa: E402

cells = [
    ("md", r"""
# infra_lab — AI-training infrastructure and its economics, with numbers
"""),
    ("code", r"""
from IPython.display import Markdown

sc = il.load_scenario("zaya1-ibm-mi300x")   # the deployment, as shipped in data/scenarios
hw, acc, zaya = sc.hardware, sc.hardware.accelerator_spec, il.models.get("zaya1-base")
Markdown(f"IBM Cloud runs a large AMD training platform for Zyphra ([IBM Newsroom, 1 Oct 2025]"
         f"(https://newsroom.ibm.com/2025-10-01-ibm-and-amd-collaborate-with-zyphra-on-next-generation-ai-infrastructure)): nodes of "
         f"{hw.gpus_per_node} AMD Instinct {acc.name} ({acc.hbm_bytes / 1e9:.0f} GB of HBM each) joined by "
         f"Infinity Fabric, {'one' if hw.nics_per_node == hw.gpus_per_node else hw.nics_per_node} AMD Pensando "
         f"Pollara 400 NIC{' per GPU' if hw.nics_per_node == hw.gpus_per_node else 's per node'} on a {hw.fabric} "
         f"Ethernet fabric, ROCm software. Zyphra trained ZAYA1 (an MoE of {zaya.published_params_total / 1e9:.1f}B total and "
         f"{zaya.published_params_active / 1e6:,.0f}M active parameters) on {hw.world_size:,} of these GPUs. These notebooks "
         f"answer the questions around it with a small, validated package, `infra_lab`, and say how far each "
         f"answer can be trusted (the figures here are read from the shipped scenario and model presets).\n\n"
         f"The three questions behind the project — can AMD's stack stand beside NVIDIA's, what "
         f"{acc.hbm_bytes / 1e9:.0f} GB of HBM buys, is the network a bottleneck — are answered for ZAYA1 together at "
         f"the end of [04 · Training ZAYA1](04_training_zaya1.ipynb) (*The three questions*), each from numbers "
         f"computed there; the table after the list of notebooks says where these and the project's other questions "
         f"(cost, reliability, serving) get their computed answers.")
"""),
    ("code", r"""
# the table of notebooks; its cluster sizes, HBM, token counts and claims are read from the package
sizes = il.expansion.cluster_sizes()                       # the expansion sizes swept (data/expansion/)
hbm = f"{acc.hbm_bytes / 1e9:.0f} GB"
tok = sorted(il.reliability.parameter(k) for k in ("zaya1_tokens_alt", "zaya1_tokens"))
cl = f"{hw.world_size:,} {acc.name}"
save_x = il.reliability.parameter("save_speedup_claim")    # Zyphra/AMD's save-time claim [x]
rows = [
    ("01 · The deployment", "01_the_deployment.ipynb",
     "What did IBM build for Zyphra, what does it add up to (compute, HBM, network, power), and how does MI300X "
     "compare with H100, H200, B200, MI325X and MI355X? Is AMD's cluster-wide max-achievable-FLOPS claim plausible?"),
    ("02 · Compute and memory", "02_compute_and_memory.ipynb",
     "How fast are the GEMMs really (tile and wave quantization, the ZAYA1 report's GEMM-size rule), where do a "
     f"transformer's ops sit on the roofline, and what does {hbm} of HBM buy for training and inference?"),
    ("03 · Interconnect", "03_interconnect.ipynb",
     "What do xGMI, NVLink and Pollara/RoCE deliver for all-reduce and all-to-all, is the network a bottleneck, "
     "and what does packet spraying (Ultra Ethernet) buy over ECMP?"),
    ("04 · Training ZAYA1", "04_training_zaya1.ipynb",
     f"How long is a ZAYA1 step on {cl}, what MFU, how many days for "
     f"{'/'.join(f'{t / 1e12:.0f}T' for t in tok)} tokens, why plain data parallel fits, and how do H100, H200 "
     "and MI355X compare? Validated against published Megatron-LM / Megatron-Core, torchtitan and Primus runs "
     "(train/test split, error per case)."),
    ("05 · Economics", "05_economics.ipynb",
     "Who pays what and who makes money: the owned cost of a useful GPU-hour with every cost item, Zyphra's bill, "
     "rent vs own for the right decision maker, IBM's return on a rent path, AMD vs NVIDIA per trained and served "
     "token like for like, TCO, the deal P&L for AMD, IBM and Zyphra — each with its P5–P95 band."),
    ("06 · Reliability", "06_reliability.ipynb",
     f"How often does a {hw.world_size:,}-GPU cluster fail (Llama 3 and fleet calibrations), what goodput results, "
     f"what are \"more than {save_x:.0f}× faster model saves\" (Zyphra/AMD's claim) worth, and what does an "
     f"expansion to {max(sizes):,} GPUs face?"),
    ("07 · Serving Maia", "07_serving_maia.ipynb",
     "What does serving a multimodal agent like Maia cost on MI300X vs H100, H200, B200 and MI355X: throughput "
     f"against interactivity, $ per million tokens and per agent task, what {hbm} buys, which model class fits "
     "where — with the serving model checked against published benchmarks (train/test split, error per case)?"),
    ("08 · The 2026 expansion", "08_expansion_2026.ipynb",
     "What should a 2026 expansion be (MI300X, MI325X, MI355X or the announced MI450X Helios; Pollara 400 or the "
     f"announced Vulcano 800G; {min(sizes):,} to {max(sizes):,} GPUs), swept with `il.sweep` (in-process or on "
     "Dask), and who earns what: AMD, IBM, Zyphra?"),
    ("09 · A Maia-class multimodal model", "09_multimodal_maia.ipynb",
     f"What does training a model across language, vision and audio add on the {hw.world_size:,}-{acc.name} "
     "cluster: tokens per picture and per second of audio, packing waste, what the encoders cost next to the "
     "language model, stage imbalance, and days and dollars for text-only, image-heavy and audio-heavy mixes? "
     "Validated against LLaVA-1.5 and LMMs-Engine runs (no fit)."),
]
Markdown("| notebook | the question it answers |\n|---|---|\n"
         + "\n".join(f"| [{title}]({path}) | {q} |" for title, path, q in rows))
"""),
    ("code", r"""
# the project's questions and where each gets its computed answer: the sections named here are the
# notebooks' own headings (tests/test_notebook_cross_references.py checks that each one exists)
nb = {title[:2]: path for title, path, _ in rows}
at = lambda n, where="": f"[notebook {n}{' ' + where if where else ''}]({nb[n]})"  # noqa: E731
answers = [
    ("Can AMD's stack (MI300X, ROCm, RCCL) stand beside NVIDIA's?",
     f"{at('04')}, *The three questions* (1): the whole step on both vendors' GPUs with the same software factors, "
     f"and what the published runs say; {at('02', '§2')} and {at('02', '§3')}: the kernels against published "
     f"measurements; {at('03', '§3')}: the collective libraries"),
    (f"What does {hbm} of HBM buy?",
     f"{at('04')}, *The three questions* (2), for ZAYA1's plan; {at('02', '§9')} and {at('02', '§10')} for larger "
     f"models and for inference; {at('07', '§5')} for serving"),
    ("Is the network a bottleneck, and do Pollara's Ultra-Ethernet features matter?",
     f"{at('04')}, *The three questions* (3), for ZAYA1's step; {at('03', '§8')}, feature by feature (packet "
     f"spraying, selective retransmit, congestion control)"),
    ("What does a run cost to rent or to own?",
     f"{at('05', '§1')} (an owned useful GPU-hour), {at('05', '§2')} (Zyphra's bill), {at('05', '§3')} (rent or own, "
     f"for whom) and {at('05', '§5')} (AMD vs NVIDIA per trained token)"),
    ("How reliable is it at scale?",
     f"{at('06', '§5')} (ZAYA1's run: interruptions and goodput) and {at('06', '§7')} (the expansion, and far "
     f"beyond it)"),
    ("What does serving a Maia-like agent cost?",
     f"{at('07', '§4')} (dollars per million tokens and per agent task, on MI300X and NVIDIA's parts) with the serving "
     f"model's errors in {at('07', '§2')}; {at('09', '§7')} adds the encoders before the prefill"),
]
Markdown("**Where each question gets its computed answer** (each notebook's *Takeaways* collect its answers):\n\n"
         "| question | answered in |\n|---|---|\n" + "\n".join(f"| {q} | {a} |" for q, a in answers))
"""),
    ("md", r"""
**How to use them.** Run all cells (each notebook runs in about a minute or less), then move
the widget of each notebook's *Explore* section (05: *Try it*), which calls the same functions as
the cells above it. The same calls work in your own code:

```python
import infra_lab as il
sc = il.load_scenario("zaya1-ibm-mi300x")   # or il.Scenario.from_dict({...}) / from_toml(path)
est = il.estimate(sc)                        # step time, MFU, tokens/s, memory, breakdown
il.search(sc, top=10)                        # the best parallel plans
il.collective("all_reduce", 1e9, sc.hardware, gpus=sc.hardware.world_size)
il.serve({"model": {"preset": "llama3.3-70b"}, "hardware": {"accelerator": "MI300X", "nodes": 1},
          "serving": {"engine": "vllm", "tp": 8, "weight_precision": "fp8"}})   # tokens/s, TTFT, TPOT
```

**Conventions.** SI units inside the package (bytes, seconds, FLOP/s, W, USD); GB = 10⁹ bytes
and GiB = 2³⁰ bytes are kept apart; bandwidths are per direction unless marked otherwise;
FLOP/s figures are dense (no sparsity). Every number comes from `data/` with a source URL per
row — see `data/SOURCES.md`.
"""),
    ("md", "## The catalog at a glance"),
    ("code", r"""
print("scenarios:", il.list_scenarios())
il.catalog.accelerators().select(
    "name", "vendor", "release_date", "bf16_tflops", "fp8_tflops", "hbm_GB", "hbm_bw_TBps", "tdp_W",
    "compute_units", "scaleup_domain",
).sort("release_date")
"""),
    ("code", r"""
il.catalog.nics().select("name", "vendor", "line_rate_Gbps", "packet_spraying", "programmable_cc",
                         "selective_retransmit", "uec_ready")
"""),
    ("code", r"""
# parts announced but not shipped (data/expansion/ flags them): their release_date is the announcement's
announced = ([r["accelerator"] for r in il.expansion.platforms().iter_rows(named=True) if r["announced_not_shipped"]]
             + [r["nic"] for r in il.expansion.nics().iter_rows(named=True) if r["announced_not_shipped"]])
Markdown(f"**Announced, not shipped:** {' and '.join(announced)}. Their `release_date` is the day they were "
         f"announced and their specifications are announced figures (the `note` of their rows says which are "
         f"derived); notebook 08 marks every option that rests on them.")
"""),
    ("md", r"""
Sources: `data/accelerators.csv` and `data/nics.csv` (vendor datasheets and ROCm blogs,
Stas Bekman's *ml-engineering*, Glenn Lockwood's processor pages, NVIDIA documentation; one
URL or more per row). Boolean NIC features mean "claimed by a source"; `false` means no
source claims it, not that it is confirmed absent.

Next: [01 · The deployment →](01_the_deployment.ipynb)
"""),
]

if __name__ == "__main__":
    print(write_notebook("00_index", cells))
