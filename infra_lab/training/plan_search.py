"""The parallelism search: :func:`search` evaluates every plan of :mod:`.plans` with the numba
step kernel (serially below :data:`SEARCH_SERIAL_BELOW` plans, in parallel above), memoises the
per-search tables (:func:`_prepared`), keeps its working buffers for the next call within
:data:`WORK_KEEP_MAX_BYTES`, and builds the result frame column-wise (:func:`_frame`), best
plan first by one of :data:`OBJECTIVES`."""

from __future__ import annotations

import contextlib
import functools
import threading
import warnings
from typing import Any

import numba
import numpy as np
import polars as pl

from .. import _validate as V
from .. import catalog
from .._kernels import training as kt
from ..errors import EmptyResultWarning, ValidationError, named_keywords, unknown, user_stacklevel
from ..memory import V_SCHEDULES
from ..scenario import PP_SCHEDULES, RECOMPUTE, Scenario
from ..scenario._checks import _py_list
from ..scenario.parallelism_table import PP_SCHEDULE_VP
from ._common import _RC, _training_scenario
from .context import (
    _context,
    _layout_tables,
    _stage_tables,
    _xtab,
    check_stack_keyword,
    gacc_code,
    rate_numerators,
)
from .factors import stack_params
from .plans import (
    _check_constraints,
    _enumerate,
    _name_batch_without_plan,
    _name_unreachable_bound,
    _with_tp_across_domains,
)
from .programs import executed_programs
from .step import COMPONENTS

OBJECTIVES = {  # name -> True if larger is better
    "tokens_per_s": True, "mfu": True, "tflops_per_gpu": True, "step_time_s": False,
    "memory_per_gpu_bytes": False,
    "tokens_per_s_per_gpu": True,   # Estimate's per-GPU name; the same order as tokens_per_s
}

PP_SCHEDULE_STACKS_FILE = "pp_schedule_stacks.csv"
MICROBATCH_RULES = {
    "multiple_of_pp": "a multiple of pp (Megatron-Core's interleaved schedule, whose micro-batch group "
                      "microbatch_group_size_per_vp_stage defaults to pp)",
    "multiple_of_rounds": "a multiple of its rounds max(1, m // pp) (torch.distributed.pipelining's "
                          "ScheduleInterleaved1F1B)",
    "at_least_pp": "at least pp (torch.distributed.pipelining's Schedule1F1B raises an error for fewer "
                   "micro-batches than stages)",
    "at_least_2pp_minus_1": "at least 2 x pp - 1 (Primus' zbv-formatted table is built for max(2 x pp - 1, m) "
                            "micro-batches and runs them all, more than the step has below that)",
}
"""The micro-batch counts per step a stack's pipeline schedule accepts, by the
``microbatch_rule`` column of ``data/pp_schedule_stacks.csv`` (per stack and schedule, cited
there; no rule: every count): name -> the rule for m, the micro-batches per step
(global_batch / (micro_batch · dp)). Interleaved 1F1B: ``multiple_of_pp`` on Megatron-LM /
Megatron-Core and Primus, which refuse any other m at the default group;
``multiple_of_rounds`` on torch.distributed.pipelining (torchtitan), which runs m < pp in one
round and m = 10 at pp 4 (two rounds of 5) but refuses m = 30 at pp 4. Plain 1F1B:
``at_least_pp`` on torchtitan (``Schedule1F1B``); Megatron-Core's accepts m < pp (no rule).
ZBV: ``at_least_2pp_minus_1`` on Primus (``zbv-formatted``); torch's ``ScheduleZBVZeroBubble``
drops the passes of the micro-batches past m (no rule). Primus' ZB-H1, V-Half and V-Min: no
sourced limit. See :func:`microbatch_refused`, :func:`schedule_microbatch_rule`."""

_PP_SCHEDULE_SCHEMA = {
    "stack": catalog.Col("str", required=True),
    "pp_schedule": catalog.Col("str", required=True, choices=PP_SCHEDULES),
    "library_name": catalog.Col("str", required=True), "note": catalog.Col("str", required=True),
    "microbatch_rule": catalog.Col("str", choices=tuple(MICROBATCH_RULES)),
}
DEFAULT_PP_SCHEDULES = ("1f1b", "interleaved")
"""The pipeline schedules :func:`search` explores when ``pp_schedules`` is left out: 1F1B (vp = 1)
and interleaved 1F1B (vp > 1), every training stack's (``data/pp_schedule_stacks.csv``), so a
default search is priced alike on every stack and keeps its speed (the zero-bubble family is
opt-in: ``pp_schedules="all"`` or a list). The plans whose micro-batches per step the stack's
schedule refuses (:func:`microbatch_refused`: interleaved plans on every stack, plain 1F1B with
m < pp on torchtitan) are left out."""


@functools.cache
def _pp_schedule_table() -> dict[str, tuple[tuple[str, str], ...]]:
    df = catalog.read_table(catalog.DATA_DIR / PP_SCHEDULE_STACKS_FILE, _PP_SCHEDULE_SCHEMA)
    by: dict[str, list[tuple[str, str]]] = {}
    for st, sched, lib in df.select("stack", "pp_schedule", "library_name").iter_rows():
        by.setdefault(st, []).append((sched, lib))
    return {st: tuple(sorted(v, key=lambda x: PP_SCHEDULES.index(x[0]))) for st, v in by.items()}


def stack_pp_schedules(stack: str) -> dict[str, str]:
    """The pipeline schedules (:data:`infra_lab.scenario.PP_SCHEDULES` names, in that order) that
    the training stack implements, each with the library's own name for it
    (``data/pp_schedule_stacks.csv``, cited per row): Megatron-LM / Megatron-Core run 1F1B and
    interleaved 1F1B, AMD's Primus (megatron-core-rocm) also ZB-H1, ZBV, V-Half and V-Min,
    torchtitan also ZBV (torch.distributed.pipelining's ScheduleZBVZeroBubble).

    >>> list(stack_pp_schedules("torchtitan-rocm"))
    ['1f1b', 'interleaved', 'zbv']
    """
    from .. import stacks

    name = stacks.canonical(stack, "training", where="stack_pp_schedules")
    tab = _pp_schedule_table()
    if name not in tab:
        raise ValidationError(f"stack {name!r}: no row in data/{PP_SCHEDULE_STACKS_FILE} says which pipeline "
                              f"schedules it implements")
    return dict(tab[name])


@functools.cache
def _microbatch_rule_table() -> dict[tuple[str, str], str]:
    df = catalog.read_table(catalog.DATA_DIR / PP_SCHEDULE_STACKS_FILE, _PP_SCHEDULE_SCHEMA)
    return {(st, sched): rule for st, sched, rule in df.select("stack", "pp_schedule", "microbatch_rule").iter_rows()
            if rule is not None}


