"""Generate notebooks/03_interconnect.ipynb."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from nbbuild import write_notebook  # noqa: E402

cells = [
    ("md", r"""
# 03 · Interconnect: xGMI, NVLink, Pollara rails — collectives as NCCL and RCCL run them

← [02 · Compute and memory](02_compute_and_memory.ipynb) · [index](00_index.ipynb) · [04 · Training ZAYA1](04_training_zaya1.ipynb) →

**The question.** What do the collectives training and serving use — all-reduce for data
parallelism, reduce-scatter/all-gather for sharded optimizers, all-to-all for mixture-of-experts —
cost on an AMD MI300X node (xGMI full mesh) and an NVIDIA node (NVLink + NVSwitch), and across
nodes on Pollara 400 rails? Which algorithm and protocol does the library actually pick, how
close is the model to published `nccl-tests` / `rccl-tests` results, what does a rails-only
fabric cost all-to-all, and what does packet spraying buy over ECMP for the traffic ZAYA1 runs?

**How.** `il.collective(op, S, hardware, gpus)` separates two models, as the libraries do:
*the tuner* — NCCL's and RCCL's own predicted time for every algorithm × protocol they implement
for that op (ring, tree, NVLS, NVLS-tree, CollNet, PAT; RCCL's MSCCL all-pairs kernel for
8-GPU all-reduce), with their constants, ratios and correction tables — picks the pair
(`algorithm="auto"`); *the cost* prices that pair on the hardware: the library's per-hop latencies,
and bandwidth from the links that actually join the job's GPUs (k − 1 xGMI links among k GPUs of a
mesh, all of NVLink through a switch, the switch itself reducing for NVLS), the NICs, the protocol's
wire format (the data share of LL's and LL128's lines, printed below from `data/network_physics.csv`) and, where an implementation runs
few channels, a per-channel rate. `il.fabric` routes the flows of one step over the leaf–spine
fabric (ECMP, spraying, adaptive; PXN forwarding) and solves max-min fair rates. GB/s = 10⁹ B/s,
per direction; busbw = algbw × F as nccl-tests defines it.

**Terms.** *algbw*: message size S ÷ time; *busbw*: algbw × F, with F the nccl-tests bus factor
(2(n − 1)/n for an all-reduce over n GPUs), comparable across group sizes. *Channels*: the parallel
rings or trees a library opens for one collective. *MSCCL*: Microsoft's collective-kernel
language, whose hand-written "all-pairs" all-reduce RCCL ships. *Rails*: the NICs with the same GPU
index, one network each on a rails-only fabric. *PXN*: forwarding a message over the scale-up link
to the GPU whose NIC sits on the destination's rail. *ECMP*: each flow hashed onto one of the equal
paths through the spine; *packet spraying*: every packet of a flow spread over all of them. *QP*:
an RDMA queue pair, one hashed flow. *η*: a step's ideal time ÷ its simulated time. The rest are in
`docs/glossary.md`.
"""),
    ("code", r"""
from infra_lab.printout import signed   # a signed figure; one that rounds to zero prints 0 / 0.0, never +0 or -0
from IPython.display import Markdown, display

md = lambda text: display(Markdown(text))  # noqa: E731  (prose built from computed values)
GiB, MiB = 2**30, 2**20


def size_label(b):   # a message size as nccl-tests prints it (binary prefixes)
    return f"{b / GiB:g} GiB" if b >= GiB else f"{b / MiB:g} MiB" if b >= MiB else f"{b / 2**10:g} KiB" if b >= 2**10 else f"{b:g} B"


ZY = il.load_scenario("zaya1-ibm-mi300x").hardware          # ZAYA1's cluster: MI300X on Pollara-400 rails, rails-only
MI1 = {"accelerator": "MI300X", "nodes": 1}
H1 = {"accelerator": "H100-SXM", "nodes": 1, "nic": "ConnectX-7-NDR"}
phys = il.collectives.physics_constants()                   # data/network_physics.csv
md(f"**Wire formats** (`data/network_physics.csv`, from NCCL's `device.h`): of the bytes a protocol puts on a link, "
   f"LL carries {phys['ll_wire_efficiency']:.1%} as data (a flag beside every data word), LL128 "
   f"{phys['ll128_wire_efficiency']:.2%} (one flag word per line) and Simple {phys['simple_wire_efficiency']:.0%}; "
   f"ZAYA1's cluster: {ZY.nodes:,} nodes × {ZY.gpus_per_node} {ZY.accelerator}, {ZY.nics_per_node} {ZY.nic} per node, {ZY.fabric}.")
"""),
    ("md", "## 1. The links, and the links a partial job really gets"),
    ("code", r"""
rows = []
for acc, extra in [("MI300X", {}), ("MI355X", {}), ("H100-SXM", {}), ("B200", {}),
                   ("GB200", {"gpus_per_node": 4, "nodes": 18})]:
    su = il.fabric.scaleup(dict({"accelerator": acc}, **extra))
    rows.append({"accelerator": acc, "scale-up": su.tech, "topology": su.topology, "domain [GPUs]": su.domain,
                 "links/GPU": su.links_per_gpu, "raw GB/s per link": su.link_raw_Bps / 1e9,
                 "achieved / raw [-]": round(su.efficiency, 3), "GB/s per GPU, all peers": round(su.gpu_Bps / 1e9, 1),
                 "GB/s to 1 peer": round(su.bandwidth_Bps(2) / 1e9, 1)})
pl.DataFrame(rows)
"""),
    ("code", r"""
