"""The [serving] table: :class:`ServingConfig` and its validation (``_serving_values``,
:data:`SERVING_BOUNDS`, the picture size), the allowed values of its enumerated fields
(:data:`ENGINES`, :data:`WEIGHT_PRECISIONS`, :data:`KV_PRECISIONS`, :data:`SPEC_DECODING`,
:data:`BATCHING`), and :func:`serving_stack`, an engine's software stack on an accelerator."""

from __future__ import annotations

import math
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from .. import catalog
from ..errors import ValidationError
from ._checks import _bool, _check_keys, _enum, _int, _py, _py_list

ENGINES = ("vllm", "sglang", "trt-llm", "atom")

_ACCELERATOR: ContextVar[str | None] = ContextVar("serving_table_accelerator", default=None)
"""The accelerator of the Scenario whose [serving] table is being checked (set by
``ServingConfig.from_dict(d, accelerator)``), for error messages only."""


WEIGHT_PRECISIONS = ("bf16", "fp8", "fp4")


KV_PRECISIONS = ("bf16", "fp8")


SPEC_DECODING = ("none", "mtp")


BATCHING = ("continuous", "static")


SERVING_BOUNDS = (
    ("input_tokens", 2**24, "the compute model's bound on a sequence, as training.seq_len"),
    ("output_tokens", 2**24, "the compute model's bound on a sequence, as training.seq_len"),
    ("chunk_tokens", 2**24, "the compute model's bound on a sequence, as training.seq_len"),
    ("concurrency", 2**27, "requests in flight in one deployment: a library bound, 131,072 DP ranks x "
                           "vLLM's default 1,024 running requests each (max_num_seqs), which serve_search's "
                           "default grid may reach on a large deployment"),
    ("num_prompts", 2**30, "requests one benchmark sends"),
)
"""(field, largest value, why) of the [serving] table's sizes: generous physical bounds, so an
absurd value (concurrency 10**9) is refused rather than priced."""

MAX_REQUEST_RATE_RPS = 2**30
"""Largest ``serving.request_rate_rps`` [requests/s]: a library bound, as many requests each
second as one benchmark may send in all (``num_prompts``' bound); a rate of 1e30 is refused
rather than read as "all at once"."""


