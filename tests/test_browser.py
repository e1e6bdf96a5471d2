"""The lab in a real browser: JupyterLab from this environment, driven by Playwright in
Debian's headless Chromium (``/usr/bin/chromium``; run ``tests/browser_setup.py`` first).

For every notebook in ``notebooks/`` (found at run time) the test opens it in JupyterLab,
runs all cells, waits for the kernel to go idle and then asserts on the DOM:

* no cell has an error output, and no widget shows "Error displaying widget";
* every altair chart is rendered by vega: an ``svg`` or ``canvas`` holding marks, not a
  ``<script>`` tag or an error message;
* in each cell that holds ipywidgets controls, changing a control changes the chart or the
  printed result;
* no request of the page leaves 127.0.0.1 (data:, blob: and about: are allowed).

Screenshots go to ``build/browser/``: ``<notebook>.png`` (the whole notebook after running),
``<notebook>-chart-N.png`` (each chart) and ``<notebook>-widget[-N]{-before,}.png`` (a widget
cell before/after the change); the JupyterLab log and a timing report go beside them. One JupyterLab server (free loopback port,
random token, Jupyter/IPython/cache directories in a temporary folder) serves the whole
module; it is stopped by its PID at the end and the test checks nothing is left running.

Environment:
    INFRA_LAB_BROWSER_NOTEBOOKS  glob of notebooks to open instead of notebooks/[0-9][0-9]_*.ipynb
    INFRA_LAB_CHROMIUM           browser executable (default /usr/bin/chromium)
    INFRA_LAB_BROWSER_TIMEOUT    seconds per notebook (default 150, times the pytest-xdist workers)
"""

from __future__ import annotations

import glob
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote, urlsplit

import pytest

ROOT = Path(__file__).resolve().parent.parent
BUILD = ROOT / "build" / "browser"
CHROMIUM = os.environ.get("INFRA_LAB_CHROMIUM", "/usr/bin/chromium")
XDIST_WORKERS = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
"""pytest-xdist workers running tests at once (set on each worker; 1 in a serial run)."""
# How long one notebook may take before the test calls it hung [s]: 150 for a run alone, times
# the workers running tests at once, which share the cores (a hang guard, not a speed check:
# speed lives in benchmarks/).
NB_TIMEOUT_S = float(os.environ.get("INFRA_LAB_BROWSER_TIMEOUT", 150 * XDIST_WORKERS))
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
VIEWPORT = {"width": 1400, "height": 900}
ALLOWED_SCHEMES = {"data", "blob", "about"}
ALLOWED_HOSTS = {"127.0.0.1"}
TIMINGS: dict[str, float] = {}


def _notebooks() -> list[Path]:
    pattern = os.environ.get("INFRA_LAB_BROWSER_NOTEBOOKS")
    if pattern:
        return sorted(Path(p).resolve() for p in glob.glob(os.path.expanduser(pattern)))
    return sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))


NOTEBOOKS = _notebooks()
# One JupyterLab server serves the whole module, so under pytest-xdist (``-n``, ``--dist
# loadgroup``: pyproject's addopts) every test of it runs on one worker: one server, one
# build/browser/report.txt and jupyter.log, written by one process.
pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]


# --------------------------------------------------------------------------- JupyterLab server


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _server_root(notebooks: list[Path]) -> Path:
    """The repository root, or (for notebooks elsewhere) their common parent directory."""
    if all(ROOT in p.parents for p in notebooks):
        return ROOT
    return Path(os.path.commonpath([p.parent for p in notebooks]))


def _write_json(path: Path, obj) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(obj, indent=1))


@dataclass
class Lab:
    url: str
    token: str
    root: Path
    proc: subprocess.Popen
    tmp: Path
    log: Path

    def api(self, method: str, path: str):
        req = urllib.request.Request(f"{self.url}{path}", method=method,
                                     headers={"Authorization": f"token {self.token}"})
        with urllib.request.urlopen(req, timeout=10) as r:
            body = r.read()
        return json.loads(body) if body else None

    def shutdown_kernels(self) -> None:
        for k in self.api("GET", "/api/kernels"):
            self.api("DELETE", f"/api/kernels/{k['id']}")

    def log_tail(self, n: int = 40) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-n:])
        except OSError:
            return ""


