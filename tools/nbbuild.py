"""Build notebooks from Python: every notebook starts with the same setup cell and is
written without outputs. Each notebook's generator lives in tools/notebooks/NN_*.py and
calls :func:`write_notebook`; run ``python tools/notebooks/NN_x.py`` to regenerate.
"""

from __future__ import annotations

from pathlib import Path

import nbformat

SETUP_CELL = """\
# infra_lab setup cell (the same in every notebook)
import numpy as np
import polars as pl
import altair as alt
import infra_lab as il

il.charts.setup_offline()   # charts render offline in JupyterLab (no CDN)
SEED = 20250930             # the one seed for every random draw in this notebook
rng = np.random.default_rng(SEED)
pl.Config.set_tbl_rows(30); pl.Config.set_tbl_width_chars(140); pl.Config.set_fmt_str_lengths(1000);"""

ROOT = Path(__file__).resolve().parent.parent
NB_DIR = ROOT / "notebooks"


def write_notebook(name: str, cells: list[tuple[str, str]]) -> Path:
    """Write notebooks/<name>.ipynb from ``[("md"|"code", source), ...]``; the setup cell is
    always the first cell (a test checks it), the title markdown follows it."""
    nb = nbformat.v4.new_notebook()
    nb.metadata = {
        "kernelspec": {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"},
        "language_info": {"name": "python"},
    }
    out = [nbformat.v4.new_code_cell(SETUP_CELL)]
    for kind, src in cells:
        src = src.strip("\n")
        if kind == "md":
            out.append(nbformat.v4.new_markdown_cell(src))
        elif kind == "code":
            out.append(nbformat.v4.new_code_cell(src))
        else:
            raise ValueError(f"cell kind {kind!r}: allowed 'md' or 'code'")
    for i, c in enumerate(out):
        c["id"] = f"c{i:02d}"
    nb.cells = out
    path = NB_DIR / f"{name}.ipynb"
    nbformat.write(nb, path)
    return path
