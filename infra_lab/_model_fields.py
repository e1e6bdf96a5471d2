"""Building and checking a :class:`~infra_lab.models.ModelSpec` (private).

The field table of a Scenario ``[model]`` table or a preset row (which fields are integers,
flags, text, ...; the allowed choices; the physical and library bounds) and the functions
that turn such a table into a validated spec: :func:`from_dict` (preset + overrides, or
explicit fields), :func:`build` (coercion, defaults, choices), :func:`check` (consistency of
the fields) and :func:`check_widths` (every weight matrix within the compute model's bound).
``ModelSpec.from_dict``, ``ModelSpec.replace`` and the preset loader of
:mod:`infra_lab.models` call them.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .models import ModelSpec

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
    "mtp_layers", "router_groups", "router_group_topk",
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
# the fields that only shape a MoE layer, with their value on a dense model (experts = 0);
# router_groups / router_group_topk and expert_weight_format have their own checks in check()
_MOE_ONLY = {"top_k": 0, "expert_ffn_hidden": 0, "shared_experts": 0, "shared_expert_ffn_hidden": 0,
             "dense_layers": 0, "moe_every": 1, "router": "linear", "router_hidden": 0}
_MOE_DENSE = {**_MOE_ONLY, "router_groups": 0, "router_group_topk": 0, "expert_weight_format": ""}
# sizes that must be > 0 whenever given (others may be 0 = "not used")
_POSITIVE = ("layers", "hidden", "heads", "kv_heads", "head_dim", "ffn_hidden", "vocab", "moe_every")


def bounded_int(field: str, x: Any, *, allow_zero: bool = True, hi: float = _MAX_FIELD) -> int:
    """A size or count of a model or encoder table: an integer in 0 (1 without ``allow_zero``)
    .. ``hi`` (``_MAX_FIELD`` by default, the physical bound on any single size), checked
    before it is turned into an int, so a message repeats the value as given (1e+30)."""
    from .errors import ValidationError, check_positive

    n = check_positive(field, x, integer=True, allow_zero=allow_zero)
    if n > hi:
        raise ValidationError(f"{field} = {x!r}: must be <= {hi:,.0f} (physical bound)")
    return int(n)


def unknown_field(key: Any):
    """The error for a [model] key that is no model field: a scenario table's key (``tp``,
    ``seq_len``, ``accelerator``, ``concurrency``) is pointed to its table, anything else gets
    the nearest field names."""
    from .errors import UnknownNameError, unknown
    from .models import MODEL_FIELDS
    from .scenario._checks import _home_table

    home = _home_table("model", key)
    if home is None:
        return unknown("model field", key, MODEL_FIELDS, where="[model]")
    return UnknownNameError(
        f"unknown model field {key!r} in [model]: {key!r} is a key of a scenario's [{home}] table, not [model] "
        f"(put it there). Valid in [model]: {', '.join(sorted(MODEL_FIELDS))}")


def from_dict(cls: type[ModelSpec], d: dict[str, Any] | ModelSpec) -> ModelSpec:
    """:meth:`ModelSpec.from_dict <infra_lab.models.ModelSpec.from_dict>` (documented there): a
    preset with overrides (which drop the published counts and rename it ``<preset>*``), or
    explicit fields, handed to :func:`build`."""
    from .errors import ValidationError
    from .models import MODEL_FIELDS, ModelSpec, get, preset_names

    if isinstance(d, ModelSpec):
        return d
    if not isinstance(d, dict):
        raise ValidationError(f"model = {d!r}: expected a table (dict) of model fields or a preset")
    for k in d:
        if k not in MODEL_FIELDS:
            raise unknown_field(k)
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
        if base.experts and d.get("experts") == 0:
            # the dense counterpart of a MoE preset: its MoE-only fields go with its experts
            # (a field the table gives is kept, and check() refuses it)
            vals.update({k: v for k, v in _MOE_DENSE.items() if k not in d})
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
    return build(cls, vals)


def build(cls: type[ModelSpec], vals: dict[str, Any]) -> ModelSpec:
    """A validated spec from field values: coerced to their kinds (``_INT_FIELDS``, ...),
    defaults filled in (``kv_heads``, ``head_dim``, ``ffn_hidden``, ``attention``), choices
    checked, then :func:`check`, the parameter bound and :func:`check_widths`."""
    from .errors import ValidationError, check_positive, nearest

    v = dict(vals)
    out: dict[str, Any] = {}
    for k in _INT_FIELDS:
        if k in v and v[k] is not None:
            out[k] = bounded_int(f"model.{k}", v[k], allow_zero=k not in _POSITIVE)
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
        if k in v and v[k] is not None:
            out[k] = bounded_int(f"model.{k}", v[k], allow_zero=False, hi=_MAX_PARAMS)
    for k in _FLOAT_FIELDS:
        if k in v and v[k] is not None:
            out[k] = float(check_positive(f"model.{k}", v[k]))
            if out[k] > 100:
                raise ValidationError(f"model.{k} = {v[k]!r}: a tolerance in percent; allowed > 0 .. 100")
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
                near = nearest(out[k], allowed)
                hint = f" (did you mean {', '.join(repr(x) for x in near)}?)" if near else ""
                raise ValidationError(f"model.{k} = {out[k]!r}: allowed values are {', '.join(allowed)}{hint}")
    spec = cls(**out)
    check(spec)
    if spec.params_total > _MAX_PARAMS:
        raise ValidationError(f"model: {spec.params_total:.3g} parameters; at most {_MAX_PARAMS:.0e} "
                              "(physical bound: check hidden, layers, heads x head_dim, vocab and experts)")
    check_widths(spec)
    return spec


def check_widths(spec: ModelSpec) -> None:
    """Every weight matrix within the compute model's bound on a side (``_MAX_WIDTH``), so
    that an absurd width is refused here, by the field that sets it, and not by a compute
    function's argument check deep inside an estimate."""
    from .compute.ops import gemm_records
    from .errors import ValidationError

    if spec.hidden > _MAX_WIDTH:
        raise ValidationError(f"model.hidden = {spec.hidden}: at most {_MAX_WIDTH:,} (2**24, the compute "
                              "model's bound on a weight matrix's side)")
    r = gemm_records(spec, 1, 1, 1)
    for name, comp, n, k in zip(r.name, r.component, r.n, r.k, strict=True):
        if comp == "attention" or max(n, k) <= _MAX_WIDTH:
            continue
        field, how = next(((f, h) for names, f, h in _WIDTH_FIELDS if name in names), ("hidden", ""))
        if field == "expert_ffn_hidden" and not spec.expert_ffn_hidden:
            field = "ffn_hidden"
        raise ValidationError(
            f"model.{field} = {getattr(spec, field)}: the {name} weight matrix would be {int(k):,} x {int(n):,} "
            f"({how}); allowed at most {_MAX_WIDTH:,} per side (2**24, the compute model's bound on a "
            "matrix side)")


