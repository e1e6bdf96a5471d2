"""Build the static site of the executed notebooks: ``make site`` (or ``python tools/sitebuild.py``).

Writes ``build/site/``:

* ``index.html``: one entry per notebook (title, the question it answers, a link);
* ``NN_name.html``: each notebook, executed, through nbconvert's HTML exporter with the
  template in ``tools/site_template/`` (JupyterLab's look, code cells and outputs);
* ``static/``: ``vega.js`` (Vega, Vega-Lite and vega-embed from vl-convert, written ONCE and
  loaded by every page), ``notebook.css`` (nbconvert's JupyterLab stylesheet, from the
  installed package), ``site.css`` and ``site.js`` (this file's own).

The site needs no network at all, to build or to view: every script and style comes from
``static/``; the exporter's require.js, MathJax, Mermaid and widget-manager CDN links are
removed by the template. Charts are the light renderer's outputs (``il.charts``): small
inline scripts calling the page's one ``vegaEmbed``, interactive as in JupyterLab. Widgets
need a kernel, so each is shown as its initial state — the controls as static labels and
the charts and tables its Output areas held — with a note on running it live (``make lab``).

Executed notebooks are reused from ``build/executed/`` (``tests/test_notebooks.py`` writes
them there) when they are newer than both the notebook and the package sources
(``infra_lab/``, ``data/``); otherwise the notebook is executed here with nbclient and saved
there for next time. ``--execute`` forces execution.

    python tools/sitebuild.py [--out build/site] [--execute] [--timeout 300]
"""

from __future__ import annotations

import argparse
import html
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NB_DIR = ROOT / "notebooks"
EXECUTED = ROOT / "build" / "executed"
SITE = ROOT / "build" / "site"
TEMPLATE_DIR = Path(__file__).resolve().parent / "site_template"
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
BUNDLE_MARK = 'id="infra-lab-vega-bundle"'
CHART_MARK = 'class="infra-lab-chart"'


def log(msg: str) -> None:
    print(f"[site] {msg}", flush=True)


# --------------------------------------------------------------------------- executed notebooks


def notebooks() -> list[Path]:
    return sorted(NB_DIR.glob("[0-9][0-9]_*.ipynb"))


def sources_mtime() -> float:
    """Newest modification time of the package sources and data (what an executed notebook
    depends on besides the notebook itself)."""
    newest = 0.0
    for top in (ROOT / "infra_lab", ROOT / "data"):
        for dirpath, dirnames, filenames in os.walk(top):
            dirnames[:] = [d for d in dirnames if d != "__pycache__"]
            for f in filenames:
                if f.endswith((".pyc", ".nbi", ".nbc")):
                    continue
                newest = max(newest, os.stat(os.path.join(dirpath, f)).st_mtime)
    return newest


def executed_path(nb_path: Path) -> Path:
    return EXECUTED / nb_path.name


def is_fresh(nb_path: Path, src_mtime: float | None = None) -> bool:
    """True when build/executed/<name> is newer than the notebook and the package sources."""
    out = executed_path(nb_path)
    if not out.is_file():
        return False
    src = sources_mtime() if src_mtime is None else src_mtime
    return out.stat().st_mtime > max(nb_path.stat().st_mtime, src)


def save_executed(nb, nb_path: Path) -> Path:
    """Write an executed notebook to build/executed/<name> (atomically)."""
    import nbformat

    EXECUTED.mkdir(parents=True, exist_ok=True)
    out = executed_path(nb_path)
    tmp = out.with_suffix(f".tmp{os.getpid()}")
    nbformat.write(nb, tmp)
    os.replace(tmp, out)
    return out


def execute(nb_path: Path, timeout: int):
    import nbclient
    import nbformat

    nb = nbformat.read(nb_path, as_version=4)
    client = nbclient.NotebookClient(nb, timeout=timeout, kernel_name="python3",
                                     resources={"metadata": {"path": str(nb_path.parent)}})
    client.execute()
    errors = [f"{o.get('ename')}: {o.get('evalue')}" for c in nb.cells if c.cell_type == "code"
              for o in c.get("outputs", []) if o.get("output_type") == "error"]
    if errors:
        raise RuntimeError(f"{nb_path.name}: cell errors: {errors}")
    save_executed(nb, nb_path)
    return nb


