"""Generate notebooks/03_interconnect.ipynb."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from nbbuild import write_notebook  # noqa: E402

cells = [
    ("md", r"""
# 03 · Interconnect: xGMI, NVLink and Pollara rails

← [02 · Compute and memory](02_compute_and_memory.ipynb) · [index](00_index.ipynb) · [04 · Training ZAYA1](04_training_zaya1.ipynb) →

**The question.** What bandwidth do the links inside a node (AMD xGMI full mesh vs NVIDIA
NVLink + NVSwitch) and between nodes (8 × Pollara 400 per node on a rails-only Ethernet
fabric) deliver to the collectives training uses — all-reduce for data parallelism,
all-to-all for mixture-of-experts? Where is each collective latency-bound and where
bandwidth-bound, is the network the bottleneck at 1,024 GPUs, and what does Ultra Ethernet's
packet spraying buy over classic ECMP hashing?

**How.** `il.collective(op, S, hardware, gpus)` prices a collective with α–β–γ models of ring,
double-binary-tree, recursive halving/doubling, direct (mesh), hierarchical and rail-aware
algorithms, using NCCL/RCCL latency constants and measured link rates from
`data/network_constants.csv`; `il.fabric` routes the flows of one collective step over a
leaf–spine fabric and solves max-min fair rates (numba, checked against a plain-Python twin).
Bandwidth figures follow nccl-tests: algbw = S/t and busbw = algbw × F (F = 2(n−1)/n for
all-reduce, (n−1)/n for all-to-all). GB/s = 10⁹ bytes/s, per direction.
"""),
    ("md", "## 1. The links"),
    ("code", r"""
rows = []
for acc, extra in [("MI300X", {}), ("H100-SXM", {}), ("H200-SXM", {}), ("B200", {}),
                   ("GB200", {"gpus_per_node": 4, "nodes": 18, "scaleup_domain": 72})]:
    su = il.fabric.scaleup(dict({"accelerator": acc}, **extra))
    rows.append({"accelerator": acc, "scale-up": su.tech, "topology": su.topology, "domain": su.domain,
                 "links/GPU": su.links_per_gpu, "raw GB/s per link": su.link_raw_Bps / 1e9,
                 "efficiency": round(su.efficiency, 3), "achieved GB/s per GPU (all peers)": round(su.gpu_Bps / 1e9, 1),
                 "achieved GB/s to 1 peer": round(su.bandwidth_Bps(2) / 1e9, 1)})
pl.DataFrame(rows)
"""),
    ("code", r"""
ZY = {"accelerator": "MI300X", "nodes": 128, "nic": "Pollara-400", "fabric": "rails-only"}
so = il.fabric.scaleout(ZY)
print(f"Pollara-400: line rate {so.line_rate_Bps/1e9:.0f} GB/s, achieved {so.nic_Bps/1e9:.0f} GB/s "
      f"({so.efficiency:.0%}), {so.nics_per_node} per node = {so.node_Bps/1e9:.0f} GB/s per node")
print("switches (64-port):", il.fabric.switch_counts(ZY), "| 128-port:", il.fabric.switch_counts(ZY, radix=128))
fab = il.fabric.Fabric.build(ZY)
print(f"GPU 0 of node 0 -> GPU 3 of node 64: {len(fab.paths(0, 8*64 + 3))} equal-cost paths, e.g.")
print("  " + " -> ".join(fab.paths(0, 8*64 + 3)[0]))
"""),
    ("md", r"""
Sources: raw link rates from `data/accelerators.csv`; efficiencies from
`data/network_constants.csv` — xGMI 46.552/64 GB/s (AMD TransferBench, ROCm blog), NVLink
20.6/25 GB/s per link (NCCL `topo.h`), NIC 47/50 GB/s (NVIDIA's 46–48 GB/s per 400G NIC,
nccl-tests issue 290). On the mesh a GPU reaches one peer over **one** 46.6 GB/s link; through
NVSwitch it reaches one peer at its full 371 GB/s. On a rails-only fabric a GPU reaches another
rail only by first hopping over xGMI to the local GPU of that rail.
"""),
    ("md", "## 2. Inside one node: busbw against message size"),
    ("code", r"""
