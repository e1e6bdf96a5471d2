"""Leave-one-source-out check of the current-run model (``leave_one_source_out``,
``loso_summary``): every run of one source (one publisher's stack and sweep, :func:`source_of`)
predicted with the family factors refitted without that source's train runs.

The train/test split of the current runs is by a hash of the run id, so the runs of one source
sit on both sides of it: a test run shares its source's unstated settings, software versions
and systematic offsets with train runs that set the fitted factors. Holding a whole source out
answers a harder question: how wrong is the model on a setup that no fit has seen?"""

from __future__ import annotations

import numpy as np
import polars as pl

from ..errors import ValidationError
from .calibration import (
    CURRENT_FITTED,
    EP_OVERLAP_FAMILY,
    _calibrate_current,
    _ep_overlap_runs,
    _ep_overlap_search,
    _family_fit_runs,
    _without_sources,
)
from .comparison import _current_frame
from .host_sync import (
    MOE_HOST_SYNC_RUNS,
    MOE_HOST_SYNC_STRUCTURE,
    MOE_HOST_SYNC_STRUCTURES,
    _host_sync_minimax,
    _host_sync_runs,
)
from .pairs import EAGER_PAIR, TP_ASYNC_PAIR, ZERO3_OVERLAP_PAIR
from .runs import (
    FAMILIES,
    _measured_tokens_per_gpu,
    _source_names,
    current_runs,
    current_sources,
    scenario_for_run,
    source_of,
)

LOSO_REFITTED_CONSTANTS = ("ep_comm_overlap", "moe_host_sync_slowdown")
"""Constants fitted on specific train runs that :func:`leave_one_source_out` refits without the
held-out source, at the family's held-out time scales, by their own procedure
(:func:`~infra_lab.validation.ep_overlap_fit`'s search; the minimax of
:func:`~infra_lab.validation.moe_host_sync_derivation`). A constant whose train runs all belong
to the held-out source cannot be refitted: it keeps its shipped value and the source is flagged."""

LOSO_FIXED_CONSTANTS = ("tp_async_comm_overlap", "eager_memory_factor", "zero3_comm_overlap",
                        "moe_host_sync structure")
"""What :func:`leave_one_source_out` keeps at its shipped value, though it was set on specific
train runs: torchtitan's three pair-derived factors (:data:`TP_ASYNC_PAIR`, :data:`EAGER_PAIR`,
:data:`ZERO3_OVERLAP_PAIR`: each is one pair of runs of one source, so without that source there
is nothing to derive them from) and the host-bound MoE path's structure, chosen on
:data:`MOE_HOST_SYNC_RUNS` (:func:`~infra_lab.validation.moe_host_sync_structures`). A source
whose runs set one of them is flagged (``fixed_on_source``): its held-out errors are optimistic
by whatever those runs taught the constant."""


def _constant_sources(ep_all: list | None = None) -> dict[str, set[str]]:
    """{constant: the sources of the train runs it is fitted, derived or chosen on}
    (``ep_all``: :func:`_ep_overlap_runs` when the caller has it; None: built here)."""
    return {
        "ep_comm_overlap": {source_of(rid) for rid, _, _ in (_ep_overlap_runs() if ep_all is None else ep_all)},
        "moe_host_sync_slowdown": {source_of(r) for r in MOE_HOST_SYNC_RUNS},
        "tp_async_comm_overlap": {source_of(r) for r in TP_ASYNC_PAIR},
        "eager_memory_factor": {source_of(r) for r in EAGER_PAIR},
        "zero3_comm_overlap": {source_of(r) for r in ZERO3_OVERLAP_PAIR},
        "moe_host_sync structure": {source_of(r) for r in MOE_HOST_SYNC_RUNS},
    }


def _priced_with_ep_overlap(sc) -> bool:
    """The run's dispatch overlap is the stacks' ``ep_comm_overlap`` (Megatron's 1F1B all-to-all
    overlap; DualPipe runs take ``dualpipe_ep_comm_overlap``)."""
    return bool(sc.parallelism.ep_overlap and not sc.parallelism.dualpipe and sc.model_spec.experts)


