"""Every field of the Scenario schema, fed every class of bad value, one class at a time.

The earlier passes (tests/test_bad_inputs*.py, test_fuzz_inputs.py, test_properties.py) try
hostile values on a chosen list of fields and accept any refusal that names the field. This
sweep is systematic and stricter:

* the fields come from the schema itself (``HardwareConfig.KEYS``, ``TrainingConfig.KEYS``,
  ``ParallelismConfig.KEYS``, ``ServingConfig.KEYS``, every [model] field, the multimodal
  system keys, the encoder fields of ``[model.vision]`` and the keys of ``training.data_mix``),
  and a test fails when a field of the schema has no entry in ``KINDS`` here;
* each field has a kind (a positive integer, a number, a share, a flag, a name from a list, a
  list of names, text, a table), and every class of bad value that the kind excludes is fed:
  a numeric string, a list, a dict, a bool, NaN, ±inf, a negative number, zero where the value
  must be positive, a fraction where an integer is needed, 1e30, an empty string, a misspelt
  name;
* a refusal must be the package's own error (``ValidationError``, a ``ValueError``; or
  ``UnknownNameError``, a ``KeyError``) whose message names the field, repeats the value and
  says what is allowed; a misspelt name must get the nearest valid name ("Did you mean");
* a numpy scalar or a 0-d array holding a valid value (``np.int64(8)``, ``np.float32(1.5)``,
  ``np.bool_(True)``, ``np.array(8)``), and a numpy array for a list-valued field, must be
  accepted and give the same Scenario as the Python value;
* values a kind admits (zero for a count that may be 0, 2.5 for a real number) must be either
  refused that way or give a result whose times, rates and sizes are finite and not negative.

The public calls' keywords are swept the same way in tests/test_bad_values_every_keyword.py.
"""

from __future__ import annotations

import copy
import math

import numpy as np
import pytest
import timebox

import infra_lab as il
from infra_lab import models
from infra_lab.errors import InfraLabError
from infra_lab.multimodal import specs as mm_specs
from infra_lab.multimodal.packing import DataMix
from infra_lab.scenario.hardware_table import HardwareConfig
from infra_lab.scenario.parallelism_table import ParallelismConfig
from infra_lab.scenario.serving_table import ServingConfig
from infra_lab.scenario.training_table import TrainingConfig

pytestmark = pytest.mark.filterwarnings("ignore::infra_lab.errors.ContextLengthWarning",
                                        "ignore::infra_lab.errors.NodeSizeWarning",
                                        "ignore::infra_lab.errors.ScheduleSupportWarning")

NAN, INF = float("nan"), float("inf")

# ------------------------------------------------------------------ base scenarios (one per kind of field)
HW = {"accelerator": "MI300X", "nodes": 1, "nic": "Pollara-400"}
DENSE = {"name": "sweep", "model": {"preset": "llama3-8b"}, "hardware": dict(HW),
         "training": {"seq_len": 4096, "global_batch": 64, "micro_batch": 1}, "parallelism": {"tp": 1}}
MOE = {"name": "sweep-moe", "model": {"preset": "mixtral-8x7b"}, "hardware": {**HW, "nodes": 2},
       "training": {"seq_len": 4096, "global_batch": 64, "micro_batch": 1}, "parallelism": {"tp": 1, "ep": 8}}
SERVE = {"name": "sweep-serve", "model": {"preset": "llama3-8b"}, "hardware": dict(HW),
         "serving": {"tp": 1, "dp": 8, "input_tokens": 1024, "output_tokens": 256, "concurrency": 64}}
MM_SERVE = {"name": "sweep-mm-serve", "model": {"preset": "maia-class"}, "hardware": dict(HW),
            "serving": {"tp": 1, "dp": 8, "input_tokens": 1024, "output_tokens": 128, "concurrency": 64,
                        "images_per_request": 1.0, "image_size": [448, 448], "audio_s_per_request": 5.0,
                        "encoder_batch": 1}}
