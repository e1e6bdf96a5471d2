"""The current runs (2024-2026, ``data/measurements/training_runs.csv``) and how each becomes a
Scenario: the table and its train/test split (``current_runs``, ``TEST_FRACTION_MOD``), the
framework family, stack and source of a run (``FAMILIES``, ``family_of``, ``stack_of``, ``source_of``,
``current_sources``), the readers of
its published settings (MoE library choices, recomputation, offloading, optimizer, loss, FP8
scaling, pipeline schedule), the documented defaults and assumptions (``VARIANTS``,
``ASSUMED_GLOBAL_BATCH``, ``PP_SCHEDULES_MODELLED``), ``scenario_for_run``, and the measured
tokens/s/GPU of a run under its source's FLOP convention (``flop_convention_of``)."""

from __future__ import annotations

import functools
import warnings

import polars as pl

from .. import catalog
from ..errors import ContextLengthWarning, UnknownNameError, ValidationError, unknown
from ..scenario.parallelism_table import PP_SCHEDULE_VP
from ._common import MEASUREMENT_DIR

RUNS_FILE = "training_runs.csv"


TEST_FRACTION_MOD = 3
"""Split rule of the current runs: a run is in the **test** split when
``zlib.crc32(id) % 3 == 0`` (about a third), else in the train split. Deterministic, fixed
before any fit, independent of the error, and documented in docs/validation.md."""

VARIANTS = {"96GB": "H100-96GB-500W", "limited to 750 W": "B200-750W"}
"""Accelerator variants named in a run's ``accelerator_variant`` -> the catalog part that
models them: torchtitan's H100s (96 GB HBM2e at 500 W) and torchao's B200s power-limited to
750 W, each a catalog row with its stated peak derate (data/accelerators.csv notes)."""

def run_nic(accelerator: str) -> str:
    """NIC assumed when a run's source does not name it: the catalog's default NIC of the part
    (:func:`infra_lab.catalog.default_nic`, data/default_nics.csv, each row sourced: ConnectX-7
    NDR on H100/H200/H800/B200/GB200 systems, ConnectX-8 on B300/GB300, Pollara 400 on AMD
    Instinct nodes as on the ZAYA1 cluster), the one owner of "which NIC does a node of this part
    have". An assumption per run, printed in the comparison's ``assumptions`` column; a part
    without a row there is refused, naming the file, rather than given a guessed NIC."""
    try:
        return catalog.default_nic(accelerator)
    except UnknownNameError as e:
        raise ValidationError(f"a run on {accelerator} names no NIC and data/default_nics.csv has no row for "
                              f"{accelerator}: add the row (with its source) or the run's nic ({e})") from None

FLOP_CONVENTION_OF_SOURCES = "6N+head+attn"
"""FLOP count of published TFLOP/s and MFU before Megatron-LM's causal fix (Megatron-LM's
2021-24 FLOP formula and the Llama 3 paper's PaLM-style MFU count attention as full s² work
and include the LM head); they are turned into tokens/s/GPU with the model's FLOPs per token
under the source's convention (:func:`flop_convention_of`)."""

MEGATRON_CAUSAL_FLOPS_SINCE = "2025-03-06"
"""Date from which Megatron-LM's model-FLOPs count (``num_floating_point_operations``, the
TFLOP/s it logs) counts causal attention as half the s² work: commit 8873b55 (MR !2789,
"Fixes in number of floating-point operation estimates for MoE and attention layer",
https://github.com/NVIDIA/Megatron-LM/commit/8873b55d6aad08f0f535174746d2836df3dfa93b),
"Only half of the attention matrix is non-zero". Megatron-Core TFLOP/s published from then
on are read under :data:`infra_lab.training.MFU_CONVENTION` (causal attention, LM head)."""


def flop_convention_of(row: dict) -> str:
    """The FLOP convention of a run's published TFLOP/s or MFU: causal attention for
    Megatron-Core sources dated on or after :data:`MEGATRON_CAUSAL_FLOPS_SINCE`, else
    :data:`FLOP_CONVENTION_OF_SOURCES` (full attention: Megatron-LM before the fix, the Llama 3
    paper's PaLM-style count)."""
    from ..training import MFU_CONVENTION

    if family_of(row) == "megatron-core" and (row.get("source_date") or "") >= MEGATRON_CAUSAL_FLOPS_SINCE:
        return MFU_CONVENTION
    return FLOP_CONVENTION_OF_SOURCES


def _split_of(case: str) -> str:
    import zlib

    return "test" if zlib.crc32(case.encode()) % TEST_FRACTION_MOD == 0 else "train"


@functools.cache
def current_runs() -> pl.DataFrame:
    """The published current runs (``data/measurements/training_runs.csv``) with the
    deterministic ``split`` column (:data:`TEST_FRACTION_MOD`) and each run's ``source``
    (:func:`source_of`)."""
    df = pl.read_csv(MEASUREMENT_DIR / RUNS_FILE, infer_schema_length=0)
    missing = df.filter(pl.col("source_url").is_null() | ~pl.col("source_url").str.starts_with("http"))
    if missing.height:
        raise ValidationError(f"data/measurements/{RUNS_FILE}: rows without a source_url: {missing['id'].to_list()}")
    return df.with_columns(pl.col("id").map_elements(_split_of, return_dtype=pl.String).alias("split"),
                           pl.col("id").map_elements(source_of, return_dtype=pl.String).alias("source"))


