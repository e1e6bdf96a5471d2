"""Model architectures: presets and the :class:`ModelSpec` that describes one.

A :class:`ModelSpec` describes one decoder-only language model: dense or
mixture-of-experts (MoE) transformer with MHA/GQA, MLA (DeepSeek) or CCA (ZAYA1)
attention, or a hybrid Mamba2 + shared-attention stack (Zamba2). Presets live in
``data/models/presets.csv`` (one row per model, with its source); see
``data/models/README.md`` for the columns and conventions.

Parameters and FLOPs are counted part by part in :mod:`infra_lab.model_counts` (its
docstring states the counting conventions); ModelSpec's ``params_*`` and ``flops_*``
members call it. Building and checking a spec from a ``[model]`` table is in
``infra_lab._model_fields``. The FLOP formulas and conventions (:func:`six_nd`,
:func:`narayanan_flops`, :data:`FLOP_CONVENTIONS`, :func:`training_flops_per_token`) are
re-exported here from :mod:`infra_lab.model_counts`.

Examples
--------
>>> from infra_lab import models
>>> models.get("llama3-8b").params_total
8030261248
>>> models.get("gpt2-small").params_total  # nanoGPT's transformer_sizing count (no biases)
124337664
>>> models.get("gpt2-small-hf").params_total  # the released checkpoint, with biases
124439808
"""

from __future__ import annotations

import dataclasses
import functools
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from . import _model_fields, catalog, model_counts
from ._model_fields import _BOOL_FIELDS, _FFN_ACTS, _FLOAT_FIELDS, _INT_FIELDS, _OPT_INT_FIELDS
from .model_counts import FLOP_CONVENTIONS, narayanan_flops, six_nd, training_flops_per_token

__all__ = [
    "ModelSpec",
    "MODEL_FIELDS",
    "get",
    "check_context",
    "max_positions",
    "presets",
    "preset_names",
    "six_nd",
    "narayanan_flops",
    "FLOP_CONVENTIONS",
    "training_flops_per_token",
]

PRESETS_CSV = catalog.DATA_DIR / "models" / "presets.csv"


