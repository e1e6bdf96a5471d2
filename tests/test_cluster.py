"""Cluster summary, accelerator metrics, hardware charts and the explorer widget."""

import polars as pl
import pytest

import infra_lab as il
from infra_lab.errors import UnknownNameError, ValidationError

HW = {"accelerator": "MI300X", "nodes": 128, "gpus_per_node": 8, "nic": "Pollara-400", "fabric": "rails-only"}


def _val(df, q):
    return df.filter(pl.col("quantity") == q)["value"][0]


def test_cluster_summary_matches_hand_arithmetic():
    s = il.cluster.cluster_summary(HW)
    acc = il.catalog.accelerator("MI300X")
    assert _val(s, "GPUs") == 1024
    assert _val(s, "dense peak bf16") == pytest.approx(1024 * acc.peak("bf16") / 1e15)
    assert _val(s, "HBM capacity") == pytest.approx(1024 * 192e9 / 1e12)
    assert _val(s, "scale-out bandwidth per node (line rate, one direction)") == pytest.approx(400.0)
    assert _val(s, "GPU power at TDP") == pytest.approx(1024 * 0.75)
    assert s["unit"].null_count() == 0


def test_750_pf_claim_reading():
    c = il.cluster.claim_check(750, HW, "bf16")
    assert c["claim_per_gpu_tflops"] == pytest.approx(750e3 / 1024)
    assert c["max_achievable_per_gpu_tflops"] == pytest.approx(708.0)
    assert 1.0 < c["claim_over_max_achievable"] < 1.05
    assert c["consistent"]
    with pytest.raises(ValidationError, match="claimed_pflops"):
        il.cluster.claim_check(-1, HW)


def test_accelerator_metrics():
    m = il.cluster.accelerator_metrics(["MI300X", "H100-SXM"], "bf16")
    ridge = m.filter((pl.col("accelerator") == "MI300X") & (pl.col("metric") == "ridge_flop_per_byte"))["value"][0]
    assert ridge == pytest.approx(1307.4e12 / 5.3e12)
    a100 = il.cluster.accelerator_metrics(["A100-SXM-80GB"], "fp8")
    assert "peak_tflops" not in set(a100["metric"])  # no sourced FP8: left out, not invented
    with pytest.raises(UnknownNameError):
        il.cluster.accelerator_metrics(["MI300X"], "fp12")


def test_charts_to_dict():
    m = il.cluster.accelerator_metrics(["MI300X", "H100-SXM", "B200"], "bf16")
    spec = il.charts.accelerator_bars(m, "hbm_GB").to_dict()
    layer = spec["layer"][0]
    assert layer["mark"]["type"] == "bar"
    assert "[GB]" in layer["encoding"]["x"]["title"]
    # the axis names the quantity in words, and small values keep their decimals on the bars
    bw = il.charts.accelerator_bars(m, "hbm_bw_TBps").to_dict()
    assert bw["layer"][0]["encoding"]["x"]["title"] == "peak HBM bandwidth [TB/s]"
    assert bw["layer"][1]["encoding"]["text"]["format"] == ",.2f"
    assert spec["layer"][1]["encoding"]["text"]["format"] == ",.0f"   # 80-192 GB
    peaks = pl.DataFrame({"accelerator": ["MI300X", "MI300X"], "vendor": ["AMD", "AMD"],
                          "precision": ["bf16", "fp8"], "peak_tflops": [1307.4, 2614.9]})
    spec = il.charts.peak_by_precision(peaks).to_dict()
    assert "[TFLOP/s]" in spec["encoding"]["y"]["title"]
    with pytest.raises(UnknownNameError, match="hbm_GB"):
        il.charts.accelerator_bars(m, "hbm_gb")
    with pytest.raises(ValidationError, match="lacks column"):
        il.charts.accelerator_bars(m.drop("unit"), "hbm_GB")


def test_accelerator_bars_are_drawn_largest_first():
    """Notebook 01's bars (HBM capacity, bandwidth, peak per kW, ridge point, and the explorer's)
    asked for sort="-x", which Vega-Lite drops on a layered chart (bars + value labels): they
    were drawn in alphabetical order, B200 first. Read from the rendered SVG: the y-axis labels
    run from the largest value down."""
    import re

    import vl_convert as vlc

    names = ["MI300X", "H100-SXM", "H200-SXM", "B200", "MI325X", "MI355X"]
    m = il.cluster.accelerator_metrics(names, "bf16")
    for metric in ("hbm_GB", "peak_tflops", "ridge_flop_per_byte"):
        svg = vlc.vegalite_to_svg(il.charts.accelerator_bars(m, metric).to_json())
        drawn = [t for t in re.findall(r"<text[^>]*>([^<]+)</text>", svg) if t in names][:len(names)]
        rows = m.filter(pl.col("metric") == metric)
        value = dict(zip(rows["accelerator"], rows["value"], strict=True))
        assert sorted(drawn) == sorted(names), drawn
        assert [value[a] for a in drawn] == sorted(value.values(), reverse=True), (metric, drawn)


