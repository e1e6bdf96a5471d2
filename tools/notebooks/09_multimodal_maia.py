"""Generate notebooks/09_multimodal_maia.ipynb."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from nbbuild import write_notebook  # noqa: E402

NAV = "[← 08 the 2026 expansion](08_expansion_2026.ipynb) · [00 index →](00_index.ipynb)"

cells = [
    ("md", rf"""
# 09 · A Maia-class multimodal model on the IBM cluster

{NAV}

**Question.** Zyphra says the IBM cluster trains foundation models "across language, vision and
audio" for Maia, its multimodal agent ([AMD ROCm blog](https://rocm.blogs.amd.com/ecosystems-and-partners/zyphra/README.html)).
Everything else in this lab is text-only. What does a multimodal model add to a training run on
ZAYA1's MI300X cluster: how many tokens does a picture or a second of audio become, how much
padding does packing leave, what do the vision and audio encoders cost next to the language
model, and what do a few data mixes cost in days and dollars?

**Method.** `il.multimodal` describes encoder + language-model systems part by part (vision
transformer, Whisper-style audio encoder or audio codec, projector or cross-attention layers, a
text `ModelSpec`), counts their parameters against the published checkpoints, turns pictures and
audio into tokens, packs a seeded sample stream with first-fit-decreasing, and hands the
encoders to the same step model as text (`il.estimate`): they run on the first pipeline stage as
a *prologue* priced by the same compute functions (`il.compute.layer_ops`, GEMM times), their
parameters join that stage's gradients, optimizer and data-parallel buckets, their FLOPs join
the MFU. The derivations are in `docs/multimodal.md`.

**Terms.** *MFU* (model FLOPs utilization): the model's arithmetic per second over the GPUs' dense
peak. *Projector*: the small network that maps encoder outputs into the language model's width.
*Mel frames*: slices of an audio spectrogram, the input of a Whisper-style encoder. *Audio codec*:
a network that turns audio into discrete tokens, one per *codebook* per frame. *Packing*: filling
each training sequence with several samples; *first-fit-decreasing* sorts the samples longest first
and puts each into the first sequence with room. *ZeRO, FSDP2*: DeepSpeed's and PyTorch's ways of
sharding weights, gradients and optimizer state over data-parallel GPUs. *Prefill*: the serving
step that reads the whole prompt before the first output token.

**Read with care.** Zyphra has published no multimodal architecture: the **Maia-class model
here is hypothetical** — ZAYA1-base with a Qwen2.5-VL vision transformer and a
Whisper-large-v3-shaped audio encoder (`data/models/multimodal.csv`, row `maia-class`). The data
mixes are this notebook's choices. The multimodal step model is validated against a handful of
public runs only (section 6 counts them), without fitting. For the text-only model see
[04 · Training ZAYA1](04_training_zaya1.ipynb).
"""),
    ("code", r"""
from infra_lab.printout import signed   # a signed figure; one that rounds to zero prints 0 / 0.0, never +0 or -0
from IPython.display import Markdown, display

MM, E = il.multimodal, il.economics
md = lambda text: display(Markdown(text))  # noqa: E731  (prose built from computed values)
BASE = "maia-class-ibm-mi300x"
sc = il.load_scenario(BASE)
TOKENS = il.reliability.parameter("zaya1_tokens")   # useful tokens of a run: ZAYA1's (Zyphra's own figure, sourced row)
maia = sc.multimodal
# the answers up front: the Takeaways cell at the end fills this in from the computed values
BRIEF = display(Markdown("**In brief:** filled in by the Takeaways cell at the end once the notebook has run."),
                display_id=True)
"""),
    ("md", r"""
## 1. The systems and their parameter counts

