"""The plan space of :func:`~infra_lab.training.search`: :data:`SEARCH_CONSTRAINTS` and their
check, the values each plan key can take on a model and cluster, the enumeration of every
consistent plan as layouts × head rows (layout, micro-batch, sequence parallel) × tail rows
(ZeRO, FSDP, recompute), :func:`plan_space_size`, and the errors that say why no plan
satisfies the constraints."""

from __future__ import annotations

from typing import Any

import numpy as np

from .._kernels import training as kt
from ..errors import ValidationError, unknown
from ..scenario import Scenario
from ..scenario._checks import _int, _py_list, _zero_stage
from ._common import _RC, _RC_NAMES, _training_scenario

_PLAN_KEYS = ("tp", "pp", "vp", "cp", "ep", "etp", "dp", "micro_batch", "zero", "fsdp", "recompute",
              "sequence_parallel")
_BOUNDED = ("tp", "pp", "vp", "cp", "ep", "etp", "dp", "micro_batch", "zero")
SEARCH_CONSTRAINTS = tuple(_PLAN_KEYS) + tuple(f"{b}_{k}" for k in _BOUNDED for b in ("max", "min"))
"""Keyword constraints of :func:`search`: a plan key = a value or a list of values
(``recompute`` as "none"/"selective"/"full", ``fsdp``/``sequence_parallel`` as booleans), or
``max_<key>`` / ``min_<key>`` integer bounds."""

DEFAULT_MAX = {"micro_batch": 16, "vp": 8, "cp": 16, "etp": 8}

TP_ACROSS_DOMAINS = "tp_across_domains"
"""The key under which :func:`search`'s ``tp_across_domains`` option travels with the checked
constraints (a cache key of the plan space; not a constraint a caller passes)."""


def _divisors(n: int) -> list[int]:
    return [d for d in range(1, n + 1) if n % d == 0]


def _check_constraints(cons: dict) -> dict:
    """Validate search constraints: names, types and ranges. Returns them normalised
    (lists of ints for plan keys)."""
    out: dict[str, Any] = {}
    for k, v in cons.items():
        if k not in SEARCH_CONSTRAINTS:
            raise unknown("search constraint", k, SEARCH_CONSTRAINTS)
        if k.startswith(("max_", "min_")):
            base = k[4:]
            # the Scenario's integer check (an integral float such as 2.0 is 2; 2.5 is refused
            # in the same words as parallelism.tp = 2.5)
            out[k] = _int(f"search constraint {k}", v, 0 if base == "zero" else 1)
            continue
        v = _py_list(v)   # a column of values (numpy array) or a range, as a list
        vals = list(v) if isinstance(v, (list, tuple, set)) else [v]
        if not vals:
            raise ValidationError(f"search constraint {k} = {v!r}: expected at least one value")
        norm = []
        for x in vals:
            if k == "recompute":
                if not isinstance(x, str) or x not in _RC:
                    raise unknown("recompute value", x, list(_RC), where=f"search constraint {k}")
                norm.append(_RC[x])
            elif k in ("fsdp", "sequence_parallel"):
                if not isinstance(x, (bool, np.bool_)):
                    raise ValidationError(f"search constraint {k} = {x!r}: expected true or false")
                norm.append(int(x))
            elif k == "zero":
                norm.append(_zero_stage("search constraint zero", x))
            else:
                norm.append(_int(f"search constraint {k}", x))
        out[k] = norm
    for key in _BOUNDED:
        lo, hi = out.get(f"min_{key}"), out.get(f"max_{key}")
        if lo is not None and hi is not None and lo > hi:
            raise ValidationError(f"search constraints min_{key} = {lo} > max_{key} = {hi}: no value allowed")
    return out


def _with_tp_across_domains(cons: dict, tp_across_domains) -> dict:
    """The checked constraints with search's ``tp_across_domains`` option (a bool) in them when set."""
    from .. import _validate as V

    return {**cons, TP_ACROSS_DOMAINS: True} if V.boolean("tp_across_domains", tp_across_domains) else cons


def _allowed(name: str, values, cons: dict, why: str, strict: bool = True) -> list:
    """Filter candidate values of one plan key by the constraints; when an explicitly
    requested value is impossible, say which and what is allowed."""
    vals = list(values)
    if name in cons:
        want = cons[name]
        bad = [w for w in want if w not in vals]
        if strict and bad and len(bad) == len(want):
            shown = [_RC_NAMES[w] for w in bad] if name == "recompute" else bad
            allowed = [_RC_NAMES[w] for w in vals] if name == "recompute" else vals
            raise ValidationError(f"search constraint {name} = {shown[0] if len(shown) == 1 else shown}: "
                                  f"not a valid {name} here; allowed {allowed} ({why})")
        vals = [x for x in vals if x in want]
    lo = cons.get(f"min_{name}")
    hi = cons.get(f"max_{name}", DEFAULT_MAX.get(name))
    if lo is not None:
        vals = [x for x in vals if x >= lo]
    if hi is not None:
        vals = [x for x in vals if x <= hi]
    return vals


