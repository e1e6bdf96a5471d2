"""The serving stacks' stored factors are what the fit derives on the train split as it is now.

The full fit (``il.serving.calibrate()``, ``tools/calibrate_serving.py``) takes about a minute
on two cores, so the check here is the fit's own stopping rule: the compass search stops when no
factor, moved alone by its last step (``_FINAL_STEP`` in log space), lowers the train loss. At
the stored values that must still hold, within LOSS_TOLERANCE (the stored values are rounded to
six significant digits). A row added to the train split, or a model change that moves a stack's
train predictions, breaks it until the stacks are refit.
"""

from __future__ import annotations

import re

import polars as pl
import pytest

import infra_lab as il
from infra_lab import serving
from infra_lab.serving import published as P

LOSS_TOLERANCE = 1e-4
"""Allowed decrease of calibrate's loss (mean weighted |ln(predicted / measured)|) at a probe:
0.01 % of mean log error, above the rounding of the stored values (their effect is below 1e-6)."""


@pytest.fixture(scope="module")
def probes():
    return P._probe_stored()


def _train_rows_per_stack() -> dict[str, int]:
    out: dict[str, int] = {}
    for st, *_ in P._train_cases("train"):
        out[st] = out.get(st, 0) + 1
    return out


def test_stored_serving_factors_are_where_the_train_fit_stops(probes):
    """No calibrated factor of any stack with train rows, moved alone by ± the fit's last step,
    lowers the train loss by more than LOSS_TOLERANCE."""
    n = _train_rows_per_stack()
    assert set(probes["stack"]) == set(n)
    for st in n:
        fitted = set(probes.filter(pl.col("stack") == st)["parameter"])
        # request_overhead_s only where the train rows publish TTFTs (as calibrate fits it)
        assert fitted >= set(serving.CALIBRATED) - {"request_overhead_s"}, st
    assert probes.height == 2 * probes.select("stack", "parameter").unique().height
    assert (probes["probe"] != probes["value"]).any()     # the probes moved something
    stale = probes.filter(pl.col("loss_probe") < pl.col("loss_stored") - LOSS_TOLERANCE)
    assert stale.height == 0, (
        "stored serving factors are no longer where calibrate() stops on the train split; rerun "
        "tools/calibrate_serving.py --why '...' (lower loss at): "
        + "; ".join(f"{r['stack']} {r['parameter']} {r['value']:.6g} -> {r['probe']:.6g}: "
                    f"{r['loss_stored']:.5f} -> {r['loss_probe']:.5f}" for r in stale.iter_rows(named=True)))


def test_the_probe_finds_a_stale_factor(monkeypatch):
    """The check can fail: vLLM on CUDA with its GEMM time scale 10 % off the fit is caught."""
    real = il.stacks.params

    def shifted(stack, overrides=None):
        # the stored values as the probe reads them (serve's own calls pass the trial factors)
        p = real(stack, overrides)
        return {**p, "gemm_time_scale": p["gemm_time_scale"] * 1.1} if stack == "vllm-cuda" and not overrides else p

    monkeypatch.setattr(il.stacks, "params", shifted)
    d = P._probe_stored(stacks=["vllm-cuda"])
    down = d.filter(pl.col("parameter") == "gemm_time_scale", pl.col("probe") < pl.col("value"))
    assert down.height == 1
    assert down["loss_probe"][0] < down["loss_stored"][0] - LOSS_TOLERANCE


def test_stored_serving_notes_name_the_train_rows_and_the_refit_date():
    """Each fitted serving factor's note names the train rows it was fitted on (as many as the
    split has now) and the date of its last refit; the current SGLang stacks carry vLLM's values."""
    n = _train_rows_per_stack()
    t = il.stacks.table()
    for st, rows in n.items():
        sub = t.filter(pl.col("stack") == st, pl.col("parameter").is_in(list(serving.CALIBRATED)),
                       pl.col("basis") == "fitted")
        assert sub.height >= len(serving.CALIBRATED) - 1, st
        for r in sub.iter_rows(named=True):
            assert f" {rows} training-split rows" in r["note"], (st, r["parameter"])
            assert re.search(r"Last refit \d{4}-\d{2}-\d{2} ", r["note"]), (st, r["parameter"])
    for sg, vl in (("sglang-cuda", "vllm-cuda"), ("sglang-rocm", "vllm-rocm")):
        fitted = t.filter(pl.col("stack") == vl, pl.col("basis") == "fitted",
                          pl.col("parameter").is_in(list(serving.CALIBRATED)))["parameter"].to_list()
        assert fitted
        for name in fitted:
            assert il.stacks.params(sg)[name] == il.stacks.params(vl)[name], (sg, name)


def test_probe_refuses_a_stack_without_train_rows():
    with pytest.raises(il.errors.ValidationError, match="sglang-cuda"):
        P._probe_stored(stacks=["sglang-cuda"])
