"""The serving kernel's model vector holds only what the kernel reads.

After the KV cache's split became an input per tp (memory.kv_share_per_gpu), M_KV_HEADS and
M_MLA were still filled by serving_inputs but no kernel function read them, nor M_VOCAB (the
LM head reaches the kernel as a GEMM of the op list); they were removed. This test reads the
kernel module's syntax tree: every M_* index is loaded outside its own definition, the indices
are 0 … N_M − 1, and serving_inputs fills each of them."""

from __future__ import annotations

import ast
import inspect

from infra_lab._kernels import serving as K
from infra_lab.serving import core


def _m_names() -> list[str]:
    return [n for n in dir(K) if n.startswith("M_") and isinstance(getattr(K, n), int)]


def _loads(module) -> set[str]:
    tree = ast.parse(inspect.getsource(module))
    return {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}


def _attribute_stores(module) -> set[str]:
    """K.M_x names that a module assigns into (``M[K.M_x] = ...``)."""
    tree = ast.parse(inspect.getsource(module))
    out = set()
    for n in ast.walk(tree):
        if isinstance(n, ast.Subscript) and isinstance(n.ctx, ast.Store):
            for a in ast.walk(n.slice):
                if isinstance(a, ast.Attribute) and a.attr.startswith("M_"):
                    out.add(a.attr)
    return out


def test_model_vector_indices_are_dense():
    names = _m_names()
    assert sorted(getattr(K, n) for n in names) == list(range(K.N_M))


def test_every_model_vector_index_is_read_by_the_kernel():
    unread = sorted(set(_m_names()) - _loads(K))
    assert not unread, f"model-vector inputs no kernel function reads: {unread}"


def test_serving_inputs_fills_every_index():
    assert _attribute_stores(core) >= set(_m_names())
