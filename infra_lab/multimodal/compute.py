"""Encoder and adapter compute, composed from the compute model.

* Encoder transformer layers: :func:`infra_lab.compute.layer_ops` on the encoder's layer
  (:attr:`EncoderSpec.layer_spec`), bidirectional (``causal=False``), one image (its
  patches) or one 30-s audio window (its frames) per sequence, windowed layers with the
  model's window; forward and, for a trained encoder, backward.
* Stems (patch embedding, Whisper's two convolutions as GEMMs over im2col'd inputs),
  projectors (linear, 2-layer MLP) and cross-attention layers: GEMMs timed by
  :func:`infra_lab.compute.gemm_times` (forward (m, n, k); backward = input gradient
  (m, k, n) + weight gradient (k, n, m); a stem has no input gradient) and the cross-attention
  core by :func:`infra_lab.compute.attention_cost` (non-causal, queries × memory tokens).
* Activation memory of a trained encoder: :func:`infra_lab.memory.activation_bytes_per_layer`.

Approximations (stated in docs/multimodal.md): encoders run in BF16 whatever the LM's
precision; stems and projectors are replicated over tensor-parallel ranks; the element-wise
ops of stems and projectors are left out; with tensor parallelism an encoder whose heads
tp does not divide runs at the largest tp' dividing both, its items split over tp/tp'.
"""

from __future__ import annotations

import functools
import math
from typing import TYPE_CHECKING

import numpy as np
import polars as pl

from .. import _validate as V
from ..errors import ValidationError, unknown
from .specs import EncoderSpec, MultimodalSpec, _size, system

if TYPE_CHECKING:
    from collections.abc import Sequence

ENCODER_PRECISION = "bf16"
"""Precision of encoder, stem and projector GEMMs (an assumption: vision/audio towers are
commonly kept in BF16 when the language model trains in FP8)."""

_COLS = ("part", "pass", "component", "flops", "bytes", "time_s")
MAX_ENCODER_BATCH = 2**16
"""Items (pictures or audio windows) one encoder call takes at most: the compute model's bound
on a micro-batch (compute.layer_ops)."""
MAX_ENCODER_SEQ = 2**24
"""Patches of one picture at most: the compute model's bound on a sequence."""


