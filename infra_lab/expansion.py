"""The 2026 expansion: what each option (accelerator × NIC × size × model) trains, costs and earns.

Every quantity here is composed from another module's public function (one owner per
quantity); this module only builds the scenario of an option and collects the answers:

=============================  =====================================================
quantity                       owner
=============================  =====================================================
best plan, tokens/s            :func:`infra_lab.search` (training)
failure-free run time          :func:`infra_lab.reliability.run_hours` (from ``il.estimate``)
goodput at that scale          :func:`infra_lab.reliability.plan_run` (:data:`CALIBRATION`)
owned price of a GPU-hour      :func:`infra_lab.economics.owned_gpu_hour_quote` (:func:`owned_quote`)
capex of the cluster           :func:`infra_lab.economics.owned_cost_per_gpu_hour`
facility power                 :func:`infra_lab.economics.cluster_power`
TCO                            :func:`infra_lab.economics.tco_total`
cost of a run                  :func:`infra_lab.economics.run_cost`
operator return (IBM)          :func:`infra_lab.economics.provider_view`
deal P&L (AMD, IBM, Zyphra)    :func:`infra_lab.economics.deal_pnl` (:func:`deal`)
serving capacity, $ per token  :func:`infra_lab.serve_search` (serving, with the owned cost)
=============================  =====================================================

The options live in ``data/expansion/`` (platforms, NICs, models, sizes), each with sources
and an ``announced_not_shipped`` flag; parts with no public price, TDP or rent carry an
assumption there (``basis = assumption``) that is passed to the owners as an override.

Two bases, each its owner's (as in notebook 05). The owned price of a GPU-hour, and with it
the run's owned cost and the owned $ per trained and per served token, comes from the
package's one owned price function (notebooks 05, 07, 09): the P50 of the like-for-like
Monte Carlo of :func:`infra_lab.economics.owned_gpu_hour_quote`, the same host, network and
opex ranges for every option, and the option's NIC held at its stated price, ports and
optics. The options are compared on one purchase-price channel, :data:`OPTION_PRICE_BASIS`
(analysts' selling prices): the only channel every option has. Only MI300X has a
distributor's baseboard listing (notebook 05's cross-vendor basis, where H100 has one too);
pricing it there and the others at selling prices would rank MI300X against the others on a
dearer channel. So MI300X is at its selling-price default (``capex_usd_per_gpu``, Citi's
estimate), MI355X at its ASP row, MI325X and MI450X at the assumptions data/expansion states
on that scale; notebook 08 prints notebook 05's listing-basis MI300X figure beside it. The
cluster's capex, TCO and power and IBM's operator view (IRR, NPV, payback) and deal are what
IBM's cluster costs: the economics
defaults (MI300X at its ASP mode) plus the option's overrides, every input at its mode.

Approximate: the training time is the lab's step model for the best plan (no measured MI325X,
MI355X or MI450X run at this scale is public); above ``min_global_batch_seqs`` GPUs the batch
grows with the cluster (weak scaling), which flatters the largest clusters' convergence; the
MI450X row uses announced, partly derived specifications (data/accelerators.csv).

Examples
--------
>>> import infra_lab as il
>>> il.expansion.options().filter(announced_not_shipped=True)["option"].to_list()[:2]
['MI300X node + Vulcano-800', 'MI325X node + Vulcano-800']
"""

from __future__ import annotations

import functools
import math
import numbers
from typing import TYPE_CHECKING, Any

import numpy as np
import polars as pl

from . import catalog
from .catalog import Col, read_table
from .errors import (
    DataError,
    UnknownNameError,
    ValidationError,
    empty_reasons,
    name_keywords_of,
    unknown,
    with_reasons,
)
from .units import DAY

if TYPE_CHECKING:
    from .economics.deal import DealPnL

__all__ = ["platforms", "nics", "models", "parameters", "parameter", "cluster_sizes", "options",
           "option_hardware", "training_scenario", "serving_scenario", "cost_overrides", "owned_quote",
           "evaluate", "sweep_grid", "SERVING_ENGINE", "deal_overrides", "deal",
           "pareto_front", "headlines", "operator_paths", "METRICS", "OPTION_PRICE_BASIS", "SEARCH_BOUNDS", "CALIBRATION",
           "BOUND_CALIBRATION"]

DATA = catalog.DATA_DIR / "expansion"

#: Serving engine of the capacity estimate (vLLM runs on ROCm and CUDA alike).
SERVING_ENGINE = "vllm"

SEARCH_BOUNDS = {"max_micro_batch": 4, "max_vp": 2, "max_cp": 1}
"""The bounds of :func:`infra_lab.search` in :func:`evaluate` (and notebook 08's step comparison):
settings of the plan search, not quantities (wider bounds multiply the plans tried per point)."""

_F, _S, _SR = Col("float"), Col("str"), Col("str", required=True)
_SCHEMAS = {
    "platforms": {
        "platform": _SR, "accelerator": _SR, "gpus_per_node": Col("int", required=True, positive=True),
        "scaleup_domain": Col("int", required=True, positive=True), "host_cpu": _S,
        "status": Col("str", required=True, choices=("shipping", "announced")),
        "announced_not_shipped": Col("bool", required=True), "available": Col("date", required=True),
        "tdp_W": _F, "tdp_basis": _S, "capex_usd_per_gpu": _F, "capex_low_usd": _F,
        "capex_high_usd": _F, "capex_basis": _S, "amd_asp_usd_per_gpu": _F,
        "contract_usd_per_gpu_hour": _F, "contract_basis": _S,
    },
    "nics": {
        "nic": _SR, "status": Col("str", required=True, choices=("shipping", "announced")),
        "announced_not_shipped": Col("bool", required=True), "available": Col("date", required=True),
        "nic_usd": _F, "nic_low_usd": _F, "nic_high_usd": _F, "nic_basis": _S,
    },
    "models": {
        "model": _SR, "preset": _SR, "hidden": Col("int", positive=True), "heads": Col("int", positive=True),
        "experts": Col("int", positive=True), "expert_ffn_hidden": Col("int", positive=True),
        "ffn_hidden": Col("int", positive=True), "tokens": Col("float", required=True, positive=True),
        "basis": _SR,
    },
    "parameters": {"name": _SR, "value": Col("float", required=True, positive=True), "unit": _SR,
                   "basis": _SR},
}

