"""The per-trial busiest-rank load ratio kernel (infra_lab._kernels.moe.busiest_rank_ratio_kernel,
behind compute.moe_load_imbalance's Monte Carlo) against the exact expectation its trials sample
(busiest_rank_ratio_reference: every routing's load vector, convolved token by token), on small
cases: the trials' mean within 4.5 standard errors of the exact value."""

from __future__ import annotations

import math

import numpy as np
import pytest

from infra_lab._kernels.moe import busiest_rank_ratio_kernel, busiest_rank_ratio_reference


def test_reference_by_hand():
    # 2 experts on 2 ranks, one token choosing 1: the busiest rank has 1 of a mean 1/2
    assert busiest_rank_ratio_reference(1, 2, 1, 2) == pytest.approx(2.0)
    # two tokens: the same rank (prob 1/2, max 2) or one each (max 1): E[max] = 1.5, mean 1
    assert busiest_rank_ratio_reference(2, 2, 1, 2) == pytest.approx(1.5)
    # top_k = E: every rank always gets its E/ep share, ratio 1
    assert busiest_rank_ratio_reference(3, 4, 4, 2) == pytest.approx(1.0)


@pytest.mark.parametrize("tokens, experts, top_k, ep", [(1, 4, 1, 2), (3, 6, 2, 3), (5, 8, 2, 4), (4, 8, 3, 2),
                                                         (6, 4, 1, 4)])
def test_trials_mean_is_the_exact_expectation(tokens, experts, top_k, ep):
    trials = 20_000
    out = np.empty(trials)
    busiest_rank_ratio_kernel(tokens, experts, top_k, ep, trials, 11, out)
    exact = busiest_rank_ratio_reference(tokens, experts, top_k, ep)
    sem = out.std(ddof=1) / math.sqrt(trials)
    assert abs(out.mean() - exact) < 4.5 * sem + 1e-12, (out.mean(), exact, sem)
