"""The fast paths of the stack-factor fits and of the plan search's stage layouts give the
bits of the slow ones they replace (notebook 04's leave-one-source-out check and notebook 02's
``largest_model(search_plans=True)`` run thousands of estimates and stage layouts):

* ``training.step._tokens_per_s_per_gpu``: ``estimate(sc, params=p).tokens_per_s_per_gpu``,
  without the Estimate, errors included;
* the leave-one-source-out fits drop a source's runs from one list of every source's fit runs:
  the list ``_family_fit_runs`` / ``_ep_overlap_runs`` build without that source;
* the context's caches of what does not depend on the stack factors (checkpoint total, FLOP
  conventions, the override check) and of a stage layout's parameter groups;
* ``memory.stage_layers`` counts each chunk's layers with ``list.count``: checked against a
  layer-by-layer count written here."""

import itertools

import pytest

import infra_lab as il
from infra_lab import memory
from infra_lab import validation as V
from infra_lab.errors import InfraLabError, ValidationError
from infra_lab.training import context as C
from infra_lab.training.step import _tokens_per_s_per_gpu
from infra_lab.validation import calibration as CAL


@pytest.fixture(scope="module")
def fit_runs():
    return CAL._family_fit_runs()


def _some_runs(fit_runs, per_family=3):
    return [x for runs in fit_runs.values() for x in runs[:per_family]]


@pytest.mark.parametrize("p", [None, {"framework_time_scale": 1.3, "memory_time_scale": 2.2},
                               {"framework_time_scale": 0.8, "memory_time_scale": 1.0, "ep_comm_overlap": 0.35}])
def test_the_fit_rate_is_the_estimates(fit_runs, p):
    runs = _some_runs(fit_runs) + CAL._ep_overlap_runs()[:2]
    assert len(runs) >= 5
    for rid, sc, _ in runs:
        assert _tokens_per_s_per_gpu(sc, p) == il.estimate(sc, params=p).tokens_per_s_per_gpu, rid


def test_the_fit_rate_refuses_what_the_estimate_refuses(fit_runs):
    """A factor that makes the step faster than the dense peak, and an override the stack does
    not have, raise the estimate's own errors."""
    _, sc, _ = _some_runs(fit_runs, 1)[0]
    for p in ({"framework_time_scale": 0.01, "memory_time_scale": 0.01}, {"framework_time_scale_x": 1.0}):
        with pytest.raises(InfraLabError) as slow:
            il.estimate(sc, params=p)
        with pytest.raises(InfraLabError) as fast:
            _tokens_per_s_per_gpu(sc, p)
        assert type(fast.value) is type(slow.value) and str(fast.value) == str(slow.value)


def test_the_override_check_tells_a_flag_from_a_number(fit_runs):
    """The check runs once per distinct input, keyed with each value's type: True (refused)
    is not taken for 1 (allowed), however often 1 was checked first."""
    _, sc, _ = _some_runs(fit_runs, 1)[0]
    for _ in range(2):
        il.estimate(sc, params={"dp_comm_overlap": 1})
        with pytest.raises(ValidationError, match="dp_comm_overlap"):
            il.estimate(sc, params={"dp_comm_overlap": True})
    with pytest.raises(InfraLabError, match="parameter of stack"):   # keys that do not sort: checked as given
        il.estimate(sc, params={"dp_comm_overlap": 0.5, 3: 1.0})


def test_a_source_dropped_from_every_sources_runs_is_the_list_built_without_it(fit_runs):
    ep_all = CAL._ep_overlap_runs()
    for src in ("AO", "MZ", "TT25"):
        held = frozenset({src})
        built = CAL._family_fit_runs(held)
        for fam in V.FAMILIES:
            got = CAL._without_sources(fit_runs[fam], held)
            assert [(r, m) for r, _, m in got] == [(r, m) for r, _, m in built[fam]], (src, fam)
            assert all(a is not None and a == b for (_, a, _), (_, b, _) in zip(got, built[fam], strict=True))
        assert [(r, m) for r, _, m in CAL._without_sources(ep_all, held)] == \
               [(r, m) for r, _, m in CAL._ep_overlap_runs(held)]


def test_the_context_caches_hold_what_they_replace():
    spec = il.models.get("llama3-8b")
    for opt, wb in (("adamw", 2.0), ("muon", 1.0)):
        assert C._checkpoint_total(spec, opt, wb) == memory.checkpoint_bytes(spec, opt, weight_bytes=wb).total_bytes
    f = C._flop_conventions(spec, 4096, 4096.0 * 256)
    assert f == {c: il.models.training_flops_per_token(spec, 4096, c) * 4096.0 * 256 for c in il.models.FLOP_CONVENTIONS}
    f["executed"] = -1.0                     # a caller's copy: the next call is not changed by it
    assert C._flop_conventions(spec, 4096, 4096.0 * 256)["executed"] > 0
    g = memory.pipeline._param_groups_detailed(spec)
    assert g == memory.pipeline._param_groups_detailed_of(spec)
    g["mlp"] = -1.0
    assert memory.pipeline._param_groups_detailed(spec)["mlp"] > 0


def _layer_by_layer(spec, pp, vp, n_rc, schedule):
    """Each rank's layer counts and per-chunk counts, one layer at a time (the chunks' kinds
    from pipeline_chunks, the owner of the cut)."""
    chunks = memory.pipeline_chunks(spec, pp, vp, schedule)
    tot = {r: [0, 0, 0, 0] for r in range(pp)}
    held = {r: [] for r in range(pp)}
    for ch in chunks:
        c = [0, 0, 0, 0]                     # dense, moe, dense recomputed, moe recomputed
        for i, kd in enumerate(ch["kinds"]):
            j = 1 if kd == "moe" else 0
            c[j] += 1
            if n_rc is None or i < n_rc:
                c[2 + j] += 1
        tot[ch["rank"]] = [a + b for a, b in zip(tot[ch["rank"]], c, strict=True)]
        held[ch["rank"]].append((c[0], c[1], int(ch["chunk"] == 0), int(ch["chunk"] == len(chunks) - 1), c[2], c[3]))
    return tot, held


@pytest.mark.parametrize("name", ["llama3-8b", "deepseek-v3", "zaya1-base", "zamba2-2.7b"])
def test_stage_layers_counts_each_layer(name):
    spec = il.models.get(name)
    L = spec.layers
    for (pp, vp), n_rc, sched in itertools.product([(1, 1), (2, 1), (4, 2), (3, 3), (8, 1), (L // 2 + 1, 2)],
                                                   [None, 1, 3], [None, "zbv"]):
        if pp * vp > L + 2 or (sched is not None and vp != 2):   # a V schedule runs two chunks per rank
            continue
        tot, held = _layer_by_layer(spec, pp, vp, n_rc, sched)
        for st in memory.stage_layers(spec, pp, vp, recompute_num_layers=n_rc, schedule=sched):
            r = st["rank"]
            assert [st["n_dense"], st["n_moe"], st["n_dense_recomputed"], st["n_moe_recomputed"]] == tot[r], (pp, vp, n_rc)
            assert st["chunks"] == tuple(held[r]), (pp, vp, n_rc, sched)
