"""How the GEMM model's inputs reach the numba kernels: by name, through one map
(``GEMM_KERNEL_ARGS`` / ``FUSED_GROUPED_KERNEL_ARGS`` in infra_lab.compute.gemm), and how the
calibration's overrides (infra_lab.compute.validation._gemm_pred) land on the quantity they name.
A kernel parameter added, removed or moved without the map, or an override written to the wrong
input, fails here."""

from __future__ import annotations

import dataclasses
import inspect

import numpy as np
import pytest

from infra_lab import catalog, compute
from infra_lab._kernels import gemm as kg
from infra_lab.compute import _params as P
from infra_lab.compute import validation as V
from infra_lab.compute.gemm import FUSED_GROUPED_KERNEL_ARGS, GEMM_KERNEL_ARGS, GemmModel

# kernel parameters whose GemmModel field has another name; every other one has its field's name
_RENAMED = {"cus": "compute_units", "peak": "peak_flops", "unit_bw": "unit_load_Bps"}


def _params(fn) -> list[str]:
    return list(inspect.signature(getattr(fn, "py_func", fn)).parameters)


@pytest.mark.parametrize("fn,lead", [(kg.gemm_kernel, ["ms", "ns", "ks", "bs"]),
                                     (kg.gemm_reference, ["ms", "ns", "ks", "bs"]),
                                     (kg.grouped_gemm_kernel, ["offsets", "gms", "gns", "gks", "streams"]),
                                     (kg.grouped_gemm_reference, ["offsets", "gms", "gns", "gks", "streams"])])
def test_the_gemm_kernels_take_the_mapped_inputs_in_order(fn, lead):
    p = _params(fn)
    assert p[:len(lead)] == lead
    assert p[len(lead):-2] == [k for k, _ in GEMM_KERNEL_ARGS]
    assert p[-2:] == ["eff_out", "time_out"]


@pytest.mark.parametrize("fn", [kg.fused_grouped_kernel, kg.fused_grouped_reference])
def test_the_fused_grouped_kernels_take_the_mapped_inputs_in_order(fn):
    p = _params(fn)
    assert p[:9] == ["offsets", "gms", "gns", "gks", "ptm", "ptn", "pte", "pcm", "pcn"]
    assert p[9:-2] == [k for k, _ in FUSED_GROUPED_KERNEL_ARGS]
    assert p[-2:] == ["eff_out", "time_out"]


def test_the_map_pairs_each_kernel_parameter_with_its_field_and_leaves_none_out():
    fields = {f.name for f in dataclasses.fields(GemmModel)}
    for k, f in GEMM_KERNEL_ARGS + FUSED_GROUPED_KERNEL_ARGS:
        assert f == _RENAMED.get(k, k) and f in fields, (k, f)
    # every model input reaches the kernels (only the labels stay behind)
    assert fields - {f for _, f in GEMM_KERNEL_ARGS} == {"accelerator", "precision"}
    assert set(FUSED_GROUPED_KERNEL_ARGS) <= set(GEMM_KERNEL_ARGS)


def test_args_and_fused_args_carry_each_field_at_its_parameter():
    g = compute.gemm_model("H100-SXM", "bf16")
    # a distinct value per scalar input, so a value in the wrong place cannot match
    scalars = [f for _, f in GEMM_KERNEL_ARGS if not isinstance(getattr(g, f), np.ndarray)]
    marked = dataclasses.replace(g, **{f: 1000 + i for i, f in enumerate(scalars)})
    for (k, f), v in zip(GEMM_KERNEL_ARGS, marked.args(), strict=True):
        assert v is getattr(marked, f), k
    assert marked.args(out_bytes=7.5)[[k for k, _ in GEMM_KERNEL_ARGS].index("out_bytes")] == 7.5
    for (k, f), v in zip(FUSED_GROUPED_KERNEL_ARGS, marked.fused_args(), strict=True):
        assert v == getattr(marked, f), k


def _row(**kw) -> dict:
    r = {"kind": "gemm", "accelerator": "H100-SXM", "precision": "bf16", "software": None, "pass": None,
         "timing": "kernel", "m": 8192, "n": 8192, "k": 8192, "groups": None}
    r.update(kw)
    return r


def _time(r: dict, **kw) -> float:
    """The row's predicted time [s] (the prediction is FLOP / time, except for a cast)."""
    return 2.0 * r["m"] * r["n"] * r["k"] * (r["groups"] or 1) / V._gemm_pred(r, **kw)


def test_fixed_and_sync_overrides_add_their_time():
    r = _row(m=256, n=1024, k=1024)
    assert _time(r, fixed=30e-6) - _time(r, fixed=10e-6) == pytest.approx(20e-6, rel=1e-9)
    s = _row(m=256, n=1024, k=1024, timing="sync_call")
    assert _time(s, fixed=0.0, sync=50e-6) - _time(s, fixed=0.0, sync=5e-6) == pytest.approx(45e-6, rel=1e-9)


def test_a_fused_torch_grouped_call_pays_the_fixed_time_once_per_kernel_it_launches():
    r = _row(kind="grouped_gemm", accelerator="B200", software="torch._grouped_mm", m=512, n=2048, k=1024,
             groups=8)
    kernels = compute.fused_grouped_schedule("B200", "bf16")["kernels"]
    assert kernels == 2
    assert _time(r, fixed=40e-6) - _time(r, fixed=10e-6) == pytest.approx(kernels * 30e-6, rel=1e-9)


def test_the_ceiling_scale_scales_a_compute_bound_gemm():
    r = _row()
    assert V._gemm_pred(r, fixed=0.0, ceiling_scale=0.5) == pytest.approx(0.5 * V._gemm_pred(r, fixed=0.0),
                                                                          rel=1e-12)


def test_the_tile_cost_override_slows_a_short_k_gemm():
    r = _row(k=512)
    assert V._gemm_pred(r, fixed=0.0, tile_c=4.0) < V._gemm_pred(r, fixed=0.0, tile_c=0.0)
    # and a K-loop cost of 0 is the tile efficiency's own bound (no per-tile overhead)
    big = _row(k=65536)
    assert V._gemm_pred(big, fixed=0.0, tile_c=0.0) >= V._gemm_pred(big, fixed=0.0, tile_c=4.0)


def test_a_cast_is_its_bytes_at_the_overridden_bandwidth_plus_the_fixed_time():
    acc = catalog.accelerator("B200")
    r = _row(kind="cast", accelerator="B200", precision="mxfp8", m=16384, n=5120, k=None)
    byts = r["m"] * r["n"] * (P.value(acc, "activation_bytes") + P.ELEMENT_BYTES["mxfp8"]
                              + P.value(acc, "cast_scale_bytes", "mxfp8"))
    assert V._gemm_pred(r, fixed=3e-6, hbm_eff=0.6) == pytest.approx(byts / (acc.hbm_bw_Bps * 0.6) + 3e-6,
                                                                     rel=1e-14)
