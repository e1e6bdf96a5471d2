"""Shared chart plumbing: offline rendering, the house palette, frame checks."""

from __future__ import annotations

import json
import uuid
from typing import TYPE_CHECKING

import altair as alt

if TYPE_CHECKING:
    import polars as pl

__all__ = ["setup_offline", "ChartPane", "vega_bundle_js", "VENDOR_COLORS", "vendor_color", "accelerator_scale",
           "require_columns", "require_rows", "require_values", "require_some", "require_positive", "to_altair_data", "field",
           "signed_tooltip"]

VENDOR_COLORS = {"AMD": "#ED1C24", "NVIDIA": "#76B900", "Intel": "#0071C5"}
"""Vendor colours used across charts (AMD red, NVIDIA green)."""

MAX_ROWS = 5000


RENDERER = "infra_lab"
"""Name of the altair renderer :func:`setup_offline` enables."""

_EMBED_OPTIONS = {"actions": False, "renderer": "svg"}
_WAIT_MS, _WAIT_TRIES = 50, 400   # a chart waits up to 20 s for the Vega bundle


def vega_bundle_js() -> str:
    """Vega, Vega-Lite and vega-embed as one script (from vl-convert, the versions altair's
    specs target), wrapped so that running it twice in one page is harmless. It defines
    ``window.vegaEmbed``; every chart output of this package calls it."""
    import vl_convert as vlc

    js = vlc.javascript_bundle()
    return "if (!window.vegaEmbed) { (function () {\n" + js + "\n})(); }"


def _chart_html(spec: dict, div_id: str) -> str:
    spec_json = json.dumps(spec, separators=(",", ":")).replace("</", "<\\/")
    opts = json.dumps(_EMBED_OPTIONS)
    return (
        f'<div id="{div_id}" class="infra-lab-chart"></div>\n'
        "<script>(function () {\n"
        f"  var spec = {spec_json}, opts = {opts}, tries = 0;\n"
        "  function draw() {\n"
        f'    var el = document.getElementById("{div_id}");\n'
        "    if (el && window.vegaEmbed) {\n"
        "      window.vegaEmbed(el, spec, opts).catch(function (e) {\n"
        "        el.textContent = 'chart error: ' + e; });\n"
        f"    }} else if (++tries < {_WAIT_TRIES}) {{ setTimeout(draw, {_WAIT_MS}); }}\n"
        "    else if (el) { el.textContent = 'Vega is not loaded: run the setup cell "
        "(il.charts.setup_offline()).'; }\n"
        "  }\n"
        "  draw();\n"
        "})();</script>"
    )


def _light_renderer(spec: dict, **_kwargs) -> dict:
    """altair renderer: a small HTML output per chart (its spec and a call of the page's
    one ``vegaEmbed``), no per-chart copy of the JavaScript."""
    div_id = f"infra-lab-vega-{uuid.uuid4().hex[:12]}"
    title = spec.get("title", "")
    if isinstance(title, dict):            # a title with a subtitle: its text
        title = title.get("text", "")
    return {"text/html": _chart_html(spec, div_id), "text/plain": f"<altair chart: {title or 'untitled'}>"}


class _Bundle:
    """Displays as the Vega bundle script (an HTML output holding it once per notebook)."""

    def _repr_html_(self) -> str:
        return f'<script id="infra-lab-vega-bundle">{vega_bundle_js()}</script>'

    def __repr__(self) -> str:
        return "<infra_lab: Vega bundle loaded for offline charts>"


def setup_offline(display_bundle: bool = True) -> None:
    """Render altair charts offline, light: the Vega JavaScript is put into the page ONCE
    (this call displays it, as the setup cell's output), and every chart is a small HTML
    output — its spec and a call of that one ``vegaEmbed`` — instead of a widget carrying
    its own 0.9 MB copy of the bundle. Works in JupyterLab (outputs of cells run in the
    session are trusted, so their scripts run) and in the HTML pages of ``make site``.
    Charts in a notebook opened but not run show nothing until it is run."""
    if RENDERER not in alt.renderers.names():
        alt.renderers.register(RENDERER, _light_renderer)
    alt.renderers.enable(RENDERER)
    if display_bundle:
        from IPython.display import display

        display(_Bundle())


