"""The plan search of serving: every consistent tp/pp/dp/ep split (with DP attention),
weight and KV precision and concurrency of a scenario's GPUs in one kernel call
(:func:`serve_search`), the throughput–interactivity Pareto front (:func:`pareto_front`), and
the reason a search came back empty."""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING, Any

import numpy as np
import polars as pl

from .. import _validate as V
from ..errors import (
    EmptyResultWarning,
    SearchEdgeWarning,
    ValidationError,
    named_keywords,
    unknown,
    user_stacklevel,
)
from ..scenario import SERVING_BOUNDS, Scenario
from ..scenario._checks import _py_list
from .core import (
    _KVPREC,
    _WPREC,
    OBJECTIVES,
    _as_serving,
    _cfg_row,
    _check_opt_positive,
    _media,
    _memo_for,
    _run,
    _stack_params,
    serving_inputs,
    tpot_defined,
)
from .core import weight_precisions as part_precisions
from .costs import _cost_exprs, price_for
from .reference import _reference_one

if TYPE_CHECKING:
    import os
    from collections.abc import Iterable

DEFAULT_CONCURRENCIES = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024)
"""Concurrency grid of :func:`serve_search` when none is given [requests], extended per split
and precision up to the concurrency that split runs (:func:`_grid_extension`)."""


EDGE_OBJECTIVES = ("output_tokens_per_s", "output_tokens_per_s_per_gpu", "total_tokens_per_s",
                   "total_tokens_per_s_per_gpu",
                   "usd_per_million_output_tokens", "usd_per_million_tokens",
                   "usd_per_million_output_tokens_all_in", "usd_per_million_input_tokens")
"""Objectives a larger concurrency can improve (throughput, and the $ per token that divides a
price by it): :class:`~infra_lab.errors.SearchEdgeWarning` is given only for these. TTFT, TPOT,
end-to-end latency and tokens/s per user only get worse as more requests share the GPUs, so a
best row at the grid's edge by those is no sign that the grid stopped short."""


def _grid_extension(max_conc: np.ndarray, fits: np.ndarray, tried: list[int], hi: int,
                    budget: int) -> tuple[np.ndarray, np.ndarray]:
    """(combination index, concurrency) of the rows that extend the default grid ``tried``:
    for each split and precision that fits, the powers of two above ``tried``'s largest and
    below its ``max_concurrency`` (the requests its KV cache and the engine's sequence cap run
    at once, over all DP ranks), and that concurrency itself, at most ``hi``. Past it the
    requests queue for a slot: the throughput stays that of max_concurrency and the TTFT grows,
    so the grid then holds every concurrency that can raise the throughput. Beyond ``budget``
    rows only max_concurrency itself is added; beyond that, nothing (the ``grid_edge`` column
    then says where the search stopped short)."""
    top = max(tried)
    m = np.minimum(max_conc, float(hi))
    want = fits & (m > top)
    combos = np.flatnonzero(want)
    if combos.size == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0)
    tried_set = set(tried)
    grids = []
    for mc in m[combos]:
        g = [c for c in (2 ** k for k in range(int(top).bit_length(), 64)) if c < mc]
        g.append(int(mc))
        grids.append([c for c in g if c not in tried_set])
    n = sum(len(g) for g in grids)
    if n > budget:
        grids = [[int(mc)] if int(mc) not in tried_set else [] for mc in m[combos]]
        if sum(len(g) for g in grids) > budget:
            return np.zeros(0, dtype=np.int64), np.zeros(0)
    which = np.repeat(combos, [len(g) for g in grids])
    return which.astype(np.int64), np.array([c for g in grids for c in g], dtype=np.float64)


def _divisors(n: int) -> list[int]:
    return [d for d in range(1, n + 1) if n % d == 0]