# jobs that use part of a physical domain: scaleup_domain is the PHYSICAL domain
S_PART = 4 * GiB                                                    # the all-reduce message of this table [B]
BUSBW_PART = f"all_reduce {size_label(S_PART)} busbw [GB/s]"
part = []
for label, hwp, g in [("2 of 8 MI300X", {"accelerator": "MI300X", "gpus_per_node": 2, "scaleup_domain": 8}, 2),
                      ("4 of 8 MI300X", {"accelerator": "MI300X", "gpus_per_node": 4, "scaleup_domain": 8}, 4),
                      ("8 of 8 MI300X", {"accelerator": "MI300X"}, 8),
                      ("2 of 8 H100", {"accelerator": "H100-SXM", "gpus_per_node": 2, "scaleup_domain": 8}, 2),
                      ("8 GPUs in an NVL72 rack", {"accelerator": "GB200", "nodes": 2, "gpus_per_node": 4,
                                                  "scaleup_domain": 72, "nic": "ConnectX-7-NDR"}, 8)]:
    hwc = il.scenario.HardwareConfig.from_dict(dict({"nodes": 1}, **hwp))
    c = il.collective("all_reduce", S_PART, hwc, g)
    part.append({"job": label, "domain_gpus": hwc.domain_gpus, "scale-up domains": c.nodes,
                 "GB/s a GPU drives to its group": round(il.fabric.scaleup(hwc).bandwidth_Bps(g) / 1e9, 1),
                 BUSBW_PART: round(c.busbw_Bps / 1e9, 1), "algorithm": c.algorithm})
part = pl.DataFrame(part)
part
"""),
    ("code", r"""
so = il.fabric.scaleout(ZY)
link = il.fabric.scaleup(MI1).link_Bps
nic_pub = il.collectives.published_measurements().filter(pl.col("name") == "nic_400g_allreduce_busbw_per_nic").row(0, named=True)
p2 = part.filter(pl.col("job") == "2 of 8 MI300X").row(0, named=True)
h2 = part.filter(pl.col("job") == "2 of 8 H100").row(0, named=True)
md(f"On the mesh a GPU reaches one peer over **one** xGMI link ({link / 1e9:.1f} GB/s achieved); a 2-GPU "
   f"all-reduce on an MI300X node reaches {p2[BUSBW_PART]:.0f} GB/s busbw against "
   f"{h2[BUSBW_PART]:.0f} GB/s for 2 H100 behind NVSwitch. Each Pollara-400 carries "
   f"{so.nic_Bps / 1e9:.0f} GB/s of its {so.line_rate_Bps / 1e9:.0f} GB/s line rate; ZAYA1's nodes have "
   f"{so.nics_per_node} of them. GPU-direct RDMA between a GPU and its NIC crosses the GPU's host link "
   f"({so.host_link}, {so.host_link_Bps / 1e9:.0f} GB/s each way), so a GPU's scale-out rate is min(its share of "
   f"the NICs' line rate, its host link) × the achieved fraction: here the {so.limit} binds and each GPU gets "
   f"{so.gpu_Bps / 1e9:.0f} GB/s (a NIC faster than the host link gains only up to it). Sources: `data/accelerators.csv` (raw rates), `data/network_constants.csv` "
   f"(xGMI from AMD's TransferBench, NVLink from NCCL `topo.h`, NIC from NVIDIA's "
   f"{nic_pub['measured_low']:.0f}–{nic_pub['measured_high']:.0f} {nic_pub['unit']} per 400G NIC, {nic_pub['source_url']}).")
"""),
    ("md", "## 2. Inside one node: which algorithm runs, and busbw against message size"),
    ("code", r"""
sizes = [2.0**e for e in range(3, 35)]
frames = []
for label, hwn in [("8×MI300X (RCCL)", MI1), ("8×H100 (NCCL)", H1)]:
    df = il.collectives.sweep("all_reduce", sizes, hwn, 8)
    frames.append(df.with_columns(series=pl.lit(label)))
node = pl.concat(frames)
il.charts.busbw_vs_size_chart(node, title="all_reduce inside one node, the library's own choice (hover: algorithm)")
"""),
    ("code", r"""
picks = (node.group_by("series", "chosen", "protocol", maintain_order=True)
             .agg(pl.col("size_bytes").min().alias("from_bytes"), pl.col("size_bytes").max().alias("to_bytes")))
picks.with_columns(pl.col("from_bytes", "to_bytes").map_elements(size_label, return_dtype=pl.String)
                   .name.map(lambda c: c.replace("_bytes", " [message size]"))).drop("from_bytes", "to_bytes")
"""),
    ("code", r"""
def at(df, series, size):
    return df.filter((pl.col("series") == series) & (pl.col("size_bytes") == size)).row(0, named=True)

ceil_mi = il.fabric.scaleup(MI1).bandwidth_Bps(8) / 1e9
acc_h = il.catalog.accelerator("H100-SXM")
line_h = acc_h.scaleup_links * acc_h.scaleup_link_bw_Bps / 1e9
MID = (4 * MiB, 8 * MiB, 16 * MiB, 32 * MiB)   # mid-size messages, where RCCL's channels, not the links, limit
mid = ", ".join(f"{at(node, '8×MI300X (RCCL)', s)['busbw_GBps']:.0f}" for s in MID)
BIG = 8 * GiB                                  # a large message, where the links bind [B]
big_h = at(node, "8×H100 (NCCL)", BIG)
big_mi = at(node, "8×MI300X (RCCL)", BIG)
ap = picks.filter((pl.col("series") == "8×MI300X (RCCL)") & (pl.col("chosen") == "allpairs"))


ch_ll4 = int(phys["rccl_allpairs_ll4_channels"])     # the library's channel counts (data/network_physics.csv)
ch_ll8 = ch_simple = int(phys["rccl_allpairs_channels"])
md(f"RCCL runs its MSCCL **all-pairs** kernel on 8 × MI300X from {size_label(ap['from_bytes'].min())} to "
   f"{size_label(ap['to_bytes'].max())} — LL on {ch_ll4} then {ch_ll8} "
   f"channels, Simple on {ch_simple} channels — and its ring above. Its {ch_simple} channels of "
   f"{phys['rccl_channel_Bps_simple'] / 1e9:.1f} GB/s (Simple, fitted) cannot fill "
   f"{il.catalog.accelerator('MI300X').scaleup_links} xGMI links: "
   f"from {size_label(MID[0])} to {size_label(MID[-1])} the model gives {mid} GB/s busbw, well "
   f"under the {ceil_mi:.0f} GB/s the links allow (a model that runs a 'direct' algorithm at the link rate "
   f"overestimates RCCL here). NCCL on 8 × H100 uses Ring/LL for small "
   f"messages and **NVLS** (NVLink SHARP) from a few MiB: the switch reduces, each GPU sends its buffer once "
   f"and reads the result once, so at {size_label(BIG)} busbw is {big_h['busbw_GBps']:.0f} GB/s, above the "
   f"{line_h:.0f} GB/s NVLink line rate — as nccl-tests report it.")