def check_encoder_call(enc: EncoderSpec, items: float, image_size=None, *, tp: int = 1,
                       items_name: str = "items", size_name: str = "image_size") -> None:
    """Refuse an encoder call the compute model cannot time, naming the caller's field: more
    than :data:`MAX_ENCODER_BATCH` items encoded together, or a picture of more than
    :data:`MAX_ENCODER_SEQ` patches (the bounds of compute.layer_ops)."""
    seq = _item_shape(enc, image_size, None)[0]
    if seq > MAX_ENCODER_SEQ:
        raise ValidationError(f"{size_name} = {image_size!r}: {seq:,} patches per picture for {enc.name}; "
                              f"at most {MAX_ENCODER_SEQ:,} (the compute model's bound on a sequence)")
    k = max(1, int(round(float(items) / (int(tp) // encoder_tp(enc, int(tp))))))  # items per encoder-TP group
    what = "pictures" if enc.modality == "vision" else "audio windows"
    if k > MAX_ENCODER_BATCH:
        raise ValidationError(f"{items_name} = {items:g} {what} encoded together"
                              + (f" ({k:,} per encoder tensor-parallel group of tp = {tp})" if k != round(items) else "")
                              + "; "
                              f"allowed at most {MAX_ENCODER_BATCH:,} per encoder call "
                              "(the compute model's bound on a micro-batch)")


def encoder_tp(enc: EncoderSpec, tp: int) -> int:
    """Tensor-parallel size an encoder runs at inside a TP group of ``tp``: the largest
    divisor of tp that divides the encoder's heads [-].

    Parameters
    ----------
    enc : an encoder (from il.multimodal.encoder(name) or il.multimodal.system(name).vision)
    """
    if not isinstance(enc, EncoderSpec) or enc.modality == "codec":
        raise ValidationError(f"enc = {enc!r}: expected a vision or audio EncoderSpec")
    if isinstance(tp, bool) or not isinstance(tp, (int, np.integer)) or tp < 1:
        raise ValidationError(f"tp = {tp!r}: expected a positive integer")
    from ..fabric import constant

    if tp > constant("max_world_gpus"):   # the divisor scan below is linear in tp
        raise ValidationError(f"tp = {tp!r}: at most {int(constant('max_world_gpus')):,} GPUs (max_world_gpus)")
    return max(d for d in range(1, int(tp) + 1) if tp % d == 0 and enc.heads % d == 0)


def _passes(passes) -> tuple[str, ...]:
    if isinstance(passes, str) or not isinstance(passes, (tuple, list)) or not passes:
        raise ValidationError(f"passes = {passes!r}: expected a tuple of 'fwd' and/or 'bwd'")
    for p in passes:
        if p not in ("fwd", "bwd"):
            raise unknown("pass", p, ["fwd", "bwd"])
    return tuple(passes)


def _gemm_rows(shapes: list[tuple[str, str, float, float, float]], passes: tuple[str, ...], acc: str,
               prec: str, no_dgrad: tuple[str, ...] = ()) -> list[dict]:
    """Rows for named GEMMs (part, component, m, n, k) [elements] in each pass."""
    from .. import compute

    spec = []
    for part, comp, m, n, k in shapes:
        for ps in passes:
            if ps == "fwd":
                spec.append((part, ps, comp, m, n, k))
            else:
                if part not in no_dgrad:
                    spec.append((part, ps, comp, m, k, n))
                spec.append((part, ps, comp, k, n, m))
    if not spec:
        return []
    ms = np.array([max(1, round(x[3])) for x in spec], dtype=np.int64)
    ns = np.array([max(1, round(x[4])) for x in spec], dtype=np.int64)
    ks = np.array([max(1, round(x[5])) for x in spec], dtype=np.int64)
    t = compute.gemm_times(ms, ns, ks, acc, prec)
    eb = compute.ELEMENT_BYTES[prec]
    return [{"part": p, "pass": ps, "component": c, "flops": 2.0 * m * n * k,
             "bytes": eb * (m * k + k * n + m * n), "time_s": float(ti)}
            for (p, ps, c, m, n, k), ti in zip(spec, t, strict=True)]


@functools.lru_cache(maxsize=1024)
def _layer_rows(enc: EncoderSpec, seq: int, batch: int, tp: int, acc: str, passes: tuple[str, ...],
                window: int) -> pl.DataFrame:
    from .. import compute

    ops = compute.layer_ops(enc.layer_spec, seq, batch, tp, acc, ENCODER_PRECISION, causal=False,
                            flash=True, passes=passes, window=window)
    return ops.filter(pl.col("layer_kind") == "dense")


def _item_shape(enc: EncoderSpec, image_size, audio_clip_s) -> tuple[int, float, float]:
    """(encoder sequence length per item, stem rows per item, LM tokens per item) of one image
    or one audio window."""
    if enc.modality == "vision":
        g = enc.image_grid(*_size(image_size))
        cls_tok = g["tiles"] if enc.class_token else 0
        return int(g["patches"]), float(g["patches"] - cls_tok), float(g["lm_tokens"])
    if enc.modality == "audio":
        per_window = int(round(enc.window_s * enc.mel_frames_per_s / enc.conv_stride))
        return per_window, float(per_window), float(per_window / enc.pool_stride)
    raise ValidationError(f"encoder {enc.name!r} is a codec: it runs offline, no encoder compute")


def encoder_ops(spec: MultimodalSpec | str, modality: str, items: float, accelerator: str, *,
                tp: int = 1,
                passes: Sequence[str] = ("fwd",),
                image_size: int | tuple[int, int] | None = None) -> pl.DataFrame:
    """Timed ops of a modality's encoder + projector for ``items`` items on one rank.

    Parameters
    ----------
    spec : multimodal system or preset name
    modality : "vision" | "audio"
    items : pictures (vision) or 30-s windows (audio) processed [-], may be fractional (the
        time of the nearest whole batch ≥ 1 scaled linearly)
    accelerator : catalog name
    tp : tensor-parallel size of the rank's group [-] (see :func:`encoder_tp`)
    passes : ("fwd",) or ("fwd", "bwd")
    image_size : picture side [px] or (height, width) (None: the encoder's image_size)

    Returns
    -------
    polars.DataFrame: part ("stem" | "layers" | "projector"), pass, component (the compute
    model's component, "stem" or "projector"), flops [FLOP], bytes [bytes], time_s [s]

    Examples
    --------
    >>> from infra_lab import multimodal as mm
    >>> ops = mm.encoder_ops("qwen2.5-vl-7b", "vision", 8, "MI300X")
    >>> sorted(set(ops["part"]))
    ['layers', 'projector', 'stem']
    """
    from .. import catalog

    spec = system(spec)
    if modality not in ("vision", "audio"):
        raise unknown("modality", modality, ["vision", "audio"])
    enc = getattr(spec, modality)
    if enc is None:
        raise ValidationError(f"modality = {modality!r}: system {spec.name!r} has no {modality} encoder")
    n = float(_nonneg("items", items))
    if isinstance(tp, bool) or not isinstance(tp, (int, np.integer)) or tp < 1:
        raise ValidationError(f"tp = {tp!r}: expected a positive integer")
    ps = _passes(passes)
    acc = catalog.accelerator(accelerator).name
    if n == 0.0:
        return pl.DataFrame({c: [] for c in _COLS}, schema=dict(zip(_COLS, (pl.String, pl.String, pl.String,
                                                                            pl.Float64, pl.Float64, pl.Float64),
                                                                     strict=True)))
    seq, stem_rows, lm_tok = _item_shape(enc, image_size, None)
    tp = V.integer("tp", tp)
    tpe = encoder_tp(enc, tp)
    per_group = n / (int(tp) // tpe)            # items of one encoder-TP group
    check_encoder_call(enc, n, image_size, tp=tp)
    k = max(1, int(round(per_group)))
    scale = per_group / k
    rows: list[dict] = []
    # transformer layers (windowed and full)
    n_layers = enc.total_layers
    win = enc.window_patches if (enc.window_patches and enc.window_patches < seq) else 0
    n_full = len(enc.full_attention_layers) if win else n_layers
    groups = [(n_full, 0)] + ([(n_layers - n_full, win)] if win else [])
    for count, w in groups:
        if count <= 0:
            continue
        lr = _layer_rows(enc, seq, k, tpe, acc, ps, w)
        for r in lr.iter_rows(named=True):
            rows.append({"part": "layers", "pass": r["pass"], "component": r["component"],
                         "flops": r["flops"] * count * scale, "bytes": r["bytes"] * count * scale,
                         "time_s": r["time_s"] * count * scale})
    # stem and projector GEMMs (replicated over the TP group: every rank runs its share k)
    shapes: list[tuple[str, str, float, float, float]] = []
    if enc.modality == "vision":
        shapes.append(("stem", "stem", stem_rows * k, enc.hidden,
                       enc.in_channels * enc.temporal_patch * enc.patch_size ** 2))
    else:
        shapes.append(("stem", "stem", stem_rows * enc.conv_stride * k, enc.hidden, enc.mel_bins * enc.conv_kernel))
        shapes.append(("stem", "stem", stem_rows * k, enc.hidden, enc.hidden * enc.conv_kernel))
    kind = getattr(spec, f"{modality}_projector")
    m_proj = lm_tok * k
    width_in, width_out = enc.output_width, spec.lm.hidden
    if kind == "linear":
        shapes.append(("projector", "projector", m_proj, width_out, width_in))
    elif kind == "mlp2":
        hid = getattr(spec, f"{modality}_projector_hidden") or width_out
        shapes.append(("projector", "projector", m_proj, hid, width_in))
        shapes.append(("projector", "projector", m_proj, width_out, hid))
    for r in _gemm_rows(shapes, ps, acc, ENCODER_PRECISION, no_dgrad=("stem",)):
        r["flops"] *= scale
        r["bytes"] *= scale
        r["time_s"] *= scale
        rows.append(r)
    return pl.DataFrame(rows).select(_COLS)


def encoder_activation_bytes(spec: MultimodalSpec | str, modality: str, items: float, tp: int = 1,
                             *,
                             recompute: str = "none",
                             image_size: int | tuple[int, int] | None = None) -> float:
    """Activation bytes a trained encoder stores for backward for ``items`` items on one rank
    [bytes]: :func:`infra_lab.memory.activation_bytes_per_layer` of its layer × layers
    (flash attention, no dropout, BF16 activations).

    Parameters
    ----------
    modality : 'vision' or 'audio': which of the system's encoders
    items : images (vision) or audio clips (audio) on the rank [-], >= 0
    """
    from .. import memory

    spec = system(spec)
    enc = getattr(spec, modality) if modality in ("vision", "audio") else None
    if enc is None:
        raise ValidationError(f"modality = {modality!r}: system {spec.name!r} has no such encoder")
    n = float(_nonneg("items", items))
    if n == 0.0:
        return 0.0
    seq, _, _ = _item_shape(enc, image_size, None)
    tp = V.integer("tp", tp)
    tpe = encoder_tp(enc, tp)
    per_group = n / (int(tp) // tpe)
    k = max(1, int(round(per_group)))
    per = memory.activation_bytes_per_layer(enc.layer_spec, seq, k, tpe, recompute=recompute,
                                           flash_attention=True, dropout=False)["dense"]
    return float(per * enc.total_layers * per_group / k)


def cross_ops(spec: MultimodalSpec | str, text_tokens: float, memory_tokens: float,
              item_tokens: float,
              accelerator: str, *, tp: int = 1, passes: Sequence[str] = ("fwd",),
              precision: str = "bf16") -> pl.DataFrame:
    """Timed ops of all cross-attention layers for one micro-batch on one rank.

    Parameters
    ----------
    spec : system with ``cross_layers > 0``
    text_tokens : language-model positions of the micro-batch on this rank [tokens]
    memory_tokens : cross-attention memory tokens of the micro-batch (keys/values) [tokens]
    item_tokens : memory tokens each position attends to (one picture's or one window's) [tokens]
    accelerator, tp, passes : as :func:`encoder_ops`; precision : the LM's GEMM precision

    Returns
    -------
    polars.DataFrame: part ("cross_attention"), pass, component, flops, bytes, time_s (all
    cross layers)

    Notes
    -----
    Per layer: q and o projections on the text, k and v on the memory tokens (heads split
    over tp), the attention core of every position against ``item_tokens`` memory tokens
    (non-causal; with fewer memory than query tokens the kernel is priced with the roles
    swapped, the same block count), and the layer's own MLP when ``cross_mlp``.
    """
    from .. import catalog, compute

    spec = system(spec)
    if not spec.cross_layers:
        raise ValidationError(f"system {spec.name!r} has no cross-attention layers")
    T = float(_nonneg("text_tokens", text_tokens))
    M = float(_nonneg("memory_tokens", memory_tokens))
    C = float(_nonneg("item_tokens", item_tokens))
    ps = _passes(passes)
    acc = catalog.accelerator(accelerator).name
    lm = spec.lm
    if isinstance(tp, bool) or not isinstance(tp, (int, np.integer)) or tp < 1 or lm.heads % tp:
        raise ValidationError(f"tp = {tp!r}: expected a positive integer dividing the {lm.heads} LM heads")
    if T == 0.0 or M == 0.0 or C == 0.0:
        return pl.DataFrame({c: [] for c in _COLS}, schema=dict(zip(_COLS, (pl.String, pl.String, pl.String,
                                                                            pl.Float64, pl.Float64, pl.Float64),
                                                                     strict=True)))
    h, a, d = lm.hidden, lm.heads, lm.head_dim
    L = spec.cross_layers
    shapes = [("cross_attention", "attn_gemm", T, a * d / tp, h),
              _cross_kv_shape(spec, M, tp),
              ("cross_attention", "attn_gemm", T, h, a * d / tp)]
    if spec.cross_mlp:
        g = 3 if lm.gated else 2
        shapes += [("cross_attention", "mlp_gemm", T, (g - 1) * lm.ffn_hidden / tp, h),
                   ("cross_attention", "mlp_gemm", T, h, lm.ffn_hidden / tp)]
    rows = []
    for r in _gemm_rows(shapes, ps, acc, precision if precision in compute.PRECISIONS else "bf16"):
        rows.append({**r, "flops": r["flops"] * L, "bytes": r["bytes"] * L, "time_s": r["time_s"] * L})
    # attention core: queries = positions, keys = one item's memory, batch = items' worth
    q = max(1, int(round(min(T, C))))
    kvs = max(1, int(round(max(T, C))))
    batch_heads = (T * C) / (q * kvs) * a / tp
    for p in ps:
        c = compute.attention_cost(q, d, batch_heads, acc, p, False, kv_seq_len=kvs)
        rows.append({"part": "cross_attention", "pass": p, "component": "attention",
                     "flops": c["flops"] * L, "bytes": c["bytes"] * L, "time_s": c["time_s"] * L})
    return pl.DataFrame(rows).select(_COLS)


def _cross_kv_shape(spec: MultimodalSpec, memory_tokens: float, tp: int) -> tuple:
    """The k and v projections of the cross-attention memory (one GEMM per layer)."""
    lm = spec.lm
    return ("cross_attention", "attn_gemm", memory_tokens, 2 * lm.kv_heads * lm.head_dim / tp, spec.cross_kv_width())


def cross_kv_ops(spec: MultimodalSpec | str, memory_tokens: float, accelerator: str, *, tp: int = 1,
                 precision: str = "bf16") -> pl.DataFrame:
    """Forward k/v projections of the cross-attention memory in every cross-attention layer
    (what serving runs once per request and keeps as a cross-attention KV cache).

    Parameters
    ----------
    memory_tokens : the cross-attention memory of one request [tokens] (the encoder's output
        positions the cross-attention layers attend to)

    Returns
    -------
    polars.DataFrame: part, pass, component, flops [FLOP], bytes [bytes], time_s [s]
    """
    from .. import catalog, compute

    spec = system(spec)
    if not spec.cross_layers:
        raise ValidationError(f"system {spec.name!r} has no cross-attention layers")
    M = float(_nonneg("memory_tokens", memory_tokens))
    acc = catalog.accelerator(accelerator).name
    if isinstance(tp, bool) or not isinstance(tp, (int, np.integer)) or tp < 1 or spec.lm.kv_heads % tp:
        raise ValidationError(f"tp = {tp!r}: expected a positive integer dividing the {spec.lm.kv_heads} KV heads")
    if M == 0.0:
        return pl.DataFrame({c: [] for c in _COLS}, schema=dict(zip(_COLS, (pl.String, pl.String, pl.String,
                                                                            pl.Float64, pl.Float64, pl.Float64),
                                                                     strict=True)))
    prec = precision if precision in compute.PRECISIONS else "bf16"
    rows = [{**r, "flops": r["flops"] * spec.cross_layers, "bytes": r["bytes"] * spec.cross_layers,
             "time_s": r["time_s"] * spec.cross_layers}
            for r in _gemm_rows([_cross_kv_shape(spec, M, int(tp))], ("fwd",), acc, prec)]
    return pl.DataFrame(rows).select(_COLS)


def _nonneg(name: str, x) -> float:
    if isinstance(x, bool) or not isinstance(x, (int, float, np.integer, np.floating)) or not math.isfinite(x) \
            or x < 0:
        raise ValidationError(f"{name} = {x!r}: expected a finite number >= 0")
    return float(x)