sizes = [2.0**e for e in range(8, 35)]
frames = []
for acc, nic, label in [("MI300X", "Pollara-400", "8×MI300X (xGMI mesh)"),
                        ("H100-SXM", "ConnectX-7-NDR", "8×H100 (NVSwitch)")]:
    hw1 = {"accelerator": acc, "nodes": 1, "nic": nic}
    for k in (8, 4, 2):
        df = il.collectives.sweep("all_reduce", sizes, hw1, k)
        ceiling = il.collectives.collective_time_params(hw1).scaleup_Bps(k) / 1e9
        frames.append(df.with_columns(series=pl.lit(f"{label}, {k} GPUs"), ceiling_GBps=pl.lit(ceiling)))
node = pl.concat(frames)
il.charts.busbw_vs_size_chart(node.filter(pl.col("series").str.contains(", 8 GPUs")),
                              title="all_reduce inside one node (dashed: link-bound ceiling)")
"""),
    ("code", r"""
def regime(df):
    # latency-bound below the size where half the ceiling is reached
    half = df.filter(pl.col("busbw_GBps") >= 0.5 * pl.col("ceiling_GBps"))
    return half["size_bytes"].min()

summary = []
for s in node["series"].unique(maintain_order=True):
    d = node.filter(pl.col("series") == s)
    summary.append({"series": s, "busbw @ 64 KiB [GB/s]": d.filter(pl.col("size_bytes") == 2**16)["busbw_GBps"][0],
                    "busbw @ 1 GiB [GB/s]": d.filter(pl.col("size_bytes") == 2**30)["busbw_GBps"][0],
                    "ceiling [GB/s]": d["ceiling_GBps"][0], "half-ceiling size [bytes]": regime(d),
                    "algorithm @ 1 GiB": d.filter(pl.col("size_bytes") == 2**30)["chosen"][0]})
pl.DataFrame(summary)
"""),
    ("code", r"""
il.charts.busbw_vs_size_chart(node.filter(pl.col("series").str.starts_with("8×MI300X")),
                              title="The partial-node penalty on the MI300X mesh: k GPUs use only k−1 links")
"""),
    ("md", r"""
Below ~100 KB every all-reduce is **latency-bound**: a handful of microseconds of RCCL/NCCL
base latency plus per-step hops dominate, and the low-latency LL protocol wins. Above a few MB
it is **bandwidth-bound** and approaches the link ceiling: 7 × 46.6 = 326 GB/s for 8 × MI300X
and 18 × 20.6 = 371 GB/s for 8 × H100. The mesh's penalty is the second chart: a 2-GPU
collective (tensor parallel 2, say) gets one xGMI link, 46.6 GB/s — an eighth of what two H100s
get through NVSwitch. Plans for MI300X should keep tensor-parallel and expert groups at all 8
GPUs of a node or out of the node.
"""),
    ("md", "## 3. Predicted vs measured"),
    ("code", r"""
cmp = il.collectives.published_comparison()
cmp.select("name", "unit", pl.col("predicted").round(2), "measured_low", "measured_high",
           pl.col("error_pct").round(1), "within_range", "calibrated")
"""),
    ("code", r"""
for r in cmp.iter_rows(named=True):
    tag = "calibration source" if r["calibrated"] else "independent"
    verdict = "match" if abs(r["error_pct"]) < 5 else "MISMATCH"
    print(f"{r['name']:38s} {tag:18s} error {r['error_pct']:+7.1f} %  -> {verdict}")
