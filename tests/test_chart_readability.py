"""What a reader of notebooks 05, 06, 08 and 09 saw: in three charts, drawn, tick labels that ran
into each other, a legend whose shapes were blank, and legend entries that were column names (read
through ``chart.to_dict()``: the executed notebooks draw these specs as they are); in the prose, a
band with a negative end printed as '-4% (-15%–13%)'."""

from __future__ import annotations

import polars as pl
import pytest

import infra_lab as il


def _view_encodings(spec: dict) -> list[dict]:
    out = []
    if isinstance(spec, dict):
        if "encoding" in spec:
            out.append(spec["encoding"])
        for k, v in spec.items():
            if k not in ("data", "datasets"):
                out += _view_encodings(v)
    elif isinstance(spec, list):
        for v in spec:
            out += _view_encodings(v)
    return out


def _sweep_points() -> pl.DataFrame:
    return pl.DataFrame({
        "capex_usd": [2.6e8, 3.0e8, 3.9e8], "wall_days": [4.7, 4.4, 1.4],
        "usd_per_m_served_tokens": [0.056, 0.064, 0.040], "platform": ["MI300X node", "MI325X node", "MI450X Helios rack"],
        "nic": ["Pollara-400"] * 3, "gpus": [8192, 8192, 8208], "model": ["10x MoE"] * 3,
        "announced_not_shipped": [False, False, True]})


def test_expansion_pareto_abbreviates_large_axes_only():
    """Notebook 08's capital axis (log, 100M-1B USD) printed every tick in full and the labels ran
    together (200,000,000300,000,000); large values now read 200M, small ones keep their digits."""
    pts = _sweep_points()
    enc = _view_encodings(il.charts.expansion_pareto(pts, "capex_usd", "wall_days", x_title="capital [USD]",
                                                     y_title="time [days]").to_dict())[0]
    expr = enc["x"]["axis"]["labelExpr"]
    assert "'~s'" in expr and "'G', 'B'" in expr           # 1e9 USD reads 1B, not SI's 1G
    assert "labelExpr" not in enc["y"].get("axis", {}) and "format" not in enc["y"].get("axis", {})
    enc = _view_encodings(il.charts.expansion_pareto(pts, "capex_usd", "usd_per_m_served_tokens", x_title="capital [USD]",
                                                     y_title="cost [USD per million tokens]").to_dict())[0]
    assert "labelExpr" not in enc["y"].get("axis", {})       # 0.04 must not read "40m"


def test_expansion_pareto_marks_announced_parts_hollow_with_a_readable_model_legend():
    """The fill drawn from a condition on the colour field left the model legend's shapes with
    neither fill nor stroke (blank entries); now the marks are filled in their colour, outlined in
    it, and transparent inside for announced parts, which the colour legend's title says."""
    spec = il.charts.expansion_pareto(_sweep_points(), "capex_usd", "wall_days", x_title="capital [USD]",
                                      y_title="time [days]").to_dict()
    base = spec["layer"][0]
    assert base["mark"]["filled"] is True
    enc = base["encoding"]
    assert "fill" not in enc and enc["stroke"]["field"] == enc["color"]["field"] == "platform"
    assert enc["fillOpacity"]["field"] == "status" and enc["fillOpacity"]["legend"] is None
    scale = enc["fillOpacity"]["scale"]
    assert dict(zip(scale["domain"], scale["range"], strict=True)) == {"shipping": 1.0, "announced, not shipped": 0.0}
    assert "hollow: an announced," in " ".join(enc["color"]["title"])


def test_expansion_pareto_legend_says_a_hollow_mark_may_be_the_nic():
    """Notebook 08's charts drew the shipping MI300X node with the announced Vulcano 800G NIC
    hollow (the flag is the option's: platform or NIC) under a legend titled 'platform (hollow:
    announced, not shipped)', which read as an announced MI300X node. The title names both parts."""
    pts = pl.DataFrame({
        "capex_usd": [2.6e8, 3.1e8], "wall_days": [4.7, 4.6], "platform": ["MI300X node", "MI300X node"],
        "nic": ["Pollara-400", "Vulcano-800"], "gpus": [8192, 8192], "model": ["10x MoE"] * 2,
        "announced_not_shipped": [False, True]})   # as il.expansion.options() flags a Vulcano option
    spec = il.charts.expansion_pareto(pts, "capex_usd", "wall_days", x_title="capital [USD]",
                                      y_title="time [days]").to_dict()
    title = " ".join(spec["layer"][0]["encoding"]["color"]["title"])
    assert "NIC" in title and "platform" in title.split("(", 1)[1], title


