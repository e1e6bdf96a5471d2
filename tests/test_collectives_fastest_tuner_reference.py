"""The collective kernels the public calls read directly, besides best_collective (whose
agreement test is in test_collectives.py), against the separately written reference
(infra_lab._kernels.collectives_reference): fastest_collective (il.collective_options' fastest
pair), tuner_time (the library's predicted time per pair), collective_times (best_collective
over a vector of sizes) and lower_bound (the Chan et al. bound il.collective reports). A few
hundred seeded random cases each."""

from __future__ import annotations

import math

import numpy as np
import pytest

from infra_lab import collectives as C
from infra_lab._kernels import collectives as K
from infra_lab._kernels import collectives_reference as R

HARDWARE = [
    {"accelerator": "MI300X", "nodes": 4},
    {"accelerator": "MI300X", "nodes": 4, "pxn": True},
    {"accelerator": "H100", "nodes": 8},
    {"accelerator": "H100", "nodes": 2, "sharp": True},
    {"accelerator": "B200", "nic": "ConnectX-8", "fabric": "fat-tree", "nodes": 4, "oversubscription": 2.0},
    {"accelerator": "MI355X", "nic": "Pollara-400", "nodes": 2, "host_cpu": "Xeon-Platinum-8570"},
    {"accelerator": "GB200", "nic": "ConnectX-7", "nodes": 36, "gpus_per_node": 4},
    {"accelerator": "H100", "fabric": "fat-tree", "nodes": 64, "oversubscription": 3.0},
]


def _cases(seed: int, count: int):
    """(params, named params, op, size [B], n, k): seeded random groups on each hardware."""
    rng = np.random.default_rng(seed)
    params = [C.collective_time_params(h) for h in HARDWARE]
    for _ in range(count):
        i = int(rng.integers(len(HARDWARE)))
        cp = params[i]
        k = int(min(rng.choice([1, 2, 3, 4, 8, 72]), cp.domain))
        gpus = HARDWARE[i]["nodes"] * HARDWARE[i].get("gpus_per_node", 8)
        n = k * int(min(rng.choice([1, 2, 4, 36, 50]), gpus // cp.domain))
        size = float(rng.choice([0.0, 1.0, 4096.0, float(rng.uniform(0.0, 3e10))]))
        yield cp, R.named_vector(cp.named(), cp.array), int(rng.integers(len(R.OPS))), size, n, k


def test_fastest_collective_equals_the_reference():
    for cp, p, op, size, n, k in _cases(1, 300):
        tk, ak, pk = K.fastest_collective(op, size, n, k, cp.array)
        tr, ar, pr = R.fastest_reference(p, R.OPS[op], size, n, k)
        case = (R.OPS[op], size, n, k)
        if math.isinf(tr):
            assert math.isinf(tk), case
            continue
        assert tk == pytest.approx(tr, rel=1e-9, abs=1e-15), case
        if ak >= 0:    # ties between pairs may pick either; the time is what is compared
            assert K.collective_cost(op, ak, pk, size, n, k, cp.array) == pytest.approx(tk, rel=1e-12), case


def test_tuner_time_equals_the_reference():
    rng = np.random.default_rng(2)
    for cp, p, op, size, n, k in _cases(3, 300):
        algo, proto = int(rng.integers(K.N_ALGOS)), int(rng.integers(3))
        tk = K.tuner_time(op, algo, proto, size, n, k, cp.array)
        tr = R.tuner_s(p, R.OPS[op], R.ALGOS[algo], R.PROTOS[proto], size, n, k)
        case = (R.OPS[op], R.ALGOS[algo], R.PROTOS[proto], size, n, k)
        if math.isinf(tr):
            assert math.isinf(tk), case
        else:
            assert tk == pytest.approx(tr, rel=1e-9, abs=1e-15), case


def test_collective_times_equal_the_reference_per_size():
    rng = np.random.default_rng(4)
    for cp, p, op, _size, n, k in _cases(5, 40):
        sizes = np.concatenate([[0.0, 1.0], rng.uniform(0.0, 3e10, 6)])
        got = K.collective_times(op, -1, sizes, n, k, cp.array)
        want = [R.collective_reference(p, R.OPS[op], None, float(s), n, k)[0] for s in sizes]
        np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-15)


def test_lower_bound_equals_the_reference():
    """_kernels.collectives.lower_bound (Chan et al.'s bound that il.collective reports) against
    collectives_reference.lower_bound_reference, stated per op on named parameters."""
    seen = set()
    for cp, p, op, size, n, k in _cases(5, 300):
        got = K.lower_bound(op, size, n, k, cp.array)
        want = R.lower_bound_reference(p, R.OPS[op], size, n, k)
        assert got == pytest.approx(want, rel=1e-12, abs=1e-18), (R.OPS[op], size, n, k)
        seen.add((R.OPS[op], n > k, k > 1, size > 0))
    assert {(o, True, True, True) for o in R.OPS} <= seen and ("all_reduce", False, True, True) in seen