def _plans(spec, hw) -> list[tuple[int, int, int, int, int]]:
    """(tp, pp, dp, ep, dp_attention) splits of the hardware's GPUs the Scenario accepts: tp
    within the scale-up domain and a size the engines run the attention at
    (:func:`infra_lab.memory.tp_accepted`: it divides the heads and divides, or is a multiple
    of, the KV heads)."""
    from ..memory import tp_accepted

    G = hw.world_size
    out = []
    for tp in _divisors(G):
        if tp > hw.scaleup_domain or not tp_accepted(spec, tp):
            continue
        for pp in _divisors(G // tp):
            if pp > spec.layers:
                continue
            dp = G // (tp * pp)
            for dpa in ((0, 1) if (spec.experts and dp > 1 and pp == 1) else (0,)):
                group = tp * dp if dpa else tp
                eps = [e for e in _divisors(group) if spec.experts % e == 0] if spec.experts else [1]
                out.extend((tp, pp, dp, ep, dpa) for ep in eps)
    return out


def _skipped_tps(spec, hw) -> str:
    """The divisors of the GPUs within the scale-up domain that :func:`_plans` skips because the
    engines refuse them as tensor-parallel sizes (:func:`infra_lab.memory.tp_accepted`), as a
    clause for the empty-result reason ("" when none is)."""
    from ..memory import tp_accepted, tp_sizes

    skip = [t for t in _divisors(hw.world_size) if t <= hw.scaleup_domain and not tp_accepted(spec, t)]
    if not skip:
        return ""
    kv = (f" and to divide, or be a multiple of, its {spec.kv_heads} KV heads"
          if spec.attention != "mla" and 0 < spec.kv_heads < spec.heads else "")
    return (f"; tp {', '.join(map(str, skip))} not tried: vLLM and SGLang need tp to divide the "
            f"{spec.heads} attention heads of {spec.name or 'the model'}{kv} (sizes they take: "
            f"{', '.join(map(str, tp_sizes(spec)))})")


def _choices(name: str, given, allowed: tuple[str, ...], default: list[str]) -> list[str]:
    given = _py_list(given)    # a numpy array of names is its list, as concurrencies takes one
    if given is None:
        return default
    if isinstance(given, str) or not isinstance(given, (list, tuple)) or not given:
        raise ValidationError(f"{name} = {given!r}: expected a non-empty list of {', '.join(allowed)}")
    out = []
    for g in given:
        if not isinstance(g, str) or g.lower() not in allowed:
            raise unknown(name.rstrip("s"), g, allowed, where=name)
        out.append(g.lower())
    return sorted(set(out), key=out.index)


def pareto_front(df: pl.DataFrame, x: str = "tokens_per_s_per_user",
                 y: str = "output_tokens_per_s_per_gpu") -> pl.Series:
    """Boolean mask of the rows no other row beats on both ``x`` and ``y`` (larger is better).

    Examples
    --------
    >>> import polars as pl
    >>> d = pl.DataFrame({"tokens_per_s_per_user": [10.0, 20.0, 15.0], "output_tokens_per_s_per_gpu": [5.0, 3.0, 2.0]})
    >>> pareto_front(d).to_list()
    [True, True, False]
    """
    if not isinstance(df, pl.DataFrame):
        raise ValidationError(f"df = {df!r:.80}: expected a polars DataFrame (serve_search's)")
    for col in (x, y):
        if not isinstance(col, str) or col not in df.columns:
            raise unknown("column", col, df.columns, where="pareto_front")
    if df.height == 0:
        return pl.Series("pareto", [], dtype=pl.Boolean)
    for col in (x, y):   # a null (one output token: no TPOT) became NaN and a meaningless front
        if df[col].null_count():
            raise ValidationError(f"pareto_front: column {col!r} has {df[col].null_count()} null value(s)"
                                  + (" (requests of one output token have no TPOT: il.serving.tpot_defined; "
                                     "serve_search's own 'pareto' column is drawn against TTFT then)"
                                     if col in ("tokens_per_s_per_user", "tpot_s") else "")
                                  + "; expected numbers in every row")
    return pl.Series("pareto", _pareto_mask(df[x].to_numpy(), df[y].to_numpy()))


def _pareto_mask(xs: np.ndarray, ys: np.ndarray, ties: np.ndarray | None = None) -> np.ndarray:
    """Rows no other row beats on both xs and ys (larger is better): in x-descending
    (then y-descending) order, a row is kept when its y beats every y before it; of rows equal
    in both, the first in the order is kept: the smallest ``ties`` (e.g. TTFT) when given, else
    the first row."""
    keys = (-ys, -xs) if ties is None else (ties, -ys, -xs)
    order = np.lexsort(keys)  # x descending, then y descending (then ties ascending)
    ys_sorted = ys[order]
    before = np.concatenate(([-np.inf], np.maximum.accumulate(ys_sorted)[:-1]))
    keep = np.zeros(len(xs), dtype=bool)
    keep[order] = ys_sorted > before
    return keep


TIE_DIGITS = 9
"""Significant digits at which :func:`serve_search` takes two rows' throughput and
interactivity as equal, ranking and drawing the front with the shorter TTFT first: past a split's
saturation concurrency (:func:`_knee_extension`) every row has the same throughput and TPOT
to ~1e-10 (rounding noise) and only a longer wait for the step budget."""


def _tie_round(v: np.ndarray) -> np.ndarray:
    """``v`` rounded to :data:`TIE_DIGITS` significant digits (0, inf and NaN kept)."""
    a = np.abs(v)
    ok = np.isfinite(v) & (a > 0.0)
    mag = np.ones_like(v)
    mag[ok] = 10.0 ** np.floor(np.log10(a[ok]))
    out = np.array(v, dtype=np.float64, copy=True)
    out[ok] = np.round(v[ok] / mag[ok], TIE_DIGITS - 1) * mag[ok]
    return out


def _ranking(v: np.ndarray, ttft: np.ndarray, larger_is_better: bool) -> np.ndarray:
    """The order of :func:`serve_search`'s rows by the objective's values ``v`` (best first),
    equal to :data:`TIE_DIGITS` significant digits ranked by the shorter ``ttft`` [s], then by
    the configuration order (a stable sort); NaN last. The one rule of every objective, the $
    ones included."""
    r = _tie_round(np.asarray(v, dtype=np.float64))
    key = np.where(np.isnan(r), np.inf, -r if larger_is_better else r)
    return np.lexsort((ttft, np.isnan(r), key))


def _knee_extension(cfg: np.ndarray, out: np.ndarray, combo: np.ndarray,
                    budget: int) -> tuple[np.ndarray, np.ndarray]:
    """(row index of a saturated row, concurrency) to add for each split and precisions whose
    step budget fills within the grid: a mixed engine whose prompts outrun its budget admits a
    fixed number of prompt tokens per step, so past that concurrency the throughput and TPOT
    stay those of the full budget and the other requests only wait for it (``prefill_queue_s``,
    in TTFT: Little's law, T = B·I·cycle/c). From a saturated row (C requests, the served time
    T = e2e with the wait w): the budget fills at C·(1 − w/T), rounded up; the row added there
    has the plateau's throughput with (almost) no wait. Rows of the default grid that queue for
    a KV slot are not used (their served time is not the e2e). At most ``budget`` rows."""
    from .._kernels import serving as K

    q = out[:, K.O_PREFILL_QUEUE]
    e2e = out[:, K.O_E2E]
    sat = ((q > 0.0) & (out[:, K.O_FITS] > 0.5) & (out[:, K.O_KV_LIMITED] < 0.5) & np.isfinite(q)
           & np.isfinite(e2e) & (e2e > 0.0))
    idx = np.flatnonzero(sat)
    if idx.size == 0 or budget <= 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0)
    # rows are in (combo, concurrency) order: the first saturated row of each combo
    _, first = np.unique(combo[idx], return_index=True)
    rows = idx[first]
    conc = cfg[rows, K.K_CONC]
    knee = np.maximum(1.0, np.ceil(conc * (1.0 - q[rows] / e2e[rows]) - 1e-9))
    # not past the row itself, and not a concurrency the split already has
    span = int(max(cfg[:, K.K_CONC].max(), knee.max())) + 1   # (split, concurrency) as one integer key
    tried = combo.astype(np.int64) * span + cfg[:, K.K_CONC].astype(np.int64)
    keep = (knee < conc) & ~np.isin(combo[rows].astype(np.int64) * span + knee.astype(np.int64), tried)
    rows, knee = rows[keep], knee[keep]
    return rows[:budget].astype(np.int64), knee[:budget]


