"""Compute-and-memory explorer: model preset, sequence length, micro-batch, precision, ZeRO
stage and recompute → per-GPU memory on MI300X / H100 / H200 with plain data parallel, and
the per-layer forward time on each device."""

from __future__ import annotations

from typing import TYPE_CHECKING

import ipywidgets as W

from ..scenario import PRECISIONS, RECOMPUTE
from ._layout import fit_labels

if TYPE_CHECKING:
    import altair as alt
    import polars as pl

__all__ = ["compute_memory_explorer", "compute_memory_update", "compute_memory_view", "seq_options"]

DEVICES = ["MI300X", "H100-SXM", "H200-SXM"]

SEQ_OPTIONS = (1024, 2048, 4096, 8192, 16384, 32768)
"""The sequence lengths the explorer offers [tokens], cut per model by :func:`seq_options`."""


def seq_options(preset: str) -> list[int]:
    """The sequence lengths [tokens] the explorer offers for ``preset``: :data:`SEQ_OPTIONS` up to
    the model's hard position limit (:func:`infra_lab.models.max_positions`: learned position
    embeddings), with the limit itself added when it lies between or below them (Whisper's
    decoder: 448; GPT-2: 1,024). Models without a hard limit get every option; past their
    published context the library warns (context extension) and still answers."""
    from .. import models

    limit = models.max_positions(preset)
    if limit is None:
        return list(SEQ_OPTIONS)
    return sorted({s for s in SEQ_OPTIONS if s <= limit} | {limit})


def compute_memory_update(preset: str, seq_len: int, micro_batch: int, precision: str, zero: int,
                        recompute: str, accelerators: list[str] | None = None,
                          base: str = "zaya1-ibm-mi300x") -> tuple[pl.DataFrame, alt.FacetChart, str]:
    """What the explorer shows for one setting: (memory frame, chart, summary HTML).

    Calls :func:`infra_lab.memory.memory_sweep` (plain data parallel over the nodes × GPUs per
    node of the shipped scenario ``base``, ZAYA1's cluster by default, as notebook 02's §9 chart),
    :func:`infra_lab.compute.layer_times` and :func:`infra_lab.charts.memory_stacked_bars`;
    no modelling here.
    """
    import polars as pl

    from .. import charts, compute, models
    from ..memory import memory_sweep
    from ..scenario import load_scenario

    hw = load_scenario(base).hardware
    devs = list(DEVICES) if accelerators is None else accelerators   # memory_sweep refuses [] and a bare name
    df = memory_sweep([preset], devs, seq_len=seq_len, micro_batch=micro_batch,
                      precision=precision, zero=zero, recompute=recompute, nodes=hw.nodes,
                      gpus_per_node=hw.gpus_per_node)
    from .. import catalog

    devs = [catalog.accelerator(d).name for d in devs]   # the frame's names: 'mi300x' or 'H100' gave IndexError
    chart = charts.memory_stacked_bars(
        df, title=f"{preset}: s = {seq_len}, micro-batch {micro_batch}, ZeRO-{zero}, recompute {recompute}")
    spec = models.get(preset)
    lines = []
    for d in devs:
        tot = df.filter(pl.col("accelerator") == d)
        lt = compute.layer_times(spec, seq_len, micro_batch, 1, d, precision, recompute=recompute)
        per_layer = lt.filter(pl.col("layer_kind") != "head")
        step = float((per_layer["layers"] * (per_layer["fwd_s"] + per_layer["bwd_s"] + per_layer["recompute_s"])).sum())
        lines.append(f"<b>{d}</b>: {tot['total_GB'][0]:,.1f} of {tot['capacity_GB'][0]:,.0f} GB — "
                     f"fits: <b>{bool(tot['fits'][0])}</b>; layers fwd+bwd per micro-batch "
                     f"{step * 1e3:,.1f} ms ({precision})")
    return df, chart, "<br>".join(lines)


def compute_memory_explorer(preset: str = "zaya1-base", seq_len: int = 4096, micro_batch: int = 1,
                            precision: str = "bf16", zero: int = 1,
                            recompute: str = "none") -> W.VBox:
    """An ipywidgets box with the six controls, a summary line per device and the memory
    chart. Returns the box; ``box.update`` is the callback (callable directly in tests).
    The sequence lengths offered follow the model (:func:`seq_options`): a model with learned
    position embeddings is offered only lengths it has positions for (Whisper's decoder: its
    448). A setting the library refuses (a model with learned positions shorter than the sequence,
    e.g. gpt3-175b at 4,096 tokens) shows the library's message and no chart, not the last
    setting's chart of another model; an error that is not the package's propagates."""
    from html import escape as html_escape

    from .. import models
    from ..charts import ChartPane
    from ..errors import InfraLabError

    w_model = W.Dropdown(options=models.preset_names(), value=preset, description="model")
    opts = seq_options(preset)
    if seq_len not in opts:     # a length of the caller's own: refused past a hard limit, else offered too
        models.check_context(models.get(preset), "seq_len", seq_len, int(seq_len))
        opts = sorted({*opts, int(seq_len)})
    w_seq = W.Dropdown(options=opts, value=seq_len, description="seq len [tokens]")
    w_mbs = W.Dropdown(options=[1, 2, 4, 8, 16], value=micro_batch, description="micro-batch [sequences]")
    w_prec = W.Dropdown(options=list(PRECISIONS), value=precision, description="precision")
    w_zero = W.Dropdown(options=[0, 1, 2, 3], value=zero, description="ZeRO")
    w_rec = W.Dropdown(options=list(RECOMPUTE), value=recompute, description="recompute")
    fit_labels((w_model, w_seq, w_mbs, w_prec, w_zero, w_rec))   # the labels with units are not cut off
    status = W.HTML()
    _, chart, html = compute_memory_update(preset, seq_len, micro_batch, precision, zero, recompute)
    status.value = html
    pane = ChartPane(chart)

    rebuilding = []     # set while the model callback swaps the sequence options

    def update(*_):
        if rebuilding:
            return None
        try:
            _, ch, text = compute_memory_update(w_model.value, w_seq.value, w_mbs.value, w_prec.value,
                                              w_zero.value, w_rec.value)
        except InfraLabError as e:  # a combination the model rejects (gpt3-175b at 4,096 tokens): say why
            status.value = f"<i>{type(e).__name__}: {html_escape(str(e))}</i>"
            pane.clear()    # no stale chart of the previous model beside the message
            return None
        pane.show(ch)
        status.value = text
        return ch

    def model_changed(change):
        """Offer the new model's sequence lengths (a learned-position model refuses longer
        ones), keep the chosen length when it is still offered, else the longest offered;
        then update once."""
        opts = seq_options(change["new"])
        keep = w_seq.value if w_seq.value in opts else opts[-1]
        rebuilding.append(True)
        try:
            w_seq.options = opts
            w_seq.value = keep
        finally:
            rebuilding.clear()
        return update()

    controls = (w_model, w_seq, w_mbs, w_prec, w_zero, w_rec)
    w_model.observe(model_changed, names="value")
    for w in controls[1:]:
        w.observe(update, names="value")
    box = W.VBox([W.HBox([W.VBox([w_model, w_seq, w_mbs]), W.VBox([w_prec, w_zero, w_rec])]), status, pane.widget])
    box.update = update
    box.controls = dict(zip(("model", "seq_len", "micro_batch", "precision", "zero", "recompute"), controls,
                            strict=True))
    box.chart = pane
    return box


compute_memory_view = compute_memory_update
"""The former name of :func:`compute_memory_update` (update functions are ``<domain>_update``)."""
