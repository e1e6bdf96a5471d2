"""Serving explorer: model, accelerator, engine, precision, concurrency and a latency target
→ throughput, latency and $ per million tokens (calls ``il.serve`` and ``il.serve_search``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import ipywidgets as W
import polars as pl

from ._layout import fit_labels, frame_html

if TYPE_CHECKING:
    import altair as alt

__all__ = ["serving_explorer", "serving_update", "SERVING_MODELS", "SERVING_ACCELERATORS"]

SERVING_MODELS = {  # dropdown label -> model preset name
    "ZAYA1 (8.3B MoE)": "zaya1-base",
    "gpt-oss-120b (MoE)": "gpt-oss-120b",
    "Llama 3.3 70B (dense)": "llama3.3-70b",
    "DeepSeek-V3 (671B MoE)": "deepseek-v3",
}
SERVING_ACCELERATORS = ("MI300X", "MI325X", "MI355X", "H100-SXM", "H200-SXM", "B200")



OWNED_PRICE_BASIS = "owned: like-for-like P50 (newest 8-GPU baseboard listing, notebook 05)"
"""The price column's label when the serving explorer prices GPU-hours as owned
(:func:`infra_lab.serving.gpu_hour_price`, basis "owned") from an accelerator's baseboard listing:
it names its basis, since the economics explorer's "owned" figure is the cost at its slider
inputs with the default purchase price. A part without a baseboard listing (MI355X: an analyst's
selling price; GB200: a rack price) is priced on its default purchase price, and the label
says that instead (:func:`owned_price_basis`)."""


def owned_price_basis(accelerator: str) -> str:
    """The ``price`` column's words for ``accelerator``'s owned GPU-hour: :data:`OWNED_PRICE_BASIS`
    where the like-for-like price reads its newest baseboard listing, else the purchase price
    it falls back to (``il.economics.owned_gpu_hour_quote``'s ``capex_basis``). MI355X's column
    said "newest 8-GPU baseboard listing" for a price built on an analyst's 23,000 USD ASP."""
    from ..economics import owned_gpu_hour_quote

    q = owned_gpu_hour_quote(accelerator)
    if q["capex_basis"] == "baseboard":
        return OWNED_PRICE_BASIS
    return (f"owned: like-for-like P50 (no baseboard listing: the default purchase price, "
            f"{q['purchase_price_usd_per_gpu']:,.0f} USD per GPU; notebook 05)")

def serving_update(model: str = "llama3.3-70b", accelerator: str = "MI300X", engine: str = "vllm",
                   precision: str = "fp8", concurrency: int = 64, gpus: int = 8,
                   max_tpot_ms: float | None = None, input_tokens: int = 4096,
                   output_tokens: int = 512,
                   price_usd_per_gpu_hour: float | None = None) -> tuple[pl.DataFrame, alt.Chart | None]:
    """One serving deployment (tp = gpus on one node) and, with a latency target, the best
    configuration of the same GPUs that meets it. No modelling here: ``il.serve`` /
    ``il.serve_search`` / ``il.serving.token_costs``.

    Parameters
    ----------
    model : preset name; accelerator : catalog name; engine : "vllm" | "sglang" | "trt-llm" | "atom"
    precision : weight precision; concurrency : requests in flight [-]; gpus : GPUs [-]
    max_tpot_ms : time-per-output-token target [ms] (None: no search)
    input_tokens, output_tokens : mean request [tokens]
    price_usd_per_gpu_hour : [USD/GPU-h] (None: the owned cost from il.economics, or for an
        accelerator with no public purchase price the median on-demand rent,
        ``il.serving.gpu_hour_price(accelerator, "rented")``; the ``price`` column says which;
        for a part with neither, e.g. MI450X or H800, the $ columns are empty and the ``price``
        column says why)

    Returns
    -------
    (polars.DataFrame, altair.Chart | None) : rows "as configured" (and "best at the target"),
        with tokens/s, per GPU, per user, TTFT, TPOT, e2e, memory, fits, $/M tokens and the
        GPU-hour price used; a deployment that does not fit in memory keeps its memory and
        capacity columns but no throughput, latency or cost (they would describe a deployment
        that cannot run). And the breakdown chart of the configured deployment (None when it
        cannot run or does not fit)
    """
    import infra_lab as il

    from .._validate import integer, positive
    from ..charts.serving import serving_breakdown_chart
    from ..errors import InfraLabError, empty_reasons, with_reasons

    if price_usd_per_gpu_hour is not None:   # 0 used to fall through to the owned cost unannounced
        positive("price_usd_per_gpu_hour", price_usd_per_gpu_hour)
    if max_tpot_ms is not None:   # -5 was reported as 'max_tpot_s = -0.005', '20' crashed formatting the row
        max_tpot_ms = positive("max_tpot_ms", max_tpot_ms)
    # checked, not cast: int() served 2.5 GPUs as 2 and 64.7 requests as 64
    gpus, concurrency, input_tokens, output_tokens = (integer(k, v) for k, v in (
        ("gpus", gpus), ("concurrency", concurrency), ("input_tokens", input_tokens), ("output_tokens", output_tokens)))
    sc = {"name": "explorer", "model": {"preset": model},
          "hardware": {"accelerator": accelerator, "nodes": 1, "gpus_per_node": gpus},
          "serving": {"engine": engine, "weight_precision": precision, "tp": gpus, "concurrency": concurrency,
                      "input_tokens": input_tokens, "output_tokens": output_tokens}}
    try:
        spec = il.models.get(model)
        if spec.experts and spec.experts % gpus == 0:
            sc["serving"]["ep"] = gpus
        r = il.serve(sc)
        if price_usd_per_gpu_hour is not None:
            price, basis = float(price_usd_per_gpu_hour), "given"
        else:
            try:
                # notebook 05's like-for-like owned price (newest 8-GPU baseboard listing, P50 of
                # the owned-cost Monte Carlo), not the economics explorer's cost at its slider
                # inputs and the default purchase price: the label says which
                price, basis = il.serving.gpu_hour_price(accelerator), owned_price_basis(accelerator)
            except InfraLabError:    # no owned cost (MI325X: no public purchase price; H800: no TDP)
                try:
                    price, basis = il.serving.gpu_hour_price(accelerator, "rented"), "rented, on-demand median"
                except InfraLabError:   # neither (MI450X, H800): the deployment runs, only its $ are unknown
                    price, basis = None, ("none: no owned cost and no on-demand rent in data/ for this part "
                                          "(pass price_usd_per_gpu_hour)")
    except InfraLabError as e:
        return pl.DataFrame({"configuration": [f"cannot run: {e}"]}), None

    capacity_GB = il.catalog.accelerator(accelerator).memory_capacity_bytes / 1e9   # what the driver exposes

    def row(label, res, cfg=""):
        d = {"configuration": label + cfg, "fits": res.fits, "output_tok_s": None, "output_tok_s_per_gpu": None,
             "tok_s_per_user": None, "ttft_s": None, "tpot_ms": None, "e2e_s": None,
             "memory_GB": res.memory_per_gpu_bytes / 1e9, "capacity_GB": capacity_GB,
             "max_concurrency": res.max_concurrency, "usd_per_M_output": None, "usd_per_M_tokens": None,
             "usd_per_gpu_h": price, "price": basis}
        if not res.fits:
            d["configuration"] = f"{label}{cfg}: does not fit in memory"
            return d
        c = (il.serving.token_costs(res, price) if price is not None else
             {"usd_per_million_output_tokens_all_in": None, "usd_per_million_tokens": None})
        return d | {"output_tok_s": res.output_tokens_per_s, "output_tok_s_per_gpu": res.output_tokens_per_s_per_gpu,
                    "tok_s_per_user": res.tokens_per_s_per_user, "ttft_s": res.ttft_s,
                    "tpot_ms": None if res.tpot_s is None else 1e3 * res.tpot_s,   # None: one output token
                    "e2e_s": res.e2e_latency_s, "usd_per_M_output": c["usd_per_million_output_tokens_all_in"],
                    "usd_per_M_tokens": c["usd_per_million_tokens"]}

    rows = [row("as configured", r)]
    if max_tpot_ms is not None:
        try:
            with empty_reasons() as why:      # an empty search is reported in the table below
                # the search's own concurrency grid: up to each split's max_concurrency (a list
                # of its own stopped at 512 in flight while a node may run thousands)
                best = il.serve_search(sc, top=1, max_tpot_s=float(max_tpot_ms) / 1e3,
                                       weight_precisions=[precision])
        except InfraLabError as e:
            best = None
            rows.append({"configuration": f"target: {e}"})
        if best is not None and best.height:
            b = best.row(0, named=True)
            d = {**sc, "serving": {**sc["serving"], "tp": b["tp"], "pp": b["pp"], "dp": b["dp"], "ep": b["ep"],
                                   "dp_attention": b["dp_attention"], "kv_precision": b["kv_precision"],
                                   "concurrency": b["concurrency"]}}
            rb = il.serve(d)
            cfg = (f" (tp{b['tp']} pp{b['pp']} dp{b['dp']} ep{b['ep']}{' dpa' if b['dp_attention'] else ''}, "
                   f"kv {b['kv_precision']}, {b['concurrency']} in flight)")
            rows.append(row(f"best at TPOT ≤ {max_tpot_ms:g} ms", rb, cfg))
        elif best is not None:
            rows.append({"configuration": with_reasons(   # why: none fits, or the smallest TPOT
                f"no configuration of {gpus} GPU{'' if gpus == 1 else 's'} reaches TPOT ≤ {max_tpot_ms:g} ms", why)})
    chart = None if not r.fits else serving_breakdown_chart(
        r.breakdown.with_columns(pl.lit(f"{gpus} × {accelerator}").alias("run")),
        title=f"{model}: where an engine cycle goes")
    return pl.DataFrame(rows, infer_schema_length=None), chart


def serving_explorer() -> W.VBox:
    """An ipywidgets box: model, accelerator, engine, precision, concurrency, GPUs and a TPOT
    target; redraws the summary and the cycle breakdown on every change. ``box.update`` is
    the callback."""
    from ..charts import ChartPane

    w_model = W.Dropdown(options=[(k, v) for k, v in SERVING_MODELS.items()], value="llama3.3-70b",
                         description="model")
    w_acc = W.Dropdown(options=list(SERVING_ACCELERATORS), value="MI300X", description="accelerator")
    w_eng = W.Dropdown(options=["vllm", "sglang", "trt-llm", "atom"], value="vllm", description="engine")
    w_prec = W.Dropdown(options=["bf16", "fp8", "fp4"], value="fp8", description="weights")
    w_conc = W.SelectionSlider(options=[1, 4, 16, 32, 64, 128, 256, 512], value=64, description="concurrency [requests]",
                               continuous_update=False)
    w_gpus = W.SelectionSlider(options=[1, 2, 4, 8], value=8, description="GPUs", continuous_update=False)
    w_tpot = W.SelectionSlider(options=[("none", 0), ("20 ms", 20), ("33 ms", 33), ("50 ms", 50), ("100 ms", 100)],
                               value=0, description="TPOT target", continuous_update=False)
    controls = (w_model, w_acc, w_eng, w_prec, w_conc, w_gpus, w_tpot)
    fit_labels(controls)
    out = W.HTML()
    pane = ChartPane()

    def update(*_):
        s, c = serving_update(w_model.value, w_acc.value, w_eng.value, w_prec.value, w_conc.value, w_gpus.value,
                              w_tpot.value or None)
        out.value = frame_html(s)
        pane.show_or_clear(c)    # None: no stale chart of the previous setting beside a "cannot run" row
        return s, c

    for w in controls:
        w.observe(update, names="value")
    box = W.VBox([W.HBox([W.VBox([w_model, w_acc, w_eng, w_prec]), W.VBox([w_conc, w_gpus, w_tpot])]), out,
                  pane.widget])
    box.update = update
    box.controls = {"model": w_model, "accelerator": w_acc, "engine": w_eng, "precision": w_prec,
                    "concurrency": w_conc, "gpus": w_gpus, "tpot_target_ms": w_tpot}
    box.chart = pane
    update()
    return box