@dataclass(frozen=True)
class ServingConfig:
    """The [serving] table: an inference deployment under continuous batching.

    Attributes
    ----------
    engine : "vllm" | "sglang" | "trt-llm" | "atom" (with the hardware's platform it names a
        software stack: ``<engine>-cuda`` or ``<engine>-rocm``)
    weight_precision : "bf16" | "fp8" | "fp4" (fp4 = the platform's block format: MXFP4 on
        AMD, NVFP4 on NVIDIA; models with MXFP4 experts keep them, e.g. gpt-oss)
    kv_precision : "bf16" | "fp8"
    attention_precision : "bf16" | "fp8" | "fp4" | None: the precision of the attention
        projection weights when the checkpoint keeps them apart from the rest (NVIDIA's
        nvidia/DeepSeek-R1-FP4 quantizes the MoE and MLP layers to NVFP4 and keeps attention in
        BF16); None = weight_precision. Like weight_precision, fp8 / fp4 only on a part with
        those tensor cores
    mtp_precision : "bf16" | "fp8" | "fp4" | None: the precision of the MTP draft modules'
        weights (all their GEMMs: projection, attention, experts) when the checkpoint keeps
        them apart (TensorRT-LLM's DeepSeek-R1 NVFP4 recipe runs its MTP layers in BF16);
        None = as the main layers (attention_precision for attention, weight_precision else);
        only with spec_decoding = "mtp", and fp8 / fp4 only on a part with those tensor cores
    tp, pp, dp : tensor-, pipeline- and data-parallel sizes; GPUs = tp·pp·dp [-]
    ep : expert-parallel size of the MoE layers [-]; divides tp (or tp·dp with dp_attention)
    dp_attention : attention data-parallel over the dp ranks with the MoE layers spread over
        all tp·dp GPUs (DeepSeek-style DP attention + EP); false = dp independent replicas
    spec_decoding : "none" | "mtp" (multi-token-prediction draft, verified each step)
    mtp_draft_tokens : draft tokens per step with MTP [-]
    mtp_acceptance : probability that each draft token is accepted [-] (None: the sourced
        default in data/serving/parameters.csv)
    input_tokens, output_tokens : mean prompt and generated lengths [tokens]
    concurrency : requests in flight across the deployment (a benchmark's max concurrency) [-]
    chunk_tokens : tokens per engine step (chunked-prefill budget) [tokens]; None = engine default
    images_per_request : pictures per request [-] (a mean; may be fractional), for a
        multimodal [model] only: the vision encoder's prefill
        (:func:`infra_lab.multimodal.encoder_prefill`) runs before the prompt's, and the prompt
        grows by the image positions
    image_size : picture side [px] or [height, width] (None: the vision encoder's own size)
    audio_s_per_request : seconds of speech per request [s], for a multimodal [model] with an
        audio encoder (as ``images_per_request``)
    encoder_batch : requests whose pictures/audio the engine encodes together [-] (fuller
        encoder GEMMs; ``encoder_prefill(batch=...)``)
    num_prompts : requests the benchmark sends in all [-]; None = steady state. With a
        finite number the first wave of ``concurrency`` requests arrives at once and its
        queueing adds to the mean TTFT.
    lockstep : closed-loop clients whose requests all have the same lengths stay in step:
        every wave of ``concurrency`` requests arrives at once, so EVERY request's TTFT
        includes the queue of its wave's prefills (not only the first wave of a finite
        benchmark, as without it). Benchmarks with fixed input/output lengths and
        ``--ignore-eos`` behave so; default false (arrivals spread out)
    batching : "continuous" (steady state of continuous batching at ``concurrency``, the
        default) or "static" (one batch of ``concurrency`` requests prefilled together and
        decoded together, as vLLM's benchmark_latency measures)
    request_rate_rps : open-loop arrival rate [requests/s]; None = closed loop at
        ``concurrency``. When given, the requests in flight follow from Little's law
        (in flight = rate × end-to-end latency), capped at ``concurrency``.
    stack : a specific serving stack of this engine (e.g. ``"vllm-rocm-early"``, an earlier
        software generation used to validate against older benchmarks); None = the
        engine's current stack on the hardware's platform
    """

    engine: str = "vllm"
    weight_precision: str = "bf16"
    kv_precision: str = "bf16"
    attention_precision: str | None = None
    mtp_precision: str | None = None
    tp: int = 1
    ep: int = 1
    pp: int = 1
    dp: int = 1
    dp_attention: bool = False
    spec_decoding: str = "none"
    mtp_draft_tokens: int = 1
    mtp_acceptance: float | None = None
    input_tokens: int = 1024
    output_tokens: int = 1024
    concurrency: int = 64
    chunk_tokens: int | None = None
    images_per_request: float = 0.0
    image_size: int | tuple[int, int] | None = None
    audio_s_per_request: float = 0.0
    encoder_batch: int = 1
    num_prompts: int | None = None
    lockstep: bool = False
    batching: str = "continuous"
    request_rate_rps: float | None = None
    stack: str | None = None

    KEYS = ("engine", "weight_precision", "kv_precision", "tp", "ep", "pp", "dp", "dp_attention",
            "spec_decoding", "mtp_draft_tokens", "mtp_acceptance", "input_tokens", "output_tokens",
            "concurrency", "chunk_tokens", "images_per_request", "image_size", "audio_s_per_request",
            "encoder_batch", "num_prompts", "lockstep", "batching", "request_rate_rps", "stack",
            "attention_precision", "mtp_precision")

    def __post_init__(self) -> None:
        # built directly (``ServingConfig(engine="foo")``) or by from_dict: validated the same way
        for k, val in _serving_values(self.to_dict()).items():
            object.__setattr__(self, k, val)

    @classmethod
    def from_dict(cls, d: dict, accelerator: str | None = None) -> ServingConfig:
        """Validate a [serving] table (dict); an existing ServingConfig (validated when it was
        built) is returned as is. ``accelerator``: the scenario's (its errors then name what runs
        there: a stack of another engine is answered with the engine's stacks on that part)."""
        if isinstance(d, ServingConfig):
            return d
        if isinstance(d, dict) and "encoder_flops_per_request" in d:
            raise ValidationError(
                "serving.encoder_flops_per_request: replaced by images_per_request / image_size / "
                "audio_s_per_request with a multimodal [model] (e.g. vision = \"qwen2.5-vl-vit\"); the encoder "
                "time comes from il.multimodal.encoder_prefill")
        _check_keys("serving", d, cls.KEYS)
        token = _ACCELERATOR.set(accelerator)
        try:
            return cls(**d)
        finally:
            _ACCELERATOR.reset(token)

    @property
    def gpus(self) -> int:
        """GPUs of the deployment = tp·pp·dp."""
        return self.tp * self.pp * self.dp

    def to_dict(self) -> dict:
        return {k: getattr(self, k) for k in self.KEYS}


