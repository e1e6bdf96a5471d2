"""il.estimate's Estimate carries its accelerator, so that economics.run_cost prices it by name
("owned" / "rented") without ``accelerator=`` repeated; an accelerator= that contradicts the
estimate's is refused naming both."""

from __future__ import annotations

import dataclasses

import pytest

import infra_lab as il
from infra_lab import economics as E
from infra_lab.errors import ValidationError


def test_the_estimate_names_its_accelerator():
    assert il.estimate("zaya1-ibm-mi300x").accelerator == "MI300X"
    sc = il.load_scenario("zaya1-ibm-mi300x").replace(hardware={"accelerator": "mi355x"})
    assert il.estimate(sc).accelerator == "MI355X"            # canonical, not the alias given


@pytest.mark.parametrize("basis", ["owned", "rented"])
def test_run_cost_reads_the_estimates_accelerator(basis):
    est = il.estimate("zaya1-ibm-mi300x")
    implicit = E.run_cost(est, price_usd_per_gpu_hour=basis, tokens=12e12)
    explicit = E.run_cost(est, price_usd_per_gpu_hour=basis, tokens=12e12, accelerator="MI300X")
    alias = E.run_cost(est, price_usd_per_gpu_hour=basis, tokens=12e12, accelerator="mi300x")
    assert implicit == explicit == alias
    from infra_lab.serving import price_for
    assert implicit.price_usd_per_gpu_hour == price_for("MI300X", basis)


def test_a_contradicting_accelerator_is_refused_naming_both():
    est = il.estimate("zaya1-ibm-mi300x")
    with pytest.raises(ValidationError, match=r"'H100'.*'MI300X'"):
        E.run_cost(est, price_usd_per_gpu_hour="owned", tokens=12e12, accelerator="H100")
    with pytest.raises(ValidationError, match=r"'H100'.*'MI300X'"):
        E.run_cost(est, price_usd_per_gpu_hour=2.0, tokens=12e12, accelerator="H100")


def test_an_estimate_without_an_accelerator_still_needs_it():
    bare = dataclasses.replace(il.estimate("zaya1-ibm-mi300x"), accelerator="")
    with pytest.raises(ValidationError, match="accelerator="):
        E.run_cost(bare, price_usd_per_gpu_hour="owned", tokens=12e12)
    assert E.run_cost(bare, price_usd_per_gpu_hour="owned", tokens=12e12, accelerator="MI300X") == \
        E.run_cost(il.estimate("zaya1-ibm-mi300x"), price_usd_per_gpu_hour="owned", tokens=12e12)


def test_a_multimodal_estimates_language_model_estimate_carries_it_too():
    from infra_lab import multimodal as mm
    from infra_lab.multimodal.training import example_scenario
    r = mm.estimate(example_scenario("qwen2.5-vl-7b", nodes=2))
    assert r.estimate.accelerator == "MI300X"