# --------------------------------------------------------------------------- static widgets


def _text(v) -> str:
    return "".join(v) if isinstance(v, list) else str(v)


def render_output(out: dict) -> str:
    """One nbformat output (from an Output widget's saved state) as HTML."""
    kind = out.get("output_type")
    if kind == "stream":
        cls = " il-stderr" if out.get("name") == "stderr" else ""
        return f'<pre class="il-stream{cls}">{html.escape(_text(out.get("text", "")))}</pre>'
    if kind == "error":
        return f'<pre class="il-stderr">{html.escape(out.get("ename", ""))}: {html.escape(out.get("evalue", ""))}</pre>'
    data = out.get("data", {})
    if "text/html" in data:
        return _text(data["text/html"])
    if "image/svg+xml" in data:
        return _text(data["image/svg+xml"])
    if "image/png" in data:
        return f'<img alt="" src="data:image/png;base64,{_text(data["image/png"]).strip()}">'
    if "text/markdown" in data:
        from nbconvert.filters import markdown2html

        return markdown2html(_text(data["text/markdown"]))
    if WIDGET_VIEW in data:
        return f'<pre class="il-stream">{html.escape(_text(data.get("text/plain", "")))}</pre>'
    if "text/plain" in data:
        return f'<pre class="il-stream">{html.escape(_text(data["text/plain"]))}</pre>'
    return ""


_OPTION_MODELS = {"DropdownModel", "SelectModel", "RadioButtonsModel", "ToggleButtonsModel",
                  "SelectionSliderModel"}


def _control_value(model: str, s: dict) -> str:
    if model in _OPTION_MODELS:
        labels, idx = s.get("_options_labels", []), s.get("index")
        return str(labels[idx]) if isinstance(idx, int) and 0 <= idx < len(labels) else ""
    if model in ("SelectMultipleModel", "SelectionRangeSliderModel"):
        labels = s.get("_options_labels", [])
        return ", ".join(str(labels[i]) for i in s.get("index", []) if 0 <= i < len(labels))
    if model == "FloatLogSliderModel":
        return f"{s.get('base', 10) ** s.get('value', 0):.4g}"
    v = s.get("value")
    if isinstance(v, bool):
        return "on" if v else "off"
    if isinstance(v, list):
        return " – ".join(str(x) for x in v)
    if isinstance(v, float):
        return f"{v:.4g}"
    return "" if v is None else str(v)