def _isolated_env(tmp: Path) -> dict[str, str]:
    dirs = {
        "JUPYTER_CONFIG_DIR": tmp / "jupyter-config",
        "JUPYTER_DATA_DIR": tmp / "jupyter-data",
        "JUPYTER_RUNTIME_DIR": tmp / "jupyter-runtime",
        "IPYTHONDIR": tmp / "ipython",
        "XDG_CACHE_HOME": tmp / "cache",
        "XDG_CONFIG_HOME": tmp / "config",
        "MPLCONFIGDIR": tmp / "mpl",
    }
    for d in dirs.values():
        d.mkdir(parents=True, exist_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("JUPYTER")}
    env.update({k: str(v) for k, v in dirs.items()})
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env["JUPYTER_PLATFORM_DIRS"] = "1"
    env["PYTHONUNBUFFERED"] = "1"
    return env


def _lab_settings(tmp: Path) -> Path:
    """User settings: render every cell (windowing off), no news, no update check, no
    autosave (the committed notebooks stay untouched)."""
    settings = tmp / "lab-user-settings"
    _write_json(settings / "@jupyterlab" / "notebook-extension" / "tracker.jupyterlab-settings",
                {"windowingMode": "none"})
    _write_json(settings / "@jupyterlab" / "apputils-extension" / "notification.jupyterlab-settings",
                {"fetchNews": "false", "checkForUpdates": False})
    _write_json(settings / "@jupyterlab" / "docmanager-extension" / "plugin.jupyterlab-settings",
                {"autosave": False})
    return settings


def _start_lab(tmp: Path, root: Path) -> Lab:
    env = _isolated_env(tmp)
    settings = _lab_settings(tmp)
    # Checkpoints (JupyterLab makes one when it opens a notebook) go to the temporary folder,
    # not to notebooks/.ipynb_checkpoints.
    checkpoints = {"checkpoint_dir": str(tmp / "checkpoints")}
    _write_json(Path(env["JUPYTER_CONFIG_DIR"]) / "jupyter_server_config.json", {
        "FileCheckpoints": checkpoints, "AsyncFileCheckpoints": checkpoints,
        "LabApp": {"news_url": None, "expose_app_in_browser": True,
                   "extension_manager": "readonly",
                   "check_for_updates_class": "jupyterlab.handlers.announcements.NeverCheckForUpdate"},
    })
    port, token = _free_port(), secrets.token_hex(24)
    cmd = [sys.executable, "-m", "jupyterlab", "--no-browser", "--ip=127.0.0.1", f"--port={port}",
           "--port-retries=0", f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root}",
           f"--LabApp.user_settings_dir={settings}",
           f"--LabApp.workspaces_dir={tmp / 'lab-workspaces'}"]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        cmd.append("--allow-root")
    log = tmp / "jupyter.log"
    # start_new_session: the server (and the kernels it starts) get their own process group,
    # whose id is the server's PID, so the teardown can check nothing survives.
    proc = subprocess.Popen(cmd, env=env, cwd=root, stdout=log.open("w"), stderr=subprocess.STDOUT,
                            stdin=subprocess.DEVNULL, start_new_session=True)
    lab = Lab(f"http://127.0.0.1:{port}", token, root, proc, tmp, log)
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"JupyterLab exited with {proc.returncode}:\n{lab.log_tail()}")
        try:
            lab.api("GET", "/api/status")
            return lab
        except OSError:
            time.sleep(0.3)
    _stop_lab(lab)
    raise RuntimeError(f"JupyterLab did not answer on {lab.url} within 90 s:\n{lab.log_tail()}")


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
        return True
    except ProcessLookupError:
        return False
    except PermissionError:
        return True


