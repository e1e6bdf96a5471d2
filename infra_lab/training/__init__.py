"""End-to-end training step: step time, tokens/s, MFU, memory and the parallelism search.

``il.estimate(scenario)`` composes one optimizer step of one parallel plan from four named
parts of the step kernel (:mod:`infra_lab._kernels.training`):

* **compute**: forward, backward and recomputation of one micro-batch on each distinct
  pipeline stage, from the compute model's per-layer op tables
  (:func:`infra_lab.compute.layer_ops`, classified by its ``component`` column) scaled by
  the stack's ``framework_time_scale`` / ``memory_time_scale``; pipeline stages may be
  uneven (pp·vp need not divide the layers, :func:`infra_lab.memory.stage_layers`): the
  slowest stage sets the steady-state pace, the pipeline's fill and drain run at each rank's
  own times; a model's multi-token-prediction modules run on the stage with
  the output layer (each a layer of the last kind, the projection, another head and loss);
* **communication**: every tensor-, context-, expert- (dispatch/combine all-to-all and
  expert-TP), pipeline- and data-parallel collective priced by
  :func:`infra_lab._kernels.fabric.best_collective` — the kernel behind ``il.collective``,
  with the group's ranks per scale-up domain from Megatron's rank order (tp, cp, dp, pp;
  experts laid over tp·cp·dp as ep × etp, Megatron-Core's MoE parallel folding): the fewest
  of one group's ranks in one domain over every group of that kind
  (:func:`infra_lab._kernels.training.members_per_domain`; approximate for uneven splits such
  as 4 + 2, priced as the uniform placement at the bottleneck's share); data-parallel
  gradients and parameters move in Megatron's buckets of max(40M, 1M·dp) parameters with
  per-bucket readiness along backward, the bucket holding the embedding exposed at the end;
* **memory**: :func:`infra_lab._kernels.memory.training_bytes`, the formula
  ``il.memory.training_memory`` wraps;
* **schedule**: micro-batches, the pipeline bubble with every rank at its own times (the other
  ranks' micro-batches, / vp, for 1F1B / interleaved, as Alpa's Σ t_i + (m − 1)·max t_i:
  :func:`infra_lab._kernels.training.pipeline_bubble_stages`; the order the library runs for ZB-H1 /
  ZBV (Primus' tables) and V-Half / V-Min (the greedy scheduler) executed with each rank's F, B,
  W, in a V each of its two chunks at its own (the layers, embedding and output layer the chunk
  holds): :func:`infra_lab._kernels.training.executed_rank_bubble`; (pp − 1)/vp of a micro-batch at equal
  stages, :func:`infra_lab._kernels.training.pipeline_bubble`), overlap windows, ZeRO-0/1/2/3
  and FSDP (no resharding under pipeline parallelism), the optimizer update.

Every efficiency or overlap factor is a named parameter of a *software stack*
(``data/stacks.csv`` through :mod:`infra_lab.stacks`: ``megatron-lm-2022-cuda`` for the 2021-22
A100 runs, ``megatron-core-cuda`` and ``megatron-core-rocm`` with vendor-symmetric factors, and
labelled ``*-asym`` sensitivity stacks), one value per stack, never per case. The stack is the
scenario's ``[training] stack`` or the accelerator vendor's default.

**MFU** (``Estimate.mfu``) is model FLOPs per second over the dense BF16 peak, FLOPs counted
as 3 × forward with the LM head and causal attention (:data:`MFU_CONVENTION`);
``Estimate.mfu_table()`` gives the other conventions side by side, tokens/s/GPU first.

:func:`search` enumerates every consistent plan as head rows (layout, micro-batch, sequence
parallel) × tail rows (ZeRO, FSDP, recompute) and evaluates them with the numba kernel in
parallel; collective times are computed once per (layout, micro-batch) before the loop.
:mod:`infra_lab._kernels.training_reference` re-derives a plan independently from the public
functions; tests check the two agree.

The package's submodules, each re-exported here (``il.training.X`` is the public path):
:mod:`.factors` (the stack's training factors, ``stack_params``), :mod:`.tables` (per-layer and
routed-expert tables from the compute and memory models), :mod:`.context` (a scenario packed
into the kernel's constants and tables; layout tables), :mod:`.step` (``estimate``,
``Estimate``), :mod:`.plans` (search constraints and the plan space, ``plan_space_size``),
:mod:`.plan_search` (``search`` and its result frame), :mod:`.bands` (``estimate_band``) and
:mod:`.comm_table` (``collectives``, ``collectives_by_dimension``: which collectives a plan runs,
their sizes, groups and times, raw against exposed per step).

Examples
--------
>>> import infra_lab as il
>>> est = il.estimate(il.load_scenario("zaya1-ibm-mi300x"))
>>> est.fits, 0.0 < est.mfu < 1.0
(True, True)
>>> sorted(est.breakdown["component"])[:3]
['compute_bwd', 'compute_fwd', 'compute_recompute']
"""

from __future__ import annotations

# F401: besides __all__, the package re-exports the public helpers of its submodules and the
# names that other modules, tests, benchmarks and docs reach as infra_lab.training.<name>
# (the kernel module kt, RECOMPUTE, _context, _xtab, _layer_ops, _attention_kernel,
# _estimate_with_hook, _prepare, _frame)
from .._kernels import training as kt  # noqa: F401
from ..scenario import RECOMPUTE  # noqa: F401
from .bands import BAND_METHODS, estimate_band
from .comm_table import COMM_COMPONENTS, PP_CALLS_PER, collectives, collectives_by_dimension  # noqa: F401
from .context import MFU_CONVENTION, _context, _xtab  # noqa: F401
from .factors import ATTENTION_KERNEL_CODES, STACK_PARAMS, stack_params  # noqa: F401
from .plan_search import (  # noqa: F401
    DEFAULT_PP_SCHEDULES,
    MICROBATCH_RULES,
    OBJECTIVES,
    PLAN_PARALLELISM_KEYS,
    SEARCH_SERIAL_BELOW,
    WORK_KEEP_MAX_BYTES,
    _frame,
    _prepare,
    apply_plan,
    interleaved_microbatch_rule,
    interleaved_refused,
    microbatch_refused,
    plan_rows,
    pp_schedule_alias,
    schedule_microbatch_rule,
    search,
    search_buffers_clear,
    search_buffers_info,
    stack_pp_schedules,
)
from .plans import DEFAULT_MAX, SEARCH_CONSTRAINTS, plan_space_size  # noqa: F401
from .step import COMPONENTS, Estimate, _estimate_with_hook, estimate  # noqa: F401
from .tables import _attention_kernel, _layer_ops  # noqa: F401

__all__ = [
    "Estimate", "estimate", "estimate_band", "BAND_METHODS", "search", "stack_params", "STACK_PARAMS", "MFU_CONVENTION",
    "COMPONENTS", "OBJECTIVES", "SEARCH_CONSTRAINTS", "plan_space_size", "apply_plan",
    "collectives", "collectives_by_dimension", "COMM_COMPONENTS", "search_buffers_clear", "search_buffers_info",
]
