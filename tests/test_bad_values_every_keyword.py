"""Every keyword of the public calls, fed every class of bad value, one class at a time.

The counterpart of tests/test_bad_values_every_field.py (whose value classes, message checks and
numpy rules this module uses) for the calls: il.estimate, il.search, il.collective, il.serve,
il.serve_search, il.sweep, the il.memory, il.economics and il.reliability functions the
notebooks and explorers call, and the options of every ``infra-lab`` subcommand. ``CALLS`` holds
a valid call of each function and the kind of each of its parameters; a test fails when a
parameter of one of these functions has no kind here. Each bad value must be refused by the
package's own error naming the keyword, repeating the value and saying what is allowed (the
nearest name for a misspelt one); a numpy scalar holding a valid value must give the same
answer as the Python value. On the command line a bad option value must end in exit status 1
or 2 with a one-line message naming the option, never 3 (an internal error) or a traceback.
"""

from __future__ import annotations

import argparse
import inspect
import math
import re
import warnings

import numpy as np
import polars as pl
import pytest
from test_bad_values_every_field import (
    DENSE,
    HW,
    SERVE,
    bad_values,
    budget,
    message_problems,
    numpy_values,
)

import infra_lab as il
from infra_lab import cli, economics, memory, reliability
from infra_lab.errors import InfraLabError

pytestmark = pytest.mark.filterwarnings("ignore::infra_lab.errors.ContextLengthWarning",
                                        "ignore::infra_lab.errors.EmptyResultWarning",
                                        "ignore::infra_lab.errors.SearchEdgeWarning",
                                        "ignore::infra_lab.errors.NodeSizeWarning",
                                        "ignore::UserWarning")

HW2 = {**HW, "nodes": 2}
PLAN = None   # a reliability plan, built once (see _plan)


def _plan():
    global PLAN
    if PLAN is None:
        PLAN = reliability.plan_run(HW2, 100.0, model="llama3-8b")
    return PLAN


def _double(x, **kw):
    return {"y": 2 * x}


# kind as in the field sweep, plus: "params" (a dict of stack factors, {name: number}),
# "scenario" (a Scenario, a dict, a shipped name or a path), "skip" (an object, not a value:
# a callable, a plan; with the reason)
PARAMS_GOOD = {"framework_time_scale": 1.1}
SERVE_PARAMS_GOOD = {"memory_time_scale": 1.1}

