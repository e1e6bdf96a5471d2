"""MoE routing: per-expert token counts and the expected load imbalance of top-k routing.

Two questions the step model needs answered for a mixture-of-experts layer:

* how the routed rows of one rank split over its local experts (the grouped GEMM pads each
  expert's rows to the tile separately, so the split matters): :func:`expert_token_counts`
  draws them from a seeded multinomial;
* how much more than the mean the busiest expert-parallel rank receives (every rank waits
  for it at the combine all-to-all): :func:`moe_load_imbalance`, closed form or a seeded
  Monte Carlo of top-k routing.

Both assume a router that is balanced *on average* (auxiliary loss, bias or PID balancing
as in DeepSeek-V3 and ZAYA1): what remains is the sampling noise of routing a finite number
of tokens, a lower bound of the imbalance of a real router, whose per-batch expert
popularity also varies.
"""

from __future__ import annotations

import math
from functools import cache
from pathlib import Path

import numpy as np

from ..errors import ValidationError
from . import _params as P

__all__ = ["moe_load_imbalance", "expert_token_counts", "expected_max_std_normal", "moe_distinct_ranks",
           "moe_busiest_rank_experts", "moe_busiest_rank_experts_table"]

METHODS = ("auto", "normal", "monte_carlo")
BUSIEST_METHODS = ("auto", "exact", "monte_carlo")
SATURATED_EXPERTS = 1e-6
"""The busiest-rank expert table ends at the first token count at which a rank's expected
untouched experts, (E/ep)·(1 − k/E)^T, are at most this many [experts]: from there on the busiest
and the mean rank's distinct experts are both within it of E/ep (the mean's closed form is used)."""
BUSIEST_TRIALS = 4096
"""Default Monte Carlo draws of :func:`moe_busiest_rank_experts_table` [-]: a standard error of
about 1/√4096 ≈ 0.016 experts (the busiest count's spread is about one expert at small T);
fewer where the table would take more than BUSIEST_DRAWS expert draws (a very wide MoE)."""
BUSIEST_DRAWS = 1e8
"""Most expert draws (trials × tokens × (k + group_topk)) of the default Monte Carlo [-]."""
EXACT_WORK = 3e8
"""Most array-element updates of the exact sum (about ep·(E/ep)²·E) [-]: "auto" takes the Monte
Carlo beyond it, "exact" refuses."""


