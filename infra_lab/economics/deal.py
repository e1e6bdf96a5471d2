"""Who makes money: a deal P&L for AMD, IBM and Zyphra on the 1,024-MI300X cluster, with
Monte Carlo ranges and the unknowns named.

Every line is computed from parameters.csv (ranges), company_facts.csv (filings and
releases) and the operator and bill models; nothing is typed in. The deal terms themselves
(what IBM paid AMD, what Zyphra pays IBM, for how long) are **not public**: the ranges are
the answer, and the ``unknowns`` say what would narrow them.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

import numpy as np

from .. import catalog
from .._repr import NOT_REPAID, Printout, band_text
from ..errors import ValidationError, unknown
from . import _validate as V
from . import uncertainty as U
from .data import HOURS_PER_MONTH, _no_price, _reference_cluster, company_fact, parameters
from .finance import (
    OPERATOR_PARAMS,
    PATHS,
    _book_profit_by_year,
    _contract_default,
    _months_to_first_sale,
    _operator_cash_flows,
    _retire_rule,
    irr_array,
    payback_band,
)
from .owned import FABRIC_COUNTS, OWNED_PARAMS, _tdp, fabric_count_factors

__all__ = ["DealPnL", "deal_pnl", "UNKNOWNS"]

UNKNOWNS = (
    "IBM's purchase price for the GPUs (from AMD's selling price to a hyperscaler to a distributor's listing: "
    "capex_usd_per_gpu's range in data/economics/parameters.csv) and whether it bought through an OEM",
    "the IBM-Zyphra contract: price per GPU-hour, term, and whether it is paid in cash, credits or co-investment",
    "whether the cluster carries Pensando DPUs, and the Pollara 400 NIC price (neither is public)",
    "IBM's re-lease price and sold share after the contract, in a thin market for AMD rentals",
    "AMD's engineering support, price concessions or co-marketing for the reference deployment",
    "Zyphra's use of the contracted hours beyond the final run (ablations, other runs, work on its Maia agent product)",
)
"""What is not public and would narrow the ranges (:func:`deal_pnl` prints the purchase-price
range of the accelerator it prices in the first one)."""


@dataclass(frozen=True)
class DealPnL(Printout):
    """The deal P&L: ``table`` (party, line, p5, p50, p95, unit, how) and the named unknowns."""

    table: object = field(repr=False)
    unknowns: tuple[str, ...] = UNKNOWNS

    def line(self, party: str, line: str) -> U.Band:
        """The band of one line."""
        import polars as pl

        t = self.table.filter((pl.col("party") == party) & (pl.col("line") == line))
        if t.height != 1:
            from ..errors import unknown

            raise unknown("deal line", f"{party}: {line}", [f"{a}: {b}" for a, b in self.table.select("party", "line").iter_rows()])
        r = t.row(0, named=True)
        return U.Band(r["p5"], r["p50"], r["p95"], r["mean"], r["n"])

    def _printout(self) -> str:
        """One line per party and line: P50 (P5 to P95) and the unit (fractions and rates per
        year as percentages), the three figures at one
        precision (4 significant figures of the largest, :func:`~infra_lab._repr.band_text`: a
        band that crosses zero prints no long float, exponent or '-0'); the unknowns; the exact
        values are ``table``."""
        def text(r: dict) -> str:   # a fraction as a percentage (0.003103 reads 0.3103 %), a rate
            # per year (IRR, a fraction per year) as a percentage per year
            k, unit = {"fraction": (100.0, "%"), "per year": (100.0, "% per year")}.get(r["unit"], (1.0, r["unit"]))
            band = band_text(k * r['p50'], k * r['p5'], k * r['p95'])
            if r["line"] == "payback" and math.inf in (r["p50"], r["p5"], r["p95"]):   # never repaid: .table keeps inf
                return f"{band.replace('inf', 'never')} {unit} (never: {NOT_REPAID})"
            return f"{band} {unit}"

        rows = [(f"{r['party']}: {r['line']}", text(r)) for r in self.table.iter_rows(named=True)]
        width = max((len(a) for a, _ in rows), default=0)
        n = self.table["n"][0] if self.table.height else 0
        lines = [f"DealPnL: P50 (P5 to P95) of {n:,} draws"]
        lines += [f"  {a.ljust(width)}  {b}" for a, b in rows]
        lines += [f"  unknown: {u}" for u in self.unknowns]
        lines.append("  (exact values and how each line is computed: .table)")
        return "\n".join(lines)


def _cluster(acc: str, n_gpus: Any, nodes: Any) -> tuple[int, int]:
    """(GPUs, nodes) of the deal's cluster, checked. GPUs default to the reference scenario's
    (:data:`~infra_lab.economics.REFERENCE_SCENARIO`); nodes to GPUs / the accelerator's GPUs
    per node (``node_gpus`` of data/network_platforms.csv, :func:`infra_lab.fabric.platform`:
    physical GPUs per server or compute tray); GPUs given only nodes to nodes x that. A pair
    given together must put a whole number of GPUs, at most ``node_gpus``, in every node."""
    from ..fabric import platform

    per = int(platform(acc)["node_gpus"])
    if n_gpus is None and nodes is not None:
        nn = V.integer("nodes", nodes, lo=1, hi=1_000_000)
        return V.integer("n_gpus", nn * per, lo=1, hi=10_000_000), nn
    ng = V.integer("n_gpus", _reference_cluster()[0] if n_gpus is None else n_gpus, lo=1, hi=10_000_000)
    if nodes is None:   # n_gpus = 2,048 priced the reference's 128 nodes (16 GPUs a node)
        if ng % per:
            lo = ng // per * per
            raise ValidationError(
                f"n_gpus = {ng:,}: not a whole number of {acc} nodes of {per} GPUs (node_gpus in "
                f"data/network_platforms.csv); pass a multiple of {per} "
                f"(e.g. {' or '.join(f'{g:,}' for g in (lo, lo + per) if g > 0)}) or nodes= as well")
        return ng, ng // per
    nn = V.integer("nodes", nodes, lo=1, hi=1_000_000)
    full = -(-ng // per)   # the fewest nodes that hold n_gpus
    if ng % nn:   # 1,024 GPUs in 100 nodes (10.24 per node) priced 100 nodes' DPUs unannounced
        raise ValidationError(f"nodes = {nn}: must divide n_gpus = {ng:,} (a whole number of GPUs per node, "
                              f"at most {per} in a {acc} node); allowed: a divisor of {ng:,} from {full:,} up"
                              f"{f' ({full:,} nodes of {per})' if ng % per == 0 else ''}, or leave nodes out")
    if ng // nn > per:
        raise ValidationError(f"n_gpus = {ng:,} and nodes = {nn:,}: {ng // nn} GPUs per node, but a {acc} node "
                              f"holds at most {per} (node_gpus in data/network_platforms.csv); allowed nodes: "
                              f"a divisor of {ng:,} from {full:,} up (n_gpus / {per}"
                              f"{', rounded up' if ng % per else ''}), or leave nodes out")
    return ng, nn


def _reference_fabric_cluster(acc: str, n_gpus: int, nodes: int) -> Any:
    """The HardwareConfig of ``n_gpus`` of ``acc`` (a canonical name) in ``nodes`` nodes on the
    reference scenario's fabric (ZAYA1's: rails-only, non-blocking) with the part's default NIC:
    whole nodes of the part's own size where ``n_gpus`` = ``nodes`` x its GPUs per node (a
    rack-scale part's partly used racks as
    :func:`~infra_lab.scenario.hardware_table.own_node_layout` packs them), else ``n_gpus`` /
    ``nodes`` GPUs in each node. The cluster :func:`deal_pnl` and :func:`~infra_lab.economics.tco`
    price without ``hardware=`` (inputs unchecked: their callers check them)."""
    from ..fabric import hardware_config, platform
    from ..scenario.hardware_table import own_node_layout
    from .data import _reference_scenario

    ref = _reference_scenario().hardware
    per = int(platform(acc)["node_gpus"])
    layout = own_node_layout(acc, n_gpus, "n_gpus") if n_gpus == nodes * per else \
        {"nodes": nodes, "gpus_per_node": n_gpus // nodes}
    return hardware_config({"accelerator": acc, **{k: v for k, v in layout.items() if v is not None},
                            "fabric": ref.fabric, "oversubscription": ref.oversubscription})


def _deal_hardware(accelerator: Any, n_gpus: Any, nodes: Any, hardware: Any) -> tuple[str, int, int, Any]:
    """(accelerator, GPUs, nodes, [hardware]) of the deal's cluster. Without ``hardware`` the
    cluster is ``n_gpus`` / ``nodes`` of ``accelerator`` (None: MI300X; :func:`_cluster`) on the
    reference scenario's fabric (ZAYA1's: rails-only, non-blocking) with the part's default NIC,
    in whole nodes of the part's own size (a rack-scale part's partly used racks as
    :func:`~infra_lab.scenario.hardware_table.own_node_layout` packs them); with it, the
    hardware's (``n_gpus``, ``nodes`` and a contradicting ``accelerator`` refused)."""
    from ..fabric import hardware_config

    if hardware is None:
        acc = V.accelerator("MI300X" if accelerator is None else accelerator)
        ng, nn = _cluster(acc, n_gpus, nodes)
        try:
            return acc, ng, nn, _reference_fabric_cluster(acc, ng, nn)
        except ValidationError as e:   # said in deal_pnl's own fields, not hardware.* ones
            raise ValidationError(f"deal_pnl: n_gpus = {ng:,} in nodes = {nn:,} of {acc}: no cluster of whole "
                                  f"scale-up domains holds them ({e}); pass a whole number of racks, or "
                                  "hardware= with domain_gpus") from None
    given = [f"{k} = {v!r}" for k, v in (("n_gpus", n_gpus), ("nodes", nodes)) if v is not None]
    hw = hardware_config(hardware)
    canon = catalog.accelerator(hw.accelerator).name
    if given:
        raise ValidationError(f"{' and '.join(given)} with hardware: the hardware sets the cluster ({hw.nodes:,} nodes, "
                              f"{hw.world_size:,} {canon}); pass hardware or n_gpus/nodes, not both")
    if accelerator is not None and V.accelerator(accelerator) != canon:
        raise ValidationError(f"accelerator = {accelerator!r} and hardware of {canon}: the deal is priced for the "
                              f"hardware's accelerator; pass accelerator = {canon!r} or leave it out")
    return canon, hw.world_size, hw.nodes, hw


