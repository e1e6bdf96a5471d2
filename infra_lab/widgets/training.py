"""ZAYA1 training explorer: GPUs, global batch, sequence length, precision, accelerator, and the
pipeline (stages, schedule, virtual-pipeline size)."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import ipywidgets as W
import polars as pl

from ._layout import fit_labels, frame_html

if TYPE_CHECKING:
    import altair as alt

__all__ = ["training_explorer", "training_update", "EXPLORER_ACCELERATORS"]

# The back-end NIC per accelerator (one per GPU): the catalog's default NIC of each part
# (data/default_nics.csv, infra_lab.catalog.default_nic), the same owner as notebook 05's
# throughput comparison (il.economics.training_throughput): DGX H100/H200/B200 carry ConnectX-7,
# AMD parts AMD's Pollara 400 as on the ZAYA1 cluster.
_EXPLORER_PARTS = ("MI300X", "MI325X", "MI355X", "H100-SXM", "H200-SXM", "B200")


def _explorer_nics() -> dict[str, str]:
    from .. import catalog
    return {a: catalog.default_nic(a) for a in _EXPLORER_PARTS}


EXPLORER_ACCELERATORS = _explorer_nics()  # accelerator -> the NIC its nodes carry
# a quick search space for the widget (answers well under a second)
_QUICK = {"max_micro_batch": 4, "max_vp": 2, "max_cp": 2, "max_pp": 4, "max_etp": 1}
# the explorer's pipeline controls: stages (1 = Zyphra's pure data parallelism) and the
# virtual-pipeline sizes offered to the interleaved schedule (the others fix vp: PP_SCHEDULE_VP)
_PP_OPTIONS = (1, 2, 4, 8)
_VP_OPTIONS = (1, 2, 3, 4, 6, 8)


def _schedule_vp(pp_schedule: str | None, vp: int | None) -> int:
    """The vp a schedule runs when ``vp`` is left out: its fixed one (scenario.PP_SCHEDULE_VP), 2 for
    "interleaved", 1 with no schedule; a ``vp`` given is passed on as given (the library checks it)."""
    from ..scenario.parallelism_table import PP_SCHEDULE_VP

    if vp is not None:
        return vp
    if pp_schedule is None:
        return 1
    return PP_SCHEDULE_VP.get(pp_schedule, 2)


def training_update(accelerator: str = "MI300X", gpus: int = 1024, global_batch: int = 2048,
                    seq_len: int = 4096, precision: str = "bf16", base: str = "zaya1-ibm-mi300x",
                    pp: int = 1, pp_schedule: str | None = None,
                    vp: int | None = None) -> tuple[pl.DataFrame, alt.Chart | None]:
    """Estimate ZAYA1 with the shipped DP + ZeRO-1 plan on the chosen cluster; when that
    plan does not fit or is not valid, the best plan from :func:`infra_lab.search` (a
    reduced space) instead. No modelling here: it calls ``il.estimate`` / ``il.search``.

    ``pp``, ``pp_schedule`` and ``vp`` put a pipeline into Zyphra's plan (``parallelism.pp``,
    ``parallelism.pp_schedule``, ``parallelism.vp``; :data:`infra_lab.scenario.PP_SCHEDULES`).
    ``vp`` left out is the schedule's own (1 for "1f1b" and "zb-h1", 2 for "zbv", "v-half",
    "v-min" and "interleaved"). A pipeline the library refuses (a schedule with pp = 1, a vp
    the schedule does not run, more chunks than the model's layers) is not replaced by a
    searched plan: the one-row frame's ``plan`` is ``"no valid plan: "`` and the library's
    message, and the chart None. When a valid pipeline plan does not fit, the search's plan
    replaces it as for Zyphra's (its schedules: il.search's default, 1F1B / interleaved).

    A global batch smaller than the GPU count times the micro-batch leaves pure data
    parallelism without a whole micro-batch per GPU; the search then looks only at plans whose
    tensor/pipeline/context parallelism brings dp down to a divisor of the batch, and the
    ``note`` column says so (with the smallest global batch pure data parallelism would take).
    ``gpus`` must fill whole nodes of the accelerator (a multiple of its GPUs per node);
    ``gpus``, ``global_batch`` and ``seq_len`` are integers (ValidationError otherwise).

    Returns
    -------
    (polars.DataFrame, altair.Chart or None) : one-row summary (plan, note, step time, tokens/s,
        MFU, memory, days for 12T and 14T tokens) and the step-breakdown chart; when no plan
        is found, a one-row frame whose ``plan`` says why and what would work, and None.
    """
    import infra_lab as il

    from .._validate import integer
    from ..charts.training import step_breakdown_chart
    from ..errors import ValidationError, empty_reasons
    from ..scenario import HardwareConfig
    from ..scenario.hardware_table import integrated_host, own_node_layout, updated_table

    # the catalog's name: the NIC table below is keyed by it ('b200' got ConnectX-7 NICs)
    accelerator = il.catalog.accelerator(accelerator).name
    sc = il.load_scenario(base)
    # the accelerator's own node size (data/network_platforms.csv node_gpus: a rack-scale part's
    # 4-GPU tray), not HardwareConfig's default 8, which counted 1,024 MI450X as 128 "nodes" of 8
    # and refused them for not filling 72-GPU racks
    part = HardwareConfig.from_dict({"accelerator": accelerator, "nodes": 1})
    per_node = int(il.fabric.platform(accelerator)["node_gpus"])
    # checked, not cast: int() made 0 or -8 GPUs one node, 100 GPUs 96 and 2048.9 tokens 2,048
    gpus, global_batch, seq_len = (integer(k, v) for k, v in
                                   (("gpus", gpus), ("global_batch", global_batch), ("seq_len", seq_len)))
    if gpus % per_node:
        lo = gpus // per_node * per_node
        raise ValidationError(f"gpus = {gpus!r}: expected a multiple of {per_node} ({accelerator}'s GPUs per node), "
                              f"e.g. {' or '.join(str(g) for g in (lo, lo + per_node) if g > 0)}")
    # own_node_layout: a rack-scale cluster that does not fill whole racks uses the same number
    # of trays in each (1,024 MI450X: 16 racks of 64; an assumption the note states)
    layout = own_node_layout(accelerator, gpus)
    hw = {"accelerator": accelerator, **layout,
          # a part without a default NIC row (the announced MI450X) gets what a [hardware] table
          # without nic gets (HardwareConfig: LEGACY_NIC); default_nic refused it as unknown
          "nic": EXPLORER_ACCELERATORS.get(accelerator) or part.nic}
    if integrated_host(accelerator) is not None:
        # the part's own host, stated (GB200/GB300: Grace): the base scenario's Xeon 8570 cannot
        # hold it, and replace() would otherwise warn about a host the user never chose here
        hw["host_cpu"] = integrated_host(accelerator)
    tr = {"global_batch": int(global_batch), "seq_len": int(seq_len), "precision": precision}
    world, gb = hw["nodes"] * per_node, int(global_batch)
    pp = integer("pp", pp)
    vp = _schedule_vp(pp_schedule, None if vp is None else integer("vp", vp))
    piped = pp > 1 or pp_schedule is not None or vp > 1      # the caller chose a pipeline
    par = {"pp": pp, "vp": vp} | ({} if pp_schedule is None else {"pp_schedule": pp_schedule})
    plan, note = "DP + ZeRO-1 (as Zyphra)", ""
    racks = (f"{world:,} GPUs in {world // layout['domain_gpus']} racks of {layout['domain_gpus']} "
             f"({layout['domain_gpus'] // per_node} of each {part.scaleup_domain}-GPU rack's "
             f"{part.scaleup_domain // per_node} trays: an assumption)" if layout["domain_gpus"] else "")
    try:
        cand = sc.replace(hardware=hw, training=tr, parallelism=par)
        if piped:
            plan = f"DP + ZeRO-1 (as Zyphra) with pp{pp} vp{vp} {cand.parallelism.schedule}"
        est = il.estimate(cand)
        ok = est.fits
        if not ok:
            whose = "this pipeline plan" if piped else "Zyphra's plan"
            note = (f"{whose} needs {est.memory_per_gpu_bytes / 1e9:.1f} GB per GPU, more than the "
                    f"{cand.hardware.accelerator_spec.memory_capacity_bytes / 1e9:.1f} GB a job can address"
                    + ("; the search below runs its default schedules (1F1B / interleaved)" if piped else ""))
    except ValidationError as e:
        if piped:      # the library's own message: a chosen pipeline is not replaced by a searched one
            return pl.DataFrame({"plan": [f"no valid plan: {e}"]}), None
        ok, note = False, f"Zyphra's plan is not valid here ({e})"
    if not ok:
        d = sc.to_dict()
        # the edit as Scenario.replace makes it (hardware_table.updated_table, the one owner): the
        # keys to_dict wrote out at their derived values follow the accelerator and the node count;
        # dict.update kept ZAYA1's 8-GPU xGMI domain, so 1,152 GB200 were searched as 144 eight-GPU
        # NVLink domains and 1,024 MI450X (not whole 72-GPU racks) as 128 eight-GPU domains
        d["hardware"] = updated_table(d["hardware"], hw)
        d["training"].update(tr)
        del d["parallelism"]   # il.search enumerates the plans: Zyphra's does not have to fit here
        mp = world // math.gcd(world, gb)   # the smallest model-parallel width that leaves dp | batch
        # pure data parallelism runs dp = world: the global batch must be a multiple of it (one or
        # more whole sequences per GPU); below it, or between multiples (2,048 on 1,536 GPUs)
        if gb < world:
            why = f"global batch {gb:,} < {world:,} GPUs"
            needs = f"a global batch of at least {world:,} (one sequence per GPU)"
            need = f"a global batch of {world:,} or more (or fewer GPUs)"
        else:
            lo, hi = gb // world * world, -(-gb // world) * world
            why = f"global batch {gb:,} is not a multiple of {world:,} GPUs"
            needs = f"a global batch that is a multiple of {world:,} (e.g. {lo:,} or {hi:,}), whole sequences on every GPU"
            need = f"a global batch that is a multiple of {world:,} (e.g. {lo:,} or {hi:,}; or a GPU count dividing {gb:,})"
        if mp > 1:
            note = (f"{why}: pure data parallelism needs {needs}, so the "
                    f"search uses tensor/pipeline/context parallelism of at least {mp} to bring dp down "
                    f"to {world // mp:,}")
        try:
            with empty_reasons():          # an empty search is reported in the table below
                best = il.search(d, top=1, **_QUICK)
        except ValidationError as e:
            why = (f"{why} and no plan of the reduced search splits the model {mp} ways; {need} works "
                   f"with pure data parallelism" if mp > 1 else str(e))
            return pl.DataFrame({"plan": [f"no valid plan: {why}"]}), None
        if best.height == 0:
            cap = il.catalog.accelerator(accelerator).memory_capacity_bytes / 1e9
            tries = ", ".join(["more GPUs", "a shorter sequence"] + (["fp8"] if precision != "fp8" else []))
            return pl.DataFrame({"plan": [
                f"no plan of the reduced search fits in {cap:.1f} GB per GPU at sequence length {int(seq_len):,} "
                f"and global batch {gb:,}: try {tries}"]}), None
        cand = il.Scenario.from_dict(il.training.apply_plan(d, best.row(0, named=True)))
        est = il.estimate(cand)
        p = cand.parallelism
        plan = (f"search: tp{p.tp} pp{p.pp} vp{p.vp} cp{p.cp} ep{p.ep} dp{p.dp} mbs{cand.training.micro_batch} "
                f"zero{p.zero} rc={cand.training.recompute}" + (f" {p.schedule}" if p.pp > 1 else ""))
    note = "; ".join(x for x in (note, racks) if x)
    summary = pl.DataFrame({
        "accelerator": [accelerator], "gpus": [cand.hardware.world_size], "plan": [plan], "note": [note],
        "step_time_s": [est.step_time_s], "Mtokens_per_s": [est.tokens_per_s / 1e6],
        "mfu_pct": [100 * est.mfu], "memory_GB": [est.memory_per_gpu_bytes / 1e9],
        # ZAYA1's token counts: the sourced rows of data/reliability/parameters.csv (press 12T, Zyphra 14T)
        "days_12T": [est.days_to_train(il.reliability.parameter("zaya1_tokens_alt"))],
        "days_14T": [est.days_to_train(il.reliability.parameter("zaya1_tokens"))],
    })
    chart = step_breakdown_chart(est.breakdown.with_columns(pl.lit(accelerator).alias("run")),
                                 title=f"ZAYA1 step on {cand.hardware.world_size} × {accelerator}")
    return summary, chart


def training_explorer() -> W.VBox:
    """An ipywidgets box: accelerator, GPUs, global batch, sequence length, precision and the
    pipeline (stages, schedule, virtual-pipeline size); redraws the summary and breakdown on
    every change. ``box.update`` is the callback. The schedule applies with pp > 1 and vp to the
    interleaved schedule only (the others run a fixed vp): where they do not apply they are
    disabled, not passed, and a note beside them says so. A setting the library refuses shows
    its message in the output (``ValidationError``), not a traceback."""
    from ..charts import ChartPane
    from ..errors import ValidationError
    from ..scenario.parallelism_table import PP_SCHEDULE_VP, PP_SCHEDULES

    w_acc = W.Dropdown(options=list(EXPLORER_ACCELERATORS), value="MI300X", description="accelerator")
    w_gpus = W.SelectionSlider(options=[64, 128, 256, 512, 1024, 2048, 4096], value=1024, description="GPUs",
                                continuous_update=False)
    w_gb = W.SelectionSlider(options=[512, 1024, 2048, 4096, 8192], value=2048, description="global batch [sequences]",
                              continuous_update=False)
    w_seq = W.SelectionSlider(options=[2048, 4096, 8192, 16384, 32768], value=4096, description="seq len [tokens]",
                               continuous_update=False)
    w_prec = W.Dropdown(options=["bf16", "fp8"], value="bf16", description="precision")
    w_pp = W.Dropdown(options=list(_PP_OPTIONS), value=1, description="pipeline pp")
    w_sched = W.Dropdown(options=list(PP_SCHEDULES), value="1f1b", description="pp schedule")
    w_vp = W.Dropdown(options=list(_VP_OPTIONS), value=2, description="vp")
    fit_labels((w_acc, w_gpus, w_gb, w_seq, w_prec, w_pp, w_sched, w_vp))
    w_pnote = W.HTML()
    out = W.HTML()
    summary, chart = training_update()
    pane = ChartPane(chart)

    def pipeline() -> dict:
        """The pipeline arguments the controls give, the controls' enabled state and the note."""
        piped = w_pp.value > 1
        interleaved = piped and w_sched.value == "interleaved"
        w_sched.disabled, w_vp.disabled = not piped, not interleaved
        if not piped:
            w_pnote.value = ("pp = 1 (Zyphra's pure data parallelism): no pipeline, so the schedule and vp "
                             "do not apply; choose pp &gt; 1")
            return {}
        if not interleaved:
            w_pnote.value = (f"{w_sched.value} runs vp = {PP_SCHEDULE_VP[w_sched.value]} (vp applies to the "
                             f"interleaved schedule)")
            return {"pp": w_pp.value, "pp_schedule": w_sched.value}
        w_pnote.value = ""
        return {"pp": w_pp.value, "pp_schedule": w_sched.value, "vp": w_vp.value}

    def update(*_):
        try:
            s, c = training_update(w_acc.value, w_gpus.value, w_gb.value, w_seq.value, w_prec.value,
                                   **pipeline())
        except ValidationError as e:    # the library's message in the output, not a traceback
            s, c = pl.DataFrame({"plan": [f"no valid plan: {e}"]}), None
        out.value = frame_html(s)
        pane.show_or_clear(c)    # None: no stale breakdown of the previous setting beside a "no valid plan" row
        return s, c

    for w in (w_acc, w_gpus, w_gb, w_seq, w_prec, w_pp, w_sched, w_vp):
        w.observe(update, names="value")
    box = W.VBox([W.HBox([W.VBox([w_acc, w_prec]), W.VBox([w_gpus, w_gb, w_seq]),
                          W.VBox([w_pp, w_sched, w_vp, w_pnote])]), out, pane.widget])
    box.update = update
    box.controls = {"accelerator": w_acc, "gpus": w_gpus, "global_batch": w_gb, "seq_len": w_seq,
                    "precision": w_prec, "pp": w_pp, "pp_schedule": w_sched, "vp": w_vp}
    box.chart = pane
    update()
    return box
