"""A user's pass weighing AMD against NVIDIA (docs/bad-inputs.md, "A user's pass weighing AMD
against NVIDIA"): one case per problem it found, each failing before its fix."""

from __future__ import annotations

import math

import numpy as np
import pytest

import infra_lab as il
from infra_lab.errors import ValidationError


def _wide_ep(pxn: bool) -> dict:
    """DeepSeek-V3 on two MI355X nodes with DP attention: the MoE all-to-all spans both nodes."""
    hw = {"accelerator": "MI355X", "nodes": 2, "fabric": "rails-only"}
    if pxn:
        hw["pxn"] = True
    return {"name": "wide-ep", "model": {"preset": "deepseek-v3"}, "hardware": hw,
            "serving": {"engine": "sglang", "weight_precision": "fp4", "tp": 1, "dp": 16, "ep": 16,
                        "dp_attention": True, "concurrency": 1024}}


# ------------------------------------------------------------------ serving across rails without PXN
def test_serve_names_the_missing_path_of_a_dp_attention_all_to_all():
    """il.serve of DP attention over two nodes of a rails-only fabric with PXN off (RCCL's
    default) said "serve: output_tokens_per_s = nan ...; the inputs are outside what the model
    covers (check the sizes)": the kernel's all-to-all had no path and every time was NaN, where
    il.serve(reference=True) and il.estimate of such a training plan name the cause."""
    with pytest.raises(ValidationError, match=r"not runnable.*tp·dp = 1·16 = 16 GPUs \(2 scale-up domains "
                                              r"of 8\).*hardware\.pxn = true"):
        il.serve(_wide_ep(pxn=False))
    r = il.serve(_wide_ep(pxn=True))            # the same deployment with PXN runs
    assert math.isfinite(r.output_tokens_per_s) and r.output_tokens_per_s > 0


def test_serve_search_does_not_call_a_configuration_without_a_path_feasible():
    """il.serve_search(pareto=False, top=None) of the same scenario returned the DP-attention
    configurations with NaN throughput and latency marked feasible = True."""
    f = il.serve_search(_wide_ep(pxn=False), top=None, pareto=False, weight_precisions=["fp4"],
                        concurrencies=[64])
    nan = np.isnan(f["output_tokens_per_s"].to_numpy())
    assert nan.any() and f["dp_attention"].to_numpy()[nan].all()
    assert not f["feasible"].to_numpy()[nan].any()
    assert not f["grid_edge"].to_numpy()[nan].any()
    assert f["feasible"].to_numpy()[~nan].any()


# ------------------------------------------------------------------ partly used NVL72 racks in serving
def test_serve_prices_dp_attention_on_partly_used_racks_as_the_reference():
    """32 GB200 trays on 16 of each NVL72's 18 (hardware.domain_gpus = 64), DeepSeek-V3 with DP
    attention over both racks: the kernel placed the all-to-all's ranks 72 to a domain (the
    physical scaleup_domain) where il.collective places them domain_gpus = 64 to a domain, so
    128 ranks did not divide and every time came out NaN ("output_tokens_per_s = nan ... outside
    what the model covers"), while il.serve(reference=True) priced the deployment."""
    sc = {"name": "gb200-64", "model": {"preset": "deepseek-v3"},
          "hardware": {"accelerator": "GB200", "nodes": 32, "gpus_per_node": 4, "fabric": "rails-only",
                       "domain_gpus": 64},
          "serving": {"engine": "sglang", "weight_precision": "fp4", "tp": 1, "dp": 128, "ep": 128,
                      "dp_attention": True, "concurrency": 4096}}
    k, ref = il.serve(sc), il.serve(sc, reference=True)
    assert math.isfinite(k.output_tokens_per_s) and k.output_tokens_per_s > 0
    for name in ("output_tokens_per_s", "ttft_s", "tpot_s", "memory_per_gpu_bytes"):
        assert getattr(k, name) == pytest.approx(getattr(ref, name), rel=1e-9), name
    f = il.serve_search(sc, top=None, pareto=False, weight_precisions=["fp4"], kv_precisions=["bf16"],
                        concurrencies=[4096])
    assert f["feasible"].any() and not np.isnan(f["output_tokens_per_s"].to_numpy()).any()


# ------------------------------------------------------------------ MXFP8 where there are no MX instructions
@pytest.mark.parametrize("accelerator", ["H100-SXM", "H200-SXM", "MI300X", "MI325X"])
def test_mx_block_scaling_is_refused_where_the_part_has_no_block_scaled_instructions(accelerator):
    """training.fp8_scaling = "block" (torchao's MXFP8 recipe) on H100 or MI300X was priced as if it
    ran (Llama 3 8B on 8 MI300X: 5.64 s, between the tensorwise and rowwise recipes), though MX
    block-scaled matrix instructions come only with the FP4 generation (Blackwell, CDNA 4)."""
    d = {"name": "mx", "model": {"preset": "llama3-8b"}, "hardware": {"accelerator": accelerator, "nodes": 1},
         "training": {"seq_len": 8192, "global_batch": 64, "precision": "fp8", "fp8_scaling": "block"}}
    with pytest.raises(ValidationError, match=r"training\.fp8_scaling = 'block': .*no block-scaled \(MX\) matrix "
                                              r"instructions.*allowed: 'tensor', 'row'"):
        il.Scenario.from_dict(d)
    with pytest.raises(ValidationError, match="fp8_scaling"):
        il.search(d, top=1)
    for ok in ("tensor", "row"):                       # the other FP8 recipes run there
        assert il.estimate({**d, "training": {**d["training"], "fp8_scaling": ok}}).step_time_s > 0