# name -> (call taking the keyword arguments, {parameter: (kind, valid value)}); the call's other
# arguments are valid
CALLS: dict[str, tuple] = {
    "il.estimate": (lambda **kw: il.estimate(kw.pop("scenario", DENSE), **kw), {
        "scenario": ("scenario", "zaya1-ibm-mi300x"), "stack": ("name", "megatron-core-rocm"),
        "params": ("params", PARAMS_GOOD)}),
    "il.search": (lambda **kw: il.search(kw.pop("scenario", DENSE), **{"top": 2, **kw}), {
        "scenario": ("scenario", "zaya1-ibm-mi300x"), "objective": ("name", "tokens_per_s"), "top": ("int", 3),
        "feasible_only": ("bool", False), "stack": ("name", "megatron-core-rocm"), "params": ("params", PARAMS_GOOD),
        "pp_schedules": ("name", "1f1b"), "tp_across_domains": ("bool", True),
        # constraints (**constraints): a few of each form
        "max_tp": ("int", 4), "min_pp": ("int", 1), "max_micro_batch": ("int", 2), "zero": ("int0", 1),
        "recompute": ("name", "full")}),
    "il.collective": (lambda **kw: il.collective(kw.pop("op", "all_reduce"), kw.pop("size_bytes", 2.0**24),
                                                 kw.pop("hardware", HW2), kw.pop("gpus", 16), **kw), {
        "op": ("name", "all_gather"), "size_bytes": ("num0", 2.0**20), "hardware": ("skip", "a table: swept field "
                                                                                    "by field in the field sweep"),
        "gpus": ("int", 8), "algorithm": ("name", "ring"), "per_node": ("int", 8),
        "fabric_efficiency": ("frac1", 0.9), "radix": ("int", 64)}),
    "il.serve": (lambda **kw: il.serve(kw.pop("scenario", SERVE), **kw), {
        "scenario": ("scenario", "maia-class-serving-mi300x"), "stack_params": ("serve_params", SERVE_PARAMS_GOOD),
        "reference": ("bool", True), "params": ("serve_params", SERVE_PARAMS_GOOD)}),
    "il.serve_search": (lambda **kw: il.serve_search(kw.pop("scenario", SERVE), **{"top": 2, **kw}), {
        "scenario": ("scenario", "maia-class-serving-mi300x"), "objective": ("name", "output_tokens_per_s"),
        "top": ("int", 3), "max_tpot_s": ("num", 0.05), "max_ttft_s": ("num", 2.0),
        "min_tokens_per_s_per_user": ("num", 10.0), "concurrencies": ("ints", [8, 16]),
        "weight_precisions": ("names", ["bf16"]), "kv_precisions": ("names", ["bf16"]), "pareto": ("bool", False),
        "price_usd_per_gpu_hour": ("num", 2.0), "stack_params": ("serve_params", SERVE_PARAMS_GOOD),
        "reference": ("bool", False), "params": ("serve_params", SERVE_PARAMS_GOOD)}),
    "il.sweep": (lambda **kw: il.sweep(kw.pop("fn", _double), kw.pop("grid", {"x": [1, 2]}),
                                       **{"progress": False, **kw}), {
        "fn": ("skip", "a callable"), "grid": ("skip", "a table of lists: test_fuzz_inputs.test_sweep_arguments"),
        "client": ("skip", "a dask client or scheduler address: test_fuzz_inputs.test_sweep_arguments"),
        "seed": ("int0", 3), "chunk_size": ("int", 1), "out": ("skip", "a path: test_fuzz_inputs"),
        "progress": ("bool", False), "pass_seed": ("bool", False), "retry_failed": ("bool", False),
        "fn_kwargs": ("skip", "the function's own keywords, passed as given")}),

    "memory.training_memory": (lambda **kw: memory.training_memory(kw.pop("scenario", DENSE), **kw), {
        "scenario": ("scenario", "zaya1-ibm-mi300x"), "micro_batch": ("int", 2), "zero": ("int0", 1),
        "seq_len": ("int", 2048), "recompute": ("name", "full")}),
    "memory.training_memory_total": (lambda **kw: memory.training_memory_total(kw.pop("scenario", DENSE), **kw), {
        "scenario": ("scenario", "zaya1-ibm-mi300x"), "micro_batch": ("int", 2)}),
    "memory.fits": (lambda **kw: memory.fits(kw.pop("scenario", DENSE), **kw), {
        "scenario": ("scenario", "zaya1-ibm-mi300x"), "micro_batch": ("int", 2)}),
    "memory.largest_model": (lambda **kw: memory.largest_model(kw.pop("accelerators", ["MI300X"]), **kw), {
        "accelerators": ("name", "MI300X"), "scenario": ("scenario", "zaya1-ibm-mi300x"),
        "family": ("name", "llama3"), "by": ("name", "presets"), "max_layers": ("int", 200),
        "search_plans": ("bool", False), "micro_batch": ("int", 1), "weight_bytes": ("num", 2.0),
        "grad_bytes": ("num0", 4.0), "optimizer_state_bytes": ("num0", 12.0), "activation_bytes": ("num", 2.0),
        "reserve_fraction": ("frac0_1", 0.2), "reserve_bytes": ("num0", 0.0)}),
    "memory.memory_sweep": (lambda **kw: memory.memory_sweep(kw.pop("presets", ["llama3-8b"]),
                                                             kw.pop("accelerators", ["MI300X"]), **kw), {
        "presets": ("names", ["llama3-8b"]), "accelerators": ("names", ["MI300X"]), "seq_len": ("int", 2048),
        "micro_batch": ("int", 2), "precision": ("name", "fp8"), "zero": ("int0", 1), "recompute": ("name", "full"),
        "nodes": ("int", 2), "gpus_per_node": ("int", 8)}),
    "memory.kv_bytes_per_token": (lambda **kw: memory.kv_bytes_per_token(kw.pop("spec", "llama3-8b"), **kw), {
        "spec": ("name", "llama3-70b"), "precision": ("name", "fp8")}),
    "memory.kv_cache_bytes": (lambda **kw: memory.kv_cache_bytes(kw.pop("spec", "llama3-8b"),
                                                                 kw.pop("tokens", 4096), **kw), {
        "spec": ("name", "llama3-70b"), "tokens": ("num0", 2048), "batch": ("int", 4), "precision": ("name", "fp8")}),
    "memory.checkpoint_bytes": (lambda **kw: memory.checkpoint_bytes(kw.pop("spec", "llama3-8b"), **kw), {
        "spec": ("name", "llama3-70b"), "optimizer": ("name", "adamw"), "weight_bytes": ("num", 2.0),
        "save": ("name", "fully-parallel"), "tp": ("int", 2), "pp": ("int", 2), "cp": ("int", 2),
        "dp": ("int", 4), "zero": ("int0", 1), "fsdp": ("bool", False), "ep": ("int", 1), "etp": ("int", 1)}),
    "memory.inference_memory": (lambda **kw: memory.inference_memory(kw.pop("spec", "llama3-8b"),
                                                                     kw.pop("accelerator", "MI300X"),
                                                                     kw.pop("context", 4096), **kw), {
        "spec": ("name", "llama3-70b"), "accelerator": ("name", "H100-SXM"), "context": ("int", 2048),
        "batch": ("int", 4), "gpus": ("int", 2), "precision": ("name", "fp8"), "kv_precision": ("name", "fp8"),
        "reserve_fraction": ("frac0_1", 0.2)}),
    "memory.max_inference_batch": (lambda **kw: memory.max_inference_batch(kw.pop("spec", "llama3-8b"),
                                                                           kw.pop("accelerator", "MI300X"),
                                                                           kw.pop("context", 4096), **kw), {
        "spec": ("name", "llama3-70b"), "accelerator": ("name", "H100-SXM"), "context": ("int", 2048),
        "gpus": ("int", 2), "precision": ("name", "fp8"), "kv_precision": ("name", "fp8"),
        "reserve_fraction": ("frac0_1", 0.2)}),

    "reliability.plan_run": (lambda **kw: reliability.plan_run(kw.pop("hardware", HW2), kw.pop("work_hours", 100.0),
                                                               **{"model": "llama3-8b", **kw}), {
        "hardware": ("skip", "a table: swept field by field in the field sweep"), "work_hours": ("num", 50.0),
        "checkpoint": ("skip", "a CheckpointSize or bytes: test_fuzz_inputs"), "model": ("name", "llama3-70b"),
        "optimizer": ("name", "adamw"), "save": ("name", "fully-parallel"), "storage": ("name", "shared-fs"),
        "mode": ("name", "sync"), "save_speedup": ("num", 2.0), "write_GBps_per_node": ("num", 5.0),
        "fixed_overhead_s": ("num0", 10.0), "calibration": ("name", "llama3"), "reading": ("name", "count"),
        "hbm_basis": ("name", "stack"), "early_deployment": ("num", 1.5), "multiplier": ("num", 2.0),
        "restart": ("name", "baseline"), "restart_s": ("num0", 600.0), "interval_s": ("num", 1800.0),
        "interval_method": ("name", "exact"), "radix": ("int", 64)}),
    "reliability.simulate": (lambda **kw: reliability.simulate(kw.pop("plan", _plan()), kw.pop("n_runs", 100), **kw), {
        "plan": ("skip", "a RunPlan: test_bad_inputs (simulate('plan'))"), "n_runs": ("int", 50),
        "seed": ("int0", 5), "method": ("name", "numba")}),
    "reliability.run_hours": (lambda **kw: reliability.run_hours(kw.pop("scenario", DENSE), kw.pop("tokens", 1e9)), {
        "scenario": ("scenario", "zaya1-ibm-mi300x"), "tokens": ("num", 2e9)}),
    "reliability.parameter": (lambda **kw: reliability.parameter(kw.pop("name", "early_deployment_factor")), {
        "name": ("name", "hpn_link_failures_per_month")}),
    "reliability.mtbi_hours": (lambda **kw: reliability.mtbi_hours(kw.pop("hardware", HW2), **kw), {
        "hardware": ("skip", "a table: swept field by field in the field sweep"), "calibration": ("name", "llama3"),
        "early_deployment": ("num", 1.5)}),
    "reliability.young_interval_s": (lambda **kw: reliability.young_interval_s(kw.pop("ckpt_s", 60.0),
                                                                               kw.pop("mtbi_s", 3600.0)), {
        "ckpt_s": ("num", 30.0), "mtbi_s": ("num", 7200.0)}),
    "reliability.daly_interval_s": (lambda **kw: reliability.daly_interval_s(kw.pop("ckpt_s", 60.0),
                                                                             kw.pop("mtbi_s", 3600.0)), {
        "ckpt_s": ("num", 30.0), "mtbi_s": ("num", 7200.0)}),
    "reliability.expected_wall_time_s": (lambda **kw: reliability.expected_wall_time_s(
        kw.pop("work_s", 3.6e5), kw.pop("interval_s", 1800.0), kw.pop("ckpt_s", 30.0),
        kw.pop("rates_per_s", [1e-5]), kw.pop("restart_s", [600.0]), **kw), {
        "work_s": ("num", 7.2e5), "interval_s": ("num", 900.0), "ckpt_s": ("num0", 60.0),
        "rates_per_s": ("floats0", [2e-5]), "restart_s": ("floats0", [300.0]), "background_s": ("num0", 10.0)}),
    "reliability.optimal_interval_s": (lambda **kw: reliability.optimal_interval_s(
        kw.pop("work_s", 3.6e5), kw.pop("ckpt_s", 30.0), kw.pop("rates_per_s", [1e-5]), kw.pop("restart_s", [600.0]),
        **kw), {
        "work_s": ("num", 7.2e5), "ckpt_s": ("num0", 60.0), "rates_per_s": ("floats0", [2e-5]),
        "restart_s": ("floats0", [300.0]), "method": ("name", "young"), "min_interval_s": ("num0", 60.0),
        "background_s": ("num0", 10.0)}),

    "economics.cloud_price": (lambda **kw: economics.cloud_price(kw.pop("accelerator", "MI300X"), **kw), {
        "accelerator": ("name", "H100-SXM"), "term": ("name", "on-demand"), "statistic": ("name", "min")}),
    "economics.rented_gpu_hour_price": (lambda **kw: economics.rented_gpu_hour_price(kw.pop("accelerator", "MI300X"),
                                                                                     **kw), {
        "accelerator": ("name", "H100-SXM"), "term": ("name", "on-demand"), "statistic": ("name", "min"),
        "provider": ("skip", "a provider of the price table, with its own check: test_economics_analyst"),
        "matched_with": ("skip", "an accelerator whose providers to match: test_economics_analyst")}),
    "economics.owned_gpu_hour_price": (lambda **kw: economics.owned_gpu_hour_price(kw.pop("accelerator", "MI300X"),
                                                                                   **kw), {
        "accelerator": ("name", "H100-SXM")}),
    "economics.owned_gpu_hour_quote": (lambda **kw: economics.owned_gpu_hour_quote(kw.pop("accelerator", "MI300X"),
                                                                                   **{"n": 200, **kw}), {
        "accelerator": ("name", "H100-SXM"), "price": ("num", 20000.0), "basis": ("name", "baseboard"),
        "n": ("int", 300), "seed": ("int0", 7), "fixed": ("params", {"utilization": 0.7}),
        "tdp_W": ("num", 800.0), "scale": ("skip", "a table of scale factors: test_economics_inputs")}),
    "economics.owned_cost_per_gpu_hour": (lambda **kw: economics.owned_cost_per_gpu_hour(
        kw.pop("accelerator", "MI300X"), **{"depreciation": "exponential", **kw,
                                            **({"hardware": HW2} if "radix" in kw else {})}), {
        "accelerator": ("name", "H100-SXM"), "depreciation": ("name", "exponential"), "network": ("name", "per-port"),
        "age_years": ("num0", 1.0), "hardware": ("skip", "a table: the field sweep"), "radix": ("int", 64),
        "utilization": ("frac1", 0.7), "life_years": ("num", 4.0)}),
    "economics.provider_view": (lambda **kw: economics.provider_view(kw.pop("price_usd_per_gpu_hour", 2.0),
                                                                     kw.pop("utilization", 0.8), **kw), {
        "price_usd_per_gpu_hour": ("num", 2.5), "utilization": ("frac1", 0.7), "accelerator": ("name", "H100-SXM"),
        "path": ("name", "flat"), "years": ("num", 4.0), "market_price_usd_per_gpu_hour": ("num", 2.0),
        "value_curve": ("name", "exponential"), "premium": ("num0", 0.1), "retire": ("name", "when_unprofitable")}),
    "economics.tco": (lambda **kw: economics.tco(kw.pop("n_gpus", None if "radix" in kw else 1024), kw.pop("years", 4.0),
                                                 **{**kw, **({"hardware": HW2} if "radix" in kw else {})}), {
        "hardware": ("skip", "a table: the field sweep"), "radix": ("int", 64), "n_gpus": ("int", 512), "years": ("num", 3.0), "utilization": ("frac1", 0.7),
        "accelerator": ("name", "H100-SXM"), "depreciation": ("name", "straight-line"),
        "network": ("name", "per-port"), "value_curve": ("name", "exponential"), "replace_at_life": ("bool", True)}),
    "economics.rent_vs_own": (lambda **kw: economics.rent_vs_own(kw.pop("price_usd_per_gpu_hour", 2.0), **kw), {
        "price_usd_per_gpu_hour": ("num", 2.5), "accelerator": ("name", "H100-SXM"), "committed": ("bool", True),
        "depreciation": ("name", "exponential"), "network": ("name", "per-port")}),
    "economics.break_even_utilization": (lambda **kw: economics.break_even_utilization(
        kw.pop("rental_usd_per_gpu_hour", 2.0), **kw), {
        "rental_usd_per_gpu_hour": ("num", 2.5), "accelerator": ("name", "H100-SXM"),
        "depreciation": ("name", "exponential"), "network": ("name", "per-port")}),
    "economics.band": (lambda **kw: economics.band(kw.pop("samples", [1.0, 2.0, 3.0])), {
        "samples": ("floats0", [1.0, 2.0, 4.0])}),
    "economics.sample_parameters": (lambda **kw: economics.sample_parameters(kw.pop("n", 100), kw.pop("seed", 0), **kw), {
        "n": ("int", 50), "seed": ("int0", 3), "accelerator": ("name", "H100-SXM"),
        "names": ("names", ["pue", "utilization"]), "distribution": ("name", "lognormal"),
        "fixed": ("params", {"utilization": 0.7})}),
    "economics.monte_carlo_owned_cost": (lambda **kw: economics.monte_carlo_owned_cost(
        kw.pop("n", 200), **{"accelerator": "MI300X", **kw, **({"hardware": HW2} if "radix" in kw else {})}), {
        "n": ("int", 300), "seed": ("int0", 3), "accelerator": ("name", "H100-SXM"),
        "depreciation": ("name", "exponential"), "network": ("name", "per-port"),
        "distribution": ("name", "lognormal"), "fixed": ("params", {"utilization": 0.7}),
        "age_years": ("skip", "only with depreciation = 'exponential': economics.owned_cost_per_gpu_hour"),
        "backend": ("name", "reference"), "hardware": ("skip", "a table: the field sweep"), "radix": ("int", 64)}),
    "economics.deal_pnl": (lambda **kw: economics.deal_pnl(kw.pop("final_run_gpu_hours", 1e6), **{"n": 200, **kw}), {
        "final_run_gpu_hours": ("num", 2e6), "accelerator": ("name", "MI300X"), "goodput": ("frac1", 0.9),
        "n_gpus": ("int", 512), "nodes": ("int", 64), "years": ("num", 3.0), "path": ("name", "flat"),
        "overrides": ("params", {"utilization": 0.7}), "n": ("int", 300), "seed": ("int0", 3),
        "retire": ("name", "when_unprofitable"), "hardware": ("skip", "a table: the field sweep"),
        "radix": ("int", 64)}),
    "economics.owned_inputs": (lambda **kw: economics.owned_inputs(**{"accelerator": "MI300X", **kw,
                                                                     **({"hardware": HW2} if "radix" in kw else {})}), {
        "accelerator": ("name", "H100-SXM"), "overrides": ("params", {"utilization": 0.7}),
        "hardware": ("skip", "a table: the field sweep"), "radix": ("int", 64)}),
    "reliability.scale_hardware": (lambda **kw: reliability.scale_hardware(kw.pop("hardware", HW2), kw.pop("gpus", 64)), {
        "hardware": ("skip", "a table: the field sweep"), "gpus": ("int", 128)}),
    "reliability.class_shares": (lambda **kw: reliability.class_shares(**kw), {"reading": ("name", "count")}),
    "reliability.composition": (lambda **kw: reliability.composition(kw.pop("hardware", HW2), **kw), {
        "hardware": ("skip", "a table: the field sweep"), "radix": ("int", 64)}),
    "reliability.market_price_usd_per_gpu_hour": (lambda **kw: reliability.market_price_usd_per_gpu_hour(**kw), {
        "accelerator": ("name", "H100-SXM"), "term": ("name", "on-demand")}),
    "economics.run_cost": (lambda **kw: economics.run_cost(**{"gpu_hours": 10.0, "price_usd_per_gpu_hour": 2.0,
                                                             **kw}), {
        "estimate": ("skip", "an Estimate: test_user_pass_pricing_precisions"), "gpu_hours": ("num", 20.0),
        "price_usd_per_gpu_hour": ("num", 2.5), "tokens": ("num", 1e9), "flop": ("skip", "with accelerator and mfu"),
        "accelerator": ("skip", "with flop and mfu"), "mfu": ("skip", "with flop and accelerator"),
        "software_efficiency": ("num", 1.0), "precision": ("skip", "with flop and accelerator"),
        "n_gpus": ("int", 8)}),
}


