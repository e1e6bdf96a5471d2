"""Leave-one-source-out check of the current-run model (infra_lab.validation.loso): the fit
without a source's train runs, the held-out predictions, the flags, and the generated section
of docs/validation.md. Kept cheap: one Megatron-Core source and one torchtitan source."""

from pathlib import Path

import polars as pl
import pytest

import infra_lab as il
from infra_lab import validation as V
from infra_lab.errors import ValidationError

TT, MC = "torchtitan", "megatron-core"


def _fit_sources() -> dict[str, dict[str, int]]:
    """{family: {source: number of its train runs in that family's fit}} (calibrate_current's run list)."""
    out: dict[str, dict[str, int]] = {}
    for fam, runs in V.calibration._family_fit_runs().items():
        for rid, _, _ in runs:
            out.setdefault(fam, {}).setdefault(V.source_of(rid), 0)
            out[fam][V.source_of(rid)] += 1
    return out


@pytest.fixture(scope="module")
def tt_source() -> str:
    """A source with train runs in the torchtitan fit and none in Megatron-Core's or in any
    Megatron-Core constant (the one with the fewest, then by name: chosen from the data)."""
    fits = _fit_sources()
    owners = V.loso._constant_sources()
    mc_side = set(fits.get(MC, {})) | owners["ep_comm_overlap"] | owners["moe_host_sync_slowdown"]
    cands = sorted((n, s) for s, n in fits[TT].items() if s not in mc_side)
    assert cands, "no torchtitan-only source with train runs in the fit"
    return cands[0][1]


@pytest.fixture(scope="module")
def held_tt(tt_source):
    return V.calibrate_current(exclude_sources=tt_source)


@pytest.fixture(scope="module")
def current():
    return V.compare_current()


@pytest.fixture(scope="module")
def loso_tt(tt_source, current):
    return V.leave_one_source_out(tt_source, current=current)


def test_source_is_the_id_prefix_and_a_column_of_the_runs():
    runs = V.current_runs()
    assert (runs["source"] == runs["id"].str.split("-").list.first()).all()
    assert V.current_sources() == sorted(set(runs["source"]))
    assert V.source_of("PR25-DSV2L-MI355X-8-mbs1-baseline") == "PR25"
    with pytest.raises(ValidationError, match="run_id"):
        V.source_of("")


@pytest.mark.parametrize("call", [lambda x: V.calibrate_current(exclude_sources=x),
                                  lambda x: V.leave_one_source_out(x)])
def test_unknown_source_is_refused_with_the_nearest_name(call):
    with pytest.raises(ValidationError) as e:
        call(["MZZ"])
    msg = str(e.value)
    assert "'MZZ'" in msg and "Did you mean 'MZ'?" in msg and "Valid:" in msg
    assert all(s in msg for s in V.current_sources())
    with pytest.raises(ValidationError, match="not a source name"):
        call([3])
    with pytest.raises(ValidationError, match="expected None, a source name"):
        call(2.5)


def test_a_family_without_the_sources_runs_keeps_its_factors(tt_source, held_tt):
    """The source has no train run in Megatron-Core's fit: its factors are the shipped ones
    (data/stacks.csv, which calibrate_current() reproduces, tests/test_validation.py)."""
    stored = il.stacks.params(f"{MC}-cuda")
    for k in V.CURRENT_FITTED:
        assert held_tt[MC][k] == pytest.approx(stored[k], abs=5e-4), k


def test_excluding_a_source_is_the_fit_on_the_filtered_runs(monkeypatch, tt_source, held_tt):
    """Independent check: the fit with the source excluded equals the default fit run on a
    run table from which the source's rows were removed."""
    full_cases = len(V.calibration._family_fit_runs()[TT])
    n_src = _fit_sources()[TT][tt_source]
    assert held_tt[TT]["train_cases"] == full_cases - n_src
    filtered = V.current_runs().filter(pl.col("source") != tt_source)
    monkeypatch.setattr(V.calibration, "current_runs", lambda: filtered)
    alone = V.calibration._calibrate_current(families=(TT,))
    assert alone[TT] == held_tt[TT]