MM = {"name": "sweep-mm", "model": {"preset": "maia-class"}, "hardware": dict(HW),
      "training": {"seq_len": 4096, "global_batch": 64, "micro_batch": 1, "encoder": "trained",
                   "data_mix": {"text": 0.6, "image": 0.25, "audio": 0.15, "image_size": [448, 448],
                                "packing": "ffd"}},
      "parallelism": {"tp": 1}}
MTP = {"name": "sweep-mtp", "model": {"preset": "deepseek-v3"}, "hardware": dict(HW),
       "serving": {"tp": 8, "ep": 8, "weight_precision": "fp8", "spec_decoding": "mtp", "input_tokens": 1024,
                   "output_tokens": 256, "concurrency": 64}}
MEGATRON = {**DENSE, "training": {**DENSE["training"], "stack": "megatron-core-rocm"}}
TITAN = {**DENSE, "training": {**DENSE["training"], "stack": "torchtitan-rocm"}}


def _with(base: dict, table: str, **kv) -> dict:
    d = copy.deepcopy(base)
    d[table] = {**d.get(table, {}), **kv}
    return d


# ------------------------------------------------------------------ the kind of every field
# kind: "int" (an integer >= 1), "int0" (an integer >= 0), "num" (a finite number > 0),
# "num0" (a finite number >= 0), "frac" (a share in [0, 1]), "bool", "name" (one of a list of
# names; misspelt -> nearest), "names" (a list of such names), "text" (free text), "size" (a
# side [px] or [height, width]), "table" (a dict of its own keys, swept key by key below).
# (table, key) -> (kind, base scenario, a valid value there)
KINDS: dict[tuple[str, str], tuple[str, dict, object]] = {
    ("hardware", "accelerator"): ("name", DENSE, "MI300X"),
    ("hardware", "nodes"): ("int", DENSE, 1),
    ("hardware", "gpus_per_node"): ("int", DENSE, 8),
    ("hardware", "scaleup_domain"): ("int", DENSE, 8),
    ("hardware", "nic"): ("name", DENSE, "Pollara-400"),
    ("hardware", "nics_per_node"): ("int", DENSE, 8),
    ("hardware", "fabric"): ("name", DENSE, "rail-optimized"),
    ("hardware", "oversubscription"): ("num", DENSE, 2.0),
    ("hardware", "host_cpu"): ("name", DENSE, "EPYC-9374F"),
    ("hardware", "pxn"): ("bool", DENSE, True),
    ("hardware", "sharp"): ("bool", DENSE, False),
    ("hardware", "domain_gpus"): ("int", DENSE, 8),

    ("training", "seq_len"): ("int", DENSE, 2048),
    ("training", "global_batch"): ("int", DENSE, 64),
    ("training", "micro_batch"): ("int", DENSE, 2),
    ("training", "precision"): ("name", DENSE, "fp8"),
    ("training", "recompute"): ("name", DENSE, "selective"),
    ("training", "optimizer"): ("name", DENSE, "adamw"),
    ("training", "stack"): ("name", DENSE, "megatron-core-rocm"),
    ("training", "data_mix"): ("table", MM, None),
    ("training", "encoder"): ("name", MM, "frozen"),
    ("training", "moe_routing"): ("name", MOE, "balanced"),
    ("training", "moe_capacity_factor"): ("num", MOE, 1.25),
    ("training", "recompute_modules"): ("names", _with(MEGATRON, "training", recompute="selective"),
                                        ["core_attn", "mlp"]),
    ("training", "loss_fusion"): ("bool", MEGATRON, True),
    ("training", "loss_chunks"): ("int", DENSE, 2),
    ("training", "moe_host_sync"): ("bool", _with(MOE, "training", stack="megatron-core-rocm"), True),
    ("training", "fp8_param_gather"): ("bool", _with(MEGATRON, "training", precision="fp8"), True),
    ("training", "offload_modules"): ("names", MEGATRON, ["core_attn", "attn_proj"]),
    ("training", "eager"): ("bool", TITAN, True),
    ("training", "loss_compiled"): ("bool", TITAN, True),
    ("training", "sac_recompute_attention"): ("bool", _with(TITAN, "training", recompute="selective"), True),
    ("training", "fp8_scaling"): ("name", _with(DENSE, "training", precision="fp8"), "row"),
    ("training", "pp_free_stage_buffers"): ("bool", TITAN, True),
    ("training", "recompute_num_layers"): ("int", _with(MEGATRON, "training", recompute="full"), 4),
    ("training", "gradient_accumulation_fusion"): ("bool", MEGATRON, False),
    ("training", "fsdp_float8_all_gather"): ("bool", _with(_with(TITAN, "training", precision="fp8"),
                                                           "parallelism", fsdp=True), True),

    ("parallelism", "tp"): ("int", DENSE, 2),
    ("parallelism", "pp"): ("int", DENSE, 2),
    ("parallelism", "vp"): ("int", _with(DENSE, "parallelism", pp=2), 2),
    ("parallelism", "cp"): ("int", DENSE, 2),
    ("parallelism", "ep"): ("int", MOE, 8),
    ("parallelism", "zero"): ("int0", DENSE, 1),
    ("parallelism", "sequence_parallel"): ("bool", _with(DENSE, "parallelism", tp=2), True),
    ("parallelism", "fsdp"): ("bool", DENSE, True),
    ("parallelism", "etp"): ("int", _with(MOE, "parallelism", tp=2, ep=4), 2),
    ("parallelism", "moe_dispatcher"): ("name", MOE, "alltoall"),
    ("parallelism", "ep_overlap"): ("bool", _with(MOE, "training", stack="megatron-core-rocm"), True),
    ("parallelism", "tp_async"): ("bool", _with(DENSE, "parallelism", tp=2), True),
    ("parallelism", "dualpipe"): ("bool", _with(MOE, "parallelism", pp=2, ep=8, ep_overlap=True), True),
    ("parallelism", "cp_rotate"): ("name", _with(DENSE, "parallelism", cp=2), "p2p"),
    ("parallelism", "cp_repeat_kv"): ("bool", _with(DENSE, "parallelism", cp=2), True),
    ("parallelism", "fsdp_impl"): ("name", _with(DENSE, "parallelism", fsdp=True), "torch"),
    ("parallelism", "pp_schedule"): ("name", _with(DENSE, "parallelism", pp=2), "1f1b"),

    ("serving", "engine"): ("name", SERVE, "sglang"),
    ("serving", "weight_precision"): ("name", SERVE, "fp8"),
    ("serving", "kv_precision"): ("name", SERVE, "fp8"),
    ("serving", "attention_precision"): ("name", _with(SERVE, "serving", weight_precision="fp8"), "bf16"),
    ("serving", "mtp_precision"): ("name", MTP, "bf16"),
    ("serving", "tp"): ("int", SERVE, 1),
    ("serving", "ep"): ("int", {**SERVE, "model": {"preset": "mixtral-8x7b"},
                                "serving": {**SERVE["serving"], "tp": 8, "dp": 1}}, 8),
    ("serving", "pp"): ("int", SERVE, 1),
    ("serving", "dp"): ("int", SERVE, 8),
    ("serving", "dp_attention"): ("bool", SERVE, False),
    ("serving", "spec_decoding"): ("name", SERVE, "none"),
    ("serving", "mtp_draft_tokens"): ("int", SERVE, 1),
    ("serving", "mtp_acceptance"): ("frac", MTP, 0.5),
    ("serving", "input_tokens"): ("int", SERVE, 2048),
    ("serving", "output_tokens"): ("int", SERVE, 128),
    ("serving", "concurrency"): ("int", SERVE, 32),
    ("serving", "chunk_tokens"): ("int", SERVE, 2048),
    ("serving", "images_per_request"): ("num0", MM_SERVE, 2.0),
    ("serving", "image_size"): ("size", MM_SERVE, 448),
    ("serving", "audio_s_per_request"): ("num0", MM_SERVE, 2.5),
    ("serving", "encoder_batch"): ("int", MM_SERVE, 4),
    ("serving", "num_prompts"): ("int", SERVE, 1000),
    ("serving", "lockstep"): ("bool", SERVE, True),
    ("serving", "batching"): ("name", SERVE, "static"),
    ("serving", "request_rate_rps"): ("num", SERVE, 2.5),
    ("serving", "stack"): ("name", SERVE, "vllm-rocm"),

    ("data_mix", "text"): ("frac", MM, 0.6),
    ("data_mix", "image"): ("frac", MM, 0.25),
    ("data_mix", "audio"): ("frac", MM, 0.15),
    ("data_mix", "image_size"): ("size", MM, [448, 448]),
    ("data_mix", "audio_clip_s"): ("num", MM, 10.0),
    ("data_mix", "packing"): ("name", MM, "ff"),
}