def test_goodput_bands_ticks_at_the_swept_sizes():
    """Notebook 06's goodput-vs-size chart (log x) labelled 5,000 6,0007,000 run together and left
    both ends of the sweep (1,024 and 16,384 GPUs) without a label."""
    sizes = [1024, 2048, 4096]
    bands = pl.DataFrame({"gpus": sizes * 2, "calibration": ["llama3"] * 3 + ["fleet"] * 3,
                          "restart": ["baseline"] * 6, "goodput": [0.98, 0.97, 0.95, 0.94, 0.90, 0.85]})
    encs = _view_encodings(il.charts.goodput_bands_chart(bands).to_dict())
    assert encs and all(e["x"]["axis"]["values"] == sizes for e in encs if "x" in e)


def test_mix_time_chart_legend_in_words_in_order():
    """Notebook 09's legend listed the breakdown's column names (exposed_comm_change); it gives
    each part in words, in the breakdown's order, and the stacking order is kept."""
    parts = ["language_model", "padding", "encoder_compute", "exposed_comm_change", "stage_imbalance"]
    df = pl.DataFrame({"mix": ["a"] * 5, "part": parts, "days": [5.0, 0.1, 2.0, -0.2, 0.05]})   # every part drawn
    spec = il.charts.mix_time_chart(df, "days").to_dict()
    words = [il.charts.multimodal.PART_LABELS[p] for p in parts]
    bars = next(v for v in spec["layer"] if v["mark"]["type"] == "bar")
    assert bars["encoding"]["color"]["sort"] == words
    rows = spec["datasets"][bars["data"]["name"]]
    assert [r["part"] for r in sorted(rows, key=lambda r: r["order"])] == words
    assert not (set(parts) - {"padding"}) & {r["part"] for r in rows}      # "padding" reads the same


def test_mix_time_chart_marks_each_mix_total_beside_a_negative_part():
    """Notebook 09's stacked bars drew the negative 'exposed communication, change' left of zero,
    so the image-heavy bar ended at 10.55 days for a 10.26-day run (the sum of the positive
    parts). A tick marks each mix's total, the sum of every part."""
    parts = ["language_model", "padding", "encoder_compute", "exposed_comm_change", "stage_imbalance"]
    df = pl.DataFrame({"mix": ["a"] * 5 + ["b"] * 5, "part": parts * 2,
                       "days": [5.0, 0.1, 2.0, -0.2, 0.0, 4.0, 0.0, 1.0, 0.0, 0.5]})
    spec = il.charts.mix_time_chart(df, "days").to_dict()
    tick = next(v for v in spec["layer"] if v["mark"]["type"] == "tick")
    totals = {r["mix"]: r["total"] for r in spec["datasets"][tick["data"]["name"]]}
    assert totals == pytest.approx({"a": 6.9, "b": 5.5})
    assert tick["encoding"]["x"]["field"] == "total"


def test_a_band_with_a_negative_end_reads_low_to_high():
    """Notebook 05 printed IBM's IRR as '-4% (-15%–13%)': with a negative end the band reads 'to'."""
    import numpy as np

    from infra_lab.economics.uncertainty import band

    neg = band(np.linspace(-0.2, 0.2, 201))
    assert neg.fmt("{:.0%}") == f"{neg.p50:.0%} ({neg.p5:.0%} to {neg.p95:.0%})"
    pos = band(np.linspace(1.0, 3.0, 201))
    assert pos.fmt("{:.2f}") == f"{pos.p50:.2f} ({pos.p5:.2f}–{pos.p95:.2f})"


def test_peak_by_precision_labels_a_missing_bar_instead_of_dropping_it():
    """Notebook 01's peak chart dropped MI355X's TF32 and H100's FP4 bars without a word: a pair
    with no peak is labelled 'not supported' or 'no figure' in its slot, and a subtitle says
    what the labels mean."""
    t = il.catalog.peak_table(["H100-SXM", "MI355X", "MI450X"], ["fp64", "tf32", "bf16", "fp4"])
    spec = il.charts.peak_by_precision(t, title="Dense peak").to_dict()
    assert len(spec["layer"]) == 2 and spec["layer"][1]["mark"]["type"] == "text"
    rows = spec["datasets"][spec["layer"][1]["data"]["name"]]
    labels = {(r["accelerator"], r["precision"]): r["label"] for r in rows}
    assert labels == {("H100-SXM", "fp4"): "not supported", ("MI355X", "tf32"): "not supported",
                      ("MI450X", "fp64"): "no figure", ("MI450X", "tf32"): "no figure"}
    assert "not supported = the part has no instructions" in spec["title"]["subtitle"]
    assert "no figure = no sourced peak" in spec["title"]["subtitle"]
    # a frame without a status column: its null rows still get a label, never a silent gap
    bare = t.drop("status").filter(pl.col("accelerator") == "MI450X")
    spec = il.charts.peak_by_precision(bare).to_dict()
    assert {r["label"] for r in spec["datasets"][spec["layer"][1]["data"]["name"]]} == {"no figure"}
    full = t.filter(pl.col("peak_tflops").is_not_null())
    assert "layer" not in il.charts.peak_by_precision(full).to_dict()


