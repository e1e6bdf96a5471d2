"""Figures that README.md and docs/*.md quote in prose are the package's own: each test here
recomputes a page's figures from their owner and finds them, as printed, in the page. A model or
data change that moves one fails here until the page says the new figure.

Not checked here: the generated blocks (docs/validation.md, docs/serving.md, the length table
of docs/review-response.md and docs/expansion.md's sensitivity items have their own tests), figures other tests already pin in their
owner's module (docs/economics.md's fabric costs and max-NPV paragraph, docs/expansion.md's
whole-switch price and failure-free days, docs/serving.md's serve_search before/now, docs/
reliability.md's asynchronous-save goodput), dated passages (what a change did on its date, the
before of a before → after) and the *-history.md pages, which are records.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import polars as pl
import pytest

import infra_lab as il
from infra_lab import catalog
from infra_lab.compute import validation as V

ROOT = Path(__file__).resolve().parents[1]


def page(name: str) -> str:
    """A page's text with whitespace runs as one space and the typographic minus as '-'."""
    return " ".join((ROOT / name).read_text(encoding="utf-8").split()).replace("−", "-")


def said(text: str, claim: str) -> None:
    claim = " ".join(claim.split()).replace("−", "-")
    assert claim in text, f"the page does not say (any more): {claim!r}"


def test_readme_quotes_the_catalog_peak():
    peak = catalog.accelerator("MI300X").peak("bf16")
    e = math.floor(math.log10(peak))
    said(page("README.md"), f'il.catalog.accelerator("MI300X").peak("bf16") # {peak / 10**e:.4f}e{e} FLOP/s')


# ---------------------------------------------------------------- docs/compute.md


def test_compute_doc_four_bit_gemm_figures():
    doc = page("docs/compute.md")
    fit, mx = V.four_bit_load_fit(), V.mx4_ceiling_factor_fit()
    g4, g8 = il.compute.gemm_model("MI355X", "mxfp4"), il.compute.gemm_model("MI355X", "fp8")
    n = V.four_bit_gemm_measurements().height
    acc = catalog.accelerator("MI355X")
    assert g4.fixed_s == pytest.approx(fit["kernel_fixed_s"], rel=1e-5)          # the stored row is the fit
    assert g4.unit_load_Bps == pytest.approx(fit["unit_load_Bps"], rel=1e-5)
    said(doc, f"`compute.four_bit_gemm_table()` compares all {n:,} shapes of that table")
    said(doc, f"the tuned table runs split-K 0 on all {n:,} shapes")
    said(doc, f"jointly on the {fit['rows']} train rows (least squares on log time): {fit['unit_load_Bps'] / 1e9:.1f} GB/s "
              f"per workgroup ({fit['fair_share']:.2f} times a CU's share of the {g4.mem_bw_Bps / 1e12:.2f} TB/s the "
              f"device streams) and {fit['kernel_fixed_s'] * 1e6:.2f} µs (hipBLASLt's FP8 GEMMs: {g8.fixed_s * 1e6:.1f} µs")
    said(doc, f"a squared log error of 67.6, against {fit['sse']:.1f} for the per-workgroup loads")
    said(doc, f"(`data/measurements/gemm_4bit_kernels.csv`: {mx['measured_tflops']:,.0f} TFLOP/s, "
              f"{mx['measured_tflops'] * 1e12 / acc.peak('fp4'):.3f} of the FP4 peak against FP8's "
              f"{g8.max_efficiency:.3f}; factor {mx['value']:.3f}")
    # the error table's "after" side and the worst rows, by split and M band
    s = V.four_bit_gemm_summary()
    rows = {line.split("|")[1].strip(): [c.strip() for c in line.split("|")[2:-1]]
            for line in (ROOT / "docs/compute.md").read_text(encoding="utf-8").replace("−", "-").splitlines()
            if line.startswith(("| train (", "| test ("))}
    worst = {}
    for role in ("train", "test"):
        r = s.filter(pl.col("role") == role)
        cells = rows[f"{role} ({int(r.filter(pl.col('m_band') == 'all')['cases'][0])})"]
        for cell, band in zip(cells, r.iter_rows(named=True), strict=True):
            assert cell.endswith(f"→ {band['median_error_pct']:+.1f} / {band['median_abs_error_pct']:.1f}"), (role, band)
        worst[role] = r.filter(pl.col("m_band") == "all")["worst_abs_error_pct"][0]
    said(doc, f"to {worst['train']:.0f} % and {worst['test']:.0f} % (large-M rows")