# [model] fields, by the kinds the model table declares; the base is a dense preset
_LM = {"preset": "llama3-8b"}
_NAME_FIELDS = {"ffn_act": "gelu", "norm": "layernorm", "pos_emb": "rope", "attention": "gqa", "arch": "transformer",
                "router": "linear", "published_basis": "all", "expert_weight_format": ""}
_MODEL_GOOD = {"moe_every": 1, "layers": 16, "hidden": 4096, "heads": 32, "kv_heads": 8, "head_dim": 128, "ffn_hidden": 8192,
               "vocab": 32000, "max_seq_len": 8192}


def _model_kinds() -> dict:
    from infra_lab import _model_fields as mf

    out = {}
    for k in mf._INT_FIELDS:
        out[("model", k)] = ("int" if k in mf._POSITIVE else "int0", DENSE, _MODEL_GOOD.get(k, 0))
    for k in mf._OPT_INT_FIELDS:
        out[("model", k)] = ("int", DENSE, 8_000_000_000)
    for k in mf._FLOAT_FIELDS:
        out[("model", k)] = ("num", DENSE, 5.0)
    for k in mf._BOOL_FIELDS:
        out[("model", k)] = ("bool", DENSE, False)
    for k in mf._STR_FIELDS:
        out[("model", k)] = ("name", DENSE, _NAME_FIELDS[k]) if k in _NAME_FIELDS else ("text", DENSE, "x")
    out[("model", "aliases")] = ("texts", DENSE, ["a", "b"])
    out[("model", "shared_attn_insertions")] = ("ints0", {**DENSE, "model": {"preset": "zaya1-base"}}, [0, 6])
    out[("model", "preset")] = ("name", DENSE, "llama3-8b")
    return out