Four public systems cover the patterns a Maia-class model combines: **Qwen2.5-VL-7B** (a vision
transformer whose neighbouring patches merge into one language-model token, dynamic resolution),
**Llama 3.2 11B Vision** (fixed-size tiles, and *cross-attention* layers: image tokens take no
language-model positions), **Whisper large-v3** (an audio encoder over a fixed window and a text
decoder that cross-attends to it) and **Qwen2-Audio-7B** (the Whisper encoder, pooled, inline in
the language model); their patch, tile, window and pooling sizes are printed in section 2. First
the Maia-class stand-in part by part, then each system counted from its architecture fields and
compared with the published checkpoint counts (independent figures):
"""),
    ("code", r"""
display(maia.param_breakdown().select("component", (pl.col("params") / 1e6).round(1).alias("parameters [million]")))
sysdf = MM.systems()
pub = sysdf.filter(pl.col("published_params_total").is_not_null())
assert (pub["error_pct"].abs() <= pub["tol_pct"]).all()
exact = pub.filter(pl.col("error_pct") == 0)["name"].to_list()
md(f"Every published count is matched within its tolerance: {', '.join(exact)} exactly; "
   + "; ".join(f"{r['name']} {signed(r['error_pct'], 3)} %" for r in pub.filter(pl.col('error_pct') != 0).iter_rows(named=True))
   + ". The Maia-class stand-in has "
   f"**{maia.params_total / 1e9:.2f}B** parameters: {maia.lm.params_total / 1e9:.2f}B in the language model and "
   f"{maia.params_encoders / 1e9:.2f}B in its two encoders.")
# both counts in billions (the published one printed as a raw integer beside the model's in billions)
sysdf.select("name", "lm", "vision", "audio", (pl.col("params_total") / 1e9).alias("params_total [billion]"),
             (pl.col("published_params_total") / 1e9).alias("published [billion]"),
             pl.col("error_pct").alias("error [%]"), pl.col("tol_pct").alias("tolerance [%]")
             ).with_columns(pl.col(pl.Float64).round(3))
"""),
    ("md", r"""
Sources: `data/models/multimodal.csv`, `data/models/encoders.csv` and `data/models/presets.csv`
(each row's `source_url`: the models' `config.json` files and Hugging Face model pages; the
published counts are the checkpoints' safetensors parameter counts, Qwen2-Audio's to two
significant figures).

## 2. From pictures and audio to tokens

How each encoder turns a picture or a second of audio into language-model positions, printed from
its configuration (`il.multimodal.encoder`):
"""),
    ("code", r"""
sides = [224, 336, 448, 672, 896, 1344]
tok = pl.DataFrame([{"encoder": e, "side_px": s, "lm_tokens": MM.encoder(e).image_grid(s, s)["lm_tokens"]}
                    for e in ("qwen2.5-vl-vit", "clip-vit-l-336", "llama3.2-vision-vit") for s in sides])
tps = {e: MM.encoder(e).tokens_per_second for e in ("whisper-large-v3-encoder", "qwen2-audio-encoder", "mimi-codec")}
IMG = 448                                # the picture side of the sections below [px]
q448 = MM.encoder("qwen2.5-vl-vit").image_grid(IMG, IMG)
mimi = MM.encoder("mimi-codec").audio_frames(1.0)
qv, clip, l32 = (MM.encoder(e) for e in ("qwen2.5-vl-vit", "clip-vit-l-336", "llama3.2-vision-vit"))
wh, qa, mc = (MM.encoder(e) for e in ("whisper-large-v3-encoder", "qwen2-audio-encoder", "mimi-codec"))
md(f"A picture becomes (side / {qv.patch_size})² patches; Qwen2.5-VL merges {qv.spatial_merge}×{qv.spatial_merge} of "
   f"them into one token and rounds the sides to multiples of {qv.patch_size * qv.spatial_merge} px within its pixel "
   f"bounds; CLIP (LLaVA-1.5) resizes to {clip.image_size} px; Llama 3.2 cuts up to {l32.max_tiles} tiles of "
   f"{l32.image_size} px. Audio: Whisper's {wh.mel_frames_per_s} mel frames per second become "
   f"{wh.mel_frames_per_s / wh.conv_stride:g} encoder frames per second after its stride-{wh.conv_stride} convolution, "
   f"over a {wh.window_s:g}-s window; Qwen2-Audio pools them by {qa.pool_stride} to {tps['qwen2-audio-encoder']:g} "
   f"tokens per second; a neural codec like Mimi gives {mc.frame_rate_hz:g} frames per second of {mc.codebooks} codebooks.")
