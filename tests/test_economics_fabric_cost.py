"""The owned cost prices the cluster's own back-end fabric: ``owned_cost_per_gpu_hour``,
``owned_inputs`` and ``monte_carlo_owned_cost`` take ``hardware=`` and read the switch, NIC and
cable counts of that fabric from the fabric code (``fabric_network_counts``, the one reader of
``fabric.switch_counts`` / ``link_counts`` for prices). Before, every owned cost used
parameters.csv's per-GPU counts, the reference fabric's (3 switch ports, 4 transceivers per GPU
for ZAYA1's 128 nodes rails-only), whatever the cluster's size or fabric."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import infra_lab as il
from infra_lab import economics as E
from infra_lab.errors import ValidationError

F = il.fabric


def _hw(nodes, fabric, **extra):
    return {"accelerator": "MI300X", "nodes": nodes, "fabric": fabric, **extra}


def test_owned_cost_prices_the_fabric_it_is_given():
    """Rails-only vs fat-tree and 64 vs 128 vs 512 nodes: where the fabric code counts different
    switch ports per GPU, the owned cost's network differs, by exactly what network_capex_per_gpu
    prices for that fabric (the owned cost adds the hot spares)."""
    cases = [_hw(64, "rails-only"), _hw(128, "rails-only"), _hw(512, "rails-only"), _hw(512, "fat-tree"),
             _hw(16, "rail-optimized")]
    nets, ports = [], []
    for hw in cases:
        c = E.owned_cost_per_gpu_hour(hardware=hw)
        want = E.owned_cost_per_gpu_hour(network_usd_per_gpu=E.network_capex_per_gpu(hardware=hw))
        assert c.network_usd_per_gpu_hour == pytest.approx(want.network_usd_per_gpu_hour, rel=1e-12)
        assert c.total_usd_per_gpu_hour == pytest.approx(want.total_usd_per_gpu_hour, rel=1e-12)
        sw = F.switch_counts(hw)
        ports.append(sw["total"] * F.constant("switch_radix_ports") / F.hardware_config(hw).world_size)
        assert c.inputs["switch_ports_per_gpu"] == pytest.approx(ports[-1])
        nets.append(c.network_usd_per_gpu_hour)
    # 64 nodes on one rails-only level: 1 port per GPU; 128 nodes two levels: 3; 512 nodes fat-tree
    # three levels: 5. Before: 3 for every one of them (the same owned cost).
    assert ports[0] == 1.0 and ports[1] == 3.0 and ports[3] == 5.0
    assert nets[0] < nets[1] < nets[3]
    assert nets[4] != nets[3]     # 5 ports per GPU both, 2 cables per GPU against 3 (16 nodes two levels)
    # the reference fabric (ZAYA1's) is parameters.csv's counts: no hardware, same cost
    ref = il.load_scenario(E.REFERENCE_SCENARIO)
    assert E.owned_cost_per_gpu_hour(hardware=ref).total_usd_per_gpu_hour == pytest.approx(
        E.owned_cost_per_gpu_hour("MI300X").total_usd_per_gpu_hour, rel=1e-12)


def test_fabric_counts_are_network_capex_counts():
    """network_capex_per_gpu(hardware=...) and the owned cost read the same counts (one helper)."""
    for hw in (_hw(128, "rails-only"), _hw(33, "fat-tree"), {"accelerator": "B200", "nodes": 80, "fabric": "rail-optimized"},
               {"accelerator": "MI300X", "nodes": 1}):
        c = E.fabric_network_counts(hw)
        P = E.parameters(F.hardware_config(hw).accelerator if hw["accelerator"] != "B200" else "B200")
        want = P["nic_usd"].value * c["nics_per_gpu"] + P["switch_port_usd"].value * c["switch_ports_per_gpu"] \
            + P["optics_usd"].value * c["optics_per_gpu"]
        assert E.network_capex_per_gpu(hardware=hw) == pytest.approx(want, rel=1e-12)
    one = E.fabric_network_counts({"accelerator": "MI300X", "nodes": 1})
    assert one == {"nics_per_gpu": 1.0, "switch_ports_per_gpu": 0.0, "optics_per_gpu": 0.0}


def test_monte_carlo_of_a_named_cluster_draws_by_fabric_count_factors():
    """monte_carlo_owned_cost(hardware=...) held the fabric's counts fixed at their values while
    deal_pnl and expansion.owned_quote scaled the drawn ranges (fabric_count_factors), so
    hardware= set to the reference cluster (factors 1) gave another band than no hardware (P50
    2.076 against 2.030 USD at 1e5 draws: the counts' modes sit at the top of their ranges). It
    now draws by the same rule: the reference cluster's draws are the default's, bit for bit."""
    ref = il.load_scenario(E.REFERENCE_SCENARIO)
    hw = _hw(512, "fat-tree")
    scale, zero = E.fabric_count_factors(hw)
    assert scale and not zero
    for backend in ("numba", "reference"):
        assert np.array_equal(E.monte_carlo_owned_cost(3000, seed=3, hardware=ref, backend=backend),
                              E.monte_carlo_owned_cost(3000, seed=3, backend=backend))
    a = E.monte_carlo_owned_cost(3000, seed=3, hardware=hw)
    np.testing.assert_allclose(a, E.monte_carlo_owned_cost(3000, seed=3, hardware=hw, backend="reference"), rtol=1e-12)
    assert np.median(a) > np.median(E.monte_carlo_owned_cost(3000, seed=3))   # 5 ports, 6 transceivers per GPU
    # one node: no back-end switch or optics, held at 0; its NICs drawn as the default's
    one = {"accelerator": "MI300X", "nodes": 1}
    free = {"switch_port_usd": 0.0, "optics_usd": 0.0}
    assert np.array_equal(E.monte_carlo_owned_cost(2000, seed=2, hardware=one),
                          E.monte_carlo_owned_cost(2000, seed=2, fixed=free))
    # an optics_per_gpu given beside hardware is the reference fabric's figure, held at the
    # cluster's, as owned_cost_per_gpu_hour(hardware=...) reads it (NIC and port prices at 0 so
    # that the drawn NIC and port counts add nothing: every draw is that cost)
    P = E.parameters("MI300X")
    fixed = {k: P[k].value for k in E.OWNED_PARAMS if k not in ("nics_per_gpu", "switch_ports_per_gpu")}
    fixed.update(nic_usd=0.0, switch_port_usd=0.0, optics_per_gpu=3.0)
    want = E.owned_cost_per_gpu_hour(hardware=hw, **fixed).total_usd_per_gpu_hour
    for backend in ("numba", "reference"):
        np.testing.assert_allclose(E.monte_carlo_owned_cost(500, seed=2, hardware=hw, fixed=fixed, backend=backend),
                                   want, rtol=1e-12)


def _network_p50(call, **prices):
    """P50 of ``call(fixed)`` with every owned-cost input but the three network counts held at
    MI300X's modes, minus the same with the NIC, port and optics prices at 0: the network's part
    (the counts are drawn; the rest is a constant, so the P50 difference is the network's P50)."""
    P = E.parameters("MI300X")
    fixed = {k: P[k].value for k in E.OWNED_PARAMS if k not in ("nics_per_gpu", "switch_ports_per_gpu", "optics_per_gpu")}
    return call({**fixed, **prices}) - call({**fixed, "nic_usd": 0.0, "switch_port_usd": 0.0, "optics_usd": 0.0})


def test_a_16_gpu_clusters_network_is_the_same_in_every_entry_point():
    """Two 8-GPU nodes rails-only buy eight 64-port leaves (32 ports per GPU). The owned-cost Monte
    Carlo (hardware=), deal_pnl (n_gpus=16) and tco(16) price that network per GPU alike: the
    Monte Carlo and the deal draw the same counts (same seed, same streams) and scale them by
    fabric_count_factors; tco prices the modes by the same factors. tco(16) priced 3 ports per
    GPU before (8,819 USD of network per GPU; now 38,144)."""
    hw16 = _hw(2, "rails-only")
    n, seed = 2000, 7
    deal = _network_p50(lambda f: E.deal_pnl(1e3, n_gpus=16, n=n, seed=seed, overrides=f)
                        .line("IBM", "cluster capex").p50 / 16)
    fixed = {k: E.parameters("MI300X")[k].value for k in E.OWNED_PARAMS
             if k not in ("nics_per_gpu", "switch_ports_per_gpu", "optics_per_gpu")}
    per_usd = (E.owned_cost_per_gpu_hour(**fixed, network_usd_per_gpu=1000.0).total_usd_per_gpu_hour
               - E.owned_cost_per_gpu_hour(**fixed, network_usd_per_gpu=0.0).total_usd_per_gpu_hour) / 1000.0
    # the deal's capex per USD of network per GPU (its capex adds the spares and the storage share)
    one_nic = {**fixed, "nics_per_gpu": 1.0, "switch_ports_per_gpu": 0.0, "optics_per_gpu": 0.0}
    deal_per_usd = (E.deal_pnl(1e3, n_gpus=16, n=50, overrides={**one_nic, "nic_usd": 1000.0}).line("IBM", "cluster capex").p50
                    - E.deal_pnl(1e3, n_gpus=16, n=50, overrides={**one_nic, "nic_usd": 0.0}).line("IBM", "cluster capex").p50
                    ) / 16 / 1000.0
    for backend in ("numba", "reference"):
        mc = _network_p50(lambda f, b=backend: float(np.percentile(
            E.monte_carlo_owned_cost(n, seed=seed, hardware=hw16, fixed=f, backend=b), 50)))
        assert mc / per_usd == pytest.approx(deal / deal_per_usd, rel=1e-9)   # the same network per GPU, draw for draw
    spare = 1.0 + fixed["spare_fraction"]
    # tco(16) at the modes: parameters.csv's counts x the factors, = the cluster's own counts
    t16 = dict(E.tco(16).select("component", "usd_per_gpu").iter_rows())["back-end network (capex)"]
    assert t16 == pytest.approx(dict(E.tco(hardware=hw16).select("component", "usd_per_gpu").iter_rows())
                                ["back-end network (capex)"], rel=1e-12)
    assert t16 == pytest.approx(E.network_capex_per_gpu(hardware=hw16) * spare, rel=1e-12)
    t1024 = dict(E.tco(1024).select("component", "usd_per_gpu").iter_rows())["back-end network (capex)"]
    assert t1024 == pytest.approx(E.network_capex_per_gpu() * spare, rel=1e-12) and t16 > 4 * t1024
    # the reference cluster named by hardware= is the default
    assert E.tco(hardware=il.load_scenario(E.REFERENCE_SCENARIO)).equals(E.tco())
    # a count given without hardware is the caller's
    c16 = E.fabric_network_counts(hw16)
    assert E.tco(16, **c16).equals(E.tco(16))
    with pytest.raises(ValidationError, match=r"n_gpus = 32 with hardware of 16 GPUs"):
        E.tco(32, hardware=hw16)
    with pytest.raises(ValidationError, match=r"switch_ports_per_gpu and hardware"):
        E.tco(hardware=hw16, switch_ports_per_gpu=3.0)


def test_one_copy_of_the_fabric_count_rule():
    """The cluster's counts are read in one place (fabric_network_counts) and entered in a Monte
    Carlo by one rule (fabric_count_factors): no other function calls fabric_network_counts to
    make its own scaling, and every entry point that prices a named cluster goes through the rule."""
    import ast
    import inspect

    root = Path(il.__file__).resolve().parent
    callers = set()
    for path in root.rglob("*.py"):
        tree = ast.parse(path.read_text())
        for fn in ast.walk(tree):
            if isinstance(fn, ast.FunctionDef | ast.AsyncFunctionDef):
                for node in ast.walk(fn):
                    if (isinstance(node, ast.Call) and getattr(node.func, "id", getattr(node.func, "attr", None))
                            == "fabric_network_counts"):
                        callers.add(f"{path.relative_to(root)}:{fn.name}")
    # the deterministic readers at the modes (the counts themselves) and the rule
    assert callers == {"economics/owned.py:network_capex_per_gpu", "economics/owned.py:_fabric_overrides",
                       "economics/owned.py:fabric_count_factors", "expansion.py:_network_counts"}
    from infra_lab.economics import deal, finance, montecarlo, owned

    for fn in (montecarlo.monte_carlo_owned_cost, finance._cluster_inputs, deal.deal_pnl, il.expansion.owned_quote):
        src = inspect.getsource(fn)
        assert "fabric_count_factors(" in src or "_fabric_draws(" in src, fn.__qualname__
    assert "fabric_count_factors(" in inspect.getsource(owned._fabric_draws)


def test_hardware_refuses_what_it_replaces():
    hw = _hw(128, "rails-only")
    with pytest.raises(ValidationError, match=r"accelerator = 'H100' and hardware of MI300X"):
        E.owned_cost_per_gpu_hour("H100", hardware=hw)
    with pytest.raises(ValidationError, match=r"switch_ports_per_gpu and hardware"):
        E.owned_cost_per_gpu_hour(hardware=hw, switch_ports_per_gpu=2.0)
    with pytest.raises(ValidationError, match=r"network_usd_per_gpu and hardware"):
        E.owned_inputs(None, {"network_usd_per_gpu": 5000.0}, hardware=hw)
    with pytest.raises(ValidationError, match=r"network = 'fraction' and hardware"):
        E.owned_cost_per_gpu_hour(hardware=hw, network="fraction")
    with pytest.raises(ValidationError, match=r"radix = 128: the switch radix of hardware's fabric"):
        E.owned_cost_per_gpu_hour(radix=128)
    with pytest.raises(ValidationError, match=r"network_usd_per_gpu and hardware"):
        E.monte_carlo_owned_cost(100, hardware=hw, fixed={"network_usd_per_gpu": 5000.0})
    # the hardware's accelerator is the default; the same name is accepted
    assert E.owned_cost_per_gpu_hour("MI300X", hardware=hw).accelerator == "MI300X"
    b = {"accelerator": "B200", "nodes": 64, "fabric": "rail-optimized"}
    assert E.owned_cost_per_gpu_hour(hardware=b).accelerator == "B200"
    # a larger radix counts fewer switches for the same cluster
    assert (E.owned_cost_per_gpu_hour(hardware=_hw(512, "fat-tree"), radix=128).network_usd_per_gpu_hour
            < E.owned_cost_per_gpu_hour(hardware=_hw(512, "fat-tree")).network_usd_per_gpu_hour)


def test_docs_figures_are_the_models():
    doc = (Path(__file__).resolve().parent.parent / "docs" / "economics.md").read_text()
    got = [f"{E.owned_cost_per_gpu_hour(hardware=_hw(n, f)).total_usd_per_gpu_hour:.3f}"
           for n, f in ((64, "rails-only"), (128, "rails-only"), (512, "fat-tree"))]
    assert f"1 port per GPU,\n  {got[0]} USD per useful GPU-hour; 128 nodes rails-only, the reference, {got[1]}" in doc
    assert f"5 ports and 6 transceivers per GPU, {got[2]})" in doc


def test_800g_transceivers_are_priced_as_800g_modules():
    """An 800G NIC's cables carried 400G-priced transceivers (700 USD, the 400G module), though
    data/economics/network_costs.csv lists the 800G OSFP-DR8 at 1,100-1,400 USD; the fabric's
    transceivers now count optics_price_ratio(line rate) priced modules each."""
    rows = {r["line_rate_gbps"]: (r["usd_low"] + r["usd_high"]) / 2 for r in E.network_costs().iter_rows(named=True)
            if r["unit"] == "transceiver"}
    assert E.optics_price_ratio(800e9) == pytest.approx(rows[800.0] / rows[400.0])
    assert E.optics_price_ratio(400e9) == 1.0 and E.optics_price_ratio(200e9) == 1.0    # no 200G row: the 400G module
    h4, h8 = _hw(128, "rails-only"), _hw(128, "rails-only", nic="Vulcano-800")
    c4, c8 = E.fabric_network_counts(h4), E.fabric_network_counts(h8)
    assert c8["optics_per_gpu"] == pytest.approx(c4["optics_per_gpu"] * rows[800.0] / rows[400.0])
    assert c8["switch_ports_per_gpu"] == 2 * c4["switch_ports_per_gpu"]
    doc = (Path(__file__).resolve().parent.parent / "docs" / "economics.md").read_text()
    b300 = E.network_capex_per_gpu(hardware={"accelerator": "B300", "nodes": 128, "fabric": "rails-only"})
    assert f"(ConnectX-8 on B300, Vulcano-800: {b300:,.0f} USD per GPU on 1,024 GPUs;" in doc
    assert b300 == E.network_capex_per_gpu(hardware={"accelerator": "MI355X", "nodes": 128, "fabric": "rails-only",
                                                     "nic": "Vulcano-800"})


def test_a_small_fabric_of_large_switches_is_priced_not_refused():
    """2 nodes on 8 rails of 1,024-port switches buy 512 ports per GPU (whole switches): the owned
    cost refused its own fabric's count ('switch_ports_per_gpu = 512.0: must be ... in [0, 64]',
    an input the caller never passed), though network_capex_per_gpu priced it."""
    hw = _hw(2, "rails-only")
    c = E.owned_cost_per_gpu_hour(hardware=hw, radix=1024)
    assert c.inputs["switch_ports_per_gpu"] == 512.0
    want = E.owned_cost_per_gpu_hour(network_usd_per_gpu=E.network_capex_per_gpu(hardware=hw, radix=1024))
    assert c.total_usd_per_gpu_hour == pytest.approx(want.total_usd_per_gpu_hour, rel=1e-12)


# ---------------------------------------------------------------------------------- the deal
def _deal_capex_per_gpu(n_gpus, switch_port_usd, **kw):
    """The deal's cluster capex per GPU (P50) with every owned-cost price held fixed, the NICs and
    optics priced at 0: the capex is then affine in the drawn switch ports per GPU."""
    fixed = {k: E.parameters("MI300X")[k].value for k in E.OWNED_PARAMS
             if k not in ("nics_per_gpu", "switch_ports_per_gpu", "optics_per_gpu")}
    fixed.update(nic_usd=0.0, optics_usd=0.0, switch_port_usd=switch_port_usd)
    d = E.deal_pnl(1e3, n_gpus=n_gpus, n=400, seed=5, overrides=fixed, **kw)
    return d.line("IBM", "cluster capex").p50 / n_gpus


def test_deal_prices_the_whole_switches_of_its_cluster():
    """deal_pnl priced every cluster with parameters.csv's reference-fabric counts (3 ports per GPU
    on ZAYA1's 128 nodes), so two nodes of 8 paid for 3 ports per GPU where the expansion's owned
    quote of the same cluster paid for its 8 whole 64-port leaves (32 per GPU). The deal now reads
    the cluster's own fabric through fabric_count_factors, the rule owned_quote uses: each drawn
    count is multiplied by the fabric's count over the row's mode."""
    base = _deal_capex_per_gpu(1024, 0.0)                   # no switch price: the rest of the capex
    assert _deal_capex_per_gpu(16, 0.0) == pytest.approx(base, rel=1e-12)
    ref = _deal_capex_per_gpu(1024, 1000.0) - base
    two_nodes = _deal_capex_per_gpu(16, 1000.0) - base
    c16 = E.fabric_network_counts({"accelerator": "MI300X", "nodes": 2, "fabric": "rails-only"})
    mode = E.parameters("MI300X")["switch_ports_per_gpu"].value
    assert c16["switch_ports_per_gpu"] == 32.0
    assert two_nodes / ref == pytest.approx(c16["switch_ports_per_gpu"] / mode, rel=1e-9)
    # one node is one scale-up domain: no back-end switch, so the switch price adds nothing
    assert _deal_capex_per_gpu(8, 1000.0) == pytest.approx(_deal_capex_per_gpu(8, 0.0), rel=1e-12)
    # the reference cluster's factors are 1: its draws are parameters.csv's, as before
    assert E.fabric_count_factors(il.scenario.load_scenario("zaya1-ibm-mi300x", check_plan=False)) == ({}, {})


def test_deal_and_owned_quote_share_one_network_rule():
    """il.expansion.deal passes the option's hardware; its network counts are not overrides any
    more (they were held at the fabric's count there while owned_quote scaled the drawn range)."""
    X = il.expansion
    for platform, nic, gpus in (("MI300X node", "Vulcano-800", 1024), ("MI450X Helios rack", "Pollara-400", 1152)):
        ov = X.deal_overrides(platform, nic)
        assert not set(ov) & {"nics_per_gpu", "switch_ports_per_gpu", "optics_per_gpu"}
        hw = X.option_hardware(platform, nic, gpus)
        d = X.deal(platform, nic, gpus, 1e5, n=200, seed=4)
        assert d.table.equals(E.deal_pnl(1e5, hardware=hw, overrides=ov, n=200, seed=4).table)
        scale, zero = E.fabric_count_factors(hw)
        assert scale and not zero                   # these fabrics count more than the reference's
    mi300 = X.deal("MI300X node", "Pollara-400", 1024, 1e5, n=200, seed=4)
    assert mi300.table.equals(E.deal_pnl(1e5, n=200, seed=4).table)


def test_deal_hardware_refusals():
    hw = {"accelerator": "MI300X", "nodes": 16, "fabric": "rails-only"}
    with pytest.raises(ValidationError, match=r"n_gpus = 128 with hardware"):
        E.deal_pnl(1e5, hardware=hw, n_gpus=128, n=50)
    with pytest.raises(ValidationError, match=r"accelerator = 'MI355X' and hardware of MI300X"):
        E.deal_pnl(1e5, hardware=hw, accelerator="MI355X", n=50)
    with pytest.raises(ValidationError, match=r"overrides\['switch_ports_per_gpu'\] and hardware"):
        E.deal_pnl(1e5, hardware=hw, overrides={"switch_ports_per_gpu": 3.0}, n=50)
    with pytest.raises(ValidationError, match=r"H100-SXM is a NVIDIA part"):
        E.deal_pnl(1e5, hardware={"accelerator": "H100-SXM", "nodes": 16}, n=50)
    # a rack-scale part in partly used trays that fill no whole racks: said in deal_pnl's own fields
    mi450 = {"capex_usd_per_gpu": 3e4, "amd_asp_usd_per_gpu": 2.5e4, "tdp_W": 1400.0, "contract_usd_per_gpu_hour": 3.0}
    with pytest.raises(ValidationError, match=r"deal_pnl: n_gpus = 1,150 in nodes = 575 of MI450X"):
        E.deal_pnl(1e5, accelerator="MI450X", n_gpus=1150, nodes=575, n=50, overrides=mi450)
    # whole trays in partly used racks are packed as own_node_layout packs them (17 racks of 68);
    # a part with no purchase-price row and the price given held fixed (a KeyError before)
    d = E.deal_pnl(1e5, accelerator="MI450X", n_gpus=1156, n=50, overrides=mi450)
    assert "30,000 USD per GPU, held fixed" in d.unknowns[0]
    # a count given without hardware is the caller's own, drawn or held as given
    d = E.deal_pnl(1e3, n_gpus=16, n=50, overrides={"switch_ports_per_gpu": 3.0, "optics_per_gpu": 4.0})
    assert d.line("IBM", "cluster capex").p50 / 16 == pytest.approx(
        E.deal_pnl(1e3, n=50, overrides={"switch_ports_per_gpu": 3.0, "optics_per_gpu": 4.0})
        .line("IBM", "cluster capex").p50 / 1024, rel=1e-12)


def test_expansion_docs_deal_figures_are_the_models():
    """docs/expansion.md gives the per-option deal figures after the deal took the owned quote's
    network rule; they are what il.expansion.deal computes (2,000 draws, seed 3)."""
    doc = " ".join((Path(__file__).resolve().parent.parent / "docs" / "expansion.md").read_text().split())
    for platform, nic, gpus, was in (("MI300X node", "Vulcano-800", 1024, "45,884"),
                                     ("MI450X Helios rack", "Vulcano-800", 1152, "63,481")):
        d = il.expansion.deal(platform, nic, gpus, 1e5, n=2000, seed=3)
        capex = d.line("IBM", "cluster capex").p50 / gpus
        irr = d.line("IBM", "IRR (pre-tax, unlevered)").p50
        assert f"{was} → {capex:,.0f} USD" in doc
        assert f"→ {irr * 100:.1f} %".replace("-", "−") in doc


def test_docs_tco_network_figures_are_the_models():
    """economics.md's per-GPU back-end network of tco at 16, 64, 8 and 1,024 GPUs and the owned
    cost Monte Carlo's P50 at 1e5 draws are what the code gives."""
    doc = " ".join((Path(__file__).resolve().parent.parent / "docs" / "economics.md").read_text().split())
    net = {n: dict(E.tco(n).select("component", "usd_per_gpu").iter_rows())["back-end network (capex)"]
           for n in (8, 16, 64, 1024)}
    assert (f"8,819 USD of back-end network per GPU (spares included) at 16 GPUs as at 1,024; now "
            f"{net[16]:,.0f} at 16 (eight whole leaves), {net[64]:,.0f} at 64 (one rails-only level), "
            f"{net[8]:,.0f} at 8 (one node: its NICs only), and still {net[1024]:,.0f} at 1,024") in doc
    p50 = float(np.median(E.monte_carlo_owned_cost(100_000, seed=0)))
    assert f"where no hardware gave {p50:.3f} at 10⁵ draws" in doc