def render_widget(model_id: str, state: dict, seen: set | None = None,
                  stats: dict | None = None) -> str:
    """A widget (and its children) from the saved widget state, as static HTML: boxes as
    flex boxes, controls as labels showing their initial value, progress bars as bars,
    Output areas as the outputs they held, HTML widgets as their HTML. ``stats["controls"]``
    counts the interactive controls met."""
    seen = set() if seen is None else seen
    stats = {"controls": 0} if stats is None else stats
    if model_id in seen or model_id not in state:
        return ""
    seen.add(model_id)
    m = state[model_id]
    model, s = m.get("model_name", ""), m.get("state", {})
    layout = state.get(str(s.get("layout", "")).removeprefix("IPY_MODEL_"), {}).get("state", {})
    if layout.get("display") == "none" or layout.get("visibility") == "hidden":
        return ""
    desc = html.escape(str(s.get("description", "") or ""))

    def kids() -> str:
        return "".join(render_widget(str(c).removeprefix("IPY_MODEL_"), state, seen, stats)
                       for c in s.get("children", []))

    if model in ("VBoxModel", "BoxModel", "GridBoxModel", "AccordionModel", "StackModel"):
        return f'<div class="il-w-vbox">{kids()}</div>'
    if model == "HBoxModel":
        return f'<div class="il-w-hbox">{kids()}</div>'
    if model == "TabModel":
        titles = s.get("titles") or []
        parts = []
        for i, c in enumerate(s.get("children", [])):
            t = html.escape(str(titles[i])) if i < len(titles) and titles[i] else f"tab {i + 1}"
            parts.append(f'<div class="il-w-tab"><div class="il-w-tab-title">{t}</div>'
                         f'{render_widget(str(c).removeprefix("IPY_MODEL_"), state, seen, stats)}</div>')
        return f'<div class="il-w-vbox">{"".join(parts)}</div>'
    if model == "OutputModel":
        outs = "".join(render_output(o) for o in s.get("outputs", []))
        return f'<div class="il-w-output">{outs}</div>'
    if model in ("HTMLModel", "HTMLMathModel"):
        label = f'<span class="il-w-desc">{desc}</span>' if desc else ""
        return f'<div class="il-w-html">{label}{s.get("value", "")}</div>'
    if model == "LabelModel":
        return f'<span class="il-w-label">{html.escape(str(s.get("value", "")))}</span>'
    if model in ("FloatProgressModel", "IntProgressModel"):
        lo, hi, v = (float(s.get(k, d)) for k, d in (("min", 0), ("max", 100), ("value", 0)))
        label = f'<span class="il-w-desc">{desc}</span>' if desc else ""
        return f'{label}<progress class="il-w-progress" max="{hi - lo:g}" value="{v - lo:g}"></progress>'
    if model == "ButtonModel":
        stats["controls"] += 1
        return f'<span class="il-w-control il-w-button">{desc}</span>'
    if model.endswith("Model") and ("value" in s or "index" in s):
        stats["controls"] += 1
        value = html.escape(_control_value(model, s))
        label = f'<span class="il-w-desc">{desc}</span>' if desc else ""
        return (f'<span class="il-w-control" title="interactive in JupyterLab (make lab)">{label}'
                f'<span class="il-w-value">{value}</span></span>')
    return ""


LIVE_NOTE = ('<div class="il-w-note">Interactive in JupyterLab: this is the widget as it first '
             'appears. To move its controls, run the notebook live: <code>make lab</code> in a '
             'checkout, then open <code>notebooks/{name}</code> and run all cells.</div>')


def prepare(nb, name: str) -> dict:
    """Rewrite an executed notebook for the static page (in place): the Vega bundle output
    is dropped (the page loads static/vega.js instead), widget views become static HTML
    from the saved widget state, and the widget state itself is removed (no widget manager
    is loaded). Returns counts for the report and the test."""
    state = nb["metadata"].get("widgets", {}).get(WIDGET_STATE, {}).get("state", {})
    counts = {"charts": 0, "widgets": 0, "interactive": 0, "bundles": 0}
    for cell in nb["cells"]:
        if cell["cell_type"] != "code":
            continue
        kept = []
        for out in cell.get("outputs", []):
            data = out.get("data", {})
            h = _text(data.get("text/html", "")) if "text/html" in data else ""
            if BUNDLE_MARK in h:
                counts["bundles"] += 1
                continue
            if WIDGET_VIEW in data:
                mid = data[WIDGET_VIEW].get("model_id", "")
                stats = {"controls": 0}
                body = render_widget(mid, state, stats=stats) or html.escape(_text(data.get("text/plain", "")))
                counts["widgets"] += 1
                counts["charts"] += body.count(CHART_MARK)
                # the note on running it live where there is something to move
                note = LIVE_NOTE.format(name=html.escape(name)) if stats["controls"] else ""
                counts["interactive"] += bool(stats["controls"])
                out["data"] = {"text/html": f'<div class="il-widget">{body}{note}</div>'}
                out.setdefault("metadata", {})
            else:
                counts["charts"] += h.count(CHART_MARK)
            kept.append(out)
        cell["outputs"] = kept
    nb["metadata"].pop("widgets", None)
    return counts


# --------------------------------------------------------------------------- pages


def _plain_text(md: str) -> str:
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", md)   # links -> their text
    return re.sub(r"[*_`]", "", text).strip()


