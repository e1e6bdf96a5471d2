"""Validation and calibration of the serving model on published serving benchmarks
(``data/measurements/serving_benchmarks.csv``): the benchmark table and its train/test split
(:func:`split_of`), the stack a row ran on (:func:`row_stack`, with
``data/serving/engine_generations.csv`` and ``data/serving/checkpoints.csv``), a row's
Scenario (trtllm-bench's own engine sizing included), predicted vs measured
(:func:`validation`, :func:`published_comparison`, :func:`validation_summary`), and the fit
of the stack factors on the training split (:func:`calibrate`)."""

from __future__ import annotations

import functools
import math
from typing import Any

import polars as pl

from .. import catalog
from .._repr import signed
from ..catalog import Col
from ..errors import ValidationError, unknown
from ..scenario import Scenario
from .core import _WPREC, mtp_acceptance_for_tokens_per_step, parameter, serve

VALIDATION_BOUNDS = {
    "output_tokens_per_s_per_gpu": {"median": 15.0, "worst": 40.0},
    "tpot_s": {"median": 15.0},
    "ttft_s": {"median": 30.0},
}
"""Issue 13's bounds on the test split: median and worst |error| [%]."""

CALIBRATED = ("gemm_time_scale", "memory_time_scale", "step_overhead_s", "request_overhead_s", "seq_overhead_s")
"""Stack factors :func:`calibrate` fits per serving stack on the training split
(``request_overhead_s`` only for stacks with published TTFTs in their rows)."""

_BENCH_SCHEMA = {
    "id": Col("str", required=True), "source_key": Col("str", required=True),
    "model": Col("str", required=True), "dense_or_moe": Col("str", required=True, choices=("dense", "moe")),
    "accelerator": Col("str", required=True), "gpus": Col("int", required=True, positive=True),
    "engine": Col("str", required=True), "tp": Col("int", positive=True), "ep": Col("int", positive=True),
    "dp": Col("int", positive=True), "pp": Col("int", positive=True), "dp_attention": Col("bool"),
    "moe_tp": Col("int", positive=True), "weight_precision": Col("str"), "kv_precision": Col("str"),
    "spec_decoding": Col("str"), "spec_settings": Col("str"), "spec_acceptance": Col("float"),
    "spec_tokens_per_step": Col("float", positive=True),
    "benchmark_mode": Col("str", required=True), "isl_nominal": Col("float"), "osl_nominal": Col("float"),
    "input_tokens": Col("float", positive=True), "output_tokens": Col("float", positive=True),
    "concurrency": Col("float", positive=True), "request_rate_rps": Col("str"),
    "num_prompts": Col("float", positive=True), "engine_max_batch": Col("float", positive=True),
    "output_tokens_per_s": Col("float", positive=True), "output_tokens_per_s_per_gpu": Col("float", positive=True),
    "ttft_s": Col("float", positive=True), "ttft_stat": Col("str"), "tpot_s": Col("float", positive=True),
    "tpot_stat": Col("str"), "e2e_latency_s": Col("float", positive=True), "engine_args": Col("str"),
    "split_layout": Col("str"),
}


@functools.cache
def benchmarks() -> pl.DataFrame:
    """Published serving benchmarks with their full configurations, one row per point
    (``data/measurements/serving_benchmarks.csv``; columns in that folder's README)."""
    return catalog.read_table(catalog.DATA_DIR / "measurements" / "serving_benchmarks.csv", _BENCH_SCHEMA)


def split_of(row: dict) -> str:
    """"train" or "test" for a benchmark row, fixed by its configuration.

    The key is (source, model, accelerator, engine, tp, ep, dp, pp, DP attention, weight
    precision, nominal input and output lengths, benchmark mode): every point of one
    concurrency sweep lands on the same side, so a test configuration is never seen in
    training. A configuration is in the test split when crc32(key) mod 3 = 0 (about a third).
    A row whose layout (tp … DP attention) was corrected after its split was drawn carries the
    layout it was drawn under in ``split_layout`` (:data:`SPLIT_LAYOUT`), which stands in for those
    five fields, so that the correction does not move it between splits.
    """
    import zlib

    if not isinstance(row, dict):
        raise ValidationError(f"row = {row!r:.80}: expected a benchmark row as a dict")
    layout = row.get("split_layout") or "|".join(str(row.get(k)) for k in SPLIT_LAYOUT)
    key = "|".join([*(str(row.get(k)) for k in ("source_key", "model", "accelerator", "engine")), layout,
                    *(str(row.get(k)) for k in ("weight_precision", "isl_nominal", "osl_nominal", "benchmark_mode"))])
    return "test" if zlib.crc32(key.encode()) % 3 == 0 else "train"


SPLIT_LAYOUT = ("tp", "ep", "dp", "pp", "dp_attention")
"""The layout fields of :func:`split_of`'s key, in its order; a row's ``split_layout`` (held
when its layout was corrected after the split was drawn) is their values joined by "|"."""


def _flag(args: str, *names: str) -> float | None:
    """The number after the first of ``names`` in an engine command line (None if absent)."""
    import re

    for n in names:
        m = re.search(rf"{re.escape(n)}[ =]+([0-9.]+(?:e[0-9]+)?)", args or "")
        if m:
            return float(m.group(1))
    return None


_GEN_SCHEMA = {"engine": Col("str", required=True), "first_current_version": Col("str", required=True),
               "first_current_date": Col("str", required=True)}


