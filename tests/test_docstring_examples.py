"""The **Examples** of the public calls' docstrings run as written and print what they show.

A library user reads ``help(il.estimate)`` and copies its example. The examples of the contract
calls (``il.Scenario`` and its methods, ``il.load_scenario``, ``il.list_scenarios``,
``il.estimate``, ``il.search``, ``il.collective``, ``il.serve``, ``il.serve_search``,
``il.sweep``, the ``to_dict`` of their results) and of the public functions of ``il.memory``,
``il.economics`` and ``il.reliability`` are collected with :class:`doctest.DocTestFinder` and run
with ``ELLIPSIS | NORMALIZE_WHITESPACE``: an example whose output changes fails here (the same
flags pyproject.toml gives ``--doctest-modules``, which runs every module's examples).
"""

from __future__ import annotations

import copy
import doctest
import inspect

import polars as pl
import pytest

import infra_lab as il
from infra_lab.collectives import CollectiveResult
from infra_lab.serving.core import ServeResult
from infra_lab.training.step import Estimate

FLAGS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE

CONTRACT = {
    "Scenario": il.Scenario, "Scenario.from_dict": il.Scenario.from_dict,
    "Scenario.from_toml": il.Scenario.from_toml, "Scenario.to_dict": il.Scenario.to_dict,
    "Scenario.to_toml": il.Scenario.to_toml, "Scenario.replace": il.Scenario.replace,
    "load_scenario": il.load_scenario, "list_scenarios": il.list_scenarios,
    "estimate": il.estimate, "search": il.search, "collective": il.collective, "serve": il.serve,
    "serve_search": il.serve_search, "sweep": il.sweep,
    "Estimate.to_dict": Estimate.to_dict, "ServeResult.to_dict": ServeResult.to_dict,
    "CollectiveResult.to_dict": CollectiveResult.to_dict,
}
"""The contract calls (docs/ARCHITECTURE.md, "Contract: the calls") and their results' to_dict."""

MODULES = ("memory", "economics", "reliability")


def _module_functions() -> dict[str, object]:
    """``<module>.<name>`` → the public function of il.memory / il.economics / il.reliability
    (their ``__all__``, functions only: classes are the results these return)."""
    out = {}
    for mod in MODULES:
        m = getattr(il, mod)
        for name in m.__all__:
            obj = getattr(m, name)
            if inspect.isfunction(obj):
                out[f"{mod}.{name}"] = obj
    return out


MODULE_FUNCTIONS = _module_functions()
ALL = {**CONTRACT, **MODULE_FUNCTIONS}


def _tests(name: str) -> list[doctest.DocTest]:
    """The doctests of ``ALL[name]``, run as ``--doctest-modules`` runs them: in the globals of
    the module that defines it (older examples call ``irr(...)`` by its module's name; newer
    ones import infra_lab as il)."""
    obj = ALL[name]
    finder = doctest.DocTestFinder(recurse=False, exclude_empty=True)
    globs = dict(vars(inspect.getmodule(obj)))
    return [t for t in finder.find(obj, name=name, globs=globs) if t.examples]


def _has_examples(name: str) -> bool:
    doc = inspect.getdoc(ALL[name]) or ""
    return "Examples\n--------" in doc and bool(_tests(name))


@pytest.mark.parametrize("name", sorted(CONTRACT))
def test_every_contract_call_has_an_examples_section(name):
    """Each contract call shows its use in a numpydoc ``Examples`` section with ``>>>`` lines."""
    assert _has_examples(name), f"il.{name}: its docstring has no 'Examples' section with >>> lines"


DEPRECATED = {"economics.software_stack", "economics.useful_work_cost", "economics.compare_useful_work"}
"""Kept for old notebooks; their docstrings send the reader to the calls that replace them."""


def test_every_module_function_has_an_examples_section():
    """Every public function of il.memory / il.economics / il.reliability shows its use, except
    the deprecated ones (which say so first and name their replacement)."""
    missing = sorted(n for n in MODULE_FUNCTIONS if n not in DEPRECATED and not _has_examples(n))
    assert not missing, f"public functions without an Examples section: {missing}"
    for n in DEPRECATED:
        assert (inspect.getdoc(MODULE_FUNCTIONS[n]) or "").startswith("Deprecated"), n


def _run(test: doctest.DocTest) -> tuple[doctest.TestResults, str]:
    out: list[str] = []
    runner = doctest.DocTestRunner(optionflags=FLAGS)
    result = runner.run(copy.copy(test), out=out.append, clear_globs=True)
    return result, "".join(out)


NAMES_WITH_EXAMPLES = sorted(n for n in ALL if _tests(n))


@pytest.mark.parametrize("name", NAMES_WITH_EXAMPLES)
def test_docstring_examples_run_as_written(name):
    for test in _tests(name):
        result, report = _run(test)
        assert result.failed == 0, f"{name}: {result.failed} of {result.attempted} examples differ\n{report}"


