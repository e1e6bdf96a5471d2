"""AMD vs NVIDIA per trained token, like for like.

Three rules make the comparison fair:

1. **Throughput from the training model.** Tokens per second per GPU come from
   ``il.search`` (the best feasible plan) on the *same* scenario with only the accelerator
   (and its 400G NIC) swapped, so the software stack's efficiency is whatever the training
   model says it is for that accelerator; economics adds no software factor of its own.
2. **Same channel, same term.** Owned: every accelerator at its newest distributor listing of
   the 8-GPU baseboard (``purchase_prices.csv``, basis "baseboard") plus the same host, the
   same per-port network and the same opex (common random numbers in the Monte Carlo).
   Rented: only prices of the same provider and term are paired (:func:`matched_rents`).
   The owned price of a GPU-hour on this basis is :func:`owned_gpu_hour_price` (the P50 of
   the same draws :func:`compare_owned` takes), and the rent of a pair is
   :func:`rented_gpu_hour_price` with ``matched_with``: the serving notebooks price served
   tokens with these two, so a GPU-hour costs the same in every notebook.
3. **Parity, not just a ratio.** :func:`parity_price` gives the rent (or purchase price) of
   the other accelerator at which the per-token advantage disappears.
"""

from __future__ import annotations

import dataclasses
import functools
import warnings
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import polars as pl

from .. import catalog
from ..catalog import Col
from ..errors import (
    UnknownNameError,
    ValidationError,
    empty_reasons,
    unknown,
    user_stacklevel,
    with_reasons,
)
from ..units import HOUR
from . import _validate as V
from . import uncertainty as U
from .data import (
    _STATISTICS,
    BASES,
    HOST_INCLUDED_BASES,
    NoPurchasePriceError,
    Param,
    _param_of,
    cloud_price,
    parameter_table,
    parameters,
    purchase_price,
    rental_price,
)
from .owned import OWNED_PARAMS, _owned_components
from .uncertainty import Band

__all__ = [
    "PLAN_FAMILY", "per_token_cost", "parity_price", "training_throughput", "matched_rents",
    "matched_serving", "LIKE_FOR_LIKE_DRAWS", "LIKE_FOR_LIKE_SEED", "owned_gpu_hour_quote", "owned_gpu_hour_price",
    "rented_gpu_hour_price",
    "compare_owned", "break_even_capex", "useful_work_cost", "compare_useful_work",
]

PLAN_FAMILY = {"tp": 1, "pp": 1, "cp": 1, "max_micro_batch": 4}
"""The plans searched for every accelerator by default: ZAYA1's own family (data parallel
with ZeRO/FSDP and, where it helps, expert parallel; no tensor, pipeline or context
parallel), micro-batch up to 4. The same family for every accelerator keeps the comparison
like for like and the search fast (~0.1 s instead of tens of seconds for every plan)."""


LIKE_FOR_LIKE_DRAWS = 20_000
"""Monte Carlo draws of the like-for-like owned cost (:func:`compare_owned`,
:func:`owned_gpu_hour_price`; notebook 05 uses the same number)."""

LIKE_FOR_LIKE_SEED = 20250930
"""Seed of those draws (common random numbers: every accelerator sees the same quantile of
every shared input); the notebooks' seed, so notebook 05's table and the serving notebooks'
prices are the same draws."""


def per_token_cost(price_usd_per_gpu_hour: Any, tokens_per_s_per_gpu: float) -> Any:
    """Cost of a million trained tokens [USD]: price / (tokens per GPU-second x 3600) x 1e6.
    ``price_usd_per_gpu_hour`` may be an array (Monte Carlo draws).

    Examples
    --------
    >>> import infra_lab as il
    >>> round(il.economics.per_token_cost(2.0, 1000.0), 4)   # USD per 1e6 tokens at 1,000 tok/s/GPU
    0.5556
    """
    tps = V.positive("tokens_per_s_per_gpu", tokens_per_s_per_gpu, hi=1e9)
    if isinstance(price_usd_per_gpu_hour, str):
        # 'owned' / 'rented' read "expected a sequence of numbers", as if a number were refused
        raise ValidationError(
            f"price_usd_per_gpu_hour = {price_usd_per_gpu_hour!r}: expected a number [USD per GPU-hour] "
            f"or an array of them (Monte Carlo draws); for the owned or rented price of an "
            f"accelerator pass il.economics.owned_gpu_hour_price('MI300X') or "
            f"il.economics.rented_gpu_hour_price('MI300X')")
    p = V.float_array("price_usd_per_gpu_hour", price_usd_per_gpu_hour, "USD per GPU-hour")
    if p.ndim == 0:
        V.positive("price_usd_per_gpu_hour", float(p), hi=1e4)
        return float(p) / (tps * HOUR) * 1e6
    if not np.all(np.isfinite(p)) or np.any(p <= 0):
        raise ValidationError("price_usd_per_gpu_hour: need finite prices > 0")
    return p / (tps * HOUR) * 1e6