def moe_distinct_ranks(experts: int, top_k: int, ranks: int, groups: int = 0,
                       group_topk: int = 0) -> float:
    """Expected number of distinct ranks (or domains) of ``ranks`` equal groups holding
    experts/ranks consecutive experts each that one token's top_k distinct experts land on [-].

    Without a group limit (``groups`` = 0): ranks·(1 − C(E − E/ranks, k)/C(E, k)) (a rank misses
    the token when all k experts are drawn from the other E − E/ranks; linearity of
    expectation). With group-limited routing (DeepSeek-V2's device-limited and DeepSeek-V3's
    node-limited routing; Megatron-Core ``--moe-router-num-groups`` / ``--moe-router-group-topk``,
    ``group_limited_topk`` in megatron/core/transformer/moe/moe_utils.py): the E experts form
    ``groups`` equal groups of consecutive experts, a token's ``group_topk`` groups are drawn
    uniformly and its k experts uniformly from the P = group_topk·E/groups experts of those
    groups. A rank holding o of the selected experts misses the token with probability
    C(P − o, k)/C(P, k); o depends on which of the groups overlapping the rank are selected,
    summed exactly over those choices (each subset of size c of the t groups overlapping the rank
    is selected with the other group_topk − c drawn from the G − t others).

    ASSUMPTIONS: uniform routing (forced load balancing, a balanced router on average): every
    group equally likely to be selected and, inside the selected groups, every expert; experts
    laid out on the EP ranks in order (Megatron-Core's expert parallelism: rank r holds experts
    r·E/ep … (r + 1)·E/ep − 1), so with groups = ep each group is one rank (device-limited) and
    with groups = the EP group's nodes each group is one node (node-limited). Megatron-Core's
    router picks the groups with the largest sum of their top (k / group_topk) scores and then
    the top k of the selected groups' experts; on random logits (``--moe-router-force-load-
    balancing``) the groups are uniform by symmetry but the experts spread over the selected
    groups a little more evenly than uniform draws (a lower bound of the distinct ranks, see
    tests/test_group_limited_routing.py). A dispatcher that sends a token once per destination rank
    (DeepEP's ``is_token_in_rank``) moves this many copies, not top_k.

    Examples
    --------
    >>> round(moe_distinct_ranks(128, 8, 8), 2)     # Qwen3-235B on EP 8
    5.34
    >>> moe_distinct_ranks(8, 2, 8)                 # one expert per rank: every copy its own rank
    2.0
    >>> round(moe_distinct_ranks(256, 8, 8), 2)     # DeepSeek-V3's experts over 8 nodes, no limit
    5.29
    >>> round(moe_distinct_ranks(256, 8, 8, 8, 4), 2)   # ... node-limited: at most 4 of 8 nodes
    3.63
    """
    E, k, n, G, M = _check_routing(experts, top_k, ranks, groups, group_topk, ranks_name="ranks", max_experts=None)
    if n == 1:
        return 1.0
    if G <= 1 or M >= G:
        return n * (1.0 - math.comb(E - E // n, k) / math.comb(E, k))
    s, g = E // n, E // G
    pool = M * g
    c_pool, c_groups = math.comb(pool, k), math.comb(G, M)
    hit = 0.0
    seen: dict[tuple, float] = {}
    for r in range(n):
        lo, hi = r * s, (r + 1) * s
        over = tuple(min(hi, (j + 1) * g) - max(lo, j * g) for j in range(lo // g, (hi - 1) // g + 1))
        if over not in seen:
            t = len(over)
            ways = {(0, 0): 1}                       # (groups of this rank selected, its experts in them)
            for o in over:
                nxt = dict(ways)
                for (c, tot), w in ways.items():
                    nxt[(c + 1, tot + o)] = nxt.get((c + 1, tot + o), 0) + w
                ways = nxt
            miss = sum(w * math.comb(G - t, M - c) * math.comb(pool - tot, k)
                       for (c, tot), w in ways.items() if 0 <= M - c <= G - t)
            seen[over] = 1.0 - miss / (c_groups * c_pool)
        hit += seen[over]
    return hit


def _check_routing(experts, top_k, ep, groups, group_topk, *, ranks_name: str = "ep",
                   max_experts: int | None = 2**16) -> tuple[int, int, int, int, int]:
    """Validated (E, k, ranks, G, M) of a routing of ``experts`` over ``ep`` ranks (named
    ``ranks_name`` in errors), with optional group-limited routing; ``max_experts`` caps E where
    the caller enumerates per-expert work (None: no cap)."""
    E = int(P.check_number("experts", experts, lo=1, hi=max_experts, integer=True))
    k = int(P.check_number("top_k", top_k, lo=1, hi=E, integer=True))
    n = int(P.check_number(ranks_name, ep, lo=1, hi=E, integer=True))
    G = int(P.check_number("groups", groups, lo=0, hi=E, integer=True))
    M = int(P.check_number("group_topk", group_topk, lo=0, hi=max(G, 0), integer=True))
    if E % n:
        raise ValidationError(f"{ranks_name} = {n}: must divide the {E} experts (allowed: {_divisors_text(E)})")
    if (G == 0) != (M == 0):
        raise ValidationError(f"groups = {G}, group_topk = {M}: give both (group-limited routing) or neither")
    if G and E % G:
        raise ValidationError(f"groups = {G}: must divide the {E} experts")
    if G and k > M * (E // G):
        raise ValidationError(f"top_k = {k}: more than the {M} selected groups hold ({M * (E // G)} experts)")
    return E, k, n, G, M


def _divisors_text(E: int, most: int = 12) -> str:
    """The divisors of E, at most ``most`` of them listed (for error messages)."""
    d = [i for i in range(1, math.isqrt(E) + 1) if E % i == 0]
    d = sorted(set(d + [E // i for i in d]))
    return ", ".join(map(str, d)) if len(d) <= most else ", ".join(map(str, d[:most - 1])) + f", …, {E}"


def _saturation_tokens(E: int, k: int, n: int) -> int:
    """First token count T ≥ 1 at which (E/ep)·(1 − k/E)^T ≤ SATURATED_EXPERTS [tokens]."""
    if k == E:
        return 1
    q = 1.0 - k / E
    t = max(1, math.ceil(math.log(SATURATED_EXPERTS / (E / n)) / math.log(q)))
    while t > 1 and (E / n) * q ** (t - 1) <= SATURATED_EXPERTS:   # guard the log's rounding
        t -= 1
    while (E / n) * q**t > SATURATED_EXPERTS:
        t += 1
    return t


def moe_busiest_rank_experts(tokens: int, experts: int, top_k: int, ep: int, groups: int = 0,
                             group_topk: int = 0, *, method: str = "auto", trials: int | None = None,
                             seed: int = 0) -> float:
    """Expected number of distinct experts on the expert-parallel rank that holds the most of
    them when ``tokens`` tokens are routed top-k [experts]: the experts whose weights the
    busiest rank's grouped GEMM reads (E[max_r D_r], where D_r counts rank r's experts that at
    least one token chose).

    Parameters
    ----------
    tokens : tokens routed in all, over every rank [tokens] (one MoE layer's input)
    experts : routed experts E [-]; top_k : experts per token k [-]
    ep : expert-parallel ranks, each holding E/ep consecutive experts [-]
    groups, group_topk : group-limited routing (DeepSeek-V3: 8 groups, 4 per token; 0, 0 = none),
        as in :func:`moe_distinct_ranks`
    method : "exact", "monte_carlo" or "auto" (exact without a group limit, unless the sum would
        take more than EXACT_WORK updates; else Monte Carlo); see
        :func:`moe_busiest_rank_experts_table`
    trials, seed : Monte Carlo draws (None: BUSIEST_TRIALS, fewer for very wide MoEs) and seed

    Returns
    -------
    float : E[max over ranks of the rank's distinct experts] [experts]; for ep = 1 (and from the
    table's last token count on) the mean, (E/ep)·(1 − (1 − k/E)^T)

    Notes
    -----
    The mean rank touches (E/ep)·(1 − (1 − k/E)^T) experts; at few tokens the busiest rank
    touches many more (DeepSeek-V3's 256 experts, top-8, 8 ranks, one token: 1 on average, 2.56
    on the busiest rank without a group limit, about 3.5 with its 4-of-8 group limit), and at
    many tokens every rank touches all its E/ep. APPROXIMATION: uniform routing (a router
    balanced on average; every k-subset equally likely, or under a group limit every choice of
    groups and then of experts inside them, as :func:`moe_distinct_ranks` assumes), tokens
    independent of each other; a real router's per-batch skew adds to the busiest rank.

    Examples
    --------
    >>> round(moe_busiest_rank_experts(1, 256, 8, 8), 3)      # one token, 8 ranks of 32 experts
    2.564
    >>> round(moe_busiest_rank_experts(4, 256, 8, 8), 2), round(32 * (1 - (1 - 8 / 256) ** 4), 2)  # vs the mean
    (6.58, 3.82)
    >>> round(moe_busiest_rank_experts(4, 256, 8, 8, 8, 4), 1)  # ... with DeepSeek-V3's 4-of-8 group limit
    7.8
    >>> round(moe_busiest_rank_experts(1, 16, 1, 8), 12)      # top-1: one expert on one rank
    1.0
    """
    T = int(P.check_number("tokens", tokens, lo=0, hi=2**40, integer=True))
    E, k, n, G, M = _check_routing(experts, top_k, ep, groups, group_topk)
    tab = _busiest_table(E, k, n, G, M, *_busiest_method(method, E, k, n, G, M, trials, seed))
    if T < tab.size:
        return float(tab[T])
    return (E / n) * (1.0 - (1.0 - k / E) ** T)


def moe_busiest_rank_experts_table(experts: int, top_k: int, ep: int, groups: int = 0, group_topk: int = 0,
                                   *, method: str = "auto", trials: int | None = None,
                                   seed: int = 0) -> np.ndarray:
    """:func:`moe_busiest_rank_experts` at T = 0, 1, … tokens up to the first T at which a rank's
    expected untouched experts are at most SATURATED_EXPERTS (beyond it the mean rank's closed
    form, which the busiest rank's count is within SATURATED_EXPERTS of) [experts] (float64 array).

    ``method="exact"`` (no group limit): the union U of the T tokens' expert sets is, given its
    size m, a uniformly random m-subset of the E experts (every k-subset is equally likely, so
    the law of U is invariant under relabelling the experts). P(|U| = m) follows from a Markov
    chain over the tokens (a token adds x new experts with the hypergeometric probability
    C(E − m, x)·C(m, k − x)/C(E, k)); given m, the ranks' counts are multivariate
    hypergeometric, and P(every rank ≤ d | m) is summed rank by rank over the counts so far
    (all terms positive, no cancellation). E[max] = Σ_{d < E/ep} (1 − P(max ≤ d)).
    ``method="monte_carlo"``: :func:`infra_lab._kernels.moe.busiest_rank_experts_kernel`, seeded,
    draws the routing itself (with or without a group limit); the same draws serve every T, so
    the table is nondecreasing in T. Without a group limit both methods agree within the Monte
    Carlo error (tests/test_moe_busiest_rank_experts.py).

    Examples
    --------
    >>> t = moe_busiest_rank_experts_table(8, 2, 2)   # Mixtral's 8 experts, top-2, 2 ranks
    >>> [round(float(x), 3) for x in t[:4]], t.size
    ([0.0, 1.429, 2.316, 2.884], 54)
    """
    E, k, n, G, M = _check_routing(experts, top_k, ep, groups, group_topk)
    return _busiest_table(E, k, n, G, M, *_busiest_method(method, E, k, n, G, M, trials, seed)).copy()


def _busiest_method(method, E: int, k: int, n: int, G: int, M: int, trials, seed) -> tuple[str, int, int]:
    """(method, trials, seed) the table is computed with (trials and seed 0 for the exact sum)."""
    if not isinstance(method, str) or method not in BUSIEST_METHODS:
        raise ValidationError(f"method = {method!r}: allowed {', '.join(BUSIEST_METHODS)}")
    limited = 0 < M < G
    work = float(n) * (E // n + 1) ** 2 * (E + 1)
    if method == "auto":
        method = "monte_carlo" if (limited or work > EXACT_WORK) else "exact"
    if method == "exact" and limited:
        raise ValidationError(f"method = 'exact' with groups = {G}, group_topk = {M}: the exact sum is for "
                              "routing without a group limit; use method = 'monte_carlo' (or 'auto')")
    if method == "exact" and work > EXACT_WORK:
        raise ValidationError(f"method = 'exact' with experts = {E}, ep = {n}: about {work:.3g} array updates "
                              f"(at most {EXACT_WORK:.3g}); use method = 'monte_carlo' (or 'auto')")
    if method == "exact":
        return method, 0, 0
    draws = (_saturation_tokens(E, k, n) * (k + (M if limited else 0)))
    if trials is None:
        tr = int(max(64, min(BUSIEST_TRIALS, BUSIEST_DRAWS // draws)))
    else:
        tr = int(P.check_number("trials", trials, lo=1, hi=10**6, integer=True))
    if tr * draws > 4 * BUSIEST_DRAWS or tr * E > 2**31:
        raise ValidationError(f"monte_carlo: {tr} trials of {draws} expert draws over {E} experts; use fewer "
                              "trials (or trials=None)")
    return method, tr, int(P.check_number("seed", seed, lo=0, integer=True))


@cache
def _busiest_table(E: int, k: int, n: int, G: int, M: int, method: str, trials: int, seed: int) -> np.ndarray:
    """The table of :func:`moe_busiest_rank_experts_table` (read-only; kept per process). Its
    arguments are checked again here, before the numba kernel (which has no bounds checks)
    sees them: an inconsistent private call raises instead of writing out of bounds. The
    Monte Carlo tables are also kept on disk (:func:`_busiest_mc_table`)."""
    E, k, n, G, M = _check_routing(E, k, n, G, M)
    if not isinstance(method, str) or method not in ("exact", "monte_carlo"):
        raise ValidationError(f"method = {method!r}: allowed exact, monte_carlo (after 'auto' is resolved)")
    T_end = _saturation_tokens(E, k, n)
    s = E // n
    if n == 1:
        tab = s * (1.0 - (1.0 - k / E) ** np.arange(T_end + 1.0))
    elif method == "exact":
        tab = _busiest_exact(E, k, n, T_end)
    else:
        tab = _busiest_mc_table(E, k, n, G, M, T_end, trials, seed)
    tab.setflags(write=False)
    return tab


_BUSIEST_SOURCES = (__file__, str(Path(__file__).resolve().parent.parent / "_kernels" / "moe.py"))
"""The files whose code computes a Monte Carlo table (part of its on-disk cache key)."""


def _busiest_mc_table(E: int, k: int, n: int, G: int, M: int, T_end: int, trials: int, seed: int) -> np.ndarray:
    """The Monte Carlo table (T = 0 … T_end) of :func:`busiest_rank_experts_mt_kernel
    <infra_lab._kernels.moe.busiest_rank_experts_mt_kernel>`, read from the user's on-disk cache
    when an earlier process computed it (:mod:`infra_lab._disk_cache`: keyed by the inputs, the
    sources of this module and the kernel's, and the Python / NumPy / numba versions, so never
    stale; ``INFRA_LAB_CACHE_DIR=off`` turns it off), else computed and stored there. The kernel
    is deterministic (its own Mersenne Twister, integer counts, one division per entry), so a
    stored table is the computed one to the bit (tests/test_moe_busiest_table_cache.py). The
    DeepSeek-V3 tables took a large part of a second each at the first il.serve / il.serve_search
    of a fresh process (benchmarks/bench_moe_busiest.py); tools/warm_kernels.py stores the common
    ones."""
    limited = 0 < M < G
    G, M = (G, M) if limited else (0, 0)
    tr = int(P.check_number("trials", trials, lo=1, hi=10**6, integer=True))
    sd = _check_seed(seed)
    if tr * E > 2**31:
        raise ValidationError(f"trials = {tr}: {tr} × {E} experts of per-trial state is more than 2^31 "
                              f"(allowed trials ≤ {2**31 // E})")
    from .. import _disk_cache

    path = _disk_cache.entry_path("busiest_rank_experts", {"E": E, "k": k, "ep": n, "groups": G, "group_topk": M,
                                                           "T_end": T_end, "trials": tr, "seed": sd},
                                  _BUSIEST_SOURCES)
    tab = _disk_cache.load(path, (T_end + 1,))
    if tab is not None and _plausible_table(tab, E, n):
        return tab
    # the inlined-generator kernel: the same draws and table as busiest_rank_experts_kernel
    from .._kernels.moe import busiest_rank_experts_mt_kernel

    tab = np.empty(T_end + 1)
    busiest_rank_experts_mt_kernel(E, k, n, G, M, T_end, tr, sd, tab)
    _disk_cache.store(path, tab)
    return tab


def _check_seed(seed) -> int:
    """A Mersenne Twister seed of the kernels (``np.random.seed`` takes 32 bits): an integer in
    [0, 2^32 − 1]."""
    if not (isinstance(seed, (int, np.integer)) and not isinstance(seed, bool) and 0 <= seed <= 2**32 - 1):
        raise ValidationError(f"seed = {seed!r}: must be an integer in [0, 2^32 - 1 = {2**32 - 1}]")
    return int(seed)


def _plausible_table(tab: np.ndarray, E: int, n: int) -> bool:
    """A stored Monte Carlo table's sanity (a damaged entry is recomputed): finite, 0 at T = 0,
    nondecreasing (common random numbers), at most E/ep."""
    return bool(np.all(np.isfinite(tab)) and tab[0] == 0.0 and np.all(np.diff(tab) >= 0.0)
                and tab[-1] <= E // n)


def _busiest_exact(E: int, k: int, n: int, T_end: int) -> np.ndarray:
    """The exact E[max_r D_r] for T = 0 … T_end (no group limit; see the table's docstring)."""
    s = E // n
    lf = np.array([math.lgamma(i + 1.0) for i in range(E + 1)])

    def comb(a, b):   # C(a, b) for integer arrays, 0 outside 0 ≤ b ≤ a
        a, b = np.broadcast_arrays(np.asarray(a), np.asarray(b))
        ok = (b >= 0) & (b <= a) & (a >= 0)
        aa, bb = np.where(ok, a, 0), np.where(ok, b, 0)
        return np.where(ok, np.exp(lf[aa] - lf[bb] - lf[aa - bb]), 0.0)

    # P(|U| = m) after each token: a token adds x new experts to the m chosen so far
    m = np.arange(E + 1)
    step = [comb(E - m, x) * comb(m, k - x) / math.comb(E, k) for x in range(k + 1)]
    dist = np.zeros((T_end + 1, E + 1))
    dist[0, 0] = 1.0
    for t in range(1, T_end + 1):
        prev = dist[t - 1]
        for x in range(k + 1):
            dist[t, x:] += (prev * step[x])[: E + 1 - x]
    # below[d, j]: P(each of the first r ranks holds ≤ d of the j chosen experts of their r·s)
    d = np.arange(s)[:, None]
    j = np.arange(E + 1)[None, :]
    below = ((j <= d) & (j <= s)).astype(float)
    for r in range(2, n + 1):
        nxt = np.zeros_like(below)
        for b in range(s + 1):
            # b of the j on rank r, j − b on the first r − 1 ranks (hypergeometric split)
            w = comb((r - 1) * s, j - b) * comb(s, b) / np.where(j <= r * s, comb(r * s, np.minimum(j, r * s)), 1.0)
            shifted = np.zeros_like(below)
            shifted[:, b:] = below[:, : E + 1 - b]
            nxt += np.where((b <= d) & (j <= r * s), shifted * w, 0.0)
        below = nxt
    # E[max] = Σ_{d < s} P(max > d)
    return s - dist @ below.sum(axis=0)


@cache
def expected_max_std_normal(n: int) -> float:
    """E[max of n independent standard normals] [-] (numerical integration; 0 for n = 1).

    Examples
    --------
    >>> round(expected_max_std_normal(2), 4)        # 1/sqrt(pi)
    0.5642
    """
    n = P.check_number("n", n, lo=1, integer=True)
    if n == 1:
        return 0.0
    x = np.linspace(-12.0, 12.0, 24001)
    phi = np.exp(-0.5 * x * x) / math.sqrt(2.0 * math.pi)
    Phi = 0.5 * (1.0 + np.vectorize(math.erf)(x / math.sqrt(2.0)))
    f = x * n * phi * Phi ** (n - 1)
    return float(np.sum((f[1:] + f[:-1]) * 0.5 * np.diff(x)))


def moe_load_imbalance(tokens: int, experts: int, top_k: int, ep: int, *,
                       method: str = "auto", trials: int | None = None, seed: int = 0,
                       capacity_factor: float | None = None, popularity_cv: float = 0.0) -> float:
    """Expected busiest-rank load over the mean load for top-k routing [-] (≥ 1).

    Parameters
    ----------
    tokens : tokens each expert-parallel rank routes per micro-batch [tokens]; the group
        routes ``tokens · ep`` in all
    experts : routed experts E [-]; top_k : experts per token k [-]
    ep : expert-parallel ranks, each holding E/ep experts [-]
    method : "normal" (closed form), "monte_carlo" (seeded, numba) or "auto" (Monte Carlo
        when a rank receives fewer than 200 rows on average, else the closed form)
    trials : Monte Carlo draws (None: enough for ~2·10⁷ routed rows in all, 16-400)
    seed : Monte Carlo seed
    capacity_factor : token dropping at this factor caps the result (None: dropless)
    popularity_cv : coefficient of variation of the experts' share of tokens within one
        micro-batch [-] (0: a perfectly balanced router, sampling noise only; closed form
        only). A user assumption: no published per-micro-batch figure is in the data.

    Returns
    -------
    float : E[max_r L_r] / E[L_r] [-]; exactly 1 for ep = 1

    Notes
    -----
    Rank r's load L_r sums, over the N = tokens·ep tokens, how many of each token's k experts
    live on r: a hypergeometric count with mean k/ep and variance
    k·(1/ep)(1 − 1/ep)(E − k)/(E − 1). The loads sum to N·k, so with σ² = N times that variance
    the normal approximation gives E[max] = mean + σ·e_ep/√(1 − 1/ep), e_ep the expected
    maximum of ep standard normals. The Monte Carlo samples the k-subsets themselves. With
    expert shares varying by ``popularity_cv`` a rank's share varies by cv/√(E/ep), adding
    cv²·ep/E to the squared relative standard deviation. The sampling noise alone is small
    at training token counts (a per-cent or two): measured imbalance is dominated by the
    router's skew, which ``popularity_cv`` stands for.

    Examples
    --------
    >>> from infra_lab.compute import moe_load_imbalance
    >>> moe_load_imbalance(8192, 16, 1, 1)
    1.0
    >>> r = moe_load_imbalance(4096, 256, 8, 64, method="normal")   # DeepSeek-V3-like
    >>> round(r, 3)
    1.013
    >>> round(moe_load_imbalance(4096, 256, 8, 64, popularity_cv=0.3), 2)
    1.35
    """
    # bounds as expert_token_counts': up to 2^40 tokens per rank, 2^20 experts
    T = P.check_number("tokens", tokens, lo=1, hi=2**40, integer=True)
    E = P.check_number("experts", experts, lo=1, hi=2**20, integer=True)
    k = P.check_number("top_k", top_k, lo=1, hi=2**20, integer=True)
    n = P.check_number("ep", ep, lo=1, hi=2**20, integer=True)
    if k > E:
        raise ValidationError(f"top_k = {k}: must be <= experts = {E}")
    if E % n:
        raise ValidationError(f"ep = {n}: must divide experts = {E}")
    if not isinstance(method, str) or method not in METHODS:
        raise ValidationError(f"method = {method!r}: allowed {', '.join(METHODS)}")
    s = P.check_number("seed", seed, lo=0, integer=True)
    cf = None if capacity_factor is None else P.check_number("capacity_factor", capacity_factor, lo=1.0)
    cv = P.check_number("popularity_cv", popularity_cv, lo=0.0, hi=10.0)
    if n == 1:
        return 1.0
    N = T * n
    mean = N * k / n
    if method == "auto":
        method = "monte_carlo" if (mean < 200 and cv == 0.0) else "normal"
    if method == "normal":
        var = N * k * (1.0 / n) * (1.0 - 1.0 / n) * ((E - k) / (E - 1) if E > 1 else 0.0)
        rel2 = var / mean**2 + cv * cv * n / E * (1.0 - 1.0 / n)
        r = 1.0 + math.sqrt(rel2) * expected_max_std_normal(n) / math.sqrt(1.0 - 1.0 / n)
    else:
        if cv > 0.0:
            raise ValidationError("popularity_cv > 0 is modelled by method='normal' only")
        if trials is None:
            trials = int(min(400, max(16, 2e7 // (N * k))))
        tr = P.check_number("trials", trials, lo=1, hi=10**6, integer=True)
        if N * k * tr > 5e9:
            raise ValidationError(f"monte_carlo: {N * k * tr:.3g} routed rows to draw; use method='normal'")
        r = float(_mc(N, E, k, n, tr, s).mean())
    return min(r, cf) if cf is not None else r


@cache
def _mc(N: int, E: int, k: int, n: int, trials: int, seed: int) -> np.ndarray:
    """Per-trial busiest-rank load ratios of :func:`busiest_rank_ratio_kernel
    <infra_lab._kernels.moe.busiest_rank_ratio_kernel>` for N tokens over all ranks. The sizes are
    checked here, before the kernel (which has no bounds checks) sees them."""
    N = int(P.check_number("tokens", N, lo=1, hi=2**50, integer=True))
    E = int(P.check_number("experts", E, lo=1, hi=2**20, integer=True))
    k = int(P.check_number("top_k", k, lo=1, hi=E, integer=True))
    n = int(P.check_number("ep", n, lo=1, hi=E, integer=True))
    if E % n:
        raise ValidationError(f"ep = {n}: must divide experts = {E} (allowed: {_divisors_text(E)})")
    trials = int(P.check_number("trials", trials, lo=1, hi=10**6, integer=True))
    seed = _check_seed(seed)
    from .._kernels.moe import busiest_rank_ratio_kernel

    out = np.empty(trials)
    busiest_rank_ratio_kernel(N, E, k, n, trials, seed, out)
    return out


def expert_token_counts(rows: int, experts: int, seed: int = 0) -> np.ndarray:
    """Rows routed to each of ``experts`` local experts when ``rows`` rows are spread by a
    balanced router: a seeded multinomial draw [rows] (int64 array summing to ``rows``).

    Examples
    --------
    >>> c = expert_token_counts(8192, 16, seed=1)
    >>> int(c.sum()), len(c)
    (8192, 16)
    """
    R = P.check_number("rows", rows, lo=0, hi=2**40, integer=True)
    E = P.check_number("experts", experts, lo=1, hi=2**20, integer=True)
    s = P.check_number("seed", seed, lo=0, integer=True)
    return _counts(R, E, s).copy()


@cache
def _counts(R: int, E: int, s: int) -> np.ndarray:
    return np.random.default_rng(s).multinomial(R, np.full(E, 1.0 / E)).astype(np.int64)
