"""Data mixes and sequence packing.

A :class:`DataMix` gives the share of text, image and audio tokens in the training stream,
the picture size and the mean clip length. :func:`packing_stats` draws a seeded stream of
samples with those shares (text documents with lognormal lengths from data, fixed-size
images, lognormal audio clips), packs their language-model positions into sequences of
``seq_len`` with first-fit-decreasing (:mod:`infra_lab._kernels.multimodal`) and reports
the padding waste and what one sequence holds on average (positions per modality, images,
seconds of audio, encoder windows, cross-attention memory). The step model
(:mod:`infra_lab.multimodal.training`) takes these per-sequence means.

Token shares count a cross-attention modality's memory tokens (they take no positions);
for inline modalities tokens and positions are the same thing.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import polars as pl

from .. import catalog
from .._repr import Printout
from ..catalog import Col
from ..errors import ValidationError, unknown
from .specs import MultimodalSpec, _bounded_float, _size, system

if TYPE_CHECKING:
    import numpy.typing as npt

MIX_CSV = catalog.DATA_DIR / "multimodal" / "data_mix.csv"
PACKINGS = ("ffd", "ff", "none")
"""Packing algorithms: first-fit-decreasing, first-fit in arrival order, none (one sample
per sequence, padded)."""

_BASES = ("measured", "derived", "fitted", "assumption", "simulated")


@functools.cache
def mix_parameters() -> pl.DataFrame:
    """The length-distribution parameters (data/multimodal/data_mix.csv): parameter, value,
    unit, basis, source_url, note."""
    return catalog.read_table(MIX_CSV, {"parameter": Col("str", required=True),
                                        "value": Col("float", required=True, positive=True),
                                        "unit": Col("str"), "basis": Col("str", required=True, choices=_BASES)})


def mix_parameter(name: str) -> float:
    """One value of :func:`mix_parameters` by name [its unit].

    Parameters
    ----------
    name : a parameter's name in il.multimodal.mix_parameters() (column parameter), e.g.
        'text_doc_mean_tokens'
    """
    from .._validate import name as _name

    _name("data-mix parameter", name, "a parameter name of data_mix.csv")
    df = mix_parameters()
    hit = df.filter(pl.col("parameter") == name)
    if hit.height == 0:
        raise unknown("data-mix parameter", name, df["parameter"].to_list(), where=str(MIX_CSV.name))
    return float(hit["value"][0])


def _share(name: str, x: Any) -> float:
    if isinstance(x, np.ndarray) and x.ndim == 0:   # np.array(0.25): the number it holds
        x = x.item()
    if isinstance(x, bool) or not isinstance(x, (int, float, np.integer, np.floating)) or not math.isfinite(x):
        raise ValidationError(f"training.data_mix.{name} = {x!r}: expected a share between 0 and 1")
    if not 0.0 <= float(x) <= 1.0:
        raise ValidationError(f"training.data_mix.{name} = {x!r}: must be between 0 and 1")
    return float(x)


@dataclass(frozen=True)
class DataMix:
    """Shares of the training stream and the shapes of its items.

    Attributes
    ----------
    text, image, audio : token shares [-], each in [0, 1], summing to 1
    image_size : (height, width) of every picture [px]; None = the vision encoder's image_size
    audio_clip_s : mean clip length [s]; None = data (LibriSpeech mean)
    packing : "ffd" (first-fit-decreasing), "ff" (first-fit in arrival order) or "none"
    """

    text: float = 1.0
    image: float = 0.0
    audio: float = 0.0
    image_size: tuple[int, int] | None = None
    audio_clip_s: float | None = None
    packing: str = "ffd"

    KEYS = ("text", "image", "audio", "image_size", "audio_clip_s", "packing")

    @classmethod
    def from_dict(cls, d: dict | DataMix | None) -> DataMix:
        """Validate a ``[training] data_mix`` table (missing shares are 0, except text, which
        defaults to 1 minus the others).

        Raises
        ------
        ValidationError : a share outside [0, 1], shares not summing to 1, a size that is not
            a positive integer, a string where a number belongs
        UnknownNameError : an unknown key or packing name
        """
        if d is None:
            return cls()
        if isinstance(d, DataMix):
            return d
        if not isinstance(d, dict):
            raise ValidationError(f"training.data_mix = {d!r}: expected a table with text, image, audio shares")
        for k in d:
            if k not in cls.KEYS:
                raise unknown("data_mix key", k, cls.KEYS, where="training.data_mix")
        img = _share("image", d.get("image", 0.0))
        aud = _share("audio", d.get("audio", 0.0))
        txt = _share("text", d["text"]) if "text" in d else max(0.0, 1.0 - img - aud)
        if abs(txt + img + aud - 1.0) > 1e-6:
            raise ValidationError(f"training.data_mix: text + image + audio = {txt + img + aud:g}; the shares "
                                  "must sum to 1")
        size = d.get("image_size")
        if size is not None:
            size = _size(size, "training.data_mix.image_size")   # positive integers [px], checked there
        clip = d.get("audio_clip_s")
        if clip is not None:
            try:
                clip = _bounded_float("training.data_mix.audio_clip_s", clip, allow_zero=False)
            except ValidationError as e:
                raise ValidationError(f"{e} (the mean clip length in seconds)") from None
        pk = d.get("packing", "ffd")
        if not isinstance(pk, str) or pk not in PACKINGS:
            raise unknown("packing", pk, PACKINGS, where="training.data_mix.packing")
        return cls(txt, img, aud, size, clip, pk)

    def to_dict(self) -> dict:
        """Plain dict (None values left out); ``DataMix.from_dict(m.to_dict()) == m``."""
        d: dict[str, Any] = {"text": self.text, "image": self.image, "audio": self.audio}
        if self.image_size is not None:
            d["image_size"] = list(self.image_size)
        if self.audio_clip_s is not None:
            d["audio_clip_s"] = self.audio_clip_s
        d["packing"] = self.packing
        return d

    def check_for(self, spec: MultimodalSpec | None) -> None:
        """Raise when the mix needs a modality the model lacks."""
        for mod in ("image", "audio"):
            share = getattr(self, mod)
            if share > 0:
                enc = None if spec is None else (spec.vision if mod == "image" else spec.audio)
                if enc is None:
                    name = "the text-only model" if spec is None else f"model {spec.name!r}"
                    raise ValidationError(f"training.data_mix.{mod} = {share:g}: {name} has no "
                                          f"{'vision' if mod == 'image' else 'audio'} encoder; allowed 0")


@dataclass(frozen=True)
class PackingStats(Printout):
    """What a packed sequence holds on average (per sequence of ``seq_len`` positions).

    Attributes
    ----------
    seq_len : positions per sequence [tokens]; sequences : sequences simulated [-]
    samples : samples packed [-]; waste : padding fraction of the positions [-]
    text_positions, image_positions, audio_positions : positions per sequence by modality
        [tokens]
    images : pictures per sequence [-]; audio_s : seconds of audio per sequence [s]
    audio_windows : encoder windows per sequence (Whisper pads every clip to 30 s) [-]
    cross_tokens : cross-attention memory tokens per sequence [tokens]
    image_tokens, audio_tokens_per_s : tokens per picture and per second of audio [tokens]
    encoder_patches : encoder sequence length per picture [tokens]
    encoder_frames_per_window : encoder frames per audio window [frames]
    shares : realised token shares (text, image, audio) [-]
    attention_fraction : attention-core work with per-sample (document) masks relative to
        causal attention over the whole sequence: mean over sequences of Σ len_i² / seq_len²
        (1 without packing: padded sequences run the whole length) [-]
    """

    seq_len: int
    sequences: int
    samples: int
    waste: float
    text_positions: float
    image_positions: float
    audio_positions: float
    images: float
    audio_s: float
    audio_windows: float
    cross_tokens: float
    image_tokens: float
    audio_tokens_per_s: float
    encoder_patches: float
    encoder_frames_per_window: float
    shares: tuple[float, float, float]
    attention_fraction: float = 1.0

    def _printout(self) -> str:
        """What print() and a notebook show: a readable printout, one field a line, 4 significant
        figures, each with its unit; the exact values are the attributes and :meth:`to_dict`."""
        from .._repr import readable

        return readable(self, title=f"packed sequences of {self.seq_len:,} positions (shares: text, image, audio)")

    @property
    def useful_positions(self) -> float:
        """Non-padding positions per sequence [tokens] = seq_len · (1 − waste)."""
        return self.text_positions + self.image_positions + self.audio_positions

    def to_dict(self) -> dict[str, Any]:
        d = {k: getattr(self, k) for k in self.__dataclass_fields__ if k != "shares"}
        d.update(useful_positions=self.useful_positions, text_share=self.shares[0],
                 image_share=self.shares[1], audio_share=self.shares[2])
        return d


def pack(lengths: npt.ArrayLike, seq_len: int, algorithm: str = "ffd", *,
         reference: bool = False) -> dict[str, Any]:
    """Pack sample lengths into sequences of ``seq_len`` positions.

    Parameters
    ----------
    lengths : positions of each sample [tokens], integers 1..seq_len
    seq_len : sequence length [tokens]
    algorithm : "ffd" (first-fit-decreasing), "ff" (first-fit in the given order) or "none"
        (one sample per sequence)
    reference : use the plain-Python first fit instead of the numba kernel

    Returns
    -------
    dict: sequences [-], waste (padding fraction) [-], bin (sequence of each sample, in the
    given order) [-], fill (positions used per sequence) [tokens]

    Examples
    --------
    >>> from infra_lab import multimodal as mm
    >>> r = mm.pack([3000, 2000, 1500, 1000, 500], 4096)
    >>> r["sequences"], round(r["waste"], 4)
    (2, 0.0234)
    """
    from .._kernels import multimodal as km

    s = int(_posint("seq_len", seq_len))
    if s > MAX_SEQ_LEN:
        raise ValidationError(f"seq_len = {seq_len!r}: at most {MAX_SEQ_LEN:,} tokens (2^24, as compute.layer_ops)")
    if not isinstance(algorithm, str) or algorithm not in PACKINGS:
        raise unknown("packing", algorithm, PACKINGS)
    if not isinstance(reference, bool):
        raise ValidationError(f"reference = {reference!r}: expected True or False")
    if isinstance(lengths, (str, bytes)):
        raise ValidationError(f"lengths = {lengths!r}: expected a sequence of positive integers")
    try:
        arr = np.asarray(lengths)
    except Exception:  # pragma: no cover - numpy accepts almost anything
        raise ValidationError(f"lengths = {lengths!r}: expected a sequence of positive integers") from None
    if arr.ndim != 1 or arr.size == 0 or arr.dtype.kind not in "iuf":
        raise ValidationError(f"lengths: expected a non-empty 1-D sequence of positive integers (got {arr.dtype}, "
                              f"shape {arr.shape})")
    if not np.all(np.isfinite(arr)) or np.any(arr != np.round(arr)) or np.any(arr < 1):
        raise ValidationError("lengths: every sample length must be a positive integer")
    if np.any(arr > s):
        raise ValidationError(f"lengths: a sample of {int(arr.max())} positions exceeds seq_len = {s}")
    a = arr.astype(np.int64)
    n = a.size
    if algorithm == "none":
        bins = np.arange(n, dtype=np.int64)
        nb = n
    else:
        order = np.argsort(-a, kind="stable") if algorithm == "ffd" else np.arange(n)
        srt = np.ascontiguousarray(a[order])
        if reference:
            b_sorted, nb = km.first_fit_reference(srt, s)
            b_sorted = np.asarray(b_sorted, dtype=np.int64)
        else:
            b_sorted = np.empty(n, dtype=np.int64)
            nb = int(km.first_fit(srt, s, b_sorted))
        bins = np.empty(n, dtype=np.int64)
        bins[order] = b_sorted
    fill = np.bincount(bins, weights=a, minlength=nb)
    return {"sequences": int(nb), "waste": float(1.0 - a.sum() / (nb * s)), "bin": bins, "fill": fill}


MAX_SEQ_LEN = 2**24
"""Longest sequence packed [tokens] (the bound of compute.layer_ops)."""
MAX_STREAM_POSITIONS = 2**25
"""Most positions one sample stream fills (sequences × seq_len): beyond it the default
sequence count is lowered (to no fewer than 16) and an explicit one is refused."""
MAX_STREAM_ITEMS = 2**18
"""Expected items (documents, pictures, clips) of a sample stream drawn with the default
sequence count; a mix of tiny items draws fewer sequences (at least 16) to stay near it."""


def _posint(name: str, x: Any) -> int:
    if isinstance(x, bool) or not isinstance(x, (int, np.integer)) or x < 1:
        raise ValidationError(f"{name} = {x!r}: expected a positive integer")
    return int(x)


def _lognormal(rng, mean: float, sigma: float, n: int) -> np.ndarray:
    mu = math.log(mean) - sigma * sigma / 2.0          # so that E[x] = mean
    return rng.lognormal(mu, sigma, n)


def sample_stream(spec: MultimodalSpec | str | dict | None, mix: DataMix | dict | None, seq_len: int,
                  *, seed: int = 0, sequences: int | None = None) -> pl.DataFrame:
    """A seeded stream of samples with the mix's token shares.

    Parameters
    ----------
    spec : multimodal system (None: text only)
    mix : :class:`DataMix` or its table
    seq_len : sequence length [tokens]
    seed : random seed [-]; sequences : sequences' worth of positions to draw (None: data, fewer beyond 2^25
        positions or about 2^18 items, at least 16)

    Returns
    -------
    polars.DataFrame: modality ("text" | "image" | "audio"), positions [tokens], tokens
    (positions, or cross-attention memory for a cross modality) [tokens], images [-],
    audio_s [s], windows (audio encoder windows) [-]

    Notes
    -----
    Text documents: lognormal lengths (mean and shape from data), cut into chunks of at most
    ``seq_len``. Images: ``mix.image_size`` each. Audio: lognormal clip lengths (mean
    ``mix.audio_clip_s``), capped at the encoder window and, when inline, at what fits a
    sequence. The number of samples of each modality is set so that the expected token
    shares equal the mix over a stream of ``sequences × seq_len`` positions.
    """
    s = _posint("seq_len", seq_len)
    if s > MAX_SEQ_LEN:
        raise ValidationError(f"seq_len = {seq_len!r}: at most {MAX_SEQ_LEN:,} tokens (2^24, as compute.layer_ops)")
    sd = seed
    if isinstance(sd, bool) or not isinstance(sd, (int, np.integer)) or sd < 0:
        raise ValidationError(f"seed = {seed!r}: expected an integer >= 0")
    if sequences is None:   # the data's count, fewer for very long sequences (memory): >= 16
        n_seq = min(int(mix_parameter("pack_sequences")), max(16, MAX_STREAM_POSITIONS // s))
    else:
        n_seq = _posint("sequences", sequences)
        if n_seq * s > MAX_STREAM_POSITIONS:
            raise ValidationError(f"sequences = {sequences!r}: sequences × seq_len = {n_seq * s:,} positions; at most "
                                  f"{MAX_STREAM_POSITIONS:,} per sample stream (memory)")
    spec = None if spec is None else system(spec)
    mix = DataMix.from_dict(mix)
    mix.check_for(spec)
    rng = np.random.default_rng(int(sd))
    budget = float(n_seq * s)                       # positions to fill
    # positions per token of each modality, and the tokens of one item
    ppt = {"text": 1.0}
    img_tok = img_pos = 0.0
    if mix.image > 0:
        g = spec.lm_tokens(images=1, image_size=mix.image_size)
        img_tok, img_pos = g["image_tokens"], g["lm_positions"]
        if img_pos > s:
            raise ValidationError(f"training.data_mix.image_size = {mix.image_size or spec.vision.image_size}: one "
                                  f"image takes {img_pos:g} positions, more than seq_len = {s}")
        ppt["image"] = img_pos / img_tok
    clip_mean = mix.audio_clip_s if mix.audio_clip_s is not None else mix_parameter("audio_clip_mean_s")
    if mix.audio > 0:
        enc = spec.audio
        cap = enc.window_s if enc.modality == "audio" else math.inf
        inline = spec.inline("audio")
        tps = enc.tokens_per_second
        if inline:
            cap = min(cap, s / tps)
        clip_mean = min(clip_mean, cap)
        frames = None if inline else enc.audio_frames(clip_mean)["encoder_frames"]
        ppt["audio"] = 1.0 if inline else 1.0 / max(frames, 1.0)
        clip_tok = clip_mean * tps if inline else frames   # tokens of a mean clip
    shares = {"text": mix.text, "image": mix.image, "audio": mix.audio}
    denom = sum(shares[m] * ppt[m] for m in ppt)
    if sequences is None:
        # tokens of one item of each modality (a clip: at least one); a mix of tiny items
        # (1-px pictures, clips shorter than a token) would fill the positions with millions
        # of rows (26 s for one estimate at seq_len 32,768): draw fewer sequences, >= 16
        per_item = {"text": min(mix_parameter("text_doc_mean_tokens"), s), "image": img_tok or 1.0,
                    "audio": max(1.0, clip_tok) if mix.audio > 0 else 1.0}
        items = budget / denom * sum(shares[m] / per_item[m] for m in shares)
        if items > MAX_STREAM_ITEMS:
            n_seq = max(16, min(n_seq, int(MAX_STREAM_ITEMS / items * n_seq)))
            budget = float(n_seq * s)
    tok_total = budget / denom
    rows_mod: list[np.ndarray] = []
    rows_pos: list[np.ndarray] = []
    rows_tok: list[np.ndarray] = []
    rows_img: list[np.ndarray] = []
    rows_sec: list[np.ndarray] = []
    rows_win: list[np.ndarray] = []

    def add(mod: int, pos, tok, img, sec, win) -> None:
        n = len(pos)
        rows_mod.append(np.full(n, mod, dtype=np.int8))
        rows_pos.append(np.asarray(pos, dtype=np.int64))
        rows_tok.append(np.asarray(tok, dtype=float))
        rows_img.append(np.asarray(img, dtype=float))
        rows_sec.append(np.asarray(sec, dtype=float))
        rows_win.append(np.asarray(win, dtype=float))

    if mix.text > 0:
        target = tok_total * mix.text
        mean, sig = mix_parameter("text_doc_mean_tokens"), mix_parameter("text_doc_sigma")
        n = max(1, int(math.ceil(target / mean * 1.3)) + 16)
        docs = np.maximum(1, np.round(_lognormal(rng, mean, sig, n))).astype(np.int64)
        cum = np.cumsum(docs)
        k = int(np.searchsorted(cum, target)) + 1
        docs = docs[: min(k, n)]
        full, rem = docs // s, docs % s
        chunks = np.concatenate([np.repeat(np.int64(s), int(full.sum())), rem[rem > 0]])
        add(0, chunks, chunks, np.zeros(chunks.size), np.zeros(chunks.size), np.zeros(chunks.size))
    if mix.image > 0:
        n_img = max(1, int(round(tok_total * mix.image / img_tok)))
        add(1, np.full(n_img, int(img_pos)), np.full(n_img, img_tok), np.ones(n_img), np.zeros(n_img),
            np.zeros(n_img))
    if mix.audio > 0:
        enc = spec.audio
        target = tok_total * mix.audio
        # every clip counts at least one token (lm_tok below), so a clip shorter than one
        # token (audio_clip_s = 1e-6) must not ask for target / 1e-5 draws (375 GiB before)
        n = max(1, int(math.ceil(target / max(clip_tok, 1.0) * 1.5)) + 16)
        secs = np.minimum(_lognormal(rng, clip_mean, mix_parameter("audio_clip_sigma"), n), cap)
        if enc.modality == "audio":
            win = np.ceil(secs / enc.window_s - 1e-12)
            frames = secs * enc.mel_frames_per_s / enc.conv_stride
            lm_tok = np.maximum(1.0, np.round(frames / enc.pool_stride))
            cross_tok = win * enc.window_s * enc.mel_frames_per_s / enc.conv_stride
        else:
            win = np.zeros(n)
            lm_tok = np.maximum(1.0, np.round(secs * enc.frame_rate_hz * enc.lm_tokens_per_frame))
            cross_tok = lm_tok
        if spec.inline("audio"):
            tok, pos = lm_tok, lm_tok.astype(np.int64)
        else:
            tok, pos = cross_tok, np.ones(n, dtype=np.int64)
        cum = np.cumsum(tok)
        k = min(n, int(np.searchsorted(cum, target)) + 1)
        add(2, pos[:k], tok[:k], np.zeros(k), secs[:k], win[:k])
    mods = np.array(["text", "image", "audio"])
    return pl.DataFrame({
        "modality": mods[np.concatenate(rows_mod)],
        "positions": np.concatenate(rows_pos), "tokens": np.concatenate(rows_tok),
        "images": np.concatenate(rows_img), "audio_s": np.concatenate(rows_sec),
        "windows": np.concatenate(rows_win),
    })


@functools.lru_cache(maxsize=512)
def _stats_cached(spec, mix: DataMix, seq_len: int, seed: int, sequences: int | None) -> PackingStats:
    st = sample_stream(spec, mix, seq_len, seed=seed, sequences=sequences)
    # shuffle the stream (seeded) so first-fit in arrival order sees modalities interleaved
    rng = np.random.default_rng(seed + 1)
    perm = rng.permutation(st.height)
    st = st[perm]
    pos = st["positions"].to_numpy()
    res = pack(pos, seq_len, mix.packing)
    nb = res["sequences"]
    if mix.packing == "none":
        att = 1.0
    else:
        sq = np.bincount(res["bin"], weights=pos.astype(float) ** 2, minlength=nb)
        att = float(sq.mean() / float(seq_len) ** 2)
    by = {m: st.filter(pl.col("modality") == m) for m in ("text", "image", "audio")}
    tok = {m: float(by[m]["tokens"].sum()) for m in by}
    tot = sum(tok.values())
    img_tok = patches = 0.0
    if mix.image > 0:
        g = spec.vision.image_grid(*_size(mix.image_size))
        img_tok = float(spec.lm_tokens(images=1, image_size=mix.image_size)["image_tokens"])
        patches = float(g["patches"])
    tps = fpw = 0.0
    if mix.audio > 0:
        enc = spec.audio
        tps = enc.tokens_per_second
        if enc.modality == "audio":
            fpw = enc.window_s * enc.mel_frames_per_s / enc.conv_stride
    cross = sum(float(by[m]["tokens"].sum()) for m in ("image", "audio")
                if spec is not None and not spec.inline("vision" if m == "image" else "audio"))
    return PackingStats(
        seq_len=int(seq_len), sequences=nb, samples=st.height, waste=res["waste"],
        text_positions=float(by["text"]["positions"].sum()) / nb,
        image_positions=float(by["image"]["positions"].sum()) / nb,
        audio_positions=float(by["audio"]["positions"].sum()) / nb,
        images=float(by["image"]["images"].sum()) / nb, audio_s=float(by["audio"]["audio_s"].sum()) / nb,
        audio_windows=float(by["audio"]["windows"].sum()) / nb, cross_tokens=cross / nb,
        image_tokens=img_tok, audio_tokens_per_s=tps, encoder_patches=patches, encoder_frames_per_window=fpw,
        shares=tuple(tok[m] / tot for m in ("text", "image", "audio")), attention_fraction=att)


def packing_stats(spec: MultimodalSpec | str | dict | None, mix: DataMix | dict | None, seq_len: int, *,
                  seed: int = 0, sequences: int | None = None) -> PackingStats:
    """Pack a seeded sample stream and summarise one sequence (see :class:`PackingStats`).

    Parameters
    ----------
    spec : multimodal system, preset name or [model] table (None: text only)
    mix : :class:`DataMix` or its table; seq_len : [tokens]; seed : [-]
    sequences : sequences' worth of samples to draw (None: data, 512; fewer beyond 2^25 positions, at least 16)

    Examples
    --------
    >>> from infra_lab import multimodal as mm
    >>> st = mm.packing_stats("qwen2.5-vl-7b", {"text": 0.5, "image": 0.5}, 4096)
    >>> 0.0 <= st.waste < 0.05, round(st.images) > 0
    (True, True)
    """
    s = _posint("seq_len", seq_len)
    if s > MAX_SEQ_LEN:
        raise ValidationError(f"seq_len = {seq_len!r}: at most {MAX_SEQ_LEN:,} tokens (2^24, as compute.layer_ops)")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValidationError(f"seed = {seed!r}: expected an integer >= 0")
    spec = None if spec is None else system(spec)
    mix = DataMix.from_dict(mix)
    mix.check_for(spec)
    if sequences is not None:
        _posint("sequences", sequences)
    return _stats_cached(spec, mix, s, int(seed), sequences)