# NCCL's own latency model, worked in network.md §6.7 (Ring/Simple, 16 nodes x 8 GPUs): 1,190 µs
from infra_lab._kernels import fabric as K
p16 = il.collectives.collective_time_params({"accelerator": "H100", "nodes": 16, "nic": "ConnectX-7"}, radix=1024).array
lat = K.collective_cost(K.OP_ALL_REDUCE, K.ALG_RING, K.PROTO_SIMPLE, 0.0, 128, 8, p16) * 1e6
print(f"NCCL Ring/Simple latency, 16 nodes: model {lat:.1f} µs vs worked 1,190 µs -> match: {abs(lat - 1190) < 1}")
"""),
    ("md", r"""
Sources: `data/network_measurements.csv` — nccl-tests issue 212 (NVIDIA: 450 GB/s NVLink line
rate, ~20 % protocol overhead), AMD's TransferBench per-link table (ROCm blog), nccl-tests
issue 290 (46–48 GB/s per 400G NIC), Wang et al. arXiv 2307.12169 (rail-only all-to-all
overhead). The independent busbw figures agree within 3 %. The two calibration rows are shown
for completeness; the NIC row reads −5 % because at 16 nodes an 8 GiB all-reduce still pays
RCCL's ring latency (2·15 network steps of 25 µs plus 224 intra-node steps), which the
46–48 GB/s rule of thumb ignores. The rail-only all-to-all overhead does **not** match: the model finds that with
8 Pollara NICs per node the NICs, not the extra xGMI forwarding hop, bound an all-to-all, so
forwarding costs ≈ 0 % rather than Wang et al.'s simulated 8.2–11.2 % (their fabric, message
sizes and congestion model differ; the model has no congestion at the forwarding GPU).
"""),
    ("md", "## 4. Across nodes: all-reduce and all-to-all as the cluster grows"),
    ("code", r"""
rows = []
for nodes in [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024]:
    hwn = dict(ZY, nodes=nodes)
    for op, S in (("all_reduce", 2**30), ("all_to_all", 2**30)):
        c = il.collective(op, S, hwn, 8 * nodes)
        rows.append({"gpus": 8 * nodes, "op": op, "series": f"{op}, 1 GiB", "chosen": c.algorithm,
                     "time_ms": c.time_s * 1e3, "busbw_GBps": c.busbw_Bps / 1e9})
scale = pl.DataFrame(rows)
il.charts.scaling_chart(scale, title="MI300X + Pollara-400 rails: busbw of 1 GiB collectives")
"""),
    ("code", r"""
scale.filter(pl.col("gpus").is_in([8, 64, 1024, 8192])).sort("op", "gpus")
"""),
    ("md", r"""
All-reduce falls from the xGMI ceiling (one node) to the NIC-bound regime: 8 NICs × 47 GB/s =
376 GB/s per node is the busbw ceiling (network.md §5.1), and at 1 GiB the RCCL latency terms
grow with the node count (ring: 2(N−1) network steps; the double binary tree trades RCCL's
0.59 tree bandwidth factor for 2·lg N steps), so at 1 GiB busbw sinks to ~210 GB/s from 1,024
GPUs on; larger buffers (or bucketed gradients overlapped with compute) move back towards the
NIC ceiling.
All-to-all is NIC-bound from two nodes on: each GPU's remote share leaves through its own
47 GB/s NIC, so busbw tends to 47 GB/s per GPU (B_nic·(n−1)/(n−G)) — an MoE layer's
dispatch/combine is ~7× slower per byte than the node-local version. At 8,192 GPUs the per-message
post overhead (2 µs × 8,184 peers) starts to show: all-to-all wants bigger messages or fewer,
larger expert groups.
"""),
    ("md", "## 5. ECMP vs packet spraying at 1,024 GPUs"),
    ("code", r"""
fab = il.fabric.Fabric.build(ZY)
hd = il.fabric.step_flows("halving_doubling", fab, 2**30, step=6)   # node m <-> m xor 64: every flow crosses a spine
mc = pl.concat([il.fabric.monte_carlo(hd, fab, "ecmp", seeds=48),
                il.fabric.monte_carlo(hd, fab, "ecmp", seeds=48, qps=4),
                il.fabric.monte_carlo(hd, fab, "adaptive", seeds=16),
                il.fabric.monte_carlo(hd, fab, "spray", seeds=1)])
