"""Test-session set-up shared by every test module.

Parallel runs (pytest-xdist): ``make test`` runs ``pytest -n <workers>`` with ``--dist
loadgroup`` (pyproject's addopts), which sends the tests of one ``xdist_group`` to one worker:

* ``browser``: tests/test_browser.py, one JupyterLab for the module and one build/browser/;
* ``executed_notebooks``: the notebooks executed headless, then the static site built from
  build/executed/ (tests/test_site.py empties and rebuilds build/site/);
* ``wheel``: tests/test_wheel.py, one sdist/wheel build for its three tests.

Every other test is its own unit of work, handed to whichever worker is free. Workers order
their collection with those groups first (the longest first), so that the long tests start at
once and the run ends on short tests. What the workers share is written safely: the session's
cache folder (below: atomic writes), build/executed/ (atomic writes), numba's cache (numba
writes it atomically); each test's tmp_path is its own; hypothesis' CI profile has no example
database (derandomize). ``PYTEST_WORKERS=1 make test`` (or plain ``pytest``) runs serially.
"""

import os

import pytest

# Keep hypothesis quick and deterministic on the 2-core CI machine.
from hypothesis import settings

settings.register_profile("ci", max_examples=40, deadline=None, derandomize=True)
# A long random search for new bugs (HYPOTHESIS_PROFILE=deep; tests/test_properties.py scales
# its per-test budgets up too): not for CI.
settings.register_profile("deep", max_examples=1000, deadline=None, derandomize=False)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


LONG_GROUPS = ("browser", "executed_notebooks", "wheel")
"""The xdist groups of the long tests, longest first (the s39 serial run: the browser test
384 s, the notebooks executed 211 s plus the site, the wheel build): under pytest-xdist they
come first in every worker's collection."""

SAFE_DIST = ("loadgroup", "loadfile", "loadscope", "no")
"""xdist distribution modes that keep each group (and module) on one worker; ``load``,
``worksteal`` and ``each`` would split a group (two JupyterLabs writing build/browser/, two
site builds emptying build/site/ under each other)."""


def _workers(config) -> int:
    """How many pytest-xdist workers run this session's tests at once (1: no xdist)."""
    if getattr(config.option, "dist", "no") == "no":
        return 1
    return max(1, len(getattr(config.option, "tx", None) or []))


def pytest_configure(config):
    """The test session keeps its on-disk tables (infra_lab/_disk_cache.py) in a folder of its
    own, removed at the end: tests neither read what an earlier session or the user stored nor
    write to the user's cache folder. An INFRA_LAB_CACHE_DIR given to pytest is kept.

    Under pytest-xdist the controller makes the folder before it starts the workers, which
    inherit INFRA_LAB_CACHE_DIR and so share it (entries are written atomically: a temporary
    file renamed into place); the controller removes it at the end."""
    import tempfile

    from infra_lab import _disk_cache

    dist = getattr(config.option, "dist", "no")
    if dist not in SAFE_DIST and not hasattr(config, "workerinput"):
        raise pytest.UsageError(
            f"--dist {dist}: this suite needs its xdist groups kept on one worker each; allowed: "
            f"{', '.join(SAFE_DIST)} (pyproject's addopts pass --dist loadgroup; run e.g. "
            f"`pytest -n 2`)")
    if _disk_cache.ENV not in os.environ:
        folder = tempfile.mkdtemp(prefix="infra_lab_test_cache_")
        os.environ[_disk_cache.ENV] = folder
        config._infra_lab_cache_dir = folder


def pytest_unconfigure(config):
    import shutil

    folder = getattr(config, "_infra_lab_cache_dir", None)
    if folder:
        shutil.rmtree(folder, ignore_errors=True)


def _group(item) -> str | None:
    """The item's xdist group as pytest-xdist names it (its ``xdist_group`` marks' names, sorted,
    joined by "_"); None without one."""
    names = {str(m.args[0] if m.args else m.kwargs.get("name", "default"))
             for m in item.iter_markers("xdist_group")}
    return "_".join(sorted(names)) if names else None


