"""A newcomer's pass over the README, the notebooks' explorers and the CLI: the defects it found,
each a case that failed before its fix (docs/bad-inputs.md, "A newcomer's pass")."""

from __future__ import annotations

import pytest

import infra_lab as il


def test_compute_explorer_shows_no_stale_chart_beside_a_refused_setting(monkeypatch):
    """A setting the library refuses shows its message, escaped, and no chart: the explorer kept
    zaya1-base's memory chart under the message. (Since session 43 the explorer offers only the
    lengths a model has positions for, so the refusal is provoked here.)"""
    from infra_lab.errors import ValidationError
    from infra_lab.widgets import compute as wc

    box = il.widgets.compute_memory_explorer()
    assert box.chart.chart is not None
    assert box.update() is not None
    real = wc.compute_memory_update

    def refuse(*a, **k):
        raise ValidationError("seq_len = 4096: allowed <= 2,048")

    monkeypatch.setattr(wc, "compute_memory_update", refuse)
    box.controls["zero"].value = 2
    status = box.children[1].value
    assert "ValidationError" in status and "&lt;= 2,048" in status    # said, and escaped
    assert box.chart.chart is None                    # no chart of the previous setting
    monkeypatch.setattr(wc, "compute_memory_update", real)
    box.controls["zero"].value = 1                    # an answer again: its chart comes back
    assert box.chart.chart is not None and "fits:" in box.children[1].value


def test_compute_explorer_offers_only_lengths_a_model_has_positions_for():
    """Whisper's decoder has 448 learned positions, and every length the explorer offered
    (1,024 and up) was refused; gpt3-175b (2,048 positions) was refused at the explorer's
    4,096. The sequence options now follow the model (session 43)."""
    from infra_lab import models
    from infra_lab.widgets.compute import SEQ_OPTIONS, seq_options

    box = il.widgets.compute_memory_explorer()
    box.controls["model"].value = "whisper-large-v3-decoder"
    assert list(box.controls["seq_len"].options) == [448]
    assert "fits:" in box.children[1].value and box.chart.chart is not None
    box.controls["model"].value = "gpt3-175b"         # 448 is not among its options: the longest it has
    assert list(box.controls["seq_len"].options) == [1024, 2048]
    assert box.controls["seq_len"].value == 2048 and "gpt3-175b" in str(box.chart.chart.to_dict()["title"])
    box.controls["seq_len"].value = 1024
    box.controls["model"].value = "llama3-8b"         # rotary positions: every option, the length kept
    assert list(box.controls["seq_len"].options) == list(SEQ_OPTIONS)
    assert box.controls["seq_len"].value == 1024
    for name in models.preset_names():                # the rule is the library's, for every preset
        limit = models.max_positions(models.get(name))
        opts = seq_options(name)
        assert opts and (limit is None or max(opts) == limit)
        assert limit is None or all(s <= limit for s in opts)
    with pytest.raises(il.errors.ValidationError, match="448"):
        il.widgets.compute_memory_explorer("whisper-large-v3-decoder", seq_len=1024)
    box = il.widgets.compute_memory_explorer("llama3-8b", seq_len=3000)   # a length of one's own is offered
    assert 3000 in box.controls["seq_len"].options


def test_compute_explorer_does_not_swallow_a_foreign_error(monkeypatch):
    """Only the package's own errors are a message; a bug elsewhere is not dressed up as one."""
    from infra_lab.widgets import compute as wc

    box = il.widgets.compute_memory_explorer()

    def broken(*a, **k):
        raise ZeroDivisionError("a bug")

    monkeypatch.setattr(wc, "compute_memory_update", broken)
    with pytest.raises(ZeroDivisionError):
        box.controls["zero"].value = 2


def test_validate_summary_states_the_median_the_bounds_are_read_against(capsys):
    """The accuracy bounds are a median and a worst case (docs/validation.md: test median
    |error| <= 10 %, worst <= 25 %); `infra-lab validate`'s summary gave the mean and the worst
    only, so a user could not check the stated target from the command line."""
    import json
    import statistics

    from infra_lab import cli

    assert cli.main(["validate", "reliability", "--format", "json"]) == 0
    obj = json.loads(capsys.readouterr().out)
    assert obj["summary"]
    for row in obj["summary"]:
        errs = [abs(c["error_pct"]) for c in obj["cases"] if row["split"] in ("all", c["split"])]
        assert row["cases"] == len(errs)
        assert row["median_abs_error_pct"] == pytest.approx(statistics.median(errs), abs=0.006)
        assert row["mean_abs_error_pct"] == pytest.approx(statistics.mean(errs), abs=0.006)
    assert cli.main(["validate", "reliability"]) == 0
    assert "median_abs_error_pct" in capsys.readouterr().out