def _domains(sc: Scenario, tp_across_domains: bool = False, stack: str | None = None) -> dict[str, list[int]]:
    """Values each plan key can take on this model and cluster, before combining them
    (for error messages naming what is allowed). tp stays within the scale-up domain unless
    ``tp_across_domains`` (search's option: tensor-parallel groups over the scale-out NICs), and
    is a size the framework of ``stack`` (None: the scenario's) splits the attention heads and
    KV heads over (:func:`infra_lab.memory.training_tp_accepted`)."""
    from ..memory.inference import training_tp_accepted

    spec, hw, tr = sc.model_spec, sc.hardware, sc.training
    W, D, L = hw.world_size, hw.domain_gpus, spec.layers
    name = sc.stack if stack is None else stack
    return {
        "tp": [d for d in _divisors(W) if (tp_across_domains or d <= D) and training_tp_accepted(spec, d, name)],
        "pp": [d for d in _divisors(W) if d <= L],
        "vp": list(range(1, min(L, DEFAULT_MAX["vp"]) + 1)),
        "cp": [d for d in _divisors(W) if tr.seq_len % d == 0],
        "dp": [d for d in _divisors(W) if tr.global_batch % d == 0],
        "ep": _divisors(spec.experts) if spec.experts else [1],
        "etp": [d for d in _divisors(W) if d <= D] if spec.experts else [1],
        "micro_batch": _divisors(tr.global_batch),
    }


_WHY = {"tp": "divisors of the GPUs up to the job's scale-up domain that the training framework splits the "
              "attention heads and KV heads over; beyond the domain with tp_across_domains=True",
        "pp": "divisors of the GPUs up to the layer count", "vp": "1 up to layers/pp (default max 8)",
        "cp": "divisors of the GPUs that divide seq_len", "dp": "divisors of the GPUs that divide global_batch",
        "ep": "divisors of the expert count", "etp": "divisors of the GPUs within the scale-up domain (MoE only)",
        "micro_batch": "divisors of global_batch"}


def _why(key: str, sc: Scenario, tp_across_domains: bool = False, bad=(), stack: str | None = None) -> str:
    """What the values of plan key ``key`` are (:data:`_WHY`). For tp it names the model's head
    and KV-head counts, the framework's rule and the sizes it takes
    (:func:`infra_lab.memory.training_tp_sizes`), and offers ``tp_across_domains=True`` only where
    that option would allow the values asked (``bad``): not again when it is set, nor for a tp
    the framework refuses or that does not divide the GPUs."""
    if key != "tp":
        return _WHY[key]
    from ..memory.inference import training_tp_family, training_tp_sizes

    spec, W = sc.model_spec, sc.hardware.world_size
    name = sc.stack if stack is None else stack
    fam = training_tp_family(name)
    kv = spec.kv_heads
    if spec.attention == "mla" or kv <= 0 or kv == spec.heads:
        heads = f"the {spec.heads} attention heads"
    elif fam == "megatron":
        heads = f"the {spec.heads} attention heads and divide or are a multiple of the {kv} KV heads (Megatron-Core)"
    else:
        heads = f"the {spec.heads} attention heads and the {kv} KV heads (torchtitan)"
    heads += f": sizes {training_tp_sizes(spec, name)} on stack {name!r}"
    if tp_across_domains:
        return (f"divisors of the {W} GPUs that divide {heads}, across scale-up domains "
                f"with tp_across_domains=True")
    rule = f"divisors of the GPUs up to the job's scale-up domain that divide {heads}"
    wide = _domains(sc, True, stack)["tp"]
    if bad and all(b in wide for b in bad):
        return f"{rule}; tp = {bad[0] if len(bad) == 1 else bad} needs tp_across_domains=True"
    return rule