def test_compute_doc_aotriton_table_and_fit():
    doc = page("docs/compute.md")
    t = V.attention_cap_comparison("MI300X", "aotriton")
    for r in t.iter_rows(named=True):
        _, _, ps, mask, length = r["case"].split("-")
        said(doc, f"| {ps} {mask} {int(length) // 1024}k | {r['role']} | {r['measured']:.1f} | "
                  f"{r['error_uncapped_pct']:+.1f} % | {r['error_capped_pct']:+.1f} % |")
    test = t.filter(pl.col("role") == "test")
    med = {(ps, col): test.filter(pl.col("pass") == ps)[col].abs().median()
           for ps in ("fwd", "bwd") for col in ("error_uncapped_pct", "error_capped_pct")}
    said(doc, f"Test-row median |error|: forward {med['fwd', 'error_uncapped_pct']:.1f} % uncapped, "
              f"{med['fwd', 'error_capped_pct']:.1f} % capped; backward {med['bwd', 'error_uncapped_pct']:.1f} % "
              f"uncapped, {med['bwd', 'error_capped_pct']:.1f} % capped. Neither pass is capped (the constant is empty)")
    assert not [c for c in V.ATTN_CAPPED_AT_MEASURED if c[:2] == ("MI300X", "aotriton")]
    a = catalog.accelerator("MI300X")
    e = {k: V.P.value(a, k, "aotriton") for k in ("attn_eff_bwd", "attn_eff_fwd", "attn_overhead_bwd", "attn_overhead_fwd")}
    said(doc, f"(e_bwd {e['attn_eff_bwd']:.3f} < e_fwd {e['attn_eff_fwd']:.3f}, c_bwd {e['attn_overhead_bwd']:.2f} > "
              f"c_fwd {e['attn_overhead_fwd']:.2f} blocks)")
    c = il.compute.attention_cost(8192, 128, 32.0, "MI300X", "bwd", True, kernel="aotriton")
    bwd_max = t.filter(pl.col("pass") == "bwd")["measured"].max()
    said(doc, f"Uncapped, the backward at 8k tokens, 32 heads, causal is about {c['flops'] / c['time_s'] / 1e12:.0f} "
              f"TFLOP/s, above every measured backward rate ({bwd_max:.0f})")
    tb = test.filter(pl.col("pass") == "bwd")["error_uncapped_pct"]
    said(doc, f"the held-out rows bracket the model at {tb.min():.0f} to {tb.max():+.0f} %")


def test_compute_doc_grouped_gemm_factors():
    doc = page("docs/compute.md")
    b = V.grouped_mm_factor_fit("B200", "bf16")
    roles = b["rows"]["role"].value_counts().sort("role")
    assert dict(roles.iter_rows()) == {"test": 3, "train": 5}                 # "fits the factor on five ... holds out three"
    said(doc, f"holds out three (`compute_measurements.csv`, `b200-bf16-grouped-mm-*`): {b['value']:.4f}")
    said(doc, f"train median |error| 1.1 → {b['train_median_abs_error_pct']:.1f} %, worst 8.4 → "
              f"{b['train_worst_abs_error_pct']:.1f} %; held out 12.5 → {b['test_median_abs_error_pct']:.1f} % median, "
              f"worst 14.1 → {b['test_worst_abs_error_pct']:.1f} %")
    h = {p: V.grouped_mm_factor_fit("H200-SXM", p) for p in ("bf16", "fp8")}
    said(doc, f"{h['bf16']['value']:.3f} BF16, {h['fp8']['value']:.3f} FP8 "
              '(`grouped_mm_factor_fit("H200-SXM", "bf16" | "fp8")`)')
    # the H200 table: PyTorch's schedule at factor 1, and at the fitted factor (the device check's errors)
    dk = V.device_check_table().filter(pl.col("kind") == "grouped_gemm")
    lines = (ROOT / "docs/compute.md").read_text(encoding="utf-8").splitlines()
    for prec, kernel in (("bf16", "torch._grouped_mm"), ("fp8", "torch._scaled_grouped_mm")):
        one = h[prec]["rows"].with_columns((100 * (pl.col("measured_us") / pl.col("predicted_dense_us") - 1)).alias("e1"))
        for role in ("train", "test"):
            e1 = one.filter(pl.col("role") == role)["e1"].abs()
            ef = dk.filter((pl.col("precision") == prec) & (pl.col("role") == role))["error_pct"].abs()
            assert e1.len() == ef.len()
            cells = [c.strip() for c in next(x for x in lines if x.startswith(f"| `{kernel}` | {role} ({ef.len()}) |")).split("|")]
            assert cells[-3:-1] == [f"{e1.median():.1f} / {e1.max():.1f}", f"{ef.median():.1f} / {ef.max():.1f}"], (kernel, role)
    tb = dk.filter((pl.col("precision") == "bf16") & (pl.col("role") == "test"))
    t8 = dk.filter((pl.col("precision") == "fp8") & (pl.col("role") == "test"))
    w8 = dk.filter((pl.col("precision") == "fp8") & (pl.col("role") == "train")).sort("error_pct").row(-1, named=True)
    said(doc, f"After: BF16 held-out rows within {math.ceil(tb['error_pct'].abs().median()):.0f} % in median (worst "
              f"8 × 128 × 7168 × 2048, {tb['error_pct'].max():+.0f} %: the weight stream above); FP8 within "
              f"{t8['error_pct'].abs().median():.0f} % (signed median {t8['error_pct'].median():+.0f} %")
    assert w8["case"].endswith("16x256x2048x768")
    said(doc, f"worst train row 16 × 256 × 2048 × 768 at {w8['error_pct']:+.0f} %")