"""),
    ("md", "## 3. Validation against published nccl-tests / rccl-tests results"),
    ("code", r"""
val = il.collectives.validation_table()
il.charts.validation_chart(val)
"""),
    ("code", r"""
half = phys["nccl_tests_busbw_rounding_Bps"] / 1e9      # [GB/s] half a unit of the logs' last digit
b_printed = 0.01                                        # [GB/s] a printed busbw at a few hundred bytes
FROM = 1.0                                              # [GB/s] printed values from here up
logs = val.filter(pl.col("tool").is_in(list(il.collectives.PRINTED_TOOLS)) & (pl.col("measured_GBps") >= FROM))
agree = (logs["error_pct"] - logs["error_vs_printed_pct"]).abs().max()
md(f"**How a case is scored.** nccl-tests and rccl-tests print busbw with two decimals (GB/s), so a "
   f"printed value b stands for any busbw from b − {half:.3f} to b + {half:.3f} GB/s; at a few hundred "
   f"bytes that interval is wider than the value ({b_printed:.2f} GB/s is anything from {b_printed - half:.3f} to "
   f"{b_printed + half:.3f}). A case's error is therefore taken against that interval: 0 when the prediction "
   f"lies inside it, else the distance to the nearer edge in percent of that edge (`error_pct`; "
   f"`error_vs_printed_pct` keeps the plain comparison with b). No case is dropped; from {FROM:.0f} GB/s up the "
   f"two errors differ by at most {agree:.2f} percentage points. Sources that are not these logs (AMD's "
   f"expected values) are scored on their value itself.")
"""),
    ("code", r"""
summary = il.collectives.validation_summary(val)
summary.with_columns(pl.col("median_abs_error_pct").round(1), pl.col("worst_abs_error_pct").round(1))
"""),
    ("code", r"""
# the cases behind the summary's worst figures: every scored case (train and test) off by OFF or more,
# largest first; the chart above shows every case, il.collectives.validation_table() returns them all
OFF = 10.0                                                          # [%]
# scored: a validation case whose published busbw is above 0 (a log's "0.00" at a few bytes has no error)
unscored_zero = val.filter((pl.col("use") == "validate") & (pl.col("measured_GBps") <= 0))
scored_all = val.filter((pl.col("use") == "validate") & (pl.col("measured_GBps") > 0))
off = scored_all.filter(pl.col("error_pct").abs() >= OFF).sort(pl.col("error_pct").abs(), descending=True)
md(f"{off.height} of the {scored_all.height} scored cases ({val.height} in the table: "
   f"{val.filter(pl.col('use') == 'context').height} shown but not scored, and {unscored_zero.height} at "
   f"{size_label(unscored_zero['size_bytes'].min())}–{size_label(unscored_zero['size_bytes'].max())} whose log reads "
   f"{unscored_zero['measured_GBps'].max():.2f} GB/s, below its two decimals, so they have no error) are off by {OFF:.0f} % or more, largest first; the chart above shows every case "
   f"(hover for its name) and `il.collectives.validation_table()` returns them all.")
with pl.Config(tbl_rows=max(off.height, 1)):
    display(off.select("case", "split", "library", "accelerator", "nodes", "gpus", "op", "chosen", "protocol",
                       pl.col("size_bytes").map_elements(size_label, return_dtype=pl.String).alias("message size"),
                       pl.col("measured_GBps").round_sig_figs(3).alias("measured busbw [GB/s]"),
                       pl.col("predicted_GBps").round_sig_figs(3).alias("predicted busbw [GB/s]"),
                       pl.col("error_pct").round(1).alias("error vs the printed interval [%]"),
                       pl.col("error_vs_printed_pct").round(1).alias("error vs the printed value [%]")))
"""),
    ("code", r"""
scored = val.filter((pl.col("use") == "validate") & (pl.col("split") == "test") & (pl.col("measured_GBps") > 0))
fitted = il.collectives.fit_physics()                      # re-derives the fitted constants from the training rows
n_lat = sum(k.endswith("_us") for k in fitted)             # of which hop latencies [µs]
big = scored.filter(pl.col("size_bytes") >= MiB)["error_pct"].abs()
small = scored.filter(pl.col("size_bytes") < MiB)["error_pct"].abs()
nccl_multi = val.filter((pl.col("library") == "nccl") & (pl.col("nodes") > 1) & (pl.col("use") == "validate"))
worst = scored.filter(pl.col("size_bytes") >= MiB).sort(pl.col("error_pct").abs(), descending=True).row(0, named=True)
ctx = val.filter(pl.col("use") == "context")
mi_rows = val.filter(pl.col("case").str.starts_with("mi300x-1n") & pl.col("size_bytes").is_between(MID[0], MID[-1]))
mi_mid = ", ".join(f"{signed(r['error_pct'])} % ({r['split']})" for r in mi_rows.iter_rows(named=True))
md(f"**{scored.height} held-out results** (test split; {val.filter(pl.col('split') == 'train').height} training rows "
   f"fitted the {len(fitted) - n_lat} physical factors in `data/network_physics.csv` and {n_lat} hop latencies — `fit_physics()` "
   f"re-derives them). From {size_label(MiB)} up the median |error| is **{big.median():.1f} %** and the worst "
   f"{big.max():.1f} % ({worst['case']}); below {size_label(MiB)} the median is {small.median():.1f} %. On 8 × MI300X at "
   f"{size_label(MID[0])}–{size_label(MID[-1])}, where a link-rate model is too high, the errors are "
   f"{mi_mid} — from RCCL's channel count and protocol choice, "
   f"not a per-size factor. Sources: rccl-tests logs for MI300X/MI325X/MI355X (hisohara/ai-scripts, AMD "
   f"Accelerator Cloud), AMD's cluster-validation expectations for MI355X (ROCm/cvs), nccl-tests on H200/B200 "
   f"(S. Bekman, ml-engineering). {ctx.height} rows are shown but not scored: a torch.distributed benchmark "
   f"(its per-call dispatch time is not in nccl-tests) and NVIDIA's NVL72 slide (no message size). "
   f"Coverage is thin where nothing public was found: NCCL multi-node below {size_label(nccl_multi['size_bytes'].min())}, H100/GB200 nccl-tests "
   f"logs, all-to-all beyond one node.")