def _stop_lab(lab: Lab) -> list[str]:
    """Shut down kernels, stop the server by its PID, and report anything left behind."""
    problems = []
    if lab.proc.poll() is None:
        try:
            lab.shutdown_kernels()
        except OSError as exc:
            problems.append(f"kernel shutdown via REST failed: {exc}")
        lab.proc.send_signal(signal.SIGTERM)  # the server's own PID
        try:
            lab.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            problems.append("JupyterLab ignored SIGTERM for 20 s; killed")
            lab.proc.kill()
            lab.proc.wait(timeout=10)
    pgid = lab.proc.pid
    deadline = time.monotonic() + 10
    while _group_alive(pgid) and time.monotonic() < deadline:
        time.sleep(0.2)
    if _group_alive(pgid):
        problems.append(f"processes of JupyterLab's group {pgid} outlived it; killed")
        os.killpg(pgid, signal.SIGKILL)
    return problems


@pytest.fixture(scope="module")
def lab():
    if not NOTEBOOKS:
        pytest.fail("no notebooks found (notebooks/[0-9][0-9]_*.ipynb or $INFRA_LAB_BROWSER_NOTEBOOKS)")
    BUILD.mkdir(parents=True, exist_ok=True)
    (BUILD / "report.txt").unlink(missing_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix="infra_lab_browser_"))
    root = _server_root(NOTEBOOKS)
    litter = {p.parent / name for p in NOTEBOOKS for name in (".ipynb_checkpoints", ".virtual_documents")}
    litter = {p for p in litter if not p.exists()}
    t0 = time.perf_counter()
    server = _start_lab(tmp, root)
    TIMINGS["(JupyterLab start)"] = time.perf_counter() - t0
    try:
        yield server
    finally:
        problems = _stop_lab(server)
        shutil.copy(server.log, BUILD / "jupyter.log")
        shutil.rmtree(tmp, ignore_errors=True)
        problems += [f"JupyterLab left {p} behind" for p in sorted(litter) if p.exists()]
        assert not problems, "; ".join(problems)


# --------------------------------------------------------------------------- the browser


@dataclass
class Traffic:
    requests: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)

    def outside(self) -> list[str]:
        bad = []
        for url in self.requests:
            parts = urlsplit(url)
            if parts.scheme in ALLOWED_SCHEMES:
                continue
            if parts.scheme in {"http", "https", "ws", "wss"} and parts.hostname in ALLOWED_HOSTS:
                continue
            bad.append(url)
        return bad


@pytest.fixture(scope="module")
def browser(lab):
    if not (os.path.isfile(CHROMIUM) and os.access(CHROMIUM, os.X_OK)):
        pytest.fail(f"{CHROMIUM} is missing: run `.venv/bin/python tests/browser_setup.py` "
                    f"(installs Debian's chromium as root) — the browser test is required")
    from playwright.sync_api import sync_playwright

    home = lab.tmp / "chromium-home"
    home.mkdir()
    env = dict(os.environ, HOME=str(home), XDG_CONFIG_HOME=str(home / ".config"),
               XDG_CACHE_HOME=str(home / ".cache"))
    with sync_playwright() as p:
        ctx = p.chromium.launch_persistent_context(
            str(lab.tmp / "chromium-profile"), executable_path=CHROMIUM, headless=True,
            args=CHROMIUM_ARGS, env=env, viewport=VIEWPORT, device_scale_factor=1,
            timeout=60_000,
        )
        try:
            yield ctx
        finally:
            ctx.close()


# --------------------------------------------------------------------------- page scripts

JS_NOTEBOOK_READY = """() => {
  const app = window.jupyterapp; if (!app) return false;
  const w = app.shell.currentWidget;
  if (!w || !w.content || !w.sessionContext || !w.context || !w.context.isReady) return false;
  const k = w.sessionContext.session && w.sessionContext.session.kernel;
  return !!k && k.status === 'idle' && w.content.widgets.length > 0;
}"""

JS_RUN_ALL = """() => {
  window.__runAll = 'running';
  window.jupyterapp.commands.execute('notebook:run-all-cells')
    .then(() => { window.__runAll = 'done'; })
    .catch(e => { window.__runAll = 'failed: ' + e; });
}"""