@dataclass(frozen=True)
class ModelSpec:
    """One model architecture [plain counts; sizes are numbers of elements].

    Build it with :meth:`from_dict` (a Scenario ``[model]`` table: a preset name with
    optional overrides, or explicit fields) or :func:`get` (a preset by name).

    Parameters
    ----------
    layers : int
        Decoder layers [count]. For hybrid SSM models: Mamba2 layers (shared
        attention blocks are inserted before some of them).
    hidden : int
        Model (residual stream) width h [elements].
    heads, kv_heads, head_dim : int
        Query heads, key/value heads (GQA groups) and per-head width [count, elements].
    ffn_hidden : int
        Dense MLP intermediate width [elements] (dense layers; Zamba2 shared MLP).
    ffn_act : str
        ``"swiglu"``/``"geglu"`` (gated: 3 matrices) or ``"gelu"``/``"relu"`` (2 matrices).
    vocab : int
        Vocabulary size V [tokens].
    tied_embeddings : bool
        LM head shares the input embedding matrix.
    experts, top_k, expert_ffn_hidden : int
        Routed experts per MoE layer, experts per token, expert intermediate width.
    shared_experts, shared_expert_ffn_hidden : int
        Always-on experts per MoE layer and their intermediate width.
    dense_layers, moe_every : int
        The first ``dense_layers`` layers are dense; after them layer i is MoE when
        ``(i - dense_layers) % moe_every == 0``.
    attention : str
        ``"mha"``, ``"gqa"``, ``"mla"`` (uses q_lora_rank, kv_lora_rank, qk_nope_head_dim,
        qk_rope_head_dim, v_head_dim) or ``"cca"`` (uses cca_time0, cca_time1).
    ssm_* , shared_attn_*, lora_* : int
        Hybrid Mamba2 fields (state N, head dim P, expand, conv kernel, groups), the
        number of shared attention blocks and the layer indices they are inserted at,
        and the LoRA adapter rank per insertion.
    mtp_layers : int
        Multi-token-prediction modules (DeepSeek-V3: 1): a projection 2h → h, one more block
        of the last layer's kind and the shared LM head, trained alongside. Their parameters
        are not in ``params_total`` (published counts exclude them); see ``params_mtp``.
    router, router_hidden : str, int
        ``"linear"`` (h → E) or ``"mlp"`` (ZAYA1: h → r, then a 3-layer MLP to E+1 classes).
    router_groups, router_group_topk : int
        Group-limited routing: the routed experts form ``router_groups`` equal groups of
        consecutive experts and each token's top_k experts lie in at most
        ``router_group_topk`` of them (DeepSeek-V2's device-limited routing, 8 groups / 3;
        DeepSeek-V3's node-limited routing, 8 / 4: HF config ``n_group`` / ``topk_group``,
        Megatron-Core ``--moe-router-num-groups`` / ``--moe-router-group-topk``); 0 and 0 =
        no limit. It caps the distinct ranks and nodes a token is dispatched to
        (:func:`infra_lab.compute.moe_distinct_ranks`); parameter counts do not depend on it.
    bias, norm, pos_emb, qk_norm, residual_scale
        Architecture details that carry parameters: linear biases, ``"layernorm"``
        (weight+bias) / ``"layernorm_nobias"`` / ``"rmsnorm"``, ``"learned"`` position
        embeddings (``max_seq_len`` rows), per-head q/k RMSNorm, learned residual scales.
    sliding_window, full_attention_every : int
        Sliding-window attention (gpt-oss, Gemma, Mistral): layers with a window attend to
        the last ``sliding_window`` tokens only [tokens]; 0 = every layer full. With a
        window, layer i uses full attention when ``(i + 1) % full_attention_every == 0``
        (gpt-oss: 2, alternating sliding/full starting with sliding); 0 = every layer
        sliding. See :meth:`attention_windows`.
    attention_sinks : bool
        One learned sink logit per query head and layer in the softmax (gpt-oss): ``heads``
        parameters per attention layer, no KV cache.
    qkv_bias : bool
        Biases on the q/k/v projections only (Qwen2/Qwen2.5: ``a·d + 2·kv·d`` per attention
        layer); ``bias`` puts biases on every linear layer and implies them.
    expert_weight_format : str
        Checkpoint format of the routed-expert weights: ``""`` (same as the rest) or
        ``"mxfp4"`` (gpt-oss: OCP microscaling FP4, 4 bits + one 8-bit scale per 32).
        Used by the serving memory model; parameter counts do not depend on it.
    published_params_total, published_params_active : int or None
        Published counts [parameters] with ``published_basis`` (``"all"``,
        ``"non_embedding"``, or ``"active_without_input_embedding"``: total counts
        everything, active leaves out the input embedding table, as the gpt-oss model card
        does) and the tolerance used to check them [%].
    """

    name: str = "custom"
    aliases: tuple[str, ...] = ()
    family: str = ""
    arch: str = "transformer"
    layers: int = 0
    hidden: int = 0
    heads: int = 0
    kv_heads: int = 0
    head_dim: int = 0
    ffn_hidden: int = 0
    ffn_act: str = "swiglu"
    vocab: int = 0
    tied_embeddings: bool = False
    norm: str = "rmsnorm"
    pos_emb: str = "rope"
    experts: int = 0
    top_k: int = 0
    expert_ffn_hidden: int = 0
    shared_experts: int = 0
    shared_expert_ffn_hidden: int = 0
    dense_layers: int = 0
    moe_every: int = 1
    attention: str = "mha"
    q_lora_rank: int = 0
    kv_lora_rank: int = 0
    qk_nope_head_dim: int = 0
    qk_rope_head_dim: int = 0
    v_head_dim: int = 0
    ssm_layers: int = 0
    ssm_state: int = 0
    ssm_head_dim: int = 0
    ssm_expand: int = 0
    ssm_conv: int = 0
    ssm_groups: int = 1
    shared_attn_blocks: int = 0
    shared_attn_insertions: tuple[int, ...] = ()
    lora_rank: int = 0
    lora_attention: bool = False
    router: str = "linear"
    router_hidden: int = 0
    cca_time0: int = 0
    cca_time1: int = 0
    max_seq_len: int = 0
    mtp_layers: int = 0
    router_groups: int = 0
    router_group_topk: int = 0
    bias: bool = False
    qkv_bias: bool = False
    qk_norm: bool = False
    residual_scale: bool = False
    sliding_window: int = 0
    full_attention_every: int = 0
    attention_sinks: bool = False
    expert_weight_format: str = ""
    published_params_total: int | None = None
    published_params_active: int | None = None
    published_basis: str = "all"
    published_tol_pct: float = 0.5
    source_url: str = ""
    note: str = field(default="", compare=False)

    # ------------------------------------------------------------------ building
    @classmethod
    def from_dict(cls, d: dict[str, Any] | ModelSpec) -> ModelSpec:
        """Build and validate a spec from a Scenario ``[model]`` table.

        Parameters
        ----------
        d : dict
            Either ``{"preset": name, **overrides}`` or explicit fields (at least
            ``layers``, ``hidden``, ``heads``, ``vocab``). Defaults: ``kv_heads = heads``,
            ``head_dim = hidden / heads``, ``ffn_hidden = 4 hidden``, ``attention``
            inferred as ``"gqa"`` when ``kv_heads < heads`` else ``"mha"``.

        Returns
        -------
        ModelSpec

        Raises
        ------
        UnknownNameError
            Unknown key or preset name (the message lists the nearest valid ones).
        ValidationError
            A size that is not a positive integer, or an invalid choice.

        Examples
        --------
        >>> ModelSpec.from_dict({"layers": 2, "hidden": 64, "heads": 4, "vocab": 100}).head_dim
        16
        """
        return _model_fields.from_dict(cls, d)

    @classmethod
    def _build(cls, vals: dict[str, Any]) -> ModelSpec:
        """A validated spec from field values (``infra_lab._model_fields.build``)."""
        return _model_fields.build(cls, vals)

    def replace(self, **changes: Any) -> ModelSpec:
        """A validated copy with some fields changed (published counts dropped)."""
        vals = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        vals.update(published_params_total=None, published_params_active=None)
        vals.update(changes)
        return ModelSpec._build(vals)

    # ------------------------------------------------------------------ structure
    @property
    def gated(self) -> bool:
        """True when the MLP has a gate matrix (SwiGLU/GeGLU: 3 matrices)."""
        return _FFN_ACTS[self.ffn_act] == 3

    @property
    def d_inner(self) -> int:
        """Mamba2 inner width = ssm_expand · hidden [elements]."""
        return self.ssm_expand * self.hidden

    @property
    def ssm_heads(self) -> int:
        """Mamba2 heads = d_inner / ssm_head_dim [count]."""
        return self.d_inner // self.ssm_head_dim if self.ssm_head_dim else 0

    def layer_kinds(self) -> list[str]:
        """Kind of each layer, in order.

        ``"dense"`` (attention + dense MLP), ``"moe"`` (attention + MoE), ``"mamba2"``
        (Mamba2 mixer only) or ``"hybrid"`` (a shared attention + MLP block, its
        adapters and output linear, then a Mamba2 mixer). The attention flavour of
        ``dense``/``moe`` layers is ``spec.attention`` (``"mha"``, ``"gqa"``, ``"mla"``,
        ``"cca"``).

        Examples
        --------
        >>> get("deepseek-v3").layer_kinds()[:4]
        ['dense', 'dense', 'dense', 'moe']
        """
        if self.arch == "hybrid_ssm":
            ins = set(self.shared_attn_insertions)
            return ["hybrid" if i in ins else "mamba2" for i in range(self.layers)]
        if not self.experts:
            return ["dense"] * self.layers
        return [
            "dense" if i < self.dense_layers or (i - self.dense_layers) % self.moe_every else "moe"
            for i in range(self.layers)
        ]

    def attention_windows(self) -> list[int]:
        """Attention span of each attention-bearing layer, in order [tokens]; 0 = full.

        One entry per ``dense``/``moe``/``hybrid`` layer. With ``sliding_window = W > 0``,
        layer i attends to the last W tokens unless ``full_attention_every = F > 0`` and
        ``(i + 1) % F == 0`` (gpt-oss: F = 2, so layers 0, 2, 4, … slide, 1, 3, 5, … are full).

        Examples
        --------
        >>> get("gpt-oss-20b").attention_windows()[:4]
        [128, 0, 128, 0]
        """
        kinds = [k for k in self.layer_kinds() if k in ("dense", "moe", "hybrid")]
        w, f = self.sliding_window, self.full_attention_every
        if not w:
            return [0] * len(kinds)
        return [0 if f and (i + 1) % f == 0 else w for i in range(len(kinds))]

    def _attn_in(self) -> int:
        """Input width of the attention projections [elements]: 2·hidden in a hybrid SSM's
        shared blocks (they read the layer input concatenated with the embeddings), else hidden."""
        return 2 * self.hidden if self.arch == "hybrid_ssm" else self.hidden

    def layer_gemms(self, seq_len: int, micro_batch: int = 1, tp: int = 1, causal: bool = True
                    ) -> dict[str, list[tuple[str, float, float, float, float]]]:
        """Forward GEMMs of one layer of each kind as ``{kind: [(name, m, n, k, count)]}``.

        A thin view of :func:`infra_lab.compute.gemm_records` (which owns the GEMM list and
        tags each GEMM with a ``component``); kept for callers of the tuple form.

        Examples
        --------
        >>> g = get("llama3-8b").layer_gemms(4096, micro_batch=1)
        >>> g["dense"][0]
        ('qkv_proj', 4096.0, 6144.0, 4096.0, 1.0)
        """
        from .compute import gemm_records

        r = gemm_records(self, seq_len, micro_batch, tp, causal=causal)
        out: dict[str, list[tuple[str, float, float, float, float]]] = {}
        for kind, name, m, n, k, c in zip(r.kind, r.name, r.m, r.n, r.k, r.count, strict=True):
            out.setdefault(kind, []).append((name, m, n, k, c))
        return out

    def mtp_layer_kind(self) -> str:
        """Kind of the transformer layer inside each multi-token-prediction module: "moe" when
        the model's last layer is an MoE layer (DeepSeek-V3), else "dense". The one place the
        rule lives: the op table (:func:`infra_lab.compute.gemm_records`, ``layer_ops``), the
        parameters (:attr:`params_mtp`), the stage parameters and activations
        (:mod:`infra_lab.memory`) and the step model read it here."""
        return "moe" if (self.experts and self.layer_kinds()[-1] == "moe") else "dense"

    # ------------------------------------------------------------------ parameters (model_counts)
    @functools.cached_property
    def _breakdown(self) -> dict[str, tuple[int, int]]:
        """Parameters by component, ``{component: (total, active)}`` [count], kept per spec."""
        return model_counts.breakdown(self)

    @property
    def params_total(self) -> int:
        """Total parameters [count] (tied embeddings counted once)."""
        return model_counts.params_total(self)

    @property
    def params_active(self) -> int:
        """Parameters used per token [count]: all but the routed experts not chosen."""
        return model_counts.params_active(self)

    @property
    def params_embedding(self) -> int:
        """Embedding, position-embedding and (untied) LM-head parameters [count]."""
        return model_counts.params_embedding(self)

    def params_published_basis(self) -> tuple[int, int]:
        """(total, active) on this preset's ``published_basis`` [count]."""
        return model_counts.params_published_basis(self)

    def param_breakdown(self) -> pl.DataFrame:
        """Parameters by component [count], a frame (:func:`infra_lab.model_counts.param_breakdown`)."""
        return model_counts.param_breakdown(self)

    @property
    def params_mtp(self) -> int:
        """Parameters of the multi-token-prediction modules [count] (not in params_total;
        :func:`infra_lab.model_counts.params_mtp`)."""
        return model_counts.params_mtp(self)

    # ------------------------------------------------------------------ FLOPs (model_counts)
    def _forward_parts(self, seq_len: int, causal: bool) -> dict[str, float]:
        """Forward FLOPs per token by breakdown part [FLOP/token] (cached:
        :func:`infra_lab.model_counts.forward_parts`)."""
        return model_counts.forward_parts(self, seq_len, causal)

    def flops_breakdown(self, seq_len: int, causal: bool = True) -> pl.DataFrame:
        """Forward FLOPs per token by component [FLOP/token], a frame
        (:func:`infra_lab.model_counts.flops_breakdown`)."""
        return model_counts.flops_breakdown(self, seq_len, causal)

    def forward_flops_per_token(self, seq_len: int, causal: bool = True) -> float:
        """Forward FLOPs per token, all layers + LM head [FLOP/token]
        (:func:`infra_lab.model_counts.forward_flops_per_token`)."""
        return model_counts.forward_flops_per_token(self, seq_len, causal)

    def flops_per_token(self, seq_len: int, training: bool = True, causal: bool = True,
                        recompute: str = "none") -> float:
        """FLOPs per token of a training (or inference) step [FLOP/token]: 3 × forward plus the
        recomputed forward (:func:`infra_lab.model_counts.flops_per_token`)."""
        return model_counts.flops_per_token(self, seq_len, training, causal, recompute)

    def flops_per_token_conventions(self, seq_len: int, recompute: str = "none") -> pl.DataFrame:
        """Training FLOPs per token under every convention of :data:`FLOP_CONVENTIONS`
        [FLOP/token], a frame (:func:`infra_lab.model_counts.flops_per_token_conventions`)."""
        return model_counts.flops_per_token_conventions(self, seq_len, recompute)

    def flops_per_step(self, seq_len: int, global_batch: int, training: bool = True,
                       causal: bool = True, recompute: str = "none") -> float:
        """FLOPs of one optimizer step = flops_per_token · seq_len · global_batch [FLOP]
        (:func:`infra_lab.model_counts.flops_per_step`)."""
        return model_counts.flops_per_step(self, seq_len, global_batch, training, causal, recompute)


