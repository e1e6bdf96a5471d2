"""Every notebook executes headless, each within its timeout, is committed clean, and
executes to a light file (≤ 2 MB: the Vega bundle once, charts as small specs).

Executed notebooks are saved to build/executed/ for the static site (tools/sitebuild.py
reuses them when they are newer than the notebook and the package sources), so that CI
does not execute every notebook once more to build the site."""

import json
import os
import re
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
TIMEOUT_S = int(os.environ.get("INFRA_LAB_NB_TIMEOUT", "240"))
TIMINGS: dict[str, float] = {}
MAX_EXECUTED_BYTES = 2_000_000   # an executed notebook, as saved [B]


def _tools():
    import sys

    if str(ROOT / "tools") not in sys.path:
        sys.path.insert(0, str(ROOT / "tools"))


def _setup_cell() -> str:
    _tools()
    from nbbuild import SETUP_CELL

    return SETUP_CELL


def test_there_are_notebooks():
    names = [p.name for p in NOTEBOOKS]
    assert "00_index.ipynb" in names and "01_the_deployment.ipynb" in names


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_committed_without_outputs(path):
    nb = json.loads(path.read_text())
    for cell in nb["cells"]:
        if cell["cell_type"] == "code":
            assert cell.get("outputs") == [], f"{path.name}: a code cell has outputs"
            assert cell.get("execution_count") is None, f"{path.name}: execution counts present"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_first_cell_is_the_setup_cell(path):
    nb = json.loads(path.read_text())
    first = nb["cells"][0]
    assert first["cell_type"] == "code"
    assert "".join(first["source"]) == _setup_cell()


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_committed_notebook_equals_its_generator(path, tmp_path, monkeypatch):
    """The .ipynb in notebooks/ is exactly what tools/notebooks/<name>.py writes (edit the
    generator, then run it; never edit the notebook by hand)."""
    import runpy
    import sys

    gen = ROOT / "tools" / "notebooks" / f"{path.stem}.py"
    assert gen.is_file(), f"{path.name} has no generator {gen.relative_to(ROOT)}"
    monkeypatch.syspath_prepend(str(ROOT / "tools"))
    import nbbuild

    monkeypatch.setattr(nbbuild, "NB_DIR", tmp_path)
    monkeypatch.setattr(sys, "argv", [str(gen)])
    runpy.run_path(str(gen), run_name="__main__")
    fresh = tmp_path / path.name
    assert fresh.is_file(), f"{gen.name} did not write {path.name}"
    assert json.loads(fresh.read_text()) == json.loads(path.read_text()), (
        f"{path.name} differs from what {gen.relative_to(ROOT)} writes: run "
        f"`.venv/bin/python {gen.relative_to(ROOT)}` and commit the result")


def test_every_generator_has_its_notebook():
    gens = sorted(p.stem for p in (ROOT / "tools" / "notebooks").glob("[0-9][0-9]_*.py"))
    assert gens == [p.stem for p in NOTEBOOKS]


