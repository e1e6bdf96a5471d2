"""Predictions of :func:`infra_lab.estimate` against published, fully specified training runs.

The measured runs live in ``data/measurements/*.csv`` with every input the model needs
(model shape, cluster, parallel plan, batch, recomputation, precision), the measured step
time, the source URL and a note saying which inputs the paper does not state and what was
assumed:

* Korthikanti et al. 2022, Table 5 — 8 runs (22B–1T, full recompute vs selective + SP):
  the **training set**. The A100 + Megatron stack's ``framework_time_scale`` and
  ``memory_time_scale`` are fitted on these runs by :func:`calibrate`.
* Narayanan et al. 2021, Tables 1 and 2 — 22 runs (weak scaling with PTD-P; PTD-P vs
  ZeRO-3): the **test set**, never used for fitting.

All runs are on NVIDIA Selene (A100 80 GB, 8 × HDR 200 Gb/s per node, fat-tree).

The package's submodules, each re-exported here (``il.validation.X`` is the public path):
:mod:`.selene` (the 2021-22 Selene runs: ``measurements``, ``compare``, ``calibrate``),
:mod:`.runs` (the current runs and each run as a Scenario: ``current_runs``,
``scenario_for_run``), :mod:`.comparison` (``compare_current``, its summaries,
``band_coverage``), :mod:`.calibration` (``calibrate_current``, ``ep_overlap_fit``),
:mod:`.host_sync` (the host-bound MoE path's structure and factor), :mod:`.pairs` (factors
from pairs of runs: async TP, eager mode, FSDP overlap), :mod:`.loso` (the leave-one-source-out
check: ``leave_one_source_out``, ``loso_summary``), :mod:`.peak_memory`
(``memory_check``) and :mod:`.report` (``report_markdown``, the tables of docs/validation.md).

Examples
--------
>>> import infra_lab as il
>>> v = il.validation.compare()
>>> v.height
30
>>> s = il.validation.summary(v)
>>> sorted(s["split"].to_list())
['all', 'test', 'train']
"""

from __future__ import annotations

# F401: besides __all__, the package re-exports every other public name of its submodules and
# the names that tests reach as infra_lab.validation.<name> (ValidationError, _split_of,
# _measured_tokens_per_gpu)
from ..errors import ValidationError  # noqa: F401
from ._common import MEASUREMENT_DIR  # noqa: F401
from .calibration import (  # noqa: F401
    CURRENT_FITTED,
    EP_OVERLAP_FAMILY,
    FIT_BOUNDS,
    FIT_NODES,
    calibrate_current,
    ep_overlap_fit,
)
from .comparison import band_coverage, compare_current, summary_by_accelerator, summary_current
from .host_sync import (
    MOE_HOST_SYNC_RUNS,
    MOE_HOST_SYNC_STRUCTURE,
    MOE_HOST_SYNC_STRUCTURES,
    MOE_HOST_SYNC_SWITCH_MARGIN_PP,
    choose_host_sync_structure,
    moe_host_sync_derivation,
    moe_host_sync_structures,
)
from .loso import LOSO_FIXED_CONSTANTS, LOSO_REFITTED_CONSTANTS, leave_one_source_out, loso_summary  # noqa: F401
from .pairs import (  # noqa: F401
    EAGER_PAIR,
    TP_ASYNC_PAIR,
    ZERO3_OVERLAP_PAIR,
    eager_derivation,
    tp_async_derivation,
    zero3_overlap_derivation,
)
from .peak_memory import (  # noqa: F401
    MEMORY_COUNTERS,
    MEMORY_COUNTERS_COMPARED,
    MEMORY_FILE,
    MEMORY_RANKS,
    memory_check,
    memory_measurements,
)
from .report import (  # noqa: F401
    GLANCE_BEGIN,
    GLANCE_END,
    LARGEST_ABOVE_PCT,
    LARGEST_BEGIN,
    LARGEST_END,
    LOSO_BEGIN,
    LOSO_END,
    REPORT_BEGIN,
    REPORT_END,
    glance_markdown,
    largest_markdown,
    loso_markdown,
    report_markdown,
)
from .runs import (  # noqa: F401
    ASSUMED_GLOBAL_BATCH,
    FAMILIES,
    FLOP_CONVENTION_OF_SOURCES,
    MEGATRON_CAUSAL_FLOPS_SINCE,
    PP_SCHEDULE_OF,
    PP_SCHEDULES_MODELLED,
    PRIMUS_DSV2L_SCRIPT_GLOBAL_BATCH,
    PRIMUS_ZB_TEST_CONFIG_GLOBAL_BATCH,
    RUNS_FILE,
    TEST_FRACTION_MOD,
    TORCHTITAN_LOSS_COMPILE_SINCE,
    TORCHTITAN_SAC_SAVES_ALL_SDPA_SINCE,
    VARIANTS,
    _measured_tokens_per_gpu,
    _split_of,
    current_runs,
    current_sources,
    family_of,
    flop_convention_of,
    run_nic,
    scenario_for_run,
    source_of,
    stack_of,
)
from .selene import (
    MEASUREMENT_FILES,
    STEP_TIME_BOUNDS_PCT,
    VALIDATION_STACK,
    calibrate,
    compare,
    measurements,
    scenario_for,
    summary,
)

__all__ = ["measurements", "scenario_for", "compare", "summary", "calibrate", "MEASUREMENT_FILES",
           "STEP_TIME_BOUNDS_PCT", "VALIDATION_STACK", "compare_current", "summary_current", "summary_by_accelerator", "calibrate_current",
           "moe_host_sync_derivation", "moe_host_sync_structures", "ep_overlap_fit", "MOE_HOST_SYNC_RUNS",
           "MOE_HOST_SYNC_STRUCTURES", "MOE_HOST_SYNC_STRUCTURE", "MOE_HOST_SYNC_SWITCH_MARGIN_PP",
           "choose_host_sync_structure", "ASSUMED_GLOBAL_BATCH",
           "PRIMUS_ZB_TEST_CONFIG_GLOBAL_BATCH",
           "memory_check", "MEMORY_COUNTERS", "MEMORY_COUNTERS_COMPARED", "MEMORY_RANKS", "report_markdown", "glance_markdown", "flop_convention_of", "band_coverage",
           "source_of", "current_sources"]
