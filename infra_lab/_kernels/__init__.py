"""Numba kernels, one module per domain. docs/ARCHITECTURE.md "Kernels and their references"
lists each kernel with its separately written plain-Python reference and agreement test.

Cache guard. The kernels compile with ``@njit(cache=True)``; numba keys each cached
function on its OWN source file, not on the njit functions it calls from other modules.
After an update of one kernel module (a ``git pull``, a new wheel), a cached caller could
keep running the old compiled callee. So, on first import, this package hashes the sources
of every kernel module and, when the hash differs from the one stored beside the cache,
removes the cached objects (``*.nbi``, ``*.nbc``); they recompile on first use. This costs
about a millisecond per process and one recompilation after each change.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

_HERE = Path(__file__).resolve().parent
STAMP_NAME = "infra_lab_kernels.sha256"


def sources_digest(folder: Path = _HERE) -> str:
    """SHA-256 over the names and contents of the kernel modules in ``folder``."""
    h = hashlib.sha256()
    for p in sorted(folder.glob("*.py")):
        h.update(p.name.encode())
        h.update(p.read_bytes())
    return h.hexdigest()


def cache_dirs(folder: Path = _HERE) -> list[Path]:
    """Where numba caches these kernels: ``__pycache__`` beside them, and the mirrored
    folder under ``NUMBA_CACHE_DIR`` when that is set."""
    dirs = [folder / "__pycache__"]
    user = os.environ.get("NUMBA_CACHE_DIR")
    if user:
        dirs.append(Path(user) / str(folder).lstrip(os.sep))
    return dirs


def clear_stale_cache(cache_dir: Path, digest: str) -> int:
    """Remove numba's cached objects in ``cache_dir`` unless its stamp equals ``digest``;
    write the stamp. Returns the number of files removed (0 when the cache is current or
    the folder is absent or read-only)."""
    stamp = cache_dir / STAMP_NAME
    try:
        if not cache_dir.is_dir() or (stamp.is_file() and stamp.read_text().strip() == digest):
            return 0
        removed = 0
        for p in list(cache_dir.glob("*.nbi")) + list(cache_dir.glob("*.nbc")):
            p.unlink()
            removed += 1
        stamp.write_text(digest + "\n")
        return removed
    except OSError:  # a read-only install: numba cannot have written a cache here either
        return 0


def _guard() -> None:
    digest = sources_digest()
    for d in cache_dirs():
        clear_stale_cache(d, digest)


_guard()
