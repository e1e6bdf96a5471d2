"""One training step of one plan: :func:`estimate` and its result :class:`Estimate` (step
time, throughput, MFU, memory, the breakdown by :data:`COMPONENTS`, the MFU table under every
FLOP convention). The numba step kernel evaluates the plan on the inputs of :mod:`.context`."""

from __future__ import annotations

import dataclasses
import math
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import polars as pl

from .. import catalog
from .._kernels import training as kt
from .._repr import Printout
from ..errors import ScheduleSupportWarning, ValidationError, named_keywords, user_stacklevel
from ..scenario import Scenario
from ._common import _RC, _training_scenario
from .context import (
    _HOOK_OF_SCENARIO,
    MFU_CONVENTION,
    _Context,
    _context,
    _layout_tables,
    _xtab,
    rate_numerators,
)
from .programs import executed_programs

COMPONENTS = kt.OUT_NAMES[: kt.N_COMPONENTS]
"""Breakdown components (seconds per step), in order."""


@dataclass(frozen=True)
class Estimate(Printout):
    """One training step of a scenario.

    Attributes
    ----------
    step_time_s : time of one optimizer step [s]
    tokens_per_s : global_batch · seq_len / step_time_s [tokens/s]
    tokens_per_s_per_gpu : tokens_per_s / GPUs [tokens/s]
    mfu : model FLOPs utilisation against the dense BF16 peak [-], FLOPs under
        :data:`MFU_CONVENTION` (causal attention, LM head included); see
        :meth:`mfu_table` for the other conventions side by side
    tflops_per_gpu : model FLOPs per second per GPU, same convention [TFLOP/s]
    memory_per_gpu_bytes : peak memory on the most loaded GPU [bytes]
    fits : memory_per_gpu_bytes ≤ the memory the driver exposes (catalog
        ``memory_capacity_bytes``, e.g. 206.1 GB on MI300X, 85.5 GB on H100-SXM; not the labelled
        ``hbm_bytes``), as :func:`infra_lab.memory.fits`
    breakdown : polars DataFrame (component, seconds) summing to step_time_s
    stack : software stack whose factors were used
    model_flops_per_step : FLOPs of one step under :data:`MFU_CONVENTION` [FLOP]
    gpus : GPUs in the cluster
    nic_busy_fraction : share of the step time during which collectives that cross
        scale-up domains run [-]: expert-parallel, pipeline and data-parallel ones at their raw
        time (overlapped or not), tensor- and context-parallel ones at the time the step exposes
        (the model has no separate raw time for them; :func:`infra_lab.training.collectives_by_dimension`
        lists each part). A time share, not link utilization: a collective paced by latency or
        by the scale-up hop counts in full although its NICs are not saturated
    dp_comm_raw_s : raw data-parallel collective time of the slowest stage per step,
        before any overlap [s]
    checkpoint_bytes : one full checkpoint: weights + optimizer states of all parameters [bytes]
    flops_by_convention : FLOPs per step under each MFU convention [FLOP]
    peak_flops : dense BF16 peak of one GPU [FLOP/s]
    useful_token_fraction : non-padding share of the positions a step processes [-]: 1 for a
        text model without ``training.data_mix``; 1 − the packing waste for a multimodal
        scenario, or for a text model with a data_mix (its documents packed by the mix's
        ``packing``: "none" pads each to seq_len) (:func:`infra_lab.multimodal.packing_stats`). ``tokens_per_s`` counts every position;
        :meth:`days_to_train` and :meth:`gpu_hours` count training tokens, the non-padding ones
    accelerator : catalog name of the scenario's accelerator (canonical), so that
        ``economics.run_cost(est, price_usd_per_gpu_hour="owned", tokens=...)`` reads its price
        without ``accelerator=`` repeated; "" on an Estimate built by hand
    """

    step_time_s: float
    tokens_per_s: float
    tokens_per_s_per_gpu: float
    mfu: float
    tflops_per_gpu: float
    memory_per_gpu_bytes: float
    fits: bool
    breakdown: pl.DataFrame = field(repr=False)
    stack: str = ""
    model_flops_per_step: float = 0.0
    gpus: int = 0
    nic_busy_fraction: float = 0.0
    dp_comm_raw_s: float = 0.0
    checkpoint_bytes: float = 0.0
    flops_by_convention: dict = field(default_factory=dict, repr=False)
    peak_flops: float = 0.0
    useful_token_fraction: float = 1.0
    accelerator: str = ""

    def _printout(self) -> str:
        """What print() and a notebook show: a readable printout: one field a line, 4 significant figures, each with its unit
        (``step_time_s  334.9 ms``); the exact values are the attributes and :meth:`to_dict`.

        Examples
        --------
        >>> import infra_lab as il
        >>> print(str(il.estimate(il.load_scenario("zaya1-ibm-mi300x"))).splitlines()[1])
          step_time_s            334.9 ms
        """
        from .._repr import readable

        title = f"{self.accelerator or 'accelerator not named'} x {self.gpus:,} GPUs, stack {self.stack or '-'}"
        text = readable(self, title=title, footer="exact values: the attributes, or .to_dict(); "
                                                  "per component: .breakdown; MFU conventions: .mfu_table()")
        note = self._fit_note()
        if not note:
            return text
        *body, footer = text.splitlines()   # the note above the footer, as readable() places notes
        return "\n".join([*body, f"  note: {note}", footer])

    def _fit_note(self) -> str:
        """The printout's sentence on a plan that does not fit: what it needs against what the
        accelerator's driver exposes (``fits`` compares the two), and that the times are what it
        would give with enough memory; "" when it fits (or the accelerator is not named)."""
        if self.fits or not self.accelerator:
            return ""
        cap = catalog.accelerator(self.accelerator).memory_capacity_bytes
        return (f"does not fit: this plan needs {self.memory_per_gpu_bytes / 1e9:.1f} GB per GPU against the "
                f"{cap / 1e9:.1f} GB a job can address on {self.accelerator}; its step time is what it would "
                "give with enough memory (il.search(scenario) lists the plans that fit, "
                "il.memory.training_memory(scenario) shows what takes the memory)")

    def days_to_train(self, tokens: float) -> float:
        """Days of uninterrupted training for ``tokens`` training (non-padding) tokens [days]:
        tokens / (tokens_per_s × useful_token_fraction)."""
        return float(_tokens_arg(tokens)) / (self.tokens_per_s * self.useful_token_fraction) / 86400.0

    def gpu_hours(self, tokens: float) -> float:
        """GPU-hours of uninterrupted training for ``tokens`` training (non-padding) tokens
        [GPU·h]: step time × steps × GPUs, where a step trains global_batch · seq_len ·
        useful_token_fraction tokens (the quantity economics and reliability consume)."""
        return float(_tokens_arg(tokens)) / (self.tokens_per_s * self.useful_token_fraction) * self.gpus / 3600.0

    def mfu_table(self) -> pl.DataFrame:
        """MFU under the common FLOP conventions, side by side: convention, flops_per_step
        [FLOP], tflops_per_gpu [TFLOP/s], mfu [-] (tokens/s/GPU is the convention-free figure)."""
        names = list(self.flops_by_convention)
        f = np.array([self.flops_by_convention[k] for k in names])
        per = f / (self.step_time_s * self.gpus)
        return pl.DataFrame({"convention": names, "flops_per_step": f, "tflops_per_gpu": per / 1e12,
                             "mfu": per / self.peak_flops})

    def to_dict(self) -> dict[str, Any]:
        """The scalar results as a dict (breakdown components included as ``<name>_s`` [s], the
        canonical flat name of a component, which :func:`infra_lab.search`'s frame carries too
        beside its alias, the bare component name); not ``accelerator`` (a sweep's grid may name
        it), ``model_flops_per_step`` and ``peak_flops`` (``infra-lab estimate --format json``
        adds the first two beside the scenario and plan).

        Examples
        --------
        >>> import infra_lab as il
        >>> d = il.estimate(il.load_scenario("zaya1-ibm-mi300x")).to_dict()
        >>> d["gpus"], d["stack"], d["fits"], sorted(k for k in d if k.startswith("compute_"))
        (1024, 'megatron-core-rocm', True, ['compute_bwd_s', 'compute_fwd_s', 'compute_recompute_s'])
        """
        d = {k: getattr(self, k) for k in ("step_time_s", "tokens_per_s", "tokens_per_s_per_gpu",
                                           "mfu", "tflops_per_gpu", "memory_per_gpu_bytes",
                                           "fits", "stack", "gpus", "nic_busy_fraction",
                                           "dp_comm_raw_s", "checkpoint_bytes", "useful_token_fraction")}
        d.update({f"{c}_s": s for c, s in self.breakdown.iter_rows()})
        return d


