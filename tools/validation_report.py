"""Write the generated validation tables into docs/validation.md (between the markers of
infra_lab.validation.REPORT_BEGIN / REPORT_END). Run after any change that moves the
validation: ``python tools/validation_report.py``; tests/test_validation.py checks the page."""

from pathlib import Path

from infra_lab import validation as V

DOC = Path(__file__).resolve().parent.parent / "docs" / "validation.md"


def main() -> None:
    text = DOC.read_text(encoding="utf-8")
    report = V.report_markdown()
    if V.REPORT_BEGIN in text:
        a = text.index(V.REPORT_BEGIN)
        b = text.index(V.REPORT_END) + len(V.REPORT_END)
        text = text[:a] + report + text[b:]
    else:
        text = text.rstrip("\n") + "\n\n" + report + "\n"
    DOC.write_text(text, encoding="utf-8")
    print(f"wrote {DOC}")


if __name__ == "__main__":
    main()