md(f"A {IMG}-px picture is **{q448['lm_tokens']} tokens** for Qwen2.5-VL ({q448['patches']:,} patches through its encoder); "
   f"a second of audio is **{tps['qwen2-audio-encoder']:g} tokens** for Qwen2-Audio, {tps['whisper-large-v3-encoder']:g} "
   f"encoder frames for Whisper and {mimi['lm_tokens']:g} positions ({mimi['codec_tokens']:g} codebook tokens) for Mimi.")
il.charts.image_tokens_chart(tok)
"""),
    ("md", r"""
## 3. Packing and its padding

Training packs samples — text documents (lognormal lengths, mean from Dolma's Common Crawl),
pictures, audio clips (mean from LibriSpeech) — into sequences of the scenario's length with
**first-fit-decreasing** (a numba segment-tree kernel; a plain-Python first fit checks it).
Without packing every sample is its own padded sequence. Packed samples attend only within
themselves (document masks), which also cuts the attention work.
"""),
    ("code", r"""
MIXES = {
    "text only": {"text": 1.0},
    "image-heavy": {"text": 0.4, "image": 0.6},
    "audio-heavy": {"text": 0.4, "audio": 0.6},
    "balanced": {"text": 0.6, "image": 0.25, "audio": 0.15},
}
rows = []
for name, mix in MIXES.items():
    for pk in ("ffd", "none"):
        st = MM.packing_stats(maia, {**mix, "packing": pk}, sc.training.seq_len, seed=SEED % 2**31)
        rows.append({"mix": name, "packing": pk, "waste_pct": 100 * st.waste,
                     "images_per_seq": st.images, "audio_s_per_seq": st.audio_s,
                     "attention_fraction": st.attention_fraction})
pack = pl.DataFrame(rows)
ffd = pack.filter(pl.col("packing") == "ffd")
nopack = pack.filter(pl.col("packing") == "none")
assert ffd["waste_pct"].max() < 1.0 < nopack["waste_pct"].min()
md(f"First-fit-decreasing leaves **at most {ffd['waste_pct'].max():.2f} %** of the positions as padding in these mixes; "
   f"one sample per sequence would waste {nopack['waste_pct'].min():.0f}–{nopack['waste_pct'].max():.0f} %. "
   f"With document masks the attention core does {100 * ffd['attention_fraction'].min():.0f}–"
   f"{100 * ffd['attention_fraction'].max():.0f} % of the whole-sequence work.")
il.charts.packing_waste_chart(pack)
"""),
    ("md", r"""
## 4. What a Maia-class run costs on ZAYA1's cluster
"""),
    ("code", r"""
hw, tr, par = sc.hardware, sc.training, sc.parallelism
md(f"The same cluster and plan as ZAYA1 ({hw.nodes} nodes × {hw.gpus_per_node} {hw.accelerator}, data parallel with "
   f"ZeRO-{par.zero}, micro-batch {tr.micro_batch}, global batch {tr.global_batch:,} × {tr.seq_len:,} positions), the "
   f"encoders trained, for four data mixes. Days = {TOKENS / 1e12:.0f}T *useful* (non-padding) tokens ÷ useful tokens per "
   f"second; dollars at the median on-demand MI300X price (`il.economics.cloud_price`) and at the owned cost of a useful "
   f"GPU-hour on notebook 05's like-for-like basis (`il.economics.owned_gpu_hour_price`: the baseboard listing plus the "
   f"same host, network and opex as every other accelerator, the Monte Carlo median — the same function and inputs as "
   f"notebook 05's owned P50 column and notebook 07's owned price).")
"""),
    ("code", r"""
price = E.cloud_price("MI300X")
owned = E.owned_gpu_hour_price("MI300X")
res, split = {}, []
PART = il.charts.multimodal.PART_LABELS     # the step's parts in words (MM.estimate(...).breakdown()'s part column)
for name, mix in MIXES.items():
    d = sc.to_dict()
    d["training"]["data_mix"] = {**mix, "image_size": [IMG, IMG]}
    r = MM.estimate(d)
    res[name] = r
    days = TOKENS / r.useful_tokens_per_s / 86400
    split.append(r.breakdown().with_columns(pl.lit(name).alias("mix"), (pl.col("seconds") * days / r.step_time_s).alias("days")))
gpus = sc.hardware.world_size
cost = pl.DataFrame([{
    "mix": n, "step_s": r.step_time_s, "useful_Mtok_per_s": r.useful_tokens_per_s / 1e6,
    "mfu_pct": 100 * r.estimate.mfu, "memory_GiB": r.estimate.memory_per_gpu_bytes / 2**30, "fits": r.estimate.fits,
    "days": TOKENS / r.useful_tokens_per_s / 86400,
    "on_demand_MUSD": TOKENS / r.useful_tokens_per_s / 3600 * gpus * price / 1e6,
    "owned_MUSD": TOKENS / r.useful_tokens_per_s / 3600 * gpus * owned / 1e6,
    "encoder_pct": 100 * dict(r.breakdown().iter_rows())["encoder_compute"] / r.step_time_s,
} for n, r in res.items()])
C = {r["mix"]: r for r in cost.iter_rows(named=True)}
assert cost["fits"].all()
assert C["image-heavy"]["days"] > C["text only"]["days"] and C["audio-heavy"]["days"] > C["image-heavy"]["days"]
# encoder tokens per language-model token: audio (30-s windows for ~12-s clips) above pictures (2x2 merge)
sa, si = res["audio-heavy"].stats, res["image-heavy"].stats
lm_emb = dict(maia.lm.param_breakdown().select("component", "params_total").iter_rows())["embeddings"]
enc_per_tok = {"audio": sa.audio_windows * sa.encoder_frames_per_window / sa.audio_positions,
               "image": si.images * si.encoder_patches / si.image_positions}
pad_factor = sa.audio_windows * maia.audio.window_s / sa.audio_s
assert enc_per_tok["audio"] > enc_per_tok["image"] and pad_factor > 1
# ZAYA1 itself (the shipped text-only scenario of notebooks 04-06) beside the text-only Maia-class step
zest = il.estimate(il.load_scenario("zaya1-ibm-mi300x"))
d = sc.to_dict()
d["training"].update(data_mix=MIXES["text only"], encoder="frozen")
text_frozen = MM.estimate(d)
assert text_frozen.step_time_s < zest.step_time_s < res["text only"].step_time_s
md(f"Days here are failure-free training time, as the step model gives them; interruptions, restarts and checkpoints "
   f"add to the wall clock (notebook 06; notebook 08 counts them). "
   f"Text only, the Maia-class model trains {TOKENS / 1e12:.0f}T tokens in **{C['text only']['days']:.1f} days** "
   f"(${C['text only']['on_demand_MUSD']:.2f}M on demand at ${price:.2f}/GPU-h, ${C['text only']['owned_MUSD']:.2f}M owned at "
   f"${owned:.2f}/GPU-h). The image-heavy mix takes **{C['image-heavy']['days']:.1f} days** "
   f"(×{C['image-heavy']['days'] / C['text only']['days']:.2f}, ${C['image-heavy']['on_demand_MUSD']:.2f}M), the audio-heavy mix "
   f"**{C['audio-heavy']['days']:.1f} days** (×{C['audio-heavy']['days'] / C['text only']['days']:.2f}, "
   f"${C['audio-heavy']['on_demand_MUSD']:.2f}M), the balanced mix {C['balanced']['days']:.1f} days. The encoders take "
   f"{C['image-heavy']['encoder_pct']:.0f} % of an image-heavy step and {C['audio-heavy']['encoder_pct']:.0f} % of an "
   f"audio-heavy one: a ZAYA1-class language model is small ({maia.lm.params_active / 1e9:.2f}B active parameters with its "
   f"{lm_emb / 1e9:.2f}B-parameter embedding; Zyphra's {maia.lm.published_params_active / 1e6:,.0f}M leaves the "
   f"embedding out), so a {maia.vision.params_total / 1e9:.2f}B-parameter vision encoder in front of it has "
   f"{maia.vision.params_total / (maia.lm.params_active - lm_emb):.2f}× the language model's active parameters outside "
   f"the embedding. Audio costs more per token than pictures: "
   f"the encoder runs {enc_per_tok['audio']:.1f} frames per audio token against {enc_per_tok['image']:.1f} patches per image "
   f"token, because every clip is padded to Whisper's {maia.audio.window_s:g}-s window ({pad_factor:.1f}× the clips' own "
   f"length). ZAYA1 itself, text only without encoders (notebooks 04–06), takes {TOKENS / zest.tokens_per_s / 86400:.1f} "
   f"days: its step is {zest.step_time_s:.3f} s against {res['text only'].step_time_s:.3f} s for the text-only "
   f"Maia-class mix, which still carries the trained encoders' {maia.params_encoders / 1e9:.2f}B parameters in its "
   f"gradients, optimizer and data-parallel traffic; with the encoders frozen the text-only step is "
   f"{text_frozen.step_time_s:.3f} s, below ZAYA1's, because packed documents attend only within themselves.")
il.charts.headline_table(
    cost, f"Maia-class training by data mix: {TOKENS / 1e12:g}T useful tokens on {gpus:,} MI300X",
    subtitle=f"failure-free days; on demand at ${price:.2f}/GPU-h (median list price), owned at ${owned:.2f}/GPU-h "
             "(notebook 05's like-for-like owned P50: the baseboard listing)",
    labels={"step_s": "step", "useful_Mtok_per_s": "useful tokens", "memory_GiB": "memory per GPU", "days": "days, failure-free",
            "on_demand_MUSD": "on demand", "owned_MUSD": "owned", "encoder_pct": "encoders' share of the step"},
    sources="prices: data/cloud_prices.csv and data/economics/ (a source URL per row)")
"""),
    ("code", r"""
il.charts.mix_time_chart(pl.concat(split), "days", title=f"Maia-class, {TOKENS / 1e12:g}T useful tokens on {gpus:,} MI300X")
"""),
    ("md", r"""
## 5. Frozen encoders and pipeline stages

Two choices move the encoder's share. A **frozen** encoder runs forward only (no backward, no
gradients or optimizer states for it). With **pipeline parallelism** the encoder sits on the
first stage: that stage becomes the slowest and every other stage, and the bubble, wait for it —
the *stage imbalance*.
"""),
    ("code", r"""