@functools.cache
def engine_generations() -> pl.DataFrame:
    """First engine version (and publication date, for unversioned measurements) of each
    engine's current software generation (data/serving/engine_generations.csv)."""
    return catalog.read_table(catalog.DATA_DIR / "serving" / "engine_generations.csv", _GEN_SCHEMA)


_CKPT_SCHEMA = {"model_hf": Col("str", required=True), "attention_precision": Col("str"),
                "mtp_precision": Col("str"), "kv_cache_precision": Col("str"),
                "source_url": Col("str", required=True), "note": Col("str")}
_KV_PREC = ("bf16", "fp8")


@functools.cache
def checkpoints() -> pl.DataFrame:
    """Published checkpoints whose attention projections (and MTP layers) keep a precision
    of their own, or that declare a KV-cache precision (data/serving/checkpoints.csv: model_hf,
    attention_precision and mtp_precision (empty: as the main layers), kv_cache_precision (the
    checkpoint's declared KV-cache quantization, ModelOpt's ``kv_cache_quant_algo``; empty: none
    declared), source_url, note), e.g. NVIDIA's NVFP4 DeepSeek-R1 checkpoints (MoE and MLP in
    NVFP4, attention in BF16; blog 1's recipe: MTP layers in BF16), NVIDIA's NVFP4 Llama 3.3
    70B (FP8 KV cache) and NVIDIA's FP8 Llama 3.1 8B (FP8 KV cache, derived from TensorRT-LLM's
    published throughput, which a 16-bit cache could not reach: the row's note)."""
    df = catalog.read_table(catalog.DATA_DIR / "serving" / "checkpoints.csv", _CKPT_SCHEMA)
    for col, allowed in (("attention_precision", _WPREC), ("mtp_precision", _WPREC), ("kv_cache_precision", _KV_PREC)):
        bad = set(df[col].drop_nulls()) - set(allowed)
        if bad:
            raise ValidationError(f"data/serving/checkpoints.csv: {col} {sorted(bad)!r}; allowed: {allowed}")
    return df


def row_kv_precision(row: dict) -> str:
    """The KV-cache precision a benchmark row ran with: the one it publishes; else, on
    TensorRT-LLM, the one its checkpoint declares (``checkpoints()`` kv_cache_precision:
    TensorRT-LLM's ``kv_cache_config.dtype`` defaults to "auto", which takes the checkpoint's
    ``kv_cache_quant_algo``, and trtllm-bench's engine sizing counts it too); else bf16 (the
    engines' default for an unquantized cache). Other engines' "auto" is not read from the
    checkpoint here (not checked in their code)."""
    if row.get("kv_precision") == "fp8":
        return "fp8"
    if row.get("kv_precision") is None and row.get("engine") == "trt-llm":
        ck = checkpoints().filter(pl.col("model_hf") == (row.get("model_hf") or ""))
        if ck.height and ck["kv_cache_precision"][0]:
            return ck["kv_cache_precision"][0]
    return "bf16"


def _version(text: str | None) -> tuple[int, ...] | None:
    import re

    m = re.search(r"(?<![\d.])(\d+)\.(\d+)(?:\.(\d+))?", text or "")
    return tuple(int(x) for x in m.groups() if x is not None) if m else None


def row_stack(row: dict) -> str | None:
    """The serving stack of a benchmark row: the engine's current stack, or its ``-early``
    stack when the engine version (or, unversioned, the publication date) predates the
    current generation of data/serving/engine_generations.csv; an early TensorRT-LLM row run
    with the PyTorch backend (before 0.19 a preview next to the compiled-engine flow) maps to
    ``trt-llm-cuda-early-pytorch``."""
    if not isinstance(row, dict) or not {"engine", "accelerator"} <= set(row):
        raise ValidationError(f"row = {row!r:.80}: expected a benchmark row (a dict with engine, accelerator, ...)")
    gen = {r["engine"]: r for r in engine_generations().iter_rows(named=True)}
    if row["engine"] not in gen:
        return None
    from ..scenario import serving_stack

    base = serving_stack(row["engine"], row["accelerator"])
    g = gen[row["engine"]]
    ver = _version(row.get("engine_version"))
    if ver is not None:
        early = ver < _version(g["first_current_version"])
    else:
        date = row.get("source_date")
        early = bool(date) and str(date) < g["first_current_date"]
    from .. import stacks

    names = stacks.names("serving")
    if early and row["engine"] == "trt-llm":
        text = f"{row.get('engine_version') or ''} {row.get('engine_args') or ''}".lower()
        if "pytorch" in text and f"{base}-early-pytorch" in names:
            return f"{base}-early-pytorch"
    return f"{base}-early" if early and f"{base}-early" in names else base


