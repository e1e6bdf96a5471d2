"""Model architectures: presets, parameter counts and FLOPs, counted part by part.

A :class:`ModelSpec` describes one decoder-only language model: dense or
mixture-of-experts (MoE) transformer with MHA/GQA, MLA (DeepSeek) or CCA (ZAYA1)
attention, or a hybrid Mamba2 + shared-attention stack (Zamba2). Presets live in
``data/models/presets.csv`` (one row per model, with its source); see
``data/models/README.md`` for the columns and conventions.

Counting conventions
--------------------
* Parameters are counted exactly from the architecture fields, including norms,
  biases, learned position embeddings, routers and adapters, so the counts of
  published checkpoints are reproduced (GPT-2 small, Llama-3-8B, Mixtral-8x7B
  exactly; the others within a stated tolerance, see ``presets()``).
* ``params_active`` counts what one token touches: every non-expert parameter
  (embeddings included) plus ``top_k`` routed experts and the shared experts.
* FLOPs count matrix multiplications only (2·m·n·k per GEMM); norms, activations,
  softmax, residual adds and RoPE are left out. Attention scores (QKᵀ) and context
  (AV) cost 2·s·d each per query and head for full (non-causal) attention; with
  ``causal=True`` both are halved (each query sees s/2 keys on average). Narayanan
  et al. 2021 count full attention, so compare with ``causal=False``.
* Training = forward + backward = 3 × forward. ``recompute="full"`` adds one more
  forward of the layers (not of the LM head), as in Narayanan Eq. 3;
  ``"selective"`` adds only the attention-core (QKᵀ, AV) forward.

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
import math
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from . import catalog
from .scenario import RECOMPUTE as _RECOMPUTE  # the one definition of the enum

__all__ = [
    "ModelSpec",
    "MODEL_FIELDS",
    "get",
    "check_context",
    "presets",
    "preset_names",
    "six_nd",
    "narayanan_flops",
    "FLOP_CONVENTIONS",
    "training_flops_per_token",
]

PRESETS_CSV = catalog.DATA_DIR / "models" / "presets.csv"

_FFN_ACTS = {"swiglu": 3, "geglu": 3, "gelu": 2, "relu": 2}  # weight matrices per MLP
_ATTENTIONS = ("mha", "gqa", "mla", "cca")
_NORMS = ("rmsnorm", "layernorm", "layernorm_nobias")
_POS_EMBS = ("rope", "learned", "none")
_ARCHS = ("transformer", "hybrid_ssm")
_ROUTERS = ("linear", "mlp")
_BASES = ("all", "non_embedding", "active_without_input_embedding")
_EXPERT_FORMATS = ("", "mxfp4")  # serving: checkpoint format of the routed experts ("" = as the rest)

# (field, kind) for every value a model table / preset row may set. kind: int | bool | str | float | ints
_INT_FIELDS = (
    "layers", "hidden", "heads", "kv_heads", "head_dim", "ffn_hidden", "vocab",
    "experts", "top_k", "expert_ffn_hidden", "shared_experts", "shared_expert_ffn_hidden",
    "dense_layers", "moe_every", "q_lora_rank", "kv_lora_rank", "qk_nope_head_dim",
    "qk_rope_head_dim", "v_head_dim", "ssm_layers", "ssm_state", "ssm_head_dim", "ssm_expand",
    "ssm_conv", "ssm_groups", "shared_attn_blocks", "lora_rank", "router_hidden",
    "cca_time0", "cca_time1", "max_seq_len", "sliding_window", "full_attention_every",
    "mtp_layers",
)
_BOOL_FIELDS = ("tied_embeddings", "bias", "qk_norm", "residual_scale", "lora_attention", "attention_sinks",
                "qkv_bias")
_STR_FIELDS = (
    "name", "family", "arch", "ffn_act", "norm", "pos_emb", "attention", "router",
    "published_basis", "source_url", "note", "expert_weight_format",
)
_OPT_INT_FIELDS = ("published_params_total", "published_params_active")
_FLOAT_FIELDS = ("published_tol_pct",)
_TUPLE_FIELDS = ("aliases", "shared_attn_insertions")
_MAX_FIELD = 2**31 - 1     # any single size or count [elements, tokens, count]
_MAX_PARAMS = 1e16         # parameters of one model (keeps counts exact in int64 frames)
_MAX_LAYERS = 2**16        # decoder layers (+ MTP modules): a library bound that keeps the per-layer
                           # work of one estimate under a second
_MAX_WIDTH = 2**24         # any dimension of one weight matrix [elements]: the compute model's bound
                           # on a matrix side (compute.newton_schulz_flops, sequence lengths)
# the [model] field that sets each weight GEMM's width (by the GEMM's name in compute.gemm_records),
# and how the width follows from the fields
_WIDTH_FIELDS = (
    (("qkv_proj", "out_proj", "qkv_lora_up"), "heads", "(heads + 2 kv_heads) x head_dim"),
    (("q_proj", "q_up", "kv_up"), "heads", "MLA: heads x (qk_nope_head_dim + qk_rope_head_dim or v_head_dim)"),
    (("q_down",), "q_lora_rank", "MLA's query compression"),
    (("kv_down",), "kv_lora_rank", "MLA: kv_lora_rank + qk_rope_head_dim"),
    (("experts_up", "experts_down"), "expert_ffn_hidden", "x 2 when gated"),
    (("shared_experts_up", "shared_experts_down"), "shared_expert_ffn_hidden", "x shared_experts, x 2 when gated"),
    (("mlp_up", "mlp_down", "shared_mlp_up", "shared_mlp_down", "mlp_lora_up"), "ffn_hidden", "x 2 when gated"),
    (("router", "router_out"), "experts", "one router column per expert"),
    (("router_down", "router_mlp"), "router_hidden", "the router MLP's width"),
    (("ssm_in_proj", "ssm_out_proj"), "ssm_expand", "ssm_expand x hidden + 2 ssm_groups x ssm_state"),
    (("lm_head",), "vocab", "one column per token"),
    (("mtp_proj",), "hidden", "the MTP projection takes 2 x hidden"),
)

# compute.COMPONENTS of the GEMM list -> parts of flops_breakdown()
_BREAKDOWN = {
    "attn_gemm": "attention_proj", "attention": "attention_core", "mlp_gemm": "mlp",
    "expert_gemm": "experts", "shared_expert_gemm": "shared_experts", "router": "router",
    "ssm_gemm": "ssm_proj", "lora_gemm": "lora_adapters", "hybrid_linear": "hybrid_linear",
    "mtp_proj": "mtp", "head": "lm_head",
}

# sizes that must be > 0 whenever given (others may be 0 = "not used")
_POSITIVE = ("layers", "hidden", "heads", "kv_heads", "head_dim", "ffn_hidden", "vocab", "moe_every")


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
        from .errors import ValidationError, unknown

        if isinstance(d, ModelSpec):
            return d
        if not isinstance(d, dict):
            raise ValidationError(f"model = {d!r}: expected a table (dict) of model fields or a preset")
        for k in d:
            if k not in MODEL_FIELDS:
                raise unknown("model field", k, MODEL_FIELDS, where="[model]")
        d = dict(d)
        if "preset" in d and not isinstance(d["preset"], str):
            raise ValidationError(
                f"model.preset = {d['preset']!r}: expected a preset name (one of {', '.join(preset_names())}); "
                "or leave preset out and give explicit layers, hidden, heads, vocab"
            )
        preset = d.pop("preset", None)
        if preset is not None:
            base = get(preset)
            vals = {f.name: getattr(base, f.name) for f in dataclasses.fields(cls)}
            if any(k in d for k in ("heads", "kv_heads")) and "attention" not in d and base.attention in ("mha", "gqa"):
                vals.pop("attention")
            if "hidden" in d or "heads" in d:
                if "head_dim" not in d and base.attention in ("mha", "gqa") and base.arch == "transformer":
                    vals.pop("head_dim")
            if any(k not in ("name",) for k in d):  # overridden: published counts no longer apply
                for k in ("published_params_total", "published_params_active"):
                    vals[k] = None
            vals.update(d)
            if "name" not in d and len(d):
                vals["name"] = f"{base.name}*"
        else:
            missing = [k for k in ("layers", "hidden", "heads", "vocab") if k not in d]
            if missing:
                raise ValidationError(
                    f"[model]: missing {', '.join(missing)}; give preset = <name> "
                    f"(one of {', '.join(preset_names())}) or explicit layers, hidden, heads, vocab"
                )
            vals = d
        return cls._build(vals)

    @classmethod
    def _build(cls, vals: dict[str, Any]) -> ModelSpec:
        from .errors import ValidationError, check_positive

        v = dict(vals)
        out: dict[str, Any] = {}
        for k in _INT_FIELDS:
            if k in v and v[k] is not None:
                x = v[k]
                if k in _POSITIVE:
                    out[k] = int(check_positive(f"model.{k}", x, integer=True))
                else:
                    out[k] = int(check_positive(f"model.{k}", x, integer=True, allow_zero=True))
        for k in ("layers", "hidden", "heads", "vocab"):
            if k not in out:
                raise ValidationError(f"model.{k}: missing; expected a positive integer")
        out.setdefault("kv_heads", out["heads"])
        if "head_dim" not in out:
            if out["hidden"] % out["heads"]:
                raise ValidationError(
                    f"model.hidden = {out['hidden']} is not divisible by heads = {out['heads']}; "
                    "give head_dim explicitly"
                )
            out["head_dim"] = out["hidden"] // out["heads"]
        out.setdefault("ffn_hidden", 4 * out["hidden"])
        if out["heads"] % out["kv_heads"]:
            raise ValidationError(
                f"model.kv_heads = {out['kv_heads']}: must divide heads = {out['heads']}"
            )
        for k in _BOOL_FIELDS:
            if k in v and v[k] is not None:
                out[k] = _to_bool(f"model.{k}", v[k])
        for k in _STR_FIELDS:
            if k in v and v[k] is not None:
                if not isinstance(v[k], str):  # a number or a list is not a name (no silent str())
                    raise ValidationError(f"model.{k} = {v[k]!r}: expected text (a string)")
                out[k] = v[k]
        for k in _OPT_INT_FIELDS:
            if k in v:
                out[k] = None if v[k] in (None, "") else int(check_positive(f"model.{k}", v[k], integer=True))
        for k in _FLOAT_FIELDS:
            if k in v and v[k] not in (None, ""):
                out[k] = float(check_positive(f"model.{k}", v[k]))
        for k in _TUPLE_FIELDS:
            if k in v and v[k] is not None:
                out[k] = _to_tuple(k, v[k])
        if "attention" not in out:
            out["attention"] = "gqa" if out["kv_heads"] < out["heads"] else "mha"
        for k, allowed in (("ffn_act", tuple(_FFN_ACTS)), ("attention", _ATTENTIONS), ("norm", _NORMS),
                           ("pos_emb", _POS_EMBS), ("arch", _ARCHS), ("router", _ROUTERS),
                           ("published_basis", _BASES), ("expert_weight_format", _EXPERT_FORMATS)):
            if k in out:
                if k == "router" and out[k] == "":
                    out[k] = "linear"
                    continue
                out[k] = out[k].lower()
                if out[k] not in allowed:
                    raise ValidationError(f"model.{k} = {out[k]!r}: allowed values are {', '.join(allowed)}")
        spec = cls(**out)
        spec._check()
        if spec.params_total > _MAX_PARAMS:
            raise ValidationError(f"model: {spec.params_total:.3g} parameters; at most {_MAX_PARAMS:.0e} "
                                  "(physical bound: check hidden, layers, heads x head_dim, vocab and experts)")
        spec._check_widths()
        return spec

    def _check_widths(self) -> None:
        """Every weight matrix within the compute model's bound on a side (``_MAX_WIDTH``), so
        that an absurd width is refused here, by the field that sets it, and not by a compute
        function's argument check deep inside an estimate."""
        from .compute.ops import gemm_records
        from .errors import ValidationError

        if self.hidden > _MAX_WIDTH:
            raise ValidationError(f"model.hidden = {self.hidden}: at most {_MAX_WIDTH:,} (2**24, the compute "
                                  "model's bound on a weight matrix's side)")
        r = gemm_records(self, 1, 1, 1)
        for name, comp, n, k in zip(r.name, r.component, r.n, r.k, strict=True):
            if comp == "attention" or max(n, k) <= _MAX_WIDTH:
                continue
            field, how = next(((f, h) for names, f, h in _WIDTH_FIELDS if name in names), ("hidden", ""))
            if field == "expert_ffn_hidden" and not self.expert_ffn_hidden:
                field = "ffn_hidden"
            raise ValidationError(
                f"model.{field} = {getattr(self, field)}: the {name} weight matrix would be {int(k):,} x {int(n):,} "
                f"({how}); allowed at most {_MAX_WIDTH:,} per side (2**24, the compute model's bound on a "
                "matrix side)")

    def _check(self) -> None:
        from .errors import ValidationError

        def need(cond: bool, msg: str) -> None:
            if not cond:
                raise ValidationError(msg)

        for k in _INT_FIELDS:
            v = getattr(self, k)
            need(v <= _MAX_FIELD, f"model.{k} = {v}: must be <= {_MAX_FIELD:,} (physical bound)")
        need(self.layers + self.mtp_layers <= _MAX_LAYERS,   # before params_total, which walks the layers
             f"model.layers = {self.layers}" + (f" (+ mtp_layers = {self.mtp_layers})" if self.mtp_layers else "")
             + f": at most {_MAX_LAYERS:,} layers (a library bound that keeps the per-layer work of an estimate "
             "small)")
        if self.experts:
            need(1 <= self.top_k <= self.experts,
                 f"model.top_k = {self.top_k}: must be between 1 and experts = {self.experts}")
            need(self.expert_ffn_hidden > 0 or self.ffn_hidden > 0,
                 "model.expert_ffn_hidden: must be > 0 for a MoE model")
            need(self.dense_layers < self.layers,
                 f"model.dense_layers = {self.dense_layers}: must be < layers = {self.layers}")
        if self.shared_experts:
            need(self.shared_expert_ffn_hidden > 0,
                 f"model.shared_expert_ffn_hidden = {self.shared_expert_ffn_hidden}: must be > 0 "
                 f"when shared_experts = {self.shared_experts}")
        if self.attention == "mla":
            for k in ("kv_lora_rank", "qk_nope_head_dim", "qk_rope_head_dim", "v_head_dim"):
                need(getattr(self, k) > 0, f"model.{k} = {getattr(self, k)}: must be > 0 for attention = 'mla'")
        if self.attention == "cca":
            for k in ("cca_time0", "cca_time1"):
                need(getattr(self, k) > 0, f"model.{k} = {getattr(self, k)}: must be > 0 for attention = 'cca'")
            need(self.head_dim % 2 == 0 and self.kv_heads * self.head_dim % 2 == 0,
                 f"model.head_dim = {self.head_dim}: CCA splits values in halves; must be even")
        if self.router == "mlp" and self.experts:
            need(self.router_hidden > 0, "model.router_hidden: must be > 0 for router = 'mlp'")
        if self.full_attention_every:
            need(self.sliding_window > 0,
                 f"model.full_attention_every = {self.full_attention_every}: needs sliding_window > 0 "
                 "(without a window every layer is full attention)")
        if self.sliding_window or self.attention_sinks:
            need(self.arch == "transformer" and self.attention in ("mha", "gqa"),
                 f"model.sliding_window / attention_sinks: supported for mha/gqa transformers "
                 f"(arch = {self.arch!r}, attention = {self.attention!r})")
        if self.expert_weight_format:
            need(self.experts > 0, f"model.expert_weight_format = {self.expert_weight_format!r}: "
                 "the model has no experts (dense); allowed ''")
        if self.pos_emb == "learned":
            need(self.max_seq_len > 0, "model.max_seq_len: must be > 0 for pos_emb = 'learned'")
        if self.arch == "hybrid_ssm":
            for k in ("ssm_state", "ssm_head_dim", "ssm_expand", "ssm_conv", "ssm_groups"):
                need(getattr(self, k) > 0, f"model.{k} = {getattr(self, k)}: must be > 0 for arch = 'hybrid_ssm'")
            d_inner = self.ssm_expand * self.hidden
            need(d_inner % self.ssm_head_dim == 0,
                 f"model.ssm_head_dim = {self.ssm_head_dim}: must divide ssm_expand*hidden = {d_inner}")
            if self.shared_attn_insertions:
                need(self.shared_attn_blocks > 0,
                     "model.shared_attn_blocks: must be > 0 when shared_attn_insertions is set")
                bad = [i for i in self.shared_attn_insertions if not 0 <= i < self.layers]
                need(not bad, f"model.shared_attn_insertions = {bad}: indices must be in [0, {self.layers})")

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

    # ------------------------------------------------------------------ parameters
    def _norm_params(self, width: int) -> int:
        return 2 * width if self.norm == "layernorm" else width

    def _attn_in(self) -> int:
        return 2 * self.hidden if self.arch == "hybrid_ssm" else self.hidden

    def _attention_params(self) -> dict[str, int]:
        """Parameters of one attention sublayer (projections and their norms)."""
        h, a, kv, d, b = self.hidden, self.heads, self.kv_heads, self.head_dim, self.bias
        if self.attention == "mla":
            qk = self.qk_nope_head_dim + self.qk_rope_head_dim
            if self.q_lora_rank:
                q = h * self.q_lora_rank + self.q_lora_rank * a * qk
                n = self._norm_params(self.q_lora_rank)
            else:
                q, n = h * a * qk, 0
            kv_a = h * (self.kv_lora_rank + self.qk_rope_head_dim)
            kv_b = self.kv_lora_rank * a * (self.qk_nope_head_dim + self.v_head_dim)
            o = a * self.v_head_dim * h
            n += self._norm_params(self.kv_lora_rank)
            return {"attention": q + kv_a + kv_b + o, "norms": n}
        din = self._attn_in()
        qkv = din * (a * d + 2 * kv * d) + (a * d + 2 * kv * d if (b or self.qkv_bias) else 0)
        o = a * d * h + (h if b else 0)
        extra = 0
        if self.attention == "cca":
            # q_proj, k_proj and two half-width value projections (current, delayed): same
            # shapes as GQA q/k/v. Then two causal convolutions over the C = (a+kv)·d
            # q/k channels: depthwise (kernel t0) and grouped with a+kv groups (kernel t1),
            # both with bias; plus one learned key temperature per KV head.
            c = (a + kv) * d
            extra = (c * self.cca_time0 + c) + (c * (c // (a + kv)) * self.cca_time1 + c) + kv
        n = 2 * d if self.qk_norm else 0
        if self.attention_sinks:
            extra += a  # one learned sink logit per query head
        return {"attention": qkv + o + extra, "norms": n}

    def _mlp_params(self, width: int) -> int:
        h, m = self.hidden, _FFN_ACTS[self.ffn_act]
        w = m * h * width
        if self.bias:
            w += (m - 1) * width + h
        return w

    def _router_params(self, layer_index: int) -> int:
        h, e = self.hidden, self.experts
        if self.router == "mlp":
            r = self.router_hidden
            p = h * r + r  # down-projection with bias
            p += r if layer_index > 0 else 0  # EDA state scale (not in the first MoE layer)
            p += r  # RMSNorm
            p += 2 * (r * r + r)  # fc1, fc2 with bias
            p += r * (e + 1)  # logits over experts + the mixture-of-depths skip class
            return p
        return h * e + (e if self.bias else 0)

    def _mamba2_params(self) -> int:
        h, di, n, g = self.hidden, self.d_inner, self.ssm_state, self.ssm_groups
        nh = self.ssm_heads
        conv_dim = di + 2 * g * n
        in_proj = h * (di + conv_dim + nh) + ((di + conv_dim + nh) if self.bias else 0)
        conv = conv_dim * self.ssm_conv + conv_dim
        out_proj = di * h + (h if self.bias else 0)
        return in_proj + conv + 3 * nh + di + out_proj  # dt_bias, A_log, D; gated norm (di)

    @functools.cached_property
    def _breakdown(self) -> dict[str, tuple[int, int]]:
        h = self.hidden
        tot: dict[str, int] = {}
        act: dict[str, int] = {}

        def add(comp: str, total: int, active: int | None = None) -> None:
            tot[comp] = tot.get(comp, 0) + int(total)
            act[comp] = act.get(comp, 0) + int(total if active is None else active)

        add("embeddings", self.vocab * h)
        add("position_embeddings", self.max_seq_len * h if self.pos_emb == "learned" else 0)
        add("lm_head", 0 if self.tied_embeddings else self.vocab * h)
        for comp in ("attention", "mlp", "experts", "shared_experts", "router", "norms"):
            add(comp, 0)
        if self.arch == "hybrid_ssm":
            mamba = self._mamba2_params()
            add("ssm", mamba * self.layers)
            add("norms", self._norm_params(h) * self.layers)
            # shared blocks: RMSNorm(2h) → attention on the 2h concat → RMSNorm(h) → MLP
            ap = self._attention_params()
            blocks = self.shared_attn_blocks
            add("attention", ap["attention"] * blocks)
            add("norms", (ap["norms"] + self._norm_params(2 * h) + self._norm_params(h)) * blocks)
            add("mlp", self._mlp_params(self.ffn_hidden) * blocks)
            n_ins = len(self.shared_attn_insertions)
            add("hybrid_linear", n_ins * h * h)
            if self.lora_rank:
                r = self.lora_rank
                lora = h * r + r * (_FFN_ACTS[self.ffn_act] - 1) * self.ffn_hidden
                if self.lora_attention:
                    din = self._attn_in()
                    a, kv, d = self.heads, self.kv_heads, self.head_dim
                    lora += (din * r + r * a * d) + 2 * (din * r + r * kv * d)
                add("lora_adapters", n_ins * lora)
        else:
            ap = self._attention_params()
            for i, kind in enumerate(self.layer_kinds()):
                add("attention", ap["attention"])
                add("norms", ap["norms"] + 2 * self._norm_params(h))
                if self.residual_scale:
                    add("residual_scales", 8 * h)  # scale+bias on branch and residual, twice
                if kind == "dense":
                    add("mlp", self._mlp_params(self.ffn_hidden))
                else:
                    ew = self.expert_ffn_hidden or self.ffn_hidden
                    one = self._mlp_params(ew)
                    add("experts", self.experts * one, self.top_k * one)
                    if self.shared_experts:
                        add("shared_experts", self.shared_experts * self._mlp_params(self.shared_expert_ffn_hidden))
                    add("router", self._router_params(i))
            if self.residual_scale:
                add("residual_scales", 2 * h)  # input scale+bias
        add("norms", self._norm_params(h))  # final norm
        return {k: (tot[k], act[k]) for k in tot}

    @property
    def params_total(self) -> int:
        """Total parameters [count] (tied embeddings counted once)."""
        return sum(t for t, _ in self._breakdown.values())

    @property
    def params_active(self) -> int:
        """Parameters used per token [count]: all but the routed experts not chosen."""
        return sum(a for _, a in self._breakdown.values())

    @property
    def params_embedding(self) -> int:
        """Embedding, position-embedding and (untied) LM-head parameters [count]."""
        b = self._breakdown
        return b["embeddings"][0] + b["position_embeddings"][0] + b["lm_head"][0]

    def params_published_basis(self) -> tuple[int, int]:
        """(total, active) on this preset's ``published_basis`` [count]."""
        if self.published_basis == "active_without_input_embedding":
            b = self._breakdown
            return self.params_total, self.params_active - b["embeddings"][0] - b["position_embeddings"][0]
        sub = self.params_embedding if self.published_basis == "non_embedding" else 0
        return self.params_total - sub, self.params_active - sub

    def param_breakdown(self) -> pl.DataFrame:
        """Parameters by component.

        Returns
        -------
        polars.DataFrame
            Columns ``component``, ``params_total``, ``params_active`` [count]; components:
            embeddings, position_embeddings, lm_head (0 if tied), attention, mlp,
            experts, shared_experts, router, norms, and where present ssm,
            hybrid_linear, lora_adapters, residual_scales.

        Examples
        --------
        >>> df = get("mixtral-8x7b").param_breakdown()
        >>> int(df["params_total"].sum())
        46702792704
        """
        b = self._breakdown
        return pl.DataFrame(
            {
                "component": list(b),
                "params_total": [t for t, _ in b.values()],
                "params_active": [a for _, a in b.values()],
            },
            schema={"component": pl.String, "params_total": pl.Int64, "params_active": pl.Int64},
        )

    # ------------------------------------------------------------------ FLOPs
    def _attn_core_per_token(self, seq_len: float, causal: bool) -> float:
        """QKᵀ + AV FLOPs per token for one attention sublayer [FLOP]."""
        f = 0.5 if causal else 1.0
        if self.attention == "mla":
            dq = self.qk_nope_head_dim + self.qk_rope_head_dim
            dv = self.v_head_dim
        else:
            dq = dv = self.head_dim
        return f * 2.0 * seq_len * self.heads * (dq + dv)

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

    @property
    def params_mtp(self) -> int:
        """Parameters of the multi-token-prediction modules [count] (not in params_total):
        per module two RMSNorms (h each), the 2h → h projection and one block of the last
        layer's kind (its output head is shared with the model's)."""
        if not self.mtp_layers:
            return 0
        h = self.hidden
        ap = self._attention_params()
        block = ap["attention"] + ap["norms"] + 2 * self._norm_params(h)
        if self.mtp_layer_kind() == "moe":
            ew = self.expert_ffn_hidden or self.ffn_hidden
            block += self.experts * self._mlp_params(ew) + self._router_params(1)
            if self.shared_experts:
                block += self.shared_experts * self._mlp_params(self.shared_expert_ffn_hidden)
        else:
            block += self._mlp_params(self.ffn_hidden)
        return self.mtp_layers * (2 * self._norm_params(h) + 2 * h * h + block + self._norm_params(h))

    @functools.lru_cache(maxsize=256)  # noqa: B019 (frozen, hashable spec)
    def _forward_parts(self, seq_len: int, causal: bool) -> dict[str, float]:
        """Forward FLOPs per token by breakdown part, summed over layers [FLOP/token]."""
        from .compute import gemm_records

        s = float(seq_len)
        parts: dict[str, float] = {}

        def add(k: str, v: float) -> None:
            parts[k] = parts.get(k, 0.0) + v

        r = gemm_records(self, seq_len, 1, 1, causal=causal)
        counts: dict[str, int] = {"head": 1, "mtp": self.mtp_layers}
        for k in self.layer_kinds():
            counts[k] = counts.get(k, 0) + 1
        for kind, comp, m, n, kk, c in zip(r.kind, r.component, r.m, r.n, r.k, r.count, strict=True):
            part = "mtp" if kind == "mtp" else _BREAKDOWN[comp]
            add(part, counts[kind] * 2.0 * m * n * kk * c / s)
        # non-GEMM work that is still O(d) multiply-adds per token
        nssm = counts.get("mamba2", 0) + counts.get("hybrid", 0)
        if nssm:
            di, n_, ng = self.d_inner, self.ssm_state, self.ssm_groups
            add("ssm_conv", nssm * 2.0 * (di + 2 * ng * n_) * self.ssm_conv)
            # recurrent form of the Mamba2/SSD scan per token: state update
            # h <- exp(dtA)·h + dt·B xᵀ (≈ 4·d_inner·N) and output y = C·h (2·d_inner·N)
            add("ssm_scan", nssm * 6.0 * di * n_)
        if self.attention == "cca":
            nattn = counts.get("dense", 0) + counts.get("moe", 0)
            c = (self.heads + self.kv_heads) * self.head_dim
            conv = 2.0 * c * self.cca_time0 + 2.0 * c * (c // (self.heads + self.kv_heads)) * self.cca_time1
            add("cca_conv", nattn * conv)
        if not math.isfinite(sum(parts.values())):  # pragma: no cover
            raise ArithmeticError("non-finite FLOP count")
        return parts

    def flops_breakdown(self, seq_len: int, causal: bool = True) -> pl.DataFrame:
        """Forward FLOPs per token by component.

        Parameters
        ----------
        seq_len : int
            Sequence length s [tokens].
        causal : bool
            Halve attention scores/context (causal mask).

        Returns
        -------
        polars.DataFrame
            ``component``, ``forward_flops_per_token`` [FLOP/token]: attention_proj,
            attention_core, mlp, experts, shared_experts, router, lora_adapters,
            hybrid_linear, ssm_proj, ssm_conv, ssm_scan, cca_conv, lm_head, mtp (the
            multi-token-prediction modules, all their GEMMs) (those present).
        """
        _posint("seq_len", seq_len)
        p = self._forward_parts(int(seq_len), bool(causal))
        return pl.DataFrame({"component": list(p), "forward_flops_per_token": list(p.values())},
                            schema={"component": pl.String, "forward_flops_per_token": pl.Float64})

    def forward_flops_per_token(self, seq_len: int, causal: bool = True) -> float:
        """Forward FLOPs per token, all layers + LM head [FLOP/token].

        Examples
        --------
        >>> f = get("megatron-175b").forward_flops_per_token(2048, causal=False)
        >>> round(f / 1e9, 1)
        358.8
        """
        _posint("seq_len", seq_len)
        return float(sum(self._forward_parts(int(seq_len), bool(causal)).values()))

    def flops_per_token(self, seq_len: int, training: bool = True, causal: bool = True,
                        recompute: str = "none") -> float:
        """FLOPs per token of a training (or inference) step [FLOP/token].

        Parameters
        ----------
        seq_len : int
            Sequence length s [tokens].
        training : bool
            Forward + backward (backward = 2 × forward) when True; forward only otherwise.
        causal : bool
            Halve attention scores/context.
        recompute : {"none", "selective", "full"}
            Activation recomputation: ``"full"`` adds one forward of every layer (not the
            LM head); ``"selective"`` adds the attention-core forward only.

        Notes
        -----
        F = 3·F_fwd + F_recompute. With ``causal=False`` and ``recompute="full"`` a dense
        GPT gives Narayanan's 96·s·l·h²·(1 + s/(6h) + V/(16lh)) per sequence.
        """
        from .errors import ValidationError

        if recompute not in _RECOMPUTE:
            raise ValidationError(f"recompute = {recompute!r}: allowed values are {', '.join(_RECOMPUTE)}")
        for k, v in (("training", training), ("causal", causal)):
            if not isinstance(v, bool):
                raise ValidationError(f"{k} = {v!r}: expected True or False")
        _posint("seq_len", seq_len)
        parts = self._forward_parts(int(seq_len), bool(causal))
        fwd = float(sum(parts.values()))
        if not training:
            return fwd
        extra = 0.0
        if recompute == "full":
            extra = fwd - parts.get("lm_head", 0.0)
        elif recompute == "selective":
            extra = parts.get("attention_core", 0.0)
        return 3.0 * fwd + extra

    def flops_per_token_conventions(self, seq_len: int, recompute: str = "none") -> pl.DataFrame:
        """Training FLOPs per token under every convention of :data:`FLOP_CONVENTIONS`.

        Returns
        -------
        polars.DataFrame : convention, flops_per_token [FLOP/token], ratio_to_6N [-],
            description
        """
        vals = [training_flops_per_token(self, seq_len, c, recompute=recompute) for c in FLOP_CONVENTIONS]
        return pl.DataFrame({"convention": list(FLOP_CONVENTIONS), "flops_per_token": vals,
                             "ratio_to_6N": [v / vals[0] if vals[0] else float("nan") for v in vals],
                             "description": list(FLOP_CONVENTIONS.values())})

    def flops_per_step(self, seq_len: int, global_batch: int, training: bool = True,
                       causal: bool = True, recompute: str = "none") -> float:
        """FLOPs of one optimizer step = flops_per_token · seq_len · global_batch [FLOP].

        Parameters
        ----------
        seq_len : int
            Sequence length [tokens].
        global_batch : int
            Sequences per step [count].
        """
        _posint("global_batch", global_batch)
        return self.flops_per_token(seq_len, training, causal, recompute) * seq_len * global_batch


# ---------------------------------------------------------------------- module level
MODEL_FIELDS: frozenset[str] = frozenset(
    {f.name for f in dataclasses.fields(ModelSpec)} | {"preset"}
)
"""Keys accepted in a Scenario ``[model]`` table (used by the Scenario validator)."""


def six_nd(params: float, tokens: float) -> float:
    """Training FLOPs ≈ 6·N·D [FLOP] (N parameters, D tokens; Kaplan et al. 2020).

    Parameters
    ----------
    params : N [parameters] (for an MoE, the *active* parameters: see
        :func:`training_flops_per_token` for which N); tokens : D [tokens]

    Examples
    --------
    >>> six_nd(1e9, 1e12)
    6e+21
    """
    n, d = _nonneg("params", params), _nonneg("tokens", tokens)
    return _finite_flops("six_nd", 6.0 * n * d, params=params, tokens=tokens)


FLOP_CONVENTIONS = {
    "6N": "6 x active non-embedding parameters (Kaplan et al. 2020)",
    "6N+head": "6N + the LM-head GEMM (6·V·h)",
    "6N+head+causal_attn": "6N + LM head + attention scores/context under a causal mask (half of s x s)",
    "6N+head+attn": "6N + LM head + full s x s attention (PaLM's 6N + 12·L·H·Q·T; Korthikanti et al.)",
    "executed": "every GEMM the step runs (router, MTP modules, recomputation), causal attention as half",
}
"""FLOP-per-token conventions of :func:`training_flops_per_token` (name -> description)."""


def training_flops_per_token(spec: ModelSpec | str, seq_len: int, convention: str = "6N+head+causal_attn",
                             *, recompute: str = "none") -> float:
    """Training FLOPs per token under a named convention [FLOP/token].

    Parameters
    ----------
    spec : ModelSpec or preset name; seq_len : s [tokens]
    convention : one of :data:`FLOP_CONVENTIONS`
    recompute : "none" | "selective" | "full" (only the "executed" convention counts it)

    Returns
    -------
    float [FLOP/token]

    Notes
    -----
    N = active non-embedding parameters (``params_active - params_embedding``; routed experts
    counted top_k times, shared experts and routers included, MTP modules excluded). The LM
    head adds 2·V·h forward FLOPs per token whether or not it is tied to the embedding. The
    attention core (QKᵀ and AV) adds 2·s·heads·(d_qk + d_v) forward FLOPs per token and
    attention layer without a mask, half of that with a causal mask. Training = 3 × forward.
    MFU under one convention is that convention's FLOPs over peak × time; the conventions
    differ most for small-hidden models with large vocabularies (ZAYA1: LM head ≈ a third of
    the executed FLOPs).

    Examples
    --------
    >>> from infra_lab import models
    >>> z = models.get("llama3-8b")
    >>> a = models.training_flops_per_token(z, 4096, "6N")
    >>> b = models.training_flops_per_token(z, 4096, "6N+head+attn")
    >>> round(a / 1e9, 2), b > a
    (41.88, True)
    """
    from .errors import ValidationError

    if isinstance(spec, str):
        spec = get(spec)
    if not isinstance(spec, ModelSpec):
        raise ValidationError(f"spec = {spec!r}: expected a ModelSpec or a preset name")
    if not isinstance(convention, str) or convention not in FLOP_CONVENTIONS:
        from .errors import unknown

        raise unknown("FLOP convention", convention, list(FLOP_CONVENTIONS))
    s = _posint("seq_len", seq_len)
    if recompute not in _RECOMPUTE:
        raise ValidationError(f"recompute = {recompute!r}: allowed values are {', '.join(_RECOMPUTE)}")
    if convention == "executed":
        return spec.flops_per_token(s, training=True, causal=True, recompute=recompute)
    n = spec.params_active - spec.params_embedding
    f = 6.0 * n
    if convention == "6N":
        return f
    f += 6.0 * spec.vocab * spec.hidden
    if convention == "6N+head":
        return f
    attn = spec._forward_parts(s, convention == "6N+head+causal_attn").get("attention_core", 0.0)
    return f + 3.0 * attn


def narayanan_flops(batch: float, seq_len: float, layers: float, hidden: float, vocab: float) -> float:
    """FLOPs per iteration with full activation recomputation [FLOP].

    F = 96·B·s·l·h²·(1 + s/(6h) + V/(16·l·h)) (Narayanan et al. 2021, Eq. 3): forward,
    recomputed forward and backward of dense GPT layers with full (non-causal)
    attention, plus 3 passes of the logit layer.

    Parameters
    ----------
    batch : float
        Global batch B [sequences].
    seq_len : float
        s [tokens].
    layers, hidden, vocab : float
        l [count], h [elements], V [tokens].

    References
    ----------
    https://arxiv.org/abs/2104.04473
    """
    b, s, v = (_nonneg(k, x) for k, x in (("batch", batch), ("seq_len", seq_len), ("vocab", vocab)))
    ell, h = float(_posint("layers", layers)), float(_posint("hidden", hidden))
    f = 96.0 * b * s * ell * h * h * (1.0 + s / (6.0 * h) + v / (16.0 * ell * h))
    return _finite_flops("narayanan_flops", f, batch=batch, seq_len=seq_len, layers=layers, hidden=hidden,
                         vocab=vocab)


def _finite_flops(where: str, flops: float, **inputs: Any) -> float:
    """``flops`` if finite, else a ValidationError naming the inputs (a float overflow)."""
    if not math.isfinite(flops):
        from .errors import ValidationError

        given = ", ".join(f"{k} = {v!r}" for k, v in inputs.items())
        raise ValidationError(f"{where}({given}): the FLOP count overflows a float (> 1.8e308); "
                              "allowed inputs whose product stays below it")
    return flops


def _nonneg(name: str, value: Any) -> float:
    from .errors import check_positive

    return float(check_positive(name, value, allow_zero=True))


def _posint(name: str, value: Any) -> int:
    from .errors import check_positive

    return int(check_positive(name, value, integer=True))


def _to_bool(name: str, x: Any) -> bool:
    from .errors import ValidationError

    if isinstance(x, bool):
        return x
    if isinstance(x, str) and x.strip().lower() in ("true", "1", "yes"):
        return True
    if isinstance(x, str) and x.strip().lower() in ("false", "0", "no", ""):
        return False
    if isinstance(x, int) and x in (0, 1):
        return bool(x)
    raise ValidationError(f"{name} = {x!r}: expected true or false")


def _to_tuple(name: str, x: Any) -> tuple:
    from .errors import ValidationError

    if isinstance(x, str):
        items = [p.strip() for p in x.split(";") if p.strip()]
    elif isinstance(x, (list, tuple)):
        items = list(x)
    else:
        raise ValidationError(f"model.{name} = {x!r}: expected a list or a ';'-separated string")
    if name == "shared_attn_insertions":
        try:
            return tuple(int(i) for i in items)
        except (TypeError, ValueError):
            raise ValidationError(f"model.{name} = {x!r}: expected layer indices (integers)") from None
    return tuple(str(i).lower() for i in items)


@functools.lru_cache(maxsize=1)
def _load() -> tuple[pl.DataFrame, dict[str, ModelSpec], dict[str, str]]:
    from .errors import DataError, InfraLabError

    try:
        df = pl.read_csv(PRESETS_CSV, infer_schema=False)
    except Exception as e:  # pragma: no cover
        raise DataError(f"{PRESETS_CSV}: cannot read ({e})") from e
    need = {"name", "source_url", "note"} | set(_INT_FIELDS) - {
        "ssm_groups", "router_hidden", "sliding_window", "full_attention_every", "mtp_layers"}
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
        raise unknown("model preset", name, list(specs), where="data/models/presets.csv")
    return specs[lookup[key]]


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
    if spec.pos_emb == "learned":
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

