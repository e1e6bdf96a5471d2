"""Group-limited routing (DeepSeek-V2 device-limited, DeepSeek-V3 node-limited; Megatron-Core
``--moe-router-num-groups`` / ``--moe-router-group-topk``): the expected distinct ranks and
domains a token reaches under the limit, checked against an exact enumeration and a seeded
Monte-Carlo count written here independently, the model fields that carry it, and its effect
on the deepep dispatch the step prices."""

import itertools
import math

import numpy as np
import pytest

import infra_lab as il
from infra_lab._kernels import training as kt
from infra_lab._kernels.training_reference import expected_distinct_groups, step_reference

ZAYA = il.load_scenario("zaya1-ibm-mi300x")


def _enumerate(E: int, k: int, n: int, G: int, M: int) -> float:
    """Exact mean distinct units by listing every (selected groups, k experts of them) pair,
    each equally likely (uniform groups, uniform experts inside them)."""
    g, s = E // G, E // n
    total, count = 0.0, 0
    for groups in itertools.combinations(range(G), M):
        pool = [e for j in groups for e in range(j * g, (j + 1) * g)]
        for experts in itertools.combinations(pool, k):
            total += len({e // s for e in experts})
            count += 1
    return total / count


def _monte_carlo(E: int, k: int, n: int, G: int, M: int, tokens: int = 40_000,
                 seed: int = 0) -> tuple[float, float]:
    """Mean and standard error of the distinct units (E/n consecutive experts each) reached by
    tokens that draw M of G groups uniformly, then k distinct experts uniformly from them."""
    rng = np.random.default_rng(seed)
    g = E // G
    groups = np.argsort(rng.random((tokens, G)), axis=1)[:, :M]             # M distinct groups
    slot = np.argsort(rng.random((tokens, M * g)), axis=1)[:, :k]           # k of the pool
    experts = np.take_along_axis(groups, slot // g, axis=1) * g + slot % g
    units = experts // (E // n)
    hit = np.zeros((tokens, n), dtype=bool)
    np.put_along_axis(hit, units, True, axis=1)
    d = hit.sum(axis=1)
    return float(d.mean()), float(d.std(ddof=1) / np.sqrt(tokens))


def _three(E, k, n, G, M):
    return (il.compute.moe_distinct_ranks(E, k, n, G, M),                   # the op tables
            kt.distinct_units(float(E), float(k), float(n), float(G), float(M)),   # the step kernel
            expected_distinct_groups(E, k, n, G, M))                        # the reference


# small cases, every layout: a unit inside a group, groups inside a unit, neither dividing
SMALL = [(12, 3, 6, 4, 2), (12, 3, 4, 6, 2), (12, 3, 3, 4, 2), (12, 4, 2, 3, 2), (16, 4, 8, 4, 2),
         (16, 3, 4, 8, 3), (18, 4, 6, 9, 2), (12, 2, 4, 4, 1)]


@pytest.mark.parametrize("E,k,n,G,M", SMALL)
def test_group_limited_distinct_units_match_an_exact_enumeration(E, k, n, G, M):
    exact = _enumerate(E, k, n, G, M)
    for value in _three(E, k, n, G, M):
        assert value == pytest.approx(exact, rel=1e-10)


# (experts, top_k, units, groups, group_topk): DeepSeek-V3 on 8 nodes (node-limited, 4 of 8)
# and on EP 32 / 64 ranks; DeepSeek-V2 on EP 8 (device-limited, 3 of 8) and on EP 16
LARGE = [(256, 8, 8, 8, 4), (256, 8, 32, 8, 4), (256, 8, 64, 8, 4), (160, 6, 8, 8, 3), (160, 6, 16, 8, 3),
         (256, 8, 4, 8, 4), (160, 6, 5, 8, 3)]


@pytest.mark.parametrize("E,k,n,G,M", LARGE)
def test_group_limited_distinct_units_match_a_monte_carlo_count(E, k, n, G, M):
    mean, se = _monte_carlo(E, k, n, G, M)
    for value in _three(E, k, n, G, M):
        assert value == pytest.approx(mean, abs=4 * se + 1e-9)
        # the limit: never more units than the selected groups cover, never more than without it
        cover = M * max(1, n // G) if n % G == 0 else n
        assert 1.0 <= value <= min(k, cover) + 1e-12
        assert value <= il.compute.moe_distinct_ranks(E, k, n) + 1e-12


def test_group_limit_bounds_and_degenerate_cases():
    d = il.compute.moe_distinct_ranks
    # node-limited DeepSeek-V3: at most 4 of 8 nodes (3.63 expected), against 5.29 without
    assert d(256, 8, 8, 8, 4) == pytest.approx(3.629, abs=5e-4)
    assert d(256, 8, 8) == pytest.approx(5.295, abs=5e-4)
    # selecting every group is no limit; one group is no limit
    assert d(256, 8, 32, 8, 8) == pytest.approx(d(256, 8, 32), rel=1e-12)
    assert d(256, 8, 32, 1, 1) == pytest.approx(d(256, 8, 32), rel=1e-12)
    # one group per unit and one group selected: every token on one unit
    assert d(160, 6, 8, 8, 1) == pytest.approx(1.0, rel=1e-12)
    assert d(64, 6, 1, 8, 3) == 1.0


def test_group_limit_is_below_megatrons_random_logit_router():
    """Megatron-Core's group_limited_topk on the random logits of --moe-router-force-load-
    balancing selects groups uniformly (symmetry) but then spreads the k experts over them more
    evenly than uniform draws (each selected group won on its top k/M scores): the formula's
    uniform assumption is a lower bound of the distinct units, within about 10 % here."""
    rng = np.random.default_rng(1)
    E, k, G, M, T = 256, 8, 8, 4, 20_000
    scores = 1.0 / (1.0 + np.exp(-rng.standard_normal((T, E))))          # sigmoid (DeepSeek-V3)
    gscore = np.sort(scores.reshape(T, G, -1), axis=2)[:, :, -(k // M):].sum(axis=2)
    chosen = np.argsort(-gscore, axis=1)[:, :M]
    mask = np.zeros((T, G), dtype=bool)
    np.put_along_axis(mask, chosen, True, axis=1)
    top = np.argsort(-np.where(np.repeat(mask, E // G, axis=1), scores, -np.inf), axis=1)[:, :k]
    for n in (8, 32):
        units = top // (E // n)
        hit = np.zeros((T, n), dtype=bool)
        np.put_along_axis(hit, units, True, axis=1)
        megatron = float(hit.sum(axis=1).mean())
        formula = il.compute.moe_distinct_ranks(E, k, n, G, M)
        assert formula < megatron < 1.1 * formula


def test_group_limit_rejects_bad_inputs():
    d = il.compute.moe_distinct_ranks
    with pytest.raises(il.ValidationError, match="groups"):
        d(256, 8, 8, 7, 4)                          # 7 does not divide 256
    with pytest.raises(il.ValidationError, match="both"):
        d(256, 8, 8, 8, 0)
    with pytest.raises(il.ValidationError, match="top_k"):
        d(256, 8, 8, 64, 1)                         # one group of 4 experts cannot hold 8
    with pytest.raises(il.ValidationError, match="router_groups"):
        ZAYA.replace(model={"router_groups": 5})    # without router_group_topk, 5 does not divide
    with pytest.raises(il.ValidationError, match="router_group_topk"):
        ZAYA.replace(model={"router_groups": 4, "router_group_topk": 5})


def test_deepseek_presets_carry_their_published_group_limit():
    """DeepSeek-V3's config.json: n_group 8, topk_group 4 (node-limited routing, report §2.1.2);
    the preset carries them, and the count of parameters does not depend on them."""
    v3 = il.models.get("deepseek-v3")
    assert (v3.router_groups, v3.router_group_topk) == (8, 4)
    free = v3.replace(router_groups=0, router_group_topk=0)
    assert free.params_total == v3.params_total


def _deepep(model: dict, ep: int):
    return ZAYA.replace(model={"experts": 256, "top_k": 8, **model},
                        parallelism={"ep": ep, "moe_dispatcher": "deepep"},
                        training={"moe_routing": "balanced"})


def _ep_comm(sc) -> float:
    b = il.estimate(sc).breakdown
    return float(b.filter(b["component"] == "ep_comm")["seconds"][0])


def test_group_limit_lowers_the_deepep_dispatch_and_the_reference_agrees():
    """With the limit the deepep dispatch carries fewer copies (tokens·R·h, R under the limit);
    the all-to-all dispatcher (one copy per routed expert) does not change; the plain-Python
    reference prices the same step on one node and across two."""
    limited = {"router_groups": 8, "router_group_topk": 4}
    for ep in (8, 16):
        free, lim = _deepep({}, ep), _deepep(limited, ep)
        assert 0.0 < _ep_comm(lim) < _ep_comm(free)
        for sc in (lim,):
            assert step_reference(sc)["step_time_s"] == pytest.approx(il.estimate(sc).step_time_s, rel=1e-9)
    r_free = il.compute.moe_distinct_ranks(256, 8, 8)
    r_lim = il.compute.moe_distinct_ranks(256, 8, 8, 8, 4)
    # bandwidth-bound inside one domain: the ratio follows the bytes, within the latency term
    assert _ep_comm(_deepep(limited, 8)) / _ep_comm(_deepep({}, 8)) == pytest.approx(r_lim / r_free, rel=0.1)
    a2a = ZAYA.replace(model={"experts": 256, "top_k": 8}, parallelism={"ep": 8},
                       training={"moe_routing": "balanced"})
    assert _ep_comm(a2a.replace(model=limited)) == pytest.approx(_ep_comm(a2a), rel=1e-12)
    assert math.isfinite(il.estimate(_deepep(limited, 16)).step_time_s)
