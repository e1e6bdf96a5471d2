"""Serving multimodal requests: the encoder's prefill before the language model's.

A request with pictures and/or audio first runs the encoders (forward only) and the
projectors on the replica's GPUs, then the language model's prefill over its text plus the
image/audio positions, then decode. :func:`encoder_prefill` prices the first part with the
same compute functions as training (:func:`~infra_lab.multimodal.encoder_ops`, the encoder's
tensor-parallel all-reduces through :func:`infra_lab.collective`) and says how many positions
the prompt grows by (:meth:`MultimodalSpec.lm_tokens`); cross-attention systems (Llama 3.2
Vision) also project the memory to keys/values once per request (a cross-attention KV cache).

``infra_lab.serve`` calls this function for a multimodal [model] whose [serving] table asks
for ``images_per_request`` / ``image_size`` / ``audio_s_per_request`` (``encoder_batch`` =
``batch``): ``.time_s`` is its encoder time, ``.lm_positions`` what its prompt grows by.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import polars as pl

from .. import _validate as V
from .._repr import Printout
from ..errors import ValidationError
from .compute import check_encoder_call, cross_kv_ops, encoder_ops, encoder_tp
from .specs import MultimodalSpec, _size, system, system_names

if TYPE_CHECKING:
    import os

    from ..scenario import Scenario


@dataclass(frozen=True)
class EncoderPrefill(Printout):
    """The encoder work of one request.

    Attributes
    ----------
    time_s : encoder + projector (+ cross-attention k/v) time per request on the replica's
        ``tp`` GPUs [s] (a batch of ``batch`` requests encoded together, divided by batch)
    flops : forward FLOPs per request [FLOP], each counted once whatever ``tp`` (the ranks of
        a tensor-parallel group each run 1/tp of the layers' FLOPs)
    lm_positions : positions the prompt grows by [tokens]
    cross_tokens : cross-attention memory per request [tokens]
    images, audio_windows : items encoded per request [-]
    mfu : flops / (time_s · tp · dense BF16 peak) [-]
    breakdown : polars frame (part, time_s, flops) per request (flops as ``flops``)
    """

    time_s: float
    flops: float
    lm_positions: float
    cross_tokens: float
    images: float
    audio_windows: float
    mfu: float
    breakdown: pl.DataFrame = field(repr=False)

    def _printout(self) -> str:
        """What print() and a notebook show: a readable printout, one field a line, 4 significant
        figures, each with its unit; the exact values are the attributes (``breakdown`` the parts)."""
        from .._repr import readable

        return readable(self, title="encoder work of one request",
                        footer="exact values: the attributes; per part: .breakdown")


def _hw_for(accelerator: str, tp: int, hardware):
    from ..scenario import HardwareConfig, as_hardware

    if hardware is not None:
        return as_hardware(hardware)
    try:
        return HardwareConfig(accelerator=accelerator, nodes=1, gpus_per_node=tp)
    except ValidationError as e:   # it named hardware.gpus_per_node, a field the caller never gave
        why = str(e).split(": ", 1)[-1]
        raise ValidationError(f"tp = {tp}: with hardware=None the replica is one node of tp GPUs, and {why}") from None


def encoder_prefill(spec: MultimodalSpec | str | dict, accelerator: str, *, images: float = 0.0,
                    image_size: int | tuple[int, int] | None = None, audio_s: float = 0.0,
                    tp: int = 1, batch: int = 1,
                    hardware: Any = None) -> EncoderPrefill:
    """Encoder prefill of one multimodal request.

    Parameters
    ----------
    spec : system preset, [model] table or MultimodalSpec
    accelerator : catalog name
    images : pictures per request [-]; image_size : side [px] or (height, width) (None: the
        encoder's image_size); audio_s : seconds of audio per request [s]
    tp : tensor-parallel GPUs of the replica [-]
    batch : requests whose items the engine encodes together [-] (larger batches fill the
        GEMMs better)
    hardware : the [hardware] table for the encoder's TP all-reduces (None: one node of tp
        GPUs of ``accelerator``)

    Returns
    -------
    EncoderPrefill

    Examples
    --------
    >>> from infra_lab import multimodal as mm
    >>> r = mm.encoder_prefill("qwen2.5-vl-7b", "MI300X", images=1, image_size=448)
    >>> r.lm_positions, 0 < r.time_s < 0.1
    (256.0, True)
    """
    from .. import catalog
    from ..collectives import collective

    spec = system(spec)
    acc = catalog.accelerator(accelerator).name
    for name, v in (("tp", tp), ("batch", batch)):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
            raise ValidationError(f"{name} = {v!r}: expected a positive integer")
    tok = spec.lm_tokens(images=images, image_size=image_size, audio_s=audio_s)
    n_img = float(images)
    n_win = spec.audio.audio_frames(audio_s)["windows"] if audio_s else 0.0
    rows = []
    hw = None
    for mod, n in (("vision", n_img), ("audio", n_win)):
        enc = getattr(spec, mod)
        if n <= 0 or enc is None or enc.modality == "codec":
            continue
        check_encoder_call(enc, n * batch, image_size, tp=int(tp),
                           items_name=("images" if mod == "vision" else f"audio_s = {audio_s:g} s in windows")
                           + " x batch")
        ops = encoder_ops(spec, mod, n * batch, acc, tp=int(tp), passes=("fwd",), image_size=image_size)
        tpe = encoder_tp(enc, int(tp))
        # encoder_ops prices ONE rank: the layers' GEMMs split tpe ways and the items over
        # tp // tpe groups (a rank's FLOPs are 1/tp of them), the stem and projector run whole
        # on every rank of a group (1/(tp // tpe)); the request's FLOPs count each once
        copies = {"stem": int(tp) // tpe, "layers": int(tp), "projector": int(tp) // tpe}
        for part in ("stem", "layers", "projector"):
            sub = ops.filter(pl.col("part") == part)
            rows.append({"part": f"{mod}_{part}", "time_s": float(sub["time_s"].sum()) / batch,
                         "flops": copies[part] * float(sub["flops"].sum()) / batch})
        if tpe > 1:
            hw = hw or _hw_for(acc, int(tp), hardware)
            seq = enc.image_grid(*_size(image_size))["patches"] if mod == "vision" else \
                enc.window_s * enc.mel_frames_per_s / enc.conv_stride
            per_group = n * batch / (int(tp) // tpe)
            t = collective("all_reduce", per_group * seq * enc.hidden * 2.0, hw, tpe).time_s
            rows.append({"part": f"{mod}_tp_comm", "time_s": 2.0 * enc.total_layers * t / batch, "flops": 0.0})
    if spec.cross_layers and tok["cross_tokens"] > 0:
        kv_tp = math.gcd(int(tp), spec.lm.kv_heads)
        ops = cross_kv_ops(spec, tok["cross_tokens"] * batch, acc, tp=kv_tp)
        rows.append({"part": "cross_kv", "time_s": float(ops["time_s"].sum()) / batch,
                     "flops": kv_tp * float(ops["flops"].sum()) / batch})   # a rank's 1/kv_tp
    bd = pl.DataFrame(rows, schema={"part": pl.String, "time_s": pl.Float64, "flops": pl.Float64})
    t = float(bd["time_s"].sum())
    f = float(bd["flops"].sum())
    peak = catalog.accelerator(acc).peak("bf16")
    return EncoderPrefill(time_s=t, flops=f, lm_positions=tok["lm_positions"], cross_tokens=tok["cross_tokens"],
                          images=n_img, audio_windows=float(n_win),
                          mfu=f / (t * int(tp) * peak) if t > 0 else 0.0, breakdown=bd)


def encoder_flops_per_request(spec: MultimodalSpec | str | dict, *, images: float = 0.0,
                              image_size: int | tuple[int, int] | None = None,
                              audio_s: float = 0.0) -> float:
    """Forward FLOPs of a request's encoders, projectors and cross-attention k/v [FLOP]."""
    return encoder_prefill(spec, "MI300X", images=images, image_size=image_size, audio_s=audio_s).flops


@dataclass(frozen=True)
class MultimodalServeResult(Printout):
    """:func:`infra_lab.serve` of a multimodal request mix.

    Attributes
    ----------
    result : the :class:`infra_lab.serving.ServeResult` (its input tokens include the image/
        audio positions, its ``encoder`` component the encoders)
    prefill : the :class:`EncoderPrefill` of one request
    text_input_tokens : the prompt's text tokens [tokens]
    """

    result: object
    prefill: EncoderPrefill
    text_input_tokens: int

    def _printout(self) -> str:
        """What print() and a notebook show: a readable printout, one field a line, 4 significant
        figures, each with its unit; the exact values are the attributes: the ServeResult's printout, then the encoder prefill's."""
        from .._repr import readable

        return "\n".join((readable(self, ("text_input_tokens",), title="multimodal serving", footer=""),
                          str(self.result), str(self.prefill)))


def serve(scenario: Scenario | dict[str, Any] | str | os.PathLike[str], *,
          images: float | None = None, image_size: int | tuple[int, int] | None = None,
          audio_s: float | None = None,
          batch: int | None = None, stack_params: dict | None = None,
          params: dict | None = None) -> MultimodalServeResult:
    """Serve requests that carry pictures and/or audio: encoder prefill, then the language
    model's prefill over text + image/audio positions, then decode (:func:`infra_lab.serve`).

    Parameters
    ----------
    scenario : a serving Scenario (dict/TOML/object) whose [model] is multimodal;
        ``serving.input_tokens`` is the TEXT part of the prompt
    images, image_size, audio_s : per request, as :func:`encoder_prefill`; None (the default):
        the scenario's own ``serving.images_per_request``, ``image_size``, ``audio_s_per_request``
        (before, a left-out value replaced them with 0 pictures, 0 s and the encoder's own size:
        ``mm.serve("maia-class-serving-mi300x")`` served text alone where ``il.serve`` of the
        same scenario encodes its pictures and speech)
    batch : requests whose items the engine encodes together [-]; None: ``serving.encoder_batch``
    params : overrides of the serving stack's factors, as :func:`infra_lab.serve` takes them (the
        name every call that takes stack-factor overrides uses: il.estimate, il.search, il.serve,
        il.serve_search, il.multimodal.estimate); ``stack_params`` is its other name, as in
        il.serve (one of the two, not both)

    Returns
    -------
    MultimodalServeResult

    Notes
    -----
    A thin alias: the media go into the [serving] table (``images_per_request``, ``image_size``,
    ``audio_s_per_request``, ``encoder_batch``) and ``il.serve`` takes the encoder time and the
    extra prompt positions from :func:`encoder_prefill` (one owner). Cross-attention systems:
    decode's attention to the memory is not in ``il.serve`` (an approximation: their memory
    k/v projection is in the prefill).

    Examples
    --------
    >>> from infra_lab import multimodal as mm
    >>> sc = {"model": {"preset": "qwen2.5-vl-7b"}, "hardware": {"accelerator": "MI300X", "nodes": 1,
    ...       "gpus_per_node": 1}, "serving": {"engine": "vllm", "input_tokens": 64, "output_tokens": 128,
    ...       "concurrency": 8}}
    >>> r = mm.serve(sc, images=1, image_size=448)
    >>> r.result.scenario.serving.input_tokens, r.result.scenario.serving.images_per_request
    (64, 1.0)
    """
    from ..scenario import as_scenario
    from ..serving import serve as il_serve

    sc = as_scenario(scenario)
    if sc.serving is None:
        raise ValidationError("scenario: a serving scenario ([serving] table) is needed")
    spec = sc.multimodal
    if spec is None:
        raise ValidationError(f"[model] = {sc.model!r}: a text-only model; multimodal presets: "
                              f"{', '.join(system_names())}")
    sv = sc.serving
    # one owner: a value left out is the scenario's, as il.serve reads it
    images = sv.images_per_request if images is None else images
    if image_size is None and V.is_real(images) and images > 0:   # no pictures: no size (the table refuses one)
        image_size = sv.image_size
    audio_s = sv.audio_s_per_request if audio_s is None else audio_s
    batch = sv.encoder_batch if batch is None else batch
    pre = encoder_prefill(spec, sc.hardware.accelerator, images=images, image_size=image_size, audio_s=audio_s,
                          tp=sv.tp, batch=batch, hardware=sc.hardware)
    d = sc.to_dict()
    d["serving"] = {**d["serving"], "images_per_request": float(images), "image_size": image_size,
                    "audio_s_per_request": float(audio_s), "encoder_batch": batch}
    return MultimodalServeResult(il_serve(d, stack_params=stack_params, params=params), pre, int(sv.input_tokens))


__all__ = ["EncoderPrefill", "encoder_prefill", "encoder_flops_per_request", "MultimodalServeResult", "serve"]
