"""benchmarks/bench_widgets.py times every notebook widget: its list must name every widget
factory (``*_explorer``, and the former ``*_dashboard`` names of the same functions) that
``infra_lab.widgets`` exports, so that a new widget cannot be left out of the benchmark.
Not timed (speed is measured by the benchmark, not by tests)."""

import ipywidgets as W
from script_module import load_script

import infra_lab as il


def _bench():
    return load_script("benchmarks/bench_widgets.py")


def factories() -> dict[str, object]:
    """Every exported widget factory by its exported names (aliases share one function)."""
    return {n: getattr(il.widgets, n) for n in il.widgets.__all__ if n.endswith(("_explorer", "_dashboard"))}


def test_the_benchmark_times_every_exported_widget_factory():
    b = _bench()
    timed = {w.factory for w in b.WIDGETS}
    missing = sorted(n for n, f in factories().items() if f not in timed)
    assert not missing, f"benchmarks/bench_widgets.py WIDGETS lacks {missing}"
    assert len({w.name for w in b.WIDGETS}) == len(b.WIDGETS)
    assert timed <= set(factories().values())       # and names nothing that is not exported


def test_every_update_function_has_its_explorer():
    """A widget module exports ``<domain>_update`` with ``<domain>_explorer`` (the package's
    convention), so the factory list above cannot miss a widget by naming it otherwise."""
    for n in il.widgets.__all__:
        if n.endswith("_update"):
            assert n.removesuffix("_update") + "_explorer" in il.widgets.__all__, n


def test_representative_values_cover_each_control_kind():
    b = _bench()
    dd = W.Dropdown(options=[("a", 1), ("b", 2), ("c", 3)], value=2)
    assert b.representative(dd) == [1, 2, 3, 2]
    sm = W.SelectMultiple(options=["x", "y", "z"], value=("y",))
    assert b.representative(sm) == [("x",), ("x", "y", "z"), ("y",)]
    fs = W.FloatSlider(value=0.3, min=0.0, max=1.0, step=0.25)
    assert b.representative(fs) == [0.0, 0.5, 1.0, 0.3]
    log = W.FloatLogSlider(value=1.0, base=10, min=-2, max=2)
    assert b.representative(log) == [0.01, 1.0, 100.0, 1.0]
    assert b.representative(W.Checkbox(value=True)) == [False, True]
    box = W.VBox([W.HBox([dd, W.HTML("out")]), sm, W.Output()])
    assert b.controls(box) == [dd, sm]


def test_further_passes_name_controls_of_their_widget():
    """A widget's ``also`` passes (controls that act only under another setting, such as the
    training explorer's pipeline schedule and vp under pp > 1) name controls the widget has, by
    description, and values those controls offer: a renamed control cannot drop out unseen."""
    b = _bench()
    with_passes = [w for w in b.WIDGETS if w.also]
    assert "training" in {w.name for w in with_passes}
    for w in with_passes:
        box = w.build(w.setup() if w.setup else None)
        by_name = {c.description: c for c in b.controls(box)}
        for held, moved in w.also:
            for n, v in held.items():
                assert n in by_name and v in by_name[n]._options_values, (w.name, n, v)
            assert set(moved) <= set(by_name), (w.name, moved)