def title_and_question(nb, fallback: str) -> tuple[str, str]:
    """The notebook's first heading and its first paragraph of prose (plain text; the
    navigation lines of links and arrows are skipped), cut to about 400 characters."""
    title, para = None, None
    for cell in nb["cells"]:
        if cell["cell_type"] != "markdown":
            continue
        source = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
        for block in re.split(r"\n\s*\n", source):
            lines = [ln.strip() for ln in block.strip().splitlines()]
            if not lines:
                continue
            if title is None:
                if lines[0].startswith("#"):
                    title = lines[0].lstrip("#").strip()
                    lines = lines[1:]
                else:
                    continue
            text = _plain_text(" ".join(ln for ln in lines if not ln.startswith("#")))
            if not text or "←" in text or "→" in text or lines[0].startswith(("|", "-", ">")):
                continue
            para = text
            break
        if para:
            break
    para = para or ""
    if len(para) > 400:
        para = para[:400].rsplit(" ", 1)[0] + " …"
    return title or fallback, para


def _build_info() -> str:
    import infra_lab

    try:
        commit = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
                                capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        commit = ""
    stamp = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    return f"infra_lab {infra_lab.__version__}" + (f" · commit {commit}" if commit else "") + f" · built {stamp}"


def nav_html(pages: list[dict], current: str | None) -> str:
    items = ['<a class="il-nav-home" href="index.html">infra_lab</a>']
    for p in pages:
        cls = ' class="il-nav-current"' if p["stem"] == current else ""
        items.append(f'<a{cls} href="{p["stem"]}.html" title="{html.escape(p["title"])}">{p["stem"][:2]}</a>')
    items.append('<button type="button" class="il-code-toggle" onclick="infraLabToggleCode()">'
                 'hide code</button>')
    return f'<nav class="il-site-nav">{"".join(items)}</nav>'


def _rewrite_links(page: str) -> str:
    # links between notebooks point at their pages
    return re.sub(r'href="(\d\d_[\w.-]+?)\.ipynb(#[^"]*)?"', lambda m: f'href="{m.group(1)}.html{m.group(2) or ""}"', page)


SITE_CSS = """\
/* infra_lab static site: navigation, widget snapshots, index page */
body.il-site-page { margin: 0; }
.il-site-nav { position: sticky; top: 0; z-index: 10; display: flex; flex-wrap: wrap; gap: 4px;
  align-items: center; padding: 6px 16px; background: #1f2a36; font: 14px/1.4 system-ui, sans-serif; }
.il-site-nav a { color: #e8eef4; text-decoration: none; padding: 2px 8px; border-radius: 3px; }
.il-site-nav a:hover { background: #34475c; }
.il-site-nav a.il-nav-current { background: #ed1c24; color: #fff; }
.il-site-nav .il-nav-home { font-weight: 600; margin-right: 8px; }
.il-code-toggle { margin-left: auto; font: inherit; font-size: 12px; padding: 2px 8px; cursor: pointer; }
body.il-hide-code .jp-Cell-inputWrapper { display: none; }
body.il-hide-code .jp-MarkdownCell .jp-Cell-inputWrapper { display: block; }
.il-banner, .il-footer { max-width: 1100px; margin: 12px auto; padding: 8px 14px;
  font: 13px/1.5 system-ui, sans-serif; color: #44505c; }
.il-banner { background: #f4f7fa; border-left: 3px solid #76b900; }
.il-footer { border-top: 1px solid #d8dee4; }
.il-widget { border: 1px solid #d8dee4; border-radius: 4px; padding: 8px; background: #fbfcfd; }
.il-w-vbox { display: flex; flex-direction: column; gap: 6px; align-items: flex-start; }
.il-w-hbox { display: flex; flex-direction: row; flex-wrap: wrap; gap: 10px; align-items: flex-start; }
.il-w-control { display: inline-flex; gap: 6px; align-items: baseline; padding: 2px 8px;
  border: 1px dashed #b8c2cc; border-radius: 3px; font: 13px system-ui, sans-serif; color: #44505c; }
.il-w-desc { color: #6a7682; }
.il-w-value { font-weight: 600; color: #1f2a36; }
.il-w-tab-title { font-weight: 600; margin: 4px 0; }
.il-w-progress { width: 240px; vertical-align: middle; }
.il-w-note { margin-top: 8px; font: 12px/1.4 system-ui, sans-serif; color: #6a7682; }
.il-stream { margin: 0; white-space: pre-wrap; font-size: 12px; }
.il-stderr { background: #fff5f5; }
.il-index { max-width: 960px; margin: 24px auto; padding: 0 16px; font: 15px/1.55 system-ui, sans-serif; color: #1f2a36; }
.il-index h1 { font-size: 26px; margin-bottom: 4px; }
.il-index ol { padding-left: 0; list-style: none; }
.il-index li { margin: 14px 0; padding: 10px 14px; border: 1px solid #d8dee4; border-radius: 6px; }
.il-index li a { font-size: 17px; font-weight: 600; color: #0b5cad; text-decoration: none; }
.il-index .il-q { color: #44505c; margin-top: 4px; }
.il-index code { background: #eef2f5; padding: 1px 4px; border-radius: 3px; }
"""

