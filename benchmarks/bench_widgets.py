"""Change latency of every notebook widget: the wall time from setting a control's value to
the widget's output (summary text and chart) being updated, against the notebooks' promise
that a change answers in well under a second (``budget_s``).

Each widget is built as its notebook builds it (same arguments; the expansion explorer reads
the same in-process sweep as notebook 08), headless: ipywidgets runs without a front end,
setting ``control.value`` fires the widget's observers synchronously, and an IPython shell
formats what the widget displays (the chart's HTML bundle, as a kernel would send it), so
the timed span is everything the kernel does for a change.

* ``<widget>_cold_s``: building the widget, which runs its first update (numba kernels
  compile here, or load from the on-disk cache: with ``cache=True`` compilation is paid once
  per machine, so a second run of this script shows the cached cold start). Widgets are
  built in notebook order, so a later widget finds kernels an earlier one compiled.
* then every control of the widget is moved through its first, middle and last option (or
  slider minimum, middle, maximum; a multi-select to one entry and to all) and back to the
  notebook's value, one change at a time, the others held at their values; each change is
  timed. Controls that act only under another setting are moved again under it (``Widget.also``:
  the training explorer's pipeline schedule with pp = 4, its vp with pp = 4 and the interleaved
  schedule), the changes into and out of that setting timed too. ``<widget>_median_s``, ``<widget>_max_s`` and ``<widget>_changes`` per widget, and
  the same over all widgets. ``<widget>_unchanged`` counts changes after which no text
  output differs (only informational: e.g. a control whose value the summary does not print).
  Notebook 08's sweep is not a full grid, so some expansion changes land on a combination
  without a point: the explorer says so (it raised a ValidationError until this benchmark
  found it) and those changes are timed like the others.

Measured on the 2-core development machine, shared with other jobs (load average 1.8-2.2
during the run; two runs, the quieter one shown), seconds:

    widget          cold   median    max   changes
    accelerator     0.08   0.083   0.090     10
    compute_memory  0.75   0.068   0.094     21
    network         0.10   0.040   0.048     25
    training        0.14   0.031   0.267     17
    economics       2.87   0.029   0.033     26
    reliability     5.99   0.040   0.129     16
    serving         0.10   0.021   0.030     24
    expansion       0.12   0.075   0.119      9
    multimodal      0.55   0.025   0.062     16
    all                    0.037   0.267    164   (budget 1.0 s; no change over 0.5 s)

The economics and reliability cold starts of that run compiled kernels (0.06 s and 0.09 s
in the other run, loading them from numba's cache). The first run in a checkout without a
kernel cache paid the compilation of everything: cold starts of 4.7 s (compute_memory),
20 s (network), 16 s (training), 3.7 s (economics), 7.6 s (reliability) and 38 s (serving).
Warm, the slowest change is the training explorer's first visit of an accelerator whose
shipped plan does not fit (H100-SXM), where ``il.search`` builds its per-layer tables: 0.35 s
before ``attention_kernels`` cached its per-accelerator lookup (a polars filter per call,
257 calls in that change), 0.21 s after (median of three fresh processes each).

Headline figures are printed last as ``name=value`` lines.

Run: .venv/bin/python benchmarks/bench_widgets.py [--widgets accelerator,serving,...]
"""

from __future__ import annotations

import argparse
import difflib
import os
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass

import ipywidgets as W

import infra_lab as il

BUDGET_S = 1.0
"""The notebooks' promise: a widget change answers in well under a second."""
SLOW_S = 0.5
"""A warm change slower than this is counted (and worth a profile)."""
SEED = 20250930
"""The notebooks' seed (tools/nbbuild.py's setup cell)."""


def _reliability():
    R = il.reliability
    sc = il.load_scenario("zaya1-ibm-mi300x")
    work_h = R.run_hours(sc, R.parameter("zaya1_tokens"))
    return il.widgets.reliability_explorer(sc, work_h, optimizer=sc.training.optimizer, n_runs=2000, seed=SEED)


