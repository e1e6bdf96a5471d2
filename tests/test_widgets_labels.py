"""Every control of every notebook widget says its unit: a numeric slider or a choice among
numbers carries the unit in brackets in its label ("seq len [tokens]", "write [GB/s per node]")
or in its option labels ("1 KiB", "20 ms"), unless it counts what its label names (GPUs, a
pipeline depth, a ZeRO stage). The explorers used to show "seq len", "global batch",
"concurrency", "image share" and "write GB/s/node" with no unit or one outside the brackets.
Widgets are built as benchmarks/bench_widgets.py builds them (the notebooks' arguments)."""

from __future__ import annotations

import contextlib
import io
import numbers

import ipywidgets as W
import pytest
from test_widgets_bench import _bench

COUNTS = {"GPUs", "GPUs (target)", "pipeline pp", "vp", "ZeRO"}
"""Labels of controls that count what they name: the label is their unit."""


def label_problems(box, controls) -> list[str]:
    bad = []
    for c in controls(box):
        if isinstance(c, (W.Checkbox, W.ToggleButton)) or c.description in COUNTS or "[" in c.description:
            continue
        opts = getattr(c, "options", None)
        if opts is None:   # a slider or a number box: its value is a number
            numeric = isinstance(c.value, numbers.Number)
        else:              # a choice: numbers shown bare (a labelled option says its unit)
            numeric = any(isinstance(o, numbers.Number) and not isinstance(o, bool) for o in opts)
        if numeric:
            bad.append(c.description)
    return bad


def test_the_check_catches_a_bare_numeric_label():
    box = W.VBox([W.FloatSlider(description="share"), W.Dropdown(options=[1, 2], description="seq len"),
                  W.Dropdown(options=[("1 KiB", 1024)], description="size"), W.IntSlider(description="GPUs"),
                  W.FloatSlider(description="rent [USD per GPU-hour]"), W.Dropdown(options=["a"], description="x")])
    assert label_problems(box, lambda b: list(b.children)) == ["share", "seq len"]


B = _bench()


@pytest.mark.parametrize("widget", B.WIDGETS, ids=lambda w: w.name)
def test_every_numeric_control_says_its_unit(widget):
    with contextlib.redirect_stderr(io.StringIO()), contextlib.redirect_stdout(io.StringIO()):
        box = widget.build(widget.setup() if widget.setup else None)
    box = getattr(box, "widget", box)
    assert not label_problems(box, B.controls), f"{widget.name}: controls without a unit: {label_problems(box, B.controls)}"
