"""Monte Carlo of top-k routing load over expert-parallel ranks (numba), seeded.

Each token picks ``top_k`` distinct experts uniformly at random (a router balanced on
average, e.g. by an auxiliary loss or bias, so only sampling noise remains); expert e lives
on rank ``e // (experts / ep)``. The kernel draws the choices with a partial Fisher-Yates
shuffle (uniform k-subsets whatever the starting order) and returns, per trial, the busiest
rank's load over the mean load. Its independent reference on small cases is the exact
expectation :func:`busiest_rank_ratio_reference` (every routing's load vector, convolved token
by token); at large token counts the normal closed form of
:func:`infra_lab.compute.moe.moe_load_imbalance` (``method="normal"``) approximates it. They
agree statistically, not draw by draw. :func:`busiest_rank_experts_kernel` counts the distinct
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
    nondecreasing in T (common random numbers). Draws with numba's ``np.random``
    (:func:`_busiest_experts` with no generator state)."""
    np.random.seed(seed)
    _busiest_experts(experts, top_k, ep, groups, group_topk, max_tokens, trials, out, None)


@njit(cache=True, inline="always")
def _busiest_experts(experts, top_k, ep, groups, group_topk, max_tokens, trials, out, mt):
    """The routing of :func:`busiest_rank_experts_kernel` (see there), both kernels' one body;
    each uniform draw in 0 … n − 1 is :func:`_draw` (numba's ``np.random`` for ``mt`` None,
    else :func:`_mt_randint` on the state ``mt``: the same draws from the same seed). Inlined
    into each kernel (``inline="always"``, as is :func:`_draw`): as a call, the inlined-generator
    kernel ran at half its speed (benchmarks/bench_moe_busiest.py)."""
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
                    r = j + _draw(mt, groups - j)
                    a = gperm[j]
                    gperm[j] = gperm[r]
                    gperm[r] = a
            for j in range(top_k):
                r = j + _draw(mt, pool - j)
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


_MT_N = 624
_MT_M = 397


@njit(cache=True)
def _mt_seed(seed):
    """MT19937 state (``init_genrand``) for ``seed``: what ``np.random.seed(seed)`` sets inside a
    numba function (and NumPy's legacy ``RandomState(seed)``); [624 words, next position]."""
    mt = np.empty(_MT_N + 1, np.int64)   # the last slot holds the next position
    mt[0] = seed & 0xFFFFFFFF
    for i in range(1, _MT_N):
        prev = mt[i - 1]
        mt[i] = (1812433253 * (prev ^ (prev >> 30)) + i) & 0xFFFFFFFF
    mt[_MT_N] = _MT_N
    return mt


@njit(cache=True)
def _mt_word(mt):
    """The next tempered 32-bit output of the MT19937 state ``mt`` (see :func:`_mt_seed`)."""
    i = mt[_MT_N]
    if i >= _MT_N:
        for kk in range(_MT_N - _MT_M):
            y = (mt[kk] & 0x80000000) | (mt[kk + 1] & 0x7FFFFFFF)
            mt[kk] = mt[kk + _MT_M] ^ (y >> 1) ^ ((y & 1) * 0x9908B0DF)
        for kk in range(_MT_N - _MT_M, _MT_N - 1):
            y = (mt[kk] & 0x80000000) | (mt[kk + 1] & 0x7FFFFFFF)
            mt[kk] = mt[kk + _MT_M - _MT_N] ^ (y >> 1) ^ ((y & 1) * 0x9908B0DF)
        y = (mt[_MT_N - 1] & 0x80000000) | (mt[0] & 0x7FFFFFFF)
        mt[_MT_N - 1] = mt[_MT_M - 1] ^ (y >> 1) ^ ((y & 1) * 0x9908B0DF)
        i = 0
    y = mt[i]
    mt[_MT_N] = i + 1
    y ^= y >> 11
    y ^= (y << 7) & 0x9D2C5680
    y ^= (y << 15) & 0xEFC60000
    y ^= y >> 18
    return y


@njit(cache=True)
def _mt_randint(mt, n):
    """``np.random.randint(n)`` as numba (and NumPy's legacy generator) draws it from ``mt``: the
    low bits under the smallest all-ones mask ≥ n − 1, drawn again while ≥ n; no draw for n = 1."""
    if n == 1:
        return 0
    mask = n - 1
    mask |= mask >> 1
    mask |= mask >> 2
    mask |= mask >> 4
    mask |= mask >> 8
    mask |= mask >> 16
    while True:
        v = _mt_word(mt) & mask
        if v < n:
            return v


@njit(cache=True, inline="always")
def _draw(mt, n):
    """A uniform draw in 0 … n − 1: ``np.random.randint(n)`` from numba's thread generator when
    ``mt`` is None (:func:`busiest_rank_experts_kernel`), else :func:`_mt_randint` on ``mt``. The
    test is on the argument's type, so each kernel keeps only its own generator."""
    if mt is None:
        return np.random.randint(n)
    return _mt_randint(mt, n)


@njit(cache=True)
def busiest_rank_experts_mt_kernel(experts, top_k, ep, groups, group_topk, max_tokens, trials, seed, out):
    """:func:`busiest_rank_experts_kernel` with its generator inlined: the same Mersenne Twister,
    seeding and ``randint`` rule as numba's ``np.random``, so the same draws and the same ``out``
    (tests/test_moe_busiest_rank_experts.py checks they are equal), about twice as fast (a
    ``np.random.randint`` call inside numba reaches the thread's generator state each time;
    benchmarks/bench_moe_busiest.py). The routing is the same body, :func:`_busiest_experts`."""
    _busiest_experts(experts, top_k, ep, groups, group_topk, max_tokens, trials, out, _mt_seed(seed))


def busiest_rank_ratio_reference(tokens, experts, top_k, ep):
    """Exact E[max_r L_r] / E[L_r] [-] that :func:`busiest_rank_ratio_kernel`'s trials sample
    (plain Python, for small cases): one token's k distinct experts are each of the C(E, k)
    subsets with equal chance, giving a distribution of how many land on each rank; the load
    vector's distribution after ``tokens`` tokens is that distribution convolved ``tokens``
    times (a dict over load vectors), and the expectation of its maximum is summed over it."""
    from collections import Counter
    from itertools import combinations
    from math import comb

    per_rank = experts // ep
    one = Counter()
    for subset in combinations(range(experts), top_k):
        counts = [0] * ep
        for e in subset:
            counts[e // per_rank] += 1
        one[tuple(counts)] += 1
    total = comb(experts, top_k)
    dist = {tuple([0] * ep): 1.0}
    for _ in range(tokens):
        nxt: dict[tuple, float] = {}
        for loads, p in dist.items():
            for counts, c in one.items():
                key = tuple(a + b for a, b in zip(loads, counts, strict=True))
                nxt[key] = nxt.get(key, 0.0) + p * c / total
        dist = nxt
    mean = tokens * top_k / ep
    return sum(p * max(loads) for loads, p in dist.items()) / mean