OPTION_PRICE_BASIS = "asp"
"""The purchase-price channel on which :func:`owned_quote` compares the options: analysts'
average selling prices (``purchase_prices.csv`` basis "asp", else the accelerator's
purchase-price default, itself an analyst ASP; the platform rows' assumptions are on that
scale). The one channel every option has: only MI300X has a distributor listing."""

CALIBRATION = "fleet"
"""The failure calibration of every option's goodput (:func:`infra_lab.reliability.plan_run`):
the job-level fleet reading (Kokolis et al., HPCA 2025, measured on jobs of ZAYA1's 1,024-GPU
size), the reading notebook 06 finds right for a job of this size and notebook 05 prices
ZAYA1's run with; Llama 3's per-device reading is the optimistic bound. The sweep used
plan_run's default (Llama 3's), so its runs' failure losses, and the owned and rented run costs
that include them, were the optimistic bound's."""

BOUND_CALIBRATION = "llama3"
"""The failure reading of :data:`CALIBRATION`'s optimistic bound (notebook 06): :func:`evaluate`
gives its goodput beside (``goodput_bound``), so the failure cost's spread is a ratio away."""

#: Output columns of :func:`evaluate`, with units.
METRICS = {
    "gpus": "GPUs in the cluster (whole nodes / racks)",
    "tp": "best plan", "pp": "best plan", "ep": "best plan", "dp": "best plan",
    "micro_batch": "best plan", "global_batch": "sequences per step",
    "plan": "the best plan in words (tp, pp, ep, dp, micro-batch, recompute)",
    "tokens_per_s": "training throughput of the best plan [tokens/s]",
    "mfu": "model FLOPs utilization of the best plan [fraction of dense BF16 peak]",
    "run_days": "failure-free run time [days]",
    "goodput": "useful share of wall-clock time, under CALIBRATION (the fleet reading) [-]",
    "goodput_bound": "the same under Llama 3's per-device reading, the optimistic bound [-]",
    "wall_days": "expected wall-clock time with failures [days]",
    "facility_MW": "average facility power (IT x PUE) [MW]",
    "it_provisioned_MW": "provisioned IT power [MW]",
    "capex_usd": "capital cost of the cluster, every input at the economics defaults [USD]",
    "tco_usd": "total cost of ownership over the economics TCO horizon (tco_horizon_years) [USD]",
    "owned_usd_per_gpu_hour": "owned cost per useful GPU-hour, the package's one owned price "
                              "(economics.owned_gpu_hour_quote's P50 on OPTION_PRICE_BASIS) [USD]",
    "run_cost_usd": "owned cost of the run incl. goodput losses [USD]",
    "usd_per_m_trained_tokens": "owned cost per million trained tokens [USD]",
    "contract_usd_per_gpu_hour": "dedicated-contract rent per GPU-hour [USD]",
    "rented_run_cost_usd": "the run at the contract rent incl. goodput losses [USD]",
    "ibm_irr": "operator IRR on the decay path [per year, pre-tax, unlevered]",
    "ibm_payback_years": "operator payback on the decay path, from operating cash (the sale at "
                         "retirement, which ibm_irr counts, left out; inf: never) [years]",
    "serve_plan": "best serving configuration on one node (tp, dp, weight precision, concurrency)",
    "served_tokens_per_s_per_gpu": "output tokens/s per GPU of the best serving configuration "
                                   "within the latency limit [tokens/s]",
    "served_tokens_per_s_cluster": "serving capacity if the whole cluster serves [output tokens/s]",
    "usd_per_m_served_tokens": "owned cost per million output tokens served, all GPU time on "
                               "the generated tokens [USD]",
    "rented_usd_per_m_served_tokens": "the same at the contract rent (Zyphra renting) [USD]",
}


# --------------------------------------------------------------------------- data
@functools.cache
def _table(name: str) -> pl.DataFrame:
    t = read_table(DATA / f"{name}.csv", _SCHEMAS[name])
    return _checked_host_cpus(t) if name == "platforms" else t


def _checked_host_cpus(t: pl.DataFrame) -> pl.DataFrame:
    """platforms.csv's optional ``host_cpu``: each given name checked against the catalog of
    host CPUs (data/network_host_cpus.csv) and written in its catalog spelling; empty stays
    empty (the accelerator's platform default, data/network_platforms.csv)."""
    from . import fabric

    names = []
    for plat, host in zip(t["platform"], t["host_cpu"], strict=True):
        if host is None:
            names.append(None)
            continue
        try:
            names.append(fabric.host_cpu(host, where=f"data/expansion/platforms.csv, platform {plat!r}, "
                                                     f"column 'host_cpu'")["name"])
        except UnknownNameError as e:
            raise DataError(f"{e} (the host CPUs of data/network_host_cpus.csv; leave the cell empty "
                            f"for the accelerator's default host)") from None
    return t.with_columns(pl.Series("host_cpu", names, dtype=pl.String))


