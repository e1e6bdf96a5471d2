"""Sequence packing: first-fit bin packing of sample lengths into fixed-length sequences.

:func:`first_fit` places items, in the order given, each into the lowest-numbered open
sequence with room for it, opening a new one when none has; sorting the items by length
(longest first) before the call makes it first-fit-decreasing (FFD), the packing Megatron-
and NeMo-style packers and Krell et al. 2021 use. The kernel finds "the first sequence with
room" with a max-segment tree over the sequences' free space (O(n log n));
:func:`first_fit_reference` is a plain linear scan over the open sequences (O(n · bins)),
written independently; ``tests/test_multimodal.py`` checks that they agree item by item.
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True)
def first_fit(lengths, capacity, bin_of):
    """Pack ``lengths`` (int64, each 1..capacity) into bins of ``capacity``.

    Writes the bin index of item i into ``bin_of[i]`` and returns the number of bins.
    Free space is kept in a max-segment tree over at most len(lengths) bins; a query walks
    down from the root to the leftmost leaf whose free space is >= the item.
    """
    n = lengths.shape[0]
    if n == 0:
        return 0
    size = 1
    while size < n:
        size *= 2
    tree = np.zeros(2 * size, dtype=np.int64)
    # every leaf starts as a not-yet-opened bin with full capacity: the leftmost fitting
    # leaf is then either an open bin with room or the next bin to open
    for i in range(size):
        tree[size + i] = capacity
    for i in range(size - 1, 0, -1):
        a = tree[2 * i]
        b = tree[2 * i + 1]
        tree[i] = a if a > b else b
    opened = 0
    for j in range(n):
        need = lengths[j]
        node = 1
        while node < size:
            if tree[2 * node] >= need:
                node = 2 * node
            else:
                node = 2 * node + 1
        leaf = node - size
        bin_of[j] = leaf
        if leaf + 1 > opened:
            opened = leaf + 1
        tree[node] -= need
        node //= 2
        while node >= 1:
            a = tree[2 * node]
            b = tree[2 * node + 1]
            tree[node] = a if a > b else b
            node //= 2
    return opened


def first_fit_reference(lengths, capacity):
    """Plain-Python first fit: for each item, scan the open sequences from the first and
    take the first with room; otherwise open a new one. Returns (bin of each item, bins)."""
    free: list[int] = []
    out = []
    for need in (int(x) for x in lengths):
        for b, room in enumerate(free):
            if room >= need:
                free[b] = room - need
                out.append(b)
                break
        else:
            free.append(int(capacity) - need)
            out.append(len(free) - 1)
    return out, len(free)
