"""Multimodal models (issue 20): vision/audio encoders + language models, their token math,
sequence packing, training step time and memory for a data mix, and encoder prefill for
serving. The derivations are in docs/multimodal.md.

>>> from infra_lab import multimodal as mm
>>> mm.system("qwen2.5-vl-7b").params_total
8292166656
"""

from .compute import (
    ENCODER_PRECISION,
    cross_kv_ops,
    cross_ops,
    encoder_activation_bytes,
    encoder_ops,
    encoder_tp,
)
from .packing import (
    PACKINGS,
    DataMix,
    PackingStats,
    mix_parameter,
    mix_parameters,
    pack,
    packing_stats,
    sample_stream,
)
from .serving import (
    EncoderPrefill,
    MultimodalServeResult,
    encoder_flops_per_request,
    encoder_prefill,
    serve,
)
from .specs import (
    ENCODER_FIELDS,
    MODALITIES,
    PROJECTORS,
    SYSTEM_KEYS,
    EncoderSpec,
    MultimodalSpec,
    encoder,
    encoder_names,
    encoders,
    is_multimodal_table,
    is_system_name,
    resolve_model,
    split_model_table,
    system,
    system_names,
    systems,
)
from .training import (
    PROLOGUE_NAMES,
    MultimodalEstimate,
    TrainingHook,
    estimate,
    example_scenario,
    training_hook,
)
from .validation import measurements, published_comparison

__all__ = [
    "ENCODER_FIELDS", "MODALITIES", "PROJECTORS", "SYSTEM_KEYS", "EncoderSpec", "MultimodalSpec",
    "encoder", "encoder_names", "encoders", "is_multimodal_table", "is_system_name", "resolve_model",
    "split_model_table", "system", "system_names", "systems",
    "PACKINGS", "DataMix", "PackingStats", "mix_parameter", "mix_parameters", "pack", "packing_stats",
    "sample_stream",
    "measurements", "published_comparison",
    "EncoderPrefill", "MultimodalServeResult", "serve", "encoder_flops_per_request", "encoder_prefill",
    "ENCODER_PRECISION", "cross_kv_ops", "cross_ops", "encoder_activation_bytes", "encoder_ops", "encoder_tp",
    "PROLOGUE_NAMES", "MultimodalEstimate", "TrainingHook", "estimate", "example_scenario", "training_hook",
]

from ..errors import name_keywords_of as _name_keywords_of  # noqa: E402

_name_keywords_of(globals(), __all__, "il.multimodal")   # a misspelt keyword names the nearest parameter