KINDS.update(_model_kinds())

# the multimodal system's keys of a [model] table (base: the maia-class preset)
for _k in mm_specs._SYS_INT:
    KINDS[("model", _k)] = ("int0", MM, 0)
for _k in mm_specs._SYS_BOOL:
    KINDS[("model", _k)] = ("bool", MM, False)
KINDS[("model", "vision")] = ("name", MM, "qwen2.5-vl-vit")
KINDS[("model", "audio")] = ("name", MM, "whisper-large-v3-encoder")
KINDS[("model", "cross_bias")] = ("texts", MM, ["q", "k"])
KINDS[("model", "vision_projector")] = ("name", MM, "mlp2")
KINDS[("model", "audio_projector")] = ("name", MM, "mlp2")
KINDS[("model", "vision_projector_norm")] = ("name", MM, "rmsnorm")
KINDS[("model", "cross_from")] = ("name", MM, "")

# the fields of a [model.vision] encoder table (base: maia-class with its vision encoder's preset)
_ENC_GOOD = {"min_pixels": 3136, "max_pixels": 12845056, "layers": 32, "hidden": 1280, "heads": 16, "ffn_hidden": 3420, "patch_size": 14, "in_channels": 3,
             "image_size": 448, "spatial_merge": 2, "temporal_patch": 2}
