"""The static site (``make site``): built from the executed notebooks, viewed in the same
headless Chromium the browser test uses, with no network.

The module builds the site once (``tools/sitebuild.py``; it reuses ``build/executed/``,
which ``tests/test_notebooks.py`` writes, when fresh) and then:

* checks every page's scripts, styles and images point inside ``build/site/`` (no CDN);
* opens ``index.html`` and every notebook page from disk (``file://``) and asserts the page
  loads without script errors, every chart renders as an svg with marks, hovering a mark
  of some chart shows vega's tooltip (the charts are interactive), every widget shows its
  snapshot with the note on running it live, and no request leaves ``build/site/``;
* saves a screenshot of each page to ``build/site-screens/<page>.png``.

The site's build time is printed (``[site] built ... in N s``) and kept in
``build/site/report.json``.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

ROOT = Path(__file__).resolve().parent.parent
SITE = ROOT / "build" / "site"
SCREENS = ROOT / "build" / "site-screens"
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
PAGES = ["index.html"] + [f"{p.stem}.html" for p in NOTEBOOKS]

sys.path.insert(0, str(Path(__file__).resolve().parent))
from test_browser import ALLOWED_SCHEMES, CHROMIUM, CHROMIUM_ARGS, VIEWPORT  # noqa: E402
from test_notebooks import EXECUTED_GROUP  # noqa: E402

sys.path.insert(0, str(ROOT / "tools"))
import sitebuild  # noqa: E402

TIMINGS: dict[str, float] = {}
# Under pytest-xdist the tests of the built site (@EXECUTED_GROUP) run on one worker (the
# module's ``site`` fixture empties and rebuilds build/site/), after the notebook executions
# that write build/executed/ (tests/test_notebooks.py).


# --------------------------------------------------------------------------- the builder's parts
# (cheap, no browser: they run in the fast suite)


def _widget_notebook():
    """A notebook (plain dicts, as in the .ipynb) with the Vega bundle output, a chart and a
    widget whose saved state holds a dropdown and an Output area with a chart and text."""
    nb = {"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    chart = '<div id="c1" class="infra-lab-chart"></div><script>draw()</script>'
    state = {
        "box": {"model_name": "VBoxModel", "state": {"children": ["IPY_MODEL_dd", "IPY_MODEL_out"],
                                                      "layout": "IPY_MODEL_lay"}},
        "lay": {"model_name": "LayoutModel", "state": {}},
        "dd": {"model_name": "DropdownModel", "state": {"description": "accelerator",
                                                         "_options_labels": ["MI300X", "H100"],
                                                         "index": 1}},
        "out": {"model_name": "OutputModel", "state": {"outputs": [
            {"output_type": "display_data", "data": {"text/html": chart}, "metadata": {}},
            {"output_type": "stream", "name": "stdout", "text": "fits: <True>"}]}},
        "bar": {"model_name": "HBoxModel", "state": {"children": ["IPY_MODEL_pb"]}},
        "pb": {"model_name": "FloatProgressModel", "state": {"min": 0, "max": 12, "value": 12,
                                                              "description": "sweep"}},
    }
    nb["metadata"]["widgets"] = {sitebuild.WIDGET_STATE: {"state": state, "version_major": 2,
                                                       "version_minor": 0}}
    def output(data):
        return {"output_type": "display_data", "data": data, "metadata": {}}

    def cell(src, outputs):
        return {"cell_type": "code", "source": src, "metadata": {}, "execution_count": 1,
                "outputs": outputs}

    bundle = output({"text/html": '<script id="infra-lab-vega-bundle">/* 0.9 MB */</script>',
                     "text/plain": "x"})
    view = output({sitebuild.WIDGET_VIEW: {"model_id": "box", "version_major": 2, "version_minor": 0},
                   "text/plain": "VBox(...)"})
    bar = output({sitebuild.WIDGET_VIEW: {"model_id": "bar", "version_major": 2, "version_minor": 0}})
    nb["cells"] = [cell("setup", [bundle]), cell("chart", [output({"text/html": chart})]),
                   cell("widget", [view]), cell("progress", [bar])]
    return nb


def test_prepare_makes_widgets_static_and_drops_the_bundle():
    nb = _widget_notebook()
    counts = sitebuild.prepare(nb, "09_x.ipynb")
    assert counts == {"charts": 2, "widgets": 2, "interactive": 1, "bundles": 1}
    assert nb["cells"][0]["outputs"] == [] and "widgets" not in nb["metadata"]
    html = nb["cells"][2]["outputs"][0]["data"]["text/html"]
    assert list(nb["cells"][2]["outputs"][0]["data"]) == ["text/html"]
    assert 'class="il-widget"' in html and 'class="infra-lab-chart"' in html
    assert ">accelerator<" in html and ">H100<" in html          # the control's initial value
    assert "fits: &lt;True&gt;" in html                            # Output text, escaped
    assert "make lab" in html and "notebooks/09_x.ipynb" in html  # how to run it live
    bar = nb["cells"][3]["outputs"][0]["data"]["text/html"]        # a progress bar: nothing to move
    assert '<progress class="il-w-progress" max="12" value="12">' in bar and "make lab" not in bar


def test_executed_copy_is_reused_only_when_newer_than_notebook_and_sources(tmp_path, monkeypatch):
    monkeypatch.setattr(sitebuild, "EXECUTED", tmp_path / "executed")
    nb_path = tmp_path / "01_x.ipynb"
    nb_path.write_text("{}")
    assert not sitebuild.is_fresh(nb_path, src_mtime=0.0)          # no copy yet
    saved = sitebuild.executed_path(nb_path)
    saved.parent.mkdir()
    saved.write_text("{}")
    os.utime(nb_path, (1000, 1000))
    os.utime(saved, (2000, 2000))
    assert sitebuild.is_fresh(nb_path, src_mtime=1500.0)
    assert not sitebuild.is_fresh(nb_path, src_mtime=2500.0)        # package changed since
    os.utime(nb_path, (3000, 3000))
    assert not sitebuild.is_fresh(nb_path, src_mtime=0.0)           # notebook changed since


def test_title_and_question_skip_navigation_lines():
    nb = {"cells": [
        {"cell_type": "code", "source": "x = 1", "metadata": {}, "outputs": [], "execution_count": None},
        {"cell_type": "markdown", "metadata": {}, "source":
         ["# 03 · Interconnect\n", "\n", "[← 02](02_a.ipynb) · [index](00_index.ipynb)\n\n",
          "**Question.** What does a [rail](x.md) carry?\n\nMore."]}], "metadata": {}}
    assert sitebuild.title_and_question(nb, "f") == ("03 · Interconnect", "Question. What does a rail carry?")


# --------------------------------------------------------------------------- the built site


@pytest.fixture(scope="module")
def site():
    """Build the site once (tools/sitebuild.py as a subprocess, as `make site` runs it)."""
    t0 = time.perf_counter()
    res = subprocess.run([sys.executable, str(ROOT / "tools" / "sitebuild.py")], cwd=ROOT,
                         capture_output=True, text=True, timeout=1800)
    TIMINGS["build"] = time.perf_counter() - t0
    assert res.returncode == 0, f"tools/sitebuild.py failed:\n{res.stdout[-3000:]}\n{res.stderr[-3000:]}"
    report = json.loads((SITE / "report.json").read_text())
    print("\n" + "\n".join(ln for ln in res.stdout.splitlines() if ln.startswith("[site]")))
    return report


@pytest.fixture(scope="module")
def browser(site):
    if not (os.path.isfile(CHROMIUM) and os.access(CHROMIUM, os.X_OK)):
        pytest.fail(f"{CHROMIUM} is missing: run `.venv/bin/python tests/browser_setup.py`")
    from playwright.sync_api import sync_playwright

    tmp = Path(tempfile.mkdtemp(prefix="infra_lab_site_"))
    env = dict(os.environ, HOME=str(tmp), XDG_CONFIG_HOME=str(tmp / ".config"),
               XDG_CACHE_HOME=str(tmp / ".cache"))
    SCREENS.mkdir(parents=True, exist_ok=True)
    try:
        with sync_playwright() as p:
            ctx = p.chromium.launch_persistent_context(
                str(tmp / "profile"), executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS,
                env=env, viewport=VIEWPORT, device_scale_factor=1, timeout=60_000)
            try:
                yield ctx
            finally:
                ctx.close()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


@pytest.mark.browser
@EXECUTED_GROUP
def test_every_notebook_has_a_page(site):
    assert set(site["pages"]) == set(PAGES), f"pages {sorted(site['pages'])}, expected {PAGES}"
    index = (SITE / "index.html").read_text()
    for page in PAGES[1:]:
        assert f'href="{page}"' in index, f"index.html does not link {page}"
    assert (SITE / "static" / "vega.js").stat().st_size > 100_000


_REF = re.compile(r'<(script|link|img|iframe|source|embed)\b[^>]*?\b(src|href)\s*=\s*"([^"]*)"', re.I)


@pytest.mark.browser
@EXECUTED_GROUP
def test_pages_reference_only_the_site_folder(site):
    """Every script, stylesheet and image a page loads is a file under build/site/ (or a
    data: URL); the Vega bundle is a file the pages share, not a copy per page."""
    bad = []
    for page in PAGES:
        text = (SITE / page).read_text()
        for tag, _attr, url in _REF.findall(text):
            if url.startswith("data:"):
                continue
            target = (SITE / unquote(url)).resolve()
            if urlsplit(url).scheme or not target.is_relative_to(SITE) or not target.is_file():
                bad.append(f"{page}: <{tag}> {url}")
        assert 'id="infra-lab-vega-bundle"' not in text, f"{page} carries its own Vega bundle"
        assert "application/vnd.jupyter.widget-state+json" not in text, f"{page} loads a widget manager"
    assert not bad, "references outside the site folder:\n" + "\n".join(bad)


JS_CHARTS = """() => [...document.querySelectorAll('.infra-lab-chart')].map(e => {
  const svg = e.querySelector('svg');
  return {
    svg: !!svg,
    marks: svg ? svg.querySelectorAll('g.role-mark > *').length : 0,
    text: svg ? '' : e.textContent.slice(0, 200),
  };
})"""

JS_SETTLED = """() => [...document.querySelectorAll('.infra-lab-chart')].every(e =>
  e.querySelector('svg g.role-mark') || /error|not loaded/i.test(e.textContent))"""

# Scroll chart i's first mark into view and return its centre (None when it has none).
JS_MARK_CENTRE = """(i) => {
  const svg = document.querySelectorAll('.infra-lab-chart svg')[i];
  const item = svg && svg.querySelector('g.role-mark path, g.role-mark rect, g.role-mark circle, g.role-mark line');
  if (!item) return null;
  item.scrollIntoView({block: 'center'});
  const r = item.getBoundingClientRect();
  return (r.width > 0 || r.height > 0) ? {x: r.x + r.width / 2, y: r.y + r.height / 2} : null;
}"""

JS_TOOLTIP_SHOWN = """() => { const t = document.getElementById('vg-tooltip-element');
  return !!t && t.classList.contains('visible') && t.textContent.trim().length > 0; }"""


def _outside(urls: list[str]) -> list[str]:
    bad = []
    for url in urls:
        parts = urlsplit(url)
        if parts.scheme in ALLOWED_SCHEMES:
            continue
        if parts.scheme == "file" and Path(unquote(parts.path)).resolve().is_relative_to(SITE):
            continue
        bad.append(url)
    return bad


@pytest.mark.browser
@EXECUTED_GROUP
@pytest.mark.parametrize("page_name", PAGES)
def test_page_in_browser(page_name, site, browser, capsys):
    info = site["pages"][page_name]
    requests: list[str] = []
    page_errors: list[str] = []
    page = browser.new_page()
    page.on("request", lambda r: requests.append(r.url))
    page.on("websocket", lambda ws: requests.append(ws.url))
    page.on("pageerror", lambda e: page_errors.append(str(e)))
    t0 = time.perf_counter()
    try:
        page.goto((SITE / page_name).as_uri(), wait_until="load", timeout=60_000)
        page.wait_for_function(JS_SETTLED, timeout=60_000, polling=200)
        charts = page.evaluate(JS_CHARTS)
        assert len(charts) == info["charts"], (
            f"{page_name}: {len(charts)} charts on the page, the notebook has {info['charts']}")
        bad = [c for c in charts if not c["svg"] or c["marks"] == 0]
        assert not bad, f"{page_name}: charts without marks: {bad}"

        widgets = page.locator(".il-widget").count()
        assert widgets == info["widgets"], f"{page_name}: {widgets} widget snapshots, expected {info['widgets']}"
        notes = page.locator(".il-widget .il-w-note").count()
        assert notes == info["interactive"], (
            f"{page_name}: {notes} notes on running a widget live, {info['interactive']} widgets with controls")
        if info["interactive"]:
            assert page.locator(".il-widget .il-w-control").count() > 0, f"{page_name}: widget controls missing"

        page.screenshot(path=str(SCREENS / page_name.replace(".html", ".png")), full_page=True)

        if charts:  # interactive: hovering a mark shows vega's tooltip on some chart
            shown = False
            for i in range(min(len(charts), 8)):
                xy = page.evaluate(JS_MARK_CENTRE, i)
                if xy is None:
                    continue
                page.mouse.move(xy["x"], xy["y"])
                page.wait_for_timeout(200)
                shown = page.evaluate(JS_TOOLTIP_SHOWN)
                if shown:
                    break
            assert shown, f"{page_name}: no chart showed a tooltip when hovering a mark"

        assert not page_errors, f"{page_name}: script errors: {page_errors[:5]}"
        outside = _outside(requests)
        assert not outside, f"{page_name}: requests left build/site/:\n" + "\n".join(sorted(set(outside)))
        assert any(u.endswith("static/vega.js") for u in requests) or page_name == "index.html"
    finally:
        page.close()
        TIMINGS[page_name] = time.perf_counter() - t0
        with capsys.disabled():
            print(f"\n[site] {page_name}: {TIMINGS[page_name]:.1f} s, {len(requests)} requests, "
                  f"all inside build/site: {not _outside(requests)}")