def test_a_changed_output_fails():
    """The runner used above fails an example whose shown output is not what it prints (so the
    tests above can fail): the collective example's busbw, shown one GB/s off."""
    test = next(t for t in _tests("collective"))
    ex = next(e for e in test.examples if "busbw" in e.source)
    changed = copy.copy(test)
    changed.examples = [copy.copy(e) for e in test.examples]
    i = test.examples.index(ex)
    algo, gbps = eval(ex.want)  # ('nvls', 476)
    changed.examples[i].want = repr((algo, gbps + 1)) + "\n"
    assert _run(test)[0].failed == 0
    assert _run(changed)[0].failed == 1


# --- what the walk found: results that convert like their siblings -----------------------------

def test_every_contract_result_converts_to_a_dict_and_a_polars_row():
    """Estimate had to_dict(); ServeResult and CollectiveResult had none, so a user could make a
    frame of estimates but not of serve or collective results."""
    est = il.estimate(il.load_scenario("zaya1-ibm-mi300x"))
    r = il.serve(il.load_scenario("maia-class-serving-mi300x"))
    c = il.collective("all_reduce", 2**30, {"accelerator": "H100-SXM", "nodes": 2}, 16)
    for res in (est, r, c):
        d = res.to_dict()
        assert isinstance(d, dict) and d
        row = pl.DataFrame([d])
        assert row.height == 1
    rd = r.to_dict()
    assert "scenario" not in rd and "breakdown" not in rd
    assert rd["ttft_s"] == r.ttft_s and rd["fits"] is r.fits
    # the serving names are serve_search's column names for the same numbers
    frame = il.serve_search(il.load_scenario("maia-class-serving-mi300x"), top=1)
    shared = set(rd) & set(frame.columns)
    assert {"output_tokens_per_s", "ttft_s", "tpot_s", "memory_per_gpu_bytes", "fits"} <= shared
    cd = c.to_dict()
    assert cd["busbw_Bps"] == c.busbw_Bps and cd["algorithm"] == c.algorithm
    assert set(cd) == {f for f in CollectiveResult.__dataclass_fields__}


def test_sweep_takes_serve_and_collective_results_like_an_estimate():
    def allgather(size):
        return il.collective("all_gather", size, {"accelerator": "MI300X", "nodes": 1}, 8)

    df = il.sweep(allgather, {"size": [2**20, 2**30]}, progress=False)
    assert df["error"].null_count() == 2, df["error"].to_list()
    assert df["time_s"].to_list() == [allgather(s).time_s for s in (2**20, 2**30)]
    assert df.schema["notes"] == pl.String
    sc = il.load_scenario("maia-class-serving-mi300x")

    def served(concurrency):
        return il.serve(sc.replace(serving={"concurrency": concurrency}))

    df = il.sweep(served, {"concurrency": [8, 16]}, progress=False)
    assert df["error"].null_count() == 2, df["error"].to_list()
    assert df["output_tokens_per_s"].to_list() == [served(c).output_tokens_per_s for c in (8, 16)]

    def bad(gpus):   # an output named like an input, with another value, is refused by name
        return il.collective("all_reduce", 2**20, {"accelerator": "MI300X", "nodes": 1}, 8)

    with pytest.warns(UserWarning, match="1 of 1 points failed"):
        df = il.sweep(bad, {"gpus": [4]}, progress=False)
    assert "a CollectiveResult whose gpus = 8 differs from the input gpus = 4" in df["error"][0]


def test_copy_replace_is_scenario_replace():
    sc = il.load_scenario("zaya1-ibm-mi300x")
    assert sc.__replace__(hardware={"nodes": 2}) == sc.replace(hardware={"nodes": 2})
    assert sc.__replace__(hardware={"nodes": 2}).hardware.world_size == 16


def test_search_frame_names_the_per_gpu_rate_as_the_estimate_does():
    """Estimate has tokens_per_s_per_gpu and serve_search's frame output_tokens_per_s_per_gpu;
    il.search's frame had only tokens_per_s, so a user comparing plans per GPU divided by hand."""
    sc = il.load_scenario("zaya1-ibm-mi300x")
    df = il.search(sc, top=3, max_micro_batch=4)
    assert df["tokens_per_s_per_gpu"].to_list() == (df["tokens_per_s"] / sc.hardware.world_size).to_list()
    by_gpu = il.search(sc, objective="tokens_per_s_per_gpu", top=3, max_micro_batch=4)
    assert by_gpu.equals(df)
    best = df.row(0, named=True)
    est = il.estimate(il.training.apply_plan(sc, best))   # the search's closed-form bubble
    assert best["tokens_per_s_per_gpu"] == pytest.approx(est.tokens_per_s_per_gpu, rel=0.02)