def trtllm_bench_settings(spec, accelerator: str, tp: int, pp: int, input_tokens: float, output_tokens: float,
                          weight_bytes: float, kv_bytes: float, kv_fraction: float | None = None) -> tuple[int, int]:
    """(max_batch_size, max_num_tokens) that ``trtllm-bench throughput`` sets when the command
    gives neither: TensorRT-LLM's ``tensorrt_llm/bench/build/tuning.py`` (``calc_engine_setting``
    and ``finetune_setting``), written out here.

    KV room = kv_fraction · (device memory × tp·pp − parameters × weight bytes) [GiB] (device memory:
    the driver-reported total, catalog ``memory_capacity_bytes``; kv_fraction None: the tool's
    default, serving parameter ``trtllm_bench_kv_cache_fraction``); requests it holds at the full
    ISL+OSL length (2 · attention layers · max(tp, kv heads) · head size · kv bytes per token);
    raw batch = min(requests, request cap)/pp rounded up on the batch ladder; raw tokens = raw
    batch · (1 + ISL/OSL) capped at the token cap, rounded up on the token ladder. The caps,
    floors and ladders (the tool's constants) are the ``trtllm_bench_*`` rows of
    data/serving/parameters.csv, each citing
    https://github.com/NVIDIA/TensorRT-LLM/blob/04cba882084a25665e7f80f5bda71b35b9790b6f/tensorrt_llm/bench/build/tuning.py
    """
    par = parameter
    if kv_fraction is None:
        kv_fraction = par("trtllm_bench_kv_cache_fraction")
    acc = catalog.accelerator(accelerator)
    gib = 1024.0**3
    per_token = 2 * len(spec.attention_windows()) * max(tp, spec.kv_heads) * spec.head_dim * kv_bytes / gib
    engine = spec.params_total * weight_bytes / gib
    room = (acc.memory_capacity_bytes / gib * tp * pp - engine) * kv_fraction
    requests = room / (per_token * (input_tokens + output_tokens))
    raw_bs = min(requests, par("trtllm_bench_max_requests")) / pp
    raw_tok = min(raw_bs * (1 + input_tokens / output_tokens), par("trtllm_bench_max_tokens"))
    bs = _stepped_ceil(raw_bs, *_ladder("batch"))
    tok = _stepped_ceil(raw_tok, *_ladder("tokens"))
    return int(bs), int(tok)


def _trtllm_bench_kv_fraction(row: dict) -> float | None:
    """The KV fraction trtllm-bench's engine-size heuristic got for a row that publishes none,
    by the row's flow: None (the heuristic's own default, serving parameter
    ``trtllm_bench_kv_cache_fraction``) for the compiled-engine flow, where ``trtllm-bench
    build`` sizes the engine and passes no fraction; ``trtllm_bench_kv_cache_fraction_pytorch``
    for the PyTorch flow (rows naming the PyTorch backend, or from the version the performance
    pages test with it on: engine_generations.csv's first current TensorRT-LLM version), where
    ``trtllm-bench throughput`` passes its ``--kv_cache_free_gpu_mem_fraction``."""
    text = f"{row.get('engine_version') or ''} {row.get('engine_args') or ''}".lower()
    ver = _version(row.get("engine_version"))
    first = engine_generations().filter(pl.col("engine") == "trt-llm")["first_current_version"]
    pytorch = "pytorch" in text or (ver is not None and first.len() > 0 and ver >= _version(first[0]))
    return parameter("trtllm_bench_kv_cache_fraction_pytorch") if pytorch else None


def _ladder(kind: str) -> tuple[float, tuple[tuple[float, float], ...]]:
    """trtllm-bench's rounding of its ``kind`` ("batch" or "tokens") heuristic: the floor and
    the (below, step) rungs, from the ``trtllm_bench_{kind}_*`` serving parameters (the last
    rung's step applies at and above the mid rung's bound)."""
    par = parameter
    pre = f"trtllm_bench_{kind}"
    return par(f"{pre}_floor"), ((par(f"{pre}_below_small"), par(f"{pre}_step_small")),
                                 (par(f"{pre}_below_mid"), par(f"{pre}_step_mid")),
                                 (math.inf, par(f"{pre}_step_large")))


def _stepped_ceil(x: float, floor: float, ladder: tuple[tuple[float, float], ...]) -> int:
    """``x`` rounded up to the step of the first ``(below, step)`` rung with ``x < below``, at
    least ``floor`` (trtllm-bench's rounding of its batch-size and token heuristics)."""
    step = next(st for below, st in ladder if x < below)
    return int(max(floor, step * math.ceil(x / step)))


def _fixed_lengths(row: dict) -> bool:
    """A benchmark whose requests all have the same input and output lengths (its
    ``length_distribution`` says fixed, or names a range ratio of 1)."""
    text = (row.get("length_distribution") or "").lower()
    return text.startswith("fixed") or "= fixed" in text


