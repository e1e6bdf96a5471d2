"""Random combinations of hostile values across the public surface, and what they found.

Earlier passes (docs/bad-inputs.md) changed one field or keyword at a time. Here a seeded
generator changes one to three things at once in training and serving scenarios (wrong
types, 0, -1, 1e30, NaN, inf, integral and fractional floats, unicode, whitespace and case
variants of catalog names, missing, extra and misplaced keys, explicit models of one layer,
one head, one vocabulary entry or one expert), and the regression cases below keep one
example of each failure it found, each failing before its fix. A case passes when the call
raises the package's own error (``InfraLabError``) or returns finite, non-negative numbers.
"""

from __future__ import annotations

import copy
import json
import math

import pytest

import infra_lab as il
from infra_lab.errors import InfraLabError

SERVE_MOE_ONE_TOKEN = {
    "name": "one-token", "model": {"preset": "mixtral-8x7b"},
    "hardware": {"accelerator": "A100-SXM-80GB", "nodes": 1, "nic": "ConnectX-7-NDR"},
    "serving": {"engine": "trt-llm", "input_tokens": 100, "output_tokens": 1, "concurrency": 1, "dp": 4, "tp": 2},
}


@pytest.mark.parametrize("reference", [False, True])
def test_one_output_token_in_a_static_batch_has_no_tpot(reference):
    """A static batch (trt-llm) of one-token requests has no decode step, so its TPOT is 0;
    the kernel and the reference computed tokens/s per user as 1/TPOT (ZeroDivisionError
    from inside the numba kernel, from il.serve and il.serve_search). TPOT is undefined for
    one output token (serving.tpot_defined): both are None, and the throughput is finite."""
    r = il.serve(SERVE_MOE_ONE_TOKEN, reference=reference)
    assert r.tpot_s is None and r.tokens_per_s_per_user is None
    assert math.isfinite(r.output_tokens_per_s) and r.output_tokens_per_s > 0
    assert math.isfinite(r.ttft_s) and r.ttft_s > 0


def test_serve_search_of_one_output_token():
    d = copy.deepcopy(SERVE_MOE_ONE_TOKEN)
    d["serving"].update(tp=1, dp=8)
    front = il.serve_search(d, top=None, pareto=False)
    assert front.height > 0
    assert front["tpot_s"].null_count() == front.height
    assert front["output_tokens_per_s"].is_finite().all()


TRAIN = {"name": "t", "model": {"preset": "llama3-8b"}, "hardware": {"accelerator": "MI300X", "nodes": 1},
         "training": {"seq_len": 4096, "global_batch": 64, "micro_batch": 2}, "parallelism": {}}


def _with(base, **tables):
    d = copy.deepcopy(base)
    for table, fields in tables.items():
        d[table] = {**d.get(table, {}), **fields}
    return d


@pytest.mark.parametrize(("field", "value", "allowed"), [
    ("top_k", 2, "top_k = 0"), ("expert_ffn_hidden", 1024, "expert_ffn_hidden = 0"),
    ("shared_experts", 1, "shared_experts = 0"), ("dense_layers", 4, "dense_layers = 0"),
    ("moe_every", 2, "moe_every = 1"), ("router", "mlp", "router = 'linear'"),
    ("router_hidden", 256, "router_hidden = 0"),
])
def test_moe_fields_on_a_dense_model_are_refused(field, value, allowed):
    """A dense model (experts = 0) took top_k = 2, an expert width, shared experts, dense
    layers, moe_every or an MLP router and priced the model without them (the same step time
    as without the field), where etp, ep, router_groups and expert_weight_format on a dense
    model were refused. Each names the field, the value and what is allowed."""
    extra = {"shared_expert_ffn_hidden": 1024} if field == "shared_experts" else {}
    d = _with(TRAIN, model={field: value, **extra})
    with pytest.raises(InfraLabError) as e:
        il.Scenario.from_dict(d)
    msg = str(e.value)
    assert f"model.{field} = {value!r}" in msg and "no experts" in msg and allowed in msg


@pytest.mark.parametrize("preset", ["mixtral-8x7b", "zaya1-base", "deepseek-v3", "gpt-oss-20b"])
def test_dense_counterpart_of_a_moe_preset(preset):
    """``experts = 0`` on a MoE preset is its dense counterpart: the preset's MoE-only fields
    (top_k, expert width, shared experts, router, group-limited routing) go with its experts.
    deepseek-v3 was refused for its inherited router groups; mixtral and zaya1 were accepted
    and still are, with the same estimate. A MoE field the table gives is refused."""
    d = _with(TRAIN, model={"preset": preset, "experts": 0, "layers": 4})
    sc = il.Scenario.from_dict(d)
    spec = sc.model_spec
    assert spec.experts == 0 and spec.top_k == 0 and spec.router == "linear"
    assert il.estimate(sc).step_time_s > 0
    with pytest.raises(InfraLabError, match="model.top_k = 2"):
        il.Scenario.from_dict(_with(d, model={"top_k": 2}))


def test_more_loss_chunks_than_tokens_is_refused():
    """training.loss_chunks = 65,536 on a micro-batch of 8,192 tokens was accepted: slices of
    an eighth of a token. A slice holds at least one token."""
    d = _with(TRAIN, training={"loss_chunks": 8193})
    with pytest.raises(InfraLabError, match=r"training.loss_chunks = 8193: more slices than the 8,192 tokens"
                                            r".*allowed 1..8,192"):
        il.Scenario.from_dict(d)
    il.Scenario.from_dict(_with(TRAIN, training={"loss_chunks": 8192}))