def parity_price(price_usd_per_gpu_hour: float, tokens_per_s_per_gpu: float,
                 other_tokens_per_s_per_gpu: float) -> float:
    """The price per GPU-hour of the *other* accelerator at which its cost per token equals
    this one's [USD per GPU-hour]: price x other_tps / tps. Below it the other is cheaper.

    Parameters
    ----------
    other_tokens_per_s_per_gpu : the other accelerator's throughput [tokens/s per GPU]

    Examples
    --------
    >>> import infra_lab as il
    >>> il.economics.parity_price(2.0, 1000.0, 1500.0)       # USD/GPU-h of the faster part at parity
    3.0
    """
    p = V.positive("price_usd_per_gpu_hour", price_usd_per_gpu_hour, hi=1e4)
    a = V.positive("tokens_per_s_per_gpu", tokens_per_s_per_gpu, hi=1e9)
    b = V.positive("other_tokens_per_s_per_gpu", other_tokens_per_s_per_gpu, hi=1e9)
    return p * b / a


def _default_nic(acc: str) -> str:
    """:func:`infra_lab.catalog.default_nic`, or a ValidationError saying how to give one."""
    try:
        return catalog.default_nic(acc)
    except UnknownNameError as e:
        raise ValidationError(f"training_throughput: data/default_nics.csv has no default NIC for {acc}; pass "
                              f"nics={{{acc!r}: ...}} (a catalog NIC name) or add the row with its source ({e})") from None


def training_throughput(scenario: Any, accelerators: Iterable[str], *,
                        nics: Mapping[str, str] | None = None,
                        constraints: Mapping[str, Any] | None = PLAN_FAMILY) -> pl.DataFrame:
    """Training throughput of ``scenario`` on each accelerator, from the training model.

    For each accelerator the scenario's hardware is kept (its GPU count, fabric, host) and
    only the accelerator and its NIC (``nics``, else the catalog's default NIC of the accelerator,
    :func:`infra_lab.catalog.default_nic`, data/default_nics.csv: the one owner; a part without
    a row there is refused, naming the file and ``nics``) change; the same GPUs sit in the
    accelerator's own nodes (:func:`infra_lab.scenario.hardware_table.moved_hardware`: 128 × 8
    MI300X become 256 GB200 or MI450X trays of 4, whose 1,024 GPUs fill 16 racks of 64 — 16 of
    each 72-GPU rack's 18 trays, an ASSUMPTION where a run does not say; a scenario in partly
    used nodes keeps its nodes);
    ``il.search(..., top=1, **constraints)`` picks the best feasible plan within the same
    plan family for every accelerator (:data:`PLAN_FAMILY` by default; ``None`` searches every
    plan), so a GPU with less memory gets the sharding it needs.

    Parameters
    ----------
    accelerators : catalog names of the accelerators to compare, e.g. ['MI300X', 'H100-SXM']
        (il.catalog.accelerator_names() lists them)

    Returns
    -------
    polars DataFrame: accelerator, vendor, nic, tokens_per_s_per_gpu, mfu, step_time_s, plan,
    stack (the training model's software stack), fits, gpus_per_node and domain_gpus (the
    hardware the plan was searched on: GPUs per node, the job's GPUs per scale-up domain)

    Examples
    --------
    >>> import infra_lab as il
    >>> df = il.economics.training_throughput(il.load_scenario("zaya1-ibm-mi300x"), ["MI300X"])
    >>> df["accelerator"].to_list(), bool(df["tokens_per_s_per_gpu"][0] > 0)
    (['MI300X'], True)
    """
    import polars as pl

    from ..scenario import Scenario, as_scenario
    from ..scenario.hardware_table import moved_hardware
    from ..training import search

    # the search enumerates the plans: the scenario's own plan (if any) need not fit
    sc = scenario if isinstance(scenario, Scenario) else as_scenario(scenario, check_plan=False)
    if isinstance(accelerators, (str, bytes)) or not isinstance(accelerators, Iterable):
        raise ValidationError(f"accelerators = {accelerators!r}: expected a list of accelerator names")
    accs = [V.accelerator(a) for a in accelerators]
    if not accs:
        raise ValidationError("accelerators: give at least one accelerator name")
    nics = V.table("nics", nics, "accelerator -> NIC name")
    rows = []
    for acc in accs:
        vendor = catalog.accelerator(acc).vendor
        # the catalog's default NIC of the accelerator (data/default_nics.csv, the explorer's and
        # the validation's too); no second table by vendor beside it
        nic = nics.get(acc) or _default_nic(acc)
        s2 = sc.replace(hardware={**moved_hardware(sc.hardware, acc), "nic": nic})
        with empty_reasons() as why:
            best = search(s2, top=1, **V.table("constraints", constraints, "search constraint -> value"))
        if best.height == 0:
            raise ValidationError(with_reasons(f"training_throughput: no feasible plan for {acc} on this scenario",
                                               why))
        r = best.row(0, named=True)
        gpus = s2.hardware.world_size
        plan = (f"tp{r['tp']} pp{r['pp']} cp{r['cp']} ep{r['ep']} dp{r['dp']} mbs{r['micro_batch']} "
                f"zero{r['zero']}{' fsdp' if r['fsdp'] else ''} recompute={r['recompute']}")
        stack = s2.stack   # the stack the search priced (training.stack, or the accelerator's default)
        rows.append({"accelerator": acc, "vendor": vendor, "nic": nic,
                     "tokens_per_s_per_gpu": float(r["tokens_per_s"]) / gpus, "mfu": float(r["mfu"]),
                     "step_time_s": float(r["step_time_s"]), "plan": plan, "stack": stack,
                     "fits": bool(r["fits"]), "gpus_per_node": s2.hardware.gpus_per_node,
                     "domain_gpus": s2.hardware.domain_gpus})
    return pl.DataFrame(rows)


