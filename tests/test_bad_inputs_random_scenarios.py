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
import random
import warnings

import numpy as np
import polars as pl
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


# ------------------------------------------------------------------ the random combinations
BASES = {
    "dense": TRAIN,
    "moe": {"name": "m", "model": {"preset": "mixtral-8x7b"},
            "hardware": {"accelerator": "H100-SXM", "nodes": 2, "nic": "ConnectX-7-NDR"},
            "training": {"seq_len": 4096, "global_batch": 64, "micro_batch": 1},
            "parallelism": {"tp": 2, "pp": 2, "ep": 4}},
    "tiny": {"name": "x", "model": {"layers": 2, "hidden": 256, "heads": 4, "vocab": 1000, "ffn_hidden": 512,
                                    "experts": 4, "top_k": 2, "expert_ffn_hidden": 256},
             "hardware": {"accelerator": "MI355X", "nodes": 1},
             "training": {"seq_len": 512, "global_batch": 16, "micro_batch": 2}, "parallelism": {"ep": 4}},
    "serve": {"name": "s", "model": {"preset": "llama3-8b"}, "hardware": {"accelerator": "MI300X", "nodes": 1},
              "serving": {"engine": "vllm", "tp": 1, "dp": 8, "input_tokens": 1024, "output_tokens": 256,
                          "concurrency": 64}},
    "serve-moe": {"name": "s", "model": {"preset": "mixtral-8x7b"},
                  "hardware": {"accelerator": "A100-SXM-80GB", "nodes": 1, "nic": "ConnectX-7-NDR"},
                  "serving": {"engine": "trt-llm", "tp": 2, "dp": 4, "input_tokens": 100, "output_tokens": 16,
                              "concurrency": 8}},
}
INT_FIELDS = {
    "hardware": ["nodes", "gpus_per_node", "scaleup_domain", "nics_per_node"],
    "training": ["seq_len", "global_batch", "micro_batch", "loss_chunks", "recompute_num_layers"],
    "parallelism": ["tp", "pp", "vp", "cp", "ep", "zero", "etp"],
    "serving": ["tp", "ep", "pp", "dp", "input_tokens", "output_tokens", "concurrency", "chunk_tokens",
                "mtp_draft_tokens", "num_prompts", "encoder_batch"],
    "model": ["layers", "hidden", "heads", "kv_heads", "vocab", "ffn_hidden", "experts", "top_k",
              "expert_ffn_hidden", "head_dim", "shared_experts", "dense_layers", "moe_every", "mtp_layers",
              "sliding_window", "max_seq_len"],
}
NAME_FIELDS = {
    "hardware": {"accelerator": "MI300X", "nic": "Pollara-400", "fabric": "rails-only"},
    "training": {"precision": "bf16", "recompute": "full", "optimizer": "adamw", "stack": "megatron-core"},
    "parallelism": {"moe_dispatcher": "alltoall"},
    "serving": {"engine": "vllm", "weight_precision": "fp8", "kv_precision": "fp8", "spec_decoding": "mtp"},
    "model": {"preset": "llama3-8b", "attention": "gqa", "ffn_act": "swiglu"},
}
FLAG_FIELDS = {"hardware": ["pxn", "sharp"], "training": ["loss_fusion", "moe_host_sync"],
               "parallelism": ["sequence_parallel", "fsdp", "ep_overlap"], "serving": ["dp_attention", "lockstep"],
               "model": ["bias", "tied_embeddings"]}
INT_VALUES = [0, -1, 1, 2, 3, 7, 8.0, 8.5, 10**7, 2**31, 1e30, float("nan"), float("inf"), "8", True, None, [8],
              {"a": 1}, np.int64(4), np.float64(4.0), 2**24 + 1, 1e-300, 33, 1024]
FLAG_VALUES = [True, False, 0, 1, "true", None, np.bool_(True), [True]]


def _name_variants(v):
    return [v.lower(), v.upper(), f" {v}", f"{v} ", v.replace("-", "_"), v + "\u200b", "\uff2d" + v[1:], v + "\n",
            v[:-1], v + "x", "", " ", None, 3, [v]]


