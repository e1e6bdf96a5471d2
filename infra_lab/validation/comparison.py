"""Predicted vs measured throughput of the current runs: ``compare_current`` (with stack-factor
overrides, per family or for all), the summaries by split and dense/MoE
(``summary_current``) and by accelerator (``summary_by_accelerator``), and whether the measured
throughput falls inside the stated factor band (``band_coverage``)."""

from __future__ import annotations

import polars as pl

from ..errors import ValidationError, unknown
from ._common import _status
from .runs import FAMILIES, _measured_tokens_per_gpu, current_runs, family_of, scenario_for_run


def compare_current(params: dict | None = None) -> pl.DataFrame:
    """Predicted vs measured throughput of every current run that the model can express.

    Parameters
    ----------
    params : overrides of the stacks' factors (used by :func:`calibrate_current`): a dict of
        factor -> value applied to every run's stack, or a dict family -> {factor: value}
        (:data:`FAMILIES`) applied to that family's runs

    Returns
    -------
    polars.DataFrame
        id, split, dense_or_moe, family, accelerator, gpus, precision, measured_tokens_per_s_per_gpu,
        predicted_tokens_per_s_per_gpu, error_pct (step-time error: predicted/measured
        time − 1 = measured/predicted throughput − 1; negative = predicted too fast) [%], abs_error_pct, fits, status ("compared" or why not), assumptions,
        memory_caveat (the row's stated reason why the memory model cannot say it fits; empty
        for most runs, see data/measurements/README.md)
    """
    from ..training import estimate

    _check_current_params(params)
    rows = []
    for r in current_runs().iter_rows(named=True):
        base = {"id": r["id"], "split": r["split"], "dense_or_moe": r["dense_or_moe"], "family": family_of(r),
                "accelerator": r["accelerator"], "gpus": int(float(r["gpus"])), "precision": r["precision"],
                "memory_caveat": r.get("memory_caveat") or ""}
        try:
            sc, notes = scenario_for_run(r)
            est = estimate(sc, params=_family_params(params, family_of(r)))
            meas = _measured_tokens_per_gpu(r, est)
        except (ValidationError, KeyError) as e:
            rows.append({**base, "measured_tokens_per_s_per_gpu": None, "predicted_tokens_per_s_per_gpu": None,
                         "error_pct": None, "abs_error_pct": None, "fits": None,
                         "status": _status(e, 120, r["id"]), "assumptions": ""})
            continue
        err = 100.0 * (meas / est.tokens_per_s_per_gpu - 1.0)
        rows.append({**base, "measured_tokens_per_s_per_gpu": meas,
                     "predicted_tokens_per_s_per_gpu": est.tokens_per_s_per_gpu, "error_pct": err,
                     "abs_error_pct": abs(err), "fits": est.fits, "status": "compared",
                     "assumptions": ", ".join(notes)})
    return pl.DataFrame(rows, infer_schema_length=None)


def band_coverage(current: pl.DataFrame | None = None, *, split: str | None = None) -> pl.DataFrame:
    """Does a compared run's measured throughput fall inside the model's stated band?

    For every compared current run (:func:`compare_current`), the band of
    :func:`infra_lab.training.estimate_band` over every factor of the run's stack with a stated
    range (``data/stacks.csv`` low/high; ``method="monotone"``), and where the measured
    tokens/s/GPU lies against it. The band is a sensitivity from stated factor ranges, not a
    fitted prediction interval: this says how often the published runs fall inside it, and how
    far outside the others are.

    Parameters
    ----------
    current : a :func:`compare_current` frame (computed if None)
    split : "train" or "test" to keep one split, None for both

    Returns
    -------
    polars.DataFrame
        id, split, dense_or_moe, family, accelerator, measured_tokens_per_s_per_gpu,
        predicted_tokens_per_s_per_gpu (nominal), band_low_tokens_per_s_per_gpu (slowest case),
        band_high_tokens_per_s_per_gpu (fastest case), inside (bool), error_pct (nominal step-time
        error, as compare_current), edge_error_pct (step-time error of the nearest band edge; 0
        inside the band) [%]
    """
    from ..training import estimate_band

    if split not in (None, "train", "test"):
        raise ValidationError(f"split = {split!r}: expected 'train', 'test' or None (both)")
    cur = _current_frame("current", current)
    c = cur.filter(pl.col("status") == "compared")
    if split is not None:
        c = c.filter(pl.col("split") == split)
    runs = {r["id"]: r for r in current_runs().iter_rows(named=True)}
    rows = []
    for r in c.iter_rows(named=True):
        sc, _ = scenario_for_run(runs[r["id"]])
        band = estimate_band(sc, method="monotone")
        cases = dict(zip(band["case"], band["tokens_per_s_per_gpu"], strict=True))
        slow, fast, meas = cases["high"], cases["low"], r["measured_tokens_per_s_per_gpu"]
        edge = min(max(meas, slow), fast)         # the band's point nearest the measurement
        rows.append({"id": r["id"], "split": r["split"], "dense_or_moe": r["dense_or_moe"],
                     "family": r["family"], "accelerator": r["accelerator"],
                     "measured_tokens_per_s_per_gpu": meas,
                     "predicted_tokens_per_s_per_gpu": r["predicted_tokens_per_s_per_gpu"],
                     "band_low_tokens_per_s_per_gpu": slow, "band_high_tokens_per_s_per_gpu": fast,
                     "inside": bool(slow <= meas <= fast), "error_pct": r["error_pct"],
                     "edge_error_pct": 100.0 * (meas / edge - 1.0)})
    return pl.DataFrame(rows, infer_schema_length=None)