def matched_rents(a: str, b: str, terms: Iterable[str] | None = None) -> pl.DataFrame:
    """Prices of ``a`` and ``b`` from the same provider and term (each provider's newest
    listing), for like-for-like rent comparisons.

    Parameters
    ----------
    a : the first accelerator's catalog name, e.g. 'H100-SXM'
    b : the second one's, e.g. 'MI300X' (ratio_b_over_a = price_b / price_a)

    Returns
    -------
    polars DataFrame: provider, term, price_a, price_b, date_a, date_b, ratio_b_over_a

    Examples
    --------
    >>> import infra_lab as il
    >>> il.economics.matched_rents("H100-SXM", "MI300X").columns
    ['provider', 'term', 'price_a', 'date_a', 'price_b', 'date_b', 'ratio_b_over_a']
    """
    import polars as pl

    from .data import _NOT_A_LIST, rental_prices

    A, B = V.accelerator(a), V.accelerator(b)

    def newest(acc):
        t = rental_prices(acc)
        t = t.filter(~pl.any_horizontal([pl.col("provider").str.starts_with(x) for x in _NOT_A_LIST]))
        if terms is not None:
            t = t.filter(pl.col("term").is_in(list(terms)))
        return (t.sort("date_observed", descending=True).group_by(["provider", "term"], maintain_order=True)
                .first().select("provider", "term", "price_usd_per_gpu_hour", "date_observed"))

    j = newest(A).join(newest(B), on=["provider", "term"], suffix="_b").rename(
        {"price_usd_per_gpu_hour": "price_a", "price_usd_per_gpu_hour_b": "price_b",
         "date_observed": "date_a", "date_observed_b": "date_b"})
    return j.with_columns((pl.col("price_b") / pl.col("price_a")).alias("ratio_b_over_a")).sort("provider", "term")


_SERVING_KEYS = ("source_key", "model", "engine", "isl_nominal", "osl_nominal", "concurrency",
                 "weight_precision", "kv_precision", "tp", "gpus")


def matched_serving(a: str, b: str) -> pl.DataFrame:
    """Published serving measurements of ``a`` and ``b`` run the same way: same source, model,
    engine, input/output lengths, concurrency, precisions, parallelism and GPU count
    (``data/measurements/serving_benchmarks.csv``). Measured, not modelled: the per-served-token
    comparison until the serving model is used for it.

    Parameters
    ----------
    a : the first accelerator's catalog name, e.g. 'H100-SXM'
    b : the second one's, e.g. 'MI300X' (ratio_b_over_a = b's throughput / a's)

    Returns
    -------
    polars DataFrame: the matching keys, tokens_per_s_per_gpu_a, tokens_per_s_per_gpu_b
    (output tokens per second per GPU), ratio_b_over_a, source_url, source_grade

    Examples
    --------
    >>> import infra_lab as il
    >>> df = il.economics.matched_serving("H100-SXM", "MI300X")
    >>> "ratio_b_over_a" in df.columns
    True
    """
    import polars as pl

    A, B = V.accelerator(a), V.accelerator(b)
    t = catalog.read_table(catalog.DATA_DIR / "measurements" / "serving_benchmarks.csv", {
        "source_key": Col("str", required=True), "model": Col("str", required=True),
        "accelerator": Col("str", required=True), "engine": Col("str", required=True),
        "output_tokens_per_s_per_gpu": Col("float", positive=True), "source_grade": Col("str")})
    t = t.filter(pl.col("output_tokens_per_s_per_gpu").is_not_null())
    keys = [k for k in _SERVING_KEYS if k in t.columns]
    cols = [*keys, "output_tokens_per_s_per_gpu", "source_url", "source_grade"]
    ta = t.filter(pl.col("accelerator") == A).select(cols)
    tb = t.filter(pl.col("accelerator") == B).select(keys + ["output_tokens_per_s_per_gpu"])
    j = ta.join(tb, on=keys, suffix="_b", nulls_equal=True).rename(
        {"output_tokens_per_s_per_gpu": "tokens_per_s_per_gpu_a", "output_tokens_per_s_per_gpu_b": "tokens_per_s_per_gpu_b"})
    return j.with_columns((pl.col("tokens_per_s_per_gpu_b") / pl.col("tokens_per_s_per_gpu_a")).alias("ratio_b_over_a"))


def _generic_specs(accelerator: str, host: tuple[Param, ...] = ()) -> dict[str, Any]:
    """Specs with the ``all`` rows for everything except the accelerator's own power ratio:
    the same host, network and opex for every accelerator (like for like); the rows of
    ``host`` replace the generic rows of their name where the purchase price already includes
    the host or the NICs (:func:`_host_spec`)."""
    out = {}
    for r in parameter_table().iter_rows(named=True):
        if r["scope"] == "all":
            out[r["name"]] = _param_of(r)
    out["server_power_ratio"] = parameters(accelerator)["server_power_ratio"]
    for p in host:
        out[p.name] = p
    return out


_INCLUDED_IN_OWN_PRICE = ("host_usd_per_gpu", "nic_usd")
"""Rows an accelerator's own purchase-price default may make 0 because its price (a server,
DGX or rack price) already includes the item: the host, and the scale-out NICs."""


