"""Make sure the browser test can run: Debian's Chromium and the Playwright Python package.

Run before the browser test (``make test`` and ``make browser-test`` do)::

    .venv/bin/python tests/browser_setup.py

* If ``/usr/bin/chromium`` (or ``$INFRA_LAB_CHROMIUM``) is missing and we run as root on a
  machine with ``apt-get`` (CI: a fresh Debian machine), it installs the ``chromium``
  package with apt-get. Otherwise it says what to run and exits non-zero: the browser test
  is required, never skipped.
* It never downloads a browser through Playwright (``playwright install`` is not used).
* When everything is in place it only checks (a second or two) and says so.
* Finally it launches the browser headless through Playwright once, so an incompatible
  Chromium/Playwright pair fails here with a clear message rather than inside the test.

Exit status: 0 ready, 1 not ready (message on stderr).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time

CHROMIUM = os.environ.get("INFRA_LAB_CHROMIUM", "/usr/bin/chromium")
APT_PACKAGE = "chromium"


def say(msg: str) -> None:
    print(f"[browser_setup] {msg}", flush=True)


def fail(msg: str) -> None:
    print(f"[browser_setup] ERROR: {msg}", file=sys.stderr, flush=True)
    sys.exit(1)


def chromium_version() -> str | None:
    """The browser's version line, or None when it is missing or does not start."""
    if not (os.path.isfile(CHROMIUM) and os.access(CHROMIUM, os.X_OK)):
        return None
    try:
        out = subprocess.run([CHROMIUM, "--version"], capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return None
    line = out.stdout.strip().splitlines()
    return line[-1] if out.returncode == 0 and line else None


def apt_install() -> None:
    """Install Debian's chromium with apt-get (root only)."""
    if shutil.which("apt-get") is None:
        fail(f"{CHROMIUM} is missing and this machine has no apt-get; install Chromium with your "
             f"package manager and point INFRA_LAB_CHROMIUM at it")
    if os.geteuid() != 0:
        fail(f"{CHROMIUM} is missing; install it with:\n    sudo apt-get install -y {APT_PACKAGE}\n"
             f"(the browser test needs it; CI runs as root and installs it itself)")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    t0 = time.perf_counter()
    say(f"{CHROMIUM} is missing: apt-get update && apt-get install -y {APT_PACKAGE} ...")
    for cmd in (["apt-get", "update", "-q"], ["apt-get", "install", "-y", "-q", APT_PACKAGE]):
        res = subprocess.run(cmd, env=env, capture_output=True, text=True)
        if res.returncode != 0:
            tail = "\n".join((res.stdout + res.stderr).strip().splitlines()[-15:])
            fail(f"`{' '.join(cmd)}` failed (exit {res.returncode}):\n{tail}")
    say(f"installed {APT_PACKAGE} with apt-get in {time.perf_counter() - t0:.0f} s")


def check_playwright_launch() -> None:
    """Launch the browser once through Playwright (headless) and load a data: URL."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        fail("the Playwright Python package is missing; install the dev extra: "
             ".venv/bin/python -m pip install -e '.[dev]'  (never run `playwright install`)")
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="infra_lab_chromium_check_") as tmp:
        env = dict(os.environ, HOME=tmp, XDG_CONFIG_HOME=tmp, XDG_CACHE_HOME=tmp)
        try:
            with sync_playwright() as p:
                ctx = p.chromium.launch_persistent_context(
                    os.path.join(tmp, "profile"), executable_path=CHROMIUM, headless=True,
                    args=["--no-sandbox", "--disable-gpu", "--no-first-run",
                          "--disable-background-networking", "--disable-component-update",
                          "--disable-sync"],
                    env=env, timeout=60_000,
                )
                page = ctx.new_page()
                page.goto("data:text/html,<p id=ok>ok</p>")
                assert page.inner_text("#ok") == "ok"
                ctx.close()
        except Exception as exc:  # noqa: BLE001 - report any launch failure clearly
            fail(f"Playwright could not drive {CHROMIUM}: {type(exc).__name__}: {exc}")
    say(f"Playwright launched {CHROMIUM} headless in {time.perf_counter() - t0:.1f} s")


def main() -> None:
    version = chromium_version()
    if version is None:
        apt_install()
        version = chromium_version()
        if version is None:
            fail(f"{CHROMIUM} still does not run after installing {APT_PACKAGE}")
    else:
        say(f"{CHROMIUM} present, nothing to install")
    say(version)
    check_playwright_launch()
    say("ready for the browser test (pytest -m browser)")


if __name__ == "__main__":
    main()