# classes of a kind that a keyword admits, with the reason (everything else of its kind is refused)
ADMITTED = {
    ("il.search", "top"): ("huge int", "more rows than any search has: all of them, as top=None"),
    ("il.serve_search", "top"): ("huge int", "1e30", "all rows, as top=None"),
    ("il.search", "pp_schedules"): ("list", "1-d numpy array", "a list of schedule names"),
    ("il.search", "zero"): ("list", "1-d numpy array", "a constraint is a value or a list of values"),
    ("il.search", "recompute"): ("list", "a constraint is a value or a list of values"),
    ("memory.largest_model", "accelerators"): ("list", "a list of accelerator names"),
    ("il.serve_search", "max_tpot_s"): ("1e30", "a bound no configuration reaches: no bound"),
    ("il.serve_search", "max_ttft_s"): ("1e30", "a bound no configuration reaches: no bound"),
    ("il.serve_search", "min_tokens_per_s_per_user"): ("1e30", "an empty result, with EmptyResultWarning saying why"),
    ("il.sweep", "seed"): ("huge int", "any seed of Python's unbounded integers (hashed to the points' seeds)"),
    ("il.sweep", "chunk_size"): ("huge int", "one chunk"),
    # the closed forms of the reliability model take any finite time; an infinite answer means
    # "the run never completes" (documented)
    ("reliability.young_interval_s", "ckpt_s"): ("1e30", "a closed form of finite inputs"),
    ("reliability.young_interval_s", "mtbi_s"): ("1e30", "a closed form of finite inputs"),
    ("reliability.daly_interval_s", "ckpt_s"): ("1e30", "a closed form of finite inputs"),
    ("reliability.daly_interval_s", "mtbi_s"): ("1e30", "a closed form of finite inputs"),
    ("reliability.expected_wall_time_s", "interval_s"): ("1e30", "one segment holds the whole run"),
    ("reliability.expected_wall_time_s", "ckpt_s"): ("1e30", "never completes: inf, documented"),
    ("reliability.expected_wall_time_s", "rates_per_s"): ("1e30", "never completes: inf, documented"),
    ("reliability.expected_wall_time_s", "restart_s"): ("1e30", "never completes: inf, documented"),
    ("reliability.expected_wall_time_s", "background_s"): ("1e30", "never completes: inf, documented"),
    ("reliability.optimal_interval_s", "work_s"): ("1e30", "a closed form of finite inputs"),
    ("reliability.optimal_interval_s", "ckpt_s"): ("1e30", "a closed form of finite inputs"),
    ("reliability.optimal_interval_s", "rates_per_s"): ("1e30", "a closed form of finite inputs"),
    ("reliability.optimal_interval_s", "restart_s"): ("1e30", "a closed form of finite inputs"),
    ("reliability.optimal_interval_s", "min_interval_s"): ("1e30", "a closed form of finite inputs"),
    ("economics.band", "samples"): ("negative", "1e30", "any finite samples (an NPV may be negative)"),
    ("reliability.run_hours", "tokens"): ("1e30", "hours of a closed form (tokens / throughput)"),
    ("reliability.optimal_interval_s", "background_s"): ("1e30", "a closed form of finite inputs"),
    ("reliability.plan_run", "save_speedup"): ("1e30", "a faster save: the write time tends to the fixed costs"),
    ("reliability.plan_run", "write_GBps_per_node"): ("1e30", "a faster store: the write time tends to the fixed "
                                                      "costs"),
    ("reliability.plan_run", "fixed_overhead_s"): ("1e30", "never completes: an infinite wall time, documented"),
    ("reliability.plan_run", "restart_s"): ("1e30", "never completes: an infinite wall time, documented"),
    ("reliability.plan_run", "interval_s"): ("1e30", "one segment holds the whole run (test_fuzz_inputs)"),
    ("reliability.plan_run", "multiplier"): ("zero", "dict", "0: no failures (MTBI infinite); a dict of factors per "
                                             "component class is the other form"),
    ("economics.provider_view", "premium"): ("negative float", "a discount: premium takes -0.99 .. 20"),
}
# other names a message may use for a keyword (a model given by name is a "preset")
ALSO = {"spec": ("preset",), "accelerators": ("accelerator",), "presets": ("preset",), "name": ("parameter",),
        "names": ("parameter",),
        "scenario": ("scenario", "[model]", "model.")}