def schedule_microbatch_rule(stack: str, pp_schedule: str) -> str | None:
    """The :data:`MICROBATCH_RULES` name of the micro-batch counts per step that the training
    stack's pipeline schedule ``pp_schedule`` (a :data:`infra_lab.scenario.PP_SCHEDULES` name)
    accepts (``data/pp_schedule_stacks.csv``, its ``microbatch_rule``); None where the stack
    sets no limit or has no row for the schedule.

    >>> schedule_microbatch_rule("torchtitan-cuda", "1f1b"), schedule_microbatch_rule("megatron-core-cuda", "1f1b")
    ('at_least_pp', None)
    >>> schedule_microbatch_rule("megatron-core-rocm", "zbv"), schedule_microbatch_rule("torchtitan-rocm", "zbv")
    ('at_least_2pp_minus_1', None)
    """
    from .. import stacks

    name = stacks.canonical(stack, "training", where="schedule_microbatch_rule")
    if not isinstance(pp_schedule, str) or pp_schedule.strip().lower() not in PP_SCHEDULES:
        raise _unknown_schedule(pp_schedule, "schedule_microbatch_rule")
    return _microbatch_rule_table().get((name, pp_schedule.strip().lower()))


def interleaved_microbatch_rule(stack: str) -> str | None:
    """The :data:`MICROBATCH_RULES` name of the micro-batch counts per step that the training
    stack's interleaved 1F1B schedule accepts (``data/pp_schedule_stacks.csv``, its
    ``microbatch_rule``); None for a stack without an interleaved row or rule
    (:func:`schedule_microbatch_rule` of ``"interleaved"``).

    >>> interleaved_microbatch_rule("megatron-core-cuda"), interleaved_microbatch_rule("torchtitan-rocm")
    ('multiple_of_pp', 'multiple_of_rounds')
    """
    from .. import stacks

    name = stacks.canonical(stack, "training", where="interleaved_microbatch_rule")
    return _microbatch_rule_table().get((name, "interleaved"))


