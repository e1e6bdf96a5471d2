"""tools/docs_report.py: the generated code-length table of docs/review-response.md and the
sensitivity items of docs/expansion.md are current, and the counts are the files' (a definition
that grows moves its row)."""

from __future__ import annotations

from pathlib import Path

import pytest
from script_module import load_script

ROOT = Path(__file__).resolve().parents[1]


def _tool():
    return load_script("tools/docs_report.py")


def _block(doc: str, begin: str, end: str) -> str:
    """The generated block of ``docs/<doc>`` between its markers, the markers included."""
    text = (ROOT / "docs" / doc).read_text(encoding="utf-8")
    a = text.index(begin)
    return text[a:text.index(end, a) + len(end)]


def test_review_response_lengths_block_is_current():
    tool = _tool()
    assert _block("review-response.md", tool.BEGIN, tool.END) == tool.lengths_block(), "docs/review-response.md is stale: run python tools/docs_report.py"


def test_lengths_count_definitions_and_files(tmp_path):
    tool = _tool()
    for rel in {r for _label, r, _names in tool.LENGTHS}:
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        if (ROOT / rel).is_dir():
            (tmp_path / rel).mkdir(parents=True, exist_ok=True)
            (tmp_path / rel / "a.py").write_text("x = 1\n" * 3, encoding="utf-8")
            (tmp_path / rel / "b.py").write_text("x = 1\n" * 5, encoding="utf-8")
            continue
        names = [n for _label, r, ns in tool.LENGTHS if r == rel for n in ns]
        body = "".join(f"def {n}():\n    '''doc'''\n    return 1\n\n\n" for n in names) or "x = 1\n"
        (tmp_path / rel).write_text(body, encoding="utf-8")
    got = dict(tool.lengths(tmp_path))
    assert got["`economics/`, its largest module"] == "`b.py` 5"
    assert got["`eval_head` (the step kernel's largest part)"] == "3"
    assert got["`compute.layer_ops` / `_layer_ops_cached`"] == "`layer_ops` 3, `_layer_ops_cached` 3"
    # a renamed definition is an error naming it, not a row that disappears
    (tmp_path / "infra_lab/_kernels/fabric.py").write_text("def other():\n    return 1\n", encoding="utf-8")
    with pytest.raises(LookupError, match="route_flows"):
        tool.lengths(tmp_path)


def test_expansion_sensitivities_block_is_current():
    """docs/expansion.md's sensitivity and host items (measured 2026-12-06 and typed, two of their
    days 0.01 stale by 2026-12-08) are the model's: the block is what the tool writes now."""
    tool = _tool()
    assert _block("expansion.md", tool.EXP_BEGIN, tool.EXP_END) == tool.expansion_block(), "docs/expansion.md is stale: run python tools/docs_report.py"


def test_expansion_block_refuses_prose_the_figures_no_longer_bear_out(monkeypatch):
    """A model change that made the Intel host slower for MI355X (or a gain fall where the prose says
    it rises) is an error naming the claim, not a page that says what the numbers no longer show."""
    tool = _tool()
    real = tool._best

    class Slower:
        def __init__(self, e):
            self._e = e
            self.step_time_s = e.step_time_s * 2.0

        def __getattr__(self, name):
            return getattr(self._e, name)

    def best(platform, **kw):
        e, sc, d = real(platform, **kw)
        return (Slower(e) if kw.get("host_cpu") is not None else e), sc, d

    monkeypatch.setattr(tool, "_best", best)
    with pytest.raises(AssertionError, match="the Intel host raises the gain"):
        tool.expansion_block()