def test_notebook_code_passes_the_linter():
    """The code cells pass ruff like the package does (ruff reads .ipynb files; the
    generators hold the code as strings, which ruff cannot see there)."""
    import shutil
    import subprocess
    import sys

    ruff = shutil.which("ruff", path=str(Path(sys.executable).parent))
    assert ruff, "ruff is a dev dependency; run `make setup`"
    out = subprocess.run([ruff, "check", "--output-format", "concise", *map(str, NOTEBOOKS)],
                         cwd=ROOT, capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr


def test_index_links_every_notebook():
    index = (ROOT / "notebooks" / "00_index.ipynb").read_text()
    for p in NOTEBOOKS:
        if p.name != "00_index.ipynb":
            assert p.name in index, f"00_index.ipynb does not link {p.name}"


# A quantity with a unit typed into a notebook's prose (markdown, or the literal text of a string
# that builds prose) goes stale when the data or the model moves: the prose prints it from the
# value instead. Literals that are inputs rather than results (a message size, a definition) are
# kept by name in PROSE_LITERALS_REVIEWED. The units: sizes, rates and powers (notebooks 00-04),
# times, lengths and GPU-hours (05-09), a dollar amount ("$2.63", "$35M"), and the counts a
# scenario or a model preset holds (GPUs, tokens, layers, experts: notebook 02 typed ZAYA1's
# "16 expert weights" and its scenario's "micro-batch 2 of 4,096 tokens" on "8 GPUs"), and the
# counts a data table or a Monte Carlo holds (notebook 02 typed the "1,470 shapes" of aiter's
# MXFP4 table, which its cell counts).
_UNITS = (r"(?:%|µs|us|ns|MiB|KiB|MB|kB|Gb/s|GB/s|GB|GiB|TB/s|TB|ms|s|min|h|hours|days|weeks|months|years|px|TFLOP/s|PFLOP/s|PFLOPs|"
          r"TFLOP|GFLOP|W|kW|MW|kWh|MWh|tokens/s|GPU-hours|GPU-h|tokens|experts|expert weights|GPUs|layers|shapes|draws|replicas)")
_TYPED_QUANTITY = re.compile(r"(?<![\w.\-/`\[{:])\d[\d,]*(?:\.\d+)?\s?" + _UNITS + r"(?![\w/])"
                             r"|\$\s?\d[\d,]*(?:\.\d+)?")
PROSE_SCANNED = ("00_index", "01_the_deployment", "02_compute_and_memory", "03_interconnect", "04_training_zaya1", "05_economics",
                 "06_reliability", "07_serving_maia", "08_expansion_2026", "09_multimodal_maia")
PROSE_LITERALS_REVIEWED: dict[str, set[str]] = {
    # the label of an input GEMM (1024³ × 2 FLOP); Llama 3 70B's published shape in the hand
    # derivation of its KV bytes printed beside the package's value
    "02_compute_and_memory": {"2 GFLOP", "80 layers"},
    "03_interconnect": {"8 GPUs"},             # the input configurations of the partial-domain cases
    "04_training_zaya1": {"96GB"},             # a variant's key
    "05_economics": {"90 %"},                  # the definition of P5–P95: the middle 90 % of outcomes
}


def _prose_pieces(cell) -> list[str]:
    """The prose of a cell: a markdown cell whole; of a code cell, each string literal with its
    f-string fields blanked (what the cell computes is not typed)."""
    import io
    import tokenize

    if cell.cell_type == "markdown":
        return [cell.source]
    toks = tokenize.generate_tokens(io.StringIO(cell.source).readline)
    return [re.sub(r"\{[^{}]*\}", "{}", t.string) for t in toks if t.type == tokenize.STRING]


def typed_quantities(nb, name: str = "") -> list[str]:
    """The quantities with a unit typed into notebook ``nb``'s prose (setup cell skipped)."""
    reviewed = PROSE_LITERALS_REVIEWED.get(name, set())
    found = []
    for i, cell in enumerate(nb.cells[1:], start=1):
        for piece in _prose_pieces(cell):
            piece = re.sub(r"https?://\S+", "", piece)
            found += [f"cell {i}: {m.group(0)!r}" for m in _TYPED_QUANTITY.finditer(piece)
                      if m.group(0) not in reviewed]
    return found


def test_typed_quantities_are_caught():
    """The scan finds a typed result and leaves computed ones alone."""
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("pass"),
                nbformat.v4.new_markdown_cell("The step takes 329 ms; see [04](04_x.ipynb)."),
                nbformat.v4.new_code_cell('md(f"at 400 Gb/s the NIC is {share:.0%} busy, {x:,.0f} GB in all")'),
                nbformat.v4.new_markdown_cell("Owned, a GPU-hour costs $2.01; a restart takes 18 min over 4 years."),
                nbformat.v4.new_code_cell('md(f"the bill is ${bill:,.1f}M, the run {days:.1f} days, 30 s of audio")'),
                nbformat.v4.new_markdown_cell("Micro-batch 2 of 4,096 tokens on 8 GPUs, 16 experts, 40 layers."),
                nbformat.v4.new_code_cell('md(f"casts all {n} expert weights, 16 expert weights, {s:,} tokens")'),
                nbformat.v4.new_markdown_cell("A post costs 1 µs on Intel, 2 us on AMD; a 256 MiB bucket, 40 MB of logits."),
                nbformat.v4.new_code_cell('md(f"{t:g} µs per message, {b / 2**20:.0f} MiB")'),
                nbformat.v4.new_markdown_cell("For each of 1,470 shapes, over 20,000 draws, 8 replicas.")]
    assert typed_quantities(nb) == ["cell 1: '329 ms'", "cell 2: '400 Gb/s'", "cell 3: '$2.01'", "cell 3: '18 min'",
                                    "cell 3: '4 years'", "cell 4: '30 s'", "cell 5: '4,096 tokens'", "cell 5: '8 GPUs'",
                                    "cell 5: '16 experts'", "cell 5: '40 layers'", "cell 6: '16 expert weights'",
                                    "cell 7: '1 µs'", "cell 7: '2 us'", "cell 7: '256 MiB'", "cell 7: '40 MB'",
                                    "cell 9: '1,470 shapes'", "cell 9: '20,000 draws'", "cell 9: '8 replicas'"]


