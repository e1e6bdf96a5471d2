"""A text model's training.data_mix: the contract lets a text model take {text = 1, packing = ...};
il.estimate ignored it (useful_token_fraction 1 with packing "none", which pads every document to
seq_len) while il.multimodal.estimate of the same scenario counted the padding. Both now read the
packing from the one owner, il.multimodal.packing_stats."""

from __future__ import annotations

import pytest

import infra_lab as il
import infra_lab.multimodal as mm

TEXT = {"model": {"preset": "llama3-8b"}, "hardware": {"accelerator": "MI300X", "nodes": 1},
        "training": {"seq_len": 4096, "global_batch": 8, "micro_batch": 1}, "parallelism": {"tp": 1}}


def _with(packing):
    d = {k: dict(v) for k, v in TEXT.items()}
    if packing is not None:
        d["training"]["data_mix"] = {"text": 1.0, "packing": packing}
    return il.Scenario.from_dict(d)


@pytest.mark.parametrize("packing", ["ffd", "ff", "none"])
def test_a_text_model_s_packing_sets_its_useful_token_fraction(packing):
    sc = _with(packing)
    est = il.estimate(sc)
    waste = mm.packing_stats(None, sc.training.data_mix, 4096).waste
    assert est.useful_token_fraction == pytest.approx(1.0 - waste, rel=1e-15)
    assert est.tokens_per_s * est.useful_token_fraction == pytest.approx(mm.estimate(sc).useful_tokens_per_s,
                                                                         rel=1e-12)
    assert est.to_dict()["useful_token_fraction"] == est.useful_token_fraction
    plain = il.estimate(_with(None))
    assert est.step_time_s == plain.step_time_s            # the step prices every position either way
    assert est.days_to_train(1e12) == pytest.approx(plain.days_to_train(1e12) / (1.0 - waste), rel=1e-12)
    if packing == "none":
        assert est.useful_token_fraction < 0.5              # most positions of an unpacked step are padding


def test_a_text_model_without_a_mix_trains_every_position():
    assert il.estimate(_with(None)).useful_token_fraction == 1.0


def test_a_text_model_still_refuses_other_modalities():
    d = {k: dict(v) for k, v in TEXT.items()}
    d["training"]["data_mix"] = {"text": 0.5, "image": 0.5}
    with pytest.raises(il.ValidationError, match=r"training\.data_mix\.image = 0\.5: the text-only model has no "
                                                 r"vision encoder; allowed 0"):
        il.Scenario.from_dict(d)