def _host_spec(acc: str, capex_basis: str) -> tuple[Param, ...]:
    """The rows of a like-for-like owned cost that replace the generic ones because the
    purchase price already includes what they price; () where none does (the generic
    ``all`` host and NIC are drawn, as for a baseboard or GPU-only price).

    A listing on a basis of :data:`~infra_lab.economics.data.HOST_INCLUDED_BASES` (server,
    rack) includes the host: no host is added (its NICs are not stated by the basis, so the
    generic NIC stays). A fallback to the accelerator's own purchase-price default takes the
    accelerator's own host and NIC rows where parameters.csv has them (the default is then a
    server, DGX or rack price: GB200's rack price includes its Grace CPUs and CX7 NICs, host
    and NIC rows 0), else the generic ones (an ASP is the GPU alone). Adding the generic host
    or NIC to a price that includes one counted it twice."""
    generic = next(r for r in parameter_table().iter_rows(named=True)
                   if r["name"] == "host_usd_per_gpu" and r["scope"] == "all")
    if capex_basis in HOST_INCLUDED_BASES:
        return (dataclasses.replace(_param_of(generic), scope=acc, value=0.0, low=0.0, high=0.0,
                                    note=f"the {capex_basis} price includes the host"),)
    if capex_basis.startswith("default purchase price"):
        own = parameters(acc)
        return tuple(own[k] for k in _INCLUDED_IN_OWN_PRICE if k in own and own[k].scope != "all")
    return ()


def _fixed_like_for_like(fixed: Any, where: str, capex: str) -> dict[str, float]:
    """``fixed=`` of the like-for-like comparisons: owned-cost inputs held constant for every
    accelerator, checked by name and bounds. The purchase price and the TDP are each
    accelerator's own (``capex`` says where the price comes from)."""
    f = V.table("fixed", fixed)
    if "capex_usd_per_gpu" in f:
        raise ValidationError(f"fixed['capex_usd_per_gpu'] = {f['capex_usd_per_gpu']!r}: not an input of {where}; {capex}")
    if "tdp_W" in f:
        hint = (" (owned_gpu_hour_quote takes tdp_W=... for a part it has none for)"
                if where == "owned_gpu_hour_quote" else "")
        raise ValidationError(f"fixed['tdp_W'] = {f['tdp_W']!r}: not an input of {where}(fixed=...); each "
                              f"accelerator's TDP comes from data/accelerators.csv{hint}")
    return V.input_table("fixed", f, [k for k in OWNED_PARAMS if k != "capex_usd_per_gpu"] + ["network_usd_per_gpu"],
                         where=f"{where}(fixed=...)")


def _catalog_tdp(acc: str, where: str) -> float:
    """The accelerator's TDP from data/accelerators.csv [W], or an error saying how to pass one."""
    tdp = catalog.accelerator(acc).tdp_W
    if tdp is None or tdp != tdp:
        raise ValidationError(f"tdp_W: {acc} has no TDP in data/accelerators.csv; cannot price energy "
                              f"({where}: pass tdp_W=... [W per GPU])")
    return float(tdp)


DRAWS_CACHE_BYTES = 512 * 2**20
"""Most bytes the like-for-like draws kept in memory take together [B] (:func:`_like_for_like_draws`):
512 MiB, about six arrays of the default 10 million draws (80 MB each). A count of entries bounded
nothing: 256 entries of 10 million draws were 20 GB, which a price slider or a sweep fills."""


class _BytesBoundedCache:
    """A memo of a function returning arrays, bounded by their bytes rather than their count:
    the least recently used entries leave until the arrays kept take at most ``budget`` bytes
    (one larger than the budget alone is returned and not kept). Keyed by the positional
    arguments with the function's defaults filled in, so that ``f(a)`` and ``f(a, ())`` are one
    entry; the arrays it returns are the function's own (read-only), bit for bit."""

    def __init__(self, fn, budget: int):
        import inspect
        from collections import OrderedDict

        self.__wrapped__ = fn
        functools.update_wrapper(self, fn)
        self._signature = inspect.signature(fn)
        self.budget = int(budget)
        self._store: OrderedDict = OrderedDict()
        self.nbytes = 0

    def __call__(self, *args, **kwargs):
        b = self._signature.bind(*args, **kwargs)
        b.apply_defaults()
        key = tuple(b.arguments.values())
        hit = self._store.get(key)
        if hit is not None:
            self._store.move_to_end(key)
            return hit
        value = self.__wrapped__(*args, **kwargs)
        if value.nbytes <= self.budget:
            self._store[key] = value
            self.nbytes += value.nbytes
            while self.nbytes > self.budget:
                self.nbytes -= self._store.popitem(last=False)[1].nbytes
        return value

    def cache_clear(self) -> None:
        self._store.clear()
        self.nbytes = 0

    def __len__(self) -> int:
        return len(self._store)


def _bytes_bounded_cache(budget: int):
    return lambda fn: _BytesBoundedCache(fn, budget)