def source_of(run_id: str) -> str:
    """The source of a current run: its id's prefix before the first "-" (``TT24`` torchtitan's
    December 2024 benchmark, ``MZ`` the Megatron MoE Model Zoo, ``PR25`` AMD's Primus MoE blog,
    …; the prefixes are listed in data/measurements/README.md). One source is one publisher's
    stack and sweep, so its runs share whatever that source did not state; the
    leave-one-source-out check (:func:`infra_lab.validation.leave_one_source_out`) holds out
    all of a source's runs at once."""
    if not isinstance(run_id, str) or not run_id.strip():
        raise ValidationError(f"run_id = {run_id!r}: expected a current run's id (str), e.g. 'TT24-8B-8-fsdp'")
    return run_id.split("-", 1)[0]


def current_sources() -> list[str]:
    """The sources of the current runs (:func:`source_of`), sorted."""
    return sorted(set(current_runs()["source"]))


def _source_names(value, field: str) -> list[str] | None:
    """``value`` checked as source names (:func:`current_sources`): None (returned as None), one
    name or an iterable of names (returned as a list, duplicates dropped). A name that is not a
    source is refused with a ValidationError naming it, the nearest sources and every source."""
    valid = current_sources()
    if value is None:
        return None
    names = [value] if isinstance(value, str) else value
    try:
        names = list(names)
    except TypeError:
        raise ValidationError(f"{field} = {value!r:.80}: expected None, a source name or a list of source names "
                              f"({', '.join(valid)})") from None
    for n in names:
        if not isinstance(n, str):
            raise ValidationError(f"{field}: {n!r} is not a source name (str); sources: {', '.join(valid)}")
        if n not in valid:
            raise ValidationError(unknown("run source", n, valid, where=field).args[0] +
                                  " (a source is a run id's prefix before the first '-')")
    return list(dict.fromkeys(names))


def _num(v, kind=int):
    if v is None or v == "":
        return None
    return kind(float(v)) if kind is int else kind(v)


def _model_table(row: dict) -> dict:
    from .. import models

    fields = row.get("model_fields") or ""
    preset = row["model"] in models.preset_names()
    if not fields and not preset:
        raise ValidationError(f"{row['id']}: model {row['model']!r} is not a preset and has no model_fields")
    # a preset model: model_fields are the run's departures from the preset (e.g. mtp_layers=0
    # where the run did not enable the preset's multi-token prediction)
    out: dict = {"preset": row["model"]} if preset else {}
    for part in fields.split(";"):
        if not part.strip():
            continue
        k, _, v = part.partition("=")
        k, v = k.strip(), v.strip()
        if v.lower() in ("true", "false"):
            out[k] = v.lower() == "true"
        else:
            try:
                out[k] = int(v)
            except ValueError:
                try:
                    out[k] = float(v)
                except ValueError:
                    out[k] = v
    if not preset and out.get("experts") and "top_k" not in out:
        raise ValidationError(f"{row['id']}: model_fields give experts = {out['experts']} but no top_k "
                              f"(experts routed per token not published)")
    return out


FAMILIES = ("megatron-core", "torchtitan")
"""Framework families of the current runs, each with its own stacks (``<family>-cuda`` /
``<family>-rocm``, one set of fitted factors for both vendors): Megatron-Core, Primus (AMD's
Megatron-LM backend) and DeepSeek's HAI-LLM (Megatron-style 3D parallelism with DeepEP) run
as ``megatron-core``; torchtitan, torchao's torchtitan benchmarks, Trainy's torchtitan runs
and Meta's Llama 3 training (the PyTorch-native FSDP design torchtitan open-sources) as
``torchtitan``."""


def family_of(row: dict) -> str:
    """The framework family (:data:`FAMILIES`) of a run, from its ``framework`` column."""
    if not isinstance(row, dict):
        raise ValidationError(f"row = {row!r:.80}: expected a measurement row as a dict")
    fw = (row.get("framework") or "").lower()
    return "torchtitan" if ("torchtitan" in fw or "meta internal" in fw) else "megatron-core"


def stack_of(row: dict) -> str:
    """The training stack of a run: its family on its accelerator's platform."""
    acc = catalog.accelerator(row["accelerator"])
    return f"{family_of(row)}-{'rocm' if acc.vendor == 'AMD' else 'cuda'}"


