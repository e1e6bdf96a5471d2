"""Accelerator colours: one owner (``il.charts.accelerator_scale``), the vendor's house colour
family, and the same colour for a part in every chart whatever else the chart shows (notebook
02's roofline drew MI300X in the default blue while notebook 07 drew it red, and a part's shade
used to depend on its place in each chart's list)."""

from __future__ import annotations

import polars as pl

import infra_lab as il
from infra_lab.charts.base import VENDOR_COLORS


def _colors(scale) -> dict[str, str]:
    d = scale.to_dict()
    return dict(zip(d["domain"], d["range"], strict=True))


def test_a_part_keeps_its_colour_whatever_the_chart_shows():
    few = _colors(il.charts.accelerator_scale(["MI300X", "H100-SXM"]))
    many = _colors(il.charts.accelerator_scale(["MI355X", "B200", "H200-SXM", "MI325X", "H100-SXM", "MI300X"]))
    assert few["MI300X"] == many["MI300X"] == VENDOR_COLORS["AMD"]
    assert few["H100-SXM"] == many["H100-SXM"] == VENDOR_COLORS["NVIDIA"]


def test_parts_of_one_chart_get_distinct_colours_within_a_vendor():
    names = il.catalog.accelerators().select("name", "vendor")
    for vendor in ("AMD", "NVIDIA"):
        parts = names.filter(pl.col("vendor") == vendor)["name"].to_list()[:5]
        got = _colors(il.charts.accelerator_scale(parts))
        assert len(set(got.values())) == len(parts), (vendor, got)


def test_unknown_label_is_grey():
    assert _colors(il.charts.accelerator_scale(["not-a-gpu"])) == {"not-a-gpu": "#888888"}


def test_roofline_and_serving_front_colour_mi300x_alike():
    spec = il.charts.roofline_chart(il.compute.roofline(["H100-SXM", "MI300X"])).to_dict()
    front = pl.DataFrame({"accelerator": ["H100-SXM", "MI300X"], "tokens_per_s_per_user": [20.0, 30.0],
                          "output_tokens_per_s_per_gpu": [500.0, 400.0]})
    spec2 = il.charts.serving_front_chart(front).to_dict()

    def scale_of(s):
        for layer in [s, *s.get("layer", [])]:
            c = layer.get("encoding", {}).get("color", {})
            if c.get("field") == "accelerator" and "scale" in c:
                return _colors(alt_scale(c["scale"]))
        raise AssertionError("no accelerator colour scale")

    def alt_scale(d):
        import altair as alt

        return alt.Scale(domain=d["domain"], range=d["range"])

    assert scale_of(spec)["MI300X"] == scale_of(spec2)["MI300X"] == VENDOR_COLORS["AMD"]
    assert scale_of(spec)["H100-SXM"] == scale_of(spec2)["H100-SXM"] == VENDOR_COLORS["NVIDIA"]


def test_expansion_platforms_take_their_accelerators_colours():
    pts = pl.DataFrame({"capex_usd": [2.6e8, 3.9e8], "wall_days": [4.7, 1.4], "platform": ["MI355X node", "MI300X node"],
                        "nic": ["n", "n"], "gpus": [8192, 8208], "model": ["m", "m"], "announced_not_shipped": [False, False]})
    enc = il.charts.expansion_pareto(pts, "capex_usd", "wall_days", x_title="capital [USD]",
                                     y_title="time [days]").to_dict()
    enc = next(layer["encoding"] for layer in [enc, *enc.get("layer", [])] if "encoding" in layer
               and layer["encoding"].get("color", {}).get("field") == "platform")
    got = dict(zip(enc["color"]["scale"]["domain"], enc["color"]["scale"]["range"], strict=True))
    assert got["MI300X node"] == VENDOR_COLORS["AMD"]
    assert got["MI355X node"] == _colors(il.charts.accelerator_scale(["MI355X"]))["MI355X"]
    assert enc["stroke"]["scale"] == enc["color"]["scale"]


def test_labels_must_match_the_accelerators():
    import pytest

    from infra_lab.errors import ValidationError

    with pytest.raises(ValidationError, match="2 labels for 1 accelerators"):
        il.charts.accelerator_scale(["MI300X"], labels=["a", "b"])