for _k in mm_specs._ENC_INT:
    KINDS[("vision", _k)] = ("int0", MM, _ENC_GOOD.get(_k, 0))
for _k in mm_specs._ENC_FLOAT:
    KINDS[("vision", _k)] = ("num0", MM, 1.0)
for _k in mm_specs._ENC_BOOL:
    KINDS[("vision", _k)] = ("bool", MM, False)
for _k in mm_specs._ENC_STR:
    KINDS[("vision", _k)] = ({"modality": ("name", MM, "vision"), "ffn_act": ("name", MM, "gelu"),
                              "norm": ("name", MM, "layernorm")}.get(_k) or ("text", MM, "x"))
for _k in mm_specs._ENC_TUPLE:
    KINDS[("vision", _k)] = ("texts" if _k in ("aliases", "attn_bias") else "ints0", MM, [])
KINDS[("vision", "published_params")] = ("int", MM, 600_000_000)
KINDS[("vision", "preset")] = ("name", MM, "qwen2.5-vl-vit")


def _schema_fields() -> set[tuple[str, str]]:
    out = {("hardware", k) for k in HardwareConfig.KEYS}
    out |= {("training", k) for k in TrainingConfig.KEYS}
    out |= {("parallelism", k) for k in ParallelismConfig.KEYS}
    out |= {("serving", k) for k in ServingConfig.KEYS}
    out |= {("model", k) for k in models.MODEL_FIELDS}
    out |= {("model", k) for k in mm_specs.SYSTEM_KEYS}
    out |= {("vision", k) for k in mm_specs.ENCODER_FIELDS}
    out |= {("data_mix", k) for k in DataMix.KEYS}
    return out


def test_every_schema_field_has_a_kind():
    """A field added to the schema must be added here, so that the sweep reaches it."""
    missing = sorted(_schema_fields() - set(KINDS))
    assert not missing, f"fields of the schema without a kind in this sweep: {missing}"


# ------------------------------------------------------------------ the classes of bad values
def _misspell(good: str) -> str:
    """A one-letter typo of ``good``: its last letter doubled."""
    return good + good[-1]


NUMERIC = ("int", "int0", "num", "num0", "frac")
EMPTY_MEANS_NONE = ("", "linear", "rmsnorm")
"""Names for which "" is a documented value: the preset tables' empty cell (no MXFP4 experts, the
linear router, no projector norm, no cross-attention source)."""


def bad_values(kind: str, good) -> list[tuple[str, object]]:
    """(class, value) pairs that ``kind`` must refuse."""
    out: list[tuple[str, object]] = []
    if kind in NUMERIC:
        out += [("numeric string", str(good)), ("list", [good]), ("dict", {"value": good}), ("bool", True),
                ("NaN", NAN), ("+inf", INF), ("-inf", -INF), ("negative", -1), ("negative float", -0.5),
                ("1e30", 1e30), ("empty string", ""), ("1-d numpy array", np.array([good]))]
        if kind in ("int", "num"):
            out.append(("zero", 0))
        if kind in ("int", "int0"):
            out += [("non-integer", 2.5), ("huge int", 10**30)]
        if kind == "frac":
            out.append(("above 1", 1.5))
    elif kind == "bool":
        out += [("string", "true"), ("number", 1), ("float", 0.0), ("list", [True]), ("dict", {"value": True}),
                ("NaN", NAN), ("empty string", "")]
    elif kind == "name":
        out += [("number", 3), ("bool", True), ("NaN", NAN), ("list", [good]), ("dict", {"value": good})]
        if good:
            out.append(("misspelt", _misspell(good)))
        if good not in EMPTY_MEANS_NONE:
            out.append(("empty string", ""))
    elif kind == "names":
        out += [("a name alone", good[0]), ("number", 3), ("dict", {"value": good[0]}), ("empty list", []),
                ("misspelt", [_misspell(good[0])]), ("list of numbers", [1, 2]), ("nested list", [good])]
    elif kind == "size":
        out += [("numeric string", "448"), ("bool", True), ("NaN", NAN), ("+inf", INF), ("negative", -448),
                ("zero", 0), ("non-integer", 448.5), ("1e30", 1e30), ("dict", {"value": 448}),
                ("three sides", [448, 448, 448]), ("empty list", []), ("list of strings", ["448", "448"])]
    elif kind in ("text", "texts"):
        out += [("number", 3), ("dict", {"value": "x"}), ("NaN", NAN)]
    elif kind == "ints0":
        out += [("number", 3), ("dict", {"value": 0}), ("strings", ["a"]), ("negative", [-1]),
                ("non-integer", [2.5]), ("bool", [True])]
    return out


