"""Small defects, one case per defect, each failing before its fix: serving costs of a deployment
that does not fit said nothing in the Python API (run_cost warns for a training plan; the CLI notes
it; the widget blanks the cost); notebook 04 named the band's inactive factors from its own loop
rather than estimate_band's column; il.estimate said a refused micro-batch count in two wordings."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import pytest

import infra_lab as il
from infra_lab.cli import main as cli_main


def _llama70b_on(accelerator: str) -> dict:
    return {"model": {"preset": "llama3.3-70b"}, "hardware": {"accelerator": accelerator, "nodes": 1, "gpus_per_node": 1},
            "serving": {"engine": "vllm", "input_tokens": 1000, "output_tokens": 200, "concurrency": 1, "tp": 1,
                        "weight_precision": "bf16"}}


# ------------------------------------------------------------------ serving costs of a deployment that does not fit
def test_serving_costs_warn_when_the_deployment_does_not_fit():
    """r.costs(2.0) of Llama 3.3 70B in BF16 on one H100 (141 GB of weights against 85.5 GB)
    returned dollars per million tokens without a word, where run_cost warns for a training plan
    that does not fit. Now the same UserWarning, pointing at the caller's line; still priced."""
    r = il.serve(_llama70b_on("H100-SXM"))
    assert not r.fits
    need = f"{r.memory_per_gpu_bytes / 1e9:.1f}"
    with pytest.warns(UserWarning, match=rf"ServeResult\.costs: does not fit: this deployment needs {need} GB per GPU "
                                         r"against the 85\.5 GB a job can address on H100-SXM; priced as if it had "
                                         r"enough memory \(il\.serve_search lists") as rec:
        c = r.costs(2.0)
    assert len(rec) == 1 and rec[0].filename == __file__        # points at the caller's line
    with pytest.warns(UserWarning, match=r"token_costs: does not fit: this deployment needs") as rec:
        t = il.serving.token_costs(r, 2.0)
    assert len(rec) == 1 and rec[0].filename == __file__
    assert c == t and c["usd_per_million_tokens"] > 0          # the numbers are unchanged
    row = {"gpus": r.gpus, "output_tokens_per_s": r.output_tokens_per_s, "total_tokens_per_s": r.total_tokens_per_s,
           "prefill_time_fraction": r.prefill_time_fraction}
    with pytest.warns(UserWarning, match=r"token_costs: does not fit: this deployment does not fit in memory"):
        assert il.serving.token_costs({**row, "fits": False}, 2.0) == t    # a frame row says fits too
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert il.serving.token_costs(row, 2.0) == t                    # no fits: nothing to say
        assert il.serving.token_costs({**row, "fits": True}, 2.0) == t
        ok = il.serve(_llama70b_on("MI300X"))
        assert ok.fits
        ok.costs(2.0)
        il.serving.token_costs(ok, 2.0)


def test_cli_serve_prices_a_deployment_that_does_not_fit_with_one_note(capsys, tmp_path):
    """`infra-lab serve --price-usd-per-gpu-hour` keeps its own "does not fit" note and gives no
    Python warning text besides it."""
    p = tmp_path / "s.json"
    p.write_text(json.dumps({"name": "x", **_llama70b_on("H100-SXM")}))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        rc = cli_main(["serve", str(p), "--price-usd-per-gpu-hour", "2", "--format", "json"])
    out, err = capsys.readouterr()
    assert rc == 0, err
    row = json.loads(out)[0]
    assert row["fits"] is False and row["usd_per_million_tokens"] > 0
    assert "does not fit: this configuration needs" in err and "UserWarning" not in err