def _current_frame(field: str, df) -> pl.DataFrame:
    """``df`` (a :func:`compare_current` frame), or that frame computed when None."""
    cur = compare_current() if df is None else df
    need = ("id", "split", "status", "measured_tokens_per_s_per_gpu", "predicted_tokens_per_s_per_gpu")
    if not isinstance(cur, pl.DataFrame) or not set(need) <= set(cur.columns):
        raise ValidationError(f"{field} = {df!r:.60}: expected a compare_current() frame (columns "
                              f"{', '.join(need)}, …) or None")
    return cur


def _check_current_params(params) -> None:
    """compare_current's ``params`` checked once, up front: a bad override would otherwise
    become every run's "not compared" status instead of an error."""
    from ..training import stack_params

    if params is None:
        return
    if not isinstance(params, dict):
        raise ValidationError(f"params = {params!r:.80}: expected a dict of stack parameter -> number, or "
                              f"{{family: {{parameter: number}}}} with families {', '.join(FAMILIES)}")
    if any(k in FAMILIES for k in params):
        for k in params:
            if k not in FAMILIES:
                raise unknown("stack family", k, FAMILIES, where="params")
    for fam in FAMILIES:
        for platform in ("rocm", "cuda"):
            stack_params(f"{fam}-{platform}", _family_params(params, fam))


def _family_params(params: dict | None, family: str) -> dict | None:
    if params is None:
        return None
    if any(k in FAMILIES for k in params):
        return params.get(family)
    return params


def summary_current(df: pl.DataFrame | None = None) -> pl.DataFrame:
    """Median and worst |error| of the compared current runs by split and dense/MoE [%]."""
    df = _current_frame("df", df)
    c = df.filter(pl.col("status") == "compared")
    parts = []
    for split in ("train", "test"):
        for kind in ("dense", "moe", "all"):
            sub = c.filter(pl.col("split") == split)
            if kind != "all":
                sub = sub.filter(pl.col("dense_or_moe") == kind)
            if sub.height == 0:
                continue
            parts.append({"split": split, "kind": kind, "cases": sub.height,
                          "median_abs_error_pct": float(sub["abs_error_pct"].median()),
                          "max_abs_error_pct": float(sub["abs_error_pct"].max()),
                          "mean_error_pct": float(sub["error_pct"].mean()),
                          "predicted_not_fitting": int((~sub["fits"]).sum())})
    return pl.DataFrame(parts)


def summary_by_accelerator(df: pl.DataFrame | None = None) -> pl.DataFrame:
    """Median and worst |error| of the compared current runs by split, accelerator and
    dense/MoE [%], with the number of runs that ran but are predicted not to fit."""
    df = _current_frame("df", df)
    c = df.filter(pl.col("status") == "compared")
    return (c.group_by("split", "accelerator", "dense_or_moe")
            .agg(pl.len().alias("cases"), pl.col("abs_error_pct").median().alias("median_abs_error_pct"),
                 pl.col("abs_error_pct").max().alias("max_abs_error_pct"),
                 pl.col("error_pct").mean().alias("mean_error_pct"),
                 (~pl.col("fits")).sum().cast(pl.Int64).alias("predicted_not_fitting"))
            .sort("split", "accelerator", "dense_or_moe"))
