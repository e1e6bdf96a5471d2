"""The memory model against published per-GPU memory and ran / out-of-memory outcomes
(``data/measurements/training_memory.csv``): ``memory_measurements``, the counters and logging
ranks a row may name (``MEMORY_COUNTERS``, ``MEMORY_COUNTERS_COMPARED``, ``MEMORY_RANKS``) and
``memory_check``."""

from __future__ import annotations

import functools

import polars as pl

from .. import memory
from ..errors import ValidationError
from ._common import MEASUREMENT_DIR, _status
from .runs import _setting, current_runs, scenario_for_run

MEMORY_FILE = "training_memory.csv"


@functools.cache
def memory_measurements() -> pl.DataFrame:
    """Published per-GPU memory and ran / out-of-memory facts
    (``data/measurements/training_memory.csv``)."""
    df = pl.read_csv(MEASUREMENT_DIR / MEMORY_FILE, infer_schema_length=0)
    bad = df.filter(pl.col("source_url").is_null() | ~pl.col("source_url").str.starts_with("http"))
    if bad.height:
        raise ValidationError(f"data/measurements/{MEMORY_FILE}: rows without a source_url: {bad['id'].to_list()}")
    return df


MEMORY_COUNTERS = ("reserved", "device_used", "allocated", "unknown")
"""Values of ``memory_counter`` in ``data/measurements/training_memory.csv``: ``reserved`` = the
PyTorch caching allocator's peak reserved bytes (torchtitan's logged memory); ``device_used`` =
the device's used memory, ``torch.cuda.mem_get_info`` total − free (the allocator's reserve plus
everything outside it: HIP/CUDA context, communicator buffers; Primus' "hip mem usage");
``allocated``; ``unknown`` (an empty cell reads as unknown)."""

MEMORY_COUNTERS_COMPARED = ("reserved", "device_used")
"""Counters :func:`memory_check` compares a published peak with (``allocated`` has no row yet)."""

MEMORY_RANKS = tuple(r for r in memory.PIPELINE_RANKS if r != "most_loaded")
"""Values of a memory row's ``memory_rank`` setting: the pipeline rank that logged the figure
(:data:`infra_lab.memory.PIPELINE_RANKS` less the default); absent = the most loaded rank (or all
ranks' maximum)."""


def memory_check() -> pl.DataFrame:
    """The memory model against published memory: per row, the predicted per-GPU total
    (:func:`infra_lab.memory.training_memory`, the step model's formula, allocator reserve
    included) vs the published peak *reserved* memory where there is one, and the predicted
    fit vs the published outcome (ran / oom / ran_with_offload) on the device the run used.

    A published peak *reserved* counter (PyTorch's ``torch.cuda.memory_stats``
    ``reserved_bytes.all.peak``, what torchtitan logs) counts only what the caching allocator
    holds, so it is compared with the predicted total less the stack's
    ``memory_reserve_bytes`` (the CUDA/HIP context and communicator buffers outside the
    allocator). A published *device_used* counter (``torch.cuda.mem_get_info``'s total − free,
    what Primus' Megatron trainer logs as "hip mem usage") counts everything on the device —
    the allocator's reserve and the memory outside it — so it is compared with the whole
    predicted total. A row whose figure one pipeline rank logged names it in its settings
    (``memory_rank=last``: Megatron's ``print_rank_last``; ``memory_rank=first``), and is
    compared with that rank's memory (:data:`infra_lab.memory.PIPELINE_RANKS`); without it, with
    the most loaded rank. The fit is always judged on the most loaded rank's whole total against the memory the device's driver
    exposes (:attr:`infra_lab.catalog.Accelerator.memory_capacity_bytes`). ``ran_with_offload``
    rows are runs whose source says they need activation offloading: with the published
    offload modules (``training.offload_modules``, read from the settings) the run must fit,
    and without them it must not — both are checked (``agrees``).

    Returns
    -------
    polars.DataFrame
        id, accelerator, outcome, device_memory_GB, memory_counter, compared_rank ("most_loaded",
        "first" or "last"), predicted_GiB (total of the most loaded rank, with the run's
        offloading), predicted_compared_GiB (the compared rank's memory in the published counter's
        terms), published_GiB, error_pct (predicted_compared_GiB/published − 1) [%],
        predicted_fits, agrees (ran → fits; oom → does not fit; ran_with_offload → fits with
        the published offloading and does not fit without it), status ("compared" or why not)
    """
    runs = {r["id"]: r for r in current_runs().iter_rows(named=True)}
    out = []
    for r in memory_measurements().iter_rows(named=True):
        base = {"id": r["id"], "accelerator": r["accelerator"], "outcome": r["outcome"],
                "device_memory_GB": float(r["device_memory_GB"]) if r.get("device_memory_GB") else None}
        row = dict(runs.get(r.get("run_id") or "", {}))
        for k, v in r.items():       # the memory row's own configuration wins where it has one
            if v not in (None, "") or k not in row:
                row[k] = v
        row.setdefault("value", None)
        counter = r.get("memory_counter") or "unknown"
        if counter not in MEMORY_COUNTERS:
            raise ValidationError(f"{r['id']}: memory_counter = {counter!r}: allowed "
                                  f"{', '.join(repr(x) for x in MEMORY_COUNTERS)}")
        rank = _setting(r, "memory_rank")
        rank = None if rank is None else rank.strip().lower()
        if rank is not None and rank not in MEMORY_RANKS:
            raise ValidationError(f"{r['id']}: settings memory_rank = {rank!r}: allowed "
                                  f"{', '.join(repr(x) for x in MEMORY_RANKS)} (omit it for the most loaded rank)")
        base["memory_counter"] = counter
        base["compared_rank"] = rank or "most_loaded"
        try:
            sc, _ = scenario_for_run(row)
            total = memory.training_memory_total(sc)
            # the memory of the rank that logged the published figure (the most loaded one by default)
            logged = memory.training_memory_total(sc, pipeline_rank=rank) if rank else total
        except (ValidationError, KeyError, TypeError) as e:
            out.append({**base, "predicted_GiB": None, "predicted_compared_GiB": None, "published_GiB": None,
                        "error_pct": None,
                        "predicted_fits": None, "agrees": None, "status": _status(e, 100, r["id"])})
            continue
        # the run's device as the catalog has it (variant-aware), at the memory its driver exposes
        cap = sc.hardware.accelerator_spec.memory_capacity_bytes
        fits = total <= cap
        pub = float(r["peak_memory_GiB"]) if r.get("peak_memory_GiB") and counter in MEMORY_COUNTERS_COMPARED else None
        from .. import stacks

        # the allocator's 'reserved' counter excludes the memory outside it; the device's used
        # memory (mem_get_info) includes it
        outside = stacks.params(sc.stack)["memory_reserve_bytes"] if counter == "reserved" else 0.0
        err = 100.0 * ((logged - outside) / 2**30 / pub - 1.0) if pub else None
        if r["outcome"] == "ran_with_offload":
            bare = sc.replace(training={"offload_modules": None})
            agrees = fits and not memory.training_memory_total(bare) <= cap
        else:
            agrees = fits == (r["outcome"] == "ran")
        out.append({**base, "predicted_GiB": total / 2**30,
                    "predicted_compared_GiB": (logged - outside) / 2**30 if pub else None,
                    "published_GiB": pub, "error_pct": err,
                    "predicted_fits": fits, "agrees": agrees, "status": "compared"})
    return pl.DataFrame(out, infer_schema_length=None)
