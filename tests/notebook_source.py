"""Shared helper of the notebook-claim tests: a notebook's cells as its generator
(tools/notebooks/NN_*.py) writes them, read without executing the notebook."""

from __future__ import annotations

import runpy
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def generator_cells(name: str) -> list[tuple[str, str]]:
    """The (kind, source) cells of ``tools/notebooks/<name>`` ("03_interconnect.py", ...)."""
    sys.path.insert(0, str(ROOT / "tools"))
    try:
        return runpy.run_path(str(ROOT / "tools" / "notebooks" / name), run_name="x")["cells"]
    finally:
        sys.path.remove(str(ROOT / "tools"))