JS_RUN_FINISHED = """() => {
  if (window.__runAll === 'running') return false;
  const w = window.jupyterapp.shell.currentWidget;
  const k = w.sessionContext.session && w.sessionContext.session.kernel;
  if (!k || k.status !== 'idle') return false;
  const prompts = [...w.content.node.querySelectorAll('.jp-CodeCell .jp-InputArea-prompt')];
  return !prompts.some(p => p.textContent.includes('*'));
}"""

# Every code cell: execution count, error outputs (from the notebook model), and what its
# output area shows in the DOM.
JS_CELLS = """() => {
  const w = window.jupyterapp.shell.currentWidget;
  const out = [];
  w.content.widgets.forEach((cell, i) => {
    if (cell.model.type !== 'code') return;
    const outputs = cell.model.outputs.toJSON();
    const node = cell.node;
    const charts = [...node.querySelectorAll('.vega-embed')].map(e => {
      const svg = e.querySelector('svg.marks, svg');
      const canvas = e.querySelector('canvas');
      return {
        svg: !!svg, canvas: !!canvas,
        // items of data marks (vega tags them role-mark; axes, legends, titles are not)
        marks: svg ? svg.querySelectorAll('g.role-mark > *').length : 0,
        canvasSize: canvas ? canvas.width * canvas.height : 0,
        error: (e.querySelector('.error, .vega-embed-error') || {}).textContent || '',
        text: e.textContent.slice(0, 200),
      };
    });
    const widgetOutputs = [...node.querySelectorAll('.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.widget-view+json"]')];
    out.push({
      index: i,
      source: cell.model.sharedModel.getSource().slice(0, 120),
      executionCount: cell.model.executionCount,
      errors: outputs.filter(o => o.output_type === 'error').map(o => o.ename + ': ' + o.evalue),
      widgetReprs: outputs.filter(o => o.data && o.data['application/vnd.jupyter.widget-view+json'])
                          .map(o => o.data['text/plain'] || ''),
      emptyWidgetViews: widgetOutputs.filter(e => e.children.length === 0).length,
      shownErrors: [...node.querySelectorAll('.jp-OutputArea-output')]
          .map(e => e.textContent).filter(t => ERROR_TEXT.test(t))
          .map(t => t.slice(0, 300)),
      stderr: outputs.filter(o => o.output_type === 'stream' && o.name === 'stderr').map(o => o.text.slice(0, 300)),
      scripts: [...node.querySelectorAll('.jp-OutputArea-output script[src]')].map(s => s.src.slice(0, 120)),
      lightCharts: outputs.map(o => (o.data && o.data['text/html']) || '')
                          .map(h => (Array.isArray(h) ? h.join('') : h).split('class="infra-lab-chart"').length - 1)
                          .reduce((a, b) => a + b, 0),
      charts,
      controls: node.querySelectorAll(CONTROL_SELECTOR).length,
    });
  });
  return out;
}"""

CONTROL_SELECTOR = (
    ".widget-dropdown select, .widget-select select, .widget-slider .noUi-handle, "
    ".widget-toggle-buttons button, .widget-checkbox input, .widget-radio-box input, "
    ".widget-inttext input, .widget-text input"
)
# Text that only appears when an output failed: a traceback, a widget or script that did not
# load (ipywidgets, anywidget, altair's CDN renderer).
ERROR_TEXT = (r"/Traceback \(most recent call last\)|Error displaying widget|Javascript Error|"
              r"Failed to load model class|Error loading script|Failed to load view class/")
JS_CELLS = JS_CELLS.replace("CONTROL_SELECTOR", json.dumps(CONTROL_SELECTOR)).replace("ERROR_TEXT", ERROR_TEXT)

