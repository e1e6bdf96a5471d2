"""Shared chart plumbing: offline rendering, the house palette, frame checks."""

from __future__ import annotations

import altair as alt

__all__ = ["setup_offline", "VENDOR_COLORS", "vendor_color", "require_columns", "to_altair_data"]

VENDOR_COLORS = {"AMD": "#ED1C24", "NVIDIA": "#76B900", "Intel": "#0071C5"}
"""Vendor colours used across charts (AMD red, NVIDIA green)."""

MAX_ROWS = 5000


def setup_offline() -> None:
    """Render altair charts offline in JupyterLab (no CDN): the 'jupyter' renderer in
    offline mode plus ``JupyterChart.enable_offline()``; see docs/toolchain notes."""
    alt.renderers.enable("jupyter", offline=True)
    alt.JupyterChart.enable_offline()


def vendor_color(domain: list[str] | None = None) -> alt.Scale:
    """Colour scale mapping vendor names to the house colours."""
    dom = domain or list(VENDOR_COLORS)
    return alt.Scale(domain=dom, range=[VENDOR_COLORS.get(v, "#888888") for v in dom])


def require_columns(df, cols: list[str], chart: str) -> None:
    """Raise a clear error when a frame lacks the columns a chart needs."""
    from ..errors import ValidationError

    missing = [c for c in cols if c not in df.columns]
    if missing:
        raise ValidationError(
            f"{chart}: frame lacks column(s) {', '.join(missing)}; it has {', '.join(df.columns)}"
        )


def to_altair_data(df):
    """Collect a LazyFrame and refuse frames over altair's row limit with a clear message."""
    import polars as pl

    from ..errors import ValidationError

    if isinstance(df, pl.LazyFrame):
        df = df.collect()
    if df.height > MAX_ROWS:
        raise ValidationError(
            f"chart data has {df.height} rows; aggregate to at most {MAX_ROWS} first"
        )
    return df