@_bytes_bounded_cache(DRAWS_CACHE_BYTES)
def _like_for_like_draws(acc: str, price: float, n: int, seed: int,
                         fixed_items: tuple[tuple[str, float], ...], tdp_W: float,
                         scale_items: tuple[tuple[str, float], ...] = (),
                         host: tuple[Param, ...] = ()) -> np.ndarray:
    """Owned cost per useful GPU-hour of ``acc`` bought at ``price`` [USD per GPU], ``n``
    draws of the generic (same for every accelerator) host, network and opex ranges with
    ``seed``, at ``tdp_W`` [W] (:func:`_catalog_tdp` unless given), the inputs of ``scale_items``
    multiplied by their factor in every draw, ``host`` in place of the generic host row where the
    price includes the host or the NICs (:func:`_host_spec`); cached (read-only array) so that widgets and
    notebooks re-read it for free, up to :data:`DRAWS_CACHE_BYTES` of arrays in all (least
    recently used out first).

    Drawn and priced in the numba kernel (``montecarlo._kernel_owned_cost``, the owned-cost
    Monte Carlo's): 10 million draws take seconds where the numpy path
    (:func:`_like_for_like_reference`, kept as the reference the tests compare with; to the
    bit on these triangular ranges but for ``pow``'s last bit) took 36 s to minutes and about
    2 GB (benchmarks/bench_economics.py)."""
    from .montecarlo import _kernel_owned_cost

    n = V.draws(n)
    seed = V.seed(seed)
    fixed = {k: V.number(f"fixed[{k!r}]", x) for k, x in fixed_items}
    if "network_usd_per_gpu" in fixed:      # as monte_carlo_owned_cost: the same bits, 1 x nv + 0 x ports ...
        nv = fixed.pop("network_usd_per_gpu")
        fixed.update(nic_usd=nv, nics_per_gpu=1.0, switch_port_usd=0.0, optics_usd=0.0)
    fixed["capex_usd_per_gpu"] = float(price)
    cost = _kernel_owned_cost(_generic_specs(acc, host), n, seed, fixed, float(tdp_W), scale=dict(scale_items))
    cost.flags.writeable = False
    return cost


def _like_for_like_reference(acc: str, price: float, n: int, seed: int,
                             fixed_items: tuple[tuple[str, float], ...], tdp_W: float,
                             scale_items: tuple[tuple[str, float], ...] = (),
                             host: tuple[Param, ...] = ()) -> np.ndarray:
    """:func:`_like_for_like_draws` on the numpy path (``uncertainty.sample`` for every input,
    then the vectorized ``_owned_components``): the plain reference of the kernel, for the
    tests and the benchmark."""
    s = U.sample(_generic_specs(acc, host), n, seed, [k for k in OWNED_PARAMS if k != "capex_usd_per_gpu"],
                 fixed=dict(fixed_items))
    for k, factor in scale_items:
        s[k] = s[k] * factor
    s["capex_usd_per_gpu"] = np.full(n, price)
    s["tdp_W"] = float(tdp_W)
    return np.array(_owned_components(s)["total"], dtype=float)


def owned_gpu_hour_quote(accelerator: str, *, price: float | None = None, basis: str = "baseboard",
                         n: int = LIKE_FOR_LIKE_DRAWS, seed: int = LIKE_FOR_LIKE_SEED,
                         fixed: Mapping[str, float] | None = None, tdp_W: float | None = None,
                         scale: Mapping[str, float] | None = None) -> dict[str, Any]:
    """The like-for-like owned cost of one useful GPU-hour of ``accelerator``, with where its
    purchase price comes from: the one owned price per GPU-hour of the package (notebook 05's
    :func:`compare_owned`, serving's ``gpu_hour_price``, notebooks 07 and 09).

    Basis: the newest listing of the 8-GPU baseboard (``purchase_prices.csv``, ``basis``) plus
    the same host, per-port network and opex ranges for every accelerator, ``n`` Monte Carlo
    draws with ``seed`` (the same draws as :func:`compare_owned` with that ``n`` and ``seed``).
    An accelerator without a listing on ``basis`` falls back to its own purchase-price default
    (``parameters(accelerator)["capex_usd_per_gpu"]``, an analyst ASP) and says so in
    ``capex_basis``. A price that already includes the host (a listing on the "server" or
    "rack" basis, or a default purchase price on such a basis: GB200's rack price) gets no
    second host: the accelerator's own host row, 0. Cached: a repeated call costs a
    dictionary look-up.

    A part with neither (announced, or never listed) is priced on the same basis with the
    purchase price passed as ``price`` and, where data/accelerators.csv has no TDP, the TDP
    as ``tdp_W``: the same draws of the same host, network and opex, so its GPU-hour compares
    with the listed parts' (notebook 08 passes data/expansion's assumptions this way, and an
    800G NIC as twice the 400G-equivalent switch ports and optics: ``scale``).

    Parameters
    ----------
    accelerator : catalog name
    price : purchase price [USD per GPU] instead of the listing (``capex_basis`` "given")
    basis : purchase_prices.csv basis of the listing ("baseboard")
    n, seed : Monte Carlo draws and seed
    fixed : owned-cost inputs held constant (as :func:`compare_owned`'s ``fixed``)
    tdp_W : TDP [W per GPU] instead of data/accelerators.csv's (needed where it has none)
    scale : owned-cost input -> factor (> 0) each draw of it is multiplied by (its range
        scaled, unlike ``fixed``, which holds it at one value)

    Returns
    -------
    dict: accelerator, usd_per_gpu_hour (the P50), p5, p95 [USD per useful GPU-hour],
    purchase_price_usd_per_gpu, capex_basis, price_date, tdp_W, draws, seed

    Examples
    --------
    >>> import infra_lab as il
    >>> q = il.economics.owned_gpu_hour_quote("MI300X", n=2000)
    >>> q["accelerator"], q["p5"] <= q["usd_per_gpu_hour"] <= q["p95"]
    ('MI300X', True)
    """
    acc = V.accelerator(accelerator)
    f = _fixed_like_for_like(fixed, "owned_gpu_hour_quote", "pass the purchase price as price=...")
    p = None if price is None else V.positive("price", price, hi=5e6)
    t = None if tdp_W is None else V.bounded("tdp_W", tdp_W)
    sc = V.table("scale", scale, "owned-cost input -> factor")
    drawn = [k for k in OWNED_PARAMS if k != "capex_usd_per_gpu"]
    for k, x in sc.items():
        if k not in drawn:
            raise unknown("owned-cost input", k, drawn, where="owned_gpu_hour_quote(scale=...)")
        if k in f:
            raise ValidationError(f"scale[{k!r}]: {k} is also in fixed; give it in one of the two")
        sc[k] = V.positive(f"scale[{k!r}]", x, hi=1e3)
    V.choice("basis", basis, BASES)
    n = V.draws(n)
    seed = V.seed(seed)
    return dict(_owned_quote(acc, p, basis, n, seed, tuple(sorted(f.items())), t, tuple(sorted(sc.items()))))