def _moe_settings(row: dict) -> tuple[dict, dict, list[str]]:
    """(parallelism keys, training keys, notes) of the MoE library choices a run publishes in
    its ``settings``: the dispatcher (DeepEP / HybridEP / flex → "deepep"; A2A / alltoall or
    unstated → "alltoall", Megatron-Core's default), the EP overlap (``a2a_overlap=1``,
    DualPipe), the routing (forced load balancing → "balanced"), token dropping
    (``capacity_factor=...``) and a host-bound MoE path (``training.moe_host_sync``: "no MoE
    features", "no CUDA graphs")."""
    st = (row.get("settings") or "").lower()
    par: dict = {}
    trn: dict = {}
    notes: list[str] = []
    if (row.get("dense_or_moe") or "") != "moe":
        return par, trn, notes
    if "dispatcher=a2a" in st or "dispatcher=alltoall" in st:
        # an explicit all-to-all dispatcher first: a baseline may name DeepEP as a feature it
        # leaves off ("no DeepEP")
        par["moe_dispatcher"] = "alltoall"
    elif "deepep" in st or "hybridep" in st or "flex" in st:
        par["moe_dispatcher"] = "deepep"
    elif "node-limited routing" in st:
        # DeepSeek-V3's own dispatch (report §3.2.2, https://arxiv.org/abs/2412.19437): each
        # token crosses InfiniBand once per target node to the GPU of the same in-node index,
        # then NVLink fans it out — the scheme DeepEP implements
        par["moe_dispatcher"] = "deepep"
    else:
        par["moe_dispatcher"] = "alltoall"
        notes.append("moe_dispatcher=alltoall")
    par["ep_overlap"] = "a2a_overlap=1" in st or "dualpipe" in st
    par["dualpipe"] = "dualpipe" in st         # DeepSeek-V3's DualPipe schedule (its own overlap fraction)
    trn["moe_routing"] = "balanced" if "force_load_balancing" in st else "learned"
    # ablation baselines that publish their MoE host path as unoptimised: Primus "no MoE
    # features" (no fused router/permutation, no sync-free MoE, legacy grouped GEMM), Megatron-
    # Core's GB200 baseline "no CUDA graphs" (alltoall dispatcher on NCCL, unfused kernels)
    trn["moe_host_sync"] = "no moe features" in st or "no cuda graphs" in st
    if "capacity_factor=" in st:
        cf = st.split("capacity_factor=", 1)[1]
        num = "".join(ch for ch in cf.split(";")[0] if ch.isdigit() or ch == ".")
        trn["moe_capacity_factor"] = float(num)
    return par, trn, notes


_MODULE_ALIASES = {"up_proj": "mla_up_proj", "norm": "layernorm", "act": "moe_act"}


def _recompute_modules(row: dict) -> list[str] | None:
    """Megatron-Core ``recompute_modules`` a run publishes in its ``settings``
    (``recompute_modules=layernorm,moe``), as :data:`infra_lab.scenario.RECOMPUTE_MODULES`
    names; None when it does not (the stack's selective set)."""
    raw = _setting(row, "recompute_modules")
    if raw is None:
        return None
    return [_MODULE_ALIASES.get(x.strip(), x.strip()) for x in raw.split("(")[0].split(",") if x.strip()]


def _setting(row: dict, key: str) -> str | None:
    """The value of ``key=value`` in a run's ``settings`` (entries separated by ``;``), as
    written; None when the run publishes no such entry."""
    st = row.get("settings") or ""
    if f"{key}=" not in st:
        return None
    return st.split(f"{key}=", 1)[1].split(";")[0]


def _fsdp_impl(row: dict) -> str:
    """parallelism.fsdp_impl of a run: "megatron" when its settings publish Megatron-FSDP
    (``fsdp=custom``, Megatron-Core's custom FSDP, ``--use-custom-fsdp`` / ``--use-megatron-fsdp``),
    else "torch" (PyTorch FSDP2, e.g. ``use_torch_fsdp2``, torchtitan)."""
    st = (row.get("settings") or "").lower()
    return "megatron" if ("fsdp=custom" in st or "use_megatron_fsdp" in st or "use-megatron-fsdp" in st
                          or "use-custom-fsdp" in st) else "torch"


def _offload_modules(row: dict) -> list[str] | None:
    """Megatron-Core fine-grained activation offloading a run publishes in its ``settings``
    (``fine-grained activation offloading (expert_fc1, moe_act)``: ``--fine-grained-activation-
    offloading --offload-modules expert_fc1 moe_act``) as the [training] ``offload_modules``
    list (:data:`infra_lab.scenario.OFFLOAD_MODULES`); None when it publishes none."""
    st = (row.get("settings") or "").lower()
    key = "fine-grained activation offloading ("
    if key not in st:
        return None
    raw = st.split(key, 1)[1].split(")")[0]
    return [x.strip() for x in raw.split(",") if x.strip()]


def _optimizer_of(row: dict) -> str:
    """The optimizer variant a run publishes in its ``settings``: "adamw-bf16" (fp32 master
    weights with 16-bit Adam moments: Megatron-Core's precision-aware optimizer with BF16
    moments, DeepSeek-V3's §3.3.3) where the settings say the moments are BF16, else
    "adamw" (:data:`infra_lab.memory.OPTIMIZER_STATE_BYTES`)."""
    st = (row.get("settings") or "").lower()
    return "adamw-bf16" if ("bf16 adam moments" in st or "moments in bf16" in st) else "adamw"


