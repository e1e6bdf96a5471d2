"""Generate notebooks/05_economics.ipynb."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from nbbuild import write_notebook  # noqa: E402

NAV = "[← 04 training ZAYA1](04_training_zaya1.ipynb) · [06 reliability →](06_reliability.ipynb)"

cells = [
    ("md", r"""
# 05 · Economics: who pays what for ZAYA1's cluster, and who makes money

""" + NAV + r"""

**The questions, in the order an investor asks them.**

1. What did ZAYA1's MI300X cluster cost to build, and what does one useful GPU-hour on it cost?
2. What does Zyphra (the model developer) actually pay, and how much of that bought the final ZAYA1 run?
3. Rent or own — for whom, at which prices?
4. What is IBM's (the cloud operator's) return on the cluster, if rents fall as they have?
5. Per trained token, is AMD cheaper than NVIDIA — compared like for like?
6. What is the cluster's total cost of ownership over the years operators depreciate such hardware?
7. Who makes money: AMD, IBM, Zyphra?

**How to read the numbers.** Every input is a row of `data/economics/parameters.csv` with a
default, a low–high range, a unit, a source and a grade (P primary, T a provider's price page as
transcribed, S secondary, D derived here, A an assumption stated as such). Most ranges are
skewed (a purchase price between a hyperscaler's discount and a distributor's listing), so each
headline is the **Monte Carlo median with its P5–P95 band** over all inputs at once, not the
model evaluated at the defaults. Every number in the prose below is computed in the cell above
it. IBM's price to Zyphra, the contract's length and IBM's purchase price are **not public**:
for those the bands are the answer.