def _purchase(acc: str, price: float | None, basis: str, *, where: str) -> tuple[float, str, Any]:
    """The purchase price of the like-for-like owned cost [USD per GPU], its basis and date:
    ``price`` where given, else the newest listing on ``basis`` (purchase_prices.csv), else the
    accelerator's own purchase-price default (parameters.csv), else an error saying how to
    pass one. The one resolution :func:`owned_gpu_hour_quote` and :func:`compare_owned` share."""
    if price is not None:
        return float(price), "given", None
    try:
        pp = purchase_price(acc, basis)
        return float(pp["price_usd_per_gpu"]), pp["basis"], pp["date"]
    except NoPurchasePriceError:
        par = parameters(acc).get("capex_usd_per_gpu")
        if par is None:
            raise NoPurchasePriceError(
                f"{where}: {acc} has no {basis} listing in purchase_prices.csv and no public purchase price; "
                f"pass one: price=... (compare_owned: prices={{{acc!r}: ...}}; il.serving.gpu_hour_price: "
                f"capex_usd_per_gpu=...) [USD per GPU]") from None
        return float(par.value), f"default purchase price (no {basis} listing)", None


@functools.lru_cache(maxsize=256)
def _owned_quote(acc: str, price: float | None, basis: str, n: int, seed: int,
                 fixed_items: tuple[tuple[str, float], ...], tdp_W: float | None = None,
                 scale_items: tuple[tuple[str, float], ...] = ()) -> dict[str, Any]:
    p, cb, date = _purchase(acc, price, basis, where="owned_gpu_hour_price")
    tdp = _catalog_tdp(acc, "owned_gpu_hour_quote") if tdp_W is None else tdp_W
    cost = _like_for_like_draws(acc, p, n, seed, fixed_items, tdp, scale_items, _host_spec(acc, cb))
    b = U.band(cost)
    return {"accelerator": acc, "usd_per_gpu_hour": float(b.p50), "p5": float(b.p5), "p95": float(b.p95),
            "purchase_price_usd_per_gpu": p, "capex_basis": cb, "price_date": date, "tdp_W": tdp,
            "draws": n, "seed": seed}


def owned_gpu_hour_price(accelerator: str, **kwargs: Any) -> float:
    """Like-for-like owned cost of one useful GPU-hour [USD/GPU-h]: the P50 of
    :func:`owned_gpu_hour_quote` (same keywords), i.e. notebook 05's ``owned_p50``.

    Examples
    --------
    >>> 1.0 < owned_gpu_hour_price("MI300X") < owned_gpu_hour_price("H100") < 10
    True
    """
    return owned_gpu_hour_quote(accelerator, **kwargs)["usd_per_gpu_hour"]


def rented_gpu_hour_price(accelerator: str, term: str = "on-demand", *, statistic: str = "median",
                          provider: str | None = None, matched_with: str | None = None) -> float:
    """Rented price of one GPU-hour of ``accelerator`` [USD/GPU-h] on ``term``.

    * ``provider``: that provider's newest price (:func:`rental_price`);
    * ``matched_with``: ``statistic`` over the providers that list both ``accelerator`` and
      ``matched_with`` on ``term`` (:func:`matched_rents`), so that two accelerators priced
      with each other as ``matched_with`` compare at the same providers; where no provider
      lists both, the same as without it;
    * otherwise ``statistic`` over every provider's newest price (:func:`cloud_price`).

    Examples
    --------
    >>> import infra_lab as il
    >>> il.economics.rented_gpu_hour_price("MI300X") == il.economics.cloud_price("MI300X")
    True
    """
    if provider is not None:
        if matched_with is not None:
            raise ValidationError("matched_with: not with provider (a provider's price is already matched)")
        return float(rental_price(accelerator, provider, term))
    V.choice("statistic", statistic, _STATISTICS)        # cloud_price's statistics, one table
    if matched_with is not None:
        m = matched_rents(accelerator, matched_with, [term])
        if m.height:
            return float(_STATISTICS[statistic](m["price_a"].to_numpy()))
    return float(cloud_price(accelerator, term, statistic=statistic))


