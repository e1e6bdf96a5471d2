"""A small on-disk cache of computed arrays, in the user's cache folder.

Used where a result is deterministic but slow to compute and needed at the first call of a
fresh process (the busiest-rank expert tables' Monte Carlo, :mod:`infra_lab.compute.moe`).
Each entry is one ``.npy`` file whose name is the SHA-256 of everything the result depends on:
the caller's inputs, a digest of the source files that compute it, and the versions of Python,
NumPy and numba and the machine type. A change of any of them is a different file name, so an
entry is never stale; entries of older versions are simply no longer read (delete the folder
to reclaim the space; each entry is a few kB).

Where: ``$INFRA_LAB_CACHE_DIR`` when set (``off`` turns the cache off), else the platform's
user cache folder: ``$XDG_CACHE_HOME/infra_lab`` (``~/.cache/infra_lab`` when unset) on Linux,
``~/Library/Caches/infra_lab`` on macOS, ``%LOCALAPPDATA%\\infra_lab\\Cache`` on Windows.

Safety: an entry is written to a temporary file in the same folder and renamed into place
(atomic), so a reader never sees a partial file; an unreadable, truncated or mismatched entry
is ignored (and recomputed); a folder that cannot be created or written (a read-only home, a
full disk) only means the result is recomputed in each process, never an error.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import sys
import tempfile
from functools import cache
from pathlib import Path

import numpy as np

ENV = "INFRA_LAB_CACHE_DIR"
"""Environment variable: the cache folder, or ``off`` for no on-disk cache."""
FORMAT = 1
"""Entry format version (part of every key)."""


def cache_root() -> Path | None:
    """The cache folder (not created here), or None when ``INFRA_LAB_CACHE_DIR=off``."""
    user = os.environ.get(ENV)
    if user is not None and user.strip():
        return None if user.strip().lower() == "off" else Path(user).expanduser()
    if sys.platform == "win32":
        base = os.environ.get("LOCALAPPDATA")
        return Path(base) / "infra_lab" / "Cache" if base else Path.home() / "AppData" / "Local" / "infra_lab" / "Cache"
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Caches" / "infra_lab"
    xdg = os.environ.get("XDG_CACHE_HOME", "")
    return (Path(xdg) if os.path.isabs(xdg) else Path.home() / ".cache") / "infra_lab"


@cache
def sources_digest(*files: str) -> str:
    """SHA-256 over the names and contents of ``files`` (paths), read once per process."""
    h = hashlib.sha256()
    for f in files:
        p = Path(f)
        h.update(p.name.encode())
        h.update(p.read_bytes())
    return h.hexdigest()


def entry_path(namespace: str, key: dict, sources: tuple[str, ...]) -> Path | None:
    """The file of the entry for ``key`` (JSON-serialisable inputs) computed by the code in
    ``sources``, or None when the cache is off."""
    root = cache_root()
    if root is None:
        return None
    full = {"format": FORMAT, "namespace": namespace, "key": key, "sources": sources_digest(*sources),
            "python": list(sys.version_info[:2]), "numpy": np.__version__, "numba": _numba_version(),
            "machine": platform.machine()}
    name = hashlib.sha256(json.dumps(full, sort_keys=True).encode()).hexdigest()
    return root / namespace / f"{name}.npy"


@cache
def _numba_version() -> str:
    """numba's version, without importing numba (0.3 s) where a process has not yet."""
    mod = sys.modules.get("numba")
    if mod is not None:
        return mod.__version__
    from importlib.metadata import version

    return version("numba")


def load(path: Path | None, shape: tuple[int, ...], dtype=np.float64) -> np.ndarray | None:
    """The array stored at ``path`` when it is readable and of ``shape`` and ``dtype``; else None."""
    if path is None:
        return None
    try:
        arr = np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError):
        return None
    if arr.shape != shape or arr.dtype != dtype:
        return None
    return arr


def store(path: Path | None, arr: np.ndarray) -> bool:
    """Write ``arr`` at ``path`` (atomically: a temporary file renamed into place). Returns
    whether it was written; any OS error (read-only folder, full disk) is swallowed."""
    if path is None:
        return False
    tmp = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".npy", dir=path.parent)
        with os.fdopen(fd, "wb") as f:
            np.save(f, arr, allow_pickle=False)
        os.replace(tmp, path)
        return True
    except OSError:
        if tmp is not None:
            try:
                os.unlink(tmp)
            except OSError:
                pass
        return False
