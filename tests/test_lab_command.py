"""The README's first command, ``make lab``, starts JupyterLab on the index notebook.

Starts the Makefile target on a free loopback port in its own process group, waits for
the token URL in its log, requests /lab with the token, then stops the whole group and
checks nothing is left listening. Uses the project's .venv, so it only runs when pytest
itself runs from that venv (``make test`` / ``make test-fast``).
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _listening(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


@pytest.mark.skipif(Path(sys.prefix).resolve() != (ROOT / ".venv").resolve(),
                    reason="`make lab` uses the project's .venv; run through `make test`")
def test_make_lab_serves_the_index(tmp_path):
    port = _free_port()
    log = tmp_path / "lab.log"
    env = dict(os.environ, BROWSER="true")  # never try to open a real browser window
    with open(log, "w") as fh:
        proc = subprocess.Popen(["make", "--no-print-directory", "lab", f"PORT={port}"], cwd=ROOT,
                                stdout=fh, stderr=subprocess.STDOUT, env=env,
                                start_new_session=True)
    try:
        url = None
        deadline = time.monotonic() + 300   # setup and the kernel warm-up may run first
        while time.monotonic() < deadline and url is None:
            if proc.poll() is not None:
                pytest.fail(f"`make lab` exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
            m = re.search(rf"http://(?:127\.0\.0\.1|localhost):{port}/lab\?token=[0-9a-f]+",
                          log.read_text())
            url = m.group(0) if m else None
            time.sleep(0.5)
        assert url, f"no token URL within 300 s:\n{log.read_text()[-3000:]}"
        with urllib.request.urlopen(url, timeout=30) as r:
            assert r.status == 200
            assert "<title>JupyterLab</title>" in r.read().decode()
        token = url.rsplit("=", 1)[1]
        req = urllib.request.Request(f"http://127.0.0.1:{port}/api/contents/00_index.ipynb",
                                     headers={"Authorization": f"token {token}"})
        with urllib.request.urlopen(req, timeout=30) as r:
            assert r.status == 200   # the server's root is notebooks/, opened on the index
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
    # make has exited; wait for every process of its group (the server) to be gone
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            os.killpg(proc.pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.25)
    else:
        os.killpg(proc.pid, signal.SIGKILL)
        pytest.fail("JupyterLab's process group outlived SIGTERM by 30 s")
    assert not _listening(port), "JupyterLab still listening after it was stopped"