class ChartPane:
    """A chart area for widgets: an ``ipywidgets.Output`` showing one chart through the
    light renderer; :meth:`show` replaces it. ``widget`` goes into the layout; ``chart``
    is the chart shown last (tests read it)."""

    def __init__(self, chart=None):
        import ipywidgets as W

        self.widget = W.Output()
        self.chart = None
        if chart is not None:
            self.show(chart)

    def show(self, chart) -> None:
        from IPython.display import display

        self.chart = chart
        with self.widget:
            self.widget.clear_output(wait=True)
            display(chart)

    def clear(self) -> None:
        """Show no chart (where the widget's setting has none to show)."""
        self.chart = None
        self.widget.clear_output()

    def show_or_clear(self, chart) -> None:
        """:meth:`show` ``chart``, or :meth:`clear` when it is None (a setting with no chart: no
        stale chart of the previous setting beside the row that says why)."""
        if chart is None:
            self.clear()
        else:
            self.show(chart)


def vendor_color(domain: list[str] | None = None) -> alt.Scale:
    """Colour scale mapping vendor names to the house colours."""
    dom = domain or list(VENDOR_COLORS)
    return alt.Scale(domain=dom, range=[VENDOR_COLORS.get(v, "#888888") for v in dom])


_SHADES = {"AMD": ["#ED1C24", "#9E0F15", "#F4777B", "#C2185B", "#FF7043"],
           "NVIDIA": ["#1B5E20", "#76B900", "#A9D861", "#3E6200", "#00897B", "#CDDC39"]}
"""Shades of each vendor's house colour. An accelerator's preferred shade is fixed by its place
among its vendor's parts in ``data/accelerators.csv`` (MI300X the house red, H100-SXM the house
green), so that it keeps its colour from chart to chart and notebook to notebook."""


def accelerator_scale(accelerators: list[str], labels: list[str] | None = None) -> alt.Scale:
    """Colour scale for accelerator names: shades of the vendor's house colour (AMD red,
    NVIDIA green). Each part takes the shade its place in the catalog gives it (the same in
    every chart); where two parts of one chart would share a shade, the later one takes the
    next free shade. A label that is not a catalog name is grey. ``labels`` (one per
    accelerator) are the values the chart colours by where they are not the catalog names
    themselves (notebook 08's platforms, "MI355X node": coloured as their accelerator)."""
    from .. import catalog

    names = catalog.accelerators().select("name", "vendor")
    order: dict[str, int] = {}
    seen: dict[str, int] = {}
    for name, vendor in names.iter_rows():
        order[name] = seen.get(vendor, 0)
        seen[vendor] = seen.get(vendor, 0) + 1
    vendor_of = dict(names.iter_rows())
    taken: dict[str, set[int]] = {}
    rng = []
    for a in accelerators:
        v = vendor_of.get(a)
        if v is None or v not in _SHADES:
            rng.append("#888888")
            continue
        shades, used = _SHADES[v], taken.setdefault(v, set())
        k = order[a] % len(shades)
        for step in range(len(shades)):   # the next free shade where the preferred one is taken
            if (k + step) % len(shades) not in used:
                k = (k + step) % len(shades)
                break
        used.add(k)
        rng.append(shades[k])
    if labels is not None and len(labels) != len(accelerators):
        from ..errors import ValidationError

        raise ValidationError(f"accelerator_scale: {len(labels)} labels for {len(accelerators)} accelerators; "
                              "pass one label per accelerator")
    return alt.Scale(domain=list(accelerators if labels is None else labels), range=rng)


def require_columns(df: pl.DataFrame, cols: list[str], chart: str,
                    params: dict | None = None) -> None:
    """Raise a clear error when a frame lacks the columns a chart needs. ``params`` maps a
    column that the caller chose through a keyword argument (e.g. {"series": "color"}) to that
    argument's name: a missing one is then named with the argument that picks another column."""
    from ..errors import ValidationError

    missing = [c for c in cols if c not in df.columns]
    if missing:
        hint = "".join(f"; or pass {params[c]}=<one of its columns> in place of {params[c]}={c!r}"
                       for c in missing if params and c in params)
        raise ValidationError(
            f"{chart}: frame lacks column(s) {', '.join(missing)}; it has {', '.join(df.columns)}{hint}"
        )


def require_rows(df: pl.DataFrame, chart: str, rows: str = "the frame has no rows") -> None:
    """Raise a clear error when a chart whose axes are set by its data gets no rows to draw
    (its domain would be the minimum of nothing)."""
    from ..errors import ValidationError

    if df.height == 0:
        raise ValidationError(f"{chart}: {rows}; nothing to draw (the axes are set by the data)")


def _missing(col: pl.Series) -> pl.Series:
    """Where a column has no usable value: null, or NaN / ±inf in a float column."""
    miss = col.is_null()
    return miss | ~col.is_finite().fill_null(True) if col.dtype.is_float() else miss