SITE_JS = """\
// infra_lab static site: show/hide code cells (remembered in this browser).
function infraLabToggleCode(force) {
  var hide = typeof force === 'boolean' ? force : !document.body.classList.contains('il-hide-code');
  document.body.classList.toggle('il-hide-code', hide);
  try { localStorage.setItem('infraLabHideCode', hide ? '1' : '0'); } catch (e) {}
  var b = document.querySelector('.il-code-toggle');
  if (b) { b.textContent = hide ? 'show code' : 'hide code'; }
}
document.addEventListener('DOMContentLoaded', function () {
  var hide = false;
  try { hide = localStorage.getItem('infraLabHideCode') === '1'; } catch (e) {}
  infraLabToggleCode(hide);
});
"""

# The exporter's own page rules that the stylesheet link replaces (nbconvert's lab template
# puts them in an inline <style>; these are ours, written for this site).
NOTEBOOK_EXTRA_CSS = """\
a.anchor-link { display: none; }
.jp-InputArea, .jp-InputArea-editor { overflow: hidden; }
.jp-Collapser { display: none; }
.jp-OutputArea-output pre { line-height: inherit; font-family: inherit; }
.jp-RenderedText pre { color: var(--jp-content-font-color1); font-size: var(--jp-code-font-size); }
main { max-width: 1200px; margin: 0 auto; padding: 8px 16px; }
"""


def write_static(out: Path) -> None:
    """static/: the Vega bundle (once), nbconvert's JupyterLab stylesheet, ours."""
    from jupyter_core.paths import jupyter_path

    import infra_lab as il

    static = out / "static"
    static.mkdir(parents=True, exist_ok=True)
    (static / "vega.js").write_text(il.charts.vega_bundle_js())
    lab_static = next((Path(p) for p in jupyter_path("nbconvert", "templates", "lab", "static")
                       if Path(p, "index.css").is_file()), None)
    if lab_static is None:
        raise RuntimeError("nbconvert's lab template (static/index.css) is not installed")
    css = [(lab_static / "index.css").read_text(), (lab_static / "theme-light.css").read_text(),
           NOTEBOOK_EXTRA_CSS]
    (static / "notebook.css").write_text("\n".join(css))
    (static / "site.css").write_text(SITE_CSS)
    (static / "site.js").write_text(SITE_JS)