def test_compute_doc_h200_sdpa_figures():
    doc = page("docs/compute.md")
    kern = V.device_kernels()
    said(doc, f"the project timed {kern.height} kernels on one NVIDIA H200")
    sf = V.device_check_table().filter(pl.col("software") == "sdpa-fa2")
    test = sf.filter(pl.col("role") == "test")["error_pct"].abs()
    pkg, test_mask, cases = [], [], []
    for r in kern.filter(pl.col("software") == "sdpa-fa2").iter_rows(named=True):
        c = il.compute.attention_cost(int(r["seq_len"]), int(r["head_dim"]), float(r["batch_heads"]), "H200-SXM",
                                      r["pass"], bool(r["causal"]), kernel="fa2")
        pkg.append(100 * (c["flops"] / c["time_s"] / 1e12 / r["value"] - 1))
        test_mask.append(r["role"] == "test")
        cases.append((r["role"], r["pass"], bool(r["causal"]), int(r["seq_len"])))
    pkg, test_mask = np.abs(np.array(pkg)), np.array(test_mask)
    worst = cases[int(np.argmax(pkg))]
    assert worst == ("train", "fwd", True, 512)                                     # "causal forward at 512 tokens, a train row"
    said(doc, f"fits e and c, forward and backward, to {sf.height - test.len()} of its {sf.height} rows: the "
              f"{test.len()} test rows are within {test.median():.1f} % in median and {test.max():.1f} % at worst, where "
              f"the flash-attn package's `fa2` parameters (FA3 paper, H100) price the same {test.len()} rows "
              f"{np.median(pkg[test_mask]):.1f} % too fast in median and {pkg[test_mask].max():.1f} % at worst (all "
              f"{sf.height} rows: {np.median(pkg):.1f} % in median, {pkg.max():.0f} % at worst")
    said(doc, f"the flash-attn package's `fa2` fit from the FA3 paper prices it about {np.median(pkg):.0f} % too fast")
    a = catalog.accelerator("H100-SXM")
    bench = {k: V.P.value(a, f"attn_bench_{k}") for k in ("tokens", "heads", "head_dim")}
    said(doc, f"{bench['tokens'] / 1024:.0f}k tokens per batch, {bench['heads']:.0f} heads of {bench['head_dim']:.0f}")


# ---------------------------------------------------------------- docs/economics.md


def test_economics_doc_figures():
    E = il.economics
    doc = page("docs/economics.md")
    capex = {a: E.network_capex_per_gpu(hardware={"accelerator": a, "nodes": 128, "fabric": "rails-only"})
             for a in ("H100-SXM", "B200", "MI300X")}
    assert capex["H100-SXM"] == capex["B200"]
    said(doc, f"so 1,024 of them pay {capex['H100-SXM']:,.0f} USD per GPU where MI300X (bare-board price plus a "
              f"Pollara 400 NIC) pays {capex['MI300X']:,.0f}")
    said(doc, f"its transceivers are 800G modules, each {E.optics_price_ratio(800e9):.2f} of the 400G module")
    pw = E.cluster_power(1024, "MI300X")
    said(doc, f"1,024 MI300X provision about {pw['it_provisioned_W'] / 1e6:.1f} MW of IT power, hot spares included")
    run, ret = E.provider_view(path="decay", retire=None), E.provider_view(path="decay")
    assert (run.operating_years, ret.retirement_year) == (5.0, 4.0)      # "at 5 years", "retired after year 4"
    said(doc, f"MI300X decay at 5 years: {run.margin_usd_per_gpu_hour:.3f} → {ret.margin_usd_per_gpu_hour:.3f} USD per GPU-hour")
    said(doc, f"run to the horizon {run.margin_usd_per_gpu_hour:.3f} + {run.resale_credit_usd_per_gpu_hour:.3f} = "
              f"{run.margin_with_resale_usd_per_gpu_hour:.3f}, retired after year 4 {ret.margin_usd_per_gpu_hour:.3f} + "
              f"{ret.resale_credit_usd_per_gpu_hour:.3f} = {ret.margin_with_resale_usd_per_gpu_hour:.3f} USD per GPU-hour")
    radix = il.fabric.constant("switch_radix_ports")
    counts = [il.fabric.switch_counts({"accelerator": "MI300X", "nodes": n, "fabric": "rail-optimized"})["total"]
              for n in range(9, 32)]
    said(doc, f"(9 to 31 8-NIC nodes at radix {radix:g}: {min(counts)} to {max(counts)} switches")
    inc = E.company_fact("AMD", "datacenter_operating_income_usd", "FY2024")
    rev = E.company_fact("AMD", "datacenter_revenue_usd", "FY2024")
    said(doc, f"({inc / 1e6:,.0f} M USD of operating income\non {rev / 1e6:,.0f} M USD of segment revenue, both from the "
              "release's segment table")
    # the investor's reread, notebook 05's section 1 and 3 figures
    own = E.owned_cost_per_gpu_hour("MI300X")
    p = E.cloud_price("MI300X")
    r = E.rent_vs_own(p, committed=False)
    F, En = r.owned_fixed_usd_per_calendar_hour, r.owned_energy_usd_per_busy_hour
    said(doc, f"a useful MI300X GPU-hour at the defaults, {own.total_usd_per_gpu_hour:.2f} USD, is fixed cost F per "
              f"calendar hour over utilization U = {own.inputs['utilization']:g} plus energy E = {En:.3f} per busy hour, "
              f"so F = {F:.2f} and F + E = {F + En:.2f} USD")
    said(doc, f"U* = F / (P - E) at the {p:.2f} USD median list price is {100 * r.threshold_utilization:.0f} %,")
    P = E.parameters("MI300X")
    years = P["tco_horizon_years"].value
    tco = dict(E.tco(1024).select("component", "usd").iter_rows())
    said(doc, f"The {years:g}-year TCO's colocation, {tco['colocation'] / 1e6:.2f}M USD, is the "
              f"{pw['it_provisioned_W'] / 1e6:.2f} MW of IT power provisioned (hot spares included, the figure section 1 "
              f"prints) x {P['colocation_usd_per_kW_month'].value:.0f} USD per kW-month x {12 * years:.0f} months; its "
              f"energy, {tco['energy'] / 1e6:.2f}M USD, is {pw['facility_average_W'] / 1e6:.2f} MW of facility power x the "
              f"busy hours after the setup weeks x {P['electricity_usd_per_kWh'].value:.2f} USD per kWh")