def require_values(df: pl.DataFrame, cols: list[str], chart: str) -> None:
    """Raise a clear error when a column a chart computes from (an axis's ticks, a total, a
    histogram's range, a rule's position) has a row without a value (null, NaN or ±inf): the
    chart cannot place it, and the computation crashed deep inside with a TypeError or numpy's
    ValueError. Says the column, how many rows and what to do."""
    from ..errors import ValidationError

    for c in cols:
        n = int(_missing(df[c]).sum())
        if n:
            raise ValidationError(f"{chart}: {c} has no value (null, NaN or ±inf) in {n} of its {df.height} "
                                  f"row{'s' if df.height != 1 else ''}; the chart is computed from every row's "
                                  f"{c}: drop those rows (df.drop_nulls({c!r})) or fill them")


def require_some(df: pl.DataFrame, cols: list[str], chart: str) -> None:
    """Raise a clear error when a column that sets a chart's axis range has no value in any
    row (every one null, NaN or ±inf): the range would be the minimum of nothing. Rows with
    some values missing are drawn (the missing points are left out)."""
    from ..errors import ValidationError

    for c in cols:
        if df.height and bool(_missing(df[c]).all()):
            raise ValidationError(f"{chart}: no row has a value of {c} (all {df.height} are null, NaN or ±inf); "
                                  "nothing to draw (the axes are set by the data)")


def require_positive(df: pl.DataFrame, cols: list[str], chart: str, *, zero: bool = False) -> None:
    """Raise a clear error when a column drawn on a log axis has a value at or below zero (below
    zero where ``zero`` is allowed): a log axis has no place for it, and the chart's range
    arithmetic crashed deep inside (ZeroDivisionError, math domain error). Missing values (null,
    NaN, ±inf) are not checked here: :func:`require_values` or :func:`require_some` own them."""
    from ..errors import ValidationError

    for c in cols:
        col = df[c]
        bad = (col < 0) if zero else (col <= 0)
        bad = bad.fill_null(False) & ~_missing(col)
        n = int(bad.sum())
        if n:
            allowed = ">= 0" if zero else "> 0"
            raise ValidationError(f"{chart}: {c} = {float(col.filter(bad)[0])!r} in {n} of its {df.height} "
                                  f"row{'s' if df.height != 1 else ''}; it is drawn on a log axis, allowed {allowed}")


def gpus_tooltip() -> alt.Tooltip:
    """The tooltip line for a GPU count (the ``gpus`` column): titled "GPUs", a whole number
    with thousands separators. The one definition every chart with a ``gpus`` column uses."""
    return alt.Tooltip("gpus:Q", title="GPUs", format=",d")


def signed_tooltip(data: pl.DataFrame, column: str, title: str,
                   decimals: int = 1) -> tuple[pl.DataFrame, alt.Tooltip]:
    """``(data with a text column, the tooltip line that shows it)`` for a signed figure such as
    an error [%]: the text is :func:`infra_lab.printout.signed`'s (``'+12.3'``, ``'-4.0'``, and
    a value that rounds to zero reads ``'0.0'``), where Vega-Lite's ``"+.1f"`` format printed
    ``'+0.0'`` for 0 and ``'-0.0'`` for -0.0004. The column is ``"<column> (signed text)"``; a
    null stays null."""
    import polars as pl

    from .._repr import signed

    name = f"{column} (signed text)"
    text = [None if v is None else signed(v, decimals) for v in data[column].to_list()]
    data = data.with_columns(pl.Series(name, text, dtype=pl.String))
    return data, alt.Tooltip(field=field(name), type="nominal", title=title)


def unit_of(title: str) -> str:
    """The unit of an axis title, its last ``[...]`` (``"cost [USD per GPU-hour]"`` ->
    ``"[USD per GPU-hour]"``); ``""`` when it has none. Tooltip lines that show an axis's
    quantity carry the axis's unit this way."""
    i = title.rfind("[") if title else -1
    return title[i:] if i >= 0 and title.endswith("]") else ""


def field(name: str) -> str:
    """A column name as a Vega-Lite field reference: ``.``, ``[`` and ``]`` (and ``\\``) escaped.
    Unescaped, Vega-Lite reads ``"NPV per GPU [USD]"`` as the nested field ``NPV per GPU `` →
    ``USD``, finds nothing and draws an empty chart (notebook 05's NPV-against-the-contract-price
    chart did). Pass it as ``field=`` with an explicit ``type=``: the shorthand ``"name:Q"`` also
    splits at a colon."""
    return "".join("\\" + ch if ch in ".[]\\" else ch for ch in name)


def to_altair_data(df: pl.DataFrame | pl.LazyFrame) -> pl.DataFrame:
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