def _params(fn) -> list[str]:
    return [p.name for p in inspect.signature(fn).parameters.values()
            if p.kind not in (inspect.Parameter.VAR_KEYWORD, inspect.Parameter.VAR_POSITIONAL)]


def _target(name: str):
    mod, _, attr = name.partition(".")
    return getattr(il, attr) if mod == "il" else getattr(getattr(il, mod), attr)


def test_every_keyword_has_a_kind():
    """A parameter added to one of these calls must be added here, so that the sweep reaches it."""
    missing = [f"{name}({p})" for name, (_, kinds) in CALLS.items() for p in _params(_target(name)) if p not in kinds]
    assert not missing, f"parameters without a kind in this sweep: {missing}"


def keyword_bad_values(kind: str, good) -> list[tuple[str, object]]:
    if kind == "frac1":      # a share in (0, 1]
        return [*bad_values("frac", good), ("zero", 0)]
    if kind == "frac0_1":    # a share in [0, 1)
        return [*bad_values("frac", good), ("one", 1.0)]
    if kind in ("params", "serve_params"):
        (k, v), = good.items()
        return [("number", 3), ("list", [k]), ("string", k), ("misspelt key", {k + "x": v}),
                ("NaN value", {k: float("nan")}), ("string value", {k: str(v)}), ("negative value", {k: -1.0}),
                ("1e30 value", {k: 1e30}), ("bool value", {k: True})]
    if kind == "scenario":
        return [("number", 3), ("bool", True), ("list", [good]), ("empty string", ""),
                ("misspelt", good + "x"), ("empty dict", {})]
    if kind == "ints":
        return [("number alone", good[0]), ("string", "8"), ("empty list", []), ("NaN", [float("nan")]),
                ("negative", [-8]), ("zero", [0]), ("non-integer", [2.5]), ("bool", [True]), ("1e30", [1e30]),
                ("dict", {"value": good[0]})]
    if kind == "floats0":
        return [("string", "1"), ("strings", ["1"]), ("NaN", [float("nan")]), ("+inf", [float("inf")]),
                ("negative", [-1.0]), ("bool", [True]), ("dict", {"value": good[0]}), ("1e30", [1e30])]
    if kind == "names" and isinstance(good, list):
        return bad_values("names", good)
    return bad_values(kind, good)


