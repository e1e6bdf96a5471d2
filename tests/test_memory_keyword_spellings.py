"""il.memory's serving-side calls name their own keyword when given the [serving] table's word or
a sibling call's (session 37's user pass: "does Maia fit at this concurrency?").

Before: ``inference_memory(..., tokens=8192)``, ``kv_cache_bytes(..., context=8192)`` and
``inference_memory(..., tp=8)`` were refused with the valid list and no "did you mean" (the
request's length is ``context`` in one call and ``tokens`` in its sibling; the split is
``gpus`` where the [serving] table says ``tp``), ``concurrency=`` was offered 'context'."""

from __future__ import annotations

import pytest

import infra_lab as il
from infra_lab.errors import UnknownNameError

CASES = [
    (il.memory.inference_memory, ("llama3-70b", "MI300X"), {"tokens": 8192}, "context"),
    (il.memory.max_inference_batch, ("llama3-70b", "MI300X"), {"tokens": 8192}, "context"),
    (il.memory.kv_cache_bytes, ("llama3-70b",), {"context": 8192}, "tokens"),
    (il.memory.inference_memory, ("llama3-70b", "MI300X", 8192), {"tp": 8}, "gpus"),
    (il.memory.inference_memory, ("llama3-70b", "MI300X", 8192), {"concurrency": 8}, "batch"),
    (il.memory.max_inference_batch, ("llama3-70b", "MI300X", 8192), {"weight_precision": "fp8"}, "precision"),
]


@pytest.mark.parametrize(("fn", "args", "kw", "meant"), CASES)
def test_the_calls_own_spelling_comes_first(fn, args, kw, meant):
    with pytest.raises(UnknownNameError) as e:
        fn(*args, **kw)
    assert f"Did you mean {meant!r}" in str(e.value)
    # and the spelling it names is the one the call takes
    fn(*args, **{meant: next(iter(kw.values()))})