# ---------------------------------------------------------------------- module level
MODEL_FIELDS: frozenset[str] = frozenset(
    {f.name for f in dataclasses.fields(ModelSpec)} | {"preset"}
)
"""Keys accepted in a Scenario ``[model]`` table (used by the Scenario validator)."""


@functools.lru_cache(maxsize=1)
def _load() -> tuple[pl.DataFrame, dict[str, ModelSpec], dict[str, str]]:
    from .errors import DataError, InfraLabError

    try:
        df = pl.read_csv(PRESETS_CSV, infer_schema=False)
    except Exception as e:  # pragma: no cover
        raise DataError(f"{PRESETS_CSV}: cannot read ({e})") from e
    need = {"name", "source_url", "note"} | set(_INT_FIELDS) - {
        "ssm_groups", "router_hidden", "sliding_window", "full_attention_every", "mtp_layers",
        "router_groups", "router_group_topk"}
    missing = need - set(df.columns)
    if missing:
        raise DataError(f"{PRESETS_CSV}: missing columns {sorted(missing)}")
    unknown_cols = set(df.columns) - MODEL_FIELDS
    if unknown_cols:
        raise DataError(f"{PRESETS_CSV}: unknown columns {sorted(unknown_cols)}; valid: {sorted(MODEL_FIELDS)}")
    specs: dict[str, ModelSpec] = {}
    lookup: dict[str, str] = {}
    for i, row in enumerate(df.iter_rows(named=True), start=2):
        vals: dict[str, Any] = {k: v.strip() for k, v in row.items() if v not in (None, "")}
        try:
            for k in (*_INT_FIELDS, *_OPT_INT_FIELDS):
                if k in vals:
                    vals[k] = int(vals[k])
            for k in _FLOAT_FIELDS:
                if k in vals:
                    vals[k] = float(vals[k])
            for k in _BOOL_FIELDS:
                if k in vals:
                    if vals[k].lower() not in ("true", "false"):
                        raise ValueError(f"column {k}: {vals[k]!r} is not true/false")
                    vals[k] = vals[k].lower() == "true"
        except ValueError as e:
            raise DataError(f"{PRESETS_CSV} row {i} ({row.get('name')}): {e}") from e
        if not vals.get("source_url"):
            raise DataError(f"{PRESETS_CSV} row {i} ({row.get('name')}): column source_url is empty")
        try:
            spec = ModelSpec._build(vals)
        except InfraLabError as e:
            raise DataError(f"{PRESETS_CSV} row {i} ({row.get('name')}): {e}") from e
        key = spec.name.lower()
        if key in lookup:
            raise DataError(f"{PRESETS_CSV} row {i}: duplicate name or alias {spec.name!r}")
        specs[spec.name] = spec
        lookup[key] = spec.name
        for al in spec.aliases:
            if al in lookup:
                raise DataError(f"{PRESETS_CSV} row {i}: alias {al!r} already used by {lookup[al]!r}")
            lookup[al] = spec.name
    return df, specs, lookup