def keyword_numpy_values(kind: str, good) -> list[tuple[str, object]]:
    if kind in ("frac1", "frac0_1"):
        return numpy_values("frac", good)
    if kind in ("params", "serve_params"):
        (k, v), = good.items()
        return [("np.float64 value", {k: np.float64(v)})]
    if kind == "ints":
        return [("numpy array", np.array(good)), ("np.int64 items", [np.int64(x) for x in good])]
    if kind == "floats0":
        return [("numpy array", np.array(good))]
    return numpy_values(kind, good)


def _answer(r):
    """What a call returned, comparable across calls (a frame's rows, a dataclass's fields)."""
    if isinstance(r, pl.DataFrame):
        return r.to_dicts()
    if hasattr(r, "__dataclass_fields__"):
        return {k: getattr(r, k) for k in r.__dataclass_fields__}
    return r


def _finite_problems(r) -> list[str]:
    vals = _answer(r)
    if isinstance(vals, dict):
        items = vals.items()
    elif isinstance(vals, (int, float)):
        items = [("result", vals)]
    else:
        return []
    out = []
    for k, v in items:
        if isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool):
            if math.isnan(v) or (math.isinf(v) and not k.startswith("break_even")):
                out.append(f"{k} = {v!r}")
            elif v < 0 and k.endswith(TIMES_AND_COSTS):
                out.append(f"{k} = {v!r}: a negative time, size or cost")
    return out