def _tokens_arg(tokens) -> float:
    if isinstance(tokens, bool) or not isinstance(tokens, (int, float, np.integer, np.floating)) \
            or not math.isfinite(float(tokens)) or tokens <= 0:
        raise ValidationError(f"tokens = {tokens!r}: expected a finite number of tokens > 0")
    return float(tokens)


def _plan_of(sc: Scenario) -> tuple[int, ...]:
    p, tr = sc.parallelism, sc.training
    return (p.tp, p.pp, p.vp, p.cp, p.ep, p.etp, p.dp, tr.micro_batch, p.zero, int(p.fsdp),
            _RC[tr.recompute], int(p.sequence_parallel))


@named_keywords(name="il.estimate")
def estimate(scenario: Scenario | dict, *, stack: str | None = None,
             params: dict[str, float] | None = None) -> Estimate:
    """Step time, throughput, MFU and memory of one training scenario.

    Parameters
    ----------
    scenario : Scenario, the plain dict of its tables, or the path of a TOML file of them
    stack : software stack name (default: the scenario's ``training.stack``, else the
        accelerator vendor's default, :func:`infra_lab.stacks.default_stack`)
    params : overrides of the stack's named factors, e.g. ``{"dp_comm_overlap": 0.0}``

    Returns
    -------
    Estimate
        step_time_s [s], tokens_per_s and tokens_per_s_per_gpu [tokens/s], mfu [-] (against
        the dense BF16 peak), tflops_per_gpu [TFLOP/s], memory_per_gpu_bytes [B], fits (bool),
        breakdown (polars frame: component, seconds [s] summing to step_time_s),
        gpu_hours(tokens) [GPU-h], days_to_train(tokens) [days], ``to_dict()`` (its scalars);
        every attribute with its unit in :class:`Estimate`. A plan that does not fit still
        gets a time (``fits`` says it would not run).

    Notes
    -----
    step = m·t_mb(slowest stage) + pipeline p2p + bubble + exposed DP comm
    + optimizer, t_mb = forward + backward + recompute + exposed TP/CP/EP comm of one
    micro-batch; the bubble prices each rank's fill and drain at its own t_mb (1F1B:
    Megatron-Core's 1F1B order executed with each rank's own forward and backward times,
    (pp−1)·t_mb at equal stages and the other ranks' t_mb summed when the last rank paces;
    interleaved: Megatron-Core's interleaved order executed with each rank's and each chunk's
    times; il.search replaces both by the closed form, the other ranks' t_mb summed over vp,
    when it ranks plans); see the module docstring and :mod:`infra_lab._kernels.training`.

    Examples
    --------
    >>> import infra_lab as il
    >>> est = il.estimate(il.load_scenario("zaya1-ibm-mi300x"))
    >>> round(est.step_time_s, 2), est.fits, est.gpus          # s, bool, GPUs
    (0.33, True, 1024)
    >>> est.breakdown.columns
    ['component', 'seconds']
    >>> abs(est.breakdown["seconds"].sum() - est.step_time_s) < 1e-9 * est.step_time_s
    True
    >>> round(est.days_to_train(1e12), 2)                      # days for 1T tokens
    0.46
    """
    return _estimate_with_hook(_training_scenario(scenario, "il.estimate"), _HOOK_OF_SCENARIO, stack=stack,
                               params=params)