"""),
    ("code", r"""
facts = il.collectives.published_comparison()
display(facts.select("name", "unit", pl.col("predicted").round(2), "measured_low", "measured_high",
                     pl.col("error_pct").round(1), "within_range", "calibrated"))
ro = facts.filter(pl.col("name") == "rails_only_all_to_all_overhead").row(0, named=True)
near = facts.filter(pl.col("name") != ro["name"])["error_pct"].abs().max()
md(f"`calibrated`: the row set a fitted factor, so it is not a test. The link and NIC "
   f"rows land within {near:.1f} % of their figure, if outside its narrow stated range; the one large miss, the "
   f"rails-only all-to-all overhead ({ro['predicted']:.2f} % predicted against Wang et al.'s simulated "
   f"{ro['measured_low']}–{ro['measured_high']} %), is the subject of section 6.")
"""),
    ("md", "## 4. What the tuner picks is not always the fastest — and a tuning ratio is not a bandwidth"),
    ("code", r"""
ZY2 = ZY.to_dict() | {"nodes": 2}                                    # two of ZAYA1's nodes
S4, G4 = 64 * MiB, 2 * ZY.gpus_per_node
tab = il.collectives.algorithm_table("all_reduce", S4, ZY2, G4)
tab.select("algorithm", "protocol", (pl.col("time_s") * 1e6).round(1).alias("time_us"),
           pl.col("busbw_GBps").round(1), (pl.col("tuner_time_s") * 1e6).round(1).alias("tuner_estimate_us"),
           "library_choice")
"""),
    ("code", r"""
pick = tab.filter(pl.col("library_choice")).row(0, named=True)
fast = tab.row(0, named=True)
same = (pick["algorithm"], pick["protocol"]) == (fast["algorithm"], fast["protocol"])
ratio = il.collectives.library_tables().filter((pl.col("library") == "rccl") & (pl.col("table") == "bw_ratio_gt2_m5")
                                                & (pl.col("algorithm") == "tree"))["Simple"][0]
md(f"For a {size_label(S4)} all-reduce on {ZY2['nodes']} × {ZY.gpus_per_node} {ZY.accelerator} of ZAYA1's cluster, RCCL's tuner picks **{pick['algorithm']}/{pick['protocol']}** "
   f"({pick['tuner_time_s'] * 1e6:,.0f} µs in its own estimate, "
   f"{pick['time_s'] * 1e6:,.0f} µs on the hardware); "
   + ("that is also the fastest pair on the hardware. " if same else
      f"the fastest pair on the hardware is **{fast['algorithm']}/{fast['protocol']}** ({fast['time_s'] * 1e6:,.0f} µs): "
      f"the library's pick takes {pick['time_s'] / fast['time_s'] - 1:.0%} longer. ")
   + f"`auto` reproduces the library's "
   f"choice; `algorithm='fastest'` shows what a tuned library could reach. RCCL's tables multiply its bandwidth "
   f"estimate by ratios such as {ratio} for Tree/Simple beyond two nodes: those steer the choice and are "
   f"never used as bandwidths here. For ZAYA1 itself the all-reduce choice does not arise: its plan (data "
   f"parallelism with the ZeRO-1 distributed optimizer, no tensor or expert parallelism) reduce-scatters gradients "
   f"and all-gathers parameters and runs no all-reduce (notebook 04 §3 lists its collectives), and RCCL runs "
   f"those two as rings (section 5). The pick matters to plans that all-reduce: tensor parallelism, or data "
   f"parallelism without a distributed optimizer.")
"""),
    ("md", "## 5. Across nodes, and the host CPU"),
    ("code", r"""
rows = []
for nodes in [1, 2, 4, 8, 16, 32, 64, 128]:
    hwn = ZY.to_dict() | {"nodes": nodes}
    for op, S in (("all_reduce", GiB), ("reduce_scatter", GiB), ("all_to_all", 256 * MiB)):
        c = il.collective(op, S, hwn, 8 * nodes)
        rows.append({"gpus": 8 * nodes, "op": op, "series": f"{op}, {size_label(S)}", "chosen": c.algorithm,
                     "protocol": c.protocol, "time_ms": c.time_s * 1e3, "busbw_GBps": c.busbw_Bps / 1e9})
scale = pl.DataFrame(rows)
il.charts.scaling_chart(scale, title=f"ZAYA1's cluster ({ZY.accelerator} + {ZY.nics_per_node} {ZY.nic} rails, PXN on): busbw as it grows")
"""),
    ("code", r"""
scale.filter(pl.col("gpus").is_in([8, 16, 128, 1024])).sort("op", "gpus").with_columns(pl.col("time_ms", "busbw_GBps").round(2))
"""),
    ("code", r"""
