"""A user's pass over pricing, precisions and factor bands (docs/bad-inputs.md, "A user's pass
over pricing, precisions and bands"): one case per problem it found, each failing before its fix."""

from __future__ import annotations

import warnings

import pytest

import infra_lab as il
from infra_lab.errors import ValidationError


# ------------------------------------------------------------------ run_cost of a plan that does not fit
def _zaya1_on(accelerator: str) -> dict:
    d = il.load_scenario("zaya1-ibm-mi300x").to_dict()
    return {**d, "hardware": {**d["hardware"], "accelerator": accelerator}}


def test_run_cost_warns_when_the_estimates_plan_does_not_fit():
    """economics.run_cost(est, ...) priced ZAYA1's shipped plan moved to H100 (86.3 GB per GPU
    against the 85.5 GB a job can address) without a word, where `infra-lab estimate` notes
    "does not fit"."""
    est = il.estimate(_zaya1_on("H100-SXM"))
    assert not est.fits
    with pytest.warns(UserWarning, match=r"does not fit: this plan needs .* GB per GPU against the 85\.5 GB a job "
                                         r"can address on H100-SXM; priced as if it had enough memory") as rec:
        r = il.economics.run_cost(est, price_usd_per_gpu_hour=2.0, tokens=1e12)
    assert rec[0].filename == __file__               # points at the caller's line
    assert r.gpu_hours == pytest.approx(est.gpu_hours(1e12), rel=1e-12)   # still priced
    fits = il.estimate("zaya1-ibm-mi300x")
    assert fits.fits
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        il.economics.run_cost(fits, price_usd_per_gpu_hour=2.0, tokens=1e12)
        il.economics.run_cost(gpu_hours=1e6, price_usd_per_gpu_hour=2.0)


# ------------------------------------------------------------------ NVFP4 on AMD parts
@pytest.mark.parametrize("accelerator", ["MI355X", "MI350X", "MI300X"])
def test_nvfp4_gemms_are_refused_on_amd_parts(accelerator):
    """il.compute.gemm_model("MI355X", "nvfp4") priced NVIDIA's FP4 format on CDNA 4, whose
    scaled MFMA instructions take the OCP MX formats (E8M0 scales per 32), not NVFP4's E4M3
    scales per 16. The error names the precision, the part and what it runs."""
    with pytest.raises(ValidationError, match=rf"precision = 'nvfp4': {accelerator} \(AMD\) has no NVFP4 .*"
                                              rf"{accelerator} supports .*bf16.*fp8") as ei:
        il.compute.gemm_model(accelerator, "nvfp4")
    with pytest.raises(ValidationError, match="nvfp4"):
        il.compute.gemm_time(8192, 8192, 8192, accelerator, "nvfp4")
    a = il.catalog.accelerator(accelerator)
    assert not a.nvfp4_block_scaling
    assert ("mxfp4" in str(ei.value)) == a.mx_block_scaling     # CDNA 4 runs MXFP4 instead
    if a.mx_block_scaling:
        assert il.compute.gemm_time(8192, 8192, 8192, accelerator, "mxfp4") > 0


def test_nvfp4_runs_on_blackwell_only():
    have = {n for n in il.catalog.accelerator_names() if il.catalog.accelerator(n).nvfp4_block_scaling}
    assert have == {"B200", "B200-750W", "GB200", "B300", "GB300"}
    for name in ("B200", "GB300"):
        assert il.compute.gemm_time(8192, 8192, 8192, name, "nvfp4") > 0
    with pytest.raises(ValidationError, match=r"precision = 'nvfp4': H100-SXM \(NVIDIA\) has no NVFP4"):
        il.compute.gemm_model("H100-SXM", "nvfp4")


# ------------------------------------------------------------------ band factors that do not act on the plan
_Z3 = {"name": "z3", "model": {"preset": "llama3-8b"}, "hardware": {"accelerator": "MI300X", "nodes": 2},
       "training": {"seq_len": 8192, "global_batch": 64, "precision": "bf16"}, "parallelism": {"zero": 3}}


@pytest.mark.parametrize("method", ["corners", "monotone"])
def test_band_marks_factors_that_do_not_act_on_the_plan(method):
    """il.training.estimate_band under ZeRO-3 printed dp_comm_overlap = 0.5 in both the low and
    the high row (the first of equally fast corners), an arbitrary number that read as a range
    end. A factor that does not act is listed in `inactive_factors` and its columns hold the
    stack's value."""
    est = il.estimate(_Z3)
    base, rng = il.stacks.params(est.stack), il.stacks.ranges(est.stack)
    band = il.training.estimate_band(_Z3, method=method)
    inactive = band["inactive_factors"].to_list()
    assert len(set(inactive)) == 1
    names = inactive[0].split(",")
    assert "dp_comm_overlap" in names and "tp_comm_overlap" in names          # ZeRO-3; tp = 1
    assert "framework_time_scale" not in names
    for n in rng:
        ends = {il.estimate(_Z3, params={n: v}).step_time_s for v in rng[n]}
        assert (n in names) == (len(ends) == 1), n
        if n in names:
            assert band[n].to_list() == [base[n]] * 3, n
    lo, hi = band.row(1, named=True), band.row(2, named=True)
    assert {lo["framework_time_scale"], hi["framework_time_scale"]} == set(rng["framework_time_scale"])
    # under ZeRO-1 the data-parallel overlap acts: its ends bound the band
    z1 = {**_Z3, "parallelism": {"zero": 1}}
    b1 = il.training.estimate_band(z1, method=method)
    assert "dp_comm_overlap" not in b1["inactive_factors"][0].split(",")
    assert sorted(b1["dp_comm_overlap"].to_list()[1:]) == sorted(rng["dp_comm_overlap"])