TIMES_AND_COSTS = ("_s", "_bytes", "_hours", "usd", "_usd_per_gpu_hour", "result")
"""Result fields that are never negative (times, sizes, costs; a bare number returned)."""


def _call(fn, kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fn(**kw)


def sweep_call(name: str, only: str | None = None) -> list[str]:
    fn, kinds = CALLS[name]
    problems: list[str] = []
    for key, (kind, good) in kinds.items():
        if kind == "skip" or (only and key != only):
            continue
        admitted = ADMITTED.get((name, key), ())
        for cls, v in keyword_bad_values(kind, good):
            if cls in admitted:
                continue
            try:
                r = _call(fn, {key: v})
            except Exception as e:  # noqa: BLE001  (anything but the package's error is a finding)
                near = good if cls == "misspelt" else None
                if isinstance(near, list):
                    near = near[0]
                field = {"params": "", "serve_params": ""}.get(kind, key)   # a factor's own name suffices
                problems += [f"{key} {cls} {v!r:.50}: {p}"
                             for p in message_problems(e, field, v, nearest=near, also=ALSO.get(key, ()))
                             if not (kind in ("params", "serve_params") and "does not repeat" in p)]
                continue
            problems.append(f"{key} {cls} {v!r:.50}: accepted ({_finite_problems(r) or 'a finite result'})")
        for cls, v in keyword_numpy_values(kind, good):
            try:
                want = _answer(_call(fn, {key: good}))
            except InfraLabError as e:
                problems.append(f"{key}: the valid value {good!r} is refused (fix the sweep's call): {e}")
                break
            try:
                got = _answer(_call(fn, {key: v}))
            except Exception as e:  # noqa: BLE001
                problems.append(f"{key} {cls} {v!r:.50} refused: {type(e).__name__}: {str(e)[:200]}")
                continue
            if isinstance(v, np.float32):
                continue    # float32 holds another number than good; accepted is what is checked
            try:
                same = bool(got == want)
            except (TypeError, ValueError):   # arrays or frames inside: compare their text, a name
                same = re.sub(r"np\.str_\(('[^']*')\)", r"\1", repr(got)) == repr(want)   # kept as given
            if not same:
                problems.append(f"{key} {cls} {v!r:.50}: a different answer than {good!r}")
    return problems


@pytest.mark.parametrize("name", sorted(CALLS))
def test_bad_keyword_values(name):
    with budget():
        problems = sweep_call(name)
    assert not problems, f"{name}:\n" + "\n".join(problems)


# ------------------------------------------------------------------ the command line
CLI_BASE = {
    "estimate": ["estimate", "zaya1-ibm-mi300x"],
    "search": ["search", "zaya1-ibm-mi300x", "--top", "2"],
    "collective": ["collective", "all_reduce", "1MiB", "--gpus", "8", "--accelerator", "MI300X"],
    "serve": ["serve", "maia-class-serving-mi300x"],
    "sweep": None,       # its options need a grid file: test_fuzz_inputs and test_cli
    "largest": ["largest", "zaya1-ibm-mi300x", "--accelerators", "MI300X"],
    "validate": ["validate", "collectives"],
    "scenarios": ["scenarios"],
    "catalog": ["catalog", "accelerators"],
}
CLI_BAD = ("abc", "nan", "inf", "-1", "1e30", "", "2.5x")
CLI_SLOW = {"--search", "--search-plans", "--all"}   # flags, not values


def _value_options() -> list[tuple[str, str]]:
    parser = cli.build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    out = []
    for cmd, sp in sub.choices.items():
        for a in sp._actions:
            if not a.option_strings or a.nargs == 0 or a.dest in ("help", "format"):
                continue
            out.append((cmd, a.option_strings[-1]))
    return out


def test_every_command_has_a_base():
    cmds = {c for c, _ in _value_options()}
    assert cmds <= set(CLI_BASE), f"commands without a base call in this sweep: {sorted(cmds - set(CLI_BASE))}"


@pytest.mark.parametrize("cmd,option", [o for o in _value_options() if CLI_BASE.get(o[0])],
                         ids=[f"{c}{o}" for c, o in _value_options() if CLI_BASE.get(c)])
def test_cli_bad_option_values(cmd, option, capsys):
    problems = []
    opt = option.lstrip("-").lower()   # named as the option, its key, or the name it takes (--nic: "NIC")
    for v in CLI_BAD:
        argv = [*CLI_BASE[cmd], f"{option}={v}"]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                rc = cli.main(argv)
            except SystemExit as e:       # argparse's usage errors
                rc = e.code
        out = capsys.readouterr()
        err = out.err.strip()
        if rc == 0:
            if v not in ("", "abc", "2.5x") and ("nan" in out.out.lower() or " inf" in out.out.lower()):
                problems.append(f"{option}={v!r}: exit 0 with NaN/inf in the output")
            continue    # a value the option takes (a name, a number it admits)
        if rc not in (1, 2):
            problems.append(f"{option}={v!r}: exit {rc}: {err[-300:]}")
        elif "Traceback" in err:
            problems.append(f"{option}={v!r}: a traceback")
        elif rc == 1 and len(err.splitlines()) != 1:
            problems.append(f"{option}={v!r}: {len(err.splitlines())} lines: {err[:300]}")
        elif not any(n in err.lower() for n in (opt, opt.replace("-", "_"), opt.rstrip("s"))):
            problems.append(f"{option}={v!r}: message does not name the option: {err[-300:]}")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("option,refused", [("--weight-bytes", True), ("--activation-bytes", True),
                                            ("--grad-bytes", False), ("--optimizer-state-bytes", False),
                                            ("--reserve-fraction", False)])
def test_largest_zero_bytes_refused_where_a_training_run_needs_them(option, refused, capsys):
    """0 working-weight bytes or 0 activation bytes is no training run (refused, naming the
    option and the allowed range); 0 gradient bytes (a frozen model), 0 optimizer-state bytes
    (plain SGD) and no allocator reserve are meaningful and accepted."""
    rc = cli.main([*CLI_BASE["largest"], "--by", "presets", option, "0"])
    err = capsys.readouterr().err.strip()
    if refused:
        assert rc == 1 and len(err.splitlines()) == 1, err
        assert option in err and "0 < x <= 16" in err, err
    else:
        assert rc == 0, err
