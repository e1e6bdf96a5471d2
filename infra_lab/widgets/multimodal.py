"""Maia-class data-mix explorer: image and audio shares, picture size, encoder trained or
frozen, packing; answers with il.multimodal.estimate (no modelling in the callback)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import ipywidgets as W
import polars as pl

from ..units import DAY
from ._layout import fit_labels, frame_html

if TYPE_CHECKING:
    import altair as alt

__all__ = ["multimodal_update", "multimodal_explorer"]


def multimodal_update(image: float = 0.25, audio: float = 0.15, image_px: int = 448,
                      encoder: str = "trained",
                      packing: str = "ffd", tokens: float | None = None,
                      base: str = "maia-class-ibm-mi300x",
                      price_usd_per_gpu_hour: float | None = None) -> tuple[pl.DataFrame, alt.LayerChart | None]:
    """Estimate the scenario ``base`` with a data mix (text = 1 − image − audio).

    Parameters
    ----------
    image, audio : token shares [-]; image_px : square picture side [px]
    encoder : "trained" | "frozen"; packing : "ffd" | "ff" | "none"
    tokens : useful training tokens of the run [tokens] (None: ZAYA1's, the sourced
        ``zaya1_tokens`` row of data/reliability/parameters.csv)
    price_usd_per_gpu_hour : [USD/GPU-h] (None: ``il.economics.cloud_price`` of the accelerator)

    Returns
    -------
    (polars.DataFrame, altair.Chart | None) : a one-row summary (step time, useful tokens/s,
    padding %, encoder share %, failure-free days and million USD for ``tokens`` (no
    interruptions, restarts or checkpoints: :mod:`infra_lab.reliability` adds those), the
    GPU-hour price and which price it is) and the time-split chart; when the shares exceed 1,
    a one-row frame saying so and None.
    """
    import math

    import infra_lab as il

    from ..charts.multimodal import mix_time_chart
    from ..errors import ValidationError

    for name, v in (("image", image), ("audio", audio)):
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or not 0 <= v <= 1:
            raise ValidationError(f"{name} = {v!r}: expected a share between 0 and 1")
    from .._validate import integer, positive

    # numpy numbers as Python's (np.int64(448) from a frame was 'expected a positive integer')
    image_px = integer("image_px", image_px)
    if tokens is None:
        tokens = il.reliability.parameter("zaya1_tokens")
    tokens = positive("tokens", tokens)
    price = price_usd_per_gpu_hour
    if price is not None:   # as the serving explorer and economics.run_cost: a price of 0 costed the run at 0 USD
        price = positive("price_usd_per_gpu_hour", price)
    text = 1.0 - float(image) - float(audio)
    if text < -1e-9:
        return pl.DataFrame({"note": [f"image + audio = {image + audio:.2f} > 1: lower one of them"]}), None
    sc = il.load_scenario(base).to_dict()
    sc["training"]["data_mix"] = {"text": max(0.0, text), "image": float(image), "audio": float(audio),
                                  "image_size": [int(image_px), int(image_px)], "packing": packing}
    sc["training"]["encoder"] = encoder
    try:
        r = il.multimodal.estimate(sc)
    except ValidationError as e:
        return pl.DataFrame({"note": [str(e)]}), None
    basis = "given"
    if price is None:
        price, basis = il.economics.cloud_price(sc["hardware"]["accelerator"]), "on-demand median"
    days = tokens / r.useful_tokens_per_s / DAY
    gpus = r.estimate.gpus
    bd = r.breakdown()
    share = dict(bd.iter_rows())
    summary = pl.DataFrame({
        "mix": [f"{max(0.0, text):.0%} text · {image:.0%} image · {audio:.0%} audio"],   # no "-0%" at image + audio = 1
        "step_s": [r.step_time_s], "useful_Mtok_per_s": [r.useful_tokens_per_s / 1e6],
        "padding_pct": [100 * (r.stats.waste if r.stats else 0.0)],
        "encoder_pct": [100 * share["encoder_compute"] / r.step_time_s],
        "days": [days], "musd": [days * 24 * gpus * price / 1e6], "usd_per_gpu_h": [float(price)],
        "price": [basis], "fits": [r.estimate.fits],
    })
    chart = mix_time_chart(bd.with_columns(pl.lit(summary["mix"][0]).alias("mix"),
                                           (pl.col("seconds") * days / r.step_time_s).alias("days")),
                           title=f"{tokens / 1e12:g}T useful tokens on {gpus} GPUs")
    return summary, chart


def multimodal_explorer(base: str = "maia-class-ibm-mi300x") -> W.VBox:
    """An ipywidgets box: image share, audio share, picture side, encoder, packing; redraws the
    summary and the time split on every change. ``box.update`` is the callback."""
    from ..charts import ChartPane

    w_img = W.FloatSlider(value=0.25, min=0.0, max=0.9, step=0.05, description="image share [of tokens]",
                          continuous_update=False, readout_format=".2f")
    w_aud = W.FloatSlider(value=0.15, min=0.0, max=0.9, step=0.05, description="audio share [of tokens]",
                          continuous_update=False, readout_format=".2f")
    w_px = W.SelectionSlider(options=[224, 336, 448, 672, 896], value=448, description="image side [px]",
                             continuous_update=False)
    w_enc = W.ToggleButtons(options=["trained", "frozen"], value="trained", description="encoder")
    w_pack = W.ToggleButtons(options=["ffd", "none"], value="ffd", description="packing")
    fit_labels((w_img, w_aud, w_px, w_enc, w_pack))
    out = W.HTML()
    summary, chart = multimodal_update(base=base)
    pane = ChartPane(chart)

    def update(*_):
        s, c = multimodal_update(w_img.value, w_aud.value, w_px.value, w_enc.value, w_pack.value, base=base)
        out.value = frame_html(s)
        pane.show_or_clear(c)    # None: no stale chart of the previous mix beside the note
        return s, c

    for w in (w_img, w_aud, w_px, w_enc, w_pack):
        w.observe(update, names="value")
    out.value = frame_html(summary)
    box = W.VBox([W.HBox([W.VBox([w_img, w_aud, w_px]), W.VBox([w_enc, w_pack])]), out, pane.widget])
    box.update = update
    box.controls = {"image": w_img, "audio": w_aud, "image_px": w_px, "encoder": w_enc, "packing": w_pack}
    box.chart = pane
    return box
