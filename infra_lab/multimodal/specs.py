"""Encoder and encoder + language-model system specifications, parameter counts, token math.

* :class:`EncoderSpec` — a vision transformer (patches, spatial merge, dynamic resolution or
  tiles), a Whisper-style audio encoder (mel frames, convolution stem, pooling) or a neural
  audio codec (frames per second × codebooks). Presets: ``data/models/encoders.csv``.
* :class:`MultimodalSpec` — encoders + projectors (linear, 2-layer MLP) and/or cross-attention
  layers + a text :class:`infra_lab.models.ModelSpec` (the language model, a preset of
  ``data/models/presets.csv`` or explicit fields). Presets: ``data/models/multimodal.csv``.

Parameters are counted exactly from the architecture fields (projections, biases, norms,
position and tile tables, gates), so published checkpoint counts are reproduced
(``systems()`` reports the error per preset).
"""

from __future__ import annotations

import dataclasses
import functools
import math
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from .. import catalog
from .._model_fields import _MAX_FIELD, _MAX_PARAMS, bounded_int
from ..catalog import Col
from ..errors import DataError, InfraLabError, ValidationError, check_positive, unknown
from ..scenario._checks import _py_list

ENCODERS_CSV = catalog.DATA_DIR / "models" / "encoders.csv"
SYSTEMS_CSV = catalog.DATA_DIR / "models" / "multimodal.csv"

MODALITIES = ("vision", "audio", "codec")
PROJECTORS = ("none", "linear", "mlp2")
_FFN_MATRICES = {"gelu": 2, "swiglu": 3}
_NORMS = ("layernorm", "rmsnorm")
_PROJ_NAMES = ("q", "k", "v", "o")

_ENC_INT = ("layers", "hidden", "heads", "ffn_hidden", "patch_size", "temporal_patch", "in_channels",
            "spatial_merge", "image_size", "min_pixels", "max_pixels", "max_tiles", "pos_rows",
            "tile_embedding_rows", "extra_norms", "global_layers", "intermediate_outputs",
            "window_patches", "mel_bins", "mel_frames_per_s", "conv_kernel", "conv_stride",
            "pool_stride", "codebooks", "lm_tokens_per_frame")
_ENC_FLOAT = ("window_s", "frame_rate_hz", "published_tol_pct")
_ENC_BOOL = ("mlp_bias", "patch_bias", "class_token")
_ENC_STR = ("name", "modality", "ffn_act", "norm", "source_url", "note")
_ENC_TUPLE = ("aliases", "attn_bias", "full_attention_layers")
ENCODER_FIELDS = frozenset(_ENC_INT + _ENC_FLOAT + _ENC_BOOL + _ENC_STR + _ENC_TUPLE
                           + ("published_params", "preset"))
"""Keys accepted in a ``[model.vision]`` / ``[model.audio]`` table."""

_SYS_INT = ("vision_projector_hidden", "audio_projector_hidden", "cross_layers", "cross_gates",
            "cross_norms", "extra_vocab")
_SYS_BOOL = ("cross_mlp", "cross_qk_norm")
_SYS_STR = ("vision_projector", "vision_projector_norm", "audio_projector", "cross_from")
SYSTEM_KEYS = frozenset(("vision", "audio", "cross_bias") + _SYS_INT + _SYS_BOOL + _SYS_STR)
"""Keys of a Scenario ``[model]`` table that belong to the multimodal system (the rest are
the language model's :data:`infra_lab.models.MODEL_FIELDS`)."""


MAX_IMAGE_SIDE_PX = 2**20
"""Largest picture side [px] the encoders take (a numeric bound, 1,048,576 px: far beyond any
camera; larger sides overflow the patch arithmetic)."""


def _num(name: str, x: Any, *, integer: bool = False, allow_zero: bool = True) -> float:
    return check_positive(name, x, integer=integer, allow_zero=allow_zero)


def _bool(name: str, x: Any) -> bool:
    if isinstance(x, bool) or type(x).__name__ == "bool_":
        return bool(x)
    raise ValidationError(f"{name} = {x!r}: expected true or false")


def _bounded_float(name: str, x: Any, *, allow_zero: bool = True) -> float:
    """A real field of an encoder or system table (seconds, rates; a tolerance in percent):
    finite, >= 0 (> 0 without ``allow_zero``) and at most ``_MAX_FIELD``, the bound on any
    single size of a model table (100 for a tolerance in percent)."""
    v = float(_num(name, x, allow_zero=allow_zero))
    hi = 100.0 if name.endswith("_pct") else _MAX_FIELD
    if v > hi:
        raise ValidationError(f"{name} = {x!r}: must be <= {hi:,.0f}"
                              + (" (a tolerance in percent)" if hi == 100.0 else " (physical bound)"))
    return v


def _aliases(name: str, x: Any) -> tuple[str, ...]:
    """Other names of a preset: a list of strings or one ';'-separated string."""
    if isinstance(x, str):
        items = x.split(";")
    elif isinstance(x, (list, tuple)) and all(isinstance(a, str) for a in x):
        items = list(x)
    else:
        raise ValidationError(f"{name} = {x!r}: expected a list of names or a ';'-separated string")
    return tuple(a.strip().lower() for a in items if a.strip())


def _names(name: str, x: Any, allowed: tuple[str, ...] | None = None) -> tuple:
    if isinstance(x, str):
        items = [] if x.strip().lower() == "none" else [p.strip() for p in x.split(";") if p.strip()]
    elif isinstance(x, (list, tuple)):
        items = list(x)
    else:
        raise ValidationError(f"{name} = {x!r}: expected a list or a ';'-separated string")
    if allowed is not None:
        for it in items:
            if it not in allowed:
                raise unknown(name.split(".")[-1] + " entry", it, allowed, where=name)
        return tuple(items)
    out = []
    for it in items:
        if isinstance(it, bool):
            raise ValidationError(f"{name} = {x!r}: expected layer indices (integers)")
        try:
            v = int(it)
        except (TypeError, ValueError):
            raise ValidationError(f"{name} = {x!r}: expected layer indices (integers)") from None
        if isinstance(it, float) and it != v:
            raise ValidationError(f"{name} = {x!r}: expected layer indices (integers)")
        out.append(v)
    return tuple(out)