def test_loss_logits_never_below_one_token():
    """memory.loss_logits_bytes with more chunks than tokens divided the logits below one
    token's (a search over cp or micro-batches reaches it from a valid scenario): one token's
    logits stay live."""
    one = il.memory.loss_logits_bytes(8, 128256, loss_fusion=True, loss_chunks=8)
    assert il.memory.loss_logits_bytes(8, 128256, loss_fusion=True, loss_chunks=64) == one
    assert one == 128256 * 2.0


SCENARIO_TOML = """name = "t"
[model]
preset = "llama3-8b"
[hardware]
accelerator = "MI300X"
[training]
seq_len = 4096
global_batch = 64
micro_batch = 2
"""


def test_a_json_key_given_twice_is_refused(tmp_path):
    """A JSON scenario with a table given twice (``"training"`` twice) was read as the last
    one alone, silently: the first table's global_batch and micro_batch fell back to their
    defaults. TOML refuses a table declared twice; JSON now too, naming the key."""
    p = tmp_path / "twice.json"
    p.write_text('{"name": "t", "model": {"preset": "llama3-8b"}, "hardware": {"accelerator": "MI300X"}, '
                 '"training": {"seq_len": 4096, "global_batch": 64, "micro_batch": 2}, "training": {"seq_len": 8}}')
    with pytest.raises(InfraLabError, match="twice.json: key 'training' given twice"):
        il.estimate(p)


@pytest.mark.parametrize("suffix", [".toml", ".json"])
def test_a_byte_order_mark_is_not_text(tmp_path, suffix):
    """A UTF-8 file that starts with a byte-order mark (Windows Notepad writes one) was
    refused as 'not valid TOML (Invalid statement (at line 1, column 1))' or invalid JSON;
    the mark is the encoding's, and the file gives the same scenario as without it."""
    plain = il.Scenario.from_toml(SCENARIO_TOML)
    text = SCENARIO_TOML if suffix == ".toml" else json.dumps(plain.to_dict())
    p = tmp_path / f"bom{suffix}"
    p.write_bytes(b"\xef\xbb\xbf" + text.encode())
    assert il.scenario.as_scenario(p) == plain


def test_a_grid_file_with_a_byte_order_mark(tmp_path):
    from infra_lab import cli

    p = tmp_path / "grid.toml"
    p.write_bytes(b"\xef\xbb\xbf" + b'"training.seq_len" = [1024, 2048]\n')
    assert cli._toml(str(p)) == {"training.seq_len": [1024, 2048]}


def test_another_suffix_says_it_is_read_as_toml(tmp_path):
    p = tmp_path / "run.yaml"
    p.write_text("name: t\n")
    with pytest.raises(InfraLabError, match=r"run.yaml: not valid TOML .*a .yaml is read as TOML"):
        il.estimate(p)


# ------------------------------------------------------------------ secondary public functions
# Found by calling the public functions of the property suite's signature fuzz
# (tests/test_properties.py: PUBLIC) with a wider set of values (an empty list, 1e-300, 2.5,
# -0.0, 10**7, ...) and checking the numbers they return, not only the exceptions.


def test_operator_cash_flows_price_draws_with_number_inputs():
    """operator_cash_flows(v, price=[1, 2]) with one value per input raised numpy's 'could not
    broadcast input array from shape (2,) into shape (1,)': the number of draws was taken
    from the inputs only, not from the price / market price / utilization overrides. An
    empty array is refused by name."""
    import numpy as np

    v = il.economics.operator_inputs("MI300X")
    two = il.economics.operator_cash_flows(v, price=[2.0, 3.0])
    one = il.economics.operator_cash_flows(v, price=2.0)
    assert two["annual"].shape[0] == 2 and np.allclose(two["annual"][0], one["annual"][0])
    assert il.economics.operator_cash_flows(v, market_price=[1.0, 2.0, 3.0])["annual"].shape[0] == 3
    with pytest.raises(InfraLabError, match=r"price = \[\]: empty"):
        il.economics.operator_cash_flows(v, price=[])


def test_estimate_band_with_no_factors():
    """estimate_band(sc, factors=[]) raised TypeError ('NoneType' object is not iterable) while
    building its own message about exclude."""
    with pytest.raises(InfraLabError, match=r"factors = \[\]: names no factor to band"):
        il.training.estimate_band(TRAIN, factors=[])


@pytest.mark.parametrize(("kw", "needle"), [
    ({"micro_batch": 1e300}, "micro_batch = 1e+300"), ({"micro_batch": 2**16 + 1}, "micro_batch = 65537"),
    ({"tp": 10**7}, "tp = 10000000"), ({"cp": 1e300}, "cp = 1e+300"),
])
def test_activation_bytes_bounds(kw, needle):
    """memory.activation_bytes_per_layer(micro_batch=1e300) returned inf bytes; the sizes have
    the bounds a scenario has (training.micro_batch <= 2^16, a parallel size <= max_world_gpus)."""
    with pytest.raises(InfraLabError, match=needle.replace("+", r"\+")):
        il.memory.activation_bytes_per_layer("llama3-8b", 4096, **kw)
    assert math.isfinite(il.memory.activation_bytes_per_layer("llama3-8b", 4096, micro_batch=2**16)["dense"])