def variant(**kw):
    d = sc.to_dict()
    d["training"]["data_mix"] = {**MIXES["image-heavy"], "image_size": [IMG, IMG]}
    for table, upd in kw.items():
        d[table].update(upd)
    return MM.estimate(d)

base_r = res["image-heavy"]
frozen = variant(training={"encoder": "frozen"})
PP = 4                                   # pipeline stages of the comparison [-]
pp4 = variant(parallelism={"pp": PP}, training={"micro_batch": 1})
imb = dict(pp4.breakdown().iter_rows())["stage_imbalance"]
assert frozen.step_time_s < base_r.step_time_s and imb > 0
md(f"Freezing the encoders cuts the image-heavy step from {base_r.step_time_s:.3f} s to **{frozen.step_time_s:.3f} s** "
   f"({100 * (1 - frozen.step_time_s / base_r.step_time_s):.0f} % less). Split over {PP} pipeline stages, the first stage carries "
   f"the encoders and the pipeline waits for it: **{imb:.3f} s** of each {pp4.step_time_s:.3f}-s step "
   f"({100 * imb / pp4.step_time_s:.0f} %) is stage imbalance, on top of the encoder's own balanced share. Giving the first "
   f"stage fewer language-model layers (Megatron-Core's `--decoder-first-pipeline-num-layers`) would absorb part of it; "
   f"this model keeps the stages as even as the layers allow.")