def _source_date(row: dict) -> str:
    """A run's ``source_date`` as an ISO date string for comparison with a PR's date; a
    month-only date ("2025-08") counts from the month's end; unstated: ""."""
    src = row.get("source_date") or ""
    return src + "-31" if len(src) == 7 else src


TORCHTITAN_LOSS_COMPILE_SINCE = "2025-04-02"
"""Date of torchtitan PR #1033 (commit bbb1b616e, https://github.com/pytorch/torchtitan/pull/1033):
from then on ``build_cross_entropy_loss`` wraps the loss in ``torch.compile`` whenever training
runs compiled (torchtitan/components/loss.py; before it the compiled loss was commented out,
"compiling loss function causes CUDA errors"). The torchtitan commits printed by the compared
runs published after this date (820504e, e7c0cae, 2c8b594, 6fc499f) all contain it; the
December 2024 benchmark's 9dec370 does not."""


def _loss_of(row: dict) -> dict:
    """The loss implementation and FP8 weight scheme a run publishes in its ``settings`` as
    [training] keys (:func:`infra_lab.memory.loss_logits_bytes`,
    :func:`infra_lab.memory.fp8_weight_copy_bytes`): "loss fusion" / "CE loss fusion" (a fused
    cross-entropy kernel) → loss_fusion = true; "loss chunks=N" → loss_chunks = N;
    "fp8-param-gather" (FP8 primary weights) → fp8_param_gather = true; a torchtitan run with
    ``compile=true`` published on or after :data:`TORCHTITAN_LOSS_COMPILE_SINCE` (a month-only
    date counts from the month's end), or one that says it compiles the loss → loss_compiled =
    true; unstated: the unfused fp32 loss over all tokens and dual (16-bit + cached FP8) weights."""
    st = (row.get("settings") or "").lower()
    out: dict = {}
    if "torchtitan" in (row.get("framework") or "").lower() and "compile=true" in st:
        if _source_date(row) >= TORCHTITAN_LOSS_COMPILE_SINCE or "and loss" in st:
            out["loss_compiled"] = True
    if "loss fusion" in st:
        out["loss_fusion"] = True
    if "fp8-param-gather" in st or "fp8 primary weights" in st:
        out["fp8_param_gather"] = True
    if "loss chunks=" in st:
        num = "".join(ch for ch in st.split("loss chunks=", 1)[1].split(";")[0] if ch.isdigit())
        out["loss_chunks"] = int(num)
    return out


TORCHTITAN_SAC_SAVES_ALL_SDPA_SINCE = "2025-12-01"
"""Date of torchtitan PR #2095 (commit b39377f, https://github.com/pytorch/torchtitan/pull/2095,
issue #2091 "is there any particular reason we dont put
torch.ops.aten._scaled_dot_product_cudnn_attention.default ... into _op_sac_save_list to avoid
recompute?"): from then on the per-op SAC save list holds every SDPA backend's op. Before it the
list had only ``_scaled_dot_product_flash_attention`` and ``_scaled_dot_product_efficient_attention``
(torchtitan/models/llama3/infra/parallelize.py at 6fc499f, the torchao B200 benchmark's commit),
while ``ScaledDotProductAttention`` put ``SDPBackend.CUDNN_ATTENTION`` first on compute
capability 10.0 (PR #1196, 2025-05, torchtitan/models/attention.py): per-op SAC then recomputed
the cuDNN attention forward in backward (``training.sac_recompute_attention``)."""


def _sac_recompute_attention(row: dict, acc: str, stack: str, recompute: str) -> bool:
    """torchtitan's per-op SAC recomputes the attention forward: a selective (per-op) torchtitan
    run published before :data:`TORCHTITAN_SAC_SAVES_ALL_SDPA_SINCE` (a month-only date counts
    from the month's end) on a device where its SDPA resolves to cuDNN
    (:func:`infra_lab.training._attention_kernel`: Blackwell)."""
    from ..training import _attention_kernel, stack_params

    if family_of(row) != "torchtitan" or recompute != "selective":
        return False
    sp = stack_params(stack)
    if not sp["selective_recompute"]:
        return False
    src = _source_date(row)
    return bool(src) and src < TORCHTITAN_SAC_SAVES_ALL_SDPA_SINCE and _attention_kernel(sp, acc) == "cudnn"


def _fp8_scaling_of(row: dict) -> str:
    """The FP8 recipe's operand scaling (``training.fp8_scaling``) of a torchtitan + torchao run:
    "row" for torchao's float8 rowwise recipe ("rowwise" in ``precision_detail``), "block" for its
    MX recipes (precision mxfp8: dim0 / dim1 casts in separate kernels, torchao
    torchao/prototype/mx_formats/README.md), else "tensor". Transformer Engine stacks keep "tensor":
    their MXFP8 cast writes both orientations from one read."""
    if family_of(row) != "torchtitan":
        return "tensor"
    prec = (row.get("precision") or "").lower()
    detail = (row.get("precision_detail") or "").lower()
    if prec == "mxfp8":
        return "block"
    if prec == "fp8" and "rowwise" in detail and "gw_hp" not in detail:
        return "row"
    return "tensor"