def _estimate_with_hook(sc: Scenario, hook, *, stack: str | None = None,
                        params: dict[str, float] | None = None) -> Estimate:
    """:func:`estimate` with the multimodal hook given (issue 20: the multimodal estimate runs
    the same plan with the encoder time scaled to 0 to split the step)."""
    plan = _plan_of(sc)
    tp, pp, vp, cp, ep, etp, dp, mbs, zero, fsdp, rc, spf = plan
    ctx = _context(sc, (tp,), (mbs,), (cp,), stack, params, hook)
    _warn_unsupported_schedule(sc, ctx.stack)
    _warn_refused_microbatches(sc, ctx.stack, int(ctx.c[kt.C_PP_SCHED]), pp, vp, mbs, dp)
    out, _, _, _ = _evaluate_plan(sc, ctx)
    est = _estimate_from(out, ctx, sc.hardware.accelerator)
    if sc.multimodal is None and sc.training.data_mix is not None:
        # a text model's training.data_mix (text only: check_for refuses other shares) packs its
        # documents by the mix's rule, as the multimodal model's text share is packed: packing =
        # "none" pads each document to seq_len (most positions at 4,096 are padding). Ignored before, so
        # days_to_train / gpu_hours counted padding as training tokens while
        # il.multimodal.estimate of the same scenario did not
        from ..multimodal.packing import packing_stats

        waste = packing_stats(None, sc.training.data_mix, sc.training.seq_len).waste
        est = dataclasses.replace(est, useful_token_fraction=1.0 - float(waste))
    return est