pl.concat([r.breakdown().with_columns(pl.lit(f"{n} [s]").alias("run")) for n, r in
           (("image-heavy, pp 1", base_r), ("frozen encoders", frozen), (f"pp {PP}", pp4))]).pivot(
    on="run", index="part", values="seconds").with_columns(pl.col("part").replace_strict(PART), pl.col(pl.Float64).round(3))
"""),
    ("md", r"""
## 6. Validation against published runs
"""),
    ("code", r"""
runs = MM.measurements().rows_by_key("case", named=True, unique=True)
l7, lm = runs["llava15-7b-finetune"], runs["lmms-engine-qwen25vl-7b"]
n_gpu = lambda r: r["nodes"] * r["gpus_per_node"]  # noqa: E731
same = ("nodes", "gpus_per_node", "zero", "samples", "text_tokens_per_sample", "text_tokens_low", "text_tokens_high")
assert all(r[k] == l7[k] for c, r in runs.items() if c.startswith("llava") for k in same), "the sentence names one LLaVA setup"
md(f'''{len(runs)} public runs state enough of their configuration: LLaVA-1.5 7B and 13B fine-tuning ({n_gpu(l7)} A100,
DeepSpeed ZeRO-{l7["zero"]}, frozen CLIP, {l7["samples"] / 1e3:.0f}K samples; the README's training hours) and LMMs-Engine's
Qwen2.5-VL-7B MFU ({n_gpu(lm)} A800, modelled as {lm["accelerator"]}; FSDP2, {lm["packing_tokens"]:,}-token packing). What they do
not state is an assumption flagged in `data/measurements/multimodal_training.csv` (LLaVA's mean text per sample:
{l7["text_tokens_per_sample"]:.0f} tokens, the band shows {l7["text_tokens_low"]:.0f}–{l7["text_tokens_high"]:.0f}). **Validation
only, no fit**: {len(runs)} cases are too few for a train/test split, and nothing was tuned to them.''')
"""),
    ("code", r"""