def check(spec: ModelSpec) -> None:
    """The fields agree with each other (top_k <= experts, MLA/CCA/SSM sizes given, windows only
    where supported, ...) and every size is within its bound; a ValidationError names the field."""
    from .errors import ValidationError

    def need(cond: bool, msg: str) -> None:
        if not cond:
            raise ValidationError(msg)

    for k in _INT_FIELDS:
        v = getattr(spec, k)
        need(v <= _MAX_FIELD, f"model.{k} = {v}: must be <= {_MAX_FIELD:,} (physical bound)")
    need(spec.layers + spec.mtp_layers <= _MAX_LAYERS,   # before params_total, which walks the layers
         f"model.layers = {spec.layers}" + (f" (+ mtp_layers = {spec.mtp_layers})" if spec.mtp_layers else "")
         + f": at most {_MAX_LAYERS:,} layers (a library bound that keeps the per-layer work of an estimate "
         "small)")
    if not spec.experts:
        # a dense model has no MoE layer: the fields that only shape one would be ignored
        for k, dense in _MOE_ONLY.items():
            v = getattr(spec, k)
            need(v == dense, f"model.{k} = {v!r}: the model has no experts (experts = 0, dense), so it has no MoE "
                             f"layer for {k} to shape; allowed {k} = {dense!r}, or give experts > 0")
    if spec.experts:
        # top_k 0 is the dense default, i.e. a MoE table that left top_k out: say so
        unset = " (the dense default: top_k not given)" if spec.top_k == 0 else ""
        need(1 <= spec.top_k <= spec.experts,
             f"model.top_k = {spec.top_k}{unset}: a MoE routes each token to top_k of its experts; must be "
             f"between 1 and experts = {spec.experts}")
        need(spec.expert_ffn_hidden > 0 or spec.ffn_hidden > 0,
             "model.expert_ffn_hidden: must be > 0 for a MoE model")
        need(spec.dense_layers < spec.layers,
             f"model.dense_layers = {spec.dense_layers}: must be < layers = {spec.layers}")
    if spec.shared_experts:
        need(spec.shared_expert_ffn_hidden > 0,
             f"model.shared_expert_ffn_hidden = {spec.shared_expert_ffn_hidden}: must be > 0 when "
             f"shared_experts = {spec.shared_experts}; give the shared experts' MLP width (0 when left out)")
    if spec.attention == "mla":
        for k in ("kv_lora_rank", "qk_nope_head_dim", "qk_rope_head_dim", "v_head_dim"):
            v = getattr(spec, k)
            need(v > 0, f"model.{k} = {v}: must be > 0 for attention = 'mla'; give it in [model] (0 when left out)")
    if spec.attention == "cca":
        for k in ("cca_time0", "cca_time1"):
            need(getattr(spec, k) > 0, f"model.{k} = {getattr(spec, k)}: must be > 0 for attention = 'cca'")
        need(spec.head_dim % 2 == 0 and spec.kv_heads * spec.head_dim % 2 == 0,
             f"model.head_dim = {spec.head_dim}: CCA splits values in halves; must be even")
    if spec.router == "mlp" and spec.experts:
        need(spec.router_hidden > 0, "model.router_hidden: must be > 0 for router = 'mlp'")
    if spec.full_attention_every:
        need(spec.sliding_window > 0,
             f"model.full_attention_every = {spec.full_attention_every}: needs sliding_window > 0 "
             "(without a window every layer is full attention)")
    if spec.sliding_window or spec.attention_sinks:
        need(spec.arch == "transformer" and spec.attention in ("mha", "gqa"),
             f"model.sliding_window / attention_sinks: supported for mha/gqa transformers "
             f"(arch = {spec.arch!r}, attention = {spec.attention!r})")
    if spec.router_groups or spec.router_group_topk:
        # group-limited routing (DeepSeek-V2 device-limited, DeepSeek-V3 node-limited; Megatron-Core
        # --moe-router-num-groups / --moe-router-group-topk): both or neither, experts in equal groups
        need(spec.experts > 0 and spec.router_groups > 0 and spec.router_group_topk > 0,
             f"model.router_groups = {spec.router_groups}, router_group_topk = {spec.router_group_topk}: "
             "group-limited routing needs a MoE model (experts > 0) and both fields > 0 (0 and 0 = no limit)")
        need(spec.router_groups <= spec.experts and spec.experts % spec.router_groups == 0,
             f"model.router_groups = {spec.router_groups}: must divide experts = {spec.experts} (equal groups)")
        need(spec.router_group_topk <= spec.router_groups,
             f"model.router_group_topk = {spec.router_group_topk}: must be between 1 and router_groups = "
             f"{spec.router_groups}")
        need(spec.top_k <= spec.router_group_topk * (spec.experts // spec.router_groups),
             f"model.top_k = {spec.top_k}: more than the {spec.router_group_topk} selected groups hold "
             f"({spec.router_group_topk * (spec.experts // spec.router_groups)} experts)")
    if spec.expert_weight_format:
        need(spec.experts > 0, f"model.expert_weight_format = {spec.expert_weight_format!r}: "
             "the model has no experts (dense); allowed ''")
    if spec.pos_emb == "learned":
        need(spec.max_seq_len > 0, "model.max_seq_len: must be > 0 for pos_emb = 'learned'")
    if spec.arch == "hybrid_ssm":
        for k in ("ssm_state", "ssm_head_dim", "ssm_expand", "ssm_conv", "ssm_groups"):
            need(getattr(spec, k) > 0, f"model.{k} = {getattr(spec, k)}: must be > 0 for arch = 'hybrid_ssm'")
        d_inner = spec.ssm_expand * spec.hidden
        need(d_inner % spec.ssm_head_dim == 0,
             f"model.ssm_head_dim = {spec.ssm_head_dim}: must divide ssm_expand*hidden = {d_inner}")
        if spec.shared_attn_insertions:
            need(spec.shared_attn_blocks > 0,
                 "model.shared_attn_blocks: must be > 0 when shared_attn_insertions is set")
            bad = [i for i in spec.shared_attn_insertions if not 0 <= i < spec.layers]
            need(not bad, f"model.shared_attn_insertions = {bad}: indices must be in [0, {spec.layers})")


def _to_bool(name: str, x: Any) -> bool:
    """A flag of the [model] table: a bool (numpy's too), never a string or a number, as every
    other flag of a scenario (the preset table's "true"/"false" text is read by its loader)."""
    from .errors import ValidationError

    if isinstance(x, bool) or type(x).__name__ == "bool_":
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
        out = []
        for i in items:
            if isinstance(i, str) and i.strip().isdigit():   # the preset table's "6;12" text
                i = int(i)
            if isinstance(i, bool) or not isinstance(i, int) or i < 0:
                raise ValidationError(f"model.{name} = {x!r}: expected layer indices (integers >= 0)")
            out.append(i)
        return tuple(out)
    if not all(isinstance(i, str) for i in items):
        raise ValidationError(f"model.{name} = {x!r}: expected a list of names or a ';'-separated string")
    return tuple(str(i).lower() for i in items)