def _evaluate_plan(sc: Scenario, ctx: _Context, c: np.ndarray | None = None, stage: int | None = None):
    """The step kernel on the scenario's plan: (its output row ``kt.OUT_NAMES``, the layout
    table ``lay``, its candidate count ``ncand``, the collective table ``comm``), under the
    constant vector ``c`` (default: the context's; ``il.training.collectives_by_dimension``
    passes a copy with the overlap factors at 0 for the raw communication terms). ``stage``:
    price only that pipeline-stage candidate (its row in place of the first, the layout's
    interleaved chunk classes kept; the returned ``lay`` and ``ncand`` are the full tables), so
    that the per-micro-batch and data-parallel terms are that stage's."""
    c = ctx.c if c is None else c
    tp, pp, vp, cp, ep, etp, dp, mbs, zero, fsdp, rc, spf = _plan_of(sc)
    layouts = np.array([[tp, pp, vp, cp, dp, ep, etp]], dtype=np.int64)
    lay_all, ncand_all, comm = _layout_tables(ctx, layouts, sc.training.recompute_num_layers)
    lay, ncand = lay_all, ncand_all
    if stage is not None:
        lay = lay_all.copy()
        lay[0, 0] = lay_all[0, stage]
        lay[0, 0, kt.L_KD:kt.L_KMAP] = lay_all[0, 0, kt.L_KD:kt.L_KMAP]   # chunk classes: the layout's
        ncand = np.ones_like(ncand_all)
    heads = np.array([[tp, pp, vp, cp, ep, etp, dp, mbs, spf, 0, 0, 0, 0, 0]], dtype=np.int64)
    tail = np.array([[zero, fsdp, rc]], dtype=np.int64)
    out = np.empty((1, kt.N_OUT))
    xtab = _xtab(ctx, ((ep, etp),))
    for a in (lay, ncand, comm, heads, tail):   # read-only as search passes them: eval_head compiles once
        a.setflags(write=False)
    sched = int(c[kt.C_PP_SCHED])
    if (sched in kt.EXECUTED_SCHEDULES and pp > 1) or kt.executes_megatron(c, pp, vp):
        # its program kept between calls (1F1B / interleaved: Megatron-Core's order per rank and chunk)
        kt.evaluate_serial_with(c, ctx.tab, ctx.htab, xtab, lay, ncand, comm, heads, tail, out,
                                *executed_programs(c, heads))
    else:
        kt.evaluate_serial(c, ctx.tab, ctx.htab, xtab, lay, ncand, comm, heads, tail, out)
    return out[0], lay_all, ncand_all, comm