val = MM.published_comparison()
V = {r["case"]: r for r in val.iter_rows(named=True)}
worst = val.sort(pl.col("error_pct").abs(), descending=True).row(0, named=True)
llava = val.filter(pl.col("case").str.starts_with("llava"))
speed = llava["measured"] / llava["predicted"]          # published hours / predicted hours
lm = V["lmms-engine-qwen25vl-7b"]
mfu_vs = ("above" if lm["predicted"] > lm["measured_high"] else "below" if lm["predicted"] < lm["measured_low"]
          else "inside")
assert speed.min() > 1 and mfu_vs == "above", "the reading below: the model is faster than the published runs"
qty = lambda r, x: f"{r['metric'].upper()} {x:.3g}" if r["unit"] == "-" else f"{x:.3g} {r['unit']}"  # noqa: E731  (MFU: a fraction)
md("Errors per case: " + "; ".join(f"**{r['case']}** {signed(r['error_pct'], 0)} % (predicted {qty(r, r['predicted'])} vs "
   f"published {qty(r, r['measured'])})" for r in val.iter_rows(named=True))
   + f". The largest miss is {worst['case']} ({signed(worst['error_pct'], 0)} %). The model predicts the LLaVA runs "
   f"{speed.min():.1f}–{speed.max():.1f}× as fast as published and LMMs-Engine's MFU {mfu_vs} its published range "
   f"({lm['measured_low']:.2f}–{lm['measured_high']:.2f}): its software factors are Megatron-Core's "
   "(fitted to Megatron runs), while these runs used Hugging Face Trainer with DeepSpeed ZeRO-3 or FSDP2, and LLaVA's "
   "batches are padded, not packed. Read the Maia-class days above as what a Megatron-class stack would reach, not a "
   "Hugging Face one.")