def _fsdp_float8_all_gather_of(row: dict) -> bool:
    """torchao's float8 FSDP all-gather (``training.fsdp_float8_all_gather``) as a torchtitan run
    publishes it in ``precision_detail``: "float8 FSDP all-gather", "FSDP float8 all-gather" or
    "float8 all-gather" (torchao's tables; torchtitan's ``--float8.enable_fsdp_float8_all_gather``,
    the tensorwise recipe's; a rowwise run's "bfloat16 all-gather" is not it). Unstated: 16-bit
    gathers (torchtitan's default, ``enable_fsdp_float8_all_gather = False``)."""
    if family_of(row) != "torchtitan" or (row.get("precision") or "").lower() != "fp8":
        return False
    detail = " ".join((row.get("precision_detail") or "").lower().split())
    return any(k in detail for k in ("float8 fsdp all-gather", "fsdp float8 all-gather", "float8 all-gather"))


PRIMUS_DSV2L_SCRIPT_GLOBAL_BATCH = 768
"""Global batch of Primus' published DeepSeek-V2-Lite MI355X script
(examples/moe_package/run_deepseek_v2_lite_pretrain_mi355x.sh, micro-batch 12 with global
batch 768), the only global batch the source publishes for its single-node runs."""

PRIMUS_ZB_TEST_CONFIG_GLOBAL_BATCH = 32
"""Global batch of Primus' zero-bubble trainer test config at the Primus-pipeline blog's commit
(AMD-AGI/Primus 78633ae, tests/trainer/test_megatron_trainer_zero_bubble.yaml: global_batch_size
32, micro_batch_size 1), the config that sets the blog's model shape (16 Llama-2-7B layers at
4,096 tokens); the blog prints no batch sizes."""

ASSUMED_GLOBAL_BATCH = {**{f"PR25-DSV2L-MI355X-8-mbs{m}-baseline": PRIMUS_DSV2L_SCRIPT_GLOBAL_BATCH
                           for m in (1, 2, 4, 8, 12)},
                        **{f"PRP26-L2-7B16L-MI300X-8-{s}": PRIMUS_ZB_TEST_CONFIG_GLOBAL_BATCH
                           for s in ("1f1b", "1f1b-vpp2", "zbb", "zbv", "vhalf", "vmin")}}
"""Global batch ASSUMED for compared runs whose source does not publish it (printed in the
comparison's ``assumptions`` column as ``global_batch=N``): the five micro-batches of Primus'
DeepSeek-V2-Lite baseline scan (1, 2, 4, 8, 12; Figure 5 of the source) take the published
script's global batch (768 is a multiple of 8 GPUs × each micro-batch). The global batch only
sets how the data-parallel reduction and the optimizer step are amortised (at global batch 64
the micro-batch-1 row's error moves by under one percentage point).
The Primus-pipeline blog's six runs (PP 8 on 8 MI300X: 1f1b, 1f1b-vpp2 and, since 2026-12-05,
the zero-bubble family's zbb, zbv, vhalf, vmin; vpp2 and vhalf train, the others test) take
the global batch of the test config that sets their model shape
(:data:`PRIMUS_ZB_TEST_CONFIG_GLOBAL_BATCH`; their micro-batch, also not printed, is that
config's 1, the default of :func:`scenario_for_run`). With PP 8 and DP 1 the global batch is the
number of micro-batches per step, so it sets the pipeline bubble's share of the step: this
assumption moves these rows' errors, unlike the DeepSeek-V2-Lite one."""


PP_SCHEDULES_MODELLED = ("1f1b", "1f1b-interleaved", "zero-bubble", "zbv-formatted", "v-half", "v-min")
"""Pipeline schedules a run may publish in its ``settings`` (``pp_algorithm=...``, Primus-pipeline's
names, AMD-AGI/Primus 78633ae ``primus/core/pipeline_parallel/scheduler/schedule_table_factory.py``)
and the step model prices: Megatron-Core's 1F1B and interleaved 1F1B (chosen by the run's vp) and
the zero-bubble family (:data:`PP_SCHEDULE_OF`, ``parallelism.pp_schedule``), which splits the
backward into input- and weight-gradient passes to fill the bubble. Another name is refused."""

PP_SCHEDULE_OF = {"zero-bubble": "zb-h1", "zbv-formatted": "zbv", "v-half": "v-half", "v-min": "v-min"}
"""``parallelism.pp_schedule`` of each Primus-pipeline zero-bubble algorithm (Primus' ``pp_algorithm``
→ the step model's schedule; :data:`infra_lab.scenario.PP_SCHEDULES`). Primus' launcher requires
vp = 1 for ``zero-bubble`` and vp = 2 for the other three
(``primus/backends/megatron/core/pipeline_parallel/primuspipe/pipeline_launcher.py`` at 78633ae:
"1f1b and zero-bubble require vpp_size to be 1"; "zbv-formatted, v-half, and v-min require
vpp_size to be 2"), so a run takes the vp its schedule runs (:func:`scenario_for_run` notes a
published vp it overrides)."""


