"""The multimodal agent of notebook 07 (``data/serving/maia_agent.csv``, every value an
assumption): the task's request mix (:func:`maia_mix`), its mean model call with media
tokens and encoder FLOPs (:func:`agent_request`), that call as a serving scenario
(:func:`agent_model`, :func:`agent_serving`), and the model-class comparison across
accelerators (:func:`class_comparison`)."""

from __future__ import annotations

import functools
import math
from typing import TYPE_CHECKING, Any

import polars as pl

from .. import catalog
from ..catalog import Col
from ..errors import ValidationError, empty_reasons
from ..memory import tp_accepted
from .core import _check_opt_positive, serve, weight_precisions
from .costs import cost_at_interactivity, gpu_hour_price
from .search import serve_search

if TYPE_CHECKING:
    from collections.abc import Iterable

_MIX_SCHEMA = {"parameter": Col("str", required=True), "value": Col("float", required=True),
               "unit": Col("str", required=True), "basis": Col("str", required=True)}


@functools.cache
def _mix_table() -> pl.DataFrame:
    return catalog.read_table(catalog.DATA_DIR / "serving" / "maia_agent.csv", _MIX_SCHEMA)


def maia_mix_table() -> pl.DataFrame:
    """The agent task of notebook 07 as a table: parameter, value, unit, basis (every row of
    data/serving/maia_agent.csv is an assumption stated as such, with its source column)."""
    return _mix_table()


def maia_mix() -> dict[str, float]:
    """The multimodal agent task of notebook 07 (data/serving/maia_agent.csv; every value an
    assumption stated as such): {parameter: value}."""
    t = _mix_table()
    return dict(zip(t["parameter"].to_list(), (float(v) for v in t["value"]), strict=True))


def agent_request(mix: dict[str, float] | None = None, system: str = "qwen2.5-vl-7b",
                  audio_system: str = "qwen2-audio-7b") -> dict[str, Any]:
    """The mean model call of an agent task, with image and audio tokens and encoder FLOPs
    from :mod:`infra_lab.multimodal`.

    Parameters
    ----------
    mix : task parameters (default :func:`maia_mix`): calls_per_task, first_prompt_tokens,
        context_growth_tokens, output_tokens_per_call, images_per_task, image_height_px,
        image_width_px, audio_seconds_per_task
    system, audio_system : multimodal systems whose vision / audio encoders turn the media
        into tokens and FLOPs

    Returns
    -------
    dict : image_tokens (per image), audio_tokens (per task), media_tokens (per task),
        input_tokens and output_tokens (mean per call, media positions included) [tokens],
        text_input_tokens (the mean call's prompt without the positions its own media add)
        [tokens], images_per_call [-], audio_s_per_call [s], image_size ([height, width] px),
        vision_encoder / audio_encoder (encoder preset names), encoder_flops_per_task and
        encoder_flops_per_call [FLOP], calls, input_tokens_per_task, output_tokens_per_task.
        :func:`agent_model` and :func:`agent_serving` turn it into a serving scenario.

    Notes
    -----
    The pictures arrive with the first call and stay in the context; the speech arrives in
    equal parts with each call (the user speaks at every turn) and stays too, so call j
    (0-based) has first_prompt + j·growth + image tokens + (j+1)/n of the speech tokens. Each
    call encodes its own share of the media (``images_per_call``, ``audio_s_per_call``): the
    pictures once per task in all, each turn's speech as its own clip (a Whisper-type encoder
    pads every clip to its 30-s window).
    """
    from collections.abc import Mapping

    from .. import multimodal as mm

    if mix is not None and not isinstance(mix, Mapping):
        raise ValidationError(f"mix = {mix!r}: expected a mapping {{parameter: value}} like il.serving.maia_mix()")
    m = maia_mix() if mix is None else dict(mix)
    need = ("calls_per_task", "first_prompt_tokens", "context_growth_tokens", "output_tokens_per_call",
            "images_per_task", "image_height_px", "image_width_px", "audio_seconds_per_task")
    for k in need:
        if k not in m:
            raise ValidationError(f"mix: missing {k!r}; expected the parameters of data/serving/maia_agent.csv")
        v = m[k]
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or v < 0:
            raise ValidationError(f"mix[{k!r}] = {v!r}: expected a finite number >= 0")
    if m["calls_per_task"] < 1 or m["output_tokens_per_call"] < 2:
        raise ValidationError(f"mix: calls_per_task = {m['calls_per_task']!r} must be >= 1 and output_tokens_per_call "
                              f"= {m['output_tokens_per_call']!r} >= 2")
    for name, val in (("system", system), ("audio_system", audio_system)):
        if not isinstance(val, str):
            raise ValidationError(f"{name} = {val!r}: expected a multimodal system preset name")
    n = m["calls_per_task"]
    size = (int(m["image_height_px"]), int(m["image_width_px"]))
    vis = mm.system(system).vision
    aud = mm.system(audio_system).audio
    img_tok = float(vis.image_grid(*size)["lm_tokens"])
    secs = m["audio_seconds_per_task"]
    aud_tok = float(aud.audio_frames(secs)["lm_tokens"]) if secs > 0 else 0.0
    media = m["images_per_task"] * img_tok + aud_tok
    mean_in = (m["first_prompt_tokens"] + m["context_growth_tokens"] * (n - 1) / 2.0
               + m["images_per_task"] * img_tok + aud_tok * (n + 1) / (2.0 * n))
    own = (m["images_per_task"] * img_tok + aud_tok) / n   # positions the call's own media add
    sysm = {"preset": mm.system(system).lm.name, "vision": vis.name, "audio": aud.name}
    enc_call = mm.encoder_prefill(sysm, "MI300X", images=m["images_per_task"] / n, image_size=size,
                                  audio_s=secs / n).flops
    return {"image_tokens": img_tok, "audio_tokens": aud_tok, "media_tokens": media, "calls": n,
            "input_tokens": mean_in, "output_tokens": m["output_tokens_per_call"],
            "text_input_tokens": mean_in - own, "images_per_call": m["images_per_task"] / n,
            "audio_s_per_call": secs / n, "image_size": list(size),
            "vision_encoder": vis.name, "audio_encoder": aud.name,
            "encoder_flops_per_task": enc_call * n, "encoder_flops_per_call": enc_call,
            "input_tokens_per_task": n * mean_in, "output_tokens_per_task": n * m["output_tokens_per_call"]}