def test_held_out_predictions_use_the_factors_fitted_without_the_source(tt_source, held_tt, loso_tt, current):
    c = current.filter((pl.col("status") == "compared") & (pl.col("id").str.starts_with(tt_source + "-")))
    assert sorted(loso_tt["case"]) == sorted(c["id"])              # train and test runs of the source
    assert set(loso_tt["source"]) == {tt_source} and set(loso_tt["family"]) == {TT}
    assert loso_tt["refitted"].all() and not loso_tt["optimistic"].any()
    assert loso_tt["held_out_ep_comm_overlap"].is_null().all()   # not a Megatron 1F1B-overlap run
    assert loso_tt["held_out_moe_host_sync_slowdown"].is_null().all()
    p = {k: held_tt[TT][k] for k in V.CURRENT_FITTED}
    assert (loso_tt["held_out_framework_time_scale"] == p["framework_time_scale"]).all()
    assert (loso_tt["held_out_memory_time_scale"] == p["memory_time_scale"]).all()
    # the same runs through compare_current with those factors handed to the family
    other = V.compare_current(params={TT: p}).filter(pl.col("id").is_in(c["id"].implode()))
    got = dict(zip(loso_tt["case"], loso_tt["held_out_error_pct"], strict=True))
    ins = dict(zip(loso_tt["case"], loso_tt["in_sample_error_pct"], strict=True))
    for rid, e in other.select("id", "error_pct").iter_rows():
        assert got[rid] == pytest.approx(e, rel=1e-9, abs=1e-9), rid
    for rid, e in c.select("id", "error_pct").iter_rows():
        assert ins[rid] == e, rid


def test_a_source_that_set_a_kept_constant_is_flagged(current):
    """The sources whose runs set a constant the check cannot refit without them are flagged,
    and that constant keeps its shipped value; every other row is refitted and not flagged."""
    owners = V.loso._constant_sources()
    ep_src = sorted(owners["ep_comm_overlap"])
    assert ep_src, "no train run is priced with ep_comm_overlap"
    # a source is flagged for ep_comm_overlap exactly when no train run of another source is left
    # to fit it on; with several sources the constant is refitted without any one of them
    alone = [s for s in ep_src if not V.calibration._ep_overlap_runs(frozenset({s}))]
    if not alone:
        d = V.leave_one_source_out(ep_src[:1], current=current)
        assert d.height > 0 and not d["fixed_on_source"].str.contains("ep_comm_overlap").any()
        return
    ep_src = alone[:1]
    d = V.leave_one_source_out(ep_src, current=current)
    assert d.height > 0 and d["optimistic"].all()
    assert d["fixed_on_source"].str.contains("ep_comm_overlap").all()
    shipped = il.stacks.params(f"{MC}-cuda")["ep_comm_overlap"]
    mc = d.filter(pl.col("family") == MC)
    priced = mc["held_out_ep_comm_overlap"].drop_nulls()
    assert priced.len() > 0 and (priced == shipped).all()     # the runs it prices keep the shipped value
    # the family's time scales are still refitted without the source
    refit = V.calibration._calibrate_current(frozenset(ep_src), families=(MC,))[MC]
    assert (mc["held_out_framework_time_scale"] == refit["framework_time_scale"]).all()
    assert (mc["held_out_memory_time_scale"] == refit["memory_time_scale"]).all()
    s = V.loso_summary(d)
    assert s["source"].to_list()[-3:] == ["all", "all: test split", "all: not flagged"]
    assert s.filter(pl.col("source") == "all: not flagged")["runs"][0] == 0


def test_docs_carry_the_leave_one_source_out_section(tt_source, loso_tt, current):
    """docs/validation.md has the generated section after the generated tables, with one row per
    source that has compared runs, and the row of the source computed here as
    loso_table_rows makes it (the full section takes a refit per source: tools/validation_report.py)."""
    text = (Path(__file__).resolve().parent.parent / "docs" / "validation.md").read_text(encoding="utf-8")
    assert text.index(V.REPORT_END) < text.index(V.LOSO_BEGIN) < text.index(V.LOSO_END)
    block = text[text.index(V.LOSO_BEGIN):text.index(V.LOSO_END)]
    assert V.report.LOSO_TABLE_HEADER in block
    c = current.filter(pl.col("status") == "compared")
    counts = dict(c.group_by(pl.col("id").str.split("-").list.first()).len().iter_rows())
    rows = {ln.split(" | ")[0].lstrip("| "): ln for ln in block.splitlines() if ln.startswith("| ")
            and not ln.startswith("| source |")}
    assert {s: int(r.split(" | ")[1]) for s, r in rows.items()} == counts, \
        "docs/validation.md is stale: run python tools/validation_report.py"
    (mine,) = V.report.loso_table_rows(loso_tt)
    assert rows[tt_source] == mine, "docs/validation.md is stale: run python tools/validation_report.py"