# --------------------------------------------------------------------------------------
# Encoders
# --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class EncoderSpec:
    """One vision or audio encoder (or an audio codec's tokeniser) [counts; sizes in elements].

    Parameters
    ----------
    modality : "vision" | "audio" | "codec"
    layers, hidden, heads, ffn_hidden : transformer layers, width, heads, MLP width
    ffn_act : "gelu" (2 matrices) or "swiglu" (gated, 3 matrices)
    norm : "layernorm" (weight + bias) or "rmsnorm" (weight)
    attn_bias : projections with a bias, a subset of ("q", "k", "v", "o") (Whisper: q, v, o);
        "none" or an empty list for none
    mlp_bias : MLP linear layers have biases
    patch_size, temporal_patch, in_channels, patch_bias : vision patch embedding (a
        convolution of in_channels × temporal_patch × patch² → hidden)
    spatial_merge : k × k neighbouring patches merged into one language-model token (Qwen2-VL
        family: 2); 1 = none
    image_size : native (square) input or tile size [px]; the default picture of a data mix
    min_pixels, max_pixels : dynamic-resolution bounds (Qwen2-VL family) [px]; 0 = fixed size
    max_tiles : tiles of ``image_size`` per image (Llama 3.2 Vision: 4); 0 = no tiling
    class_token : a class token is prepended (per tile)
    pos_rows : rows of a learned position table (0 = RoPE or none)
    tile_embedding_rows : aspect-ratio embedding rows of a tiled encoder (Llama 3.2: 9)
    extra_norms : norms outside the layers (pre/post or final) [count]
    global_layers : extra gated layers (Llama 3.2 Vision: 8, two scalar gates each)
    intermediate_outputs : outputs of earlier layers concatenated to the final one
    window_patches : windowed-attention span (Qwen2.5-VL: 64 patches); 0 = full attention
    full_attention_layers : layer indices with full attention despite a window
    mel_bins, mel_frames_per_s, conv_kernel, conv_stride : Whisper stem (two Conv1d: mel_bins
        → hidden, hidden → hidden with ``conv_stride``)
    window_s : audio window every clip is padded to [s] (Whisper: 30)
    pool_stride : average pooling of encoder frames before the language model (Qwen2-Audio: 2)
    frame_rate_hz, codebooks, lm_tokens_per_frame : audio codec frames per second [Hz],
        residual codebooks per frame and the language-model positions one frame takes
    published_params, published_tol_pct : a published count of this encoder and its tolerance
    """

    name: str = "custom-encoder"
    aliases: tuple[str, ...] = ()
    modality: str = "vision"
    layers: int = 0
    hidden: int = 0
    heads: int = 0
    ffn_hidden: int = 0
    ffn_act: str = "gelu"
    norm: str = "layernorm"
    attn_bias: tuple[str, ...] = ("q", "k", "v", "o")
    mlp_bias: bool = True
    patch_size: int = 0
    temporal_patch: int = 1
    in_channels: int = 3
    patch_bias: bool = False
    spatial_merge: int = 1
    image_size: int = 0
    min_pixels: int = 0
    max_pixels: int = 0
    max_tiles: int = 0
    class_token: bool = False
    pos_rows: int = 0
    tile_embedding_rows: int = 0
    extra_norms: int = 0
    global_layers: int = 0
    intermediate_outputs: int = 0
    window_patches: int = 0
    full_attention_layers: tuple[int, ...] = ()
    mel_bins: int = 0
    mel_frames_per_s: int = 0
    conv_kernel: int = 0
    conv_stride: int = 1
    window_s: float = 0.0
    pool_stride: int = 1
    frame_rate_hz: float = 0.0
    codebooks: int = 0
    lm_tokens_per_frame: int = 1
    published_params: int | None = None
    published_tol_pct: float = 0.5
    source_url: str = ""
    note: str = field(default="", compare=False)

    # ------------------------------------------------------------------ building
    @classmethod
    def from_dict(cls, d: dict | str | EncoderSpec, where: str = "encoder") -> EncoderSpec:
        """A preset name, ``{"preset": name, **overrides}`` or explicit fields.

        Raises
        ------
        UnknownNameError : unknown preset or key (nearest names listed)
        ValidationError : a size that is not a non-negative integer, an invalid choice
        """
        if isinstance(d, EncoderSpec):
            return d
        if isinstance(d, str):
            return encoder(d)
        if not isinstance(d, dict) or not d:
            raise ValidationError(f"{where} = {d!r}: expected an encoder preset name or a table of fields")
        for k in d:
            if k not in ENCODER_FIELDS:
                raise unknown("encoder field", k, ENCODER_FIELDS, where=where)
        d = dict(d)
        preset = d.pop("preset", None)
        if preset is not None:
            base = encoder(preset)
            vals = {f.name: getattr(base, f.name) for f in dataclasses.fields(cls)}
            if d:
                vals["published_params"] = None
                vals["name"] = d.get("name", f"{base.name}*")
            vals.update(d)
        else:
            vals = d
        return cls._build(vals, where)

    @classmethod
    def _build(cls, v: dict, where: str = "encoder") -> EncoderSpec:
        out: dict[str, Any] = {}
        for k in _ENC_INT:
            if k in v and v[k] is not None:
                out[k] = bounded_int(f"{where}.{k}", v[k])
        for k in _ENC_FLOAT:
            if k in v and v[k] is not None:
                out[k] = _bounded_float(f"{where}.{k}", v[k])
        for k in _ENC_BOOL:
            if k in v and v[k] is not None:
                out[k] = _bool(f"{where}.{k}", v[k])
        for k in _ENC_STR:
            if k in v and v[k] is not None:
                if not isinstance(v[k], str):
                    raise ValidationError(f"{where}.{k} = {v[k]!r}: expected a string")
                out[k] = v[k]
        if v.get("aliases") is not None:
            out["aliases"] = _aliases(f"{where}.aliases", v["aliases"])
        if v.get("attn_bias") is not None:
            out["attn_bias"] = _names(f"{where}.attn_bias", v["attn_bias"], _PROJ_NAMES)
        if v.get("full_attention_layers") is not None:
            out["full_attention_layers"] = _names(f"{where}.full_attention_layers", v["full_attention_layers"])
        if v.get("published_params") is not None:
            out["published_params"] = bounded_int(f"{where}.published_params", v["published_params"],
                                                  allow_zero=False, hi=_MAX_PARAMS)
        for k, allowed in (("modality", MODALITIES), ("ffn_act", tuple(_FFN_MATRICES)), ("norm", _NORMS)):
            if k in out and out[k] not in allowed:
                raise unknown(k + " value", out[k], allowed, where=f"{where}.{k}")
        spec = cls(**out)
        spec._check(where)
        return spec

    def _check(self, where: str) -> None:
        def need(cond: bool, msg: str) -> None:
            if not cond:
                raise ValidationError(f"{where}: {msg}")

        if self.modality == "codec":
            need(self.frame_rate_hz > 0, f"frame_rate_hz = {self.frame_rate_hz}: must be > 0 for a codec")
            need(self.codebooks >= 1, f"codebooks = {self.codebooks}: must be >= 1 for a codec")
            need(self.lm_tokens_per_frame >= 1, "lm_tokens_per_frame: must be >= 1")
            return
        for k in ("layers", "hidden", "heads", "ffn_hidden"):
            need(getattr(self, k) > 0, f"{k} = {getattr(self, k)}: must be > 0 for a {self.modality} encoder")
        need(self.hidden % self.heads == 0, f"hidden = {self.hidden} is not divisible by heads = {self.heads}")
        bad = [i for i in self.full_attention_layers if not 0 <= i < self.layers]
        need(not bad, f"full_attention_layers = {bad}: indices must be in [0, {self.layers})")
        if self.modality == "vision":
            for k in ("patch_size", "image_size", "in_channels", "temporal_patch", "spatial_merge"):
                need(getattr(self, k) > 0, f"{k} = {getattr(self, k)}: must be > 0 for a vision encoder")
            need(self.image_size % self.patch_size == 0,
                 f"image_size = {self.image_size}: must be a multiple of patch_size = {self.patch_size}")
            need((self.min_pixels == 0) == (self.max_pixels == 0),
                 f"min_pixels = {self.min_pixels}, max_pixels = {self.max_pixels}: allowed both > 0 (dynamic "
                 "resolution) or both 0 (a fixed image_size)")
            need(self.min_pixels <= self.max_pixels,
                 f"min_pixels = {self.min_pixels} > max_pixels = {self.max_pixels}: allowed min_pixels <= max_pixels")
            need(not (self.max_tiles and self.min_pixels),
                 "max_tiles and min/max_pixels: a tiled encoder has no dynamic resolution")
        else:
            for k in ("mel_bins", "mel_frames_per_s", "conv_kernel", "conv_stride", "pool_stride"):
                need(getattr(self, k) > 0, f"{k} = {getattr(self, k)}: must be > 0 for an audio encoder")
            need(self.window_s > 0, f"window_s = {self.window_s}: must be > 0 for an audio encoder")
            frames = self.window_s * self.mel_frames_per_s / self.conv_stride
            need(abs(frames - round(frames)) < 1e-9,
                 f"window_s x mel_frames_per_s / conv_stride = {frames:g}: must be a whole number of frames")

    # ------------------------------------------------------------------ structure
    @property
    def head_dim(self) -> int:
        """hidden / heads [elements]."""
        return self.hidden // self.heads if self.heads else 0

    @property
    def total_layers(self) -> int:
        """layers + global_layers [count]."""
        return self.layers + self.global_layers

    @property
    def output_width(self) -> int:
        """Width of the features handed to the projector: hidden × (1 + intermediate_outputs)
        × spatial_merge² [elements]."""
        return self.hidden * (1 + self.intermediate_outputs) * self.spatial_merge ** 2

    def _norm(self, width: int) -> int:
        return 2 * width if self.norm == "layernorm" else width

    def _layer_params(self) -> int:
        h, f = self.hidden, self.ffn_hidden
        attn = 4 * h * h + h * len(self.attn_bias)
        m = _FFN_MATRICES[self.ffn_act]
        mlp = m * h * f + (((m - 1) * f + h) if self.mlp_bias else 0)
        return attn + mlp + 2 * self._norm(h)

    @functools.cached_property
    def _breakdown(self) -> dict[str, int]:
        out: dict[str, int] = {}
        if self.modality == "codec":
            return {"codec": 0}
        h = self.hidden
        if self.modality == "vision":
            k = self.in_channels * self.temporal_patch * self.patch_size ** 2
            out["patch_embedding"] = k * h + (h if self.patch_bias else 0)
            out["class_token"] = h if self.class_token else 0
            pos = self.pos_rows * h
            if self.tile_embedding_rows:
                grid = (self.image_size // self.patch_size) ** 2 + (1 if self.class_token else 0)
                # gated position embedding (gate + table + aspect-ratio tile table), pre- and
                # post-tile position embeddings (table + gate each)
                pos += 1 + self.tile_embedding_rows * self.max_tiles * grid * h
                pos += 2 * (self.tile_embedding_rows * self.max_tiles * h + 1)
            out["position_embeddings"] = pos
        else:
            c, kk = self.conv_kernel, self.hidden
            out["conv_stem"] = (self.mel_bins * c * kk + kk) + (kk * c * kk + kk)
            out["position_embeddings"] = self.pos_rows * h
        out["layers"] = self.layers * self._layer_params()
        out["global_layers"] = self.global_layers * (self._layer_params() + 2)
        out["norms"] = self.extra_norms * self._norm(h)
        return out

    @property
    def params_total(self) -> int:
        """All parameters of the encoder [count] (a codec's tokeniser: 0, not part of the model)."""
        return int(sum(self._breakdown.values()))

    def param_breakdown(self) -> pl.DataFrame:
        """Parameters by part: patch_embedding / conv_stem, class_token, position_embeddings,
        layers, global_layers, norms [count]."""
        b = self._breakdown
        return pl.DataFrame({"component": list(b), "params": list(b.values())},
                            schema={"component": pl.String, "params": pl.Int64})

    @functools.cached_property
    def layer_spec(self):
        """The encoder's transformer layer as a :class:`infra_lab.models.ModelSpec` (one dense
        kind, ``layers`` = total layers, bidirectional use) for the compute op tables and the
        activation-memory formula. Its vocabulary (1) and position fields are placeholders:
        use only its per-layer ops, never its parameter count or LM head."""
        from .. import models

        if self.modality == "codec":
            raise ValidationError(f"encoder {self.name!r} is a codec: it has no transformer layers")
        return models.ModelSpec._build({
            "name": f"{self.name}-layers", "layers": self.total_layers, "hidden": self.hidden,
            "heads": self.heads, "kv_heads": self.heads, "head_dim": self.head_dim,
            "ffn_hidden": self.ffn_hidden, "ffn_act": self.ffn_act, "vocab": 1,
            "norm": "layernorm" if self.norm == "layernorm" else "rmsnorm", "pos_emb": "none",
            "bias": self.mlp_bias, "attention": "mha",
        })

    # ------------------------------------------------------------------ token math
    def image_grid(self, height: int | None = None, width: int | None = None) -> dict[str, int]:
        """How one image becomes patches and tokens.

        Parameters
        ----------
        height, width : input picture [px] (None: ``image_size`` square)

        Returns
        -------
        dict: height_px, width_px (after resizing), tiles, patches (encoder sequence length:
        patches of every tile + class tokens), lm_tokens (tokens handed to the language model
        = patches / spatial_merge², class tokens excluded).

        Notes
        -----
        Dynamic resolution (``min_pixels > 0``, Qwen2-VL family): each side is rounded to a
        multiple of f = patch_size × spatial_merge; if the area leaves [min_pixels,
        max_pixels] both sides are scaled by √(area ratio) first (floored when shrinking,
        ceiled when growing). Tiled (``max_tiles > 0``, Llama 3.2 Vision): tiles =
        min(max_tiles, ⌈h/size⌉·⌈w/size⌉), each tile size² px (approximation of the
        library's best-fit canvas; padding tiles not counted). Fixed: resized to image_size².

        Examples
        --------
        >>> from infra_lab import multimodal as mm
        >>> mm.encoder("qwen2.5-vl-vit").image_grid(448, 448)["lm_tokens"]
        256
        """
        if self.modality != "vision":
            raise ValidationError(f"encoder {self.name!r} is a {self.modality} encoder: image_grid needs vision")
        h = self.image_size if height is None else int(_num("height", height, integer=True, allow_zero=False))
        w = self.image_size if width is None else int(_num("width", width, integer=True, allow_zero=False))
        for side, v in (("height", h), ("width", w)):
            if v > MAX_IMAGE_SIDE_PX:   # a numeric bound: patch counts of 1e300 px overflow a float
                raise ValidationError(f"{side} = {v!r} px: at most {MAX_IMAGE_SIDE_PX:,} px per side")
        p, m = self.patch_size, self.spatial_merge
        cls_tok = 1 if self.class_token else 0
        if self.min_pixels:
            if max(h, w) / min(h, w) > 200:
                raise ValidationError(f"image {h} x {w} px: aspect ratio above 200 (the Qwen2-VL processor refuses it)")
            f = p * m
            hb, wb = max(f, round(h / f) * f), max(f, round(w / f) * f)
            if hb * wb > self.max_pixels:
                beta = math.sqrt(h * w / self.max_pixels)
                hb, wb = max(f, math.floor(h / beta / f) * f), max(f, math.floor(w / beta / f) * f)
            elif hb * wb < self.min_pixels:
                beta = math.sqrt(self.min_pixels / (h * w))
                hb, wb = math.ceil(h * beta / f) * f, math.ceil(w * beta / f) * f
            patches = (hb // p) * (wb // p)
            return {"height_px": hb, "width_px": wb, "tiles": 1, "patches": patches,
                    "lm_tokens": patches // (m * m)}
        s = self.image_size
        grid = (s // p) ** 2
        if self.max_tiles:
            tiles = min(self.max_tiles, math.ceil(h / s) * math.ceil(w / s))
            th, tw = (math.ceil(h / s), math.ceil(w / s)) if tiles == math.ceil(h / s) * math.ceil(w / s) \
                else (tiles, 1) if h >= w else (1, tiles)
            return {"height_px": th * s, "width_px": tw * s, "tiles": tiles,
                    "patches": tiles * (grid + cls_tok), "lm_tokens": tiles * grid // (m * m)}
        return {"height_px": s, "width_px": s, "tiles": 1, "patches": grid + cls_tok,
                "lm_tokens": grid // (m * m)}

    def audio_frames(self, seconds: float) -> dict[str, float]:
        """How a clip becomes encoder frames and language-model tokens.

        Parameters
        ----------
        seconds : clip length [s]

        Returns
        -------
        dict: windows (encoder windows the clip is padded into), encoder_frames (frames the
        encoder computes: windows × window_s × mel_frames_per_s / conv_stride; 0 for a codec),
        lm_tokens (frames of the clip itself / pool_stride; codec: seconds × frame_rate_hz ×
        lm_tokens_per_frame), codec_tokens (codec: × codebooks).

        Examples
        --------
        >>> from infra_lab import multimodal as mm
        >>> mm.encoder("qwen2-audio-encoder").audio_frames(10.0)["lm_tokens"]
        250.0
        >>> mm.encoder("whisper-large-v3-encoder").audio_frames(10.0)["encoder_frames"]
        1500.0
        """
        if self.modality == "vision":
            raise ValidationError(f"encoder {self.name!r} is a vision encoder: audio_frames needs audio or codec")
        sec = _num("seconds", seconds, allow_zero=False)
        if self.modality == "codec":
            frames = sec * self.frame_rate_hz
            return {"windows": 0.0, "encoder_frames": 0.0, "lm_tokens": frames * self.lm_tokens_per_frame,
                    "codec_tokens": frames * self.codebooks}
        windows = float(math.ceil(sec / self.window_s - 1e-12))
        per_window = self.window_s * self.mel_frames_per_s / self.conv_stride
        clip_frames = sec * self.mel_frames_per_s / self.conv_stride
        return {"windows": windows, "encoder_frames": windows * per_window,
                "lm_tokens": float(round(clip_frames / self.pool_stride)), "codec_tokens": 0.0}

    @property
    def tokens_per_second(self) -> float:
        """Language-model tokens per second of audio [tokens/s] (audio and codec only)."""
        if self.modality == "vision":
            raise ValidationError(f"encoder {self.name!r} is a vision encoder: no tokens per second")
        if self.modality == "codec":
            return self.frame_rate_hz * self.lm_tokens_per_frame
        return self.mel_frames_per_s / self.conv_stride / self.pool_stride


# --------------------------------------------------------------------------------------
# Systems
# --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class MultimodalSpec:
    """An encoder + language-model system.

    Parameters
    ----------
    lm : the language model (:class:`infra_lab.models.ModelSpec`)
    vision, audio : encoders (None: modality absent)
    vision_projector, audio_projector : "linear" | "mlp2" (Linear + GELU + Linear) | "none"
    vision_projector_norm : norm over the encoder features before the projector ("rmsnorm",
        "layernorm" or "")
    vision_projector_hidden, audio_projector_hidden : mlp2 hidden width (0: the LM width)
    cross_layers : cross-attention layers added to the LM (Llama 3.2 Vision: 8; Whisper: one
        per decoder layer) [count]; their queries come from the text, keys/values from the
        ``cross_from`` modality's tokens, which then take no language-model positions
    cross_mlp, cross_gates, cross_qk_norm, cross_bias, cross_norms : a cross-attention layer's
        own MLP (LM-shaped), scalar gates, per-head q/k RMSNorm, projections with bias, norms
    extra_vocab : embedding rows added for image/audio placeholder tokens [count]
    published_params_total, published_tol_pct : published count and the check's tolerance [%]
    """

    name: str = "custom-multimodal"
    aliases: tuple[str, ...] = ()
    family: str = ""
    lm: Any = None
    vision: EncoderSpec | None = None
    audio: EncoderSpec | None = None
    vision_projector: str = "mlp2"
    vision_projector_norm: str = ""
    vision_projector_hidden: int = 0
    audio_projector: str = "linear"
    audio_projector_hidden: int = 0
    cross_layers: int = 0
    cross_from: str = ""
    cross_mlp: bool = False
    cross_gates: int = 0
    cross_qk_norm: bool = False
    cross_bias: tuple[str, ...] = ()
    cross_norms: int = 1
    extra_vocab: int = 0
    published_params_total: int | None = None
    published_tol_pct: float = 0.5
    source_url: str = ""
    note: str = field(default="", compare=False)

    def _check(self) -> None:
        if self.vision is None and self.audio is None:
            raise ValidationError(f"multimodal system {self.name!r}: give a vision and/or an audio encoder")
        if self.vision is not None and self.vision.modality != "vision":
            raise ValidationError(f"model.vision = {self.vision.name!r}: a {self.vision.modality} encoder; "
                                  "expected a vision encoder")
        if self.audio is not None and self.audio.modality == "vision":
            raise ValidationError(f"model.audio = {self.audio.name!r}: a vision encoder; expected audio or codec")
        for k in ("vision_projector", "audio_projector"):
            if getattr(self, k) not in PROJECTORS:
                raise unknown("projector", getattr(self, k), PROJECTORS, where=f"model.{k}")
        if self.vision_projector_norm not in ("", *_NORMS):
            raise unknown("projector norm", self.vision_projector_norm, ("", *_NORMS),
                          where="model.vision_projector_norm")
        if self.cross_layers:
            if self.cross_from not in ("vision", "audio"):
                raise unknown("cross_from value", self.cross_from, ("vision", "audio"), where="model.cross_from")
            enc = getattr(self, self.cross_from)
            if enc is None:
                raise ValidationError(f"model.cross_from = {self.cross_from!r}: the system has no "
                                      f"{self.cross_from} encoder")
            if enc.modality == "codec":
                raise ValidationError("model.cross_from: a codec's tokens are language-model tokens, "
                                      "not cross-attention memory")
            if self.lm.attention not in ("mha", "gqa"):
                raise ValidationError(f"model.cross_layers: cross-attention is modelled for mha/gqa language "
                                      f"models (attention = {self.lm.attention!r})")
        elif self.cross_from:
            raise ValidationError(f"model.cross_from = {self.cross_from!r}: needs cross_layers > 0")
        for mod in ("vision", "audio"):
            enc = getattr(self, mod)
            proj = getattr(self, f"{mod}_projector")
            if enc is None or enc.modality == "codec":
                continue
            if proj == "none":
                width = self.lm.hidden if self.cross_from != mod else None
                if width is not None and enc.output_width != width:
                    raise ValidationError(
                        f"model.{mod}_projector = 'none': the {mod} encoder's output width "
                        f"{enc.output_width} differs from the language model's {self.lm.hidden}; "
                        "use 'linear' or 'mlp2'")

    # ------------------------------------------------------------------ structure
    def inline(self, modality: str) -> bool:
        """True when the modality's tokens take language-model positions (False: they are
        cross-attention memory)."""
        return not (self.cross_layers and self.cross_from == modality)

    def encoders(self) -> dict[str, EncoderSpec]:
        """{"vision": …, "audio": …} for the encoders present."""
        return {m: e for m in ("vision", "audio") if (e := getattr(self, m)) is not None}

    def cross_kv_width(self) -> int:
        """Input width of the cross-attention keys/values [elements]: the LM width after a
        projector, else the encoder's output width."""
        if not self.cross_layers:
            return 0
        enc = getattr(self, self.cross_from)
        return enc.output_width if getattr(self, f"{self.cross_from}_projector") == "none" else self.lm.hidden

    def _projector_params(self, mod: str) -> int:
        enc = getattr(self, mod)
        kind = getattr(self, f"{mod}_projector")
        if enc is None or enc.modality == "codec" or kind == "none":
            return 0
        n_in, n_out = enc.output_width, self.lm.hidden
        if kind == "linear":
            p = n_in * n_out + n_out
        else:
            hid = getattr(self, f"{mod}_projector_hidden") or n_out
            p = n_in * hid + hid + hid * n_out + n_out
        if mod == "vision" and self.vision_projector_norm:
            p += (2 if self.vision_projector_norm == "layernorm" else 1) * enc.hidden
        return p

    def _cross_layer_params(self) -> int:
        lm = self.lm
        h, a, kv, d = lm.hidden, lm.heads, lm.kv_heads, lm.head_dim
        w = self.cross_kv_width()
        b = self.cross_bias
        p = h * a * d + w * kv * d * 2 + a * d * h
        p += a * d * ("q" in b) + kv * d * ("k" in b) + kv * d * ("v" in b) + h * ("o" in b)
        p += 2 * d if self.cross_qk_norm else 0
        p += self.cross_norms * (2 * h if lm.norm == "layernorm" else h)
        if self.cross_mlp:
            m = 3 if lm.gated else 2
            p += m * h * lm.ffn_hidden + (((m - 1) * lm.ffn_hidden + h) if lm.bias else 0)
        return p + self.cross_gates

    @functools.cached_property
    def _breakdown(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for mod in ("vision", "audio"):
            enc = getattr(self, mod)
            out[f"{mod}_encoder"] = enc.params_total if enc is not None else 0
            out[f"{mod}_projector"] = self._projector_params(mod)
        out["cross_attention"] = self.cross_layers * self._cross_layer_params() if self.cross_layers else 0
        out["extra_embeddings"] = self.extra_vocab * self.lm.hidden
        out["language_model"] = self.lm.params_total
        return out

    @property
    def params_total(self) -> int:
        """All parameters [count]."""
        return int(sum(self._breakdown.values()))

    @property
    def params_encoders(self) -> int:
        """Encoder parameters (vision + audio) [count]."""
        b = self._breakdown
        return b["vision_encoder"] + b["audio_encoder"]

    @property
    def params_adapters(self) -> int:
        """Projectors + cross-attention layers + extra embedding rows [count]."""
        b = self._breakdown
        return b["vision_projector"] + b["audio_projector"] + b["cross_attention"] + b["extra_embeddings"]

    def param_breakdown(self) -> pl.DataFrame:
        """Parameters by part: vision_encoder, vision_projector, audio_encoder,
        audio_projector, cross_attention, extra_embeddings, language_model [count]."""
        b = self._breakdown
        return pl.DataFrame({"component": list(b), "params": list(b.values())},
                            schema={"component": pl.String, "params": pl.Int64})

    def lm_tokens(self, *, images: float = 0.0, image_size: tuple[int, int] | int | None = None,
                  audio_s: float = 0.0) -> dict[str, float]:
        """Language-model positions and cross-attention memory of one request or sample.

        Parameters
        ----------
        images : pictures [count]; image_size : [px] square side or (height, width) (None:
            the encoder's image_size); audio_s : seconds of audio [s]

        Returns
        -------
        dict: image_tokens (per image, in the LM sequence when inline), audio_tokens (for the
        whole clip), lm_positions (what the prompt grows by: inline tokens, or one placeholder
        per cross-attention item), cross_tokens (cross-attention memory tokens) [tokens]
        """
        n_img = _num("images", images)
        sec = _num("audio_s", audio_s)
        pos = cross = img_tok = aud_tok = 0.0
        if n_img:
            if self.vision is None:
                raise ValidationError(f"images = {images!r}: system {self.name!r} has no vision encoder")
            g = self.vision.image_grid(*_size(image_size))
            img_tok = float(g["lm_tokens"] if self.inline("vision") else g["patches"])
            if self.inline("vision"):
                pos += n_img * img_tok
            else:
                cross += n_img * img_tok
                pos += n_img
        if sec:
            if self.audio is None:
                raise ValidationError(f"audio_s = {audio_s!r}: system {self.name!r} has no audio encoder")
            fr = self.audio.audio_frames(sec)
            if self.inline("audio"):
                aud_tok = fr["lm_tokens"]
                pos += aud_tok
            else:
                aud_tok = fr["encoder_frames"]
                cross += aud_tok
        return {"image_tokens": img_tok, "audio_tokens": aud_tok, "lm_positions": pos, "cross_tokens": cross}


def _size(image_size, field_: str = "image_size") -> tuple[int | None, int | None]:
    """``image_size`` (None, a side [px] or (height, width)) as (height, width), each checked:
    an integer (an integral float such as 448.0 counts) in 1..:data:`MAX_IMAGE_SIDE_PX`. An
    invalid one is refused naming ``field_`` and its whole value (``image_size = (0, 448):
    height 0 ...``), not only the side."""
    image_size = _py_list(image_size)   # a numpy array of two sides is its list
    if image_size is None:
        return None, None
    allowed = f"a side [px] or (height, width), integers in 1..{MAX_IMAGE_SIDE_PX:,}"
    if isinstance(image_size, (list, tuple)):
        if len(image_size) != 2:
            raise ValidationError(f"{field_} = {image_size!r}: expected {allowed}")
        sides = (("height", image_size[0]), ("width", image_size[1]))
    else:
        sides = (("side", image_size),)
    out = []
    for side, v in sides:
        try:
            px = check_positive(side, v, integer=True)
        except ValidationError:
            raise ValidationError(f"{field_} = {image_size!r}: {side} {v!r} is not a positive integer; "
                                  f"expected {allowed}") from None
        if px > MAX_IMAGE_SIDE_PX:   # a numeric bound: patch counts of 1e300 px overflow a float
            raise ValidationError(f"{field_} = {image_size!r}: {side} {v!r} px is above {MAX_IMAGE_SIDE_PX:,} px; "
                                  f"expected {allowed}")
        out.append(int(px))
    return (out[0], out[-1])


# --------------------------------------------------------------------------------------
# Loading and lookup
# --------------------------------------------------------------------------------------
_ENC_SCHEMA = {"name": Col("str", required=True), "modality": Col("str", required=True, choices=MODALITIES)}
_SYS_SCHEMA = {"name": Col("str", required=True), "lm": Col("str", required=True)}


def _rows(path, schema) -> list[dict[str, Any]]:
    df = catalog.read_table(path, schema)
    out = []
    for row in df.iter_rows(named=True):
        out.append({k: (v.strip() if isinstance(v, str) else v) for k, v in row.items()
                    if v not in (None, "") and not (isinstance(v, str) and not v.strip())})
    return out


def _coerce(row: dict, ints, floats, bools) -> dict:
    r = dict(row)
    for k in ints:
        if k in r:
            r[k] = int(float(r[k]))
    for k in floats:
        if k in r:
            r[k] = float(r[k])
    for k in bools:
        if k in r:
            if str(r[k]).lower() not in ("true", "false"):
                raise ValueError(f"column {k}: {r[k]!r} is not true/false")
            r[k] = str(r[k]).lower() == "true"
    return r


@functools.lru_cache(maxsize=1)
def _encoders() -> tuple[dict[str, EncoderSpec], dict[str, str]]:
    specs: dict[str, EncoderSpec] = {}
    lookup: dict[str, str] = {}
    for i, row in enumerate(_rows(ENCODERS_CSV, _ENC_SCHEMA), start=2):
        try:
            r = _coerce(row, _ENC_INT + ("published_params",), _ENC_FLOAT, _ENC_BOOL)
            spec = EncoderSpec._build(r, where=f"{ENCODERS_CSV.name} row {i}")
        except (InfraLabError, ValueError) as e:
            raise DataError(f"{ENCODERS_CSV} row {i} ({row.get('name')}): {e}") from e
        for key in (spec.name.lower(), *spec.aliases):
            if key in lookup:
                raise DataError(f"{ENCODERS_CSV} row {i}: duplicate name or alias {key!r}")
            lookup[key] = spec.name
        specs[spec.name] = spec
    return specs, lookup


@functools.lru_cache(maxsize=1)
def _systems() -> tuple[dict[str, MultimodalSpec], dict[str, str]]:
    specs: dict[str, MultimodalSpec] = {}
    lookup: dict[str, str] = {}
    for i, row in enumerate(_rows(SYSTEMS_CSV, _SYS_SCHEMA), start=2):
        try:
            r = _coerce(row, _SYS_INT + ("published_params_total",), ("published_tol_pct",), _SYS_BOOL)
            spec = _system_from(r, where=f"{SYSTEMS_CSV.name} row {i}")
        except (InfraLabError, ValueError) as e:
            raise DataError(f"{SYSTEMS_CSV} row {i} ({row.get('name')}): {e}") from e
        for key in (spec.name.lower(), *spec.aliases):
            if key in lookup:
                raise DataError(f"{SYSTEMS_CSV} row {i}: duplicate name or alias {key!r}")
            lookup[key] = spec.name
        specs[spec.name] = spec
    return specs, lookup


def _system_from(r: dict, where: str) -> MultimodalSpec:
    """Build a system from a row/table whose ``lm`` is a ModelSpec, a preset name or a table."""
    from .. import models

    v: dict[str, Any] = {}
    lm = r.get("lm")
    if isinstance(lm, str):
        lm = models.get(lm)
    v["lm"] = models.ModelSpec.from_dict(lm)
    for mod in ("vision", "audio"):
        if r.get(mod) is not None:
            v[mod] = EncoderSpec.from_dict(r[mod], where=f"model.{mod}")
    for k in _SYS_INT:
        if r.get(k) is not None:
            v[k] = bounded_int(f"model.{k}", r[k])
    for k in _SYS_BOOL:
        if r.get(k) is not None:
            v[k] = _bool(f"model.{k}", r[k])
    for k in _SYS_STR:
        if r.get(k) is not None:
            if not isinstance(r[k], str):
                raise ValidationError(f"model.{k} = {r[k]!r}: expected a string")
            v[k] = r[k].lower()
    if r.get("cross_bias") is not None:
        v["cross_bias"] = _names("model.cross_bias", r["cross_bias"], _PROJ_NAMES)
    for k in ("name", "family", "source_url", "note"):
        if r.get(k) is not None:
            v[k] = str(r[k])
    if r.get("aliases") is not None:
        v["aliases"] = _aliases("model.aliases", r["aliases"])
    if r.get("published_params_total") is not None:
        v["published_params_total"] = bounded_int("model.published_params_total", r["published_params_total"],
                                                  allow_zero=False, hi=_MAX_PARAMS)
    if r.get("published_tol_pct") is not None:
        v["published_tol_pct"] = _bounded_float("model.published_tol_pct", r["published_tol_pct"],
                                                allow_zero=False)
    spec = MultimodalSpec(**v)
    spec._check()
    return spec


def encoder(name: str) -> EncoderSpec:
    """An encoder preset by name or alias (case-insensitive).

    Parameters
    ----------
    name : an encoder preset's name or alias (il.multimodal.encoder_names() lists them)

    Raises
    ------
    UnknownNameError : with the nearest preset names

    Examples
    --------
    >>> from infra_lab import multimodal as mm
    >>> mm.encoder("whisper-large-v3-encoder").params_total
    636968960
    """
    specs, lookup = _encoders()
    if not isinstance(name, str):
        raise ValidationError(f"encoder = {name!r}: expected a preset name (string)")
    key = name.strip().lower()
    if key not in lookup:
        raise unknown("encoder preset", name, list(specs), where="data/models/encoders.csv", aliases=lookup)
    return specs[lookup[key]]


def encoder_names() -> list[str]:
    """Encoder preset names, in file order."""
    return list(_encoders()[0])


def encoders() -> pl.DataFrame:
    """The encoder presets with their parameter counts.

    Returns
    -------
    polars.DataFrame: name, modality, layers, hidden, heads, params [count],
    published_params [count], error_pct [%], source_url
    """
    rows = []
    for s in _encoders()[0].values():
        err = None if s.published_params is None else 100.0 * (s.params_total / s.published_params - 1)
        rows.append({"name": s.name, "modality": s.modality, "layers": s.total_layers, "hidden": s.hidden,
                     "heads": s.heads, "params": s.params_total, "published_params": s.published_params,
                     "error_pct": err, "source_url": s.source_url})
    return pl.DataFrame(rows, schema={"name": pl.String, "modality": pl.String, "layers": pl.Int64,
                                      "hidden": pl.Int64, "heads": pl.Int64, "params": pl.Int64,
                                      "published_params": pl.Int64, "error_pct": pl.Float64,
                                      "source_url": pl.String})


def system(name_or_table: str | dict | MultimodalSpec) -> MultimodalSpec:
    """A multimodal system: a preset name/alias, a Scenario ``[model]`` table (see
    :func:`resolve_model`) or a :class:`MultimodalSpec` (returned as is).

    Parameters
    ----------
    name_or_table : a multimodal preset's name or alias (il.multimodal.system_names() lists
        them), a [model] table or a MultimodalSpec

    Raises
    ------
    UnknownNameError : unknown preset (nearest names listed)
    ValidationError : a table that is not a multimodal model

    Examples
    --------
    >>> from infra_lab import multimodal as mm
    >>> mm.system("qwen2.5-vl-7b").params_total
    8292166656
    """
    if isinstance(name_or_table, MultimodalSpec):
        return name_or_table
    if isinstance(name_or_table, dict):
        s = resolve_model(name_or_table)
        if s is None:
            raise ValidationError(f"model = {name_or_table!r}: a text-only model (no vision or audio encoder); "
                                  f"multimodal presets: {', '.join(system_names())}")
        return s
    if not isinstance(name_or_table, str):
        raise ValidationError(f"system = {name_or_table!r}: expected a preset name, a [model] table or a MultimodalSpec")
    specs, lookup = _systems()
    key = name_or_table.strip().lower()
    if key not in lookup:
        raise unknown("multimodal preset", name_or_table, list(specs), where="data/models/multimodal.csv", aliases=lookup)
    return specs[lookup[key]]


def system_names() -> list[str]:
    """Multimodal system preset names, in file order."""
    return list(_systems()[0])


def is_system_name(name: Any) -> bool:
    """True when ``name`` is a multimodal system preset or alias.

    Parameters
    ----------
    name : any value; a multimodal preset's name or alias gives True
        (il.multimodal.system_names() lists them)
    """
    return isinstance(name, str) and name.strip().lower() in _systems()[1]


def systems() -> pl.DataFrame:
    """The multimodal presets with their parameter counts against the published ones.

    Returns
    -------
    polars.DataFrame: name, lm, vision, audio, params_total, params_lm, params_encoders,
    params_adapters [count], published_params_total [count], error_pct [%], tol_pct [%],
    source_url
    """
    rows = []
    for s in _systems()[0].values():
        pub = s.published_params_total
        rows.append({"name": s.name, "lm": s.lm.name, "vision": s.vision.name if s.vision else None,
                     "audio": s.audio.name if s.audio else None, "params_total": s.params_total,
                     "params_lm": s.lm.params_total, "params_encoders": s.params_encoders,
                     "params_adapters": s.params_adapters, "published_params_total": pub,
                     "error_pct": None if pub is None else 100.0 * (s.params_total / pub - 1),
                     "tol_pct": s.published_tol_pct, "source_url": s.source_url})
    return pl.DataFrame(rows, schema={"name": pl.String, "lm": pl.String, "vision": pl.String,
                                      "audio": pl.String, "params_total": pl.Int64, "params_lm": pl.Int64,
                                      "params_encoders": pl.Int64, "params_adapters": pl.Int64,
                                      "published_params_total": pl.Int64, "error_pct": pl.Float64,
                                      "tol_pct": pl.Float64, "source_url": pl.String})


# --------------------------------------------------------------------------------------
# Scenario [model] tables
# --------------------------------------------------------------------------------------
def is_multimodal_table(table: Any) -> bool:
    """True when a Scenario ``[model]`` table names a multimodal preset or carries
    vision/audio/adapter keys.

    Parameters
    ----------
    table : a Scenario's [model] table (a dict), e.g. sc.to_dict()['model']
    """
    if not isinstance(table, dict):
        return False
    return is_system_name(table.get("preset")) or any(k in SYSTEM_KEYS for k in table)


def split_model_table(table: dict) -> tuple[dict, dict]:
    """(language-model table, system keys) of a Scenario ``[model]`` table.

    With ``preset`` = a multimodal preset the language model is that preset's LM (its
    ``preset`` name) plus any LM fields given alongside; otherwise the LM is the table
    without the system keys.

    Parameters
    ----------
    table : a Scenario's [model] table (a dict)
    """
    if not isinstance(table, dict):
        raise ValidationError(f"table = {table!r:.80}: expected the [model] table as a dict")
    lm = {k: v for k, v in table.items() if k not in SYSTEM_KEYS}
    sysk = {k: v for k, v in table.items() if k in SYSTEM_KEYS}
    if is_system_name(lm.get("preset")):
        base = system(lm["preset"])
        lm["preset"] = base.lm.name
    return lm, sysk


@functools.lru_cache(maxsize=256)
def _resolve_cached(frozen: tuple) -> MultimodalSpec | None:
    table = _thaw(frozen)
    return _resolve(table)


def _freeze(x: Any) -> Any:
    if isinstance(x, dict):
        return ("__dict__", tuple(sorted((k, _freeze(v)) for k, v in x.items())))
    if isinstance(x, list):
        return ("__list__", tuple(_freeze(v) for v in x))
    return x


def _thaw(x: Any) -> Any:
    if isinstance(x, tuple) and len(x) == 2 and x[0] == "__dict__":
        return {k: _thaw(v) for k, v in x[1]}
    if isinstance(x, tuple) and len(x) == 2 and x[0] == "__list__":
        return [_thaw(v) for v in x[1]]
    return x


def _resolve(table: dict) -> MultimodalSpec | None:
    from .. import models

    if not is_multimodal_table(table):
        return None
    lm_table, sysk = split_model_table(table)
    preset = table.get("preset")
    if is_system_name(preset):
        base = system(preset)
        vals: dict[str, Any] = {f.name: getattr(base, f.name) for f in dataclasses.fields(MultimodalSpec)}
        changed = bool(sysk) or any(k != "preset" for k in lm_table)
        if changed:
            vals["published_params_total"] = None
            vals["name"] = f"{base.name}*"
        vals["lm"] = models.ModelSpec.from_dict(lm_table)
        for k, val in sysk.items():
            vals[k] = val
        if isinstance(vals.get("cross_bias"), tuple):
            vals["cross_bias"] = list(vals["cross_bias"])
        return _system_from(vals, where="[model]")
    vals = dict(sysk)
    vals["lm"] = models.ModelSpec.from_dict(lm_table)
    vals["name"] = f"{vals['lm'].name}+mm"
    return _system_from(vals, where="[model]")


def resolve_model(table: dict) -> MultimodalSpec | None:
    """The multimodal system a Scenario ``[model]`` table describes, or None (text only).

    Forms: ``{"preset": "qwen2.5-vl-7b"}`` (a system preset; LM fields given alongside
    override its language model, system keys override its adapters) or a language model
    (preset or fields) with ``vision`` / ``audio`` (an encoder preset name or a table with
    ``preset`` and/or encoder fields) and adapter keys (:data:`SYSTEM_KEYS`).

    Parameters
    ----------
    table : a Scenario's [model] table (a dict), in one of the forms above

    Raises
    ------
    ValidationError / UnknownNameError : as for the LM (ModelSpec.from_dict) and encoders

    Examples
    --------
    >>> from infra_lab import multimodal as mm
    >>> s = mm.resolve_model({"preset": "llama3-8b", "vision": "qwen2.5-vl-vit",
    ...                       "vision_projector": "mlp2", "vision_projector_norm": "rmsnorm"})
    >>> s.lm.name, s.vision.name
    ('llama3-8b', 'qwen2.5-vl-vit')
    """
    if not isinstance(table, dict):
        raise ValidationError(f"[model] = {table!r}: expected a table (dict)")
    try:
        return _resolve_cached(_freeze(table))
    except TypeError:  # unhashable leaf values: validate without the cache
        return _resolve(table)