def platforms() -> pl.DataFrame:
    """Accelerator platforms of the expansion (data/expansion/platforms.csv). ``host_cpu``:
    the nodes' host CPU where a source states it (null = the accelerator's platform default,
    data/network_platforms.csv); it sets the collectives' per-message network overhead."""
    return _table("platforms")


def nics() -> pl.DataFrame:
    """Scale-out NICs of the expansion (data/expansion/nics.csv)."""
    return _table("nics")


def models() -> pl.DataFrame:
    """Training models of the expansion (data/expansion/models.csv)."""
    return _table("models")


def parameters() -> pl.DataFrame:
    """Sweep parameters (data/expansion/parameters.csv): name, value, unit, basis, ..."""
    return _table("parameters")


def parameter(name: str) -> float:
    """One value of data/expansion/parameters.csv, in the unit its row states, as
    ``il.reliability.parameter(name)`` and ``il.economics.parameter(name, accelerator)`` read
    theirs. ``cluster_gpus`` has one row per size swept: :func:`cluster_sizes` lists them.

    Parameters
    ----------
    name : a parameter's name in data/expansion/parameters.csv (il.expansion.parameters()
        lists them, e.g. 'serving_max_tpot_s')

    Examples
    --------
    >>> import infra_lab as il
    >>> il.expansion.parameter("serving_max_tpot_s") == il.expansion.parameters().filter(
    ...     il.expansion.parameters()["name"] == "serving_max_tpot_s")["value"].item()
    True
    """
    if not isinstance(name, str):
        raise ValidationError(f"parameter name = {name!r}: expected a string, one of the names of "
                              "data/expansion/parameters.csv (il.expansion.parameters())")
    t = parameters().filter(pl.col("name") == name)
    if t.height > 1:
        raise ValidationError(f"expansion parameter {name!r} has {t.height} rows (one per value swept); "
                              f"read them with il.expansion.parameters()" +
                              (" or il.expansion.cluster_sizes()" if name == "cluster_gpus" else ""))
    if t.height != 1:
        raise unknown("expansion parameter", name, set(parameters()["name"].to_list()))
    return float(t["value"][0])


_param = parameter   # the module's own name for it


def cluster_sizes() -> list[int]:
    """The cluster sizes swept [GPUs] (data/expansion/parameters.csv, ``cluster_gpus``)."""
    return [int(v) for v in parameters().filter(pl.col("name") == "cluster_gpus")["value"]]


def _row(table: pl.DataFrame, key: str, value: str, kind: str) -> dict:
    if not isinstance(value, str):
        raise ValidationError(f"{kind} = {value!r}: expected a name, one of "
                              f"{', '.join(table[key].to_list())}")
    t = table.filter(pl.col(key).str.to_lowercase() == value.lower())
    if t.height != 1:
        raise unknown(kind, value, table[key].to_list())
    return t.row(0, named=True)


def options() -> pl.DataFrame:
    """Every platform × NIC option with its availability and flags.

    Returns
    -------
    polars.DataFrame: option, platform, accelerator, nic, announced_not_shipped (either part
    announced but not shipped), available (the later of the two parts' dates)
    """
    p = platforms().select("platform", "accelerator", pl.col("announced_not_shipped").alias("a1"),
                           pl.col("available").alias("d1"))
    n = nics().select("nic", pl.col("announced_not_shipped").alias("a2"), pl.col("available").alias("d2"))
    return p.join(n, how="cross").select(
        (pl.col("platform") + " + " + pl.col("nic")).alias("option"), "platform", "accelerator", "nic",
        (pl.col("a1") | pl.col("a2")).alias("announced_not_shipped"),
        pl.max_horizontal("d1", "d2").alias("available"))


# --------------------------------------------------------------------------- scenarios
def _check_gpus(gpus: Any, field: str = "gpus") -> int:
    # numpy integers are integers (a size from a numpy array was refused as "gpus = 1024:
    # expected an integer ..."); bools and floats are not
    if isinstance(gpus, bool) or not isinstance(gpus, numbers.Integral) or not 1 <= gpus <= 1_000_000:
        raise ValidationError(f"{field} = {gpus!r}: expected an integer number of GPUs in 1..1,000,000")
    return int(gpus)


def _node(p: dict) -> dict:
    """The node of a platform row as [hardware] keys: accelerator, GPUs per node, scale-up
    domain and, where the row states one, the host CPU (else the Scenario takes the
    accelerator's platform default). The one reader of platforms.csv's ``host_cpu``."""
    node = {"accelerator": p["accelerator"], "gpus_per_node": p["gpus_per_node"],
            "scaleup_domain": p["scaleup_domain"]}
    if p["host_cpu"] is not None:
        node["host_cpu"] = p["host_cpu"]
    return node


def option_hardware(platform: str, nic: str, gpus: int) -> dict:
    """The [hardware] table of an option with at least ``gpus`` GPUs (whole nodes, and whole
    racks where the scale-up domain spans nodes), one NIC per GPU, rails-only like ZAYA1's;
    the host CPU where data/expansion/platforms.csv states one (MI300X node: ZAYA1's).

    Examples
    --------
    >>> option_hardware("MI300X node", "Pollara-400", 1024)["host_cpu"]
    'Xeon-Platinum-8570'
    >>> "host_cpu" in option_hardware("MI355X node", "Pollara-400", 1024)   # the platform default
    False
    """
    p = _row(platforms(), "platform", platform, "platform")
    n = _row(nics(), "nic", nic, "nic")
    gpus = _check_gpus(gpus)
    unit = max(p["gpus_per_node"], p["scaleup_domain"])  # a rack of 72, or one node
    units = math.ceil(gpus / unit)
    return {**_node(p), "nodes": units * unit // p["gpus_per_node"],
            "nic": n["nic"], "nics_per_node": p["gpus_per_node"], "fabric": "rails-only",
            "oversubscription": 1.0}


