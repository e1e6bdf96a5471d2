"""Tables for reading: a polars frame in, a great_tables table out, with units in the column
labels, formatted numbers, source notes and an optional highlighted row.

The notebooks show their headline tables with :func:`headline_table`; frames a reader only
skims stay polars' own display. great_tables is imported on the first call, not with
``il.charts``.
"""

from __future__ import annotations

import html
import math
import re
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

import polars as pl

from ..errors import ValidationError, unknown

if TYPE_CHECKING:
    from great_tables import GT

__all__ = ["headline_table", "column_label", "UNIT_SUFFIXES", "WORDS"]

UNIT_SUFFIXES: dict[str, str] = {
    # money
    "usd_per_useful_gpu_hour": "USD/useful GPU-h", "usd_per_gpu_hour": "USD/GPU-h",
    "usd_per_m_trained_tokens": "USD/M trained tokens", "usd_per_m_served_tokens": "USD/M served tokens",
    "usd_per_million_output_tokens": "USD/M output tokens",
    "usd_per_million_input_tokens": "USD/M input tokens",
    "usd_per_million_tokens": "USD/M tokens", "usd_per_m_tokens": "USD/M tokens",
    "usd_per_M_tokens": "USD/M tokens", "usd_per_pflop_hour": "USD/PFLOP-h",
    "usd_per_gpu_h": "USD/GPU-h", "usd_per_M_output": "USD/M output tokens",
    "usd_per_M_input": "USD/M input tokens", "usd_per_task": "USD/task",
    "usd_per_gpu": "USD/GPU", "usd": "USD", "M_usd": "M USD", "k_usd": "k USD", "MUSD": "M USD", "musd": "M USD",
    # throughput
    "tokens_per_s_per_gpu": "tokens/s/GPU", "tok_s_per_gpu": "tokens/s/GPU", "tok_s_gpu": "tokens/s/GPU",
    "tok_s_per_user": "tokens/s/user", "Mtokens_per_s": "M tokens/s", "Mtok_per_s": "M tokens/s", "tokens_per_s": "tokens/s", "tok_s": "tokens/s",
    "tflops_per_gpu": "TFLOP/s/GPU", "tflops_per_kW": "TFLOP/s/kW", "tflops": "TFLOP/s",
    "GBps_per_gpu": "GB/s/GPU", "GBps": "GB/s", "Gbps": "Gb/s",
    # sizes, power
    "GB_per_gpu": "GB/GPU", "GB": "GB", "GiB": "GiB", "TB": "TB", "bytes": "B",
    "MW": "MW", "kW": "kW", "W": "W",
    # shares
    "pct": "%", "fraction": "%",
    # time
    "gpu_hours": "GPU-h", "ms": "ms", "us": "µs", "s": "s", "h": "h", "hours": "h",
    "days": "days", "years": "years",
    "per_hour": "1/h", "per_s": "1/s",
}
"""Unit shown in brackets for a column whose name ends in ``_<suffix>`` (or is the suffix);
the longest matching suffix wins. A ``*_fraction`` column is shown as a percentage."""

WORDS: dict[str, str] = {"gpus": "GPUs", "mfu": "MFU", "nic": "NIC", "dense_or_moe": "dense / MoE",
                         "ttft": "TTFT", "tpot": "TPOT", "e2e": "end to end",
                         "tp": "TP", "pp": "PP", "dp": "DP", "ep": "EP", "irr": "IRR", "npv": "NPV"}
"""Default words of a label for a few column names (and the words before a unit suffix)."""

_BY_LENGTH = sorted(UNIT_SUFFIXES, key=len, reverse=True)
_FRACTION_SUFFIX = "fraction"
_URL = re.compile(r"https?://[^\s<>\"']+")
_TRAILING = ".,;:)]"
HIGHLIGHT_FILL = "#FFF3BF"
"""Background of the highlighted row(s)."""
MISSING = "—"
"""Text of an empty cell."""
MAX_DECIMALS = 4
_MIXED_SPAN = 100.0   # a column whose nonzero values span more than this factor is formatted per cell


def _suffix(name: str) -> str | None:
    for suf in _BY_LENGTH:
        if name == suf or name.endswith("_" + suf):
            return suf
    return None