def agent_model(preset: str, request: dict[str, Any] | None = None) -> dict[str, Any]:
    """The [model] table of a text ``preset`` with the agent's vision and audio encoders
    attached (:func:`agent_request`'s ``vision_encoder`` / ``audio_encoder``), so that
    :func:`serve` prices their prefill with :func:`infra_lab.multimodal.encoder_prefill`."""
    req = _agent_req(request)
    if not isinstance(preset, str):
        raise ValidationError(f"preset = {preset!r}: expected a text model preset name")
    from .. import models

    models.get(preset)   # an unknown name ('zaya') came back in the table and failed only when served
    return {"preset": preset, "vision": req["vision_encoder"], "audio": req["audio_encoder"]}


def _agent_req(request) -> dict[str, Any]:
    """An :func:`agent_request` dict (None: the default mix), checked for its keys."""
    from collections.abc import Mapping

    if request is None:
        return agent_request()
    need = ("text_input_tokens", "output_tokens", "images_per_call", "image_size", "audio_s_per_call",
            "vision_encoder", "audio_encoder")
    if not isinstance(request, Mapping) or any(k not in request for k in need):
        raise ValidationError(f"request = {request!r}: expected il.serving.agent_request(...) (keys {', '.join(need)})")
    return dict(request)


def agent_serving(request: dict[str, Any] | None = None) -> dict[str, Any]:
    """The [serving] keys of the agent's mean call: text prompt, output, and the media each call
    encodes (with :func:`agent_model`, the call's prompt is ``request["input_tokens"]``)."""
    req = _agent_req(request)
    return {"input_tokens": int(round(req["text_input_tokens"])), "output_tokens": int(round(req["output_tokens"])),
            "images_per_request": req["images_per_call"], "image_size": list(req["image_size"]),
            "audio_s_per_request": req["audio_s_per_call"]}


# class_comparison's columns, whether or not a configuration reached the target (a frame of only
# unreached rows had 6 of these columns, so the same call's columns depended on its answer)
CLASS_COMPARISON_SCHEMA = {
    "model": pl.String, "accelerator": pl.String, "min_gpus_replica": pl.Int64, "max_concurrency": pl.Int64,
    "usd_per_gpu_hour": pl.Float64, "tp": pl.Int64, "dp": pl.Int64, "ep": pl.Int64, "weight_precision": pl.String,
    "concurrency": pl.Int64, "tokens_per_s_per_user": pl.Float64, "output_tokens_per_s_per_gpu": pl.Float64,
    "ttft_s": pl.Float64, "usd_per_million_output_tokens_all_in": pl.Float64, "usd_per_million_tokens": pl.Float64,
    "weights_GB_per_gpu": pl.Float64, "usd_per_task": pl.Float64, "reached": pl.Boolean}


class _MixTarget:
    """The default of :func:`class_comparison`'s ``tokens_per_s_per_user``: the agent mix's
    ``interactivity_target`` (None stays a refused input, as before)."""

    def __repr__(self) -> str:
        return "maia_mix()['interactivity_target']"


_MIX_TARGET = _MixTarget()