@pytest.mark.parametrize("name", PROSE_SCANNED)
def test_prose_prints_its_quantities(name):
    """Notebook prose prints every quantity with a unit from the value it computes, never types it."""
    import nbformat

    bad = typed_quantities(nbformat.read(ROOT / "notebooks" / f"{name}.ipynb", as_version=4), name)
    assert not bad, f"{name}: quantities typed into prose (print them from the computed value): {bad}"

CHART_AXES_CHECKED = tuple(p.stem for p in NOTEBOOKS)
"""Notebooks whose every shown chart (their explorers' first charts included) is checked for
units on its axes once executed: all of them."""


def _shape(out) -> str:
    m = re.search(r"shape: \(\d+, \d+\)", "".join(out.get("data", {}).get("text/plain", "")))
    return m.group(0) if m else "a table"


def executed_table_problems(nb) -> list[str]:
    """The faults of the polars tables an executed notebook shows (cells and widget outputs):
    a string cut short ("… DeepSee…": the reasons and notes a reader came for end mid-word; the
    setup cell sets fmt_str_lengths), and a table longer than the setup cell's tbl_rows, whose
    middle rows polars elides (a row of "…": notebook 07's 46 test points showed 30, notebook
    03's 130 collective cases 30) — show them all or aggregate."""
    from test_chart_axes import executed_outputs

    bad = []
    for where, out in executed_outputs(nb):
        html = "".join(out.get("data", {}).get("text/html", ""))
        cut = re.findall(r"<td>(&quot;[^<]*…)</td>", html)
        if cut:
            bad.append(f"{where}: a table cuts {len(cut)} string(s) short, e.g. {cut[0]}")
        if "<tr><td>&hellip;</td>" in html:
            bad.append(f"{where}: a table hides rows ({_shape(out)})")
    return bad


SIGNED_ZERO = re.compile(r"(?<![\w.+\-−])[-−+]0(?:\.0+)?(?![\w.])")
"""A zero printed with a sign ("-0.0 %", "+0 %", "+0.0 points"): a signed figure that rounds to
zero reads 0 / 0.0 (infra_lab.printout.signed, infra_lab.printout.unsigned_zero, or
``.round(1).replace(0.0, 0.0)`` on a shown table's column). "+0.5", "+05", "1e+00" and
"2.0-0.0" are not zeros with a sign."""


def executed_signed_zeros(nb) -> list[str]:
    """Where an executed notebook's text (printed, markdown, a table's plain text) shows a
    zero with a sign ("-0.0", "+0"); HTML and chart specs (script text) are not read."""
    from test_chart_axes import executed_outputs

    bad = []
    for where, out in executed_outputs(nb):
        data = out.get("data", {})
        text = "".join(out.get("text", "")) + "".join(
            "".join(data.get(k, "")) for k in ("text/plain", "text/markdown"))
        bad += [f"{where}: ...{text[max(0, m.start() - 40):m.end() + 10]!r}" for m in SIGNED_ZERO.finditer(text)]
    return bad


def test_the_signed_zero_check_catches_a_minus_zero():
    """Notebook 02 printed "( -0.0 %)" for a GEMM at its published rate and notebook 03 "-0.0 %
    (train)" for an RCCL case; planted outputs like them are caught, real signs and figures are not."""
    import nbformat

    out = nbformat.v4.new_output
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("pass", outputs=[out("stream", name="stdout", text="shape ( -0.0 %), ok")]),
                nbformat.v4.new_code_cell("pass", outputs=[out("display_data", data={"text/markdown": "errors -0.0 % and −0 %"})]),
                nbformat.v4.new_code_cell("pass", outputs=[out("stream", name="stdout", text=(
                    "0.0 %, -0.05, -0.1 %, 10.0, x-0, 1e-07, 2.0-0.0"))])]
    bad = executed_signed_zeros(nb)
    assert len(bad) == 3 and bad[0].startswith("cell 0:") and bad[1].startswith("cell 1:") and bad[2].startswith("cell 1:"), bad