def _pp_algorithm_of(row: dict) -> str | None:
    """The pipeline schedule a run publishes in its ``settings`` (``pp_algorithm=<name>``,
    Primus' name for it), lower-cased; None when it publishes none (the run's pp/vp decide)."""
    raw = _setting(row, "pp_algorithm")
    return None if raw is None else raw.strip().lower()


def scenario_for_run(row: dict | str):
    """(Scenario, assumptions) of one current run, or raise ValidationError saying why the
    run cannot be expressed. ``row`` is a row of :func:`current_runs` (a dict) or a run's id
    (e.g. ``"MZ-Q235-H100-256-a"``; an unknown id gets the nearest ids). The stack is the run's framework family on its platform
    (:func:`stack_of`); the MoE dispatcher, EP overlap, routing and token dropping come from
    the published settings (:func:`_moe_settings`; DeepSeek-V3's node-limited dispatch is the
    ``deepep`` scheme), and so do Megatron-Core's ``recompute_modules`` (:func:`_recompute_modules`). Fields the source does not state take
    documented defaults: micro-batch 1, recompute none, ZeRO-1 (Megatron distributed
    optimizer) unless FSDP, sequence parallel with tp > 1 (Megatron-Core requires it for
    MoE), the part's NIC (:func:`run_nic`: data/default_nics.csv), a rail-optimized fabric, the alltoall
    dispatcher, Megatron-Core's expert tensor-parallel size = the tensor-parallel size for an
    MoE run that does not publish it (Megatron-Core's default; only MoE Parallel Folding
    decouples them), vp = 2 for an interleaved pipeline schedule whose vp is not published (the
    least interleaving), the catalog variant of a power-limited part (:data:`VARIANTS`), the
    platform's default host CPU unless the row's ``host_cpu`` names the one the source (or the
    spec page of the system it names) states and, for rack-scale domains the job does not fill,
    the largest whole number of trays per rack that divides the job (``hardware.domain_gpus``).

    No :class:`~infra_lab.errors.ContextLengthWarning`: a published run's sequence length is
    what was run; beyond the model config's context it used context extension (e.g.
    Qwen3-235B at 128k), which is no input mistake."""
    row = _run_row(row)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ContextLengthWarning)
        return _scenario_for_run(row)


def _run_row(row: dict | str) -> dict:
    """A current run's row, given the row itself or the run's id."""
    if isinstance(row, dict):
        return row
    if not isinstance(row, str):
        raise ValidationError(f"row = {row!r} ({type(row).__name__}): expected a run id (str) or a row "
                              f"of infra_lab.validation.current_runs() (dict)")
    runs = current_runs()
    hit = runs.filter(pl.col("id") == row)
    if hit.height == 0:
        raise unknown("run id", row, runs["id"].to_list(), "data/measurements/" + RUNS_FILE)
    return hit.row(0, named=True)


def _gradient_accumulation_fusion(row: dict) -> bool:
    """training.gradient_accumulation_fusion of a run: False when its settings publish Megatron's
    unfused weight-gradient accumulation, as a config value (``gradient_accumulation_fusion=false``)
    or as the launch flag (``--no-gradient-accumulation-fusion``)."""
    s = (row.get("settings") or "").lower()
    return "gradient_accumulation_fusion=false" not in s and "--no-gradient-accumulation-fusion" not in s


