"""Layout helpers shared by the widget modules (private: not re-exported)."""

from __future__ import annotations

from collections.abc import Iterable

PX_PER_CHAR = 7    # JupyterLab's default UI font at 13 px, roughly
PADDING_PX = 16


def fit_labels(controls: Iterable) -> None:
    """Give every control the same description width, wide enough for the longest label,
    so labels such as "write GB/s/node" are not cut off and the sliders line up."""
    controls = list(controls)
    longest = max((len(c.description) for c in controls), default=0)
    width = f"{longest * PX_PER_CHAR + PADDING_PX}px"
    for c in controls:
        c.style.description_width = width