def training_scenario(platform: str, nic: str, gpus: int, model: str) -> dict:
    """The training Scenario (as a dict) of an option: the ZAYA1 scenario's training table
    on the option's hardware, the model of data/expansion/models.csv, the global batch of
    ``min_global_batch_seqs`` grown to one sequence per GPU (micro-batch 1, pure DP as the
    starting plan; :func:`infra_lab.search` then chooses the plan).

    Parameters
    ----------
    model : a model's name in data/expansion/models.csv (il.expansion.models() lists them)
    """
    from .scenario import load_scenario

    m = _row(models(), "model", model, "model")
    hw = option_hardware(platform, nic, gpus)
    d = load_scenario("zaya1-ibm-mi300x").to_dict()
    world = hw["nodes"] * hw["gpus_per_node"]
    gb_min = int(_param("min_global_batch_seqs"))
    d["hardware"] = hw
    d["model"] = {"preset": m["preset"], **{k: m[k] for k in
                  ("hidden", "heads", "experts", "expert_ffn_hidden", "ffn_hidden") if m[k] is not None}}
    d["training"].update(seq_len=int(_param("seq_len")), micro_batch=1,
                         global_batch=world * math.ceil(gb_min / world))
    d["parallelism"] = {"tp": 1, "pp": 1, "vp": 1, "cp": 1, "ep": 1, "zero": 1,
                        "sequence_parallel": False, "fsdp": False}
    d["name"] = f"expansion {platform} + {nic}, {world} GPUs, {model}"
    return d


def serving_scenario(platform: str, model: str) -> dict:
    """The serving Scenario (as a dict) of one node of a platform (one tray of a Helios rack)
    for ``model``: data-parallel replicas on its GPUs to start from (the search chooses the
    split), the workload of data/expansion/parameters.csv (``serving_*``).

    Parameters
    ----------
    model : a model's name in data/expansion/models.csv (il.expansion.models() lists them)
    """
    p = _row(platforms(), "platform", platform, "platform")
    m = _row(models(), "model", model, "model")
    gpn = p["gpus_per_node"]
    return {
        "name": f"expansion serving {platform}, {model}",
        "model": {"preset": m["preset"], **{k: m[k] for k in
                  ("hidden", "heads", "experts", "expert_ffn_hidden", "ffn_hidden") if m[k] is not None}},
        "hardware": {**_node(p), "nodes": 1},
        "serving": {"engine": SERVING_ENGINE, "dp": gpn,
                    "input_tokens": int(_param("serving_input_tokens")),
                    "output_tokens": int(_param("serving_output_tokens"))},
    }


def _gpus_or_reference(gpus: int | None) -> int:
    """``gpus``, or the reference cluster's GPUs (ZAYA1's 1,024) where None."""
    from .economics.data import _reference_cluster

    return _reference_cluster()[0] if gpus is None else gpus


def _network_counts(platform: str, nic: str, gpus: int | None) -> tuple[dict[str, float], dict[str, float]]:
    """(the option's own fabric's network counts per GPU, the economics defaults' counts) for
    its cluster of ``gpus`` GPUs (None: the reference cluster's, ZAYA1's 1,024):
    :func:`infra_lab.economics.fabric_network_counts` of :func:`option_hardware`, the one reader
    of the fabric's switch and cable counts for prices."""
    from . import economics

    p = _row(platforms(), "platform", platform, "platform")
    hw = option_hardware(platform, nic, _gpus_or_reference(gpus))
    base = economics.defaults(p["accelerator"])
    return economics.fabric_network_counts(hw), {k: base[k] for k in ("nics_per_gpu", "switch_ports_per_gpu",
                                                                       "optics_per_gpu")}


def cost_overrides(platform: str, nic: str, gpus: int | None = None) -> dict[str, float]:
    """Economics overrides of an option: the assumptions of data/expansion for parts with
    no public price or TDP, the NIC's price, and the network counts per GPU of the option's own
    fabric on ``gpus`` GPUs (None: the reference cluster's 1,024; :func:`_network_counts`: its
    switch ports at the NIC's line rate, its cables' transceivers at that rate) where they
    differ from the economics defaults (the reference fabric's). Before, an 800G NIC doubled
    the reference fabric's ports and optics whatever the cluster: a Helios rack's fabric (72-GPU
    domains, 4 NICs per tray) and a three-tier fabric at 8,192 GPUs were priced as ZAYA1's."""
    p = _row(platforms(), "platform", platform, "platform")
    n = _row(nics(), "nic", nic, "nic")
    ov: dict[str, float] = {}
    if p["capex_usd_per_gpu"] is not None:
        ov["capex_usd_per_gpu"] = p["capex_usd_per_gpu"]
    if p["tdp_W"] is not None:
        ov["tdp_W"] = p["tdp_W"]
    if n["nic_usd"] is not None:
        ov["nic_usd"] = n["nic_usd"]
    counts, base = _network_counts(platform, nic, gpus)
    ov.update({k: c for k, c in counts.items() if not math.isclose(c, base[k], rel_tol=1e-12)})
    return ov


