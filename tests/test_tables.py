"""il.charts.headline_table: the notebooks' tables for reading (great_tables): labels with
units, formatted numbers, source notes, a highlighted row, HTML that needs nothing from the
network and keeps its CSS to itself, and clear errors for bad input."""

from __future__ import annotations

import re
import subprocess
import sys

import polars as pl
import pytest

import infra_lab as il
from infra_lab.errors import UnknownNameError, ValidationError

RUNS = pl.DataFrame({
    "accelerator": ["MI300X", "H100-SXM", "B200"],
    "gpus": [1024, 16384, 8],
    "step_time_s": [12.3456, 9.87654, 4.5],
    "measured_tok_s_gpu": [4321.4, 5012.6, 10873.2],
    "error_pct": [-3.214, 4.56, 0.04],
    "nic_busy_fraction": [0.4213, 0.1, None],
    "capex_usd": [1.5e7, 2.25e8, 3.1e5],
    "fits": [True, False, None],
})


def _html(**kw) -> str:
    kw.setdefault("title", "Three runs")
    return il.charts.headline_table(RUNS, **kw).as_raw_html()


def _labels(page: str) -> list[str]:
    return re.findall(r'<th class="gt_col_heading[^>]*>([^<]*)</th>', page)


def _cells(page: str, col: str) -> list[str]:
    return re.findall(rf'headers="{col}" class="gt_row[^"]*">([^<]*)</td>', page)


def test_labels_carry_units_from_the_names():
    assert _labels(_html()) == ["accelerator", "GPUs", "step time [s]", "measured [tokens/s/GPU]", "error [%]",
                                "nic busy [%]", "capex [USD]", "fits"]


def test_labels_and_units_given_explicitly():
    page = _html(labels={"measured_tok_s_gpu": "measured throughput", "capex_usd": "cluster capex"},
                 units={"capex_usd": "M USD", "step_time_s": None})
    labels = _labels(page)
    assert "measured throughput [tokens/s/GPU]" in labels and "cluster capex [M USD]" in labels
    assert "step time" in labels                       # unit dropped


def test_a_label_keeps_the_unit_of_a_name_that_is_all_unit():
    """A column named only by its unit (``tflops_per_kW``, ``tok_s_gpu``) shows the unit as its
    label; given a label, the unit goes in brackets after it (notebook 01's table lost its
    "[TFLOP/s/kW]" this way)."""
    df = pl.DataFrame({"tflops_per_kW": [1743.2], "tok_s_gpu": [4321.0]})
    assert _labels(il.charts.headline_table(df, "t").as_raw_html()) == ["TFLOP/s/kW", "tokens/s/GPU"]
    page = il.charts.headline_table(df, "t", labels={"tflops_per_kW": "peak per kW", "tok_s_gpu": "best"}).as_raw_html()
    assert _labels(page) == ["peak per kW [TFLOP/s/kW]", "best [tokens/s/GPU]"]


def test_numbers_are_formatted():
    page = _html()
    assert _cells(page, "gpus") == ["1,024", "16,384", "8"]                       # integers, separators
    assert _cells(page, "step_time_s") == ["12.35", "9.88", "4.50"]               # 3 digits at the smallest
    assert _cells(page, "measured_tok_s_gpu") == ["4,321", "5,013", "10,873"]
    assert _cells(page, "error_pct") == ["−3.2", "4.6", "0.0"]                    # *_pct: one decimal
    assert _cells(page, "nic_busy_fraction") == ["42.1", "10.0", "—"]             # fraction shown in %
    assert _cells(page, "capex_usd") == ["15,000,000", "225,000,000", "310,000"]
    assert _cells(page, "fits") == ["yes", "no", "—"]


def test_a_column_of_mixed_magnitudes_is_formatted_per_cell():
    df = pl.DataFrame({"quantity": ["bill [M USD]", "share of hours", "GPU-hours [k]"], "P50": [12.3456, 0.071234, 345.678]})
    page = il.charts.headline_table(df, "mixed").as_raw_html()
    assert _cells(page, "P50") == ["12.3", "0.0712", "346"]


def test_decimals_and_percent_arguments():
    df = pl.DataFrame({"name": ["a", "b"], "irr": [0.1234, -0.05], "price": [2.0, 3.456]})
    page = il.charts.headline_table(df, "t", percent=["irr"], decimals={"price": 3}).as_raw_html()
    assert _cells(page, "irr") == ["12.3", "−5.0"] and "IRR [%]" in _labels(page)
    assert _cells(page, "price") == ["2.000", "3.456"]


def test_title_subtitle_and_source_notes_with_links():
    page = _html(subtitle="error = predicted / measured − 1",
                 sources=["Zyphra's report, https://arxiv.org/abs/2511.17127.", "data/accelerators.csv <rows>"])
    assert "Three runs" in page and "error = predicted / measured − 1" in page
    assert ('Zyphra&#x27;s report, <a href="https://arxiv.org/abs/2511.17127">https://arxiv.org/abs/2511.17127</a>.'
            in page or "Zyphra's report, <a href=\"https://arxiv.org/abs/2511.17127\">" in page)
    assert "data/accelerators.csv &lt;rows&gt;" in page                        # escaped, not markup


