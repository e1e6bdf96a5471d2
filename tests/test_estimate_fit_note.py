"""An estimate whose plan does not fit in memory says so in its printout, with what it needs
against what the accelerator exposes (session 37's user pass).

Before: ``print(il.estimate(sc))`` of a plan that does not fit showed ``fits  False`` and
nothing else: not the capacity it was compared with (85.5 GB on an H100-SXM, not the labelled
80 GB) nor that the step time is what the plan would give with enough memory, which
``infra-lab estimate`` says in a note."""

from __future__ import annotations

import infra_lab as il


def test_a_plan_that_does_not_fit_prints_its_need_against_the_capacity():
    est = il.estimate(il.load_scenario("zaya1-h100-counterpart"))
    assert not est.fits
    text = str(est)
    notes = [line.strip() for line in text.splitlines() if line.strip().startswith("note:")]
    assert len(notes) == 1, text
    cap = il.catalog.accelerator("H100-SXM").memory_capacity_bytes
    assert f"needs {est.memory_per_gpu_bytes / 1e9:.1f} GB per GPU" in notes[0]
    assert f"the {cap / 1e9:.1f} GB a job can address on H100-SXM" in notes[0]
    assert "il.search" in notes[0]
    # the note sits above the footer, and repr (which errors quote) is unchanged
    assert text.splitlines()[-1].startswith("  (exact values") and "note:" not in repr(est)


def test_a_plan_that_fits_prints_no_note():
    text = str(il.estimate(il.load_scenario("zaya1-ibm-mi300x")))
    assert "note:" not in text and "does not fit" not in text