# What a widget cell shows, minus the controls themselves: chart SVG/canvas contents and the
# text of the other outputs. A change in it means the widget reacted.
JS_SIGNATURE = """(cellIndex) => {
  const w = window.jupyterapp.shell.currentWidget;
  const node = w.content.widgets[cellIndex].node;
  const charts = [...node.querySelectorAll('.vega-embed')].map(e => {
    const c = e.querySelector('canvas');
    const s = e.querySelector('svg');
    return c ? c.toDataURL() : (s ? s.innerHTML : '');
  });
  const clone = node.querySelector('.jp-Cell-outputWrapper').cloneNode(true);
  clone.querySelectorAll('select, option, input, button, .widget-readout, .noUi-target, .vega-embed, .widget-label')
       .forEach(e => e.remove());
  return {charts: charts.join('\\n'), text: clone.textContent.replace(/\\s+/g, ' ').trim()};
}"""


def _wait(page, js, timeout_s, what, arg=None):
    from playwright.sync_api import TimeoutError as PWTimeout

    try:
        page.wait_for_function(js, arg=arg, timeout=timeout_s * 1000, polling=250)
    except PWTimeout:
        pytest.fail(f"timed out after {timeout_s:.0f} s waiting for {what}")


def _charts_settled(page, timeout_s: float) -> list[dict]:
    """Poll the DOM until the chart/widget picture is stable for 1.5 s (charts render
    asynchronously after the kernel is idle)."""
    deadline = time.monotonic() + timeout_s
    last, stable_since = None, time.monotonic()
    while True:
        cells = page.evaluate(JS_CELLS)
        key = json.dumps([(c["charts"], c["emptyWidgetViews"], c["controls"]) for c in cells])
        pending = any(c["emptyWidgetViews"] for c in cells) or any(
            not (ch["marks"] or ch["canvasSize"]) and not ch["error"] for c in cells for ch in c["charts"])
        if key != last:
            last, stable_since = key, time.monotonic()
        elif not pending and time.monotonic() - stable_since > 1.5:
            return cells
        if time.monotonic() > deadline:
            return cells
        time.sleep(0.25)


def _expected_chart_count(cells: list[dict]) -> int:
    """Charts the kernel displayed in cell outputs: il.charts' light renderer writes one
    ``infra-lab-chart`` div per chart (charts inside widgets' Output areas are not in the
    cell's outputs and are checked through the rendered page), and any ``alt.JupyterChart``
    widget names itself in its text/plain repr."""
    return sum(c["lightCharts"] for c in cells) + sum(
        r.count("JupyterChart") for c in cells for r in c["widgetReprs"])


def _full_screenshot(page, path: Path) -> None:
    """The whole notebook: grow the viewport to the notebook's height, shoot, restore."""
    height = page.evaluate("""() => {
      const w = window.jupyterapp.shell.currentWidget;
      const n = w.node.querySelector('.jp-WindowedPanel-outer') || w.content.node;
      n.scrollTop = 0;
      return Math.ceil(n.getBoundingClientRect().top + n.scrollHeight + 40);
    }""")
    page.set_viewport_size({"width": VIEWPORT["width"], "height": max(VIEWPORT["height"], min(height, 14000))})
    page.wait_for_timeout(800)
    page.screenshot(path=str(path))
    page.set_viewport_size(VIEWPORT)
    page.wait_for_timeout(300)