def _scenario_for_run(row: dict):
    """The body of :func:`scenario_for_run`."""
    from ..scenario import Scenario

    sched = _pp_algorithm_of(row)
    if sched is not None and sched not in PP_SCHEDULES_MODELLED:
        raise ValidationError(f"{row['id']}: pipeline schedule {sched} is not modelled "
                              f"(modelled: {', '.join(PP_SCHEDULES_MODELLED)})")
    notes = []
    variant = row.get("accelerator_variant") or ""
    acc = row["accelerator"]
    for key, part in VARIANTS.items():
        if key in variant:
            acc = part
            notes.append(f"accelerator={part}")
    nic = row.get("nic")
    if not nic:
        nic = run_nic(acc)
        notes.append(f"nic={nic}")
    fabric = row.get("fabric") or "rail-optimized"
    if not row.get("fabric"):
        notes.append("fabric=rail-optimized")
    mbs = _num(row.get("micro_batch"))
    if mbs is None:
        mbs = 1
        notes.append("micro_batch=1")
    rc = row.get("recompute") or "none"
    if not row.get("recompute"):
        notes.append("recompute=none")
    modules = _recompute_modules(row) if rc == "selective" else None
    fsdp = (row.get("fsdp") or "false").lower() == "true"
    zero = _num(row.get("zero"))
    if zero is None:
        zero = 3 if fsdp else 1
        notes.append(f"zero={zero}")
    tp = _num(row.get("tp")) or 1
    sp_raw = row.get("sequence_parallel")
    sp = ((sp_raw or "").lower() == "true" if sp_raw else True) and tp > 1
    if not sp_raw and tp > 1:
        notes.append("sequence_parallel=true")
    prec = (row.get("precision") or "bf16").lower()
    if not row.get("precision"):
        notes.append("precision=bf16")
    prec = "fp8" if prec in ("fp8", "mxfp8") else prec
    gb = _num(row.get("global_batch"))
    # a memory row (training_memory.csv) of a run carries the run's id in run_id
    assumed_key = row["id"] if row["id"] in ASSUMED_GLOBAL_BATCH else row.get("run_id")
    if gb is None and assumed_key in ASSUMED_GLOBAL_BATCH:
        gb = ASSUMED_GLOBAL_BATCH[assumed_key]
        notes.append(f"global_batch={gb}")
    if gb is None:
        raise ValidationError(f"{row['id']}: global batch not published")
    hw = {"accelerator": acc, "nodes": _num(row["nodes"]), "gpus_per_node": _num(row["gpus_per_node"]),
          "nic": nic, "fabric": fabric}
    if row.get("host_cpu"):
        # the host CPU the source (or the spec page of the system it names) states; empty: the
        # platform default (data/network_platforms.csv). Only its vendor prices anything (the
        # libraries' per-message network overhead, infra_lab.fabric.net_overhead_s)
        hw["host_cpu"] = row["host_cpu"]
    mpar, mtrn, mnotes = _moe_settings(row)
    notes += mnotes
    vp = _num(row.get("vp"))
    if vp is None:
        vp = 1
        if "interleaved" in (row.get("settings") or "").lower() and (_num(row.get("pp")) or 1) > 1:
            vp = 2           # an interleaved schedule without its vp: the least interleaving
            notes.append("vp=2")
    pp_schedule = PP_SCHEDULE_OF.get(sched or "")
    if pp_schedule is not None and vp != PP_SCHEDULE_VP[pp_schedule]:
        # the vp the schedule runs (Primus' launcher asserts it): the Primus-pipeline blog prints
        # VPP 2 on its zbb row, which the zero-bubble schedule cannot run
        vp = PP_SCHEDULE_VP[pp_schedule]
        notes.append(f"vp={vp}")
    if row.get("scaleup_domain"):
        hw["scaleup_domain"] = _num(row["scaleup_domain"])
        g, gpn = _num(row["gpus"]), _num(row["gpus_per_node"])
        if hw["scaleup_domain"] > gpn and g > hw["scaleup_domain"] and g % hw["scaleup_domain"]:
            # rack-scale domains (NVL72) partly used: the largest whole number of trays per rack
            # that divides the job (16 of 18 trays = 64 GPUs for 256 or 128 GPUs); ASSUMPTION
            from ..scenario.hardware_table import whole_node_domain_gpus

            dg = whole_node_domain_gpus(g, gpn, hw["scaleup_domain"])
            hw["domain_gpus"] = dg
            notes.append(f"domain_gpus={dg}")
    if row.get("nics_per_node"):
        hw["nics_per_node"] = _num(row["nics_per_node"])
    etp = _num(row.get("etp"))
    if etp is None:
        etp = 1
        folding = "parallel folding" in (row.get("framework") or "").lower()
        if family_of(row) == "megatron-core" and (row.get("dense_or_moe") or "") == "moe" and tp > 1 \
                and not folding:
            # Megatron-Core's --expert-tensor-parallel-size defaults to the tensor-parallel size
            # (megatron/core/transformer/moe/README.md); decoupling them is MoE Parallel Folding
            etp = tp
            notes.append(f"etp={tp}")
    sc = Scenario.from_dict({
        "name": row["id"], "model": _model_table(row), "hardware": hw,
        "training": {"seq_len": _num(row["seq_len"]), "global_batch": gb, "micro_batch": mbs,
                     "precision": prec, "recompute": rc, "stack": stack_of(row), **mtrn,
                     "optimizer": _optimizer_of(row), **_loss_of(row),
                     # torchtitan without torch.compile (PyTorch eager mode), as published
                     "eager": family_of(row) == "torchtitan" and "compile=false" in (row.get("settings") or "").lower(),
                     # torchtitan's per-op SAC without the cuDNN attention op in its save list
                     "sac_recompute_attention": _sac_recompute_attention(row, acc, stack_of(row), rc),
                     # pipeline stage inputs/outputs freed when unused, as published (Llama 3 §3.3.2)
                     "pp_free_stage_buffers": "pp_stage_io=deallocated" in (row.get("settings") or "").lower(),
                     # Megatron's --no-gradient-accumulation-fusion, as published (the DDP hook adds
                     # each weight gradient to the fp32 main-grad buffer): a config's
                     # gradient_accumulation_fusion=false or the launch flag itself
                     "gradient_accumulation_fusion": _gradient_accumulation_fusion(row),
                     # torchao's rowwise / MX recipes quantize every operand per axis
                     "fp8_scaling": _fp8_scaling_of(row),
                     # torchao's float8 FSDP all-gather, as published (the gathered layers in float8)
                     "fsdp_float8_all_gather": _fsdp_float8_all_gather_of(row),
                     **({"offload_modules": _offload_modules(row)} if _offload_modules(row) else {}),
                     **({"recompute_num_layers": _recompute_num_layers(row)}
                        if _recompute_num_layers(row) is not None else {}),
                     **({"recompute_modules": modules} if modules else {})},
        "parallelism": {"tp": tp, "pp": _num(row.get("pp")) or 1, "vp": vp,
                        "cp": _num(row.get("cp")) or 1, "ep": _num(row.get("ep")) or 1,
                        "etp": etp, "zero": zero, "fsdp": fsdp,
                        **({"pp_schedule": pp_schedule} if pp_schedule is not None else {}),
                        "sequence_parallel": sp, **mpar,
                        # published async tensor parallelism (torchtitan's async TP runs)
                        "tp_async": tp > 1 and "async_tp=true" in (row.get("settings") or "").lower(),
                        # the context-parallel K/V exchange, as the run's settings state it
                        "cp_rotate": _setting(row, "cp_rotate") or "p2p",
                        "cp_repeat_kv": (_setting(row, "cp_repeat_kv") or "false").lower() == "true",
                        # Megatron-FSDP (Megatron-Core's custom FSDP), as the run's settings state it
                        "fsdp_impl": _fsdp_impl(row)},
    })
    if sc.model_spec.mtp_layers and sc.parallelism.pp > 1:
        if sc.parallelism.dualpipe:
            # DualPipe folds the pipeline into a V: rank 0 holds the first and the last chunk, so
            # the output head and the MTP modules share a rank with the embedding (DeepSeek-V3
            # report §3.2.3), and the run's per-rank layer split is not published. The step model
            # prices the MTP modules and the head on the last stage of an even split, where they
            # pace the whole pipeline: a layout the run did not use, so it is not compared
            # (the status column keeps the first sentence when the message is long: the reason first)
            raise ValidationError(f"{row['id']}: DualPipe with MTP is not modelled (head and MTP on the embedding's "
                                  f"rank, DeepSeek-V3 report §3.2.3). Its layers per rank are not published; the "
                                  f"step model puts the head and the MTP module on the last stage of an even "
                                  f"split, where they would pace the pipeline")
        # the MTP modules are priced with the output layer on the last pipeline stage (Megatron-
        # Core's placement)
        notes.append(f"mtp_layers={sc.model_spec.mtp_layers} on the last stage")
    return sc, notes