**Glossary.**
*useful GPU-hour*: an hour in which a GPU does paid or useful work; idle hours still cost capital.
*MFU* (model FLOPs utilization): the model's arithmetic per second divided by the GPUs' dense
peak. *6·N·D*: the textbook training compute, 6 × active parameters × training tokens; it
ignores attention and, for a model with a vocabulary as large as ZAYA1's, much of the output layer.
*Goodput*: the share of wall-clock time that is useful training, after failures, restarts and
checkpoints (notebook 06). *P&L*: profit and loss. *PUE* (power usage effectiveness): facility power over IT power. *P5–P95*: the range holding
the middle 90 % of Monte Carlo outcomes; *P50* is the median. *on-demand* vs *committed*: paid
per used hour vs paid for every hour of a term (reserved instances, a dedicated contract).
*IRR, NPV, payback*: the discount rate that zeroes the cash flows, their value at the cost of
capital (both count the hardware's resale value), and the years until the cumulative operating cash
(the resale not counted) repays the capex (`inf` where it never does within the horizon, in every
table) — all **pre-tax and unlevered**
(before income tax and without debt). *book life*: the depreciation period a company files;
*economic life*: how long the hardware earns its cost. *baseboard*: eight GPUs on one board,
sold without the host server. *capex, opex*: capital expenditure (bought once) and operating
expenditure (paid as it runs); *TCO*: total cost of ownership, the two together. *ASP*: average
selling price. *TDP*: a GPU's rated board power. *OOM*: an order of magnitude (a factor of 10).
*FTE*: a full-time-equivalent employee. *DPU*: a data processing unit, a programmable network card
(AMD's Pensando). *OCI*: Oracle Cloud Infrastructure. *Epoch AI*: a research group that publishes AI-hardware price data
and the training-cost method used here (Cottier et al. 2024, [arXiv 2405.21015](https://arxiv.org/abs/2405.21015)).
"""),
    ("code", r"""
from infra_lab.printout import signed   # a signed figure; one that rounds to zero prints 0 / 0.0, never +0 or -0
from IPython.display import Markdown, display

E = il.economics
U = il.economics.uncertainty
md = lambda text: display(Markdown(text))  # noqa: E731

P = E.parameters("MI300X")
sc = il.load_scenario("zaya1-ibm-mi300x")
N_GPUS, NODES = sc.hardware.world_size, sc.hardware.nodes
TOKENS = il.reliability.parameter("zaya1_tokens")  # Zyphra's own 14T (the sourced run facts; the 12T press figure is not used)
est = il.estimate(sc)                             # the training model (notebook 04)
run_gh = E.gpu_hours_from_estimate(est, TOKENS)   # GPU-hours of the final pretraining run
# failures, restarts, checkpoints (notebook 06). The job-level fleet reading: notebook 06 finds it the right one
# for a job of this size (measured on 1,024-GPU jobs); Llama 3's per-device reading is its optimistic bound
CAL, CAL_BOUND = "fleet", "llama3"
goodput = il.reliability.plan_run(sc, run_gh / N_GPUS, calibration=CAL).goodput
goodput_bound = il.reliability.plan_run(sc, run_gh / N_GPUS, calibration=CAL_BOUND).goodput
N_MC = 20_000
# the answers up front: the Takeaways cell at the end fills this in from the computed values
BRIEF = display(Markdown("**In brief:** filled in by the Takeaways cell at the end once the notebook has run."),
                display_id=True)
md(f"ZAYA1's final pretraining run: {TOKENS / 1e12:.0f}T tokens at {est.tokens_per_s / 1e6:.1f}M tokens/s on "
   f"{N_GPUS:,} MI300X = **{run_gh / 1e3:,.1f}k GPU-hours** ({run_gh / N_GPUS / 24:.1f} days), goodput "
   f"{goodput:.1%} under the `{CAL}` failure calibration, the job-level reading notebook 06 finds right for a "
   f"{N_GPUS:,}-GPU job ({goodput_bound:.1%} under the `{CAL_BOUND}` per-device reading, its optimistic bound; from "
   f"`il.estimate` and `il.reliability.plan_run`).")
"""),
    ("md", r"""
## 1. What did the cluster cost, and what does a useful GPU-hour cost?

The owned cost counts every item: the GPU, its share of the host server (CPUs, memory, chassis),
hot-spare nodes, the back-end network priced **per port** (a NIC, switch ports and optics per
GPU: the same dollars whatever the GPU costs), storage and the front-end network, wholesale
colocation at megawatt scale (the IT power the cluster provisions is in the table below), energy,
maintenance and spares, insurance and property tax, operations staff, and the weeks of setup
and burn-in before it earns anything.
"""),
    ("code", r"""
own = E.owned_cost_band("MI300X")            # the Monte Carlo P50 and band (E.OWNED_COST_DRAWS draws, numba kernel)
own_mode = E.owned_cost_per_gpu_hour("MI300X")                  # the point estimate: every input at its mode
s_own = E.sample_parameters(N_MC, SEED, "MI300X", E.OWNED_PARAMS)
s_own["tdp_W"] = E.owned_inputs("MI300X")["tdp_W"]
capex = E.band(np.asarray(E.owned_components(s_own)["capex"]) * N_GPUS)
pw = E.cluster_power(N_GPUS, "MI300X")
bench = E.tco_benchmarks().filter(pl.col("accelerator") == "MI300X").row(0, named=True)
answer1 = pl.DataFrame({
    "quantity": ["cluster capex [million USD]", "IT power provisioned, hot spares included [MW]", "facility power, average [MW]",
                 "owned cost, Monte Carlo P50 [USD per useful GPU-hour]", "  point estimate: every input at its mode",
                 f"  external: {bench['entity'].split(' (')[0]}, {bench['date']:%b %Y} [USD per GPU-hour]"],
    "P50": [capex.p50 / 1e6, pw["it_provisioned_W"] / 1e6, pw["facility_average_W"] / 1e6, own.p50,
            own_mode.total_usd_per_gpu_hour, bench["usd_per_gpu_hour"]],
    "P5": [capex.p5 / 1e6, None, None, own.p5, None, None], "P95": [capex.p95 / 1e6, None, None, own.p95, None, None],
})
il.charts.headline_table(
    answer1, f"What ZAYA1's {N_GPUS:,}-GPU MI300X cluster cost to build, and a useful GPU-hour on it",
    subtitle="Monte Carlo over every input at once; P50 = median, P5–P95 = the middle 90 % of outcomes",
    highlight=pl.col("quantity").str.starts_with("owned cost"),
    sources=["inputs: data/economics/parameters.csv (a source URL per row)",
             f"external figure: {bench['entity']}, data/economics/tco_benchmarks.csv"])
"""),
    ("code", r"""
md(f"**Answer.** Building the cluster cost about **${capex.fmt('{:,.1f}', 1e6)}M** (P50, P5–P95) and a useful "
   f"GPU-hour on it **${own.fmt()}** (the Monte Carlo P50, P5–P95). The point estimate, every input at its "
   f"mode, is ${own_mode.total_usd_per_gpu_hour:.2f}, {'below' if own_mode.total_usd_per_gpu_hour < own.p50 else 'above'} "
   f"the median, because the defaults are the modes of right-skewed ranges. The one published owned-cost figure "
   f"for MI300X, ${bench['usd_per_gpu_hour']:.2f} from the industry research firm {bench['entity'].split(' (')[0]} "
   f"({bench['date']:%b %Y}, paywalled, grade {bench['grade']}), lies "
   f"{'below our P5' if bench['usd_per_gpu_hour'] < own.p5 else 'inside our band' if bench['usd_per_gpu_hour'] <= own.p95 else 'above our P95'}: "
   f"a hyperscaler-scale estimate whose inputs are not public; this cluster is small and its opex items are "
   f"assumptions (grade A below).")
il.charts.headline_table(
    own_mode.breakdown, "The owned cost of a useful GPU-hour, item by item: the point estimate (every input at its mode)",
    subtitle=f"point estimate: total ${own_mode.total_usd_per_gpu_hour:.2f} per useful GPU-hour (not the Monte Carlo P50 "
             f"${own.p50:.2f})", labels={"usd_per_gpu_hour": "cost"},
    units={"usd_per_gpu_hour": "USD/GPU-h"}, decimals={"usd_per_gpu_hour": 3}, percent=["share"],
    sources="inputs: data/economics/parameters.csv (a source URL per row)")
"""),
    ("md", r"""
**Which owned-cost figure?** This notebook prints three owned costs of a useful MI300X GPU-hour.
All three count the same items with the same formula; they differ in how the inputs are taken:
the *point estimate* takes every input at its mode, the *Monte Carlo P50* draws every input over
its range (the purchase price from AMD's selling price to a distributor's listing: this cluster's
headline), and the *like-for-like P50* holds the purchase price at the baseboard listing, the one
channel every accelerator has a price on (section 5, and the owned price notebooks 06, 07 and 09
and `run_cost(..., "owned")` read). The bridge below walks from one to the next.
"""),
    ("code", r"""
figs = E.owned_cost_figures("MI300X")
assert figs["usd_per_gpu_hour"][1] == own.p50 and figs["usd_per_gpu_hour"][0] == own_mode.total_usd_per_gpu_hour
display(il.charts.headline_table(
    figs.select("figure", "usd_per_gpu_hour", "p5", "p95", "purchase_price", "other_inputs", "call"),
    "Which owned-cost figure? Three owned costs of a useful MI300X GPU-hour",
    subtitle="the same cost items and formula; only how the inputs are taken differs",
    labels={"usd_per_gpu_hour": "owned cost", "purchase_price": "purchase price", "other_inputs": "the other inputs"},
    units={"usd_per_gpu_hour": "USD/GPU-h", "p5": "USD/GPU-h", "p95": "USD/GPU-h"},
    decimals={"usd_per_gpu_hour": 3, "p5": 3, "p95": 3}, highlight=pl.col("figure") == "Monte Carlo P50",
    sources="il.economics.owned_cost_figures"))
bridge = E.owned_cost_bridge("MI300X")
il.charts.headline_table(
    bridge.select("step", "change_usd_per_gpu_hour", "usd_per_gpu_hour", "what"),
    "From the point estimate to the like-for-like P50, one change at a time",
    subtitle="the changes sum to the difference between the first and last figures",
    labels={"change_usd_per_gpu_hour": "change", "usd_per_gpu_hour": "owned cost after the step"},
    units={"change_usd_per_gpu_hour": "USD/GPU-h", "usd_per_gpu_hour": "USD/GPU-h"},
    decimals={"change_usd_per_gpu_hour": 3, "usd_per_gpu_hour": 3}, sources="il.economics.owned_cost_bridge")
"""),
    ("code", r"""
show = ["label", "value", "low", "high", "grade", "basis"]
used = [*E.owned_input_names(), "depreciation_ooms_per_year"]   # what the owned cost reads; the value decay: sections 4 and 6
E.parameter_table().filter(pl.col("scope").is_in(["all", "MI300X"]) & pl.col("name").is_in(used)).select(
    show).unique(subset=["label"], keep="last", maintain_order=True)
"""),
    ("md", r"""
Sources: every row's `source_url` in `data/economics/parameters.csv` (purchase price: an estimate
of AMD's average selling price by analysts at the bank Citi, via svethardware.cz (the range Epoch AI's open AMD chip-count
model also adopts), and a distributor's baseboard listing in Epoch
AI's price data; colocation: Encor Advisors relaying CBRE, and CBRE's H2 2024 report; power: Epoch
AI's cost model and the US Energy Information Administration). The external figure:
`data/economics/tco_benchmarks.csv`. The back-end network is priced per port (NIC, switch ports
and optics per GPU); Epoch AI's alternative, a fixed share of the cluster's cost
(`interconnect_fraction`, `network="fraction"`), is not used here, so it is not in the table.

## 2. What does Zyphra pay?

A developer does not buy the GPU-hours of its final run: it contracts the cluster for months and
spends them on ablations, smaller runs, evaluation and the final run. Zyphra's bill is
contracted GPU-months × the contract price. Neither is public: the months run from the earliest
date seen in IBM's capacity tooling for this cluster (18 Aug 2025) to the technical report (21 Nov
2025) at the least, and up to a year; the price ranges over dedicated-contract rates for MI300X.
The final run's GPU-hours come from the training model; its goodput losses from the reliability model.
"""),
    ("code", r"""
zs = E.sample_parameters(N_MC, SEED, "MI300X", ["zyphra_contract_months", "contract_usd_per_gpu_hour"])
hours_bought = N_GPUS * zs["zyphra_contract_months"] * E.HOURS_PER_MONTH
bill = E.band(hours_bought * zs["contract_usd_per_gpu_hour"])
run_paid_gh = run_gh / goodput       # the hours the run took of the contract: its work plus its failures' losses
share = E.band(run_paid_gh / hours_bought)
final_cost = E.band(run_paid_gh * zs["contract_usd_per_gpu_hour"])
zaya = il.models.get("zaya1-base")
xc_gh = E.gpu_hours_for(E.training_flop(zaya.published_params_active, TOKENS), "MI300X", P["mfu"].value)
answer2 = pl.DataFrame({
    "quantity": ["Zyphra's bill [million USD]", "contracted months [months]", "GPU-hours bought [million]",
                 "final run incl. goodput losses [share of hours bought]",
                 "final run incl. goodput losses at the contract price [thousand USD]",
                 "final run GPU-hours, training model [thousand]",
                 f"cross-check: 6·N·D ÷ (peak × MFU {P['mfu'].value:g}) [thousand GPU-hours]"],
    "P50": [bill.p50 / 1e6, float(np.median(zs["zyphra_contract_months"])), float(np.median(hours_bought)) / 1e6, share.p50, final_cost.p50 / 1e3, run_gh / 1e3, xc_gh / 1e3],
    "P5": [bill.p5 / 1e6, float(np.percentile(zs["zyphra_contract_months"], 5)), float(np.percentile(hours_bought, 5)) / 1e6, share.p5, final_cost.p5 / 1e3, None, None],
    "P95": [bill.p95 / 1e6, float(np.percentile(zs["zyphra_contract_months"], 95)), float(np.percentile(hours_bought, 95)) / 1e6, share.p95, final_cost.p95 / 1e3, None, None],
})
il.charts.headline_table(
    answer2, "What Zyphra pays, and what the final ZAYA1 run took of it",
    subtitle=f"contract months and price sampled over their ranges ({N_MC:,} draws); the run's GPU-hours from il.estimate",
    highlight=[0], sources="contract months and price: data/economics/parameters.csv (a source URL per row)")
"""),
    ("code", r"""
zb = E.zyphra_bill(run_gh, goodput=goodput)      # at the default months and price, for the picture
mfu_conv = {r["convention"]: r for r in est.mfu_table().iter_rows(named=True)}
flop_gap = mfu_conv["executed"]["flops_per_step"] / mfu_conv["6N"]["flops_per_step"]   # executed / 6·N per step
mfu_exec = mfu_conv["executed"]["mfu"]
md(f"**Answer.** Zyphra's bill is about **${bill.fmt('{:,.1f}', 1e6)}M**; the final run used **{share.fmt('{:.1%}')}** "
   f"of the hours bought (${final_cost.fmt('{:,.0f}', 1e3)}k at the contract price, its goodput losses included). The rest paid for "
   f"everything else a model needs. The textbook 6·N·D estimate at a typical MFU gives {xc_gh / run_gh:.2f}× the "
   f"training model's GPU-hours, a gap of {run_gh / xc_gh:.1f}× with two parts: FLOPs and utilization. 6·N·D leaves out "
   f"attention and most of the output layer over a {zaya.vocab / 1e3:,.0f}k-token vocabulary; the FLOPs the model "
   f"executes per step are {flop_gap:.2f}× 6·N·D. The rest, {run_gh / xc_gh / flop_gap:.2f}×, is utilization: the "
   f"model runs ZAYA1's small-active MoE at {mfu_exec:.1%} of peak (executed FLOPs; notebook 04), against the "
   f"typical {P['mfu'].value:.1%} the textbook figure assumes. So 6·N·D at a typical MFU is only a cross-check here.")
il.charts.bill_chart(zb.frame(), title=f"Zyphra's bill at the default {zb.months:g} months and ${zb.price_usd_per_gpu_hour:.3f}/GPU-h")
"""),
    ("md", r"""
## 3. Rent or own — for whom?

For a renter the choice is between owning (fixed cost F every calendar hour, energy E per busy
hour) and renting. **On demand** the renter pays P per used hour: owning wins above a utilization
U* = F / (P − E). **Committed** (a reserved term or a dedicated contract) the renter pays P for
every hour: owning wins wherever F + E·U < P — at every utilization when F + E < P. The
decision maker here is a developer like Zyphra, and owning also means the capex above, a data
hall and an operations team; IBM's side is section 4.
"""),
    ("code", r"""
def listing(price):   # the committed MI300X listing a contract_usd_per_gpu_hour value is (data/cloud_prices.csv)
    r = E.rental_prices("MI300X").filter((pl.col("price_usd_per_gpu_hour") == price) & (pl.col("term") != "on-demand"))
    return f"{r['provider'][0]} {r['term'][0]}" if r.height else "no single listing"


CP = P["contract_usd_per_gpu_hour"]
prices = [(f"dedicated contract, low ({listing(CP.low)})", CP.low, True),
          (f"dedicated contract, mode ({listing(CP.value)})", CP.value, True),
          (f"dedicated contract, high ({listing(CP.high)})", CP.high, True),
          ("on demand, median list price (cloud_price)", E.cloud_price("MI300X"), False)]
# the same comparison under uncertainty: share of draws in which owning is cheaper at utilization U_CMP
U_CMP = 0.9
draws = E.sample_parameters(4000, SEED, "MI300X", [n for n in E.OWNED_PARAMS if n != "utilization"])
draws.update(tdp_W=E.owned_inputs("MI300X")["tdp_W"], utilization=U_CMP)
c = E.owned_components(draws)
rows = []
for label, p, com in prices:
    r = E.rent_vs_own(p, committed=com)
    rent_cost = p / U_CMP if com else p
    rows.append({"price": label, "USD per GPU-hour": p, "owning wins": r.owning_wins,
                 "threshold utilization [fraction]": None if r.owning_wins in ("always", "never") else r.threshold_utilization,
                 f"share of draws where owning is cheaper at {U_CMP:.0%} utilization": float(np.mean(np.asarray(c["total"]) < rent_cost))})
answer3 = pl.DataFrame(rows)
il.charts.headline_table(
    answer3, "Rent or own: when owning ZAYA1's MI300X cluster is cheaper than renting it",
    subtitle="threshold: the utilization above which owning wins on demand; the last column samples the owned cost",
    percent=["threshold utilization [fraction]", f"share of draws where owning is cheaper at {U_CMP:.0%} utilization"],
    labels={"USD per GPU-hour": "rent", "threshold utilization [fraction]": "threshold utilization"},
    units={"USD per GPU-hour": "USD/GPU-h"}, decimals={"USD per GPU-hour": 3},
    sources="prices: data/cloud_prices.csv (a URL per row); owned cost as in section 1")
"""),
    ("code", r"""
od = E.rent_vs_own(E.cloud_price("MI300X"))
com = E.rent_vs_own(P["contract_usd_per_gpu_hour"].value, committed=True)
md(f"**Answer.** Against a commitment, {com.text}. Against the median on-demand list price, {od.text}. "
   f"At {N_GPUS:,}-GPU scale the market is contracts, so for a developer that can raise ${capex.p50 / 1e6:,.0f}M and run a "
   f"data hall, owning is cheaper; Zyphra's real choice was between contract offers.")
curve = E.rent_vs_own_curve({f"{lab} ${p:.2f}": p for lab, p, _ in prices}, "MI300X",
                            committed=[f"{lab} ${p:.2f}" for lab, p, c in prices if c])
il.charts.rent_vs_own_chart(curve, y_max=8.0)
"""),
    ("md", r"""
Sources: contract and list prices in `data/cloud_prices.csv` (Azure's retail price API,
DigitalOcean's price page, and others, one URL per row); owned cost as in section 1.

## 4. IBM's return as the operator

IBM buys the cluster, rents it to Zyphra on a dedicated contract, then re-leases it. Three rent
paths bracket what happens next: a **flat** price with the sold share tied to the price (a list
price far above the market sells few hours); **decay**, where after the contract the rent follows
Epoch AI's price-performance trend for AI hardware (a fixed GPU's market value falls by
`depreciation_ooms_per_year` orders of magnitude a year, in the parameter table of section 1); and **rebound**, where the market rent first rises as H100
one-year contracts did between October 2025 and June 2026, then decays. The horizon is IBM's own
book life for IT equipment from its 10-K; the residual value at the end follows the same value
curve. IBM stops renting out the GPUs at the end of the last year whose cash margin (rent less
energy and opex) is positive and sells them then at that residual value, rather than paying to keep
them running (`retire="when_unprofitable"`, the default; `retire=None` runs them to the horizon).
All returns are pre-tax and unlevered.
"""),
    ("code", r"""
ibm_life = P["ibm_book_life_years"].value
v = E.sample_parameters(N_MC, SEED, "MI300X", [*E.OWNED_PARAMS, *E.OPERATOR_PARAMS], fixed={"ibm_book_life_years": ibm_life})
v["tdp_W"] = E.owned_inputs("MI300X")["tdp_W"]
rows, paths, flows, retired = [], [], [], {}
for path in E.PATHS:
    r = E.operator_cash_flows(v, path=path, years=ibm_life)
    irr = E.band(np.nan_to_num(E.irr_array(r["annual"]), nan=-1.0))      # never repaid -> -100 %
    npv = E.band(np.sum(r["annual"] / (1 + v["cost_of_capital"][:, None]) ** np.arange(r["annual"].shape[1]), axis=1))
    rows.append({"rent path": path, "IRR P50": irr.p50, "IRR P5": irr.p5, "IRR P95": irr.p95,
                 "NPV per GPU P50 [USD]": npv.p50,
                 "payback P50 [years]": E.payback_band(r["payback"]).p50,     # inf: never repaid
                 "share of draws repaid within the horizon": float(np.mean(np.isfinite(r["payback"]))),
                 "share of draws retired early": float(np.mean(r["end_years"] < ibm_life))})
    pv = E.provider_view(path=path)       # the same path at the default inputs, for the charts
    paths.append(pl.DataFrame({"t_years": pv.monthly["t_years"], "price_usd_per_gpu_hour": pv.monthly["price"],
                               "case": path}))
    flows.append(pv.cash_flow_frame().with_columns(pl.lit(path).alias("case")))
    retired[path] = pv.retirement_year
answer4 = pl.DataFrame(rows).with_columns(pl.col(pl.Float64).round(3))
il.charts.headline_table(
    answer4, f"IBM's return on the cluster over its {ibm_life:g}-year book life, by rent path",
    subtitle=f"pre-tax, unlevered; every input sampled over its range ({N_MC:,} draws); payback P50 inf: the median "
             "draw's operating cash does not repay the capex within the horizon (resale not counted); "
             "retired early: stopped after its last year with a positive cash margin",
    percent=["IRR P50", "IRR P5", "IRR P95", "share of draws repaid within the horizon", "share of draws retired early"],
    labels={"IRR P50": "IRR P50, per year", "IRR P5": "IRR P5, per year", "IRR P95": "IRR P95, per year"},
    highlight=pl.col("rent path") == "decay",
    sources=["book life: IBM's 10-K; rent trend: Epoch AI (depreciation_ooms_per_year)",
             "every input: data/economics/parameters.csv (a source URL per row)"])
"""),
    ("code", r"""
a4 = {r["rent path"]: r for r in answer4.iter_rows(named=True)}
trend = E.rental_trend("H100 SXM")
md(f"**Answer.** Over IBM's {ibm_life:g}-year book life, if rents decay after the contract the pre-tax, "
   f"unlevered IRR is **{a4['decay']['IRR P50']:.0%}** (P5–P95 {a4['decay']['IRR P5']:.0%} to {a4['decay']['IRR P95']:.0%}), "
   f"{'below' if a4['decay']['IRR P50'] < P['cost_of_capital'].value else 'above'} the {P['cost_of_capital'].value:.0%} "
   f"cost of capital at the median; a 2026-style rebound (the market rent "
   f"{signed(P['rent_rebound_fraction'].value, 0, percent=True)} over the year after the contract, range {signed(P['rent_rebound_fraction'].low, 0, percent=True)} to "
   f"{signed(P['rent_rebound_fraction'].high, 0, percent=True)}, then the decay again) lifts it to "
   f"{a4['rebound']['IRR P50']:.0%}, and holding the contract-level price flat with the sold share tied to it gives "
   f"{a4['flat']['IRR P50']:.0%}. At the default inputs, "
   + "; ".join(f"on the {p} path the GPUs " + ("earn their cash costs to the horizon" if y is None else
               f"stop earning their cash costs after year {y:g} and are retired then")
               for p, y in retired.items())
   + f" ({a4['decay']['share of draws retired early']:.0%} of the decay path's draws retire before year {ibm_life:g}). "
   f"Within a provider, listed H100 prices did not fall (Epoch AI's records: "
   f"{signed(trend['change_per_year'], 0, percent=True)} a year ± {trend['se']:.0%}): the decay is in market and contract prices, not list prices.")
display(il.charts.rent_path_chart(pl.concat(paths), title="Rent paths at the default inputs [USD per sold GPU-hour]"))
il.charts.cashflow_chart(pl.concat(flows).select("year", "cumulative_usd", "case"))
"""),
    ("md", r"""
**The other retirement rule.** The default rule above stops the GPUs after their last year with a
positive cash margin; it reads cash margins only. `retire="max_npv"` (`il.economics.RETIRE_RULES`)
sells them instead after the year that maximizes the NPV, weighing each year's margin against the
fall of their resale value over that year (the abandonment rule of replacement analysis);
`retire=None` runs them to the horizon. The cell below runs all three on the same draws and at
the defaults, and prints what `max_npv` would change and what it rests on.
"""),
    ("code", r"""
RULES = {"when_unprofitable (default)": "when_unprofitable", "max_npv": "max_npv", "none: to the horizon": None}
rrows = []
for path in E.PATHS:
    for label, rule in RULES.items():
        r = E.operator_cash_flows(v, path=path, years=ibm_life, retire=rule)
        irr_r = E.band(np.nan_to_num(E.irr_array(r["annual"]), nan=-1.0))
        npv_r = E.band(np.sum(r["annual"] / (1 + v["cost_of_capital"][:, None]) ** np.arange(r["annual"].shape[1]), axis=1))
        pv_r = E.provider_view(path=path, retire=rule)
        rrows.append({"rent path": path, "retire rule": label, "IRR P50 [per year]": irr_r.p50,
                      "NPV per GPU P50 [USD]": npv_r.p50, "mean years run [years]": float(np.mean(r["end_years"])),
                      "sale price P50 [share of capex]": float(np.median(r["residual"] / r["capex"])),
                      "retired after, defaults [years]": pv_r.retirement_year,
                      "margin with resale, defaults [USD/GPU-h]": pv_r.margin_with_resale_usd_per_gpu_hour})
rules = pl.DataFrame(rrows, schema_overrides={"retired after, defaults [years]": pl.Float64})
display(il.charts.headline_table(
    rules, "IBM's return under each retirement rule, same draws",
    subtitle=f"pre-tax, unlevered; {N_MC:,} draws; 'defaults': every input at its mode; retired after: empty = to the horizon",
    percent=["IRR P50 [per year]", "sale price P50 [share of capex]"], highlight=pl.col("retire rule").str.starts_with("when"),
    labels={"IRR P50 [per year]": "IRR P50, per year", "sale price P50 [share of capex]": "sale price P50, share of capex"},
    sources="every input: data/economics/parameters.csv (a source URL per row)"))
rl = {(r["rent path"], r["retire rule"]): r for r in rules.iter_rows(named=True)}
dflt, mx = rl[("decay", "when_unprofitable (default)")], rl[("decay", "max_npv")]
gain_irr = {pth: rl[(pth, "max_npv")]["IRR P50 [per year]"] - rl[(pth, "when_unprofitable (default)")]["IRR P50 [per year]"]
            for pth in E.PATHS}
nosale = E.provider_view(path="decay", retire="max_npv", value_curve="none")
usd = lambda x: f"{'−' if x < 0 else ''}${abs(x):,.0f}"  # noqa: E731
assert all(rl[(pth, "max_npv")]["NPV per GPU P50 [USD]"] >= rl[(pth, "when_unprofitable (default)")]["NPV per GPU P50 [USD]"] - 1e-6
           for pth in E.PATHS), "max_npv maximizes each draw's NPV over the sale year: its median cannot be below the default's"
md(f"**What `max_npv` would change.** On the decay path it runs the GPUs {mx['mean years run [years]']:.1f} years on "
   f"average against {dflt['mean years run [years]']:.1f} under the default, and moves the median IRR from "
   f"{dflt['IRR P50 [per year]']:.0%} to {mx['IRR P50 [per year]']:.0%} and the median NPV from "
   f"{usd(dflt['NPV per GPU P50 [USD]'])} to {usd(mx['NPV per GPU P50 [USD]'])} per GPU; on the other paths the IRR moves by "
   + ", ".join(f"{signed(g * 100)} points ({pth})" for pth, g in gain_irr.items() if pth != "decay") + ". "
   f"**Why it is not the default.** The gain comes from selling earlier at the value curve's price: the median sale under "
   f"`max_npv` fetches {mx['sale price P50 [share of capex]']:.0%} of the purchase price, against "
   f"{dflt['sale price P50 [share of capex]']:.0%} under the default. That price is Epoch AI's price-performance decay "
   f"(`depreciation_ooms_per_year`), not a quote: no public market prices used MI300X in volume, so the rule would "
   f"lean on a number this lab cannot check. With no resale value at all (`value_curve='none'`) `max_npv` at the "
   f"defaults "
   + ("sells after year 1, the first year it may" if nosale.retirement_year == 1.0 else
      "runs to the horizon" if nosale.retirement_year is None else f"sells after year {nosale.retirement_year:g}")
   + f" and the NPV is {usd(nosale.npv_usd_per_gpu)} per GPU: the rule is only as good as the sale price it assumes.")
"""),
    ("md", r"""
**IBM's NPV against the contract price, under each rule.** A reader who raises the rent (the
explorer's slider in section 10 does) expects the operator's NPV to rise with it. Under the
default rule it can fall: a higher rent keeps the GPUs running one more year whose cash margin is
barely positive, and that year is worth less than what the GPUs lose in resale value over it plus
the return forgone on the money they would fetch a year earlier. The cash rule does not weigh
that (it reads cash margins only), so at each price where the retirement year moves the NPV steps
down. `retire="max_npv"` (the best sale year at every price) and `retire=None` (a fixed horizon)
rise with the rent everywhere. The cell below sweeps the contract price over its range in
`parameters.csv` at every other input's default.
"""),
    ("code", r"""
pc = P["contract_usd_per_gpu_hour"]
grid = np.round(np.arange(pc.low, pc.high + 1e-9, 0.02), 3)
sweep = pl.DataFrame([{"contract price [USD/GPU-h]": float(x), "retire rule": label,
                       "NPV per GPU [USD]": (pv := E.provider_view(float(x), path="decay", retire=rule)).npv_usd_per_gpu,
                       "years run": pv.operating_years}
                      for label, rule in RULES.items() for x in grid])
by = {label: sweep.filter(pl.col("retire rule") == label) for label in RULES}
for label in ("max_npv", "none: to the horizon"):
    assert np.all(np.diff(by[label]["NPV per GPU [USD]"].to_numpy()) >= -1e-6), f"{label}: NPV must rise with the rent"
d = by["when_unprofitable (default)"]
npv_d, yrs_d, x_d = (d[c].to_numpy() for c in ("NPV per GPU [USD]", "years run", "contract price [USD/GPU-h]"))
falls = [(x_d[i], x_d[i + 1], npv_d[i], npv_d[i + 1], yrs_d[i], yrs_d[i + 1])
         for i in range(len(x_d) - 1) if npv_d[i + 1] < npv_d[i] - 1e-6]
assert all(b > a for *_, a, b in falls), "every fall of the default rule's NPV comes with one more year run"
md(f"Over the contract range (${pc.low:.2f}–${pc.high:.2f} per GPU-hour, {len(grid)} prices) the default rule's NPV "
   + (f"falls as the rent rises at {len(falls)} points: "
      + "; ".join(f"${a:.2f} → ${b:.2f}: {usd(na)} → {usd(nb)} per GPU (run {ya:g} → {yb:g} years)"
                  for a, b, na, nb, ya, yb in falls)
      + f". Read the default's NPV (and IRR) near those prices as a step, not a slope: a step of up to "
      f"{usd(max(na - nb for _, _, na, nb, _, _ in falls))} per GPU comes from the retirement year, not the rent. `max_npv` "
      f"and `retire=None` rise with the rent at every price of the grid (asserted above)." if falls
      else "rises with the rent at every price of the grid."))
il.charts.efficiency_lines_chart(sweep, "contract price [USD/GPU-h]", "NPV per GPU [USD]", "retire rule", log_x=False,
                                 x_title="contract price [USD per GPU-hour]", y_title="IBM's NPV on the decay path [USD per GPU]",
                                 title="IBM's NPV against the contract price, by retirement rule (other inputs at their defaults)")
"""),
    ("md", r"""
Sources: IBM's book life — IBM's 10-K (the span it files for information technology equipment,
whose upper end is the book life: the IBM row of the filed lives in section 9);
Epoch AI's price-performance trend (`depreciation_ooms_per_year`); the rebound from H100 one-year
contract prices in `data/cloud_prices.csv` (SemiAnalysis, an industry research firm, as relayed);
the sold share after the contract and its elasticity are assumptions (grade A).

## 5. AMD vs NVIDIA per trained token, like for like

Throughput comes from the training model: the same ZAYA1 scenario with only the accelerator (and
its NIC: the catalog's default NIC of the part, `il.catalog.default_nic` — ConnectX-7 on the DGX H100, H200 and B200, Pollara 400 on AMD parts as on the ZAYA1 cluster — line rate in the table, the same NIC notebook 04's explorer uses) swapped, each with the best plan `il.search` finds — so software efficiency is
whatever the training model says it is for each stack, with no separate factor. Owned: every
accelerator at a distributor's listing of its 8-GPU baseboard, plus the same host, per-port
network and opex (common random numbers). Rented: only prices of the same provider and term.
The like-for-like owned P50 column is the owned price of a GPU-hour in the later notebooks' comparisons: the
Monte Carlo median on this basis (`il.economics.owned_gpu_hour_price`, not the all-defaults
value), which notebook 06 prices the failures' GPU-hours with, notebook 07 served tokens and
notebook 09 its multimodal runs (notebook 08 prices its options on analysts' selling prices and
prints this figure beside its own). Sections 1, 2 and 6 price ZAYA1's own cluster on its own
draws (the purchase price from AMD's selling price to a distributor's listing), so their owned
figure is lower.
"""),
    ("code", r"""
thr = E.training_throughput(sc, ["MI300X", "H100", "H200", "MI355X", "B200"])
tps = dict(zip(thr["accelerator"], thr["tokens_per_s_per_gpu"], strict=True))
# the like-for-like draws (E.LIKE_FOR_LIKE_DRAWS, E.LIKE_FOR_LIKE_SEED): owned_p50 is E.owned_gpu_hour_price,
# the owned $/GPU-h notebooks 07 and 09 price served tokens and multimodal runs with
owned5 = E.compare_owned({a: tps[a] for a in ("MI300X", "H100-SXM", "H200-SXM", "B200")},
                         n=E.LIKE_FOR_LIKE_DRAWS, seed=E.LIKE_FOR_LIKE_SEED)
assert all(E.owned_gpu_hour_price(a) == p for a, p in zip(owned5["accelerator"], owned5["owned_p50"], strict=True))
display(il.charts.headline_table(
    thr.select("accelerator", "nic", pl.col("nic").map_elements(lambda n: il.catalog.nic(n).line_rate_bps / 1e9,
                                                                  return_dtype=pl.Float64).alias("NIC [Gb/s]"),
               "tokens_per_s_per_gpu", "mfu", "plan", "stack"),
    "Training throughput of ZAYA1 by accelerator: each one's best plan (il.search)",
    subtitle="the same scenario with the accelerator and its default NIC swapped; MFU against each part's dense BF16 peak",
    labels={"nic": "NIC", "tokens_per_s_per_gpu": "throughput", "mfu": "MFU"},
    units={"tokens_per_s_per_gpu": "tokens/s/GPU"}, decimals={"NIC [Gb/s]": 0, "tokens_per_s_per_gpu": 0},
    percent=["mfu"], highlight=pl.col("accelerator") == "MI300X",
    sources="il.economics.training_throughput (il.search on the scenario zaya1-ibm-mi300x)"))
il.charts.headline_table(
    owned5.select("accelerator", "purchase_price_usd_per_gpu", "price_date", pl.col("owned_p50").alias("like-for-like owned P50 [USD/GPU-h]"),
                  "usd_per_m_tokens_p50", *(pl.col(f"ratio_{q}").alias(f"cost per token / MI300X's, {q.upper()} [-]")
                                            for q in ("p5", "p50", "p95"))),
    "Owned, like for like: cost per trained ZAYA1 token by accelerator",
    subtitle="baseboard listings, the same host, per-port network and opex; throughput from il.search on the scenario",
    labels={"purchase_price_usd_per_gpu": "baseboard listing", "price_date": "listed",
            "usd_per_m_tokens_p50": "cost per M trained tokens, P50"},
    units={"usd_per_m_tokens_p50": "USD/M tokens"}, highlight=pl.col("accelerator") == "MI300X",
    sources="prices: data/economics/purchase_prices.csv (Epoch AI's hardware-price data; a URL per row)")
"""),
    ("code", r"""
def rent_pairs(a, b):
    m = E.matched_rents(a, b).filter(pl.col("term") != "spot")
    return m.with_columns(
        (pl.col("price_a") / pl.col("price_b") * tps[il.catalog.canonical_accelerator(b)]
         / tps[il.catalog.canonical_accelerator(a)]).alias("cost per token, a / b"),
        (pl.col("price_a") * tps[il.catalog.canonical_accelerator(b)] / tps[il.catalog.canonical_accelerator(a)])
        .alias("parity rent of b [USD/GPU-h]"))

def show_pairs(m, a, b):     # the same table with the accelerators and units in the column names
    return m.rename({"price_a": f"{a} rent [USD/GPU-h]", "date_a": f"{a} observed", "price_b": f"{b} rent [USD/GPU-h]",
                     "date_b": f"{b} observed", "ratio_b_over_a": f"rent {b} / {a} [-]",
                     "cost per token, a / b": f"cost per token, {a} / {b} [-]",
                     "parity rent of b [USD/GPU-h]": f"parity rent of {b} [USD/GPU-h]"}).with_columns(pl.col(pl.Float64).round(3))

rent_h100, rent_b200 = rent_pairs("MI300X", "H100"), rent_pairs("MI355X", "B200")
display(show_pairs(rent_h100, "MI300X", "H100"))
show_pairs(rent_b200, "MI355X", "B200")
"""),
    ("code", r"""
# Per SERVED token: measured, not modelled — published serving runs of MI300X and H200 made the
# same way (same source, model, engine, lengths, concurrency, precision, GPUs), priced at the
# same provider's and term's rents.
served = E.matched_serving("MI300X", "H200")
rents_h200 = E.matched_rents("MI300X", "H200").filter(pl.col("term") != "spot")
grid = served.join(rents_h200.select("provider", "term", "price_a", "price_b"), how="cross").with_columns(
    (pl.col("price_a") / pl.col("price_b") * pl.col("ratio_b_over_a")).alias("MI300X / H200 cost per served token"))
served_cost = grid["MI300X / H200 cost per served token"]
display(served.select("model", "engine", "concurrency", "tokens_per_s_per_gpu_a", "tokens_per_s_per_gpu_b",
                      "ratio_b_over_a", "source_grade").rename({"tokens_per_s_per_gpu_a": "MI300X tok/s/GPU",
                      "tokens_per_s_per_gpu_b": "H200 tok/s/GPU", "ratio_b_over_a": "H200 / MI300X tok/s [-]"}).with_columns(pl.col(pl.Float64).round(3)))
md(f"Served tokens (DeepSeek-R1, i.e. the {served['model'][0]} architecture, {served.height} matched points from one third-party benchmark, grade "
   f"{served['source_grade'][0]}): H200 serves {served['ratio_b_over_a'].median():.2f}× MI300X's output tokens per GPU "
   f"at the median point ({served['ratio_b_over_a'].min():.2f}–{served['ratio_b_over_a'].max():.2f}); at the same "
   f"provider's and term's rents MI300X costs {served_cost.median():.2f}× H200 per served token "
   f"({served_cost.min():.2f}–{served_cost.max():.2f} over points and price pairs).")
"""),
    ("code", r"""
o = {r["accelerator"]: r for r in owned5.iter_rows(named=True)}
contract = rent_h100.filter(pl.col("term") != "on-demand")
b200_p50 = o["B200"]["usd_per_m_tokens_p50"]
be355 = E.break_even_capex("MI355X", b200_p50, tps["MI355X"], n=N_MC, seed=SEED)
mi355_asp = E.parameters("MI355X")["capex_usd_per_gpu"]
h200_parity = E.parity_price(P["contract_usd_per_gpu_hour"].value, tps["MI300X"], tps["H200-SXM"])
# the provider(s) and term(s) that list both MI355X and B200 (data/cloud_prices.csv), named from the data
b200_pairs = (", ".join(f"{r['provider']} {r['term']}" for r in rent_b200.iter_rows(named=True)) if rent_b200.height <= 2
              else f"median of {rent_b200.height} same-provider pairs")
word = lambda r: "cheaper" if r < 1 else "dearer"  # noqa: E731
answer5 = pl.DataFrame({
    "comparison": ["owned, baseboard listings: H100 / MI300X cost per token",
                   "owned, baseboard listings: H200 / MI300X cost per token",
                   "rented, same provider and term: MI300X / H100 cost per token (range over pairs)",
                   "H100 contract rent at which the two cost the same per token [USD/GPU-h] (range over pairs)",
                   f"H200 rent matching MI300X at ${P['contract_usd_per_gpu_hour'].value:.3f} [USD/GPU-h]",
                   f"rented, {b200_pairs}: MI355X / B200 cost per token",
                   "MI355X purchase price matching B200 owned per token [thousand USD] (P50, P5, P95)"],
    "value": [o["H100-SXM"]["ratio_p50"], o["H200-SXM"]["ratio_p50"],
              float(rent_h100["cost per token, a / b"].median()), float(contract["parity rent of b [USD/GPU-h]"].median()),
              h200_parity, float(rent_b200["cost per token, a / b"].median()), be355.p50 / 1e3],
    "low": [o["H100-SXM"]["ratio_p5"], o["H200-SXM"]["ratio_p5"], float(rent_h100["cost per token, a / b"].min()),
            float(contract["parity rent of b [USD/GPU-h]"].min()), None, None, be355.p5 / 1e3],
    "high": [o["H100-SXM"]["ratio_p95"], o["H200-SXM"]["ratio_p95"], float(rent_h100["cost per token, a / b"].max()),
             float(contract["parity rent of b [USD/GPU-h]"].max()), None, None, be355.p95 / 1e3],
})
il.charts.headline_table(
    answer5, "AMD vs NVIDIA per trained token, like for like",
    subtitle="ratios below 1: the first-named accelerator is cheaper per token; low–high: P5–P95 or the range over price pairs",
    sources=["rents: data/cloud_prices.csv (a URL per row); baseboard prices: data/economics/purchase_prices.csv",
             "MI355X price: HSBC's ASP estimate as reported (data/economics/parameters.csv)"])
"""),
    ("code", r"""
r_mi_h100 = float(rent_h100["cost per token, a / b"].median())
md(f"**Answer.** The training model puts MI300X at {tps['MI300X'] / tps['H100-SXM']:.2f}× H100's tokens per GPU-second "
   f"on this workload. Owned on the same channel, H100 is {word(o['H100-SXM']['ratio_p50'])} per token by "
   f"{abs(o['H100-SXM']['ratio_p50'] - 1):.0%} (P5–P95 {o['H100-SXM']['ratio_p5']:.2f}–{o['H100-SXM']['ratio_p95']:.2f}× MI300X) "
   f"and H200 {word(o['H200-SXM']['ratio_p50'])} by {abs(o['H200-SXM']['ratio_p50'] - 1):.0%}. Rented from the same "
   f"provider on the same term, MI300X costs {r_mi_h100:.2f}× H100 per token at the median pair: the two cost the same "
   f"per token when H100 contracts {'fall' if r_mi_h100 < 1 else 'rise'} to about "
   f"${float(contract['parity rent of b [USD/GPU-h]'].median()):.2f} per GPU-hour (an H200 would have to rent at "
   f"${h200_parity:.2f} to match MI300X at the contract mode). MI355X vs B200: "
   f"{float(rent_b200['cost per token, a / b'].median()):.2f}× per token at the same provider's rents ({b200_pairs}), "
   f"and owning MI355X matches "
   f"a B200 baseboard per token at a purchase price of ${be355.fmt('{:,.0f}', 1e3)}k, against an analyst ASP of "
   f"${mi355_asp.value / 1e3:,.0f}k (no channel price is public).")
bars = owned5.select("accelerator", pl.col("usd_per_m_tokens_p5").alias("p5"), pl.col("usd_per_m_tokens_p50").alias("p50"),
                     pl.col("usd_per_m_tokens_p95").alias("p95")).with_columns(
    (pl.col(["p5", "p50", "p95"]) * 1e3), pl.col("accelerator").alias("label"),
    pl.col("accelerator").map_elements(lambda a: il.catalog.accelerator(a).vendor, return_dtype=pl.String).alias("vendor"))
display(il.charts.interval_chart(bars, x_title="owned cost [USD per billion trained ZAYA1 tokens]", color="vendor",
                                 title="Owned, like for like: cost per trained token (P5–P95, P50 dot)"))
# The absolute bands overlap because every part is priced on the same draws of the uncertain inputs:
# the comparison is the ratio taken draw by draw (E.compare_owned's ratio_* columns, the table above),
# not the gap between two bands.
paired = owned5.filter(pl.col("accelerator") != "MI300X").select(
    pl.format("{} / MI300X", "accelerator").alias("label"), pl.col("ratio_p5").alias("p5"),
    pl.col("ratio_p50").alias("p50"), pl.col("ratio_p95").alias("p95"),
    pl.col("accelerator").map_elements(lambda a: il.catalog.accelerator(a).vendor, return_dtype=pl.String).alias("vendor"))
il.charts.interval_chart(paired, x_title="cost per trained token / MI300X's, paired draws [-]", color="vendor",
                         title="The same draws, paired: each part's cost per token over MI300X's (P5–P95, P50 dot)")
"""),
    ("code", r"""
md("The first chart's bands overlap although the parts differ: every part is priced on the same draws of the "
   "uncertain inputs (one seed, common random numbers) with its own listed price and modelled throughput held "
   "fixed, so a draw that makes MI300X dear makes the others dear too. Taken draw by draw (the second chart, the "
   "ratio columns of the table above), "
   + "; ".join(f"{r['label']} is {r['p5']:.2f}–{r['p95']:.2f}× (P5–P95, P50 {r['p50']:.2f})"
               for r in paired.iter_rows(named=True))
   + ": " + ("every band lies on one side of 1, so the order holds across the P5–P95 range."
             if all((r["p5"] - 1) * (r["p95"] - 1) > 0 for r in paired.iter_rows(named=True))
             else "a band that straddles 1 leaves that order open."))
"""),
    ("md", r"""
Sources: throughput — `il.search` on the scenario `zaya1-ibm-mi300x` with the accelerator swapped
(notebook 04 validates the training model); baseboard prices — Epoch AI's hardware-price data
(MI300X, H100, H200) and a buyers' guide (B200, grade S) in `data/economics/purchase_prices.csv`;
rents — `data/cloud_prices.csv`; MI355X's price — HSBC's ASP estimate as reported (grade S);
served tokens — dstack's published MI300X vs H200 DeepSeek-R1 benchmark in
`data/measurements/serving_benchmarks.csv` (a third party; the serving model of notebook 07 is
not used here).

## 6. The cluster's total cost of ownership over the hardware's filed lives

TCO = capex + operating costs − the residual value at the horizon, read from a value curve:
Epoch AI's decay (what the hardware would fetch) or straight-line book value. Shown as cash
(undiscounted) with its band; the present value at the cost of capital is beside it.
"""),
    ("code", r"""
TCO_H = P["tco_horizon_years"]     # the default horizon (a labelled assumption row) and its range: the filed lives
TCO_YEARS = list(range(int(TCO_H.low), int(TCO_H.high) + 1))
s_tco = E.sample_parameters(4000, SEED, "MI300X", E.OWNED_PARAMS)
s_tco["tdp_W"] = E.owned_inputs("MI300X")["tdp_W"]
rows = []
for curve in ("exponential", "straight-line"):
    for yrs in TCO_YEARS:
        t = E.tco_arrays(s_tco, yrs, value_curve=curve)
        b = E.band(sum(t["cash"].values()) * N_GPUS / 1e6)
        pvb = E.band(sum(t["pv"].values()) * N_GPUS / 1e6)
        rows.append({"years": yrs, "case": f"residual: {curve} value", "p5": b.p5, "p50": b.p50, "p95": b.p95,
                     "present value P50": pvb.p50})
answer6 = pl.DataFrame(rows).with_columns(pl.col(pl.Float64).round(1))
display(il.charts.headline_table(
    answer6, f"Total cost of ownership of the {N_GPUS:,}-GPU cluster, after the residual value",
    subtitle="cash, undiscounted, P5–P50–P95; the present value at the cost of capital beside it",
    labels={"p5": "P5", "p50": "P50", "p95": "P95"},
    units={c: "M USD" for c in ("p5", "p50", "p95", "present value P50")},
    highlight=(pl.col("years") == TCO_H.value) & pl.col("case").str.contains("exponential"),
    sources="every input: data/economics/parameters.csv (a source URL per row)"))
tco4 = answer6.filter((pl.col("years") == TCO_H.value) & pl.col("case").str.contains("exponential")).row(0, named=True)
md(f"**Answer.** The table spans {TCO_YEARS[0]}–{TCO_YEARS[-1]} years, the range of `tco_horizon_years` in "
   f"data/economics/parameters.csv (the short end of the critiques to the longest life filed for GPU servers). At its "
   f"default of {TCO_H.value:g} years (an assumption, grade {TCO_H.grade}) the cluster costs **${tco4['p50']:.1f}M** in cash (P5–P95 ${tco4['p5']:.1f}–{tco4['p95']:.1f}M), "
   f"${tco4['present value P50']:.1f}M in present value, after crediting the hardware's value at the end. The breakdown at "
   f"the defaults:")
display(il.charts.headline_table(
    E.tco(N_GPUS).select("component", (pl.col("usd") / 1e6).alias("cost"), "share"),
    f"{TCO_H.value:g}-year TCO of the {N_GPUS:,}-GPU cluster by item, every input at its default",
    subtitle="cash, undiscounted; the residual value is a credit (negative)", units={"cost": "M USD"},
    decimals={"cost": 2}, percent=["share"], sources="every input: data/economics/parameters.csv (a source URL per row)"))
il.charts.tco_band_chart(answer6.select("years", "case", "p5", "p50", "p95"))
"""),
    ("code", r"""
# What the hardware is worth later: the residual the TCO and IBM's sale use, against IBM's book value
DEC, LIFE_IBM = P["depreciation_ooms_per_year"], P["ibm_book_life_years"].value
ages = list(range(1, int(LIFE_IBM) + 1))
worth = pl.DataFrame({
    "age [years]": ages,
    **{f"market value, {k} decay ({d:g} OOM/yr)": [E.residual_value(1.0, a, "exponential", ooms_per_year=d) for a in ages]
       for k, d in (("slow", DEC.low), ("default", DEC.value), ("fast", DEC.high))},
    f"IBM book value ({LIFE_IBM:g}-year straight line)": [E.residual_value(1.0, a, "straight-line", life_years=LIFE_IBM)
                                                         for a in ages]})
display(il.charts.headline_table(
    worth, "What an MI300X is worth after purchase, as a share of its price",
    subtitle="market value: Epoch AI's price-performance decay over its range (no public market prices used MI300X "
             "in volume); book value: IBM's filed life", percent=[c for c in worth.columns if c != "age [years]"],
    sources="depreciation_ooms_per_year and ibm_book_life_years: data/economics/parameters.csv (a source URL per row)"))
w = {r["age [years]"]: r for r in worth.iter_rows(named=True)}
mv = [c for c in worth.columns if c.startswith("market value")]
bk = worth.columns[-1]
d2, d3 = (w[a][mv[1]] - w[a][bk] for a in (2, 3))
sign_word = lambda d: "a loss" if d < 0 else "a gain"  # noqa: E731
booked = (f"{'losses' if d2 < 0 else 'gains'} of {abs(d2):.0%} and {abs(d3):.0%} of the price" if (d2 < 0) == (d3 < 0)
          else f"{sign_word(d2)} of {abs(d2):.0%} and {sign_word(d3)} of {abs(d3):.0%} of the price")
md(f"**What the GPUs are worth later.** Two and three years after purchase an MI300X would fetch {w[2][mv[1]]:.0%} "
   f"and {w[3][mv[1]]:.0%} of its price on Epoch AI's trend ({w[2][mv[2]]:.0%}–{w[2][mv[0]]:.0%} and "
   f"{w[3][mv[2]]:.0%}–{w[3][mv[0]]:.0%} over the decay's range), while IBM's books carry {w[2][bk]:.0%} and "
   f"{w[3][bk]:.0%}: sold then at the default decay, IBM books {booked} (the deal's 'gain or loss on "
   f"the hardware's sale', section 7). The market side is the trend of the price of a FLOP, not a quote for a used MI300X.")
"""),
    ("md", r"""
## 7. Who makes money?

The deal P&L for each party, with every uncertain input sampled together (IBM's first contract
is Zyphra's, so IBM's contract revenue and Zyphra's bill agree). AMD's line counts GPUs at its
own selling price and the Pollara NICs; the hosts are Intel Xeon, so AMD sells no CPUs here.
Company scale comes from filings and releases (`data/economics/company_facts.csv`).
"""),
    ("code", r"""
deal = E.deal_pnl(run_gh, goodput=goodput, seed=SEED, n=N_MC)   # same draws as section 2: the same bill
answer7 = deal.table.select("party", "line", "p5", "p50", "p95", "unit", "how")
display(il.charts.headline_table(
    answer7, "Who makes money: the deal for AMD, IBM and Zyphra", subtitle=f"every uncertain input sampled together "
    f"({N_MC:,} draws); each row in its own unit", labels={"p5": "P5", "p50": "P50", "p95": "P95"},
    sources="company scale: data/economics/company_facts.csv (filings and releases, a URL per row)"))
md("**Not public, and what would narrow the ranges:**\n" + "\n".join(f"* {u}" for u in deal.unknowns))
"""),
    ("code", r"""
amd_tot, amd_share = deal.line("AMD", "total revenue"), deal.line("AMD", "share of 2024 Instinct revenue")
amd_op = deal.line("AMD", "operating profit at its data-centre segment margin")
ibm_irr, ibm_book = deal.line("IBM", "IRR (pre-tax, unlevered)"), deal.line("IBM", "book operating margin")
ibm_y1, ibm_ai = deal.line("IBM", "revenue in year 1"), deal.line("IBM", "year-1 revenue vs its generative-AI book")
z_bill = deal.line("Zyphra", "bill")
eps1, eps_w = (deal.line("IBM", f"book operating profit per IBM diluted share, {w}") for w in ("year 1", "worst year"))
eps_share, loss_years = deal.line("IBM", "year-1 book operating profit vs IBM's diluted EPS"), \
    deal.line("IBM", "years with a book operating loss (EPS-dilutive)")
cents = lambda b: f"{signed(b.p50, 2)} ({signed(b.p5, 2)} to {signed(b.p95, 2)}) cents"  # noqa: E731   (the lines are in US cents)
eps_md = (f"**Is it EPS-accretive?** Per IBM diluted share the cluster's book operating profit is {cents(eps1)} in year 1 "
          f"({eps_share.fmt('{:.1f}')} basis points of IBM's FY2025 diluted EPS) and {cents(eps_w)} in its worst year, with "
          f"{loss_years.p50:g} ({loss_years.p5:g}–{loss_years.p95:g}) years of book loss: "
          + ("accretive in its first year and dilutive in a later one at the median"
             if eps1.p50 > 0 > eps_w.p50 else "accretive in every year at the median" if eps_w.p50 > 0
             else "dilutive from its first year at the median")
          + (", and a fraction of a cent either way" if max(abs(eps1.p95), abs(eps_w.p5)) < 1.0 else
             f", up to {max(abs(eps1.p95), abs(eps_w.p5)):.1f} cents a share in a year (P5–P95)")
          + ". These are pre-tax and before interest: tax shrinks a year's profit "
          "or loss without changing its sign, so the sign holds after tax and the size is an upper bound; debt-funded "
          "capex would add interest and make every year more dilutive.")
md(f"**Answer.** AMD books about **${amd_tot.fmt('{:,.1f}', 1e6)}M** once — {amd_share.fmt('{:.2%}')} of its 2024 "
   f"Instinct revenue: a reference win more than a revenue event — and about ${amd_op.fmt('{:,.1f}', 1e6)}M of operating "
   f"profit at its data-centre segment's average margin (AMD reports no Instinct margin). IBM collects about ${ibm_y1.fmt('{:,.1f}', 1e6)}M in "
   f"the first year ({ibm_ai.fmt('{:.2%}')} of its generative-AI book of business) and, with rents decaying after the "
   f"contract, earns an IRR of {ibm_irr.fmt('{:.0%}')} with a book operating margin of {ibm_book.fmt('{:.0%}')}: the "
   f"return depends on re-leasing. Zyphra spends about ${z_bill.fmt('{:,.1f}', 1e6)}M and gets a frontier-style "
   f"training platform plus its final run.\n\n" + eps_md)
"""),
    ("md", r"""
## 8. What moves the answer?

Each input swung from the low to the high end of its range, the others at their defaults. The
labels carry units; the ranges and grades are in the parameter table of section 1. First the
owned cost of a useful GPU-hour (what a buyer pays), then IBM's NPV per GPU on the decay path
(what the operator earns): the rent, the sold share, the rates and the power prices together.
"""),
    ("code", r"""
tor = E.tornado(names=[n for n in E.OWNED_PARAMS if n != "depreciation_ooms_per_year"])
top = tor.head(5)["label"].to_list()
md("The largest swings of the owned cost: " + "; ".join(top) + ".")
il.charts.tornado_chart(tor.head(14))
"""),
    ("code", r"""
# IBM's NPV per GPU on the decay path: every input provider_view reads (the sold share comes from the
# contract and market shares there; the rebound applies to the rebound path only)
ibm_in = [n for n in (*E.OWNED_PARAMS, *E.OPERATOR_PARAMS) if n not in ("utilization", "rent_rebound_fraction")]
tor_ibm = E.tornado(lambda **p: E.provider_view(path="decay", **p).npv_usd_per_gpu, "MI300X", ibm_in)
tor_ibm = tor_ibm.filter(pl.col("swing") > 0)
base_npv = tor_ibm["output_base"][0]
assert base_npv == E.provider_view(path="decay").npv_usd_per_gpu
usd = lambda x: f"{'−' if x < 0 else ''}${abs(x):,.0f}"  # noqa: E731
md(f"IBM's NPV per GPU on the decay path is {usd(base_npv)} at the defaults. It moves most with "
   + "; ".join(f"{r['label']} ({usd(min(r['output_low'], r['output_high']))} to {usd(max(r['output_low'], r['output_high']))})"
               for r in tor_ibm.head(4).iter_rows(named=True))
   + f". It turns positive within a single input's range for {int((tor_ibm[['output_low', 'output_high']].max_horizontal() > 0).sum())} "
   f"of the {tor_ibm.height} inputs swung.")
il.charts.tornado_chart(tor_ibm.head(14), x_title="IBM's NPV on the decay path [USD per GPU]",
                        title="What moves IBM's return (NPV at the cost of capital, pre-tax, unlevered)")
"""),
    ("md", r"""
## 9. The market behind the prices

H100 rents by market tier (Epoch AI's records and this lab's price table; their dates are printed
below), today's listings for the accelerators above, dated purchase prices, and the useful lives
companies file.
"""),
    ("code", r"""
epoch_h100, table_h100 = E.epoch_rental_series("H100 SXM"), E.rental_prices("H100")
md(f"Epoch AI's H100 SXM records run from {epoch_h100['date'].min():%B %Y} to {epoch_h100['date'].max():%B %Y}; "
   f"the price table's H100 rows from {table_h100['date_observed'].min():%B %Y} to {table_h100['date_observed'].max():%B %Y}.")
display(il.charts.price_trend_chart(epoch_h100, table_h100, title=(
    f"H100 SXM rent per GPU-hour by market tier, {min(epoch_h100['date'].min(), table_h100['date_observed'].min()):%Y}–"
    f"{max(epoch_h100['date'].max(), table_h100['date_observed'].max()):%Y}")))
latest = il.catalog.cloud_prices().filter(
    pl.col("accelerator").is_in(["MI300X", "H100-SXM", "H200-SXM", "MI355X", "B200"]) & (pl.col("date_observed") >= pl.date(2026, 9, 1)))
il.charts.price_strip_chart(latest, title=f"Listed rents observed {latest['date_observed'].min():%d %b}–{latest['date_observed'].max():%d %b %Y}")
"""),
    ("code", r"""
display(E.purchase_prices().select("accelerator", "basis", "price_usd_per_gpu", "date", "grade", "source_url"))
E.useful_life_policies().select("entity", "policy", "life_years", "date", "grade", "note")
"""),
    ("md", r"""
Sources: Epoch AI, 'Hardware prices', training-cost-trends
(https://github.com/epoch-research/training-cost-trends), CC-BY 4.0; `data/cloud_prices.csv`;
purchase prices and lives with a URL per row (10-K filings on EDGAR where the life is filed).

## 10. Try it

Sliders for the inputs that move the answer most — purchase price, server overhead (the host per
GPU), colocation, utilization, life — and the rent. The callback calls `il.economics` only
(`il.widgets.economics_update` is the tested function); the band samples every input without a slider.
Each slider spans `il.widgets.economics_slider_range`: its row's low–high in `data/economics/parameters.csv`
widened by `ECONOMICS_SLIDER_SPAN` (the rent: the contract range and the current listings), printed below.
"""),
    ("code", r"""
num = lambda x: f"{x:,.0f}" if x >= 100 else f"{x:.3g}"  # noqa: E731
md("Slider spans: " + "; ".join(
    f"{'rent [USD per GPU-hour]' if n == 'price_usd_per_gpu_hour' else P[n].label} {num(lo)}–{num(hi)}"
    for n in ("price_usd_per_gpu_hour", *il.widgets.DASHBOARD_INPUTS)
    for lo, hi in [il.widgets.economics_slider_range(n, "MI300X")]) + ".")
il.widgets.economics_explorer("MI300X")
"""),
    ("md", r"""
## Takeaways

Computed from the answers above (nothing here is typed by hand):
"""),
    ("code", r"""
assert own.p50 < o["MI300X"]["owned_p50"], "section 5's note: ZAYA1's own-cluster owned figure is below the listing basis"
TAKEAWAYS = "\n".join([
    f"* **A useful MI300X GPU-hour costs ${own.fmt()}** to own with every cost item (the Monte Carlo P50, P5–P95; "
    f"the purchase price sampled from AMD's selling price to a distributor's listing); the point estimate, every input "
    f"at its mode, gives ${own_mode.total_usd_per_gpu_hour:.2f}. The like-for-like P50, on the basis of section 5 (every accelerator at its baseboard "
    f"listing, the price notebooks 07 and 09 use), is ${o['MI300X']['owned_p50']:.2f}. The cluster cost "
    f"${capex.fmt('{:,.1f}', 1e6)}M to build.",
    f"* **Zyphra's bill is ${bill.fmt('{:,.1f}', 1e6)}M** for contracted cluster time; the final ZAYA1 run "
    f"({run_gh / 1e3:,.0f}k GPU-hours from the training model, {run_paid_gh / 1e3:,.0f}k with goodput losses) is "
    f"{share.fmt('{:.1%}')} of it: its {run_paid_gh / 1e3:,.0f}k GPU-hours cost ${final_cost.p50 / 1e3:,.0f}k at the "
    f"contract price, ${run_paid_gh * own.p50 / 1e3:,.0f}k at the owned Monte Carlo P50.",
    f"* **Owning beats a committed contract at every utilization** once an owned GPU's fixed cost per calendar hour plus "
    f"its energy per busy hour (F + E of section 3, ${com.owned_fixed_usd_per_calendar_hour + com.owned_energy_usd_per_busy_hour:.2f} "
    f"at the defaults) is below the contract price (P, here ${com.price_usd_per_gpu_hour:.2f}); on demand at ${od.price_usd_per_gpu_hour:.2f} it needs "
    f"{od.threshold_utilization:.0%} utilization. For Zyphra that means capex and a data hall; its choice was between contracts.",
    f"* **IBM's pre-tax, unlevered IRR is {a4['decay']['IRR P50']:.0%}** (P50) if rents decay after the contract, "
    f"{a4['rebound']['IRR P50']:.0%} with a 2026-style rebound and {a4['flat']['IRR P50']:.0%} at a flat contract-level price.",
    f"* **Like for like, per trained token**, owned H100 is {o['H100-SXM']['ratio_p50']:.2f}× and H200 "
    f"{o['H200-SXM']['ratio_p50']:.2f}× MI300X; rented from the same provider and term MI300X is {r_mi_h100:.2f}× H100, "
    f"and parity needs H100 contracts near ${float(contract['parity rent of b [USD/GPU-h]'].median()):.2f}. Per served "
    f"token (measured DeepSeek-R1 serving, the {served['model'][0]} architecture) MI300X costs {served_cost.median():.2f}× H200 at matched rents.",
    f"* **{TCO_H.value:g}-year TCO ${tco4['p50']:.1f}M** (${tco4['p5']:.1f}–{tco4['p95']:.1f}M) in cash after the residual value.",
    f"* **AMD ${amd_tot.p50 / 1e6:,.1f}M once; IBM ${ibm_y1.p50 / 1e6:,.1f}M in its first year and an IRR of {ibm_irr.p50:.0%}; "
    f"Zyphra ${z_bill.p50 / 1e6:,.1f}M spent** — each at its P50; the unknowns are listed in section 7.",
])
md(TAKEAWAYS)
BRIEF.update(Markdown("**In brief** (the Takeaways at the end, computed):\n\n" + TAKEAWAYS))
"""),
    ("code", r"""
# Checks of the claims the fixed prose above relies on (the tests assert the same in
# tests/test_economics.py::TestNotebookClaims).
assert own.p50 > own_mode.total_usd_per_gpu_hour, "defaults should sit below the median (right-skewed ranges)"
assert com.owning_wins == "always" and com.owned_fixed_usd_per_calendar_hour + com.owned_energy_usd_per_busy_hour < com.price_usd_per_gpu_hour
assert a4["decay"]["IRR P50"] < a4["flat"]["IRR P50"], "a decaying rent must earn less than holding the price"
assert share.p95 < 0.25, "the final run is a small share of the contracted hours"
print("claims checked")
"""),
    ("md", r"""
What is approximate: the opex items (maintenance, insurance, staff, setup, storage) and the
operator's post-contract utilization are assumptions with stated ranges; the training model's
throughput per accelerator carries the stack factors of notebook 04; no public MI355X channel
price exists; the served-token comparison rests on the matched points of one published
third-party benchmark (section 5), not on the serving model.

""" + NAV),
]

if __name__ == "__main__":
    print(write_notebook("05_economics", cells))