def test_the_signed_zero_check_catches_a_plus_zero():
    """Notebook 07 printed "median error +0 %" and notebook 05 "IRR moves by +0.0 points" (a
    signed format's zero); planted outputs like them are caught, "+0.5", "+05", an exponent's
    "e+00" and a time zone's "UTC+0" are not."""
    import nbformat

    out = nbformat.v4.new_output
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("pass", outputs=[out("display_data", data={"text/markdown": (
                    "12 train points, median error +0 %; the IRR moves by +0.0 points")})]),
                nbformat.v4.new_code_cell("pass", outputs=[out("stream", name="stdout", text="(+0.00%) done")]),
                nbformat.v4.new_code_cell("pass", outputs=[out("stream", name="stdout", text=(
                    "+0.5 %, +05, 1.2e+00, UTC+0, +10 %, 3+0.0, 0 %, 0.0 points, +0.05"))])]
    bad = executed_signed_zeros(nb)
    assert [b.split(":")[0] for b in bad] == ["cell 0", "cell 0", "cell 1"], bad
    from infra_lab.printout import signed

    assert not SIGNED_ZERO.search(" ".join(signed(v, f) for v in (0.04, -0.04, -0.0, 0.0, 0.004)
                                           for f in (0, 1, 2)) + " " + signed(0.004, 0, percent=True))


def executed_tooltip_problems(nb) -> list[str]:
    """The tooltip faults of every chart an executed notebook shows, its explorers' charts and
    charts a notebook composes included: a quantitative line without a number format or without
    a unit in its title, a line that shows a column's name (tests/test_chart_tooltips.py checks
    the chart builders one by one)."""
    from test_chart_axes import executed_chart_specs
    from test_chart_tooltips import tooltip_name_problems, tooltip_problems, tooltip_unit_problems

    return [f"{where} {str(title)[:40]!r}: {p}"
            for where, title, spec in executed_chart_specs(nb)
            for p in tooltip_problems(spec) + tooltip_unit_problems(spec) + tooltip_name_problems(spec)]


def chart_is_titled(spec: dict) -> bool:
    """A chart says what it shows: it has a title, or each chart of a concatenation has one, or
    one layer of a layered chart has one (Vega-Lite shows a layer's title for the whole)."""
    if spec.get("title"):
        return True
    for key in ("hconcat", "vconcat", "concat"):
        if key in spec:
            return all(chart_is_titled(s) for s in spec[key])
    if "layer" in spec:
        return any(chart_is_titled(s) for s in spec["layer"])
    return "spec" in spec and chart_is_titled(spec["spec"])


def executed_untitled_charts(nb) -> list[str]:
    """Where an executed notebook shows a chart (its explorers' included) without a title."""
    from test_chart_axes import executed_outputs

    dec, bad = json.JSONDecoder(), []
    for where, out in executed_outputs(nb):
        html = "".join(out.get("data", {}).get("text/html", ""))
        bad += [where for m in re.finditer(r"var spec = ", html) if not chart_is_titled(dec.raw_decode(html, m.end())[0])]
    return bad


def test_the_title_check_catches_an_untitled_chart():
    assert chart_is_titled({"title": "x", "mark": "bar"})
    assert chart_is_titled({"layer": [{"mark": "rule"}, {"title": "x", "mark": "bar"}]})
    assert not chart_is_titled({"mark": "bar"})
    assert not chart_is_titled({"hconcat": [{"title": "a", "mark": "bar"}, {"mark": "bar"}]})
    assert chart_is_titled({"facet": {}, "spec": {"title": "x", "mark": "bar"}})


def test_the_table_check_catches_hidden_rows_and_cut_strings():
    """Planted faults, rendered by polars under the setup cell's settings: a table longer than
    tbl_rows and a string longer than fmt_str_lengths are caught, in a cell and in a widget's
    saved outputs; the same table shown whole passes."""
    import nbformat
    import polars as pl

    long = pl.DataFrame({"case": [f"c{i}" for i in range(31)], "x": list(range(31))})
    note = pl.DataFrame({"reason": ["x" * 1001]})

    def shown(df, **cfg):
        with pl.Config(**{"tbl_rows": 30, "fmt_str_lengths": 1000, **cfg}):
            return nbformat.v4.new_output("execute_result", data={"text/html": df._repr_html_(),
                                                                  "text/plain": repr(df)})

    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("pass", outputs=[shown(long)]),
                nbformat.v4.new_code_cell("pass", outputs=[shown(note)]),
                nbformat.v4.new_code_cell("pass", outputs=[shown(long, tbl_rows=long.height)])]
    nb.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json": {"state": {
        "0123456789ab": {"model_name": "OutputModel", "state": {"outputs": [shown(long)]}}}}}
    bad = executed_table_problems(nb)
    assert len(bad) == 3, bad
    assert bad[0] == "cell 0: a table hides rows (shape: (31, 2))"
    assert bad[1].startswith("cell 1: a table cuts 1 string(s) short")
    assert bad[2] == "widget OutputModel 01234567: a table hides rows (shape: (31, 2))"