# ---------------------------------------------------------------- docs/expansion.md


def test_expansion_doc_why_mi355x_gains_little():
    """The first four items of "Why MI355X gains little on the 10× MoE" and its opening sentence:
    il.estimate of each option's best plan at 8,192 GPUs (the search evaluate runs)."""
    X = il.expansion
    doc = page("docs/expansion.md")
    comp_parts = ("compute_fwd", "compute_bwd", "compute_recompute")
    best, est, sc = {}, {}, {}
    for plat in ("MI300X node", "MI355X node"):
        d = X.training_scenario(plat, "Pollara-400", 8192, "10x MoE")
        top = il.search(d, top=2, **X.SEARCH_BOUNDS)
        best[plat] = top
        sc[plat] = il.Scenario.from_dict(il.training.apply_plan(d, top.row(0, named=True)))
        est[plat] = il.estimate(sc[plat])
    ea, eb = est["MI300X node"], est["MI355X node"]
    ba, bb = (best[p].row(0, named=True) for p in ("MI300X node", "MI355X node"))
    comp = {p: sum(e.breakdown.filter(pl.col("component").is_in(comp_parts))["seconds"]) for p, e in est.items()}
    ca, cb = comp["MI300X node"], comp["MI355X node"]
    gain = ea.step_time_s / eb.step_time_s
    said(doc, f"Notebook 08 finds MI355X only about {gain:.2f}× faster than MI300X on the 10× MoE at 8,192 GPUs")
    said(doc, f"{100 * eb.mfu:.1f} % vs {100 * ea.mfu:.1f} % MFU;")
    said(doc, f"although its bf16 peak is {eb.peak_flops / ea.peak_flops:.2f}× MI300X's")
    a300, a355 = catalog.accelerator("MI300X"), catalog.accelerator("MI355X")
    assert sc["MI300X node"].training.precision == sc["MI355X node"].training.precision == "bf16"
    said(doc, f"({a355.peak('bf16') / 1e12:,.0f} vs {a300.peak('bf16') / 1e12:,.1f} TFLOP/s, `data/accelerators.csv`)")
    assert a300.scaleup_links == a355.scaleup_links
    said(doc, f"({a300.scaleup_links} links; {a355.scaleup_link_bw_Bps / 1e9:g} vs {a300.scaleup_link_bw_Bps / 1e9:g} GB/s per direction")
    said(doc, f"ep over the divisors of the {sc['MI355X node'].model['experts']} experts")
    b2 = best["MI355X node"].row(1, named=True)
    plan = lambda b: f"tp {b['tp']} / pp {b['pp']} / vp {b['vp']} / ep {b['ep']} / etp {b['etp']}"  # noqa: E731
    assert plan(b2) == plan(bb) and b2["micro_batch"] == bb["micro_batch"] == 1
    assert {bb["recompute"], b2["recompute"]} == {"none", "selective"}
    assert b2["step_time_s"] / bb["step_time_s"] - 1 < 0.005
    said(doc, f"({plan(bb)}, micro-batch {bb['micro_batch']}, without or with selective recompute: "
              f"{1e3 * bb['step_time_s']:.0f}–{1e3 * b2['step_time_s']:.0f} ms)")
    cross = il.estimate(il.Scenario.from_dict(il.training.apply_plan(
        X.training_scenario("MI355X node", "Pollara-400", 8192, "10x MoE"), ba)))
    said(doc, f"MI300X's own best plan (tp {ba['tp']} / pp {ba['pp']} / ep {ba['ep']} / etp {ba['etp']}) on MI355X is "
              f"slower ({1e3 * cross.step_time_s:.0f} ms)")
    said(doc, f"the best plans use {bb['memory_per_gpu_bytes'] / 1e9:.0f} GB (MI355X, of {a355.hbm_bytes / 1e9:.0f} GB) "
              f"and {ba['memory_per_gpu_bytes'] / 1e9:.0f} GB (MI300X, of {a300.hbm_bytes / 1e9:.0f} GB)")
    nodes = ba["ep"] * ba["etp"] // sc["MI300X node"].hardware.gpus_per_node
    said(doc, f"Compute (forward + backward) takes {1e3 * ca:.0f} ms on MI300X and {1e3 * cb:.0f} ms on MI355X "
              f"({ca / cb:.2f}× shorter")
    said(doc, f"(ep × etp = {ba['ep'] * ba['etp']} GPUs, {['one', 'two', 'three', 'four', 'five'][nodes - 1]} nodes, on the NIC)")
    said(doc, f"pipeline bubble — is {1e3 * (ea.step_time_s - ca):.0f} ms on MI300X and {1e3 * (eb.step_time_s - cb):.0f} ms "
              f"on MI355X")
    said(doc, f"Step: {1e3 * ea.step_time_s:.0f} vs {1e3 * eb.step_time_s:.0f} ms, {gain:.2f}×.")


