"""Write the generated serving validation figures into docs/serving.md (between
infra_lab.serving.published.REPORT_BEGIN / REPORT_END, placed after the "Where it stands" heading
when the page has none yet). Run after any change that moves the serving validation (a model
change or a refit with tools/calibrate_serving.py): ``python tools/serving_report.py``;
tests/test_serving_report.py checks the page."""

from pathlib import Path

from infra_lab.serving import published as P

DOC = Path(__file__).resolve().parent.parent / "docs" / "serving.md"
WHERE = "### Where it stands"   # the heading the block follows


def main() -> None:
    text = DOC.read_text(encoding="utf-8")
    block = P.report_markdown()
    if P.REPORT_BEGIN in text:
        a = text.index(P.REPORT_BEGIN)
        b = text.index(P.REPORT_END, a) + len(P.REPORT_END)
        text = text[:a] + block + text[b:]
    else:
        b = text.index(WHERE) + len(WHERE)
        text = text[:b] + "\n\n" + block + text[b:]
    DOC.write_text(text, encoding="utf-8")
    print(f"wrote {DOC}")


if __name__ == "__main__":
    main()