intel = ZY.to_dict()
amd = ZY.to_dict() | {"host_cpu": "EPYC-9374F"}
G5, S_RS, S_AG, S_A2A = ZY.world_size, 256 * MiB, 16 * MiB, 256 * MiB   # the whole cluster; S_A2A as in the sweep
rs_i = il.collective("reduce_scatter", S_RS, intel, G5)
rs_a = il.collective("reduce_scatter", S_RS, amd, G5)
ag_i = il.collective("all_gather", S_AG, intel, G5)
ag_a = il.collective("all_gather", S_AG, amd, G5)
a2a_ = scale.filter((pl.col("op") == "all_to_all") & (pl.col("gpus") == G5)).row(0, named=True)
md(f"Reduce-scatter and all-gather are **ring-only** in RCCL (and in NCCL unless one GPU per node uses PAT, its Parallel Aggregated Trees), "
   f"so their latency grows with the ring: a {size_label(S_RS)} reduce-scatter over {G5:,} {ZY.accelerator} takes "
   f"{rs_i.time_s * 1e3:.2f} ms on ZAYA1's Intel Xeon 8570 hosts and {rs_a.time_s * 1e3:.2f} ms on an AMD EPYC "
   f"host — NCCL's and RCCL's tuning model assumes {il.fabric.net_overhead_s('Xeon-Platinum-8570') * 1e6:.0f} µs vs "
   f"{il.fabric.net_overhead_s('EPYC-9374F') * 1e6:.0f} µs per posted network message (×{il.fabric.constant('net_overhead_simple_factor'):g} for Simple ring steps), "
   f"a library constant with no published measurement that the model prices as a cost (a sensitivity: notebook 04 §3). "
   f"A {size_label(S_AG)} all-gather (a ZeRO-3 or FSDP bucket) is latency-bound: {ag_i.time_s * 1e3:.2f} ms vs "
   f"{ag_a.time_s * 1e3:.2f} ms. All-to-all is NIC-bound from two nodes on: at {G5:,} GPUs "
   f"{a2a_['busbw_GBps']:.0f} GB/s busbw per GPU for {size_label(S_A2A)}, i.e. each GPU's remote share through its own NIC.")
"""),
    ("md", "## 6. Rails-only, PXN and the all-to-all penalty"),
    ("code", r"""
rccl_default = ZY.to_dict() | {"pxn": False}
try:
    il.collective("all_to_all", 256 * MiB, rccl_default, 1024)
    msg = "ran"
except il.ValidationError as e:
    msg = str(e)
print(msg)
"""),
    ("code", r"""
over = pl.DataFrame([{"size_bytes": s, "overhead_pct": il.collectives.rails_only_overhead_pct(s, ZY, 1024),
                      "overhead_2_nodes_pct": il.collectives.rails_only_overhead_pct(s, ZY.to_dict() | {"nodes": 2}, 16)}
                     for s in (2.0**e for e in range(16, 33, 2))])
over.select(pl.col("size_bytes").map_elements(size_label, return_dtype=pl.String).alias("message size"),
            pl.col("overhead_pct").round(3).alias(f"overhead, {ZY.world_size:,} GPUs [%]"),
            pl.col("overhead_2_nodes_pct").round(3).alias(f"overhead, 2 nodes ({2 * ZY.gpus_per_node} GPUs) [%]"))
"""),
    ("code", r"""
fab_ro = il.fabric.Fabric.build(ZY)                                   # rails-only, PXN on
fab_clos = il.fabric.Fabric.build(ZY.to_dict() | {"fabric": "rail-optimized", "pxn": False})
a2a = il.fabric.step_flows("all_to_all", fab_ro, 256 * MiB)
r_ro = il.fabric.simulate_step(a2a, fab_ro, "spray", completion="static")
r_clos = il.fabric.simulate_step(a2a, fab_clos, "spray", completion="static")
ptr, links, w = il.fabric.route(a2a, fab_ro, "spray")
from infra_lab._kernels import fabric as KF
loads = KF.link_loads(ptr, links, w, a2a.nbytes, fab_ro.n_links) / fab_ro.capacity_Bps
b = dict(fab_ro.group_bounds)
util = {g: float(loads[slice(*b[g])].max() / loads.max()) for g in ("xgmi", "pxn_hbm", "nic_up")}
flow_over = 100 * (r_ro.time_s / r_clos.time_s - 1)
pl.DataFrame([{"fabric": "rails-only + PXN", "flows": len(a2a), "all_to_all time [ms]": round(r_ro.time_s * 1e3, 3)},
              {"fabric": "rail-optimized Clos", "flows": len(a2a), "all_to_all time [ms]": round(r_clos.time_s * 1e3, 3)}])
"""),
    ("code", r"""
wang = il.collectives.published_measurements().filter(pl.col("name") == "rails_only_all_to_all_overhead").row(0, named=True)
md(f"RCCL ships PXN **off** (ROCm/rccl#1209), and then a rails-only fabric has no path between rails: the model "
   f"refuses a cross-rail all-to-all and says why. With PXN on (AMD's own Pollara configurations set "
   f"`NCCL_PXN_DISABLE=0`; ZAYA1's scenario does too), each chunk for another rail first crosses one xGMI link "
   f"to the GPU on that rail, is staged in its HBM and leaves through its NIC. The flow-level simulation of all "
   f"{len(a2a):,} flows of a {ZY.world_size:,}-GPU all-to-all finds rails-only + PXN {'no slower than' if abs(flow_over) < 0.005 else f'{signed(flow_over, 2)} % slower than'} a "
   f"rail-optimized Clos; the analytic model {over['overhead_pct'].min():.2f}–{over['overhead_pct'].max():.2f} % "
   f"over {size_label(over['size_bytes'].min())}–{size_label(over['size_bytes'].max())}. Why not Wang et al.'s {wang['measured_low']}–{wang['measured_high']} % ({wang['source_url']}): in the busiest "
   f"moment the forwarded load fills at most {util['xgmi']:.0%} of an xGMI link and {util['pxn_hbm']:.1%} of HBM "
   f"while the NICs are full — each GPU has {il.catalog.accelerator('MI300X').scaleup_links} links × {link / 1e9:.1f} GB/s beside one {so.nic_Bps / 1e9:.0f} GB/s "
   f"NIC, so forwarding hides behind the NIC bottleneck; it adds one scale-up hop of latency (visible at small "
   f"messages and on 2 nodes, {over['overhead_2_nodes_pct'].max():.1f} % at most). Wang et al. simulate a different "
   f"ratio of scale-up to NIC bandwidth, training traffic mixes and congestion; this model has no congestion "
   f"control, PFC or incast at the forwarding GPU, so it cannot reproduce their figure.")
"""),
    ("md", "## 7. ECMP vs packet spraying, for the traffic ZAYA1 runs"),
    ("code", r"""
