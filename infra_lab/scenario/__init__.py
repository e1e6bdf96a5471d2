"""Scenario: one question — a model on a cluster, with a training setup and a parallel plan
([training] + [parallelism]) or a serving setup ([serving]).

Built from a plain dict (or a TOML file with the same tables) and validated on
construction. Every error names the field, the value given and what is allowed; unknown
keys and catalog names come with the nearest valid spelling.

The package's submodules, each re-exported here (``il.scenario.X`` is the public path):
:mod:`.hardware_table` (``HardwareConfig``, ``as_hardware``), :mod:`.training_table`
(``TrainingConfig`` and the training enumerations), :mod:`.parallelism_table`
(``ParallelismConfig``), :mod:`.serving_table` (``ServingConfig``, ``serving_stack``),
:mod:`.model_table` (the [model] table resolved), :mod:`.core` (``Scenario``),
:mod:`.shipped` (``SCENARIO_DIR``, ``list_scenarios``) and :mod:`.loading`
(``load_scenario``, ``as_scenario``); :mod:`._checks` holds the field checks they share.

>>> import infra_lab as il
>>> sc = il.Scenario.from_dict({
...     "model": {"preset": "llama3-8b"},
...     "hardware": {"accelerator": "MI300X", "nodes": 2, "nic": "Pollara-400"},
...     "training": {"seq_len": 4096, "global_batch": 64, "micro_batch": 2},
... })
>>> sc.parallelism.dp, sc.hardware.world_size
(16, 16)
"""

from __future__ import annotations

# F401: besides __all__, the package re-exports every public name of the old single module
# (the enumerations, SERVING_BOUNDS, SCENARIO_DIR, check_recompute_num_layers) that other
# modules, tests, tools and docs reach as infra_lab.scenario.<name>
from .core import Scenario
from .hardware_table import FABRICS, HardwareConfig, as_hardware
from .loading import as_scenario, load_scenario
from .parallelism_table import (  # noqa: F401
    CP_ROTATE_METHODS,
    FSDP_IMPLS,
    MOE_DISPATCHERS,
    PP_SCHEDULES,
    ParallelismConfig,
)
from .serving_table import (  # noqa: F401
    BATCHING,
    ENGINES,
    KV_PRECISIONS,
    SERVING_BOUNDS,
    SPEC_DECODING,
    WEIGHT_PRECISIONS,
    ServingConfig,
    serving_stack,
)
from .shipped import SCENARIO_DIR, list_scenarios  # noqa: F401
from .training_table import (  # noqa: F401
    ENCODER_MODES,
    FP8_SCALINGS,
    MOE_ROUTINGS,
    OFFLOAD_MODULES,
    OPTIMIZERS,
    PRECISIONS,
    RECOMPUTE,
    RECOMPUTE_MODULES,
    TrainingConfig,
    check_recompute_num_layers,
)

__all__ = ["Scenario", "as_scenario", "HardwareConfig", "as_hardware", "TrainingConfig", "ParallelismConfig", "ServingConfig", "serving_stack",
           "load_scenario", "list_scenarios", "FABRICS", "PRECISIONS", "RECOMPUTE", "OPTIMIZERS",
           "ENCODER_MODES", "ENGINES", "WEIGHT_PRECISIONS", "KV_PRECISIONS", "SPEC_DECODING", "BATCHING"]