def test_expansion_doc_counts_and_zaya1_run():
    X = il.expansion
    doc = page("docs/expansion.md")
    sizes = X.cluster_sizes()
    said(doc, f"sizes {min(sizes):,}–{max(sizes):,} GPUs")
    n_points = X.platforms().height * X.nics().height + X.platforms().height   # notebook 08's POINTS
    said(doc, f"The notebook runs {n_points} points in-process.")
    r = X.evaluate("MI300X node", "Pollara-400", 1024, "ZAYA1-class")
    zsc = il.load_scenario("zaya1-ibm-mi300x")
    assert (r["ep"], r["micro_batch"]) == (zsc.parallelism.ep, zsc.training.micro_batch)
    said(doc, f"the search picks Zyphra's plan (ep {r['ep']}, micro-batch {r['micro_batch']}) and the run takes the same "
              f"{r['wall_days']:.2f} days with failures")


# ---------------------------------------------------------------- other pages


def test_reliability_doc_link_counts():
    doc = page("docs/reliability.md")
    per = {(fab, n): il.fabric.link_counts({"accelerator": "MI300X", "nodes": n // 8, "fabric": fab})["total"] / n
           for fab in ("rails-only", "fat-tree") for n in (1024, 16384)}
    assert per["rails-only", 1024] == per["rails-only", 16384]
    said(doc, f"nearly as many links ({per['rails-only', 1024]:g} per GPU at 1,024 and 16,384 GPUs, against "
              f"{per['fat-tree', 1024]:g} and {per['fat-tree', 16384]:g} for a fat-tree)")


def test_multimodal_doc_parameter_counts_and_tokens():
    doc = page("docs/multimodal.md")
    s = {r["name"]: r for r in il.multimodal.systems().iter_rows(named=True)}
    said(doc, f"Qwen2.5-VL-7B {s['qwen2.5-vl-7b']['params_total']:,} and Llama 3.2 11B Vision "
              f"{s['llama3.2-11b-vision']['params_total']:,} exactly")
    assert s["qwen2.5-vl-7b"]["error_pct"] == 0 and s["llama3.2-11b-vision"]["error_pct"] == 0
    w = s["whisper-large-v3"]
    said(doc, f"Whisper large-v3 {w['params_total'] - w['published_params_total']:+,} ({w['error_pct']:+.3f} %")
    said(doc, f"Qwen2-Audio-7B {s['qwen2-audio-7b']['params_total']:,} against the model page's "
              f"{s['qwen2-audio-7b']['published_params_total'] / 1e9:.1f}B")
    e = il.multimodal.encoder("qwen2.5-vl-vit")
    g = e.image_grid(448, 448)
    said(doc, f"(448 × 448 → {g['patches']:,} patches → {g['lm_tokens']:,} tokens)")


def test_compute_doc_fp8_weight_cast_reuse_on_zaya1():
    """Notebook 02 §5's split of ZAYA1's FP8 step on one node (the same computation, condensed):
    the weight casts a Megatron-Core stack saves by reusing the quantized weights over a step."""
    doc = page("docs/compute.md")
    z8 = il.load_scenario("zaya1-ibm-mi300x").to_dict()
    spec, tr, gpn = il.models.get("zaya1-base"), z8["training"], z8["hardware"]["gpus_per_node"]
    saves, changes, reuses = [], [], set()
    for acc in ("H100-SXM", "B200", "MI355X", "MI300X"):
        est = {p: il.estimate({**z8, "hardware": {"accelerator": acc, "nodes": 1, "gpus_per_node": gpn},
                               "training": {**tr, "precision": p}}) for p in ("bf16", "fp8")}
        f = il.stacks.params(est["fp8"].stack)
        mb = tr["global_batch"] // (tr["micro_batch"] * est["fp8"].gpus)
        assert f["fp8_caches_weights"]

        def casts(every, f=f, acc=acc, mb=mb):
            ops = il.compute.layer_ops(spec, tr["seq_len"], tr["micro_batch"], 1, acc, "fp8", passes=("fwd", "bwd"),
                                       grouped_gemm_streams=int(f["grouped_gemm_streams"]),
                                       main_grad_bytes=f["wgrad_main_grad_bytes"], weight_cast_every=every)
            sel = (pl.col("layer_kind") == "moe") & (pl.col("component") == "cast")
            return f["memory_time_scale"] * mb * spec.layer_kinds().count("moe") * float(ops.filter(sel)["time_s"].sum())

        saves.append(casts(1) - casts(mb))
        reuses.add(mb)
        changes.append(abs(est["fp8"].step_time_s / est["bf16"].step_time_s - 1))
    (mb,) = reuses
    said(doc, f"(reusing the weights saves {min(saves):.1f}–{max(saves):.1f} s per step there, all {spec.experts} expert "
              f"weights of each MoE layer cast once instead of {mb} times; with the reuse FP8 ends within 3 % of BF16)")
    assert max(changes) < 0.03


def test_compute_doc_validation_paragraph():
    """docs/compute.md "Validation": the check set's test split as the paragraph reads it."""
    doc = page("docs/compute.md")
    t = V.validation_table()
    summ = {(r["kind"], r["role"]): r for r in V.validation_summary(t).iter_rows(named=True)}
    assert max(summ["attention", "test"]["median_abs_error_pct"], summ["grouped_gemm", "test"]["median_abs_error_pct"]) < 5
    assert summ["gemm", "test"]["median_abs_error_pct"] < 10
    said(doc, "attention and grouped GEMMs within a few per cent in median")
    said(doc, "plain GEMMs within 10 % in median")
    b = V.grouped_mm_factor_fit("B200", "bf16")["rows"].filter(pl.col("role") == "test")["error_pct"].abs()
    said(doc, f"(PyTorch's BF16 grouped forward + backward on B200: {b.min():.0f}–{b.max():.0f} % on its three held-out rows)")
    az = t.filter(pl.col("case").str.contains("-fp8-azure-"))

    def err(acc, shapes):
        return az.filter((pl.col("accelerator") == acc) & pl.col("case").str.extract(r"-azure-\d+-(.*)$").is_in(shapes))["error_pct"]

    held = err("MI300X", ["8192", "6144x12288x12288"]).abs()
    big = err("MI300X", ["16384", "32768"])
    said(doc, f"MI300X holds its MAF level at 8192³ and 6144×12288×12288 (model within {math.ceil(held.max()):.0f} %)")
    said(doc, f"so the model is {big.min():.0f}–{big.max():.0f} % too fast there")
    gb = err("GB200", ["2048", "4096", "8192", "16384", "32768", "6144x12288x12288"])
    said(doc, f"(the model at GB200's MAMF-fitted ceiling {gb.min():.0f}–{gb.max():.0f} % too fast)")
    one = t.filter(pl.col("case") == "mi300x-bf16-torch-dobench-4096")["error_pct"][0]
    said(doc, f"on one MI300X BF16 `torch.mm` point (4096³) the model is {one:.0f} % too fast")


def test_compute_doc_moe_and_h200_weight_stream_figures():
    doc = page("docs/compute.md")
    busiest = il.compute.moe_busiest_rank_experts(1, 256, 8, 8, 8, 4)       # DeepSeek-V3: 256 experts, top 8, 8 groups, top 4
    said(doc, f"one token of DeepSeek-V3 over 8 ranks touches 1 expert on the mean rank and about {busiest:.1f} on the busiest")
    g = il.compute.gemm_model("H200-SXM", "bf16")
    r = V.device_kernels().filter(pl.col("case") == "h200-here-grouped-bf16-8x128x4096x7168").row(0, named=True)
    measured_us = 2.0 * 8 * 128 * 4096 * 7168 / (r["value"] * 1e12) * 1e6
    said(doc, f"(8 × 4096 × 7168 BF16: 113 µs at the model's {g.mem_bw_Bps / 1e12:.2f} TB/s, {measured_us:.0f} µs measured")
    said(doc, f"the second kernel adds {g.fixed_s * 1e6:.1f} µs")


def test_serving_doc_kernel_fixed_costs():
    doc = page("docs/serving.md")
    nv, amd = (il.compute.gemm_model(a, "bf16").fixed_s for a in ("H100-SXM", "MI300X"))
    said(doc, f"the {nv * 1e6:.2f} µs NVIDIA figure is fitted to GPU-side kernel")
    said(doc, f"AMD's {amd * 1e6:.1f} µs is fitted to non-graph hipBLASLt timings")


def test_host_message_overhead_where_the_pages_quote_it():
    intel, amd = (il.fabric.net_overhead_s(h) * 1e6 for h in ("Xeon-Platinum-8570", "EPYC-9374F"))
    said(page("docs/glossary.md"), f"{intel:g} µs on Intel x86, {amd:g} µs on AMD x86")
    said(page("docs/expansion.md"), f"({intel:g} µs on Intel x86, {amd:g} µs on AMD x86: `getNetOverhead()`")
    said(page("docs/validation.md"), f"{intel:g} µs Intel, {amd:g} µs AMD, no published measurement")
    said(page("docs/ARCHITECTURE.md"), f"(Intel {intel:g} µs, AMD {amd:g} µs:")


def test_bad_inputs_and_architecture_doc_physical_bounds():
    c = il.fabric.constant
    said(page("docs/bad-inputs.md"),
         f"world size ≤ `max_world_gpus` (10{''.join('⁰¹²³⁴⁵⁶⁷⁸⁹'[int(d)] for d in str(round(math.log10(c('max_world_gpus')))))}), "
         f"GPUs per node and scale-up domain within the catalog's platform, NICs ≤ {c('max_nics_per_gpu'):g} per GPU, "
         f"1 ≤ oversubscription ≤ {c('max_oversubscription'):g}, switch radix {c('switch_radix_min'):g}–"
         f"{c('switch_radix_max'):g} and even")
    arch = page("docs/ARCHITECTURE.md")
    said(arch, f"nics_per_node = 8 # default gpus_per_node (at most {c('max_nics_per_gpu'):g} per GPU)")
    said(arch, f"oversubscription = 1.0 # 1..{c('max_oversubscription'):g}; default 1.0")


def test_glossary_scale_out_rate_figures():
    doc = page("docs/glossary.md")
    link, bps = il.catalog.nic_host_link("MI300X")
    assert link == il.catalog.nic_host_link("H100-SXM")[0] == "PCIe Gen5 x16"
    said(doc, f"GPU-direct RDMA crosses the GPU's PCIe x16 (Gen5: {bps / 1e9:.0f} GB/s each way), so an 800G NIC "
              f"({800e9 / il.units.BITS_PER_BYTE / 1e9:.0f} GB/s) on MI300X or H100 gets at most the PCIe rate")


def test_validation_doc_measurement_set_counts():
    doc = page("docs/validation.md")
    selene = il.validation.selene.measurements().height
    said(doc, f"| step times of {selene} runs, stack `megatron-lm-2022-cuda` |")
    said(doc, f"| `data/measurements/training_runs.csv` | {il.validation.current_runs().height} runs:")


def test_reliability_doc_sourced_inputs_are_the_data_rows():
    R = il.reliability
    doc = page("docs/reliability.md")
    cal = {r["name"]: r for r in pl.read_csv(ROOT / "data/reliability/calibrations.csv").iter_rows(named=True)}
    l3, fl = cal["llama3"], cal["fleet"]
    said(doc, f"`llama3`: {l3['interruptions']} unexpected interruptions in {l3['window_h']:,.0f} h on "
              f"{l3['nodes'] * l3['gpus_per_node']:,} H100 ({l3['nodes']:,} nodes; Llama 3 Table 5)")
    said(doc, f"`fleet`: one failure per {fl['window_h']:g} h of a {fl['nodes'] * fl['gpus_per_node']:,}-GPU job on Meta's RSC "
              f"clusters ({fl['nodes']} DGX A100 nodes")
    net = pl.read_csv(ROOT / "data/reliability/llama3_interruptions.csv").filter(pl.col("component") == "Network switch/cable")
    said(doc, f'"Network switch/cable" row ({net["count"][0]} events)')
    said(doc, f"`r_link` = {100 * R.parameter('hpn_link_failures_per_month'):.3f} % and `r_switch` = "
              f"{100 * R.parameter('hpn_switch_failures_per_month'):.3f} %")
    said(doc, f"`async_blocking_fixed_s`: {R.parameter('async_blocking_fixed_s'):g} s measured by Meta and Crusoe")
    said(doc, f"{R.parameter('hot_spare_nodes'):g} per {R.parameter('hot_spare_pool_nodes'):g} nodes, scaled with the cluster")
    stacks = dict(pl.read_csv(ROOT / "data/reliability/hbm_stacks.csv").select("accelerator", "hbm_stacks").iter_rows())
    assert stacks["H100-SXM"] == stacks["A100-SXM-80GB"]
    said(doc, f"(MI300X {stacks['MI300X']}, H100/A100 {stacks['H100-SXM']};")


def test_readme_reference_case_is_the_shipped_scenario():
    sc = il.load_scenario("zaya1-ibm-mi300x")
    hw, acc = sc.hardware, catalog.accelerator(sc.hardware.accelerator)
    m = il.models.get("zaya1-base")
    said(page("README.md"), f"{hw.nodes} nodes × {hw.gpus_per_node} AMD Instinct MI300X ({acc.hbm_bytes / 1e9:.0f} GB HBM3)")
    said(page("README.md"), f"ZAYA1, an {m.published_params_total / 1e9:.1f}B-total / {m.published_params_active / 1e6:.0f}M-active "
                            f"MoE, on {hw.nodes * hw.gpus_per_node:,} GPUs")
    assert hw.accelerator == "MI300X" and hw.nic == "Pollara-400" and hw.fabric == "rails-only"


def _power_of_two(n: int) -> str:
    """``2**27`` as the pages write it, 2²⁷."""
    e = n.bit_length() - 1
    assert n == 2**e, n
    return "2" + "".join("⁰¹²³⁴⁵⁶⁷⁸⁹"[int(d)] for d in str(e))


def test_serving_bounds_where_the_pages_quote_them():
    """serving.md said the concurrency bound was 2²⁷ and bad-inputs.md 2²⁰ (the bound before
    serve_search's grid went past 1,024 requests): both now say the code's."""
    bounds = {k: hi for k, hi, _ in il.scenario.SERVING_BOUNDS}
    said(page("docs/serving.md"), f"at most the scenario bound on `serving.concurrency` ({_power_of_two(bounds['concurrency'])})")
    said(page("docs/bad-inputs.md"), f"`serving.concurrency` is at most {_power_of_two(bounds['concurrency'])} requests")
    assert bounds["input_tokens"] == bounds["output_tokens"] == bounds["chunk_tokens"]
    said(page("docs/bad-inputs.md"), f"`serving.input_tokens` / `output_tokens` / `chunk_tokens` at most "
                                     f"{_power_of_two(bounds['input_tokens'])}")
    said(page("docs/bad-inputs.md"), f"`num_prompts` at most {_power_of_two(bounds['num_prompts'])}")


def test_economics_doc_owned_cost_of_a_clusters_own_fabric():
    """economics.md's owned cost of MI300X on three fabrics (hardware=, every other input at its
    default) and the back-end network per GPU of an 800G fabric at 1,024 GPUs: the code's."""
    E = il.economics
    doc = page("docs/economics.md")
    hws = {"64": {"accelerator": "MI300X", "nodes": 64, "fabric": "rails-only"},
           "128": {"accelerator": "MI300X", "nodes": 128, "fabric": "rails-only"},
           "512": {"accelerator": "MI300X", "nodes": 512, "fabric": "fat-tree"}}
    cost = {k: E.owned_cost_per_gpu_hour("MI300X", hardware=hw).total_usd_per_gpu_hour for k, hw in hws.items()}
    n64, n512 = E.fabric_network_counts(hws["64"]), E.fabric_network_counts(hws["512"])
    assert cost["128"] == pytest.approx(E.owned_cost_per_gpu_hour("MI300X").total_usd_per_gpu_hour)  # "the reference"
    said(doc, f"64 nodes rails-only, one level, {n64['switch_ports_per_gpu']:g} port per GPU, {cost['64']:.3f} USD per "
              f"useful GPU-hour; 128 nodes rails-only, the reference, {cost['128']:.3f}; 512 nodes fat-tree, three "
              f"levels, {n512['switch_ports_per_gpu']:g} ports and {n512['optics_per_gpu']:g} transceivers per GPU, "
              f"{cost['512']:.3f})")
    b300 = E.network_capex_per_gpu(hardware={"accelerator": "B300", "nodes": 128, "fabric": "rails-only"})
    vulcano = E.network_capex_per_gpu(hardware={"accelerator": "MI300X", "nodes": 128, "fabric": "rails-only",
                                                "nic": "Vulcano-800"})
    assert catalog.default_nic("B300") == "ConnectX-8" and b300 == vulcano
    said(doc, f"(ConnectX-8 on B300, Vulcano-800: {b300:,.0f} USD per GPU on 1,024 GPUs;")


def test_zaya1_plan_on_h100_memory_where_the_pages_quote_it():
    """ZAYA1's shipped plan on H100 (the zaya1-h100-counterpart scenario) does not fit: the memory
    per GPU and the capacity bad-inputs.md quotes are the estimate's and the catalog's (one row
    called that scenario "the dense 20B"; its model is ZAYA1's MoE)."""
    assert il.load_scenario("zaya1-h100-counterpart").model["preset"] == "zaya1-base"
    est = il.estimate(il.load_scenario("zaya1-h100-counterpart"))
    cap = catalog.accelerator("H100-SXM").memory_capacity_bytes
    assert not est.fits
    doc = page("docs/bad-inputs.md")
    need, have = f"{est.memory_per_gpu_bytes / 1e9:.1f}", f"{cap / 1e9:.1f}"
    said(doc, f"(ZAYA1's shipped plan on H100: {need} GB per GPU against {have} GB)")
    said(doc, f"this plan needs {need} GB per GPU against the {have} GB a job can address on H100-SXM")
    said(doc, f"(ZAYA1's shipped plan, tp 1, on H100: `zaya1-h100-counterpart`) | `fits  False` and nothing else: not "
              f"the capacity it was compared with ({have} GB exposed on an H100-SXM")


def test_multimodal_doc_published_comparison():
    """docs/multimodal.md's reading of published_comparison(): how much faster than the LLaVA
    fine-tuning runs the model is (it said "about 2×" untested; 2.2-2.4× on 2026-12-08) and where
    it sits against LMMs-Engine's MFU range."""
    doc = page("docs/multimodal.md")
    t = {r["case"]: r for r in il.multimodal.validation.published_comparison().iter_rows(named=True)}
    llava = sorted(r["measured"] / r["predicted"] for k, r in t.items() if k.startswith("llava"))
    q = t["lmms-engine-qwen25vl-7b"]
    assert q["predicted"] > q["measured_high"]
    said(doc, f"The model is {llava[0]:.1f}–{llava[-1]:.1f}× faster than the LLaVA runs and above LMMs-Engine's MFU "
              f"range ({q['predicted']:.2f} against {q['measured_low']:.2f}–{q['measured_high']:.2f}):")


def test_multimodal_doc_data_mix_is_the_data_row():
    """docs/multimodal.md's packing inputs are the rows of data/multimodal/data_mix.csv."""
    mix = dict(pl.read_csv(ROOT / "data/multimodal/data_mix.csv").select("parameter", "value").iter_rows())
    doc = page("docs/multimodal.md")
    said(doc, f"lognormal lengths with mean {mix['text_doc_mean_tokens']:,.0f} tokens")
    said(doc, f"and σ = {mix['text_doc_sigma']:.1f} (assumption); longer documents are cut")
    said(doc, f"audio clips: lognormal with mean {mix['audio_clip_mean_s']:g} s")
    said(doc, f"σ = {mix['audio_clip_sigma']:g} (assumption), capped at the encoder window")


def test_readme_notebook_table_figures_are_the_data():
    """The README's table of notebooks types a few figures a reader checks against the notebooks:
    AMD's "750 PFLOPs" claim, the HBM labels compared, and ZAYA1's two token totals."""
    text = page("README.md")
    said(text, f"the \"{catalog.published_claim('amd-zaya1-cluster-maf'):,.0f} PFLOPs\" claim")
    hbm = {a: catalog.accelerator(a).hbm_bytes / 1e9 for a in ("MI300X", "H100-SXM", "H200-SXM")}
    said(text, f"what fits in {hbm['MI300X']:.0f} GB vs {hbm['H100-SXM']:.0f}/{hbm['H200-SXM']:.0f} GB")
    tok = sorted(il.reliability.parameter(k) for k in ("zaya1_tokens_alt", "zaya1_tokens"))
    said(text, f"days to {'/'.join(f'{t / 1e12:.0f}T' for t in tok)} tokens")
    said(text, f"what {hbm['MI300X']:.0f} GB of HBM buys")


def test_economics_doc_like_for_like_draws_is_the_constant():
    said(page("docs/economics.md"), f"(`LIKE_FOR_LIKE_DRAWS` = {il.economics.LIKE_FOR_LIKE_DRAWS:,} with `LIKE_FOR_LIKE_SEED`")