def _host_bound(sc) -> bool:
    """The run carries the stacks' ``moe_host_sync_slowdown`` (``training.moe_host_sync``)."""
    return bool(sc.training.moe_host_sync and sc.model_spec.experts)


def _held_out_params(source: str, fit_runs: dict, owners: dict[str, set[str]], memo: dict,
                     needs: frozenset[str] = frozenset(LOSO_REFITTED_CONSTANTS),
                     ep_all: list | None = None) -> tuple[dict, list[str]]:
    """({family: stack overrides} refitted without ``source``, [constants set on the source's
    runs that keep their shipped value]). A family absent from the dict keeps its shipped
    factors: the source has no run in its fit or in its refitted constants. Of
    :data:`LOSO_REFITTED_CONSTANTS` only ``needs`` are refitted (those that price one of the
    source's runs; the others change no prediction of it). ``fit_runs``: :func:`_family_fit_runs`
    of every source; ``ep_all``: :func:`_ep_overlap_runs` of every source (None: built here); the
    fits drop the source's runs from both rather than rebuild them (the same lists)."""
    held = frozenset({source})
    ep_all = _ep_overlap_runs() if ep_all is None else ep_all
    fams = [f for f in FAMILIES if any(source_of(rid) == source for rid, _, _ in fit_runs[f])]
    params: dict[str, dict] = {}
    fixed = [c for c in LOSO_FIXED_CONSTANTS if source in owners[c]]
    if fams:
        refit = _calibrate_current(held, families=fams, memo=memo, fit_runs=fit_runs)
        for f in fams:
            if f in refit:
                params[f] = {k: refit[f][k] for k in CURRENT_FITTED}
            else:                                 # the source is the family's only train data
                fixed += list(CURRENT_FITTED)
    if "ep_comm_overlap" in needs and source in owners["ep_comm_overlap"] and not _without_sources(ep_all, held):
        fixed.append("ep_comm_overlap")       # every run it is fitted on is the source's
    if "moe_host_sync_slowdown" in needs and all(source_of(r) == source for r in MOE_HOST_SYNC_RUNS):
        fixed.append("moe_host_sync_slowdown")
    touched = EP_OVERLAP_FAMILY in params or any(source in owners[c] for c in LOSO_REFITTED_CONSTANTS)
    if touched:
        base = dict(params.get(EP_OVERLAP_FAMILY, {}))
        ep_runs = _without_sources(ep_all, held)
        if "ep_comm_overlap" in needs and ep_runs:
            base["ep_comm_overlap"], _ = _ep_overlap_search(ep_runs, 0.01, base)
        host_ids = [r for r in MOE_HOST_SYNC_RUNS if source_of(r) != source]
        names = MOE_HOST_SYNC_STRUCTURES[MOE_HOST_SYNC_STRUCTURE]
        if "moe_host_sync_slowdown" in needs and host_ids:
            base.update(zip(names, _host_sync_minimax(_host_sync_runs(host_ids), names, base), strict=True))
        if base:
            params[EP_OVERLAP_FAMILY] = base
    return params, fixed


