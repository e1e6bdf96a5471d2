"""Predicted vs measured step times of the published runs (data/measurements)."""

import numpy as np
import polars as pl
import pytest

import infra_lab as il
from infra_lab import validation as V
from infra_lab.errors import ValidationError


@pytest.fixture(scope="module")
def comparison():
    return V.compare()


def test_measurements_have_full_inputs_and_sources():
    m = V.measurements()
    assert m.height == 30
    assert set(m["table"]) == {"Table 5", "Table 1", "Table 2"}
    assert m["source_url"].str.starts_with("https://arxiv.org/abs/").all()
    assert (m["note"].str.len_chars() > 20).all()
    for r in m.iter_rows(named=True):
        sc = V.scenario_for(r)
        assert sc.hardware.world_size == r["tp"] * r["pp"] * r["dp"]


def test_model_shapes_reproduce_published_parameter_counts():
    # Narayanan's "Params" column (billions) from the explicit shapes in the data
    m = V.measurements().filter(pl.col("table") == "Table 1")
    printed = [1.7, 3.6, 7.5, 18.4, 39.1, 76.1, 145.6, 310.1, 529.6, 1008.0]
    for r, p in zip(m.iter_rows(named=True), printed, strict=True):
        n = V.scenario_for(r).model_spec.params_total / 1e9
        assert abs(n - p) <= max(0.05, 0.005 * p)  # printed to 0.1B


def test_step_time_errors_within_bounds(comparison):
    s = V.summary(comparison)
    print("\nstep-time error by split (train = fitted on, test = held out):")
    print(s)
    print(comparison.select("case", "split", "measured_step_time_s", "predicted_step_time_s",
                            pl.col("error_pct").round(1)))
    B = V.selene.STEP_TIME_BOUNDS_PCT
    overall = s.filter(pl.col("split") == "all").row(0, named=True)
    assert overall["mean_abs_error_pct"] <= B["median"]
    assert comparison["abs_error_pct"].max() <= B["worst"]
    test = s.filter(pl.col("split") == "test").row(0, named=True)
    assert test["mean_abs_error_pct"] <= B["median"]


