"""Multimodal predictions against published training measurements.

``data/measurements/multimodal_training.csv`` holds published runs with their stated
configurations (and, flagged ASSUMED in each row's note, what the source does not state).
:func:`published_comparison` predicts each case with :func:`infra_lab.multimodal.estimate`
and returns the error per case. There are three cases and nothing is fitted to them:
validation only, no fit (no train/test split).

* ``hours`` cases: training time of one epoch = samples / global_batch steps × step time;
  a case's sequence = one picture (576 tokens) + the assumed mean text of a sample, and the
  low/high columns give the prediction at the low/high text-length assumption.
* ``mfu`` cases: the model's MFU (LM with causal attention inside each packed sample +
  encoder + projector FLOPs over the dense BF16 peak) against the published value, with the
  published range.
"""

from __future__ import annotations

import functools

import polars as pl

from .. import catalog
from ..catalog import Col
from ..scenario import RECOMPUTE
from ..units import HOUR

MEASUREMENTS_CSV = catalog.DATA_DIR / "measurements" / "multimodal_training.csv"

_SCHEMA = {
    "case": Col("str", required=True), "system": Col("str", required=True),
    "accelerator": Col("str", required=True), "nodes": Col("int", required=True, positive=True),
    "gpus_per_node": Col("int", required=True, positive=True), "nic": Col("str", required=True),
    "zero": Col("int", required=True, nonneg=True), "fsdp": Col("bool", required=True),
    "recompute": Col("str", required=True, choices=RECOMPUTE),
    "encoder": Col("str", required=True, choices=("trained", "frozen")),
    "micro_batch": Col("int", required=True, positive=True), "global_batch": Col("int", required=True, positive=True),
    "image_tokens": Col("float", positive=True), "text_tokens_per_sample": Col("float", positive=True),
    "text_tokens_low": Col("float", positive=True), "text_tokens_high": Col("float", positive=True),
    "samples": Col("float", positive=True), "packing_tokens": Col("int", positive=True),
    "image_share": Col("float", positive=True), "metric": Col("str", required=True, choices=("hours", "mfu")),
    "measured": Col("float", required=True, positive=True), "measured_low": Col("float", positive=True),
    "measured_high": Col("float", positive=True), "unit": Col("str", required=True),
    "split": Col("str", required=True, choices=("validation",)),
}


@functools.cache
def measurements() -> pl.DataFrame:
    """The published multimodal training runs (data/measurements/multimodal_training.csv)."""
    return catalog.read_table(MEASUREMENTS_CSV, _SCHEMA)


def _scenario(r: dict, text_tokens: float | None) -> dict:
    if r["metric"] == "hours":
        img = float(r["image_tokens"])
        seq = int(img + text_tokens)
        mix = {"text": text_tokens / (img + text_tokens), "image": img / (img + text_tokens)}
    else:
        seq = int(r["packing_tokens"])
        mix = {"text": 1.0 - r["image_share"], "image": r["image_share"]}
    return {
        "name": r["case"],
        "model": {"preset": r["system"]},
        "hardware": {"accelerator": r["accelerator"], "nodes": r["nodes"], "gpus_per_node": r["gpus_per_node"],
                     "nic": r["nic"], "fabric": "rail-optimized"},
        "training": {"seq_len": seq, "global_batch": r["global_batch"], "micro_batch": r["micro_batch"],
                     "recompute": r["recompute"], "encoder": r["encoder"], "data_mix": mix},
        "parallelism": {"zero": r["zero"], "fsdp": r["fsdp"]},
    }


def _predict(r: dict, text_tokens: float | None) -> float:
    from .training import estimate

    res = estimate(_scenario(r, text_tokens))
    if r["metric"] == "hours":
        steps = r["samples"] / r["global_batch"]
        return steps * res.step_time_s / HOUR
    return res.estimate.mfu


@functools.cache
def published_comparison() -> pl.DataFrame:
    """Predicted vs published for every multimodal training case.

    Returns
    -------
    polars.DataFrame: case, system, split ("validation"), metric, unit, measured,
    measured_low, measured_high (published range, where given), predicted, predicted_low,
    predicted_high (at the low/high assumption, where given), error_pct (predicted /
    measured − 1) [%], source_url
    """
    rows = []
    for r in measurements().iter_rows(named=True):
        if r["metric"] == "hours":
            p = _predict(r, r["text_tokens_per_sample"])
            lo = _predict(r, r["text_tokens_low"])
            hi = _predict(r, r["text_tokens_high"])
        else:
            p = _predict(r, None)
            lo = hi = None
        rows.append({"case": r["case"], "system": r["system"], "split": r["split"], "metric": r["metric"],
                     "unit": r["unit"], "measured": r["measured"], "measured_low": r["measured_low"],
                     "measured_high": r["measured_high"], "predicted": p, "predicted_low": lo,
                     "predicted_high": hi, "error_pct": 100.0 * (p / r["measured"] - 1.0),
                     "source_url": r["source_url"]})
    df = pl.DataFrame(rows, schema={"case": pl.String, "system": pl.String, "split": pl.String,
                                    "metric": pl.String, "unit": pl.String, "measured": pl.Float64,
                                    "measured_low": pl.Float64, "measured_high": pl.Float64,
                                    "predicted": pl.Float64, "predicted_low": pl.Float64,
                                    "predicted_high": pl.Float64, "error_pct": pl.Float64,
                                    "source_url": pl.String})
    return df


__all__ = ["MEASUREMENTS_CSV", "measurements", "published_comparison"]