POLL_SLICE_S = 1.0   # longest single wait on a kernel channel [s]


def _sliced_polls(channel) -> None:
    """Make ``channel.get_msg(timeout)`` wait in slices of at most :data:`POLL_SLICE_S`.

    With ipywidgets in a cell, a message that has arrived can sit unnoticed until the whole
    wait runs out (jupyter/nbclient#312: the cell after an explorer widget then stalls for the
    full cell timeout, then goes on). A fresh poll sees a message that is already there, so
    polling in short slices bounds such a stall to one slice. Same results, same timeouts."""
    import time
    from queue import Empty

    get_msg = channel.get_msg

    async def sliced(timeout=None):
        end = None if timeout is None else time.monotonic() + timeout
        while True:
            left = POLL_SLICE_S if end is None else max(0.0, end - time.monotonic())
            try:
                return await get_msg(timeout=min(POLL_SLICE_S, left))
            except Empty:
                if end is not None and time.monotonic() >= end:
                    raise

    channel.get_msg = sliced


def _notebook_client(nb, path):
    import nbclient

    class Client(nbclient.NotebookClient):
        async def async_start_new_kernel_client(self):
            kc = await super().async_start_new_kernel_client()
            for channel in (kc.shell_channel, kc.iopub_channel):
                _sliced_polls(channel)
            return kc

    return Client(nb, timeout=TIMEOUT_S, kernel_name="python3",
                  resources={"metadata": {"path": str(path.parent)}})


EXECUTED_GROUP = pytest.mark.xdist_group("executed_notebooks")
"""Under pytest-xdist the notebook executions and the static site's tests (tests/test_site.py,
which builds the site from build/executed/) run on one worker, in that order: the site then
reuses the fresh executions instead of executing every notebook once more, and no worker
rebuilds build/site/ while another reads it."""


@pytest.mark.notebook
@EXECUTED_GROUP
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_executes(path, tmp_path):
    import nbformat

    nb = nbformat.read(path, as_version=4)
    client = _notebook_client(nb, path)
    t0 = time.perf_counter()
    client.execute()
    TIMINGS[path.name] = time.perf_counter() - t0
    for cell in nb.cells:
        if cell.cell_type == "code":
            for out in cell.get("outputs", []):
                assert out.get("output_type") != "error", f"{path.name}: {out.get('ename')}: {out.get('evalue')}"
    bad_tables = executed_table_problems(nb)
    assert not bad_tables, f"{path.name}: {bad_tables}"
    signed_zeros = executed_signed_zeros(nb)
    assert not signed_zeros, f"{path.name}: a zero printed with a sign: {signed_zeros}"
    if path.stem in CHART_AXES_CHECKED:
        from test_chart_axes import executed_chart_problems

        bad = executed_chart_problems(nb)
        assert not bad, f"{path.name}: chart axes without a unit in brackets: {bad}"
        bad_tips = executed_tooltip_problems(nb)
        assert not bad_tips, f"{path.name}: tooltip lines without a format or a unit: {bad_tips}"
        untitled = executed_untitled_charts(nb)
        assert not untitled, f"{path.name}: charts with no title saying what they show: {untitled}"
    _tools()
    from sitebuild import save_executed

    saved = save_executed(nb, path)   # build/executed/<name>, reused by `make site`
    size = saved.stat().st_size
    print(f"\n{path.name}: executed in {TIMINGS[path.name]:.1f} s, {size / 1e6:.2f} MB")
    biggest = sorted(((len(json.dumps(o)), i) for i, c in enumerate(nb.cells) if c.cell_type == "code"
                      for o in c.get("outputs", [])), reverse=True)[:3]
    assert size <= MAX_EXECUTED_BYTES, (
        f"{path.name}: the executed notebook weighs {size / 1e6:.2f} MB > {MAX_EXECUTED_BYTES / 1e6:.0f} MB; "
        f"largest outputs (bytes, cell): {biggest} — chart builders should embed only the columns "
        f"they encode (aggregate or limit rows)")