def test_verdict_and_parity_bands_read_the_issue_bounds(comparison, monkeypatch):
    """compare()'s verdict and parity_chart's bands typed 10 / 25 % each (the issue's bounds);
    both now read STEP_TIME_BOUNDS_PCT, so moving the bounds moves both."""
    from infra_lab.charts import training as ct

    B = V.selene.STEP_TIME_BOUNDS_PCT
    e = comparison["abs_error_pct"]
    want = ["good" if x <= B["median"] else "fair" if x <= B["worst"] else "off" for x in e]
    assert comparison["verdict"].to_list() == want

    def bands():
        d = ct.parity_chart(comparison).to_dict()
        rows = next(v for v in d["datasets"].values() if "lo_inner" in v[0])
        return {k: max(r[k] / r["x"] for r in rows) for k in ("lo_inner", "hi_inner", "lo_outer", "hi_outer")}

    assert bands() == pytest.approx({"lo_inner": 1 - B["median"] / 100, "hi_inner": 1 + B["median"] / 100,
                                     "lo_outer": 1 - B["worst"] / 100, "hi_outer": 1 + B["worst"] / 100})
    monkeypatch.setitem(V.selene.STEP_TIME_BOUNDS_PCT, "median", 5.0)
    assert bands()["hi_inner"] == pytest.approx(1.05)
    cut = sorted(e)[len(e) // 2]    # a bound that splits the runs: the verdicts follow it
    monkeypatch.setitem(V.selene.STEP_TIME_BOUNDS_PCT, "median", float(cut))
    assert (V.compare()["verdict"] == "good").sum() == (e <= cut).sum()


def test_selective_plus_sp_speedup_reproduced(comparison):
    k = comparison.filter(pl.col("table") == "Table 5")
    for size in ("22B", "175B", "530B", "1T"):
        full = k.filter(pl.col("case") == f"K22-{size}-full")["predicted_step_time_s"][0]
        sel = k.filter(pl.col("case") == f"K22-{size}-sel+sp")["predicted_step_time_s"][0]
        assert 1.15 < full / sel < 1.5   # paper: 1.29-1.32x


def test_zero3_collapses_at_scale_as_measured(comparison):
    z = comparison.filter(pl.col("case").str.contains("ZeRO-3-174.6B"))
    tflops = z["predicted_tflops_eq3"].to_list()
    assert tflops[0] > tflops[1] > tflops[2]          # 384 > 768 > 1536 GPUs
    assert tflops[2] < 0.5 * tflops[0]


def test_calibration_rederives_the_fitted_factors(monkeypatch):
    """calibrate() reads only the training split and, run from scratch (no grid handed to
    it), reproduces the fitted rows of data/stacks.csv to their stored precision."""
    seen = []
    real = V.scenario_for

    def spy(row):
        seen.append(row["split"])
        return real(row)

    # calibrate() reads scenario_for in its own module, infra_lab/validation/selene.py
    monkeypatch.setattr(V.selene, "scenario_for", spy)
    out = V.calibrate()
    assert set(seen) == {"train"}
    stored = il.stacks.table().filter((pl.col("stack") == V.VALIDATION_STACK) & (pl.col("basis") == "fitted"))
    assert set(stored["parameter"]) == {"framework_time_scale", "memory_time_scale", "zero3_bandwidth_efficiency",
                                        "zero3_comm_overlap"}
    for name, value in stored.select("parameter", "value").iter_rows():
        assert out[name] == pytest.approx(value, abs=5e-4), name


# ---------------------------------------------------------------------------------------
# Current runs (data/measurements/training_runs.csv)
# ---------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def current():
    return V.compare_current()


def test_current_runs_split_is_deterministic_and_documented():
    runs = V.current_runs()
    assert runs.height >= 90 and runs["source_url"].str.starts_with("http").all()
    import zlib

    for r in runs.iter_rows(named=True):
        assert r["split"] == ("test" if zlib.crc32(r["id"].encode()) % 3 == 0 else "train")
    assert 0.2 < (runs["split"] == "test").mean() < 0.45


def test_current_runs_compared_and_reported(current):
    """Every run is either compared or has a stated reason; dense and MoE, NVIDIA and AMD
    are all in the comparison. The errors are printed per case."""
    c = current.filter(pl.col("status") == "compared")
    s = V.summary_current(current)
    print("\ncurrent runs, step-time error (train = calibration split, test = held out):")
    print(s)
    print(c.select("id", "split", "dense_or_moe", "accelerator", pl.col("error_pct").round(1), "fits"))
    assert c.height >= 50
    assert set(c["dense_or_moe"]) == {"dense", "moe"}
    assert {"H100-SXM", "MI300X", "MI355X"} <= set(c["accelerator"])
    assert (current.filter(pl.col("status") != "compared")["status"].str.len_chars() > 10).all()
    # a long reason keeps its whole first sentence (it was cut mid-sentence: "... DeepSeek-V3 ")
    dsv3 = current.filter(pl.col("id") == "DSV3-H800-2048-pretrain")["status"][0]
    assert dsv3.startswith("DualPipe with MTP is not modelled") and dsv3.endswith("§3.2.3).")
    # where the model stands today (a regression guard at the measured level, see the xfail below)
    test = s.filter((pl.col("split") == "test") & (pl.col("kind") == "all")).row(0, named=True)
    assert test["median_abs_error_pct"] <= 10.0
    assert c.height >= 85     # every run with a published global batch and complete model fields


def test_docs_validation_tables_are_the_models(current):
    """docs/validation.md carries the generated tables (tools/validation_report.py) of the
    current model: the page and report_markdown() agree exactly."""
    from pathlib import Path

    text = (Path(__file__).resolve().parent.parent / "docs" / "validation.md").read_text(encoding="utf-8")
    a, b = text.index(V.REPORT_BEGIN), text.index(V.REPORT_END) + len(V.REPORT_END)
    assert text[a:b] == V.report_markdown(current, V.memory_check()), \
        "docs/validation.md is stale: run python tools/validation_report.py"


def test_docs_validation_counts_the_runs_it_holds():
    """The page's table of measurement sets states how many current runs the data file holds (a
    typed figure, so checked here against the file the code reads)."""
    from pathlib import Path

    text = (Path(__file__).resolve().parent.parent / "docs" / "validation.md").read_text(encoding="utf-8")
    row = next(line for line in text.splitlines() if line.startswith("| current runs"))
    assert f"| {V.current_runs().height} runs:" in row, row


def test_docs_validation_summary_at_the_top_is_the_models(current):
    """The page opens with the generated summary (glance_markdown): it equals the current model's,
    it sits before the first section, and its test-split figures and list of runs beyond the
    worst-case bound are the comparison's own (recounted here from compare_current)."""
    from pathlib import Path

    text = (Path(__file__).resolve().parent.parent / "docs" / "validation.md").read_text(encoding="utf-8")
    a, b = text.index(V.GLANCE_BEGIN), text.index(V.GLANCE_END) + len(V.GLANCE_END)
    block = V.glance_markdown(current)
    assert text[a:b] == block, "docs/validation.md is stale: run python tools/validation_report.py"
    assert b < text.index("\n## ")
    c = current.filter((pl.col("status") == "compared") & (pl.col("split") == "test"))
    assert f"median |step-time error| {c['abs_error_pct'].median():.1f} %" in block
    assert f"worst {c['abs_error_pct'].max():.1f} %" in block
    far = c.filter(pl.col("abs_error_pct") > 25.0)
    assert f"Test runs beyond 25 % ({far.height};" in block
    assert all(f"{i} (" in block for i in far["id"])
    # a lower threshold lists more runs, each with its signed error
    near = c.filter(pl.col("abs_error_pct") > 10.0)
    wide = V.glance_markdown(current, beyond_pct=10.0)
    assert f"beyond 10 % ({near.height};" in wide
    assert all(f"{i} ({a}) {e:+.1f} %" in wide for i, a, e in near.select("id", "accelerator", "error_pct").iter_rows())


def test_docs_validation_where_it_stands_lists_and_names_the_largest_errors(current):
    """"Where it stands" carries the generated list of the runs beyond LARGEST_ABOVE_PCT
    (largest_markdown, equal to the current model's), exactly those runs, and its prose names
    every one of them, by id or by a backticked id pattern ending in '*' (a run that crosses the
    threshold needs its explanation written before this passes)."""
    import fnmatch
    import re
    from pathlib import Path

    text = (Path(__file__).resolve().parent.parent / "docs" / "validation.md").read_text(encoding="utf-8")
    w0, w1 = text.index("\n## Where it stands"), text.index("\n## Memory")
    a, b = text.index(V.LARGEST_BEGIN), text.index(V.LARGEST_END) + len(V.LARGEST_END)
    assert w0 < a < b < w1
    block = V.largest_markdown(current)
    assert text[a:b] == block, "docs/validation.md is stale: run python tools/validation_report.py"
    c = current.filter((pl.col("status") == "compared") & (pl.col("abs_error_pct") > V.LARGEST_ABOVE_PCT))
    listed = set(re.findall(r"^\| ([A-Za-z0-9.-]+) \| (?:train|test) \|", block, re.M))
    assert listed == set(c["id"]) and c.height > 0
    prose = text[w0:a] + text[b:w1]
    names = set(re.findall(r"`([A-Za-z0-9.*-]+)`", prose))
    unnamed = [i for i in listed if not any(n == i or (n.endswith("*") and fnmatch.fnmatchcase(i, n))
                                            for n in names)]
    assert not unnamed, f"'Where it stands' does not explain {unnamed}"
    # the threshold is the owner's: a higher one lists fewer runs
    assert V.largest_markdown(current, above_pct=40.0).count("\n| ") < block.count("\n| ")


def test_band_monotone_method_equals_every_corner(current):
    """estimate_band's two-corner shortcut (method="monotone") finds the same fastest and
    slowest case as evaluating every corner of the box of every stated factor range, on every
    compared test-split run (the step time is monotone in each factor)."""
    from infra_lab import training as T

    runs = {r["id"]: r for r in V.current_runs().iter_rows(named=True)}
    ids = current.filter((pl.col("status") == "compared") & (pl.col("split") == "test"))["id"]
    assert len(ids) >= 30
    for rid in ids:
        sc, _ = V.scenario_for_run(runs[rid])
        every = T.estimate_band(sc)
        two = T.estimate_band(sc, method="monotone")
        assert every["case"].to_list() == two["case"].to_list() == ["nominal", "low", "high"]
        np.testing.assert_allclose(two["step_time_s"].to_numpy(), every["step_time_s"].to_numpy(), rtol=1e-12,
                                   err_msg=rid)
        lo, nom, hi = every["step_time_s"].to_list()[1], every["step_time_s"].to_list()[0], every["step_time_s"].to_list()[2]
        assert lo <= nom <= hi, rid


def test_band_coverage_counts_runs_inside_the_stated_band(current):
    """band_coverage places each compared run's measured throughput against the band: inside
    exactly when the nearest-edge error is zero, and the nominal estimate lies in the band.
    Regression guard at the measured level: 29 of the 36 test runs inside (28 of 35 before the Primus
    projection blog's MI325X Llama 3.1 70B FP8 run, inside, was added; 27 of 34 before the
    micro-batch-2 point of Primus' scan was compared and the host-bound path got a stated slowdown range)."""
    cov = V.band_coverage(current)
    c = current.filter(pl.col("status") == "compared")
    assert cov.height == c.height and set(cov["id"]) == set(c["id"])
    assert (cov["band_low_tokens_per_s_per_gpu"] <= cov["predicted_tokens_per_s_per_gpu"] * (1 + 1e-12)).all()
    assert (cov["predicted_tokens_per_s_per_gpu"] <= cov["band_high_tokens_per_s_per_gpu"] * (1 + 1e-12)).all()
    assert ((cov["edge_error_pct"] == 0.0) == cov["inside"]).all()
    out = cov.filter(~pl.col("inside"))
    # outside the band the nearest edge is closer to the measurement than the nominal estimate
    assert (out["edge_error_pct"].abs() < out["error_pct"].abs()).all()
    assert ((out["edge_error_pct"] > 0) == (out["error_pct"] > 0)).all()
    test = cov.filter(pl.col("split") == "test")
    print("\nband coverage, test split:", int(test["inside"].sum()), "of", test.height)
    assert test.height >= 30 and int(test["inside"].sum()) >= 28
    one = V.band_coverage(current, split="test")
    assert one.equals(test)
    with pytest.raises(ValidationError, match="split = .tset."):
        V.band_coverage(current, split="tset")


def test_band_method_is_checked():
    from infra_lab import training as T
    from infra_lab.errors import UnknownNameError

    with pytest.raises(UnknownNameError, match="monotone"):
        T.estimate_band(il.load_scenario("zaya1-ibm-mi300x"), method="monotonic")


@pytest.mark.xfail(strict=True, reason="issue 12 item 6 target not met: test split median |error| 9.6 % "
                   "(meets <= 10 %), worst 44.5 % (> 25 %): PR25-DSV2L-MI355X-8-mbs1-baseline -44.5 % (the host "
                   "floor of the source's micro-batch scan, which no train run samples), AO-8B-B200-mxfp8 -30.1 % (750 W B200), "
                   "and the Primus pipeline blog's MI300X rows with global batch 32 assumed: "
                   "PRP26-L2-7B16L-MI300X-8-1f1b -30.2 %, -zbb -28.1 %, -zbv -32.6 %, -vmin -32.6 % (V-Min and ZB priced "
                   "with the schedules Primus runs, each rank and V chunk at its own times, their send/receive from the calls "
                   "of Primus' runtime); dense 9.6 % / 32.6 %, MoE 9.7 % / 44.5 % (38.2 % dense worst before the zero-bubble / "
                   "V send/receive change). The history of these figures, fit by fit, and each "
                   "run's error are in docs/validation.md. Strict: passes -> remove this mark.")
def test_current_runs_meet_the_issue_bounds(current):
    s = V.summary_current(current)
    test = s.filter((pl.col("split") == "test") & (pl.col("kind") == "all")).row(0, named=True)
    assert test["median_abs_error_pct"] <= V.selene.STEP_TIME_BOUNDS_PCT["median"]
    assert test["max_abs_error_pct"] <= V.selene.STEP_TIME_BOUNDS_PCT["worst"]


def _spy_on_splits(monkeypatch):
    """Wrap validation.scenario_for_run so a test can see which splits a fit reads:
    returns (the list of splits seen, the real function)."""
    seen = []
    real = V.scenario_for_run

    def spy(row, *a, **k):
        seen.append(row["split"])
        return real(row, *a, **k)

    # the fits read scenario_for_run in their own modules (calibration.py, host_sync.py)
    for mod in (V, V.runs, V.comparison, V.calibration, V.host_sync, V.pairs, V.peak_memory):
        monkeypatch.setattr(mod, "scenario_for_run", spy)
    return seen, real


def test_current_calibration_rederives_the_fitted_factors(monkeypatch, current):
    """calibrate_current() reads only train rows and reproduces the fitted rows of each
    framework family's stacks (one value for both vendors), within the physical bounds; runs
    flagged training.moe_host_sync (priced with the fitted moe_host_sync_slowdown) and the Megatron-Core
    runs with the 1F1B all-to-all overlap (priced with ep_overlap_fit's ep_comm_overlap) are left out."""
    seen, real = _spy_on_splits(monkeypatch)
    out = V.calibrate_current()
    assert set(seen) == {"train"}
    assert set(out) == set(V.FAMILIES)
    runs = {r["id"]: r for r in V.current_runs().iter_rows(named=True)}
    for fam in V.FAMILIES:
        ids = current.filter((pl.col("split") == "train") & (pl.col("family") == fam)
                             & (pl.col("status") == "compared"))["id"].to_list()
        flagged = [i for i in ids if real(runs[i])[0].training.moe_host_sync
                   or (fam == V.EP_OVERLAP_FAMILY and real(runs[i])[0].parallelism.ep_overlap
                       and not real(runs[i])[0].parallelism.dualpipe)]
        assert out[fam]["train_cases"] == len(ids) - len(flagged), fam
    assert "MC25-DSV3-GB200-256-baseline" in runs and real(runs["MC25-DSV3-GB200-256-baseline"])[0].training.moe_host_sync
    for fam in V.FAMILIES:
        for platform in ("cuda", "rocm"):
            p = il.stacks.params(f"{fam}-{platform}")
            for (lo, hi), name in zip(V.FIT_BOUNDS, V.CURRENT_FITTED, strict=True):
                assert out[fam][name] == pytest.approx(p[name], abs=2e-3), (fam, platform, name)
                assert lo <= p[name] <= hi


def test_runs_map_to_their_framework_family_and_published_settings():
    runs = {r["id"]: r for r in V.current_runs().iter_rows(named=True)}
    sc, notes = V.scenario_for_run(runs["AO-8B-H100-bf16"])
    assert sc.stack == "torchtitan-cuda"
    sc, _ = V.scenario_for_run(runs["AO-8B-MI300X-bf16"])
    assert sc.stack == "torchtitan-rocm"
    sc, notes = V.scenario_for_run(runs["TT24-8B-8-fsdp"])              # the 96 GB / 500 W H100
    assert sc.hardware.accelerator == "H100-96GB-500W" and "accelerator=H100-96GB-500W" in notes
    # torchao's March 2025 H100 table: its log (pytorch/ao PR 1802) shows a 95.0 GiB H100, the 96 GB part
    for rid in ("AO-8B-H100-bf16", "AO-8B-H100-fp8tw", "AO-8B-H100-fp8rw"):
        assert V.scenario_for_run(runs[rid])[0].hardware.accelerator == "H100-96GB-500W", rid
    sc, notes = V.scenario_for_run(runs["MZ-Q235-GB200-256-bf16"])      # 64 of 72 GPUs per NVL72
    assert sc.hardware.domain_gpus == 64 and sc.stack == "megatron-core-cuda"
    sc, _ = V.scenario_for_run(runs["MZ-Q235-H100-256-script"])
    assert sc.parallelism.moe_dispatcher == "deepep" and sc.parallelism.ep_overlap
    assert sc.training.moe_routing == "balanced"
    sc, _ = V.scenario_for_run(runs["PF-Mix22-128-fold"])
    assert sc.training.moe_capacity_factor == 1.0 and sc.parallelism.moe_dispatcher == "alltoall"
    # DeepSeek's DualPipe run is not compared (DualPipe puts the head and MTP module on the
    # embedding's rank, a layout not modelled); its settings are read the same without MTP
    with pytest.raises(ValidationError, match="DualPipe with MTP is not modelled"):
        V.scenario_for_run(runs["DSV3-H800-2048-pretrain"])
    sc, notes = V.scenario_for_run(dict(runs["DSV3-H800-2048-pretrain"], model_fields="mtp_layers=0"))
    assert sc.model_spec.mtp_layers == 0 and sc.parallelism.dualpipe   # node-limited dispatch = deepep
    assert sc.parallelism.moe_dispatcher == "deepep" and sc.parallelism.ep_overlap
    assert not any(n.startswith("moe_dispatcher") for n in notes)
    # the report's memory savings (sections 3.3.2-3.3.3): recomputed norms, MLA up-projections and
    # SwiGLU outputs; BF16 AdamW moments
    assert set(sc.training.recompute_modules) == {"layernorm", "mla_up_proj", "moe_act"}
    assert sc.training.optimizer == "adamw-bf16"
    sc, _ = V.scenario_for_run(runs["PR25-DSV2L-MI355X-8-mbs14-optimized"])   # "loss fusion (TE CE)"
    assert sc.training.loss_fusion and sc.training.loss_chunks == 1
    sc, _ = V.scenario_for_run(runs["GH26-Q30-B200-8-torchtitan"])           # "loss chunks=8"
    assert sc.training.loss_chunks == 8 and not sc.training.loss_fusion
    assert V.scenario_for_run(runs["AO-8B-H100-bf16"])[0].training.optimizer == "adamw"
    # Megatron-Core without MoE Parallel Folding: expert TP = TP (Megatron's default), so the
    # EP8 x ETP2 expert group of PF-G8T8-128-mcore spans two 8-GPU nodes
    sc, notes = V.scenario_for_run(runs["PF-G8T8-128-mcore"])
    assert sc.parallelism.etp == sc.parallelism.tp == 2 and "etp=2" in notes
    sc, notes = V.scenario_for_run(runs["PF-G8T8-128-fold"])           # folding publishes ETP1
    assert sc.parallelism.etp == 1 and not any(n.startswith("etp") for n in notes)
    # host-bound MoE paths only where the run publishes them (Primus "no MoE features",
    # Megatron-Core's GB200 baseline "no CUDA graphs")
    cur = V.compare_current()
    cmp = cur.filter(pl.col("status") == "compared")["id"].to_list()
    host = {rid for rid in cmp if V.scenario_for_run(runs[rid])[0].training.moe_host_sync}
    scan = {f"PR25-DSV2L-MI355X-8-mbs{m}-baseline" for m in (1, 2, 4, 8, 12)}
    assert host == {"PR25-DSV2-MI355X-32-base-1f1b", "MC25-DSV3-GB200-256-baseline", "AS25-Mix7-MI325X-64-bf16"} | scan
    # the fit's train runs are exactly the flagged train runs; all five points of the Primus
    # micro-batch scan are compared under the same assumed global batch, printed in their assumptions
    assert set(V.MOE_HOST_SYNC_RUNS) == {rid for rid in host if V._split_of(rid) == "train"}
    for rid in scan:
        notes = cur.filter(pl.col("id") == rid)["assumptions"].item()
        assert f"global_batch={V.PRIMUS_DSV2L_SCRIPT_GLOBAL_BATCH}" in notes, rid
        assert V.ASSUMED_GLOBAL_BATCH[rid] == 768 and 768 % (8 * int(rid.split("mbs")[1].split("-")[0])) == 0


def test_model_zoo_h100_rows_read_their_launch_commands():
    """The Model Zoo's Qwen3-235B H100 table (2025-05-27) was run with the commands of
    examples/qwen3/run_235b.sh (commit 31c5686, same day): forced load balancing on all five
    rows, and TP 1 for the custom-FSDP row, whose printed TP 2 / DP 128 / GA 4 would need more
    raw data-parallel NIC time than the whole published 17.6 s step."""
    runs = {r["id"]: r for r in V.current_runs().iter_rows(named=True)}
    for x in "abcde":
        assert V.scenario_for_run(runs[f"MZ-Q235-H100-256-{x}"])[0].training.moe_routing == "balanced", x
    c = runs["MZ-Q235-H100-256-c"]
    sc, _ = V.scenario_for_run(c)
    p = sc.parallelism
    assert (p.tp, p.ep, p.fsdp, sc.training.micro_batch, sc.training.recompute) == (1, 8, True, 4, "full")
    assert sc.training.global_batch // (256 // p.tp * sc.training.micro_batch) == 2      # GA 2
    step = float(c["secondary_metrics"].split("step_time_s=")[1].split()[0])
    assert step == 17.6
    table = dict(c, tp="2", dp="128", sequence_parallel="true")                         # as printed
    assert il.estimate(V.scenario_for_run(table)[0]).dp_comm_raw_s > step > il.estimate(sc).dp_comm_raw_s


def test_megatron_readme_gpt_rows_carry_their_gelu_ffn():
    """The Megatron-LM README's GPT weak-scaling rows run Megatron's default 4h GeLU FFN (no
    --swiglu): the only FFN for which every printed model size (1.7B ... 462B) comes out, within
    its rounding (under 3 %); a gated FFN would overshoot by about a third. Their measured tokens/s come from the
    published TFLOP/s through Megatron's FLOP count of that model (72·L·h²·(1 + s/6h + V/12Lh)
    per token, full attention)."""
    runs = {r["id"]: r for r in V.current_runs().iter_rows(named=True)}
    mg = [r for rid, r in runs.items() if rid.startswith("MG24-GPT-")]
    assert len(mg) == 9
    for r in mg:
        spec = V.scenario_for_run(r)[0].model_spec
        assert spec.ffn_act == "gelu" and not spec.gated, r["id"]
        published = float(r["model"].split("-gpt-")[1].split("b")[0]) * 1e9
        assert spec.params_total == pytest.approx(published, rel=0.03), r["id"]
        assert spec.replace(ffn_act="swiglu").params_total > 1.2 * published, r["id"]
    r = runs["MG24-GPT-32B-384"]
    sc, _ = V.scenario_for_run(r)
    L, h, s, v = 48, 7168, 4096, 131072
    per_token = 72 * L * h * h * (1 + s / (6 * h) + v / (12 * L * h))
    assert V._measured_tokens_per_gpu(r, il.estimate(sc)) == pytest.approx(459.6e12 / per_token, rel=1e-3)


def test_moe_host_sync_is_fitted_on_its_train_runs(monkeypatch):
    """The stacks' moe_host_sync_slowdown is moe_host_sync_derivation(): fitted on train-split
    runs only (worst |step-time error| minimised), one value for CUDA and ROCm; its stated range
    is spanned by the values those train runs imply alone (a test-split run's implied value is
    reported on request, never a bound). The fixed wait of the rejected structure is 0."""
    seen, _ = _spy_on_splits(monkeypatch)
    d = V.moe_host_sync_derivation()
    assert set(seen) == {"train"}
    assert set(d["errors_pct"]) == set(d["implied"]) == set(V.MOE_HOST_SYNC_RUNS)
    assert d["worst_abs_error_pct"] == pytest.approx(max(abs(e) for e in d["errors_pct"].values()))
    # minimax: the largest over- and under-prediction balance
    assert max(d["errors_pct"].values()) == pytest.approx(-min(d["errors_pct"].values()), abs=0.01)
    assert d["low"] <= d["moe_host_sync_slowdown"] <= d["high"]
    for st in ("megatron-core-cuda", "megatron-core-rocm"):
        p, r = il.stacks.params(st), il.stacks.ranges(st)
        assert p["moe_host_sync_slowdown"] == pytest.approx(d["moe_host_sync_slowdown"], rel=0.005)
        lo, hi = r["moe_host_sync_slowdown"]
        assert lo == pytest.approx(d["low"], rel=0.005) and hi == pytest.approx(d["high"], rel=0.005)
        assert p["moe_host_sync_s"] == 0.0
    # regression guard at the measured level: worst train error 21.2 % since Megatron's unfused weight-gradient
    # accumulation (training.gradient_accumulation_fusion = false, published by four of the five runs) is
    # priced and the family refitted (19.8 % before, since the Mixtral 8x7B MI325X run AS25-Mix7-MI325X-64-bf16
    # joined; 15.3 % on the four earlier runs; three sources whose runs imply 0.38 to 1.22 alone); 14.7 % since
    # DeepEP is priced once per destination rank and the Megatron-Core refit went to 1.0 / 2.51 (0.28 to 0.83); 14.8 % (0.29 to 0.85) since
    # group-limited routing and Megatron-FSDP's gradient copy moved it to 1.0 / 2.45; 15.0 % (0.32 to 0.89) since
    # three Pai-Megatron-Patch Qwen3-235B H800 train runs moved the refit to 1.0 / 2.35; 15.3 % (0.32 to 0.90)
    # since the Primus-pipeline blog's v-half train run moved it to 1.004 / 2.3; 16.9 % (0.29 to 0.94) since
    # Transformer Engine's FP8 weight casts are charged once per step (the MXFP8 GB200 DeepSeek-V3 baseline
    # faster, -15.2 -> -16.9 %) and the family refitted to 1.006 / 2.45; 15.6 % (0.26 to 0.85) since every
    # pipeline boundary is priced by its own placement (that baseline's cross-rack hops) and the family
    # refitted to 0.998 / 2.62
    assert d["worst_abs_error_pct"] < 16.0
    # the stacks without a measurement of their own state they carry megatron-core's value
    # and range: they must not drift from it when it is refitted
    for name in ("moe_host_sync_slowdown", "moe_host_sync_s"):
        tab = il.stacks.table().filter(pl.col("parameter") == name)
        copies = tab.filter(pl.col("note").str.starts_with("Value"))
        assert copies.height >= 3
        ref = il.stacks.params("megatron-core-cuda")[name], il.stacks.ranges("megatron-core-cuda").get(name)
        for st in list(copies["stack"]) + ["megatron-core-rocm", "megatron-core-cuda-asym", "megatron-core-rocm-asym"]:
            assert (il.stacks.params(st)[name], il.stacks.ranges(st).get(name)) == ref, (st, name)
    # the test-split points of the scan: reported on request, never read by the fit
    for rid in ("PR25-DSV2L-MI355X-8-mbs1-baseline", "PR25-DSV2L-MI355X-8-mbs2-baseline"):
        assert V._split_of(rid) == "test" and rid not in V.MOE_HOST_SYNC_RUNS
    with pytest.raises(ValidationError, match="run_id = 'PR25-DSV2-MI355X-32-optimized-vpp5'.*moe_host_sync"):
        V.moe_host_sync_derivation("PR25-DSV2-MI355X-32-optimized-vpp5")
    with pytest.raises(ValidationError, match="run_id = 'nope'"):
        V.moe_host_sync_derivation("nope")


def test_moe_host_sync_structure_is_chosen_on_train_runs():
    """moe_host_sync_structures() evaluates each candidate structure on the train runs only and
    reports the one the choice rule keeps: the incumbent (the MoE-layer slowdown the stacks
    implement) unless a challenger's leave-one-out worst |step-time error| is lower by at least
    MOE_HOST_SYNC_SWITCH_MARGIN_PP points. Regression guards at the measured levels."""
    tab = V.moe_host_sync_structures()
    assert tab["structure"].to_list() == list(V.MOE_HOST_SYNC_STRUCTURES)
    for row in tab.iter_rows(named=True):
        ids = [x.split("=")[0] for x in row["loo_errors_pct"].split("; ")]
        assert ids == list(V.MOE_HOST_SYNC_RUNS) and all(V._split_of(r) == "train" for r in ids)
        assert row["loo_worst_abs_error_pct"] >= row["train_worst_abs_error_pct"] - 1e-9
    assert V.MOE_HOST_SYNC_SWITCH_MARGIN_PP == 1.0
    chosen = tab.filter(pl.col("chosen"))
    assert chosen.height == 1
    best = chosen.row(0, named=True)
    assert best["structure"] == V.MOE_HOST_SYNC_STRUCTURE == "MoE-layer slowdown"
    assert "kept (incumbent)" in best["decision"] and (tab.filter(~pl.col("chosen"))["decision"] == "").all()
    assert float(best["values"]) == pytest.approx(V.moe_host_sync_derivation()["moe_host_sync_slowdown"], rel=1e-3)
    loo = dict(tab.select("structure", "loo_worst_abs_error_pct").iter_rows())
    margin = dict(tab.select("structure", "margin_pp").iter_rows())
    for k in loo:
        assert margin[k] == pytest.approx(loo["MoE-layer slowdown"] - loo[k], abs=1e-12)
    # with the five runs at the Megatron-Core refit 1.0 / 2.51 (DeepEP priced once per destination
    # rank) the incumbent has the lowest leave-one-out worst error (25.53 % against 25.95 % for the
    # step-compute slowdown and 26.86 % for the fixed wait; before, the step-compute slowdown led
    # short of the 1-point margin: 30.62 % against 30.86 % at 1.062 / 1.45, 28.61 % against 28.77 %
    # at 1.052 / 1.5): the incumbent is kept; at 1.0 / 2.35, since three Pai-Megatron-Patch Qwen3-235B H800
    # train runs joined, 26.12 % against 26.68 % for the step-compute slowdown and 27.72 % for the fixed wait;
    # at 0.998 / 2.61, since the pipeline bubble prices each rank at its own times, 25.17 % against 25.61 % for
    # the step-compute slowdown and 26.50 % for the fixed wait; at 0.998 / 2.62, since il.estimate executes
    # Megatron's interleaved order per chunk, the step-compute slowdown leads short of the 1-point margin:
    # 25.73 % against 25.85 % for the incumbent (kept) and 27.21 % for the fixed wait; at 1.006 / 2.45, since
    # Transformer Engine's FP8 weight casts are charged once per step (the MXFP8 DeepSeek-V3 baseline faster),
    # the step-compute slowdown leads by 0.45 points, still short of the margin: 28.55 % against 29.00 % for
    # the incumbent (kept) and 29.39 % for the fixed wait, which now trails the incumbent by 0.39 points only;
    # at 0.998 / 2.62, since every pipeline boundary is priced by its own placement (the GB200 DeepSeek-V3
    # baseline slower), the step-compute slowdown leads by 0.39 points: 25.91 % against 26.30 % for the
    # incumbent (kept) and 27.15 % for the fixed wait
    assert loo["MoE-layer slowdown"] - min(loo.values()) < 0.5
    assert loo["MoE-layer slowdown"] < loo["fixed wait"] - 0.3
    assert max(margin.values()) < 0.5          # the step-compute slowdown's 0.39-point lead (0.45 before)
    assert loo["MoE-layer slowdown"] < 26.4 and loo["fixed wait"] > 27.0      # 26.30 / 27.15 (29.00 / 29.39 before)
    # the two-parameter form fits the runs best in sample but not out of sample
    ins = dict(tab.select("structure", "train_worst_abs_error_pct").iter_rows())
    assert ins["fixed wait + MoE-layer slowdown"] == min(ins.values())


def test_host_sync_structure_rule_keeps_the_incumbent_within_the_margin():
    """choose_host_sync_structure: a challenger that beats the incumbent by less than the margin
    leaves the incumbent; by more (or exactly the margin) it replaces it; bad input is named."""
    inc = V.MOE_HOST_SYNC_STRUCTURE
    m = V.MOE_HOST_SYNC_SWITCH_MARGIN_PP
    keep, why = V.choose_host_sync_structure({inc: 28.77, "step-compute slowdown": 28.77 - 0.6 * m,
                                              "fixed wait": 35.0})
    assert keep == inc and "kept (incumbent)" in why and "step-compute slowdown" in why
    switch, why = V.choose_host_sync_structure({inc: 28.77, "step-compute slowdown": 28.77 - 1.5 * m,
                                                "fixed wait": 35.0})
    assert switch == "step-compute slowdown" and "replaces the incumbent" in why
    assert V.choose_host_sync_structure({inc: 20.0, "fixed wait": 20.0 - m})[0] == "fixed wait"   # at the margin
    assert V.choose_host_sync_structure({inc: 20.0, "fixed wait": 25.0})[0] == inc                  # challenger worse
    # the best challenger is the one compared: a second, worse one does not decide
    assert V.choose_host_sync_structure({inc: 30.0, "fixed wait": 28.5, "step-compute slowdown": 29.5})[0] == "fixed wait"
    assert V.choose_host_sync_structure({inc: 30.0, "fixed wait": 28.5}, margin_pp=2.0)[0] == inc
    with pytest.raises(ValidationError, match="incumbent"):
        V.choose_host_sync_structure({"fixed wait": 20.0})
    # exactly the margin in decimal, not in binary: 1.13 - 0.13 = 0.99999999999999989
    assert V.choose_host_sync_structure({inc: 1.13, "fixed wait": 0.13})[0] == "fixed wait"
    assert V.choose_host_sync_structure({inc: 1.13, "fixed wait": 0.14})[0] == inc
    with pytest.raises(ValidationError, match="incumbent = \\['x'\\]"):
        V.choose_host_sync_structure({inc: 20.0}, incumbent=["x"])
    with pytest.raises(ValidationError, match="margin_pp = -1"):
        V.choose_host_sync_structure({inc: 20.0}, margin_pp=-1)
    with pytest.raises(ValidationError, match="loo_worst_pct\\['fixed wait'\\] = 'x'"):
        V.choose_host_sync_structure({inc: 20.0, "fixed wait": "x"})


def test_moe_host_sync_derivation_solves_the_kernel_step():
    """For one run (the GB200 baseline: PP 8 x VP 4, a layout whose pacing stage can change with
    the slowdown) the implied slowdown is the one at which estimate's step equals the measured
    step; with it off the step is the GPU-bound model's."""
    runs = {r["id"]: r for r in V.current_runs().iter_rows(named=True)}
    rid = "MC25-DSV3-GB200-256-baseline"
    d = V.moe_host_sync_derivation(rid)
    sc, _ = V.scenario_for_run(runs[rid])
    m = sc.training.global_batch / (sc.parallelism.dp * sc.training.micro_batch)
    est = il.estimate(sc, params={"moe_host_sync_slowdown": d["moe_host_sync_slowdown"]})
    assert est.step_time_s / m == pytest.approx(d["measured_s"], rel=1e-6)
    off = il.estimate(sc, params={"moe_host_sync_slowdown": 0.0, "moe_host_sync_s": 0.0})
    assert off.step_time_s / m == pytest.approx(d["model_s"], rel=1e-9)
    assert d["measured_s"] > d["model_s"] and 0.5 < d["moe_host_sync_slowdown"] < 2.0
    assert d["moe_host_sync_slowdown"] == pytest.approx(V.moe_host_sync_derivation()["implied"][rid], rel=1e-9)


def test_ep_comm_overlap_is_fitted_on_train_runs_only(monkeypatch):
    """Megatron-Core's ep_comm_overlap (1F1B all-to-all overlap) is ep_overlap_fit() of the
    train-split runs that publish the overlap, DualPipe runs left out; its stated range is the
    runs' own values; DualPipe keeps its own factor; the flags come from the published settings."""
    seen, real = _spy_on_splits(monkeypatch)
    f = V.ep_overlap_fit(per_run=True)
    assert set(seen) == {"train"}
    assert "MZ-Q235-H100-256-b" in f["runs"] and "DSV3-H800-2048-pretrain" not in f["runs"]
    for st in ("megatron-core-cuda", "megatron-core-rocm"):
        assert il.stacks.params(st)["ep_comm_overlap"] == pytest.approx(f["ep_comm_overlap"], abs=0.006)
        lo, hi = il.stacks.ranges(st)["ep_comm_overlap"]
        assert lo == pytest.approx(min(f["per_run"].values()), abs=0.006)
        assert hi == pytest.approx(max(f["per_run"].values()), abs=0.006)
    runs = {r["id"]: r for r in V.current_runs().iter_rows(named=True)}
    dsv3 = real(dict(runs["DSV3-H800-2048-pretrain"], model_fields="mtp_layers=0"))[0].parallelism
    assert dsv3.ep_overlap and dsv3.dualpipe
    b = real(runs["MZ-Q235-H100-256-b"])[0].parallelism
    assert b.ep_overlap and not b.dualpipe
    with pytest.raises(ValidationError, match="step"):
        V.ep_overlap_fit(step=0.5)


def test_published_flops_read_under_the_sources_convention():
    """Megatron-LM counts causal attention since 2025-03-06 (commit 8873b55); older Megatron
    figures and the Llama 3 paper count full attention."""
    runs = {r["id"]: r for r in V.current_runs().iter_rows(named=True)}
    assert V.flop_convention_of(runs["MZ-Q235-H100-256-a"]) == il.training.MFU_CONVENTION      # 2025-11
    assert V.flop_convention_of(runs["MG24-GPT-7.1B-96"]) == V.FLOP_CONVENTION_OF_SOURCES       # 2024-07
    assert V.flop_convention_of(runs["L3-405B-8192-cp1"]) == V.FLOP_CONVENTION_OF_SOURCES       # Llama 3
    sc, _ = V.scenario_for_run(runs["MZ-Q235-H100-256-s128k-forced"])
    est = il.estimate(sc)
    f = est.flops_by_convention
    # at 128k tokens the causal count is far below the full one: the convention matters
    assert f[il.training.MFU_CONVENTION] < 0.65 * f[V.FLOP_CONVENTION_OF_SOURCES]
    meas = V._measured_tokens_per_gpu(runs["MZ-Q235-H100-256-s128k-forced"], est)
    tokens = est.tokens_per_s * est.step_time_s
    assert meas == pytest.approx(389e12 / (f[il.training.MFU_CONVENTION] / tokens), rel=1e-9)


def test_memory_against_published_memory():
    """Predicted per-GPU memory vs published peak reserved memory and ran/oom outcomes."""
    m = V.memory_check()
    c = m.filter(pl.col("status") == "compared")
    print("\nmemory model vs published (error = predicted, in the published counter's terms and at the "
          "logging rank, / published - 1):")
    print(c.select("id", "outcome", "memory_counter", "compared_rank", pl.col("predicted_GiB").round(1),
                   pl.col("predicted_compared_GiB").round(1), "published_GiB",
                   pl.col("error_pct").round(1), "predicted_fits", "agrees"))
    assert c.height >= 25
    with_peak = c.filter(pl.col("error_pct").is_not_null())
    assert with_peak.height >= 20
    # today's level: 31 published peaks, median |error| 5.6 %, worst 20.4 % (5.2 % with the output
    # layer's saved input counted on the last stage, before torchtitan's FSDP2 shards were read as
    # the fp32 masters, fsdp_fp32_sharded_params: the 29 reserved peaks 3.9 -> 5.5 %). The median moved from
    # 4.2 % when the Primus pipeline blog's two 1F1B peaks (device-used memory of the last pipeline
    # rank, then -13.4 / -16.9 %) joined the 29 reserved peaks: the median of 31 is the 16th value, and
    # no error lies between 4.2 and 5.6 %; the 29 reserved peaks alone are unchanged (median 4.2 %,
    # guarded below). Before (median |error| of the reserved-memory comparison 4.2 %, worst 20.4 % with
    # PyTorch context_parallel's all-gathered K/V and fp32 buffers (cp_attention_buffers: the 405B
    # cp 8 run -22.6 -> -17.7 %, the worst is now TT24-405B-512-3d-1f1b); 4.2 % / 22.6 % with
    # PyTorch pipelining's per-micro-batch stage buffers (pp_stage_buffers_persistent); 4.2 % /
    # 25.1 % with the loss's backward peak (loss_bwd_fp32_tensors, loss_parallel_bwd_fp32_tensors);
    # 13.3 % / 28.4 % with torchtitan's compiled loss only; 15.5 % / 35.5 % at the issue-12-item-7
    # landing; 19.8 % / 52.5 % before), a regression guard
    # Since 2026-12-05 the Primus pipeline blog's four zero-bubble-family peaks are compared too (their
    # schedules entered the step-time comparison): zbb -14.9 %, and the V schedules' rank 0 too high,
    # zbv +31.5, v-half +46.8, v-min +64.6 % since rank 0 holds the output layer under a V schedule
    # (il.memory.stage_layers; +14.1 / +24.5 / +38.2 % with the interleaved placement before; 35 peaks:
    # median 6.0 %, worst 64.6 %; docs/validation-notes.md, "Memory", where the three figures are shown to
    # lie below rank 0's own weights, gradients and optimizer states plus its in-flight activations).
    # Since the second 2026-12-05 memory entry the three V figures are compared with the last rank,
    # which the repository's launcher at the blog's commit prints from (the core runtime's
    # print_rank_last; decided on the v-half row, train, and the code): zbv +1.4, v-half +8.1, v-min
    # +18.8 % (35 peaks: median 5.9 %, worst 20.4 %, MEM-TT24-405B-512-3d-1f1b).
    # Since FSDP2's reduce-scatter input is counted (fsdp_reduce_scatter_buffer, decided on PyTorch's
    # and torchtitan's code): 35 peaks median 5.25 %, the 31 earlier 5.63 -> 3.76 %, the 29 reserved
    # 5.52 -> 3.42 %, worst 20.4 % unchanged (docs/validation-history.md, its dated entry).
    # Since the FSDP units' unsharded gradients in flight are counted (fsdp_unsharded_grads, decided
    # on PyTorch's and Megatron-LM's code): 35 peaks median 5.25 -> 4.94 %, the 29 reserved
    # 3.42 -> 2.91 %, worst 20.4 % unchanged (the 2026-12-06 entry); the guards below unchanged.
    # The guard above stays on the 31 peaks it was set on; the four are guarded at their level
    zb = with_peak.filter(pl.col("id").str.contains(r"^MEM-PRP26-L2-7B16L-MI300X-8-(zbb|zbv|vhalf|vmin)$"))
    assert zb.height == 4
    zerr = dict(zip(zb["id"].str.replace("MEM-PRP26-L2-7B16L-MI300X-8-", ""), zb["error_pct"], strict=True))
    assert -16.0 <= zerr["zbb"] < 0 < zerr["zbv"] < zerr["vhalf"] < zerr["vmin"] <= 19.5
    assert with_peak["error_pct"].abs().max() <= 21.0
    earlier = with_peak.filter(~pl.col("id").is_in(zb["id"].to_list()))
    assert earlier.height == 31
    assert earlier["error_pct"].abs().median() <= 6.0
    assert earlier["error_pct"].abs().max() <= 21.0
    reserved = with_peak.filter(pl.col("memory_counter") == "reserved")
    # 3.9 % before FSDP2's fp32 shards stopped being counted twice (a 16-bit shard beside the master)
    assert reserved.height >= 29 and reserved["error_pct"].abs().median() <= 6.0
    # every published fact but one agrees (the Llama 3 405B 8K run: see its memory_caveat)
    assert int((~c["agrees"]).sum()) <= 1


def _not_fitting(current):
    c = current.filter(pl.col("status") == "compared")
    return c.filter(~pl.col("fits"))


def test_every_compared_run_that_ran_fits_or_states_why(current):
    """Issue 12 item 7, "a plan that ran must fit": every compared run RAN, so the memory model
    must say it fits — or the run's row carries a stated, evidenced reason (``memory_caveat``:
    a setting the source does not publish or the model does not express). Printed: predicted
    per-GPU memory against what the device exposes, for the runs that do not fit."""
    bad = _not_fitting(current)
    runs = {r["id"]: r for r in V.current_runs().iter_rows(named=True)}
    for r in bad.iter_rows(named=True):
        sc, _ = V.scenario_for_run(runs[r["id"]])
        tot = il.memory.training_memory_total(sc)
        cap = sc.hardware.accelerator_spec.memory_capacity_bytes
        print(f"{r['id']}: predicted {tot / 2**30:.1f} GiB on {cap / 2**30:.1f} GiB -- {r['memory_caveat'][:90]}")
    assert (bad["memory_caveat"].str.len_chars() > 40).all(), bad.filter(
        pl.col("memory_caveat").str.len_chars() <= 40)["id"].to_list()
    # the caveat quotes the model's current total: a change that moves it must rewrite the evidence
    for r in bad.iter_rows(named=True):
        sc, _ = V.scenario_for_run(runs[r["id"]])
        quoted = f"{il.memory.training_memory_total(sc) / 2**30:.1f} GiB"
        assert quoted in r["memory_caveat"], (r["id"], quoted)
    # regression guard at the measured level: 110 of 111 fit (the one with a caveat: L3-405B-8192-cp1; 106 of 107 before the four Pai-Megatron-Patch Qwen3-235B H800 runs, which fit, were compared; 101 of 102 before the five AS25/TD25 train-split runs, which fit, were compared; 97 of 98 before the four AS25/TD25 test-split runs, which fit, were compared; 98 of 99 before DeepSeek's DualPipe run with MTP left the comparison; 97 of 98 before the Primus projection blog's MI325X Llama 3.1 70B BF16 run, which fits with its partial recompute, was compared; 95 of 96 before the Primus projection blog's two MI325X runs, which fit, were compared; 91 of 92 before the four further points of Primus' DeepSeek-V2-Lite micro-batch scan, which fit, were compared; 89 of 90 before the Primus pipeline blog's two MI300X 1F1B runs, which fit, were compared);
    # 64 of 89 before item 7, 86 of 90 before the published activation offloading of
    # MZ-Q235-GB200-256-mxfp8 was modelled (training.offload_modules), 87 before PyTorch's gradient
    # lifetime (stack factor grad_buffer_persistent) let the two 16K-GPU Llama 3 runs fit
    assert bad.height <= 1
    # a caveat never sits on a run the model already says fits (it would hide nothing but confuse)
    fit = current.filter((pl.col("status") == "compared") & pl.col("fits"))
    assert (fit["memory_caveat"].str.len_chars() == 0).all(), fit.filter(
        pl.col("memory_caveat").str.len_chars() > 0)["id"].to_list()


@pytest.mark.xfail(strict=True, reason="issue 12 item 7 full bound not met: 114 of 115 compared runs that ran "
                   "are predicted to fit; not: L3-405B-8192-cp1 (95.6 GiB on 79.6 GiB at the published layout's "
                   "vp = 8 and the published schedule's N = pp: 70.0 GiB of activations + 11.9 GiB of FP32 "
                   "gradients, all meeting the peak with 32 micro-batches; no published setting closes the gap, "
                   "see its memory_caveat). Strict: passes -> remove this mark.")
def test_every_compared_run_that_ran_is_predicted_to_fit(current):
    assert _not_fitting(current).height == 0


def test_tp_async_overlap_is_derived_from_one_train_pair():
    """torchtitan's tp_async_comm_overlap is what tp_async_derivation() gives from the train-split
    pair TT24-70B-256-2d / -asynctp (same configuration, only async TP differs) at the fitted
    factors; every run that publishes async_tp=true is compared with tp_async on, and the pair
    is refused when the runs differ in more than async TP."""
    runs = {r["id"]: r for r in V.current_runs().iter_rows(named=True)}
    assert all(runs[i]["split"] == "train" for i in V.TP_ASYNC_PAIR)
    d = V.tp_async_derivation()
    assert d["measured_speedup"] == pytest.approx(876 / 829, rel=1e-9)
    assert 1.0 < d["measured_speedup"] < d["model_speedup_at_full_overlap"]
    for platform in ("cuda", "rocm"):
        assert il.stacks.params(f"torchtitan-{platform}")["tp_async_comm_overlap"] == \
            pytest.approx(d["tp_async_comm_overlap"], abs=2e-3)
    for r in runs.values():
        if "async_tp=true" in (r.get("settings") or "").lower() and r.get("global_batch"):
            assert V.scenario_for_run(r)[0].parallelism.tp_async, r["id"]
    with pytest.raises(ValidationError, match="differ only in async TP"):
        V.tp_async_derivation(("TT24-70B-256-2d", "TA25-70B-256-bf16-asynctp"))
    with pytest.raises(ValidationError):
        V.tp_async_derivation(("TT24-70B-256-2d",))


def test_zero3_overlap_is_derived_from_one_train_pair():
    """torchtitan's zero3_comm_overlap is what zero3_overlap_derivation() gives from the train-split
    pair TT24-8B-8-fsdp-compile / TT24-8B-128-fsdp-compile (FSDP over 8 and 128 GPUs, same per-GPU
    batch) at the fitted factors, strictly inside 0..1; a pair differing in more than the FSDP
    group's size is refused."""
    runs = {r["id"]: r for r in V.current_runs().iter_rows(named=True)}
    assert all(runs[i]["split"] == "train" for i in V.ZERO3_OVERLAP_PAIR)
    d = V.zero3_overlap_derivation()
    assert d["measured_ratio"] == pytest.approx(6514 / 6667, rel=1e-9)
    assert d["model_ratio_at_no_overlap"] < d["measured_ratio"] < d["model_ratio_at_full_overlap"]
    assert 0.0 < d["zero3_comm_overlap"] < 1.0
    for platform in ("cuda", "rocm"):
        assert il.stacks.params(f"torchtitan-{platform}")["zero3_comm_overlap"] == \
            pytest.approx(d["zero3_comm_overlap"], abs=2e-3)
    with pytest.raises(ValidationError, match="FSDP group"):
        V.zero3_overlap_derivation(("TT24-8B-8-fsdp", "TT24-8B-128-fsdp-compile"))
    with pytest.raises(ValidationError, match="FSDP group"):
        V.zero3_overlap_derivation(("TT24-8B-128-fsdp-compile", "TT24-8B-8-fsdp-compile"))


def test_eager_factor_is_derived_from_one_train_pair():
    """torchtitan's eager_memory_factor is what eager_derivation() gives from the train pair
    TT24-8B-8-fsdp / -fsdp-compile (only torch.compile differs) at the fitted factors; the
    held-out 128-GPU eager run is an independent check; runs publishing compile=false on
    torchtitan are compared in eager mode."""
    runs = {r["id"]: r for r in V.current_runs().iter_rows(named=True)}
    assert all(runs[i]["split"] == "train" for i in V.EAGER_PAIR)
    d = V.eager_derivation()
    assert d["measured_speedup"] == pytest.approx(6667 / 5762, rel=1e-9)
    for platform in ("cuda", "rocm"):
        assert il.stacks.params(f"torchtitan-{platform}")["eager_memory_factor"] == \
            pytest.approx(d["eager_memory_factor"], abs=2e-3)
    eager = {i for i, r in runs.items() if "compile=false" in (r.get("settings") or "").lower()}
    assert eager == {"TT24-8B-8-fsdp", "TT24-8B-128-fsdp"}
    assert runs["TT24-8B-128-fsdp"]["split"] == "test"
    assert all(V.scenario_for_run(runs[i])[0].training.eager for i in eager)
    with pytest.raises(ValidationError, match="differ only in torch.compile"):
        V.eager_derivation(("TT24-8B-8-fsdp", "TT24-8B-128-fsdp-compile"))


def test_zero_bubble_pipeline_schedules_are_compared(current):
    """The Primus-pipeline blog's six runs are compared: 1F1B and interleaved 1F1B at their pp / vp,
    and Primus' zero-bubble family (pp_algorithm zero-bubble, zbv-formatted, v-half, v-min) as
    parallelism.pp_schedule zb-h1, zbv, v-half, v-min (validation.PP_SCHEDULE_OF), each at the vp
    its schedule runs (Primus' launcher asserts vp 1 for zero-bubble, 2 for the V schedules: the
    blog's VPP 2 on the zbb row is overridden and noted), with the global batch and micro-batch
    ASSUMED from the test config that sets their model shape. An unknown schedule is refused by name."""
    st = dict(current.select("id", "status").iter_rows())
    runs = {r["id"]: r for r in V.current_runs().iter_rows(named=True)}
    for suf, alg, sched, vp in (("1f1b", "1f1b", None, 1), ("1f1b-vpp2", "1f1b-interleaved", None, 2),
                                ("zbb", "zero-bubble", "zb-h1", 1), ("zbv", "zbv-formatted", "zbv", 2),
                                ("vhalf", "v-half", "v-half", 2), ("vmin", "v-min", "v-min", 2)):
        rid = f"PRP26-L2-7B16L-MI300X-8-{suf}"
        assert st[rid] == "compared", rid
        assert f"pp_algorithm={alg};" in runs[rid]["settings"], rid
        assert V.PP_SCHEDULE_OF.get(alg) == sched, rid
        assert not runs[rid]["global_batch"] and not runs[rid]["micro_batch"], rid
        assert V.ASSUMED_GLOBAL_BATCH[rid] == V.PRIMUS_ZB_TEST_CONFIG_GLOBAL_BATCH == 32
        sc, notes = V.scenario_for_run(runs[rid])
        assert (sc.parallelism.pp, sc.parallelism.vp, sc.stack) == (8, vp, "megatron-core-rocm"), rid
        assert sc.parallelism.pp_schedule == sched, rid
        assert (sc.training.global_batch, sc.training.micro_batch) == (32, 1), rid
        assert {"global_batch=32", "micro_batch=1"} <= set(notes), rid
        # the printed VPP is 2 on every row but 1f1b's; only zbb's is overridden (and says so)
        assert ("vp=1" in notes) == (suf == "zbb"), rid
    assert runs["PRP26-L2-7B16L-MI300X-8-zbb"]["vp"] == "2"
    r = dict(runs["PRP26-L2-7B16L-MI300X-8-1f1b"])
    r["settings"] = r["settings"].replace("pp_algorithm=1f1b", "pp_algorithm=dualpipe-v")
    with pytest.raises(V.ValidationError, match="dualpipe-v is not modelled"):
        V.scenario_for_run(r)


def test_torchtitan_context_parallel_rows(current):
    """torchtitan's December 2024 context-parallel runs (Tables 2 and 6), priced with PyTorch
    context_parallel's all-gather rotation read from the code at their commits, its collectives
    waited where they are issued (torch.compile traces them with their waits; nothing hidden).
    Regression guard at the measured level: 405B -4.7 / +2.4 / -6.4 % at cp 2 / 4 / 8 (-11.0 /
    -9.8 / -17.8 % with the eager-mode overlap behind the next ring step; -14.4 / -14.1 / -25.4 %
    with the per-step P2P ring at the KV heads' width); 8B -21.5 % (cp 4, train) and -24.0 %
    (cp 8, test; -23.3 / -26.2 % with the eager-mode overlap), still too fast and not located
    (docs/validation.md)."""
    cp = current.filter(pl.col("id").str.starts_with("TT24-") & pl.col("id").str.contains("-cp[248]-"))
    assert cp.height == 6 and (cp["status"] == "compared").all()
    err = dict(zip(cp["id"], cp["error_pct"], strict=True))
    assert max(abs(err[i]) for i in err if "405B" in i) <= 7.0
    assert abs(err["TT24-8B-8-cp8-s256k"]) <= 24.5
    assert err["TT24-8B-8-cp4-s128k"] < 0 and err["TT24-8B-8-cp8-s256k"] < 0   # the 8B residual: too fast


def test_memory_rows_logged_by_one_pipeline_rank():
    """Primus' Megatron trainer logs the device's used memory (``torch.cuda.mem_get_info`` total −
    free: the caching allocator's reserve plus what lies outside it) from the LAST rank
    (``log_rank_last``) for 1F1B and interleaved 1F1B. The memory rows of the Primus-pipeline
    blog say so (memory_counter device_used, settings memory_rank=last) and are compared with the
    last pipeline stage's whole predicted total, not the most loaded stage's; the zero-bubble
    rows are compared with the rank their settings name: the last for all (the V schedules' too
    since the second 2026-12-05 memory entry: the repository's launcher at the blog's commit runs
    the core runtime, whose Megatron training_log prints with print_rank_last; Primus' legacy
    trainer alone logs the V schedules from rank 0). Regression guard at the measured level:
    −13.2 % (1f1b) and −16.8 % (1f1b-vpp2) against the last stage (+27 / +14 % against the most
    loaded one)."""
    m = V.memory_check()
    rows = {r["id"]: r for r in m.iter_rows(named=True)}
    runs = {r["id"]: r for r in V.current_runs().iter_rows(named=True)}
    mem = {r["id"]: r for r in V.memory_measurements().iter_rows(named=True)}
    for suf in ("1f1b", "1f1b-vpp2"):
        rid = f"PRP26-L2-7B16L-MI300X-8-{suf}"
        row, data = rows["MEM-" + rid], mem["MEM-" + rid]
        # data-level: the row points at its run, copies its configuration, states counter and rank
        assert data["run_id"] == rid and data["outcome"] == "ran"
        for col in ("pp", "vp", "tp", "seq_len", "model_fields", "accelerator"):
            assert data[col] == runs[rid][col], (rid, col)
        assert data["memory_counter"] == "device_used" and "memory_rank=last" in data["settings"]
        assert "print" in data["note"] and "mem_get_info" in data["note"], rid
        # the printed percentage is of the device's 191.98 GiB (PyTorch's total for an MI300X)
        assert float(data["peak_memory_GiB"]) / (float(data["peak_memory_pct_of_capacity"]) / 100) == \
            pytest.approx(191.98, abs=0.1)
        assert (row["status"], row["memory_counter"], row["compared_rank"]) == ("compared", "device_used", "last")
        sc, _ = V.scenario_for_run({**runs[rid], "id": "MEM-" + rid, "run_id": rid})
        last = il.memory.training_memory_total(sc, pipeline_rank="last")
        # device-used: the whole total (nothing subtracted), of the last stage
        assert row["predicted_compared_GiB"] == pytest.approx(last / 2**30, rel=1e-12)
        assert row["predicted_GiB"] == pytest.approx(il.memory.training_memory_total(sc) / 2**30, rel=1e-12)
        assert row["predicted_GiB"] > row["predicted_compared_GiB"]        # the last stage is not the worst
        assert row["error_pct"] == pytest.approx(100 * (last / 2**30 / float(data["peak_memory_GiB"]) - 1))
    assert abs(rows["MEM-PRP26-L2-7B16L-MI300X-8-1f1b"]["error_pct"]) <= 14.0
    assert abs(rows["MEM-PRP26-L2-7B16L-MI300X-8-1f1b-vpp2"]["error_pct"]) <= 17.5
    # the zero-bubble rows are compared since their schedules are, with the last rank too: under a V
    # schedule it holds two middle chunks, neither the embedding nor the output layer (rank 0 holds
    # both, and its figure is the most loaded one)
    for suf in ("zbb", "zbv", "vhalf", "vmin"):
        rid = f"PRP26-L2-7B16L-MI300X-8-{suf}"
        r = rows["MEM-" + rid]
        assert (r["status"], r["compared_rank"]) == ("compared", "last") and r["error_pct"] is not None, suf
        assert "memory_rank=last" in mem["MEM-" + rid]["settings"]
        if suf != "zbb":
            sc, _ = V.scenario_for_run({**runs[rid], "id": "MEM-" + rid, "run_id": rid})
            assert r["predicted_compared_GiB"] == pytest.approx(
                il.memory.training_memory_total(sc, pipeline_rank="last") / 2**30, rel=1e-12)
            assert r["predicted_GiB"] > r["predicted_compared_GiB"]     # rank 0 is the most loaded
    # every other compared row with a published peak is a reserved counter of the most loaded rank
    others = m.filter(~pl.col("id").str.starts_with("MEM-PRP26") & pl.col("error_pct").is_not_null())
    assert set(others["memory_counter"]) == {"reserved"} and set(others["compared_rank"]) == {"most_loaded"}


def test_memory_check_refuses_bad_counter_and_rank(monkeypatch):
    """A memory row's counter and logging rank are checked: bad values name the row, the field,
    the value and the allowed values."""
    df = V.memory_measurements()
    rid = "MEM-PRP26-L2-7B16L-MI300X-8-1f1b"
    for col, bad, match in (("settings", "pp_algorithm=1f1b;memory_rank=middle", "memory_rank = 'middle'.*'first', 'last'"),
                            ("memory_counter", "hip", "memory_counter = 'hip'.*'device_used'")):
        mod = df.with_columns(pl.when(pl.col("id") == rid).then(pl.lit(bad)).otherwise(pl.col(col)).alias(col))
        monkeypatch.setattr(V.peak_memory, "memory_measurements", lambda mod=mod: mod)
        with pytest.raises(ValidationError, match=f"{rid}: .*{match}"):
            V.memory_check()


def test_scenario_for_run_takes_a_run_id():
    """A run's id gives the same scenario as its row; an unknown id names the nearest ids; any
    other type is refused by name instead of failing inside the row parser."""
    from infra_lab import validation as v
    from infra_lab.errors import UnknownNameError, ValidationError

    runs = v.current_runs()
    rid = "MZ-Q235-H100-256-a"
    by_row = v.scenario_for_run(runs.filter(pl.col("id") == rid).row(0, named=True))
    by_id = v.scenario_for_run(rid)
    assert by_id == by_row
    with pytest.raises(UnknownNameError, match="MZ-Q235-H100-256-a"):
        v.scenario_for_run("MZ-Q235-H100-256-aa")
    with pytest.raises(ValidationError, match="row = 42"):
        v.scenario_for_run(42)


def test_a_runs_stated_host_cpu_reaches_its_scenario():
    """A run whose source states its host (training_runs.csv ``host_cpu``) is modelled on that
    host: the Primus MoE blog's MI355X nodes (dual EPYC 9575F, not the platform's EPYC 9374F)
    and NVIDIA Eos's DGX H100s; a run with an empty cell takes the platform default. Every
    stated host is written in the catalog's spelling (data/network_host_cpus.csv)."""
    from infra_lab import fabric
    from infra_lab import validation as v

    runs = v.current_runs()
    stated = runs.filter(pl.col("host_cpu").is_not_null() & (pl.col("host_cpu") != ""))
    assert {"PR25", "PF"} <= set(stated["source"])
    assert v.scenario_for_run("PR25-DSV2-MI355X-32-base-1f1b")[0].hardware.host_cpu == "EPYC-9575F"
    assert v.scenario_for_run("PF-Mix22-128-mcore")[0].hardware.host_cpu == "Xeon-Platinum-8480C"
    default = fabric.platform("MI325X")["default_host_cpu"]
    assert v.scenario_for_run("AS25-L2-7B-MI325X-64-fp8")[0].hardware.host_cpu == default
    for r in stated.iter_rows(named=True):
        host = fabric.host_cpu(r["host_cpu"])
        assert host["name"] == r["host_cpu"], r["id"]


def test_not_compared_status_keeps_the_field_name_and_names_a_missing_top_k():
    """A "not compared" status strips only the run's own id from the error, so a message that
    starts with a field name keeps it; an MoE row whose model_fields give experts but no top_k
    (PF-L8x70-256-fold: the paper does not state it) says so instead of a range error on 0."""
    from infra_lab.validation._common import _status
    assert _status(ValidationError("model.top_k = 0: must be between 1 and 8"), 120, "R-1") == \
        "model.top_k = 0: must be between 1 and 8"
    assert _status(ValidationError("R-1: global batch not published"), 120, "R-1") == "global batch not published"
    cur = V.compare_current()
    row = cur.filter(pl.col("id") == "PF-L8x70-256-fold").row(0, named=True)
    assert row["status"].startswith("model_fields give experts = 8 but no top_k"), row["status"]