def _image_size(x: Any) -> int | tuple[int, int] | None:
    """serving.image_size: None, a square side [px] or (height, width) [px] (a list, tuple or
    numpy array of two)."""
    x = _py_list(x)
    if x is None:
        return None
    from ..multimodal.specs import MAX_IMAGE_SIDE_PX

    def side(name: str, v: Any) -> int:
        v = _int(name, v)
        if v > MAX_IMAGE_SIDE_PX:
            raise ValidationError(f"{name} = {v!r} px: allowed 1..{MAX_IMAGE_SIDE_PX:,} px per side")
        return v

    if isinstance(x, (list, tuple)) and len(x) == 2:
        return (side("serving.image_size[0]", x[0]), side("serving.image_size[1]", x[1]))
    if isinstance(x, (list, tuple)):
        raise ValidationError(f"serving.image_size = {x!r}: expected a side [px] or [height, width] [px]")
    return side("serving.image_size", x)


def _serving_values(d: dict) -> dict:
    """The validated, normalised values of a [serving] table (every key present)."""
    v: dict[str, Any] = {}
    v["engine"] = _enum("serving.engine", d.get("engine", ServingConfig.engine), ENGINES)
    v["weight_precision"] = _enum("serving.weight_precision", d.get("weight_precision", ServingConfig.weight_precision),
                                  WEIGHT_PRECISIONS)
    v["kv_precision"] = _enum("serving.kv_precision", d.get("kv_precision", ServingConfig.kv_precision), KV_PRECISIONS)
    ap = d.get("attention_precision")
    v["attention_precision"] = None if ap is None else _enum("serving.attention_precision", ap, WEIGHT_PRECISIONS)
    mp = d.get("mtp_precision")
    v["mtp_precision"] = None if mp is None else _enum("serving.mtp_precision", mp, WEIGHT_PRECISIONS)
    for k in ("tp", "ep", "pp", "dp", "mtp_draft_tokens", "input_tokens", "output_tokens", "concurrency",
              "encoder_batch"):
        v[k] = _int(f"serving.{k}", d.get(k, getattr(ServingConfig, k)))
    for k in ("chunk_tokens", "num_prompts"):
        v[k] = None if d.get(k) is None else _int(f"serving.{k}", d[k])
    for k, hi, why in SERVING_BOUNDS:
        if v[k] is not None and v[k] > hi:
            raise ValidationError(f"serving.{k} = {v[k]!r}: allowed 1..{hi:,} ({why})")
    v["dp_attention"] = _bool("serving.dp_attention", d.get("dp_attention", False))
    v["spec_decoding"] = _enum("serving.spec_decoding", d.get("spec_decoding", ServingConfig.spec_decoding), SPEC_DECODING)
    acc = _py(d.get("mtp_acceptance"))
    if acc is not None:
        if isinstance(acc, bool) or not isinstance(acc, (int, float)) or not (math.isfinite(acc) and 0 <= acc <= 1):
            raise ValidationError(f"serving.mtp_acceptance = {acc!r}: expected a number between 0 and 1")
        acc = float(acc)
    v["mtp_acceptance"] = acc
    for k, unit in (("images_per_request", "pictures"), ("audio_s_per_request", "s")):
        x = _py(d.get(k, 0.0))
        if isinstance(x, bool) or not isinstance(x, (int, float)) or not math.isfinite(x) or x < 0:
            raise ValidationError(f"serving.{k} = {x!r}: expected a finite number >= 0 [{unit}]")
        v[k] = float(x)
    v["image_size"] = _image_size(d.get("image_size"))
    v["batching"] = _enum("serving.batching", d.get("batching", ServingConfig.batching), BATCHING)
    rate = _py(d.get("request_rate_rps"))
    if rate is not None:
        if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not math.isfinite(rate) or rate <= 0:
            raise ValidationError(f"serving.request_rate_rps = {rate!r}: expected a finite number > 0 "
                                  "[requests/s] (or leave it out for a closed loop at concurrency)")
        rate = float(rate)
        if rate > MAX_REQUEST_RATE_RPS:
            raise ValidationError(f"serving.request_rate_rps = {rate!r}: allowed > 0 .. {MAX_REQUEST_RATE_RPS:,} "
                                  "requests/s (a library bound: as many requests each second as a benchmark "
                                  "may send in all, serving.num_prompts' bound), or leave it out for a closed "
                                  "loop at concurrency")
        if v["batching"] == "static":
            raise ValidationError("serving.request_rate_rps: an arrival rate needs batching = 'continuous'")
    v["request_rate_rps"] = rate
    v["lockstep"] = _bool("serving.lockstep", d.get("lockstep", False))
    if v["lockstep"] and (rate is not None or v["batching"] == "static"):
        raise ValidationError("serving.lockstep = true: waves of a closed loop; needs batching = 'continuous' "
                              "and no request_rate_rps")
    st = d.get("stack")
    if st is not None:
        from .. import stacks

        st = stacks.canonical(st, "serving", where="serving.stack")
        if stacks.serving_engine(st) != v["engine"]:
            own = [s for s in stacks.names("serving") if stacks.serving_engine(s) == v["engine"]]
            theirs = stacks.serving_engine(st)
            acc = _ACCELERATOR.get()
            if acc is None:   # a [serving] table alone: each stack with the vendor it runs on
                allowed = ", ".join(f"{s} ({stacks.info(s)['vendor']})" for s in own)
                hint = f" (or serving.engine = {theirs!r})"
            else:             # inside a Scenario: the engine's stacks on the scenario's accelerator
                vendor = catalog.accelerator(acc).vendor
                runs = [s for s in own if stacks.info(s)["vendor"] in (vendor, "any")]
                allowed = f"{', '.join(runs) or 'none'} on {acc}"
                hint = (f" (or serving.engine = {theirs!r})" if stacks.info(st)["vendor"] in (vendor, "any") else
                        f" ({st!r} is an {stacks.info(st)['vendor']} stack, which {acc} cannot run either)")
            raise ValidationError(f"serving.stack = {st!r}: a stack of another engine than "
                                  f"serving.engine = {v['engine']!r}; allowed: {allowed}{hint}")
    v["stack"] = st
    if v["spec_decoding"] == "none" and (acc is not None or v["mtp_draft_tokens"] != 1):
        raise ValidationError(f"serving.mtp_acceptance = {acc!r} / mtp_draft_tokens = {v['mtp_draft_tokens']!r}: "
                              "only with spec_decoding = 'mtp' "
                              f"(spec_decoding = {v['spec_decoding']!r}); allowed: leave them out, or set "
                              "spec_decoding = 'mtp'")
    if v["num_prompts"] is not None and v["num_prompts"] < v["concurrency"]:
        raise ValidationError(f"serving.num_prompts = {v['num_prompts']}: must be >= concurrency = "
                              f"{v['concurrency']} (a benchmark sends at least one wave)")
    if v["dp_attention"] and v["dp"] == 1:
        raise ValidationError("serving.dp_attention = true: needs dp > 1 attention ranks (dp = 1)")
    mp = v["tp"] * (v["dp"] if v["dp_attention"] else 1)
    if mp % v["ep"]:
        raise ValidationError(
            f"serving.ep = {v['ep']}: must divide tp = {v['tp']}"
            + (f" · dp = {v['dp']} (dp_attention)" if v["dp_attention"] else
               " (experts spread over a replica's TP ranks; set dp_attention = true to spread them "
               "over tp·dp GPUs)")
        )
    return v


def serving_stack(engine: str, accelerator: str) -> str:
    """The software stack of ``engine`` on ``accelerator``'s platform: ``<engine>-cuda`` (NVIDIA)
    or ``<engine>-rocm`` (AMD), checked against :mod:`infra_lab.stacks`.

    Examples
    --------
    >>> serving_stack("sglang", "MI300X")
    'sglang-rocm'
    """
    from .. import stacks

    acc = catalog.accelerator(accelerator)
    platform = {"NVIDIA": "cuda", "AMD": "rocm"}.get(acc.vendor)
    name = f"{engine}-{platform}"
    valid = stacks.names("serving")
    if name not in valid:
        ok = sorted({s.rsplit("-", 1)[0] for s in valid if s.endswith(f"-{platform}")})
        raise ValidationError(f"serving.engine = {engine!r}: no {engine} stack on {acc.name} ({acc.vendor}, "
                              f"{platform}); engines there: {', '.join(ok)}")
    return name
