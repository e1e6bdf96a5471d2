"""Monte Carlo of top-k routing load over expert-parallel ranks (numba), seeded.

Each token picks ``top_k`` distinct experts uniformly at random (a router balanced on
average, e.g. by an auxiliary loss or bias, so only sampling noise remains); expert e lives
on rank ``e // (experts / ep)``. The kernel draws the choices with a partial Fisher-Yates
shuffle (uniform k-subsets whatever the starting order) and returns, per trial, the busiest
rank's load over the mean load. Its independent reference is the closed form in
:func:`infra_lab.compute.moe.moe_load_imbalance` (``method="normal"``); they agree
statistically, not draw by draw. :func:`busiest_rank_experts_kernel` counts the distinct
experts of the rank holding the most of them (also under group-limited routing); its
independent reference, without a group limit, is the exact sum of
:func:`infra_lab.compute.moe.moe_busiest_rank_experts` (``method="exact"``).
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True)
def busiest_rank_ratio_kernel(tokens, experts, top_k, ep, trials, seed, out):
    """Fill ``out[t]`` = max over ranks of routed rows / mean rows, for ``trials`` draws of
    ``tokens`` tokens (all ranks together) choosing ``top_k`` of ``experts``."""
    np.random.seed(seed)
    perm = np.arange(experts)
    per_rank = experts // ep
    loads = np.zeros(ep)
    mean = tokens * top_k / ep
    for t in range(trials):
        for r in range(ep):
            loads[r] = 0.0
        for _ in range(tokens):
            for j in range(top_k):
                r = j + np.random.randint(experts - j)
                a = perm[j]
                perm[j] = perm[r]
                perm[r] = a
                loads[perm[j] // per_rank] += 1.0
        out[t] = loads.max() / mean


@njit(cache=True)
def busiest_rank_experts_kernel(experts, top_k, ep, groups, group_topk, max_tokens, trials, seed, out):
    """Fill ``out[T]`` (T = 0 … ``max_tokens``) with the mean over ``trials`` draws of the
    distinct experts on the rank that holds the most of them, after T tokens each chose
    ``top_k`` distinct experts of ``experts`` (expert e on rank ``e // (experts / ep)``).
    With ``0 < group_topk < groups`` a token first draws ``group_topk`` distinct groups of
    ``experts / groups`` consecutive experts uniformly, then its ``top_k`` experts uniformly
    from the selected groups' experts (group-limited routing). The tokens are drawn one after
    another for all trials at once, so ``out[T]`` does not depend on ``max_tokens`` and is
    nondecreasing in T (common random numbers)."""
    np.random.seed(seed)
    per_rank = experts // ep
    limited = 0 < group_topk < groups
    g = experts // groups if limited else experts
    pool = group_topk * g if limited else experts
    perm = np.arange(pool)
    gperm = np.arange(groups if limited else 1)
    touched = np.zeros((trials, experts), np.uint8)
    count = np.zeros((trials, ep), np.int64)
    best = np.zeros(trials, np.int64)
    out[0] = 0.0
    for t in range(1, max_tokens + 1):
        tot = 0.0
        for tr in range(trials):
            if limited:
                for j in range(group_topk):
                    r = j + np.random.randint(groups - j)
                    a = gperm[j]
                    gperm[j] = gperm[r]
                    gperm[r] = a
            for j in range(top_k):
                r = j + np.random.randint(pool - j)
                a = perm[j]
                perm[j] = perm[r]
                perm[r] = a
                e = perm[j]
                if limited:
                    e = gperm[e // g] * g + e % g
                if touched[tr, e] == 0:
                    touched[tr, e] = 1
                    q = e // per_rank
                    count[tr, q] += 1
                    if count[tr, q] > best[tr]:
                        best[tr] = count[tr, q]
            tot += best[tr]
        out[t] = tot / trials
