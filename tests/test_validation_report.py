"""The sentence of docs/validation.md about the issue's bounds reads them from their one owner,
``validation.selene.STEP_TIME_BOUNDS_PCT`` (report.py typed 10 and 25 beside it)."""

import pytest

from infra_lab import validation as V
from infra_lab.validation import selene


@pytest.fixture(scope="module")
def inputs():
    cur = V.compare_current()
    return cur, V.memory_check(), V.band_coverage(cur)


def test_the_bounds_sentence_follows_step_time_bounds_pct(inputs, monkeypatch):
    cur, mem, cov = inputs
    lo, hi = selene.STEP_TIME_BOUNDS_PCT["median"], selene.STEP_TIME_BOUNDS_PCT["worst"]
    assert f"the issue's ≤ {lo:g} % / ≤ {hi:g} %" in V.report_markdown(cur, mem, cov)
    # bounds every test-split error meets: the verdict and the numbers follow the owner
    monkeypatch.setitem(selene.STEP_TIME_BOUNDS_PCT, "median", 99.0)
    monkeypatch.setitem(selene.STEP_TIME_BOUNDS_PCT, "worst", 999.0)
    text = V.report_markdown(cur, mem, cov)
    assert "(meets the issue's ≤ 99 % / ≤ 999 %)" in text
    # bounds no error meets
    monkeypatch.setitem(selene.STEP_TIME_BOUNDS_PCT, "median", 0.001)
    monkeypatch.setitem(selene.STEP_TIME_BOUNDS_PCT, "worst", 0.002)
    assert "(does not meet the issue's ≤ 0.001 % / ≤ 0.002 %)" in V.report_markdown(cur, mem, cov)