def microbatch_refused(rule: str | None, m, pp, *, where: str = "microbatch_refused"):
    """True where a pipeline plan with ``m`` micro-batches per step on ``pp`` pipeline ranks is
    refused by a schedule that accepts the counts ``rule`` (:data:`MICROBATCH_RULES`,
    :func:`schedule_microbatch_rule`); numbers or numpy arrays (broadcast). A rule of None
    refuses nothing; no rule refuses a plan with pp = 1 (no pipeline schedule runs).

    >>> bool(microbatch_refused("at_least_pp", 3, 4)), bool(microbatch_refused("at_least_2pp_minus_1", 7, 4))
    (True, False)
    """
    m, pp = np.asarray(m, dtype=np.int64), np.asarray(pp, dtype=np.int64)
    if rule is None:
        return np.zeros(np.broadcast(m, pp).shape, dtype=bool)
    if rule == "multiple_of_pp":
        out = m % pp != 0
    elif rule == "multiple_of_rounds":
        out = m % np.maximum(1, m // pp) != 0
    elif rule == "at_least_pp":
        out = m < pp
    elif rule == "at_least_2pp_minus_1":
        out = m < 2 * pp - 1
    else:
        raise unknown("microbatch_rule", rule, MICROBATCH_RULES, where=where)
    return out & (pp > 1)


def interleaved_refused(rule: str | None, m, pp, vp=None):
    """True where an interleaved 1F1B plan with ``m`` micro-batches per step on ``pp`` pipeline
    ranks is refused by a stack whose interleaved schedule accepts the counts ``rule``
    (:data:`MICROBATCH_RULES`, :func:`interleaved_microbatch_rule`); numbers or numpy arrays
    (broadcast). With ``vp``, only plans with pp > 1 and vp > 1 (the interleaved ones) can be
    refused. A rule of None refuses nothing (:func:`microbatch_refused` for any schedule).

    >>> bool(interleaved_refused("multiple_of_pp", 30, 4)), bool(interleaved_refused("multiple_of_rounds", 10, 4))
    (True, False)
    """
    out = microbatch_refused(rule, m, pp, where="interleaved_refused")
    if vp is not None:
        out = out & (np.asarray(vp) > 1)
    return out


def _schedule_rows(heads: np.ndarray, sched: int) -> np.ndarray:
    """Mask of the head rows that run the pipeline schedule ``sched`` (index into PP_SCHEDULES):
    1F1B vp = 1, interleaved vp > 1, the others pp > 1 and their vp."""
    pp, vp = heads[:, kt.H_PP], heads[:, kt.H_VP]
    if sched == 0:
        return vp == 1
    if sched == 1:
        return vp > 1
    return (pp > 1) & (vp == PP_SCHEDULE_VP[PP_SCHEDULES[sched]])


def _refused_mask(heads: np.ndarray, global_batch: int, stack: str, sched: int) -> np.ndarray:
    """Mask of the head rows of schedule ``sched`` (index into PP_SCHEDULES) that the stack's
    schedule refuses for their micro-batches per step (:func:`microbatch_refused`)."""
    try:
        rule = schedule_microbatch_rule(stack, PP_SCHEDULES[sched])
    except ValidationError:
        rule = None
    if rule is None or heads.shape[0] == 0:
        return np.zeros(heads.shape[0], dtype=bool)
    m = global_batch // (heads[:, kt.H_MBS] * heads[:, kt.H_DP])
    return microbatch_refused(rule, m, heads[:, kt.H_PP]) & _schedule_rows(heads, sched)


def _refused_rows(heads: np.ndarray, global_batch: int, stack: str,
                  scheds: tuple[int, ...] = (0, 1)) -> np.ndarray:
    """Mask of the head rows a search over ``scheds`` (default: 1F1B and interleaved, the default
    search's) leaves out because the stack's schedule refuses their micro-batches per step."""
    out = np.zeros(heads.shape[0], dtype=bool)
    for s in scheds:
        out |= _refused_mask(heads, global_batch, stack, s)
    return out


def _schedule_masks(heads: np.ndarray, global_batch: int, stack: str,
                    scheds: tuple[int, ...]) -> list[tuple[int, np.ndarray]]:
    """(kernel schedule, mask of head rows) of a search over ``scheds`` (indices into
    PP_SCHEDULES): first the 1F1B / interleaved rows (kernel schedule 0, priced by vp), then one
    mask per zero-bubble schedule; rows whose micro-batches per step the stack's schedule
    refuses are left out. :func:`search` evaluates these rows and :func:`plan_space_size`
    counts them."""
    if 0 in scheds and 1 in scheds:
        base = ~_refused_rows(heads, global_batch, stack, (0, 1))
    elif 0 in scheds or 1 in scheds:
        s01 = 0 if 0 in scheds else 1
        base = _schedule_rows(heads, s01) & ~_refused_mask(heads, global_batch, stack, s01)
    else:
        base = np.zeros(heads.shape[0], dtype=bool)
    return [(0, base)] + [(s, _schedule_rows(heads, s) & ~_refused_mask(heads, global_batch, stack, s))
                          for s in scheds if s >= 2]


_SCHEDULE_LABELS = {"1f1b": ("1F1B", "1F1B plan", "(vp = 1)"),
                    "interleaved": ("interleaved 1F1B", "interleaved plan", "(vp > 1)")}


def _schedule_label(sched: str) -> tuple[str, str, str]:
    """(schedule, plan noun, vp condition) of a PP_SCHEDULES name, for messages."""
    if sched in _SCHEDULE_LABELS:
        return _SCHEDULE_LABELS[sched]
    return sched, f"{sched} plan", f"(vp = {PP_SCHEDULE_VP[sched]})"


def refused_text(stack: str, pp_schedule: str) -> str:
    """Why the stack refuses some plans of ``pp_schedule``, for messages: the micro-batches per
    step that its schedule accepts."""
    rule = schedule_microbatch_rule(stack, pp_schedule)
    label = _schedule_label(pp_schedule)[0]
    return (f"the {stack} stack's {label} schedule needs the micro-batches per step "
            f"(global_batch / (micro_batch x dp)) to be {MICROBATCH_RULES[rule]} "
            f"(data/{PP_SCHEDULE_STACKS_FILE})")


def pp_schedule_alias(name: object) -> str | None:
    """The PP_SCHEDULES name of a library's own schedule name (Primus' ``pp_algorithm``,
    torchtitan's ``pipeline_parallel_schedule``, as ``data/pp_schedule_stacks.csv`` lists them,
    case-insensitive), with the libraries that use it: a hint for an unknown schedule name.

    >>> pp_schedule_alias("zero-bubble")
    "'zb-h1' (megatron-core-rocm: pp_algorithm = zero-bubble)"
    """
    if not isinstance(name, str):
        return None
    key = name.strip().lower()
    for st, rows in _pp_schedule_table().items():
        for sched, lib in rows:
            if "=" in lib and lib.split("=", 1)[1].strip().lower() == key and key != sched:
                return f"{sched!r} ({st}: {lib.strip()})"
    return None


def _unknown_schedule(value, where: str, valid=PP_SCHEDULES):
    err = unknown("pp_schedule value", value, valid, where=where)
    alias = pp_schedule_alias(value)
    if alias is not None:
        err = type(err)(f"{err} ({value!r} is the library's name: infra_lab calls it {alias})")
    return err


def _check_pp_schedules(pp_schedules, stack: str) -> tuple[int, ...]:
    """``pp_schedules`` of :func:`search` as sorted indices into PP_SCHEDULES: None the
    defaults, "all" every schedule of the stack, else names (one or a list), each known and
    implemented by the stack."""
    if pp_schedules is None:
        return tuple(PP_SCHEDULES.index(s) for s in DEFAULT_PP_SCHEDULES)
    runs = stack_pp_schedules(stack)
    pp_schedules = _py_list(pp_schedules)   # a numpy array of names is its list
    names = [pp_schedules] if isinstance(pp_schedules, str) else pp_schedules
    if not isinstance(names, (list, tuple, set, frozenset)) or not names:
        raise ValidationError(f"pp_schedules = {pp_schedules!r}: expected a schedule name, a non-empty list of "
                              f"them ({', '.join(PP_SCHEDULES)}), \"all\" (every schedule of the stack) or None "
                              f"({', '.join(DEFAULT_PP_SCHEDULES)})")
    # "all" alone or in a list (["all"], the CLI's "all,zbv"): every schedule of the stack, the names beside
    # it checked as any (a typo, or a schedule the stack lacks, is not passed over)
    every = [n for n in names if isinstance(n, str) and n.strip().lower() == "all"]
    names = [n for n in names if not any(n is a for a in every)]
    out = set()
    for n in names:
        if not isinstance(n, str) or n.lower() not in PP_SCHEDULES:
            raise _unknown_schedule(n, "il.search(pp_schedules=...)", PP_SCHEDULES + ("all",))
        n = n.lower()
        if n not in runs:
            others = [st for st, v in _pp_schedule_table().items() if any(x == n for x, _ in v)]
            raise ValidationError(
                f"pp_schedules: {n!r} is not a schedule of the stack {stack!r}, which runs "
                f"{', '.join(repr(r) for r in runs)} (data/{PP_SCHEDULE_STACKS_FILE}); stacks that run {n!r}: "
                f"{', '.join(others) or 'none'} (choose one with stack=... on its platform, or drop {n!r})")
        out.add(PP_SCHEDULES.index(n))
    if every:
        return tuple(PP_SCHEDULES.index(s) for s in runs)
    return tuple(sorted(out))


def _with_schedule(c: np.ndarray, sched: int) -> np.ndarray:
    """The step kernel's constants ``c`` pricing the pipeline schedule ``sched`` (its index in
    PP_SCHEDULES, the constant il.estimate sets from parallelism.pp_schedule): the same bubble
    (kt.pipeline_bubble) and in-flight micro-batches (kt.inflight_schedule; a V schedule's per
    chunk from its replayed order) as il.estimate's."""
    if sched == int(c[kt.C_PP_SCHED]):
        return c
    c = c.copy()
    c[kt.C_PP_SCHED] = float(sched)
    return c


@functools.lru_cache(maxsize=32)
def _schedule_heads(sc: Scenario, cons_t: tuple, stack, params_t: tuple, scheds: tuple[int, ...]):
    """(heads, codes, blocks) of a search over the pipeline schedules ``scheds`` (indices into
    PP_SCHEDULES): the head rows of :func:`_prepared` that each schedule can run (1F1B vp = 1,
    interleaved vp > 1, ZB-H1 pp > 1 and vp = 1, the V schedules pp > 1 and vp = 2), with
    micro-batches per step that the stack's schedule accepts (:func:`microbatch_refused`; the
    other rows are left out), one block per kernel schedule, the
    1F1B/interleaved block first and in enumeration order; ``codes`` the PP_SCHEDULES index of
    each head row; ``blocks`` (start, stop, kernel schedule) in head rows. None when no head row
    runs any of them."""
    heads, _, ctx, _ = _prepared(sc, cons_t, stack, params_t)
    # the plans whose micro-batches per step the stack's schedule refuses are not offered (once per
    # cached plan set: the kernel sees only the kept rows)
    sel = _schedule_masks(heads, sc.training.global_batch, ctx.stack, scheds)
    parts, codes, blocks, start = [], [], [], 0
    for s, mask in sel:
        h = heads if mask.all() else heads[mask]
        if h.shape[0] == 0:
            continue
        parts.append(h)
        codes.append((h[:, kt.H_VP] > 1).astype(np.uint32) if s == 0 else np.full(h.shape[0], s, dtype=np.uint32))
        blocks.append((start, start + h.shape[0], s))
        start += h.shape[0]
    if not parts:
        return None
    out = parts[0] if len(parts) == 1 else np.concatenate(parts)
    out = np.ascontiguousarray(out)
    cd = np.concatenate(codes)
    for a in (out, cd):
        a.setflags(write=False)
    return out, cd, tuple(blocks)


@functools.lru_cache(maxsize=32)
def _prepared(sc: Scenario, cons_t: tuple, stack, params_t: tuple):
    """Heads, tail, context and layout tables of one search (memoised: the collective times
    of every (layout, micro-batch) are computed once per scenario and constraints)."""
    cons = {k: list(v) if isinstance(v, tuple) else v for k, v in cons_t}
    layouts, heads, tail = _enumerate(sc, cons, stack)
    if heads.shape[0] == 0 or tail.shape[0] == 0:
        _name_unreachable_bound(sc, cons, stack)
        _name_batch_without_plan(sc, cons, stack)
        raise ValidationError(
            f"search: no consistent plan satisfies the constraints {cons!r} together for "
            f"{sc.hardware.world_size} GPUs (global_batch {sc.training.global_batch}, "
            f"{sc.model_spec.layers} layers); each value is possible alone — relax one of them")
    tps = tuple(sorted(set(heads[:, kt.H_TP].tolist())))
    mbss = tuple(sorted(set(heads[:, kt.H_MBS].tolist())))
    cps = tuple(sorted(set(heads[:, kt.H_CP].tolist())))
    # the plans run 1F1B or interleaved 1F1B by their vp; the zero-bubble schedules that
    # search(pp_schedules=...) adds are priced with the same context, its schedule constant set
    # (_with_schedule)
    ctx = _context(sc, tps, mbss, cps, stack, dict(params_t) if params_t is not None else None,
                   pipeline_schedule=False)
    lay, ncand, comm = _layout_tables(ctx, layouts, sc.training.recompute_num_layers)
    heads[:, kt.H_TPI] = np.searchsorted(np.array(tps), heads[:, kt.H_TP])
    heads[:, kt.H_MBSI] = np.searchsorted(np.array(mbss), heads[:, kt.H_MBS])
    heads[:, kt.H_CPI] = np.searchsorted(np.array(cps), heads[:, kt.H_CP])
    pairs = [(int(a), int(b)) for a, b in layouts[:, [kt.LY_EP, kt.LY_ETP]]]
    xs = sorted(set(pairs))
    xidx = {x: i for i, x in enumerate(xs)}
    heads[:, kt.H_XI] = np.array([xidx[x] for x in pairs], dtype=np.int64)[heads[:, kt.H_LAY]]
    xtab = _xtab(ctx, tuple(xs))
    for a in (heads, tail, lay, ncand, comm):
        a.setflags(write=False)
    return np.ascontiguousarray(heads), np.ascontiguousarray(tail), ctx, (lay, ncand, comm, xtab)


@functools.lru_cache(maxsize=32)
def _v_tables(sc: Scenario, cons_t: tuple, stack, params_t: tuple):
    """The layout tables of :func:`_prepared` with the stages laid out for a V schedule (zbv,
    v-half, v-min: the output layer on rank 0 with the embedding, on the layouts with pp > 1 and
    vp = 2; :func:`infra_lab.training.context._stage_tables`); the collective tables are the
    search's."""
    cons = {k: list(v) if isinstance(v, tuple) else v for k, v in cons_t}
    layouts, _, _ = _enumerate(sc, cons, stack)
    _, _, ctx, (_, _, comm, xtab) = _prepared(sc, cons_t, stack, params_t)
    lay, ncand = _stage_tables(ctx, layouts, sc.training.recompute_num_layers, PP_SCHEDULES.index("zbv"))
    for a in (lay, ncand):
        a.setflags(write=False)
    return lay, ncand, comm, xtab


@functools.lru_cache(maxsize=32)
def _fsdp_variant(sc: Scenario, cons_t: tuple, stack, params_t: tuple, fsdp: bool):
    """(context, routed-expert table) of a search's plans priced with ``parallelism.fsdp = fsdp``
    where the weight-gradient accumulation differs from the scenario table's (:func:`infra_lab.
    training.context.gacc_code`: with training.gradient_accumulation_fusion = false, Megatron-Core
    DDP's hook adds each gradient to the main-grad buffer, PyTorch FSDP has no such buffer and
    Megatron-FSDP copies into it). The plans, layouts and collective tables are the search's."""
    cons = {k: list(v) if isinstance(v, tuple) else v for k, v in cons_t}
    layouts, _, _ = _enumerate(sc, cons, stack)
    _, _, ctx, _ = _prepared(sc, cons_t, stack, params_t)
    var = _context(sc, ctx.tps, ctx.mbss, ctx.cps, stack, dict(params_t) if params_t is not None else None,
                   fsdp=fsdp, pipeline_schedule=False)
    xs = sorted(set((int(a), int(b)) for a, b in layouts[:, [kt.LY_EP, kt.LY_ETP]]))
    return var, _xtab(var, tuple(xs))


def _evaluate(sc: Scenario, cons: dict, stack, params, heads, tail, ctx, tables, out, sched: int = 0) -> None:
    """Every plan of the search into ``out`` (plan h·n_tail + t), priced under the pipeline
    schedule ``sched`` (its PP_SCHEDULES index; 0: 1F1B / interleaved by vp). The tail rows (ZeRO stage,
    FSDP, recompute) whose FSDP flag prices the weight-gradient accumulation otherwise than the
    context's (:func:`_fsdp_variant`) are evaluated with their own context, as il.estimate of
    such a plan is; the others (all of them unless training.gradient_accumulation_fusion is
    false) in one pass."""
    lay, ncand, comm, xtab = tables
    n = heads.shape[0] * tail.shape[0]
    if sched in kt.EXECUTED_SCHEDULES:
        # their programs depend on (schedule, pp, micro-batches) only: kept between calls
        # (executed_programs) and shared by the FSDP-variant passes below
        kernel = kt.evaluate_serial_with if n < SEARCH_SERIAL_BELOW else kt.evaluate_plans_with
        progs = executed_programs(_with_schedule(ctx.c, sched), heads)

        def evaluate(*args):
            kernel(*args, *progs)
    else:       # 1F1B / interleaved: no program to build or keep
        evaluate = kt.evaluate_serial if n < SEARCH_SERIAL_BELOW else kt.evaluate_plans
    p = sc.parallelism
    fused = bool(sc.training.gradient_accumulation_fusion)
    impl = p.fsdp_impl if p is not None else "torch"
    own = ctx.sp["gradient_accumulation_fusion"]
    is_fsdp = tail[:, 1] > 0                                  # the tail's FSDP column
    other = [f for f in (False, True) if gacc_code(fused, f, impl) != own and (is_fsdp == f).any()]
    if not other:
        evaluate(_with_schedule(ctx.c, sched), ctx.tab, ctx.htab, xtab, lay, ncand, comm, heads, tail, out)
        return
    cons_t = tuple(sorted((k, tuple(v) if isinstance(v, list) else v) for k, v in cons.items()))
    params_t = None if params is None else tuple(sorted(params.items()))
    grid = out.reshape(heads.shape[0], tail.shape[0], kt.N_OUT)
    rest = np.ones(tail.shape[0], dtype=bool)
    for f in other:
        var, vx = _fsdp_variant(sc, cons_t, stack, params_t, f)
        rows = is_fsdp == f
        rest &= ~rows
        sub_tail = np.ascontiguousarray(tail[rows])
        sub = plan_rows(heads.shape[0] * sub_tail.shape[0])
        evaluate(_with_schedule(var.c, sched), var.tab, var.htab, vx, lay, ncand, comm, heads, sub_tail, sub)
        grid[:, rows] = sub.reshape(heads.shape[0], sub_tail.shape[0], kt.N_OUT)
    if rest.any():
        sub_tail = np.ascontiguousarray(tail[rest])
        sub = plan_rows(heads.shape[0] * sub_tail.shape[0])
        evaluate(_with_schedule(ctx.c, sched), ctx.tab, ctx.htab, xtab, lay, ncand, comm, heads, sub_tail, sub)
        grid[:, rest] = sub.reshape(heads.shape[0], sub_tail.shape[0], kt.N_OUT)


def _cache_keys(cons: dict, params, stack) -> tuple:
    """(constraints, stack, params) as the memoised search tables are keyed (hashable)."""
    cons_t = tuple(sorted((k, tuple(v) if isinstance(v, list) else v) for k, v in cons.items()))
    return cons_t, stack, None if params is None else tuple(sorted(params.items()))


def _prepare(sc: Scenario, cons: dict, stack, params, pp_schedules=None):
    """(heads, tail, context, tables) of a search, memoised. With ``pp_schedules`` (search's
    argument) also (heads over the schedules, their PP_SCHEDULES codes, blocks): see
    :func:`_schedule_heads`; None in their place when no plan runs any of the schedules."""
    if params is not None and not isinstance(params, dict):
        raise ValidationError(f"params = {params!r}: expected a dict of stack parameter -> number")
    if stack is not None:       # validated before they become a cache key (hashable, known, in range)
        stack = check_stack_keyword(sc, stack)
    stack_params(sc.stack if stack is None else stack, params)
    cons_t, stack, params_t = _cache_keys(cons, params, stack)
    prep = _prepared(sc, cons_t, stack, params_t)
    if pp_schedules is None:
        return prep
    scheds = _check_pp_schedules(pp_schedules, prep[2].stack)
    return prep, scheds, _schedule_heads(sc, cons_t, stack, params_t, scheds)


@named_keywords(name="il.search")
def search(scenario: Scenario | dict, objective: str = "tokens_per_s", top: int | None = 10,
           feasible_only: bool = True, *, stack: str | None = None,
           params: dict[str, float] | None = None, pp_schedules: str | list[str] | None = None,
           tp_across_domains: bool = False, **constraints: Any) -> pl.DataFrame:
    """Every consistent parallel plan for the scenario's model and cluster, best first.

    Enumerates tp (divisors of the world ≤ the scale-up domain, or beyond it with
    ``tp_across_domains``, that the stack's framework splits the attention heads and KV heads
    over: :func:`infra_lab.memory.training_tp_accepted`), pp
    (any divisor of the remaining ranks up to the layer count: stages need not be equal),
    vp (1 … layers/pp; a pipeline plan only with micro-batches per step
    global_batch / (micro_batch·dp) that the stack's schedule accepts:
    :func:`microbatch_refused`, ``microbatch_rule`` in ``data/pp_schedule_stacks.csv``:
    interleaved plans on every stack, 1F1B on torchtitan (m >= pp), ZBV on Primus
    (m >= 2·pp − 1); a search that this leaves without plans says so), cp (dividing seq_len), dp (derived), ep (dividing the experts and
    tp·cp·dp: Megatron-Core's MoE parallel folding), etp (expert tensor parallel, dividing
    tp·cp·dp/ep, within the scale-up domain), micro-batch (dividing global_batch/dp), ZeRO
    0–3 and FSDP, recompute none/selective/full, sequence parallel (tp > 1) and, with
    ``pp_schedules``, the pipeline schedule; evaluates
    them all with the numba kernel (parallel over plans from :data:`SEARCH_SERIAL_BELOW` plans
    on); drops plans that do not fit (when
    ``feasible_only``) and sorts by ``objective``, plans with equal values (e.g. a ZeRO-3 and
    an FSDP plan priced alike) in enumeration order, so ``top=k`` returns the first k rows of
    ``top=None``. Without ``feasible_only`` the plans that cannot run (``runnable`` False) come
    after those that can, each group by ``objective``.

    Parameters
    ----------
    scenario : Scenario, dict or TOML path (its model, hardware and training tables are used). Its
        [parallelism] table is optional: the search enumerates the plans, so the table may be
        left out or hold a plan that does not fit this cluster, batch or model
        (``Scenario.from_dict(d, check_plan=False)``); of it only the library choices that are
        not searched are kept (moe_dispatcher, ep_overlap, tp_async, dualpipe, cp_rotate, fsdp_impl,
        cp_repeat_kv; their defaults when it is left out). Likewise training.micro_batch and
        recompute, which the search enumerates, and parallelism.pp_schedule (``pp_schedules``
        chooses the schedules); its "full" plans recompute the first
        training.recompute_num_layers layers of each pipeline chunk when the scenario sets it
        (every layer otherwise).
    objective : "tokens_per_s" | "tokens_per_s_per_gpu" | "mfu" | "tflops_per_gpu" (larger
        first) or "step_time_s" | "memory_per_gpu_bytes" (smaller first)
    top : rows to return (None: all)
    feasible_only : keep only plans that fit in memory and can run on the fabric
    stack, params : as in :func:`estimate`
    pp_schedules : the pipeline schedules to explore (``parallelism.pp_schedule`` names,
        :data:`infra_lab.scenario.PP_SCHEDULES`): None (default) :data:`DEFAULT_PP_SCHEDULES`,
        1F1B for vp = 1 and interleaved 1F1B for vp > 1, as every stack runs them (the
        plans the stack's schedules refuse for their micro-batches left out); "all" (alone or in a list): every schedule the stack
        implements (:func:`stack_pp_schedules`, ``data/pp_schedule_stacks.csv``: the
        zero-bubble family on Primus (megatron-core-rocm), ZBV on torchtitan, none on
        Megatron-LM / Megatron-Core); or a name or list of names, each one the stack runs
        (otherwise a ValidationError names the stacks that do). Opt-in because each
        zero-bubble schedule adds its plans again: "zb-h1" the pp > 1, vp = 1 plans, "zbv",
        "v-half" and "v-min" the pp > 1, vp = 2 plans, each priced by the same step kernel
        as :func:`estimate` prices a plan with that ``parallelism.pp_schedule`` (its bubble
        and in-flight micro-batches). Naming only zero-bubble schedules drops the 1F1B /
        interleaved plans; the scenario's own pp_schedule is not read.
    tp_across_domains : also tensor-parallel sizes beyond the job's scale-up domain (tp groups
        whose collectives cross the scale-out NICs; :func:`estimate` prices such a plan, the
        search leaves them out by default because they are rarely run). Off by default: the
        default search's space is unchanged.
    **constraints : see :data:`SEARCH_CONSTRAINTS`, e.g. ``tp=1``, ``max_tp=8``, ``zero=1``,
        ``recompute=["none", "selective"]``. Defaults: max_micro_batch 16, max_vp 8,
        max_cp 16, max_etp 8.

    Returns
    -------
    polars.DataFrame
        tp, pp, vp, cp, ep, etp, dp, micro_batch, zero, fsdp, recompute, (only when the scenario
        sets training.recompute_num_layers: recompute_num_layers, that N on the "full" plans and
        null on the others), sequence_parallel, pp_schedule (an Enum of PP_SCHEDULES: "1f1b" or
        "interleaved" by vp in a default search; :func:`apply_plan` carries a zero-bubble one
        into parallelism.pp_schedule), step_time_s [s], tokens_per_s and tokens_per_s_per_gpu
        [tokens/s] (as :class:`Estimate` names them), mfu [-], tflops_per_gpu [TFLOP/s],
        memory_per_gpu_bytes [B], fits,
        runnable (False when a collective of the plan has no path on the fabric, e.g. an
        expert all-to-all across rails with PXN off: step time inf, tokens/s 0; such plans are
        dropped with ``feasible_only``), nic_busy_fraction and the breakdown components [s]
        (:data:`COMPONENTS`: ``compute_fwd``, ..., ``optimizer``, each also as ``<component>_s``,
        the canonical flat name :meth:`Estimate.to_dict` uses; the bare names are kept as
        aliases, the same values). With ``top=None, feasible_only=False`` one row per plan evaluated.
        APPROXIMATE for pipeline plans: with pp > 1 under 1F1B or interleaved 1F1B a row prices
        the bubble by its closed form (:func:`infra_lab._kernels.training.pipeline_bubble`),
        while :func:`estimate` executes the schedule per rank and chunk, so ``pp_bubble``,
        ``step_time_s`` and what follows from the step (tokens/s, MFU, TFLOP/s,
        ``nic_busy_fraction``) can differ from the estimate of the same plan (within 2.6 % of
        the step in a 180-row sample of ZAYA1 plans on MI300X and H100, December 2026; memory
        and ``fits`` are the same). Rows with pp = 1 equal the estimate (the zero-bubble
        schedules' rows are priced by the estimate's kernel); re-estimate a chosen pipeline row with
        ``il.estimate(il.Scenario.from_dict(apply_plan(sc, row)))``.

    Memory: the search keeps its working buffers (step-kernel outputs and sort buffers, 160
    bytes a plan) for its next call, up to :data:`WORK_KEEP_MAX_BYTES` (512 MiB) for the life
    of the process; ``il.training.search_buffers_clear()`` releases them (and returns their
    bytes), ``il.training.search_buffers_info()`` says what is kept. A search after the release
    returns the same frame.

    Examples
    --------
    >>> import infra_lab as il
    >>> best = il.search(il.load_scenario("zaya1-ibm-mi300x"), top=3, max_micro_batch=4)
    >>> best.height, bool(best["fits"].all())
    (3, True)
    """
    sc = _training_scenario(scenario, "il.search", check_plan=False)
    if not isinstance(objective, str) or objective not in OBJECTIVES:
        raise unknown("objective", objective, OBJECTIVES)
    cons = _with_tp_across_domains(_check_constraints(constraints), tp_across_domains)
    if top is not None:                                     # rows to return, or None for all
        try:
            top = V.integer("top", top)
        except ValidationError as e:        # say that None is taken, as il.serve_search does
            raise ValidationError(f"{e} (or None: every plan)") from None
    feasible_only = V.boolean("feasible_only", feasible_only)
    (_, tail, ctx, tables), scheds, split = _prepare(sc, cons, stack, params,
                                                     DEFAULT_PP_SCHEDULES if pp_schedules is None else pp_schedules)
    if split is None:
        refused = _n_refused(sc, cons, stack, params, ctx, scheds)
        also = "".join(
            f"; the {n:,} {_schedule_label(sch)[1]}{'s' if n != 1 else ''} {_schedule_label(sch)[2]} here {'are' if n != 1 else 'is'} left out because "
            f"{refused_text(ctx.stack, sch)} (choose a global_batch, micro_batch or dp that gives such counts, or "
            f"another stack)" for sch, n in refused.items())
        raise ValidationError(
            f"search: no plan runs the pipeline schedules {[PP_SCHEDULES[i] for i in scheds]} under the constraints "
            f"{cons!r}: zb-h1 needs pp > 1 and vp = 1, zbv / v-half / v-min pp > 1 and vp = 2 (parallelism.vp), "
            f"1f1b vp = 1, interleaved vp > 1{also}; relax the pp / vp constraints or add a schedule")
    heads, codes, blocks = split
    n = heads.shape[0] * tail.shape[0]
    with _work_buffers(n) as (out, work):
        # a small space without threads: the same eval_head per head, and no parallel kernel to compile
        # the stack keyword as _prepare keyed it (canonical), so a variant reuses its tables
        nt = tail.shape[0]
        for a, b, sched in blocks:   # one pass per kernel schedule (the default search: one)
            # the V schedules lay the stages out in a V (the output layer on rank 0)
            tabs = (_v_tables(sc, *_cache_keys(cons, params, None if stack is None else ctx.stack))
                    if PP_SCHEDULES[sched] in V_SCHEDULES else tables)
            _evaluate(sc, cons, None if stack is None else ctx.stack, params, heads[a:b], tail, ctx,
                      tabs, out[a * nt: b * nt], sched)
        # 1F1B / interleaved only (the default search): a head's code is its vp's, which the frame reads
        # from the gathered vp column instead of looking each row's head up (the same Enum codes)
        by_vp = all(sched == 0 for _, _, sched in blocks)
        df = _frame(heads, tail, out, ctx, objective, top, feasible_only, work,
                    recompute_num_layers=sc.training.recompute_num_layers,
                    schedule_codes=None if by_vp else codes)
        if df.height == 0:
            why = _why_none(out[:n], sc)
            refused = _n_refused(sc, cons, stack, params, ctx, scheds)
            if refused:
                why += " (" + "; ".join(
                    f"{n:,} {_schedule_label(sch)[1]}{'s' if n != 1 else ''} "
                    f"{'were' if n != 1 else 'was'} not evaluated: {refused_text(ctx.stack, sch)}"
                    for sch, n in refused.items()) + ")"
            warnings.warn(f"il.search: empty result: {why}", EmptyResultWarning, stacklevel=user_stacklevel())
        return df


def _n_refused(sc: Scenario, cons: dict, stack, params, ctx, scheds: tuple[int, ...]) -> dict[str, int]:
    """Plans (head rows x tail rows) of a search over ``scheds`` left out because the stack's
    schedule refuses their micro-batches per step, by schedule name (only those with some)."""
    cons_t, stack, params_t = _cache_keys(cons, params, None if stack is None else ctx.stack)
    heads, tail, _, _ = _prepared(sc, cons_t, stack, params_t)
    out = {}
    for s in scheds:
        n = int(_refused_mask(heads, sc.training.global_batch, ctx.stack, s).sum()) * tail.shape[0]
        if n:
            out[PP_SCHEDULES[s]] = n
    return out


PLAN_PARALLELISM_KEYS = ("tp", "pp", "vp", "cp", "ep", "etp", "zero", "fsdp", "sequence_parallel")
"""The ``parallelism`` keys a :func:`search` row fixes (its other plan columns are training keys)."""


def apply_plan(scenario: Scenario | dict | str, row: dict) -> dict:
    """The scenario dict with one :func:`search` row's plan in it, ready for ``Scenario.from_dict``.
    ``scenario`` as :func:`search` takes it (a Scenario, a dict, a shipped name or a file).

    ``row`` is a row of the search frame as a dict (``frame.row(i, named=True)``). The row's
    parallelism (every key of :data:`PLAN_PARALLELISM_KEYS`, expert tensor parallelism
    included: leaving ``etp`` out prices another plan under the row's name), micro-batch and
    recompute replace the scenario's; ``recompute_num_layers`` is taken when the row has it
    (the search adds the column only when the scenario sets it). The input is not modified.

    The scenario's library choices that the search keeps across its plans (moe_dispatcher,
    ep_overlap, tp_async, dualpipe, cp_rotate, cp_repeat_kv, fsdp_impl) stay in the table, so
    the scenario is priced as the row was (tp_async is dropped on a tp = 1 row, where it has
    nothing to overlap and the table refuses it). Keys of the training table that belong to one
    recompute mode are kept only on rows of that mode: recompute_modules on "selective" rows,
    recompute_num_layers on "full" rows (the search prices the other rows without them).
    The row's ``pp_schedule`` becomes parallelism.pp_schedule when it is a zero-bubble schedule
    ("zb-h1", "zbv", "v-half", "v-min"); a "1f1b" / "interleaved" row, or a row without the
    column, leaves it out (the schedule follows vp, as the search priced it), dropping the
    scenario's own.

    >>> import infra_lab as il
    >>> d = il.load_scenario("zaya1-ibm-mi300x").to_dict()
    >>> best = il.search(d, top=1)
    >>> il.Scenario.from_dict(apply_plan(d, best.row(0, named=True))).parallelism.tp == best["tp"][0]
    True
    """
    import copy
    import os

    if isinstance(scenario, (str, os.PathLike)):   # a shipped name or a file, as il.search takes it
        from ..scenario import as_scenario

        scenario = as_scenario(scenario, check_plan=False)
    d = copy.deepcopy(scenario.to_dict() if isinstance(scenario, Scenario) else scenario)
    if not isinstance(d, dict) or not isinstance(row, dict):
        raise ValidationError(f"apply_plan(scenario, row): expected a Scenario, a dict, a shipped scenario's "
                              f"name or a scenario file, and a search row "
                              f"as a dict (frame.row(i, named=True)), got {type(scenario).__name__} and "
                              f"{type(row).__name__}")
    missing = [k for k in PLAN_PARALLELISM_KEYS + ("micro_batch", "recompute") if k not in row]
    if missing:
        raise ValidationError(f"apply_plan: row has no {', '.join(missing)}: pass a row of il.search's "
                              f"frame (frame.row(i, named=True))")
    par = d.get("parallelism")
    if hasattr(par, "to_dict"):            # a ParallelismConfig given as the table
        par = par.to_dict()
    kept = {k: v for k, v in (par or {}).items() if k not in PLAN_PARALLELISM_KEYS and k != "dp"}
    d["parallelism"] = {**kept, **{k: row[k] for k in PLAN_PARALLELISM_KEYS}}
    if row["tp"] == 1:
        d["parallelism"].pop("tp_async", None)
    # the row's pipeline schedule: a zero-bubble one named, 1F1B / interleaved left to vp (so is a
    # row without the column); the scenario's own pp_schedule is not what the search priced
    d["parallelism"].pop("pp_schedule", None)
    if row.get("pp_schedule") not in (None, "1f1b", "interleaved"):
        d["parallelism"]["pp_schedule"] = row["pp_schedule"]
    tr = d.get("training")
    if hasattr(tr, "to_dict"):             # a TrainingConfig given as the table
        tr = tr.to_dict()
    d["training"] = tr = dict(tr or {})
    tr.update(micro_batch=row["micro_batch"], recompute=row["recompute"])
    if row["recompute"] != "selective":
        tr.pop("recompute_modules", None)
    if row["recompute"] != "full":
        tr.pop("recompute_num_layers", None)
    elif row.get("recompute_num_layers") is not None:
        tr["recompute_num_layers"] = row["recompute_num_layers"]
    return d


def _why_none(out: np.ndarray, sc: Scenario) -> str:
    """Why :func:`search` kept no plan: the smallest memory of any plan against the capacity,
    or (when some fit) that none of those can run on the fabric."""
    n = out.shape[0]
    if n == 0:
        return "no parallel plan satisfies the constraints given"
    acc = sc.hardware.accelerator_spec
    fits = out[:, kt.O_FITS] > 0.5
    if not fits.any():
        return (f"none of the {n:,} plans fits in memory: the smallest needs {out[:, kt.O_MEM].min() / 1e9:.4g} GB "
                f"per GPU, the {acc.name} exposes {acc.memory_capacity_bytes / 1e9:.4g} GB (add GPUs with "
                "hardware.nodes, shorten training.seq_len, or allow more sharding and recompute; "
                "feasible_only=False lists every plan)")
    return (f"the {int(fits.sum()):,} plans that fit all have a collective with no path on the fabric "
            "(e.g. an expert all-to-all across rails with hardware.pxn off); feasible_only=False lists them")


SEARCH_SERIAL_BELOW = 8192
"""Plan spaces of fewer plans are evaluated without threads (:func:`infra_lab._kernels.training.
evaluate_serial`, about a millisecond at this size; measured 0.26 ms serial against 0.14 ms on two
threads for the 2,400-plan ZAYA1 search of notebook 04), so a session that only searches small
spaces never compiles the parallel kernel (a few seconds of a cold notebook). Each plan's outputs
are the same either way: one eval_head per head, writing its own rows."""


_RC_ENUM = pl.Enum(list(RECOMPUTE))
_PPS_ENUM = pl.Enum(list(PP_SCHEDULES))

WORK_KEEP_MAX_BYTES = 512 * 2**20
"""Largest working memory (step-kernel outputs and sort buffers, 160 bytes a plan) that
:func:`search` keeps for its next call: 512 MiB, about 3.35 million plans, so both spaces of
``benchmarks/bench_search.py`` keep theirs (GPT-175B on 1,024 GPUs: 82,545 plans, 12.6 MiB;
DeepSeek-V3 on 2,048 GPUs: 2,173,590 plans, 332 MiB); larger spaces allocate theirs per call and
keep nothing. The kept pair stays allocated while the process runs (a larger search within the
limit replaces it) or until :func:`search_buffers_clear` releases it. Fresh pages are zeroed by the operating system when first written: on the
2-core benchmark machine (2026-12-07, a shared VM at load 5.6-5.9, calls alternated with the
earlier 128 MiB limit in one process) the DeepSeek-V3 search of every plan spent 715 ms of
system CPU a call on fresh buffers against 284 ms kept (the rest is the returned frame's own
new columns), 2.03 s -> 1.53 s CPU a call, and the default search (top 10) 0.91 s -> 0.54 s.
When the limit was introduced (128 MiB), fresh pages were about a quarter of a search of the
GPT-175B space."""
_work_lock = threading.Lock()
_work_kept: list = [None, None]


@contextlib.contextmanager
def _work_buffers(n: int):
    """(out, work) for one search of n plans: ``plan_rows(n)`` and the int64 (4, n) sort
    buffers of :func:`infra_lab._kernels.training.plan_order`; the ones kept from an earlier
    call when they are large enough, within :data:`WORK_KEEP_MAX_BYTES` and not in use by
    another thread, else new ones. Nothing returned by the search points into them."""
    if n * (kt.N_OUT + 4) * 8 > WORK_KEEP_MAX_BYTES or not _work_lock.acquire(blocking=False):
        yield plan_rows(n), np.empty((4, n), dtype=np.int64)
        return
    try:
        out, work = _work_kept
        if out is None or out.shape[0] < n:
            out = work = None                       # drop the smaller pair before allocating
            _work_kept[:] = [None, None]
            out, work = plan_rows(n), np.empty((4, n), dtype=np.int64)
            _work_kept[:] = [out, work]
        yield out[:n], work[:, :n]
    finally:
        _work_lock.release()


def search_buffers_info() -> dict[str, int]:
    """The working memory :func:`search` keeps for its next call (:data:`WORK_KEEP_MAX_BYTES`):
    ``plans`` (the most plans the kept pair holds; 0 when nothing is kept), ``bytes`` (their
    size [B]) and ``max_bytes`` (the limit [B])."""
    with _work_lock:
        out, work = _work_kept
        plans = 0 if out is None else int(out.shape[0])
        nbytes = 0 if out is None else int(out.nbytes + work.nbytes)
    return {"plans": plans, "bytes": nbytes, "max_bytes": WORK_KEEP_MAX_BYTES}


def search_buffers_clear() -> int:
    """Release the working memory :func:`search` keeps for its next call (up to
    :data:`WORK_KEEP_MAX_BYTES`, 512 MiB: the step-kernel outputs and sort buffers of the
    largest search so far) and return its size [B] (0 when nothing was kept). A search running
    in another thread is waited for. The next search allocates fresh buffers and returns the same
    frame (a little slower once: the operating system zeroes fresh pages); nothing a search
    returned points into them. As :func:`infra_lab.training.programs.program_cache_clear` does
    for the compiled pipeline programs.

    >>> import infra_lab as il
    >>> _ = il.search(il.load_scenario("zaya1-ibm-mi300x"), top=1, max_micro_batch=1)
    >>> il.training.search_buffers_clear() > 0, il.training.search_buffers_info()["bytes"]
    (True, 0)
    """
    with _work_lock:
        out, work = _work_kept
        nbytes = 0 if out is None else int(out.nbytes + work.nbytes)
        _work_kept[:] = [None, None]
    return nbytes


def plan_rows(n: int) -> np.ndarray:
    """An uninitialised float64 array (n, N_OUT) for the step kernel's outputs whose rows start
    on 128-byte boundaries: one plan = 16 float64 = exactly two cache lines (the frame's
    gather reads each selected plan's row in random order)."""
    buf = np.empty(n * kt.N_OUT + 16)
    off = (-buf.ctypes.data % 128) // 8
    return buf[off: off + n * kt.N_OUT].reshape(n, kt.N_OUT)


def _frame(heads, tail, out, ctx, objective, top, feasible_only, work=None, *,
           recompute_num_layers: int | None = None, schedule_codes: np.ndarray | None = None) -> pl.DataFrame:
    """The returned frame, built column-wise from the arrays: the plans kept (fit and runnable
    when ``feasible_only``) ordered by the objective's column with ties in plan order
    (:func:`infra_lab._kernels.training.plan_order`: a radix sort, or a heap pass for a few
    top rows), the columns gathered by numba passes, parallel for large frames (each plan's outputs are a
    contiguous row of ``out``), plan columns as int32, flags as booleans and recompute as an
    Enum; polars wraps the numpy columns without per-row Python. With ``recompute_num_layers``
    (the scenario's training.recompute_num_layers) a ``recompute_num_layers`` column follows
    ``recompute``: that N on the "full" plans, null on the others. ``pp_schedule`` (an Enum of
    PP_SCHEDULES) follows ``sequence_parallel``: ``schedule_codes[head]`` (the PP_SCHEDULES index
    of each head row, :func:`_schedule_heads`), or "1f1b" / "interleaved" by vp without them."""
    col = kt.O_MEM if objective == "memory_per_gpu_bytes" else kt.O_STEP   # tokens/s, MFU, TFLOP/s: by step
    idx = kt.plan_order(out, col, feasible_only, top, work)
    # tokens/s, MFU, TFLOP/s per GPU: these / step, as estimate; tokens/s per GPU: tokens/s / world
    scale = np.array((*rate_numerators(ctx), ctx.world), dtype=np.float64)
    o = np.empty((kt.GATHERED + len(kt.DERIVED_NAMES), idx.size))
    pv = np.empty((len(kt.PLAN_INTS), idx.size), dtype=np.int32)
    flags = np.empty((len(kt.PLAN_FLAGS), idx.size), dtype=np.bool_)
    rc = np.empty(idx.size, dtype=np.uint32)
    kt.gather_columns(out, idx, heads, tail, o, pv, flags, rc, scale, numba.get_num_threads())
    fl = {name: pl.Series(name, flags[j]) for j, name in enumerate(kt.PLAN_FLAGS)}
    d = {name: o[kt.GATHERED + j] for j, name in enumerate(kt.DERIVED_NAMES)}
    cols = [pl.Series(name, pv[j]) for j, name in enumerate(kt.PLAN_INTS)]
    cols += [fl["fsdp"], pl.Series("recompute", list(_RC), dtype=_RC_ENUM).gather(pl.Series(rc))]
    if recompute_num_layers is not None:   # the "full" plans recompute only the first N layers of each chunk
        cols.append(pl.Series("recompute_num_layers", np.full(rc.size, recompute_num_layers, dtype=np.int32))
                    .set(pl.Series(rc != _RC["full"]), None))
    cols += [fl["sequence_parallel"]]
    if schedule_codes is None:
        codes = (pv[kt.PLAN_INTS.index("vp")] > 1).astype(np.uint32)
    else:
        codes = schedule_codes[idx // tail.shape[0]]
    cols.append(pl.Series("pp_schedule", list(PP_SCHEDULES), dtype=_PPS_ENUM).gather(pl.Series(codes)))
    # a plan that cannot run (a collective with no path: step inf) has tokens/s 0 and busy NICs
    cols += [pl.Series("step_time_s", o[kt.O_STEP]), pl.Series("tokens_per_s", d["tokens_per_s"]),
             # per GPU as Estimate.tokens_per_s_per_gpu (serve_search has output_tokens_per_s_per_gpu)
             pl.Series("tokens_per_s_per_gpu", d["tokens_per_s_per_gpu"]),
             pl.Series("mfu", d["mfu"]), pl.Series("tflops_per_gpu", d["tflops_per_gpu"]),
             pl.Series("memory_per_gpu_bytes", o[kt.O_MEM]), fl["fits"], fl["runnable"],
             pl.Series("nic_busy_fraction", d["nic_busy_fraction"])]
    comps = [pl.Series(name, o[j]) for j, name in enumerate(COMPONENTS)]
    # the breakdown in seconds under its canonical flat name, <component>_s, as Estimate.to_dict()
    # (estimate's JSON, sweep rows) names it; the bare component names stay as aliases (the same
    # buffers, no copy): both are contract names (docs/ARCHITECTURE.md)
    cols += comps + [c.alias(f"{c.name}_s") for c in comps]
    return pl.DataFrame(cols)