def _mutate(rng, d, serving):
    d = copy.deepcopy(d)
    tables = ["hardware", "model", *(["serving"] if serving else ["training", "parallelism"])]
    t = rng.choice(tables)
    if not isinstance(d.get(t), dict):
        d[t] = {}
    r = rng.random()
    if r < 0.45:
        d[t][rng.choice(INT_FIELDS[t])] = rng.choice(INT_VALUES)
    elif r < 0.65:
        f, cur = rng.choice(sorted(NAME_FIELDS[t].items()))
        d[t][f] = rng.choice(_name_variants(d[t].get(f) if isinstance(d[t].get(f), str) else cur))
    elif r < 0.75:
        d[t][rng.choice(FLAG_FIELDS[t])] = rng.choice(FLAG_VALUES)
    elif r < 0.82 and d[t]:
        del d[t][rng.choice(sorted(d[t]))]
    elif r < 0.87:
        d[t][rng.choice(["nodez", "Tp", "tp ", "model", "sequence_len"])] = 1
    elif r < 0.91:
        d[t] = rng.choice([None, [], "x", 3, {}])
    else:
        moe = {"experts": rng.choice([1, 2, 3]), "top_k": rng.choice([1, 2, 3, 4]),
               "expert_ffn_hidden": rng.choice([1, 64])} if rng.random() < 0.5 else {}
        d["model"] = {"layers": rng.choice([1, 2, 3]), "hidden": rng.choice([1, 2, 8, 64]),
                      "heads": rng.choice([1, 2, 3, 8]), "vocab": rng.choice([1, 2, 50]),
                      "ffn_hidden": rng.choice([1, 4, 256]), **moe}
    return d


def _numbers_ok(result) -> list[str]:
    """The float fields of a result that are NaN, infinite or negative."""
    import dataclasses

    bad = []
    for f in dataclasses.fields(result):
        v = getattr(result, f.name)
        if isinstance(v, float) and (not math.isfinite(v) or v < 0):
            bad.append(f"{f.name} = {v}")
        elif isinstance(v, pl.DataFrame):
            for c in v.columns:
                if v[c].dtype.is_float():
                    s = v[c].drop_nulls()
                    if (~s.is_finite()).any() or (s < 0).any():
                        bad.append(f"{f.name}.{c}")
    return bad


@pytest.mark.filterwarnings("ignore")
@pytest.mark.parametrize("base", sorted(BASES))
@pytest.mark.parametrize("seed", range(4))
def test_random_combinations(base, seed):
    """One to three random changes at once to a training or serving scenario: Scenario.from_dict
    and then il.estimate or il.serve either raise the package's own error, whose message is a
    sentence (not a bare key), or return finite, non-negative numbers. Seeded: the same cases
    every run (30 per base and seed)."""
    rng = random.Random(f"{base}-{seed}")
    serving = base.startswith("serve")
    failures = []
    for _ in range(30):
        d = BASES[base]
        for _ in range(rng.choice([1, 1, 2, 3])):
            d = _mutate(rng, d, serving)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                sc = il.Scenario.from_dict(d)
                r = il.serve(sc) if serving else il.estimate(sc)
        except InfraLabError as e:
            if len(str(e)) < 25 or " " not in str(e):
                failures.append(f"{d}: unclear message {str(e)!r}")
            continue
        except Exception as e:  # noqa: BLE001 - that is what is looked for
            failures.append(f"{d}: {type(e).__name__}: {e}")
            continue
        bad = _numbers_ok(r)
        if bad:
            failures.append(f"{d}: {bad}")
    assert not failures, failures[:3]


@pytest.mark.parametrize("op", ["all_reduce", "reduce_scatter", "all_gather", "broadcast", "all_to_all", "send_recv"])
def test_collective_group_sizes_and_byte_counts(op):
    """Every operation over groups of 1, 2, 3, 7, 9, 127 and 10^7 ranks and 0, 1, 3 and 2^60
    bytes, with the library's choice and with the fastest algorithm: the package's own error
    (a group beyond the cluster, a size beyond its memory) or a finite, non-negative time and
    bandwidths, and a positive time for bytes moved between two or more ranks."""
    hw = {"accelerator": "MI300X", "nodes": 16}
    for gpus in (1, 2, 3, 7, 9, 127, 10**7):
        for size in (0, 1, 3, 2**60):
            for alg in ("auto", "fastest"):
                try:
                    c = il.collective(op, size, hw, gpus, alg)
                except InfraLabError:
                    continue
                for k in ("time_s", "algbw_Bps", "busbw_Bps"):
                    v = getattr(c, k)
                    assert math.isfinite(v) and v >= 0, (op, gpus, size, alg, k, v)
                if size and gpus > 1:
                    assert c.time_s > 0, (op, gpus, size, alg)


def test_serve_search_prefill_fraction_is_never_negative():
    """Short prompts on MoE models (mixtral-8x7b on 8 MI355X with SGLang, 128-token prompts and
    100-token outputs): with DP attention a decode step of ~4,000 requests per rank outlasts a
    prefill forward of 2,048 tokens, and the stretch of the decode step by the other ranks'
    prefill used to be priced as that shorter forward (prefill_time_fraction down to -0.33;
    -2.6 with 2-token prompts), which il.serve refused. A fraction of time is in [0, 1]."""
    d = {"name": "short-prompts", "model": {"preset": "mixtral-8x7b"},
         "hardware": {"accelerator": "MI355X", "nodes": 1},
         "serving": {"engine": "sglang", "input_tokens": 128, "output_tokens": 100, "concurrency": 1, "dp": 8}}
    front = il.serve_search(d, top=None, pareto=False)
    assert front["prefill_time_fraction"].min() >= 0
    assert front["prefill_time_fraction"].max() <= 1