MAX_SEARCH_CONFIGURATIONS = 2_000_000
"""Most configurations one :func:`serve_search` evaluates (splits × precisions ×
concurrencies); the default grid is a few thousand. Beyond it the arrays alone would take
gigabytes, so a long ``concurrencies`` list is refused instead."""


@named_keywords(name="il.serve_search")
def serve_search(scenario: Scenario | dict[str, Any] | str | os.PathLike[str],
                 objective: str = "output_tokens_per_s", top: int | None = 10,
                 max_tpot_s: float | None = None, max_ttft_s: float | None = None, *,
                 min_tokens_per_s_per_user: float | None = None,
                 concurrencies: Iterable[int] | None = None,
                 weight_precisions: Iterable[str] | None = None,
                 kv_precisions: Iterable[str] | None = None, pareto: bool = True,
                 price_usd_per_gpu_hour: float | None = None,
                 stack_params: dict[str, float] | None = None, reference: bool = False,
                 params: dict[str, float] | None = None, **unknown_args: Any) -> pl.DataFrame:
    """Every consistent tp/ep/dp/pp split, precision and concurrency on the scenario's GPUs.

    Parameters
    ----------
    scenario : serving Scenario (dict, TOML path or object). Kept from it: the model, the
        hardware, the engine and stack, the prompt/output lengths and media, chunk_tokens,
        batching, lockstep, speculative decoding and the attention/MTP precisions. Searched:
        tp, pp, dp, ep, dp_attention, weight and KV precision and concurrency. The tp tried
        are the divisors of the GPUs within the scale-up domain that the engines run the
        attention at (:func:`infra_lab.memory.tp_accepted`): one that does not divide the
        attention heads, or neither divides nor is a multiple of the KV heads (e.g. tp 6
        with 8 KV heads), is skipped, and an empty result's reason
        (:class:`~infra_lab.errors.EmptyResultWarning`) names the ones skipped. Not used:
        num_prompts and request_rate_rps: every configuration is the closed-loop steady state at
        its concurrency (:func:`infra_lab.serve` of the scenario without those two fields)
    objective : one of :data:`OBJECTIVES` (cost objectives need ``price_usd_per_gpu_hour``)
    top : rows returned, best first (None: all)
    max_tpot_s, max_ttft_s : latency limits [s]; min_tokens_per_s_per_user : interactivity
        floor [tokens/s]; rows outside them are dropped
    concurrencies : requests in flight to try [-] (default :data:`DEFAULT_CONCURRENCIES`
        plus the scenario's own, and for each split and precision whose ``max_concurrency``
        (KV cache and the engine's sequence cap, over all DP ranks) is larger, the powers of
        two up to it and that concurrency itself: past it requests only queue). A best row at
        the largest concurrency tried for its split while more requests would run is flagged
        in the ``grid_edge`` column and with a :class:`~infra_lab.errors.SearchEdgeWarning`
    weight_precisions, kv_precisions : subsets of ("bf16", "fp8", "fp4") and ("bf16", "fp8")
        (default: every format the accelerator has tensor cores for; both KV formats)
    pareto : keep only the throughput–interactivity Pareto front (output tokens/s per GPU
        against tokens/s per user; against TTFT when ``serving.output_tokens = 1``, where no
        token follows the first and TPOT is undefined) of the configurations that fit and meet
        the limits; False with top=None returns every configuration evaluated
    price_usd_per_gpu_hour : adds $ per million tokens columns (:func:`token_costs`): a price
        [USD/GPU-h], or "owned" / "rented" for the economics model's price of the scenario's
        accelerator (:func:`price_for`)
    stack_params : overrides of the serving stack's factors; ``params`` is the same
    reference : evaluate with the plain-Python reference (slow; for tests and benchmarks)
    params : the stack-factor overrides under the name every call that takes them uses
        (:func:`infra_lab.search`, :func:`serve`, ...); give it or ``stack_params``, not both
    **unknown_args : none is taken: any other keyword is refused naming it, its value, the
        nearest argument name and every one allowed (as :func:`infra_lab.search` refuses an
        unknown constraint); tp, pp, dp, ep and dp_attention are searched, not constrained

    Returns
    -------
    polars.DataFrame
        tp, pp, dp, ep, dp_attention, weight_precision, kv_precision, concurrency, the
        :class:`ServeResult` numbers (output_tokens_per_s, ..., fits, max_concurrency,
        kv_limited), feasible (fits, meets the bounds and can run: a configuration whose
        collectives have no path on the fabric, DP attention's all-to-all across the rails of a
        rails-only fabric with PXN off, has NaN times and is not feasible; :func:`serve` refuses
        it), pareto, grid_edge (the row runs the largest concurrency tried for
        its split and precisions and a larger one would still run: more may do better), and
        cost columns when a price is given; best first.
        With ``serving.output_tokens = 1`` the tpot_s and tokens_per_s_per_user columns are
        null (:func:`infra_lab.serving.tpot_defined`) and max_tpot_s,
        min_tokens_per_s_per_user and those two objectives are refused.

    Examples
    --------
    >>> import infra_lab as il
    >>> sc = {"model": {"preset": "llama3.3-70b"},
    ...       "hardware": {"accelerator": "H200", "nodes": 1, "gpus_per_node": 8},
    ...       "serving": {"engine": "vllm", "tp": 8, "input_tokens": 1024, "output_tokens": 1024}}
    >>> front = il.serve_search(sc, top=None, max_tpot_s=0.05)
    >>> bool(front["pareto"].all() and (front["tpot_s"] <= 0.05).all())
    True
    """
    from .._kernels import serving as K

    if unknown_args:
        _refuse_unknown_args(unknown_args)
    sc = _as_serving(scenario, "il.serve_search")
    if not isinstance(objective, str) or objective not in OBJECTIVES:
        raise unknown("objective", objective, OBJECTIVES)
    top = _check_opt_positive("top", top, integer=True)
    max_tpot_s = _check_opt_positive("max_tpot_s", max_tpot_s)
    max_ttft_s = _check_opt_positive("max_ttft_s", max_ttft_s)
    min_tps_user = _check_opt_positive("min_tokens_per_s_per_user", min_tokens_per_s_per_user)
    price = price_for(sc.hardware.accelerator, price_usd_per_gpu_hour)
    if objective.startswith("usd") and price is None:
        raise ValidationError(f"objective = {objective!r}: needs price_usd_per_gpu_hour")
    pareto, reference = V.boolean("pareto", pareto), V.boolean("reference", reference)
    params = _stack_params(sc, stack_params, params)
    spec, hw, sv = sc.model_spec, sc.hardware, sc.serving
    decode = tpot_defined(sv.output_tokens)
    if not decode:
        for name, v in (("max_tpot_s", max_tpot_s), ("min_tokens_per_s_per_user", min_tps_user),
                        ("objective", objective if objective in ("tpot_s", "tokens_per_s_per_user") else None)):
            if v is not None:
                raise ValidationError(
                    f"{name} = {v!r} with serving.output_tokens = 1: no token follows the first, so TPOT "
                    "(and tokens/s per user, 1/TPOT) is undefined; a one-token request's latency is its TTFT "
                    "(bound it with max_ttft_s, or rank by ttft_s)")
    acc = hw.accelerator_spec
    hi = dict((k, h) for k, h, _ in SERVING_BOUNDS)["concurrency"]
    if concurrencies is None:
        concs = sorted(set(DEFAULT_CONCURRENCIES) | {sv.concurrency})
    else:
        if isinstance(concurrencies, (str, bytes)) or not hasattr(concurrencies, "__iter__"):
            raise ValidationError(f"concurrencies = {concurrencies!r}: expected a list of positive integers")
        # an item is a number of requests, never None (None items were dropped unannounced)
        concs = sorted({_check_opt_positive(f"concurrencies[{i}]", c, integer=True, optional=False)
                        for i, c in enumerate(concurrencies)})
        if not concs:
            raise ValidationError(f"concurrencies = {concurrencies!r}: expected at least one positive integer")
        if concs[-1] > hi:
            big = next(c for c in concurrencies if _check_opt_positive("", c, integer=True) == concs[-1])
            raise ValidationError(f"concurrencies: {big!r} requests in flight; allowed 1..{hi:,} "
                                  "(as serving.concurrency)")
    hw_w = list(part_precisions(acc.name))   # the catalog's formats (fp4: NVFP4 / MXFP4 block scaling)
    wps = _choices("weight_precisions", weight_precisions, _WPREC, hw_w)
    bad = [p for p in wps if p not in hw_w]
    if bad:
        raise ValidationError(f"weight_precisions: {acc.name} has no {', '.join(bad)} tensor cores; allowed "
                              f"{', '.join(hw_w)}")
    kvs = _choices("kv_precisions", kv_precisions, _KVPREC, list(_KVPREC))
    plans = np.array(_plans(spec, hw), dtype=np.float64)
    if plans.size == 0:
        raise ValidationError(f"serve_search: no tp/pp/dp split of {hw.world_size} GPUs suits {spec.name}")
    base = _cfg_row(sv)
    n_p, n_w, n_k, n_c = len(plans), len(wps), len(kvs), len(concs)
    if n_p * n_w * n_k * n_c > MAX_SEARCH_CONFIGURATIONS:
        raise ValidationError(
            f"concurrencies: {n_c:,} values x {n_p * n_w * n_k:,} splits and precisions = {n_p * n_w * n_k * n_c:,} "
            f"configurations; allowed at most {MAX_SEARCH_CONFIGURATIONS:,} (MAX_SEARCH_CONFIGURATIONS: about "
            "0.5 KB of inputs and outputs each); give fewer concurrencies")
    cfg = np.tile(base, (n_p * n_w * n_k * n_c, 1))
    idx = np.indices((n_p, n_w, n_k, n_c)).reshape(4, -1)
    cfg[:, K.K_TP] = plans[idx[0], 0]
    cfg[:, K.K_PP] = plans[idx[0], 1]
    cfg[:, K.K_DP] = plans[idx[0], 2]
    cfg[:, K.K_EP] = plans[idx[0], 3]
    cfg[:, K.K_DPA] = plans[idx[0], 4]
    cfg[:, K.K_WPREC] = np.array([_WPREC.index(w) for w in wps], dtype=np.float64)[idx[1]]
    cfg[:, K.K_KVPREC] = np.array([_KVPREC.index(k) for k in kvs], dtype=np.float64)[idx[2]]
    cfg[:, K.K_CONC] = np.array(concs, dtype=np.float64)[idx[3]]
    cfg[:, K.K_NPROMPTS] = 0.0
    tps = sorted({int(t) for t in plans[:, 0]})
    media = {t: _media(sc, t) for t in tps}
    if media[tps[0]] != (0.0, 0.0):  # encoder time depends on the replica's tp; positions do not
        enc_of_tp = np.zeros(max(tps) + 1)
        for t, (sec, _pos) in media.items():
            enc_of_tp[t] = sec
        cfg[:, K.K_ENC] = enc_of_tp[cfg[:, K.K_TP].astype(np.int64)]
        cfg[:, K.K_IN] = sv.input_tokens + media[tps[0]][1]
    etps = sorted({int(t * (d if a else 1)) // int(e) for t, _p, d, e, a in plans})
    eps = sorted({int(e) for e in plans[:, 3]})
    inp = None if reference else serving_inputs(spec, hw, params, tps, etps, eps, stack=sc.stack)
    memo = None if reference else _memo_for()   # shared by the grid's two kernel calls

    def evaluate(rows: np.ndarray) -> np.ndarray:
        if reference:
            return np.array([_reference_one(_scenario_of(sc, row), params, float(row[K.K_CONC]),
                                            media[int(row[K.K_TP])]) for row in rows]).reshape(-1, K.N_OUT)
        return _run(rows, inp, memo)

    out = evaluate(cfg)
    n_combo = n_p * n_w * n_k
    combo = idx[0] * (n_w * n_k) + idx[1] * n_k + idx[2]     # split and precisions of each row
    # max_concurrency and fits depend on the split and precisions, not on the concurrency
    max_conc = out[::n_c, K.O_MAX_CONC]
    if concurrencies is None:
        which, ext_c = _grid_extension(max_conc, out[::n_c, K.O_FITS] > 0.5, concs, hi,
                                       MAX_SEARCH_CONFIGURATIONS - len(cfg))
        if which.size:
            ext = cfg[which * n_c]
            ext[:, K.K_CONC] = ext_c
            cfg = np.vstack([cfg, ext])
            out = np.vstack([out, evaluate(ext)])
            combo = np.concatenate([combo, which])
            order = np.lexsort((cfg[:, K.K_CONC], combo))   # configuration order: split, precisions, concurrency
            cfg, out, combo = cfg[order], out[order], combo[order]
        # where a split's step budget fills inside the grid, the concurrency at which it fills
        # (the plateau's throughput without the wait for the budget that larger ones add)
        src, knee_c = _knee_extension(cfg, out, combo, MAX_SEARCH_CONFIGURATIONS - len(cfg))
        if src.size:
            ext = cfg[src].copy()
            ext[:, K.K_CONC] = knee_c
            cfg = np.vstack([cfg, ext])
            out = np.vstack([out, evaluate(ext)])
            combo = np.concatenate([combo, combo[src]])
            order = np.lexsort((cfg[:, K.K_CONC], combo))
            cfg, out, combo = cfg[order], out[order], combo[order]
    largest = np.zeros(n_combo)
    np.maximum.at(largest, combo, cfg[:, K.K_CONC])
    # runnable: the configuration's collectives have a path on the fabric (DP attention's
    # all-to-all across rails of a rails-only fabric with PXN off has none: every time is NaN)
    runnable = np.isfinite(out[:, K.O_CYCLE])
    edge = ((out[:, K.O_FITS] > 0.5) & runnable & (cfg[:, K.K_CONC] == largest[combo])
            & (cfg[:, K.K_CONC] < out[:, K.O_MAX_CONC]))
    # feasibility and the Pareto front in numpy; one lazy query for the rest (fewer collects)
    fe = (out[:, K.O_FITS] > 0.5) & runnable
    if max_tpot_s is not None:
        fe &= out[:, K.O_TPOT] <= max_tpot_s
    if max_ttft_s is not None:
        fe &= out[:, K.O_TTFT] <= max_ttft_s
    if min_tps_user is not None:
        fe &= out[:, K.O_TPS_USER] >= min_tps_user
    mask = np.zeros(len(fe), dtype=bool)
    if fe.any():
        sub = np.flatnonzero(fe)
        # interactivity: tokens/s per user, or (one output token, no TPOT) a shorter TTFT
        inter = out[sub, K.O_TPS_USER] if decode else -out[sub, K.O_TTFT]
        # equal to TIE_DIGITS: the shorter TTFT is on the front (a row past its split's budget
        # saturation only adds a wait to the saturating row's throughput and TPOT)
        mask[sub] = _pareto_mask(_tie_round(inter), _tie_round(out[sub, K.O_OUT_TPS_GPU]), out[sub, K.O_TTFT])
    if pareto:
        rows = np.flatnonzero(mask)
    elif top is not None or max_tpot_s or max_ttft_s or min_tps_user:
        rows = np.flatnonzero(fe)
    else:
        rows = np.arange(len(fe))
    if not objective.startswith("usd"):
        # order in numpy, then build one frame of the rows kept
        order = _ranking(out[rows, K.OUT_NAMES.index(objective)], out[rows, K.O_TTFT], OBJECTIVES[objective])
        rows = rows[order if top is None else order[:top]]
    df = _frame(cfg[rows], out[rows], wps, kvs, decode).hstack([pl.Series("feasible", fe[rows]),
                                                        pl.Series("pareto", mask[rows]),
                                                        pl.Series("grid_edge", edge[rows])])
    if price is not None:
        df = df.with_columns(**_cost_exprs(price))
        _warn_priced_rows_that_do_not_fit(df, acc.name)
    if objective.startswith("usd"):
        # the $ columns are costs.py's (_cost_exprs, their one owner); ranked by the same rule
        order = _ranking(df[objective].to_numpy(), out[rows, K.O_TTFT], OBJECTIVES[objective])
        df = df[order if top is None else order[:top]]
    if df.height and df["grid_edge"][0] and objective in EDGE_OBJECTIVES:
        b = df.row(0, named=True)
        warnings.warn(
            f"il.serve_search: the best row (by {objective}) runs {b['concurrency']:,} requests in flight, the "
            f"largest concurrency tried for its split (tp {b['tp']}, pp {b['pp']}, dp {b['dp']}, ep {b['ep']}) and "
            f"precisions, while {b['max_concurrency']:,} would run (max_concurrency): a larger concurrency may do "
            "better; pass concurrencies= up to it", SearchEdgeWarning,
            stacklevel=user_stacklevel())
    if df.height == 0:
        warnings.warn(f"il.serve_search: empty result: "
                      f"{_why_none(out, acc, max_tpot_s, max_ttft_s, min_tps_user, (wps, kvs), hw_w)}"
                      f"{_skipped_tps(spec, hw)}",
                      EmptyResultWarning, stacklevel=user_stacklevel())
    return df


SEARCHED = ("tp", "pp", "dp", "ep", "dp_attention")
"""The split fields :func:`serve_search` enumerates itself (not arguments)."""


def _refuse_unknown_args(args: dict) -> None:
    """Refuse :func:`serve_search` keywords it does not take with :func:`~infra_lab.errors.unknown`
    (the nearest-name rule of every unknown name, :func:`infra_lab.search`'s constraints too),
    naming the value given; the split fields get a line saying they are searched."""
    import inspect

    from ..errors import short_repr

    allowed = [n for n, q in inspect.signature(serve_search).parameters.items()
               if q.kind is not q.VAR_KEYWORD and n != "scenario"]
    k, v = next(iter(args.items()))
    err = unknown("argument", k, allowed, where=f"il.serve_search ({k} = {short_repr(v)})")
    if k in SEARCHED:
        err.args = (f"{err.args[0]}. {k} is searched, not an argument: every consistent {k} is tried; "
                    f"filter the frame's {k} column for the ones wanted",)
    raise err


def _warn_priced_rows_that_do_not_fit(df: pl.DataFrame, accelerator: str) -> None:
    """The "does not fit" warning (:func:`infra_lab.economics.runs.warn_does_not_fit`, the one
    wording of every cost priced for what does not fit) for the rows of a priced search frame
    whose ``fits`` is False: only ``pareto=False`` with ``top=None`` and no bound returns them,
    and their $ columns are what they would cost with enough memory. It points at
    the user's line (:func:`infra_lab.errors.user_stacklevel`)."""
    from ..economics.runs import warn_does_not_fit

    out = df.filter(~pl.col("fits"))
    if out.height:
        warn_does_not_fit("il.serve_search", out["memory_per_gpu_bytes"].min(), accelerator, thing="configuration",
                          lists="their fits column is False; pareto=True, a top=N or a latency bound lists only "
                                "the configurations that fit", count=(out.height, df.height))


def _why_none(out: np.ndarray, acc, max_tpot_s, max_ttft_s, min_tps_user,
              tried: tuple = ((), ()), part: tuple = ()) -> str:
    """Why no evaluated configuration of :func:`serve_search` was kept: memory, or the bound
    that the best fitting configuration still misses (each bound checked on its own).
    ``tried``: the (weight, KV) precisions searched; ``part``: the weight precisions the part
    has (:func:`~infra_lab.serving.weight_precisions`), so that a lower precision is suggested
    only when one was left out (it said "lower the precisions" after FP8 had been searched on H100)."""
    from .._kernels import serving as K

    n = out.shape[0]
    fits = out[:, K.O_FITS] > 0.5
    if not fits.any():
        wps, kvs = tried
        lower = [f"{p} weights" for p in part if p not in wps] + (["fp8 KV cache"] if kvs and "fp8" not in kvs else [])
        hint = (f"add GPUs, or try {', '.join(lower)}, or a shorter context" if lower else
                f"add GPUs or shorten the context: every weight precision the {acc.name} has "
                f"({', '.join(wps)}) and KV cache {', '.join(kvs)} were searched")
        return (f"none of the {n:,} configurations fits in memory: the smallest needs "
                f"{out[:, K.O_MEM_GPU].min() / 1e9:.4g} GB per GPU, the {acc.name} exposes "
                f"{acc.memory_capacity_bytes / 1e9:.4g} GB ({hint})")
    fits &= np.isfinite(out[:, K.O_CYCLE])
    if not fits.any():
        return (f"none of the {n:,} configurations that fit can run: their collectives have no path on the "
                "fabric (DP attention's all-to-all across rails of a rails-only fabric with hardware.pxn = false)")
    f = out[fits]
    missed = []
    for name, bound, best, cmp in (
            ("max_tpot_s", max_tpot_s, f[:, K.O_TPOT].min(), "smallest TPOT [s]"),
            ("max_ttft_s", max_ttft_s, f[:, K.O_TTFT].min(), "smallest TTFT [s]"),
            ("min_tokens_per_s_per_user", min_tps_user, f[:, K.O_TPS_USER].max(), "largest tokens/s per user")):
        if bound is not None and (best > bound if name.startswith("max") else best < bound):
            missed.append(f"{name} = {bound:g}: the {cmp} of the {int(fits.sum()):,} configurations that fit "
                          f"is {best:.4g}")
    if missed:
        return "; ".join(missed)
    given = (("max_tpot_s", max_tpot_s), ("max_ttft_s", max_ttft_s), ("min_tokens_per_s_per_user", min_tps_user))
    return (f"each bound is met by some configuration that fits, but none meets "
            f"{' and '.join(f'{k} = {b:g}' for k, b in given if b is not None)} at once")


def _scenario_of(sc: Scenario, row: np.ndarray) -> Scenario:
    """The Scenario of one search row (for the reference path)."""
    from .._kernels import serving as K

    return sc.replace(serving={
        "tp": int(row[K.K_TP]), "pp": int(row[K.K_PP]), "dp": int(row[K.K_DP]), "ep": int(row[K.K_EP]),
        "dp_attention": bool(row[K.K_DPA] > 0.5), "weight_precision": _WPREC[int(row[K.K_WPREC])],
        "kv_precision": _KVPREC[int(row[K.K_KVPREC])], "concurrency": int(row[K.K_CONC]), "num_prompts": None,
    })


def _frame(cfg: np.ndarray, out: np.ndarray, wps, kvs, decode: bool = True) -> pl.DataFrame:
    from .._kernels import serving as K

    cols: dict[str, Any] = {
        "tp": cfg[:, K.K_TP].astype(np.int64), "pp": cfg[:, K.K_PP].astype(np.int64),
        "dp": cfg[:, K.K_DP].astype(np.int64), "ep": cfg[:, K.K_EP].astype(np.int64),
        "dp_attention": cfg[:, K.K_DPA] > 0.5,
        "weight_precision": pl.Series(list(_WPREC)).gather(cfg[:, K.K_WPREC].astype(np.uint32)),
        "kv_precision": pl.Series(list(_KVPREC)).gather(cfg[:, K.K_KVPREC].astype(np.uint32)),
        "concurrency": cfg[:, K.K_CONC].astype(np.int64),
        "gpus": (cfg[:, K.K_TP] * cfg[:, K.K_PP] * cfg[:, K.K_DP]).astype(np.int64),
    }
    for j, name in enumerate(K.OUT_NAMES):
        v = out[:, j]
        if name in ("fits", "kv_limited"):
            cols[name] = v > 0.5
        elif name == "max_concurrency":
            cols[name] = np.minimum(v, 2.0**62).astype(np.int64)
        elif name in ("tpot_s", "tokens_per_s_per_user") and not decode:
            cols[name] = pl.Series(name, [None] * len(v), dtype=pl.Float64)   # undefined: tpot_defined
        else:
            cols[name] = v
    return pl.DataFrame(cols)