def owned_quote(platform: str, nic: str, gpus: int | None = None) -> dict[str, Any]:
    """The owned price of a GPU-hour of an option: :func:`infra_lab.economics.owned_gpu_hour_quote`
    (the package's one owned price function, notebook 05's like-for-like Monte Carlo) for the
    option's accelerator on the purchase-price channel :data:`OPTION_PRICE_BASIS`, with what
    data/expansion states for the option: the purchase price where platforms.csv gives one
    (``price``: parts with no public price), its TDP where assumed (``tdp_W``), the NIC's price
    held at its stated value (``fixed``) and, where the option's own fabric on ``gpus`` GPUs
    (None: the reference cluster's 1,024) counts other network items per GPU than the
    reference fabric, the drawn counts multiplied by that fabric's / the reference's (``scale``;
    :func:`cost_overrides` gives the same at the modes), or held at 0 where that fabric has none
    of an item (one node or one rack: no back-end switch, cable or optics). An option that states nothing
    (MI300X + Pollara) gets exactly ``owned_gpu_hour_quote(accelerator, basis="asp")``; notebook
    05's cross-vendor figure for MI300X is the same function on the baseboard listing.

    Small clusters pay for whole switches. The switch count is the fabric code's
    (:func:`infra_lab.fabric.switch_counts`, read through
    :func:`infra_lab.economics.fabric_network_counts`), and every port of every switch is
    priced: a rails-only fabric keeps one leaf per rail however few nodes it joins, so two
    8-NIC nodes buy eight 64-port leaves, 32 switch ports per GPU against 3 at 1,024 GPUs, and
    their GPU-hour costs far more than the reference cluster's (MI300X + Pollara-400: about
    $3.3 against $1.9 on 16 GPUs; the cost per GPU falls as nodes fill the leaves, and one node,
    8 GPUs, has no back-end switch at all). Read a small ``gpus`` as the price of a cluster
    built that small, not as a share of a larger fabric.

    Returns
    -------
    dict: the quote (usd_per_gpu_hour = P50, p5, p95 [USD per useful GPU-hour],
    purchase_price_usd_per_gpu, capex_basis, price_date, tdp_W, draws, seed)

    Examples
    --------
    >>> from infra_lab import economics
    >>> owned_quote("MI300X node", "Pollara-400") == economics.owned_gpu_hour_quote("MI300X", basis="asp")
    True
    >>> economics.fabric_network_counts(option_hardware("MI300X node", "Pollara-400", 16))["switch_ports_per_gpu"]
    32.0
    >>> owned_quote("MI300X node", "Pollara-400", 16)["usd_per_gpu_hour"] > owned_quote("MI300X node", "Pollara-400")["usd_per_gpu_hour"]
    True
    """
    from . import economics

    p = _row(platforms(), "platform", platform, "platform")
    n = _row(nics(), "nic", nic, "nic")
    fixed = {} if n["nic_usd"] is None else {"nic_usd": n["nic_usd"]}
    # the drawn counts scaled to the option's own fabric, or held at 0 where it has none of an
    # item (one node or one rack): economics.fabric_count_factors, the rule deal() shares
    scale, zero = economics.fabric_count_factors(option_hardware(platform, nic, _gpus_or_reference(gpus)))
    fixed |= zero
    return economics.owned_gpu_hour_quote(p["accelerator"], price=p["capex_usd_per_gpu"], basis=OPTION_PRICE_BASIS,
                                          tdp_W=p["tdp_W"], fixed=fixed, scale=scale)


def deal_overrides(platform: str, nic: str) -> dict[str, Any]:
    """The deal-P&L inputs an option states itself (:func:`infra_lab.economics.deal_pnl`'s
    ``overrides``): its purchase price as a (low, value, high) range and AMD's selling price
    (``amd_asp_usd_per_gpu``) where data/expansion/platforms.csv gives them (AMD's selling price
    otherwise from data/economics: the part's parameters.csv row, else its analyst ASP in
    purchase_prices.csv, basis "asp"), its TDP and
    contract rent where assumed there, and the NIC's price range. Inputs not listed keep the
    economics data. The network counts are not here: :func:`deal` passes the option's hardware
    (``deal_pnl(hardware=...)``), whose own fabric counts them as for :func:`owned_quote`
    (:func:`infra_lab.economics.fabric_count_factors`)."""
    from . import economics

    p = _row(platforms(), "platform", platform, "platform")
    n = _row(nics(), "nic", nic, "nic")
    ov: dict[str, Any] = {k: v for k, v in cost_overrides(platform, nic).items()
                          if k not in economics.owned.FABRIC_COUNTS}
    if p["capex_usd_per_gpu"] is not None and p["capex_low_usd"] is not None and p["capex_high_usd"] is not None:
        ov["capex_usd_per_gpu"] = (p["capex_low_usd"], p["capex_usd_per_gpu"], p["capex_high_usd"])
    if n["nic_usd"] is not None and n["nic_low_usd"] is not None and n["nic_high_usd"] is not None:
        ov["nic_usd"] = (n["nic_low_usd"], n["nic_usd"], n["nic_high_usd"])
    if p["amd_asp_usd_per_gpu"] is not None:
        ov["amd_asp_usd_per_gpu"] = p["amd_asp_usd_per_gpu"]
    elif "amd_asp_usd_per_gpu" not in economics.parameters(p["accelerator"]):
        try:        # an analyst ASP recorded in purchase_prices.csv (basis "asp"): read, not retyped
            ov["amd_asp_usd_per_gpu"] = economics.purchase_price(p["accelerator"], "asp")["price_usd_per_gpu"]
        except economics.NoPurchasePriceError:
            pass
    if p["contract_usd_per_gpu_hour"] is not None:
        ov["contract_usd_per_gpu_hour"] = p["contract_usd_per_gpu_hour"]
    return ov