def index_html(pages: list[dict], info: str) -> str:
    items = "".join(
        f'<li><a href="{p["stem"]}.html">{html.escape(p["title"])}</a>'
        f'<div class="il-q">{html.escape(p["question"])}</div></li>' for p in pages)
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<title>infra_lab — the notebooks</title>
<link rel="stylesheet" href="static/site.css">
</head>
<body class="il-site-page">
{nav_html(pages, None).replace('<button', '<button hidden')}
<div class="il-index">
<h1>infra_lab — the notebooks, executed</h1>
<p>Validated, fast models of AI-training infrastructure and its economics: the lab's notebooks
as static pages. Charts are interactive (hover for values); widgets are shown as they first
appear. Every number comes from the package, computed when the site was built.</p>
<ol>{items}</ol>
<p>To run the notebooks and move the widgets yourself: <code>make lab</code> in a checkout of the
repository (it sets up a virtual environment and opens JupyterLab). The same models are
available from a shell: <code>infra-lab --help</code>.</p>
<p class="il-q">{html.escape(info)}</p>
</div>
</body>
</html>
"""


def build(out: Path = SITE, force_execute: bool = False, timeout: int = 300) -> dict:
    """Build the site into ``out``; returns a report (per page: reused/executed, seconds,
    charts, widgets, bytes) that the test reads."""
    import nbformat
    from nbconvert import HTMLExporter

    t0 = time.perf_counter()
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    write_static(out)
    src = sources_mtime()
    nbs = notebooks()
    loaded = []
    for path in nbs:
        t = time.perf_counter()
        if not force_execute and is_fresh(path, src):
            nb = nbformat.read(executed_path(path), as_version=4)
            how = "reused build/executed"
        else:
            why = "--execute" if force_execute else "no fresh copy in build/executed"
            log(f"{path.name}: executing ({why}) ...")
            nb = execute(path, timeout)
            how = "executed"
        loaded.append((path, nb, how, time.perf_counter() - t))
    pages = []
    for path, nb, _how, _s in loaded:
        title, question = title_and_question(nb, path.stem)
        pages.append({"stem": path.stem, "title": title, "question": question})
    info = _build_info()
    exporter = HTMLExporter(template_name="infra_lab_site",
                            extra_template_basedirs=[str(TEMPLATE_DIR)])
    report = {"pages": {}, "out": str(out)}
    for (path, nb, how, secs), page in zip(loaded, pages, strict=True):
        t = time.perf_counter()
        counts = prepare(nb, path.name)
        site = {
            "nav": nav_html(pages, path.stem),
            "banner": (f'<div class="il-banner">A static page of <code>notebooks/{path.name}</code>, '
                       f'executed when the site was built. Charts are interactive; widgets show their '
                       f'initial state — to use them, run <code>make lab</code>.</div>'),
            "footer": f'<div class="il-footer">{html.escape(info)} · <a href="index.html">all notebooks</a></div>',
        }
        body, _ = exporter.from_notebook_node(nb, resources={"site": site,
                                                             "metadata": {"name": page["title"]}})
        body = _rewrite_links(body)
        target = out / f"{path.stem}.html"
        target.write_text(body)
        report["pages"][target.name] = {**counts, "source": how, "load_s": secs,
                                        "convert_s": time.perf_counter() - t,
                                        "bytes": target.stat().st_size}
        log(f"{target.name}: {how} ({secs:.1f} s), {counts['charts']} charts, "
            f"{counts['widgets']} widgets, {target.stat().st_size / 1e6:.2f} MB")
    (out / "index.html").write_text(index_html(pages, info))
    report["pages"]["index.html"] = {"charts": 0, "widgets": 0, "interactive": 0, "source": "index", "bytes":
                                     (out / "index.html").stat().st_size}
    report["seconds"] = time.perf_counter() - t0
    (out / "report.json").write_text(json.dumps(report, indent=1))
    log(f"built {len(pages) + 1} pages in {out.relative_to(ROOT) if out.is_relative_to(ROOT) else out} "
        f"in {report['seconds']:.1f} s (vega.js {(out / 'static' / 'vega.js').stat().st_size / 1e6:.2f} MB, "
        f"loaded once by every page)")
    return report


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", type=Path, default=SITE, help="output folder (default build/site)")
    p.add_argument("--execute", action="store_true",
                   help="execute every notebook even when build/executed has a fresh copy")
    p.add_argument("--timeout", type=int, default=300, help="seconds per cell when executing")
    a = p.parse_args(argv)
    build(a.out.resolve(), force_execute=a.execute, timeout=a.timeout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