def leave_one_source_out(sources=None, current: pl.DataFrame | None = None) -> pl.DataFrame:
    """Leave-one-source-out errors of the compared current runs.

    For each source (:func:`~infra_lab.validation.current_sources`; ``sources``: one name, a list,
    or None for all), the family time scales (:data:`CURRENT_FITTED`) are refitted by
    :func:`~infra_lab.validation.calibrate_current`'s procedure without the source's train runs
    (only the families the source has runs in; the others keep their factors: nothing of the
    source fed them). Then, at the refitted Megatron-Core factors and without the source's runs,
    the constants of :data:`LOSO_REFITTED_CONSTANTS` are refitted by their own procedures
    (``ep_comm_overlap`` and ``moe_host_sync_slowdown``, one pass, as the shipped fit does;
    only where one of the source's runs is priced with it: elsewhere it changes no prediction).
    Every compared run of the source, train and test split alike, is then predicted with these
    held-out values. In-sample errors are those of :func:`~infra_lab.validation.compare_current`
    (the shipped factors, fitted with the source).

    NOT refitted (:data:`LOSO_FIXED_CONSTANTS`): torchtitan's pair-derived factors
    (``tp_async_comm_overlap``, ``eager_memory_factor``, ``zero3_comm_overlap``, each from one pair
    of one source's runs; nor are they re-derived at another source's refitted torchtitan factors,
    a second-order effect, since the ratios cancel the time scales to first order) and the
    host-bound MoE path's structure. A constant whose every train run belongs to the source
    (``ep_comm_overlap`` without the Model Zoo) keeps its shipped value. Each such constant set on
    the source's runs is named in ``fixed_on_source`` and the row is flagged ``optimistic``.

    APPROXIMATE, and optimistic beyond the flags: the model's mechanisms, the kernel fits (on
    ``data/compute_measurements.csv``, not on training runs), the run readers' defaults and the
    choice of which mechanisms to price were made by people who had seen every train run; only
    the fitted numbers are held out here. The refit is one pass (the shipped fit-derive loop is
    iterated to agreement within 2·10⁻³).

    Parameters
    ----------
    sources : None (every source), a source name or a list of them; an unknown name is refused
        with the nearest names
    current : a :func:`~infra_lab.validation.compare_current` frame with the shipped factors
        (computed if None)

    Returns
    -------
    polars.DataFrame
        one row per compared run of the sources: case (run id), source, split, kind (dense /
        moe), accelerator, family, in_sample_error_pct, held_out_error_pct (step-time error,
        predicted / measured − 1 [%]; negative = predicted too fast), held_out_framework_time_scale,
        held_out_memory_time_scale, held_out_ep_comm_overlap and held_out_moe_host_sync_slowdown
        (the values the held-out prediction used; the last two only for the runs they price:
        Megatron's 1F1B all-to-all overlap without DualPipe, a host-bound MoE path; null
        elsewhere), refitted (the family's factors were refitted without the source),
        fixed_on_source (constants set on the source's runs that were kept; "" when none),
        optimistic (fixed_on_source is not empty)
    """
    from .. import stacks
    from ..training import estimate

    names = _source_names(sources, "sources")
    names = current_sources() if names is None else names
    cur = _current_frame("current", current)
    c = cur.filter(pl.col("status") == "compared")
    rows = {r["id"]: r for r in current_runs().iter_rows(named=True)}
    fit_runs = _family_fit_runs()
    ep_all = _ep_overlap_runs()
    owners = _constant_sources(ep_all)
    memo: dict = {}
    out = []
    for src in names:
        mine = c.filter(pl.col("id").map_elements(source_of, return_dtype=pl.String) == src)
        scs = {rid: scenario_for_run(rows[rid])[0] for rid in mine["id"]}
        needs = frozenset(
            k for k, used in (("ep_comm_overlap", _priced_with_ep_overlap), ("moe_host_sync_slowdown", _host_bound))
            if any(used(sc) for sc in scs.values()))
        params, fixed = _held_out_params(src, fit_runs, owners, memo, needs, ep_all)
        for r in mine.iter_rows(named=True):
            fam = r["family"]
            sc = scs[r["id"]]
            p = params.get(fam)
            if p is None:
                held = r["error_pct"]
            else:
                est = estimate(sc, params=p)
                held = 100.0 * (_measured_tokens_per_gpu(rows[r["id"]], est) / est.tokens_per_s_per_gpu - 1.0)
            used = {**stacks.params(sc.stack), **(p or {})}
            out.append({"case": r["id"], "source": src, "split": r["split"], "kind": r["dense_or_moe"],
                        "accelerator": r["accelerator"], "family": fam, "in_sample_error_pct": r["error_pct"],
                        "held_out_error_pct": held,
                        "held_out_framework_time_scale": float(used["framework_time_scale"]),
                        "held_out_memory_time_scale": float(used["memory_time_scale"]),
                        "held_out_ep_comm_overlap":
                            float(used["ep_comm_overlap"]) if _priced_with_ep_overlap(sc) else None,
                        "held_out_moe_host_sync_slowdown":
                            float(used["moe_host_sync_slowdown"]) if _host_bound(sc) else None,
                        "refitted": p is not None, "fixed_on_source": ", ".join(fixed),
                        "optimistic": bool(fixed)})
    schema = {"case": pl.String, "source": pl.String, "split": pl.String, "kind": pl.String,
              "accelerator": pl.String, "family": pl.String, "in_sample_error_pct": pl.Float64,
              "held_out_error_pct": pl.Float64, "held_out_framework_time_scale": pl.Float64,
              "held_out_memory_time_scale": pl.Float64, "held_out_ep_comm_overlap": pl.Float64,
              "held_out_moe_host_sync_slowdown": pl.Float64, "refitted": pl.Boolean,
              "fixed_on_source": pl.String, "optimistic": pl.Boolean}
    return pl.DataFrame(out, schema=schema)