def _ring(nic):
    hw = il.load_scenario("zaya1-ibm-mi300x").replace(hardware={"nic": nic}).hardware
    return il.fabric.step_flows("ring", hw, 2**28), hw


def test_spraying_over_a_nic_no_source_says_sprays_is_flagged():
    """Notebook 03 asks what Pollara's packet spraying buys; data/nics.csv records which NICs a
    source says spray (Pollara 400, ConnectX-8), but the flow simulation sprayed ConnectX-7's
    flows as readily as Pollara's, with no word: a comparison of the NICs' features read the
    same answer for both."""
    import warnings

    from infra_lab.errors import NicFeatureWarning

    fl, hw = _ring("ConnectX-7-NDR")
    with pytest.warns(NicFeatureWarning, match=r"'ConnectX-7-NDR': no source in data/nics.csv claims it sprays") as w1:
        sprayed = il.fabric.simulate_step(fl, hw, "spray")
    with pytest.warns(NicFeatureWarning, match="Pollara-400") as w2:     # the NICs that do are named
        il.fabric.route(fl, hw, "spray")
    with pytest.warns(NicFeatureWarning) as w3:
        il.fabric.monte_carlo(fl, hw, "spray", seeds=2)
    # each names the user's line, whichever public call reached route (not fabric.py's own line)
    assert {r.filename for w in (w1, w2, w3) for r in w} == {__file__}
    assert sprayed.efficiency > 0                                  # still priced (ideal spraying)
    with warnings.catch_warnings():
        warnings.simplefilter("error", NicFeatureWarning)
        il.fabric.simulate_step(fl, hw, "ecmp")                    # its ideal is an even split, no claim
        il.fabric.simulate_step(*_ring("Pollara-400"), "spray")
        il.fabric.simulate_step(*_ring("ConnectX-8"), "spray")
    assert il.fabric.spray_note(hw) and il.fabric.spray_note(_ring("Pollara-400")[1]) is None


def test_network_explorer_says_when_spraying_is_an_assumption():
    import warnings

    from infra_lab.errors import NicFeatureWarning
    from infra_lab.widgets.network import network_update

    with warnings.catch_warnings():
        warnings.simplefilter("error", NicFeatureWarning)         # said in the text, not on stderr
        cx7 = network_update(2**28, 64, "MI300X", "ConnectX-7-NDR", "rail-optimized", "spray")
        pollara = network_update(2**28, 64, "MI300X", "Pollara-400", "rail-optimized", "spray")
        ecmp = network_update(2**28, 64, "MI300X", "ConnectX-7-NDR", "rail-optimized", "ecmp")
    assert "no source in data/nics.csv claims it sprays packets" in cx7["text"]
    assert "claims it sprays" not in pollara["text"] and "claims it sprays" not in ecmp["text"]


@pytest.mark.parametrize("gpus, near", [(9, "8 or 16"), (13, "8 or 16"), (100, "96 or 104")])
def test_network_explorer_speaks_in_its_own_terms_at_a_gpu_count_it_cannot_place(gpus, near):
    """At 9, 13 or 100 GPUs of an 8-GPU part the explorer relayed the library's hint "pass
    per_node=", a keyword the explorer has not got. It now names the GPU counts it can run; the
    library's message to Python callers keeps its hint (session 43)."""
    from infra_lab.widgets.network import network_update

    out = network_update(gpus=gpus, accelerator="H100-SXM")
    assert out["result"] is None and "per_node" not in out["text"]
    assert f"set the GPU count to {near}" in out["text"] and f"gpus = {gpus}" in out["text"]
    with pytest.raises(il.errors.ValidationError, match="pass per_node="):
        il.collective("all_reduce", 2**28, {"accelerator": "H100-SXM", "nodes": 13}, gpus)
