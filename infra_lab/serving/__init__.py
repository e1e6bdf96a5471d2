"""Serving: throughput, latency, memory and cost of LLM inference under continuous batching.

``il.serve(scenario)`` answers one serving Scenario (a ``[serving]`` table in place of
``[training]``/``[parallelism]``); ``il.serve_search(scenario, ...)`` evaluates every
consistent tp/ep/dp/pp split, precision and concurrency on the scenario's GPUs and returns
the throughput–interactivity Pareto front. The model (formulas in ``docs/serving.md``):

* **An engine cycle** at steady state carries the decode tokens of every running request
  (``1 + draft`` tokens each with MTP) and, on average, ``B·I·E/O`` prompt tokens (the
  prompts of the requests that replace finished ones). Engines that mix prefill chunks into
  decode steps (vLLM V1, TensorRT-LLM) run a fraction of their steps with a chunk of
  up to ``chunk_tokens − decode tokens`` prompt tokens; SGLang (by default) and ATOM run
  prefill forwards of their own that pause decoding.
* **One forward** on a GPU of the critical path: every GEMM of the model's op list
  (:func:`infra_lab.compute.gemm_records`) timed as a roofline: the compute part of the compute
  model's GEMM (:func:`infra_lab._kernels.gemm.gemm_kernel`, the kernel behind
  :func:`infra_lab.compute.gemm_efficiencies`, with no HBM limit) x the stack's gemm_time_scale
  against the read of the weight bytes of the storage format and the activations x its
  memory_time_scale
  (weight-only quantization where the GPU lacks the format's tensor cores); routed experts
  as a grouped GEMM over the *expected number of distinct experts* the batch touches on the
  busiest expert-parallel rank, ``E/ep·(1 − (1 − k/E)^T)``; decode attention reading each
  sequence's KV cache (sliding windows applied), prefill attention as causal FLOPs; the
  per-layer TP all-reduce or, with DP attention, the EP all-to-all (dispatch and combine)
  through :func:`infra_lab._kernels.fabric.best_collective` (the kernel of
  ``il.collective``); a per-layer and a per-step overhead (the engine's stack factors).
* **Latency**: TPOT = cycle / tokens per step per request; TTFT = half a cycle of waiting
  plus the steps that carry the prompt's chunks (plus the queueing when more requests are
  in flight than the KV cache holds, by Little's law, and the first wave of a finite
  benchmark); e2e = TTFT + (O − 1)·TPOT.
* **Memory** per GPU: weights (storage format, split over tp·pp; experts over ep·expert-tp),
  KV cache of the running requests at their mean context ``I + O/2`` (paged allocation),
  and ``1 − memory_utilization`` of HBM for activations and runtime. ``max_concurrency`` is
  the number of requests whose mean KV fits (capped by the engine's max_num_seqs).

All factors are named parameters of the serving stacks in ``data/stacks.csv``
(``<engine>-<platform>``); hardware numbers come from the catalog and the compute model.
This is a steady-state model: it does not simulate request arrivals one by one, prefix
caching or disaggregated prefill/decode.

The package's submodules, each re-exported here (``il.serving.X`` is the public path):
:mod:`.core` (ServeResult, the kernel inputs, ``serve``), :mod:`.reference` (the
plain-Python reference), :mod:`.search` (``serve_search``, ``pareto_front``), :mod:`.costs`
($ per token, GPU-hour prices), :mod:`.published` (validation and calibration on published
benchmarks) and :mod:`.agent` (notebook 07's agent request mix and class comparison).

Examples
--------
>>> import infra_lab as il
>>> sc = {"model": {"preset": "llama3.3-70b"},
...       "hardware": {"accelerator": "MI300X", "nodes": 1, "gpus_per_node": 8},
...       "serving": {"engine": "vllm", "weight_precision": "fp8", "tp": 8, "concurrency": 64,
...                   "input_tokens": 1024, "output_tokens": 1024}}
>>> r = il.serve(sc)
>>> r.fits, r.output_tokens_per_s > 0, r.ttft_s < r.e2e_latency_s
(True, True, True)
"""

from __future__ import annotations

# F401: besides __all__, the package re-exports public helpers (agent_model, agent_serving,
# trtllm_bench_settings, MAX_SEARCH_CONFIGURATIONS) and the private names that tests,
# benchmarks and docs reach as infra_lab.serving.<name>
from .agent import (  # noqa: F401
    _mix_table,
    agent_model,
    agent_request,
    agent_serving,
    class_comparison,
    maia_mix,
    maia_mix_table,
)
from .core import (  # noqa: F401
    _WPREC,
    BREAKDOWN,
    ENGINE_ALLREDUCE_KERNELS,
    OBJECTIVES,
    ServeResult,
    _attention_params,
    _cfg_row,
    _media,
    _mtp_expert_params,
    _records,
    _run,
    _stack_params,
    engine_allreduce,
    engine_allreduce_kernel,
    engine_allreduce_rule,
    fp4_format,
    mtp_acceptance_for_tokens_per_step,
    parameter,
    serve,
    serving_inputs,
    tpot_defined,
    weight_precisions,
)
from .costs import (
    cost_at_interactivity,
    gpu_hour_price,
    price_for,
    token_costs,
)
from .published import (  # noqa: F401
    _BOUNDS,
    CALIBRATED,
    VALIDATION_BOUNDS,
    _row_scenario,
    benchmarks,
    calibrate,
    checkpoints,
    engine_generations,
    published_comparison,
    row_stack,
    split_of,
    trtllm_bench_settings,
    validation,
    validation_summary,
)
from .reference import _reference_one  # noqa: F401
from .search import (  # noqa: F401
    DEFAULT_CONCURRENCIES,
    EDGE_OBJECTIVES,
    MAX_SEARCH_CONFIGURATIONS,
    _plans,
    _scenario_of,
    pareto_front,
    serve_search,
)

__all__ = [
    "ServeResult", "serve", "serve_search", "OBJECTIVES", "BREAKDOWN", "parameter",
    "engine_allreduce", "engine_allreduce_kernel", "engine_allreduce_rule", "ENGINE_ALLREDUCE_KERNELS",
    "serving_inputs", "token_costs", "gpu_hour_price", "price_for", "cost_at_interactivity", "pareto_front",
    "benchmarks", "validation", "published_comparison", "validation_summary", "calibrate", "split_of", "row_stack",
    "engine_generations", "VALIDATION_BOUNDS", "CALIBRATED", "maia_mix", "maia_mix_table", "agent_request",
    "class_comparison",
    "fp4_format", "weight_precisions", "DEFAULT_CONCURRENCIES", "EDGE_OBJECTIVES", "checkpoints", "tpot_defined",
]
