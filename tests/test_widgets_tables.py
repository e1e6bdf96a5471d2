"""The explorers' tables show every character of every cell: the reason a deployment cannot
run, the configuration a search chose and the note on a global batch are the rows a user
reads, and polars' display limits (32 characters per string by default, 80 in the notebooks'
setup cell) cut them mid-sentence."""

import html
import re

import ipywidgets  # noqa: F401  (a dependency: a missing one fails here, not skips)
import polars as pl
import pytest

import infra_lab as il


def _cells(value: str) -> list[str]:
    return [html.unescape(c).strip('"') for c in re.findall(r"<td>(.*?)</td>", value, re.S)]


@pytest.mark.parametrize("session_limit", [None, 80])   # a user's own notebook; a narrower session
def test_serving_explorer_shows_the_whole_reason_and_configuration(session_limit):
    with pl.Config(fmt_str_lengths=session_limit) if session_limit else pl.Config():
        box = il.widgets.serving_explorer()
        box.controls["precision"].value = "fp4"            # MI300X has no FP4 tensor cores
        why = il.widgets.serving_update(precision="fp4")[0]["configuration"][0]
        assert len(why) > 80 and why in _cells(box.children[1].value)
        box.controls["precision"].value = "fp8"
        box.controls["tpot_target_ms"].value = 20
        s, _ = box.update()
        assert s.height == 2 and len(s["configuration"][1]) > 32
        assert s["configuration"][1] in _cells(box.children[1].value)


def test_training_explorer_shows_the_whole_note():
    box = il.widgets.training_explorer()
    box.controls["global_batch"].value = 512
    box.controls["gpus"].value = 4096                     # batch below the GPU count: a long note
    s, _ = box.update()
    note, plan = s["note"][0], s["plan"][0]
    assert len(note) > 80
    cells = _cells(box.children[1].value)
    assert note in cells and plan in cells


def test_multimodal_explorer_shows_every_cell_whole():
    box = il.widgets.multimodal_explorer()
    s, _ = box.update()
    cells = _cells(box.children[1].value)
    for col in s.columns:
        if s[col].dtype == pl.String:
            assert s[col][0] in cells, col


def test_a_missing_value_reads_as_a_dash_not_null():
    """One output token has no TPOT (il.serve gives None); the serving explorer's table printed
    polars' 'null' there. A string that says null is data and keeps its quotes."""
    from infra_lab.widgets._layout import frame_html
    from infra_lab.widgets.serving import serving_update

    s, _ = serving_update("llama3.3-70b", "MI300X", "vllm", "fp8", 4, 8, output_tokens=1)
    assert s["tpot_ms"][0] is None
    out = frame_html(s)
    assert "<td>null</td>" not in out and "<td>—</td>" in out
    assert "&quot;null&quot;" in frame_html(pl.DataFrame({"note": ["null"], "x": [None]}, schema={"note": pl.String, "x": pl.Float64}))


def test_summary_headers_read_in_words_with_units():
    """The explorers' tables head their columns as the notebooks' tables do (column_label):
    "step time [s]", "TTFT [s]", "M USD", not the frame's names step_time_s, ttft_s, musd."""
    import re

    from infra_lab.widgets._layout import frame_html

    heads = re.findall(r"<th>([^<]*)</th>", frame_html(pl.DataFrame(
        {"step_time_s": [0.3], "ttft_s": [0.2], "musd": [1.0], "nic_busy_fraction": [0.5], "plan": ["x"]})))
    assert heads == ["step time [s]", "TTFT [s]", "M USD", "nic busy [-]", "plan"]
    # two names that would read alike keep their names (no header is lost)
    assert re.findall(r"<th>([^<]*)</th>", frame_html(pl.DataFrame({"a_s": [1.0], "a [s]": [2.0]}))) == ["a_s", "a [s]"]