def deal(platform: str, nic: str, gpus: int, final_run_gpu_hours: float, *, goodput: float = 1.0,
         n: int = 4000, seed: int = 0, path: str = "decay") -> DealPnL:
    """The deal P&L of an option: :func:`infra_lab.economics.deal_pnl` on the option's
    hardware (:func:`option_hardware`: its accelerator and NIC, rails-only) of ``gpus`` GPUs
    with :func:`deal_overrides`. The network IBM buys is that cluster's whole switches, drawn
    as :func:`owned_quote` draws them (:func:`infra_lab.economics.fabric_count_factors`).

    Parameters
    ----------
    platform, nic : names in data/expansion/platforms.csv and nics.csv
    gpus : GPUs of the cluster [GPUs] (a multiple of the platform's GPUs per node; a rack-scale
        platform's partly used racks are packed as :func:`~infra_lab.scenario.hardware_table.own_node_layout`
        packs them)
    final_run_gpu_hours : useful GPU-hours of the final run (il.estimate) [GPU-h]
    goodput, n, seed, path : as in :func:`infra_lab.economics.deal_pnl`

    Examples
    --------
    >>> d = deal("MI325X node", "Pollara-400", 1024, 1e5, n=200, seed=1)
    >>> round(d.line("AMD", "GPU revenue").p50 / 1e6, 2)   # 1,024 x ~1.04 (hot spares) x the assumed $20k ASP
    21.42
    """
    from . import economics

    p = _row(platforms(), "platform", platform, "platform")
    gpus = _check_gpus(gpus)
    if gpus % p["gpus_per_node"]:
        raise ValidationError(f"gpus = {gpus}: must be a multiple of the {platform}'s "
                              f"{p['gpus_per_node']} GPUs per node")
    from .scenario.hardware_table import own_node_layout

    layout = {k: v for k, v in own_node_layout(p["accelerator"], gpus, "gpus").items() if v is not None}
    hw = {**option_hardware(platform, nic, gpus), **layout}
    return economics.deal_pnl(final_run_gpu_hours, goodput=goodput, hardware=hw, path=path,
                              overrides=deal_overrides(platform, nic), n=n, seed=seed)


# --------------------------------------------------------------------------- evaluation
def evaluate(platform: str, nic: str, target_gpus: int, model: str, *, max_micro_batch: int | None = None,
             max_vp: int | None = None, max_cp: int | None = None) -> dict[str, Any]:
    """Everything about one expansion point, composed from the owners' public functions.

    Parameters
    ----------
    platform, nic : names in data/expansion/platforms.csv and nics.csv
    target_gpus : target cluster size [GPUs] (rounded up to whole nodes / racks: the
        ``gpus`` output)
    model : name in data/expansion/models.csv
    max_micro_batch, max_vp, max_cp : search bounds (see :func:`infra_lab.search`); None:
        :data:`SEARCH_BOUNDS`

    Returns
    -------
    dict of :data:`METRICS` (a row for :func:`infra_lab.sweep`). A plan that fits nowhere
    raises a ValidationError (reported per point by the sweep).
    """
    from . import economics, reliability
    from .scenario import Scenario
    from .serving import serve_search, token_costs
    from .training import apply_plan, search

    # evaluate's keyword is target_gpus: its error said "gpus = 0"
    d = training_scenario(platform, nic, _check_gpus(target_gpus, "target_gpus"), model)
    m = _row(models(), "model", model, "model")
    world = d["hardware"]["nodes"] * d["hardware"]["gpus_per_node"]
    with empty_reasons() as why:
        given = {"max_micro_batch": max_micro_batch, "max_vp": max_vp, "max_cp": max_cp}
        best = search(d, top=1, **{k: SEARCH_BOUNDS[k] if v is None else v for k, v in given.items()})
    if best.height == 0:
        raise ValidationError(with_reasons(f"no plan of {model} fits in memory on {world} x "
                                           f"{d['hardware']['accelerator']}", why))
    b = best.row(0, named=True)
    # the search's whole plan (etp and recompute_num_layers included): training.apply_plan
    sc = Scenario.from_dict(apply_plan(d, b))
    tokens = m["tokens"]
    hours = reliability.run_hours(sc, tokens)
    run = reliability.plan_run(sc, hours, calibration=CALIBRATION)
    bound = reliability.plan_run(sc, hours, calibration=BOUND_CALIBRATION).goodput
    acc = d["hardware"]["accelerator"]
    ov = cost_overrides(platform, nic, world)
    owned = owned_quote(platform, nic, world)["usd_per_gpu_hour"]   # the one owned price, on OPTION_PRICE_BASIS
    ibm = economics.owned_cost_per_gpu_hour(acc, **ov)               # IBM's cluster at the defaults: capex
    power = economics.cluster_power(world, acc, **ov)
    gpu_hours = world * hours / run.goodput
    cost = economics.run_cost(gpu_hours=gpu_hours, price_usd_per_gpu_hour=owned, tokens=tokens)
    p = _row(platforms(), "platform", platform, "platform")
    op_ov = dict(ov)
    if p["contract_usd_per_gpu_hour"] is not None:
        op_ov["contract_usd_per_gpu_hour"] = p["contract_usd_per_gpu_hour"]
    view = economics.provider_view(None, None, acc, path="decay", **op_ov)
    with empty_reasons() as why:
        sv = serve_search(serving_scenario(platform, model), "usd_per_million_output_tokens", top=1,
                          max_tpot_s=_param("serving_max_tpot_s"),
                          price_usd_per_gpu_hour=owned)
    if sv.height == 0:
        raise ValidationError(with_reasons(f"no serving configuration of {model} on one {platform} meets "
                                           f"{_param('serving_max_tpot_s')} s per output token", why))
    s = sv.row(0, named=True)
    etp = f" · etp {b['etp']}" if b["etp"] > 1 else ""
    contract = economics.operator_inputs(acc, op_ov)["contract_usd_per_gpu_hour"]
    return {
        "gpus": world, "tp": b["tp"], "pp": b["pp"], "ep": b["ep"], "dp": b["dp"],
        "micro_batch": b["micro_batch"], "global_batch": d["training"]["global_batch"],
        "plan": (f"tp {b['tp']} · pp {b['pp']} · ep {b['ep']}{etp}, dp {b['dp']}, "
                 f"micro-batch {b['micro_batch']}, recompute {b['recompute']}"),
        "tokens_per_s": b["tokens_per_s"], "mfu": b["mfu"],
        "run_days": hours / 24.0, "goodput": run.goodput, "goodput_bound": bound,
        "wall_days": run.expected_wall_s / DAY,
        "facility_MW": power["facility_average_W"] / 1e6,
        "it_provisioned_MW": power["it_provisioned_W"] / 1e6,
        "capex_usd": ibm.all_in_capex_usd_per_gpu * world,
        # over tco_horizon_years (data/economics); the option's own fabric counts its network (tco's rule)
        "tco_usd": economics.tco_total(world, None, None, acc, hardware=option_hardware(platform, nic, world),
                                       **{k: x for k, x in ov.items() if k not in economics.owned.FABRIC_COUNTS}),
        "owned_usd_per_gpu_hour": owned,
        "run_cost_usd": cost.total_usd,
        "usd_per_m_trained_tokens": cost.total_usd / tokens * 1e6,
        "contract_usd_per_gpu_hour": contract,
        "rented_run_cost_usd": economics.run_cost(gpu_hours=gpu_hours,
                                                  price_usd_per_gpu_hour=contract).total_usd,
        "ibm_irr": view.irr,  # None (null): never repaid
        "ibm_payback_years": view.payback_years,
        "serve_plan": (f"tp {s['tp']}, dp {s['dp']}, ep {s['ep']}, {s['weight_precision']} weights, "
                       f"{s['concurrency']:,} in flight"),
        "served_tokens_per_s_per_gpu": s["output_tokens_per_s_per_gpu"],
        "served_tokens_per_s_cluster": s["output_tokens_per_s_per_gpu"] * world,
        "usd_per_m_served_tokens": token_costs(s, owned)[
            "usd_per_million_output_tokens_all_in"],
        "rented_usd_per_m_served_tokens": token_costs(s, contract)[
            "usd_per_million_output_tokens_all_in"],
    }


