import os

# Keep hypothesis quick and deterministic on the 2-core CI machine.
from hypothesis import settings

settings.register_profile("ci", max_examples=40, deadline=None, derandomize=True)
# A long random search for new bugs (HYPOTHESIS_PROFILE=deep; tests/test_properties.py scales
# its per-test budgets up too): not for CI.
settings.register_profile("deep", max_examples=1000, deadline=None, derandomize=False)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


def pytest_configure(config):
    """The test session keeps its on-disk tables (infra_lab/_disk_cache.py) in a folder of its
    own, removed at the end: tests neither read what an earlier session or the user stored nor
    write to the user's cache folder. An INFRA_LAB_CACHE_DIR given to pytest is kept."""
    import tempfile

    from infra_lab import _disk_cache

    if _disk_cache.ENV not in os.environ:
        folder = tempfile.mkdtemp(prefix="infra_lab_test_cache_")
        os.environ[_disk_cache.ENV] = folder
        config._infra_lab_cache_dir = folder


def pytest_unconfigure(config):
    import shutil

    folder = getattr(config, "_infra_lab_cache_dir", None)
    if folder:
        shutil.rmtree(folder, ignore_errors=True)


def pytest_terminal_summary(terminalreporter):
    """Report each notebook's execution time, slowest first (nbdev style): headless
    execution (test_notebooks) and the real-browser run (test_browser)."""
    import sys

    for modname, title in (("test_notebooks", "notebook execution times"),
                           ("test_browser", "notebook times in the browser")):
        mod = sys.modules.get(modname) or sys.modules.get(f"tests.{modname}")
        timings = getattr(mod, "TIMINGS", {}) if mod else {}
        if timings:
            terminalreporter.section(title)
            for name, s in sorted(timings.items(), key=lambda kv: -kv[1]):
                terminalreporter.write_line(f"{s:7.1f} s  {name}")