ring = il.fabric.step_flows("ring", fab_ro, GiB)                       # RCCL's rail-matched ring (DP)
hd = il.fabric.step_flows("halving_doubling", fab_ro, GiB, step=6)     # synthetic: every flow crosses a spine
QPS = 4                                                                # queue pairs per connection, the QP-scaling case
mc = pl.concat([il.fabric.monte_carlo(ring, fab_ro, "ecmp", seeds=8).with_columns(pattern=pl.lit("rail-matched ring")),
                il.fabric.monte_carlo(hd, fab_ro, "ecmp", seeds=12).with_columns(pattern=pl.lit("cross-leaf step")),
                il.fabric.monte_carlo(hd, fab_ro, "ecmp", seeds=4, qps=QPS).with_columns(pattern=pl.lit("cross-leaf step")),
                il.fabric.monte_carlo(hd, fab_ro, "spray", seeds=1).with_columns(pattern=pl.lit("cross-leaf step"))])
il.charts.routing_distribution_chart(mc.filter(pl.col("pattern") == "cross-leaf step"),
                                     title=f"Cross-leaf halving/doubling step, {ZY.world_size:,} {ZY.accelerator} (synthetic worst case)")
"""),
    ("code", r"""
stats = (mc.group_by("pattern", "routing", maintain_order=True)
           .agg(pl.len().alias("seeds"), pl.col("efficiency").mean().alias("mean η"),
                pl.col("efficiency").min().alias("worst η")))
stats.rename({"mean η": "mean η [-]", "worst η": "worst η [-]"}).with_columns(pl.col(pl.Float64).round(3))
"""),
    ("code", r"""
eta = {(r["pattern"], r["routing"]): r["mean η"] for r in stats.iter_rows(named=True)}
gain_ring = 1 / eta[("rail-matched ring", "ecmp")]
gain_hd = 1 / eta[("cross-leaf step", "ecmp")]
QP_KEY = ("cross-leaf step", f"ecmp x{QPS} QPs")
gain_qp = eta[QP_KEY] / eta[("cross-leaf step", "ecmp")]
# the vendors' own figures, from data/published_claims.csv (value, unit and source URL per row)
PC = il.catalog.published_claims()
def pc(claim):
    r = PC.filter(pl.col("claim") == claim).row(0, named=True)
    return r["value"], r["source_url"]
(p125, u125), (p8, u8), (c95, u95), (e60, _), (m40, u40) = (pc(c) for c in (
    "pollara-hotchips-speedup", "pollara-job-completion", "spectrumx-colossus-throughput",
    "standard-ethernet-throughput", "meta-eecmp-qp-allreduce"))
claims = pl.DataFrame([
    {"claim": f"Pollara 400 (Hot Chips 2025): up to {p125:g}×", "vendor": p125, "source": u125},
    {"claim": f"Pollara 400 product page: up to {p8:g} % faster job completion", "vendor": 1 + p8 / 100, "source": u8},
    {"claim": f"Spectrum-X at Colossus: {c95:g} % vs {e60:g} % throughput", "vendor": c95 / e60, "source": u95},
    {"claim": f"Meta: E-ECMP + QP scaling, up to +{m40:g} % AllReduce", "vendor": 1 + m40 / 100, "source": u40},
]).with_columns(
    model_zaya1_ring=pl.lit(round(gain_ring, 3)),
    model_worst_case_step=pl.lit(round(gain_hd, 2)),
    explained_by_zaya1_traffic=pl.col("vendor") <= gain_ring * 1.02,
)
claims.select(pl.exclude("source"), "source").with_columns(pl.col("vendor").round(3)).rename({   # 95/60 = 1.583
    "vendor": "vendor figure [×]", "model_zaya1_ring": "model, ZAYA1 ring [×]",
    "model_worst_case_step": "model, worst-case step [×]"})
"""),
    ("code", r"""
n_expl = int(claims["explained_by_zaya1_traffic"].sum())
pollara = claims.filter(pl.col("claim").str.starts_with("Pollara"))["vendor"]
md(f"ZAYA1's data-parallel traffic is RCCL's **rail-matched ring**: almost every flow stays on its rail's leaf, so "
   f"ECMP already runs at η = {eta[('rail-matched ring', 'ecmp')]:.3f} and spraying can buy at most "
   f"{(gain_ring - 1) * 100:.1f} % on it. Only a step whose flows all cross the spine shows ECMP's collisions "
   f"(η = {eta[('cross-leaf step', 'ecmp')]:.2f}, a {gain_hd:.1f}× gap to spraying; {QPS} queue pairs per connection "
   f"raise η to {eta[QP_KEY]:.2f}, {signed((gain_qp - 1) * 100, 0)} %, still "
   f"{1 / eta[QP_KEY]:.1f}× short of spraying). {n_expl if n_expl else 'None'} of the {claims.height} vendor figures "
   f"{'is' if n_expl <= 1 else 'are'} explained by ZAYA1's ring traffic in this model (last column). If Pollara's "
   f"{(pollara.min() - 1) * 100:.0f}–{(pollara.max() - 1) * 100:.0f} % shows up on such a cluster it has to come from what the model leaves out: expert all-to-all across the spine, "
   f"several jobs sharing spines, failed links, retransmissions and congestion control. Spraying is idealised here "
   f"(no reordering cost), and adaptive routing is trivially ideal for equal-size flows.")
"""),
    ("md", r"""
## 8. Is the network a bottleneck for ZAYA1? Do Pollara's Ultra-Ethernet features matter?

Two questions answered with this page's models: how much of ZAYA1's training step the network takes
and what a slower or faster NIC would change (`il.estimate` of the shipped scenario, whose
collectives are the kernel `il.collective` wraps); then Pollara's three Ultra-Ethernet transport
features, one at a time — what the model computes for ZAYA1's traffic, the published effect with its
source, and what is approximate.
"""),
    ("code", r"""
sc = il.load_scenario("zaya1-ibm-mi300x")
par = sc.parallelism
nic_rows = []
for nic in ("ConnectX-6-HDR", "Pollara-400", "Vulcano-800"):
    s_n = sc.replace(hardware={"nic": nic})
    e_n = il.estimate(s_n)
    bd_n = dict(zip(e_n.breakdown["component"], e_n.breakdown["seconds"], strict=True))
    comm = sum(v for kk, v in bd_n.items() if kk.endswith("_comm") or kk in ("ep_a2a", "pp_p2p"))
    nic_rows.append({"NIC": nic, "per-GPU scale-out [GB/s]": round(il.fabric.scaleout(s_n.hardware).gpu_Bps / 1e9, 1),
                     "limit": il.fabric.scaleout(s_n.hardware).limit, "step [s]": round(e_n.step_time_s, 4),
                     "exposed communication [s]": round(comm, 4), "share of step [-]": round(comm / e_n.step_time_s, 3)})
