"""docs/serving.md's generated validation figures ("Where it stands", tools/serving_report.py) are
the current model's, list exactly the points beyond the issue's worst-case bound, and the page's
prose names each of them; the bounds' verdicts follow their one owner, VALIDATION_BOUNDS."""

import fnmatch
import re
from pathlib import Path

import polars as pl
import pytest

from infra_lab.serving import published as P

DOC = Path(__file__).resolve().parent.parent / "docs" / "serving.md"
E = "output_tokens_per_s_per_gpu_error_pct"


@pytest.fixture(scope="module")
def frame():
    return P.validation()


def _where(text: str) -> tuple[int, int, int, int]:
    w0, w1 = text.index("\n### Where it stands"), text.index("\n## Cost")
    a, b = text.index(P.REPORT_BEGIN), text.index(P.REPORT_END) + len(P.REPORT_END)
    return w0, a, b, w1


def test_the_page_carries_the_current_figures(frame):
    text = DOC.read_text(encoding="utf-8")
    w0, a, b, w1 = _where(text)
    assert w0 < a < b < w1
    assert text[a:b] == P.report_markdown(frame), "docs/serving.md is stale: run python tools/serving_report.py"


def test_points_beyond_the_worst_bound_are_listed_and_explained(frame):
    """Exactly the points whose output tokens/s per GPU misses by more than the worst-case bound
    are listed, and the prose around the list names each, by id or by a backticked glob pattern
    with '*' (a point that crosses the bound needs its explanation written first)."""
    text = DOC.read_text(encoding="utf-8")
    w0, a, b, w1 = _where(text)
    worst = P.VALIDATION_BOUNDS["output_tokens_per_s_per_gpu"]["worst"]
    far = frame.filter(pl.col(E).is_not_null() & (pl.col(E).abs() > worst))
    listed = set(re.findall(r"^\| ([A-Za-z0-9.+-]+) \| (?:train|test) \|", text[a:b].split("**Points beyond")[1], re.M))
    assert listed == set(far["id"]) and far.height > 0
    names = set(re.findall(r"`([A-Za-z0-9.*+-]+)`", text[w0:a] + text[b:w1]))
    unnamed = [i for i in listed if not any(n == i or ("*" in n and fnmatch.fnmatchcase(i, n)) for n in names)]
    assert not unnamed, f"docs/serving.md 'Where it stands' does not explain {unnamed}"


def test_the_verdicts_follow_validation_bounds(frame, monkeypatch):
    text = P.report_markdown(frame)
    monkeypatch.setitem(P.VALIDATION_BOUNDS, "ttft_s", {"median": 0.001})
    assert "(bound ≤ 0.001 %: not met)" in P.report_markdown(frame)
    monkeypatch.setitem(P.VALIDATION_BOUNDS, "ttft_s", {"median": 999.0})
    assert "(bound ≤ 999 %: met)" in P.report_markdown(frame)
    # a higher threshold lists fewer points
    assert P.report_markdown(frame, above_pct=90.0).count("\n| ") < text.count("\n| ")