def presets() -> pl.DataFrame:
    """The preset table (``data/models/presets.csv``) with computed counts.

    Returns
    -------
    polars.DataFrame
        The CSV columns (as text) plus ``params_total``, ``params_active`` [count] and
        ``error_total_pct``, ``error_active_pct`` [%] against the published counts
        (on each row's ``published_basis``; null where nothing is published).
    """
    df, specs, _ = _load()
    tot, act, et, ea = [], [], [], []
    for name in df["name"]:
        s = specs[name]
        bt, ba = s.params_published_basis()
        tot.append(s.params_total)
        act.append(s.params_active)
        et.append(None if s.published_params_total is None else 100.0 * (bt / s.published_params_total - 1))
        ea.append(None if s.published_params_active is None else 100.0 * (ba / s.published_params_active - 1))
    return df.with_columns(
        pl.Series("params_total", tot, dtype=pl.Int64),
        pl.Series("params_active", act, dtype=pl.Int64),
        pl.Series("error_total_pct", et, dtype=pl.Float64),
        pl.Series("error_active_pct", ea, dtype=pl.Float64),
    )


def preset_names() -> list[str]:
    """Canonical preset names, in file order."""
    return list(_load()[1])


def get(name: str) -> ModelSpec:
    """A preset by name or alias (case-insensitive).

    Raises
    ------
    UnknownNameError
        With the nearest preset names.

    Examples
    --------
    >>> get("Mixtral-8x7B").experts
    8
    """
    from .errors import unknown

    _, specs, lookup = _load()
    if not isinstance(name, str):
        from .errors import ValidationError

        raise ValidationError(f"model preset = {name!r}: expected a preset name (string), "
                              f"one of {', '.join(preset_names())}")
    key = name.strip().lower()
    if key not in lookup:
        raise unknown("model preset", name, list(specs), where="data/models/presets.csv", aliases=lookup)
    return specs[lookup[key]]


