"""MTP acceptance from a published acceptance length (tokens a request advances per verification
step): il.serving.mtp_acceptance_for_tokens_per_step inverts the serving kernel's E(a) = 1 + a +
... + a^k, and the validation takes a benchmark row's ``spec_tokens_per_step`` through it (the
TensorRT-LLM DeepSeek-R1 min-latency rows' 2.82, ATOM's CI 2.93 tokens per forward for its
DeepSeek-R1-0528 MTP 3 rows) instead of a typed acceptance or the 0.85 default."""

from __future__ import annotations

import pytest

import infra_lab as il
from infra_lab._kernels.serving import _tokens_per_step
from infra_lab.errors import ValidationError
from infra_lab.serving import mtp_acceptance_for_tokens_per_step as solve
from infra_lab.serving import published as P


@pytest.mark.parametrize("k", [1, 2, 3, 5])
@pytest.mark.parametrize("a", [0.05, 0.5, 0.7701, 0.95])
def test_inverts_the_kernels_tokens_per_step(k, a):
    e = _tokens_per_step(k, a)[1]
    assert solve(e, k) == pytest.approx(a, abs=1e-9)


def test_acceptance_length_of_tensorrt_llm_blog_1():
    # 2.82 tokens per step with 3 draft tokens: the 0.7701 the rows used to carry typed
    assert round(solve(2.82, 3), 4) == 0.7701
    assert solve(1.0, 3) == pytest.approx(0.0, abs=1e-9)


@pytest.mark.parametrize("t, k, msg", [(0.5, 3, r"tokens_per_step = 0\.5: .*allowed 1\.\.4"),
                                       (4.5, 3, r"tokens_per_step = 4\.5: .*allowed 1\.\.4"),
                                       (2.5, 1, r"tokens_per_step = 2\.5: .*allowed 1\.\.2"),
                                       (2.0, 0, r"draft_tokens")])
def test_refuses_lengths_no_draft_count_can_give(t, k, msg):
    with pytest.raises(ValidationError, match=msg):
        solve(t, k)


def _rows():
    return {r["id"]: r for r in P.benchmarks().iter_rows(named=True)}


def test_atom_ci_mtp_rows_take_atoms_published_tokens_per_forward():
    rows = _rows()
    ids = [i for i in rows if i.startswith("ATOMCI-MI355X-DSR1-FP8-MTP3-")]
    assert len(ids) == 7
    for i in ids:
        r = rows[i]
        assert r["spec_tokens_per_step"] == 2.93 and r["spec_acceptance"] is None
        sc, _, why = P._row_scenario(r)
        assert not why
        a = sc.serving.mtp_acceptance
        assert a == pytest.approx(solve(2.93, 3))
        assert _tokens_per_step(3, a)[1] == pytest.approx(2.93, abs=1e-9)
        assert a < il.serving.parameter("mtp_acceptance")
    for i in ("TRTDSR1-B200-MINLAT-c1", "TRTDSR1-H200-MINLAT-c1"):
        sc, _, _ = P._row_scenario(rows[i])
        assert rows[i]["spec_tokens_per_step"] == 2.82
        assert sc.serving.mtp_acceptance == pytest.approx(solve(2.82, 3))
    # no published acceptance: the default applies (the scenario leaves it unset)
    for i in ("ATOMRECIPE-MI300X-DSR1-FP8-MTP3-1024-1024-c128",):
        sc, _, _ = P._row_scenario(rows[i])
        assert sc.serving.mtp_acceptance is None


def test_a_row_with_both_acceptance_columns_is_refused():
    r = dict(_rows()["TRTDSR1-B200-MINLAT-c1"])
    r["spec_acceptance"] = 0.77
    with pytest.raises(ValidationError, match="spec_acceptance and spec_tokens_per_step both given"):
        P._row_scenario(r)
