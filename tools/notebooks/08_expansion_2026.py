"""Generate notebooks/08_expansion_2026.ipynb."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from nbbuild import write_notebook  # noqa: E402

NAV = "[← 07 serving Maia](07_serving_maia.ipynb) · [09 multimodal →](09_multimodal_maia.ipynb) · [00 index](00_index.ipynb)"

cells = [
    ("md", rf"""
# 08 · The 2026 expansion: which cluster, and who earns what

{NAV}

**Question.** Zyphra says it will "substantially" scale up training with IBM and AMD after
ZAYA1 ([zyphra.com/post/zaya1](https://www.zyphra.com/post/zaya1)); no expansion has been
announced. If one is built in 2026, what should it be — more MI300X, MI325X, MI355X, or the
announced MI450X in AMD's Helios rack; Pollara 400 or the announced Vulcano 800G NIC; today's
size or many times it (the sizes are printed below the first cell) — and who makes money on it:
AMD, IBM, Zyphra?

**Method.** A design-space sweep with `il.sweep`: every point builds the option's cluster and
asks the lab's owners for their quantity — the best training plan (`il.search`), the run
length (`il.reliability.run_hours`, from `il.estimate`), goodput at that scale
(`il.reliability.plan_run` under the job-level fleet failure reading, `il.expansion.CALIBRATION`: the reading
notebook 06 finds right for jobs of this size and notebook 05 prices ZAYA1's run with), the owned price of a GPU-hour (`il.expansion.owned_quote`, i.e.
`il.economics.owned_gpu_hour_quote`: the price notebooks 05, 07 and 09 use), capex, facility
power and TCO (`il.economics.owned_cost_per_gpu_hour`, `cluster_power`, `tco_total`), the run's cost
(`run_cost`), the operator's return on a decaying rent (`provider_view`), and the serving
capacity of one node within a latency limit with its cost per served token (`il.serve_search`,
`il.serving.token_costs`). Nothing is
re-derived here; `il.expansion.evaluate` only composes. The options, with sources, are in
`data/expansion/`; **parts announced but not shipped are flagged** (hollow markers below), and
where they lack a public price, TDP or rent the assumption is marked `basis = assumption` there.

**Terms** (notebooks 05 and 06 explain them at length). *Goodput*: useful training time over
wall-clock time, after failures, restarts and checkpoints. *MFU*: the model's arithmetic per second
over the GPUs' dense peak. *Capex*: what the cluster costs to buy. *TCO*: total cost of ownership, capex
plus operating costs less the hardware's value at the end. *Plan*: tp, pp, ep, etp, dp are the tensor, pipeline,
expert, expert-tensor and data-parallel sizes (notebook 04). *IRR*: the discount rate that
zeroes the operator's cash flows; *NPV*: their value at the cost of capital (both count the hardware's sale
at retirement); *payback*: years until the cumulative operating cash (rent less energy and opex, the sale not
counted) repays the capex — all pre-tax and unlevered (before income tax, without debt).
*P5, P50, P95*: percentiles of a Monte Carlo; P50 is the median. *Helios*: AMD's announced rack-scale
MI450X system. *Pollara 400, Vulcano 800G*: AMD's shipping and announced scale-out NICs. *DPU*: a
data processing unit, a programmable network card.
"""),
    ("code", r"""
from IPython.display import Markdown, display
import time

X, E = il.expansion, il.economics
md = lambda text: display(Markdown(text))  # noqa: E731  (prose built from computed values)
# the answers up front: the Takeaways cell at the end fills this in from the computed values
BRIEF = display(Markdown("**In brief:** filled in by the Takeaways cell at the end once the notebook has run."),
                display_id=True)
XP = dict(X.parameters().select("name", "value").iter_rows())
SIZES = X.cluster_sizes()                      # the full grid's sizes (data/expansion/parameters.csv) [GPUs]
G_Z = SIZES[0]                                 # today's ZAYA1 cluster: the ZAYA1-class points [GPUs]
G_MOE = 8192                                   # the 10x MoE points (one of the sizes) [GPUs]
BATCH_X = 4                                    # section 2's larger batch per GPU [-]
assert G_Z == min(SIZES) and G_MOE in SIZES
md(f"**Sizes.** The full grid: {', '.join(f'{g:,}' for g in SIZES)} GPUs. The points run here: every platform × NIC "
   f"at about {G_Z:,} GPUs (today's cluster) for the ZAYA1-class model, and every platform at about {G_MOE:,} GPUs on "
   f"Pollara for the 10× MoE (about: whole nodes, and whole racks for Helios).")
md(f"**Read with care.** Training times are the lab's step model for the best plan (no MI325X, MI355X or MI450X "
   f"run at this scale is public); above {XP['min_global_batch_seqs']:,.0f} GPUs the global batch grows to one "
   f"sequence per GPU (weak scaling), which flatters the largest clusters; MI450X figures are announced specs, "
   f"its bf16 peak derived from FP8. Serving is one node's best configuration ({X.SERVING_ENGINE}, "
   f"{XP['serving_input_tokens']:,.0f}-token prompts and {XP['serving_output_tokens']:,.0f}-token answers, at most "
   f"{XP['serving_max_tpot_s'] * 1e3:.0f} ms per output token: `data/expansion/parameters.csv`) times the nodes.")
TOK = dict(X.models().select("model", "tokens").iter_rows())   # training tokens per model
opts = X.options()
il.charts.headline_table(
    opts.select("option", "accelerator", "nic", "announced_not_shipped", "available"),
    "The 2026 expansion options: a platform and a NIC each",
    subtitle="announced, not shipped: a date and specs from an announcement, no shipping part",
    labels={"announced_not_shipped": "announced, not shipped", "available": "available from"},
    highlight=pl.col("announced_not_shipped"),
    sources=[f"{r['platform']}: {r['source_url']}" for r in X.platforms().iter_rows(named=True)]
    + [f"{r['nic']}: {r['source_url']}" for r in X.nics().iter_rows(named=True)])
"""),
    ("md", r"""
## 1. The sweep

A notebook-sized grid runs in-process here (a frame of the points named above the options
table). Each point runs
a parallel-plan search inside it, so the full grid (every platform, NIC, size from
`data/expansion/parameters.csv` and model) is the natural job for a Dask cluster — the same call
with a client:

```python
from dask.distributed import Client
client = Client("tcp://scheduler-host:8786")          # or Client(LocalCluster(n_workers=...))
full = il.sweep(X.evaluate, X.sweep_grid(), client,    # chunked tasks, results stream back
                out="runs/expansion")                  # Parquet per chunk: rerun to resume
```
"""),
    ("code", r"""
z = pl.DataFrame({"platform": X.platforms()["platform"]}).join(
    pl.DataFrame({"nic": X.nics()["nic"]}), how="cross").join(
    pl.DataFrame({"target_gpus": [G_Z]}), how="cross").with_columns(model=pl.lit("ZAYA1-class"))
moe = pl.DataFrame({"platform": X.platforms()["platform"]}).with_columns(
    nic=pl.lit("Pollara-400"), target_gpus=pl.lit(G_MOE, dtype=pl.Int64), model=pl.lit("10x MoE"))
POINTS = pl.concat([z, moe])
t0 = time.perf_counter()
sw = il.sweep(X.evaluate, POINTS, seed=SEED, progress=False)   # 12 points in seconds: no progress bar
sweep_s = time.perf_counter() - t0
df = sw.join(opts.select("platform", "nic", "option", "announced_not_shipped"), on=["platform", "nic"])
assert df["error"].null_count() == df.height, il.sweep.failures(df)
n_full = len(il.sweep.grid_points(X.sweep_grid()))
md(f"{df.height} points in {sweep_s:.1f} s in-process ({df.height / sweep_s:.2f} points/s), "
   f"none failed. The full grid has {n_full} points.")
il.charts.headline_table(
    df.select("option", "gpus", "model", "plan", "mfu", "wall_days", "goodput", "facility_MW",
              (pl.col("capex_usd") / 1e6).alias("capex_M_usd"), (pl.col("run_cost_usd") / 1e3).alias("run_cost_k_usd")
              ).sort("model", "gpus", "wall_days"),
    "Each option's best plan: training time, goodput, power and cost",
    subtitle="il.search's best plan per point; wall clock with failures and checkpoints (il.reliability)",
    labels={"wall_days": "wall clock", "capex_M_usd": "capex", "run_cost_k_usd": "run cost"}, percent=["mfu", "goodput"],
    sources="options, sizes and models: data/expansion/ (a source URL per row)")
"""),
    ("md", r"""
**The owned price of a GPU-hour.** Every owned cost below (the run, a trained token, a served
token) prices a useful GPU-hour with the package's one owned price function, notebook 05's
like-for-like Monte Carlo: the median of the same draws of host, network and opex for every
accelerator, the option's NIC at its stated price, and the switch ports and optics its own
fabric counts (`il.economics.fabric_network_counts`: the table below at the reference cluster's
size, `owned_quote`'s default, each sweep point at its own size; a Helios rack's four-NIC trays and a three-tier
fabric count more per GPU than ZAYA1's). The purchase price
of every option is on one channel, analysts' selling prices (`il.expansion.OPTION_PRICE_BASIS`;
`capex_basis` says where each comes from), because it is the only channel every option has.
Capex, TCO, IBM's return and the deal are what IBM's cluster costs instead: every input at the
economics defaults, as in notebook 05's sections 1 and 4.
"""),
    ("code", r"""
own_q = pl.DataFrame([{"option": r["option"], "accelerator": r["accelerator"],
                       **{k: q[k] for k in ("purchase_price_usd_per_gpu", "capex_basis", "p5", "usd_per_gpu_hour", "p95")}}
                      for r in opts.iter_rows(named=True) for q in [X.owned_quote(r["platform"], r["nic"])]])
own08 = E.owned_gpu_hour_price("MI300X", basis=X.OPTION_PRICE_BASIS)   # today's design on this channel
assert (df.filter(pl.col("option") == "MI300X node + Pollara-400")["owned_usd_per_gpu_hour"] == own08).all()
own05 = E.owned_gpu_hour_price("MI300X")                       # notebook 05's like-for-like P50 (baseboard listing)
own05_sec1 = E.owned_cost_band("MI300X").p50                   # notebook 05 section 1's Monte Carlo P50 (its one owner)
listing = E.owned_gpu_hour_quote("MI300X")["purchase_price_usd_per_gpu"]
asp = own_q.filter(pl.col("option") == "MI300X node + Pollara-400")["purchase_price_usd_per_gpu"][0]
md(f'''Today's design costs **${own08:.2f}** per useful GPU-hour owned on this channel (MI300X at
${asp:,.0f} per GPU, its selling-price default in the economics data). Notebook 05 compares MI300X with NVIDIA at
distributors' baseboard listings instead, the one channel where both vendors have a price:
there MI300X (${listing:,.0f} per GPU) costs ${own05:.2f} per GPU-hour (its like-for-like P50), {own05 / own08:.2f}x this figure.
Only MI300X has such a listing among these options; pricing it there and the others at
selling prices would rank it on a dearer channel than the parts it is compared with.
Notebook 05's headline for ZAYA1's own cluster, ${own05_sec1:.2f} (its Monte Carlo P50), is the same cost model with the purchase
price drawn over its whole range, from the selling price to the listing, instead of held at one channel's price.''')
basis_words = {"asp": "an analyst's selling price", "given": "stated in data/expansion/platforms.csv (an assumption)",
               "default purchase price (no asp listing)": "the economics default (MI300X's selling price)"}
il.charts.headline_table(
    own_q.drop("accelerator").with_columns(pl.col("capex_basis").replace(basis_words)).rename(
        {"purchase_price_usd_per_gpu": "purchase price [USD/GPU]", "p5": "owned P5 [USD/GPU-h]",
         "usd_per_gpu_hour": "owned P50 [USD/GPU-h]", "p95": "owned P95 [USD/GPU-h]"}),
    "The owned price of a useful GPU-hour, per option", labels={"capex_basis": "where the purchase price comes from"},
    subtitle="one purchase channel for every option (il.expansion.OPTION_PRICE_BASIS); Monte Carlo over host, network and opex",
    decimals={c: 2 for c in ("owned P5 [USD/GPU-h]", "owned P50 [USD/GPU-h]", "owned P95 [USD/GPU-h]")},
    highlight=pl.col("option") == "MI300X node + Pollara-400",
    sources="data/expansion/platforms.csv, data/economics/parameters.csv (a source URL per row)")
"""),
    ("code", r"""
# what the announced rack's owned price rests on: every figure read from data/expansion and data/economics
h = X.platforms().filter(pl.col("accelerator") == "MI450X").row(0, named=True)
hq = {n: X.owned_quote(h["platform"], n) for n in X.nics()["nic"]}
ref = E.defaults("MI450X")
ports = {n: X.cost_overrides(h["platform"], n).get("switch_ports_per_gpu", ref["switch_ports_per_gpu"]) for n in hq}
md(f'''**What the {h["platform"]} figure assumes.** Its ${hq["Pollara-400"]["usd_per_gpu_hour"]:.2f} per useful GPU-hour
(P5–P95 ${hq["Pollara-400"]["p5"]:.2f}–{hq["Pollara-400"]["p95"]:.2f}; ${hq["Vulcano-800"]["usd_per_gpu_hour"]:.2f} with Vulcano 800G) rests on
a purchase price of ${h["capex_usd_per_gpu"]:,.0f} per GPU (range ${h["capex_low_usd"]:,.0f}–{h["capex_high_usd"]:,.0f}, basis:
{h["capex_basis"]}) and a TDP of {h["tdp_W"]:,.0f} W ({h["tdp_basis"]}), both in `data/expansion/platforms.csv`; on the same
host per GPU as an 8-GPU server (${ref["host_usd_per_gpu"]:,.0f}, `host_usd_per_gpu`: no Helios tray price is public) and on
the scale-out network its own fabric counts ({ports["Pollara-400"]:.2f} priced 400G switch ports per GPU on Pollara 400,
{ports["Vulcano-800"]:.2f} on Vulcano 800G, against {ref["switch_ports_per_gpu"]:.0f} in ZAYA1's fabric). **Not priced:** the rack's
{h["scaleup_domain"]}-GPU scale-up switching. The cost model prices the scale-out network only (one scale-up domain needs
no switch, `il.economics.fabric_network_counts`), no Helios price is public, and a GB200 NVL72's rack price
(data/economics) includes its NVLink switches: so this figure is a floor for the rack at that GPU price, not a
like-for-like rack price. IBM's return on it also rests on an assumed rent (${h["contract_usd_per_gpu_hour"]:.2f} per GPU-hour,
{h["contract_basis"]}).''')
"""),
    ("md", r"""
## 2. Cost vs time to train

Each point is one option; the dashed line is the Pareto front (no other option is both faster
and cheaper). Owned cost of the run includes the hours lost to failures (goodput).
"""),
    ("code", r"""
charts = []
for m in ("ZAYA1-class", "10x MoE"):
    sub = df.filter(pl.col("model") == m)
    charts.append(il.charts.expansion_pareto(
        sub, "wall_days", "run_cost_usd", x_title="time to train, with failures [days]",
        y_title="owned cost of the run [USD]", front=X.pareto_front(sub, "wall_days", "run_cost_usd"),
        title=f"{m}: cost vs time", width=330, height=260))
alt.hconcat(*charts)
"""),
    ("code", r"""
H1 = X.headlines(df, "ZAYA1-class", G_Z)
big = df.filter(pl.col("target_gpus") == G_MOE)
small = df.filter((pl.col("target_gpus") == G_Z) & (pl.col("model") == "ZAYA1-class"))
cs = small.sort("usd_per_m_served_tokens").row(0, named=True)
HM = X.headlines(df, "10x MoE", G_MOE)
b1, f1, c1, s1 = H1["base"], H1["fastest"], H1["cheapest"], H1["cheapest_shipping"]
nic_gain = H1["nic_speedup"]
cap = small.pivot(
    on="nic", index="platform", values="capex_usd")
nic_capex = {r["platform"]: r["Vulcano-800"] / r["Pollara-400"] for r in cap.iter_rows(named=True)}
best_nic = max(nic_gain, key=nic_gain.get)
# claims the prose relies on (checked here, every run)
assert f1["wall_days"] == small["wall_days"].min()
for r in df.iter_rows(named=True):    # cost = price x GPU-hours, the GPU-hours = GPUs x wall clock (failures included)
    gh = r["gpus"] * r["wall_days"] * 24
    assert abs(r["wall_days"] * r["goodput"] / r["run_days"] - 1) < 1e-9
    assert abs(r["run_cost_usd"] / (r["owned_usd_per_gpu_hour"] * gh) - 1) < 1e-9
    assert abs(r["rented_run_cost_usd"] / (r["contract_usd_per_gpu_hour"] * gh) - 1) < 1e-9
assert all(g >= 0.999 for g in nic_gain.values())      # Vulcano never slows a run down
assert b1["wall_days"] / f1["wall_days"] > max(nic_gain.values())   # accelerator >> NIC
# notebook 07's price of the same model on MI300X for the Maia agent's calls (il.serving.class_comparison, as 07 calls it)
m07_req = il.serving.agent_request(il.serving.maia_mix())
m07_target = il.serving.maia_mix()["interactivity_target"]
m07 = il.serving.class_comparison(["zaya1-base"], ["MI300X"], tokens_per_s_per_user=m07_target, request=m07_req).row(0, named=True)
assert m07["usd_per_million_output_tokens_all_in"] > b1["usd_per_m_served_tokens"]
# the same run on the shipped ZAYA1 scenario (notebooks 04-06: Zyphra's plan on the cluster's own hosts)
zsc = il.load_scenario("zaya1-ibm-mi300x")
zwall = il.reliability.plan_run(zsc, il.reliability.run_hours(zsc, TOK["ZAYA1-class"]),
                                calibration=X.CALIBRATION).expected_wall_s / 86400
host08 = il.Scenario.from_dict(X.training_scenario("MI300X node", "Pollara-400", G_Z, "ZAYA1-class")).hardware.host_cpu
zp = zsc.parallelism
zplan = (zp.tp, zp.pp, zp.ep, zp.dp, zsc.training.micro_batch)
same_run = (host08 == zsc.hardware.host_cpu and zplan == tuple(b1[k] for k in ("tp", "pp", "ep", "dp", "micro_batch"))
            and abs(b1["wall_days"] / zwall - 1) < 1e-6)
host_other = il.Scenario.from_dict(X.training_scenario("MI355X node", "Pollara-400", G_Z, "ZAYA1-class")).hardware.host_cpu
ovh = {h: il.fabric.net_overhead_s(h) * 1e6 for h in (host08, host_other)}          # per network message [µs]
vendor = {h: il.fabric.host_cpu(h)["vendor"] for h in (host08, zsc.hardware.host_cpu, host_other)}
if same_run:
    consistency = (f"**Today's design is notebooks 05 and 06's run.** The MI300X node here is ZAYA1's node, its hosts "
                   f"included ({vendor[host08]} {host08}, `data/expansion/platforms.csv`, as the shipped scenario has them), "
                   f"and the plan search lands on Zyphra's own plan ({b1['plan']}): {b1['wall_days']:.2f} days with failures "
                   f"here, {zwall:.2f} days in the shipped scenario.")
else:
    consistency = (f"**Today's design here is not notebooks 05 and 06's run** ({b1['wall_days']:.2f} days with failures "
                   f"here, {zwall:.2f} days in the shipped scenario): here the hosts are {vendor[host08]} {host08} and "
                   f"the plan {b1['plan']}; there the hosts are {vendor[zsc.hardware.host_cpu]} {zsc.hardware.host_cpu} "
                   f"and Zyphra's plan tp {zp.tp} · pp {zp.pp} · ep {zp.ep}, dp {zp.dp}, micro-batch {zsc.training.micro_batch}.")
md(f'''**At today's size (about {G_Z:,} GPUs), ZAYA1-class.** Today's design ({b1['option']}) trains
{TOK['ZAYA1-class'] / 1e12:.0f}T tokens in **{b1['wall_days']:.1f} days** with failures, for **${b1['run_cost_usd'] / 1e3:,.0f}k** owned.
The fastest option is **{f1['option']}** ({f1['gpus']:,} GPUs): **{f1['wall_days']:.2f} days**,
{b1['wall_days'] / f1['wall_days']:.1f}× faster; the cheapest run is **{c1['option']}**
(${c1['run_cost_usd'] / 1e3:,.0f}k){' — parts of it are announced, not shipped' if c1['announced_not_shipped'] else ''}.
Among shipping parts the cheapest run is **{s1['option']}** (${s1['run_cost_usd'] / 1e3:,.0f}k, {s1['wall_days']:.1f} days).

{consistency} The other platforms' nodes keep their accelerator's default host
(`data/network_platforms.csv`: {vendor[host_other]} {host_other}): no source says which host IBM would put in them. The
host's vendor sets RCCL's per-message network overhead (`il.fabric.net_overhead_s`: {ovh[host_other]:g} µs on
{vendor[host_other]} x86 against {ovh[host08]:g} µs on {vendor[host08]}), so their data-parallel traffic is timed on
the slower host. That overhead is a constant of the library's tuning model with no published measurement, priced here
as a cost: read the host difference as a sensitivity (notebook 04 §3 computes it for ZAYA1).

**The NIC.** Vulcano 800G shortens a ZAYA1-class run by at most {100 * (1 - 1 / nic_gain[best_nic]):.0f} %
(on {best_nic}); on the others by {', '.join(f'{100 * (1 - 1 / v):.0f} % ({k})' for k, v in nic_gain.items() if k != best_nic)},
while it raises the capital cost of the {best_nic} cluster by {100 * (nic_capex[best_nic] - 1):.0f} %.

**At about {G_MOE:,} GPUs** the 10× MoE takes **{HM['base']['wall_days']:.1f} days** on MI300X vs
**{HM['fastest']['wall_days']:.1f} days** on {HM['fastest']['option']} ({HM['fastest']['gpus']:,} GPUs);
the cheapest shipping run of it is {HM['cheapest_shipping']['option']}
(${HM['cheapest_shipping']['run_cost_usd'] / 1e6:,.2f}M owned, {HM['cheapest_shipping']['wall_days']:.1f} days).

**The failure reading.** Every wall clock and run cost here counts failures under the job-level fleet reading
(`X.CALIBRATION`, {b1['goodput']:.1%} goodput for today's design), the one notebook 06 finds right for a job of this
size and notebook 05 prices ZAYA1's run with. Under Llama 3's per-device reading, the optimistic bound
({b1['goodput_bound']:.1%}), today's design would take {b1['run_days'] / b1['goodput_bound']:.2f} days for
${b1['run_cost_usd'] * b1['goodput'] / b1['goodput_bound'] / 1e3:,.0f}k, and the 10× MoE on {HM['base']['gpus']:,} MI300X
{HM['base']['run_days'] / HM['base']['goodput_bound']:.1f} days for ${HM['base']['run_cost_usd'] * HM['base']['goodput'] / HM['base']['goodput_bound'] / 1e6:,.2f}M
instead of {HM['base']['wall_days']:.1f} days for ${HM['base']['run_cost_usd'] / 1e6:,.2f}M (goodput {HM['base']['goodput_bound']:.1%} against
{HM['base']['goodput']:.1%}): the failure cost's spread grows with the cluster.

**Serving.** Today's cluster, if it served the ZAYA1-class model, would produce
{b1['served_tokens_per_s_cluster'] / 1e6:,.1f}M output tokens/s within the latency limit at
${b1['usd_per_m_served_tokens']:.4f} per million (owned, {b1['serve_plan']}); {'that is also the cheapest served token of the options' if cs['option'] == b1['option'] else f"the cheapest served token is on {cs['option']} (${cs['usd_per_m_served_tokens']:.4f} per million, {100 * (1 - cs['usd_per_m_served_tokens'] / b1['usd_per_m_served_tokens']):.1f} % below today's design; {cs['serve_plan']})"}.
These are short requests ({XP['serving_input_tokens']:,.0f} tokens in, {XP['serving_output_tokens']:,.0f} out) at this
notebook's owned price; notebook 07 serves the same model the Maia agent's long prompts ({m07_req['input_tokens']:,.0f} tokens
in per call, with pictures and speech) at ≥ {m07_target:.0f} tokens/s per user on the like-for-like owned price, where an
MI300X node costs ${m07['usd_per_million_output_tokens_all_in']:.3f} per million output tokens: there each call reads
{m07_req['input_tokens'] / m07_req['output_tokens']:.0f} prompt tokens per output token, here
{XP['serving_input_tokens'] / XP['serving_output_tokens']:.0f}.''')
"""),
    ("code", r"""
md(f'''**Why MI355X gains little on the 10× MoE at about {G_MOE:,} GPUs.** Below, `il.estimate` of each
option's best plan (the plan `X.evaluate` picks: the same scenario and search bounds), step
component by component, then the same comparison with {BATCH_X}× the batch per GPU and with Vulcano 800G
(docs/expansion.md, "Why MI355X gains little on the 10× MoE").''')
"""),
    ("code", r"""
COMP = ("compute_fwd", "compute_bwd", "compute_recompute")
def best_estimate(platform, gpus=G_MOE, nic="Pollara-400", model="10x MoE", batch_per_gpu_x=1, host_cpu=None):
    d = X.training_scenario(platform, nic, gpus, model)
    d["training"]["global_batch"] *= batch_per_gpu_x
    if host_cpu is not None:   # a sensitivity: another host CPU than the platform row's
        d["hardware"]["host_cpu"] = host_cpu
    b = il.search(d, top=1, **X.SEARCH_BOUNDS).row(0, named=True)
    return il.estimate(il.Scenario.from_dict(il.training.apply_plan(d, b))), b, d["training"]["precision"]
WHY = {p: best_estimate(p) for p in ("MI300X node", "MI355X node")}
side = pl.concat([e.breakdown.rename({"seconds": f"{p} [s]"}) for p, (e, _, _) in WHY.items()], how="align")
# in the step's order (compute, communication, bubble, optimizer), as every breakdown prints it: "align"
# sorts by the component's name, which put compute_bwd first and the pipeline bubble among the comms
order = next(iter(WHY.values()))[0].breakdown["component"].to_list()      # il.estimate's order
side = side.sort(pl.col("component").cast(pl.Enum(order)))
display(side.with_columns(pl.col(pl.Float64).round(3)))
(ea, ba, pa), (eb, bb, pb) = WHY.values()
comp = {p: sum(e.breakdown.filter(pl.col("component").is_in(COMP))["seconds"]) for p, (e, _, _) in WHY.items()}
rest = {p: e.step_time_s - comp[p] for p, (e, _, _) in WHY.items()}
ca, cb = comp.values()
ra, rb = rest.values()
def gain(**kw):
    return best_estimate("MI300X node", **kw)[0].step_time_s / best_estimate("MI355X node", **kw)[0].step_time_s
g4, gv = gain(batch_per_gpu_x=BATCH_X), gain(nic="Vulcano-800")
gh = ea.step_time_s / best_estimate("MI355X node", host_cpu=host08)[0].step_time_s   # MI355X on ZAYA1's hosts too
row = {p: big.filter((pl.col("platform") == p) & (pl.col("model") == "10x MoE")).row(0, named=True) for p in WHY}
# the sweep's answer is this plan's (same scenario, same search); the claims below, checked every run
assert all(abs(row[p]["mfu"] - e.mfu) < 1e-9 for p, (e, _, _) in WHY.items())
assert pa == pb and rb > 0.9 * ra and ca / cb > ea.step_time_s / eb.step_time_s and min(g4, gv) > ea.step_time_s / eb.step_time_s
assert ovh[host08] < ovh[host_other] and gh > ea.step_time_s / eb.step_time_s   # the slower host costs MI355X time
plan = lambda b: f"tp {b['tp']}, pp {b['pp']}, ep {b['ep']}, etp {b['etp']}, micro-batch {b['micro_batch']}"  # noqa: E731
md(f'''Both run {pa} (the same precision; MI355X's peak is {eb.peak_flops / ea.peak_flops:.2f}× MI300X's). At
{eb.gpus:,} GPUs the batch rule gives each GPU one {X.parameters().filter(pl.col("name") == "seq_len")["value"][0]:,.0f}-token sequence per step, so the step is short
and communication is about half of it. MI355X's compute part is {ca / cb:.2f}× shorter ({1e3 * ca:.0f} → {1e3 * cb:.0f} ms:
small per-GPU GEMMs reach less of the larger peak), but the rest — expert all-to-all across nodes (ep × etp spans
{ba['ep'] * ba['etp']} GPUs, more than a node), data-parallel gradient and parameter traffic, pipeline bubble — is
{1e3 * ra:.0f} ms on MI300X and {1e3 * rb:.0f} ms on MI355X: the same Pollara 400 per GPU carries it, and with less compute
to hide behind, more of it is exposed (and MI355X's nodes have the default {vendor[host_other]} host, {ovh[host_other]:g} µs of RCCL
overhead per network message against {ovh[host08]:g} µs on MI300X's {vendor[host08]} hosts; on {vendor[host08]} hosts too
MI355X's step gain is {gh:.2f}×). The step is therefore only {ea.step_time_s / eb.step_time_s:.2f}× shorter
({1e3 * ea.step_time_s:.0f} vs {1e3 * eb.step_time_s:.0f} ms; best plans: MI300X {plan(ba)}; MI355X {plan(bb)}), and MFU,
counted against the larger peak, falls to {100 * eb.mfu:.1f} % ({100 * ea.mfu:.1f} % on MI300X). This is the configuration's
limit, not a narrow search or a wrong row: with {BATCH_X}× the batch per GPU MI355X's step gain rises to {g4:.2f}×, with
Vulcano 800G NICs to {gv:.2f}×.''')
"""),
    ("md", r"""
## 3. Capital vs time to train, and $ per served token vs capital

What each option asks of the buyer up front (capex of the whole cluster: GPUs, hosts, spares,
network, storage) against how fast it trains the 10× MoE, and against what a served token costs
when the same cluster serves the ZAYA1-class model.
"""),
    ("code", r"""
moe8 = big.filter(pl.col("model") == "10x MoE")
front_t, front_s = X.pareto_front(moe8, "capex_usd", "wall_days"), X.pareto_front(small, "capex_usd", "usd_per_m_served_tokens")


def pts(fr, y, fmt):   # the front's options, cheapest capital first, with capex and the y value
    return "; ".join(f"{r['option']}{' (announced)' if r['announced_not_shipped'] else ''}: ${r['capex_usd'] / 1e6:,.0f}M, "
                     + fmt.format(r[y]) for r in fr.iter_rows(named=True))


off_t = moe8.height - front_t.height
# the host sensitivity of MI325X (its nodes keep the default host; MI300X's have ZAYA1's): best plan's step, both hosts
step325 = {h: best_estimate("MI325X node", host_cpu=h)[0].step_time_s for h in (host_other, host08)}
assert step325[host08] < step325[host_other]
md(f"**Reading the charts.** Capital against time for the 10× MoE (~{G_MOE:,} GPUs): the front (options no other beats on "
   f"both capital and time) is {pts(front_t, 'wall_days', '{:.1f} days')}"
   + (f"; {'the other option is' if off_t == 1 else f'each of the other {off_t} is'} beaten on both by an option on it."
      if off_t else ": every option is on it, so each step up in capital buys a faster run.")
   + f" MI325X's nodes keep the default {vendor[host_other]} host (section 2): on ZAYA1's {vendor[host08]} hosts its best "
   f"10× MoE step would be {100 * (1 - step325[host08] / step325[host_other]):.0f} % shorter."
   + f" Capital against the served-token price at ~{G_Z:,} GPUs: the front is "
   f"{pts(front_s, 'usd_per_m_served_tokens', '${:.4f} per million')}; each of the other "
   f"{small.height - front_s.height} options is beaten on both by one of these.")
alt.hconcat(
    il.charts.expansion_pareto(
        moe8, "capex_usd", "wall_days", x_title="capital cost of the cluster [USD]",
        y_title="10x MoE: time to train [days]", front=front_t,
        title=f"~{G_MOE:,} GPUs: capital vs time (10x MoE)", log_y=False, width=330, height=260),
    il.charts.expansion_pareto(
        small, "capex_usd", "usd_per_m_served_tokens", x_title="capital cost of the cluster [USD]",
        y_title="ZAYA1-class: owned cost [USD per million served tokens]",
        front=front_s,
        title=f"~{G_Z:,} GPUs: $ per served token vs capital", log_y=False, width=330, height=260))
"""),
    ("md", r"""
## 4. Who earns what
"""),
    ("code", r"""
md(f'''**Per option (about {G_MOE:,} GPUs, the 10× MoE run).** IBM's capital outlay, the facility power, the
owned cost per useful GPU-hour, Zyphra's cost of the run at the option's contract rent (with
goodput losses), and IBM's pre-tax, unlevered IRR and payback when it rents the cluster out on a
contract that then decays with Epoch's price-performance trend (`depreciation_ooms_per_year`
in data/economics; `il.economics.provider_view(path="decay")`); a payback of `inf` means the
operating cash does not repay the capex within the horizon: an IRR above zero beside it is repaid by the
hardware's sale at retirement, which the IRR counts and the payback does not. Contract rents: MI300X's own dedicated-contract row
(data/economics/parameters.csv); for the other shipping parts their median on-demand listing in
data/cloud_prices.csv times the listed 1-year commitment ratio ({E.commitment_ratio("1-year"):.2f}: the median, over the
{E.commitment_pairs("1-year").height} provider-and-part pairs listed on demand and for 1 year on the same date, of the 1-year price
over the on-demand one; `il.economics.contract_default`), so no commitment costs more than the part's own on-demand
median; an assumption for MI450X (data/expansion/platforms.csv).''')
"""),
    ("code", r"""
inv = big.filter(pl.col("model") == "10x MoE").select(
    "option", "announced_not_shipped", (pl.col("capex_usd") / 1e6).alias("capex [M USD]"),
    pl.col("facility_MW").alias("facility [MW]"),
    pl.col("owned_usd_per_gpu_hour").alias("owned P50 [USD/GPU-h]"),
    pl.col("contract_usd_per_gpu_hour").alias("contract rent [USD/GPU-h]"),
    (pl.col("rented_run_cost_usd") / 1e3).alias("Zyphra's run, rented [k USD]"),
    pl.col("rented_usd_per_m_served_tokens").alias("Zyphra per M served tokens, rented [USD]"),
    (pl.col("served_tokens_per_s_cluster") / 1e6).alias("serving capacity [M tok/s]"),
    pl.col("ibm_irr").alias("IBM IRR, decay [per year]"), pl.col("ibm_payback_years").alias("IBM payback [y]"),
).sort("capex [M USD]")
il.charts.headline_table(
    inv, "The 10× MoE expansion: what it costs, what it earns",
    subtitle="capex, power, IRR and payback with every input at its default; owned P50: the option's owned price at this "
             "size (section 1's Monte Carlo); IRR pre-tax, unlevered",
    labels={"announced_not_shipped": "announced, not shipped", "IBM IRR, decay [per year]": "IBM IRR, decay, per year"},
    percent=["IBM IRR, decay [per year]"],
    sources="data/expansion/platforms.csv, data/cloud_prices.csv, data/economics/parameters.csv (a source URL per row)")
"""),
    ("code", r"""
md(f'''**The deal P&L of an MI300X expansion.** The lab's deal model (`il.economics.deal_pnl`)
prices the whole deal — AMD's revenue from GPUs, Pollara NICs and DPUs at its selling price, IBM's
revenue, margin, IRR and payback on the rent path, Zyphra's bill — with a Monte Carlo over every
uncertain input (P5, P50, P95). Here it is for today's {b1["gpus"]:,} GPUs and for an expansion to {HM["base"]["gpus"]:,} GPUs
whose final run is the 10× MoE from the sweep.''')
"""),
    ("code", r"""
moe_mi300 = HM["base"]
run_gh = moe_mi300["gpus"] * moe_mi300["run_days"] * 24
deal_now = E.deal_pnl(b1["gpus"] * b1["run_days"] * 24, goodput=b1["goodput"], n_gpus=b1["gpus"], nodes=b1["gpus"] // 8,
                      n=2000, seed=SEED)
deal_big = E.deal_pnl(run_gh, goodput=moe_mi300["goodput"], n_gpus=moe_mi300["gpus"],
                      nodes=moe_mi300["gpus"] // 8, n=2000, seed=SEED)
keep = ["total revenue", "cluster capex", "revenue in year 1", "IRR (pre-tax, unlevered)", "payback", "bill"]
g_now, g_big = f"{b1['gpus']:,}", f"{moe_mi300['gpus']:,}"
tab = (deal_now.table.select("party", "line", "unit", pl.col("p50").alias(f"{g_now} GPUs P50"))
       .join(deal_big.table.select("party", "line", pl.col("p5").alias(f"{g_big} P5"),
                                   pl.col("p50").alias(f"{g_big} P50"), pl.col("p95").alias(f"{g_big} P95")),
             on=["party", "line"])
       .join(deal_big.table.select("party", "line", "how"), on=["party", "line"])   # how each line is counted
       .filter(pl.col("line").is_in(keep)))
amd = deal_big.line("AMD", "total revenue")
irr = deal_big.line("IBM", "IRR (pre-tax, unlevered)")
tab_view = il.charts.headline_table(
    tab, f"The deal at {g_now} GPUs today and at {g_big} GPUs", subtitle="Monte Carlo over every uncertain input; "
    "each row in its own unit", sources="data/economics/ (a source URL per row)")
md(f'''An {g_big}-MI300X expansion would bring AMD about **${amd.p50 / 1e6:,.0f}M** of revenue
(P5–P95 ${amd.p5 / 1e6:,.0f}–{amd.p95 / 1e6:,.0f}M), and give IBM a pre-tax IRR of
**{irr.p50:.0%}** ({irr.p5:.0%} to {irr.p95:.0%}) on the rent path. The sweep's {moe_mi300['ibm_irr']:.0%} for the
same cluster (section 4's table) is the same decay path with every input at its default; here every uncertain input is
sampled over its range.''')
tab_view
"""),
    ("code", r"""
md(f'''**AMD's revenue per option.** The same model for each platform at about {G_MOE:,} GPUs
(`il.expansion.deal`: `deal_pnl` with the option's accelerator and the purchase price, AMD
selling price, TDP and rent that `data/expansion/platforms.csv` states for it, `basis =
assumption` where no public figure exists), each with its own 10× MoE run from the sweep.''')
"""),
    ("code", r"""
deal_rows = []
for r in big.filter(pl.col("model") == "10x MoE").sort("capex_usd").iter_rows(named=True):
    d = X.deal(r["platform"], r["nic"], r["gpus"], r["gpus"] * r["run_days"] * 24, goodput=r["goodput"],
               n=2000, seed=SEED)
    rev, ibm_irr = d.line("AMD", "total revenue"), d.line("IBM", "IRR (pre-tax, unlevered)")
    deal_rows.append({"option": r["option"], "gpus": r["gpus"], "announced_not_shipped": r["announced_not_shipped"],
                      "AMD revenue P5 [M USD]": rev.p5 / 1e6, "AMD revenue P50 [M USD]": rev.p50 / 1e6,
                      "AMD revenue P95 [M USD]": rev.p95 / 1e6,
                      "NIC share of AMD P50 [-]": d.line("AMD", "Pollara NIC revenue").p50 / rev.p50,
                      "IBM IRR P50 [per year]": ibm_irr.p50})
amd_by = pl.DataFrame(deal_rows)
top_amd = amd_by.sort("AMD revenue P50 [M USD]", descending=True).row(0, named=True)
low_amd = amd_by.sort("AMD revenue P50 [M USD]").row(0, named=True)
assert low_amd["option"].startswith("MI300X"), "AMD earns least on more MI300X (the lowest selling price)"
md(f'''Per option AMD's P50 revenue runs from **${low_amd['AMD revenue P50 [M USD]']:,.0f}M** ({low_amd['option']})
to **${top_amd['AMD revenue P50 [M USD]']:,.0f}M** ({top_amd['option']}{', announced, not shipped' if top_amd['announced_not_shipped'] else ''}):
the GPU's selling price dominates; the NICs are {amd_by['NIC share of AMD P50 [-]'].min():.0%}–{amd_by['NIC share of AMD P50 [-]'].max():.0%} of it.''')
il.charts.headline_table(
    amd_by, f"AMD's revenue and IBM's return per option, about {G_MOE:,} GPUs", labels={
        "announced_not_shipped": "announced, not shipped", "NIC share of AMD P50 [-]": "NIC share of AMD P50",
        "IBM IRR P50 [per year]": "IBM IRR P50, per year"},
    subtitle="il.expansion.deal: a Monte Carlo over every uncertain input; IRR pre-tax, unlevered, on the decay path",
    percent=["NIC share of AMD P50 [-]", "IBM IRR P50 [per year]"],
    sources="data/expansion/platforms.csv, data/economics/ (a source URL per row)")
"""),
    ("md", r"""
**IBM under rent paths.** The operator's return depends first on the path of the rent: a
contract that then decays with Epoch's price-performance trend, a 2026-style rebound (H100
contract rents rose in 2026), or a flat rent at several sold shares
(`il.expansion.operator_paths`, i.e. `il.economics.provider_view` per path; the flat path's sold
shares are the low, mode and high of `market_utilization` in data/economics). Per GPU, pre-tax,
unlevered, for today's design and the cheapest shipping option. IBM retires the GPUs at the end of
the last year whose cash margin (rent less energy and opex) is positive and sells them at their
residual value then; `retired after` is empty where they earn their cash costs to the horizon.
The margins are per sold GPU-hour at the first rent: *no resale* is the rent less the owned cost
per sold hour (capital recovered over the years the GPUs run, no credit for their sale); the
*resale credit* is the sale price spread over the same hours as salvage value; *with resale* is
the two together, the margin to set against owning.
"""),
    ("code", r"""
paths = pl.concat([X.operator_paths(r["platform"], r["nic"]).with_columns(option=pl.lit(r["option"]))
                   for r in (b1, s1)])
XP_LIFE = E.parameters("MI300X")["ibm_book_life_years"].value   # the horizon when the GPUs are not retired [years]
assert all(abs(r["margin_with_resale_usd_per_gpu_hour"] - r["margin_usd_per_gpu_hour"] - r["resale_credit_usd_per_gpu_hour"]) < 1e-9
           for r in paths.iter_rows(named=True))
pv = {(r["option"], r["path"], r["utilization"]): r for r in paths.iter_rows(named=True)}
d_base, d_ship = pv[(b1["option"], "decay", None)], pv[(s1["option"], "decay", None)]
f_base = [r for r in paths.iter_rows(named=True) if r["option"] == b1["option"] and r["path"] == "flat"]
breakeven_u = min((r["utilization"] for r in f_base if r["npv_usd_per_gpu"] > 0), default=None)
grid_u = sorted(r["utilization"] for r in f_base)
if breakeven_u is None:
    flat_txt = "flat, the NPV stays negative at every sold share in the grid"
elif breakeven_u == grid_u[0]:
    flat_txt = f"flat, the NPV is positive at every sold share in the grid ({grid_u[0]:.0%} and up)"
else:
    flat_txt = (f"flat, the NPV turns positive between sold shares of "
                f"{max(u for u in grid_u if u < breakeven_u):.0%} and {breakeven_u:.0%}")
irr_txt = lambda r: "never repaid" if r["irr"] is None else f"{r['irr']:.0%}"  # noqa: E731
ret_txt = lambda r: ("it earns its cash costs to the horizon" if r["retirement_year"] is None  # noqa: E731
                     else f"the rent stops covering the cash costs after year {r['retirement_year']:g}, when IBM retires the GPUs")
md(f'''On today's design at its contract rent (${d_base['price_usd_per_gpu_hour']:.2f}/GPU-h) IBM earns
${d_base['margin_usd_per_gpu_hour']:.2f} per sold GPU-hour over its owned cost with no credit for the hardware's sale, and
**${d_base['margin_with_resale_usd_per_gpu_hour']:.2f}** with the resale credit (the sale price after
{d_base['retirement_year'] or XP_LIFE:g} years, ${d_base['resale_credit_usd_per_gpu_hour']:.2f} per sold hour as salvage value):
the margin to set against owning. That is at the contract price; its IRR is
**{irr_txt(d_base)}** if the rent then decays ({ret_txt(d_base)}), against {irr_txt(pv[(b1['option'], 'rebound', None)])} with a
rebound; {flat_txt}. {s1['option']} at its listed
${d_ship['price_usd_per_gpu_hour']:.2f}/GPU-h returns {irr_txt(d_ship)} on the decay path ({ret_txt(d_ship)}).''')
il.charts.headline_table(paths.select("option", "path", pl.col("utilization").alias("sold share [-]"),
             pl.col("price_usd_per_gpu_hour").alias("first rent [USD/GPU-h]"),
             pl.col("margin_usd_per_gpu_hour").alias("margin, no resale [USD/GPU-h]"),
             pl.col("resale_credit_usd_per_gpu_hour").alias("resale credit [USD/GPU-h]"),
             pl.col("margin_with_resale_usd_per_gpu_hour").alias("margin with resale [USD/GPU-h]"),
             pl.col("irr").alias("IRR [per year]"), pl.col("payback_years").alias("payback [years]"),
             pl.col("npv_usd_per_gpu").alias("NPV [USD per GPU]"),
             pl.col("retirement_year").alias("retired after [years]")),
    "IBM per GPU under each rent path: today's design and the cheapest shipping option",
    subtitle="pre-tax, unlevered; sold share: the flat path's share of hours sold; margins: at the first rent and "
             "sold share (the decay and rebound paths' later rents are in the IRR, payback and NPV only); "
             "payback: operating cash only (inf: not within the horizon; the IRR and NPV count the sale); "
             "retired after: empty = to the horizon",
    labels={"sold share [-]": "sold share", "IRR [per year]": "IRR, per year"}, percent=["sold share [-]", "IRR [per year]"],
    decimals={"NPV [USD per GPU]": 0, **{c: 2 for c in ("first rent [USD/GPU-h]", "margin, no resale [USD/GPU-h]",
                                                          "resale credit [USD/GPU-h]", "margin with resale [USD/GPU-h]")}},
    sources="il.expansion.operator_paths (il.economics.provider_view per path)")
"""),
    ("md", r"""
## 5. What the answer is most sensitive to

The cheapest shipping option's owned cost per million trained tokens. Its band is the owned
price's own Monte Carlo (`il.expansion.owned_quote`: host, network and opex drawn from their
ranges, the purchase price held at the option's); the tornado (`il.economics.tornado`) swings
each input of the owned-cost model across its sourced range, the purchase price included, with
the others at their defaults. The run's GPU-hours are held at the sweep's answer; the training
model's own uncertainty (the step time) is not in these bands.
"""),
    ("code", r"""
pick = s1
acc = X.platforms().filter(pl.col("platform") == pick["platform"])["accelerator"][0]
q1 = X.owned_quote(pick["platform"], pick["nic"])
ov = {**X.cost_overrides(pick["platform"], pick["nic"]), "capex_usd_per_gpu": q1["purchase_price_usd_per_gpu"]}
to_m = pick["gpus"] * pick["run_days"] * 24 / pick["goodput"] / TOK["ZAYA1-class"] * 1e6   # GPU-hours per million tokens
per_m = lambda **p: E.owned_cost_per_gpu_hour(acc, **{**ov, **p}).total_usd_per_gpu_hour * to_m  # noqa: E731
torn = E.tornado(per_m, acc)
bd = {k: q1[c] * to_m for k, c in (("p5", "p5"), ("p50", "usd_per_gpu_hour"), ("p95", "p95"))}
assert abs(bd["p50"] / pick["usd_per_m_trained_tokens"] - 1) < 1e-9      # the sweep's owned cost per token
top = torn.row(0, named=True)
md(f'''For **{pick['option']}** at about {G_Z:,} GPUs the owned cost is **${bd['p50']:.4f}** per million
trained tokens (P5–P95 ${bd['p5']:.4f}–{bd['p95']:.4f}). The biggest lever is **{top['label']}**
(from ${min(top['output_low'], top['output_high']):.4f} to ${max(top['output_low'], top['output_high']):.4f});
next: {', '.join(torn['label'][1:4].to_list())}.''')
il.charts.tornado_chart(torn.head(8), x_title="owned cost [USD per million trained tokens]")
"""),
    ("md", r"""
## 6. Explore the options

Pick a platform, NIC, size and model: the numbers come from the sweep above (precomputed, so
each change answers at once) and the chart circles the option among the others.
"""),
    ("code", r"""
il.widgets.expansion_explorer(df)
"""),
    ("md", r"""
## Takeaways
"""),
    ("code", r"""
faster = b1["wall_days"] / s1["wall_days"]
TAKEAWAYS = (f'''* **Speed and cost:** at about {G_Z:,} GPUs today's design trains a ZAYA1-class model in {b1['wall_days']:.1f} days
  with failures for ${b1['run_cost_usd'] / 1e3:,.0f}k owned; the fastest option, {f1['option']}, is
  {b1['wall_days'] / f1['wall_days']:.1f}× faster ({f1['wall_days']:.1f} days){'; it rests on announced parts' if f1['announced_not_shipped'] else ''}.
  Among shipping parts, {s1['option']} is the cheapest run (${s1['run_cost_usd'] / 1e3:,.0f}k) and {faster:.1f}× faster than today's.
* **NIC:** Vulcano 800G shortens a ZAYA1-class run by at most {100 * (1 - 1 / nic_gain[best_nic]):.0f} %; the
  accelerator choice moves the answer far more than the NIC.
* **Scale:** on about {G_MOE:,} GPUs the 10× MoE takes {HM['base']['wall_days']:.1f} days on MI300X and
  {HM['fastest']['wall_days']:.1f} days on {HM['fastest']['option']}.
* **Who earns what:** an {g_big}-MI300X expansion is worth about ${amd.p50 / 1e6:,.0f}M to AMD; IBM's
  IRR on a decaying rent is {irr.p50:.0%} (P50; {moe_mi300['ibm_irr']:.0%} with every input at its default); the owned cost per trained token moves most with
  {top['label'].split(' [')[0]}.
* **Serving:** the cheapest served token at ~{G_Z:,} GPUs is on {cs['option']}
  (${cs['usd_per_m_served_tokens']:.4f} per million owned{" on today's design itself" if cs['option'] == b1['option'] else f" vs ${b1['usd_per_m_served_tokens']:.4f} on today's design, {100 * (1 - cs['usd_per_m_served_tokens'] / b1['usd_per_m_served_tokens']):.1f} % less"}).
* **AMD by option:** P50 revenue from ${low_amd['AMD revenue P50 [M USD]']:,.0f}M ({low_amd['option']}) to
  ${top_amd['AMD revenue P50 [M USD]']:,.0f}M ({top_amd['option']}); the selling prices of parts without a public
  one are assumptions (`data/expansion/platforms.csv`).''')
md(TAKEAWAYS)
BRIEF.update(Markdown("**In brief** (the Takeaways at the end, computed):\n\n" + TAKEAWAYS))
"""),
    ("md", r"""
**What is approximate.** No expansion has been announced: every option is a what-if. Training
times are the step model's best plan (notebook 04's validation errors apply, and no MI325X,
MI355X or MI450X run at these sizes is public), with the global batch growing past the size
printed at the top, which flatters the largest clusters. MI450X, Helios and Vulcano are
announced, not shipped: where their price, TDP or rent is not public it is an assumption
(`basis = assumption` in `data/expansion/`). The owned price is one purchase channel for every
option (analysts' selling prices); IBM's returns depend on a rent path no one can know today;
serving capacity is one node's best configuration times the nodes.

[← 07 serving Maia](07_serving_maia.ipynb) · [09 multimodal →](09_multimodal_maia.ipynb) · [00 index](00_index.ipynb)
"""),
]

if __name__ == "__main__":
    print(write_notebook("08_expansion_2026", cells))