def _set_nodeid(item, nodeid: str) -> None:
    """Give ``item`` the node id ``nodeid``: pytest >= 9.2 keeps it as a structured NodeId in
    ``_id`` (and reads no ``_nodeid``), earlier pytest as the string ``_nodeid``."""
    current = getattr(item, "_id", None)
    if current is not None and hasattr(type(current), "parse"):
        item._id = type(current).parse(nodeid)
    else:
        item._nodeid = nodeid


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config, items):
    """On a pytest-xdist worker: make ``--dist loadgroup`` see the groups, then put the long
    groups first (in LONG_GROUPS' order) and everything else after in its usual order (a stable
    sort: every worker collects the same order, as xdist requires). A serial run keeps pytest's
    order and node ids.

    xdist tells the controller a test's group by the suffix ``@<group>`` on its node id, which
    it writes into ``item._nodeid``; pytest 9.2 no longer reads that field, so with pytest 9.2 and
    xdist 3.8 the groups are silently ignored (pytest-dev/pytest-xdist#1386) and the browser test
    would start one JupyterLab per worker. Here the suffix is set where this pytest keeps the
    node id (after xdist's own hook: trylast), and a test whose id still lacks it stops the run
    rather than run on a worker its group does not hold."""
    if not hasattr(config, "workerinput"):
        return
    if getattr(config.option, "loadgroup", False):
        for item in items:
            group = _group(item)
            if group is None:
                continue
            suffix = "@" + group
            if not item.nodeid.endswith(suffix):
                _set_nodeid(item, item.nodeid + suffix)
            if not item.nodeid.endswith(suffix):
                raise pytest.UsageError(
                    f"{item.nodeid}: cannot give it its xdist group {suffix[1:]!r} with this pytest "
                    f"and pytest-xdist; run serially (PYTEST_WORKERS=1 make test, or pytest without -n)")
    rank = {g: i for i, g in enumerate(LONG_GROUPS)}
    items.sort(key=lambda item: rank.get(_group(item), len(LONG_GROUPS)))


TIMED = {"test_notebooks": "notebook execution times",
         "test_browser": "notebook times in the browser"}
"""Modules whose ``TIMINGS`` (name -> seconds) the summary prints, and the summary's title."""
TIMING_KEY = "infra_lab_timing"
_sent: dict[tuple[str, str], float] = {}              # this process: timings already reported
_timings: dict[str, dict[str, float]] = {}           # the session's: title -> name -> seconds


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """Put each new entry of a timed module's TIMINGS into the report of the phase that set it
    (``user_properties``), so that it reaches the controller under pytest-xdist (a worker's
    module-level TIMINGS never does) as well as a serial run's summary."""
    outcome = yield
    report = outcome.get_result()
    module = getattr(item, "module", None)
    title = TIMED.get(getattr(module, "__name__", "").rpartition(".")[2])
    if title is None:
        return
    for name, seconds in getattr(module, "TIMINGS", {}).items():
        if _sent.get((title, name)) != seconds:
            _sent[(title, name)] = seconds
            report.user_properties.append((TIMING_KEY, (title, name, seconds)))


def pytest_runtest_logreport(report):
    for key, value in report.user_properties:
        if key == TIMING_KEY:
            title, name, seconds = value
            _timings.setdefault(title, {})[name] = seconds


def pytest_terminal_summary(terminalreporter, config):
    """Report each notebook's execution time, slowest first (nbdev style): headless
    execution (test_notebooks) and the real-browser run (test_browser). Under pytest-xdist
    the title says how many workers ran tests at once: a time then includes waiting for the
    cores the other workers use, so it can be longer than the notebook run alone."""
    workers = _workers(config)
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    for title in TIMED.values():
        timings = _timings.get(title)
        if timings:
            if workers > 1:
                title += (f" (measured while {workers} pytest-xdist workers ran tests at once on "
                          f"{cores} cores: a time includes waiting for a core, so it can be longer "
                          f"than the notebook run alone)")
            terminalreporter.section(title)
            for name, s in sorted(timings.items(), key=lambda kv: -kv[1]):
                terminalreporter.write_line(f"{s:7.1f} s  {name}")