def _row_scenario(row: dict) -> tuple[Scenario | None, dict[str, float], str]:
    """The serving Scenario of one benchmark row, stack overrides from its published engine
    arguments, and the reason when the row is not modelled (empty string otherwise)."""
    import re

    if row["engine"] not in ("vllm", "sglang", "trt-llm", "atom"):
        return None, {}, f"engine {row['engine']!r} (backend not named)"
    mode = row["benchmark_mode"]
    if mode == "decode_only_disaggregated":
        return None, {}, "decode instance of a disaggregated deployment"
    if not row["weight_precision"]:
        return None, {}, "weight precision not published"
    if not row["input_tokens"] or not row["output_tokens"]:
        return None, {}, "mean input or output length not published"
    spec_name = row["model"]
    from .. import models

    spec = models.get(spec_name)
    wp = row["weight_precision"]
    if wp == "mxfp4":
        wp = "bf16" if spec.expert_weight_format == "mxfp4" else "fp4"
    kv = row_kv_precision(row)
    gpus = int(row["gpus"])
    acc = catalog.accelerator(row["accelerator"])
    gpn = min(gpus, 8)
    nodes = max(1, gpus // gpn)
    hw = {"accelerator": acc.name, "nodes": nodes, "gpus_per_node": gpn}
    if acc.scaleup_domain > 8 and gpus > 8:
        hw["scaleup_domain"] = min(acc.scaleup_domain, gpus)
    dpa = bool(row["dp_attention"])
    tp, dp, pp = int(row["tp"] or gpus), int(row["dp"] or 1), int(row["pp"] or 1)
    ep = int(row["ep"] or 1)
    if row["moe_tp"] and not dpa and spec.experts:
        ep = max(1, tp // int(row["moe_tp"]))
    if row["moe_tp"] and dpa and spec.experts:
        ep = max(1, tp * dp // int(row["moe_tp"]))
    args = row["engine_args"] or ""
    over: dict[str, float] = {}
    mns = _flag(args, "--max-num-seqs", "--max_batch_size", "--max-running-requests")
    if row["engine_max_batch"]:
        mns = float(row["engine_max_batch"])
    if mns:
        over["max_num_seqs"] = mns
    mu = _flag(args, "--gpu-memory-utilization", "--mem-frac", "--mem-fraction-static")
    if mu:
        over["memory_utilization"] = mu
    chunk = _flag(args, "--max-num-batched-tokens", "--max_num_tokens", "--chunked-prefill-size")
    if row["engine"] == "trt-llm" and "trtllm-bench" in args and not mns and spec.attention != "mla":
        # trtllm-bench sizes the engine itself from the dataset's lengths and the KV room
        # bytes per element as trtllm-bench counts them (tuning.py BYTES_PER_ELEM: bf16 2, fp8 1,
        # NVFP4 0.5, scales left out): the number-format table's bare element bytes
        wb = catalog.format_bytes(wp, scales=False)
        frac = _flag(args, "kv_cache_free_gpu_mem_fraction") or _trtllm_bench_kv_fraction(row)
        # trtllm-bench's --tp: with attention DP its tp_size is the attention ranks (tp·dp here);
        # tuning.py sizes max_batch_size from it, and each attention-DP rank schedules up to that many
        bench_tp = tp * dp if dpa else tp
        bs, tok = trtllm_bench_settings(spec, acc.name, bench_tp, int(row["pp"] or 1),
                                        float(row["input_tokens"]), float(row["output_tokens"]), wb,
                                        catalog.format_bytes(kv, scales=False), frac)
        over["max_num_seqs"] = float(bs)
        chunk = chunk or float(tok)
    sv: dict[str, Any] = {
        "engine": row["engine"], "weight_precision": wp, "kv_precision": kv, "tp": tp, "ep": ep, "pp": pp,
        "dp": dp, "dp_attention": dpa, "input_tokens": max(1, round(row["input_tokens"])),
        "output_tokens": max(2, round(row["output_tokens"])),
    }
    if chunk:
        sv["chunk_tokens"] = int(chunk)
    ck = checkpoints().filter(pl.col("model_hf") == (row.get("model_hf") or ""))
    if ck.height and ck["attention_precision"][0] and wp != ck["attention_precision"][0]:
        sv["attention_precision"] = ck["attention_precision"][0]
    if ck.height and ck["mtp_precision"][0] and row["spec_decoding"] == "mtp":
        sv["mtp_precision"] = ck["mtp_precision"][0]
    sv["stack"] = row_stack(row)
    if chunk and dpa and dp > 1 and sv["stack"]:
        from .. import stacks

        if stacks.params(sv["stack"])["dp_attention_chunk_split"] > 0.5:
            # the flag is the engine's budget (SGLang divides --chunked-prefill-size by dp under
            # DP attention); the scenario's chunk_tokens is one rank's
            sv["chunk_tokens"] = int(chunk) // dp
    if row["spec_decoding"] == "mtp":
        m = re.search(r"(\d+)", row["spec_settings"] or "")
        sv["spec_decoding"] = "mtp"
        sv["mtp_draft_tokens"] = int(m.group(1)) if m else 1
        if row["spec_acceptance"] is not None and row["spec_tokens_per_step"] is not None:
            raise ValidationError(f"{row['id']}: spec_acceptance and spec_tokens_per_step both given; give the one "
                                  "the source publishes")
        if row["spec_acceptance"] is not None:
            sv["mtp_acceptance"] = float(row["spec_acceptance"])
        elif row["spec_tokens_per_step"] is not None:   # a published acceptance length: the chained a that gives it
            sv["mtp_acceptance"] = mtp_acceptance_for_tokens_per_step(row["spec_tokens_per_step"],
                                                                      sv["mtp_draft_tokens"])
    n_prompts = int(row["num_prompts"]) if row["num_prompts"] else None
    rate = row["request_rate_rps"]
    if mode == "offline_static_batch":
        sv["batching"] = "static"
        sv["concurrency"] = int(round(row["concurrency"]))
    elif mode == "offline_throughput" or (mode == "online_request_rate" and rate == "inf"):
        # every prompt queued at once: the running batch is the engine's cap or the KV limit;
        # one wave of all N prompts, whose prefills queue behind each other (mean TTFT)
        sv["concurrency"] = int(n_prompts or mns or parameter("unpublished_queued_requests"))
        if n_prompts:
            sv["num_prompts"] = n_prompts
    elif mode == "online_request_rate":
        sv["request_rate_rps"] = float(rate)
        sv["concurrency"] = int(n_prompts or parameter("unpublished_queued_requests"))
    else:  # online_concurrency, offline_concurrency
        sv["concurrency"] = int(round(row["concurrency"]))
        if n_prompts and n_prompts >= sv["concurrency"]:
            sv["num_prompts"] = n_prompts
        if mode == "online_concurrency" and _fixed_lengths(row):
            sv["lockstep"] = True  # identical requests: the closed loop's waves stay together
    try:
        sc = Scenario.from_dict({"name": row["id"], "model": {"preset": spec_name}, "hardware": hw, "serving": sv})
    except ValidationError as e:
        return None, over, f"not expressible: {e}"
    return sc, over, ""


def validation(stack_params: dict[str, dict[str, float]] | None = None) -> pl.DataFrame:
    """Predicted vs published serving benchmarks, one row per benchmark point.

    Parameters
    ----------
    stack_params : {stack: {parameter: value}} overrides of the serving stacks' factors
        (None: data/stacks.csv as calibrated)

    Returns
    -------
    polars.DataFrame
        id, source_key, split ("train" / "test"), model, dense_or_moe, accelerator, engine,
        stack, weight_precision and kv_precision (as the source publishes them: bf16, fp8, fp4,
        mxfp4; null where not published), benchmark_mode, concurrency, then for
        output_tokens_per_s_per_gpu, tpot_s,
        ttft_s and e2e_latency_s: measured, predicted and error_pct (100·(pred/meas − 1);
        null where not published), excluded (the reason a row is not modelled, else null) and
        source_url.
    """
    if stack_params is not None and not isinstance(stack_params, dict):
        raise ValidationError(f"stack_params = {stack_params!r}: expected {{stack: {{parameter: value}}}}")
    from .. import stacks

    checked = {}
    for st, over in (stack_params or {}).items():   # checked once here, not at every benchmark row
        st = stacks.canonical(st, "serving", where="stack_params")
        if not isinstance(over, dict):
            raise ValidationError(f"stack_params[{st!r}] = {over!r:.60}: expected a dict of parameter -> value")
        checked[st] = over
    stack_params = checked if stack_params is not None else None
    rows = []
    for r in benchmarks().iter_rows(named=True):
        sc, over, why = _row_scenario(r)
        out = {"id": r["id"], "source_key": r["source_key"], "split": split_of(r), "model": r["model"],
               "dense_or_moe": r["dense_or_moe"], "accelerator": r["accelerator"], "engine": r["engine"],
               "stack": sc.stack if sc is not None else None, "weight_precision": r["weight_precision"],
               "kv_precision": r["kv_precision"], "benchmark_mode": r["benchmark_mode"],
               "concurrency": r["concurrency"], "excluded": why or None, "source_url": r["source_url"]}
        pred = None
        if sc is not None:
            p = dict(over)
            p.update((stack_params or {}).get(sc.stack, {}))
            pred = serve(sc, stack_params=p)
        for metric in ("output_tokens_per_s_per_gpu", "tpot_s", "ttft_s", "e2e_latency_s"):
            meas = r.get(metric)
            if metric in ("tpot_s", "ttft_s") and r.get(metric.replace("_s", "_stat")) not in ("mean", "median"):
                meas = None
            pv = getattr(pred, metric) if pred is not None else None
            out[f"{metric}_measured"] = meas
            out[f"{metric}_predicted"] = pv
            out[f"{metric}_error_pct"] = 100.0 * (pv / meas - 1.0) if (meas and pv is not None) else None
        rows.append(out)
    return pl.DataFrame(rows, infer_schema_length=None)


_METRIC_UNITS = {"output_tokens_per_s_per_gpu": "tokens/s/GPU", "tpot_s": "s", "ttft_s": "s", "e2e_latency_s": "s"}


def published_comparison(stack_params: dict[str, dict[str, float]] | None = None) -> pl.DataFrame:
    """:func:`validation` in the long form every ``infra-lab validate`` suite shares: one row
    per published benchmark point and metric that the model predicts.

    Parameters
    ----------
    stack_params : as :func:`validation`

    Returns
    -------
    polars.DataFrame
        case (the benchmark row's id), split ("train": the stack factors were fitted on it;
        "test": not used in the fit), metric (output_tokens_per_s_per_gpu, tpot_s, ttft_s,
        e2e_latency_s), unit, measured, predicted, error_pct (100·(predicted/measured − 1)),
        source_url, and accelerator, engine, stack, dense_or_moe, weight_precision for grouping. Rows the model
        does not cover (``validation()``'s ``excluded``) and metrics a source does not publish
        are left out.
    """
    v = validation(stack_params).filter(pl.col("excluded").is_null())
    frames = []
    for metric, unit in _METRIC_UNITS.items():
        frames.append(v.filter(pl.col(f"{metric}_error_pct").is_not_null()).select(
            pl.col("id").alias("case"), "split", pl.lit(metric).alias("metric"), pl.lit(unit).alias("unit"),
            pl.col(f"{metric}_measured").cast(pl.Float64).alias("measured"),
            pl.col(f"{metric}_predicted").cast(pl.Float64).alias("predicted"),
            pl.col(f"{metric}_error_pct").cast(pl.Float64).alias("error_pct"),
            "source_url", "accelerator", "engine", "stack", "dense_or_moe", "weight_precision"))
    return pl.concat(frames).sort("split", "metric", "case")


def validation_summary(df: pl.DataFrame | None = None, by: tuple[str, ...] = ("split",)) -> pl.DataFrame:
    """Median and worst |error| [%] and case counts per metric, grouped by ``by`` columns
    of :func:`validation` (e.g. ("split", "accelerator", "weight_precision") for the errors per
    accelerator and precision, or ("split", "accelerator", "engine", "dense_or_moe"))."""
    if df is not None and not isinstance(df, pl.DataFrame):
        raise ValidationError(f"df = {df!r}: expected the polars DataFrame of il.serving.validation() (or None)")
    if isinstance(by, str) or not isinstance(by, (tuple, list)) or not by:
        raise ValidationError(f"by = {by!r}: expected a tuple of column names, e.g. ('split', 'accelerator')")
    df = validation() if df is None else df
    for col in by:
        if not isinstance(col, str) or col not in df.columns:
            raise unknown("validation column", col, [c for c in df.columns if not c.endswith(("_measured",
                          "_predicted", "_error_pct"))], where="by")
    if len(set(by)) != len(by):
        raise ValidationError(f"by = {by!r}: a column is named twice")
    frames = []
    for metric in ("output_tokens_per_s_per_gpu", "tpot_s", "ttft_s", "e2e_latency_s"):
        col = f"{metric}_error_pct"
        if col not in df.columns:
            continue
        sub = df.filter(pl.col(col).is_not_null())
        if sub.height == 0:
            continue
        frames.append(sub.group_by(list(by)).agg(
            pl.lit(metric).alias("metric"), pl.len().alias("cases"),
            pl.col(col).abs().median().alias("median_abs_error_pct"),
            pl.col(col).abs().max().alias("worst_abs_error_pct"),
            pl.col(col).median().alias("median_error_pct")))
    if not frames:
        raise ValidationError("df: no <metric>_error_pct column with values (expected il.serving.validation())")
    return pl.concat(frames).sort([*by, "metric"])


_METRIC_WEIGHTS = {"output_tokens_per_s_per_gpu": 1.0, "tpot_s": 1.0, "ttft_s": 0.5, "e2e_latency_s": 0.5}
_BOUNDS = {"gemm_time_scale": (0.3, 5.0), "memory_time_scale": (0.3, 5.0), "step_overhead_s": (0.0, 0.2),
           "request_overhead_s": (0.0, 0.2), "layer_overhead_s": (0.0, 5e-4), "seq_overhead_s": (0.0, 5e-4)}
_FIT_START = {"gemm_time_scale": 1.0, "memory_time_scale": 1.0, "step_overhead_s": 0.002, "request_overhead_s": 0.0,
              "seq_overhead_s": 0.0}  # calibrate's second start: the compute model as is, 2 ms per step


def _train_cases(split: str = "train"):
    """(stack, scenario, overrides, measured metrics) of the modelled rows of one split."""
    out = []
    for r in benchmarks().iter_rows(named=True):
        if split != "all" and split_of(r) != split:
            continue
        sc, over, why = _row_scenario(r)
        if sc is None:
            continue
        meas = {}
        for metric in _METRIC_WEIGHTS:
            v = r.get(metric)
            if metric in ("tpot_s", "ttft_s") and r.get(metric.replace("_s", "_stat")) not in ("mean", "median"):
                v = None
            if metric == "e2e_latency_s" and r["benchmark_mode"] != "offline_static_batch":
                v = None  # continuous-batching e2e follows from TTFT and TPOT
            if v:
                meas[metric] = float(v)
        out.append((sc.stack, sc, over, meas))
    return out


_START_STEP, _MIN_STEP = 0.7, 0.02
""":func:`calibrate`'s compass search in log space: its first step, halved while above the minimum."""


def _final_step() -> float:
    """The last step that search takes (0.7 / 32): where it stops, no single factor moved by
    this step lowers the loss."""
    step = _START_STEP
    while step / 2.0 > _MIN_STEP:
        step /= 2.0
    return step


_FINAL_STEP = _final_step()


def _to_x(name: str, v: float) -> float:
    """A factor's coordinate in :func:`calibrate`'s log search space (times shifted by 10 µs so
    that 0 s is reachable)."""
    return math.log(v + (1e-5 if name.endswith("_s") else 0.0))


def _from_x(name: str, x: float, bounds: dict[str, tuple[float, float]]) -> float:
    lo, hi = bounds[name]
    v = math.exp(x) - (1e-5 if name.endswith("_s") else 0.0)
    return min(max(v, lo), hi)


def _stack_problem(st: str, mine: list, all_parameters: tuple[str, ...]):
    """One stack's fit as :func:`calibrate` poses it: (parameters fitted, loss(values), bounds)."""
    from .. import compute

    # the fixed TTFT overhead is fitted only where TTFTs were measured
    parameters = tuple(n for n in all_parameters
                       if n != "request_overhead_s" or any("ttft_s" in c[3] for c in mine))

    def loss(values: dict[str, float]) -> float:
        tot, wsum = 0.0, 0.0
        for _st, sc, over, meas in mine:
            p = {**over, **values}
            r = serve(sc, stack_params=p)
            for metric, m in meas.items():
                w = _METRIC_WEIGHTS[metric]
                tot += w * abs(math.log(getattr(r, metric) / m))
                wsum += w
        return tot / wsum

    # the kernel floors memory_time_scale at each part's hbm_efficiency (no read beats HBM
    # peak); below the lowest hbm_efficiency of this stack's accelerators the loss is flat,
    # so the fit is bounded there and the stored value is never an unphysical number
    bounds = dict(_BOUNDS)
    bounds["memory_time_scale"] = (max(_BOUNDS["memory_time_scale"][0], min(
        compute.hbm_efficiency(sc.hardware.accelerator) for _s, sc, _o, _m in mine)),
        _BOUNDS["memory_time_scale"][1])
    return parameters, loss, bounds


def calibrate(parameters: tuple[str, ...] = CALIBRATED, split: str = "train",
              stacks: list[str] | None = None) -> pl.DataFrame:
    """Fit serving-stack factors to the published benchmarks of one split.

    Parameters
    ----------
    parameters : stack factors to fit (each with bounds; default :data:`CALIBRATED`)
    split : "train" (the default and the only split used for the shipped values), "test" or "all"
    stacks : serving stacks to fit (default: every stack with rows in the split)

    Returns
    -------
    polars.DataFrame
        stack, parameter, value, start (the value in data/stacks.csv), rows (cases used),
        loss_start, loss (mean weighted |ln(predicted/measured)| over output tokens/s per GPU
        (weight 1), TPOT (1), TTFT (0.5) and static-batch e2e (0.5)).

    Notes
    -----
    A compass search in log space (bounded), started from the current values; each
    evaluation reruns the kernel on the stack's cases with the trial factors. The loss is an
    L1 of log errors so that one source with unusual software does not dominate.
    ``tools/calibrate_serving.py`` writes the result into data/stacks.csv;
    :func:`_probe_stored` checks, more cheaply, that the stored values are still where this
    search stops.
    """
    from .. import _validate as V
    from .. import stacks as stacks_mod

    # a list checked as one: a Scenario or a number failed as "TypeError: ... is not iterable",
    # a single name was iterated letter by letter
    parameters = tuple(V.sequence("parameters", parameters, "calibrated serving parameter names"))
    for p in parameters:
        if not isinstance(p, str):
            raise ValidationError(f"parameters: {p!r} is not a name; allowed: {', '.join(sorted(_BOUNDS))}")
        if p not in _BOUNDS:
            raise unknown("calibrated serving parameter", p, _BOUNDS)
    if split not in ("train", "test", "all"):
        raise unknown("split", split, ("train", "test", "all"))
    cases = _train_cases(split)
    todo = sorted({c[0] for c in cases}) if stacks is None else list(stacks)
    rows = []
    for st in todo:
        mine = [c for c in cases if c[0] == st]
        if not mine:
            continue
        base = stacks_mod.params(st)
        fitted, loss, bounds = _stack_problem(st, mine, parameters)

        def search(start: dict[str, float], fitted=fitted, loss=loss, bounds=bounds) -> tuple[float, dict[str, float]]:
            x = {n: _to_x(n, start[n]) for n in fitted}
            cur = {n: _from_x(n, x[n], bounds) for n in fitted}
            best = loss(cur)
            step = _START_STEP
            while step > _MIN_STEP:
                improved = False
                for n in fitted:
                    for sgn in (1.0, -1.0):
                        trial = dict(x)
                        trial[n] = x[n] + sgn * step
                        vals = {k: _from_x(k, v, bounds) for k, v in trial.items()}
                        val = loss(vals)
                        if val < best - 1e-9:
                            best, x, cur, improved = val, trial, vals, True
                            break
                if not improved:
                    step /= 2.0
            return best, cur

        start_loss = loss({n: _from_x(n, _to_x(n, base[n]), bounds) for n in fitted})
        # two starts (the current values and the neutral _FIT_START), the lower train loss wins:
        # the compass search stops in the nearest local minimum
        best, cur = min(search(base), search({**base, **{n: v for n, v in _FIT_START.items() if n in fitted}}),
                        key=lambda r: r[0])
        for n in fitted:
            rows.append({"stack": st, "parameter": n, "value": cur[n], "start": base[n], "rows": len(mine),
                         "loss_start": start_loss, "loss": best})
    return pl.DataFrame(rows)


def _probe_stored(step: float = _FINAL_STEP, split: str = "train", stacks: list[str] | None = None) -> pl.DataFrame:
    """The stored factors of every stack :func:`calibrate` fits, each moved alone by ± ``step``
    in the fit's log space: a point where the fit stopped has no probe with a lower loss
    (calibrate's loss, on the rows of ``split``). Cheaper than refitting (one loss per probe,
    not a search), and approximate as a staleness check: it finds a stored point that is no
    longer a local optimum, not a better one farther away (calibrate's second start).
    ``stacks``: the stacks to probe (default: every stack with rows in the split).

    Returns
    -------
    polars.DataFrame
        stack, parameter, value (stored), probe (the moved value, clamped to the bounds),
        rows (cases of the split), loss_stored, loss_probe.
    """
    from .. import stacks as stacks_mod

    cases = _train_cases(split)
    rows = []
    for st in sorted({c[0] for c in cases}) if stacks is None else list(stacks):
        mine = [c for c in cases if c[0] == st]
        if not mine:
            raise ValidationError(f"stacks: {st!r} has no modelled row in the {split} split")
        base = stacks_mod.params(st)
        fitted, loss, bounds = _stack_problem(st, mine, CALIBRATED)
        stored = {n: base[n] for n in fitted}
        at = loss(stored)
        for n in fitted:
            for sgn in (1.0, -1.0):
                v = _from_x(n, _to_x(n, stored[n]) + sgn * step, bounds)
                rows.append({"stack": st, "parameter": n, "value": stored[n], "probe": v, "rows": len(mine),
                             "loss_stored": at, "loss_probe": loss({**stored, n: v})})
    return pl.DataFrame(rows)


REPORT_BEGIN = "<!-- BEGIN serving validation, generated by tools/serving_report.py: do not edit by hand -->"
REPORT_END = "<!-- END serving validation -->"
_REPORT_METRICS = (("output_tokens_per_s_per_gpu", "tok/s/GPU"), ("tpot_s", "TPOT"), ("ttft_s", "TTFT"),
                   ("e2e_latency_s", "e2e"))


def report_markdown(df: pl.DataFrame | None = None, *, above_pct: float | None = None) -> str:
    """The generated validation figures of ``docs/serving.md`` ("Where it stands", between
    :data:`REPORT_BEGIN` and :data:`REPORT_END`; ``tools/serving_report.py`` writes them and a test
    checks the page equals this): the test split against :data:`VALIDATION_BOUNDS`, median / worst
    |error| per split and metric (:func:`validation_summary`), the same per split, accelerator and
    published weight precision, and every point whose output tokens/s per GPU misses by more than
    ``above_pct`` [%] (default: the worst-case bound of :data:`VALIDATION_BOUNDS`), largest first."""
    if above_pct is None:
        above_pct = VALIDATION_BOUNDS["output_tokens_per_s_per_gpu"]["worst"]
    v = validation() if df is None else df
    s = validation_summary(v, ("split",))
    verdicts = []
    for metric, bounds in VALIDATION_BOUNDS.items():
        row = s.filter((pl.col("split") == "test") & (pl.col("metric") == metric)).row(0, named=True)
        label = dict(_REPORT_METRICS)[metric]
        for stat, bound in bounds.items():
            got = row["median_abs_error_pct" if stat == "median" else "worst_abs_error_pct"]
            verdicts.append(f"{label} {stat} {got:.1f} % (bound ≤ {bound:g} %: {'met' if got <= bound else 'not met'})")
    lines = [REPORT_BEGIN, "",
             "Test split against the issue's bounds (|error| = |predicted / measured − 1|): " + "; ".join(verdicts) + ".",
             "", "**By split and metric** (`il.serving.validation_summary(il.serving.validation())`; "
             "median_error_pct signed: negative = predicted below measured)", "",
             "| split | metric | cases | median \\|error\\| [%] | worst \\|error\\| [%] | median_error_pct |",
             "|---|---|---|---|---|---|"]
    for r in s.iter_rows(named=True):
        lines.append(f"| {r['split']} | {dict(_REPORT_METRICS)[r['metric']]} | {r['cases']} | "
                     f"{r['median_abs_error_pct']:.1f} | {r['worst_abs_error_pct']:.1f} | {signed(r['median_error_pct'])} |")
    by = ("split", "accelerator", "weight_precision")
    a = validation_summary(v, by)
    lines += ["", "**By split, accelerator and published weight precision** (cases: median / worst |error| [%]; "
              "`by=(\"split\", \"accelerator\", \"weight_precision\")`)", "",
              "| split | accelerator | weights | " + " | ".join(lbl for _, lbl in _REPORT_METRICS) + " |",
              "|---|---|---|" + "---|" * len(_REPORT_METRICS)]
    keys = a.select(*by).unique().sort(*by, nulls_last=True)
    for k in keys.iter_rows(named=True):
        cells = []
        for metric, _ in _REPORT_METRICS:
            m = a.filter((pl.col("metric") == metric) & pl.all_horizontal(
                [(pl.col(c) == k[c]) if k[c] is not None else pl.col(c).is_null() for c in by]))
            cells.append("–" if m.height == 0 else
                         f"{m['cases'][0]}: {m['median_abs_error_pct'][0]:.1f} / {m['worst_abs_error_pct'][0]:.1f}")
        lines.append(f"| {k['split']} | {k['accelerator']} | {k['weight_precision'] or '–'} | " + " | ".join(cells) + " |")
    e = "output_tokens_per_s_per_gpu_error_pct"
    far = v.filter(pl.col(e).is_not_null() & (pl.col(e).abs() > float(above_pct))).sort(pl.col(e).abs(), descending=True)
    n = {sp: int((far["split"] == sp).sum()) for sp in ("train", "test")}
    lines += ["", f"**Points beyond {above_pct:g} %** in output tokens/s per GPU: {far.height} ({n['train']} train, "
              f"{n['test']} test; error = predicted / measured − 1, positive = the model is too fast)", "",
              "| id | split | accelerator | engine | weights | concurrency | measured tok/s/GPU | predicted tok/s/GPU "
              "| error [%] |", "|---|---|---|---|---|---|---|---|---|"]
    for r in far.iter_rows(named=True):
        conc = "" if r["concurrency"] is None else f"{r['concurrency']:,.0f}"
        lines.append(f"| {r['id']} | {r['split']} | {r['accelerator']} | {r['engine']} | {r['weight_precision'] or '–'} | "
                     f"{conc} | "
                     f"{r['output_tokens_per_s_per_gpu_measured']:,.1f} | {r['output_tokens_per_s_per_gpu_predicted']:,.1f} | "
                     f"{signed(r[e])} |")
    lines += ["", REPORT_END]
    return "\n".join(lines)
