"""Figures the notebooks quote from vendors and operators live in data/published_claims.csv
(value, unit, source URL per row) and the notebooks read them from there, not typed in prose."""

from __future__ import annotations

from pathlib import Path

import pytest

import infra_lab as il
from infra_lab.errors import UnknownNameError

ROOT = Path(__file__).resolve().parent.parent
QUOTED = {  # claim -> (value, unit, the notebook generator that quotes it)
    "pollara-hotchips-speedup": (1.25, "x", "03_interconnect.py"),
    "pollara-job-completion": (8, "%", "03_interconnect.py"),
    "spectrumx-colossus-throughput": (95, "%", "03_interconnect.py"),
    "standard-ethernet-throughput": (60, "%", "03_interconnect.py"),
    "meta-eecmp-qp-allreduce": (40, "%", "03_interconnect.py"),
    "irn-vs-roce-pfc": (83, "%", "03_interconnect.py"),
    "delta-h100-vs-a100-hbm-mtbe": (3.2, "x", "06_reliability.py"),
    "amd-zaya1-cluster-maf": (750, "PFLOP/s", "01_the_deployment.py"),
}


def test_each_quoted_claim_has_a_row_with_unit_and_source():
    t = il.catalog.published_claims()
    for claim, (value, unit, _) in QUOTED.items():
        r = t.filter(t["claim"] == claim).row(0, named=True)
        assert (r["value"], r["unit"]) == (value, unit)
        assert r["source_url"].startswith("https://")
        assert il.catalog.published_claim(claim) == value
    with pytest.raises(UnknownNameError):
        il.catalog.published_claim("no-such-claim")


def test_the_notebooks_read_the_claims_instead_of_typing_them():
    for claim, (_, _, gen) in QUOTED.items():
        src = (ROOT / "tools" / "notebooks" / gen).read_text()
        assert f'"{claim}"' in src, (claim, gen)
    nb03 = (ROOT / "tools" / "notebooks" / "03_interconnect.py").read_text()
    nb06 = (ROOT / "tools" / "notebooks" / "06_reliability.py").read_text()
    for typed in ('"vendor": 1.25', '"vendor": 1.08', '95 / 60', '"vendor": 1.40'):
        assert typed not in nb03
    assert "3.2×" not in nb06
    nb01 = (ROOT / "tools" / "notebooks" / "01_the_deployment.py").read_text()
    assert "750" not in nb01