def _enumerate(sc: Scenario, cons: dict, stack: str | None = None):
    """Layouts (tp, pp, vp, cp, dp, ep, etp), head rows (tp pp vp cp ep etp dp mbs sp
    layout) and tail rows (zero, fsdp, recompute): every consistent plan is a head × a tail.
    The tensor-parallel sizes are those the framework of ``stack`` (None: the scenario's) takes
    (:func:`_domains`)."""
    from ..memory.inference import training_etp_accepted

    spec = sc.model_spec
    hw, tr = sc.hardware, sc.training
    W = hw.world_size
    D = hw.domain_gpus            # the job's GPUs in one scale-up domain (partial nodes, NVL72)
    L = spec.layers
    across = bool(cons.get(TP_ACROSS_DOMAINS))
    dom = _domains(sc, across, stack)
    name = sc.stack if stack is None else stack   # whose framework's tp and etp rules apply
    for k, want in cons.items():  # a requested value no plan can have: say which and what is allowed
        if k in dom:
            bad = [w for w in want if w not in dom[k]]
            if bad:
                raise ValidationError(f"search constraint {k} = {bad[0] if len(bad) == 1 else bad}: not possible "
                                      f"for {sc.model_spec.layers}-layer model on {W} GPUs; allowed {dom[k]} "
                                      f"({_why(k, sc, across, bad, stack)})")
    zeros = _allowed("zero", range(4), cons, "ZeRO stages 0-3")
    fsdps = _allowed("fsdp", (0, 1), cons, "false or true")
    # FSDP is enumerated as (zero=3, fsdp=True): full sharding, priced like ZeRO-3
    shard_opts = [(z, 0) for z in zeros if 0 in fsdps] + ([(3, 1)] if 1 in fsdps and 3 in zeros else [])
    if zeros and not shard_opts:   # fsdp = true with zero bounded below 3 read "{'fsdp': [1], 'zero': [1]} ... relax one"
        raise ValidationError(f"search constraints fsdp = true with zero = {sorted(zeros)}: FSDP shards "
                              "parameters, gradients and optimizer state (ZeRO-3); allowed zero = 3 with fsdp "
                              "(or leave zero out), or fsdp = false")
    rcs = _allowed("recompute", (0, 1, 2), cons, "none, selective, full")
    tail = np.array([(z, f, r) for z, f in shard_opts for r in rcs], dtype=np.int64).reshape(-1, 3)
    tps = _allowed("tp", dom["tp"], cons, _WHY["tp"], strict=False)
    layouts: list[tuple] = []
    keys: list[tuple] = []
    for tp in tps:
        for pp in _allowed("pp", [d for d in _divisors(W // tp) if d <= L], cons, "", strict=False):
            rem = W // (tp * pp)
            vps = [1] if pp == 1 else list(range(1, L // pp + 1))
            vps = _allowed("vp", vps, cons, "", strict=False)
            for cp in _allowed("cp", [d for d in _divisors(rem) if tr.seq_len % d == 0], cons, "", strict=False):
                dp = rem // cp
                if not _allowed("dp", [dp], cons, "", strict=False) or tr.global_batch % dp:
                    continue
                folded = tp * cp * dp
                eps = [d for d in _divisors(spec.experts) if folded % d == 0] if spec.experts else [1]
                for ep in _allowed("ep", eps, cons, "", strict=False):
                    etps = ([d for d in _divisors(folded // ep) if d <= D and training_etp_accepted(d, tp, ep, name)]
                            if spec.experts else [1])
                    for etp in _allowed("etp", etps, cons, "", strict=False):
                        for vp in vps:
                            layouts.append((tp, pp, vp, cp, dp, ep, etp))
                            keys.append((dp, tp))
    if not layouts or tail.size == 0:
        return np.zeros((0, 7), dtype=np.int64), np.zeros((0, kt.N_HEAD), dtype=np.int64), tail
    L_arr = np.array(layouts, dtype=np.int64)
    K_arr = np.array(keys, dtype=np.int64)
    parts = []
    for key in set(keys):
        dp, tp = key
        mbss = _allowed("micro_batch", _divisors(tr.global_batch // dp), cons, "", strict=False)
        sps = _allowed("sequence_parallel", [0] if tp == 1 else [0, 1], cons, "", strict=False)
        if not mbss or not sps:
            continue
        combos = np.array([(mb, spf) for mb in mbss for spf in sps], dtype=np.int64)
        lis = np.nonzero((K_arr[:, 0] == dp) & (K_arr[:, 1] == tp))[0]
        li_rep = np.repeat(lis, combos.shape[0])
        cmb = np.tile(combos, (lis.size, 1))
        parts.append((li_rep, cmb))
    if not parts:
        return L_arr, np.zeros((0, kt.N_HEAD), dtype=np.int64), tail
    li_all = np.concatenate([p[0] for p in parts])
    cmb_all = np.concatenate([p[1] for p in parts])
    order = np.lexsort((cmb_all[:, 1], cmb_all[:, 0], li_all))
    li_all, cmb_all = li_all[order], cmb_all[order]
    Ly = L_arr[li_all]
    heads = np.empty((li_all.size, kt.N_HEAD), dtype=np.int64)
    heads[:, kt.H_TP] = Ly[:, kt.LY_TP]
    heads[:, kt.H_PP] = Ly[:, kt.LY_PP]
    heads[:, kt.H_VP] = Ly[:, kt.LY_VP]
    heads[:, kt.H_CP] = Ly[:, kt.LY_CP]
    heads[:, kt.H_EP] = Ly[:, kt.LY_EP]
    heads[:, kt.H_ETP] = Ly[:, kt.LY_ETP]
    heads[:, kt.H_DP] = Ly[:, kt.LY_DP]
    heads[:, kt.H_MBS] = cmb_all[:, 0]
    heads[:, kt.H_SP] = cmb_all[:, 1]
    heads[:, kt.H_LAY] = li_all
    return L_arr, heads, tail


def plan_space_size(scenario: Scenario | dict, *, tp_across_domains: bool = False,
                    stack: str | None = None,
                    pp_schedules: str | list[str] | None = None, **constraints: Any) -> int:
    """Number of consistent plans :func:`search` would evaluate on ``stack`` (as search's
    keyword; None: the scenario's) with the schedules of ``pp_schedules`` (as search's keyword;
    None: 1F1B and interleaved by vp; a zero-bubble schedule adds the plans that run it): the
    plans whose micro-batches per step the stack's schedule refuses
    (:func:`infra_lab.training.plan_search.microbatch_refused`) are not counted, as the search
    leaves them out."""
    from .context import check_stack_keyword
    from .plan_search import _check_pp_schedules, _schedule_masks

    sc = _training_scenario(scenario, "plan_space_size", check_plan=False)
    cons = _with_tp_across_domains(_check_constraints(constraints), tp_across_domains)
    name = sc.stack if stack is None else check_stack_keyword(sc, stack)
    scheds = _check_pp_schedules(pp_schedules, name)
    _, heads, tail = _enumerate(sc, cons, name)
    if not heads.size:
        return 0
    kept = sum(int(mask.sum()) for _, mask in _schedule_masks(heads, sc.training.global_batch, name, scheds))
    return int(kept * tail.shape[0])


def _name_batch_without_plan(sc: Scenario, cons: dict, stack: str | None = None) -> None:
    """When no plan exists even without the constraints, say why: dp = world/(tp·pp·cp) must
    divide training.global_batch, and the model cannot be split enough ways for that (a scenario
    whose [parallelism] table is left out or not checked reaches the search with any batch)."""
    if cons and _enumerate(sc, {}, stack)[1].shape[0]:
        return
    spec, hw, tr = sc.model_spec, sc.hardware, sc.training
    W, L, max_cp = hw.world_size, spec.layers, DEFAULT_MAX["cp"]
    dps = [W // (tp * pp * cp) for tp in _domains(sc, False, stack)["tp"] for pp in _divisors(W // tp) if pp <= L
           for cp in _divisors(W // (tp * pp)) if cp <= max_cp and tr.seq_len % cp == 0]
    dp_min = min(dps)
    from ..memory.inference import _heads_text  # the one wording of a model's heads and KV heads

    name, _, kvs = _heads_text(spec)
    raise ValidationError(
        f"training.global_batch = {tr.global_batch}: no parallel plan on {W} GPUs has a data-parallel size "
        f"dp = {W}/(tp·pp·cp) that divides it; the {spec.heads} attention heads of {name}{kvs}, its {L} layers "
        f"and seq_len {tr.seq_len} split at most {W // dp_min} ways (tp a size the training framework splits the heads "
        f"over, within the {hw.domain_gpus}-GPU scale-up domain, pp up to the layers, cp up to {max_cp} dividing seq_len), "
        f"so dp >= {dp_min}; allowed: a global batch that is a multiple of {dp_min}, or fewer GPUs")


def _name_unreachable_bound(sc: Scenario, cons: dict, stack: str | None = None) -> None:
    """When no plan satisfies the constraints, name a min_/max_ bound that no plan reaches
    (the others allowing plans) with the values the plans can take (issue 18 item 6)."""
    for k in [k for k in cons if k.startswith(("min_", "max_"))]:
        rest = {kk: vv for kk, vv in cons.items() if kk != k}
        _, h2, t2 = _enumerate(sc, rest, stack)
        if h2.shape[0] == 0 or t2.shape[0] == 0:
            continue
        base = k[4:]
        col = {"tp": kt.H_TP, "pp": kt.H_PP, "vp": kt.H_VP, "cp": kt.H_CP, "ep": kt.H_EP, "etp": kt.H_ETP,
               "dp": kt.H_DP, "micro_batch": kt.H_MBS}
        vals = sorted(set((t2[:, 0] if base == "zero" else h2[:, col[base]]).tolist()))
        raise ValidationError(f"search constraint {k} = {cons[k]}: no plan reaches it here "
                              f"({sc.model_spec.layers}-layer model on {sc.hardware.world_size} GPUs, with the other "
                              f"constraints); allowed {base} values: {vals}")
