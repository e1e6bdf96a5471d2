"""The like-for-like owned-cost draws (economics.compare._like_for_like_draws) are cached by
bytes, not by count: a count of 256 entries of 10 million draws (80 MB each) held ~20 GB, which
a price slider or a sweep over prices fills. The kept arrays stay under DRAWS_CACHE_BYTES, the
least recently used leave first, and what the cache returns is the function's array to the bit."""

from __future__ import annotations

import pytest

from infra_lab.economics import compare as C

FIXED = ()


def _draws(price, n=20_000):
    return C._like_for_like_draws("MI300X", float(price), n, 7, FIXED, 750.0)


@pytest.fixture
def small_budget(monkeypatch):
    """The cache with a 1 MB budget (a dozen arrays of 20,000 draws) and nothing in it."""
    cache = C._like_for_like_draws
    saved = dict(cache._store), cache.nbytes
    cache.cache_clear()
    monkeypatch.setattr(cache, "budget", 1_000_000)
    yield cache
    cache.cache_clear()
    cache._store.update(saved[0])
    cache.nbytes = saved[1]


def test_many_keys_keep_the_bytes_under_the_budget(small_budget):
    cache = small_budget
    for i in range(300):                          # more keys than the old maxsize=256
        a = _draws(10_000 + i)
        assert cache.nbytes == sum(v.nbytes for v in cache._store.values()) <= cache.budget
    assert a.nbytes * len(cache) == cache.nbytes and 0 < len(cache) <= cache.budget // a.nbytes
    assert len(cache) < 300


def test_the_default_budget_bounds_ten_million_draws():
    """512 MiB: at 10^7 draws (80 MB an array) a handful of arrays, where 256 entries were 20 GB."""
    assert C.DRAWS_CACHE_BYTES == 512 * 2**20
    assert C.DRAWS_CACHE_BYTES // (10_000_000 * 8) == 6
    assert C._like_for_like_draws.budget == C.DRAWS_CACHE_BYTES


def test_hits_are_the_computed_arrays_to_the_bit_and_evict_oldest_first(small_budget):
    cache = small_budget
    first = _draws(20_000)
    assert _draws(20_000) is first                                 # a hit: the same array
    plain = C._like_for_like_draws.__wrapped__("MI300X", 20_000.0, 20_000, 7, FIXED, 750.0)
    assert first.tobytes() == plain.tobytes() and not first.flags.writeable
    # the same key with the defaults spelled out is the same entry
    assert C._like_for_like_draws("MI300X", 20_000.0, 20_000, 7, FIXED, 750.0, (), ()) is first
    k = cache.budget // first.nbytes
    for i in range(1, k):
        _draws(20_000 + i)
    _draws(20_000)                                                 # used again: now the newest
    _draws(30_000)                                                 # one too many: the oldest leaves
    assert _draws(20_000) is first
    assert ("MI300X", 20_001.0, 20_000, 7, FIXED, 750.0, (), ()) not in cache._store


def test_an_array_larger_than_the_budget_is_returned_not_kept(small_budget):
    big = _draws(1.0, n=200_000)                                   # 1.6 MB > 1 MB
    assert big.size == 200_000 and len(small_budget) == 0 and small_budget.nbytes == 0