def expansion_frame():
    """Notebook 08's in-process sweep, joined with the options (section 1 of the notebook)."""
    import polars as pl

    X = il.expansion
    z = pl.DataFrame({"platform": X.platforms()["platform"]}).join(
        pl.DataFrame({"nic": X.nics()["nic"]}), how="cross").join(
        pl.DataFrame({"target_gpus": [1024]}), how="cross").with_columns(model=pl.lit("ZAYA1-class"))
    moe = pl.DataFrame({"platform": X.platforms()["platform"]}).with_columns(
        nic=pl.lit("Pollara-400"), target_gpus=pl.lit(8192, dtype=pl.Int64), model=pl.lit("10x MoE"))
    sw = il.sweep(X.evaluate, pl.concat([z, moe]), seed=SEED)
    opts = X.options()
    return sw.join(opts.select("platform", "nic", "option", "announced_not_shipped"), on=["platform", "nic"])


@dataclass(frozen=True)
class Widget:
    name: str
    notebook: str
    factory: Callable          # the il.widgets function the notebook calls
    build: Callable            # builds it with the notebook's arguments (setup passed in)
    setup: Callable | None = None   # untimed notebook work the widget reads (e.g. a sweep)
    also: tuple = ()
    """Further passes, each (held, moved): the controls named in ``held`` (by description) set to
    those values, then each control named in ``moved`` through its representative values, then
    ``held`` back to where it was; every one of these changes is timed like the others. For
    controls that only act under another setting (the training explorer's pipeline schedule
    and vp need pp > 1, vp the interleaved schedule)."""


WIDGETS = (
    Widget("accelerator", "01", il.widgets.accelerator_explorer, lambda _: il.widgets.accelerator_explorer()),
    Widget("compute_memory", "02", il.widgets.compute_memory_explorer,
           lambda _: il.widgets.compute_memory_explorer()),
    Widget("network", "03", il.widgets.network_explorer, lambda _: il.widgets.network_explorer()),
    Widget("training", "04", il.widgets.training_explorer, lambda _: il.widgets.training_explorer(),
           also=(({"pipeline pp": 4}, ("pp schedule",)),
                 ({"pipeline pp": 4, "pp schedule": "interleaved"}, ("vp",)))),
    Widget("economics", "05", il.widgets.economics_explorer, lambda _: il.widgets.economics_explorer("MI300X")),
    Widget("reliability", "06", il.widgets.reliability_explorer, lambda _: _reliability()),
    Widget("serving", "07", il.widgets.serving_explorer, lambda _: il.widgets.serving_explorer()),
    Widget("expansion", "08", il.widgets.expansion_explorer, lambda df: il.widgets.expansion_explorer(df),
           setup=expansion_frame),
    Widget("multimodal", "09", il.widgets.multimodal_explorer, lambda _: il.widgets.multimodal_explorer()),
)
"""Every notebook widget, in notebook order (tests check it covers every explorer of il.widgets)."""

_OUTPUTS = (W.HTML, W.HTMLMath, W.Label, W.Output)


def _walk(w):
    yield w
    for c in getattr(w, "children", ()):
        yield from _walk(c)


def controls(box) -> list:
    """The widget's controls: every value widget in the box that is not an output."""
    return [w for w in _walk(box) if isinstance(w, W.ValueWidget) and not isinstance(w, _OUTPUTS)]


def _texts(box) -> tuple:
    return tuple(w.value for w in _walk(box) if isinstance(w, (W.HTML, W.HTMLMath)))


