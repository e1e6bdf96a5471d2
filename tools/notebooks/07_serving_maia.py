"""Generate notebooks/07_serving_maia.ipynb."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from nbbuild import write_notebook  # noqa: E402

NAV = ("[← 06 reliability](06_reliability.ipynb) · [08 the 2026 expansion →](08_expansion_2026.ipynb) · "
       "[09 multimodal Maia](09_multimodal_maia.ipynb)")

cells = [
    ("md", r"""
# 07 · Serving Maia: what an agent costs on MI300X vs H100, H200, B200 and MI355X

""" + NAV + r"""

Zyphra builds Maia, a multimodal enterprise agent. Training ZAYA1 on MI300X is one half of the
question; the other half is what *serving* an agent like Maia costs on the same platform
versus NVIDIA's. This notebook answers it with `il.serve` / `il.serve_search`, a
steady-state model of an inference engine under continuous batching (the model and its
formulas: `docs/serving.md`), after checking that model against published serving
benchmarks.

**The questions.**

1. What does one agent task ask of the model (text with long context, images, speech)?
2. Can the serving model be trusted? (published benchmarks, train/test split, error per case)
3. Throughput against interactivity on one 8-GPU node of each accelerator.
4. Dollars per million tokens and per agent task, at a stated interactivity.
5. What does MI300X's large HBM buy: a replica on fewer GPUs, KV room for more users?
6. Which model class fits where: a ZAYA1-class small MoE, a 70B dense model, a DeepSeek-V3-class MoE.

