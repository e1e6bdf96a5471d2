"""The distinct experts on the busiest expert-parallel rank (compute.moe_busiest_rank_experts):
the exact sum against a brute-force enumeration of every routing, the seeded Monte Carlo against
the exact sum and (under group-limited routing) against an enumeration written here, its bounds
and bad inputs, and the serving step that reads that many experts' weights."""

import itertools

import numpy as np
import pytest

import infra_lab as il
from infra_lab import compute, serving
from infra_lab.errors import ValidationError


def _enumerate(E: int, k: int, n: int, T: int, G: int = 0, M: int = 0) -> float:
    """E[max over ranks of distinct experts] by listing every routing of T tokens, each equally
    likely: a token's k-subset of the E experts, or (group limit) its M of G groups and then its
    k-subset of the selected groups' experts."""
    s = E // n
    if G:
        g = E // G
        choices = [frozenset(pool[i] for i in sub)
                   for grp in itertools.combinations(range(G), M)
                   for pool in [[e for j in grp for e in range(j * g, (j + 1) * g)]]
                   for sub in itertools.combinations(range(M * g), k)]
    else:
        choices = [frozenset(c) for c in itertools.combinations(range(E), k)]
    total = 0
    for pick in itertools.product(choices, repeat=T):
        union = frozenset().union(*pick)
        total += max(sum(1 for e in union if e // s == r) for r in range(n))
    return total / len(choices) ** T


@pytest.mark.parametrize("E,k,n,T", [(8, 2, 2, 1), (8, 2, 2, 3), (6, 2, 3, 3), (8, 3, 4, 2), (9, 2, 3, 2),
                                     (8, 1, 4, 4)])
def test_exact_sum_equals_an_enumeration_of_every_routing(E, k, n, T):
    got = compute.moe_busiest_rank_experts(T, E, k, n, method="exact")
    assert got == pytest.approx(_enumerate(E, k, n, T), rel=1e-12)


@pytest.mark.parametrize("E,k,n", [(256, 8, 8), (256, 8, 4), (128, 4, 4), (128, 8, 2), (16, 1, 8)])
def test_monte_carlo_agrees_with_the_exact_sum(E, k, n):
    """4,096 seeded draws: standard error about 0.016 experts (the busiest count spreads by
    about one expert); 0.06 is about four standard errors."""
    ex = compute.moe_busiest_rank_experts_table(E, k, n, method="exact")
    mc = compute.moe_busiest_rank_experts_table(E, k, n, method="monte_carlo", seed=3)
    assert ex.size == mc.size
    for T in (1, 2, 4, 8, 16, 64):
        assert mc[T] == pytest.approx(ex[T], abs=0.06), T


@pytest.mark.parametrize("E,k,n,G,M", [(8, 2, 4, 4, 2), (8, 2, 2, 4, 2), (12, 3, 3, 6, 2)])
def test_group_limited_monte_carlo_agrees_with_an_enumeration(E, k, n, G, M):
    mc = compute.moe_busiest_rank_experts_table(E, k, n, G, M, trials=40_000, seed=1)
    for T in (1, 2):
        assert mc[T] == pytest.approx(_enumerate(E, k, n, T, G, M), abs=0.02), T


def test_busiest_rank_bounds_and_deepseek_figures():
    E, k = 256, 8
    for n, G, M in ((8, 0, 0), (4, 0, 0), (32, 0, 0), (8, 8, 4), (4, 8, 4)):
        t = compute.moe_busiest_rank_experts_table(E, k, n, G, M)
        T = np.arange(t.size)
        mean = E / n * (1.0 - (1.0 - k / E) ** T)
        assert np.all(t >= mean - 0.03) and np.all(t <= np.minimum(E / n, T * k) + 1e-9)
        assert np.all(np.diff(t) >= -1e-9)            # nondecreasing in the tokens
        assert (E / n) * (1 - k / E) ** (t.size - 1) <= compute.moe.SATURATED_EXPERTS
        assert t[-1] == pytest.approx(E / n, abs=1e-5)
        beyond = compute.moe_busiest_rank_experts(t.size + 10, E, k, n, G, M)
        assert beyond == pytest.approx(E / n, abs=1e-6)
    # one token over 8 ranks of 32: the mean rank touches 1 expert, the busiest about 2.56;
    # DeepSeek-V3's 4-of-8 group limit puts its 8 experts on at most 4 ranks: about 3.5
    assert compute.moe_busiest_rank_experts(1, E, k, 8) == pytest.approx(2.5637, abs=1e-4)
    assert compute.moe_busiest_rank_experts(1, E, k, 8, 8, 4) == pytest.approx(3.47, abs=0.05)
    # 4 tokens over 4 ranks (the H200 min-latency layout): 10.4 against a mean of 7.6
    assert compute.moe_busiest_rank_experts(4, E, k, 4) == pytest.approx(10.37, abs=0.01)
    # one rank: the mean; one group per rank and one group per token: all k on one rank
    assert compute.moe_busiest_rank_experts(5, E, k, 1) == pytest.approx(E * (1 - (1 - k / E) ** 5), rel=1e-12)
    assert compute.moe_busiest_rank_experts(1, E, k, 8, 8, 1) == pytest.approx(k, rel=1e-12)
    assert compute.moe_busiest_rank_experts(1, 16, 1, 8) == pytest.approx(1.0, rel=1e-12)


def test_busiest_rank_experts_rejects_bad_inputs():
    with pytest.raises(ValidationError, match="method = 'normal'"):
        compute.moe_busiest_rank_experts(4, 256, 8, 8, method="normal")
    with pytest.raises(ValidationError, match="group_topk = 4.*monte_carlo"):
        compute.moe_busiest_rank_experts(4, 256, 8, 8, 8, 4, method="exact")
    with pytest.raises(ValidationError, match="ep = 3"):
        compute.moe_busiest_rank_experts(4, 256, 8, 3)
    with pytest.raises(ValidationError, match="tokens"):
        compute.moe_busiest_rank_experts(-1, 256, 8, 8)
    with pytest.raises(ValidationError, match="give both"):
        compute.moe_busiest_rank_experts(4, 256, 8, 8, 8, 0)


def _one_request(ep: int, tp: int = 8) -> il.Scenario:
    return il.Scenario.from_dict({
        "name": "t", "model": {"preset": "deepseek-v3"},
        "hardware": {"accelerator": "B200", "nodes": 1, "gpus_per_node": 8},
        "serving": {"engine": "trt-llm", "tp": tp, "ep": ep, "weight_precision": "fp4", "concurrency": 1,
                    "input_tokens": 1024, "output_tokens": 1024}})


def test_one_decoding_request_reads_the_busiest_ranks_experts():
    """DeepSeek-V3 FP4 on 8 B200, one request decoding one token a step: with the experts
    split 8 ways by tensor parallelism (ep 1) every GPU reads 1/8 of each of the token's 8
    experts, one expert's weights; with expert parallelism (ep 8) the layer waits for the rank
    holding the most of the token's experts, about 3.5 whole experts under the 4-of-8 group
    limit (the mean rank holds one). The decode step is memory-bound, so the routed-expert
    term grows by about that ratio (the kernels' fixed times and the activations aside)."""
    r1, r8 = serving.serve(_one_request(1)), serving.serve(_one_request(8))
    sc = r8.scenario
    spec = sc.model_spec
    # each MoE layer's grouped expert GEMMs (up, down) pay the fixed GPU time per kernel
    kernels = sum(1 for kind, c in zip(compute.gemm_records(spec, 1).kind, compute.gemm_records(spec, 1).component,
                                       strict=True) if kind == "moe" and c == "expert_gemm")
    fixed = (spec.layer_kinds().count("moe") * kernels * il.stacks.params(sc.stack)["kernel_fixed_scale"]
             * compute.kernel_fixed_s("B200"))

    def expert_s(r):
        b = r.breakdown
        return float(b.filter(b["component"] == "expert_gemm")["seconds"][0]) - fixed

    busiest = compute.moe_busiest_rank_experts(1, 256, 8, 8, 8, 4)
    assert busiest > 3.0
    assert expert_s(r8) / expert_s(r1) == pytest.approx(busiest, rel=0.05)
    assert r8.tpot_s == pytest.approx(serving.serve(_one_request(8), reference=True).tpot_s, rel=1e-9)


@pytest.mark.parametrize("E,k,n,G,M,T,trials,seed", [
    (256, 8, 8, 8, 4, 40, 512, 0),       # DeepSeek-V3's 4-of-8 group limit
    (160, 6, 8, 8, 2, 30, 256, 7),       # a 2-of-8 limit (pool of 40: rejected draws)
    (64, 6, 8, 0, 0, 40, 300, 3),        # no group limit
    (16, 1, 4, 0, 0, 20, 100, 2**32 - 1),  # top-1, the largest seed
    (12, 3, 3, 6, 2, 10, 50, 1),
])
def test_inlined_generator_kernel_equals_the_np_random_kernel(E, k, n, G, M, T, trials, seed):
    """The table's kernel (its Mersenne Twister inlined) makes the same draws as the reference
    kernel, which calls numba's ``np.random`` once per draw: the tables are equal to the bit."""
    from infra_lab._kernels.moe import busiest_rank_experts_kernel, busiest_rank_experts_mt_kernel

    ref, new = np.full(T + 1, np.nan), np.full(T + 1, np.nan)
    busiest_rank_experts_kernel(E, k, n, G, M, T, trials, seed, ref)
    busiest_rank_experts_mt_kernel(E, k, n, G, M, T, trials, seed, new)
    assert np.array_equal(new, ref)
    assert ref[T] > 0.0


@pytest.mark.parametrize("args,match", [
    ((10, 2, 3, 0, 0, "monte_carlo", 16, 0), r"ep = 3: must divide the 10 experts \(allowed: 1, 2, 5, 10\)"),
    ((256, 8, 3, 8, 4, "monte_carlo", 16, 0), r"ep = 3: must divide the 256 experts \(allowed: 1, 2, 4, 8, 16"),
    ((256, 8, 512, 8, 4, "monte_carlo", 16, 0), r"ep = 512: .*\[1, 256\]"),
    ((256, 8, 0, 0, 0, "monte_carlo", 16, 0), r"ep = 0: "),
    ((250, 8, 2, 8, 4, "monte_carlo", 16, 0), r"ep = 2: must divide the 250|groups = 8: must divide the 250"),
    ((256, 8, 8, 6, 2, "monte_carlo", 16, 0), r"groups = 6: must divide the 256 experts"),
    ((256, 40, 8, 8, 1, "monte_carlo", 16, 0), r"top_k = 40: more than the 1 selected groups hold \(32"),
    ((16, 17, 4, 0, 0, "monte_carlo", 16, 0), r"top_k = 17: .*\[1, 16\]"),
    ((256, 8, 8, 8, 0, "monte_carlo", 16, 0), r"give both"),
    ((256, 8, 8, 8, 9, "monte_carlo", 16, 0), r"group_topk = 9: .*\[0, 8\]"),
    ((256, 8, 8, 8, 4, "monte_carlo", 0, 0), r"trials = 0: .*\[1, 1e\+06\]"),
    ((2**16, 8, 8, 0, 0, "monte_carlo", 40_000, 0), r"trials = 40000: .*allowed trials ≤ 32768"),
    ((256, 8, 8, 8, 4, "monte_carlo", 16, -1), r"seed = -1: must be an integer in \[0, 2\^32 - 1"),
    ((256, 8, 8, 8, 4, "monte_carlo", 16, 2**32), r"seed = 4294967296: must be an integer in \[0, 2\^32 - 1"),
    ((256, 8, 8, 8, 4, "auto", 16, 0), r"method = 'auto': allowed exact, monte_carlo"),
])
def test_private_table_call_refuses_sizes_the_kernel_would_index_out_of_bounds(args, match):
    """compute.moe._busiest_table hands its sizes to a numba kernel without bounds checks
    (experts % ep != 0 put an expert on rank ep, past the per-rank counts; top_k beyond the pool
    of selected experts drew from an empty range forever): it checks them first."""
    with pytest.raises(ValidationError, match=match):
        compute.moe._busiest_table(*args)


@pytest.mark.parametrize("args,match", [
    ((100, 10, 2, 3, 16, 0), r"ep = 3: must divide experts = 10 \(allowed: 1, 2, 5, 10\)"),
    ((100, 8, 2, 16, 16, 0), r"ep = 16: .*\[1, 8\]"),
    ((0, 8, 2, 2, 16, 0), r"tokens = 0: "),
    ((100, 8, 9, 2, 16, 0), r"top_k = 9: .*\[1, 8\]"),
    ((100, 8, 2, 2, 0, 0), r"trials = 0: "),
    ((100, 8, 2, 2, 16, 2**32), r"seed = 4294967296: must be an integer in \[0, 2\^32 - 1"),
])
def test_private_load_ratio_call_refuses_sizes_the_kernel_would_index_out_of_bounds(args, match):
    """compute.moe._mc (the busiest-rank load Monte Carlo of moe_load_imbalance) checks the
    sizes its numba kernel indexes with: out has ``trials`` slots, ``loads`` ``ep``."""
    with pytest.raises(ValidationError, match=match):
        compute.moe._mc(*args)


def test_public_monte_carlos_refuse_a_seed_beyond_32_bits():
    """The kernels' generator takes a 32-bit seed: 2^32 used to run silently as seed 0 in both."""
    with pytest.raises(ValidationError, match=r"seed = 4294967296"):
        compute.moe_busiest_rank_experts_table(16, 2, 2, 4, 2, trials=16, seed=2**32)
    with pytest.raises(ValidationError, match=r"seed = 4294967296"):
        compute.moe_load_imbalance(64, 16, 2, 4, method="monte_carlo", trials=16, seed=2**32)
    t = compute.moe_busiest_rank_experts_table(16, 2, 2, 4, 2, trials=16, seed=2**32 - 1)
    assert t[1] > 0.0
