"""DeepEP / the flex dispatcher move a token once per destination rank, not once per routed
expert, and permute once each way: the expected count of distinct ranks (three independent
implementations against a Monte-Carlo count), the dispatch bytes it prices and the
permutation bytes of the MoE layer."""

import numpy as np
import pytest

import infra_lab as il
from infra_lab._kernels import training as kt
from infra_lab._kernels.training_reference import expected_distinct_groups, step_reference
from infra_lab.compute import _params as CP

ZAYA = il.load_scenario("zaya1-ibm-mi300x")

# (experts, top_k, ranks): Qwen3-235B / Qwen3-30B on EP 8 and 32, DeepSeek-V3 on EP 64,
# DeepSeek-V2 on EP 8, Mixtral (one expert per rank), ZAYA1 on EP 8
CASES = [(128, 8, 8), (128, 8, 32), (256, 8, 64), (160, 6, 8), (8, 2, 8), (16, 2, 8), (64, 6, 1)]


def _monte_carlo(E: int, k: int, n: int, tokens: int = 40_000, seed: int = 0) -> tuple[float, float]:
    """Mean and standard error of the distinct groups (E/n consecutive experts each) that
    tokens with k distinct uniformly drawn experts touch."""
    rng = np.random.default_rng(seed)
    experts = np.argsort(rng.random((tokens, E)), axis=1)[:, :k]     # k distinct of E, uniform
    groups = experts // (E // n)
    hit = np.zeros((tokens, n), dtype=bool)
    np.put_along_axis(hit, groups, True, axis=1)
    d = hit.sum(axis=1)
    return float(d.mean()), float(d.std(ddof=1) / np.sqrt(tokens))


@pytest.mark.parametrize("E,k,n", CASES)
def test_distinct_ranks_formula_matches_a_monte_carlo_count(E, k, n):
    mean, se = _monte_carlo(E, k, n)
    for value in (il.compute.moe_distinct_ranks(E, k, n),            # the op tables
                  n * kt.node_share(float(E), float(k), float(n)),   # the step kernel
                  expected_distinct_groups(E, k, n)):                # the reference
        assert value == pytest.approx(mean, abs=4 * se + 1e-9)
        assert 1.0 <= value <= min(k, n)
    if n > 1 and E // n == 1:
        assert il.compute.moe_distinct_ranks(E, k, n) == k       # every copy on its own rank
    assert il.compute.moe_distinct_ranks(128, 8, 8) == pytest.approx(5.34, abs=0.005)


def test_distinct_ranks_rejects_bad_inputs():
    with pytest.raises(il.ValidationError, match="ranks"):
        il.compute.moe_distinct_ranks(128, 8, 3)
    with pytest.raises(il.ValidationError, match="top_k"):
        il.compute.moe_distinct_ranks(8, 9, 8)


def _qwen_like(dispatcher: str, ep: int = 8):
    """A MoE with many experts per rank (ZAYA1 with 128 experts, top-8) on one node's EP."""
    return ZAYA.replace(model={"experts": 128, "top_k": 8},
                        parallelism={"ep": ep, "moe_dispatcher": dispatcher},
                        training={"moe_routing": "balanced"})


def _ep_comm(sc) -> float:
    b = il.estimate(sc).breakdown
    return float(b.filter(b["component"] == "ep_comm")["seconds"][0])


def test_deepep_sends_a_token_once_per_destination_rank():
    """Inside one scale-up domain DeepEP's dispatch carries tokens·R·h, R the expected distinct
    ranks (5.34 of 8 for 128 experts top-8), where the all-to-all dispatcher carries
    tokens·top_k·h; with one expert per rank (R = top_k) the two are the same."""
    a2a, dep = _qwen_like("alltoall"), _qwen_like("deepep")
    ea, ed = _ep_comm(a2a), _ep_comm(dep)
    assert 0.0 < ed < ea
    # bandwidth-bound all-to-all: the ratio follows the bytes, R / k, within the latency term
    assert ed / ea == pytest.approx(il.compute.moe_distinct_ranks(128, 8, 8) / 8, rel=0.1)
    mix = ZAYA.replace(model={"experts": 8, "top_k": 2}, parallelism={"ep": 8},
                       training={"moe_routing": "balanced"})
    assert _ep_comm(mix.replace(parallelism={"moe_dispatcher": "deepep"})) == pytest.approx(
        _ep_comm(mix), rel=1e-9)
    for sc in (dep, _qwen_like("deepep", ep=16)):            # one node; two nodes (RDMA + NVLink)
        assert step_reference(sc)["step_time_s"] == pytest.approx(il.estimate(sc).step_time_s, rel=1e-9)


def test_deepep_permutes_once_each_way():
    """Megatron's flex dispatcher (and torchtitan's DeepEP path) permutes the tokens·R rows its
    dispatch delivers into expert order once and unpermutes once; the all-to-all dispatcher
    permutes moe_permute_passes_ep times each way (before and after the all-to-all)."""
    s, E, k, ep = 4096, 128, 8, 8
    spec = ZAYA.replace(model={"experts": E, "top_k": k}).model_spec
    h, act = spec.hidden, 2.0
    R = il.compute.moe_distinct_ranks(E, k, ep)

    def permute_bytes(dispatcher):
        ops = il.compute.layer_ops(spec, s, 1, 1, "MI300X", ep=ep, expert_tp=1, moe_dispatcher=dispatcher)
        f = ops.filter((ops["layer_kind"] == "moe") & (ops["op"] == "moe_permute"))
        return float(f["bytes"][0])

    passes = CP.value(CP.accelerator("MI300X"), "moe_permute_passes_ep")     # data: 2
    assert permute_bytes("deepep") == pytest.approx((s * R + s * k) * h * act, rel=1e-12)
    assert permute_bytes("alltoall") == pytest.approx(passes * (s + s * k) * h * act, rel=1e-12)
    with pytest.raises(il.UnknownNameError, match="moe_dispatcher"):
        il.compute.layer_ops(spec, s, 1, 1, "MI300X", ep=ep, moe_dispatcher="nccl")