def column_label(name: str, *, label: str | None = None, unit: str | None = "") -> str:
    """The label :func:`headline_table` gives column ``name``: the name without its unit
    suffix, underscores as spaces, and the unit in brackets.

    ``label`` replaces the words, ``unit`` the unit (``None``: no unit; ``""``: the unit read
    from the name's suffix, :data:`UNIT_SUFFIXES`). A name that already holds a bracket is
    kept as it is.

    >>> column_label("step_time_s")
    'step time [s]'
    >>> column_label("measured_tok_s_gpu", label="measured")
    'measured [tokens/s/GPU]'
    >>> column_label("nic_busy_fraction")
    'nic busy [%]'
    >>> column_label("tok_s_gpu")
    'tokens/s/GPU'
    >>> column_label("tflops_per_kW", label="peak per kW")   # a label keeps the name's unit
    'peak per kW [TFLOP/s/kW]'
    >>> column_label("owned P50 [USD/GPU-h]")
    'owned P50 [USD/GPU-h]'
    """
    if "[" in name and label is None and unit == "":
        return name
    suf = _suffix(name)
    words = name
    if suf is not None:
        words = name[: -len(suf)].rstrip("_")
        if not words and label is None:   # the whole name is a unit: the unit is the label
            words, suf = UNIT_SUFFIXES[suf], None
    if unit == "":
        unit = UNIT_SUFFIXES[suf] if suf is not None else None
    text = label if label is not None else WORDS.get(words, words.replace("_", " "))
    return f"{text} [{unit}]" if unit else text


def _decimals(x: float) -> int:
    """Decimals that show about three significant digits of ``x`` (never rounding its integer
    part), at most :data:`MAX_DECIMALS`."""
    if x == 0 or not math.isfinite(x):
        return 0
    return max(0, min(MAX_DECIMALS, 2 - math.floor(math.log10(abs(x)))))


def _check_columns(arg: str, names: Iterable[str], df: pl.DataFrame) -> None:
    for name in names:
        if name not in df.columns:
            raise unknown("column", name, df.columns, where=f"headline_table({arg}=...)")


def _as_mapping(arg: str, value: Any) -> Mapping:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise ValidationError(f"headline_table: {arg} = {value!r}: expected a dict from column name to "
                              f"{'label' if arg == 'labels' else 'unit' if arg == 'units' else 'decimals'}")
    return value


