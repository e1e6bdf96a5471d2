"""Layout helpers shared by the widget modules (private: not re-exported)."""

from __future__ import annotations

from collections.abc import Iterable

PX_PER_CHAR = 7    # JupyterLab's default UI font at 13 px, roughly
PADDING_PX = 16


def fit_labels(controls: Iterable) -> None:
    """Give every control the same description width, wide enough for the longest label,
    so labels such as "write [GB/s per node]" are not cut off and the sliders line up."""
    controls = list(controls)
    longest = max((len(c.description) for c in controls), default=0)
    width = f"{longest * PX_PER_CHAR + PADDING_PX}px"
    for c in controls:
        c.style.description_width = width


def frame_html(df) -> str:
    """A small polars frame as the explorers' HTML table: every column and every character of
    every cell. Polars' own limits (32 characters per string unless the session set more; 80
    in the notebooks' setup cell) cut the rows that matter most, the reason a deployment
    cannot run, the plan a search chose or the note on a global batch, mid-sentence. A missing
    value (no TPOT for one output token, no throughput for a plan that does not fit) reads "—",
    not polars' "null"; a string cell that says null keeps its quotes and is left alone. The
    headers are the columns' names in words with the unit in brackets ("step_time_s" reads
    "step time [s]": :func:`infra_lab.charts.tables.column_label`, as the notebooks' tables)."""
    import polars as pl

    from ..charts.tables import column_label

    shown = {c: column_label(c, unit="-" if c.endswith("fraction") else "") for c in df.columns}
    if len(set(shown.values())) == len(shown):   # two names that read alike keep their names
        df = df.rename(shown)

    longest = max((df[c].str.len_chars().max() or 0 for c in df.columns if df[c].dtype == pl.String), default=0)
    with pl.Config(tbl_hide_dataframe_shape=True, tbl_hide_column_data_types=True, float_precision=3,
                   fmt_str_lengths=max(32, int(longest)), tbl_cols=-1, tbl_rows=-1):
        return df._repr_html_().replace("<td>null</td>", "<td>—</td>")