def compare_owned(tokens_per_s_per_gpu: Mapping[str, float], *,
                  prices: Mapping[str, float] | None = None,
                  basis: str = "baseboard", n: int = LIKE_FOR_LIKE_DRAWS,
                  seed: int = LIKE_FOR_LIKE_SEED,
                  fixed: Mapping[str, float] | None = None,
                  reference: str | None = None) -> pl.DataFrame:
    """Owned cost per trained token, like for like, with Monte Carlo bands.

    Parameters
    ----------
    tokens_per_s_per_gpu : accelerator -> training throughput [tokens/s per GPU] (from
        :func:`training_throughput`)
    prices : accelerator -> purchase price [USD per GPU] on ``basis``; default the newest
        listing of that basis in purchase_prices.csv, else the accelerator's own purchase-price
        default (as :func:`owned_gpu_hour_quote`; the ``capex_basis`` column says which)
    basis : "baseboard" (default: 8-GPU boards from distributors, no host) or another basis
        of purchase_prices.csv; the same host, network and opex ranges are added for all
        (no host to a price that includes one: "server", "rack", as :func:`owned_gpu_hour_quote`)
    n, seed : Monte Carlo draws; the same seed gives every accelerator the same quantile of
        every shared input (common random numbers), so the ratio band is not noise
    fixed : inputs held constant for all
    reference : accelerator the ratios are against (default the first)

    Returns
    -------
    polars DataFrame: accelerator, purchase_price_usd_per_gpu, capex_basis, price_date, tokens_per_s_per_gpu,
    owned_p5/p50/p95 [USD per useful GPU-hour], usd_per_m_tokens_p5/p50/p95, ratio_p5/p50/p95
    (per-draw cost per token over the reference's)

    Examples
    --------
    >>> import infra_lab as il
    >>> df = il.economics.compare_owned({"MI300X": 1000.0, "H100-SXM": 1000.0}, n=2000)
    >>> sorted(df["accelerator"].to_list()), "usd_per_m_tokens_p50" in df.columns
    (['H100-SXM', 'MI300X'], True)
    """
    import polars as pl

    if not isinstance(tokens_per_s_per_gpu, Mapping) or not tokens_per_s_per_gpu:
        raise ValidationError("tokens_per_s_per_gpu: expected a non-empty dict accelerator -> tokens/s per GPU")
    accs = [V.accelerator(a) for a in tokens_per_s_per_gpu]
    tps = {V.accelerator(a): V.positive(f"tokens_per_s_per_gpu[{a!r}]", x, hi=1e9)
           for a, x in tokens_per_s_per_gpu.items()}
    prices = {V.accelerator(a): V.positive(f"prices[{a!r}]", x, hi=5e6) for a, x in (prices or {}).items()}
    V.choice("basis", basis, BASES)
    n, seed = V.draws(n), V.seed(seed)    # before the cached draws: a list there raised lru_cache's TypeError
    ref = V.accelerator(reference) if reference is not None else accs[0]
    if ref not in tps:
        raise ValidationError(f"reference = {reference!r}: not among the accelerators compared")
    fixed = _fixed_like_for_like(fixed, "compare_owned",
                                 "pass the purchase prices as prices={accelerator: USD per GPU}")
    per_tok, rows = {}, {}
    for acc in accs:
        price, cb, date = _purchase(acc, prices.get(acc), basis, where="compare_owned")
        cost = _like_for_like_draws(acc, price, n, seed, tuple(sorted(fixed.items())),
                                    _catalog_tdp(acc, "compare_owned"), (), _host_spec(acc, cb))
        per_tok[acc] = cost / (tps[acc] * HOUR) * 1e6
        rows[acc] = {"accelerator": acc, "purchase_price_usd_per_gpu": price, "capex_basis": cb, "price_date": date,
                     "tokens_per_s_per_gpu": tps[acc],
                     **{f"owned_{k}": v for k, v in U.band(cost).as_dict().items() if k != "mean"},
                     **{f"usd_per_m_tokens_{k}": v for k, v in U.band(per_tok[acc]).as_dict().items() if k != "mean"}}
    out = []
    for acc in accs:
        b = U.band(per_tok[acc] / per_tok[ref])
        out.append({**rows[acc], "ratio_p5": b.p5, "ratio_p50": b.p50, "ratio_p95": b.p95})
    return pl.DataFrame(out)