def loso_summary(loso: pl.DataFrame | None = None) -> pl.DataFrame:
    """Median and worst |step-time error| [%] in sample (shipped factors) and held out (factors
    refitted without the run's source) of a :func:`leave_one_source_out` frame (computed for every
    source if None): one row per source (sorted by held-out worst, largest first), then three
    overall rows: ``all`` (every run), ``all: test split`` (the test-split runs, the issue's
    split, each predicted without its source) and ``all: not flagged`` (runs of sources whose
    check keeps no constant set on them, see ``optimistic``).

    Returns
    -------
    polars.DataFrame
        source, family, runs, test_runs, in_sample_median_abs_error_pct,
        in_sample_worst_abs_error_pct, held_out_median_abs_error_pct,
        held_out_worst_abs_error_pct, held_out_mean_error_pct (signed: negative = too fast),
        refitted (any run's family refitted), fixed_on_source
    """
    df = leave_one_source_out() if loso is None else loso
    need = ("case", "source", "split", "family", "in_sample_error_pct", "held_out_error_pct", "refitted",
            "fixed_on_source", "optimistic")
    if not isinstance(df, pl.DataFrame) or not set(need) <= set(df.columns):
        raise ValidationError(f"loso = {loso!r:.60}: expected a leave_one_source_out() frame (columns "
                              f"{', '.join(need)}) or None")

    def agg(sub: pl.DataFrame, name: str) -> dict:
        ins, held = sub["in_sample_error_pct"].abs(), sub["held_out_error_pct"].abs()
        return {"source": name, "family": ", ".join(sorted(set(sub["family"]))), "runs": sub.height,
                "test_runs": int((sub["split"] == "test").sum()),
                "in_sample_median_abs_error_pct": float(ins.median()) if sub.height else None,
                "in_sample_worst_abs_error_pct": float(ins.max()) if sub.height else None,
                "held_out_median_abs_error_pct": float(held.median()) if sub.height else None,
                "held_out_worst_abs_error_pct": float(held.max()) if sub.height else None,
                "held_out_mean_error_pct": float(np.mean(sub["held_out_error_pct"].to_numpy())) if sub.height else None,
                "refitted": bool(sub["refitted"].any()),
                "fixed_on_source": ", ".join(sorted({x for v in sub["fixed_on_source"] for x in v.split(", ") if x}))}

    per = [agg(df.filter(pl.col("source") == s), s) for s in dict.fromkeys(df["source"])]
    per.sort(key=lambda d: -(d["held_out_worst_abs_error_pct"] or 0.0))
    per += [agg(df, "all"), agg(df.filter(pl.col("split") == "test"), "all: test split"),
            agg(df.filter(~pl.col("optimistic")), "all: not flagged")]
    return pl.DataFrame(per, infer_schema_length=None)