il.charts.routing_distribution_chart(mc, title="Cross-leaf halving/doubling step, 1,024 MI300X, 32 uplinks per leaf")
"""),
    ("code", r"""
ring = il.fabric.step_flows("ring", fab, 2**30)
ring_mc = il.fabric.monte_carlo(ring, fab, "ecmp", seeds=16)
stats = (mc.group_by("routing", maintain_order=True)
           .agg(pl.len().alias("seeds"), pl.col("efficiency").mean().alias("mean η"),
                pl.col("efficiency").quantile(0.05).alias("p5 η"), pl.col("efficiency").min().alias("worst η")))
print(f"ring step (rail-matched, few flows cross a spine): mean ECMP η = {ring_mc['efficiency'].mean():.2f}")
stats
"""),
    ("code", r"""
eta_ecmp = stats.filter(pl.col("routing") == "ecmp")["mean η"][0]
eta_qp4 = stats.filter(pl.col("routing") == "ecmp x4 QPs")["mean η"][0]
bal = il.fabric.balls_into_bins(32, 32, trials=4000, seed=SEED)
claims = pl.DataFrame([
    {"claim": "Spectrum-X at Colossus: 95 % vs 60 % throughput (1.58×)", "vendor": 95 / 60,
     "model": 1 / eta_ecmp, "model basis": "spray / ECMP on a cross-leaf step"},
    {"claim": "Meta: E-ECMP + QP scaling, up to +40 % AllReduce", "vendor": 1.40,
     "model": eta_qp4 / eta_ecmp, "model basis": "ECMP ×4 QPs / ECMP"},
    {"claim": "Pollara 400 (Hot Chips 2025): up to 1.25×", "vendor": 1.25,
     "model": 1 / eta_ecmp, "model basis": "spray / ECMP, network-bound step"},
    {"claim": "Pollara 400 product page: up to 8 % faster job completion", "vendor": 1.08,
     "model": None, "model basis": "needs the network share of the step (notebook 04)"},
])
print(f"balls-into-bins, 32 flows on 32 links: η = {bal['eta_mc']:.2f} (reference 0.30); "
      f"utilisation {bal['U_exact']:.3f} (reference 0.638)")
claims
"""),
    ("md", r"""
Sources: network.md §9 (balls-into-bins Monte Carlo), §10.1 (Meta), §10.6 (AMD and NVIDIA
claims). In a synchronised collective step the slowest link sets the pace, so ECMP's hash
collisions cost far more than the 1 − 1/e utilisation bound suggests: a step whose 32 flows
per leaf all cross the spine runs at η ≈ 0.2 — up to 5× slower than with spraying, which is
always at the ideal (it is never worse than ECMP; a test checks this on random flows).
Spreading each connection over 4 queue pairs lifts η from ≈ 0.19 to ≈ 0.34 (+80 %), the same
order as Meta's "up to +40 %"; the adaptive (least-loaded) choice reaches the ideal here because
every flow has the same size. The vendors' 1.25–1.6× are **smaller** than the model's per-step gap because a
real training step is not all cross-spine traffic: NCCL's rail-matched ring keeps most flows on
one leaf (η ≈ 1 above), and compute hides much of the rest. The model bounds what multipathing
can buy; the claims sit inside that bound.
"""),
    ("md", "## 6. Rails-only vs a full Clos, dense and MoE traffic"),
    ("code", r"""