def _recompute_num_layers(row: dict) -> int | None:
    """Megatron's ``--recompute-num-layers`` a full-recompute run publishes in its ``settings``
    (``recompute_num_layers=12 (of 80 layers)``) with its ``recompute_method``. The block method:
    the first that many layers of each pipeline chunk are recomputed whole, the others keep
    their activations (``training.recompute_num_layers``). The uniform method with 1 recomputes
    every layer from its own input, which is the model's full recompute (None). None also when
    the run does not state it (every layer). Refused: the uniform method with more than one
    layer per group (one input kept per group of layers: not modelled), and a number without
    its method (Megatron-Core requires one under full recompute, and the two read the number
    differently:
    https://github.com/NVIDIA/Megatron-LM/blob/3bec9aa97dda898d16ff5a89bac0ed2b6682b172/megatron/core/transformer/transformer_config.py#L394-L406)."""
    raw = _setting(row, "recompute_num_layers")
    if raw is None:
        return None
    method = _setting(row, "recompute_method")
    n = int(raw.split()[0])
    if (row.get("recompute") or "none") == "full" and method == "uniform" and n == 1:
        return None
    if method != "block" or (row.get("recompute") or "none") != "full":
        raise ValidationError(f"{row['id']}: recompute_num_layers = {raw!r} with recompute = "
                              f"{row.get('recompute')!r} and recompute_method = {method!r}: only Megatron's block "
                              "method under full recompute is modelled (or the uniform method with 1 layer, every "
                              "layer recomputed); a run that publishes the number states its method "
                              "(recompute_method=block or uniform in its settings)")
    return n


def _measured_tokens_per_gpu(row: dict, est) -> float:
    """Measured tokens/s/GPU of a run: as published, from a published step time, or from
    published TFLOP/s or MFU with the model's FLOPs under the source's convention
    (:func:`flop_convention_of`)."""
    sec = row.get("secondary_metrics") or ""
    for part in sec.split(";"):
        k, _, v = part.partition("=")
        if k.strip() == "tokens_per_s_per_gpu":
            return float(v.split()[0])
    v = float(row["value"])
    tokens_per_step = est.tokens_per_s * est.step_time_s
    flops_per_token = est.flops_by_convention[flop_convention_of(row)] / tokens_per_step
    if row["metric"] == "tokens_per_s_per_gpu":
        return v
    if row["metric"] == "step_time_s":
        return tokens_per_step / (v * est.gpus)
    if row["metric"] == "tflops_per_gpu":
        return v * 1e12 / flops_per_token
    if row["metric"] == "mfu_pct":
        return v / 100.0 * est.peak_flops / flops_per_token
    raise ValidationError(f"{row['id']}: unknown metric {row['metric']!r}")