def _change_a_control(page, cell_index: int, timeout_s: float) -> tuple[str, str]:
    """Change controls of one widget cell, one at a time, until the cell's charts or text
    change; return (what was changed, what changed)."""
    cell = page.locator(".jp-Notebook .jp-Cell").nth(cell_index)
    before = page.evaluate(JS_SIGNATURE, cell_index)
    tried = []

    def reacted(label):
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            page.wait_for_timeout(300)
            now = page.evaluate(JS_SIGNATURE, cell_index)
            if now != before:  # changed: let the redraw settle, then say what changed
                settle = time.monotonic() + 10
                while time.monotonic() < settle:
                    page.wait_for_timeout(500)
                    latest = page.evaluate(JS_SIGNATURE, cell_index)
                    if latest == now:
                        break
                    now = latest
                changed = [k for k in ("charts", "text") if now[k] != before[k]]
                return label, " and ".join(changed)
        tried.append(label)
        return None

    attempts = []
    for i in range(cell.locator(".widget-dropdown select, .widget-select select").count()):
        attempts.append(("select", i))
    for i in range(cell.locator(".widget-slider .noUi-handle").count()):
        attempts.append(("slider", i))
    for i in range(cell.locator(".widget-toggle-buttons button").count()):
        attempts.append(("toggle", i))
    for i in range(cell.locator(".widget-checkbox input, .widget-radio-box input").count()):
        attempts.append(("check", i))

    for kind, i in attempts[:8]:
        if kind == "select":
            sel = cell.locator(".widget-dropdown select, .widget-select select").nth(i)
            sel.scroll_into_view_if_needed()
            options = sel.evaluate("s => [...s.options].map(o => [o.value, o.selected])")
            others = [v for v, selected in options if not selected]
            multiple = sel.evaluate("s => s.multiple")
            for value in (others[-1:] + others[:1])[:2]:
                if multiple:  # add one more item to a multi-select
                    chosen = [v for v, s in options if s] + [value]
                    sel.select_option(chosen)
                else:
                    sel.select_option(value)
                res = reacted(f"select #{i} -> {value!r}")
                if res:
                    return res
        elif kind == "slider":
            handle = cell.locator(".widget-slider .noUi-handle").nth(i)
            handle.scroll_into_view_if_needed()
            handle.focus()
            for key in ("End", "Home"):
                page.keyboard.press(key)
                res = reacted(f"slider #{i} -> {key}")
                if res:
                    return res
        elif kind == "toggle":
            btn = cell.locator(".widget-toggle-buttons button").nth(i)
            if "mod-active" in (btn.get_attribute("class") or ""):
                continue
            btn.click()
            res = reacted(f"toggle button #{i} ({btn.inner_text()!r})")
            if res:
                return res
        else:
            box = cell.locator(".widget-checkbox input, .widget-radio-box input").nth(i)
            box.click()
            res = reacted(f"checkbox/radio #{i}")
            if res:
                return res
    pytest.fail(f"cell {cell_index}: no control changed the chart or the printed result "
                f"(tried: {', '.join(tried) or 'no controls found'})")