rows = []
for fabric in ("rails-only", "rail-optimized", "fat-tree"):
    hwf = dict(ZY, fabric=fabric)
    for workload, op, S in (("dense: all_reduce 1 GiB", "all_reduce", 2**30),
                            ("MoE: all_to_all 256 MiB", "all_to_all", 2**28)):
        c = il.collective(op, S, hwf, 1024)
        rows.append({"fabric": fabric, "workload": workload, "time_ms": c.time_s * 1e3,
                     "busbw_GBps": c.busbw_Bps / 1e9, "algorithm": c.algorithm})
    for r in (64, 128):
        sc = il.fabric.switch_counts(hwf, radix=r)
        rows.append({"fabric": fabric, "workload": f"switches, {r}-port", "time_ms": None,
                     "busbw_GBps": None, "algorithm": f"{sc['tiers']} tiers, {sc['total']} switches"})
fabrics = pl.DataFrame(rows)
fabrics
"""),
    ("code", r"""
a2a = il.fabric.step_flows("all_to_all", fab, 2**28)
flow_rows = []
for fabric in ("rails-only", "rail-optimized"):
    f = il.fabric.Fabric.build(dict(ZY, fabric=fabric))
    for routing in ("ecmp", "spray"):
        r = il.fabric.simulate_step(a2a, f, routing, seed=SEED, completion="static")
        flow_rows.append({"fabric": fabric, "workload": f"all_to_all flows, {routing}",
                          "time_ms": r.time_s * 1e3, "efficiency": r.efficiency})
flows_df = pl.DataFrame(flow_rows)
il.charts.fabric_comparison_chart(
    pl.concat([fabrics.filter(pl.col("time_ms").is_not_null()).select("fabric", "workload", "time_ms"),
               flows_df.select("fabric", "workload", "time_ms")]),
    title="1,024 × MI300X: collective time by fabric")
"""),
    ("code", r"""
flows_df
"""),
    ("md", r"""
For dense traffic rails-only and a Clos are indistinguishable: all-reduce traffic is
rail-matched and never needs a spine shared between rails. For MoE all-to-all the flow-level
simulation of 1,047,552 flows agrees with the analytic model: the NICs bind, and forwarding
through xGMI is nearly free because the mesh has 326 GB/s per GPU against 47 GB/s of NIC.
What rails-only saves is switches — 8 instead of 24 at 128 ports (one switch per rail), the
same 48 at 64 ports where each rail needs two levels — and the 38–77 % network-cost saving of
Wang et al. comes from that case. Oversubscribing a fat-tree (see the widget) is what hurts
all-to-all first.
"""),
    ("md", "## 7. Explore"),
    ("code", r"""
r = il.widgets.network_update(size_bytes=2**28, gpus=1024, routing="ecmp")
print(r["text"].replace("<b>", "").replace("</b>", ""))
il.widgets.network_dashboard()
"""),
    ("md", r"""
## Takeaways

- **Inside a node**, 8 × MI300X reach ~326 GB/s busbw on all-reduce (xGMI mesh, 73 % of the
  64 GB/s raw per link), 8 × H100 ~371 GB/s (NVSwitch). The model matches the independent
  NVIDIA (~360 GB/s) and AMD (7 × slowest link, 316–319 GB/s) figures within 3 %.
- **The mesh penalises partial-node groups**: k GPUs of a node get (k − 1) links, so a 2-GPU
  collective runs at 47 GB/s on MI300X vs 371 GB/s on H100.
- **Across nodes** the 8 × Pollara 400 NICs cap all-reduce busbw at ~376 GB/s per node and
  all-to-all at ~47 GB/s per GPU; small messages are latency-bound (tens to hundreds of µs at
  1,024 GPUs with RCCL's constants).
- **ECMP vs spraying**: in a step whose flows all cross the spine, ECMP runs at η ≈ 0.2
  (hash collisions); spraying is at the ideal and never worse; 4 QPs per connection recover
  about half. Vendor claims (1.25–1.6×) fit inside that bound.
- **Rails-only** costs nothing measurable for dense or MoE traffic on this hardware and saves
  switches when each rail fits one switch.

Next: [04 · Training ZAYA1](04_training_zaya1.ipynb) uses `il.collective` for every
data-parallel and expert-parallel exchange of a ZAYA1 step.
"""),
]

if __name__ == "__main__":
    print(write_notebook("03_interconnect", cells))