# ------------------------------------------------------------------ notebook 04: which band factors do not act
def test_notebook04_names_the_inactive_band_factors_from_estimate_band():
    """Notebook 04's band paragraph named the factors that leave ZAYA1's step as it is from a loop
    of its own (each range's two ends at the others' nominal values), a second copy of what
    estimate_band's ``inactive_factors`` column computes. The cell now reads that column and says
    so; run here on its own, its text names exactly the band's inactive factors."""
    import re

    import nbformat
    import polars as pl

    nb = nbformat.read(Path(__file__).resolve().parent.parent / "notebooks" / "04_training_zaya1.ipynb", as_version=4)
    cells = [c.source for c in nb.cells if c.cell_type == "code" and "The band's factors that act" in c.source]
    assert len(cells) == 1
    sc = il.load_scenario("zaya1-ibm-mi300x")
    est = il.estimate(sc)
    shown: list[str] = []
    ns = {"il": il, "pl": pl, "sc": sc, "est": est, "MUON_SHARE": "muon_ns_shared_over_dp",
          "STACK": il.stacks.params(est.stack), "display": shown.append, "Markdown": str}
    exec(cells[0], ns)
    text = shown[0]
    idle = il.training.estimate_band(sc)["inactive_factors"][0].split(",")
    assert len(idle) >= 1 and all(idle)          # ZAYA1 (tp = 1, ep = 1) has factors that do not act
    m = re.search(r"the other (\d+) of stack `[^`]+`'s (\d+) stated ranges \(([^:]+): the band's `inactive_factors`",
                  text)
    assert m, text
    assert int(m[1]) == len(idle) and int(m[2]) == len(il.stacks.ranges(est.stack))
    assert m[3].split(", ") == idle
    acting = re.search(r"act on this plan: (.*?); the other", text)[1]
    assert not set(re.findall(r"`(\w+)`", acting)) & set(idle)


# ------------------------------------------------------------------ one micro-batch warning of il.estimate
def _llama8b_pipeline(pp: int, vp: int, global_batch: int) -> il.Scenario:
    # one 8-GPU node, tp 1, micro-batch 1: dp = 8 / pp, m = global_batch / dp
    return il.Scenario.from_dict({
        "name": "mb", "model": "llama3-8b", "hardware": {"accelerator": "H100-SXM", "nodes": 1, "gpus_per_node": 8},
        "training": {"seq_len": 4096, "global_batch": global_batch, "micro_batch": 1, "precision": "bf16"},
        "parallelism": {"tp": 1, "pp": pp, "vp": vp}})


@pytest.mark.parametrize("pp, vp, gb, stack, schedule, m, allowed", [
    (4, 2, 60, "megatron-core-cuda", "interleaved", 30, "a global_batch that is a multiple of 8 (pp x micro_batch x dp)"),
    (4, 2, 60, "torchtitan-cuda", "interleaved", 30, "micro-batches per step that are a multiple of its rounds"),
    (4, 1, 2, "torchtitan-cuda", "1f1b", 1, "a global_batch of at least 8 (pp x micro_batch x dp)"),
])
def test_estimate_says_a_refused_micro_batch_count_in_one_wording(pp, vp, gb, stack, schedule, m, allowed):
    """il.estimate had two micro-batch warnings (interleaved; 1F1B / zero-bubble) that said the
    same thing in two wordings, neither in the words il.search's error uses for the same rule
    ("which the stack's interleaved schedule refuses" / "is not at least pp ..., so the stack does
    not run this plan"). One function now gives it for every schedule, with the rule sentence of
    plan_search.refused_text, what the search says when it leaves such plans out."""
    from infra_lab.errors import ScheduleSupportWarning
    from infra_lab.training.plan_search import refused_text

    with pytest.warns(ScheduleSupportWarning) as rec:
        il.estimate(_llama8b_pipeline(pp, vp, gb), stack=stack)
    said = [str(w.message) for w in rec if "micro-batch" in str(w.message)]
    assert len(said) == 1, said                                  # once, not once per copy
    assert rec[0].filename == __file__
    msg = said[0]
    assert f": {m} micro-batch(es) per step (global_batch {gb} / (micro_batch 1 x dp {8 // pp}))" in msg
    assert refused_text(stack, schedule) in msg                  # the search's sentence, verbatim
    assert f"so the stack does not run this plan; allowed: {allowed}" in msg
    assert msg.endswith("il.search does not offer such a plan")