# --------------------------------------------------------------------------- the test


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_in_browser(path, lab, browser, capsys):
    stem = path.stem
    for old in BUILD.glob(f"{stem}*.png"):
        old.unlink()
    traffic = Traffic()
    page = browser.new_page()
    page.on("request", lambda r: traffic.requests.append(r.url))
    page.on("websocket", lambda ws: traffic.requests.append(ws.url))
    page.on("console", lambda m: traffic.console_errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: traffic.page_errors.append(str(e)))
    t0 = time.perf_counter()
    timeline = {}
    rel = path.relative_to(lab.root).as_posix()
    try:
        page.goto(f"{lab.url}/lab/tree/{quote(rel)}?reset&token={lab.token}", wait_until="domcontentloaded")
        _wait(page, JS_NOTEBOOK_READY, NB_TIMEOUT_S, f"{path.name} to open with an idle kernel")
        timeline["open"] = time.perf_counter() - t0
        page.evaluate("() => window.jupyterapp.shell.collapseLeft()")  # room for the notebook
        page.evaluate(JS_RUN_ALL)
        left = NB_TIMEOUT_S - (time.perf_counter() - t0)
        _wait(page, JS_RUN_FINISHED, left, f"{path.name}: all cells to run and the kernel to go idle")
        run_state = page.evaluate("() => window.__runAll")
        timeline["run"] = time.perf_counter() - t0 - timeline["open"]
        cells = _charts_settled(page, timeout_s=min(60.0, NB_TIMEOUT_S - (time.perf_counter() - t0)))
        timeline["render"] = time.perf_counter() - t0 - timeline["open"] - timeline["run"]
        _full_screenshot(page, BUILD / f"{stem}.png")

        # 1. no errors
        errors = [f"cell {c['index']} ({c['source'][:60]!r}): {e}" for c in cells for e in c["errors"]]
        errors += [f"cell {c['index']}: output shows {e!r}" for c in cells for e in c["shownErrors"]]
        assert not errors, f"{path.name}: errors shown:\n" + "\n".join(errors)
        assert run_state == "done", f"{path.name}: run-all ended {run_state!r}"
        unrun = [c["index"] for c in cells if c["executionCount"] is None and c["source"].strip()]
        assert not unrun, f"{path.name}: cells not executed: {unrun}"

        # 2. every chart rendered by vega (svg/canvas with marks), no script tags
        charts = [(c["index"], ch) for c in cells for ch in c["charts"]]
        bad = [f"cell {i}: {ch}" for i, ch in charts if ch["error"] or not (ch["marks"] or ch["canvasSize"])]
        assert not bad, f"{path.name}: charts not rendered:\n" + "\n".join(bad)
        # charts are small inline scripts calling the page's one vegaEmbed (il.charts'
        # light renderer); a script loaded from a URL would be a CDN renderer
        scripts = [f"cell {c['index']}: {s}" for c in cells for s in c["scripts"]]
        assert not scripts, f"{path.name}: outputs load scripts from URLs (a CDN renderer?):\n" + "\n".join(scripts)
        empty = [c["index"] for c in cells if c["emptyWidgetViews"]]
        assert not empty, f"{path.name}: widget outputs that rendered nothing in cells {empty}"
        expected = _expected_chart_count(cells)
        assert len(charts) >= expected, (
            f"{path.name}: the kernel displayed {expected} altair charts, the page shows {len(charts)}")

        for i in range(len(charts)):  # one picture per chart, readable at full size
            page.locator(".jp-Notebook .vega-embed").nth(i).screenshot(path=str(BUILD / f"{stem}-chart-{i + 1}.png"))
        stderr = [f"cell {c['index']}: {t.strip()[:160]!r}" for c in cells for t in c["stderr"]]

        # 3. widgets react
        changes = []
        widget_cells = [c["index"] for c in cells if c["controls"]]
        for n, idx in enumerate(widget_cells[:4]):
            suffix = "" if n == 0 else f"-{n + 1}"
            cell = page.locator(".jp-Notebook .jp-Cell").nth(idx)
            cell.scroll_into_view_if_needed()
            cell.screenshot(path=str(BUILD / f"{stem}-widget{suffix}-before.png"))
            did, what = _change_a_control(page, idx, timeout_s=20)
            cell.screenshot(path=str(BUILD / f"{stem}-widget{suffix}.png"))
            changes.append(f"cell {idx}: {did} changed the {what}")
            after = [c for c in page.evaluate(JS_CELLS) if c["index"] == idx][0]
            broken = [ch for ch in after["charts"] if ch["error"] or not (ch["marks"] or ch["canvasSize"])]
            assert not broken and not after["shownErrors"], (
                f"{path.name}: cell {idx} after the change: {broken or after['shownErrors']}")
        timeline["screenshots+widgets"] = time.perf_counter() - t0 - sum(timeline.values())

        # 4. nothing left 127.0.0.1
        outside = traffic.outside()
        assert not outside, f"{path.name}: requests left 127.0.0.1:\n" + "\n".join(sorted(set(outside)))
    finally:
        total = time.perf_counter() - t0
        TIMINGS[path.name] = total
        try:
            page.evaluate("() => window.jupyterapp && window.jupyterapp.shell.currentWidget"
                          " && window.jupyterapp.shell.currentWidget.sessionContext.shutdown()")
        except Exception:  # noqa: BLE001 - the page may be gone; the REST shutdown follows
            pass
        page.close(run_before_unload=False)
        lab.shutdown_kernels()
        line = (f"[browser] {path.name}: {total:.1f} s ("
                + ", ".join(f"{k} {v:.1f} s" for k, v in timeline.items()) + f"); "
                f"{len(traffic.requests)} requests, all to 127.0.0.1: {not traffic.outside()}")
        with capsys.disabled():
            print("\n" + line)
            for c in locals().get("changes", []):
                print(f"[browser]   widget: {c}")
            for t in locals().get("stderr", []):
                print(f"[browser]   stderr (not an error): {t}")
            for e in sorted(set(traffic.console_errors + traffic.page_errors))[:10]:
                print(f"[browser]   console error: {e[:200]}")
        with (BUILD / "report.txt").open("a") as f:
            f.write(line + "\n")