nic_tab = pl.DataFrame(nic_rows)
base = nic_tab.filter(pl.col("NIC") == sc.hardware.nic).row(0, named=True)
slow = nic_tab.filter(pl.col("NIC") == "ConnectX-6-HDR").row(0, named=True)
fast = nic_tab.filter(pl.col("NIC") == "Vulcano-800").row(0, named=True)
# which term bounds ZAYA1's multi-node ring: the node's NICs (k x b_nic) or the xGMI ring through the node
su_z, so_z = il.fabric.scaleup(sc.hardware), il.fabric.scaleout(sc.hardware)
k_z = sc.hardware.gpus_per_node
ring_nic = k_z * so_z.gpu_Bps / 1e9
ring_xgmi = su_z.bandwidth_Bps(k_z) * k_z / (k_z - 1) / 1e9
dp_pick = il.collective("reduce_scatter", 2**28, sc.hardware, sc.hardware.world_size)
nic_tab
"""),
    ("code", r"""
gbps = lambda n: il.catalog.nic(n).line_rate_bps / 1e9  # noqa: E731  (a NIC's line rate [Gb/s])
gain = 100 * (fast['step [s]'] / base['step [s]'] - 1)
md(f"**Is the network a bottleneck for ZAYA1?** Its communication is a co-bottleneck; the NICs' line rate is not. Zyphra's plan (dp = {par.dp:,}, tp = {par.tp}, ep = {par.ep}: "
   f"no expert all-to-all leaves a GPU) spends {base['exposed communication [s]'] * 1e3:.0f} ms of its "
   f"{base['step [s]'] * 1e3:.0f} ms step in exposed data-parallel reduce-scatter and all-gather "
   f"({base['share of step [-]']:.0%}). RCCL runs them with {dp_pick.algorithm}/{dp_pick.protocol} over all "
   f"{sc.hardware.world_size:,} GPUs, and a multi-node ring is bound by the slower of the node's NICs "
   f"({k_z} × {so_z.gpu_Bps / 1e9:.1f} = {ring_nic:.0f} GB/s) and the xGMI ring through the node "
   f"({ring_xgmi:.1f} GB/s): {'xGMI' if ring_xgmi < ring_nic else 'the NICs'}, by {abs(ring_nic / ring_xgmi - 1):.1%}. "
   f"So a faster NIC buys {'nothing' if abs(gain) < 0.05 else f'{signed(gain)} %'} of step time "
   f"(Vulcano-800, {fast['per-GPU scale-out [GB/s]']:.1f} GB/s per GPU after the {so_z.host_link} cap), while a "
   f"{gbps('ConnectX-6-HDR'):.0f} Gb/s NIC "
   f"costs {signed(100 * (slow['step [s]'] / base['step [s]'] - 1))} %: Pollara-400 sits at the balance point of this node. "
   f"What is approximate: the exposed share rests on the stack's DP-overlap factor (data/stacks.csv), and the "
   f"collective model prices the ring's bandwidth and the libraries' latencies, not congestion (below).")
"""),
    ("code", r"""
# Pollara's three Ultra-Ethernet transport features, one row each
eta_ring = eta[("rail-matched ring", "ecmp")]
MTU = il.fabric.constant("rdma_path_mtu_bytes")                     # [B], data/network_constants.csv
lt = il.collectives.library_tables()
hop = lt.filter((pl.col("library") == "rccl") & (pl.col("table") == "hw_net") & (pl.col("algorithm") == "tree"))["LL"][0] * 1e-6
rtt = 2 * hop                                                       # [s] one network hop each way (RCCL's fitted NET latency)
window = so_z.gpu_Bps * rtt / MTU                                   # packets in flight per GPU at line rate [-]
loss = [1e-6, 1e-5, 1e-4, 1e-3]                                     # packet loss probabilities, swept (none published for ZAYA1)
# expected transmissions per delivered packet: go-back-N resends the window after each loss, selective
# retransmit only the lost packet (a first-order model; no timeouts, no reordering cost)
gbn = [1 / (1 + p * window) for p in loss]
sr = [1 / (1 + p) for p in loss]
retx = pl.DataFrame({"packet loss [-]": loss, "go-back-N goodput [-]": [round(x, 4) for x in gbn],
                     "selective retransmit goodput [-]": [round(x, 5) for x in sr]})
irn = il.catalog.published_claim("irn-vs-roce-pfc")
irn_url = PC.filter(pl.col("claim") == "irn-vs-roce-pfc")["source_url"][0]
features = pl.DataFrame([
    {"feature": "packet spraying / multipath",
     "model, ZAYA1": f"rings: ECMP eta = {eta_ring:.3f}, so spraying buys {(gain_ring - 1) * 100:.1f} %; a spine-crossing step: {gain_hd:.1f}x",
     "published effect": f"Meta: E-ECMP + QP scaling up to +{m40:g} % AllReduce", "source": u40,
     "approximate": "spraying idealised (even split, no reordering cost); flow-level, not packet-level"},
    {"feature": "selective retransmit",
     "model, ZAYA1": f"{window:.0f} packets in flight; go-back-N keeps {gbn[2]:.1%} of goodput at 1e-4 loss, {gbn[3]:.1%} at 1e-3",
     "published effect": f"IRN (selective retransmit, no PFC) up to +{irn:g} % over RoCE with PFC", "source": irn_url,
     "approximate": "loss swept, not measured; round trip = 2 x RCCL's NET hop latency; first-order model"},
    {"feature": "congestion control",
     "model, ZAYA1": "not computed: the flow simulation's max-min fair rates are an ideal congestion control",
     "published effect": f"Spectrum-X: {c95:g} % vs {e60:g} % throughput at Colossus (vendor)", "source": u95,
     "approximate": "an upper bound: real congestion control is at best max-min fair; no incast, PFC or queues modelled"},
])
retx
"""),
    ("code", r"""
