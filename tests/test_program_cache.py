"""The executed schedules' programs kept between step-kernel calls
(infra_lab.training.programs.executed_programs): the table it returns equals the kernel's own
build (kt.executed_table) element for element, cached or not; searches and estimates with the
cache warm, cold or off return the same frames bit for bit; the cache stays within its byte
bound (least recently used dropped first; a program larger than the bound is never kept)."""

import itertools

import numpy as np
import pytest

import infra_lab as il
from infra_lab._kernels import training as kt
from infra_lab.scenario import PP_SCHEDULES
from infra_lab.training import programs

EXECUTED = [PP_SCHEDULES.index(s) for s in ("zb-h1", "zbv", "v-half", "v-min")]
PRIMUS = "megatron-core-rocm"      # runs every executed schedule (data/pp_schedule_stacks.csv)


@pytest.fixture(autouse=True)
def _fresh_cache():
    programs.program_cache_clear()
    yield
    programs.program_cache_clear()


def _heads(gbatch: float):
    rows = []
    for pp, dp, mbs in itertools.product((1, 2, 3, 4, 8), (1, 2, 5), (1, 3)):
        h = np.zeros(kt.N_HEAD, np.int64)
        h[kt.H_PP], h[kt.H_DP], h[kt.H_MBS] = pp, dp, mbs
        rows += [h, h]
    c = np.zeros(kt.N_CONST)
    c[kt.C_GBATCH] = gbatch
    return c, np.array(rows)


def _same_table(got, want):
    (p, s), (wp, ws) = got, want
    assert p.dtype == wp.dtype == np.int32 and s.dtype == ws.dtype
    assert p.shape == wp.shape and (p == wp).all() and (s == ws).all()
    assert p.flags.c_contiguous and p.flags.writeable   # the kernel's own type: one compile


def test_the_cached_table_is_the_kernels_table_cold_warm_and_off(monkeypatch):
    for sched in EXECUTED + [PP_SCHEDULES.index("1f1b"), PP_SCHEDULES.index("interleaved")]:
        for gb in (96.0, 60.0):
            c, heads = _heads(gb)
            c[kt.C_PP_SCHED] = sched
            want = kt.executed_table(c, heads)
            _same_table(programs.executed_programs(c, heads), want)    # built (cold)
            _same_table(programs.executed_programs(c, heads), want)    # kept (warm)
    info = programs.program_cache_info()
    assert info["hits"] > 0 and info["misses"] > 0 and info["programs"] == info["misses"]
    # only (schedule, pp, micro-batches) matter: another batch reuses the keys it shares
    monkeypatch.setattr(programs, "PROGRAM_CACHE_MAX_BYTES", 0)        # off: nothing kept
    programs.program_cache_clear()
    c, heads = _heads(96.0)
    c[kt.C_PP_SCHED] = EXECUTED[1]
    _same_table(programs.executed_programs(c, heads), kt.executed_table(c, heads))
    assert programs.program_cache_info()["programs"] == 0


def _frames(sc, **kw):
    return (il.search(sc, top=None, feasible_only=False, pp_schedules="all", stack=PRIMUS, **kw),
            il.search(sc, pp_schedules="all", stack=PRIMUS, **kw))


def test_searches_with_the_cache_cold_warm_or_off_return_the_same_frames(monkeypatch):
    sc = il.load_scenario("zaya1-ibm-mi300x")
    d = sc.to_dict()
    d["training"]["gradient_accumulation_fusion"] = False     # two kernel passes per schedule
    cons = {"max_micro_batch": 2}
    il.search(sc, **cons)                     # 1F1B / interleaved only: the kernel's plain entry, no program
    assert programs.program_cache_info()["misses"] == 0
    cold = _frames(sc, **cons)
    assert programs.program_cache_info()["programs"] > 0
    warm = _frames(sc, **cons)
    assert programs.program_cache_info()["hits"] > 0
    nofuse = _frames(d, **cons)
    monkeypatch.setattr(programs, "PROGRAM_CACHE_MAX_BYTES", 0)
    programs.program_cache_clear()
    off = _frames(sc, **cons)
    off_nofuse = _frames(d, **cons)
    assert programs.program_cache_info()["programs"] == 0
    assert set(cold[0]["pp_schedule"].unique().to_list()) >= {"zb-h1", "zbv", "v-half", "v-min"}
    for a, b in zip(cold + nofuse, warm + off_nofuse, strict=True):
        assert a.equals(b)
    for a, b in zip(cold, off, strict=True):
        assert a.equals(b)


def test_an_estimate_reads_the_same_program_cached_or_not(monkeypatch):
    d = il.load_scenario("zaya1-ibm-mi300x").to_dict()
    d["parallelism"].update(pp=4, vp=2, pp_schedule="zbv")
    sc = il.Scenario.from_dict(d)
    first = il.estimate(sc, stack=PRIMUS).step_time_s
    again = il.estimate(sc, stack=PRIMUS).step_time_s
    assert programs.program_cache_info()["hits"] >= 1
    monkeypatch.setattr(programs, "PROGRAM_CACHE_MAX_BYTES", 0)
    programs.program_cache_clear()
    off = il.estimate(sc, stack=PRIMUS).step_time_s
    assert first == again == off


def test_the_cache_stays_within_its_bound_least_recently_used_dropped(monkeypatch):
    sched = PP_SCHEDULES.index("zbv")
    c = np.zeros(kt.N_CONST)
    c[kt.C_PP_SCHED] = sched
    head = _one_head(4, 1, 1)                  # pp 4: global batch = micro-batches

    def size(mk):
        c[kt.C_GBATCH] = float(mk)
        return kt.executed_table(c, head)[0].nbytes

    bound = size(8) + size(2) + size(1)        # the three, not the four of 1, 2, 4, 8
    monkeypatch.setattr(programs, "PROGRAM_CACHE_MAX_BYTES", bound)
    for mk in (8, 4, 2, 1, 8, 2):              # 4 drops 8; 8 again drops 4 (least recent); 2 a hit
        c[kt.C_GBATCH] = float(mk)
        _same_table(programs.executed_programs(c, head), kt.executed_table(c, head))
        info = programs.program_cache_info()
        assert info["bytes"] <= bound and info["max_bytes"] == bound
        assert info["bytes"] == sum(p.nbytes for p in programs._cache.values())
    assert list(programs._cache) == [(sched, 4, 1, 1), (sched, 4, 8, 1), (sched, 4, 2, 1)]
    assert programs.program_cache_info()["hits"] == 1
    # a program larger than the bound alone is built but never kept
    monkeypatch.setattr(programs, "PROGRAM_CACHE_MAX_BYTES", size(8) - 1)   # leaves c at 8 micro-batches
    programs.program_cache_clear()
    for _ in range(2):
        _same_table(programs.executed_programs(c, head), kt.executed_table(c, head))
    assert programs.program_cache_info() == {"programs": 0, "bytes": 0, "max_bytes": size(8) - 1,
                                             "hits": 0, "misses": 2}


def _one_head(pp, dp, mbs):
    h = np.zeros((1, kt.N_HEAD), np.int64)
    h[0, kt.H_PP], h[0, kt.H_DP], h[0, kt.H_MBS] = pp, dp, mbs
    return h