def numpy_values(kind: str, good) -> list[tuple[str, object]]:
    """(class, numpy value) pairs holding ``good`` that must be accepted as ``good``."""
    if kind in ("int", "int0") and isinstance(good, int):
        out = [("np.int64", np.int64(good)), ("np.float64", np.float64(good)), ("0-d array", np.array(good))]
        return out + ([("np.int32", np.int32(good))] if good < 2**31 else [])
    if kind in ("num", "num0", "frac"):
        return [("np.float64", np.float64(good)), ("np.float32", np.float32(good)), ("0-d array", np.array(good))]
    if kind == "bool":
        return [("np.bool_", np.bool_(good)), ("0-d array", np.array(good))]
    if kind == "name" and good:
        return [("np.str_", np.str_(good))]
    if kind in ("names", "ints0") and good:
        return [("numpy array", np.array(good))]
    if kind == "size" and isinstance(good, list):
        return [("numpy array", np.array(good, dtype=np.int64))]
    return []


# ------------------------------------------------------------------ running one case
def scenario_with(kind_base: dict, table: str, key: str, value) -> dict:
    d = copy.deepcopy(kind_base)
    if table == "data_mix":
        d["training"]["data_mix"] = {**d["training"]["data_mix"], key: value}
    elif table == "vision":
        d["model"] = {**d["model"], "vision": {"preset": "qwen2.5-vl-vit", key: value}}
    elif table == "model" and key == "preset":
        d["model"] = {"preset": value}
    else:
        d.setdefault(table, {})[key] = value
    return d


def run(d: dict):
    """The Scenario and the call its kind prices (il.estimate or il.serve)."""
    sc = il.Scenario.from_dict(d)
    return sc, (il.serve(sc) if sc.kind == "serving" else il.estimate(sc))


RESULT_FIELDS = ("step_time_s", "tokens_per_s", "memory_per_gpu_bytes", "mfu", "output_tokens_per_s",
                 "ttft_s", "tpot_s")
ALLOWED_WORDS = ("allowed", "expected", "must", "valid", "did you mean", "at most", "between", "only", "needs",
                 "supported", "no ", "cannot", "not ", "give ")


def _value_texts(v) -> list[str]:
    if isinstance(v, np.ndarray):
        return [repr(v)[:20], str(v.tolist())[:20], str(v)[:20], repr(v.tolist())[:20]]
    texts = [repr(v)[:20], str(v)[:20]]
    if isinstance(v, list) and v:   # a list's message may name the entry at fault
        texts += [t for x in v for t in _value_texts(x)]
    if isinstance(v, bool):
        texts += [str(v).lower()]
    if isinstance(v, float):
        texts += [f"{v:g}", f"{v:,.0f}"[:20] if math.isfinite(v) else str(v)]
    if isinstance(v, int) and not isinstance(v, bool):
        texts += [f"{v:,}"[:20], f"{float(v):g}"]
    return texts