def test_fleet_check_chart_keys_the_published_marks():
    """Notebook 06's 'Published fleet observations vs each calibration' drew each published MTBI as
    a black tick and a grey bar while its only legend keyed the predictions: nothing said which
    mark was the published value, which the range and which an 'at most' bound. The subtitle does."""
    spec = il.charts.fleet_check_chart(il.reliability.fleet_check()).to_dict()
    sub = spec["title"]["subtitle"]
    sub = " ".join(sub) if isinstance(sub, list) else sub
    assert "published" in sub and "tick" in sub and "bar" in sub and "at most" in sub
    marks = {layer["mark"]["type"] if isinstance(layer["mark"], dict) else layer["mark"] for layer in spec["layer"]}
    assert {"tick", "rule"} <= marks    # the marks the subtitle names are the ones drawn


def test_packing_waste_chart_labels_bars_too_thin_to_see():
    """Notebook 09's padding chart drew first-fit-decreasing's 0.1-0.24 % as bars narrower than a
    pixel beside no packing's 68-91 %: the legend listed 'ffd' and no bar of it showed. Every bar
    now carries its value as text, on the same position channels as the bar."""
    pk = pl.DataFrame({"mix": ["text only", "text only", "image-heavy", "image-heavy"],
                       "packing": ["ffd", "none", "ffd", "none"], "waste_pct": [0.01, 67.9, 0.24, 91.0]})
    spec = il.charts.packing_waste_chart(pk).to_dict()
    layers = spec["layer"]
    text = [v for v in layers if (v["mark"]["type"] if isinstance(v["mark"], dict) else v["mark"]) == "text"]
    assert len(text) == 1
    enc = {**spec.get("encoding", {}), **text[0].get("encoding", {})}
    assert enc["text"]["field"] == "waste_pct" and enc["x"]["field"] == "waste_pct"
    assert enc["yOffset"]["field"] == "packing"   # beside its own bar, not between the two


def test_bill_chart_legend_gives_each_items_amount():
    """Notebook 05's bill bar drew the final run's goodput losses ($23k of an $11.8M bill) as a
    segment under a pixel wide: the legend listed it and no mark showed. Each legend entry now
    carries its amount and share, so the thin item reads from the legend."""
    import infra_lab as il

    zb = il.economics.zyphra_bill(159_000, goodput=0.949)
    spec = il.charts.bill_chart(zb.frame()).to_dict()
    rows = next(iter(spec["datasets"].values()))
    field = spec["encoding"]["color"]["field"]
    loss = next(r for r in rows if r["item"].startswith("goodput losses"))
    assert f"{zb.goodput_loss_gpu_hours * zb.price_usd_per_gpu_hour / 1e6:,.3f} M USD" in loss[field]
    assert all(r[field].startswith(r["item"]) for r in rows)   # the item's words first, as before


def test_mix_time_chart_leaves_out_a_part_that_is_zero_in_every_mix():
    """Notebook 09's 'where the time goes' chart listed 'pipeline stage imbalance' in its legend
    while the plan has no pipeline stages: zero in all four mixes, so no bar showed that colour.
    A part that is zero in every mix is left out of the data and the legend; one that is zero in
    some mixes only (the encoders of a text-only mix) stays."""
    parts = ["language_model", "padding", "encoder_compute", "exposed_comm_change", "stage_imbalance"]
    df = pl.DataFrame({"mix": ["text only"] * 5 + ["image-heavy"] * 5, "part": parts * 2,
                       "days": [6.7, 0.01, 0.0, 0.0, 0.0, 6.6, 0.02, 3.9, -0.3, 0.0]})
    spec = il.charts.mix_time_chart(df, "days").to_dict()
    bars = next(v for v in spec["layer"] if v["mark"]["type"] == "bar")
    label = il.charts.multimodal.PART_LABELS
    assert bars["encoding"]["color"]["sort"] == [label[p] for p in parts[:4]]
    assert {r["part"] for r in spec["datasets"][bars["data"]["name"]]} == {label[p] for p in parts[:4]}
    totals = [r for v in spec["datasets"].values() for r in v if "total" in r]
    assert [round(r["total"], 6) for r in totals] == [6.71, 10.22]     # the tick's totals are unchanged