@pytest.mark.parametrize("highlight", [0, [0], pl.col("accelerator") == "MI300X"])
def test_highlighted_row(highlight):
    page = _html(highlight=highlight)
    rows = re.findall(r"<tr>(.*?)</tr>", page, re.S)
    body = [r for r in rows if "gt_row" in r]
    assert "font-weight: bold" in body[0] and "font-weight: bold" not in body[1]


def test_html_needs_no_network_and_keeps_its_css_to_itself():
    page = _html(sources="https://arxiv.org/abs/2511.17127")
    assert not re.search(r"@import|@font-face|<link|<script|<img|<iframe|\bsrc=|url\(", page)
    assert "fonts.googleapis" not in page and "cdn" not in page.lower()
    hrefs = re.findall(r'href="([^"]+)"', page)
    assert hrefs == ["https://arxiv.org/abs/2511.17127"]                          # the source note's link only
    table_id = re.search(r'<div id="([^"]+)"', page).group(1)
    css = page[page.index("<style>") + 7:page.index("</style>")]
    selectors = [s.strip() for rule in re.findall(r"([^{}]+)\{", css) for s in rule.split(",")]
    assert f"#{table_id} .gt_row.gt_right {{ white-space: nowrap; }}" in css      # numbers do not wrap
    assert selectors and all(s.startswith(f"#{table_id}") for s in selectors), [
        s for s in selectors if not s.startswith(f"#{table_id}")]


def test_notebook_display_is_html_with_a_short_text_form():
    t = il.charts.headline_table(RUNS, "Three runs")
    assert "gt_table" in t._repr_html_()
    text = repr(t)
    assert text.startswith("Three runs\n") and "shape: (3, 8)" in text and len(text) < 3000


def test_a_lazy_frame_is_collected():
    page = il.charts.headline_table(RUNS.lazy(), "lazy").as_raw_html()
    assert "16,384" in page


def test_importing_the_charts_does_not_import_great_tables():
    code = ("import sys, infra_lab as il; il.charts.headline_table; "
            "print('great_tables' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


# ------------------------------------------------------------------ bad input


def test_not_a_frame():
    with pytest.raises(ValidationError, match=r"df = dict .*expected a polars DataFrame or LazyFrame"):
        il.charts.headline_table({"a": [1]}, "t")


@pytest.mark.parametrize("df", [pl.DataFrame({"a": []}), pl.DataFrame()])
def test_empty_frame(df):
    with pytest.raises(ValidationError, match=r"df is empty \(0 rows"):
        il.charts.headline_table(df, "t")


@pytest.mark.parametrize("title", ["", "  ", None, 3])
def test_bad_title(title):
    with pytest.raises(ValidationError, match="title = .*expected a non-empty string"):
        il.charts.headline_table(RUNS, title)


@pytest.mark.parametrize("arg", ["labels", "units", "decimals"])
def test_unknown_column_in_a_mapping_names_the_nearest(arg):
    value = {"step_time": 2 if arg == "decimals" else "x"}
    with pytest.raises(UnknownNameError) as e:
        il.charts.headline_table(RUNS, "t", **{arg: value})
    msg = str(e.value)
    assert f"headline_table({arg}=...)" in msg and "'step_time'" in msg and "Did you mean 'step_time_s'" in msg
    assert "Valid:" in msg and "accelerator" in msg


def test_unknown_percent_column():
    with pytest.raises(UnknownNameError, match=r"unknown column 'error' in headline_table\(percent=...\)\. Did you mean 'error_pct'"):
        il.charts.headline_table(RUNS, "t", percent=["error"])


def test_percent_column_must_be_numeric():
    with pytest.raises(ValidationError, match="percent column 'accelerator' has type String: expected numbers"):
        il.charts.headline_table(RUNS, "t", percent=["accelerator"])


@pytest.mark.parametrize("d", [-1, 11, 1.5, True, "2"])
def test_bad_decimals(d):
    with pytest.raises(ValidationError, match=r"decimals\['gpus'\] = .*expected an integer from 0 to 10"):
        il.charts.headline_table(RUNS, "t", decimals={"gpus": d})


@pytest.mark.parametrize("arg, value, match", [
    ("labels", ["a"], "labels = .*expected a dict"),
    ("labels", {"gpus": 3}, r"labels\['gpus'\] = 3: expected a string"),
    ("units", {"gpus": 3}, r"units\['gpus'\] = 3: expected a string or None"),
    ("sources", 42, "sources = 42: expected a string or a list of strings"),
    ("subtitle", 1.5, "subtitle = 1.5: expected a string or None"),
])
def test_bad_argument_types(arg, value, match):
    with pytest.raises(ValidationError, match=match):
        il.charts.headline_table(RUNS, "t", **{arg: value})


@pytest.mark.parametrize("highlight, match", [
    (3, r"highlight = 3: row 3 does not exist; allowed: 0 to 2"),
    ([0, -4], r"row -4 does not exist"),
    ("MI300X", "expected a row number, a list of row numbers or a boolean polars expression"),
    (True, "expected a row number"),
    (pl.col("accelerator") == "TPU", "matches no row of the 3-row frame"),
    (pl.col("gpus"), "expected a boolean expression"),
    (pl.col("gpu") > 1, r"the expression fails on the frame .*columns: accelerator, gpus"),
])
def test_bad_highlight(highlight, match):
    with pytest.raises(ValidationError, match=match):
        il.charts.headline_table(RUNS, "t", highlight=highlight)