def representative(c) -> list:
    """First, middle and last choice of a control, then its starting value again (values
    equal to the current one are skipped when applied: they fire nothing)."""
    v0 = c.value
    if isinstance(c, W.SelectMultiple):
        vals = list(c._options_values)
        seq = [(vals[0],), tuple(vals)]
    elif hasattr(c, "_options_values"):
        vals = list(c._options_values)
        seq = [vals[0], vals[len(vals) // 2], vals[-1]]
    elif isinstance(c, W.Checkbox):
        seq = [not v0]
    elif isinstance(c, W.FloatLogSlider):
        seq = [c.base ** c.min, c.base ** ((c.min + c.max) / 2), c.base ** c.max]
    elif hasattr(c, "min") and hasattr(c, "max"):
        mid = (c.min + c.max) / 2
        if hasattr(c, "step") and c.step:
            mid = c.min + round((mid - c.min) / c.step) * c.step
        seq = [c.min, type(c.value)(mid), c.max]
    else:
        raise TypeError(f"{type(c).__name__} {c.description!r}: no representative values defined")
    return [*seq, v0]


def measure(widget: Widget) -> dict:
    from IPython.utils.capture import capture_output

    arg = widget.setup() if widget.setup else None
    t0 = time.perf_counter()
    with capture_output():
        box = widget.build(arg)
    cold = time.perf_counter() - t0
    times, unchanged, slow = [], 0, []

    def change(c, v):
        nonlocal unchanged
        if v == c.value:
            return
        before = _texts(box)
        with capture_output():
            t0 = time.perf_counter()
            c.value = v
            dt = time.perf_counter() - t0
        times.append(dt)
        unchanged += _texts(box) == before
        if dt > SLOW_S:
            slow.append(f"{c.description}={v!r}: {dt:.2f} s")

    for c in controls(box):
        for v in representative(c):
            change(c, v)
    by_name = {c.description: c for c in controls(box)}
    for held, moved in widget.also:
        was = {n: by_name[n].value for n in held}
        for n, v in held.items():
            change(by_name[n], v)
        for n in moved:
            for v in representative(by_name[n]):
                change(by_name[n], v)
        for n in reversed(list(held)):
            change(by_name[n], was[n])
    return {"cold_s": cold, "median_s": statistics.median(times), "max_s": max(times), "changes": len(times),
            "unchanged": unchanged, "slow": slow, "times": times}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--widgets", default="", help="comma-separated names (default: all)")
    a = ap.parse_args()
    from IPython.core.interactiveshell import InteractiveShell

    names = [n for n in a.widgets.split(",") if n]
    known = [w.name for w in WIDGETS]
    for n in names:
        if n not in known:
            near = difflib.get_close_matches(n, known, n=1)
            ap.error(f"--widgets {n!r}: allowed {', '.join(known)}" + (f" (nearest: {near[0]!r})" if near else ""))
    InteractiveShell.instance()   # display() formats outputs as in a kernel
    il.charts.setup_offline(display_bundle=False)
    chosen = [w for w in WIDGETS if not names or w.name in names]
    import numba

    print(f"threads={numba.get_num_threads()} load_average={os.getloadavg()[0]:.2f}")
    res = {}
    for w in chosen:
        r = res[w.name] = measure(w)
        print(f"{w.name} (notebook {w.notebook}): cold {r['cold_s']:.2f} s | {r['changes']} changes: "
              f"median {r['median_s']:.3f} s, max {r['max_s']:.3f} s ({r['unchanged']} without a text change)"
              + (f" | over {SLOW_S} s: {'; '.join(r['slow'])}" if r["slow"] else ""), flush=True)
    every = [t for r in res.values() for t in r["times"]]
    print(f"load_average_after={os.getloadavg()[0]:.2f}")
    print(f"budget_s={BUDGET_S}")
    for name, r in res.items():
        print(f"{name}_cold_s={r['cold_s']:.3f}")
        print(f"{name}_median_s={r['median_s']:.3f}")
        print(f"{name}_max_s={r['max_s']:.3f}")
        print(f"{name}_changes={r['changes']}")
        print(f"{name}_unchanged={r['unchanged']}")
    print(f"all_median_s={statistics.median(every):.3f}")
    print(f"all_max_s={max(every):.3f}")
    print(f"all_changes={len(every)}")
    print(f"all_over_{SLOW_S}_s={sum(t > SLOW_S for t in every)}")
    print(f"all_over_budget={sum(t > BUDGET_S for t in every)}")
    print(f"all_max_vs_budget={max(every) / BUDGET_S:.2f}")


if __name__ == "__main__":
    main()
