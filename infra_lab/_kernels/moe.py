"""Monte Carlo of top-k routing load over expert-parallel ranks (numba), seeded.

Each token picks ``top_k`` distinct experts uniformly at random (a router balanced on
average, e.g. by an auxiliary loss or bias, so only sampling noise remains); expert e lives
on rank ``e // (experts / ep)``. The kernel draws the choices with a partial Fisher-Yates
shuffle (uniform k-subsets whatever the starting order) and returns, per trial, the busiest
rank's load over the mean load. Its independent reference is the closed form in
:func:`infra_lab.compute.moe.moe_load_imbalance` (``method="normal"``); they agree
statistically, not draw by draw.
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