**Glossary.** *TTFT*: time to first token. *TPOT*: time per output token after the first.
*tokens/s per user* (interactivity) = 1/TPOT. *Continuous batching*: the engine admits and
retires requests every step. *Prefill*: the forward pass over a request's whole prompt, before its
first output token; *decode*: the steps that then write one output token each. *e2e latency*: a
request's time from arrival to its last token. *Chunked prefill*: a prompt is processed in pieces that share
steps with the decoding requests. *KV cache*: the keys and values of past tokens a request
keeps on the GPU. *tp/ep/dp/pp*: tensor, expert, data and pipeline parallel sizes.
*Pareto front*: the configurations no other beats on both throughput and interactivity.
*Owned $/GPU-hour*: capital, network, energy and facility per useful hour (notebook 05).
*MoE*: mixture of experts, a model whose layers route each token to a few of many expert MLPs.
*BF16, FP8, FP4*: 16-, 8- and 4-bit number formats for weights or the KV cache. *vLLM, SGLang,
TensorRT-LLM (trt-llm), ATOM*: inference engines (ATOM is AMD's).
"""),
    ("code", r"""
from infra_lab.printout import signed   # a signed figure; one that rounds to zero prints 0 / 0.0, never +0 or -0
from IPython.display import Markdown, display

S = il.serving
md = lambda text: display(Markdown(text))  # noqa: E731
# the answers up front: the Takeaways cell at the end fills this in from the computed values
BRIEF = display(Markdown("**In brief:** filled in by the Takeaways cell at the end once the notebook has run."),
                display_id=True)
ACCS = ["MI300X", "H100-SXM", "H200-SXM", "B200", "MI355X"]
mix = S.maia_mix()
req = S.agent_request(mix)
TARGET = mix["interactivity_target"]
"""),
    ("md", r"""
## 1. One agent task, as the model sees it

A Maia task is several model calls. Every text number here is an **assumption** stated in
`data/serving/maia_agent.csv` (no public Maia workload figures exist); the image and speech
tokens and the encoders' FLOPs are computed by `il.multimodal` from the Qwen2.5-VL vision
encoder (dynamic resolution) and the Qwen2-Audio encoder, whose configurations are sourced
there. The serving scenarios attach those two encoders to
the language model (`il.serving.agent_model`) and ask for each call's share of the pictures
and speech (`images_per_request`, `image_size`, `audio_s_per_request`: `il.serving.agent_serving`);
`il.serve` then prices the encoders with `il.multimodal.encoder_prefill` (the compute model,
on the replica's GPUs) before the prompt's prefill. Notebook
[09 · multimodal Maia](09_multimodal_maia.ipynb) models the encoders themselves (token math,
training, encoder time per picture and per second of audio).
"""),
    ("code", r"""
mix_table = S.maia_mix_table().select("parameter", "value", "unit", "basis")
# the encoders' FLOPs of one call, pictures and speech apart (the same call agent_request makes)
enc_sys = {"preset": il.multimodal.system("qwen2.5-vl-7b").lm.name, "vision": req["vision_encoder"], "audio": req["audio_encoder"]}
enc_img, enc_aud = (req["calls"] * il.multimodal.encoder_prefill(enc_sys, "MI300X", images=i, image_size=req["image_size"],
                                                                 audio_s=a).flops
                    for i, a in ((req["images_per_call"], 0.0), (0.0, req["audio_s_per_call"])))
assert abs(enc_img + enc_aud - req["encoder_flops_per_task"]) < 1e-6 * req["encoder_flops_per_task"]
aud_enc = il.multimodal.encoder(req["audio_encoder"])
display(il.charts.headline_table(mix_table, "One Maia task: the assumed mix of calls, pictures and speech",
                                 subtitle="basis: where each value comes from (an assumption is stated as such)"))
md(f"One task: **{req['calls']:.0f} calls**; each image is **{req['image_tokens']:,.0f} tokens**, "
   f"{mix['audio_seconds_per_task']:.0f} s of speech **{req['audio_tokens']:,.0f} tokens** "
   f"({il.multimodal.encoder('qwen2-audio-encoder').tokens_per_second:g} tokens per second, Qwen2-Audio's encoder); "
   f"the mean call reads **{req['input_tokens']:,.0f} prompt tokens** and writes **{req['output_tokens']:,.0f}**, "
   f"so a task is {req['input_tokens_per_task'] / 1e3:,.1f}k input and {req['output_tokens_per_task']:,.0f} output "
   f"tokens ({req['input_tokens_per_task'] / req['output_tokens_per_task']:.0f}:1, prefill-heavy). "
   f"The encoders add {req['encoder_flops_per_task'] / 1e12:,.1f} TFLOP per task: {enc_img / 1e12:,.1f} for the "
   f"pictures and {enc_aud / 1e12:,.1f} for the speech, because each call carries its {req['audio_s_per_call']:g}-s "
   f"share of the speech and the audio encoder pads every clip to its {aud_enc.window_s:g}-s window "
   f"({req['calls'] * aud_enc.audio_frames(req['audio_s_per_call'])['windows']:.0f} windows per task where one "
   f"{mix['audio_seconds_per_task']:g}-s clip would take "
   f"{aud_enc.audio_frames(mix['audio_seconds_per_task'])['windows']:.0f}; notebook 09, section 7).")
"""),
    ("md", r"""
## 2. Can the serving model be trusted?

`data/measurements/serving_benchmarks.csv` holds published serving measurements with full
configurations (engine and version, tp/ep/dp, precision, lengths, concurrency) and a URL per
row: ROCm's vLLM and ATOM pages, TensorRT-LLM's performance overviews, dstack's and Oracle's
measurements, vLLM and SGLang posts. InferenceMAX/InferenceX and MLPerf Inference results are
reserved for an independent check and are not used. A row is in the **test** split when its
configuration (source, model, accelerator, engine, parallelism, precision, lengths, mode)
hashes to 0 mod 3 (`il.serving.split_of`); the calibrated stack factors (below) were fitted on
the **train** split only (`tools/calibrate_serving.py`). Measurements made with older engine
versions (below) use separate `-early` stacks (`data/serving/engine_generations.csv`): the
software changed as much as the hardware; early TensorRT-LLM run with its PyTorch-backend
preview (DeepSeek-R1 before 0.19) is a stack of its own, apart from the compiled-engine flow.
TTFT is modelled with the benchmark's arrivals: a
request-rate run's requests arrive spread out, a burst of all prompts at once queues their
prefills, and a closed loop of identical requests (fixed lengths) stays in lock-step, so every
wave of `concurrency` requests queues its prefills (`[serving] lockstep`). The benchmark
harnesses compute each request's TPOT as (e2e − TTFT)/(output tokens − 1), so a wave's queued
prefill counts once, in TTFT, and not again in TPOT. ATOM runs prompts in prefill-only forwards
that pause decoding, as SGLang does (its scheduler has no mixed prefill/decode step); the fixed
per-request overhead (`request_overhead_s`, within the bounds printed below) is fitted where the
train split has TTFTs.
"""),
    ("code", r"""
gens = S.engine_generations().filter(pl.col("first_current_version") != "0.0.0")
md("Fitted per serving stack, each within its bounds: " + ", ".join(
    f"`{p}` {S._BOUNDS[p][0]:g}–{S._BOUNDS[p][1]:g}{' s' if p.endswith('_s') else ''}" for p in S.CALIBRATED)
   + ". Older generations (`-early` stacks): "
   + ", ".join(f"{r['engine']} < {r['first_current_version']}" for r in gens.iter_rows(named=True)) + ".")
val = S.validation()
summary = S.validation_summary(val, by=("split",))
display(il.charts.headline_table(
    summary, "Serving model against published runs: error by split and metric",
    subtitle="error = predicted / measured − 1; train: the runs the serving stacks are fitted on, test: held out",
    labels={"median_abs_error_pct": "median |error|", "worst_abs_error_pct": "worst |error|",
            "median_error_pct": "median error"}, highlight=pl.col("split") == "test",
    sources="one source URL per run in data/measurements/serving_benchmarks.csv"))
display(il.charts.serving_parity_chart(val))
"""),
    ("code", r"""
by_platform = S.validation_summary(val.filter(pl.col("split") == "test"), by=("accelerator", "engine", "dense_or_moe"))
display(by_platform.filter(pl.col("metric") == "output_tokens_per_s_per_gpu").with_columns(pl.col(pl.Float64).round(1).replace(0.0, 0.0)))
cases = (val.filter(pl.col("split") == "test", pl.col("excluded").is_null())
         .select("id", "stack", "output_tokens_per_s_per_gpu_measured", "output_tokens_per_s_per_gpu_predicted",
                 "output_tokens_per_s_per_gpu_error_pct", "tpot_s_error_pct", "ttft_s_error_pct")
         .sort("output_tokens_per_s_per_gpu_error_pct"))
with pl.Config(tbl_rows=cases.height):     # every test point, none elided
    display(cases.with_columns(pl.col(pl.Float64).round(1).replace(0.0, 0.0)))
"""),
    ("code", r"""
t = {r["metric"]: r for r in summary.filter(pl.col("split") == "test").iter_rows(named=True)}
B = S.VALIDATION_BOUNDS
tps, tpot, ttft = t["output_tokens_per_s_per_gpu"], t["tpot_s"], t["ttft_s"]
verdict = lambda ok: "meets" if ok else "misses"  # noqa: E731
md(f"On the test split ({tps['cases']} points) the output tokens/s per GPU has a median |error| of "
   f"**{tps['median_abs_error_pct']:.0f} %** ({verdict(tps['median_abs_error_pct'] <= B['output_tokens_per_s_per_gpu']['median'])} "
   f"the {B['output_tokens_per_s_per_gpu']['median']:.0f} % target) and a worst of **{tps['worst_abs_error_pct']:.0f} %** "
   f"({verdict(tps['worst_abs_error_pct'] <= B['output_tokens_per_s_per_gpu']['worst'])} {B['output_tokens_per_s_per_gpu']['worst']:.0f} %); "
   f"TPOT median **{tpot['median_abs_error_pct']:.1f} %** over {tpot['cases']} points "
   f"({verdict(tpot['median_abs_error_pct'] <= B['tpot_s']['median'])} {B['tpot_s']['median']:.0f} %); "
   f"TTFT median **{ttft['median_abs_error_pct']:.1f} %** over {ttft['cases']} points "
   f"({verdict(ttft['median_abs_error_pct'] <= B['ttft_s']['median'])} {B['ttft_s']['median']:.0f} %). "
   "Read the costs below with these errors in mind; the worst cases are listed below.")
worst = cases.filter(pl.col("output_tokens_per_s_per_gpu_error_pct").abs()
                     >= B["output_tokens_per_s_per_gpu"]["worst"]).sort("output_tokens_per_s_per_gpu_error_pct")
md("Test points outside the " + f"{B['output_tokens_per_s_per_gpu']['worst']:.0f} % worst-case bound on output tokens/s "
   "per GPU: " + ("none." if worst.height == 0 else "; ".join(
       f"`{r['id']}` ({r['stack']}) {signed(r['output_tokens_per_s_per_gpu_error_pct'], 0)} %"
       for r in worst.iter_rows(named=True)) + "."))
# the accelerator this notebook is about: its own points, train and test (error = predicted / measured - 1)
by_acc = S.validation_summary(val, by=("split", "accelerator")).filter(pl.col("accelerator") == "MI300X")
METRIC_NAME = {"output_tokens_per_s_per_gpu": "output tokens/s per GPU", "tpot_s": "TPOT", "ttft_s": "TTFT"}


def mi300x(metric, faster_if_negative):
    rows = {r["split"]: r for r in by_acc.filter(pl.col("metric") == metric).iter_rows(named=True)}
    parts = [f"{r['cases']} {split} points, median error {signed(r['median_error_pct'], 0)} %"
             for split, r in sorted(rows.items())]
    lean = rows.get("test", rows.get("train"))      # the direction is read from the test points where there are any
    side = "" if lean is None or abs(lean["median_error_pct"]) < 10 else (
        f" — the {lean['split']} points predicted " + ("faster" if (lean["median_error_pct"] < 0) == faster_if_negative
                                                      else "slower") + " than measured")
    return f"{METRIC_NAME[metric]}: " + ("; ".join(parts) if parts else "no points") + ("" if "test" in rows else " (no test point)") + side


md("**MI300X's own points** (train and test): " + "; ".join(
    mi300x(m, neg) for m, neg in (("output_tokens_per_s_per_gpu", False), ("tpot_s", True), ("ttft_s", True)))
   + ". The split-wide figures above mix accelerators; read MI300X's TTFT and throughput below with its own errors.")
# TTFT by accelerator, signed (negative: the model's first token comes sooner than measured), and
# the sources behind each accelerator's TTFT points
ttft_acc = (S.validation_summary(val, by=("split", "accelerator")).filter(pl.col("metric") == "ttft_s")
            .select("split", "accelerator", "cases", "median_error_pct", "median_abs_error_pct", "worst_abs_error_pct"))
display(il.charts.headline_table(
    ttft_acc, "TTFT error by accelerator",
    subtitle="error = predicted / measured − 1; negative: predicted TTFT shorter than measured",
    labels={"median_error_pct": "median error", "median_abs_error_pct": "median |error|",
            "worst_abs_error_pct": "worst |error|"},
    sources="one source URL per run in data/measurements/serving_benchmarks.csv"))
ttft_src = (val.filter(pl.col("ttft_s_error_pct").is_not_null(), pl.col("split") == "train")
            .group_by("accelerator", "source_key").agg(
                pl.len().alias("n"), pl.col("ttft_s_error_pct").median().alias("med"),
                pl.col("output_tokens_per_s_per_gpu_error_pct").median().alias("tput"))
            .sort("accelerator", "n", descending=[False, True]))
md("**TTFT bias on the train split, by accelerator and source** (median signed error of TTFT, then of output "
   "tokens/s per GPU on the same points): " + "; ".join(
       f"{r['accelerator']} `{r['source_key']}` TTFT {signed(r['med'], 0)} %, throughput {signed(r['tput'], 0)} % "
       f"({r['n']} points)"
       for r in ttft_src.iter_rows(named=True))
   + ". A source whose TTFTs come out short while its throughput is close ran its prompts' prefill slower than the "
   "stack's fitted factors make it: dstack's DeepSeek-R1 runs of early-2025 engines (lock-step waves of identical "
   "requests, whose mean TTFT grows with concurrency as the wave's prompts queue) are most of the H200 and MI300X "
   "points. No published figure of those engines' prefill speed was found, so the bias is shown here rather than "
   "fitted away (`docs/serving.md`, *Calibration and validation*, **TTFT bias**).")
"""),
    ("code", r"""
# MTP acceptance: how much a DeepSeek-R1 MTP point leans on it. The ATOM CI MTP 3 points take ATOM's own
# CI figure of tokens per verification step (spec_tokens_per_step, from a GSM8K run at the same ATOM
# commit); the benchmark itself sends random prompts with the chat template, whose acceptance is not
# published. The same point at the sourced acceptance, at the 0.85 default, and 0.1 below the sourced one
mtp_id = "ATOMCI-MI355X-DSR1-FP8-MTP3-1024-1024-c64"
mtp_row = S.benchmarks().filter(pl.col("id") == mtp_id).row(0, named=True)
mtp_sc, mtp_over, _ = S._row_scenario(mtp_row)
a_src, a_def = mtp_sc.serving.mtp_acceptance, S.parameter("mtp_acceptance")
mtp_meas = mtp_row["output_tokens_per_s_per_gpu"]
mtp_pred = {a: il.serve(mtp_sc.replace(serving={"mtp_acceptance": a}), params=mtp_over).output_tokens_per_s_per_gpu
            for a in (a_src - 0.1, a_src, a_def)}
md(f"**MTP acceptance (sensitivity).** The ATOM CI DeepSeek-R1-0528 MTP 3 points take "
   f"{mtp_row['spec_tokens_per_step']:.2f} tokens per verification step, ATOM's own CI figure at the same commit "
   f"(chained acceptance {a_src:.3f}, `il.serving.mtp_acceptance_for_tokens_per_step`); it was measured on GSM8K "
   "prompts, not on the benchmark's random prompts with the chat template (which ATOM's issue #609 says lower "
   f"DeepSeek's MTP acceptance). At `{mtp_id}` (measured {mtp_meas:,.0f} output tokens/s per GPU) the model gives "
   + "; ".join(f"{v:,.0f} ({signed(100 * (v / mtp_meas - 1), 0)} %) at acceptance {a:.3f}" for a, v in sorted(mtp_pred.items()))
   + f" (the {a_def:g} default: the DeepSeek-V3 report's second-token acceptance). "
   + ("The sourced acceptance brings the point nearer than the default does; what error remains is not the "
      "acceptance alone." if abs(mtp_pred[a_src] / mtp_meas - 1) < abs(mtp_pred[a_def] / mtp_meas - 1) else
      "The default would bring the point nearer than the sourced acceptance does."))
"""),
    ("md", r"""
## 3. Throughput against interactivity on one node

Llama 3.3 70B (the 70B dense class) on one 8-GPU node of each accelerator with vLLM, serving
the mean Maia call. `il.serve_search` evaluates every tp/pp/dp split, weight and KV
precision the GPU has tensor cores for, and concurrency, and keeps the Pareto front. Move
right for a snappier agent, up for a cheaper one. The vLLM stacks' factors come from the
benchmarks of section 2 (vLLM on MI300X from ROCm's pages, vLLM on NVIDIA from fewer points:
the counts are printed below), so the cross-vendor gap carries the validation error of each side.
"""),
    ("code", r"""
BASE = {"model": S.agent_model("llama3.3-70b", req), "hardware": {"nodes": 1, "gpus_per_node": 8},
        "serving": {"engine": "vllm", "tp": 8, **S.agent_serving(req)}}
price = {a: S.gpu_hour_price(a) for a in ACCS}
# rents: MI300X at the median over all providers; every other accelerator at the providers that
# also list MI300X on demand, beside MI300X's rent at those same providers (matched pairs)
rented = {a: S.gpu_hour_price(a, "rented", matched_with=None if a == "MI300X" else "MI300X") for a in ACCS}
rented_mi = {a: S.gpu_hour_price("MI300X", "rented", matched_with=a) if a != "MI300X" else rented[a] for a in ACCS}
fronts = []
for a in ACCS:
    d = {**BASE, "hardware": {**BASE["hardware"], "accelerator": a}}
    fronts.append(il.serve_search(d, top=None, price_usd_per_gpu_hour=price[a]).with_columns(pl.lit(a).alias("accelerator")))
fronts = pl.concat(fronts, how="diagonal_relaxed")
fit_pts = val.filter((pl.col("split") == "train") & pl.col("excluded").is_null())
md("Train-split points behind the vLLM stacks used here: " + ", ".join(
    f"`{s}` {fit_pts.filter(pl.col('stack') == s).height}" for s in ("vllm-rocm", "vllm-cuda")) + ".")
display(il.charts.serving_front_chart(fronts))
at_t = {a: fronts.filter((pl.col("accelerator") == a) & (pl.col("tokens_per_s_per_user") >= TARGET)) for a in ACCS}
best_t = {a: float(f["output_tokens_per_s_per_gpu"].max()) if f.height else None for a, f in at_t.items()}
snap = {a: float(fronts.filter(pl.col("accelerator") == a)["tokens_per_s_per_user"].max()) for a in ACCS}
md(f"**Reading the fronts.** At ≥ {TARGET:.0f} tokens/s per user the most output per GPU on each front is "
   + ", ".join(f"{a} {best_t[a]:,.0f}" if best_t[a] is not None else f"{a} (does not reach it)" for a in ACCS)
   + " tokens/s; the snappiest point of each reaches " + ", ".join(f"{a} {snap[a]:,.0f}" for a in ACCS)
   + " tokens/s per user."
   + (f" MI300X delivers {best_t['MI300X'] / best_t['H100-SXM']:.2f}× H100's output per GPU at the target"
      if best_t["MI300X"] and best_t["H100-SXM"] else "")
   + "; the weight format of each point at the target is in section 4's table.")
"""),
    ("md", r"""
**Where TTFT turns up.** Past some concurrency a front's throughput stops rising while its TTFT
climbs steeply. On a mixed-batching engine (vLLM) every step is then full: decode tokens first,
prompt chunks in the rest of the step budget (`chunk_tokens`), so the engine admits a fixed number
of prompt tokens per step and every further request only waits for its turn to prefill
(`prefill_queue_s`, part of TTFT; docs/serving.md, "the budget full"). The shipped Maia-class
scenario (8 MI300X, eight BF16 replicas, `il.load_scenario("maia-class-serving-mi300x")`) over
concurrency:
"""),
    ("code", r"""
mc = il.load_scenario("maia-class-serving-mi300x").to_dict()
knee_rows = []
for c in (1024, 1536, 1664, 1792, 2048):
    r = il.serve({**mc, "serving": {**mc["serving"], "concurrency": c}})
    knee_rows.append({"concurrency": c, "output_tok_s": r.output_tokens_per_s, "tpot_ms": 1e3 * r.tpot_s,
                      "ttft_s": r.ttft_s, "prefill_queue_s": r.prefill_queue_s, "kv_limited": r.kv_limited,
                      "max_concurrency": r.max_concurrency})
knee = pl.DataFrame(knee_rows)
display(il.charts.headline_table(
    knee, "Maia-class on 8 MI300X: TTFT against requests in flight",
    subtitle="past the concurrency where the step budget fills, output and TPOT stay, TTFT grows by the wait to prefill",
    labels={"output_tok_s": "output", "tpot_ms": "TPOT", "ttft_s": "TTFT", "prefill_queue_s": "of it: wait for the budget",
            "kv_limited": "KV-limited", "max_concurrency": "requests whose KV fits"},
    units={"output_tok_s": "tokens/s", "tpot_ms": "ms", "ttft_s": "s", "prefill_queue_s": "s", "concurrency": "requests",
           "max_concurrency": "requests"},
    sources="il.serve on data/scenarios/maia-class-serving-mi300x.toml"))
full = knee.filter(pl.col("prefill_queue_s") > 0.01)
lo, hi = knee.filter(pl.col("prefill_queue_s") <= 0.01).row(-1, named=True), knee.row(-1, named=True)
assert full.height and not knee["kv_limited"].any()
md(f"Up to {lo['concurrency']:,} requests TTFT stays at or under {lo['ttft_s']:.2f} s; at {hi['concurrency']:,} it is "
   f"{hi['ttft_s']:.1f} s, {hi['prefill_queue_s']:.1f} s of it waiting for the full step budget, while output is "
   f"{hi['output_tok_s']:,.0f} tokens/s ({lo['output_tok_s']:,.0f} at {lo['concurrency']:,}) and TPOT "
   f"{hi['tpot_ms']:.0f} ms, as from the turn on. Not the KV cache: "
   f"{hi['max_concurrency']:,} requests fit. `il.serve_search` adds, for each split whose budget fills inside its "
   "grid, the concurrency where it fills, and orders rows equal in throughput by the shorter TTFT, so without a TTFT "
   "bound it no longer picks a point past the turn; bound TTFT with `max_ttft_s` where it matters.")
"""),
    ("md", r"""
## 4. Dollars per million tokens and per agent task

At the interactivity target (each user sees at least the `interactivity_target` tokens/s of
the mix table) the cheapest configuration on each front, priced at the **owned** cost of a
useful GPU-hour on notebook 05's like-for-like basis (`il.economics.owned_gpu_hour_price`, the
same function and inputs as notebook 05's owned P50 column: each GPU at its newest 8-GPU baseboard
listing plus the same host, network and opex, the Monte Carlo median; `capex_basis` names an
accelerator without a listing) and at the **rented** on-demand price of the providers that list
both it and MI300X (`il.economics.rented_gpu_hour_price(..., matched_with=...)`; MI300X's own
row: the median over all its providers). "All in" charges every GPU
dollar to the generated tokens; a task costs its output tokens × that.
"""),
    ("code", r"""
rows = []
for a in ACCS:
    f = fronts.filter(pl.col("accelerator") == a)
    reached = bool((f["tokens_per_s_per_user"] >= TARGET).any())
    # the cheapest point at the target, or (when the front does not reach it) the most interactive one
    b = S.cost_at_interactivity(f, TARGET) if reached else f.sort("tokens_per_s_per_user").row(-1, named=True)
    rows.append({"accelerator": a, "reaches_target": reached, "owned_usd_per_gpu_h": price[a],
                 "capex_basis": il.economics.owned_gpu_hour_quote(a)["capex_basis"], "rented_usd_per_gpu_h": rented[a],
                 "MI300X_rent_same_providers": rented_mi[a],
                 "config": f"tp{b['tp']} pp{b['pp']} dp{b['dp']} {b['weight_precision']} kv-{b['kv_precision']} x{b['concurrency']}",
                 "tok_s_per_user": b["tokens_per_s_per_user"], "out_tok_s_per_gpu": b["output_tokens_per_s_per_gpu"],
                 "ttft_s": b["ttft_s"], "usd_per_M_input": b["usd_per_million_input_tokens"],
                 "usd_per_M_output": b["usd_per_million_output_tokens"],
                 "usd_per_M_output_all_in": b["usd_per_million_output_tokens_all_in"],
                 "usd_per_task": b["usd_per_million_output_tokens_all_in"] * req["output_tokens_per_task"] / 1e6,
                 "usd_per_task_rented": b["usd_per_million_output_tokens_all_in"] * rented[a] / price[a]
                 * req["output_tokens_per_task"] / 1e6})
costs = pl.DataFrame(rows)
# rented, matched pairs: MI300X's per-task cost at the same providers' MI300X rent over this accelerator's
mi_task_per_usd = costs.filter(pl.col("accelerator") == "MI300X")["usd_per_task"][0] / price["MI300X"]
costs = costs.with_columns((mi_task_per_usd * pl.col("MI300X_rent_same_providers") / pl.col("usd_per_task_rented"))
                           .alias("MI300X_over_this_per_task_rented"))
display(il.charts.headline_table(
    costs, f"Llama 3.3 70B serving Maia: cost per task at ≥ {TARGET:.0f} tokens/s per user",
    subtitle="the cheapest point of each accelerator's front at the target (its most interactive point where it "
             "does not reach it); owned at the owned P50 GPU-hour price of notebook 05, rented at matched rents",
    labels={"reaches_target": "reaches the target", "owned_usd_per_gpu_h": "owned", "capex_basis": "capex basis",
            "rented_usd_per_gpu_h": "rented", "MI300X_rent_same_providers": "MI300X rent, same providers",
            "tok_s_per_user": "interactivity", "out_tok_s_per_gpu": "output", "ttft_s": "TTFT",
            "usd_per_M_input": "input", "usd_per_M_output": "output", "usd_per_M_output_all_in": "output, all in",
            "usd_per_task": "per task, owned", "usd_per_task_rented": "per task, rented",
            "MI300X_over_this_per_task_rented": "MI300X ÷ this, per task rented"},
    units={"MI300X_rent_same_providers": "USD/GPU-h", "usd_per_task": "USD", "usd_per_M_input": "USD/M tokens",
           "usd_per_M_output": "USD/M tokens", "usd_per_M_output_all_in": "USD/M tokens", "usd_per_task_rented": "USD",
           "MI300X_over_this_per_task_rented": "×"},
    highlight=pl.col("accelerator") == "MI300X",
    sources="rents: data/cloud_prices.csv (a URL per row); owned prices: il.economics.owned_gpu_hour_price"))
display(il.charts.serving_cost_chart(costs, "usd_per_task", title=f"Llama 3.3 70B: $ per Maia task at ≥ {TARGET:.0f} tokens/s per user (owned)"))
"""),
    ("code", r"""
c = {r["accelerator"]: r for r in costs.iter_rows(named=True)}
cheapest = min((r for r in c.values() if r["reaches_target"]), key=lambda r: r["usd_per_task"])
missed = [a for a in ACCS if not c[a]["reaches_target"]]
mi = c["MI300X"]
wprec = {a: c[a]["config"].split()[3] for a in ACCS}          # the weight precision of each cheapest point
by_prec = {p_: [a for a in ACCS if wprec[a] == p_] for p_ in dict.fromkeys(wprec.values())}
md(f"At ≥ {TARGET:.0f} tokens/s per user, a Maia task on Llama 3.3 70B costs **${mi['usd_per_task']:.3f}** on MI300X "
   f"(owned, ${mi['owned_usd_per_gpu_h']:.2f}/GPU-h; ${mi['usd_per_task_rented']:.3f} at the median rent), versus "
   + ", ".join(f"${c[a]['usd_per_task']:.3f} on {a}" for a in ACCS if a != "MI300X")
   + f" (owned, like for like: MI300X's GPU-hour costs {price['MI300X'] / price['H100-SXM']:.3f}× H100's, as in notebook 05). "
   + "Rented from the same providers, MI300X costs " + ", ".join(
       f"{c[a]['MI300X_over_this_per_task_rented']:.2f}× {a}" for a in ACCS if a != "MI300X") + " per task"
   + f". Cheapest per task owned: **{cheapest['accelerator']}**. MI300X's all-in output price is "
   f"${mi['usd_per_M_output_all_in']:.2f} per million output tokens ({mi['out_tok_s_per_gpu']:,.0f} output tokens/s per GPU)."
   + (f" Not reaching {TARGET:.0f} tokens/s per user on one node with this engine: {', '.join(missed)} "
      "(their row is the most interactive configuration)." if missed else "")
   + " Weights at these points: " + "; ".join(f"{p_.upper()} on {', '.join(a_)}" for p_, a_ in by_prec.items())
   + (" — the search tries every format each GPU has tensor cores for and keeps the cheapest; the model prices "
      "speed, not answer quality, so part of the gap between rows of different formats is the format, not the GPU." if len(by_prec) > 1 else "."))
"""),
    ("md", r"""
## 5. What MI300X's HBM buys

HBM capacity decides two things: how few GPUs hold one replica, and how many requests' KV
caches fit next to the weights. Below: the fewest GPUs (tp of 1, 2, 4 or 8) that hold the
weights and one Maia-length request, and the requests whose KV fits on a full node (tp = 8),
for a 70B dense model with BF16 and FP8 weights and a DeepSeek-V3-class MoE with FP8 weights (the KV
cache in the serving default precision, the `kv_precision` column). `HBM_GB` is the
vendor's label; the serving model plans with the memory the driver exposes
(`capacity_GiB`, `catalog.Accelerator.memory_capacity_bytes`; the label where no driver figure
is sourced).
"""),
    ("code", r"""
def fit_rows(preset, precision):
    out = []
    for a in ACCS:
        acc = il.catalog.accelerator(a)
        if precision not in S.weight_precisions(a):   # the part's formats (catalog block scaling for fp4)
            continue
        spec = il.models.get(preset)
        sv = {"engine": "vllm", "weight_precision": precision, "input_tokens": round(req["input_tokens"]),
              "output_tokens": round(req["output_tokens"]), "concurrency": 1}
        fewest = None
        for g in (1, 2, 4, 8):
            d = {"model": {"preset": preset}, "hardware": {"accelerator": a, "nodes": 1, "gpus_per_node": g},
                 "serving": {**sv, "tp": g, "ep": g if spec.experts else 1}}
            if il.serve(d).fits:
                fewest = g
                break
        node = il.serve({"model": {"preset": preset}, "hardware": {"accelerator": a, "nodes": 1, "gpus_per_node": 8},
                         "serving": {**sv, "tp": 8, "ep": 8 if spec.experts else 1}})
        out.append({"model": preset, "precision": precision, "kv_precision": node.scenario.serving.kv_precision,
                    "accelerator": a, "HBM_GB": acc.hbm_bytes / 1e9,
                    "capacity_GiB": acc.memory_capacity_bytes / 2**30,
                    "fewest_gpus_per_replica": fewest, "weights_GB_per_gpu_tp8": node.weights_per_gpu_bytes / 1e9,
                    "requests_whose_KV_fits_tp8": node.max_concurrency if node.fits else 0})
    return out

fits = pl.DataFrame(fit_rows("llama3.3-70b", "bf16") + fit_rows("llama3.3-70b", "fp8") + fit_rows("deepseek-v3", "fp8"),
                    infer_schema_length=None)
display(fits.with_columns(pl.col(pl.Float64).round(1)))
f = {(r["model"], r["precision"], r["accelerator"]): r for r in fits.iter_rows(named=True)}
l70 = lambda a, p="bf16": f[("llama3.3-70b", p, a)]  # noqa: E731
ds = lambda a: f.get(("deepseek-v3", "fp8", a))  # noqa: E731
md(f"A 70B model in BF16 fits on **{l70('MI300X')['fewest_gpus_per_replica']} MI300X** "
   f"but needs **{l70('H100-SXM')['fewest_gpus_per_replica']} H100** and {l70('H200-SXM')['fewest_gpus_per_replica']} H200; "
   f"on a full node with FP8 weights (KV cache in {l70('MI300X', 'fp8')['kv_precision'].upper()}) the KV room of MI300X holds "
   f"**{l70('MI300X', 'fp8')['requests_whose_KV_fits_tp8']:,}** Maia-length "
   f"requests against {l70('H100-SXM', 'fp8')['requests_whose_KV_fits_tp8']:,} on H100 and "
   f"{l70('H200-SXM', 'fp8')['requests_whose_KV_fits_tp8']:,} on H200. DeepSeek-V3 in FP8 "
   + ("does not fit on one 8 × H100 node" if ds("H100-SXM")["requests_whose_KV_fits_tp8"] == 0 else "fits on 8 H100")
   + f"; 8 × MI300X hold it with room for {ds('MI300X')['requests_whose_KV_fits_tp8']:,} requests.")
"""),
    ("md", r"""
## 6. Which model class fits where

The three classes on one 8-GPU node of each accelerator, priced as in section 4: the fewest
GPUs per replica, and the cheapest configuration that reaches the interactivity target
(`il.serving.class_comparison`). ZAYA1 stands for the small-MoE class (its published size is
printed below); Maia's own models are not public.
"""),
    ("code", r"""
classes = S.class_comparison(["zaya1-base", "llama3.3-70b", "deepseek-v3"], ACCS, tokens_per_s_per_user=TARGET, request=req)
display(il.charts.headline_table(
    classes.select("model", "accelerator", "min_gpus_replica", "max_concurrency", "reached", "tp", "dp",
                   "weight_precision", "concurrency", "output_tokens_per_s_per_gpu",
                   "usd_per_million_output_tokens_all_in", "usd_per_task"),
    f"Three model classes on one 8-GPU node: the cheapest configuration at ≥ {TARGET:.0f} tokens/s per user",
    subtitle="owned at the owned P50 GPU-hour price of notebook 05; empty: the model does not fit on the node",
    labels={"min_gpus_replica": "fewest GPUs per replica", "max_concurrency": "requests whose KV fits, tp 8",
            "reached": "reaches the target", "weight_precision": "weights", "concurrency": "requests in flight",
            "output_tokens_per_s_per_gpu": "output", "usd_per_million_output_tokens_all_in": "output, all in",
            "usd_per_task": "per task"},
    units={"min_gpus_replica": "GPUs", "max_concurrency": "requests", "tp": None, "dp": None, "concurrency": "requests",
           "output_tokens_per_s_per_gpu": "tokens/s/GPU", "usd_per_million_output_tokens_all_in": "USD/M tokens",
           "usd_per_task": "USD"},
    decimals={"output_tokens_per_s_per_gpu": 0, "usd_per_million_output_tokens_all_in": 3, "usd_per_task": 4},
    highlight=pl.col("accelerator") == "MI300X", sources="il.serving.class_comparison; prices: il.economics"))
cc = {(r["model"], r["accelerator"]): r for r in classes.iter_rows(named=True)}
per_task = {m: {a: cc[(m, a)]["usd_per_task"] for a in ACCS if cc[(m, a)]["reached"]} for m in ("zaya1-base", "llama3.3-70b", "deepseek-v3")}
zaya = il.models.get("zaya1-base")
md(f"ZAYA1 as published: {zaya.published_params_total / 1e9:.1f}B parameters in total, "
   f"{zaya.published_params_active / 1e6:,.0f}M active per token. "
   f"Per Maia task at ≥ {TARGET:.0f} tokens/s per user: " + "; ".join(
    f"**{m}** ${min(v.values()):.4f} ({min(v, key=v.get)}) to ${max(v.values()):.4f} ({max(v, key=v.get)})"
    for m, v in per_task.items() if v) + ".")
"""),
    ("md", r"""
## 7. Explore

Pick a model, accelerator, engine, weight precision, concurrency and GPUs; with a TPOT target
the explorer also searches the same GPUs for the best configuration that meets it
(`il.widgets.serving_explorer`; the callback calls `il.serve` / `il.serve_search` only).
"""),
    ("code", r"""
box = il.widgets.serving_explorer()
box
"""),
    ("md", r"""
## Takeaways

Computed from the tables above (nothing here is typed in by hand):
"""),
    ("code", r"""
# each serving bound of section 2 (B) on its own: which test-split figures miss theirs
misses = [f"{label} ({value:.1f} % > {B[metric][kind]:.0f} %)"
          for label, metric, kind, value in (("the median output tokens/s per GPU", "output_tokens_per_s_per_gpu", "median",
                                               tps["median_abs_error_pct"]),
                                              ("the worst output tokens/s per GPU", "output_tokens_per_s_per_gpu", "worst",
                                               tps["worst_abs_error_pct"]),
                                              ("the median TPOT", "tpot_s", "median", tpot["median_abs_error_pct"]),
                                              ("the median TTFT", "ttft_s", "median", ttft["median_abs_error_pct"]))
          if value > B[metric][kind]]
TAKEAWAYS = "\n".join([
    f"* **One Maia task** as assumed here is {req['input_tokens_per_task'] / 1e3:,.1f}k prompt and "
    f"{req['output_tokens_per_task']:,.0f} output tokens: serving an agent is prefill-heavy, so TTFT and prompt "
    f"throughput matter as much as decode speed.",
    f"* **Served with vLLM on one node at ≥ {TARGET:.0f} tokens/s per user, Llama 3.3 70B costs "
    f"${mi['usd_per_task']:.3f} per task on MI300X** (owned at ${price['MI300X']:.2f}/GPU-h; "
    f"${mi['usd_per_M_output_all_in']:.2f} per million output tokens all in; ${mi['usd_per_task_rented']:.3f} per task "
    f"at the median rent of ${rented['MI300X']:.2f}/GPU-h); the cheapest of the {len(ACCS)} accelerators is "
    f"{cheapest['accelerator']} at ${cheapest['usd_per_task']:.3f} per task ({wprec[cheapest['accelerator']].upper()} "
    f"weights against MI300X's {wprec['MI300X'].upper()}).",
    f"* **MI300X's {il.catalog.accelerator('MI300X').hbm_bytes / 1e9:.0f} GB of HBM** holds a BF16 70B replica on "
    f"{l70('MI300X')['fewest_gpus_per_replica']} MI300X vs {l70('H100-SXM')['fewest_gpus_per_replica']} H100, and a node "
    f"of MI300X keeps the KV caches of "
    f"{l70('MI300X', 'fp8')['requests_whose_KV_fits_tp8'] / max(l70('H100-SXM', 'fp8')['requests_whose_KV_fits_tp8'], 1):.1f}× "
    f"as many Maia-length requests as a node of H100 (70B, FP8 weights, {l70('MI300X', 'fp8')['kv_precision'].upper()} KV cache).",
    f"* **The serving model's test-split error** is {tps['median_abs_error_pct']:.0f} % median / "
    f"{tps['worst_abs_error_pct']:.0f} % worst on output tokens/s per GPU, {tpot['median_abs_error_pct']:.1f} % median on TPOT "
    f"and {ttft['median_abs_error_pct']:.1f} % median on TTFT — "
    + ("all within the project's bounds (section 2)" if not misses else
       f"outside the project's bound on {' and '.join(misses)} (section 2)")
    + ": differences between accelerators smaller than that are within the model's error.",
])
md(TAKEAWAYS)
BRIEF.update(Markdown("**In brief** (the Takeaways at the end, computed):\n\n" + TAKEAWAYS))
"""),
    ("md", r"""
**What is approximate.** The Maia task is an assumed mix (`data/serving/maia_agent.csv`): no
public Maia workload, model or serving figure exists, so the three model classes stand in for
Maia's models. The serving model is a steady state of continuous batching whose stack factors
are fitted on the train split of published benchmarks; its test-split errors (section 2) bound
how far apart two accelerators must be before the difference means anything, and MI300X's own
errors (printed there) differ from the split-wide ones. Owned prices are notebook 05's like-for-like Monte Carlo medians, rents the
median listings of the providers named in `data/cloud_prices.csv` on their observation dates;
the search prices speed, not answer quality, so rows of different weight formats are not like
for like in quality.

[← 06 reliability](06_reliability.ipynb) · [08 the 2026 expansion →](08_expansion_2026.ipynb) · [09 multimodal Maia](09_multimodal_maia.ipynb)
"""),
]

if __name__ == "__main__":
    print(write_notebook("07_serving_maia", cells))
