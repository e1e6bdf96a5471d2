"""Reliability of a training run: failures, checkpoints, restarts and goodput.

Four modules, each usable alone, re-exported here (``il.reliability.<name>``):

1. :mod:`~infra_lab.reliability.failures` — interruption rates per component class (GPU,
   HBM, NIC, link, switch, host, software, unknown) from a **calibration**: ``llama3`` (419
   unexpected interruptions in 54 days on 16,384 H100, a per-device reading of one flagship
   run; arXiv 2407.21783) or ``fleet`` (7.9 h mean time to failure of 1,024-GPU jobs on
   Meta's RSC research clusters, a job-level fleet reading; Kokolis et al., HPCA 2025,
   arXiv 2410.21680); device counts from the catalog (HBM stacks) and the fabric (links,
   switches); an early-deployment factor; the published fleet observations as a check.
2. :mod:`~infra_lab.reliability.checkpoint` — checkpoint bytes from the memory model
   (optimizer, sharding), save and reload times from storage bandwidth, restart time
   (detection by crash, collective timeout or health check; hot spares; relaunch; reload),
   Young/Daly intervals and the exact expected wall-clock time: :func:`plan_run`.
3. :mod:`~infra_lab.reliability.montecarlo` — whole runs simulated by a numba kernel with a
   plain reference beside it: :func:`simulate`.
4. :mod:`~infra_lab.reliability.study` — run length from ``il.estimate``, price from
   ``il.economics``, calibrations side by side, sweeps and bands, and the published goodput
   of real runs as a check (:func:`goodput_check`).

All defaults come from ``data/reliability/*.csv`` (each row with ``source_url`` and
``note``). SI units inside: seconds, bytes, bytes/s; hours appear only in names that say so.

>>> import infra_lab as il
>>> from infra_lab.scenario import HardwareConfig
>>> llama = HardwareConfig.from_dict({"accelerator": "H100-SXM", "nodes": 2048,
...                                   "nic": "ConnectX-7-NDR", "fabric": "fat-tree"})
>>> round(il.reliability.mtbi_hours(llama, calibration="llama3"), 2)   # by construction
3.09
"""

from ._data import BASES, CLASS_LABELS, COMPONENT_CLASSES, class_label, parameter, parameters
from .checkpoint import (
    OVERFLOW_EXPONENT,
    CheckpointPlan,
    RestartModel,
    RunPlan,
    checkpoint_plan,
    daly_interval_s,
    expected_wall_time_s,
    hot_spare_fraction,
    hot_spares_for,
    optimal_interval_s,
    plan_run,
    restart_model,
    restart_profiles,
    restart_times_s,
    spare_availability,
    storage_options,
    young_interval_s,
)
from .failures import (
    HBM_BASES,
    READINGS,
    Composition,
    calibration_names,
    calibrations,
    class_shares,
    component_rates,
    composition,
    failure_rate_per_hour,
    fleet_check,
    fleet_observations,
    hbm_stacks,
    interruption_rates,
    interruption_table,
    interruptions_per_day,
    mtbi_hours,
)
from .montecarlo import (
    MAX_FAILURES_PER_RUN,
    MAX_RUNS,
    MAX_SIMULATED_FAILURES,
    simulate,
    summarize_runs,
)
from .study import (
    compare_calibrations,
    expansion_work_hours,
    goodput_bands,
    goodput_check,
    goodput_observations,
    interval_sweep,
    market_price_usd_per_gpu_hour,
    restart_sweep,
    run_hours,
    save_speedup_value,
    save_value_table,
    scale_hardware,
    scale_scenario,
    scaling_table,
)

__all__ = [
    "BASES", "CLASS_LABELS", "COMPONENT_CLASSES", "class_label", "parameter", "parameters",
    "OVERFLOW_EXPONENT", "CheckpointPlan", "RestartModel", "RunPlan", "checkpoint_plan",
    "daly_interval_s", "expected_wall_time_s", "hot_spare_fraction", "hot_spares_for", "optimal_interval_s",
    "plan_run", "restart_model", "restart_profiles", "restart_times_s", "spare_availability",
    "storage_options", "young_interval_s",
    "HBM_BASES", "READINGS", "Composition", "calibration_names", "calibrations",
    "class_shares", "component_rates", "composition", "failure_rate_per_hour", "fleet_check",
    "fleet_observations", "hbm_stacks", "interruption_rates", "interruption_table",
    "interruptions_per_day", "mtbi_hours",
    "MAX_FAILURES_PER_RUN", "MAX_RUNS", "MAX_SIMULATED_FAILURES", "simulate", "summarize_runs",
    "compare_calibrations", "expansion_work_hours", "goodput_bands", "goodput_check",
    "goodput_observations", "interval_sweep",
    "market_price_usd_per_gpu_hour", "restart_sweep", "run_hours", "save_speedup_value",
    "save_value_table", "scale_hardware", "scale_scenario", "scaling_table",
]

from ..errors import name_keywords_of as _name_keywords_of  # noqa: E402

_name_keywords_of(globals(), __all__, "il.reliability")   # a misspelt keyword names the nearest parameter