def class_comparison(models: Iterable[str], accelerators: Iterable[str], *, gpus: int = 8,
                     engine: str = "vllm",
                     tokens_per_s_per_user: Any = _MIX_TARGET,
                     request: dict[str, float] | None = None,
                     price_basis: str = "owned") -> pl.DataFrame:
    """For each model and accelerator: the smallest replica, the KV room of ``gpus`` GPUs and
    the cheapest configuration of ``gpus`` GPUs that gives every user at least
    ``tokens_per_s_per_user`` (read off :func:`serve_search`'s front; default the agent mix's
    ``interactivity_target``, data/serving/maia_agent.csv, read by :func:`maia_mix`: a typed 30.0
    stood beside the row before).

    Returns
    -------
    polars.DataFrame : model, accelerator, min_gpus_replica (fewest GPUs, tp in 1/2/4/8, that
        hold the weights and one request at the mean context; null if none), weights_GB_per_gpu
        (of the best configuration), max_concurrency (of ``gpus`` GPUs, tp = gpus),
        usd_per_gpu_hour, tp, dp, ep, weight_precision, concurrency, tokens_per_s_per_user,
        output_tokens_per_s_per_gpu, ttft_s, usd_per_million_output_tokens_all_in,
        usd_per_million_tokens, usd_per_task (calls × output tokens × all-in $/M), reached
        (a configuration met the interactivity); the columns are always these
        (:data:`CLASS_COMPARISON_SCHEMA`), the configuration's null where none reached it
    """
    from .. import _validate as V
    from .. import models as models_mod

    models = V.sequence("models", models, "model preset names")
    V.integer("gpus", gpus)
    if tokens_per_s_per_user is _MIX_TARGET:       # the agent mix's target, as notebook 07 reads it
        tokens_per_s_per_user = maia_mix()["interactivity_target"]
    # checked under its own name (serve_search's "min_tokens_per_s_per_user = 0: expected None or ...")
    tokens_per_s_per_user = _check_opt_positive("tokens_per_s_per_user", tokens_per_s_per_user, optional=False,
                                                unit="tokens/s")
    accelerators = V.sequence("accelerators", accelerators, "accelerator names")
    for field, items in (("models", models), ("accelerators", accelerators)):
        if not items:   # a frame with no rows and no columns
            raise ValidationError(f"{field} = []: expected at least one name")
    req = agent_request() if request is None else request
    rows = []
    for model in models:
        spec = models_mod.get(model)
        for acc in accelerators:
            a = catalog.accelerator(acc)
            price = gpu_hour_price(a.name, price_basis)
            base = {"model": agent_model(spec.name, req), "hardware": {"accelerator": a.name, "nodes": 1,
                                                                        "gpus_per_node": gpus},
                    "serving": {"engine": engine, "tp": gpus, **agent_serving(req),
                                "weight_precision": "fp8" if "fp8" in weight_precisions(a.name) else "bf16"}}
            if spec.experts and spec.experts % gpus == 0:
                base["serving"]["ep"] = gpus
            min_gpus = None
            for g in (1, 2, 4, 8):
                if g > gpus or not tp_accepted(spec, g):
                    continue
                d = {**base, "hardware": {**base["hardware"], "gpus_per_node": g},
                     "serving": {**base["serving"], "tp": g, "ep": 1, "concurrency": 1}}
                if spec.experts and spec.experts % g == 0:
                    d["serving"]["ep"] = g
                if serve(d).fits:
                    min_gpus = g
                    break
            full = serve({**base, "serving": {**base["serving"], "concurrency": 1}})
            with empty_reasons():      # a front that misses the target is the row's "reached" = False
                front = serve_search(base, top=None, price_usd_per_gpu_hour=price,
                                     min_tokens_per_s_per_user=tokens_per_s_per_user)
            row = {"model": spec.name, "accelerator": a.name, "min_gpus_replica": min_gpus,
                   "max_concurrency": full.max_concurrency if full.fits else 0, "usd_per_gpu_hour": price}
            if front.height:
                b = cost_at_interactivity(front, tokens_per_s_per_user)
                row.update({k: b[k] for k in ("tp", "dp", "ep", "weight_precision", "concurrency",
                                              "tokens_per_s_per_user", "output_tokens_per_s_per_gpu", "ttft_s",
                                              "usd_per_million_output_tokens_all_in", "usd_per_million_tokens")})
                row["weights_GB_per_gpu"] = b["weights_per_gpu_bytes"] / 1e9
                row["usd_per_task"] = b["usd_per_million_output_tokens_all_in"] * req["output_tokens_per_task"] / 1e6
                row["reached"] = True
            else:
                row["reached"] = False
            rows.append(row)
    return pl.DataFrame([{k: r.get(k) for k in CLASS_COMPARISON_SCHEMA} for r in rows],
                        schema=CLASS_COMPARISON_SCHEMA)