def _as_strings(arg: str, value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if isinstance(value, Iterable) and all(isinstance(v, str) for v in value):
        return list(value)
    raise ValidationError(f"headline_table: {arg} = {value!r}: expected a string or a list of strings")


def _highlight_rows(df: pl.DataFrame, highlight: Any) -> list[int]:
    if highlight is None:
        return []
    if isinstance(highlight, pl.Expr):
        try:
            mask = df.select(highlight.alias("_hl"))["_hl"]
        except pl.exceptions.PolarsError as e:
            raise ValidationError(f"headline_table: highlight = {highlight}: the expression fails on the "
                                  f"frame ({type(e).__name__}: {str(e).splitlines()[0]}); columns: "
                                  f"{', '.join(df.columns)}") from None
        if mask.dtype != pl.Boolean or mask.len() != df.height:
            raise ValidationError(f"headline_table: highlight = {highlight}: expected a boolean expression, "
                                  f"one value per row; it gives {mask.len()} value(s) of type {mask.dtype}")
        rows = [i for i, v in enumerate(mask.to_list()) if v]
        if not rows:
            raise ValidationError(f"headline_table: highlight = {highlight}: matches no row of the "
                                  f"{df.height}-row frame")
        return rows
    items = [highlight] if isinstance(highlight, int) else highlight
    if (isinstance(items, (list, tuple)) and items
            and all(isinstance(i, int) and not isinstance(i, bool) for i in items)):
        bad = [i for i in items if not -df.height <= i < df.height]
        if bad:
            raise ValidationError(f"headline_table: highlight = {highlight!r}: row {bad[0]} does not exist; "
                                  f"allowed: 0 to {df.height - 1} (or negative from the end)")
        return sorted({i % df.height for i in items})
    raise ValidationError(f"headline_table: highlight = {highlight!r}: expected a row number, a list of "
                          f"row numbers or a boolean polars expression (e.g. pl.col('name') == 'x')")


def _source_html(text: str) -> str:
    """``text`` as HTML: escaped, every http(s) URL a link."""
    out, last = [], 0
    for m in _URL.finditer(text):
        url = m.group(0).rstrip(_TRAILING)
        out.append(html.escape(text[last:m.start()], quote=False))
        u = html.escape(url)
        out.append(f'<a href="{u}">{u}</a>')
        last = m.start() + len(url)
    out.append(html.escape(text[last:], quote=False))
    return "".join(out)


_RULE = re.compile(r"([^{}]+)\{")
_EXTRA_CSS = ".gt_row.gt_right { white-space: nowrap; }\n"   # numbers and dates do not wrap


def _scope_css(page: str) -> str:
    """great_tables' HTML with every CSS selector of its ``<style>`` block scoped to the table's
    own ``<div id>``: its stylesheet has a few bare selectors (``tbody``, ``tr``, ``td`` ...)
    that would otherwise restyle every other table of the notebook page. Adds one rule: numbers
    and dates (right-aligned cells) do not wrap."""
    m = re.search(r'<div id="([^"]+)"', page)
    s0, s1 = page.find("<style>"), page.find("</style>")
    if not m or s0 < 0 or s1 < s0:
        return page
    scope = f"#{m.group(1)}"

    def fix(rule: re.Match) -> str:
        sel = rule.group(1)
        if sel.strip().startswith("@"):
            return rule.group(0)
        parts = [p.strip() for p in sel.split(",")]
        parts = [p if p.startswith(scope) else f"{scope} {p}" for p in parts if p]
        return ", ".join(parts) + " {"

    css = _RULE.sub(fix, page[s0 + len("<style>"):s1] + _EXTRA_CSS)
    return page[:s0 + len("<style>")] + css + page[s1:]


_GT_CLASS = None


def _gt_class():
    """A great_tables ``GT`` whose HTML keeps its CSS to itself (:func:`_scope_css`); built on
    first use so that importing the charts does not import great_tables."""
    global _GT_CLASS
    if _GT_CLASS is None:
        from great_tables import GT

        class HeadlineTable(GT):
            """great_tables' ``GT`` with its stylesheet scoped to the table (:func:`_scope_css`)."""

            def as_raw_html(self, *args, **kwargs) -> str:
                return _scope_css(super().as_raw_html(*args, **kwargs))

            def __repr__(self) -> str:   # the text/plain output: the title and the frame, not GT's fields
                title = getattr(self._heading, "title", None) or ""
                return f"{title}\n{self._tbl_data}" if title else str(self._tbl_data)

        HeadlineTable.__module__ = __name__
        HeadlineTable.__qualname__ = "HeadlineTable"
        _GT_CLASS = HeadlineTable
    return _GT_CLASS


def headline_table(df: pl.DataFrame | pl.LazyFrame, title: str, *, subtitle: str | None = None,
                   labels: Mapping[str, str] | None = None,
                   units: Mapping[str, str | None] | None = None,
                   decimals: Mapping[str, int] | None = None, percent: Iterable[str] | None = None,
                   sources: str | Iterable[str] | None = None, highlight: Any = None) -> GT:
    """A polars frame as a table to read (great_tables): a title, column labels with units,
    formatted numbers, source notes and an optional highlighted row.

    Parameters
    ----------
    df : polars.DataFrame or polars.LazyFrame
        The rows to show, in order, with the columns to show (select them first); at least
        one row and one column.
    title : str
        The table's title; ``subtitle`` (optional) goes under it.
    labels : dict, optional
        Column name → the words of its label (the unit is added). Default: the name without
        its unit suffix, underscores as spaces (:func:`column_label`).
    units : dict, optional
        Column name → unit shown in brackets, replacing the one read from the name's suffix
        (``*_usd`` → USD, ``*_s`` → s, ``*_pct`` → %, ``tok_s_gpu`` → tokens/s/GPU ...,
        :data:`UNIT_SUFFIXES`); ``None`` shows no unit.
    decimals : dict, optional
        Column name → number of decimals. Default: integers with thousands separators;
        ``*_pct`` and percentage columns with 1 decimal; other floats with the decimals that
        give about three significant digits to the column's smallest value — or cell by cell
        where a column's values span more than a factor of 100 (a column of mixed quantities).
    percent : list of str, optional
        Columns holding fractions (0.42) to show as percentages (42.0) under a ``[%]`` label;
        ``*_fraction`` columns are shown so without being listed.
    sources : str or list of str, optional
        Source notes under the table, one per string; ``http(s)`` URLs become links.
    highlight : int, list of int or polars.Expr, optional
        The row(s) to highlight (bold, tinted): row numbers from 0, or a boolean expression
        on the frame such as ``pl.col("accelerator") == "MI300X"``.

    Returns
    -------
    great_tables.GT
        Displays as HTML in a notebook (no script, no web font, no external resource; its CSS
        is scoped to the table); every great_tables method can refine it further.

    Raises
    ------
    ValidationError
        ``df`` is not a polars frame or is empty; an argument has the wrong type; a
        ``decimals`` value is not an integer 0–10; a ``percent`` column is not numeric;
        ``highlight`` names no existing row.
    UnknownNameError
        A column named in ``labels``, ``units``, ``decimals`` or ``percent`` is not in the
        frame (the message lists the nearest names).

    Examples
    --------
    >>> import polars as pl
    >>> import infra_lab as il
    >>> runs = pl.DataFrame({"accelerator": ["MI300X", "H100-SXM"], "step_time_s": [12.345, 9.8765],
    ...                      "tok_s_gpu": [4321.0, 5012.0], "error_pct": [-3.21, 4.56]})
    >>> t = il.charts.headline_table(runs, "Two runs", highlight=pl.col("accelerator") == "MI300X",
    ...                              sources="Zyphra's report, https://arxiv.org/abs/2511.17127")
    >>> page = t.as_raw_html()
    >>> all(s in page for s in ("step time [s]", "tokens/s/GPU", "12.3", "4,321", "−3.2"))
    True
    >>> '<a href="https://arxiv.org/abs/2511.17127">' in page
    True
    """
    if isinstance(df, pl.LazyFrame):
        df = df.collect()
    if not isinstance(df, pl.DataFrame):
        raise ValidationError(f"headline_table: df = {type(df).__name__} {str(df)[:60]!r}: expected a polars "
                              f"DataFrame or LazyFrame (e.g. pl.DataFrame(rows))")
    if df.height == 0 or df.width == 0:
        raise ValidationError(f"headline_table: df is empty ({df.height} rows × {df.width} columns): a table "
                              f"needs at least one row and one column")
    if not isinstance(title, str) or not title.strip():
        raise ValidationError(f"headline_table: title = {title!r}: expected a non-empty string")
    if subtitle is not None and not isinstance(subtitle, str):
        raise ValidationError(f"headline_table: subtitle = {subtitle!r}: expected a string or None")
    labels, units, decimals = (_as_mapping(a, v) for a, v in
                               (("labels", labels), ("units", units), ("decimals", decimals)))
    percent = _as_strings("percent", percent)
    notes = _as_strings("sources", sources)
    for arg, names in (("labels", labels), ("units", units), ("decimals", decimals), ("percent", percent)):
        _check_columns(arg, names, df)
    for c, lab in labels.items():
        if not isinstance(lab, str):
            raise ValidationError(f"headline_table: labels[{c!r}] = {lab!r}: expected a string")
    for c, u in units.items():
        if u is not None and not isinstance(u, str):
            raise ValidationError(f"headline_table: units[{c!r}] = {u!r}: expected a string or None")
    for c, d in decimals.items():
        if isinstance(d, bool) or not isinstance(d, int) or not 0 <= d <= 10:
            raise ValidationError(f"headline_table: decimals[{c!r}] = {d!r}: expected an integer from 0 to 10")
    for c in percent:
        if not df[c].dtype.is_numeric():
            raise ValidationError(f"headline_table: percent column {c!r} has type {df[c].dtype}: expected "
                                  f"numbers (fractions such as 0.42)")
    rows = _highlight_rows(df, highlight)

    gt = _gt_class()(df).tab_header(title=title, subtitle=subtitle)
    gt = gt.cols_label({c: column_label(c, label=labels.get(c), unit=units.get(c, "") if c not in percent
                                        else "%") for c in df.columns})
    for c in df.columns:
        s = df[c]
        if s.dtype == pl.Boolean:
            gt = gt.fmt(lambda v: MISSING if v is None else ("yes" if v else "no"), columns=c)
            continue
        if not s.dtype.is_numeric():
            continue
        scale = 100.0 if c in percent or _suffix(c) == _FRACTION_SUFFIX else 1.0
        if c in decimals:
            gt = gt.fmt_number(columns=c, decimals=decimals[c], scale_by=scale)
        elif s.dtype.is_integer() and scale == 1.0:
            gt = gt.fmt_integer(columns=c, use_seps=not (c == "year" or c.endswith("_year")))
        elif scale != 1.0 or _suffix(c) == "pct":
            gt = gt.fmt_number(columns=c, decimals=1, scale_by=scale)
        else:
            vals = [abs(v) for v in s.cast(pl.Float64).to_list() if v is not None and math.isfinite(v) and v != 0]
            if vals and max(vals) / min(vals) > _MIXED_SPAN:
                by: dict[int, list[int]] = {}
                for i, v in enumerate(s.cast(pl.Float64).to_list()):
                    if v is not None and math.isfinite(v):
                        by.setdefault(_decimals(v), []).append(i)
                for d, idx in sorted(by.items()):
                    gt = gt.fmt_number(columns=c, rows=idx, decimals=d)
            else:
                d = _decimals(min(vals)) if vals else 0
                gt = gt.fmt_number(columns=c, decimals=d)
    gt = gt.sub_missing(missing_text=MISSING)
    if rows:
        from great_tables import loc, style

        gt = gt.tab_style(style=[style.fill(color=HIGHLIGHT_FILL), style.text(weight="bold")],
                          locations=loc.body(rows=rows))
    if notes:
        from great_tables import html as gt_html

        for note in notes:
            gt = gt.tab_source_note(gt_html(_source_html(note)))
    return gt.tab_options(table_margin_left="0px", table_font_size="14px", data_row_padding="3px", heading_align="left",
                          source_notes_font_size="12px")