def _warn_unsupported_schedule(sc: Scenario, stack: str) -> None:
    """A :class:`~infra_lab.errors.ScheduleSupportWarning` when the scenario names a pipeline
    schedule its stack does not run (the table :func:`infra_lab.training.stack_pp_schedules`
    reads, which is also what ``il.search`` offers); silent for a stack with no row there."""
    sched = sc.parallelism.pp_schedule
    if sched is None or sc.parallelism.pp <= 1:
        return
    from .plan_search import stack_pp_schedules

    try:
        runs = stack_pp_schedules(stack)
    except ValidationError:
        return
    if sched not in runs:
        warnings.warn(f"parallelism.pp_schedule = {sched!r}: the {stack} stack does not implement it "
                      f"(it runs {', '.join(runs)}; data/pp_schedule_stacks.csv); the estimate prices the "
                      f"schedule with this stack's factors", ScheduleSupportWarning, stacklevel=user_stacklevel())


def _warn_refused_microbatches(sc: Scenario, stack: str, sched: int, pp: int, vp: int, mbs: int, dp: int) -> None:
    """A :class:`~infra_lab.errors.ScheduleSupportWarning` when the stack's pipeline schedule
    refuses the plan's micro-batches per step m (the stack's ``microbatch_rule`` in
    ``data/pp_schedule_stacks.csv``, :func:`infra_lab.training.plan_search.schedule_microbatch_rule`
    and :func:`~infra_lab.training.plan_search.microbatch_refused`, the rule sentence
    :func:`~infra_lab.training.plan_search.refused_text`'s, as ``il.search``'s error says it).
    ``il.search`` does not offer such a plan; the estimate prices it all the same. The one
    micro-batch warning of every schedule:

    * interleaved 1F1B (pp > 1, vp > 1: :func:`infra_lab._kernels.training.executes_interleaved`
      of ``sched``, the context's schedule constant): Megatron-LM / Megatron-Core and Primus need
      m a multiple of pp (Megatron-Core groups the virtual micro-batches by
      ``microbatch_group_size_per_vp_stage``, default pp, and refuses a group larger than m or a
      last group of 1 … pp − 1; ``schedules.py`` at
      :data:`infra_lab._kernels.pipeline_greedy.MEGATRON_INTERLEAVED_AT`), torch.distributed.
      pipelining (torchtitan) m a multiple of max(1, m // pp). The estimate prices Megatron-Core's
      order as it is built (its execution where that completes, the closed form where it
      deadlocks: optimistic there).
    * 1F1B and the zero-bubble schedules: torchtitan's 1F1B (torch.distributed.pipelining's
      ``Schedule1F1B``) raises an error for m < pp; Primus' ZBV (``zbv-formatted``) runs a table
      of max(2·pp − 1, m) micro-batches, more than the step has when m < 2·pp − 1. The estimate
      prices the schedule for the m given."""
    name = sc.parallelism.schedule
    interleaved = name == "interleaved"
    if pp <= 1 or (interleaved and not kt.executes_interleaved(sched, pp, vp)):
        return
    from .plan_search import (
        MICROBATCH_RULES,
        microbatch_refused,
        refused_text,
        schedule_microbatch_rule,
    )

    try:
        rule = schedule_microbatch_rule(stack, name)
    except ValidationError:
        return
    m = sc.training.global_batch // (mbs * dp)
    if not microbatch_refused(rule, m, pp):
        return
    per_step = f"{pp * mbs * dp:,} (pp x micro_batch x dp)"
    least = {"at_least_pp": (pp, "pp"), "at_least_2pp_minus_1": (2 * pp - 1, "(2 x pp - 1)")}.get(rule)
    allowed = (f"a global_batch that is a multiple of {per_step}" if rule == "multiple_of_pp" else
               f"a global_batch of at least {least[0] * mbs * dp:,} ({least[1]} x micro_batch x dp)" if least else
               f"micro-batches per step that are {MICROBATCH_RULES[rule]}")
    what = f"parallelism.vp = {vp} with pp = {pp}" if interleaved else f"parallelism.pp_schedule = {name!r} with pp = {pp}"
    priced = ("the order as built (optimistic where it deadlocks)" if interleaved else
              f"the schedule for {m} micro-batch(es)")
    warnings.warn(f"{what}: {m} micro-batch(es) per step (global_batch {sc.training.global_batch:,} / (micro_batch "
                  f"{mbs} x dp {dp})), and {refused_text(stack, name)}, so the stack does not run this plan; "
                  f"allowed: {allowed}. The estimate prices {priced}; il.search does not offer such a plan",
                  ScheduleSupportWarning, stacklevel=user_stacklevel())


