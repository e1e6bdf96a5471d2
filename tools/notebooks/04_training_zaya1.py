"""Generate notebooks/04_training_zaya1.ipynb."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from nbbuild import write_notebook  # noqa: E402

cells = [
    ("md", r"""
# 04 · Training ZAYA1 on Zyphra's MI300X cluster: step time, throughput, days — and how sure we are

[← 03 interconnect](03_interconnect.ipynb) · [05 economics →](05_economics.ipynb)

**Question.** Zyphra pre-trained ZAYA1-base, a mixture-of-experts model with CCA attention, on
an IBM cluster of AMD MI300X with plain data parallelism and the ZeRO-1 distributed optimizer
(Zyphra's report, https://arxiv.org/abs/2511.17127; the model, cluster and token counts are
printed below from the shipped scenario and data). How long is one optimizer step, how many
tokens per second per GPU does that give, how many days do the published token counts take —
and within what band? How much of the step is the network? What would the same run need, and
achieve, on H100, H200 or MI355X when both vendors get the same software factors? The project's
three questions (can AMD's stack stand beside NVIDIA's, what MI300X's HBM buys, is the network a
bottleneck) are answered together at the end, under *The three questions*.

**How.** `il.estimate(scenario)` composes one step from the compute model (GEMM tiles/waves,
fused attention, memory-bound ops, MoE router and permutation), every collective priced by the
collective kernel that `il.collective` uses (Megatron's bucketed data-parallel reduce-scatter and
all-gather with per-bucket readiness, the tensor/expert/pipeline exchanges), the pipeline
schedule and the memory formula of `il.memory`. Every efficiency or overlap factor is a named
parameter of a *software stack* (`data/stacks.csv`, chosen by `[training] stack` or the
vendor's default); the CUDA and ROCm defaults carry the same factors. First we check the model
against published runs.

**Terms.** *dp, tp, ep*: data-, tensor- and expert-parallel widths; *pp, cp*: pipeline and
context (sequence-split) parallel widths; *etp*: tensor parallelism inside the experts. A plan
reads `tp1 ep4 etp1 dp1024 mbs2 zero1 rc=none`: those widths, the micro-batch (sequences per GPU
per forward pass), the ZeRO stage and the recomputation mode. *ZeRO-1*: the optimizer
state split over the dp replicas; *ZeRO-2*: the gradients split too. *Muon*: an optimizer that orthogonalizes each weight matrix's
update (Newton–Schulz iterations). *CCA*: ZAYA1's compressed convolutional attention. *MFU*:
model FLOPs per second ÷ the GPUs' dense peak. *Band*: the estimate with the stack's factors
moved across their stated ranges. *NIC busy fraction*: the share of the step during which a
collective that crosses nodes is running (`nic_busy_fraction`); a time share, not the NICs' link
utilization: a collective held back by per-message latency or by a scale-up hop counts as busy
too, so §6 also asks whether a faster NIC would shorten the step. The rest are in `docs/glossary.md`.
"""),
    ("code", r"""
from infra_lab.printout import signed   # a signed figure; one that rounds to zero prints 0 / 0.0, never +0 or -0
from IPython.display import Markdown, display

sc = il.load_scenario("zaya1-ibm-mi300x")
spec, hw = sc.model_spec, sc.hardware
pub_total, pub_active = spec.published_params_total, spec.published_params_active
cnt_total, cnt_active = spec.params_published_basis()     # the package's count on the published basis
# ZAYA1's token counts, the sourced rows (Zyphra 14T; press 12T) of data/reliability/parameters.csv
T14, T12 = il.reliability.parameter("zaya1_tokens"), il.reliability.parameter("zaya1_tokens_alt")
src = dict(il.reliability.parameters().select("name", "source_url").iter_rows())
display(Markdown(
    f"**The model** (`{spec.name}`): Zyphra publishes **{pub_total / 1e9:.1f}B total / {pub_active / 1e6:.0f}M active** "
    f"parameters (model card, https://huggingface.co/Zyphra/ZAYA1-base; {spec.published_basis.replace('_', '-')} counts). "
    f"The package counts the same architecture as {cnt_total / 1e9:.2f}B / {cnt_active / 1e6:.1f}M on that basis "
    f"({signed(100 * (cnt_total / pub_total - 1))} % / {signed(100 * (cnt_active / pub_active - 1))} %), and "
    f"{spec.params_total / 1e9:.2f}B total / {spec.params_active / 1e9:.2f}B active with the tied "
    f"{spec.params_embedding / 1e9:.2f}B embedding — the counts every step, memory and gradient below use "
    f"(`params_total`, `params_active`). {spec.layers} layers of {spec.attention.upper()} attention and an MoE block "
    f"of {spec.experts} experts, top-{spec.top_k}. **The cluster** (scenario `{sc.name}`): {hw.nodes} nodes × "
    f"{hw.gpus_per_node} {hw.accelerator} = {hw.world_size:,} GPUs. **Tokens**: {T14 / 1e12:.0f}T in Zyphra's report "
    f"({src['zaya1_tokens']}), {T12 / 1e12:.0f}T in press coverage ({src['zaya1_tokens_alt']}); both are shown."))
"""),
    ("md", r"""
## 1. Can we trust the step model?

Two sets of published, fully specified runs (details and rules: `docs/validation.md`):

* **2021–22 A100** (Megatron-LM): Korthikanti et al. 2022 Table 5 and the 174.6B ZeRO-3
  rows of Narayanan et al. 2021 Table 2 fit the 2022 stack's framework and memory-bound time
  scales and its ZeRO-3 factors; the other runs are held out (the counts are printed below).
* **Current runs** (2024–26, `data/measurements/training_runs.csv`): Megatron-Core, torchtitan
  and Primus runs, dense and MoE, on H100 (incl. torchtitan's lower-power H100 variant, whose
  catalog memory and power are printed below)/H200/H800/B200/GB200/GB300, MI300X (torchtitan runs, and Primus pipeline-schedule runs compared with a
  global batch assumed from the Primus test config that sets their model shape), MI325X (AMD's
  8-node Primus Llama 3.1 runs and published Primus logs of Llama 2 7B and 70B and of a host-bound
  Mixtral 8x7B baseline), B200 MoE (torchtitan Qwen3-30B-A3B runs on 1 to 16 nodes, some with DeepEP) and MI355X (Primus runs), BF16 and FP8. A fixed hash of each run's id puts it in the **test** split
  or not. Each framework family has its own stack — Megatron-Core (with
  Primus and DeepSeek's runs) and torchtitan (FSDP2, SDPA: FlashAttention-2, cuDNN on Blackwell, per-op selective
  checkpointing) — whose `framework_time_scale` and `memory_time_scale`, one value for both
  vendors, are fitted on the family's train runs only, within physical bounds
  (`validation.FIT_BOUNDS`). MoE runs are priced at their own ep/etp, dispatcher (all-to-all or
  DeepEP-style), routing and EP overlap; the ablation baselines whose MoE path is host-bound
  (`moe_host_sync`) take the stack's host-path slowdown of their MoE layers (fitted on those
  train runs alone) and are left out of the family fit;
  runs that publish async tensor parallelism hide the stack's async-TP share of their TP
  collectives, and runs without torch.compile take the stack's eager factor on their
  memory-bound ops; torchtitan's FSDP overlap is derived the same way (share, factor and
  overlap each from one train-split pair). Megatron-Core's 1F1B all-to-all overlap is fitted on
  the train runs that publish it (DeepSeek's DualPipe keeps its own stated share), and torchao's
  rowwise and MX FP8 recipes are priced with their per-axis casts (`fp8_scaling`).

Error = predicted / measured step time − 1 (negative: the model is too fast).
"""),
    ("code", r"""
v = il.validation.compare()
a100 = il.validation.summary(v)
cur = il.validation.compare_current()
cur_sum = il.validation.summary_current(cur)
n_a100 = dict(a100.select("split", "cases").iter_rows())
cur_c = cur.filter(pl.col("status") == "compared")
n_cur = dict(cur_c.group_by("split").len().iter_rows())
prp_mi = cur_c.filter((pl.col("accelerator") == "MI300X") & (pl.col("family") == "megatron-core"))
# torchtitan's H100s: the catalog variant that models them (validation.VARIANTS) and how many compared runs use it
v96 = il.catalog.accelerator(il.validation.VARIANTS["96GB"])
ids96 = il.validation.current_runs().filter(pl.col("accelerator_variant").str.contains("96GB"))["id"]
n96 = cur_c.filter(pl.col("id").is_in(ids96.implode())).height
display(Markdown(
    f"A100: {n_a100['train']} runs fit the factors, {n_a100['test']} held out ({n_a100['all']} in all). Current runs: "
    f"{cur.height} in the file, {cur_c.height} compared ({n_cur.get('train', 0)} train, {n_cur.get('test', 0)} test), "
    f"{cur.height - cur_c.height} not compared (reasons below); {prp_mi.height} of the compared MI300X runs are "
    f"Megatron-family (Primus). {n96} compared runs are on torchtitan's H100 variant, modelled as catalog part "
    f"`{v96.name}`: {v96.hbm_bytes / 1e9:.0f} GB of HBM at a {v96.tdp_W:.0f} W power limit."))
ERR = ("error = predicted / measured step time − 1 (= measured / predicted tokens per second − 1; negative: the "
       "model is too fast); train: the runs the stack factors are fitted on, test: held out")
display(il.charts.headline_table(
    a100, "2021–22 A100 runs (Megatron-LM): step-time error by split", subtitle=ERR,
    labels={"mean_abs_error_pct": "mean |error|", "max_abs_error_pct": "worst |error|", "mean_error_pct": "mean error"},
    highlight=pl.col("split") == "test",
    sources=["Korthikanti et al. 2022, Table 5: https://arxiv.org/abs/2205.05198",
             "Narayanan et al. 2021, Tables 1–2: https://arxiv.org/abs/2104.04473"]))
il.charts.headline_table(
    cur_sum, "Current runs (2024–26): step-time error by split, dense / MoE", subtitle=ERR,
    labels={"median_abs_error_pct": "median |error|", "max_abs_error_pct": "worst |error|", "mean_error_pct": "mean error",
            "predicted_not_fitting": "predicted not to fit"},
    highlight=(pl.col("split") == "test") & (pl.col("kind") == "all"),
    sources="one source URL per run in data/measurements/training_runs.csv (docs/validation.md)")
"""),
    ("code", r"""
il.charts.parity_chart(v)
"""),
    ("code", r"""
# a run whose source states no precision is priced in bf16 (its `assumptions` say "precision=bf16"): say so
# in the column, where an empty cell read as "unknown" beside the bf16 and fp8 rows
prec_shown = (pl.when(pl.col("precision").is_null() & pl.col("assumptions").str.contains("precision=bf16", literal=True))
                .then(pl.lit("bf16 (assumed)")).otherwise(pl.col("precision")).alias("precision"))
display(il.charts.headline_table(
    cur.filter(pl.col("status") == "compared").sort("split", "dense_or_moe", "id").select(
        "id", "split", "dense_or_moe", "accelerator", "gpus", prec_shown, "measured_tokens_per_s_per_gpu",
        "predicted_tokens_per_s_per_gpu", "error_pct", "fits"),
    "Every compared current run: measured and predicted throughput",
    subtitle="error = predicted / measured step time − 1 = measured / predicted throughput − 1 (negative: predicted too fast); "
             "fits: the memory model says the run fits on its GPUs; bf16 (assumed): the source states no precision",
    labels={"dense_or_moe": "dense / MoE", "measured_tokens_per_s_per_gpu": "measured",
            "predicted_tokens_per_s_per_gpu": "predicted"}, decimals={"measured_tokens_per_s_per_gpu": 0,
                                                                     "predicted_tokens_per_s_per_gpu": 0},
    sources="one source URL per run in data/measurements/training_runs.csv"))
skipped = cur.filter(pl.col("status") != "compared")
print(f"{skipped.height} runs not compared:")
with pl.Config(fmt_str_lengths=400, tbl_rows=-1):   # every reason, whole
    display(skipped.group_by("status").agg(pl.len().alias("runs"), pl.col("id").sort().str.join(", ").alias("ids"))
            .sort(["runs", "status"], descending=[True, False]))
"""),
    ("code", r"""
# the same errors by split, accelerator and dense/MoE (predicted_not_fitting: runs that ran but
# that the memory model says do not fit)
il.charts.headline_table(
    il.validation.summary_by_accelerator(cur), "Current runs: step-time error by split, accelerator and dense / MoE",
    labels={"dense_or_moe": "dense / MoE", "median_abs_error_pct": "median |error|", "max_abs_error_pct": "worst |error|",
            "mean_error_pct": "mean error", "predicted_not_fitting": "predicted not to fit"},
    sources="one source URL per run in data/measurements/training_runs.csv")
"""),
    ("code", r"""
te = cur_sum.filter((pl.col("split") == "test") & (pl.col("kind") == "all")).row(0, named=True)
te_d = cur_sum.filter((pl.col("split") == "test") & (pl.col("kind") == "dense")).row(0, named=True)
te_m = cur_sum.filter((pl.col("split") == "test") & (pl.col("kind") == "moe")).row(0, named=True)
a100_test = a100.filter(pl.col("split") == "test").row(0, named=True)
worst = cur.filter(pl.col("status") == "compared").sort("abs_error_pct", descending=True).head(3)
mem = il.validation.memory_check().filter(pl.col("status") == "compared")
mem_peak = mem.filter(pl.col("error_pct").is_not_null())
BOUND = il.validation.STEP_TIME_BOUNDS_PCT   # the project's target on the test split: median and worst |error| [%]


def bounds_verdict(short=False):   # each bound's verdict on its own: a median within its bound is not "outside"
    ok = [te["median_abs_error_pct"] <= BOUND["median"], te["max_abs_error_pct"] <= BOUND["worst"]]
    word = lambda o: "meets" if o else ("misses" if short else "does **not** meet")  # noqa: E731
    return (f"{word(ok[0])} the ≤ {BOUND['median']:g} % median target {'and' if ok[0] == ok[1] else 'but'} "
            f"{word(ok[1])} the ≤ {BOUND['worst']:g} % worst-case one")


display(Markdown(
    f"**Reading.** On the 2021–22 A100 runs the held-out mean |error| is "
    f"{a100_test['mean_abs_error_pct']:.1f} % (worst {a100_test['max_abs_error_pct']:.1f} %). On current runs "
    f"the test split's median |error| is {te['median_abs_error_pct']:.1f} % and the worst "
    f"{te['max_abs_error_pct']:.1f} % ({te['cases']} runs; dense median {te_d['median_abs_error_pct']:.1f} %, "
    f"MoE median {te_m['median_abs_error_pct']:.1f} %), so the model "
    f"{bounds_verdict()}. The largest "
    f"errors of all compared runs, either split: " + ", ".join(
        f"{i} {signed(e, 0)} % ({sp})" for i, e, sp in zip(worst["id"], worst["error_pct"], worst["split"], strict=True)) + ". "
    f"Memory: against {mem_peak.height} published peak-reserved figures the median |error| is "
    f"{mem_peak['error_pct'].abs().median():.0f} %, and the model says a published run fits in "
    f"{int(mem['agrees'].sum())} of {mem.height} cases; of the {cur_c.height} throughput runs (all of which ran) "
    f"it says {int(cur_c['fits'].sum())} fit. Treat every number below as carrying at least "
    f"this uncertainty."))
"""),
    ("md", r"""
**Does the band mean anything?** Section 2 gives ZAYA1 a band: the estimate with every stack
factor moved across its stated range (`il.training.estimate_band`). The band is a sensitivity,
not a fitted confidence interval, so it is worth checking how often the published test runs
fall inside their own band. `il.validation.band_coverage` computes each run's band over every
factor of its stack with a stated range and places the measurement against it (bar = band,
tick = nominal estimate, point = measured, all divided by the nominal estimate).
"""),
    ("code", r"""
cov = il.validation.band_coverage(cur, split="test")
out = cov.filter(~pl.col("inside")).sort("edge_error_pct")
display(Markdown(
    f"{int(cov['inside'].sum())} of the {cov.height} test-split runs lie inside their band. "
    + ("Outside it (step-time error of the nearest band edge): "
       + "; ".join(f"{i} {signed(e)} %" for i, e in out.select("id", "edge_error_pct").iter_rows()) + ". "
       "No values of the factors inside their stated ranges reproduce a run outside its band: either a cost is "
       "missing from, or wrongly added to, the model for that run, or a stated range is too narrow."
       if out.height else "None lies outside it.")))
il.charts.band_coverage_chart(cov)
"""),
    ("md", r"""
**How wrong on a setup nobody fitted?** The train/test split hashes run ids, so the runs of one
source — one publisher's stack, sweep and unstated settings — sit on both sides of it, and a
test run shares its source's systematic offsets with train runs the factors were fitted on.
`il.validation.leave_one_source_out` holds each source out in turn (a source is a run id's prefix:
`TT24` torchtitan's 2024 benchmark, `MZ` the Megatron MoE Model Zoo, …): it refits the family
time scales without that source's train runs (and, at them, Megatron-Core's `ep_comm_overlap` and
`moe_host_sync_slowdown`) and predicts all of the source's runs with the refitted values.
Constants that only that source's runs could set are kept and the source flagged (last column):
there the check is optimistic. It is approximate in one more way: the mechanisms were chosen by
people who had seen every train run; only the fitted numbers are held out (`docs/validation.md`).
"""),
    ("code", r"""
loso = il.validation.leave_one_source_out(current=cur)
loso_sum = il.validation.loso_summary(loso)
la = loso_sum.filter(pl.col("source") == "all").row(0, named=True)
lt = loso_sum.filter(pl.col("source") == "all: test split").row(0, named=True)
lw = loso_sum.filter(~pl.col("source").str.starts_with("all")).head(3)
display(Markdown(
    f"Over the {la['runs']} compared runs, each predicted by a fit that never saw its source: median |error| "
    f"{la['in_sample_median_abs_error_pct']:.1f} % in sample → {la['held_out_median_abs_error_pct']:.1f} % held out, "
    f"worst {la['in_sample_worst_abs_error_pct']:.1f} → {la['held_out_worst_abs_error_pct']:.1f} %; on the "
    f"{lt['runs']} test-split runs {lt['in_sample_median_abs_error_pct']:.1f} → {lt['held_out_median_abs_error_pct']:.1f} % "
    f"(median) and {lt['in_sample_worst_abs_error_pct']:.1f} → {lt['held_out_worst_abs_error_pct']:.1f} % (worst). "
    "The worst sources held out: " + "; ".join(
        f"{r['source']} {r['held_out_worst_abs_error_pct']:.0f} % worst, {r['held_out_median_abs_error_pct']:.0f} % median "
        f"({r['in_sample_median_abs_error_pct']:.0f} % in sample)" for r in lw.iter_rows(named=True)) + "."))
il.charts.headline_table(
    loso_sum.select("source", "family", "runs", "test_runs", "in_sample_median_abs_error_pct",
                    "in_sample_worst_abs_error_pct", "held_out_median_abs_error_pct", "held_out_worst_abs_error_pct",
                    "held_out_mean_error_pct", "fixed_on_source"),
    "Leave one source out: step-time error in sample vs with the source's runs out of every fit",
    subtitle="|error| of predicted / measured step time − 1; mean error signed (negative: too fast); "
             "last column: constants set on the source's runs and kept (the check is optimistic there)",
    labels={"test_runs": "test runs", "in_sample_median_abs_error_pct": "in-sample median |error|",
            "in_sample_worst_abs_error_pct": "in-sample worst |error|",
            "held_out_median_abs_error_pct": "held-out median |error|",
            "held_out_worst_abs_error_pct": "held-out worst |error|", "held_out_mean_error_pct": "held-out mean error",
            "fixed_on_source": "kept, though set on the source"},
    highlight=pl.col("source").str.starts_with("all"),
    sources="one source URL per run in data/measurements/training_runs.csv; per run: docs/validation.md")
"""),
    ("md", r"""
## 2. ZAYA1 on Zyphra's MI300X cluster with data parallelism + ZeRO-1

The shipped scenario `zaya1-ibm-mi300x`, its hardware, batch and plan printed from the scenario
below (the real batch was increased progressively and is not public, so the global batch is the
scenario's choice). The band moves every stack factor with a stated range across it
(`il.training.estimate_band`, every corner of the box evaluated; which of them act on this plan is
printed under the table) except `muon_ns_shared_over_dp`: its range is not an efficiency but a
choice between two Muon implementations (distributed or replicated Newton–Schulz), which the
optimizer paragraph below weighs against Zyphra's report. The default band, with it, is printed
under the table too.
"""),
    ("code", r"""
est = il.estimate(sc)
MUON_SHARE = "muon_ns_shared_over_dp"              # distributed (1) or replicated (0) Newton-Schulz
band = il.training.estimate_band(sc, exclude=[MUON_SHARE])
hw, tr, par = sc.hardware, sc.training, sc.parallelism
STACK = il.stacks.params(est.stack)                 # the factors this estimate used (data/stacks.csv)
MTOK = tr.global_batch * tr.seq_len / 1e6           # tokens per step [M]
display(Markdown(
    f"Scenario `{sc.name}`: {hw.nodes} nodes × {hw.gpus_per_node} {hw.accelerator}, {hw.nics_per_node} {hw.nic} per "
    f"node on a {hw.fabric} fabric; sequence {tr.seq_len:,}, {tr.global_batch:,} sequences per step ({MTOK:.1f}M "
    f"tokens), micro-batch {tr.micro_batch}, {tr.precision}, recompute {tr.recompute}; dp = {est.gpus // (par.tp * par.pp * par.cp):,}, "
    f"ZeRO-{par.zero}, stack `{est.stack}`."))
lo, hi = band.filter(pl.col("case") == "low").row(0, named=True), band.filter(pl.col("case") == "high").row(0, named=True)
days = {t: (est.days_to_train(t), t / lo["tokens_per_s"] / 86400, t / hi["tokens_per_s"] / 86400) for t in (T12, T14)}
answer = pl.DataFrame({
    "quantity": ["tokens per second per GPU", "step time [s]", "tokens per second [M]", "memory per GPU [GB]",
                 "NIC busy fraction [%]", f"days for {T12 / 1e12:.0f}T tokens (press)",
                 f"days for {T14 / 1e12:.0f}T tokens (Zyphra)", f"GPU-hours for {T14 / 1e12:.0f}T tokens [M]"],
    "nominal": [est.tokens_per_s_per_gpu, est.step_time_s, est.tokens_per_s / 1e6, est.memory_per_gpu_bytes / 1e9,
                100 * est.nic_busy_fraction, days[T12][0], days[T14][0], est.gpu_hours(T14) / 1e6],
    "band_low": [hi["tokens_per_s_per_gpu"], lo["step_time_s"], hi["tokens_per_s"] / 1e6, None, None,
                 days[T12][1], days[T14][1], None],
    "band_high": [lo["tokens_per_s_per_gpu"], hi["step_time_s"], lo["tokens_per_s"] / 1e6, None, None,
                  days[T12][2], days[T14][2], None],
})
il.charts.headline_table(
    answer, f"ZAYA1 on {hw.world_size:,} {hw.accelerator}: one step, its throughput and the days to train",
    subtitle=(f"stack {est.stack}; fits in {hw.accelerator_spec.memory_capacity_bytes / 1e9:.0f} GB addressable "
              f"({hw.accelerator_spec.hbm_bytes / 1e9:.0f} GB HBM): {'yes' if est.fits else 'no'}; band: the stack "
              f"factors across their stated ranges"),
    labels={"band_low": "band, low", "band_high": "band, high"}, highlight=[0],
    sources=["model and cluster: Zyphra's report, https://arxiv.org/abs/2511.17127",
             f"tokens: {src['zaya1_tokens']} (Zyphra), {src['zaya1_tokens_alt']} (press)"])
"""),
    ("code", r"""
RANGES = il.stacks.ranges(est.stack)              # every factor of the stack with a stated range
full = il.training.estimate_band(sc)               # the default: every stated range, Muon's included
idle = [n for n in full["inactive_factors"][0].split(",") if n]   # the band's: no corner moves with them
acts = [n for n in RANGES if n not in idle]        # the ones whose range moves this plan's step
f_hi = full.filter(pl.col("case") == "high").row(0, named=True)
display(Markdown(
    f"The band's factors that act on this plan: {', '.join(f'`{n}`' for n in acts if n != MUON_SHARE)}; the other "
    f"{len(idle)} of stack `{est.stack}`'s {len(RANGES)} stated ranges ({', '.join(idle)}: the band's "
    f"`inactive_factors`, each held at the stack's value in every row) leave the step as it is. The default band "
    f"(`estimate_band(sc)`, every stated range) also moves `{MUON_SHARE}` (0 = replicated, 1 = distributed) "
    + (f"across {RANGES[MUON_SHARE][0]:g}–{RANGES[MUON_SHARE][1]:g}: its slow edge is {f_hi['step_time_s']:.3f} s per step, "
       f"{f_hi['tokens_per_s_per_gpu']:,.0f} tokens/s per GPU ({f_hi['step_time_s'] / est.step_time_s:.1f}× the "
       f"nominal step), at `{MUON_SHARE}` = {f_hi[MUON_SHARE]:g}. The table above leaves it at the stack's "
       f"{STACK[MUON_SHARE]:g}; the optimizer paragraph below says why."
       if MUON_SHARE in acts else "(it does not act on this plan).")))
"""),
    ("md", r"""
Days for both token totals (Zyphra's and the press figure, printed at the top) are uninterrupted training at this batch and plan — no failures, restarts, checkpoints or
evaluation — with every token at the scenario's sequence length (the long-context phase is
priced as a rate below). Notebook 06 adds reliability; notebook 05 prices the GPU-hours. MFU depends on what is counted; tokens per second per GPU does not, so it comes
first. The conventions side by side (`models.FLOP_CONVENTIONS`, against the dense BF16 peak
printed above the table):
"""),
    ("code", r"""
mfu = est.mfu_table()
print(f"dense BF16 peak: {est.peak_flops / 1e12:,.0f} TFLOP/s per GPU")
mfu.with_columns((pl.col("flops_per_step") / 1e15).round(1).alias("PFLOP_per_step"), pl.col("tflops_per_gpu").round(0),
                 (100 * pl.col("mfu")).round(1).alias("mfu_pct")).select("convention", "PFLOP_per_step", "tflops_per_gpu", "mfu_pct")
"""),
    ("md", r"""
**How far to trust an MI300X answer.** The software factors are the same on both vendors by
design, and §1 shows where that leaves MI300X: the validation set's MI300X runs, by framework
family, below. The last column applies each family's mean error to this headline as a labelled
sensitivity (step time divided by 1 + error): nothing is fitted and the default stays
vendor-symmetric.
"""),
    ("code", r"""
mi_runs = cur_c.filter(pl.col("accelerator") == "MI300X")
mi_fam = mi_runs.group_by("family").agg(
    pl.len().alias("runs"), (pl.col("error_pct") < 0).sum().alias("too_fast"),
    pl.col("error_pct").mean().alias("mean_error_pct"), pl.col("error_pct").median().alias("median_error_pct"),
    pl.col("error_pct").min().alias("min_error_pct"), pl.col("error_pct").max().alias("max_error_pct"),
    pl.col("assumptions").str.contains("global_batch=", literal=True).sum().alias("global_batch_assumed"),
).sort("family")
mi_fam = mi_fam.with_columns(
    (est.step_time_s / (1 + pl.col("mean_error_pct") / 100)).alias("zaya1_step_s_if_bias_carried"),
    (days[T14][0] / (1 + pl.col("mean_error_pct") / 100)).alias("days_14T_if_bias_carried"))
MEG = mi_fam.filter(pl.col("family") == "megatron-core").row(0, named=True)
cdna3 = cur_c.filter((pl.col("accelerator") == "MI325X") & (pl.col("family") == "megatron-core"))
display(il.charts.headline_table(
    mi_fam, "MI300X runs of the validation set, by framework family",
    subtitle="error = predicted / measured step time − 1 (negative: predicted too fast); the last two columns: a labelled sensitivity, not a correction",
    labels={"too_fast": "predicted too fast", "mean_error_pct": "mean error", "median_error_pct": "median error",
            "min_error_pct": "min error", "max_error_pct": "max error", "global_batch_assumed": "global batch assumed",
            "zaya1_step_s_if_bias_carried": "ZAYA1 step if the mean error carried",
            "days_14T_if_bias_carried": f"days for {T14 / 1e12:.0f}T if carried"},
    units={"zaya1_step_s_if_bias_carried": "s", "days_14T_if_bias_carried": "days"},
    highlight=pl.col("family") == "megatron-core", sources="data/measurements/training_runs.csv (a URL per run)"))
display(Markdown(
    f"**Reading.** {mi_runs.height} MI300X runs are compared; {int(mi_runs['error_pct'].lt(0).sum())} of them are predicted "
    f"too fast (mean error {signed(mi_runs['error_pct'].mean())} %, median {signed(mi_runs['error_pct'].median())} %). The "
    f"Megatron family — the stack this scenario uses — meets MI300X through only {MEG['runs']} runs "
    f"({signed(MEG['min_error_pct'])} to {signed(MEG['max_error_pct'])} %), {MEG['global_batch_assumed']} of them with a global "
    f"batch the source does not print (assumed from the test config that sets their model shape). If their mean error "
    f"{signed(MEG['mean_error_pct'])} % carried over to ZAYA1, the step would be {MEG['zaya1_step_s_if_bias_carried']:.3f} s "
    f"instead of {est.step_time_s:.3f} s and {T14 / 1e12:.0f}T tokens would take {MEG['days_14T_if_bias_carried']:.1f} days "
    f"instead of {days[T14][0]:.1f}. With {MEG['runs']} runs and an assumed batch this is a sensitivity, not a correction."
    + (f" The same family on MI325X (the same CDNA 3 compute die, with more and faster HBM and a higher power limit; AMD's 8-node Primus runs, "
       f"batch sizes published) is off by "
       f"{', '.join(f'{signed(e)} % ({sp})' for e, sp in cdna3.sort('id').select('error_pct', 'split').iter_rows())}, so "
       f"whether the family's MI300X errors come from those {MEG['runs']} pipeline runs and their assumed batch or from the CDNA 3 "
       f"compute path stays open: {cdna3.height} runs on another part cannot settle it." if cdna3.height else "")))
"""),
    ("md", r"""
**The long-context phase.** Zyphra trains ZAYA1 in three phases, the last one a long-context
mid-training that extends the context to the model's maximum (Zyphra's report,
https://arxiv.org/abs/2511.17127; the maximum is printed below from the model preset). The
sources available to this package give the total token count (printed at the top) but not how it
splits over the phases, so a per-phase table cannot be built without inventing numbers, and the
days above price every token at the scenario's sequence length. What can be computed is the rate at that context: the same tokens per step, with
the best plan of a small search (no pipeline, tensor or expert parallelism, ZeRO-1, context
parallelism up to a node's GPUs).
"""),
    ("code", r"""
L32 = spec.max_seq_len
lc = sc.to_dict()
lc["training"] = {**lc["training"], "seq_len": L32, "global_batch": tr.global_batch * tr.seq_len // L32}
lc_best = il.search(lc, top=1, pp=1, tp=1, ep=1, zero=1, max_cp=hw.gpus_per_node, max_micro_batch=2).row(0, named=True)
DAYS_PER_T = {tr.seq_len: 1e12 / est.tokens_per_s / 86400, L32: 1e12 / lc_best["tokens_per_s"] / 86400}
pl.DataFrame({
    "sequence": [f"{tr.seq_len:,}", f"{L32:,}"],
    "plan": [f"cp{par.cp} dp{est.gpus // (par.tp * par.pp * par.cp)} mbs{tr.micro_batch}", f"cp{lc_best['cp']} dp{lc_best['dp']} mbs{lc_best['micro_batch']}"],
    "tokens_per_step_M": [MTOK, lc["training"]["global_batch"] * L32 / 1e6],
    "step_s": [est.step_time_s, lc_best["step_time_s"]],
    "tokens_per_s_per_gpu": [est.tokens_per_s_per_gpu, lc_best["tokens_per_s"] / est.gpus],
    "days_per_1T_tokens": [DAYS_PER_T[tr.seq_len], DAYS_PER_T[L32]],
}).with_columns(pl.col(pl.Float64).exclude("tokens_per_s_per_gpu").round(3), pl.col("tokens_per_s_per_gpu").round(0))
"""),
    ("code", r"""
display(Markdown(
    f"**Reading.** At {L32:,} tokens per sequence the best plan found is context parallelism over {lc_best['cp']} GPUs "
    f"({lc_best['tokens_per_s'] / est.gpus:,.0f} tokens/s per GPU against {est.tokens_per_s_per_gpu:,.0f} at "
    f"{tr.seq_len:,}): every trillion tokens trained at {L32 // 1024}k instead of {tr.seq_len // 1024}k adds "
    f"{DAYS_PER_T[L32] - DAYS_PER_T[tr.seq_len]:.2f} days. The {days[T14][0]:.1f} days for {T14 / 1e12:.0f}T are "
    f"therefore a lower bound by that much per long-context trillion; the phase split that would fix the total is not "
    f"public in the sources used here."))
"""),
    ("code", r"""
parts = est.breakdown.filter(pl.col("seconds") > 0).sort("seconds", descending=True)
display(Markdown("Where the step goes (the chart): " + ", ".join(
    f"{c} {1e3 * t:.0f} ms ({t / est.step_time_s:.0%})" for c, t in parts.iter_rows())
    + f" of {1e3 * est.step_time_s:.0f} ms; `dp_*_comm` is the data-parallel communication left exposed (§3)."))
il.charts.step_breakdown_chart(est.breakdown.with_columns(pl.lit("MI300X, DP + ZeRO-1").alias("run")),
                               title=f"ZAYA1 on {est.gpus:,} {hw.accelerator}: where one step goes")
"""),
    ("md", r"""
**The optimizer.** ZAYA1 trains with Muon on the weight matrices and AdamW on the embeddings and
1-D parameters (Zyphra's report, https://arxiv.org/abs/2511.17127). Muon's step is its element-wise
update plus the Newton–Schulz orthogonalization of every weight matrix's momentum
(`il.compute.newton_schulz_times`: each iteration's three GEMMs timed by the compute model, routed
experts as separate matrices). Who does that work is the stack factor `muon_ns_shared_over_dp`:
1 = distributed Muon (each data-parallel rank orthogonalizes only the whole matrices of its ZeRO-1
shard; Moonlight, https://arxiv.org/abs/2502.16982, and Dion-style layer-wise sharding), the
default; 0 = replicated (every rank orthogonalizes all of them), the pessimistic bound.
"""),
    ("code", r"""
ns = il.compute.newton_schulz_times(sc.model_spec, hw.accelerator, int(STACK["muon_ns_iterations"]))
NS_TFLOP = sc.model_spec.layers * float(ns["flops"].sum()) / 1e12   # every layer is an MoE layer here
n_mat = sc.model_spec.layers * int(ns["count"].sum())
rep = il.estimate(sc, params={"muon_ns_shared_over_dp": 0.0})
adam = il.estimate(sc.replace(training={"optimizer": "adamw"}))
dp = est.gpus // (par.tp * par.pp * par.cp)
upd = il.compute.optimizer_step_time(sc.model_spec.params_total / dp, hw.accelerator, tr.optimizer)


def opt_s(e):
    return float(e.breakdown.filter(pl.col("component") == "optimizer")["seconds"][0])


ns_d, ns_r = opt_s(est) - upd, opt_s(rep) - upd
step_flops = est.mfu_table()["flops_per_step"].max()
display(Markdown(
    f"Optimizer `{tr.optimizer}`: Newton–Schulz ({int(STACK['muon_ns_iterations'])} iterations) on {n_mat:,} matrices is "
    f"{NS_TFLOP:,.0f} TFLOP per step ({100 * NS_TFLOP * 1e12 / step_flops:.1f} % of the step's largest FLOP count). "
    f"Per GPU and step it takes **{1e3 * ns_d:.1f} ms distributed over the {dp:,} data-parallel ranks – "
    f"{1e3 * ns_r:,.0f} ms replicated** (the band of `muon_ns_shared_over_dp` 1 → 0), on top of the "
    f"{1e3 * upd:.2f} ms element-wise update (AdamW's: {1e3 * opt_s(adam):.2f} ms). The step is {est.step_time_s:.3f} s "
    f"({est.tokens_per_s_per_gpu:,.0f} tokens/s per GPU) distributed, {rep.step_time_s:.3f} s "
    f"({rep.tokens_per_s_per_gpu:,.0f}) replicated, {adam.step_time_s:.3f} s with AdamW. Replicated, the optimizer would "
    f"take {100 * opt_s(rep) / rep.step_time_s:.0f} % of the step, distributed {100 * opt_s(est) / est.step_time_s:.1f} %; "
    + ("the report's statement that Muon does not dominate the iteration fits the distributed end of the band."
       if opt_s(est) < 0.5 * est.step_time_s <= opt_s(rep) else
       "the report states that Muon does not dominate the iteration; compare it with both ends of the band.")))
"""),
    ("md", r"""
## 3. The network's real share

With ZeRO-1 and no expert parallelism every GPU reduce-scatters the fp32 gradients of all
parameters (printed below) each step and all-gathers the bf16 parameters back — in Megatron's buckets of
max(floor, per-rank growth × dp) parameters (the stack's `dp_bucket_min_params` and
`dp_bucket_params_per_rank`, printed below), as ring collectives across all the nodes. The last gradient bucket
(with the embedding) can only start when backward ends, and the first parameter bucket is needed
as soon as forward starts: those are exposed whatever the overlap. The sweep varies the achieved
overlap of the rest, the gradient-reduce precision (Megatron's default fp32 vs
`--grad-reduce-in-bf16`), the bucket size (the per-rank growth) and the global batch.
"""),
    ("code", r"""
rows = []
for ovl in sorted({0.0, 0.5, 0.7, 0.9, 1.0, STACK["dp_comm_overlap"]}):   # incl. the stack's own value
    for gbytes in (4.0, 2.0):
        e = il.estimate(sc, params={"dp_comm_overlap": ovl, "grad_reduce_bytes": gbytes})
        b = dict(e.breakdown.iter_rows())
        rows.append({"dp_comm_overlap": ovl, "grad_reduce_bytes": gbytes, "step_ms": 1e3 * e.step_time_s,
                     "exposed_dp_ms": 1e3 * (b["dp_grad_comm"] + b["dp_param_comm"]), "raw_dp_ms": 1e3 * e.dp_comm_raw_s,
                     "nic_busy": e.nic_busy_fraction, "tokens_per_s_per_gpu": e.tokens_per_s_per_gpu,
                     "days_14T": e.days_to_train(T14)})
sweep = pl.DataFrame(rows)
UNITS = {"dp_comm_overlap": "dp_comm_overlap [-]", "grad_reduce_bytes": "grad_reduce [B/param]", "nic_busy": "nic_busy [-]",
         "days_14T": f"days for {T14 / 1e12:.0f}T tokens", "bucket_params_per_rank": "bucket_params_per_rank [params]",
         "bucket_params_M": "bucket [M params]", "buckets_worth": "buckets per model [-]",
         "Mtokens_per_step": "tokens per step [M]", "global_batch": "global_batch [sequences]",
         "micro_batch": "micro_batch [sequences]", "micro_batches_per_step": "micro-batches per GPU per step [-]",
         "zyphra_plan_tok_s_gpu": "Zyphra's plan [tokens/s per GPU]", "best_tok_s_gpu": "best plan [tokens/s per GPU]",
         "best_days_14T": f"best plan, days for {T14 / 1e12:.0f}T tokens"}


def with_units(df):
    # the frame's columns named with their units, for display (the frames keep short names for the code)
    return df.with_columns(pl.col(pl.Float64).round(2)).rename({k: v for k, v in UNITS.items() if k in df.columns})


with_units(sweep)
"""),
    ("code", r"""
stk_rows = il.stacks.table().filter(pl.col("stack") == est.stack)
BKT = dict(stk_rows.select("parameter", "source_url").iter_rows())
print(f"stack `{est.stack}`: dp_bucket_params_per_rank = {STACK['dp_bucket_params_per_rank']:,.0f} params "
      f"(floor dp_bucket_min_params = {STACK['dp_bucket_min_params']:,.0f}); source {BKT['dp_bucket_params_per_rank']}")
buckets = []
for per_rank in sorted({0.25e6, 1e6, 4e6, STACK["dp_bucket_params_per_rank"]}):
    e = il.estimate(sc, params={"dp_bucket_params_per_rank": per_rank})
    b = dict(e.breakdown.iter_rows())
    size = max(STACK["dp_bucket_min_params"], per_rank * dp)
    buckets.append({"bucket_params_per_rank": per_rank, "bucket_params_M": size / 1e6,
                    "buckets_worth": sc.model_spec.params_total / size, "step_ms": 1e3 * e.step_time_s,
                    "raw_dp_ms": 1e3 * e.dp_comm_raw_s, "exposed_grad_ms": 1e3 * b["dp_grad_comm"],
                    "exposed_param_ms": 1e3 * b["dp_param_comm"], "nic_busy": e.nic_busy_fraction,
                    "tokens_per_s_per_gpu": e.tokens_per_s_per_gpu})
bucket = pl.DataFrame(buckets)
with_units(bucket)
"""),
    ("code", r"""
batches = []
for gb in (dp, 2 * dp, 4 * dp, 8 * dp):   # pure data parallelism needs >= dp sequences (micro-batch 1 at gb = dp)
    mbs = 1 if gb == dp else 2
    e = il.estimate(sc.replace(training={"global_batch": gb, "micro_batch": mbs}))
    b = dict(e.breakdown.iter_rows())
    batches.append({"global_batch": gb, "micro_batch": mbs, "micro_batches_per_step": gb // (mbs * dp),
                    "Mtokens_per_step": gb * tr.seq_len / 1e6, "step_ms": 1e3 * e.step_time_s,
                    "exposed_dp_ms": 1e3 * (b["dp_grad_comm"] + b["dp_param_comm"]), "nic_busy": e.nic_busy_fraction,
                    "tokens_per_s_per_gpu": e.tokens_per_s_per_gpu})
batch = pl.DataFrame(batches)
with_units(batch)
"""),
    ("code", r"""
s0 = sweep.filter((pl.col("dp_comm_overlap") == 0.0) & (pl.col("grad_reduce_bytes") == 4.0)).row(0, named=True)
s9 = sweep.filter((pl.col("dp_comm_overlap") == STACK["dp_comm_overlap"]) & (pl.col("grad_reduce_bytes") == 4.0)).row(0, named=True)
s1 = sweep.filter((pl.col("dp_comm_overlap") == 1.0) & (pl.col("grad_reduce_bytes") == 4.0)).row(0, named=True)
b9 = sweep.filter((pl.col("dp_comm_overlap") == STACK["dp_comm_overlap"]) & (pl.col("grad_reduce_bytes") == 2.0)).row(0, named=True)
small = batch.row(0, named=True)
bk0 = bucket.filter(pl.col("bucket_params_per_rank") == STACK["dp_bucket_params_per_rank"]).row(0, named=True)
bk_lo, bk_hi = bucket.row(0, named=True), bucket.row(-1, named=True)      # smallest and largest buckets
LAT_MS = (bk_lo["raw_dp_ms"] - bk0["raw_dp_ms"]) / (bk_lo["buckets_worth"] - bk0["buckets_worth"])
BUCKETS = (
    f"Buckets of {bk_lo['bucket_params_M']:,.0f}M parameters ({bk_lo['bucket_params_per_rank'] / 1e6:g}M per rank) make the "
    f"step {bk_lo['step_ms']:.0f} ms against {bk0['step_ms']:.0f} ms at the stack's {bk0['bucket_params_M']:,.0f}M: the same "
    f"bytes in {bk_lo['buckets_worth']:.0f} buckets' worth instead of {bk0['buckets_worth']:.0f}, each collective paying its "
    f"fixed latency across {dp:,} ranks (about {LAT_MS:.0f} ms of raw time per added bucket), raise the raw traffic from "
    f"{bk0['raw_dp_ms']:.0f} to {bk_lo['raw_dp_ms']:.0f} ms and keep cross-node collectives running {100 * bk_lo['nic_busy']:.0f} % of the "
    f"step. Buckets of {bk_hi['bucket_params_M']:,.0f}M ({bk_hi['bucket_params_per_rank'] / 1e6:g}M per rank) cut the raw "
    f"traffic to {bk_hi['raw_dp_ms']:.0f} ms but make the step {bk_hi['step_ms']:.0f} ms: the last gradient bucket, which "
    f"can only start when backward ends, is larger, and the exposed gradient time grows from {bk0['exposed_grad_ms']:.0f} "
    f"to {bk_hi['exposed_grad_ms']:.0f} ms.")
display(Markdown(
    f"**Reading.** Each step moves the gradients and weights of all {sc.model_spec.params_total / 1e9:.2f}B parameters "
    f"(embedding included). The raw data-parallel traffic is {s9['raw_dp_ms']:.0f} ms per {s9['step_ms']:.0f} ms step: collectives that cross nodes "
    f"run during {100 * s9['nic_busy']:.0f} % of it. Even with perfect overlap {s1['exposed_dp_ms']:.0f} ms stay exposed "
    f"(the tail and first buckets); at the stack's {STACK['dp_comm_overlap']:g} it is {s9['exposed_dp_ms']:.0f} ms and with no overlap the step "
    f"grows to {s0['step_ms']:.0f} ms. Reducing gradients in bf16 takes the step to {b9['step_ms']:.0f} ms. At "
    f"{small['Mtokens_per_step']:.1f}M tokens per step (micro-batch {small['micro_batch']}: pure data parallelism has "
    f"one sequence per GPU there) the same traffic meets less compute: "
    f"{small['tokens_per_s_per_gpu']:,.0f} tokens/s per GPU against {s9['tokens_per_s_per_gpu']:,.0f} at {MTOK:.1f}M. "
    + BUCKETS + " "
    + ("Cross-node communication is a co-bottleneck of this plan, not a detail (§6 asks whether the NIC's line "
       "rate is what bounds it)." if s9["nic_busy"] > 0.5 else
       "Cross-node collectives run for a minority of the step: the network is not the bottleneck of this plan.")))
"""),
    ("code", r"""
NET_US = {v: 1e6 * il.fabric.constant(f"net_overhead_{v}_x86_s") for v in ("intel", "amd")}   # [µs per message]
display(Markdown(
    "**The host CPU: a library tuning constant, priced as a cost.** ZAYA1's nodes have Intel Xeon hosts "
    "(ZAYA1 report); the MI300X platform default is an AMD EPYC. NCCL's and RCCL's tuning model assumes a "
    f"per-message network post overhead by host vendor, `getNetOverhead()`: {NET_US['intel']:g} µs on Intel x86, "
    f"{NET_US['amd']:g} µs on AMD x86, {il.fabric.constant('net_overhead_simple_factor'):g}× that for a Simple ring step "
    "(`data/network_constants.csv`, pinned to the libraries' commits). In the libraries it does one thing: it is a "
    "floor on every step of a multi-node ring in the latency estimate that picks the algorithm and protocol. RCCL "
    "has the same function, unchanged, with no MI300X or MI355X override, and no public measurement of the values "
    "or of the Intel/AMD difference was found. The model prices it as a cost: the floor on each ring step's latency "
    f"(an all-gather over {dp:,} ranks has {dp - 1:,} steps), plus, its own use, one post per network chunk in the "
    "bandwidth term. The cell below computes ZAYA1 on both hosts. Read the difference as what one unmeasured library "
    f"constant is worth on a {dp:,}-rank latency-bound ring, not as a measured host difference."))
"""),
    ("code", r"""
HOSTS = (sc.hardware.host_cpu, il.fabric.platform(sc.hardware.accelerator)["default_host_cpu"])
BUCKET = max(STACK["dp_bucket_min_params"], STACK["dp_bucket_params_per_rank"] * dp)   # parameters per bucket
host_rows = []
for h in HOSTS:
    s_h = sc.replace(hardware={"host_cpu": h})
    e = il.estimate(s_h)
    b = dict(e.breakdown.iter_rows())
    ag = il.collective("all_gather", STACK["weight_bytes"] * BUCKET, s_h.hardware, dp)   # one parameter bucket
    host_rows.append({"host_cpu": h, "vendor": il.fabric.host_cpu(h)["vendor"],
                      "net_overhead_us": 1e6 * il.fabric.net_overhead_s(h),
                      "bucket_all_gather_ms": 1e3 * ag.time_s, "algorithm": f"{ag.algorithm}/{ag.protocol}",
                      "exposed_grad_ms": 1e3 * b["dp_grad_comm"], "exposed_param_ms": 1e3 * b["dp_param_comm"],
                      "compute_ms": 1e3 * (b["compute_fwd"] + b["compute_bwd"] + b["compute_recompute"]),
                      "step_ms": 1e3 * e.step_time_s, "tokens_per_s_per_gpu": e.tokens_per_s_per_gpu,
                      "days_14T": e.days_to_train(T14)})
host_tab = pl.DataFrame(host_rows)
UNITS.update({"net_overhead_us": "net overhead [µs/message]", "bucket_all_gather_ms": "one bucket's all-gather [ms]",
              "exposed_grad_ms": "exposed grad [ms]", "exposed_param_ms": "exposed param [ms]", "compute_ms": "compute [ms]"})
hx, he = host_tab.row(0, named=True), host_tab.row(1, named=True)
display(with_units(host_tab.select("host_cpu", "net_overhead_us", "bucket_all_gather_ms", "exposed_param_ms", "exposed_grad_ms",
                                    "step_ms", "tokens_per_s_per_gpu", "days_14T")))
display(Markdown(
    f"**Reading.** On {he['vendor']} {he['host_cpu']} hosts ({he['net_overhead_us']:g} µs per message) ZAYA1's step would be "
    f"{he['step_ms']:.0f} ms instead of {hx['step_ms']:.0f} ms on its {hx['vendor']} hosts ({hx['net_overhead_us']:g} µs), "
    f"{signed(100 * (he['step_ms'] / hx['step_ms'] - 1), 0)} %: {he['tokens_per_s_per_gpu']:,.0f} against {hx['tokens_per_s_per_gpu']:,.0f} "
    f"tokens/s per GPU, {he['days_14T']:.1f} against {hx['days_14T']:.1f} days for {T14 / 1e12:.0f}T tokens. Compute is the same "
    f"({hx['compute_ms']:.0f} ms); all of the difference is data-parallel communication (exposed parameter gathers "
    f"{hx['exposed_param_ms']:.0f} → {he['exposed_param_ms']:.0f} ms, gradient reduce-scatters {hx['exposed_grad_ms']:.0f} → "
    f"{he['exposed_grad_ms']:.0f} ms): one {STACK['weight_bytes'] * BUCKET / 1e9:.2f} GB parameter bucket gathered over "
    f"{dp:,} ranks ({hx['algorithm']}) takes {hx['bucket_all_gather_ms']:.1f} against {he['bucket_all_gather_ms']:.1f} ms, because each of "
    f"its {dp - 1:,} ring steps is floored at {'three times ' if hx['algorithm'].endswith('/Simple') else ''}the host's overhead and each step's chunk of "
    f"{STACK['weight_bytes'] * BUCKET / (dp * il.collectives.collective_time_params(sc.hardware).named()['NCH_RING']) / 1e3:.0f} kB "
    f"pays it once more. ZAYA1's headline uses its real ({hx['vendor']}) hosts; the swing is the weight of a library constant "
    f"with no published measurement behind it, on a plan whose rings span {dp:,} ranks."))
"""),
    ("md", r"""
### Which collectives the plan runs

`il.training.collectives(scenario)` lists every collective the step model prices for the plan:
the parallel dimension, the op, the group and how many of its ranks share a scale-up domain
(fewer than the group: its traffic crosses the NICs), the bytes and time of one call and how
often it runs (`calls` per its `calls_per` unit, and `calls_per_micro_batch` / `calls_per_step`
over the stage whose term the step carries; a pipeline row's `calls_per_step` is the transfers
the step waits for, its schedule's critical path; an expert-parallel all-to-all's
`load_imbalance` is the busiest expert rank's factor the step charges on its time);
`il.training.collectives_by_dimension(scenario)` adds, per breakdown component, the raw time
per step (the model's overlap factors at 0) against what the step time carries.
`infra-lab estimate SCENARIO --collectives` prints both.
"""),
    ("code", r"""
coll_rows = il.training.collectives(sc)
coll_dims = il.training.collectives_by_dimension(sc)
display(coll_rows.select("dimension", "op", "what", "group_ranks", "ranks_per_domain", "bytes_per_call",
                         "time_per_call_s", "calls", "calls_per", "calls_per_step"))
est_c = il.estimate(sc)
cd = {r["component"]: r for r in coll_dims.iter_rows(named=True)}
dp_rows = coll_rows.filter(pl.col("component") == "dp_grad_comm")
ag_rows = coll_rows.filter(pl.col("component") == "dp_param_comm")
dims_run = sorted(set(coll_rows["dimension"]))
display(il.charts.communication_chart(coll_dims, title=f"ZAYA1 on {hw.world_size:,} {hw.accelerator}: communication per step"))
display(Markdown(
    f"**Reading.** The plan's collectives are all of the {' and '.join(dims_run)} dimensions: "
    f"{dp_rows['calls_per_step'].sum():.0f} gradient reduce-scatters and {ag_rows['calls_per_step'].sum():.0f} parameter all-gathers per "
    f"step, over {dp_rows['group_ranks'].max():,} ranks with {dp_rows['ranks_per_domain'].max()} per node "
    f"({coll_rows['crosses_scale_up'].sum()} of the {coll_rows.height} kinds cross the NICs); the largest moves "
    f"{dp_rows['bytes_per_call'].max() / 1e9:.2f} GB in {1e3 * dp_rows['time_per_call_s'].max():.1f} ms. Raw, they take "
    f"{1e3 * (cd['dp_grad_comm']['raw_s_per_step'] + cd['dp_param_comm']['raw_s_per_step']):.0f} ms per step; "
    f"{1e3 * (cd['dp_grad_comm']['exposed_s_per_step'] + cd['dp_param_comm']['exposed_s_per_step']):.0f} ms of it is exposed "
    f"in the {1e3 * est_c.step_time_s:.0f} ms step. Their raw time over the step is the NIC busy fraction, "
    f"{100 * coll_dims['network_s_per_step'].sum() / est_c.step_time_s:.1f} % (`est.nic_busy_fraction` "
    f"{100 * est_c.nic_busy_fraction:.1f} %)."))
"""),
    ("md", r"""
## 4. Memory: what plain data parallelism holds per GPU

Each GPU holds all of the parameters (bf16), their fp32 gradient buffer (Megatron's
`main_grad`, the stack's `grad_buffer_bytes`), 1/dp of the optimizer states (Muon's master copy and
momentum on the weight matrices, AdamW's on the embeddings and 1-D parameters) and the activations of
one micro-batch. The breakdown is `il.memory.training_memory` — the same formula the step model
evaluates, allocator reserve included (its size is printed below the table, from the stack).
"""),
    ("code", r"""
mem_sc = il.memory.training_memory(sc)
mem_sc.select("component", (pl.col("bytes") / 1e9).round(1).alias("GB"), "note")
"""),
    ("code", r"""
reserve = dict(mem_sc.select("component", "bytes").iter_rows())["allocator_reserve"]
display(Markdown(
    f"The allocator reserve is a fixed amount plus a fraction of the tensor bytes: "
    f"{STACK['memory_reserve_bytes'] / 1e9:.1f} GB outside the caching allocator (runtime context, "
    f"communication buffers) plus {100 * STACK['memory_reserve_fraction']:.0f} % of the tensor bytes "
    f"(reserved-but-unallocated blocks) on stack `{est.stack}`: {reserve / 1e9:.1f} GB here. In all "
    f"{est.memory_per_gpu_bytes / 1e9:.1f} GB per GPU against the {hw.accelerator_spec.memory_capacity_bytes / 1e9:.1f} GB "
    f"a job can address on {hw.accelerator} ({hw.accelerator_spec.hbm_bytes / 1e9:.0f} GB HBM): the plan "
    f"{'fits' if est.fits else 'does **not** fit'}."))
"""),
    ("md", r"""
## 5. The same run on H100, H200 and MI355X — same software factors on both vendors

Same model, batch and node count; each cluster's NICs and fabric are printed above the table
(NVIDIA's from the shipped `zaya1-h100-counterpart` scenario, AMD's from ZAYA1's). Zyphra's plan
as is, then the best plan of a reduced search over data/tensor/expert parallelism (its bounds
printed with the clusters; every ZeRO stage, recompute and ep/etp choice). The default stacks `megatron-core-cuda` and `megatron-core-rocm` carry identical factors; the
last rows repeat MI300X and H100 with vendor-specific factors (the sensitivity stacks `*-asym`: the
factors this package used per vendor before its default stacks were made vendor-symmetric, kept to show how
much that choice moves the comparison).
"""),
    ("code", r"""
h100 = il.load_scenario("zaya1-h100-counterpart")
clusters = {"MI300X": sc, "H100-SXM": h100, "H200-SXM": h100.replace(hardware={"accelerator": "H200-SXM"}),
            "MI355X": sc.replace(hardware={"accelerator": "MI355X"})}
quick = dict(pp=1, cp=1, max_micro_batch=4, max_tp=2)
display(Markdown(
    "Clusters: " + "; ".join(
        f"{n}: {s.hardware.nodes} × {s.hardware.gpus_per_node} GPUs, {s.hardware.nics_per_node} "
        f"{s.hardware.nic} ({il.catalog.nic(s.hardware.nic).line_rate_bps / 1e9:.0f} Gb/s) per node, "
        f"{s.hardware.fabric}" for n, s in clusters.items())
    + f". Search: pp = {quick['pp']}, cp = {quick['cp']}, tp ≤ {quick['max_tp']}, micro-batch ≤ {quick['max_micro_batch']}."))
PLAN = "tp{tp} ep{ep} etp{etp} dp{dp} mbs{micro_batch} zero{zero} rc={recompute}"
rows, best, zyphra = [], {}, {}
for name, s in clusters.items():
    e = il.estimate(s)
    zyphra[name] = e
    b = il.search(s, top=1, **quick).row(0, named=True)
    best[name] = b
    rows.append({"accelerator": name, "stack": e.stack, "zyphra_plan_fits": e.fits,
                 "zyphra_plan_tok_s_gpu": e.tokens_per_s_per_gpu if e.fits else None,
                 "best_plan": PLAN.format(**b),
                 "best_tok_s_gpu": b["tokens_per_s"] / s.hardware.world_size, "best_step_s": b["step_time_s"],
                 "best_memory_GB": b["memory_per_gpu_bytes"] / 1e9, "best_days_14T": T14 / b["tokens_per_s"] / 86400})
for name, s, stk in (("MI300X", sc, "megatron-core-rocm-asym"), ("H100-SXM", h100, "megatron-core-cuda-asym")):
    b = il.search(s, top=1, stack=stk, **quick).row(0, named=True)
    e_a = il.estimate(s, stack=stk)
    rows.append({"accelerator": f"{name} (asym factors)", "stack": stk, "zyphra_plan_fits": e_a.fits,
                 "zyphra_plan_tok_s_gpu": e_a.tokens_per_s_per_gpu if e_a.fits else None,
                 "best_plan": PLAN.format(**b),
                 "best_tok_s_gpu": b["tokens_per_s"] / s.hardware.world_size, "best_step_s": b["step_time_s"],
                 "best_memory_GB": b["memory_per_gpu_bytes"] / 1e9, "best_days_14T": T14 / b["tokens_per_s"] / 86400})
cmp = pl.DataFrame(rows)
with_units(cmp)
"""),
    ("code", r"""
ests = {}
for name, s in clusters.items():
    r = best[name]
    ests[name] = il.estimate(s.replace(
        training={"micro_batch": r["micro_batch"], "recompute": r["recompute"]},
        parallelism={k: r[k] for k in ("tp", "pp", "vp", "cp", "ep", "etp", "zero", "fsdp", "sequence_parallel")}))
il.charts.step_breakdown_chart(il.charts.breakdown_frame(ests), title=f"ZAYA1, {sc.hardware.world_size:,} GPUs, best plan per accelerator")
"""),
    ("code", r"""
r_mi, r_h = best["MI300X"], best["H100-SXM"]
ratio = r_h["tokens_per_s"] / r_mi["tokens_per_s"]
asym = cmp.filter(pl.col("stack").str.ends_with("-asym"))
ratio_asym = asym.filter(pl.col("accelerator").str.starts_with("H100"))["best_tok_s_gpu"][0] / \
    asym.filter(pl.col("accelerator").str.starts_with("MI300X"))["best_tok_s_gpu"][0]
e_h, acc_h = zyphra["H100-SXM"], h100.hardware.accelerator_spec
h100_fits = e_h.fits
H100_MEM = (f"{e_h.memory_per_gpu_bytes / 1e9:.1f} GB per GPU against the {acc_h.memory_capacity_bytes / 1e9:.1f} GB an "
            f"H100 job can address ({acc_h.hbm_bytes / 1e9:.0f} GB HBM)")
fastest = cmp.filter(~pl.col("stack").str.ends_with("-asym")).sort("best_tok_s_gpu", descending=True)["accelerator"][0]
e_h2 = il.estimate(h100.replace(parallelism={"zero": 2}))   # the same plain data parallelism, gradients sharded too
MB_STEP = tr.global_batch // (tr.micro_batch * dp)           # micro-batches per GPU per step
H100_Z2 = (f"With the gradients sharded over the data-parallel ranks as well (ZeRO-2) the same plain data parallelism "
           f"{'fits' if e_h2.fits else 'does not fit'} an H100 ({e_h2.memory_per_gpu_bytes / 1e9:.1f} GB, "
           f"{e_h2.tokens_per_s_per_gpu:,.0f} tokens/s per GPU)"
           + (f": at {MB_STEP} micro-batch per GPU per step the gradients are reduce-scattered once either way, so "
              "ZeRO-2 moves no more data than ZeRO-1 here." if MB_STEP == 1 else "."))
display(Markdown(
    f"**Reading.** Zyphra's exact plan {'fits' if h100_fits else 'does not fit'} on an H100: it needs {H100_MEM}. "
    + ("" if h100_fits else H100_Z2 + " ") +
    f"The search's best H100 plan is `{PLAN.format(**r_h)}`, the best MI300X plan `{PLAN.format(**r_mi)}`. "
    f"With the same software factors on both vendors H100 "
    f"delivers {ratio:.2f}× MI300X's tokens per second per GPU; with the vendor-specific `*-asym` factors the ratio is "
    f"{ratio_asym:.2f}×. Of the {len(clusters)} clusters, {fastest} is fastest per GPU here. Both statements rest on the compute "
    f"model's per-GPU rates, which the validation above shows can be off by tens of per cent — and on MI300X in one "
    f"direction: if the Megatron-family MI300X mean error ({signed(MEG['mean_error_pct'])} % over {MEG['runs']} runs, §2) "
    f"carried over to MI300X alone, the ratio would be {ratio / (1 + MEG['mean_error_pct'] / 100):.2f}× (a sensitivity, "
    f"not the default)."))
"""),
    ("md", r"""
## 6. The fabric

NIC speed (a slower and a faster NIC than Pollara 400), a full Clos instead of rails-only, and an
oversubscribed fabric, for Zyphra's plan and for an expert-parallel plan (the experts spread over
two nodes' GPUs, all-to-all every MoE layer).
"""),
    ("code", r"""
def nic_label(name):
    return f"{name} ({il.catalog.nic(name).line_rate_bps / 1e9:.0f} Gb/s)"


NIC0, NIC_SLOW, NIC_FAST, OVERSUB = sc.hardware.nic, "ConnectX-6-HDR", "Vulcano-800", 4.0
BASE = f"{nic_label(NIC0)}, {sc.hardware.fabric}"           # the shipped scenario's network
SLOW = f"{nic_label(NIC_SLOW)}, {sc.hardware.fabric}"
FAST = f"{nic_label(NIC_FAST)}, {sc.hardware.fabric}"
variants = {
    BASE: {},
    SLOW: {"nic": NIC_SLOW},
    FAST: {"nic": NIC_FAST},
    f"{nic_label(NIC0)}, fat-tree": {"fabric": "fat-tree"},
    f"{nic_label(NIC0)}, fat-tree {OVERSUB:g}:1 oversubscribed": {"fabric": "fat-tree", "oversubscription": OVERSUB},
}
net = []
EP = 2 * sc.hardware.gpus_per_node                  # two nodes' GPUs
for label, hw_v in variants.items():
    for plan, par_v in (("DP + ZeRO-1", {}), (f"EP {EP} + ZeRO-1", {"ep": EP})):
        e = il.estimate(sc.replace(hardware=hw_v, parallelism=par_v))
        b = dict(e.breakdown.iter_rows())
        net.append({"network": label, "plan": plan, "step_ms": 1e3 * e.step_time_s,
                    "dp_comm_ms": 1e3 * (b["dp_grad_comm"] + b["dp_param_comm"]), "ep_comm_ms": 1e3 * b["ep_comm"],
                    "nic_busy": e.nic_busy_fraction, "days_14T": e.days_to_train(T14)})
netdf = pl.DataFrame(net)
with_units(netdf)
"""),
    ("code", r"""
# the reading of the table: each variant's step against the shipped network, per plan
rel = netdf.join(netdf.filter(pl.col("network") == BASE).select("plan", pl.col("step_ms").alias("base_ms")), on="plan")
rel = rel.with_columns((100 * (pl.col("step_ms") / pl.col("base_ms") - 1)).alias("change_pct"))
PLANS = list(dict.fromkeys(netdf["plan"]))                  # [Zyphra's plan, the expert-parallel plan]


def effect(plan):
    others = rel.filter((pl.col("plan") == plan) & (pl.col("network") != BASE)).sort("change_pct", descending=True)
    moved = others.filter(pl.col("change_pct").abs() >= 0.5)
    still = others.filter(pl.col("change_pct").abs() < 0.5)["network"].to_list()
    parts = [f"with {r['network']} {r['step_ms']:.0f} ms ({signed(r['change_pct'], 0)} %, {r['days_14T']:.1f} days for "
             f"{T14 / 1e12:.0f}T tokens)" for r in moved.iter_rows(named=True)]
    if still:
        parts.append(f"unchanged with {' or '.join(still)}")
    return (f"* **{plan}** ({rel.filter((pl.col('plan') == plan) & (pl.col('network') == BASE))['step_ms'][0]:.0f} ms): "
            + "; ".join(parts) + ".")


top = rel.filter(pl.col("network") != BASE).sort("change_pct", descending=True).row(0, named=True)
dp_ms, ep_ms = (rel.filter((pl.col("plan") == p_) & (pl.col("network") == BASE))["step_ms"][0] for p_ in PLANS)


def change(plan, networks):
    return rel.filter((pl.col("plan") == plan) & pl.col("network").is_in(networks))["change_pct"].abs().max()


FABRICS = [n for n in variants if n not in (BASE, SLOW, FAST)]
fast_dp = change(PLANS[0], [FAST])
fast_ep = rel.filter((pl.col("plan") == PLANS[1]) & (pl.col("network") == FAST))["change_pct"][0]   # signed [%]
fast_bps = il.catalog.nic(NIC_FAST).line_rate_bps / 8          # [B/s] per direction
so_fast = il.fabric.scaleout(sc.replace(hardware={"nic": NIC_FAST}).hardware)   # min(NIC, host link) per GPU
nic_matters = change(PLANS[0], [SLOW]) >= 0.5
fabric_dp, fabric_ep = change(PLANS[0], FABRICS) >= 0.5, change(PLANS[1], FABRICS) >= 0.5
M_LEAF = il.fabric.nodes_per_leaf(sc.replace(hardware={"fabric": "fat-tree", "oversubscription": OVERSUB}).hardware)
if nic_matters and not fabric_dp:
    verdict = ("the NIC's line rate is the network choice that matters; the fabric (its shape or oversubscription) "
               + ("matters only to the expert-parallel plan (the collective model bounds only the all-to-all by the "
                  "share of its bytes that leaves a leaf through the oversubscribed uplinks; the data-parallel rings "
                  "are not affected)."
                  if fabric_ep else
                  f"matters to neither plan: at {OVERSUB:g}:1 a fat-tree leaf serves {M_LEAF:g} nodes, so the "
                  f"expert-parallel group's {EP // sc.hardware.gpus_per_node} nodes (placed under one leaf) send no "
                  "all-to-all byte through the oversubscribed uplinks, and the collective model does not bound the "
                  "data-parallel rings by oversubscription."))
else:
    verdict = (f"the fabric {'also ' if nic_matters else ''}changes Zyphra's plan's step (figures above), "
               f"{'as does' if nic_matters else 'while'} the NIC's line rate{'' if nic_matters else ' does not'}.")
display(Markdown(
    f"**Reading.** Step time against the shipped network ({BASE}):\n\n" + "\n".join(effect(p_) for p_ in PLANS) + "\n\n"
    f"The largest single effect is {top['network']} on {top['plan']} ({signed(top['change_pct'], 0)} %). "
    f"On the shipped network {PLANS[1]} is {abs(ep_ms / dp_ms - 1):.0%} {'slower' if ep_ms > dp_ms else 'faster'} than "
    f"{PLANS[0]}. For ZAYA1 as Zyphra runs it, " + verdict + " "
    + (f"A faster NIC ({nic_label(NIC_FAST)}) {'leaves' if fast_dp < 0.5 else 'changes'} Zyphra's plan's step "
       f"{'unchanged' if fast_dp < 0.5 else f'by {fast_dp:.0f} %'} and changes {PLANS[1]}'s by {signed(fast_ep, 0)} %: "
       + (f"at {il.catalog.nic(NIC0).line_rate_bps / 1e9:.0f} Gb/s the NIC's line rate is not what bounds the "
          "data-parallel collectives in the collective model (the latency of each bucket's ring across all ranks and the scale-up hops do), although a slower "
          "NIC does. " if fast_dp < 0.5 and nic_matters else "")
       + (f"GPU-direct RDMA crosses each GPU's host link ({so_fast.host_link}, {so_fast.host_link_Bps / 1e9:.0f} GB/s "
          f"each way on {hw.accelerator}, below this NIC's {fast_bps / 1e9:.0f} GB/s), so the model gives each GPU "
          f"min(NIC, host link) × {so_fast.efficiency:.2f} = {so_fast.gpu_Bps / 1e9:.0f} GB/s of scale-out, not "
          f"{fast_bps * so_fast.efficiency / 1e9:.0f} GB/s; the achieved fraction is the one measured on 400G NICs "
          f"and PCIe packet overheads are not in it, so the gain is still an upper bound."
          if so_fast.capped else ""))))
"""),
    ("md", r"""
Collective times come from the collective kernel of [03 interconnect](03_interconnect.ipynb)
(`il.collective`): RCCL/NCCL ring and tree latencies, achieved xGMI/NVLink and NIC bandwidths,
rail-aware all-to-all on rails-only fabrics.

## 7. Explore

Change the GPU count, global batch, sequence length, precision and accelerator, or put a pipeline
into Zyphra's plan (stages, schedule and, for the interleaved schedule, virtual stages vp); the widget
calls `il.estimate` with that plan and, when it does not fit or Zyphra's plan is not valid, the best
plan of a reduced `il.search`; its `note` column says why. A pipeline you chose is not swapped for a
searched plan when the library refuses it: the table shows the library's message instead. A global batch smaller than the GPU count leaves
pure data parallelism without a whole sequence per GPU: the search then splits the model
(tensor, pipeline or context parallelism) until the data-parallel width divides the batch, and
the note gives the smallest global batch pure data parallelism would take. Each accelerator's
nodes carry one back-end NIC per GPU: the catalog's default NIC of the part
(`il.catalog.default_nic`, `data/default_nics.csv`), the same NIC notebook 05's throughput
comparison gives it (printed below with its source).
"""),
    ("code", r"""
from infra_lab.widgets.training import EXPLORER_ACCELERATORS
nic_rows = il.catalog.default_nics()
display(pl.DataFrame({"accelerator": list(EXPLORER_ACCELERATORS), "nic": list(EXPLORER_ACCELERATORS.values())}).join(
    nic_rows.select("accelerator", "basis", "source_url"), on="accelerator", how="left").with_columns(
    pl.col("nic").map_elements(lambda n: il.catalog.nic(n).line_rate_bps / 1e9, return_dtype=pl.Float64).alias("NIC [Gb/s]")))
il.widgets.training_explorer()
"""),
    ("md", r"""
## Takeaways
"""),
    ("code", r"""
slow_net = netdf.filter((pl.col("network") == SLOW) & (pl.col("plan") == "DP + ZeRO-1"))["step_ms"][0]
base_net = netdf.filter((pl.col("network") == BASE) & (pl.col("plan") == "DP + ZeRO-1"))["step_ms"][0]
slow_gbps = il.catalog.nic(NIC_SLOW).line_rate_bps / 1e9
fast_net = netdf.filter((pl.col("network") == FAST) & (pl.col("plan") == "DP + ZeRO-1"))["step_ms"][0]
fast_gbps = il.catalog.nic(NIC_FAST).line_rate_bps / 1e9
mfu_by = dict(mfu.select("convention", "mfu").iter_rows())
display(Markdown("\n".join([
    f"* **Validation.** Held-out A100 runs: mean |error| {a100_test['mean_abs_error_pct']:.1f} %. Current runs (test split): "
    f"median {te['median_abs_error_pct']:.1f} %, worst {te['max_abs_error_pct']:.1f} % — "
    f"{bounds_verdict(short=True)}; dense {te_d['median_abs_error_pct']:.1f} %, "
    f"MoE {te_m['median_abs_error_pct']:.1f} % median.",
    f"* **ZAYA1 on {est.gpus:,} {hw.accelerator}** (DP + ZeRO-1, {MTOK:.1f}M tokens per step): {est.tokens_per_s_per_gpu:,.0f} tokens/s per GPU "
    f"(band {hi['tokens_per_s_per_gpu']:,.0f}–{lo['tokens_per_s_per_gpu']:,.0f}), a {est.step_time_s:.3f} s step, "
    f"{days[T14][0]:.1f} days for {T14 / 1e12:.0f}T tokens (band {days[T14][1]:.1f}–{days[T14][2]:.1f}) of uninterrupted training, "
    f"{est.gpu_hours(T14) / 1e6:.2f} M GPU-hours. MFU is {100 * mfu_by['6N']:.1f} % under 6·N·D with N active and "
    f"{100 * mfu_by['6N+head+causal_attn']:.1f} % counting the LM head and causal attention. "
    f"Sensitivities: with the Megatron-family MI300X mean error ({signed(MEG['mean_error_pct'])} %, {MEG['runs']} runs) "
    f"{MEG['days_14T_if_bias_carried']:.1f} days; every trillion tokens at {L32 // 1024}k instead of "
    f"{tr.seq_len // 1024}k adds {DAYS_PER_T[L32] - DAYS_PER_T[tr.seq_len]:.2f} days (the phase split is not public).",
    f"* **Cross-node communication {'runs through most of' if s9['nic_busy'] > 0.5 else 'runs for a minority of'} the step:** "
    f"collectives that cross nodes run during {100 * s9['nic_busy']:.0f} % of it; "
    f"{s1['exposed_dp_ms']:.0f} ms stay exposed even with perfect overlap, and the step is {s0['step_ms']:.0f} ms "
    f"with no overlap against {s9['step_ms']:.0f} ms at the assumed {STACK['dp_comm_overlap']:g}. With {slow_gbps:.0f} Gb/s NICs it is {slow_net:.0f} ms "
    f"instead of {base_net:.0f} ms, with {fast_gbps:.0f} Gb/s NICs {fast_net:.0f} ms.",
    f"* **Bucket size is a {max(bk_lo['step_ms'], bk_hi['step_ms']) / bk0['step_ms']:.1f}× lever:** "
    f"{bk_lo['bucket_params_per_rank'] / 1e6:g}M parameters per rank gives {bk_lo['step_ms']:.0f} ms (more buckets, each "
    f"paying its latency: raw traffic {bk_lo['raw_dp_ms']:.0f} ms, cross-node collectives running {100 * bk_lo['nic_busy']:.0f} % of the step), the stack's "
    f"{bk0['bucket_params_per_rank'] / 1e6:g}M {bk0['step_ms']:.0f} ms, {bk_hi['bucket_params_per_rank'] / 1e6:g}M "
    f"{bk_hi['step_ms']:.0f} ms (a larger last bucket exposed after backward: {bk_hi['exposed_grad_ms']:.0f} ms against "
    f"{bk0['exposed_grad_ms']:.0f} ms).",
    f"* **Memory:** Zyphra's plan needs {est.memory_per_gpu_bytes / 1e9:.1f} GB per GPU on {hw.accelerator} "
    f"({'fits' if est.fits else 'does not fit'}); on H100 it needs {H100_MEM}, so it "
    f"{'fits' if h100_fits else 'does not fit'} there"
    + ("" if h100_fits else f" (with ZeRO-2 it needs {e_h2.memory_per_gpu_bytes / 1e9:.1f} GB and "
       f"{'fits' if e_h2.fits else 'does not fit'})")
    + f"; the search's best H100 plan is `{PLAN.format(**r_h)}`.",
    f"* **Vendors with the same factors:** H100's best plan gives {ratio:.2f}× MI300X's tokens/s per GPU "
    f"({ratio_asym:.2f}× with the vendor-specific `*-asym` factors); {fastest} is the fastest of the {len(clusters)} here. "
    f"All {mi_runs.height} validation runs on MI300X are predicted too fast ({signed(mi_runs['error_pct'].min(), 0)} to "
    f"{signed(mi_runs['error_pct'].max(), 0)} %), so the MI300X side of this ratio is more likely optimistic than not."
    if int(mi_runs["error_pct"].lt(0).sum()) == mi_runs.height else
    f"({ratio_asym:.2f}× with the vendor-specific `*-asym` factors); {fastest} is the fastest of the {len(clusters)} here.",
])))
"""),
    ("md", r"""
### The three questions, answered for ZAYA1

Each answer is built from the cells above (nothing typed in); notebook 02 answers the memory
question for other models and for inference, notebook 03 the network question collective by
collective.
"""),
    ("code", r"""
h_c = cur_c.filter(pl.col("accelerator") == "H100-SXM")
h_runs, h_train = h_c["error_pct"], h_c.filter(pl.col("split") == "train").height
mi_err = mi_runs["error_pct"]
split_h = PLAN.format(**r_h)
GIB = 2**30   # bytes per GiB: the datasheets' "192 GB" and "80 GB" are binary gigabytes
need, cap_mi, cap_h = est.memory_per_gpu_bytes / GIB, hw.accelerator_spec.memory_capacity_bytes / GIB, acc_h.memory_capacity_bytes / GIB
slow_pct, fast_pct = 100 * (slow_net / base_net - 1), 100 * (fast_net / base_net - 1)
exposed = s9["exposed_dp_ms"] / s9["step_ms"]
NEAR = 0.10   # "close": per-GPU throughputs within 10 % of each other [-], a reading threshold
close = abs(ratio - 1) <= NEAR


def gb_gib(gib):   # a size given in GiB, as the tables above print it (GB) with the datasheets' GiB beside it
    return f"{gib * GIB / 1e9:.1f} GB ({gib:.1f} GiB)"


def moved(pct):    # a step-time change in words [%]
    return "leave it unchanged" if abs(pct) < 0.5 else f"make it {abs(pct):.0f} % {'longer' if pct > 0 else 'shorter'}"


display(Markdown("\n".join([
    f"1. **Can AMD's stack stand beside NVIDIA's?** On vendor-symmetric software factors "
    f"{'the hardware does' if close else 'the hardware is not within ' + f'{NEAR:.0%}'}: H100's best plan gives {ratio:.2f}× MI300X's tokens/s per GPU, and {fastest} is the fastest of the "
    f"{len(clusters)} clusters. The measured runs are less kind to the software: the {mi_err.len()} compared MI300X "
    f"runs sit at a median error of {signed(mi_err.median())} % ({int(mi_err.lt(0).sum())} of {mi_err.len()} predicted too "
    f"fast), the {h_runs.len()} H100 runs ({h_train} of them among the runs the factors are fitted on) at "
    f"{signed(h_runs.median())} %; carried over, the Megatron-family MI300X mean "
    f"({signed(MEG['mean_error_pct'])} %, {MEG['runs']} runs with an assumed batch) would make the ratio "
    f"{ratio / (1 + MEG['mean_error_pct'] / 100):.2f}×. So: {'close' if close else 'apart'} on paper, "
    + ("with published MI300X runs reaching less of their hardware than H100 runs do — too few runs to settle how "
       "much less." if mi_err.median() < h_runs.median() else
       "and published MI300X runs reach as much of their hardware as H100 runs do."),
    f"2. **What does {hw.accelerator_spec.hbm_bytes / 1e9:.0f} GB of HBM buy?** Zyphra's plan — plain data "
    f"parallelism, no model splitting — needs {gb_gib(need)} per GPU: it "
    f"{'fits' if est.fits else 'does not fit'} the {gb_gib(cap_mi)} an {hw.accelerator} job can address"
    + ((f" and not the {gb_gib(cap_h)} of an H100 as it stands. On an H100 plain data parallelism fits only with the "
        f"gradients sharded as well (ZeRO-2: {e_h2.memory_per_gpu_bytes / 1e9:.1f} GB, "
        f"{e_h2.tokens_per_s_per_gpu / est.tokens_per_s_per_gpu:.2f}× MI300X's tokens/s per GPU); the search's best H100 "
        f"plan splits the experts instead (`{split_h}`, {ratio:.2f}×). For this "
        f"{spec.published_params_total / 1e9:.1f}B-total model the memory buys ZeRO-1 with the full fp32 gradient buffer "
        "that Megatron's distributed optimizer keeps, not a different parallel layout and not speed."
        if e_h2.fits else
        f" and not the {gb_gib(cap_h)} of an H100, which has to split the experts (`{split_h}`) to fit (ZeRO-2 does "
        f"not fit either: {e_h2.memory_per_gpu_bytes / 1e9:.1f} GB). For this "
        f"{spec.published_params_total / 1e9:.1f}B-total model the memory buys the simpler plan, not speed: the split H100 "
        f"plan still runs {ratio:.2f}× MI300X's tokens/s per GPU.") if not h100_fits else
       f" and also the {gb_gib(cap_h)} of an H100: for this model the memory buys headroom, not a different plan."),
    f"3. **Is the network a bottleneck?** A co-bottleneck: collectives that cross nodes run during "
    f"{100 * s9['nic_busy']:.0f} % of the step and {s9['exposed_dp_ms']:.0f} ms of its {s9['step_ms']:.0f} ms "
    f"({100 * exposed:.0f} %) stay exposed. {slow_gbps:.0f} Gb/s NICs would {moved(slow_pct)}, "
    f"{fast_gbps:.0f} Gb/s NICs {moved(fast_pct)}: at the shipped {il.catalog.nic(NIC0).line_rate_bps / 1e9:.0f} Gb/s "
    + ("the data-parallel rings are bounded by their per-bucket latency and the scale-up hops, not by the NIC's "
       f"bandwidth, and the bucket size (a {max(bk_lo['step_ms'], bk_hi['step_ms']) / bk0['step_ms']:.1f}× lever) "
       "matters more than a faster NIC." if abs(fast_pct) < 0.5 else
       "the NIC's bandwidth still bounds the data-parallel collectives."),
])))
"""),
    ("code", r"""
runs = il.validation.current_runs().select("id", "cp", "source_url")
errs = cur_c.join(runs, on="id", how="left")


def misses(df):
    e = df["error_pct"]
    return (f"{df.height} runs, {int((e < 0).sum())} of them predicted too fast, errors {signed(e.min(), 0)} to {signed(e.max(), 0)} %")


b200 = errs.filter(pl.col("id").str.starts_with("AO-") & (pl.col("accelerator") == "B200"))
ZAYA_OWN_OPS = [o for o in il.compute.layer_ops(spec, tr.seq_len, tr.micro_batch, 1, hw.accelerator, passes=("fwd",))["op"]
                if o.startswith(("cca_", "router_"))]   # ZAYA1's own ops in the op table (CCA, the MLP router)
q235 = errs.filter(pl.col("id").str.starts_with("MZ-Q235") & (pl.col("accelerator") == "H100-SXM"))
ring = errs.filter((pl.col("family") == "torchtitan") & (pl.col("cp").cast(pl.Int64, strict=False) >= 4))
host = il.validation.MOE_HOST_SYNC_RUNS
host_src = runs.filter(pl.col("id").is_in(list(host)))["source_url"].n_unique()
prp_out = int((prp_mi["abs_error_pct"] > BOUND["worst"]).sum())
display(Markdown(
    "**What is approximate.** §1 and `docs/validation.md` (per case) give the current-run errors against the "
    f"±{BOUND['median']:g} % median / ±{BOUND['worst']:g} % worst target. Among the misses: torchao's small dense torchtitan runs on the "
    f"{il.catalog.accelerator('B200-750W').tdp_W:.0f} W B200 ({misses(b200)}), the Megatron-Core Model Zoo's "
    f"Qwen3-235B runs on H100 ({misses(q235)}), torchtitan's long-context ring attention at cp ≥ 4 ({misses(ring)}), "
    f"and the only Megatron-family MI300X runs compared, pipeline-parallel runs on "
    f"{' or '.join(sorted({f'{g:,}' for g in prp_mi['gpus']}))} GPUs from AMD's Primus pipeline blog ({misses(prp_mi)}; "
    f"{prp_out} outside the ±{BOUND['worst']:g} % target), with "
    "a global batch the blog does not print, assumed from the Primus test config that sets their model shape: the "
    "`megatron-core-rocm` stack priced here meets MI300X only through them, and with the factors vendor-symmetric "
    f"every compared MI300X run is predicted {'too fast' if int(mi_runs['error_pct'].lt(0).sum()) == mi_runs.height else 'off'} "
    f"({mi_runs.height} runs, median {signed(mi_runs['error_pct'].median())} %); §2 prints what ZAYA1's step and days would be "
    f"if the Megatron family's mean ({signed(MEG['mean_error_pct'])} %) carried over ({MEG['zaya1_step_s_if_bias_carried']:.3f} s, "
    f"{MEG['days_14T_if_bias_carried']:.1f} days), a sensitivity that is not applied. The host-bound MoE ablation \"baseline\" "
    f"runs are priced with one slowdown of their MoE layers (`moe_host_sync_slowdown`) fitted on {len(host)} train "
    f"runs from {host_src} sources that imply different values, and the host floor that small micro-batches sit on is "
    "not modelled; the memory model is checked by whether each run that ran fits (§1 counts the runs it does not fit, "
    "each with a stated reason in `memory_caveat`). The fitted stack factors absorb what the op list does not name. "
    "The batch in this scenario is its own choice; the MoE experts are priced with the compute model's grouped GEMMs "
    "at seeded per-expert counts, run the way the stack runs them (Transformer Engine's loop of per-expert GEMMs over "
    f"{int(STACK['grouped_gemm_streams'])} streams, `grouped_gemm_streams`, priced as chunks of that many experts), and "
    "the busiest expert rank's load; CCA's convolution and the router MLP are priced as ops of their own "
    f"({', '.join(f'`{o}`' for o in ZAYA_OWN_OPS)} in `il.compute.layer_ops`), the mixture-of-depths skip route is not "
    "modelled (only its router logit is counted: every token is priced through an expert, an upper bound on the "
    "experts' work while the share of tokens that skip is not public), nor are the learned residual scales; "
    "Muon's Newton–Schulz work is timed as bf16 GEMMs of whole matrices, "
    "its split over the data-parallel ranks is a stated assumption (distributed default, replicated bound) and the "
    "extra gather of momentum shards some implementations do is not priced; data-parallel overlap is a stack factor "
    f"with a stated range, not a measurement; the days price every one of the {T14 / 1e12:.0f}T tokens at "
    f"{tr.seq_len:,} tokens per sequence: the sources used here do not split the total over the three phases, so the "
    f"long-context phase (up to the model's {spec.max_seq_len:,}-token context) is priced only as a rate, "
    f"{DAYS_PER_T[L32]:.2f} days per trillion tokens against {DAYS_PER_T[tr.seq_len]:.2f} (§2)."))
"""),
    ("md", r"""
Next: [05 economics](05_economics.ipynb) turns these GPU-hours into dollars.
"""),
]

if __name__ == "__main__":
    print(write_notebook("04_training_zaya1", cells))
