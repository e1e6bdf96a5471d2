"""Write the generated validation tables into docs/validation.md (the summary at the top between
infra_lab.validation.GLANCE_BEGIN / GLANCE_END, placed after the page's first paragraph; the
tables between REPORT_BEGIN / REPORT_END; the runs beyond LARGEST_ABOVE_PCT between LARGEST_BEGIN /
LARGEST_END, placed after the "Where it stands" heading) and the leave-one-source-out section (between
LOSO_BEGIN / LOSO_END, placed after the tables when the page has none yet: a refit per source,
a few minutes). Run after any change that moves the validation:
``python tools/validation_report.py``; tests/test_validation.py and
tests/test_validation_loso.py check the page."""

from pathlib import Path

from infra_lab import validation as V

DOC = Path(__file__).resolve().parent.parent / "docs" / "validation.md"
INTRO = "`infra_lab.validation` compares `il.estimate` with published, fully specified training runs."   # the page's first paragraph
WHERE = "## Where it stands"   # the heading the largest-errors block follows


def _replace(text: str, begin: str, end: str, block: str, after: str | None = None) -> str:
    """``text`` with the block between ``begin`` and ``end`` replaced by ``block``; without such
    a block, ``block`` goes after the marker ``after`` (or at the end)."""
    if begin in text:
        a = text.index(begin)
        b = text.index(end, a) + len(end)
        return text[:a] + block + text[b:]
    if after is not None and after in text:
        b = text.index(after) + len(after)
        return text[:b] + "\n\n" + block + text[b:]
    return text.rstrip("\n") + "\n\n" + block + "\n"


def main() -> None:
    text = DOC.read_text(encoding="utf-8")
    current = V.compare_current()
    text = _replace(text, V.GLANCE_BEGIN, V.GLANCE_END, V.glance_markdown(current), after=INTRO)
    text = _replace(text, V.LARGEST_BEGIN, V.LARGEST_END, V.largest_markdown(current), after=WHERE)
    text = _replace(text, V.REPORT_BEGIN, V.REPORT_END, V.report_markdown(current))
    text = _replace(text, V.LOSO_BEGIN, V.LOSO_END, V.loso_markdown(), after=V.REPORT_END)
    DOC.write_text(text, encoding="utf-8")
    print(f"wrote {DOC}")


if __name__ == "__main__":
    main()