def break_even_capex(accelerator: str, target_usd_per_m_tokens: float, tokens_per_s_per_gpu: float,
                     *,
                     n: int = LIKE_FOR_LIKE_DRAWS, seed: int = LIKE_FOR_LIKE_SEED,
                     fixed: Mapping[str, float] | None = None) -> Band:
    """Purchase price [USD per GPU] at which ``accelerator``'s owned cost per trained token
    equals ``target_usd_per_m_tokens`` (e.g. a competitor's P50), with the same host,
    network and opex ranges as :func:`compare_owned`. The owned cost is affine in the price,
    so each draw is solved exactly.

    Parameters
    ----------
    target_usd_per_m_tokens : the owned cost per trained token to match [USD per 1e6 tokens]

    Returns
    -------
    :class:`~infra_lab.economics.uncertainty.Band` of the break-even price [USD per GPU]
    (negative values mean no price is low enough)

    Examples
    --------
    >>> import infra_lab as il
    >>> b = il.economics.break_even_capex("MI300X", 1.0, 1000.0, n=2000)
    >>> type(b).__name__, b.p5 <= b.p50 <= b.p95
    ('Band', True)
    """
    acc = V.accelerator(accelerator)
    target = V.positive("target_usd_per_m_tokens", target_usd_per_m_tokens, hi=1e6)
    tps = V.positive("tokens_per_s_per_gpu", tokens_per_s_per_gpu, hi=1e9)
    n, seed = V.draws(n), V.seed(seed)    # n = 3.0 reached np.zeros(n) below (numpy's TypeError)
    fixed = _fixed_like_for_like(fixed, "break_even_capex", "the purchase price is the answer here")
    tdp = _catalog_tdp(acc, "break_even_capex")
    # the cost at two prices on the same draws (the owned-cost kernel, as the quote draws them)
    c0 = _like_for_like_draws(acc, 0.0, n, seed, tuple(sorted(fixed.items())), tdp)
    c1 = _like_for_like_draws(acc, 1e4, n, seed, tuple(sorted(fixed.items())), tdp)
    slope = (c1 - c0) / 1e4
    target_h = target * tps * HOUR / 1e6
    return U.band((target_h - c0) / slope)


# --------------------------------------------------------------------------------------
# Deprecated: a separate software-efficiency factor
# --------------------------------------------------------------------------------------
def useful_work_cost(accelerator: str, price_usd_per_gpu_hour: float, mfu: float,
                     software_efficiency: float = 1.0, *, precision: str = "bf16",
                     flop_per_token: float | None = None) -> dict[str, float]:
    """Deprecated: dollars per achieved PFLOP-hour at a stated MFU.

    Economics no longer carries a ``software_efficiency`` factor; compare accelerators with
    :func:`training_throughput` (the training model) and :func:`per_token_cost`.
    """
    warnings.warn("useful_work_cost is deprecated: use training_throughput + per_token_cost (throughput "
                  "from il.search on each accelerator)", DeprecationWarning, stacklevel=user_stacklevel())
    canon = V.accelerator(accelerator)
    p = V.positive("price_usd_per_gpu_hour", price_usd_per_gpu_hour, hi=1e4)
    m = V.fraction("mfu", mfu)
    s = V.number("software_efficiency", software_efficiency, lo=0.0, lo_open=True, hi=2.0)
    achieved = catalog.accelerator(canon).peak(precision) * m * s
    out = {"achieved_flops": achieved, "usd_per_pflop_hour": p / (achieved / 1e15),
           "software_efficiency": s, "mfu_effective": m * s}
    if flop_per_token is not None:
        tok_per_h = achieved * HOUR / V.positive("flop_per_token", flop_per_token, hi=1e16)
        out["usd_per_million_tokens"] = p / tok_per_h * 1e6
    return out


def compare_useful_work(cases: Iterable[Mapping[str, Any]], *, flop_per_token: float,
                        precision: str = "bf16") -> pl.DataFrame:
    """Deprecated: table of :func:`useful_work_cost`; use :func:`compare_owned` /
    :func:`matched_rents` with throughput from :func:`training_throughput`.

    Parameters
    ----------
    cases : a list of dicts, each with accelerator, price_usd_per_gpu_hour [USD/GPU-h] and mfu
        [fraction] (useful_work_cost's arguments)
    flop_per_token : training FLOPs per token [FLOP/token] (6 x active parameters)
    """
    import polars as pl

    warnings.warn("compare_useful_work is deprecated: use training_throughput, compare_owned and "
                  "matched_rents", DeprecationWarning, stacklevel=user_stacklevel())
    if isinstance(cases, (str, bytes, Mapping)) or not isinstance(cases, Iterable):
        raise ValidationError(f"cases = {cases!r}: expected a list of dicts (accelerator, price_usd_per_gpu_hour, mfu)")
    V.positive("flop_per_token", flop_per_token, hi=1e16)
    rows = []
    for c in cases:
        if not isinstance(c, Mapping):
            raise ValidationError(f"case {c!r}: expected a dict with accelerator, price_usd_per_gpu_hour, mfu")
        for k in ("accelerator", "price_usd_per_gpu_hour", "mfu"):
            if k not in c:
                raise ValidationError(f"case {dict(c)!r}: missing {k!r}")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            r = useful_work_cost(c["accelerator"], c["price_usd_per_gpu_hour"], c["mfu"],
                                 c.get("software_efficiency", 1.0), precision=precision, flop_per_token=flop_per_token)
        acc = catalog.accelerator(V.accelerator(c["accelerator"]))
        rows.append({"label": c.get("label", acc.name), "accelerator": acc.name, "vendor": acc.vendor,
                     "price_usd_per_gpu_hour": float(c["price_usd_per_gpu_hour"]), "mfu": float(c["mfu"]),
                     "software_efficiency": r["software_efficiency"], "mfu_effective": r["mfu_effective"],
                     "achieved_tflops": r["achieved_flops"] / 1e12, "usd_per_pflop_hour": r["usd_per_pflop_hour"],
                     "usd_per_million_tokens": r["usd_per_million_tokens"]})
    return pl.DataFrame(rows)