@pytest.mark.parametrize("accelerator", ["B200", "MI355X"])
def test_mx_block_scaling_runs_on_blackwell_and_cdna4(accelerator):
    d = {"name": "mx", "model": {"preset": "llama3-8b"}, "hardware": {"accelerator": accelerator, "nodes": 1},
         "training": {"seq_len": 8192, "global_batch": 64, "precision": "fp8", "fp8_scaling": "block"}}
    blk = il.estimate(d)
    ten = il.estimate({**d, "training": {**d["training"], "fp8_scaling": "tensor"}})
    assert blk.step_time_s > ten.step_time_s > 0        # the per-axis block casts cost time


# ------------------------------------------------------------------ the CLI's collective on partly used racks
def test_cli_collective_takes_the_domain_gpus_its_error_asks_for(capsys):
    """`infra-lab collective ... --accelerator GB200 --nodes 32 --gpus-per-node 4` said "set
    hardware.domain_gpus (e.g. 64 when 16 of an NVL72's 18 trays are used)", an option the command
    did not have: a collective on partly used racks needed a [hardware] file."""
    from infra_lab import cli

    args = ["collective", "all_reduce", "1GiB", "--accelerator", "GB200", "--nodes", "32", "--gpus-per-node", "4",
            "--gpus", "128", "--format", "json"]
    assert cli.main(args) == 1
    assert "hardware.domain_gpus" in capsys.readouterr().err
    assert cli.main([*args, "--domain-gpus", "64"]) == 0
    import json

    rec = json.loads(capsys.readouterr().out)[0]
    hw = {"accelerator": "GB200", "nodes": 32, "gpus_per_node": 4, "domain_gpus": 64}
    assert (rec["domains"], rec["per_domain"]) == (2, 64)
    assert rec["time_s"] == il.collective("all_reduce", 2**30, hw, 128).time_s


# ------------------------------------------------------------------ the serving explorer on unpriced parts
@pytest.mark.parametrize("accelerator", ["MI450X", "H800-SXM"])
def test_serving_explorer_serves_a_part_without_a_price(accelerator):
    """serving_update(accelerator="MI450X") (no purchase price, no listed rent) or "H800-SXM" (no
    TDP for an owned cost) returned one row "cannot run: cloud_price: no on-demand list price ...",
    though il.serve runs the deployment: only its cost is unknown."""
    from infra_lab.widgets.serving import serving_update

    df, chart = serving_update(model="llama3.3-70b", accelerator=accelerator, precision="fp8", gpus=8)
    row = df.row(0, named=True)
    sc = {"model": {"preset": "llama3.3-70b"}, "hardware": {"accelerator": accelerator, "nodes": 1},
          "serving": {"weight_precision": "fp8", "tp": 8, "concurrency": 64, "input_tokens": 4096,
                      "output_tokens": 512}}
    assert row["configuration"] == "as configured" and row["fits"]
    assert row["output_tok_s"] == pytest.approx(il.serve(sc).output_tokens_per_s, rel=1e-12)
    assert row["usd_per_M_output"] is None and row["usd_per_gpu_h"] is None
    assert "price_usd_per_gpu_hour" in row["price"] and chart is not None
    priced = serving_update(model="llama3.3-70b", accelerator=accelerator, precision="fp8", gpus=8,
                            price_usd_per_gpu_hour=3.0)[0].row(0, named=True)
    assert priced["usd_per_gpu_h"] == 3.0 and priced["usd_per_M_output"] > 0


def test_mxfp8_gemms_only_on_parts_with_block_scaled_instructions():
    """il.compute priced MXFP8 GEMMs on MI300X and MI325X (865 and 1,033 TFLOP/s max-achievable
    in notebook 02's precision table, which left out only the Hopper parts by name), though CDNA 3,
    like Hopper, has no block-scaled MX matrix instructions. One owner of the rule:
    catalog.Accelerator.mx_block_scaling, read by the compute model and the scenario check."""
    have = {n: il.catalog.accelerator(n).mx_block_scaling for n in il.catalog.accelerator_names()}
    assert {n for n, v in have.items() if v} == {"B200", "B200-750W", "GB200", "B300", "GB300", "MI350X",
                                                 "MI355X", "MI450X"}
    for name in ("MI300X", "MI325X", "H100-SXM", "H200-SXM"):
        with pytest.raises(ValidationError, match=r"precision = 'mxfp8': .* no block-scaled \(MX\) matrix"):
            il.compute.gemm_model(name, "mxfp8")
        assert il.compute.gemm_time(8192, 8192, 8192, name, "fp8") > 0
    for name in ("B200", "MI355X"):
        assert il.compute.gemm_time(8192, 8192, 8192, name, "mxfp8") > 0


# ------------------------------------------------------------------ media on a model without the encoder
def test_serving_media_error_offers_a_preset_with_that_encoder():
    """serving.audio_s_per_request on a text model said "give a multimodal preset (e.g.
    "qwen2.5-vl-7b")", a vision-only preset that refuses audio the same way."""
    d = {"name": "s", "model": {"preset": "llama3-8b"}, "hardware": {"accelerator": "MI300X", "nodes": 1},
         "serving": {"tp": 1, "dp": 8, "audio_s_per_request": 5.0}}
    with pytest.raises(ValidationError, match="no audio encoder") as ei:
        il.Scenario.from_dict(d)
    named = [n for n in il.multimodal.system_names() if f"'{n}'" in str(ei.value)]
    assert named and all(il.multimodal.system(n).audio is not None for n in named)
    assert "qwen2.5-vl-7b" not in str(ei.value)
    for n in named:              # each one it offers takes the request (short: whisper's 448 positions)
        il.Scenario.from_dict({**d, "model": {"preset": n},
                               "serving": {**d["serving"], "input_tokens": 128, "output_tokens": 128}})