def deal_pnl(final_run_gpu_hours: float, *, accelerator: str | None = None, goodput: float = 1.0,
             n_gpus: int | None = None, nodes: int | None = None, years: float | None = None, path: str = "decay",
             overrides: Mapping[str, Any] | None = None, n: int = 4000, seed: int = 0,
             retire: str | None = "when_unprofitable", hardware: Any = None,
             radix: int | None = None) -> DealPnL:
    """The deal P&L per party with P5/P50/P95 over every uncertain input.

    IBM's lines include its book operating profit per IBM diluted share in year 1 and in its
    worst year, year 1's against IBM's diluted EPS, and the years with a book loss: whether the
    cluster adds to or takes from IBM's earnings per share (company_facts.csv: FY2025 diluted
    shares and EPS). APPROXIMATE: pre-tax and before interest, as every IBM line here; a
    non-negative tax rate shrinks a year's profit or loss toward 0 without changing its sign, so
    the sign says accretive or dilutive before financing, and the size is an upper bound of the
    after-tax effect; debt-funded capex would add interest and make each year more dilutive.

    Parameters
    ----------
    final_run_gpu_hours : useful GPU-hours of ZAYA1's final pretraining run (il.estimate) [GPU-h]
    accelerator : the AMD accelerator the cluster is built of (catalog name; None: the
        hardware's, else MI300X); its purchase
        price, AMD's selling price (``amd_asp_usd_per_gpu``), TDP and contract price come
        from data/economics/parameters.csv where it has rows, else from ``overrides``
    goodput : useful share of that run's time (il.reliability), (0, 1]
    n_gpus, nodes : the cluster [GPUs], [nodes]. ``n_gpus`` defaults to the shipped scenario
        ``economics.REFERENCE_SCENARIO``'s (1,024), or to ``nodes`` x the accelerator's GPUs per
        node when only ``nodes`` is given; ``nodes`` to ``n_gpus`` / the accelerator's GPUs per
        node (``node_gpus`` of data/network_platforms.csv: 8 on MI300X, so 128 for 1,024 and
        256 for 2,048). A pair must put a whole number of GPUs, at most that many, in each node
    hardware : optional Scenario or [hardware] table: the cluster itself (its accelerator,
        nodes, GPUs per node, NIC and fabric; :func:`infra_lab.expansion.deal` passes an
        option's). Without it the cluster is ``n_gpus`` in ``nodes`` on the reference
        scenario's fabric (ZAYA1's rails-only, non-blocking) with the part's default NIC.
        Either way IBM buys that cluster's whole switches: its back-end network counts are
        :func:`~infra_lab.economics.fabric_network_counts` of it, entered as
        :func:`~infra_lab.economics.fabric_count_factors` says (each draw of parameters.csv's
        reference-fabric count scaled by the cluster's count over the row's mode, or held at
        0 where one scale-up domain has no switch); at 1,024 MI300X in 128 nodes the factors
        are 1 and the draws are parameters.csv's. Two nodes of 8 buy eight 64-port leaves, 32
        ports per GPU, not the reference fabric's 3: a deal on a small cluster is the price of
        a cluster built that small, not a share of a larger fabric
    radix : the back-end switches' port count (None: the catalog default), as
        :func:`~infra_lab.economics.tco`'s and ``owned_inputs``' ``radix``: the same
        :func:`~infra_lab.economics.fabric_count_factors` of the cluster at that radix
    years : IBM's horizon [years] (default its book life of IT equipment)
    path : IBM's rent path after the Zyphra contract ("decay", "rebound", "flat")
    overrides : name -> a number (held fixed) or a (low, value, high) triple (drawn
        triangular) for any sampled input (owned-cost and operator parameters,
        ``amd_asp_usd_per_gpu``, ``dpus_per_node``, ``dpu_usd``) and ``tdp_W`` [W]: how an
        expansion option's own assumptions enter (:func:`infra_lab.expansion.deal`). A network
        count given here (``nics_per_gpu``, ``switch_ports_per_gpu``, ``optics_per_gpu``) is
        taken as given in place of the fabric's (refused beside ``hardware``)
    n, seed : Monte Carlo draws and seed
    retire : IBM's retirement rule, as :func:`infra_lab.economics.provider_view`'s: by default
        each draw's cluster stops at the end of its last year with a positive cash margin and
        is sold at its residual value then; "max_npv" sells it after the year of the largest
        NPV; None runs it to the horizon

    Returns
    -------
    DealPnL

    Examples
    --------
    >>> d = deal_pnl(1e5, accelerator="MI355X", n=200, seed=1,
    ...              overrides={"capex_usd_per_gpu": 25000.0, "amd_asp_usd_per_gpu": 23000.0})
    >>> round(d.line("AMD", "GPU revenue").p50 / 1e6, 2)   # 1,024 x ~1.044 (hot spares, P50) x $23k
    24.63
    """
    import polars as pl

    gh = V.positive("final_run_gpu_hours", final_run_gpu_hours, hi=1e12)
    acc, ng, nn, hw = _deal_hardware(accelerator, n_gpus, nodes, hardware)
    if catalog.accelerator(acc).vendor != "AMD":
        raise ValidationError(f"accelerator = {acc!r}: the deal P&L prices AMD's sale of GPUs and "
                              f"NICs; {acc} is a {catalog.accelerator(acc).vendor} part (allowed: AMD accelerators)")
    g = V.fraction("goodput", goodput)
    V.choice("path", path, PATHS)          # as operator_cash_flows checks it (any other text read as "decay")
    overrides = V.mapping("overrides", {} if overrides is None else overrides,
                          "input name -> a number or (low, value, high)")
    rule = _retire_rule(retire)
    counted = [k for k in FABRIC_COUNTS if k in overrides]
    if hardware is not None and counted:
        raise ValidationError(f"overrides[{counted[0]!r}] and hardware: the hardware's fabric counts the network "
                              "(fabric_network_counts); pass hardware or the per-GPU counts, not both")
    # the network of the cluster IBM buys: whole switches of its own fabric (fabric_count_factors,
    # the rule expansion.owned_quote shares); a count given in overrides is the caller's own
    scale, zero = fabric_count_factors(hw, radix)
    scale = {k: f for k, f in scale.items() if k not in overrides}
    P: dict[str, Any] = dict(parameters(acc))
    names = list(OWNED_PARAMS) + list(OPERATOR_PARAMS) + ["amd_asp_usd_per_gpu", "dpus_per_node", "dpu_usd"]
    fixed: dict[str, float] = {k: 0.0 for k in zero if k not in overrides}
    tdp = None
    for k, v in dict(overrides or {}).items():
        if k == "tdp_W":
            tdp = V.positive("overrides['tdp_W']", v, hi=1e5)
        elif k not in names:
            raise unknown("deal input", k, [*names, "tdp_W"])
        elif isinstance(v, tuple | list):
            if len(v) != 3:
                raise ValidationError(f"overrides[{k!r}] = {v!r}: expected a number or (low, value, high)")
            lo, mid, hi = (V.bounded(k, x, f"overrides[{k!r}]") for x in v)
            if not lo <= mid <= hi:
                raise ValidationError(f"overrides[{k!r}] = {v!r}: need low <= value <= high")
            P[k] = SimpleNamespace(value=mid, low=lo, high=hi, distribution="triangular")
        else:
            fixed[k] = V.bounded(k, v, f"overrides[{k!r}]")
    if "capex_usd_per_gpu" not in P and "capex_usd_per_gpu" not in fixed:
        raise _no_price(acc)
    if "amd_asp_usd_per_gpu" not in P and "amd_asp_usd_per_gpu" not in fixed:
        raise ValidationError(f"amd_asp_usd_per_gpu: no AMD selling price for {acc} in data/economics/parameters.csv; "
                              "pass overrides={'amd_asp_usd_per_gpu': ...} [USD per GPU] (or a (low, value, high) range)")
    if "contract_usd_per_gpu_hour" not in P and "contract_usd_per_gpu_hour" not in fixed:
        c = _contract_default(acc)   # the same default as provider_view: cloud listings
        if c is None:
            raise ValidationError(f"contract_usd_per_gpu_hour: no contract rent for {acc} in the data; pass "
                                  "overrides={'contract_usd_per_gpu_hour': ...} [USD per GPU-hour]")
        fixed["contract_usd_per_gpu_hour"] = c
    # IBM's filed book life depreciates the cluster whatever the horizon (before: the horizon
    # replaced it, so years=12 depreciated over 12 years where provider_view used the 5 filed)
    book_life = fixed.get("ibm_book_life_years", P["ibm_book_life_years"].value)
    N = V.positive("years", years, hi=30.0) if years is not None else book_life
    months = max(1, int(round(12 * N)))        # the monthly model holds n x months values per array
    n = V.draws(n, hi=min(V.MAX_DRAWS, V.MAX_DRAW_MONTHS // months),
                why=f" (deal_pnl holds n x {months} monthly values per array over {N:g} years; at most "
                    f"{V.MAX_DRAW_MONTHS:,} draw-months, about 1.2 GB)")
    seed = V.seed(seed)
    fixed.setdefault("utilization", P["utilization"].value)
    fixed["ibm_book_life_years"] = book_life
    s = U.sample(P, n, seed, [k for k in names if k not in fixed], fixed=fixed)
    for k, factor in scale.items():      # the drawn count's range scaled to the cluster's fabric
        s[k] = s[k] * factor
    if tdp is None:
        tdp = _tdp(acc)
    if tdp is None:
        raise ValidationError(f"tdp_W: {acc} has no TDP in data/accelerators.csv; pass overrides={{'tdp_W': ...}} [W per GPU]")
    s["tdp_W"] = tdp
    rows = []

    def add(party, line, x, unit, how, summary=U.band):
        b = summary(np.broadcast_to(np.asarray(x, dtype=float), (n,)))
        rows.append({"party": party, "line": line, **b.as_dict(), "n": b.n, "unit": unit, "how": how})

    # AMD sells what IBM buys: the billed cluster and its hot spares, the (1 + spare_fraction)
    # that IBM's capex pays for (owned_components: server and network x (1 + spare_fraction)).
    # Until December 2026 AMD's lines counted the billed GPUs only, 1/1.0625 of the GPUs in
    # IBM's capex at the mode
    bought = 1.0 + s["spare_fraction"]
    gpu_rev = ng * bought * s["amd_asp_usd_per_gpu"]
    nic_rev = ng * bought * s["nics_per_gpu"] * s["nic_usd"]
    dpu_rev = nn * bought * s["dpus_per_node"] * s["dpu_usd"]
    amd = gpu_rev + nic_rev + dpu_rev
    instinct = company_fact("AMD", "instinct_revenue_usd", "FY2024")
    dc25 = company_fact("AMD", "datacenter_revenue_usd", "FY2025")
    add("AMD", "GPU revenue", gpu_rev, "USD", f"GPUs bought, hot spares included (x (1 + spare_fraction)) x AMD's "
        f"{acc} selling price (amd_asp_usd_per_gpu)")
    add("AMD", "Pollara NIC revenue", nic_rev, "USD", "NICs bought, the hot spares' included x 400G NIC price (proxy)")
    add("AMD", "DPU revenue", dpu_rev, "USD", "nodes bought, hot spares included x DPUs per node (unknown: 0-1) x DPU "
        "price (proxy)")
    add("AMD", "total revenue", amd, "USD", "sum of the above (no CPUs: the hosts are Intel Xeon)")
    add("AMD", "share of 2024 Instinct revenue", amd / instinct, "fraction",
        f"total / ${instinct / 1e9:.1f}B ('more than', FY2024 release): an upper bound")
    add("AMD", "share of 2025 data-centre segment revenue", amd / dc25, "fraction",
        f"total / ${dc25 / 1e9:.1f}B (FY2025 release; includes EPYC)")
    # AMD reports no Instinct margin: the Data Center segment's operating margin (FY2024 release)
    # is the one filed figure, an average over EPYC, Instinct, DPUs and NICs
    dc_margin = (company_fact("AMD", "datacenter_operating_income_usd", "FY2024")
                 / company_fact("AMD", "datacenter_revenue_usd", "FY2024"))
    add("AMD", "operating profit at its data-centre segment margin", amd * dc_margin, "USD",
        f"total x {dc_margin:.1%}, the Data Center segment's FY2024 operating margin (a segment average, "
        "EPYC included: AMD reports no Instinct margin)")
    # IBM
    r = _operator_cash_flows(s, path=path, years=N, retire=rule)
    capex = ng * r["capex"]
    rev = ng * r["revenue"].sum(axis=1)
    if (rev <= 0).any():
        # years=0.2 with setup_weeks drawn up to 8: the draws that sold nothing had a book margin
        # of -inf, and the P&L stopped on "samples = array([... -inf ...]): expected finite numbers"
        m = _months_to_first_sale(float(np.max(s["setup_weeks"])))
        raise ValidationError(
            f"years = {N:g}: in {int((rev <= 0).sum()):,} of {n:,} draws the horizon ends inside the setup and "
            f"burn-in (setup_weeks drawn up to {float(np.max(s['setup_weeks'])):.3g} weeks), so no GPU-hour is sold "
            f"and there is no revenue, margin or return to report; allowed years >= {m / 12:.3g} ({m} months of "
            f"the operator model's monthly steps) for these draws")
    cash_cost = ng * (r["energy"] + r["opex"]).sum(axis=1)
    gain = ng * r["gain_on_sale"]            # sale price - undepreciated book value, at the sale
    # the yearly book P&L (one owner, finance._book_profit_by_year): revenue - cash costs -
    # straight-line depreciation over the book life while it runs + the gain or loss on the sale
    book_y = ng * _book_profit_by_year(r, s["ibm_book_life_years"])
    book = book_y.sum(axis=1)
    irr = irr_array(r["annual"])
    irr = np.where(np.isnan(irr), -1.0, irr)
    npv = ng * np.sum(r["annual"] / (1.0 + s["cost_of_capital"][:, None]) ** np.arange(r["annual"].shape[1]), axis=1)
    y1 = ng * r["revenue"][:, :12].sum(axis=1)
    book_ai = company_fact("IBM", "genai_book_of_business_usd")
    infra = company_fact("IBM", "infrastructure_revenue_usd", "FY2025")
    add("IBM", "cluster capex", capex, "USD", "GPUs, hosts, spares, network, storage, front-end")
    add("IBM", "revenue in year 1", y1, "USD",
        "rent x sold hours in the 12 months after purchase: none in the setup weeks, the contract price, "
        "then the market rent of the path where the contract is shorter")
    until = "" if rule is None else ", until retired"
    add("IBM", f"revenue over {N:g} years", rev, "USD", f"rent path '{path}' (contract, then market){until}")
    add("IBM", f"cash costs over {N:g} years", cash_cost, "USD", "energy, colocation, maintenance, insurance, staff")
    sold_when = "at the horizon" if rule is None else "at retirement, else at the horizon"
    add("IBM", "gain or loss on the hardware's sale", gain, "USD",
        f"sale price (value curve) - undepreciated book value, {sold_when} (pre-tax)")
    add("IBM", f"book operating profit over {N:g} years", book, "USD",
        "revenue - cash costs - straight-line depreciation over IBM's book life"
        + ("" if rule is None else " while the hardware runs")
        + " + the gain or loss on its sale (pre-tax; sums to the undiscounted cash flows)")
    add("IBM", "book operating margin", book / rev, "fraction", "book operating profit / revenue")
    add("IBM", "IRR (pre-tax, unlevered)", irr, "per year", "yearly cash flows incl. residual value; -100 % if never repaid")
    add("IBM", "NPV at the cost of capital", npv, "USD", "pre-tax, unlevered")
    add("IBM", "payback", r["payback"], "years",
        "undiscounted, operating cash (inf: not repaid within the horizon)", summary=payback_band)
    add("IBM", "year-1 revenue vs its generative-AI book", y1 / book_ai, "fraction",
        f"/ ${book_ai / 1e9:.1f}B cumulative book of business (mostly consulting; 'more than')")
    add("IBM", "year-1 revenue vs its Infrastructure segment", y1 / infra, "fraction",
        f"/ ${infra / 1e9:.1f}B FY2025 Infrastructure revenue")
    # EPS: the yearly book operating profit over IBM's diluted shares. Pre-tax and before interest
    # (the model is unlevered): a non-negative tax rate scales a year's profit or loss toward 0 but
    # keeps its sign, so a year is accretive before financing exactly when its book profit is > 0
    shares = company_fact("IBM", "diluted_shares", "FY2025")
    eps = company_fact("IBM", "diluted_eps_continuing_usd", "FY2025")
    add("IBM", "book operating profit per IBM diluted share, year 1", 100.0 * book_y[:, 0] / shares, "US cents per share",
        f"year-1 book operating profit / {shares / 1e6:,.0f}M FY2025 diluted shares (pre-tax, before interest)")
    add("IBM", "book operating profit per IBM diluted share, worst year", 100.0 * book_y.min(axis=1) / shares,
        "US cents per share",
        "the most dilutive year's book operating profit / the same shares (pre-tax, before interest)")
    add("IBM", "year-1 book operating profit vs IBM's diluted EPS", 1e4 * book_y[:, 0] / shares / eps, "basis points",
        f"/ ${eps:.2f} FY2025 diluted EPS from continuing operations (after tax, so the cluster's pre-tax "
        "figure bounds its after-tax share from above)")
    add("IBM", "years with a book operating loss (EPS-dilutive)", (book_y < 0).sum(axis=1), "years",
        f"of the {N:g}-year horizon, a retired cluster's later years at 0 (before tax and interest; "
        "a year with a loss dilutes IBM's EPS whatever its tax rate)")
    # Zyphra
    months = s["zyphra_contract_months"]
    price = s["contract_usd_per_gpu_hour"]
    contracted = ng * months * HOURS_PER_MONTH
    if np.all(gh / g > contracted):
        # the shares were capped at 1 and the bill stayed the contract's: 8 GPUs "billed" 0.11 M USD
        # for a run whose hours alone cost 2.8 M at the contract price (zyphra_bill refuses this)
        longest = int(np.argmax(contracted))
        raise ValidationError(
            f"deal_pnl: the final run needs {gh / g:,.0f} GPU-hours with goodput losses "
            f"(final_run_gpu_hours / goodput) but even the longest contract drawn, "
            f"{float(np.asarray(months).ravel()[longest] if np.ndim(months) else months):.3g} months of "
            f"{ng:,} GPUs, gives {float(np.max(contracted)):,.0f}; give more GPUs (n_gpus=, nodes=) or a "
            f"longer contract (overrides={{'zyphra_contract_months': ...}}), as zyphra_bill asks")
    bill = contracted * price
    add("Zyphra", "contracted GPU-hours", contracted, "GPU-h", f"GPUs x months x {HOURS_PER_MONTH:g} h")
    add("Zyphra", "bill", bill, "USD", "contracted GPU-hours x contract price")
    # not capped at 1: above 1 in a draw, that draw's contract is too short for the run
    add("Zyphra", "final run share of the hours bought", gh / contracted, "fraction",
        "final run (il.estimate) / contracted hours (above 1: the contract is too short)")
    add("Zyphra", "final run incl. goodput losses, share", gh / g / contracted, "fraction",
        "final run / goodput / contracted hours (above 1: the contract is too short)")
    # the hours the run took of the contract, work plus goodput losses, as the share above and
    # notebook 05's section 2 price it (the line priced the failure-free hours: $439k beside 05's $462k)
    add("Zyphra", "final run incl. goodput losses at the contract price", gh / g * price, "USD",
        "final-run GPU-hours / goodput x contract price")
    contract_rev = ng * r["contract_revenue"].sum(axis=1)
    add("IBM", "revenue from the Zyphra contract", contract_rev, "USD",
        "= Zyphra's bill x billed share (contract_utilization): the operator's months pay the contract rent for the "
        "part of the month the contract covers")
    order = {"AMD": 0, "IBM": 1, "Zyphra": 2}
    rows.sort(key=lambda x: order[x["party"]])   # stable: keeps each party's line order
    # the purchase price's range as the data give it (the text typed "$10-15k or up to $25.7k")
    cp = P.get("capex_usd_per_gpu")      # None for a part priced only by overrides (MI450X)
    price = (f"{fixed['capex_usd_per_gpu']:,.0f} USD per GPU, held fixed" if "capex_usd_per_gpu" in fixed else
             f"{cp.low:,.0f}-{cp.high:,.0f} USD per GPU, mode {cp.value:,.0f}: from AMD's selling price to a "
             "hyperscaler to a distributor's listing")
    first = f"IBM's purchase price for the {acc} ({price}) and whether it bought through an OEM"
    return DealPnL(pl.DataFrame(rows), (first, *UNKNOWNS[1:]))