md(f"**Do Pollara's Ultra-Ethernet features matter for ZAYA1?** Spraying: hardly — ZAYA1's rings are rail-matched and "
   f"ECMP already reaches η = {eta_ring:.3f}; it matters for traffic that crosses the spine ({gain_hd:.1f}× in the "
   f"synthetic worst case), such as an expert all-to-all across nodes, which Zyphra's plan (ep = {par.ep}) does not run. "
   f"Selective retransmit: only if packets are lost — with {window:.0f} packets in flight per GPU (a {rtt * 1e6:.0f} µs round "
   f"trip at {so_z.gpu_Bps / 1e9:.0f} GB/s, {MTU:.0f}-byte packets), go-back-N keeps {gbn[1]:.2%} of goodput at a loss rate "
   f"of 10⁻⁵ and {gbn[3]:.1%} at 10⁻³, selective retransmit {sr[3]:.2%}; a lossless (PFC) RoCE fabric loses almost nothing, "
   f"and spraying without out-of-order delivery would turn every reordering into a go-back-N. Congestion control: "
   f"the model assumes an ideal one, so its effect is what a real one loses against max-min fairness — not computed here; "
   f"the published figures are in the table with their sources.")
features.select(pl.exclude("source"), "source")
"""),
    ("md", r"""
## 9. Explore

Pick the collective, message size, GPU count, accelerator, NIC, host CPU, topology, routing and PXN.
The widget calls `il.widgets.network_update`, which runs `il.collective` (the library's choice, as in
sections 2–5) and, on a power-of-two number (two or more) of whole nodes, `il.fabric.simulate_step`
for one cross-leaf halving/doubling step under the chosen routing (section 7's η); the collective is
then priced again with that η as the fabric's efficiency (the time after the arrow). It starts on
ZAYA1's hosts (the host sets the libraries' per-message network overhead, section 5; "the part's
default" is each accelerator's own) and with PXN on, as on ZAYA1's cluster ("library default" is
RCCL's off, section 6). The line printed first is its answer at these starting values. A
combination a library cannot run (a cross-rail all-to-all with PXN off on rails-only) says why
instead of a number.
"""),
    ("code", r"""
r = il.widgets.network_update(size_bytes=2**28, gpus=1024, routing="ecmp", pxn=ZY.pxn, host_cpu=ZY.host_cpu)
assert r["result"].time_s == il.collective("all_reduce", 2**28, ZY, ZY.world_size).time_s   # ZAYA1's cluster
print(r["text"].replace("<b>", "").replace("</b>", ""))
il.widgets.network_explorer(host_cpu=ZY.host_cpu, pxn=ZY.pxn)
"""),
    ("md", "## Takeaways"),
    ("code", r"""
eta_ring = eta[("rail-matched ring", "ecmp")]
mi_links = il.catalog.accelerator("MI300X").scaleup_links
p2_bw = p2[BUSBW_PART]
host_ratio = il.fabric.net_overhead_s("Xeon-Platinum-8570") / il.fabric.net_overhead_s("EPYC-9374F")
md(f'''
- **`auto` is the library's choice**, costed on the hardware: RCCL's MSCCL all-pairs and ring on MI300X, NCCL's
  Ring/LL and NVLS on H100; RCCL reduce-scatter/all-gather are ring-only. Held-out nccl-tests/rccl-tests results
  are matched with a median |error| of {big.median():.1f} % (worst {big.max():.1f} %) from {size_label(MiB)} up and
  {small.median():.1f} % below.
- **NVLink SHARP** lets 8 × H100 reach {big_h['busbw_GBps']:.0f} GB/s busbw on all-reduce, above the
  {line_h:.0f} GB/s line rate; 8 × MI300X reach {big_mi["busbw_GBps"]:.0f} GB/s on
  {mi_links} xGMI links, and mid-size messages run on RCCL's {ch_simple} channels, not the link rate.
- **Partial domains get the links that join them**: 2 of an MI300X node's 8 GPUs share one xGMI link
  ({p2_bw:.0f} GB/s busbw), 8 GPUs inside an NVL72 rack keep full NVLink.
- **Rails-only needs PXN** for all-to-all (RCCL ships it off); with it the model finds
  {signed(flow_over, 2)} % (flow simulation) against Wang et al.'s {wang["measured_low"]}–{wang["measured_high"]} %:
  forwarding hides behind the NICs on this hardware.
- **Spraying buys ~nothing for ZAYA1's rail-matched rings** (η = {eta_ring:.3f} under
  ECMP); only spine-crossing steps lose to ECMP ({gain_hd:.1f}× in the worst case).
- **Communication is a co-bottleneck of ZAYA1's step, the NICs' line rate is not**: exposed data-parallel
  communication is {base['share of step [-]']:.0%} of the step, bound by {'the xGMI ring through each node rather than the NICs' if ring_xgmi < ring_nic else 'the NICs'};
  a faster NIC buys {'nothing' if abs(gain) < 0.05 else f'{signed(gain)} %'}, a {gbps('ConnectX-6-HDR'):.0f} Gb/s one costs
  {signed(100 * (slow['step [s]'] / base['step [s]'] - 1))} %. Of Pollara's transport features, spraying buys
  {(gain_ring - 1) * 100:.1f} % on ZAYA1's rail-matched rings and selective retransmit matters only on a lossy
  fabric; congestion control is not computed (the model's max-min fair rates are an ideal one's), so what it
  is worth rests, as the vendors' figures do, on what the model leaves out: other jobs on the spines, failed
  links, incast (sections 7 and 8).
- **The host CPU matters for latency**: NCCL/RCCL assume Intel hosts post a network message in
  {host_ratio:.0%} of the time they assume for AMD hosts.

Next: [04 · Training ZAYA1](04_training_zaya1.ipynb) prices every data-parallel, tensor-parallel and
expert-parallel exchange of a ZAYA1 step with `best_collective`, the same kernel `il.collective` wraps here.
''')
"""),
]

if __name__ == "__main__":
    print(write_notebook("03_interconnect", cells))