def sweep_grid(sizes: list[int] | None = None, platforms_: list[str] | None = None,
               nics_: list[str] | None = None, models_: list[str] | None = None) -> dict:
    """The expansion grid for :func:`infra_lab.sweep` (default: every option, size, model).
    Each given list must be non-empty; names are checked (nearest name when unknown, the
    catalog's spelling kept) and sizes are GPU counts as :func:`evaluate` takes them, so a
    bad point is refused here rather than failing inside the sweep."""

    def listed(given) -> list | None:
        # a list, tuple, range or 1-D numpy array (sizes from np.geomspace, names from a frame
        # column's to_numpy); a string is one name, not a list of characters
        if isinstance(given, np.ndarray):
            given = given.tolist() if given.ndim == 1 else None
        elif isinstance(given, range):
            given = list(given)
        return list(given) if isinstance(given, (list, tuple)) and len(given) else None

    def names(field: str, given, table: pl.DataFrame, key: str, kind: str) -> list[str]:
        if given is None:
            return table[key].to_list()
        if listed(given) is None:
            raise ValidationError(f"{field} = {given!r}: expected a non-empty list of {kind} names "
                                  f"({', '.join(table[key].to_list())}), or None for all")
        return [_row(table, key, v, kind)[key] for v in listed(given)]

    if sizes is None:
        gpus = cluster_sizes()
    elif listed(sizes) is None:
        # [] used to mean every size, and names unknown to the tables were swept as points that fail
        raise ValidationError(f"sizes = {sizes!r}: expected a non-empty list of GPU counts, or None for all")
    else:
        gpus = [_check_gpus(g) for g in listed(sizes)]
    return {"platform": names("platforms_", platforms_, platforms(), "platform", "platform"),
            "nic": names("nics_", nics_, nics(), "nic", "nic"),
            "target_gpus": gpus,
            "model": names("models_", models_, models(), "model", "model")}


def pareto_front(df: pl.DataFrame, x: str, y: str) -> pl.DataFrame:
    """Rows of ``df`` not dominated in (``x``, ``y``), both smaller-is-better, sorted by x.
    Rows with a null or NaN in either column are left out: they have no place on the front.

    Parameters
    ----------
    df : a polars DataFrame of options (e.g. an expansion sweep's)
    x : the name of a numeric column of ``df``, smaller is better
    y : the name of another, smaller is better
    """
    if not isinstance(df, pl.DataFrame):
        raise ValidationError(f"df = {df!r:.80}: expected a polars DataFrame (e.g. a sweep frame)")
    for field, c in (("x", x), ("y", y)):
        if not isinstance(c, str):
            raise ValidationError(f"{field} = {c!r}: expected a column name of df")
        if c not in df.columns:
            raise unknown("column", c, df.columns)
        if not df.schema[c].is_numeric():
            raise ValidationError(f"{field} = {c!r}: column of type {df.schema[c]}, expected a numeric column")
    # NaN as missing, as null is: polars sorts NaN after every number, so a row with NaN time
    # and the lowest cost was kept as the front's last point
    s = df.drop_nulls([x, y]).filter(~pl.col(x).cast(pl.Float64).is_nan() & ~pl.col(y).cast(pl.Float64).is_nan())
    s = s.sort([x, y])
    keep, best = [], math.inf
    for v in s[y].to_list():
        keep.append(v < best)
        best = min(best, v)
    return s.filter(pl.Series(keep, dtype=pl.Boolean))


