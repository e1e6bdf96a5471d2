"""A tree all-reduce over two ranks moves what a ring does.

Reduce up the tree, broadcast down it: a rank with a parent and a child sends S up and S down
(2S), which is why a tree costs 2S where a ring over n ranks costs 2(n-1)/n·S. Two ranks have no
such rank: the leaf sends S to the root, the root sends S back, on the two directions of the
link, and the ring's 2(n-1)/n·S is S too. Until 2026-12-07 the cost model charged the tree 2S
at every n, so at two ranks the tree's bandwidth term was twice the ring's (found by a sweep of
il.collective: ring vs tree at 2 ranks).

Compared on the bandwidth term alone (each pair's time less its latency, the host's per-message
overhead set to 0), with NCCL's Simple protocol (no per-channel cap), for two GPUs of one node
and one GPU on each of two nodes; the kernel and its plain reference alike.
"""

from __future__ import annotations

import warnings

import pytest

import infra_lab as il
from infra_lab import collectives as C
from infra_lab._kernels import collectives as K
from infra_lab._kernels import collectives_reference as R


def _params(acc: str, nodes: int):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        hw = il.fabric.hardware_config({"accelerator": acc, "nodes": nodes})
    P = C.collective_time_params(hw).array.copy()
    P[K.P_NETOVH] = 0.0
    return P


def _bandwidth_term(P, algo, n, k, size):
    t = K.collective_cost(K.OP_ALL_REDUCE, algo, K.PROTO_SIMPLE, size, n, k, P)
    return t - K.latency(K.OP_ALL_REDUCE, algo, K.PROTO_SIMPLE, n, k, P, K.P_HWN)


@pytest.mark.parametrize("acc", ["H100-SXM", "B200"])
@pytest.mark.parametrize("nodes, n, k", [(1, 2, 2), (2, 2, 1)])
def test_tree_equals_ring_at_two_ranks(acc, nodes, n, k):
    P = _params(acc, nodes)
    size = 2.0 ** 30
    ring = _bandwidth_term(P, K.ALG_RING, n, k, size)
    tree = _bandwidth_term(P, K.ALG_TREE, n, k, size)
    assert ring > 0 and tree == pytest.approx(ring, rel=1e-9)


@pytest.mark.parametrize("nodes, n, k", [(1, 2, 2), (2, 2, 1), (1, 4, 4), (4, 4, 1), (2, 16, 8)])
def test_tree_volume_reference_agrees(nodes, n, k):
    """The plain reference prices the tree alike, at 2 ranks and above."""
    cp = C.collective_time_params(il.fabric.hardware_config({"accelerator": "H100-SXM", "nodes": nodes}))
    P = cp.array
    p = R.named_vector(cp.named(), P)
    for size in (2.0 ** 20, 2.0 ** 30):
        kern = K.collective_cost(K.OP_ALL_REDUCE, K.ALG_TREE, K.PROTO_SIMPLE, size, n, k, P)
        ref = R.cost_s(p, "all_reduce", "tree", "Simple", size, n, k)
        assert kern == pytest.approx(ref, rel=1e-12)


def test_tree_above_two_ranks_still_carries_2S():
    """Three ranks or more: an interior rank sends S up and S down, twice the ring's share
    at large n (the 2S volume is kept there)."""
    P = _params("H100-SXM", 4)
    size = 2.0 ** 30
    ring = _bandwidth_term(P, K.ALG_RING, 4, 1, size)
    tree = _bandwidth_term(P, K.ALG_TREE, 4, 1, size)
    assert tree == pytest.approx(ring * 2.0 / (2.0 * 3 / 4), rel=1e-9)