def max_positions(spec: ModelSpec | str) -> int | None:
    """The most positions ``spec`` (a :class:`ModelSpec` or a preset name) can take, or None
    where there is no hard limit.

    Learned absolute position embeddings (``pos_emb = "learned"``) have ``max_seq_len`` rows and
    no position past them; rotary or no position embeddings extend (see :func:`check_context`),
    and a spec without ``max_seq_len`` (0: a custom table) is not limited."""
    if isinstance(spec, str):
        spec = get(spec)
    if not isinstance(spec, ModelSpec):
        from .errors import ValidationError

        raise ValidationError(f"spec = {spec!r}: expected a ModelSpec or a model preset name "
                              "(infra_lab.models.preset_names())")
    limit = int(spec.max_seq_len or 0)
    return limit if limit and spec.pos_emb == "learned" else None


def check_context(spec: ModelSpec, field_: str, value: Any, positions: int) -> None:
    """Check that ``positions`` tokens fit the model's context (``spec.max_seq_len``, the
    config value of data/models/presets.csv with its source URL).

    Learned absolute position embeddings (``pos_emb = "learned"``: GPT-2, GPT-3, Whisper's
    decoder) have ``max_seq_len`` rows and no position past them: a longer sequence raises
    :class:`~infra_lab.errors.ValidationError` naming ``field_``, ``value`` and the limit.
    Rotary or no position embeddings extend routinely (RoPE scaling, long-context training
    phases; published runs use more than the native window), so a longer sequence only emits
    a :class:`~infra_lab.errors.ContextLengthWarning` naming the published length. A spec
    without ``max_seq_len`` (0: a custom table) is not checked.
    """
    import os
    import sys
    import warnings

    from .errors import ContextLengthWarning, ValidationError

    limit = int(spec.max_seq_len or 0)
    if not limit or positions <= limit:
        return
    src = f", {spec.source_url}" if spec.source_url else ""
    if max_positions(spec) is not None:
        raise ValidationError(
            f"{field_} = {value}: {spec.name} has learned absolute position embeddings with {limit:,} rows "
            f"(max_seq_len{src}); a sequence of {positions:,} positions cannot exist; allowed <= {limit:,}")
    here, level, frame = os.path.dirname(__file__), 1, sys._getframe(0)
    while frame is not None and frame.f_code.co_filename.startswith(here):
        frame, level = frame.f_back, level + 1      # point the warning at the caller's line
    warnings.warn(ContextLengthWarning(
        f"{field_} = {value}: longer than the {limit:,}-token context {spec.name} was published with "
        f"(max_seq_len{src}); such runs use context extension (e.g. RoPE scaling), which the model "
        "prices as any other sequence length"), stacklevel=level)