def headlines(frame: pl.DataFrame, model: str, target_gpus: int) -> dict[str, Any]:
    """The answers notebook 08 states, computed from a sweep frame (joined with
    :func:`options`) for one model and cluster size.

    Parameters
    ----------
    frame : an expansion sweep frame joined with il.expansion.options() (platform, nic,
        target_gpus, model, error, announced_not_shipped, wall_days, run_cost_usd)
    model : a model's name in data/expansion/models.csv, e.g. 'ZAYA1-class'
    target_gpus : a cluster size of the sweep [GPUs] (il.expansion.cluster_sizes())

    Returns
    -------
    dict with ``base`` (today's design: MI300X node + Pollara-400), ``fastest``, ``cheapest``
    (owned cost of the run) and ``cheapest_shipping`` (no announced-not-shipped part) rows,
    and ``nic_speedup``: per platform, wall-clock time on Pollara-400 / on Vulcano-800.
    """
    need = {"platform", "nic", "target_gpus", "model", "error", "announced_not_shipped",
            "wall_days", "run_cost_usd"}
    missing = sorted(need - set(frame.columns))
    if missing:
        raise ValidationError(f"headlines: frame lacks {missing} (join the sweep with options())")
    sel = frame.filter(pl.col("error").is_null() & (pl.col("model") == model)
                       & (pl.col("target_gpus") == target_gpus))
    if sel.height == 0:
        raise ValidationError(f"headlines: no successful point for model={model!r}, "
                              f"target_gpus={target_gpus!r}")
    first = lambda f: f.row(0, named=True)  # noqa: E731
    base = sel.filter((pl.col("platform") == "MI300X node") & (pl.col("nic") == "Pollara-400"))
    ship = sel.filter(~pl.col("announced_not_shipped"))
    wide = sel.pivot(on="nic", index="platform", values="wall_days")
    speed = {}
    if {"Pollara-400", "Vulcano-800"} <= set(wide.columns):
        speed = {r["platform"]: r["Pollara-400"] / r["Vulcano-800"] for r in wide.iter_rows(named=True)}
    return {"base": first(base) if base.height else None,
            "fastest": first(sel.sort("wall_days")),
            "cheapest": first(sel.sort("run_cost_usd")),
            "cheapest_shipping": first(ship.sort("run_cost_usd")) if ship.height else None,
            "nic_speedup": speed}


def operator_paths(platform: str, nic: str, *, utilizations: tuple[float, ...] | None = None,
                   gpus: int | None = None) -> pl.DataFrame:
    """IBM's view of renting out an option's GPUs under each rent path of the economics module
    (contract then Epoch decay, a 2026-style rebound, and flat at several sold shares), per
    GPU, pre-tax and unlevered: :func:`infra_lab.economics.provider_view` for each.
    ``utilizations``: the flat path's sold shares, (0, 1]; default the low, mode and high of
    ``market_utilization`` in data/economics/parameters.csv (the sold share after the contract).
    ``gpus``: the cluster whose fabric the network is priced on (:func:`cost_overrides`; None:
    the reference cluster's 1,024 GPUs).

    Returns
    -------
    polars.DataFrame: path, utilization (flat only; null = the path's contract/market shares),
    price_usd_per_gpu_hour (first price), margin_usd_per_gpu_hour (first price - the owned cost
    per sold hour, no credit for the sale), resale_credit_usd_per_gpu_hour (the sale price as
    salvage value, per sold hour) and margin_with_resale_usd_per_gpu_hour (the margin plus that
    credit: the one to compare rent with owning) [USD per GPU-hour], irr (null: never repaid),
    payback_years (inf: never), npv_usd_per_gpu, retirement_year (the end of the last year
    with a positive cash margin, where the hardware stops before the horizon; null: it runs
    to the horizon) [years]
    """
    from . import economics

    p = _row(platforms(), "platform", platform, "platform")
    ov = cost_overrides(platform, nic, gpus)
    if p["contract_usd_per_gpu_hour"] is not None:
        ov["contract_usd_per_gpu_hour"] = p["contract_usd_per_gpu_hour"]
    if utilizations is None:   # was (0.5, 0.7, 0.9) typed here: market_utilization's row
        m = economics.parameters(p["accelerator"])["market_utilization"]
        utilizations = tuple(dict.fromkeys((m.low, m.value, m.high)))
    for u in utilizations:
        if isinstance(u, bool) or not isinstance(u, (int, float)) or not 0 < u <= 1:
            raise ValidationError(f"utilizations contains {u!r}: expected fractions in (0, 1]")
    cases = [("decay", None), ("rebound", None)] + [("flat", float(u)) for u in utilizations]
    rows = []
    for path, u in cases:
        v = economics.provider_view(None, u, p["accelerator"], path=path, **ov)
        rows.append({"path": path, "utilization": u, "price_usd_per_gpu_hour": v.price_usd_per_gpu_hour,
                     "margin_usd_per_gpu_hour": v.margin_usd_per_gpu_hour,
                     "resale_credit_usd_per_gpu_hour": v.resale_credit_usd_per_gpu_hour,
                     "margin_with_resale_usd_per_gpu_hour": v.margin_with_resale_usd_per_gpu_hour, "irr": v.irr,
                     "payback_years": v.payback_years, "npv_usd_per_gpu": v.npv_usd_per_gpu,
                     "retirement_year": v.retirement_year})
    return pl.DataFrame(rows, schema_overrides={"utilization": pl.Float64, "irr": pl.Float64,
                                                "retirement_year": pl.Float64})


name_keywords_of(globals(), __all__, "il.expansion")   # a misspelt keyword names the nearest parameter