def _tokens_per_s_per_gpu(sc: Scenario, params: dict[str, float] | None = None) -> float:
    """``estimate(sc, params=params).tokens_per_s_per_gpu`` [tokens/s per GPU], the same bits
    (the same context, kernel call, step checks and arithmetic as :func:`_estimate_from`),
    without building the :class:`Estimate` (its breakdown frame) or re-emitting the plan's
    schedule warnings: what a stack-factor fit reads at each of the thousands of factor values
    it tries (:func:`infra_lab.validation.calibrate_current`). ``sc``: a text-model training
    Scenario with its plan (as :func:`estimate` takes); a multimodal one or a ``data_mix`` is
    priced as :func:`estimate` prices it (neither changes this rate)."""
    sc = _training_scenario(sc, "il.estimate")
    plan = _plan_of(sc)
    ctx = _context(sc, (plan[0],), (plan[7],), (plan[3],), None, params, _HOOK_OF_SCENARIO)
    out = _evaluate_plan(sc, ctx)[0]
    inv = 1.0 / _checked_step(out, ctx)
    return rate_numerators(ctx)[0] * inv / ctx.world


def _checked_step(out, ctx: _Context) -> float:
    """The step time of a kernel output row [s], refused where it is not runnable, not finite
    and positive, or faster than the dense peak allows (the checks of :func:`_estimate_from`)."""
    step = float(out[kt.O_STEP])
    if step == math.inf:
        raise ValidationError(
            "plan not runnable: a collective of this plan has no path on this fabric (e.g. an expert-parallel "
            "all-to-all across rails on a rails-only fabric with hardware.pxn = false); enable PXN, keep ep "
            "within the scale-up domain or use a rail-optimized / fat-tree fabric")
    if not (math.isfinite(step) and step > 0):
        raise ValidationError(f"step time {step!r}: the model produced a non-positive or non-finite time")
    rate = ctx.flops["executed"] / (step * ctx.world)
    if ctx.peak_train > 0 and rate > ctx.peak_train:
        raise ValidationError(
            f"the step would run {rate / 1e12:,.0f} TFLOP/s per GPU, above the {ctx.peak_train / 1e12:,.0f} TFLOP/s "
            f"dense peak: the stack factors (framework_time_scale = {ctx.sp['framework_time_scale']:g}, "
            f"memory_time_scale = {ctx.sp['memory_time_scale']:g}) make it faster than the hardware; "
            "allowed: factors that keep every kernel at or below its measured rate (see stacks.ranges)")
    return step


def _estimate_from(out, ctx: _Context, accelerator: str = "") -> Estimate:
    step = _checked_step(out, ctx)
    # the rates as il.search's frame derives them (_kernels.training.gather_columns: each
    # numerator times 1/step), so a search row and this estimate carry the same bits
    per_tokens, per_mfu, per_tflops = rate_numerators(ctx)
    inv = 1.0 / step
    tps = per_tokens * inv
    bd = pl.DataFrame({"component": list(COMPONENTS),
                       "seconds": [float(x) for x in out[: kt.N_COMPONENTS]]},
                      schema={"component": pl.String, "seconds": pl.Float64})
    f = ctx.flops[MFU_CONVENTION]
    return Estimate(
        step_time_s=step, tokens_per_s=tps, tokens_per_s_per_gpu=tps / ctx.world,
        mfu=per_mfu * inv, tflops_per_gpu=per_tflops * inv,
        memory_per_gpu_bytes=float(out[kt.O_MEM]), fits=bool(out[kt.O_FITS] > 0.5),
        breakdown=bd, stack=ctx.stack, model_flops_per_step=f, gpus=ctx.world,
        nic_busy_fraction=min(1.0, float(out[kt.O_NET]) * inv), dp_comm_raw_s=float(out[kt.O_DP_RAW]),
        checkpoint_bytes=ctx.checkpoint_bytes, flops_by_convention=dict(ctx.flops), peak_flops=ctx.peak_bf16,
        useful_token_fraction=ctx.useful_fraction, accelerator=accelerator,
    )
