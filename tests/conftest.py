import os

# Keep hypothesis quick and deterministic on the 2-core CI machine.
from hypothesis import settings

settings.register_profile("ci", max_examples=40, deadline=None, derandomize=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


def pytest_terminal_summary(terminalreporter):
    """Report each notebook's execution time, slowest first (nbdev style)."""
    import sys

    mod = sys.modules.get("test_notebooks") or sys.modules.get("tests.test_notebooks")
    timings = getattr(mod, "TIMINGS", {}) if mod else {}
    if timings:
        terminalreporter.section("notebook execution times")
        for name, s in sorted(timings.items(), key=lambda kv: -kv[1]):
            terminalreporter.write_line(f"{s:7.1f} s  {name}")