def message_problems(err: Exception, field: str, value, *, nearest: str | None = None,
                     also: tuple[str, ...] = ()) -> list[str]:
    """What a refusal's message lacks: the field (or one of the names in ``also``, e.g. "preset"
    for a model given by name), the value, what is allowed (and the nearest name)."""
    msg = str(err)
    low = msg.lower()
    out = []
    if not isinstance(err, InfraLabError) or not isinstance(err, (ValueError, TypeError, KeyError)):
        return [f"foreign {type(err).__name__}: {msg[:200]}"]
    if not any(f.lower() in low for f in (field, *also)):
        out.append("does not name the field")
    if not isinstance(value, dict) and not any(t.lower() in low for t in _value_texts(value)):
        out.append("does not repeat the value")
    if not any(w in low for w in ALLOWED_WORDS):
        out.append("does not say what is allowed")
    if nearest is not None and f"'{nearest}'".lower() not in low:
        out.append(f"does not offer the nearest name {nearest!r}")
    return [f"{p}: {msg[:300]}" for p in out]


def result_problems(r) -> list[str]:
    out = []
    for name in RESULT_FIELDS:
        v = getattr(r, name, None)
        if v is None or isinstance(v, bool):
            continue
        if not math.isfinite(v) or v < 0:
            out.append(f"{name} = {v!r}")
    return out


def sweep_field(table: str, key: str) -> list[str]:
    kind, base, good = KINDS[(table, key)]
    problems: list[str] = []
    field = key
    for cls, v in bad_values(kind, good):
        d = scenario_with(base, table, key, v)
        try:
            _, r = run(d)
        except Exception as e:  # noqa: BLE001  (anything but the package's error is a finding)
            near = good if cls == "misspelt" else None
            if isinstance(near, list):
                near = near[0]
            problems += [f"{cls} {v!r:.40}: {p}" for p in message_problems(e, field, v, nearest=near)]
            continue
        problems.append(f"{cls} {v!r:.40}: accepted ({result_problems(r) or 'finite result'})")
    for cls, v in numpy_values(kind, good):
        ref = scenario_with(base, table, key, good)
        d = scenario_with(base, table, key, v)
        try:
            want = il.Scenario.from_dict(ref)
        except InfraLabError as e:
            problems.append(f"the valid value {good!r} is refused here (fix the sweep's base): {e}")
            break
        try:
            got = il.Scenario.from_dict(d)
        except Exception as e:  # noqa: BLE001
            problems.append(f"{cls} {v!r:.40} refused: {type(e).__name__}: {str(e)[:200]}")
            continue
        if isinstance(v, np.float32):   # the float32 nearest to good, as Python reads it
            want = il.Scenario.from_dict(scenario_with(base, table, key, float(v)))
        if got != want:
            problems.append(f"{cls} {v!r:.40}: a different Scenario than {good!r}")
    # values the kind admits: refused by name, or a finite result
    admitted = {"int0": [0], "num0": [0.0], "frac": [0.0, 1.0], "num": [2.5]}.get(kind, [])
    for v in admitted:
        try:
            _, r = run(scenario_with(base, table, key, v))
        except InfraLabError as e:
            problems += [f"admitted {v!r}: {p}" for p in message_problems(e, field, v)]
            continue
        except Exception as e:  # noqa: BLE001
            problems.append(f"admitted {v!r}: foreign {type(e).__name__}: {str(e)[:200]}")
            continue
        problems += [f"admitted {v!r}: {p}" for p in result_problems(r)]
    return problems


def budget(seconds: int = 60):
    """Fail a field whose cases together run longer than ``seconds`` (a hang) instead of waiting."""
    return timebox.budget(seconds)


@pytest.mark.parametrize("table,key", sorted(KINDS), ids=[f"{t}.{k}" for t, k in sorted(KINDS)])
def test_bad_values(table, key):
    with budget():
        problems = sweep_field(table, key)
    assert not problems, f"{table}.{key}:\n" + "\n".join(problems)