def test_explorer_widget_updates():
    box = il.widgets.accelerator_explorer()
    before = box.chart.chart.to_dict()
    box.controls["metric"].value = "hbm_bw_TBps"
    after = box.chart.chart.to_dict()
    assert before != after
    assert "TB/s" in str(after)
    box.controls["compare"].value = ("MI300X", "H100-SXM")
    names = {r["accelerator"] for r in box.chart.chart.to_dict()["datasets"].popitem()[1]}
    assert names == {"MI300X", "H100-SXM"}


def test_explorer_with_no_accelerator_chosen_shows_no_chart():
    """Deselecting every accelerator printed "choose at least one accelerator" under the chart
    of the previous set, still drawn (session 42); the other explorers clear a stale chart."""
    box = il.widgets.accelerator_explorer()
    assert box.chart.chart is not None
    box.controls["compare"].value = ()
    assert box.chart.chart is None and "choose at least one accelerator" in box.children[1].value
    box.controls["compare"].value = ("MI300X",)
    assert box.chart.chart is not None and box.children[1].value.startswith("1 of 1 accelerators")


def test_explorer_says_which_accelerators_a_precision_leaves_out():
    """At fp4 the default set's MI300X, H100, H200 and MI325X have no peak (they do not support
    FP4: data/accelerators.csv unsupported_precisions): the chart silently showed two bars under
    '6 accelerators, peak_tflops at fp4', and a set with no fp4 part (MI300X + H100) raised
    "unknown metric 'peak_tflops'. Valid: hbm_GB, ..." out of the widget's callback. The reason
    given is the catalog's: not supported, not "no sourced peak"."""
    import json

    box = il.widgets.accelerator_explorer()
    box.controls["precision"].value = "fp4"
    status = box.children[1].value
    assert status.startswith("2 of 6 accelerators") and "MI300X, H100-SXM, H200-SXM, MI325X" in status
    assert "left out, fp4 not supported: MI300X" in json.dumps(box.chart.chart.to_dict(), ensure_ascii=False)
    assert "left out (fp4 not supported: MI300X, H100-SXM, H200-SXM, MI325X)" in status
    box.controls["compare"].value = ("MI300X", "H100-SXM")
    assert box.update() is None and box.chart.chart is None
    assert "none of the accelerators chosen has a dense fp4 peak (fp4 not supported: MI300X, H100-SXM)" \
        in box.children[1].value
    with pytest.raises(ValidationError, match=r"has a dense fp4 peak \(fp4 not supported: MI300X, H100-SXM\)"):
        il.widgets.accelerator_update("peak_tflops", "fp4", ["MI300X", "H100-SXM"])
    with pytest.raises(UnknownNameError, match="Did you mean 'peak_tflops'"):
        il.widgets.accelerator_update("peak_tflop", "bf16", ["MI300X"])
    box.controls["precision"].value = "bf16"
    assert box.chart.chart is not None and box.children[1].value == "2 of 2 accelerators, peak_tflops at bf16"


def test_precision_metrics_are_the_ones_that_change_with_precision():
    """cluster.PRECISION_METRICS names exactly the metrics accelerator_metrics computes from the
    peak at its precision: the others are equal at bf16 and fp8 on every part."""
    a, b = (il.cluster.accelerator_metrics(["MI300X", "H100-SXM", "B200"], p) for p in ("bf16", "fp8"))
    moved = {m for m, x, y in zip(a["metric"], a["value"], b["value"], strict=True) if x != y}
    assert moved == set(il.cluster.PRECISION_METRICS) and moved < set(il.cluster.METRICS)


def test_explorer_names_the_precision_only_for_metrics_that_depend_on_it():
    """The accelerator explorer titled HBM capacity "— fp4" and said "6 of 6 accelerators, hbm_GB
    at fp4", as if capacity depended on the format. For HBM and scale-up metrics the title and
    the status name no precision and the precision control is disabled; for the peak-based ones
    they do, and it is enabled."""
    import json

    box = il.widgets.accelerator_explorer()
    box.controls["precision"].value = "fp4"
    for metric in il.cluster.METRICS:
        box.controls["metric"].value = metric
        title = json.dumps(box.chart.chart.to_dict()["layer"][0]["title"], ensure_ascii=False)
        status = box.children[1].value
        depends = metric in il.cluster.PRECISION_METRICS
        assert ("fp4" in title) == depends and ("at fp4" in status) == depends, (metric, title, status)
        assert box.controls["precision"].disabled == (not depends), metric
    assert il.widgets.accelerator_explorer(metric="hbm_GB").controls["precision"].disabled