il.charts.multimodal_validation_chart(val)
"""),
    ("code", r"""
val.select("case", "metric", "unit", "measured", "measured_low", "measured_high", "predicted", "predicted_low",
           "predicted_high", "error_pct").with_columns(pl.col(pl.Float64).round(3))
"""),
    ("md", r"""
Sources: [LLaVA README](https://github.com/haotian-liu/LLaVA/blob/main/README.md) and
[finetune.sh](https://github.com/haotian-liu/LLaVA/blob/main/scripts/v1_5/finetune.sh);
[LMMs-Engine MFU reference](https://lmms-engine.readthedocs.io/en/stable/reference/mfu.html).

## 7. Serving: the encoder before the prefill

A multimodal request first runs its encoders, then the language model's prefill over text plus
image/audio positions, then decode. `il.multimodal.encoder_prefill` prices the first part with
the same compute functions; `il.serve` calls it for a multimodal [model] whose `[serving]` table
asks for `images_per_request` / `image_size` / `audio_s_per_request` (`il.multimodal.serve` is a
thin alias). Notebook [07 · serving Maia](07_serving_maia.ipynb) prices whole agent tasks with it.
"""),
    ("code", r"""
AUDIO_S, BATCH = (10.0, 30.0), 16         # clip lengths [s] and the batch of pictures encoded together [-]
PIC, CLIP = f"1 picture, {IMG} px", [f"{x:g} s of audio" for x in AUDIO_S]
pre = []
for label, kw in ((PIC, {"images": 1, "image_size": IMG}),
                  ("1 picture, 1080p", {"images": 1, "image_size": (1080, 1920)}),
                  *((c, {"audio_s": x}) for c, x in zip(CLIP, AUDIO_S, strict=True))):
    for batch in (1, BATCH):
        r = MM.encoder_prefill(maia, "MI300X", batch=batch, **kw)
        pre.append({"request": label, "batch": batch, "encoder_ms": 1e3 * r.time_s, "GFLOP": r.flops / 1e9,
                    "prompt_positions": r.lm_positions, "encoder_mfu_pct": 100 * r.mfu})
pre = pl.DataFrame(pre)
P = {(r["request"], r["batch"]): r for r in pre.iter_rows(named=True)}
a, b = P[(PIC, 1)], P[(PIC, BATCH)]
assert b["encoder_ms"] < a["encoder_ms"]
srv = {"model": {"preset": "qwen2.5-vl-7b"}, "hardware": {"accelerator": "MI300X", "nodes": 1, "gpus_per_node": 1},
       "serving": {"engine": "vllm", "input_tokens": 128, "output_tokens": 256, "concurrency": 16}}
with_img = MM.serve(srv, images=1, image_size=IMG)
text_only = il.serve({**srv, "serving": {**srv["serving"], "input_tokens": with_img.result.scenario.serving.input_tokens}})
assert with_img.result.ttft_s > text_only.ttft_s
assert P[(CLIP[0], 1)]["encoder_ms"] == P[(CLIP[1], 1)]["encoder_ms"]   # one padded window each
sv = srv["serving"]
md(f"Served on one MI300X (Qwen2.5-VL-7B, vLLM, {sv['concurrency']} requests in flight, {sv['input_tokens']} text + "
   f"{with_img.prefill.lm_positions:.0f} image tokens in, {sv['output_tokens']} out), the picture's encoder lifts the mean time to first token from {1e3 * text_only.ttft_s:.0f} ms (the same "
   f"prompt length as text) to **{1e3 * with_img.result.ttft_s:.0f} ms** and lowers output from {text_only.output_tokens_per_s:,.0f} to "
   f"{with_img.result.output_tokens_per_s:,.0f} tokens/s.")
md(f"One {IMG}-px picture costs **{a['encoder_ms']:.1f} ms** of MI300X encoder time alone ({a['encoder_mfu_pct']:.0f} % MFU: "
   f"{q448['patches']:,} patches are a small GEMM) and {b['encoder_ms']:.1f} ms each when {BATCH} are encoded together; it adds "
   f"{a['prompt_positions']:.0f} prompt positions. {AUDIO_S[0]:g} s of audio cost {P[(CLIP[0], 1)]['encoder_ms']:.1f} ms "
   f"— as much as {AUDIO_S[1]:g} s ({P[(CLIP[1], 1)]['encoder_ms']:.1f} ms), because the window is padded to "
   f"{maia.audio.window_s:g} s.")
pre.with_columns(pl.col(pl.Float64).round(2))
"""),
    ("md", r"""
## 8. Explore a data mix

Shares of image and audio tokens (text takes the rest), the picture size, frozen or trained
encoders and packing. Each change re-runs `il.multimodal.estimate` on the Maia-class scenario
(one update timed below).
"""),
    ("code", r"""
import time

box = il.widgets.multimodal_explorer()
t0 = time.perf_counter()
box.update()
md(f"One update took {time.perf_counter() - t0:.2f} s here.")
box
"""),
    ("md", "## Takeaways"),
    ("code", r"""
TAKEAWAYS = (f'''* The parameter counts reproduce the published checkpoints ({', '.join(exact)} exactly); the hypothetical Maia-class
  model has {maia.params_total / 1e9:.1f}B parameters, {100 * maia.params_encoders / maia.params_total:.0f} % of them in its encoders.
* A {IMG}-px picture is {q448['lm_tokens']} tokens for a Qwen2.5-VL-style encoder, a second of audio {tps['qwen2-audio-encoder']:g}
  (Qwen2-Audio); first-fit-decreasing packing leaves at most {ffd['waste_pct'].max():.2f} % padding, no packing
  {nopack['waste_pct'].min():.0f} % or more.
* On the {gpus:,}-MI300X cluster with ZAYA1's plan, {TOKENS / 1e12:.0f}T useful tokens take {C['text only']['days']:.1f} days text-only,
  {C['image-heavy']['days']:.1f} days image-heavy and {C['audio-heavy']['days']:.1f} days audio-heavy
  (${C['text only']['on_demand_MUSD']:.2f}M / ${C['image-heavy']['on_demand_MUSD']:.2f}M / ${C['audio-heavy']['on_demand_MUSD']:.2f}M on demand
  at ${price:.2f}/GPU-h, ${C['text only']['owned_MUSD']:.2f}M / ${C['image-heavy']['owned_MUSD']:.2f}M / ${C['audio-heavy']['owned_MUSD']:.2f}M
  owned at ${owned:.2f}/GPU-h, failure-free):
  with a small language model the encoders are {C['image-heavy']['encoder_pct']:.0f}–{C['audio-heavy']['encoder_pct']:.0f} % of the step.
* Freezing the encoders saves {100 * (1 - frozen.step_time_s / base_r.step_time_s):.0f} % of an image-heavy step; with {PP} pipeline stages
  the encoder-laden first stage adds {100 * imb / pp4.step_time_s:.0f} % of stage imbalance.
* Validation only, no fit: {', '.join(f"{r['case']} {signed(r['error_pct'], 0)} %" for r in val.iter_rows(named=True))} — the model carries
  Megatron-Core's efficiency, faster than the Hugging Face/DeepSpeed stacks of the published runs.''')
md(TAKEAWAYS)
BRIEF.update(Markdown("**In brief** (the Takeaways at the end, computed):\n\n" + TAKEAWAYS))
"""),
    ("md", r"""
[← 08 the 2026 expansion](08_expansion_2026.ipynb) · [00 index →](00_index.ipynb)
"""),
]

if __name__ == "__main__":
    print(write_notebook("09_multimodal_maia", cells))