class TestNotebook01Claims:
    """The claims notebook 01's prose builds from variables and leans on (its numbers are
    computed; these are the qualitative readings that must stay true)."""

    sc = il.load_scenario("zaya1-ibm-mi300x")

    def test_the_report_token_count_is_the_one_the_lab_uses(self):
        """01 gave Zyphra's 14T and a press site's 12T as equal alternatives ("14T (Zyphra) or 12T
        (press)"); it names the report's figure and says which notebooks use it, which must hold."""
        tools = il.catalog.DATA_DIR.parent / "tools" / "notebooks"
        nb01 = (tools / "01_the_deployment.py").read_text()
        assert "tokens by Zyphra's own report (press coverage says" in nb01 and "(Zyphra) or" not in nb01
        assert "notebooks 05, 06 and 09 use\n  the report's figure" in nb01
        for name in ("05_economics", "06_reliability", "09_multimodal_maia"):
            src = (tools / f"{name}.py").read_text()
            assert 'parameter("zaya1_tokens")' in src and "zaya1_tokens_alt" not in src, name

    def test_one_nic_per_gpu_and_plain_data_parallel_zero1(self):
        hw, p = self.sc.hardware, self.sc.parallelism
        assert hw.nics_per_node == hw.gpus_per_node
        assert (p.tp, p.pp, p.ep, p.zero) == (1, 1, 1, 1)

    def test_the_claim_is_a_bf16_gemm_ceiling_not_fp8(self):
        bf16, fp8 = (il.cluster.claim_check(750.0, self.sc.hardware, p) for p in ("bf16", "fp8"))
        assert 1.0 < bf16["claim_over_max_achievable"] < 1.05    # a few per cent above BF16 MAF
        assert fp8["claim_over_max_achievable"] < 0.75           # far below the FP8 one
        assert 0.5 < bf16["claim_over_peak"] < 0.6               # a little over half the BF16 peak

    def test_ridge_below_h100_because_of_bandwidth(self):
        m = il.cluster.accelerator_metrics(["MI300X", "H100-SXM"], "bf16")
        v = {(r["accelerator"], r["metric"]): r["value"] for r in m.iter_rows(named=True)}
        assert v[("MI300X", "peak_tflops")] > v[("H100-SXM", "peak_tflops")]
        assert v[("MI300X", "ridge_flop_per_byte")] < v[("H100-SXM", "ridge_flop_per_byte")]

    def test_h200_narrows_the_memory_gap_and_b200_mi355x_add_compute(self):
        a = {n: il.catalog.accelerator(n) for n in ("MI300X", "H100-SXM", "H200-SXM", "B200", "MI355X")}
        assert a["H100-SXM"].hbm_bytes < a["H200-SXM"].hbm_bytes < a["MI300X"].hbm_bytes
        for n in ("B200", "MI355X"):
            assert a[n].peak("bf16") > a["MI300X"].peak("bf16") > a["H100-SXM"].peak("bf16")


def test_notebook00_opening_paragraph_claims():
    """Notebook 00's opening paragraph (built from the scenario and presets) says: one Pollara
    NIC per GPU on an Ethernet fabric, nodes of MI300X, ZAYA1 an MoE trained on all the GPUs."""
    sc = il.load_scenario("zaya1-ibm-mi300x")
    hw = sc.hardware
    assert hw.accelerator == "MI300X" and hw.nics_per_node == hw.gpus_per_node
    assert hw.nic.lower().startswith("pollara") and hw.fabric in ("rails-only", "rail-optimized", "fat-tree")
    zaya = il.models.get("zaya1-base")
    assert zaya.experts > 1 and zaya.published_params_active < zaya.published_params_total
    assert sc.model_spec.name == zaya.name and hw.world_size == hw.nodes * hw.gpus_per_node


def test_explorer_tells_a_format_not_supported_from_a_peak_not_sourced():
    import json

    spec = json.dumps(il.widgets.accelerator_update("peak_tflops", "fp64", ["H800-SXM", "MI300X"]).to_dict())
    assert "left out, no sourced dense fp64 peak: H800-SXM" in spec
    spec = json.dumps(il.widgets.accelerator_update("peak_tflops", "tf32", ["MI355X", "MI450X", "MI300X"]).to_dict())
    assert "left out, tf32 not supported: MI355X; no sourced dense tf32 peak: MI450X" in spec
